/*
 * out_file.c - create, fill and publish one output file of the converter
 * (out_file.h): a fresh temporary name beside the final one, O_EXCL,
 * positioned writes, an atomic rename at the end, unlink on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/convert.h"
#include "out_file.h"

ts_status ts_out_file_open(const char *path, int *fd, struct ts_error *err)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (*fd < 0) {
		int e = errno;

		ts_error_set(err, TS_EINTERNAL, "could not create the output file");
		ts_error_detail(err, "%s: %s", path, strerror(e));
		return TS_EINTERNAL;
	}
	return TS_OK;
}

ts_status ts_out_file_create(const char *out, char **tmp, int *fd, struct ts_error *err)
{
	ts_status st;

	*fd = -1;
	*tmp = ts_convert_temp_path(out);
	if (!*tmp)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	st = ts_out_file_open(*tmp, fd, err);
	if (st) {
		free(*tmp);
		*tmp = NULL;
	}
	return st;
}

int ts_out_file_write_at(int fd, const void *p, size_t n, uint64_t off)
{
	const unsigned char *c = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, c, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? errno : EIO;
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

ts_status ts_out_file_commit(char **tmp, const char *out, struct ts_error *err)
{
	if (rename(*tmp, out) != 0) {
		int e = errno;

		ts_error_set(err, TS_EINTERNAL, "could not rename the output into place");
		ts_error_detail(err, "%s: %s", out, strerror(e));
		return TS_EINTERNAL;
	}
	free(*tmp);
	*tmp = NULL;
	return TS_OK;
}

void ts_out_file_discard(char **tmp)
{
	if (!*tmp)
		return;
	unlink(*tmp);
	free(*tmp);
	*tmp = NULL;
}
