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

/* The URL of a file of a folder: {base}/iiif/{fid}/res/{file}. */
json_t *ts_pj_res_url(const struct ts_present_ctx *c, const char *fid, const char *file);
/* Append v as compact JSON (no spaces; object keys in insertion order)
 * and a newline: byte-stable, and several times faster than json_dumps on
 * a Manifest of thousands of canvases.  false when out of memory or v
 * holds a non-finite real. */
bool ts_pj_write(const json_t *v, struct ts_buf *out);
/* {language: [s]} for a plain string. */
json_t *ts_pj_lang(const char *language, const char *s);

/* ---- streaming --------------------------------------------------------
 * The 3.0 writers append their JSON straight to a buffer, byte for byte
 * what ts_pj_write prints for the same tree (compact, keys in the order
 * written), without building the tree: a 2,000-canvas Manifest is 30,000
 * objects that are never allocated.  Each returns false when out of
 * memory or a string is not UTF-8 (what jansson refuses); the buffer then
 * holds a partial document the caller drops. */

/* A literal (keys, punctuation, fixed ASCII values: written as is). */
bool ts_pj_w(struct ts_buf *b, const char *lit);
/* s as a JSON string; false when s is not UTF-8. */
bool ts_pj_w_str(struct ts_buf *b, const char *s);
/* A JSON string from printf-style format. */
bool ts_pj_w_strf(struct ts_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool ts_pj_w_int(struct ts_buf *b, long long v);
/* A finite real as ts_pj_write prints it (shortest exact, ".0" kept). */
bool ts_pj_w_real(struct ts_buf *b, double v);
/* A jansson value (a label, metadata from a sidecar) as ts_pj_write. */
bool ts_pj_w_value(struct ts_buf *b, const json_t *v);
/* {language: [s]} for a plain string. */
bool ts_pj_w_lang(struct ts_buf *b, const char *language, const char *s);
/* {id: .../full/w,h/0/default.jpg, type Image, format image/jpeg, height,
 * width, service} for the size ts_present_pick_size gives for max_side,
 * the service ImageService3 (and ImageService2 when the context asks)
 * with width, height, sizes and tiles when full_services, else
 * ImageService3's id, type and profile alone.  false when there is no
 * such size (the image cannot be made whole within the budget) or out of
 * memory.  memo may be NULL. */
bool ts_pj_w_image(struct ts_buf *b, const struct ts_present_ctx *c,
                   const struct ts_present_picture *p, uint32_t max_side, bool full_services,
                   struct ts_pj_memo *memo);
/* key (a literal such as ",\"thumbnail\":") and a one-image array, or
 * nothing when p has no picture the server makes within its budget.
 * Always true: a missing thumbnail is no error (out of memory shows at
 * the end of the document). */
bool ts_pj_w_thumbnail(struct ts_buf *b, const char *key, const struct ts_present_ctx *c,
                       const struct ts_present_picture *p, struct ts_pj_memo *memo);

#endif
