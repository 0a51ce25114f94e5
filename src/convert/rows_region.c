/*
 * rows_region.c - a row source over the server's own image sources
 * (source.h): TIFF of every layout and bit depth, JPEG 2000, whatever
 * ts_source_open reads.
 *
 * The one idea: a band of rows is one full-width region of level 0, and the
 * sources already decode a region by the tiles or strips it touches, reduce
 * 16 bits to 8, convert CMYK and palettes, and check sizes before
 * allocating.  Bands follow the source's tile height (band_rows) so each
 * tile is decoded once, and are read a column of tiles at a time.
 */
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "tessera/source.h"
#include "rows.h"

struct rows_region {
	struct ts_rows r;
	struct ts_source *src;
	uint32_t y;
	uint32_t chunk;             /* columns read at once: the tile width */
};

static ts_status region_next(struct ts_rows *base, struct ts_image *band, uint32_t *got,
                             struct ts_error *err)
{
	struct rows_region *s = (struct rows_region *)base;
	uint32_t n = band->height, j, x, cw;
	int ch = base->channels;
	ts_status st;

	*got = 0;
	if (s->y + n > base->height)
		n = base->height - s->y;
	if (n == 0)
		return ts_error_set(err, TS_EINTERNAL, "read past the last row");
	/* A column of tiles at a time: a decoder's working memory (OpenJPEG
	 * holds a region as 32-bit samples) stays that of a few tiles. */
	for (x = 0; x < base->width; x += cw) {
		struct ts_image img = { 0 };

		cw = base->width - x < s->chunk ? base->width - x : s->chunk;
		st = ts_source_read_region(s->src, 0, x, s->y, cw, n, 0, &img, err);
		if (st != TS_OK)
			return st;
		if (img.width != cw || img.height != n || img.channels != ch) {
			ts_image_free(&img);
			return ts_error_set(err, TS_EINTERNAL, "image source returned the wrong size");
		}
		for (j = 0; j < n; j++)
			memcpy(band->pixels + (size_t)j * band->stride + (size_t)x * ch,
			       img.pixels + (size_t)j * img.stride, (size_t)cw * ch);
		ts_image_free(&img);
	}
	s->y += n;
	*got = n;
	return TS_OK;
}

static void region_close(struct ts_rows *base)
{
	struct rows_region *s = (struct rows_region *)base;

	ts_source_close(s->src);
	free(s);
}

/* Resolution tags of a TIFF's first IFD, in pixels per inch. */
static void tiff_resolution(const char *path, double *xres, double *yres)
{
	TIFF *t = TIFFOpen(path, "rm");
	float x = 0, y = 0;
	uint16_t unit = RESUNIT_INCH;

	*xres = *yres = 0;
	if (!t)
		return;
	if (TIFFGetField(t, TIFFTAG_XRESOLUTION, &x) && TIFFGetField(t, TIFFTAG_YRESOLUTION, &y) &&
	    x > 0 && y > 0) {
		TIFFGetFieldDefaulted(t, TIFFTAG_RESOLUTIONUNIT, &unit);
		if (unit == RESUNIT_CENTIMETER) {
			x *= 2.54f;
			y *= 2.54f;
		}
		if (unit != RESUNIT_NONE) {
			*xres = x;
			*yres = y;
		}
	}
	TIFFClose(t);
}

ts_status ts_rows_region_open(const char *path, uint64_t max_source_pixels,
                              struct ts_rows **out, struct ts_error *err)
{
	struct ts_source_limits lim = { 0 };
	struct rows_region *s;
	ts_status st;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	lim.max_source_pixels = max_source_pixels;
	st = ts_source_open(path, &lim, &s->src, err);
	if (st != TS_OK) {
		free(s);
		return st;
	}
	s->r.width = s->src->info.width;
	s->r.height = s->src->info.height;
	s->r.channels = s->src->info.channels;
	s->r.icc = s->src->info.icc;
	s->r.icc_len = s->src->info.icc_len;
	s->r.orientation = 1;
	s->r.band_rows = s->src->info.levels[0].tile_h;
	if (s->r.band_rows > 4096)
		s->r.band_rows = 0;
	s->chunk = s->src->info.levels[0].tile_w;
	if (s->chunk == 0 || s->chunk > s->r.width)
		s->chunk = s->r.width;
	else if (s->chunk < 1024)   /* fewer, wider reads of small tiles */
		s->chunk *= (1024 + s->chunk - 1) / s->chunk;
	s->r.next = region_next;
	s->r.close = region_close;
	if (strcmp(s->src->info.format, "tiff") == 0)
		tiff_resolution(path, &s->r.xres, &s->r.yres);
	*out = &s->r;
	return TS_OK;
}
