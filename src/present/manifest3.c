/*
 * manifest3.c - the IIIF Presentation 3.0 Manifest of an item model
 * (present.h), and its single resources (canvas, annotation page,
 * annotation, range) with their own @context.
 *
 * Properties go in the order of the specification's examples (§5.3
 * Manifest, §5.4 Canvas): "@context", id, type, label, metadata, summary,
 * thumbnail, viewingDirection, behavior, navDate, rights,
 * requiredStatement, provider, homepage, seeAlso, rendering, start, items,
 * structures; jansson keeps insertion order, so the bytes are stable from
 * run to run.  Ids follow URLS.md.
 *
 * The one idea for single resources: they are cut out of the whole
 * Manifest by id, so "the same JSON as embedded" holds by construction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handmade.h"
#include "json3.h"

struct w3 {
	const struct ts_present_ctx *c;
	const struct ts_present_item *it;
	char *mbase;          /* {base}/iiif/3/{item} */
	struct ts_pj_memo memo;  /* sizes/tiles shared by pages of one geometry */
	struct ts_error *err;
};

static json_t *canvas_url(const struct w3 *w, size_t i)
{
	return ts_pj_printf("%s/canvas/p%zu", w->mbase, i + 1);
}

static json_t *ref(json_t *id, const char *type)
{
	json_t *o = json_object();

	if (!o || !ts_pj_put(o, "id", id) || !ts_pj_put(o, "type", json_string(type))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The painting body of canvas i. */
static json_t *body(struct w3 *w, const struct ts_present_canvas *cv)
{
	const struct ts_present_item *it = w->it;
	json_t *o;

	if (cv->type->kind == TS_MEDIA_IMAGE)
		return ts_pj_image(w->c, &cv->image, TS_PRESENT_BODY_SIDE, true, &w->memo);
	o = json_object();
	if (!o || !ts_pj_put(o, "id", ts_pj_res_url(w->c, it->fid, cv->file)) ||
	    !ts_pj_put(o, "type", json_string(cv->painted_type)) ||
	    !ts_pj_put(o, "format", json_string(cv->type->mime)))
		goto fail;
	if (strcmp(cv->painted_type, "Video") == 0 &&
	    (!ts_pj_put(o, "height", json_integer(cv->height)) ||
	     !ts_pj_put(o, "width", json_integer(cv->width))))
		goto fail;
	if (cv->duration > 0 && !ts_pj_put(o, "duration", json_real(cv->duration)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *annotation(const struct w3 *w, size_t i, const char *suffix,
                          const char *motivation, json_t *b)
{
	json_t *o = json_object();

	if (!o || !b ||
	    !ts_pj_put(o, "id", ts_pj_printf("%s/annotation/p%zu-%s", w->mbase, i + 1, suffix)) ||
	    !ts_pj_put(o, "type", json_string("Annotation")) ||
	    !ts_pj_put(o, "motivation", json_string(motivation)) ||
	    !ts_pj_put(o, "body", b) ||
	    !ts_pj_put(o, "target", canvas_url(w, i))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *page(const struct w3 *w, size_t i, int n, json_t *anno)
{
	json_t *o = json_object(), *items = json_array();

	if (!o || !items || !anno ||
	    !ts_pj_put(o, "id", ts_pj_printf("%s/page/p%zu/%d", w->mbase, i + 1, n)) ||
	    !ts_pj_put(o, "type", json_string("AnnotationPage")) ||
	    !ts_pj_push(items, anno)) {
		json_decref(o);
		json_decref(items);
		return NULL;
	}
	if (!ts_pj_put(o, "items", items)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A file of the folder as an external resource {id, type, format, label}. */
static json_t *file_resource(const struct w3 *w, const char *file, const char *type,
                             const char *format, json_t *label)
{
	json_t *o = json_object();

	if (!o || !ts_pj_put(o, "id", ts_pj_res_url(w->c, w->it->fid, file)) ||
	    !ts_pj_put(o, "type", json_string(type)) ||
	    !ts_pj_put(o, "label", label ? label : ts_pj_lang(w->it->meta.language, file)) ||
	    !ts_pj_put(o, "format", json_string(format))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *canvas(struct w3 *w, size_t i)
{
	const struct ts_present_canvas *cv = &w->it->canvases[i];
	json_t *o = json_object(), *th;

	if (!o || !ts_pj_put(o, "id", canvas_url(w, i)) ||
	    !ts_pj_put(o, "type", json_string("Canvas")) ||
	    !ts_pj_put(o, "label", ts_pj_copy(cv->label)))
		goto fail;
	if (cv->metadata && !ts_pj_put(o, "metadata", ts_pj_copy(cv->metadata)))
		goto fail;
	if (cv->summary && !ts_pj_put(o, "summary", ts_pj_copy(cv->summary)))
		goto fail;
	/* §3.1: Sound only duration; Video duration, width and height */
	if (strcmp(cv->painted_type, "Sound") != 0 && cv->width && cv->height &&
	    (!ts_pj_put(o, "height", json_integer(cv->height)) ||
	     !ts_pj_put(o, "width", json_integer(cv->width))))
		goto fail;
	if (cv->duration > 0 && !ts_pj_put(o, "duration", json_real(cv->duration)))
		goto fail;
	th = ts_pj_thumbnail(w->c, cv->image.rel ? &cv->image : &cv->thumb, &w->memo);
	if (th && !ts_pj_put(o, "thumbnail", th))
		goto fail;
	if (cv->see_also &&
	    !ts_pj_put(o, "seeAlso", ts_pj_one(file_resource(w, cv->see_also, cv->see_also_type->iiif_type,
	                                               cv->see_also_type->mime, NULL))))
		goto fail;
	if (!ts_pj_put(o, "items", ts_pj_one(page(w, i, 1, annotation(w, i, "image", "painting",
	                                                          body(w, cv))))))
		goto fail;
	if (cv->captions) {
		json_t *b = file_resource(w, cv->captions, "Text", "text/vtt",
		                          ts_pj_lang(w->it->meta.language, "Captions"));
		if (!ts_pj_put(o, "annotations",
		               ts_pj_one(page(w, i, 2, annotation(w, i, "caption", "supplementing", b)))))
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *range(const struct w3 *w, const struct ts_sidecar_range *r, const char *path)
{
	json_t *o = json_object(), *items = json_array();
	char sub[128];

	if (!o || !items ||
	    !ts_pj_put(o, "id", ts_pj_printf("%s/range/%s", w->mbase, r->id)) ||
	    !ts_pj_put(o, "type", json_string("Range")) ||
	    !ts_pj_put(o, "label", ts_pj_copy(r->label)))
		goto fail;
	for (size_t i = 0; i < r->nitems; i++) {
		const struct ts_sidecar_range_item *ri = &r->items[i];
		char frag[160];
		json_t *v;
		long ci;

		snprintf(sub, sizeof sub, "%s.items[%zu]", path, i);
		if (ri->range) {
			v = range(w, ri->range, sub);
			if (!v)
				goto fail_quiet;
			if (!ts_pj_push(items, v))
				goto fail;
			continue;
		}
		ci = ts_present_canvas_index(w->it, ri->file);
		if (ci < 0) {
			ts_error_set(w->err, TS_EINTERNAL, "%s%siiif.json: %s: %s is not one of the item's canvases",
			             w->it->folder, *w->it->folder ? "/" : "", sub, ri->file);
			goto fail_quiet;
		}
		ts_present_range_fragment(frag, sizeof frag, ri);
		if (!ts_pj_push(items, ref(ts_pj_printf("%s/canvas/p%ld%s", w->mbase, ci + 1, frag),
		                           "Canvas")))
			goto fail;
	}
	if (!ts_pj_put(o, "items", items)) {
		items = NULL;
		goto fail;
	}
	return o;
fail:
	ts_error_set(w->err, TS_EINTERNAL, "out of memory");
fail_quiet:
	json_decref(items);
	json_decref(o);
	return NULL;
}

static json_t *provider(const struct w3 *w, const struct ts_sidecar_provider *p)
{
	json_t *o = json_object();

	if (!o || !ts_pj_put(o, "id", json_string(p->id)) ||
	    !ts_pj_put(o, "type", json_string("Agent")) ||
	    !ts_pj_put(o, "label", ts_pj_copy(p->label)))
		goto fail;
	if (p->homepage) {
		json_t *hp = json_object();
		if (!hp || !ts_pj_put(hp, "id", json_string(p->homepage)) ||
		    !ts_pj_put(hp, "type", json_string("Text")) ||
		    !ts_pj_put(hp, "label", ts_pj_copy(p->label)) ||
		    !ts_pj_put(hp, "format", json_string("text/html")) ||
		    !ts_pj_put(o, "homepage", ts_pj_one(hp))) {
			json_decref(hp);
			goto fail;
		}
	}
	if (p->logo) {
		bool url = strncmp(p->logo, "http://", 7) == 0 || strncmp(p->logo, "https://", 8) == 0;
		const struct ts_media_type *t = ts_media_type_of(p->logo);
		json_t *lg = json_object();
		if (!lg || !ts_pj_put(lg, "id", url ? json_string(p->logo)
		                                   : ts_pj_res_url(w->c, w->it->fid, p->logo)) ||
		    !ts_pj_put(lg, "type", json_string("Image")) ||
		    (t && !ts_pj_put(lg, "format", json_string(t->mime))) ||
		    !ts_pj_put(o, "logo", ts_pj_one(lg))) {
			json_decref(lg);
			goto fail;
		}
	}
	return ts_pj_one(o);
fail:
	json_decref(o);
	return NULL;
}

static bool put_strings(json_t *o, const char *key, char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (!ts_pj_push(a, json_string(v[i]))) {
			json_decref(a);
			return false;
		}
	return ts_pj_put(o, key, a);
}

/* The whole Manifest.  NULL with err set on failure. */
static json_t *manifest(struct w3 *w)
{
	const struct ts_present_item *it = w->it;
	const struct ts_sidecar *m = &it->meta;
	json_t *o = json_object(), *items = NULL, *th, *arr;

	if (!o || !ts_pj_put(o, "@context", json_string(TS_PRESENT3_CONTEXT)) ||
	    !ts_pj_put(o, "id", ts_pj_printf("%s/manifest", w->mbase)) ||
	    !ts_pj_put(o, "type", json_string("Manifest")) ||
	    !ts_pj_put(o, "label", ts_pj_copy(it->label)))
		goto oom;
	if (m->metadata && !ts_pj_put(o, "metadata", ts_pj_copy(m->metadata)))
		goto oom;
	if (m->summary && !ts_pj_put(o, "summary", ts_pj_copy(m->summary)))
		goto oom;
	th = ts_pj_thumbnail(w->c, &it->thumb, &w->memo);
	if (th && !ts_pj_put(o, "thumbnail", th))
		goto oom;
	if (m->viewing_direction && !ts_pj_put(o, "viewingDirection", json_string(m->viewing_direction)))
		goto oom;
	if (m->nbehavior && !put_strings(o, "behavior", m->behavior, m->nbehavior))
		goto oom;
	if (m->nav_date && !ts_pj_put(o, "navDate", json_string(m->nav_date)))
		goto oom;
	if (m->rights && !ts_pj_put(o, "rights", json_string(m->rights)))
		goto oom;
	if (m->required_statement &&
	    !ts_pj_put(o, "requiredStatement", ts_pj_copy(m->required_statement)))
		goto oom;
	if (m->provider && !ts_pj_put(o, "provider", provider(w, m->provider)))
		goto oom;
	if (m->homepage) {
		json_t *hp = json_object();
		if (!hp || !ts_pj_put(hp, "id", json_string(m->homepage)) ||
		    !ts_pj_put(hp, "type", json_string("Text")) ||
		    !ts_pj_put(hp, "label", ts_pj_copy(it->label)) ||
		    !ts_pj_put(hp, "format", json_string("text/html")) ||
		    !ts_pj_put(o, "homepage", ts_pj_one(hp))) {
			json_decref(hp);
			goto oom;
		}
	}
	if (m->see_also || it->nsee_also_files) {
		arr = m->see_also ? json_deep_copy(m->see_also) : json_array();
		for (size_t i = 0; arr && i < it->nsee_also_files; i++) {
			const struct ts_media_type *t = ts_media_type_of(it->see_also_files[i]);
			if (!ts_pj_push(arr, file_resource(w, it->see_also_files[i], t->iiif_type,
			                                   t->mime, NULL))) {
				json_decref(arr);
				arr = NULL;
			}
		}
		if (!ts_pj_put(o, "seeAlso", arr))
			goto oom;
	}
	if (it->nrenderings) {
		arr = json_array();
		for (size_t i = 0; arr && i < it->nrenderings; i++) {
			const struct ts_present_rendering *r = &it->renderings[i];
			if (!ts_pj_push(arr, file_resource(w, r->file, r->type->iiif_type, r->type->mime,
			                                   ts_pj_copy(r->label)))) {
				json_decref(arr);
				arr = NULL;
			}
		}
		if (!ts_pj_put(o, "rendering", arr))
			goto oom;
	}
	if (it->start >= 0 && !ts_pj_put(o, "start", ref(canvas_url(w, (size_t)it->start), "Canvas")))
		goto oom;
	items = json_array();
	if (!items)
		goto oom;
	for (size_t i = 0; i < it->ncanvases; i++)
		if (!ts_pj_push(items, canvas(w, i)))
			goto oom;
	if (!ts_pj_put(o, "items", items)) {
		items = NULL;
		goto oom;
	}
	items = NULL;
	if (m->nstructures) {
		arr = json_array();
		if (!arr)
			goto oom;
		for (size_t i = 0; i < m->nstructures; i++) {
			char path[48];
			json_t *r;

			snprintf(path, sizeof path, "structures[%zu]", i);
			r = range(w, &m->structures[i], path);
			if (!r) {
				json_decref(arr);
				goto fail;
			}
			ts_pj_push(arr, r);
		}
		if (!ts_pj_put(o, "structures", arr))
			goto oom;
	}
	return o;
oom:
	ts_error_set(w->err, TS_EINTERNAL, "cannot build the Manifest of %s", it->rel);
	ts_error_detail(w->err, "out of memory or a string that is not UTF-8");
fail:
	json_decref(items);
	json_decref(o);
	return NULL;
}

/* The embedded object whose id is `id` (a full one, not a {id, type}
 * reference), depth first. */
static json_t *find_by_id(json_t *v, const char *id)
{
	if (json_is_object(v)) {
		const char *key;
		json_t *val, *idv = json_object_get(v, "id");

		if (idv && json_is_string(idv) && strcmp(json_string_value(idv), id) == 0 &&
		    json_object_size(v) > 2)
			return v;
		json_object_foreach(v, key, val) {
			json_t *f = find_by_id(val, id);
			if (f)
				return f;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *val;

		json_array_foreach(v, i, val) {
			json_t *f = find_by_id(val, id);
			if (f)
				return f;
		}
	}
	return NULL;
}

ts_status ts_present_manifest3(const struct ts_present_ctx *c, const struct ts_present_item *it,
                               const struct ts_present_part *part, json_t **out,
                               struct ts_error *err)
{
	struct w3 w;
	json_t *doc = NULL, *found, *res = NULL;
	char *target = NULL;
	ts_status st = TS_OK;

	*out = NULL;
	memset(&w, 0, sizeof w);
	w.c = c;
	w.it = it;
	w.err = err;
	if (asprintf(&w.mbase, "%s/iiif/3/%s", c->base, it->id) < 0) {
		w.mbase = NULL;
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	if (it->manifest_json) {
		st = ts_present_handmade_load(it, c->base, NULL, NULL, &doc, err);
		if (st != TS_OK)
			goto done;
	} else {
		doc = manifest(&w);
		if (!doc) {
			st = err->status ? err->status : TS_EINTERNAL;
			goto done;
		}
	}
	if (!part || !part->kind) {
		*out = doc;
		doc = NULL;
		goto done;
	}
	target = ts_present_part_id(w.mbase, part);
	if (!target) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto done;
	}
	found = find_by_id(doc, target);
	if (!found || strcmp(part->kind, "sequence") == 0) {
		st = ts_error_set(err, TS_ENOTFOUND, "no such %s in this Manifest", part->kind);
		goto done;
	}
	/* §4.1: a resource on its own carries the @context first */
	res = json_object();
	if (!res || !ts_pj_put(res, "@context", json_string(TS_PRESENT3_CONTEXT)) ||
	    json_object_update(res, found) != 0) {
		json_decref(res);
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto done;
	}
	*out = res;
done:
	json_decref(doc);
	free(target);
	free(w.mbase);
	ts_pj_memo_free(&w.memo);
	return st;
}
