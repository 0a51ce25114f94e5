/*
 * rows.h - the row sources behind ts_rows_open (src/convert/rows*.c), for
 * the dispatcher in rows.c only.
 */
#ifndef TESSERA_CONVERT_ROWS_H
#define TESSERA_CONVERT_ROWS_H

#include "tessera/convert.h"

/* A JPEG read with libjpeg scanlines, top down (rows_jpeg.c).  Takes
 * ownership of fd.  r->orientation is the EXIF orientation, not yet
 * applied. */
ts_status ts_rows_jpeg_open(int fd, const char *path, uint64_t max_source_pixels,
                            struct ts_rows **out, struct ts_error *err);

/* A PNG read with libpng rows, top down (rows_png.c); takes fd. */
ts_status ts_rows_png_open(int fd, const char *path, uint64_t max_source_pixels,
                           struct ts_rows **out, struct ts_error *err);

/* A striped TIFF with tall strips in a plain layout, read by scanlines
 * (rows_tiff.c); 501 (no error text) when the file is not one of those. */
ts_status ts_rows_tiff_open(const char *path, uint64_t max_source_pixels,
                            struct ts_rows **out, struct ts_error *err);

/* Any file ts_source_open reads (TIFF, JPEG 2000...), in bands read with
 * ts_source_read_region at full size (rows_region.c). */
ts_status ts_rows_region_open(const char *path, uint64_t max_source_pixels,
                              struct ts_rows **out, struct ts_error *err);

/* Wrap `inner` (owned from now on) so its EXIF orientation is applied:
 * spooled to an unlinked temporary file in tiles, then read back turned
 * (rows_orient.c).  Returns inner itself when its orientation is 1. */
ts_status ts_rows_orient_wrap(struct ts_rows *inner, struct ts_rows **out,
                              struct ts_error *err);

#endif
