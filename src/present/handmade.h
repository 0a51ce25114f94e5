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
#include <stddef.h>

#include "tessera/present.h"
#include "tessera/status.h"

/* The base a hand-made manifest.json writes its own ids under. */
#define TS_PRESENT_PLACEHOLDER_BASE "https://tessera.invalid"

/* Parse it->manifest_json into *doc (a new reference, the caller's), which
 * must be a JSON object; else TS_EINTERNAL naming the file and line. */
ts_status ts_present_handmade_parse(const struct ts_present_item *it, json_t **doc,
                                    struct ts_error *err);
/* Rewrite, in place and at any depth, every string value of v that starts
 * with TS_PRESENT_PLACEHOLDER_BASE to start with base instead (a string
 * that cannot be made, out of memory, stays as it was). */
void ts_present_handmade_rebase(json_t *v, const char *base);

/* The index of the canvas of it painted from file, or -1. */
long ts_present_canvas_index(const struct ts_present_item *it, const char *file);
/* The fragment a range item adds to its canvas's id (a segment: #t=a,b
 * for a time span, #xywh=x,y,w,h for a region), or "" for the whole
 * canvas, into out of n bytes (160 is enough). */
void ts_present_range_fragment(char *out, size_t n, const struct ts_sidecar_range_item *ri);

#endif
