/*
 * test_sink_deepzoom.c - the DeepZoom sink, driven with a synthetic pyramid
 * the way the builder drives it: the .dzi is the server's document, every
 * tile the server would answer exists with the size the server gives it
 * (ts_deepzoom_tile_cmd), no other file exists, the pixels are the level's
 * within JPEG tolerance, and a failed or aborted run leaves nothing.
 */
#include <dirent.h>
#include <unistd.h>
#include "check.h"
#include "pyramid_fixture.h"
#include "tessera/buf.h"
#include "tessera/command.h"
#include "tessera/tileproto.h"

static char tmp[256];

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Convert a w x h x ch fixture to tmp/name and check everything. */
static void check_tree(const char *name, uint32_t w, uint32_t h, int ch, uint32_t tile,
                       uint32_t overlap, int png)
{
	struct fixture f;
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	char out[512], path[1024];
	int max, bad_size = 0, bad_pixels = 0, missing = 0;
	double worst = 0;

	fixture_make(&f, w, h, ch, 1);
	fixture_opts(&o, TS_CONVERT_DEEPZOOM);
	o.tile = tile;
	o.overlap = overlap;
	if (png)
		o.compression = TS_COMP_PNG;
	snprintf(out, sizeof out, "%s/%s.dzi", tmp, name);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_deepzoom_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(fixture_drive(&f, s, 37, &e), TS_OK);
	s->destroy(s);

	/* the document is the server's, byte for byte */
	{
		struct ts_deepzoom_request rq = { .route = TS_DZ_INFO, .info_kind = TS_DZ_XML };
		struct ts_buf want = TS_BUF_INIT;
		char got[1024] = {0};
		FILE *fp = fopen(out, "rb");
		ts_deepzoom_format_info(&rq, w, h, tile, overlap, png ? TS_FORMAT_PNG : TS_FORMAT_JPG,
		                        &want, NULL, &e);
		EXPECT(fp != NULL);
		if (fp) {
			size_t n = fread(got, 1, sizeof got - 1, fp);
			fclose(fp);
			EXPECT_EQ_INT(n, want.len);
			EXPECT(memcmp(got, want.data, want.len) == 0);
		}
		ts_buf_free(&want);
	}

	max = ts_deepzoom_max_level(w, h);
	for (int L = 0; L <= max; L++) {
		uint32_t lw, lh, nc, nr;
		const struct ts_image *lv = &f.level[max - L];

		ts_deepzoom_level_size(w, h, L, &lw, &lh);
		nc = (lw + tile - 1) / tile;
		nr = (lh + tile - 1) / tile;
		snprintf(path, sizeof path, "%s/%s_files/%d", tmp, name, L);
		EXPECT_EQ_INT(count_files(path), (int)(nc * nr));
		for (uint32_t r = 0; r < nr; r++)
			for (uint32_t c = 0; c < nc; c++) {
				struct ts_deepzoom_request rq = { .route = TS_DZ_TILE, .level = (uint32_t)L,
				                                  .col = c, .row = r };
				struct ts_image_cmd cmd;
				struct ts_image t;
				double d;

				ts_deepzoom_tile_cmd(&rq, w, h, tile, overlap, &cmd, &e);
				snprintf(path, sizeof path, "%s/%s_files/%d/%u_%u.%s", tmp, name, L, c, r,
				         png ? "png" : "jpg");
				if (fixture_read(path, &t) != 0) {
					missing++;
					continue;
				}
				if (t.width != cmd.size.w || t.height != cmd.size.h)
					bad_size++;
				d = fixture_diff(&t, lv, c ? c * tile - overlap : 0, r ? r * tile - overlap : 0);
				if (d > worst)
					worst = d;
				/* JPEG q90 4:4:4 on a pattern that turns to noise in the small levels */
				if (d > (png ? 0.0 : 10.0))
					bad_pixels++;
				ts_image_free(&t);
			}
	}
	if (missing || bad_size || bad_pixels)
		printf("    %s: %d missing, %d wrong sizes, %d off (worst mean diff %.2f)\n", name,
		       missing, bad_size, bad_pixels, worst);
	EXPECT_EQ_INT(missing, 0);
	EXPECT_EQ_INT(bad_size, 0);
	EXPECT_EQ_INT(bad_pixels, 0);
	/* no staging folder left beside the output */
	EXPECT_EQ_INT(count_files(tmp) >= 0, 1);
	fixture_free(&f);
}

static void one_pixel_image_has_one_level_of_one_tile(void)
{
	check_tree("one", 1, 1, 3, 256, 1, 0);
}

static void a_257x1_line_gets_two_columns_at_full_size(void)
{
	check_tree("line", 257, 1, 3, 256, 1, 0);
}

static void rgb_tiles_match_the_server_with_overlap(void)
{
	check_tree("rgb", 700, 517, 3, 256, 1, 0);
}

static void gray_tiles_and_a_larger_overlap(void)
{
	check_tree("gray", 513, 300, 1, 128, 3, 0);
}

static void rgba_tiles_as_png_keep_alpha_exactly(void)
{
	check_tree("rgba", 300, 290, 4, 256, 1, 1);
}

static void rgba_tiles_as_jpeg_are_flattened_on_white(void)
{
	check_tree("rgbaj", 300, 290, 4, 256, 0, 0);
}

static void nothing_but_the_tree_is_left_in_the_folder(void)
{
	/* every check_tree above left exactly NAME.dzi and NAME_files */
	EXPECT_EQ_INT(count_files(tmp), 12);
}

static void an_aborted_run_leaves_nothing(void)
{
	struct fixture f;
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	struct ts_image band;
	char out[512], path[600];

	fixture_make(&f, 600, 400, 3, 1);
	fixture_opts(&o, TS_CONVERT_DEEPZOOM);
	snprintf(out, sizeof out, "%s/aborted", tmp);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_deepzoom_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(s->begin(s, &f.g, NULL, &e), TS_OK);
	band = f.level[0];
	band.height = 300;
	EXPECT_EQ_INT(s->rows(s, 0, 0, &band, &e), TS_OK);
	/* a gap in the rows is refused */
	EXPECT_EQ_INT(s->rows(s, 0, 301, &band, &e), TS_EINTERNAL);
	s->abort(s);
	s->destroy(s);
	snprintf(path, sizeof path, "%s/aborted.dzi", tmp);
	EXPECT(!fixture_exists(path));
	snprintf(path, sizeof path, "%s/aborted_files", tmp);
	EXPECT(!fixture_exists(path));
	EXPECT_EQ_INT(count_files(tmp), 12);
	fixture_free(&f);
}

static void a_pyramid_that_stops_above_1x1_is_refused(void)
{
	struct fixture f;
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	char out[512];

	fixture_make(&f, 600, 400, 3, 256);
	fixture_opts(&o, TS_CONVERT_DEEPZOOM);
	snprintf(out, sizeof out, "%s/shallow.dzi", tmp);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_deepzoom_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(fixture_drive(&f, s, 16, &e), TS_EINTERNAL);
	s->destroy(s);
	EXPECT_EQ_INT(count_files(tmp), 12);
	fixture_free(&f);
}

static void converting_again_replaces_the_old_tree(void)
{
	check_tree("rgb", 300, 200, 3, 256, 1, 0);
	EXPECT_EQ_INT(count_files(tmp), 12);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/ts-dz-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(one_pixel_image_has_one_level_of_one_tile);
	RUN(a_257x1_line_gets_two_columns_at_full_size);
	RUN(rgb_tiles_match_the_server_with_overlap);
	RUN(gray_tiles_and_a_larger_overlap);
	RUN(rgba_tiles_as_png_keep_alpha_exactly);
	RUN(rgba_tiles_as_jpeg_are_flattened_on_white);
	RUN(nothing_but_the_tree_is_left_in_the_folder);
	RUN(an_aborted_run_leaves_nothing);
	RUN(a_pyramid_that_stops_above_1x1_is_refused);
	RUN(converting_again_replaces_the_old_tree);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("    could not remove %s\n", tmp);
	}
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
