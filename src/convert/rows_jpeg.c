/*
 * rows_jpeg.c - a JPEG row source: libjpeg scanlines, top down, straight
 * into the caller's band (convert.h).
 *
 * Baseline files stream in a few rows of libjpeg's own buffers.  A
 * progressive file cannot: every scan refines the whole image, so libjpeg
 * keeps all its DCT coefficients (2 bytes per sample, chroma subsampled)
 * until the last scan; that is mem_bytes, counted against --memory before
 * jpeg_start_decompress allocates it.  CMYK and YCCK (Adobe's inverted
 * convention when the Adobe marker says so) become RGB; EXIF orientation
 * and the ICC profile are read from APP1/APP2 (source/jpeg_meta.h) and the
 * JFIF density becomes the resolution.  libjpeg's warnings about corrupt or
 * missing data are errors here: a truncated file fails, never pads grey.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jpeglib.h>
#include <jerror.h>

#include "../source/jpeg_meta.h"
#include "../source/source_file.h"
#include "rows.h"

struct rows_jpeg {
	struct ts_rows r;
	struct jpeg_decompress_struct ci;     /* the callbacks find jump via this */
	struct jpeg_error_mgr jerr;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	FILE *f;
	bool started, cmyk;
	unsigned char *icc;
	JSAMPLE *scratch;                     /* one CMYK row */
};

#define OWNER(c) ((struct rows_jpeg *)((char *)(c) - offsetof(struct rows_jpeg, ci)))

static void on_error_exit(j_common_ptr c)
{
	struct rows_jpeg *s = OWNER(c);

	(*c->err->format_message)(c, s->msg);
	longjmp(s->jump, 1);
}

static void on_message(j_common_ptr c, int level)
{
	struct rows_jpeg *s = OWNER(c);

	/* Extraneous bytes before a marker are common and harmless; any other
	 * warning means the pixels would be wrong. */
	if (level == -1 && c->err->msg_code != JWRN_EXTRANEOUS_DATA) {
		(*c->err->format_message)(c, s->msg);
		longjmp(s->jump, 1);
	}
}

static ts_status jpeg_next(struct ts_rows *base, struct ts_image *band, uint32_t *got,
                           struct ts_error *err)
{
	struct rows_jpeg *s = (struct rows_jpeg *)base;
	struct jpeg_decompress_struct *ci = &s->ci;
	volatile uint32_t n = 0;
	volatile uint32_t want = band->height;
	uint32_t i;

	*got = 0;
	if (setjmp(s->jump)) {
		ts_error_set(err, TS_EINTERNAL, "corrupt or truncated JPEG data");
		ts_error_detail(err, "libjpeg: %s", s->msg);
		return TS_EINTERNAL;
	}
	if (!s->started) {
		jpeg_start_decompress(ci);
		s->started = true;
		if (ci->output_width != base->width || ci->output_height != base->height ||
		    (!s->cmyk && ci->output_components != base->channels))
			return ts_error_set(err, TS_EINTERNAL, "JPEG decoder changed the size");
		if (s->cmyk && !(s->scratch = malloc((size_t)base->width * 4)))
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	if (want > ci->output_height - ci->output_scanline)
		want = ci->output_height - ci->output_scanline;
	while (n < want) {
		uint8_t *dst = band->pixels + (size_t)n * band->stride;
		JSAMPROW rows[16];
		uint32_t k = want - n < 16 ? want - n : 16, r;

		if (!s->cmyk) {
			for (i = 0; i < k; i++)
				rows[i] = dst + (size_t)i * band->stride;
			r = jpeg_read_scanlines(ci, rows, k);
		} else {
			const JSAMPLE *p = s->scratch;

			rows[0] = s->scratch;
			r = jpeg_read_scanlines(ci, rows, 1);
			for (i = 0; r == 1 && i < base->width; i++, p += 4, dst += 3) {
				/* Adobe writes CMYK inverted (255 = no ink), YCCK
				 * always so; others are plain ink amounts. */
				unsigned c = p[0], m = p[1], y = p[2], kk = p[3];

				if (!ci->saw_Adobe_marker) {
					c = 255 - c; m = 255 - m; y = 255 - y; kk = 255 - kk;
				}
				dst[0] = (uint8_t)((c * kk + 127) / 255);
				dst[1] = (uint8_t)((m * kk + 127) / 255);
				dst[2] = (uint8_t)((y * kk + 127) / 255);
			}
		}
		if (r == 0)
			return ts_error_set(err, TS_EINTERNAL, "corrupt or truncated JPEG data");
		n += r;
	}
	*got = n;
	return TS_OK;
}

static void jpeg_close_rows(struct ts_rows *base)
{
	struct rows_jpeg *s = (struct rows_jpeg *)base;

	if (!s)
		return;
	jpeg_destroy_decompress(&s->ci);
	if (s->f)
		fclose(s->f);
	free(s->icc);
	free(s->scratch);
	free(s);
}

ts_status ts_rows_jpeg_open(int fd, const char *path, uint64_t max_source_pixels,
                            struct ts_rows **out, struct ts_error *err)
{
	struct rows_jpeg *s;
	struct jpeg_decompress_struct *ci;
	jpeg_saved_marker_ptr m;
	uint64_t coef = 0;
	ts_status st;
	int i;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->f = fdopen(fd, "rb");
	if (!s->f) {
		close(fd);
		free(s);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	ci = &s->ci;
	ci->err = jpeg_std_error(&s->jerr);
	s->jerr.error_exit = on_error_exit;
	s->jerr.emit_message = on_message;
	jpeg_create_decompress(ci);
	if (setjmp(s->jump)) {
		st = ts_error_set(err, TS_EINTERNAL, "cannot read the JPEG header");
		ts_error_detail(err, "%s: libjpeg: %s", path, s->msg);
		goto fail;
	}
	jpeg_stdio_src(ci, s->f);
	jpeg_save_markers(ci, JPEG_APP0 + 1, 0xFFFF);
	jpeg_save_markers(ci, JPEG_APP0 + 2, 0xFFFF);
	jpeg_read_header(ci, TRUE);
	if (ci->image_width == 0 || ci->image_height == 0) {
		st = ts_error_set(err, TS_EINTERNAL, "cannot read the JPEG header");
		goto fail;
	}
	st = ts_source_check_pixels(max_source_pixels, ci->image_width, ci->image_height, path,
	                            "JPEG", err);
	if (st)
		goto fail;
	s->r.width = ci->image_width;
	s->r.height = ci->image_height;
	s->r.orientation = 1;
	for (m = ci->marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1) {
			s->r.orientation = ts_jpeg_exif_orientation(m->data, m->data_length);
			break;
		}
	s->icc = ts_jpeg_icc_from_markers(ci->marker_list, &s->r.icc_len);
	s->r.icc = s->icc;
	if (ci->saw_JFIF_marker && ci->X_density > 0 && ci->Y_density > 0 &&
	    (ci->density_unit == 1 || ci->density_unit == 2)) {
		double f = ci->density_unit == 2 ? 2.54 : 1.0;

		s->r.xres = ci->X_density * f;
		s->r.yres = ci->Y_density * f;
	}
	switch (ci->jpeg_color_space) {
	case JCS_GRAYSCALE:
		s->r.channels = 1;
		ci->out_color_space = JCS_GRAYSCALE;
		break;
	case JCS_YCbCr: case JCS_RGB:
		s->r.channels = 3;
		ci->out_color_space = JCS_RGB;
		break;
	case JCS_CMYK: case JCS_YCCK:
		s->r.channels = 3;
		s->cmyk = true;
		ci->out_color_space = JCS_CMYK;
		break;
	default:
		st = ts_error_set(err, TS_EINTERNAL, "JPEG colour space not supported");
		goto fail;
	}
	/* A progressive file's coefficients, all held until the last scan:
	 * 64 coefficients of 2 bytes per block of each component. */
	if (ci->progressive_mode || ci->buffered_image)
		for (i = 0; i < ci->num_components; i++)
			coef += (uint64_t)ci->comp_info[i].width_in_blocks *
			        ci->comp_info[i].height_in_blocks * 128;
	s->r.mem_bytes = coef;
	s->r.band_rows = 16;
	s->r.next = jpeg_next;
	s->r.close = jpeg_close_rows;
	*out = &s->r;
	return TS_OK;
fail:
	jpeg_close_rows(&s->r);
	return st;
}
