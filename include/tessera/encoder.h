/*
 * encoder.h - from pixels to bytes (src/encode/).
 *
 * One file per format (jpeg_write.c, png_write.c, webp_write.c,
 * tiff_write.c, gif_write.c, jp2_write.c, pdf_write.c); ts_encode
 * dispatches.  Each library's errors are caught at
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

/* Encode img (borrowed) as fmt, appending to out.  JPEG 2000 and PDF take
 * opts->jpeg_quality (jp2_write.c maps it to a target PSNR; PDF embeds a
 * JPEG at that quality). */
ts_status ts_encode(const struct ts_image *img, enum ts_format fmt,
                    const struct ts_encode_opts *opts, struct ts_buf *out,
                    struct ts_error *err);

/* True when this build can encode fmt (for info.json extraFormats). */
bool ts_encode_supported(enum ts_format fmt);

/* True when fmt carries transparency (PNG, WebP, TIFF, GIF's transparent
 * index, JPEG 2000's alpha component): a rotation's corners are then left
 * transparent rather than white. */
bool ts_encode_keeps_alpha(enum ts_format fmt);

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
/* GIF89a through a palette chosen from img (palette.h): at most 256
 * colours, alpha < 128 transparent.  400 past 65535 pixels a side. */
ts_status ts_gif_write(const struct ts_image *img, struct ts_buf *out, struct ts_error *err);
/* JP2 through OpenJPEG: one tile, lossy at a PSNR mapped from quality
 * (1..99), lossless at 100; alpha kept as a component. */
ts_status ts_jp2_write(const struct ts_image *img, int quality, const unsigned char *icc,
                       size_t icc_len, struct ts_buf *out, struct ts_error *err);
/* One-page PDF 1.4 holding the JPEG of img at quality (pdf.h); the page is
 * the picture at 72 dpi.  400 where the JPEG would be (65535 pixels). */
ts_status ts_pdf_write(const struct ts_image *img, int quality, const unsigned char *icc,
                       size_t icc_len, struct ts_buf *out, struct ts_error *err);

/* Colour JPEG answers halve chroma (4:2:0) below quality 90 and keep it
 * (4:4:4) from 90 up: vips writes its JPEG-in-TIFF tiles at Q>=90 without
 * subsampling, so a re-encoded tile then looks like the stored one. */
static inline bool ts_jpeg_halves_chroma(int quality)
{
	return quality < 90;
}

/* Append a finished JPEG stream to out with the ICC profile embedded as
 * ts_jpeg_write does, when it fits nc components (1 gray, 3 colour). */
ts_status ts_jpeg_append_output(const unsigned char *jpeg, size_t jpeg_len,
                                const unsigned char *icc, size_t icc_len, int nc,
                                struct ts_buf *out, struct ts_error *err);

/* JPEG's frame header stores 16-bit sizes (T.81 B.2.2): false, with a 400
 * in err, when w x h does not fit.  Clamps *quality to 1..100. */
bool ts_jpeg_frame_fits(uint32_t w, uint32_t h, int *quality, struct ts_error *err);

/*
 * A whole level of stored JPEG tiles as one JPEG, from their coefficients
 * (jpeg_transcode.c): no inverse or forward DCT, no pixels.  The output is
 * baseline JFIF YCbCr with the IJG tables at quality and the standard
 * Huffman tables, 4:2:0 below quality 90 and 4:4:4 from 90 up, as
 * ts_jpeg_write makes it.
 *
 * begin sets up a width x height picture; then every tile covering it is
 * handed to ts_jpeg_transcode_tile (a complete JPEG stream whose top-left
 * is level pixel (x, y), x and y multiples of 16; rgb: its components are
 * R,G,B, else Y,Cb,Cr), from any number of threads at once for different
 * tiles; finish appends the picture to out with the ICC profile embedded
 * as by ts_jpeg_write.  Tiles of 3 8-bit components, 4:4:4 (RGB or
 * YCbCr), 4:2:2, 4:4:0 or 4:2:0 (only 4:4:4 for a 4:4:4 output), whose
 * size is a multiple of 16, are taken; any other is 501 with the reason in
 * detail (nothing is then usable: the caller encodes from pixels
 * instead), and a tile libjpeg
 * cannot read, or reads with a warning, is 500 with libjpeg's message.
 * finish is 500 unless the tiles covered the picture.  free releases
 * everything, after finish or instead of it.
 */
struct ts_jpeg_transcoder;
ts_status ts_jpeg_transcode_begin(uint32_t width, uint32_t height, int quality,
                                  struct ts_jpeg_transcoder **out, struct ts_error *err);
ts_status ts_jpeg_transcode_tile(struct ts_jpeg_transcoder *t, const unsigned char *jpeg,
                                 size_t len, bool rgb, uint32_t x, uint32_t y, char *detail,
                                 size_t detail_size);
ts_status ts_jpeg_transcode_finish(struct ts_jpeg_transcoder *t, const unsigned char *icc,
                                   size_t icc_len, struct ts_buf *out, struct ts_error *err);
void ts_jpeg_transcode_free(struct ts_jpeg_transcoder *t);

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

/*
 * A JPEG written to a file row by row (jpeg_stream.c), for pictures too
 * large to hold whole: begin creates path and sets up width x height of
 * channels 1..4 (alpha composited over white, chroma as ts_jpeg_write:
 * ts_jpeg_halves_chroma), rows appends n rows (stride bytes apart) top
 * down, finish completes the file (500 unless every row was given), free
 * closes it (after finish or instead of it: then the file is incomplete
 * and the caller removes it).  400 for sides over 65535, 500 for libjpeg
 * and write errors.  No ICC profile.
 */
struct ts_jpeg_stream;
ts_status ts_jpeg_stream_begin(const char *path, uint32_t width, uint32_t height, int channels,
                               int quality, struct ts_jpeg_stream **out, struct ts_error *err);
ts_status ts_jpeg_stream_rows(struct ts_jpeg_stream *s, const uint8_t *rows, size_t stride,
                              uint32_t n, struct ts_error *err);
ts_status ts_jpeg_stream_finish(struct ts_jpeg_stream *s, struct ts_error *err);
void ts_jpeg_stream_free(struct ts_jpeg_stream *s);

#endif
