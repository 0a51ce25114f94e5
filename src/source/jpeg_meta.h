/*
 * jpeg_meta.h - what jpeg_read.c learns from a JPEG's APP segments, shared
 * with the converter's streaming JPEG reader (src/convert/rows_jpeg.c).
 */
#ifndef TESSERA_SOURCE_JPEG_META_H
#define TESSERA_SOURCE_JPEG_META_H

#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>

/* EXIF orientation (1..8) of an APP1 segment's data, 1 when absent or
 * malformed; reads only inside [p, p + n). */
int ts_jpeg_exif_orientation(const unsigned char *p, size_t n);

/* The ICC profile of the saved APP2 markers, joined in sequence order; a
 * new malloc'd buffer of *len bytes, or NULL when none usable (icc.h). */
unsigned char *ts_jpeg_icc_from_markers(jpeg_saved_marker_ptr list, size_t *len);

#endif
