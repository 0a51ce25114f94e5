/*
 * test_fcgi_gate.c - the FastCGI gate: which byte sequences are a whole
 * request head (pure), and, with the FastCGI front end running on
 * 127.0.0.1 with 2 workers and a 1 s read timeout, that idle and half-sent
 * connections hold no worker (a request on a fresh connection is answered
 * at once while more idle connections than workers are open), that they
 * are closed after the timeout, and that a connection the web server keeps
 * (FCGI_KEEP_CONN) is served again after idling.  A gate alone honours
 * libfcgi's FCGI_WEB_SERVER_ADDRS.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "src/front/front.h"
#include "tessera/arena.h"
#include "tessera/log.h"

#define WORKERS 2
#define IDLE (WORKERS + 4)

static int port;
static volatile int stop;
static struct ts_settings settings;
static int run_rc = -1;

static void answer(void *ctx, const struct ts_http_request *req, struct ts_arena *a,
                   struct ts_response *resp)
{
	(void)ctx;
	(void)a;
	resp->status = 200;
	resp->content_type = "text/plain";
	ts_buf_printf(&resp->body, "target=%s", req->target);
}

static void *run(void *arg)
{
	(void)arg;
	run_rc = ts_fastcgi_serve(answer, NULL, &settings, &stop);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

static int connect_front(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 100 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0; i++)
		usleep(20000);
	return fd;
}

static size_t header(unsigned char *b, int type, size_t len)
{
	b[0] = 1;
	b[1] = (unsigned char)type;
	b[2] = 0;
	b[3] = 1;
	b[4] = (unsigned char)(len >> 8);
	b[5] = (unsigned char)len;
	b[6] = 0;
	b[7] = 0;
	return 8;
}

/* A whole request for uri into b: BEGIN_REQUEST (keep: FCGI_KEEP_CONN),
 * PARAMS, the empty PARAMS, the empty STDIN.  Returns its length. */
static size_t build(unsigned char *b, const char *uri, bool keep)
{
	size_t n = 0, kl = strlen("REQUEST_URI"), vl = strlen(uri);

	n += header(b + n, 1, 8);
	memcpy(b + n, keep ? "\0\1\1\0\0\0\0\0" : "\0\1\0\0\0\0\0\0", 8);
	n += 8;
	n += header(b + n, 4, 2 + kl + vl);
	b[n++] = (unsigned char)kl;
	b[n++] = (unsigned char)vl;
	memcpy(b + n, "REQUEST_URI", kl);
	n += kl;
	memcpy(b + n, uri, vl);
	n += vl;
	n += header(b + n, 4, 0);
	n += header(b + n, 5, 0);
	return n;
}

/* Read records until END_REQUEST (type 3); true when it came and the
 * STDOUT held want. */
static bool read_answer(int fd, const char *want, double timeout)
{
	unsigned char buf[8192];
	size_t got = 0;
	struct timeval tv = { (time_t)timeout, (suseconds_t)((timeout - (int)timeout) * 1e6) };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (;;) {
		size_t i = 0;
		ssize_t r;

		while (i + 8 <= got) {
			size_t cl = ((size_t)buf[i + 4] << 8) | buf[i + 5], pl = buf[i + 6];
			if (i + 8 + cl + pl > got)
				break;
			if (buf[i + 1] == 3) {
				buf[got < sizeof buf ? got : sizeof buf - 1] = 0;
				return memmem(buf, got, want, strlen(want)) != NULL;
			}
			i += 8 + cl + pl;
		}
		if (got == sizeof buf)
			return false;
		r = read(fd, buf + got, sizeof buf - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
}

/* Has the server closed fd (read gives 0 or an error) within timeout s? */
static bool closed_within(int fd, double timeout)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, (int)(timeout * 1000)) <= 0)
		return false;
	return read(fd, &c, 1) <= 0;
}

static void a_whole_head_is_recognised_only_when_its_params_end(void)
{
	unsigned char b[512];
	size_t n = build(b, "/x", false);
	size_t params_end = n - 8;   /* up to and including the empty PARAMS */

	EXPECT_EQ_INT(ts_fcgi_head_complete(b, 0), 0);
	EXPECT_EQ_INT(ts_fcgi_head_complete(b, 7), 0);
	EXPECT_EQ_INT(ts_fcgi_head_complete(b, 16), 0);           /* BEGIN_REQUEST only */
	EXPECT_EQ_INT(ts_fcgi_head_complete(b, params_end - 9), 0); /* params cut short */
	EXPECT_EQ_INT(ts_fcgi_head_complete(b, params_end - 1), 0); /* end record cut */
	EXPECT_EQ_INT(ts_fcgi_head_complete(b, params_end), 1);
	EXPECT_EQ_INT(ts_fcgi_head_complete(b, n), 1);
	b[0] = 2;
	EXPECT_EQ_INT(ts_fcgi_head_complete(b, n), -1);          /* not FastCGI 1 */
	EXPECT_EQ_INT(ts_fcgi_head_complete((const unsigned char *)"GET / HTTP/1.1\r\n", 16), -1);
}

static void idle_connections_beyond_the_workers_do_not_stop_a_request(void)
{
	int idle[IDLE], fd;
	unsigned char b[512];
	size_t n;
	double t0;

	for (int i = 0; i < IDLE; i++)
		idle[i] = connect_front();
	usleep(100000);
	fd = connect_front();
	n = build(b, "/fresh", false);
	t0 = now();
	EXPECT(write(fd, b, n) == (ssize_t)n);
	EXPECT(read_answer(fd, "target=/fresh", 0.9));
	EXPECT(now() - t0 < 0.9);   /* the read timeout is 1 s: never waited it out */
	close(fd);
	/* ...and each idle one is closed once the read timeout has passed. */
	for (int i = 0; i < IDLE; i++) {
		EXPECT(closed_within(idle[i], 3.0));
		close(idle[i]);
	}
}

static void a_half_sent_head_is_closed_after_the_timeout_and_holds_no_worker(void)
{
	unsigned char b[512];
	size_t n = build(b, "/half", false);
	int half[IDLE], fd;

	for (int i = 0; i < IDLE; i++) {
		half[i] = connect_front();
		EXPECT(write(half[i], b, n - 20) == (ssize_t)(n - 20));
	}
	fd = connect_front();
	n = build(b, "/meanwhile", false);
	EXPECT(write(fd, b, n) == (ssize_t)n);
	EXPECT(read_answer(fd, "target=/meanwhile", 0.9));
	close(fd);
	for (int i = 0; i < IDLE; i++) {
		EXPECT(closed_within(half[i], 3.0));
		close(half[i]);
	}
}

static void a_kept_connection_is_served_again_after_idling(void)
{
	unsigned char b[512];
	size_t n;
	int fd = connect_front();

	n = build(b, "/first", true);
	EXPECT(write(fd, b, n) == (ssize_t)n);
	EXPECT(read_answer(fd, "target=/first", 2.0));
	usleep(300000);   /* idle, under the timeout: in the gate, not a worker */
	n = build(b, "/second", true);
	EXPECT(write(fd, b, n) == (ssize_t)n);
	EXPECT(read_answer(fd, "target=/second", 2.0));
	/* then idle past the timeout: closed */
	EXPECT(closed_within(fd, 3.0));
	close(fd);
}

static void something_that_is_not_fastcgi_is_closed_at_once(void)
{
	int fd = connect_front();
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	EXPECT(write(fd, http, strlen(http)) == (ssize_t)strlen(http));
	EXPECT(closed_within(fd, 0.9));
	close(fd);
}

/* A listening TCP socket of our own on 127.0.0.1, for a gate alone. */
static int listener(int *port_out)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0)
		return -1;
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port_out = ntohs(sa.sin_port);
	return fd;
}

static void only_the_addresses_in_fcgi_web_server_addrs_may_connect(void)
{
	unsigned char b[512];
	size_t n = build(b, "/allowed", false);
	int saved = port, lfd, gport = 0, fd, got;
	struct ts_fcgi_gate *g;

	lfd = listener(&gport);
	EXPECT(lfd >= 0);
	port = gport;
	setenv("FCGI_WEB_SERVER_ADDRS", "10.9.8.7, 192.0.2.1", 1);
	g = ts_fcgi_gate_start(lfd, 1);
	fd = connect_front();
	EXPECT(write(fd, b, n) == (ssize_t)n);
	EXPECT(closed_within(fd, 2.0));   /* 127.0.0.1 is not in the list */
	close(fd);
	ts_fcgi_gate_destroy(g);

	setenv("FCGI_WEB_SERVER_ADDRS", "10.9.8.7,127.0.0.1", 1);
	g = ts_fcgi_gate_start(lfd, 1);
	fd = connect_front();
	EXPECT(write(fd, b, n) == (ssize_t)n);
	got = ts_fcgi_gate_take(g);          /* whole head: handed out */
	EXPECT(got >= 0);
	if (got >= 0)
		close(got);
	close(fd);
	ts_fcgi_gate_destroy(g);
	unsetenv("FCGI_WEB_SERVER_ADDRS");
	close(lfd);
	port = saved;
}

static void *stop_gate(void *arg)
{
	ts_fcgi_gate_stop(arg);
	return NULL;
}

/* A worker process draining (SIGHUP, SIGTERM) must still answer the
 * connections its gate accepted before the stop, even those whose head is
 * still arriving: closing them is a 502 at the web server. */
static void a_head_still_arriving_at_stop_is_still_handed_over(void)
{
	unsigned char b[512];
	size_t n = build(b, "/late", false);
	int saved = port, lfd, gport = 0, fd, got;
	struct ts_fcgi_gate *g;
	pthread_t t;
	struct timespec pause = { 0, 300 * 1000 * 1000 };

	lfd = listener(&gport);
	EXPECT(lfd >= 0);
	port = gport;
	g = ts_fcgi_gate_start(lfd, 5);
	fd = connect_front();
	EXPECT(write(fd, b, n / 2) == (ssize_t)(n / 2));
	nanosleep(&pause, NULL);              /* the gate has accepted it */
	pthread_create(&t, NULL, stop_gate, g);
	nanosleep(&pause, NULL);
	EXPECT(write(fd, b + n / 2, n - n / 2) == (ssize_t)(n - n / 2));
	got = ts_fcgi_gate_take(g);
	EXPECT(got >= 0);                     /* handed over, not closed */
	if (got >= 0)
		close(got);
	pthread_join(t, NULL);
	EXPECT_EQ_INT(ts_fcgi_gate_take(g), -1);   /* and then nothing more */
	close(fd);
	ts_fcgi_gate_destroy(g);
	close(lfd);
	port = saved;
}

int main(void)
{
	pthread_t t;
	char addr[32];
	struct ts_error err;
	char *argv[] = { "--fastcgi", addr, "--threads", "2", "--fastcgi-read-timeout", "1" };

	port = free_port();
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	ts_error_clear(&err);
	if (ts_settings_load(&settings, 6, argv, NULL, &err) != 0) {
		printf("settings: %s\n", err.msg);
		return 1;
	}
	ts_log_open(NULL, 1);
	pthread_create(&t, NULL, run, NULL);
	RUN(a_whole_head_is_recognised_only_when_its_params_end);
	RUN(idle_connections_beyond_the_workers_do_not_stop_a_request);
	RUN(a_half_sent_head_is_closed_after_the_timeout_and_holds_no_worker);
	RUN(a_kept_connection_is_served_again_after_idling);
	RUN(something_that_is_not_fastcgi_is_closed_at_once);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	EXPECT_EQ_INT(run_rc, 0);
	ts_settings_free(&settings);
	RUN(only_the_addresses_in_fcgi_web_server_addrs_may_connect);
	RUN(a_head_still_arriving_at_stop_is_still_handed_over);
	return CHECK_DONE();
}
