/*
 * test_plan.c - the request planner: regions, sizes, upscaling and limits
 * per IIIF Image API version, pyramid level choice, exact crops for aligned
 * tiles, rotated bounding boxes and canonical parameters.  Most numbers are
 * the specification's own worked examples (a 300x200 image).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "check.h"
#include "tessera/arena.h"
#include "tessera/command.h"
#include "tessera/plan.h"
#include "tessera/status.h"

static struct ts_arena *arena;
static struct ts_error last_err;

static const struct ts_limits unlimited = { 0, 0, 0, false };
static const struct ts_limits upscaling = { 0, 0, 0, true };

static struct ts_geometry flat(uint32_t w, uint32_t h)
{
	struct ts_geometry g;
	memset(&g, 0, sizeof g);
	g.width = w, g.height = h, g.nlevels = 1;
	g.levels[0].width = w, g.levels[0].height = h;
	return g;
}

/* n levels, each floor- (or ceil-) halved from the previous one. */
static struct ts_geometry pyramid(uint32_t w, uint32_t h, int n, bool ceil_halve)
{
	struct ts_geometry g = flat(w, h);
	int i;
	g.nlevels = n;
	for (i = 1; i < n; i++) {
		uint32_t pw = g.levels[i - 1].width, ph = g.levels[i - 1].height;
		g.levels[i].width = ceil_halve ? (pw + 1) / 2 : pw / 2;
		g.levels[i].height = ceil_halve ? (ph + 1) / 2 : ph / 2;
	}
	return g;
}

/* Parse "/{version}/id/{params}" and plan it. */
static ts_status plan_v(int version, const char *params, const struct ts_geometry *g,
                        const struct ts_limits *lim, struct ts_plan *p)
{
	char path[512];
	struct ts_iiif_request r;
	ts_status st;

	snprintf(path, sizeof path, "/%d/id/%s", version, params);
	ts_error_clear(&last_err);
	st = ts_iiif_parse(path, 3, arena, &r, &last_err);
	EXPECT_EQ_INT(st, 0);
	if (st)
		return -1;
	st = ts_plan_make(&r.cmd, g, lim, p, &last_err);
	if (st) {
		EXPECT_EQ_INT(last_err.status, st);
		EXPECT(last_err.msg[0] != '\0');
	}
	return st;
}

static ts_status plan3(const char *params, const struct ts_geometry *g,
                       const struct ts_limits *lim, struct ts_plan *p)
{
	return plan_v(3, params, g, lim, p);
}

static ts_status plan2(const char *params, const struct ts_geometry *g,
                       const struct ts_limits *lim, struct ts_plan *p)
{
	return plan_v(2, params, g, lim, p);
}

#define EXPECT_REGION(p, x, y, w, h) do { \
	EXPECT_EQ_INT((p).region_x, x); EXPECT_EQ_INT((p).region_y, y); \
	EXPECT_EQ_INT((p).region_w, w); EXPECT_EQ_INT((p).region_h, h); } while (0)
#define EXPECT_OUT(p, w, h) do { \
	EXPECT_EQ_INT((p).out_w, w); EXPECT_EQ_INT((p).out_h, h); } while (0)
#define EXPECT_READ(p, x, y, w, h) do { \
	EXPECT_EQ_INT((p).read_x, x); EXPECT_EQ_INT((p).read_y, y); \
	EXPECT_EQ_INT((p).read_w, w); EXPECT_EQ_INT((p).read_h, h); } while (0)
#define EXPECT_CROP(p, x, y, w, h) do { \
	EXPECT((p).crop_x == (x)); EXPECT((p).crop_y == (y)); \
	EXPECT((p).crop_w == (w)); EXPECT((p).crop_h == (h)); } while (0)

/* ---- region -------------------------------------------------------- */

static void full_max_is_the_whole_image_at_level_0(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 0, 0, 300, 200);
	EXPECT_OUT(p, 300, 200);
	EXPECT_EQ_INT(p.final_w, 300);
	EXPECT_EQ_INT(p.final_h, 200);
	EXPECT_EQ_INT(p.level, 0);
	EXPECT_READ(p, 0, 0, 300, 200);
	EXPECT_CROP(p, 0.0, 0.0, 300.0, 200.0);
	EXPECT_EQ_INT(p.format, TS_FORMAT_JPG);
	EXPECT_EQ_INT(p.quality, TS_QUALITY_DEFAULT);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
}

static void spec_example_pixel_region_is_taken_as_given(void)
{
	/* 3.0 section 4.1 example 3: region=125,15,120,140. */
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("125,15,120,140/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 125, 15, 120, 140);
	EXPECT_OUT(p, 120, 140);
	EXPECT_READ(p, 125, 15, 120, 140);
	EXPECT_EQ_STR(p.canonical, "125,15,120,140/max/0/default.jpg");
}

static void spec_example_pct_region_equals_the_pixel_region(void)
{
	/* 3.0 section 4.1 example 4: pct:41.6,7.5,40,70 is the same area. */
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("pct:41.6,7.5,40,70/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 125, 15, 120, 140);
	EXPECT_EQ_STR(p.canonical, "125,15,120,140/max/0/default.jpg");
}

static void spec_example_regions_over_the_edge_are_cropped_to_175_by_185(void)
{
	/* 3.0 section 4.1 examples 5 and 6: "Returned image is 175,185 px". */
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("125,15,200,200/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 125, 15, 175, 185);
	EXPECT_OUT(p, 175, 185);
	EXPECT_EQ_INT(plan3("pct:41.6,7.5,66.6,100/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 125, 15, 175, 185);
	EXPECT_OUT(p, 175, 185);
}

static void region_clipped_at_the_edge_keeps_its_true_size(void)
{
	struct ts_geometry g = flat(1000, 800);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("950,750,100,100/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 950, 750, 50, 50);
	EXPECT_OUT(p, 50, 50);
	EXPECT_READ(p, 950, 750, 50, 50);
	EXPECT_EQ_INT(plan3("999,799,4294967295,4294967295/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 999, 799, 1, 1);
	EXPECT_EQ_INT(plan3("0,0,4294967295,4294967295/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 0, 0, 1000, 800);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
}

static void region_wholly_outside_the_image_is_400(void)
{
	struct ts_geometry g = flat(1000, 800);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("1000,0,10,10/max/0/default.jpg", &g, &unlimited, &p), 400);
	EXPECT_EQ_INT(plan3("0,800,10,10/max/0/default.jpg", &g, &unlimited, &p), 400);
	EXPECT_EQ_INT(plan3("4294967295,4294967295,1,1/max/0/default.jpg", &g, &unlimited, &p), 400);
	EXPECT_EQ_INT(plan3("pct:100,0,10,10/max/0/default.jpg", &g, &unlimited, &p), 400);
	EXPECT_EQ_INT(plan3("pct:0,100,10,10/max/0/default.jpg", &g, &unlimited, &p), 400);
	EXPECT_EQ_INT(plan2("pct:4000000000,0,1,1/full/0/default.jpg", &g, &unlimited, &p), 400);
}

static void square_region_is_centred_with_the_offset_rounded_down(void)
{
	struct ts_geometry wide = flat(301, 200), tall = flat(200, 301);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("square/max/0/default.jpg", &wide, &unlimited, &p), 0);
	EXPECT_REGION(p, 50, 0, 200, 200);
	EXPECT_EQ_STR(p.canonical, "50,0,200,200/max/0/default.jpg");
	EXPECT_EQ_INT(plan3("square/max/0/default.jpg", &tall, &unlimited, &p), 0);
	EXPECT_REGION(p, 0, 50, 200, 200);
}

static void square_of_a_square_image_is_canonically_full(void)
{
	/* 2.1 section 4.7: "including a square region of a square image". */
	struct ts_geometry g = flat(512, 512);
	struct ts_plan p;
	EXPECT_EQ_INT(plan2("square/full/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/full/0/default.jpg");
}

static void pct_0_0_100_100_is_exactly_the_full_image(void)
{
	struct ts_geometry g = flat(1001, 777);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("pct:0,0,100,100/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 0, 0, 1001, 777);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
	EXPECT_EQ_INT(plan3("pct:0,0,100.0001,1000/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 0, 0, 1001, 777);
}

static void a_tiny_pct_region_is_at_least_one_pixel(void)
{
	struct ts_geometry g = flat(100, 100);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("pct:50,50,0.0001,0.0001/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 50, 50, 1, 1);
	EXPECT_EQ_INT(plan3("pct:99.9,99.9,10,10/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_REGION(p, 99, 99, 1, 1);
}

static void adjacent_pct_regions_tile_without_gaps(void)
{
	struct ts_geometry g = flat(1001, 1001);
	struct ts_plan a, b;
	EXPECT_EQ_INT(plan3("pct:0,0,33.3,100/max/0/default.jpg", &g, &unlimited, &a), 0);
	EXPECT_EQ_INT(plan3("pct:33.3,0,33.3,100/max/0/default.jpg", &g, &unlimited, &b), 0);
	EXPECT_EQ_INT(a.region_x + a.region_w, b.region_x);
}

/* ---- size ---------------------------------------------------------- */

static void spec_size_examples_on_a_300_by_200_image(void)
{
	/* 3.0 section 4.2 examples. */
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/150,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 150, 100);
	EXPECT_EQ_INT(plan3("full/,150/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 225, 150);
	EXPECT_EQ_INT(plan3("full/pct:50/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 150, 100);
	EXPECT_EQ_INT(plan3("full/225,100/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 225, 100);
	EXPECT_EQ_INT(plan3("full/!225,100/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 150, 100);   /* "N.B. Returned image is 150,100 px" */
	EXPECT_EQ_INT(plan3("full/^360,/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 360, 240);
	EXPECT_EQ_INT(plan3("full/^,240/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 360, 240);
	EXPECT_EQ_INT(plan3("full/^360,360/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 360, 360);
	EXPECT_EQ_INT(plan3("full/^!360,360/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 360, 240);   /* "N.B. Returned image is 360,240 px" */
}

static void spec_order_example_scales_the_region_not_the_image(void)
{
	/* 3.0 section 4.6: .../125,15,120,140/90,/!345/gray.jpg */
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("125,15,120,140/90,/!345/gray.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 90, 105);
	EXPECT(p.mirror);
	EXPECT(p.degrees == 345.0);
	EXPECT_EQ_INT(p.quality, TS_QUALITY_GRAY);
	EXPECT_EQ_STR(p.canonical, "125,15,120,140/90,105/!345/gray.jpg");
}

static void a_computed_dimension_is_never_zero(void)
{
	struct ts_geometry g = flat(10000, 10);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/100,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 100, 1);
	EXPECT_EQ_INT(plan3("full/pct:1/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 100, 1);
	EXPECT_EQ_INT(plan3("full/!50,50/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 50, 1);
	EXPECT_EQ_INT(plan3("0,0,1,10/,1/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 1, 1);
}

static void version_3_upscaling_without_caret_is_400(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/301,/0/default.jpg", &g, &upscaling, &p), 400);
	EXPECT_EQ_INT(plan3("full/,201/0/default.jpg", &g, &upscaling, &p), 400);
	EXPECT_EQ_INT(plan3("full/pct:101/0/default.jpg", &g, &upscaling, &p), 400);
	EXPECT_EQ_INT(plan3("full/300,201/0/default.jpg", &g, &upscaling, &p), 400);
	EXPECT_EQ_INT(plan3("full/301,1/0/default.jpg", &g, &upscaling, &p), 400);
	EXPECT_EQ_INT(plan3("full/pct:100/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 300, 200);
	EXPECT_EQ_INT(plan3("full/300,200/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
}

static void version_3_caret_upscales_when_allowed(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/^301,/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 301, 201);
	EXPECT_EQ_INT(plan3("full/^pct:150/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 450, 300);
	EXPECT_EQ_STR(p.canonical, "full/^450,300/0/default.jpg");
	EXPECT_EQ_INT(p.level, 0);
	EXPECT_READ(p, 0, 0, 300, 200);
	EXPECT_CROP(p, 0.0, 0.0, 300.0, 200.0);
}

static void version_3_caret_upscale_is_501_when_upscaling_is_disabled(void)
{
	/* 3.0 section 4.2: "^pct:120 should result in a 501 status code if
	 * the server does not support upscaling". */
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/^pct:120/0/default.jpg", &g, &unlimited, &p), 501);
	EXPECT_EQ_INT(plan3("full/^301,/0/default.jpg", &g, &unlimited, &p), 501);
	EXPECT_EQ_INT(plan3("full/^300,201/0/default.jpg", &g, &unlimited, &p), 501);
	EXPECT_EQ_INT(plan3("full/^!1000,1000/0/default.jpg", &g, &unlimited, &p), 501);
}

static void version_3_caret_that_needs_no_upscaling_works_when_disabled(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/^150,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 150, 100);
	EXPECT_EQ_STR(p.canonical, "full/150,100/0/default.jpg");
	EXPECT_EQ_INT(plan3("full/^!100,100/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 100, 67);
	EXPECT_EQ_INT(plan3("full/^max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 300, 200);
}

static void version_3_fit_box_larger_than_the_image_returns_the_image_size(void)
{
	/* Field notes: "!w,h" larger than the image is not an error. */
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/!1000,1000/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 300, 200);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
	EXPECT_EQ_INT(plan3("full/!1000,100/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 150, 100);
	EXPECT_EQ_INT(plan3("full/^!1000,1000/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 1000, 667);
}

static void version_2_upscales_without_caret_when_allowed(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan2("full/600,/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 600, 400);
	EXPECT_EQ_STR(p.canonical, "full/600,/0/default.jpg");
	EXPECT_EQ_INT(plan2("full/pct:200/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 600, 400);
	EXPECT_EQ_INT(plan2("full/!1000,1000/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 1000, 667);
}

static void version_2_upscaling_is_501_when_disabled(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan2("full/600,/0/default.jpg", &g, &unlimited, &p), 501);
	EXPECT_EQ_INT(plan2("full/,201/0/default.jpg", &g, &unlimited, &p), 501);
	EXPECT_EQ_INT(plan2("full/pct:100.5/0/default.jpg", &g, &unlimited, &p), 501);
	EXPECT_EQ_INT(plan2("full/301,10/0/default.jpg", &g, &unlimited, &p), 501);
	/* ...but a fit box is only capped. */
	EXPECT_EQ_INT(plan2("full/!1000,1000/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 300, 200);
}

static void version_2_full_and_max_are_the_region_size(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan2("full/full/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 300, 200);
	EXPECT_EQ_STR(p.canonical, "full/full/0/default.jpg");
	EXPECT_EQ_INT(plan2("10,10,50,40/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 50, 40);
	EXPECT_EQ_STR(p.canonical, "10,10,50,40/full/0/default.jpg");
}

/* ---- limits -------------------------------------------------------- */

static void max_is_clamped_by_max_width(void)
{
	struct ts_geometry g = flat(6000, 4000);
	struct ts_limits lim = { 3000, 0, 0, false };
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 3000, 2000);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
	EXPECT_EQ_INT(plan2("full/max/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 3000, 2000);
	EXPECT_EQ_STR(p.canonical, "full/3000,/0/default.jpg");
}

static void max_is_clamped_by_max_height(void)
{
	struct ts_geometry g = flat(6000, 4000);
	struct ts_limits lim = { 0, 1000, 0, false };
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 1500, 1000);
}

static void max_is_clamped_by_max_area(void)
{
	/* The 3.0 section 5.2 example limits: 3000 x 2000, area 4,000,000. */
	struct ts_geometry g = flat(6000, 4000);
	struct ts_limits lim = { 3000, 2000, 4000000, false };
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 2449, 1633);
	EXPECT((uint64_t)p.out_w * p.out_h <= 4000000);
}

static void version_2_full_is_clamped_like_max(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_limits lim = { 200, 0, 0, false };
	struct ts_plan p;
	EXPECT_EQ_INT(plan2("full/full/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 200, 133);
	EXPECT_EQ_STR(p.canonical, "full/200,/0/default.jpg");
}

static void caret_max_scales_up_to_the_limits(void)
{
	/* 3.0 section 4.2 example: ^max "Assuming that the image has a
	 * maxWidth of 360px". */
	struct ts_geometry g = flat(300, 200);
	struct ts_limits lim = { 360, 0, 0, true };
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/^max/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 360, 240);
	EXPECT_EQ_STR(p.canonical, "full/^max/0/default.jpg");
	EXPECT_EQ_INT(plan3("full/^max/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_OUT(p, 300, 200);
	lim.allow_upscaling = false;
	EXPECT_EQ_INT(plan3("full/^max/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 300, 200);
}

static void an_explicit_size_over_a_limit_is_400_naming_the_limit(void)
{
	struct ts_geometry g = flat(6000, 4000);
	struct ts_limits lw = { 3000, 0, 0, false }, lh = { 0, 2000, 0, false };
	struct ts_limits la = { 0, 0, 4000000, false };
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/3001,/0/default.jpg", &g, &lw, &p), 400);
	EXPECT(strstr(last_err.msg, "maxWidth") != NULL);
	EXPECT_EQ_INT(plan3("full/3000,/0/default.jpg", &g, &lw, &p), 0);
	EXPECT_EQ_INT(plan3("full/,2001/0/default.jpg", &g, &lh, &p), 400);
	EXPECT(strstr(last_err.msg, "maxHeight") != NULL);
	EXPECT_EQ_INT(plan3("full/2500,2000/0/default.jpg", &g, &la, &p), 400);
	EXPECT(strstr(last_err.msg, "maxArea") != NULL);
	EXPECT_EQ_INT(plan3("full/2000,2000/0/default.jpg", &g, &la, &p), 0);
	EXPECT_EQ_INT(plan2("full/pct:60/0/default.jpg", &g, &lw, &p), 400);
	EXPECT(strstr(last_err.msg, "maxWidth") != NULL);
}

static void a_fit_box_is_clamped_to_the_limits_not_refused(void)
{
	struct ts_geometry g = flat(6000, 4000);
	struct ts_limits lim = { 3000, 0, 0, false };
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/!5000,5000/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 3000, 2000);
}

static void a_huge_upscale_is_400_not_an_overflow(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/^pct:4000000000/0/default.jpg", &g, &upscaling, &p), 400);
	EXPECT_EQ_INT(plan3("0,0,1,200/^4294967295,/0/default.jpg", &g, &upscaling, &p), 400);
}

static void max_size_helper_keeps_the_aspect_ratio(void)
{
	struct ts_limits l;
	uint32_t w, h;
	l = (struct ts_limits){ 3000, 0, 0, false };
	ts_plan_max_size(6000, 4000, &l, false, &w, &h);
	EXPECT_EQ_INT(w, 3000);
	EXPECT_EQ_INT(h, 2000);
	ts_plan_max_size(1000, 800, &l, false, &w, &h);
	EXPECT_EQ_INT(w, 1000);
	EXPECT_EQ_INT(h, 800);
	ts_plan_max_size(1000, 800, &l, true, &w, &h);
	EXPECT_EQ_INT(w, 3000);
	EXPECT_EQ_INT(h, 2400);
	ts_plan_max_size(1000, 800, NULL, true, &w, &h);
	EXPECT_EQ_INT(w, 1000);
	EXPECT_EQ_INT(h, 800);
	l = (struct ts_limits){ 0, 0, 1, false };
	ts_plan_max_size(6000, 4000, &l, false, &w, &h);
	EXPECT_EQ_INT(w, 1);
	EXPECT_EQ_INT(h, 1);
	l = (struct ts_limits){ 0, 0, 100, false };
	ts_plan_max_size(1000000, 1, &l, false, &w, &h);
	EXPECT_EQ_INT(w, 100);
	EXPECT_EQ_INT(h, 1);
	l = (struct ts_limits){ 0, 0, (uint64_t)1 << 62, true };
	ts_plan_max_size(1, 1, &l, true, &w, &h);
	EXPECT_EQ_INT(w, 2147483648u);
	EXPECT_EQ_INT(h, 2147483648u);
	ts_plan_max_size(0, 5, &l, true, &w, &h);
	EXPECT_EQ_INT(w, 0);
	EXPECT_EQ_INT(h, 5);
}

/* ---- pyramid levels ------------------------------------------------ */

static void level_choice_on_a_five_level_pyramid_with_odd_sizes(void)
{
	/* 10001x7777 floor-halved: 5000x3888, 2500x1944, 1250x972, 625x486. */
	struct ts_geometry g = pyramid(10001, 7777, 5, false);
	struct ts_plan p;
	EXPECT_EQ_INT(g.levels[4].width, 625);
	EXPECT_EQ_INT(g.levels[4].height, 486);
	EXPECT_EQ_INT(plan3("full/625,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_OUT(p, 625, 486);
	EXPECT_EQ_INT(p.level, 4);
	EXPECT_READ(p, 0, 0, 625, 486);
	EXPECT_CROP(p, 0.0, 0.0, 625.0, 486.0);
	EXPECT_EQ_INT(plan3("full/627,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 3);
	EXPECT_EQ_INT(plan3("full/1250,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 3);
	EXPECT_EQ_INT(plan3("full/5000,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_EQ_INT(plan3("full/5002,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 0);
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 0);
	EXPECT_EQ_INT(plan3("full/1,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 4);
	/* A 1024 tile at scale 4 from the middle. */
	EXPECT_EQ_INT(plan3("4096,4096,1024,1024/256,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 2);
	EXPECT_READ(p, 1024, 1024, 256, 256);
	EXPECT_CROP(p, 0.0, 0.0, 256.0, 256.0);
}

static void aligned_tile_maps_exactly_onto_stored_level_pixels(void)
{
	struct ts_geometry g = pyramid(1024, 1024, 3, false);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("512,0,512,512/256,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 256, 0, 256, 256);
	EXPECT_CROP(p, 0.0, 0.0, (double)p.read_w, (double)p.read_h);
	EXPECT_OUT(p, 256, 256);
	EXPECT_EQ_INT(plan3("full/256,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 2);
	EXPECT_READ(p, 0, 0, 256, 256);
	EXPECT_CROP(p, 0.0, 0.0, 256.0, 256.0);
	EXPECT_EQ_INT(plan3("256,256,256,256/256,256/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 0);
	EXPECT_READ(p, 256, 256, 256, 256);
	EXPECT_CROP(p, 0.0, 0.0, 256.0, 256.0);
}

static void openseadragon_edge_tile_reads_the_stored_tile_of_a_floor_halved_level(void)
{
	/* Full 1001x1001, levels 1001, 500, 250; OSD asks the edge tile at
	 * scale 2 as 768,768,233,233 with size ceil(233/2) = 117. */
	struct ts_geometry g = pyramid(1001, 1001, 3, false);
	struct ts_plan p;
	EXPECT_EQ_INT(g.levels[1].width, 500);
	EXPECT_EQ_INT(plan3("768,768,233,233/117,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 384, 384, 116, 116);
	EXPECT_CROP(p, 0.0, 0.0, 116.0, 116.0);
	EXPECT_OUT(p, 117, 117);   /* as requested (3.0 section 4.2) */
	/* The whole image at scale 4: region clipped to 1001, size 251. */
	EXPECT_EQ_INT(plan3("0,0,1024,1024/251,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 2);
	EXPECT_READ(p, 0, 0, 250, 250);
	/* An inner tile at scale 2 is exact. */
	EXPECT_EQ_INT(plan3("0,0,512,512/256,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 0, 0, 256, 256);
	EXPECT_CROP(p, 0.0, 0.0, 256.0, 256.0);
	/* The right-edge tile of the top row: 512,0,489,512 at 245,256. */
	EXPECT_EQ_INT(plan3("512,0,489,512/245,256/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 256, 0, 244, 256);
	EXPECT_CROP(p, 0.0, 0.0, 244.0, 256.0);
}

static void edge_tile_of_a_ceil_halved_level_reads_its_partial_pixel(void)
{
	/* Levels 1001, 501, 251, 126. */
	struct ts_geometry g = pyramid(1001, 1001, 4, true);
	struct ts_plan p;
	EXPECT_EQ_INT(g.levels[1].width, 501);
	EXPECT_EQ_INT(g.levels[3].width, 126);
	EXPECT_EQ_INT(plan3("768,768,233,233/117,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 384, 384, 117, 117);
	EXPECT_CROP(p, 0.0, 0.0, 116.5, 116.5);
	EXPECT_EQ_INT(plan3("full/126,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 3);
	EXPECT_READ(p, 0, 0, 126, 126);
	EXPECT_CROP(p, 0.0, 0.0, 125.125, 125.125);
}

static void a_level_that_lost_the_region_to_floor_halving_is_skipped(void)
{
	/* Pixel 1000 of a 1001 image is not in the 500 px level at all. */
	struct ts_geometry g = pyramid(1001, 1001, 3, false);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("1000,0,1,1/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 0);
	EXPECT_READ(p, 1000, 0, 1, 1);
	EXPECT_EQ_INT(plan3("998,0,2,2/1,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 499, 0, 1, 1);
	EXPECT_CROP(p, 0.0, 0.0, 1.0, 1.0);
}

static void a_level_of_no_integer_factor_is_mapped_by_its_ratio(void)
{
	struct ts_geometry g = flat(1000, 1000);
	struct ts_plan p;
	g.nlevels = 2;
	g.levels[1].width = 400, g.levels[1].height = 400;
	EXPECT_EQ_INT(plan3("500,0,500,500/200,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 200, 0, 200, 200);
	EXPECT_CROP(p, 0.0, 0.0, 200.0, 200.0);
	EXPECT_EQ_INT(plan3("1,0,10,10/4,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 0, 0, 5, 4);
	EXPECT(fabs(p.crop_x - 0.4) < 1e-12);
	EXPECT(fabs(p.crop_w - 4.0) < 1e-12);
}

static void an_unaligned_region_gets_a_fractional_crop(void)
{
	struct ts_geometry g = pyramid(1024, 1024, 3, false);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("3,0,100,100/50,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.level, 1);
	EXPECT_READ(p, 1, 0, 51, 50);
	EXPECT_CROP(p, 0.5, 0.0, 50.0, 50.0);
}

static void upscaling_reads_full_resolution(void)
{
	struct ts_geometry g = pyramid(1024, 1024, 3, false);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("0,0,100,100/^400,/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_EQ_INT(p.level, 0);
	EXPECT_READ(p, 0, 0, 100, 100);
	EXPECT_OUT(p, 400, 400);
}

static void an_inconsistent_geometry_is_500(void)
{
	struct ts_geometry g = flat(100, 100);
	struct ts_plan p;
	g.levels[0].width = 50;
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &unlimited, &p), 500);
	g = flat(0, 100);
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &unlimited, &p), 500);
	g = flat(100, 100);
	g.nlevels = 0;
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &unlimited, &p), 500);
	g = pyramid(100, 100, 2, false);
	g.levels[1].height = 0;
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &unlimited, &p), 500);
}

static void commands_from_other_parsers_are_checked_too(void)
{
	struct ts_geometry g = flat(100, 100);
	struct ts_image_cmd c;
	struct ts_plan p;
	struct ts_error e;
	memset(&c, 0, sizeof c);
	c.version = 3;
	c.region.kind = TS_REGION_PIXELS;
	c.region.x = 1.5, c.region.y = 0, c.region.w = 10, c.region.h = 10;
	c.size.kind = TS_SIZE_MAX;
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_plan_make(&c, &g, NULL, &p, &e), 400);
	c.region.kind = TS_REGION_FULL;
	c.size.kind = TS_SIZE_FULL;
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_plan_make(&c, &g, NULL, &p, &e), 400);
	c.version = 2;
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_plan_make(&c, &g, NULL, &p, &e), 0);
	c.size.kind = TS_SIZE_W;
	c.size.w = 0;
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_plan_make(&c, &g, NULL, &p, &e), 400);
	c.size.kind = TS_SIZE_MAX;
	c.rotation.degrees = 361;
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_plan_make(&c, &g, NULL, &p, &e), 400);
	c.rotation.degrees = NAN;
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_plan_make(&c, &g, NULL, &p, &e), 400);
}

/* ---- rotation ------------------------------------------------------ */

static void quarter_turns_swap_width_and_height(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/max/90/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 200);
	EXPECT_EQ_INT(p.final_h, 300);
	EXPECT_OUT(p, 300, 200);
	EXPECT_EQ_INT(plan3("full/max/180/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 300);
	EXPECT_EQ_INT(p.final_h, 200);
	EXPECT_EQ_INT(plan3("full/max/!270/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 200);
	EXPECT_EQ_INT(p.final_h, 300);
	EXPECT(p.mirror);
	EXPECT_EQ_INT(plan3("full/max/360/default.jpg", &g, &unlimited, &p), 0);
	EXPECT(p.degrees == 0.0);
	EXPECT_EQ_INT(p.final_w, 300);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
}

static void arbitrary_rotation_returns_the_bounding_box(void)
{
	struct ts_geometry g = flat(300, 200), sq = flat(100, 100), one = flat(1, 1);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/max/22.5/default.png", &g, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 354);   /* 353.70 */
	EXPECT_EQ_INT(p.final_h, 300);   /* 299.58 */
	EXPECT_EQ_INT(plan3("full/max/45/default.png", &sq, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 141);
	EXPECT_EQ_INT(p.final_h, 141);
	EXPECT_EQ_INT(plan3("full/max/315/default.png", &sq, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 141);
	EXPECT_EQ_INT(plan3("full/max/45/default.png", &one, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 1);
	EXPECT_EQ_INT(p.final_h, 1);
	EXPECT_EQ_INT(plan3("0,0,100,50/max/30/default.png", &sq, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 112);   /* 111.60 */
	EXPECT_EQ_INT(p.final_h, 93);    /* 93.30 */
	EXPECT_EQ_INT(plan3("full/max/0.0001/default.png", &sq, &unlimited, &p), 0);
	EXPECT_EQ_INT(p.final_w, 100);
}

/* ---- canonical ----------------------------------------------------- */

static void canonical_rotation_is_an_integer_or_a_trimmed_decimal(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/max/22.50/default.png", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/max/22.5/default.png");
	EXPECT_EQ_INT(plan3("full/max/.5/default.png", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/max/0.5/default.png");
	EXPECT_EQ_INT(plan3("full/max/090.000/default.png", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/max/90/default.png");
	EXPECT_EQ_INT(plan3("full/max/!0/color.webp", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/max/!0/color.webp");
	EXPECT_EQ_INT(plan2("full/full/!12.25/bitonal.tif", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/full/!12.25/bitonal.tif");
}

static void canonical_size_in_version_3_is_max_or_w_comma_h(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_limits lim = { 200, 0, 0, false };
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("full/150,/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/150,100/0/default.jpg");
	EXPECT_EQ_INT(plan3("full/pct:100/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
	EXPECT_EQ_INT(plan3("full/max/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_OUT(p, 200, 133);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
	EXPECT_EQ_INT(plan3("full/200,133/0/default.jpg", &g, &lim, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
	EXPECT_EQ_INT(plan3("full/^600,400/0/default.jpg", &g, &upscaling, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/^600,400/0/default.jpg");
}

static void canonical_size_in_version_2_is_full_or_w_comma(void)
{
	struct ts_geometry g = flat(300, 200), big = flat(800, 600);
	struct ts_plan p;
	/* 2.1 section 4.7 Link example: full/400,/0/default.jpg */
	EXPECT_EQ_INT(plan2("full/400,/0/default.jpg", &big, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/400,/0/default.jpg");
	EXPECT_EQ_INT(plan2("full/,300/0/default.jpg", &big, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/400,/0/default.jpg");
	EXPECT_EQ_INT(plan2("full/150,100/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/150,/0/default.jpg");
	EXPECT_EQ_INT(plan2("full/225,100/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/225,100/0/default.jpg");
	EXPECT_EQ_INT(plan2("full/!225,100/0/gray.png", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/150,/0/gray.png");
	EXPECT_EQ_INT(plan2("full/pct:100/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/full/0/default.jpg");
}

static void canonical_region_is_full_or_the_clipped_pixels(void)
{
	struct ts_geometry g = flat(300, 200);
	struct ts_plan p;
	EXPECT_EQ_INT(plan3("0,0,300,200/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "full/max/0/default.jpg");
	EXPECT_EQ_INT(plan3("125,15,200,200/max/0/default.jpg", &g, &unlimited, &p), 0);
	EXPECT_EQ_STR(p.canonical, "125,15,175,185/max/0/default.jpg");
	EXPECT_EQ_INT(plan3("4294967295,4294967295,4294967295,4294967295/max/360/bitonal.webp",
	                    &g, &unlimited, &p), 400);
}

int main(void)
{
	arena = ts_arena_create();
	if (!arena)
		return 2;
	RUN(full_max_is_the_whole_image_at_level_0);
	RUN(spec_example_pixel_region_is_taken_as_given);
	RUN(spec_example_pct_region_equals_the_pixel_region);
	RUN(spec_example_regions_over_the_edge_are_cropped_to_175_by_185);
	RUN(region_clipped_at_the_edge_keeps_its_true_size);
	RUN(region_wholly_outside_the_image_is_400);
	RUN(square_region_is_centred_with_the_offset_rounded_down);
	RUN(square_of_a_square_image_is_canonically_full);
	RUN(pct_0_0_100_100_is_exactly_the_full_image);
	RUN(a_tiny_pct_region_is_at_least_one_pixel);
	RUN(adjacent_pct_regions_tile_without_gaps);
	RUN(spec_size_examples_on_a_300_by_200_image);
	RUN(spec_order_example_scales_the_region_not_the_image);
	RUN(a_computed_dimension_is_never_zero);
	RUN(version_3_upscaling_without_caret_is_400);
	RUN(version_3_caret_upscales_when_allowed);
	RUN(version_3_caret_upscale_is_501_when_upscaling_is_disabled);
	RUN(version_3_caret_that_needs_no_upscaling_works_when_disabled);
	RUN(version_3_fit_box_larger_than_the_image_returns_the_image_size);
	RUN(version_2_upscales_without_caret_when_allowed);
	RUN(version_2_upscaling_is_501_when_disabled);
	RUN(version_2_full_and_max_are_the_region_size);
	RUN(max_is_clamped_by_max_width);
	RUN(max_is_clamped_by_max_height);
	RUN(max_is_clamped_by_max_area);
	RUN(version_2_full_is_clamped_like_max);
	RUN(caret_max_scales_up_to_the_limits);
	RUN(an_explicit_size_over_a_limit_is_400_naming_the_limit);
	RUN(a_fit_box_is_clamped_to_the_limits_not_refused);
	RUN(a_huge_upscale_is_400_not_an_overflow);
	RUN(max_size_helper_keeps_the_aspect_ratio);
	RUN(level_choice_on_a_five_level_pyramid_with_odd_sizes);
	RUN(aligned_tile_maps_exactly_onto_stored_level_pixels);
	RUN(openseadragon_edge_tile_reads_the_stored_tile_of_a_floor_halved_level);
	RUN(edge_tile_of_a_ceil_halved_level_reads_its_partial_pixel);
	RUN(a_level_that_lost_the_region_to_floor_halving_is_skipped);
	RUN(a_level_of_no_integer_factor_is_mapped_by_its_ratio);
	RUN(an_unaligned_region_gets_a_fractional_crop);
	RUN(upscaling_reads_full_resolution);
	RUN(an_inconsistent_geometry_is_500);
	RUN(commands_from_other_parsers_are_checked_too);
	RUN(quarter_turns_swap_width_and_height);
	RUN(arbitrary_rotation_returns_the_bounding_box);
	RUN(canonical_rotation_is_an_integer_or_a_trimmed_decimal);
	RUN(canonical_size_in_version_3_is_max_or_w_comma_h);
	RUN(canonical_size_in_version_2_is_full_or_w_comma);
	RUN(canonical_region_is_full_or_the_clipped_pixels);
	ts_arena_destroy(arena);
	return CHECK_DONE();
}
