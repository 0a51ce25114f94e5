/*
 * rows_png.c - a PNG row source: libpng rows, top down, straight into the
 * caller's band (convert.h).
 *
 * libpng is asked for 8-bit samples whatever the file holds, as the
 * server's PNG reader does (16-bit scaled with rounding, palettes
 * expanded, tRNS turned into alpha, 1/2/4-bit grey widened), so converted
 * and served pixels agree.  A non-interlaced file streams row by row.  An
 * interlaced (Adam7) one only yields final rows after its last pass, so
 * it is decoded whole into one buffer on the first call: mem_bytes says so
 * and --memory counts it.  The ICC profile (iCCP) and pHYs resolution are
 * kept.  libpng's errors longjmp back here; a short file is an error.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <png.h>

#include "tessera/checked.h"
#include "tessera/icc.h"
#include "../source/source_file.h"
#include "rows.h"

struct rows_png {
	struct ts_rows r;
	png_structp png;
	png_infop info;
	FILE *f;
	bool interlaced;
	uint8_t *whole;            /* interlaced: the image, decoded at once */
	uint32_t y;
	unsigned char *icc;
	char msg[200];
};

static void on_error(png_structp png, png_const_charp m)
{
	struct rows_png *s = png_get_error_ptr(png);

	snprintf(s->msg, sizeof s->msg, "%s", m);
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp m)
{
	(void)png;
	(void)m;
}

static ts_status png_next(struct ts_rows *base, struct ts_image *band, uint32_t *got,
                          struct ts_error *err)
{
	struct rows_png *s = (struct rows_png *)base;
	size_t rb = (size_t)base->width * (size_t)base->channels;
	volatile uint32_t n = band->height;
	uint32_t i;

	*got = 0;
	if (n > base->height - s->y)
		n = base->height - s->y;
	if (setjmp(png_jmpbuf(s->png))) {
		ts_error_set(err, TS_EINTERNAL, "corrupt or truncated PNG data");
		ts_error_detail(err, "libpng: %s", s->msg);
		return TS_EINTERNAL;
	}
	if (s->interlaced) {
		if (!s->whole) {
			png_bytep *rows;
			size_t total;

			if (!ts_mul_size(rb, base->height, &total) || !(s->whole = malloc(total)))
				return ts_error_set(err, TS_EINTERNAL, "out of memory");
			rows = malloc(sizeof *rows * base->height);
			if (!rows)
				return ts_error_set(err, TS_EINTERNAL, "out of memory");
			for (i = 0; i < base->height; i++)
				rows[i] = s->whole + (size_t)i * rb;
			png_read_image(s->png, rows);
			free(rows);
		}
		for (i = 0; i < n; i++)
			memcpy(band->pixels + (size_t)i * band->stride,
			       s->whole + (size_t)(s->y + i) * rb, rb);
	} else {
		for (i = 0; i < n; i++)
			png_read_row(s->png, band->pixels + (size_t)i * band->stride, NULL);
	}
	s->y += n;
	*got = n;
	return TS_OK;
}

static void png_close_rows(struct ts_rows *base)
{
	struct rows_png *s = (struct rows_png *)base;

	if (!s)
		return;
	if (s->png)
		png_destroy_read_struct(&s->png, &s->info, NULL);
	if (s->f)
		fclose(s->f);
	free(s->whole);
	free(s->icc);
	free(s);
}

ts_status ts_rows_png_open(int fd, const char *path, uint64_t max_source_pixels,
                           struct ts_rows **out, struct ts_error *err)
{
	struct rows_png *s;
	png_uint_32 w, h, resx, resy;
	int depth, ctype, ilace, unit, ch;
	png_charp name;
	png_bytep prof;
	png_uint_32 plen;
	int comp;
	ts_status st;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s || !(s->f = fdopen(fd, "rb"))) {
		close(fd);
		free(s);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, on_error, on_warning);
	if (!s->png || !(s->info = png_create_info_struct(s->png))) {
		png_close_rows(&s->r);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	if (setjmp(png_jmpbuf(s->png))) {
		st = ts_error_set(err, TS_EINTERNAL, "cannot read the PNG header");
		ts_error_detail(err, "%s: libpng: %s", path, s->msg);
		goto fail;
	}
	png_set_user_limits(s->png, 0x7fffffff, 0x7fffffff);
	png_set_chunk_malloc_max(s->png, 8u << 20);
	png_init_io(s->png, s->f);
	png_read_info(s->png, s->info);
	png_get_IHDR(s->png, s->info, &w, &h, &depth, &ctype, &ilace, NULL, NULL);
	st = ts_source_check_pixels(max_source_pixels, w, h, path, "PNG", err);
	if (st)
		goto fail;
	if (depth == 16)
		png_set_scale_16(s->png);            /* v * 255 / 65535, rounded */
	if (ctype == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(s->png);
	if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(s->png);
	if (png_get_valid(s->png, s->info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(s->png);
	s->interlaced = ilace != PNG_INTERLACE_NONE;
	if (s->interlaced)
		png_set_interlace_handling(s->png);
	png_read_update_info(s->png, s->info);
	ch = png_get_channels(s->png, s->info);
	if (ch < 1 || ch > 4 || png_get_bit_depth(s->png, s->info) != 8 ||
	    png_get_rowbytes(s->png, s->info) != (size_t)w * (size_t)ch) {
		st = ts_error_set(err, TS_EINTERNAL, "PNG layout not supported");
		goto fail;
	}
	s->r.width = w;
	s->r.height = h;
	s->r.channels = ch;
	s->r.orientation = 1;
	if (s->interlaced)
		s->r.mem_bytes = (uint64_t)w * h * (uint64_t)ch;
	if (png_get_iCCP(s->png, s->info, &name, &comp, &prof, &plen) && prof &&
	    ts_icc_usable(prof, plen) && (s->icc = malloc(plen))) {
		memcpy(s->icc, prof, plen);
		s->r.icc = s->icc;
		s->r.icc_len = plen;
	}
	if (png_get_pHYs(s->png, s->info, &resx, &resy, &unit) && unit == PNG_RESOLUTION_METER &&
	    resx && resy) {
		s->r.xres = resx * 0.0254;
		s->r.yres = resy * 0.0254;
	}
	s->r.next = png_next;
	s->r.close = png_close_rows;
	*out = &s->r;
	return TS_OK;
fail:
	png_close_rows(&s->r);
	return st;
}
