/*
 * present.c - the Presentation API routes (URLS.md): Manifests,
 * Collections, their single resources, and the 303 from an item folder's
 * base URL.  The JSON comes from src/present/; this file adds what HTTP
 * needs around it: the context (the probes themselves live in
 * src/present/probe_source.c, shared with `tessera manifest`), validators,
 * the response cache, gzip.
 *
 * The one idea for freshness: the cache key and the ETag are made from the
 * fingerprint of the folders the answer depends on (names, sizes, mtimes,
 * sidecar bytes), so a file changed on disk shows in the very next answer
 * while an unchanged item costs a cache lookup, never a rebuild.  The
 * fingerprint itself is kept in the folder watch (dir_watch.h) while
 * inotify reports no change in the folders it was read from - the root,
 * every folder down to the item, and a collection's members - so an
 * unchanged answer is not even a readdir; without inotify it is computed
 * on every request.  Probe results are kept per file identity in the
 * probe cache, so a rebuild after one page changed re-reads only that page.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "serve.h"
#include "tessera/hash.h"
#include "tessera/present.h"
#include "tessera/present_url.h"

static const char *const CT3 =
	"application/ld+json;profile=\"http://iiif.io/api/presentation/3/context.json\"";
/* Presentation 2.1 §7.3 (Responses): application/json with the context in
 * a Link header, unless the client asks for JSON-LD. */
static const char *const CT2 = "application/json";
static const char *const CT2LD =
	"application/ld+json;profile=\"http://iiif.io/api/presentation/2/context.json\"";
static const char *const LINK2 =
	"<http://iiif.io/api/presentation/2/context.json>"
	";rel=\"http://www.w3.org/ns/json-ld#context\";type=\"application/ld+json\"";

/* Whether Accept names application/ld+json (with a q above 0). */
static bool accepts_ld(const char *accept)
{
	for (const char *p = accept ? strcasestr(accept, "application/ld+json") : NULL; p;
	     p = strcasestr(p + 1, "application/ld+json")) {
		const char *end = strchr(p, ','), *q = strstr(p, "q=");

		if (!q || (end && q > end) || strtod(q + 2, NULL) > 0.0)
			return true;
	}
	return false;
}

/* The context of one request; the probes (probe_source.c, shared with
 * `tessera manifest`) measure through the server's resolver, limits and
 * probe cache. */
static void make_ctx(struct request *r, struct ts_present_probes *pp, struct ts_present_ctx *c)
{
	struct ts_server *srv = r->srv;

	ts_present_ctx_init(c, pp, srv->settings, srv->resolver, srv->root_fd,
	                    ts_serve_public_base(r), &srv->limits, srv->formats,
	                    &srv->source_limits, srv->probes);
}

/* ---- fingerprints ----------------------------------------------------- */

struct watching {
	struct ts_dir_watch *w;
	struct ts_dir_ticket t;
};

static void watch_dir(void *arg, int dir_fd, const char *name)
{
	struct watching *a = arg;

	ts_dir_watch_add(a->w, &a->t, dir_fd, name);
}

/* Watch the root and every folder on the way down to rel (rel too when it
 * is a folder), each before the fingerprint reads it: a rename or removal
 * of any of them changes what rel names. */
static void watch_path(struct watching *a, int root_fd, const char *rel)
{
	int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *p = rel;

	ts_dir_watch_add(a->w, &a->t, fd, NULL);
	while (fd >= 0 && *p && a->t.ok) {
		size_t n = strcspn(p, "/");
		char name[NAME_MAX + 1];
		int next;

		if (n == 0 || n > NAME_MAX)
			break;
		memcpy(name, p, n);
		name[n] = '\0';
		next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		if (fd < 0)
			break;   /* a file (its folder is watched), or nothing */
		ts_dir_watch_add(a->w, &a->t, fd, NULL);
		p += n;
		if (*p == '/')
			p++;
	}
	if (fd >= 0)
		close(fd);
}

/* rel's fingerprint and date (ts_present_stamp), from the folder watch
 * while nothing it was read from changed. */
static ts_status stamp(struct request *r, struct ts_present_ctx *c, const char *rel,
                       bool collection, uint64_t *fp, time_t *mtime)
{
	struct ts_dir_watch *w = r->srv->watch;
	struct ts_dir_stamp v;
	struct watching a;
	const char *key;
	ts_status s;

	if (!ts_dir_watch_active(w))
		return ts_present_stamp(c, rel, collection, fp, mtime, &r->err);
	key = ts_arena_printf(r->arena, "%c|%s", collection ? 'c' : 'm', rel);
	if (!key)
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	if (ts_dir_watch_get(w, key, &v)) {
		*fp = v.fingerprint;
		*mtime = v.mtime;
		return TS_OK;
	}
	a.w = w;
	ts_dir_watch_begin(w, &a.t);
	watch_path(&a, c->root_fd, rel);
	c->watch_dir = watch_dir;
	c->watch_arg = &a;
	s = ts_present_stamp(c, rel, collection, fp, mtime, &r->err);
	c->watch_dir = NULL;
	c->watch_arg = NULL;
	if (s == TS_OK) {
		v.fingerprint = *fp;
		v.mtime = *mtime;
		ts_dir_watch_put(w, &a.t, key, &v);
	}
	return s;
}

/* ---- gzip ------------------------------------------------------------- */

/* Whether Accept-Encoding allows gzip (RFC 9110 §12.5.3: a q of 0 refuses). */
static bool accepts_gzip(const char *ae)
{
	const char *p = ae;

	while (p && *p) {
		size_t n;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		n = strcspn(p, ",;");
		if ((n == 4 && strncasecmp(p, "gzip", 4) == 0) || (n == 1 && *p == '*')) {
			const char *q = p + n;
			while (*q == ' ')
				q++;
			if (*q == ';') {
				const char *qv = strstr(q, "q=");
				const char *end = strchr(q, ',');
				if (qv && (!end || qv < end) && strtod(qv + 2, NULL) <= 0.0)
					return false;
			}
			return true;
		}
		p = strchr(p, ',');
	}
	return false;
}

/* Replace the body with its gzip form (RFC 1952 via zlib's wrapper). */
static bool gzip_body(struct request *r)
{
	struct ts_buf *b = &r->resp->body;
	struct ts_buf out = TS_BUF_INIT;
	z_stream z;
	uLong bound;
	int rc;

	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	bound = deflateBound(&z, (uLong)b->len) + 32;
	if (!ts_buf_reserve(&out, bound)) {
		deflateEnd(&z);
		return false;
	}
	z.next_in = b->data;
	z.avail_in = (uInt)b->len;
	z.next_out = out.data;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	out.len = bound - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END || b->len > UINT32_MAX) {
		ts_buf_free(&out);
		return false;
	}
	ts_buf_free(b);
	*b = out;
	return true;
}

/* ---- answers ---------------------------------------------------------- */

/*
 * One JSON answer: validators from the fingerprint, then the response
 * cache, then build().  what names the resource (route, version, path,
 * part); the public base is part of the key since ids embed it.
 */
static ts_status answer(struct request *r, const struct ts_present_ctx *c, uint64_t fp,
                        int version, time_t mtime, const char *what,
                        ts_status (*build)(struct request *, const struct ts_present_ctx *,
                                           void *),
                        void *arg)
{
	bool gz = accepts_gzip(r->http->accept_encoding);
	bool ld = version == 2 && accepts_ld(r->http->accept);
	const char *ctype = version == 2 ? (ld ? CT2LD : CT2) : CT3;
	uint64_t h = ts_hash_fnv1a(TS_FNV1A_OFFSET, &fp, sizeof fp);
	const char *etag, *key;
	char *lm;
	ts_status s;

	/* the 2.1 media type follows Accept: a representation of its own */
	if (ld)
		what = ts_arena_printf(r->arena, "%s|ld", what);
	if (!what)
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");

	h = ts_hash_fnv1a(h, what, strlen(what) + 1);
	h = ts_hash_fnv1a(h, c->base, strlen(c->base) + 1);
	etag = ts_arena_printf(r->arena, "\"p%016llx%s\"", (unsigned long long)ts_hash_mix(h),
	                       gz ? "g" : "");
	key = ts_arena_printf(r->arena, "pres|%016llx|%s|%s|%d", (unsigned long long)fp, c->base,
	                      what, gz);
	if (!etag || !key)
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	ts_serve_header(r, "Vary", ts_serve_vary_ids(r, "Accept, Accept-Encoding"));
	ts_serve_header(r, "ETag", etag);
	ts_serve_header(r, "Cache-Control", r->srv->settings->cache_control);
	if (version == 2 && !ld)
		ts_serve_header(r, "Link", LINK2);
	lm = ts_arena_alloc(r->arena, 40);
	if (lm) {
		ts_serve_http_date(mtime, lm, 40);
		ts_serve_header(r, "Last-Modified", lm);
	}
	/* RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it */
	if (r->http->if_none_match ? ts_serve_etag_matches(r->http->if_none_match, etag)
	                           : ts_serve_not_modified_since(r->http->if_modified_since, mtime)) {
		r->resp->status = 304;
		r->resp->content_type = NULL;
		ts_buf_clear(&r->resp->body);
		return TS_OK;
	}
	if (gz)
		ts_serve_header(r, "Content-Encoding", "gzip");
	if (ts_serve_from_cache(r, key))
		return TS_OK;
	s = build(r, c, arg);
	if (s) {
		r->resp->nheaders = 0;   /* the error answer sets its own */
		return s;
	}
	r->resp->status = 200;
	r->resp->content_type = ctype;
	if (gz && !gzip_body(r)) {
		r->resp->nheaders = 0;
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	}
	ts_serve_cache_put(r, key);
	return TS_OK;
}

struct manifest_arg {
	const char *path;
	int version;
	struct ts_present_part part;
};

static ts_status build_manifest(struct request *r, const struct ts_present_ctx *c, void *arg)
{
	struct manifest_arg *m = arg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	/* a book of many pages not yet measured: on every core (up to 4)
	 * first; the build below then finds the sizes cached */
	if (cpus > 1)
		ts_present_warm(c, m->path, cpus < 4 ? (int)cpus : 4, 64);
	return ts_present_manifest(c, m->path, m->version, &m->part, &r->resp->body, &r->err);
}

static ts_status build_collection(struct request *r, const struct ts_present_ctx *c, void *arg)
{
	struct manifest_arg *m = arg;
	return ts_present_collection(c, m->path, m->version, &r->resp->body, &r->err);
}

/* The 303 of a folder's base URL; false when the id is not a folder (or a
 * loose media file) and the Image API should answer. */
static bool redirect_base(struct request *r, const struct ts_present_url *u,
                          const struct ts_present_ctx *c)
{
	const struct ts_media_type *t = ts_media_type_of(u->path);
	enum ts_present_kind k;
	int dfd;
	char v[4] = "";

	dfd = ts_catalogue_open_dir(c->root_fd, u->path);
	if (dfd >= 0)
		close(dfd);
	else if (!t || t->kind == TS_MEDIA_IMAGE)
		return false;   /* an image (or nothing): info.json as before */
	k = ts_present_kind_of(c, u->path);
	if (k == TS_PRESENT_NONE || (k == TS_PRESENT_FILE && t && t->kind == TS_MEDIA_IMAGE))
		return false;
	if (u->version_in_url)
		snprintf(v, sizeof v, "/%d", u->version);
	r->resp->status = 303;
	ts_serve_header(r, "Vary", ts_serve_vary_ids(r, "Accept"));
	ts_serve_header(r, "Location",
	                k == TS_PRESENT_COLLECTION
	                ? ts_arena_printf(r->arena, "%s/iiif%s/collection/%s", c->base, v, u->raw_id)
	                : ts_arena_printf(r->arena, "%s/iiif%s/%s/manifest", c->base, v, u->raw_id));
	return true;
}

/* ts_serve_presentation with the request's listing memo (present.h,
 * scan_memo). */
static bool serve(struct request *r, const char *rest, ts_status *st, struct ts_catalogue *memo)
{
	struct ts_present_url u;
	struct ts_present_ctx c;
	struct ts_present_probes pp;
	struct manifest_arg m;
	uint64_t fp = 0;
	time_t mtime = 0;
	const char *what;

	*st = TS_OK;
	ts_present_url_parse(rest, r->srv->settings->default_version, r->arena, &u);
	if (u.route == TS_PURL_NONE || r->srv->root_fd < 0)
		return false;
	make_ctx(r, &pp, &c);
	c.scan_memo = memo;
	if (!c.base) {
		*st = ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
		return true;
	}
	if (u.route == TS_PURL_BASE) {
		if (!redirect_base(r, &u, &c))
			return false;
		r->route = R_PRESENTATION;
		return true;
	}
	r->route = R_PRESENTATION;
	memset(&m, 0, sizeof m);
	m.path = u.path;
	m.version = u.version;
	m.part.kind = u.part_kind;
	m.part.name = u.part_name;
	if (u.route == TS_PURL_COLLECTION) {
		*st = stamp(r, &c, u.path, true, &fp, &mtime);
		if (*st)
			return true;
		what = ts_arena_printf(r->arena, "collection|%d|%s", u.version, u.path);
		*st = what ? answer(r, &c, fp, u.version, mtime, what, build_collection, &m)
		           : ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
		return true;
	}
	if (!*u.path) {
		*st = ts_error_set(&r->err, TS_ENOTFOUND, "not found");
		return true;
	}
	*st = stamp(r, &c, u.path, false, &fp, &mtime);
	if (*st)
		return true;
	what = ts_arena_printf(r->arena, "manifest|%d|%s|%s|%s", u.version, u.path,
	                       u.part_kind ? u.part_kind : "", u.part_name ? u.part_name : "");
	*st = what ? answer(r, &c, fp, u.version, mtime, what, build_manifest, &m)
	           : ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	return true;
}

bool ts_serve_presentation(struct request *r, const char *rest, ts_status *st)
{
	struct ts_catalogue memo;
	bool handled;

	memset(&memo, 0, sizeof memo);
	handled = serve(r, rest, st, &memo);
	ts_catalogue_free(&memo);
	return handled;
}
