/*
 * jpeg_window.c - a rectangle of one JPEG stream, decoded with libjpeg's
 * partial-decoding calls (contract in jpeg_window.h).
 *
 * Where it sits: jpeg_tiles.c decodes the stored tiles a region touches;
 * those at the region's edge are only partly needed, and this file
 * decodes just their part.  The one idea: libjpeg works in iMCU rows
 * (8 or 16 pixels at full scale), so skipping the rows above the window
 * costs their entropy decoding only, cropping the columns saves the
 * inverse DCT and colour conversion outside the iMCU columns kept, and
 * aborting after the last row needed saves everything below.  Those
 * calls keep each kept pixel's decoding context (upsampling included), so
 * the window's pixels are the whole decode's.
 *
 * Errors: error_exit longjmps back here; warnings (corrupt data) fail
 * too, as TurboJPEG reports them.  The struct is reused across calls:
 * jpeg_abort_decompress returns it to its idle state either way.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include "jpeg_window.h"

/* iMCUs of context kept around the window of a subsampled stream. */
#define MARGIN_IMCUS 1

struct ts_jpeg_window {
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error_mgr jerr;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	unsigned char *row;        /* one output row of the cropped width */
	size_t row_size;
};

static void on_error_exit(j_common_ptr cinfo)
{
	struct ts_jpeg_window *w = (struct ts_jpeg_window *)(void *)cinfo;  /* first member */

	(*cinfo->err->format_message)(cinfo, w->msg);
	longjmp(w->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
	struct ts_jpeg_window *w = (struct ts_jpeg_window *)(void *)cinfo;

	if (level < 0) {
		(*cinfo->err->format_message)(cinfo, w->msg);
		longjmp(w->jump, 1);
	}
}

struct ts_jpeg_window *ts_jpeg_window_new(void)
{
	struct ts_jpeg_window *volatile w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->cinfo.err = jpeg_std_error(&w->jerr);
	w->jerr.error_exit = on_error_exit;
	w->jerr.emit_message = on_message;
	if (setjmp(w->jump)) {
		free(w);
		return NULL;
	}
	jpeg_create_decompress(&w->cinfo);
	return w;
}

void ts_jpeg_window_free(struct ts_jpeg_window *w)
{
	if (!w)
		return;
	jpeg_destroy_decompress(&w->cinfo);
	free(w->row);
	free(w);
}

bool ts_jpeg_window_decode(struct ts_jpeg_window *w, const unsigned char *jpeg, size_t len,
                           int denom, int channels, uint32_t x0, uint32_t y0, uint32_t x1,
                           uint32_t y1, uint8_t *dst, size_t dst_stride, char *detail,
                           size_t detail_size)
{
	struct jpeg_decompress_struct *ci = &w->cinfo;
	JDIMENSION xoff, cw;
	uint32_t cx0, cx1, ry0;
	JSAMPROW rows[1];
	size_t need;

	if (setjmp(w->jump)) {
		jpeg_abort_decompress(ci);
		snprintf(detail, detail_size, "libjpeg: %s", w->msg);
		return false;
	}
	jpeg_mem_src(ci, jpeg, (unsigned long)len);
	jpeg_read_header(ci, TRUE);
	ci->scale_num = 1;
	ci->scale_denom = (unsigned)denom;
	ci->out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(ci);
	if (ci->output_components != channels || x1 > ci->output_width ||
	    y1 > ci->output_height || x0 >= x1 || y0 >= y1) {
		jpeg_abort_decompress(ci);
		snprintf(detail, detail_size, "window %u,%u-%u,%u outside a %ux%u decode", x0, y0,
		         x1, y1, ci->output_width, ci->output_height);
		return false;
	}
	/* Subsampled chroma is upsampled from its neighbours (fancy
	 * upsampling), across iMCU edges too: keep MARGIN_IMCUS iMCUs of
	 * context on each side of the window, so its pixels see the same
	 * neighbours as in a whole decode (tests/unit/source/test_jpeg_window.c
	 * fails with one fewer). */
	cx0 = x0;
	cx1 = x1;
	ry0 = y0;
	if (ci->max_h_samp_factor > 1 || ci->max_v_samp_factor > 1) {
		uint32_t mx = MARGIN_IMCUS * (uint32_t)(ci->max_h_samp_factor * DCTSIZE) /
		              (uint32_t)denom;
		uint32_t my = MARGIN_IMCUS * (uint32_t)(ci->max_v_samp_factor * DCTSIZE) /
		              (uint32_t)denom;

		cx0 = x0 > mx ? x0 - mx : 0;
		cx1 = ci->output_width - x1 > mx ? x1 + mx : ci->output_width;
		ry0 = y0 > my ? y0 - my : 0;
	}
	/* Crop to the iMCU columns covering the window; libjpeg widens it. */
	xoff = cx0;
	cw = cx1 - cx0;
	if (cw < ci->output_width)
		jpeg_crop_scanline(ci, &xoff, &cw);
	if (ry0 > 0 && jpeg_skip_scanlines(ci, ry0) != ry0) {
		jpeg_abort_decompress(ci);
		snprintf(detail, detail_size, "libjpeg could not skip %u rows", ry0);
		return false;
	}
	need = (size_t)ci->output_width * (size_t)channels;
	if (w->row_size < need) {
		free(w->row);
		w->row_size = 0;
		w->row = malloc(need);
		if (!w->row) {
			jpeg_abort_decompress(ci);
			snprintf(detail, detail_size, "out of memory (row buffer)");
			return false;
		}
		w->row_size = need;
	}
	rows[0] = w->row;
	for (uint32_t y = ry0; y < y1; y++) {
		if (jpeg_read_scanlines(ci, rows, 1) != 1) {
			jpeg_abort_decompress(ci);
			snprintf(detail, detail_size, "libjpeg returned no row %u", y);
			return false;
		}
		if (y < y0)
			continue;
		memcpy(dst + (size_t)(y - y0) * dst_stride,
		       w->row + (size_t)(x0 - xoff) * (size_t)channels,
		       (size_t)(x1 - x0) * (size_t)channels);
	}
	/* The rows below are not needed. */
	jpeg_abort_decompress(ci);
	return true;
}
