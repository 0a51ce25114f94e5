/*
 * handmade.h - a hand-made manifest.json (presentation.md §2), read the
 * same way for Presentation 2.1 and 3.0 (src/present/handmade.c): parsed
 * as one JSON object, then every string starting with the placeholder
 * base rewritten to the public base.  Also the two small pieces both
 * Manifest writers use for a range's canvas ids.  Internal to src/present/.
 */
#ifndef TESSERA_PRESENT_HANDMADE_H
#define TESSERA_PRESENT_HANDMADE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tessera/present.h"
#include "tessera/status.h"

/* The base a hand-made manifest.json writes its own ids under. */
#define TS_PRESENT_PLACEHOLDER_BASE "https://tessera.invalid"

/*
 * it->manifest_json as *doc (a new reference, the caller's): parsed, which
 * must give a JSON object (else TS_EINTERNAL naming the file and line);
 * then, when accept is given, accept(doc) must hold (else TS_ENOTFOUND
 * with the public sentence refusal); then every string value, at any
 * depth, starting with TS_PRESENT_PLACEHOLDER_BASE rewritten to start with
 * base instead (a string that cannot be made, out of memory, stays as it
 * was).  *doc is NULL on failure.
 */
ts_status ts_present_handmade_load(const struct ts_present_item *it, const char *base,
                                   bool (*accept)(json_t *doc), const char *refusal,
                                   json_t **doc, struct ts_error *err);
/* "{mbase}/{part->kind}/{part->name}": the id a single resource has inside
 * the Manifest whose id base is mbase; malloc'd, NULL when out of memory. */
char *ts_present_part_id(const char *mbase, const struct ts_present_part *part);

/* The index of the canvas of it painted from file, or -1. */
long ts_present_canvas_index(const struct ts_present_item *it, const char *file);
/* The fragment a range item adds to its canvas's id (a segment: #t=a,b
 * for a time span, #xywh=x,y,w,h for a region), or "" for the whole
 * canvas, into out of n bytes (160 is enough). */
void ts_present_range_fragment(char *out, size_t n, const struct ts_sidecar_range_item *ri);

#endif
