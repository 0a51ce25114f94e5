/*
 * tiff_file.h - a tiled, multi-level TIFF written in any tile order
 * (src/convert/tiff_file.c), for the TIFF sink.
 *
 * Tiles are appended to the file as they are encoded, by any thread, in
 * any order; their offsets are recorded per level.  The IFDs (one per
 * level, as pages or as SubIFDs of the first) are written at the end, and
 * only then the header: classic TIFF when every offset fits in 32 bits,
 * BigTIFF otherwise (TIFF 6.0 and the BigTIFF design, 16-byte header).
 */
#ifndef TESSERA_CONVERT_TIFF_FILE_H
#define TESSERA_CONVERT_TIFF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/status.h"

/* What one IFD says about its level. */
struct ts_tiff_level {
	uint32_t width, height, tile_w, tile_h;
	int spp;                 /* samples per pixel, 8 bits each */
	bool alpha;              /* the last sample is unassociated alpha */
	uint16_t compression;    /* TIFF Compression tag value */
	uint16_t photometric;    /* 1 MinIsBlack, 2 RGB, 6 YCbCr */
	uint16_t ycbcr_sub;      /* 2 (4:2:0) or 1 (4:4:4) when YCbCr, else 0 */
	bool reduced;            /* NewSubfileType 1 */
	const unsigned char *jpegtables; size_t jpegtables_len;   /* borrowed */
	const unsigned char *icc; size_t icc_len;                 /* borrowed */
	double xres, yres;       /* pixels per inch; 0 = none */
};

struct ts_tiff_file;

/* Create `path` (O_EXCL: the caller chose a fresh temporary name). */
ts_status ts_tiff_file_create(const char *path, int nlevels, struct ts_tiff_file **out,
                              struct ts_error *err);

/* Describe level k (before finish); borrows the pointers inside until finish. */
ts_status ts_tiff_file_level(struct ts_tiff_file *f, int k, const struct ts_tiff_level *lv,
                             struct ts_error *err);

/* Append one tile's bytes and record them as tile (col,row) of level k.
 * Thread-safe; any order. */
ts_status ts_tiff_file_tile(struct ts_tiff_file *f, int k, uint32_t col, uint32_t row,
                            const void *data, size_t len, struct ts_error *err);

/* Write the IFDs and the header, fsync-free, close.  subifds: levels 1..n
 * as SubIFDs of level 0 instead of pages; force_big: BigTIFF even under
 * 4 GiB (for tests).  Fails when a tile is missing. */
ts_status ts_tiff_file_finish(struct ts_tiff_file *f, bool subifds, bool force_big,
                              struct ts_error *err);

/* Close without finishing (the caller removes the file); accepts NULL. */
void ts_tiff_file_destroy(struct ts_tiff_file *f);

#endif
