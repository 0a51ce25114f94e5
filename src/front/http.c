/*
 * http.c - the embedded HTTP front end (libmicrohttpd), for running Tessera
 * without a web server in front: development, tests, small deployments.
 *
 * libmicrohttpd runs its own thread pool; for each request it calls
 * on_request, which builds a struct ts_http_request, lets the server produce
 * the whole response in memory, and hands the body to MHD without copying;
 * a media file's body is handed over as its open descriptor and range,
 * which MHD sends with sendfile.
 *
 * The one idea: the server must see the request target exactly as the
 * client sent it ("a%2Fb" is one identifier, "a/b" is a path; "+" is not a
 * space in a path).  MHD percent-decodes the path and splits and decodes the
 * query, turning '+' into a space before any callback can stop it.  So we
 * take the raw target from MHD's URI log callback, which sees the request
 * line before any parsing, and keep it in the connection's context, which
 * MHD hands to the request (the connection owns it, so a request MHD drops
 * half-way cannot leak it).  As a
 * second line of defence the unescape callback is the identity, and if the
 * raw copy is ever missing the target is rebuilt from the undecoded path and
 * the GET arguments in order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "tessera/arena.h"
#include "tessera/buf.h"
#include "tessera/log.h"
#include "tessera/server.h"
#include "front.h"

#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 1000   /* below FD_SETSIZE when MHD falls back to select() */

struct http_front {
	ts_front_handler handle;
	void *ctx;
	/* Draining on stop: requests between their headers and the end of
	 * their answer, and whether answers should close their connection. */
	atomic_int inflight;
	atomic_int draining;
};

struct http_ctx {
	char *raw_target;   /* malloc'd copy of the request target */
	bool headers_seen;  /* the access handler has been called once */
	bool counted;       /* counted in http_front.inflight */
};

/* How long a stopping server waits for requests in flight to be answered. */
#define DRAIN_TIMEOUT_S 30
/* and how long it leaves idle kept-alive connections a last request */
#define KEEPALIVE_GRACE_S 1.0

/* One http_ctx per connection, made when MHD accepts it and freed when MHD
 * closes it.  Owning it per connection (not per request) matters: MHD calls
 * the URI callback as soon as the request line is parsed but calls the
 * completed callback only for requests that reached the access handler, so
 * a request that fails later in its headers (431, 400) would otherwise leak
 * its copy of the target. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	struct http_ctx *ctx = *socket_context;

	(void)cls;
	(void)c;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = calloc(1, sizeof(struct http_ctx));   /* NULL: fallback */
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && ctx) {
		free(ctx->raw_target);
		free(ctx);
		*socket_context = NULL;
	}
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_ctx *ctx = ci ? ci->socket_context : NULL;

	(void)cls;
	if (!ctx)
		return NULL;   /* out of memory at accept: on_request falls back */
	free(ctx->raw_target);
	ctx->raw_target = uri ? strdup(uri) : NULL;
	ctx->headers_seen = false;
	return ctx;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http_ctx *ctx = *con_cls;
	struct http_front *f = cls;

	(void)c;
	(void)toe;
	if (ctx && ctx->counted) {
		atomic_fetch_sub(&f->inflight, 1);
		ctx->counted = false;
	}
	if (ctx) {   /* the connection keeps ctx itself for its next request */
		free(ctx->raw_target);
		ctx->raw_target = NULL;
		ctx->headers_seen = false;
		*con_cls = NULL;
	}
}

/* Leave percent-escapes alone: the server decodes each part itself. */
static size_t unescape_nothing(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof line, fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	ts_log(TS_LOG_WARN, "http: %s", line);
}

struct rebuild {
	struct ts_buf *b;
	bool first;
	bool ok;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
	struct rebuild *rb = cls;

	(void)kind;
	rb->ok = rb->ok && ts_buf_append_str(rb->b, rb->first ? "?" : "&") &&
	         ts_buf_append_str(rb->b, key) &&
	         (!value || (ts_buf_append_str(rb->b, "=") && ts_buf_append_str(rb->b, value)));
	rb->first = false;
	return MHD_YES;
}

/* Fallback: path plus the GET arguments in order ("?key" when no value). */
static const char *rebuild_target(struct MHD_Connection *c, const char *url,
                                  struct ts_arena *a)
{
	struct ts_buf b = TS_BUF_INIT;
	struct rebuild rb = { &b, true, true };
	const char *out = NULL;

	rb.ok = ts_buf_append_str(&b, url);
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &rb);
	if (rb.ok)
		out = ts_arena_strndup(a, (const char *)b.data, b.len);
	ts_buf_free(&b);
	return out;
}

/* The peer's address as text, in the arena; NULL when unknown. */
static const char *client_address(struct MHD_Connection *c, struct ts_arena *a)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char text[INET6_ADDRSTRLEN];
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (!sa)
		return NULL;
	if (sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, text,
	              sizeof text))
		return ts_arena_strndup(a, text, strlen(text));
	if (sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, text,
	              sizeof text))
		return ts_arena_strndup(a, text, strlen(text));
	return sa->sa_family == AF_UNIX ? "unix:" : NULL;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static void free_body(void *p)
{
	free(p);
}

static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls; (void)pos; (void)buf; (void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

static enum MHD_Result send_response(struct MHD_Connection *c, struct ts_response *resp,
                                     bool draining)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	int status = resp->status ? resp->status : 500;

	if (resp->has_file) {
		/* MHD sends the file with sendfile (or reads it in blocks) and
		 * takes the descriptor: it closes it when the answer is done. */
		r = resp->file_offset <= (uint64_t)INT64_MAX
			? MHD_create_response_from_fd_at_offset64(resp->file_length, resp->file_fd,
			                                          (int64_t)resp->file_offset)
			: NULL;
		if (r)
			resp->has_file = false;
	} else if (resp->body.len > 0) {
		/* MHD takes the body: no copy, freed when the answer has been sent. */
		r = MHD_create_response_from_buffer_with_free_callback(resp->body.len,
		                                                       resp->body.data, free_body);
		if (r)
			resp->body.data = NULL;
	} else if (status == 204 || status == 304) {
		/* RFC 9110 §8.6: no Content-Length here; a response of unknown size
		 * with no body makes MHD write none. */
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, no_body, NULL, NULL);
		/* MHD 0.9.75 knows a 204 has no body but sends a 304 of unknown size
		 * chunked, with a "0" chunk as its body, which a keep-alive client
		 * would read as the start of the next answer (RFC 9110 §15.4.5).
		 * HTTP/1.0-style framing (no chunking, close after) leaves no body. */
		if (r && status == 304)
			MHD_set_response_options(r, MHD_RF_HTTP_VERSION_1_0_ONLY, MHD_RO_END);
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!r)
		return MHD_NO;   /* out of memory: MHD closes the connection */
	/* MHD writes Content-Length itself from the body size, for HEAD too, and
	 * leaves out the body of a HEAD answer. */
	if (resp->content_type)
		MHD_add_response_header(r, "Content-Type", resp->content_type);
	for (int i = 0; i < resp->nheaders; i++) {
		const struct ts_header *h = &resp->headers[i];
		if (!h->name || !h->value || strcasecmp(h->name, "Content-Length") == 0 ||
		    strcasecmp(h->name, "Content-Type") == 0)
			continue;
		if (MHD_add_response_header(r, h->name, h->value) != MHD_YES)
			ts_log(TS_LOG_WARN, "http: dropped unsafe header %s", h->name);
	}
	/* A draining server closes each connection after its answer. */
	if (draining)
		MHD_add_response_header(r, "Connection", "close");
	ret = MHD_queue_response(c, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	struct http_front *f = cls;
	struct http_ctx *ctx = *con_cls;
	struct ts_http_request req;
	struct ts_response resp;
	struct ts_arena *a;
	enum MHD_Result ret;

	(void)upload_data;
	/* Answer only once the whole request has been read: MHD closes the
	 * connection after an answer queued on the first call (it will not read
	 * the rest), which would defeat keep-alive.  No route takes a body, so
	 * any body is dropped. */
	if (ctx && !ctx->headers_seen) {
		ctx->headers_seen = true;
		ctx->counted = true;
		atomic_fetch_add(&f->inflight, 1);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	a = ts_arena_create();
	if (!a)
		return MHD_NO;
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.method = method;
	req.target = ctx && ctx->raw_target ? ctx->raw_target : rebuild_target(c, url, a);
	req.scheme = "http";
	req.host = header(c, "Host");
	req.accept = header(c, "Accept");
	req.accept_encoding = header(c, "Accept-Encoding");
	req.if_none_match = header(c, "If-None-Match");
	req.if_modified_since = header(c, "If-Modified-Since");
	req.origin = header(c, "Origin");
	req.x_forwarded_host = header(c, "X-Forwarded-Host");
	req.x_forwarded_proto = header(c, "X-Forwarded-Proto");
	req.ac_request_method = header(c, "Access-Control-Request-Method");
	req.ac_request_headers = header(c, "Access-Control-Request-Headers");
	req.range = header(c, "Range");
	req.if_range = header(c, "If-Range");
	req.referer = header(c, "Referer");
	req.user_agent = header(c, "User-Agent");
	req.protocol = version;
	req.remote_addr = client_address(c, a);
	if (req.target)
		f->handle(f->ctx, &req, a, &resp);
	else
		resp.status = 500;
	ret = send_response(c, &resp, atomic_load(&f->draining) != 0);
	ts_response_free(&resp);
	ts_arena_destroy(a);
	return ret;
}

static unsigned int pool_size(const struct ts_settings *s)
{
	return (unsigned int)ts_settings_worker_threads(s);
}

static void server_handler(void *ctx, const struct ts_http_request *req, struct ts_arena *a,
                           struct ts_response *resp)
{
	ts_server_handle(ctx, req, a, resp);
}

/*
 * Stop taking connections (the listening socket may be shared with other
 * worker processes, which go on accepting), then wait until the requests
 * in flight have been answered, at most DRAIN_TIMEOUT_S.  Their answers say
 * Connection: close.  Idle kept-alive connections are closed by
 * MHD_stop_daemon after that, as any HTTP/1.1 server may close them.
 */
static MHD_socket drain(struct MHD_Daemon *d, struct http_front *f)
{
	struct timespec t0, now, tick = { 0, 20 * 1000 * 1000 };
	MHD_socket lfd;

	atomic_store(&f->draining, 1);
	lfd = MHD_quiesce_daemon(d);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* on_completed counts a request out once its answer has been sent.  A
	 * kept-alive connection may still bring one more request (answered
	 * with Connection: close): while connections stay open, wait a little
	 * past the last answer before closing them. */
	for (double quiet = 0; quiet < KEEPALIVE_GRACE_S; ) {
		const union MHD_DaemonInfo *di =
			MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (atomic_load(&f->inflight) > 0)
			quiet = 0;
		else if (di && di->num_connections == 0)
			break;
		else
			quiet += 0.02;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= DRAIN_TIMEOUT_S) {
			ts_log(TS_LOG_WARN, "http: %d requests still in flight after %d s; stopping",
			       atomic_load(&f->inflight), DRAIN_TIMEOUT_S);
			break;
		}
		nanosleep(&tick, NULL);
	}
	return lfd;
}

int ts_http_run(struct ts_server *srv, const struct ts_settings *s, volatile int *stop)
{
	return ts_http_serve(server_handler, srv, s, stop);
}

int ts_http_serve(ts_front_handler h, void *hctx, const struct ts_settings *s,
                  volatile int *stop)
{
	struct http_front f = { .handle = h, .ctx = hctx };
	struct MHD_Daemon *d = NULL;
	struct ts_error err;
	/* ITC: MHD_quiesce_daemon needs it in the thread-pool modes. */
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	unsigned int threads = pool_size(s);
	bool is_unix = false;
	MHD_socket lfd;
	int fd, rc = 1;

	ts_error_clear(&err);
	fd = ts_listen_open(s->http_listen, 1024, &is_unix, &err);
	if (fd < 0) {
		ts_log(TS_LOG_ERROR, "http: %s", err.msg);
		goto fail;
	}
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &f,
	                     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	                     MHD_OPTION_LISTEN_SOCKET, fd,
	                     MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
	                     MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	                     MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
	                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &f,
	                     MHD_OPTION_UNESCAPE_CALLBACK, unescape_nothing, NULL,
	                     MHD_OPTION_END);
	if (!d) {
		ts_log(TS_LOG_ERROR, "http: cannot start the HTTP server on %s", s->http_listen);
		close(fd);
		goto fail;
	}
	ts_log(TS_LOG_INFO, "http: listening on %s with %u threads", s->http_listen, threads);
	rc = 0;
	/* *stop is set by a signal handler, maybe on another thread: read it atomically */
	while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	lfd = drain(d, &f);
	MHD_stop_daemon(d);   /* closes the listening socket unless drain took it */
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);       /* MHD's rule: only after MHD_stop_daemon */
	ts_log(TS_LOG_INFO, "http: stopped");
fail:
	if (fd >= 0)
		ts_listen_release(s->http_listen, is_unix);
	if (rc != 0)
		__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	return rc;
}
