/*
 * iip.c - the Internet Imaging Protocol as iipsrv and iipmooviewer speak it:
 * parse the query string, answer OBJ requests in IIP's text form, and turn
 * JTL tiles and CVT renderings into IIIF commands.
 *
 * A request is a list of NAME=value commands ("FIF=img.tif&JTL=3,12").
 * We parse the whole list into one struct first and decide afterwards what
 * it asks for, so the order of commands does not matter (iipsrv executes
 * them in order, but viewers always put FIF first and the output command
 * last, which gives the same result).  Answers are text lines
 * "Name:value\r\n"; errors are "Error/LEN:CODE ARG\r\n" with LEN the length
 * of "CODE ARG" (the IIP 1.0.5 error form iipsrv uses), and the HTTP status
 * is the caller's choice.
 *
 * The one idea: IIP resolutions are our pyramid levels seen from the small
 * end (resolution 0 = smallest level), and a tile of a level maps to the
 * full image through that level's own ratio width/level_width, so whatever
 * rounding the file used to store its levels, neighbouring tiles abut.
 */
#include <math.h>
#include <string.h>
#include <strings.h>
#include "tessera/arena.h"
#include "tessera/tileproto.h"

static bool name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

static bool ieq(const char *s, const char *lit)
{
	return strcasecmp(s, lit) == 0;
}

/* "a,b" as two canonical decimals */
static bool parse_pair(const char *s, uint32_t *a, uint32_t *b)
{
	const char *c = strchr(s, ',');
	return c && ts_tileproto_parse_u32(s, (size_t)(c - s), a) &&
	       ts_tileproto_parse_u32(c + 1, strlen(c + 1), b);
}

/* A plain decimal: optional '-', digits, optional '.' and digits; no
 * exponent, no locale.  At most 24 characters. */
static bool parse_decimal(const char *s, size_t n, double *out)
{
	double v = 0, scale = 1;
	bool neg = false, digits = false, frac = false;
	size_t i = 0;

	if (n == 0 || n > 24)
		return false;
	if (s[0] == '-') {
		neg = true;
		i = 1;
	}
	for (; i < n; i++) {
		char c = s[i];
		if (c == '.' && !frac) {
			frac = true;
		} else if (c >= '0' && c <= '9') {
			digits = true;
			if (frac) {
				scale /= 10;
				v += (c - '0') * scale;
			} else {
				v = v * 10 + (c - '0');
			}
		} else {
			return false;
		}
	}
	if (!digits)
		return false;
	*out = neg ? -v : v;
	return true;
}

static bool parse_rgn(const char *s, double r[4])
{
	for (int i = 0; i < 4; i++) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		if ((i < 3) != (c != NULL) || !parse_decimal(s, n, &r[i]))
			return false;
		s = c ? c + 1 : s + n;
	}
	return r[2] > 0 && r[3] > 0;
}

static bool parse_rot(const char *s, struct ts_rotation *rot)
{
	uint32_t d;

	rot->mirror = false;
	if (*s == '!') {
		rot->mirror = true;
		s++;
	}
	if (!ts_tileproto_parse_u32(s, strlen(s), &d) || (d != 0 && d != 90 && d != 180 && d != 270))
		return false;
	rot->degrees = d;
	return true;
}

static bool parse_obj(const char *v, enum ts_iip_obj *o)
{
	if (ieq(v, "iip,1.0"))
		*o = TS_IIP_OBJ_IIP;
	else if (ieq(v, "iip-server"))
		*o = TS_IIP_OBJ_IIP_SERVER;
	else if (ieq(v, "max-size"))
		*o = TS_IIP_OBJ_MAX_SIZE;
	else if (ieq(v, "tile-size"))
		*o = TS_IIP_OBJ_TILE_SIZE;
	else if (ieq(v, "resolution-number"))
		*o = TS_IIP_OBJ_RESOLUTION_NUMBER;
	else if (ieq(v, "resolutions"))
		*o = TS_IIP_OBJ_RESOLUTIONS;
	else if (ieq(v, "bits-per-channel"))
		*o = TS_IIP_OBJ_BITS_PER_CHANNEL;
	else if (strncasecmp(v, "colorspace", 10) == 0)   /* "Colorspace,*,*" */
		*o = TS_IIP_OBJ_COLORSPACE;
	else if (ieq(v, "basic-info"))
		*o = TS_IIP_OBJ_BASIC_INFO;
	else
		return false;
	return true;
}

/* A decimal as parse_decimal, within [lo, hi]. */
static bool decimal_in(const char *v, double lo, double hi, bool lo_open)
{
	double d;

	if (!parse_decimal(v, strlen(v), &d))
		return false;
	return (lo_open ? d > lo : d >= lo) && d <= hi;
}

/* An optionally signed integer within [lo, hi]. */
static bool int_in(const char *s, size_t n, long lo, long hi)
{
	bool neg = n > 0 && s[0] == '-';
	uint32_t u;

	if (neg) {
		s++;
		n--;
	}
	if (!ts_tileproto_parse_u32(s, n, &u))
		return false;
	return neg ? -(long)u >= lo : (long)u <= hi;
}

/* "a,b" with a in [alo, ahi] and b in [blo, bhi] */
static bool int_pair_in(const char *v, long alo, long ahi, long blo, long bhi)
{
	const char *c = strchr(v, ',');

	return c && int_in(v, (size_t)(c - v), alo, ahi) && int_in(c + 1, strlen(c + 1), blo, bhi);
}

/* Only the bytes of accept, at least one, at most 256. */
static bool made_of(const char *v, const char *accept)
{
	size_t n = strspn(v, accept);

	return n > 0 && n <= 256 && v[n] == '\0';
}

/*
 * The IIP commands of iipsrv's protocol that Tessera accepts but does not
 * apply (they drive scientific imaging: contrast, gamma, shading, colour
 * maps, multispectral profiles).  Their values are still checked against
 * the ranges the IIP 1.0.5 specification and iipsrv's documentation give,
 * so that CNT=nan or GAM=-1 is a 400, not a 200 that ignored them.
 * Returns the command's name when name is one of them, else NULL.
 */
static const char *known_other(const char *name, size_t n)
{
	static const char *const names[] = { "CNT", "GAM", "SHD", "SDS", "CMP", "INV", "LYR",
	                                     "CTW", "MINMAX", "PFL", "SPECTRA", "NAV" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (name_is(name, n, names[i]))
			return names[i];
	return NULL;
}

static bool other_command_ok(const char *name, size_t n, const char *v)
{
	if (name_is(name, n, "CNT"))          /* contrast: a multiplier */
		return decimal_in(v, 0, 100, false);
	if (name_is(name, n, "GAM"))          /* gamma: positive */
		return decimal_in(v, 0, 100, true);
	if (name_is(name, n, "SHD"))          /* hillshading: h,v angles in degrees */
		return int_pair_in(v, -1, 360, -90, 90);
	if (name_is(name, n, "SDS"))          /* image index and angle */
		return int_pair_in(v, 0, 65535, -360, 360);
	if (name_is(name, n, "CMP"))          /* colour maps */
		return ieq(v, "GREY") || ieq(v, "JET") || ieq(v, "COLD") || ieq(v, "HOT") ||
		       ieq(v, "RED") || ieq(v, "GREEN") || ieq(v, "BLUE");
	if (name_is(name, n, "INV"))
		return !v[0] || ieq(v, "true") || ieq(v, "false") || ieq(v, "1") || ieq(v, "0");
	if (name_is(name, n, "LYR"))          /* quality layers */
		return int_in(v, strlen(v), 0, 65535);
	if (name_is(name, n, "CTW"))          /* colour twist matrix "[a,b;c,d]" */
		return v[0] == '[' && made_of(v + 1, "0123456789.,;-]") && v[strlen(v) - 1] == ']';
	if (name_is(name, n, "MINMAX"))       /* "channel:min,max" */
		return made_of(v, "0123456789.,:-");
	if (name_is(name, n, "PFL"))          /* profile "res:x1,y1-x2,y2" */
		return made_of(v, "0123456789,:-");
	if (name_is(name, n, "SPECTRA"))      /* "x,y" of a pixel */
		return int_pair_in(v, 0, 0x7fffffffL, 0, 0x7fffffffL);
	if (name_is(name, n, "NAV"))
		return true;
	return false;
}

static ts_status iip_fail(struct ts_iip_request *out, const char *code, const char *arg,
                          struct ts_error *err, const char *msg)
{
	out->err_code = code;
	out->err_arg = arg;
	return ts_error_set(err, TS_EBADREQUEST, "%s", msg);
}

ts_status ts_iip_parse(const char *query, struct ts_arena *a, struct ts_iip_request *out,
                       struct ts_error *err)
{
	const char *p = query;
	int images = 0;
	bool pass = false, need_fif = false;
	const char *bad_arg = NULL, *bad_msg = NULL;

	memset(out, 0, sizeof *out);
	out->qlt = -1;
	out->format = TS_FORMAT_JPG;
	out->quality = TS_QUALITY_DEFAULT;

	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		const char *name = p, *raw = eq ? eq + 1 : p + n;
		size_t namen = eq ? (size_t)(eq - p) : n, rawn = n - (size_t)(raw - p);
		char *val, *copy;

		p = end ? end + 1 : NULL;
		if (n == 0)
			continue;

		/* Entry points: the value is a path for another parser, which
		 * decodes its identifier itself, so it is passed on undecoded. */
		if (name_is(name, namen, "IIIF") || name_is(name, namen, "DeepZoom") ||
		    name_is(name, namen, "Zoomify")) {
			if (pass)
				return iip_fail(out, "2 1", "IIIF", err, "more than one entry point in the IIP request");
			pass = true;
			out->to = name_is(name, namen, "IIIF") ? TS_IIP_TO_IIIF :
			          name_is(name, namen, "DeepZoom") ? TS_IIP_TO_DEEPZOOM : TS_IIP_TO_ZOOMIFY;
			out->path = rawn && raw[0] == '/' ? ts_arena_strndup(a, raw, rawn)
			                                  : ts_arena_printf(a, "/%.*s", (int)rawn, raw);
			if (!out->path)
				return ts_error_set(err, TS_EINTERNAL, "out of memory");
			out->path_query = query;
			continue;
		}

		copy = ts_arena_strndup(a, raw, rawn);
		val = ts_arena_alloc(a, rawn + 1);
		if (!copy || !val)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		if (!ts_percent_decode(copy, val))
			return iip_fail(out, "2 1", "IIP", err, "malformed percent-escape in the IIP request");

		if (name_is(name, namen, "FIF")) {
			if (!val[0])
				return iip_fail(out, "1 3", "FIF", err, "empty FIF");
			out->fif = val;
		} else if (name_is(name, namen, "OBJ")) {
			if (out->nobj == TS_IIP_MAX_OBJ)
				return iip_fail(out, "2 1", "OBJ", err, "too many OBJ commands");
			if (!parse_obj(val, &out->obj[out->nobj])) {
				/* echo the object name back, as iipsrv does (sanitised later) */
				return iip_fail(out, "3 2", val, err, "unsupported IIP object");
			}
			if (out->obj[out->nobj] != TS_IIP_OBJ_IIP &&
			    out->obj[out->nobj] != TS_IIP_OBJ_IIP_SERVER)
				need_fif = true;
			out->nobj++;
		} else if (name_is(name, namen, "JTL") || name_is(name, namen, "PTL") ||
		           name_is(name, namen, "WTL")) {
			static const char *const names[] = { "JTL", "PTL", "WTL" };
			int which = name_is(name, namen, "JTL") ? 0 : name_is(name, namen, "PTL") ? 1 : 2;
			if (!parse_pair(val, &out->res, &out->tile))
				return iip_fail(out, "2 1", names[which], err, "malformed tile command");
			out->format = which == 0 ? TS_FORMAT_JPG : which == 1 ? TS_FORMAT_PNG : TS_FORMAT_WEBP;
			out->action = TS_IIP_TILE;
			images++;
		} else if (name_is(name, namen, "CVT")) {
			if (ieq(val, "jpeg") || ieq(val, "jpg"))
				out->format = TS_FORMAT_JPG;
			else if (ieq(val, "png"))
				out->format = TS_FORMAT_PNG;
			else if (ieq(val, "webp"))
				out->format = TS_FORMAT_WEBP;
			else
				return iip_fail(out, "2 1", "CVT", err, "unsupported CVT format");
			out->action = TS_IIP_CVT;
			images++;
		} else if (name_is(name, namen, "WID")) {
			/* 1..65535: the largest side any output can have (our
			 * limits, and JPEG's, are at or below it) */
			if (!ts_tileproto_parse_u32(val, strlen(val), &out->wid) || out->wid == 0 ||
			    out->wid > TS_IIP_MAX_SIDE)
				return iip_fail(out, "2 1", "WID", err, "malformed WID");
			out->has_wid = true;
		} else if (name_is(name, namen, "HEI")) {
			if (!ts_tileproto_parse_u32(val, strlen(val), &out->hei) || out->hei == 0 ||
			    out->hei > TS_IIP_MAX_SIDE)
				return iip_fail(out, "2 1", "HEI", err, "malformed HEI");
			out->has_hei = true;
		} else if (name_is(name, namen, "RGN")) {
			if (!parse_rgn(val, out->rgn))
				return iip_fail(out, "2 1", "RGN", err, "malformed RGN");
			out->has_rgn = true;
		} else if (name_is(name, namen, "ROT")) {
			if (!parse_rot(val, &out->rotation))
				return iip_fail(out, "2 1", "ROT", err, "malformed ROT");
		} else if (name_is(name, namen, "QLT")) {
			uint32_t q;
			if (!ts_tileproto_parse_u32(val, strlen(val), &q) || q > 100)
				return iip_fail(out, "2 1", "QLT", err, "malformed QLT");
			out->qlt = (int)q;
		} else if (name_is(name, namen, "COL")) {
			if (ieq(val, "grey") || ieq(val, "gray"))
				out->quality = TS_QUALITY_GRAY;
			else if (ieq(val, "binary"))
				out->quality = TS_QUALITY_BITONAL;
			else if (ieq(val, "color") || ieq(val, "colour"))
				out->quality = TS_QUALITY_COLOR;
			else
				return iip_fail(out, "2 1", "COL", err, "malformed COL");
		} else if (!bad_arg && !other_command_ok(name, namen, val)) {
			/* A command we know but do not apply is checked and then
			 * ignored; an unknown name or an out-of-range value is
			 * refused (below) rather than answered as if absent.  Not
			 * yet: after an entry point (DeepZoom=...&format=json) the
			 * other parameters belong to that protocol. */
			bad_arg = known_other(name, namen);
			bad_msg = bad_arg ? "IIP command value out of range" : "unknown IIP command";
			if (!bad_arg)
				bad_arg = "IIP";
		}
	}

	if (pass) {
		out->action = TS_IIP_PASSTHROUGH;
		return TS_OK;
	}
	if (bad_arg)
		return iip_fail(out, "2 1", bad_arg, err, bad_msg);
	if (images > 1)
		return iip_fail(out, "2 1", "CVT", err, "more than one image command in the IIP request");
	if (images == 0) {
		if (out->nobj == 0)
			return iip_fail(out, "2 1", "IIP", err, "no IIP command");
		out->action = TS_IIP_OBJ;
	} else {
		need_fif = true;
	}
	if (need_fif && !out->fif)
		return iip_fail(out, "1 3", "FIF", err, "no image (FIF) in the IIP request");
	return TS_OK;
}

/* One axis of a IIP tile: full-resolution [*f0, *f1) and output size. */
static void iip_axis(uint32_t t, uint32_t ts, uint32_t level, uint32_t full,
                     uint64_t *f0, uint64_t *f1, uint32_t *outn)
{
	uint64_t a0 = (uint64_t)t * ts;
	uint64_t a1 = a0 + ts < level ? a0 + ts : level;

	/* floor(a * full / level) on both edges, so tile t ends where t+1
	 * starts; full >= level makes every level pixel >= 1 full pixel. */
	*f0 = a0 * full / level;
	*f1 = a1 == level ? full : a1 * full / level;
	*outn = (uint32_t)(a1 - a0);
}

ts_status ts_iip_tile_cmd(const struct ts_iip_request *rq, const struct ts_geometry *g,
                          uint32_t tile_w, uint32_t tile_h,
                          struct ts_image_cmd *cmd, struct ts_error *err)
{
	uint32_t lw, lh, ow, oh;
	uint64_t ntx, nty, tx, ty, fx0, fx1, fy0, fy1;
	int li;

	if (tile_w == 0 || tile_h == 0 || g->nlevels < 1 || g->nlevels > TS_MAX_LEVELS)
		return ts_error_set(err, TS_EINTERNAL, "invalid IIP tile geometry");
	if (rq->action != TS_IIP_TILE || rq->res >= (uint32_t)g->nlevels)
		return ts_error_set(err, TS_ENOTFOUND, "no such IIP resolution");
	li = g->nlevels - 1 - (int)rq->res;
	lw = g->levels[li].width;
	lh = g->levels[li].height;
	if (lw == 0 || lh == 0 || lw > g->width || lh > g->height)
		return ts_error_set(err, TS_EINTERNAL, "invalid IIP level geometry");
	ntx = ((uint64_t)lw + tile_w - 1) / tile_w;
	nty = ((uint64_t)lh + tile_h - 1) / tile_h;
	if (rq->tile >= ntx * nty)
		return ts_error_set(err, TS_ENOTFOUND, "no such IIP tile");
	tx = rq->tile % ntx;
	ty = rq->tile / ntx;
	iip_axis((uint32_t)tx, tile_w, lw, g->width, &fx0, &fx1, &ow);
	iip_axis((uint32_t)ty, tile_h, lh, g->height, &fy0, &fy1, &oh);
	ts_tileproto_tile_cmd(fx0, fy0, fx1 - fx0, fy1 - fy0, ow, oh, rq->format, cmd);
	cmd->rotation = rq->rotation;
	cmd->quality = rq->quality;
	return TS_OK;
}

ts_status ts_iip_cvt_cmd(const struct ts_iip_request *rq, uint32_t width, uint32_t height,
                         struct ts_image_cmd *cmd, struct ts_error *err)
{
	uint64_t rw = width, rh = height;

	if (width == 0 || height == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid IIP image geometry");
	memset(cmd, 0, sizeof *cmd);
	cmd->version = 3;
	cmd->region.kind = TS_REGION_FULL;
	if (rq->has_rgn) {
		/* Fractions to pixels, rounding outwards (with a little slack for
		 * decimal noise: 0.3*1000 is 300.00000000000006), clipped. */
		double x0 = fmax(rq->rgn[0], 0), y0 = fmax(rq->rgn[1], 0);
		double x1 = fmin(rq->rgn[0] + rq->rgn[2], 1), y1 = fmin(rq->rgn[1] + rq->rgn[3], 1);
		double px0, py0, px1, py1;
		if (!(x1 > x0) || !(y1 > y0))
			return ts_error_set(err, TS_EBADREQUEST, "RGN lies outside the image");
		px0 = floor(x0 * width + 1e-9);
		py0 = floor(y0 * height + 1e-9);
		px1 = ceil(x1 * width - 1e-9);
		py1 = ceil(y1 * height - 1e-9);
		if (px1 > width)
			px1 = width;
		if (py1 > height)
			py1 = height;
		if (!(px1 > px0) || !(py1 > py0))
			return ts_error_set(err, TS_EBADREQUEST, "RGN is empty");
		cmd->region.kind = TS_REGION_PIXELS;
		cmd->region.x = px0;
		cmd->region.y = py0;
		cmd->region.w = px1 - px0;
		cmd->region.h = py1 - py0;
		rw = (uint64_t)(px1 - px0);
		rh = (uint64_t)(py1 - py0);
	}
	/* iipsrv does not upscale CVT output: clamp to the region first. */
	cmd->size.upscale = false;
	if (rq->has_wid && rq->has_hei) {
		cmd->size.kind = TS_SIZE_FIT;
		cmd->size.w = rq->wid < rw ? rq->wid : (uint32_t)rw;
		cmd->size.h = rq->hei < rh ? rq->hei : (uint32_t)rh;
	} else if (rq->has_wid) {
		cmd->size.kind = TS_SIZE_W;
		cmd->size.w = rq->wid < rw ? rq->wid : (uint32_t)rw;
	} else if (rq->has_hei) {
		cmd->size.kind = TS_SIZE_H;
		cmd->size.h = rq->hei < rh ? rq->hei : (uint32_t)rh;
	} else {
		cmd->size.kind = TS_SIZE_MAX;
	}
	cmd->rotation = rq->rotation;
	cmd->quality = rq->quality;
	cmd->format = rq->format;
	return TS_OK;
}

static bool obj_line(const struct ts_iip_request *rq, const struct ts_iip_image *img,
                     enum ts_iip_obj o, struct ts_buf *out)
{
	const struct ts_geometry *g = img->g;
	int n = g->nlevels;
	bool grey = img->channels == 1 || img->channels == 2;
	uint32_t w = g->width, h = g->height;

	switch (o) {
	case TS_IIP_OBJ_IIP:
		return ts_buf_append_str(out, "IIP:1.0\r\n");
	case TS_IIP_OBJ_IIP_SERVER:
		/* version 3, capability bits 65: CVT jpeg and JTL */
		return ts_buf_append_str(out, "IIP-server:3.65\r\n");
	case TS_IIP_OBJ_MAX_SIZE:
		/* as iipsrv: the size as seen after ROT=90/270 */
		if ((int)rq->rotation.degrees % 180 == 90) {
			uint32_t t = w;
			w = h;
			h = t;
		}
		return ts_buf_printf(out, "Max-size:%u %u\r\n", (unsigned)w, (unsigned)h);
	case TS_IIP_OBJ_TILE_SIZE:
		return ts_buf_printf(out, "Tile-size:%u %u\r\n", (unsigned)img->tile_w,
		                     (unsigned)img->tile_h);
	case TS_IIP_OBJ_RESOLUTION_NUMBER:
		return ts_buf_printf(out, "Resolution-number:%d\r\n", n);
	case TS_IIP_OBJ_RESOLUTIONS:
		if (!ts_buf_append_str(out, "Resolutions:"))
			return false;
		for (int i = n - 1; i >= 0; i--)
			if (!ts_buf_printf(out, "%u %u%s", (unsigned)g->levels[i].width,
			                   (unsigned)g->levels[i].height, i ? "," : "\r\n"))
				return false;
		return true;
	case TS_IIP_OBJ_BITS_PER_CHANNEL:
		return ts_buf_printf(out, "Bits-per-channel:%d\r\n", img->bits > 0 ? img->bits : 8);
	case TS_IIP_OBJ_COLORSPACE:
		/* resolutions 0..n-1, uncalibrated, colour space 1 (grey) or 3
		 * (RGB), then the number of planes and their indices */
		return ts_buf_printf(out, "Colorspace,0-%d,0:0 0 %s\r\n", n - 1,
		                     grey ? "1 1 0" : "3 3 0 1 2");
	case TS_IIP_OBJ_BASIC_INFO:
		return obj_line(rq, img, TS_IIP_OBJ_IIP_SERVER, out) &&
		       obj_line(rq, img, TS_IIP_OBJ_MAX_SIZE, out) &&
		       obj_line(rq, img, TS_IIP_OBJ_RESOLUTION_NUMBER, out) &&
		       obj_line(rq, img, TS_IIP_OBJ_COLORSPACE, out);
	}
	return true;
}

ts_status ts_iip_format_objects(const struct ts_iip_request *rq,
                                const struct ts_iip_image *img,
                                struct ts_buf *out, struct ts_error *err)
{
	for (int i = 0; i < rq->nobj; i++)
		if (!obj_line(rq, img, rq->obj[i], out))
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}

bool ts_iip_format_error(const char *code, const char *arg, struct ts_buf *out)
{
	char clean[49];
	size_t n = 0;

	for (const char *s = arg ? arg : ""; *s && n < sizeof clean - 1; s++) {
		char c = *s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == ',' || c == '.' || c == '_' || c == '-')
			clean[n++] = c;
	}
	clean[n] = '\0';
	return ts_buf_printf(out, "Error/%zu:%s %s\r\n", strlen(code) + 1 + n, code, clean);
}
