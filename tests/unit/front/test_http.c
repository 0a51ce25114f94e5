/*
 * test_http.c - the embedded HTTP front end, driven on 127.0.0.1 with a
 * handler that records what it was given: the request target must arrive
 * byte for byte (percent-encoding, '+', empty values), headers must be
 * passed through, HEAD must carry the GET Content-Length without a body,
 * keep-alive must work, a file body must arrive whole from its descriptor
 * (which is then closed), and setting the stop flag must end the front end.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "check.h"
#include "src/front/front.h"
#include "tessera/arena.h"
#include "tessera/conn_watch.h"
#include "tessera/log.h"

static char seen_target[512], seen_method[16], seen_origin[128], seen_host[128];
static char seen_range[64], seen_if_range[64], seen_accel[64];
static volatile int watched_gone = -1;   /* /watch: 1 client left, 0 stayed */

#define FILE_BYTES 300007   /* several sendfile calls, odd on purpose */

static unsigned char file_byte(size_t i)
{
	return (unsigned char)(i * 13 + i / 509);
}

/* An unlinked temporary file of FILE_BYTES known bytes, open for reading. */
static int pattern_file(void)
{
	char name[] = "/tmp/tessera-test-http-XXXXXX";
	int fd = mkstemp(name);
	unsigned char *b = malloc(FILE_BYTES);

	if (fd < 0 || !b) {
		free(b);
		return -1;
	}
	for (size_t i = 0; i < FILE_BYTES; i++)
		b[i] = file_byte(i);
	if (write(fd, b, FILE_BYTES) != FILE_BYTES) {
		close(fd);
		fd = -1;
	}
	unlink(name);
	free(b);
	return fd;
}

static void record(void *ctx, const struct ts_http_request *req, struct ts_arena *a,
                   struct ts_response *resp)
{
	(void)ctx;
	snprintf(seen_range, sizeof seen_range, "%s", req->range ? req->range : "-");
	snprintf(seen_if_range, sizeof seen_if_range, "%s", req->if_range ? req->if_range : "-");
	snprintf(seen_accel, sizeof seen_accel, "%s",
	         req->accel_location ? req->accel_location : "-");
	if (strstr(req->target, "/slow")) {
		usleep(800 * 1000);   /* a render the stop flag arrives in the middle of */
		resp->status = 200;
		resp->content_type = "text/plain";
		ts_buf_printf(&resp->body, "slow answer, complete");
		return;
	}
	if (strstr(req->target, "/watch")) {
		/* a costly request: looks at its client for up to 600 ms, and
		 * drops the work (499) as the server does when it has left */
		int gone = 0;
		for (int i = 0; i < 30 && !gone; i++) {
			gone = ts_conn_gone(&req->conn);
			if (!gone)
				usleep(20000);
		}
		watched_gone = gone;
		resp->status = gone ? TS_ECLIENTGONE : 200;
		resp->content_type = "text/plain";
		ts_buf_printf(&resp->body, "%s", gone ? "nobody reads this" : "stayed");
		return;
	}
	if (strstr(req->target, "/file")) {
		/* bytes 5 .. FILE_BYTES-8 of the file */
		resp->status = 206;
		resp->content_type = "audio/ogg";
		ts_response_set_file(resp, pattern_file(), 5, FILE_BYTES - 12);
		resp->omit_body = strcmp(req->method, "HEAD") == 0;
		return;
	}
	snprintf(seen_target, sizeof seen_target, "%s", req->target);
	snprintf(seen_method, sizeof seen_method, "%s", req->method);
	snprintf(seen_origin, sizeof seen_origin, "%s", req->origin ? req->origin : "-");
	snprintf(seen_host, sizeof seen_host, "%s", req->host ? req->host : "-");
	resp->status = strstr(req->target, "missing") ? 404 : 200;
	resp->content_type = "text/plain";
	ts_buf_printf(&resp->body, "target=%s", req->target);
	ts_response_header(resp, "X-Test", ts_arena_strdup(a, "yes"));
	resp->omit_body = strcmp(req->method, "HEAD") == 0;
}

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int port;
static volatile int stop;
static struct ts_settings settings;
static int run_rc = -1;

static void *run(void *arg)
{
	(void)arg;
	run_rc = ts_http_serve(record, NULL, &settings, &stop);
	return NULL;
}

static int connect_to_front(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 100; i++) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
		usleep(20000);
	}
	close(fd);
	return -1;
}

/* Send raw request text (its last request says Connection: close) and read
 * everything until the front end closes the connection. */
static void exchange(const char *request, char *out, size_t n, int want)
{
	struct timeval tv = { 5, 0 };
	int fd = connect_to_front();
	size_t got = 0;

	(void)want;
	out[0] = '\0';
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (write(fd, request, strlen(request)) < 0) {
		close(fd);
		return;
	}
	while (got + 1 < n) {
		ssize_t r = read(fd, out + got, n - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		out[got] = '\0';
	}
	close(fd);
}

static void percent_encoded_path_arrives_byte_for_byte(void)
{
	char out[4096];

	exchange("GET /iiif/3/a%2Fb/info.json HTTP/1.1\r\nHost: h:1\r\nConnection: close\r\n\r\n",
	         out, sizeof out, 1);
	EXPECT_EQ_STR(seen_target, "/iiif/3/a%2Fb/info.json");
	EXPECT(strstr(out, "HTTP/1.1 200") == out);
	EXPECT(strstr(out, "target=/iiif/3/a%2Fb/info.json") != NULL);
	EXPECT(strstr(out, "X-Test: yes\r\n") != NULL);
	EXPECT(strstr(out, "Content-Type: text/plain\r\n") != NULL);
	EXPECT_EQ_STR(seen_host, "h:1");
}

static void query_string_arrives_byte_for_byte(void)
{
	char out[4096];

	exchange("GET /fcgi-bin/iipsrv.fcgi?FIF=x%20y&CVT=jpeg&a+b=c+d&flag&e=&%25n HTTP/1.1\r\n"
	         "Host: h\r\nOrigin: http://o.org\r\nConnection: close\r\n\r\n", out, sizeof out, 1);
	EXPECT_EQ_STR(seen_target, "/fcgi-bin/iipsrv.fcgi?FIF=x%20y&CVT=jpeg&a+b=c+d&flag&e=&%25n");
	EXPECT_EQ_STR(seen_origin, "http://o.org");
}

static void doubled_slashes_and_dot_segments_are_left_alone(void)
{
	char out[4096];

	exchange("GET /iiif/3/a//b/../c/info.json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
	         out, sizeof out, 1);
	EXPECT_EQ_STR(seen_target, "/iiif/3/a//b/../c/info.json");
}

static void head_has_the_get_content_length_and_no_body(void)
{
	char out[4096];

	exchange("HEAD /iiif/3/x/info.json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
	         out, sizeof out, 1);
	EXPECT_EQ_STR(seen_method, "HEAD");
	/* body would be "target=/iiif/3/x/info.json": 26 bytes */
	EXPECT(strstr(out, "Content-Length: 26\r\n") != NULL);
	EXPECT(strstr(out, "target=") == NULL);
}

static void error_statuses_pass_through(void)
{
	char out[4096];

	exchange("GET /missing HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", out, sizeof out, 1);
	EXPECT(strstr(out, "HTTP/1.1 404") == out);
}

static void two_requests_share_one_connection(void)
{
	char out[8192];

	exchange("GET /one HTTP/1.1\r\nHost: h\r\n\r\n"
	         "GET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", out, sizeof out, 2);
	EXPECT(strstr(out, "target=/one") != NULL);
	EXPECT(strstr(out, "target=/two") != NULL);
	{
		/* the first answer must not have closed the connection */
		const char *second = strstr(out + 1, "HTTP/1.1 ");
		const char *close_hdr = strstr(out, "Connection: close");
		EXPECT(second != NULL);
		EXPECT(close_hdr == NULL || close_hdr > second);
	}
}

/* No route takes a body: it is read and dropped (Content-Length or
 * chunked), and the request after it on the connection is answered. */
static void bodies_are_dropped_and_the_next_request_answered(void)
{
	char out[8192];

	exchange("POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
	         "POST /two HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	         "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"
	         "GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", out, sizeof out, 3);
	EXPECT(strstr(out, "target=/one") != NULL);
	EXPECT(strstr(out, "target=/two") != NULL);
	EXPECT(strstr(out, "target=/three") != NULL);
	EXPECT_EQ_STR(seen_method, "GET");
}

/* RFC 9110 §10.1.1: "Expect: 100-continue" gets the interim answer before
 * the client sends its body. */
static void expect_100_continue_is_answered_before_the_body(void)
{
	struct timeval tv = { 2, 0 };
	int fd = connect_to_front();
	char out[4096];
	ssize_t n;
	const char *head = "POST /cont HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
	                   "Expect: 100-continue\r\nConnection: close\r\n\r\n";

	EXPECT(fd >= 0);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	EXPECT(write(fd, head, strlen(head)) == (ssize_t)strlen(head));
	n = read(fd, out, sizeof out - 1);
	out[n > 0 ? n : 0] = '\0';
	EXPECT(strstr(out, "HTTP/1.1 100 Continue\r\n\r\n") == out);
	EXPECT(write(fd, "abc", 3) == 3);
	n = read(fd, out, sizeof out - 1);
	out[n > 0 ? n : 0] = '\0';
	EXPECT(strstr(out, "target=/cont") != NULL);
	close(fd);
}

/* Read a whole answer (Connection: close) into a malloc'd buffer. */
static size_t exchange_big(const char *request, char **out)
{
	size_t cap = FILE_BYTES + 65536, got = 0;
	struct timeval tv = { 5, 0 };
	int fd = connect_to_front();

	*out = calloc(1, cap + 1);
	if (fd < 0 || !*out)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (write(fd, request, strlen(request)) > 0) {
		while (got < cap) {
			ssize_t r = read(fd, *out + got, cap - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
	}
	close(fd);
	return got;
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void a_file_body_is_sent_from_its_descriptor_with_its_length(void)
{
	char *out;
	size_t got = exchange_big("GET /file HTTP/1.1\r\nHost: h\r\nRange: bytes=5-\r\n"
	                          "If-Range: \"e1\"\r\nConnection: close\r\n\r\n", &out);
	const char *body = out ? strstr(out, "\r\n\r\n") : NULL;
	size_t bad = 0, n;

	EXPECT(got > 0 && strstr(out, "HTTP/1.1 206") == out);
	EXPECT(strstr(out, "Content-Length: 299995\r\n") != NULL);
	EXPECT(strstr(out, "Content-Type: audio/ogg\r\n") != NULL);
	EXPECT_EQ_STR(seen_range, "bytes=5-");
	EXPECT_EQ_STR(seen_if_range, "\"e1\"");
	EXPECT_EQ_STR(seen_accel, "-");   /* never behind X-Accel-Redirect here */
	EXPECT(body != NULL);
	if (body) {
		body += 4;
		n = got - (size_t)(body - out);
		EXPECT_EQ_INT(n, FILE_BYTES - 12);
		for (size_t i = 0; i < n; i++)
			bad += (unsigned char)body[i] != file_byte(i + 5);
		EXPECT_EQ_INT(bad, 0);
	}
	free(out);
}

static void head_of_a_file_body_has_its_length_and_no_body(void)
{
	char out[4096];

	exchange("HEAD /file HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", out, sizeof out, 1);
	EXPECT(strstr(out, "Content-Length: 299995\r\n") != NULL);
	EXPECT(strlen(out) > 4 && strcmp(out + strlen(out) - 4, "\r\n\r\n") == 0);
}

/* The count of open descriptors once MHD has closed what earlier
 * connections left (it closes them just after their last byte). */
static int settled_fds(void)
{
	int n = open_fds(), m;

	for (int i = 0; i < 40; i++) {
		usleep(50000);
		m = open_fds();
		if (m == n)
			break;
		n = m;
	}
	return n;
}

static void file_descriptors_are_closed_after_the_answers(void)
{
	int before = settled_fds(), after = -1;
	char *out;

	for (int i = 0; i < 5; i++) {
		exchange_big("GET /file HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", &out);
		free(out);
	}
	after = settled_fds();
	EXPECT_EQ_INT(after, before);
}

struct stop_later {
	int delay_ms;
};

static void *stop_later(void *arg)
{
	struct stop_later *sl = arg;

	usleep((useconds_t)sl->delay_ms * 1000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* SIGTERM sets the stop flag: the answer being rendered must still be
 * sent whole (it was an empty reply with libmicrohttpd), with
 * Connection: close, and then the front end stops.  Runs last. */
static void an_answer_in_progress_is_sent_when_stopping(void)
{
	char out[4096];
	struct stop_later sl = { 300 };
	pthread_t t;

	pthread_create(&t, NULL, stop_later, &sl);
	exchange("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n", out, sizeof out, 1);
	pthread_join(t, NULL);
	EXPECT(strstr(out, "HTTP/1.1 200") == out);
	EXPECT(strstr(out, "Connection: close\r\n") != NULL);
	EXPECT(strstr(out, "\r\n\r\nslow answer, complete") != NULL);
}

static void a_client_that_stays_is_watched_and_answered(void)
{
	char out[4096];

	watched_gone = -1;
	exchange("GET /watch HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", out, sizeof out, 1);
	EXPECT_EQ_INT(watched_gone, 0);
	EXPECT(strstr(out, "HTTP/1.1 200") == out);
	EXPECT(strstr(out, "stayed") != NULL);
}

static void a_client_that_leaves_is_seen_gone_and_gets_nothing(void)
{
	static const char req[] = "GET /watch HTTP/1.1\r\nHost: h\r\n\r\n";
	struct timeval tv = { 5, 0 };
	char b[64];
	int fd = connect_to_front();

	/* closed outright */
	watched_gone = -1;
	EXPECT(fd >= 0 && write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
	close(fd);
	for (int i = 0; i < 100 && watched_gone < 0; i++)
		usleep(10000);
	EXPECT_EQ_INT(watched_gone, 1);
	/* half-closed over TCP: the same FIN, so the same; the 499 is never
	 * written and the connection is closed */
	watched_gone = -1;
	fd = connect_to_front();
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	EXPECT(fd >= 0 && write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1));
	shutdown(fd, SHUT_WR);
	EXPECT(read(fd, b, sizeof b) == 0);
	EXPECT_EQ_INT(watched_gone, 1);
	close(fd);
}

static void a_keep_alive_client_that_leaves_after_its_second_request_is_seen_gone(void)
{
	static const char first[] = "GET /plain HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char second[] = "GET /watch HTTP/1.1\r\nHost: h\r\n\r\n";
	struct timeval tv = { 5, 0 };
	char b[4096];
	ssize_t n;
	int fd = connect_to_front();

	/* the second request is sent after the first answer was read: not
	 * pipelining, so its close is a client leaving */
	watched_gone = -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	EXPECT(fd >= 0 && write(fd, first, sizeof first - 1) == (ssize_t)(sizeof first - 1));
	n = read(fd, b, sizeof b - 1);
	EXPECT(n > 0);
	b[n > 0 ? n : 0] = '\0';
	EXPECT(strstr(b, "target=/plain") != NULL);
	usleep(50000);
	EXPECT(write(fd, second, sizeof second - 1) == (ssize_t)(sizeof second - 1));
	close(fd);
	for (int i = 0; i < 100 && watched_gone < 0; i++)
		usleep(10000);
	EXPECT_EQ_INT(watched_gone, 1);
}

int main(void)
{
	pthread_t t;
	char addr[32];
	struct ts_error err;
	char *argv[] = { "--http", addr, "--threads", "2", "--verbosity", "1" };

	port = free_port();
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	ts_error_clear(&err);
	if (ts_settings_load(&settings, 6, argv, NULL, &err) != 0) {
		printf("settings: %s\n", err.msg);
		return 1;
	}
	ts_log_open(NULL, 1);
	pthread_create(&t, NULL, run, NULL);
	RUN(percent_encoded_path_arrives_byte_for_byte);
	RUN(query_string_arrives_byte_for_byte);
	RUN(doubled_slashes_and_dot_segments_are_left_alone);
	RUN(head_has_the_get_content_length_and_no_body);
	RUN(error_statuses_pass_through);
	RUN(two_requests_share_one_connection);
	RUN(bodies_are_dropped_and_the_next_request_answered);
	RUN(expect_100_continue_is_answered_before_the_body);
	RUN(a_file_body_is_sent_from_its_descriptor_with_its_length);
	RUN(head_of_a_file_body_has_its_length_and_no_body);
	RUN(file_descriptors_are_closed_after_the_answers);
	RUN(a_client_that_stays_is_watched_and_answered);
	RUN(a_client_that_leaves_is_seen_gone_and_gets_nothing);
	RUN(a_keep_alive_client_that_leaves_after_its_second_request_is_seen_gone);
	RUN(an_answer_in_progress_is_sent_when_stopping);
	stop = 1;
	pthread_join(t, NULL);
	EXPECT_EQ_INT(run_rc, 0);
	ts_settings_free(&settings);
	return CHECK_DONE();
}
