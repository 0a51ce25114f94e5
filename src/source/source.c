/*
 * source.c - open an image file and hand it to the reader for its format.
 *
 * This is the front door of the decode stage: the resolver gives us a path
 * already confined to the image root, we open it once, read its first bytes
 * and ask each reader's sniff() whether the magic is theirs.  The one idea:
 * formats are recognised by content, never by file name, so a mislabelled
 * file still opens and a non-image file fails cleanly with "cannot read
 * image".  The wrappers below also keep the caller's side of the contract
 * honest (regions inside the level, a level that exists) so readers can
 * trust their arguments.  At the end, what the single-file readers share
 * when they open (source_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tessera/contain.h"
#include "tessera/source.h"
#include "source_file.h"

/* Readers tried in order; the first whose sniff() says yes opens the file.
 * Their magics do not overlap (TIFF "II*" or "MM*", JP2 box or J2K SOC, JPEG SOI,
 * PNG signature), so the order only matters for speed. */
static const struct ts_source_ops *const readers[] = {
	&ts_tiff_source_ops,
	&ts_jp2_source_ops,
	&ts_jpeg_source_ops,
	&ts_png_source_ops,
};

#define HEAD_BYTES 16

/* A file a worker crashed on twice (or outside OpenJPH): contain.h. */
static ts_status quarantined(const char *path, struct ts_error *err)
{
	ts_error_set(err, TS_EINTERNAL, "the image file could not be decoded");
	ts_error_detail(err, "%s: quarantined: it crashed a worker while being decoded "
	                "(replace the file to lift it)", path);
	return TS_EINTERNAL;
}

ts_status ts_source_open(const char *path, const struct ts_source_limits *lim,
                         struct ts_source **out, struct ts_error *err)
{
	return ts_source_open_as(path, NULL, lim, out, err);
}

ts_status ts_source_open_as(const char *path, const struct stat *expect,
                            const struct ts_source_limits *lim, struct ts_source **out,
                            struct ts_error *err)
{
	unsigned char head[HEAD_BYTES];
	struct stat st;
	ts_status status;
	ssize_t n;
	size_t i;
	int fd = -1;

	*out = NULL;
	/* O_NONBLOCK: should the path lead to a FIFO by now (swapped in after
	 * the resolver's check), the open must not wait for a writer; the
	 * flag is cleared once the file is known to be the regular file the
	 * resolver saw. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
			status = ts_error_set(err, TS_ENOTFOUND, "image not found");
			ts_error_detail(err, "%s: %s", path, strerror(errno));
			goto fail;
		}
		status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "%s: open: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		/* A directory or device under the root is not an image. */
		status = ts_error_set(err, TS_ENOTFOUND, "image not found");
		ts_error_detail(err, "%s: not a regular file", path);
		goto fail;
	}
	/* The file the resolver checked, not one swapped in since (a symlink
	 * turned to point out of the root between the check and this open). */
	if (expect && (st.st_dev != expect->st_dev || st.st_ino != expect->st_ino)) {
		status = ts_error_set(err, TS_ENOTFOUND, "image not found");
		ts_error_detail(err, "%s: replaced between resolving and opening", path);
		goto fail;
	}
	{
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
			status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
			ts_error_detail(err, "%s: fcntl: %s", path, strerror(errno));
			goto fail;
		}
	}

	/* Readers are promised HEAD_BYTES bytes; a shorter file is zero-padded
	 * (and will not match any magic that needs them). */
	memset(head, 0, sizeof head);
	do {
		n = pread(fd, head, sizeof head, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "%s: read: %s", path, strerror(errno));
		goto fail;
	}

	for (i = 0; i < sizeof readers / sizeof readers[0]; i++) {
		if (!readers[i]->sniff(head, (size_t)n))
			continue;
		struct ts_contain_mark mark;
		unsigned gen;
		int level = ts_contain_level(&st, &gen);

		if (level >= 2) {
			status = quarantined(path, err);
			goto fail;
		}
		/* open() takes ownership of fd whether it succeeds or not. */
		ts_contain_enter(&st, TS_CONTAIN_OTHER, &mark);
		status = readers[i]->open(fd, path, lim, out, err);
		ts_contain_leave(&mark);
		if (status == TS_OK) {
			(*out)->st = st;
			(*out)->no_openjph = (lim && lim->htj2k_openjpeg) || level == 1;
			(*out)->contain_gen = gen;
			(*out)->contain_level = level;
		}
		return status;
	}
	status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
	ts_error_detail(err, "%s: unrecognised file format", path);
fail:
	if (fd >= 0)
		close(fd);
	return status;
}

/* Before each decode of an open source: a quarantine added since it was
 * opened (another worker crashed on the file) applies at once. */
static ts_status check_quarantine(struct ts_source *s, struct ts_error *err)
{
	unsigned gen = ts_contain_generation();
	int level;

	if (gen != s->contain_gen) {
		level = ts_contain_level(&s->st, &s->contain_gen);
		if (level > s->contain_level)
			s->contain_level = level;
		if (level == 1)
			s->no_openjph = true;
	}
	if (s->contain_level >= 2)
		return quarantined("(open source)", err);
	return TS_OK;
}

/* The caller's side of the contract: a level that exists and a non-empty
 * rectangle inside it. */
static ts_status check_region(struct ts_source *s, int level, uint32_t x, uint32_t y,
                              uint32_t w, uint32_t h, struct ts_error *err)
{
	const struct ts_source_level *lv;

	if (!s || level < 0 || level >= s->info.nlevels)
		return ts_error_set(err, TS_EINTERNAL, "internal: no such level");
	lv = &s->info.levels[level];
	/* Written as subtractions so that x + w cannot wrap around. */
	if (w == 0 || h == 0 || x >= lv->width || y >= lv->height ||
	    w > lv->width - x || h > lv->height - y) {
		ts_error_set(err, TS_EINTERNAL, "internal: region outside level");
		ts_error_detail(err, "region %u,%u,%u,%u of level %d (%ux%u)",
		                x, y, w, h, level, lv->width, lv->height);
		return TS_EINTERNAL;
	}
	return TS_OK;
}

ts_status ts_source_read_region(struct ts_source *s, int level, uint32_t x, uint32_t y,
                                uint32_t w, uint32_t h, uint64_t budget,
                                struct ts_image *out, struct ts_error *err)
{
	ts_status st;

	memset(out, 0, sizeof *out);
	struct ts_contain_mark mark;

	st = check_region(s, level, x, y, w, h, err);
	if (st == TS_OK)
		st = check_quarantine(s, err);
	if (st != TS_OK)
		return st;
	ts_contain_enter(&s->st, TS_CONTAIN_OTHER, &mark);
	st = s->ops->read_region(s, level, x, y, w, h, budget, out, err);
	ts_contain_leave(&mark);
	return st;
}

ts_status ts_source_read_region_scaled(struct ts_source *s, int level, uint32_t x, uint32_t y,
                                       uint32_t w, uint32_t h, int *denom, uint64_t budget,
                                       struct ts_image *out, double *origin_x,
                                       double *origin_y, struct ts_error *err)
{
	ts_status st;

	memset(out, 0, sizeof *out);
	*origin_x = x;
	*origin_y = y;
	struct ts_contain_mark mark;

	st = check_region(s, level, x, y, w, h, err);
	if (st == TS_OK)
		st = check_quarantine(s, err);
	if (st != TS_OK)
		return st;
	ts_contain_enter(&s->st, TS_CONTAIN_OTHER, &mark);
	if (!s->ops->read_region_scaled) {
		*denom = 1;
		st = s->ops->read_region(s, level, x, y, w, h, budget, out, err);
	} else {
		if (*denom < 1)
			*denom = 1;
		st = s->ops->read_region_scaled(s, level, x, y, w, h, denom, budget, out, origin_x,
		                                origin_y, err);
	}
	ts_contain_leave(&mark);
	return st;
}

ts_status ts_source_raw_tile(struct ts_source *s, int level, uint32_t col, uint32_t row,
                             size_t max_bytes, struct ts_raw_tile *out, struct ts_error *err)
{
	memset(out, 0, sizeof *out);
	if (!s || level < 0 || level >= s->info.nlevels)
		return ts_error_set(err, TS_EINTERNAL, "internal: no such level");
	if (!s->ops->raw_tile)
		return ts_error_set(err, TS_ENOTIMPL, "no stored tiles to pass through");
	return s->ops->raw_tile(s, level, col, row, max_bytes, out, err);
}

void ts_raw_tile_free(struct ts_raw_tile *t)
{
	if (!t)
		return;
	free(t->tables);
	free(t->data);
	memset(t, 0, sizeof *t);
}

void ts_source_close(struct ts_source *s)
{
	if (s)
		s->ops->close(s);
}

void ts_source_geometry(const struct ts_source *s, struct ts_geometry *g)
{
	int i;

	memset(g, 0, sizeof *g);
	g->width = s->info.width;
	g->height = s->info.height;
	g->nlevels = s->info.nlevels;
	for (i = 0; i < s->info.nlevels && i < TS_MAX_LEVELS; i++) {
		g->levels[i].width = s->info.levels[i].width;
		g->levels[i].height = s->info.levels[i].height;
	}
}

ts_status ts_source_file_size(int fd, const char *path, uint64_t *size, struct ts_error *err)
{
	off_t end = lseek(fd, 0, SEEK_END);

	if (end < 0) {
		ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "%s: lseek: %s", path, strerror(errno));
		return TS_EINTERNAL;
	}
	*size = (uint64_t)end;
	return TS_OK;
}

ts_status ts_source_check_pixels(uint64_t max, uint32_t width, uint32_t height, const char *path,
                                 const char *format, struct ts_error *err)
{
	if (max && (uint64_t)width * height > max) {
		ts_error_set(err, TS_EFORBIDDEN, "image too large");
		ts_error_detail(err, "%s: %s declares %ux%u", path, format, width, height);
		return TS_EFORBIDDEN;
	}
	return TS_OK;
}

bool ts_source_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	if (off > (uint64_t)INT64_MAX - len)
		return false;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

void ts_source_file_close(struct ts_source *base, int fd)
{
	if (!base)
		return;
	if (fd >= 0)
		close(fd);
	free((void *)base->info.icc);
	free(base);
}
