/*
 * sink_deepzoom.c - the static DeepZoom sink: OUT.dzi and
 * OUT_files/{level}/{col}_{row}.{jpg|png}, as `tessera convert -t deepzoom`
 * writes them from the pyramid builder's rows.
 *
 * The geometry is the server's own (src/proto/deepzoom.c): level max =
 * ceil(log2(max(W,H))) is the full image, level L is ceil(W/2^(max-L)) x
 * ceil(H/2^(max-L)), down to level 0 = 1x1; tile (col,row) covers the
 * level pixels [col*ts - (col ? overlap : 0), min((col+1)*ts + overlap,
 * lw)) and likewise in y.  The .dzi document is written by the server's
 * ts_deepzoom_format_info, so a viewer cannot tell the static tree from
 * the daemon's /deepzoom/ answers.  The builder's level k (convert.h: the
 * same ceil-halving) is DeepZoom level max - k, so the builder must go down
 * to 1x1 (stop side 1).
 *
 * The one idea: each builder level flows through a band cutter (tree.c)
 * that holds one tile row plus overlap; every completed tile row is
 * encoded on several threads and written at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/buf.h"
#include "tessera/tileproto.h"
#include "tree.h"

struct dz_sink {
	struct ts_level_sink base;
	char *dzi_path, *files_path;   /* the final names */
	char *stage;                   /* the staging folder: files/, image.dzi */
	struct ts_tree_format fmt;
	uint32_t tile, overlap;
	volatile const int *cancel;
	int nlevels, max;
	struct ts_tree_band band[32];
	struct ts_tree_tile *tiles;    /* one tile row's worth */
};

static ts_status emit_row(void *arg, int level, uint32_t trow, uint32_t y0, uint32_t y1,
                          const uint8_t *rows, size_t stride, struct ts_error *err)
{
	struct dz_sink *s = arg;
	const struct ts_tree_band *b = &s->band[level];
	uint32_t ncols = ts_tree_ntiles(b->width, s->tile);
	const char *ext = s->fmt.png ? "png" : "jpg";

	if (s->cancel && *s->cancel)
		return ts_error_set(err, TS_EUNAVAILABLE, "cancelled");
	for (uint32_t c = 0; c < ncols; c++) {
		struct ts_tree_tile *t = &s->tiles[c];
		uint32_t x0, x1;

		ts_tree_axis(c, b->width, s->tile, s->overlap, &x0, &x1);
		ts_tree_tile_view(t, b, rows, stride, x0, x1, y0, y1);
		snprintf(t->path, sizeof t->path, "files/%d/%u_%u.%s", s->max - level, c, trow, ext);
	}
	return ts_tree_write_tiles(&s->fmt, s->tiles, ncols, err);
}

static ts_status dz_begin(struct ts_level_sink *base, const struct ts_pyramid_geometry *g,
                          const struct ts_rows *src, struct ts_error *err)
{
	struct dz_sink *s = (struct dz_sink *)base;
	uint32_t w = g->width[0], h = g->height[0];
	ts_status st;

	(void)src;
	if (w == 0 || h == 0 || g->nlevels < 1 || g->nlevels > 32)
		return ts_error_set(err, TS_EINTERNAL, "invalid pyramid geometry");
	s->max = ts_deepzoom_max_level(w, h);
	if (g->nlevels != s->max + 1)
		return ts_error_set(err, TS_EINTERNAL, "a DeepZoom pyramid must go down to 1x1");
	for (int k = 0; k < g->nlevels; k++) {
		uint32_t lw, lh;

		ts_deepzoom_level_size(w, h, s->max - k, &lw, &lh);
		if (g->width[k] != lw || g->height[k] != lh)
			return ts_error_set(err, TS_EINTERNAL, "pyramid levels are not DeepZoom's");
	}
	st = ts_tree_stage_create(s->files_path, &s->stage, err);
	if (st)
		return st;
	s->fmt.root = s->stage;
	s->nlevels = g->nlevels;
	for (int k = 0; k < g->nlevels; k++) {
		char rel[32];

		st = ts_tree_band_init(&s->band[k], k, g->width[k], g->height[k], g->channels,
		                       s->tile, s->overlap, err);
		if (st)
			return st;
		snprintf(rel, sizeof rel, "files/%d", s->max - k);
		st = ts_tree_mkdirs(s->stage, rel, err);
		if (st)
			return st;
	}
	return ts_tree_tiles_alloc(s->band, s->nlevels, &s->tiles, err);
}

static ts_status dz_rows(struct ts_level_sink *base, int level, uint32_t y,
                         const struct ts_image *band, struct ts_error *err)
{
	struct dz_sink *s = (struct dz_sink *)base;

	if (level < 0 || level >= s->nlevels)
		return ts_error_set(err, TS_EINTERNAL, "rows for a level the pyramid does not have");
	return ts_tree_band_push(&s->band[level], y, band, emit_row, s, err);
}

static ts_status dz_finish(struct ts_level_sink *base, struct ts_error *err)
{
	struct dz_sink *s = (struct dz_sink *)base;
	struct ts_deepzoom_request rq;
	struct ts_buf doc = TS_BUF_INIT;
	char from[4096];
	ts_status st;

	st = ts_tree_bands_done(s->band, s->nlevels, err);
	if (st)
		return st;
	memset(&rq, 0, sizeof rq);
	rq.route = TS_DZ_INFO;
	rq.info_kind = TS_DZ_XML;
	st = ts_deepzoom_format_info(&rq, s->band[0].width, s->band[0].height, s->tile, s->overlap,
	                             s->fmt.png ? TS_FORMAT_PNG : TS_FORMAT_JPG, &doc, NULL, err);
	if (st)
		goto fail;
	snprintf(from, sizeof from, "%s/image.dzi", s->stage);
	st = ts_tree_write_file(from, doc.data, doc.len, err);
	if (st)
		goto fail;
	/* the tiles first, the document last: a .dzi names a complete tree */
	snprintf(from, sizeof from, "%s/files", s->stage);
	st = ts_tree_replace(from, s->files_path, err);
	if (st)
		goto fail;
	snprintf(from, sizeof from, "%s/image.dzi", s->stage);
	st = ts_tree_replace(from, s->dzi_path, err);
	if (st)
		goto fail;
	rmdir(s->stage);
	free(s->stage);
	s->stage = NULL;
	ts_buf_free(&doc);
	return TS_OK;
fail:
	ts_buf_free(&doc);
	return st;
}

static void dz_abort(struct ts_level_sink *base)
{
	struct dz_sink *s = (struct dz_sink *)base;

	ts_tree_stage_drop(&s->stage);
}

static void dz_destroy(struct ts_level_sink *base)
{
	struct dz_sink *s = (struct dz_sink *)base;

	if (!s)
		return;
	if (s->stage)
		dz_abort(base);
	ts_tree_bands_free(s->band, 32);
	free(s->tiles);
	free(s->dzi_path);
	free(s->files_path);
	free(s);
}

ts_status ts_sink_deepzoom_new(const char *out, const struct ts_convert_opts *o,
                               struct ts_level_sink **sink, struct ts_error *err)
{
	struct dz_sink *s;
	size_t n = strlen(out), stem;

	*sink = NULL;
	if (n == 0)
		return ts_error_set(err, TS_EBADREQUEST, "no output name");
	if (o->compression != TS_COMP_JPEG && o->compression != TS_COMP_PNG)
		return ts_error_set(err, TS_EBADREQUEST, "DeepZoom tiles are JPEG or PNG");
	if (o->tile < 1 || o->tile > 8192 || o->overlap > o->tile)
		return ts_error_set(err, TS_EBADREQUEST, "invalid DeepZoom tile size or overlap");
	s = calloc(1, sizeof *s);
	if (!s)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	/* "OUT.dzi" or "OUT": the document is OUT.dzi, the tiles OUT_files */
	stem = n > 4 && strcmp(out + n - 4, ".dzi") == 0 ? n - 4 : n;
	s->dzi_path = malloc(stem + 5);
	s->files_path = malloc(stem + 7);
	if (!s->dzi_path || !s->files_path) {
		dz_destroy(&s->base);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	memcpy(s->dzi_path, out, stem);
	memcpy(s->dzi_path + stem, ".dzi", 5);
	memcpy(s->files_path, out, stem);
	memcpy(s->files_path + stem, "_files", 7);
	s->tile = o->tile;
	s->overlap = o->overlap;
	s->cancel = o->cancel;
	ts_tree_format_init(&s->fmt, o);
	s->base.begin = dz_begin;
	s->base.rows = dz_rows;
	s->base.finish = dz_finish;
	s->base.abort = dz_abort;
	s->base.destroy = dz_destroy;
	*sink = &s->base;
	return TS_OK;
}
