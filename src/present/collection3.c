/*
 * collection3.c - the IIIF Presentation 3.0 Collection of a folder
 * (present.h), and the one-call forms ts_present_manifest and
 * ts_present_collection that load, write and dump.
 *
 * A Collection lists its members (§5.2 "items"): sub-folders as their
 * Manifest or Collection, loose media files as their one-canvas Manifest,
 * each with a label and, when it has a picture, a thumbnail of a concrete
 * size, so a viewer's collection browser needs no further requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json3.h"

static json_t *member(const struct ts_present_ctx *c, const struct ts_present_member *mb,
                      struct ts_pj_memo *memo)
{
	json_t *o = json_object(), *th;

	if (!o)
		return NULL;
	if (mb->is_collection) {
		if (!ts_pj_put(o, "id", ts_pj_printf("%s/iiif/3/collection/%s", c->base, mb->id)) ||
		    !ts_pj_put(o, "type", json_string("Collection")))
			goto fail;
	} else {
		if (!ts_pj_put(o, "id", ts_pj_printf("%s/iiif/3/%s/manifest", c->base, mb->id)) ||
		    !ts_pj_put(o, "type", json_string("Manifest")))
			goto fail;
	}
	if (!ts_pj_put(o, "label", ts_pj_copy(mb->label)))
		goto fail;
	if (mb->summary && !ts_pj_put(o, "summary", ts_pj_copy(mb->summary)))
		goto fail;
	th = ts_pj_thumbnail(c, &mb->thumb, memo);
	if (th && !ts_pj_put(o, "thumbnail", th))
		goto fail;
	if (mb->nav_date && !ts_pj_put(o, "navDate", json_string(mb->nav_date)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

ts_status ts_present_collection3(const struct ts_present_ctx *c,
                                 const struct ts_present_collection *col, json_t **out,
                                 struct ts_error *err)
{
	const struct ts_sidecar *m = &col->meta;
	json_t *o = json_object(), *items = NULL, *th;
	struct ts_pj_memo memo;

	*out = NULL;
	memset(&memo, 0, sizeof memo);
	if (!o || !ts_pj_put(o, "@context", json_string(TS_PRESENT3_CONTEXT)) ||
	    !ts_pj_put(o, "id", ts_pj_printf("%s/iiif/3/collection/%s", c->base, col->id)) ||
	    !ts_pj_put(o, "type", json_string("Collection")) ||
	    !ts_pj_put(o, "label", ts_pj_copy(col->label)))
		goto fail;
	if (m->metadata && !ts_pj_put(o, "metadata", ts_pj_copy(m->metadata)))
		goto fail;
	if (m->summary && !ts_pj_put(o, "summary", ts_pj_copy(m->summary)))
		goto fail;
	th = ts_pj_thumbnail(c, &col->thumb, &memo);
	if (th && !ts_pj_put(o, "thumbnail", th))
		goto fail;
	if (m->nbehavior) {
		json_t *b = json_array();
		for (size_t i = 0; b && i < m->nbehavior; i++)
			if (!ts_pj_push(b, json_string(m->behavior[i]))) {
				json_decref(b);
				b = NULL;
			}
		if (!ts_pj_put(o, "behavior", b))
			goto fail;
	}
	if (m->nav_date && !ts_pj_put(o, "navDate", json_string(m->nav_date)))
		goto fail;
	if (m->rights && !ts_pj_put(o, "rights", json_string(m->rights)))
		goto fail;
	if (m->required_statement &&
	    !ts_pj_put(o, "requiredStatement", ts_pj_copy(m->required_statement)))
		goto fail;
	if (*col->rel) {
		/* §3.4 partOf: the collection above */
		const char *slash = strrchr(col->rel, '/');
		char *up = slash ? strndup(col->rel, (size_t)(slash - col->rel)) : NULL;
		char *upid = up ? ts_present_encode_id(up) : NULL;
		json_t *p = json_object(), *arr = json_array();
		bool ok = p && arr && (!slash || upid) &&
		          ts_pj_put(p, "id", ts_pj_printf("%s/iiif/3/collection/%s", c->base,
		                                          slash ? upid : "top")) &&
		          ts_pj_put(p, "type", json_string("Collection"));
		free(up);
		free(upid);
		if (!ok || !ts_pj_push(arr, p)) {
			if (!ok)
				json_decref(p);
			json_decref(arr);
			goto fail;
		}
		if (!ts_pj_put(o, "partOf", arr))
			goto fail;
	}
	items = json_array();
	if (!items)
		goto fail;
	for (size_t i = 0; i < col->nmembers; i++)
		if (!ts_pj_push(items, member(c, &col->members[i], &memo)))
			goto fail;
	if (!ts_pj_put(o, "items", items)) {
		items = NULL;
		goto fail;
	}
	*out = o;
	ts_pj_memo_free(&memo);
	return TS_OK;
fail:
	ts_pj_memo_free(&memo);
	json_decref(items);
	json_decref(o);
	ts_error_set(err, TS_EINTERNAL, "cannot build the Collection of %s", *col->rel ? col->rel : "the root");
	ts_error_detail(err, "out of memory or a string that is not UTF-8");
	return TS_EINTERNAL;
}

static ts_status dump(json_t *doc, struct ts_buf *out, struct ts_error *err)
{
	/* compact: a 2,000-canvas Manifest is half the bytes without
	 * indentation, and viewers never read it by eye */
	return ts_pj_write(doc, out) ? TS_OK : ts_error_set(err, TS_EINTERNAL, "out of memory");
}

ts_status ts_present_manifest(const struct ts_present_ctx *c, const char *item, int version,
                              const struct ts_present_part *part, struct ts_buf *out,
                              struct ts_error *err)
{
	struct ts_present_item it;
	json_t *doc = NULL;
	ts_status st;

	if (version != 3 && version != 2)
		return ts_error_set(err, TS_ENOTIMPL, "Presentation %d.x is not implemented yet",
		                    version);
	st = ts_present_item_load(c, item, &it, err);
	if (st)
		return st;
	st = (version == 2 ? ts_present_manifest2 : ts_present_manifest3)(c, &it, part, &doc, err);
	if (st == TS_OK)
		st = dump(doc, out, err);
	json_decref(doc);
	ts_present_item_free(&it);
	return st;
}

ts_status ts_present_collection(const struct ts_present_ctx *c, const char *folder, int version,
                                struct ts_buf *out, struct ts_error *err)
{
	struct ts_present_collection col;
	json_t *doc = NULL;
	ts_status st;

	if (version != 3 && version != 2)
		return ts_error_set(err, TS_ENOTIMPL, "Presentation %d.x is not implemented yet",
		                    version);
	st = ts_present_collection_load(c, folder, &col, err);
	if (st)
		return st;
	st = (version == 2 ? ts_present_collection2 : ts_present_collection3)(c, &col, &doc, err);
	if (st == TS_OK)
		st = dump(doc, out, err);
	json_decref(doc);
	ts_present_collection_free(&col);
	return st;
}
