/*
 * test_cost.c - the cost of a planned render: the pixels it decodes and
 * makes, and the largest pair of images (plus the encoded answer) alive at
 * once, for a tile, a scaled region, a rotation by any angle, and sizes
 * whose products overflow.
 */
#include <stdint.h>
#include "check.h"
#include "tessera/cost.h"

static struct ts_plan plan(uint32_t rw, uint32_t rh, uint32_t ow, uint32_t oh, uint32_t fw,
                           uint32_t fh, double degrees)
{
	struct ts_plan p = { 0 };

	p.read_w = rw;
	p.read_h = rh;
	p.out_w = ow;
	p.out_h = oh;
	p.final_w = fw;
	p.final_h = fh;
	p.degrees = degrees;
	return p;
}

static void a_tile_at_its_own_size_costs_its_pixels_twice(void)
{
	struct ts_plan p = plan(256, 256, 256, 256, 256, 256, 0);
	struct ts_render_cost c;

	ts_plan_cost(&p, 3, 1, &c);
	EXPECT_EQ_INT(c.pixels, 2 * 65536);
	EXPECT_EQ_INT(c.bytes, 2 * 65536 * 3);   /* the mosaic and its encoding */
}

static void scaling_holds_the_mosaic_and_the_scaled_image_together(void)
{
	struct ts_plan p = plan(4000, 3000, 1000, 750, 1000, 750, 0);
	struct ts_render_cost c;

	ts_plan_cost(&p, 3, 1, &c);
	EXPECT_EQ_INT(c.pixels, 4000ull * 3000 + 1000 * 750);
	EXPECT_EQ_INT(c.bytes, 4000ull * 3000 * 3 + 1000 * 750 * 3);
}

static void any_angle_adds_an_alpha_canvas(void)
{
	struct ts_plan p = plan(5000, 3750, 5000, 3750, 6188, 6188, 45);
	struct ts_render_cost c;

	ts_plan_cost(&p, 3, 1, &c);
	/* the rotated RGBA canvas beside its encoding is the largest pair */
	EXPECT_EQ_INT(c.bytes, 2ull * 6188 * 6188 * 4);
}

static void a_decoder_keeping_wide_samples_counts_them(void)
{
	struct ts_plan p = plan(1000, 1000, 1000, 1000, 1000, 1000, 0);
	struct ts_render_cost c;

	ts_plan_cost(&p, 3, 5, &c);
	EXPECT_EQ_INT(c.bytes, 1000ull * 1000 * 3 * 5);
}

static void sizes_that_overflow_saturate(void)
{
	struct ts_plan p = plan(UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
	                        UINT32_MAX, 30);
	struct ts_render_cost c;

	ts_plan_cost(&p, 4, 5, &c);
	EXPECT(c.bytes == UINT64_MAX);
	EXPECT(c.pixels >= (uint64_t)UINT32_MAX * UINT32_MAX);
}

int main(void)
{
	RUN(a_tile_at_its_own_size_costs_its_pixels_twice);
	RUN(scaling_holds_the_mosaic_and_the_scaled_image_together);
	RUN(any_angle_adds_an_alpha_canvas);
	RUN(a_decoder_keeping_wide_samples_counts_them);
	RUN(sizes_that_overflow_saturate);
	return CHECK_DONE();
}
