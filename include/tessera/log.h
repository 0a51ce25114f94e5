/*
 * log.h - the daemon's log (core/log.c).  Thread-safe, one line per call,
 * prefixed with the time and level.  Never pass request text as fmt.
 */
#ifndef TESSERA_LOG_H
#define TESSERA_LOG_H

enum ts_log_level { TS_LOG_ERROR = 1, TS_LOG_WARN = 2, TS_LOG_INFO = 3, TS_LOG_DEBUG = 4 };

/* Log to this file ("" or NULL = stderr) at this verbosity; returns 0 or -1. */
int ts_log_open(const char *path, int verbosity);
void ts_log(enum ts_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
