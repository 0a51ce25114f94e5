/*
 * manifest2.c - the IIIF Presentation 2.1 Manifest of an item model
 * (present.h), and its single resources (sequence, canvas, annotation,
 * range) with their own @context.
 *
 * The same model as manifest3.c, in 2.1 form: one sc:Sequence
 * (.../sequence/normal) of sc:Canvases, each painted by one oa:Annotation
 * (motivation sc:painting, "on" the canvas) whose resource is a
 * dctypes:Image with its Image API 2.1 service (2.1 §5.1-5.4); ranges are
 * listed flat in "structures" and point at each other by @id (§5.6).
 * Properties go in the order of the specification's example (Appendix B):
 * @context, @id, @type, label, metadata, description, thumbnail,
 * viewingDirection, viewingHint, navDate, license, attribution, logo,
 * related, seeAlso, rendering, mediaSequences, sequences, structures;
 * jansson keeps insertion order, so the bytes are stable from run to run.
 *
 * The one idea for sound, video, PDF and 3D, which 2.1 cannot paint: every
 * canvas still exists in "sequences" as a placeholder (sized from its
 * thumbnail, else 640x360, painted with the thumbnail when there is one,
 * the file itself as the canvas's "rendering"), so a 2.1 viewer shows
 * something and offers the download; and the IXIF "mediaSequences"
 * extension (read by the Universal Viewer 2 and 3, which prefer it to
 * "sequences") lists the files themselves as dctypes:Sound /
 * dctypes:MovingImage / foaf:Document elements for its players.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handmade.h"
#include "json2.h"

/* Placeholder size of a canvas with nothing 2.1 can paint and no
 * thumbnail: a 16:9 frame. */
#define PLACEHOLDER_W 640
#define PLACEHOLDER_H 360

/* The IXIF extension's context (the Universal Viewer's "ixif" terms). */
#define IXIF_CONTEXT "http://wellcomelibrary.org/ld/ixif/0/context.json"

struct w2 {
	const struct ts_present_ctx *c;
	const struct ts_present_item *it;
	char *mbase;          /* {base}/iiif/2/{item} */
	struct ts_error *err;
};

static const char *const MANIFEST_HINTS[] = { "individuals", "paged", "continuous", NULL };

/* A 2.1 label from a language map, or the fallback text when it has none. */
static json_t *label_or(const json_t *map, const char *fallback)
{
	json_t *v = ts_pj2_text(map);

	return v ? v : json_string(fallback);
}

static json_t *canvas_url(const struct w2 *w, size_t i)
{
	return ts_pj_printf("%s/canvas/p%zu", w->mbase, i + 1);
}

static bool is_image(const struct ts_present_canvas *cv)
{
	return strcmp(cv->painted_type, "Image") == 0 && cv->image.rel;
}

/* What a placeholder canvas shows: the thumbnail picture, or nothing. */
static const struct ts_present_picture *placeholder_picture(const struct ts_present_canvas *cv)
{
	return cv->thumb.rel && cv->thumb.info.width && cv->thumb.info.height ? &cv->thumb : NULL;
}

/* The painting annotation of canvas i, the picture as its resource (§5.3:
 * "on" is the canvas's @id). */
static json_t *annotation(const struct w2 *w, size_t i, const struct ts_present_picture *pic)
{
	json_t *o = json_object();

	if (!o || !ts_pj_put(o, "@id", ts_pj_printf("%s/annotation/p%zu-image", w->mbase, i + 1)) ||
	    !ts_pj_put(o, "@type", json_string("oa:Annotation")) ||
	    !ts_pj_put(o, "motivation", json_string("sc:painting")) ||
	    !ts_pj_put(o, "resource", ts_pj2_image(w->c, pic)) ||
	    !ts_pj_put(o, "on", canvas_url(w, i))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *canvas(const struct w2 *w, size_t i)
{
	const struct ts_present_canvas *cv = &w->it->canvases[i];
	const struct ts_present_picture *pic = is_image(cv) ? &cv->image : placeholder_picture(cv);
	json_t *o = json_object(), *v, *images;
	uint32_t cw, ch;

	/* §5.3: a canvas has a label, a height and a width; an image canvas is
	 * the image's size, a placeholder its thumbnail's (else 16:9) */
	if (is_image(cv)) {
		cw = cv->width ? cv->width : pic->info.width;
		ch = cv->height ? cv->height : pic->info.height;
	} else if (pic) {
		cw = pic->info.width;
		ch = pic->info.height;
	} else {
		cw = PLACEHOLDER_W;
		ch = PLACEHOLDER_H;
	}
	if (!o || !ts_pj_put(o, "@id", canvas_url(w, i)) ||
	    !ts_pj_put(o, "@type", json_string("sc:Canvas")) ||
	    !ts_pj_put(o, "label", label_or(cv->label, cv->file)))
		goto fail;
	if (cv->metadata && (v = ts_pj2_metadata(cv->metadata)) && !ts_pj_put(o, "metadata", v))
		goto fail;
	if (cv->summary && (v = ts_pj2_text(cv->summary)) && !ts_pj_put(o, "description", v))
		goto fail;
	v = ts_pj2_thumbnail(w->c, is_image(cv) ? &cv->image : &cv->thumb);
	if (v && !ts_pj_put(o, "thumbnail", v))
		goto fail;
	if (!ts_pj_put(o, "height", json_integer(ch)) || !ts_pj_put(o, "width", json_integer(cw)))
		goto fail;
	if (cv->see_also &&
	    !ts_pj_put(o, "seeAlso", ts_pj2_file_link(w->c, w->it->fid, cv->see_also,
	                                              cv->see_also_type->mime, NULL)))
		goto fail;
	/* §3.4 rendering: what 2.1 cannot paint is offered as the file itself */
	if (!is_image(cv) &&
	    !ts_pj_put(o, "rendering", ts_pj2_file_link(w->c, w->it->fid, cv->file, cv->type->mime,
	                                                ts_pj2_text(cv->label))))
		goto fail;
	images = pic ? ts_pj_one(annotation(w, i, pic)) : json_array();
	if (!ts_pj_put(o, "images", images))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* ---- IXIF mediaSequences ------------------------------------------------ */

/* The IXIF element type of a painted type: the Universal Viewer picks its
 * player by it (dctypes for sound and video, foaf:Document for PDF,
 * dctypes:PhysicalObject for a 3D model). */
static const char *ixif_type(const char *painted)
{
	if (strcmp(painted, "Sound") == 0)
		return "dctypes:Sound";
	if (strcmp(painted, "Video") == 0)
		return "dctypes:MovingImage";
	if (strcmp(painted, "Text") == 0)
		return "foaf:Document";
	if (strcmp(painted, "Model") == 0)
		return "dctypes:PhysicalObject";
	return "dctypes:Image";
}

static json_t *element(const struct w2 *w, size_t i)
{
	const struct ts_present_canvas *cv = &w->it->canvases[i];
	json_t *o = json_object(), *th;

	if (!o || !ts_pj_put(o, "@id", ts_pj_res_url(w->c, w->it->fid, cv->file)) ||
	    !ts_pj_put(o, "@type", json_string(ixif_type(cv->painted_type))) ||
	    !ts_pj_put(o, "format", json_string(cv->type->mime)) ||
	    !ts_pj_put(o, "label", label_or(cv->label, cv->file)))
		goto fail;
	if (cv->metadata && (th = ts_pj2_metadata(cv->metadata)) && !ts_pj_put(o, "metadata", th))
		goto fail;
	th = ts_pj2_thumbnail(w->c, &cv->thumb);
	if (th && !ts_pj_put(o, "thumbnail", th))
		goto fail;
	if (strcmp(cv->painted_type, "Video") == 0 && cv->width && cv->height &&
	    (!ts_pj_put(o, "height", json_integer(cv->height)) ||
	     !ts_pj_put(o, "width", json_integer(cv->width))))
		goto fail;
	if (cv->duration > 0 && !ts_pj_put(o, "duration", json_real(cv->duration)))
		goto fail;
	/* the players take their sources from the renderings, by format */
	if (!ts_pj_put(o, "rendering", ts_pj_one(ts_pj2_file_link(w->c, w->it->fid, cv->file,
	                                                    cv->type->mime, NULL))))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* mediaSequences, or NULL (with *none set) when every canvas is an image. */
static json_t *media_sequences(const struct w2 *w, bool *none)
{
	json_t *seq, *elements;

	*none = true;
	for (size_t i = 0; i < w->it->ncanvases; i++)
		if (!is_image(&w->it->canvases[i]))
			*none = false;
	if (*none)
		return NULL;
	seq = json_object();
	elements = json_array();
	/* 2.1 §4.5: terms beyond the specification's come with their own
	 * context, on the object that uses them; the top-level @context stays
	 * the IIIF one that every 2.1 client checks */
	if (!seq || !elements || !ts_pj_put(seq, "@context", json_string(IXIF_CONTEXT)) ||
	    !ts_pj_put(seq, "@id", ts_pj_printf("%s/sequence/media", w->mbase)) ||
	    !ts_pj_put(seq, "@type", json_string("ixif:MediaSequence")) ||
	    !ts_pj_put(seq, "label", json_string("XSequence 0")))
		goto fail;
	for (size_t i = 0; i < w->it->ncanvases; i++)
		if (!is_image(&w->it->canvases[i]) && !ts_pj_push(elements, element(w, i)))
			goto fail;
	if (!ts_pj_put(seq, "elements", elements)) {
		elements = NULL;
		goto fail;
	}
	return ts_pj_one(seq);
fail:
	json_decref(elements);
	json_decref(seq);
	return NULL;
}

/* ---- ranges (§5.6) ------------------------------------------------------ */

/* The @id of a range item that is a canvas (or a segment of one, §6.1:
 * #xywh= for a region, #t= for a time span of a placeholder). */
static json_t *canvas_ref(const struct w2 *w, const struct ts_sidecar_range_item *ri,
                          const char *path)
{
	char frag[160];
	long ci = ts_present_canvas_index(w->it, ri->file);

	if (ci < 0) {
		ts_error_set(w->err, TS_EINTERNAL, "%s%siiif.json: %s: %s is not one of the item's canvases",
		             w->it->folder, *w->it->folder ? "/" : "", path, ri->file);
		return NULL;
	}
	ts_present_range_fragment(frag, sizeof frag, ri);
	return ts_pj_printf("%s/canvas/p%ld%s", w->mbase, ci + 1, frag);
}

/* {@id, @type, label}, taking id and label (also on failure). */
static json_t *ref(json_t *id, const char *type, json_t *label)
{
	json_t *o = json_object();
	bool ok;

	if (!o) {
		json_decref(id);
		json_decref(label);
		return NULL;
	}
	/* every put runs, so each value is taken whatever fails */
	ok = ts_pj_put(o, "@id", id);
	ok = ts_pj_put(o, "@type", json_string(type)) && ok;
	ok = ts_pj_put(o, "label", label) && ok;
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Range r and, after it, every range below it, appended to out (2.1 wants
 * all ranges in "structures", nested ones named by @id).  Canvases and
 * sub-ranges keep their order: "canvases" and "ranges" when all canvases
 * come before all ranges, else the single ordered "members" list (§5.6).
 */
static bool range(const struct w2 *w, const struct ts_sidecar_range *r, const char *path,
                  bool top, json_t *out)
{
	json_t *o = json_object(), *canvases = json_array(), *ranges = json_array(),
	       *members = json_array();
	bool seen_range = false, mixed = false;
	char sub[160];

	if (!o || !canvases || !ranges || !members ||
	    !ts_pj_put(o, "@id", ts_pj_printf("%s/range/%s", w->mbase, r->id)) ||
	    !ts_pj_put(o, "@type", json_string("sc:Range")) ||
	    !ts_pj_put(o, "label", label_or(r->label, r->id)))
		goto oom;
	/* §3.3: "top" marks the ranges a table of contents starts from */
	if (top && !ts_pj_put(o, "viewingHint", json_string("top")))
		goto oom;
	for (size_t i = 0; i < r->nitems; i++) {
		const struct ts_sidecar_range_item *ri = &r->items[i];
		const struct ts_present_canvas *cv;
		json_t *id;

		snprintf(sub, sizeof sub, "%s.items[%zu]", path, i);
		if (ri->range) {
			seen_range = true;
			id = ts_pj_printf("%s/range/%s", w->mbase, ri->range->id);
			if (!id || !ts_pj_push(ranges, json_deep_copy(id)) ||
			    !ts_pj_push(members, ref(id, "sc:Range",
			                             label_or(ri->range->label, ri->range->id))))
				goto oom;
			continue;
		}
		mixed = mixed || seen_range;
		id = canvas_ref(w, ri, sub);
		if (!id)
			goto fail;
		cv = &w->it->canvases[ts_present_canvas_index(w->it, ri->file)];
		if (!ts_pj_push(canvases, json_deep_copy(id)) ||
		    !ts_pj_push(members, ref(id, "sc:Canvas", label_or(cv->label, cv->file))))
			goto oom;
	}
	if (mixed) {
		if (!ts_pj_put(o, "members", members))
			goto oom_members;
		members = NULL;
	} else {
		if (json_array_size(canvases) && !ts_pj_put(o, "canvases", json_incref(canvases)))
			goto oom;
		if (json_array_size(ranges) && !ts_pj_put(o, "ranges", json_incref(ranges)))
			goto oom;
	}
	if (!ts_pj_push(out, o)) {
		o = NULL;
		goto oom;
	}
	o = NULL;
	for (size_t i = 0; i < r->nitems; i++) {
		if (!r->items[i].range)
			continue;
		snprintf(sub, sizeof sub, "%s.items[%zu]", path, i);
		if (!range(w, r->items[i].range, sub, false, out))
			goto fail;
	}
	json_decref(canvases);
	json_decref(ranges);
	json_decref(members);
	return true;
oom_members:
	members = NULL;
oom:
	ts_error_set(w->err, TS_EINTERNAL, "cannot build the Manifest of %s", w->it->rel);
	ts_error_detail(w->err, "out of memory or a string that is not UTF-8");
fail:
	json_decref(o);
	json_decref(canvases);
	json_decref(ranges);
	json_decref(members);
	return false;
}

/* ---- the Manifest ------------------------------------------------------- */

static json_t *logo(const struct w2 *w, const struct ts_sidecar_provider *p)
{
	bool url = strncmp(p->logo, "http://", 7) == 0 || strncmp(p->logo, "https://", 8) == 0;

	/* §3.2 logo: an image URI; a file of the folder is served as res/ */
	return url ? json_string(p->logo) : ts_pj_res_url(w->c, w->it->fid, p->logo);
}

static json_t *see_also(const struct w2 *w)
{
	const struct ts_present_item *it = w->it;
	json_t *arr = json_array(), *e;
	size_t i;

	if (!arr)
		return NULL;
	/* the sidecar's external links, 3.0 {id, type, format, profile, label}
	 * -> 2.1 {@id, format, profile, label} */
	json_array_foreach(it->meta.see_also, i, e) {
		json_t *o = json_object(), *v;

		if (!o || !ts_pj_put(o, "@id", json_deep_copy(json_object_get(e, "id"))))
			goto fail_o;
		if ((v = json_object_get(e, "format")) && !ts_pj_put(o, "format", json_deep_copy(v)))
			goto fail_o;
		if ((v = json_object_get(e, "profile")) && !ts_pj_put(o, "profile", json_deep_copy(v)))
			goto fail_o;
		if ((v = ts_pj2_text(json_object_get(e, "label"))) && !ts_pj_put(o, "label", v))
			goto fail_o;
		if (!ts_pj_push(arr, o))
			goto fail;
		continue;
fail_o:
		json_decref(o);
		goto fail;
	}
	for (i = 0; i < it->nsee_also_files; i++) {
		const struct ts_media_type *t = ts_media_type_of(it->see_also_files[i]);
		if (!t || !ts_pj_push(arr, ts_pj2_file_link(w->c, it->fid, it->see_also_files[i],
		                                            t->mime, NULL)))
			goto fail;
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

static json_t *sequence(const struct w2 *w)
{
	const struct ts_present_item *it = w->it;
	const struct ts_sidecar *m = &it->meta;
	json_t *o = json_object(), *canvases = json_array(), *v;

	if (!o || !canvases ||
	    !ts_pj_put(o, "@id", ts_pj_printf("%s/sequence/normal", w->mbase)) ||
	    !ts_pj_put(o, "@type", json_string("sc:Sequence")) ||
	    !ts_pj_put(o, "label", json_string("Current Page Order")))
		goto fail;
	/* §5.2: direction and hint on the sequence too, where 2.x viewers look */
	if (m->viewing_direction &&
	    !ts_pj_put(o, "viewingDirection", json_string(m->viewing_direction)))
		goto fail;
	v = ts_pj2_viewing_hint(m->behavior, m->nbehavior, MANIFEST_HINTS);
	if (v && !ts_pj_put(o, "viewingHint", v))
		goto fail;
	if (it->start >= 0 && !ts_pj_put(o, "startCanvas", canvas_url(w, (size_t)it->start)))
		goto fail;
	for (size_t i = 0; i < it->ncanvases; i++)
		if (!ts_pj_push(canvases, canvas(w, i)))
			goto fail;
	if (!ts_pj_put(o, "canvases", canvases)) {
		canvases = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(canvases);
	json_decref(o);
	return NULL;
}

/* The whole Manifest.  NULL with err set on failure. */
static json_t *manifest(struct w2 *w)
{
	const struct ts_present_item *it = w->it;
	const struct ts_sidecar *m = &it->meta;
	json_t *o = json_object(), *v, *arr;
	bool images_only;

	if (!o || !ts_pj_put(o, "@context", json_string(TS_PRESENT2_CONTEXT)) ||
	    !ts_pj_put(o, "@id", ts_pj_printf("%s/manifest", w->mbase)) ||
	    !ts_pj_put(o, "@type", json_string("sc:Manifest")) ||
	    !ts_pj_put(o, "label", label_or(it->label, it->rel)))
		goto oom;
	if (m->metadata && !ts_pj_put(o, "metadata", ts_pj2_metadata(m->metadata)))
		goto oom;
	if (m->summary && (v = ts_pj2_text(m->summary)) && !ts_pj_put(o, "description", v))
		goto oom;
	v = ts_pj2_thumbnail(w->c, &it->thumb);
	if (v && !ts_pj_put(o, "thumbnail", v))
		goto oom;
	if (m->viewing_direction &&
	    !ts_pj_put(o, "viewingDirection", json_string(m->viewing_direction)))
		goto oom;
	v = ts_pj2_viewing_hint(m->behavior, m->nbehavior, MANIFEST_HINTS);
	if (v && !ts_pj_put(o, "viewingHint", v))
		goto oom;
	if (m->nav_date && (v = ts_pj2_nav_date(m->nav_date)) && !ts_pj_put(o, "navDate", v))
		goto oom;
	if (m->rights && !ts_pj_put(o, "license", json_string(m->rights)))
		goto oom;
	/* §3.2 attribution: the requiredStatement's value (its label has no
	 * 2.1 place: clients show attribution under their own heading) */
	if (m->required_statement &&
	    (v = ts_pj2_text(json_object_get(m->required_statement, "value"))) &&
	    !ts_pj_put(o, "attribution", v))
		goto oom;
	if (m->provider && m->provider->logo && !ts_pj_put(o, "logo", logo(w, m->provider)))
		goto oom;
	if (m->homepage) {
		json_t *hp = json_object();
		if (!hp || !ts_pj_put(hp, "@id", json_string(m->homepage)) ||
		    !ts_pj_put(hp, "format", json_string("text/html")) ||
		    !ts_pj_put(o, "related", hp)) {
			json_decref(hp);
			goto oom;
		}
	}
	if ((m->see_also || it->nsee_also_files) && !ts_pj_put(o, "seeAlso", see_also(w)))
		goto oom;
	if (it->nrenderings) {
		arr = json_array();
		for (size_t i = 0; arr && i < it->nrenderings; i++) {
			const struct ts_present_rendering *r = &it->renderings[i];
			if (!ts_pj_push(arr, ts_pj2_file_link(w->c, it->fid, r->file, r->type->mime,
			                                      ts_pj2_text(r->label)))) {
				json_decref(arr);
				arr = NULL;
			}
		}
		if (!ts_pj_put(o, "rendering", arr))
			goto oom;
	}
	v = media_sequences(w, &images_only);
	if (!images_only && !ts_pj_put(o, "mediaSequences", v))
		goto oom;
	if (!ts_pj_put(o, "sequences", ts_pj_one(sequence(w))))
		goto oom;
	if (m->nstructures) {
		arr = json_array();
		if (!arr)
			goto oom;
		for (size_t i = 0; i < m->nstructures; i++) {
			char path[48];

			snprintf(path, sizeof path, "structures[%zu]", i);
			if (!range(w, &m->structures[i], path, true, arr)) {
				json_decref(arr);
				goto fail;
			}
		}
		if (!ts_pj_put(o, "structures", arr))
			goto oom;
	}
	return o;
oom:
	ts_error_set(w->err, TS_EINTERNAL, "cannot build the Manifest of %s", it->rel);
	ts_error_detail(w->err, "out of memory or a string that is not UTF-8");
fail:
	json_decref(o);
	return NULL;
}

/* ---- single resources --------------------------------------------------- */

/* The element of array arr whose "@id" is id, or NULL. */
static json_t *by_id(json_t *arr, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		json_t *idv = json_object_get(v, "@id");
		if (json_is_string(idv) && strcmp(json_string_value(idv), id) == 0)
			return v;
	}
	return NULL;
}

/* The resource a part names inside the whole Manifest doc: sequences and
 * canvases where they are embedded, annotations inside their canvas,
 * ranges in "structures" (never the {@id, @type, label} references). */
static json_t *find_part(json_t *doc, const struct ts_present_part *part, const char *id)
{
	json_t *seq = json_array_get(json_object_get(doc, "sequences"), 0);
	json_t *canvases = json_object_get(seq, "canvases"), *cv;
	size_t i;

	if (strcmp(part->kind, "sequence") == 0) {
		json_t *s = by_id(json_object_get(doc, "sequences"), id);
		return s ? s : by_id(json_object_get(doc, "mediaSequences"), id);
	}
	if (strcmp(part->kind, "canvas") == 0)
		return by_id(canvases, id);
	if (strcmp(part->kind, "annotation") == 0) {
		json_array_foreach(canvases, i, cv) {
			json_t *a = by_id(json_object_get(cv, "images"), id);
			if (a)
				return a;
		}
		return NULL;
	}
	if (strcmp(part->kind, "range") == 0)
		return by_id(json_object_get(doc, "structures"), id);
	return NULL;   /* "page": 2.1 has no annotation pages */
}

/* A hand-made manifest.json written for 2.x: its @context names
 * presentation/2 (a string, or one entry of an array). */
static bool is_v2(json_t *doc)
{
	json_t *ctx = json_object_get(doc, "@context"), *v;
	size_t i;

	if (json_is_string(ctx))
		return strstr(json_string_value(ctx), "/presentation/2/") != NULL;
	json_array_foreach(ctx, i, v)
		if (json_is_string(v) && strstr(json_string_value(v), "/presentation/2/"))
			return true;
	return false;
}

/* A copy of an embedded resource with the 2.1 @context first. */
static json_t *standalone(json_t *found)
{
	json_t *res = json_object(), *v, *ctx;
	const char *key;

	if (!res || !ts_pj_put(res, "@context", json_string(TS_PRESENT2_CONTEXT)))
		goto fail;
	json_object_foreach(found, key, v) {
		if (strcmp(key, "@context") == 0) {
			ctx = json_array();
			if (!ctx || !ts_pj_push(ctx, json_string(TS_PRESENT2_CONTEXT)) ||
			    !ts_pj_push(ctx, json_deep_copy(v))) {
				json_decref(ctx);
				goto fail;
			}
			if (!ts_pj_put(res, "@context", ctx))
				goto fail;
		} else if (json_object_set(res, key, v) != 0) {
			goto fail;
		}
	}
	return res;
fail:
	json_decref(res);
	return NULL;
}

ts_status ts_present_manifest2(const struct ts_present_ctx *c, const struct ts_present_item *it,
                               const struct ts_present_part *part, json_t **out,
                               struct ts_error *err)
{
	struct w2 w;
	json_t *doc = NULL, *found, *res;
	char *target = NULL;
	ts_status st = TS_OK;

	*out = NULL;
	memset(&w, 0, sizeof w);
	w.c = c;
	w.it = it;
	w.err = err;
	if (asprintf(&w.mbase, "%s/iiif/2/%s", c->base, it->id) < 0) {
		w.mbase = NULL;
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	if (it->manifest_json) {
		st = ts_present_handmade_load(it, c->base, is_v2,
		                              "this item's manifest.json is not Presentation 2.x; ask /iiif/3/ for it",
		                              &doc, err);
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
	found = find_part(doc, part, target);
	if (!found) {
		st = ts_error_set(err, TS_ENOTFOUND, "no such %s in this Manifest", part->kind);
		goto done;
	}
	/* §4.5: a resource on its own carries the @context first (with the
	 * extension's own context after it, for the IXIF media sequence) */
	res = standalone(found);
	if (!res) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto done;
	}
	*out = res;
done:
	json_decref(doc);
	free(target);
	free(w.mbase);
	return st;
}
