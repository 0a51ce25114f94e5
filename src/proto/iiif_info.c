/*
 * iiif_info.c - the IIIF info.json document, for Image API 3.0 and 2.1.
 *
 * Sits at the end of an info request: the server has resolved and opened
 * the image and hands us its geometry, the limits and the formats this build
 * can encode; we return JSON text built with jansson (never by printf, so an
 * identifier or a rights URL can never break the document).
 *
 * The one idea: advertise only what really works.  Every property is derived
 * from the same facts the planner and the encoders use - the stored pyramid
 * levels, the configured limits, the encoders built in - so a client that
 * follows this document never meets a 400 or a 501 (the field notes list
 * servers that advertise "tif" and answer 400, "sizeUpscaling" with upscaling
 * off, and maxWidth 4294967295 for "unlimited").
 *
 * Sections cited: IIIF Image API 3.0 §5.2-§5.7 and Compliance 3.0 §3-§4;
 * Image API 2.1 §5.1-§5.3 and Compliance 2.1 §3-§4.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "tessera/command.h"
#include "tessera/info.h"

/* Tile edge advertised for sources stored in strips or untiled: the server
 * cuts such tiles on the fly, 512 is a good size for viewers. */
#define VIRTUAL_TILE 512

/* The limits as a client must read them.  3.0 §5.2 and 2.1 §5.3: maxWidth
 * must be given when maxHeight is, and a client infers maxHeight = maxWidth
 * when only maxWidth is given.  So the effective height limit is the
 * configured one or, failing that, the width limit; and when only a height
 * limit is configured we still have to print a maxWidth: the image width is
 * a truthful, conservative value (wider output would need upscaling). */
struct eff_limits {
	uint32_t max_w, max_h;    /* 0 = none */
	uint64_t max_area;        /* 0 = none */
	bool print_w, print_h, print_area;
};

static void limits_effective(const struct ts_info_params *p, struct eff_limits *e)
{
	const struct ts_limits *l = p->limits;

	memset(e, 0, sizeof *e);
	if (!l)
		return;
	if (l->max_width) {
		e->max_w = l->max_width;
		e->print_w = true;
	} else if (l->max_height) {
		e->max_w = p->src->width;
		e->print_w = true;
	}
	if (l->max_height) {
		e->max_h = l->max_height;
		e->print_h = true;
	} else {
		e->max_h = e->max_w;   /* what the client will infer */
	}
	/* jansson integers are signed 64-bit; a larger area is no limit. */
	if (l->max_area && l->max_area <= (uint64_t)INT64_MAX) {
		e->max_area = l->max_area;
		e->print_area = true;
	}
}

static bool within(const struct eff_limits *e, uint32_t w, uint32_t h)
{
	if (e->max_w && w > e->max_w)
		return false;
	if (e->max_h && h > e->max_h)
		return false;
	if (e->max_area && (uint64_t)w * h > e->max_area)
		return false;
	return true;
}

/* Helpers that take ownership of the value (jansson's _new variants) and
 * report failure so one check covers allocation and insertion. */
static bool put(json_t *obj, const char *key, json_t *val)
{
	return val && json_object_set_new(obj, key, val) == 0;
}

static bool push(json_t *arr, json_t *val)
{
	return val && json_array_append_new(arr, val) == 0;
}

static json_t *size_object(uint32_t w, uint32_t h)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (!put(o, "width", json_integer(w)) || !put(o, "height", json_integer(h))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* 3.0 §5.3 / 2.1 §5.1 "sizes": one entry per stored level, smallest first,
 * only those a client may request under the limits.  When the full size is
 * over the limits, the size "max" resolves to is offered as the largest
 * entry, so a viewer can still fetch the biggest picture in one request. */
static json_t *sizes_array(const struct ts_info_params *p, const struct eff_limits *e)
{
	const struct ts_source_info *s = p->src;
	json_t *arr = json_array();
	uint32_t last_w = 0, last_h = 0;
	int i;

	if (!arr)
		return NULL;
	for (i = s->nlevels - 1; i >= 0; i--) {
		uint32_t w = s->levels[i].width, h = s->levels[i].height;

		if (w == 0 || h == 0 || !within(e, w, h))
			continue;
		if (w <= last_w && h <= last_h)
			continue;   /* not larger than the previous entry */
		if (!push(arr, size_object(w, h)))
			goto fail;
		last_w = w;
		last_h = h;
	}
	if (p->limits && !within(e, s->width, s->height)) {
		uint32_t mw = 0, mh = 0;

		ts_plan_max_size(s->width, s->height, p->limits, false, &mw, &mh);
		if (mw && mh && within(e, mw, mh) && (mw > last_w || mh > last_h)) {
			if (!push(arr, size_object(mw, mh)))
				goto fail;
		}
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

static bool is_pow2(uint32_t v)
{
	return v && (v & (v - 1)) == 0;
}

/* 3.0 §5.4 / 2.1 §5.1 "tiles".  The tile size is the one stored in level 0
 * (or VIRTUAL_TILE for strips).  Scale factors come from the stored levels:
 * level i has factor round(width / level width) - libvips floor-halves, so
 * 1001 px over 500 px still means 2 - and we keep the levels while the
 * factors are strictly increasing powers of two, because a viewer computes
 * level sizes as ceil(width / factor) and expects halving.  A source with a
 * single level (no pyramid) gets virtual factors down to one tile: the
 * server can scale on the fly, and without them a viewer would fetch every
 * full-resolution tile to show the whole image. */
static json_t *tiles_array(const struct ts_info_params *p, const struct eff_limits *e)
{
	const struct ts_source_info *s = p->src;
	uint32_t tw = s->levels[0].tile_w, th = s->levels[0].tile_h;
	uint32_t prev = 0, f;
	json_t *arr = NULL, *tile = NULL, *factors = NULL;
	int i;

	if (tw == 0 || th == 0)
		tw = th = VIRTUAL_TILE;
	/* 3.0 §5.2: sizes implied by tiles must be within the limits. */
	if (!within(e, tw, th))
		return json_array();

	factors = json_array();
	if (!factors)
		goto fail;
	for (i = 0; i < s->nlevels; i++) {
		uint32_t lw = s->levels[i].width;

		if (lw == 0)
			break;
		f = (uint32_t)floor((double)s->width / lw + 0.5);
		if (!is_pow2(f) || f <= prev)
			break;
		if (!push(factors, json_integer(f)))
			goto fail;
		prev = f;
	}
	if (s->nlevels == 1) {
		uint32_t longest = s->width > s->height ? s->width : s->height;
		uint32_t edge = tw < th ? tw : th;

		for (f = 2; f != 0 && f < (UINT32_C(1) << 31); f *= 2) {
			if ((uint64_t)edge * (f / 2) >= longest)
				break;
			if (!push(factors, json_integer(f)))
				goto fail;
		}
	}

	if (json_array_size(factors) == 0) {   /* a level 0 of width 0: no tiles */
		json_decref(factors);
		return json_array();
	}
	arr = json_array();
	tile = json_object();
	if (!arr || !tile)
		goto fail;
	if (!put(tile, "width", json_integer(tw)))
		goto fail;
	if (th != tw && !put(tile, "height", json_integer(th)))
		goto fail;
	if (json_object_set_new(tile, "scaleFactors", factors) != 0) {
		factors = NULL;   /* set_new consumed it even on failure */
		goto fail;
	}
	factors = NULL;
	if (json_array_append_new(arr, tile) != 0) {
		tile = NULL;
		goto fail;
	}
	return arr;
fail:
	json_decref(factors);
	json_decref(tile);
	json_decref(arr);
	return NULL;
}

/* Formats in the order we list them; only those the encoder has. */
static const enum ts_format all_formats[] = {
	TS_FORMAT_JPG, TS_FORMAT_PNG, TS_FORMAT_WEBP, TS_FORMAT_TIF,
	TS_FORMAT_GIF, TS_FORMAT_JP2, TS_FORMAT_PDF
};

static const char *format_name(enum ts_format f)
{
	switch (f) {
	case TS_FORMAT_JPG:  return "jpg";
	case TS_FORMAT_PNG:  return "png";
	case TS_FORMAT_WEBP: return "webp";
	case TS_FORMAT_TIF:  return "tif";
	case TS_FORMAT_GIF:  return "gif";
	case TS_FORMAT_JP2:  return "jp2";
	case TS_FORMAT_PDF:  return "pdf";
	}
	return "";
}

static bool format_built(const struct ts_info_params *p, enum ts_format f)
{
	return (size_t)f < sizeof p->formats / sizeof p->formats[0] && p->formats[f];
}

/* Formats beyond jpg and png (both required at level 2, Compliance 3.0
 * §3.5 and 2.1 §3.5) when extra_only; every built format otherwise. */
static json_t *formats_array(const struct ts_info_params *p, bool extra_only)
{
	json_t *arr = json_array();
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < sizeof all_formats / sizeof all_formats[0]; i++) {
		enum ts_format f = all_formats[i];

		if (extra_only && (f == TS_FORMAT_JPG || f == TS_FORMAT_PNG))
			continue;
		if (!format_built(p, f))
			continue;
		if (!push(arr, json_string(format_name(f)))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *string_array(const char *const *names, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < n; i++) {
		if (!names[i])
			continue;
		if (!push(arr, json_string(names[i]))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* What the server does beyond the level-2 profile.  Level 2 of 3.0 already
 * requires regionByPx/Pct, regionSquare, the six size forms, rotationBy90s,
 * baseUriRedirect, cors and jsonldMediaType (Compliance 3.0 §3-§4); what is
 * left and implemented is below.  sizeUpscaling (the "^" forms, 3.0 §4.2)
 * only when it is switched on. */
static json_t *features3(const struct ts_info_params *p)
{
	const char *names[] = {
		"canonicalLinkHeader",
		"mirroring",
		"profileLinkHeader",
		"rotationArbitrary",
		p->limits && p->limits->allow_upscaling ? "sizeUpscaling" : NULL,
	};
	return string_array(names, sizeof names / sizeof names[0]);
}

/* Level 2 of 2.1 does not require regionSquare (Compliance 2.1 §3.1), so it
 * is listed here; sizeAboveFull (2.1 §4.2) only with upscaling on. */
static json_t *features2(const struct ts_info_params *p)
{
	const char *names[] = {
		"canonicalLinkHeader",
		"mirroring",
		"profileLinkHeader",
		"regionSquare",
		"rotationArbitrary",
		p->limits && p->limits->allow_upscaling ? "sizeAboveFull" : NULL,
	};
	return string_array(names, sizeof names / sizeof names[0]);
}

/* Add the limits to obj (top level in 3.0 §5.2, the profile object in 2.1
 * §5.3); nothing is printed for an unset limit. */
static bool put_limits(json_t *obj, const struct eff_limits *e)
{
	if (e->print_w && !put(obj, "maxWidth", json_integer(e->max_w)))
		return false;
	if (e->print_h && !put(obj, "maxHeight", json_integer(e->max_h)))
		return false;
	if (e->print_area && !put(obj, "maxArea", json_integer((json_int_t)e->max_area)))
		return false;
	return true;
}

/* Sizes and tiles go in only when non-empty (both are optional). */
static bool put_nonempty(json_t *obj, const char *key, json_t *arr)
{
	if (!arr)
		return false;
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		return true;
	}
	return put(obj, key, arr);
}

static json_t *build3(const struct ts_info_params *p, const struct eff_limits *e)
{
	static const char *const qualities[] = { "color", "gray", "bitonal" };
	static const char *const preferred[] = { "jpg" };
	json_t *o = json_object();

	if (!o)
		return NULL;
	/* 3.0 §5.2: "@context" first, then the required technical properties. */
	if (!put(o, "@context", json_string("http://iiif.io/api/image/3/context.json")) ||
	    !put(o, "id", json_string(p->id)) ||
	    !put(o, "type", json_string("ImageService3")) ||
	    !put(o, "protocol", json_string("http://iiif.io/api/image")) ||
	    !put(o, "profile", json_string("level2")) ||
	    !put(o, "width", json_integer(p->src->width)) ||
	    !put(o, "height", json_integer(p->src->height)) ||
	    !put_limits(o, e) ||
	    !put_nonempty(o, "sizes", sizes_array(p, e)) ||
	    !put_nonempty(o, "tiles", tiles_array(p, e)))
		goto fail;
	/* 3.0 §5.6 preferredFormats; §5.5 rights. */
	if (!put(o, "preferredFormats", string_array(preferred, 1)))
		goto fail;
	if (p->rights && p->rights[0] && !put(o, "rights", json_string(p->rights)))
		goto fail;
	/* 3.0 §5.7: extraQualities are those "in addition to default". */
	if (!put_nonempty(o, "extraFormats", formats_array(p, true)) ||
	    !put(o, "extraQualities", string_array(qualities, 3)) ||
	    !put(o, "extraFeatures", features3(p)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *build2(const struct ts_info_params *p, const struct eff_limits *e)
{
	static const char *const qualities[] = { "default", "color", "gray", "bitonal" };
	json_t *o = json_object(), *profile = NULL, *desc = NULL;

	if (!o)
		return NULL;
	/* 2.1 §5.1 technical properties. */
	if (!put(o, "@context", json_string("http://iiif.io/api/image/2/context.json")) ||
	    !put(o, "@id", json_string(p->id)) ||
	    !put(o, "protocol", json_string("http://iiif.io/api/image")) ||
	    !put(o, "width", json_integer(p->src->width)) ||
	    !put(o, "height", json_integer(p->src->height)))
		goto fail;

	/* 2.1 §5.3: the compliance level URI, then a profile description with
	 * the formats, qualities and features (clients take the union) and the
	 * size limits. */
	profile = json_array();
	desc = json_object();
	if (!profile || !desc)
		goto fail;
	if (!push(profile, json_string("http://iiif.io/api/image/2/level2.json")))
		goto fail;
	if (!put(desc, "formats", formats_array(p, false)) ||
	    !put(desc, "qualities", string_array(qualities, 4)) ||
	    !put(desc, "supports", features2(p)) ||
	    !put_limits(desc, e))
		goto fail;
	if (json_array_append_new(profile, desc) != 0) {
		desc = NULL;
		goto fail;
	}
	desc = NULL;
	if (json_object_set_new(o, "profile", profile) != 0) {
		profile = NULL;
		goto fail;
	}
	profile = NULL;

	if (!put_nonempty(o, "sizes", sizes_array(p, e)) ||
	    !put_nonempty(o, "tiles", tiles_array(p, e)))
		goto fail;
	/* 2.1 §5.2: "license". */
	if (p->rights && p->rights[0] && !put(o, "license", json_string(p->rights)))
		goto fail;
	return o;
fail:
	json_decref(desc);
	json_decref(profile);
	json_decref(o);
	return NULL;
}

ts_status ts_info_format(const struct ts_info_params *p, struct ts_buf *out,
                         struct ts_error *err)
{
	struct eff_limits e;
	json_t *doc = NULL;
	char *text = NULL;
	ts_status st = TS_OK;

	if (!p || !p->id || !p->src || p->src->nlevels < 1 ||
	    p->src->nlevels > TS_MAX_LEVELS || (p->version != 2 && p->version != 3)) {
		st = ts_error_set(err, TS_EINTERNAL, "cannot describe image");
		ts_error_detail(err, "ts_info_format: invalid parameters");
		goto fail;
	}
	limits_effective(p, &e);
	doc = p->version == 3 ? build3(p, &e) : build2(p, &e);
	if (!doc) {
		/* Out of memory, or a string that is not UTF-8 (id, rights). */
		st = ts_error_set(err, TS_EINTERNAL, "cannot describe image");
		ts_error_detail(err, "info.json: cannot build document (memory or invalid UTF-8)");
		goto fail;
	}
	text = json_dumps(doc, JSON_INDENT(2));
	if (!text || !ts_buf_append_str(out, text) || !ts_buf_append_str(out, "\n")) {
		st = ts_error_set(err, TS_EINTERNAL, "cannot describe image");
		ts_error_detail(err, "info.json: out of memory");
		goto fail;
	}
fail:
	free(text);
	json_decref(doc);
	return st;
}

/* The embedded form of the service: the same sizes and tiles as the
 * document, so a viewer reading the Manifest never needs info.json to pick
 * a thumbnail size or a tile grid. */
json_t *ts_info_service(const struct ts_info_params *p, bool with_sizes)
{
	struct eff_limits e;
	json_t *o;

	if (!p || !p->id || !p->src || p->src->nlevels < 1 || p->src->nlevels > TS_MAX_LEVELS)
		return NULL;
	limits_effective(p, &e);
	o = json_object();
	if (!o)
		return NULL;
	if (p->version == 3) {
		if (!put(o, "id", json_string(p->id)) ||
		    !put(o, "type", json_string("ImageService3")) ||
		    !put(o, "profile", json_string("level2")))
			goto fail;
	} else {
		if (!put(o, "@id", json_string(p->id)) ||
		    !put(o, "@type", json_string("ImageService2")) ||
		    !put(o, "profile", json_string("http://iiif.io/api/image/2/level2.json")))
			goto fail;
	}
	if (!with_sizes)
		return o;
	if (!put(o, "width", json_integer(p->src->width)) ||
	    !put(o, "height", json_integer(p->src->height)) ||
	    !put_nonempty(o, "sizes", sizes_array(p, &e)) ||
	    !put_nonempty(o, "tiles", tiles_array(p, &e)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

size_t ts_info_sizes(const struct ts_info_params *p, uint32_t *w, uint32_t *h, size_t max)
{
	struct eff_limits e;
	json_t *arr;
	size_t i, n;

	if (!p || !p->src || p->src->nlevels < 1 || p->src->nlevels > TS_MAX_LEVELS)
		return 0;
	limits_effective(p, &e);
	arr = sizes_array(p, &e);
	if (!arr)
		return 0;
	n = json_array_size(arr);
	for (i = 0; i < n && i < max; i++) {
		json_t *o = json_array_get(arr, i);
		w[i] = (uint32_t)json_integer_value(json_object_get(o, "width"));
		h[i] = (uint32_t)json_integer_value(json_object_get(o, "height"));
	}
	json_decref(arr);
	return n;
}
