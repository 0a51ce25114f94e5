/*
 * test_access_log.c - access log lines: nginx's combined format and JSON,
 * escaping of whatever a client sends, cut fields, and the writer thread
 * putting every queued line in the file, whole, by the time it closes.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "tessera/access_log.h"

static struct ts_access_entry sample(void)
{
	struct ts_access_entry e;

	memset(&e, 0, sizeof e);
	e.when.tv_sec = 1796639481;   /* 2026-12-07T10:31:21Z */
	e.when.tv_nsec = 250000000;
	e.client = "127.0.0.1";
	e.method = "GET";
	e.target = "/iiif/3/a%2Fb/0,0,256,256/256,/0/default.jpg";
	e.protocol = "HTTP/1.1";
	e.status = 200;
	e.bytes = 12345;
	e.seconds = 0.0125;
	e.outcome = "hit";
	e.referer = "http://v.example/";
	e.user_agent = "Mozilla/5.0 (X11)";
	return e;
}

static void combined_line_is_nginx_combined_then_duration_and_cache(void)
{
	struct ts_access_entry e = sample();
	char line[32768];
	size_t n = ts_access_log_format(TS_ACCESS_COMBINED, &e, line, sizeof line);

	EXPECT_EQ_STR(line, "127.0.0.1 - - [07/Dec/2026:10:31:21 +0000] "
	              "\"GET /iiif/3/a%2Fb/0,0,256,256/256,/0/default.jpg HTTP/1.1\" 200 12345 "
	              "\"http://v.example/\" \"Mozilla/5.0 (X11)\" 0.012500 hit\n");
	EXPECT_EQ_INT(n, strlen(line));
}

static void missing_fields_are_dashes_in_combined(void)
{
	struct ts_access_entry e = sample();
	char line[32768];

	e.client = NULL;
	e.referer = NULL;
	e.user_agent = "";
	e.outcome = NULL;
	e.protocol = NULL;
	ts_access_log_format(TS_ACCESS_COMBINED, &e, line, sizeof line);
	EXPECT(strncmp(line, "- - - [", 7) == 0);
	EXPECT(strstr(line, "default.jpg\" 200 12345 \"-\" \"-\" 0.012500 -\n") != NULL);
}

static void quotes_and_control_bytes_are_escaped_in_combined(void)
{
	struct ts_access_entry e = sample();
	char line[32768];

	e.target = "/a\"b\\c\n\x01\xff";
	e.user_agent = "x\" y";
	ts_access_log_format(TS_ACCESS_COMBINED, &e, line, sizeof line);
	EXPECT(strstr(line, "\"GET /a\\\"b\\\\c\\x0A\\x01\\xFF HTTP/1.1\"") != NULL);
	EXPECT(strstr(line, "\"x\\\" y\"") != NULL);
	EXPECT(strchr(line, '\n') == line + strlen(line) - 1);
}

static void json_line_has_every_field(void)
{
	struct ts_access_entry e = sample();
	char line[32768];

	e.referer = NULL;
	ts_access_log_format(TS_ACCESS_JSON, &e, line, sizeof line);
	EXPECT_EQ_STR(line, "{\"time\":\"2026-12-07T10:31:21.250Z\",\"client\":\"127.0.0.1\","
	              "\"method\":\"GET\",\"target\":\"/iiif/3/a%2Fb/0,0,256,256/256,/0/default.jpg\","
	              "\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes\":12345,"
	              "\"duration\":0.012500,\"cache\":\"hit\",\"referer\":null,"
	              "\"user_agent\":\"Mozilla/5.0 (X11)\"}\n");
}

static void json_escapes_keep_the_line_valid(void)
{
	struct ts_access_entry e = sample();
	char line[32768];

	e.target = "/\"\\\t\xc3\xa9";
	ts_access_log_format(TS_ACCESS_JSON, &e, line, sizeof line);
	EXPECT(strstr(line, "\"target\":\"/\\\"\\\\\\u0009\\u00C3\\u00A9\"") != NULL);
}

static void a_huge_target_is_cut_and_the_line_still_ends(void)
{
	struct ts_access_entry e = sample();
	char *target = malloc(100000), line[32768];
	size_t n;

	memset(target, '"', 99999);
	target[99999] = '\0';
	e.target = target;
	n = ts_access_log_format(TS_ACCESS_JSON, &e, line, sizeof line);
	EXPECT(n < sizeof line);
	EXPECT(strstr(line, "...\",\"protocol\"") != NULL);
	EXPECT(line[n - 2] == '}' && line[n - 1] == '\n');
	n = ts_access_log_format(TS_ACCESS_COMBINED, &e, line, sizeof line);
	EXPECT(strstr(line, "... HTTP/1.1\" 200") != NULL);
	EXPECT(line[n - 1] == '\n');
	free(target);
}

static void formats_parse_and_others_are_refused(void)
{
	enum ts_access_format f;
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT(ts_access_log_parse_format("json", &f, &err) == TS_OK && f == TS_ACCESS_JSON);
	EXPECT(ts_access_log_parse_format("combined", &f, &err) == TS_OK &&
	       f == TS_ACCESS_COMBINED);
	EXPECT(ts_access_log_parse_format("common", &f, &err) == TS_EBADREQUEST);
	EXPECT(strstr(err.msg, "expected combined or json") != NULL);
}

static void the_writer_puts_every_line_in_the_file_by_close(void)
{
	char path[] = "/tmp/tessera-test-access-XXXXXX", buf[1 << 16];
	struct ts_access_entry e = sample();
	struct ts_error err;
	int fd = mkstemp(path), lines = 0;
	ssize_t n;

	ts_error_clear(&err);
	EXPECT(fd >= 0);
	close(fd);
	EXPECT(ts_access_log_open(path, "combined", &err) == TS_OK);
	EXPECT(ts_access_log_enabled());
	for (int i = 0; i < 200; i++)
		ts_access_log_write(&e);
	ts_access_log_close();
	EXPECT(!ts_access_log_enabled());
	fd = open(path, O_RDONLY);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	unlink(path);
	EXPECT_EQ_INT(lines, 200);
	EXPECT_EQ_INT(ts_access_log_dropped(), 0);
}

static void *write_many(void *arg)
{
	const struct ts_access_entry *e = arg;

	for (int i = 0; i < 500; i++) {
		ts_access_log_write(e);
		if (i == 250)
			ts_access_log_reopen();
	}
	return NULL;
}

/* Counts the lines of path that are exactly want; -1 for any other line. */
static int count_lines(const char *path, const char *want)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (strcmp(line, want) != 0) {
			n = -1;
			break;
		}
		n++;
	}
	fclose(f);
	return n;
}

static void lines_from_many_threads_arrive_whole_across_a_reopen(void)
{
	char path[] = "/tmp/tessera-test-access-XXXXXX", want[32768];
	struct ts_access_entry e = sample();
	struct ts_error err;
	pthread_t t[4];
	int fd = mkstemp(path);

	ts_error_clear(&err);
	close(fd);
	ts_access_log_format(TS_ACCESS_JSON, &e, want, sizeof want);
	EXPECT(ts_access_log_open(path, "json", &err) == TS_OK);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, write_many, &e);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ts_access_log_close();
	EXPECT_EQ_INT(count_lines(path, want), 2000);
	unlink(path);
}

static void off_starts_nothing_and_a_bad_path_is_an_error(void)
{
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT(ts_access_log_open("off", "combined", &err) == TS_OK);
	EXPECT(!ts_access_log_enabled());
	EXPECT(ts_access_log_open("/nonexistent-dir/x.log", "combined", &err) != TS_OK);
	EXPECT(strstr(err.msg, "/nonexistent-dir/x.log") != NULL);
}

int main(void)
{
	RUN(combined_line_is_nginx_combined_then_duration_and_cache);
	RUN(missing_fields_are_dashes_in_combined);
	RUN(quotes_and_control_bytes_are_escaped_in_combined);
	RUN(json_line_has_every_field);
	RUN(json_escapes_keep_the_line_valid);
	RUN(a_huge_target_is_cut_and_the_line_still_ends);
	RUN(formats_parse_and_others_are_refused);
	RUN(the_writer_puts_every_line_in_the_file_by_close);
	RUN(lines_from_many_threads_arrive_whole_across_a_reopen);
	RUN(off_starts_nothing_and_a_bad_path_is_an_error);
	return CHECK_DONE();
}
