/*
 * test_source_file.c - what the single-file readers share when they open
 * (src/source/source.c, source_file.h): the file's size, the pixel limit
 * refused with a 403 before any allocation, a whole span read or refused,
 * and a close that accepts NULL.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "src/source/source_file.h"

static void the_size_is_the_whole_file(void)
{
	char path[] = "/tmp/test_source_file_XXXXXX";
	struct ts_error err;
	uint64_t size = 0;
	int fd = mkstemp(path);

	EXPECT(fd >= 0);
	EXPECT_EQ_INT(write(fd, "0123456789", 10), 10);
	lseek(fd, 3, SEEK_SET);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_file_size(fd, path, &size, &err), TS_OK);
	EXPECT_EQ_INT(size, 10);
	close(fd);
	unlink(path);
}

static void a_closed_descriptor_cannot_be_measured(void)
{
	struct ts_error err;
	uint64_t size = 7;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_file_size(-1, "x.png", &size, &err), TS_EINTERNAL);
	EXPECT_EQ_STR(err.msg, "cannot read image");
	EXPECT_EQ_INT(size, 7);
}

static void more_pixels_than_the_limit_are_refused(void)
{
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_check_pixels(100, 10, 10, "a.png", "PNG", &err), TS_OK);
	EXPECT_EQ_INT(ts_source_check_pixels(0, 100000, 100000, "a.png", "PNG", &err), TS_OK);
	EXPECT_EQ_INT(ts_source_check_pixels(99, 10, 10, "a.png", "PNG", &err), TS_EFORBIDDEN);
	EXPECT_EQ_STR(err.msg, "image too large");
	EXPECT_EQ_STR(err.detail, "a.png: PNG declares 10x10");
}

static void the_product_does_not_overflow(void)
{
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_source_check_pixels(UINT32_MAX, 65536, 65536, "b.jpg", "JPEG", &err),
	              TS_EFORBIDDEN);
}

static void pread_all_reads_the_span_or_says_no(void)
{
	char path[] = "/tmp/test_source_file_XXXXXX", buf[8] = { 0 };
	int fd = mkstemp(path);

	EXPECT_EQ_INT(write(fd, "0123456789", 10), 10);
	EXPECT(ts_source_pread_all(fd, buf, 4, 3));
	EXPECT(memcmp(buf, "3456", 4) == 0);
	EXPECT(!ts_source_pread_all(fd, buf, 4, 8));          /* past the end */
	EXPECT(!ts_source_pread_all(fd, buf, 4, UINT64_MAX)); /* no such offset */
	close(fd);
	unlink(path);
}

static void closing_nothing_is_fine(void)
{
	ts_source_file_close(NULL, -1);
	EXPECT(1);
}

int main(void)
{
	RUN(the_size_is_the_whole_file);
	RUN(a_closed_descriptor_cannot_be_measured);
	RUN(more_pixels_than_the_limit_are_refused);
	RUN(the_product_does_not_overflow);
	RUN(pread_all_reads_the_span_or_says_no);
	RUN(closing_nothing_is_fine);
	return CHECK_DONE();
}
