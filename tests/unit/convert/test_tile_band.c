/*
 * test_tile_band.c - level-0 rows gathered a tile row at a time for the
 * JPEG 2000 sinks (src/convert/tile_band.c): the tile grid is counted and
 * bounded at begin, rows of other levels are ignored, and every tile row
 * (the short last one included) is flushed once, in order.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "src/convert/tile_band.h"

struct flushes {
	struct ts_tile_band *b;
	uint32_t n, y0[8], have[8];
	uint8_t first[8];
};

static ts_status record(void *ctx, struct ts_error *err)
{
	struct flushes *f = ctx;

	(void)err;
	if (f->n < 8) {
		f->y0[f->n] = f->b->y0;
		f->have[f->n] = f->b->have;
		f->first[f->n] = f->b->rows[0];
	}
	f->n++;
	return TS_OK;
}

static void geometry(struct ts_pyramid_geometry *g, uint32_t w, uint32_t h, int ch)
{
	memset(g, 0, sizeof *g);
	g->nlevels = 1;
	g->width[0] = w;
	g->height[0] = h;
	g->channels = ch;
}

static void begin_counts_the_tiles_across_and_down(void)
{
	struct ts_pyramid_geometry g;
	struct ts_tile_band b;
	struct ts_error err;
	uint32_t ntx = 0, nty = 0;

	geometry(&g, 100, 33, 3);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_tile_band_begin(&b, &g, 32, &ntx, &nty, &err), TS_OK);
	EXPECT_EQ_INT(ntx, 4);
	EXPECT_EQ_INT(nty, 2);
	EXPECT_EQ_INT(b.stride, 300);
	ts_tile_band_free(&b);
}

static void begin_refuses_more_than_65535_tiles_and_bad_geometry(void)
{
	struct ts_pyramid_geometry g;
	struct ts_tile_band b;
	struct ts_error err;
	uint32_t ntx, nty;

	geometry(&g, 256 * 64, 256 * 1025, 1);    /* 65600 tiles of 64 */
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_tile_band_begin(&b, &g, 64, &ntx, &nty, &err), TS_EBADREQUEST);
	geometry(&g, 10, 10, 5);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_tile_band_begin(&b, &g, 64, &ntx, &nty, &err), TS_EINTERNAL);
	EXPECT_EQ_STR(err.msg, "invalid pyramid geometry");
}

static void rows_flush_a_tile_row_at_a_time_and_skip_other_levels(void)
{
	struct ts_pyramid_geometry g;
	struct ts_tile_band b;
	struct ts_image band;
	struct ts_error err;
	struct flushes f = { 0 };
	uint32_t ntx, nty, y;

	geometry(&g, 8, 10, 1);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_tile_band_begin(&b, &g, 4, &ntx, &nty, &err), TS_OK);
	f.b = &b;
	EXPECT_EQ_INT(ts_image_alloc(&band, 8, 3, 1, &err), TS_OK);
	/* a level-1 band is ignored, whatever its size */
	EXPECT_EQ_INT(ts_tile_band_add(&b, 1, 0, &band, record, &f, &err), TS_OK);
	for (y = 0; y < 10; y += 3) {
		band.height = y + 3 <= 10 ? 3 : 10 - y;
		for (uint32_t r = 0; r < band.height; r++)
			memset(band.pixels + (size_t)r * band.stride, (int)(y + r), 8);
		EXPECT_EQ_INT(ts_tile_band_add(&b, 0, y, &band, record, &f, &err), TS_OK);
	}
	EXPECT_EQ_INT(f.n, 3);
	EXPECT_EQ_INT(f.y0[0], 0);
	EXPECT_EQ_INT(f.have[0], 4);
	EXPECT_EQ_INT(f.y0[1], 4);
	EXPECT_EQ_INT(f.first[1], 4);
	EXPECT_EQ_INT(f.y0[2], 8);
	EXPECT_EQ_INT(f.have[2], 2);
	band.height = 3;
	ts_image_free(&band);
	ts_tile_band_free(&b);
}

int main(void)
{
	RUN(begin_counts_the_tiles_across_and_down);
	RUN(begin_refuses_more_than_65535_tiles_and_bad_geometry);
	RUN(rows_flush_a_tile_row_at_a_time_and_skip_other_levels);
	return CHECK_DONE();
}
