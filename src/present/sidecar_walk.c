/*
 * sidecar_walk.c - the path-carrying walk over a parsed iiif.json
 * (sidecar_walk.h): where the walk is, how it fails, and the readers of
 * the values every part of the sidecar format shares.
 *
 * The one idea: the path is a string grown and cut back as the walk enters
 * and leaves fields, so an error anywhere needs no more context than the
 * walk itself to say where it is.  Keys that are not plain identifiers
 * appear quoted and cut short (["..."]), so a hostile key can neither make
 * the message unprintable nor make it long.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar_walk.h"
#include "present_check.h"

/* ---- paths and errors ------------------------------------------------ */

static bool simple_key(const char *k)
{
	size_t i;

	for (i = 0; k[i]; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
		      (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-' || k[i] == '@'))
			return false;
	return i > 0 && i <= 40;
}

static size_t path_append(struct ts_walk *w, const char *piece)
{
	size_t mark = w->plen, l = strlen(piece);

	/* Once cut short, the path stays "...": a later piece after it would mislead. */
	if (w->plen >= TS_WALK_PATH_MAX || (w->plen >= 3 && memcmp(w->path + w->plen - 3, "...", 3) == 0))
		return mark;
	if (w->plen + l > TS_WALK_PATH_MAX) {
		memcpy(w->path + w->plen, "...", 4);
		w->plen += 3;
		return mark;
	}
	memcpy(w->path + w->plen, piece, l + 1);
	w->plen += l;
	return mark;
}

size_t ts_walk_key(struct ts_walk *w, const char *key)
{
	char piece[80], q[64];

	if (simple_key(key))
		snprintf(piece, sizeof piece, "%s%s", w->plen ? "." : "", key);
	else
		snprintf(piece, sizeof piece, "[\"%s\"]", ts_present_quote(key, q, sizeof q));
	return path_append(w, piece);
}

size_t ts_walk_index(struct ts_walk *w, size_t i)
{
	char piece[32];

	snprintf(piece, sizeof piece, "[%zu]", i);
	return path_append(w, piece);
}

void ts_walk_back(struct ts_walk *w, size_t mark)
{
	w->plen = mark;
	w->path[mark] = '\0';
}

ts_status ts_walk_array(struct ts_walk *w, const json_t *v, const char *what, int max,
                        const char *noun)
{
	if (!json_is_array(v))
		return ts_walk_fail(w, "must be %s, not %s", what, ts_walk_kind(v));
	if (json_array_size(v) > (size_t)max)
		return ts_walk_fail(w, "has more than %d %s", max, noun);
	return TS_OK;
}

ts_status ts_walk_json_array(struct ts_walk *w, json_t *v, const char *what, int max,
                             const char *noun,
                             ts_status (*one)(struct ts_walk *w, json_t *v, json_t **out),
                             json_t **out)
{
	size_t i;
	json_t *e;

	if (ts_walk_array(w, v, what, max, noun))
		return w->err->status;
	if (!(*out = json_array()))
		return ts_walk_oom(w);
	json_array_foreach(v, i, e) {
		size_t mark = ts_walk_index(w, i);
		json_t *o = NULL;

		if (one(w, e, &o))
			return w->err->status;
		if (json_array_append_new(*out, o) != 0)
			return ts_walk_oom(w);
		ts_walk_back(w, mark);
	}
	return TS_OK;
}

ts_status ts_walk_fail(struct ts_walk *w, const char *fmt, ...)
{
	char why[224];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (w->plen)
		return ts_error_set(w->err, TS_EBADREQUEST, "%s: %s", w->path, why);
	return ts_error_set(w->err, TS_EBADREQUEST, "%s", why);
}

ts_status ts_walk_oom(struct ts_walk *w)
{
	return ts_error_set(w->err, TS_EINTERNAL, "out of memory while reading a sidecar");
}

const char *ts_walk_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* ---- strings ----------------------------------------------------------- */

ts_status ts_walk_want_string(struct ts_walk *w, const json_t *v, const char *what)
{
	if (!json_is_string(v))
		return ts_walk_fail(w, "must be %s, not %s", what, ts_walk_kind(v));
	return TS_OK;
}

ts_status ts_walk_dup(struct ts_walk *w, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? TS_OK : ts_walk_oom(w);
}

ts_status ts_walk_name(struct ts_walk *w, const json_t *v, char **out)
{
	char why[160], q[64];

	if (ts_walk_want_string(w, v, "a file name"))
		return w->err->status;
	if (!ts_present_check_name(json_string_value(v), why, sizeof why))
		return ts_walk_fail(w, "\"%s\" %s", ts_present_quote(json_string_value(v), q, sizeof q), why);
	return ts_walk_dup(w, json_string_value(v), out);
}

ts_status ts_walk_uri(struct ts_walk *w, const json_t *v, char **out)
{
	char why[160], q[64];

	if (ts_walk_want_string(w, v, "an http(s) URI"))
		return w->err->status;
	if (!ts_present_check_uri(json_string_value(v), why, sizeof why))
		return ts_walk_fail(w, "\"%s\" %s", ts_present_quote(json_string_value(v), q, sizeof q), why);
	return ts_walk_dup(w, json_string_value(v), out);
}

/* One string of a language map (the path already names it). */
ts_status ts_walk_text(struct ts_walk *w, const json_t *v, bool html)
{
	char why[160];

	if (ts_walk_want_string(w, v, "a string"))
		return w->err->status;
	if (!ts_present_check_text(json_string_value(v), json_string_length(v), html, why, sizeof why))
		return ts_walk_fail(w, "%s", why);
	return TS_OK;
}

/* ---- language maps (Presentation 3.0 §4.4) ----------------------------- */

/* A plain string becomes {language: [s]}; a map is checked and kept. */
ts_status ts_walk_langmap(struct ts_walk *w, json_t *v, bool html, json_t **out)
{
	const char *key;
	json_t *arr;
	size_t nstrings = 0, nlangs = 0;

	if (json_is_string(v)) {
		if (ts_walk_text(w, v, html))
			return w->err->status;
		*out = ts_present_langmap(w->lang, json_string_value(v));
		return *out ? TS_OK : ts_walk_oom(w);
	}
	if (!json_is_object(v))
		return ts_walk_fail(w, "must be a string or a language map such as {\"en\": [\"...\"]}, not %s",
		                    ts_walk_kind(v));
	if (json_object_size(v) == 0)
		return ts_walk_fail(w, "must be a language map with at least one language");
	json_object_foreach(v, key, arr) {
		char why[160];
		size_t mark = ts_walk_key(w, key), i;
		json_t *s;

		if (++nlangs > TS_PRESENT_MAX_LANGS)
			return ts_walk_fail(w, "too many languages (at most %d)", TS_PRESENT_MAX_LANGS);
		if (!ts_present_check_lang(key, why, sizeof why))
			return ts_walk_fail(w, "the key %s", why);
		if (!json_is_array(arr) || json_array_size(arr) == 0)
			return ts_walk_fail(w, "must be a non-empty array of strings, not %s",
			                    json_is_array(arr) ? "an empty array" : ts_walk_kind(arr));
		json_array_foreach(arr, i, s) {
			size_t m2 = ts_walk_index(w, i);
			if (++nstrings > TS_PRESENT_MAX_STRINGS)
				return ts_walk_fail(w, "too many strings in one language map (at most %d)",
				                    TS_PRESENT_MAX_STRINGS);
			if (ts_walk_text(w, s, html))
				return w->err->status;
			ts_walk_back(w, m2);
		}
		ts_walk_back(w, mark);
	}
	*out = json_incref(v);
	return TS_OK;
}

/* {"label": map, "value": map}: a metadata entry or the requiredStatement. */
ts_status ts_walk_pair(struct ts_walk *w, json_t *v, json_t **out)
{
	const char *key;
	json_t *val, *label = NULL, *value = NULL;
	size_t mark;

	*out = NULL;
	if (!json_is_object(v))
		return ts_walk_fail(w, "must be an object with label and value, not %s", ts_walk_kind(v));
	json_object_foreach(v, key, val) {
		if (strcmp(key, "label") != 0 && strcmp(key, "value") != 0) {
			mark = ts_walk_key(w, key);
			ts_walk_fail(w, "unknown key; expected only label and value");
			ts_walk_back(w, mark);
			goto fail;
		}
	}
	if (!json_object_get(v, "label") || !json_object_get(v, "value")) {
		ts_walk_fail(w, "must have both label and value");
		goto fail;
	}
	mark = ts_walk_key(w, "label");
	if (ts_walk_langmap(w, json_object_get(v, "label"), false, &label))
		goto fail;
	ts_walk_back(w, mark);
	mark = ts_walk_key(w, "value");
	if (ts_walk_langmap(w, json_object_get(v, "value"), true, &value))
		goto fail;
	ts_walk_back(w, mark);
	*out = json_object();
	if (!*out || json_object_set_new(*out, "label", label) != 0) {
		label = NULL;
		goto nomem;
	}
	label = NULL;
	if (json_object_set_new(*out, "value", value) != 0) {
		value = NULL;
		goto nomem;
	}
	return TS_OK;
nomem:
	ts_walk_oom(w);
fail:
	json_decref(label);
	json_decref(value);
	json_decref(*out);
	*out = NULL;
	return w->err->status;
}

ts_status ts_walk_metadata(struct ts_walk *w, json_t *v, json_t **out)
{
	return ts_walk_json_array(w, v, "an array of {label, value} objects",
	                          TS_SIDECAR_MAX_METADATA, "entries", ts_walk_pair, out);
}
