/*
 * test_sink_zoomify.c - the Zoomify sink, driven with a synthetic pyramid:
 * ImageProperties.xml is the server's document, every tile the server
 * answers (ts_zoomify_tile_cmd, whose TileGroup is found by asking it)
 * exists with the server's size, every file written is one the server
 * answers, and the pixels are the ceil-halved level's within JPEG
 * tolerance (exactly, for PNG tiles).
 */
#include <dirent.h>
#include <unistd.h>
#include "check.h"
#include "pyramid_fixture.h"
#include "tessera/arena.h"
#include "tessera/buf.h"
#include "tessera/command.h"
#include "tessera/tileproto.h"

static char tmp[256];

/* Every file under root/TileGroup*: each must be a tile the server
 * answers.  Returns the count, or -1 on a stray file. */
static int walk_groups(const char *root, uint32_t w, uint32_t h, uint32_t ts)
{
	DIR *d = opendir(root), *g;
	struct dirent *de, *te;
	int n = 0;
	char path[1024];

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "ImageProperties.xml") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", root, de->d_name);
		if (!(g = opendir(path))) {
			n = -1;
			break;
		}
		while ((te = readdir(g))) {
			struct ts_zoomify_request rq;
			struct ts_image_cmd cmd;
			struct ts_error e;
			char url[600];
			struct ts_arena *a;

			if (te->d_name[0] == '.')
				continue;
			snprintf(url, sizeof url, "/id/%s/%s", de->d_name, te->d_name);
			a = ts_arena_create();
			ts_error_clear(&e);
			if (ts_zoomify_parse(url, 0, a, &rq, &e) != TS_OK ||
			    ts_zoomify_tile_cmd(&rq, w, h, ts, &cmd, &e) != TS_OK) {
				printf("    stray file %s\n", url);
				n = -100000;
			}
			ts_arena_destroy(a);
			n++;
		}
		closedir(g);
	}
	closedir(d);
	return n;
}

static void check_tree(const char *name, uint32_t w, uint32_t h, int ch, uint32_t tile, int png)
{
	struct fixture f;
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	char out[512], path[1024];
	uint32_t lw[40], lh[40];
	int n, missing = 0, bad_size = 0, bad_pixels = 0, expected = 0;
	double worst = 0;

	fixture_make(&f, w, h, ch, tile);
	fixture_opts(&o, TS_CONVERT_ZOOMIFY);
	o.tile = tile;
	if (png)
		o.compression = TS_COMP_PNG;
	snprintf(out, sizeof out, "%s/%s", tmp, name);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_zoomify_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(fixture_drive(&f, s, 29, &e), TS_OK);
	s->destroy(s);

	{
		struct ts_buf want = TS_BUF_INIT;
		char got[1024] = {0};
		FILE *fp;
		snprintf(path, sizeof path, "%s/ImageProperties.xml", out);
		fp = fopen(path, "rb");
		ts_zoomify_format_properties(w, h, tile, &want, &e);
		EXPECT(fp != NULL);
		if (fp) {
			size_t k = fread(got, 1, sizeof got - 1, fp);
			fclose(fp);
			EXPECT_EQ_INT(k, want.len);
			EXPECT(memcmp(got, want.data, want.len) == 0);
		}
		ts_buf_free(&want);
	}

	n = ts_zoomify_levels(w, h, tile, lw, lh, 40);
	for (int z = 0; z < n; z++) {
		/* every tile OpenSeadragon asks for: its grid is ceil(W/2^k) long,
		 * one column or row past the floor grid on some sizes, and the
		 * server answers those too (the clipped edge) */
		int k = n - 1 - z;
		uint32_t ew = (uint32_t)(((uint64_t)w + (1u << k) - 1) >> k);
		uint32_t eh = (uint32_t)(((uint64_t)h + (1u << k) - 1) >> k);
		const struct ts_image *lv = &f.level[n - 1 - z];
		(void)lw;
		(void)lh;
		for (uint32_t y = 0; y < (eh + tile - 1) / tile; y++)
			for (uint32_t x = 0; x < (ew + tile - 1) / tile; x++) {
				struct ts_zoomify_request rq = { .route = TS_ZOOMIFY_TILE, .z = (uint32_t)z,
				                                 .x = x, .y = y };
				struct ts_image_cmd cmd;
				struct ts_image t;
				double d;
				uint32_t grp;

				/* the server knows the group: ask it */
				for (grp = 0; grp < 100000; grp++) {
					rq.group = grp;
					if (ts_zoomify_tile_cmd(&rq, w, h, tile, &cmd, &e) == TS_OK)
						break;
				}
				expected++;
				snprintf(path, sizeof path, "%s/TileGroup%u/%d-%u-%u.%s", out, grp, z, x, y,
				         png ? "png" : "jpg");
				if (fixture_read(path, &t) != 0) {
					missing++;
					continue;
				}
				if (t.width != cmd.size.w || t.height != cmd.size.h)
					bad_size++;
				d = fixture_diff(&t, lv, x * tile, y * tile);
				if (d > worst)
					worst = d;
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
	EXPECT_EQ_INT(walk_groups(out, w, h, tile), expected);
	fixture_free(&f);
}

static void one_pixel_image_is_one_tier_of_one_tile(void)
{
	check_tree("one", 1, 1, 3, 256, 0);
}

static void a_257x1_line_floors_to_a_zero_high_tier(void)
{
	check_tree("line", 257, 1, 3, 256, 1);
}

static void a_side_just_over_a_power_of_two_has_the_clipped_edge_column(void)
{
	/* 513 / 2 = 256: one column at tier 0 on the floor grid, where the ceil
	 * level has 257 and OpenSeadragon asks for a second, one pixel wide */
	check_tree("edge", 513, 300, 3, 256, 1);
}

static void rgb_jpeg_tiles_match_the_server(void)
{
	check_tree("rgb", 1100, 700, 3, 256, 0);
}

static void gray_and_rgba_tiles(void)
{
	check_tree("gray", 700, 333, 1, 128, 0);
	check_tree("rgba", 300, 520, 4, 256, 1);
}

static void more_than_256_tiles_spill_into_a_second_group(void)
{
	/* 64-pixel tiles: the full tier alone has 34 x 18 = 612 tiles */
	check_tree("groups", 2125, 1100, 3, 64, 1);
	{
		char path[600];
		snprintf(path, sizeof path, "%s/groups/TileGroup2", tmp);
		EXPECT(fixture_exists(path));
	}
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/ts-zoomify-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(one_pixel_image_is_one_tier_of_one_tile);
	RUN(a_257x1_line_floors_to_a_zero_high_tier);
	RUN(a_side_just_over_a_power_of_two_has_the_clipped_edge_column);
	RUN(rgb_jpeg_tiles_match_the_server);
	RUN(gray_and_rgba_tiles);
	RUN(more_than_256_tiles_spill_into_a_second_group);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("    could not remove %s\n", tmp);
	}
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
