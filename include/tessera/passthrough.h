/*
 * passthrough.h - serving stored JPEG tiles without decoding them
 * (src/encode/jpeg_passthrough.c).
 *
 * A JPEG-compressed TIFF tile is an abbreviated JPEG stream whose tables
 * live in the TIFF's JPEGTables tag.  Merging the two gives a standalone
 * JPEG a browser can show; edge tiles, which are stored padded to the full
 * tile size, are cut to their true size with libjpeg-turbo's lossless
 * transform (the crop starts at 0,0, which is always MCU-aligned), and the
 * gray quality drops the chroma components losslessly too.  Baseline
 * Huffman tiles are cut by re-packing their entropy-coded bits directly
 * (src/encode/jpeg_crop.c), several times faster than the transformer,
 * which stays as the fallback for everything else.
 */
#ifndef TESSERA_PASSTHROUGH_H
#define TESSERA_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "status.h"

/*
 * Append to out the standalone JPEG made of tables (the JPEGTables tag:
 * SOI, DQT/DHT..., EOI; may be NULL/0) and an abbreviated tile stream
 * (SOI ... EOI): SOI, an Adobe transform-0 marker when rgb (components are
 * R,G,B, not YCbCr), the tables' segments, then the tile after its SOI.
 * No decode, no check beyond the tile's SOI (500 "corrupt tile" without
 * it).  Borrows every input; out keeps what it held before.
 */
ts_status ts_jpeg_join(const unsigned char *tables, size_t tables_len,
                       const unsigned char *tile, size_t tile_len, bool rgb,
                       struct ts_buf *out, struct ts_error *err);

/*
 * Append to out a standalone JPEG that is jpeg (a standalone JPEG, e.g.
 * from ts_jpeg_join) cut losslessly to its top-left cw x ch pixels: the
 * kept MCUs' entropy-coded bits re-packed, only the DC differences that
 * change re-encoded; every segment before the scan kept, the SOF's size
 * made cw x ch.  Only baseline sequential Huffman, 8-bit, one scan with
 * every component, no restart interval: anything else, or a DC difference
 * the DC table cannot code, is 501 (TS_ENOTIMPL); corrupt or truncated
 * data is 500 "corrupt tile"; either way out keeps just what it held, and
 * the caller can fall back to a general transformer.  Borrows jpeg.
 */
ts_status ts_jpeg_crop(const unsigned char *jpeg, size_t len, uint32_t cw, uint32_t ch,
                       struct ts_buf *out, struct ts_error *err);

/*
 * Build a standalone JPEG from tables (the JPEGTables tag: SOI, DQT/DHT...,
 * EOI; may be NULL/0) and an abbreviated tile stream (SOI ... EOI), appended
 * to out.  rgb: the components are R,G,B rather than YCbCr (TIFF photometric
 * RGB), so an Adobe marker with transform 0 is added for decoders.  When
 * crop_w x crop_h is smaller than the coded size, the image is cropped
 * losslessly to it; gray keeps only the luminance (or, for RGB components,
 * is refused with 501 so the caller decodes instead).  icc/icc_len: the
 * source's ICC profile (NULL/0 for none), inserted as APP2 segments after
 * the SOI when it fits the output's components (ts_icc_fits: RGB for 3,
 * gray for 1); the rest of the stream is unchanged.  Borrows every input.
 */
ts_status ts_jpeg_passthrough(const unsigned char *tables, size_t tables_len,
                              const unsigned char *tile, size_t tile_len, bool rgb,
                              uint32_t crop_w, uint32_t crop_h, bool gray,
                              const unsigned char *icc, size_t icc_len,
                              struct ts_buf *out, struct ts_error *err);

#endif
