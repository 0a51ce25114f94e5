/*
 * json3.h - the pieces of Presentation 3.0 JSON the Manifest and the
 * Collection writers share (src/present/json3.c): URLs of the URL forms,
 * thumbnails of a concrete size with their image service, and insertion
 * helpers that take ownership of the value and report failure once.
 * Internal to src/present/.
 */
#ifndef TESSERA_PRESENT_JSON3_H
#define TESSERA_PRESENT_JSON3_H

#include <jansson.h>
#include <stdbool.h>

#include "tessera/buf.h"

#include "tessera/present.h"

#define TS_PRESENT3_CONTEXT "http://iiif.io/api/presentation/3/context.json"
/* URLS.md: an image body is a sizes entry of longest side <= 1024, a
 * thumbnail one of longest side <= 400; when none that small is made within
 * the decode budget, the image scaled to that side (ts_present_pick_size). */
#define TS_PRESENT_BODY_SIDE 1024
#define TS_PRESENT_THUMB_SIDE 400

/* Set obj[key] = val, taking val (also on failure); false on failure or
 * when val is NULL. */
bool ts_pj_put(json_t *obj, const char *key, json_t *val);
/* Append val to arr, taking it; false on failure or val NULL. */
bool ts_pj_push(json_t *arr, json_t *val);
/* A new array [v], taking v (also on failure); NULL on failure or v NULL. */
json_t *ts_pj_one(json_t *v);
/* A new string from printf-style format; NULL on failure or bad UTF-8. */
json_t *ts_pj_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A new reference to a copy of v, or NULL for NULL. */
json_t *ts_pj_copy(const json_t *v);

/* The image service URL of a root-relative image: {base}/iiif/{v}/{iid}. */
json_t *ts_pj_service_url(const struct ts_present_ctx *c, int version, const char *rel);
/* The sizes and tiles of the last image geometry seen, shared by every
 * picture of that geometry in one document (ts_pj_memo_free when done). */
struct ts_pj_memo {
	struct ts_source_info info;
	json_t *sizes, *tiles;
	bool set;
};
void ts_pj_memo_free(struct ts_pj_memo *m);

/* The service array of an image: with full, ImageService3 and (when the
 * context asks) ImageService2 with width, height, sizes and tiles; else
 * ImageService3's id, type and profile alone. */
json_t *ts_pj_services(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                       bool full, struct ts_pj_memo *memo);
/* {id: .../full/w,h/0/default.jpg, type Image, format image/jpeg, width,
 * height, service} for the size ts_present_pick_size gives for max_side;
 * NULL when there is none (the image cannot be made whole within the
 * budget) or out of memory.  memo may be NULL. */
json_t *ts_pj_image(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                    uint32_t max_side, bool full_services, struct ts_pj_memo *memo);
/* A thumbnail array of one image, or NULL when p has none (or none the
 * server makes within its decode budget). */
json_t *ts_pj_thumbnail(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                        struct ts_pj_memo *memo);
/* The URL of a file of a folder: {base}/iiif/{fid}/res/{file}. */
json_t *ts_pj_res_url(const struct ts_present_ctx *c, const char *fid, const char *file);
/* Append v as compact JSON (no spaces; object keys in insertion order)
 * and a newline: byte-stable, and several times faster than json_dumps on
 * a Manifest of thousands of canvases.  false when out of memory or v
 * holds a non-finite real. */
bool ts_pj_write(const json_t *v, struct ts_buf *out);
/* {language: [s]} for a plain string. */
json_t *ts_pj_lang(const char *language, const char *s);

#endif
