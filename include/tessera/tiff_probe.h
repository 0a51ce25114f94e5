/*
 * tiff_probe.h - the geometry of a TIFF read from its IFDs alone, without
 * libtiff (src/probe/tiff_probe.c), for the Presentation probes.
 *
 * A Manifest of a 2,000-page book needs each page's size, levels and tile
 * sizes, never a pixel; opening every page with libtiff spends most of that
 * time setting up state for decoding.  This reader walks the IFDs the way
 * tiff_read.c's level discovery does (IFD0, later top-level IFDs, IFD0's
 * SubIFDs; reduced copies of the same aspect, strictly decreasing) and
 * answers the very struct ts_source_info that ts_source_open would.
 *
 * It answers only when it is sure libtiff would answer the same: a layout
 * tiff_read.c decodes directly (8/16-bit unsigned, contiguous, grey, RGB,
 * or JPEG YCbCr, a codec we know), every tag it needs present and sane.
 * Anything else (palette, bilevel, planar, unusual tags, a level it cannot
 * classify, an image over the pixel limit) is 501, and the caller asks
 * libtiff; a truncated or corrupt header is 500.  Reads are bounded: at most
 * TS_TIFF_PROBE_MAX_READ bytes, at most 64 + 64 IFDs of at most 4,096
 * entries, IFD loops refused.
 */
#ifndef TESSERA_TIFF_PROBE_H
#define TESSERA_TIFF_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media.h"
#include "source.h"
#include "status.h"

/* The most bytes one TIFF probe reads, whatever the IFDs claim. */
#define TS_TIFF_PROBE_MAX_READ (1u << 20)

/* Whether head[0..n) starts like a classic or Big TIFF. */
bool ts_tiff_probe_sniff(const unsigned char *head, size_t n);

/*
 * The geometry of the TIFF rd reads: width, height, channels, bits, levels
 * with tile sizes, format "tiff", no ICC profile, min_decode 0 - exactly
 * what ts_source_open's info says for the same file.  max_pixels: images
 * declaring more full-size pixels are left to libtiff (0: no limit).
 * TS_OK; TS_ENOTIMPL when the file is one to leave to libtiff; TS_EINTERNAL
 * when the header is truncated or corrupt.  Reads through rd only.
 */
ts_status ts_tiff_probe(const struct ts_media_reader *rd, uint64_t max_pixels,
                        struct ts_source_info *out, struct ts_error *err);

/* ts_tiff_probe on an open descriptor (pread; the offset is not moved).
 * size is the file's length (from fstat).  Borrows fd. */
ts_status ts_tiff_probe_fd(int fd, uint64_t size, uint64_t max_pixels,
                           struct ts_source_info *out, struct ts_error *err);

#endif
