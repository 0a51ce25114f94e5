/*
 * pyramid.c - the pyramid builder: full-resolution rows in, every level's
 * rows out, top down, in bounded memory (convert.h).
 *
 * The one idea: a level is made from the one above as its rows arrive.  A
 * band of level-k rows is handed to the sink, then halved in pairs into
 * level k+1, which is handed on and halved again, recursively.  A band of
 * odd height leaves its last row waiting ("carry") for the first row of the
 * next band; the last row of an odd-height level is averaged with itself.
 * So each level holds at most one band of its own rows plus one carried
 * row, whatever the image height, and the sink sees every level's rows in
 * order, bands of different levels interleaved.
 *
 * Downsampling is the exact 2x2 box average rounded half up, the cheapest
 * filter that is exact on flat areas and matches what the server's
 * scaler does for a factor of two.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The halving loops are a tenth of a conversion: let GCC vectorize them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include "tessera/checked.h"
#include "tessera/convert.h"

int ts_pyramid_levels(uint32_t width, uint32_t height, uint32_t stop_side,
                      struct ts_pyramid_geometry *g)
{
	int n = 0;

	if (stop_side == 0)
		stop_side = 1;
	memset(g, 0, sizeof *g);
	if (width == 0 || height == 0)
		return 0;
	for (;;) {
		g->width[n] = width;
		g->height[n] = height;
		n++;
		if ((width <= stop_side && height <= stop_side) || n == 32)
			break;
		width = width / 2 + (width & 1);
		height = height / 2 + (height & 1);
	}
	g->nlevels = n;
	return n;
}

void ts_pyramid_halve_row(const uint8_t *a, const uint8_t *b, uint32_t w, int channels,
                          uint8_t *out)
{
	/* Two passes over chunks of 2 * PAIRS pixels: the vertical sums a + b
	 * (one straight loop the compiler vectorizes), then the horizontal
	 * pairs of those.  Sums fit in 16 bits (4 * 255 + 2). */
	enum { PAIRS = 256 };
	uint16_t v[2 * PAIRS * 4];
	uint32_t x0, i, n, pairs;
	int c;

	for (x0 = 0; x0 < w; x0 += 2 * PAIRS) {
		const uint8_t *pa = a + (size_t)x0 * channels, *pb = b + (size_t)x0 * channels;
		uint8_t *po = out + (size_t)(x0 / 2) * channels;
		uint32_t samples;

		n = w - x0 < 2 * PAIRS ? w - x0 : 2 * PAIRS;
		samples = n * (uint32_t)channels;
		for (i = 0; i < samples; i++)
			v[i] = (uint16_t)(pa[i] + pb[i]);
		pairs = n / 2;
		switch (channels) {
		case 3:
			for (i = 0; i < pairs; i++) {
				const uint16_t *q = v + 6 * i;

				po[3 * i] = (uint8_t)((q[0] + q[3] + 2) >> 2);
				po[3 * i + 1] = (uint8_t)((q[1] + q[4] + 2) >> 2);
				po[3 * i + 2] = (uint8_t)((q[2] + q[5] + 2) >> 2);
			}
			break;
		case 1:
			for (i = 0; i < pairs; i++)
				po[i] = (uint8_t)((v[2 * i] + v[2 * i + 1] + 2) >> 2);
			break;
		default:
			for (i = 0; i < pairs; i++)
				for (c = 0; c < channels; c++)
					po[i * channels + c] = (uint8_t)((v[2 * i * channels + c] +
					                                 v[(2 * i + 1) * channels + c] + 2) >> 2);
			break;
		}
		if (n & 1)   /* the last column, averaged with itself */
			for (c = 0; c < channels; c++)
				po[pairs * channels + c] =
					(uint8_t)((2 * v[2 * pairs * channels + c] + 2) >> 2);
	}
}

/* The most a source band may take when following the source's units. */
#define MAX_BAND_BYTES ((uint64_t)128 << 20)

/* One level's state while the image streams through. */
struct level {
	uint32_t width, height;
	uint32_t y;             /* rows of this level handed to the sink so far */
	uint8_t *carry;         /* one row of this level waiting for its pair */
	bool has_carry;
	struct ts_image out;    /* the next level's rows made from one band */
};

struct build {
	const struct ts_pyramid_geometry *g;
	struct ts_level_sink *sink;
	struct level lv[32];
	int channels;
};

/* Hand `n` rows of level k (starting at its row lv[k].y) to the sink, then
 * halve them into level k+1 and recurse. */
static ts_status push(struct build *b, int k, const uint8_t *rows, size_t stride, uint32_t n,
                      struct ts_error *err)
{
	struct level *L = &b->lv[k];
	struct ts_image band;
	const uint8_t *first = NULL, *row;
	uint32_t i = 0, made = 0;
	size_t rowbytes = (size_t)L->width * (size_t)b->channels;
	ts_status st;
	bool last;

	if (n == 0)
		return TS_OK;
	band.width = L->width;
	band.height = n;
	band.channels = b->channels;
	band.stride = stride;
	band.pixels = (uint8_t *)rows;
	st = b->sink->rows(b->sink, k, L->y, &band, err);
	if (st != TS_OK)
		return st;
	L->y += n;
	if (k + 1 >= b->g->nlevels)
		return TS_OK;
	last = L->y == L->height;
	/* A carried row pairs with this band's first. */
	if (L->has_carry) {
		ts_pyramid_halve_row(L->carry, rows, L->width, b->channels, L->out.pixels);
		made++;
		i = 1;
		L->has_carry = false;
	}
	for (; i + 1 < n; i += 2, made++) {
		row = rows + (size_t)i * stride;
		ts_pyramid_halve_row(row, row + stride, L->width, b->channels,
		                     L->out.pixels + (size_t)made * L->out.stride);
	}
	if (i < n) {   /* one row left over */
		first = rows + (size_t)i * stride;
		if (last) {
			ts_pyramid_halve_row(first, first, L->width, b->channels,
			                     L->out.pixels + (size_t)made * L->out.stride);
			made++;
		} else {
			memcpy(L->carry, first, rowbytes);
			L->has_carry = true;
		}
	}
	return push(b, k + 1, L->out.pixels, L->out.stride, made, err);
}

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(const struct ts_convert_opts *o, const char *input, uint64_t done,
                   uint64_t total, double t0, const char *step)
{
	struct ts_convert_progress p;

	if (!o || !o->progress)
		return;
	p.input = input;
	p.rows_done = done;
	p.rows_total = total;
	p.seconds = now_seconds() - t0;
	p.step = step;
	o->progress(o->progress_arg, &p);
}

ts_status ts_pyramid_build(struct ts_rows *src, const struct ts_pyramid_geometry *g,
                           uint32_t band_rows, struct ts_level_sink *sink,
                           const struct ts_convert_opts *o, const char *input,
                           struct ts_error *err)
{
	struct build b;
	struct ts_image band = { 0 };
	uint32_t y = 0, got, hint = src->band_rows;
	double t0 = now_seconds(), last_report = 0;
	bool begun = false;
	ts_status st;
	int k;

	memset(&b, 0, sizeof b);
	b.g = g;
	b.sink = sink;
	b.channels = src->channels;
	if (g->nlevels < 1 || g->nlevels > 32 || g->width[0] != src->width ||
	    g->height[0] != src->height || g->channels != src->channels)
		return ts_error_set(err, TS_EINTERNAL, "pyramid geometry does not match its source");
	if (band_rows == 0)
		band_rows = o && o->tile ? o->tile : 256;
	/* Bands of the source's own tile or strip height decode each unit
	 * once - unless that height makes a band too big to hold (a JPEG 2000
	 * of 4096-pixel tiles, 30000 wide): then memory wins over speed. */
	if (hint > 1 && band_rows % hint &&
	    (uint64_t)(band_rows + hint) * src->width * (uint64_t)src->channels <= MAX_BAND_BYTES)
		band_rows += hint - band_rows % hint;
	if (band_rows & 1)
		band_rows++;
	if (band_rows > src->height)
		band_rows = src->height + (src->height & 1);
	for (k = 0; k < g->nlevels; k++) {
		struct level *L = &b.lv[k];
		uint32_t rows_next = (band_rows >> (k + 1)) + 2;

		L->width = g->width[k];
		L->height = g->height[k];
		if (k + 1 < g->nlevels) {
			size_t rowbytes;

			if (!ts_mul_size(L->width, (size_t)b.channels, &rowbytes) ||
			    !(L->carry = malloc(rowbytes))) {
				st = ts_error_set(err, TS_EINTERNAL, "out of memory");
				goto fail;
			}
			st = ts_image_alloc(&L->out, g->width[k + 1], rows_next, b.channels, err);
			if (st != TS_OK)
				goto fail;
		}
	}
	st = ts_image_alloc(&band, src->width, band_rows, src->channels, err);
	if (st != TS_OK)
		goto fail;
	st = sink->begin(sink, g, src, err);
	if (st != TS_OK)
		goto fail;
	begun = true;
	report(o, input, 0, src->height, t0, "read");
	while (y < src->height) {
		struct ts_image want = band;
		double t;

		if (o && o->cancel && *o->cancel) {
			st = ts_error_set(err, TS_EUNAVAILABLE, "conversion cancelled");
			goto fail;
		}
		want.height = src->height - y < band_rows ? src->height - y : band_rows;
		got = 0;
		st = src->next(src, &want, &got, err);
		if (st != TS_OK)
			goto fail;
		if (got == 0 || got > want.height) {
			st = ts_error_set(err, TS_EINTERNAL, "image data ends early");
			goto fail;
		}
		st = push(&b, 0, band.pixels, band.stride, got, err);
		if (st != TS_OK)
			goto fail;
		y += got;
		t = now_seconds();
		if (t - last_report >= 0.25) {
			report(o, input, y, src->height, t0, "read");
			last_report = t;
		}
	}
	for (k = 0; k < g->nlevels; k++)
		if (b.lv[k].y != b.lv[k].height) {
			st = ts_error_set(err, TS_EINTERNAL, "pyramid level left incomplete");
			goto fail;
		}
	report(o, input, y, src->height, t0, "write");
	st = sink->finish(sink, err);
	begun = false;
	if (st != TS_OK)
		goto fail;
	report(o, input, y, src->height, t0, "done");
	ts_image_free(&band);
	for (k = 0; k < g->nlevels; k++) {
		free(b.lv[k].carry);
		ts_image_free(&b.lv[k].out);
	}
	return TS_OK;
fail:
	if (begun || st != TS_OK)
		sink->abort(sink);
	ts_image_free(&band);
	for (k = 0; k < g->nlevels; k++) {
		free(b.lv[k].carry);
		ts_image_free(&b.lv[k].out);
	}
	return st;
}
