/*
 * test_iiif_image.c - the IIIF URL parser: every route shape, every valid
 * parameter form of IIIF Image API 3.0 and 2.1, and each class of garbage,
 * which must be exactly 400 (or 404 for paths that are no IIIF route).
 */
#include <stdint.h>
#include "check.h"
#include "tessera/arena.h"
#include "tessera/command.h"
#include "tessera/status.h"

static struct ts_arena *arena;
static struct ts_error last_err;

static ts_status parse_v(const char *path, int defv, struct ts_iiif_request *r)
{
	ts_error_clear(&last_err);
	ts_status st = ts_iiif_parse(path, defv, arena, r, &last_err);
	if (st != TS_OK) {
		/* A failure always explains itself. */
		EXPECT_EQ_INT(last_err.status, st);
		EXPECT(last_err.msg[0] != '\0');
	}
	return st;
}

static ts_status parse(const char *path, struct ts_iiif_request *r)
{
	return parse_v(path, 3, r);
}

static ts_status status_of(const char *path)
{
	struct ts_iiif_request r;
	return parse(path, &r);
}

/* Status of an image request "/3/id/{params}" (or "/2/id/..."). */
static ts_status status_v3(const char *params)
{
	char buf[512];
	snprintf(buf, sizeof buf, "/3/id/%s", params);
	return status_of(buf);
}

static ts_status status_v2(const char *params)
{
	char buf[512];
	snprintf(buf, sizeof buf, "/2/id/%s", params);
	return status_of(buf);
}

/* ---- routes -------------------------------------------------------- */

static void image_url_with_version_3_parses_every_field(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/abc/125,15,120,140/90,/!345/gray.png", &r), 0);
	EXPECT_EQ_INT(r.route, TS_IIIF_IMAGE);
	EXPECT_EQ_INT(r.version, 3);
	EXPECT(r.version_in_url);
	EXPECT_EQ_STR(r.identifier, "abc");
	EXPECT_EQ_STR(r.identifier_raw, "abc");
	EXPECT_EQ_INT(r.cmd.version, 3);
	EXPECT_EQ_INT(r.cmd.region.kind, TS_REGION_PIXELS);
	EXPECT_EQ_INT(r.cmd.region.x, 125);
	EXPECT_EQ_INT(r.cmd.region.y, 15);
	EXPECT_EQ_INT(r.cmd.region.w, 120);
	EXPECT_EQ_INT(r.cmd.region.h, 140);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_W);
	EXPECT_EQ_INT(r.cmd.size.w, 90);
	EXPECT_EQ_INT(r.cmd.size.h, 0);
	EXPECT(!r.cmd.size.upscale);
	EXPECT(r.cmd.rotation.mirror);
	EXPECT(r.cmd.rotation.degrees == 345.0);
	EXPECT_EQ_INT(r.cmd.quality, TS_QUALITY_GRAY);
	EXPECT_EQ_INT(r.cmd.format, TS_FORMAT_PNG);
}

static void info_json_with_version_2_is_the_info_route(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/2/abc/info.json", &r), 0);
	EXPECT_EQ_INT(r.route, TS_IIIF_INFO);
	EXPECT_EQ_INT(r.version, 2);
	EXPECT(r.version_in_url);
	EXPECT_EQ_STR(r.identifier, "abc");
}

static void base_uri_is_the_base_route(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/abc", &r), 0);
	EXPECT_EQ_INT(r.route, TS_IIIF_BASE);
	EXPECT_EQ_STR(r.identifier, "abc");
	EXPECT_EQ_INT(parse("/abc", &r), 0);
	EXPECT_EQ_INT(r.route, TS_IIIF_BASE);
	EXPECT(!r.version_in_url);
}

static void default_version_applies_without_a_version_segment(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse_v("/abc/info.json", 2, &r), 0);
	EXPECT_EQ_INT(r.version, 2);
	EXPECT(!r.version_in_url);
	EXPECT_EQ_INT(parse_v("/abc/full/full/0/default.jpg", 2, &r), 0);
	EXPECT_EQ_INT(r.cmd.version, 2);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_FULL);
	EXPECT_EQ_INT(parse_v("/abc/full/max/0/default.jpg", 3, &r), 0);
	EXPECT_EQ_INT(r.version, 3);
	/* With default 3, the 2.1-only "full" size is a 400. */
	EXPECT_EQ_INT(parse_v("/abc/full/full/0/default.jpg", 3, &r), 400);
}

static void a_lone_version_digit_is_an_identifier(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse_v("/3", 2, &r), 0);
	EXPECT_EQ_INT(r.route, TS_IIIF_BASE);
	EXPECT_EQ_STR(r.identifier, "3");
	EXPECT_EQ_INT(r.version, 2);
	EXPECT(!r.version_in_url);
	/* "/2/info.json": version 2, then the base URI of "info.json". */
	EXPECT_EQ_INT(parse_v("/2/info.json", 3, &r), 0);
	EXPECT_EQ_INT(r.route, TS_IIIF_BASE);
	EXPECT_EQ_INT(r.version, 2);
	EXPECT_EQ_STR(r.identifier, "info.json");
}

static void version_must_be_exactly_2_or_3(void)
{
	struct ts_iiif_request r;
	/* "03", "4", "3.0" are identifiers, so these have 3 segments: 404. */
	EXPECT_EQ_INT(status_of("/03/abc/info.json"), 404);
	EXPECT_EQ_INT(status_of("/4/abc/info.json"), 404);
	EXPECT_EQ_INT(status_of("/3.0/abc/info.json"), 404);
	EXPECT_EQ_INT(parse("/4/info.json", &r), 0);
	EXPECT_EQ_STR(r.identifier, "4");
	EXPECT_EQ_INT(r.route, TS_IIIF_INFO);
}

static void percent_encoded_slash_is_decoded_once(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/a%2Fb/info.json", &r), 0);
	EXPECT_EQ_STR(r.identifier, "a/b");
	EXPECT_EQ_STR(r.identifier_raw, "a%2Fb");
	EXPECT_EQ_INT(parse("/3/a%2fb/info.json", &r), 0);
	EXPECT_EQ_STR(r.identifier, "a/b");
	/* Once, not twice. */
	EXPECT_EQ_INT(parse("/3/a%252Fb/info.json", &r), 0);
	EXPECT_EQ_STR(r.identifier, "a%2Fb");
	EXPECT_EQ_STR(r.identifier_raw, "a%252Fb");
}

static void plus_stays_plus_in_the_identifier(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/a+b%20c/info.json", &r), 0);
	EXPECT_EQ_STR(r.identifier, "a+b c");
	EXPECT_EQ_STR(r.identifier_raw, "a+b%20c");
}

static void spec_uri_encoding_examples_decode_as_the_spec_says(void)
{
	/* IIIF Image API 3.0 section 9, the table of examples. */
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/ark:%2F12025%2F654xz321/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_STR(r.identifier, "ark:/12025/654xz321");
	EXPECT_EQ_INT(parse("/3/urn:foo:a123,456/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_STR(r.identifier, "urn:foo:a123,456");
	EXPECT_EQ_INT(parse("/3/urn:sici:1046-8188(199501)13:1%253C69:FTTHBI%253E2.0.TX;2-4/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_STR(r.identifier, "urn:sici:1046-8188(199501)13:1%3C69:FTTHBI%3E2.0.TX;2-4");
	EXPECT_EQ_INT(parse("/3/http:%2F%2Fexample.com%2F%3F54%23a/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_STR(r.identifier, "http://example.com/?54#a");
	EXPECT_EQ_INT(parse("/3/id1/0,10,100,200/pct:50/90/default.png", &r), 0);
	EXPECT_EQ_INT(parse("/3/id1/pct:10,10,80,80/50,/22.5/color.jpg", &r), 0);
	EXPECT(r.cmd.rotation.degrees == 22.5);
	EXPECT_EQ_INT(parse("/3/bb157hs6068/full/max/270/gray.jpg", &r), 0);
}

static void unescaped_slash_in_identifier_is_404(void)
{
	EXPECT_EQ_INT(status_of("/3/a/b/info.json"), 404);
	EXPECT_EQ_INT(status_of("/3/a/b/full/max/0/default.jpg"), 404);
	EXPECT_EQ_INT(status_of("/a/b/info.json"), 404);
}

static void malformed_escape_is_400(void)
{
	EXPECT_EQ_INT(status_of("/3/a%2/info.json"), 400);
	EXPECT_EQ_INT(status_of("/3/a%/info.json"), 400);
	EXPECT_EQ_INT(status_of("/3/a%zz/info.json"), 400);
	EXPECT_EQ_INT(status_of("/3/a%G1/info.json"), 400);
	EXPECT_EQ_INT(status_of("/3/%/full/max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_of("/3/abc%2"), 400);
}

static void encoded_nul_in_identifier_is_404(void)
{
	EXPECT_EQ_INT(status_of("/3/a%00b/info.json"), 404);
	EXPECT_EQ_INT(status_of("/3/%00/full/max/0/default.jpg"), 404);
}

static void empty_segments_and_trailing_slashes_are_404(void)
{
	EXPECT_EQ_INT(status_of(""), 404);
	EXPECT_EQ_INT(status_of("/"), 404);
	EXPECT_EQ_INT(status_of("//"), 404);
	EXPECT_EQ_INT(status_of("/3/"), 404);
	EXPECT_EQ_INT(status_of("/3//info.json"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/info.json/"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/full/max/0/default.jpg/"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/full//0/default.jpg"), 404);
	EXPECT_EQ_INT(status_of("3/abc/info.json"), 404);
	struct ts_iiif_request r;
	EXPECT_EQ_INT(ts_iiif_parse(NULL, 3, arena, &r, NULL), 404);
}

static void wrong_segment_counts_are_404(void)
{
	EXPECT_EQ_INT(status_of("/3/abc/info.xml"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/full"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/full/max"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/full/max/0"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/full/max/0/default.jpg/extra"), 404);
	EXPECT_EQ_INT(status_of("/3/abc/info.json/info.json"), 404);
	EXPECT_EQ_INT(status_of("/3/a/b/c/d/e/f/g/h/i/j/k"), 404);
}

/* ---- region -------------------------------------------------------- */

static void every_region_form_parses(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.region.kind, TS_REGION_FULL);
	EXPECT_EQ_INT(parse("/3/i/square/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.region.kind, TS_REGION_SQUARE);
	EXPECT_EQ_INT(parse("/3/i/0,0,1,1/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.region.kind, TS_REGION_PIXELS);
	EXPECT_EQ_INT(parse("/3/i/pct:41.6,7.5,40,70/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.region.kind, TS_REGION_PCT);
	EXPECT(r.cmd.region.x == 41.6);
	EXPECT(r.cmd.region.y == 7.5);
	EXPECT(r.cmd.region.w == 40.0);
	EXPECT(r.cmd.region.h == 70.0);
	EXPECT_EQ_INT(parse("/2/i/pct:10.5,0,100,100/full/0/default.jpg", &r), 0);
	EXPECT(r.cmd.region.x == 10.5);
}

static void pixel_values_accept_leading_zeros_and_the_full_uint32_range(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/i/007,0000,0512,512/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.region.x, 7);
	EXPECT_EQ_INT(r.cmd.region.w, 512);
	EXPECT_EQ_INT(parse("/3/i/4294967295,0,4294967295,1/max/0/default.jpg", &r), 0);
	EXPECT(r.cmd.region.x == 4294967295.0);
	EXPECT_EQ_INT(status_v3("4294967296,0,1,1/max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("0,0,99999999999999999999999,1/max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/4294967296,/0/default.jpg"), 400);
	EXPECT_EQ_INT(parse("/3/i/full/4294967295,/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.w, 4294967295u);
}

static void region_garbage_is_400(void)
{
	static const char *bad[] = {
		"Full", "FULL", "ful", "full ", " full", "squares", "0,0,1", "0,0,1,1,1",
		"0,0,1,1,", ",0,1,1", "0,,1,1", "-1,0,1,1", "+1,0,1,1", "0x10,0,1,1",
		"1e2,0,1,1", "1.5,0,1,1", "0,0,1 ,1", "pct:", "pct:0,0,100", "pct:0,0,100,100,1",
		"pct:-1,0,10,10", "pct:+1,0,10,10", "pct:1e1,0,10,10", "pct:nan,0,10,10",
		"pct:inf,0,10,10", "pct:0,0,.,10", "pct:0,0,1.2.3,10", "pct:0,0,10,10 ",
		"PCT:0,0,10,10", "pct0,0,10,10", "pct:,0,10,10", "nan,0,1,1", "0,0,1,1%20",
		"99999999999.5,0,1,1", "pct:99999999999,0,1,1", "%", "%2",
	};
	size_t i;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[256];
		snprintf(buf, sizeof buf, "%s/max/0/default.jpg", bad[i]);
		ts_status st = status_v3(buf);
		if (st != 400)
			printf("    region \"%s\" -> %d\n", bad[i], st);
		EXPECT_EQ_INT(st, 400);
	}
}

static void region_of_zero_width_or_height_is_400(void)
{
	EXPECT_EQ_INT(status_v3("0,0,0,10/max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("0,0,10,0/max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("pct:0,0,0,10/max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("pct:0,0,10,0.0/max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v2("pct:0,0,10,000/full/0/default.jpg"), 400);
}

static void decimals_follow_the_floating_point_rules(void)
{
	/* 3.0 section 4.7: only digits and "."; leading 0 and no trailing
	 * zeros are SHOULDs, so ".5" and "5.50" are tolerated. */
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/i/pct:.5,5.,05.50,0.25/max/0/default.jpg", &r), 0);
	EXPECT(r.cmd.region.x == 0.5);
	EXPECT(r.cmd.region.y == 5.0);
	EXPECT(r.cmd.region.w == 5.5);
	EXPECT(r.cmd.region.h == 0.25);
	EXPECT_EQ_INT(parse("/3/i/pct:0.000000000000000000000000001,0,1,1/max/0/default.jpg", &r), 0);
	EXPECT(r.cmd.region.x >= 0 && r.cmd.region.x < 1e-17);
	EXPECT_EQ_INT(parse("/3/i/pct:0,0,33.333333333333333333333333,1/max/0/default.jpg", &r), 0);
	EXPECT(r.cmd.region.w > 33.3333333 && r.cmd.region.w < 33.3333334);
}

/* ---- size ---------------------------------------------------------- */

static void every_size_form_parses_in_version_3(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_MAX);
	EXPECT(!r.cmd.size.upscale);
	EXPECT_EQ_INT(parse("/3/i/full/^max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_MAX);
	EXPECT(r.cmd.size.upscale);
	EXPECT_EQ_INT(parse("/3/i/full/150,/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_W);
	EXPECT_EQ_INT(r.cmd.size.w, 150);
	EXPECT_EQ_INT(parse("/3/i/full/,150/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_H);
	EXPECT_EQ_INT(r.cmd.size.h, 150);
	EXPECT_EQ_INT(parse("/3/i/full/pct:50/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_PCT);
	EXPECT(r.cmd.size.pct == 50.0);
	EXPECT_EQ_INT(parse("/3/i/full/225,100/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_WH);
	EXPECT_EQ_INT(r.cmd.size.w, 225);
	EXPECT_EQ_INT(r.cmd.size.h, 100);
	EXPECT_EQ_INT(parse("/3/i/full/!225,100/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_FIT);
	EXPECT_EQ_INT(parse("/3/i/full/^360,/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_W);
	EXPECT(r.cmd.size.upscale);
	EXPECT_EQ_INT(parse("/3/i/full/^,240/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_H);
	EXPECT(r.cmd.size.upscale);
	EXPECT_EQ_INT(parse("/3/i/full/^pct:120/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_PCT);
	EXPECT(r.cmd.size.pct == 120.0);
	EXPECT_EQ_INT(parse("/3/i/full/^360,360/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_WH);
	EXPECT(r.cmd.size.upscale);
	EXPECT_EQ_INT(parse("/3/i/full/^!360,360/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_FIT);
	EXPECT(r.cmd.size.upscale);
	/* Syntactically fine; whether it upscales is the planner's call. */
	EXPECT_EQ_INT(parse("/3/i/full/pct:120/0/default.jpg", &r), 0);
}

static void every_size_form_parses_in_version_2(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/2/i/full/full/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_FULL);
	EXPECT_EQ_INT(parse("/2/i/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_MAX);
	EXPECT_EQ_INT(parse("/2/i/full/150,/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_W);
	EXPECT_EQ_INT(parse("/2/i/full/,150/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_H);
	EXPECT_EQ_INT(parse("/2/i/full/pct:50/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_PCT);
	EXPECT_EQ_INT(parse("/2/i/full/225,100/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_WH);
	EXPECT_EQ_INT(parse("/2/i/full/!225,100/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_FIT);
	EXPECT_EQ_INT(r.cmd.version, 2);
}

static void full_size_is_400_in_version_3_and_caret_is_400_in_version_2(void)
{
	EXPECT_EQ_INT(status_v3("full/full/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/^full/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v2("full/^max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v2("full/^150,/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v2("full/^!150,150/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v2("full/^pct:50/0/default.jpg"), 400);
}

static void size_garbage_is_400(void)
{
	static const char *bad[] = {
		",", "Max", "max ", "^", "^^max", "!^150,150", "!150,", "!,150", "!max",
		"150", "150,,", ",,150", "150,150,", "-150,", "+150,", "150.5,", "1e2,",
		"0x96,", "0,", ",0", "0,10", "10,0", "!0,10", "pct:", "pct:0", "pct:0.0",
		"pct:-5", "pct:+5", "pct:5%", "pct:nan", "pct:inf", "pct:1e2", "pct:50,",
		"pct:.", "pct 50", "max,", "^ max", "150 ,", "\t150,", "150,%",
	};
	size_t i;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[256];
		snprintf(buf, sizeof buf, "full/%s/0/default.jpg", bad[i]);
		ts_status st = status_v3(buf);
		if (st != 400)
			printf("    size \"%s\" -> %d\n", bad[i], st);
		EXPECT_EQ_INT(st, 400);
		st = status_v2(buf);
		if (st != 400)
			printf("    2.1 size \"%s\" -> %d\n", bad[i], st);
		EXPECT_EQ_INT(st, 400);
	}
}

/* ---- rotation ------------------------------------------------------ */

static void every_rotation_form_parses(void)
{
	struct ts_iiif_request r;
	static const struct { const char *s; double deg; bool mirror; } ok[] = {
		{ "0", 0, false }, { "90", 90, false }, { "180", 180, false },
		{ "270", 270, false }, { "22.5", 22.5, false }, { "!0", 0, true },
		{ "!180", 180, true }, { "!345", 345, true }, { "360", 360, false },
		{ "360.0", 360, false }, { "0.5", 0.5, false }, { ".5", 0.5, false },
		{ "090", 90, false }, { "!22.50", 22.5, true },
	};
	size_t i;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char buf[128];
		snprintf(buf, sizeof buf, "/3/i/full/max/%s/default.jpg", ok[i].s);
		EXPECT_EQ_INT(parse(buf, &r), 0);
		EXPECT(r.cmd.rotation.degrees == ok[i].deg);
		EXPECT(r.cmd.rotation.mirror == ok[i].mirror);
	}
}

static void rotation_garbage_is_400(void)
{
	static const char *bad[] = {
		"!", "!!90", "361", "360.0001", "-1", "-0", "+90", "1e2", "nan", "inf",
		"90 ", " 90", "90deg", "0x5A", ".", "1.2.3", "9,0", "!-90", "99999999999",
	};
	size_t i;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[128];
		snprintf(buf, sizeof buf, "full/max/%s/default.jpg", bad[i]);
		ts_status st = status_v3(buf);
		if (st != 400)
			printf("    rotation \"%s\" -> %d\n", bad[i], st);
		EXPECT_EQ_INT(st, 400);
	}
}

/* ---- quality and format -------------------------------------------- */

static void every_quality_parses(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.quality, TS_QUALITY_DEFAULT);
	EXPECT_EQ_INT(parse("/3/i/full/max/0/color.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.quality, TS_QUALITY_COLOR);
	EXPECT_EQ_INT(parse("/3/i/full/max/0/gray.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.quality, TS_QUALITY_GRAY);
	EXPECT_EQ_INT(parse("/2/i/full/full/0/bitonal.png", &r), 0);
	EXPECT_EQ_INT(r.cmd.quality, TS_QUALITY_BITONAL);
}

static void quality_garbage_is_400(void)
{
	EXPECT_EQ_INT(status_v3("full/max/0/Default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/colour.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/grey.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/native.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/default"), 400);
}

static void implemented_formats_parse(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.format, TS_FORMAT_JPG);
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.png", &r), 0);
	EXPECT_EQ_INT(r.cmd.format, TS_FORMAT_PNG);
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.webp", &r), 0);
	EXPECT_EQ_INT(r.cmd.format, TS_FORMAT_WEBP);
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.tif", &r), 0);
	EXPECT_EQ_INT(r.cmd.format, TS_FORMAT_TIF);
}

static void gif_jp2_and_pdf_parse_like_the_other_formats(void)
{
	struct ts_iiif_request r;

	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.gif", &r), 0);
	EXPECT_EQ_INT(r.cmd.format, TS_FORMAT_GIF);
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.jp2", &r), 0);
	EXPECT_EQ_INT(r.cmd.format, TS_FORMAT_JP2);
	EXPECT_EQ_INT(parse("/3/i/full/max/0/default.pdf", &r), 0);
	EXPECT_EQ_INT(r.cmd.format, TS_FORMAT_PDF);
	EXPECT_EQ_INT(status_v2("full/full/0/default.pdf"), 0);
}

static void unknown_formats_are_400(void)
{
	EXPECT_EQ_INT(status_v3("full/max/0/default.jpeg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/default.JPG"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/default."), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/default.jpg.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/default.bmp"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/default.jpg%20"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/default.tiff"), 400);
}

static void a_malformed_parameter_is_400_whatever_the_format(void)
{
	EXPECT_EQ_INT(status_v3("bad/max/0/default.gif"), 400);
	EXPECT_EQ_INT(status_v3("full/bad/0/default.pdf"), 400);
	EXPECT_EQ_INT(status_v3("full/max/bad/default.jp2"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/bad.gif"), 400);
}

static void percent_encoded_parameters_are_decoded_once(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/i/full/%21300,300/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.size.kind, TS_SIZE_FIT);
	EXPECT_EQ_INT(parse("/3/i/pct%3A10,10,80,80/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(r.cmd.region.kind, TS_REGION_PCT);
	EXPECT_EQ_INT(parse("/3/i/full/%5Emax/0/default.jpg", &r), 0);
	EXPECT(r.cmd.size.upscale);
	EXPECT_EQ_INT(status_v3("full/%2/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/%00/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0%2F/default.jpg"), 400);
	EXPECT_EQ_INT(status_v3("full/max/0/default%2Ejpg"), 0);
}

static void request_text_with_printf_directives_is_harmless(void)
{
	EXPECT_EQ_INT(status_v3("%n%n%s/max/0/default.jpg"), 400);
	EXPECT_EQ_INT(status_of("/3/%25n%25s%25n/info.json"), 0);
	EXPECT_EQ_INT(status_v3("full/max/0/default.%25n"), 400);
}

/* ---- helpers ------------------------------------------------------- */

static void percent_decode_decodes_once_and_rejects_bad_escapes(void)
{
	char out[64];
	EXPECT(ts_percent_decode("a%2Fb%2fc+d", out));
	EXPECT_EQ_STR(out, "a/b/c+d");
	EXPECT(ts_percent_decode("", out));
	EXPECT_EQ_STR(out, "");
	EXPECT(ts_percent_decode("%41%7a", out));
	EXPECT_EQ_STR(out, "Az");
	EXPECT(ts_percent_decode("%25", out));
	EXPECT_EQ_STR(out, "%");
	EXPECT(!ts_percent_decode("%", out));
	EXPECT(!ts_percent_decode("%4", out));
	EXPECT(!ts_percent_decode("%4g", out));
	EXPECT(!ts_percent_decode("ab%", out));
	EXPECT(!ts_percent_decode("%00", out));
	EXPECT(!ts_percent_decode("x%00y", out));
}

static void format_and_quality_names_round_trip(void)
{
	static const char *exts[] = { "jpg", "png", "webp", "tif", "gif", "jp2", "pdf" };
	size_t i;
	for (i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		enum ts_format f;
		EXPECT(ts_format_from_ext(exts[i], &f));
		EXPECT_EQ_STR(ts_format_ext(f), exts[i]);
	}
	enum ts_format f;
	EXPECT(!ts_format_from_ext("jpeg", &f));
	EXPECT(!ts_format_from_ext("", &f));
	EXPECT(!ts_format_from_ext(NULL, &f));
	EXPECT_EQ_STR(ts_format_mime(TS_FORMAT_JPG), "image/jpeg");
	EXPECT_EQ_STR(ts_format_mime(TS_FORMAT_PNG), "image/png");
	EXPECT_EQ_STR(ts_format_mime(TS_FORMAT_WEBP), "image/webp");
	EXPECT_EQ_STR(ts_format_mime(TS_FORMAT_TIF), "image/tiff");
	EXPECT_EQ_STR(ts_format_mime(TS_FORMAT_GIF), "image/gif");
	EXPECT_EQ_STR(ts_format_mime(TS_FORMAT_JP2), "image/jp2");
	EXPECT_EQ_STR(ts_format_mime(TS_FORMAT_PDF), "application/pdf");
	EXPECT_EQ_STR(ts_format_mime((enum ts_format)99), "application/octet-stream");
	EXPECT_EQ_STR(ts_format_ext((enum ts_format)99), "");
	EXPECT_EQ_STR(ts_quality_name(TS_QUALITY_DEFAULT), "default");
	EXPECT_EQ_STR(ts_quality_name(TS_QUALITY_COLOR), "color");
	EXPECT_EQ_STR(ts_quality_name(TS_QUALITY_GRAY), "gray");
	EXPECT_EQ_STR(ts_quality_name(TS_QUALITY_BITONAL), "bitonal");
}

static void first_error_is_kept_and_request_struct_is_reset(void)
{
	struct ts_iiif_request r;
	EXPECT_EQ_INT(parse("/3/abc/full/max/0/default.jpg", &r), 0);
	EXPECT_EQ_INT(parse("/3/a/b", &r), 404);
	EXPECT(r.identifier == NULL);
	EXPECT_EQ_INT(r.cmd.size.w, 0);
}

int main(void)
{
	arena = ts_arena_create();
	if (!arena)
		return 2;
	RUN(image_url_with_version_3_parses_every_field);
	RUN(info_json_with_version_2_is_the_info_route);
	RUN(base_uri_is_the_base_route);
	RUN(default_version_applies_without_a_version_segment);
	RUN(a_lone_version_digit_is_an_identifier);
	RUN(version_must_be_exactly_2_or_3);
	RUN(percent_encoded_slash_is_decoded_once);
	RUN(plus_stays_plus_in_the_identifier);
	RUN(spec_uri_encoding_examples_decode_as_the_spec_says);
	RUN(unescaped_slash_in_identifier_is_404);
	RUN(malformed_escape_is_400);
	RUN(encoded_nul_in_identifier_is_404);
	RUN(empty_segments_and_trailing_slashes_are_404);
	RUN(wrong_segment_counts_are_404);
	RUN(every_region_form_parses);
	RUN(pixel_values_accept_leading_zeros_and_the_full_uint32_range);
	RUN(region_garbage_is_400);
	RUN(region_of_zero_width_or_height_is_400);
	RUN(decimals_follow_the_floating_point_rules);
	RUN(every_size_form_parses_in_version_3);
	RUN(every_size_form_parses_in_version_2);
	RUN(full_size_is_400_in_version_3_and_caret_is_400_in_version_2);
	RUN(size_garbage_is_400);
	RUN(every_rotation_form_parses);
	RUN(rotation_garbage_is_400);
	RUN(every_quality_parses);
	RUN(quality_garbage_is_400);
	RUN(implemented_formats_parse);
	RUN(gif_jp2_and_pdf_parse_like_the_other_formats);
	RUN(unknown_formats_are_400);
	RUN(a_malformed_parameter_is_400_whatever_the_format);
	RUN(percent_encoded_parameters_are_decoded_once);
	RUN(request_text_with_printf_directives_is_harmless);
	RUN(percent_decode_decodes_once_and_rejects_bad_escapes);
	RUN(format_and_quality_names_round_trip);
	RUN(first_error_is_kept_and_request_struct_is_reset);
	ts_arena_destroy(arena);
	return CHECK_DONE();
}
