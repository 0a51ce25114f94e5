/*
 * test_jpeg_read.c - the plain JPEG source: DCT-scale levels, pixels at each
 * level, grey/RGB/CMYK/progressive, EXIF orientation, truncation, budget.
 * Files are written at test time with libjpeg from a smooth pattern.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jpeglib.h>
#include "check.h"
#include "tessera/source.h"

static const struct ts_source_ops *ops = &ts_jpeg_source_ops;
static char dir[] = "/tmp/ts_jpeg_XXXXXX";

/* Smooth ramps, a different one per channel. */
static unsigned pat(int c, uint32_t x, uint32_t y, uint32_t W, uint32_t H)
{
	switch (c) {
	case 0: return (unsigned)(x * 255u / (W - 1));
	case 1: return (unsigned)(y * 255u / (H - 1));
	default: return 255u - (unsigned)((x + y) * 255u / (W + H - 2));
	}
}

struct opts {
	int comps;               /* 1, 3, or 4 (CMYK, Adobe-inverted) */
	bool progressive;
	int orientation;         /* 0: no EXIF */
	bool little_endian;      /* EXIF byte order */
};

/* Write dir/name, W x H, quality 100 without chroma subsampling. */
static const char *write_jpeg(const char *name, uint32_t W, uint32_t H, struct opts o)
{
	static char paths[8][256];
	static int slot;
	char *path = paths[slot++ % 8];
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *row = malloc((size_t)W * 4);
	FILE *f;
	uint32_t x, y;
	int k;

	snprintf(path, 256, "%s/%s", dir, name);
	f = fopen(path, "wb");
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = W;
	c.image_height = H;
	c.input_components = o.comps;
	c.in_color_space = o.comps == 1 ? JCS_GRAYSCALE : o.comps == 3 ? JCS_RGB : JCS_CMYK;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 100, TRUE);
	for (k = 0; k < c.num_components; k++)
		c.comp_info[k].h_samp_factor = c.comp_info[k].v_samp_factor = 1;
	if (o.progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	if (o.orientation) {
		/* Exif\0\0, TIFF header, IFD0 with one entry: Orientation SHORT 1. */
		unsigned char a[6 + 8 + 2 + 12 + 4] = "Exif\0\0";
		unsigned char *t = a + 6;
		if (o.little_endian) {
			memcpy(t, "II*\0\x08\0\0\0", 8);
			memcpy(t + 8, "\x01\0\x12\x01\x03\0\x01\0\0\0", 10);
			t[18] = (unsigned char)o.orientation;
		} else {
			memcpy(t, "MM\0*\0\0\0\x08", 8);
			memcpy(t + 8, "\0\x01\x01\x12\0\x03\0\0\0\x01", 10);
			t[19] = (unsigned char)o.orientation;
		}
		jpeg_write_marker(&c, JPEG_APP0 + 1, a, sizeof a);
	}
	for (y = 0; y < H; y++) {
		JSAMPROW rp = row;
		for (x = 0; x < W; x++) {
			if (o.comps == 4) {
				/* Adobe CMYK is stored inverted: R = C' * K' / 255. */
				for (k = 0; k < 3; k++)
					row[x * 4 + k] = (unsigned char)pat(k, x, y, W, H);
				row[x * 4 + 3] = 255;
			} else {
				for (k = 0; k < o.comps; k++)
					row[x * o.comps + k] = (unsigned char)pat(k, x, y, W, H);
			}
		}
		jpeg_write_scanlines(&c, &rp, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	fclose(f);
	free(row);
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

/* Largest error of a region of scale 1/d against the pattern averaged over
 * each d x d block of the stored image; `o` maps oriented to stored pixels
 * at full resolution (stored size W x H). */
static int max_error(const struct ts_image *img, int d, uint32_t x, uint32_t y, int nc,
                     uint32_t W, uint32_t H, int o)
{
	uint32_t i, j, a, b;
	int c, worst = 0;

	for (j = 0; j < img->height; j++)
		for (i = 0; i < img->width; i++)
			for (c = 0; c < nc; c++) {
				double sum = 0;
				int cnt = 0, diff;
				for (b = 0; b < (uint32_t)d; b++)
					for (a = 0; a < (uint32_t)d; a++) {
						uint32_t X = (x + i) * d + a, Y = (y + j) * d + b, sx, sy;
						switch (o) {
						case 6: sx = Y; sy = H - 1 - X; break;
						case 8: sx = W - 1 - Y; sy = X; break;
						case 3: sx = W - 1 - X; sy = H - 1 - Y; break;
						default: sx = X; sy = Y; break;
						}
						if (sx < W && sy < H) {
							sum += pat(c, sx, sy, W, H);
							cnt++;
						}
					}
				if (!cnt)
					continue;
				diff = abs((int)img->pixels[j * img->stride + i * img->channels + c] -
				           (int)(sum / cnt + 0.5));
				if (diff > worst)
					worst = diff;
			}
	return worst;
}

/* ---- tests ---------------------------------------------------------- */

static void sniff_wants_ff_d8_ff(void)
{
	unsigned char jpg[16] = { 0xFF, 0xD8, 0xFF, 0xE1 };
	unsigned char bad[16] = { 0xFF, 0xD8, 0x00 };
	unsigned char png[16] = { 0x89, 'P', 'N', 'G' };

	EXPECT(ops->sniff(jpg, 16));
	EXPECT(!ops->sniff(bad, 16));
	EXPECT(!ops->sniff(png, 16));
}

static void rgb_levels_are_the_four_dct_scales_rounded_up(void)
{
	const char *f = write_jpeg("rgb.jpg", 403, 301, (struct opts){ 3, false, 0, false });
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };
	int lv, d;

	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_STR(s->info.format, "jpeg");
	EXPECT_EQ_INT(s->info.channels, 3);
	EXPECT_EQ_INT(s->info.nlevels, 4);
	for (lv = 0, d = 1; lv < 4; lv++, d *= 2) {
		uint32_t lw = (403 + d - 1) / d, lh = (301 + d - 1) / d;
		EXPECT_EQ_INT(s->info.levels[lv].width, lw);
		EXPECT_EQ_INT(s->info.levels[lv].height, lh);
		EXPECT_EQ_INT(s->info.levels[lv].tile_w, 0);
		ts_error_clear(&err);
		/* A region off the iMCU grid, then the bottom-right corner. */
		EXPECT_EQ_INT(ops->read_region(s, lv, lw / 3 + 1, lh / 3 + 1, lw / 3, lh / 3, 0,
		                               &img, &err), 0);
		EXPECT_EQ_INT(img.width, lw / 3);
		EXPECT_EQ_INT(img.height, lh / 3);
		if (img.pixels)
			EXPECT(max_error(&img, d, lw / 3 + 1, lh / 3 + 1, 3, 403, 301, 1) <= 3);
		ts_image_free(&img);
		EXPECT_EQ_INT(ops->read_region(s, lv, lw - 7, lh - 5, 7, 5, 0, &img, &err), 0);
		if (img.pixels)
			EXPECT(max_error(&img, d, lw - 7, lh - 5, 3, 403, 301, 1) <= 3);
		ts_image_free(&img);
	}
	EXPECT_EQ_INT(s->info.levels[3].width, 51);
	ops->close(s);
}

static void gray_and_progressive_files_read_the_same_pixels(void)
{
	const char *g = write_jpeg("g.jpg", 300, 200, (struct opts){ 1, false, 0, false });
	const char *p = write_jpeg("p.jpg", 300, 200, (struct opts){ 3, true, 0, false });
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };

	EXPECT_EQ_INT(open_file(g, 0, &s, &err), 0);
	if (s) {
		EXPECT_EQ_INT(s->info.channels, 1);
		EXPECT_EQ_INT(ops->read_region(s, 1, 20, 30, 100, 50, 0, &img, &err), 0);
		EXPECT_EQ_INT(img.channels, 1);
		if (img.pixels)
			EXPECT(max_error(&img, 2, 20, 30, 1, 300, 200, 1) <= 3);
		ts_image_free(&img);
		ops->close(s);
	}
	EXPECT_EQ_INT(open_file(p, 0, &s, &err), 0);
	if (s) {
		EXPECT_EQ_INT(ops->read_region(s, 0, 150, 100, 150, 100, 0, &img, &err), 0);
		if (img.pixels) {
			int e = max_error(&img, 1, 150, 100, 3, 300, 200, 1);
			if (e > 3)
				printf("    progressive: error %d\n", e);
			EXPECT(e <= 4);
		}
		ts_image_free(&img);
		EXPECT_EQ_INT(ops->read_region(s, 3, 0, 0, 38, 25, 0, &img, &err), 0);
		if (img.pixels)
			EXPECT(max_error(&img, 8, 0, 0, 3, 300, 200, 1) <= 3);
		ts_image_free(&img);
		ops->close(s);
	}
}

static void adobe_cmyk_becomes_rgb(void)
{
	const char *f = write_jpeg("cmyk.jpg", 120, 80, (struct opts){ 4, false, 0, false });
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };

	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (!s)
		return;
	EXPECT_EQ_INT(s->info.channels, 3);
	EXPECT_EQ_INT(ops->read_region(s, 0, 10, 10, 100, 60, 0, &img, &err), 0);
	EXPECT_EQ_INT(img.channels, 3);
	if (img.pixels)
		EXPECT(max_error(&img, 1, 10, 10, 3, 120, 80, 1) <= 3);
	ts_image_free(&img);
	ops->close(s);
}

static void exif_orientation_six_and_eight_turn_sizes_and_pixels(void)
{
	static const int orients[] = { 6, 8, 3 };
	int i;

	for (i = 0; i < 3; i++) {
		char name[32];
		const char *f;
		struct ts_source *s;
		struct ts_error err;
		struct ts_image img = { 0 };
		int o = orients[i];
		bool turned = o >= 5;

		snprintf(name, sizeof name, "o%d.jpg", o);
		/* Stored 160 x 96; big-endian EXIF for 6, little-endian for 8. */
		f = write_jpeg(name, 160, 96, (struct opts){ 3, false, o, o == 8 });
		EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
		if (!s)
			continue;
		EXPECT_EQ_INT(s->info.width, turned ? 96 : 160);
		EXPECT_EQ_INT(s->info.height, turned ? 160 : 96);
		EXPECT_EQ_INT(s->info.levels[1].width, turned ? 48 : 80);
		EXPECT_EQ_INT(s->info.levels[3].height, turned ? 20 : 12);
		/* A region in the displayed frame, at full and half scale. */
		EXPECT_EQ_INT(ops->read_region(s, 0, 10, 20, 40, 60, 0, &img, &err), 0);
		EXPECT_EQ_INT(img.width, 40);
		EXPECT_EQ_INT(img.height, 60);
		if (img.pixels) {
			int e = max_error(&img, 1, 10, 20, 3, 160, 96, o);
			if (e > 3)
				printf("    orientation %d: error %d\n", o, e);
			EXPECT(e <= 4);
		}
		ts_image_free(&img);
		EXPECT_EQ_INT(ops->read_region(s, 1, 5, 10, 20, 30, 0, &img, &err), 0);
		if (img.pixels)
			EXPECT(max_error(&img, 2, 5, 10, 3, 160, 96, o) <= 3);
		ts_image_free(&img);
		ops->close(s);
	}
}

static void truncated_file_is_a_500_not_grey_pixels(void)
{
	const char *f = write_jpeg("t.jpg", 400, 300, (struct opts){ 3, false, 0, false });
	const char *p = write_jpeg("tp.jpg", 400, 300, (struct opts){ 3, true, 0, false });
	const char *files[2] = { f, p };
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };
	int i;

	for (i = 0; i < 2; i++) {
		FILE *h = fopen(files[i], "rb");
		long n;
		char *b;
		fseek(h, 0, SEEK_END);
		n = ftell(h);
		rewind(h);
		b = malloc((size_t)n);
		if (fread(b, 1, (size_t)n, h) != (size_t)n)
			n = 0;
		fclose(h);
		h = fopen(files[i], "wb");
		fwrite(b, 1, (size_t)n / 2, h);
		fclose(h);
		free(b);
		EXPECT_EQ_INT(open_file(files[i], 0, &s, &err), 0);
		if (!s)
			continue;
		EXPECT_EQ_INT(ops->read_region(s, 0, 0, 250, 400, 50, 0, &img, &err), 500);
		EXPECT_EQ_STR(err.msg, "corrupt image data");
		EXPECT(img.pixels == NULL);
		/* The top rows of a baseline file are still intact and readable. */
		ts_error_clear(&err);
		EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 400, 16, 0, &img, &err), i == 0 ? 0 : 500);
		ts_image_free(&img);
		ops->close(s);
	}
	/* Header cut short: open fails. */
	{
		FILE *h = fopen(f, "r+b");
		if (ftruncate(fileno(h), 20) != 0)
			printf("    ftruncate failed\n");
		fclose(h);
	}
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 500);
	EXPECT_EQ_STR(err.msg, "cannot read image");
	EXPECT(strstr(err.msg, dir) == NULL);
}

static void budget_and_size_limits_are_refused_with_403(void)
{
	const char *f = write_jpeg("b.jpg", 400, 300, (struct opts){ 3, false, 0, false });
	const char *p = write_jpeg("bp.jpg", 400, 300, (struct opts){ 3, true, 0, false });
	struct ts_source *s;
	struct ts_error err;
	struct ts_image img = { 0 };

	EXPECT_EQ_INT(open_file(f, 100000, &s, &err), 403);
	EXPECT_EQ_STR(err.msg, "image too large");
	EXPECT_EQ_INT(open_file(f, 0, &s, &err), 0);
	if (s) {
		/* Rows 0..299 across the whole width: 120,000 pixels. */
		EXPECT_EQ_INT(ops->read_region(s, 0, 0, 250, 10, 50, 100000, &img, &err), 403);
		EXPECT(img.pixels == NULL);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ops->read_region(s, 0, 0, 0, 10, 50, 100000, &img, &err), 0);
		ts_image_free(&img);
		ops->close(s);
	}
	/* Progressive files are buffered whole: even 1/8 costs the full area. */
	EXPECT_EQ_INT(open_file(p, 0, &s, &err), 0);
	if (s) {
		EXPECT_EQ_INT(ops->read_region(s, 3, 0, 0, 50, 38, 100000, &img, &err), 403);
		ops->close(s);
	}
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(sniff_wants_ff_d8_ff);
	RUN(rgb_levels_are_the_four_dct_scales_rounded_up);
	RUN(gray_and_progressive_files_read_the_same_pixels);
	RUN(adobe_cmyk_becomes_rgb);
	RUN(exif_orientation_six_and_eight_turn_sizes_and_pixels);
	RUN(truncated_file_is_a_500_not_grey_pixels);
	RUN(budget_and_size_limits_are_refused_with_403);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("    could not remove %s\n", dir);
	return CHECK_DONE();
}
