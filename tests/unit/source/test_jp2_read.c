/*
 * test_jp2_read.c - the JPEG 2000 source: levels, pixels, colour layouts and
 * hostile headers.  Files are made at test time with opj_compress from a
 * smooth pattern written as PGM/PPM/raw; without opj_compress every test
 * says "skipped".  Set TS_JP2_BENCH=1 to also time one 256x256 read from a
 * 4000x3000 image in three codestream layouts.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "tessera/source.h"

static const struct ts_source_ops *ops = &ts_jp2_source_ops;
static char dir[] = "/tmp/ts_jp2_XXXXXX";
static int have_opj;

/* The pattern: smooth ramps so that reduced levels can be checked too. */
static unsigned pat(int c, uint32_t x, uint32_t y, uint32_t W, uint32_t H, unsigned maxv)
{
	switch (c) {
	case 0: return (unsigned)((uint64_t)x * maxv / (W - 1));
	case 1: return (unsigned)((uint64_t)y * maxv / (H - 1));
	case 2: return maxv - (unsigned)((uint64_t)(x + y) * maxv / (W + H - 2));
	default: return (unsigned)((uint64_t)(x / 2 + y) * maxv / (W / 2 + H - 1));
	}
}

static unsigned pat8(int c, uint32_t x, uint32_t y, uint32_t W, uint32_t H)
{
	return pat(c, x, y, W, H, 255);
}

/* Write a PGM (nc 1) or PPM (nc 3) with maxval 255 or 65535. */
static void write_pnm(const char *path, uint32_t W, uint32_t H, int nc, unsigned maxv)
{
	FILE *f = fopen(path, "wb");
	uint32_t x, y;
	int c;

	fprintf(f, "P%d\n%u %u\n%u\n", nc == 1 ? 5 : 6, W, H, maxv);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			for (c = 0; c < nc; c++) {
				unsigned v = pat(c, x, y, W, H, maxv);
				if (maxv > 255)
					fputc((int)(v >> 8), f);
				fputc((int)(v & 0xFF), f);
			}
	fclose(f);
}

/* Planar raw 8-bit samples, nc components (each component W x H). */
static void write_raw(const char *path, uint32_t W, uint32_t H, int nc)
{
	FILE *f = fopen(path, "wb");
	uint32_t x, y;
	int c;

	for (c = 0; c < nc; c++)
		for (y = 0; y < H; y++)
			for (x = 0; x < W; x++)
				fputc((int)pat8(c, x, y, W, H), f);
	fclose(f);
}

/* Make dir/name from a pattern with opj_compress and the given options. */
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

static ts_status open_file(const char *path, uint64_t max_px, struct ts_source **s,
                           struct ts_error *err)
{
	struct ts_source_limits lim = { .max_source_pixels = max_px };
	int fd = open(path, O_RDONLY);
	ts_status st;

	ts_error_clear(err);
	if (fd < 0)
		return 404;
	st = ops->open(fd, path, &lim, s, err);
	if (st && getenv("TS_VERBOSE"))
		printf("    open: %d %s (%s)\n", st, err->msg, err->detail);
	return st;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Largest |got - want| over a region of level r, want = the pattern at the
 * full-resolution pixel (x << r, y << r). */
static int max_error(const struct ts_image *img, int r, uint32_t x, uint32_t y, int nc,
                     uint32_t W, uint32_t H)
{
	uint32_t i, j, n = 1u << r, a, b;
	int c, worst = 0;

	for (j = 0; j < img->height; j++)
		for (i = 0; i < img->width; i++)
			for (c = 0; c < nc; c++) {
				double sum = 0;
				int cnt = 0, d;
				for (b = 0; b < n; b++)
					for (a = 0; a < n; a++) {
						uint32_t fx = ((x + i) << r) + a, fy = ((y + j) << r) + b;
						if (fx < W && fy < H) {
							sum += pat8(c, fx, fy, W, H);
							cnt++;
						}
					}
				/* JPEG 2000's low-pass filters are centred on the
				 * block's first sample, not on its middle. */
				(void)sum;
				(void)cnt;
				d = abs((int)img->pixels[j * img->stride + i * img->channels + c] -
				        (int)pat8(c, (x + i) << r < W ? (x + i) << r : W - 1,
				                  (y + j) << r < H ? (y + j) << r : H - 1, W, H));
				if (d > worst)
					worst = d;
			}
	return worst;
}

static bool skip(void)
{
	if (!have_opj)
		printf("    skipped: opj_compress not found\n");
	return !have_opj;
}

/* ---- tests ---------------------------------------------------------- */

static void sniff_knows_jp2_boxes_and_raw_codestreams(void)
{
	unsigned char jp2[16] = { 0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A };
	unsigned char j2k[16] = { 0xFF, 0x4F, 0xFF, 0x51, 0, 0x2F };
	unsigned char png[16] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A };
	unsigned char jpg[16] = { 0xFF, 0xD8, 0xFF, 0xE0 };

	EXPECT(ops->sniff(jp2, 16));
	EXPECT(ops->sniff(j2k, 16));
	EXPECT(!ops->sniff(png, 16));
	EXPECT(!ops->sniff(jpg, 16));
}

static void untiled_rgb_has_one_level_per_resolution_with_ceil_sizes(void)
{
	const char *f = make("u.jp2", "rgb.ppm", "-n 5");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };
	int r;
	uint32_t W = 601, H = 403;

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_STR(s->info.format, "jp2");
	EXPECT_EQ_INT(s->info.width, W);
	EXPECT_EQ_INT(s->info.height, H);
	EXPECT_EQ_INT(s->info.channels, 3);
	EXPECT_EQ_INT(s->info.bits, 8);
	EXPECT_EQ_INT(s->info.nlevels, 5);
	EXPECT_EQ_INT(s->info.levels[0].tile_w, 0);
	for (r = 0; r < 5; r++) {
		EXPECT_EQ_INT(s->info.levels[r].width, (W + (1u << r) - 1) >> r);
		EXPECT_EQ_INT(s->info.levels[r].height, (H + (1u << r) - 1) >> r);
	}
	EXPECT_EQ_INT(s->info.levels[4].width, 38);
	/* Level 0 is lossless: exact pixels. */
	EXPECT_EQ_INT(ops->read_region(s, 0, 100, 50, 300, 200, 0, &img, &err), 0);
	EXPECT_EQ_INT(img.width, 300);
	EXPECT_EQ_INT(img.height, 200);
	if (img.pixels)
		EXPECT_EQ_INT(max_error(&img, 0, 100, 50, 3, W, H), 0);
	ts_image_free(&img);
	/* Reduced levels: close to the pattern sampled at the level's grid. */
	for (r = 1; r < 5; r++) {
		uint32_t lw = s->info.levels[r].width, lh = s->info.levels[r].height;
		ts_error_clear(&err);
		EXPECT_EQ_INT(ops->read_region(s, r, lw / 4, lh / 4, lw / 2, lh / 2, 0, &img, &err), 0);
		EXPECT_EQ_INT(img.width, lw / 2);
		if (img.pixels) {
			int e = max_error(&img, r, lw / 4, lh / 4, 3, W, H);
			/* 5/3 filters are not box averages; a one-pixel shift
			 * at level 3 would cost 5 or more on these ramps. */
			if (e > 4)
				printf("    level %d: max error %d\n", r, e);
			EXPECT(e <= 4);
		}
		ts_image_free(&img);
	}
	/* The whole smallest level, right up to its ceil-sized edge. */
	ts_error_clear(&err);
	EXPECT_EQ_INT(ops->read_region(s, 4, 0, 0, 38, 26, 0, &img, &err), 0);
	EXPECT_EQ_INT(img.width, 38);
	EXPECT_EQ_INT(img.height, 26);
	ts_image_free(&img);
	ops->close(s);
}

static void tiled_rpcl_file_reports_tiles_and_reads_across_tile_edges(void)
{
	const char *f = make("t.jp2", "rgb.ppm", "-n 5 -t 256,256 -c [256,256] -p RPCL");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.levels[0].tile_w, 256);
	EXPECT_EQ_INT(s->info.levels[0].tile_h, 256);
	EXPECT_EQ_INT(s->info.levels[1].tile_w, 128);
	EXPECT_EQ_INT(ops->read_region(s, 0, 200, 200, 150, 150, 0, &img, &err), 0);
	if (img.pixels)
		EXPECT_EQ_INT(max_error(&img, 0, 200, 200, 3, 601, 403), 0);
	ts_image_free(&img);
	/* Edge tile at level 1, then the right/bottom edge of level 0. */
	EXPECT_EQ_INT(ops->read_region(s, 1, 200, 150, 101, 52, 0, &img, &err), 0);
	if (img.pixels)
		EXPECT(max_error(&img, 1, 200, 150, 3, 601, 403) <= 3);
	ts_image_free(&img);
	EXPECT_EQ_INT(ops->read_region(s, 0, 512, 384, 89, 19, 0, &img, &err), 0);
	if (img.pixels)
		EXPECT_EQ_INT(max_error(&img, 0, 512, 384, 3, 601, 403), 0);
	ts_image_free(&img);
	ops->close(s);
}

static void gray_raw_codestream_reads_one_channel(void)
{
	const char *f = make("g.j2k", "gray.pgm", "-n 4");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.channels, 1);
	EXPECT_EQ_INT(s->info.nlevels, 4);
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 601, 403, 0, &img, &err), 0);
	EXPECT_EQ_INT(img.channels, 1);
	if (img.pixels)
		EXPECT_EQ_INT(max_error(&img, 0, 0, 0, 1, 601, 403), 0);
	ts_image_free(&img);
	ops->close(s);
}

static void sixteen_bit_samples_are_scaled_to_eight_with_rounding(void)
{
	const char *f = make("g16.jp2", "gray16.pgm", "-n 3");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };
	uint32_t i, bad = 0;

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.bits, 16);
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 10, 601, 1, 0, &img, &err), 0);
	for (i = 0; img.pixels && i < 601; i++) {
		unsigned v16 = pat(0, i, 10, 601, 403, 65535);
		if (img.pixels[i] != (v16 * 255 + 32767) / 65535)
			bad++;
	}
	EXPECT_EQ_INT(bad, 0);
	EXPECT_EQ_INT(img.pixels ? img.pixels[600] : 0, 255);
	ts_image_free(&img);
	ops->close(s);
}

static void four_components_read_as_rgba(void)
{
	const char *f = make("a.j2k", "rgba.raw", "-F 601,403,4,8,u -n 3");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.channels, 4);
	EXPECT_EQ_INT(ops->read_region(s, 0, 300, 100, 64, 64, 0, &img, &err), 0);
	EXPECT_EQ_INT(img.channels, 4);
	if (img.pixels)
		EXPECT_EQ_INT(max_error(&img, 0, 300, 100, 4, 601, 403), 0);
	ts_image_free(&img);
	ops->close(s);
}

static void subsampled_chroma_is_upsampled_and_converted_to_rgb(void)
{
	/* Y full size, Cb and Cr at half size in both directions. */
	const char *f = make("ycc.j2k", "ycc.raw", "-F 64,48,3,8,u@1x1:2x2:2x2 -n 2");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.channels, 3);
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 64, 48, 0, &img, &err), 0);
	if (img.pixels) {
		/* ycc.raw: Y = 128, Cb = Cr = 128 everywhere but Cr = 200 in the
		 * right half: grey on the left, reddish on the right. */
		const uint8_t *l = img.pixels + 10 * img.stride + 5 * 3;
		const uint8_t *rt = img.pixels + 10 * img.stride + 50 * 3;
		EXPECT(abs(l[0] - 128) <= 1 && abs(l[1] - 128) <= 1 && abs(l[2] - 128) <= 1);
		EXPECT(abs(rt[0] - 229) <= 2);   /* 128 + 1.402 * 72 */
		EXPECT(abs(rt[1] - 77) <= 2);    /* 128 - 0.714136 * 72 */
		EXPECT(abs(rt[2] - 128) <= 1);
	}
	ts_image_free(&img);
	ops->close(s);
}

static void image_offset_levels_follow_the_reference_grid(void)
{
	/* -d: image origin offset (XOsiz, YOsiz) = 3,5 */
	const char *f = make("off.j2k", "rgb.ppm", "-n 4 -d 3,5");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.width, 601);
	/* level 3: ceil(604/8) - ceil(3/8) = 76 - 1 = 75; rows ceil(408/8) - 1 = 50 */
	EXPECT_EQ_INT(s->info.levels[3].width, 75);
	EXPECT_EQ_INT(s->info.levels[3].height, 50);
	EXPECT_EQ_INT(ops->read_region(s, 0, 7, 9, 40, 30, 0, &img, &err), 0);
	if (img.pixels)
		EXPECT_EQ_INT(max_error(&img, 0, 7, 9, 3, 601, 403), 0);
	ts_image_free(&img);
	EXPECT_EQ_INT(ops->read_region(s, 3, 0, 0, 75, 50, 0, &img, &err), 0);
	EXPECT_EQ_INT(img.width, 75);
	ts_image_free(&img);
	ops->close(s);
}

static void region_over_budget_is_refused_with_403(void)
{
	const char *f = make("b.jp2", "rgb.ppm", "-n 3");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };

	if (skip() || !f)
		return;
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 601, 403, 100000, &img, &err), 403);
	EXPECT(img.pixels == NULL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ops->read_region(s, 2, 0, 0, 151, 101, 100000, &img, &err), 0);
	ts_image_free(&img);
	ops->close(s);
}

/* Copy src to dir/name and return the offset of SOC in it. */
static long copy_file(const char *src, const char *name, char *out, size_t outn,
                      unsigned char **bytes, size_t *len)
{
	FILE *f = fopen(src, "rb");
	long i, n;
	unsigned char *b;

	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n);
	if (fread(b, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	snprintf(out, outn, "%s/%s", dir, name);
	*bytes = b;
	*len = (size_t)n;
	for (i = 0; i + 3 < n; i++)
		if (b[i] == 0xFF && b[i + 1] == 0x4F && b[i + 2] == 0xFF && b[i + 3] == 0x51)
			return i;
	return -1;
}

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, n, f);
	fclose(f);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void hostile_headers_are_refused_fast_without_big_allocations(void)
{
	const char *f = make("h.jp2", "rgb.ppm", "-n 5 -t 256,256");
	char path[256];
	unsigned char *b = NULL;
	size_t n = 0;
	long soc, rss0;
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img = { 0 };
	double t0;

	if (skip() || !f)
		return;
	soc = copy_file(f, "hx.jp2", path, sizeof path, &b, &n);
	EXPECT(soc > 0);
	if (soc <= 0)
		goto done;
	rss0 = maxrss_kb();
	t0 = now_ms();

	/* 100000 x 100000 with a 1-gigapixel limit: 403 image too large. */
	put32(b + soc + 8, 100000);
	put32(b + soc + 12, 100000);
	write_bytes(path, b, n);
	EXPECT_EQ_INT(open_file(path, 1000000000, &s, &err), 403);
	EXPECT_EQ_STR(err.msg, "image too large");
	EXPECT(strstr(err.msg, dir) == NULL);
	/* The same with no pixel limit still has 152,100 tiles of 256: refused. */
	EXPECT_EQ_INT(open_file(path, 0, &s, &err), 403);
	EXPECT(s == NULL);

	/* 601 x 403 with 2x2 tiles: 60,702 tiles. */
	put32(b + soc + 8, 601);
	put32(b + soc + 12, 403);
	put32(b + soc + 24, 2);
	put32(b + soc + 28, 2);
	write_bytes(path, b, n);
	EXPECT_EQ_INT(open_file(path, 0, &s, &err), 403);

	/* Zero-width image: corrupt. */
	put32(b + soc + 24, 256);
	put32(b + soc + 28, 256);
	put32(b + soc + 8, 0);
	write_bytes(path, b, n);
	EXPECT_EQ_INT(open_file(path, 0, &s, &err), 500);
	put32(b + soc + 8, 601);

	/* Random bytes right after SOC. */
	{
		size_t i;
		unsigned seed = 12345;
		unsigned char *c = malloc(n);
		memcpy(c, b, n);
		for (i = (size_t)soc + 2; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			c[i] = (unsigned char)(seed >> 16);
		}
		write_bytes(path, c, n);
		free(c);
		EXPECT_EQ_INT(open_file(path, 0, &s, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt codestream");
	}
	EXPECT(now_ms() - t0 < 1000);
	EXPECT(maxrss_kb() - rss0 < 20000);

	/* Truncated to 60%: the header opens, decoding fails with 500. */
	write_bytes(path, b, n * 6 / 10);
	if (open_file(path, 0, &s, &err) == 0) {
		ts_error_clear(&err);
		EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 601, 403, 0, &img, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt image data");
		EXPECT(img.pixels == NULL);
		ops->close(s);
	} else {
		EXPECT_EQ_INT(err.status, 500);
	}
	/* A raw codestream truncated to 60%, and one with random bytes from
	 * its first tile-part on: the header opens, decoding fails with 500. */
	free(b);
	b = NULL;
	f = make("h.j2k", "rgb.ppm", "-n 5 -t 256,256");
	soc = f ? copy_file(f, "hx.j2k", path, sizeof path, &b, &n) : -1;
	EXPECT_EQ_INT(soc, 0);
	if (soc == 0) {
		size_t i, sot = 0;
		unsigned seed = 99;
		write_bytes(path, b, n * 6 / 10);
		EXPECT_EQ_INT(open_file(path, 0, &s, &err), 0);
		if (s) {
			EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 601, 403, 0, &img, &err), 500);
			EXPECT_EQ_STR(err.msg, "corrupt image data");
			EXPECT(img.pixels == NULL);
			ops->close(s);
		}
		for (i = 0; i + 1 < n && !sot; i++)
			if (b[i] == 0xFF && b[i + 1] == 0x90)
				sot = i;
		for (i = sot; sot && i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			b[i] = (unsigned char)(seed >> 16);
		}
		write_bytes(path, b, n);
		/* (the first FF90 may sit inside the main header: then open fails) */
		if (open_file(path, 0, &s, &err) == 0) {
			EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 300, 300, 0, &img, &err), 500);
			ts_image_free(&img);
			ops->close(s);
		} else {
			EXPECT_EQ_INT(err.status, 500);
		}
	}
	/* Truncated inside the main header: 500 at open. */
	write_bytes(path, b, (size_t)soc + 30);
	EXPECT_EQ_INT(open_file(path, 0, &s, &err), 500);
done:
	free(b);
}

static void bench_one_tile_from_three_layouts(void)
{
	static const char *layouts[][2] = {
		{ "bench1024.jp2", "-n 6 -t 1024,1024 -p RPCL -c [256,256]" },
		{ "bench512.jp2", "-n 6 -t 512,512 -p RPCL -c [256,256]" },
		{ "benchu.jp2", "-n 6 -p RPCL -c [256,256]" },
	};
	int i, k;
	char in[256];

	if (!getenv("TS_JP2_BENCH") || skip())
		return;
	snprintf(in, sizeof in, "%s/big.ppm", dir);
	write_pnm(in, 4000, 3000, 3, 255);
	for (i = 0; i < 3; i++) {
		const char *f = make(layouts[i][0], "big.ppm", layouts[i][1]);
		struct ts_source *s = NULL;
		struct ts_error err;
		struct ts_image img = { 0 };
		double t0, best = 1e9, topen;
		if (!f)
			continue;
		t0 = now_ms();
		open_file(f, 0, &s, &err);
		topen = now_ms() - t0;
		if (!s)
			continue;
		for (k = 0; k < 5; k++) {
			t0 = now_ms();
			ops->read_region(s, 0, 1280 + 256 * k, 1280, 256, 256, 0, &img, &err);
			if (now_ms() - t0 < best)
				best = now_ms() - t0;
			ts_image_free(&img);
		}
		printf("    bench %-14s open %.2f ms, 256x256 at full res: best %.2f ms\n",
		       layouts[i][0], topen, best);
		ops->close(s);
	}
}

int main(void)
{
	char p[300];

	have_opj = system("command -v opj_compress >/dev/null 2>&1") == 0;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(p, sizeof p, "%s/rgb.ppm", dir);
	write_pnm(p, 601, 403, 3, 255);
	snprintf(p, sizeof p, "%s/gray.pgm", dir);
	write_pnm(p, 601, 403, 1, 255);
	snprintf(p, sizeof p, "%s/gray16.pgm", dir);
	write_pnm(p, 601, 403, 1, 65535);
	snprintf(p, sizeof p, "%s/rgba.raw", dir);
	write_raw(p, 601, 403, 4);
	{
		/* Y = 128; Cb = 128; Cr = 128 on the left half, 200 on the right. */
		FILE *f;
		int i;
		snprintf(p, sizeof p, "%s/ycc.raw", dir);
		f = fopen(p, "wb");
		for (i = 0; i < 64 * 48; i++)
			fputc(128, f);
		for (i = 0; i < 32 * 24; i++)
			fputc(128, f);
		for (i = 0; i < 32 * 24; i++)
			fputc(i % 32 < 16 ? 128 : 200, f);
		fclose(f);
	}

	RUN(sniff_knows_jp2_boxes_and_raw_codestreams);
	RUN(untiled_rgb_has_one_level_per_resolution_with_ceil_sizes);
	RUN(tiled_rpcl_file_reports_tiles_and_reads_across_tile_edges);
	RUN(gray_raw_codestream_reads_one_channel);
	RUN(sixteen_bit_samples_are_scaled_to_eight_with_rounding);
	RUN(four_components_read_as_rgba);
	RUN(subsampled_chroma_is_upsampled_and_converted_to_rgb);
	RUN(image_offset_levels_follow_the_reference_grid);
	RUN(region_over_budget_is_refused_with_403);
	RUN(hostile_headers_are_refused_fast_without_big_allocations);
	RUN(bench_one_tile_from_three_layouts);

	snprintf(p, sizeof p, "rm -rf %s", dir);
	if (system(p) != 0)
		printf("    could not remove %s\n", dir);
	return CHECK_DONE();
}
