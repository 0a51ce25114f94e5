/*
 * test_tiff_transcode.c - whole JPEG-tiled levels made from their tiles'
 * coefficients: the level_tiles walk (tiff_read.c, jpeg_tiles.c) feeding
 * ts_jpeg_transcode_* (jpeg_transcode.c), as render_transcoded in
 * src/serve/image.c does.
 *
 * The reference is the usual path: ts_source_read_region of the whole
 * level (RGB pixels) encoded by ts_jpeg_write at the same quality.  Both
 * JPEGs are decoded again and must have the same size and agree within
 * what two lossy encodings of one picture can differ by.  RGB and YCbCr
 * 4:2:0 tiles as libtiff writes them, odd sizes, a level narrower than one
 * tile, and the refusals (budget, gray) are covered.
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

static ts_status into_transcoder(void *arg, const unsigned char *jpeg, size_t len, bool rgb,
                                 uint32_t x, uint32_t y, char *detail, size_t detail_size)
{
	return ts_jpeg_transcode_tile(arg, jpeg, len, rgb, x, y, detail, detail_size);
}

/* Level 0 of s through the transcoder at quality 75, appended to out. */
static ts_status transcode_level(struct ts_source *s, uint32_t w, uint32_t h, uint64_t budget,
                                 struct ts_buf *out, struct ts_error *err)
{
	struct ts_jpeg_transcoder *t = NULL;
	ts_status st = ts_jpeg_transcode_begin(w, h, 75, &t, err);

	if (st == TS_OK)
		st = s->ops->level_tiles(s, 0, budget, into_transcoder, t, err);
	if (st == TS_OK)
		st = ts_jpeg_transcode_finish(t, NULL, 0, out, err);
	ts_jpeg_transcode_free(t);
	return st;
}

/* Both paths on a one-level fixture; their decoded outputs compared. */
static void both_paths_agree(uint32_t w, uint32_t h, uint32_t tile, uint16_t photometric)
{
	struct fx f = fx_jpeg(w, h, tile, photometric, 3);
	struct ts_source *s = NULL;
	struct ts_image img = { 0 };
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
	EXPECT(s->ops->level_tiles != NULL);
	if (!s->ops->level_tiles)
		goto out;
	EXPECT_EQ_INT(transcode_level(s, w, h, 0, &a, &err), TS_OK);
	if (a.len == 0) {
		printf("    transcode: %s (%s)\n", err.msg, err.detail);
		goto out;
	}
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

static void over_the_budget_is_403_before_decoding(void)
{
	struct fx f = fx_jpeg(1024, 768, 256, PHOTOMETRIC_RGB, 3);
	struct ts_source *s = NULL;
	struct ts_buf out = { 0 };
	struct ts_error err;
	char path[64];

	ts_error_clear(&err);
	EXPECT(fx_write(&f, path));
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), TS_OK);
	if (!s)
		goto out;
	EXPECT_EQ_INT(transcode_level(s, 1024, 768, 1024 * 768 - 1, &out, &err), TS_EFORBIDDEN);
	EXPECT_EQ_INT(out.len, 0);
	ts_error_clear(&err);
	EXPECT_EQ_INT(transcode_level(s, 1024, 768, 1024 * 768, &out, &err), TS_OK);
out:
	ts_buf_free(&out);
	ts_source_close(s);
	unlink(path);
}

static void gray_levels_are_refused_with_501(void)
{
	struct fx f = fx_jpeg(300, 200, 64, PHOTOMETRIC_MINISBLACK, 1);
	struct ts_source *s = NULL;
	struct ts_buf out = { 0 };
	struct ts_error err;
	char path[64];

	ts_error_clear(&err);
	EXPECT(fx_write(&f, path));
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), TS_OK);
	if (!s)
		goto out;
	EXPECT_EQ_INT(transcode_level(s, 300, 200, 0, &out, &err), TS_ENOTIMPL);
	EXPECT_EQ_INT(out.len, 0);
	ts_buf_free(&out);
out:
	ts_source_close(s);
	unlink(path);
}

int main(void)
{
	RUN(rgb_tiles_give_the_same_picture_as_the_usual_path);
	RUN(ycbcr_tiles_give_the_same_picture_as_the_usual_path);
	RUN(odd_sizes_keep_their_last_row_and_column);
	RUN(a_level_narrower_than_one_tile_works);
	RUN(over_the_budget_is_403_before_decoding);
	RUN(gray_levels_are_refused_with_501);
	return CHECK_DONE();
}
