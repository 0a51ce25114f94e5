/*
 * encoder.h - from pixels to bytes (src/encode/).
 *
 * One file per format (jpeg_write.c, png_write.c, webp_write.c,
 * tiff_write.c); ts_encode dispatches.  Each library's errors are caught at
 * its border and become a 500 with a public message.  JPEG has no alpha:
 * the JPEG encoder composites alpha over white.
 */
#ifndef TESSERA_ENCODER_H
#define TESSERA_ENCODER_H

#include "buf.h"
#include "command.h"
#include "image.h"
#include "status.h"

struct ts_encode_opts {
	int jpeg_quality;   /* 1..100 */
	int webp_quality;   /* 1..100 */
	int png_level;      /* zlib level 0..9 */
	/* ICC profile to embed (borrowed; NULL/0 for none).  Each writer embeds
	 * it only when ts_icc_fits the pixels it writes (icc.h), so a gray
	 * rendering of an RGB source goes out without it. */
	const unsigned char *icc;
	size_t icc_len;
};

/* Encode img (borrowed) as fmt, appending to out.  501 for formats that
 * are recognised but not implemented (gif, jp2, pdf). */
ts_status ts_encode(const struct ts_image *img, enum ts_format fmt,
                    const struct ts_encode_opts *opts, struct ts_buf *out,
                    struct ts_error *err);

/* True when this build can encode fmt (for info.json extraFormats). */
bool ts_encode_supported(enum ts_format fmt);

/* The per-format writers.  icc/icc_len: a profile to embed when it fits
 * (see struct ts_encode_opts), borrowed, NULL/0 for none.  JPEG carries it
 * in APP2 "ICC_PROFILE" segments, PNG in iCCP, WebP in an ICCP chunk (RGB
 * only: WebP pictures are RGB), TIFF in the ICCProfile tag (34675). */
ts_status ts_jpeg_write(const struct ts_image *img, int quality, const unsigned char *icc,
                        size_t icc_len, struct ts_buf *out, struct ts_error *err);
ts_status ts_png_write(const struct ts_image *img, int level, const unsigned char *icc,
                       size_t icc_len, struct ts_buf *out, struct ts_error *err);
ts_status ts_webp_write(const struct ts_image *img, int quality, const unsigned char *icc,
                        size_t icc_len, struct ts_buf *out, struct ts_error *err);
ts_status ts_tiff_write(const struct ts_image *img, const unsigned char *icc, size_t icc_len,
                        struct ts_buf *out, struct ts_error *err);

/*
 * Encode YCbCr 4:2:0 planes as a colour JPEG (TJSAMP_420): planes[0] is Y,
 * width x height; planes[1] Cb and planes[2] Cr, ceil(width/2) x
 * ceil(height/2); one channel each (as filled by a source's
 * read_level_yuv420).  TurboJPEG reads Y padded to even sizes: its stride
 * must be at least width rounded up to even, and its buffer must hold
 * height rounded up to even rows (the padding should copy the edge).  Borrows the planes; appends to out; the ICC profile
 * is embedded as by ts_jpeg_write when it fits colour.  Meant for quality
 * < 90, where ts_jpeg_write subsamples 4:2:0 too.
 */
ts_status ts_jpeg_write_planes(const struct ts_image planes[3], int quality,
                               const unsigned char *icc, size_t icc_len, struct ts_buf *out,
                               struct ts_error *err);

/*
 * Append the JPEG stream jpeg[0..len) to out with icc[0..icc_len) inserted
 * as APP2 "ICC_PROFILE" segments (ICC.1:2010 Annex B.4: at most 65519
 * profile bytes each, numbered from 1, with the count) right after the SOI
 * and any APP0 (JFIF/JFXX) segments that follow it.  No check of the
 * profile itself (callers use ts_icc_fits).  500 "corrupt JPEG" when jpeg
 * does not start with SOI or its APP0 runs past the end; on failure out
 * keeps what it held.  Borrows both inputs.
 */
ts_status ts_jpeg_icc_append(const unsigned char *jpeg, size_t len, const unsigned char *icc,
                             size_t icc_len, struct ts_buf *out, struct ts_error *err);

#endif
