/*
 * test_tiff_file.c - the TIFF writer of the converter (src/convert/
 * tiff_file.c): tiles written in any order come back in place through
 * libtiff, as pages or SubIFDs, classic or BigTIFF, and Tessera's own
 * reader (source/tiff_read.c) finds every level of both layouts.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tiffio.h>

#include "check.h"
#include "tessera/source.h"
#include "../../../src/convert/tiff_file.h"

#define TW 16

static char path[64];

static uint8_t value(int level, uint32_t x, uint32_t y, int c)
{
	return (uint8_t)(level * 50 + x * 3 + y * 7 + c * 11);
}

/* A two-level file: 40x30 and 20x15, uncompressed RGB tiles of 16x16,
 * written last tile first. */
static int write_file(bool subifds, bool big)
{
	struct ts_tiff_file *f = NULL;
	struct ts_error err;
	uint32_t w[2] = { 40, 20 }, h[2] = { 30, 15 };
	uint8_t tile[TW * TW * 3];
	int k, ok = 1;

	strcpy(path, "/tmp/test_tiff_file_XXXXXX");
	close(mkstemp(path));
	unlink(path);
	ts_error_clear(&err);
	if (ts_tiff_file_create(path, 2, &f, &err) != TS_OK)
		return 0;
	for (k = 0; k < 2; k++) {
		struct ts_tiff_level d;

		memset(&d, 0, sizeof d);
		d.width = w[k];
		d.height = h[k];
		d.tile_w = d.tile_h = TW;
		d.spp = 3;
		d.compression = COMPRESSION_NONE;
		d.photometric = PHOTOMETRIC_RGB;
		d.reduced = k > 0;
		d.xres = d.yres = 300.0 / (k + 1);
		ok = ok && ts_tiff_file_level(f, k, &d, &err) == TS_OK;
	}
	for (k = 1; k >= 0; k--) {
		int row, col;

		for (row = (int)((h[k] + TW - 1) / TW) - 1; row >= 0; row--)
			for (col = (int)((w[k] + TW - 1) / TW) - 1; col >= 0; col--) {
				uint32_t x, y;
				int c;

				for (y = 0; y < TW; y++)
					for (x = 0; x < TW; x++)
						for (c = 0; c < 3; c++)
							tile[(y * TW + x) * 3 + c] =
								value(k, col * TW + x, row * TW + y, c);
				ok = ok && ts_tiff_file_tile(f, k, (uint32_t)col, (uint32_t)row, tile,
				                             sizeof tile, &err) == TS_OK;
			}
	}
	ok = ok && ts_tiff_file_finish(f, subifds, big, &err) == TS_OK;
	ts_tiff_file_destroy(f);
	return ok;
}

/* Every pixel of the selected directory (level k) as written. */
static int level_matches(TIFF *t, int k, uint32_t w, uint32_t h)
{
	uint32_t tw = 0, th = 0, iw = 0, ih = 0, x, y, tx, ty;
	uint8_t buf[TW * TW * 3];

	TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &iw);
	TIFFGetField(t, TIFFTAG_IMAGELENGTH, &ih);
	TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
	TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
	if (iw != w || ih != h || tw != TW || th != TW)
		return 0;
	for (ty = 0; ty < h; ty += TW)
		for (tx = 0; tx < w; tx += TW) {
			if (TIFFReadEncodedTile(t, TIFFComputeTile(t, tx, ty, 0, 0), buf, sizeof buf) !=
			    (tmsize_t)sizeof buf)
				return 0;
			for (y = 0; y < TW && ty + y < h; y++)
				for (x = 0; x < TW && tx + x < w; x++)
					if (buf[(y * TW + x) * 3 + 1] != value(k, tx + x, ty + y, 1))
						return 0;
		}
	return 1;
}

static void pages_read_back_in_place_whatever_the_write_order(void)
{
	TIFF *t;
	float xr = 0;

	EXPECT(write_file(false, false));
	t = TIFFOpen(path, "r");
	EXPECT(t != NULL);
	if (!t)
		return;
	EXPECT(!TIFFIsBigTIFF(t));
	EXPECT(level_matches(t, 0, 40, 30));
	EXPECT(TIFFGetField(t, TIFFTAG_XRESOLUTION, &xr) && xr > 299.9f && xr < 300.1f);
	EXPECT(TIFFReadDirectory(t));
	EXPECT(level_matches(t, 1, 20, 15));
	EXPECT(!TIFFReadDirectory(t));
	TIFFClose(t);
	unlink(path);
}

static void subifds_hang_under_the_first_page(void)
{
	TIFF *t;
	uint16_t n = 0;
	uint64_t *offs = NULL;

	EXPECT(write_file(true, false));
	t = TIFFOpen(path, "r");
	EXPECT(t != NULL);
	if (!t)
		return;
	EXPECT(level_matches(t, 0, 40, 30));
	EXPECT(TIFFGetField(t, TIFFTAG_SUBIFD, &n, &offs) && n == 1);
	if (n == 1) {
		uint64_t off = offs[0];

		EXPECT(TIFFSetSubDirectory(t, off));
		EXPECT(level_matches(t, 1, 20, 15));
	}
	TIFFClose(t);
	unlink(path);
}

static void bigtiff_reads_back_the_same(void)
{
	TIFF *t;

	EXPECT(write_file(false, true));
	t = TIFFOpen(path, "r");
	EXPECT(t != NULL);
	if (!t)
		return;
	EXPECT(TIFFIsBigTIFF(t));
	EXPECT(level_matches(t, 0, 40, 30));
	EXPECT(TIFFReadDirectory(t));
	EXPECT(level_matches(t, 1, 20, 15));
	TIFFClose(t);
	unlink(path);
}

static void tesseras_reader_finds_both_levels_of_every_layout(void)
{
	int layout;

	for (layout = 0; layout < 3; layout++) {
		struct ts_source *s = NULL;
		struct ts_source_limits lim = { 0 };
		struct ts_error err;

		ts_error_clear(&err);
		EXPECT(write_file(layout == 1, layout == 2));
		EXPECT(ts_source_open(path, &lim, &s, &err) == TS_OK);
		if (s) {
			EXPECT_EQ_INT(s->info.nlevels, 2);
			EXPECT_EQ_INT(s->info.levels[1].width, 20);
			EXPECT_EQ_INT(s->info.levels[0].tile_w, TW);
			ts_source_close(s);
		}
		unlink(path);
	}
}

static void a_missing_tile_fails_the_finish(void)
{
	struct ts_tiff_file *f = NULL;
	struct ts_tiff_level d;
	struct ts_error err;
	uint8_t tile[TW * TW * 3] = { 0 };

	strcpy(path, "/tmp/test_tiff_file_XXXXXX");
	close(mkstemp(path));
	unlink(path);
	ts_error_clear(&err);
	EXPECT(ts_tiff_file_create(path, 1, &f, &err) == TS_OK);
	memset(&d, 0, sizeof d);
	d.width = 40;
	d.height = 16;
	d.tile_w = d.tile_h = TW;
	d.spp = 3;
	d.compression = COMPRESSION_NONE;
	d.photometric = PHOTOMETRIC_RGB;
	EXPECT(ts_tiff_file_level(f, 0, &d, &err) == TS_OK);
	EXPECT(ts_tiff_file_tile(f, 0, 0, 0, tile, sizeof tile, &err) == TS_OK);
	EXPECT(ts_tiff_file_tile(f, 0, 5, 0, tile, sizeof tile, &err) != TS_OK);
	EXPECT(ts_tiff_file_finish(f, false, false, &err) != TS_OK);
	ts_tiff_file_destroy(f);
	unlink(path);
}

int main(void)
{
	RUN(pages_read_back_in_place_whatever_the_write_order);
	RUN(subifds_hang_under_the_first_page);
	RUN(bigtiff_reads_back_the_same);
	RUN(tesseras_reader_finds_both_levels_of_every_layout);
	RUN(a_missing_tile_fails_the_finish);
	return CHECK_DONE();
}
