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
};

/* Encode img (borrowed) as fmt, appending to out.  501 for formats that
 * are recognised but not implemented (gif, jp2, pdf). */
ts_status ts_encode(const struct ts_image *img, enum ts_format fmt,
                    const struct ts_encode_opts *opts, struct ts_buf *out,
                    struct ts_error *err);

/* True when this build can encode fmt (for info.json extraFormats). */
bool ts_encode_supported(enum ts_format fmt);

ts_status ts_jpeg_write(const struct ts_image *img, int quality, struct ts_buf *out, struct ts_error *err);
ts_status ts_png_write(const struct ts_image *img, int level, struct ts_buf *out, struct ts_error *err);
ts_status ts_webp_write(const struct ts_image *img, int quality, struct ts_buf *out, struct ts_error *err);
ts_status ts_tiff_write(const struct ts_image *img, struct ts_buf *out, struct ts_error *err);

#endif
