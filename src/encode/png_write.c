/*
 * png_write.c - pixels to PNG with libpng.
 *
 * The last stage for .png requests: gray, gray+alpha, RGB and RGBA, 8 bits,
 * written through a write callback straight into the response buffer.
 * libpng reports errors by calling our error function, which must not
 * return; it copies the message into a struct that lives on this call's
 * stack (never a global, so concurrent requests cannot mix messages) and
 * longjmps back to the setjmp in png_run, and ts_png_write makes it a 500.
 *
 * The source's ICC profile, when it fits the colour type (RGB profile for
 * RGB/RGBA, gray for gray/gray+alpha), goes into an iCCP chunk.
 *
 * Filtering: the SUB filter alone for levels 1-5 (one cheap pass, most of
 * the gain on photographic tiles), libpng's adaptive choice over all
 * filters for 6-9 where the caller asked for size over speed, none at 0.
 */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <png.h>
#include "tessera/deadline.h"
#include "tessera/encoder.h"
#include "tessera/icc.h"

struct png_ctx {
	struct ts_buf *out;
	char msg[200];
	int oom;            /* the write callback could not grow the buffer */
	int late;           /* the render's deadline passed between rows */
};

static void on_error(png_structp png, png_const_charp text)
{
	struct png_ctx *ctx = png_get_error_ptr(png);

	snprintf(ctx->msg, sizeof ctx->msg, "%s", text ? text : "unknown error");
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text)
{
	(void)png;
	(void)text;  /* warnings are not failures; nothing to report */
}

static void on_write(png_structp png, png_bytep data, size_t len)
{
	struct png_ctx *ctx = png_get_io_ptr(png);

	if (!ts_buf_append(ctx->out, data, len)) {
		ctx->oom = 1;
		png_error(png, "out of memory");
	}
}

static void on_flush(png_structp png)
{
	(void)png;
}

/* Everything libpng may longjmp out of, in its own function so that no
 * local of the caller is live across the jump (C11 7.13.2.1): the
 * message lives in the caller's ctx.  Returns 0 or -1 after an error. */
static int png_run(png_structp png, png_infop info, const struct ts_image *img,
                   int level, int type, const unsigned char *icc, size_t icc_len)
{
	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_set_IHDR(png, info, img->width, img->height, 8, type, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	/* After IHDR: libpng checks the profile's colour space against the
	 * colour type.  A profile it finds fault with is a warning (benign
	 * errors, set by the caller) and is left out; never a failed image. */
	if (icc)
		png_set_iCCP(png, info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, icc,
		             (png_uint_32)icc_len);
	png_set_compression_level(png, level);
	png_set_filter(png, PNG_FILTER_TYPE_BASE,
	               level == 0 ? PNG_FILTER_NONE :
	               level <= 5 ? PNG_FILTER_SUB : PNG_ALL_FILTERS);
	png_write_info(png, info);
	for (uint32_t y = 0; y < img->height; y++) {
		if (y % 64 == 63 && ts_deadline_passed()) {
			((struct png_ctx *)png_get_io_ptr(png))->late = 1;
			return -1;
		}
		png_write_row(png, img->pixels + y * img->stride);
	}
	png_write_end(png, NULL);
	return 0;
}

ts_status ts_png_write(const struct ts_image *img, int level, const unsigned char *icc,
                       size_t icc_len, struct ts_buf *out, struct ts_error *err)
{
	png_structp png = NULL;
	png_infop info = NULL;
	struct png_ctx ctx;
	size_t start;
	int type;
	ts_status st = TS_EINTERNAL;

	if (!img || !img->pixels || !out || img->channels < 1 || img->channels > 4)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for PNG");
	memset(&ctx, 0, sizeof ctx);
	ctx.out = out;
	start = out->len;
	switch (img->channels) {
	case 1: type = PNG_COLOR_TYPE_GRAY; break;
	case 2: type = PNG_COLOR_TYPE_GRAY_ALPHA; break;
	case 3: type = PNG_COLOR_TYPE_RGB; break;
	default: type = PNG_COLOR_TYPE_RGB_ALPHA; break;
	}
	if (level < 0)
		level = 0;
	if (level > 9)
		level = 9;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
	if (!png)
		return ts_error_set(err, TS_EINTERNAL, "out of memory encoding a PNG");
	info = png_create_info_struct(png);
	if (!info) {
		ts_error_set(err, TS_EINTERNAL, "out of memory encoding a PNG");
		goto fail;
	}
	png_set_write_fn(png, &ctx, on_write, on_flush);
	if (!ts_icc_fits(icc, icc_len, img->channels))
		icc = NULL;
	else
		png_set_benign_errors(png, 1);
	if (png_run(png, info, img, level, type, icc, icc_len) != 0) {
		if (ctx.late) {
			st = ts_deadline_check(err);
		} else if (ctx.oom) {
			ts_error_set(err, TS_EINTERNAL, "out of memory encoding a PNG");
		} else {
			ts_error_set(err, TS_EINTERNAL, "PNG encoding failed");
			ts_error_detail(err, "libpng %ux%u: %s", img->width, img->height, ctx.msg);
		}
		goto fail;
	}
	png_destroy_write_struct(&png, &info);
	return TS_OK;

fail:
	png_destroy_write_struct(&png, &info);
	/* Leave out as it was: no half-written PNG in the response. */
	out->len = start;
	return st;
}
