/*
 * palette.h - at most 256 colours chosen from a picture, and the picture
 * mapped onto them (src/encode/palette.c), for GIF output.
 *
 * The one idea: use the picture's own colours when it has few (a bitonal
 * rendering gets exactly its 2, a gray one its gray levels), and otherwise
 * split the colour cube by median cut over a 5-bit-per-channel histogram,
 * each colour the mean of the pixels it stands for; colour pictures are
 * then Floyd-Steinberg dithered onto the palette.  Pixels with alpha below
 * 128 take one transparent index, the rest are opaque.
 */
#ifndef TESSERA_PALETTE_H
#define TESSERA_PALETTE_H

#include <stdbool.h>
#include <stdint.h>
#include "image.h"
#include "status.h"

struct ts_palette {
	int count;               /* entries used, 1..256 (transparent included) */
	uint8_t rgb[256][3];
	int transparent;         /* index of the transparent entry, -1 = none */
	bool dither;             /* ts_palette_map dithers (a median-cut palette) */
	bool exact;              /* every opaque pixel's colour is in the palette */
};

/* Choose at most max_colours (2..256) entries for img (borrowed; 1..4
 * channels as struct ts_image).  Gray pictures (1 or 2 channels) get gray
 * entries only.  500 on out of memory or a bad argument. */
ts_status ts_palette_choose(const struct ts_image *img, int max_colours,
                            struct ts_palette *pal, struct ts_error *err);

/* Write one palette index per pixel of img into idx (width*height bytes,
 * rows packed, allocated by the caller), the nearest entry for each pixel
 * (dithered when pal->dither), the transparent index where alpha < 128.
 * 500 on out of memory. */
ts_status ts_palette_map(const struct ts_image *img, const struct ts_palette *pal,
                         uint8_t *idx, struct ts_error *err);

#endif
