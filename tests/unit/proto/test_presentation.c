/*
 * test_presentation.c - the Presentation URL forms (URLS.md) told apart
 * from the Image API's by their segments, versioned and not.
 */
#include "check.h"
#include "tessera/present_url.h"

static struct ts_arena *A;

static struct ts_present_url parse(const char *rest, int dv)
{
	struct ts_present_url u;

	ts_present_url_parse(rest, dv, A, &u);
	return u;
}

static void collections_are_named_by_folder_or_top(void)
{
	struct ts_present_url u = parse("/3/collection/top", 3);

	EXPECT_EQ_INT(u.route, TS_PURL_COLLECTION);
	EXPECT_EQ_STR(u.path, "");
	EXPECT(u.version_in_url);
	u = parse("/3/collection/letters%2F1871", 3);
	EXPECT_EQ_INT(u.route, TS_PURL_COLLECTION);
	EXPECT_EQ_STR(u.path, "letters/1871");
	EXPECT_EQ_STR(u.raw_id, "letters%2F1871");
	u = parse("/collection/top", 2);
	EXPECT_EQ_INT(u.route, TS_PURL_COLLECTION);
	EXPECT_EQ_INT(u.version, 2);
	EXPECT(!u.version_in_url);
	/* an image called "collection" keeps its info.json */
	EXPECT_EQ_INT(parse("/3/collection/info.json", 3).route, TS_PURL_NONE);
}

static void manifests_and_parts_are_recognised(void)
{
	struct ts_present_url u = parse("/3/letters%2F1871-04-02/manifest", 3);

	EXPECT_EQ_INT(u.route, TS_PURL_MANIFEST);
	EXPECT_EQ_STR(u.path, "letters/1871-04-02");
	u = parse("/2/maps%2Fbig-map.tif/manifest", 3);
	EXPECT_EQ_INT(u.route, TS_PURL_MANIFEST);
	EXPECT_EQ_INT(u.version, 2);
	u = parse("/3/b/canvas/p12", 3);
	EXPECT_EQ_INT(u.route, TS_PURL_PART);
	EXPECT_EQ_STR(u.part_kind, "canvas");
	EXPECT_EQ_STR(u.part_name, "p12");
	u = parse("/3/b/page/p1/1", 3);
	EXPECT_EQ_INT(u.route, TS_PURL_PART);
	EXPECT_EQ_STR(u.part_kind, "page");
	EXPECT_EQ_STR(u.part_name, "p1/1");
	u = parse("/3/b/annotation/p1-image", 3);
	EXPECT_EQ_STR(u.part_name, "p1-image");
	u = parse("/b/range/r2", 3);
	EXPECT_EQ_INT(u.route, TS_PURL_PART);
	EXPECT_EQ_STR(u.path, "b");
}

static void image_api_forms_are_left_alone(void)
{
	EXPECT_EQ_INT(parse("/3/pattern/info.json", 3).route, TS_PURL_NONE);
	EXPECT_EQ_INT(parse("/3/pattern/full/max/0/default.jpg", 3).route, TS_PURL_NONE);
	EXPECT_EQ_INT(parse("/pattern/full/max/0/default.jpg", 3).route, TS_PURL_NONE);
	EXPECT_EQ_INT(parse("/3/b/canvas/p1/extra/x", 3).route, TS_PURL_NONE);
	EXPECT_EQ_INT(parse("/3/b/canvas/p%201", 3).route, TS_PURL_NONE);
	EXPECT_EQ_INT(parse("/top/res/a.mp3", 3).route, TS_PURL_NONE);   /* the media route */
	EXPECT_EQ_INT(parse("/3//manifest", 3).route, TS_PURL_NONE);
	EXPECT_EQ_INT(parse("/3/a%zz/manifest", 3).route, TS_PURL_NONE);
	EXPECT_EQ_INT(parse("/3/a%00b/manifest", 3).route, TS_PURL_NONE);
	EXPECT_EQ_INT(parse("", 3).route, TS_PURL_NONE);
}

static void a_bare_identifier_may_be_a_folder_to_redirect(void)
{
	struct ts_present_url u = parse("/3/letters%2F1871", 3);

	EXPECT_EQ_INT(u.route, TS_PURL_BASE);
	EXPECT_EQ_STR(u.path, "letters/1871");
	EXPECT_EQ_STR(u.raw_id, "letters%2F1871");
	u = parse("/book", 3);
	EXPECT_EQ_INT(u.route, TS_PURL_BASE);
	EXPECT(!u.version_in_url);
}

int main(void)
{
	A = ts_arena_create();
	RUN(collections_are_named_by_folder_or_top);
	RUN(manifests_and_parts_are_recognised);
	RUN(image_api_forms_are_left_alone);
	RUN(a_bare_identifier_may_be_a_folder_to_redirect);
	ts_arena_destroy(A);
	return CHECK_DONE();
}
