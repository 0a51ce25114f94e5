/*
 * test_png_read.c - the plain PNG source: every colour type reads as 8-bit
 * grey/grey+alpha/RGB/RGBA with exact pixels, 16-bit scaled with rounding,
 * palette+tRNS as RGBA, interlaced files, truncation and the budget.
 * Files are written at test time with libpng.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <png.h>
#include "check.h"
#include "tessera/source.h"

static const struct ts_source_ops *ops = &ts_png_source_ops;
static char dir[] = "/tmp/ts_png_XXXXXX";

/* The 16-bit pattern of channel c; 8-bit files use its top byte. */
static unsigned pat16(int c, uint32_t x, uint32_t y)
{
	return (unsigned)((x * 997u + y * 131u + (unsigned)c * 20011u) * 7u) & 0xFFFF;
}

/* Write dir/name: colour type ct, bit depth bd (8 or 16), optional Adam7.
 * Palette files use 16 entries, index = (x + y) % 16, entries 0..3 transparent
 * to various degrees through tRNS. */
static const char *write_png(const char *name, uint32_t W, uint32_t H, int ct, int bd,
                             bool interlace)
{
	static char paths[8][256];
	static int slot;
	char *path = paths[slot++ % 8];
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	int nc = ct == PNG_COLOR_TYPE_GRAY ? 1 : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 :
	         ct == PNG_COLOR_TYPE_RGB ? 3 : ct == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : 1;
	int bytes = bd == 16 ? 2 : 1;
	unsigned char *img = malloc((size_t)W * H * nc * bytes);
	png_bytep *rows = malloc(H * sizeof *rows);
	uint32_t x, y;
	int c;
	FILE *f;

	snprintf(path, 256, "%s/%s", dir, name);
	f = fopen(path, "wb");
	png_init_io(png, f);
	png_set_IHDR(png, info, W, H, bd, ct,
	             interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (ct == PNG_COLOR_TYPE_PALETTE) {
		png_color pal[16];
		png_byte trns[4] = { 0, 85, 170, 200 };
		for (c = 0; c < 16; c++) {
			pal[c].red = (png_byte)(c * 16);
			pal[c].green = (png_byte)(255 - c * 16);
			pal[c].blue = (png_byte)(c * 7);
		}
		png_set_PLTE(png, info, pal, 16);
		png_set_tRNS(png, info, trns, 4, NULL);
	}
	png_write_info(png, info);
	for (y = 0; y < H; y++) {
		rows[y] = img + (size_t)y * W * nc * bytes;
		for (x = 0; x < W; x++)
			for (c = 0; c < nc; c++) {
				unsigned v = pat16(c, x, y);
				unsigned char *p = rows[y] + ((size_t)x * nc + c) * bytes;
				if (ct == PNG_COLOR_TYPE_PALETTE)
					p[0] = (unsigned char)((x + y) % 16);
				else if (bytes == 2) {
					p[0] = (unsigned char)(v >> 8);
					p[1] = (unsigned char)v;
				} else
					p[0] = (unsigned char)(v >> 8);
			}
	}
	png_write_image(png, rows);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	fclose(f);
	free(img);
	free(rows);
	return path;
}

static ts_status open_file(const char *path, uint64_t max_px, struct ts_source **s,
                           struct ts_error *err)
{
	struct ts_source_limits lim = { .max_source_pixels = max_px };
	int fd = open(path, O_RDONLY);
	ts_status st;

	ts_error_clear(err);
	*s = NULL;
	if (fd < 0)
		return 404;
	st = ops->open(fd, path, &lim, s, err);
	if (st && getenv("TS_VERBOSE"))
		printf("    open: %d %s (%s)\n", st, err->msg, err->detail);
	return st;
}

/* Count of samples that differ from the pattern in a region read at (x, y). */
static int mismatches(const struct ts_image *img, uint32_t x, uint32_t y, bool sixteen)
{
	uint32_t i, j;
	int c, bad = 0;

	for (j = 0; j < img->height; j++)
		for (i = 0; i < img->width; i++)
			for (c = 0; c < img->channels; c++) {
				unsigned v = pat16(c, x + i, y + j);
				unsigned want = sixteen ? (v * 255u + 32767u) / 65535u : v >> 8;
				if (img->pixels[j * img->stride + i * (uint32_t)img->channels + c] != want)
					bad++;
			}
	return bad;
}

/* ---- tests ---------------------------------------------------------- */

static void sniff_wants_the_eight_byte_signature(void)
{
	unsigned char png[16] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A };
	unsigned char bad[16] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x00 };

	EXPECT(ops->sniff(png, 16));
	EXPECT(!ops->sniff(bad, 16));
}

static void every_colour_type_reads_exact_pixels_in_a_region(void)
{
	static const struct { int ct, ch; } types[] = {
		{ PNG_COLOR_TYPE_GRAY, 1 }, { PNG_COLOR_TYPE_GRAY_ALPHA, 2 },
		{ PNG_COLOR_TYPE_RGB, 3 }, { PNG_COLOR_TYPE_RGB_ALPHA, 4 },
	};
	int i, bd;

	for (i = 0; i < 4; i++)
		for (bd = 8; bd <= 16; bd += 8) {
			char name[32];
			const char *f;
			struct ts_source *s;
			struct ts_error err;
			struct ts_image img = { 0 };

			snprintf(name, sizeof name, "c%d_%d.png", types[i].ct, bd);
			f = write_png(name, 203, 101, types[i].ct, bd, false);
			EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
			if (!s)
				continue;
			EXPECT_EQ_STR(s->info.format, "png");
			EXPECT_EQ_INT(s->info.nlevels, 1);
			EXPECT_EQ_INT(s->info.width, 203);
			EXPECT_EQ_INT(s->info.bits, bd);
			EXPECT_EQ_INT(s->info.channels, types[i].ch);
			EXPECT_EQ_INT(ops->read_region(s, 0, 17, 40, 150, 61, 0, &img, &err), 0);
			EXPECT_EQ_INT(img.channels, types[i].ch);
			EXPECT_EQ_INT(img.height, 61);
			if (img.pixels)
				EXPECT_EQ_INT(mismatches(&img, 17, 40, bd == 16), 0);
			ts_image_free(&img);
			ops->close(s);
		}
}

static void palette_with_trns_reads_as_rgba(void)
{
	const char *f = write_png("pal.png", 64, 32, PNG_COLOR_TYPE_PALETTE, 8, false);
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };
	uint32_t i, j, bad = 0;

	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.channels, 4);
	EXPECT_EQ_INT(ops->read_region(s, 0, 3, 5, 40, 20, 0, &img, &err), 0);
	for (j = 0; img.pixels && j < 20; j++)
		for (i = 0; i < 40; i++) {
			const uint8_t *p = img.pixels + j * img.stride + i * 4;
			unsigned k = (3 + i + 5 + j) % 16;
			unsigned a = k == 0 ? 0 : k == 1 ? 85 : k == 2 ? 170 : k == 3 ? 200 : 255;
			if (p[0] != k * 16 || p[1] != 255 - k * 16 || p[2] != k * 7 || p[3] != a)
				bad++;
		}
	EXPECT_EQ_INT(bad, 0);
	ts_image_free(&img);
	ops->close(s);
}

static void interlaced_file_reads_like_a_plain_one(void)
{
	const char *f = write_png("i.png", 99, 77, PNG_COLOR_TYPE_RGB, 16, true);
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };

	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(ops->read_region(s, 0, 50, 3, 49, 70, 0, &img, &err), 0);
	if (img.pixels)
		EXPECT_EQ_INT(mismatches(&img, 50, 3, true), 0);
	ts_image_free(&img);
	/* The budget counts the whole image: Adam7 gives no early rows. */
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 10, 10, 99 * 77 - 1, &img, &err), 403);
	ops->close(s);
}

static void budget_counts_rows_down_to_the_window(void)
{
	const char *f = write_png("b.png", 100, 100, PNG_COLOR_TYPE_RGB, 8, false);
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };

	EXPECT_EQ_INT(open_file(f, 5000, &s, &err), 403);
	EXPECT_EQ_STR(err.msg, "image too large");
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	/* Rows 0..59 of 100 pixels: 6000. */
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 50, 10, 10, 5999, &img, &err), 403);
	EXPECT(img.pixels == NULL);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ops->read_region(s, 0, 0, 50, 10, 10, 6000, &img, &err), 0);
	if (img.pixels)
		EXPECT_EQ_INT(mismatches(&img, 0, 50, false), 0);
	ts_image_free(&img);
	ops->close(s);
}

static void truncated_file_is_a_500(void)
{
	const char *f = write_png("t.png", 300, 300, PNG_COLOR_TYPE_RGB, 8, false);
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };
	FILE *h = fopen(f, "r+b");
	long n;

	fseek(h, 0, SEEK_END);
	n = ftell(h);
	if (ftruncate(fileno(h), n / 2) != 0)
		printf("    ftruncate failed\n");
	fclose(h);
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (s) {
		EXPECT_EQ_INT(ops->read_region(s, 0, 0, 200, 300, 100, 0, &img, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt image data");
		EXPECT(img.pixels == NULL);
		ops->close(s);
	}
	h = fopen(f, "r+b");
	if (ftruncate(fileno(h), 20) != 0)
		printf("    ftruncate failed\n");
	fclose(h);
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 500);
	EXPECT_EQ_STR(err.msg, "cannot read image");
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(sniff_wants_the_eight_byte_signature);
	RUN(every_colour_type_reads_exact_pixels_in_a_region);
	RUN(palette_with_trns_reads_as_rgba);
	RUN(interlaced_file_reads_like_a_plain_one);
	RUN(budget_counts_rows_down_to_the_window);
	RUN(truncated_file_is_a_500);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("    could not remove %s\n", dir);
	return CHECK_DONE();
}
