/*
 * http.h - the request and response as the front ends hand them to the
 * server (src/server.c) and write them back.
 *
 * Front ends (front/fastcgi.c, front/http.c) fill a struct ts_http_request
 * from their protocol, call ts_server_handle, and write the struct
 * ts_response out: status line, Content-Length = body.len, the headers, then
 * the body unless it is a HEAD request.  The response is complete in memory
 * before anything is written, so a failure can never become a truncated 200.
 */
#ifndef TESSERA_HTTP_H
#define TESSERA_HTTP_H

#include <stdbool.h>
#include "buf.h"

struct ts_http_request {
	const char *method;        /* "GET", "HEAD", "OPTIONS", ... */
	const char *target;        /* raw request target: path[?query], percent-encoding intact */
	const char *scheme;        /* "http" or "https" */
	const char *host;          /* Host header, or NULL */
	const char *accept;
	const char *accept_encoding;     /* Accept-Encoding (gzip for Presentation JSON) */
	const char *if_none_match;
	const char *if_modified_since;
	const char *origin;
	const char *x_forwarded_host;
	const char *x_forwarded_proto;
	const char *ac_request_method;   /* Access-Control-Request-Method */
	const char *ac_request_headers;  /* Access-Control-Request-Headers */
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
};

/* Add a header; strings must outlive the response (arena or static). */
void ts_response_header(struct ts_response *r, const char *name, const char *value);
void ts_response_free(struct ts_response *r);

#endif
