/*
 * test_iip.c - IIP query parsing (typical iipmooviewer sequences, garbage,
 * the IIIF=/DeepZoom=/Zoomify= entry points), OBJ answers and IIP errors in
 * their text form, and every JTL tile of several pyramids mapping inside
 * the image with its exact size.
 */
#include "check.h"
#include "tessera/arena.h"
#include "tessera/tileproto.h"

static struct ts_arena *A;

static ts_status parse(const char *q, struct ts_iip_request *rq)
{
	struct ts_error err;
	ts_error_clear(&err);
	ts_status st = ts_iip_parse(q, A, rq, &err);
	EXPECT_EQ_INT(err.status, st);
	return st;
}

/* A pyramid of n levels halved by floor (ceil when `ceil`). */
static struct ts_geometry pyramid(uint32_t w, uint32_t h, int n, bool ceil)
{
	struct ts_geometry g = { .width = w, .height = h, .nlevels = n };
	for (int i = 0; i < n; i++) {
		g.levels[i].width = w;
		g.levels[i].height = h;
		w = ceil ? (w + 1) / 2 : w / 2;
		h = ceil ? (h + 1) / 2 : h / 2;
	}
	return g;
}

static const char *text(struct ts_buf *b)
{
	ts_buf_append(b, "", 1);
	b->len--;
	return (const char *)b->data;
}

static void metadata_request_of_iipmooviewer_lists_its_objects(void)
{
	struct ts_iip_request rq;
	EXPECT_EQ_INT(parse("FIF=img.tif&obj=IIP,1.0&obj=Max-size&obj=Tile-size&obj=Resolution-number", &rq), 0);
	EXPECT_EQ_INT(rq.action, TS_IIP_OBJ);
	EXPECT_EQ_STR(rq.fif, "img.tif");
	EXPECT_EQ_INT(rq.nobj, 4);
	EXPECT_EQ_INT(rq.obj[0], TS_IIP_OBJ_IIP);
	EXPECT_EQ_INT(rq.obj[1], TS_IIP_OBJ_MAX_SIZE);
	EXPECT_EQ_INT(rq.obj[2], TS_IIP_OBJ_TILE_SIZE);
	EXPECT_EQ_INT(rq.obj[3], TS_IIP_OBJ_RESOLUTION_NUMBER);

	struct ts_geometry g = pyramid(1001, 751, 3, false);
	struct ts_iip_image img = { .g = &g, .tile_w = 256, .tile_h = 256, .channels = 3, .bits = 8 };
	struct ts_buf b = TS_BUF_INIT;
	EXPECT_EQ_INT(ts_iip_format_objects(&rq, &img, &b, NULL), 0);
	EXPECT_EQ_STR(text(&b), "IIP:1.0\r\nMax-size:1001 751\r\nTile-size:256 256\r\nResolution-number:3\r\n");
	ts_buf_free(&b);
}

static void command_names_and_objects_are_case_insensitive(void)
{
	struct ts_iip_request rq;
	EXPECT_EQ_INT(parse("fif=a%2Fb.tif&Obj=MAX-SIZE&OBJ=resolutions&oBj=Basic-Info", &rq), 0);
	EXPECT_EQ_STR(rq.fif, "a/b.tif");
	EXPECT_EQ_INT(rq.nobj, 3);
	EXPECT_EQ_INT(rq.obj[0], TS_IIP_OBJ_MAX_SIZE);
	EXPECT_EQ_INT(rq.obj[1], TS_IIP_OBJ_RESOLUTIONS);
	EXPECT_EQ_INT(rq.obj[2], TS_IIP_OBJ_BASIC_INFO);

	struct ts_geometry g = pyramid(1001, 751, 3, false);
	struct ts_iip_image img = { .g = &g, .tile_w = 256, .tile_h = 128, .channels = 1, .bits = 8 };
	struct ts_buf b = TS_BUF_INIT;
	EXPECT_EQ_INT(ts_iip_format_objects(&rq, &img, &b, NULL), 0);
	EXPECT_EQ_STR(text(&b),
		"Max-size:1001 751\r\n"
		"Resolutions:250 187,500 375,1001 751\r\n"
		"IIP-server:3.65\r\nMax-size:1001 751\r\nResolution-number:3\r\n"
		"Colorspace,0-2,0:0 0 1 1 0\r\n");
	ts_buf_free(&b);
}

static void max_size_is_swapped_by_a_quarter_rotation(void)
{
	struct ts_iip_request rq;
	EXPECT_EQ_INT(parse("FIF=x&ROT=90&OBJ=Max-size&OBJ=Colorspace,*,*", &rq), 0);
	struct ts_geometry g = pyramid(1001, 751, 1, false);
	struct ts_iip_image img = { .g = &g, .tile_w = 256, .tile_h = 256, .channels = 3 };
	struct ts_buf b = TS_BUF_INIT;
	EXPECT_EQ_INT(ts_iip_format_objects(&rq, &img, &b, NULL), 0);
	EXPECT_EQ_STR(text(&b), "Max-size:751 1001\r\nColorspace,0-0,0:0 0 3 3 0 1 2\r\n");
	ts_buf_free(&b);
}

static void jtl_counts_resolutions_from_the_smallest_and_tiles_row_by_row(void)
{
	struct ts_iip_request rq;
	struct ts_image_cmd c;
	struct ts_geometry g = pyramid(6028, 3391, 5, false);
	EXPECT_EQ_INT(parse("FIF=img.tif&JTL=3,12", &rq), 0);
	EXPECT_EQ_INT(rq.action, TS_IIP_TILE);
	EXPECT_EQ_INT(rq.res, 3);
	EXPECT_EQ_INT(rq.tile, 12);
	EXPECT_EQ_INT(rq.format, TS_FORMAT_JPG);
	/* res 3 of 5 is level 1 (3014 x 1695, 12 tiles a row): tile 12 = (0,1) */
	EXPECT_EQ_INT(ts_iip_tile_cmd(&rq, &g, 256, 256, &c, NULL), 0);
	EXPECT_EQ_INT(c.version, 3);
	EXPECT_EQ_INT(c.region.kind, TS_REGION_PIXELS);
	EXPECT_EQ_INT(c.region.x, 0);
	EXPECT_EQ_INT(c.region.y, 512);
	EXPECT_EQ_INT(c.region.w, 512);
	EXPECT_EQ_INT(c.region.h, 512);
	EXPECT_EQ_INT(c.size.kind, TS_SIZE_WH);
	EXPECT(c.size.upscale);
	EXPECT_EQ_INT(c.size.w, 256);
	EXPECT_EQ_INT(c.size.h, 256);
	/* the last tile of full resolution: 24 x 14 tiles */
	EXPECT_EQ_INT(parse("FIF=img.tif&JTL=4,335", &rq), 0);
	EXPECT_EQ_INT(ts_iip_tile_cmd(&rq, &g, 256, 256, &c, NULL), 0);
	EXPECT_EQ_INT(c.region.x, 5888);
	EXPECT_EQ_INT(c.region.y, 3328);
	EXPECT_EQ_INT(c.size.w, 140);
	EXPECT_EQ_INT(c.size.h, 63);
	/* res 0: the smallest level (376 x 211), two tiles; the second ends
	 * exactly at the image edge */
	EXPECT_EQ_INT(parse("FIF=img.tif&JTL=0,1", &rq), 0);
	EXPECT_EQ_INT(ts_iip_tile_cmd(&rq, &g, 256, 256, &c, NULL), 0);
	EXPECT_EQ_INT(c.region.x, 4104);   /* floor(256 * 6028 / 376) */
	EXPECT_EQ_INT(c.region.w, 6028 - 4104);
	EXPECT_EQ_INT(c.region.h, 3391);
	EXPECT_EQ_INT(c.size.w, 120);
	EXPECT_EQ_INT(c.size.h, 211);
}

static void openseadragon_iip_tile_source_requests_work(void)
{
	struct ts_iip_request rq;
	struct ts_image_cmd c;
	struct ts_geometry g = pyramid(1001, 751, 3, true);
	struct ts_iip_image img = { .g = &g, .tile_w = 256, .tile_h = 256, .channels = 3 };
	struct ts_buf b = TS_BUF_INIT;
	EXPECT_EQ_INT(parse("FIF=test.tif&obj=IIP,1.0&obj=Max-size&obj=Tile-size"
	                    "&obj=Resolution-number&obj=Resolutions", &rq), 0);
	EXPECT_EQ_INT(ts_iip_format_objects(&rq, &img, &b, NULL), 0);
	EXPECT_EQ_STR(text(&b), "IIP:1.0\r\nMax-size:1001 751\r\nTile-size:256 256\r\n"
	                        "Resolution-number:3\r\nResolutions:251 188,501 376,1001 751\r\n");
	ts_buf_free(&b);
	/* "INV" has no value; WTL asks for WebP */
	EXPECT_EQ_INT(parse("FIF=test.tif&INV&QLT=80&WTL=1,1", &rq), 0);
	EXPECT_EQ_INT(rq.format, TS_FORMAT_WEBP);
	EXPECT_EQ_INT(rq.qlt, 80);
	EXPECT_EQ_INT(ts_iip_tile_cmd(&rq, &g, 256, 256, &c, NULL), 0);
	EXPECT_EQ_INT(c.size.w, 245);   /* 501 - 256 */
	EXPECT_EQ_INT(c.size.h, 256);
	EXPECT_EQ_INT(c.region.x + c.region.w, 1001);
}

static void tile_out_of_range_is_404(void)
{
	struct ts_iip_request rq;
	struct ts_image_cmd c;
	struct ts_geometry g = pyramid(6028, 3391, 5, false);
	EXPECT_EQ_INT(parse("FIF=img.tif&JTL=5,0", &rq), 0);
	EXPECT_EQ_INT(ts_iip_tile_cmd(&rq, &g, 256, 256, &c, NULL), 404);
	EXPECT_EQ_INT(parse("FIF=img.tif&JTL=4,336", &rq), 0);
	EXPECT_EQ_INT(ts_iip_tile_cmd(&rq, &g, 256, 256, &c, NULL), 404);
	EXPECT_EQ_INT(parse("FIF=img.tif&JTL=0,2", &rq), 0);
	EXPECT_EQ_INT(ts_iip_tile_cmd(&rq, &g, 256, 256, &c, NULL), 404);
}

static void viewer_modifiers_are_ignored_and_rotation_kept(void)
{
	struct ts_iip_request rq;
	struct ts_image_cmd c;
	struct ts_geometry g = pyramid(1000, 1000, 3, false);
	EXPECT_EQ_INT(parse("FIF=img.tif&CNT=1.5&SDS=0,90&GAM=1&SHD=20,30&ROT=!270&COL=grey&PTL=2,1", &rq), 0);
	EXPECT_EQ_INT(rq.action, TS_IIP_TILE);
	EXPECT_EQ_INT(rq.format, TS_FORMAT_PNG);
	EXPECT_EQ_INT(ts_iip_tile_cmd(&rq, &g, 256, 256, &c, NULL), 0);
	EXPECT_EQ_INT(c.rotation.degrees, 270);
	EXPECT(c.rotation.mirror);
	EXPECT_EQ_INT(c.quality, TS_QUALITY_GRAY);
	EXPECT_EQ_INT(c.format, TS_FORMAT_PNG);
	EXPECT_EQ_INT(c.region.x, 256);
	EXPECT_EQ_INT(c.size.w, 256);
}

static void cvt_renders_a_fractional_region_at_the_asked_width(void)
{
	struct ts_iip_request rq;
	struct ts_image_cmd c;
	EXPECT_EQ_INT(parse("FIF=x&WID=400&RGN=0.1,0.2,0.3,0.4&CVT=jpeg", &rq), 0);
	EXPECT_EQ_INT(rq.action, TS_IIP_CVT);
	EXPECT(rq.has_wid && !rq.has_hei && rq.has_rgn);
	EXPECT_EQ_INT(ts_iip_cvt_cmd(&rq, 2000, 1000, &c, NULL), 0);
	EXPECT_EQ_INT(c.region.kind, TS_REGION_PIXELS);
	EXPECT_EQ_INT(c.region.x, 200);
	EXPECT_EQ_INT(c.region.y, 200);
	EXPECT_EQ_INT(c.region.w, 600);
	EXPECT_EQ_INT(c.region.h, 400);
	EXPECT_EQ_INT(c.size.kind, TS_SIZE_W);
	EXPECT_EQ_INT(c.size.w, 400);
	EXPECT(!c.size.upscale);
	EXPECT_EQ_INT(c.format, TS_FORMAT_JPG);
	/* WID larger than the region is clamped: iipsrv does not upscale */
	EXPECT_EQ_INT(ts_iip_cvt_cmd(&rq, 1000, 500, &c, NULL), 0);
	EXPECT_EQ_INT(c.region.w, 300);
	EXPECT_EQ_INT(c.size.w, 300);
}

static void cvt_sizes_follow_wid_and_hei(void)
{
	struct ts_iip_request rq;
	struct ts_image_cmd c;
	EXPECT_EQ_INT(parse("FIF=x&WID=300&HEI=200&CVT=png&QLT=90", &rq), 0);
	EXPECT_EQ_INT(rq.qlt, 90);
	EXPECT_EQ_INT(ts_iip_cvt_cmd(&rq, 2000, 1000, &c, NULL), 0);
	EXPECT_EQ_INT(c.region.kind, TS_REGION_FULL);
	EXPECT_EQ_INT(c.size.kind, TS_SIZE_FIT);
	EXPECT_EQ_INT(c.size.w, 300);
	EXPECT_EQ_INT(c.size.h, 200);
	EXPECT_EQ_INT(c.format, TS_FORMAT_PNG);
	EXPECT_EQ_INT(parse("FIF=x&HEI=200&CVT=jpeg", &rq), 0);
	EXPECT_EQ_INT(rq.qlt, -1);
	EXPECT_EQ_INT(ts_iip_cvt_cmd(&rq, 2000, 1000, &c, NULL), 0);
	EXPECT_EQ_INT(c.size.kind, TS_SIZE_H);
	EXPECT_EQ_INT(c.size.h, 200);
	EXPECT_EQ_INT(parse("FIF=x&CVT=jpeg", &rq), 0);
	EXPECT_EQ_INT(ts_iip_cvt_cmd(&rq, 2000, 1000, &c, NULL), 0);
	EXPECT_EQ_INT(c.size.kind, TS_SIZE_MAX);
}

static void cvt_region_is_clipped_and_an_outside_region_is_400(void)
{
	struct ts_iip_request rq;
	struct ts_image_cmd c;
	EXPECT_EQ_INT(parse("FIF=x&RGN=-0.1,0.9,0.5,0.5&CVT=jpeg", &rq), 0);
	EXPECT_EQ_INT(ts_iip_cvt_cmd(&rq, 1000, 1000, &c, NULL), 0);
	EXPECT_EQ_INT(c.region.x, 0);
	EXPECT_EQ_INT(c.region.w, 400);
	EXPECT_EQ_INT(c.region.y, 900);
	EXPECT_EQ_INT(c.region.h, 100);
	EXPECT_EQ_INT(parse("FIF=x&RGN=0,0,1,1&CVT=jpeg", &rq), 0);
	EXPECT_EQ_INT(ts_iip_cvt_cmd(&rq, 1001, 751, &c, NULL), 0);
	EXPECT_EQ_INT(c.region.w, 1001);
	EXPECT_EQ_INT(c.region.h, 751);
	EXPECT_EQ_INT(parse("FIF=x&RGN=1.5,0,0.1,0.1&CVT=jpeg", &rq), 0);
	EXPECT_EQ_INT(ts_iip_cvt_cmd(&rq, 1000, 1000, &c, NULL), 400);
}

static void garbage_is_400_with_an_iip_error_code(void)
{
	static const struct { const char *q, *code, *arg; } bad[] = {
		{ "", "2 1", "IIP" },
		{ "blah", "2 1", "IIP" },
		{ "FIF=x", "2 1", "IIP" },
		{ "FIF=x&JTL=abc", "2 1", "JTL" },
		{ "FIF=x&JTL=1", "2 1", "JTL" },
		{ "FIF=x&JTL=1,", "2 1", "JTL" },
		{ "FIF=x&JTL=-1,0", "2 1", "JTL" },
		{ "FIF=x&PTL=1,2,3", "2 1", "PTL" },
		{ "JTL=1,2", "1 3", "FIF" },
		{ "OBJ=Max-size", "1 3", "FIF" },
		{ "FIF=&JTL=1,2", "1 3", "FIF" },
		{ "FIF=%zz&OBJ=Max-size", "2 1", "IIP" },
		{ "FIF=x&OBJ=bogus", "3 2", "bogus" },
		{ "FIF=x&JTL=0,0&CVT=jpeg", "2 1", "CVT" },
		{ "FIF=x&CVT=gif", "2 1", "CVT" },
		{ "FIF=x&QLT=101&CVT=jpeg", "2 1", "QLT" },
		{ "FIF=x&ROT=45&CVT=jpeg", "2 1", "ROT" },
		{ "FIF=x&WID=0&CVT=jpeg", "2 1", "WID" },
		{ "FIF=x&HEI=a&CVT=jpeg", "2 1", "HEI" },
		{ "FIF=x&RGN=0,0,1&CVT=jpeg", "2 1", "RGN" },
		{ "FIF=x&RGN=0,0,0,1&CVT=jpeg", "2 1", "RGN" },
		{ "FIF=x&RGN=0,0,1,1,1&CVT=jpeg", "2 1", "RGN" },
		{ "FIF=x&RGN=0,0,1e3,1&CVT=jpeg", "2 1", "RGN" },
		{ "FIF=x&COL=purple&CVT=jpeg", "2 1", "COL" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ts_iip_request rq;
		ts_status st = parse(bad[i].q, &rq);
		if (st != 400)
			printf("    %s -> %d\n", bad[i].q, st);
		EXPECT_EQ_INT(st, 400);
		EXPECT_EQ_STR(rq.err_code, bad[i].code);
		EXPECT_EQ_STR(rq.err_arg, bad[i].arg);
	}
	struct ts_iip_request rq;
	EXPECT_EQ_INT(ts_iip_parse(NULL, A, &rq, NULL), 400);
}

static void iip_error_line_counts_its_bytes_and_is_sanitised(void)
{
	struct ts_buf b = TS_BUF_INIT;
	EXPECT(ts_iip_format_error("2 1", "JTL", &b));
	EXPECT_EQ_STR(text(&b), "Error/7:2 1 JTL\r\n");
	ts_buf_clear(&b);
	EXPECT(ts_iip_format_error("3 2", "a%n<b>\r\nc", &b));
	EXPECT_EQ_STR(text(&b), "Error/8:3 2 anbc\r\n");
	ts_buf_clear(&b);
	EXPECT(ts_iip_format_error("1 3", NULL, &b));
	EXPECT_EQ_STR(text(&b), "Error/4:1 3 \r\n");
	ts_buf_free(&b);
}

static void entry_points_pass_the_rest_of_the_path_on_undecoded(void)
{
	struct ts_iip_request rq;
	EXPECT_EQ_INT(parse("IIIF=/img.tif/full/max/0/default.jpg", &rq), 0);
	EXPECT_EQ_INT(rq.action, TS_IIP_PASSTHROUGH);
	EXPECT_EQ_INT(rq.to, TS_IIP_TO_IIIF);
	EXPECT_EQ_STR(rq.path, "/img.tif/full/max/0/default.jpg");
	EXPECT_EQ_INT(parse("iiif=a%2Fb.tif/info.json", &rq), 0);
	EXPECT_EQ_STR(rq.path, "/a%2Fb.tif/info.json");

	EXPECT_EQ_INT(parse("DeepZoom=img.tif.dzi&format=json", &rq), 0);
	EXPECT_EQ_INT(rq.to, TS_IIP_TO_DEEPZOOM);
	EXPECT_EQ_STR(rq.path, "/img.tif.dzi");
	struct ts_deepzoom_request dz;
	EXPECT_EQ_INT(ts_deepzoom_parse(rq.path, rq.path_query, TS_TILEPROTO_ALLOW_SLASH, A, &dz, NULL), 0);
	EXPECT_EQ_STR(dz.identifier, "img.tif");
	EXPECT_EQ_INT(dz.info_kind, TS_DZ_JSON);

	EXPECT_EQ_INT(parse("Zoomify=/images/img.tif/TileGroup0/1-0-0.jpg", &rq), 0);
	EXPECT_EQ_INT(rq.to, TS_IIP_TO_ZOOMIFY);
	struct ts_zoomify_request zr;
	EXPECT_EQ_INT(ts_zoomify_parse(rq.path, TS_TILEPROTO_ALLOW_SLASH, A, &zr, NULL), 0);
	EXPECT_EQ_STR(zr.identifier, "images/img.tif");
	EXPECT_EQ_INT(zr.z, 1);

	EXPECT_EQ_INT(parse("IIIF=a/info.json&DeepZoom=b.dzi", &rq), 400);
}

/* Every tile of every resolution of floor- and ceil-halved pyramids:
 * inside the image, non-empty, exact size, and abutting its neighbour. */
static void every_tile_of_every_resolution_is_inside_and_exact(void)
{
	static const uint32_t sizes[][2] = {
		{1, 1}, {256, 256}, {257, 1}, {1, 257}, {1001, 751}, {6028, 3391}, {30000, 17},
	};
	static const uint32_t tiles[][2] = { {256, 256}, {512, 128}, {100, 100} };
	long checked = 0;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
	for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++)
	for (int ceilhalf = 0; ceilhalf <= 1; ceilhalf++) {
		uint32_t W = sizes[s][0], H = sizes[s][1], tw = tiles[t][0], th = tiles[t][1];
		int n = 1;
		uint32_t w = W, h = H;
		while (n < 8 && w / 2 >= 1 && h / 2 >= 1) {
			w /= 2;
			h /= 2;
			n++;
		}
		struct ts_geometry g = pyramid(W, H, n, ceilhalf);
		for (int r = 0; r < n; r++) {
			const int li = n - 1 - r;
			uint32_t lw = g.levels[li].width, lh = g.levels[li].height;
			uint32_t ntx = (lw + tw - 1) / tw, nty = (lh + th - 1) / th;
			for (uint32_t k = 0; k < ntx * nty; k++) {
				struct ts_iip_request rq = { .action = TS_IIP_TILE, .res = (uint32_t)r,
				                             .tile = k, .format = TS_FORMAT_JPG };
				struct ts_image_cmd c;
				if (ts_iip_tile_cmd(&rq, &g, tw, th, &c, NULL) != 0) {
					printf("    %ux%u: res %d tile %u failed\n", W, H, r, k);
					EXPECT(0);
					return;
				}
				uint32_t tx = k % ntx;
				uint32_t want_w = (tx + 1) * tw < lw ? tw : lw - tx * tw;
				bool ok = c.region.w >= 1 && c.region.h >= 1 &&
				          c.region.x + c.region.w <= W && c.region.y + c.region.h <= H &&
				          c.size.w == want_w && c.size.h >= 1 && c.size.h <= th;
				if (ok && tx + 1 < ntx) {
					struct ts_image_cmd next;
					rq.tile = k + 1;
					ok = ts_iip_tile_cmd(&rq, &g, tw, th, &next, NULL) == 0 &&
					     next.region.x == c.region.x + c.region.w;
				}
				if (ok && tx + 1 == ntx)
					ok = c.region.x + c.region.w == W;
				if (!ok) {
					printf("    %ux%u: res %d tile %u region %g,%g,%g,%g size %u,%u\n",
					       W, H, r, k, c.region.x, c.region.y, c.region.w, c.region.h,
					       c.size.w, c.size.h);
					EXPECT(0);
					return;
				}
				checked++;
			}
		}
	}
	EXPECT(checked > 3000);
}

/* Commands accepted without being applied are still range-checked, and an
 * unknown command is refused: a 400 rather than a 200 that ignored them. */
static void unapplied_commands_are_range_checked_and_unknown_ones_refused(void)
{
	struct ts_iip_request rq;
	static const char *const bad[] = {
		"FIF=img.tif&CNT=nan&JTL=0,0", "FIF=img.tif&CNT=-1&JTL=0,0",
		"FIF=img.tif&CNT=1e9&JTL=0,0", "FIF=img.tif&GAM=-1&JTL=0,0",
		"FIF=img.tif&GAM=0&JTL=0,0", "FIF=img.tif&SHD=9999&JTL=0,0",
		"FIF=img.tif&SHD=20,300&JTL=0,0", "FIF=img.tif&WID=99999&CVT=jpeg",
		"FIF=img.tif&HEI=65536&CVT=jpeg", "FIF=img.tif&CMP=RAINBOW&JTL=0,0",
		"FIF=img.tif&CTW=rm -rf&JTL=0,0", "FIF=img.tif&FOO=1&JTL=0,0",
		"FOO=1", "FIF=img.tif&OBJ=IIP,1.0&BAR", "",
	};
	static const char *const good[] = {
		"FIF=img.tif&CNT=1.5&GAM=2.2&SHD=20,30&CMP=JET&INV&JTL=0,0",
		"FIF=img.tif&WID=65535&CVT=jpeg", "FIF=img.tif&LYR=3&SDS=0,90&JTL=0,0",
		"FIF=img.tif&CTW=[0.5,0.5,0;0,1,0]&MINMAX=1:0,255&JTL=0,0",
		"DeepZoom=img.tif.dzi&format=json",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		EXPECT_EQ_INT(parse(bad[i], &rq), 400);
		EXPECT(rq.err_code != NULL);
	}
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		EXPECT_EQ_INT(parse(good[i], &rq), 0);
}

int main(void)
{
	A = ts_arena_create();
	RUN(metadata_request_of_iipmooviewer_lists_its_objects);
	RUN(command_names_and_objects_are_case_insensitive);
	RUN(max_size_is_swapped_by_a_quarter_rotation);
	RUN(jtl_counts_resolutions_from_the_smallest_and_tiles_row_by_row);
	RUN(openseadragon_iip_tile_source_requests_work);
	RUN(tile_out_of_range_is_404);
	RUN(viewer_modifiers_are_ignored_and_rotation_kept);
	RUN(cvt_renders_a_fractional_region_at_the_asked_width);
	RUN(cvt_sizes_follow_wid_and_hei);
	RUN(cvt_region_is_clipped_and_an_outside_region_is_400);
	RUN(garbage_is_400_with_an_iip_error_code);
	RUN(unapplied_commands_are_range_checked_and_unknown_ones_refused);
	RUN(iip_error_line_counts_its_bytes_and_is_sanitised);
	RUN(entry_points_pass_the_rest_of_the_path_on_undecoded);
	RUN(every_tile_of_every_resolution_is_inside_and_exact);
	ts_arena_destroy(A);
	return CHECK_DONE();
}
