/*
 * test_colour.c - IIIF qualities: gray luminance values, bitonal threshold,
 * alpha carried through, default and color leaving the image alone.
 */
#include <stdlib.h>
#include "check.h"
#include "tessera/pipe.h"

static void make(struct ts_image *img, uint32_t w, int nc, const uint8_t *data)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, w, 1, nc, &err) != TS_OK)
		abort();
	memcpy(img->pixels, data, (size_t)w * nc);
}

static void gray_is_rounded_rec601_luminance(void)
{
	static const uint8_t rgb[] = { 255, 0, 0, 0, 255, 0, 0, 0, 255,
	                               255, 255, 255, 10, 20, 30, 0, 0, 0 };
	struct ts_image img;
	struct ts_error err = { 0 };

	make(&img, 6, 3, rgb);
	EXPECT_EQ_INT(ts_pipe_quality(&img, TS_QUALITY_GRAY, &err), TS_OK);
	EXPECT_EQ_INT(img.channels, 1);
	EXPECT_EQ_INT(img.width, 6);
	EXPECT_EQ_INT(img.pixels[0], 76);   /* 76.245 */
	EXPECT_EQ_INT(img.pixels[1], 150);  /* 149.685 */
	EXPECT_EQ_INT(img.pixels[2], 29);   /* 29.07 */
	EXPECT_EQ_INT(img.pixels[3], 255);
	EXPECT_EQ_INT(img.pixels[4], 18);   /* 18.15 */
	EXPECT_EQ_INT(img.pixels[5], 0);
	ts_image_free(&img);
}

static void gray_keeps_the_alpha_channel(void)
{
	static const uint8_t rgba[] = { 255, 0, 0, 7, 0, 255, 0, 200 };
	struct ts_image img;
	struct ts_error err = { 0 };

	make(&img, 2, 4, rgba);
	EXPECT_EQ_INT(ts_pipe_quality(&img, TS_QUALITY_GRAY, &err), TS_OK);
	EXPECT_EQ_INT(img.channels, 2);
	EXPECT_EQ_INT(img.pixels[0], 76);
	EXPECT_EQ_INT(img.pixels[1], 7);
	EXPECT_EQ_INT(img.pixels[2], 150);
	EXPECT_EQ_INT(img.pixels[3], 200);
	ts_image_free(&img);
}

static void bitonal_thresholds_luminance_at_128(void)
{
	static const uint8_t rgb[] = { 127, 127, 127, 128, 128, 128, 255, 0, 0, 0, 255, 0 };
	static const uint8_t ga[] = { 127, 9, 128, 10 };
	struct ts_image img;
	struct ts_error err = { 0 };

	make(&img, 4, 3, rgb);
	EXPECT_EQ_INT(ts_pipe_quality(&img, TS_QUALITY_BITONAL, &err), TS_OK);
	EXPECT_EQ_INT(img.channels, 1);
	EXPECT_EQ_INT(img.pixels[0], 0);
	EXPECT_EQ_INT(img.pixels[1], 255);
	EXPECT_EQ_INT(img.pixels[2], 0);    /* red: 76 */
	EXPECT_EQ_INT(img.pixels[3], 255);  /* green: 150 */
	ts_image_free(&img);

	make(&img, 2, 2, ga);
	EXPECT_EQ_INT(ts_pipe_quality(&img, TS_QUALITY_BITONAL, &err), TS_OK);
	EXPECT_EQ_INT(img.channels, 2);
	EXPECT_EQ_INT(img.pixels[0], 0);
	EXPECT_EQ_INT(img.pixels[1], 9);
	EXPECT_EQ_INT(img.pixels[2], 255);
	EXPECT_EQ_INT(img.pixels[3], 10);
	ts_image_free(&img);
}

static void default_and_color_leave_the_pixels_alone(void)
{
	static const uint8_t rgb[] = { 1, 2, 3, 200, 100, 50 };
	static const uint8_t g[] = { 5, 250 };
	struct ts_image img;
	struct ts_error err = { 0 };

	make(&img, 2, 3, rgb);
	EXPECT_EQ_INT(ts_pipe_quality(&img, TS_QUALITY_DEFAULT, &err), TS_OK);
	EXPECT_EQ_INT(ts_pipe_quality(&img, TS_QUALITY_COLOR, &err), TS_OK);
	EXPECT_EQ_INT(img.channels, 3);
	EXPECT(memcmp(img.pixels, rgb, 6) == 0);
	ts_image_free(&img);

	make(&img, 2, 1, g);
	EXPECT_EQ_INT(ts_pipe_quality(&img, TS_QUALITY_COLOR, &err), TS_OK);
	EXPECT_EQ_INT(img.channels, 1);
	EXPECT_EQ_INT(ts_pipe_quality(&img, TS_QUALITY_GRAY, &err), TS_OK);
	EXPECT_EQ_INT(img.channels, 1);
	EXPECT(memcmp(img.pixels, g, 2) == 0);
	ts_image_free(&img);
}

int main(void)
{
	RUN(gray_is_rounded_rec601_luminance);
	RUN(gray_keeps_the_alpha_channel);
	RUN(bitonal_thresholds_luminance_at_128);
	RUN(default_and_color_leave_the_pixels_alone);
	return CHECK_DONE();
}
