/*
 * test_jpeg_window.c - windows of a JPEG stream (src/source/jpeg_window.c)
 * against the whole stream decoded by TurboJPEG at the same scale.
 *
 * The window decoder skips rows, crops columns and stops early; none of
 * that may change a pixel.  So every window, at 1/1, 1/2, 1/4 and 1/8, in
 * gray, 4:4:4, 4:2:2 and 4:2:0 YCbCr and untransformed RGB (the Adobe
 * marker stored JPEG-in-TIFF tiles carry), on tile-sized and odd-sized
 * streams, must equal the same rectangle of tjDecompress2's output exactly.
 * A corrupt stream fails with a reason, and the decoder works afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <turbojpeg.h>
#include "check.h"
#include "src/source/jpeg_window.h"

enum kind { GRAY, YCC444, YCC422, YCC420, RGB };

/* A smooth image with noise, compressed with libjpeg (quality 85). */
static unsigned char *make_jpeg(uint32_t w, uint32_t h, enum kind k, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL;
	int nc = k == GRAY ? 1 : 3;
	unsigned char *row = malloc((size_t)w * nc);
	unsigned seed = w * 31 + h + (unsigned)k;

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	*len = 0;
	jpeg_mem_dest(&c, &out, len);
	c.image_width = w;
	c.image_height = h;
	c.input_components = nc;
	c.in_color_space = k == GRAY ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(&c);
	if (k == RGB)
		jpeg_set_colorspace(&c, JCS_RGB);   /* writes Adobe transform 0 */
	jpeg_set_quality(&c, 85, TRUE);
	if (k != GRAY) {
		c.comp_info[0].h_samp_factor = k == YCC422 || k == YCC420 ? 2 : 1;
		c.comp_info[0].v_samp_factor = k == YCC420 ? 2 : 1;
		c.comp_info[1].h_samp_factor = c.comp_info[1].v_samp_factor = 1;
		c.comp_info[2].h_samp_factor = c.comp_info[2].v_samp_factor = 1;
	}
	jpeg_start_compress(&c, TRUE);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++)
			for (int ch = 0; ch < nc; ch++) {
				seed = seed * 1103515245u + 12345u;
				row[(size_t)x * nc + ch] =
				        (unsigned char)((x * (ch + 2) + y * 3) / 3 + ((seed >> 16) & 31));
			}
		JSAMPROW r = row;
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	return out;
}

/* The whole stream at 1/d by TurboJPEG; *sw x *sh. */
static unsigned char *whole(const unsigned char *jpeg, unsigned long len, int d, int nc,
                            uint32_t *sw, uint32_t *sh)
{
	tjhandle tj = tjInitDecompress();
	int w = 0, h = 0, sub, cs;
	unsigned char *buf = NULL;

	if (tj && tjDecompressHeader3(tj, jpeg, len, &w, &h, &sub, &cs) == 0) {
		tjscalingfactor f = { 1, d };

		*sw = (uint32_t)TJSCALED(w, f);
		*sh = (uint32_t)TJSCALED(h, f);
		buf = malloc((size_t)*sw * *sh * nc);
		if (buf && tjDecompress2(tj, jpeg, len, buf, (int)*sw, 0, (int)*sh,
		                         nc == 1 ? TJPF_GRAY : TJPF_RGB, 0) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	if (tj)
		tjDestroy(tj);
	return buf;
}

/* Decode window (x0,y0)-(x1,y1) and compare it with ref; 1 if it differs. */
static int window_differs(struct ts_jpeg_window *win, const unsigned char *jpeg,
                          unsigned long len, int d, int nc, const unsigned char *ref,
                          uint32_t sw, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1)
{
	size_t stride = (size_t)(x1 - x0) * nc + 5;   /* not the row's own width */
	unsigned char *dst = malloc(stride * (y1 - y0));
	char detail[200] = "";
	int bad = 0;

	if (!ts_jpeg_window_decode(win, jpeg, len, d, nc, x0, y0, x1, y1, dst, stride, detail,
	                           sizeof detail)) {
		printf("    window %u,%u-%u,%u at 1/%d failed: %s\n", x0, y0, x1, y1, d, detail);
		free(dst);
		return 1;
	}
	for (uint32_t y = y0; y < y1 && !bad; y++)
		bad = memcmp(dst + (size_t)(y - y0) * stride, ref + ((size_t)y * sw + x0) * nc,
		             (size_t)(x1 - x0) * nc) != 0;
	if (bad)
		printf("    window %u,%u-%u,%u at 1/%d differs (%d channels, %u wide)\n", x0, y0, x1, y1, d, nc, sw);
	free(dst);
	return bad;
}

static void windows_equal_the_whole_decode_at_every_scale_and_sampling(void)
{
	static const uint32_t sizes[][2] = { { 256, 256 }, { 200, 136 }, { 97, 61 } };
	struct ts_jpeg_window *win = ts_jpeg_window_new();
	unsigned seed = 5;
	int differ = 0, windows = 0;

	EXPECT(win != NULL);
	for (int k = GRAY; k <= RGB && win; k++)
		for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
			unsigned long len;
			unsigned char *jpeg = make_jpeg(sizes[z][0], sizes[z][1], (enum kind)k, &len);
			int nc = k == GRAY ? 1 : 3, before = differ;

			for (int d = 1; d <= 8; d *= 2) {
				uint32_t sw = 0, sh = 0;
				unsigned char *ref = whole(jpeg, len, d, nc, &sw, &sh);

				EXPECT(ref != NULL);
				if (!ref)
					continue;
				/* The whole, the corners, full rows and columns, the
				 * last row and column, then random windows. */
				differ += window_differs(win, jpeg, len, d, nc, ref, sw, 0, 0, sw, sh);
				differ += window_differs(win, jpeg, len, d, nc, ref, sw, 0, 0, 1, 1);
				differ += window_differs(win, jpeg, len, d, nc, ref, sw, sw - 1, sh - 1, sw,
				                         sh);
				differ += window_differs(win, jpeg, len, d, nc, ref, sw, 0, sh / 3, sw,
				                         sh / 3 + 1);
				differ += window_differs(win, jpeg, len, d, nc, ref, sw, sw / 2, 0,
				                         sw / 2 + 1, sh);
				differ += window_differs(win, jpeg, len, d, nc, ref, sw, 0, sh - 1, sw, sh);
				differ += window_differs(win, jpeg, len, d, nc, ref, sw, sw - 1, 0, sw, sh);
				windows += 7;
				for (int i = 0; i < 40; i++) {
					uint32_t x0 = (uint32_t)rand_r(&seed) % sw;
					uint32_t y0 = (uint32_t)rand_r(&seed) % sh;
					uint32_t x1 = x0 + 1 + (uint32_t)rand_r(&seed) % (sw - x0);
					uint32_t y1 = y0 + 1 + (uint32_t)rand_r(&seed) % (sh - y0);

					differ += window_differs(win, jpeg, len, d, nc, ref, sw, x0, y0, x1,
					                         y1);
					windows++;
				}
				free(ref);
			}
			if (differ != before)
				printf("    kind %d, %ux%u: %d windows differ\n", k, sizes[z][0],
				       sizes[z][1], differ - before);
			free(jpeg);
		}
	EXPECT_EQ_INT(windows, 5 * 3 * 4 * 47);
	EXPECT_EQ_INT(differ, 0);
	ts_jpeg_window_free(win);
}

static void a_corrupt_stream_fails_with_a_reason_and_the_decoder_recovers(void)
{
	struct ts_jpeg_window *win = ts_jpeg_window_new();
	unsigned long len;
	unsigned char *jpeg = make_jpeg(256, 256, YCC420, &len);
	unsigned char *bad = malloc(len);
	unsigned char dst[64 * 64 * 3];
	char detail[200] = "";
	uint32_t sw, sh;
	unsigned char *ref = whole(jpeg, len, 1, 3, &sw, &sh);

	EXPECT(win != NULL && ref != NULL);
	if (!win || !ref)
		return;
	/* Cut in the middle of the entropy-coded data: a premature end. */
	memcpy(bad, jpeg, len);
	EXPECT(!ts_jpeg_window_decode(win, bad, len / 2, 1, 3, 10, 200, 74, 250, dst, 64 * 3,
	                              detail, sizeof detail));
	EXPECT(detail[0] != '\0');
	/* Not a JPEG at all. */
	memset(bad, 0x42, len);
	detail[0] = '\0';
	EXPECT(!ts_jpeg_window_decode(win, bad, len, 1, 3, 0, 0, 8, 8, dst, 8 * 3, detail,
	                              sizeof detail));
	EXPECT(detail[0] != '\0');
	/* A window outside the stream's size. */
	EXPECT(!ts_jpeg_window_decode(win, jpeg, len, 2, 3, 0, 0, 129, 1, dst, 129 * 3, detail,
	                              sizeof detail));
	/* Afterwards the same decoder decodes correctly. */
	EXPECT_EQ_INT(window_differs(win, jpeg, len, 1, 3, ref, sw, 100, 100, 164, 164), 0);
	free(ref);
	free(bad);
	free(jpeg);
	ts_jpeg_window_free(win);
}

int main(void)
{
	RUN(windows_equal_the_whole_decode_at_every_scale_and_sampling);
	RUN(a_corrupt_stream_fails_with_a_reason_and_the_decoder_recovers);
	return CHECK_DONE();
}
