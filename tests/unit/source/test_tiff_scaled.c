/*
 * test_tiff_scaled.c - the scaled and parallel decode of JPEG pyramids
 * (ts_source_read_region_scaled: tiff_read.c, jpeg_tiles.c, tile_pool.c).
 *
 * The reference is always the plain path: ts_source_read_region (libtiff,
 * full size) followed by an exact area average of each denom x denom block
 * (clipped at the image edge).  A scaled mosaic must agree with it within a
 * small tolerance (the reduced inverse DCT is close to, not equal to, a box
 * filter), and so must the final resampled output.  Parallel decoding of a
 * region of many tiles must give exactly the pixels of decoding its tiles
 * one request at a time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "tiff_fixture.h"
#include "tessera/deadline.h"
#include "tessera/pipe.h"
#include "tessera/source.h"

/* ---- helpers ---- */

static struct ts_source *open_fx(const struct fx *f, char *path)
{
	struct ts_source *s = NULL;
	struct ts_error err;

	if (!fx_write(f, path))
		return NULL;
	ts_error_clear(&err);
	if (ts_source_open(path, NULL, &s, &err) != TS_OK)
		printf("    open failed: %s (%s)\n", err.msg, err.detail);
	return s;
}

/* The reference mosaic: full decode, then the mean of each d x d block
 * (origin ox,oy) clipped to the level, mw x mh blocks. */
static bool reference_mosaic(struct ts_source *s, uint32_t ox, uint32_t oy, uint32_t mw,
                             uint32_t mh, int d, struct ts_image *ref)
{
	const struct ts_source_level *lv = &s->info.levels[0];
	uint32_t x1 = ox + mw * (uint32_t)d, y1 = oy + mh * (uint32_t)d, u, v, x, y;
	struct ts_image full = { 0 };
	struct ts_error err;
	int nc = s->info.channels, c;

	if (x1 > lv->width)
		x1 = lv->width;
	if (y1 > lv->height)
		y1 = lv->height;
	ts_error_clear(&err);
	if (ts_source_read_region(s, 0, ox, oy, x1 - ox, y1 - oy, 0, &full, &err) != TS_OK ||
	    ts_image_alloc(ref, mw, mh, nc, &err) != TS_OK) {
		printf("    reference failed: %s (%s)\n", err.msg, err.detail);
		ts_image_free(&full);
		return false;
	}
	for (v = 0; v < mh; v++) {
		for (u = 0; u < mw; u++) {
			for (c = 0; c < nc; c++) {
				uint32_t sum = 0, n = 0;

				for (y = v * d; y < (v + 1) * d && oy + y < y1; y++)
					for (x = u * d; x < (u + 1) * d && ox + x < x1; x++, n++)
						sum += full.pixels[y * full.stride + x * nc + c];
				ref->pixels[v * ref->stride + u * nc + c] =
				        (uint8_t)(n ? (sum + n / 2) / n : 0);
			}
		}
	}
	ts_image_free(&full);
	return true;
}

/* Largest and mean absolute sample difference of two same-sized images. */
static int max_diff(const struct ts_image *a, const struct ts_image *b, double *mean)
{
	uint32_t x, y;
	int c, worst = 0;
	double sum = 0;

	if (a->width != b->width || a->height != b->height || a->channels != b->channels) {
		printf("    sizes differ: %ux%ux%d vs %ux%ux%d\n", a->width, a->height,
		       a->channels, b->width, b->height, b->channels);
		return 999;
	}
	for (y = 0; y < a->height; y++)
		for (x = 0; x < a->width; x++)
			for (c = 0; c < a->channels; c++) {
				int p = a->pixels[y * a->stride + x * a->channels + c];
				int q = b->pixels[y * b->stride + x * b->channels + c];
				int d = p > q ? p - q : q - p;
				sum += d;
				if (d > worst)
					worst = d;
			}
	if (mean)
		*mean = sum / ((double)a->width * a->height * a->channels);
	return worst;
}

/* Read scaled and check the mosaic's geometry and pixels against the
 * reference; returns the worst difference (999 on failure). */
static int check_scaled(struct ts_source *s, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                        int want_d, double *mean)
{
	struct ts_image img = { 0 }, ref = { 0 };
	struct ts_error err;
	double ox = -1, oy = -1;
	int d = want_d, worst = 999;

	ts_error_clear(&err);
	if (ts_source_read_region_scaled(s, 0, x, y, w, h, &d, 0, &img, &ox, &oy, &err)) {
		printf("    scaled read failed: %s (%s)\n", err.msg, err.detail);
		return 999;
	}
	EXPECT_EQ_INT(d, want_d);
	EXPECT_EQ_INT(ox, x / d * d);
	EXPECT_EQ_INT(oy, y / d * d);
	EXPECT_EQ_INT(img.width, (x + w - (uint32_t)ox + d - 1) / d);
	EXPECT_EQ_INT(img.height, (y + h - (uint32_t)oy + d - 1) / d);
	if (reference_mosaic(s, (uint32_t)ox, (uint32_t)oy, img.width, img.height, d, &ref))
		worst = max_diff(&img, &ref, mean);
	ts_image_free(&img);
	ts_image_free(&ref);
	return worst;
}

/* ---- tests ---- */

static void scaled_mosaics_match_an_area_reduction_of_the_full_decode_for_2_4_8(void)
{
	struct fx f = fx_jpeg(1000, 700, 64, PHOTOMETRIC_RGB, 3);
	char path[64];
	struct ts_source *s = open_fx(&f, path);
	int d, worst;
	double mean = 0;

	EXPECT(s != NULL);
	if (!s)
		goto out;
	for (d = 2; d <= 8; d *= 2) {
		/* Odd origin and size: the mosaic starts before the region. */
		worst = check_scaled(s, 37, 53, 501, 389, d, &mean);
		if (worst > 2 || mean > 0.5)
			printf("    denom %d: worst %d, mean %.3f\n", d, worst, mean);
		EXPECT(worst <= 2);
		EXPECT(mean <= 0.5);
	}
out:
	ts_source_close(s);
	unlink(path);
}

static void ycbcr_and_gray_levels_scale_too(void)
{
	struct fx fy = fx_jpeg(640, 480, 128, PHOTOMETRIC_YCBCR, 3);
	struct fx fg = fx_jpeg(640, 480, 128, PHOTOMETRIC_MINISBLACK, 1);
	char py[64], pg[64];
	struct ts_source *sy = open_fx(&fy, py), *sg = open_fx(&fg, pg);
	double mean = 0;
	int worst;

	EXPECT(sy != NULL && sg != NULL);
	if (sy) {
		worst = check_scaled(sy, 5, 9, 600, 400, 4, &mean);
		EXPECT(worst <= 3);
		EXPECT(mean <= 0.6);
	}
	if (sg) {
		worst = check_scaled(sg, 0, 0, 640, 480, 8, &mean);
		EXPECT(worst <= 2);
		EXPECT(mean <= 0.5);
	}
	ts_source_close(sy);
	ts_source_close(sg);
	unlink(py);
	unlink(pg);
}

/* Like the fixture's smooth RGB JPEG, but the padding of edge tiles is
 * black, as some writers leave it: a scaled pixel that mixed padding in
 * would come out visibly darker. */
static bool write_black_padded(const struct fx *f, char *path)
{
	uint32_t ox, oy, i, j;
	uint8_t *buf = NULL;
	tmsize_t size;
	TIFF *t;
	int fd, c;
	bool ok = false;

	strcpy(path, "/tmp/tessera-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	close(fd);
	t = TIFFOpen(path, "w");
	if (!t)
		return false;
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, f->width);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, f->height);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
	TIFFSetField(t, TIFFTAG_JPEGQUALITY, 90);
	TIFFSetField(t, TIFFTAG_TILEWIDTH, f->tile_w);
	TIFFSetField(t, TIFFTAG_TILELENGTH, f->tile_h);
	size = TIFFTileSize(t);
	buf = malloc((size_t)size);
	if (!buf)
		goto out;
	for (oy = 0; oy < f->height; oy += f->tile_h) {
		for (ox = 0; ox < f->width; ox += f->tile_w) {
			for (j = 0; j < f->tile_h; j++)
				for (i = 0; i < f->tile_w; i++)
					for (c = 0; c < 3; c++)
						buf[(j * f->tile_w + i) * 3 + c] =
						        ox + i < f->width && oy + j < f->height
						        ? (uint8_t)fx_stored(f, 0, ox + i, oy + j, c)
						        : 0;
			if (TIFFWriteEncodedTile(t, TIFFComputeTile(t, ox, oy, 0, 0), buf,
			                         size) < 0)
				goto out;
		}
	}
	ok = TIFFWriteDirectory(t) != 0;
out:
	free(buf);
	TIFFClose(t);
	return ok;
}

static void edge_tiles_average_only_the_pixels_inside_the_image(void)
{
	/* 1000 % 64 = 40 (a multiple of 8), 701 % 64 = 61 (odd: decoded at
	 * full size), 998 % 64 = 38 (a multiple of 2 only). */
	static const uint32_t sizes[][2] = { { 1000, 701 }, { 998, 700 }, { 999, 703 } };
	size_t i;
	int d;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct fx f = fx_jpeg(sizes[i][0], sizes[i][1], 64, PHOTOMETRIC_RGB, 3);
		char path[64];
		struct ts_source *s = NULL;
		struct ts_error err;
		double mean = 0;
		int worst;

		ts_error_clear(&err);
		EXPECT(write_black_padded(&f, path));
		EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), TS_OK);

		EXPECT(s != NULL);
		if (!s)
			continue;
		for (d = 2; d <= 8; d *= 2) {
			/* A region reaching the right and bottom edges. */
			worst = check_scaled(s, 601, 333, f.width - 601, f.height - 333, d, &mean);
			if (worst > 2 || mean > 0.5)
				printf("    %ux%u denom %d: worst %d, mean %.3f\n", f.width,
				       f.height, d, worst, mean);
			EXPECT(worst <= 2);
			EXPECT(mean <= 0.5);
		}
		ts_source_close(s);
		unlink(path);
	}
}

static void resampled_output_matches_the_full_decode_path(void)
{
	/* What render() does: scaled read, crop converted to the mosaic, then
	 * the area filter; against full read + the same filter. */
	struct fx f = fx_jpeg(1500, 1100, 128, PHOTOMETRIC_RGB, 3);
	char path[64];
	struct ts_source *s = open_fx(&f, path);
	struct ts_image full = { 0 }, mos = { 0 }, a = { 0 }, b = { 0 };
	struct ts_error err;
	double ox, oy, mean = 0, crop_x = 0.4, crop_y = 0.7, crop_w = 1398.5, crop_h = 1000.2;
	uint32_t rx = 51, ry = 33, rw = 1400, rh = 1002, out_w = 300, out_h = 215;
	int d = 4, worst;

	EXPECT(s != NULL);
	if (!s)
		goto out;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_read_region(s, 0, rx, ry, rw, rh, 0, &full, &err), TS_OK);
	EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, rx, ry, rw, rh, &d, 0, &mos, &ox, &oy,
	                                           &err), TS_OK);
	EXPECT_EQ_INT(d, 4);
	EXPECT_EQ_INT(ts_pipe_scale(&full, crop_x, crop_y, crop_w, crop_h, out_w, out_h, &a,
	                            &err), TS_OK);
	EXPECT_EQ_INT(ts_pipe_scale(&mos, (rx + crop_x - ox) / d, (ry + crop_y - oy) / d,
	                            crop_w / d, crop_h / d, out_w, out_h, &b, &err), TS_OK);
	worst = max_diff(&a, &b, &mean);
	if (worst > 4 || mean > 1.0)
		printf("    worst %d, mean %.3f\n", worst, mean);
	EXPECT(worst <= 4);
	EXPECT(mean <= 1.0);
	ts_image_free(&full);
	ts_image_free(&mos);
	ts_image_free(&a);
	ts_image_free(&b);
out:
	ts_source_close(s);
	unlink(path);
}

/* Decode a 10x8-tile region in one request (parallel), then every tile
 * alone (one tile: sequential) and compare the overlap exactly. */
static void parallel_decode_gives_exactly_the_pixels_of_one_tile_at_a_time(void)
{
	static const uint16_t photometrics[] = { PHOTOMETRIC_RGB, PHOTOMETRIC_YCBCR };
	size_t p;
	int d;

	for (p = 0; p < 2; p++) {
		struct fx f = fx_jpeg(700, 530, 64, photometrics[p], 3);
		char path[64];
		struct ts_source *s = open_fx(&f, path);
		struct ts_error err;

		EXPECT(s != NULL);
		if (!s)
			continue;
		for (d = 1; d <= 8; d *= 2) {
			struct ts_image big = { 0 }, one = { 0 };
			double ox, oy, tox, toy;
			uint32_t x = 3, y = 17, w = 690, h = 510, tx, ty, u, v;
			int got = d, td;
			long bad = 0;

			ts_error_clear(&err);
			EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, x, y, w, h, &got, 0, &big,
			                                           &ox, &oy, &err), TS_OK);
			EXPECT_EQ_INT(got, d);
			for (ty = 0; ty * 64 < f.height && big.pixels; ty++) {
				for (tx = 0; tx * 64 < f.width; tx++) {
					uint32_t x0 = tx * 64, y0 = ty * 64;
					uint32_t tw = x0 + 64 <= f.width ? 64 : f.width - x0;
					uint32_t th = y0 + 64 <= f.height ? 64 : f.height - y0;

					td = d;
					if (ts_source_read_region_scaled(s, 0, x0, y0, tw, th, &td, 0,
					                                 &one, &tox, &toy, &err)) {
						bad++;
						continue;
					}
					for (v = 0; v < one.height; v++) {
						for (u = 0; u < one.width; u++) {
							double bu = (tox - ox) / d + u;
							double bv = (toy - oy) / d + v;
							size_t a, b;

							if (bu < 0 || bv < 0 || bu >= big.width ||
							    bv >= big.height)
								continue;
							a = (size_t)bv * big.stride + (size_t)bu * 3;
							b = (size_t)v * one.stride + (size_t)u * 3;
							if (memcmp(big.pixels + a, one.pixels + b, 3) &&
							    bad++ == 0)
								printf("    denom %d, photometric %u: "
								       "mosaic (%.0f,%.0f) differs\n",
								       d, photometrics[p], bu, bv);
						}
					}
					ts_image_free(&one);
				}
			}
			EXPECT_EQ_INT(bad, 0);
			ts_image_free(&big);
		}
		ts_source_close(s);
		unlink(path);
	}
}

/* A region ending inside a row of tiles decodes those tiles cut to the rows
 * it needs (jpeg_tiles.c): its pixels are exactly the top rows of a read
 * of the whole level, for RGB tiles and for subsampled YCbCr ones. */
static void rows_cut_from_the_last_tiles_are_the_rows_of_a_whole_decode(void)
{
	static const uint16_t photometrics[] = { PHOTOMETRIC_RGB, PHOTOMETRIC_YCBCR };
	static const uint32_t heights[] = { 1, 5, 17, 40, 100, 131 };

	for (size_t p = 0; p < 2; p++) {
		struct fx f = fx_jpeg(700, 530, 64, photometrics[p], 3);
		char path[64];
		struct ts_source *s = open_fx(&f, path);
		struct ts_image all = { 0 };
		struct ts_error err;
		double ox, oy;
		int d = 1;

		EXPECT(s != NULL);
		if (!s)
			continue;
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 700, 530, &d, 0, &all, &ox,
		                                           &oy, &err), TS_OK);
		for (size_t k = 0; k < sizeof heights / sizeof heights[0] && all.pixels; k++) {
			struct ts_image part = { 0 };
			long bad = 0;

			d = 1;
			EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 700, heights[k], &d, 0,
			                                           &part, &ox, &oy, &err), TS_OK);
			for (uint32_t v = 0; v < part.height && part.pixels; v++)
				bad += memcmp(part.pixels + (size_t)v * part.stride,
				              all.pixels + (size_t)v * all.stride, (size_t)700 * 3) != 0;
			if (bad)
				printf("    photometric %u, %u rows: %ld rows differ\n", photometrics[p],
				       heights[k], bad);
			EXPECT_EQ_INT(bad, 0);
			ts_image_free(&part);
		}
		ts_image_free(&all);
		ts_source_close(s);
		unlink(path);
	}
}

/* Regions that cut through tiles decode those tiles as windows
 * (jpeg_window.c): every random region, at 1/1, 1/2 and 1/4, of RGB and
 * YCbCr 4:2:0 levels, must be exactly the same pixels of the whole level. */
static void partly_covered_tiles_give_exactly_the_whole_decode_pixels(void)
{
	static const uint16_t photometrics[] = { PHOTOMETRIC_RGB, PHOTOMETRIC_YCBCR };
	unsigned seed = 3;

	for (size_t p = 0; p < 2; p++) {
		struct fx f = fx_jpeg(700, 530, 64, photometrics[p], 3);
		char path[64];
		struct ts_source *s = open_fx(&f, path);

		EXPECT(s != NULL);
		if (!s)
			continue;
		for (int want = 1; want <= 4; want *= 2) {
			struct ts_image all = { 0 };
			struct ts_error err;
			double ax, ay;
			int d = want;
			long bad = 0;

			ts_error_clear(&err);
			EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 700, 530, &d, 0, &all,
			                                           &ax, &ay, &err), TS_OK);
			EXPECT_EQ_INT(d, want);
			for (int k = 0; k < 25 && all.pixels; k++) {
				struct ts_image part = { 0 };
				uint32_t x = (uint32_t)rand_r(&seed) % 690, y = (uint32_t)rand_r(&seed) % 520;
				uint32_t w = 1 + (uint32_t)rand_r(&seed) % (700 - x);
				uint32_t h = 1 + (uint32_t)rand_r(&seed) % (530 - y);
				double ox, oy;
				int pd = want;

				EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, x, y, w, h, &pd, 0, &part,
				                                           &ox, &oy, &err), TS_OK);
				if (!part.pixels || pd != d)
					continue;
				for (uint32_t v = 0; v < part.height; v++) {
					size_t u0 = (size_t)ox / (size_t)d, v0 = (size_t)oy / (size_t)d;

					bad += memcmp(part.pixels + (size_t)v * part.stride,
					              all.pixels + (v0 + v) * all.stride + u0 * 3,
					              (size_t)part.width * 3) != 0;
				}
				ts_image_free(&part);
			}
			if (bad)
				printf("    photometric %u at 1/%d: %ld rows differ\n", photometrics[p], d,
				       bad);
			EXPECT_EQ_INT(bad, 0);
			ts_image_free(&all);
		}
		ts_source_close(s);
		unlink(path);
	}
}

static void the_budget_counts_pixels_at_the_reduced_scale(void)
{
	struct fx f = fx_jpeg(1024, 1024, 128, PHOTOMETRIC_RGB, 3);
	char path[64];
	struct ts_source *s = open_fx(&f, path);
	struct ts_image img = { 0 };
	struct ts_error err;
	double ox, oy;
	int d;

	EXPECT(s != NULL);
	if (!s)
		goto out;
	/* 64 tiles: 1 Mpixel at full size, 65536 at 1/4. */
	d = 4;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 1024, 1024, &d, 65536, &img, &ox,
	                                           &oy, &err), TS_OK);
	EXPECT_EQ_INT(img.width, 256);
	ts_image_free(&img);
	d = 4;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 1024, 1024, &d, 65535, &img, &ox,
	                                           &oy, &err), TS_EFORBIDDEN);
	EXPECT(img.pixels == NULL);
	d = 1;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 1024, 1024, &d, 65536, &img, &ox,
	                                           &oy, &err), TS_EFORBIDDEN);
out:
	ts_source_close(s);
	unlink(path);
}

/* Past the render's deadline the tiled decode (on the tile pool, in
 * parallel) and libtiff's tile and strip loops stop: 503, nothing kept;
 * before it, the same reads succeed. */
static void a_read_past_the_render_deadline_stops_with_503(void)
{
	struct fx f = fx_jpeg(1024, 1024, 128, PHOTOMETRIC_RGB, 3);
	struct fx g = fx_jpeg(300, 200, 64, PHOTOMETRIC_RGB, 3);
	char path[64], gpath[64];
	struct ts_source *s = open_fx(&f, path), *deflate;
	struct ts_image img = { 0 };
	struct ts_error err;
	double ox, oy;
	int d;

	g.compression = COMPRESSION_ADOBE_DEFLATE;
	deflate = open_fx(&g, gpath);
	EXPECT(s != NULL && deflate != NULL);
	if (!s || !deflate)
		goto out;
	ts_deadline_set(ts_deadline_now() - 1);
	for (d = 1; d <= 4; d *= 4) {   /* full size (64 tiles, parallel) and 1/4 */
		int dd = d;
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 1024, 1024, &dd, 0, &img,
		                                           &ox, &oy, &err), TS_EUNAVAILABLE);
		EXPECT(img.pixels == NULL);
	}
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_read_region(s, 0, 0, 0, 300, 300, 0, &img, &err),
	              TS_EUNAVAILABLE);
	EXPECT(img.pixels == NULL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_read_region(deflate, 0, 0, 0, 300, 200, 0, &img, &err),
	              TS_EUNAVAILABLE);
	EXPECT(img.pixels == NULL);
	ts_deadline_set(ts_deadline_after(60));
	d = 4;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 1024, 1024, &d, 0, &img, &ox, &oy,
	                                           &err), TS_OK);
	ts_image_free(&img);
out:
	ts_deadline_set(0);
	ts_source_close(s);
	ts_source_close(deflate);
	unlink(path);
	unlink(gpath);
}

static void other_codecs_fall_back_to_a_full_size_read(void)
{
	struct fx f = fx_jpeg(300, 200, 64, PHOTOMETRIC_RGB, 3);
	char path[64];
	struct ts_source *s;
	struct ts_image a = { 0 }, b = { 0 };
	struct ts_error err;
	double ox = 0, oy = 0;
	int d = 4;

	f.compression = COMPRESSION_ADOBE_DEFLATE;
	s = open_fx(&f, path);
	EXPECT(s != NULL);
	if (!s)
		goto out;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 11, 13, 250, 150, &d, 0, &a, &ox, &oy,
	                                           &err), TS_OK);
	EXPECT_EQ_INT(d, 1);
	EXPECT_EQ_INT(ox, 11);
	EXPECT_EQ_INT(oy, 13);
	EXPECT_EQ_INT(ts_source_read_region(s, 0, 11, 13, 250, 150, 0, &b, &err), TS_OK);
	EXPECT_EQ_INT(max_diff(&a, &b, NULL), 0);
	/* The wrapper still refuses a region outside the level. */
	d = 2;
	ts_image_free(&a);
	EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 290, 0, 20, 10, &d, 0, &a, &ox, &oy,
	                                           &err), TS_EINTERNAL);
	ts_image_free(&a);
	ts_image_free(&b);
out:
	ts_source_close(s);
	unlink(path);
}

static void a_corrupt_tile_is_a_500_not_a_crash(void)
{
	struct fx f = fx_jpeg(640, 640, 64, PHOTOMETRIC_RGB, 3);
	char path[64];
	struct ts_source *s = NULL;
	struct ts_image img = { 0 };
	struct ts_error err;
	double ox, oy;
	uint64_t off = 0, len = 0;
	unsigned char junk[4096];
	TIFF *t;
	int fd, d;

	EXPECT(fx_write(&f, path));
	t = TIFFOpen(path, "r");
	EXPECT(t != NULL);
	if (!t)
		goto out;
	off = TIFFGetStrileOffset(t, 22);
	len = TIFFGetStrileByteCount(t, 22);
	TIFFClose(t);
	/* Keep the SOI, scramble the rest of tile 22. */
	memset(junk, 0x5A, sizeof junk);
	fd = open(path, O_WRONLY);
	EXPECT(fd >= 0 && len > 16);
	if (fd >= 0) {
		EXPECT(pwrite(fd, junk, len - 2 < sizeof junk ? len - 2 : sizeof junk,
		              (off_t)off + 2) > 0);
		close(fd);
	}
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), TS_OK);
	if (!s)
		goto out;
	for (d = 1; d <= 8; d *= 2) {
		int got = d;

		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region_scaled(s, 0, 0, 0, 640, 640, &got, 0, &img, &ox,
		                                           &oy, &err), TS_EINTERNAL);
		EXPECT_EQ_STR(err.msg, "corrupt tile");
		EXPECT(img.pixels == NULL);
	}
out:
	ts_source_close(s);
	unlink(path);
}

int main(void)
{
	(void)fx_expect;    /* the fixture's exact pattern is not used here */
	RUN(scaled_mosaics_match_an_area_reduction_of_the_full_decode_for_2_4_8);
	RUN(ycbcr_and_gray_levels_scale_too);
	RUN(edge_tiles_average_only_the_pixels_inside_the_image);
	RUN(resampled_output_matches_the_full_decode_path);
	RUN(parallel_decode_gives_exactly_the_pixels_of_one_tile_at_a_time);
	RUN(rows_cut_from_the_last_tiles_are_the_rows_of_a_whole_decode);
	RUN(partly_covered_tiles_give_exactly_the_whole_decode_pixels);
	RUN(the_budget_counts_pixels_at_the_reduced_scale);
	RUN(a_read_past_the_render_deadline_stops_with_503);
	RUN(other_codecs_fall_back_to_a_full_size_read);
	RUN(a_corrupt_tile_is_a_500_not_a_crash);
	return CHECK_DONE();
}
