/*
 * present_url.h - the Presentation API URL forms (URLS.md) parsed into a
 * struct (src/proto/presentation.c).  Pure: a string in, a struct out; it
 * never looks at the file system, so whether an identifier is an item
 * folder, a collection or an image is decided later by the handler.
 */
#ifndef TESSERA_PRESENT_URL_H
#define TESSERA_PRESENT_URL_H

#include <stdbool.h>
#include "arena.h"

enum ts_present_route {
	TS_PURL_NONE,        /* not a Presentation URL: the Image API's (or another's) */
	TS_PURL_COLLECTION,  /* {v}/collection/{fid|top} */
	TS_PURL_MANIFEST,    /* {v}/{item}/manifest */
	TS_PURL_PART,        /* {v}/{item}/canvas/p1, page/p1/1, annotation/x, range/x, sequence/x */
	TS_PURL_BASE         /* {v}/{id}: a folder redirects to its Manifest/Collection */
};

struct ts_present_url {
	enum ts_present_route route;
	int version;                 /* 2 or 3 */
	bool version_in_url;
	const char *path;            /* percent-decoded once: root-relative ("" = top) */
	const char *raw_id;          /* the identifier segment as sent */
	const char *part_kind;       /* "canvas", "page", "annotation", "range", "sequence" */
	const char *part_name;       /* "p3", "p3/1", "p3-image", "r1", "normal" */
};

/* Parse rest, the path after "/iiif" (it starts with '/').  Never fails:
 * anything that is not one of the forms is TS_PURL_NONE, including a
 * malformed percent-encoding or a NUL, which the Image API parser then
 * refuses with its own message.  Strings live in arena a. */
void ts_present_url_parse(const char *rest, int default_version, struct ts_arena *a,
                          struct ts_present_url *out);

#endif
