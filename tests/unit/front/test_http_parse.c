/*
 * test_http_parse.c - the embedded server's request-head parser and
 * chunked-body reader: good heads are read field by field, every framing
 * ambiguity of RFC 9112 is an error status, and an unfinished head asks
 * for more bytes instead of guessing.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "src/front/http_parse.h"

static struct ts_http_head head;
static char buf[70000];

static int parse(const char *text)
{
	size_t n = strlen(text);

	memcpy(buf, text, n);
	return ts_http_head_parse(buf, n, false, &head);
}

/* text with an embedded NUL: len given */
static int parse_n(const char *text, size_t n)
{
	memcpy(buf, text, n);
	return ts_http_head_parse(buf, n, false, &head);
}

static void a_simple_get_is_read_field_by_field(void)
{
	static const char text[] = "GET /iiif/3/a%2Fb/info.json?x=1+2 HTTP/1.1\r\nHost: h:8080\r\n"
	                           "Accept:  application/json \r\n\r\nNEXT";

	EXPECT_EQ_INT(parse(text), 0);
	EXPECT_EQ_STR(head.method, "GET");
	EXPECT_EQ_STR(head.target, "/iiif/3/a%2Fb/info.json?x=1+2");
	EXPECT_EQ_STR(head.host, "h:8080");
	EXPECT_EQ_STR(ts_http_head_field(&head, "accept"), "application/json");
	EXPECT_EQ_INT(head.minor, 1);
	EXPECT(head.keep_alive);
	EXPECT_EQ_INT(head.head_len, sizeof text - 1 - 4);   /* "NEXT" is the next request */
}

static void bare_lf_line_ends_and_leading_empty_lines_are_accepted(void)
{
	EXPECT_EQ_INT(parse("\r\nGET / HTTP/1.1\nHost: h\n\n"), 0);
	EXPECT_EQ_STR(head.target, "/");
}

static void an_unfinished_head_asks_for_more(void)
{
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\n"), -1);
	EXPECT_EQ_INT(parse("GET / HT"), -1);
	EXPECT_EQ_INT(parse(""), -1);
}

static void keep_alive_follows_the_version_and_connection(void)
{
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), 0);
	EXPECT(!head.keep_alive);
	EXPECT_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n"), 0);
	EXPECT(!head.keep_alive);
	EXPECT_EQ_INT(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0);
	EXPECT(head.keep_alive);
}

static void content_length_with_transfer_encoding_is_400(void)
{
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
	                    "Transfer-Encoding: chunked\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
	                    "Content-Length: 4\r\n\r\n"), 400);
}

static void duplicate_or_bad_framing_fields_are_400(void)
{
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
	                    "Content-Length: 4\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 4\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\n"
	                    "Content-Length: 99999999999999999999999\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
	              400);
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
	              501);
	EXPECT_EQ_INT(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
	                    "Transfer-Encoding: chunked\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"), 0);
	EXPECT(head.chunked);
}

static void host_must_be_there_once_on_http_1_1(void)
{
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0);
	EXPECT_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n"), 0);
}

static void nul_and_control_bytes_in_the_target_are_400(void)
{
	static const char nul[] = "GET /iiif/3/test.tif\0/info.json HTTP/1.1\r\nHost: h\r\n\r\n";

	EXPECT_EQ_INT(parse_n(nul, sizeof nul - 1), 400);
	EXPECT_EQ_INT(parse("GET /a\001b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET /a\177b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void control_bytes_in_fields_and_bad_field_names_are_400(void)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";

	EXPECT_EQ_INT(parse_n(nul, sizeof nul - 1), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nX(A): b\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nno colon\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n"), 400);
}

static void obs_fold_is_400(void)
{
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n"), 400);
}

static void bad_request_lines_are_400_and_other_versions_505(void)
{
	EXPECT_EQ_INT(parse("GET /\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("G@T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
	EXPECT_EQ_INT(parse("GET / HTTP/1.9\r\nHost: h\r\n\r\n"), 0);
	EXPECT_EQ_INT(head.minor, 1);
	EXPECT_EQ_INT(parse("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 0);
	EXPECT_EQ_INT(parse("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void an_absolute_target_becomes_its_path_and_host(void)
{
	EXPECT_EQ_INT(parse("GET http://example.org:8080/iiif/3/x/info.json?q HTTP/1.1\r\n"
	                    "Host: other\r\n\r\n"), 0);
	EXPECT_EQ_STR(head.target, "/iiif/3/x/info.json?q");
	EXPECT_EQ_STR(head.host, "example.org:8080");
	EXPECT_EQ_INT(parse("GET http://example.org?q=1 HTTP/1.1\r\nHost: e\r\n\r\n"), 0);
	EXPECT_EQ_STR(head.target, "/?q=1");
	EXPECT_EQ_STR(head.host, "example.org");
	EXPECT_EQ_INT(parse("GET http://u@example.org/ HTTP/1.1\r\nHost: e\r\n\r\n"), 400);
	EXPECT_EQ_INT(parse("GET ftp://example.org/ HTTP/1.1\r\nHost: e\r\n\r\n"), 400);
}

static void a_long_target_is_414_and_a_full_buffer_431(void)
{
	char *t = malloc(TS_HTTP_MAX_TARGET + 200);

	memcpy(t, "GET /", 5);
	memset(t + 5, 'a', TS_HTTP_MAX_TARGET + 100);
	t[TS_HTTP_MAX_TARGET + 105] = '\0';
	/* no end of line yet, but already too long: 414 without waiting */
	EXPECT_EQ_INT(parse(t), 414);
	strcpy(t + TS_HTTP_MAX_TARGET - 20, " HTTP/1.1\r\nHost: h\r\n\r\n");
	EXPECT_EQ_INT(parse(t), 0);   /* just under the limit is fine */
	free(t);
	memcpy(buf, "GET / HTTP/1.1\r\nHost: h\r\nX-A: aaaa", 34);
	EXPECT_EQ_INT(ts_http_head_parse(buf, 34, true, &head), 431);
}

static void too_many_fields_are_431(void)
{
	char *t = malloc(10000), *p = t;

	p += sprintf(p, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < TS_HTTP_MAX_FIELDS; i++)
		p += sprintf(p, "X-%d: v\r\n", i);
	strcpy(p, "\r\n");
	EXPECT_EQ_INT(parse(t), 431);
	free(t);
}

static int chunked(const char *body, size_t *used)
{
	struct ts_http_chunked c = TS_HTTP_CHUNKED_INIT;

	return ts_http_chunked_feed(&c, body, strlen(body), used);
}

static void a_chunked_body_ends_after_its_last_chunk_and_trailers(void)
{
	size_t used = 0;
	struct ts_http_chunked c = TS_HTTP_CHUNKED_INIT;
	const char *body = "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nGET";

	EXPECT_EQ_INT(chunked(body, &used), 1);
	EXPECT_EQ_INT(used, strlen(body) - 3);
	/* byte by byte gives the same */
	for (size_t i = 0; i < strlen(body) - 3; i++) {
		int rc = ts_http_chunked_feed(&c, body + i, 1, &used);
		EXPECT_EQ_INT(rc, i == strlen(body) - 4 ? 1 : 0);
	}
	EXPECT_EQ_INT(chunked("0\r\n\r\n", &used), 1);
	EXPECT_EQ_INT(chunked("3\r\nab", &used), 0);
}

static void bad_chunk_sizes_are_400(void)
{
	size_t used;

	EXPECT_EQ_INT(chunked("zz\r\n", &used), 400);
	EXPECT_EQ_INT(chunked("-1\r\n", &used), 400);
	EXPECT_EQ_INT(chunked("5x\r\nhello\r\n", &used), 400);
	EXPECT_EQ_INT(chunked("fffffffffffffffff\r\n", &used), 400);
	EXPECT_EQ_INT(chunked("\r\n", &used), 400);
	EXPECT_EQ_INT(chunked("3\r\nabcd\r\n", &used), 400);   /* data longer than its size */
	EXPECT_EQ_INT(chunked("0\r\nX: a\001\r\n\r\n", &used), 400);
}

int main(void)
{
	RUN(a_simple_get_is_read_field_by_field);
	RUN(bare_lf_line_ends_and_leading_empty_lines_are_accepted);
	RUN(an_unfinished_head_asks_for_more);
	RUN(keep_alive_follows_the_version_and_connection);
	RUN(content_length_with_transfer_encoding_is_400);
	RUN(duplicate_or_bad_framing_fields_are_400);
	RUN(host_must_be_there_once_on_http_1_1);
	RUN(nul_and_control_bytes_in_the_target_are_400);
	RUN(control_bytes_in_fields_and_bad_field_names_are_400);
	RUN(obs_fold_is_400);
	RUN(bad_request_lines_are_400_and_other_versions_505);
	RUN(an_absolute_target_becomes_its_path_and_host);
	RUN(a_long_target_is_414_and_a_full_buffer_431);
	RUN(too_many_fields_are_431);
	RUN(a_chunked_body_ends_after_its_last_chunk_and_trailers);
	RUN(bad_chunk_sizes_are_400);
	return CHECK_DONE();
}
