/*
 * model.c - from folders to the Presentation model (present.h): what an
 * item's canvases are, in which order, with which sizes, thumbnails,
 * renderings, seeAlso and captions, and what a collection's members are.
 *
 * Sits between the catalogue (one folder read) and the writers (JSON).  It
 * applies presentation.md §1-§3: the painting rule (Model > Video > Sound >
 * Image > PDF, one painted type per item, the rest becoming renderings,
 * seeAlso, captions or thumbnails by basename), the sidecar's order,
 * labels, exclusions and overrides, and the parent's metadata.csv row
 * merged under the item's own sidecar.  Every canvas is then measured
 * through the context's probes; a canvas that cannot be measured is an
 * error naming the file, never a guessed size.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/checked.h"
#include "tessera/resolve.h"
#include "tessera/hash.h"
#include "model.h"


/* ---- small helpers ---------------------------------------------------- */

/* Room for one more element in an array of n grown by doubling (its
 * capacity is n rounded up to a power of two), so appending stays linear.
 * The array is unchanged on failure. */
void *ts_pm_grow(void *arr, size_t n, size_t size)
{
	size_t cap, bytes;

	if (n && (n & (n - 1)) != 0)
		return arr;   /* still room below the next power of two */
	cap = n ? n * 2 : 4;
	if (n && n < 4)
		return arr;
	if (!ts_mul_size(cap, size, &bytes))
		return NULL;
	return realloc(arr, bytes);
}


char *ts_pm_join(const char *folder, const char *name)
{
	size_t a = strlen(folder), b = strlen(name);
	char *s = malloc(a + b + 2);

	if (!s)
		return NULL;
	if (a) {
		memcpy(s, folder, a);
		s[a] = '/';
		memcpy(s + a + 1, name, b + 1);
	} else {
		memcpy(s, name, b + 1);
	}
	return s;
}

/* Split rel into its parent folder (malloc'd, "" for the root) and its
 * last name (pointing into rel). */
char *ts_pm_parent_of(const char *rel, const char **name)
{
	const char *slash = strrchr(rel, '/');

	*name = slash ? slash + 1 : rel;
	return slash ? strndup(rel, (size_t)(slash - rel)) : strdup("");
}

/* The length of name without its extension. */
static size_t stem_len(const char *name)
{
	const char *dot = strrchr(name, '.');
	return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

/* A file name's stem, for matching by basename. */
struct stem {
	const char *name;
	size_t len;
	size_t index;
};

static int stem_cmp(const void *a, const void *b)
{
	const struct stem *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* equal stems keep canvas order */
	return x->index < y->index ? -1 : x->index > y->index;
}

/* {language: [s]} */
json_t *ts_pm_lang_map(const char *language, const char *s, size_t n)
{
	json_t *m = json_object(), *arr = json_array();

	if (!m || !arr || json_array_append_new(arr, json_stringn(s, n)) != 0 ||
	    json_object_set_new(m, language && *language ? language : "none", arr) != 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *ts_pm_label(const struct ts_sidecar *m, const char *name)
{
	if (m->label)
		return json_deep_copy(m->label);
	return ts_pm_lang_map(m->language, name, strlen(name));
}

char *ts_present_encode_id(const char *rel)
{
	return ts_encode_path(rel, TS_ENCODE_KEEP_PRESENT_ID);
}

ts_status ts_pm_merge_row(const struct ts_present_ctx *c, const char *parent, const char *name,
                          struct ts_sidecar *meta, struct ts_sidecar *row, struct ts_error *err)
{
	ts_status s;

	if (parent) {
		s = ts_pm_csv_row(c, parent, name, row, err);
		if (s)
			return s;
		ts_sidecar_merge(meta, row);
	}
	if (!meta->language && !(meta->language = strdup("none")))
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}

const struct ts_catalogue_entry *ts_pm_find_entry(const struct ts_catalogue *cat,
                                                  const char *name)
{
	size_t lo = 0, hi = cat->n;

	/* the entries are sorted by ts_catalogue_natcmp, a total order */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ts_catalogue_natcmp(cat->entries[mid].name, name);

		if (c == 0)
			return &cat->entries[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void ts_pm_sidecar_free(struct ts_sidecar *s)
{
	ts_sidecar_free(s);
}

/* Parse folder's iiif.json text (if any) for scope.  A bad sidecar is 500
 * naming the file and the field (the parser's message names the field). */
ts_status ts_pm_parse_sidecar(const struct ts_catalogue *cat, enum ts_sidecar_scope scope,
                               struct ts_sidecar *out, struct ts_error *err)
{
	struct ts_error e;
	const char *rel = cat->rel;

	memset(out, 0, sizeof *out);
	if (!cat->sidecar)
		return TS_OK;
	ts_error_clear(&e);
	if (ts_sidecar_parse(cat->sidecar, cat->sidecar_len, scope, out, &e) != TS_OK) {
		ts_pm_sidecar_free(out);
		ts_error_set(err, TS_EINTERNAL, "%s%siiif.json: %s", rel, *rel ? "/" : "", e.msg);
		ts_error_detail(err, "%s", e.detail);
		return TS_EINTERNAL;
	}
	return TS_OK;
}

/* The metadata.csv row of `name` in folder `parent`, as sidecar fields in
 * *row (empty when there is no CSV or no row).  Untagged values take the
 * parent sidecar's language. */
ts_status ts_pm_csv_row(const struct ts_present_ctx *c, const char *parent, const char *name,
                         struct ts_sidecar *row, struct ts_error *err)
{
	char *text = NULL, *ptext = NULL;
	size_t len = 0, plen = 0;
	struct stat st;
	struct ts_csv csv;
	struct ts_sidecar psc;
	struct ts_error e;
	ts_status s;
	long r;

	memset(row, 0, sizeof *row);
	if (c->csv_memo)
		return ts_pm_csv_row_memo(c, parent, name, row, err);
	memset(&csv, 0, sizeof csv);
	memset(&psc, 0, sizeof psc);
	ts_error_clear(&e);
	s = ts_catalogue_read_file(c->root_fd, parent, "metadata.csv", TS_CATALOGUE_MAX_CSV,
	                           &text, &len, &st, &e);
	if (s == TS_ENOTFOUND)
		return TS_OK;
	if (s) {
		*err = e;
		return s;
	}
	if (ts_csv_parse(text, len, &csv, &e) != TS_OK) {
		s = ts_error_set(err, TS_EINTERNAL, "%s%smetadata.csv: %s", parent, *parent ? "/" : "",
		                 e.msg);
		goto done;
	}
	r = ts_csv_find(&csv, name);
	if (r < 0)
		goto done;
	/* the collection sidecar's language for untagged values (§3) */
	if (ts_catalogue_read_file(c->root_fd, parent, "iiif.json", TS_CATALOGUE_MAX_SIDECAR,
	                           &ptext, &plen, &st, &e) == TS_OK &&
	    ts_sidecar_parse(ptext, plen, TS_SIDECAR_COLLECTION, &psc, &e) != TS_OK)
		memset(&psc, 0, sizeof psc);   /* its own errors show on the collection */
	if (ts_sidecar_from_csv(&csv, (size_t)r, psc.language, row, &e) != TS_OK) {
		ts_pm_sidecar_free(row);
		s = ts_error_set(err, TS_EINTERNAL, "%s%smetadata.csv, the row of %s: %s", parent,
		                 *parent ? "/" : "", name, e.msg);
	}
done:
	ts_pm_sidecar_free(&psc);
	ts_csv_free(&csv);
	free(text);
	free(ptext);
	return s;
}

/* The folder's kind from its catalogue (presentation.md §1). */
enum ts_present_kind ts_pm_folder_kind(const struct ts_present_ctx *c,
                                        const struct ts_catalogue *cat)
{
	bool media = false;

	if (cat->rel[0] == '\0')
		return TS_PRESENT_COLLECTION;
	if (cat->sidecar && strstr(cat->sidecar, "Collection")) {
		struct ts_sidecar sc;
		struct ts_error e;
		bool coll = false;

		memset(&sc, 0, sizeof sc);
		/* decided by "type" alone; a sidecar with errors is an item
		 * whose load reports them */
		if (ts_sidecar_parse(cat->sidecar, cat->sidecar_len, TS_SIDECAR_ITEM, &sc, &e) == TS_OK)
			coll = sc.is_collection;
		ts_pm_sidecar_free(&sc);
		if (coll)
			return TS_PRESENT_COLLECTION;
	}
	for (size_t i = 0; i < cat->n; i++) {
		const struct ts_catalogue_entry *e = &cat->entries[i];

		if (!e->is_dir && ts_catalogue_paint_rank(e->type->kind) > 0)
			media = true;
	}
	for (size_t i = 0; i < cat->n; i++) {
		const struct ts_catalogue_entry *e = &cat->entries[i];
		char *sub;
		bool holds;

		if (!e->is_dir)
			continue;
		sub = ts_pm_join(cat->rel, e->name);
		holds = sub && ts_catalogue_holds_media(c->root_fd, c->root_path, sub);
		free(sub);
		if (holds)
			return TS_PRESENT_COLLECTION;
	}
	return media ? TS_PRESENT_ITEM : TS_PRESENT_NONE;
}

enum ts_present_kind ts_present_kind_of(const struct ts_present_ctx *c, const char *rel)
{
	struct ts_catalogue cat;
	struct ts_error e;
	enum ts_present_kind k;
	const char *name;
	char *parent;

	if (ts_catalogue_scan(c->root_fd, c->root_path, rel, &cat, &e) == TS_OK) {
		k = ts_pm_folder_kind(c, &cat);
		ts_catalogue_free(&cat);
		return k;
	}
	parent = ts_pm_parent_of(rel, &name);
	k = TS_PRESENT_NONE;
	if (parent && ts_catalogue_scan(c->root_fd, c->root_path, parent, &cat, &e) == TS_OK) {
		const struct ts_catalogue_entry *f = ts_pm_find_entry(&cat, name);
		if (f && !f->is_dir && ts_catalogue_paint_rank(f->type->kind) > 0)
			k = TS_PRESENT_FILE;
		ts_catalogue_free(&cat);
	}
	free(parent);
	return k;
}

/* ---- fingerprints ----------------------------------------------------- */

/* What the parent folder's metadata.csv and iiif.json add to rel's. */
static uint64_t parent_sidecars(const struct ts_present_ctx *c, const char *rel, uint64_t h,
                                time_t *mtime)
{
	static const char *const names[] = { "metadata.csv", "iiif.json" };
	const char *name;
	char *parent;

	if (!*rel)
		return h;
	parent = ts_pm_parent_of(rel, &name);
	if (!parent)
		return h;
	for (int i = 0; i < 2; i++) {
		int dfd = ts_catalogue_open_dir(c->root_fd, parent);
		struct stat st;

		if (dfd < 0)
			break;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			uint64_t parts[4] = { (uint64_t)st.st_ino, (uint64_t)st.st_size,
			                      (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec };
			h = ts_hash_fnv1a(h, parts, sizeof parts);
			if (st.st_mtim.tv_sec > *mtime)
				*mtime = st.st_mtim.tv_sec;
		}
		close(dfd);
	}
	free(parent);
	return h;
}

ts_status ts_present_fingerprint(const struct ts_present_ctx *c, const char *rel,
                                 bool collection, uint64_t *out, struct ts_error *err)
{
	time_t mtime;

	return ts_present_stamp(c, rel, collection, out, &mtime, err);
}

ts_status ts_present_stamp(const struct ts_present_ctx *c, const char *rel, bool collection,
                           uint64_t *out, time_t *mtime, struct ts_error *err)
{
	struct ts_catalogue own;
	const struct ts_catalogue *cat;
	uint64_t h = TS_FNV1A_OFFSET;
	ts_status s;

	/* with a folder watch, the sub-folders are watched between the
	 * listing and their stats (ts_present_scan_lend, ts_catalogue_opts):
	 * their own stats, in the listing's fingerprint, are then taken after
	 * the watch, so a change inside one (its mtime moves when its entries
	 * change, which is no event in this folder) raises an event.  A
	 * collection's members' sidecars are stat'ed by the same scan. */
	s = ts_present_scan_lend(c, rel, collection, &own, &cat, err);
	if (s == TS_ENOTFOUND && !collection && *rel) {
		/* a single file: its folder's entries (siblings give thumbnails,
		 * captions) and the folder's CSV */
		struct ts_catalogue_opts o = { c->watch_dir, c->watch_arg, false };
		const char *name;
		char *parent;

		ts_error_clear(err);   /* rel is no folder: no error of the file's */
		parent = ts_pm_parent_of(rel, &name);
		if (!parent)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		s = ts_catalogue_scan_with(c->root_fd, c->root_path, parent, &o, &own, err);
		cat = &own;
		free(parent);
		if (s)
			return s;
		h = ts_hash_fnv1a(h, rel, strlen(rel) + 1);
	}
	if (s)
		return s;
	h = ts_hash_fnv1a(h, &cat->fingerprint, sizeof cat->fingerprint);
	*mtime = cat->mtime;
	if (cat->unwatchable && c->watch_dir)
		c->watch_dir(c->watch_arg, -1, NULL);
	h = parent_sidecars(c, cat->rel, h, mtime);
	/* A collection shows its members' labels and pictures.  The members'
	 * own stats (in cat: their mtimes change when files are added,
	 * removed or renamed in them) and their sidecars' stats stand for
	 * them: one fstatat per member instead of a readdir, so a collection
	 * of 10,000 folders is checked cheaply (on several threads).  An
	 * image rewritten in place inside a member (same name, no rename)
	 * shows in the member's own Manifest at once and in the collection's
	 * thumbnail sizes only after the next change of the collection
	 * (documented trade-off). */
	for (size_t i = 0; collection && i < cat->n; i++) {
		const struct ts_catalogue_entry *e = &cat->entries[i];

		if (!e->has_sidecar)
			continue;
		h = ts_hash_fnv1a(h, e->name, strlen(e->name) + 1);
		h = ts_hash_fnv1a(h, e->sidecar_id, sizeof e->sidecar_id);
		if ((time_t)e->sidecar_id[2] > *mtime)
			*mtime = (time_t)e->sidecar_id[2];
	}
	ts_catalogue_free(&own);
	*out = ts_hash_mix(h);
	return TS_OK;
}

/* ---- probing ---------------------------------------------------------- */

ts_status ts_pm_probe_picture(const struct ts_present_ctx *c, const char *folder,
                               const struct ts_catalogue_entry *e,
                               struct ts_present_picture *pic, struct ts_error *err)
{
	struct ts_error pe;

	pic->rel = ts_pm_join(folder, e->name);
	if (!pic->rel)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	ts_error_clear(&pe);
	if (!c->probe_image ||
	    c->probe_image(c->probe_arg, pic->rel, &e->st, &pic->info, &pe) != TS_OK ||
	    pic->info.width == 0 || pic->info.height == 0) {
		ts_error_set(err, TS_EINTERNAL, "%s: cannot read the image's size (%s)", pic->rel,
		             pe.msg[0] ? pe.msg : "no image probe");
		ts_error_detail(err, "%s", pe.detail);
		return TS_EINTERNAL;
	}
	pic->info.icc = NULL;
	pic->info.icc_len = 0;
	return TS_OK;
}

/* ---- items ------------------------------------------------------------ */

void ts_pm_picture_free(struct ts_present_picture *p)
{
	free(p->rel);
	p->rel = NULL;
}

void ts_present_item_free(struct ts_present_item *it)
{
	if (!it)
		return;
	for (size_t i = 0; i < it->ncanvases; i++) {
		struct ts_present_canvas *cv = &it->canvases[i];
		free(cv->file);
		json_decref(cv->label);
		json_decref(cv->summary);
		json_decref(cv->metadata);
		ts_pm_picture_free(&cv->image);
		ts_pm_picture_free(&cv->thumb);
		free(cv->see_also);
		free(cv->captions);
	}
	free(it->canvases);
	for (size_t i = 0; i < it->nrenderings; i++) {
		free(it->renderings[i].file);
		json_decref(it->renderings[i].label);
	}
	free(it->renderings);
	for (size_t i = 0; i < it->nsee_also_files; i++)
		free(it->see_also_files[i]);
	free(it->see_also_files);
	ts_pm_picture_free(&it->thumb);
	ts_pm_sidecar_free(&it->meta);
	json_decref(it->label);
	free(it->rel);
	free(it->folder);
	free(it->id);
	free(it->fid);
	free(it->manifest_json);
	memset(it, 0, sizeof *it);
}

bool ts_pm_listed(char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Append a canvas for entry e (already checked to be paintable). */
static ts_status add_canvas(struct ts_present_item *it, const struct ts_catalogue_entry *e,
                            const struct ts_sidecar_file *sf, struct ts_error *err)
{
	struct ts_present_canvas *cv;
	const char *lang = it->meta.language;

	if (it->ncanvases >= TS_PRESENT_MAX_CANVASES)
		return ts_error_set(err, TS_EFORBIDDEN,
		                    "%s has more than %d canvases; publish it as a Collection of "
		                    "smaller folders", it->rel && *it->rel ? it->rel : "the root",
		                    TS_PRESENT_MAX_CANVASES);
	cv = ts_pm_grow(it->canvases, it->ncanvases, sizeof *cv);
	if (!cv)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	it->canvases = cv;
	cv = &it->canvases[it->ncanvases++];
	memset(cv, 0, sizeof *cv);
	cv->file = strdup(e->name);
	cv->type = e->type;
	cv->painted_type = e->type->iiif_type;
	if (sf && sf->label)
		cv->label = json_deep_copy(sf->label);
	else
		cv->label = ts_pm_lang_map(lang, e->name, stem_len(e->name));
	if (sf) {
		cv->summary = sf->summary ? json_deep_copy(sf->summary) : NULL;
		cv->metadata = sf->metadata ? json_deep_copy(sf->metadata) : NULL;
		cv->duration = sf->duration;
		cv->width = sf->width;
		cv->height = sf->height;
	}
	if (!cv->file || !cv->label)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}

static ts_status add_rendering(struct ts_present_item *it, const struct ts_catalogue_entry *e,
                               const json_t *label, struct ts_error *err)
{
	struct ts_present_rendering *r;

	r = ts_pm_grow(it->renderings, it->nrenderings, sizeof *r);
	if (!r)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	it->renderings = r;
	r = &it->renderings[it->nrenderings++];
	r->file = strdup(e->name);
	r->type = e->type;
	r->label = label ? json_deep_copy((json_t *)label)
	                 : ts_pm_lang_map(it->meta.language, e->name, strlen(e->name));
	if (!r->file || !r->label)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}

/* Measure canvas cv: probe its file; sidecar values win. */
static ts_status measure(const struct ts_present_ctx *c, struct ts_present_item *it,
                         struct ts_present_canvas *cv, const struct ts_catalogue_entry *e,
                         struct ts_error *err)
{
	struct ts_media_info mi;
	struct ts_error pe;
	ts_status s;
	char *rel;

	switch (e->type->kind) {
	case TS_MEDIA_IMAGE:
		s = ts_pm_probe_picture(c, it->folder, e, &cv->image, err);
		if (s)
			return s;
		/* a body every request for which is a 403 is no canvas: say so,
		 * as the Image API does (an unpyramided image over the budget) */
		if (!ts_present_renderable(c, &cv->image.info)) {
			ts_error_set(err, TS_EFORBIDDEN, "%s: too large to show whole within max_decode_pixels; "
			             "store it as a pyramid (tessera convert)", cv->image.rel);
			return TS_EFORBIDDEN;
		}
		if (!cv->width || !cv->height) {
			cv->width = cv->image.info.width;
			cv->height = cv->image.info.height;
		}
		return TS_OK;
	case TS_MEDIA_SOUND:
	case TS_MEDIA_VIDEO:
		if (cv->duration > 0 && (e->type->kind == TS_MEDIA_SOUND || (cv->width && cv->height)))
			return TS_OK;   /* the sidecar said it all */
		memset(&mi, 0, sizeof mi);
		ts_error_clear(&pe);
		rel = ts_pm_join(it->folder, e->name);
		if (!rel)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		s = c->probe_media ? c->probe_media(c->probe_arg, rel, &e->st, e->type->mime, &mi, &pe)
		                   : ts_error_set(&pe, TS_ENOTIMPL, "audio and video probing is not built");
		free(rel);
		if (s || mi.duration <= 0) {
			ts_error_set(err, TS_EINTERNAL, "%s%s%s: no duration found (%s); give it in iiif.json items",
			             it->folder, *it->folder ? "/" : "", e->name,
			             pe.msg[0] ? pe.msg : "unknown");
			ts_error_detail(err, "%s", pe.detail);
			return TS_EINTERNAL;
		}
		if (cv->duration <= 0)
			cv->duration = mi.duration;
		if (e->type->kind == TS_MEDIA_VIDEO) {
			if (!mi.has_video && !mi.width) {
				cv->painted_type = "Sound";   /* §1: no video track */
			} else if (!cv->width || !cv->height) {
				cv->width = mi.width;
				cv->height = mi.height;
			}
			if (strcmp(cv->painted_type, "Video") == 0 && (!cv->width || !cv->height))
				return ts_error_set(err, TS_EINTERNAL, "%s%s%s: no video size found; give width and height in iiif.json items",
				                    it->folder, *it->folder ? "/" : "", e->name);
		}
		return TS_OK;
	default:
		/* Text (PDF) and Model have no pixel size of their own, but the
		 * schema wants a canvas with an extent: the sidecar's, else the
		 * picture beside it, else a nominal one (an ISO 216 page, 1:sqrt 2,
		 * for a PDF; a square for a model) - a coordinate space for
		 * annotations, not a claim about the file. */
		if ((!cv->width || !cv->height) && cv->thumb.rel) {
			cv->width = cv->thumb.info.width;
			cv->height = cv->thumb.info.height;
		}
		if (!cv->width || !cv->height) {
			cv->width = 1000;
			cv->height = e->type->kind == TS_MEDIA_TEXT ? 1414 : 1000;
		}
		return TS_OK;
	}
}

static ts_status sidecar_error(struct ts_error *err, const struct ts_present_item *it,
                               const char *field, const char *what)
{
	return ts_error_set(err, TS_EINTERNAL, "%s%siiif.json: %s: %s", it->folder,
	                    *it->folder ? "/" : "", field, what);
}

/* Build the canvases, renderings and the rest from the catalogue. */
static ts_status item_from_catalogue(const struct ts_present_ctx *c, struct ts_present_item *it,
                                     const struct ts_catalogue *cat, const char *only,
                                     struct ts_error *err)
{
	const struct ts_sidecar *m = &it->meta;
	bool *used = NULL;
	struct stem *stems = NULL;
	int paint = 0;
	ts_status s = TS_OK;
	size_t i, j;
	char fbuf[64];

	used = calloc(cat->n ? cat->n : 1, sizeof *used);
	if (!used)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	/* exclusions and renderings named by the sidecar are never painted */
	for (i = 0; i < cat->n; i++)
		if (cat->entries[i].is_dir || ts_pm_listed(m->exclude, m->nexclude, cat->entries[i].name))
			used[i] = true;
	for (i = 0; i < m->nrendering; i++) {
		const struct ts_catalogue_entry *e = ts_pm_find_entry(cat, m->rendering[i].file);

		snprintf(fbuf, sizeof fbuf, "rendering[%zu].file", i);
		if (!e || e->is_dir) {
			s = sidecar_error(err, it, fbuf, "no such file in the folder");
			goto done;
		}
		used[e - cat->entries] = true;
		s = add_rendering(it, e, m->rendering[i].label, err);
		if (s)
			goto done;
	}

	if (only) {
		/* a single file: its one canvas */
		const struct ts_catalogue_entry *e = ts_pm_find_entry(cat, only);
		if (!e || e->is_dir || ts_catalogue_paint_rank(e->type->kind) == 0) {
			s = ts_error_set(err, TS_ENOTFOUND, "not found");
			goto done;
		}
		s = add_canvas(it, e, NULL, err);
		if (s)
			goto done;
		used[e - cat->entries] = true;
		paint = ts_catalogue_paint_rank(e->type->kind);
	} else {
		/* §1: the sidecar's items first, in its order */
		for (i = 0; i < m->nitems; i++) {
			const struct ts_catalogue_entry *e = ts_pm_find_entry(cat, m->items[i].file);

			snprintf(fbuf, sizeof fbuf, "items[%zu].file", i);
			if (!e || e->is_dir || ts_catalogue_paint_rank(e->type->kind) == 0) {
				s = sidecar_error(err, it, fbuf, "no such media file in the folder");
				goto done;
			}
			if (used[e - cat->entries]) {
				s = sidecar_error(err, it, fbuf, "listed twice, or excluded");
				goto done;
			}
			s = add_canvas(it, e, &m->items[i], err);
			if (s)
				goto done;
			used[e - cat->entries] = true;
		}
		/* then the files of the painted type, by priority */
		for (i = 0; i < cat->n; i++) {
			int r = cat->entries[i].is_dir ? 0 : ts_catalogue_paint_rank(cat->entries[i].type->kind);
			if (!used[i] && r > paint)
				paint = r;
		}
		if (m->nitems && paint) {
			/* with explicit items, only the listed files' type is added */
			int listed_rank = ts_catalogue_paint_rank(it->canvases[0].type->kind);
			paint = listed_rank;
		}
		for (i = 0; i < cat->n && paint; i++) {
			const struct ts_catalogue_entry *e = &cat->entries[i];
			if (used[i] || ts_catalogue_paint_rank(e->type->kind) != paint)
				continue;
			s = add_canvas(it, e, NULL, err);
			if (s)
				goto done;
			used[i] = true;
		}
	}
	if (it->ncanvases == 0) {
		s = ts_error_set(err, TS_ENOTFOUND, "not found");
		goto done;
	}
	/* §5 "PDF: a painted Text canvas (UV renders it) and a rendering
	 * link": a painted PDF is offered as a download as well, for the
	 * viewers that do not paint Text */
	for (j = 0; j < it->ncanvases; j++) {
		if (it->canvases[j].type->kind != TS_MEDIA_TEXT)
			continue;
		s = add_rendering(it, ts_pm_find_entry(cat, it->canvases[j].file), NULL, err);
		if (s)
			goto done;
	}

	/* the rest by basename: seeAlso, captions, thumbnails; else renderings
	 * (canvases sorted by stem, so a folder of 2,000 pages and 2,000 ALTO
	 * files is matched in n log n) */
	stems = malloc(it->ncanvases * sizeof *stems);
	if (!stems) {
		s = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto done;
	}
	for (j = 0; j < it->ncanvases; j++) {
		stems[j].name = it->canvases[j].file;
		stems[j].len = stem_len(it->canvases[j].file);
		stems[j].index = j;
	}
	qsort(stems, it->ncanvases, sizeof *stems, stem_cmp);
	for (i = 0; i < cat->n; i++) {
		const struct ts_catalogue_entry *e = &cat->entries[i];
		struct stem key = { e->name, stem_len(e->name), 0 };
		bool matched = false;
		size_t lo = 0, hi = it->ncanvases;

		if (used[i])
			continue;
		while (lo < hi) {   /* the first canvas of this stem */
			size_t mid = lo + (hi - lo) / 2;
			if (stem_cmp(&stems[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* every canvas of the stem, not the first only: a file of the
		 * same basename belongs to each, so clip.jpg is the picture (and
		 * clip.vtt the captions) of clip.mp4 and clip.webm alike, two
		 * encodings of one clip (§1, §5) */
		for (j = lo; j < it->ncanvases && stems[j].len == key.len &&
		             memcmp(stems[j].name, key.name, key.len) == 0; j++) {
			struct ts_present_canvas *cv = &it->canvases[stems[j].index];

			if (e->type->kind == TS_MEDIA_SEEALSO && !cv->see_also) {
				cv->see_also = strdup(e->name);
				cv->see_also_type = e->type;
				matched = true;
			} else if (e->type->kind == TS_MEDIA_CAPTIONS && !cv->captions &&
			           (cv->type->kind == TS_MEDIA_SOUND || cv->type->kind == TS_MEDIA_VIDEO)) {
				cv->captions = strdup(e->name);
				matched = true;
			} else if (e->type->kind == TS_MEDIA_IMAGE && cv->type->kind != TS_MEDIA_IMAGE &&
			           !cv->thumb.rel) {
				s = ts_pm_probe_picture(c, it->folder, e, &cv->thumb, err);
				if (s)
					goto done;
				matched = true;
			}
		}
		if (matched || only)
			continue;
		switch (e->type->kind) {
		case TS_MEDIA_SEEALSO: {
			char **l = ts_pm_grow(it->see_also_files, it->nsee_also_files, sizeof *l);
			if (!l) {
				s = ts_error_set(err, TS_EINTERNAL, "out of memory");
				goto done;
			}
			it->see_also_files = l;
			l[it->nsee_also_files] = strdup(e->name);
			if (l[it->nsee_also_files])
				it->nsee_also_files++;
			break;
		}
		case TS_MEDIA_IMAGE:
			/* a cover beside sound or a model: the Manifest's picture */
			if (!it->thumb.rel) {
				s = ts_pm_probe_picture(c, it->folder, e, &it->thumb, err);
				if (s)
					goto done;
			}
			break;
		case TS_MEDIA_CAPTIONS:
			break;
		default:
			s = add_rendering(it, e, NULL, err);
			if (s)
				goto done;
		}
	}

	/* sidecar per-item thumbnails, then measure every canvas */
	for (i = 0; i < it->ncanvases; i++) {
		struct ts_present_canvas *cv = &it->canvases[i];
		const struct ts_catalogue_entry *e = ts_pm_find_entry(cat, cv->file);

		for (j = 0; j < m->nitems; j++) {
			const struct ts_catalogue_entry *te;

			if (strcmp(m->items[j].file, cv->file) != 0 || !m->items[j].thumbnail)
				continue;
			te = ts_pm_find_entry(cat, m->items[j].thumbnail);
			snprintf(fbuf, sizeof fbuf, "items[%zu].thumbnail", j);
			if (!te || te->is_dir || te->type->kind != TS_MEDIA_IMAGE) {
				s = sidecar_error(err, it, fbuf, "no such image in the folder");
				goto done;
			}
			ts_pm_picture_free(&cv->thumb);
			s = ts_pm_probe_picture(c, it->folder, te, &cv->thumb, err);
			if (s)
				goto done;
		}
		s = measure(c, it, cv, e, err);
		if (s)
			goto done;
	}

	/* the Manifest's thumbnail: the sidecar's, else the first canvas's */
	if (m->thumbnail) {
		const struct ts_catalogue_entry *te = ts_pm_find_entry(cat, m->thumbnail);
		if (!te || te->is_dir || te->type->kind != TS_MEDIA_IMAGE) {
			s = sidecar_error(err, it, "thumbnail", "no such image in the folder");
			goto done;
		}
		ts_pm_picture_free(&it->thumb);
		s = ts_pm_probe_picture(c, it->folder, te, &it->thumb, err);
		if (s)
			goto done;
	} else {
		const struct ts_present_canvas *cv0 = &it->canvases[0];
		const struct ts_present_picture *p = cv0->image.rel ? &cv0->image
		                                   : cv0->thumb.rel ? &cv0->thumb : NULL;
		if (p) {
			ts_pm_picture_free(&it->thumb);
			it->thumb.rel = strdup(p->rel);
			it->thumb.info = p->info;
		}
	}
	if (m->start) {
		for (i = 0; i < it->ncanvases; i++)
			if (strcmp(it->canvases[i].file, m->start) == 0)
				it->start = (long)i;
		if (it->start < 0) {
			s = sidecar_error(err, it, "start", "not one of the item's canvases");
			goto done;
		}
	}
done:
	free(stems);
	free(used);
	return s;
}

ts_status ts_present_item_load(const struct ts_present_ctx *c, const char *rel,
                               struct ts_present_item *out, struct ts_error *err)
{
	struct ts_catalogue cat;
	struct ts_sidecar row;
	const char *name = NULL;
	char *parent = NULL;
	ts_status s;

	memset(out, 0, sizeof *out);
	memset(&cat, 0, sizeof cat);
	memset(&row, 0, sizeof row);
	out->start = -1;
	if (!*rel)
		return ts_error_set(err, TS_ENOTFOUND, "not found");
	out->rel = strdup(rel);
	out->id = ts_present_encode_id(rel);
	parent = ts_pm_parent_of(rel, &name);
	if (!out->rel || !out->id || !parent) {
		s = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	s = ts_present_scan(c, rel, &cat, err);
	if (s == TS_OK) {
		enum ts_present_kind k = ts_pm_folder_kind(c, &cat);

		if (k == TS_PRESENT_COLLECTION) {
			s = ts_error_set(err, TS_ENOTFOUND, "%s is a Collection, not an item", rel);
			goto fail;
		}
		if (k != TS_PRESENT_ITEM) {
			s = ts_error_set(err, TS_ENOTFOUND, "not found");
			goto fail;
		}
		out->kind = TS_PRESENT_ITEM;
		out->folder = strdup(rel);
		s = ts_pm_parse_sidecar(&cat, TS_SIDECAR_ITEM, &out->meta, err);
		if (s)
			goto fail;
		if (cat.manifest) {
			out->manifest_json = cat.manifest;
			cat.manifest = NULL;
		}
	} else if (s == TS_ENOTFOUND) {
		/* one file: its folder's catalogue gives the siblings (and the
		 * folder's "not found" is no error of the file's) */
		ts_error_clear(err);
		s = ts_catalogue_scan(c->root_fd, c->root_path, parent, &cat, err);
		if (s)
			goto fail;
		out->kind = TS_PRESENT_FILE;
		out->folder = strdup(parent);
	} else {
		goto fail;
	}
	if (!out->folder) {
		s = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	out->fid = *out->folder ? ts_present_encode_id(out->folder) : strdup("top");
	/* §3: the parent's CSV row under the item's own sidecar */
	s = ts_pm_merge_row(c, parent, name, &out->meta, &row, err);
	if (s)
		goto fail;
	s = item_from_catalogue(c, out, &cat, out->kind == TS_PRESENT_FILE ? name : NULL, err);
	if (s)
		goto fail;
	out->label = ts_pm_label(&out->meta, name);
	if (!out->label || !out->fid) {
		s = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	out->fingerprint = cat.fingerprint;
	ts_pm_sidecar_free(&row);
	ts_catalogue_free(&cat);
	free(parent);
	return TS_OK;
fail:
	ts_pm_sidecar_free(&row);
	ts_catalogue_free(&cat);
	free(parent);
	ts_present_item_free(out);
	return s;
}
