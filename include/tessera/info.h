/*
 * info.h - IIIF info.json documents (src/proto/iiif_info.c), built with
 * jansson.  Pure: geometry and settings in, JSON text out.
 */
#ifndef TESSERA_INFO_H
#define TESSERA_INFO_H

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

#endif
