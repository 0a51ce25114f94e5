/*
 * scale.c - resampling a fractional rectangle of an image to a new size.
 *
 * Sits between decoding and rotation: the planner says which sub-pixel
 * rectangle of the decoded pixels maps onto the output, and this file
 * produces those output pixels.  The one idea: the filter is separable, so
 * each axis gets its own table of contributions (for every output sample,
 * the input indices and float weights that make it), computed once; then
 * one pass runs along rows and another along columns, in whichever order
 * touches fewer pixels, with an 8-bit intermediate and rounding.
 *
 * Per axis, a reduction (or 1:1 at a fractional offset) uses an area filter:
 * each output sample is the exact average of the input interval it covers,
 * edge pixels weighted by the fraction covered.  An enlargement uses the
 * Catmull-Rom cubic (interpolating: it passes through the input samples, so
 * a constant stays constant and edges stay sharp), with input indices
 * clamped to the pixels the rectangle touches.  An integer-aligned axis at
 * 1:1 is skipped; both aligned is a plain row copy.
 *
 * Images with alpha are averaged with colour weighted by alpha (the same
 * as premultiplying, filtering and unpremultiplying, but with an
 * unpremultiplied 8-bit intermediate), so fully transparent pixels do not
 * bleed their colour into their neighbours.  When every alpha in the
 * rectangle is 255 (most RGBA files) the plain, faster averaging is used:
 * it gives the same result.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/checked.h"
#include "tessera/pipe.h"

/* Coordinates within this distance of an integer are treated as that
 * integer: the planner's fractions come from divisions that may land a
 * hair off. */
#define SNAP_EPS 1e-7

struct axis {
	uint32_t n;        /* output samples */
	int maxtaps;       /* stride of idx/w per output sample */
	int *ntaps;        /* taps used by each output sample */
	int *idx;          /* n * maxtaps input indices, relative to lo */
	float *w;          /* n * maxtaps weights, summing to 1 */
	uint32_t lo, hi;   /* first and last input index used */
	bool identity;     /* integer offset lo, same size: a copy */
	double taps_avg;   /* work per output sample, to order the passes */
};

static void axis_free(struct axis *ax)
{
	free(ax->ntaps);
	free(ax->idx);
	free(ax->w);
	memset(ax, 0, sizeof *ax);
}

static double snap(double v)
{
	double r = nearbyint(v);
	return fabs(v - r) < SNAP_EPS ? r : v;
}

/* Catmull-Rom weights for the four samples around a point at fraction t
 * past the second one (Keys' cubic with a = -0.5). */
static void catmull_rom(double t, double w[4])
{
	double t2 = t * t, t3 = t2 * t;

	w[0] = 0.5 * (-t3 + 2 * t2 - t);
	w[1] = 0.5 * (3 * t3 - 5 * t2 + 2);
	w[2] = 0.5 * (-3 * t3 + 4 * t2 + t);
	w[3] = 0.5 * (t3 - t2);
}

/* Build the contributions of one axis: input length in_n, the interval
 * [c, c+len) of it, onto n output samples. */
static ts_status axis_make(struct axis *ax, uint32_t in_n, double c, double len,
                           uint32_t n, struct ts_error *err)
{
	double s, end;
	size_t total, wbytes, ibytes;
	long lo, hi;
	uint64_t used = 0;

	memset(ax, 0, sizeof *ax);
	c = snap(c);
	end = snap(c + len);
	if (c < 0)
		c = 0;
	if (end > in_n)
		end = in_n;
	if (!(end > c))
		return ts_error_set(err, TS_EINTERNAL, "empty scaling rectangle");
	len = end - c;
	s = len / n;
	lo = (long)floor(c);
	hi = (long)ceil(end) - 1;
	if (hi >= (long)in_n)
		hi = (long)in_n - 1;
	ax->n = n;
	ax->lo = (uint32_t)lo;
	ax->hi = (uint32_t)hi;
	if (c == floor(c) && len == (double)n) {
		ax->identity = true;
		return TS_OK;
	}

	/* An area filter spans ceil(s)+1 pixels at most; +1 for rounding. */
	ax->maxtaps = s >= 1.0 ? (int)ceil(s) + 2 : 4;
	if (!ts_mul_size(n, (size_t)ax->maxtaps, &total) ||
	    !ts_mul_size(total, sizeof(float), &wbytes) ||
	    !ts_mul_size(total, sizeof(int), &ibytes))
		return ts_error_set(err, TS_EINTERNAL, "scaling table size overflows");
	ax->ntaps = calloc(n, sizeof(int));
	ax->idx = malloc(ibytes);
	ax->w = malloc(wbytes);
	if (!ax->ntaps || !ax->idx || !ax->w) {
		axis_free(ax);
		return ts_error_set(err, TS_EINTERNAL, "out of memory for scaling tables");
	}

	for (uint32_t o = 0; o < n; o++) {
		int *ix = ax->idx + (size_t)o * ax->maxtaps;
		float *wt = ax->w + (size_t)o * ax->maxtaps;
		double sum = 0, wd[4];
		int k = 0;

		if (s >= 1.0) {
			/* Area: the interval [a, b) of the input; b from o+1, not
			 * a+s, so the last edge lands exactly on `end`. */
			double a = c + o * s;
			double b = o + 1 == n ? end : c + (o + 1) * s;
			long i0 = (long)floor(a), i1 = (long)ceil(b) - 1;

			for (long i = i0; i <= i1 && k < ax->maxtaps; i++) {
				double wv = fmin(b, (double)i + 1) - fmax(a, (double)i);
				long ci = i < lo ? lo : i > hi ? hi : i;

				if (wv <= 0)
					continue;
				ix[k] = (int)(ci - lo);
				wt[k] = (float)wv;
				sum += wv;
				k++;
			}
		} else {
			/* Cubic: the output sample's centre, in input pixel-centre
			 * coordinates. */
			double x = c + (o + 0.5) * s - 0.5;
			double f = floor(x);
			long i0 = (long)f;

			catmull_rom(x - f, wd);
			for (int t = 0; t < 4; t++) {
				long i = i0 - 1 + t;
				long ci = i < lo ? lo : i > hi ? hi : i;

				ix[k] = (int)(ci - lo);
				wt[k] = (float)wd[t];
				sum += wd[t];
				k++;
			}
		}
		if (k == 0) {
			/* Cannot happen for a non-empty interval; be safe. */
			ix[0] = 0;
			wt[0] = 1;
			k = 1;
			sum = 1;
		}
		for (int t = 0; t < k; t++)
			wt[t] = (float)(wt[t] / sum);
		ax->ntaps[o] = k;
		used += (uint64_t)k;
	}
	ax->taps_avg = (double)used / n;
	return TS_OK;
}

/* Round and clamp to 0..255, written as selects so the loops vectorise. */
static inline uint8_t to_u8(float v)
{
	v += 0.5f;
	v = v > 0.0f ? v : 0.0f;
	v = v < 255.0f ? v : 255.0f;
	return (uint8_t)(int)v;
}

/* Below this summed alpha weight (alpha units 0..255) a pixel is
 * transparent and its colour is meaningless: write 0. */
#define ALPHA_EPS 1e-3f

/* Horizontal pass over nrows rows: src points at input column lo. */
static inline __attribute__((always_inline)) void
pass_h_impl(const uint8_t *src, size_t src_stride, uint32_t nrows,
            const struct axis *ax, uint8_t *dst, size_t dst_stride,
            const int ch, const bool alpha)
{
	for (uint32_t r = 0; r < nrows; r++) {
		const uint8_t *s = src + r * src_stride;
		uint8_t *d = dst + r * dst_stride;

		for (uint32_t o = 0; o < ax->n; o++) {
			const int *ix = ax->idx + (size_t)o * ax->maxtaps;
			const float *wt = ax->w + (size_t)o * ax->maxtaps;
			int nt = ax->ntaps[o];
			float acc[4] = { 0, 0, 0, 0 };

			if (!alpha) {
				for (int k = 0; k < nt; k++) {
					const uint8_t *p = s + (size_t)ix[k] * ch;
					for (int c = 0; c < ch; c++)
						acc[c] += wt[k] * p[c];
				}
				for (int c = 0; c < ch; c++)
					d[(size_t)o * ch + c] = to_u8(acc[c]);
			} else {
				for (int k = 0; k < nt; k++) {
					const uint8_t *p = s + (size_t)ix[k] * ch;
					float wa = wt[k] * p[ch - 1];
					for (int c = 0; c < ch - 1; c++)
						acc[c] += wa * p[c];
					acc[ch - 1] += wa;
				}
				uint8_t *q = d + (size_t)o * ch;
				if (acc[ch - 1] < ALPHA_EPS) {
					memset(q, 0, (size_t)ch);
				} else {
					for (int c = 0; c < ch - 1; c++)
						q[c] = to_u8(acc[c] / acc[ch - 1]);
					q[ch - 1] = to_u8(acc[ch - 1]);
				}
			}
		}
	}
}

/* ch 2 and 4 are weighted by alpha unless `opaque` says every alpha is
 * 255, when plain averaging gives the same result faster. */
static void pass_h(const uint8_t *src, size_t src_stride, uint32_t nrows,
                   const struct axis *ax, uint8_t *dst, size_t dst_stride, int ch,
                   bool opaque)
{
	switch (ch * 2 + opaque) {
	case 2: case 3: pass_h_impl(src, src_stride, nrows, ax, dst, dst_stride, 1, false); break;
	case 4: pass_h_impl(src, src_stride, nrows, ax, dst, dst_stride, 2, true); break;
	case 5: pass_h_impl(src, src_stride, nrows, ax, dst, dst_stride, 2, false); break;
	case 6: case 7: pass_h_impl(src, src_stride, nrows, ax, dst, dst_stride, 3, false); break;
	case 8: pass_h_impl(src, src_stride, nrows, ax, dst, dst_stride, 4, true); break;
	default: pass_h_impl(src, src_stride, nrows, ax, dst, dst_stride, 4, false); break;
	}
}

/* Vertical pass producing ax->n rows of ncols pixels: src points at input
 * row lo.  acc has room for ncols * ch floats. */
static inline __attribute__((always_inline)) void
pass_v_impl(const uint8_t *src, size_t src_stride, size_t ncols,
            const struct axis *ax, uint8_t *restrict dst, size_t dst_stride,
            float *restrict acc,
            const int ch, const bool alpha)
{
	size_t m = (size_t)ncols * ch;

	for (uint32_t o = 0; o < ax->n; o++) {
		const int *ix = ax->idx + (size_t)o * ax->maxtaps;
		const float *wt = ax->w + (size_t)o * ax->maxtaps;
		int nt = ax->ntaps[o];
		uint8_t *d = dst + o * dst_stride;

		memset(acc, 0, m * sizeof *acc);
		for (int k = 0; k < nt; k++) {
			const uint8_t *restrict p = src + (size_t)ix[k] * src_stride;
			float wk = wt[k];

			if (!alpha) {
				size_t j = 0;
				/* Fixed-length blocks: GCC's -O2 cost model only
				 * vectorises loops with a known trip count. */
				for (; j + 16 <= m; j += 16)
					for (int u = 0; u < 16; u++)
						acc[j + u] += wk * p[j + u];
				for (; j < m; j++)
					acc[j] += wk * p[j];
			} else {
				for (size_t j = 0; j < m; j += ch) {
					float wa = wk * p[j + ch - 1];
					for (int c = 0; c < ch - 1; c++)
						acc[j + c] += wa * p[j + c];
					acc[j + ch - 1] += wa;
				}
			}
		}
		if (!alpha) {
			size_t j = 0;
			for (; j + 16 <= m; j += 16)
				for (int u = 0; u < 16; u++)
					d[j + u] = to_u8(acc[j + u]);
			for (; j < m; j++)
				d[j] = to_u8(acc[j]);
		} else {
			for (size_t j = 0; j < m; j += ch) {
				float a = acc[j + ch - 1];
				if (a < ALPHA_EPS) {
					memset(d + j, 0, (size_t)ch);
					continue;
				}
				for (int c = 0; c < ch - 1; c++)
					d[j + c] = to_u8(acc[j + c] / a);
				d[j + ch - 1] = to_u8(a);
			}
		}
	}
}

static void pass_v(const uint8_t *src, size_t src_stride, uint32_t ncols,
                   const struct axis *ax, uint8_t *dst, size_t dst_stride,
                   float *acc, int ch, bool opaque)
{
	/* Without alpha weighting every channel is alike: run as gray over
	 * ncols * ch samples, one long vectorisable row. */
	if (!(ch == 2 || ch == 4) || opaque)
		pass_v_impl(src, src_stride, (size_t)ncols * ch, ax, dst, dst_stride, acc,
		            1, false);
	else if (ch == 2)
		pass_v_impl(src, src_stride, ncols, ax, dst, dst_stride, acc, 2, true);
	else
		pass_v_impl(src, src_stride, ncols, ax, dst, dst_stride, acc, 4, true);
}

/* True when every alpha sample in the w x h block at p is 255. */
static bool all_opaque(const uint8_t *p, size_t stride, uint32_t w, uint32_t h, int ch)
{
	if (!(ch == 2 || ch == 4))
		return true;
	for (uint32_t y = 0; y < h; y++) {
		const uint8_t *r = p + y * stride + ch - 1;
		unsigned and = 255;
		for (uint32_t x = 0; x < w; x++)
			and &= r[(size_t)x * ch];
		if (and != 255)
			return false;
	}
	return true;
}

static float *acc_alloc(uint32_t ncols, int ch, struct ts_error *err)
{
	size_t n;
	float *acc;

	if (!ts_mul3_size(ncols, (size_t)ch, sizeof(float), &n)) {
		ts_error_set(err, TS_EINTERNAL, "scaling buffer size overflows");
		return NULL;
	}
	acc = malloc(n);
	if (!acc)
		ts_error_set(err, TS_EINTERNAL, "out of memory for a scaling buffer");
	return acc;
}

ts_status ts_pipe_scale(const struct ts_image *in, double cx, double cy, double cw,
                        double ch, uint32_t out_w, uint32_t out_h,
                        struct ts_image *out, struct ts_error *err)
{
	struct axis ax = { 0 }, ay = { 0 };
	struct ts_image tmp = { 0 }, res = { 0 };
	float *acc = NULL;
	ts_status st;
	int nc;
	bool opaque;
	const uint8_t *base;

	if (!in || !in->pixels || in->width == 0 || in->height == 0 ||
	    in->channels < 1 || in->channels > 4 || out_w == 0 || out_h == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid scaling request");
	/* The rectangle must lie inside the input (a hair of tolerance for
	 * the planner's arithmetic). */
	if (!isfinite(cx) || !isfinite(cy) || !isfinite(cw) || !isfinite(ch) ||
	    cw <= 0 || ch <= 0 || cx < -SNAP_EPS || cy < -SNAP_EPS ||
	    cx + cw > in->width + 1e-6 || cy + ch > in->height + 1e-6) {
		ts_error_set(err, TS_EINTERNAL, "scaling rectangle outside the image");
		ts_error_detail(err, "crop %.6f,%.6f,%.6f,%.6f of %ux%u", cx, cy, cw, ch,
		                in->width, in->height);
		return TS_EINTERNAL;
	}
	nc = in->channels;

	/* The output first: its size check also bounds the tables below. */
	st = ts_image_alloc(&res, out_w, out_h, nc, err);
	if (st)
		goto fail;
	st = axis_make(&ax, in->width, cx, cw, out_w, err);
	if (st)
		goto fail;
	st = axis_make(&ay, in->height, cy, ch, out_h, err);
	if (st)
		goto fail;
	base = in->pixels + (size_t)ay.lo * in->stride + (size_t)ax.lo * nc;
	opaque = all_opaque(base, in->stride, ax.hi - ax.lo + 1, ay.hi - ay.lo + 1, nc);

	if (ax.identity && ay.identity) {
		for (uint32_t y = 0; y < out_h; y++)
			memcpy(res.pixels + y * res.stride, base + y * in->stride,
			       (size_t)out_w * nc);
	} else if (ay.identity) {
		pass_h(base, in->stride, out_h, &ax, res.pixels, res.stride, nc, opaque);
	} else if (ax.identity) {
		if (!(acc = acc_alloc(out_w, nc, err))) {
			st = TS_EINTERNAL;
			goto fail;
		}
		pass_v(base, in->stride, out_w, &ay, res.pixels, res.stride, acc, nc, opaque);
	} else {
		/* Order the passes by the work each would do.  A vertical tap
		 * runs along contiguous rows and vectorises; a horizontal tap
		 * gathers per pixel and measures about three times dearer. */
		uint32_t in_rows = ay.hi - ay.lo + 1, in_cols = ax.hi - ax.lo + 1;
		double out_px = (double)out_w * out_h;
		double h_first = 3.0 * out_w * in_rows * ax.taps_avg + out_px * ay.taps_avg;
		double v_first = (double)in_cols * out_h * ay.taps_avg + 3.0 * out_px * ax.taps_avg;

		if (h_first <= v_first) {
			st = ts_image_alloc(&tmp, out_w, in_rows, nc, err);
			if (st)
				goto fail;
			if (!(acc = acc_alloc(out_w, nc, err))) {
				st = TS_EINTERNAL;
				goto fail;
			}
			pass_h(base, in->stride, in_rows, &ax, tmp.pixels, tmp.stride, nc, opaque);
			pass_v(tmp.pixels, tmp.stride, out_w, &ay, res.pixels, res.stride,
			       acc, nc, opaque);
		} else {
			st = ts_image_alloc(&tmp, in_cols, out_h, nc, err);
			if (st)
				goto fail;
			if (!(acc = acc_alloc(in_cols, nc, err))) {
				st = TS_EINTERNAL;
				goto fail;
			}
			pass_v(base, in->stride, in_cols, &ay, tmp.pixels, tmp.stride, acc, nc, opaque);
			pass_h(tmp.pixels, tmp.stride, out_h, &ax, res.pixels, res.stride, nc, opaque);
		}
	}

	free(acc);
	ts_image_free(&tmp);
	axis_free(&ax);
	axis_free(&ay);
	/* out is overwritten like ts_image_alloc does; when the caller passes
	 * in itself as out, the input is released now that it has been read. */
	if (out == in)
		ts_image_free(out);
	*out = res;
	return TS_OK;

fail:
	free(acc);
	ts_image_free(&tmp);
	ts_image_free(&res);
	axis_free(&ax);
	axis_free(&ay);
	return st;
}
