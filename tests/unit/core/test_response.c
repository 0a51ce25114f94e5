/*
 * test_response.c - struct ts_response's helpers: the file body is owned by
 * the response (closed when replaced, dropped or freed, exactly once), a
 * zeroed response owns no descriptor (fd 0 is never closed), and headers
 * past TS_MAX_HEADERS are dropped, not written out of bounds.
 */
#include <fcntl.h>
#include <unistd.h>
#include "check.h"
#include "tessera/http.h"
#include "tessera/log.h"

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static int new_fd(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void freeing_closes_the_file_body(void)
{
	struct ts_response r = { 0 };
	int fd = new_fd();

	ts_response_set_file(&r, fd, 10, 20);
	EXPECT(r.has_file);
	EXPECT_EQ_INT(r.file_offset, 10);
	EXPECT_EQ_INT(r.file_length, 20);
	EXPECT(is_open(fd));
	ts_response_free(&r);
	EXPECT(!is_open(fd));
	EXPECT(!r.has_file);
}

static void a_new_file_body_closes_the_old_and_empties_the_memory_body(void)
{
	struct ts_response r = { 0 };
	int a = new_fd(), b;

	ts_buf_append_str(&r.body, "in memory");
	ts_response_set_file(&r, a, 0, 1);
	EXPECT_EQ_INT(r.body.len, 0);
	b = new_fd();
	ts_response_set_file(&r, b, 0, 2);
	EXPECT(!is_open(a));
	EXPECT(is_open(b));
	ts_response_free(&r);
	EXPECT(!is_open(b));
}

static void dropping_closes_once_and_forgets(void)
{
	struct ts_response r = { 0 };
	int fd = new_fd();

	ts_response_set_file(&r, fd, 0, 5);
	ts_response_drop_file(&r);
	EXPECT(!is_open(fd));
	EXPECT(!r.has_file);
	EXPECT_EQ_INT(r.file_length, 0);
	ts_response_drop_file(&r);   /* nothing left to close */
	ts_response_free(&r);
}

static void a_zeroed_response_owns_no_descriptor(void)
{
	struct ts_response r = { 0 };
	bool stdin_open = is_open(0);

	ts_response_free(&r);
	ts_response_drop_file(&r);
	EXPECT_EQ_INT(is_open(0), stdin_open);   /* fd 0 left as it was */
	ts_response_free(NULL);
}

static void headers_past_the_limit_are_dropped(void)
{
	struct ts_response r = { 0 };

	for (int i = 0; i < TS_MAX_HEADERS + 5; i++)
		ts_response_header(&r, "X-N", "v");
	EXPECT_EQ_INT(r.nheaders, TS_MAX_HEADERS);
	ts_response_free(&r);
}

int main(void)
{
	ts_log_open(NULL, 0);
	RUN(freeing_closes_the_file_body);
	RUN(a_new_file_body_closes_the_old_and_empties_the_memory_body);
	RUN(dropping_closes_once_and_forgets);
	RUN(a_zeroed_response_owns_no_descriptor);
	RUN(headers_past_the_limit_are_dropped);
	return CHECK_DONE();
}
