/*
 * pyramid_fixture.h - a synthetic pyramid for the sink tests: a patterned
 * level 0, every level below it made by the builder's rule (convert.h:
 * ceil-halving, 2x2 box average, odd edges averaged with themselves), and
 * a driver that hands the levels to a sink in interleaved bands of uneven
 * heights, the way the pyramid builder does.  Also a small JPEG/PNG reader
 * for checking the files a sink wrote.
 */
#ifndef PYRAMID_FIXTURE_H
#define PYRAMID_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <png.h>
#include <turbojpeg.h>
#include "tessera/convert.h"

/* Options as the CLI's defaults give them (ts_convert_opts_default lives
 * with the builder). */
static inline void fixture_opts(struct ts_convert_opts *o, enum ts_convert_kind kind)
{
	memset(o, 0, sizeof *o);
	o->kind = kind;
	o->compression = TS_COMP_JPEG;
	o->quality = 90;
	o->tile = 256;
	o->overlap = 1;
	o->threads = 2;
}

struct fixture {
	struct ts_pyramid_geometry g;
	struct ts_image level[32];
};

static inline uint8_t fixture_sample(uint32_t x, uint32_t y, int c)
{
	/* blocks of 32 px (JPEG keeps flat blocks within a few levels), and a
	 * per-channel tilt so rows and columns differ */
	unsigned bx = x / 32, by = y / 32;
	return (uint8_t)(((bx * 7 + by * 13 + (unsigned)c * 5) % 9) * 28 + (c == 3 ? 3 : 0));
}

/* Build the fixture: w x h, channels, down to the first level whose sides
 * are both <= stop_side. */
static inline void fixture_make(struct fixture *f, uint32_t w, uint32_t h, int ch, uint32_t stop_side)
{
	struct ts_error e;

	memset(f, 0, sizeof *f);
	/* convert.h's rule, written out here so the test does not lean on the
	 * builder it stands in for */
	f->g.width[0] = w;
	f->g.height[0] = h;
	f->g.nlevels = 1;
	while (f->g.width[f->g.nlevels - 1] > stop_side || f->g.height[f->g.nlevels - 1] > stop_side) {
		int n = f->g.nlevels++;
		f->g.width[n] = (f->g.width[n - 1] + 1) / 2;
		f->g.height[n] = (f->g.height[n - 1] + 1) / 2;
	}
	f->g.channels = ch;
	for (int k = 0; k < f->g.nlevels; k++)
		ts_image_alloc(&f->level[k], f->g.width[k], f->g.height[k], ch, &e);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (int c = 0; c < ch; c++)
				f->level[0].pixels[(size_t)y * f->level[0].stride + (size_t)x * ch + c] =
					c == 3 ? (uint8_t)(255 - fixture_sample(x, y, 0) / 2) : fixture_sample(x, y, c);
	for (int k = 1; k < f->g.nlevels; k++) {
		struct ts_image *a = &f->level[k - 1], *b = &f->level[k];
		for (uint32_t y = 0; y < b->height; y++)
			for (uint32_t x = 0; x < b->width; x++)
				for (int c = 0; c < ch; c++) {
					uint32_t x0 = 2 * x, y0 = 2 * y;
					uint32_t x1 = x0 + 1 < a->width ? x0 + 1 : x0;
					uint32_t y1 = y0 + 1 < a->height ? y0 + 1 : y0;
					unsigned s = a->pixels[y0 * a->stride + x0 * ch + c] +
					             a->pixels[y0 * a->stride + x1 * ch + c] +
					             a->pixels[y1 * a->stride + x0 * ch + c] +
					             a->pixels[y1 * a->stride + x1 * ch + c];
					b->pixels[y * b->stride + x * ch + c] = (uint8_t)((s + 2) / 4);
				}
	}
}

static inline void fixture_free(struct fixture *f)
{
	for (int k = 0; k < 32; k++)
		ts_image_free(&f->level[k]);
}

/* Drive sink: begin, every level in interleaved bands (heights cycling
 * through 1, band_h, 3, ...), finish.  Returns the first failing status
 * (after calling abort). */
static inline ts_status fixture_drive(struct fixture *f, struct ts_level_sink *s, uint32_t band_h,
                               struct ts_error *e)
{
	uint32_t next[32] = {0};
	uint32_t heights[3] = {1, band_h, 3};
	int turn = 0, busy = 1;
	ts_status st = s->begin(s, &f->g, NULL, e);

	while (!st && busy) {
		busy = 0;
		for (int k = 0; k < f->g.nlevels && !st; k++) {
			struct ts_image band = f->level[k];
			uint32_t n = heights[(turn++) % 3];
			if (next[k] >= f->level[k].height)
				continue;
			busy = 1;
			if (n > f->level[k].height - next[k])
				n = f->level[k].height - next[k];
			band.pixels = f->level[k].pixels + (size_t)next[k] * band.stride;
			band.height = n;
			st = s->rows(s, k, next[k], &band, e);
			next[k] += n;
		}
	}
	if (!st)
		st = s->finish(s, e);
	if (st)
		s->abort(s);
	return st;
}

/* Decode a JPEG or PNG file into img (channels as stored: JPEG 1 or 3, PNG
 * as is).  0 on success. */
static inline int fixture_read(const char *path, struct ts_image *img)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *data;
	long n;
	struct ts_error e;

	memset(img, 0, sizeof *img);
	if (!fp)
		return -1;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	data = malloc((size_t)n);
	if (!data || fread(data, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		free(data);
		return -1;
	}
	fclose(fp);
	if (n > 8 && data[0] == 0x89 && data[1] == 'P') {
		png_image pi;
		memset(&pi, 0, sizeof pi);
		pi.version = PNG_IMAGE_VERSION;
		if (!png_image_begin_read_from_memory(&pi, data, (size_t)n)) {
			free(data);
			return -1;
		}
		img->channels = (int)PNG_IMAGE_SAMPLE_CHANNELS(pi.format);
		pi.format = img->channels == 1 ? PNG_FORMAT_GRAY : img->channels == 2 ? PNG_FORMAT_GA :
		            img->channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
		ts_image_alloc(img, pi.width, pi.height, img->channels, &e);
		png_image_finish_read(&pi, NULL, img->pixels, (png_int_32)img->stride, NULL);
	} else {
		tjhandle tj = tjInitDecompress();
		int w, h, sub, cs;
		if (tjDecompressHeader3(tj, data, (unsigned long)n, &w, &h, &sub, &cs) != 0) {
			tjDestroy(tj);
			free(data);
			return -1;
		}
		int ch = cs == TJCS_GRAY ? 1 : 3;
		ts_image_alloc(img, (uint32_t)w, (uint32_t)h, ch, &e);
		tjDecompress2(tj, data, (unsigned long)n, img->pixels, w, (int)img->stride, h,
		              ch == 1 ? TJPF_GRAY : TJPF_RGB, 0);
		tjDestroy(tj);
	}
	free(data);
	return 0;
}

/* Mean absolute difference between decoded tile t and the level rectangle
 * at (x0, y0) of level img, over the colour channels t has (alpha
 * composited over white as the JPEG encoder does when t has fewer). */
static inline double fixture_diff(const struct ts_image *t, const struct ts_image *lv, uint32_t x0,
                           uint32_t y0)
{
	double sum = 0;
	size_t n = 0;

	for (uint32_t y = 0; y < t->height; y++)
		for (uint32_t x = 0; x < t->width; x++) {
			const uint8_t *p = lv->pixels + (size_t)(y0 + y) * lv->stride +
			                   (size_t)(x0 + x) * lv->channels;
			const uint8_t *q = t->pixels + (size_t)y * t->stride + (size_t)x * t->channels;
			int colour = lv->channels >= 3 ? 3 : 1;
			int alpha = lv->channels == 2 || lv->channels == 4;
			for (int c = 0; c < t->channels && c < 4; c++) {
				int want;
				if (c < colour || t->channels == lv->channels) {
					int sc = c < colour ? c : (lv->channels == 1 ? 0 : c);
					want = p[sc < lv->channels ? sc : 0];
					if (alpha && t->channels < lv->channels && c < colour) {
						int a = p[lv->channels - 1];
						want = (want * a + 255 * (255 - a) + 127) / 255;
					}
				} else {
					continue;
				}
				sum += abs((int)q[c] - want);
				n++;
			}
		}
	return n ? sum / (double)n : 0;
}

static inline int fixture_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

#endif
