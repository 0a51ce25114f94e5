/*
 * info.h - IIIF info.json documents (src/proto/iiif_info.c), built with
 * jansson.  Pure: geometry and settings in, JSON text out.
 */
#ifndef TESSERA_INFO_H
#define TESSERA_INFO_H

#include <jansson.h>
#include <stdbool.h>
#include "buf.h"
#include "plan.h"
#include "source.h"
#include "status.h"

struct ts_info_params {
	int version;                 /* 2 or 3 */
	const char *id;              /* full URL of the image service, no trailing slash */
	const struct ts_source_info *src;
	const struct ts_limits *limits;
	const char *rights;          /* NULL or "" for none */
	bool formats[8];             /* indexed by enum ts_format: encoder available */
};

/* Append the info.json document for p to out. 500 on failure. */
ts_status ts_info_format(const struct ts_info_params *p, struct ts_buf *out,
                         struct ts_error *err);

/*
 * The image service block a Presentation resource embeds (Presentation 3.0
 * §3.2 "service"; Image API 3.0 §5 / 2.1 §5): for version 3
 * {id, type "ImageService3", profile "level2", width, height, sizes, tiles},
 * for version 2 {@id, @type "ImageService2", profile
 * "http://iiif.io/api/image/2/level2.json", width, height, sizes, tiles};
 * sizes and tiles exactly as info.json lists them (omitted when empty).
 * with_sizes false gives only the id, type and profile.  A new reference,
 * or NULL when out of memory.
 */
json_t *ts_info_service(const struct ts_info_params *p, bool with_sizes);

/* The entries of info.json's "sizes" for p (smallest first), at most max
 * of them written to w[] and h[]; returns how many there are. */
size_t ts_info_sizes(const struct ts_info_params *p, uint32_t *w, uint32_t *h, size_t max);

#endif
