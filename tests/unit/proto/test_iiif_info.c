/*
 * test_iiif_info.c - info.json for IIIF 3.0 and 2.1: every document is
 * parsed back with jansson and each field compared with what the geometry,
 * limits and encoders say it must be.
 */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "check.h"
#include "tessera/command.h"
#include "tessera/info.h"

/* A vips-style pyramid: 1001 x 750, floor-halved, 256 x 256 tiles. */
static void pyramid(struct ts_source_info *s, uint32_t w, uint32_t h, int n,
                    uint32_t tw, uint32_t th)
{
	int i;

	memset(s, 0, sizeof *s);
	s->width = w;
	s->height = h;
	s->channels = 3;
	s->bits = 8;
	s->nlevels = n;
	s->format = "tiff";
	for (i = 0; i < n; i++) {
		s->levels[i].width = w;
		s->levels[i].height = h;
		s->levels[i].tile_w = tw;
		s->levels[i].tile_h = th;
		w = w / 2 ? w / 2 : 1;
		h = h / 2 ? h / 2 : 1;
	}
}

static void params(struct ts_info_params *p, int version, const struct ts_source_info *s,
                   const struct ts_limits *l)
{
	memset(p, 0, sizeof *p);
	p->version = version;
	p->id = "https://example.org/iiif/3/a%2Fb";
	p->src = s;
	p->limits = l;
	p->formats[TS_FORMAT_JPG] = true;
	p->formats[TS_FORMAT_PNG] = true;
	p->formats[TS_FORMAT_WEBP] = true;
	p->formats[TS_FORMAT_TIF] = true;
}

/* Format p, parse it back; NULL (and a failed expectation) on any error. */
static json_t *info(const struct ts_info_params *p)
{
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	json_error_t jerr;
	json_t *doc = NULL;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_info_format(p, &b, &err), 0);
	if (b.len) {
		doc = json_loadb((const char *)b.data, b.len, 0, &jerr);
		if (!doc)
			printf("    json: %s\n", jerr.text);
	}
	EXPECT(doc != NULL);
	ts_buf_free(&b);
	return doc;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* The string array as "a,b,c" (or "(absent)"), for compact comparisons. */
static const char *joined(json_t *arr)
{
	static char buf[512];
	size_t i;

	if (!json_is_array(arr))
		return "(absent)";
	buf[0] = '\0';
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);

		if (i)
			strcat(buf, ",");
		if (json_is_string(v))
			strncat(buf, json_string_value(v), sizeof buf - strlen(buf) - 1);
		else if (json_is_integer(v))
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%lld",
			         (long long)json_integer_value(v));
		else
			strcat(buf, "?");
	}
	return buf;
}

/* sizes as "WxH,WxH" */
static const char *sizes_of(json_t *doc)
{
	static char buf[512];
	json_t *arr = json_object_get(doc, "sizes");
	size_t i;

	if (!json_is_array(arr))
		return "(absent)";
	buf[0] = '\0';
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *s = json_array_get(arr, i);

		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%lldx%lld", i ? "," : "",
		         num(s, "width"), num(s, "height"));
		if (json_object_size(s) != 2)
			strcat(buf, "(extra keys)");
	}
	return buf;
}

static json_t *tile0(json_t *doc)
{
	json_t *tiles = json_object_get(doc, "tiles");

	EXPECT(json_is_array(tiles));
	EXPECT_EQ_INT(json_array_size(tiles), 1);
	return json_array_get(tiles, 0);
}

static void v3_has_every_required_property_in_order(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;
	const char *first;
	void *it;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	it = json_object_iter(doc);
	first = it ? json_object_iter_key(it) : "";
	EXPECT_EQ_STR(first, "@context");
	EXPECT_EQ_STR(str(doc, "@context"), "http://iiif.io/api/image/3/context.json");
	EXPECT_EQ_STR(str(doc, "id"), "https://example.org/iiif/3/a%2Fb");
	EXPECT_EQ_STR(str(doc, "type"), "ImageService3");
	EXPECT_EQ_STR(str(doc, "protocol"), "http://iiif.io/api/image");
	EXPECT_EQ_STR(str(doc, "profile"), "level2");
	EXPECT_EQ_INT(num(doc, "width"), 1001);
	EXPECT_EQ_INT(num(doc, "height"), 750);
	EXPECT_EQ_STR(joined(json_object_get(doc, "preferredFormats")), "jpg");
	EXPECT(json_object_get(doc, "@id") == NULL);
	json_decref(doc);
}

static void v3_without_limits_prints_no_max_properties(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT(json_object_get(doc, "maxWidth") == NULL);
	EXPECT(json_object_get(doc, "maxHeight") == NULL);
	EXPECT(json_object_get(doc, "maxArea") == NULL);
	json_decref(doc);
}

static void v3_prints_the_configured_limits(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 800, 600, 400000, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_INT(num(doc, "maxWidth"), 800);
	EXPECT_EQ_INT(num(doc, "maxHeight"), 600);
	EXPECT_EQ_INT(num(doc, "maxArea"), 400000);
	json_decref(doc);
}

static void v3_a_height_limit_alone_still_prints_a_max_width(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 600, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	/* 3.0 §5.2: maxWidth MUST be given when maxHeight is. */
	EXPECT_EQ_INT(num(doc, "maxWidth"), 1001);
	EXPECT_EQ_INT(num(doc, "maxHeight"), 600);
	EXPECT(json_object_get(doc, "maxArea") == NULL);
	json_decref(doc);
}

static void v3_sizes_list_every_level_smallest_first(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(sizes_of(doc), "250x187,500x375,1001x750");
	json_decref(doc);
}

static void v3_sizes_over_the_limits_are_left_out_and_max_is_offered(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 3000, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	/* 6000x4000 with levels 3000x2000, 1500x1000: the full size is over
	 * maxWidth, the largest within is 3000x2000 (which is also "max"). */
	pyramid(&s, 6000, 4000, 3, 512, 512);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	/* maxHeight is inferred = maxWidth = 3000: 3000x2000 fits. */
	EXPECT_EQ_STR(sizes_of(doc), "1500x1000,3000x2000");
	EXPECT(json_object_get(doc, "maxHeight") == NULL);
	json_decref(doc);
}

static void v3_the_max_size_is_offered_when_no_level_reaches_it(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 4000, 4000, 0, false };
	struct ts_info_params p;
	json_t *doc;

	uint32_t mw = 0, mh = 0;
	char want[64];

	/* The largest entry is whatever the planner makes of "max" (about
	 * 4000x2667; its rounding is the planner's business). */
	ts_plan_max_size(6000, 4000, &l, false, &mw, &mh);
	EXPECT(mw == 4000 && mh >= 2666 && mh <= 2667);
	snprintf(want, sizeof want, "3000x2000,%ux%u", mw, mh);
	pyramid(&s, 6000, 4000, 2, 512, 512);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(sizes_of(doc), want);
	json_decref(doc);
}

static void v3_an_area_limit_filters_sizes(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 200000, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	/* 500x375 = 187500 fits, 1001x750 does not; max is then offered. */
	EXPECT(strncmp(sizes_of(doc), "250x187,500x375,", 16) == 0);
	EXPECT_EQ_INT(num(doc, "maxArea"), 200000);
	json_decref(doc);
}

static void v3_tiles_use_the_stored_tile_and_power_of_two_factors(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc, *t;

	pyramid(&s, 1001, 750, 4, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	t = tile0(doc);
	EXPECT_EQ_INT(num(t, "width"), 256);
	EXPECT(json_object_get(t, "height") == NULL);   /* equal to width */
	/* 1001/500 = 2.002, 1001/250 = 4.004, 1001/125 = 8.008 */
	EXPECT_EQ_STR(joined(json_object_get(t, "scaleFactors")), "1,2,4,8");
	json_decref(doc);
}

static void v3_non_square_tiles_print_their_height(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc, *t;

	pyramid(&s, 2000, 1000, 2, 512, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	t = tile0(doc);
	EXPECT_EQ_INT(num(t, "width"), 512);
	EXPECT_EQ_INT(num(t, "height"), 256);
	EXPECT_EQ_STR(joined(json_object_get(t, "scaleFactors")), "1,2");
	json_decref(doc);
}

static void v3_scale_factors_stop_where_a_level_breaks_the_halving(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1000, 1000, 4, 256, 256);
	s.levels[2].width = 300;   /* factor 3.33 -> 3, not a power of two */
	s.levels[2].height = 300;
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(joined(json_object_get(tile0(doc), "scaleFactors")), "1,2");
	json_decref(doc);
}

static void v3_odd_ceil_halved_levels_still_round_to_powers_of_two(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 999, 777, 3, 256, 256);
	s.levels[1].width = 500;   /* ceil-halved: 999/500 = 1.998 -> 2 */
	s.levels[1].height = 389;
	s.levels[2].width = 250;
	s.levels[2].height = 195;
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(joined(json_object_get(tile0(doc), "scaleFactors")), "1,2,4");
	EXPECT_EQ_STR(sizes_of(doc), "250x195,500x389,999x777");
	json_decref(doc);
}

static void v3_a_striped_image_gets_virtual_512_tiles_down_to_one_tile(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc, *t;

	pyramid(&s, 3000, 2000, 1, 0, 0);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	t = tile0(doc);
	EXPECT_EQ_INT(num(t, "width"), 512);
	EXPECT(json_object_get(t, "height") == NULL);
	/* 3000/4 = 750 > 512, 3000/8 = 375 fits one tile. */
	EXPECT_EQ_STR(joined(json_object_get(t, "scaleFactors")), "1,2,4,8");
	EXPECT_EQ_STR(sizes_of(doc), "3000x2000");
	json_decref(doc);
}

static void v3_a_small_single_level_image_has_scale_factor_one(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 300, 200, 1, 0, 0);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(joined(json_object_get(tile0(doc), "scaleFactors")), "1");
	json_decref(doc);
}

static void v3_extra_formats_are_the_built_ones_beyond_jpg_and_png(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(joined(json_object_get(doc, "extraFormats")), "webp,tif");
	json_decref(doc);

	p.formats[TS_FORMAT_WEBP] = false;
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(joined(json_object_get(doc, "extraFormats")), "tif");
	json_decref(doc);

	p.formats[TS_FORMAT_TIF] = false;
	doc = info(&p);
	if (!doc)
		return;
	EXPECT(json_object_get(doc, "extraFormats") == NULL);
	json_decref(doc);
}

static void v3_extra_qualities_are_all_beyond_default(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(joined(json_object_get(doc, "extraQualities")), "color,gray,bitonal");
	json_decref(doc);
}

static void v3_size_upscaling_is_advertised_only_when_allowed(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(joined(json_object_get(doc, "extraFeatures")),
	              "canonicalLinkHeader,mirroring,profileLinkHeader,rotationArbitrary");
	json_decref(doc);

	l.allow_upscaling = true;
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(joined(json_object_get(doc, "extraFeatures")),
	              "canonicalLinkHeader,mirroring,profileLinkHeader,rotationArbitrary,"
	              "sizeUpscaling");
	json_decref(doc);
}

static void v3_rights_appear_only_when_set(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	p.rights = "";
	doc = info(&p);
	if (!doc)
		return;
	EXPECT(json_object_get(doc, "rights") == NULL);
	json_decref(doc);

	p.rights = "http://creativecommons.org/licenses/by/4.0/";
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(str(doc, "rights"), "http://creativecommons.org/licenses/by/4.0/");
	EXPECT(json_object_get(doc, "license") == NULL);
	json_decref(doc);
}

static void an_id_with_quotes_and_backslashes_stays_valid_json(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 100, 100, 1, 0, 0);
	params(&p, 3, &s, &l);
	p.id = "http://x/iiif/3/a\"b\\c%n";
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(str(doc, "id"), "http://x/iiif/3/a\"b\\c%n");
	json_decref(doc);
}

static void v2_has_the_2_1_shape(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	json_t *doc, *profile, *desc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 2, &s, &l);
	p.id = "https://example.org/iiif/2/x";
	doc = info(&p);
	if (!doc)
		return;
	EXPECT_EQ_STR(str(doc, "@context"), "http://iiif.io/api/image/2/context.json");
	EXPECT_EQ_STR(str(doc, "@id"), "https://example.org/iiif/2/x");
	EXPECT(json_object_get(doc, "id") == NULL);
	EXPECT(json_object_get(doc, "type") == NULL);
	EXPECT_EQ_STR(str(doc, "protocol"), "http://iiif.io/api/image");
	EXPECT_EQ_INT(num(doc, "width"), 1001);
	EXPECT_EQ_INT(num(doc, "height"), 750);
	profile = json_object_get(doc, "profile");
	EXPECT(json_is_array(profile));
	EXPECT_EQ_INT(json_array_size(profile), 2);
	EXPECT_EQ_STR(json_string_value(json_array_get(profile, 0)),
	              "http://iiif.io/api/image/2/level2.json");
	desc = json_array_get(profile, 1);
	EXPECT(json_is_object(desc));
	EXPECT_EQ_STR(joined(json_object_get(desc, "formats")), "jpg,png,webp,tif");
	EXPECT_EQ_STR(joined(json_object_get(desc, "qualities")), "default,color,gray,bitonal");
	EXPECT_EQ_STR(joined(json_object_get(desc, "supports")),
	              "canonicalLinkHeader,mirroring,profileLinkHeader,regionSquare,"
	              "rotationArbitrary");
	EXPECT(json_object_get(desc, "maxWidth") == NULL);
	EXPECT(json_object_get(desc, "maxArea") == NULL);
	EXPECT_EQ_STR(sizes_of(doc), "250x187,500x375,1001x750");
	EXPECT_EQ_STR(joined(json_object_get(tile0(doc), "scaleFactors")), "1,2,4");
	EXPECT_EQ_INT(num(tile0(doc), "width"), 256);
	EXPECT(json_object_get(doc, "license") == NULL);
	EXPECT(json_object_get(doc, "extraFeatures") == NULL);
	EXPECT(json_object_get(doc, "preferredFormats") == NULL);
	json_decref(doc);
}

static void v2_puts_limits_and_upscaling_in_the_profile_description(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 800, 0, 300000, true };
	struct ts_info_params p;
	json_t *doc, *desc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 2, &s, &l);
	p.rights = "http://rightsstatements.org/vocab/InC/1.0/";
	doc = info(&p);
	if (!doc)
		return;
	desc = json_array_get(json_object_get(doc, "profile"), 1);
	EXPECT_EQ_INT(num(desc, "maxWidth"), 800);
	EXPECT(json_object_get(desc, "maxHeight") == NULL);
	EXPECT_EQ_INT(num(desc, "maxArea"), 300000);
	EXPECT(json_object_get(doc, "maxWidth") == NULL);
	EXPECT_EQ_STR(joined(json_object_get(desc, "supports")),
	              "canonicalLinkHeader,mirroring,profileLinkHeader,regionSquare,"
	              "rotationArbitrary,sizeAboveFull");
	EXPECT_EQ_STR(str(doc, "license"), "http://rightsstatements.org/vocab/InC/1.0/");
	EXPECT(json_object_get(doc, "rights") == NULL);
	/* 1001x750 is over maxWidth; 500x375 = 187500 is within both limits. */
	EXPECT(strncmp(sizes_of(doc), "250x187,500x375", 15) == 0);
	json_decref(doc);
}

static void tiles_larger_than_the_limits_are_not_advertised(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 200, 200, 0, false };
	struct ts_info_params p;
	json_t *doc;

	pyramid(&s, 1001, 750, 3, 256, 256);
	params(&p, 3, &s, &l);
	doc = info(&p);
	if (!doc)
		return;
	EXPECT(json_object_get(doc, "tiles") == NULL);
	json_decref(doc);
}

static void bad_parameters_are_a_500(void)
{
	struct ts_source_info s;
	struct ts_limits l = { 0, 0, 0, false };
	struct ts_info_params p;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;

	pyramid(&s, 100, 100, 1, 0, 0);
	params(&p, 4, &s, &l);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_info_format(&p, &b, &err), 500);
	EXPECT_EQ_INT(b.len, 0);

	params(&p, 3, &s, &l);
	p.rights = "\xff\xfe not utf-8";
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_info_format(&p, &b, &err), 500);
	EXPECT_EQ_STR(err.msg, "cannot describe image");
	ts_buf_free(&b);
}

int main(void)
{
	RUN(v3_has_every_required_property_in_order);
	RUN(v3_without_limits_prints_no_max_properties);
	RUN(v3_prints_the_configured_limits);
	RUN(v3_a_height_limit_alone_still_prints_a_max_width);
	RUN(v3_sizes_list_every_level_smallest_first);
	RUN(v3_sizes_over_the_limits_are_left_out_and_max_is_offered);
	RUN(v3_the_max_size_is_offered_when_no_level_reaches_it);
	RUN(v3_an_area_limit_filters_sizes);
	RUN(v3_tiles_use_the_stored_tile_and_power_of_two_factors);
	RUN(v3_non_square_tiles_print_their_height);
	RUN(v3_scale_factors_stop_where_a_level_breaks_the_halving);
	RUN(v3_odd_ceil_halved_levels_still_round_to_powers_of_two);
	RUN(v3_a_striped_image_gets_virtual_512_tiles_down_to_one_tile);
	RUN(v3_a_small_single_level_image_has_scale_factor_one);
	RUN(v3_extra_formats_are_the_built_ones_beyond_jpg_and_png);
	RUN(v3_extra_qualities_are_all_beyond_default);
	RUN(v3_size_upscaling_is_advertised_only_when_allowed);
	RUN(v3_rights_appear_only_when_set);
	RUN(an_id_with_quotes_and_backslashes_stays_valid_json);
	RUN(v2_has_the_2_1_shape);
	RUN(v2_puts_limits_and_upscaling_in_the_profile_description);
	RUN(tiles_larger_than_the_limits_are_not_advertised);
	RUN(bad_parameters_are_a_500);
	return CHECK_DONE();
}
