/*
 * tile_band.h - level-0 rows gathered into one row of tiles, for the sinks
 * that encode whole tiles from the full-resolution rows alone (JPEG 2000 and
 * HTJ2K: the wavelet makes the lower resolutions).  The pyramid hands rows
 * in bands of any height; the sink wants them a tile row at a time.
 */
#ifndef TESSERA_CONVERT_TILE_BAND_H
#define TESSERA_CONVERT_TILE_BAND_H

#include <stddef.h>
#include <stdint.h>
#include "tessera/convert.h"
#include "tessera/image.h"
#include "tessera/status.h"

struct ts_tile_band {
	uint8_t *rows;          /* tile rows of width*channels, interleaved (owned) */
	size_t stride;          /* width * channels */
	uint32_t width, height, tile;
	int channels;
	uint32_t y0, have;      /* first image row of the band, rows held */
	uint32_t next_y;        /* the row the pyramid's next band must start at */
};

/* Room for one tile row of a width x height image; overflow-checked. */
ts_status ts_tile_band_alloc(struct ts_tile_band *b, uint32_t width, uint32_t height,
                             uint32_t tile, int channels, struct ts_error *err);

/* Begin the level-0 tile grid of a JPEG 2000 code-stream for geometry g:
 * checks g (a level, 1 to 4 channels; 500 otherwise), counts the tiles
 * across (*ntx) and down (*nty), at most 65535 in all (Isot is 16 bits,
 * ISO/IEC 15444-1 A.4.2; 400 otherwise), and allocates the band as
 * ts_tile_band_alloc does for level 0. */
ts_status ts_tile_band_begin(struct ts_tile_band *b, const struct ts_pyramid_geometry *g,
                             uint32_t tile, uint32_t *ntx, uint32_t *nty, struct ts_error *err);

/* A sink's rows: append `band` (rows of pyramid level `level` from row
 * y, in order); other levels than 0 are ignored (the wavelet makes the
 * lower resolutions).  Whenever the band holds a whole tile row, or the
 * image's last rows, flush(ctx) encodes rows[0, have) starting at image
 * row y0; the band is then emptied. */
ts_status ts_tile_band_add(struct ts_tile_band *b, int level, uint32_t y,
                           const struct ts_image *band,
                           ts_status (*flush)(void *ctx, struct ts_error *err), void *ctx,
                           struct ts_error *err);

void ts_tile_band_free(struct ts_tile_band *b);

#endif
