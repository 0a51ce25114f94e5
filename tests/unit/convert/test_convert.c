/*
 * test_convert.c - ts_convert_file end to end (src/convert/convert.c and
 * the TIFF sink): a PNG made here becomes a deflate-tiled pyramid whose
 * every level, read back with libtiff, is exactly the 2x2 box pyramid of
 * the source; a failing input leaves nothing in the output folder; kinds
 * not built answer 501; the kind table parses words and suffixes; the
 * memory bound refuses before converting.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <png.h>
#include <tiffio.h>

#include "check.h"
#include "tessera/convert.h"

static char dir[64], in[96], out[96];

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_convert_%d", (int)getpid());
	mkdir(dir, 0755);
	snprintf(in, sizeof in, "%s/in.png", dir);
	snprintf(out, sizeof out, "%s/out.tif", dir);
}

static int files_in_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
			n++;
	if (d)
		closedir(d);
	return n;
}

static uint8_t *write_png(uint32_t w, uint32_t h)
{
	png_image im;
	uint8_t *px = malloc((size_t)w * h * 3);
	size_t i;

	for (i = 0; i < (size_t)w * h * 3; i++)
		px[i] = (uint8_t)((i * 7919u) >> 5);
	memset(&im, 0, sizeof im);
	im.version = PNG_IMAGE_VERSION;
	im.width = w;
	im.height = h;
	im.format = PNG_FORMAT_RGB;
	png_image_write_to_file(&im, in, 0, px, 0, NULL);
	return px;
}

static uint8_t *halve(const uint8_t *a, uint32_t w, uint32_t h)
{
	uint32_t W = (w + 1) / 2, H = (h + 1) / 2, x, y;
	uint8_t *o = malloc((size_t)W * H * 3);
	int c;

	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			for (c = 0; c < 3; c++) {
				uint32_t x1 = 2 * x + 1 < w ? 2 * x + 1 : 2 * x;
				uint32_t y1 = 2 * y + 1 < h ? 2 * y + 1 : 2 * y;
				unsigned s = a[((size_t)2 * y * w + 2 * x) * 3 + c] +
				             a[((size_t)2 * y * w + x1) * 3 + c] +
				             a[((size_t)y1 * w + 2 * x) * 3 + c] + a[((size_t)y1 * w + x1) * 3 + c];
				o[((size_t)y * W + x) * 3 + c] = (uint8_t)((s + 2) / 4);
			}
	return o;
}

static void a_deflate_pyramid_is_the_exact_box_pyramid(void)
{
	struct ts_convert_opts o;
	struct ts_error err;
	uint32_t w = 333, h = 201, k = 0;
	uint8_t *ref, *row;
	TIFF *t;
	int levels = 0;

	make_dir();
	ref = write_png(w, h);
	ts_convert_opts_default(&o);
	o.compression = TS_COMP_DEFLATE;
	o.tile = 64;
	o.threads = 3;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_convert_file(in, out, &o, &err), TS_OK);
	EXPECT_EQ_INT(files_in_dir(), 2);   /* in.png, out.tif: no temporary left */
	t = TIFFOpen(out, "r");
	EXPECT(t != NULL);
	if (!t)
		return;
	row = malloc((size_t)w * 3);
	do {
		uint32_t iw = 0, ih = 0, y, ok = 1;
		uint8_t *tile = malloc(TIFFTileSize(t));

		TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &iw);
		TIFFGetField(t, TIFFTAG_IMAGELENGTH, &ih);
		EXPECT(iw == w && ih == h);
		for (y = 0; ok && y < h; y++) {
			uint32_t x;

			for (x = 0; x < w; x += 64) {
				uint32_t n = w - x < 64 ? w - x : 64;

				TIFFReadTile(t, tile, x, y, 0, 0);
				memcpy(row + (size_t)x * 3, tile + (size_t)(y % 64) * 64 * 3, (size_t)n * 3);
			}
			if (memcmp(row, ref + (size_t)y * w * 3, (size_t)w * 3) != 0) {
				printf("    level %u row %u differs\n", k, y);
				ok = 0;
				check_current_failed = 1;
			}
		}
		free(tile);
		levels++;
		k++;
		if (w > 64 || h > 64) {
			uint8_t *next = halve(ref, w, h);

			free(ref);
			ref = next;
			w = (w + 1) / 2;
			h = (h + 1) / 2;
		}
	} while (TIFFReadDirectory(t));
	EXPECT_EQ_INT(levels, 4);   /* 333x201 167x101 84x51 42x26 */
	TIFFClose(t);
	free(row);
	free(ref);
	unlink(out);
	unlink(in);
}

static void a_failing_input_leaves_nothing_behind(void)
{
	struct ts_convert_opts o;
	struct ts_error err;
	FILE *f;
	long len;
	char *buf;

	make_dir();
	free(write_png(500, 400));
	f = fopen(in, "rb");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	EXPECT(fread(buf, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	f = fopen(in, "wb");
	fwrite(buf, 1, (size_t)len / 2, f);
	fclose(f);
	free(buf);
	ts_convert_opts_default(&o);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_convert_file(in, out, &o, &err), TS_EINTERNAL);
	EXPECT(err.msg[0] != '\0');
	EXPECT(strstr(err.msg, dir) == NULL);   /* no path in the public sentence */
	EXPECT_EQ_INT(files_in_dir(), 1);
	unlink(in);
}

static void kinds_not_built_answer_501(void)
{
	struct ts_convert_opts o;
	struct ts_error err;

	make_dir();
	free(write_png(50, 40));
	ts_convert_opts_default(&o);
	o.kind = TS_CONVERT_JP2;
	ts_error_clear(&err);
	/* 501 until the JP2 sink is in the table; then it converts */
	EXPECT(ts_convert_file(in, out, &o, &err) == TS_ENOTIMPL || err.status == TS_OK);
	unlink(out);
	unlink(in);
}

static void the_memory_bound_refuses_before_converting(void)
{
	struct ts_convert_opts o;
	struct ts_error err;

	make_dir();
	free(write_png(3000, 20));
	ts_convert_opts_default(&o);
	o.memory_mb = 1;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_convert_file(in, out, &o, &err), TS_EFORBIDDEN);
	EXPECT_EQ_INT(files_in_dir(), 1);
	unlink(in);
	rmdir(dir);
}

static void kinds_come_from_words_and_suffixes(void)
{
	EXPECT_EQ_INT(ts_convert_kind_parse("tiff"), TS_CONVERT_TIFF);
	EXPECT_EQ_INT(ts_convert_kind_parse("TIF"), TS_CONVERT_TIFF);
	EXPECT_EQ_INT(ts_convert_kind_parse("dzi"), TS_CONVERT_DEEPZOOM);
	EXPECT_EQ_INT(ts_convert_kind_parse("deepzoom"), TS_CONVERT_DEEPZOOM);
	EXPECT_EQ_INT(ts_convert_kind_parse("zoomify"), TS_CONVERT_ZOOMIFY);
	EXPECT_EQ_INT(ts_convert_kind_parse("iiif"), TS_CONVERT_IIIF);
	EXPECT_EQ_INT(ts_convert_kind_parse("jp2"), TS_CONVERT_JP2);
	EXPECT_EQ_INT(ts_convert_kind_parse("gif"), -1);
	EXPECT_EQ_INT(ts_convert_kind_of_path("/a/b.TIF"), TS_CONVERT_TIFF);
	EXPECT_EQ_INT(ts_convert_kind_of_path("b.ptif"), TS_CONVERT_TIFF);
	EXPECT_EQ_INT(ts_convert_kind_of_path("b.jp2"), TS_CONVERT_JP2);
	EXPECT_EQ_INT(ts_convert_kind_of_path("b.dzi"), TS_CONVERT_DEEPZOOM);
	EXPECT_EQ_INT(ts_convert_kind_of_path("b.png"), -1);
	EXPECT_EQ_INT(ts_convert_kind_of_path(".tif"), -1);
}

static void temporary_names_sit_beside_the_output(void)
{
	char *a = ts_convert_temp_path("/srv/images/x.tif"), *b = ts_convert_temp_path("x.tif");

	EXPECT(a && strncmp(a, "/srv/images/.x.tif.tmp-", 23) == 0);
	EXPECT(b && strncmp(b, ".x.tif.tmp-", 11) == 0);
	free(a);
	free(b);
}

int main(void)
{
	RUN(a_deflate_pyramid_is_the_exact_box_pyramid);
	RUN(a_failing_input_leaves_nothing_behind);
	RUN(kinds_not_built_answer_501);
	RUN(the_memory_bound_refuses_before_converting);
	RUN(kinds_come_from_words_and_suffixes);
	RUN(temporary_names_sit_beside_the_output);
	return CHECK_DONE();
}
