/*
 * sink_zoomify.c - the static Zoomify sink: OUT/ImageProperties.xml and
 * OUT/TileGroup{g}/{tier}-{col}-{row}.{jpg|png}, as `tessera convert -t
 * zoomify` writes them from the pyramid builder's rows.
 *
 * The geometry is the server's own (src/proto/zoomify.c), which is
 * OpenSeadragon's ZoomifyTileSource's: from W x H floor-halve both sides
 * while either exceeds the tile size; tier 0 is the smallest; a tier has
 * ceil(tw/ts) x ceil(th/ts) tiles of ts x ts (cut at the edges); tiles are
 * numbered smaller tiers first, then row by row, 256 to a TileGroup folder.
 * ImageProperties.xml is written by the server's
 * ts_zoomify_format_properties.
 *
 * The one idea: a floor-halved tier is the builder's ceil-halved level of
 * the same depth with its last, partial column and row left out.  Level
 * pixel p of depth k covers full-resolution pixels [p*2^k, (p+1)*2^k) in
 * both rules; the floor rule merely drops the pixel that would cover the
 * image's last W mod 2^k columns (the server's tile commands never reach
 * them either).  So tier z is builder level n-1-z cropped to the tier's
 * size (a side that floors to 0 is kept 1 pixel wide, as the server serves
 * it), and the builder only has to go down to one tile (stop side = tile).
 *
 * One addition: OpenSeadragon counts a tier's tiles from ceil(W/2^k), one
 * column (or row) more than the floor grid when W/2^k just passes a multiple
 * of the tile size, and the server answers that tile as the image's clipped
 * edge (ts_zoomify_tile_cmd).  So the cutter keeps the whole ceil level, the
 * floor grid's tiles are cut at the tier's size, and the added column or row
 * is cut at the ceil size, numbered as the viewer numbers it (on the floor
 * grid).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/buf.h"
#include "tessera/tileproto.h"
#include "tree.h"

#define MAX_TIERS 32

struct zoomify_sink {
	struct ts_level_sink base;
	char *out;                     /* the final folder */
	char *stage;                   /* the staging folder */
	struct ts_tree_format fmt;
	uint32_t tile;
	volatile const int *cancel;
	uint32_t width, height;
	int ntiers, nlevels;
	uint32_t tier_w[MAX_TIERS], tier_h[MAX_TIERS];   /* as the server has them */
	uint64_t first_index[MAX_TIERS];                 /* tiles of the smaller tiers */
	struct ts_tree_band band[MAX_TIERS];             /* by builder level */
	struct ts_tree_tile *tiles;
};

static ts_status emit_row(void *arg, int level, uint32_t trow, uint32_t y0, uint32_t y1,
                          const uint8_t *rows, size_t stride, struct ts_error *err)
{
	struct zoomify_sink *s = arg;
	const struct ts_tree_band *b = &s->band[level];
	int z = s->ntiers - 1 - level;
	uint32_t ncols = ts_tree_ntiles(b->width, s->tile);
	/* the server numbers with the tier's own grid, 0 columns when its width
	 * floors to 0 (src/proto/zoomify.c) */
	uint64_t gx = ts_tree_ntiles(s->tier_w[z], s->tile);
	uint32_t tw = s->tier_w[z] ? s->tier_w[z] : 1, th = s->tier_h[z] ? s->tier_h[z] : 1;

	/* a row of the floor grid ends at the tier's height; the added row at
	 * the level's */
	if (trow < ts_tree_ntiles(th, s->tile) && y1 > th)
		y1 = th;
	const char *ext = s->fmt.png ? "png" : "jpg";

	if (s->cancel && *s->cancel)
		return ts_error_set(err, TS_EUNAVAILABLE, "cancelled");
	for (uint32_t c = 0; c < ncols; c++) {
		struct ts_tree_tile *t = &s->tiles[c];
		uint64_t index = s->first_index[z] + gx * trow + c;
		uint32_t x0, x1;

		ts_tree_axis(c, c < ts_tree_ntiles(tw, s->tile) ? tw : b->width, s->tile, 0, &x0,
		             &x1);
		ts_tree_tile_view(t, b, rows, stride, x0, x1, y0, y1);
		snprintf(t->path, sizeof t->path, "TileGroup%llu/%d-%u-%u.%s",
		         (unsigned long long)(index / 256), z, c, trow, ext);
	}
	return ts_tree_write_tiles(&s->fmt, s->tiles, ncols, err);
}

static ts_status zoomify_begin(struct ts_level_sink *base, const struct ts_pyramid_geometry *g,
                               const struct ts_rows *src, struct ts_error *err)
{
	struct zoomify_sink *s = (struct zoomify_sink *)base;
	uint64_t total = 0, last = 0;
	ts_status st;

	(void)src;
	if (g->nlevels < 1 || g->nlevels > 32 || g->width[0] == 0 || g->height[0] == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid pyramid geometry");
	s->width = g->width[0];
	s->height = g->height[0];
	s->ntiers = ts_zoomify_levels(s->width, s->height, s->tile, s->tier_w, s->tier_h, MAX_TIERS);
	if (s->ntiers > MAX_TIERS || g->nlevels < s->ntiers)
		return ts_error_set(err, TS_EINTERNAL, "the pyramid stops above Zoomify's smallest tier");
	s->nlevels = s->ntiers;   /* deeper builder levels are not needed */
	st = ts_tree_stage_create(s->out, &s->stage, err);
	if (st)
		return st;
	s->fmt.root = s->stage;
	for (int z = 0; z < s->ntiers; z++) {
		int k = s->ntiers - 1 - z;
		uint32_t tw = s->tier_w[z] ? s->tier_w[z] : 1, th = s->tier_h[z] ? s->tier_h[z] : 1;
		uint32_t kw = g->width[k], kh = g->height[k];   /* the ceil level */
		uint64_t gx = ts_tree_ntiles(s->tier_w[z], s->tile);

		if (kw < tw || kh < th)
			return ts_error_set(err, TS_EINTERNAL, "pyramid levels are not halved");
		st = ts_tree_band_init(&s->band[k], k, kw, kh, g->channels, s->tile, 0, err);
		if (st)
			return st;
		s->first_index[z] = total;
		/* the highest index numbered, the added column and row included */
		if (total + gx * (ts_tree_ntiles(kh, s->tile) - 1) + ts_tree_ntiles(kw, s->tile) - 1 > last)
			last = total + gx * (ts_tree_ntiles(kh, s->tile) - 1) +
			       ts_tree_ntiles(kw, s->tile) - 1;
		total += (uint64_t)ts_tree_ntiles(s->tier_w[z], s->tile) *
		         ts_tree_ntiles(s->tier_h[z], s->tile);
	}
	/* every group the numbering reaches (a tier that floors to 0 wide adds
	 * none to the count but still writes its column 0) */
	if (total > 0 && total - 1 > last)
		last = total - 1;
	for (uint64_t grp = 0; grp <= last / 256; grp++) {
		char rel[40];

		snprintf(rel, sizeof rel, "TileGroup%llu", (unsigned long long)grp);
		st = ts_tree_mkdirs(s->stage, rel, err);
		if (st)
			return st;
	}
	return ts_tree_tiles_alloc(s->band, s->nlevels, &s->tiles, err);
}

static ts_status zoomify_rows(struct ts_level_sink *base, int level, uint32_t y,
                              const struct ts_image *band, struct ts_error *err)
{
	struct zoomify_sink *s = (struct zoomify_sink *)base;

	if (level < 0)
		return ts_error_set(err, TS_EINTERNAL, "rows for a level the pyramid does not have");
	if (level >= s->nlevels)
		return TS_OK;   /* below the smallest tier */
	return ts_tree_band_push(&s->band[level], y, band, emit_row, s, err);
}

static ts_status zoomify_finish(struct ts_level_sink *base, struct ts_error *err)
{
	struct zoomify_sink *s = (struct zoomify_sink *)base;
	struct ts_buf doc = TS_BUF_INIT;
	char path[4096];
	ts_status st;

	st = ts_tree_bands_done(s->band, s->nlevels, err);
	if (st)
		return st;
	st = ts_zoomify_format_properties(s->width, s->height, s->tile, &doc, err);
	if (st)
		goto fail;
	snprintf(path, sizeof path, "%s/ImageProperties.xml", s->stage);
	st = ts_tree_write_file(path, doc.data, doc.len, err);
	if (st)
		goto fail;
	st = ts_tree_replace(s->stage, s->out, err);
	if (st)
		goto fail;
	free(s->stage);
	s->stage = NULL;
	ts_buf_free(&doc);
	return TS_OK;
fail:
	ts_buf_free(&doc);
	return st;
}

static void zoomify_abort(struct ts_level_sink *base)
{
	struct zoomify_sink *s = (struct zoomify_sink *)base;

	ts_tree_stage_drop(&s->stage);
}

static void zoomify_destroy(struct ts_level_sink *base)
{
	struct zoomify_sink *s = (struct zoomify_sink *)base;

	if (!s)
		return;
	if (s->stage)
		zoomify_abort(base);
	ts_tree_bands_free(s->band, MAX_TIERS);
	free(s->tiles);
	free(s->out);
	free(s);
}

ts_status ts_sink_zoomify_new(const char *out, const struct ts_convert_opts *o,
                              struct ts_level_sink **sink, struct ts_error *err)
{
	struct zoomify_sink *s;

	*sink = NULL;
	if (!out[0])
		return ts_error_set(err, TS_EBADREQUEST, "no output name");
	if (o->compression != TS_COMP_JPEG && o->compression != TS_COMP_PNG)
		return ts_error_set(err, TS_EBADREQUEST, "Zoomify tiles are JPEG or PNG");
	if (o->tile < 16 || o->tile > 8192)
		return ts_error_set(err, TS_EBADREQUEST, "invalid Zoomify tile size");
	s = calloc(1, sizeof *s);
	if (!s || !(s->out = strdup(out))) {
		free(s);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->tile = o->tile;
	s->cancel = o->cancel;
	ts_tree_format_init(&s->fmt, o);
	s->base.begin = zoomify_begin;
	s->base.rows = zoomify_rows;
	s->base.finish = zoomify_finish;
	s->base.abort = zoomify_abort;
	s->base.destroy = zoomify_destroy;
	*sink = &s->base;
	return TS_OK;
}
