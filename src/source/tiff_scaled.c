/*
 * tiff_scaled.c - JPEG-tiled TIFF levels decoded at reduced scale and in
 * parallel (tiff_internal.h): read_region_scaled and level_tiles.
 *
 * The tiles' stored bytes are located here, with libtiff on the calling
 * thread, and handed to jpeg_tiles.c, which decodes them at 1/2..1/8 scale
 * in the DCT domain and, for regions of many tiles, on several threads.
 * Anything else (other codecs, small full-size reads) goes to
 * ts_tiff_read_region.
 *
 * The one idea: the budget is checked twice before a pixel is decoded,
 * first as a lower bound (every touched tile at 1/d) before the tile list
 * is allocated, then at the exact cost once the tiles are listed.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include "tessera/checked.h"
#include "tessera/source.h"
#include "jpeg_tiles.h"
#include "tiff_internal.h"

/* A region touching at least this many tiles is decoded on the workers;
 * below it, waking them costs more than it saves. */
#define PARALLEL_MIN_TILES 8

bool ts_tiff_jpeg_tiled(const struct tiff_level *lv)
{
	return lv->tile_w && lv->compression == COMPRESSION_JPEG && lv->mode == MODE_DIRECT &&
	       lv->bps == 8 && !lv->invert && (lv->out_channels == 1 || lv->out_channels == 3) &&
	       lv->spp == lv->out_channels;
}

/*
 * Describe level lv (selected) for jpeg_tiles.c in *jl and list in tiles
 * the tiles the rectangle (x,y,w,h) touches, row by row; returns their
 * count.  *cost: the pixels TurboJPEG will produce decoding them at 1/d.
 * jl borrows libtiff's JPEG tables: valid while the directory stays
 * selected.
 */
static size_t gather_tiles(struct tiff_source *s, const struct tiff_level *lv, uint32_t x,
                           uint32_t y, uint32_t w, uint32_t h, uint32_t d,
                           struct ts_jpeg_level *jl, struct ts_jpeg_tile *tiles,
                           uint64_t *cost)
{
	uint32_t tw = lv->tile_w, th = lv->tile_h, tx, ty, count = 0;
	uint32_t tx0 = x / tw, tx1 = (x + w - 1) / tw, ty0 = y / th, ty1 = (y + h - 1) / th;
	void *tables = NULL;
	size_t n = 0;

	memset(jl, 0, sizeof *jl);
	jl->fd = TIFFFileno(s->tif);
	jl->path = s->path;
	jl->rgb = lv->photometric == PHOTOMETRIC_RGB;
	jl->tile_w = tw;
	jl->tile_h = th;
	/* Even q100 of noise stays under twice the raw size. */
	jl->max_tile_bytes = lv->unit_bytes * 2 + 65536;
	if (TIFFGetField(s->tif, TIFFTAG_JPEGTABLES, &count, &tables) && tables && count >= 4) {
		jl->tables = tables;
		jl->tables_len = count;
	}
	*cost = 0;
	s->libmsg[0] = '\0';
	for (ty = ty0; ty <= ty1; ty++) {
		for (tx = tx0; tx <= tx1; tx++) {
			struct ts_jpeg_tile *t = &tiles[n++];
			uint64_t px = (uint64_t)tx * tw, py = (uint64_t)ty * th;
			uint32_t dt;

			t->x = (uint32_t)px;
			t->y = (uint32_t)py;
			t->valid_w = (uint32_t)(px + tw <= lv->width ? tw : lv->width - px);
			t->valid_h = (uint32_t)(py + th <= lv->height ? th : lv->height - py);
			t->index = TIFFComputeTile(s->tif, t->x, t->y, 0, 0);
			t->offset = TIFFGetStrileOffset(s->tif, t->index);
			t->bytes = TIFFGetStrileByteCount(s->tif, t->index);
			dt = (uint32_t)ts_jpeg_tile_denom(jl, t, (int)d);
			*cost += (uint64_t)(tw / dt) * (th / dt);  /* < units * 2^26 */
		}
	}
	return n;
}

/*
 * The tiles of level `level` that the rectangle (x,y,w,h) touches, for
 * decoding at 1/d: refused with 403 over budget before the list is even
 * allocated (every tile at 1/d is a lower bound), then listed by
 * gather_tiles (the level selected) and checked again at their exact cost.
 * On success *tiles (malloc'd, the caller frees) holds *n tiles.
 */
static ts_status list_tiles(struct tiff_source *s, int level, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h, uint32_t d, uint64_t budget,
                            struct ts_jpeg_level *jl, struct ts_jpeg_tile **tiles, size_t *n,
                            struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	uint32_t tw = lv->tile_w, th = lv->tile_h;
	uint64_t units = ((uint64_t)(x + w - 1) / tw - x / tw + 1) *
	                 ((uint64_t)(y + h - 1) / th - y / th + 1);
	uint64_t pixels, cost;
	ts_status status;

	*tiles = NULL;
	*n = 0;
	if (!ts_mul_u64(units, (uint64_t)(tw / d) * (th / d), &pixels))
		pixels = UINT64_MAX;
	if (budget && pixels > budget)
		return ts_tiff_over_budget(err, pixels, budget);
	if (units > SIZE_MAX / sizeof **tiles)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	status = ts_tiff_select_level(s, level, err);
	if (status != TS_OK)
		return status;
	*tiles = malloc((size_t)units * sizeof **tiles);
	if (!*tiles)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	*n = gather_tiles(s, lv, x, y, w, h, d, jl, *tiles, &cost);
	if (budget && cost > budget) {
		free(*tiles);
		*tiles = NULL;
		*n = 0;
		return ts_tiff_over_budget(err, cost, budget);
	}
	return TS_OK;
}

/*
 * The scaled read: a mosaic at 1/d of the touched tiles, cut to the blocks
 * of d x d level pixels that meet the rectangle.  Its origin is the
 * rectangle's corner rounded down to a multiple of d, which is also where
 * a tile's scaled pixels start (d divides the tile size).  Budget: the
 * pixels TurboJPEG produces, (tile_w/d')*(tile_h/d') per touched tile, d'
 * being d except for edge tiles decoded finer (ts_jpeg_tile_denom).
 */
ts_status ts_tiff_read_region_scaled(struct ts_source *base, int level, uint32_t x, uint32_t y,
                                     uint32_t w, uint32_t h, int *denom, uint64_t budget,
                                     struct ts_image *out, double *origin_x, double *origin_y,
                                     struct ts_error *err)
{
	struct tiff_source *s = (struct tiff_source *)base;
	const struct tiff_level *lv;
	struct ts_jpeg_level jl;
	struct ts_jpeg_tile *tiles = NULL;
	uint32_t tw, th, ox, oy, d;
	uint64_t across, down, units;
	size_t n = 0;
	ts_status status;

	memset(out, 0, sizeof *out);
	*origin_x = x;
	*origin_y = y;
	status = ts_tiff_check_region(s, level, x, y, w, h, &lv, err);
	if (status != TS_OK)
		return status;
	d = *denom >= 8 ? 8 : *denom >= 4 ? 4 : *denom >= 2 ? 2 : 1;
	if (!ts_tiff_jpeg_tiled(lv))
		d = 1;
	else
		while (d > 1 && (lv->tile_w % d || lv->tile_h % d))
			d /= 2;
	tw = lv->tile_w;
	th = lv->tile_h;
	across = tw ? (uint64_t)(x + w - 1) / tw - x / tw + 1 : 0;
	down = th ? (uint64_t)(y + h - 1) / th - y / th + 1 : 0;
	units = across * down;
	/* Small full-size reads and other codecs: libtiff's own path. */
	if (d == 1 && (!ts_tiff_jpeg_tiled(lv) || units < PARALLEL_MIN_TILES)) {
		*denom = 1;
		return ts_tiff_read_region(base, level, x, y, w, h, budget, out, err);
	}

	status = list_tiles(s, level, x, y, w, h, d, budget, &jl, &tiles, &n, err);
	if (status != TS_OK)
		return status;
	ox = x / d * d;
	oy = y / d * d;
	status = ts_image_alloc(out, (x + w - ox + d - 1) / d, (y + h - oy + d - 1) / d,
	                        lv->out_channels, err);
	if (status != TS_OK)
		goto fail;
	status = ts_jpeg_tiles_decode(&jl, tiles, n, (int)d, ox, oy,
	                              n >= PARALLEL_MIN_TILES, out, err);
	if (status != TS_OK)
		goto fail;
	free(tiles);
	*denom = (int)d;
	*origin_x = ox;
	*origin_y = oy;
	return TS_OK;
fail:
	free(tiles);
	ts_image_free(out);
	return status;
}

/*
 * Every stored tile of a whole level, for an answer made from their
 * coefficients (source.h, level_tiles): the same tiles, budget and limits
 * as tiff_read_region_scaled at scale 1 over the whole level.  Only 8-bit
 * 3-channel JPEG-tiled levels; anything else is 501.
 */
ts_status ts_tiff_level_tiles(struct ts_source *base, int level, uint64_t budget,
                              ts_stored_tile_fn *fn, void *arg, struct ts_error *err)
{
	struct tiff_source *s = (struct tiff_source *)base;
	const struct tiff_level *lv;
	struct ts_jpeg_level jl;
	struct ts_jpeg_tile *tiles = NULL;
	size_t n;
	ts_status status;

	status = ts_tiff_check_level(s, level, err);
	if (status != TS_OK)
		return status;
	lv = &s->levels[level];
	if (!ts_tiff_jpeg_tiled(lv) || lv->out_channels != 3)
		return ts_error_set(err, TS_ENOTIMPL, "not a colour JPEG-tiled level");
	status = list_tiles(s, level, 0, 0, lv->width, lv->height, 1, budget, &jl, &tiles, &n, err);
	if (status != TS_OK)
		return status;
	status = ts_jpeg_tiles_each(&jl, tiles, n, n >= PARALLEL_MIN_TILES, fn, arg, err);
	free(tiles);
	return status;
}
