/*
 * scale_simd.h - the resampler's horizontal pass in SIMD (scale_x86.c),
 * private to src/pipe/.
 *
 * scale.c's horizontal pass computes, for every output sample, a
 * fixed-point sum of `taps` consecutive input pixels.  For three channels
 * and at most four taps (every reduction up to 2x, which is what a pyramid
 * leaves to the resampler, and the Catmull-Rom enlargement) this file does
 * the same sums with SSSE3 shuffles and multiply-adds, two rows at a time.
 * Integer sums are exact and do not depend on their order, so the results
 * are bit-identical to the C path's: tests/unit/pipe/test_scale.c checks it.
 */
#ifndef TESSERA_SCALE_SIMD_H
#define TESSERA_SCALE_SIMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one horizontal pass asks: input and output sample widths (1: uint8,
 * 2: int16), the Q14 sum's bias and right shift, and the clamp. */
struct ts_hpass_spec {
	int in_bytes, out_bytes;
	int32_t bias;
	int shift;
	bool clamp;          /* clamp to 0..top (negative weights) */
	int32_t top;
};

/*
 * Outputs [0, k) of nrows rows, three channels, taps <= 4: src points at
 * input column 0 of the first row, whose rows hold `limit` readable bytes
 * each; start[o] (input pixel) as scale.c's axis and w4[o * 4 ...] its
 * Q14 weights padded with zeros to four taps.
 * Returns k, the outputs done: those whose 16 or 32 byte loads stay inside
 * `limit` (the caller does the rest); 0 when the CPU lacks SSSE3 or the
 * build is not for x86-64.
 */
uint32_t ts_scale_hpass3_simd(const void *src, size_t src_stride, uint32_t nrows, size_t limit,
                              uint32_t n, const uint32_t *start, const int16_t *w4,
                              void *dst, size_t dst_stride, const struct ts_hpass_spec *spec);

/* Whether ts_scale_hpass3_simd does any work here (the CPU has SSSE3 and
 * the SIMD path is not switched off by ts_pipe_scale_simd). */
bool ts_scale_simd_active(void);

#endif
