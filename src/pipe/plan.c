/*
 * plan.c - the request planner: a IIIF command and the image's pyramid
 * geometry in, a struct ts_plan out (region in full-resolution pixels,
 * output size, rotated size, pyramid level, the integer rectangle of that
 * level to decode and the exact fractional rectangle inside it to resample).
 * Pure arithmetic, no I/O; it sits between the parser (proto/) and the
 * decoder (source/) and decides how much work a request implies before any
 * pixel is touched.
 *
 * The one idea: a level of a pyramid built by halving is exactly
 * floor(W/k) or ceil(W/k) pixels wide for an integer factor k, and its
 * pixel i covers full-resolution pixels [k*i, k*i+k).  Mapping a region
 * through that integer factor (rather than through the rounded ratio
 * level_width/width) makes a tile request land on whole level pixels: the
 * read rectangle is then the stored tile and the crop is the whole read
 * rectangle, so later stages can pass it through untouched.  Levels whose
 * size fits no integer factor are mapped by their own exact ratio.  All
 * mapping is done in 64-bit integers (num/den) so "aligned" is decided
 * exactly, never by a floating-point comparison.
 *
 * Rounding (the IIIF specification leaves it to the implementation,
 * Image API 3.0 section 4.7 and the 3.0 implementation notes section 3):
 *  - square region: the largest centred square, offset rounded down;
 *  - pct region: each edge (start and end) is rounded to the nearest pixel
 *    separately, so neighbouring percentage regions tile without gaps and
 *    pct:0,0,100,100 is the full image exactly; a region is at least 1 px;
 *  - sizes: a computed dimension is rounded to nearest (halves up) and is
 *    at least 1 px; an explicit dimension is used exactly;
 *  - rotated bounding box: nearest, ties down (a 1e-9 bias makes 45 degrees
 *    of a square deterministic), at least 1 px.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "tessera/checked.h"
#include "tessera/command.h"
#include "tessera/plan.h"
#include "tessera/status.h"

#define TS_PI 3.14159265358979323846

static const struct ts_limits no_limits = { 0, 0, 0, false };

/* floor(v + 0.5), at least 1, as uint64 (v >= 0, finite or huge). */
static uint64_t round_dim(double v)
{
	if (!(v < 1.8e19))
		return UINT64_MAX;
	uint64_t r = (uint64_t)floor(v + 0.5);
	return r ? r : 1;
}

/* --------------------------------------------------------------------- */
/* "max" (IIIF Image API 3.0 section 4.2, 2.1 section 4.2, and the 3.0
 * implementation notes section 4 "Maximum size calculation").           */

void ts_plan_max_size(uint32_t w, uint32_t h, const struct ts_limits *lim,
                      bool allow_upscale, uint32_t *out_w, uint32_t *out_h)
{
	double s = allow_upscale ? INFINITY : 1.0;
	uint64_t ow, oh;

	if (!lim)
		lim = &no_limits;
	if (w == 0 || h == 0) {
		*out_w = w, *out_h = h;
		return;
	}
	if (lim->max_width)
		s = fmin(s, (double)lim->max_width / w);
	if (lim->max_height)
		s = fmin(s, (double)lim->max_height / h);
	if (lim->max_area)
		s = fmin(s, sqrt((double)lim->max_area / ((double)w * (double)h)));
	if (isinf(s))
		s = 1.0;   /* "^max" with no limit at all: the region's own size */
	if (s == 1.0) {
		*out_w = w, *out_h = h;
		return;
	}
	ow = round_dim((double)w * s);
	oh = round_dim((double)h * s);
	if (ow > UINT32_MAX)
		ow = UINT32_MAX;
	if (oh > UINT32_MAX)
		oh = UINT32_MAX;
	/* The binding limit is met exactly; rounding the other side to
	 * nearest cannot cross its own limit (both are integers). */
	if (lim->max_width && ow > lim->max_width)
		ow = lim->max_width;
	if (lim->max_height && oh > lim->max_height)
		oh = lim->max_height;
	if (lim->max_area && ow * oh > lim->max_area) {
		/* Rounding up overshot the area: round down instead ("rounds
		 * down to avoid possibility of slightly exceeding maxArea",
		 * 3.0 implementation notes section 4), then trim whichever
		 * side is relatively larger until it fits. */
		ow = (uint64_t)floor((double)w * s);
		oh = (uint64_t)floor((double)h * s);
		if (ow < 1)
			ow = 1;
		if (oh < 1)
			oh = 1;
		if (ow > UINT32_MAX)
			ow = UINT32_MAX;
		if (oh > UINT32_MAX)
			oh = UINT32_MAX;
		while (ow * oh > lim->max_area && (ow > 1 || oh > 1)) {
			if (oh == 1 || (ow > 1 && (double)ow / w >= (double)oh / h))
				ow--;
			else
				oh--;
		}
	}
	*out_w = (uint32_t)ow;
	*out_h = (uint32_t)oh;
}

/* --------------------------------------------------------------------- */
/* Region (IIIF Image API 3.0 section 4.1, 2.1 section 4.1)              */

static bool is_pixel_value(double v)
{
	return v >= 0 && v <= UINT32_MAX && v == floor(v);
}

/* One axis of a pct region: start and end rounded separately and clipped,
 * at least one pixel.  Returns false when the region starts outside. */
static bool pct_axis(double pos, double len, uint32_t full, uint64_t *r0, uint64_t *rl)
{
	double a = pos * (double)full / 100.0;
	double b = (pos + len) * (double)full / 100.0;
	uint64_t x0, x1;

	if (!(a < (double)full))
		return false;                /* wholly outside (or NaN) */
	x0 = (uint64_t)floor(a + 0.5);
	if (x0 >= full)
		x0 = full - 1;               /* starts inside the last pixel */
	x1 = b >= (double)full ? full : (uint64_t)floor(b + 0.5);
	if (x1 <= x0)
		x1 = x0 + 1;                 /* never 0 px wide */
	*r0 = x0;
	*rl = x1 - x0;
	return true;
}

static ts_status plan_region(const struct ts_region *r, uint32_t W, uint32_t H,
                             const char *sec, uint64_t rect[4], struct ts_error *err)
{
	switch (r->kind) {
	case TS_REGION_FULL:
		rect[0] = 0, rect[1] = 0, rect[2] = W, rect[3] = H;
		return TS_OK;
	case TS_REGION_SQUARE: {
		/* "width and height are both equal to the length of the
		 * shorter dimension ... centered is often a reasonable
		 * default": centred, offset rounded down. */
		uint32_t side = W < H ? W : H;
		rect[0] = (W - side) / 2, rect[1] = (H - side) / 2;
		rect[2] = side, rect[3] = side;
		return TS_OK;
	}
	case TS_REGION_PIXELS:
		if (!is_pixel_value(r->x) || !is_pixel_value(r->y) ||
		    !is_pixel_value(r->w) || !is_pixel_value(r->h) || r->w == 0 || r->h == 0)
			return ts_error_set(err, TS_EBADREQUEST,
				"Invalid region: width and height must be positive integers "
				"(IIIF Image API %s section 4.1)", sec);
		if (r->x >= W || r->y >= H)
			return ts_error_set(err, TS_EBADREQUEST,
				"The region is entirely outside the image (IIIF Image API %s section 4.1)", sec);
		/* Crossing the edge: "cropped at the image's edge, rather
		 * than adding empty space", keeping every pixel inside. */
		rect[0] = (uint64_t)r->x, rect[1] = (uint64_t)r->y;
		rect[2] = (uint64_t)r->w, rect[3] = (uint64_t)r->h;
		if (rect[2] > W - rect[0])
			rect[2] = W - rect[0];
		if (rect[3] > H - rect[1])
			rect[3] = H - rect[1];
		return TS_OK;
	case TS_REGION_PCT:
		if (!(r->x >= 0) || !(r->y >= 0) || !(r->w > 0) || !(r->h > 0))
			return ts_error_set(err, TS_EBADREQUEST,
				"Invalid region: percentages must be non-negative and the width "
				"and height positive (IIIF Image API %s section 4.1)", sec);
		if (!pct_axis(r->x, r->w, W, &rect[0], &rect[2]) ||
		    !pct_axis(r->y, r->h, H, &rect[1], &rect[3]))
			return ts_error_set(err, TS_EBADREQUEST,
				"The region is entirely outside the image (IIIF Image API %s section 4.1)", sec);
		return TS_OK;
	}
	return ts_error_set(err, TS_EBADREQUEST, "Invalid region");
}

/* --------------------------------------------------------------------- */
/* Size (IIIF Image API 3.0 section 4.2, 2.1 section 4.2)                */

static bool over_limits(uint64_t w, uint64_t h, const struct ts_limits *lim)
{
	return (lim->max_width && w > lim->max_width) ||
	       (lim->max_height && h > lim->max_height) ||
	       (lim->max_area && w * h > lim->max_area);
}

static ts_status plan_size(const struct ts_image_cmd *cmd, uint32_t rw, uint32_t rh,
                           const struct ts_limits *lim, const char *sec,
                           uint32_t *out_w, uint32_t *out_h, struct ts_error *err)
{
	const struct ts_size *z = &cmd->size;
	bool v3 = cmd->version != 2;
	uint64_t tw, th;

	switch (z->kind) {
	case TS_SIZE_FULL:
		if (v3)
			return ts_error_set(err, TS_EBADREQUEST,
				"Invalid size: \"full\" was replaced by \"max\" in IIIF Image API 3.0 (section 4.2)");
		/* 2.1 "full" is the region's size; like "max" it is clamped
		 * to the limits rather than refused. */
		/* fall through */
	case TS_SIZE_MAX:
		/* "max": the region's size, "unless it is constrained to a
		 * smaller size by maxWidth, maxHeight, or maxArea"; "^max":
		 * "the maximum size permitted by maxWidth, maxHeight, or
		 * maxArea" (3.0 section 4.2).  With upscaling disabled the
		 * largest permitted size is the unscaled one, so "^max" is
		 * then the same as "max" rather than an error. */
		ts_plan_max_size(rw, rh, lim, v3 && z->upscale && lim->allow_upscaling,
		                 out_w, out_h);
		return TS_OK;

	case TS_SIZE_FIT: {
		if (z->w == 0 || z->h == 0)
			goto zero;
		/* "as large as possible but not larger than the extracted
		 * region, w or h, or server-imposed limits" (3.0 section 4.2;
		 * "^!w,h" drops "the extracted region"); 2.1: "best fit". */
		if ((double)z->w / rw <= (double)z->h / rh) {
			tw = z->w;
			th = round_dim((double)rh * z->w / rw);
			if (th > z->h)
				th = z->h;
		} else {
			th = z->h;
			tw = round_dim((double)rw * z->h / rh);
			if (tw > z->w)
				tw = z->w;
		}
		if (tw > rw || th > rh) {
			bool may_upscale = v3 ? z->upscale : lim->allow_upscaling;
			if (!may_upscale) {
				tw = rw, th = rh;
			} else if (!lim->allow_upscaling) {
				goto upscale_disabled;
			}
		}
		if (over_limits(tw, th, lim)) {
			uint32_t cw, ch;
			ts_plan_max_size((uint32_t)tw, (uint32_t)th, lim, false, &cw, &ch);
			tw = cw, th = ch;
		}
		*out_w = (uint32_t)tw, *out_h = (uint32_t)th;
		return TS_OK;
	}

	case TS_SIZE_W:
		if (z->w == 0)
			goto zero;
		tw = z->w;
		th = round_dim((double)rh * z->w / rw);
		break;
	case TS_SIZE_H:
		if (z->h == 0)
			goto zero;
		th = z->h;
		tw = round_dim((double)rw * z->h / rh);
		break;
	case TS_SIZE_PCT:
		if (!(z->pct > 0))
			goto zero;
		if (v3 && !z->upscale && z->pct > 100)
			goto needs_caret;
		tw = round_dim((double)rw * z->pct / 100.0);
		th = round_dim((double)rh * z->pct / 100.0);
		break;
	case TS_SIZE_WH:
		if (z->w == 0 || z->h == 0)
			goto zero;
		tw = z->w, th = z->h;
		break;
	default:
		return ts_error_set(err, TS_EBADREQUEST, "Invalid size");
	}

	/* An explicitly named size: upscaling rules, then the limits. */
	if (tw > UINT32_MAX || th > UINT32_MAX)
		return ts_error_set(err, TS_EBADREQUEST, "The requested size is too large");
	if (tw > rw || th > rh) {
		if (v3 && !z->upscale)
			goto needs_caret;
		if (!lim->allow_upscaling)
			goto upscale_disabled;
	}
	/* "the pixel dimensions of the scaled region MUST NOT be ... greater
	 * than the server-imposed limits ... SHOULD result in a 400" (3.0
	 * section 4.2; 3.0 section 5.2 maxWidth/maxHeight/maxArea: "clients
	 * should expect requests with larger ... to be rejected"). */
	if (lim->max_width && tw > lim->max_width)
		return ts_error_set(err, TS_EBADREQUEST,
			"The requested width %llu is larger than maxWidth %u (IIIF Image API %s section 4.2)",
			(unsigned long long)tw, lim->max_width, sec);
	if (lim->max_height && th > lim->max_height)
		return ts_error_set(err, TS_EBADREQUEST,
			"The requested height %llu is larger than maxHeight %u (IIIF Image API %s section 4.2)",
			(unsigned long long)th, lim->max_height, sec);
	if (lim->max_area && tw * th > lim->max_area)
		return ts_error_set(err, TS_EBADREQUEST,
			"The requested area %llu is larger than maxArea %llu (IIIF Image API %s section 4.2)",
			(unsigned long long)(tw * th), (unsigned long long)lim->max_area, sec);
	*out_w = (uint32_t)tw, *out_h = (uint32_t)th;
	return TS_OK;

zero:
	return ts_error_set(err, TS_EBADREQUEST,
		"The requested size is zero (IIIF Image API %s section 4.2)", sec);
needs_caret:
	/* "Requests for sizes not prefixed with ^ that result in a scaled
	 * region with pixel dimensions greater than the pixel dimensions of
	 * the extracted region are errors that SHOULD result in a 400" (3.0
	 * section 4.2). */
	return ts_error_set(err, TS_EBADREQUEST,
		"The requested size is larger than the region; IIIF Image API 3.0 needs the ^ prefix "
		"to upscale (section 4.2)");
upscale_disabled:
	/* "Requests for sizes prefixed with ^ that require upscaling SHOULD
	 * result in a 501 (Not Implemented) status code if the server does
	 * not support upscaling" (3.0 section 4.2).  2.1 only says the
	 * server "MAY support scaling above the full size" (section 4.2), so
	 * we answer the same 501, "a valid IIIF request that is not
	 * implemented" (2.1 section 7.2). */
	return ts_error_set(err, TS_ENOTIMPL, "Upscaling is disabled on this server");
}

/* --------------------------------------------------------------------- */
/* Pyramid level and read rectangle                                      */

/* level coordinate = full coordinate * num / den, on one axis. */
struct axis_map {
	uint64_t num, den;
};

static bool halves_to(uint64_t full, uint64_t k, uint64_t level)
{
	return k >= 1 && (full / k == level || (full + k - 1) / k == level);
}

/* The integer factor k when the level is floor(full/k) or ceil(full/k)
 * (trying the nearest power of two first, as pyramids halve), else the
 * level's exact ratio. */
static struct axis_map axis_map_for(uint32_t full, uint32_t level)
{
	struct axis_map m = { level, full };
	double ratio = (double)full / level;
	uint64_t k;

	if (level == full) {
		m.num = 1, m.den = 1;
		return m;
	}
	if (ratio >= 1 && ratio < 4294967296.0) {
		k = (uint64_t)1 << (int)floor(log2(ratio) + 0.5);
		if (halves_to(full, k, level))
			goto integer;
		k = (uint64_t)floor(ratio + 0.5);
		if (halves_to(full, k, level))
			goto integer;
	}
	return m;
integer:
	m.num = 1, m.den = k;
	return m;
}

/* Is the level's copy of the region [r0, r0+rl) large enough for out
 * pixels?  Exactly large enough, or short by less than one pixel and by
 * at most 1/32 (the rounding of an edge tile asked as ceil(w/s) against a
 * level that was floor-halved, 3.0 implementation notes section 3). */
static bool axis_fits(uint64_t r0, uint64_t rl, uint32_t out, uint32_t lsize,
                      struct axis_map m)
{
	uint64_t have = rl * m.num;               /* in 1/den level pixels */

	if (r0 * m.num >= (uint64_t)lsize * m.den)
		return false;                       /* nothing of it at this level */
	if (have >= (uint64_t)out * m.den)
		return true;
	return have > (uint64_t)(out - 1) * m.den &&
	       32.0 * (double)have >= 31.0 * (double)out * (double)m.den;
}

/* The integer read span and the exact crop inside it, on one axis. */
static void axis_read(uint64_t r0, uint64_t rl, uint32_t lsize, struct axis_map m,
                      uint32_t *read0, uint32_t *readlen, double *crop0, double *croplen)
{
	uint64_t start = r0 * m.num;
	uint64_t end = (r0 + rl) * m.num;
	uint64_t limit = (uint64_t)lsize * m.den;
	uint64_t a, b;

	if (end > limit)
		end = limit;   /* a floor-halved level lacks the last partial pixel */
	a = start / m.den;
	b = (end + m.den - 1) / m.den;
	*read0 = (uint32_t)a;
	*readlen = (uint32_t)(b - a);
	*crop0 = (double)(start - a * m.den) / (double)m.den;
	if ((end - start) % m.den == 0)
		*croplen = (double)((end - start) / m.den);   /* exact */
	else
		*croplen = (double)(end - start) / (double)m.den;
}

/* --------------------------------------------------------------------- */
/* Rotation (3.0 section 4.3 and implementation notes section 5)         */

static ts_status plan_rotation(double deg, uint32_t w, uint32_t h,
                               uint32_t *fw, uint32_t *fh, struct ts_error *err)
{
	if (deg == 0 || deg == 180) {
		*fw = w, *fh = h;
		return TS_OK;
	}
	if (deg == 90 || deg == 270) {
		*fw = h, *fh = w;
		return TS_OK;
	}
	double rad = deg * TS_PI / 180.0;
	double c = fabs(cos(rad)), s = fabs(sin(rad));
	double bw = (double)w * c + (double)h * s;
	double bh = (double)w * s + (double)h * c;
	uint64_t iw = bw < 1 ? 1 : (uint64_t)floor(bw + 0.5 - 1e-9);
	uint64_t ih = bh < 1 ? 1 : (uint64_t)floor(bh + 0.5 - 1e-9);
	if (iw > UINT32_MAX || ih > UINT32_MAX)
		return ts_error_set(err, TS_EBADREQUEST, "The rotated image would be too large");
	*fw = (uint32_t)(iw ? iw : 1);
	*fh = (uint32_t)(ih ? ih : 1);
	return TS_OK;
}

/* --------------------------------------------------------------------- */
/* Canonical parameters (3.0 section 4.8, 2.1 section 4.7)               */

/* "an integer if possible, ... trimming any trailing zeros in a decimal
 * value, and a leading 0 if the value is below 1" (2.1 section 4.7; 3.0
 * section 4.7 says the same).  Six decimals are kept. */
static void format_degrees(double deg, char *buf, size_t n)
{
	if (deg == floor(deg)) {
		snprintf(buf, n, "%.0f", deg);
		return;
	}
	snprintf(buf, n, "%.6f", deg);
	char *end = buf + strlen(buf);
	while (end > buf && end[-1] == '0')
		*--end = '\0';
	if (end > buf && end[-1] == '.')
		*--end = '\0';
}

static ts_status plan_canonical(const struct ts_image_cmd *cmd, const struct ts_geometry *g,
                                const struct ts_limits *lim, struct ts_plan *p,
                                struct ts_error *err)
{
	char region[48], size[32], rot[32];
	bool v3 = cmd->version != 2;
	uint32_t mw, mh;

	/* region: "full" if the whole image is requested (2.1: "including a
	 * square region of a square image"), otherwise x,y,w,h. */
	if (p->region_x == 0 && p->region_y == 0 && p->region_w == g->width &&
	    p->region_h == g->height)
		snprintf(region, sizeof region, "full");
	else
		snprintf(region, sizeof region, "%u,%u,%u,%u", p->region_x, p->region_y,
		         p->region_w, p->region_h);

	if (v3) {
		/* 3.0 section 4.8: "max" if the maximum size without
		 * upscaling is requested, "^max" if the maximum upscaled
		 * size, otherwise w,h, or ^w,h if upscaling is needed. */
		bool up = p->out_w > p->region_w || p->out_h > p->region_h;
		ts_plan_max_size(p->region_w, p->region_h, lim, false, &mw, &mh);
		if (p->out_w == mw && p->out_h == mh) {
			snprintf(size, sizeof size, "max");
		} else if (up) {
			bool limited = lim->max_width || lim->max_height || lim->max_area;
			ts_plan_max_size(p->region_w, p->region_h, lim, true, &mw, &mh);
			if (limited && p->out_w == mw && p->out_h == mh)
				snprintf(size, sizeof size, "^max");
			else
				snprintf(size, sizeof size, "^%u,%u", p->out_w, p->out_h);
		} else {
			snprintf(size, sizeof size, "%u,%u", p->out_w, p->out_h);
		}
	} else {
		/* 2.1 section 4.7: "full" if the default size is requested,
		 * "w," when the aspect ratio is kept, "w,h" otherwise. */
		if (p->out_w == p->region_w && p->out_h == p->region_h)
			snprintf(size, sizeof size, "full");
		else if (round_dim((double)p->region_h * p->out_w / p->region_w) == p->out_h)
			snprintf(size, sizeof size, "%u,", p->out_w);
		else
			snprintf(size, sizeof size, "%u,%u", p->out_w, p->out_h);
	}

	rot[0] = '\0';
	if (p->mirror)
		snprintf(rot, sizeof rot, "!");
	format_degrees(p->degrees, rot + strlen(rot), sizeof rot - strlen(rot));

	int n = snprintf(p->canonical, sizeof p->canonical, "%s/%s/%s/%s.%s", region, size, rot,
	                 ts_quality_name(p->quality), ts_format_ext(p->format));
	if (n < 0 || (size_t)n >= sizeof p->canonical)
		return ts_error_set(err, TS_EINTERNAL, "Canonical URL too long");
	return TS_OK;
}

/* --------------------------------------------------------------------- */

static bool geometry_valid(const struct ts_geometry *g)
{
	int i;

	if (g->width == 0 || g->height == 0 || g->nlevels < 1 || g->nlevels > TS_MAX_LEVELS)
		return false;
	if (g->levels[0].width != g->width || g->levels[0].height != g->height)
		return false;
	for (i = 1; i < g->nlevels; i++)
		if (g->levels[i].width == 0 || g->levels[i].height == 0 ||
		    g->levels[i].width > g->width || g->levels[i].height > g->height)
			return false;
	return true;
}

ts_status ts_plan_make(const struct ts_image_cmd *cmd, const struct ts_geometry *g,
                       const struct ts_limits *lim, struct ts_plan *out,
                       struct ts_error *err)
{
	const char *sec = cmd->version == 2 ? "2.1" : "3.0";
	uint64_t rect[4];
	ts_status st;
	int i;

	memset(out, 0, sizeof *out);
	if (!lim)
		lim = &no_limits;
	if (!geometry_valid(g)) {
		ts_error_set(err, TS_EINTERNAL, "The image has an invalid geometry");
		ts_error_detail(err, "plan: geometry %ux%u with %d levels is inconsistent",
		                g->width, g->height, g->nlevels);
		return TS_EINTERNAL;
	}

	st = plan_region(&cmd->region, g->width, g->height, sec, rect, err);
	if (st)
		return st;
	out->region_x = (uint32_t)rect[0], out->region_y = (uint32_t)rect[1];
	out->region_w = (uint32_t)rect[2], out->region_h = (uint32_t)rect[3];

	st = plan_size(cmd, out->region_w, out->region_h, lim, sec, &out->out_w, &out->out_h, err);
	if (st)
		return st;

	/* 3.0 section 4.3: 0 to 360 inclusive; 360 is a full turn, i.e. 0. */
	double deg = cmd->rotation.degrees;
	if (!(deg >= 0 && deg <= 360))
		return ts_error_set(err, TS_EBADREQUEST,
			"Invalid rotation: expected 0 to 360 (IIIF Image API %s section 4.3)", sec);
	if (deg == 360)
		deg = 0;
	out->degrees = deg;
	out->mirror = cmd->rotation.mirror;
	out->quality = cmd->quality;
	out->format = cmd->format;
	st = plan_rotation(deg, out->out_w, out->out_h, &out->final_w, &out->final_h, err);
	if (st)
		return st;

	/* The smallest level (levels are largest first) that holds the
	 * region at the output size; level 0 when upscaling. */
	struct axis_map mx = { 1, 1 }, my = { 1, 1 };
	out->level = 0;
	for (i = g->nlevels - 1; i > 0; i--) {
		struct axis_map ax = axis_map_for(g->width, g->levels[i].width);
		struct axis_map ay = axis_map_for(g->height, g->levels[i].height);
		if (axis_fits(rect[0], rect[2], out->out_w, g->levels[i].width, ax) &&
		    axis_fits(rect[1], rect[3], out->out_h, g->levels[i].height, ay)) {
			out->level = i;
			mx = ax, my = ay;
			break;
		}
	}
	axis_read(rect[0], rect[2], g->levels[out->level].width, mx,
	          &out->read_x, &out->read_w, &out->crop_x, &out->crop_w);
	axis_read(rect[1], rect[3], g->levels[out->level].height, my,
	          &out->read_y, &out->read_h, &out->crop_y, &out->crop_h);

	return plan_canonical(cmd, g, lim, out, err);
}
