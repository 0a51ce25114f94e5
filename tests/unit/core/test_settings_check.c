/*
 * test_settings_check.c - what the table cannot check (core/settings_check.c):
 * addresses and memcached lists refused before anything starts, and
 * `config --check`'s look at the system (the root, the log file, the
 * viewer), one line per problem.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "tessera/settings.h"

static void with(struct ts_settings *s, char **field, const char *v)
{
	(void)s;
	free(*field);
	*field = strdup(v);
}

static void good_addresses_and_memcached_lists_pass(void)
{
	struct ts_settings s;
	struct ts_error err;

	ts_settings_defaults(&s);
	with(&s, &s.http_listen, "127.0.0.1:8080");
	with(&s, &s.fastcgi_listen, "/run/tessera/tessera.sock");
	with(&s, &s.memcached_servers, "127.0.0.1:11211, cache2, [::1]:11211, [::1], /run/mc.sock");
	with(&s, &s.base_url, "https://images.example.org");
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_settings_validate(&s, &err), 0);
	ts_settings_free(&s);
}

static void bad_values_are_refused_naming_the_setting(void)
{
	static const struct { int which; const char *v, *name; } bad[] = {
		{ 0, "garbage", "http_listen" }, { 0, "127.0.0.1:99999", "http_listen" },
		{ 1, "127.0.0.1:0", "fastcgi_listen" }, { 2, "garbage,,:::", "memcached_servers" },
		{ 2, "host:99999", "memcached_servers" }, { 2, "a,", "memcached_servers" },
		{ 2, "relative/path", "memcached_servers" }, { 3, "images.example.org", "base_url" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ts_settings s;
		struct ts_error err;
		char **f;

		ts_settings_defaults(&s);
		f = bad[i].which == 0 ? &s.http_listen : bad[i].which == 1 ? &s.fastcgi_listen
		  : bad[i].which == 2 ? &s.memcached_servers : &s.base_url;
		with(&s, f, bad[i].v);
		ts_error_clear(&err);
		EXPECT_EQ_INT(ts_settings_validate(&s, &err), 400);
		EXPECT(strstr(err.msg, bad[i].name) != NULL);
		ts_settings_free(&s);
	}
}

/* ts_settings_check's output for s, into buf. */
static int check_into(const struct ts_settings *s, char *buf, size_t n)
{
	FILE *f = fmemopen(buf, n, "w");
	int problems = ts_settings_check(s, f);

	fclose(f);
	return problems;
}

static void check_reports_a_missing_root_and_an_unwritable_log_file(void)
{
	struct ts_settings s;
	char out[2048];

	ts_settings_defaults(&s);
	with(&s, &s.root, "/nonexistent/images");
	with(&s, &s.logfile, "/nonexistent/dir/t.log");
	with(&s, &s.viewer_dir, "");
	EXPECT_EQ_INT(check_into(&s, out, sizeof out), 2);
	EXPECT(strstr(out, "root: /nonexistent/images") != NULL);
	EXPECT(strstr(out, "logfile: /nonexistent/dir/t.log") != NULL);
	ts_settings_free(&s);
}

static void check_passes_a_good_configuration(void)
{
	struct ts_settings s;
	char out[2048], dir[] = "/tmp/test_settings_check_XXXXXX", log[PATH_MAX];

	EXPECT(mkdtemp(dir) != NULL);
	snprintf(log, sizeof log, "%s/t.log", dir);
	ts_settings_defaults(&s);
	with(&s, &s.root, dir);
	with(&s, &s.logfile, log);
	with(&s, &s.viewer_dir, dir);
	EXPECT_EQ_INT(check_into(&s, out, sizeof out), 0);
	EXPECT(access(log, F_OK) != 0);   /* checked, not created */
	ts_settings_free(&s);
	rmdir(dir);
}

static void an_absolute_viewer_dir_is_used_as_given_and_a_missing_one_is_not_found(void)
{
	struct ts_settings s;
	char out[PATH_MAX];

	ts_settings_defaults(&s);
	with(&s, &s.viewer_dir, "/tmp");
	EXPECT(ts_settings_viewer_path(&s, out, sizeof out));
	EXPECT_EQ_STR(out, "/tmp");
	with(&s, &s.viewer_dir, "/nonexistent/viewer");
	EXPECT(!ts_settings_viewer_path(&s, out, sizeof out));
	with(&s, &s.viewer_dir, "no-such-viewer-dir");
	EXPECT(!ts_settings_viewer_path(&s, out, sizeof out));
	with(&s, &s.viewer_dir, "");
	EXPECT(!ts_settings_viewer_path(&s, out, sizeof out));
	ts_settings_free(&s);
}

int main(void)
{
	RUN(good_addresses_and_memcached_lists_pass);
	RUN(bad_values_are_refused_naming_the_setting);
	RUN(check_reports_a_missing_root_and_an_unwritable_log_file);
	RUN(check_passes_a_good_configuration);
	RUN(an_absolute_viewer_dir_is_used_as_given_and_a_missing_one_is_not_found);
	return CHECK_DONE();
}
