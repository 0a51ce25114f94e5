/*
 * jp2_grok.c - windows of single-tile HTJ2K code-streams decoded with Grok
 * (optional: built when ./configure finds libgrokj2k >= 10, which defines
 * TS_HAVE_GROK; contract in jp2_internal.h).
 *
 * Where it sits: jp2_read.c asks ts_jp2_grok_wanted before decoding a window
 * with OpenJPEG.  OpenJPEG 2.5.0 decodes a sub-tile HTJ2K window as grey, so
 * for HTJ2K it must decode whole code-stream tiles; for an untiled file that
 * is the whole image for every 256-pixel window (0.96-2.05 s of CPU on the
 * corpus's sizes), where Grok 10 decodes just the window (18-23 ms):
 * bench/J2K_DECODERS.md.
 *
 * The one idea: Grok only ever sees what it decodes right, in a process that
 * owns its pool.  Only single-tile HTJ2K code-streams with 1 or 3 plain
 * components (Grok 10.0.5's windows inside multi-tile images are wrong);
 * only files our header checks passed (jp2_header.c, before any library);
 * and Grok's process-wide thread pool (grk_initialize) is started in the
 * process that decodes, never inherited across fork(): a worker forked from
 * a master that had started it falls back to OpenJPEG.
 */
#include "jp2_internal.h"

#ifdef TS_HAVE_GROK
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <grok.h>

static pthread_once_t grok_once = PTHREAD_ONCE_INIT;
static pid_t grok_pid;            /* the process whose pool Grok runs */

static void grok_quiet(const char *msg, void *user)
{
	(void)msg;
	(void)user;
}

static void grok_boot(void)
{
	/* one thread: the server's own threads are the parallelism.  Grok 10
	 * returns whether a plugin loaded (none here: false); the pool starts
	 * either way. */
	(void)grk_initialize(NULL, 1);
	grk_set_msg_handlers(grok_quiet, NULL, grok_quiet, NULL, grok_quiet, NULL);
	grok_pid = getpid();
}

bool ts_jp2_grok_wanted(const struct jp2_source *s, int level, uint32_t w, uint32_t h)
{
	const struct ts_source_level *lv = &s->base.info.levels[level];

	if (!s->ht || s->ntiles != 1 || s->x0 || s->y0 || s->sub_x != 1 || s->sub_y != 1)
		return false;
	if (s->ycc || s->cmyk || s->alpha || (s->colour_comps != 1 && s->colour_comps != 3))
		return false;
	if (w == lv->width && h == lv->height)
		return false;   /* a whole level: OpenJPEG decodes it right, as fast */
	/* A level small enough for the decoded-tile cache is decoded once,
	 * whole, by OpenJPEG and its windows cut from the cache (jp2_read.c). */
	if (s->tiles && (uint64_t)lv->width * lv->height <= JP2_CACHE_TILE_PX &&
	    (uint64_t)lv->width * lv->height * s->base.info.channels <=
	    ts_tile_cache_budget(s->tiles) / 4)
		return false;
	pthread_once(&grok_once, grok_boot);
	return grok_pid == getpid();
}

ts_status ts_jp2_grok_decode(struct jp2_source *s, int level, uint32_t x, uint32_t y,
                             uint32_t w, uint32_t h, uint64_t budget, struct ts_image *out,
                             struct ts_error *err)
{
	grk_stream_params sp;
	grk_decompress_core_params cp;
	grk_header_info hi;
	grk_codec *codec = NULL;
	grk_image *im;
	void *map = MAP_FAILED;
	uint64_t ax0 = (uint64_t)x << level, ay0 = (uint64_t)y << level;
	uint64_t ax1 = ((uint64_t)x + w) << level, ay1 = ((uint64_t)y + h) << level;
	int nc = s->colour_comps, k;
	ts_status status;

	memset(out, 0, sizeof *out);
	/* Budget: the window widened to whole code-blocks, as for OpenJPEG's
	 * windows of Part 1 files (jp2_read.c). */
	if (budget) {
		uint64_t cw = s->cblk_w ? s->cblk_w : 64, ch = s->cblk_h ? s->cblk_h : 64;
		const struct ts_source_level *lv = &s->base.info.levels[level];
		uint64_t ex1 = ((uint64_t)x + w + cw - 1) / cw * cw, ey1 = ((uint64_t)y + h + ch - 1) / ch * ch;
		uint64_t cost;
		ex1 = ex1 < lv->width ? ex1 : lv->width;
		ey1 = ey1 < lv->height ? ey1 : lv->height;
		cost = (ex1 - x / cw * cw) * (ey1 - y / ch * ch);
		if (cost > budget) {
			ts_error_set(err, TS_EFORBIDDEN, "region needs too much decoding");
			ts_error_detail(err, "JPEG 2000 level %d window %ux%u costs %llu pixels > %llu",
			                level, w, h, (unsigned long long)cost,
			                (unsigned long long)budget);
			return TS_EFORBIDDEN;
		}
	}
	if (ax1 > s->x1)
		ax1 = s->x1;
	if (ay1 > s->y1)
		ay1 = s->y1;
	status = ts_jp2_header_check_tiles(s, ax0, ay0, ax1, ay1, err);
	if (status)
		return status;
	map = mmap(NULL, (size_t)s->file_size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (map == MAP_FAILED) {
		status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "Grok: mmap of %llu bytes failed",
		                (unsigned long long)s->file_size);
		return status;
	}
	memset(&sp, 0, sizeof sp);
	sp.buf = map;
	sp.len = (size_t)s->file_size;
	grk_decompress_set_default_params(&cp);
	cp.reduce = (uint8_t)level;
	cp.tileCacheStrategy = GRK_TILE_CACHE_NONE;
	memset(&hi, 0, sizeof hi);
	codec = grk_decompress_init(&sp, &cp);
	if (!codec || !grk_decompress_read_header(codec, &hi) ||
	    !grk_decompress_set_window(codec, (float)ax0, (float)ay0, (float)ax1, (float)ay1) ||
	    !grk_decompress(codec, NULL) || !(im = grk_decompress_get_composited_image(codec))) {
		status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "Grok: window %u,%u %ux%u of level %d not decoded", x, y, w, h,
		                level);
		goto fail;
	}
	if (im->numcomps < (unsigned)nc) {
		status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "Grok: %u components decoded, %d needed", im->numcomps, nc);
		goto fail;
	}
	for (k = 0; k < nc; k++) {
		const grk_image_comp *c = &im->comps[k];
		if (!c->data || c->w != w || c->h != h || c->stride < w || c->prec < 1 ||
		    c->prec > 16) {
			status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
			ts_error_detail(err, "Grok: component %d decoded %ux%u (%u bits) for %ux%u", k,
			                c->w, c->h, c->prec, w, h);
			goto fail;
		}
	}
	status = ts_image_alloc(out, w, h, nc, err);
	if (status)
		goto fail;
	for (uint32_t j = 0; j < h; j++) {
		uint8_t *row = out->pixels + (size_t)j * out->stride;
		for (k = 0; k < nc; k++) {
			const grk_image_comp *c = &im->comps[k];
			const int32_t *src = c->data + (size_t)j * c->stride;
			for (uint32_t i = 0; i < w; i++)
				row[(size_t)i * nc + k] = ts_jp2_sample8(c->prec, c->sgnd, src[i]);
		}
	}
	grk_object_unref(codec);
	munmap(map, (size_t)s->file_size);
	return TS_OK;

fail:
	ts_image_free(out);
	if (codec)
		grk_object_unref(codec);
	munmap(map, (size_t)s->file_size);
	return status;
}

#else /* no Grok: OpenJPEG decodes everything */

bool ts_jp2_grok_wanted(const struct jp2_source *s, int level, uint32_t w, uint32_t h)
{
	(void)s;
	(void)level;
	(void)w;
	(void)h;
	return false;
}

ts_status ts_jp2_grok_decode(struct jp2_source *s, int level, uint32_t x, uint32_t y,
                             uint32_t w, uint32_t h, uint64_t budget, struct ts_image *out,
                             struct ts_error *err)
{
	(void)budget;
	(void)s;
	(void)level;
	(void)x;
	(void)y;
	(void)w;
	(void)h;
	(void)out;
	return ts_error_set(err, TS_EINTERNAL, "corrupt image data");
}

#endif
