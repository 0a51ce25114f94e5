/*
 * test_jp2_window.c - a window decoded alone has the pixels of the same
 * rectangle cut from whole decoded tiles, on every level of tiled, untiled
 * and precinct JPEG 2000 files: viewer grids (IIIF 256, DeepZoom 254 with
 * overlap 1), windows straddling 2 and 4 code-stream tiles, edge windows
 * and single pixels.  The reference is each level decoded whole in one
 * read (OpenJPEG decodes every tile whole then); the windows are read from
 * a source without the decoded-tile cache (always a window decode) and from
 * one with it (first look a window, later looks whole tiles, jp2_read.c).
 *
 * Tolerance: 0 for the reversible 5/3 files (integer wavelet: exact); 1 for
 * the 9/7 file (floating-point wavelet: a window's partial inverse
 * transform may round a sample the other way).  Files are made at test
 * time with opj_compress; without it every test says "skipped".
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
static char dir[] = "/tmp/ts_jp2w_XXXXXX";
static int have_opj;

static int skip(void)
{
	if (!have_opj)
		printf("    skipped: opj_compress not found\n");
	return !have_opj;
}

/* Texture plus ramps: every code-block has detail, so a misplaced one shows. */
static unsigned pat(int c, uint32_t x, uint32_t y)
{
	return (unsigned)((x * (2 + c) + y * (3 + c) + ((x / 5) ^ (y / 3)) * 7) & 0xFF);
}

static void write_ppm(const char *name, uint32_t W, uint32_t H)
{
	char p[300];
	FILE *f;
	uint32_t x, y;
	int c;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "wb");
	if (!f)
		return;
	fprintf(f, "P6\n%u %u\n255\n", W, H);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			for (c = 0; c < 3; c++)
				fputc((int)pat(c, x, y), f);
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
	snprintf(cmd, sizeof cmd, "opj_compress -i %s/%s -o %s %s >/dev/null 2>&1", dir, input,
	         p, opts);
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

/* Largest difference between img and the rectangle of ref at (x,y). */
static int diff_crop(const struct ts_image *img, const struct ts_image *ref, uint32_t x,
                     uint32_t y)
{
	uint32_t i, j;
	int m = 0, d;
	size_t ch = (size_t)ref->channels;

	if (img->channels != ref->channels)
		return 999;
	for (j = 0; j < img->height; j++)
		for (i = 0; i < img->width * ch; i++) {
			d = abs(img->pixels[(size_t)j * img->stride + i] -
			        ref->pixels[(size_t)(y + j) * ref->stride + x * ch + i]);
			m = d > m ? d : m;
		}
	return m;
}

struct tally {
	int worst, windows;
};

/* One window, clipped to the level, from src, against ref. */
static void check_window(struct ts_source *src, const struct ts_image *ref, int L, int64_t x,
                         int64_t y, int64_t w, int64_t h, struct tally *t)
{
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };
	int d;

	if (x < 0) {
		w += x;
		x = 0;
	}
	if (y < 0) {
		h += y;
		y = 0;
	}
	if (x + w > ref->width)
		w = ref->width - x;
	if (y + h > ref->height)
		h = ref->height - y;
	if (w <= 0 || h <= 0)
		return;
	t->windows++;
	if (ops->read_region(src, L, (uint32_t)x, (uint32_t)y, (uint32_t)w, (uint32_t)h, 0, &img,
	                     &err)) {
		printf("    level %d %lld,%lld %lldx%lld: %s (%s)\n", L, (long long)x, (long long)y,
		       (long long)w, (long long)h, err.msg, err.detail);
		t->worst = 999;
		return;
	}
	d = img.width == (uint32_t)w && img.height == (uint32_t)h ?
	    diff_crop(&img, ref, (uint32_t)x, (uint32_t)y) : 999;
	if (d > t->worst) {
		printf("    level %d %lld,%lld %lldx%lld differs by %d\n", L, (long long)x,
		       (long long)y, (long long)w, (long long)h, d);
		t->worst = d;
	}
	ts_image_free(&img);
}

/* Every window of one level, from src. */
static void check_level(struct ts_source *src, const struct ts_image *ref, int L,
                        struct tally *t)
{
	const struct ts_source_level *lv = &src->info.levels[L];
	int64_t W = lv->width, H = lv->height, x, y, tw = lv->tile_w, th = lv->tile_h;

	for (y = 0; y < H; y += 256)            /* IIIF's 256 grid */
		for (x = 0; x < W; x += 256)
			check_window(src, ref, L, x, y, 256, 256, t);
	for (y = 0; y < H; y += 254)            /* DeepZoom 254 + overlap 1 */
		for (x = 0; x < W; x += 254)
			check_window(src, ref, L, x - 1, y - 1, 256, 256, t);
	if (tw && th) {                         /* around every code-stream tile edge */
		for (y = th; y < H; y += th)
			for (x = tw; x < W; x += tw) {
				check_window(src, ref, L, x - 3, y - 5, 7, 11, t);      /* 4 tiles */
				check_window(src, ref, L, x - 129, y - 60, 258, 258, t);
				check_window(src, ref, L, x - 9, y - th / 2, 20, 30, t);  /* 2 */
				check_window(src, ref, L, x - tw / 2, y - 1, 40, 2, t);
			}
	}
	check_window(src, ref, L, W - 1, H - 1, 1, 1, t);   /* edges */
	check_window(src, ref, L, W - 37, 0, 37, H, t);
	check_window(src, ref, L, 0, H - 3, W, 3, t);
	check_window(src, ref, L, 0, 0, 1, 1, t);
}

/*
 * Every level of path: windows decoded alone (no cache) and through the
 * cache (each window twice: the second look comes from whole tiles),
 * against the level decoded whole.  The largest difference seen.
 */
static int compare_file(const char *path, int *windows)
{
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct ts_source *alone = open_with(path, NULL), *cached = open_with(path, c);
	struct tally t = { 0, 0 };
	int L, pass;

	if (!alone || !cached) {
		t.worst = 999;
		goto done;
	}
	for (L = 0; L < alone->info.nlevels; L++) {
		const struct ts_source_level *lv = &alone->info.levels[L];
		struct ts_image ref = { 0 };
		struct ts_error err = { 0 };

		if (ops->read_region(alone, L, 0, 0, lv->width, lv->height, 0, &ref, &err)) {
			printf("    level %d whole: %s (%s)\n", L, err.msg, err.detail);
			t.worst = 999;
			break;
		}
		check_level(alone, &ref, L, &t);
		for (pass = 0; pass < 2; pass++)
			check_level(cached, &ref, L, &t);
		ts_image_free(&ref);
	}
done:
	if (alone)
		ops->close(alone);
	if (cached)
		ops->close(cached);
	ts_tile_cache_destroy(c);
	*windows = t.windows;
	return t.worst;
}

static void tiled_lossless_windows_equal_whole_tiles_exactly(void)
{
	const char *f = make("t53.jp2", "rgb.ppm", "-t 384,320 -n 5 -p RPCL -b 32,32 -TLM -PLT");
	int n;

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(compare_file(f, &n), 0);
	EXPECT(n > 400);
}

static void tiled_irreversible_windows_are_within_one(void)
{
	/* The corpus' layout, scaled down: RPCL, precincts, 9/7, TLM and PLT. */
	const char *f = make("t97.jp2", "rgb.ppm",
	                     "-t 512,512 -n 5 -p RPCL -c [128,128] -b 32,32 -TLM -PLT -r 10 -I");
	int n, d;

	if (skip() || !f)
		return;
	d = compare_file(f, &n);
	EXPECT(d >= 0 && d <= 1);
	EXPECT(n > 300);
}

static void untiled_lossless_windows_equal_the_whole_image_exactly(void)
{
	const char *f = make("u53.jp2", "rgb.ppm", "-n 6 -b 64,64");
	int n;

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(compare_file(f, &n), 0);
	EXPECT(n > 100);
}

static void precinct_files_match_exactly_tiled_and_untiled(void)
{
	const char *u = make("p53.jp2", "rgb.ppm", "-n 5 -p PCRL -c [128,128],[64,64] -b 16,16");
	const char *t = make("pt53.j2k", "rgb.ppm",
	                     "-t 300,200 -n 4 -p RPCL -c [64,64],[32,32] -b 16,16 -TLM");
	int n;

	if (skip() || !u || !t)
		return;
	EXPECT_EQ_INT(compare_file(u, &n), 0);
	EXPECT_EQ_INT(compare_file(t, &n), 0);
}

/*
 * The choice itself (jp2_read.c): a first look at a big code-stream tile
 * decodes just the window (nothing enters the cache), the second window of
 * the same tile decodes it whole (one load), and later windows of it are
 * copies (hits).  A first window in the next tile of a walked level (its
 * neighbour is warm) decodes that tile whole at once.  A DeepZoom-like
 * first look over four cold big tiles, on a fresh cache, loads nothing:
 * its own tiles do not make each other warm.
 */
static void a_first_look_decodes_the_window_and_a_second_the_whole_tile(void)
{
	const char *f = make("big.jp2", "big.ppm", "-t 1024,1024 -n 4 -p RPCL -b 64,64");
	struct ts_tile_cache *c = ts_tile_cache_create(64 << 20);
	struct ts_tile_cache *c2 = ts_tile_cache_create(64 << 20);
	struct ts_tile_cache_stats st;
	struct ts_source *s = NULL, *s2 = NULL;
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };

	if (skip() || !f || !(s = open_with(f, c)) || !(s2 = open_with(f, c2)))
		goto done;
	EXPECT_EQ_INT(ops->read_region(s, 0, 256, 256, 256, 256, 0, &img, &err), 0);
	ts_image_free(&img);
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.loads, 0);
	EXPECT_EQ_INT(ops->read_region(s, 0, 512, 256, 256, 256, 0, &img, &err), 0);
	ts_image_free(&img);
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.loads, 1);
	EXPECT_EQ_INT(ops->read_region(s, 0, 768, 256, 256, 256, 0, &img, &err), 0);
	ts_image_free(&img);
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.loads, 1);
	EXPECT_EQ_INT(st.hits, 1);
	/* The walk goes on into tile (1,0): whole at its first window. */
	EXPECT_EQ_INT(ops->read_region(s, 0, 1280, 256, 256, 256, 0, &img, &err), 0);
	ts_image_free(&img);
	ts_tile_cache_stats(c, &st);
	EXPECT_EQ_INT(st.loads, 2);
	/* 1015..1273 straddles tiles 0,1 (x) and 0,1 (y), all cold and with
	 * no warm neighbour: a window decode, no load. */
	EXPECT_EQ_INT(ops->read_region(s2, 0, 1015, 1015, 258, 258, 0, &img, &err), 0);
	EXPECT_EQ_INT(img.width, 258);
	ts_image_free(&img);
	ts_tile_cache_stats(c2, &st);
	EXPECT_EQ_INT(st.loads, 0);
done:
	if (s)
		ops->close(s);
	if (s2)
		ops->close(s2);
	ts_tile_cache_destroy(c);
	ts_tile_cache_destroy(c2);
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
	write_ppm("rgb.ppm", 1100, 700);
	write_ppm("big.ppm", 2100, 1300);

	RUN(tiled_lossless_windows_equal_whole_tiles_exactly);
	RUN(tiled_irreversible_windows_are_within_one);
	RUN(untiled_lossless_windows_equal_the_whole_image_exactly);
	RUN(precinct_files_match_exactly_tiled_and_untiled);
	RUN(a_first_look_decodes_the_window_and_a_second_the_whole_tile);

	snprintf(p, sizeof p, "rm -rf %s", dir);
	rc = system(p);
	(void)rc;
	return CHECK_DONE();
}
