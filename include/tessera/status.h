/*
 * status.h - the one way Tessera fails.
 *
 * A function that can fail returns a ts_status: 0 (TS_OK) for success,
 * otherwise the HTTP status code the failure should become (400, 403, 404,
 * 500, 501, 503).  The place that first notices the problem fills a
 * struct ts_error with one public sentence (safe to show to the client: no
 * server paths, no library internals) and optionally a private detail for the
 * log (file path, the library's own message).  Everyone above just passes
 * the status along; only the top of the request logs and responds.
 */
#ifndef TESSERA_STATUS_H
#define TESSERA_STATUS_H

#include <stdarg.h>

typedef int ts_status;

#define TS_OK              0
#define TS_EBADREQUEST   400   /* malformed request, region outside the image */
#define TS_EFORBIDDEN    403   /* over a configured limit (decode budget...) */
#define TS_ENOTFOUND     404   /* unknown identifier or route */
#define TS_EMETHOD       405   /* method not allowed on this route */
#define TS_EINTERNAL     500   /* corrupt file, library failure, out of memory */
#define TS_ENOTIMPL      501   /* valid request for something not implemented */
#define TS_EUNAVAILABLE  503   /* overloaded, shutting down */
/* Not an answer: the client went away before its costly work began, so the
 * work was dropped (nginx's 499 "client closed request").  Front ends send
 * nothing for it and close the connection; it shows in the access log and
 * in /metrics (tessera_requests_abandoned_total). */
#define TS_ECLIENTGONE   499

struct ts_error {
	ts_status status;
	char msg[256];     /* public: one sentence the client may see */
	char detail[512];  /* private: for the log only (paths, library text) */
};

/* Clear an error (status TS_OK, empty strings). Accepts NULL. */
void ts_error_clear(struct ts_error *err);

/*
 * Record a failure: sets err->status and the public message, returns status
 * so callers can write `return ts_error_set(err, 400, "...")`.  fmt is always
 * a string literal; request text goes in as a %s argument, never as fmt.
 * Accepts err == NULL (then only returns status).  Does not overwrite an
 * error already set (the first one to notice wins).
 */
ts_status ts_error_set(struct ts_error *err, ts_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Add private detail for the log (e.g. the path and libtiff's message). */
void ts_error_detail(struct ts_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The reason phrase of an HTTP status ("Bad Request"), "Unknown" if none. */
const char *ts_status_reason(int http_status);

#endif
