/*
 * json2.h - the pieces of Presentation 2.1 JSON the Manifest and the
 * Collection writers share (src/present/json2.c): 3.0 language maps and
 * metadata turned into 2.1 values, the Image API 2.1 service block, image
 * resources and thumbnails, navDate in UTC, behavior as viewingHint.
 * Internal to src/present/; the insertion helpers (ts_pj_put...) and the
 * URL forms come from json3.h.
 */
#ifndef TESSERA_PRESENT_JSON2_H
#define TESSERA_PRESENT_JSON2_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "json3.h"

#define TS_PRESENT2_CONTEXT "http://iiif.io/api/presentation/2/context.json"
#define TS_IMAGE2_CONTEXT "http://iiif.io/api/image/2/context.json"

/*
 * A 3.0 language map as a 2.1 value (2.1 §4.3): one language (or "none")
 * with one string -> that string; one language with several strings ->
 * an array of strings; several languages -> an array of
 * {"@value", "@language"} objects ("none" values as plain strings), in the
 * map's order.  A plain JSON string passes through.  A new reference, or
 * NULL for NULL, an empty map or out of memory.
 */
json_t *ts_pj2_text(const json_t *map);

/* A 3.0 metadata array [{label: map, value: map}] as 2.1 [{label, value}]
 * (2.1 §3.1 metadata), entries without a value left out.  New reference or
 * NULL. */
json_t *ts_pj2_metadata(const json_t *md);

/*
 * The Image API 2.1 service of a picture (2.1 §3.4 service, Image API 2.1
 * §5): {"@context": image/2, "@id": {base}/iiif/2/{iid}, "profile":
 * level2}, with full also width, height, sizes and tiles exactly as the
 * 2.1 info.json gives them (ts_info_service).  New reference or NULL.
 */
json_t *ts_pj2_service(const struct ts_present_ctx *c, const struct ts_present_picture *p,
                       bool full);

/* The painted image resource of a picture (2.1 §5.4): {"@id":
 * .../iiif/2/{iid}/full/full/0/default.jpg, "@type": "dctypes:Image",
 * "format": "image/jpeg", "height", "width" (the picture's full size, as
 * info.json), "service" (full)}.  New reference or NULL. */
json_t *ts_pj2_image(const struct ts_present_ctx *c, const struct ts_present_picture *p);

/* A thumbnail of a picture (2.1 §3.1 thumbnail): a sizes entry of longest
 * side <= 400 (json3.h), {"@id", "@type", "format", "width", "height",
 * "service" (id and profile only)}; NULL when p has no picture. */
json_t *ts_pj2_thumbnail(const struct ts_present_ctx *c, const struct ts_present_picture *p);

/*
 * navDate as 2.1 wants it (2.1 §3.3 navDate: "YYYY-MM-DDThh:mm:ssZ", in
 * UTC): in is an xsd:dateTime with a time zone as the sidecar checks it
 * (YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)); the offset is subtracted,
 * fractions of a second dropped.  Writes out (n >= 24 bytes); false when
 * in is not of that form.
 */
bool ts_pj2_utc_date(const char *in, char *out, size_t n);

/* The navDate property value for a sidecar navDate, or NULL when absent
 * or unreadable. */
json_t *ts_pj2_nav_date(const char *in);

/*
 * The 2.1 viewingHint of 3.0 behavior values (2.1 §3.3 viewingHint): the
 * first value that 2.1 allows on the resource (allowed is a NULL-ended
 * list, e.g. individuals/paged/continuous for a Manifest), as a string;
 * NULL when none maps.  3.0 values with no 2.1 meaning (auto-advance,
 * repeat, ...) are left out.
 */
json_t *ts_pj2_viewing_hint(char *const *behavior, size_t n, const char *const *allowed);

/* A file of a folder as a 2.1 link ({"@id": res URL, "format", "label"}),
 * as rendering and seeAlso take them (2.1 §3.4).  label may be NULL (the
 * file name); taken when given. */
json_t *ts_pj2_file_link(const struct ts_present_ctx *c, const char *fid, const char *file,
                         const char *format, json_t *label);

#endif
