/*
 * server.c - one request end to end: route, parse, resolve, plan, decode,
 * pipe, encode, respond.
 *
 * Front ends hand us a struct ts_http_request and get back a complete
 * struct ts_response; nothing is written until the whole body exists, so a
 * failure anywhere becomes a proper error status, never a truncated 200.
 * This is the only place that turns a ts_status into an HTTP answer and logs
 * it.  Every response, errors and redirects included, leaves through
 * finish(), which adds the CORS headers.
 *
 * Thread-safe: the server struct is read-only after creation; sources are
 * opened per request.
 */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tessera/arena.h"
#include "tessera/cache.h"
#include "tessera/pool.h"
#include "tessera/command.h"
#include "tessera/encoder.h"
#include "tessera/info.h"
#include "tessera/log.h"
#include "tessera/passthrough.h"
#include "tessera/pipe.h"
#include "tessera/plan.h"
#include "tessera/resolve.h"
#include "tessera/server.h"
#include "tessera/source.h"

/* Prometheus counters: requests by route and status, a latency histogram. */
enum route_id { R_IIIF_IMAGE, R_IIIF_INFO, R_IIIF_BASE, R_VIEWER, R_HEALTH, R_METRICS,
                R_OTHER, R_COUNT };
static const char *const route_names[R_COUNT] = {
	"iiif_image", "iiif_info", "iiif_base", "viewer", "health", "metrics", "other"
};
static const int status_codes[] = { 200, 204, 303, 304, 400, 403, 404, 405, 500, 501, 503 };
#define NSTATUS ((int)(sizeof status_codes / sizeof status_codes[0]) + 1)
static const double latency_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25, 0.5, 1, 2.5, 5 };
#define NBUCKETS ((int)(sizeof latency_bounds / sizeof latency_bounds[0]) + 1)

struct metrics {
	atomic_uint_fast64_t requests[R_COUNT][NSTATUS];
	atomic_uint_fast64_t latency[NBUCKETS];
	atomic_uint_fast64_t latency_sum_us;
	atomic_int busy;
};

struct ts_server {
	const struct ts_settings *settings;
	struct ts_resolver *resolver;
	struct ts_limits limits;
	struct ts_source_limits source_limits;
	struct ts_encode_opts encode;
	bool formats[8];
	char viewer_dir[PATH_MAX];   /* realpath, or "" when there is no viewer */
	struct ts_cache *cache;      /* encoded responses */
	struct ts_source_pool *pool; /* opened images */
	struct metrics metrics;
};

/* One request in flight: what every helper below needs. */
struct request {
	struct ts_server *srv;
	const struct ts_http_request *http;
	struct ts_arena *arena;
	struct ts_response *resp;
	const char *path;            /* raw path, no query */
	const char *query;           /* raw query without '?', or NULL */
	enum route_id route;
	struct ts_error err;
};

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
	if (!s->root || !*s->root) {
		ts_error_set(err, TS_EINTERNAL,
		             "no image root configured: set root (--root, FILESYSTEM_PREFIX)");
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
	srv->encode.jpeg_quality = s->jpeg_quality;
	srv->encode.webp_quality = s->webp_quality;
	srv->encode.png_level = s->png_level;
	for (f = 0; f < 8; f++)
		srv->formats[f] = ts_encode_supported((enum ts_format)f);
	if (s->viewer_dir && *s->viewer_dir && !realpath(s->viewer_dir, srv->viewer_dir))
		srv->viewer_dir[0] = '\0';
	srv->cache = ts_cache_create((size_t)s->cache_size_mb << 20);
	srv->pool = ts_source_pool_create(64, &srv->source_limits);
	if (!srv->cache || !srv->pool) {
		ts_error_set(err, TS_EINTERNAL, "out of memory");
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
	ts_resolver_destroy(srv->resolver);
	ts_cache_destroy(srv->cache);
	ts_source_pool_destroy(srv->pool);
	free(srv);
}

/* ---- small helpers ---------------------------------------------------- */

static void header(struct request *r, const char *name, const char *value)
{
	ts_response_header(r->resp, name, value);
}

static bool set_body(struct request *r, const void *data, size_t n)
{
	ts_buf_clear(&r->resp->body);
	return ts_buf_append(&r->resp->body, data, n);
}

static void http_date(time_t t, char *out, size_t n)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static bool parse_http_date(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof tm);
	/* RFC 9110 §5.6.7: IMF-fixdate is the one senders use. */
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return false;
	*out = timegm(&tm);
	return *out != (time_t)-1;
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
 * (field notes), errors and redirects included. */
static void finish(struct request *r)
{
	const char *cors = r->srv->settings->cors;

	if (cors && *cors) {
		header(r, "Access-Control-Allow-Origin", cors);
		if (strcmp(cors, "*") != 0)
			header(r, "Vary", "Origin");
		header(r, "Access-Control-Expose-Headers", "Link, ETag, Last-Modified, Content-Length");
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
	resp->status = status;
	resp->nheaders = 0;
	resp->content_type = "text/plain; charset=utf-8";
	ts_buf_clear(&resp->body);
	ts_buf_printf(&resp->body, "%d %s: ", status, ts_status_reason(status));
	append_safe(&resp->body, r->err.msg[0] ? r->err.msg : ts_status_reason(status));
	ts_buf_append_str(&resp->body, "\n");
	header(r, "Cache-Control", "no-store");
	if (status == TS_EMETHOD)
		header(r, "Allow", "GET, HEAD, OPTIONS");
	/* The log gets the private detail; request text only ever as %s. */
	ts_log(status >= 500 ? TS_LOG_ERROR : TS_LOG_INFO, "%d %s %s: %s%s%s", status,
	       r->http->method, r->path, r->err.msg, r->err.detail[0] ? " | " : "",
	       r->err.detail);
	finish(r);
}

/* ---- base URL ---------------------------------------------------------- */

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

static bool host_is_sane(const char *h)
{
	if (!h || !*h || strlen(h) > 255)
		return false;
	for (; *h; h++) {
		unsigned char c = (unsigned char)*h;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'))
			return false;
	}
	return true;
}

/*
 * The public URL prefix in front of the request path: the configured
 * base_url, or scheme://host from the request.  X-Forwarded-* only count
 * when trust_forwarded is on; a Host that is not a plain host[:port] is
 * ignored, so no header can break the JSON or the Location (field notes).
 */
static const char *public_base(struct request *r)
{
	const struct ts_settings *s = r->srv->settings;
	const char *scheme = r->http->scheme ? r->http->scheme : "http";
	const char *host = r->http->host;

	if (s->base_url && *s->base_url)
		return s->base_url;
	if (s->trust_forwarded) {
		const char *fh = r->http->x_forwarded_host;
		const char *fp = r->http->x_forwarded_proto;
		if (fh && *fh) {
			const char *comma = strchr(fh, ',');
			char *first = ts_arena_strndup(r->arena, fh, comma ? (size_t)(comma - fh) : strlen(fh));
			if (first && host_is_sane(first))
				host = first;
		}
		if (fp && (strcmp(fp, "https") == 0 || strcmp(fp, "http") == 0))
			scheme = fp;
	}
	if (!host_is_sane(host))
		host = "localhost";
	return ts_arena_printf(r->arena, "%s://%s", scheme, host);
}

/* ---- IIIF ------------------------------------------------------------- */

struct file_id {
	char path[PATH_MAX];
	struct stat st;
};

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* A strong ETag: the file's identity (device, inode, size, mtime) and what
 * was asked of it, so a replaced file or another rendering never shares a
 * tag. */
static const char *make_etag(struct request *r, const struct file_id *f, const char *what)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint64_t parts[5] = {
		(uint64_t)f->st.st_dev, (uint64_t)f->st.st_ino, (uint64_t)f->st.st_size,
		(uint64_t)f->st.st_mtim.tv_sec, (uint64_t)f->st.st_mtim.tv_nsec
	};

	h = fnv1a(h, parts, sizeof parts);
	h = fnv1a(h, what, strlen(what));
	return ts_arena_printf(r->arena, "\"%016llx\"", (unsigned long long)h);
}

/* RFC 9110 §13.1.2: If-None-Match uses weak comparison. */
static bool etag_matches(const char *inm, const char *etag)
{
	const char *p = inm;
	size_t elen = strlen(etag);

	while (p && *p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, elen) == 0)
			return true;
		p = strchr(p, ',');
	}
	return false;
}

/* Validators and conditional GET.  Returns true when a 304 was produced. */
static bool conditional(struct request *r, const struct file_id *f, const char *etag)
{
	const struct ts_http_request *h = r->http;
	char *lm = ts_arena_alloc(r->arena, 40);
	bool not_modified = false;
	time_t since;

	if (lm)
		http_date(f->st.st_mtim.tv_sec, lm, 40);
	header(r, "ETag", etag);
	header(r, "Last-Modified", lm);
	header(r, "Cache-Control", r->srv->settings->cache_control);
	/* RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it.
	 * "Not modified since" means mtime <= the given date, not equality. */
	if (h->if_none_match && *h->if_none_match)
		not_modified = etag_matches(h->if_none_match, etag);
	else if (h->if_modified_since && parse_http_date(h->if_modified_since, &since))
		not_modified = f->st.st_mtim.tv_sec <= since;
	if (not_modified) {
		r->resp->status = 304;
		r->resp->content_type = NULL;
		ts_buf_clear(&r->resp->body);
	}
	return not_modified;
}

static ts_status open_image(struct request *r, const char *identifier, struct file_id *f,
                            struct ts_source **src)
{
	ts_status st;

	st = ts_resolve(r->srv->resolver, identifier, f->path, sizeof f->path, &f->st, &r->err);
	if (st)
		return st;
	return ts_source_pool_get(r->srv->pool, f->path, &f->st, src, &r->err);
}

static void close_image(struct request *r, const struct file_id *f, struct ts_source *src)
{
	ts_source_pool_release(r->srv->pool, &f->st, src);
}

/* Cache key: the file identity, then what was asked of it. */
static const char *cache_key(struct request *r, const struct file_id *f, const char *what)
{
	return ts_arena_printf(r->arena, "%llu:%llu:%lld:%lld.%09ld|%s",
	                       (unsigned long long)f->st.st_dev, (unsigned long long)f->st.st_ino,
	                       (long long)f->st.st_size, (long long)f->st.st_mtim.tv_sec,
	                       f->st.st_mtim.tv_nsec, what);
}

/* Serve from the response cache when the entry exists. */
static bool from_cache(struct request *r, const char *key)
{
	const struct ts_cache_entry *e = ts_cache_get(r->srv->cache, key);
	bool ok;

	if (!e)
		return false;
	/* The copy happens outside the cache's lock; our reference keeps the
	 * bytes alive even if the entry is evicted meanwhile. */
	ok = set_body(r, e->data, e->len);
	if (ok) {
		r->resp->status = 200;
		r->resp->content_type = e->content_type;
	}
	ts_cache_release(r->srv->cache, e);
	return ok;
}

/* "/iiif/3/abc" -> the id URL: the public base followed by the request path
 * up to and including the raw identifier, character for character. */
static const char *service_id(struct request *r, const struct ts_iiif_request *iq)
{
	const char *p = strstr(r->path, iq->identifier_raw);

	/* The parser found identifier_raw as a whole segment after /iiif[/v]. */
	if (!p)
		return NULL;
	return ts_arena_printf(r->arena, "%s%.*s", public_base(r),
	                       (int)(p - r->path + strlen(iq->identifier_raw)), r->path);
}

static bool accepts_ld_json(const char *accept)
{
	return accept && strstr(accept, "application/ld+json") != NULL;
}

static ts_status iiif_info(struct request *r, const struct ts_iiif_request *iq)
{
	struct ts_server *srv = r->srv;
	struct ts_source *src = NULL;
	struct ts_info_params p;
	struct file_id f;
	const char *id, *etag, *what, *key;
	ts_status st;
	bool ld = accepts_ld_json(r->http->accept);

	id = service_id(r, iq);
	if (!id)
		return ts_error_set(&r->err, TS_ENOTFOUND, "no such route");
	st = open_image(r, iq->identifier, &f, &src);
	if (st)
		goto fail;
	what = ts_arena_printf(r->arena, "info|%d|%d|%s", iq->version, ld, id);
	etag = make_etag(r, &f, what);
	header(r, "Vary", "Accept");
	if (conditional(r, &f, etag))
		goto done;
	key = cache_key(r, &f, what);
	if (from_cache(r, key))
		goto done;
	memset(&p, 0, sizeof p);
	p.version = iq->version;
	p.id = id;
	p.src = &src->info;
	p.limits = &srv->limits;
	p.rights = srv->settings->rights;
	memcpy(p.formats, srv->formats, sizeof p.formats);
	st = ts_info_format(&p, &r->resp->body, &r->err);
	if (st)
		goto fail;
	r->resp->status = 200;
	/* 3.0 §5 / 2.1 §5: JSON-LD media type with the context as profile when
	 * asked for; plain JSON otherwise (viewers send Accept: * / *). */
	if (ld)
		r->resp->content_type = iq->version == 3
			? "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\""
			: "application/ld+json;profile=\"http://iiif.io/api/image/2/context.json\"";
	else
		r->resp->content_type = "application/json";
	ts_cache_put(srv->cache, key, r->resp->body.data, r->resp->body.len,
	             r->resp->content_type);
done:
	close_image(r, &f, src);
	return TS_OK;
fail:
	close_image(r, &f, src);
	return st;
}

/* Decode, shape and encode the planned image into out. */
static ts_status render(struct request *r, struct ts_source *src, const struct ts_plan *plan,
                        struct ts_buf *out)
{
	struct ts_image img = { 0 }, tmp = { 0 };
	bool alpha_bg;
	ts_status st;

	st = ts_source_read_region(src, plan->level, plan->read_x, plan->read_y, plan->read_w,
	                           plan->read_h, r->srv->settings->max_decode_pixels, &img,
	                           &r->err);
	if (st)
		goto fail;
	if (plan->crop_x != 0 || plan->crop_y != 0 || plan->crop_w != img.width ||
	    plan->crop_h != img.height || plan->out_w != img.width || plan->out_h != img.height) {
		st = ts_pipe_scale(&img, plan->crop_x, plan->crop_y, plan->crop_w, plan->crop_h,
		                   plan->out_w, plan->out_h, &tmp, &r->err);
		if (st)
			goto fail;
		ts_image_move(&img, &tmp);
	}
	/* 3.0 §4.3: mirroring happens before rotation. */
	if (plan->mirror)
		ts_pipe_mirror(&img);
	if (plan->degrees != 0 && plan->degrees != 360) {
		alpha_bg = plan->format == TS_FORMAT_PNG || plan->format == TS_FORMAT_WEBP ||
		           plan->format == TS_FORMAT_TIF;
		st = ts_pipe_rotate(&img, plan->degrees, plan->final_w, plan->final_h, alpha_bg,
		                    &tmp, &r->err);
		if (st)
			goto fail;
		ts_image_move(&img, &tmp);
	}
	/* 3.0 §4.4: quality applies to the rotated image. */
	st = ts_pipe_quality(&img, plan->quality, &r->err);
	if (st)
		goto fail;
	st = ts_encode(&img, plan->format, &r->srv->encode, out, &r->err);
fail:
	ts_image_free(&img);
	ts_image_free(&tmp);
	return st;
}

/*
 * Pass-through: when the plan is exactly one stored JPEG tile at its own
 * size (no scaling, rotation or mirroring; quality default/color, or gray
 * of a YCbCr tile), answer with the stored bytes, tables merged and edge
 * padding cut losslessly.  Returns 501 when the tile does not qualify, so
 * the caller decodes instead.
 */
static ts_status stored_tile(struct request *r, struct ts_source *src, const struct ts_plan *p,
                             struct ts_buf *out)
{
	const struct ts_source_level *lv = &src->info.levels[p->level];
	struct ts_raw_tile raw = { 0 };
	bool gray = p->quality == TS_QUALITY_GRAY;
	ts_status st;

	if (!r->srv->settings->passthrough || p->format != TS_FORMAT_JPG || p->mirror ||
	    (p->degrees != 0 && p->degrees != 360) || p->quality == TS_QUALITY_BITONAL ||
	    lv->tile_w == 0 || lv->tile_h == 0 || !src->ops->raw_tile)
		return TS_ENOTIMPL;
	if (p->read_x % lv->tile_w || p->read_y % lv->tile_h ||
	    p->read_w != (lv->width - p->read_x < lv->tile_w ? lv->width - p->read_x : lv->tile_w) ||
	    p->read_h != (lv->height - p->read_y < lv->tile_h ? lv->height - p->read_y : lv->tile_h) ||
	    p->crop_x != 0 || p->crop_y != 0 || p->crop_w != p->read_w || p->crop_h != p->read_h ||
	    p->out_w != p->read_w || p->out_h != p->read_h)
		return TS_ENOTIMPL;
	st = ts_source_raw_tile(src, p->level, p->read_x / lv->tile_w, p->read_y / lv->tile_h,
	                        16u << 20, &raw, &r->err);
	if (st == TS_ENOTIMPL) {
		ts_error_clear(&r->err);
		return st;
	}
	if (st == TS_OK) {
		st = ts_jpeg_passthrough(raw.tables, raw.tables_len, raw.data, raw.len, raw.rgb,
		                         p->read_w, p->read_h, gray && !raw.gray, out, &r->err);
		if (st == TS_ENOTIMPL)
			ts_error_clear(&r->err);
	}
	ts_raw_tile_free(&raw);
	return st;
}

static ts_status iiif_image(struct request *r, const struct ts_iiif_request *iq)
{
	struct ts_source *src = NULL;
	struct ts_geometry g;
	struct ts_plan plan;
	struct file_id f;
	const char *id, *etag, *link, *what, *key;
	ts_status st;

	if (!r->srv->formats[iq->cmd.format])
		return ts_error_set(&r->err, TS_ENOTIMPL, "format %s is not implemented",
		                    ts_format_ext(iq->cmd.format));
	id = service_id(r, iq);
	if (!id)
		return ts_error_set(&r->err, TS_ENOTFOUND, "no such route");
	st = open_image(r, iq->identifier, &f, &src);
	if (st)
		goto fail;
	ts_source_geometry(src, &g);
	st = ts_plan_make(&iq->cmd, &g, &r->srv->limits, &plan, &r->err);
	if (st)
		goto fail;

	/* 3.0 §6.1 / 2.1 §6.1: profile and canonical Link headers. */
	link = ts_arena_printf(r->arena,
	                       "<http://iiif.io/api/image/%d/level2.json>;rel=\"profile\", "
	                       "<%s/%s>;rel=\"canonical\"", iq->version, id, plan.canonical);
	header(r, "Link", link);
	what = ts_arena_printf(r->arena, "img|%d|%s", iq->version, plan.canonical);
	etag = make_etag(r, &f, what);
	if (conditional(r, &f, etag))
		goto done;
	key = cache_key(r, &f, what);
	if (from_cache(r, key))
		goto done;
	st = stored_tile(r, src, &plan, &r->resp->body);
	if (st == TS_ENOTIMPL)
		st = render(r, src, &plan, &r->resp->body);
	if (st)
		goto fail;
	r->resp->status = 200;
	r->resp->content_type = ts_format_mime(plan.format);
	ts_cache_put(r->srv->cache, key, r->resp->body.data, r->resp->body.len,
	             r->resp->content_type);
done:
	close_image(r, &f, src);
	return TS_OK;
fail:
	close_image(r, &f, src);
	return st;
}

static ts_status route_iiif(struct request *r, const char *rest)
{
	struct ts_iiif_request iq;
	const char *loc;
	ts_status st;

	memset(&iq, 0, sizeof iq);
	st = ts_iiif_parse(rest, r->srv->settings->default_version, r->arena, &iq, &r->err);
	if (st)
		return st;
	r->route = iq.route == TS_IIIF_BASE ? R_IIIF_BASE
	         : iq.route == TS_IIIF_INFO ? R_IIIF_INFO : R_IIIF_IMAGE;
	switch (iq.route) {
	case TS_IIIF_BASE:
		/* 3.0 §2.1: the base URI redirects to the image information. */
		loc = service_id(r, &iq);
		if (!loc)
			return ts_error_set(&r->err, TS_ENOTFOUND, "no such route");
		r->resp->status = 303;
		header(r, "Location", ts_arena_printf(r->arena, "%s/info.json", loc));
		return TS_OK;
	case TS_IIIF_INFO:
		return iiif_info(r, &iq);
	case TS_IIIF_IMAGE:
		return iiif_image(r, &iq);
	}
	return ts_error_set(&r->err, TS_ENOTFOUND, "no such route");
}

/* ---- viewer and small routes --------------------------------------------- */

static const char *mime_for(const char *name)
{
	static const struct { const char *ext, *mime; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript" },
		{ ".css", "text/css" }, { ".png", "image/png" }, { ".svg", "image/svg+xml" },
		{ ".json", "application/json" }, { ".jpg", "image/jpeg" }, { ".map", "application/json" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].mime;
	return "application/octet-stream";
}

/* Serve a file of the viewer directory; rel is raw (still percent-encoded). */
static ts_status viewer_file(struct request *r, const char *rel)
{
	char *dec, full[PATH_MAX], real[PATH_MAX];
	size_t rootlen = strlen(r->srv->viewer_dir);
	struct stat st;
	ts_status status = TS_ENOTFOUND;
	int fd = -1;
	ssize_t n;

	if (!r->srv->viewer_dir[0])
		return ts_error_set(&r->err, TS_ENOTFOUND, "no viewer installed");
	dec = ts_arena_alloc(r->arena, strlen(rel) + 1);
	if (!dec || !ts_percent_decode(rel, dec) || strstr(dec, ".."))
		return ts_error_set(&r->err, TS_ENOTFOUND, "not found");
	if ((size_t)snprintf(full, sizeof full, "%s/%s", r->srv->viewer_dir, dec) >= sizeof full ||
	    !realpath(full, real) || strncmp(real, r->srv->viewer_dir, rootlen) != 0 ||
	    real[rootlen] != '/')
		return ts_error_set(&r->err, TS_ENOTFOUND, "not found");
	fd = open(real, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 16 << 20) {
		ts_error_set(&r->err, TS_ENOTFOUND, "not found");
		goto fail;
	}
	if (!ts_buf_reserve(&r->resp->body, (size_t)st.st_size)) {
		status = ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	while (r->resp->body.len < (size_t)st.st_size) {
		n = read(fd, r->resp->body.data + r->resp->body.len,
		         (size_t)st.st_size - r->resp->body.len);
		if (n <= 0) {
			status = ts_error_set(&r->err, TS_EINTERNAL, "cannot read viewer file");
			goto fail;
		}
		r->resp->body.len += (size_t)n;
	}
	close(fd);
	r->resp->status = 200;
	r->resp->content_type = mime_for(real);
	header(r, "Cache-Control", "max-age=300");
	return TS_OK;
fail:
	if (fd >= 0)
		close(fd);
	return status;
}

static void metrics_text(struct request *r)
{
	struct ts_server *srv = r->srv;
	struct ts_buf *b = &r->resp->body;
	struct ts_cache_stats cs;
	uint64_t cum = 0;
	int i, j;

	ts_buf_append_str(b, "# HELP tessera_requests_total Requests answered, by route and status.\n"
	                     "# TYPE tessera_requests_total counter\n");
	for (i = 0; i < R_COUNT; i++)
		for (j = 0; j < NSTATUS; j++) {
			uint64_t n = atomic_load(&srv->metrics.requests[i][j]);
			if (!n)
				continue;
			if (j < NSTATUS - 1)
				ts_buf_printf(b, "tessera_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
				              route_names[i], status_codes[j], (unsigned long long)n);
			else
				ts_buf_printf(b, "tessera_requests_total{route=\"%s\",status=\"other\"} %llu\n",
				              route_names[i], (unsigned long long)n);
		}
	ts_buf_append_str(b, "# HELP tessera_request_duration_seconds Time to produce a response.\n"
	                     "# TYPE tessera_request_duration_seconds histogram\n");
	for (i = 0; i < NBUCKETS; i++) {
		cum += atomic_load(&srv->metrics.latency[i]);
		if (i < NBUCKETS - 1)
			ts_buf_printf(b, "tessera_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			              latency_bounds[i], (unsigned long long)cum);
		else
			ts_buf_printf(b, "tessera_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			              (unsigned long long)cum);
	}
	ts_buf_printf(b, "tessera_request_duration_seconds_sum %.6f\n"
	                 "tessera_request_duration_seconds_count %llu\n",
	              atomic_load(&srv->metrics.latency_sum_us) / 1e6, (unsigned long long)cum);
	ts_cache_stats(srv->cache, &cs);
	ts_buf_printf(b, "# TYPE tessera_cache_hits_total counter\ntessera_cache_hits_total %llu\n"
	                 "# TYPE tessera_cache_misses_total counter\ntessera_cache_misses_total %llu\n"
	                 "# TYPE tessera_cache_evictions_total counter\ntessera_cache_evictions_total %llu\n"
	                 "# TYPE tessera_cache_bytes gauge\ntessera_cache_bytes %llu\n"
	                 "# TYPE tessera_cache_entries gauge\ntessera_cache_entries %llu\n"
	                 "# TYPE tessera_cache_budget_bytes gauge\ntessera_cache_budget_bytes %llu\n",
	              (unsigned long long)cs.hits, (unsigned long long)cs.misses,
	              (unsigned long long)cs.evictions, (unsigned long long)cs.bytes,
	              (unsigned long long)cs.entries, (unsigned long long)cs.budget);
	ts_buf_printf(b, "# TYPE tessera_open_images gauge\ntessera_open_images %d\n"
	                 "# TYPE tessera_workers_busy gauge\ntessera_workers_busy %d\n",
	              ts_source_pool_open_count(srv->pool), atomic_load(&srv->metrics.busy));
}

static ts_status route(struct request *r)
{
	const char *p = r->path;

	if (strncmp(p, "/iiif/", 6) == 0) {
		r->route = R_IIIF_IMAGE;   /* refined by route_iiif */
		return route_iiif(r, p + 5);
	}
	if (strcmp(p, "/metrics") == 0) {
		r->route = R_METRICS;
		metrics_text(r);
		r->resp->status = 200;
		r->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		header(r, "Cache-Control", "no-store");
		return TS_OK;
	}
	if (strcmp(p, "/health") == 0) {
		r->route = R_HEALTH;
		r->resp->status = 200;
		r->resp->content_type = "text/plain; charset=utf-8";
		set_body(r, "ok\n", 3);
		header(r, "Cache-Control", "no-store");
		return TS_OK;
	}
	if (strcmp(p, "/images.json") == 0) {
		ts_status st = ts_resolver_list(r->srv->resolver, &r->resp->body, &r->err);
		if (st)
			return st;
		r->resp->status = 200;
		r->resp->content_type = "application/json";
		header(r, "Cache-Control", "no-store");
		return TS_OK;
	}
	r->route = R_VIEWER;
	if (strcmp(p, "/") == 0 || strcmp(p, "/index.html") == 0)
		return viewer_file(r, "index.html");
	if (strncmp(p, "/viewer/", 8) == 0)
		return viewer_file(r, p + 8);
	r->route = R_OTHER;
	return ts_error_set(&r->err, TS_ENOTFOUND, "no such route");
}

static void handle(struct request *r);

static void count(struct ts_server *srv, enum route_id route, int status, double seconds)
{
	int j, b;

	for (j = 0; j < NSTATUS - 1 && status_codes[j] != status; j++)
		;
	atomic_fetch_add(&srv->metrics.requests[route][j], 1);
	for (b = 0; b < NBUCKETS - 1 && seconds > latency_bounds[b]; b++)
		;
	atomic_fetch_add(&srv->metrics.latency[b], 1);
	atomic_fetch_add(&srv->metrics.latency_sum_us, (uint64_t)(seconds * 1e6));
}

void ts_server_handle(struct ts_server *srv, const struct ts_http_request *http,
                      struct ts_arena *a, struct ts_response *resp)
{
	struct timespec t0, t1;
	struct request r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_fetch_add(&srv->metrics.busy, 1);
	memset(&r, 0, sizeof r);
	r.srv = srv;
	r.http = http;
	r.arena = a;
	r.resp = resp;
	r.route = R_OTHER;
	handle(&r);
	atomic_fetch_sub(&srv->metrics.busy, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	count(srv, r.route, resp->status,
	      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
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
		/* CORS preflight (Fetch standard) on every route. */
		resp->status = 204;
		header(r, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
		if (http->ac_request_headers && token_list_is_sane(http->ac_request_headers))
			header(r, "Access-Control-Allow-Headers", http->ac_request_headers);
		header(r, "Access-Control-Max-Age", "86400");
		header(r, "Allow", "GET, HEAD, OPTIONS");
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
