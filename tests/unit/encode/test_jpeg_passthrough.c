/* test_jpeg_passthrough.c - stored tiles become standalone JPEGs whose
 * pixels equal a normal decode, cut to their true size without loss, and
 * carry the source's ICC profile when it fits their components. */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <turbojpeg.h>
#include "check.h"
#include "icc_fixture.h"
#include "tessera/passthrough.h"

/* A 256x256 tile: 32x32 blocks of distinct colours, encoded at q90. */
static unsigned char *make_tile(int subsamp, unsigned long *len)
{
	unsigned char *rgb = malloc(256 * 256 * 3), *jpg = NULL;
	tjhandle tj = tjInitCompress();
	int x, y;

	for (y = 0; y < 256; y++)
		for (x = 0; x < 256; x++) {
			unsigned char *p = rgb + (y * 256 + x) * 3;
			p[0] = (unsigned char)((x / 32) * 32);
			p[1] = (unsigned char)((y / 32) * 32);
			p[2] = (unsigned char)(((x / 32 + y / 32) % 2) * 200);
		}
	*len = 0;
	tjCompress2(tj, rgb, 256, 0, 256, TJPF_RGB, &jpg, len, subsamp, 90, 0);
	tjDestroy(tj);
	free(rgb);
	return jpg;
}

static unsigned char *decode(const unsigned char *jpg, size_t len, int *w, int *h, int pf)
{
	tjhandle tj = tjInitDecompress();
	int ss, cs;
	unsigned char *px = NULL;

	if (tjDecompressHeader3(tj, jpg, len, w, h, &ss, &cs) == 0) {
		px = malloc((size_t)*w * *h * tjPixelSize[pf]);
		if (tjDecompress2(tj, jpg, len, px, *w, 0, *h, pf, 0) != 0) {
			free(px);
			px = NULL;
		}
	}
	tjDestroy(tj);
	return px;
}

static void a_whole_tile_passes_through_byte_for_byte_after_the_header(void)
{
	unsigned long len;
	unsigned char *tile = make_tile(TJSAMP_420, &len);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_jpeg_passthrough(NULL, 0, tile, len, false, 256, 256, false, NULL, 0, &out, &err), 0);
	EXPECT_EQ_INT(out.len, len);
	EXPECT(out.len == len && memcmp(out.data, tile, len) == 0);
	ts_buf_free(&out);
	tjFree(tile);
}

static void an_edge_tile_is_cut_to_its_true_size_with_the_same_pixels(void)
{
	unsigned long len;
	unsigned char *tile = make_tile(TJSAMP_444, &len);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	unsigned char *full, *cut;
	int w, h, fw, fh, x, y, maxdiff = 0;

	EXPECT_EQ_INT(ts_jpeg_passthrough(NULL, 0, tile, len, false, 100, 70, false, NULL, 0, &out, &err), 0);
	cut = decode(out.data, out.len, &w, &h, TJPF_RGB);
	full = decode(tile, len, &fw, &fh, TJPF_RGB);
	EXPECT_EQ_INT(w, 100);
	EXPECT_EQ_INT(h, 70);
	for (y = 0; cut && full && y < 70; y++)
		for (x = 0; x < 100 * 3; x++) {
			int d = abs(cut[y * 100 * 3 + x] - full[y * 256 * 3 + x]);
			if (d > maxdiff)
				maxdiff = d;
		}
	/* lossless crop: identical coefficients; only the decoder's edge
	 * handling of the last partial block may differ a little */
	EXPECT(maxdiff <= 2);
	free(cut);
	free(full);
	ts_buf_free(&out);
	tjFree(tile);
}

static void split_tables_and_tile_join_into_a_decodable_file(void)
{
	unsigned long len;
	unsigned char *tile = make_tile(TJSAMP_420, &len);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	/* Fake a TIFF split: "tables" = SOI + all segments before SOF + EOI,
	 * "tile" = SOI + the rest. */
	size_t i = 2, sof = 0;
	unsigned char *tables, *abbrev, *px;
	int w, h;

	while (i + 4 < len) {
		unsigned m = tile[i + 1];
		if (m >= 0xC0 && m <= 0xC2) {
			sof = i;
			break;
		}
		i += 2 + ((size_t)tile[i + 2] << 8 | tile[i + 3]);
	}
	EXPECT(sof > 2);
	tables = malloc(sof + 2);
	memcpy(tables, tile, sof);
	tables[sof] = 0xFF;
	tables[sof + 1] = 0xD9;
	abbrev = malloc(len - sof + 2);
	abbrev[0] = 0xFF;
	abbrev[1] = 0xD8;
	memcpy(abbrev + 2, tile + sof, len - sof);
	EXPECT_EQ_INT(ts_jpeg_passthrough(tables, sof + 2, abbrev, len - sof + 2, false, 256, 256,
	                                  false, NULL, 0, &out, &err), 0);
	px = decode(out.data, out.len, &w, &h, TJPF_RGB);
	EXPECT(px != NULL);
	EXPECT_EQ_INT(w, 256);
	free(px);
	free(tables);
	free(abbrev);
	ts_buf_free(&out);
	tjFree(tile);
}

static void gray_of_a_ycbcr_tile_keeps_only_luminance(void)
{
	unsigned long len;
	unsigned char *tile = make_tile(TJSAMP_420, &len);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	tjhandle tj = tjInitDecompress();
	int w, h, ss = -1, cs = -1;

	EXPECT_EQ_INT(ts_jpeg_passthrough(NULL, 0, tile, len, false, 256, 256, true, NULL, 0, &out, &err), 0);
	tjDecompressHeader3(tj, out.data, out.len, &w, &h, &ss, &cs);
	EXPECT_EQ_INT(cs, TJCS_GRAY);
	EXPECT_EQ_INT(w, 256);
	tjDestroy(tj);
	ts_buf_free(&out);
	tjFree(tile);
}

static void garbage_is_a_corrupt_tile_not_a_crash(void)
{
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	unsigned char junk[64] = { 0xFF, 0xD8, 0xFF, 0xC0, 0x00 };

	EXPECT_EQ_INT(ts_jpeg_passthrough(NULL, 0, junk, sizeof junk, false, 10, 10, false, NULL, 0, &out, &err), 500);
	ts_buf_free(&out);
}

/* Pass the 256x256 tile through, cut to cw x ch, gray or not, with a
 * profile of space; the profile read back (or NULL) and the stream after
 * the inserted segments compared with the plain pass-through. */
static unsigned char *passed_profile(const char *space, uint32_t cw, uint32_t ch, bool gray,
                                     int *rest_same)
{
	unsigned long len;
	unsigned char *tile = make_tile(TJSAMP_420, &len);
	unsigned char *icc = icc_make(900, space, 3), *back;
	struct ts_buf plain = TS_BUF_INIT, out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	size_t blen = 0, seg = 0;

	EXPECT_EQ_INT(ts_jpeg_passthrough(NULL, 0, tile, len, false, cw, ch, gray, NULL, 0,
	                                  &plain, &err), 0);
	EXPECT_EQ_INT(ts_jpeg_passthrough(NULL, 0, tile, len, false, cw, ch, gray, icc, 900,
	                                  &out, &err), 0);
	back = icc_from_jpeg(out.data, out.len, &blen);
	if (back) {
		EXPECT_EQ_INT(blen, 900);
		EXPECT(memcmp(back, icc, 900) == 0);
		seg = 900 + 18;   /* one APP2: marker, length, tag, seq, count */
	}
	/* Everything else is the plain pass-through, byte for byte: here
	 * TurboJPEG's JFIF APP0 (20 bytes) after the SOI, then the segment. */
	*rest_same = out.len == plain.len + seg &&
	             memcmp(out.data, plain.data, 20) == 0 &&
	             memcmp(out.data + 20 + seg, plain.data + 20, plain.len - 20) == 0;
	free(icc);
	ts_buf_free(&plain);
	ts_buf_free(&out);
	tjFree(tile);
	return back;
}

static void a_passed_tile_carries_the_rgb_profile_and_is_otherwise_unchanged(void)
{
	int same = 0;
	unsigned char *p = passed_profile("RGB ", 256, 256, false, &same);

	EXPECT(p != NULL);
	EXPECT(same);
	free(p);
}

static void a_cut_edge_tile_carries_the_profile_too(void)
{
	int same = 0;
	unsigned char *p = passed_profile("RGB ", 100, 70, false, &same);

	EXPECT(p != NULL);
	EXPECT(same);
	free(p);
}

static void a_gray_answer_from_colour_tiles_carries_no_rgb_profile(void)
{
	int same = 0;
	unsigned char *p = passed_profile("RGB ", 256, 256, true, &same);

	EXPECT(p == NULL);
	EXPECT(same);
	free(p);
}

static void a_gray_profile_does_not_go_on_a_colour_tile(void)
{
	int same = 0;
	unsigned char *p = passed_profile("GRAY", 256, 256, false, &same);

	EXPECT(p == NULL);
	EXPECT(same);
	free(p);
}

int main(void)
{
	RUN(a_whole_tile_passes_through_byte_for_byte_after_the_header);
	RUN(an_edge_tile_is_cut_to_its_true_size_with_the_same_pixels);
	RUN(split_tables_and_tile_join_into_a_decodable_file);
	RUN(gray_of_a_ycbcr_tile_keeps_only_luminance);
	RUN(garbage_is_a_corrupt_tile_not_a_crash);
	RUN(a_passed_tile_carries_the_rgb_profile_and_is_otherwise_unchanged);
	RUN(a_cut_edge_tile_carries_the_profile_too);
	RUN(a_gray_answer_from_colour_tiles_carries_no_rgb_profile);
	RUN(a_gray_profile_does_not_go_on_a_colour_tile);
	return CHECK_DONE();
}
