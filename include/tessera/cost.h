/*
 * cost.h - what a planned render will cost, before any of it is done
 * (src/pipe/cost.c).
 *
 * The planner knows the rectangle to decode and the sizes after scaling
 * and rotation; from them this estimates the work (pixels decoded plus
 * pixels produced) that decides whether a render is light enough to run
 * at once or must be admitted as a heavy one (serve/heavy.c), and the peak
 * memory it will hold, which is reserved against max_render_memory before
 * any pixel is allocated.  Pure: no I/O, no allocation.
 */
#ifndef TESSERA_COST_H
#define TESSERA_COST_H

#include <stdint.h>
#include "plan.h"

struct ts_render_cost {
	uint64_t pixels;   /* source pixels decoded + output pixels produced */
	uint64_t bytes;    /* peak bytes of pixel buffers held at once (an upper estimate) */
};

/*
 * Estimate the cost of rendering plan p from a source with `channels`
 * channels (1..4) whose decoder holds `decode_bytes` bytes per decoded
 * sample while it works (1 for 8-bit decoders writing straight into the
 * mosaic; OpenJPEG keeps 32-bit samples beside it: 5).  The stages hold
 * at most two images at once (the one read and the one made), and the
 * encoded answer beside the last: the peak is the largest such pair.
 * Saturates at UINT64_MAX instead of overflowing.
 */
void ts_plan_cost(const struct ts_plan *p, int channels, int decode_bytes,
                  struct ts_render_cost *out);

#endif
