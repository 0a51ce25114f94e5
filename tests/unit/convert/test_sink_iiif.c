/*
 * test_sink_iiif.c - the IIIF level-0 tree, driven with a synthetic
 * pyramid: info.json (3.0) and v2/info.json (2.1) say level 0, the id,
 * sizes = the levels and tiles = {width, scaleFactors}; "tiles" is what
 * the server's own info.json (ts_info_format) says for the same image
 * stored flat with the same tile size; every URL OpenSeadragon 5's
 * IIIFTileSource derives from the document (its getTileUrl, written out
 * again below) exists, decodes to the size it promises and holds the
 * level's pixels within JPEG tolerance; the full/ images exist at every
 * listed size.
 */
#include <math.h>
#include <jansson.h>
#include "check.h"
#include "pyramid_fixture.h"
#include "tessera/info.h"

static char tmp[256];

static json_t *load(const char *root, const char *rel)
{
	char path[1024];
	json_error_t je;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	return json_load_file(path, 0, &je);
}

/* OpenSeadragon 5.0.1 IIIFTileSource.getTileUrl (tiled branch and the
 * "level smaller than a tile" branch), for version 2 or 3. */
static void osd_url(int version, uint32_t W, uint32_t H, uint32_t ts, int maxLevel, int level,
                    uint32_t levelW, uint32_t levelH, uint32_t x, uint32_t y, char *out,
                    size_t n)
{
	double scale = pow(0.5, maxLevel - level);
	char region[64], size[32];

	if (levelW < ts && levelH < ts) {
		if (version == 2 && levelW == W)
			snprintf(size, sizeof size, "full");
		else if (version == 3 && levelW == W && levelH == H)
			snprintf(size, sizeof size, "max");
		else if (version == 3)
			snprintf(size, sizeof size, "%u,%u", levelW, levelH);
		else
			snprintf(size, sizeof size, "%u,", levelW);
		snprintf(region, sizeof region, "full");
	} else {
		uint32_t tsw = (uint32_t)lround(ts / scale);
		uint32_t tx = x * tsw, ty = y * tsw;
		uint32_t tw = tsw < W - tx ? tsw : W - tx, th = tsw < H - ty ? tsw : H - ty;
		uint32_t sw = ts < levelW - x * ts ? ts : levelW - x * ts;
		uint32_t sh = ts < levelH - y * ts ? ts : levelH - y * ts;
		if (x == 0 && y == 0 && tw == W && th == H)
			snprintf(region, sizeof region, "full");
		else
			snprintf(region, sizeof region, "%u,%u,%u,%u", tx, ty, tw, th);
		if (version == 2 && sw == W)
			snprintf(size, sizeof size, "full");
		else if (version == 3 && sw == W && sh == H)
			snprintf(size, sizeof size, "max");
		else if (version == 3)
			snprintf(size, sizeof size, "%u,%u", sw, sh);
		else
			snprintf(size, sizeof size, "%u,", sw);
	}
	snprintf(out, n, "%s/%s/0/default.jpg", region, size);
}

static void check_tree(const char *name, uint32_t w, uint32_t h, int ch, uint32_t tile)
{
	struct fixture f;
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;
	char out[512], path[1024], url[256];
	json_t *info3, *info2;
	int nl, missing = 0, bad_size = 0, bad_pixels = 0;
	double worst = 0;

	fixture_make(&f, w, h, ch, tile);
	fixture_opts(&o, TS_CONVERT_IIIF);
	o.tile = tile;
	o.base_url = "http://example.org/iiif/";
	o.iiif_id = name;
	snprintf(out, sizeof out, "%s/%s", tmp, name);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_iiif_new(out, &o, &s, &e), TS_OK);
	EXPECT_EQ_INT(fixture_drive(&f, s, 41, &e), TS_OK);
	s->destroy(s);
	nl = f.g.nlevels;

	info3 = load(out, "info.json");
	info2 = load(out, "v2/info.json");
	EXPECT(info3 && info2);
	if (!info3 || !info2)
		goto done;
	{
		char id[300];
		snprintf(id, sizeof id, "http://example.org/iiif/%s", name);
		EXPECT_EQ_STR(json_string_value(json_object_get(info3, "id")), id);
		EXPECT_EQ_STR(json_string_value(json_object_get(info2, "@id")), id);
	}
	EXPECT_EQ_STR(json_string_value(json_object_get(info3, "profile")), "level0");
	EXPECT_EQ_STR(json_string_value(json_object_get(info3, "type")), "ImageService3");
	EXPECT_EQ_STR(json_string_value(json_array_get(json_object_get(info2, "profile"), 0)),
	              "http://iiif.io/api/image/2/level0.json");
	EXPECT_EQ_INT(json_integer_value(json_object_get(info3, "width")), w);
	EXPECT_EQ_INT(json_integer_value(json_object_get(info3, "height")), h);
	/* sizes: every level, smallest first */
	{
		json_t *sizes = json_object_get(info3, "sizes");
		EXPECT_EQ_INT(json_array_size(sizes), nl);
		for (int i = 0; i < nl && i < (int)json_array_size(sizes); i++) {
			json_t *sz = json_array_get(sizes, (size_t)i);
			uint32_t sw = (uint32_t)json_integer_value(json_object_get(sz, "width"));
			uint32_t sh = (uint32_t)json_integer_value(json_object_get(sz, "height"));
			struct ts_image t;
			EXPECT_EQ_INT(sw, f.g.width[nl - 1 - i]);
			EXPECT_EQ_INT(sh, f.g.height[nl - 1 - i]);
			/* full/ in both spellings (v2's "w," only where the width is
			 * not also a smaller level's) */
			int shared = 0;
			for (int j = 0; j < i; j++)
				shared |= f.g.width[nl - 1 - j] == sw;
			for (int v = 0; v < 2 - shared; v++) {
				if (v == 0)
					snprintf(path, sizeof path, "%s/full/%u,%u/0/default.jpg", out, sw, sh);
				else
					snprintf(path, sizeof path, "%s/full/%u,/0/default.jpg", out, sw);
				if (fixture_read(path, &t) != 0) {
					printf("    missing %s\n", path);
					missing++;
					continue;
				}
				if (t.width != sw || t.height != sh)
					bad_size++;
				if (fixture_diff(&t, &f.level[nl - 1 - i], 0, 0) > 10.0)
					bad_pixels++;
				ts_image_free(&t);
			}
		}
		snprintf(path, sizeof path, "%s/full/max/0/default.jpg", out);
		EXPECT(fixture_exists(path));
		snprintf(path, sizeof path, "%s/full/full/0/default.jpg", out);
		EXPECT(fixture_exists(path));
		if (w > 16)
			EXPECT(json_equal(sizes, json_object_get(info2, "sizes")));
		else
			EXPECT(json_array_size(json_object_get(info2, "sizes")) <= json_array_size(sizes));
	}
	/* tiles: the server's answer for the same image stored flat */
	{
		struct ts_source_info si;
		struct ts_info_params p;
		struct ts_buf doc = TS_BUF_INIT;
		json_t *srv;
		json_error_t je;

		memset(&si, 0, sizeof si);
		memset(&p, 0, sizeof p);
		si.width = w;
		si.height = h;
		si.channels = ch;
		si.bits = 8;
		si.nlevels = 1;
		si.levels[0].width = w;
		si.levels[0].height = h;
		si.format = "jpeg";
		p.version = 3;
		p.id = "http://example.org/x";
		p.src = &si;
		p.formats[0] = true;
		EXPECT_EQ_INT(ts_info_format(&p, &doc, &e), TS_OK);
		srv = json_loadb((const char *)doc.data, doc.len, 0, &je);
		if (tile == 512)
			EXPECT(json_equal(json_object_get(srv, "tiles"), json_object_get(info3, "tiles")));
		EXPECT(json_equal(json_object_get(info2, "tiles"), json_object_get(info3, "tiles")));
		json_decref(srv);
		ts_buf_free(&doc);
	}
	/* every tile URL OpenSeadragon asks for, v3 and v2 */
	for (int v = 2; v <= 3; v++) {
		int maxLevel = nl - 1;
		for (int level = 0; level <= maxLevel; level++) {
			int k = maxLevel - level;
			uint32_t lw = f.g.width[k], lh = f.g.height[k];
			uint32_t nx = (lw + tile - 1) / tile, ny = (lh + tile - 1) / tile;
			for (uint32_t y = 0; y < ny; y++)
				for (uint32_t x = 0; x < nx; x++) {
					struct ts_image t;
					double d;
					uint32_t ew = tile < lw - x * tile ? tile : lw - x * tile;
					uint32_t eh = tile < lh - y * tile ? tile : lh - y * tile;
					osd_url(v, w, h, tile, maxLevel, level, lw, lh, x, y, url, sizeof url);
					snprintf(path, sizeof path, "%s/%s", out, url);
					if (fixture_read(path, &t) != 0) {
						printf("    missing %s\n", url);
						missing++;
						continue;
					}
					if (t.width != ew || t.height != eh) {
						printf("    %s is %ux%u, expected %ux%u\n", url, t.width, t.height, ew, eh);
						bad_size++;
					}
					d = fixture_diff(&t, &f.level[k], x * tile, y * tile);
					if (d > worst)
						worst = d;
					if (d > 10.0)
						bad_pixels++;
					ts_image_free(&t);
				}
		}
	}
	if (missing || bad_size || bad_pixels)
		printf("    %s: %d missing, %d wrong sizes, %d off (worst mean diff %.2f)\n", name,
		       missing, bad_size, bad_pixels, worst);
	EXPECT_EQ_INT(missing, 0);
	EXPECT_EQ_INT(bad_size, 0);
	EXPECT_EQ_INT(bad_pixels, 0);
done:
	json_decref(info3);
	json_decref(info2);
	fixture_free(&f);
}

static void one_pixel_image(void)
{
	check_tree("one", 1, 1, 3, 512);
}

static void a_257x1_line(void)
{
	check_tree("line", 257, 1, 3, 256);
}

static void rgb_with_512_tiles_says_what_the_server_says(void)
{
	check_tree("rgb", 1500, 1025, 3, 512);
}

static void gray_with_256_tiles(void)
{
	check_tree("gray", 700, 300, 1, 256);
}

static void rgba_is_flattened_on_white(void)
{
	check_tree("rgba", 600, 513, 4, 256);
}

static void a_tall_thin_image_asks_for_full_width_tiles(void)
{
	check_tree("thin", 3, 1300, 3, 256);
}

static void a_last_1x1_tile_shared_by_two_levels_keeps_its_bytes(void)
{
	/* 257x129, tiles of 16: the last tile of factors 1 and 2 is the same
	 * URL "256,128,1,1/1,1" */
	check_tree("shared", 257, 129, 3, 16);
}

static void no_base_url_is_refused(void)
{
	struct ts_convert_opts o;
	struct ts_level_sink *s = NULL;
	struct ts_error e;

	fixture_opts(&o, TS_CONVERT_IIIF);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_sink_iiif_new("/tmp/x", &o, &s, &e), TS_EBADREQUEST);
	EXPECT(s == NULL);
}

int main(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/ts-iiif-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(one_pixel_image);
	RUN(a_257x1_line);
	RUN(rgb_with_512_tiles_says_what_the_server_says);
	RUN(gray_with_256_tiles);
	RUN(rgba_is_flattened_on_white);
	RUN(a_tall_thin_image_asks_for_full_width_tiles);
	RUN(a_last_1x1_tile_shared_by_two_levels_keeps_its_bytes);
	RUN(no_base_url_is_refused);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("    could not remove %s\n", tmp);
	}
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
