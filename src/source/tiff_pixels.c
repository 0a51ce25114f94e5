/*
 * tiff_pixels.c - read_region of the TIFF source (tiff_internal.h): the
 * tiles or strips a rectangle touches, decoded by libtiff one at a time and
 * converted to 8-bit samples (16 bits rounded, MINISWHITE inverted,
 * associated alpha undone, RGBA units turned the right way up).
 *
 * The one idea that makes reading safe: the work is known before it is done.
 * read_region counts the whole tiles (or strips) a rectangle touches and
 * refuses over budget before allocating; then it decodes each touched unit
 * into one reusable buffer whose size was checked against what libtiff says
 * the unit holds, and copies out only the part inside both the rectangle and
 * the image, so padded edge tiles and short last strips are never over-read.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include "tessera/checked.h"
#include "tessera/deadline.h"
#include "tessera/source.h"
#include "tiff_internal.h"

/* The reusable decode buffer is kept between calls up to this size. */
#define KEEP_BUFFER_BYTES ((size_t)8 << 20)

static inline uint8_t reduce16(uint16_t v)
{
	return (uint8_t)(((uint32_t)v * 255u + 32767u) / 65535u);
}

/* Undo premultiplication in place: colour = colour * 255 / alpha. */
static void unpremultiply(uint8_t *p, uint32_t n, int channels)
{
	int ncolor = channels - 1, c;
	uint32_t i, a, v;

	for (i = 0; i < n; i++, p += channels) {
		a = p[ncolor];
		if (a == 255)
			continue;
		for (c = 0; c < ncolor; c++) {
			if (a == 0) {
				p[c] = 0;
				continue;
			}
			v = ((uint32_t)p[c] * 255u + a / 2) / a;
			p[c] = (uint8_t)(v > 255 ? 255 : v);
		}
	}
}

/* Convert n decoded pixels of a direct level into 8-bit output samples:
 * keep the first out_channels samples, invert MINISWHITE colour, reduce
 * 16 bits with rounding, undo associated alpha. */
static void convert_direct(const struct tiff_level *lv, const uint8_t *src, uint8_t *dst,
                           uint32_t n)
{
	int oc = lv->out_channels;
	int ncolor = (oc == 2 || oc == 4) ? oc - 1 : oc;
	uint8_t *start = dst;
	uint32_t i;
	int c;

	if (lv->bps == 8) {
		if (!lv->invert && (size_t)oc == lv->in_bpp) {
			memcpy(dst, src, (size_t)n * (size_t)oc);
		} else {
			for (i = 0; i < n; i++, src += lv->in_bpp, dst += oc)
				for (c = 0; c < oc; c++)
					dst[c] = (lv->invert && c < ncolor) ? (uint8_t)(255 - src[c])
					                                    : src[c];
		}
	} else {
		for (i = 0; i < n; i++, src += lv->in_bpp, dst += oc) {
			for (c = 0; c < oc; c++) {
				uint16_t v;

				memcpy(&v, src + 2 * c, 2);  /* libtiff gave native order */
				if (lv->invert && c < ncolor)
					v = (uint16_t)(65535u - v);
				dst[c] = reduce16(v);
			}
		}
	}
	if (lv->premultiplied)
		unpremultiply(start, n, oc);
}

/* Convert n ABGR pixels from TIFFReadRGBA* (one row, left to right). */
static void convert_rgba(const struct tiff_level *lv, const uint32_t *src, uint8_t *dst,
                         uint32_t n)
{
	int oc = lv->out_channels;
	uint8_t *start = dst;
	uint32_t i, p;

	for (i = 0; i < n; i++, dst += oc) {
		p = src[i];
		if (lv->gray_rgba) {
			dst[0] = (uint8_t)TIFFGetR(p);
			if (oc == 2)
				dst[1] = (uint8_t)TIFFGetA(p);
		} else {
			dst[0] = (uint8_t)TIFFGetR(p);
			dst[1] = (uint8_t)TIFFGetG(p);
			dst[2] = (uint8_t)TIFFGetB(p);
			if (oc == 4)
				dst[3] = (uint8_t)TIFFGetA(p);
		}
	}
	if (lv->premultiplied)
		unpremultiply(start, n, oc);
}

static ts_status ensure_buffer(struct tiff_source *s, size_t size, struct ts_error *err)
{
	uint8_t *p;

	if (s->buf_size >= size)
		return TS_OK;
	free(s->buf);
	s->buf = NULL;
	s->buf_size = 0;
	p = malloc(size);
	if (!p)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	s->buf = p;
	s->buf_size = size;
	return TS_OK;
}

static void begin_decode(struct tiff_source *s)
{
	s->libmsg[0] = '\0';
	s->decode_warned = false;
	s->decoding = true;
}

/* A decode succeeded only if libtiff returned everything and, for JPEG,
 * libjpeg did not warn (it warns, then invents grey, on corrupt data). */
static bool end_decode(struct tiff_source *s, const struct tiff_level *lv, bool ok)
{
	s->decoding = false;
	if (s->decode_warned && (lv->compression == COMPRESSION_JPEG ||
	                         lv->compression == COMPRESSION_OJPEG))
		return false;
	return ok;
}

/* Decode one unit of the selected level into s->buf: tile or strip
 * `index`, whose first pixel is (ox, oy) and which holds `rows` rows (a
 * strip; the last may be short).  Checks the request's deadline first;
 * 500 "corrupt tile" when libtiff returns less than the unit or libjpeg
 * warned (end_decode). */
static ts_status decode_unit(struct tiff_source *s, int level, uint32_t index, uint32_t ox,
                             uint32_t oy, uint32_t rows, struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	bool ok;

	if (ts_deadline_check(err) != TS_OK)
		return TS_EUNAVAILABLE;
	begin_decode(s);
	if (lv->tile_w && lv->mode == MODE_DIRECT) {
		tmsize_t n = TIFFReadEncodedTile(s->tif, index, s->buf, (tmsize_t)lv->unit_bytes);
		ok = n >= 0 && (uint64_t)n == lv->unit_bytes;
	} else if (lv->tile_w) {
		ok = TIFFReadRGBATileExt(s->tif, ox, oy, (uint32_t *)s->buf, 1) != 0;
	} else if (lv->mode == MODE_DIRECT) {
		tmsize_t n = TIFFReadEncodedStrip(s->tif, index, s->buf, (tmsize_t)lv->unit_bytes);
		/* The last strip may be short; it must still hold its rows. */
		ok = n >= 0 && (uint64_t)n >= (uint64_t)rows * lv->width * lv->in_bpp;
	} else {
		ok = TIFFReadRGBAStripExt(s->tif, oy, (uint32_t *)s->buf, 1) != 0;
	}
	if (!end_decode(s, lv, ok))
		return ts_tiff_corrupt_unit(s, err, level, lv->tile_w ? "tile" : "strip", index);
	return TS_OK;
}

static ts_status read_tiles(struct tiff_source *s, int level, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h, struct ts_image *out,
                            struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	uint32_t tw = lv->tile_w, th = lv->tile_h;
	uint32_t tx, ty, tx0 = x / tw, tx1 = (x + w - 1) / tw;
	uint32_t ty0 = y / th, ty1 = (y + h - 1) / th;
	uint64_t x_end = (uint64_t)x + w, y_end = (uint64_t)y + h;

	for (ty = ty0; ty <= ty1; ty++) {
		uint64_t oy = (uint64_t)ty * th;
		uint32_t r0 = (uint32_t)(oy > y ? oy : y);
		uint32_t r1 = (uint32_t)(oy + th < y_end ? oy + th : y_end);

		for (tx = tx0; tx <= tx1; tx++) {
			uint64_t ox = (uint64_t)tx * tw;
			uint32_t c0 = (uint32_t)(ox > x ? ox : x);
			uint32_t c1 = (uint32_t)(ox + tw < x_end ? ox + tw : x_end);
			uint32_t tile = TIFFComputeTile(s->tif, (uint32_t)ox, (uint32_t)oy, 0, 0);
			uint32_t r;
			ts_status status = decode_unit(s, level, tile, (uint32_t)ox, (uint32_t)oy, th,
			                               err);

			if (status != TS_OK)
				return status;

			for (r = r0; r < r1; r++) {
				uint8_t *dst = out->pixels + (size_t)(r - y) * out->stride +
				               (size_t)(c0 - x) * (size_t)out->channels;
				size_t row = (size_t)(r - oy);

				if (lv->mode == MODE_DIRECT) {
					const uint8_t *src = s->buf +
					        (row * tw + (c0 - ox)) * lv->in_bpp;
					convert_direct(lv, src, dst, c1 - c0);
				} else {
					/* RGBA tiles come bottom-up, padded to a
					 * full tile by libtiff. */
					const uint32_t *src = (const uint32_t *)s->buf +
					        ((size_t)(th - 1) - row) * tw + (c0 - ox);
					convert_rgba(lv, src, dst, c1 - c0);
				}
			}
		}
	}
	return TS_OK;
}

static ts_status read_strips(struct tiff_source *s, int level, uint32_t x, uint32_t y,
                             uint32_t w, uint32_t h, struct ts_image *out,
                             struct ts_error *err)
{
	const struct tiff_level *lv = &s->levels[level];
	uint32_t rps = lv->rows_per_strip;
	uint32_t st, st0 = y / rps, st1 = (y + h - 1) / rps;
	uint64_t y_end = (uint64_t)y + h;

	for (st = st0; st <= st1; st++) {
		uint64_t oy = (uint64_t)st * rps;
		uint32_t rows = (uint32_t)(oy + rps <= lv->height ? rps : lv->height - oy);
		uint32_t r0 = (uint32_t)(oy > y ? oy : y);
		uint32_t r1 = (uint32_t)(oy + rows < y_end ? oy + rows : y_end);
		uint32_t strip = TIFFComputeStrip(s->tif, (uint32_t)oy, 0);
		uint32_t r;
		ts_status status = decode_unit(s, level, strip, 0, (uint32_t)oy, rows, err);

		if (status != TS_OK)
			return status;

		for (r = r0; r < r1; r++) {
			uint8_t *dst = out->pixels + (size_t)(r - y) * out->stride;
			size_t row = (size_t)(r - oy);

			if (lv->mode == MODE_DIRECT) {
				const uint8_t *src = s->buf + (row * lv->width + x) * lv->in_bpp;
				convert_direct(lv, src, dst, w);
			} else {
				/* RGBA strips are bottom-up over the rows they hold. */
				const uint32_t *src = (const uint32_t *)s->buf +
				        ((size_t)(rows - 1) - row) * lv->width + x;
				convert_rgba(lv, src, dst, w);
			}
		}
	}
	return TS_OK;
}

ts_status ts_tiff_read_region(struct ts_source *base, int level, uint32_t x, uint32_t y,
                              uint32_t w, uint32_t h, uint64_t budget, struct ts_image *out,
                              struct ts_error *err)
{
	struct tiff_source *s = (struct tiff_source *)base;
	const struct tiff_level *lv;
	uint64_t units, per_unit, pixels;
	ts_status status;

	memset(out, 0, sizeof *out);
	status = ts_tiff_check_region(s, level, x, y, w, h, &lv, err);
	if (status != TS_OK)
		return status;

	/* The work this call implies, in source pixels, before any allocation:
	 * every touched tile or strip is decoded whole. */
	if (lv->tile_w) {
		uint64_t across = (uint64_t)(x + w - 1) / lv->tile_w - x / lv->tile_w + 1;
		uint64_t down = (uint64_t)(y + h - 1) / lv->tile_h - y / lv->tile_h + 1;

		units = across * down;  /* each < 2^32: cannot overflow */
		per_unit = (uint64_t)lv->tile_w * lv->tile_h;
	} else {
		units = (uint64_t)(y + h - 1) / lv->rows_per_strip - y / lv->rows_per_strip + 1;
		per_unit = (uint64_t)lv->rows_per_strip * lv->width;
	}
	if (!ts_mul_u64(units, per_unit, &pixels))
		pixels = UINT64_MAX;
	if (budget && pixels > budget)
		return ts_tiff_over_budget(err, pixels, budget);

	status = ts_tiff_select_level(s, level, err);
	if (status != TS_OK)
		return status;
	status = ensure_buffer(s, lv->unit_bytes, err);
	if (status != TS_OK)
		return status;
	status = ts_image_alloc(out, w, h, lv->out_channels, err);
	if (status != TS_OK)
		goto fail;

	if (lv->tile_w)
		status = read_tiles(s, level, x, y, w, h, out, err);
	else
		status = read_strips(s, level, x, y, w, h, out, err);
	if (status != TS_OK)
		goto fail;
	if (s->buf_size > KEEP_BUFFER_BYTES) {
		free(s->buf);
		s->buf = NULL;
		s->buf_size = 0;
	}
	return TS_OK;
fail:
	ts_image_free(out);
	if (s->buf_size > KEEP_BUFFER_BYTES) {
		free(s->buf);
		s->buf = NULL;
		s->buf_size = 0;
	}
	return status;
}
