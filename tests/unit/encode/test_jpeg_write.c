/*
 * test_jpeg_write.c - JPEG output decoded back with TurboJPEG: sizes,
 * subsampling by quality, flat colour blocks within ±8, gray stays gray,
 * and alpha composited over white; the ICC profile in APP2 only when it
 * fits the output (RGB for colour, gray for gray).
 */
#include <stdlib.h>
#include <turbojpeg.h>
#include <stdio.h>
#include <jpeglib.h>
#include "check.h"
#include "icc_fixture.h"
#include "tessera/encoder.h"

/* 64x48, 4x3 blocks of 16x16 flat colours. */
static const uint8_t colours[12][3] = {
	{ 200, 30, 30 }, { 30, 200, 30 }, { 30, 30, 200 }, { 240, 240, 240 },
	{ 10, 10, 10 }, { 128, 128, 128 }, { 200, 200, 40 }, { 40, 200, 200 },
	{ 200, 40, 200 }, { 90, 60, 30 }, { 60, 90, 150 }, { 250, 120, 0 },
};

static void make_blocks(struct ts_image *img, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, 64, 48, nc, &err) != TS_OK)
		abort();
	for (uint32_t y = 0; y < 48; y++)
		for (uint32_t x = 0; x < 64; x++) {
			const uint8_t *c = colours[(y / 16) * 4 + x / 16];
			uint8_t *p = img->pixels + y * img->stride + x * nc;
			if (nc >= 3) {
				p[0] = c[0]; p[1] = c[1]; p[2] = c[2];
			} else {
				p[0] = c[0];
			}
			if (nc == 2 || nc == 4)
				p[nc - 1] = x < 32 ? 0 : 255;  /* left half transparent */
		}
}

/* Decode data into a new buffer of pf; returns subsampling via *samp. */
static uint8_t *decode(const struct ts_buf *b, size_t off, int pf, int *w, int *h, int *samp)
{
	tjhandle tj = tjInitDecompress();
	int cs;
	uint8_t *px;

	if (tjDecompressHeader3(tj, b->data + off, b->len - off, w, h, samp, &cs) != 0) {
		tjDestroy(tj);
		return NULL;
	}
	px = malloc((size_t)*w * *h * tjPixelSize[pf]);
	if (tjDecompress2(tj, b->data + off, b->len - off, px, *w, 0, *h, pf, 0) != 0) {
		free(px);
		px = NULL;
	}
	tjDestroy(tj);
	return px;
}

static int near(int a, int b, int tol)
{
	return abs(a - b) <= tol;
}

static void colour_blocks_come_back_within_eight_levels(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	int w, h, samp, bad = 0;
	uint8_t *px;

	make_blocks(&img, 3);
	EXPECT_EQ_INT(ts_jpeg_write(&img, 75, NULL, 0, &out, &err), TS_OK);
	px = decode(&out, 0, TJPF_RGB, &w, &h, &samp);
	EXPECT(px != NULL);
	if (px) {
		EXPECT_EQ_INT(w, 64);
		EXPECT_EQ_INT(h, 48);
		EXPECT_EQ_INT(samp, TJSAMP_420);
		for (int b = 0; b < 12; b++) {
			/* the centre 8x8 of each block, away from edge ringing */
			for (int y = (b / 4) * 16 + 4; y < (b / 4) * 16 + 12; y++)
				for (int x = (b % 4) * 16 + 4; x < (b % 4) * 16 + 12; x++)
					for (int c = 0; c < 3; c++)
						if (!near(px[(y * 64 + x) * 3 + c], colours[b][c], 8))
							bad++;
		}
		EXPECT_EQ_INT(bad, 0);
	}
	free(px);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void quality_ninety_and_up_keeps_full_chroma(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	int w, h, samp = -1;
	uint8_t *px;

	make_blocks(&img, 3);
	EXPECT_EQ_INT(ts_jpeg_write(&img, 90, NULL, 0, &out, &err), TS_OK);
	px = decode(&out, 0, TJPF_RGB, &w, &h, &samp);
	EXPECT_EQ_INT(samp, TJSAMP_444);
	free(px);
	ts_buf_clear(&out);
	EXPECT_EQ_INT(ts_jpeg_write(&img, 89, NULL, 0, &out, &err), TS_OK);
	px = decode(&out, 0, TJPF_RGB, &w, &h, &samp);
	EXPECT_EQ_INT(samp, TJSAMP_420);
	free(px);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void gray_is_written_as_one_channel_gray(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	int w, h, samp = -1;
	uint8_t *px;

	make_blocks(&img, 1);
	EXPECT_EQ_INT(ts_jpeg_write(&img, 80, NULL, 0, &out, &err), TS_OK);
	px = decode(&out, 0, TJPF_GRAY, &w, &h, &samp);
	EXPECT(px != NULL);
	EXPECT_EQ_INT(samp, TJSAMP_GRAY);
	if (px) {
		EXPECT(near(px[8 * 64 + 8], colours[0][0], 8));
		EXPECT(near(px[40 * 64 + 56], colours[11][0], 8));
	}
	free(px);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void transparent_pixels_become_white(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	int w, h, samp;
	uint8_t *px;

	make_blocks(&img, 4);
	/* Colour under the transparent half must not show. */
	EXPECT_EQ_INT(ts_jpeg_write(&img, 85, NULL, 0, &out, &err), TS_OK);
	px = decode(&out, 0, TJPF_RGB, &w, &h, &samp);
	EXPECT(px != NULL);
	if (px) {
		for (int c = 0; c < 3; c++) {
			EXPECT(near(px[(8 * 64 + 8) * 3 + c], 255, 8));
			EXPECT(near(px[(40 * 64 + 24) * 3 + c], 255, 8));
			EXPECT(near(px[(8 * 64 + 56) * 3 + c], colours[3][c], 8));
			EXPECT(near(px[(40 * 64 + 40) * 3 + c], colours[10][c], 8));
		}
	}
	free(px);
	ts_image_free(&img);
	ts_buf_clear(&out);

	make_blocks(&img, 2);
	EXPECT_EQ_INT(ts_jpeg_write(&img, 85, NULL, 0, &out, &err), TS_OK);
	px = decode(&out, 0, TJPF_GRAY, &w, &h, &samp);
	EXPECT_EQ_INT(samp, TJSAMP_GRAY);
	if (px) {
		EXPECT(near(px[8 * 64 + 8], 255, 8));
		EXPECT(near(px[8 * 64 + 40], colours[2][0], 8));
	}
	free(px);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void output_is_appended_after_what_the_buffer_holds(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	int w = 0, h = 0, samp;
	uint8_t *px;

	make_blocks(&img, 3);
	ts_buf_append_str(&out, "abc");
	EXPECT_EQ_INT(ts_jpeg_write(&img, 75, NULL, 0, &out, &err), TS_OK);
	EXPECT(memcmp(out.data, "abc\xff\xd8", 5) == 0);
	px = decode(&out, 3, TJPF_RGB, &w, &h, &samp);
	EXPECT(px != NULL);
	EXPECT_EQ_INT(w, 64);
	free(px);
	ts_image_free(&img);
	ts_buf_free(&out);
}


/* Encode an image of nc channels with a profile of space; the profile read
 * back (malloc'd) or NULL, and whether it equals what went in. */
static int profile_comes_back(int nc, const char *space, int *same)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	unsigned char *icc = icc_make(3000, space, (unsigned)nc), *back;
	size_t blen = 0;
	int w, h, samp;
	uint8_t *px;

	make_blocks(&img, nc);
	ts_buf_append_str(&out, "ab");
	EXPECT_EQ_INT(ts_jpeg_write(&img, 85, icc, 3000, &out, &err), TS_OK);
	px = decode(&out, 2, nc >= 3 ? TJPF_RGB : TJPF_GRAY, &w, &h, &samp);
	EXPECT(px != NULL && w == 64 && h == 48);
	back = icc_from_jpeg(out.data + 2, out.len - 2, &blen);
	*same = back && blen == 3000 && memcmp(back, icc, 3000) == 0;
	free(px);
	free(back);
	free(icc);
	ts_image_free(&img);
	ts_buf_free(&out);
	return back != NULL;
}

static void an_rgb_profile_goes_into_app2_and_reads_back_exactly(void)
{
	int same = 0;

	EXPECT(profile_comes_back(3, "RGB ", &same));
	EXPECT(same);
	EXPECT(profile_comes_back(4, "RGB ", &same));   /* flattened RGBA is RGB */
	EXPECT(same);
}

static void a_gray_image_carries_a_gray_profile_but_not_an_rgb_one(void)
{
	int same = 0;

	EXPECT(profile_comes_back(1, "GRAY", &same));
	EXPECT(same);
	EXPECT(profile_comes_back(2, "GRAY", &same));
	EXPECT(same);
	EXPECT(!profile_comes_back(1, "RGB ", &same));
	EXPECT(!profile_comes_back(3, "GRAY", &same));
}

static void a_cmyk_profile_never_goes_out(void)
{
	int same = 0;

	EXPECT(!profile_comes_back(3, "CMYK", &same));
}

int main(void)
{
	RUN(colour_blocks_come_back_within_eight_levels);
	RUN(quality_ninety_and_up_keeps_full_chroma);
	RUN(gray_is_written_as_one_channel_gray);
	RUN(transparent_pixels_become_white);
	RUN(output_is_appended_after_what_the_buffer_holds);
	RUN(an_rgb_profile_goes_into_app2_and_reads_back_exactly);
	RUN(a_gray_image_carries_a_gray_profile_but_not_an_rgb_one);
	RUN(a_cmyk_profile_never_goes_out);
	return CHECK_DONE();
}
