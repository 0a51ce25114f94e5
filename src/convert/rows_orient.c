/*
 * rows_orient.c - EXIF orientation applied to a row source, in bounded
 * memory (convert.h: the rows handed out are always as displayed).
 *
 * Orientations 3..8 need rows from the bottom of the stored image, or its
 * columns, before its last row has been read, so the image must be kept
 * somewhere: not in memory (a 30000x20000 photograph is 1.8 GB) but in an
 * unlinked temporary file.  The one idea: the file holds the stored image
 * in square tiles (T x T, fixed-size slots), written a band of T stored
 * rows at a time.  A band of T displayed rows then needs one row or one
 * column of stored tiles - the same count either way - read back with
 * pread and turned pixel by pixel (EXIF 2.3 Orientation tag).  Memory is
 * one stored band while spooling, one displayed band of tiles after; the
 * price is one write and one read of the image through the page cache.
 * Orientation 2 (a mirror) is handled the same way for simplicity.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/checked.h"
#include "rows.h"

#define T 256u

struct rows_orient {
	struct ts_rows r;
	struct ts_rows *inner;
	int fd;
	bool spooled;
	uint32_t sw, sh;            /* stored size */
	uint32_t across, down;      /* stored tiles */
	size_t tile_bytes;
	uint8_t *tile;              /* one tile read back */
	uint32_t y;                 /* displayed rows handed out */
	int o;
};

/* Stored pixel (sx, sy) shown at displayed pixel (X, Y), stored size
 * SW x SH (EXIF 2.3 Orientation, values 1..8). */
static void orient_map(int o, uint32_t SW, uint32_t SH, uint32_t X, uint32_t Y,
                       uint32_t *sx, uint32_t *sy)
{
	switch (o) {
	case 2: *sx = SW - 1 - X; *sy = Y; break;
	case 3: *sx = SW - 1 - X; *sy = SH - 1 - Y; break;
	case 4: *sx = X; *sy = SH - 1 - Y; break;
	case 5: *sx = Y; *sy = X; break;
	case 6: *sx = Y; *sy = SH - 1 - X; break;
	case 7: *sx = SW - 1 - Y; *sy = SH - 1 - X; break;
	case 8: *sx = SW - 1 - Y; *sy = X; break;
	default: *sx = X; *sy = Y; break;
	}
}

static ts_status io_fail(struct ts_error *err, int e)
{
	ts_error_set(err, TS_EINTERNAL, "cannot use the temporary file for the orientation");
	ts_error_detail(err, "spool: %s", strerror(e ? e : EIO));
	return TS_EINTERNAL;
}

/* Read the whole inner source into the tile file. */
static ts_status spool(struct rows_orient *s, struct ts_error *err)
{
	struct ts_image band = { 0 };
	int ch = s->r.channels;
	uint32_t ty, tx, y, got, n;
	ts_status st;

	st = ts_image_alloc(&band, s->sw, T, ch, err);
	if (st != TS_OK)
		return st;
	for (ty = 0; ty < s->down; ty++) {
		struct ts_image want = band;

		want.height = s->sh - ty * T < T ? s->sh - ty * T : T;
		for (y = 0; y < want.height; y += got) {
			struct ts_image part = want;

			part.height = want.height - y;
			part.pixels = band.pixels + (size_t)y * band.stride;
			st = s->inner->next(s->inner, &part, &got, err);
			if (st == TS_OK && got == 0)
				st = ts_error_set(err, TS_EINTERNAL, "image data ends early");
			if (st != TS_OK)
				goto fail;
		}
		for (tx = 0; tx < s->across; tx++) {
			uint32_t x0 = tx * T, w = s->sw - x0 < T ? s->sw - x0 : T;
			uint64_t off = ((uint64_t)ty * s->across + tx) * s->tile_bytes;
			size_t left = s->tile_bytes;
			const uint8_t *p;

			memset(s->tile, 0, s->tile_bytes);
			for (n = 0; n < want.height; n++)
				memcpy(s->tile + (size_t)n * T * ch,
				       band.pixels + (size_t)n * band.stride + (size_t)x0 * ch,
				       (size_t)w * ch);
			for (p = s->tile; left > 0;) {
				ssize_t wr = pwrite(s->fd, p, left, (off_t)off);

				if (wr < 0 && errno == EINTR)
					continue;
				if (wr <= 0) {
					st = io_fail(err, wr < 0 ? errno : EIO);
					goto fail;
				}
				p += wr;
				off += (uint64_t)wr;
				left -= (size_t)wr;
			}
		}
	}
	s->spooled = true;
fail:
	ts_image_free(&band);
	return st;
}

static ts_status read_tile(struct rows_orient *s, uint32_t tx, uint32_t ty,
                           struct ts_error *err)
{
	uint64_t off = ((uint64_t)ty * s->across + tx) * s->tile_bytes;
	size_t done = 0;

	while (done < s->tile_bytes) {
		ssize_t r = pread(s->fd, s->tile + done, s->tile_bytes - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return io_fail(err, r < 0 ? errno : EIO);
		done += (size_t)r;
	}
	return TS_OK;
}

static ts_status orient_next(struct ts_rows *base, struct ts_image *band, uint32_t *got,
                             struct ts_error *err)
{
	struct rows_orient *s = (struct rows_orient *)base;
	uint32_t n = band->height, Y0 = s->y, X, Y, sx, sy, tx, ty;
	uint32_t sx0, sx1, sy0, sy1, a, b;
	int ch = base->channels;
	ts_status st;

	*got = 0;
	if (!s->spooled && (st = spool(s, err)) != TS_OK)
		return st;
	if (Y0 + n > base->height)
		n = base->height - Y0;
	/* The stored rectangle these displayed rows come from: map the band's
	 * corners (the map is affine, so corners bound it). */
	orient_map(s->o, s->sw, s->sh, 0, Y0, &sx0, &sy0);
	orient_map(s->o, s->sw, s->sh, base->width - 1, Y0 + n - 1, &sx1, &sy1);
	if (sx0 > sx1) { a = sx0; sx0 = sx1; sx1 = a; }
	if (sy0 > sy1) { a = sy0; sy0 = sy1; sy1 = a; }
	for (ty = sy0 / T; ty <= sy1 / T; ty++)
		for (tx = sx0 / T; tx <= sx1 / T; tx++) {
			/* This tile's pixels inside the band, each to its place. */
			st = read_tile(s, tx, ty, err);
			if (st != TS_OK)
				return st;
			for (a = 0; a < T; a++) {
				sy = ty * T + a;
				if (sy < sy0 || sy > sy1)
					continue;
				for (b = 0; b < T; b++) {
					sx = tx * T + b;
					if (sx < sx0 || sx > sx1)
						continue;
					/* inverse map: displayed (X, Y) of stored (sx, sy) */
					switch (s->o) {
					case 2: X = s->sw - 1 - sx; Y = sy; break;
					case 3: X = s->sw - 1 - sx; Y = s->sh - 1 - sy; break;
					case 4: X = sx; Y = s->sh - 1 - sy; break;
					case 5: X = sy; Y = sx; break;
					case 6: X = s->sh - 1 - sy; Y = sx; break;
					case 7: X = s->sh - 1 - sy; Y = s->sw - 1 - sx; break;
					case 8: X = sy; Y = s->sw - 1 - sx; break;
					default: X = sx; Y = sy; break;
					}
					memcpy(band->pixels + (size_t)(Y - Y0) * band->stride +
					       (size_t)X * ch,
					       s->tile + ((size_t)a * T + b) * (size_t)ch, (size_t)ch);
				}
			}
		}
	s->y += n;
	*got = n;
	return TS_OK;
}

static void orient_close(struct ts_rows *base)
{
	struct rows_orient *s = (struct rows_orient *)base;

	ts_rows_close(s->inner);
	if (s->fd >= 0)
		close(s->fd);
	free(s->tile);
	free(s);
}

ts_status ts_rows_orient_wrap(struct ts_rows *inner, struct ts_rows **out,
                              struct ts_error *err)
{
	struct rows_orient *s;
	const char *dir = getenv("TMPDIR");

	*out = NULL;
	if (inner->orientation < 2 || inner->orientation > 8) {
		inner->orientation = 1;
		*out = inner;
		return TS_OK;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		ts_rows_close(inner);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->inner = inner;
	s->fd = -1;
	s->o = inner->orientation;
	s->sw = inner->width;
	s->sh = inner->height;
	s->across = s->sw / T + (s->sw % T != 0);
	s->down = s->sh / T + (s->sh % T != 0);
	s->tile_bytes = (size_t)T * T * (size_t)inner->channels;
	s->r = *inner;
	s->r.orientation = 1;
	s->r.band_rows = T;
	s->r.next = orient_next;
	s->r.close = orient_close;
	if (s->o >= 5) {
		s->r.width = inner->height;
		s->r.height = inner->width;
		s->r.xres = inner->yres;
		s->r.yres = inner->xres;
	}
	/* An unnamed file in TMPDIR (or /tmp): gone however we exit. */
	s->fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd < 0 || !(s->tile = malloc(s->tile_bytes))) {
		int e = errno;

		orient_close(&s->r);
		return io_fail(err, e);
	}
	*out = &s->r;
	return TS_OK;
}
