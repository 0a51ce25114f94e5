/*
 * log.h - the daemon's log (core/log.c).  Thread-safe, one line per call,
 * prefixed with the time and level.  Never pass request text as fmt.
 */
#ifndef TESSERA_LOG_H
#define TESSERA_LOG_H

#include <stdbool.h>

/* The verbosity setting is the highest level written: 0 nothing, 1 errors,
 * 2 warnings, 3 startup, stop and notices, 4 also one line per request, 5
 * also debugging detail (every setting at startup, 4xx reasons, clients
 * that went away). */
enum ts_log_level {
	TS_LOG_ERROR = 1, TS_LOG_WARN = 2, TS_LOG_INFO = 3, TS_LOG_REQUEST = 4, TS_LOG_DEBUG = 5
};

/* Log to this file ("" or NULL = stderr) at this verbosity; returns 0 or -1. */
int ts_log_open(const char *path, int verbosity);
/* Whether a line at level would be written (to skip building it). */
bool ts_log_enabled(enum ts_log_level level);
void ts_log(enum ts_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
