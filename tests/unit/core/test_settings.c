/*
 * test_settings.c - the settings table: defaults, config file, environment
 * (Tessera's and iipsrv's names), flags, precedence and error messages.
 * Each test clears every variable it may set, so order does not matter.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "tessera/settings.h"

static const char *all_env[] = {
	"TESSERA_CONFIG", "TESSERA_ROOT", "FILESYSTEM_PREFIX", "TESSERA_JPEG_QUALITY",
	"JPEG_QUALITY", "MAX_CVT", "TESSERA_MAX_WIDTH", "TESSERA_MAX_HEIGHT", "CORS",
	"TESSERA_CORS", "ALLOW_UPSCALING", "TESSERA_ALLOW_UPSCALING", "FILESYSTEM_SUFFIX",
	"TESSERA_SUFFIXES", "MAX_IMAGE_CACHE_SIZE", "VERBOSITY", "TESSERA_THREADS",
	"BASE_URL", "TESSERA_BASE_URL", "LOGFILE", "CACHE_CONTROL", "TESSERA_IDLE_TRIM_SECONDS",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof all_env / sizeof all_env[0]; i++)
		unsetenv(all_env[i]);
}

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *write_conf(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	strcpy(path, "/tmp/test_settings_XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return "/nonexistent";
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load with the given flags; returns the status, err filled. */
static ts_status load(struct ts_settings *s, struct ts_error *err, int argc, char **argv)
{
	bool help = false;

	ts_error_clear(err);
	return ts_settings_load(s, argc, argv, &help, err);
}

static void defaults_match_the_documented_values(void)
{
	struct ts_settings s;
	struct ts_error err;

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 0, NULL), 0);
	EXPECT_EQ_STR(s.root, "");
	EXPECT_EQ_STR(s.suffixes, ".tif,.tiff,.ptif,.jp2,.jph,.j2k,.j2c,.jhc,.jpg,.jpeg,.png");
	EXPECT_EQ_INT(s.jpeg_quality, 75);
	EXPECT_EQ_INT(s.webp_quality, 80);
	EXPECT_EQ_INT(s.png_level, 6);
	EXPECT_EQ_INT(s.max_width, 10000);
	EXPECT_EQ_INT(s.max_height, 10000);
	EXPECT_EQ_INT(s.max_area, 25000000);
	EXPECT(s.allow_upscaling);
	EXPECT_EQ_INT(s.max_decode_pixels, 268435456);
	EXPECT_EQ_INT(s.max_source_pixels, 10000000000LL);
	EXPECT_EQ_STR(s.cors, "*");
	EXPECT_EQ_STR(s.base_url, "");
	EXPECT(!s.trust_forwarded);
	EXPECT_EQ_STR(s.cache_control, "max-age=86400");
	EXPECT_EQ_INT(s.default_version, 3);
	EXPECT_EQ_STR(s.rights, "");
	EXPECT_EQ_STR(s.viewer_dir, "viewer");
	EXPECT_EQ_INT(s.threads, 0);
	EXPECT_EQ_INT(s.cache_size_mb, 256);
	EXPECT_EQ_STR(s.logfile, "");
	EXPECT_EQ_INT(s.verbosity, 3);
	EXPECT_EQ_STR(s.fastcgi_listen, "");
	EXPECT_EQ_STR(s.http_listen, "");
	EXPECT_EQ_STR(s.config_file, "");
	ts_settings_free(&s);
}

static void config_file_sets_values_and_skips_comments_and_blank_lines(void)
{
	struct ts_settings s;
	struct ts_error err;
	const char *path = write_conf(
		"# a comment\n"
		"\n"
		"   # an indented comment\n"
		"root = /srv/images\n"
		"jpeg_quality=90\n"
		"  cors   =   \n"
		"rights = \" padded \"\n"
		"allow_upscaling = no\n"
		"base_url = https://x.org/iiif//\n");
	char *argv[] = { "--config", (char *)path };

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 2, argv), 0);
	EXPECT_EQ_STR(err.msg, "");
	EXPECT_EQ_STR(s.root, "/srv/images");
	EXPECT_EQ_INT(s.jpeg_quality, 90);
	EXPECT_EQ_STR(s.cors, "");
	EXPECT_EQ_STR(s.rights, " padded ");
	EXPECT(!s.allow_upscaling);
	EXPECT_EQ_STR(s.base_url, "https://x.org/iiif");
	EXPECT_EQ_STR(s.config_file, path);
	ts_settings_free(&s);
	unlink(path);
}

static void a_bad_config_line_is_reported_with_file_and_line(void)
{
	struct ts_settings s;
	struct ts_error err;
	const char *path = write_conf("root = /x\n# fine\njpeg_quality = high\n");
	char want[200];

	clear_env();
	setenv("TESSERA_CONFIG", path, 1);
	EXPECT_EQ_INT(load(&s, &err, 0, NULL), 400);
	snprintf(want, sizeof want, "%s:3: expected an integer from 1 to 100, got 'high'", path);
	EXPECT_EQ_STR(err.msg, want);
	ts_settings_free(&s);
	unlink(path);
	clear_env();
}

static void an_unknown_config_key_is_reported_with_file_and_line(void)
{
	struct ts_settings s;
	struct ts_error err;
	const char *path = write_conf("\nroot = /x\nfrobnicate = 3\n");
	char *argv[] = { "--config", (char *)path };

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 2, argv), 400);
	EXPECT(strstr(err.msg, ":3: unknown setting 'frobnicate'") != NULL);
	ts_settings_free(&s);
	unlink(path);
}

static void a_line_without_equals_is_an_error(void)
{
	struct ts_settings s;
	struct ts_error err;
	const char *path = write_conf("root /x\n");
	char *argv[] = { "--config", (char *)path };

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 2, argv), 400);
	EXPECT(strstr(err.msg, ":1: expected 'key = value'") != NULL);
	ts_settings_free(&s);
	unlink(path);
}

static void config_file_can_be_named_by_any_spelling_of_the_flag(void)
{
	struct ts_settings s;
	struct ts_error err;
	const char *path = write_conf("jpeg_quality = 33\n");
	char flag[80];
	char *a1[] = { "--rights", "--config", "--config-file", (char *)path };
	char *a2[] = { flag };

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 4, a1), 0);
	EXPECT_EQ_STR(s.rights, "--config");
	EXPECT_EQ_INT(s.jpeg_quality, 33);
	ts_settings_free(&s);
	snprintf(flag, sizeof flag, "--config_file=%s", path);
	EXPECT_EQ_INT(load(&s, &err, 1, a2), 0);
	EXPECT_EQ_INT(s.jpeg_quality, 33);
	ts_settings_free(&s);
	unlink(path);
}

static void a_missing_config_file_is_an_error(void)
{
	struct ts_settings s;
	struct ts_error err;
	char *argv[] = { "--config=/nonexistent/tessera.conf" };

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 1, argv), 400);
	EXPECT(strstr(err.msg, "/nonexistent/tessera.conf") != NULL);
	ts_settings_free(&s);
}

static void environment_overrides_the_config_file(void)
{
	struct ts_settings s;
	struct ts_error err;
	const char *path = write_conf("jpeg_quality = 90\ncors = https://a.org\n");
	char *argv[] = { "--config", (char *)path };

	clear_env();
	setenv("TESSERA_JPEG_QUALITY", "60", 1);
	setenv("CORS", "https://b.org", 1);
	EXPECT_EQ_INT(load(&s, &err, 2, argv), 0);
	EXPECT_EQ_INT(s.jpeg_quality, 60);
	EXPECT_EQ_STR(s.cors, "https://b.org");
	ts_settings_free(&s);
	unlink(path);
	clear_env();
}

static void iipsrv_variable_names_are_understood(void)
{
	struct ts_settings s;
	struct ts_error err;

	clear_env();
	setenv("FILESYSTEM_PREFIX", "/var/www/images/", 1);
	setenv("FILESYSTEM_SUFFIX", ".tif", 1);
	setenv("JPEG_QUALITY", "85", 1);
	setenv("MAX_CVT", "3000", 1);
	setenv("CORS", "", 1);
	setenv("ALLOW_UPSCALING", "0", 1);
	setenv("MAX_IMAGE_CACHE_SIZE", "64", 1);
	EXPECT_EQ_INT(load(&s, &err, 0, NULL), 0);
	EXPECT_EQ_STR(s.root, "/var/www/images/");
	EXPECT_EQ_STR(s.suffixes, ".tif");
	EXPECT_EQ_INT(s.jpeg_quality, 85);
	EXPECT_EQ_INT(s.max_width, 3000);
	EXPECT_EQ_INT(s.max_height, 3000);
	EXPECT_EQ_STR(s.cors, "");
	EXPECT(!s.allow_upscaling);
	EXPECT_EQ_INT(s.cache_size_mb, 64);
	ts_settings_free(&s);
	clear_env();
}

static void tessera_names_win_over_iipsrv_names(void)
{
	struct ts_settings s;
	struct ts_error err;

	clear_env();
	setenv("MAX_CVT", "3000", 1);
	setenv("TESSERA_MAX_WIDTH", "500", 1);
	setenv("JPEG_QUALITY", "85", 1);
	setenv("TESSERA_JPEG_QUALITY", "50", 1);
	EXPECT_EQ_INT(load(&s, &err, 0, NULL), 0);
	EXPECT_EQ_INT(s.max_width, 500);
	EXPECT_EQ_INT(s.max_height, 3000);
	EXPECT_EQ_INT(s.jpeg_quality, 50);
	ts_settings_free(&s);
	clear_env();
}

static void a_bad_environment_value_names_the_variable(void)
{
	struct ts_settings s;
	struct ts_error err;

	clear_env();
	setenv("JPEG_QUALITY", "101", 1);
	EXPECT_EQ_INT(load(&s, &err, 0, NULL), 400);
	EXPECT_EQ_STR(err.msg, "JPEG_QUALITY: expected an integer from 1 to 100, got '101'");
	ts_settings_free(&s);
	clear_env();
}

static void flags_override_the_environment(void)
{
	struct ts_settings s;
	struct ts_error err;
	char *argv[] = { "--jpeg-quality", "40", "--cors=https://c.org", "--max_width", "800" };

	clear_env();
	setenv("TESSERA_JPEG_QUALITY", "60", 1);
	setenv("TESSERA_CORS", "https://b.org", 1);
	EXPECT_EQ_INT(load(&s, &err, 5, argv), 0);
	EXPECT_EQ_INT(s.jpeg_quality, 40);
	EXPECT_EQ_STR(s.cors, "https://c.org");
	EXPECT_EQ_INT(s.max_width, 800);
	ts_settings_free(&s);
	clear_env();
}

static void short_flag_aliases_set_their_settings(void)
{
	struct ts_settings s;
	struct ts_error err;
	char *argv[] = { "--fastcgi", "/run/t.sock", "--http=127.0.0.1:8080", "--cache-size", "9",
	                 "--http-listen", ":9090" };

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 7, argv), 0);
	EXPECT_EQ_STR(s.fastcgi_listen, "/run/t.sock");
	EXPECT_EQ_STR(s.http_listen, ":9090");
	EXPECT_EQ_INT(s.cache_size_mb, 9);
	ts_settings_free(&s);
}

static void out_of_range_and_malformed_flags_are_errors_naming_the_flag(void)
{
	struct ts_settings s;
	struct ts_error err;
	char *a1[] = { "--max-width", "abc" };
	char *a2[] = { "--png-level=10" };
	char *a3[] = { "--threads", "-1" };
	char *a4[] = { "--default-version", "4" };
	char *a5[] = { "--jpeg-quality" };
	char *a6[] = { "--no-such-thing", "1" };
	char *a7[] = { "stray" };

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 2, a1), 400);
	EXPECT_EQ_STR(err.msg, "--max-width: expected an integer from 1 to 65535, got 'abc'");
	ts_settings_free(&s);
	EXPECT_EQ_INT(load(&s, &err, 1, a2), 400);
	EXPECT_EQ_STR(err.msg, "--png-level: expected an integer from 0 to 9, got '10'");
	ts_settings_free(&s);
	EXPECT_EQ_INT(load(&s, &err, 2, a3), 400);
	EXPECT_EQ_STR(err.msg, "--threads: expected an integer from 0 to 256, got '-1'");
	ts_settings_free(&s);
	EXPECT_EQ_INT(load(&s, &err, 2, a4), 400);
	ts_settings_free(&s);
	EXPECT_EQ_INT(load(&s, &err, 1, a5), 400);
	EXPECT_EQ_STR(err.msg, "--jpeg-quality: missing value");
	ts_settings_free(&s);
	EXPECT_EQ_INT(load(&s, &err, 2, a6), 400);
	EXPECT(strstr(err.msg, "unknown option '--no-such-thing'") != NULL);
	ts_settings_free(&s);
	EXPECT_EQ_INT(load(&s, &err, 1, a7), 400);
	EXPECT(strstr(err.msg, "unexpected argument 'stray'") != NULL);
	ts_settings_free(&s);
}

static void every_boolean_spelling_is_accepted(void)
{
	static const char *yes[] = { "1", "true", "TRUE", "yes", "on", "On" };
	static const char *no[] = { "0", "false", "No", "no", "off", "OFF" };
	struct ts_settings s;
	struct ts_error err;

	clear_env();
	for (size_t i = 0; i < 6; i++) {
		char *argv[] = { "--trust-forwarded", (char *)yes[i], "--allow-upscaling", (char *)no[i] };
		EXPECT_EQ_INT(load(&s, &err, 4, argv), 0);
		EXPECT(s.trust_forwarded);
		EXPECT(!s.allow_upscaling);
		ts_settings_free(&s);
	}
	{
		char *argv[] = { "--trust-forwarded", "--no-allow-upscaling", "--cors", "x" };
		EXPECT_EQ_INT(load(&s, &err, 4, argv), 0);
		EXPECT(s.trust_forwarded);
		EXPECT(!s.allow_upscaling);
		EXPECT_EQ_STR(s.cors, "x");
		ts_settings_free(&s);
	}
	{
		char *argv[] = { "--allow-upscaling=maybe" };
		EXPECT_EQ_INT(load(&s, &err, 1, argv), 400);
		EXPECT_EQ_STR(err.msg, "--allow-upscaling: expected true/false, yes/no, on/off or "
		              "1/0, got 'maybe'");
		ts_settings_free(&s);
	}
}

static void help_flag_is_reported_to_the_caller(void)
{
	struct ts_settings s;
	struct ts_error err;
	char *argv[] = { "--root", "/x", "--help" };
	bool help = false;

	clear_env();
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_settings_load(&s, 3, argv, &help, &err), 0);
	EXPECT(help);
	ts_settings_free(&s);
}

static void generated_config_file_reads_back_to_the_same_settings(void)
{
	struct ts_settings s, back;
	struct ts_error err;
	char *argv[] = { "--root", "/srv/img", "--cors", "", "--jpeg-quality", "88",
	                 "--rights", "http://r.org/a b" };
	char path[] = "/tmp/test_settings_gen_XXXXXX";
	char *argv2[] = { "--config", path };
	FILE *f;
	int fd;

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 8, argv), 0);
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	ts_settings_write_config(f, &s);
	fclose(f);
	EXPECT_EQ_INT(load(&back, &err, 2, argv2), 0);
	EXPECT_EQ_STR(err.msg, "");
	EXPECT_EQ_STR(back.root, "/srv/img");
	EXPECT_EQ_STR(back.cors, "");
	EXPECT_EQ_INT(back.jpeg_quality, 88);
	EXPECT_EQ_STR(back.rights, "http://r.org/a b");
	EXPECT_EQ_STR(back.suffixes, ".tif,.tiff,.ptif,.jp2,.jph,.j2k,.j2c,.jhc,.jpg,.jpeg,.png");
	ts_settings_free(&s);
	ts_settings_free(&back);
	unlink(path);
}

static void help_and_man_page_list_every_setting(void)
{
	static const char *keys[] = { "--root", "FILESYSTEM_PREFIX", "--max-width", "MAX_CVT",
	                              "--cache-size", "MAX_IMAGE_CACHE_SIZE", "--fastcgi",
	                              "--http", "TESSERA_CONFIG", "1..100" };
	char *text = NULL, *man = NULL;
	size_t len = 0, mlen = 0;
	FILE *f = open_memstream(&text, &len);

	ts_settings_help(f);
	fclose(f);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		EXPECT(strstr(text, keys[i]) != NULL);
	f = open_memstream(&man, &mlen);
	ts_settings_write_man(f);
	fclose(f);
	EXPECT(strstr(man, ".B max_decode_pixels") != NULL);
	EXPECT(strstr(man, "\\-\\-jpeg\\-quality") != NULL);
	free(text);
	free(man);
}

static void idle_trim_seconds_defaults_to_30_and_takes_0_to_86400(void)
{
	struct ts_settings s;
	struct ts_error err;
	char *a1[] = { "--idle-trim-seconds", "0" };
	char *a2[] = { "--idle-trim-seconds", "86401" };

	clear_env();
	EXPECT_EQ_INT(load(&s, &err, 0, NULL), 0);
	EXPECT_EQ_INT(s.idle_trim_seconds, 30);
	ts_settings_free(&s);
	EXPECT_EQ_INT(load(&s, &err, 2, a1), 0);
	EXPECT_EQ_INT(s.idle_trim_seconds, 0);
	ts_settings_free(&s);
	setenv("TESSERA_IDLE_TRIM_SECONDS", "12", 1);
	EXPECT_EQ_INT(load(&s, &err, 0, NULL), 0);
	EXPECT_EQ_INT(s.idle_trim_seconds, 12);
	ts_settings_free(&s);
	EXPECT_EQ_INT(load(&s, &err, 2, a2), 400);
	EXPECT_EQ_STR(err.msg, "--idle-trim-seconds: expected an integer from 0 to 86400, got '86401'");
	ts_settings_free(&s);
	clear_env();
}

int main(void)
{
	RUN(defaults_match_the_documented_values);
	RUN(config_file_sets_values_and_skips_comments_and_blank_lines);
	RUN(a_bad_config_line_is_reported_with_file_and_line);
	RUN(an_unknown_config_key_is_reported_with_file_and_line);
	RUN(a_line_without_equals_is_an_error);
	RUN(config_file_can_be_named_by_any_spelling_of_the_flag);
	RUN(a_missing_config_file_is_an_error);
	RUN(environment_overrides_the_config_file);
	RUN(iipsrv_variable_names_are_understood);
	RUN(tessera_names_win_over_iipsrv_names);
	RUN(a_bad_environment_value_names_the_variable);
	RUN(flags_override_the_environment);
	RUN(short_flag_aliases_set_their_settings);
	RUN(out_of_range_and_malformed_flags_are_errors_naming_the_flag);
	RUN(every_boolean_spelling_is_accepted);
	RUN(help_flag_is_reported_to_the_caller);
	RUN(generated_config_file_reads_back_to_the_same_settings);
	RUN(help_and_man_page_list_every_setting);
	RUN(idle_trim_seconds_defaults_to_30_and_takes_0_to_86400);
	return CHECK_DONE();
}
