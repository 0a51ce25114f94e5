/*
 * jpeg_window.h - one rectangle of one JPEG stream decoded, and only that
 * (jpeg_window.c), private to src/source/.
 *
 * For a stored tile a region only partly covers: rows above the window
 * are skipped without inverse DCT (jpeg_skip_scanlines), columns outside
 * it are cropped to the iMCU grid (jpeg_crop_scanline), and decoding stops
 * after the window's last row, so nothing below it is even entropy-decoded.
 * The pixels are those of the same stream decoded whole by TurboJPEG
 * (tjDecompress2, default flags: accurate DCT, fancy upsampling) at the
 * same scale: tests/unit/source/test_jpeg_window.c compares them.
 */
#ifndef TESSERA_JPEG_WINDOW_H
#define TESSERA_JPEG_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A decoder kept between calls by one thread (opaque). */
struct ts_jpeg_window;

/* NULL when out of memory. */
struct ts_jpeg_window *ts_jpeg_window_new(void);
void ts_jpeg_window_free(struct ts_jpeg_window *w);

/*
 * Decode the window [x0, x1) x [y0, y1) of the stream jpeg[0..len), in
 * pixels of the stream scaled by 1/denom (1, 2, 4 or 8), as channels
 * (1: gray, 3: RGB; an Adobe marker's transform decides, as in
 * TurboJPEG), into dst (row y0 at dst, dst_stride bytes apart).  The
 * caller checked the stream's header: the window lies inside its scaled
 * size.  Any libjpeg error or warning fails (false), with the reason in
 * detail; dst may then hold part of the window.
 */
bool ts_jpeg_window_decode(struct ts_jpeg_window *w, const unsigned char *jpeg, size_t len,
                           int denom, int channels, uint32_t x0, uint32_t y0, uint32_t x1,
                           uint32_t y1, uint8_t *dst, size_t dst_stride, char *detail,
                           size_t detail_size);

#endif
