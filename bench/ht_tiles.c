/*
 * ht_tiles.c - whole code-stream tiles of tiled HTJ2K files: OpenJPEG 2.5
 * (the server's whole-tile decode, ts_jp2_opj_decode) against OpenJPH 0.9
 * on the one-tile code-stream cut out of the file (jp2_ojph_tile.c's
 * surgery, ts_jp2_ojph_cut + ts_jp2_ojph_decode), same tile, same level.
 *
 * The one idea: the very functions the server calls, linked from
 * build/libtessera.a, timed interleaved tile by tile (the order alternating
 * each round, so load from elsewhere falls on both) with the process CPU
 * clock; OpenJPEG single-threaded unless HT_THREADS=2 (this program
 * carries its own build of src/source/jp2_opj.c with JP2_THREADS set).
 * Every tile's pixels are compared: the largest sample difference between
 * the two decoders is printed per level ("diff"), and a failed OpenJPH
 * decode or cut is counted ("fail").
 *
 * Usage: ht_tiles [-n ROUNDS] [-l LEVELS] [-c] FILE...
 *   -l 0,1,2,3  levels (reduce factors) to run (default 0,1,2,3)
 *   -c          only the tile at column 1, row 1 (or the last one)
 * Built by bench/ht_tiles.sh; not part of make.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tessera/source.h"
#include "src/source/jp2_internal.h"
#include "src/source/jp2_ojph.h"

static double cpu_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
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

/* jp2_read.c's tile_on_level: tile (p,q) on level r in level pixels. */
static void tile_rect(const struct jp2_source *s, int r, uint32_t p, uint32_t q, uint32_t l[4])
{
	uint64_t X0 = (uint64_t)s->tx0 + (uint64_t)p * s->tw, X1 = X0 + s->tw;
	uint64_t Y0 = (uint64_t)s->ty0 + (uint64_t)q * s->th, Y1 = Y0 + s->th;
	uint32_t bx = ts_jp2_ceil_pow2(s->x0, r), by = ts_jp2_ceil_pow2(s->y0, r);

	X0 = X0 > s->x0 ? X0 : s->x0;
	Y0 = Y0 > s->y0 ? Y0 : s->y0;
	X1 = X1 < s->x1 ? X1 : s->x1;
	Y1 = Y1 < s->y1 ? Y1 : s->y1;
	l[0] = ts_jp2_ceil_pow2((uint32_t)X0, r) - bx;
	l[1] = ts_jp2_ceil_pow2((uint32_t)Y0, r) - by;
	l[2] = ts_jp2_ceil_pow2((uint32_t)X1, r) - bx;
	l[3] = ts_jp2_ceil_pow2((uint32_t)Y1, r) - by;
}

/* OpenJPH on the cut tile into img (allocated here); 0 or -1. */
static int ojph_tile(struct jp2_source *s, int r, uint32_t t, uint32_t w, uint32_t h,
                     struct ts_image *img, char *msg, size_t msg_len)
{
	unsigned char *cs;
	size_t len;
	struct ts_error err;
	int rc;

	if (!ts_jp2_ojph_cut(s, t, &cs, &len)) {
		snprintf(msg, msg_len, "cannot cut");
		return -1;
	}
	if (ts_image_alloc(img, w, h, s->base.info.channels, &err)) {
		free(cs);
		return -1;
	}
	rc = ts_jp2_ojph_decode(cs, len, r, w, h, s->ncomps, img->pixels, img->stride, msg,
	                        msg_len);
	free(cs);
	if (rc)
		ts_image_free(img);
	return rc;
}

static int max_diff(const struct ts_image *a, const struct ts_image *b)
{
	int worst = 0, d;

	if (a->width != b->width || a->height != b->height || a->channels != b->channels)
		return -1;
	for (uint32_t j = 0; j < a->height; j++)
		for (uint32_t i = 0; i < a->width * (uint32_t)a->channels; i++) {
			d = abs(a->pixels[(size_t)j * a->stride + i] - b->pixels[(size_t)j * b->stride + i]);
			worst = d > worst ? d : worst;
		}
	return worst;
}

static void run_file(const char *path, int rounds, const int *levels, int nlev, bool centre)
{
	struct ts_source_limits lim = { .max_source_pixels = 1ull << 32 };
	struct ts_source *base = NULL;
	struct ts_error err;
	struct jp2_source *s;
	int fd = open(path, O_RDONLY), li;

	ts_error_clear(&err);
	if (fd < 0 || ts_jp2_source_ops.open(fd, path, &lim, &base, &err)) {
		printf("%s: cannot open: %s %s\n", path, err.msg, err.detail);
		return;
	}
	s = (struct jp2_source *)base;
	uint32_t ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw);
	uint32_t nty = ts_jp2_ceil_div(s->y1 - s->ty0, s->th);
	printf("# %s: %ux%u at (%u,%u), tiles %ux%u at (%u,%u) = %ux%u, %d comps, %d levels, "
	       "ht=%d, surgery=%s, wanted=%d\n", path, s->x1 - s->x0, s->y1 - s->y0, s->x0,
	       s->y0, s->tw, s->th, s->tx0, s->ty0, ntx, nty, s->ncomps, s->nres, s->ht,
	       s->ht_head ? "yes" : "no", ts_jp2_ojph_wanted(s, 0));
	printf("%-6s %5s %12s %12s %12s %7s %5s %5s\n", "level", "tiles", "tile px", "opj ms/tile",
	       "ojph ms/tile", "ratio", "diff", "fail");
	for (li = 0; li < nlev; li++) {
		int r = levels[li], worst = 0, fails = 0;
		uint32_t t0 = 0, t1 = s->ntiles, t;
		double *a = calloc((size_t)rounds, sizeof *a), *b = calloc((size_t)rounds, sizeof *b);
		uint64_t px = 0;
		char msg[200] = "";

		if (r >= s->nres)
			continue;
		if (centre) {
			t0 = ntx > 1 && nty > 1 ? ntx + 1 : s->ntiles - 1;
			t1 = t0 + 1;
		}
		for (int k = 0; k < rounds; k++) {
			for (t = t0; t < t1; t++) {
				uint32_t l[4];
				struct ts_image A = { 0 }, B = { 0 };
				double c0, c1, c2;
				int rc;

				tile_rect(s, r, t % ntx, t / ntx, l);
				if (k == 0)
					px += (uint64_t)(l[2] - l[0]) * (l[3] - l[1]);
				if (k % 2 == 0) {
					c0 = cpu_ms();
					if (ts_jp2_opj_decode(s, r, l[0], l[1], l[2] - l[0], l[3] - l[1], &A, &err))
						printf("opj failed: %s %s\n", err.msg, err.detail);
					c1 = cpu_ms();
					rc = ojph_tile(s, r, t, l[2] - l[0], l[3] - l[1], &B, msg, sizeof msg);
					c2 = cpu_ms();
					a[k] += c1 - c0;
					b[k] += c2 - c1;
				} else {
					c0 = cpu_ms();
					rc = ojph_tile(s, r, t, l[2] - l[0], l[3] - l[1], &B, msg, sizeof msg);
					c1 = cpu_ms();
					if (ts_jp2_opj_decode(s, r, l[0], l[1], l[2] - l[0], l[3] - l[1], &A, &err))
						printf("opj failed: %s %s\n", err.msg, err.detail);
					c2 = cpu_ms();
					b[k] += c1 - c0;
					a[k] += c2 - c1;
				}
				if (k == 0) {
					if (rc) {
						fails++;
					} else {
						int d = max_diff(&A, &B);
						worst = d < 0 || worst < 0 ? -1 : d > worst ? d : worst;
					}
				}
				ts_image_free(&A);
				ts_image_free(&B);
			}
		}
		double n = (double)(t1 - t0), ma = median(a, rounds) / n, mb = median(b, rounds) / n;
		printf("%-6d %5u %12.0f %12.2f %12.2f %6.2fx %5d %5d%s%s\n", r, t1 - t0, (double)px / n,
		       ma, mb, mb > 0 ? ma / mb : 0.0, worst, fails, fails ? "  " : "", fails ? msg : "");
		free(a);
		free(b);
	}
	ts_jp2_source_ops.close(base);
}

int main(int argc, char **argv)
{
	int rounds = 5, levels[16] = { 0, 1, 2, 3 }, nlev = 4, opt;
	bool centre = false;

	while ((opt = getopt(argc, argv, "n:l:c")) != -1) {
		if (opt == 'n') {
			rounds = atoi(optarg);
		} else if (opt == 'l') {
			char *p = optarg;
			nlev = 0;
			while (*p && nlev < 16) {
				levels[nlev++] = (int)strtol(p, &p, 10);
				if (*p == ',')
					p++;
			}
		} else if (opt == 'c') {
			centre = true;
		} else {
			fprintf(stderr, "usage: ht_tiles [-n ROUNDS] [-l LEVELS] [-c] FILE...\n");
			return 2;
		}
	}
	if (rounds < 1)
		rounds = 1;
	for (; optind < argc; optind++)
		run_file(argv[optind], rounds, levels, nlev, centre);
	return 0;
}
