/*
 * tiff_fixture.h - test TIFFs made at run time with libtiff, filled with a
 * pattern whose every sample is computable, so a reader's output can be
 * checked pixel by pixel against fx_expect().
 *
 * One description (struct fx) covers the layouts we serve: tiles or strips,
 * a floor-halved pyramid written as pages or as SubIFDs, classic or
 * BigTIFF, either byte order, 8/16-bit gray/RGB with or without alpha,
 * MINISWHITE, palette and 1-bit bilevel.  Padding in edge tiles is filled
 * with 0xEE so a reader that copies it shows up as a wrong pixel.
 * Header-only (static functions) so any test file can include it.
 */
#ifndef TESSERA_TIFF_FIXTURE_H
#define TESSERA_TIFF_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tiffio.h>

struct fx {
	uint32_t width, height;
	uint32_t tile_w, tile_h;     /* 0,0: strips */
	uint32_t rows_per_strip;     /* strips only */
	int nlevels;                 /* floor-halved levels written (>= 1) */
	bool subifd;                 /* levels 1.. as SubIFDs of IFD0 */
	bool bigtiff, bigendian;
	uint16_t compression;        /* COMPRESSION_* (0 = none) */
	uint16_t photometric;        /* PHOTOMETRIC_*; YCBCR means JPEG YCbCr */
	uint16_t spp, bps;           /* bps 1 only for bilevel */
	uint16_t extra;              /* ExtraSamples type of the last sample, 0 none */
	bool smooth;                 /* slowly varying pattern for lossy codecs */
	bool webp_lossless;
	bool mask;                   /* mark the pages FILETYPE_MASK */
};

/* One level of w x h, tile x tile, JPEG-compressed with a smooth pattern:
 * photometric RGB or YCBCR (spp 3) or MINISBLACK (spp 1). */
static inline struct fx fx_jpeg(uint32_t w, uint32_t h, uint32_t tile, uint16_t photometric,
                                uint16_t spp)
{
	struct fx f;

	memset(&f, 0, sizeof f);
	f.width = w;
	f.height = h;
	f.tile_w = f.tile_h = tile;
	f.nlevels = 1;
	f.compression = COMPRESSION_JPEG;
	f.photometric = photometric;
	f.spp = spp;
	f.bps = 8;
	f.smooth = true;
	return f;
}

static uint32_t fx_level_w(const struct fx *f, int level)
{
	uint32_t v = f->width >> level;
	return v ? v : 1;
}

static uint32_t fx_level_h(const struct fx *f, int level)
{
	uint32_t v = f->height >> level;
	return v ? v : 1;
}

/* The stored sample (8- or 16-bit, or a palette index, or a bit). */
static uint32_t fx_stored(const struct fx *f, int level, uint32_t x, uint32_t y, int c)
{
	if (f->bps == 1)
		return ((x / 3 + y / 5 + (uint32_t)level) & 1);
	if (f->smooth) {
		/* A triangle wave: slope 1 across, 2 down, range 48..208. */
		uint32_t t = (x + 2 * y + (uint32_t)c * 37 + (uint32_t)level * 23) % 320;
		return 48 + (t < 160 ? t : 320 - t);
	}
	if (f->extra && c == f->spp - 1)
		/* Alpha never 0: codecs may change colour under transparency. */
		return f->bps == 16 ? 0x8000u | ((x * 2579u + y * 1237u) & 0x7fff)
		                    : 0x80u | ((x * 7u + y * 13u + (uint32_t)level) & 0x7f);
	if (f->bps == 16)
		return (x * 2579u + y * 1237u + (uint32_t)c * 9001u + (uint32_t)level * 331u) & 0xffff;
	return (x * 7u + y * 13u + (uint32_t)c * 61u + (uint32_t)level * 97u) & 0xff;
}

static uint16_t fx_palette(int c, uint32_t i)
{
	return (uint16_t)(((i * 3u + (uint32_t)c * 85u) & 0xff) * 257u);
}

/* What an 8-bit reader must return for output channel c. */
static inline int fx_expect(const struct fx *f, int level, uint32_t x, uint32_t y, int c)
{
	uint32_t v;

	if (f->photometric == PHOTOMETRIC_PALETTE)
		return fx_palette(c, fx_stored(f, level, x, y, 0)) >> 8;
	v = fx_stored(f, level, x, y, c);
	if (f->bps == 1)
		v = v ? 255 : 0;
	if (f->bps == 16)
		v = (v * 255u + 32767u) / 65535u;
	if (f->photometric == PHOTOMETRIC_MINISWHITE && !(f->extra && c == f->spp - 1))
		v = 255 - v;
	return (int)v;
}

static size_t fx_pack_row(const struct fx *f, int level, uint32_t x0, uint32_t y,
                          uint32_t n, uint32_t valid_w, uint32_t valid_h, uint8_t *dst)
{
	uint32_t i;
	int c;

	if (f->bps == 1) {
		size_t bytes = (n + 7) / 8;
		memset(dst, 0, bytes);
		for (i = 0; i < n; i++)
			if (x0 + i < valid_w && y < valid_h && fx_stored(f, level, x0 + i, y, 0))
				dst[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		return bytes;
	}
	for (i = 0; i < n; i++) {
		for (c = 0; c < f->spp; c++) {
			bool inside = x0 + i < valid_w && y < valid_h;
			uint32_t v;
			if (inside)
				v = fx_stored(f, level, x0 + i, y, c);
			else if (f->smooth)
				/* Lossy codecs smear padding into the image: repeat
				 * the edge as real writers do. */
				v = fx_stored(f, level, x0 + i < valid_w ? x0 + i : valid_w - 1,
				              y < valid_h ? y : valid_h - 1, c);
			else
				v = 0xEEEE;
			if (f->bps == 16) {
				uint16_t s = (uint16_t)v;
				memcpy(dst, &s, 2);
				dst += 2;
			} else {
				*dst++ = (uint8_t)v;
			}
		}
	}
	return (size_t)n * f->spp * (f->bps / 8);
}

static bool fx_write_level(TIFF *t, const struct fx *f, int level)
{
	uint32_t w = fx_level_w(f, level), h = fx_level_h(f, level);
	uint16_t photometric = f->photometric;
	uint16_t compression = f->compression ? f->compression : COMPRESSION_NONE;
	uint8_t *buf = NULL;
	bool ok = false;

	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, f->bps);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, f->spp);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_COMPRESSION, compression);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photometric);
	if (f->mask)
		TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_MASK);
	else if (level > 0)
		TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
	if (f->extra) {
		uint16_t types[1] = { f->extra };
		TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, types);
	}
	if (compression == COMPRESSION_JPEG) {
		TIFFSetField(t, TIFFTAG_JPEGQUALITY, 90);
		if (photometric == PHOTOMETRIC_YCBCR)
			TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
	}
	if (compression == COMPRESSION_WEBP) {
		TIFFSetField(t, TIFFTAG_WEBP_LOSSLESS, f->webp_lossless ? 1 : 0);
		TIFFSetField(t, TIFFTAG_WEBP_LEVEL, 95);
	}
	if (photometric == PHOTOMETRIC_PALETTE) {
		uint16_t map[3][256];
		int c;
		uint32_t i;
		for (c = 0; c < 3; c++)
			for (i = 0; i < 256; i++)
				map[c][i] = fx_palette(c, i);
		TIFFSetField(t, TIFFTAG_COLORMAP, map[0], map[1], map[2]);
	}
	if (level == 0 && f->subifd && f->nlevels > 1) {
		uint64_t zeros[32] = { 0 };
		TIFFSetField(t, TIFFTAG_SUBIFD, (uint16_t)(f->nlevels - 1), zeros);
	}

	if (f->tile_w) {
		uint32_t ox, oy, r;
		tmsize_t size;

		TIFFSetField(t, TIFFTAG_TILEWIDTH, f->tile_w);
		TIFFSetField(t, TIFFTAG_TILELENGTH, f->tile_h);
		size = TIFFTileSize(t);
		buf = malloc((size_t)size);
		if (!buf)
			goto out;
		for (oy = 0; oy < h; oy += f->tile_h) {
			for (ox = 0; ox < w; ox += f->tile_w) {
				uint8_t *p = buf;
				for (r = 0; r < f->tile_h; r++)
					p += fx_pack_row(f, level, ox, oy + r, f->tile_w, w, h, p);
				if (TIFFWriteEncodedTile(t, TIFFComputeTile(t, ox, oy, 0, 0), buf,
				                         size) < 0)
					goto out;
			}
		}
	} else {
		uint32_t rps = f->rows_per_strip ? f->rows_per_strip : h, oy, r;
		tmsize_t size;

		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps);
		size = TIFFStripSize(t);
		buf = malloc((size_t)size);
		if (!buf)
			goto out;
		for (oy = 0; oy < h; oy += rps) {
			uint8_t *p = buf;
			uint32_t rows = oy + rps <= h ? rps : h - oy;
			for (r = 0; r < rows; r++)
				p += fx_pack_row(f, level, 0, oy + r, w, w, h, p);
			if (TIFFWriteEncodedStrip(t, TIFFComputeStrip(t, oy, 0), buf,
			                          (tmsize_t)(p - buf)) < 0)
				goto out;
		}
	}
	ok = TIFFWriteDirectory(t) != 0;
out:
	free(buf);
	return ok;
}

/* Write f to a new temporary file; its path goes into path (64 bytes). */
static bool fx_write(const struct fx *f, char *path)
{
	char mode[8] = "w";
	TIFF *t;
	int fd, l;
	bool ok = true;

	strcpy(path, "/tmp/tessera-test-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	close(fd);
	if (f->bigtiff)
		strcat(mode, "8");
	strcat(mode, f->bigendian ? "b" : "l");
	t = TIFFOpen(path, mode);
	if (!t)
		return false;
	for (l = 0; l < f->nlevels && ok; l++)
		ok = fx_write_level(t, f, l);
	TIFFClose(t);
	return ok;
}

#endif
