/*
 * json2.c - shared pieces of Presentation 2.1 JSON (json2.h): the model
 * keeps 3.0 values (language maps, behavior, navDate with any offset), and
 * these functions say how each reads in 2.1, so manifest2.c and
 * collection2.c only arrange resources.
 *
 * The one idea: a 2.1 resource points at the same pixels as its 3.0 twin
 * through the Image API 2.1 service of the same image, whose block embeds
 * the very sizes and tiles the 2.1 info.json lists (ts_info_service), so
 * the resource's width and height, the service block and info.json never
 * disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json2.h"
#include "tessera/info.h"

/* ---- language maps (2.1 §4.3) ------------------------------------------ */

json_t *ts_pj2_text(const json_t *map)
{
	const char *lang;
	json_t *vals, *out = NULL;
	size_t nlang;

	if (!map)
		return NULL;
	if (json_is_string(map))
		return json_deep_copy(map);
	if (!json_is_object(map) || (nlang = json_object_size(map)) == 0)
		return NULL;
	if (nlang == 1) {
		json_object_foreach((json_t *)map, lang, vals) {
			if (!json_is_array(vals) || json_array_size(vals) == 0)
				return NULL;
			if (json_array_size(vals) == 1)
				return json_deep_copy(json_array_get(vals, 0));
			return json_deep_copy(vals);
		}
	}
	/* several languages: each value tagged, so a client can pick (§4.3) */
	out = json_array();
	if (!out)
		return NULL;
	json_object_foreach((json_t *)map, lang, vals) {
		size_t i;
		json_t *v;

		json_array_foreach(vals, i, v) {
			json_t *o;

			if (!json_is_string(v))
				continue;
			if (strcmp(lang, "none") == 0) {
				if (!ts_pj_push(out, json_deep_copy(v)))
					goto fail;
				continue;
			}
			o = json_object();
			if (!o || !ts_pj_put(o, "@value", json_deep_copy(v)) ||
			    !ts_pj_put(o, "@language", json_string(lang)) || !ts_pj_push(out, o)) {
				json_decref(o);
				goto fail;
			}
		}
	}
	if (json_array_size(out) == 0)
		goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}

json_t *ts_pj2_metadata(const json_t *md)
{
	json_t *out = json_array(), *e;
	size_t i;

	if (!out || !json_is_array(md))
		goto fail;
	json_array_foreach(md, i, e) {
		json_t *o, *label = ts_pj2_text(json_object_get(e, "label")),
		       *value = ts_pj2_text(json_object_get(e, "value"));

		if (!value) {
			json_decref(label);
			continue;
		}
		o = json_object();
		if (!o || !ts_pj_put(o, "label", label ? label : json_string("")) ||
		    !ts_pj_put(o, "value", value) || !ts_pj_push(out, o)) {
			if (!o) {
				json_decref(label);
				json_decref(value);
			}
			json_decref(o);
			goto fail;
		}
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* ---- images ------------------------------------------------------------ */

json_t *ts_pj2_service(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                       bool full)
{
	struct ts_info_params ip;
	json_t *id = ts_pj_service_url(c, 2, p->rel), *svc = NULL, *o = NULL, *v;
	const char *key;

	if (!id)
		return NULL;
	memset(&ip, 0, sizeof ip);
	ip.version = 2;
	ip.id = json_string_value(id);
	ip.src = &p->info;
	ip.limits = c->limits;
	memcpy(ip.formats, c->formats, sizeof ip.formats);
	svc = ts_info_service(&ip, full);
	o = json_object();
	if (!svc || !o || !ts_pj_put(o, "@context", json_string(TS_IMAGE2_CONTEXT)))
		goto fail;
	/* the 2.1 block is the Image API's own (@id, profile, sizes, tiles);
	 * @type ImageService2 belongs to the 3.0 context, not to 2.1's */
	json_object_foreach(svc, key, v) {
		if (strcmp(key, "@type") == 0)
			continue;
		if (json_object_set(o, key, v) != 0)
			goto fail;
	}
	json_decref(svc);
	json_decref(id);
	return o;
fail:
	json_decref(svc);
	json_decref(o);
	json_decref(id);
	return NULL;
}

json_t *ts_pj2_image(const struct ts_present_ctx *c, const struct ts_present_picture *p)
{
	json_t *o = json_object(), *svc = ts_pj_service_url(c, 2, p->rel), *id = NULL;
	uint32_t w = p->info.width, h = p->info.height, mw = 0, mh = 0;

	/* §5.4: width and height are the image's; viewers tile it through the
	 * service, and canvas thumbnails spare them the whole picture.  When
	 * "full" is more than the server decodes for one answer, the body is
	 * a size it makes, as in 3.0 (the model has refused an image it
	 * cannot make whole at any size). */
	ts_plan_max_size(w, h, c->limits, false, &mw, &mh);
	if (svc && !ts_present_affordable(c, &p->info, mw, mh) &&
	    ts_present_pick_size(c, &p->info, TS_PRESENT_BODY_SIDE, &w, &h))
		id = ts_pj_printf("%s/full/%u,%u/0/default.jpg", json_string_value(svc), w, h);
	else if (svc)
		id = ts_pj_printf("%s/full/full/0/default.jpg", json_string_value(svc));
	if (!o || !svc ||
	    !ts_pj_put(o, "@id", id) ||
	    !ts_pj_put(o, "@type", json_string("dctypes:Image")) ||
	    !ts_pj_put(o, "format", json_string("image/jpeg")) ||
	    !ts_pj_put(o, "height", json_integer(h)) ||
	    !ts_pj_put(o, "width", json_integer(w)) ||
	    !ts_pj_put(o, "service", ts_pj2_service(c, p, true))) {
		json_decref(o);
		json_decref(svc);
		return NULL;
	}
	json_decref(svc);
	return o;
}

json_t *ts_pj2_thumbnail(const struct ts_present_ctx *c, const struct ts_present_picture *p)
{
	json_t *o, *svc;
	uint32_t w, h;

	if (!p || !p->rel || !p->info.width)
		return NULL;
	if (!ts_present_pick_size(c, &p->info, TS_PRESENT_THUMB_SIDE, &w, &h))
		return NULL;   /* nothing the server makes within its budget */
	o = json_object();
	svc = ts_pj_service_url(c, 2, p->rel);
	if (!o || !svc ||
	    !ts_pj_put(o, "@id", ts_pj_printf("%s/full/%u,%u/0/default.jpg",
	                                      json_string_value(svc), w, h)) ||
	    !ts_pj_put(o, "@type", json_string("dctypes:Image")) ||
	    !ts_pj_put(o, "format", json_string("image/jpeg")) ||
	    !ts_pj_put(o, "height", json_integer(h)) ||
	    !ts_pj_put(o, "width", json_integer(w)) ||
	    !ts_pj_put(o, "service", ts_pj2_service(c, p, false))) {
		json_decref(o);
		json_decref(svc);
		return NULL;
	}
	json_decref(svc);
	return o;
}

/* ---- navDate (2.1 §3.3) ------------------------------------------------ */

static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return false;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return true;
}

static bool lit(const char **p, char ch)
{
	if (**p != ch)
		return false;
	(*p)++;
	return true;
}

static int month_days(int y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return md[m - 1] + (m == 2 && leap);
}

bool ts_pj2_utc_date(const char *in, char *out, size_t n)
{
	const char *p = in;
	int y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0;
	long minutes;

	if (!in || n < 24 || !digits(&p, 4, &y) || !lit(&p, '-') || !digits(&p, 2, &mo) ||
	    !lit(&p, '-') || !digits(&p, 2, &d) || !lit(&p, 'T') || !digits(&p, 2, &h) ||
	    !lit(&p, ':') || !digits(&p, 2, &mi) || !lit(&p, ':') || !digits(&p, 2, &s))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 24 || mi > 59 || s > 59)
		return false;
	if (*p == '.') {   /* fractions: 2.1's form has whole seconds */
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (!digits(&p, 2, &oh) || !lit(&p, ':') || !digits(&p, 2, &om) || oh > 14 || om > 59)
			return false;
	} else {
		return false;
	}
	if (*p)
		return false;
	/* local time minus its offset; at most 14 h either way, so the day
	 * moves by at most one (24:00:00 is the next day's midnight) */
	minutes = (long)h * 60 + mi - sign * ((long)oh * 60 + om);
	if (minutes < 0) {
		minutes += 1440;
		if (--d < 1) {
			if (--mo < 1) {
				mo = 12;
				y--;
			}
			d = month_days(y, mo);
		}
	} else if (minutes >= 1440) {
		minutes -= 1440;
		if (++d > month_days(y, mo)) {
			d = 1;
			if (++mo > 12) {
				mo = 1;
				y++;
			}
		}
	}
	if (y < 0 || y > 9999)
		return false;
	snprintf(out, n, "%04d-%02d-%02dT%02ld:%02ld:%02dZ", y, mo, d, minutes / 60, minutes % 60, s);
	return true;
}

json_t *ts_pj2_nav_date(const char *in)
{
	char buf[32];

	return in && ts_pj2_utc_date(in, buf, sizeof buf) ? json_string(buf) : NULL;
}

/* ---- viewingHint (2.1 §3.3) -------------------------------------------- */

json_t *ts_pj2_viewing_hint(char *const *behavior, size_t n, const char *const *allowed)
{
	for (size_t i = 0; i < n; i++)
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(behavior[i], *a) == 0)
				return json_string(*a);
	return NULL;
}

/* ---- links (2.1 §3.4) -------------------------------------------------- */

json_t *ts_pj2_file_link(const struct ts_present_ctx *c, const char *fid, const char *file,
                         const char *format, json_t *label)
{
	json_t *o = json_object();

	if (!o) {
		json_decref(label);
		return NULL;
	}
	if (!ts_pj_put(o, "@id", ts_pj_res_url(c, fid, file)) ||
	    !ts_pj_put(o, "format", json_string(format)) ||
	    !ts_pj_put(o, "label", label ? label : json_string(file))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
