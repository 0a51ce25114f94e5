/*
 * iiif.c - the IIIF Image API routes (3.0 and 2.1): the base URI redirect,
 * info.json, and image requests, which become a struct ts_image_job for
 * image.c.  Reached from "/iiif/..." and from iipsrv's "?IIIF=..." entry.
 *
 * The service id is rebuilt from the URL the client used, character for
 * character (percent-encoding kept), after the configured or request base.
 */
#include <stdio.h>
#include <string.h>

#include "serve.h"
#include "tessera/info.h"

/* The id: public base + the raw URL text up to and including the raw
 * identifier ("/iiif" + "/3" + "/a%2Fb"). */
static const char *service_id(struct request *r, const struct ts_iiif_request *iq,
                              const char *prefix, bool slash)
{
	char v[8] = "";

	if (iq->version_in_url)
		snprintf(v, sizeof v, "%s%d", slash ? "/" : "", iq->version);
	return ts_arena_printf(r->arena, "%s%s%s%s%s", ts_serve_public_base(r), prefix, v,
	                       slash || iq->version_in_url ? "/" : "", iq->identifier_raw);
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
	ts_serve_header(r, "Vary", "Accept");
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

ts_status ts_serve_iiif(struct request *r, const char *prefix, const char *rest, bool slash)
{
	struct ts_iiif_request iq;
	struct ts_image_job job;
	struct ts_source *src = NULL;
	struct file_id f;
	const char *id;
	ts_status st;

	memset(&iq, 0, sizeof iq);
	st = ts_iiif_parse(rest, r->srv->settings->default_version, r->arena, &iq, &r->err);
	if (st)
		return st;
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
