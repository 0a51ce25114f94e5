/*
 * test_zoomify.c - Zoomify URLs, the pyramid as OpenSeadragon computes it,
 * TileGroup numbering across a group boundary, ImageProperties.xml, and the
 * property that every tile maps inside the image with its exact size.
 */
#include "check.h"
#include "tessera/arena.h"
#include "tessera/tileproto.h"

static struct ts_arena *A;

static ts_status parse(const char *path, unsigned flags, struct ts_zoomify_request *rq)
{
	struct ts_error err;
	ts_error_clear(&err);
	ts_status st = ts_zoomify_parse(path, flags, A, rq, &err);
	EXPECT_EQ_INT(err.status, st);
	return st;
}

static ts_status tile(uint32_t w, uint32_t h, uint32_t g, uint32_t z, uint32_t x, uint32_t y,
                      struct ts_image_cmd *cmd)
{
	struct ts_zoomify_request rq = { .route = TS_ZOOMIFY_TILE, .group = g, .z = z,
	                                 .x = x, .y = y, .format = TS_FORMAT_JPG };
	struct ts_error err;
	ts_error_clear(&err);
	return ts_zoomify_tile_cmd(&rq, w, h, 256, cmd, &err);
}

static void levels_floor_halve_until_one_tile(void)
{
	uint32_t lw[40], lh[40];
	EXPECT_EQ_INT(ts_zoomify_levels(1001, 751, 256, lw, lh, 40), 3);
	EXPECT_EQ_INT(lw[0], 250);
	EXPECT_EQ_INT(lh[0], 187);
	EXPECT_EQ_INT(lw[1], 500);
	EXPECT_EQ_INT(lh[1], 375);
	EXPECT_EQ_INT(lw[2], 1001);
	EXPECT_EQ_INT(lh[2], 751);

	static const uint32_t want[6][2] = {
		{188, 105}, {376, 211}, {753, 423}, {1507, 847}, {3014, 1695}, {6028, 3391}
	};
	EXPECT_EQ_INT(ts_zoomify_levels(6028, 3391, 256, lw, lh, 40), 6);
	for (int i = 0; i < 6; i++) {
		EXPECT_EQ_INT(lw[i], want[i][0]);
		EXPECT_EQ_INT(lh[i], want[i][1]);
	}
	EXPECT_EQ_INT(ts_zoomify_levels(256, 256, 256, lw, lh, 40), 1);
	EXPECT_EQ_INT(ts_zoomify_levels(257, 1, 256, lw, lh, 40), 2);
	EXPECT_EQ_INT(lw[0], 128);
	EXPECT_EQ_INT(lh[0], 0);   /* OpenSeadragon floors to 0 too */
	EXPECT_EQ_INT(ts_zoomify_levels(1, 1, 256, lw, lh, 40), 1);
}

static void numtiles_counts_every_level(void)
{
	EXPECT_EQ_INT(ts_zoomify_num_tiles(1001, 751, 256), 1 + 4 + 12);
	EXPECT_EQ_INT(ts_zoomify_num_tiles(6028, 3391, 256), 1 + 2 + 6 + 24 + 84 + 336);
	EXPECT_EQ_INT(ts_zoomify_num_tiles(1, 1, 256), 1);
	EXPECT_EQ_INT(ts_zoomify_num_tiles(256, 256, 256), 1);
	EXPECT_EQ_INT(ts_zoomify_num_tiles(257, 1, 256), 2 + 0);
}

static void image_properties_xml_is_exact(void)
{
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_zoomify_format_properties(6028, 3391, 256, &b, &err), 0);
	EXPECT(ts_buf_append(&b, "", 1));
	EXPECT_EQ_STR((char *)b.data,
		"<IMAGE_PROPERTIES WIDTH=\"6028\" HEIGHT=\"3391\" NUMTILES=\"453\" "
		"NUMIMAGES=\"1\" VERSION=\"1.8\" TILESIZE=\"256\" />\n");
	ts_buf_free(&b);
}

static void tile_group_changes_at_the_256th_tile(void)
{
	struct ts_image_cmd c;
	/* 117 tiles in levels 0-4; level 5 is 24 x 14 tiles: index 255 is
	 * (18,5) and index 256 is (19,5). */
	EXPECT_EQ_INT(tile(6028, 3391, 0, 5, 18, 5, &c), 0);
	EXPECT_EQ_INT(tile(6028, 3391, 1, 5, 18, 5, &c), 404);
	EXPECT_EQ_INT(tile(6028, 3391, 1, 5, 19, 5, &c), 0);
	EXPECT_EQ_INT(tile(6028, 3391, 0, 5, 19, 5, &c), 404);
	EXPECT_EQ_INT(tile(6028, 3391, 1, 5, 23, 13, &c), 0);
	EXPECT_EQ_INT(tile(6028, 3391, 0, 4, 11, 6, &c), 0);
	EXPECT_EQ_INT(tile(6028, 3391, 0, 0, 0, 0, &c), 0);
	EXPECT_EQ_INT(tile(6028, 3391, 1, 0, 0, 0, &c), 404);
}

static void tiles_map_to_full_resolution_regions_with_exact_sizes(void)
{
	struct ts_image_cmd c;
	EXPECT_EQ_INT(tile(6028, 3391, 1, 5, 23, 13, &c), 0);
	EXPECT_EQ_INT(c.version, 3);
	EXPECT_EQ_INT(c.region.kind, TS_REGION_PIXELS);
	EXPECT_EQ_INT(c.region.x, 5888);
	EXPECT_EQ_INT(c.region.y, 3328);
	EXPECT_EQ_INT(c.region.w, 140);
	EXPECT_EQ_INT(c.region.h, 63);
	EXPECT_EQ_INT(c.size.kind, TS_SIZE_WH);
	EXPECT(c.size.upscale);
	EXPECT_EQ_INT(c.size.w, 140);
	EXPECT_EQ_INT(c.size.h, 63);
	/* level 4 is 3014 x 1695 at half resolution */
	EXPECT_EQ_INT(tile(6028, 3391, 0, 4, 11, 6, &c), 0);
	EXPECT_EQ_INT(c.region.x, 5632);
	EXPECT_EQ_INT(c.region.w, 396);
	EXPECT_EQ_INT(c.region.y, 3072);
	EXPECT_EQ_INT(c.region.h, 318);
	EXPECT_EQ_INT(c.size.w, 198);
	EXPECT_EQ_INT(c.size.h, 159);
	/* level 0 (188 x 105) is the whole image, 32 times smaller */
	EXPECT_EQ_INT(tile(6028, 3391, 0, 0, 0, 0, &c), 0);
	EXPECT_EQ_INT(c.region.w, 6016);
	EXPECT_EQ_INT(c.region.h, 3360);
	EXPECT_EQ_INT(c.size.w, 188);
	EXPECT_EQ_INT(c.size.h, 105);
}

static void out_of_range_z_x_y_are_404(void)
{
	struct ts_image_cmd c;
	EXPECT_EQ_INT(tile(6028, 3391, 1, 6, 0, 0, &c), 404);
	EXPECT_EQ_INT(tile(6028, 3391, 1, 5, 24, 0, &c), 404);
	EXPECT_EQ_INT(tile(6028, 3391, 1, 5, 0, 14, &c), 404);
	EXPECT_EQ_INT(tile(6028, 3391, 0, 0, 1, 0, &c), 404);
	EXPECT_EQ_INT(tile(1, 1, 0, 1, 0, 0, &c), 404);
	EXPECT_EQ_INT(tile(1, 1, 0, 0, 0, 0, &c), 0);
	EXPECT_EQ_INT(c.size.w, 1);
}

static void thin_image_level_that_floors_to_zero_is_served_one_pixel_high(void)
{
	struct ts_image_cmd c;
	EXPECT_EQ_INT(tile(257, 1, 0, 0, 0, 0, &c), 0);
	EXPECT_EQ_INT(c.size.w, 128);
	EXPECT_EQ_INT(c.size.h, 1);
	EXPECT_EQ_INT(c.region.w, 256);
	EXPECT_EQ_INT(c.region.h, 1);
}

static void properties_and_tile_urls_parse(void)
{
	struct ts_zoomify_request rq;
	EXPECT_EQ_INT(parse("/abc/ImageProperties.xml", 0, &rq), 0);
	EXPECT_EQ_INT(rq.route, TS_ZOOMIFY_PROPERTIES);
	EXPECT_EQ_STR(rq.identifier, "abc");
	EXPECT_EQ_INT(parse("/a%2Fb.tif/TileGroup12/5-19-5.jpg", 0, &rq), 0);
	EXPECT_EQ_INT(rq.route, TS_ZOOMIFY_TILE);
	EXPECT_EQ_STR(rq.identifier, "a/b.tif");
	EXPECT_EQ_INT(rq.group, 12);
	EXPECT_EQ_INT(rq.z, 5);
	EXPECT_EQ_INT(rq.x, 19);
	EXPECT_EQ_INT(rq.y, 5);
	EXPECT_EQ_INT(rq.format, TS_FORMAT_JPG);
	EXPECT_EQ_INT(parse("/x/TileGroup0/0-0-0.png", 0, &rq), 0);
	EXPECT_EQ_INT(rq.format, TS_FORMAT_PNG);
	EXPECT_EQ_INT(parse("/a/b/ImageProperties.xml", TS_TILEPROTO_ALLOW_SLASH, &rq), 0);
	EXPECT_EQ_STR(rq.identifier, "a/b");
	EXPECT_EQ_INT(parse("/a/b/TileGroup0/0-0-0.jpg", TS_TILEPROTO_ALLOW_SLASH, &rq), 0);
	EXPECT_EQ_STR(rq.identifier, "a/b");
}

static void malformed_routes_are_404_and_bad_escapes_400(void)
{
	struct ts_zoomify_request rq;
	static const char *const notfound[] = {
		"", "/", "/abc", "/ImageProperties.xml", "//ImageProperties.xml",
		"/abc/imageproperties.xml", "/abc/ImageProperties.xml/", "/a/b/ImageProperties.xml",
		"/abc/TileGroupX/0-0-0.jpg", "/abc/TileGroup/0-0-0.jpg", "/abc/TileGroup0/0-0.jpg",
		"/abc/TileGroup0/0-0-0.gif", "/abc/TileGroup0/0-0-0", "/abc/TileGroup0/0-0-00.jpg",
		"/abc/TileGroup0/0--0-0.jpg", "/abc/TileGroup0/-0-0.jpg", "/abc/tilegroup0/0-0-0.jpg",
		"/TileGroup0/0-0-0.jpg", "//TileGroup0/0-0-0.jpg", "/abc/TileGroup01/0-0-0.jpg",
		"/a/b/TileGroup0/0-0-0.jpg", "/abc/TileGroup0/0-0-0-0.jpg", "abc/ImageProperties.xml",
	};
	for (size_t i = 0; i < sizeof notfound / sizeof notfound[0]; i++) {
		ts_status st = parse(notfound[i], 0, &rq);
		if (st != 404)
			printf("    %s -> %d\n", notfound[i], st);
		EXPECT_EQ_INT(st, 404);
	}
	EXPECT_EQ_INT(parse("/%zz/ImageProperties.xml", 0, &rq), 400);
	EXPECT_EQ_INT(parse("/%zz/TileGroup0/0-0-0.jpg", 0, &rq), 400);
}

/* Every tile of every level, with the group the viewer computes: region
 * inside the image and not empty, sizes adding up to the level width, and
 * the previous tile's region ending where the next one starts. */
static void every_tile_of_every_level_is_inside_and_exact(void)
{
	static const uint32_t sizes[][2] = {
		{1, 1}, {2, 1}, {256, 256}, {257, 1}, {1, 257}, {513, 300}, {1001, 751},
		{6028, 3391}, {100000, 1}, {4097, 4097},
	};
	static const uint32_t tss[] = { 256, 254, 64 };
	long checked = 0;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
	for (size_t t = 0; t < sizeof tss / sizeof tss[0]; t++) {
		uint32_t W = sizes[s][0], H = sizes[s][1], ts = tss[t];
		uint32_t lw[40], lh[40];
		int n = ts_zoomify_levels(W, H, ts, lw, lh, 40);
		uint64_t index = 0;
		for (int z = 0; z < n; z++) {
			uint32_t gx = (lw[z] + ts - 1) / ts, gy = (lh[z] + ts - 1) / ts;
			uint32_t ex = lw[z] ? gx : 1, ey = lh[z] ? gy : 1;
			for (uint32_t y = 0; y < ey; y++) {
				uint64_t sumw = 0;
				double prev_end = 0;
				for (uint32_t x = 0; x < ex; x++) {
					struct ts_zoomify_request rq = {
						.route = TS_ZOOMIFY_TILE, .z = (uint32_t)z, .x = x, .y = y,
						.group = (uint32_t)((index + (uint64_t)gx * y + x) / 256) };
					struct ts_image_cmd c;
					struct ts_error err;
					ts_error_clear(&err);
					if (ts_zoomify_tile_cmd(&rq, W, H, ts, &c, &err) != 0) {
						printf("    %ux%u ts %u: %d-%u-%u failed: %s\n", W, H, ts, z, x, y, err.msg);
						EXPECT(0);
						return;
					}
					bool ok = c.region.w >= 1 && c.region.h >= 1 &&
					          c.region.x + c.region.w <= W && c.region.y + c.region.h <= H &&
					          c.size.w >= 1 && c.size.h >= 1 &&
					          c.size.w <= ts && c.size.h <= ts &&
					          c.region.x == prev_end;
					if (!ok) {
						printf("    %ux%u ts %u: %d-%u-%u region %g,%g,%g,%g size %u,%u\n",
						       W, H, ts, z, x, y, c.region.x, c.region.y, c.region.w,
						       c.region.h, c.size.w, c.size.h);
						EXPECT(0);
						return;
					}
					prev_end = c.region.x + c.region.w;
					sumw += c.size.w;
					checked++;
				}
				EXPECT_EQ_INT(sumw, lw[z] ? lw[z] : 1);
			}
			index += (uint64_t)gx * gy;
		}
		EXPECT_EQ_INT(index, ts_zoomify_num_tiles(W, H, ts));
	}
	EXPECT(checked > 5000);
}

/* OpenSeadragon counts a level's tiles from ceil(W/2^k): on 4097x2049 at
 * k=1 that is 2048.5 wide, 9 columns where the floor-halved grid has 8.
 * The extra column and row are the image's clipped edge, not a 404. */
static void openseadragon_edge_column_past_the_floor_grid_is_the_clipped_edge(void)
{
	struct ts_image_cmd c;

	/* z=3 is k=1; tiles of z0..z2 before it: 1 + 2 + 8 = 11 */
	EXPECT_EQ_INT(tile(4097, 2049, 0, 3, 8, 0, &c), 0);
	EXPECT_EQ_INT(c.region.x, 4096);
	EXPECT_EQ_INT(c.region.w, 1);
	EXPECT_EQ_INT(c.region.y, 0);
	EXPECT_EQ_INT(c.region.h, 512);
	EXPECT_EQ_INT(c.size.w, 1);
	EXPECT_EQ_INT(c.size.h, 256);
	/* the corner: row 4 too (index 11 + 8*4 + 8 = 51, group 0) */
	EXPECT_EQ_INT(tile(4097, 2049, 0, 3, 8, 4, &c), 0);
	EXPECT_EQ_INT(c.region.x, 4096);
	EXPECT_EQ_INT(c.region.y, 2048);
	EXPECT_EQ_INT(c.region.w, 1);
	EXPECT_EQ_INT(c.region.h, 1);
	/* a tile of the floor grid keeps its size */
	EXPECT_EQ_INT(tile(4097, 2049, 0, 3, 7, 0, &c), 0);
	EXPECT_EQ_INT(c.region.x, 3584);
	EXPECT_EQ_INT(c.region.w, 512);
	EXPECT_EQ_INT(c.size.w, 256);
	/* z=2 (k=2): 1025 wide, the fifth column */
	EXPECT_EQ_INT(tile(4097, 2049, 0, 2, 4, 0, &c), 0);
	EXPECT_EQ_INT(c.region.x, 4096);
	EXPECT_EQ_INT(c.region.w, 1);
	EXPECT_EQ_INT(c.size.w, 1);
	/* but no further */
	EXPECT_EQ_INT(tile(4097, 2049, 0, 3, 9, 0, &c), 404);
	EXPECT_EQ_INT(tile(4097, 2049, 0, 3, 0, 5, &c), 404);
	EXPECT_EQ_INT(tile(4097, 2049, 0, 2, 5, 0, &c), 404);
	/* an exact power of two has no extra column */
	EXPECT_EQ_INT(tile(4096, 2048, 0, 3, 8, 0, &c), 404);
}

int main(void)
{
	A = ts_arena_create();
	RUN(levels_floor_halve_until_one_tile);
	RUN(openseadragon_edge_column_past_the_floor_grid_is_the_clipped_edge);
	RUN(numtiles_counts_every_level);
	RUN(image_properties_xml_is_exact);
	RUN(tile_group_changes_at_the_256th_tile);
	RUN(tiles_map_to_full_resolution_regions_with_exact_sizes);
	RUN(out_of_range_z_x_y_are_404);
	RUN(thin_image_level_that_floors_to_zero_is_served_one_pixel_high);
	RUN(properties_and_tile_urls_parse);
	RUN(malformed_routes_are_404_and_bad_escapes_400);
	RUN(every_tile_of_every_level_is_inside_and_exact);
	ts_arena_destroy(A);
	return CHECK_DONE();
}
