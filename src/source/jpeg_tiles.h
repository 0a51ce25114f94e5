/*
 * jpeg_tiles.h - decode many stored JPEG tiles of one pyramid level into a
 * mosaic, optionally at 1/2, 1/4 or 1/8 scale and on several threads, or
 * hand them out whole (jpeg_tiles.c), private to src/source/.
 *
 * The reader (tiff_scaled.c) knows where each tile's bytes are; this module
 * reads them with pread (no shared file offset, so any thread may), merges
 * the level's JPEG tables, and decompresses with TurboJPEG straight into
 * the mosaic.  Mosaic pixel (u,v) stands for the denom x denom block of
 * level pixels starting at (origin_x + u*denom, origin_y + v*denom); a
 * block cut by the image's right or bottom edge is the mean of its pixels
 * inside the image.
 */
#ifndef TESSERA_JPEG_TILES_H
#define TESSERA_JPEG_TILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/image.h"
#include "tessera/source.h"
#include "tessera/status.h"

/* What every tile of the batch shares.  Borrowed for the call. */
struct ts_jpeg_level {
	int fd;                          /* the file, read with pread only */
	const char *path;                /* for the private error detail */
	const unsigned char *tables;     /* JPEGTables (SOI..EOI) or NULL */
	size_t tables_len;
	bool rgb;                        /* components are R,G,B (add Adobe marker) */
	uint32_t tile_w, tile_h;         /* coded size of every tile */
	size_t max_tile_bytes;           /* a larger stored tile is corrupt */
};

/* One stored tile. */
struct ts_jpeg_tile {
	uint64_t offset, bytes;          /* where its stream is in the file */
	uint32_t x, y;                   /* its top-left, in level pixels */
	uint32_t valid_w, valid_h;       /* its part inside the image */
	uint32_t index;                  /* the file's tile number, for errors */
};

/*
 * Largest d' <= denom (powers of two) that one tile can be decoded at
 * exactly: denom divides nothing partial, so an edge tile whose valid size
 * is not a multiple of denom is decoded finer and averaged down.  Used for
 * budgeting before any work: the tile costs (tile_w/d')*(tile_h/d') pixels.
 */
int ts_jpeg_tile_denom(const struct ts_jpeg_level *lv, const struct ts_jpeg_tile *t,
                       int denom);

/*
 * Decode tiles[0..n) into out, an image the caller allocated with
 * out->channels 1 (gray tiles) or 3 (colour, delivered as RGB), whose
 * pixel (0,0) is level pixel (origin_x, origin_y) at scale 1/denom.
 * denom is 1, 2, 4 or 8, divides tile_w, tile_h, origin_x and origin_y.
 * Only the part of each tile inside both out and the tile's valid area is
 * written; the caller makes sure the tiles cover out.  parallel: spread
 * the tiles over the decode workers (tile_pool.h).  A tile that cannot be
 * read or decodes with any libjpeg warning is 500 "corrupt tile" (the
 * first such tile, in order, is reported).
 */
ts_status ts_jpeg_tiles_decode(const struct ts_jpeg_level *lv, const struct ts_jpeg_tile *tiles,
                               size_t n, int denom, uint32_t origin_x, uint32_t origin_y,
                               bool parallel, struct ts_image *out, struct ts_error *err);

/*
 * Hand every tile of tiles[0..n) to fn as a complete JPEG stream (the
 * level's tables merged in, an Adobe marker added to R,G,B tiles), after
 * checking its header against the level's tile size.  parallel: spread
 * over the decode workers, so fn runs on several threads at once for
 * different tiles.  The first tile (in order) that cannot be read is 500
 * "corrupt tile"; the first that fn refuses gives fn's status, 501 "stored
 * tiles not usable" or 500 "corrupt tile", with fn's detail.
 */
ts_status ts_jpeg_tiles_each(const struct ts_jpeg_level *lv, const struct ts_jpeg_tile *tiles,
                             size_t n, bool parallel, ts_stored_tile_fn *fn, void *arg,
                             struct ts_error *err);

#endif
