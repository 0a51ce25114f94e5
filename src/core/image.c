/*
 * image.c - allocation of pixel buffers, with the size checked first.
 */
#include <stdlib.h>
#include <string.h>
#include "tessera/checked.h"
#include "tessera/image.h"

ts_status ts_image_alloc(struct ts_image *img, uint32_t width, uint32_t height,
                         int channels, struct ts_error *err)
{
	size_t stride, total;

	memset(img, 0, sizeof *img);
	if (width == 0 || height == 0 || channels < 1 || channels > 4)
		return ts_error_set(err, TS_EINTERNAL, "invalid image size");
	if (!ts_mul_size(width, (size_t)channels, &stride) ||
	    !ts_mul_size(stride, height, &total))
		return ts_error_set(err, TS_EINTERNAL, "image size overflows");
	img->pixels = malloc(total);
	if (!img->pixels)
		return ts_error_set(err, TS_EINTERNAL, "out of memory for a %ux%u image",
		                    width, height);
	img->width = width;
	img->height = height;
	img->channels = channels;
	img->stride = stride;
	return TS_OK;
}

void ts_image_free(struct ts_image *img)
{
	if (!img)
		return;
	free(img->pixels);
	memset(img, 0, sizeof *img);
}

void ts_image_move(struct ts_image *dst, struct ts_image *src)
{
	if (dst == src)
		return;
	ts_image_free(dst);
	*dst = *src;
	memset(src, 0, sizeof *src);
}
