/*
 * json3.c - shared pieces of Presentation 3.0 JSON (json3.h): the URL
 * forms of URLS.md, image bodies and thumbnails of a concrete size from
 * info.json's `sizes`, and their service blocks.
 *
 * The one idea: every picture a Manifest points at is a size the image
 * server makes within its limits and decode budget - a size info.json
 * lists (a stored level) when one is small enough and affordable, else the
 * image scaled to the wanted side, never a size that only ever answers 403
 * or the whole of an unpyramided image - and the service blocks embed the
 * very `sizes` and `tiles` info.json gives (ts_info_service), so the two
 * never disagree.  What a size costs is the planner's answer for it
 * (ts_plan_make), counted as the readers count their budget.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json3.h"
#include "tessera/info.h"
#include "tessera/checked.h"
#include "tessera/plan.h"

bool ts_pj_put(json_t *obj, const char *key, json_t *val)
{
	return val && json_object_set_new(obj, key, val) == 0;
}

bool ts_pj_push(json_t *arr, json_t *val)
{
	return val && json_array_append_new(arr, val) == 0;
}

json_t *ts_pj_one(json_t *v)
{
	json_t *a = json_array();

	if (!a || !ts_pj_push(a, v)) {
		json_decref(a);
		if (!a)
			json_decref(v);
		return NULL;
	}
	return a;
}

json_t *ts_pj_printf(const char *fmt, ...)
{
	char small[512], *big = NULL;
	json_t *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	if ((size_t)n < sizeof small)
		return json_string(small);
	big = malloc((size_t)n + 1);
	if (!big)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s = json_string(big);
	free(big);
	return s;
}

json_t *ts_pj_copy(const json_t *v)
{
	return v ? json_deep_copy(v) : NULL;
}

json_t *ts_pj_lang(const char *language, const char *s)
{
	json_t *m = json_object(), *a = json_array();

	if (!m || !a || !ts_pj_push(a, json_string(s)) ||
	    json_object_set_new(m, language && *language ? language : "none", a) != 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *ts_pj_service_url(const struct ts_present_ctx *c, int version, const char *rel)
{
	char *iid = ts_present_encode_id(rel);
	json_t *s;

	if (!iid)
		return NULL;
	s = ts_pj_printf("%s/iiif/%d/%s", c->base, version, iid);
	free(iid);
	return s;
}

json_t *ts_pj_res_url(const struct ts_present_ctx *c, const char *fid, const char *file)
{
	char *f = ts_present_encode_id(file);
	json_t *s;

	if (!f)
		return NULL;
	s = ts_pj_printf("%s/iiif/%s/res/%s", c->base, fid, f);
	free(f);
	return s;
}

static void info_params(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                        int version, const char *id, struct ts_info_params *ip)
{
	memset(ip, 0, sizeof *ip);
	ip->version = version;
	ip->id = id;
	ip->src = &p->info;
	ip->limits = c->limits;
	memcpy(ip->formats, c->formats, sizeof ip->formats);
}

/* Two sources with the same stored geometry get the same sizes and tiles. */
static bool same_geometry(const struct ts_source_info *a, const struct ts_source_info *b)
{
	if (a->width != b->width || a->height != b->height || a->nlevels != b->nlevels)
		return false;
	return memcmp(a->levels, b->levels, (size_t)a->nlevels * sizeof a->levels[0]) == 0;
}

void ts_pj_memo_free(struct ts_pj_memo *m)
{
	if (!m)
		return;
	json_decref(m->sizes);
	json_decref(m->tiles);
	memset(m, 0, sizeof *m);
}

/* The sizes and tiles of p (as info.json lists them) into the memo, built
 * only when p's geometry differs from the last one: a book's pages mostly
 * share one, and the arrays are then shared (referenced) by every canvas. */
static bool memo_fill(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                      struct ts_pj_memo *m)
{
	struct ts_info_params ip;
	json_t *svc;

	if (m->set && same_geometry(&m->info, &p->info))
		return true;
	ts_pj_memo_free(m);
	info_params(c, p, 3, "-", &ip);
	svc = ts_info_service(&ip, true);
	if (!svc)
		return false;
	m->sizes = json_incref(json_object_get(svc, "sizes"));
	m->tiles = json_incref(json_object_get(svc, "tiles"));
	json_decref(svc);
	m->info = p->info;
	m->set = true;
	return true;
}

/* Source pixels the server decodes to answer full/{w},{h} of this image:
 * the read rectangle of the level the planner picks for it, exactly as
 * ts_serve_image plans the request (before any DCT reduction a JPEG
 * decoder may add: a bound, not an estimate).  UINT64_MAX when the
 * planner refuses the size. */
static uint64_t decode_cost(const struct ts_present_ctx *c, const struct ts_source_info *info,
                            uint32_t w, uint32_t h)
{
	struct ts_image_cmd cmd;
	struct ts_geometry g;
	struct ts_plan plan;
	struct ts_error e;
	const struct ts_source_level *lv;
	uint64_t cost;

	memset(&cmd, 0, sizeof cmd);
	memset(&g, 0, sizeof g);
	cmd.version = 3;
	cmd.region.kind = TS_REGION_FULL;
	cmd.size.kind = TS_SIZE_WH;
	cmd.size.w = w;
	cmd.size.h = h;
	cmd.quality = TS_QUALITY_DEFAULT;
	cmd.format = TS_FORMAT_JPG;
	g.width = info->width;
	g.height = info->height;
	g.nlevels = info->nlevels;
	for (int i = 0; i < info->nlevels && i < TS_MAX_LEVELS; i++) {
		g.levels[i].width = info->levels[i].width;
		g.levels[i].height = info->levels[i].height;
	}
	ts_error_clear(&e);
	if (ts_plan_make(&cmd, &g, c->limits, &plan, &e) != TS_OK || plan.level < 0 ||
	    plan.level >= info->nlevels)
		return UINT64_MAX;
	lv = &info->levels[plan.level];
	if (lv->tile_w && lv->tile_h) {
		/* a tiled reader decodes every touched tile whole (source.h) */
		uint64_t across = ((uint64_t)plan.read_x + plan.read_w - 1) / lv->tile_w -
		                  plan.read_x / lv->tile_w + 1;
		uint64_t down = ((uint64_t)plan.read_y + plan.read_h - 1) / lv->tile_h -
		                plan.read_y / lv->tile_h + 1;
		uint64_t tiles;

		if (!ts_mul_u64(across, down, &tiles) ||
		    !ts_mul_u64(tiles, (uint64_t)lv->tile_w * lv->tile_h, &cost))
			return UINT64_MAX;
		return cost > info->min_decode ? cost : info->min_decode;
	}
	/* strips: the rows read (a strip's rounding is not in the info) */
	cost = (uint64_t)plan.read_w * plan.read_h;
	return cost > info->min_decode ? cost : info->min_decode;
}

bool ts_present_affordable(const struct ts_present_ctx *c, const struct ts_source_info *info,
                           uint32_t w, uint32_t h)
{
	uint64_t cost = decode_cost(c, info, w, h);

	return cost != UINT64_MAX && (!c->max_decode_pixels || cost <= c->max_decode_pixels);
}

/* The size of a picture (URLS.md): the largest sizes entry of longest side
 * <= max_side that the server makes within max_decode_pixels.  When no
 * entry is that small and cheap (an unpyramided image lists only its full
 * size; a huge one lists a "max" it cannot decode), the image scaled to a
 * longest side of max_side (never up), when that is within the budget: the
 * planner reads the smallest level at least that size, so no whole-image
 * request is cheaper.  false when none is: the server cannot make the
 * whole image at any size, and a URL for it would only ever be a 403. */
static bool pick(const struct ts_present_ctx *c, const struct ts_source_info *info,
                 const json_t *sizes, uint32_t max_side, uint32_t *w, uint32_t *h)
{
	size_t i, n = json_array_size(sizes);
	uint32_t longest = info->width > info->height ? info->width : info->height;
	bool found = false;

	for (i = 0; i < n; i++) {   /* smallest first: keep the last that fits */
		json_t *o = json_array_get(sizes, i);
		uint32_t sw = (uint32_t)json_integer_value(json_object_get(o, "width"));
		uint32_t sh = (uint32_t)json_integer_value(json_object_get(o, "height"));

		if ((sw > sh ? sw : sh) <= max_side && ts_present_affordable(c, info, sw, sh)) {
			*w = sw;
			*h = sh;
			found = true;
		}
	}
	if (found)
		return true;
	if (longest == 0)
		return false;
	if (longest <= max_side) {
		*w = info->width;
		*h = info->height;
	} else {
		/* the longest side max_side, the other rounded, at least 1 */
		uint64_t sw = ((uint64_t)info->width * max_side + longest / 2) / longest;
		uint64_t sh = ((uint64_t)info->height * max_side + longest / 2) / longest;

		*w = sw ? (uint32_t)sw : 1;
		*h = sh ? (uint32_t)sh : 1;
	}
	return ts_present_affordable(c, info, *w, *h);
}

bool ts_present_pick_size(const struct ts_present_ctx *c, const struct ts_source_info *info,
                          uint32_t max_side, uint32_t *w, uint32_t *h)
{
	struct ts_present_picture p;
	struct ts_pj_memo m;
	bool ok;

	memset(&p, 0, sizeof p);
	memset(&m, 0, sizeof m);
	p.info = *info;
	if (!memo_fill(c, &p, &m))
		return false;
	ok = pick(c, info, m.sizes, max_side, w, h);
	ts_pj_memo_free(&m);
	return ok;
}

bool ts_present_renderable(const struct ts_present_ctx *c, const struct ts_source_info *info)
{
	const struct ts_source_level *l;

	if (info->nlevels < 1)
		return false;
	/* the cheapest whole-image answer reads the smallest level whole */
	l = &info->levels[info->nlevels - 1];
	return ts_present_affordable(c, info, l->width, l->height);
}

/* ---- serialising ------------------------------------------------------ */

/* A real the shortest way that reads back as the same double (at most 17
 * digits), with ".0" on integral values so it stays a JSON real. */
static bool write_real(struct ts_buf *b, double v)
{
	char s[40];
	int p;

	if (v != v || v - v != 0)   /* NaN or infinite: not JSON */
		return false;
	for (p = 1; p <= 17; p++) {
		snprintf(s, sizeof s, "%.*g", p, v);
		if (strtod(s, NULL) == v)
			break;
	}
	if (!strpbrk(s, ".eE"))
		strcat(s, ".0");
	return ts_buf_append_str(b, s);
}

/* A JSON string (RFC 8259 §7): '"', '\\' and controls escaped, UTF-8 kept
 * (jansson has already refused invalid UTF-8 when the string was made). */
static bool write_string(struct ts_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	if (!ts_buf_append(b, "\"", 1))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t el = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (i > run && !ts_buf_append(b, s + run, i - run))
			return false;
		esc[0] = '\\';
		switch (c) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			el = 6;
		}
		if (!ts_buf_append(b, esc, el))
			return false;
		run = i + 1;
	}
	return (n <= run || ts_buf_append(b, s + run, n - run)) && ts_buf_append(b, "\"", 1);
}

static bool write_value(struct ts_buf *b, const json_t *v, int depth)
{
	char num[32];

	if (depth > 64)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *val;
		bool first = true;

		if (!ts_buf_append(b, "{", 1))
			return false;
		json_object_foreach((json_t *)v, key, val) {
			if ((!first && !ts_buf_append(b, ",", 1)) ||
			    !write_string(b, key, strlen(key)) || !ts_buf_append(b, ":", 1) ||
			    !write_value(b, val, depth + 1))
				return false;
			first = false;
		}
		return ts_buf_append(b, "}", 1);
	}
	case JSON_ARRAY: {
		size_t i, n = json_array_size(v);

		if (!ts_buf_append(b, "[", 1))
			return false;
		for (i = 0; i < n; i++)
			if ((i && !ts_buf_append(b, ",", 1)) ||
			    !write_value(b, json_array_get(v, i), depth + 1))
				return false;
		return ts_buf_append(b, "]", 1);
	}
	case JSON_STRING:
		return write_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return ts_buf_append_str(b, num);
	case JSON_REAL:
		return write_real(b, json_real_value(v));
	case JSON_TRUE:
		return ts_buf_append(b, "true", 4);
	case JSON_FALSE:
		return ts_buf_append(b, "false", 5);
	case JSON_NULL:
		return ts_buf_append(b, "null", 4);
	}
	return false;
}

bool ts_pj_write(const json_t *v, struct ts_buf *out)
{
	/* a Manifest is mostly its canvases: reserve what a typical one needs */
	if (json_is_object(v) && !ts_buf_reserve(out, 4096))
		return false;
	return write_value(out, v, 0) && ts_buf_append(out, "\n", 1);
}

/* ---- streaming -------------------------------------------------------- */

/* Whether s[0..n) is UTF-8 (RFC 3629: no overlongs, no surrogates, at
 * most U+10FFFF), as jansson insists for every string it holds. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += k + 1;
	}
	return true;
}

bool ts_pj_w(struct ts_buf *b, const char *lit)
{
	return ts_buf_append_str(b, lit);
}

bool ts_pj_w_str(struct ts_buf *b, const char *s)
{
	size_t n = strlen(s);

	return utf8_ok((const unsigned char *)s, n) && write_string(b, s, n);
}

bool ts_pj_w_strf(struct ts_buf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	bool ok;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	if ((size_t)n < sizeof small)
		return ts_pj_w_str(b, small);
	big = malloc((size_t)n + 1);
	if (!big)
		return false;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ok = ts_pj_w_str(b, big);
	free(big);
	return ok;
}

bool ts_pj_w_int(struct ts_buf *b, long long v)
{
	char num[32];

	snprintf(num, sizeof num, "%lld", v);
	return ts_buf_append_str(b, num);
}

bool ts_pj_w_real(struct ts_buf *b, double v)
{
	return write_real(b, v);
}

bool ts_pj_w_value(struct ts_buf *b, const json_t *v)
{
	return v && write_value(b, v, 0);
}

bool ts_pj_w_lang(struct ts_buf *b, const char *language, const char *s)
{
	return ts_pj_w(b, "{") && ts_pj_w_str(b, language && *language ? language : "none") &&
	       ts_pj_w(b, ":[") && ts_pj_w_str(b, s) && ts_pj_w(b, "]}");
}

/* One service block: {id|@id, type|@type, profile[, width, height, sizes,
 * tiles]} - the order of ts_info_service, with the memo's arrays. */
static bool w_service(struct ts_buf *b, const struct ts_present_ctx *c, const char *iid,
                      const struct ts_present_picture *p, int version,
                      const struct ts_pj_memo *m)
{
	if (version == 3) {
		if (!ts_pj_w(b, "{\"id\":") || !ts_pj_w_strf(b, "%s/iiif/3/%s", c->base, iid) ||
		    !ts_pj_w(b, ",\"type\":\"ImageService3\",\"profile\":\"level2\""))
			return false;
	} else {
		if (!ts_pj_w(b, "{\"@id\":") || !ts_pj_w_strf(b, "%s/iiif/2/%s", c->base, iid) ||
		    !ts_pj_w(b, ",\"@type\":\"ImageService2\",\"profile\":"
		                "\"http://iiif.io/api/image/2/level2.json\""))
			return false;
	}
	if (m && (!ts_pj_w(b, ",\"width\":") || !ts_pj_w_int(b, p->info.width) ||
	          !ts_pj_w(b, ",\"height\":") || !ts_pj_w_int(b, p->info.height) ||
	          (json_array_size(m->sizes) &&
	           (!ts_pj_w(b, ",\"sizes\":") || !ts_pj_w_value(b, m->sizes))) ||
	          (json_array_size(m->tiles) &&
	           (!ts_pj_w(b, ",\"tiles\":") || !ts_pj_w_value(b, m->tiles)))))
		return false;
	return ts_pj_w(b, "}");
}

bool ts_pj_w_image(struct ts_buf *b, const struct ts_present_ctx *c,
                   const struct ts_present_picture *p, uint32_t max_side, bool full_services,
                   struct ts_pj_memo *memo)
{
	char *iid = p->rel ? ts_present_encode_id(p->rel) : NULL;
	struct ts_pj_memo local;
	uint32_t w = 0, h = 0;
	bool ok = false;

	memset(&local, 0, sizeof local);
	if (!memo)
		memo = &local;
	/* the model refuses such a canvas; a thumbnail is left out */
	if (!iid || !memo_fill(c, p, memo) || !pick(c, &p->info, memo->sizes, max_side, &w, &h))
		goto done;
	/* URLS.md: a concrete size, never "max" */
	ok = ts_pj_w(b, "{\"id\":") &&
	     ts_pj_w_strf(b, "%s/iiif/3/%s/full/%u,%u/0/default.jpg", c->base, iid, w, h) &&
	     ts_pj_w(b, ",\"type\":\"Image\",\"format\":\"image/jpeg\",\"height\":") &&
	     ts_pj_w_int(b, h) && ts_pj_w(b, ",\"width\":") && ts_pj_w_int(b, w) &&
	     ts_pj_w(b, ",\"service\":[") &&
	     w_service(b, c, iid, p, 3, full_services ? memo : NULL) &&
	     /* thumbnails carry the ImageService3 alone: enough for a viewer
	      * to ask another size, half the bytes in a book of thousands */
	     (!full_services || !c->image_service2 || (ts_pj_w(b, ",") &&
	                                               w_service(b, c, iid, p, 2, memo))) &&
	     ts_pj_w(b, "]}");
done:
	free(iid);
	ts_pj_memo_free(&local);
	return ok;
}

bool ts_pj_w_thumbnail(struct ts_buf *b, const char *key, const struct ts_present_ctx *c,
                       const struct ts_present_picture *p, struct ts_pj_memo *memo)
{
	size_t mark = b->len;

	if (!p || !p->rel || !p->info.width)
		return true;
	if (ts_pj_w(b, key) && ts_pj_w(b, "[") &&
	    ts_pj_w_image(b, c, p, TS_PRESENT_THUMB_SIDE, false, memo) && ts_pj_w(b, "]"))
		return true;
	b->len = mark;   /* no size the server makes within its budget: none */
	return true;
}
