/*
 * access_log.h - one line per request (core/access_log.c), in nginx's
 * combined format or as JSON lines, written by a thread of its own so that
 * no request ever waits on the disk.
 *
 * Request threads format their line and copy it into a bounded buffer; a
 * writer thread empties the buffer with write(2) on a descriptor opened
 * O_APPEND, whole lines per call, so several worker processes can share one
 * file.  When the buffer is full the line is dropped and counted (the
 * metric tessera_access_log_dropped_total), never waited for.  One access
 * log per process.
 */
#ifndef TESSERA_ACCESS_LOG_H
#define TESSERA_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "status.h"

enum ts_access_format { TS_ACCESS_COMBINED, TS_ACCESS_JSON };

/* One request as the log sees it; every string is borrowed and may be
 * NULL (written "-", or null in JSON). */
struct ts_access_entry {
	struct timespec when;      /* CLOCK_REALTIME when the request arrived */
	const char *client;        /* address of the client */
	const char *method;
	const char *target;        /* raw request target */
	const char *protocol;      /* "HTTP/1.1" */
	int status;
	uint64_t bytes;            /* body bytes sent (0 for HEAD, 304) */
	double seconds;            /* time taken to produce the answer */
	const char *outcome;       /* "hit", "memcached", "pass", "render" or NULL */
	const char *referer;
	const char *user_agent;
};

/* "combined" or "json" (the access_log_format setting).  Pure. */
ts_status ts_access_log_parse_format(const char *text, enum ts_access_format *out,
                                     struct ts_error *err);

/* Write e as one line, '\n' included, into out (n bytes, at least 1024):
 * combined is nginx's combined format (time in UTC) followed by the
 * duration in seconds and the outcome ("-" when none); json is one object
 * with the fields time, client, method, target, protocol, status, bytes,
 * duration, cache, referer and user_agent.  Control bytes, quotes and
 * bytes above 0x7e are escaped (\xHH in combined, \u00HH in JSON), and
 * long fields are cut, so a line always fits.  Returns its length.  Pure. */
size_t ts_access_log_format(enum ts_access_format f, const struct ts_access_entry *e,
                            char *out, size_t n);

/* Start logging to where: a file path (created 0644 and appended to),
 * "stderr", or "off" / "" (then nothing is started and writes do nothing).
 * Starts the writer thread.  Fails with a sentence naming the file and the
 * system's reason, or the bad format. */
ts_status ts_access_log_open(const char *where, const char *format, struct ts_error *err);
/* True when lines are being written. */
bool ts_access_log_enabled(void);
/* Queue e's line; never blocks on I/O (drops and counts when full). */
void ts_access_log_write(const struct ts_access_entry *e);
/* Ask the writer to reopen the file (log rotation).  Async-signal-safe. */
void ts_access_log_reopen(void);
/* Write what is queued, stop the writer and close the file.  Idempotent. */
void ts_access_log_close(void);
/* Lines dropped because the buffer was full, since the start. */
uint64_t ts_access_log_dropped(void);

#endif
