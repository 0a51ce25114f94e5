/*
 * test_address.c - listen and server addresses as operators write them
 * (core/address.c): Unix paths, host:port, [v6]:port, :port and bare ports,
 * and the refusals (no port, ports outside 1..65535, junk) naming the
 * setting.
 */
#include "check.h"
#include "tessera/address.h"

static ts_status parse(const char *a, struct ts_address *ad, struct ts_error *err)
{
	ts_error_clear(err);
	return ts_address_parse(a, "--http", ad, err);
}

static void unix_paths_are_anything_with_a_slash_or_the_unix_prefix(void)
{
	struct ts_address ad;
	struct ts_error err;

	EXPECT_EQ_INT(parse("/run/tessera/tessera.sock", &ad, &err), 0);
	EXPECT(ad.is_unix);
	EXPECT_EQ_STR(ad.path, "/run/tessera/tessera.sock");
	EXPECT_EQ_INT(parse("unix:/tmp/t.sock", &ad, &err), 0);
	EXPECT_EQ_STR(ad.path, "/tmp/t.sock");
	EXPECT_EQ_INT(parse("run/t.sock", &ad, &err), 0);
	EXPECT(ad.is_unix);
}

static void a_unix_path_longer_than_sun_path_is_refused(void)
{
	struct ts_address ad;
	struct ts_error err;
	char longp[200];

	memset(longp, 'a', sizeof longp - 1);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	EXPECT_EQ_INT(parse(longp, &ad, &err), 400);
	EXPECT(strstr(err.msg, "--http") != NULL);
}

static void tcp_forms_give_host_and_port(void)
{
	struct ts_address ad;
	struct ts_error err;

	EXPECT_EQ_INT(parse("127.0.0.1:8080", &ad, &err), 0);
	EXPECT(!ad.is_unix);
	EXPECT_EQ_STR(ad.host, "127.0.0.1");
	EXPECT_EQ_STR(ad.port, "8080");
	EXPECT_EQ_INT(parse("[::1]:9000", &ad, &err), 0);
	EXPECT_EQ_STR(ad.host, "::1");
	EXPECT_EQ_STR(ad.port, "9000");
	EXPECT_EQ_INT(parse(":8080", &ad, &err), 0);
	EXPECT_EQ_STR(ad.host, "");
	EXPECT_EQ_INT(parse("8080", &ad, &err), 0);
	EXPECT_EQ_STR(ad.host, "");
	EXPECT_EQ_STR(ad.port, "8080");
	EXPECT_EQ_INT(parse("images.example.org:1", &ad, &err), 0);
	EXPECT_EQ_INT(parse("h:65535", &ad, &err), 0);
}

static void ports_outside_1_to_65535_are_refused_with_the_range(void)
{
	struct ts_address ad;
	struct ts_error err;
	const char *bad[] = { "127.0.0.1:99999", ":65536", "127.0.0.1:0", "0", "1:000000" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		EXPECT_EQ_INT(parse(bad[i], &ad, &err), 400);
		EXPECT(strstr(err.msg, "--http") != NULL);
	}
	EXPECT_EQ_INT(parse("127.0.0.1:99999", &ad, &err), 400);
	EXPECT(strstr(err.msg, "1 to 65535") != NULL);
}

static void junk_is_refused_naming_the_forms(void)
{
	struct ts_address ad;
	struct ts_error err;
	const char *bad[] = { "garbage", "", "127.0.0.1:", "127.0.0.1", "host:port", "[::1", "[]:80",
	                      "[zz]:80", "a b:80", "h:80x", "h:-1", ":::" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		EXPECT_EQ_INT(parse(bad[i], &ad, &err), 400);
		EXPECT(err.msg[0] != '\0');
	}
	EXPECT_EQ_INT(parse("garbage", &ad, &err), 400);
	EXPECT(strstr(err.msg, "host:port") != NULL);
}

int main(void)
{
	RUN(unix_paths_are_anything_with_a_slash_or_the_unix_prefix);
	RUN(a_unix_path_longer_than_sun_path_is_refused);
	RUN(tcp_forms_give_host_and_port);
	RUN(ports_outside_1_to_65535_are_refused_with_the_range);
	RUN(junk_is_refused_naming_the_forms);
	return CHECK_DONE();
}
