/*
 * present.c - the Presentation API routes (URLS.md): Manifests,
 * Collections, their single resources, and the 303 from an item folder's
 * base URL.  The JSON comes from src/present/; this file adds what HTTP
 * needs around it: the probes (images through the resolver and the
 * readers, audio/video through media.h), validators, the response cache,
 * gzip.
 *
 * The one idea for freshness: the cache key and the ETag are made from the
 * fingerprint of the folders the answer depends on (names, sizes, mtimes,
 * sidecar bytes), computed by a readdir per folder on every request, so a
 * file changed on disk shows in the very next answer while an unchanged
 * item costs a readdir and a cache lookup, never a rebuild.  Probe results
 * are kept per file identity in the probe cache, so a rebuild after one
 * page changed re-reads only that page.
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
#include "tessera/probe_cache.h"

static const char *const CT3 =
	"application/ld+json;profile=\"http://iiif.io/api/presentation/3/context.json\"";

/* ---- probes ----------------------------------------------------------- */

/* The file rel as the catalogue saw it: its path under the root.  No
 * second resolution is needed - the catalogue walked to it confined
 * (O_NOFOLLOW, no hidden names, links only inside the root), and the open
 * below checks the identity (device, inode) it saw, so a file swapped
 * since is refused rather than read. */
static const char *root_path_of(struct ts_server *srv, const char *rel, char *buf, size_t n)
{
	int len = snprintf(buf, n, "%s/%s", ts_resolver_root(srv->resolver), rel);
	return len > 0 && (size_t)len < n ? buf : NULL;
}

static ts_status probe_image(void *arg, const char *rel, const struct stat *st,
                             struct ts_source_info *out, struct ts_error *err)
{
	struct ts_server *srv = arg;
	struct ts_source *src = NULL;
	char buf[PATH_MAX];
	const char *path;
	ts_status s;

	if (ts_probe_cache_get_image(srv->probes, st, out))
		return TS_OK;
	path = root_path_of(srv, rel, buf, sizeof buf);
	if (!path)
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	s = ts_source_open_as(path, st, &srv->source_limits, &src, err);
	if (s)
		return s;
	*out = src->info;
	out->icc = NULL;
	out->icc_len = 0;
	ts_source_close(src);
	ts_probe_cache_put_image(srv->probes, st, out);
	return TS_OK;
}

static ts_status probe_media(void *arg, const char *rel, const struct stat *st,
                             const char *mime, struct ts_media_info *out, struct ts_error *err)
{
	struct ts_server *srv = arg;
	char buf[PATH_MAX];
	const char *path;
	struct stat fst;
	ts_status s;
	int fd;

	if (ts_probe_cache_get_media(srv->probes, st, out))
		return TS_OK;
	path = root_path_of(srv, rel, buf, sizeof buf);
	fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) : -1;
	if (fd < 0)
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode) || fst.st_dev != st->st_dev ||
	    fst.st_ino != st->st_ino) {
		close(fd);
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	}
	s = ts_media_probe_fd(fd, (uint64_t)fst.st_size, mime, out, err);
	close(fd);
	if (s == TS_OK)
		ts_probe_cache_put_media(srv->probes, &fst, out);
	return s;
}

static void make_ctx(struct request *r, struct ts_present_ctx *c)
{
	struct ts_server *srv = r->srv;

	memset(c, 0, sizeof *c);
	c->root_fd = srv->root_fd;
	c->root_path = ts_resolver_root(srv->resolver);
	c->base = ts_serve_public_base(r);
	c->limits = &srv->limits;
	memcpy(c->formats, srv->formats, sizeof c->formats);
	c->image_service2 = true;
	c->probe_image = probe_image;
	c->probe_media = probe_media;
	c->probe_arg = srv;
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

static bool etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);

	for (const char *p = inm; p && *p; p = strchr(p, ',')) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, elen) == 0)
			return true;
	}
	return false;
}

/* If-Modified-Since (IMF-fixdate, RFC 9110 §5.6.7): not modified when the
 * newest file is no newer than the date. */
static bool not_modified_since(const char *ims, time_t mtime)
{
	struct tm tm;
	const char *end;
	time_t since;

	if (!ims || !*ims)
		return false;
	memset(&tm, 0, sizeof tm);
	end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return false;
	since = timegm(&tm);
	return since != (time_t)-1 && mtime <= since;
}

/*
 * One JSON answer: validators from the fingerprint, then the response
 * cache, then build().  what names the resource (route, version, path,
 * part); the public base is part of the key since ids embed it.
 */
static ts_status answer(struct request *r, const struct ts_present_ctx *c, uint64_t fp,
                        time_t mtime, const char *what,
                        ts_status (*build)(struct request *, const struct ts_present_ctx *,
                                           void *),
                        void *arg)
{
	bool gz = accepts_gzip(r->http->accept_encoding);
	uint64_t h = ts_hash_fnv1a(TS_FNV1A_OFFSET, &fp, sizeof fp);
	const char *etag, *key;
	char *lm;
	ts_status s;

	h = ts_hash_fnv1a(h, what, strlen(what) + 1);
	h = ts_hash_fnv1a(h, c->base, strlen(c->base) + 1);
	etag = ts_arena_printf(r->arena, "\"p%016llx%s\"", (unsigned long long)ts_hash_mix(h),
	                       gz ? "g" : "");
	key = ts_arena_printf(r->arena, "pres|%016llx|%s|%s|%d", (unsigned long long)fp, c->base,
	                      what, gz);
	if (!etag || !key)
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	ts_serve_header(r, "Vary", "Accept, Accept-Encoding");
	ts_serve_header(r, "ETag", etag);
	ts_serve_header(r, "Cache-Control", r->srv->settings->cache_control);
	lm = ts_arena_alloc(r->arena, 40);
	if (lm) {
		struct tm tm;
		gmtime_r(&mtime, &tm);
		strftime(lm, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		ts_serve_header(r, "Last-Modified", lm);
	}
	/* RFC 9110 §13.2.2: If-None-Match wins; If-Modified-Since only without it */
	if (r->http->if_none_match ? etag_matches(r->http->if_none_match, etag)
	                           : not_modified_since(r->http->if_modified_since, mtime)) {
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
	r->resp->content_type = CT3;
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
	ts_serve_header(r, "Location",
	                k == TS_PRESENT_COLLECTION
	                ? ts_arena_printf(r->arena, "%s/iiif%s/collection/%s", c->base, v, u->raw_id)
	                : ts_arena_printf(r->arena, "%s/iiif%s/%s/manifest", c->base, v, u->raw_id));
	return true;
}

bool ts_serve_presentation(struct request *r, const char *rest, ts_status *st)
{
	struct ts_present_url u;
	struct ts_present_ctx c;
	struct manifest_arg m;
	uint64_t fp = 0;
	time_t mtime = 0;
	const char *what;

	*st = TS_OK;
	ts_present_url_parse(rest, r->srv->settings->default_version, r->arena, &u);
	if (u.route == TS_PURL_NONE || r->srv->root_fd < 0)
		return false;
	make_ctx(r, &c);
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
	if (u.version != 3) {
		/* manifest2.c (Presentation 2.1) slots in here */
		*st = ts_error_set(&r->err, TS_ENOTIMPL, "Presentation 2.1 is not implemented yet");
		return true;
	}
	if (u.route == TS_PURL_COLLECTION) {
		*st = ts_present_stamp(&c, u.path, true, &fp, &mtime, &r->err);
		if (*st)
			return true;
		what = ts_arena_printf(r->arena, "collection|%d|%s", u.version, u.path);
		*st = what ? answer(r, &c, fp, mtime, what, build_collection, &m)
		           : ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
		return true;
	}
	if (!*u.path) {
		*st = ts_error_set(&r->err, TS_ENOTFOUND, "not found");
		return true;
	}
	*st = ts_present_stamp(&c, u.path, false, &fp, &mtime, &r->err);
	if (*st)
		return true;
	what = ts_arena_printf(r->arena, "manifest|%d|%s|%s|%s", u.version, u.path,
	                       u.part_kind ? u.part_kind : "", u.part_name ? u.part_name : "");
	*st = what ? answer(r, &c, fp, mtime, what, build_manifest, &m)
	           : ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	return true;
}
