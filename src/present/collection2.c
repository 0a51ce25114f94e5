/*
 * collection2.c - the IIIF Presentation 2.1 Collection of a folder
 * (present.h), from the same model as collection3.c.
 *
 * 2.1 §5.8: an sc:Collection lists its sub-collections in "collections"
 * and its manifests in "manifests", each {@id, @type, label} with, when
 * it has a picture, a thumbnail of a concrete size (so a viewer's
 * collection browser needs no further requests), and navDate in UTC.
 *
 * The one idea: the two lists cannot say how collections and manifests
 * interleave, so when the folder's order (the sidecar's "items") puts a
 * manifest before a collection, the single ordered "members" list of 2.1
 * §5.8 is written instead, and the curator's order survives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json2.h"

static const char *const COLLECTION_HINTS[] = { "multi-part", "individuals", NULL };

static json_t *member(const struct ts_present_ctx *c, const struct ts_present_member *mb)
{
	json_t *o = json_object(), *v;

	if (!o)
		return NULL;
	if (mb->is_collection) {
		if (!ts_pj_put(o, "@id", ts_pj_printf("%s/iiif/2/collection/%s", c->base, mb->id)) ||
		    !ts_pj_put(o, "@type", json_string("sc:Collection")))
			goto fail;
	} else {
		if (!ts_pj_put(o, "@id", ts_pj_printf("%s/iiif/2/%s/manifest", c->base, mb->id)) ||
		    !ts_pj_put(o, "@type", json_string("sc:Manifest")))
			goto fail;
	}
	v = ts_pj2_text(mb->label);
	if (!ts_pj_put(o, "label", v ? v : json_string(mb->rel)))
		goto fail;
	if (mb->summary && (v = ts_pj2_text(mb->summary)) && !ts_pj_put(o, "description", v))
		goto fail;
	v = ts_pj2_thumbnail(c, &mb->thumb);
	if (v && !ts_pj_put(o, "thumbnail", v))
		goto fail;
	if (mb->nav_date && (v = ts_pj2_nav_date(mb->nav_date)) && !ts_pj_put(o, "navDate", v))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* Whether some manifest comes before some collection in the members'
 * order (then only "members" keeps it). */
static bool interleaved(const struct ts_present_collection *col)
{
	bool seen_manifest = false;

	for (size_t i = 0; i < col->nmembers; i++) {
		if (!col->members[i].is_collection)
			seen_manifest = true;
		else if (seen_manifest)
			return true;
	}
	return false;
}

/* §3.4 within: the collection above, for any but the root. */
static json_t *within(const struct ts_present_ctx *c, const struct ts_present_collection *col)
{
	const char *slash = strrchr(col->rel, '/');
	char *up, *upid;
	json_t *v;

	if (!slash)
		return ts_pj_printf("%s/iiif/2/collection/top", c->base);
	up = strndup(col->rel, (size_t)(slash - col->rel));
	upid = up ? ts_present_encode_id(up) : NULL;
	v = upid ? ts_pj_printf("%s/iiif/2/collection/%s", c->base, upid) : NULL;
	free(up);
	free(upid);
	return v;
}

ts_status ts_present_collection2(const struct ts_present_ctx *c,
                                 const struct ts_present_collection *col, json_t **out,
                                 struct ts_error *err)
{
	const struct ts_sidecar *m = &col->meta;
	json_t *o = json_object(), *v, *cols = NULL, *mans = NULL;

	*out = NULL;
	if (!o || !ts_pj_put(o, "@context", json_string(TS_PRESENT2_CONTEXT)) ||
	    !ts_pj_put(o, "@id", ts_pj_printf("%s/iiif/2/collection/%s", c->base, col->id)) ||
	    !ts_pj_put(o, "@type", json_string("sc:Collection")))
		goto fail;
	v = ts_pj2_text(col->label);
	if (!ts_pj_put(o, "label", v ? v : json_string(*col->rel ? col->rel : "top")))
		goto fail;
	if (m->metadata && !ts_pj_put(o, "metadata", ts_pj2_metadata(m->metadata)))
		goto fail;
	if (m->summary && (v = ts_pj2_text(m->summary)) && !ts_pj_put(o, "description", v))
		goto fail;
	v = ts_pj2_thumbnail(c, &col->thumb);
	if (v && !ts_pj_put(o, "thumbnail", v))
		goto fail;
	v = ts_pj2_viewing_hint(m->behavior, m->nbehavior, COLLECTION_HINTS);
	if (v && !ts_pj_put(o, "viewingHint", v))
		goto fail;
	if (m->nav_date && (v = ts_pj2_nav_date(m->nav_date)) && !ts_pj_put(o, "navDate", v))
		goto fail;
	if (m->rights && !ts_pj_put(o, "license", json_string(m->rights)))
		goto fail;
	if (m->required_statement &&
	    (v = ts_pj2_text(json_object_get(m->required_statement, "value"))) &&
	    !ts_pj_put(o, "attribution", v))
		goto fail;
	if (*col->rel && !ts_pj_put(o, "within", within(c, col)))
		goto fail;
	if (interleaved(col)) {
		mans = json_array();
		if (!mans)
			goto fail;
		for (size_t i = 0; i < col->nmembers; i++)
			if (!ts_pj_push(mans, member(c, &col->members[i])))
				goto fail;
		v = mans;
		mans = NULL;
		if (!ts_pj_put(o, "members", v))
			goto fail;
	} else {
		cols = json_array();
		mans = json_array();
		if (!cols || !mans)
			goto fail;
		for (size_t i = 0; i < col->nmembers; i++)
			if (!ts_pj_push(col->members[i].is_collection ? cols : mans,
			                member(c, &col->members[i])))
				goto fail;
		/* §5.8: both lists are written, empty or not, so a client never
		 * has to guess whether a folder is empty or unread */
		v = cols;
		cols = NULL;
		if (!ts_pj_put(o, "collections", v))
			goto fail;
		v = mans;
		mans = NULL;
		if (!ts_pj_put(o, "manifests", v))
			goto fail;
	}
	*out = o;
	return TS_OK;
fail:
	json_decref(cols);
	json_decref(mans);
	json_decref(o);
	ts_error_set(err, TS_EINTERNAL, "cannot build the Collection of %s", *col->rel ? col->rel : "the root");
	ts_error_detail(err, "out of memory or a string that is not UTF-8");
	return TS_EINTERNAL;
}
