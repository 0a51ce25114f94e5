/*
 * test_jp2_tiles.c - JPEG 2000 reads assembled from the decoded-tile cache
 * give the same pixels as decoding the window directly, on every level,
 * across code-stream tile edges, with image and tile offsets, gray and
 * subsampled chroma; and a code-stream tile is decoded once for all the
 * windows inside it.  Files are made with opj_compress at test time; without
 * it every test says "skipped".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "tessera/source.h"
#include "tessera/tile_cache.h"

static const struct ts_source_ops *ops = &ts_jp2_source_ops;
static char dir[] = "/tmp/ts_jp2t_XXXXXX";
static int have_opj;

static int skip(void)
{
	if (!have_opj)
		printf("    skipped: opj_compress not found\n");
	return !have_opj;
}

/* A textured pattern (not just ramps), so a misplaced tile shows. */
static unsigned pat(int c, uint32_t x, uint32_t y)
{
	return (unsigned)((x * (3 + c) + y * (5 + 2 * c) + ((x / 7) ^ (y / 5)) * 11) & 0xFF);
}

static void write_pnm(const char *name, uint32_t W, uint32_t H, int nc)
{
	char p[300];
	FILE *f;
	uint32_t x, y;
	int c;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "wb");
	fprintf(f, "P%d\n%u %u\n255\n", nc == 1 ? 5 : 6, W, H);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			for (c = 0; c < nc; c++)
				fputc((int)pat(c, x, y), f);
	fclose(f);
}

/* Planar Y (W x H), Cb and Cr (W/2 x H/2) for a 4:2:0 codestream. */
static void write_ycc(const char *name, uint32_t W, uint32_t H)
{
	char p[300];
	FILE *f;
	uint32_t x, y;
	int c;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "wb");
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			fputc((int)pat(0, x, y), f);
	for (c = 1; c < 3; c++)
		for (y = 0; y < H / 2; y++)
			for (x = 0; x < W / 2; x++)
				fputc(96 + (int)(pat(c, x, y) & 63), f);
	fclose(f);
}

static const char *make(const char *name, const char *input, const char *opts)
{
	static char out[8][256];
	static int slot;
	char cmd[1024];
	char *p = out[slot++ % 8];

	if (!have_opj)
		return NULL;
	snprintf(p, 256, "%s/%s", dir, name);
	snprintf(cmd, sizeof cmd, "opj_compress -i %s/%s -o %s %s >/dev/null 2>&1",
	         dir, input, p, opts);
	if (system(cmd) != 0) {
		printf("    opj_compress failed: %s\n", cmd);
		return NULL;
	}
	return p;
}

static struct ts_source *open_with(const char *path, struct ts_tile_cache *tiles)
{
	struct ts_source_limits lim = { .tiles = tiles };
	struct ts_source *s = NULL;
	struct ts_error err = { 0 };
	int fd = open(path, O_RDONLY);

	if (fd < 0 || ops->open(fd, path, &lim, &s, &err) != 0) {
		printf("    open %s: %s (%s)\n", path, err.msg, err.detail);
		return NULL;
	}
	return s;
}

/* Largest sample difference between the two images (-1: sizes differ). */
static int max_diff(const struct ts_image *a, const struct ts_image *b)
{
	uint32_t x, y;
	int m = 0, d;

	if (a->width != b->width || a->height != b->height || a->channels != b->channels)
		return -1;
	for (y = 0; y < a->height; y++)
		for (x = 0; x < a->width * (uint32_t)a->channels; x++) {
			d = abs(a->pixels[y * a->stride + x] - b->pixels[y * b->stride + x]);
			m = d > m ? d : m;
		}
	return m;
}

/* One window read through the cache and directly: their largest sample
 * difference, or -1 when a read fails or the sizes differ. */
static int compare_one(struct ts_source *cached, struct ts_source *direct, int L, uint32_t x,
                       uint32_t y, uint32_t w, uint32_t h)
{
	const struct ts_source_level *lv = &cached->info.levels[L];
	struct ts_image a = { 0 }, b = { 0 };
	struct ts_error err = { 0 };
	int d;

	w = w < lv->width - x ? w : lv->width - x;
	h = h < lv->height - y ? h : lv->height - y;
	if (ops->read_region(cached, L, x, y, w, h, 0, &a, &err) ||
	    ops->read_region(direct, L, x, y, w, h, 0, &b, &err)) {
		printf("    level %d %u,%u,%u,%u: %s (%s)\n", L, x, y, w, h, err.msg, err.detail);
		d = -1;
	} else {
		d = max_diff(&a, &b);
		if (d != 0)
			printf("    level %d %u,%u,%u,%u differs by %d\n", L, x, y, w, h, d);
	}
	ts_image_free(&a);
	ts_image_free(&b);
	return d;
}

/*
 * Every level: a viewer's grid of `step`-pixel windows, odd windows that
 * straddle tile edges, and the whole level, read through the cache and
 * directly.  Returns the largest difference seen (-1 on any failure).
 */
static int compare_everywhere(const char *path, uint32_t step, int *windows)
{
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct ts_source *cached = open_with(path, c), *direct = open_with(path, NULL);
	int L, worst = 0, d, i;
	uint32_t x, y;

	*windows = 0;
	if (!cached || !direct) {
		worst = -1;
		goto done;
	}
	for (L = 0; L < cached->info.nlevels; L++) {
		const struct ts_source_level *lv = &cached->info.levels[L];
		uint32_t odd[4][4] = {
			{ 1, 1, 100, 37 },
			{ lv->width / 3, lv->height / 4, 131, 90 },
			{ lv->width > 70 ? lv->width - 70 : 0, lv->height > 50 ? lv->height - 50 : 0, 70, 50 },
			{ 0, 0, lv->width, lv->height },
		};
		for (y = 0; y < lv->height; y += step)
			for (x = 0; x < lv->width; x += step, (*windows)++)
				if ((d = compare_one(cached, direct, L, x, y, step, step)) != 0)
					worst = worst < 0 || d < 0 ? -1 : d > worst ? d : worst;
		for (i = 0; i < 4; i++, (*windows)++)
			if (odd[i][0] < lv->width && odd[i][1] < lv->height &&
			    (d = compare_one(cached, direct, L, odd[i][0], odd[i][1], odd[i][2],
			                     odd[i][3])) != 0)
				worst = worst < 0 || d < 0 ? -1 : d > worst ? d : worst;
	}
done:
	if (cached)
		ops->close(cached);
	if (direct)
		ops->close(direct);
	ts_tile_cache_destroy(c);
	return worst;
}

static void tiled_rgb_through_the_cache_matches_direct_decodes_on_every_level(void)
{
	const char *f = make("t.jp2", "rgb.ppm",
	                     "-n 5 -t 128,128 -c [64,64] -b 32,32 -p RPCL -I -r 10");
	int n, d;

	if (skip() || !f)
		return;
	/* The 9/7 wavelet is computed in floating point and OpenJPEG's window
	 * decode works on a smaller area than the whole tile, so a sample may
	 * round the other way: at most 1 apart.  (The reversible 5/3 files
	 * below must match exactly.) */
	d = compare_everywhere(f, 64, &n);
	EXPECT(d == 0 || d == 1);
	EXPECT(n > 100);
}

static void offsets_of_image_and_tiles_are_honoured(void)
{
	/* Image origin 13,7 on the reference grid, tiles from 5,3: every tile
	 * edge falls between pixels no power of two divides evenly. */
	const char *f = make("off.j2k", "rgb.ppm", "-n 4 -t 100,90 -d 13,7 -T 5,3");
	int n;

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(compare_everywhere(f, 50, &n), 0);
}

static void gray_and_subsampled_chroma_match_too(void)
{
	const char *g = make("g.j2k", "gray.pgm", "-n 4 -t 64,64");
	const char *y = make("ycc.j2k", "ycc.raw", "-F 300,200,3,8,u@1x1:2x2:2x2 -n 3 -t 64,64");
	int n;

	if (skip() || !g || !y)
		return;
	EXPECT_EQ_INT(compare_everywhere(g, 40, &n), 0);
	EXPECT_EQ_INT(compare_everywhere(y, 40, &n), 0);
}

static void the_windows_inside_one_code_stream_tile_decode_it_once(void)
{
	const char *f = make("once.jp2", "rgb.ppm", "-n 3 -t 128,128");
	struct ts_tile_cache *c = ts_tile_cache_create(16 << 20);
	struct ts_tile_cache_stats st;
	struct ts_source *s;
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };
	uint32_t x, y;

	if (skip() || !f || !(s = open_with(f, c))) {
		ts_tile_cache_destroy(c);
		return;
	}
	/* Sixteen 32x32 windows of tile (1,1) at full resolution. */
	for (y = 128; y < 256; y += 32)
		for (x = 128; x < 256; x += 32) {
			EXPECT_EQ_INT(ops->read_region(s, 0, x, y, 32, 32, 0, &img, &err), 0);
			ts_image_free(&img);
		}
	/* The first look decodes just its window (jp2_read.c: a cold tile the
	 * window covers less than a quarter of), the second the tile whole,
	 * and the other fourteen copy from it. */
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.loads, 1);
	EXPECT_EQ_INT(st.hits, 14);
	/* A window over four tiles at level 1 (64x64 tiles there) loads four. */
	EXPECT_EQ_INT(ops->read_region(s, 1, 32, 32, 64, 64, 0, &img, &err), 0);
	ts_image_free(&img);
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.loads, 5);
	ops->close(s);
	ts_tile_cache_destroy(c);
}

static void the_decode_budget_still_refuses_big_windows(void)
{
	const char *f = make("b.jp2", "rgb.ppm", "-n 3 -t 128,128");
	struct ts_tile_cache *c = ts_tile_cache_create(16 << 20);
	struct ts_source *s;
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };

	if (skip() || !f || !(s = open_with(f, c))) {
		ts_tile_cache_destroy(c);
		return;
	}
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 500, 400, 10000, &img, &err), 403);
	EXPECT(img.pixels == NULL);
	/* A 64x64 window fits a 10000-pixel budget though its 128x128 tile
	 * (16384) does not: it is decoded directly instead, not refused. */
	ts_error_clear(&err);
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 64, 64, 10000, &img, &err), 0);
	EXPECT_EQ_INT(img.width, 64);
	ts_image_free(&img);
	ops->close(s);
	ts_tile_cache_destroy(c);
}

int main(void)
{
	char p[300];
	int rc;

	have_opj = system("command -v opj_compress >/dev/null 2>&1") == 0;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	write_pnm("rgb.ppm", 601, 403, 3);
	write_pnm("gray.pgm", 301, 203, 1);
	write_ycc("ycc.raw", 300, 200);

	RUN(tiled_rgb_through_the_cache_matches_direct_decodes_on_every_level);
	RUN(offsets_of_image_and_tiles_are_honoured);
	RUN(gray_and_subsampled_chroma_match_too);
	RUN(the_windows_inside_one_code_stream_tile_decode_it_once);
	RUN(the_decode_budget_still_refuses_big_windows);

	snprintf(p, sizeof p, "rm -rf %s", dir);
	rc = system(p);
	(void)rc;
	return CHECK_DONE();
}
