/*
 * collection3.c - the IIIF Presentation 3.0 Collection of a folder
 * (present.h), and the one-call forms ts_present_manifest and
 * ts_present_collection that load, write and dump.
 *
 * A Collection lists its members (§5.2 "items"): sub-folders as their
 * Manifest or Collection, loose media files as their one-canvas Manifest,
 * each with a label and, when it has a picture, a thumbnail of a concrete
 * size, so a viewer's collection browser needs no further requests.
 *
 * The 3.0 Collection is written straight into the answer's buffer
 * (json3.h, "streaming"): the bytes ts_pj_write would print for the tree,
 * without the tree, whose 50,000 objects were most of a cold 10,000-member
 * Collection's CPU time after the probes.  A big Collection's members are
 * written on the cores, a run of them to a buffer, and the buffers joined
 * in order: the same bytes as one thread's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json3.h"
#include "parallel.h"

/* Members are written on several threads from this many on, WRITE_RUN to
 * a buffer. */
#define PARALLEL_WRITE 2048
#define WRITE_RUN 256

static bool member(struct ts_buf *b, const struct ts_present_ctx *c,
                   const struct ts_present_member *mb, struct ts_pj_memo *memo)
{
	if (!(mb->is_collection
	      ? ts_pj_w(b, "{\"id\":") &&
	        ts_pj_w_strf(b, "%s/iiif/3/collection/%s", c->base, mb->id) &&
	        ts_pj_w(b, ",\"type\":\"Collection\"")
	      : ts_pj_w(b, "{\"id\":") &&
	        ts_pj_w_strf(b, "%s/iiif/3/%s/manifest", c->base, mb->id) &&
	        ts_pj_w(b, ",\"type\":\"Manifest\"")))
		return false;
	if (!ts_pj_w(b, ",\"label\":") || !ts_pj_w_value(b, mb->label))
		return false;
	if (mb->summary && (!ts_pj_w(b, ",\"summary\":") || !ts_pj_w_value(b, mb->summary)))
		return false;
	ts_pj_w_thumbnail(b, ",\"thumbnail\":", c, &mb->thumb, memo);
	if (mb->nav_date && (!ts_pj_w(b, ",\"navDate\":") || !ts_pj_w_str(b, mb->nav_date)))
		return false;
	return ts_pj_w(b, "}");
}

/* Runs of members being written (write_runs). */
struct runs {
	const struct ts_present_ctx *c;
	const struct ts_present_collection *col;
	struct ts_buf *bufs;   /* one per run */
	bool *ok;
};

/* Members [from, to), one run (ts_pm_begin hands out WRITE_RUN-aligned
 * runs), into that run's buffer, comma-separated. */
static void write_run(void *arg, size_t from, size_t to)
{
	const struct runs *r = arg;
	struct ts_buf *b = &r->bufs[from / WRITE_RUN];
	struct ts_pj_memo memo;
	bool ok = ts_buf_reserve(b, (to - from) * 400);

	memset(&memo, 0, sizeof memo);
	for (size_t i = from; ok && i < to; i++)
		ok = (i == from || ts_pj_w(b, ",")) && member(b, r->c, &r->col->members[i], &memo);
	ts_pj_memo_free(&memo);
	r->ok[from / WRITE_RUN] = ok;
}

/* The members of col, comma-separated, into b: on the cores when there are
 * many. */
static bool members(struct ts_buf *b, const struct ts_present_ctx *c,
                    const struct ts_present_collection *col, struct ts_pj_memo *memo)
{
	size_t nruns = (col->nmembers + WRITE_RUN - 1) / WRITE_RUN;
	struct runs r = { c, col, NULL, NULL };
	struct ts_pm_loop loop;
	bool ok = true;

	if (col->nmembers < PARALLEL_WRITE) {
		for (size_t i = 0; i < col->nmembers; i++)
			if ((i && !ts_pj_w(b, ",")) || !member(b, c, &col->members[i], memo))
				return false;
		return true;
	}
	r.bufs = calloc(nruns, sizeof *r.bufs);
	r.ok = calloc(nruns, sizeof *r.ok);
	if (!r.bufs || !r.ok) {
		free(r.bufs);
		free(r.ok);
		return false;
	}
	ts_pm_begin(&loop, col->nmembers, col->nmembers, PARALLEL_WRITE, WRITE_RUN, write_run, &r);
	ts_pm_end(&loop);
	for (size_t k = 0; k < nruns; k++) {
		ok = ok && r.ok[k] && (k == 0 || ts_pj_w(b, ",")) &&
		     ts_buf_append(b, r.bufs[k].data, r.bufs[k].len);
		ts_buf_free(&r.bufs[k]);
	}
	free(r.bufs);
	free(r.ok);
	return ok;
}

/* The whole Collection into b; false when out of memory or a string is not
 * UTF-8. */
static bool collection(struct ts_buf *b, const struct ts_present_ctx *c,
                       const struct ts_present_collection *col, struct ts_pj_memo *memo)
{
	const struct ts_sidecar *m = &col->meta;

	/* the members are most of it: about 400 bytes each */
	if (!ts_buf_reserve(b, 1024 + col->nmembers * 400))
		return false;
	if (!ts_pj_w(b, "{\"@context\":\"" TS_PRESENT3_CONTEXT "\",\"id\":") ||
	    !ts_pj_w_strf(b, "%s/iiif/3/collection/%s", c->base, col->id) ||
	    !ts_pj_w(b, ",\"type\":\"Collection\",\"label\":") || !ts_pj_w_value(b, col->label))
		return false;
	if (m->metadata && (!ts_pj_w(b, ",\"metadata\":") || !ts_pj_w_value(b, m->metadata)))
		return false;
	if (m->summary && (!ts_pj_w(b, ",\"summary\":") || !ts_pj_w_value(b, m->summary)))
		return false;
	ts_pj_w_thumbnail(b, ",\"thumbnail\":", c, &col->thumb, memo);
	if (m->nbehavior) {
		if (!ts_pj_w(b, ",\"behavior\":["))
			return false;
		for (size_t i = 0; i < m->nbehavior; i++)
			if ((i && !ts_pj_w(b, ",")) || !ts_pj_w_str(b, m->behavior[i]))
				return false;
		if (!ts_pj_w(b, "]"))
			return false;
	}
	if (m->nav_date && (!ts_pj_w(b, ",\"navDate\":") || !ts_pj_w_str(b, m->nav_date)))
		return false;
	if (m->rights && (!ts_pj_w(b, ",\"rights\":") || !ts_pj_w_str(b, m->rights)))
		return false;
	if (m->required_statement && (!ts_pj_w(b, ",\"requiredStatement\":") ||
	                              !ts_pj_w_value(b, m->required_statement)))
		return false;
	if (*col->rel) {
		/* §3.4 partOf: the collection above */
		const char *slash = strrchr(col->rel, '/');
		char *up = slash ? strndup(col->rel, (size_t)(slash - col->rel)) : NULL;
		char *upid = up ? ts_present_encode_id(up) : NULL;
		bool ok = (!slash || upid) && ts_pj_w(b, ",\"partOf\":[{\"id\":") &&
		          ts_pj_w_strf(b, "%s/iiif/3/collection/%s", c->base, slash ? upid : "top") &&
		          ts_pj_w(b, ",\"type\":\"Collection\"}]");

		free(up);
		free(upid);
		if (!ok)
			return false;
	}
	if (!ts_pj_w(b, ",\"items\":[") || !members(b, c, col, memo))
		return false;
	return ts_pj_w(b, "]}\n");
}

ts_status ts_present_collection3_write(const struct ts_present_ctx *c,
                                       const struct ts_present_collection *col,
                                       struct ts_buf *out, struct ts_error *err)
{
	struct ts_pj_memo memo;
	size_t mark = out->len;
	bool ok;

	memset(&memo, 0, sizeof memo);
	ok = collection(out, c, col, &memo);
	ts_pj_memo_free(&memo);
	if (ok)
		return TS_OK;
	out->len = mark;
	ts_error_set(err, TS_EINTERNAL, "cannot build the Collection of %s", *col->rel ? col->rel : "the root");
	ts_error_detail(err, "out of memory or a string that is not UTF-8");
	return TS_EINTERNAL;
}

ts_status ts_present_collection3(const struct ts_present_ctx *c,
                                 const struct ts_present_collection *col, json_t **out,
                                 struct ts_error *err)
{
	struct ts_buf b = TS_BUF_INIT;
	ts_status st;

	*out = NULL;
	st = ts_present_collection3_write(c, col, &b, err);
	if (st == TS_OK) {
		*out = json_loadb((const char *)b.data, b.len, 0, NULL);
		if (!*out)
			st = ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	ts_buf_free(&b);
	return st;
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
	if (version == 3)
		st = ts_present_manifest3_write(c, &it, part, out, err);
	else if ((st = ts_present_manifest2(c, &it, part, &doc, err)) == TS_OK)
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
	if (version == 3)
		st = ts_present_collection3_write(c, &col, out, err);
	else if ((st = ts_present_collection2(c, &col, &doc, err)) == TS_OK)
		st = dump(doc, out, err);
	json_decref(doc);
	ts_present_collection_free(&col);
	return st;
}
