/*
 * fuzz_jpeg_crop.c - fuzz target for the in-place JPEG crop of edge tiles
 * (src/encode/jpeg_crop.c), which parses the entropy-coded data of tiles
 * read from image files: it must never read or write out of bounds, and a
 * crop it accepts must be a well-formed JPEG of exactly the asked size.
 *
 * The input edits real JPEGs instead of replacing them, so the fuzzer
 * spends its time inside the scan rather than at the first marker: four
 * baseline JPEGs are made once (4:4:4 RGB with an Adobe marker as TIFF
 * tiles are, 4:2:0, 4:2:2, gray).  Byte 0 picks one, bytes 1-2 the crop
 * size, and every following (offset, value) pair of bytes overwrites one
 * byte; with byte 0's top bit set the rest of the input is the JPEG.  An
 * accepted crop must have the crop's size, and when TurboJPEG decodes the
 * input cleanly it must decode the crop cleanly too: a good tile is never
 * made bad (a damaged one may stay damaged, as pass-through serves it).
 *
 * Build with libFuzzer (make fuzz):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     tests/fuzz/fuzz_jpeg_crop.c src/encode/jpeg_crop.c src/core/buf.c \
 *     src/core/status.c -lturbojpeg -lm -o fuzz_jpeg_crop
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include "tessera/buf.h"
#include "tessera/passthrough.h"

#define W 96
#define H 80

static unsigned char *base[4];
static unsigned long base_len[4];

static void make_bases(void)
{
	static const int samp[4] = { TJSAMP_444, TJSAMP_420, TJSAMP_422, TJSAMP_GRAY };
	unsigned char *px = malloc(W * H * 3);
	tjhandle tj = tjInitCompress();

	for (int i = 0; i < W * H * 3; i++)
		px[i] = (unsigned char)((i * 37) ^ (i / 97) ^ (i % 251));
	for (int k = 0; k < 4; k++)
		tjCompress2(tj, px, W, 0, H, TJPF_RGB, &base[k], &base_len[k], samp[k], 85, 0);
	tjDestroy(tj);
	free(px);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err;
	unsigned char *jpeg;
	size_t len;
	uint32_t cw, ch;

	if (!base[0])
		make_bases();
	if (size < 3)
		return 0;
	cw = 1 + data[1] % W;
	ch = 1 + data[2] % H;
	if (size == 3 || (data[0] & 0x80)) {
		/* the rest of the input is the JPEG itself */
		len = size - 3;
		jpeg = malloc(len ? len : 1);
		memcpy(jpeg, data + 3, len);
	} else {
		int k = data[0] & 3;
		len = base_len[k];
		jpeg = malloc(len);
		memcpy(jpeg, base[k], len);
		for (size_t i = 3; i + 1 < size; i += 2)
			jpeg[(data[i] * 131u + i * 7u) % len] = data[i + 1];
	}
	ts_error_clear(&err);
	if (ts_jpeg_crop(jpeg, len, cw, ch, &out, &err) == TS_OK) {
		tjhandle tj = tjInitDecompress();
		int w = 0, h = 0, sub, cs;

		if (out.len < 4 || out.data[0] != 0xFF || out.data[1] != 0xD8 ||
		    out.data[out.len - 2] != 0xFF || out.data[out.len - 1] != 0xD9)
			abort();
		/* TurboJPEG fails on warnings too. */
		unsigned char *px = malloc((size_t)W * H * 3 * 4);
		if (tjDecompressHeader3(tj, jpeg, len, &w, &h, &sub, &cs) == 0 && w <= 2 * W &&
		    h <= 2 * H && tjDecompress2(tj, jpeg, len, px, w, 0, h, TJPF_RGB, 0) == 0 &&
		    (tjDecompressHeader3(tj, out.data, out.len, &w, &h, &sub, &cs) != 0 ||
		     (uint32_t)w != cw || (uint32_t)h != ch ||
		     tjDecompress2(tj, out.data, out.len, px, w, 0, h, TJPF_RGB, 0) != 0))
			abort();
		free(px);
		tjDestroy(tj);
	} else if (out.len != 0) {
		abort();            /* a refusal must leave out as it was */
	}
	ts_buf_free(&out);
	free(jpeg);
	return 0;
}
