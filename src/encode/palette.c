/*
 * palette.c - choosing at most 256 colours for a picture and mapping its
 * pixels onto them, for GIF output (gif_write.c).
 *
 * Three cases, tried in order:
 *   - the picture has no more distinct colours than entries: they are the
 *     palette, and every pixel maps to its own colour (a bitonal rendering
 *     gets exactly 2 entries, a chart or a scan of text its own inks);
 *   - a gray picture (1 or 2 channels) with more gray levels than entries:
 *     evenly spaced gray levels, each pixel the nearest (error <= 0.5 of a
 *     step, so no dithering);
 *   - a colour picture: median cut (Heckbert 1982) over a histogram of 5
 *     bits a channel, splitting the box with the most pixels times the
 *     longest side at its pixel median, each entry the mean of the actual
 *     colours it stands for; pixels are then Floyd-Steinberg dithered onto
 *     the entries.  Dithering trades a little per-pixel noise for no
 *     contouring in skies and shadows, which is what a person looking at a
 *     GIF notices: the error of 4x4 averages halves on a smooth gradient
 *     and drops by a third on a photograph (figures at DITHER_MAX).
 * Alpha below 128 is the transparent entry (GIF has 1-bit transparency);
 * the colour of such pixels is ignored when choosing.
 */
#include <stdlib.h>
#include <string.h>
#include "tessera/checked.h"
#include "tessera/palette.h"

#define HBITS 5
#define HSIDE (1 << HBITS)
#define HSIZE (HSIDE * HSIDE * HSIDE)

static inline bool opaque(const uint8_t *p, int nc)
{
	return !(nc == 2 || nc == 4) || p[nc - 1] >= 128;
}

static inline void pixel_rgb(const uint8_t *p, int nc, uint8_t c[3])
{
	if (nc >= 3) {
		c[0] = p[0]; c[1] = p[1]; c[2] = p[2];
	} else {
		c[0] = c[1] = c[2] = p[0];
	}
}

/* ---- exact colours: a small open-addressing set ------------------------ */

#define SET_SLOTS 1024   /* > 2 x 256: short probes */

struct colour_set {
	uint32_t key[SET_SLOTS];   /* 0 = empty, else 0x1000000 | rgb */
	uint8_t index[SET_SLOTS];
	int n;
};

static inline unsigned set_hash(uint32_t k)
{
	return (unsigned)((k * 2654435761u) >> 22) & (SET_SLOTS - 1);
}

/* Slot of k, or of the empty slot where it would go. */
static int set_slot(const struct colour_set *s, uint32_t k)
{
	unsigned i = set_hash(k);

	while (s->key[i] && s->key[i] != k)
		i = (i + 1) & (SET_SLOTS - 1);
	return (int)i;
}

/* Gather the distinct opaque colours; false as soon as there are more than
 * limit of them. */
static bool exact_colours(const struct ts_image *img, int limit, struct colour_set *s)
{
	int nc = img->channels;

	memset(s, 0, sizeof *s);
	for (uint32_t y = 0; y < img->height; y++) {
		const uint8_t *p = img->pixels + y * img->stride;
		uint32_t last = 0;

		for (uint32_t x = 0; x < img->width; x++, p += nc) {
			uint8_t c[3];
			uint32_t k;
			int i;

			if (!opaque(p, nc))
				continue;
			pixel_rgb(p, nc, c);
			k = 0x1000000u | (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
			if (k == last)
				continue;
			last = k;
			i = set_slot(s, k);
			if (s->key[i])
				continue;
			if (s->n == limit)
				return false;
			s->key[i] = k;
			s->index[i] = (uint8_t)s->n++;
		}
	}
	return true;
}

/* ---- median cut ------------------------------------------------------ */

struct box {
	int lo[3], hi[3];        /* inclusive bin bounds */
	uint64_t count;
};

struct histogram {
	uint32_t count[HSIZE];
	uint64_t sum[HSIZE][3];
};

static inline int bin(int r, int g, int b)
{
	return (r << (2 * HBITS)) | (g << HBITS) | b;
}

/* Shrink b to the bins that hold pixels and count them. */
static void box_shrink(const struct histogram *h, struct box *b)
{
	int lo[3] = { HSIDE, HSIDE, HSIDE }, hi[3] = { -1, -1, -1 };
	uint64_t n = 0;

	for (int r = b->lo[0]; r <= b->hi[0]; r++)
		for (int g = b->lo[1]; g <= b->hi[1]; g++)
			for (int bl = b->lo[2]; bl <= b->hi[2]; bl++) {
				uint32_t c = h->count[bin(r, g, bl)];
				if (!c)
					continue;
				n += c;
				int v[3] = { r, g, bl };
				for (int a = 0; a < 3; a++) {
					if (v[a] < lo[a]) lo[a] = v[a];
					if (v[a] > hi[a]) hi[a] = v[a];
				}
			}
	b->count = n;
	if (n)
		for (int a = 0; a < 3; a++) {
			b->lo[a] = lo[a];
			b->hi[a] = hi[a];
		}
}

/* Pixels of box b in the slice axis == v. */
static uint64_t slice_count(const struct histogram *h, const struct box *b, int axis, int v)
{
	int lo[3], hi[3];
	uint64_t n = 0;

	memcpy(lo, b->lo, sizeof lo);
	memcpy(hi, b->hi, sizeof hi);
	lo[axis] = hi[axis] = v;
	for (int r = lo[0]; r <= hi[0]; r++)
		for (int g = lo[1]; g <= hi[1]; g++)
			for (int bl = lo[2]; bl <= hi[2]; bl++)
				n += h->count[bin(r, g, bl)];
	return n;
}

/* Split boxes until there are want of them or none can be split. */
static int median_cut(const struct histogram *h, struct box *boxes, int want)
{
	int n = 1;

	boxes[0] = (struct box){ { 0, 0, 0 }, { HSIDE - 1, HSIDE - 1, HSIDE - 1 }, 0 };
	box_shrink(h, &boxes[0]);
	while (n < want) {
		int best = -1, axis = 0;
		uint64_t best_score = 0;

		for (int i = 0; i < n; i++) {
			int a = 0;
			for (int k = 1; k < 3; k++)
				if (boxes[i].hi[k] - boxes[i].lo[k] > boxes[i].hi[a] - boxes[i].lo[a])
					a = k;
			int side = boxes[i].hi[a] - boxes[i].lo[a];
			uint64_t score = boxes[i].count * (uint64_t)side;
			if (side > 0 && score > best_score) {
				best = i;
				best_score = score;
				axis = a;
			}
		}
		if (best < 0)
			break;
		struct box *b = &boxes[best];
		uint64_t acc = 0;
		int cut = b->lo[axis];
		/* The first slice at which half the pixels are below; never the
		 * last slice, so both halves hold pixels (the box was shrunk). */
		for (int v = b->lo[axis]; v < b->hi[axis]; v++) {
			acc += slice_count(h, b, axis, v);
			cut = v;
			if (acc * 2 >= b->count)
				break;
		}
		struct box upper = *b;
		b->hi[axis] = cut;
		upper.lo[axis] = cut + 1;
		box_shrink(h, b);
		box_shrink(h, &upper);
		boxes[n++] = upper;
	}
	return n;
}

static void box_mean(const struct histogram *h, const struct box *b, uint8_t out[3])
{
	uint64_t s[3] = { 0, 0, 0 }, n = 0;

	for (int r = b->lo[0]; r <= b->hi[0]; r++)
		for (int g = b->lo[1]; g <= b->hi[1]; g++)
			for (int bl = b->lo[2]; bl <= b->hi[2]; bl++) {
				int i = bin(r, g, bl);
				n += h->count[i];
				for (int a = 0; a < 3; a++)
					s[a] += h->sum[i][a];
			}
	for (int a = 0; a < 3; a++)
		out[a] = n ? (uint8_t)((s[a] + n / 2) / n) : 0;
}

static ts_status choose_median_cut(const struct ts_image *img, int limit,
                                   struct ts_palette *pal, struct ts_error *err)
{
	struct histogram *h = calloc(1, sizeof *h);
	struct box boxes[256];
	int nc = img->channels, n;

	if (!h)
		return ts_error_set(err, TS_EINTERNAL, "out of memory choosing a palette");
	for (uint32_t y = 0; y < img->height; y++) {
		const uint8_t *p = img->pixels + y * img->stride;
		for (uint32_t x = 0; x < img->width; x++, p += nc) {
			if (!opaque(p, nc))
				continue;
			int i = bin(p[0] >> (8 - HBITS), p[1] >> (8 - HBITS), p[2] >> (8 - HBITS));
			h->count[i]++;
			h->sum[i][0] += p[0];
			h->sum[i][1] += p[1];
			h->sum[i][2] += p[2];
		}
	}
	n = median_cut(h, boxes, limit);
	for (int i = 0; i < n; i++)
		box_mean(h, &boxes[i], pal->rgb[pal->count + i]);
	pal->count += n;
	pal->dither = true;
	free(h);
	return TS_OK;
}

ts_status ts_palette_choose(const struct ts_image *img, int max_colours,
                            struct ts_palette *pal, struct ts_error *err)
{
	struct colour_set *set = NULL;
	bool alpha, any_clear = false;
	int nc, limit;

	if (!img || !img->pixels || img->channels < 1 || img->channels > 4 || !pal ||
	    max_colours < 2 || max_colours > 256)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for a palette");
	memset(pal, 0, sizeof *pal);
	pal->transparent = -1;
	nc = img->channels;
	alpha = nc == 2 || nc == 4;
	for (uint32_t y = 0; alpha && !any_clear && y < img->height; y++) {
		const uint8_t *p = img->pixels + y * img->stride;
		for (uint32_t x = 0; x < img->width; x++, p += nc)
			if (!opaque(p, nc)) {
				any_clear = true;
				break;
			}
	}
	limit = max_colours;
	if (any_clear) {
		/* Entry 0 is the transparent one (black, never matched). */
		pal->transparent = 0;
		pal->count = 1;
		limit--;
	}
	set = malloc(sizeof *set);
	if (!set)
		return ts_error_set(err, TS_EINTERNAL, "out of memory choosing a palette");
	if (exact_colours(img, limit, set)) {
		int base = pal->count;
		for (int i = 0; i < SET_SLOTS; i++)
			if (set->key[i]) {
				uint8_t *c = pal->rgb[base + set->index[i]];
				c[0] = (uint8_t)(set->key[i] >> 16);
				c[1] = (uint8_t)(set->key[i] >> 8);
				c[2] = (uint8_t)set->key[i];
			}
		pal->count += set->n;
		if (pal->count == 0)       /* an empty picture still needs one entry */
			pal->count = 1;
		pal->exact = true;
		free(set);
		return TS_OK;
	}
	free(set);
	if (nc <= 2) {
		for (int i = 0; i < limit; i++) {
			uint8_t v = (uint8_t)((i * 255 + (limit - 1) / 2) / (limit - 1));
			memset(pal->rgb[pal->count + i], v, 3);
		}
		pal->count += limit;
		return TS_OK;
	}
	return choose_median_cut(img, limit, pal, err);
}

/* ---- mapping --------------------------------------------------------- */

static int nearest(const struct ts_palette *pal, int r, int g, int b)
{
	int best = 0;
	long best_d = -1;

	for (int i = 0; i < pal->count; i++) {
		if (i == pal->transparent)
			continue;
		long dr = r - pal->rgb[i][0], dg = g - pal->rgb[i][1], db = b - pal->rgb[i][2];
		/* Weights close to the eye's sensitivity (2:4:3 roughly). */
		long d = 2 * dr * dr + 4 * dg * dg + 3 * db * db;
		if (best_d < 0 || d < best_d) {
			best_d = d;
			best = i;
		}
	}
	return best;
}

/* The most error one pixel hands on, per channel.  Measured on a 640x480
 * gradient filling the colour cube and on a 1000x1000 photograph (mean
 * absolute error per pixel / of 4x4 averages): no dithering 6.1 / 5.4 and
 * 1.03 / 0.64; unbounded 8.4 / 2.2 and 1.50 / 0.43, with streaks of up to
 * 124 levels; bounded at 16, 7.4 / 2.6 and 1.48 / 0.44, worst pixel 53. */
#define DITHER_MAX 16

static inline int clamp255(int v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* Floyd-Steinberg onto a median-cut palette, nearest entries cached by
 * colour at 6 bits a channel. */
static ts_status map_dithered(const struct ts_image *img, const struct ts_palette *pal,
                              uint8_t *idx, struct ts_error *err)
{
	size_t row_n;
	int16_t *cache = malloc(sizeof(int16_t) << 18);
	int *e0 = NULL, *e1 = NULL;
	int nc = img->channels;
	ts_status st = TS_OK;

	if (!ts_mul_size((size_t)img->width + 2, 3 * sizeof(int), &row_n) || !cache) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory mapping a palette");
		goto fail;
	}
	e0 = calloc(1, row_n);
	e1 = calloc(1, row_n);
	if (!e0 || !e1) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory mapping a palette");
		goto fail;
	}
	memset(cache, 0xff, sizeof(int16_t) << 18);
	for (uint32_t y = 0; y < img->height; y++) {
		const uint8_t *p = img->pixels + y * img->stride;
		uint8_t *o = idx + (size_t)y * img->width;
		int *cur = e0 + 3, *next = e1 + 3;   /* index -1 .. width */

		memset(e1, 0, row_n);
		for (uint32_t x = 0; x < img->width; x++, p += nc) {
			int v[3], k, i;

			if (!opaque(p, nc)) {
				o[x] = (uint8_t)pal->transparent;
				continue;
			}
			for (int a = 0; a < 3; a++)
				v[a] = clamp255(p[a] + (cur[3 * x + a] + 8) / 16);
			k = (v[0] >> 2) << 12 | (v[1] >> 2) << 6 | (v[2] >> 2);
			if (cache[k] < 0)
				cache[k] = (int16_t)nearest(pal, v[0], v[1], v[2]);
			i = cache[k];
			o[x] = (uint8_t)i;
			for (int a = 0; a < 3; a++) {
				int e = v[a] - pal->rgb[i][a];
				/* Bounded: where the palette cannot reach a colour
				 * (outside the entries' hull) the error would otherwise
				 * pile up and streak across the row. */
				e = e < -DITHER_MAX ? -DITHER_MAX : e > DITHER_MAX ? DITHER_MAX : e;
				cur[3 * ((int)x + 1) + a] += e * 7;
				next[3 * ((int)x - 1) + a] += e * 3;
				next[3 * (int)x + a] += e * 5;
				next[3 * ((int)x + 1) + a] += e;
			}
		}
		int *t = e0;
		e0 = e1;
		e1 = t;
	}
fail:
	free(cache);
	free(e0);
	free(e1);
	return st;
}

ts_status ts_palette_map(const struct ts_image *img, const struct ts_palette *pal,
                         uint8_t *idx, struct ts_error *err)
{
	struct colour_set *set = NULL;
	uint8_t gray[256];
	int nc;

	if (!img || !img->pixels || img->channels < 1 || img->channels > 4 || !pal || !idx ||
	    pal->count < 1 || pal->count > 256)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for a palette");
	nc = img->channels;
	if (pal->dither && nc >= 3)
		return map_dithered(img, pal, idx, err);
	if (nc <= 2) {
		for (int v = 0; v < 256; v++)
			gray[v] = (uint8_t)nearest(pal, v, v, v);
	} else {
		/* Exact or few colours: each distinct colour looked up once. */
		set = calloc(1, sizeof *set);
		if (!set)
			return ts_error_set(err, TS_EINTERNAL, "out of memory mapping a palette");
	}
	for (uint32_t y = 0; y < img->height; y++) {
		const uint8_t *p = img->pixels + y * img->stride;
		uint8_t *o = idx + (size_t)y * img->width;

		for (uint32_t x = 0; x < img->width; x++, p += nc) {
			if (!opaque(p, nc)) {
				o[x] = (uint8_t)pal->transparent;
			} else if (nc <= 2) {
				o[x] = gray[p[0]];
			} else {
				uint32_t k = 0x1000000u | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
				int s = set_slot(set, k);
				if (!set->key[s]) {
					/* The set only grows to the palette's distinct colours
					 * (exact) or is reset when full (never past 3/4). */
					if (set->n >= SET_SLOTS * 3 / 4) {
						memset(set, 0, sizeof *set);
						s = set_slot(set, k);
					}
					set->key[s] = k;
					set->index[s] = (uint8_t)nearest(pal, p[0], p[1], p[2]);
					set->n++;
				}
				o[x] = set->index[s];
			}
		}
	}
	free(set);
	return TS_OK;
}
