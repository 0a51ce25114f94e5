/*
 * sidecar.h - the descriptive metadata curators put beside their files
 * (src/present/sidecar*.c, src/present/csv.c): `iiif.json` sidecars
 * (version 1) and `metadata.csv` rows, parsed and validated into one
 * struct that the Manifest and Collection writers read.
 *
 * The format is ../shared/docs/presentation.md §2 and §3.  Parsers are pure:
 * text in, struct or error out; they never open files or log.  Every error
 * names the field as a path into the document ("items[2].duration",
 * "metadata[0].label", "rights", "row 4, column navDate") followed by what
 * was expected, so the caller only has to prefix the item's path.
 *
 * Language maps: wherever the format takes a language map, a plain string
 * is accepted too and becomes {language: [s]} (language from the sidecar's
 * "language", default "none"); a full map passes through after checking
 * (keys are BCP 47-ish tags or "none", values arrays of strings).  They are
 * kept as jansson objects, ready to embed in 3.0 output; the 2.1 writer
 * converts them.  Every json_t * below is owned by the struct (one
 * reference) and may be NULL for "not given".
 */
#ifndef TESSERA_SIDECAR_H
#define TESSERA_SIDECAR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "status.h"

/* Which kind of folder the sidecar describes: a collection sidecar accepts
 * only label, summary, metadata, rights, requiredStatement, provider,
 * navDate, behavior, thumbnail, items (member order, bare names), language
 * and type (presentation.md §2, last rule). */
enum ts_sidecar_scope { TS_SIDECAR_ITEM, TS_SIDECAR_COLLECTION };

/* One entry of "items" or "rendering": a file of the folder, by name. */
struct ts_sidecar_file {
	char *file;            /* a plain name in the folder: no '/', not "." or ".." */
	json_t *label;         /* language map */
	json_t *summary;       /* language map */
	json_t *metadata;      /* array of {"label": map, "value": map} */
	double duration;       /* seconds, > 0; 0 = not given (probe it) */
	uint32_t width, height;/* 0 = not given */
	char *thumbnail;       /* a file name in the folder, or NULL */
};

struct ts_sidecar_range;

/* One entry of a Range's items. */
struct ts_sidecar_range_item {
	struct ts_sidecar_range *range;   /* a nested Range, or NULL for a Canvas reference */
	char *file;                       /* the canvas's file (when range is NULL) */
	bool has_t;                       /* {file, t: [start, end]}: Canvas#t=start,end */
	double t[2];                      /* 0 <= t[0] < t[1] */
	bool has_xywh;                    /* {file, xywh: [x, y, w, h]}: Canvas#xywh=... */
	uint32_t xywh[4];                 /* w, h > 0 */
};

struct ts_sidecar_range {
	char *id;              /* explicit ([A-Za-z0-9_-]+, unique in the item) or "r1", "r2"... depth first */
	json_t *label;         /* language map (required) */
	struct ts_sidecar_range_item *items;
	size_t nitems;
};

struct ts_sidecar_provider {
	char *id;              /* http(s) URI (required) */
	json_t *label;         /* language map (required) */
	char *homepage;        /* http(s) URI or NULL */
	char *logo;            /* an http(s) URI, or a file name in the folder (served as res/), or NULL */
};

struct ts_sidecar {
	bool is_collection;        /* "type": "Collection" */
	char *language;            /* for plain strings; "none" when not given */
	json_t *label;             /* language map */
	json_t *summary;           /* language map (may hold the allowed HTML) */
	json_t *metadata;          /* array of {"label": map, "value": map} */
	char *rights;              /* canonical http:// CC or RightsStatements.org URI */
	json_t *required_statement;/* {"label": map, "value": map} */
	struct ts_sidecar_provider *provider;   /* or NULL */
	char *homepage;            /* http(s) URI */
	char *nav_date;            /* xsd:dateTime with a time zone, as written */
	char **behavior;           /* checked against the spec's table for the scope */
	size_t nbehavior;
	char *viewing_direction;   /* left-to-right, right-to-left, top-to-bottom, bottom-to-top */
	char *thumbnail;           /* a file (item) or member (collection) name */
	char *start;               /* a file name (item only) */
	struct ts_sidecar_file *items;       /* order first; for collections only .file is set */
	size_t nitems;
	char **exclude;            /* file names left out of the item */
	size_t nexclude;
	struct ts_sidecar_file *rendering;   /* files offered as downloads */
	size_t nrendering;
	json_t *see_also;          /* array of {"id", "type", "format", "profile"?, "label"?} (external) */
	struct ts_sidecar_range *structures; /* top-level Ranges */
	size_t nstructures;
	char *warning;             /* a non-fatal note for the log (https rights rewritten), or NULL */
};

/*
 * Parse and validate an iiif.json of len bytes for scope.  On success *out
 * owns everything (ts_sidecar_free).  On failure 400 with err->msg naming
 * the field and the rule ("items[1].duration: must be a positive number of
 * seconds"), and *out is left empty (safe to free).  Invalid JSON gives the
 * line and column; invalid UTF-8 anywhere is refused.  Unknown keys are
 * errors (a typo must not silently drop metadata).  "type": "Collection"
 * read with TS_SIDECAR_ITEM makes a collection sidecar (is_collection set,
 * collection keys only); "type": "Manifest" with TS_SIDECAR_COLLECTION is
 * refused.  Ranges without an "id" get "r<n>", n their position among all
 * Ranges counted depth first from 1; explicit ids of that form are refused.
 */
ts_status ts_sidecar_parse(const char *text, size_t len, enum ts_sidecar_scope scope,
                           struct ts_sidecar *out, struct ts_error *err);

/* Free what s owns and zero it.  Accepts NULL. */
void ts_sidecar_free(struct ts_sidecar *s);

/* A parsed metadata.csv: RFC 4180, UTF-8, header row. */
struct ts_csv {
	char **header;         /* ncols column names, trimmed */
	size_t ncols;
	char ***rows;          /* nrows rows of ncols cells (missing cells are "") */
	size_t nrows;
	int key_col;           /* the "folder" or "file" column */
	/* Added for messages and lookups (not needed by callers): */
	size_t *lines;         /* nrows: each row's record number in the file, the header being 1 */
	size_t *order;         /* nrows row indices sorted by key, for ts_csv_find */
};

/* Parse a metadata.csv of len bytes.  400 with "row N, ..." in err->msg for
 * a malformed file (unterminated quote, invalid UTF-8, no folder/file
 * column, a duplicate name).  Bounded: at most 4 MB, 100,000 rows, 256
 * columns, 2,000,000 cells and 64 KB a cell.  Rows whose cells are all
 * empty are skipped; short rows are padded with "", and a row longer than
 * the header is refused unless its extra cells are empty.  On failure *out
 * is left empty (safe to free). */
ts_status ts_csv_parse(const char *text, size_t len, struct ts_csv *out, struct ts_error *err);
void ts_csv_free(struct ts_csv *c);

/* The row whose key column equals name, or -1. */
long ts_csv_find(const struct ts_csv *c, const char *name);

/*
 * The sidecar fields that row `row` of c gives (presentation.md §3): label,
 * summary, rights, navDate, requiredStatement by their column names, every
 * other column a metadata entry with the header as its label; "Title@fr"
 * headers give language-tagged values; several values in one cell split on
 * '|'.  Untagged values take `language` (NULL = "none").  Values are
 * validated as in a sidecar (rights, navDate), errors naming the row and
 * column.  Column names match in any case; a requiredStatement column gives
 * the value, with the label {"en": ["Attribution"]}; columns sharing a
 * header before '@' ("Title", "Title@fr") make one metadata entry; empty
 * cells give nothing.  Row numbers in messages count the file's records,
 * the header being row 1.
 */
ts_status ts_sidecar_from_csv(const struct ts_csv *c, size_t row, const char *language,
                              struct ts_sidecar *out, struct ts_error *err);

/* Field by field, what `own` (the item's iiif.json) lacks is taken from
 * `row` (its CSV row); own wins wherever it has a value.  metadata counts
 * as one field: own's list, when given, replaces the row's whole list.
 * Both warnings are kept.  row is left empty afterwards (its values are
 * moved, not copied). */
void ts_sidecar_merge(struct ts_sidecar *own, struct ts_sidecar *row);

#endif
