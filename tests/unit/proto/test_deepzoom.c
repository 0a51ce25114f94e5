/*
 * test_deepzoom.c - DeepZoom URLs, the DZI pyramid and its documents, and
 * the property that every tile of every level maps to a non-empty region
 * inside the image with the exact size the DZI promises.
 */
#include <stdlib.h>
#include "check.h"
#include "tessera/arena.h"
#include "tessera/tileproto.h"

static struct ts_arena *A;

static ts_status parse(const char *path, const char *query, unsigned flags,
                       struct ts_deepzoom_request *rq)
{
	struct ts_error err;
	ts_error_clear(&err);
	ts_status st = ts_deepzoom_parse(path, query, flags, A, rq, &err);
	EXPECT_EQ_INT(err.status, st);
	return st;
}

static ts_status tile(uint32_t w, uint32_t h, uint32_t level, uint32_t col, uint32_t row,
                      uint32_t overlap, struct ts_image_cmd *cmd)
{
	struct ts_deepzoom_request rq = { .route = TS_DZ_TILE, .level = level, .col = col,
	                                  .row = row, .format = TS_FORMAT_JPG };
	struct ts_error err;
	ts_error_clear(&err);
	return ts_deepzoom_tile_cmd(&rq, w, h, 256, overlap, cmd, &err);
}

static void max_level_is_ceil_log2_of_the_longer_side(void)
{
	EXPECT_EQ_INT(ts_deepzoom_max_level(1, 1), 0);
	EXPECT_EQ_INT(ts_deepzoom_max_level(2, 1), 1);
	EXPECT_EQ_INT(ts_deepzoom_max_level(256, 256), 8);
	EXPECT_EQ_INT(ts_deepzoom_max_level(257, 1), 9);
	EXPECT_EQ_INT(ts_deepzoom_max_level(1001, 751), 10);
	EXPECT_EQ_INT(ts_deepzoom_max_level(6028, 3391), 13);
	EXPECT_EQ_INT(ts_deepzoom_max_level(1, 4294967295u), 32);
}

static void level_sizes_of_an_odd_image_round_up(void)
{
	static const uint32_t want[11][2] = {
		{1, 1}, {2, 2}, {4, 3}, {8, 6}, {16, 12}, {32, 24}, {63, 47},
		{126, 94}, {251, 188}, {501, 376}, {1001, 751}
	};
	uint32_t lw, lh;
	for (int l = 0; l <= 10; l++) {
		ts_deepzoom_level_size(1001, 751, l, &lw, &lh);
		EXPECT_EQ_INT(lw, want[l][0]);
		EXPECT_EQ_INT(lh, want[l][1]);
	}
	ts_deepzoom_level_size(6028, 3391, 12, &lw, &lh);
	EXPECT_EQ_INT(lw, 3014);
	EXPECT_EQ_INT(lh, 1696);
	ts_deepzoom_level_size(6028, 3391, 13, &lw, &lh);
	EXPECT_EQ_INT(lw, 6028);
	EXPECT_EQ_INT(lh, 3391);
	ts_deepzoom_level_size(257, 1, 8, &lw, &lh);
	EXPECT_EQ_INT(lw, 129);
	EXPECT_EQ_INT(lh, 1);
}

static void level_zero_is_one_pixel_for_every_size(void)
{
	static const uint32_t sizes[][2] = {
		{1, 1}, {256, 256}, {257, 1}, {1, 257}, {1001, 751}, {6028, 3391}, {65535, 3}
	};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t lw, lh;
		ts_deepzoom_level_size(sizes[i][0], sizes[i][1], 0, &lw, &lh);
		EXPECT_EQ_INT(lw, 1);
		EXPECT_EQ_INT(lh, 1);
	}
}

static void first_tile_with_overlap_extends_only_right_and_down(void)
{
	struct ts_image_cmd c;
	EXPECT_EQ_INT(tile(1001, 751, 10, 0, 0, 1, &c), 0);
	EXPECT_EQ_INT(c.version, 3);
	EXPECT_EQ_INT(c.region.kind, TS_REGION_PIXELS);
	EXPECT_EQ_INT(c.region.x, 0);
	EXPECT_EQ_INT(c.region.y, 0);
	EXPECT_EQ_INT(c.region.w, 257);
	EXPECT_EQ_INT(c.region.h, 257);
	EXPECT_EQ_INT(c.size.kind, TS_SIZE_WH);
	EXPECT(c.size.upscale);
	EXPECT_EQ_INT(c.size.w, 257);
	EXPECT_EQ_INT(c.size.h, 257);
	EXPECT_EQ_INT(c.rotation.degrees, 0);
	EXPECT_EQ_INT(c.format, TS_FORMAT_JPG);
}

static void inner_tile_with_overlap_has_both_overlaps(void)
{
	struct ts_image_cmd c;
	EXPECT_EQ_INT(tile(1001, 751, 10, 1, 1, 1, &c), 0);
	EXPECT_EQ_INT(c.region.x, 255);
	EXPECT_EQ_INT(c.region.y, 255);
	EXPECT_EQ_INT(c.region.w, 258);
	EXPECT_EQ_INT(c.size.w, 258);
	EXPECT_EQ_INT(c.size.h, 258);
}

static void edge_tile_stops_at_the_level_edge(void)
{
	struct ts_image_cmd c;
	EXPECT_EQ_INT(tile(1001, 751, 10, 3, 2, 1, &c), 0);
	EXPECT_EQ_INT(c.region.x, 767);
	EXPECT_EQ_INT(c.region.w, 234);
	EXPECT_EQ_INT(c.region.y, 511);
	EXPECT_EQ_INT(c.region.h, 240);
	EXPECT_EQ_INT(c.size.w, 234);
	EXPECT_EQ_INT(c.size.h, 240);
	EXPECT_EQ_INT(tile(1001, 751, 10, 3, 2, 0, &c), 0);
	EXPECT_EQ_INT(c.region.x, 768);
	EXPECT_EQ_INT(c.region.w, 233);
	EXPECT_EQ_INT(c.size.w, 233);
	EXPECT_EQ_INT(c.size.h, 239);
}

static void reduced_level_edge_tile_is_clipped_to_the_image_but_keeps_its_size(void)
{
	struct ts_image_cmd c;
	/* level 9 is 501x376; col 1 covers level [255,501) = full [510,1002) */
	EXPECT_EQ_INT(tile(1001, 751, 9, 1, 0, 1, &c), 0);
	EXPECT_EQ_INT(c.region.x, 510);
	EXPECT_EQ_INT(c.region.w, 491);
	EXPECT_EQ_INT(c.size.w, 246);
	EXPECT_EQ_INT(c.region.h, 514);
	EXPECT_EQ_INT(c.size.h, 257);
	/* level 0: the whole image as one pixel */
	EXPECT_EQ_INT(tile(1001, 751, 0, 0, 0, 1, &c), 0);
	EXPECT_EQ_INT(c.region.w, 1001);
	EXPECT_EQ_INT(c.region.h, 751);
	EXPECT_EQ_INT(c.size.w, 1);
	EXPECT_EQ_INT(c.size.h, 1);
}

static void out_of_range_level_col_or_row_is_404(void)
{
	struct ts_image_cmd c;
	EXPECT_EQ_INT(tile(1001, 751, 11, 0, 0, 1, &c), 404);
	EXPECT_EQ_INT(tile(1001, 751, 10, 4, 0, 1, &c), 404);
	EXPECT_EQ_INT(tile(1001, 751, 10, 0, 3, 1, &c), 404);
	EXPECT_EQ_INT(tile(1001, 751, 0, 1, 0, 1, &c), 404);
	EXPECT_EQ_INT(tile(1, 1, 1, 0, 0, 1, &c), 404);
	EXPECT_EQ_INT(tile(1, 1, 0, 0, 0, 1, &c), 0);
}

static void dzi_and_tile_urls_parse(void)
{
	struct ts_deepzoom_request rq;
	EXPECT_EQ_INT(parse("/abc.dzi", NULL, 0, &rq), 0);
	EXPECT_EQ_INT(rq.route, TS_DZ_INFO);
	EXPECT_EQ_INT(rq.info_kind, TS_DZ_XML);
	EXPECT_EQ_STR(rq.identifier, "abc");
	EXPECT_EQ_INT(parse("/abc.xml", "", 0, &rq), 0);
	EXPECT_EQ_INT(rq.info_kind, TS_DZ_XML);
	EXPECT_EQ_INT(parse("/abc.dzi", "format=json", 0, &rq), 0);
	EXPECT_EQ_INT(rq.info_kind, TS_DZ_JSON);
	EXPECT_EQ_INT(parse("/abc.dzi", "x=1&format=json", 0, &rq), 0);
	EXPECT_EQ_INT(rq.info_kind, TS_DZ_JSON);
	EXPECT_EQ_INT(parse("/a%2Fb.tif_files/10/3_2.jpg", "format=json", 0, &rq), 0);
	EXPECT_EQ_INT(rq.route, TS_DZ_TILE);
	EXPECT_EQ_STR(rq.identifier, "a/b.tif");
	EXPECT_EQ_INT(rq.level, 10);
	EXPECT_EQ_INT(rq.col, 3);
	EXPECT_EQ_INT(rq.row, 2);
	EXPECT_EQ_INT(rq.format, TS_FORMAT_JPG);
	EXPECT_EQ_INT(parse("/x_files_files/0/0_0.png", NULL, 0, &rq), 0);
	EXPECT_EQ_STR(rq.identifier, "x_files");
	EXPECT_EQ_INT(rq.format, TS_FORMAT_PNG);
}

static void identifier_is_decoded_once(void)
{
	struct ts_deepzoom_request rq;
	EXPECT_EQ_INT(parse("/a%252Fb+c.dzi", NULL, 0, &rq), 0);
	EXPECT_EQ_STR(rq.identifier, "a%2Fb+c");
}

static void unescaped_slash_is_404_unless_allowed(void)
{
	struct ts_deepzoom_request rq;
	EXPECT_EQ_INT(parse("/a/b.dzi", NULL, 0, &rq), 404);
	EXPECT_EQ_INT(parse("/a/b_files/0/0_0.jpg", NULL, 0, &rq), 404);
	EXPECT_EQ_INT(parse("/a/b.dzi", NULL, TS_TILEPROTO_ALLOW_SLASH, &rq), 0);
	EXPECT_EQ_STR(rq.identifier, "a/b");
	EXPECT_EQ_INT(parse("/a/b_files/0/0_0.jpg", NULL, TS_TILEPROTO_ALLOW_SLASH, &rq), 0);
	EXPECT_EQ_STR(rq.identifier, "a/b");
}

static void malformed_routes_are_404_and_bad_escapes_400(void)
{
	struct ts_deepzoom_request rq;
	static const char *const notfound[] = {
		"", "/", "/.dzi", "/abc", "/abc.gif", "/x_files/1/0_0.gif", "/x_files/01/0_0.jpg",
		"/x_files/1/0-0.jpg", "/x_files/1/0_0", "/x_files/1/_0.jpg", "/x_files/1/0_.jpg",
		"/x_files/a/0_0.jpg", "/x_files//0_0.jpg", "/_files/1/0_0.jpg", "/x_file/1/0_0.jpg",
		"/x_files/1/0_0.jpg/", "/x_files/1/-1_0.jpg", "/x_files/9999999999/0_0.jpg",
		"/x_files/1/0_0_0.jpg", "/x_files/1/0_0.jpg.jpg", "/0_0.jpg", "abc.dzi",
	};
	for (size_t i = 0; i < sizeof notfound / sizeof notfound[0]; i++) {
		ts_status st = parse(notfound[i], NULL, 0, &rq);
		if (st != 404)
			printf("    %s -> %d\n", notfound[i], st);
		EXPECT_EQ_INT(st, 404);
	}
	EXPECT_EQ_INT(parse(NULL, NULL, 0, &rq), 404);
	EXPECT_EQ_INT(parse("/%zz.dzi", NULL, 0, &rq), 400);
	EXPECT_EQ_INT(parse("/a%00b.dzi", NULL, 0, &rq), 400);
	EXPECT_EQ_INT(parse("/%zz_files/0/0_0.jpg", NULL, 0, &rq), 400);
}

static void js_route_answers_jsonp_with_a_safe_callback(void)
{
	struct ts_deepzoom_request rq;
	EXPECT_EQ_INT(parse("/img.js", "callback=openseadragon1234", 0, &rq), 0);
	EXPECT_EQ_INT(rq.info_kind, TS_DZ_JSONP);
	EXPECT_EQ_STR(rq.callback, "openseadragon1234");
	EXPECT_EQ_STR(rq.identifier, "img");
	/* no callback: OpenSeadragon's convention, the file name */
	EXPECT_EQ_INT(parse("/dir%2Fimg.js", NULL, 0, &rq), 0);
	EXPECT_EQ_INT(rq.info_kind, TS_DZ_JSON);   /* "dir%2Fimg" is no JS name */
	EXPECT_EQ_INT(parse("/img.js", NULL, 0, &rq), 0);
	EXPECT_EQ_INT(rq.info_kind, TS_DZ_JSONP);
	EXPECT_EQ_STR(rq.callback, "img");
	EXPECT_EQ_INT(parse("/img.tif.js", NULL, 0, &rq), 0);
	EXPECT_EQ_INT(rq.info_kind, TS_DZ_JSON);
	EXPECT_EQ_STR(rq.identifier, "img.tif");
	EXPECT_EQ_INT(parse("/img.js", "callback=alert(1)", 0, &rq), 400);
	EXPECT_EQ_INT(parse("/img.js", "callback=", 0, &rq), 400);
	EXPECT_EQ_INT(parse("/img.js", "callback=a..b", 0, &rq), 400);
	EXPECT_EQ_INT(parse("/img.js", "callback=1a", 0, &rq), 400);
	EXPECT_EQ_INT(parse("/img.js", "callback=ns.cb_2", 0, &rq), 0);
	EXPECT_EQ_STR(rq.callback, "ns.cb_2");
}

static void dzi_xml_document_is_exact(void)
{
	struct ts_deepzoom_request rq;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	const char *mime = NULL;
	ts_error_clear(&err);
	EXPECT_EQ_INT(parse("/abc.dzi", NULL, 0, &rq), 0);
	EXPECT_EQ_INT(ts_deepzoom_format_info(&rq, 6028, 3391, 256, 1, TS_FORMAT_JPG, &b, &mime, &err), 0);
	EXPECT(ts_buf_append(&b, "", 1));
	EXPECT_EQ_STR((char *)b.data,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Image xmlns=\"http://schemas.microsoft.com/deepzoom/2008\" Format=\"jpg\" "
		"Overlap=\"1\" TileSize=\"256\"><Size Width=\"6028\" Height=\"3391\"/></Image>\n");
	EXPECT_EQ_STR(mime, "application/xml");
	ts_buf_free(&b);
}

static void dzi_json_and_jsonp_documents_are_exact(void)
{
	struct ts_deepzoom_request rq;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	const char *mime = NULL;
	ts_error_clear(&err);
	EXPECT_EQ_INT(parse("/abc.dzi", "format=json", 0, &rq), 0);
	EXPECT_EQ_INT(ts_deepzoom_format_info(&rq, 1001, 751, 512, 0, TS_FORMAT_PNG, &b, &mime, &err), 0);
	EXPECT(ts_buf_append(&b, "", 1));
	EXPECT_EQ_STR((char *)b.data,
		"{\"Image\":{\"xmlns\":\"http://schemas.microsoft.com/deepzoom/2008\","
		"\"Format\":\"png\",\"Overlap\":\"0\",\"TileSize\":\"512\","
		"\"Size\":{\"Width\":\"1001\",\"Height\":\"751\"}}}\n");
	EXPECT_EQ_STR(mime, "application/json");
	ts_buf_clear(&b);
	EXPECT_EQ_INT(parse("/abc.js", "callback=cb", 0, &rq), 0);
	EXPECT_EQ_INT(ts_deepzoom_format_info(&rq, 2, 3, 256, 1, TS_FORMAT_JPG, &b, &mime, &err), 0);
	EXPECT(ts_buf_append(&b, "", 1));
	EXPECT_EQ_STR((char *)b.data,
		"cb({\"Image\":{\"xmlns\":\"http://schemas.microsoft.com/deepzoom/2008\","
		"\"Format\":\"jpg\",\"Overlap\":\"1\",\"TileSize\":\"256\","
		"\"Size\":{\"Width\":\"2\",\"Height\":\"3\"}}});\n");
	EXPECT_EQ_STR(mime, "application/javascript");
	ts_buf_free(&b);
}

/* Every tile of every level: region inside the image and not empty, size
 * the level rectangle's, tiles without overlap tile the level exactly. */
static void every_tile_of_every_level_is_inside_and_exact(void)
{
	static const uint32_t sizes[][2] = {
		{1, 1}, {2, 1}, {256, 256}, {257, 1}, {1, 257}, {255, 513}, {1001, 751},
		{6028, 3391}, {4097, 33}, {100000, 3},
	};
	static const uint32_t tss[] = { 254, 256, 1, 7 };
	long checked = 0;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
	for (size_t t = 0; t < sizeof tss / sizeof tss[0]; t++)
	for (uint32_t ov = 0; ov <= 2; ov++) {
		uint32_t W = sizes[s][0], H = sizes[s][1], ts = tss[t];
		int max = ts_deepzoom_max_level(W, H);
		if (ts < 8 && W * (uint64_t)H > 70000)
			continue;   /* keep the loop quick */
		for (int l = 0; l <= max; l++) {
			uint32_t lw, lh, ncol, nrow;
			uint64_t sumw = 0;
			ts_deepzoom_level_size(W, H, l, &lw, &lh);
			ncol = (lw + ts - 1) / ts;
			nrow = (lh + ts - 1) / ts;
			for (uint32_t r = 0; r < nrow; r++)
			for (uint32_t c = 0; c < ncol; c++) {
				struct ts_deepzoom_request rq = { .route = TS_DZ_TILE, .level = (uint32_t)l,
				                                  .col = c, .row = r };
				struct ts_image_cmd cmd;
				struct ts_error err;
				ts_error_clear(&err);
				if (ts_deepzoom_tile_cmd(&rq, W, H, ts, ov, &cmd, &err) != 0) {
					printf("    %ux%u ts %u ov %u: %d/%u_%u failed\n", W, H, ts, ov, l, c, r);
					EXPECT(0);
					return;
				}
				uint32_t ew = (c + 1) * (uint64_t)ts + ov < lw ? (c + 1) * ts + ov : lw;
				uint32_t sx = c * ts > ov ? c * ts - ov : 0;
				bool ok = cmd.region.x >= 0 && cmd.region.y >= 0 &&
				          cmd.region.w >= 1 && cmd.region.h >= 1 &&
				          cmd.region.x + cmd.region.w <= W &&
				          cmd.region.y + cmd.region.h <= H &&
				          cmd.size.w >= 1 && cmd.size.h >= 1 &&
				          cmd.size.w == ew - sx &&
				          cmd.region.x == (double)((uint64_t)sx << (max - l)) &&
				          cmd.size.w <= ts + 2 * ov && cmd.size.h <= ts + 2 * ov;
				if (!ok) {
					printf("    %ux%u ts %u ov %u: %d/%u_%u region %g,%g,%g,%g size %u,%u\n",
					       W, H, ts, ov, l, c, r, cmd.region.x, cmd.region.y,
					       cmd.region.w, cmd.region.h, cmd.size.w, cmd.size.h);
					EXPECT(0);
					return;
				}
				/* the tile minus its overlaps is the core [c*ts, min((c+1)*ts, lw)) */
				uint32_t core_end = (c + 1) * (uint64_t)ts < lw ? (c + 1) * ts : lw;
				if (r == 0)
					sumw += cmd.size.w - (c * ts - sx) - (ew - core_end);
				checked++;
			}
			EXPECT_EQ_INT(sumw, lw);
			/* one past the end is 404 */
			struct ts_deepzoom_request rq = { .route = TS_DZ_TILE, .level = (uint32_t)l,
			                                  .col = ncol, .row = 0 };
			struct ts_image_cmd cmd;
			EXPECT_EQ_INT(ts_deepzoom_tile_cmd(&rq, W, H, ts, ov, &cmd, NULL), 404);
		}
	}
	EXPECT(checked > 10000);
}

int main(void)
{
	A = ts_arena_create();
	RUN(max_level_is_ceil_log2_of_the_longer_side);
	RUN(level_sizes_of_an_odd_image_round_up);
	RUN(level_zero_is_one_pixel_for_every_size);
	RUN(first_tile_with_overlap_extends_only_right_and_down);
	RUN(inner_tile_with_overlap_has_both_overlaps);
	RUN(edge_tile_stops_at_the_level_edge);
	RUN(reduced_level_edge_tile_is_clipped_to_the_image_but_keeps_its_size);
	RUN(out_of_range_level_col_or_row_is_404);
	RUN(dzi_and_tile_urls_parse);
	RUN(identifier_is_decoded_once);
	RUN(unescaped_slash_is_404_unless_allowed);
	RUN(malformed_routes_are_404_and_bad_escapes_400);
	RUN(js_route_answers_jsonp_with_a_safe_callback);
	RUN(dzi_xml_document_is_exact);
	RUN(dzi_json_and_jsonp_documents_are_exact);
	RUN(every_tile_of_every_level_is_inside_and_exact);
	ts_arena_destroy(A);
	return CHECK_DONE();
}
