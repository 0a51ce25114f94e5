/*
 * test_tree.c - what the tile-tree sinks share (src/convert/tree.c): the
 * band cutter hands every tile row once, in order, with its overlap rows,
 * whatever the builder's band heights, and keeps only a cropped area when
 * asked; a tree replaces an older one under the same name; a second name
 * given to an existing name replaces it without writing through the link.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "src/convert/tree.h"

struct seen {
	uint32_t next_trow, rows_ok, calls;
	uint32_t width;
};

/* Row y of the test level holds y in its first byte, y >> 8 in its second. */
static ts_status check_emit(void *arg, int level, uint32_t trow, uint32_t y0, uint32_t y1,
                            const uint8_t *rows, size_t stride, struct ts_error *err)
{
	struct seen *s = arg;

	(void)level;
	(void)err;
	if (trow == s->next_trow)
		s->next_trow++;
	for (uint32_t y = y0; y < y1; y++) {
		const uint8_t *r = rows + (size_t)(y - y0) * stride;
		if (r[0] == (uint8_t)y && r[1] == (uint8_t)(y >> 8))
			s->rows_ok++;
	}
	s->calls++;
	return TS_OK;
}

static void cut(uint32_t width, uint32_t height, uint32_t keep_w, uint32_t keep_h, uint32_t tile,
                uint32_t overlap, uint32_t band_h, uint32_t *calls, uint32_t *rows_ok)
{
	struct ts_tree_band b;
	struct ts_error e;
	struct ts_image lv;
	struct seen s = { 0, 0, 0, keep_w };

	ts_error_clear(&e);
	ts_image_alloc(&lv, width, height, 2, &e);
	for (uint32_t y = 0; y < height; y++)
		for (uint32_t x = 0; x < width; x++) {
			lv.pixels[y * lv.stride + x * 2] = (uint8_t)y;
			lv.pixels[y * lv.stride + x * 2 + 1] = (uint8_t)(y >> 8);
		}
	EXPECT_EQ_INT(ts_tree_band_init(&b, 0, keep_w, keep_h, 2, tile, overlap, &e), TS_OK);
	for (uint32_t y = 0; y < height; y += band_h) {
		struct ts_image band = lv;
		band.height = height - y < band_h ? height - y : band_h;
		band.pixels = lv.pixels + (size_t)y * lv.stride;
		EXPECT_EQ_INT(ts_tree_band_push(&b, y, &band, check_emit, &s, &e), TS_OK);
	}
	EXPECT(b.done);
	EXPECT_EQ_INT(s.next_trow, s.calls);   /* in order, each once */
	ts_tree_band_free(&b);
	ts_image_free(&lv);
	*calls = s.calls;
	*rows_ok = s.rows_ok;
}

static void every_tile_row_comes_once_with_its_overlap(void)
{
	uint32_t bands[] = { 1, 3, 256, 700 };

	for (size_t i = 0; i < 4; i++) {
		uint32_t calls, ok;
		/* 600 rows, tiles of 256 + 1: rows [0,257) [255,513) [511,600) */
		cut(10, 600, 10, 600, 256, 1, bands[i], &calls, &ok);
		EXPECT_EQ_INT(calls, 3);
		EXPECT_EQ_INT(ok, 257 + 258 + 89);
	}
}

static void a_cropped_level_stops_at_its_kept_height(void)
{
	uint32_t calls, ok;

	/* a Zoomify tier: 513 rows sent, 256 kept */
	cut(20, 513, 19, 256, 256, 0, 100, &calls, &ok);
	EXPECT_EQ_INT(calls, 1);
	EXPECT_EQ_INT(ok, 256);
}

static void rows_out_of_order_are_refused(void)
{
	struct ts_tree_band b;
	struct ts_error e;
	struct ts_image band;
	struct seen s = { 0, 0, 0, 4 };

	ts_error_clear(&e);
	ts_image_alloc(&band, 4, 2, 1, &e);
	memset(band.pixels, 0, 8);
	EXPECT_EQ_INT(ts_tree_band_init(&b, 0, 4, 10, 1, 4, 0, &e), TS_OK);
	EXPECT_EQ_INT(ts_tree_band_push(&b, 0, &band, check_emit, &s, &e), TS_OK);
	EXPECT_EQ_INT(ts_tree_band_push(&b, 5, &band, check_emit, &s, &e), TS_EINTERNAL);
	ts_tree_band_free(&b);
	ts_image_free(&band);
}

static void a_tree_replaces_an_older_one(void)
{
	char base[64], stage_file[300], old_file[300], *stage = NULL;
	struct ts_error e;
	struct stat sb;

	snprintf(base, sizeof base, "/tmp/ts-tree-%d", (int)getpid());
	snprintf(old_file, sizeof old_file, "%s/old.txt", base);
	mkdir(base, 0755);
	EXPECT_EQ_INT(ts_tree_write_file(old_file, "old", 3, &e), TS_OK);
	EXPECT_EQ_INT(ts_tree_stage_create(base, &stage, &e), TS_OK);
	EXPECT(stage && stat(stage, &sb) == 0 && (sb.st_mode & 0777) == 0755);
	snprintf(stage_file, sizeof stage_file, "%s/new.txt", stage);
	EXPECT_EQ_INT(ts_tree_write_file(stage_file, "new", 3, &e), TS_OK);
	EXPECT_EQ_INT(ts_tree_replace(stage, base, &e), TS_OK);
	EXPECT(access(old_file, F_OK) != 0);
	snprintf(stage_file, sizeof stage_file, "%s/new.txt", base);
	EXPECT(access(stage_file, F_OK) == 0);
	EXPECT(access(stage, F_OK) != 0);
	free(stage);
	ts_tree_remove(base);
	EXPECT(access(base, F_OK) != 0);
}

static void a_name_given_twice_keeps_the_bytes(void)
{
	char root[64], p[300];
	struct ts_error e;
	struct stat sb;

	snprintf(root, sizeof root, "/tmp/ts-tree-alias-%d", (int)getpid());
	mkdir(root, 0755);
	snprintf(p, sizeof p, "%s/a", root);
	EXPECT_EQ_INT(ts_tree_write_file(p, "first", 5, &e), TS_OK);
	EXPECT_EQ_INT(ts_tree_alias(root, "a", "b", &e), TS_OK);
	/* the same tile again, as the next level's last 1x1 tile */
	EXPECT_EQ_INT(ts_tree_write_file(p, "again", 5, &e), TS_OK);
	EXPECT_EQ_INT(ts_tree_alias(root, "a", "b", &e), TS_OK);
	EXPECT(stat(p, &sb) == 0 && sb.st_size == 5);
	snprintf(p, sizeof p, "%s/b", root);
	EXPECT(stat(p, &sb) == 0 && sb.st_size == 5);
	ts_tree_remove(root);
}

static void a_tile_view_borrows_its_columns_of_the_row(void)
{
	struct ts_tree_band b = { .channels = 3 };
	struct ts_tree_tile t;
	uint8_t rows[2 * 30] = { 0 };

	ts_tree_tile_view(&t, &b, rows, 30, 4, 10, 16, 18);
	EXPECT_EQ_INT(t.view.width, 6);
	EXPECT_EQ_INT(t.view.height, 2);
	EXPECT_EQ_INT(t.view.channels, 3);
	EXPECT_EQ_INT(t.view.stride, 30);
	EXPECT(t.view.pixels == rows + 12);
}

static void a_pyramid_ends_only_when_every_band_is_done(void)
{
	struct ts_tree_band b[2] = { { .done = true }, { .done = false } };
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_tree_bands_done(b, 1, &err), TS_OK);
	EXPECT_EQ_INT(ts_tree_bands_done(b, 2, &err), TS_EINTERNAL);
	EXPECT_EQ_STR(err.msg, "the pyramid ended before its last row");
}

static void the_tile_row_is_sized_for_the_widest_band(void)
{
	struct ts_tree_band b[3] = { { .width = 1000, .tile = 256 }, { .width = 500, .tile = 256 },
	                             { .width = 1, .tile = 256 } };
	struct ts_tree_tile *tiles = NULL;
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_tree_tiles_alloc(b + 1, 2, &tiles, &err), TS_OK);
	EXPECT(tiles != NULL);
	EXPECT_EQ_INT(tiles ? tiles[1].naliases : -1, 0);   /* two tiles, zeroed */
	free(tiles);
	EXPECT_EQ_INT(ts_tree_tiles_alloc(b, 3, &tiles, &err), TS_OK);
	EXPECT_EQ_INT(tiles ? tiles[3].naliases : -1, 0);   /* four tiles */
	free(tiles);
}

static void the_tile_format_follows_the_options(void)
{
	struct ts_convert_opts o;
	struct ts_tree_format f = { 0 };

	ts_convert_opts_default(&o);
	o.threads = 3;
	ts_tree_format_init(&f, &o);
	EXPECT(!f.png);
	EXPECT_EQ_INT(f.quality, 85);
	EXPECT_EQ_INT(f.threads, 3);
	o.compression = TS_COMP_PNG;
	o.quality = 0;
	ts_tree_format_init(&f, &o);
	EXPECT(f.png);
	EXPECT_EQ_INT(f.quality, 85);
}

int main(void)
{
	RUN(every_tile_row_comes_once_with_its_overlap);
	RUN(a_cropped_level_stops_at_its_kept_height);
	RUN(rows_out_of_order_are_refused);
	RUN(a_tree_replaces_an_older_one);
	RUN(a_name_given_twice_keeps_the_bytes);
	RUN(a_tile_view_borrows_its_columns_of_the_row);
	RUN(a_pyramid_ends_only_when_every_band_is_done);
	RUN(the_tile_format_follows_the_options);
	RUN(the_tile_row_is_sized_for_the_widest_band);
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
