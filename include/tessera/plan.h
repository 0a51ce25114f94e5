/*
 * plan.h - the request planner: command + image geometry -> what to do.
 *
 * A pure function (no I/O).  It applies the IIIF rules for regions, sizes,
 * rounding, upscaling and limits, chooses the pyramid level to read (the
 * smallest level that is at least the output size), and says which
 * rectangle of that level to decode and which sub-pixel rectangle of it to
 * resample to the output size.  Exhaustively unit-tested.
 */
#ifndef TESSERA_PLAN_H
#define TESSERA_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include "command.h"
#include "status.h"

#define TS_MAX_LEVELS 32

/* The pyramid as the planner sees it.  levels[0] is full resolution; each
 * next level is smaller.  Level sizes are whatever the file stores
 * (floor- or ceil-halved, or any other ratio). */
struct ts_geometry {
	uint32_t width, height;
	int nlevels;                       /* >= 1 */
	struct { uint32_t width, height; } levels[TS_MAX_LEVELS];
};

struct ts_limits {
	uint32_t max_width;        /* output width limit, 0 = unlimited */
	uint32_t max_height;       /* output height limit, 0 = unlimited */
	uint64_t max_area;         /* output pixels limit, 0 = unlimited */
	bool allow_upscaling;      /* "^" sizes (3.0) and upscaling sizes (2.1) */
};

struct ts_plan {
	/* The region in full-resolution pixels, clipped to the image. */
	uint32_t region_x, region_y, region_w, region_h;
	/* Output size after scaling, before rotation. >= 1 each. */
	uint32_t out_w, out_h;
	/* Output size after rotation (the bounding box for arbitrary angles). */
	uint32_t final_w, final_h;
	/* Pyramid level to read and the integer rectangle of it to decode. */
	int level;
	uint32_t read_x, read_y, read_w, read_h;
	/* The exact (fractional) region inside the decoded rectangle, in its
	 * pixels, that maps onto out_w x out_h. */
	double crop_x, crop_y, crop_w, crop_h;
	/* Copied from the command for the pipeline. */
	double degrees;
	bool mirror;
	enum ts_quality quality;
	enum ts_format format;
	/* The canonical IIIF parameters for this request (for the Link
	 * rel="canonical" header and cache keys), e.g. "0,0,256,256/256,/0/default.jpg"
	 * in the syntax of the command's version. */
	char canonical[128];
};

/*
 * Plan a request.  Returns 400 for a region outside the image or of zero
 * size, a size of zero, an upscale not allowed by the version (3.0 without
 * "^"), a size larger than max_width/max_height/max_area when the request
 * named that size explicitly (sizes "max"/"full" and "!w,h" are clamped
 * instead, never rejected), and 501 (not 400) when upscaling is asked but
 * disabled (IIIF Image API 3.0 section 4.2: "^" sizes that require
 * upscaling "SHOULD result in a 501 (Not Implemented)"; the same for 2.1).
 * "!w,h" never fails for being larger than the region: it is capped.
 * lim may be NULL (no limits, no upscaling).  500 for an inconsistent
 * geometry (levels[0] must equal width x height).  On success
 * out->canonical holds "region/size/rotation/quality.format" (3.0 section
 * 4.8 / 2.1 section 4.7) and out->degrees is in [0, 360) (360 becomes 0).
 */
ts_status ts_plan_make(const struct ts_image_cmd *cmd, const struct ts_geometry *g,
                       const struct ts_limits *lim, struct ts_plan *out,
                       struct ts_error *err);

/* The size "max" resolves to for a full image (or region) of w x h under
 * lim (used for info.json maxWidth/maxHeight and by ts_plan_make): w x h
 * scaled down, keeping the aspect ratio, until it fits max_width,
 * max_height and max_area (each 0 = no limit).  With allow_upscale ("^max")
 * it is scaled up to the limits instead; with no limit at all it stays
 * w x h.  lim may be NULL. */
void ts_plan_max_size(uint32_t w, uint32_t h, const struct ts_limits *lim,
                      bool allow_upscale, uint32_t *out_w, uint32_t *out_h);

#endif
