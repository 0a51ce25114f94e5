/*
 * server.c - one request end to end: the route table, the request's life
 * (timing, counting), errors and CORS.
 *
 * Front ends hand us a struct ts_http_request and get back a complete
 * struct ts_response; nothing is written until the whole body exists (or,
 * for a media file, is open and checked: its bytes are read only as they
 * are sent), so a failure anywhere becomes a proper error status, never a
 * truncated 200.
 * This is the only place that turns a ts_status into an HTTP answer and logs
 * it.  Every response, errors and redirects included, leaves through
 * finish(), which adds the CORS headers.  The protocols live in serve/:
 * iiif.c, media.c (the published media files), tiles.c (DeepZoom, Zoomify,
 * IIP), image.c (the shared image path), viewer.c, metrics.c, common.c.
 *
 * Thread-safe: the server struct is read-only after creation except for its
 * cache, pool and counters, which carry their own locks or atomics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "serve/serve.h"
#include "tessera/access_log.h"
#include "tessera/log.h"
#include "tessera/tile_cache.h"

struct ts_server *ts_server_create(const struct ts_settings *s, struct ts_error *err)
{
	struct ts_server *srv;
	int f;

	srv = calloc(1, sizeof *srv);
	if (!srv) {
		ts_error_set(err, TS_EINTERNAL, "out of memory");
		return NULL;
	}
	srv->settings = s;
	srv->root_fd = -1;
	if (!s->root || !*s->root) {
		ts_error_set(err, TS_EINTERNAL,
		             "no image root configured: set root (--root, FILESYSTEM_PREFIX)");
		goto fail;
	}
	/* It goes into a header and names a URI path nginx redirects to. */
	if (s->media_accel_location && *s->media_accel_location &&
	    (s->media_accel_location[0] != '/' ||
	     strpbrk(s->media_accel_location, " \t\r\n?#%\"") ||
	     s->media_accel_location[strlen(s->media_accel_location) - 1] == '/')) {
		ts_error_set(err, TS_EBADREQUEST, "media_accel_location must be a path such as "
		             "/tessera-media: a leading '/', no trailing '/', no spaces, '?', '#' "
		             "or '%%'");
		goto fail;
	}
	srv->resolver = ts_resolver_create(s->root, s->suffixes, err);
	if (!srv->resolver)
		goto fail;
	srv->limits.max_width = s->max_width;
	srv->limits.max_height = s->max_height;
	srv->limits.max_area = s->max_area;
	srv->limits.allow_upscaling = s->allow_upscaling;
	srv->source_limits.max_source_pixels = s->max_source_pixels;
	srv->source_limits.htj2k_openjpeg = s->htj2k_decoder &&
	                                    strcmp(s->htj2k_decoder, "openjpeg") == 0;
	srv->encode.jpeg_quality = s->jpeg_quality;
	srv->encode.webp_quality = s->webp_quality;
	srv->encode.png_level = s->png_level;
	for (f = 0; f < 8; f++)
		srv->formats[f] = ts_encode_supported((enum ts_format)f);
	if (s->viewer_dir && *s->viewer_dir &&
	    !ts_settings_viewer_path(s, srv->viewer_dir, sizeof srv->viewer_dir)) {
		srv->viewer_dir[0] = '\0';
		ts_log(TS_LOG_WARN, "viewer_dir %s not found next to the program or in the data "
		       "directory: / and /viewer/ will answer 404", s->viewer_dir);
	}
	srv->root_fd = open(ts_resolver_root(srv->resolver), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* 16384 files' probe results: about 10 MB at most */
	srv->probes = ts_probe_cache_create(16384);
	/* fingerprints of 4096 answers; 65536 watched folders at most (the
	 * kernel pins each watched folder's inode, about 1 KB) */
	srv->watch = ts_dir_watch_create(srv->root_fd, s->presentation_watch, 65536, 4096);
	srv->cache = ts_cache_create((size_t)s->cache_size_mb << 20);
	/* Decoded JPEG 2000 tiles, shared by every source the pool opens. */
	srv->source_limits.tiles = ts_tile_cache_create((size_t)s->decoded_cache_mb << 20);
	srv->pool = ts_source_pool_create(64, &srv->source_limits);
	if (!srv->cache || !srv->pool || !srv->source_limits.tiles || !srv->probes ||
	    !srv->watch) {
		ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	{
		struct ts_heavy_limits hl;

		ts_heavy_limits_from(s, &hl);
		srv->heavy = ts_heavy_create(&hl);
		if (!srv->heavy) {
			ts_error_set(err, TS_EINTERNAL, "cannot start the render threads");
			goto fail;
		}
	}
	srv->remote = ts_remote_cache_create(s->memcached_servers, err);
	if (!srv->remote && s->memcached_servers && *s->memcached_servers)
		goto fail;
	if (ts_auto_pyramid_create(s, s->max_source_pixels, &srv->pyramids, err) != TS_OK)
		goto fail;
	if (s->idle_trim_seconds > 0) {
		srv->trim = ts_mem_trim_start((unsigned)s->idle_trim_seconds * 1000u, NULL, err);
		if (!srv->trim)
			goto fail;
	}
	return srv;
fail:
	ts_server_destroy(srv);
	return NULL;
}

void ts_server_destroy(struct ts_server *srv)
{
	if (!srv)
		return;
	ts_mem_trim_stop(srv->trim);
	ts_auto_pyramid_destroy(srv->pyramids);   /* cancels conversions in flight */
	ts_resolver_destroy(srv->resolver);
	ts_cache_destroy(srv->cache);
	ts_source_pool_destroy(srv->pool);
	ts_remote_cache_destroy(srv->remote);
	ts_heavy_destroy(srv->heavy);
	ts_probe_cache_destroy(srv->probes);
	ts_dir_watch_destroy(srv->watch);
	if (srv->root_fd >= 0)
		close(srv->root_fd);
	ts_tile_cache_destroy(srv->source_limits.tiles);   /* after the sources using it */
	free(srv);
}

/* Public error text: printable ASCII only, and nothing a browser could take
 * for markup; the rest is percent-escaped so raw input never comes back. */
static void append_safe(struct ts_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f || strchr("<>&\"'%\\", c)) {
			char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
			ts_buf_append(b, esc, 3);
		} else {
			ts_buf_append(b, s, 1);
		}
	}
}

/* CORS headers go on every response: viewers fail silently without them
 * (field notes), errors and redirects included.  Accept-Ranges and
 * Content-Range are exposed for PDF.js, which reads them to decide whether
 * to fetch a PDF in ranges (Fetch standard: they are not safelisted). */
static void finish(struct request *r)
{
	const char *cors = r->srv->settings->cors;

	/* Every answer says what it is and must not be sniffed as something
	 * else (an error text as HTML, a JSON as script): Fetch §3.5. */
	ts_serve_header(r, "X-Content-Type-Options", "nosniff");

	if (cors && *cors) {
		ts_serve_header(r, "Access-Control-Allow-Origin", cors);
		if (strcmp(cors, "*") != 0)
			ts_serve_header(r, "Vary", "Origin");
		ts_serve_header(r, "Access-Control-Expose-Headers",
		                "Link, ETag, Last-Modified, Content-Length, Accept-Ranges, Content-Range");
	}
	if (strcmp(r->http->method, "HEAD") == 0)
		r->resp->omit_body = true;
}

static void respond_error(struct request *r)
{
	struct ts_response *resp = r->resp;
	int status = r->err.status ? r->err.status : TS_EINTERNAL;

	if (status < 400 || status > 599)
		status = TS_EINTERNAL;
	if (status == TS_ECLIENTGONE) {
		/* Nobody to answer: the front end sends nothing and closes; the
		 * access log and /metrics record a 499 with no bytes. */
		resp->status = status;
		resp->nheaders = 0;
		resp->content_type = NULL;
		ts_response_drop_file(resp);
		ts_buf_clear(&resp->body);
		ts_log(TS_LOG_DEBUG, "499 %s %s: the client went away before its work began",
		       r->http->method, r->path);
		return;
	}
	resp->status = status;
	resp->nheaders = 0;
	resp->content_type = "text/plain; charset=utf-8";
	ts_response_drop_file(resp);
	ts_buf_clear(&resp->body);
	ts_buf_printf(&resp->body, "%d %s: ", status, ts_status_reason(status));
	append_safe(&resp->body, r->err.msg[0] ? r->err.msg : ts_status_reason(status));
	ts_buf_append_str(&resp->body, "\n");
	ts_serve_header(r, "Cache-Control", "no-store");
	if (status == TS_EMETHOD)
		ts_serve_header(r, "Allow", "GET, HEAD, OPTIONS");
	/* RFC 9110 §10.2.3: when a refused or stopped render may succeed. */
	if (status == TS_EUNAVAILABLE && r->retry_after > 0)
		ts_serve_header(r, "Retry-After", ts_arena_printf(r->arena, "%d", r->retry_after));
	/* The log gets the private detail; request text only ever as %s.  A
	 * client's mistake (4xx) is not the administrator's: debug only.  A 503
	 * is the server refusing or stopping work it has no room for
	 * (overload), not a failure: a warning, not an error. */
	ts_log(status == TS_EUNAVAILABLE ? TS_LOG_WARN : status >= 500 ? TS_LOG_ERROR : TS_LOG_DEBUG,
	       "%d %s %s: %s%s%s", status,
	       r->http->method, r->path, r->err.msg, r->err.detail[0] ? " | " : "",
	       r->err.detail);
	finish(r);
}

/* A header value that is a plain list of tokens ("Range, X-Foo"), safe to echo. */
static bool token_list_is_sane(const char *v)
{
	if (strlen(v) > 512)
		return false;
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == ',' || c == ' '))
			return false;
	}
	return true;
}

/* The addresses iipsrv answers at, as the shipped web server confs route
 * them: /fcgi-bin/iipsrv.fcgi (any folder) and /iip. */
static bool is_iip_endpoint(const char *p)
{
	static const char fcgi[] = "/iipsrv.fcgi";
	size_t n = strlen(p);

	return strcmp(p, "/iip") == 0 || strcmp(p, "/iip/") == 0 ||
	       (n >= sizeof fcgi - 1 && strcmp(p + n - (sizeof fcgi - 1), fcgi) == 0);
}

/* The viewer page, its files and the image list it reads (which names every
 * image under the root): setting `viewer`, auto = on for the embedded HTTP
 * server (the demo), off under FastCGI (a public site behind a web server
 * turns it on knowingly). */
static bool viewer_enabled(const struct request *r)
{
	const char *v = r->srv->settings->viewer;

	if (v && strcmp(v, "on") == 0)
		return true;
	if (v && strcmp(v, "off") == 0)
		return false;
	return !r->http->fastcgi;
}

static ts_status route(struct request *r)
{
	const char *p = r->path;
	ts_status st;

	/* iipsrv's query entry points work on whatever path reaches us, and
	 * its own addresses answer IIP whatever the query (an empty or unknown
	 * one is IIP's 400, not a 404) */
	if (ts_serve_is_iip(r->query) || is_iip_endpoint(p))
		return ts_serve_iip(r);
	if (strncmp(p, "/iiif/", 6) == 0) {
		/* "/iiif/{item}/res/{file}" first: no Image API URL has that shape */
		if (ts_serve_is_media(p + 5))
			return ts_serve_media(r, p + 5);
		/* then Presentation: its forms never parse as image requests */
		if (ts_serve_presentation(r, p + 5, &st))
			return st;
		r->route = R_IIIF_IMAGE;   /* refined by ts_serve_iiif */
		return ts_serve_iiif(r, "/iiif", p + 5, true, false);
	}
	if (strncmp(p, "/deepzoom/", 10) == 0)
		return ts_serve_deepzoom(r, p + 9, r->query, 0);
	if (strncmp(p, "/zoomify/", 9) == 0)
		return ts_serve_zoomify(r, p + 8, 0);
	if (strcmp(p, "/metrics") == 0) {
		r->route = R_METRICS;
		ts_serve_metrics(r);
		r->resp->status = 200;
		r->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		ts_serve_header(r, "Cache-Control", "no-store");
		return TS_OK;
	}
	if (strcmp(p, "/health") == 0) {
		r->route = R_HEALTH;
		r->resp->status = 200;
		r->resp->content_type = "text/plain; charset=utf-8";
		ts_serve_set_body(r, "ok\n", 3);
		ts_serve_header(r, "Cache-Control", "no-store");
		return TS_OK;
	}
	r->route = R_VIEWER;
	if (!viewer_enabled(r) && (strcmp(p, "/images.json") == 0 || strcmp(p, "/") == 0 ||
	                           strcmp(p, "/index.html") == 0 || strncmp(p, "/viewer/", 8) == 0))
		return ts_error_set(&r->err, TS_ENOTFOUND, "no such route");
	if (strcmp(p, "/images.json") == 0)
		return ts_serve_image_list(r);
	if (strcmp(p, "/") == 0 || strcmp(p, "/index.html") == 0)
		return ts_serve_viewer_file(r, "index.html");
	if (strncmp(p, "/viewer/", 8) == 0)
		return ts_serve_viewer_file(r, p + 8);
	r->route = R_OTHER;
	return ts_error_set(&r->err, TS_ENOTFOUND, "no such route");
}

static void handle(struct request *r);

/* One access log line (core/access_log.c): what the client gets. */
static void log_access(const struct ts_http_request *http, const struct ts_response *resp,
                       const struct timespec *wall, double seconds)
{
	struct ts_access_entry e;

	memset(&e, 0, sizeof e);
	e.when = *wall;
	e.client = http->remote_addr;
	e.method = http->method;
	e.target = http->target;
	e.protocol = http->protocol;
	e.status = resp->status ? resp->status : 500;
	if (!resp->omit_body && e.status != 204 && e.status != 304)
		e.bytes = resp->has_file ? resp->file_length : (uint64_t)resp->body.len;
	e.seconds = seconds;
	e.outcome = resp->outcome;
	e.referer = http->referer;
	e.user_agent = http->user_agent;
	ts_access_log_write(&e);
}

void ts_server_handle(struct ts_server *srv, const struct ts_http_request *http,
                      struct ts_arena *a, struct ts_response *resp)
{
	struct timespec t0, t1, wall;
	struct request r;

	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_fetch_add(&srv->metrics.busy, 1);
	ts_mem_trim_enter(srv->trim);
	memset(&r, 0, sizeof r);
	r.srv = srv;
	r.http = http;
	r.arena = a;
	r.resp = resp;
	r.route = R_OTHER;
	handle(&r);
	ts_mem_trim_leave(srv->trim);
	atomic_fetch_sub(&srv->metrics.busy, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ts_access_log_enabled())
		log_access(http, resp, &wall, (double)(t1.tv_sec - t0.tv_sec) +
		           (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	ts_serve_count(srv, r.route, resp->status,
	      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* verbosity 4: one line per request (the access log proper is the web
	 * server's); request text only as %s */
	if (ts_log_enabled(TS_LOG_REQUEST))
		ts_log(TS_LOG_REQUEST, "%d %s %s %.1f ms", resp->status ? resp->status : 500,
		       http->method ? http->method : "-", http->target ? http->target : "-",
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

static void handle(struct request *r)
{
	const struct ts_http_request *http = r->http;
	struct ts_arena *a = r->arena;
	struct ts_response *resp = r->resp;
	const char *target = http->target ? http->target : "/";
	const char *q = strchr(target, '?');
	ts_status st;

	ts_error_clear(&r->err);
	r->path = q ? ts_arena_strndup(a, target, (size_t)(q - target)) : target;
	r->query = q ? q + 1 : NULL;
	if (!r->path || r->path[0] != '/') {
		ts_error_set(&r->err, TS_EBADREQUEST, "malformed request target");
		respond_error(r);
		return;
	}
	if (strcmp(http->method, "OPTIONS") == 0) {
		/* CORS preflight (Fetch standard) on every route; with cors
		 * empty, no CORS header at all. */
		const char *cors = r->srv->settings->cors;

		resp->status = 204;
		if (cors && *cors) {
			ts_serve_header(r, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
			if (http->ac_request_headers && token_list_is_sane(http->ac_request_headers))
				ts_serve_header(r, "Access-Control-Allow-Headers",
				                http->ac_request_headers);
			ts_serve_header(r, "Access-Control-Max-Age", "86400");
		}
		ts_serve_header(r, "Allow", "GET, HEAD, OPTIONS");
		finish(r);
		return;
	}
	if (strcmp(http->method, "GET") != 0 && strcmp(http->method, "HEAD") != 0) {
		ts_error_set(&r->err, TS_EMETHOD, "method not allowed");
		respond_error(r);
		return;
	}
	st = route(r);
	if (st) {
		respond_error(r);
		return;
	}
	finish(r);
}
