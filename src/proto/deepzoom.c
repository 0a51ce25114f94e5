/*
 * deepzoom.c - the DeepZoom (DZI) protocol: parse "/deepzoom/..." URLs,
 * describe the pyramid in the DZI document, and turn a tile into a IIIF
 * command.  Also home of the small helpers the three tile protocols share.
 *
 * Format: Microsoft Deep Zoom, as OpenSeadragon's DziTileSource reads it.
 * The pyramid is implicit: level max = ceil(log2(max(W,H))) is the full
 * image, every level below halves it rounding up, level 0 is 1x1.  Tiles are
 * tile_size square plus `overlap` pixels on every side that has a neighbour.
 * OpenSeadragon derives the tile URLs from the DZI URL by replacing
 * ".dzi"/".xml"/".js" (and any query) with "_files/", then appends
 * "{level}/{col}_{row}.{Format}" and the DZI's query string again.
 *
 * The one idea: a tile is a rectangle of *level* pixels; its full-resolution
 * region is that rectangle times 2^(max-level), clipped to the image, and
 * its output size is the level rectangle's size, asked for exactly
 * (TS_SIZE_WH, upscale allowed), so IIIF rounding never moves a tile edge.
 */
#include <string.h>
#include "tessera/arena.h"
#include "tessera/tileproto.h"

/* --- helpers shared with zoomify.c and iip.c (declared in tileproto.h) --- */

bool ts_tileproto_parse_u32(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	/* Canonical decimals only: a tile has one URL, so one cache entry. */
	if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

ts_status ts_tileproto_identifier(const char *raw, size_t n, unsigned flags,
                                  struct ts_arena *a, const char **out,
                                  struct ts_error *err)
{
	char *copy, *dec;

	if (n == 0)
		return ts_error_set(err, TS_ENOTFOUND, "no identifier in the URL");
	if (!(flags & TS_TILEPROTO_ALLOW_SLASH) && memchr(raw, '/', n))
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	copy = ts_arena_strndup(a, raw, n);
	dec = ts_arena_alloc(a, n + 1);
	if (!copy || !dec)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	if (!ts_percent_decode(copy, dec))
		return ts_error_set(err, TS_EBADREQUEST, "malformed percent-escape in the identifier");
	if (dec[0] == '\0')
		return ts_error_set(err, TS_ENOTFOUND, "no identifier in the URL");
	*out = dec;
	return TS_OK;
}

void ts_tileproto_level_cmd(uint64_t x0, uint64_t y0, uint64_t x1, uint64_t y1, int k,
                            uint32_t width, uint32_t height, enum ts_format f,
                            struct ts_image_cmd *cmd)
{
	/* Level pixel p covers full-resolution [p*2^k, (p+1)*2^k); the last
	 * ones are cut by the image edge. */
	uint64_t fx1 = x1 << k, fy1 = y1 << k;

	if (fx1 > width)
		fx1 = width;
	if (fy1 > height)
		fy1 = height;
	ts_tileproto_tile_cmd(x0 << k, y0 << k, fx1 - (x0 << k), fy1 - (y0 << k),
	                      (uint32_t)(x1 - x0), (uint32_t)(y1 - y0), f, cmd);
}

void ts_tileproto_tile_cmd(uint64_t x, uint64_t y, uint64_t w, uint64_t h,
                           uint32_t out_w, uint32_t out_h, enum ts_format f,
                           struct ts_image_cmd *cmd)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->version = 3;
	cmd->region.kind = TS_REGION_PIXELS;
	cmd->region.x = (double)x;
	cmd->region.y = (double)y;
	cmd->region.w = (double)w;
	cmd->region.h = (double)h;
	/* "^w,h" (IIIF Image API 3.0 §4.2): the exact size, even when it is one
	 * pixel larger than the region because of the level's rounding. */
	cmd->size.kind = TS_SIZE_WH;
	cmd->size.upscale = true;
	cmd->size.w = out_w;
	cmd->size.h = out_h;
	cmd->rotation.degrees = 0;
	cmd->rotation.mirror = false;
	cmd->quality = TS_QUALITY_DEFAULT;
	cmd->format = f;
}

/* --- DeepZoom --- */

#define DZI_NS "http://schemas.microsoft.com/deepzoom/2008"

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool tile_ext(const char *s, size_t n, enum ts_format *f)
{
	if (n == 3 && memcmp(s, "jpg", 3) == 0)
		*f = TS_FORMAT_JPG;
	else if (n == 4 && memcmp(s, "jpeg", 4) == 0)
		*f = TS_FORMAT_JPG;
	else if (n == 3 && memcmp(s, "png", 3) == 0)
		*f = TS_FORMAT_PNG;
	else
		return false;
	return true;
}

/* A JavaScript callback name we are willing to echo into a script:
 * identifier characters (and single inner dots when `dots`), at most 128
 * bytes. */
static bool js_callback_ok(const char *s, size_t n, bool dots)
{
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
		bool digit = c >= '0' && c <= '9';
		if (c == '.' && dots) {
			if (i == 0 || i == n - 1 || s[i - 1] == '.')
				return false;
			continue;
		}
		if (!alpha && !(digit && i > 0 && s[i - 1] != '.'))
			return false;
	}
	return true;
}

/* Find the value of `name` in a '&'-separated query; NULL when absent. */
static const char *query_value(const char *query, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = query;

	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
			*len = n - nl - 1;
			return p + nl + 1;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static ts_status parse_info(const char *rest, size_t n, const char *query, unsigned flags,
                            struct ts_arena *a, struct ts_deepzoom_request *out,
                            struct ts_error *err)
{
	size_t idn, vn = 0;
	const char *v;
	ts_status st;

	out->route = TS_DZ_INFO;
	if (ends_with(rest, n, ".js")) {
		idn = n - 3;
		out->info_kind = TS_DZ_JSONP;
		v = query ? query_value(query, "callback", &vn) : NULL;
		if (v) {
			if (!js_callback_ok(v, vn, true))
				return ts_error_set(err, TS_EBADREQUEST, "invalid JSONP callback name");
			out->callback = ts_arena_strndup(a, v, vn);
		} else {
			/* OpenSeadragon's convention without a query: the callback is
			 * the file name without ".js", used as window[name], so no
			 * dots.  When that is no JS name, the only sensible answer is
			 * plain JSON. */
			const char *base = rest;
			for (size_t i = 0; i < idn; i++)
				if (rest[i] == '/')
					base = rest + i + 1;
			vn = idn - (size_t)(base - rest);
			if (js_callback_ok(base, vn, false))
				out->callback = ts_arena_strndup(a, base, vn);
			else
				out->info_kind = TS_DZ_JSON;
		}
		if (out->info_kind == TS_DZ_JSONP && !out->callback)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
	} else {
		idn = n - 4;   /* ".dzi" or ".xml" */
		out->info_kind = TS_DZ_XML;
		v = query ? query_value(query, "format", &vn) : NULL;
		if (v && vn == 4 && memcmp(v, "json", 4) == 0)
			out->info_kind = TS_DZ_JSON;
	}
	st = ts_tileproto_identifier(rest, idn, flags, a, &out->identifier, err);
	return st;
}

/* "{id}_files/{level}/{col}_{row}.{ext}", parsed from the end so that the
 * identifier may hold anything. */
static ts_status parse_tile(const char *rest, size_t n, unsigned flags,
                            struct ts_arena *a, struct ts_deepzoom_request *out,
                            struct ts_error *err)
{
	const char *name, *under, *dot, *lvl;
	size_t i, namen, lvln;

	for (i = n; i > 0 && rest[i - 1] != '/'; i--)
		;
	if (i == 0)
		goto notfound;
	name = rest + i;
	namen = n - i;
	dot = memchr(name, '.', namen);
	under = memchr(name, '_', namen);
	if (!dot || !under || under > dot)
		goto notfound;
	if (!tile_ext(dot + 1, namen - (size_t)(dot + 1 - name), &out->format))
		goto notfound;
	if (!ts_tileproto_parse_u32(name, (size_t)(under - name), &out->col) ||
	    !ts_tileproto_parse_u32(under + 1, (size_t)(dot - under - 1), &out->row))
		goto notfound;

	/* the level segment */
	lvln = 0;
	for (i = i - 1; i > 0 && rest[i - 1] != '/'; i--)
		lvln++;
	if (i == 0)
		goto notfound;
	lvl = rest + i;
	if (!ts_tileproto_parse_u32(lvl, lvln, &out->level))
		goto notfound;
	/* i - 1 is the '/' before the level; before it must be "_files" */
	if (!ends_with(rest, i - 1, "_files"))
		goto notfound;
	out->route = TS_DZ_TILE;
	return ts_tileproto_identifier(rest, i - 1 - 6, flags, a, &out->identifier, err);

notfound:
	return ts_error_set(err, TS_ENOTFOUND, "no such DeepZoom route");
}

ts_status ts_deepzoom_parse(const char *path, const char *query, unsigned flags,
                            struct ts_arena *a, struct ts_deepzoom_request *out,
                            struct ts_error *err)
{
	const char *rest;
	size_t n;

	memset(out, 0, sizeof *out);
	if (!path || path[0] != '/')
		return ts_error_set(err, TS_ENOTFOUND, "no such DeepZoom route");
	rest = path + 1;
	n = strlen(rest);
	if (ends_with(rest, n, ".dzi") || ends_with(rest, n, ".xml") || ends_with(rest, n, ".js"))
		return parse_info(rest, n, query, flags, a, out, err);
	return parse_tile(rest, n, flags, a, out, err);
}

int ts_deepzoom_max_level(uint32_t w, uint32_t h)
{
	uint64_t m = w > h ? w : h;
	int k = 0;

	/* the smallest k with 2^k >= max(w,h): ceil(log2) without floats */
	while (((uint64_t)1 << k) < m)
		k++;
	return k;
}

void ts_deepzoom_level_size(uint32_t w, uint32_t h, int level, uint32_t *lw, uint32_t *lh)
{
	int max = ts_deepzoom_max_level(w, h);
	int k = level < 0 ? max : (level > max ? 0 : max - level);
	uint64_t d = (uint64_t)1 << k;

	/* ceil(w / 2^k): ceil-halving k times gives the same number */
	*lw = (uint32_t)(((uint64_t)w + d - 1) >> k);
	*lh = (uint32_t)(((uint64_t)h + d - 1) >> k);
}

/* One axis of a DZI tile: level pixels [*a0, *a1) of tile index t. */
static bool dz_axis(uint32_t t, uint32_t level_size, uint32_t ts, uint32_t overlap,
                    uint64_t *a0, uint64_t *a1)
{
	uint64_t n = ((uint64_t)level_size + ts - 1) / ts;
	uint64_t start, end;

	if (t >= n)
		return false;
	start = (uint64_t)t * ts;
	if (t > 0)
		start -= overlap < start ? overlap : start;
	end = ((uint64_t)t + 1) * ts + overlap;
	if (end > level_size)
		end = level_size;
	*a0 = start;
	*a1 = end;
	return true;
}

ts_status ts_deepzoom_tile_cmd(const struct ts_deepzoom_request *rq,
                               uint32_t width, uint32_t height,
                               uint32_t tile_size, uint32_t overlap,
                               struct ts_image_cmd *cmd, struct ts_error *err)
{
	uint32_t lw, lh;
	uint64_t x0, x1, y0, y1;
	int max, k;

	if (tile_size == 0 || width == 0 || height == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid DeepZoom tile geometry");
	max = ts_deepzoom_max_level(width, height);
	if (rq->route != TS_DZ_TILE || rq->level > (uint32_t)max)
		return ts_error_set(err, TS_ENOTFOUND, "no such DeepZoom level");
	ts_deepzoom_level_size(width, height, (int)rq->level, &lw, &lh);
	if (!dz_axis(rq->col, lw, tile_size, overlap, &x0, &x1) ||
	    !dz_axis(rq->row, lh, tile_size, overlap, &y0, &y1))
		return ts_error_set(err, TS_ENOTFOUND, "no such DeepZoom tile");

	/* Level pixel p covers full-resolution [p*2^k, (p+1)*2^k).  x0 < lw =
	 * ceil(width/2^k) implies x0*2^k < width, so the region is never empty. */
	k = max - (int)rq->level;
	ts_tileproto_level_cmd(x0, y0, x1, y1, k, width, height, rq->format, cmd);
	return TS_OK;
}

ts_status ts_deepzoom_format_info(const struct ts_deepzoom_request *rq,
                                  uint32_t width, uint32_t height,
                                  uint32_t tile_size, uint32_t overlap,
                                  enum ts_format format, struct ts_buf *out,
                                  const char **mime, struct ts_error *err)
{
	const char *fmt = format == TS_FORMAT_PNG ? "png" : "jpg";
	const char *m;
	bool ok;

	if (rq->info_kind == TS_DZ_XML) {
		m = "application/xml";
		ok = ts_buf_printf(out,
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<Image xmlns=\"" DZI_NS "\" Format=\"%s\" Overlap=\"%u\" TileSize=\"%u\">"
			"<Size Width=\"%u\" Height=\"%u\"/></Image>\n",
			fmt, (unsigned)overlap, (unsigned)tile_size,
			(unsigned)width, (unsigned)height);
	} else {
		/* OpenSeadragon maps DZI XML to JSON with the attribute values as
		 * strings; DziTileSource parseInt()s them, so strings are safest. */
		bool jsonp = rq->info_kind == TS_DZ_JSONP && rq->callback;
		m = jsonp ? "application/javascript" : "application/json";
		ok = (!jsonp || (ts_buf_append_str(out, rq->callback) &&
		                 ts_buf_append_str(out, "("))) &&
		     ts_buf_printf(out,
			"{\"Image\":{\"xmlns\":\"" DZI_NS "\",\"Format\":\"%s\","
			"\"Overlap\":\"%u\",\"TileSize\":\"%u\","
			"\"Size\":{\"Width\":\"%u\",\"Height\":\"%u\"}}}",
			fmt, (unsigned)overlap, (unsigned)tile_size,
			(unsigned)width, (unsigned)height) &&
		     ts_buf_append_str(out, jsonp ? ");\n" : "\n");
	}
	if (!ok)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	if (mime)
		*mime = m;
	return TS_OK;
}
