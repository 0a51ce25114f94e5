/*
 * jp2_window.c - what one cold 256-pixel tile of a JPEG 2000 file costs,
 * through the source API (src/source/jp2_*.c), by where the window falls:
 * inside one code-stream tile, straddling 2 or 4 of them (DeepZoom's 254+1+1
 * overlap), on the full-resolution level and on reduced ones.
 *
 * Each case is timed three ways, CPU and wall milliseconds, the median of
 * several repetitions on a source opened afresh (cold: nothing decoded):
 *   nocache   a source without a decoded-tile cache (ts_source_limits.tiles
 *             NULL): what read_region does without one
 *   cold      a source with a new, empty 128 MB cache: read_region's choice
 *             on a first visit
 *   walk      the 256-pixel tiles of the code-stream tile(s) the case
 *             touches, all of them, in viewer order, on one fresh cache:
 *             the mean per tile of a viewer walking the image
 *
 *   make && gcc -O2 -Iinclude -o /tmp/jp2_window bench/jp2_window.c \
 *       build/libtessera.a -lopenjp2 -ljansson -lz -lpthread -lm (see below)
 *   /tmp/jp2_window FILE.jp2 [reps]
 *
 * The link line is printed by `make -pn | grep ^LIBS` in case it changes;
 * bench/jp2.py builds it itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tessera/source.h"
#include "tessera/tile_cache.h"

static double now_ms(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct ts_source *open_src(const char *path, struct ts_tile_cache *tc)
{
	struct ts_source_limits lim = { .max_source_pixels = 0, .tiles = tc };
	struct ts_source *s = NULL;
	struct ts_error err = { 0 };

	if (ts_source_open(path, &lim, &s, &err)) {
		fprintf(stderr, "%s: %s (%s)\n", path, err.msg, err.detail);
		exit(1);
	}
	return s;
}

static void read1(struct ts_source *s, int L, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	struct ts_image img = { 0 };
	struct ts_error err = { 0 };
	const struct ts_source_level *lv = &s->info.levels[L];

	if (x >= lv->width || y >= lv->height)
		return;
	if (x + w > lv->width)
		w = lv->width - x;
	if (y + h > lv->height)
		h = lv->height - y;
	if (ts_source_read_region(s, L, x, y, w, h, 0, &img, &err)) {
		fprintf(stderr, "read L%d %u,%u %ux%u: %s (%s)\n", L, x, y, w, h, err.msg,
		        err.detail);
		exit(1);
	}
	ts_image_free(&img);
}

struct win {
	const char *name;
	int level;
	uint32_t x, y, w, h;
};

/* Time fn-like: one case, a fresh source (and cache) per repetition. */
static void time_case(const char *path, const struct win *c, int reps, bool cache,
                      double *cpu, double *wall)
{
	double cv[64], wv[64];
	int i;

	for (i = 0; i < reps; i++) {
		struct ts_tile_cache *tc = cache ? ts_tile_cache_create(128u << 20) : NULL;
		struct ts_source *s = open_src(path, tc);
		double c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = now_ms(CLOCK_MONOTONIC);
		read1(s, c->level, c->x, c->y, c->w, c->h);
		cv[i] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
		wv[i] = now_ms(CLOCK_MONOTONIC) - w0;
		ts_source_close(s);
		ts_tile_cache_destroy(tc);
	}
	*cpu = median(cv, reps);
	*wall = median(wv, reps);
}

/* Every 256 tile (DeepZoom-like 258 windows when overlap) of a whole level,
 * in viewer order, on one cache: CPU ms per tile. */
static double walk_level(const char *path, int L, bool cache, bool overlap, int *ntiles)
{
	struct ts_tile_cache *tc = cache ? ts_tile_cache_create(128u << 20) : NULL;
	struct ts_source *s = open_src(path, tc);
	const struct ts_source_level *lv = &s->info.levels[L];
	double c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	uint32_t x, y;
	int n = 0;

	for (y = 0; y < lv->height; y += 256)
		for (x = 0; x < lv->width; x += 256, n++) {
			if (overlap)
				read1(s, L, x ? x - 1 : 0, y ? y - 1 : 0, x ? 258 : 257, y ? 258 : 257);
			else
				read1(s, L, x, y, 256, 256);
		}
	c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	ts_source_close(s);
	ts_tile_cache_destroy(tc);
	*ntiles = n;
	return c0 / n;
}

int main(int argc, char **argv)
{
	static const struct win cases[] = {
		{ "L0 inside 1 tile", 0, 1280, 1280, 256, 256 },
		{ "L0 straddle 2 (dz)", 0, 1015, 1270, 258, 258 },
		{ "L0 straddle 4 (dz)", 0, 1015, 1015, 258, 258 },
		{ "L0 tile corner 256", 0, 0, 0, 256, 256 },
		{ "L1 inside 1 tile", 1, 256, 256, 256, 256 },
		{ "L1 straddle 4 (dz)", 1, 507, 507, 258, 258 },
		{ "L2 = 1 tile", 2, 256, 256, 256, 256 },
		{ "L2 straddle 4 (dz)", 2, 253, 253, 258, 258 },
		{ "L3 4 tiles", 3, 0, 0, 256, 256 },
		{ "L4 16 tiles", 4, 0, 0, 256, 256 },
	};
	const char *path;
	int reps = 5, L, n;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE.jp2 [reps]\n", argv[0]);
		return 2;
	}
	path = argv[1];
	if (argc > 2)
		reps = atoi(argv[2]);
	if (reps < 1 || reps > 64)
		reps = 5;
	{
		struct ts_source *s = open_src(path, NULL);
		printf("%s: %ux%u, %d levels, level-0 tiles %ux%u\n", path, s->info.width,
		       s->info.height, s->info.nlevels, s->info.levels[0].tile_w,
		       s->info.levels[0].tile_h);
		ts_source_close(s);
	}
	printf("%-22s %17s %17s   (CPU/wall ms, median of %d, cold)\n", "case", "no cache",
	       "with cache", reps);
	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		double c1, w1, c2, w2;
		if (getenv("JP2W_ONLY") && (size_t)atoi(getenv("JP2W_ONLY")) != i)
			continue;
		time_case(path, &cases[i], reps, false, &c1, &w1);
		time_case(path, &cases[i], reps, true, &c2, &w2);
		printf("%-22s %8.1f/%-8.1f %8.1f/%-8.1f\n", cases[i].name, c1, w1, c2, w2);
	}
	for (i = 3; i < (size_t)argc; i++) {   /* more cases: L,x,y,w,h */
		struct win c = { argv[i], 0, 0, 0, 0, 0 };
		double c1, w1, c2, w2;
		if (sscanf(argv[i], "%d,%u,%u,%u,%u", &c.level, &c.x, &c.y, &c.w, &c.h) != 5)
			continue;
		time_case(path, &c, reps, false, &c1, &w1);
		time_case(path, &c, reps, true, &c2, &w2);
		printf("%-22s %8.1f/%-8.1f %8.1f/%-8.1f\n", c.name, c1, w1, c2, w2);
	}
	if (getenv("JP2W_WALK")) {
		struct ts_source *s = open_src(path, NULL);
		int nl = s->info.nlevels;
		ts_source_close(s);
		printf("walk of every 256 tile of a level (CPU ms per tile): nocache / cache, "
		       "plain / overlap\n");
		for (L = 0; L < nl; L++) {
			double a = walk_level(path, L, false, false, &n);
			double b = walk_level(path, L, true, false, &n);
			double c = walk_level(path, L, false, true, &n);
			double d = walk_level(path, L, true, true, &n);
			printf("L%d (%3d tiles) %7.2f %7.2f   %7.2f %7.2f\n", L, n, a, b, c, d);
		}
	}
	return 0;
}
