/*
 * tree.h - what the static tile-tree sinks share (src/convert/tree.c):
 * sink_deepzoom.c, sink_zoomify.c and sink_iiif.c.
 *
 * Three small pieces.  A band cutter (struct ts_tree_band) holds one band of
 * one level's rows - a tile row plus its overlap, never more - and calls
 * back with each tile row as soon as its last row has arrived.  A tile
 * writer (ts_tree_write_tiles) encodes a batch of tiles with the encoders of
 * src/encode/ on several threads and writes each to its file.  A staging
 * folder (ts_tree_stage_*) receives everything under a temporary name next
 * to the final one and is renamed into place only when complete, so a
 * partial tree is never left under the final name (convert.h).
 *
 * Internal to src/convert/: not a public header.
 */
#ifndef TESSERA_CONVERT_TREE_H
#define TESSERA_CONVERT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/convert.h"
#include "tessera/image.h"
#include "tessera/status.h"

/* ---- band cutter ---------------------------------------------------------- */

/* Called with the rows [y0, y1) of tile row `trow` (rows[0] is level row
 * y0, each row `stride` bytes, the level's width wide).  Tile row r covers
 * [r*tile - (r ? overlap : 0), min((r+1)*tile + overlap, height)). */
typedef ts_status ts_tree_emit_fn(void *arg, int level, uint32_t trow, uint32_t y0, uint32_t y1,
                                  const uint8_t *rows, size_t stride, struct ts_error *err);

struct ts_tree_band {
	int level;                /* handed back to emit */
	uint32_t width, height;   /* what the tree keeps of the level (may crop it) */
	int channels;
	uint32_t tile, overlap;
	uint8_t *buf;             /* cap_rows rows of width*channels bytes */
	size_t stride;
	uint32_t cap_rows;
	uint32_t buf_y0;          /* level row of buf's first row */
	uint32_t have;            /* rows held */
	uint32_t trow;            /* next tile row to emit */
	uint32_t next_y;          /* next level row expected from the builder */
	bool done;                /* every tile row emitted */
};

/* Set up a cutter keeping width x height of a level (the first columns and
 * rows of what the builder sends).  500 on overflow or out of memory. */
ts_status ts_tree_band_init(struct ts_tree_band *b, int level, uint32_t width, uint32_t height,
                            int channels, uint32_t tile, uint32_t overlap, struct ts_error *err);
/* Take the builder's band (level rows y .. y+band->height; band may be
 * wider and run lower than the kept area), calling emit for every tile row
 * it completes.  Rows must come top down without gaps: 500 otherwise. */
ts_status ts_tree_band_push(struct ts_tree_band *b, uint32_t y, const struct ts_image *band,
                            ts_tree_emit_fn *emit, void *arg, struct ts_error *err);
void ts_tree_band_free(struct ts_tree_band *b);

/* DeepZoom's rule for one axis (the same as src/proto/deepzoom.c's): tile t
 * of a level `size` long covers [t*tile - (t ? overlap : 0), min((t+1)*tile
 * + overlap, size)).  ntiles = ceil(size / tile). */
void ts_tree_axis(uint32_t t, uint32_t size, uint32_t tile, uint32_t overlap, uint32_t *a0,
                  uint32_t *a1);
static inline uint32_t ts_tree_ntiles(uint32_t size, uint32_t tile)
{
	return (uint32_t)(((uint64_t)size + tile - 1) / tile);
}
/* Every cutter of bands[0..n) has emitted its last tile row: TS_OK, else
 * 500 "the pyramid ended before its last row" (a sink's finish). */
ts_status ts_tree_bands_done(const struct ts_tree_band *bands, int n, struct ts_error *err);

/* ---- tile writer ------------------------------------------------------------ */

struct ts_tree_tile {
	struct ts_image view;     /* borrows the band's pixels (stride of the band) */
	char path[256];           /* relative to the staging root */
	char alias[3][256];       /* more names for the same file (hard links) */
	int naliases;
};

struct ts_tree_format {
	bool png;                 /* PNG tiles, else JPEG */
	int quality;              /* JPEG 1..100 */
	int threads;              /* >= 1 */
	const char *root;         /* the staging root (borrowed) */
};

/* The tile writer's settings from the options: PNG when o->compression
 * says so, else JPEG at o->quality (85 when out of 1..100), threads from
 * ts_tree_threads.  fmt->root is left for the caller (the staging folder). */
void ts_tree_format_init(struct ts_tree_format *fmt, const struct ts_convert_opts *o);

/* Point t->view at columns [x0, x1) of the tile row `rows` (rows y0..y1 of
 * b's level, `stride` bytes apart): borrows the rows until the tiles are
 * written. */
void ts_tree_tile_view(struct ts_tree_tile *t, const struct ts_tree_band *b, const uint8_t *rows,
                       size_t stride, uint32_t x0, uint32_t x1, uint32_t y0, uint32_t y1);

/* Room for the widest tile row of bands[0..n) (ts_tree_ntiles of each
 * band's width and tile): *tiles is a new zeroed array the sink frees.
 * 500 when out of memory. */
ts_status ts_tree_tiles_alloc(const struct ts_tree_band *bands, int n, struct ts_tree_tile **tiles,
                              struct ts_error *err);

/* Encode tiles[0..n) and write each to root/path (its folder must exist);
 * on several threads when fmt->threads > 1 and n > 1.  500 with the first
 * failure's sentence (path in detail). */
ts_status ts_tree_write_tiles(const struct ts_tree_format *fmt, struct ts_tree_tile *tiles,
                              size_t n, struct ts_error *err);

/* ---- staging ------------------------------------------------------------------ */

/* Make an empty folder "<final>.tmp-XXXXXX" beside final; *stage is
 * malloc'd (the caller frees it).  500 when it cannot. */
ts_status ts_tree_stage_create(const char *final, char **stage, struct ts_error *err);
/* mkdir -p root/rel (rel relative, '/'-separated).  500 on failure. */
ts_status ts_tree_mkdirs(const char *root, const char *rel, struct ts_error *err);
/* Write len bytes to path (created or truncated).  500 on failure. */
ts_status ts_tree_write_file(const char *path, const void *data, size_t len,
                             struct ts_error *err);
/* Put `from` (a file or folder) under the name `to`, replacing whatever was
 * there (an older tree is moved aside, then removed).  500 on failure. */
ts_status ts_tree_replace(const char *from, const char *to, struct ts_error *err);
/* Give the file root/path the further name root/alias (a hard link, or a
 * copy where links fail); alias's folder must exist.  500 on failure. */
ts_status ts_tree_alias(const char *root, const char *path, const char *alias,
                        struct ts_error *err);
/* rm -rf path (no symlinks followed).  NULL is ignored. */
void ts_tree_remove(const char *path);
/* A tree sink's abort: remove the staging folder *stage (if any) with all
 * it holds, free the name and set it to NULL.  Safe to call twice. */
void ts_tree_stage_drop(char **stage);
/* Free the n cutters of bands (ts_tree_band_free on each). */
void ts_tree_bands_free(struct ts_tree_band *bands, int n);

/* Encoder threads for o->threads (0 = the number of cores), at least 1. */
int ts_tree_threads(const struct ts_convert_opts *o);

#endif
