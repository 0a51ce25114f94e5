/*
 * sidecar.c - reading an `iiif.json` sidecar (version 1) into struct
 * ts_sidecar (sidecar.h; the format is presentation.md §2).
 *
 * A curator's typo must never become a silently wrong Manifest, so this is
 * a strict reader: jansson parses (refusing invalid UTF-8, NUL and
 * duplicate keys), then one walk visits every key, refuses the ones it does
 * not know, and checks each value against the rule of IIIF Presentation
 * 3.0 it will become.  The walk (sidecar_walk.c) carries the JSON path of
 * where it is ("structures[0].items[3].t"), so every error names its
 * field; structures are read in sidecar_ranges.c, and the value rules
 * themselves are in present_check.c, shared with metadata.csv.
 *
 * Choices the format leaves open, made here:
 *  - "type": "Collection" makes the sidecar a collection sidecar whatever
 *    the scope asked (the folder is declared a Collection); "Manifest" in a
 *    folder the caller knows is a Collection is refused.
 *  - A file both in items and in exclude, or a start or thumbnail that is
 *    excluded, is refused as a contradiction.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/sidecar.h"
#include "present_check.h"
#include "sidecar_walk.h"

#define MAX_ITEMS       100000    /* items, exclude, rendering entries */
#define MAX_SEEALSO     100
#define MAX_BEHAVIOR    16

/* ---- numbers ------------------------------------------------------------ */

static ts_status read_duration(struct ts_walk *w, const json_t *v, double *out)
{
	double d;

	if (!json_is_number(v))
		return ts_walk_fail(w, "must be a positive number of seconds, not %s", ts_walk_kind(v));
	d = json_number_value(v);
	if (!isfinite(d) || d <= 0 || d > TS_SIDECAR_MAX_DURATION)
		return ts_walk_fail(w, "must be a positive number of seconds, at most %.0f",
		                    TS_SIDECAR_MAX_DURATION);
	*out = d;
	return TS_OK;
}

static ts_status read_side(struct ts_walk *w, const json_t *v, uint32_t *out)
{
	json_int_t n;

	if (!json_is_integer(v))
		return ts_walk_fail(w, "must be a positive whole number of pixels, not %s", ts_walk_kind(v));
	n = json_integer_value(v);
	if (n < 1 || (double)n > TS_SIDECAR_MAX_SIDE)
		return ts_walk_fail(w, "must be a positive whole number of pixels, at most 2147483648");
	*out = (uint32_t)n;
	return TS_OK;
}

/* ---- rights, behavior, direction ---------------------------------------- */

static ts_status read_rights(struct ts_walk *w, const json_t *v, char **out, char **warning)
{
	char canon[128], why[224], q[64], note[200];
	bool rewritten;

	if (ts_walk_want_string(w, v, "a rights URI"))
		return w->err->status;
	if (!ts_present_check_rights(json_string_value(v), canon, sizeof canon, &rewritten, why, sizeof why))
		return ts_walk_fail(w, "%s", why);
	if (rewritten && !*warning) {
		snprintf(note, sizeof note, "rights: \"%s\" rewritten to its canonical form %s",
		         ts_present_quote(json_string_value(v), q, sizeof q), canon);
		if (ts_walk_dup(w, note, warning))
			return w->err->status;
	}
	return ts_walk_dup(w, canon, out);
}

/* Presentation 3.0 §3.2 behavior table: where each value is valid, and its
 * disjoint set (all values of one group exclude each other). */
static const struct {
	const char *name;
	bool manifest, collection;
	int group;                 /* 0: no disjoint set */
	const char *only;          /* where it is valid, when not here */
} behaviors[] = {
	{ "auto-advance",    true,  true,  1, NULL },
	{ "no-auto-advance", true,  true,  1, NULL },
	{ "repeat",          true,  true,  2, NULL },
	{ "no-repeat",       true,  true,  2, NULL },
	{ "unordered",       true,  true,  3, NULL },
	{ "individuals",     true,  true,  3, NULL },
	{ "continuous",      true,  true,  3, NULL },
	{ "paged",           true,  true,  3, NULL },
	{ "multi-part",      false, true,  4, "on Collections" },
	{ "together",        false, true,  4, "on Collections" },
	{ "facing-pages",    false, false, 0, "on Canvases" },
	{ "non-paged",       false, false, 0, "on Canvases" },
	{ "sequence",        false, false, 0, "on Ranges" },
	{ "thumbnail-nav",   false, false, 0, "on Ranges" },
	{ "no-nav",          false, false, 0, "on Ranges" },
	{ "hidden",          false, false, 0, "on annotations" },
};
#define NBEHAVIORS (sizeof behaviors / sizeof *behaviors)

static ts_status read_behavior(struct ts_walk *w, const json_t *v, struct ts_sidecar *out)
{
	size_t i, j, k, idx[MAX_BEHAVIOR];
	json_t *e;
	char q[64];

	if (ts_walk_array(w, v, "an array of strings such as [\"paged\"]", MAX_BEHAVIOR, "values"))
		return w->err->status;
	if (!(out->behavior = calloc(json_array_size(v) + 1, sizeof *out->behavior)))
		return ts_walk_oom(w);
	json_array_foreach(v, i, e) {
		size_t mark = ts_walk_index(w, i);
		const char *s;

		if (ts_walk_want_string(w, e, "a behavior name"))
			return w->err->status;
		s = json_string_value(e);
		for (k = 0; k < NBEHAVIORS; k++)
			if (strcmp(behaviors[k].name, s) == 0)
				break;
		if (k == NBEHAVIORS)
			return ts_walk_fail(w, "\"%s\" is not a behavior of Presentation 3.0",
			                    ts_present_quote(s, q, sizeof q));
		if (!(w->collection ? behaviors[k].collection : behaviors[k].manifest))
			return ts_walk_fail(w, "\"%s\" is valid only %s, not on a %s", s,
			                    behaviors[k].only, w->collection ? "Collection" : "Manifest");
		for (j = 0; j < i; j++) {
			if (idx[j] == k)
				return ts_walk_fail(w, "\"%s\" is listed twice", s);
			if (behaviors[k].group && behaviors[idx[j]].group == behaviors[k].group)
				return ts_walk_fail(w, "\"%s\" cannot be combined with \"%s\" (they are disjoint)",
				                    s, behaviors[idx[j]].name);
		}
		idx[i] = k;
		if (ts_walk_dup(w, s, &out->behavior[i]))
			return w->err->status;
		out->nbehavior = i + 1;
		ts_walk_back(w, mark);
	}
	return TS_OK;
}

static ts_status read_direction(struct ts_walk *w, const json_t *v, char **out)
{
	static const char *const dirs[] = { "left-to-right", "right-to-left", "top-to-bottom", "bottom-to-top" };
	size_t k;

	if (json_is_string(v))
		for (k = 0; k < 4; k++)
			if (strcmp(json_string_value(v), dirs[k]) == 0)
				return ts_walk_dup(w, dirs[k], out);
	return ts_walk_fail(w, "must be one of left-to-right, right-to-left, top-to-bottom, bottom-to-top");
}

/* ---- provider and seeAlso ------------------------------------------------- */

static ts_status read_provider(struct ts_walk *w, json_t *v, struct ts_sidecar_provider **out)
{
	const char *key;
	json_t *val;
	struct ts_sidecar_provider *p;

	if (!json_is_object(v))
		return ts_walk_fail(w, "must be an object {id, label, homepage, logo}, not %s",
		                    ts_walk_kind(v));
	if (!(p = *out = calloc(1, sizeof *p)))
		return ts_walk_oom(w);
	json_object_foreach(v, key, val) {
		size_t mark = ts_walk_key(w, key);
		ts_status st;

		if (strcmp(key, "id") == 0)
			st = ts_walk_uri(w, val, &p->id);
		else if (strcmp(key, "label") == 0)
			st = ts_walk_langmap(w, val, false, &p->label);
		else if (strcmp(key, "homepage") == 0)
			st = ts_walk_uri(w, val, &p->homepage);
		else if (strcmp(key, "logo") == 0) {
			/* A URL, or a file beside the sidecar (served from res/). */
			const char *s = json_is_string(val) ? json_string_value(val) : "";
			if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)
				st = ts_walk_uri(w, val, &p->logo);
			else
				st = ts_walk_name(w, val, &p->logo);
		} else
			st = ts_walk_fail(w, "unknown key; expected id, label, homepage or logo");
		if (st)
			return st;
		ts_walk_back(w, mark);
	}
	if (!p->id)
		return ts_walk_fail(w, "must have an id (an http(s) URI identifying the provider)");
	if (!p->label)
		return ts_walk_fail(w, "must have a label");
	return TS_OK;
}

/* A plain token of printable ASCII ("application/marcxml+xml", "Dataset"). */
static bool printable_token(const char *s, size_t max, bool need_slash)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' ||
		    s[i] == '<' || s[i] == '>')
			return false;
	return i > 0 && i <= max && (!need_slash || strchr(s, '/'));
}

static ts_status read_see_also_one(struct ts_walk *w, json_t *v, json_t **out)
{
	const char *key;
	json_t *val, *o, *label = NULL;
	char *id = NULL;
	const char *type = "Dataset", *format = NULL, *profile = NULL;
	ts_status st = TS_OK;

	if (!json_is_object(v))
		return ts_walk_fail(w, "must be an object {id, type, format, profile, label}, not %s",
		                    ts_walk_kind(v));
	json_object_foreach(v, key, val) {
		size_t mark = ts_walk_key(w, key);

		if (strcmp(key, "id") == 0) {
			st = ts_walk_uri(w, val, &id);
		} else if (strcmp(key, "type") == 0) {
			if (!json_is_string(val) || !printable_token(json_string_value(val), 32, false))
				st = ts_walk_fail(w, "must be a resource type such as \"Dataset\"");
			else
				type = json_string_value(val);
		} else if (strcmp(key, "format") == 0) {
			if (!json_is_string(val) || !printable_token(json_string_value(val), 127, true))
				st = ts_walk_fail(w, "must be a media type such as \"application/marcxml+xml\"");
			else
				format = json_string_value(val);
		} else if (strcmp(key, "profile") == 0) {
			if (!json_is_string(val) || !printable_token(json_string_value(val), TS_PRESENT_MAX_URI, false))
				st = ts_walk_fail(w, "must be a profile URI or name, without spaces");
			else
				profile = json_string_value(val);
		} else if (strcmp(key, "label") == 0) {
			st = ts_walk_langmap(w, val, false, &label);
		} else {
			st = ts_walk_fail(w, "unknown key; expected id, type, format, profile or label");
		}
		if (st)
			goto done;
		ts_walk_back(w, mark);
	}
	if (!id) {
		st = ts_walk_fail(w, "must have an id (the http(s) URI of the external description)");
		goto done;
	}
	/* The order of the spec's examples: id, type, label, format, profile. */
	o = json_object();
	if (!o || json_object_set_new(o, "id", json_string(id)) ||
	    json_object_set_new(o, "type", json_string(type)) ||
	    (label && json_object_set(o, "label", label)) ||
	    (format && json_object_set_new(o, "format", json_string(format))) ||
	    (profile && json_object_set_new(o, "profile", json_string(profile)))) {
		json_decref(o);
		st = ts_walk_oom(w);
		goto done;
	}
	*out = o;
done:
	free(id);
	json_decref(label);
	return st;
}

static ts_status read_see_also(struct ts_walk *w, json_t *v, json_t **out)
{
	return ts_walk_json_array(w, v, "an array of {id, type, format, profile} objects",
	                          MAX_SEEALSO, "entries", read_see_also_one, out);
}

/* ---- items, rendering, exclude ---------------------------------------------- */

/* One items[] or rendering[] entry: a bare name, or an object. */
static ts_status read_file_entry(struct ts_walk *w, json_t *v, bool rendering, struct ts_sidecar_file *f)
{
	const char *key;
	json_t *val;

	if (json_is_string(v))
		return ts_walk_name(w, v, &f->file);
	if (w->collection)
		return ts_walk_fail(w, "must be a member's name (a collection sidecar's items are bare names)");
	if (!json_is_object(v))
		return ts_walk_fail(w, "must be a file name or an object with \"file\", not %s",
		                    ts_walk_kind(v));
	json_object_foreach(v, key, val) {
		size_t mark = ts_walk_key(w, key);
		ts_status st;

		if (strcmp(key, "file") == 0)
			st = ts_walk_name(w, val, &f->file);
		else if (strcmp(key, "label") == 0)
			st = ts_walk_langmap(w, val, false, &f->label);
		else if (rendering)
			st = ts_walk_fail(w, "unknown key; expected file or label");
		else if (strcmp(key, "summary") == 0)
			st = ts_walk_langmap(w, val, true, &f->summary);
		else if (strcmp(key, "metadata") == 0)
			st = ts_walk_metadata(w, val, &f->metadata);
		else if (strcmp(key, "duration") == 0)
			st = read_duration(w, val, &f->duration);
		else if (strcmp(key, "width") == 0)
			st = read_side(w, val, &f->width);
		else if (strcmp(key, "height") == 0)
			st = read_side(w, val, &f->height);
		else if (strcmp(key, "thumbnail") == 0)
			st = ts_walk_name(w, val, &f->thumbnail);
		else
			st = ts_walk_fail(w, "unknown key; expected file, label, summary, metadata, duration, "
			          "width, height or thumbnail");
		if (st)
			return st;
		ts_walk_back(w, mark);
	}
	if (!f->file)
		return ts_walk_fail(w, "must have \"file\", the name of a file in the folder");
	/* Presentation 3.0 §3.2: a Canvas with a width must have a height. */
	if ((f->width != 0) != (f->height != 0))
		return ts_walk_fail(w, "must give width and height together");
	return TS_OK;
}

static ts_status read_files(struct ts_walk *w, json_t *v, bool rendering,
                            struct ts_sidecar_file **out, size_t *nout)
{
	size_t i;
	json_t *e;

	if (ts_walk_array(w, v, "an array", MAX_ITEMS, "entries"))
		return w->err->status;
	if (!(*out = calloc(json_array_size(v) + 1, sizeof **out)))
		return ts_walk_oom(w);
	json_array_foreach(v, i, e) {
		size_t mark = ts_walk_index(w, i);
		*nout = i + 1;
		if (read_file_entry(w, e, rendering, &(*out)[i]))
			return w->err->status;
		ts_walk_back(w, mark);
	}
	return TS_OK;
}

static ts_status read_names(struct ts_walk *w, json_t *v, char ***out, size_t *nout)
{
	size_t i;
	json_t *e;

	if (ts_walk_array(w, v, "an array of file names", MAX_ITEMS, "entries"))
		return w->err->status;
	if (!(*out = calloc(json_array_size(v) + 1, sizeof **out)))
		return ts_walk_oom(w);
	json_array_foreach(v, i, e) {
		size_t mark = ts_walk_index(w, i);
		if (ts_walk_name(w, e, &(*out)[i]))
			return w->err->status;
		*nout = i + 1;
		ts_walk_back(w, mark);
	}
	return TS_OK;
}

/* ---- cross checks ---------------------------------------------------------- */

struct named { const char *name; size_t index; };

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

/* Sorted (name, index) pairs of a list, or NULL when out of memory. */
static struct named *sorted_names(const struct ts_sidecar_file *files, char *const *names, size_t n)
{
	struct named *v = calloc(n + 1, sizeof *v);
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i].name = files ? files[i].file : names[i], v[i].index = i;
	qsort(v, n, sizeof *v, named_cmp);
	return v;
}

static const struct named *find_name(const struct named *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid].name, name);
		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static ts_status no_duplicates(struct ts_walk *w, const char *field, const struct named *v, size_t n)
{
	size_t i, mark;
	char q[64];

	for (i = 1; i < n; i++) {
		if (strcmp(v[i - 1].name, v[i].name) == 0) {
			char earlier[48];
			mark = ts_walk_key(w, field);
			ts_walk_index(w, v[i].index);
			snprintf(earlier, sizeof earlier, "%s[%zu]", field, v[i - 1].index);
			ts_walk_fail(w, "\"%s\" is listed twice (also %s)",
			             ts_present_quote(v[i].name, q, sizeof q), earlier);
			ts_walk_back(w, mark);
			return w->err->status;
		}
	}
	return TS_OK;
}

static ts_status cross_check(struct ts_walk *w, struct ts_sidecar *s)
{
	struct named *items = sorted_names(s->items, NULL, s->nitems);
	struct named *excl = sorted_names(NULL, s->exclude, s->nexclude);
	struct named *rend = sorted_names(s->rendering, NULL, s->nrendering);
	const struct named *hit;
	char q[64];
	size_t i, mark;

	if (!items || !excl || !rend) {
		ts_walk_oom(w);
		goto done;
	}
	if (no_duplicates(w, "items", items, s->nitems) || no_duplicates(w, "exclude", excl, s->nexclude) ||
	    no_duplicates(w, "rendering", rend, s->nrendering))
		goto done;
	for (i = 0; i < s->nexclude; i++) {
		if ((hit = find_name(items, s->nitems, s->exclude[i]))) {
			mark = ts_walk_key(w, "exclude");
			ts_walk_index(w, i);
			ts_walk_fail(w, "\"%s\" is also listed in items[%zu]",
			             ts_present_quote(s->exclude[i], q, sizeof q), hit->index);
			ts_walk_back(w, mark);
			goto done;
		}
	}
	if (s->start && find_name(excl, s->nexclude, s->start)) {
		mark = ts_walk_key(w, "start");
		ts_walk_fail(w, "\"%s\" is excluded", ts_present_quote(s->start, q, sizeof q));
		ts_walk_back(w, mark);
	} else if (s->thumbnail && find_name(excl, s->nexclude, s->thumbnail)) {
		mark = ts_walk_key(w, "thumbnail");
		ts_walk_fail(w, "\"%s\" is excluded", ts_present_quote(s->thumbnail, q, sizeof q));
		ts_walk_back(w, mark);
	}
done:
	free(items);
	free(excl);
	free(rend);
	return w->err->status;
}

/* ---- the document ------------------------------------------------------------ */

/* Top-level keys: item and collection scope (presentation.md §2). */
static const struct {
	const char *name;
	bool collection;
} top_keys[] = {
	{ "version", true }, { "type", true }, { "language", true },
	{ "label", true }, { "summary", true }, { "metadata", true }, { "rights", true },
	{ "requiredStatement", true }, { "provider", true }, { "navDate", true },
	{ "behavior", true }, { "thumbnail", true }, { "items", true },
	{ "homepage", false }, { "viewingDirection", false }, { "start", false },
	{ "exclude", false }, { "rendering", false }, { "seeAlso", false }, { "structures", false },
};

static ts_status read_top_key(struct ts_walk *w, const char *key, json_t *val, struct ts_sidecar *s)
{
	size_t k;

	for (k = 0; k < sizeof top_keys / sizeof *top_keys; k++)
		if (strcmp(top_keys[k].name, key) == 0)
			break;
	if (k == sizeof top_keys / sizeof *top_keys)
		return ts_walk_fail(w, "unknown key (keys are case-sensitive: label, summary, metadata, items...)");
	if (w->collection && !top_keys[k].collection)
		return ts_walk_fail(w, "is not accepted in a collection sidecar");
	if (strcmp(key, "version") == 0 || strcmp(key, "type") == 0 || strcmp(key, "language") == 0)
		return TS_OK;        /* read before the walk */
	if (strcmp(key, "label") == 0)
		return ts_walk_langmap(w, val, false, &s->label);
	if (strcmp(key, "summary") == 0)
		return ts_walk_langmap(w, val, true, &s->summary);
	if (strcmp(key, "metadata") == 0)
		return ts_walk_metadata(w, val, &s->metadata);
	if (strcmp(key, "rights") == 0)
		return read_rights(w, val, &s->rights, &s->warning);
	if (strcmp(key, "requiredStatement") == 0)
		return ts_walk_pair(w, val, &s->required_statement);
	if (strcmp(key, "provider") == 0)
		return read_provider(w, val, &s->provider);
	if (strcmp(key, "homepage") == 0)
		return ts_walk_uri(w, val, &s->homepage);
	if (strcmp(key, "navDate") == 0) {
		char why[160], q[64];
		if (ts_walk_want_string(w, val, "an xsd:dateTime"))
			return w->err->status;
		if (!ts_present_check_date(json_string_value(val), why, sizeof why))
			return ts_walk_fail(w, "\"%s\" %s",
			                    ts_present_quote(json_string_value(val), q, sizeof q), why);
		return ts_walk_dup(w, json_string_value(val), &s->nav_date);
	}
	if (strcmp(key, "behavior") == 0)
		return read_behavior(w, val, s);
	if (strcmp(key, "viewingDirection") == 0)
		return read_direction(w, val, &s->viewing_direction);
	if (strcmp(key, "thumbnail") == 0)
		return ts_walk_name(w, val, &s->thumbnail);
	if (strcmp(key, "start") == 0)
		return ts_walk_name(w, val, &s->start);
	if (strcmp(key, "items") == 0)
		return read_files(w, val, false, &s->items, &s->nitems);
	if (strcmp(key, "exclude") == 0)
		return read_names(w, val, &s->exclude, &s->nexclude);
	if (strcmp(key, "rendering") == 0)
		return read_files(w, val, true, &s->rendering, &s->nrendering);
	if (strcmp(key, "seeAlso") == 0)
		return read_see_also(w, val, &s->see_also);
	return ts_sidecar_structures_read(w, val, s);
}

/* version, type and language first: they decide how the rest is read. */
static ts_status read_header(struct ts_walk *w, json_t *root, enum ts_sidecar_scope scope,
                             struct ts_sidecar *s)
{
	json_t *v;
	char why[160];
	size_t mark;

	if ((v = json_object_get(root, "version"))) {
		mark = ts_walk_key(w, "version");
		if (!json_is_integer(v) || json_integer_value(v) != 1)
			return ts_walk_fail(w, "must be 1 (the only sidecar version this server reads)");
		ts_walk_back(w, mark);
	}
	w->collection = scope == TS_SIDECAR_COLLECTION;
	if ((v = json_object_get(root, "type"))) {
		mark = ts_walk_key(w, "type");
		if (json_is_string(v) && strcmp(json_string_value(v), "Collection") == 0)
			w->collection = true;
		else if (!(json_is_string(v) && strcmp(json_string_value(v), "Manifest") == 0))
			return ts_walk_fail(w, "must be \"Manifest\" or \"Collection\"");
		else if (w->collection)
			return ts_walk_fail(w, "is \"Manifest\", but this folder is a Collection (it holds folders with media, or is the root)");
		ts_walk_back(w, mark);
	}
	s->is_collection = w->collection;
	if ((v = json_object_get(root, "language"))) {
		mark = ts_walk_key(w, "language");
		if (ts_walk_want_string(w, v, "a language tag"))
			return w->err->status;
		if (!ts_present_check_lang(json_string_value(v), why, sizeof why))
			return ts_walk_fail(w, "%s", why);
		ts_walk_back(w, mark);
	}
	if (ts_walk_dup(w, v ? json_string_value(v) : "none", &s->language))
		return w->err->status;
	w->lang = s->language;
	return TS_OK;
}

/* jansson's error text, made printable and short. */
static void json_error_text(const json_error_t *je, char *out, size_t n)
{
	char q[64];

	ts_present_quote(je->text, q, sizeof q);
	snprintf(out, n, "%s", q);
}

ts_status ts_sidecar_parse(const char *text, size_t len, enum ts_sidecar_scope scope,
                           struct ts_sidecar *out, struct ts_error *err)
{
	struct ts_walk w;
	struct ts_error local;
	json_error_t je;
	json_t *root = NULL, *val;
	const char *key;
	size_t bad, bom = 0;

	memset(out, 0, sizeof *out);
	memset(&w, 0, sizeof w);
	if (!err)
		err = &local;
	ts_error_clear(err);
	w.err = err;
	if (len > TS_PRESENT_MAX_DOC) {
		ts_walk_fail(&w, "the sidecar is larger than %u MB", TS_PRESENT_MAX_DOC >> 20);
		goto fail;
	}
	/* Windows editors save UTF-8 with a byte order mark; RFC 8259 §8.1
	 * lets a parser ignore it, and jansson does not. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3, len -= 3, bom = 3;
	/* jansson reports invalid UTF-8 in its own words; find the byte ourselves. */
	if (!ts_present_check_utf8(text, len, &bad)) {
		size_t line = 1, col = 1, i;
		for (i = 0; i < bad; i++) {
			if (text[i] == '\n')
				line++, col = 1;
			else if (((unsigned char)text[i] & 0xc0) != 0x80)
				col++;
		}
		ts_walk_fail(&w, "invalid UTF-8 at line %zu, column %zu (byte %zu): save the file as UTF-8",
		             line, col, bad + bom);
		goto fail;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		char t[80];
		json_error_text(&je, t, sizeof t);
		ts_walk_fail(&w, "invalid JSON at line %d, column %d: %s", je.line, je.column, t);
		goto fail;
	}
	if (!json_is_object(root)) {
		ts_walk_fail(&w, "the sidecar must be a JSON object {...}, not %s", ts_walk_kind(root));
		goto fail;
	}
	if (read_header(&w, root, scope, out))
		goto fail;
	json_object_foreach(root, key, val) {
		size_t mark = ts_walk_key(&w, key);
		if (read_top_key(&w, key, val, out))
			goto fail;
		ts_walk_back(&w, mark);
	}
	if (cross_check(&w, out))
		goto fail;
	free(w.ids);
	json_decref(root);
	return TS_OK;
fail:
	free(w.ids);
	json_decref(root);
	ts_sidecar_free(out);
	return err->status ? err->status : TS_EINTERNAL;
}

/* ---- freeing ------------------------------------------------------------------ */

static void free_file(struct ts_sidecar_file *f)
{
	free(f->file);
	json_decref(f->label);
	json_decref(f->summary);
	json_decref(f->metadata);
	free(f->thumbnail);
}

void ts_sidecar_free(struct ts_sidecar *s)
{
	size_t i;

	if (!s)
		return;
	free(s->language);
	json_decref(s->label);
	json_decref(s->summary);
	json_decref(s->metadata);
	free(s->rights);
	json_decref(s->required_statement);
	if (s->provider) {
		free(s->provider->id);
		json_decref(s->provider->label);
		free(s->provider->homepage);
		free(s->provider->logo);
		free(s->provider);
	}
	free(s->homepage);
	free(s->nav_date);
	for (i = 0; i < s->nbehavior; i++)
		free(s->behavior[i]);
	free(s->behavior);
	free(s->viewing_direction);
	free(s->thumbnail);
	free(s->start);
	for (i = 0; i < s->nitems; i++)
		free_file(&s->items[i]);
	free(s->items);
	for (i = 0; i < s->nexclude; i++)
		free(s->exclude[i]);
	free(s->exclude);
	for (i = 0; i < s->nrendering; i++)
		free_file(&s->rendering[i]);
	free(s->rendering);
	json_decref(s->see_also);
	for (i = 0; i < s->nstructures; i++)
		ts_sidecar_range_free(&s->structures[i]);
	free(s->structures);
	free(s->warning);
	memset(s, 0, sizeof *s);
}
