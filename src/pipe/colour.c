/*
 * colour.c - the IIIF quality parameter (Image API 3.0 §4.4).
 *
 * The last pixel step before encoding.  default and color leave the image
 * as it is (a gray image asked as color stays gray: there is no colour to
 * add).  gray is luminance with the Rec. 601 weights in integer arithmetic,
 * Y = (299 R + 587 G + 114 B) / 1000 rounded; bitonal is that luminance
 * thresholded at 128 to 0 or 255.  Alpha is carried through unchanged, so
 * RGBA becomes gray+alpha and RGB becomes gray.
 */
#include <string.h>
#include "tessera/pipe.h"

static inline uint8_t luma(const uint8_t *p)
{
	return (uint8_t)((299u * p[0] + 587u * p[1] + 114u * p[2] + 500u) / 1000u);
}

ts_status ts_pipe_quality(struct ts_image *img, enum ts_quality q, struct ts_error *err)
{
	struct ts_image res = { 0 };
	ts_status st;
	int inc, onc;
	bool alpha;

	if (q == TS_QUALITY_DEFAULT || q == TS_QUALITY_COLOR)
		return TS_OK;
	if (q != TS_QUALITY_GRAY && q != TS_QUALITY_BITONAL)
		return ts_error_set(err, TS_EINTERNAL, "unknown quality");
	if (!img || !img->pixels || img->channels < 1 || img->channels > 4)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for quality");

	inc = img->channels;
	alpha = ts_image_has_alpha(img);
	if (inc <= 2) {
		/* Already gray: only bitonal has work to do, in place. */
		if (q == TS_QUALITY_BITONAL) {
			for (uint32_t y = 0; y < img->height; y++) {
				uint8_t *p = img->pixels + y * img->stride;
				for (uint32_t x = 0; x < img->width; x++, p += inc)
					p[0] = p[0] >= 128 ? 255 : 0;
			}
		}
		return TS_OK;
	}

	onc = alpha ? 2 : 1;
	st = ts_image_alloc(&res, img->width, img->height, onc, err);
	if (st)
		return st;
	for (uint32_t y = 0; y < img->height; y++) {
		const uint8_t *p = img->pixels + y * img->stride;
		uint8_t *d = res.pixels + y * res.stride;

		for (uint32_t x = 0; x < img->width; x++, p += inc, d += onc) {
			uint8_t v = luma(p);

			if (q == TS_QUALITY_BITONAL)
				v = v >= 128 ? 255 : 0;
			d[0] = v;
			if (alpha)
				d[1] = p[3];
		}
	}
	ts_image_move(img, &res);
	return TS_OK;
}
