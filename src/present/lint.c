/*
 * lint.c - every problem of a published tree, before a viewer meets it
 * (present.h, "the tree's problems"; `tessera manifest --check`).
 *
 * The daemon answers one Manifest at a time and stops at its first error:
 * the right thing for a request, the wrong thing for a curator who wants
 * the whole list at once.  This walk visits every folder under a start
 * (depth-bounded), and for each one reports, one line apiece and once:
 * symlinks that leave the root, a metadata.csv's bad rows (each of them,
 * and rows naming nothing), a refused sidecar, and then whatever building
 * the item's Manifest or the collection's Collection (3.0 and 2.1, the
 * server's own code) refuses.
 *
 * The one idea: the build runs through wrapped probes.  A probe that fails
 * (a truncated MP4, an unreadable or oversized image) is reported with its
 * file and then answers a stand-in size, so the build goes on to the
 * sidecar's cross-references (items, structures, start, thumbnail) instead
 * of stopping at the first broken file; the files the build never asked
 * about (an image that is not painted, every file of an item whose sidecar
 * is refused) are probed afterwards, and every file the sidecar names is
 * looked for, since the build stops at the first one missing.  Lines are
 * remembered by hash, so a bad CSV row met by the collection, by the item
 * and by the row check is one problem.
 *
 * Bounds: folders are walked depth first to TS_PRESENT_LINT_MAX_DEPTH, one
 * folder's catalogue in memory at a time (the ancestors keep only their
 * sub-folders' names); items of more than 2,000 canvases and collections of
 * more than 2,000 members are written through a view of the parts the
 * writers' checks depend on; a collection's metadata.csv is parsed once for
 * all its members (csv_memo.c).  A 100,000-image folder takes seconds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/hash.h"
#include "model.h"

struct lint {
	const struct ts_present_ctx *c;    /* the caller's, with the real probes */
	struct ts_present_ctx lenient;     /* the same, probes wrapped (probe_arg = this) */
	ts_present_lint_fn *report;
	void *arg;
	struct ts_present_lint_counts *counts;
	uint64_t *seen;                    /* open addressing: hashes of lines reported */
	size_t seen_cap, seen_n;
	bool deep_reported;
	struct ts_present_csv_memo memo;   /* a collection's CSV, parsed once for its members */
	/* the item folder being built: which of its entries were probed */
	const struct ts_catalogue *cat;
	const char *folder;
	bool *asked;
};

/* ---- reporting -------------------------------------------------------- */

/* Whether line was reported before; remembers it.  A set that cannot grow
 * reports duplicates rather than losing problems. */
static bool seen_before(struct lint *l, const char *line)
{
	uint64_t h = ts_hash_mix(ts_hash_fnv1a(TS_FNV1A_OFFSET, line, strlen(line))) | 1;
	size_t i;

	if ((l->seen_n + 1) * 2 > l->seen_cap) {
		size_t ncap = l->seen_cap ? l->seen_cap * 2 : 256;
		uint64_t *n = calloc(ncap, sizeof *n);

		if (!n)
			return false;   /* never more than half full: probing always ends */
		for (size_t j = 0; j < l->seen_cap; j++) {
			if (!l->seen[j])
				continue;
			for (i = l->seen[j] & (ncap - 1); n[i]; i = (i + 1) & (ncap - 1))
				;
			n[i] = l->seen[j];
		}
		free(l->seen);
		l->seen = n;
		l->seen_cap = ncap;
	}
	for (i = h & (l->seen_cap - 1); l->seen[i]; i = (i + 1) & (l->seen_cap - 1))
		if (l->seen[i] == h)
			return true;
	l->seen[i] = h;
	l->seen_n++;
	return false;
}

static void problem(struct lint *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct lint *l, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (!line) {
		l->counts->problems++;
		l->report(l->arg, "out of memory while reporting a problem");
		return;
	}
	if (!seen_before(l, line)) {
		l->counts->problems++;
		l->report(l->arg, line);
	}
	free(line);
}

/* The builder's messages start with the file they are about
 * ("letters/x/iiif.json: rights: ..."); one that does not ("not found", "out
 * of memory") gets the path of what was being built in front. */
static bool names_a_path(const struct lint *l, const char *msg)
{
	size_t n = strcspn(msg, ":,");
	char path[PATH_MAX];
	struct stat st;

	if (n == 0 || n >= sizeof path || msg[n] == '\0' || msg[0] == '/')
		return false;
	memcpy(path, msg, n);
	path[n] = '\0';
	return fstatat(l->c->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void problem_err(struct lint *l, const char *rel, const struct ts_error *e)
{
	const char *msg = e->msg[0] ? e->msg : "failed";

	if (names_a_path(l, msg))
		problem(l, "%s", msg);
	else
		problem(l, "%s: %s", *rel ? rel : ".", msg);
}

/* ---- wrapped probes --------------------------------------------------- */

/* A probe's message without its closing full stop, to go inside a line. */
static int msg_len(const char *msg)
{
	size_t n = strlen(msg);

	if (n && msg[n - 1] == '.')
		n--;
	return n > 1000 ? 1000 : (int)n;
}

/* Note that the build asked for rel when it is an entry of the item folder
 * being built (entries are sorted by ts_catalogue_natcmp: binary search). */
static void mark_asked(struct lint *l, const char *rel)
{
	size_t fl, lo = 0, hi;
	const char *name;

	if (!l->cat || !l->asked)
		return;
	fl = strlen(l->folder);
	if (fl) {
		if (strncmp(rel, l->folder, fl) != 0 || rel[fl] != '/')
			return;
		name = rel + fl + 1;
	} else {
		name = rel;
	}
	if (strchr(name, '/'))
		return;
	hi = l->cat->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = ts_catalogue_natcmp(name, l->cat->entries[mid].name);

		if (cmp == 0) {
			l->asked[mid] = true;
			return;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
}

static ts_status lenient_image(void *arg, const char *rel, const struct stat *st,
                               struct ts_source_info *out, struct ts_error *err)
{
	struct lint *l = arg;
	struct ts_error e;
	const char *detail;

	mark_asked(l, rel);
	ts_error_clear(&e);
	if (l->c->probe_image &&
	    l->c->probe_image(l->c->probe_arg, rel, st, out, &e) == TS_OK && out->width &&
	    out->height)
		return TS_OK;
	/* the reader's detail names the file by its absolute path: said already */
	detail = e.detail;
	if (detail[0] == '/' && strstr(detail, ": "))
		detail = strstr(detail, ": ") + 2;
	problem(l, "%s: image: cannot be read (%.*s%s%.*s)%s", rel, msg_len(e.msg),
	        e.msg[0] ? e.msg : l->c->probe_image ? "no size" : "no image probe",
	        detail[0] ? ": " : "", msg_len(detail), detail,
	        strstr(e.msg, "too large") ? "; the limit is max_source_pixels" : "");
	/* a stand-in, so the build goes on to the sidecar's references */
	memset(out, 0, sizeof *out);
	out->width = out->height = 1;
	out->channels = 3;
	out->bits = 8;
	out->nlevels = 1;
	out->levels[0].width = out->levels[0].height = 1;
	out->format = "jpeg";
	return TS_OK;
}

static ts_status lenient_media(void *arg, const char *rel, const struct stat *st,
                               const char *mime, struct ts_media_info *out,
                               struct ts_error *err)
{
	struct lint *l = arg;
	struct ts_error e;
	bool video = strncmp(mime, "video/", 6) == 0;

	mark_asked(l, rel);
	ts_error_clear(&e);
	if (!l->c->probe_media)
		ts_error_set(&e, TS_ENOTIMPL, "audio and video probing is not built");
	else if (l->c->probe_media(l->c->probe_arg, rel, st, mime, out, &e) == TS_OK &&
	         out->duration > 0)
		return TS_OK;
	problem(l, "%s: duration: %.*s; give it in iiif.json items", rel, msg_len(e.msg),
	        e.msg[0] ? e.msg : "no duration found");
	memset(out, 0, sizeof *out);
	out->duration = 1;
	out->has_audio = true;
	if (video) {
		out->has_video = true;
		out->width = out->height = 1;
	}
	return TS_OK;
}

/* Probe entry e of folder rel outside any build (loose files, files the
 * build did not ask about). */
static void probe_entry(struct lint *l, const char *rel, const struct ts_catalogue_entry *e)
{
	struct ts_source_info info;
	struct ts_media_info mi;
	struct ts_error err;
	char *path = ts_pm_join(rel, e->name);

	if (!path) {
		problem(l, "%s: out of memory", *rel ? rel : ".");
		return;
	}
	ts_error_clear(&err);
	if (e->type->kind == TS_MEDIA_IMAGE)
		lenient_image(l, path, &e->st, &info, &err);
	else if (e->type->kind == TS_MEDIA_SOUND || e->type->kind == TS_MEDIA_VIDEO)
		lenient_media(l, path, &e->st, e->type->mime, &mi, &err);
	free(path);
}

/* ---- one folder ------------------------------------------------------- */

static bool name_ignored(const char *name)
{
	return name[0] == '.' || name[0] == '_' || name[0] == '\0';
}

static int natcmp_ptr(const void *a, const void *b)
{
	return ts_catalogue_natcmp(*(char *const *)a, *(char *const *)b);
}

/* A symlink rel/name: one leading out of the root, or nowhere, is reported
 * when it would have been published (a folder, or a file of a published
 * type); the catalogue leaves such links out without a word. */
static void check_link(struct lint *l, const char *rel, const char *name)
{
	const char *root = l->c->root_path;
	size_t rl = strlen(root);
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st;
	int n;

	n = snprintf(path, sizeof path, "%s/%s%s%s", root, rel, *rel ? "/" : "", name);
	if (n < 0 || (size_t)n >= sizeof path)
		return;
	if (!realpath(path, real) || stat(real, &st) != 0) {
		if (ts_media_type_of(name))
			problem(l, "%s%s%s: symlink: leads nowhere (%s)", rel, *rel ? "/" : "", name,
			        strerror(errno));
		return;
	}
	if (strncmp(real, root, rl) == 0 && real[rl] == '/')
		return;   /* inside: a file is published, a folder is at its real place */
	if (S_ISDIR(st.st_mode) || ts_media_type_of(name))
		problem(l, "%s%s%s: symlink: leads out of the root; not published", rel,
		        *rel ? "/" : "", name);
}

/* Read folder rel as it is on disk: report its symlinks, collect its
 * sub-folders (real ones: a symlinked folder is never entered). */
static void list_folder(struct lint *l, const char *rel, char ***subs, size_t *nsubs)
{
	int dfd = ts_catalogue_open_dir(l->c->root_fd, rel);
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*subs = NULL;
	*nsubs = 0;
	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned char type = de->d_type;
		struct stat st;

		if (name_ignored(de->d_name))
			continue;
		if (type == DT_UNKNOWN) {
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			type = S_ISLNK(st.st_mode) ? DT_LNK : S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
		}
		if (type == DT_LNK) {
			check_link(l, rel, de->d_name);
			continue;
		}
		if (type != DT_DIR)
			continue;
		if (*nsubs >= TS_CATALOGUE_MAX_ENTRIES) {
			problem(l, "%s: folder: more than %d sub-folders; the rest are not checked",
			        *rel ? rel : ".", TS_CATALOGUE_MAX_ENTRIES);
			break;
		}
		if (*nsubs == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **n = realloc(*subs, ncap * sizeof *n);

			if (!n)
				break;
			*subs = n;
			cap = ncap;
		}
		if (((*subs)[*nsubs] = strdup(de->d_name)) != NULL)
			(*nsubs)++;
	}
	closedir(d);
	if (*nsubs > 1)
		qsort(*subs, *nsubs, sizeof **subs, natcmp_ptr);
}

static const struct ts_catalogue_entry *find_sorted(const struct ts_catalogue *cat,
                                                    const char *name)
{
	size_t lo = 0, hi = cat->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = ts_catalogue_natcmp(name, cat->entries[mid].name);

		if (cmp == 0)
			return &cat->entries[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Every row of the folder's metadata.csv, in the builder's own words, plus
 * rows naming nothing in the folder (a typo that silently drops metadata). */
static void check_csv(struct lint *l, const struct ts_catalogue *cat, const char *language)
{
	const char *rel = cat->rel, *sep = *cat->rel ? "/" : "";
	struct ts_csv csv;
	struct ts_error e;

	memset(&csv, 0, sizeof csv);
	ts_error_clear(&e);
	if (ts_csv_parse(cat->csv, cat->csv_len, &csv, &e) != TS_OK) {
		problem(l, "%s%smetadata.csv: %s", rel, sep, e.msg);
		return;
	}
	for (size_t r = 0; r < csv.nrows; r++) {
		const char *key = csv.rows[r][csv.key_col];
		struct ts_sidecar row;

		if (!find_sorted(cat, key)) {
			problem(l, "%s%smetadata.csv: row %zu, column %s: no folder or published file "
			        "called \"%s\" here", rel, sep, csv.lines[r], csv.header[csv.key_col], key);
			continue;
		}
		memset(&row, 0, sizeof row);
		ts_error_clear(&e);
		if (ts_sidecar_from_csv(&csv, r, language, &row, &e) != TS_OK)
			problem(l, "%s%smetadata.csv, the row of %s: %s", rel, sep, key, e.msg);
		ts_sidecar_free(&row);
	}
	ts_csv_free(&csv);
}

/* ---- a sidecar's references ------------------------------------------ */

/* The canvases' file names, sorted, to tell whether a file is one. */
struct canvas_set {
	const char **files;
	size_t n;
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_canvas(const struct canvas_set *cs, const char *file)
{
	return bsearch(&file, cs->files, cs->n, sizeof *cs->files, str_cmp) != NULL;
}

/* Range items naming no canvas, in the writers' own words (manifest3.c):
 * against the canvases when the model was built, else against the folder. */
static void check_range(struct lint *l, const struct ts_catalogue *cat,
                        const struct canvas_set *cs, const struct ts_sidecar_range *r,
                        const char *path, int depth)
{
	const char *sep = *cat->rel ? "/" : "";

	for (size_t i = 0; depth < 64 && i < r->nitems; i++) {
		const struct ts_sidecar_range_item *ri = &r->items[i];
		char *sub = NULL;

		if (asprintf(&sub, "%s.items[%zu]", path, i) < 0)
			return;
		if (ri->range) {
			check_range(l, cat, cs, ri->range, sub, depth + 1);
		} else if (ri->file && (cs ? !is_canvas(cs, ri->file) : !find_sorted(cat, ri->file))) {
			problem(l, "%s%siiif.json: %s: %s is not one of the item's canvases", cat->rel, sep,
			        sub, ri->file);
		}
		free(sub);
	}
}

/*
 * Every file an item's sidecar names that is not there, each in the
 * builder's own words (model.c), which stops at the first: items and their
 * thumbnails, rendering, thumbnail, start, structures.  it is the built
 * model, or NULL when the build failed (then the folder is the reference).
 */
static void check_refs(struct lint *l, const struct ts_catalogue *cat,
                       const struct ts_sidecar *sc, const struct ts_present_item *it)
{
	const char *rel = cat->rel, *sep = *cat->rel ? "/" : "";
	const struct ts_catalogue_entry *e;
	struct canvas_set cs = { NULL, 0 };

	if (!it) {
		for (size_t i = 0; i < sc->nitems; i++) {
			e = find_sorted(cat, sc->items[i].file);
			if (!e || e->is_dir || ts_catalogue_paint_rank(e->type->kind) == 0)
				problem(l, "%s%siiif.json: items[%zu].file: no such media file in the folder",
				        rel, sep, i);
			e = sc->items[i].thumbnail ? find_sorted(cat, sc->items[i].thumbnail) : NULL;
			if (sc->items[i].thumbnail && (!e || e->is_dir || e->type->kind != TS_MEDIA_IMAGE))
				problem(l, "%s%siiif.json: items[%zu].thumbnail: no such image in the folder",
				        rel, sep, i);
		}
		for (size_t i = 0; i < sc->nrendering; i++) {
			e = find_sorted(cat, sc->rendering[i].file);
			if (!e || e->is_dir)
				problem(l, "%s%siiif.json: rendering[%zu].file: no such file in the folder",
				        rel, sep, i);
		}
		e = sc->thumbnail ? find_sorted(cat, sc->thumbnail) : NULL;
		if (sc->thumbnail && (!e || e->is_dir || e->type->kind != TS_MEDIA_IMAGE))
			problem(l, "%s%siiif.json: thumbnail: no such image in the folder", rel, sep);
		e = sc->start ? find_sorted(cat, sc->start) : NULL;
		if (sc->start && (!e || e->is_dir))
			problem(l, "%s%siiif.json: start: not one of the item's canvases", rel, sep);
	} else if (sc->nstructures && it->ncanvases) {
		cs.files = malloc(it->ncanvases * sizeof *cs.files);
		if (!cs.files)
			return;
		for (size_t i = 0; i < it->ncanvases; i++)
			cs.files[i] = it->canvases[i].file;
		cs.n = it->ncanvases;
		qsort(cs.files, cs.n, sizeof *cs.files, str_cmp);
	}
	for (size_t i = 0; i < sc->nstructures; i++) {
		char path[48];

		snprintf(path, sizeof path, "structures[%zu]", i);
		check_range(l, cat, it ? &cs : NULL, &sc->structures[i], path, 0);
	}
	free(cs.files);
}

/* ---- writing a large item within bounds ------------------------------ */

/* Items with more canvases than this are written through a view of the
 * canvases that matter to the writers' checks; the model itself is built
 * whole (that is where the files are measured). */
#define LINT_WRITE_ALL 2000

static int canvas_file_cmp(const void *a, const void *b, void *arg)
{
	const struct ts_present_canvas *cv = arg;
	return strcmp(cv[*(const size_t *)a].file, cv[*(const size_t *)b].file);
}

static void keep_refs(const struct ts_present_item *it, const size_t *by_file,
                      const struct ts_sidecar_range *r, bool *keep, int depth)
{
	for (size_t i = 0; depth < 64 && i < r->nitems; i++) {
		const struct ts_sidecar_range_item *ri = &r->items[i];
		size_t lo = 0, hi = it->ncanvases;

		if (ri->range) {
			keep_refs(it, by_file, ri->range, keep, depth + 1);
			continue;
		}
		while (ri->file && lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int cmp = strcmp(ri->file, it->canvases[by_file[mid]].file);

			if (cmp == 0) {
				keep[by_file[mid]] = true;
				break;
			}
			if (cmp < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
}

/*
 * The writers' own checks look at the sidecar's references (structures,
 * start) and at each kind of canvas, never at how many there are; a
 * Manifest of 100,000 canvases is some 400 MB of JSON.  So a large item is
 * written through *view: the same item, its canvases cut down to the first
 * one, the start canvas and the canvases the structures name.  Returns the
 * canvas array to free, or NULL when the item is written as it is.
 */
static struct ts_present_canvas *trim(const struct ts_present_item *it,
                                      struct ts_present_item *view)
{
	struct ts_present_canvas *cvs = NULL;
	size_t *by_file = NULL, n = 0, ntypes = 0;
	const char *types[8];
	bool *keep = NULL;

	*view = *it;
	if (it->ncanvases <= LINT_WRITE_ALL)
		return NULL;
	keep = calloc(it->ncanvases, sizeof *keep);
	by_file = malloc(it->ncanvases * sizeof *by_file);
	cvs = malloc(it->ncanvases * sizeof *cvs);
	if (!keep || !by_file || !cvs)
		goto fail;
	for (size_t i = 0; i < it->ncanvases; i++)
		by_file[i] = i;
	qsort_r(by_file, it->ncanvases, sizeof *by_file, canvas_file_cmp, it->canvases);
	keep[0] = true;
	if (it->start >= 0)
		keep[it->start] = true;
	/* and the first canvas of each painted type */
	for (size_t i = 0; i < it->ncanvases; i++) {
		bool first = true;

		for (size_t j = 0; j < ntypes && first; j++)
			first = strcmp(types[j], it->canvases[i].painted_type) != 0;
		if (first && ntypes < 8) {
			types[ntypes++] = it->canvases[i].painted_type;
			keep[i] = true;
		}
	}
	for (size_t i = 0; i < it->meta.nstructures; i++)
		keep_refs(it, by_file, &it->meta.structures[i], keep, 0);
	view->start = -1;
	for (size_t i = 0; i < it->ncanvases; i++) {
		if (!keep[i])
			continue;
		if ((long)i == it->start)
			view->start = (long)n;
		cvs[n++] = it->canvases[i];
	}
	view->canvases = cvs;
	view->ncanvases = n;
	free(keep);
	free(by_file);
	return cvs;
fail:
	free(keep);
	free(by_file);
	free(cvs);
	*view = *it;
	return NULL;
}

/* Build and write an item (folder or file) as the server would, 3.0 and
 * 2.1; for a folder, probe afterwards what the build did not ask about. */
static void check_item(struct lint *l, const char *rel, const struct ts_catalogue *cat,
                       const struct ts_sidecar *sc)
{
	struct ts_present_item it;
	struct ts_error e;
	json_t *doc = NULL;
	bool built = false;

	l->counts->items++;
	l->cat = cat;
	l->folder = cat ? cat->rel : NULL;
	l->asked = cat ? calloc(cat->n ? cat->n : 1, sizeof *l->asked) : NULL;
	ts_error_clear(&e);
	if (ts_present_item_load(&l->lenient, rel, &it, &e) != TS_OK) {
		if (e.status == TS_ENOTFOUND && cat)
			problem(l, "%s: items: nothing to paint (every image, sound, video, PDF or "
			        "model file is excluded or missing)", rel);
		else
			problem_err(l, rel, &e);
		if (cat && sc)
			check_refs(l, cat, sc, NULL);
	} else {
		struct ts_present_item view;
		struct ts_present_canvas *cut = trim(&it, &view);

		if (cat && sc)
			check_refs(l, cat, sc, &it);
		built = true;
		if (ts_present_manifest3(&l->lenient, &view, NULL, &doc, &e) != TS_OK) {
			problem_err(l, rel, &e);
			built = false;
		}
		json_decref(doc);
		doc = NULL;
		ts_error_clear(&e);
		if (ts_present_manifest2(&l->lenient, &view, NULL, &doc, &e) != TS_OK)
			problem_err(l, rel, &e);
		json_decref(doc);
		free(cut);
		ts_present_item_free(&it);
	}
	/* Every image is a Manifest of its own, painted here or not; sound and
	 * video the build skipped were measured by the sidecar, unless the
	 * build stopped before reading it. */
	for (size_t i = 0; cat && l->asked && i < cat->n; i++) {
		const struct ts_catalogue_entry *en = &cat->entries[i];

		if (l->asked[i] || en->is_dir)
			continue;
		if (en->type->kind == TS_MEDIA_IMAGE ||
		    (!built && (en->type->kind == TS_MEDIA_SOUND || en->type->kind == TS_MEDIA_VIDEO)))
			probe_entry(l, cat->rel, en);
	}
	free(l->asked);
	l->asked = NULL;
	l->cat = NULL;
	l->folder = NULL;
}

static void check_collection(struct lint *l, const struct ts_catalogue *cat)
{
	struct ts_present_collection col;
	struct ts_error e;
	json_t *doc = NULL;

	l->counts->collections++;
	ts_error_clear(&e);
	if (ts_present_collection_load(&l->lenient, cat->rel, &col, &e) != TS_OK) {
		problem_err(l, cat->rel, &e);
	} else {
		/* the writers look at each member alike: a large collection is
		 * written through its first members (the JSON of 100,000 members
		 * is some 100 MB) */
		size_t all = col.nmembers;

		if (col.nmembers > LINT_WRITE_ALL)
			col.nmembers = LINT_WRITE_ALL;
		if (ts_present_collection3(&l->lenient, &col, &doc, &e) != TS_OK)
			problem_err(l, cat->rel, &e);
		ts_error_clear(&e);
		json_decref(doc);
		doc = NULL;
		ts_error_clear(&e);
		if (ts_present_collection2(&l->lenient, &col, &doc, &e) != TS_OK)
			problem_err(l, cat->rel, &e);
		json_decref(doc);
		col.nmembers = all;
		ts_present_collection_free(&col);
	}
	/* loose files are members, each its own one-canvas Manifest */
	for (size_t i = 0; i < cat->n; i++) {
		const struct ts_catalogue_entry *en = &cat->entries[i];

		if (en->is_dir || ts_catalogue_paint_rank(en->type->kind) == 0)
			continue;
		l->counts->items++;
		probe_entry(l, cat->rel, en);
	}
}

static void check_folder(struct lint *l, const char *rel)
{
	struct ts_catalogue cat;
	struct ts_sidecar sc;
	struct ts_error e;
	enum ts_present_kind k;
	bool published = false, sidecar_ok = true;

	ts_error_clear(&e);
	if (ts_catalogue_scan(l->c->root_fd, l->c->root_path, rel, &cat, &e) != TS_OK) {
		problem_err(l, rel, &e);
		return;
	}
	k = ts_pm_folder_kind(l->c, &cat);
	memset(&sc, 0, sizeof sc);
	ts_error_clear(&e);
	if (ts_pm_parse_sidecar(&cat, k == TS_PRESENT_COLLECTION ? TS_SIDECAR_COLLECTION
	                                                         : TS_SIDECAR_ITEM, &sc, &e) != TS_OK) {
		problem_err(l, rel, &e);
		sidecar_ok = false;
	}
	if (cat.csv)
		check_csv(l, &cat, sc.language);
	switch (k) {
	case TS_PRESENT_COLLECTION:
		check_collection(l, &cat);
		break;
	case TS_PRESENT_ITEM:
		check_item(l, rel, &cat, sidecar_ok && cat.sidecar ? &sc : NULL);
		break;
	default:
		for (size_t i = 0; i < cat.n; i++)
			if (!cat.entries[i].is_dir)
				published = true;
		if (cat.sidecar || cat.manifest || published)
			problem(l, "%s: items: nothing to paint (no image, sound, video, PDF or 3D model "
			        "file in the folder)", rel);
		break;
	}
	ts_sidecar_free(&sc);
	ts_catalogue_free(&cat);
}

static void walk(struct lint *l, const char *rel, int depth)
{
	char **subs;
	size_t nsubs;

	list_folder(l, rel, &subs, &nsubs);
	check_folder(l, rel);
	for (size_t i = 0; i < nsubs; i++) {
		char *sub = ts_pm_join(rel, subs[i]);

		if (!sub) {
			problem(l, "%s: out of memory", *rel ? rel : ".");
		} else if (depth + 1 > TS_PRESENT_LINT_MAX_DEPTH) {
			if (!l->deep_reported)
				problem(l, "%s: folder: more than %d levels deep; not checked", sub,
				        TS_PRESENT_LINT_MAX_DEPTH);
			l->deep_reported = true;
		} else {
			walk(l, sub, depth + 1);
		}
		free(sub);
		free(subs[i]);
	}
	free(subs);
}

ts_status ts_present_lint(const struct ts_present_ctx *c, const char *rel,
                          ts_present_lint_fn *report, void *arg,
                          struct ts_present_lint_counts *counts, struct ts_error *err)
{
	struct lint l;
	int dfd;

	memset(counts, 0, sizeof *counts);
	memset(&l, 0, sizeof l);
	l.c = c;
	l.lenient = *c;
	l.lenient.probe_image = lenient_image;
	l.lenient.probe_media = lenient_media;
	l.lenient.probe_arg = &l;
	l.lenient.csv_memo = &l.memo;
	l.report = report;
	l.arg = arg;
	l.counts = counts;
	dfd = ts_catalogue_open_dir(c->root_fd, rel);
	if (dfd >= 0) {
		close(dfd);
		walk(&l, rel, 0);
	} else if (ts_present_kind_of(c, rel) == TS_PRESENT_FILE) {
		check_item(&l, rel, NULL, NULL);
	} else {
		return ts_error_set(err, TS_ENOTFOUND, "%s: not a folder or a published file under "
		                    "the root", *rel ? rel : ".");
	}
	free(l.seen);
	ts_present_csv_memo_free(&l.memo);
	return TS_OK;
}
