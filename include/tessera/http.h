/*
 * http.h - the request and response as the front ends hand them to the
 * server (src/server.c) and write them back.
 *
 * Front ends (front/fastcgi.c, front/http.c) fill a struct ts_http_request
 * from their protocol, call ts_server_handle, and write the struct
 * ts_response out: status line, Content-Length, the headers, then the body
 * unless it is a HEAD request.  The body is either in memory, complete
 * before anything is written (so a failure can never become a truncated
 * 200), or, for published media files that can be gigabytes, a range of an
 * open file that the front end sends without ever reading it whole into
 * memory (sendfile, or bounded chunks).
 */
#ifndef TESSERA_HTTP_H
#define TESSERA_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include "buf.h"

/*
 * The connection an answer goes back on, as a front end describes it so
 * that costly work can first ask whether anyone still waits for it
 * (ts_conn_gone, tessera/conn_watch.h).  A zeroed one watches nothing.
 */
enum ts_conn_kind {
	TS_CONN_NONE = 0,     /* not watched: never "gone" */
	TS_CONN_HTTP,         /* the client's own socket (embedded HTTP server) */
	TS_CONN_FASTCGI,      /* the web server's FastCGI connection, which nginx
	                       * closes when its client goes away */
};

struct ts_conn_watch {
	enum ts_conn_kind kind;
	int fd;                   /* the connected socket; borrowed */
	bool unix_domain;         /* AF_UNIX: a close is told apart from a half-close */
	/* Bytes of a further (pipelined) request already read from this
	 * connection: an end of input after them is the client's half-close,
	 * and it still wants its answers. */
	bool pipelined;
};

struct ts_http_request {
	const char *method;        /* "GET", "HEAD", "OPTIONS", ... */
	const char *target;        /* raw request target: path[?query], percent-encoding intact */
	const char *scheme;        /* "http" or "https" */
	const char *host;          /* Host header, or NULL */
	/* For the access log only (core/access_log.c); NULL when unknown. */
	const char *remote_addr;         /* FastCGI REMOTE_ADDR, or the peer's address */
	const char *protocol;            /* "HTTP/1.1" (SERVER_PROTOCOL) */
	const char *referer;
	const char *user_agent;
	const char *accept;
	const char *accept_encoding;     /* Accept-Encoding (gzip for Presentation JSON) */
	const char *if_none_match;
	const char *if_modified_since;
	const char *origin;
	const char *x_forwarded_host;
	const char *x_forwarded_proto;
	const char *ac_request_method;   /* Access-Control-Request-Method */
	const char *ac_request_headers;  /* Access-Control-Request-Headers */
	const char *range;               /* Range (RFC 9110 §14.2), or NULL */
	const char *if_range;            /* If-Range (RFC 9110 §13.1.5), or NULL */
	/* FastCGI behind nginx only: the nginx `internal` location that serves
	 * the image root (setting media_accel_location).  When set, a media
	 * file is answered with X-Accel-Redirect and no body, and nginx does
	 * Range and sendfile itself; NULL everywhere else. */
	const char *accel_location;
	/* The request came through the FastCGI front end (not the embedded
	 * HTTP server): decides the `viewer = auto` default. */
	bool fastcgi;
	/* Where to look before costly work whether the client has gone. */
	struct ts_conn_watch conn;
};

#define TS_MAX_HEADERS 24

struct ts_header {
	const char *name;
	const char *value;
};

struct ts_response {
	int status;                      /* HTTP status code */
	const char *content_type;        /* NULL when there is no body */
	struct ts_buf body;              /* owned; freed by ts_response_free */
	struct ts_header headers[TS_MAX_HEADERS];  /* strings live in the request arena */
	int nheaders;
	bool omit_body;                  /* HEAD: send headers (and Content-Length) only */
	/* What the answer cost, for the access log: "hit" (response cache),
	 * "memcached", "pass" (stored tile passed through), "render" (made
	 * now), or NULL (a route that neither caches nor renders).  Static. */
	const char *outcome;
	/* A body sent from a file instead of `body` (which then stays empty):
	 * when has_file, the body and its Content-Length are file_length bytes
	 * of file_fd from file_offset, read by the front end as it sends them.
	 * The response owns file_fd (ts_response_free closes it); a front end
	 * that hands it to a library taking ownership clears has_file. */
	bool has_file;
	int file_fd;
	uint64_t file_offset;
	uint64_t file_length;
};

/* Add a header; strings must outlive the response (arena or static). */
void ts_response_header(struct ts_response *r, const char *name, const char *value);
/* Make bytes [offset, offset + length) of fd the body; takes ownership of
 * fd (a file body set before is closed, the memory body is emptied). */
void ts_response_set_file(struct ts_response *r, int fd, uint64_t offset, uint64_t length);
/* Close and forget the file body, if any (an error answer replaces it). */
void ts_response_drop_file(struct ts_response *r);
/* Free the memory body and close the file body.  Accepts NULL. */
void ts_response_free(struct ts_response *r);

#endif
