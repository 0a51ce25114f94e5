/*
 * scale.c - resampling a fractional rectangle of an image to a new size.
 *
 * Sits between decoding and rotation: the planner says which sub-pixel
 * rectangle of the decoded pixels maps onto the output, and this file
 * produces those output pixels.  The one idea: the filter is separable, so
 * each axis gets its own table of contributions, computed once; then one
 * pass runs along rows and another along columns, in whichever order
 * touches fewer pixels, with rounding at the end.
 *
 * Per axis, a reduction (or 1:1 at a fractional offset) uses an area filter:
 * each output sample is the exact average of the input interval it covers,
 * edge pixels weighted by the fraction covered.  An enlargement uses the
 * Catmull-Rom cubic (interpolating: it passes through the input samples, so
 * a constant stays constant and edges stay sharp), with input indices
 * clamped to the pixels the rectangle touches.  An integer-aligned axis at
 * 1:1 is skipped; both aligned is a plain row copy.
 *
 * What makes it fast is integer arithmetic in loops of known shape.  Every
 * output sample of an axis reads the same number of consecutive inputs
 * (`taps`, the widest any sample needs; the others are padded with zero
 * weights) from its own start index, with 16-bit fixed-point weights whose
 * sum is exactly one, so a constant image stays exactly constant.  The
 * horizontal pass is compiled per channel count and usual tap count, two
 * rows at a time; the vertical pass multiplies and adds whole contiguous
 * rows in blocks of fixed length, which GCC vectorises at plain -O2 with
 * SSE2 (and, for the area filter, in 16-bit lanes: see vpass_u16).  Between
 * the passes the samples are kept to 1/64 of a level (see MID_BITS), in
 * bands of rows that stay in the cache.
 *
 * Images with alpha are averaged with colour weighted by alpha (the same
 * as premultiplying, filtering and unpremultiplying, but with an
 * unpremultiplied 8-bit intermediate), so fully transparent pixels do not
 * bleed their colour into their neighbours.  That path is rare and stays in
 * floating point, as it was.  When every alpha in the rectangle is 255 (most
 * RGBA files) the plain integer averaging is used: it gives the same result.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/deadline.h"
#include "tessera/checked.h"
#include "tessera/pipe.h"
#include "scale_simd.h"

/* Coordinates within this distance of an integer are treated as that
 * integer: the planner's fractions come from divisions that may land a
 * hair off. */
#define SNAP_EPS 1e-7

/* Fixed-point weights: Q14 keeps the largest (1.0) and the most negative
 * Catmull-Rom weight in an int16, and 255 * the sum of the positive
 * weights * 2^14 far inside an int32. */
#define WBITS 14
#define WONE (1 << WBITS)

/* vpass_u16 needs 128 + taps/2 < 256 (see there); wider filters (a
 * reduction over 127x) take vpass_q. */
#define VPASS_U16_MAXTAPS 128

/* Bytes of intermediate rows between the two passes, worked in bands that
 * stay in a 1 MiB L2 cache. */
#define MID_BUDGET (256 * 1024)

struct axis {
	uint32_t n;        /* output samples */
	int taps;          /* consecutive input samples each output reads */
	uint32_t *start;   /* n first input indices, relative to lo */
	int16_t *w;        /* n * taps Q14 weights, each row summing to WONE */
	uint16_t *wu;      /* the same in unsigned Q16, or NULL (see vpass_u16) */
	float *wf;         /* the same weights in float, for the alpha path */
	int16_t *w4;       /* taps <= 4: w padded to 4 taps with zeros (SIMD), or NULL */
	uint32_t lo, hi;   /* first and last input index used */
	bool identity;     /* integer offset lo, same size: a copy */
	bool neg;          /* some weight is negative: results need clamping */
	double cost;       /* taps per output sample, to order the passes */
};

/* The output rows o0..o1-1 of a vertical pass, reading a buffer whose
 * first row is input row row0 (relative to lo), writing from o0 on. */
struct vrange {
	uint32_t o0, o1, row0;
};

static void axis_free(struct axis *ax)
{
	free(ax->start);
	free(ax->w);
	free(ax->wu);
	free(ax->wf);
	free(ax->w4);
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

/* The weights of output sample o over consecutive input indices from
 * *first (relative to lo), into dw[0..maxk); returns how many, with no
 * zero weight at either end, and their sum in *sum. */
static int contrib(double c, double end, double s, uint32_t n, uint32_t o, long lo,
                   long hi, int maxk, double *dw, long *first, double *sum)
{
	long base;
	int k = 0, a0 = 0;

	if (s >= 1.0) {
		/* Area: the interval [a, b) of the input; b from o+1, not
		 * a+s, so the last edge lands exactly on `end`. */
		double a = c + o * s;
		double b = o + 1 == n ? end : c + (o + 1) * s;
		long i0 = (long)floor(a), i1 = (long)ceil(b) - 1;

		if (i0 < lo)
			i0 = lo;
		if (i1 > hi)
			i1 = hi;
		base = i0;
		for (long i = i0; i <= i1 && k < maxk; i++) {
			double wv = fmin(b, (double)i + 1) - fmax(a, (double)i);
			dw[k++] = wv > 0 ? wv : 0;
		}
	} else {
		/* Cubic: the output sample's centre, in input pixel-centre
		 * coordinates; taps beyond the edge fold onto the edge pixel,
		 * so the indices stay consecutive. */
		double x = c + (o + 0.5) * s - 0.5, f = floor(x), wd[4];
		long i0 = (long)f;

		catmull_rom(x - f, wd);
		base = i0 - 1 < lo ? lo : i0 - 1 > hi ? hi : i0 - 1;
		for (int t = 0; t < 4; t++) {
			long i = i0 - 1 + t;
			long ci = i < lo ? lo : i > hi ? hi : i;
			int at = (int)(ci - base);

			while (k <= at)
				dw[k++] = 0;
			dw[at] += wd[t];
		}
	}
	while (k > 0 && dw[k - 1] == 0)
		k--;
	while (a0 < k && dw[a0] == 0)
		a0++;
	*sum = 0;
	for (int t = a0; t < k; t++) {
		dw[t - a0] = dw[t];
		*sum += dw[t];
	}
	k -= a0;
	*first = base + a0 - lo;
	if (k == 0 || !(*sum > 0)) {
		/* Cannot happen for a non-empty interval; be safe. */
		dw[0] = 1;
		*sum = 1;
		k = 1;
	}
	return k;
}

/* Fixed-point weights for w[0..k) (summing to `sum`) that sum to exactly
 * `one`: each is the difference of the rounded running totals, so the
 * rounding error never accumulates (each weight is within one unit of
 * exact, and the errors telescope) and the last running total is `one`. */
static void quantise(const double *w, int k, double sum, long one, long *q)
{
	double run = 0;
	long prev = 0;

	for (int t = 0; t < k; t++) {
		long cur;

		run += w[t];
		cur = t == k - 1 ? one : lround(run / sum * (double)one);
		q[t] = cur - prev;
		prev = cur;
	}
}

/* Build the contributions of one axis: input length in_n, the interval
 * [c, c+len) of it, onto n output samples. */
static ts_status axis_make(struct axis *ax, uint32_t in_n, double c, double len,
                           uint32_t n, struct ts_error *err)
{
	double s, end, *dw = NULL, *sums = NULL;
	long *first = NULL, *q = NULL;
	int *cnt = NULL;
	size_t total, maxk, bytes;
	long lo, hi, span;
	uint64_t used = 0;
	int taps = 1;
	bool wu_ok;
	ts_status st = TS_EINTERNAL;

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
	span = hi - lo + 1;
	ax->n = n;
	ax->lo = (uint32_t)lo;
	ax->hi = (uint32_t)hi;
	if (c == floor(c) && len == (double)n) {
		ax->identity = true;
		return TS_OK;
	}

	/* An area filter spans ceil(s)+1 pixels at most; +1 for rounding.
	 * No sample reads more than the whole span. */
	maxk = s >= 1.0 ? (size_t)ceil(s) + 2 : 4;
	if (maxk > (size_t)span)
		maxk = (size_t)span;
	if (!ts_mul_size(n, maxk, &total) || !ts_mul_size(total, sizeof(double), &bytes) ||
	    maxk > INT32_MAX / 2) {
		ts_error_set(err, TS_EINTERNAL, "scaling table size overflows");
		goto fail;
	}
	dw = malloc(bytes);
	sums = calloc(n, sizeof *sums);
	first = calloc(n, sizeof *first);
	cnt = calloc(n, sizeof *cnt);
	q = calloc(maxk, sizeof *q);
	if (!dw || !sums || !first || !cnt || !q) {
		ts_error_set(err, TS_EINTERNAL, "out of memory for scaling tables");
		goto fail;
	}
	for (uint32_t o = 0; o < n; o++) {
		cnt[o] = contrib(c, end, s, n, o, lo, hi, (int)maxk, dw + (size_t)o * maxk,
		                 &first[o], &sums[o]);
		if (cnt[o] > taps)
			taps = cnt[o];
		used += (uint64_t)cnt[o];
	}

	/* Pad every sample to `taps` consecutive inputs, shifting the start
	 * back near the far edge so no read leaves the span. */
	ax->taps = taps;
	if (!ts_mul_size(n, (size_t)taps, &total)) {
		ts_error_set(err, TS_EINTERNAL, "scaling table size overflows");
		goto fail;
	}
	ax->start = calloc(n, sizeof *ax->start);
	ax->w = calloc(total, sizeof *ax->w);
	ax->wu = calloc(total, sizeof *ax->wu);
	ax->wf = calloc(total, sizeof *ax->wf);
	if (!ax->start || !ax->w || !ax->wu || !ax->wf) {
		ts_error_set(err, TS_EINTERNAL, "out of memory for scaling tables");
		goto fail;
	}
	/* The unsigned Q16 table serves only filters without negative
	 * weights, none of which is 1.0 (65536), and few enough taps for
	 * vpass_u16's 16-bit sums; otherwise it is dropped. */
	wu_ok = taps <= VPASS_U16_MAXTAPS;
	for (uint32_t o = 0; o < n; o++) {
		long st0 = first[o] < span - taps ? first[o] : span - taps;
		int off = (int)(first[o] - st0);
		const double *d = dw + (size_t)o * maxk;
		size_t at = (size_t)o * taps + (size_t)off;

		ax->start[o] = (uint32_t)st0;
		quantise(d, cnt[o], sums[o], WONE, q);
		for (int t = 0; t < cnt[o]; t++) {
			/* |q| <= 1.07 WONE (the widest folded Catmull-Rom sum):
			 * well inside an int16. */
			ax->w[at + t] = (int16_t)q[t];
			ax->wf[at + t] = (float)(d[t] / sums[o]);
			if (q[t] < 0)
				ax->neg = true;
		}
		if (!wu_ok)
			continue;
		quantise(d, cnt[o], sums[o], 65536, q);
		for (int t = 0; t < cnt[o]; t++) {
			if (q[t] < 0 || q[t] > 65535)
				wu_ok = false;
			ax->wu[at + t] = (uint16_t)q[t];
		}
	}
	if (!wu_ok || ax->neg) {
		free(ax->wu);
		ax->wu = NULL;
	}
	/* The SIMD horizontal pass loads four weights at once. */
	if (taps <= 4 && ts_scale_simd_active()) {
		ax->w4 = calloc(n, 4 * sizeof *ax->w4);
		if (!ax->w4) {
			ts_error_set(err, TS_EINTERNAL, "out of memory for scaling tables");
			goto fail;
		}
		for (uint32_t o = 0; o < n; o++)
			memcpy(ax->w4 + (size_t)o * 4, ax->w + (size_t)o * taps,
			       (size_t)taps * sizeof *ax->w);
	}
	/* Non-zero taps on average; Catmull-Rom counts 4 even where the edge
	 * folds them together. */
	ax->cost = s >= 1.0 ? (double)used / n : 4.0;
	st = TS_OK;
fail:
	free(dw);
	free(sums);
	free(first);
	free(cnt);
	free(q);
	if (st)
		axis_free(ax);
	return st;
}

/* ---- Integer passes (no alpha, or every alpha 255) ---- */

/*
 * Between two passes the samples are kept as int16 in Q6 (value * 64,
 * 0..MID_MAX): rounding to 1/64 of a level instead of a whole level means
 * the result is the 2-D filter rounded once, not a rounded 1-D result
 * filtered again.  Q6 leaves room in an int16 for Catmull-Rom's overshoot
 * before the clamp, and 4x below 2^16 for vpass_u16.  Each pass works in
 * one of three modes:
 */
#define MID_BITS 6
#define MID_MAX (255 << MID_BITS)
enum { U8_U8, U8_MID, MID_U8 };

/* Rounding bias and shift taking a Q14-weighted sum to the output. */
#define Q_SHIFT(mode) ((mode) == U8_U8 ? WBITS : (mode) == U8_MID ? WBITS - MID_BITS \
                       : WBITS + MID_BITS)
#define Q_BIAS(mode) (1 << (Q_SHIFT(mode) - 1))

/* A Q14-weighted sum, bias included, to an output sample.  Without negative
 * weights a row of weights sums to exactly WONE, so the result cannot
 * leave its range and needs no clamp; Catmull-Rom's negative lobes need
 * it.  (>> of a negative int is arithmetic in GCC and Clang, as they
 * document.) */
static inline __attribute__((always_inline)) int32_t
q_out(int32_t v, const int mode, const bool clampit)
{
	const int32_t top = mode == U8_MID ? MID_MAX : 255;

	v >>= Q_SHIFT(mode);
	if (clampit)
		v = v < 0 ? 0 : v > top ? top : v;
	return v;
}

/* Horizontal pass over nrows rows, `ch` channels, `T` taps: src points at
 * input column lo; strides in bytes.  Inlined with constant ch, T and mode,
 * the tap and channel loops unroll fully and the sums live in registers;
 * two rows share each weight and index load. */
static inline __attribute__((always_inline)) void
hpass_q(const void *src, size_t src_stride, uint32_t nrows, const struct axis *ax,
        void *dst, size_t dst_stride, const int ch, const int T, const bool clampit,
        const int mode, const uint32_t o_first)
{
	const uint32_t n = ax->n;
	const int32_t bias = Q_BIAS(mode);
	const size_t isz = mode == MID_U8 ? 2 : 1;
	uint32_t r = 0;

#define LD(p, i) (mode == MID_U8 ? ((const int16_t *)(const void *)(p))[i] : (p)[i])
#define ST(p, i, v) do { \
		if (mode == U8_MID) \
			((int16_t *)(void *)(p))[i] = (int16_t)(v); \
		else \
			(p)[i] = (uint8_t)(v); \
	} while (0)

	for (; r + 2 <= nrows; r += 2) {
		const uint8_t *s0 = (const uint8_t *)src + r * src_stride, *s1 = s0 + src_stride;
		uint8_t *d0 = (uint8_t *)dst + r * dst_stride, *d1 = d0 + dst_stride;
		const int16_t *w = ax->w + (size_t)o_first * T;

		for (uint32_t o = o_first; o < n; o++, w += T) {
			size_t off = (size_t)ax->start[o] * ch * isz;
			const uint8_t *p0 = s0 + off, *p1 = s1 + off;
			int32_t a0[4] = { bias, bias, bias, bias };
			int32_t a1[4] = { bias, bias, bias, bias };

			_Pragma("GCC unroll 8")
			for (int k = 0; k < T; k++) {
				int32_t wk = w[k];
				_Pragma("GCC unroll 4")
				for (int c = 0; c < ch; c++) {
					a0[c] += wk * LD(p0, k * ch + c);
					a1[c] += wk * LD(p1, k * ch + c);
				}
			}
			_Pragma("GCC unroll 4")
			for (int c = 0; c < ch; c++) {
				ST(d0, (size_t)o * ch + c, q_out(a0[c], mode, clampit));
				ST(d1, (size_t)o * ch + c, q_out(a1[c], mode, clampit));
			}
		}
	}
	if (r < nrows) {
		const uint8_t *s0 = (const uint8_t *)src + r * src_stride;
		uint8_t *d0 = (uint8_t *)dst + r * dst_stride;
		const int16_t *w = ax->w + (size_t)o_first * T;

		for (uint32_t o = o_first; o < n; o++, w += T) {
			const uint8_t *p0 = s0 + (size_t)ax->start[o] * ch * isz;
			int32_t a0[4] = { bias, bias, bias, bias };

			_Pragma("GCC unroll 8")
			for (int k = 0; k < T; k++)
				_Pragma("GCC unroll 4")
				for (int c = 0; c < ch; c++)
					a0[c] += w[k] * LD(p0, k * ch + c);
			_Pragma("GCC unroll 4")
			for (int c = 0; c < ch; c++)
				ST(d0, (size_t)o * ch + c, q_out(a0[c], mode, clampit));
		}
	}
#undef LD
#undef ST
}

/* One function per channel count, choosing among copies compiled for the
 * usual cases: a reduction's second pass (MID_U8) up to 7x (8 taps), a
 * first pass at up to 3x, Catmull-Rom (4 taps, clamped) for enlargements;
 * anything else, and a single horizontal pass (rare: IIIF keeps the
 * aspect ratio), takes a loop over the taps. */
#define HPASS_Q(CH) \
static void hpass_q##CH(const void *src, size_t ss, uint32_t nrows, \
                        const struct axis *ax, void *dst, size_t ds, int mode, \
                        uint32_t o0) \
{ \
	const int T = ax->taps; \
	if (mode == U8_U8) { \
		if (ax->neg) \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, T, true, U8_U8, o0); \
		else \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, T, false, U8_U8, o0); \
	} else if (mode == U8_MID) { \
		if (ax->neg && T == 4) \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, 4, true, U8_MID, o0); \
		else if (ax->neg) \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, T, true, U8_MID, o0); \
		else if (T == 2) \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, 2, false, U8_MID, o0); \
		else if (T == 3) \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, 3, false, U8_MID, o0); \
		else if (T == 4) \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, 4, false, U8_MID, o0); \
		else \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, T, false, U8_MID, o0); \
	} else if (ax->neg) { \
		if (T == 4) \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, 4, true, MID_U8, o0); \
		else \
			hpass_q(src, ss, nrows, ax, dst, ds, CH, T, true, MID_U8, o0); \
	} else { \
		switch (T) { \
		case 2: hpass_q(src, ss, nrows, ax, dst, ds, CH, 2, false, MID_U8, o0); break; \
		case 3: hpass_q(src, ss, nrows, ax, dst, ds, CH, 3, false, MID_U8, o0); break; \
		case 4: hpass_q(src, ss, nrows, ax, dst, ds, CH, 4, false, MID_U8, o0); break; \
		case 5: hpass_q(src, ss, nrows, ax, dst, ds, CH, 5, false, MID_U8, o0); break; \
		case 6: hpass_q(src, ss, nrows, ax, dst, ds, CH, 6, false, MID_U8, o0); break; \
		case 7: hpass_q(src, ss, nrows, ax, dst, ds, CH, 7, false, MID_U8, o0); break; \
		case 8: hpass_q(src, ss, nrows, ax, dst, ds, CH, 8, false, MID_U8, o0); break; \
		default: hpass_q(src, ss, nrows, ax, dst, ds, CH, T, false, MID_U8, o0); break; \
		} \
	} \
}
HPASS_Q(1)
HPASS_Q(2)
HPASS_Q(3)
HPASS_Q(4)

/* Three channels: the SIMD kernel (scale_x86.c) where it applies, for the
 * outputs whose loads stay in the row; the C loop for the rest. */
static void hpass_3(const void *src, size_t ss, uint32_t nrows, const struct axis *ax,
                    void *dst, size_t ds, int mode)
{
	uint32_t done = 0;

	if (ax->w4 && ts_scale_simd_active()) {
		struct ts_hpass_spec spec = {
			.in_bytes = mode == MID_U8 ? 2 : 1,
			.out_bytes = mode == U8_MID ? 2 : 1,
			.bias = Q_BIAS(mode),
			.shift = Q_SHIFT(mode),
			.clamp = ax->neg,
			.top = mode == U8_MID ? MID_MAX : 255,
		};
		size_t limit = (size_t)(ax->hi - ax->lo + 1) * 3 * (size_t)spec.in_bytes;

		done = ts_scale_hpass3_simd(src, ss, nrows, limit, ax->n, ax->start, ax->w4,
		                            dst, ds, &spec);
	}
	if (done < ax->n)
		hpass_q3(src, ss, nrows, ax, dst, ds, mode, done);
}

/* Samples per block of the vertical passes: a fixed length, because GCC's
 * -O2 cost model only vectorises loops with a known trip count. */
#define VBLOCK 16

/* The first and last+1 non-zero taps of a row of weights: the padding
 * costs a whole input row per tap in the vertical pass, so skip it. */
#define TRIM_TAPS(w, T, k0, k1) do { \
		k0 = 0; \
		k1 = (T); \
		while (k0 < k1 - 1 && (w)[k0] == 0) \
			k0++; \
		while (k1 - 1 > k0 && (w)[k1 - 1] == 0) \
			k1--; \
	} while (0)

/* Vertical pass producing ax->n rows of m samples (channels do not matter
 * here): src points at input row lo; strides in bytes.  Q14 weights,
 * 32-bit sums (a u8 or an int16 times an int16 is what SSE2 multiplies);
 * the clamp works on int16, where SSE2 has min and max. */
static inline __attribute__((always_inline)) void
vpass_q(const void *src, size_t src_stride, size_t m, const struct axis *ax,
        struct vrange vr, void *restrict dst, size_t dst_stride, const int mode)
{
	const int T = ax->taps;
	const int32_t top = mode == U8_MID ? MID_MAX : 255;

	for (uint32_t o = vr.o0; o < vr.o1; o++) {
		const uint8_t *rows = (const uint8_t *)src +
		                      (size_t)(ax->start[o] - vr.row0) * src_stride;
		const int16_t *w = ax->w + (size_t)o * T;
		uint8_t *restrict d8 = (uint8_t *)dst + (size_t)(o - vr.o0) * dst_stride;
		int16_t *restrict d16 = (int16_t *)(void *)d8;
		int k0, k1;
		size_t j = 0;

		TRIM_TAPS(w, T, k0, k1);
		for (; j + VBLOCK <= m; j += VBLOCK) {
			int32_t a[VBLOCK];

			for (int u = 0; u < VBLOCK; u++)
				a[u] = Q_BIAS(mode);
			for (int k = k0; k < k1; k++) {
				const uint8_t *p = rows + (size_t)k * src_stride;
				int32_t wk = w[k];

				if (mode == MID_U8) {
					const int16_t *restrict p16 = (const int16_t *)(const void *)p + j;
					for (int u = 0; u < VBLOCK; u++)
						a[u] += wk * p16[u];
				} else {
					const uint8_t *restrict p8 = p + j;
					for (int u = 0; u < VBLOCK; u++)
						a[u] += wk * p8[u];
				}
			}
			for (int u = 0; u < VBLOCK; u++) {
				/* |sum| < 2^15 after the shift: fits an int16. */
				int16_t v = (int16_t)(a[u] >> Q_SHIFT(mode));
				v = v > 0 ? v : 0;
				v = v < top ? v : (int16_t)top;
				if (mode == U8_MID)
					d16[j + u] = v;
				else
					d8[j + u] = (uint8_t)v;
			}
		}
		for (; j < m; j++) {
			int32_t a = Q_BIAS(mode);

			for (int k = k0; k < k1; k++) {
				const uint8_t *p = rows + (size_t)k * src_stride;
				a += w[k] * (mode == MID_U8 ? ((const int16_t *)(const void *)p)[j] : p[j]);
			}
			a = q_out(a, mode, true);
			if (mode == U8_MID)
				d16[j] = (int16_t)a;
			else
				d8[j] = (uint8_t)a;
		}
	}
}

/*
 * The vertical pass for filters without negative weights, all in 16 bits,
 * which SSE2 does 8 at a time.  Each term is the high half of x16 * w, w in
 * unsigned Q16 and x16 the input in Q8 (x << 8, or the Q6 intermediate
 * << 2), i.e. x * w in units of 1/256 rounded down, and the sum of a row
 * stays below 256 * 255.5 < 2^16.  Rounding each term down loses less than
 * 1/256 per tap, which a bias of taps/2 /256 centres.  To 8 bits, 128/256
 * more rounds to nearest; a constant x stays exact, as the sum lands in
 * (256x + 128 - taps/2, 256x + 128 + taps/2], inside [256x, 256x + 256)
 * for taps <= VPASS_U16_MAXTAPS.
 */
static inline __attribute__((always_inline)) void
vpass_u16(const void *src, size_t src_stride, size_t m, const struct axis *ax,
          struct vrange vr, void *restrict dst, size_t dst_stride, const int mode)
{
	const int T = ax->taps;

	for (uint32_t o = vr.o0; o < vr.o1; o++) {
		const uint8_t *rows = (const uint8_t *)src +
		                      (size_t)(ax->start[o] - vr.row0) * src_stride;
		const uint16_t *w = ax->wu + (size_t)o * T;
		uint8_t *restrict d8 = (uint8_t *)dst + (size_t)(o - vr.o0) * dst_stride;
		int16_t *restrict d16 = (int16_t *)(void *)d8;
		int k0, k1;
		uint16_t bias;
		size_t j = 0;

		TRIM_TAPS(w, T, k0, k1);
		/* To Q6, the rounding half is 2/256. */
		bias = (uint16_t)((mode == U8_MID ? 2 : 128) + (k1 - k0) / 2);
		for (; j + VBLOCK <= m; j += VBLOCK) {
			uint16_t a[VBLOCK];

			for (int u = 0; u < VBLOCK; u++)
				a[u] = bias;
			for (int k = k0; k < k1; k++) {
				const uint8_t *p = rows + (size_t)k * src_stride;
				uint32_t wk = w[k];

				if (mode == MID_U8) {
					const uint16_t *restrict p16 =
					        (const uint16_t *)(const void *)p + j;
					for (int u = 0; u < VBLOCK; u++)
						a[u] += (uint16_t)(((uint32_t)(uint16_t)(p16[u] << 2) *
						                    wk) >> 16);
				} else {
					const uint8_t *restrict p8 = p + j;
					for (int u = 0; u < VBLOCK; u++)
						a[u] += (uint16_t)((((uint32_t)p8[u] << 8) * wk) >> 16);
				}
			}
			for (int u = 0; u < VBLOCK; u++) {
				if (mode == U8_MID) {
					/* Above MID_MAX by at most taps/8: clamp. */
					int16_t v = (int16_t)(a[u] >> 2);
					d16[j + u] = v < MID_MAX ? v : MID_MAX;
				} else {
					d8[j + u] = (uint8_t)(a[u] >> 8);
				}
			}
		}
		for (; j < m; j++) {
			uint32_t a = bias;

			for (int k = k0; k < k1; k++) {
				const uint8_t *p = rows + (size_t)k * src_stride;
				uint32_t x16 = mode == MID_U8
				        ? (uint32_t)((const uint16_t *)(const void *)p)[j] << 2
				        : (uint32_t)p[j] << 8;
				a += (x16 * w[k]) >> 16;
			}
			if (mode == U8_MID)
				d16[j] = (int16_t)((a >> 2) < MID_MAX ? (a >> 2) : MID_MAX);
			else
				d8[j] = (uint8_t)(a >> 8);
		}
	}
}

/* ---- Alpha-weighted passes (float; some alpha below 255) ---- */

/* Round and clamp to 0..255. */
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

static inline __attribute__((always_inline)) void
hpass_a(const uint8_t *src, size_t src_stride, uint32_t nrows, const struct axis *ax,
        uint8_t *dst, size_t dst_stride, const int ch)
{
	const int T = ax->taps;

	for (uint32_t r = 0; r < nrows; r++) {
		const uint8_t *s = src + r * src_stride;
		uint8_t *d = dst + r * dst_stride;

		for (uint32_t o = 0; o < ax->n; o++) {
			const uint8_t *p = s + (size_t)ax->start[o] * ch;
			const float *wt = ax->wf + (size_t)o * T;
			float acc[4] = { 0, 0, 0, 0 };
			uint8_t *q = d + (size_t)o * ch;

			for (int k = 0; k < T; k++, p += ch) {
				float wa = wt[k] * p[ch - 1];
				for (int c = 0; c < ch - 1; c++)
					acc[c] += wa * p[c];
				acc[ch - 1] += wa;
			}
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

/* acc has room for ncols * ch floats. */
static inline __attribute__((always_inline)) void
vpass_a(const uint8_t *src, size_t src_stride, size_t ncols, const struct axis *ax,
        struct vrange vr, uint8_t *restrict dst, size_t dst_stride, float *restrict acc,
        const int ch)
{
	size_t m = ncols * ch;

	for (uint32_t o = vr.o0; o < vr.o1; o++) {
		const uint8_t *rows = src + (size_t)(ax->start[o] - vr.row0) * src_stride;
		const float *wt = ax->wf + (size_t)o * ax->taps;
		uint8_t *d = dst + (size_t)(o - vr.o0) * dst_stride;

		memset(acc, 0, m * sizeof *acc);
		for (int k = 0; k < ax->taps; k++) {
			const uint8_t *restrict p = rows + (size_t)k * src_stride;
			float wk = wt[k];

			if (wk == 0)
				continue;
			for (size_t j = 0; j < m; j += ch) {
				float wa = wk * p[j + ch - 1];
				for (int c = 0; c < ch - 1; c++)
					acc[j + c] += wa * p[j + c];
				acc[j + ch - 1] += wa;
			}
		}
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

/* ---- Dispatch ---- */

/* ch 2 and 4 are weighted by alpha unless `opaque` says every alpha is
 * 255, when plain averaging gives the same result faster.  The weighted
 * path is always U8_U8. */
static void pass_h(const void *src, size_t src_stride, uint32_t nrows,
                   const struct axis *ax, void *dst, size_t dst_stride, int ch,
                   bool opaque, int mode)
{
	switch (ch * 2 + opaque) {
	case 2: case 3: hpass_q1(src, src_stride, nrows, ax, dst, dst_stride, mode, 0); break;
	case 4: hpass_a(src, src_stride, nrows, ax, dst, dst_stride, 2); break;
	case 5: hpass_q2(src, src_stride, nrows, ax, dst, dst_stride, mode, 0); break;
	case 6: case 7: hpass_3(src, src_stride, nrows, ax, dst, dst_stride, mode); break;
	case 8: hpass_a(src, src_stride, nrows, ax, dst, dst_stride, 4); break;
	default: hpass_q4(src, src_stride, nrows, ax, dst, dst_stride, mode, 0); break;
	}
}

static void vpass_any(const void *src, size_t ss, size_t m, const struct axis *ax,
                      struct vrange vr, void *dst, size_t ds, int mode)
{
	if (ax->wu) {
		if (mode == U8_U8)
			vpass_u16(src, ss, m, ax, vr, dst, ds, U8_U8);
		else if (mode == U8_MID)
			vpass_u16(src, ss, m, ax, vr, dst, ds, U8_MID);
		else
			vpass_u16(src, ss, m, ax, vr, dst, ds, MID_U8);
	} else {
		if (mode == U8_U8)
			vpass_q(src, ss, m, ax, vr, dst, ds, U8_U8);
		else if (mode == U8_MID)
			vpass_q(src, ss, m, ax, vr, dst, ds, U8_MID);
		else
			vpass_q(src, ss, m, ax, vr, dst, ds, MID_U8);
	}
}

/* acc (ncols * ch floats) is used only by the alpha-weighted path. */
static void pass_v(const void *src, size_t src_stride, uint32_t ncols,
                   const struct axis *ax, struct vrange vr, void *dst, size_t dst_stride,
                   float *acc, int ch, bool opaque, int mode)
{
	/* Without alpha weighting every channel is alike: one long row of
	 * ncols * ch samples. */
	if (!(ch == 2 || ch == 4) || opaque)
		vpass_any(src, src_stride, (size_t)ncols * ch, ax, vr, dst, dst_stride, mode);
	else if (ch == 2)
		vpass_a(src, src_stride, ncols, ax, vr, dst, dst_stride, acc, 2);
	else
		vpass_a(src, src_stride, ncols, ax, vr, dst, dst_stride, acc, 4);
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

/* The alpha path's accumulator row; NULL without error when not needed. */
static ts_status acc_alloc(float **acc, bool need, uint32_t ncols, int ch,
                           struct ts_error *err)
{
	size_t n;

	*acc = NULL;
	if (!need)
		return TS_OK;
	if (!ts_mul3_size(ncols, (size_t)ch, sizeof(float), &n))
		return ts_error_set(err, TS_EINTERNAL, "scaling buffer size overflows");
	*acc = malloc(n);
	if (!*acc)
		return ts_error_set(err, TS_EINTERNAL, "out of memory for a scaling buffer");
	return TS_OK;
}

/* The intermediate image between two passes: cols x rows x ch samples of
 * int16 (`wide`) or uint8; stride in bytes. */
static ts_status mid_alloc(void **mid, size_t *stride, uint32_t cols, uint32_t rows, int ch,
                           bool wide, struct ts_error *err)
{
	size_t n;

	if (!ts_mul3_size(cols, (size_t)ch, wide ? 2 : 1, stride) ||
	    !ts_mul_size(*stride, rows, &n))
		return ts_error_set(err, TS_EINTERNAL, "scaling buffer size overflows");
	*mid = malloc(n);
	if (!*mid)
		return ts_error_set(err, TS_EINTERNAL, "out of memory for a scaling buffer");
	return TS_OK;
}

ts_status ts_pipe_scale(const struct ts_image *in, double cx, double cy, double cw,
                        double ch, uint32_t out_w, uint32_t out_h,
                        struct ts_image *out, struct ts_error *err)
{
	struct axis ax = { 0 }, ay = { 0 };
	struct ts_image res = { 0 };
	void *mid = NULL;
	size_t mid_stride = 0;
	float *acc = NULL;
	ts_status st;
	int nc;
	bool opaque, weighted;
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
	weighted = !opaque;

	if (ax.identity && ay.identity) {
		for (uint32_t y = 0; y < out_h; y++)
			memcpy(res.pixels + y * res.stride, base + y * in->stride,
			       (size_t)out_w * nc);
	} else if (ay.identity) {
		pass_h(base, in->stride, out_h, &ax, res.pixels, res.stride, nc, opaque, U8_U8);
	} else if (ax.identity) {
		st = acc_alloc(&acc, weighted, out_w, nc, err);
		if (st)
			goto fail;
		pass_v(base, in->stride, out_w, &ay, (struct vrange){ 0, out_h, 0 }, res.pixels,
		       res.stride, acc, nc, opaque, U8_U8);
	} else {
		/* Order the passes by the work each would do.  A vertical tap
		 * runs along contiguous rows and vectorises; a horizontal tap
		 * works pixel by pixel and measures about three times dearer
		 * (four with the integer passes, but three chooses the same
		 * order in every case measured, and keeps the order, and so
		 * the rounding, of the float version this replaced). */
		uint32_t in_rows = ay.hi - ay.lo + 1, in_cols = ax.hi - ax.lo + 1;
		double out_px = (double)out_w * out_h;
		double h_cost = 3.0 * out_w * in_rows * ax.cost + out_px * ay.cost;
		double v_cost = (double)in_cols * out_h * ay.cost + 3.0 * out_px * ax.cost;
		bool h_first = h_cost <= v_cost;

		/* The alpha-weighted path keeps its 8-bit intermediate; the
		 * integer one keeps Q6 int16 (see MID_BITS).  The work goes in
		 * bands of rows, so the intermediate stays in the cache
		 * between the passes (and a big one is not a fresh mmap, page
		 * faults and all, on every call). */
		int m1 = weighted ? U8_U8 : U8_MID, m2 = weighted ? U8_U8 : MID_U8;
		size_t esz = weighted ? 1 : 2;

		if (h_first) {
			/* Bands of input rows: output rows o0..o1-1 need input
			 * rows r0..r1-1; the taps-1 rows shared with the next
			 * band are filtered twice, so bands are tall. */
			uint32_t band = (uint32_t)(MID_BUDGET / ((size_t)out_w * nc * esz));

			if (band < (uint32_t)ay.taps + 32)
				band = (uint32_t)ay.taps + 32;
			if (band > in_rows)
				band = in_rows;
			st = mid_alloc(&mid, &mid_stride, out_w, band, nc, !weighted, err);
			if (st)
				goto fail;
			st = acc_alloc(&acc, weighted, out_w, nc, err);
			if (st)
				goto fail;
			for (uint32_t o0 = 0, o1; o0 < out_h; o0 = o1) {
				uint32_t r0 = UINT32_MAX, r1 = 0;

				st = ts_deadline_check(err);   /* between bands */
				if (st)
					goto fail;

				/* Starts rise with o, but may step back by one
				 * where a zero weight was trimmed: take the
				 * extremes.  The first row always fits. */
				for (o1 = o0; o1 < out_h; o1++) {
					uint32_t a = ay.start[o1], b = a + (uint32_t)ay.taps;
					uint32_t na = a < r0 ? a : r0, nb = b > r1 ? b : r1;

					if (o1 > o0 && nb - na > band)
						break;
					r0 = na;
					r1 = nb;
				}
				pass_h(base + (size_t)r0 * in->stride, in->stride, r1 - r0, &ax, mid,
				       mid_stride, nc, opaque, m1);
				pass_v(mid, mid_stride, out_w, &ay, (struct vrange){ o0, o1, r0 },
				       res.pixels + (size_t)o0 * res.stride, res.stride, acc, nc,
				       opaque, m2);
			}
		} else {
			/* Bands of output rows, nothing done twice. */
			uint32_t band = (uint32_t)(MID_BUDGET / ((size_t)in_cols * nc * esz));

			if (band < 2)
				band = 2;
			if (band > out_h)
				band = out_h;
			st = mid_alloc(&mid, &mid_stride, in_cols, band, nc, !weighted, err);
			if (st)
				goto fail;
			st = acc_alloc(&acc, weighted, in_cols, nc, err);
			if (st)
				goto fail;
			for (uint32_t o0 = 0; o0 < out_h; o0 += band) {
				uint32_t o1 = out_h - o0 < band ? out_h : o0 + band;

				st = ts_deadline_check(err);   /* between bands */
				if (st)
					goto fail;

				pass_v(base, in->stride, in_cols, &ay, (struct vrange){ o0, o1, 0 },
				       mid, mid_stride, acc, nc, opaque, m1);
				pass_h(mid, mid_stride, o1 - o0, &ax,
				       res.pixels + (size_t)o0 * res.stride, res.stride, nc, opaque, m2);
			}
		}
	}

	free(acc);
	free(mid);
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
	free(mid);
	ts_image_free(&res);
	axis_free(&ax);
	axis_free(&ay);
	return st;
}
