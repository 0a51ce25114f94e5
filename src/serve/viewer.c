/*
 * viewer.c - the built-in viewer pages (index.html with OpenSeadragon,
 * mirador.html with Mirador, both from npm under viewer_dir/node_modules)
 * and the list of images under the root that they offer.
 *
 * The one idea: a viewer file is named by a relative path that must stay a
 * plain downward path (no "..", no segment starting with "." such as
 * node_modules/.bin or .package-lock.json) and whose realpath must still lie
 * under viewer_dir, the same confinement images get in the root; its
 * Content-Type comes from one table of the extensions the viewers' bundles
 * use (scripts, styles, source maps, JSON, images, fonts, WebAssembly).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"
#include "tessera/present.h"

static const char *mime_for(const char *name)
{
	static const struct { const char *ext, *mime; } types[] = {
		{ ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" }, { ".css", "text/css; charset=utf-8" },
		{ ".map", "application/json" }, { ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" }, { ".md", "text/plain; charset=utf-8" },
		{ ".png", "image/png" }, { ".svg", "image/svg+xml" }, { ".jpg", "image/jpeg" },
		{ ".jpeg", "image/jpeg" }, { ".gif", "image/gif" }, { ".webp", "image/webp" },
		{ ".ico", "image/x-icon" }, { ".woff2", "font/woff2" }, { ".woff", "font/woff" },
		{ ".ttf", "font/ttf" }, { ".otf", "font/otf" }, { ".eot", "application/vnd.ms-fontobject" },
		{ ".wasm", "application/wasm" },
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash : name, '.');
	size_t i;

	for (i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot, types[i].ext) == 0)
			return types[i].mime;
	return "application/octet-stream";
}

/* A relative path the viewer directory may answer: not empty, not absolute,
 * no "..", and no segment that is empty or starts with '.' (hidden files). */
static bool plain_relative(const char *rel)
{
	const char *seg = rel;

	if (!*rel || strstr(rel, ".."))
		return false;
	for (;;) {
		if (*seg == '/' || *seg == '.' || *seg == '\0')
			return false;
		seg = strchr(seg, '/');
		if (!seg)
			return true;
		seg++;
	}
}

/* Serve a file of the viewer directory; rel is raw (still percent-encoded). */
ts_status ts_serve_viewer_file(struct request *r, const char *rel)
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
	if (!dec || !ts_percent_decode(rel, dec) || !plain_relative(dec))
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
	/* five minutes, so a new viewer version shows soon; none at all when
	 * cache_control is set empty */
	if (*r->srv->settings->cache_control)
		ts_serve_header(r, "Cache-Control", "max-age=300");
	return TS_OK;
fail:
	if (fd >= 0)
		close(fd);
	return status;
}

/* An image the server can serve: its format sniffed and its header read
 * within max_source_pixels, as info.json would (the probe cache keeps the
 * answer per file identity, so a second listing opens nothing new). */
static bool servable_image(void *arg, const char *rel, const struct stat *st)
{
	struct ts_source_info info;
	struct ts_error err;

	ts_error_clear(&err);
	return ts_present_probe_image(arg, rel, st, &info, &err) == TS_OK;
}

ts_status ts_serve_image_list(struct request *r)
{
	struct ts_present_probes probes = { r->srv->resolver, &r->srv->source_limits,
	                                    r->srv->probes };
	ts_status st = ts_resolver_list_kept(r->srv->resolver, servable_image, &probes,
	                                     &r->resp->body, &r->err);

	if (st)
		return st;
	r->resp->status = 200;
	r->resp->content_type = "application/json";
	ts_serve_header(r, "Cache-Control", "no-store");
	return TS_OK;
}
