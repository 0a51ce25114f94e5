/*
 * test_pyramid.c - the pyramid builder (src/convert/pyramid.c): the level
 * geometry, the exact 2x2 box average, and whole pyramids built from a
 * synthetic row source that hands out bands of awkward heights, compared
 * level by level with a pyramid computed here the slow, obvious way.
 * Odd sizes 1x1, 257x1, 4097x2049 included.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tessera/convert.h"

/* ---- a synthetic source ----------------------------------------------- */

struct synth {
	struct ts_rows r;
	uint8_t *pix;          /* the whole image, for the reference */
	uint32_t y;
	uint32_t step;         /* hand out at most this many rows (0: as asked) */
	unsigned seed;
};

static ts_status synth_next(struct ts_rows *base, struct ts_image *band, uint32_t *got,
                            struct ts_error *err)
{
	struct synth *s = (struct synth *)base;
	uint32_t n = band->height, j;
	size_t rb = (size_t)base->width * base->channels;

	(void)err;
	if (s->step) {   /* short, irregular bands: 1..step rows */
		s->seed = s->seed * 1103515245u + 12345u;
		if (n > 1 + (s->seed >> 16) % s->step)
			n = 1 + (s->seed >> 16) % s->step;
	}
	if (n > base->height - s->y)
		n = base->height - s->y;
	for (j = 0; j < n; j++)
		memcpy(band->pixels + (size_t)j * band->stride, s->pix + (size_t)(s->y + j) * rb, rb);
	s->y += n;
	*got = n;
	return TS_OK;
}

static void synth_close(struct ts_rows *r) { (void)r; }

static void synth_init(struct synth *s, uint32_t w, uint32_t h, int ch, uint32_t step)
{
	size_t i, n = (size_t)w * h * ch;

	memset(s, 0, sizeof *s);
	s->r.width = w;
	s->r.height = h;
	s->r.channels = ch;
	s->r.orientation = 1;
	s->r.next = synth_next;
	s->r.close = synth_close;
	s->step = step;
	s->seed = w * 31u + h;
	s->pix = malloc(n);
	for (i = 0; i < n; i++)
		s->pix[i] = (uint8_t)((i * 2654435761u) >> 13);
}

/* ---- a sink that keeps every level whole ------------------------------- */

struct keep {
	struct ts_level_sink base;
	struct ts_pyramid_geometry g;
	uint8_t *lv[32];
	uint32_t next_y[32];
	int began, finished, aborted, out_of_order;
};

static ts_status keep_begin(struct ts_level_sink *b, const struct ts_pyramid_geometry *g,
                            const struct ts_rows *src, struct ts_error *err)
{
	struct keep *k = (struct keep *)b;
	int i;

	(void)src;
	(void)err;
	k->g = *g;
	for (i = 0; i < g->nlevels; i++)
		k->lv[i] = calloc((size_t)g->width[i] * g->height[i], (size_t)g->channels);
	k->began++;
	return TS_OK;
}

static ts_status keep_rows(struct ts_level_sink *b, int level, uint32_t y,
                           const struct ts_image *band, struct ts_error *err)
{
	struct keep *k = (struct keep *)b;
	size_t rb = (size_t)k->g.width[level] * k->g.channels;
	uint32_t j;

	(void)err;
	if (y != k->next_y[level] || band->width != k->g.width[level] ||
	    y + band->height > k->g.height[level])
		k->out_of_order++;
	for (j = 0; j < band->height && y + j < k->g.height[level]; j++)
		memcpy(k->lv[level] + (size_t)(y + j) * rb, band->pixels + (size_t)j * band->stride, rb);
	k->next_y[level] = y + band->height;
	return TS_OK;
}

static ts_status keep_finish(struct ts_level_sink *b, struct ts_error *err)
{
	(void)err;
	((struct keep *)b)->finished++;
	return TS_OK;
}

static void keep_abort(struct ts_level_sink *b) { ((struct keep *)b)->aborted++; }

static void keep_free(struct keep *k)
{
	int i;

	for (i = 0; i < 32; i++)
		free(k->lv[i]);
}

static void keep_init(struct keep *k)
{
	memset(k, 0, sizeof *k);
	k->base.begin = keep_begin;
	k->base.rows = keep_rows;
	k->base.finish = keep_finish;
	k->base.abort = keep_abort;
}

/* The next level of a (w x h) the obvious way: each output pixel the
 * rounded mean of its 2x2 block, clamped at the edges. */
static uint8_t *reference_halve(const uint8_t *a, uint32_t w, uint32_t h, int ch)
{
	uint32_t W = (w + 1) / 2, H = (h + 1) / 2, x, y;
	uint8_t *o = malloc((size_t)W * H * ch);
	int c;

	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			for (c = 0; c < ch; c++) {
				uint32_t x0 = 2 * x, x1 = 2 * x + 1 < w ? 2 * x + 1 : 2 * x;
				uint32_t y0 = 2 * y, y1 = 2 * y + 1 < h ? 2 * y + 1 : 2 * y;
				unsigned s = a[((size_t)y0 * w + x0) * ch + c] + a[((size_t)y0 * w + x1) * ch + c] +
				             a[((size_t)y1 * w + x0) * ch + c] + a[((size_t)y1 * w + x1) * ch + c];
				o[((size_t)y * W + x) * ch + c] = (uint8_t)((s + 2) / 4);
			}
	return o;
}

/* Build the pyramid of a w x h x ch synthetic image, bands of band_rows,
 * the source handing out at most `step` rows at once; 1 when every level
 * equals the reference. */
static int pyramid_matches(uint32_t w, uint32_t h, int ch, uint32_t stop, uint32_t band_rows,
                           uint32_t step)
{
	struct synth s;
	struct keep k;
	struct ts_pyramid_geometry g;
	struct ts_error err;
	uint8_t *ref, *next;
	int i, ok = 1;

	synth_init(&s, w, h, ch, step);
	keep_init(&k);
	ts_error_clear(&err);
	ts_pyramid_levels(w, h, stop, &g);
	g.channels = ch;
	if (ts_pyramid_build(&s.r, &g, band_rows, &k.base, NULL, "synthetic", &err) != TS_OK) {
		printf("    build failed: %s\n", err.msg);
		ok = 0;
	}
	ok = ok && k.began == 1 && k.finished == 1 && k.aborted == 0 && k.out_of_order == 0;
	ref = s.pix;
	for (i = 0; ok && i < g.nlevels; i++) {
		if (k.next_y[i] != g.height[i] ||
		    memcmp(k.lv[i], ref, (size_t)g.width[i] * g.height[i] * ch) != 0) {
			printf("    level %d (%ux%u) differs\n", i, g.width[i], g.height[i]);
			ok = 0;
		}
		if (i + 1 < g.nlevels) {
			next = reference_halve(ref, g.width[i], g.height[i], ch);
			if (ref != s.pix)
				free(ref);
			ref = next;
		}
	}
	if (ref != s.pix)
		free(ref);
	free(s.pix);
	keep_free(&k);
	return ok;
}

/* ---- the tests ------------------------------------------------------------ */

static void levels_halve_rounding_up_until_one_tile(void)
{
	struct ts_pyramid_geometry g;

	EXPECT_EQ_INT(ts_pyramid_levels(1, 1, 256, &g), 1);
	EXPECT_EQ_INT(ts_pyramid_levels(256, 256, 256, &g), 1);
	EXPECT_EQ_INT(ts_pyramid_levels(257, 1, 256, &g), 2);
	EXPECT_EQ_INT(g.width[1], 129);
	EXPECT_EQ_INT(g.height[1], 1);
	EXPECT_EQ_INT(ts_pyramid_levels(4097, 2049, 256, &g), 6);
	EXPECT_EQ_INT(g.width[5], 129);
	EXPECT_EQ_INT(g.height[5], 65);
	EXPECT_EQ_INT(g.width[1], 2049);
	EXPECT_EQ_INT(g.height[1], 1025);
}

static void levels_down_to_one_pixel_for_deepzoom(void)
{
	struct ts_pyramid_geometry g;

	/* 257 129 65 33 17 9 5 3 2 1 */
	EXPECT_EQ_INT(ts_pyramid_levels(257, 1, 1, &g), 10);
	EXPECT_EQ_INT(g.width[9], 1);
	EXPECT_EQ_INT(ts_pyramid_levels(4097, 2049, 1, &g), 14);
	EXPECT_EQ_INT(g.width[13], 1);
	EXPECT_EQ_INT(g.height[13], 1);
	EXPECT_EQ_INT(ts_pyramid_levels(0, 5, 1, &g), 0);
}

static void levels_stop_at_32_for_the_widest_images(void)
{
	struct ts_pyramid_geometry g;

	EXPECT(ts_pyramid_levels(0xFFFFFFFFu, 1, 1, &g) <= 32);
}

static void halving_is_the_exact_rounded_box_average(void)
{
	uint8_t a[9] = { 0, 1, 2, 255, 255, 255, 10, 20, 30 };
	uint8_t b[9] = { 1, 1, 1, 254, 255, 253, 11, 21, 31 };
	uint8_t o[6];

	ts_pyramid_halve_row(a, b, 3, 3, o);
	EXPECT_EQ_INT(o[0], (0 + 255 + 1 + 254 + 2) / 4);
	EXPECT_EQ_INT(o[1], (1 + 255 + 1 + 255 + 2) / 4);
	EXPECT_EQ_INT(o[2], (2 + 255 + 1 + 253 + 2) / 4);
	/* the odd last column is averaged with itself */
	EXPECT_EQ_INT(o[3], (2 * 10 + 2 * 11 + 2) / 4);
	EXPECT_EQ_INT(o[5], (2 * 30 + 2 * 31 + 2) / 4);
}

static void halving_a_flat_area_keeps_its_value(void)
{
	uint8_t a[64], o[32];
	int c, i;

	for (c = 1; c <= 4; c++) {
		memset(a, 77, sizeof a);
		ts_pyramid_halve_row(a, a, 16 / c * 1, c, o);
		for (i = 0; i < (16 / c + 1) / 2 * c; i++)
			EXPECT_EQ_INT(o[i], 77);
	}
}

static void one_pixel_image_is_one_level(void)
{
	EXPECT(pyramid_matches(1, 1, 3, 256, 0, 0));
	EXPECT(pyramid_matches(1, 1, 1, 1, 0, 0));
}

static void a_257x1_row_makes_every_level(void)
{
	EXPECT(pyramid_matches(257, 1, 3, 1, 0, 0));
	EXPECT(pyramid_matches(257, 1, 4, 16, 16, 0));
}

static void a_4097x2049_image_matches_the_reference_at_every_level(void)
{
	EXPECT(pyramid_matches(4097, 2049, 3, 256, 256, 0));
}

static void short_irregular_bands_carry_odd_rows_across(void)
{
	EXPECT(pyramid_matches(301, 517, 3, 1, 64, 7));
	EXPECT(pyramid_matches(64, 999, 2, 1, 32, 3));
	EXPECT(pyramid_matches(33, 33, 1, 1, 2, 1));
}

static void every_channel_count_builds(void)
{
	EXPECT(pyramid_matches(130, 77, 1, 16, 16, 0));
	EXPECT(pyramid_matches(130, 77, 2, 16, 16, 0));
	EXPECT(pyramid_matches(130, 77, 3, 16, 16, 0));
	EXPECT(pyramid_matches(130, 77, 4, 16, 16, 0));
}

static void a_geometry_that_is_not_the_sources_is_refused(void)
{
	struct synth s;
	struct keep k;
	struct ts_pyramid_geometry g;
	struct ts_error err;

	synth_init(&s, 100, 50, 3, 0);
	keep_init(&k);
	ts_error_clear(&err);
	ts_pyramid_levels(101, 50, 16, &g);
	g.channels = 3;
	EXPECT(ts_pyramid_build(&s.r, &g, 0, &k.base, NULL, "x", &err) != TS_OK);
	EXPECT_EQ_INT(k.began, 0);
	free(s.pix);
	keep_free(&k);
}

static void a_cancelled_build_stops_with_503_and_aborts_the_sink(void)
{
	struct synth s;
	struct keep k;
	struct ts_pyramid_geometry g;
	struct ts_convert_opts o;
	struct ts_error err;
	volatile int stop = 1;

	synth_init(&s, 100, 50, 3, 0);
	keep_init(&k);
	ts_error_clear(&err);
	ts_convert_opts_default(&o);
	o.cancel = &stop;
	ts_pyramid_levels(100, 50, 16, &g);
	g.channels = 3;
	EXPECT_EQ_INT(ts_pyramid_build(&s.r, &g, 16, &k.base, &o, "x", &err), TS_EUNAVAILABLE);
	EXPECT_EQ_INT(k.aborted, 1);
	EXPECT_EQ_INT(k.finished, 0);
	free(s.pix);
	keep_free(&k);
}

int main(void)
{
	RUN(levels_halve_rounding_up_until_one_tile);
	RUN(levels_down_to_one_pixel_for_deepzoom);
	RUN(levels_stop_at_32_for_the_widest_images);
	RUN(halving_is_the_exact_rounded_box_average);
	RUN(halving_a_flat_area_keeps_its_value);
	RUN(one_pixel_image_is_one_level);
	RUN(a_257x1_row_makes_every_level);
	RUN(a_4097x2049_image_matches_the_reference_at_every_level);
	RUN(short_irregular_bands_carry_odd_rows_across);
	RUN(every_channel_count_builds);
	RUN(a_geometry_that_is_not_the_sources_is_refused);
	RUN(a_cancelled_build_stops_with_503_and_aborts_the_sink);
	return CHECK_DONE();
}
