/*
 * test_fastcgi.c - the FastCGI front end, driven over TCP on 127.0.0.1 by a
 * minimal FastCGI client written here (FastCGI 1.0: BEGIN_REQUEST, PARAMS,
 * STDIN, then STDOUT records until END_REQUEST).  Checks the parameters the
 * handler sees (raw REQUEST_URI, the rebuilt target without it, scheme, the
 * last of repeated parameters) and what goes back (Status line,
 * Content-Length always, no body for HEAD), file bodies streamed whole in
 * chunks (and cut off, never ended, when the file turns out shorter), and
 * that stop ends the workers.
 */
#include <arpa/inet.h>
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

#define BIG_BODY 200003

static char seen_target[512], seen_scheme[16], seen_host[128], seen_inm[64];

static char seen_range[64], seen_if_range[64], seen_accel[64];
static volatile int watched_gone = -1;   /* /watch: 1 the web server left, 0 stayed */

#define FILE_BYTES 700001   /* several FILE_CHUNKs, odd on purpose */

static unsigned char file_byte(size_t i)
{
	return (unsigned char)(i * 13 + i / 509);
}

/* An unlinked temporary file of n known bytes, open for reading. */
static int pattern_file(size_t n)
{
	char name[] = "/tmp/tessera-test-fcgi-XXXXXX";
	int fd = mkstemp(name);
	unsigned char *b = malloc(n);

	if (fd < 0 || !b) {
		free(b);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		b[i] = file_byte(i);
	if (write(fd, b, n) != (ssize_t)n) {
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
	if (strstr(req->target, "/watch")) {
		/* a costly request: looks at the connection for up to 600 ms,
		 * and drops the work (499) as the server does when it is gone */
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
	if (strstr(req->target, "/file") || strstr(req->target, "/shrunk")) {
		/* /file: bytes 5 .. FILE_BYTES-8; /shrunk: the file is shorter
		 * than the range promised, as if cut while being sent */
		bool shrunk = strstr(req->target, "/shrunk") != NULL;
		resp->status = 200;
		resp->content_type = "video/mp4";
		ts_response_set_file(resp, pattern_file(shrunk ? 100000 : FILE_BYTES), 5,
		                     FILE_BYTES - 12);
		resp->omit_body = strcmp(req->method, "HEAD") == 0;
		return;
	}
	snprintf(seen_target, sizeof seen_target, "%s", req->target);
	snprintf(seen_scheme, sizeof seen_scheme, "%s", req->scheme);
	snprintf(seen_host, sizeof seen_host, "%s", req->host ? req->host : "-");
	snprintf(seen_inm, sizeof seen_inm, "%s", req->if_none_match ? req->if_none_match : "-");
	resp->status = strstr(req->target, "missing") ? 404 : 200;
	resp->content_type = "text/plain";
	if (strstr(req->target, "big")) {
		/* Larger than one FastCGI record (65535) and than libfcgi's
		 * 8 KB buffer: a byte pattern the test can check anywhere. */
		for (size_t i = 0; i < BIG_BODY; i++) {
			unsigned char c = (unsigned char)(i * 7 + i / 251);
			ts_buf_append(&resp->body, &c, 1);
		}
	} else {
		ts_buf_printf(&resp->body, "target=%s", req->target);
	}
	ts_response_header(resp, "X-Test", ts_arena_strdup(a, "yes"));
	ts_response_header(resp, "X-Evil", "a\r\nSet-Cookie: x=1");
	resp->omit_body = strcmp(req->method, "HEAD") == 0;
}

static int port;
static volatile int stop;
static struct ts_settings settings;
static int run_rc = -1;

static void *run(void *arg)
{
	(void)arg;
	run_rc = ts_fastcgi_serve(record, NULL, &settings, &stop);
	return NULL;
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

static size_t record_header(unsigned char *b, int type, size_t len)
{
	b[0] = 1;            /* version */
	b[1] = (unsigned char)type;
	b[2] = 0;            /* request id 1 */
	b[3] = 1;
	b[4] = (unsigned char)(len >> 8);
	b[5] = (unsigned char)len;
	b[6] = 0;            /* padding */
	b[7] = 0;
	return 8;
}

/* params: "NAME=value" strings, NULL-terminated.  Connects and sends a
 * whole request (its parameters, then the empty STDIN record that ends its
 * input, FastCGI 1.0 §5.3) as nginx does; returns the socket, or -1. */
static int fcgi_send(const char **params)
{
	unsigned char body[4096], buf[4096 + 64];
	size_t len = 0, blen = 0;
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	for (const char **p = params; *p; p++) {
		const char *eq = strchr(*p, '=');
		size_t kl = (size_t)(eq - *p), vl = strlen(eq + 1);
		body[blen++] = (unsigned char)kl;
		body[blen++] = (unsigned char)vl;
		memcpy(body + blen, *p, kl);
		blen += kl;
		memcpy(body + blen, eq + 1, vl);
		blen += vl;
	}
	len += record_header(buf + len, 1, 8);             /* BEGIN_REQUEST, responder */
	memcpy(buf + len, "\0\1\0\0\0\0\0\0", 8);
	len += 8;
	len += record_header(buf + len, 4, blen);          /* PARAMS */
	memcpy(buf + len, body, blen);
	len += blen;
	len += record_header(buf + len, 4, 0);             /* end of PARAMS */
	len += record_header(buf + len, 5, 0);             /* empty STDIN */

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 100 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0; i++)
		usleep(20000);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends the request for params and reads the answer's raw records into buf
 * (up to cap bytes, until the server closes); returns their length. */
static size_t fcgi_exchange(const char **params, unsigned char *buf, size_t cap)
{
	size_t got = 0;
	int fd = fcgi_send(params);

	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == cap)
			break;
	}
	close(fd);
	return got;
}

/* The STDOUT (type 6) content of the answer to params, as a string. */
static void fcgi_request(const char **params, char *out, size_t n)
{
	unsigned char buf[8192];
	size_t got = fcgi_exchange(params, buf, sizeof buf), outlen = 0;

	/* collect STDOUT (type 6) content */
	for (size_t i = 0; i + 8 <= got;) {
		size_t cl = ((size_t)buf[i + 4] << 8) | buf[i + 5], pl = buf[i + 6];
		if (buf[i + 1] == 6 && i + 8 + cl <= got && outlen + cl < n) {
			memcpy(out + outlen, buf + i + 8, cl);
			outlen += cl;
		}
		i += 8 + cl + pl;
	}
	out[outlen] = '\0';
}

static void request_uri_is_passed_raw(void)
{
	const char *p[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/iiif/3/a%2Fb//c/info.json?x+y",
	                    "HTTP_HOST=h.org:8080", "HTTP_IF_NONE_MATCH=\"e1\"", NULL };
	char out[4096];

	fcgi_request(p, out, sizeof out);
	EXPECT_EQ_STR(seen_target, "/iiif/3/a%2Fb//c/info.json?x+y");
	EXPECT_EQ_STR(seen_scheme, "http");
	EXPECT_EQ_STR(seen_host, "h.org:8080");
	EXPECT_EQ_STR(seen_inm, "\"e1\"");
	EXPECT(strncmp(out, "Status: 200 OK\r\n", 16) == 0);
	EXPECT(strstr(out, "Content-Type: text/plain\r\n") != NULL);
	EXPECT(strstr(out, "Content-Length: 37\r\n") != NULL);
	EXPECT(strstr(out, "X-Test: yes\r\n") != NULL);
	EXPECT(strstr(out, "\r\n\r\ntarget=/iiif/3/a%2Fb//c/info.json?x+y") != NULL);
}

static void header_values_with_line_breaks_are_dropped(void)
{
	const char *p[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x", NULL };
	char out[4096];

	fcgi_request(p, out, sizeof out);
	EXPECT(strstr(out, "Set-Cookie") == NULL);
	EXPECT(strstr(out, "X-Evil") == NULL);
}

static void target_is_rebuilt_without_request_uri(void)
{
	const char *p[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/fcgi-bin/iipsrv.fcgi",
	                    "QUERY_STRING=FIF=x%20y&CVT=jpeg", "HTTPS=on", NULL };
	char out[4096];

	fcgi_request(p, out, sizeof out);
	EXPECT_EQ_STR(seen_target, "/fcgi-bin/iipsrv.fcgi?FIF=x%20y&CVT=jpeg");
	EXPECT_EQ_STR(seen_scheme, "https");
}

static void the_last_of_repeated_parameters_wins(void)
{
	const char *p[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/y", "HTTP_HOST=h.org",
	                    "REQUEST_SCHEME=https", "HTTP_HOST=h.org:8080", NULL };
	char out[4096];

	fcgi_request(p, out, sizeof out);
	EXPECT_EQ_STR(seen_host, "h.org:8080");
	EXPECT_EQ_STR(seen_scheme, "https");
}

static void head_sends_content_length_without_a_body(void)
{
	const char *p[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/abc", NULL };
	char out[4096];

	fcgi_request(p, out, sizeof out);
	EXPECT(strstr(out, "Content-Length: 11\r\n") != NULL);
	EXPECT(strstr(out, "target=") == NULL);
	EXPECT(strlen(out) > 4 && strcmp(out + strlen(out) - 4, "\r\n\r\n") == 0);
}

static void error_status_has_its_reason_phrase(void)
{
	const char *p[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/missing", NULL };
	char out[4096];

	fcgi_request(p, out, sizeof out);
	EXPECT(strncmp(out, "Status: 404 Not Found\r\n", 23) == 0);
}

/* A body of several records arrives whole and in order, the stream is
 * closed with an empty STDOUT record, and END_REQUEST comes last. */
static void a_large_body_arrives_whole_in_records_then_end_request(void)
{
	const char *p[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/big", NULL };
	size_t cap = BIG_BODY + 65536, got, i, outlen = 0, records = 0;
	unsigned char *buf = malloc(cap), *out = malloc(cap);
	int last_type = -1, empty_stdout = 0, bad = 0;
	const unsigned char *body;

	got = fcgi_exchange(p, buf, cap);
	for (i = 0; i + 8 <= got;) {
		size_t cl = ((size_t)buf[i + 4] << 8) | buf[i + 5], pl = buf[i + 6];

		EXPECT_EQ_INT(buf[i], 1);
		EXPECT_EQ_INT((buf[i + 2] << 8) | buf[i + 3], 1);
		if (i + 8 + cl + pl > got)
			break;
		if (buf[i + 1] == 6) {
			memcpy(out + outlen, buf + i + 8, cl);
			outlen += cl;
			empty_stdout += cl == 0;
		}
		last_type = buf[i + 1];
		records++;
		i += 8 + cl + pl;
	}
	EXPECT_EQ_INT(i, got);
	EXPECT_EQ_INT(last_type, 3);        /* FCGI_END_REQUEST */
	EXPECT_EQ_INT(empty_stdout, 1);
	EXPECT(records >= 5);               /* 200 KB needs >= 4 STDOUT records */
	out[outlen < cap ? outlen : cap - 1] = 0;
	EXPECT(strstr((char *)out, "Content-Length: 200003\r\n") != NULL);
	body = (unsigned char *)strstr((char *)out, "\r\n\r\n");
	EXPECT(body != NULL);
	if (body) {
		body += 4;
		EXPECT_EQ_INT(outlen - (size_t)(body - out), BIG_BODY);
		for (i = 0; i < BIG_BODY && body + i < out + outlen; i++)
			bad += body[i] != (unsigned char)(i * 7 + i / 251);
		EXPECT_EQ_INT(bad, 0);
	}
	free(buf);
	free(out);
}

/* The STDOUT stream of the answer to params (malloc'd, *len bytes), the
 * type of the last record, and whether the records were well formed. */
static unsigned char *fcgi_stdout(const char **params, size_t *len, int *last_type)
{
	size_t cap = FILE_BYTES + 65536, got, i, outlen = 0;
	unsigned char *buf = malloc(cap), *out = malloc(cap + 1);

	*last_type = -1;
	got = buf && out ? fcgi_exchange(params, buf, cap) : 0;
	for (i = 0; i + 8 <= got;) {
		size_t cl = ((size_t)buf[i + 4] << 8) | buf[i + 5], pl = buf[i + 6];

		if (i + 8 + cl + pl > got)
			break;
		if (buf[i + 1] == 6) {
			memcpy(out + outlen, buf + i + 8, cl);
			outlen += cl;
		}
		*last_type = buf[i + 1];
		i += 8 + cl + pl;
	}
	if (out)
		out[outlen] = 0;
	free(buf);
	*len = outlen;
	return out;
}

static void a_file_body_is_streamed_whole_then_the_request_ends(void)
{
	const char *p[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/file", "HTTP_RANGE=bytes=5-",
	                    "HTTP_IF_RANGE=\"e1\"", NULL };
	size_t len, bad = 0, n;
	int last;
	unsigned char *out = fcgi_stdout(p, &len, &last);
	const unsigned char *body = out ? (unsigned char *)strstr((char *)out, "\r\n\r\n") : NULL;

	EXPECT_EQ_INT(last, 3);   /* FCGI_END_REQUEST */
	EXPECT_EQ_STR(seen_range, "bytes=5-");
	EXPECT_EQ_STR(seen_if_range, "\"e1\"");
	EXPECT_EQ_STR(seen_accel, "/media-x");
	EXPECT(out && strstr((char *)out, "Content-Length: 699989\r\n") != NULL);
	EXPECT(out && strstr((char *)out, "Content-Type: video/mp4\r\n") != NULL);
	EXPECT(body != NULL);
	if (body) {
		body += 4;
		n = len - (size_t)(body - out);
		EXPECT_EQ_INT(n, FILE_BYTES - 12);
		for (size_t i = 0; i < n; i++)
			bad += body[i] != file_byte(i + 5);
		EXPECT_EQ_INT(bad, 0);
	}
	free(out);
}

static void head_of_a_file_body_sends_its_length_only(void)
{
	const char *p[] = { "REQUEST_METHOD=HEAD", "REQUEST_URI=/file", NULL };
	size_t len;
	int last;
	unsigned char *out = fcgi_stdout(p, &len, &last);

	EXPECT_EQ_INT(last, 3);
	EXPECT(out && strstr((char *)out, "Content-Length: 699989\r\n") != NULL);
	EXPECT(len > 4 && strcmp((char *)out + len - 4, "\r\n\r\n") == 0);
	free(out);
}

/* Headers promised 699989 bytes; after the 99995 there are, the request
 * must be cut off without END_REQUEST, never ended as if complete. */
static void a_file_that_shrank_cuts_the_request_short(void)
{
	const char *p[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/shrunk", NULL };
	size_t len;
	int last;
	unsigned char *out = fcgi_stdout(p, &len, &last);
	const char *body = out ? strstr((char *)out, "\r\n\r\n") : NULL;

	EXPECT(last != 3);
	EXPECT(body != NULL);
	if (body)
		EXPECT(len - (size_t)(body + 4 - (char *)out) < FILE_BYTES - 12);
	free(out);
}

static void a_whole_request_whose_web_server_waits_is_not_taken_for_an_abort(void)
{
	const char *params[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/watch", NULL };
	char out[4096];

	/* its input ended with the empty STDIN record, the connection open */
	watched_gone = -1;
	fcgi_request(params, out, sizeof out);
	EXPECT_EQ_INT(watched_gone, 0);
	EXPECT(strstr(out, "Status: 200") == out);
	EXPECT(strstr(out, "stayed") != NULL);
}

static void a_web_server_that_closes_is_seen_gone_and_the_workers_go_on(void)
{
	const char *params[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/watch", NULL };
	const char *next[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/after", NULL };
	char out[4096];
	int fd;

	watched_gone = -1;
	fd = fcgi_send(params);
	EXPECT(fd >= 0);
	close(fd);     /* nginx, when its client went away */
	for (int i = 0; i < 100 && watched_gone < 0; i++)
		usleep(10000);
	EXPECT_EQ_INT(watched_gone, 1);
	fcgi_request(next, out, sizeof out);
	EXPECT(strstr(out, "target=/after") != NULL);
}

int main(void)
{
	pthread_t t;
	char addr[32];
	struct ts_error err;
	char *argv[] = { "--fastcgi", addr, "--threads", "3", "--media-accel-location", "/media-x" };

	port = free_port();
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	ts_error_clear(&err);
	if (ts_settings_load(&settings, 6, argv, NULL, &err) != 0) {
		printf("settings: %s\n", err.msg);
		return 1;
	}
	ts_log_open(NULL, 1);
	pthread_create(&t, NULL, run, NULL);
	RUN(request_uri_is_passed_raw);
	RUN(header_values_with_line_breaks_are_dropped);
	RUN(target_is_rebuilt_without_request_uri);
	RUN(the_last_of_repeated_parameters_wins);
	RUN(head_sends_content_length_without_a_body);
	RUN(error_status_has_its_reason_phrase);
	RUN(a_large_body_arrives_whole_in_records_then_end_request);
	RUN(a_file_body_is_streamed_whole_then_the_request_ends);
	RUN(head_of_a_file_body_sends_its_length_only);
	RUN(a_file_that_shrank_cuts_the_request_short);
	RUN(a_whole_request_whose_web_server_waits_is_not_taken_for_an_abort);
	RUN(a_web_server_that_closes_is_seen_gone_and_the_workers_go_on);
	RUN(a_large_body_arrives_whole_in_records_then_end_request);   /* workers still fine */
	stop = 1;   /* the workers wait for connections from the gate: stop must still end them */
	pthread_join(t, NULL);
	EXPECT_EQ_INT(run_rc, 0);
	ts_settings_free(&settings);
	return CHECK_DONE();
}
