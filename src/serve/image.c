/*
 * image.c - one image command, whatever protocol it came from: plan it,
 * answer 304s from validators, serve from the response cache, pass a stored
 * JPEG tile through, or decode, shape and encode it.
 *
 * Work is dropped (499) when the client has gone before the decode starts
 * or while a large render waits for admission (front/conn_watch.c).
 *
 * The cache key and ETag use the planner's canonical form, so equivalent
 * requests (a IIIF tile and the DeepZoom tile of the same region and size,
 * or "256," and "256,256") share one entry.
 */
#include <stdio.h>
#include <string.h>

#include "tessera/contain.h"
#include "serve.h"
#include "tessera/conn_watch.h"
#include "tessera/cost.h"
#include "tessera/deadline.h"
#include "tessera/passthrough.h"
#include "tessera/pipe.h"

/*
 * How much the decoder may reduce the read rectangle for us: the largest
 * d in {8,4,2} that still leaves at least the output size in both axes, so
 * the area filter always has a full reduction of its own to do and quality
 * never drops below resampling from the output size or more.
 */
static int decode_denom(const struct ts_plan *plan)
{
	int d;

	for (d = 8; d > 1; d /= 2)
		if (plan->crop_w / d >= plan->out_w && plan->crop_h / d >= plan->out_h)
			return d;
	return 1;
}

/* Each stored tile into the transcoder (ts_stored_tile_fn). */
static ts_status transcode_tile(void *arg, const unsigned char *jpeg, size_t len, bool rgb,
                                uint32_t x, uint32_t y, char *detail, size_t detail_size)
{
	return ts_jpeg_transcode_tile(arg, jpeg, len, rgb, x, y, detail, detail_size);
}

/*
 * The coefficient path: a whole JPEG-tiled level at its own size (no
 * rotation, mirror or quality change) is made from the stored tiles' DCT
 * coefficients (jpeg_transcode.c): no inverse DCT, colour conversion,
 * downsampling or forward DCT, and the same sampling and tables as
 * ts_jpeg_write would use.  Returns 501 (error cleared) when the plan
 * or the source does not qualify, so the caller renders the usual way.
 */
static ts_status render_transcoded(struct request *r, struct ts_source *src,
                                   const struct ts_plan *p, int quality, struct ts_buf *out)
{
	const struct ts_source_level *lv = &src->info.levels[p->level];
	uint64_t budget = r->srv->settings->max_decode_pixels;
	struct ts_jpeg_transcoder *t = NULL;
	ts_status st;

	if (!src->ops->level_tiles || p->format != TS_FORMAT_JPG || p->mirror ||
	    (p->degrees != 0 && p->degrees != 360) ||
	    (p->quality != TS_QUALITY_DEFAULT && p->quality != TS_QUALITY_COLOR) ||
	    src->info.channels != 3 || lv->tile_w == 0 || lv->tile_h == 0 ||
	    p->read_x != 0 || p->read_y != 0 || p->read_w != lv->width ||
	    p->read_h != lv->height || p->crop_x != 0 || p->crop_y != 0 ||
	    p->crop_w != p->read_w || p->crop_h != p->read_h || p->out_w != p->read_w ||
	    p->out_h != p->read_h)
		return TS_ENOTIMPL;
	/* The coefficients take 3 bytes a pixel before any tile is read: a
	 * level over the decode budget goes the usual way, to its 403. */
	if (budget != 0 && (uint64_t)lv->width * lv->height > budget)
		return TS_ENOTIMPL;
	st = ts_jpeg_transcode_begin(lv->width, lv->height, quality, &t, &r->err);
	if (st == TS_OK) {
		struct ts_contain_mark mark;   /* libjpeg reads the file's tiles */
		ts_contain_enter(&src->st, TS_CONTAIN_OTHER, &mark);
		st = src->ops->level_tiles(src, p->level, budget, transcode_tile, t, &r->err);
		ts_contain_leave(&mark);
	}
	if (st == TS_OK)
		st = ts_jpeg_transcode_finish(t, src->info.icc, src->info.icc_len, out, &r->err);
	if (st == TS_OK)
		atomic_fetch_add(&r->srv->metrics.transcoded, 1);
	ts_jpeg_transcode_free(t);
	if (st == TS_ENOTIMPL)
		ts_error_clear(&r->err);
	return st;
}

/* Decode, shape and encode the planned image into out. */
static ts_status render(struct request *r, struct ts_source *src, const struct ts_plan *plan,
                        int jpeg_quality, struct ts_buf *out)
{
	struct ts_encode_opts opts = r->srv->encode;
	struct ts_image img = { 0 }, tmp = { 0 };
	double ox, oy, cx, cy, cw, ch;
	int denom = decode_denom(plan);
	bool alpha_bg;
	ts_status st;

	st = render_transcoded(r, src, plan,
	                       jpeg_quality > 0 ? jpeg_quality : opts.jpeg_quality, out);
	if (st != TS_ENOTIMPL)
		return st;
	st = ts_source_read_region_scaled(src, plan->level, plan->read_x, plan->read_y,
	                                  plan->read_w, plan->read_h, &denom,
	                                  r->srv->settings->max_decode_pixels, &img, &ox, &oy,
	                                  &r->err);
	if (st)
		goto fail;
	/* The plan's crop, from read-rectangle pixels to mosaic pixels (the
	 * decoder may have started earlier and reduced by denom). */
	cx = (plan->read_x + plan->crop_x - ox) / denom;
	cy = (plan->read_y + plan->crop_y - oy) / denom;
	cw = plan->crop_w / denom;
	ch = plan->crop_h / denom;
	/* Rounding must not push the crop a hair past the mosaic. */
	if (cx + cw > img.width)
		cw = img.width - cx;
	if (cy + ch > img.height)
		ch = img.height - cy;
	if (cx != 0 || cy != 0 || cw != img.width || ch != img.height ||
	    plan->out_w != img.width || plan->out_h != img.height) {
		st = ts_pipe_scale(&img, cx, cy, cw, ch, plan->out_w, plan->out_h, &tmp, &r->err);
		if (st)
			goto fail;
		ts_image_move(&img, &tmp);
	}
	/* 3.0 §4.3: mirroring happens before rotation. */
	if (plan->mirror)
		ts_pipe_mirror(&img);
	if (plan->degrees != 0 && plan->degrees != 360) {
		alpha_bg = ts_encode_keeps_alpha(plan->format);
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
	if (jpeg_quality > 0)
		opts.jpeg_quality = jpeg_quality;
	/* The source's colour profile travels with its pixels; each encoder
	 * drops it when it does not fit (a gray answer from an RGB file). */
	opts.icc = src->info.icc;
	opts.icc_len = src->info.icc_len;
	st = ts_encode(&img, plan->format, &opts, out, &r->err);
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
		                         p->read_w, p->read_h, gray && !raw.gray, src->info.icc,
		                         src->info.icc_len, out, &r->err);
		if (st == TS_ENOTIMPL)
			ts_error_clear(&r->err);
	}
	ts_raw_tile_free(&raw);
	return st;
}


/* A render whose work (source pixels decoded plus pixels produced) reaches
 * this is heavy: it is admitted through heavy.c, at low priority, within
 * the memory budget.  A 256 x 256 tile reads and makes 131072; a
 * 1024 x 1024 region is heavy. */
#define HEAVY_PIXELS (1024u * 1024u)

struct heavy_render {
	struct request *r;
	struct ts_source *src;
	const struct ts_plan *plan;
	int jpeg_quality;
};

static ts_status heavy_render(void *arg)
{
	struct heavy_render *h = arg;

	return render(h->r, h->src, h->plan, h->jpeg_quality, &h->r->resp->body);
}

/* Asked by heavy.c while the render waits and when it leaves the queue;
 * must not touch r->err (heavy.c sets it), only look at the socket. */
static bool heavy_client_gone(void *arg)
{
	struct heavy_render *h = arg;

	return ts_conn_gone(&h->r->http->conn);
}

/*
 * Render the plan, light or heavy.  A light render runs here, on the
 * worker, under its deadline; a heavy one waits for admission (heavy.c).
 * A 503 from either (refused, or stopped at its deadline) carries
 * Retry-After: the queue moves within max_render_seconds.
 */
static ts_status render_admitted(struct request *r, struct ts_source *src,
                                 const struct ts_plan *plan, int jpeg_quality)
{
	const struct ts_settings *s = r->srv->settings;
	struct ts_render_cost cost;
	ts_status st;

	/* OpenJPEG keeps 32-bit samples beside our 8-bit mosaic. */
	ts_plan_cost(plan, src->info.channels,
	             strcmp(src->info.format, "jp2") == 0 ? 5 : 1, &cost);
	if (cost.pixels >= HEAVY_PIXELS && r->srv->heavy) {
		struct heavy_render h = { r, src, plan, jpeg_quality };
		st = ts_heavy_run(r->srv->heavy, cost.bytes, heavy_render, heavy_client_gone, &h,
		                  &r->err);
	} else {
		uint64_t before = ts_deadline_get();
		ts_deadline_set(ts_deadline_after(s->max_render_seconds));
		st = render(r, src, plan, jpeg_quality, &r->resp->body);
		if (st == TS_EUNAVAILABLE && ts_deadline_passed())
			atomic_fetch_add(&r->srv->metrics.timed_out, 1);
		ts_deadline_set(before);
	}
	if (st == TS_EUNAVAILABLE)
		r->retry_after = s->max_render_seconds >= 1 ? (int)s->max_render_seconds : 1;
	return st;
}

ts_status ts_serve_image(struct request *r, const struct file_id *f, struct ts_source *src,
                         const struct ts_image_job *job)
{
	struct ts_geometry g;
	struct ts_plan plan;
	const char *etag, *what, *key;
	ts_status st;

	if (!r->srv->formats[job->cmd.format])
		return ts_error_set(&r->err, TS_ENOTIMPL, "format %s is not implemented",
		                    ts_format_ext(job->cmd.format));
	ts_source_geometry(src, &g);
	st = ts_plan_make(&job->cmd, &g, &r->srv->limits, &plan, &r->err);
	if (st)
		return st;
	/* Every request's output is bounded: max_area limits the size before
	 * rotation (3.0 §4.2); an arbitrary angle grows the canvas by up to 2x,
	 * and no more is produced than that. */
	if (r->srv->limits.max_area &&
	    (uint64_t)plan.final_w * plan.final_h > 2 * r->srv->limits.max_area)
		return ts_error_set(&r->err, TS_EFORBIDDEN,
		                    "the rotated image would be larger than this server produces");
	if (job->service_id) {
		/* 3.0 §6.1 / 2.1 §6.1: profile and canonical Link headers. */
		ts_serve_header(r, "Link", ts_arena_printf(r->arena,
		                "<http://iiif.io/api/image/%d/level2.json>;rel=\"profile\", "
		                "<%s/%s>;rel=\"canonical\"", job->cmd.version, job->service_id,
		                plan.canonical));
	}
	what = ts_arena_printf(r->arena, "img|%d|%d|%s", job->cmd.version, job->jpeg_quality,
	                       plan.canonical);
	etag = ts_serve_etag(r, f, what);
	if (ts_serve_conditional(r, f, etag))
		return TS_OK;
	key = ts_serve_cache_key(r, f, what);
	if (ts_serve_from_cache(r, key))
		return TS_OK;
	/* An explicit JPEG quality (IIP's QLT) asks for a re-encode. */
	st = job->jpeg_quality ? TS_ENOTIMPL : stored_tile(r, src, &plan, &r->resp->body);
	if (st == TS_OK) {
		atomic_fetch_add(&r->srv->metrics.passthrough, 1);
		r->resp->outcome = "pass";
	}
	/* A decode is the first costly step: none for a client that has gone
	 * (a viewer panning away cancels the tiles it asked for). */
	if (st == TS_ENOTIMPL && ts_serve_client_gone(r))
		return TS_ECLIENTGONE;
	if (st == TS_ENOTIMPL) {
		st = render_admitted(r, src, &plan, job->jpeg_quality);
	}
	if (st)
		return st;
	r->resp->status = 200;
	r->resp->content_type = ts_format_mime(plan.format);
	ts_serve_cache_put(r, key);
	return TS_OK;
}
