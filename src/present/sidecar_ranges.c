/*
 * sidecar_ranges.c - the "structures" of an iiif.json sidecar: Ranges of
 * file names, {file, t} and {file, xywh} references and nested Ranges
 * (presentation.md §2), read into struct ts_sidecar_range.
 *
 * Presentation 3.0 §5.4 Ranges must have items; ours must also have a
 * label, since they exist to be shown as a table of contents.  The one
 * idea is the numbering: a Range without "id" gets "r<n>", n its position
 * among all Ranges of the item counted depth first from 1 (a Range before
 * its children), whether or not other Ranges have explicit ids; ids of the
 * form r<n> are refused when written by hand, so a curator's id can never
 * collide with a generated one, and adding an id never renumbers others.
 * Depth (32), the number of Ranges (10,000) and of their entries (100,000)
 * are bounded so a hostile sidecar cannot make the walk deep or long.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/sidecar.h"
#include "sidecar_walk.h"

#define MAX_RANGE_DEPTH 32
#define MAX_RANGES      10000     /* Ranges in one item */
#define MAX_RANGE_REFS  100000    /* entries of all Ranges' items together */
#define MAX_ID          64        /* bytes of an explicit Range id */

static ts_status read_range(struct ts_walk *w, json_t *v, int depth, struct ts_sidecar_range *r);

static bool reserved_id(const char *s)
{
	size_t i;

	if (s[0] != 'r' || !s[1])
		return false;
	for (i = 1; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static ts_status read_range_id(struct ts_walk *w, const json_t *v, char **out)
{
	const char *s;
	size_t i;

	if (!json_is_string(v))
		return ts_walk_fail(w, "must be a string of letters, digits, '_' and '-', not %s",
		                    ts_walk_kind(v));
	s = json_string_value(v);
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return ts_walk_fail(w, "must be made of letters, digits, '_' and '-' only");
	if (i == 0 || i > MAX_ID)
		return ts_walk_fail(w, "must be 1 to %d characters long", MAX_ID);
	if (reserved_id(s))
		return ts_walk_fail(w, "\"%s\" has the form r<n> kept for generated Range ids; choose another",
		                    s);
	for (i = 0; i < w->nids; i++)
		if (strcmp(w->ids[i], s) == 0)
			return ts_walk_fail(w, "\"%s\" is already the id of another Range", s);
	if (w->nids == w->capids) {
		size_t cap = w->capids ? w->capids * 2 : 16;
		char **n = realloc(w->ids, cap * sizeof *n);
		if (!n)
			return ts_walk_oom(w);
		w->ids = n, w->capids = cap;
	}
	if (ts_walk_dup(w, s, out))
		return w->err->status;
	w->ids[w->nids++] = *out;
	return TS_OK;
}

/* {file, t: [start, end]} or {file, xywh: [x, y, w, h]} (or just {file}). */
static ts_status read_canvas_ref(struct ts_walk *w, json_t *v, struct ts_sidecar_range_item *it)
{
	const char *key;
	json_t *val, *e;
	size_t i;

	json_object_foreach(v, key, val) {
		size_t mark = ts_walk_key(w, key);
		ts_status st = TS_OK;

		if (strcmp(key, "file") == 0) {
			st = ts_walk_name(w, val, &it->file);
		} else if (strcmp(key, "t") == 0) {
			if (!json_is_array(val) || json_array_size(val) != 2)
				return ts_walk_fail(w, "must be [start, end] in seconds");
			json_array_foreach(val, i, e) {
				if (!json_is_number(e) || !isfinite(json_number_value(e)) ||
				    json_number_value(e) < 0 || json_number_value(e) > TS_SIDECAR_MAX_DURATION)
					return ts_walk_fail(w, "must be [start, end] in seconds, each from 0 to %.0f",
					                    TS_SIDECAR_MAX_DURATION);
				it->t[i] = json_number_value(e);
			}
			if (!(it->t[0] < it->t[1]))
				return ts_walk_fail(w, "must be [start, end] with start before end");
			it->has_t = true;
		} else if (strcmp(key, "xywh") == 0) {
			if (!json_is_array(val) || json_array_size(val) != 4)
				return ts_walk_fail(w, "must be [x, y, w, h] in pixels");
			json_array_foreach(val, i, e) {
				json_int_t n = json_is_integer(e) ? json_integer_value(e) : -1;
				if (n < (i >= 2 ? 1 : 0) || (double)n > TS_SIDECAR_MAX_SIDE - 1)
					return ts_walk_fail(w, "must be [x, y, w, h]: whole pixels, x and y from 0, "
					            "w and h at least 1");
				it->xywh[i] = (uint32_t)n;
			}
			it->has_xywh = true;
		} else {
			st = ts_walk_fail(w, "unknown key; expected file, t or xywh");
		}
		if (st)
			return st;
		ts_walk_back(w, mark);
	}
	if (it->has_t && it->has_xywh)
		return ts_walk_fail(w, "must have t or xywh, not both");
	return TS_OK;
}

static ts_status read_range_items(struct ts_walk *w, json_t *v, int depth, struct ts_sidecar_range *r)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return ts_walk_fail(w, "must be a non-empty array of file names, {file, t}, {file, xywh} or Ranges");
	if (json_array_size(v) > MAX_RANGE_REFS - w->nrefs)
		return ts_walk_fail(w, "makes the Ranges hold more than %d entries in all", MAX_RANGE_REFS);
	w->nrefs += json_array_size(v);
	if (!(r->items = calloc(json_array_size(v), sizeof *r->items)))
		return ts_walk_oom(w);
	json_array_foreach(v, i, e) {
		size_t mark = ts_walk_index(w, i);
		struct ts_sidecar_range_item *it = &r->items[i];

		r->nitems = i + 1;
		if (json_is_string(e)) {
			if (ts_walk_name(w, e, &it->file))
				return w->err->status;
		} else if (json_is_object(e) && json_object_get(e, "file")) {
			if (read_canvas_ref(w, e, it))
				return w->err->status;
		} else if (json_is_object(e)) {
			if (!(it->range = calloc(1, sizeof *it->range)))
				return ts_walk_oom(w);
			if (read_range(w, e, depth + 1, it->range))
				return w->err->status;
		} else {
			return ts_walk_fail(w, "must be a file name, {file, t}, {file, xywh} or a Range, not %s",
			                    ts_walk_kind(e));
		}
		ts_walk_back(w, mark);
	}
	return TS_OK;
}

static ts_status read_range(struct ts_walk *w, json_t *v, int depth, struct ts_sidecar_range *r)
{
	const char *key;
	json_t *val;
	size_t position;
	char gen[32];

	if (!json_is_object(v))
		return ts_walk_fail(w, "must be a Range {label, items}, not %s", ts_walk_kind(v));
	if (depth > MAX_RANGE_DEPTH)
		return ts_walk_fail(w, "nests Ranges deeper than %d", MAX_RANGE_DEPTH);
	if (w->nranges >= MAX_RANGES)
		return ts_walk_fail(w, "is one Range too many (at most %d in an item)", MAX_RANGES);
	position = ++w->nranges;   /* depth first: a Range is counted before its children */
	json_object_foreach(v, key, val) {
		size_t mark = ts_walk_key(w, key);
		ts_status st;

		if (strcmp(key, "label") == 0)
			st = ts_walk_langmap(w, val, false, &r->label);
		else if (strcmp(key, "id") == 0)
			st = read_range_id(w, val, &r->id);
		else if (strcmp(key, "items") == 0)
			st = TS_OK;          /* after the id, so children number after it */
		else
			st = ts_walk_fail(w, "unknown key; expected label, items or id");
		if (st)
			return st;
		ts_walk_back(w, mark);
	}
	if (!r->label)
		return ts_walk_fail(w, "must have a label");
	if (!json_object_get(v, "items"))
		return ts_walk_fail(w, "must have items");
	if (!r->id) {
		snprintf(gen, sizeof gen, "r%zu", position);
		if (ts_walk_dup(w, gen, &r->id))
			return w->err->status;
	}
	{
		size_t mark = ts_walk_key(w, "items");
		if (read_range_items(w, json_object_get(v, "items"), depth, r))
			return w->err->status;
		ts_walk_back(w, mark);
	}
	return TS_OK;
}

ts_status ts_sidecar_structures_read(struct ts_walk *w, json_t *v, struct ts_sidecar *out)
{
	size_t i;
	json_t *e;

	if (ts_walk_array(w, v, "an array of Ranges {label, items}", MAX_RANGES, "Ranges"))
		return w->err->status;
	if (!(out->structures = calloc(json_array_size(v) + 1, sizeof *out->structures)))
		return ts_walk_oom(w);
	json_array_foreach(v, i, e) {
		size_t mark = ts_walk_index(w, i);
		out->nstructures = i + 1;
		if (read_range(w, e, 1, &out->structures[i]))
			return w->err->status;
		ts_walk_back(w, mark);
	}
	return TS_OK;
}

void ts_sidecar_range_free(struct ts_sidecar_range *r)
{
	size_t i;

	for (i = 0; i < r->nitems; i++) {
		if (r->items[i].range) {
			ts_sidecar_range_free(r->items[i].range);
			free(r->items[i].range);
		}
		free(r->items[i].file);
	}
	free(r->items);
	free(r->id);
	json_decref(r->label);
}
