/*
 * image.h - a decoded 8-bit pixel buffer, the currency of the pipeline.
 *
 * Samples are interleaved, 8 bits each, rows `stride` bytes apart.
 * channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (alpha not premultiplied).
 * Sources with 16-bit samples are reduced to 8 bits by the source reader.
 * The pixels are malloc'd and owned by whoever holds the struct.
 */
#ifndef TESSERA_IMAGE_H
#define TESSERA_IMAGE_H

#include <stdint.h>
#include <stddef.h>
#include "status.h"

struct ts_image {
	uint32_t width;
	uint32_t height;
	int channels;      /* 1..4 */
	size_t stride;     /* bytes per row, >= width * channels */
	uint8_t *pixels;
};

/* Allocate an uninitialised width x height x channels image (stride =
 * width*channels).  Fails with 500 on overflow or out of memory.  The caller
 * has already checked the size against the request limits. */
ts_status ts_image_alloc(struct ts_image *img, uint32_t width, uint32_t height,
                         int channels, struct ts_error *err);
/* Free the pixels and zero the struct. Accepts NULL. */
void ts_image_free(struct ts_image *img);
/* Move src into dst (dst freed first); src is left empty. */
void ts_image_move(struct ts_image *dst, struct ts_image *src);

static inline int ts_image_has_alpha(const struct ts_image *img)
{
	return img->channels == 2 || img->channels == 4;
}

#endif
