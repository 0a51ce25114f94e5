/*
 * http_parse.h - private to src/front/: the strict HTTP/1.1 request-head
 * parser and chunked-body reader of the embedded server (front/http.c).
 *
 * Pure functions: bytes in, a struct or an HTTP error status out; no I/O,
 * no logging, no allocation.  The head parser works in place on the
 * connection's buffer (it writes NULs after the method, target and each
 * field so they can be handed on as C strings) and every pointer it
 * returns lives as long as that buffer is left alone.
 *
 * What it refuses, and why (RFC 9112): anything that lets two parties
 * frame the same bytes differently (request smuggling) or see different
 * targets is an error and the connection is closed after the answer:
 * Content-Length with Transfer-Encoding (§6.1), two Content-Length or
 * Transfer-Encoding fields, a Transfer-Encoding whose last coding is not
 * chunked (§6.3), two Host fields or none on HTTP/1.1 (§3.2), NUL or
 * control bytes in the target or a field (§2.2, §5.5), whitespace
 * before the colon (§5.1) and obs-fold (§5.2).
 */
#ifndef TESSERA_FRONT_HTTP_PARSE_H
#define TESSERA_FRONT_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TS_HTTP_MAX_FIELDS 64     /* more header fields than this: 431 */
#define TS_HTTP_MAX_TARGET 16384  /* a longer request target: 414 */

struct ts_http_field {
	const char *name;    /* as sent (compare case-insensitively) */
	const char *value;   /* leading and trailing whitespace removed */
};

struct ts_http_head {
	const char *method;         /* a token, e.g. "GET" */
	const char *target;         /* origin-form ("/path?q") or "*"; an absolute-form
	                               target is reduced to its path and query */
	const char *authority;      /* the host of an absolute-form target, else NULL */
	int minor;                  /* HTTP/1.minor: 0 or 1 */
	struct ts_http_field fields[TS_HTTP_MAX_FIELDS];
	int nfields;
	const char *host;           /* the one Host field, or NULL */
	bool has_length;            /* Content-Length was given */
	uint64_t content_length;
	bool chunked;               /* Transfer-Encoding: chunked */
	bool keep_alive;            /* the client allows another request after this one */
	size_t head_len;            /* bytes of the head, blank line included */
};

/*
 * Parse the request head at the start of buf[0, len).  Returns 0 with h
 * filled when the head is complete, -1 when more bytes are needed (and
 * the bytes so far are not already wrong), or the HTTP status to answer
 * before closing: 400 (malformed), 414 (target over TS_HTTP_MAX_TARGET),
 * 431 (more than TS_HTTP_MAX_FIELDS fields, or full is true: the caller's
 * buffer is full and the head has not ended), 501 (a transfer coding
 * other than chunked), 505 (not HTTP/1.x).  Modifies buf.
 */
int ts_http_head_parse(char *buf, size_t len, bool full, struct ts_http_head *h);

/* The value of the first field called name (case-insensitive), or NULL. */
const char *ts_http_head_field(const struct ts_http_head *h, const char *name);

/* Reading (and discarding) a chunked body, RFC 9112 §7.1. */
struct ts_http_chunked {
	int state;
	uint64_t left;       /* bytes left in the current chunk */
	int digits;          /* hex digits read of the size */
	size_t line;         /* bytes of the current extension or trailer line */
};

#define TS_HTTP_CHUNKED_INIT { 0, 0, 0, 0 }

/*
 * Feed n bytes of a chunked body.  Sets *used to the bytes consumed.
 * Returns 1 when the body (last chunk and trailers) has ended (*used
 * then stops right after it), 0 when it needs more, 400 when it is
 * malformed (a size that is not hex or overflows, a missing CRLF, control
 * bytes, a line over 4 KB).
 */
int ts_http_chunked_feed(struct ts_http_chunked *c, const char *p, size_t n, size_t *used);

#endif
