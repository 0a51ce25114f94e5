/*
 * fuzz_jpeg_transcode.c - fuzz target for whole pictures made from stored
 * tiles' coefficients (src/encode/jpeg_transcode.c), which reads tiles of
 * image files with libjpeg and mixes, halves and requantises what it finds:
 * it must never read or write out of bounds, and what it accepts must come
 * out as a JPEG that decodes cleanly at the picture's size.
 *
 * As fuzz_jpeg_crop.c, the input edits real JPEGs so the fuzzer spends its
 * time past the headers: five 64x48 tiles are made once (R,G,B 4:4:4 with
 * the Adobe marker, as TIFF writers store RGB tiles, and YCbCr 4:4:4,
 * 4:2:2, 4:4:0, 4:2:0).  Byte 0 picks the tile (and whether to call it
 * R,G,B), byte 1 the output quality, and every following (offset, value)
 * pair of bytes overwrites one byte; with byte 0's top bit set the rest of
 * the input is the tile itself.  The tile is placed twice, side by side,
 * in a 128x48 picture.  A tile TurboJPEG decodes without any warning must
 * be taken or refused with 501 (never called corrupt); a refused picture
 * leaves the output empty.
 *
 * Built and run by make fuzz, with libjpeg (-ljpeg) for the coefficients.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <turbojpeg.h>
#include "tessera/buf.h"
#include "tessera/encoder.h"

#define W 64
#define H 48
#define KINDS 5

static unsigned char *base[KINDS];
static unsigned long base_len[KINDS];

static void make_bases(void)
{
	static const int hs[KINDS] = { 1, 1, 2, 1, 2 }, vs[KINDS] = { 1, 1, 1, 2, 2 };
	unsigned char row[W * 3];

	for (int k = 0; k < KINDS; k++) {
		struct jpeg_compress_struct c;
		struct jpeg_error_mgr e;

		c.err = jpeg_std_error(&e);
		jpeg_create_compress(&c);
		jpeg_mem_dest(&c, &base[k], &base_len[k]);
		c.image_width = W;
		c.image_height = H;
		c.input_components = 3;
		c.in_color_space = JCS_RGB;
		jpeg_set_defaults(&c);
		if (k == 0)
			jpeg_set_colorspace(&c, JCS_RGB);
		jpeg_set_quality(&c, 85, TRUE);
		c.comp_info[0].h_samp_factor = hs[k];
		c.comp_info[0].v_samp_factor = vs[k];
		jpeg_start_compress(&c, TRUE);
		while (c.next_scanline < H) {
			JSAMPROW r = row;

			for (int i = 0; i < W * 3; i++)
				row[i] = (unsigned char)((i * 37) ^ (c.next_scanline * 11) ^ (i % 251));
			jpeg_write_scanlines(&c, &r, 1);
		}
		jpeg_finish_compress(&c);
		jpeg_destroy_compress(&c);
	}
}

/* True when TurboJPEG decodes the JPEG without an error or a warning, at
 * w x h when those are not 0. */
static int clean(tjhandle tj, const unsigned char *j, size_t n, int w, int h)
{
	int jw = 0, jh = 0, sub, cs, ok;
	unsigned char *px;

	if (tjDecompressHeader3(tj, j, (unsigned long)n, &jw, &jh, &sub, &cs) != 0 ||
	    jw > 4 * W || jh > 4 * H || (w && (jw != w || jh != h)))
		return 0;
	px = malloc((size_t)jw * (size_t)jh * 3);
	ok = px && tjDecompress2(tj, j, (unsigned long)n, px, jw, 0, jh, TJPF_RGB, 0) == 0;
	free(px);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err;
	struct ts_jpeg_transcoder *t = NULL;
	unsigned char *jpeg;
	size_t len;
	char detail[200];
	int k, rgb, quality;
	ts_status st;
	tjhandle tj;

	if (!base[0])
		make_bases();
	if (size < 2)
		return 0;
	k = (data[0] & 0x7F) % KINDS;
	rgb = k == 0 ? !(data[0] & 0x40) : (data[0] & 0x40) != 0;
	quality = 1 + data[1] % 100;
	if (data[0] & 0x80) {
		len = size - 2;
		jpeg = malloc(len ? len : 1);
		memcpy(jpeg, data + 2, len);
	} else {
		len = base_len[k];
		jpeg = malloc(len);
		memcpy(jpeg, base[k], len);
		for (size_t i = 2; i + 1 < size; i += 2)
			jpeg[(data[i] * 131u + i * 7u) % len] = data[i + 1];
	}
	ts_error_clear(&err);
	st = ts_jpeg_transcode_begin(2 * W, H, quality, &t, &err);
	for (uint32_t x = 0; st == TS_OK && x < 2 * W; x += W)
		st = ts_jpeg_transcode_tile(t, jpeg, len, rgb, x, 0, detail, sizeof detail);
	if (st == TS_OK)
		st = ts_jpeg_transcode_finish(t, NULL, 0, &out, &err);
	ts_jpeg_transcode_free(t);
	tj = tjInitDecompress();
	if (st == TS_OK && !clean(tj, out.data, out.len, 2 * W, H))
		abort();            /* accepted, but not a clean JPEG of the picture */
	if (st != TS_OK && out.len != 0)
		abort();            /* a refusal must leave out as it was */
	if (st != TS_OK && st != TS_ENOTIMPL && clean(tj, jpeg, len, W, H))
		abort();            /* a good tile called corrupt */
	tjDestroy(tj);
	ts_buf_free(&out);
	free(jpeg);
	return 0;
}
