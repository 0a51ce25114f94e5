/*
 * sidecar_walk.h - private to src/present/: walking a parsed iiif.json
 * with the JSON path of where the walk is, so every error names its field
 * ("items[2].duration: must be ...").  sidecar_walk.c holds the path, the
 * errors and the readers of values every part of the format uses (names,
 * URIs, language maps, label/value pairs); sidecar.c reads the document
 * and sidecar_ranges.c its structures with them.
 *
 * The path discipline: a reader entering a field calls ts_walk_key or
 * ts_walk_index, which return a mark, and calls ts_walk_back(mark) when the
 * field was fine.  On an error it returns at once, leaving the path naming
 * the field for the message ts_walk_fail writes.  Readers that fill a
 * json_t ** or char ** leave what they allocated there even on failure;
 * ts_sidecar_free takes care of it.
 */
#ifndef TESSERA_SIDECAR_WALK_H
#define TESSERA_SIDECAR_WALK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "tessera/status.h"

#define TS_WALK_PATH_MAX          120           /* longer paths end in "..." */
#define TS_SIDECAR_MAX_METADATA   1000          /* metadata entries of one resource */
#define TS_SIDECAR_MAX_DURATION   1e8           /* seconds: three years, past any recording */
#define TS_SIDECAR_MAX_SIDE       2147483648.0  /* 2^31: the largest width or height */

struct ts_walk {
	struct ts_error *err;
	const char *lang;          /* for plain strings in language maps (borrowed) */
	bool collection;           /* reading a collection sidecar */
	char path[TS_WALK_PATH_MAX + 8];
	size_t plen;
	size_t nranges, nrefs;     /* Ranges and Range entries so far (sidecar_ranges.c) */
	char **ids;                /* explicit Range ids seen (the strings are borrowed) */
	size_t nids, capids;
};

/* Enter a key or an index; returns the mark to go back to. */
size_t ts_walk_key(struct ts_walk *w, const char *key);
size_t ts_walk_index(struct ts_walk *w, size_t i);
void ts_walk_back(struct ts_walk *w, size_t mark);

/* 400 with "path: <what fmt says>" (or just the sentence at the top). */
ts_status ts_walk_fail(struct ts_walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 500, out of memory. */
ts_status ts_walk_oom(struct ts_walk *w);

/* "an object", "a string", ... for "must be X, not Y". */
const char *ts_walk_kind(const json_t *v);

/* v must be a JSON array (else 400 "must be <what>, not <its kind>") of at
 * most max elements (else 400 "has more than <max> <noun>"), the check
 * every array of a sidecar starts with. */
ts_status ts_walk_array(struct ts_walk *w, const json_t *v, const char *what, int max,
                        const char *noun);
/* An array as ts_walk_array checks it, each element read by `one` (at its
 * index in the path) into a new JSON value appended to *out, a new array
 * (a new reference).  On a failure after the check, *out holds what was
 * read so far, for the caller to drop with the rest of its result. */
ts_status ts_walk_json_array(struct ts_walk *w, json_t *v, const char *what, int max,
                             const char *noun,
                             ts_status (*one)(struct ts_walk *w, json_t *v, json_t **out),
                             json_t **out);

ts_status ts_walk_want_string(struct ts_walk *w, const json_t *v, const char *what);
ts_status ts_walk_dup(struct ts_walk *w, const char *s, char **out);
/* A plain file name (ts_present_check_name), copied into *out. */
ts_status ts_walk_name(struct ts_walk *w, const json_t *v, char **out);
/* An http(s) URI (ts_present_check_uri), copied into *out. */
ts_status ts_walk_uri(struct ts_walk *w, const json_t *v, char **out);
/* One string of a language map (ts_present_check_text). */
ts_status ts_walk_text(struct ts_walk *w, const json_t *v, bool html);
/* A language map, or a plain string made {w->lang: [s]} (Presentation 3.0
 * §4.4); html allows the §4.5 HTML in its strings.  *out: a new reference. */
ts_status ts_walk_langmap(struct ts_walk *w, json_t *v, bool html, json_t **out);
/* {"label": map, "value": map}, HTML allowed in the value only. */
ts_status ts_walk_pair(struct ts_walk *w, json_t *v, json_t **out);
/* An array of pairs (metadata), at most TS_SIDECAR_MAX_METADATA. */
ts_status ts_walk_metadata(struct ts_walk *w, json_t *v, json_t **out);

/* sidecar_ranges.c: "structures" into out->structures (the walk counts the
 * Ranges and keeps the explicit ids); and freeing what one Range owns. */
struct ts_sidecar;
struct ts_sidecar_range;
ts_status ts_sidecar_structures_read(struct ts_walk *w, json_t *v, struct ts_sidecar *out);
void ts_sidecar_range_free(struct ts_sidecar_range *r);

#endif
