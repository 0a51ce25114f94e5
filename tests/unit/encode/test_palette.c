/*
 * test_palette.c - the palette chooser and mapper: a picture of few
 * colours gets exactly its colours and maps without error; bitonal gets 2
 * entries; gray pictures only gray entries (exact when they have few
 * levels, evenly spaced within half a step otherwise); alpha below 128 is
 * one transparent entry; a picture of many colours gets 256 median-cut
 * entries whose dithered mapping keeps local averages close; bad
 * arguments are 500, never a crash.
 */
#include <stdlib.h>
#include "check.h"
#include "tessera/palette.h"

static void make(struct ts_image *img, uint32_t w, uint32_t h, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, w, h, nc, &err) != TS_OK)
		abort();
}

static uint8_t *map(const struct ts_image *img, const struct ts_palette *pal)
{
	struct ts_error err = { 0 };
	uint8_t *idx = malloc((size_t)img->width * img->height);
	if (!idx || ts_palette_map(img, pal, idx, &err) != TS_OK)
		abort();
	return idx;
}

static void a_picture_of_few_colours_gets_exactly_them(void)
{
	static const uint8_t cols[5][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 },
	                                    { 10, 20, 30 }, { 10, 20, 31 } };
	struct ts_image img;
	struct ts_palette pal;
	struct ts_error err = { 0 };
	uint8_t *idx;
	int bad = 0;

	make(&img, 50, 40, 3);
	for (uint32_t i = 0; i < 50 * 40; i++)
		memcpy(img.pixels + 3 * i, cols[(i * 7 / 3) % 5], 3);
	EXPECT_EQ_INT(ts_palette_choose(&img, 256, &pal, &err), TS_OK);
	EXPECT_EQ_INT(pal.count, 5);
	EXPECT_EQ_INT(pal.transparent, -1);
	EXPECT(pal.exact && !pal.dither);
	idx = map(&img, &pal);
	for (uint32_t i = 0; i < 50 * 40; i++)
		bad += memcmp(pal.rgb[idx[i]], img.pixels + 3 * i, 3) != 0;
	EXPECT_EQ_INT(bad, 0);
	free(idx);
	ts_image_free(&img);
}

static void bitonal_gets_two_entries(void)
{
	struct ts_image img;
	struct ts_palette pal;
	struct ts_error err = { 0 };
	uint8_t *idx;
	int bad = 0;

	make(&img, 33, 17, 1);
	for (uint32_t i = 0; i < 33 * 17; i++)
		img.pixels[i] = (i % 3) ? 255 : 0;
	EXPECT_EQ_INT(ts_palette_choose(&img, 256, &pal, &err), TS_OK);
	EXPECT_EQ_INT(pal.count, 2);
	idx = map(&img, &pal);
	for (uint32_t i = 0; i < 33 * 17; i++)
		bad += pal.rgb[idx[i]][0] != img.pixels[i] || pal.rgb[idx[i]][1] != img.pixels[i];
	EXPECT_EQ_INT(bad, 0);
	free(idx);
	ts_image_free(&img);
}

static void a_gray_picture_of_every_level_gets_gray_entries_within_half_a_step(void)
{
	struct ts_image img;
	struct ts_palette pal;
	struct ts_error err = { 0 };
	uint8_t *idx;
	int worst = 0, coloured = 0;

	make(&img, 256, 4, 2);
	for (uint32_t y = 0; y < 4; y++)
		for (uint32_t x = 0; x < 256; x++) {
			img.pixels[y * img.stride + 2 * x] = (uint8_t)x;
			img.pixels[y * img.stride + 2 * x + 1] = y == 3 ? 0 : 255;  /* a clear row */
		}
	EXPECT_EQ_INT(ts_palette_choose(&img, 256, &pal, &err), TS_OK);
	EXPECT_EQ_INT(pal.count, 256);
	EXPECT_EQ_INT(pal.transparent, 0);
	EXPECT(!pal.dither);
	for (int i = 0; i < pal.count; i++)
		coloured += pal.rgb[i][0] != pal.rgb[i][1] || pal.rgb[i][1] != pal.rgb[i][2];
	EXPECT_EQ_INT(coloured, 0);
	idx = map(&img, &pal);
	for (uint32_t y = 0; y < 4; y++)
		for (uint32_t x = 0; x < 256; x++) {
			int i = idx[y * 256 + x];
			if (y == 3) {
				EXPECT_EQ_INT(i, pal.transparent);
				continue;
			}
			EXPECT(i != pal.transparent);
			int d = abs((int)pal.rgb[i][0] - (int)x);
			worst = d > worst ? d : worst;
		}
	EXPECT(worst <= 1);   /* 255 levels for 256 values: half a step, rounded */
	free(idx);
	ts_image_free(&img);
}

static void clear_pixels_share_one_transparent_entry_whatever_their_colour(void)
{
	struct ts_image img;
	struct ts_palette pal;
	struct ts_error err = { 0 };
	uint8_t *idx;

	make(&img, 4, 1, 4);
	const uint8_t px[16] = { 255, 0, 0, 255,  1, 2, 3, 0,  200, 200, 0, 127,  0, 0, 255, 128 };
	memcpy(img.pixels, px, 16);
	EXPECT_EQ_INT(ts_palette_choose(&img, 256, &pal, &err), TS_OK);
	EXPECT_EQ_INT(pal.count, 3);   /* transparent + red + blue */
	EXPECT(pal.transparent >= 0);
	idx = map(&img, &pal);
	EXPECT(idx[0] != pal.transparent && pal.rgb[idx[0]][0] == 255);
	EXPECT_EQ_INT(idx[1], pal.transparent);
	EXPECT_EQ_INT(idx[2], pal.transparent);
	EXPECT(idx[3] != pal.transparent && pal.rgb[idx[3]][2] == 255);
	free(idx);
	ts_image_free(&img);
}

static void many_colours_get_a_dithered_median_cut_that_keeps_local_averages(void)
{
	struct ts_image img;
	struct ts_palette pal;
	struct ts_error err = { 0 };
	const uint32_t w = 256, h = 192;
	uint8_t *idx;
	double err_sum = 0;
	int blocks = 0, distinct_entries = 0;

	make(&img, w, h, 3);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint8_t *p = img.pixels + y * img.stride + 3 * x;
			p[0] = (uint8_t)x;
			p[1] = (uint8_t)(y * 255 / (h - 1));
			p[2] = (uint8_t)((x + y) / 2);
		}
	EXPECT_EQ_INT(ts_palette_choose(&img, 256, &pal, &err), TS_OK);
	EXPECT_EQ_INT(pal.count, 256);
	EXPECT(pal.dither && !pal.exact);
	for (int i = 0; i < pal.count; i++) {
		int dup = 0;
		for (int j = 0; j < i; j++)
			dup |= memcmp(pal.rgb[i], pal.rgb[j], 3) == 0;
		distinct_entries += !dup;
	}
	EXPECT(distinct_entries > 240);
	idx = map(&img, &pal);
	/* 8x8 averages of the mapped picture against the source's */
	for (uint32_t by = 0; by < h; by += 8)
		for (uint32_t bx = 0; bx < w; bx += 8) {
			double s[3] = { 0 }, m[3] = { 0 };
			for (uint32_t y = by; y < by + 8; y++)
				for (uint32_t x = bx; x < bx + 8; x++)
					for (int c = 0; c < 3; c++) {
						s[c] += img.pixels[y * img.stride + 3 * x + c];
						m[c] += pal.rgb[idx[y * w + x]][c];
					}
			for (int c = 0; c < 3; c++)
				err_sum += (s[c] > m[c] ? s[c] - m[c] : m[c] - s[c]) / 64;
			blocks++;
		}
	EXPECT(err_sum / (3.0 * blocks) < 3.0);
	free(idx);
	ts_image_free(&img);
}

static void fewer_entries_than_colours_are_respected(void)
{
	struct ts_image img;
	struct ts_palette pal;
	struct ts_error err = { 0 };

	make(&img, 64, 64, 3);
	for (uint32_t i = 0; i < 64 * 64; i++) {
		img.pixels[3 * i] = (uint8_t)(i * 37);
		img.pixels[3 * i + 1] = (uint8_t)(i * 11);
		img.pixels[3 * i + 2] = (uint8_t)(i >> 4);
	}
	EXPECT_EQ_INT(ts_palette_choose(&img, 16, &pal, &err), TS_OK);
	EXPECT(pal.count <= 16 && pal.count >= 2);
	ts_image_free(&img);
}

static void an_all_clear_picture_is_one_transparent_entry(void)
{
	struct ts_image img;
	struct ts_palette pal;
	struct ts_error err = { 0 };
	uint8_t *idx;
	int bad = 0;

	make(&img, 9, 9, 4);
	for (uint32_t i = 0; i < 81; i++) {
		img.pixels[4 * i] = (uint8_t)(i * 3);
		img.pixels[4 * i + 1] = img.pixels[4 * i + 2] = 7;
		img.pixels[4 * i + 3] = (uint8_t)(i % 128);   /* all below 128 */
	}
	EXPECT_EQ_INT(ts_palette_choose(&img, 256, &pal, &err), TS_OK);
	EXPECT_EQ_INT(pal.count, 1);
	EXPECT_EQ_INT(pal.transparent, 0);
	idx = map(&img, &pal);
	for (int i = 0; i < 81; i++)
		bad += idx[i] != 0;
	EXPECT_EQ_INT(bad, 0);
	free(idx);
	ts_image_free(&img);
}

static void bad_arguments_are_500(void)
{
	struct ts_image img;
	struct ts_palette pal;
	struct ts_error err = { 0 };

	make(&img, 2, 2, 3);
	EXPECT_EQ_INT(ts_palette_choose(&img, 1, &pal, &err), TS_EINTERNAL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_palette_choose(&img, 257, &pal, &err), TS_EINTERNAL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_palette_choose(NULL, 256, &pal, &err), TS_EINTERNAL);
	ts_error_clear(&err);
	pal.count = 0;
	EXPECT_EQ_INT(ts_palette_map(&img, &pal, img.pixels, &err), TS_EINTERNAL);
	ts_image_free(&img);
}

int main(void)
{
	RUN(a_picture_of_few_colours_gets_exactly_them);
	RUN(bitonal_gets_two_entries);
	RUN(a_gray_picture_of_every_level_gets_gray_entries_within_half_a_step);
	RUN(clear_pixels_share_one_transparent_entry_whatever_their_colour);
	RUN(many_colours_get_a_dithered_median_cut_that_keeps_local_averages);
	RUN(fewer_entries_than_colours_are_respected);
	RUN(an_all_clear_picture_is_one_transparent_entry);
	RUN(bad_arguments_are_500);
	return CHECK_DONE();
}
