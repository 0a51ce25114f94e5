/*
 * test_png_write.c - PNG output read back with libpng from memory: size,
 * colour type and every pixel exact, for gray, gray+alpha, RGB and RGBA
 * at the fastest and the smallest compression level; the ICC profile in
 * iCCP when it fits the colour type, left out (not an error) otherwise.
 */
#include <stdlib.h>
#include <png.h>
#include "check.h"
#include "tessera/deadline.h"
#include "icc_fixture.h"
#include "tessera/encoder.h"

static void make_pattern(struct ts_image *img, uint32_t w, uint32_t h, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, w, h, nc, &err) != TS_OK)
		abort();
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (int c = 0; c < nc; c++)
				img->pixels[y * img->stride + x * nc + c] =
					(uint8_t)(x * 7 + y * 13 + c * 61 + ((x * y) >> 3));
}

/* Read data as the format matching nc; returns the pixels or NULL. */
static uint8_t *read_png(const struct ts_buf *b, size_t off, uint32_t *w, uint32_t *h,
                         png_uint_32 *format_in_file)
{
	png_image pi;
	uint8_t *px;

	memset(&pi, 0, sizeof pi);
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&pi, b->data + off, b->len - off))
		return NULL;
	*format_in_file = pi.format;  /* as stored */
	*w = pi.width;
	*h = pi.height;
	px = malloc(PNG_IMAGE_SIZE(pi));
	if (!png_image_finish_read(&pi, NULL, px, 0, NULL)) {
		free(px);
		return NULL;
	}
	return px;
}

static void roundtrip(int nc, int level)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	uint32_t w = 0, h = 0;
	png_uint_32 fmt = 0, want_fmt;
	uint8_t *px;

	make_pattern(&img, 37, 23, nc);
	ts_buf_append_str(&out, "xy");
	EXPECT_EQ_INT(ts_png_write(&img, level, NULL, 0, &out, &err), TS_OK);
	EXPECT(memcmp(out.data, "xy\x89PNG", 6) == 0);
	px = read_png(&out, 2, &w, &h, &fmt);
	EXPECT(px != NULL);
	want_fmt = (nc >= 3 ? PNG_FORMAT_FLAG_COLOR : 0) |
	           (nc == 2 || nc == 4 ? PNG_FORMAT_FLAG_ALPHA : 0);
	EXPECT_EQ_INT(fmt, want_fmt);
	EXPECT_EQ_INT(w, 37);
	EXPECT_EQ_INT(h, 23);
	if (px)
		EXPECT(memcmp(px, img.pixels, 37 * 23 * nc) == 0);
	free(px);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void gray_comes_back_exactly(void) { roundtrip(1, 6); }
static void gray_with_alpha_comes_back_exactly(void) { roundtrip(2, 1); }
static void rgb_comes_back_exactly_at_every_level(void)
{
	roundtrip(3, 0);
	roundtrip(3, 3);
	roundtrip(3, 9);
}
static void rgba_comes_back_exactly(void) { roundtrip(4, 6); }

static void a_padded_stride_is_respected(void)
{
	struct ts_image img, tight;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	uint32_t w, h;
	png_uint_32 fmt;
	uint8_t *px;

	/* Same pixels viewed through a stride wider than the row. */
	make_pattern(&tight, 10, 5, 3);
	make_pattern(&img, 12, 5, 3);
	img.width = 10;
	for (uint32_t y = 0; y < 5; y++)
		memcpy(img.pixels + y * img.stride, tight.pixels + y * tight.stride, 30);
	EXPECT_EQ_INT(ts_png_write(&img, 6, NULL, 0, &out, &err), TS_OK);
	px = read_png(&out, 0, &w, &h, &fmt);
	EXPECT(px && w == 10 && memcmp(px, tight.pixels, 150) == 0);
	free(px);
	ts_image_free(&img);
	ts_image_free(&tight);
	ts_buf_free(&out);
}

/* Encode nc channels with the profile; is a profile read back, and the same? */
static int profile_comes_back(int nc, const unsigned char *icc, size_t n, int *same)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	uint32_t w = 0, h = 0;
	png_uint_32 fmt = 0;
	unsigned char *back;
	uint8_t *px;
	size_t blen = 0;

	make_pattern(&img, 37, 23, nc);
	EXPECT_EQ_INT(ts_png_write(&img, 6, icc, n, &out, &err), TS_OK);
	px = read_png(&out, 0, &w, &h, &fmt);
	EXPECT(px && w == 37 && h == 23 &&
	       memcmp(px, img.pixels, (size_t)37 * 23 * nc) == 0);
	back = icc_from_png(out.data, out.len, &blen);
	*same = back && blen == n && memcmp(back, icc, n) == 0;
	free(px);
	free(back);
	ts_image_free(&img);
	ts_buf_free(&out);
	return back != NULL;
}

static void an_rgb_profile_goes_into_iccp_and_reads_back_exactly(void)
{
	unsigned char *icc = icc_make(5000, "RGB ", 1);
	int same = 0;

	EXPECT(profile_comes_back(3, icc, 5000, &same));
	EXPECT(same);
	EXPECT(profile_comes_back(4, icc, 5000, &same));
	EXPECT(same);
	free(icc);
}

static void a_gray_image_carries_a_gray_profile_but_not_an_rgb_one(void)
{
	unsigned char *gray = icc_make(800, "GRAY", 2), *rgb = icc_make(800, "RGB ", 3);
	int same = 0;

	EXPECT(profile_comes_back(1, gray, 800, &same));
	EXPECT(same);
	EXPECT(profile_comes_back(2, gray, 800, &same));
	EXPECT(same);
	EXPECT(!profile_comes_back(1, rgb, 800, &same));
	EXPECT(!profile_comes_back(3, gray, 800, &same));
	free(gray);
	free(rgb);
}

static void a_profile_libpng_refuses_is_left_out_not_an_error(void)
{
	unsigned char *icc = icc_make(800, "RGB ", 4);
	int same = 0;

	memcpy(icc + 12, "link", 4);   /* a device link: not allowed in iCCP */
	EXPECT(!profile_comes_back(3, icc, 800, &same));
	free(icc);
}

/* Past the render's deadline the encoder stops between rows: 503, and the
 * output buffer is left as it was. */
static void a_render_past_its_deadline_stops_encoding_with_503(void)
{
	struct ts_image img = { 0 };
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_image_alloc(&img, 64, 300, 3, &err), TS_OK);
	memset(img.pixels, 7, img.stride * img.height);
	ts_deadline_set(ts_deadline_now() - 1);
	EXPECT_EQ_INT(ts_png_write(&img, 6, NULL, 0, &out, &err), TS_EUNAVAILABLE);
	EXPECT_EQ_INT(out.len, 0);
	ts_deadline_set(0);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_png_write(&img, 6, NULL, 0, &out, &err), TS_OK);
	ts_buf_free(&out);
	ts_image_free(&img);
}

int main(void)
{
	RUN(gray_comes_back_exactly);
	RUN(gray_with_alpha_comes_back_exactly);
	RUN(rgb_comes_back_exactly_at_every_level);
	RUN(rgba_comes_back_exactly);
	RUN(a_padded_stride_is_respected);
	RUN(an_rgb_profile_goes_into_iccp_and_reads_back_exactly);
	RUN(a_gray_image_carries_a_gray_profile_but_not_an_rgb_one);
	RUN(a_profile_libpng_refuses_is_left_out_not_an_error);
	RUN(a_render_past_its_deadline_stops_encoding_with_503);
	return CHECK_DONE();
}
