/*
 * access_log.c - the access log: one line per request, formatted on the
 * request's thread and written by a thread of its own.
 *
 * Where it sits: server.c calls ts_access_log_write once per answered
 * request, after the answer is made.  The one idea: a request thread never
 * touches the file.  It formats its line on the stack and appends it to the
 * `fill` buffer under a mutex held only for the copy; the writer thread
 * swaps `fill` for its empty `drain` buffer and writes that out with no
 * lock held.  A full buffer (the disk is slower than the requests) drops
 * the line and counts it instead of waiting.  The file is opened O_APPEND
 * and each write(2) carries whole lines, so worker processes sharing the
 * file never interleave inside a line; to a pipe (stderr) a write is at
 * most PIPE_BUF bytes, the size the kernel keeps whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tessera/access_log.h"
#include "tessera/log.h"

#define BUFFER_BYTES (1u << 20)   /* per buffer: thousands of lines */
#define LINE_MAX_BYTES 32768      /* one line: the longest fields escaped fit */
#define FILE_WRITE_MAX (1u << 16) /* whole lines per write to a file */
#define FLUSH_EVERY_MS 100        /* the writer's wake-up when idle */

/* Longest raw text kept of each field (escaping may grow it 4 times). */
#define TARGET_MAX 2048
#define AGENT_MAX 512
#define SHORT_MAX 64

ts_status ts_access_log_parse_format(const char *text, enum ts_access_format *out,
                                     struct ts_error *err)
{
	if (text && strcmp(text, "combined") == 0) {
		*out = TS_ACCESS_COMBINED;
		return TS_OK;
	}
	if (text && strcmp(text, "json") == 0) {
		*out = TS_ACCESS_JSON;
		return TS_OK;
	}
	return ts_error_set(err, TS_EBADREQUEST, "access_log_format: expected combined or json, "
	                    "got '%.60s'", text ? text : "");
}

/* ---- formatting: a bounded writer ---- */

struct line {
	char *p;
	size_t len, cap;   /* cap keeps room for the '\n' and the NUL */
};

static void put(struct line *l, const char *s, size_t n)
{
	if (n > l->cap - l->len)
		n = l->cap - l->len;
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void putf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct line *l, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(l, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A field, its first max bytes, escaped for a quoted combined field (as
 * nginx does: \" \\ and \xHH for bytes outside printable ASCII) or for a
 * JSON string (\" \\ and \u00HH: the log may not hold invalid UTF-8). */
static void put_escaped(struct line *l, const char *s, size_t max, bool json)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	bool cut = n > max;

	if (cut)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c < 0x20 || c > 0x7e) {
			if (json) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				put(l, esc, 6);
			} else {
				esc[0] = '\\';
				esc[1] = 'x';
				esc[2] = hex[c >> 4];
				esc[3] = hex[c & 15];
				put(l, esc, 4);
			}
		} else {
			put(l, s + i, 1);
		}
	}
	if (cut)
		puts_(l, "...");
}

/* A quoted combined field, "-" inside the quotes when missing. */
static void put_quoted(struct line *l, const char *s, size_t max)
{
	puts_(l, "\"");
	put_escaped(l, s && *s ? s : "-", max, false);
	puts_(l, "\"");
}

/* A bare combined field (address, method): "-" when missing or empty; a
 * space in it would shift every field after it, so it is escaped too. */
static void put_word(struct line *l, const char *s)
{
	struct line w;
	char tmp[4 * SHORT_MAX + 8];

	if (!s || !*s) {
		puts_(l, "-");
		return;
	}
	w.p = tmp;
	w.len = 0;
	w.cap = sizeof tmp;
	put_escaped(&w, s, SHORT_MAX, false);
	for (size_t i = 0; i < w.len; i++)
		if (tmp[i] == ' ')
			tmp[i] = '_';
	put(l, tmp, w.len);
}

static void put_json_string(struct line *l, const char *key, const char *s, size_t max)
{
	putf(l, ",\"%s\":", key);
	if (!s) {
		puts_(l, "null");
		return;
	}
	puts_(l, "\"");
	put_escaped(l, s, max, true);
	puts_(l, "\"");
}

size_t ts_access_log_format(enum ts_access_format f, const struct ts_access_entry *e,
                            char *out, size_t n)
{
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	                                "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct line l = { out, 0, n - 2 };
	struct tm tm;
	time_t t = e->when.tv_sec;

	gmtime_r(&t, &tm);
	if (f == TS_ACCESS_JSON) {
		putf(&l, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     e->when.tv_nsec / 1000000);
		put_json_string(&l, "client", e->client, SHORT_MAX);
		put_json_string(&l, "method", e->method, SHORT_MAX);
		put_json_string(&l, "target", e->target, TARGET_MAX);
		put_json_string(&l, "protocol", e->protocol, SHORT_MAX);
		putf(&l, ",\"status\":%d,\"bytes\":%" PRIu64 ",\"duration\":%.6f", e->status,
		     e->bytes, e->seconds);
		put_json_string(&l, "cache", e->outcome, SHORT_MAX);
		put_json_string(&l, "referer", e->referer, AGENT_MAX);
		put_json_string(&l, "user_agent", e->user_agent, AGENT_MAX);
		put(&l, "}", 1);
	} else {
		/* $remote_addr - $remote_user [$time_local] "$request" $status
		 * $body_bytes_sent "$http_referer" "$http_user_agent", then ours */
		put_word(&l, e->client);
		putf(&l, " - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm.tm_mday,
		     months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		put_escaped(&l, e->method && *e->method ? e->method : "-", SHORT_MAX, false);
		puts_(&l, " ");
		put_escaped(&l, e->target && *e->target ? e->target : "-", TARGET_MAX, false);
		if (e->protocol && *e->protocol) {
			puts_(&l, " ");
			put_escaped(&l, e->protocol, SHORT_MAX, false);
		}
		putf(&l, "\" %d %" PRIu64 " ", e->status, e->bytes);
		put_quoted(&l, e->referer, AGENT_MAX);
		puts_(&l, " ");
		put_quoted(&l, e->user_agent, AGENT_MAX);
		putf(&l, " %.6f ", e->seconds);
		put_word(&l, e->outcome);
	}
	out[l.len++] = '\n';
	out[l.len] = '\0';
	return l.len;
}

/* ---- the buffer and the writer thread ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	char *fill, *drain;        /* BUFFER_BYTES each */
	size_t fill_len;
	bool running, stopping;
	pthread_t thread;
	int fd;
	bool regular;              /* a regular file: bigger writes stay whole */
	char path[PATH_MAX];       /* "" for stderr */
	enum ts_access_format format;
	atomic_uint_fast64_t dropped;
	atomic_int reopen;          /* lock-free: set from a signal handler */
} alog = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .fd = -1 };

static atomic_int enabled;

static int open_file(const char *path, bool *regular)
{
	struct stat st;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	*regular = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	return fd;
}

/* Write len bytes of whole lines, each write(2) at most max bytes and
 * ending on a line's end (a single longer line goes alone). */
static void write_lines(const char *p, size_t len)
{
	size_t max = alog.regular ? FILE_WRITE_MAX : PIPE_BUF;

	while (len > 0) {
		size_t n = len;
		ssize_t w;

		if (n > max) {
			const char *nl = memrchr(p, '\n', max);
			n = nl ? (size_t)(nl - p) + 1 : (size_t)((const char *)memchr(p, '\n', len) - p) + 1;
		}
		w = write(alog.fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ts_log(TS_LOG_ERROR, "access log: write failed: %s", strerror(errno));
			return;   /* these lines are lost; the next batch tries again */
		}
		p += w;
		len -= (size_t)w;
	}
}

static void reopen_now(void)
{
	bool regular;
	int fd;

	if (!alog.path[0])
		return;
	fd = open_file(alog.path, &regular);
	if (fd < 0) {
		ts_log(TS_LOG_ERROR, "access log: cannot reopen %s: %s; keeping the old file",
		       alog.path, strerror(errno));
		return;
	}
	close(alog.fd);
	alog.fd = fd;
	alog.regular = regular;
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&alog.lock);
	for (;;) {
		size_t len;
		char *tmp;

		while (alog.fill_len == 0 && !alog.stopping && !atomic_load(&alog.reopen)) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += FLUSH_EVERY_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&alog.wake, &alog.lock, &until);
		}
		tmp = alog.drain;
		alog.drain = alog.fill;
		alog.fill = tmp;
		len = alog.fill_len;
		alog.fill_len = 0;
		pthread_mutex_unlock(&alog.lock);
		if (len > 0)
			write_lines(alog.drain, len);
		if (atomic_exchange(&alog.reopen, 0))
			reopen_now();
		pthread_mutex_lock(&alog.lock);
		if (alog.stopping && alog.fill_len == 0)
			break;
	}
	pthread_mutex_unlock(&alog.lock);
	return NULL;
}

ts_status ts_access_log_open(const char *where, const char *format, struct ts_error *err)
{
	enum ts_access_format f;
	ts_status st;

	st = ts_access_log_parse_format(format, &f, err);
	if (st)
		return st;
	if (!where || !*where || strcmp(where, "off") == 0 || alog.running)
		return TS_OK;
	if (strcmp(where, "stderr") == 0) {
		struct stat sb;
		alog.path[0] = '\0';
		alog.fd = dup(2);
		alog.regular = alog.fd >= 0 && fstat(alog.fd, &sb) == 0 && S_ISREG(sb.st_mode);
	} else {
		if (strlen(where) >= sizeof alog.path)
			return ts_error_set(err, TS_EINTERNAL, "access_log: path too long");
		strcpy(alog.path, where);
		alog.fd = open_file(where, &alog.regular);
	}
	if (alog.fd < 0)
		return ts_error_set(err, TS_EINTERNAL, "cannot open access log %.200s: %s", where,
		                    strerror(errno));
	alog.format = f;
	alog.fill = malloc(BUFFER_BYTES);
	alog.drain = malloc(BUFFER_BYTES);
	alog.fill_len = 0;
	alog.stopping = false;
	if (!alog.fill || !alog.drain || pthread_create(&alog.thread, NULL, writer_main, NULL) != 0) {
		free(alog.fill);
		free(alog.drain);
		alog.fill = alog.drain = NULL;
		close(alog.fd);
		alog.fd = -1;
		return ts_error_set(err, TS_EINTERNAL, "cannot start the access log writer");
	}
	alog.running = true;
	atomic_store(&enabled, 1);
	return TS_OK;
}

bool ts_access_log_enabled(void)
{
	return atomic_load_explicit(&enabled, memory_order_relaxed) != 0;
}

void ts_access_log_write(const struct ts_access_entry *e)
{
	char line[LINE_MAX_BYTES];
	size_t n;

	if (!ts_access_log_enabled())
		return;
	n = ts_access_log_format(alog.format, e, line, sizeof line);
	pthread_mutex_lock(&alog.lock);
	if (!alog.running || alog.stopping || alog.fill_len + n > BUFFER_BYTES) {
		pthread_mutex_unlock(&alog.lock);
		atomic_fetch_add(&alog.dropped, 1);
		return;
	}
	memcpy(alog.fill + alog.fill_len, line, n);
	alog.fill_len += n;
	/* The writer wakes by itself every FLUSH_EVERY_MS; hurry it only when
	 * the buffer is filling up. */
	if (alog.fill_len > BUFFER_BYTES / 4)
		pthread_cond_signal(&alog.wake);
	pthread_mutex_unlock(&alog.lock);
}

void ts_access_log_reopen(void)
{
	atomic_store(&alog.reopen, 1);
}

void ts_access_log_close(void)
{
	if (!alog.running)
		return;
	atomic_store(&enabled, 0);
	pthread_mutex_lock(&alog.lock);
	alog.stopping = true;
	pthread_cond_signal(&alog.wake);
	pthread_mutex_unlock(&alog.lock);
	pthread_join(alog.thread, NULL);
	alog.running = false;
	close(alog.fd);
	alog.fd = -1;
	free(alog.fill);
	free(alog.drain);
	alog.fill = alog.drain = NULL;
}

uint64_t ts_access_log_dropped(void)
{
	return atomic_load(&alog.dropped);
}
