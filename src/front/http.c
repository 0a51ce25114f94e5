/*
 * http.c - the embedded HTTP/1.1 server, for running Tessera without a web
 * server in front: development, tests, small deployments.
 *
 * One I/O thread owns every connection: it accepts, reads request heads
 * into a fixed buffer per connection, parses them strictly
 * (front/http_parse.c), and writes answers, all non-blocking under epoll.
 * A complete request goes to a pool of worker threads, which call the
 * server (ts_server_handle), turn its struct ts_response into a response
 * head and hand it back; the I/O thread then writes the head, the body in
 * memory or a media file's range with sendfile.
 *
 * The one idea: a client may hold a connection only while it does what a
 * client must, on time.  The head of a request must be complete within
 * http_header_timeout of its first byte (of the connection, for the first
 * request): the deadline is set once and NOT moved by each byte that
 * trickles in, so a slowloris client is cut off.  Between requests a
 * connection may wait http_idle_timeout; an answer that stops moving for
 * that long is abandoned.  One client address holds at most
 * http_per_client connections, and when http_max_connections are open a
 * new one evicts the oldest connection that is only waiting on its client.
 * Anything whose framing could be read two ways is answered 400 and closed.
 * A client that goes away before its request's costly work starts is not
 * answered at all (serve/ sees it through front/conn_watch.c: status 499)
 * and its connection is closed.
 *
 * Why not libmicrohttpd (which this file used to drive): with Debian 12's
 * 0.9.75, measured on this machine against the same daemon,
 *   - its connection timeout is an inactivity timeout reset by every byte,
 *     so a header sent one byte every 5 s held a connection past 45 s with
 *     a 30 s timeout; there is no deadline for the head and no public call
 *     to close a connection from outside a callback;
 *   - a request with both Content-Length and Transfer-Encoding was
 *     answered 200 and the connection kept; two Host fields, no Host on
 *     HTTP/1.1 and obs-fold were answered 200 (MHD_OPTION_STRICT_FOR_CLIENT
 *     only adds the missing-Host check);
 *   - the URI callback gets a C string, so "test.tif\0/info.json" arrived
 *     as "test.tif" (303) and the NUL cannot be seen;
 *   - a 1,000-argument query got no answer at all and held the connection
 *     ("Not enough memory in pool": arguments are parsed into the
 *     connection's fixed pool before any callback);
 *   - MHD_stop_daemon drops connections whose answer is still being
 *     rendered (SIGTERM gave clients an empty reply).
 * Each could be patched around only by reaching into MHD's internals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "tessera/arena.h"
#include "tessera/buf.h"
#include "tessera/log.h"
#include "tessera/server.h"
#include "front.h"
#include "http_parse.h"

#define HEAD_MAX 32768       /* request line and fields; TS_HTTP_MAX_TARGET fits */
#define BODY_MAX (1 << 20)   /* no route takes a body: read and drop up to this */
#define LINGER_MS 2000       /* reading what a client still sends after an error */
#define DRAIN_MS 30000       /* SIGTERM: longest wait for answers in progress */
#define SEND_CHUNK (1 << 20) /* sendfile per call, so one client cannot hog the loop */
#define PEER_BUCKETS 4096

enum conn_state {
	C_HEAD,     /* reading a request head (or idle between requests) */
	C_BODY,     /* reading and dropping a request body */
	C_BUSY,     /* a worker is answering */
	C_WRITE,    /* writing the answer */
	C_LINGER,   /* closed for writing after an error, draining what comes */
	C_CLOSED,   /* closed; freed after the current batch of events */
};

struct peer {
	struct peer *next;
	unsigned char addr[16];
	int count;
};

struct conn {
	int fd;
	enum conn_state state;
	uint32_t events;               /* what epoll watches now */
	struct conn *prev, *next;      /* every connection, oldest first */
	struct conn *qnext;            /* worker queue or finished list */
	struct peer *peer;             /* NULL for Unix-socket clients */
	char addr[48];                 /* the client's address as text (access log), "" if none */
	int64_t deadline;              /* ms on the monotonic clock */
	size_t len;                    /* bytes in buf */
	struct ts_http_head head;
	/* the body being dropped */
	struct ts_http_chunked chunked;
	uint64_t body_left;
	/* the answer */
	bool close_after;
	bool hung_up;                  /* the client went away while a worker answered */
	bool abandoned;                /* the worker dropped the request (499): close */
	/* The client has sent a request before it had the previous answer
	 * (pipelining): its end of input is then a half-close after its last
	 * request, not a sign that it left (front/conn_watch.c). */
	bool pipelining;
	bool answer_out;               /* its last byte sent, pipelining noted */
	struct ts_buf out;             /* status line and fields */
	size_t out_off;
	struct ts_buf body;            /* body in memory */
	size_t body_off;
	int file_fd;                   /* or a file range, -1 when none */
	off_t file_off;
	uint64_t file_left;
	/* last, and not cleared: its pages are touched only as bytes arrive,
	 * so a thousand idle connections cost little memory */
	char buf[HEAD_MAX];
};

/* The client's address as text, "" when it has none (a Unix socket). */
static void peer_text(const struct sockaddr_storage *sa, char *out, size_t n)
{
	out[0] = '\0';
	if (sa->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
		          (socklen_t)n);
	else if (sa->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
		          (socklen_t)n);
}

struct http_front {
	ts_front_handler handle;
	void *ctx;
	const struct ts_settings *s;
	int epfd, listen_fd, wake_fd;
	bool is_unix;
	bool draining;                     /* atomic: workers read it */
	int64_t accept_paused_until;       /* out of descriptors: 0 = accepting */
	int nconns;
	struct conn *first, *last;
	struct conn *closed;               /* to free once no event can name them */
	struct peer *peers[PEER_BUCKETS];
	/* worker pool */
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct conn *queue, *queue_tail;   /* waiting for a worker */
	struct conn *done;                 /* answered, for the I/O thread */
	bool stopping;
	pthread_t *threads;
	int nthreads;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- peers */

/* The client's address as 16 bytes (IPv4 as v4-mapped IPv6), false when
 * it has none (a Unix socket: the proxy in front is one client). */
static bool peer_key(const struct sockaddr_storage *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static unsigned peer_hash(const unsigned char key[16])
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % PEER_BUCKETS;
}

/* The peer for key, made with count 0 if new; NULL when out of memory. */
static struct peer *peer_get(struct http_front *f, const unsigned char key[16])
{
	unsigned b = peer_hash(key);
	struct peer *p;

	for (p = f->peers[b]; p; p = p->next)
		if (memcmp(p->addr, key, 16) == 0)
			return p;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	memcpy(p->addr, key, 16);
	p->next = f->peers[b];
	f->peers[b] = p;
	return p;
}

static void peer_release(struct http_front *f, struct peer *p)
{
	struct peer **pp;

	if (!p || --p->count > 0)
		return;
	for (pp = &f->peers[peer_hash(p->addr)]; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			free(p);
			return;
		}
	}
}

/* ---------------------------------------------------------- connections */

static void watch(struct http_front *f, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events != events && epoll_ctl(f->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = events;
}

static void conn_reset_answer(struct conn *c)
{
	ts_buf_free(&c->out);
	ts_buf_free(&c->body);
	c->out_off = c->body_off = 0;
	if (c->file_fd >= 0)
		close(c->file_fd);
	c->file_fd = -1;
	c->file_left = 0;
}

static void conn_close(struct http_front *f, struct conn *c)
{
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	conn_reset_answer(c);
	peer_release(f, c->peer);
	if (c->prev)
		c->prev->next = c->next;
	else
		f->first = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		f->last = c->prev;
	f->nconns--;
	/* an event for c may still be waiting in this batch: free it later */
	c->state = C_CLOSED;
	c->next = f->closed;
	f->closed = c;
}

static void free_closed(struct http_front *f)
{
	while (f->closed) {
		struct conn *c = f->closed;
		f->closed = c->next;
		free(c);
	}
}

/* Wait for the next request: its head must come within the idle timeout,
 * and once it has started, within the header timeout. */
static void conn_await_request(struct http_front *f, struct conn *c)
{
	c->state = C_HEAD;
	c->deadline = now_ms() + 1000LL * (c->len > 0 ? f->s->http_header_timeout
	                                               : f->s->http_idle_timeout);
	watch(f, c, EPOLLIN);
}

/* The connection that has waited longest on its client, to make room. */
static struct conn *oldest_waiting(struct http_front *f)
{
	for (struct conn *c = f->first; c; c = c->next)
		if (c->state == C_HEAD || c->state == C_BODY || c->state == C_LINGER)
			return c;
	return NULL;
}

/* ------------------------------------------------------------- answers */

static const char *reason(int status)
{
	switch (status) {
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return ts_status_reason(status);
	}
}

static bool append_date(struct ts_buf *b)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return ts_buf_printf(b, "Date: %s\r\n", date);
}

/* A field the server may not set itself (the framing is ours) or that
 * could split the head (CR, LF, NUL: never from server.c, but checked). */
static bool field_ok(const struct ts_header *h)
{
	static const char *ours[] = { "Content-Length", "Content-Type", "Connection",
	                              "Transfer-Encoding", "Date", "Keep-Alive" };

	if (!h->name || !h->value || !*h->name)
		return false;
	for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
		if (strcasecmp(h->name, ours[i]) == 0)
			return false;
	return strpbrk(h->name, "\r\n: \t") == NULL && strpbrk(h->value, "\r\n") == NULL;
}

/*
 * Turn resp into the connection's answer: the head in c->out, and the body
 * moved (not copied) to c->body or c->file_fd.  RFC 9110 §8.6: 204 and 304
 * carry no Content-Length and no body; a HEAD answer carries the GET's
 * Content-Length and no body.  Returns false when out of memory.
 */
static bool answer_build(struct conn *c, struct ts_response *resp, bool head_only)
{
	int status = resp->status ? resp->status : 500;
	bool bodyless = status == 204 || status == 304 || status < 200;
	uint64_t length = resp->has_file ? resp->file_length : resp->body.len;
	bool ok;

	ok = ts_buf_printf(&c->out, "HTTP/1.1 %d %s\r\n", status, reason(status)) &&
	     append_date(&c->out);
	if (ok && resp->content_type && !bodyless)
		ok = ts_buf_printf(&c->out, "Content-Type: %s\r\n", resp->content_type);
	if (ok && !bodyless)
		ok = ts_buf_printf(&c->out, "Content-Length: %llu\r\n", (unsigned long long)length);
	for (int i = 0; ok && i < resp->nheaders; i++) {
		if (field_ok(&resp->headers[i]))
			ok = ts_buf_printf(&c->out, "%s: %s\r\n", resp->headers[i].name,
			                   resp->headers[i].value);
		else if (resp->headers[i].name)
			ts_log(TS_LOG_WARN, "http: dropped the header %s", resp->headers[i].name);
	}
	if (ok && c->close_after)
		ok = ts_buf_append_str(&c->out, "Connection: close\r\n");
	else if (ok && c->head.minor == 0)
		ok = ts_buf_append_str(&c->out, "Connection: keep-alive\r\n");
	ok = ok && ts_buf_append_str(&c->out, "\r\n");
	if (!ok)
		return false;
	if (bodyless || head_only || resp->omit_body)
		return true;
	if (resp->has_file) {
		if (resp->file_offset > (uint64_t)INT64_MAX)
			return false;
		c->file_fd = resp->file_fd;
		c->file_off = (off_t)resp->file_offset;
		c->file_left = resp->file_length;
		resp->has_file = false;   /* the connection closes it */
	} else {
		c->body = resp->body;
		resp->body = (struct ts_buf)TS_BUF_INIT;
	}
	return true;
}

/* An error the front end answers itself (a malformed request, a refusal),
 * and then closes the connection. */
static void answer_error(struct http_front *f, struct conn *c, int status)
{
	struct ts_response resp;
	/* the head may be half parsed (the method then ends in a NUL) or not
	 * at all: a HEAD request's error has no body either (RFC 9110 §9.3.2) */
	bool head_only = c->len >= 5 && memcmp(c->buf, "HEAD", 4) == 0 &&
	                 (c->buf[4] == ' ' || c->buf[4] == '\0');

	memset(&resp, 0, sizeof resp);
	resp.status = status;
	resp.content_type = "text/plain; charset=utf-8";
	conn_reset_answer(c);
	c->close_after = true;
	c->head.minor = 1;
	if (!ts_buf_printf(&resp.body, "%d %s\n", status, reason(status)) ||
	    !answer_build(c, &resp, head_only))
		conn_reset_answer(c);
	ts_response_free(&resp);
	c->state = C_WRITE;
	c->deadline = now_ms() + 1000LL * f->s->http_idle_timeout;
}

/* ------------------------------------------------------------- workers */

static const char *field(const struct conn *c, const char *name)
{
	return ts_http_head_field(&c->head, name);
}

/* On a worker thread: answer the request whose head is in c->buf.  The
 * I/O thread leaves c alone until it is handed back. */
static void answer_request(struct http_front *f, struct conn *c)
{
	struct ts_http_request req;
	struct ts_response resp;
	struct ts_arena *a = ts_arena_create();
	bool head_only = strcmp(c->head.method, "HEAD") == 0;

	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.method = c->head.method;
	req.target = c->head.target;
	req.scheme = "http";
	req.host = c->head.host;
	req.accept = field(c, "Accept");
	req.accept_encoding = field(c, "Accept-Encoding");
	req.if_none_match = field(c, "If-None-Match");
	req.if_modified_since = field(c, "If-Modified-Since");
	req.origin = field(c, "Origin");
	req.x_forwarded_host = field(c, "X-Forwarded-Host");
	req.x_forwarded_proto = field(c, "X-Forwarded-Proto");
	req.ac_request_method = field(c, "Access-Control-Request-Method");
	req.ac_request_headers = field(c, "Access-Control-Request-Headers");
	req.range = field(c, "Range");
	req.if_range = field(c, "If-Range");
	req.remote_addr = c->addr[0] ? c->addr : NULL;
	req.protocol = c->head.minor ? "HTTP/1.1" : "HTTP/1.0";
	req.referer = field(c, "Referer");
	req.user_agent = field(c, "User-Agent");
	/* The I/O thread reads nothing from c while a worker has it, so the
	 * worker may peek at the socket (front/conn_watch.c). */
	req.conn.kind = TS_CONN_HTTP;
	req.conn.fd = c->fd;
	req.conn.unix_domain = f->is_unix;
	req.conn.pipelined = c->pipelining;
	if (a)
		f->handle(f->ctx, &req, a, &resp);
	else
		resp.status = 500;
	if (resp.status == TS_ECLIENTGONE) {
		/* The client left before its costly work: nothing is sent and the
		 * connection is closed (a pipelined request behind it would have
		 * kept it from counting as gone). */
		c->abandoned = true;
		c->close_after = true;
		ts_response_free(&resp);
		ts_arena_destroy(a);
		return;
	}
	if (__atomic_load_n(&f->draining, __ATOMIC_ACQUIRE))
		c->close_after = true;   /* SIGTERM came during the render */
	if (!answer_build(c, &resp, head_only)) {
		ts_log(TS_LOG_ERROR, "http: out of memory writing an answer");
		conn_reset_answer(c);   /* nothing to send: the connection is closed */
		c->close_after = true;
	}
	ts_response_free(&resp);
	ts_arena_destroy(a);
}

/* Right after the last byte of an answer went out: a request already
 * waiting in the socket was sent before the client could have read that
 * answer, so the client pipelines (one peek per kept-alive answer; a
 * request it already sent along is flagged in request_ready). */
static void note_pipelining(struct conn *c)
{
	char b;

	if (!c->pipelining && recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
		c->pipelining = true;
	c->answer_out = true;
}

/* On the worker, right after the answer is made: send what fits into the
 * socket now (usually all of an answer in memory), sparing the client the
 * wait for the I/O thread to wake up; the I/O thread sends the rest, and a
 * file body, from where this stopped.  The socket is non-blocking, and
 * the I/O thread touches neither it nor these offsets until handed c. */
static void send_early(struct conn *c)
{
	while (c->out_off < c->out.len || c->body_off < c->body.len) {
		struct iovec iov[2] = {
			{ c->out.data + c->out_off, c->out.len - c->out_off },
			{ c->body.data + c->body_off, c->body.len - c->body_off },
		};
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
		size_t k, h;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;   /* full, or an error the I/O thread will meet too */
		k = (size_t)n;
		h = c->out.len - c->out_off;
		if (k <= h) {
			c->out_off += k;
		} else {
			c->out_off = c->out.len;
			c->body_off += k - h;
		}
	}
	if (c->file_left == 0)
		note_pipelining(c);   /* all of it went out here */
}

static void *worker_main(void *arg)
{
	struct http_front *f = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		struct conn *c;
		while (!f->queue && !f->stopping)
			pthread_cond_wait(&f->more, &f->lock);
		if (!f->queue)
			break;
		c = f->queue;
		f->queue = c->qnext;
		if (!f->queue)
			f->queue_tail = NULL;
		pthread_mutex_unlock(&f->lock);
		answer_request(f, c);
		send_early(c);
		pthread_mutex_lock(&f->lock);
		c->qnext = f->done;
		f->done = c;
		if (write(f->wake_fd, &one, sizeof one) < 0) {
			/* the counter is already non-zero: the I/O thread will look */
		}
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static void dispatch(struct http_front *f, struct conn *c)
{
	c->state = C_BUSY;
	c->qnext = NULL;
	/* EPOLLIN stays armed: most clients send nothing more until they have
	 * their answer, and one that does is unwatched then (on_event) */
	pthread_mutex_lock(&f->lock);
	if (f->queue_tail)
		f->queue_tail->qnext = c;
	else
		f->queue = c;
	f->queue_tail = c;
	pthread_cond_signal(&f->more);
	pthread_mutex_unlock(&f->lock);
}

/* ---------------------------------------------------------- reading */

/* The functions below that may close the connection return false when
 * they did: c is then freed and must not be touched. */
static bool conn_write(struct http_front *f, struct conn *c);

static bool fail_request(struct http_front *f, struct conn *c, int status)
{
	answer_error(f, c, status);
	return conn_write(f, c);
}

/* The head (and any body) has been read: a worker answers. */
static bool request_ready(struct http_front *f, struct conn *c)
{
	if (c->len > c->head.head_len)
		c->pipelining = true;   /* the next request is already here */
	c->close_after = !c->head.keep_alive || __atomic_load_n(&f->draining, __ATOMIC_ACQUIRE);
	dispatch(f, c);
	return true;
}

/* Bytes after the head in buf[head_len, len) are body: drop what belongs
 * to the body, keep what follows it (a pipelined request) after the head.
 * For a chunked body, body_left is the budget of bytes it may take. */
static bool body_feed(struct http_front *f, struct conn *c)
{
	size_t start = c->head.head_len, avail = c->len - start, used;
	int rc = 0;

	if (c->head.chunked) {
		rc = ts_http_chunked_feed(&c->chunked, c->buf + start, avail, &used);
		if (rc == 400)
			return fail_request(f, c, 400);
		if ((uint64_t)used > c->body_left)
			return fail_request(f, c, 413);
	} else {
		used = (uint64_t)avail < c->body_left ? avail : (size_t)c->body_left;
		rc = (uint64_t)used == c->body_left;
	}
	c->body_left -= used;
	memmove(c->buf + start, c->buf + start + used, avail - used);
	c->len -= used;
	return rc == 1 ? request_ready(f, c) : true;
}

/* RFC 9110 §10.1.1: a client that sent "Expect: 100-continue" may wait
 * for an interim answer before sending its body (which is then dropped).
 * Best effort: the socket buffer is empty at this point. */
static void expect_continue(struct conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *e = ts_http_head_field(&c->head, "Expect");

	if (c->head.minor == 1 && e && strcasecmp(e, "100-continue") == 0 &&
	    c->len == c->head.head_len &&
	    send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the client sends its body after a short wait anyway */
	}
}

/* Try to parse a head from what has arrived. */
static bool head_feed(struct http_front *f, struct conn *c)
{
	int rc = ts_http_head_parse(c->buf, c->len, c->len == sizeof c->buf, &c->head);

	if (rc < 0)
		return true;   /* more to come */
	if (rc > 0)
		return fail_request(f, c, rc);
	if (c->head.chunked || (c->head.has_length && c->head.content_length > 0)) {
		if (c->head.has_length && c->head.content_length > BODY_MAX)
			return fail_request(f, c, 413);
		expect_continue(c);
		c->state = C_BODY;
		c->chunked = (struct ts_http_chunked)TS_HTTP_CHUNKED_INIT;
		c->body_left = c->head.chunked ? BODY_MAX : c->head.content_length;
		return body_feed(f, c);
	}
	return request_ready(f, c);
}

static void conn_read(struct http_front *f, struct conn *c)
{
	for (;;) {
		size_t room;
		ssize_t n;

		if (c->state == C_LINGER)
			c->len = 0;   /* what comes now is dropped */
		else if (c->state != C_HEAD && c->state != C_BODY)
			return;   /* dispatched, or answering an error */
		room = sizeof c->buf - c->len;
		if (room == 0) {
			/* a head filling the buffer has been answered 431/414 when
			 * it came in; a body behind such a head has no room */
			fail_request(f, c, 431);
			return;
		}
		n = recv(c->fd, c->buf + c->len, room, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(f, c);   /* the client is gone (or has finished) */
			return;
		}
		if (c->state == C_LINGER)
			continue;
		if (c->state == C_HEAD && c->len == 0)   /* a request starts: its deadline */
			c->deadline = now_ms() + 1000LL * f->s->http_header_timeout;
		c->len += (size_t)n;
		if (!(c->state == C_HEAD ? head_feed(f, c) : body_feed(f, c)))
			return;
	}
}

/* ------------------------------------------------------------ writing */

/* The answer is out: close, or take the next request. */
static bool answer_done(struct http_front *f, struct conn *c)
{
	if (!c->answer_out)
		note_pipelining(c);
	c->answer_out = false;
	conn_reset_answer(c);
	if (c->close_after || __atomic_load_n(&f->draining, __ATOMIC_ACQUIRE)) {
		/* RFC 9112 §9.6: close the writing half first and read what the
		 * client still sends, so our answer is not lost to a reset */
		shutdown(c->fd, SHUT_WR);
		c->state = C_LINGER;
		c->deadline = now_ms() + LINGER_MS;
		watch(f, c, EPOLLIN);
		return true;
	}
	/* the head and the dropped body are done with: a pipelined request
	 * that followed them moves to the front */
	memmove(c->buf, c->buf + c->head.head_len, c->len - c->head.head_len);
	c->len -= c->head.head_len;
	memset(&c->head, 0, sizeof c->head);
	conn_await_request(f, c);
	return c->len > 0 ? head_feed(f, c) : true;
}

static bool conn_write(struct http_front *f, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->out_off < c->out.len || c->body_off < c->body.len) {
			struct iovec iov[2] = {
				{ c->out.data + c->out_off, c->out.len - c->out_off },
				{ c->body.data + c->body_off, c->body.len - c->body_off },
			};
			struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
			n = sendmsg(c->fd, &m, MSG_NOSIGNAL);
			if (n > 0) {
				size_t k = (size_t)n, h = c->out.len - c->out_off;
				if (k <= h) {
					c->out_off += k;
				} else {
					c->out_off = c->out.len;
					c->body_off += k - h;
				}
			}
		} else if (c->file_left > 0) {
			size_t want = c->file_left < SEND_CHUNK ? (size_t)c->file_left : SEND_CHUNK;
			n = sendfile(c->fd, c->file_fd, &c->file_off, want);
			if (n == 0) {
				ts_log(TS_LOG_WARN, "http: a media file ended before its length");
				conn_close(f, c);
				return false;
			}
			if (n > 0)
				c->file_left -= (uint64_t)n;
		} else {
			return answer_done(f, c);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->state = C_WRITE;
			watch(f, c, EPOLLOUT);
			return true;
		}
		if (n < 0) {
			conn_close(f, c);
			return false;
		}
		/* progress: the client is reading */
		c->deadline = now_ms() + 1000LL * f->s->http_idle_timeout;
	}
}

/* Answers the workers have finished. */
static void take_done(struct http_front *f)
{
	struct conn *c;
	uint64_t n;

	if (read(f->wake_fd, &n, sizeof n) < 0) {
		/* nothing pending (EAGAIN): fine */
	}
	pthread_mutex_lock(&f->lock);
	c = f->done;
	f->done = NULL;
	pthread_mutex_unlock(&f->lock);
	while (c) {
		struct conn *next = c->qnext;
		if (c->hung_up || c->abandoned) {
			conn_close(f, c);
		} else {
			c->state = C_WRITE;
			c->deadline = now_ms() + 1000LL * f->s->http_idle_timeout;
			conn_write(f, c);
		}
		c = next;
	}
}

/* ------------------------------------------------------------ accepting */

/* Answer 503 and close a connection we will not take; p (the client's
 * entry, if any) is forgotten if it holds no connection. */
static void refuse(struct http_front *f, int fd, struct peer *p)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
	                           "Retry-After: 1\r\nConnection: close\r\n\r\n";

	if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* best effort */
	}
	close(fd);
	if (p && p->count == 0) {
		p->count = 1;
		peer_release(f, p);
	}
}

static void accept_some(struct http_front *f)
{
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage sa;
		socklen_t salen = sizeof sa;
		unsigned char key[16];
		struct peer *p = NULL;
		struct conn *c;
		struct epoll_event ev;
		int fd = accept4(f->listen_fd, (struct sockaddr *)&sa, &salen,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* the pending connection would wake us again at once:
				 * stop listening for a moment (resumed by the loop) */
				ts_log(TS_LOG_WARN, "http: out of file descriptors accepting");
				epoll_ctl(f->epfd, EPOLL_CTL_DEL, f->listen_fd, NULL);
				f->accept_paused_until = now_ms() + 100;
			}
			return;   /* EAGAIN: all taken */
		}
		if (!f->is_unix && peer_key(&sa, key)) {
			p = peer_get(f, key);
			if (!p || p->count >= f->s->http_per_client) {
				ts_log(TS_LOG_DEBUG, "http: a client is over http_per_client");
				refuse(f, fd, p);
				continue;
			}
		}
		if (f->nconns >= f->s->http_max_connections) {
			struct conn *old = oldest_waiting(f);
			if (!old) {
				refuse(f, fd, p);
				continue;
			}
			conn_close(f, old);   /* may free p if old was its last: look again */
			p = p ? peer_get(f, key) : NULL;
		}
		c = malloc(sizeof *c);
		if (!c) {
			refuse(f, fd, p);
			continue;
		}
		memset(c, 0, offsetof(struct conn, buf));
		c->fd = fd;
		c->file_fd = -1;
		c->peer = p;
		peer_text(&sa, c->addr, sizeof c->addr);
		c->events = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c);
			refuse(f, fd, p);
			continue;
		}
		if (p)
			p->count++;
		c->prev = f->last;
		if (f->last)
			f->last->next = c;
		else
			f->first = c;
		f->last = c;
		f->nconns++;
		/* the first request's head is due within the header timeout */
		c->state = C_HEAD;
		c->deadline = now_ms() + 1000LL * f->s->http_header_timeout;
	}
}

/* Connections past their deadline.  A head that did not arrive in time
 * gets 408 only if it had started (RFC 9110 §15.5.9); an idle keep-alive
 * connection is simply closed (RFC 9112 §9.8). */
static void sweep(struct http_front *f, int64_t now)
{
	struct conn *c = f->first;

	while (c) {
		struct conn *next = c->next;
		if (c->state != C_BUSY && now >= c->deadline) {
			if ((c->state == C_HEAD && c->len > 0) || c->state == C_BODY) {
				fail_request(f, c, 408);
			} else {
				conn_close(f, c);
			}
		}
		c = next;
	}
}

/* ------------------------------------------------------------ the loop */

static void on_event(struct http_front *f, struct conn *c, uint32_t ev)
{
	if (c->state == C_CLOSED)
		return;
	if (c->state == C_BUSY) {
		if (ev & EPOLLIN)
			watch(f, c, 0);   /* a pipelined request waits; hang-ups still come */
		if (ev & (EPOLLHUP | EPOLLERR)) {
			/* closed when the worker hands it back; unwatched meanwhile,
			 * or epoll would report the hang-up again and again */
			c->hung_up = true;
			epoll_ctl(f->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		}
		return;
	}
	if (ev & EPOLLERR) {
		conn_close(f, c);
		return;
	}
	if (c->state == C_WRITE) {
		if (ev & (EPOLLOUT | EPOLLHUP))
			conn_write(f, c);
		return;
	}
	if (ev & (EPOLLIN | EPOLLHUP))
		conn_read(f, c);
}

/* SIGTERM: stop accepting, let answers in progress finish and be sent
 * (with Connection: close), and give what is only waiting on its client a
 * last DRAIN_GRACE_MS for its request: a connection accepted a moment ago,
 * or a kept-alive one, may have its request already on the way (a worker
 * process draining after SIGHUP would otherwise drop it unanswered while
 * its siblings go on serving).  The sweep closes them after that. */
#define DRAIN_GRACE_MS 1000

static void drain_start(struct http_front *f)
{
	struct conn *c = f->first;
	int64_t grace = now_ms() + DRAIN_GRACE_MS;

	__atomic_store_n(&f->draining, true, __ATOMIC_RELEASE);
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, f->listen_fd, NULL);
	close(f->listen_fd);
	f->listen_fd = -1;
	while (c) {
		struct conn *next = c->next;
		if (c->state == C_LINGER)
			conn_close(f, c);
		else if ((c->state == C_HEAD || c->state == C_BODY) && c->deadline > grace)
			c->deadline = grace;
		c = next;
	}
}

static void loop(struct http_front *f, volatile int *stop)
{
	struct epoll_event evs[128];
	int64_t drain_until = 0, next_sweep = 0;

	for (;;) {
		int n = epoll_wait(f->epfd, evs, 128, 200);
		int64_t now;

		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &f->listen_fd)
				accept_some(f);
			else if (p == &f->wake_fd)
				take_done(f);
			else
				on_event(f, p, evs[i].events);
		}
		free_closed(f);
		now = now_ms();
		if (f->accept_paused_until && now >= f->accept_paused_until && !f->draining) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->listen_fd };
			epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->listen_fd, &ev);
			f->accept_paused_until = 0;
		}
		if (now >= next_sweep) {
			sweep(f, now);
			next_sweep = now + 250;
		}
		if (!f->draining && __atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
			drain_start(f);
			drain_until = now + DRAIN_MS;
		}
		if (f->draining && (f->nconns == 0 || now >= drain_until))
			break;
	}
}

/* ------------------------------------------------------------ start, stop */

/* Enough descriptors for the connections: raise the soft limit to the hard
 * one if needed, else serve fewer connections and say so. */
static int fit_connections(int want)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want + 64;   /* files, sockets and logs beside them */

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need) {
		int fit = rl.rlim_cur > 128 ? (int)(rl.rlim_cur - 64) : 64;
		ts_log(TS_LOG_WARN, "http: only %d connections fit in %llu file descriptors "
		       "(http_max_connections = %d)", fit, (unsigned long long)rl.rlim_cur, want);
		return fit;
	}
	return want;
}

static void front_stop(struct http_front *f)
{
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_broadcast(&f->more);
	pthread_mutex_unlock(&f->lock);
	for (int i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	free(f->threads);
	/* after the drain only connections that outlived it remain */
	while (f->first)
		conn_close(f, f->first);
	free_closed(f);
	for (int i = 0; i < PEER_BUCKETS; i++) {
		while (f->peers[i]) {
			struct peer *p = f->peers[i];
			f->peers[i] = p->next;
			free(p);
		}
	}
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	if (f->epfd >= 0)
		close(f->epfd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->more);
}

static void server_handler(void *ctx, const struct ts_http_request *req, struct ts_arena *a,
                           struct ts_response *resp)
{
	ts_server_handle(ctx, req, a, resp);
}

int ts_http_run(struct ts_server *srv, const struct ts_settings *s, volatile int *stop)
{
	return ts_http_serve(server_handler, srv, s, stop);
}

int ts_http_serve(ts_front_handler h, void *hctx, const struct ts_settings *s,
                  volatile int *stop)
{
	struct ts_settings limits = *s;
	struct http_front *f = calloc(1, sizeof *f);
	struct epoll_event ev;
	struct ts_error err;
	int rc = 1;

	if (!f) {
		ts_log(TS_LOG_ERROR, "http: out of memory");
		__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
		return 1;
	}
	ts_error_clear(&err);
	limits.http_max_connections = fit_connections(s->http_max_connections);
	f->handle = h;
	f->ctx = hctx;
	f->s = &limits;
	f->epfd = f->wake_fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->more, NULL);
	f->listen_fd = ts_listen_open(s->http_listen, 1024, &f->is_unix, &err);
	if (f->listen_fd < 0) {
		ts_log(TS_LOG_ERROR, "http: %s", err.msg);
		goto fail;
	}
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	f->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->epfd < 0 || f->wake_fd < 0) {
		ts_log(TS_LOG_ERROR, "http: cannot start the HTTP server: %s", strerror(errno));
		goto fail;
	}
	if (fcntl(f->listen_fd, F_SETFL, fcntl(f->listen_fd, F_GETFL) | O_NONBLOCK) != 0) {
		ts_log(TS_LOG_ERROR, "http: cannot start the HTTP server: %s", strerror(errno));
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &f->listen_fd;
	epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->listen_fd, &ev);
	ev.events = EPOLLIN;
	ev.data.ptr = &f->wake_fd;
	epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->wake_fd, &ev);
	f->threads = calloc((size_t)ts_settings_worker_threads(s), sizeof *f->threads);
	for (int i = 0; f->threads && i < ts_settings_worker_threads(s); i++) {
		if (pthread_create(&f->threads[i], NULL, worker_main, f) != 0)
			break;
		f->nthreads++;
	}
	if (f->nthreads == 0) {
		ts_log(TS_LOG_ERROR, "http: cannot start worker threads");
		goto fail;
	}
	ts_log(TS_LOG_INFO, "http: listening on %s with %d threads, at most %d connections, "
	       "%d per client", s->http_listen, f->nthreads, limits.http_max_connections,
	       s->http_per_client);
	loop(f, stop);
	ts_log(TS_LOG_INFO, "http: stopped");
	rc = 0;
fail:
	front_stop(f);
	ts_listen_release(s->http_listen, f->is_unix);
	free(f);
	if (rc != 0)
		__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	return rc;
}
