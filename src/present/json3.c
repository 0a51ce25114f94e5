/*
 * json3.c - shared pieces of Presentation 3.0 JSON (json3.h): the URL
 * forms of URLS.md, image bodies and thumbnails of a concrete size from
 * info.json's `sizes`, and their service blocks.
 *
 * The one idea: every picture a Manifest points at is a size the image
 * server lists in info.json, so a viewer's thumbnail or body request is
 * always one of the cheap, exact answers (a stored level), and the service
 * blocks embed the very `sizes` and `tiles` info.json gives
 * (ts_info_service), so the two never disagree.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json3.h"
#include "tessera/info.h"

bool ts_pj_put(json_t *obj, const char *key, json_t *val)
{
	return val && json_object_set_new(obj, key, val) == 0;
}

bool ts_pj_push(json_t *arr, json_t *val)
{
	return val && json_array_append_new(arr, val) == 0;
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

void ts_present_pick_size(const struct ts_present_ctx *c, const struct ts_source_info *info,
                          uint32_t max_side, uint32_t *w, uint32_t *h)
{
	struct ts_present_picture p;
	struct ts_info_params ip;
	uint32_t ws[TS_MAX_LEVELS + 1], hs[TS_MAX_LEVELS + 1];
	size_t n, i;

	memset(&p, 0, sizeof p);
	p.info = *info;
	info_params(c, &p, 3, "x", &ip);
	n = ts_info_sizes(&ip, ws, hs, TS_MAX_LEVELS + 1);
	if (n > TS_MAX_LEVELS + 1)
		n = TS_MAX_LEVELS + 1;
	if (n == 0) {
		/* no size is servable under the limits: the smallest level */
		*w = info->levels[info->nlevels - 1].width;
		*h = info->levels[info->nlevels - 1].height;
		return;
	}
	*w = ws[0];
	*h = hs[0];
	for (i = 0; i < n; i++)   /* smallest first: keep the last that fits */
		if ((ws[i] > hs[i] ? ws[i] : hs[i]) <= max_side) {
			*w = ws[i];
			*h = hs[i];
		}
}

json_t *ts_pj_services(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                       bool full)
{
	struct ts_info_params ip;
	json_t *arr = json_array(), *id3 = ts_pj_service_url(c, 3, p->rel), *id2 = NULL;

	if (!arr || !id3)
		goto fail;
	info_params(c, p, 3, json_string_value(id3), &ip);
	if (!ts_pj_push(arr, ts_info_service(&ip, full)))
		goto fail;
	if (c->image_service2) {
		id2 = ts_pj_service_url(c, 2, p->rel);
		if (!id2)
			goto fail;
		info_params(c, p, 2, json_string_value(id2), &ip);
		if (!ts_pj_push(arr, ts_info_service(&ip, full)))
			goto fail;
	}
	json_decref(id3);
	json_decref(id2);
	return arr;
fail:
	json_decref(id3);
	json_decref(id2);
	json_decref(arr);
	return NULL;
}

json_t *ts_pj_image(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                    uint32_t max_side, bool full_services)
{
	json_t *o = json_object(), *svc = ts_pj_service_url(c, 3, p->rel);
	uint32_t w, h;

	if (!o || !svc)
		goto fail;
	ts_present_pick_size(c, &p->info, max_side, &w, &h);
	/* URLS.md: a concrete sizes entry, never "max" */
	if (!ts_pj_put(o, "id", ts_pj_printf("%s/full/%u,%u/0/default.jpg",
	                                     json_string_value(svc), w, h)) ||
	    !ts_pj_put(o, "type", json_string("Image")) ||
	    !ts_pj_put(o, "format", json_string("image/jpeg")) ||
	    !ts_pj_put(o, "height", json_integer(h)) ||
	    !ts_pj_put(o, "width", json_integer(w)) ||
	    !ts_pj_put(o, "service", ts_pj_services(c, p, full_services)))
		goto fail;
	json_decref(svc);
	return o;
fail:
	json_decref(svc);
	json_decref(o);
	return NULL;
}

json_t *ts_pj_thumbnail(const struct ts_present_ctx *c, const struct ts_present_picture *p)
{
	json_t *arr;

	if (!p || !p->rel || !p->info.width)
		return NULL;
	arr = json_array();
	if (!arr || !ts_pj_push(arr, ts_pj_image(c, p, TS_PRESENT_THUMB_SIDE, false))) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}
