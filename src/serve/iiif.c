/*
 * iiif.c - the IIIF Image API routes (3.0 and 2.1): the base URI redirect,
 * info.json, and image requests, which become a struct ts_image_job for
 * image.c.  Reached from "/iiif/..." and from iipsrv's "?IIIF=..." entry.
 *
 * The service id is rebuilt from the URL the client used, character for
 * character (percent-encoding kept), after the configured or request base.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "serve.h"
#include "tessera/info.h"

/* The raw URL text as a URI: bytes that can never stand in one (controls,
 * space, non-ASCII, " < > \\) are percent-encoded (RFC 3986 §2.1; RFC 3987
 * §3.1 maps UTF-8 the same way), everything else, escapes included, is kept
 * as sent.  A client that sent such bytes raw gets the equivalent URI, and
 * the id can neither break info.json (jansson refuses invalid UTF-8) nor the
 * Link header. */
static const char *uri_text(struct ts_arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0, len = strlen(s);
	char *out, *o;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\')
			n++;
	}
	if (n == 0)
		return s;
	if (len > (SIZE_MAX - 1) / 3)   /* len + 2n + 1 cannot overflow below this */
		return NULL;
	out = o = ts_arena_alloc(a, len + 2 * n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\') {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o = '\0';
	return out;
}

/* The id: public base + the raw URL text up to and including the raw
 * identifier ("/iiif" + "/3" + "/a%2Fb"). */
static const char *service_id(struct request *r, const struct ts_iiif_request *iq,
                              const char *prefix, bool slash)
{
	char v[8] = "";
	const char *path;

	if (iq->version_in_url)
		snprintf(v, sizeof v, "%s%d", slash ? "/" : "", iq->version);
	path = ts_arena_printf(r->arena, "%s%s%s%s", prefix, v,
	                       slash || iq->version_in_url ? "/" : "", iq->identifier_raw);
	path = path ? uri_text(r->arena, path) : NULL;
	return path ? ts_arena_printf(r->arena, "%s%s", ts_serve_public_base(r), path) : NULL;
}

static bool accepts_ld_json(const char *accept)
{
	return accept && strstr(accept, "application/ld+json") != NULL;
}

static ts_status iiif_info(struct request *r, const struct ts_iiif_request *iq, const char *id)
{
	struct ts_server *srv = r->srv;
	struct ts_source *src = NULL;
	struct ts_info_params p;
	struct file_id f;
	const char *etag, *what, *key;
	ts_status st;
	bool ld = accepts_ld_json(r->http->accept);

	st = ts_serve_open(r, iq->identifier, &f, &src);
	if (st)
		goto fail;
	what = ts_arena_printf(r->arena, "info|%d|%d|%s", iq->version, ld, id);
	etag = ts_serve_etag(r, &f, what);
	ts_serve_header(r, "Vary", ts_serve_vary_ids(r, "Accept"));
	if (ts_serve_conditional(r, &f, etag))
		goto done;
	key = ts_serve_cache_key(r, &f, what);
	if (ts_serve_from_cache(r, key))
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
	ts_serve_cache_put(r, key);
done:
	ts_serve_close(r, &f, src);
	return TS_OK;
fail:
	ts_serve_close(r, &f, src);
	return st;
}

/*
 * iipsrv's "?IIIF=" entry takes identifiers with real slashes
 * ("IIIF=sub/dir/x.tif/info.json").  Split such a path from the right (the
 * last segment "info.json", or the last four image parameters) and escape
 * the identifier's slashes, so the one IIIF parser reads it; *raw_id gets
 * the identifier as the client wrote it, for the service id.
 */
static const char *escape_id_slashes(struct request *r, const char *rest, const char **raw_id)
{
	const char *end = rest + strlen(rest), *p = end;
	struct ts_buf b = TS_BUF_INIT;
	const char *q, *out;
	int tail, n;

	*raw_id = NULL;
	if (end - rest >= 10 && strcmp(end - 10, "/info.json") == 0)
		tail = 1;
	else
		tail = 4;
	for (n = 0; n < tail && p > rest; n++)
		while (--p > rest && *p != '/')
			;
	if (n < tail || p <= rest + 1)
		p = end;   /* too few segments for that route: the base URI */
	if (!memchr(rest + 1, '/', (size_t)(p - rest - 1)))
		return rest;   /* no slash inside the identifier: nothing to escape */
	*raw_id = ts_arena_strndup(r->arena, rest + 1, (size_t)(p - rest - 1));
	ts_buf_append(&b, "/", 1);
	for (q = rest + 1; q < p; q++)
		ts_buf_append(&b, *q == '/' ? "%2F" : q, *q == '/' ? 3 : 1);
	ts_buf_append(&b, p, (size_t)(end - p));
	ts_buf_append(&b, "", 1);
	out = b.data ? ts_arena_strdup(r->arena, (const char *)b.data) : NULL;
	ts_buf_free(&b);
	return out ? out : rest;
}

ts_status ts_serve_iiif(struct request *r, const char *prefix, const char *rest, bool slash,
                        bool slashes_in_id)
{
	const char *raw_id = NULL;
	struct ts_iiif_request iq;
	struct ts_image_job job;
	struct ts_source *src = NULL;
	struct file_id f;
	const char *id;
	ts_status st;

	memset(&iq, 0, sizeof iq);
	if (slashes_in_id)
		rest = escape_id_slashes(r, rest, &raw_id);
	st = ts_iiif_parse(rest, r->srv->settings->default_version, r->arena, &iq, &r->err);
	if (st)
		return st;
	if (raw_id) {
		/* the id keeps the client's spelling; no version segment here */
		iq.identifier_raw = raw_id;
		iq.version_in_url = false;
		iq.version = r->srv->settings->default_version;
		iq.cmd.version = iq.version;
	}
	r->route = iq.route == TS_IIIF_BASE ? R_IIIF_BASE
	         : iq.route == TS_IIIF_INFO ? R_IIIF_INFO : R_IIIF_IMAGE;
	id = service_id(r, &iq, prefix, slash);
	if (!id)
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	switch (iq.route) {
	case TS_IIIF_BASE:
		/* 3.0 §2.1 / 2.1 §2.1: the base URI redirects to the image information. */
		r->resp->status = 303;
		ts_serve_header(r, "Location", ts_arena_printf(r->arena, "%s/info.json", id));
		ts_serve_header(r, "Vary", ts_serve_vary_ids(r, "Accept"));
		return TS_OK;
	case TS_IIIF_INFO:
		return iiif_info(r, &iq, id);
	case TS_IIIF_IMAGE:
		break;
	}
	if (!r->srv->formats[iq.cmd.format])
		return ts_error_set(&r->err, TS_ENOTIMPL, "format %s is not implemented",
		                    ts_format_ext(iq.cmd.format));
	memset(&job, 0, sizeof job);
	job.cmd = iq.cmd;
	job.service_id = id;
	st = ts_serve_open(r, iq.identifier, &f, &src);
	if (st == TS_OK)
		st = ts_serve_image(r, &f, src, &job);
	ts_serve_close(r, &f, src);
	return st;
}
