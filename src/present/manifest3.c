/*
 * manifest3.c - the IIIF Presentation 3.0 Manifest of an item model
 * (present.h), and its single resources (canvas, annotation page,
 * annotation, range) with their own @context.
 *
 * Properties go in the order of the specification's examples (§5.3
 * Manifest, §5.4 Canvas): "@context", id, type, label, metadata, summary,
 * thumbnail, viewingDirection, behavior, navDate, rights,
 * requiredStatement, provider, homepage, seeAlso, rendering, start, items,
 * structures, written in that order straight into the answer's buffer
 * (json3.h, "streaming": the bytes ts_pj_write would print for the tree,
 * without building it), so the bytes are stable from run to run.  Ids
 * follow URLS.md.
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
	struct ts_buf *b;     /* the document so far */
	struct ts_error *err; /* set by range() with its own sentence */
};

/* {base}/iiif/{fid}/res/{file} as a JSON string. */
static bool res_url(struct w3 *w, const char *file)
{
	char *f = ts_present_encode_id(file);
	bool ok = f && ts_pj_w_strf(w->b, "%s/iiif/%s/res/%s", w->c->base, w->it->fid, f);

	free(f);
	return ok;
}

static bool canvas_url(struct w3 *w, size_t i)
{
	return ts_pj_w_strf(w->b, "%s/canvas/p%zu", w->mbase, i + 1);
}

/* The painting body of a canvas. */
static bool body(struct w3 *w, const struct ts_present_canvas *cv)
{
	struct ts_buf *b = w->b;

	if (cv->type->kind == TS_MEDIA_IMAGE)
		return ts_pj_w_image(b, w->c, &cv->image, TS_PRESENT_BODY_SIDE, true, &w->memo);
	if (!ts_pj_w(b, "{\"id\":") || !res_url(w, cv->file) || !ts_pj_w(b, ",\"type\":") ||
	    !ts_pj_w_str(b, cv->painted_type) || !ts_pj_w(b, ",\"format\":") ||
	    !ts_pj_w_str(b, cv->type->mime))
		return false;
	if (strcmp(cv->painted_type, "Video") == 0 &&
	    (!ts_pj_w(b, ",\"height\":") || !ts_pj_w_int(b, cv->height) ||
	     !ts_pj_w(b, ",\"width\":") || !ts_pj_w_int(b, cv->width)))
		return false;
	if (cv->duration > 0 && (!ts_pj_w(b, ",\"duration\":") || !ts_pj_w_real(b, cv->duration)))
		return false;
	return ts_pj_w(b, "}");
}

/* A file of the folder as an external resource {id, type, label, format};
 * label NULL: the file's name. */
static bool file_resource(struct w3 *w, const char *file, const char *type, const char *format,
                          const json_t *label)
{
	struct ts_buf *b = w->b;

	return ts_pj_w(b, "{\"id\":") && res_url(w, file) && ts_pj_w(b, ",\"type\":") &&
	       ts_pj_w_str(b, type) && ts_pj_w(b, ",\"label\":") &&
	       (label ? ts_pj_w_value(b, label) : ts_pj_w_lang(b, w->it->meta.language, file)) &&
	       ts_pj_w(b, ",\"format\":") && ts_pj_w_str(b, format) && ts_pj_w(b, "}");
}

/* One annotation page {id, type, items: [the annotation]} of canvas i: its
 * painting (n 1) or its captions (n 2). */
static bool page(struct w3 *w, size_t i, const struct ts_present_canvas *cv, int n)
{
	struct ts_buf *b = w->b;
	const char *suffix = n == 1 ? "image" : "caption";

	if (!ts_pj_w(b, "{\"id\":") ||
	    !ts_pj_w_strf(b, "%s/page/p%zu/%d", w->mbase, i + 1, n) ||
	    !ts_pj_w(b, ",\"type\":\"AnnotationPage\",\"items\":[{\"id\":") ||
	    !ts_pj_w_strf(b, "%s/annotation/p%zu-%s", w->mbase, i + 1, suffix) ||
	    !ts_pj_w(b, n == 1 ? ",\"type\":\"Annotation\",\"motivation\":\"painting\",\"body\":"
	                       : ",\"type\":\"Annotation\",\"motivation\":\"supplementing\",\"body\":"))
		return false;
	if (n == 1 ? !body(w, cv) : !(ts_pj_w(b, "{\"id\":") && res_url(w, cv->captions) &&
	                              ts_pj_w(b, ",\"type\":\"Text\",\"label\":") &&
	                              ts_pj_w_lang(b, w->it->meta.language, "Captions") &&
	                              ts_pj_w(b, ",\"format\":\"text/vtt\"}")))
		return false;
	return ts_pj_w(b, ",\"target\":") && canvas_url(w, i) && ts_pj_w(b, "}]}");
}

static bool canvas(struct w3 *w, size_t i)
{
	const struct ts_present_canvas *cv = &w->it->canvases[i];
	struct ts_buf *b = w->b;

	if (!ts_pj_w(b, "{\"id\":") || !canvas_url(w, i) ||
	    !ts_pj_w(b, ",\"type\":\"Canvas\",\"label\":") || !ts_pj_w_value(b, cv->label))
		return false;
	if (cv->metadata && (!ts_pj_w(b, ",\"metadata\":") || !ts_pj_w_value(b, cv->metadata)))
		return false;
	if (cv->summary && (!ts_pj_w(b, ",\"summary\":") || !ts_pj_w_value(b, cv->summary)))
		return false;
	/* §3.1: Sound only duration; Video duration, width and height */
	if (strcmp(cv->painted_type, "Sound") != 0 && cv->width && cv->height &&
	    (!ts_pj_w(b, ",\"height\":") || !ts_pj_w_int(b, cv->height) ||
	     !ts_pj_w(b, ",\"width\":") || !ts_pj_w_int(b, cv->width)))
		return false;
	if (cv->duration > 0 && (!ts_pj_w(b, ",\"duration\":") || !ts_pj_w_real(b, cv->duration)))
		return false;
	ts_pj_w_thumbnail(b, ",\"thumbnail\":", w->c, cv->image.rel ? &cv->image : &cv->thumb,
	                  &w->memo);
	if (cv->see_also &&
	    (!ts_pj_w(b, ",\"seeAlso\":[") ||
	     !file_resource(w, cv->see_also, cv->see_also_type->iiif_type, cv->see_also_type->mime,
	                    NULL) ||
	     !ts_pj_w(b, "]")))
		return false;
	if (!ts_pj_w(b, ",\"items\":[") || !page(w, i, cv, 1) || !ts_pj_w(b, "]"))
		return false;
	if (cv->captions &&
	    (!ts_pj_w(b, ",\"annotations\":[") || !page(w, i, cv, 2) || !ts_pj_w(b, "]")))
		return false;
	return ts_pj_w(b, "}");
}

/* One Range; false with w->err set (a range naming no canvas, or out of
 * memory). */
static bool range(struct w3 *w, const struct ts_sidecar_range *r, const char *path)
{
	struct ts_buf *b = w->b;
	char sub[128];

	if (!ts_pj_w(b, "{\"id\":") || !ts_pj_w_strf(b, "%s/range/%s", w->mbase, r->id) ||
	    !ts_pj_w(b, ",\"type\":\"Range\",\"label\":") || !ts_pj_w_value(b, r->label) ||
	    !ts_pj_w(b, ",\"items\":["))
		goto oom;
	for (size_t i = 0; i < r->nitems; i++) {
		const struct ts_sidecar_range_item *ri = &r->items[i];
		char frag[160];
		long ci;

		snprintf(sub, sizeof sub, "%s.items[%zu]", path, i);
		if (i && !ts_pj_w(b, ","))
			goto oom;
		if (ri->range) {
			if (!range(w, ri->range, sub))
				return false;
			continue;
		}
		ci = ts_present_canvas_index(w->it, ri->file);
		if (ci < 0) {
			ts_error_set(w->err, TS_EINTERNAL, "%s%siiif.json: %s: %s is not one of the item's canvases",
			             w->it->folder, *w->it->folder ? "/" : "", sub, ri->file);
			return false;
		}
		ts_present_range_fragment(frag, sizeof frag, ri);
		if (!ts_pj_w(b, "{\"id\":") ||
		    !ts_pj_w_strf(b, "%s/canvas/p%ld%s", w->mbase, ci + 1, frag) ||
		    !ts_pj_w(b, ",\"type\":\"Canvas\"}"))
			goto oom;
	}
	if (ts_pj_w(b, "]}"))
		return true;
oom:
	ts_error_set(w->err, TS_EINTERNAL, "out of memory");
	return false;
}

static bool provider(struct w3 *w, const struct ts_sidecar_provider *p)
{
	struct ts_buf *b = w->b;

	if (!ts_pj_w(b, "[{\"id\":") || !ts_pj_w_str(b, p->id) ||
	    !ts_pj_w(b, ",\"type\":\"Agent\",\"label\":") || !ts_pj_w_value(b, p->label))
		return false;
	if (p->homepage &&
	    (!ts_pj_w(b, ",\"homepage\":[{\"id\":") || !ts_pj_w_str(b, p->homepage) ||
	     !ts_pj_w(b, ",\"type\":\"Text\",\"label\":") || !ts_pj_w_value(b, p->label) ||
	     !ts_pj_w(b, ",\"format\":\"text/html\"}]")))
		return false;
	if (p->logo) {
		bool url = strncmp(p->logo, "http://", 7) == 0 || strncmp(p->logo, "https://", 8) == 0;
		const struct ts_media_type *t = ts_media_type_of(p->logo);

		if (!ts_pj_w(b, ",\"logo\":[{\"id\":") ||
		    !(url ? ts_pj_w_str(b, p->logo) : res_url(w, p->logo)) ||
		    !ts_pj_w(b, ",\"type\":\"Image\"") ||
		    (t && (!ts_pj_w(b, ",\"format\":") || !ts_pj_w_str(b, t->mime))) ||
		    !ts_pj_w(b, "}]"))
			return false;
	}
	return ts_pj_w(b, "}]");
}

static bool strings(struct ts_buf *b, char **v, size_t n)
{
	if (!ts_pj_w(b, "["))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((i && !ts_pj_w(b, ",")) || !ts_pj_w_str(b, v[i]))
			return false;
	return ts_pj_w(b, "]");
}

/* The sidecar's seeAlso entries, then the folder's ALTO/hOCR/METS files. */
static bool see_also(struct w3 *w)
{
	const struct ts_present_item *it = w->it;
	const json_t *given = it->meta.see_also;
	struct ts_buf *b = w->b;
	size_t n = 0;

	if (given && !json_is_array(given))
		return !it->nsee_also_files && ts_pj_w_value(b, given);
	if (!ts_pj_w(b, "["))
		return false;
	for (; given && n < json_array_size(given); n++)
		if ((n && !ts_pj_w(b, ",")) || !ts_pj_w_value(b, json_array_get(given, n)))
			return false;
	for (size_t i = 0; i < it->nsee_also_files; i++, n++) {
		const struct ts_media_type *t = ts_media_type_of(it->see_also_files[i]);

		if ((n && !ts_pj_w(b, ",")) ||
		    !file_resource(w, it->see_also_files[i], t->iiif_type, t->mime, NULL))
			return false;
	}
	return ts_pj_w(b, "]");
}

/* The whole Manifest into w->b.  TS_OK, or the error set. */
static ts_status manifest(struct w3 *w)
{
	const struct ts_present_item *it = w->it;
	const struct ts_sidecar *m = &it->meta;
	struct ts_buf *b = w->b;

	/* the canvases are most of it: about 1,500 bytes each */
	if (!ts_buf_reserve(b, 2048 + it->ncanvases * 1536))
		goto oom;
	if (!ts_pj_w(b, "{\"@context\":\"" TS_PRESENT3_CONTEXT "\",\"id\":") ||
	    !ts_pj_w_strf(b, "%s/manifest", w->mbase) ||
	    !ts_pj_w(b, ",\"type\":\"Manifest\",\"label\":") || !ts_pj_w_value(b, it->label))
		goto oom;
	if (m->metadata && (!ts_pj_w(b, ",\"metadata\":") || !ts_pj_w_value(b, m->metadata)))
		goto oom;
	if (m->summary && (!ts_pj_w(b, ",\"summary\":") || !ts_pj_w_value(b, m->summary)))
		goto oom;
	ts_pj_w_thumbnail(b, ",\"thumbnail\":", w->c, &it->thumb, &w->memo);
	if (m->viewing_direction &&
	    (!ts_pj_w(b, ",\"viewingDirection\":") || !ts_pj_w_str(b, m->viewing_direction)))
		goto oom;
	if (m->nbehavior &&
	    (!ts_pj_w(b, ",\"behavior\":") || !strings(b, m->behavior, m->nbehavior)))
		goto oom;
	if (m->nav_date && (!ts_pj_w(b, ",\"navDate\":") || !ts_pj_w_str(b, m->nav_date)))
		goto oom;
	if (m->rights && (!ts_pj_w(b, ",\"rights\":") || !ts_pj_w_str(b, m->rights)))
		goto oom;
	if (m->required_statement && (!ts_pj_w(b, ",\"requiredStatement\":") ||
	                              !ts_pj_w_value(b, m->required_statement)))
		goto oom;
	if (m->provider && (!ts_pj_w(b, ",\"provider\":") || !provider(w, m->provider)))
		goto oom;
	if (m->homepage &&
	    (!ts_pj_w(b, ",\"homepage\":[{\"id\":") || !ts_pj_w_str(b, m->homepage) ||
	     !ts_pj_w(b, ",\"type\":\"Text\",\"label\":") || !ts_pj_w_value(b, it->label) ||
	     !ts_pj_w(b, ",\"format\":\"text/html\"}]")))
		goto oom;
	if ((m->see_also || it->nsee_also_files) && (!ts_pj_w(b, ",\"seeAlso\":") || !see_also(w)))
		goto oom;
	if (it->nrenderings) {
		if (!ts_pj_w(b, ",\"rendering\":["))
			goto oom;
		for (size_t i = 0; i < it->nrenderings; i++) {
			const struct ts_present_rendering *r = &it->renderings[i];

			if ((i && !ts_pj_w(b, ",")) ||
			    !file_resource(w, r->file, r->type->iiif_type, r->type->mime, r->label))
				goto oom;
		}
		if (!ts_pj_w(b, "]"))
			goto oom;
	}
	if (it->start >= 0 &&
	    (!ts_pj_w(b, ",\"start\":{\"id\":") || !canvas_url(w, (size_t)it->start) ||
	     !ts_pj_w(b, ",\"type\":\"Canvas\"}")))
		goto oom;
	if (!ts_pj_w(b, ",\"items\":["))
		goto oom;
	for (size_t i = 0; i < it->ncanvases; i++)
		if ((i && !ts_pj_w(b, ",")) || !canvas(w, i))
			goto oom;
	if (!ts_pj_w(b, "]"))
		goto oom;
	if (m->nstructures) {
		if (!ts_pj_w(b, ",\"structures\":["))
			goto oom;
		for (size_t i = 0; i < m->nstructures; i++) {
			char path[48];

			snprintf(path, sizeof path, "structures[%zu]", i);
			if ((i && !ts_pj_w(b, ",")))
				goto oom;
			if (!range(w, &m->structures[i], path))
				return w->err->status ? w->err->status : TS_EINTERNAL;
		}
		if (!ts_pj_w(b, "]"))
			goto oom;
	}
	if (ts_pj_w(b, "}\n"))
		return TS_OK;
oom:
	ts_error_set(w->err, TS_EINTERNAL, "cannot build the Manifest of %s", it->rel);
	ts_error_detail(w->err, "out of memory or a string that is not UTF-8");
	return TS_EINTERNAL;
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

/* The part of doc named by part, with its own @context (§4.1), into out;
 * 404 when it has none such. */
static ts_status write_part(json_t *doc, const char *mbase, const struct ts_present_part *part,
                           struct ts_buf *out, struct ts_error *err)
{
	char *target = ts_present_part_id(mbase, part);
	json_t *found, *res = NULL;
	ts_status st = TS_OK;

	if (!target)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	found = find_by_id(doc, target);
	if (!found || strcmp(part->kind, "sequence") == 0) {
		st = ts_error_set(err, TS_ENOTFOUND, "no such %s in this Manifest", part->kind);
		goto done;
	}
	res = json_object();
	if (!res || !ts_pj_put(res, "@context", json_string(TS_PRESENT3_CONTEXT)) ||
	    json_object_update(res, found) != 0 || !ts_pj_write(res, out))
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
done:
	json_decref(res);
	free(target);
	return st;
}

ts_status ts_present_manifest3_write(const struct ts_present_ctx *c,
                                     const struct ts_present_item *it,
                                     const struct ts_present_part *part, struct ts_buf *out,
                                     struct ts_error *err)
{
	struct ts_buf whole = TS_BUF_INIT;
	size_t mark = out->len;
	json_t *doc = NULL;
	struct w3 w;
	ts_status st;

	memset(&w, 0, sizeof w);
	w.c = c;
	w.it = it;
	w.err = err;
	if (asprintf(&w.mbase, "%s/iiif/3/%s", c->base, it->id) < 0)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	if (it->manifest_json) {
		st = ts_present_handmade_load(it, c->base, NULL, NULL, &doc, err);
		if (st == TS_OK && (!part || !part->kind) && !ts_pj_write(doc, out))
			st = ts_error_set(err, TS_EINTERNAL, "out of memory");
	} else if (!part || !part->kind) {
		w.b = out;
		st = manifest(&w);
	} else {
		/* a part is cut out of the whole, so it is the same JSON as
		 * embedded by construction */
		w.b = &whole;
		st = manifest(&w);
		if (st == TS_OK) {
			doc = json_loadb((const char *)whole.data, whole.len, 0, NULL);
			if (!doc)
				st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		}
	}
	if (st == TS_OK && part && part->kind)
		st = write_part(doc, w.mbase, part, out, err);
	if (st != TS_OK)
		out->len = mark;
	json_decref(doc);
	ts_buf_free(&whole);
	free(w.mbase);
	ts_pj_memo_free(&w.memo);
	return st;
}

ts_status ts_present_manifest3(const struct ts_present_ctx *c, const struct ts_present_item *it,
                               const struct ts_present_part *part, json_t **out,
                               struct ts_error *err)
{
	struct ts_buf b = TS_BUF_INIT;
	ts_status st;

	*out = NULL;
	st = ts_present_manifest3_write(c, it, part, &b, err);
	if (st == TS_OK) {
		*out = json_loadb((const char *)b.data, b.len, 0, NULL);
		if (!*out)
			st = ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	ts_buf_free(&b);
	return st;
}
