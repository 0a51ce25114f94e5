/*
 * members.c - the model of a Collection (present.h): which sub-folders and
 * loose files of a folder are its members, in which order, with which
 * labels and pictures (presentation.md §1-§3).
 *
 * Members are the sidecar's `items` first, then the sub-folders that hold
 * media, then the loose media files, each in natural order.  A member is
 * described cheaply - its own sidecar's label or the folder's CSV row, and
 * the first image it would paint, probed - never by building its whole
 * Manifest, so a collection of 10,000 folders costs a readdir and at most
 * one probe (usually cached) per member.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "parallel.h"

/* Member folders are described on several threads (parallel.h) when the
 * folder has at least PARALLEL_MIN entries, handed out JOB_CHUNK at a
 * time. */
#define PARALLEL_MIN 64
#define JOB_CHUNK 16

/* ---- collections ------------------------------------------------------ */

/* Free what member m holds and clear it. */
static void member_free(struct ts_present_member *m)
{
	free(m->rel);
	free(m->id);
	json_decref(m->label);
	json_decref(m->summary);
	ts_pm_picture_free(&m->thumb);
	free(m->nav_date);
	memset(m, 0, sizeof *m);
}

void ts_present_collection_free(struct ts_present_collection *col)
{
	if (!col)
		return;
	for (size_t i = 0; i < col->nmembers; i++)
		member_free(&col->members[i]);
	free(col->members);
	ts_pm_sidecar_free(&col->meta);
	json_decref(col->label);
	ts_pm_picture_free(&col->thumb);
	free(col->rel);
	free(col->id);
	memset(col, 0, sizeof *col);
}

/* The first image of a collection folder, depth first in natural order,
 * for its member entry's thumbnail.  A picture that cannot be read is no
 * thumbnail, not an error: the collection still lists the member. */
static bool first_picture(const struct ts_present_ctx *c, const char *rel, int depth,
                          struct ts_present_picture *pic)
{
	struct ts_catalogue cat;
	struct ts_error e;
	bool found = false;

	if (depth < 0 || ts_catalogue_scan(c->root_fd, c->root_path, rel, &cat, &e) != TS_OK)
		return false;
	for (size_t i = 0; !found && i < cat.n; i++) {
		const struct ts_catalogue_entry *en = &cat.entries[i];

		if (!en->is_dir && en->type->kind == TS_MEDIA_IMAGE) {
			found = ts_pm_probe_picture(c, rel, en, pic, &e) == TS_OK;
			if (!found)
				ts_pm_picture_free(pic);
		}
	}
	for (size_t i = 0; !found && i < cat.n; i++) {
		char *sub;

		if (!cat.entries[i].is_dir)
			continue;
		sub = ts_pm_join(rel, cat.entries[i].name);
		found = sub && first_picture(c, sub, depth - 1, pic);
		free(sub);
	}
	ts_catalogue_free(&cat);
	return found;
}

/* The image of the same basename beside a loose media file (clip.jpg for
 * clip.mp4), its picture in the collection; NULL when there is none. */
static const struct ts_catalogue_entry *beside(const struct ts_catalogue *cat,
                                               const struct ts_catalogue_entry *e)
{
	const char *dot = strrchr(e->name, '.');
	size_t stem = dot ? (size_t)(dot - e->name) : strlen(e->name);

	for (size_t i = 0; i < cat->n; i++) {
		const struct ts_catalogue_entry *x = &cat->entries[i];
		const char *xd;

		if (x->is_dir || x->type->kind != TS_MEDIA_IMAGE)
			continue;
		xd = strrchr(x->name, '.');
		if (xd && (size_t)(xd - x->name) == stem && strncmp(x->name, e->name, stem) == 0)
			return x;
	}
	return NULL;
}

/* A member folder's label, summary, navDate and picture, cheaply: its
 * sidecar merged over its CSV row (row, emptied; may be the empty row),
 * and the first image it would paint. */
static ts_status member_folder(const struct ts_present_ctx *c, int dfd, const char *rel,
                               struct ts_present_member *mb, const char *name,
                               struct ts_sidecar *row, bool *holds, struct ts_error *err)
{
	struct ts_catalogue cat;
	struct ts_sidecar sc;
	enum ts_present_kind k;
	ts_status s;

	memset(&sc, 0, sizeof sc);
	s = ts_catalogue_scan_in(dfd, c->root_path, rel, name, &cat, err);
	if (s)
		return s;
	k = ts_pm_folder_kind(c, &cat);
	*holds = k != TS_PRESENT_NONE;
	if (!*holds) {
		ts_catalogue_free(&cat);
		return TS_OK;   /* a folder without media is no member */
	}
	mb->is_collection = k == TS_PRESENT_COLLECTION;
	/* A member's broken sidecar is that member's 500 (its own Manifest
	 * says what is wrong); the collection still lists it, by its name. */
	if (ts_pm_parse_sidecar(&cat, mb->is_collection ? TS_SIDECAR_COLLECTION : TS_SIDECAR_ITEM,
	                        &sc, err) != TS_OK) {
		ts_error_clear(err);
		memset(&sc, 0, sizeof sc);
	}
	/* the member's own sidecar over its row, as its own document merges
	 * them, so its entry here says what its Manifest or Collection says */
	ts_sidecar_merge(&sc, row);
	mb->label = ts_pm_label(&sc, name);
	if (sc.summary)
		mb->summary = json_deep_copy(sc.summary);
	if (sc.nav_date)
		mb->nav_date = strdup(sc.nav_date);
	if (!mb->is_collection) {
		const struct ts_catalogue_entry *pick = NULL;
		const char *want = sc.thumbnail ? sc.thumbnail : sc.nitems ? sc.items[0].file : NULL;

		if (want) {
			pick = ts_pm_find_entry(&cat, want);
			if (pick && (pick->is_dir || pick->type->kind != TS_MEDIA_IMAGE))
				pick = NULL;
		}
		for (size_t i = 0; !pick && i < cat.n; i++)
			if (!cat.entries[i].is_dir && cat.entries[i].type->kind == TS_MEDIA_IMAGE &&
			    !ts_pm_listed(sc.exclude, sc.nexclude, cat.entries[i].name))
				pick = &cat.entries[i];
		if (pick && ts_pm_probe_picture(c, mb->rel, pick, &mb->thumb, err) != TS_OK)
			ts_pm_picture_free(&mb->thumb);   /* listed without a picture */
	} else {
		first_picture(c, mb->rel, 4, &mb->thumb);
	}
	ts_pm_sidecar_free(&sc);
	ts_catalogue_free(&cat);
	return s;
}

/* Take the last member back (it is not published after all). */
static void member_drop(struct ts_present_collection *col)
{
	member_free(&col->members[--col->nmembers]);
}

static ts_status add_member(struct ts_present_collection *col, size_t cap, const char *rel,
                            bool *ok, struct ts_error *err)
{
	struct ts_present_member *m;

	/* the array holds one member per catalogue entry (allocated once) */
	if (col->nmembers >= cap)
		return ts_error_set(err, TS_EINTERNAL, "too many members");
	m = &col->members[col->nmembers++];
	memset(m, 0, sizeof *m);
	m->rel = ts_pm_join(col->rel, rel);
	m->id = m->rel ? ts_present_encode_id(m->rel) : NULL;
	*ok = m->rel && m->id;
	return *ok ? TS_OK : ts_error_set(err, TS_EINTERNAL, "out of memory");
}

/* One member folder to describe: member_folder's arguments and results. */
struct job {
	size_t member;          /* index in the collection's members */
	const char *name;       /* the folder's entry name (the catalogue's);
	                         * NULL: no job (a slot beyond the last) */
	struct ts_sidecar *row; /* its CSV row, owned; NULL: none */
	bool holds;
	ts_status status;
	struct ts_error *err;   /* on failure only, owned (NULL: out of memory) */
};

struct jobs {
	const struct ts_present_ctx *c;
	struct ts_present_collection *col;
	int dfd;
	const char *rel;
	struct job *v;          /* one slot per catalogue entry, calloc'd */
	size_t n;               /* slots filled so far */
	bool cancel;            /* (atomic) the load failed: leave the rest */
};

/* Describe the member folders of jobs [from, to): each writes only its
 * own member and job, and the probe cache locks itself.  The member's
 * name and id are made here too, on whichever thread. */
static void run_jobs(void *arg, size_t from, size_t to)
{
	struct jobs *js = arg;
	static const struct ts_sidecar no_row;

	for (size_t i = from; i < to; i++) {
		struct job *j = &js->v[i];
		struct ts_present_member *mb;
		struct ts_sidecar row;
		struct ts_error e;

		if (!j->name || __atomic_load_n(&js->cancel, __ATOMIC_RELAXED))
			continue;
		mb = &js->col->members[j->member];
		mb->rel = ts_pm_join(js->col->rel, j->name);
		mb->id = mb->rel ? ts_present_encode_id(mb->rel) : NULL;
		if (!mb->id) {
			j->status = TS_EINTERNAL;   /* no err: out of memory */
			continue;
		}
		/* the error kept apart: 10,000 jobs each holding one would be
		 * 8 MB of fresh pages touched for nothing */
		ts_error_clear(&e);
		row = j->row ? *j->row : no_row;
		j->holds = true;
		j->status = member_folder(js->c, js->dfd, js->rel, mb, j->name, &row, &j->holds, &e);
		if (j->row)
			*j->row = row;
		if (j->status != TS_OK && (j->err = malloc(sizeof *j->err)) != NULL)
			*j->err = e;
	}
}

static void jobs_free(struct jobs *js)
{
	for (size_t i = 0; i < js->n; i++) {
		if (js->v[i].row) {
			ts_pm_sidecar_free(js->v[i].row);
			free(js->v[i].row);
		}
		free(js->v[i].err);
	}
	free(js->v);
	js->v = NULL;
	js->n = 0;
}

ts_status ts_present_collection_load(const struct ts_present_ctx *c, const char *rel,
                                     struct ts_present_collection *out, struct ts_error *err)
{
	struct ts_catalogue own;
	const struct ts_catalogue *cat;
	struct ts_sidecar row, mrow;
	struct ts_csv csv;
	struct jobs js;
	struct ts_pm_loop loop;
	bool *done = NULL, *gone = NULL, ok, looping = false;
	ts_status s;
	size_t i, pass;
	int dfd = -1;
	const char *name = NULL, *row_lang;
	char *parent = NULL;

	memset(out, 0, sizeof *out);
	memset(&row, 0, sizeof row);
	memset(&csv, 0, sizeof csv);
	memset(&js, 0, sizeof js);
	/* the fingerprint's listing, lent: 10,000 entries need no copy */
	s = ts_present_scan_lend(c, rel, false, &own, &cat, err);
	if (s)
		return s;
	if (ts_pm_folder_kind(c, cat) != TS_PRESENT_COLLECTION) {
		ts_catalogue_free(&own);
		return ts_error_set(err, TS_ENOTFOUND, "not a collection");
	}
	out->rel = strdup(rel);
	out->id = *rel ? ts_present_encode_id(rel) : strdup("top");
	parent = ts_pm_parent_of(rel, &name);
	done = calloc(cat->n ? cat->n : 1, sizeof *done);
	js.v = calloc(cat->n ? cat->n : 1, sizeof *js.v);
	/* sized once: growing 10,000 members of 624 bytes by doubling would
	 * touch twice the fresh pages, and a cold answer pays for each */
	out->members = calloc(cat->n ? cat->n : 1, sizeof *out->members);
	if (!out->rel || !out->id || !parent || !done || !js.v || !out->members) {
		s = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	s = ts_pm_parse_sidecar(cat, TS_SIDECAR_COLLECTION, &out->meta, err);
	if (s)
		goto fail;
	/* §3: the parent's CSV row (the root has none) under the own sidecar */
	s = ts_pm_merge_row(c, *rel ? parent : NULL, name, &out->meta, &row, err);
	if (s)
		goto fail;
	out->label = ts_pm_label(&out->meta, *rel ? name : "top");
	/* the members' CSV rows read untagged values in this folder's own
	 * sidecar language (§3), as each member's ts_pm_csv_row does - not
	 * in a language this folder took from its own row above */
	row_lang = cat->sidecar ? out->meta.language : NULL;
	if (cat->csv) {
		struct ts_error e;
		ts_error_clear(&e);
		if (ts_csv_parse(cat->csv, cat->csv_len, &csv, &e) != TS_OK) {
			s = ts_error_set(err, TS_EINTERNAL, "%s%smetadata.csv: %s", rel, *rel ? "/" : "", e.msg);
			goto fail;
		}
	}
	dfd = ts_catalogue_open_dir(c->root_fd, rel);
	if (dfd < 0) {
		s = ts_error_set(err, TS_ENOTFOUND, "not found");
		goto fail;
	}
	/* the member folders are described on the cores (up to 4) while this
	 * thread lists them: a cold collection of 10,000 folders is mostly
	 * their readdirs and probes, which the kernel serves in parallel */
	js.c = c;
	js.col = out;
	js.dfd = dfd;
	js.rel = rel;
	ts_pm_begin(&loop, cat->n, 0, PARALLEL_MIN, JOB_CHUNK, run_jobs, &js);
	looping = true;
	/* members: the sidecar's order, then folders, then loose files (§1) */
	for (pass = 0; pass < 3; pass++) {
		size_t count = pass == 0 ? out->meta.nitems : cat->n;

		for (i = 0; i < count; i++) {
			const struct ts_catalogue_entry *e;
			struct ts_present_member *mb;
			long r;

			if (pass == 0) {
				e = ts_pm_find_entry(cat, out->meta.items[i].file);
				if (!e) {
					char f[48];
					snprintf(f, sizeof f, "items[%zu]", i);
					s = ts_error_set(err, TS_EINTERNAL, "%s%siiif.json: %s: no such member",
					                 rel, *rel ? "/" : "", f);
					goto fail;
				}
			} else {
				e = &cat->entries[i];
				if (pass == 1 ? !e->is_dir : e->is_dir)
					continue;
			}
			if (done[e - cat->entries])
				continue;
			done[e - cat->entries] = true;
			if (!e->is_dir && ts_catalogue_paint_rank(e->type->kind) == 0)
				continue;
			memset(&mrow, 0, sizeof mrow);
			r = csv.nrows ? ts_csv_find(&csv, e->name) : -1;
			if (r >= 0) {
				struct ts_error e2;
				ts_error_clear(&e2);
				if (ts_sidecar_from_csv(&csv, (size_t)r, row_lang, &mrow, &e2) != TS_OK) {
					ts_pm_sidecar_free(&mrow);
					s = ts_error_set(err, TS_EINTERNAL, "%s%smetadata.csv, the row of %s: %s",
					                 rel, *rel ? "/" : "", e->name, e2.msg);
					goto fail;
				}
			}
			if (e->is_dir) {
				/* a slot taken, described by the jobs (its name too) */
				struct job *j = &js.v[js.n];

				if (out->nmembers >= cat->n) {
					ts_pm_sidecar_free(&mrow);
					s = ts_error_set(err, TS_EINTERNAL, "too many members");
					goto fail;
				}
				if (r >= 0) {   /* the folder has a CSV row */
					j->row = malloc(sizeof *j->row);
					if (!j->row) {
						ts_pm_sidecar_free(&mrow);
						s = ts_error_set(err, TS_EINTERNAL, "out of memory");
						goto fail;
					}
					*j->row = mrow;
				} else {
					ts_pm_sidecar_free(&mrow);
				}
				j->member = out->nmembers++;
				j->name = e->name;
				js.n++;
				if (js.n % JOB_CHUNK == 0)
					ts_pm_ready(&loop, js.n);
				continue;
			}
			s = add_member(out, cat->n, e->name, &ok, err);
			if (s) {
				ts_pm_sidecar_free(&mrow);
				goto fail;
			}
			mb = &out->members[out->nmembers - 1];
			{
				/* a file has no sidecar: its row alone, as in its Manifest */
				mb->label = ts_pm_label(&mrow, e->name);
				if (mrow.summary)
					mb->summary = json_deep_copy(mrow.summary);
				const struct ts_catalogue_entry *pic = e->type->kind == TS_MEDIA_IMAGE ? e
				                                     : beside(cat, e);
				if (pic && ts_pm_probe_picture(c, rel, pic, &mb->thumb, err) != TS_OK)
					ts_pm_picture_free(&mb->thumb);
				if (e->type->kind == TS_MEDIA_IMAGE && mb->thumb.rel &&
				    !ts_present_renderable(c, &mb->thumb.info)) {
					/* its Manifest is a 403 (model.c): not published */
					ts_pm_sidecar_free(&mrow);
					member_drop(out);
					continue;
				}
			}
			ts_pm_sidecar_free(&mrow);
			if (s)
				goto fail;
			if (!mb->label) {
				s = ts_error_set(err, TS_EINTERNAL, "out of memory");
				goto fail;
			}
		}
	}
	/* the member folders done, then those without media taken back (one
	 * readdir decided it), keeping the order */
	ts_pm_end(&loop);
	looping = false;
	gone = calloc(out->nmembers ? out->nmembers : 1, sizeof *gone);
	if (!gone) {
		s = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	for (i = 0; i < js.n; i++) {
		struct job *j = &js.v[i];

		if (j->status != TS_OK) {
			if (j->err) {
				*err = *j->err;
				s = j->status;
			} else {
				s = ts_error_set(err, TS_EINTERNAL, "out of memory");
			}
			goto fail;
		}
		if (!j->holds)
			gone[j->member] = true;
		else if (!out->members[j->member].label) {
			s = ts_error_set(err, TS_EINTERNAL, "out of memory");
			goto fail;
		}
	}
	{
		size_t kept = 0;

		for (i = 0; i < out->nmembers; i++) {
			if (gone[i])
				member_free(&out->members[i]);
			else if (kept++ != i)
				out->members[kept - 1] = out->members[i];
		}
		out->nmembers = kept;
	}
	/* the collection's picture: the sidecar's member, else the first one's */
	for (i = 0; i < out->nmembers; i++) {
		const struct ts_present_member *mb = &out->members[i];
		const char *mname = strrchr(mb->rel, '/') ? strrchr(mb->rel, '/') + 1 : mb->rel;

		if (!mb->thumb.rel)
			continue;
		if (out->meta.thumbnail && strcmp(out->meta.thumbnail, mname) != 0)
			continue;
		out->thumb.rel = strdup(mb->thumb.rel);
		out->thumb.info = mb->thumb.info;
		break;
	}
	out->fingerprint = cat->fingerprint;
	s = TS_OK;
	/* the same cleanup on both paths; the collection is freed on failure */
fail:
	if (looping) {
		/* the helpers leave what they have not begun */
		__atomic_store_n(&js.cancel, true, __ATOMIC_RELAXED);
		ts_pm_end(&loop);
	}
	if (dfd >= 0)
		close(dfd);
	jobs_free(&js);
	free(gone);
	ts_csv_free(&csv);
	ts_pm_sidecar_free(&row);
	ts_catalogue_free(&own);
	free(parent);
	free(done);
	if (s)
		ts_present_collection_free(out);
	return s;
}
