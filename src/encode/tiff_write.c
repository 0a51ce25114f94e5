/*
 * tiff_write.c - pixels to a single-image TIFF in memory with libtiff.
 *
 * The last stage for .tif requests: one strip-based, deflate-compressed
 * (with horizontal predictor) image, gray or RGB, with alpha recorded as
 * ExtraSamples = unassociated alpha (our pixels are not premultiplied),
 * and the source's ICC profile in the ICCProfile tag when it fits.
 * libtiff writes through client procedures over the response buffer: it
 * seeks back to patch the header and directory offsets, so the procedures
 * keep a position and grow the buffer, with offsets counted from where
 * this TIFF starts in the buffer.  Errors come to a handler registered for
 * this one TIFF handle (TIFFOpenOptions, libtiff >= 4.5) together with a
 * per-call context, never through libtiff's global handler.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include "tessera/deadline.h"
#include "tessera/checked.h"
#include "tessera/encoder.h"
#include "tessera/icc.h"

struct tiff_mem {
	struct ts_buf *out;
	size_t base;        /* where this TIFF starts in out */
	size_t pos;         /* current offset, relative to base */
	char msg[200];      /* first libtiff error */
	int oom;
};

static tmsize_t mem_read(thandle_t h, void *data, tmsize_t n)
{
	struct tiff_mem *m = (struct tiff_mem *)h;
	size_t have = m->out->len - m->base;
	size_t k;

	if (n <= 0 || m->pos >= have)
		return 0;
	k = have - m->pos < (size_t)n ? have - m->pos : (size_t)n;
	memcpy(data, m->out->data + m->base + m->pos, k);
	m->pos += k;
	return (tmsize_t)k;
}

static tmsize_t mem_write(thandle_t h, void *data, tmsize_t n)
{
	struct tiff_mem *m = (struct tiff_mem *)h;
	size_t end, abs_end;

	if (n < 0)
		return -1;
	if (!ts_add_size(m->pos, (size_t)n, &end) || !ts_add_size(m->base, end, &abs_end)) {
		m->oom = 1;
		return -1;
	}
	if (abs_end > m->out->len) {
		size_t grow = abs_end - m->out->len;
		if (!ts_buf_reserve(m->out, grow)) {
			m->oom = 1;
			return -1;
		}
		/* A seek past the end leaves a gap: zero it. */
		if (m->base + m->pos > m->out->len)
			memset(m->out->data + m->out->len, 0, m->base + m->pos - m->out->len);
		m->out->len = abs_end;
	}
	memcpy(m->out->data + m->base + m->pos, data, (size_t)n);
	m->pos = end;
	return n;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
	struct tiff_mem *m = (struct tiff_mem *)h;
	size_t size = m->out->len - m->base;
	uint64_t from;

	switch (whence) {
	case SEEK_SET: from = 0; break;
	case SEEK_CUR: from = m->pos; break;
	case SEEK_END: from = size; break;
	default: return (toff_t)-1;
	}
	/* off is unsigned; a negative SEEK_CUR/END arrives wrapped around. */
	from += (uint64_t)off;
	if (from > SIZE_MAX / 2)
		return (toff_t)-1;
	m->pos = (size_t)from;
	return (toff_t)m->pos;
}

static int mem_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t mem_size(thandle_t h)
{
	struct tiff_mem *m = (struct tiff_mem *)h;
	return (toff_t)(m->out->len - m->base);
}

static int mem_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0;  /* no mapping: libtiff falls back to read */
}

static void mem_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

#if TIFFLIB_VERSION >= 20221213
static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	struct tiff_mem *m = user;

	(void)tif;
	if (m && !m->msg[0]) {
		char text[160];
		vsnprintf(text, sizeof text, fmt, ap);
		snprintf(m->msg, sizeof m->msg, "%s: %s", module ? module : "libtiff", text);
	}
	return 1;  /* handled: do not also call the global handler */
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt,
                      va_list ap)
{
	(void)tif;
	(void)user;
	(void)module;
	(void)fmt;
	(void)ap;
	return 1;  /* warnings are not failures; keep them off stderr */
}
#endif

ts_status ts_tiff_write(const struct ts_image *img, const unsigned char *icc, size_t icc_len,
                        struct ts_buf *out, struct ts_error *err)
{
	struct tiff_mem m;
	TIFF *tif = NULL;
	uint16_t extra = EXTRASAMPLE_UNASSALPHA;
	uint32_t rows;
	size_t row_bytes;
	uint8_t *strip = NULL;
	int nc, colour;
	ts_status st = TS_EINTERNAL;
#if TIFFLIB_VERSION >= 20221213
	TIFFOpenOptions *opts = NULL;
#endif

	if (!img || !img->pixels || !out || img->channels < 1 || img->channels > 4)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for TIFF");
	memset(&m, 0, sizeof m);
	m.out = out;
	m.base = out->len;
	nc = img->channels;
	colour = nc >= 3;
	if (!ts_mul_size(img->width, (size_t)nc, &row_bytes))
		return ts_error_set(err, TS_EINTERNAL, "TIFF row size overflows");
	/* Strips of about 64 KiB: small enough to stream, large enough that
	 * deflate has context. */
	rows = row_bytes >= 65536 ? 1 : (uint32_t)(65536 / row_bytes);
	if (rows > img->height)
		rows = img->height;

#if TIFFLIB_VERSION >= 20221213
	opts = TIFFOpenOptionsAlloc();
	if (!opts) {
		ts_error_set(err, TS_EINTERNAL, "out of memory encoding a TIFF");
		goto fail;
	}
	TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, &m);
	TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, &m);
	/* "w" little-endian classic TIFF; "m" no mmap. */
	tif = TIFFClientOpenExt("response.tif", "wlm", (thandle_t)&m, mem_read, mem_write,
	                        mem_seek, mem_close, mem_size, mem_map, mem_unmap, opts);
#else
	tif = TIFFClientOpen("response.tif", "wlm", (thandle_t)&m, mem_read, mem_write,
	                     mem_seek, mem_close, mem_size, mem_map, mem_unmap);
#endif
	if (!tif) {
		ts_error_set(err, TS_EINTERNAL, "TIFF encoding failed");
		ts_error_detail(err, "TIFFClientOpen: %s", m.msg[0] ? m.msg : "failed");
		goto fail;
	}
	if (!TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, img->width) ||
	    !TIFFSetField(tif, TIFFTAG_IMAGELENGTH, img->height) ||
	    !TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8) ||
	    !TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, nc) ||
	    !TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT) ||
	    !TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
	                  colour ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK) ||
	    !TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) ||
	    !TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT) ||
	    !TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE) ||
	    !TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL) ||
	    !TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rows) ||
	    (ts_image_has_alpha(img) && !TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, &extra)) ||
	    (ts_icc_fits(icc, icc_len, nc) &&
	     !TIFFSetField(tif, TIFFTAG_ICCPROFILE, (uint32_t)icc_len, icc))) {
		ts_error_set(err, TS_EINTERNAL, "TIFF encoding failed");
		ts_error_detail(err, "TIFFSetField: %s", m.msg[0] ? m.msg : "failed");
		goto fail;
	}
	strip = malloc(rows * row_bytes);
	if (!strip) {
		ts_error_set(err, TS_EINTERNAL, "out of memory encoding a TIFF");
		goto fail;
	}
	for (uint32_t y = 0, s = 0; y < img->height; y += rows, s++) {
		uint32_t n = img->height - y < rows ? img->height - y : rows;

		if (ts_deadline_check(err) != TS_OK) {   /* between strips */
			st = TS_EUNAVAILABLE;
			goto fail;
		}
		/* Copied first: the horizontal predictor differences the
		 * buffer it is given in place, and img is only borrowed. */
		for (uint32_t r = 0; r < n; r++)
			memcpy(strip + r * row_bytes, img->pixels + (y + r) * img->stride,
			       row_bytes);
		if (TIFFWriteEncodedStrip(tif, s, strip, (tmsize_t)(n * row_bytes)) < 0) {
			ts_error_set(err, TS_EINTERNAL, m.oom ? "out of memory encoding a TIFF"
			                                      : "TIFF encoding failed");
			ts_error_detail(err, "TIFFWriteEncodedStrip %u: %s", s,
			                m.msg[0] ? m.msg : "failed");
			goto fail;
		}
	}
	if (!TIFFWriteDirectory(tif)) {
		ts_error_set(err, TS_EINTERNAL, m.oom ? "out of memory encoding a TIFF"
		                                      : "TIFF encoding failed");
		ts_error_detail(err, "TIFFWriteDirectory: %s", m.msg[0] ? m.msg : "failed");
		goto fail;
	}
	st = TS_OK;

fail:
	if (tif)
		TIFFClose(tif);
	free(strip);
#if TIFFLIB_VERSION >= 20221213
	TIFFOpenOptionsFree(opts);
#endif
	if (st != TS_OK)
		out->len = m.base;
	return st;
}
