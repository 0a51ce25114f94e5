/*
 * test_rotate.c - mirror and clockwise rotation: exact pixel positions for
 * right angles on a non-square image, transparent or white corners for 45°.
 */
#include <stdlib.h>
#include "check.h"
#include <string.h>
#include "tessera/deadline.h"
#include "tessera/pipe.h"

static uint8_t *px(struct ts_image *img, uint32_t x, uint32_t y)
{
	return img->pixels + y * img->stride + (size_t)x * img->channels;
}

/* 3x2 RGB, pixel value v in 1..6 row by row, stored as (v, v+10, v+20):
 *   1 2 3
 *   4 5 6  */
static void make_3x2(struct ts_image *img)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, 3, 2, 3, &err) != TS_OK)
		abort();
	for (uint32_t y = 0; y < 2; y++)
		for (uint32_t x = 0; x < 3; x++) {
			uint8_t v = (uint8_t)(y * 3 + x + 1), *p = px(img, x, y);
			p[0] = v; p[1] = v + 10; p[2] = v + 20;
		}
}

static int same_as(struct ts_image *img, uint32_t w, uint32_t h, const uint8_t *want)
{
	if (img->width != w || img->height != h || img->channels != 3)
		return 0;
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint8_t *p = px(img, x, y), v = want[y * w + x];
			if (p[0] != v || p[1] != v + 10 || p[2] != v + 20)
				return 0;
		}
	return 1;
}

static void turning_ninety_degrees_puts_the_bottom_left_at_the_top_left(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	static const uint8_t want[] = { 4, 1, 5, 2, 6, 3 };

	make_3x2(&in);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 90, 2, 3, false, &out, &err), TS_OK);
	EXPECT(same_as(&out, 2, 3, want));
	ts_image_free(&in);
	ts_image_free(&out);
}

static void turning_one_eighty_degrees_reverses_rows_and_columns(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	static const uint8_t want[] = { 6, 5, 4, 3, 2, 1 };

	make_3x2(&in);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 180, 3, 2, true, &out, &err), TS_OK);
	EXPECT(same_as(&out, 3, 2, want));
	ts_image_free(&in);
	ts_image_free(&out);
}

static void turning_two_seventy_degrees_puts_the_top_right_at_the_top_left(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	static const uint8_t want[] = { 3, 6, 2, 5, 1, 4 };

	make_3x2(&in);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 270, 2, 3, false, &out, &err), TS_OK);
	EXPECT(same_as(&out, 2, 3, want));
	ts_image_free(&in);
	ts_image_free(&out);
}

static void an_arbitrary_angle_turns_the_same_way_as_the_right_angles(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	static const uint8_t want90[] = { 4, 1, 5, 2, 6, 3 };
	static const uint8_t want270[] = { 3, 6, 2, 5, 1, 4 };
	int bad = 0;

	/* A hair off a right angle takes the sampling path; pixel centres
	 * land on pixel centres, so the result matches the exact turn. */
	make_3x2(&in);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 89.9999, 2, 3, false, &out, &err), TS_OK);
	for (int i = 0; i < 6; i++)
		if (abs(out.pixels[i * 3] - want90[i]) > 1)
			bad++;
	ts_image_free(&out);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 270.0001, 2, 3, false, &out, &err), TS_OK);
	for (int i = 0; i < 6; i++)
		if (abs(out.pixels[i * 3] - want270[i]) > 1)
			bad++;
	EXPECT_EQ_INT(bad, 0);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void zero_and_three_sixty_degrees_copy_the_image(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };
	static const uint8_t want[] = { 1, 2, 3, 4, 5, 6 };

	make_3x2(&in);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 0, 3, 2, true, &out, &err), TS_OK);
	EXPECT(same_as(&out, 3, 2, want));
	ts_image_free(&out);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 360, 3, 2, false, &out, &err), TS_OK);
	EXPECT(same_as(&out, 3, 2, want));
	ts_image_free(&in);
	ts_image_free(&out);
}

static void a_right_angle_onto_the_wrong_canvas_is_an_internal_error(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	make_3x2(&in);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 90, 3, 2, false, &out, &err), TS_EINTERNAL);
	EXPECT(out.pixels == NULL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 400, 3, 2, false, &out, &err), TS_EINTERNAL);
	ts_image_free(&in);
}

static void mirroring_reverses_each_row_in_place(void)
{
	struct ts_image img;
	static const uint8_t want[] = { 3, 2, 1, 6, 5, 4 };

	make_3x2(&img);
	ts_pipe_mirror(&img);
	EXPECT(same_as(&img, 3, 2, want));
	ts_image_free(&img);
}

static void red_square(struct ts_image *img, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, 10, 10, nc, &err) != TS_OK)
		abort();
	for (size_t i = 0; i < 100; i++) {
		uint8_t *p = img->pixels + i * nc;
		p[0] = 255; p[1] = 0; p[2] = 0;
		if (nc == 4)
			p[3] = 255;
	}
}

static void forty_five_degrees_with_alpha_leaves_transparent_corners(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	red_square(&in, 3);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 45, 15, 15, true, &out, &err), TS_OK);
	EXPECT_EQ_INT(out.channels, 4);
	EXPECT_EQ_INT(out.width, 15);
	EXPECT_EQ_INT(px(&out, 0, 0)[3], 0);
	EXPECT_EQ_INT(px(&out, 14, 0)[3], 0);
	EXPECT_EQ_INT(px(&out, 0, 14)[3], 0);
	EXPECT_EQ_INT(px(&out, 14, 14)[3], 0);
	EXPECT_EQ_INT(px(&out, 7, 7)[0], 255);
	EXPECT_EQ_INT(px(&out, 7, 7)[1], 0);
	EXPECT_EQ_INT(px(&out, 7, 7)[3], 255);
	/* The tips of the diamond are on the canvas: top centre is partly red,
	 * and a partly covered pixel keeps the pure colour (no dark fringe). */
	EXPECT(px(&out, 7, 1)[3] > 0);
	EXPECT_EQ_INT(px(&out, 7, 1)[0], 255);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void forty_five_degrees_without_alpha_leaves_white_corners(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	red_square(&in, 3);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 45, 15, 15, false, &out, &err), TS_OK);
	EXPECT_EQ_INT(out.channels, 3);
	for (int k = 0; k < 3; k++) {
		EXPECT_EQ_INT(px(&out, 0, 0)[k], 255);
		EXPECT_EQ_INT(px(&out, 14, 14)[k], 255);
	}
	EXPECT_EQ_INT(px(&out, 7, 7)[0], 255);
	EXPECT_EQ_INT(px(&out, 7, 7)[1], 0);
	EXPECT_EQ_INT(px(&out, 7, 7)[2], 0);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void an_odd_angle_of_an_image_with_alpha_keeps_four_channels(void)
{
	struct ts_image in, out = { 0 };
	struct ts_error err = { 0 };

	red_square(&in, 4);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 30, 14, 14, true, &out, &err), TS_OK);
	EXPECT_EQ_INT(out.channels, 4);
	EXPECT_EQ_INT(px(&out, 0, 0)[3], 0);
	EXPECT_EQ_INT(px(&out, 7, 7)[3], 255);
	ts_image_free(&out);
	/* ...and over white when the format has no alpha: corners opaque white. */
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 30, 14, 14, false, &out, &err), TS_OK);
	EXPECT_EQ_INT(out.channels, 4);
	EXPECT_EQ_INT(px(&out, 0, 0)[0], 255);
	EXPECT_EQ_INT(px(&out, 0, 0)[1], 255);
	EXPECT_EQ_INT(px(&out, 0, 0)[3], 255);
	ts_image_free(&in);
	ts_image_free(&out);
}

static void an_arbitrary_angle_past_the_deadline_stops_with_503(void)
{
	struct ts_image in = { 0 }, out = { 0 };
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_image_alloc(&in, 200, 200, 3, &err), TS_OK);
	memset(in.pixels, 100, in.stride * in.height);
	ts_deadline_set(ts_deadline_now() - 1);
	EXPECT_EQ_INT(ts_pipe_rotate(&in, 30, 274, 274, false, &out, &err), TS_EUNAVAILABLE);
	EXPECT(out.pixels == NULL);
	ts_deadline_set(0);
	ts_image_free(&in);
}

int main(void)
{
	RUN(turning_ninety_degrees_puts_the_bottom_left_at_the_top_left);
	RUN(turning_one_eighty_degrees_reverses_rows_and_columns);
	RUN(turning_two_seventy_degrees_puts_the_top_right_at_the_top_left);
	RUN(an_arbitrary_angle_turns_the_same_way_as_the_right_angles);
	RUN(zero_and_three_sixty_degrees_copy_the_image);
	RUN(a_right_angle_onto_the_wrong_canvas_is_an_internal_error);
	RUN(mirroring_reverses_each_row_in_place);
	RUN(forty_five_degrees_with_alpha_leaves_transparent_corners);
	RUN(forty_five_degrees_without_alpha_leaves_white_corners);
	RUN(an_odd_angle_of_an_image_with_alpha_keeps_four_channels);
	RUN(an_arbitrary_angle_past_the_deadline_stops_with_503);
	return CHECK_DONE();
}
