/*
 * pipe.h - pixel operations between decoding and encoding (src/pipe/).
 *
 * Each takes an input image it only borrows and fills a new output image the
 * caller owns (or works in place where said).  All sizes are checked before
 * allocation.  Scaling uses an area (box-average, fractional edges) filter
 * for reductions and a bicubic interpolating filter for enlargement,
 * independently per axis; nearest-neighbour is never used.
 */
#ifndef TESSERA_PIPE_H
#define TESSERA_PIPE_H

#include <stdbool.h>
#include "image.h"
#include "command.h"
#include "status.h"

/* Resample the fractional rectangle (cx,cy,cw,ch) of `in` (in its pixel
 * coordinates, inside it) to out_w x out_h. Channels are preserved. */
ts_status ts_pipe_scale(const struct ts_image *in, double cx, double cy, double cw,
                        double ch, uint32_t out_w, uint32_t out_h,
                        struct ts_image *out, struct ts_error *err);

/* Let ts_pipe_scale use the CPU's SIMD instructions where it has them (on,
 * the default) or only its portable C loops (off), process-wide; the two
 * give identical pixels.  For tests and benchmarks.  Returns whether SIMD
 * is now in use (false on CPUs or builds without it). */
bool ts_pipe_scale_simd(bool on);

/* Mirror horizontally, in place (IIIF "!" rotation prefix). */
void ts_pipe_mirror(struct ts_image *img);

/* Rotate clockwise by `degrees` (0 <= d <= 360).  Multiples of 90 are exact
 * pixel transposes.  Other angles render onto a final_w x final_h canvas
 * (the bounding box computed by the planner) with bilinear sampling; the
 * uncovered background is transparent when `alpha_bg` (output gains an
 * alpha channel), otherwise white. */
ts_status ts_pipe_rotate(const struct ts_image *in, double degrees, uint32_t final_w,
                         uint32_t final_h, bool alpha_bg, struct ts_image *out,
                         struct ts_error *err);

/* Apply a IIIF quality: default/color keep the image; gray converts to
 * luminance (Rec. 601 weights), keeping alpha; bitonal thresholds gray at
 * 128 (values 0 or 255), keeping alpha.  The result replaces img. */
ts_status ts_pipe_quality(struct ts_image *img, enum ts_quality q, struct ts_error *err);

#endif
