/*
 * test_present_check.c - the value rules shared by sidecars and
 * metadata.csv, each on its own: UTF-8, file names, URIs, language tags,
 * navDate, rights, text strings and the quoting used in messages.
 */
#include "check.h"
#include "src/present/present_check.h"

static char why[160];

static void utf8_is_checked_to_the_byte(void)
{
	size_t bad = 99;
	EXPECT(ts_present_check_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9c", 14, &bad));
	EXPECT(!ts_present_check_utf8("ab\xe9", 3, &bad));
	EXPECT_EQ_INT(bad, 2);
	EXPECT(!ts_present_check_utf8("\xc0\xaf", 2, &bad));          /* overlong '/' */
	EXPECT(!ts_present_check_utf8("\xe0\x80\xaf", 3, &bad));      /* overlong */
	EXPECT(!ts_present_check_utf8("\xed\xa0\x80", 3, &bad));      /* surrogate */
	EXPECT(!ts_present_check_utf8("\xf4\x90\x80\x80", 4, &bad));  /* past U+10FFFF */
	EXPECT(!ts_present_check_utf8("x\xe2\x82", 3, &bad));         /* cut short */
	EXPECT_EQ_INT(bad, 1);
	EXPECT(!ts_present_check_utf8("\x80", 1, &bad));
}

static void names_are_plain_names(void)
{
	EXPECT(ts_present_check_name("p001.tif", why, sizeof why));
	EXPECT(ts_present_check_name("_logo.png", why, sizeof why));
	EXPECT(ts_present_check_name("1871-04-02", why, sizeof why));
	EXPECT(ts_present_check_name("caf\xc3\xa9.jpg", why, sizeof why));
	EXPECT(!ts_present_check_name("", why, sizeof why));
	EXPECT(!ts_present_check_name(".", why, sizeof why));
	EXPECT(!ts_present_check_name("..", why, sizeof why));
	EXPECT(!ts_present_check_name(".hidden", why, sizeof why));
	EXPECT(!ts_present_check_name("a/b", why, sizeof why));
	EXPECT(!ts_present_check_name("a\\b", why, sizeof why));
	EXPECT(!ts_present_check_name("a\tb", why, sizeof why));
	EXPECT(!ts_present_check_name("a\xc2\x85" "b", why, sizeof why));   /* C1 NEL */
	char longname[300];
	memset(longname, 'a', 256);
	longname[256] = '\0';
	EXPECT(!ts_present_check_name(longname, why, sizeof why));
	longname[255] = '\0';
	EXPECT(ts_present_check_name(longname, why, sizeof why));
}

static void uris_are_absolute_http_with_a_host(void)
{
	EXPECT(ts_present_check_uri("https://example.org/", why, sizeof why));
	EXPECT(ts_present_check_uri("HTTP://example.org", why, sizeof why));
	EXPECT(ts_present_check_uri("https://example.org/caf\xc3\xa9?q=1#f", why, sizeof why));
	EXPECT(!ts_present_check_uri("ftp://example.org/", why, sizeof why));
	EXPECT(!ts_present_check_uri("//example.org/", why, sizeof why));
	EXPECT(!ts_present_check_uri("https:///path", why, sizeof why));
	EXPECT(!ts_present_check_uri("https://a.org/x y", why, sizeof why));
	EXPECT(!ts_present_check_uri("https://a.org/\"", why, sizeof why));
	EXPECT(!ts_present_check_uri("https://a.org/\n", why, sizeof why));
}

static void language_tags_have_the_bcp47_shape(void)
{
	const char *good[] = { "none", "en", "fr", "en-GB", "zh-Hant", "zh-Hant-TW", "de-CH-1996", "ar-latn", "haw" };
	const char *bad[] = { "", "e", "en_GB", "en-", "-en", "en--GB", "1en", "english language",
	                      "en-abcdefghi", "x", "None", "NONE", "abcd" };
	size_t i;
	for (i = 0; i < sizeof good / sizeof *good; i++)
		EXPECT(ts_present_check_lang(good[i], why, sizeof why));
	for (i = 0; i < sizeof bad / sizeof *bad; i++)
		EXPECT(!ts_present_check_lang(bad[i], why, sizeof why));
}

static void dates_are_xsd_datetimes_with_a_zone(void)
{
	EXPECT(ts_present_check_date("1871-04-02T00:00:00Z", why, sizeof why));
	EXPECT(ts_present_check_date("2000-02-29T12:30:59.125+14:00", why, sizeof why));
	EXPECT(ts_present_check_date("2024-12-31T23:59:59-12:00", why, sizeof why));
	EXPECT(!ts_present_check_date("2023-02-29T00:00:00Z", why, sizeof why));
	EXPECT(!ts_present_check_date("2100-02-29T00:00:00Z", why, sizeof why));
	EXPECT(!ts_present_check_date("2024-04-31T00:00:00Z", why, sizeof why));
	EXPECT(!ts_present_check_date("2024-04-30T00:00:00.Z", why, sizeof why));
	EXPECT(!ts_present_check_date("2024-04-30T00:00:00z", why, sizeof why));
	EXPECT(!ts_present_check_date("2024-04-30 00:00:00Z", why, sizeof why));
	EXPECT(!ts_present_check_date("2024-04-30T00:00:00Z ", why, sizeof why));
	EXPECT(!ts_present_check_date("2024-04-30T24:00:01Z", why, sizeof why));
	EXPECT(!ts_present_check_date("2024-04-30T00:00:00+14:30", why, sizeof why));
	EXPECT(!ts_present_check_date("+2024-04-30T00:00:00Z", why, sizeof why));
	EXPECT(strstr(why, "xsd:dateTime") != NULL);
}

static void rights_are_canonical_cc_or_rightsstatements(void)
{
	char out[128];
	bool rw;
	EXPECT(ts_present_check_rights("http://creativecommons.org/licenses/by-nd/2.5/", out, sizeof out, &rw, why, sizeof why));
	EXPECT(!rw);
	EXPECT(ts_present_check_rights("https://creativecommons.org/publicdomain/zero/1.0", out, sizeof out, &rw, why, sizeof why));
	EXPECT(rw);
	EXPECT_EQ_STR(out, "http://creativecommons.org/publicdomain/zero/1.0/");
	EXPECT(ts_present_check_rights("http://rightsstatements.org/vocab/InC-OW-EU/1.0/", out, sizeof out, &rw, why, sizeof why));
	EXPECT(!ts_present_check_rights("http://rightsstatements.org/vocab/Foo/1.0/", out, sizeof out, &rw, why, sizeof why));
	EXPECT(!ts_present_check_rights("http://creativecommons.org/licenses/by/4.0/legalcode", out, sizeof out, &rw, why, sizeof why));
	EXPECT(!ts_present_check_rights("http://creativecommons.org/licenses/by/4.0/de/x/", out, sizeof out, &rw, why, sizeof why));
	EXPECT(!ts_present_check_rights("http://www.creativecommons.org/licenses/by/4.0/", out, sizeof out, &rw, why, sizeof why));
	EXPECT(!ts_present_check_rights("HTTP://creativecommons.org/licenses/by/4.0/", out, sizeof out, &rw, why, sizeof why));
	EXPECT(!rw);
	EXPECT(strstr(why, "requiredStatement") != NULL);
}

static void text_refuses_controls_and_stray_markup(void)
{
	EXPECT(ts_present_check_text("Two leaves,\tink\r\non paper", 25, false, why, sizeof why));
	EXPECT(ts_present_check_text("a < b > c", 9, false, why, sizeof why));
	EXPECT(!ts_present_check_text("", 0, true, why, sizeof why));
	EXPECT(!ts_present_check_text("a\x1b[31m", 7, true, why, sizeof why));
	EXPECT(!ts_present_check_text("a\x7f", 2, true, why, sizeof why));
	EXPECT(!ts_present_check_text("<b>x</b>", 8, false, why, sizeof why));
	EXPECT(ts_present_check_text("<b>x</b>", 8, true, why, sizeof why));
	EXPECT(!ts_present_check_text("x <b>y</b>", 10, true, why, sizeof why));
	EXPECT(!ts_present_check_text("x <!-- y -->", 12, false, why, sizeof why));
}

static void quoting_keeps_messages_short_and_printable(void)
{
	char q[64];
	EXPECT_EQ_STR(ts_present_quote("short", q, sizeof q), "short");
	EXPECT_EQ_STR(ts_present_quote("a\"b\nc", q, sizeof q), "a?b?c");
	EXPECT_EQ_STR(ts_present_quote("0123456789012345678901234567890123456789XYZ", q, sizeof q),
	              "0123456789012345678901234567890123456789...");
	/* Cut on a character, never inside one; bad bytes become '?'. */
	EXPECT_EQ_STR(ts_present_quote("\xc3\xa9\xff\xc3", q, sizeof q), "\xc3\xa9??");
	EXPECT_EQ_STR(ts_present_quote("x", q, 4), "");
}

int main(void)
{
	RUN(utf8_is_checked_to_the_byte);
	RUN(names_are_plain_names);
	RUN(uris_are_absolute_http_with_a_host);
	RUN(language_tags_have_the_bcp47_shape);
	RUN(dates_are_xsd_datetimes_with_a_zone);
	RUN(rights_are_canonical_cc_or_rightsstatements);
	RUN(text_refuses_controls_and_stray_markup);
	RUN(quoting_keeps_messages_short_and_printable);
	return CHECK_DONE();
}
