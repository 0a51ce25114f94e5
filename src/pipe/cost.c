/*
 * cost.c - the work and peak memory of a planned render (contract in
 * include/tessera/cost.h).
 *
 * The pipeline (serve/image.c) decodes the read rectangle into a mosaic,
 * scales it to out_w x out_h when the sizes differ, rotates it onto the
 * final canvas (adding an alpha channel for transparent corners), and
 * encodes the result.  Each stage frees its input once its output exists,
 * so at most two images are alive at once; the encoded bytes grow beside
 * the last image (a PNG of noise is about its raw size, the worst case).
 */
#include "tessera/cost.h"

/* Saturating arithmetic: an estimate that overflows is "too much". */
static uint64_t mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t max2(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

void ts_plan_cost(const struct ts_plan *p, int channels, int decode_bytes,
                  struct ts_render_cost *out)
{
	uint64_t read_px = mul(p->read_w, p->read_h);
	uint64_t out_px = mul(p->out_w, p->out_h);
	uint64_t final_px = mul(p->final_w, p->final_h);
	uint64_t ch = channels < 1 ? 1 : channels > 4 ? 4 : (uint64_t)channels;
	uint64_t mosaic, scaled = 0, turned = 0, last, peak;
	bool scales = p->out_w != p->read_w || p->out_h != p->read_h;
	bool turns = p->degrees != 0 && p->degrees != 90 && p->degrees != 180 &&
	             p->degrees != 270 && p->degrees != 360;
	bool quarter = !turns && p->degrees != 0 && p->degrees != 360;

	out->pixels = add(read_px, final_px);
	/* The decoder may read a little past the rectangle (whole tiles,
	 * MCUs): the mosaic is counted at its full, unreduced size. */
	mosaic = mul(mul(read_px, ch), decode_bytes < 1 ? 1 : (uint64_t)decode_bytes);
	peak = mosaic;
	last = mul(read_px, ch);
	if (scales) {
		scaled = mul(out_px, ch);
		peak = max2(peak, add(last, scaled));
		last = scaled;
	}
	if (turns || quarter) {
		/* Any angle adds an alpha channel for the corners. */
		turned = mul(final_px, turns ? 4 : ch);
		peak = max2(peak, add(last, turned));
		last = turned;
	}
	/* The encoded answer beside the last image. */
	peak = max2(peak, add(last, last));
	out->bytes = peak;
}
