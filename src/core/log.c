/*
 * log.c - one line per call, time-stamped, serialised by a mutex so lines
 * from worker threads never interleave.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "tessera/log.h"

static FILE *log_out;
static int log_verbosity = TS_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int ts_log_open(const char *path, int verbosity)
{
	log_verbosity = verbosity;
	if (path && *path) {
		FILE *f = fopen(path, "a");
		if (!f)
			return -1;
		setvbuf(f, NULL, _IOLBF, 0);
		log_out = f;
	}
	return 0;
}

bool ts_log_enabled(enum ts_log_level level)
{
	return (int)level <= log_verbosity;
}

void ts_log(enum ts_log_level level, const char *fmt, ...)
{
	static const char *names[] = { "", "error", "warn", "info", "request", "debug" };
	char when[32];
	struct tm tm;
	time_t now;
	va_list ap;
	FILE *out;

	if ((int)level > log_verbosity)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&log_lock);
	out = log_out ? log_out : stderr;
	fprintf(out, "%s tessera %s: ", when, names[level <= 5 ? level : 5]);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
	pthread_mutex_unlock(&log_lock);
}
