/*
 * test_scale.c - resampling: exact block averages, analytic gradients,
 * fractional crops, constant enlargements, exact 1:1 crops and
 * alpha-weighted averaging, each checked pixel by pixel.
 */
#include <math.h>
#include <stdlib.h>
#include "check.h"
#include "tessera/pipe.h"

static uint8_t *px(struct ts_image *img, uint32_t x, uint32_t y)
{
	return img->pixels + y * img->stride + (size_t)x * img->channels;
}

static void make(struct ts_image *img, uint32_t w, uint32_t h, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, w, h, nc, &err) != TS_OK)
		abort();
}

static void two_by_two_blocks_halved_give_the_block_colours_exactly(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	make(&in, 8, 6, 3);
	for (uint32_t y = 0; y < 6; y++)
		for (uint32_t x = 0; x < 8; x++) {
			uint8_t *p = px(&in, x, y);
			uint32_t bx = x / 2, by = y / 2;
			p[0] = (uint8_t)(bx * 60 + 7);
			p[1] = (uint8_t)(by * 100 + 3);
			p[2] = (uint8_t)((bx * 31 + by * 57) % 256);
		}
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0, 0, 8, 6, 4, 3, &out, &err), TS_OK);
	EXPECT_EQ_INT(out.width, 4);
	EXPECT_EQ_INT(out.height, 3);
	EXPECT_EQ_INT(out.channels, 3);
	for (uint32_t y = 0; y < 3; y++)
		for (uint32_t x = 0; x < 4; x++) {
			uint8_t *p = px(&out, x, y);
			EXPECT_EQ_INT(p[0], x * 60 + 7);
			EXPECT_EQ_INT(p[1], y * 100 + 3);
			EXPECT_EQ_INT(p[2], (x * 31 + y * 57) % 256);
		}
	ts_image_free(&in);
	ts_image_free(&out);
}

static void gradient_reduced_by_an_odd_factor_matches_the_analytic_average(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	int bad = 0;

	/* v = 2x + y/3 (+ x*x/64): averages over 3x3 blocks are not integers. */
	make(&in, 90, 27, 1);
	for (uint32_t y = 0; y < 27; y++)
		for (uint32_t x = 0; x < 90; x++)
			*px(&in, x, y) = (uint8_t)(x * 2 + y / 3 + (x * x) / 64 % 20);
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0, 0, 90, 27, 30, 9, &out, &err), TS_OK);
	for (uint32_t oy = 0; oy < 9; oy++)
		for (uint32_t ox = 0; ox < 30; ox++) {
			double sum = 0;
			for (uint32_t y = oy * 3; y < oy * 3 + 3; y++)
				for (uint32_t x = ox * 3; x < ox * 3 + 3; x++)
					sum += *px(&in, x, y);
			if (fabs(*px(&out, ox, oy) - sum / 9) > 1.0)
				bad++;
		}
	EXPECT_EQ_INT(bad, 0);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void fractional_crop_weights_the_partly_covered_edge_pixels(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	make(&in, 20, 3, 1);
	for (uint32_t y = 0; y < 3; y++)
		for (uint32_t x = 0; x < 20; x++)
			*px(&in, x, y) = (uint8_t)(x * 10);
	/* [1.5,3.5) -> (0.5*10 + 20 + 0.5*30)/2 = 20; [3.5,5.5) -> 40;
	 * vertically 3 identical rows, [0.25,2.75) -> same values. */
	EXPECT_EQ_INT(ts_pipe_scale(&in, 1.5, 0.25, 4, 2.5, 2, 1, &out, &err), TS_OK);
	EXPECT_EQ_INT(*px(&out, 0, 0), 20);
	EXPECT_EQ_INT(*px(&out, 1, 0), 40);
	ts_image_free(&out);
	/* [2.25, 5.25) onto one pixel: (0.75*20 + 30 + 40 + 0.25*50)/3 = 32.5 */
	EXPECT_EQ_INT(ts_pipe_scale(&in, 2.25, 0, 3, 3, 1, 1, &out, &err), TS_OK);
	EXPECT(*px(&out, 0, 0) == 32 || *px(&out, 0, 0) == 33);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void enlarging_a_constant_image_keeps_it_constant(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	int bad = 0;

	make(&in, 5, 4, 3);
	for (uint32_t y = 0; y < 4; y++)
		for (uint32_t x = 0; x < 5; x++) {
			uint8_t *p = px(&in, x, y);
			p[0] = 10; p[1] = 200; p[2] = 77;
		}
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0, 0, 5, 4, 23, 17, &out, &err), TS_OK);
	EXPECT_EQ_INT(out.width, 23);
	EXPECT_EQ_INT(out.height, 17);
	for (uint32_t y = 0; y < 17; y++)
		for (uint32_t x = 0; x < 23; x++) {
			uint8_t *p = px(&out, x, y);
			if (p[0] != 10 || p[1] != 200 || p[2] != 77)
				bad++;
		}
	EXPECT_EQ_INT(bad, 0);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void enlarging_a_step_interpolates_monotonically(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	make(&in, 2, 1, 1);
	in.pixels[0] = 0;
	in.pixels[1] = 255;
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0, 0, 2, 1, 8, 1, &out, &err), TS_OK);
	EXPECT(out.pixels[0] < 16);
	EXPECT(out.pixels[7] > 239);
	for (int i = 1; i < 8; i++)
		EXPECT(out.pixels[i] >= out.pixels[i - 1]);
	EXPECT(out.pixels[3] > 64 && out.pixels[4] < 191);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void reducing_one_axis_and_enlarging_the_other_keeps_a_constant(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	int bad = 0;

	make(&in, 40, 3, 4);
	for (size_t i = 0; i < 40 * 3; i++) {
		in.pixels[i * 4] = 90; in.pixels[i * 4 + 1] = 91;
		in.pixels[i * 4 + 2] = 92; in.pixels[i * 4 + 3] = 255;
	}
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0.5, 0.5, 39, 2.25, 7, 11, &out, &err), TS_OK);
	for (size_t i = 0; i < 7 * 11; i++)
		if (out.pixels[i * 4] != 90 || out.pixels[i * 4 + 1] != 91 ||
		    out.pixels[i * 4 + 2] != 92 || out.pixels[i * 4 + 3] != 255)
			bad++;
	EXPECT_EQ_INT(bad, 0);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void an_aligned_crop_at_one_to_one_is_an_exact_copy(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	int bad = 0;

	make(&in, 31, 17, 3);
	srand(7);
	for (size_t i = 0; i < 31 * 17 * 3; i++)
		in.pixels[i] = (uint8_t)rand();
	EXPECT_EQ_INT(ts_pipe_scale(&in, 3, 2, 10, 7, 10, 7, &out, &err), TS_OK);
	for (uint32_t y = 0; y < 7; y++)
		if (memcmp(px(&out, 0, y), px(&in, 3, y + 2), 30) != 0)
			bad++;
	EXPECT_EQ_INT(bad, 0);
	ts_image_free(&out);
	/* One axis aligned at 1:1, the other reduced: the aligned one is a copy. */
	EXPECT_EQ_INT(ts_pipe_scale(&in, 4, 0, 12, 17, 12, 1, &out, &err), TS_OK);
	for (uint32_t x = 0; x < 12; x++) {
		double sum = 0;
		for (uint32_t y = 0; y < 17; y++)
			sum += px(&in, x + 4, y)[1];
		EXPECT(fabs(px(&out, x, 0)[1] - sum / 17) <= 1.0);
	}
	ts_image_free(&in);
	ts_image_free(&out);
}

static void transparent_pixels_do_not_bleed_their_colour(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	/* 4x4 RGBA: left half opaque red, right half transparent green. */
	make(&in, 4, 4, 4);
	for (uint32_t y = 0; y < 4; y++)
		for (uint32_t x = 0; x < 4; x++) {
			uint8_t *p = px(&in, x, y);
			p[0] = x < 2 ? 255 : 0;
			p[1] = x < 2 ? 0 : 255;
			p[2] = 0;
			p[3] = x < 2 ? 255 : 0;
		}
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0, 0, 4, 4, 1, 1, &out, &err), TS_OK);
	EXPECT_EQ_INT(out.channels, 4);
	EXPECT_EQ_INT(out.pixels[0], 255);
	EXPECT_EQ_INT(out.pixels[1], 0);
	EXPECT_EQ_INT(out.pixels[2], 0);
	EXPECT_EQ_INT(out.pixels[3], 128);
	ts_image_free(&out);
	/* Gray+alpha, enlarged: colour stays the opaque pixel's colour. */
	ts_image_free(&in);
	make(&in, 2, 1, 2);
	in.pixels[0] = 200; in.pixels[1] = 255;
	in.pixels[2] = 0;   in.pixels[3] = 0;
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0, 0, 2, 1, 6, 3, &out, &err), TS_OK);
	for (uint32_t x = 0; x < 6; x++)
		if (px(&out, x, 1)[1] > 0)
			EXPECT_EQ_INT(px(&out, x, 1)[0], 200);
	EXPECT(px(&out, 0, 1)[1] > 240);
	EXPECT(px(&out, 5, 1)[1] < 16);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void opaque_rgba_scales_like_rgb(void)
{
	struct ts_image rgb, rgba, a = { 0 }, b = { 0 };
	struct ts_error err = { 0 };
	int bad = 0;

	make(&rgb, 50, 40, 3);
	make(&rgba, 50, 40, 4);
	for (size_t i = 0; i < 50 * 40; i++)
		for (int c = 0; c < 4; c++) {
			uint8_t v = (uint8_t)(i * 13 + c * 77 + i / 7);
			if (c < 3)
				rgb.pixels[i * 3 + c] = v;
			rgba.pixels[i * 4 + c] = c < 3 ? v : 255;
		}
	EXPECT_EQ_INT(ts_pipe_scale(&rgb, 1.25, 0.5, 47.5, 39, 13, 71, &a, &err), TS_OK);
	EXPECT_EQ_INT(ts_pipe_scale(&rgba, 1.25, 0.5, 47.5, 39, 13, 71, &b, &err), TS_OK);
	for (size_t i = 0; i < 13 * 71; i++) {
		if (b.pixels[i * 4 + 3] != 255)
			bad++;
		for (int c = 0; c < 3; c++)
			if (a.pixels[i * 3 + c] != b.pixels[i * 4 + c])
				bad++;
	}
	EXPECT_EQ_INT(bad, 0);
	ts_image_free(&rgb);
	ts_image_free(&rgba);
	ts_image_free(&a);
	ts_image_free(&b);
}

static void impossible_sizes_and_rectangles_fail_without_allocating(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	make(&in, 4, 4, 4);
	memset(in.pixels, 0, 64);
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0, 0, 4, 4, 0xFFFFFFFFu, 0xFFFFFFFFu, &out, &err),
	              TS_EINTERNAL);
	EXPECT(out.pixels == NULL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_pipe_scale(&in, 1, 0, 4, 4, 2, 2, &out, &err), TS_EINTERNAL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_pipe_scale(&in, 0, 0, 0, 4, 2, 2, &out, &err), TS_EINTERNAL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_pipe_scale(&in, NAN, 0, 1, 4, 2, 2, &out, &err), TS_EINTERNAL);
	ts_image_free(&in);
}

static void scaling_into_the_input_replaces_it(void)
{
	struct ts_image img;
	struct ts_error err = { 0 };

	make(&img, 6, 6, 1);
	memset(img.pixels, 42, 36);
	EXPECT_EQ_INT(ts_pipe_scale(&img, 0, 0, 6, 6, 3, 2, &img, &err), TS_OK);
	EXPECT_EQ_INT(img.width, 3);
	EXPECT_EQ_INT(img.height, 2);
	EXPECT_EQ_INT(img.pixels[5], 42);
	ts_image_free(&img);
}

int main(void)
{
	RUN(two_by_two_blocks_halved_give_the_block_colours_exactly);
	RUN(gradient_reduced_by_an_odd_factor_matches_the_analytic_average);
	RUN(fractional_crop_weights_the_partly_covered_edge_pixels);
	RUN(enlarging_a_constant_image_keeps_it_constant);
	RUN(enlarging_a_step_interpolates_monotonically);
	RUN(reducing_one_axis_and_enlarging_the_other_keeps_a_constant);
	RUN(an_aligned_crop_at_one_to_one_is_an_exact_copy);
	RUN(transparent_pixels_do_not_bleed_their_colour);
	RUN(opaque_rgba_scales_like_rgb);
	RUN(impossible_sizes_and_rectangles_fail_without_allocating);
	RUN(scaling_into_the_input_replaces_it);
	return CHECK_DONE();
}
