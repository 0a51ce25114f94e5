/*
 * jpeg_stream.c - a JPEG written row by row to a file with libjpeg, for
 * pictures too large to hold whole (the IIIF tree's full/ images, written
 * by src/convert/sink_iiif.c while the pyramid's rows go by).
 *
 * The one idea: libjpeg's baseline compressor needs only one MCU row of
 * pixels (8 or 16 rows), so a picture of any height costs a few rows of
 * memory.  It is made as ts_jpeg_write makes its pictures: alpha
 * composited over white, gray stays gray, colour 4:2:0 below quality 90
 * and 4:4:4 from 90 up (ts_jpeg_halves_chroma), the IJG tables at the
 * quality, no ICC profile.  libjpeg's errors longjmp back here and become
 * one sentence with the library's own message in detail.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

#include "tessera/checked.h"
#include "tessera/encoder.h"

struct ts_jpeg_stream {
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr jerr;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	FILE *fp;
	int channels, out_channels;
	uint8_t *row;            /* one flattened row when the input has alpha */
	bool started;
};

static void on_error(j_common_ptr c)
{
	struct ts_jpeg_stream *s = (struct ts_jpeg_stream *)c->client_data;

	c->err->format_message(c, s->msg);
	longjmp(s->jump, 1);
}

static void on_message(j_common_ptr c)
{
	(void)c;   /* warnings: the picture is still written */
}

static ts_status fail_lib(struct ts_jpeg_stream *s, struct ts_error *err)
{
	ts_error_set(err, TS_EINTERNAL, "JPEG encoding failed");
	ts_error_detail(err, "libjpeg: %s", s->msg);
	return TS_EINTERNAL;
}

ts_status ts_jpeg_stream_begin(const char *path, uint32_t width, uint32_t height, int channels,
                               int quality, struct ts_jpeg_stream **out, struct ts_error *err)
{
	struct ts_jpeg_stream *s;
	size_t row;

	*out = NULL;
	if (channels < 1 || channels > 4 || width == 0 || height == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for JPEG");
	if (!ts_jpeg_frame_fits(width, height, &quality, err))
		return TS_EBADREQUEST;
	s = calloc(1, sizeof *s);
	if (!s)
		return ts_error_set(err, TS_EINTERNAL, "out of memory encoding a JPEG");
	s->channels = channels;
	s->out_channels = channels >= 3 ? 3 : 1;
	if (channels == 2 || channels == 4) {
		if (!ts_mul_size(width, (size_t)s->out_channels, &row) || !(s->row = malloc(row))) {
			free(s);
			return ts_error_set(err, TS_EINTERNAL, "out of memory encoding a JPEG");
		}
	}
	s->fp = fopen(path, "wb");
	if (!s->fp) {
		ts_error_set(err, TS_EINTERNAL, "could not write the output");
		ts_error_detail(err, "%s: %m", path);
		free(s->row);
		free(s);
		return TS_EINTERNAL;
	}
	s->c.err = jpeg_std_error(&s->jerr);
	s->jerr.error_exit = on_error;
	s->jerr.output_message = on_message;
	s->c.client_data = s;
	if (setjmp(s->jump)) {
		fail_lib(s, err);
		ts_jpeg_stream_free(s);
		return TS_EINTERNAL;
	}
	jpeg_create_compress(&s->c);
	s->started = true;
	jpeg_stdio_dest(&s->c, s->fp);
	s->c.image_width = width;
	s->c.image_height = height;
	s->c.input_components = s->out_channels;
	s->c.in_color_space = s->out_channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
	jpeg_set_defaults(&s->c);
	jpeg_set_quality(&s->c, quality, TRUE);
	if (s->out_channels == 3 && !ts_jpeg_halves_chroma(quality)) {
		s->c.comp_info[0].h_samp_factor = 1;
		s->c.comp_info[0].v_samp_factor = 1;
	}
	jpeg_start_compress(&s->c, TRUE);
	*out = s;
	return TS_OK;
}

ts_status ts_jpeg_stream_rows(struct ts_jpeg_stream *s, const uint8_t *rows, size_t stride,
                              uint32_t n, struct ts_error *err)
{
	if (setjmp(s->jump))
		return fail_lib(s, err);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *src = rows + (size_t)i * stride;
		JSAMPROW r;

		if (s->row) {
			/* over white, as jpeg_write.c flattens */
			int inc = s->channels, onc = s->out_channels;
			for (uint32_t x = 0; x < s->c.image_width; x++) {
				uint8_t a = src[(size_t)x * inc + inc - 1];
				for (int ch = 0; ch < onc; ch++)
					s->row[(size_t)x * onc + ch] = (uint8_t)((src[(size_t)x * inc + ch] * a +
					                               255u * (255u - a) + 127u) / 255u);
			}
			src = s->row;
		}
		r = (JSAMPROW)src;
		jpeg_write_scanlines(&s->c, &r, 1);
	}
	return TS_OK;
}

ts_status ts_jpeg_stream_finish(struct ts_jpeg_stream *s, struct ts_error *err)
{
	if (setjmp(s->jump))
		return fail_lib(s, err);
	if (s->c.next_scanline < s->c.image_height)
		return ts_error_set(err, TS_EINTERNAL, "JPEG picture ended early");
	jpeg_finish_compress(&s->c);
	if (fflush(s->fp) != 0 || ferror(s->fp)) {
		ts_error_set(err, TS_EINTERNAL, "could not write the output");
		ts_error_detail(err, "JPEG stream: %m");
		return TS_EINTERNAL;
	}
	return TS_OK;
}

void ts_jpeg_stream_free(struct ts_jpeg_stream *s)
{
	if (!s)
		return;
	if (s->started)
		jpeg_destroy_compress(&s->c);
	if (s->fp)
		fclose(s->fp);
	free(s->row);
	free(s);
}
