/*
 * test_memcached.c - the shared response cache against a real memcached.
 *
 * Starts `memcached -l 127.0.0.1 -p PORT -U 0` as a child on a free port
 * (says "skipped" when memcached is not installed), and checks roundtrips,
 * content types, long and unusual keys, misses, values it must not trust
 * (written by something else, truncated), values too large to store, a
 * server that died or never answers (a fast miss, never a stall), recovery
 * after a restart, and four threads at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tessera/log.h"
#include "tessera/remote_cache.h"

static int port;
static pid_t mc_pid = -1;
static char servers[64];
static char log_path[64];

/* Lines of the test's log file that mention text. */
static int log_lines(const char *text)
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(log_path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static int connect_local(int p)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static const char *memcached_path(void)
{
	static const char *paths[] = { "/usr/bin/memcached", "/usr/local/bin/memcached",
	                               "/usr/sbin/memcached" };

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* Start memcached on port; true once it accepts connections. */
static bool start_memcached(void)
{
	const char *path = memcached_path();
	char p[16];

	if (!path)
		return false;
	snprintf(p, sizeof p, "%d", port);
	mc_pid = fork();
	if (mc_pid == 0) {
		/* Dies with the test, even when the test crashes. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(path, "memcached", "-l", "127.0.0.1", "-p", p, "-U", "0", "-u", "root",
		      "-m", "64", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		int fd = connect_local(port);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		usleep(10000);
	}
	return false;
}

static void stop_memcached(void)
{
	if (mc_pid > 0) {
		kill(mc_pid, SIGKILL);
		waitpid(mc_pid, NULL, 0);
		mc_pid = -1;
	}
}

/* Talk to memcached directly: send cmd (len bytes), read one reply line. */
static bool raw_command(const void *cmd, size_t len, char *reply, size_t rsize)
{
	int fd = connect_local(port);
	ssize_t n;

	if (fd < 0)
		return false;
	if (write(fd, cmd, len) != (ssize_t)len) {
		close(fd);
		return false;
	}
	n = read(fd, reply, rsize - 1);
	close(fd);
	if (n <= 0)
		return false;
	reply[n] = '\0';
	return true;
}

static struct ts_remote_cache *open_cache(void)
{
	struct ts_error err;
	struct ts_remote_cache *rc;

	ts_error_clear(&err);
	rc = ts_remote_cache_create(servers, &err);
	if (!rc)
		printf("    create failed: %s\n", err.msg);
	return rc;
}

/* ------------------------------------------------------------------------ */

static void no_servers_means_disabled_without_an_error(void)
{
	struct ts_error err;
	struct ts_buf b = TS_BUF_INIT;
	char ct[64];
	uint64_t h = 9, m = 9, e = 9;

	ts_error_clear(&err);
	EXPECT(ts_remote_cache_create(NULL, &err) == NULL);
	EXPECT(ts_remote_cache_create("", &err) == NULL);
	EXPECT_EQ_INT(err.status, 0);
	/* The disabled handle is accepted everywhere. */
	EXPECT(!ts_remote_cache_get(NULL, "k", &b, ct, sizeof ct));
	ts_remote_cache_put(NULL, "k", "x", 1, "image/jpeg", 0);
	ts_remote_cache_stats(NULL, &h, &m, &e);
	EXPECT_EQ_INT(h + m + e, 0);
	ts_remote_cache_destroy(NULL);
}

static void a_server_list_that_does_not_parse_is_a_settings_error(void)
{
	static const char *bad[] = { "a:b:c", ",", "127.0.0.1:", "127.0.0.1:99999",
	                             "localhost:abc", "127.0.0.1:11211,", "::1", "[::1",
	                             "host name:11211", "127.0.0.1:0" };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct ts_error err;
		struct ts_remote_cache *rc;

		ts_error_clear(&err);
		rc = ts_remote_cache_create(bad[i], &err);
		if (rc)
			printf("    accepted '%s'\n", bad[i]);
		EXPECT(rc == NULL);
		EXPECT_EQ_INT(err.status, 400);
		EXPECT(strstr(err.msg, "memcached_servers") != NULL);
		ts_remote_cache_destroy(rc);
	}
}

static void good_server_lists_are_accepted(void)
{
	static const char *good[] = { "127.0.0.1:11211", "localhost", " 127.0.0.1:1 , 10.0.0.2:2",
	                              "[::1]:11211", "[::1]", "/run/memcached.sock",
	                              "cache-1.example.org:11211" };

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct ts_error err;
		struct ts_remote_cache *rc;

		ts_error_clear(&err);
		rc = ts_remote_cache_create(good[i], &err);
		if (!rc)
			printf("    refused '%s': %s\n", good[i], err.msg);
		EXPECT(rc != NULL);
		ts_remote_cache_destroy(rc);
	}
}

static void a_stored_body_comes_back_with_its_content_type(void)
{
	struct ts_remote_cache *rc = open_cache();
	struct ts_buf b = TS_BUF_INIT;
	unsigned char data[5000];
	char ct[128] = "";
	uint64_t h, m, e;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	data[100] = 0;   /* binary bodies with NULs */
	ts_remote_cache_put(rc, "1:2:3:4.5|img|3|0|full/max/0/default.jpg", data, sizeof data,
	                    "image/jpeg", 60);
	EXPECT(ts_remote_cache_get(rc, "1:2:3:4.5|img|3|0|full/max/0/default.jpg", &b, ct,
	                           sizeof ct));
	EXPECT_EQ_INT(b.len, sizeof data);
	EXPECT(b.len == sizeof data && memcmp(b.data, data, sizeof data) == 0);
	EXPECT_EQ_STR(ct, "image/jpeg");

	ts_remote_cache_put(rc, "info", "{\"a\":1}", 7,
	                    "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"", 0);
	EXPECT(ts_remote_cache_get(rc, "info", &b, ct, sizeof ct));
	EXPECT_EQ_STR(ct, "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"");
	EXPECT(b.len == 7 && memcmp(b.data, "{\"a\":1}", 7) == 0);

	/* An empty body is a body too. */
	ts_remote_cache_put(rc, "empty", "", 0, "text/plain", 0);
	EXPECT(ts_remote_cache_get(rc, "empty", &b, ct, sizeof ct));
	EXPECT_EQ_INT(b.len, 0);
	ts_remote_cache_stats(rc, &h, &m, &e);
	EXPECT_EQ_INT(h, 3);
	EXPECT_EQ_INT(m, 0);
	EXPECT_EQ_INT(e, 0);
	ts_buf_free(&b);
	ts_remote_cache_destroy(rc);
}

static void a_key_never_stored_is_a_miss_and_leaves_the_body_alone(void)
{
	struct ts_remote_cache *rc = open_cache();
	struct ts_buf b = TS_BUF_INIT;
	char ct[64] = "unchanged";
	uint64_t h, m, e;

	ts_buf_append_str(&b, "before");
	EXPECT(!ts_remote_cache_get(rc, "never stored anywhere", &b, ct, sizeof ct));
	EXPECT(b.len == 6 && memcmp(b.data, "before", 6) == 0);
	EXPECT_EQ_STR(ct, "unchanged");
	ts_remote_cache_stats(rc, &h, &m, &e);
	EXPECT_EQ_INT(h, 0);
	EXPECT_EQ_INT(m, 1);
	EXPECT_EQ_INT(e, 0);   /* a miss is not a failure */
	ts_buf_free(&b);
	ts_remote_cache_destroy(rc);
}

static void long_keys_and_keys_with_spaces_roundtrip_without_colliding(void)
{
	struct ts_remote_cache *rc = open_cache();
	struct ts_buf b = TS_BUF_INIT;
	char k1[2000], k2[2000], ct[64];
	const char *odd[] = { "has space", "tab\there", "new\nline", "caf\xc3\xa9", "%n%s" };

	memset(k1, 'x', sizeof k1 - 1);
	k1[sizeof k1 - 1] = '\0';
	memcpy(k2, k1, sizeof k1);
	k2[sizeof k2 - 2] = 'y';
	ts_remote_cache_put(rc, k1, "one", 3, "image/png", 0);
	ts_remote_cache_put(rc, k2, "two", 3, "image/webp", 0);
	EXPECT(ts_remote_cache_get(rc, k1, &b, ct, sizeof ct));
	EXPECT(b.len == 3 && memcmp(b.data, "one", 3) == 0);
	EXPECT_EQ_STR(ct, "image/png");
	EXPECT(ts_remote_cache_get(rc, k2, &b, ct, sizeof ct));
	EXPECT(b.len == 3 && memcmp(b.data, "two", 3) == 0);
	EXPECT_EQ_STR(ct, "image/webp");
	/* Exactly at and just over the plain-key limit (250 with the prefix). */
	k1[246] = '\0';
	k2[246] = '\0';
	k2[245] = 'z';
	ts_remote_cache_put(rc, k1, "246", 3, "image/png", 0);
	ts_remote_cache_put(rc, k2, "246z", 4, "image/png", 0);
	EXPECT(ts_remote_cache_get(rc, k1, &b, ct, sizeof ct));
	EXPECT(b.len == 3 && memcmp(b.data, "246", 3) == 0);
	k1[246] = 'x';
	k1[247] = '\0';
	ts_remote_cache_put(rc, k1, "247", 3, "image/png", 0);
	EXPECT(ts_remote_cache_get(rc, k1, &b, ct, sizeof ct));
	EXPECT(b.len == 3 && memcmp(b.data, "247", 3) == 0);
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		ts_remote_cache_put(rc, odd[i], odd[i], strlen(odd[i]), "image/gif", 0);
		EXPECT(ts_remote_cache_get(rc, odd[i], &b, ct, sizeof ct));
		EXPECT(b.len == strlen(odd[i]) && memcmp(b.data, odd[i], b.len) == 0);
	}
	ts_buf_free(&b);
	ts_remote_cache_destroy(rc);
}

static void a_value_written_by_someone_else_is_a_miss(void)
{
	struct ts_remote_cache *rc = open_cache();
	struct ts_buf b = TS_BUF_INIT;
	char ct[64], reply[256];
	static const char foreign[] = "set ts1:foreign 0 0 5\r\nhello\r\n";
	/* Right flags and magic, but the body length says 99 of 3 bytes. */
	static const char truncated[] = "set ts1:trunc 1414746673 0 20\r\n"
	                                 "TSR1\x03\x00\x00\x05\x00\x00\x00\x63" "a/btrunc\r\n";
	/* Right everything, but stored under another key's name. */
	static const char moved[] = "set ts1:moved 1414746673 0 22\r\n"
	                             "TSR1\x03\x00\x00\x05\x00\x00\x00\x02" "a/bother42\r\n";

	EXPECT(raw_command(foreign, sizeof foreign - 1, reply, sizeof reply));
	EXPECT(strncmp(reply, "STORED", 6) == 0);
	EXPECT(!ts_remote_cache_get(rc, "foreign", &b, ct, sizeof ct));
	EXPECT(raw_command(truncated, sizeof truncated - 1, reply, sizeof reply));
	EXPECT(strncmp(reply, "STORED", 6) == 0);
	EXPECT(!ts_remote_cache_get(rc, "trunc", &b, ct, sizeof ct));
	EXPECT(raw_command(moved, sizeof moved - 1, reply, sizeof reply));
	EXPECT(strncmp(reply, "STORED", 6) == 0);
	EXPECT(!ts_remote_cache_get(rc, "moved", &b, ct, sizeof ct));
	/* The same layout under its own key is accepted: the checks above
	 * failed for the reason they name, not because the layout is wrong. */
	{
		static const char own[] = "set ts1:other 1414746673 0 22\r\n"
		                          "TSR1\x03\x00\x00\x05\x00\x00\x00\x02" "a/bother42\r\n";
		EXPECT(raw_command(own, sizeof own - 1, reply, sizeof reply));
		EXPECT(ts_remote_cache_get(rc, "other", &b, ct, sizeof ct));
		EXPECT_EQ_STR(ct, "a/b");
		EXPECT(b.len == 2 && memcmp(b.data, "42", 2) == 0);
	}
	EXPECT_EQ_INT(b.len, 2);
	ts_buf_free(&b);
	ts_remote_cache_destroy(rc);
}

static void a_content_type_too_long_for_the_buffer_is_a_miss(void)
{
	struct ts_remote_cache *rc = open_cache();
	struct ts_buf b = TS_BUF_INIT;
	char ct[10];

	ts_remote_cache_put(rc, "ct", "x", 1, "image/jpeg", 0);   /* 10 bytes + NUL > 10 */
	EXPECT(!ts_remote_cache_get(rc, "ct", &b, ct, sizeof ct));
	{
		char fits[11];   /* exactly enough: a hit */
		EXPECT(ts_remote_cache_get(rc, "ct", &b, fits, sizeof fits));
		EXPECT_EQ_STR(fits, "image/jpeg");
	}
	/* Header injection: a type with CR/LF is not stored at all. */
	ts_remote_cache_put(rc, "crlf", "x", 1, "image/jpeg\r\nSet-Cookie: a=b", 0);
	{
		char big[128];
		EXPECT(!ts_remote_cache_get(rc, "crlf", &b, big, sizeof big));
	}
	ts_buf_free(&b);
	ts_remote_cache_destroy(rc);
}

static void a_value_over_the_item_limit_is_not_stored(void)
{
	struct ts_remote_cache *rc = open_cache();
	struct ts_buf b = TS_BUF_INIT;
	size_t big = 2u << 20, fits = TS_REMOTE_CACHE_MAX_VALUE - 200;
	unsigned char *data = calloc(1, big);
	char ct[64];
	uint64_t e;

	ts_remote_cache_put(rc, "big", data, big, "image/png", 0);
	EXPECT(!ts_remote_cache_get(rc, "big", &b, ct, sizeof ct));
	/* Just under the limit is stored (memcached's default -I 1m takes it). */
	data[fits - 1] = 0xab;
	ts_remote_cache_put(rc, "fits", data, fits, "image/png", 0);
	EXPECT(ts_remote_cache_get(rc, "fits", &b, ct, sizeof ct));
	EXPECT(b.len == fits && b.data[fits - 1] == 0xab);
	ts_remote_cache_stats(rc, NULL, NULL, &e);
	EXPECT_EQ_INT(e, 0);   /* refused before asking memcached */
	free(data);
	ts_buf_free(&b);
	ts_remote_cache_destroy(rc);
}

struct worker {
	struct ts_remote_cache *rc;
	int id, bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ts_buf b = TS_BUF_INIT;
	char key[64], ct[64], want_ct[32];
	unsigned char data[3000];

	for (int i = 0; i < 200; i++) {
		size_t n = 1 + (size_t)(i * 13 + w->id * 101) % sizeof data;
		snprintf(key, sizeof key, "thread %d item %d", w->id, i);
		snprintf(want_ct, sizeof want_ct, "image/t%d", w->id);
		for (size_t j = 0; j < n; j++)
			data[j] = (unsigned char)(j + (size_t)i + (size_t)w->id * 31);
		ts_remote_cache_put(w->rc, key, data, n, want_ct, 0);
		if (!ts_remote_cache_get(w->rc, key, &b, ct, sizeof ct) || b.len != n ||
		    memcmp(b.data, data, n) != 0 || strcmp(ct, want_ct) != 0)
			w->bad++;
	}
	ts_buf_free(&b);
	return NULL;
}

static void four_threads_share_one_handle(void)
{
	struct ts_remote_cache *rc = open_cache();
	struct worker w[4];
	pthread_t t[4];
	uint64_t h, m, e;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ rc, i, 0 };
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ_INT(w[i].bad, 0);
	}
	ts_remote_cache_stats(rc, &h, &m, &e);
	EXPECT_EQ_INT(h, 800);
	EXPECT_EQ_INT(e, 0);
	ts_remote_cache_destroy(rc);
}

static void a_dead_server_is_a_fast_miss_and_a_restarted_one_is_used_again(void)
{
	struct ts_remote_cache *rc = open_cache();
	struct ts_buf b = TS_BUF_INIT;
	char ct[64];
	double t0, worst = 0;
	uint64_t e;
	bool back = false;
	int lines0 = log_lines("memcached");

	ts_remote_cache_put(rc, "alive", "1", 1, "image/png", 0);
	EXPECT(ts_remote_cache_get(rc, "alive", &b, ct, sizeof ct));
	stop_memcached();
	for (int i = 0; i < 5; i++) {
		t0 = now_ms();
		EXPECT(!ts_remote_cache_get(rc, "alive", &b, ct, sizeof ct));
		ts_remote_cache_put(rc, "alive", "2", 1, "image/png", 0);
		if (now_ms() - t0 > worst)
			worst = now_ms() - t0;
	}
	if (worst >= 200)
		printf("    slowest get+put on a dead server: %.0f ms\n", worst);
	EXPECT(worst < 200);
	ts_remote_cache_stats(rc, NULL, NULL, &e);
	EXPECT(e >= 5);   /* five gets and five puts failed (some maybe in the pool) */

	/* Restart on the same port: after the retry pause the server is used. */
	EXPECT(start_memcached());
	for (int i = 0; i < 60 && !back; i++) {
		ts_remote_cache_put(rc, "again", "3", 1, "image/png", 0);
		back = ts_remote_cache_get(rc, "again", &b, ct, sizeof ct);
		if (!back)
			usleep(100000);
	}
	EXPECT(back);
	/* Ten or more failures, one log line: at most one every 10 s. */
	EXPECT_EQ_INT(log_lines("memcached") - lines0, 1);
	ts_buf_free(&b);
	ts_remote_cache_destroy(rc);
}

static void a_server_that_never_answers_costs_a_bounded_wait(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct ts_remote_cache *rc;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	char list[64], ct[64];
	double t0, took;

	/* Listening but never accepting or reading: connect succeeds (the
	 * kernel completes it), then nothing ever comes back. */
	bind(fd, (struct sockaddr *)&a, sizeof a);
	listen(fd, 16);
	getsockname(fd, (struct sockaddr *)&a, &len);
	snprintf(list, sizeof list, "127.0.0.1:%d", ntohs(a.sin_port));
	ts_error_clear(&err);
	rc = ts_remote_cache_create(list, &err);
	EXPECT(rc != NULL);
	t0 = now_ms();
	EXPECT(!ts_remote_cache_get(rc, "k", &b, ct, sizeof ct));
	took = now_ms() - t0;
	if (took >= 500)
		printf("    get on a silent server took %.0f ms\n", took);
	EXPECT(took < 500);
	t0 = now_ms();
	ts_remote_cache_put(rc, "k", "v", 1, "image/png", 0);
	took = now_ms() - t0;
	EXPECT(took < 500);
	ts_buf_free(&b);
	ts_remote_cache_destroy(rc);
	close(fd);
}

static void interned_types_are_stable_and_shared(void)
{
	char a[32] = "image/jpeg", c[200];
	const char *x = ts_remote_cache_intern_type(a), *y;

	EXPECT(x != NULL && x != a);
	EXPECT_EQ_STR(x, "image/jpeg");
	a[0] = 'X';   /* the interned copy does not depend on the caller's buffer */
	EXPECT_EQ_STR(x, "image/jpeg");
	y = ts_remote_cache_intern_type("image/jpeg");
	EXPECT(x == y);
	EXPECT(ts_remote_cache_intern_type("image/png") != x);
	EXPECT(ts_remote_cache_intern_type("") == NULL);
	memset(c, 'a', sizeof c - 1);
	c[sizeof c - 1] = '\0';
	EXPECT(ts_remote_cache_intern_type(c) == NULL);
}

int main(void)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);   /* as the daemon does */
	/* Failures are logged as warnings: to a file, where a test counts them. */
	snprintf(log_path, sizeof log_path, "/tmp/test_memcached.%d.log", (int)getpid());
	ts_log_open(log_path, TS_LOG_WARN);
	RUN(no_servers_means_disabled_without_an_error);
	RUN(a_server_list_that_does_not_parse_is_a_settings_error);
	RUN(good_server_lists_are_accepted);
	RUN(interned_types_are_stable_and_shared);
	RUN(a_server_that_never_answers_costs_a_bounded_wait);
	port = free_port();
	snprintf(servers, sizeof servers, "127.0.0.1:%d", port);
	if (!start_memcached()) {
		stop_memcached();
		printf("    skipped: memcached is not installed (or did not start)\n");
		unlink(log_path);
		return CHECK_DONE();
	}
	RUN(a_stored_body_comes_back_with_its_content_type);
	RUN(a_key_never_stored_is_a_miss_and_leaves_the_body_alone);
	RUN(long_keys_and_keys_with_spaces_roundtrip_without_colliding);
	RUN(a_value_written_by_someone_else_is_a_miss);
	RUN(a_content_type_too_long_for_the_buffer_is_a_miss);
	RUN(a_value_over_the_item_limit_is_not_stored);
	RUN(four_threads_share_one_handle);
	RUN(a_dead_server_is_a_fast_miss_and_a_restarted_one_is_used_again);
	stop_memcached();
	rc = CHECK_DONE();
	unlink(log_path);
	return rc;
}
