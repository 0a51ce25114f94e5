/*
 * tile_band.c - level-0 rows gathered a tile row at a time (tile_band.h),
 * shared by sink_jp2.c and sink_htj2k.c.
 */
#include <stdlib.h>
#include <string.h>
#include "tessera/checked.h"
#include "tile_band.h"

ts_status ts_tile_band_alloc(struct ts_tile_band *b, uint32_t width, uint32_t height,
                             uint32_t tile, int channels, struct ts_error *err)
{
	size_t bytes;

	memset(b, 0, sizeof *b);
	if (channels < 1 || tile == 0 || !ts_mul_size(width, (size_t)channels, &b->stride) ||
	    !ts_mul_size(b->stride, tile, &bytes))
		return ts_error_set(err, TS_EINTERNAL, "JPEG 2000 band too large");
	b->rows = malloc(bytes);
	if (!b->rows)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	b->width = width;
	b->height = height;
	b->tile = tile;
	b->channels = channels;
	return TS_OK;
}

ts_status ts_tile_band_begin(struct ts_tile_band *b, const struct ts_pyramid_geometry *g,
                             uint32_t tile, uint32_t *ntx, uint32_t *nty, struct ts_error *err)
{
	if (g->nlevels < 1 || g->width[0] == 0 || g->height[0] == 0 || g->channels < 1 ||
	    g->channels > 4 || tile == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid pyramid geometry");
	*ntx = (uint32_t)(((uint64_t)g->width[0] + tile - 1) / tile);
	*nty = (uint32_t)(((uint64_t)g->height[0] + tile - 1) / tile);
	if ((uint64_t)*ntx * *nty > 65535)
		return ts_error_set(err, TS_EBADREQUEST, "too many JPEG 2000 tiles: use a larger tile size");
	return ts_tile_band_alloc(b, g->width[0], g->height[0], tile, g->channels, err);
}

ts_status ts_tile_band_add(struct ts_tile_band *b, int level, uint32_t y,
                           const struct ts_image *band,
                           ts_status (*flush)(void *ctx, struct ts_error *err), void *ctx,
                           struct ts_error *err)
{
	if (level != 0)
		return TS_OK;
	if (!b->rows || y != b->next_y || band->channels != b->channels ||
	    band->width != b->width || (uint64_t)y + band->height > b->height)
		return ts_error_set(err, TS_EINTERNAL, "pyramid rows out of order");
	b->next_y = y + band->height;
	for (uint32_t i = 0; i < band->height; i++) {
		memcpy(b->rows + (size_t)b->have * b->stride, band->pixels + (size_t)i * band->stride,
		       b->stride);
		b->have++;
		if (b->have == b->tile || b->y0 + b->have == b->height) {
			ts_status st = flush(ctx, err);
			if (st)
				return st;
			b->y0 += b->have;
			b->have = 0;
		}
	}
	return TS_OK;
}

void ts_tile_band_free(struct ts_tile_band *b)
{
	free(b->rows);
	b->rows = NULL;
}
