/*
 * png_read.c - plain PNG source, decoded with libpng.
 *
 * Where it sits: ts_source_open sniffs the 8-byte PNG signature and hands
 * us the file descriptor.  A PNG is one level (no pyramid).  read_region
 * asks libpng for 8-bit samples whatever the file holds (16-bit scaled with
 * rounding, palettes expanded, tRNS turned into an alpha channel, 1/2/4-bit
 * grey widened) and keeps only the window's rows and columns.
 *
 * The one idea: a non-interlaced PNG can stop early.  Rows come out top to
 * bottom, so we decode down to the window's last row and stop; the cost
 * (checked against the budget before anything is allocated) is the full
 * width times those rows.  An interlaced (Adam7) PNG only yields its final
 * rows after the last pass, so it costs, and holds, the whole image.
 *
 * Errors: libpng's error callback longjmps back to the call, with the state
 * tied to this source; a short read is an error.  Bytes come from pread on
 * the descriptor we own, so nothing is kept between requests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <png.h>
#include "tessera/deadline.h"
#include "tessera/checked.h"
#include "tessera/icc.h"
#include "tessera/source.h"
#include "source_file.h"

/* Ancillary chunks are not our business; bound what libpng may buffer. */
#define PNG_CHUNK_MAX  (8u << 20)

struct png_src {
	struct ts_source base;     /* must be first */
	int fd;
	uint64_t file_size;
	bool interlaced;
	/* State of the current call (one thread per source). */
	uint64_t pos;
	jmp_buf jump;
	char msg[200];
};

static bool png_sniff(const unsigned char *head, size_t n)
{
	return n >= 8 && png_sig_cmp(head, 0, 8) == 0;
}

/* ---- libpng glue -------------------------------------------------------- */

static void on_error(png_structp png, png_const_charp msg)
{
	struct png_src *s = png_get_error_ptr(png);

	snprintf(s->msg, sizeof s->msg, "%s", msg);
	longjmp(s->jump, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void on_read(png_structp png, png_bytep buf, size_t n)
{
	struct png_src *s = png_get_io_ptr(png);
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(s->fd, buf + done, n - done, (off_t)(s->pos + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			png_error(png, "file is truncated");
		done += (size_t)r;
	}
	s->pos += n;
}

/* A read struct on the file with limits set; NULL when out of memory. */
static png_structp begin(struct png_src *s, png_infop *info)
{
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, on_error, on_warning);

	*info = NULL;
	if (!png)
		return NULL;
	*info = png_create_info_struct(png);
	if (!*info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return NULL;
	}
	s->pos = 0;
	s->msg[0] = '\0';
	png_set_read_fn(png, s, on_read);
	/* Widths beyond 2^31 are refused by PNG itself (§11.2.2). */
	png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
	png_set_chunk_malloc_max(png, PNG_CHUNK_MAX);
	return png;
}

/* After png_read_info: ask for 8-bit samples in info.channels channels. */
static void want_8bit(png_structp png, png_infop info)
{
	int ct = png_get_color_type(png, info);

	if (png_get_bit_depth(png, info) == 16)
		png_set_scale_16(png);           /* v * 255 / 65535, rounded */
	if (ct == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (ct == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
	png_set_packing(png);
}

/* ---- open --------------------------------------------------------------- */

static void png_close(struct ts_source *base)
{
	struct png_src *s = (struct png_src *)base;

	ts_source_file_close(base, s ? s->fd : -1);
}

static ts_status png_open(int fd, const char *path, const struct ts_source_limits *lim,
                          struct ts_source **out, struct ts_error *err)
{
	struct png_src *s;
	png_structp png = NULL;
	png_infop info = NULL;
	png_charp icc_name = NULL;
	png_bytep icc = NULL;
	png_uint_32 icc_len = 0;
	int ct, ch, icc_comp = 0;
	ts_status status;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->fd = fd;
	s->base.ops = &ts_png_source_ops;
	status = ts_source_file_size(fd, path, &s->file_size, err);
	if (status)
		goto fail;
	png = begin(s, &info);
	if (!png) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	if (setjmp(s->jump)) {
		status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "%s: libpng: %s", path, s->msg);
		goto fail;
	}
	png_read_info(png, info);
	s->base.info.width = png_get_image_width(png, info);
	s->base.info.height = png_get_image_height(png, info);
	s->base.info.bits = png_get_bit_depth(png, info);
	s->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
	ct = png_get_color_type(png, info);
	ch = ct == PNG_COLOR_TYPE_GRAY ? 1 : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 :
	     ct == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : 3;     /* RGB and palette: 3 */
	if ((ch == 1 || ch == 3) && png_get_valid(png, info, PNG_INFO_tRNS))
		ch++;
	s->base.info.channels = ch;
	status = ts_source_check_pixels(lim ? lim->max_source_pixels : 0, s->base.info.width,
	                                s->base.info.height, path, "PNG", err);
	if (status)
		goto fail;
	s->base.info.nlevels = 1;
	s->base.info.levels[0].width = s->base.info.width;
	s->base.info.levels[0].height = s->base.info.height;
	s->base.info.format = "png";
	/* The iCCP profile (libpng has already inflated it and checked it
	 * against the colour type), copied before info is destroyed. */
	if (png_get_iCCP(png, info, &icc_name, &icc_comp, &icc, &icc_len) == PNG_INFO_iCCP) {
		s->base.info.icc = ts_icc_dup(icc, icc_len);
		s->base.info.icc_len = s->base.info.icc ? icc_len : 0;
	}
	png_destroy_read_struct(&png, &info, NULL);
	*out = &s->base;
	return TS_OK;

fail:
	if (png)
		png_destroy_read_struct(&png, &info, NULL);
	png_close(&s->base);
	return status;
}

/* ---- read_region -------------------------------------------------------- */

/* Decode into out (allocated, w x h) the window at (x, y).  rows: one row
 * buffer (non-interlaced) or the whole image (interlaced), allocated by the
 * caller with the row size libpng reports, which we check here. */
static ts_status decode(struct png_src *s, png_structp png, png_infop info, uint32_t x,
                        uint32_t y, uint32_t w, uint32_t h, struct ts_image *out,
                        uint8_t *rows, size_t rowbytes, struct ts_error *err)
{
	uint32_t H = s->base.info.height, j;
	size_t ch = (size_t)s->base.info.channels;
	int passes;

	if (setjmp(s->jump)) {
		ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "libpng: %s", s->msg);
		return TS_EINTERNAL;
	}
	png_read_info(png, info);
	want_8bit(png, info);
	passes = png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != rowbytes ||
	    png_get_channels(png, info) != ch || png_get_bit_depth(png, info) != 8) {
		ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "PNG changed since it was opened");
		return TS_EINTERNAL;
	}
	if (s->interlaced) {
		png_bytep *ptrs = malloc((size_t)H * sizeof *ptrs);
		if (!ptrs)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		for (j = 0; j < H; j++)
			ptrs[j] = rows + (size_t)j * rowbytes;
		/* png_read_image runs every pass; ptrs is freed on both paths. */
		if (setjmp(s->jump)) {
			free(ptrs);
			ts_error_set(err, TS_EINTERNAL, "corrupt image data");
			ts_error_detail(err, "libpng: %s", s->msg);
			return TS_EINTERNAL;
		}
		png_read_image(png, ptrs);
		free(ptrs);
		for (j = 0; j < h; j++)
			memcpy(out->pixels + (size_t)j * out->stride,
			       rows + (size_t)(y + j) * rowbytes + x * ch, (size_t)w * ch);
		return TS_OK;
	}
	(void)passes;
	for (j = 0; j < y + h; j++) {
		/* Every 64 rows: is the render still within its deadline? */
		if (j % 64 == 63 && ts_deadline_check(err) != TS_OK)
			return TS_EUNAVAILABLE;
		png_read_row(png, rows, NULL);
		if (j >= y)
			memcpy(out->pixels + (size_t)(j - y) * out->stride, rows + x * ch,
			       (size_t)w * ch);
	}
	/* Stop here: the rows below the window are not needed. */
	return TS_OK;
}

static ts_status png_read_region(struct ts_source *base, int level, uint32_t x, uint32_t y,
                                 uint32_t w, uint32_t h, uint64_t budget,
                                 struct ts_image *out, struct ts_error *err)
{
	struct png_src *s = (struct png_src *)base;
	uint32_t W = base->info.width, H = base->info.height;
	png_structp png = NULL;
	png_infop info = NULL;
	uint8_t *rows = NULL;
	size_t rowbytes, total;
	uint64_t cost;
	ts_status status;

	(void)level;
	memset(out, 0, sizeof *out);
	cost = s->interlaced ? (uint64_t)W * H : (uint64_t)W * ((uint64_t)y + h);
	if (budget && cost > budget) {
		ts_error_set(err, TS_EFORBIDDEN, "region needs too much decoding");
		ts_error_detail(err, "PNG region %ux%u costs %llu pixels > %llu", w, h,
		                (unsigned long long)cost, (unsigned long long)budget);
		return TS_EFORBIDDEN;
	}
	if (!ts_mul_size(W, (size_t)base->info.channels, &rowbytes) ||
	    !ts_mul_size(rowbytes, s->interlaced ? H : 1, &total)) {
		ts_error_set(err, TS_EINTERNAL, "image too large");
		return TS_EINTERNAL;
	}
	status = ts_image_alloc(out, w, h, base->info.channels, err);
	if (status)
		return status;
	rows = malloc(total);
	png = begin(s, &info);
	if (!rows || !png) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	status = decode(s, png, info, x, y, w, h, out, rows, rowbytes, err);
	if (status)
		goto fail;
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	return TS_OK;

fail:
	if (png)
		png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	ts_image_free(out);
	return status;
}

const struct ts_source_ops ts_png_source_ops = {
	.name = "png",
	.sniff = png_sniff,
	.open = png_open,
	.read_region = png_read_region,
	.close = png_close,
};
