/*
 * jpeg_write.c - pixels to JPEG with the TurboJPEG API.
 *
 * The last stage for .jpg requests.  JPEG has no alpha, so an image with
 * alpha is first composited over white (what a viewer would show on a
 * white page); gray stays one-channel gray.  Colour is subsampled 4:2:0
 * below quality 90 and kept 4:4:4 from 90 up: vips writes its JPEG-in-TIFF
 * tiles at Q>=90 without subsampling, so a re-encoded tile then looks like
 * the stored tile that is passed through untouched next to it.  The
 * source's ICC profile, when it fits (an RGB profile for colour, a gray one
 * for gray), goes into APP2 segments spliced in after the SOI and the JFIF
 * APP0 (jpeg_icc.c).
 *
 * A TurboJPEG handle is created per call and destroyed before returning:
 * measured with libturbojpeg 2.1, create+destroy costs ~0.15 us against
 * ~13 us for encoding even a 64x64 tile, so a per-thread cached handle
 * would buy nothing and would leak at thread exit.  Errors are read from
 * that handle (tjGetErrorStr2), never from the library's global string.
 */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include "tessera/checked.h"
#include "tessera/encoder.h"
#include "tessera/icc.h"

/* c over white with alpha a: c*a/255 + 255*(1 - a/255), rounded. */
static inline uint8_t over_white(uint8_t c, uint8_t a)
{
	return (uint8_t)((c * a + 255u * (255u - a) + 127u) / 255u);
}

bool ts_jpeg_frame_fits(uint32_t w, uint32_t h, int *quality, struct ts_error *err)
{
	if (w > 65535 || h > 65535) {
		ts_error_set(err, TS_EBADREQUEST, "JPEG cannot hold images larger than 65535 pixels");
		return false;
	}
	*quality = *quality < 1 ? 1 : *quality > 100 ? 100 : *quality;
	return true;
}

/* Flatten an image with alpha into a new gray or RGB buffer. */
static uint8_t *flatten(const struct ts_image *img, int onc, struct ts_error *err)
{
	size_t n;
	uint8_t *buf;
	int inc = img->channels;

	if (!ts_mul3_size(img->width, img->height, (size_t)onc, &n)) {
		ts_error_set(err, TS_EINTERNAL, "JPEG encoding failed");
		ts_error_detail(err, "flatten size overflows for %ux%u", img->width, img->height);
		return NULL;
	}
	buf = malloc(n);
	if (!buf) {
		ts_error_set(err, TS_EINTERNAL, "out of memory encoding a JPEG");
		return NULL;
	}
	for (uint32_t y = 0; y < img->height; y++) {
		const uint8_t *s = img->pixels + y * img->stride;
		uint8_t *d = buf + (size_t)y * img->width * onc;

		for (uint32_t x = 0; x < img->width; x++, s += inc, d += onc) {
			uint8_t a = s[inc - 1];
			for (int c = 0; c < onc; c++)
				d[c] = over_white(s[c], a);
		}
	}
	return buf;
}

/* The profile is spliced in afterwards (jpeg_icc.c): one copy of the
 * output, only when there is a profile that fits nc components. */
ts_status ts_jpeg_append_output(const unsigned char *jpeg, size_t jpeg_len,
                                const unsigned char *icc, size_t icc_len, int nc,
                                struct ts_buf *out, struct ts_error *err)
{
	if (ts_icc_fits(icc, icc_len, nc))
		return ts_jpeg_icc_append(jpeg, jpeg_len, icc, icc_len, out, err);
	if (!ts_buf_append(out, jpeg, jpeg_len))
		return ts_error_set(err, TS_EINTERNAL, "out of memory encoding a JPEG");
	return TS_OK;
}

ts_status ts_jpeg_write(const struct ts_image *img, int quality, const unsigned char *icc,
                        size_t icc_len, struct ts_buf *out, struct ts_error *err)
{
	tjhandle tj = NULL;
	uint8_t *flat = NULL;
	unsigned char *jpeg = NULL;
	unsigned long jpeg_len = 0;
	const uint8_t *src;
	size_t pitch;
	int pf, samp, colour, nc;
	ts_status st = TS_EINTERNAL;

	if (!img || !img->pixels || img->channels < 1 || img->channels > 4)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for JPEG");
	if (!ts_jpeg_frame_fits(img->width, img->height, &quality, err))
		return TS_EBADREQUEST;

	nc = img->channels;
	colour = nc >= 3;
	src = img->pixels;
	pitch = img->stride;
	if (ts_image_has_alpha(img)) {
		flat = flatten(img, colour ? 3 : 1, err);
		if (!flat)
			goto fail;
		src = flat;
		pitch = (size_t)img->width * (colour ? 3 : 1);
	}
	if (pitch > (size_t)INT32_MAX) {
		ts_error_set(err, TS_EINTERNAL, "JPEG encoding failed");
		ts_error_detail(err, "row pitch %zu too large for TurboJPEG", pitch);
		goto fail;
	}
	pf = colour ? TJPF_RGB : TJPF_GRAY;
	samp = !colour ? TJSAMP_GRAY : ts_jpeg_halves_chroma(quality) ? TJSAMP_420 : TJSAMP_444;

	tj = tjInitCompress();
	if (!tj) {
		ts_error_set(err, TS_EINTERNAL, "JPEG encoding failed");
		ts_error_detail(err, "tjInitCompress: %s", tjGetErrorStr2(NULL));
		goto fail;
	}
	if (tjCompress2(tj, src, (int)img->width, (int)pitch, (int)img->height, pf,
	                &jpeg, &jpeg_len, samp, quality, 0) != 0) {
		ts_error_set(err, TS_EINTERNAL, "JPEG encoding failed");
		ts_error_detail(err, "tjCompress2 %ux%u: %s", img->width, img->height,
		                tjGetErrorStr2(tj));
		goto fail;
	}
	st = ts_jpeg_append_output(jpeg, jpeg_len, icc, icc_len, colour ? 3 : 1, out, err);

fail:
	tjFree(jpeg);
	if (tj)
		tjDestroy(tj);
	free(flat);
	return st;
}
