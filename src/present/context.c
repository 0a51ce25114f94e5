/*
 * context.c - the struct ts_present_ctx of the daemon and of `tessera
 * manifest` (present.h), made in one place.
 *
 * The one idea: both callers hand over what they own (root, resolver,
 * limits, caches) and this file alone decides how a context is made of
 * them, so the command can never print a Manifest the server would not
 * answer because a field was set in one and forgotten in the other.
 * Also the request's memo of one folder listing (ts_present_scan): a cold
 * 10,000-member Collection is listed for its fingerprint and again for its
 * build, 10,000 fstatat each time, unless the second reads the first.
 */
#include <string.h>

#include "tessera/present.h"
#include "tessera/resolve.h"
#include "tessera/settings.h"

void ts_present_ctx_init(struct ts_present_ctx *c, struct ts_present_probes *pp,
                         const struct ts_settings *s, const struct ts_resolver *resolver,
                         int root_fd, const char *base, const struct ts_limits *limits,
                         const bool formats[8], const struct ts_source_limits *slim,
                         struct ts_probe_cache *cache)
{
	memset(pp, 0, sizeof *pp);
	pp->resolver = resolver;
	pp->limits = slim;
	pp->cache = cache;
	memset(c, 0, sizeof *c);
	c->root_fd = root_fd;
	c->root_path = ts_resolver_root(resolver);
	c->base = base;
	c->limits = limits;
	/* no picture the image server would refuse to decode */
	c->max_decode_pixels = s->max_decode_pixels;
	memcpy(c->formats, formats, sizeof c->formats);
	c->image_service2 = true;
	c->probe_image = ts_present_probe_image;
	c->probe_media = ts_present_probe_media;
	c->probe_arg = pp;
}

ts_status ts_present_scan(const struct ts_present_ctx *c, const char *rel,
                          struct ts_catalogue *out, struct ts_error *err)
{
	return ts_present_scan_opts(c, rel, false, out, err);
}

ts_status ts_present_scan_lend(const struct ts_present_ctx *c, const char *rel,
                               bool sub_sidecars, struct ts_catalogue *own,
                               const struct ts_catalogue **cat, struct ts_error *err)
{
	struct ts_catalogue *m = c->scan_memo;
	struct ts_catalogue_opts o = { c->watch_dir, c->watch_arg, sub_sidecars };
	ts_status s;

	memset(own, 0, sizeof *own);
	*cat = own;
	if (!c->watch_dir && m && m->rel && strcmp(m->rel, rel) == 0 &&
	    (m->sub_sidecars || !sub_sidecars)) {
		*cat = m;
		return TS_OK;
	}
	s = ts_catalogue_scan_with(c->root_fd, c->root_path, rel, &o, own, err);
	if (s == TS_OK && m) {
		ts_catalogue_free(m);
		*m = *own;   /* moved there, kept for the next reader */
		memset(own, 0, sizeof *own);
		*cat = m;
	}
	return s;
}

ts_status ts_present_scan_opts(const struct ts_present_ctx *c, const char *rel,
                               bool sub_sidecars, struct ts_catalogue *out,
                               struct ts_error *err)
{
	struct ts_catalogue *m = c->scan_memo;
	struct ts_catalogue_opts o = { c->watch_dir, c->watch_arg, sub_sidecars };
	ts_status s;

	/* a scan that watches (the fingerprint's) is always a fresh one */
	if (!c->watch_dir && m && m->rel && strcmp(m->rel, rel) == 0 &&
	    (m->sub_sidecars || !sub_sidecars)) {
		if (ts_catalogue_copy(m, out))
			return TS_OK;
		memset(out, 0, sizeof *out);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s = ts_catalogue_scan_with(c->root_fd, c->root_path, rel, &o, out, err);
	if (s == TS_OK && m) {
		ts_catalogue_free(m);
		if (!ts_catalogue_copy(out, m))
			memset(m, 0, sizeof *m);   /* no memo: the next reader scans */
	}
	return s;
}
