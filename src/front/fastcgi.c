/*
 * fastcgi.c - the FastCGI front end: nginx or Apache hand us requests over a
 * Unix or TCP socket (or over standard input when spawn-fcgi or mod_fcgid
 * started us), N worker threads answer them through ts_server_handle.
 *
 * Connections arrive through the gate (fcgi_gate.c): one thread accepts
 * them and waits, up to fastcgi_read_timeout, until each has sent its
 * whole request head, so an idle or slow connection never holds a worker.
 * Each worker owns one FCGX_Request and one arena and loops: take a ready
 * connection, let libfcgi read the head from it, build a struct
 * ts_http_request from the FastCGI parameters, let the server produce the
 * whole response in memory, write status, headers, Content-Length and
 * body, finish, reset the arena.  A request whose client went away
 * before its costly work (status 499, serve/ asks front/conn_watch.c) is
 * not answered: its connection is closed.  A media file's body is an open file: it
 * is read and sent in bounded chunks (or, with media_accel_location, not
 * sent at all: nginx follows the X-Accel-Redirect and sends it).
 *
 * Stopping: the gate stops accepting and wakes the workers waiting for a
 * connection; workers busy with a request finish it first.  The listening
 * socket is never shut down, because sibling processes started by
 * spawn-fcgi -F may share it.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/uio.h>
#include "tessera/arena.h"
#include "tessera/buf.h"
#include "tessera/log.h"
#include "tessera/server.h"
#include "front.h"

#define MAX_WORKERS 256

#define WRITE_CHUNK (1 << 20)
/* A file body is read and sent this much at a time: four full records. */
#define FILE_CHUNK (4 * 65535)

struct fcgi_front {
	ts_front_handler handle;
	void *ctx;
	volatile int *stop;
	int listen_fd;
	bool unix_domain;         /* connections are AF_UNIX: close them plainly */
	const char *accel_location;  /* media_accel_location, or NULL */
	struct ts_fcgi_gate *gate;   /* accepts, and hands out whole requests */
};

struct fcgi_worker {
	struct fcgi_front *front;
	pthread_t thread;
	atomic_int done;          /* set when the thread is about to return */
	bool started;
};

/*
 * A FastCGI parameter.  The last one of a name wins: nginx sends every
 * fastcgi_param line in order, so a line after `include fastcgi_params`
 * (Debian's sets HTTP_HOST to $host, dropping the port) must override it,
 * as the configuration reads; libfcgi's FCGX_GetParam would return the first.
 */
static const char *param(FCGX_Request *r, const char *name)
{
	size_t n = strlen(name);
	const char *found = NULL;

	for (char **e = r->envp; e && *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			found = *e + n + 1;
	return found;
}

/* True when the request carries no body (no or zero CONTENT_LENGTH). */
static bool no_request_body(FCGX_Request *r)
{
	const char *cl = param(r, "CONTENT_LENGTH");

	return !cl || !*cl || strcmp(cl, "0") == 0;
}

/* The raw request target, percent-encoding intact.  nginx and Apache send
 * REQUEST_URI; some servers only send the decoded pieces, rebuilt here. */
static const char *request_target(FCGX_Request *r, struct ts_arena *a)
{
	const char *uri = param(r, "REQUEST_URI"), *script, *path, *query;

	if (uri && *uri)
		return uri;
	script = param(r, "SCRIPT_NAME");
	path = param(r, "PATH_INFO");
	query = param(r, "QUERY_STRING");
	return ts_arena_printf(a, "%s%s%s%s", script ? script : "", path ? path : "",
	                       query && *query ? "?" : "", query && *query ? query : "");
}

static const char *request_scheme(FCGX_Request *r)
{
	const char *https = param(r, "HTTPS"), *scheme = param(r, "REQUEST_SCHEME");

	if (https && (strcasecmp(https, "on") == 0 || strcmp(https, "1") == 0))
		return "https";
	if (scheme && strcmp(scheme, "https") == 0)
		return "https";
	return "http";
}

/* A header value with CR or LF would let text split the response. */
static bool header_is_safe(const struct ts_header *h)
{
	return h->name && h->value && !strpbrk(h->name, "\r\n:") && !strpbrk(h->value, "\r\n");
}

/* FastCGI 1.0 §3.3: a record is an 8-byte header and up to 65535 bytes. */
#define RECORD_MAX 65535
#define FCGI_END_REQUEST_TYPE 3
#define FCGI_STDOUT_TYPE 6
/* Records per sendmsg: two iovecs each, well under IOV_MAX (1024). */
#define RECORDS_PER_SEND 128

/*
 * Send head then body as FCGI_STDOUT records and, when end is set, the
 * empty STDOUT record that ends the stream and FCGI_END_REQUEST (FastCGI
 * 1.0 §5.3, §5.5) straight to the connection, in as few system calls as
 * the kernel allows (one for a tile).  libfcgi's own stream buffer is 8 KB,
 * so FCGX_PutStr would flush a 30 KB tile in four writes and end the
 * request in a fifth, each one a wake-up for nginx.  Once ended, libfcgi's
 * output stream is marked closed, so FCGX_Finish_r adds nothing (its error
 * stream, never written, sends nothing either).  Without end, more calls
 * follow (a file sent in chunks; head may be NULL).  Returns 1 when sent,
 * 0 when the peer went away, -1 when this connection cannot be written
 * this way (not a socket, found on the first call): the caller then uses
 * the stream, which has seen nothing yet.
 */
static int send_records(FCGX_Request *r, const uint8_t *head, size_t head_len,
                        const uint8_t *body, size_t body_len, bool end)
{
	unsigned char hdr[RECORDS_PER_SEND][8], tail[24];
	struct iovec iov[RECORDS_PER_SEND * 2 + 1];
	size_t off = 0, total = head_len + body_len;
	bool ended = false;

	if (r->ipcFd < 0 || !r->out)
		return -1;
	/* The closing records: an empty STDOUT, then END_REQUEST with
	 * appStatus 0 and protocolStatus FCGI_REQUEST_COMPLETE. */
	memset(tail, 0, sizeof tail);
	tail[0] = 1;
	tail[1] = FCGI_STDOUT_TYPE;
	tail[2] = (unsigned char)(r->requestId >> 8);
	tail[3] = (unsigned char)r->requestId;
	tail[8] = 1;
	tail[9] = FCGI_END_REQUEST_TYPE;
	tail[10] = tail[2];
	tail[11] = tail[3];
	tail[13] = 8;                 /* content length 8 */
	while (!ended) {
		struct msghdr msg;
		size_t niov = 0, batch = 0, first = 0;
		ssize_t sent;

		/* Records cover head then body; the head always gets a record of
		 * its own (it is short), so a record never spans both. */
		for (int k = 0; k < RECORDS_PER_SEND && off + batch < total; k++) {
			size_t pos = off + batch, n;
			const uint8_t *src;

			if (pos < head_len) {
				src = head + pos;
				n = head_len - pos;
			} else {
				src = body + (pos - head_len);
				n = total - pos;
			}
			if (n > RECORD_MAX)
				n = RECORD_MAX;
			hdr[k][0] = 1;
			hdr[k][1] = FCGI_STDOUT_TYPE;
			hdr[k][2] = (unsigned char)(r->requestId >> 8);
			hdr[k][3] = (unsigned char)r->requestId;
			hdr[k][4] = (unsigned char)(n >> 8);
			hdr[k][5] = (unsigned char)n;
			hdr[k][6] = 0;
			hdr[k][7] = 0;
			iov[niov].iov_base = hdr[k];
			iov[niov++].iov_len = 8;
			iov[niov].iov_base = (void *)src;
			iov[niov++].iov_len = n;
			batch += n;
		}
		if (off + batch == total) {
			if (end) {
				iov[niov].iov_base = tail;
				iov[niov++].iov_len = sizeof tail;
			}
			ended = true;
		}
		/* sendmsg, not writev: MSG_NOSIGNAL, and a partial send resumes
		 * inside the iovecs below. */
		while (first < niov) {
			memset(&msg, 0, sizeof msg);
			msg.msg_iov = iov + first;
			msg.msg_iovlen = niov - first;
			sent = sendmsg(r->ipcFd, &msg, MSG_NOSIGNAL);
			if (sent < 0) {
				if (errno == EINTR)
					continue;
				/* Only the first call can meet a non-socket. */
				if (errno == ENOTSOCK && off == 0 && head)
					return -1;
				/* The peer is gone, maybe mid-record: libfcgi must
				 * not add records after a cut one, nor keep the
				 * connection. */
				r->out->isClosed = 1;
				r->out->wasFCloseCalled = 1;
				r->keepConnection = 0;
				return 0;
			}
			while (first < niov && (size_t)sent >= iov[first].iov_len) {
				sent -= (ssize_t)iov[first].iov_len;
				first++;
			}
			if (first < niov) {
				iov[first].iov_base = (char *)iov[first].iov_base + sent;
				iov[first].iov_len -= (size_t)sent;
			}
		}
		off += batch;
	}
	if (!end)
		return 1;
	/* The request is ended on the wire: libfcgi must not close the
	 * output stream again (fcgiapp.h's FCGX_Stream fields). */
	r->out->isClosed = 1;
	r->out->wasFCloseCalled = 1;
	return 1;
}

/* A file body that cannot be read to its end after its Content-Length went
 * out: end the connection without FCGI_END_REQUEST, so nginx reports the
 * upstream as cut short and never passes a short body on as complete. */
static void abort_request(FCGX_Request *r)
{
	r->out->isClosed = 1;
	r->out->wasFCloseCalled = 1;
	r->keepConnection = 0;
	if (r->ipcFd >= 0)
		shutdown(r->ipcFd, SHUT_RDWR);
}

/*
 * Send head, then the response's file range in FILE_CHUNK pieces (pread,
 * so the descriptor's offset is never shared state), then end the request.
 * At most one chunk is in memory, whatever the file's size; the socket's
 * flow control paces the reads.  Returns false when the peer went away or
 * the file could not be read (then the request was aborted, see above).
 */
static bool write_file(FCGX_Request *r, const struct ts_response *resp, const struct ts_buf *head)
{
	uint64_t off = resp->file_offset, left = resp->file_length;
	uint8_t *buf = malloc(FILE_CHUNK);
	bool ok = false;
	int direct;

	if (!buf) {
		ts_log(TS_LOG_ERROR, "fastcgi: out of memory for a file chunk");
		goto fail;
	}
	direct = send_records(r, head->data, head->len, NULL, 0, left == 0);
	if (direct == 0)
		goto fail;
	if (direct < 0 && FCGX_PutStr((const char *)head->data, (int)head->len, r->out) < 0)
		goto fail;
	while (left > 0) {
		size_t n = left < FILE_CHUNK ? (size_t)left : FILE_CHUNK;
		ssize_t got = pread(resp->file_fd, buf, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			/* truncated or failing under us: never a short 200 */
			ts_log(TS_LOG_ERROR, "fastcgi: file body ended %" PRIu64 " bytes early: %s",
			       left, got < 0 ? strerror(errno) : "the file shrank");
			abort_request(r);
			goto fail;
		}
		off += (uint64_t)got;
		left -= (uint64_t)got;
		if (direct > 0) {
			if (send_records(r, NULL, 0, buf, (size_t)got, left == 0) == 0)
				goto fail;
		} else if (FCGX_PutStr((const char *)buf, (int)got, r->out) < 0) {
			goto fail;
		}
	}
	ok = true;
fail:
	free(buf);
	return ok;
}

/* Status line, headers and body.  Returns false when the peer went away. */
static bool write_response(FCGX_Request *r, struct ts_response *resp)
{
	struct ts_buf head = TS_BUF_INIT;
	bool ok = false;
	int status = resp->status ? resp->status : 500;
	size_t body_len;
	int sent;

	if (!ts_buf_printf(&head, "Status: %d %s\r\n", status, ts_status_reason(status)))
		goto fail;
	if (resp->content_type && !strpbrk(resp->content_type, "\r\n") &&
	    !ts_buf_printf(&head, "Content-Type: %s\r\n", resp->content_type))
		goto fail;
	/* Always: without it nginx may pass a cut-short body on as complete. */
	/* RFC 9110 §8.6: no Content-Length on 204 and 304 (a 0 there would
	 * overwrite the length a cache stored for the 200). */
	if (resp->status != 204 && resp->status != 304 &&
	    !ts_buf_printf(&head, "Content-Length: %" PRIu64 "\r\n",
	                   resp->has_file ? resp->file_length : (uint64_t)resp->body.len))
		goto fail;
	for (int i = 0; i < resp->nheaders; i++) {
		const struct ts_header *h = &resp->headers[i];
		if (!header_is_safe(h) || strcasecmp(h->name, "Content-Length") == 0 ||
		    strcasecmp(h->name, "Content-Type") == 0) {
			ts_log(TS_LOG_WARN, "fastcgi: dropped unsafe or duplicate header %s",
			       h->name ? h->name : "(null)");
			continue;
		}
		if (!ts_buf_printf(&head, "%s: %s\r\n", h->name, h->value))
			goto fail;
	}
	if (!ts_buf_append(&head, "\r\n", 2))
		goto fail;
	if (resp->has_file && !resp->omit_body) {
		ok = write_file(r, resp, &head);
		goto fail;
	}
	body_len = resp->omit_body ? 0 : resp->body.len;
	sent = send_records(r, head.data, head.len, resp->body.data, body_len, true);
	if (sent == 0)
		goto fail;
	if (sent < 0) {
		if (FCGX_PutStr((const char *)head.data, (int)head.len, r->out) < 0)
			goto fail;
		for (size_t off = 0; off < body_len; off += WRITE_CHUNK) {
			size_t n = body_len - off < WRITE_CHUNK ? body_len - off : WRITE_CHUNK;
			if (FCGX_PutStr((const char *)resp->body.data + off, (int)n, r->out) < 0)
				goto fail;
		}
	}
	ok = true;
fail:
	ts_buf_free(&head);
	return ok;
}

static void answer(struct fcgi_front *f, FCGX_Request *r, struct ts_arena *a)
{
	struct ts_http_request req;
	struct ts_response resp;

	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.method = param(r, "REQUEST_METHOD");
	if (!req.method)
		req.method = "GET";
	req.target = request_target(r, a);
	req.scheme = request_scheme(r);
	req.host = param(r, "HTTP_HOST");
	req.remote_addr = param(r, "REMOTE_ADDR");
	req.protocol = param(r, "SERVER_PROTOCOL");
	req.referer = param(r, "HTTP_REFERER");
	req.user_agent = param(r, "HTTP_USER_AGENT");
	req.accept = param(r, "HTTP_ACCEPT");
	req.accept_encoding = param(r, "HTTP_ACCEPT_ENCODING");
	req.if_none_match = param(r, "HTTP_IF_NONE_MATCH");
	req.if_modified_since = param(r, "HTTP_IF_MODIFIED_SINCE");
	req.origin = param(r, "HTTP_ORIGIN");
	req.x_forwarded_host = param(r, "HTTP_X_FORWARDED_HOST");
	req.x_forwarded_proto = param(r, "HTTP_X_FORWARDED_PROTO");
	req.ac_request_method = param(r, "HTTP_ACCESS_CONTROL_REQUEST_METHOD");
	req.ac_request_headers = param(r, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS");
	req.range = param(r, "HTTP_RANGE");
	req.if_range = param(r, "HTTP_IF_RANGE");
	req.accel_location = f->accel_location;
	req.fastcgi = true;
	/* nginx closes this connection when its client goes away
	 * (front/conn_watch.c): costly work looks here first. */
	req.conn.kind = TS_CONN_FASTCGI;
	req.conn.fd = r->ipcFd;
	req.conn.unix_domain = f->unix_domain;
	if (!req.target) {
		/* Out of memory building the target: answer without the server. */
		resp.status = 500;
	} else {
		f->handle(f->ctx, &req, a, &resp);
	}
	if (resp.status == TS_ECLIENTGONE) {
		/* The web server closed the connection: nothing to write, and
		 * libfcgi must not try (nor keep the connection). */
		abort_request(r);
		ts_log(TS_LOG_DEBUG, "fastcgi: the client went away; its work was dropped");
	} else if (!write_response(r, &resp))
		ts_log(TS_LOG_DEBUG, "fastcgi: client went away before the answer was written");
	ts_response_free(&resp);
}

static void *worker_main(void *arg)
{
	struct fcgi_worker *w = arg;
	struct fcgi_front *f = w->front;
	struct ts_arena *a = ts_arena_create();
	FCGX_Request r;

	/* No listening socket: connections come from the gate, and a head
	 * libfcgi refuses must not send it back to accept() on its own. */
	if (!a || FCGX_InitRequest(&r, -1, 0) != 0) {
		ts_log(TS_LOG_ERROR, "fastcgi: worker cannot start: out of memory");
		ts_arena_destroy(a);
		w->done = 1;
		return NULL;
	}
	for (;;) {
		int fd = ts_fcgi_gate_take(f->gate);
		bool keep;

		if (fd < 0)
			break;
		/* The gate saw the whole head arrive: libfcgi reads it without
		 * waiting.  keepConnection stops FCGX_Accept_r's opening
		 * FCGX_Finish_r from closing the descriptor we just gave it;
		 * the request's own flag replaces it. */
		r.ipcFd = fd;
		r.keepConnection = 1;
		if (FCGX_Accept_r(&r) < 0) {
			/* a head libfcgi refused: it closed the connection */
			ts_log(TS_LOG_DEBUG, "fastcgi: dropped a connection with a malformed request");
			continue;
		}
		answer(f, &r, a);
		/* A connection nginx keeps (fastcgi_keep_conn) goes back to the
		 * gate to wait for its next request, holding no worker; one with
		 * a body we did not read is closed the usual way. */
		keep = r.keepConnection && no_request_body(&r);
		/* libfcgi ends a connection with shutdown, then reads until the
		 * peer closes (up to 2 s), so that unread input cannot reset
		 * the connection under the answer.  Over a Unix socket with no
		 * request body there is no input left (nginx sent its records
		 * before ours were read), so the connection is just closed:
		 * detached, the worker does not sit out nginx's round trip (a
		 * sleep and a wake-up per request).  A body we did not read
		 * (a POST, refused) keeps libfcgi's drain, or nginx's write of
		 * it would fail and turn our 405 into a 502. */
		if (!keep && f->unix_domain && no_request_body(&r))
			FCGX_Detach(&r);
		FCGX_Finish_r(&r);
		if (keep && r.ipcFd >= 0) {
			ts_fcgi_gate_give_back(f->gate, r.ipcFd);
			r.ipcFd = -1;
		}
		ts_arena_reset(a);
	}
	FCGX_Free(&r, 1);
	ts_arena_destroy(a);
	w->done = 1;
	return NULL;
}

/*
 * The socket spawn-fcgi made and handed us on standard input: its path is
 * removed at exit as for a socket of our own (tessera(8)), but only while
 * the path still names the file it named when we started (a socket made
 * there since is not ours).  Only one process should serve it (spawn-fcgi
 * without -F).  A socket's descriptor does not tell the file's inode, so
 * the file is identified at start.
 */
struct inherited_socket {
	char path[sizeof ((struct sockaddr_un *)0)->sun_path];
	struct stat st;
	bool known;
};

static void note_inherited_socket(struct inherited_socket *in)
{
	struct sockaddr_un sa;
	socklen_t sl = sizeof sa;

	memset(in, 0, sizeof *in);
	memset(&sa, 0, sizeof sa);
	if (getsockname(0, (struct sockaddr *)&sa, &sl) != 0 || sa.sun_family != AF_UNIX ||
	    sl <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
		return;
	memcpy(in->path, sa.sun_path, sizeof in->path - 1);
	in->known = stat(in->path, &in->st) == 0 && S_ISSOCK(in->st.st_mode);
}

static void remove_inherited_socket(const struct inherited_socket *in)
{
	struct stat now;

	if (in->known && stat(in->path, &now) == 0 && S_ISSOCK(now.st_mode) &&
	    now.st_ino == in->st.st_ino && now.st_dev == in->st.st_dev &&
	    now.st_ctim.tv_sec == in->st.st_ctim.tv_sec &&
	    now.st_ctim.tv_nsec == in->st.st_ctim.tv_nsec)
		unlink(in->path);
}

static int worker_count(const struct ts_settings *s)
{
	int n = ts_settings_worker_threads(s);

	return n > MAX_WORKERS ? MAX_WORKERS : n;
}

static void server_handler(void *ctx, const struct ts_http_request *req, struct ts_arena *a,
                           struct ts_response *resp)
{
	ts_server_handle(ctx, req, a, resp);
}

int ts_fastcgi_run(struct ts_server *srv, const struct ts_settings *s, volatile int *stop)
{
	return ts_fastcgi_serve(server_handler, srv, s, stop);
}

int ts_fastcgi_serve(ts_front_handler h, void *hctx, const struct ts_settings *s,
                     volatile int *stop)
{
	struct fcgi_front f;
	struct inherited_socket inherited;
	bool stdin_recorded;
	struct fcgi_worker *workers = NULL;
	struct ts_error err;
	const char *addr = s->fastcgi_listen ? s->fastcgi_listen : "";
	bool is_unix = false;
	int n = worker_count(s), started = 0, rc = 1;

	ts_error_clear(&err);
	memset(&f, 0, sizeof f);
	memset(&inherited, 0, sizeof inherited);
	f.handle = h;
	f.ctx = hctx;
	f.stop = stop;
	f.listen_fd = -1;
	if (s->media_accel_location && *s->media_accel_location)
		f.accel_location = s->media_accel_location;
	if (FCGX_Init() != 0) {
		ts_log(TS_LOG_ERROR, "fastcgi: libfcgi failed to initialise");
		goto fail;
	}

	if (*addr) {
		f.listen_fd = ts_listen_open(addr, 1024, &is_unix, &err);
		if (f.listen_fd < 0) {
			ts_log(TS_LOG_ERROR, "fastcgi: %s", err.msg);
			goto fail;
		}
		ts_log(TS_LOG_INFO, "fastcgi: listening on %s with %d threads", addr, n);
	} else {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;

		f.listen_fd = 0;   /* handed to us by spawn-fcgi or mod_fcgid */
		is_unix = getsockname(0, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_UNIX;
		if (is_unix)
			note_inherited_socket(&inherited);
		ts_log(TS_LOG_INFO, "fastcgi: serving the socket on standard input with %d threads", n);
	}
	f.unix_domain = is_unix;
	f.gate = ts_fcgi_gate_start(f.listen_fd, s->fastcgi_read_timeout);
	if (!f.gate)
		goto fail;
	workers = calloc((size_t)n, sizeof *workers);
	if (!workers)
		goto fail;
	for (int i = 0; i < n; i++) {
		workers[i].front = &f;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			ts_log(TS_LOG_ERROR, "fastcgi: cannot start worker thread %d", i);
			__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
			break;
		}
		workers[i].started = true;
		started++;
	}
	rc = started > 0 && started == n ? 0 : 1;

	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	/* No new connections; workers finish what is ready, then leave. */
	ts_fcgi_gate_stop(f.gate);
	for (int i = 0; i < n; i++)
		if (workers[i].started)
			pthread_join(workers[i].thread, NULL);
	ts_log(TS_LOG_INFO, "fastcgi: stopped; %llu connections were closed for sending no "
	       "whole request within %d s", (unsigned long long)ts_fcgi_gate_timed_out(f.gate),
	       s->fastcgi_read_timeout);
fail:
	if (rc != 0)
		__atomic_store_n(stop, 1, __ATOMIC_RELEASE);   /* let a sibling front end stop too */
	free(workers);
	ts_fcgi_gate_destroy(f.gate);
	if (f.listen_fd > 0) {
		close(f.listen_fd);
		ts_listen_release(addr, is_unix);
	} else if (f.listen_fd == 0 && is_unix && ts_listen_inherited("", &stdin_recorded) < 0) {
		/* spawn-fcgi's socket on standard input; a worker process leaves
		 * it to its master (front/inherit.c), which removes it once */
		remove_inherited_socket(&inherited);
	}
	return rc;
}
