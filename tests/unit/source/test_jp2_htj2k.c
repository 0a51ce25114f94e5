/*
 * test_jp2_htj2k.c - HTJ2K (JPEG 2000 Part 15) sources through the JPEG 2000
 * reader: windows give the pixels of whole-level decodes on every level of
 * tiled and untiled files, edge windows included, and the decode budget
 * counts the whole tiles an HTJ2K window costs; with Grok built in
 * (jp2_grok.c), its windows of untiled HTJ2K files equal OpenJPEG's.
 *
 * Why a file of its own: OpenJPEG 2.5.0 decodes an HTJ2K window that does
 * not cover whole tiles as flat grey (bench/J2K_DECODERS.md), so the reader
 * widens HTJ2K windows to whole tiles; these tests fail without that.
 * Files are made at test time with ojph_compress (openjph-tools) from a
 * pattern, reversible (lossless) so that level 0 must equal the pattern
 * exactly; without ojph_compress every test says "skipped".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "tessera/source.h"
#include "src/source/jp2_internal.h"

#define W 700
#define H 500

static const struct ts_source_ops *ops = &ts_jp2_source_ops;
static char dir[] = "/tmp/ts_htj2k_XXXXXX";
static int have_ojph;

/* A pattern with detail at every scale: ramps plus a checker of 8 px. */
static unsigned pat(int c, uint32_t x, uint32_t y)
{
	unsigned v;
	switch (c) {
	case 0: v = x * 200 / (W - 1); break;
	case 1: v = y * 200 / (H - 1); break;
	default: v = 200 - (x + y) * 200 / (W + H - 2); break;
	}
	return v + (((x / 8) ^ (y / 8)) & 1 ? 40 : 0);
}

static void write_ppm(const char *path)
{
	FILE *f = fopen(path, "wb");
	uint32_t x, y;
	int c;

	fprintf(f, "P6\n%d %d\n255\n", W, H);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			for (c = 0; c < 3; c++)
				fputc((int)pat(c, x, y), f);
	fclose(f);
}

/* dir/name made by ojph_compress from dir/in.ppm with opts, or NULL. */
static const char *make(const char *name, const char *opts)
{
	static char out[4][256];
	static int slot;
	char cmd[1024];
	char *p = out[slot++ % 4];

	if (!have_ojph)
		return NULL;
	snprintf(p, 256, "%s/%s", dir, name);
	snprintf(cmd, sizeof cmd,
	         "ojph_compress -i %s/in.ppm -o %s -reversible true -num_decomps 3 "
	         "-block_size '{32,32}' %s >/dev/null 2>&1", dir, p, opts);
	if (system(cmd) != 0) {
		printf("    ojph_compress failed: %s\n", cmd);
		return NULL;
	}
	return p;
}

static ts_status open_file(const char *path, struct ts_source **s, struct ts_error *err)
{
	struct ts_source_limits lim = { .max_source_pixels = 1u << 24 };
	int fd = open(path, O_RDONLY);

	ts_error_clear(err);
	if (fd < 0)
		return 404;
	return ops->open(fd, path, &lim, s, err);
}

/* Largest |a - b| between img and the rectangle of whole at (x, y). */
static int max_diff(const struct ts_image *img, const struct ts_image *whole, uint32_t x,
                    uint32_t y)
{
	int worst = 0;
	for (uint32_t j = 0; j < img->height; j++)
		for (uint32_t i = 0; i < img->width * (uint32_t)img->channels; i++) {
			int a = img->pixels[(size_t)j * img->stride + i];
			int b = whole->pixels[(size_t)(y + j) * whole->stride +
			                      (size_t)x * whole->channels + i];
			if (abs(a - b) > worst)
				worst = abs(a - b);
		}
	return worst;
}

/* Every level: windows (inside, across tile edges, at the right and bottom
 * edges, one pixel) equal the same pixels of the whole level. */
static void windows_match_whole_levels(const char *path)
{
	struct ts_source *s = NULL;
	struct ts_error err;

	if (!path) {
		printf("    skipped (no ojph_compress)\n");
		return;
	}
	EXPECT_EQ_INT(open_file(path, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.width, W);
	EXPECT_EQ_INT(s->info.height, H);
	for (int r = 0; r < s->info.nlevels; r++) {
		const struct ts_source_level *lv = &s->info.levels[r];
		struct ts_image whole;
		uint32_t lw = lv->width, lh = lv->height;
		uint32_t win[][4] = {
			{ lw / 5, lh / 7, lw / 3, lh / 4 },
			{ lw / 2 - 7, lh / 2 - 9, 40 < lw / 2 ? 40 : lw / 2, 30 < lh / 2 ? 30 : lh / 2 },
			{ lw - 13, lh - 11, 13, 11 },
			{ 0, lh - 1, lw, 1 },
			{ lw - 1, 0, 1, lh },
			{ lw / 2, lh / 2, 1, 1 },
		};
		EXPECT_EQ_INT(ops->read_region(s, r, 0, 0, lw, lh, 0, &whole, &err), 0);
		if (!whole.pixels)
			continue;
		for (size_t k = 0; k < sizeof win / sizeof win[0]; k++) {
			struct ts_image img;
			int d;
			EXPECT_EQ_INT(ops->read_region(s, r, win[k][0], win[k][1], win[k][2], win[k][3],
			                               0, &img, &err), 0);
			if (!img.pixels)
				continue;
			d = max_diff(&img, &whole, win[k][0], win[k][1]);
			if (d > 1)
				printf("    level %d window %u,%u %ux%u: off by %d\n", r, win[k][0],
				       win[k][1], win[k][2], win[k][3], d);
			EXPECT(d <= 1);
			ts_image_free(&img);
		}
		if (r == 0) {
			/* lossless: level 0 is the pattern itself */
			int worst = 0;
			for (uint32_t y = 0; y < H; y++)
				for (uint32_t x = 0; x < W; x++)
					for (int c = 0; c < 3; c++) {
						int v = whole.pixels[(size_t)y * whole.stride + x * 3 + c];
						if (abs(v - (int)pat(c, x, y)) > worst)
							worst = abs(v - (int)pat(c, x, y));
					}
			EXPECT_EQ_INT(worst, 0);
		}
		ts_image_free(&whole);
	}
	ops->close(s);
}

static void untiled_htj2k_windows_equal_whole_levels(void)
{
	windows_match_whole_levels(make("untiled.j2c", ""));
}

static void tiled_htj2k_windows_equal_whole_levels(void)
{
	windows_match_whole_levels(make("tiled.j2c", "-tile_size '{256,256}' "
	                                "-prog_order RPCL -precincts '{64,64}'"));
}

/* A small window of an untiled HTJ2K file decodes the whole image through
 * OpenJPEG, and the budget says so: 403 where the window alone would pass.
 * Through Grok it decodes the window only, and the budget counts that. */
static void htj2k_budget_counts_what_the_decoder_decodes(void)
{
	const char *path = make("budget.j2c", "");
	struct ts_source *s = NULL;
	struct ts_error err;
	struct ts_image img;
	bool grok;

	if (!path) {
		printf("    skipped (no ojph_compress)\n");
		return;
	}
	EXPECT_EQ_INT(open_file(path, &s, &err), 0);
	if (!s)
		return;
	grok = ts_jp2_grok_wanted((struct jp2_source *)s, 0, 64, 64);
	EXPECT_EQ_INT(ops->read_region(s, 0, 300, 200, 64, 64, 100000, &img, &err),
	              grok ? 0 : 403);
	ts_image_free(&img);
	EXPECT_EQ_INT(ops->read_region(s, 0, 300, 200, 64, 64, (uint64_t)W * H, &img, &err), 0);
	ts_image_free(&img);
	ops->close(s);
}

/* Grok and OpenJPEG (whole tiles, cropped) give the same pixels for
 * windows of every level of an untiled HTJ2K file, lossless and lossy. */
static void grok_and_openjpeg_agree_on_untiled_htj2k_windows(void)
{
	const char *paths[2] = { make("agree_rev.j2c", ""), NULL };
	char lossy[300];

	if (!paths[0]) {
		printf("    skipped (no ojph_compress)\n");
		return;
	}
	snprintf(lossy, sizeof lossy, "ojph_compress -i %s/in.ppm -o %s/agree_97.j2c "
	         "-num_decomps 3 -qstep 0.01 >/dev/null 2>&1", dir, dir);
	if (system(lossy) == 0) {
		snprintf(lossy, sizeof lossy, "%s/agree_97.j2c", dir);
		paths[1] = lossy;
	}
	for (int p = 0; p < 2 && paths[p]; p++) {
		struct ts_source *src = NULL;
		struct jp2_source *s;
		struct ts_error err;

		EXPECT_EQ_INT(open_file(paths[p], &src, &err), 0);
		if (!src)
			return;
		s = (struct jp2_source *)src;
		if (!ts_jp2_grok_wanted(s, 0, 10, 10)) {
			printf("    skipped (built without Grok)\n");
			ops->close(src);
			return;
		}
		for (int r = 0; r < src->info.nlevels; r++) {
			uint32_t lw = src->info.levels[r].width, lh = src->info.levels[r].height;
			uint32_t win[][4] = {
				{ lw / 5, lh / 7, lw / 3, lh / 4 },
				{ lw - 13, lh - 11, 13, 11 },
				{ 0, 0, lw / 2, 1 },
				{ lw / 2, lh / 2, 1, 1 },
			};
			for (size_t k = 0; k < sizeof win / sizeof win[0]; k++) {
				struct ts_image a, b;
				int d;
				EXPECT_EQ_INT(ts_jp2_grok_decode(s, r, win[k][0], win[k][1], win[k][2],
				                                 win[k][3], 0, &a, &err), 0);
				EXPECT_EQ_INT(ts_jp2_opj_decode(s, r, win[k][0], win[k][1], win[k][2],
				                                win[k][3], &b, &err), 0);
				if (!a.pixels || !b.pixels) {
					ts_image_free(&a);
					ts_image_free(&b);
					continue;
				}
				EXPECT_EQ_INT(a.width, b.width);
				EXPECT_EQ_INT(a.height, b.height);
				d = a.width == b.width && a.height == b.height ? max_diff(&a, &b, 0, 0) : 999;
				if (d > 1)
					printf("    %s level %d window %u,%u %ux%u: off by %d\n", paths[p], r,
					       win[k][0], win[k][1], win[k][2], win[k][3], d);
				EXPECT(d <= 1);
				ts_image_free(&a);
				ts_image_free(&b);
			}
		}
		ops->close(src);
	}
}

int main(void)
{
	char p[300];

	have_ojph = system("command -v ojph_compress >/dev/null 2>&1") == 0;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(p, sizeof p, "%s/in.ppm", dir);
	write_ppm(p);

	RUN(untiled_htj2k_windows_equal_whole_levels);
	RUN(tiled_htj2k_windows_equal_whole_levels);
	RUN(htj2k_budget_counts_what_the_decoder_decodes);
	RUN(grok_and_openjpeg_agree_on_untiled_htj2k_windows);

	snprintf(p, sizeof p, "rm -rf %s", dir);
	if (system(p) != 0)
		printf("    could not remove %s\n", dir);
	return CHECK_DONE();
}
