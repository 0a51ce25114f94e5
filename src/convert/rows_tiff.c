/*
 * rows_tiff.c - a row source for striped TIFFs with tall strips (a
 * scanner's one-strip LZW or deflate file), read with TIFFReadScanline.
 *
 * The server's TIFF reader decodes whole strips, which is right for
 * serving regions but, for a file that is one strip, would decode (and
 * hold) the whole image for every band.  libtiff's scanline interface
 * decodes a strip sequentially instead, so rows come out one at a time in
 * bounded memory.  Only the plain layouts are taken here: contiguous 8 or
 * 16-bit unsigned gray, gray+alpha, RGB, RGBA, and JPEG-in-TIFF YCbCr
 * (libjpeg converts to RGB); 16-bit samples become 8 with the server's
 * rounding, v * 255 / 65535.  Everything else, and every file whose strips
 * are short anyway, answers 501 and goes to rows_region.c.
 *
 * libtiff decodes a strip from its raw bytes in memory: read whole into a
 * buffer, or, as here, from a read-only map of the file (TIFFClientOpen
 * with our own map procedure).  Mapped pages the decoder has passed are
 * given back after every band (madvise MADV_DONTNEED; touched again they
 * would simply be read from the file again), so a one-strip file of
 * gigabytes costs the pages of about one band, not the whole strip.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <tiffio.h>

#include "tessera/icc.h"
#include "rows.h"

/* Strips up to this many rows are read fine through the server's reader. */
#define TALL_STRIP 512u

struct rows_tiff {
	struct ts_rows r;
	TIFF *tif;
	uint16_t bits;
	uint8_t *scan;             /* one 16-bit scanline */
	uint32_t y;
	unsigned char *icc;
	char msg[200];
	int fd;
	uint64_t size;
	unsigned char *map;        /* the whole file, read-only */
	uint32_t rps;
};

/* ---- libtiff's I/O on our descriptor and map ---------------------------- */

static tmsize_t io_read(thandle_t h, void *buf, tmsize_t n)
{
	struct rows_tiff *s = (struct rows_tiff *)h;
	ssize_t r;

	do
		r = read(s->fd, buf, (size_t)n);
	while (r < 0 && errno == EINTR);
	return r;
}

static tmsize_t io_write(thandle_t h, void *buf, tmsize_t n)
{
	(void)h;
	(void)buf;
	(void)n;
	return -1;
}

static toff_t io_seek(thandle_t h, toff_t off, int whence)
{
	struct rows_tiff *s = (struct rows_tiff *)h;
	off_t r = lseek(s->fd, (off_t)off, whence);

	return r < 0 ? (toff_t)-1 : (toff_t)r;
}

static int io_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t io_size(thandle_t h)
{
	return ((struct rows_tiff *)h)->size;
}

static int io_map(thandle_t h, void **base, toff_t *size)
{
	struct rows_tiff *s = (struct rows_tiff *)h;

	if (!s->map)
		return 0;
	*base = s->map;
	*size = s->size;
	return 1;
}

static void io_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

/* Give back the mapped pages of strips before row y, and of the part of
 * y's strip already decoded (estimated in proportion, less a margin). */
static void release_behind(struct rows_tiff *s, uint32_t y)
{
	uint32_t strip = TIFFComputeStrip(s->tif, y, 0);
	uint64_t off = TIFFGetStrileOffset(s->tif, strip);
	uint64_t len = TIFFGetStrileByteCount(s->tif, strip);
	uint32_t first = strip * s->rps, rows = s->r.height - first < s->rps ?
	                 s->r.height - first : s->rps;
	uint64_t within, end;
	long page = sysconf(_SC_PAGESIZE);

	if (!s->map || page <= 0 || rows == 0 || s->rps == 0)
		return;
	within = len / rows * (y - first);
	end = off + within;
	end = end > (4u << 20) ? end - (4u << 20) : 0;   /* the decoder's read-ahead */
	end -= end % (uint64_t)page;
	if (end > 0 && end <= s->size)
		madvise(s->map, (size_t)end, MADV_DONTNEED);
}

static int on_message(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	struct rows_tiff *s = user;

	(void)tif;
	(void)module;
	if (s && !s->msg[0])
		vsnprintf(s->msg, sizeof s->msg, fmt, ap);
	return 1;
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)user;
	(void)module;
	(void)fmt;
	(void)ap;
	return 1;
}

static ts_status tiff_next(struct ts_rows *base, struct ts_image *band, uint32_t *got,
                           struct ts_error *err)
{
	struct rows_tiff *s = (struct rows_tiff *)base;
	uint32_t n = band->height, i;
	size_t k, samples = (size_t)base->width * (size_t)base->channels;

	*got = 0;
	if (n > base->height - s->y)
		n = base->height - s->y;
	for (i = 0; i < n; i++) {
		uint8_t *dst = band->pixels + (size_t)i * band->stride;

		if (TIFFReadScanline(s->tif, s->bits == 8 ? dst : s->scan, s->y + i, 0) < 0) {
			ts_error_set(err, TS_EINTERNAL, "corrupt or truncated TIFF data");
			ts_error_detail(err, "libtiff: %s", s->msg[0] ? s->msg : "scanline failed");
			return TS_EINTERNAL;
		}
		if (s->bits == 16) {
			const uint16_t *p = (const uint16_t *)s->scan;

			for (k = 0; k < samples; k++)
				dst[k] = (uint8_t)(((uint32_t)p[k] * 255u + 32767u) / 65535u);
		}
	}
	s->y += n;
	*got = n;
	release_behind(s, s->y < base->height ? s->y : base->height - 1);
	return TS_OK;
}

static void tiff_close_rows(struct ts_rows *base)
{
	struct rows_tiff *s = (struct rows_tiff *)base;

	if (!s)
		return;
	if (s->tif)
		TIFFClose(s->tif);
	if (s->map)
		munmap(s->map, (size_t)s->size);
	if (s->fd >= 0)
		close(s->fd);
	free(s->scan);
	free(s->icc);
	free(s);
}

ts_status ts_rows_tiff_open(const char *path, uint64_t max_source_pixels, struct ts_rows **out,
                            struct ts_error *err)
{
	struct rows_tiff *s;
	TIFFOpenOptions *opts;
	struct stat st_;
	uint32_t w = 0, h = 0, rps = 0, plen = 0;
	uint16_t spp = 0, planar = 0, photo = 0, comp = 0, fmt = SAMPLEFORMAT_UINT;
	void *prof = NULL;
	ts_status st = TS_ENOTIMPL;   /* not ours: the region reader takes it */

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (s)
		s->fd = -1;
	opts = TIFFOpenOptionsAlloc();
	if (!s || !opts) {
		free(s);
		TIFFOpenOptionsFree(opts);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	TIFFOpenOptionsSetErrorHandlerExtR(opts, on_message, s);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, s);
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd >= 0 && fstat(s->fd, &st_) == 0 && st_.st_size > 0) {
		s->size = (uint64_t)st_.st_size;
		s->map = mmap(NULL, (size_t)s->size, PROT_READ, MAP_PRIVATE, s->fd, 0);
		if (s->map == MAP_FAILED)
			s->map = NULL;
		s->tif = TIFFClientOpenExt(path, "r", (thandle_t)s, io_read, io_write, io_seek,
		                           io_close, io_size, io_map, io_unmap, opts);
	}
	TIFFOpenOptionsFree(opts);
	if (!s->tif || TIFFIsTiled(s->tif))
		goto fail;
	TIFFGetField(s->tif, TIFFTAG_IMAGEWIDTH, &w);
	TIFFGetField(s->tif, TIFFTAG_IMAGELENGTH, &h);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_ROWSPERSTRIP, &rps);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_BITSPERSAMPLE, &s->bits);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_PLANARCONFIG, &planar);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_SAMPLEFORMAT, &fmt);
	TIFFGetFieldDefaulted(s->tif, TIFFTAG_COMPRESSION, &comp);
	if (!TIFFGetField(s->tif, TIFFTAG_PHOTOMETRIC, &photo))
		goto fail;
	if (w == 0 || h == 0 || rps < TALL_STRIP || planar != PLANARCONFIG_CONTIG ||
	    fmt != SAMPLEFORMAT_UINT || (s->bits != 8 && s->bits != 16) || spp < 1 || spp > 4 ||
	    comp == COMPRESSION_OJPEG)
		goto fail;
	if (photo == PHOTOMETRIC_YCBCR && comp == COMPRESSION_JPEG && spp == 3 && s->bits == 8) {
		if (!TIFFSetField(s->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
			goto fail;
	} else if (!(photo == PHOTOMETRIC_MINISBLACK && spp <= 2) &&
	           !(photo == PHOTOMETRIC_RGB && spp >= 3)) {
		goto fail;
	}
	if (max_source_pixels && (uint64_t)w * h > max_source_pixels) {
		st = ts_error_set(err, TS_EFORBIDDEN, "image too large");
		ts_error_detail(err, "%s: TIFF declares %ux%u", path, w, h);
		goto fail;
	}
	if ((uint64_t)TIFFScanlineSize64(s->tif) != (uint64_t)w * spp * (s->bits / 8))
		goto fail;
	if (s->bits == 16 && !(s->scan = malloc((size_t)w * spp * 2))) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	if (TIFFGetField(s->tif, TIFFTAG_ICCPROFILE, &plen, &prof) && prof &&
	    ts_icc_usable(prof, plen) && (s->icc = malloc(plen))) {
		memcpy(s->icc, prof, plen);
		s->r.icc = s->icc;
		s->r.icc_len = plen;
	}
	{
		float x = 0, y = 0;
		uint16_t unit = RESUNIT_INCH;

		if (TIFFGetField(s->tif, TIFFTAG_XRESOLUTION, &x) &&
		    TIFFGetField(s->tif, TIFFTAG_YRESOLUTION, &y) && x > 0 && y > 0) {
			TIFFGetFieldDefaulted(s->tif, TIFFTAG_RESOLUTIONUNIT, &unit);
			if (unit != RESUNIT_NONE) {
				s->r.xres = unit == RESUNIT_CENTIMETER ? x * 2.54 : x;
				s->r.yres = unit == RESUNIT_CENTIMETER ? y * 2.54 : y;
			}
		}
	}
	s->rps = rps;
	s->r.width = w;
	s->r.height = h;
	s->r.channels = spp;
	s->r.orientation = 1;
	s->r.next = tiff_next;
	s->r.close = tiff_close_rows;
	*out = &s->r;
	return TS_OK;
fail:
	tiff_close_rows(&s->r);
	return st;
}
