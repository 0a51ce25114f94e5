/*
 * encode.c - from the pipeline's pixels to the bytes of the requested
 * format: one switch over enum ts_format to the per-format writers.
 *
 * Every IIIF format (Image API 3.0 §4.5) is written: JPEG, PNG, WebP and
 * TIFF by their libraries, GIF through a palette chosen from the picture
 * (gif_write.c, palette.c), JPEG 2000 by OpenJPEG (jp2_write.c) and PDF as
 * one page holding the answer's JPEG (pdf_write.c).  ts_encode_supported
 * is what info.json advertises.
 */
#include "tessera/encoder.h"

/* Used when the caller passes no options. */
static const struct ts_encode_opts default_opts = {
	.jpeg_quality = 75,
	.webp_quality = 75,
	.png_level = 6,
};

ts_status ts_encode(const struct ts_image *img, enum ts_format fmt,
                    const struct ts_encode_opts *opts, struct ts_buf *out,
                    struct ts_error *err)
{
	if (!opts)
		opts = &default_opts;
	switch (fmt) {
	case TS_FORMAT_JPG:
		return ts_jpeg_write(img, opts->jpeg_quality, opts->icc, opts->icc_len, out, err);
	case TS_FORMAT_PNG:
		return ts_png_write(img, opts->png_level, opts->icc, opts->icc_len, out, err);
	case TS_FORMAT_WEBP:
		return ts_webp_write(img, opts->webp_quality, opts->icc, opts->icc_len, out,
		                     err);
	case TS_FORMAT_TIF:
		return ts_tiff_write(img, opts->icc, opts->icc_len, out, err);
	case TS_FORMAT_GIF:
		return ts_gif_write(img, out, err);
	case TS_FORMAT_JP2:
		return ts_jp2_write(img, opts->jpeg_quality, opts->icc, opts->icc_len, out, err);
	case TS_FORMAT_PDF:
		return ts_pdf_write(img, opts->jpeg_quality, opts->icc, opts->icc_len, out, err);
	}
	return ts_error_set(err, TS_EBADREQUEST, "unknown format");
}

bool ts_encode_supported(enum ts_format fmt)
{
	switch (fmt) {
	case TS_FORMAT_JPG:
	case TS_FORMAT_PNG:
	case TS_FORMAT_WEBP:
	case TS_FORMAT_TIF:
	case TS_FORMAT_GIF:
	case TS_FORMAT_JP2:
	case TS_FORMAT_PDF:
		return true;
	}
	return false;
}

bool ts_encode_keeps_alpha(enum ts_format fmt)
{
	return fmt == TS_FORMAT_PNG || fmt == TS_FORMAT_WEBP || fmt == TS_FORMAT_TIF ||
	       fmt == TS_FORMAT_GIF || fmt == TS_FORMAT_JP2;
}
