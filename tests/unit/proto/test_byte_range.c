/*
 * test_byte_range.c - the Range and If-Range parsers (RFC 9110 §14.1.1,
 * §14.2, §13.1.5): each form of range, clamping, 416, what is ignored, the
 * 64-bit edges, and the strong comparison of If-Range.
 */
#include <stdint.h>
#include "check.h"
#include "tessera/byte_range.h"

/* The answer for value on a file of size bytes, with first and len of a part. */
static enum ts_range_answer ask(const char *value, uint64_t size, uint64_t *first,
                                uint64_t *len)
{
	struct ts_byte_range r = { 777, 777 };
	enum ts_range_answer a = ts_byte_range_parse(value, size, &r);

	*first = r.first;
	*len = r.length;
	return a;
}

#define EXPECT_PART(value, size, f, n) do { \
	uint64_t _f, _n; \
	EXPECT_EQ_INT(ask(value, size, &_f, &_n), TS_RANGE_PART); \
	EXPECT_EQ_INT(_f, f); \
	EXPECT_EQ_INT(_n, n); \
	} while (0)

#define EXPECT_ANSWER(value, size, answer) do { \
	uint64_t _f, _n; \
	EXPECT_EQ_INT(ask(value, size, &_f, &_n), answer); \
	} while (0)

static void no_header_is_the_whole_file(void)
{
	EXPECT_ANSWER(NULL, 100, TS_RANGE_WHOLE);
	EXPECT_ANSWER("", 100, TS_RANGE_WHOLE);
}

static void first_to_last_is_inclusive(void)
{
	EXPECT_PART("bytes=0-0", 100, 0, 1);
	EXPECT_PART("bytes=0-99", 100, 0, 100);
	EXPECT_PART("bytes=10-19", 100, 10, 10);
	EXPECT_PART("bytes=99-99", 100, 99, 1);
}

static void last_past_the_end_is_clamped(void)
{
	EXPECT_PART("bytes=10-1000", 100, 10, 90);
	EXPECT_PART("bytes=0-18446744073709551615", 100, 0, 100);
	EXPECT_PART("bytes=0-99999999999999999999999999", 100, 0, 100);
}

static void open_range_runs_to_the_end(void)
{
	EXPECT_PART("bytes=0-", 100, 0, 100);
	EXPECT_PART("bytes=42-", 100, 42, 58);
	EXPECT_PART("bytes=99-", 100, 99, 1);
}

static void suffix_range_is_the_last_bytes(void)
{
	EXPECT_PART("bytes=-1", 100, 99, 1);
	EXPECT_PART("bytes=-30", 100, 70, 30);
	EXPECT_PART("bytes=-100", 100, 0, 100);
	EXPECT_PART("bytes=-500", 100, 0, 100);
	EXPECT_PART("bytes=-99999999999999999999999", 100, 0, 100);
}

static void first_at_or_past_the_end_is_unsatisfiable(void)
{
	EXPECT_ANSWER("bytes=100-", 100, TS_RANGE_UNSATISFIABLE);
	EXPECT_ANSWER("bytes=100-200", 100, TS_RANGE_UNSATISFIABLE);
	EXPECT_ANSWER("bytes=18446744073709551615-", 100, TS_RANGE_UNSATISFIABLE);
	EXPECT_ANSWER("bytes=99999999999999999999999-", 100, TS_RANGE_UNSATISFIABLE);
	EXPECT_ANSWER("bytes=100-101,200-", 100, TS_RANGE_UNSATISFIABLE);
}

static void zero_suffix_and_empty_files_are_unsatisfiable(void)
{
	EXPECT_ANSWER("bytes=-0", 100, TS_RANGE_UNSATISFIABLE);
	EXPECT_ANSWER("bytes=0-", 0, TS_RANGE_UNSATISFIABLE);
	EXPECT_ANSWER("bytes=-5", 0, TS_RANGE_UNSATISFIABLE);
	EXPECT_ANSWER("bytes=0-0", 0, TS_RANGE_UNSATISFIABLE);
}

static void unit_is_case_insensitive_and_ows_is_allowed_around_commas(void)
{
	EXPECT_PART("Bytes=1-2", 100, 1, 2);
	EXPECT_PART("BYTES=1-2", 100, 1, 2);
	EXPECT_PART("  bytes=1-2  ", 100, 1, 2);
	EXPECT_PART("bytes= 1-2", 100, 1, 2);
	EXPECT_PART("bytes=1-2 ,\t", 100, 1, 2);
	EXPECT_PART("bytes=,,1-2,,", 100, 1, 2);
}

static void malformed_headers_are_ignored(void)
{
	static const char *const bad[] = {
		"bytes", "bytes=", "bytes=,", "bytes =1-2", "bytes= ", "items=1-2", "bytes:1-2",
		"bytes=1", "bytes=-", "bytes=a-b", "bytes=1-b", "bytes=1 -2", "bytes=1- 2",
		"bytes=1-2-3", "bytes=1-2;", "bytes=+1-2", "bytes=--1", "bytes=1-2 3-4",
		"bytes=0x10-20", "bytes=1.5-2", "bytes=1-2\r\n", "bytes=\x80", "bytes=-1-",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t f, n;
		enum ts_range_answer a = ask(bad[i], 100, &f, &n);
		if (a != TS_RANGE_WHOLE)
			printf("    %s was not ignored\n", bad[i]);
		EXPECT_EQ_INT(a, TS_RANGE_WHOLE);
	}
}

static void last_below_first_makes_the_header_invalid(void)
{
	EXPECT_ANSWER("bytes=5-4", 100, TS_RANGE_WHOLE);
	EXPECT_ANSWER("bytes=200-100", 100, TS_RANGE_WHOLE);
	/* compared exactly even where both overflow 64 bits */
	EXPECT_ANSWER("bytes=99999999999999999999999-99999999999999999999998", 100,
	              TS_RANGE_WHOLE);
	EXPECT_ANSWER("bytes=99999999999999999999998-99999999999999999999999", 100,
	              TS_RANGE_UNSATISFIABLE);
	/* leading zeros do not count as magnitude */
	EXPECT_PART("bytes=0005-000000010", 100, 5, 6);
	EXPECT_ANSWER("bytes=0,1-2", 100, TS_RANGE_WHOLE);
}

static void several_satisfiable_ranges_get_the_whole_file(void)
{
	EXPECT_ANSWER("bytes=0-0,-1", 100, TS_RANGE_WHOLE);
	EXPECT_ANSWER("bytes=0-9,20-29,40-", 100, TS_RANGE_WHOLE);
	EXPECT_ANSWER("bytes=0-0,0-0", 100, TS_RANGE_WHOLE);
}

static void one_satisfiable_among_unsatisfiable_ranges_is_served(void)
{
	EXPECT_PART("bytes=500-600,10-19", 100, 10, 10);
	EXPECT_PART("bytes=-0,5-", 100, 5, 95);
}

static void the_largest_file_sizes_do_not_overflow(void)
{
	uint64_t big = UINT64_MAX;

	EXPECT_PART("bytes=0-", big, 0, big);
	EXPECT_PART("bytes=-1", big, big - 1, 1);
	EXPECT_PART("bytes=18446744073709551614-", big, big - 1, 1);
	EXPECT_ANSWER("bytes=18446744073709551615-", big, TS_RANGE_UNSATISFIABLE);
	EXPECT_PART("bytes=1-18446744073709551615", big, 1, big - 1);
	EXPECT_PART("bytes=2147483648-2147483649", (uint64_t)2 << 30 | 7, 2147483648u, 2);
}

static const char *const lm_text = "Sun, 06 Nov 1994 08:49:37 GMT";
#define LM ((time_t)784111777)

static void if_range_absent_lets_the_range_apply(void)
{
	EXPECT(ts_byte_range_if_range(NULL, "\"abc\"", LM));
}

static void if_range_with_the_same_strong_etag_matches(void)
{
	EXPECT(ts_byte_range_if_range("\"abc\"", "\"abc\"", LM));
	EXPECT(ts_byte_range_if_range(" \"abc\" ", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("\"abd\"", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("\"abc", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("\"abc\"x", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("\"ab\"", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("\"abc\", \"abc\"", "\"abc\"", LM));
}

static void if_range_with_a_weak_etag_never_matches(void)
{
	EXPECT(!ts_byte_range_if_range("W/\"abc\"", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("W/\"abc\"", "W/\"abc\"", LM));
}

static void if_range_with_the_exact_date_matches(void)
{
	EXPECT(ts_byte_range_if_range(lm_text, "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range(lm_text, "\"abc\"", LM + 1));
	EXPECT(!ts_byte_range_if_range(lm_text, "\"abc\"", LM - 1));
	EXPECT(!ts_byte_range_if_range("Sun, 06 Nov 1994 08:49:38 GMT", "\"abc\"", LM));
}

static void if_range_accepts_the_obsolete_date_forms(void)
{
	EXPECT(ts_byte_range_if_range("Sunday, 06-Nov-94 08:49:37 GMT", "\"abc\"", LM));
	EXPECT(ts_byte_range_if_range("Sun Nov  6 08:49:37 1994", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("Sunday, 06-Nov-94 08:49:38 GMT", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("Sun Nov  6 08:49:36 1994", "\"abc\"", LM));
}

static void simple_ranges_are_the_plain_single_forms(void)
{
	static const char *const yes[] = {
		"bytes=0-", "bytes=0-0", "bytes=123-456", "bytes=-1", "bytes=-500",
		"bytes=999999999999999999-", "bytes=0-999999999999999999",
	};
	static const char *const no[] = {
		NULL, "", "bytes=", "bytes=-", "Bytes=0-", "bytes= 0-", "bytes=0-1,2-3", "bytes=0-1 ",
		"bytes=1000000000000000000-", "bytes=0-1000000000000000000", "bytes=-1-",
		"bytes=a-", "bytes=0", "bytes=--1", "bytes=0-1,", "items=0-1",
	};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		EXPECT(ts_byte_range_is_simple(yes[i]));
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		if (ts_byte_range_is_simple(no[i]))
			printf("    %s is not simple\n", no[i] ? no[i] : "(null)");
		EXPECT(!ts_byte_range_is_simple(no[i]));
	}
}

static void if_range_with_another_date_form_or_garbage_does_not_match(void)
{
	EXPECT(!ts_byte_range_if_range("Sun, 06 Nov 1994 08:49:37 UTC", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("Xyz, 06 Nov 1994 08:49:37 GMT", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("Sun, 06 Foo 1994 08:49:37 GMT", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("Sun, 6a Nov 1994 08:49:37 GMT", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("Sun, 06 Nov 1994 25:49:37 GMT", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("abc", "\"abc\"", LM));
	EXPECT(!ts_byte_range_if_range("*", "\"abc\"", LM));
}

int main(void)
{
	RUN(no_header_is_the_whole_file);
	RUN(first_to_last_is_inclusive);
	RUN(last_past_the_end_is_clamped);
	RUN(open_range_runs_to_the_end);
	RUN(suffix_range_is_the_last_bytes);
	RUN(first_at_or_past_the_end_is_unsatisfiable);
	RUN(zero_suffix_and_empty_files_are_unsatisfiable);
	RUN(unit_is_case_insensitive_and_ows_is_allowed_around_commas);
	RUN(malformed_headers_are_ignored);
	RUN(last_below_first_makes_the_header_invalid);
	RUN(several_satisfiable_ranges_get_the_whole_file);
	RUN(one_satisfiable_among_unsatisfiable_ranges_is_served);
	RUN(the_largest_file_sizes_do_not_overflow);
	RUN(if_range_absent_lets_the_range_apply);
	RUN(if_range_with_the_same_strong_etag_matches);
	RUN(if_range_with_a_weak_etag_never_matches);
	RUN(if_range_with_the_exact_date_matches);
	RUN(if_range_accepts_the_obsolete_date_forms);
	RUN(if_range_with_another_date_form_or_garbage_does_not_match);
	RUN(simple_ranges_are_the_plain_single_forms);
	return CHECK_DONE();
}
