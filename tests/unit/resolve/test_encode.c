/*
 * test_encode.c - percent-encoding of a root-relative path with each of
 * the three kept sets (resolve.h): what each keeps, what each encodes, and
 * that the into-buffer and the malloc'd forms agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tessera/resolve.h"

static void expect_encoded(const char *rel, const char *keep, const char *want)
{
	char *got = ts_encode_path(rel, keep);
	char buf[256];
	size_t n;

	EXPECT(got != NULL);
	if (got)
		EXPECT_EQ_STR(got, want);
	free(got);
	n = ts_encode_path_into(buf, rel, keep);
	EXPECT_EQ_STR(buf, want);
	EXPECT_EQ_INT((int)n, (int)strlen(want));
}

static void unreserved_are_kept_by_every_set(void)
{
	const char *u = "AZaz09-._~";

	expect_encoded(u, TS_ENCODE_KEEP_URI_PATH, u);
	expect_encoded(u, TS_ENCODE_KEEP_IMAGE_ID, u);
	expect_encoded(u, TS_ENCODE_KEEP_PRESENT_ID, u);
	expect_encoded("", TS_ENCODE_KEEP_IMAGE_ID, "");
}

static void a_uri_path_keeps_slashes_and_encodes_the_rest(void)
{
	expect_encoded("a b/c?d%e;f@g.mp4", TS_ENCODE_KEEP_URI_PATH,
	               "a%20b/c%3Fd%25e%3Bf%40g.mp4");
}

static void an_image_id_encodes_slashes_and_keeps_sub_delims(void)
{
	expect_encoded("dir/a(1)+b,c;d=e:f@g!$&'*", TS_ENCODE_KEEP_IMAGE_ID,
	               "dir%2Fa(1)+b,c;d=e:f%40g!$&'*");
}

static void a_presentation_id_also_keeps_at(void)
{
	expect_encoded("dir/a@b c", TS_ENCODE_KEEP_PRESENT_ID, "dir%2Fa@b%20c");
}

static void utf8_bytes_are_encoded_upper_case(void)
{
	expect_encoded("\xc3\xa9t\xc3\xa9", TS_ENCODE_KEEP_IMAGE_ID, "%C3%A9t%C3%A9");
	expect_encoded("#\x7f\x01", TS_ENCODE_KEEP_URI_PATH, "%23%7F%01");
}

int main(void)
{
	RUN(unreserved_are_kept_by_every_set);
	RUN(a_uri_path_keeps_slashes_and_encodes_the_rest);
	RUN(an_image_id_encodes_slashes_and_keeps_sub_delims);
	RUN(a_presentation_id_also_keeps_at);
	RUN(utf8_bytes_are_encoded_upper_case);
	return CHECK_DONE();
}
