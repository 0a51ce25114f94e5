/*
 * test_tiff_planes.c - the planar fast path for whole JPEG-tiled levels:
 * read_level_yuv420 (tiff_read.c, jpeg_tiles.c) feeding
 * ts_jpeg_write_planes (jpeg_write.c).
 *
 * The reference is the usual path: ts_source_read_region of the whole
 * level (RGB pixels) encoded by ts_jpeg_write at the same quality.  Both
 * JPEGs are decoded again and must have the same size and agree within
 * what two lossy encodings of one picture can differ by.  RGB and YCbCr
 * 4:2:0 tiles, odd sizes, a level narrower than one tile, and the refusals
 * (budget, gray) are covered.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <turbojpeg.h>
#include "check.h"
#include "tiff_fixture.h"
#include "tessera/encoder.h"
#include "tessera/source.h"

static struct fx jpeg_fx(uint32_t w, uint32_t h, uint32_t tile, uint16_t photometric,
                         uint16_t spp)
{
	struct fx f;

	memset(&f, 0, sizeof f);
	f.width = w;
	f.height = h;
	f.tile_w = f.tile_h = tile;
	f.nlevels = 1;
	f.compression = COMPRESSION_JPEG;
	f.photometric = photometric;
	f.spp = spp;
	f.bps = 8;
	f.smooth = true;
	return f;
}

/* Decode a JPEG to RGB; the caller frees. */
static uint8_t *decode_rgb(const struct ts_buf *b, int *w, int *h)
{
	tjhandle tj = tjInitDecompress();
	int sub, cs;
	uint8_t *px = NULL;

	if (tj && tjDecompressHeader3(tj, b->data, (unsigned long)b->len, w, h, &sub, &cs) == 0) {
		px = malloc((size_t)*w * (size_t)*h * 3);
		if (px && tjDecompress2(tj, b->data, (unsigned long)b->len, px, *w, 0, *h, TJPF_RGB,
		                        0) != 0) {
			free(px);
			px = NULL;
		}
	}
	if (tj)
		tjDestroy(tj);
	return px;
}

/* Both paths on a one-level fixture; their decoded outputs compared. */
static void both_paths_agree(uint32_t w, uint32_t h, uint32_t tile, uint16_t photometric)
{
	struct fx f = jpeg_fx(w, h, tile, photometric, 3);
	struct ts_source *s = NULL;
	struct ts_image planes[3] = { { 0 } }, img = { 0 };
	struct ts_buf a = { 0 }, b = { 0 };
	struct ts_error err;
	uint8_t *pa = NULL, *pb = NULL;
	int aw = 0, ah = 0, bw = 0, bh = 0, worst = 0;
	double sum = 0;
	char path[64];
	size_t i, n;

	ts_error_clear(&err);
	EXPECT(fx_write(&f, path));
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), TS_OK);
	if (!s)
		goto out;
	EXPECT(s->ops->read_level_yuv420 != NULL);
	if (!s->ops->read_level_yuv420)
		goto out;
	EXPECT_EQ_INT(s->ops->read_level_yuv420(s, 0, 0, planes, &err), TS_OK);
	if (!planes[0].pixels) {
		printf("    planar read: %s (%s)\n", err.msg, err.detail);
		goto out;
	}
	EXPECT_EQ_INT(planes[0].width, w);
	EXPECT_EQ_INT(planes[0].height, h);
	EXPECT_EQ_INT(planes[1].width, (w + 1) / 2);
	EXPECT_EQ_INT(planes[2].height, (h + 1) / 2);
	EXPECT_EQ_INT(ts_jpeg_write_planes(planes, 75, NULL, 0, &a, &err), TS_OK);
	EXPECT_EQ_INT(ts_source_read_region(s, 0, 0, 0, w, h, 0, &img, &err), TS_OK);
	EXPECT_EQ_INT(ts_jpeg_write(&img, 75, NULL, 0, &b, &err), TS_OK);
	pa = decode_rgb(&a, &aw, &ah);
	pb = decode_rgb(&b, &bw, &bh);
	EXPECT(pa != NULL && pb != NULL);
	if (!pa || !pb)
		goto out;
	EXPECT_EQ_INT(aw, (int)w);
	EXPECT_EQ_INT(ah, (int)h);
	EXPECT_EQ_INT(bw, aw);
	EXPECT_EQ_INT(bh, ah);
	if (aw != bw || ah != bh)
		goto out;
	n = (size_t)aw * (size_t)ah * 3;
	for (i = 0; i < n; i++) {
		int d = abs((int)pa[i] - (int)pb[i]);

		sum += d;
		if (d > worst)
			worst = d;
	}
	if (sum / (double)n >= 2 || worst >= 24)
		printf("    %ux%u tile %u photometric %u: mean %.3f max %d\n", w, h, tile,
		       photometric, sum / (double)n, worst);
	EXPECT(sum / (double)n < 2);
	EXPECT(worst < 24);
out:
	free(pa);
	free(pb);
	ts_buf_free(&a);
	ts_buf_free(&b);
	ts_image_free(&img);
	for (i = 0; i < 3; i++)
		ts_image_free(&planes[i]);
	ts_source_close(s);
	unlink(path);
}

static void rgb_tiles_give_the_same_picture_as_the_usual_path(void)
{
	both_paths_agree(1024, 768, 256, PHOTOMETRIC_RGB);
}

static void ycbcr_tiles_give_the_same_picture_as_the_usual_path(void)
{
	both_paths_agree(1024, 768, 256, PHOTOMETRIC_YCBCR);
}

static void odd_sizes_keep_their_last_row_and_column(void)
{
	both_paths_agree(701, 531, 128, PHOTOMETRIC_RGB);
	both_paths_agree(701, 531, 128, PHOTOMETRIC_YCBCR);
	both_paths_agree(701, 531, 256, PHOTOMETRIC_RGB);
}

static void a_level_narrower_than_one_tile_works(void)
{
	both_paths_agree(201, 99, 256, PHOTOMETRIC_RGB);
	both_paths_agree(201, 99, 256, PHOTOMETRIC_YCBCR);
}

static void planes_follow_the_jfif_equations_of_the_usual_decode(void)
{
	/* Y, Cb and Cr against T.871's equations applied to the usual
	 * decode's RGB (Cb, Cr over 2x2 means). */
	struct fx f = jpeg_fx(300, 200, 64, PHOTOMETRIC_RGB, 3);
	struct ts_source *s = NULL;
	struct ts_image planes[3] = { { 0 } }, img = { 0 };
	struct ts_error err;
	char path[64];
	int worst_c = 0, worst_y = 0;
	uint32_t x, y;

	ts_error_clear(&err);
	EXPECT(fx_write(&f, path));
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), TS_OK);
	if (!s)
		goto out;
	EXPECT_EQ_INT(s->ops->read_level_yuv420(s, 0, 0, planes, &err), TS_OK);
	EXPECT_EQ_INT(ts_source_read_region(s, 0, 0, 0, 300, 200, 0, &img, &err), TS_OK);
	if (!planes[0].pixels || !img.pixels)
		goto out;
	/* Y against the JFIF luma of the usual decode's RGB. */
	for (y = 0; y < 200; y++)
		for (x = 0; x < 300; x++) {
			const uint8_t *p = img.pixels + y * img.stride + x * 3;
			double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
			int d = abs((int)planes[0].pixels[y * planes[0].stride + x] - (int)(l + 0.5));

			if (d > worst_y)
				worst_y = d;
		}
	/* Cb of the 2x2 mean against the equation, at a few places. */
	for (y = 0; y < 100; y += 7)
		for (x = 0; x < 150; x += 11) {
			double rs = 0, gs = 0, bs = 0, cb, cr;
			int k;

			for (k = 0; k < 4; k++) {
				const uint8_t *p = img.pixels + (2 * y + (uint32_t)k / 2) * img.stride +
				                   (2 * x + (uint32_t)k % 2) * 3;
				rs += p[0] / 4.0;
				gs += p[1] / 4.0;
				bs += p[2] / 4.0;
			}
			cb = 128 - 0.168736 * rs - 0.331264 * gs + 0.5 * bs;
			cr = 128 + 0.5 * rs - 0.418688 * gs - 0.081312 * bs;
			k = abs((int)planes[1].pixels[y * planes[1].stride + x] - (int)(cb + 0.5));
			if (k > worst_c)
				worst_c = k;
			k = abs((int)planes[2].pixels[y * planes[2].stride + x] - (int)(cr + 0.5));
			if (k > worst_c)
				worst_c = k;
		}
	/* The usual path's RGB and the planes come from the same coefficients
	 * (libjpeg's IDCT and ours differ only in rounding). */
	EXPECT(worst_y <= 2);
	EXPECT(worst_c <= 2);
	if (worst_y > 2 || worst_c > 2)
		printf("    worst Y %d, worst chroma %d\n", worst_y, worst_c);
out:
	ts_image_free(&img);
	for (int c = 0; c < 3; c++)
		ts_image_free(&planes[c]);
	ts_source_close(s);
	unlink(path);
}

static void over_the_budget_is_403_before_decoding(void)
{
	struct fx f = jpeg_fx(1024, 768, 256, PHOTOMETRIC_RGB, 3);
	struct ts_source *s = NULL;
	struct ts_image planes[3] = { { 0 } };
	struct ts_error err;
	char path[64];

	ts_error_clear(&err);
	EXPECT(fx_write(&f, path));
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), TS_OK);
	if (!s)
		goto out;
	EXPECT_EQ_INT(s->ops->read_level_yuv420(s, 0, 1024 * 768 - 1, planes, &err),
	              TS_EFORBIDDEN);
	EXPECT(planes[0].pixels == NULL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(s->ops->read_level_yuv420(s, 0, 1024 * 768, planes, &err), TS_OK);
out:
	for (int c = 0; c < 3; c++)
		ts_image_free(&planes[c]);
	ts_source_close(s);
	unlink(path);
}

static void gray_levels_are_refused_with_501(void)
{
	struct fx f = jpeg_fx(300, 200, 64, PHOTOMETRIC_MINISBLACK, 1);
	struct ts_source *s = NULL;
	struct ts_image planes[3] = { { 0 } };
	struct ts_error err;
	char path[64];

	ts_error_clear(&err);
	EXPECT(fx_write(&f, path));
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), TS_OK);
	if (!s)
		goto out;
	EXPECT_EQ_INT(s->ops->read_level_yuv420(s, 0, 0, planes, &err), TS_ENOTIMPL);
	EXPECT(planes[0].pixels == NULL);
out:
	ts_source_close(s);
	unlink(path);
}

static void mismatched_planes_are_refused_by_the_encoder(void)
{
	struct ts_image planes[3] = { { 0 } };
	struct ts_buf out = { 0 };
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_image_alloc(&planes[0], 9, 5, 1, &err), TS_OK);
	EXPECT_EQ_INT(ts_image_alloc(&planes[1], 4, 3, 1, &err), TS_OK);  /* should be 5x3 */
	EXPECT_EQ_INT(ts_image_alloc(&planes[2], 5, 3, 1, &err), TS_OK);
	EXPECT_EQ_INT(ts_jpeg_write_planes(planes, 75, NULL, 0, &out, &err), TS_EINTERNAL);
	EXPECT_EQ_INT(out.len, 0);
	for (int c = 0; c < 3; c++)
		ts_image_free(&planes[c]);
	ts_buf_free(&out);
}

int main(void)
{
	RUN(rgb_tiles_give_the_same_picture_as_the_usual_path);
	RUN(ycbcr_tiles_give_the_same_picture_as_the_usual_path);
	RUN(odd_sizes_keep_their_last_row_and_column);
	RUN(a_level_narrower_than_one_tile_works);
	RUN(planes_follow_the_jfif_equations_of_the_usual_decode);
	RUN(over_the_budget_is_403_before_decoding);
	RUN(gray_levels_are_refused_with_501);
	RUN(mismatched_planes_are_refused_by_the_encoder);
	return CHECK_DONE();
}
