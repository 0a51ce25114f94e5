/*
 * test_tiff_read.c - the TIFF source: pyramids as pages and SubIFDs, tiles
 * and strips, every codec libtiff has, 8/16-bit gray/RGB/alpha, the RGBA
 * fallback, budgets, and broken files.  Every image is written here at run
 * time (tiff_fixture.h) with a pattern, and regions are checked pixel by
 * pixel against it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <turbojpeg.h>
#include "check.h"
#include "tiff_fixture.h"
#include "tessera/source.h"

/* ---- helpers ---- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct ts_source *open_ok(const char *path)
{
	struct ts_source *s = NULL;
	struct ts_error err;
	ts_status st;

	ts_error_clear(&err);
	st = ts_source_open(path, NULL, &s, &err);
	if (st != TS_OK)
		printf("    open failed: %d %s (%s)\n", st, err.msg, err.detail);
	return s;
}

/*
 * Read (x,y,w,h) of level and compare with the fixture: returns the number
 * of samples off by more than tol (printing the first), and the mean
 * absolute error through *mean when given.
 */
static long compare_region(struct ts_source *s, const struct fx *f, int level, int file_level,
                           uint32_t x, uint32_t y, uint32_t w, uint32_t h, int tol,
                           double *mean)
{
	struct ts_image img = { 0 };
	struct ts_error err;
	long bad = 0;
	double sum = 0;
	uint32_t i, j;
	int c;

	ts_error_clear(&err);
	if (ts_source_read_region(s, level, x, y, w, h, 0, &img, &err) != TS_OK) {
		printf("    read failed: %s (%s)\n", err.msg, err.detail);
		return -1;
	}
	if (img.width != w || img.height != h || img.channels != s->info.channels) {
		printf("    got %ux%ux%d\n", img.width, img.height, img.channels);
		ts_image_free(&img);
		return -1;
	}
	for (j = 0; j < h; j++) {
		for (i = 0; i < w; i++) {
			for (c = 0; c < img.channels; c++) {
				int got = img.pixels[j * img.stride + (size_t)i * img.channels + c];
				int want = fx_expect(f, file_level, x + i, y + j, c);
				int d = got > want ? got - want : want - got;
				sum += d;
				if (d > tol && bad++ == 0)
					printf("    level %d (%u,%u) channel %d: got %d, expected %d\n",
					       level, x + i, y + j, c, got, want);
			}
		}
	}
	if (mean)
		*mean = sum / ((double)w * h * img.channels);
	ts_image_free(&img);
	return bad;
}

/* Open f written to disk, check its geometry and a few regions per level:
 * the whole level, a region across tile corners at odd offsets, the last
 * pixel. */
static void check_fixture(const struct fx *f, int channels, int tol)
{
	char path[64];
	struct ts_source *s;
	int l;

	EXPECT(fx_write(f, path));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (!s)
		goto out;
	EXPECT_EQ_INT(s->info.nlevels, f->nlevels);
	EXPECT_EQ_INT(s->info.channels, channels);
	EXPECT_EQ_STR(s->info.format, "tiff");
	EXPECT_EQ_INT(s->info.width, f->width);
	EXPECT_EQ_INT(s->info.height, f->height);
	for (l = 0; l < s->info.nlevels && l < f->nlevels; l++) {
		uint32_t w = fx_level_w(f, l), h = fx_level_h(f, l);
		double mean = 0;

		EXPECT_EQ_INT(s->info.levels[l].width, w);
		EXPECT_EQ_INT(s->info.levels[l].height, h);
		EXPECT_EQ_INT(s->info.levels[l].tile_w, f->tile_w);
		EXPECT_EQ_INT(s->info.levels[l].tile_h, f->tile_h);
		EXPECT_EQ_INT(compare_region(s, f, l, l, 0, 0, w, h, tol, &mean), 0);
		if (tol)
			EXPECT(mean < 3.0);
		if (w > 20 && h > 20)
			EXPECT_EQ_INT(compare_region(s, f, l, l, w / 2 - 7, h / 3 - 5, 13, 11,
			                             tol, NULL), 0);
		EXPECT_EQ_INT(compare_region(s, f, l, l, w - 1, h - 1, 1, 1, tol, NULL), 0);
	}
	/* Going back to a level read before re-selects its directory. */
	EXPECT_EQ_INT(compare_region(s, f, 0, 0, 3, 5, 7, 9, tol, NULL), 0);
	ts_source_close(s);
out:
	unlink(path);
}

static const struct fx base_rgb = {
	.width = 1000, .height = 700, .tile_w = 256, .tile_h = 256, .nlevels = 3,
	.compression = COMPRESSION_NONE, .photometric = PHOTOMETRIC_RGB, .spp = 3, .bps = 8,
};

/* ---- pyramids ---- */

static void pyramid_written_as_pages_has_three_floor_halved_levels(void)
{
	check_fixture(&base_rgb, 3, 0);
}

static void pyramid_written_as_subifds_has_three_levels(void)
{
	struct fx f = base_rgb;
	f.subifd = true;
	f.compression = COMPRESSION_ADOBE_DEFLATE;
	check_fixture(&f, 3, 0);
}

static void non_square_tiles_with_edge_tiles_are_clipped(void)
{
	struct fx f = base_rgb;
	f.tile_w = 256;
	f.tile_h = 128;
	f.compression = COMPRESSION_LZW;
	check_fixture(&f, 3, 0);
}

static void region_spanning_four_tiles_at_odd_offsets_is_exact(void)
{
	struct fx f = base_rgb;
	char path[64];
	struct ts_source *s;

	f.tile_h = 128;
	f.nlevels = 1;
	EXPECT(fx_write(&f, path));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		/* x 250..262 crosses column 256, y 125..131 crosses row 128. */
		EXPECT_EQ_INT(compare_region(s, &f, 0, 0, 250, 125, 13, 7, 0, NULL), 0);
		/* The bottom-right edge tile, whose padding must not leak. */
		EXPECT_EQ_INT(compare_region(s, &f, 0, 0, 760, 630, 240, 70, 0, NULL), 0);
	}
	ts_source_close(s);
	unlink(path);
}

/* A page that is not a reduced copy (another aspect ratio, or a mask) is
 * not a level. */
static void unrelated_pages_and_masks_are_not_levels(void)
{
	struct fx f = base_rgb, other = base_rgb;
	char path[64];
	struct ts_source *s;
	TIFF *t;

	f.nlevels = 2;
	EXPECT(fx_write(&f, path));
	/* Append a 300x300 "label" and a half-size mask page. */
	t = TIFFOpen(path, "a");
	EXPECT(t != NULL);
	if (t) {
		other.width = 300;
		other.height = 300;
		other.nlevels = 1;
		EXPECT(fx_write_level(t, &other, 0));
		other.width = 250;
		other.height = 175;
		other.spp = 1;
		other.photometric = PHOTOMETRIC_MINISBLACK;
		EXPECT(fx_write_level(t, &other, 0));   /* other samples per pixel */
		other.spp = 3;
		other.photometric = PHOTOMETRIC_RGB;
		other.mask = true;
		EXPECT(fx_write_level(t, &other, 0));   /* a transparency mask */
		TIFFClose(t);
	}
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		EXPECT_EQ_INT(s->info.nlevels, 2);
		EXPECT_EQ_INT(s->info.levels[1].width, 500);
		EXPECT_EQ_INT(compare_region(s, &f, 1, 1, 0, 0, 500, 350, 0, NULL), 0);
	}
	ts_source_close(s);
	unlink(path);
}

/* ---- samples and colour ---- */

static void gray_8bit_is_one_channel(void)
{
	struct fx f = base_rgb;
	f.photometric = PHOTOMETRIC_MINISBLACK;
	f.spp = 1;
	check_fixture(&f, 1, 0);
}

static void gray_with_alpha_is_two_channels(void)
{
	struct fx f = base_rgb;
	f.photometric = PHOTOMETRIC_MINISBLACK;
	f.spp = 2;
	f.extra = EXTRASAMPLE_UNASSALPHA;
	f.compression = COMPRESSION_ADOBE_DEFLATE;
	check_fixture(&f, 2, 0);
}

static void rgba_with_unassociated_alpha_is_four_channels(void)
{
	struct fx f = base_rgb;
	f.spp = 4;
	f.extra = EXTRASAMPLE_UNASSALPHA;
	f.compression = COMPRESSION_LZW;
	check_fixture(&f, 4, 0);
}

static void rgb_16bit_big_endian_is_rounded_to_8_bits(void)
{
	struct fx f = base_rgb;
	f.bps = 16;
	f.bigendian = true;
	f.compression = COMPRESSION_ADOBE_DEFLATE;
	check_fixture(&f, 3, 0);
}

static void miniswhite_is_inverted(void)
{
	struct fx f = base_rgb;
	f.photometric = PHOTOMETRIC_MINISWHITE;
	f.spp = 1;
	f.nlevels = 2;
	check_fixture(&f, 1, 0);
}

static void palette_image_is_read_through_the_rgba_fallback(void)
{
	struct fx f = base_rgb;
	f.photometric = PHOTOMETRIC_PALETTE;
	f.spp = 1;
	f.tile_h = 128;
	check_fixture(&f, 3, 0);
}

static void palette_strips_are_read_through_the_rgba_fallback(void)
{
	struct fx f = base_rgb;
	f.photometric = PHOTOMETRIC_PALETTE;
	f.spp = 1;
	f.tile_w = f.tile_h = 0;
	f.rows_per_strip = 48;
	f.nlevels = 1;
	check_fixture(&f, 3, 0);
}

static void bilevel_1bit_strips_become_black_and_white_gray(void)
{
	struct fx f = base_rgb;
	f.photometric = PHOTOMETRIC_MINISBLACK;
	f.spp = 1;
	f.bps = 1;
	f.tile_w = f.tile_h = 0;
	f.rows_per_strip = 64;
	f.nlevels = 2;
	check_fixture(&f, 1, 0);
}

/* ---- storage ---- */

static void striped_single_level_image_reads_only_what_it_needs(void)
{
	struct fx f = base_rgb;
	f.tile_w = f.tile_h = 0;
	f.rows_per_strip = 16;
	f.nlevels = 1;
	f.compression = COMPRESSION_LZW;
	check_fixture(&f, 3, 0);
}

static void bigtiff_pyramid_reads_like_classic(void)
{
	struct fx f = base_rgb;
	f.bigtiff = true;
	f.compression = COMPRESSION_ADOBE_DEFLATE;
	check_fixture(&f, 3, 0);
}

/* ---- codecs ---- */

static void jpeg_ycbcr_tiles_match_within_a_tolerance(void)
{
	struct fx f = base_rgb;
	f.compression = COMPRESSION_JPEG;
	f.photometric = PHOTOMETRIC_YCBCR;
	f.smooth = true;
	f.tile_h = 128;
	check_fixture(&f, 3, 24);
}

static void jpeg_gray_strips_match_within_a_tolerance(void)
{
	struct fx f = base_rgb;
	f.compression = COMPRESSION_JPEG;
	f.photometric = PHOTOMETRIC_MINISBLACK;
	f.spp = 1;
	f.smooth = true;
	f.tile_w = f.tile_h = 0;
	f.rows_per_strip = 32;
	f.nlevels = 2;
	check_fixture(&f, 1, 24);
}

static void zstd_tiles_are_exact_when_the_codec_is_built(void)
{
	struct fx f = base_rgb;
	if (!TIFFIsCODECConfigured(COMPRESSION_ZSTD)) {
		printf("    skipped: libtiff has no ZSTD\n");
		return;
	}
	f.compression = COMPRESSION_ZSTD;
	check_fixture(&f, 3, 0);
}

static void webp_tiles_are_exact_when_lossless_and_the_codec_is_built(void)
{
	struct fx f = base_rgb;
	if (!TIFFIsCODECConfigured(COMPRESSION_WEBP)) {
		printf("    skipped: libtiff has no WebP\n");
		return;
	}
	f.compression = COMPRESSION_WEBP;
	f.webp_lossless = true;
	f.spp = 4;
	f.extra = EXTRASAMPLE_UNASSALPHA;
	check_fixture(&f, 4, 0);
}

static void packbits_strips_are_exact(void)
{
	struct fx f = base_rgb;
	f.compression = COMPRESSION_PACKBITS;
	f.tile_w = f.tile_h = 0;
	f.rows_per_strip = 7;
	f.nlevels = 2;
	check_fixture(&f, 3, 0);
}

/* ---- budgets and limits ---- */

static void budget_exceeded_is_403_before_anything_is_allocated(void)
{
	struct fx f = base_rgb;
	char path[64];
	struct ts_source *s;
	struct ts_image img = { 0 };
	struct ts_error err;

	f.nlevels = 1;
	EXPECT(fx_write(&f, path));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		/* 4 tiles of 256x256 = 262144 source pixels. */
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 250, 250, 10, 10, 262143, &img, &err),
		              403);
		EXPECT_EQ_STR(err.msg, "request needs 262144 source pixels, "
		                       "more than the limit of 262143");
		EXPECT(img.pixels == NULL);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 250, 250, 10, 10, 262144, &img, &err),
		              0);
		ts_image_free(&img);
	}
	ts_image_free(&img);
	ts_source_close(s);
	unlink(path);
}

static void image_over_the_source_pixel_limit_is_403(void)
{
	struct fx f = base_rgb;
	struct ts_source_limits lim = { .max_source_pixels = 699999 };
	struct ts_source *s = NULL;
	struct ts_error err;
	char path[64];

	f.nlevels = 1;
	EXPECT(fx_write(&f, path));
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open(path, &lim, &s, &err), 403);
	EXPECT_EQ_STR(err.msg, "image too large");
	EXPECT(s == NULL);
	lim.max_source_pixels = 700000;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open(path, &lim, &s, &err), 0);
	ts_source_close(s);
	unlink(path);
}

static void region_outside_the_level_is_an_internal_error(void)
{
	struct fx f = base_rgb;
	char path[64];
	struct ts_source *s;
	struct ts_image img = { 0 };
	struct ts_error err;

	EXPECT(fx_write(&f, path));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 1, 400, 0, 101, 10, 0, &img, &err), 500);
		EXPECT_EQ_STR(err.msg, "internal: region outside level");
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 0xFFFFFFF0u, 0, 0x20, 1, 0, &img, &err),
		              500);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 3, 0, 0, 1, 1, 0, &img, &err), 500);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 0, 0, 0, 1, 0, &img, &err), 500);
	}
	ts_image_free(&img);
	ts_source_close(s);
	unlink(path);
}

/* Write a classic little-endian TIFF by hand: 100000 x 100000 gray,
 * strips of rps rows whose offsets all point far past the end of file. */
static bool write_huge_header(char *path, uint32_t rps, uint16_t compression)
{
	uint32_t size = 100000, nstrips = (size + rps - 1) / rps, i;
	uint32_t arrays = 8 + 2 + 9 * 12 + 4;
	FILE *fp;
	int fd;
	struct { uint16_t tag, type; uint32_t count, value; } e[9] = {
		{ 256, 4, 1, size }, { 257, 4, 1, size }, { 258, 3, 1, 8 }, { 259, 3, 1, compression },
		{ 262, 3, 1, 1 }, { 273, 4, nstrips, 0 }, { 277, 3, 1, 1 }, { 278, 4, 1, rps },
		{ 279, 4, nstrips, 0 },
	};

	e[5].value = nstrips == 1 ? 0x7FFF0000u : arrays;
	e[8].value = nstrips == 1 ? 0xFFFFFFFFu : arrays + 4 * nstrips;
	strcpy(path, "/tmp/tessera-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	fp = fdopen(fd, "wb");
	if (!fp)
		return false;
	fwrite("II*\0", 1, 4, fp);
	i = 8;
	fwrite(&i, 4, 1, fp);
	fwrite(&(uint16_t){ 9 }, 2, 1, fp);
	for (i = 0; i < 9; i++) {
		fwrite(&e[i].tag, 2, 1, fp);
		fwrite(&e[i].type, 2, 1, fp);
		fwrite(&e[i].count, 4, 1, fp);
		fwrite(&e[i].value, 4, 1, fp);
	}
	fwrite(&(uint32_t){ 0 }, 4, 1, fp);
	if (nstrips > 1) {
		for (i = 0; i < nstrips; i++)
			fwrite(&(uint32_t){ 0x10000000u + i * 16u }, 4, 1, fp);
		for (i = 0; i < nstrips; i++)
			fwrite(&(uint32_t){ rps * size }, 4, 1, fp);
	}
	return fclose(fp) == 0;
}

static void declared_100000_square_striped_image_fails_fast_and_cleanly(void)
{
	char path[64];
	struct ts_source *s;
	struct ts_image img = { 0 };
	struct ts_error err;
	double t0 = now_seconds();

	EXPECT(write_huge_header(path, 16, COMPRESSION_NONE));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		EXPECT_EQ_INT(s->info.nlevels, 1);
		EXPECT_EQ_INT(s->info.width, 100000);
		EXPECT_EQ_INT(s->info.levels[0].tile_w, 0);
		/* One strip of 16 x 100000 is over a 1M budget... */
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 50000, 50000, 10, 10, 1000000,
		                                    &img, &err), 403);
		EXPECT_EQ_STR(err.msg, "request needs 1600000 source pixels, "
		                       "more than the limit of 1000000");
		/* ...and within a larger one the bogus strip is a clean 500. */
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 50000, 50000, 10, 10, 10000000,
		                                    &img, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt tile");
		EXPECT(img.pixels == NULL);
	}
	ts_image_free(&img);
	ts_source_close(s);
	unlink(path);

	/* A single deflated strip holding the whole image: 10^10 pixels to
	 * decode for any region. */
	EXPECT(write_huge_header(path, 100000, COMPRESSION_ADOBE_DEFLATE));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 0, 0, 1, 1, 100000000, &img, &err),
		              403);
		EXPECT_EQ_STR(err.msg, "request needs 10000000000 source pixels, "
		                       "more than the limit of 100000000");
	}
	ts_image_free(&img);
	ts_source_close(s);
	unlink(path);

	/* The same uncompressed: libtiff reads it as many small virtual
	 * strips, so a small region is within budget and fails cleanly. */
	EXPECT(write_huge_header(path, 100000, COMPRESSION_NONE));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 99990, 99990, 10, 10, 100000000,
		                                    &img, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt tile");
	}
	ts_image_free(&img);
	ts_source_close(s);
	unlink(path);
	EXPECT(now_seconds() - t0 < 2.0);
}

/* ---- broken files ---- */

static uint64_t first_tile_offset(const char *path, uint64_t *bytes)
{
	TIFF *t = TIFFOpen(path, "r");
	uint64_t *off = NULL, *cnt = NULL, r = 0;

	if (!t)
		return 0;
	if (TIFFGetField(t, TIFFTAG_TILEOFFSETS, &off) &&
	    TIFFGetField(t, TIFFTAG_TILEBYTECOUNTS, &cnt)) {
		r = off[0];
		*bytes = cnt[0];
	}
	TIFFClose(t);
	return r;
}

static void corrupt_tile_is_500_not_garbage(uint16_t compression, uint16_t photometric)
{
	struct fx f = base_rgb;
	char path[64];
	unsigned char junk[64];
	struct ts_source *s;
	struct ts_image img = { 0 };
	struct ts_error err;
	uint64_t off, bytes = 0;
	int fd;

	f.nlevels = 1;
	f.compression = compression;
	f.photometric = photometric;
	f.smooth = true;
	EXPECT(fx_write(&f, path));
	off = first_tile_offset(path, &bytes);
	EXPECT(off > 0 && bytes > 200);
	/* Overwrite the middle of tile 0's compressed bytes. */
	memset(junk, 0xFF, sizeof junk);
	fd = open(path, O_WRONLY);
	EXPECT(fd >= 0);
	EXPECT(pwrite(fd, junk, sizeof junk, (off_t)(off + bytes / 2)) == (ssize_t)sizeof junk);
	close(fd);

	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 0, 0, 256, 256, 0, &img, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt tile");
		EXPECT(err.detail[0] != '\0');
		EXPECT(img.pixels == NULL);
		/* Other tiles still read. */
		EXPECT_EQ_INT(compare_region(s, &f, 0, 0, 256, 256, 100, 100, 24, NULL), 0);
	}
	ts_image_free(&img);
	ts_source_close(s);
	unlink(path);
}

static void corrupt_deflate_tile_is_500(void)
{
	corrupt_tile_is_500_not_garbage(COMPRESSION_ADOBE_DEFLATE, PHOTOMETRIC_RGB);
}

static void corrupt_jpeg_tile_is_500(void)
{
	corrupt_tile_is_500_not_garbage(COMPRESSION_JPEG, PHOTOMETRIC_YCBCR);
}

static void truncated_file_is_500(void)
{
	struct fx f = base_rgb;
	char path[64];
	struct ts_source *s = NULL;
	struct ts_error err;
	struct stat st;

	f.nlevels = 1;
	f.compression = COMPRESSION_ADOBE_DEFLATE;
	EXPECT(fx_write(&f, path));
	EXPECT(stat(path, &st) == 0);
	EXPECT(truncate(path, st.st_size / 2) == 0);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), 500);
	EXPECT_EQ_STR(err.msg, "cannot read image");
	EXPECT(strstr(err.detail, path) != NULL);   /* the path is private detail */
	EXPECT(s == NULL);
	unlink(path);
}

/* Tile data cut off while the directory survives (a file truncated after
 * the source opened it, or an IFD written before its data). */
static void tiles_past_the_end_of_file_are_500(void)
{
	struct fx f = base_rgb;
	char path[64];
	struct ts_source *s;
	struct ts_image img = { 0 };
	struct ts_error err;
	uint64_t off, bytes = 0;

	f.nlevels = 1;
	EXPECT(fx_write(&f, path));
	off = first_tile_offset(path, &bytes);
	EXPECT(off > 0);
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		int fd;
		/* Read once so the level's directory is already selected. */
		EXPECT_EQ_INT(compare_region(s, &f, 0, 0, 300, 300, 10, 10, 0, NULL), 0);
		fd = open(path, O_WRONLY);
		EXPECT(fd >= 0);
		/* Make the file end right after tile 0 starts; the source already
		 * holds the directory, so only the tile read sees the cut. */
		EXPECT(ftruncate(fd, (off_t)(off + 10)) == 0);
		close(fd);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_read_region(s, 0, 0, 0, 10, 10, 0, &img, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt tile");
		EXPECT(img.pixels == NULL);
	}
	ts_image_free(&img);
	ts_source_close(s);
	unlink(path);
}

static void not_a_tiff_is_500_and_missing_file_is_404(void)
{
	char path[64];
	struct ts_source *s = NULL;
	struct ts_error err;
	int fd;
	const char *bogus[] = { "this is not an image at all, sorry",
	                        "II*\0garbage that is not an IFD....", "MM" };
	size_t i, len[] = { 34, 34, 2 };

	for (i = 0; i < 3; i++) {
		strcpy(path, "/tmp/tessera-test-XXXXXX");
		fd = mkstemp(path);
		EXPECT(fd >= 0);
		EXPECT(write(fd, bogus[i], len[i]) == (ssize_t)len[i]);
		close(fd);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), 500);
		EXPECT_EQ_STR(err.msg, "cannot read image");
		EXPECT(s == NULL);
		unlink(path);
	}
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open("/tmp/tessera-test-does-not-exist.tif", NULL, &s, &err),
	              404);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open("/tmp", NULL, &s, &err), 404);
}

static void float_samples_are_refused_as_unsupported(void)
{
	char path[64];
	struct ts_source *s = NULL;
	struct ts_error err;
	float row[16] = { 0 };
	TIFF *t;
	int fd, y;

	strcpy(path, "/tmp/tessera-test-XXXXXX");
	fd = mkstemp(path);
	close(fd);
	t = TIFFOpen(path, "w");
	EXPECT(t != NULL);
	if (!t)
		return;
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 16);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, 16);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 32);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
	for (y = 0; y < 16; y++)
		TIFFWriteScanline(t, row, (uint32_t)y, 0);
	TIFFClose(t);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open(path, NULL, &s, &err), 500);
	EXPECT_EQ_STR(err.msg, "unsupported TIFF layout");
	EXPECT(s == NULL);
	unlink(path);
}

/* ---- threads ---- */

struct thread_job {
	struct fx f;
	long bad;
};

static void *read_many(void *arg)
{
	struct thread_job *job = arg;
	char path[64];
	struct ts_source *s;
	int i;

	job->bad = -1;
	if (!fx_write(&job->f, path))
		return NULL;
	s = open_ok(path);
	if (s) {
		job->bad = 0;
		for (i = 0; i < 20; i++) {
			long b = compare_region(s, &job->f, i % 3, i % 3, (uint32_t)i, (uint32_t)i,
			                        100, 60, job->f.smooth ? 24 : 0, NULL);
			job->bad += b < 0 ? 1000 : b;
		}
	}
	ts_source_close(s);
	unlink(path);
	return NULL;
}

static void sources_in_different_threads_do_not_interfere(void)
{
	struct thread_job jobs[4];
	pthread_t th[4];
	int i;

	for (i = 0; i < 4; i++) {
		jobs[i].f = base_rgb;
		jobs[i].f.compression = i % 2 ? COMPRESSION_JPEG : COMPRESSION_ADOBE_DEFLATE;
		jobs[i].f.photometric = i % 2 ? PHOTOMETRIC_YCBCR : PHOTOMETRIC_RGB;
		jobs[i].f.smooth = i % 2;
		EXPECT(pthread_create(&th[i], NULL, read_many, &jobs[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ_INT(jobs[i].bad, 0);
	}
}

/* ---- stored tiles for pass-through ---- */

/* Decode tables + abbreviated tile the way a pass-through would serve them
 * (one stream: the tables' markers, then the tile after its SOI) and
 * compare the valid part with the pattern. */
static long decode_raw_tile(const struct ts_raw_tile *t, const struct fx *f, uint32_t ox,
                            uint32_t oy, uint32_t tw, uint32_t th)
{
	size_t len = t->tables_len - 2 + t->len - 2;
	unsigned char *jpeg = malloc(len), *rgb = malloc((size_t)tw * th * 3);
	tjhandle tj = tjInitDecompress();
	long bad = -1;
	int w = 0, h = 0, sub = 0, cs = 0;
	uint32_t x, y;
	int c;

	if (!jpeg || !rgb || !tj)
		goto out;
	memcpy(jpeg, t->tables, t->tables_len - 2);                /* drop EOI */
	memcpy(jpeg + t->tables_len - 2, t->data + 2, t->len - 2);  /* drop SOI */
	if (tjDecompressHeader3(tj, jpeg, len, &w, &h, &sub, &cs) != 0 ||
	    (uint32_t)w != tw || (uint32_t)h != th ||
	    tjDecompress2(tj, jpeg, len, rgb, w, 0, h, TJPF_RGB, 0) != 0) {
		printf("    turbojpeg: %s\n", tjGetErrorStr2(tj));
		goto out;
	}
	bad = 0;
	for (y = 0; y < t->valid_h; y++)
		for (x = 0; x < t->valid_w; x++)
			for (c = 0; c < 3; c++) {
				int d = rgb[((size_t)y * tw + x) * 3 + c] - fx_expect(f, 0, ox + x, oy + y, c);
				if (d > 24 || d < -24)
					bad++;
			}
out:
	if (tj)
		tjDestroy(tj);
	free(jpeg);
	free(rgb);
	return bad;
}

static void stored_jpeg_tiles_come_out_whole_with_their_tables(void)
{
	struct fx f = base_rgb;
	char path[64];
	struct ts_source *s;
	struct ts_raw_tile t;
	struct ts_error err;

	f.compression = COMPRESSION_JPEG;
	f.photometric = PHOTOMETRIC_YCBCR;
	f.smooth = true;
	f.tile_h = 128;
	f.nlevels = 2;
	EXPECT(fx_write(&f, path));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		ts_error_clear(&err);
		/* The bottom-right edge tile: 1000-768 x 700-640. */
		EXPECT_EQ_INT(ts_source_raw_tile(s, 0, 3, 5, 1 << 20, &t, &err), 0);
		EXPECT_EQ_INT(t.valid_w, 232);
		EXPECT_EQ_INT(t.valid_h, 60);
		EXPECT(!t.rgb && !t.gray);
		EXPECT(t.len > 4 && t.data[0] == 0xFF && t.data[1] == 0xD8);
		EXPECT(t.data[t.len - 2] == 0xFF && t.data[t.len - 1] == 0xD9);
		EXPECT(t.tables_len > 4 && t.tables[0] == 0xFF && t.tables[1] == 0xD8);
		if (t.len > 4 && t.tables_len > 4)
			EXPECT_EQ_INT(decode_raw_tile(&t, &f, 768, 640, 256, 128), 0);
		ts_raw_tile_free(&t);
		/* An interior tile decodes too. */
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_raw_tile(s, 0, 1, 2, 1 << 20, &t, &err), 0);
		EXPECT_EQ_INT(t.valid_w, 256);
		if (t.len > 4 && t.tables_len > 4)
			EXPECT_EQ_INT(decode_raw_tile(&t, &f, 256, 256, 256, 128), 0);
		ts_raw_tile_free(&t);
		/* Outside the tile grid, or bigger than the caller allows. */
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_raw_tile(s, 0, 4, 0, 1 << 20, &t, &err), 500);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_raw_tile(s, 0, 0, 0, 10, &t, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt tile");
		EXPECT(t.data == NULL);
	}
	ts_source_close(s);
	unlink(path);
}

/* Stored tiles come from a per-level index with pread; asking the levels
 * in alternation (which used to switch libtiff directories every time)
 * gives the bytes libtiff itself reads for every tile. */
static void stored_tiles_of_alternating_levels_are_the_bytes_libtiff_reads(void)
{
	struct fx f = base_rgb;
	char path[64];
	struct ts_source *s;
	TIFF *tif;
	long bad = 0, checked = 0;

	f.compression = COMPRESSION_JPEG;
	f.photometric = PHOTOMETRIC_YCBCR;
	f.nlevels = 2;
	EXPECT(fx_write(&f, path));
	s = open_ok(path);
	tif = TIFFOpen(path, "r");
	EXPECT(s != NULL && tif != NULL);
	if (s && tif) {
		for (uint32_t k = 0; k < 64; k++) {
			int level = (int)(k % 2);
			const struct ts_source_level *lv = &s->info.levels[level];
			uint32_t across = (lv->width + lv->tile_w - 1) / lv->tile_w;
			uint32_t down = (lv->height + lv->tile_h - 1) / lv->tile_h;
			uint32_t n = across * down, t = (k / 2 * 7) % n;
			struct ts_raw_tile raw;
			struct ts_error err;
			unsigned char *want;
			tmsize_t wn;

			ts_error_clear(&err);
			if (ts_source_raw_tile(s, level, t % across, t / across, 1 << 20, &raw, &err)) {
				bad++;
				continue;
			}
			TIFFSetDirectory(tif, (tdir_t)level);
			want = malloc(raw.len + 16);
			wn = want ? TIFFReadRawTile(tif, t, want, (tmsize_t)raw.len + 16) : -1;
			if (wn != (tmsize_t)raw.len || memcmp(want, raw.data, raw.len) != 0)
				bad++;
			checked++;
			free(want);
			ts_raw_tile_free(&raw);
		}
	}
	EXPECT_EQ_INT(bad, 0);
	EXPECT_EQ_INT(checked, 64);
	if (tif)
		TIFFClose(tif);
	ts_source_close(s);
	unlink(path);
}

/* Opened only as the file the resolver saw: the same path now leading to
 * another file (a symlink changed in between) is 404. */
static void a_file_replaced_after_resolving_is_not_opened(void)
{
	struct fx f = base_rgb;
	char path[64], other[64];
	struct stat st_path, st_other;
	struct ts_source *s = NULL;
	struct ts_error err;

	EXPECT(fx_write(&f, path));
	EXPECT(fx_write(&f, other));
	EXPECT(stat(path, &st_path) == 0 && stat(other, &st_other) == 0);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open_as(path, &st_other, NULL, &s, &err), 404);
	EXPECT(s == NULL);
	EXPECT_EQ_STR(err.msg, "image not found");
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_open_as(path, &st_path, NULL, &s, &err), 0);
	ts_source_close(s);
	unlink(path);
	unlink(other);
}

static void tiles_that_are_not_jpeg_cannot_be_passed_through(void)
{
	struct fx f = base_rgb;
	char path[64];
	struct ts_source *s;
	struct ts_raw_tile t;
	struct ts_error err;

	f.compression = COMPRESSION_ADOBE_DEFLATE;
	f.nlevels = 1;
	EXPECT(fx_write(&f, path));
	s = open_ok(path);
	EXPECT(s != NULL);
	if (s) {
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_raw_tile(s, 0, 0, 0, 1 << 20, &t, &err), 501);
		EXPECT(t.data == NULL);
	}
	ts_source_close(s);
	unlink(path);
}

/* ---- files written by vips ---- */

static int run(const char *cmd)
{
	int rc = system(cmd);
	return rc;
}

static void vips_pyramid_opens_with_every_level(const char *layout)
{
	struct fx f = base_rgb;
	char src[64], dst[80], cmd[512];
	struct ts_source *s;
	struct ts_raw_tile raw;
	struct ts_error err;
	TIFF *t;
	int ndirs = 0, l;

	if (run("command -v vips >/dev/null 2>&1") != 0) {
		printf("    skipped: vips not installed\n");
		return;
	}
	f.nlevels = 1;
	f.smooth = true;
	f.tile_w = f.tile_h = 0;
	f.rows_per_strip = 64;
	EXPECT(fx_write(&f, src));
	snprintf(dst, sizeof dst, "%s-vips.tif", src);
	snprintf(cmd, sizeof cmd,
	         "vips tiffsave %s %s --tile --pyramid %s --compression jpeg --Q 90 "
	         ">/dev/null 2>&1", src, dst, layout);
	EXPECT_EQ_INT(run(cmd), 0);

	/* Count the levels vips wrote, as pages or SubIFDs. */
	t = TIFFOpen(dst, "r");
	EXPECT(t != NULL);
	if (t) {
		uint16_t nsub = 0;
		uint64_t *sub;
		ndirs = TIFFNumberOfDirectories(t);
		if (TIFFGetField(t, TIFFTAG_SUBIFD, &nsub, &sub))
			ndirs += nsub;
		TIFFClose(t);
	}
	EXPECT(ndirs >= 3);

	s = open_ok(dst);
	EXPECT(s != NULL);
	if (s) {
		EXPECT_EQ_INT(s->info.nlevels, ndirs);
		EXPECT_EQ_INT(s->info.channels, 3);
		EXPECT(s->info.levels[0].tile_w > 0);
		for (l = 1; l < s->info.nlevels; l++)
			EXPECT(s->info.levels[l].width < s->info.levels[l - 1].width);
		/* Full resolution matches the pattern within JPEG tolerance. */
		EXPECT_EQ_INT(compare_region(s, &f, 0, 0, 123, 77, 300, 200, 24, NULL), 0);
		/* vips at Q90 stores RGB-component JPEG tiles: passable as is. */
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_source_raw_tile(s, 0, 0, 0, 1 << 20, &raw, &err), 0);
		EXPECT(raw.rgb && !raw.gray && raw.tables_len > 4 && raw.len > 4);
		ts_raw_tile_free(&raw);
	}
	ts_source_close(s);
	unlink(src);
	unlink(dst);
}

static void vips_page_pyramid_opens_with_every_level(void)
{
	vips_pyramid_opens_with_every_level("");
}

static void vips_subifd_pyramid_opens_with_every_level(void)
{
	vips_pyramid_opens_with_every_level("--subifd");
}

int main(void)
{
	/* Line-buffered, so a sanitizer exit cannot swallow the results. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The fixtures' own libtiff writes would print to stderr on failure;
	 * the reader under test must not print anything itself. */
	RUN(pyramid_written_as_pages_has_three_floor_halved_levels);
	RUN(pyramid_written_as_subifds_has_three_levels);
	RUN(non_square_tiles_with_edge_tiles_are_clipped);
	RUN(region_spanning_four_tiles_at_odd_offsets_is_exact);
	RUN(unrelated_pages_and_masks_are_not_levels);
	RUN(gray_8bit_is_one_channel);
	RUN(gray_with_alpha_is_two_channels);
	RUN(rgba_with_unassociated_alpha_is_four_channels);
	RUN(rgb_16bit_big_endian_is_rounded_to_8_bits);
	RUN(miniswhite_is_inverted);
	RUN(palette_image_is_read_through_the_rgba_fallback);
	RUN(palette_strips_are_read_through_the_rgba_fallback);
	RUN(bilevel_1bit_strips_become_black_and_white_gray);
	RUN(striped_single_level_image_reads_only_what_it_needs);
	RUN(bigtiff_pyramid_reads_like_classic);
	RUN(jpeg_ycbcr_tiles_match_within_a_tolerance);
	RUN(jpeg_gray_strips_match_within_a_tolerance);
	RUN(zstd_tiles_are_exact_when_the_codec_is_built);
	RUN(webp_tiles_are_exact_when_lossless_and_the_codec_is_built);
	RUN(packbits_strips_are_exact);
	RUN(budget_exceeded_is_403_before_anything_is_allocated);
	RUN(image_over_the_source_pixel_limit_is_403);
	RUN(region_outside_the_level_is_an_internal_error);
	RUN(declared_100000_square_striped_image_fails_fast_and_cleanly);
	RUN(corrupt_deflate_tile_is_500);
	RUN(corrupt_jpeg_tile_is_500);
	RUN(truncated_file_is_500);
	RUN(tiles_past_the_end_of_file_are_500);
	RUN(not_a_tiff_is_500_and_missing_file_is_404);
	RUN(float_samples_are_refused_as_unsupported);
	RUN(sources_in_different_threads_do_not_interfere);
	RUN(stored_jpeg_tiles_come_out_whole_with_their_tables);
	RUN(stored_tiles_of_alternating_levels_are_the_bytes_libtiff_reads);
	RUN(a_file_replaced_after_resolving_is_not_opened);
	RUN(tiles_that_are_not_jpeg_cannot_be_passed_through);
	RUN(vips_page_pyramid_opens_with_every_level);
	RUN(vips_subifd_pyramid_opens_with_every_level);
	return CHECK_DONE();
}
