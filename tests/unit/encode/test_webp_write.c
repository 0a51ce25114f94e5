/*
 * test_webp_write.c - lossy WebP output decoded back with libwebp: size,
 * alpha present exactly when the image had alpha, flat colour blocks within
 * tolerance, gray expanded to equal R, G and B; an RGB ICC profile in an
 * ICCP chunk, and none on gray pictures.
 */
#include <stdlib.h>
#include <webp/decode.h>
#include <webp/mux.h>
#include "check.h"
#include "icc_fixture.h"
#include "tessera/encoder.h"

static const uint8_t colours[4][3] = {
	{ 200, 30, 30 }, { 30, 200, 30 }, { 30, 30, 200 }, { 128, 128, 128 },
};

/* 64x32: four 16-wide... two rows of two 32x16 blocks. */
static void make_blocks(struct ts_image *img, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, 64, 32, nc, &err) != TS_OK)
		abort();
	for (uint32_t y = 0; y < 32; y++)
		for (uint32_t x = 0; x < 64; x++) {
			const uint8_t *c = colours[(y / 16) * 2 + x / 32];
			uint8_t *p = img->pixels + y * img->stride + x * nc;
			for (int k = 0; k < (nc >= 3 ? 3 : 1); k++)
				p[k] = c[k];
			if (nc == 2 || nc == 4)
				p[nc - 1] = y < 16 ? 255 : 0;
		}
}

static int near(int a, int b, int tol)
{
	return abs(a - b) <= tol;
}

/* Centre of each block, all channels within tol of the source. */
static int check_blocks(const uint8_t *rgba, int gray, int tol)
{
	int bad = 0;
	for (int b = 0; b < 4; b++) {
		int y0 = (b / 2) * 16 + 8, x0 = (b % 2) * 32 + 16;
		for (int y = y0 - 3; y < y0 + 3; y++)
			for (int x = x0 - 8; x < x0 + 8; x++)
				for (int c = 0; c < 3; c++)
					if (!near(rgba[(y * 64 + x) * 4 + c],
					          colours[b][gray ? 0 : c], tol))
						bad++;
	}
	return bad;
}

static void rgb_blocks_come_back_close_without_alpha(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	WebPBitstreamFeatures f;
	int w = 0, h = 0;
	uint8_t *px;

	make_blocks(&img, 3);
	EXPECT_EQ_INT(ts_webp_write(&img, 90, NULL, 0, &out, &err), TS_OK);
	EXPECT(out.len > 12 && memcmp(out.data, "RIFF", 4) == 0 &&
	       memcmp(out.data + 8, "WEBP", 4) == 0);
	EXPECT_EQ_INT(WebPGetFeatures(out.data, out.len, &f), VP8_STATUS_OK);
	EXPECT_EQ_INT(f.has_alpha, 0);
	px = WebPDecodeRGBA(out.data, out.len, &w, &h);
	EXPECT(px != NULL);
	EXPECT_EQ_INT(w, 64);
	EXPECT_EQ_INT(h, 32);
	if (px)
		EXPECT_EQ_INT(check_blocks(px, 0, 10), 0);
	WebPFree(px);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void alpha_is_kept(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	WebPBitstreamFeatures f;
	int w = 0, h = 0;
	uint8_t *px;

	make_blocks(&img, 4);
	EXPECT_EQ_INT(ts_webp_write(&img, 90, NULL, 0, &out, &err), TS_OK);
	EXPECT_EQ_INT(WebPGetFeatures(out.data, out.len, &f), VP8_STATUS_OK);
	EXPECT_EQ_INT(f.has_alpha, 1);
	px = WebPDecodeRGBA(out.data, out.len, &w, &h);
	EXPECT(px != NULL);
	if (px) {
		EXPECT_EQ_INT(px[(4 * 64 + 4) * 4 + 3], 255);
		EXPECT_EQ_INT(px[(28 * 64 + 60) * 4 + 3], 0);
		/* the opaque top blocks keep their colour */
		EXPECT(near(px[(8 * 64 + 16) * 4 + 0], 200, 10));
		EXPECT(near(px[(8 * 64 + 48) * 4 + 1], 200, 10));
	}
	WebPFree(px);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void gray_is_expanded_to_equal_channels(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	WebPBitstreamFeatures f;
	int w = 0, h = 0;
	uint8_t *px;

	make_blocks(&img, 1);
	EXPECT_EQ_INT(ts_webp_write(&img, 90, NULL, 0, &out, &err), TS_OK);
	px = WebPDecodeRGBA(out.data, out.len, &w, &h);
	EXPECT(px != NULL);
	if (px)
		EXPECT_EQ_INT(check_blocks(px, 1, 10), 0);
	WebPFree(px);
	ts_image_free(&img);
	ts_buf_clear(&out);

	make_blocks(&img, 2);
	EXPECT_EQ_INT(ts_webp_write(&img, 90, NULL, 0, &out, &err), TS_OK);
	EXPECT_EQ_INT(WebPGetFeatures(out.data, out.len, &f), VP8_STATUS_OK);
	EXPECT_EQ_INT(f.has_alpha, 1);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void too_large_for_webp_is_a_bad_request(void)
{
	struct ts_image img = { 20000, 1, 3, 60000, NULL };
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	uint8_t row[60000] = { 0 };

	img.pixels = row;
	EXPECT_EQ_INT(ts_webp_write(&img, 80, NULL, 0, &out, &err), TS_EBADREQUEST);
	EXPECT_EQ_INT(out.len, 0);
}

/* Encode nc channels with a profile of space; is one read back, the same? */
static int profile_comes_back(int nc, const char *space, int *same)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	unsigned char *icc = icc_make(2000, space, 5), *back;
	size_t blen = 0;
	uint8_t *px;
	int w = 0, h = 0;

	make_blocks(&img, nc);
	ts_buf_append_str(&out, "ab");
	EXPECT_EQ_INT(ts_webp_write(&img, 90, icc, 2000, &out, &err), TS_OK);
	EXPECT(memcmp(out.data, "abRIFF", 6) == 0);
	px = WebPDecodeRGBA(out.data + 2, out.len - 2, &w, &h);
	EXPECT(px != NULL);
	if (px && (nc == 1 || nc == 3))
		EXPECT_EQ_INT(check_blocks(px, nc == 1, 8), 0);
	back = icc_from_webp(out.data + 2, out.len - 2, &blen);
	*same = back && blen == 2000 && memcmp(back, icc, 2000) == 0;
	WebPFree(px);
	free(back);
	free(icc);
	ts_image_free(&img);
	ts_buf_free(&out);
	return back != NULL;
}

static void an_rgb_profile_goes_into_an_iccp_chunk_and_reads_back_exactly(void)
{
	int same = 0;

	EXPECT(profile_comes_back(3, "RGB ", &same));
	EXPECT(same);
	EXPECT(profile_comes_back(4, "RGB ", &same));
	EXPECT(same);
}

static void gray_pictures_carry_no_profile(void)
{
	int same = 0;

	/* WebP is RGB: neither a gray profile nor the source's RGB one */
	EXPECT(!profile_comes_back(1, "GRAY", &same));
	EXPECT(!profile_comes_back(2, "RGB ", &same));
	EXPECT(!profile_comes_back(3, "GRAY", &same));
}

int main(void)
{
	RUN(rgb_blocks_come_back_close_without_alpha);
	RUN(alpha_is_kept);
	RUN(gray_is_expanded_to_equal_channels);
	RUN(too_large_for_webp_is_a_bad_request);
	RUN(an_rgb_profile_goes_into_an_iccp_chunk_and_reads_back_exactly);
	RUN(gray_pictures_carry_no_profile);
	return CHECK_DONE();
}
