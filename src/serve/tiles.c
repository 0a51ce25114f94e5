/*
 * tiles.c - DeepZoom, Zoomify and the IIP protocol on the same pipeline.
 *
 * The parsers (src/proto/deepzoom.c, zoomify.c, iip.c) turn each tile or
 * region request into a struct ts_image_cmd; from there image.c plans,
 * caches, passes through or renders exactly as for IIIF, so a DeepZoom tile
 * is pixel-identical to the IIIF request of the same region and size, and
 * shares its cache entry.  Descriptor documents (DZI, ImageProperties.xml,
 * IIP OBJ answers) are built here from the opened source's geometry.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "serve.h"
#include "tessera/tileproto.h"

/* DeepZoom's tile edge: the stored tile when square and sensible, so
 * overlap-0 tiles line up with stored tiles; 256 otherwise.  A JPEG 2000
 * file's code-stream tiles are never served as stored but decoded window
 * by window (src/source/jp2_read.c), so its tiles are 256 pixels with their
 * overlap (TileSize 254 with Overlap 1, Deep Zoom's classic layout): a first
 * look decodes a 256-pixel window (about 25 ms cold on the corpus) instead
 * of a 1026-pixel one over up to four 1024x1024 code-stream tiles.  Halved while a
 * tile with its overlap on both sides would exceed max_width, max_height
 * or max_area, so the .dzi never advertises tiles the limits refuse (as
 * info.json leaves out "tiles" then). */
static uint32_t dz_tile_size(const struct ts_source *src, const struct ts_limits *lim,
                             uint32_t overlap)
{
	const struct ts_source_level *l = &src->info.levels[0];
	uint32_t ts = 256;

	if (src->info.format && strcmp(src->info.format, "jp2") == 0)
		ts = overlap <= 64 ? 256 - 2 * overlap : 256;
	else if (l->tile_w == l->tile_h && l->tile_w >= 64 && l->tile_w <= 2048)
		ts = l->tile_w;
	while (ts > 1) {
		uint64_t edge = (uint64_t)ts + 2u * overlap;

		if ((!lim->max_width || edge <= lim->max_width) &&
		    (!lim->max_height || edge <= lim->max_height) &&
		    (!lim->max_area || edge * edge <= lim->max_area))
			break;
		ts /= 2;
	}
	return ts;
}

/* Validators and a body for a small descriptor document. */
static ts_status descriptor(struct request *r, const struct file_id *f, const char *what,
                            const char *mime)
{
	const char *etag = ts_serve_etag(r, f, what);

	if (ts_serve_conditional(r, f, etag)) {
		ts_buf_clear(&r->resp->body);
		return TS_OK;
	}
	r->resp->status = 200;
	r->resp->content_type = mime;
	return TS_OK;
}

ts_status ts_serve_deepzoom(struct request *r, const char *rest, const char *query,
                            unsigned flags)
{
	struct ts_deepzoom_request dz;
	struct ts_image_job job;
	struct ts_source *src = NULL;
	struct file_id f;
	const char *mime = NULL;
	uint32_t ts, overlap = (uint32_t)r->srv->settings->deepzoom_overlap;
	ts_status st;

	r->route = R_DEEPZOOM;
	memset(&dz, 0, sizeof dz);
	st = ts_deepzoom_parse(rest, query, flags, r->arena, &dz, &r->err);
	if (st)
		return st;
	st = ts_serve_open(r, dz.identifier, &f, &src);
	if (st)
		goto done;
	ts = dz_tile_size(src, &r->srv->limits, overlap);
	if (dz.route == TS_DZ_INFO) {
		st = ts_deepzoom_format_info(&dz, src->info.width, src->info.height, ts, overlap,
		                             TS_FORMAT_JPG, &r->resp->body, &mime, &r->err);
		if (st == TS_OK)
			st = descriptor(r, &f, ts_arena_printf(r->arena, "dzi|%d|%u|%u|%s",
			                (int)dz.info_kind, ts, overlap,
			                dz.callback ? dz.callback : ""), mime);
		goto done;
	}
	memset(&job, 0, sizeof job);
	st = ts_deepzoom_tile_cmd(&dz, src->info.width, src->info.height, ts, overlap, &job.cmd,
	                          &r->err);
	if (st == TS_OK)
		st = ts_serve_image(r, &f, src, &job);
done:
	ts_serve_close(r, &f, src);
	return st;
}

ts_status ts_serve_zoomify(struct request *r, const char *rest, unsigned flags)
{
	struct ts_zoomify_request zr;
	struct ts_image_job job;
	struct ts_source *src = NULL;
	struct file_id f;
	ts_status st;

	r->route = R_ZOOMIFY;
	memset(&zr, 0, sizeof zr);
	st = ts_zoomify_parse(rest, flags, r->arena, &zr, &r->err);
	if (st)
		return st;
	st = ts_serve_open(r, zr.identifier, &f, &src);
	if (st)
		goto done;
	/* Zoomify viewers assume 256-pixel tiles. */
	if (zr.route == TS_ZOOMIFY_PROPERTIES) {
		st = ts_zoomify_format_properties(src->info.width, src->info.height, 256,
		                                  &r->resp->body, &r->err);
		if (st == TS_OK)
			st = descriptor(r, &f, "zoomify-properties", "application/xml");
		goto done;
	}
	memset(&job, 0, sizeof job);
	st = ts_zoomify_tile_cmd(&zr, src->info.width, src->info.height, 256, &job.cmd, &r->err);
	if (st == TS_OK)
		st = ts_serve_image(r, &f, src, &job);
done:
	ts_serve_close(r, &f, src);
	return st;
}

/* Position of NAME= in a query (case-insensitive, at a parameter start). */
static const char *query_key(const char *q, const char *name)
{
	size_t n = strlen(name);

	while (q && *q) {
		if (strncasecmp(q, name, n) == 0 && q[n] == '=')
			return q;
		q = strchr(q, '&');
		if (q)
			q++;
	}
	return NULL;
}

bool ts_serve_is_iip(const char *query)
{
	return query && (query_key(query, "FIF") || query_key(query, "IIIF") ||
	                 query_key(query, "DeepZoom") || query_key(query, "Zoomify"));
}

/* An IIP-style error: "Error/LEN:CODE ARG" with a real HTTP status. */
static ts_status iip_error(struct request *r, const struct ts_iip_request *rq, ts_status st)
{
	const char *code = rq->err_code ? rq->err_code : st == TS_ENOTFOUND ? "1 3" : "2 1";

	ts_buf_clear(&r->resp->body);
	if (!ts_iip_format_error(code, rq->err_arg ? rq->err_arg : "", &r->resp->body))
		return ts_error_set(&r->err, TS_EINTERNAL, "out of memory");
	r->resp->status = st >= 400 ? st : TS_EBADREQUEST;
	r->resp->content_type = TS_IIP_MIME;
	ts_serve_header(r, "Cache-Control", "no-store");
	return TS_OK;
}

ts_status ts_serve_iip(struct request *r)
{
	struct ts_iip_request rq;
	struct ts_image_job job;
	struct ts_source *src = NULL;
	struct ts_geometry g;
	struct file_id f;
	const char *fif, *at;
	ts_status st;

	r->route = R_IIP;
	memset(&rq, 0, sizeof rq);
	st = ts_iip_parse(r->query, r->arena, &rq, &r->err);
	if (st)
		return iip_error(r, &rq, st);
	switch (rq.action) {
	case TS_IIP_PASSTHROUGH:
		if (rq.to == TS_IIP_TO_DEEPZOOM)
			return ts_serve_deepzoom(r, rq.path, rq.path_query, TS_TILEPROTO_ALLOW_SLASH);
		if (rq.to == TS_IIP_TO_ZOOMIFY)
			return ts_serve_zoomify(r, rq.path, TS_TILEPROTO_ALLOW_SLASH);
		/* iipsrv's "?IIIF=id/..." entry: the id is this URL up to the identifier */
		at = query_key(r->query, "IIIF");
		return ts_serve_iiif(r, ts_arena_printf(r->arena, "%s?%.*s", r->path,
		                     (int)(at + 5 - r->query), r->query), rq.path, at[5] == '/',
		                     true);
	case TS_IIP_OBJ:
	case TS_IIP_TILE:
	case TS_IIP_CVT:
		break;
	}
	/* FIF names a file under the root; iipsrv joins it to its prefix, so a
	 * leading '/' is allowed and means the same. */
	for (fif = rq.fif; fif && *fif == '/'; fif++)
		;
	if (!fif || !*fif) {
		rq.err_code = "1 3";
		rq.err_arg = "FIF";
		return iip_error(r, &rq, TS_EBADREQUEST);
	}
	st = ts_serve_open(r, fif, &f, &src);
	if (st) {
		rq.err_code = st == TS_ENOTFOUND ? "1 3" : "2 1";
		rq.err_arg = "FIF";
		ts_serve_close(r, &f, src);
		return st == TS_ENOTFOUND ? iip_error(r, &rq, st) : st;
	}
	ts_source_geometry(src, &g);
	memset(&job, 0, sizeof job);
	if (rq.action == TS_IIP_OBJ) {
		struct ts_iip_image img = {
			.g = &g,
			.tile_w = src->info.levels[0].tile_w ? src->info.levels[0].tile_w : 256,
			.tile_h = src->info.levels[0].tile_h ? src->info.levels[0].tile_h : 256,
			.channels = src->info.channels,
			.bits = 8,
		};
		st = ts_iip_format_objects(&rq, &img, &r->resp->body, &r->err);
		if (st == TS_OK)
			st = descriptor(r, &f, ts_arena_printf(r->arena, "iip|%s", r->query),
			                TS_IIP_MIME);
	} else {
		if (rq.action == TS_IIP_TILE)
			st = ts_iip_tile_cmd(&rq, &g,
			                     src->info.levels[0].tile_w ? src->info.levels[0].tile_w : 256,
			                     src->info.levels[0].tile_h ? src->info.levels[0].tile_h : 256,
			                     &job.cmd, &r->err);
		else
			st = ts_iip_cvt_cmd(&rq, src->info.width, src->info.height, &job.cmd, &r->err);
		if (st == TS_ENOTFOUND && !rq.err_code) {
			rq.err_code = "2 1";
			rq.err_arg = rq.action == TS_IIP_TILE ? "JTL" : "CVT";
		}
		if (st == TS_OK) {
			job.jpeg_quality = rq.qlt > 0 ? rq.qlt : 0;
			job.cmd.rotation = rq.rotation;
			job.cmd.quality = rq.quality;
			st = ts_serve_image(r, &f, src, &job);
		} else if (st < 500) {
			ts_serve_close(r, &f, src);
			return iip_error(r, &rq, st);
		}
	}
	ts_serve_close(r, &f, src);
	return st;
}
