/*
 * rows.c - ts_rows_open: choose the row source for a file by its first
 * bytes, then apply its EXIF orientation (convert.h).
 *
 * JPEG and PNG have their own streaming readers, because the server's
 * region readers decode from the top for every region and would make a
 * band-by-band read quadratic; everything else (TIFF, JPEG 2000) is read
 * through the server's own sources, whose region reads cost what they
 * touch - but for striped TIFFs with tall strips, read by scanlines
 * (rows_tiff.c) so a one-strip file is not decoded once per band.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "rows.h"

void ts_rows_close(struct ts_rows *r)
{
	if (r)
		r->close(r);
}

ts_status ts_rows_open(const char *path, uint64_t max_source_pixels, struct ts_rows **out,
                       struct ts_error *err)
{
	unsigned char head[16];
	struct ts_rows *r = NULL;
	ssize_t n;
	ts_status st;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		st = ts_error_set(err, e == ENOENT ? TS_ENOTFOUND : TS_EINTERNAL,
		                  e == ENOENT ? "input file not found" : "cannot open the input");
		ts_error_detail(err, "%s: %s", path, strerror(e));
		return st;
	}
	n = pread(fd, head, sizeof head, 0);
	if (n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) {
		st = ts_rows_jpeg_open(fd, path, max_source_pixels, &r, err);
	} else if (n >= 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0) {
		st = ts_rows_png_open(fd, path, max_source_pixels, &r, err);
	} else {
		close(fd);
		st = TS_ENOTIMPL;
		if (n >= 4 && (head[0] == 'I' || head[0] == 'M'))
			st = ts_rows_tiff_open(path, max_source_pixels, &r, err);
		if (st == TS_ENOTIMPL)
			st = ts_rows_region_open(path, max_source_pixels, &r, err);
	}
	if (st != TS_OK)
		return st;
	return ts_rows_orient_wrap(r, out, err);
}
