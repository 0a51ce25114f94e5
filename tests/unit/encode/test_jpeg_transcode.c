/*
 * test_jpeg_transcode.c - a whole picture made from stored JPEG tiles'
 * coefficients (ts_jpeg_transcode_*, jpeg_transcode.c).
 *
 * Tiles are cut from a synthetic picture (gradients, edges and fine
 * texture, so every frequency is exercised) and written with libjpeg in
 * each sampling the transcoder takes, as YCbCr or as R,G,B.  The output is
 * decoded again and compared with the picture and with what decoding the
 * tiles and encoding the mosaic (the usual path) gives: its error must be
 * no worse than that path's by more than rounding.  At the tiles' own
 * quality, 4:2:0 tiles must come back exactly (their coefficients are
 * copied).  Then the refusals, corruption and the covering check.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <turbojpeg.h>
#include "check.h"
#include "icc_fixture.h"
#include "tessera/encoder.h"

/* The picture, 3 bytes a pixel. */
static uint8_t *picture(uint32_t w, uint32_t h)
{
	uint8_t *p = malloc((size_t)w * h * 3);

	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint8_t *q = p + ((size_t)y * w + x) * 3;
			int edge = ((x / 23) + (y / 17)) % 2 ? 40 : 0;
			int fine = (int)((x * 7 + y * 13) % 11);

			q[0] = (uint8_t)(x * 180 / w + edge + fine);
			q[1] = (uint8_t)(y * 200 / h + fine * 2 + 10);
			q[2] = (uint8_t)((x + y) * 200 / (w + h) + edge);
		}
	return p;
}

struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
};

static void on_error(j_common_ptr c)
{
	longjmp(((struct jerr *)c->err)->jump, 1);
}

/*
 * The tile of tw x th at (x, y) of the picture (edge pixels repeated past
 * its end, as a TIFF writer pads) as a JPEG of quality q: Y sampled hs x
 * vs against chroma, or R,G,B (hs = vs = 1) when rgb.  Caller frees.
 */
static unsigned char *tile_jpeg(const uint8_t *pic, uint32_t w, uint32_t h, uint32_t x,
                                uint32_t y, uint32_t tw, uint32_t th, int q, int hs, int vs,
                                bool rgb, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jerr e;
	unsigned char *out = NULL;
	uint8_t *row = malloc((size_t)tw * 3);

	*len = 0;
	c.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = on_error;
	if (setjmp(e.jump)) {
		jpeg_destroy_compress(&c);
		free(row);
		free(out);
		return NULL;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, len);
	c.image_width = tw;
	c.image_height = th;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	if (rgb)
		jpeg_set_colorspace(&c, JCS_RGB);
	jpeg_set_quality(&c, q, TRUE);
	c.comp_info[0].h_samp_factor = hs;
	c.comp_info[0].v_samp_factor = vs;
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < th) {
		uint32_t sy = y + c.next_scanline < h ? y + c.next_scanline : h - 1;

		for (uint32_t i = 0; i < tw; i++)
			memcpy(row + i * 3, pic + ((size_t)sy * w + (x + i < w ? x + i : w - 1)) * 3, 3);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	return out;
}

/* Decode a JPEG to RGB (fast upsampling when exact); caller frees. */
static uint8_t *decode(const unsigned char *j, size_t n, int flags, int *w, int *h)
{
	tjhandle tj = tjInitDecompress();
	int sub, cs;
	uint8_t *px = NULL;

	if (tj && tjDecompressHeader3(tj, j, (unsigned long)n, w, h, &sub, &cs) == 0) {
		px = malloc((size_t)*w * (size_t)*h * 3);
		if (tjDecompress2(tj, j, (unsigned long)n, px, *w, 0, *h, TJPF_RGB, flags) != 0) {
			free(px);
			px = NULL;
		}
	}
	if (tj)
		tjDestroy(tj);
	return px;
}

static double mean_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += abs((int)a[i] - (int)b[i]);
	return s / (double)n;
}

struct run {
	uint32_t w, h, tile;
	int tile_q, out_q, hs, vs;
	bool rgb;
	struct ts_buf out;       /* the transcoded picture */
	uint8_t *mosaic;         /* the tiles decoded one by one, w x h */
	ts_status status;
};

/* Make the tiles, transcode them and decode them one by one. */
static void transcode(struct run *r, const uint8_t *pic, int decode_flags)
{
	struct ts_jpeg_transcoder *t = NULL;
	struct ts_error err;
	char detail[200] = "";

	ts_error_clear(&err);
	memset(&r->out, 0, sizeof r->out);
	r->mosaic = calloc((size_t)r->w * r->h, 3);
	r->status = ts_jpeg_transcode_begin(r->w, r->h, r->out_q, &t, &err);
	for (uint32_t y = 0; r->status == TS_OK && y < r->h; y += r->tile)
		for (uint32_t x = 0; r->status == TS_OK && x < r->w; x += r->tile) {
			unsigned long n;
			unsigned char *j = tile_jpeg(pic, r->w, r->h, x, y, r->tile, r->tile,
			                             r->tile_q, r->hs, r->vs, r->rgb, &n);
			int dw, dh;
			uint8_t *px;

			r->status = ts_jpeg_transcode_tile(t, j, n, r->rgb, x, y, detail,
			                                   sizeof detail);
			px = decode(j, n, decode_flags, &dw, &dh);
			for (uint32_t row = 0; px && row < r->tile && y + row < r->h; row++)
				memcpy(r->mosaic + ((size_t)(y + row) * r->w + x) * 3,
				       px + (size_t)row * r->tile * 3,
				       (size_t)(x + r->tile <= r->w ? r->tile : r->w - x) * 3);
			free(px);
			free(j);
		}
	if (r->status == TS_OK)
		r->status = ts_jpeg_transcode_finish(t, NULL, 0, &r->out, &err);
	if (r->status != TS_OK)
		printf("    %s %s %s\n", err.msg, err.detail, detail);
	ts_jpeg_transcode_free(t);
}

/* The transcoded picture against the picture, next to the usual path. */
static void as_good_at(int out_q, uint32_t w, uint32_t h, uint32_t tile, int hs, int vs,
                       bool rgb)
{
	struct run r = { .w = w, .h = h, .tile = tile, .tile_q = 92, .out_q = out_q, .hs = hs,
	                 .vs = vs, .rgb = rgb };
	uint8_t *pic = picture(w, h), *a = NULL, *b = NULL;
	unsigned char *usual = NULL;
	unsigned long usual_len = 0;
	tjhandle tj = tjInitCompress();
	int aw = 0, ah = 0, bw = 0, bh = 0;

	transcode(&r, pic, 0);
	EXPECT_EQ_INT(r.status, TS_OK);
	/* ts_jpeg_write's sampling: 4:2:0 below quality 90, 4:4:4 above. */
	EXPECT(tjCompress2(tj, r.mosaic, (int)w, 0, (int)h, TJPF_RGB, &usual, &usual_len,
	                   out_q >= 90 ? TJSAMP_444 : TJSAMP_420, out_q, 0) == 0);
	a = decode(r.out.data, r.out.len, 0, &aw, &ah);
	b = decode(usual, usual_len, 0, &bw, &bh);
	EXPECT(a != NULL && b != NULL);
	if (a && b) {
		size_t n = (size_t)w * h * 3;
		double ours = mean_diff(a, pic, n), theirs = mean_diff(b, pic, n);

		EXPECT_EQ_INT(aw, (int)w);
		EXPECT_EQ_INT(ah, (int)h);
		/* Requantising the coefficients rounds once where the usual
		 * path rounds pixels, coefficients and pixels again. */
		EXPECT(ours <= theirs * 1.05 + 0.1);
		EXPECT(mean_diff(a, b, n) < 2.5);
		if (ours > theirs * 1.05 + 0.1 || mean_diff(a, b, n) >= 2.5)
			printf("    %ux%u tile %u %dx%d %s q%d: ours %.3f, usual %.3f, between %.3f\n",
			       w, h, tile, hs, vs, rgb ? "RGB" : "YCbCr", out_q, ours, theirs,
			       mean_diff(a, b, n));
	}
	free(a);
	free(b);
	tjFree(usual);
	tjDestroy(tj);
	free(pic);
	free(r.mosaic);
	ts_buf_free(&r.out);
}

static void as_good_as_decoding_and_encoding(uint32_t w, uint32_t h, uint32_t tile, int hs,
                                             int vs, bool rgb)
{
	as_good_at(75, w, h, tile, hs, vs, rgb);
}

static void rgb_tiles_are_as_good_as_decoding_and_encoding(void)
{
	as_good_as_decoding_and_encoding(512, 384, 128, 1, 1, true);
}

static void every_ycbcr_sampling_is_as_good_as_decoding_and_encoding(void)
{
	as_good_as_decoding_and_encoding(512, 384, 128, 1, 1, false);  /* 4:4:4 */
	as_good_as_decoding_and_encoding(512, 384, 128, 2, 1, false);  /* 4:2:2 */
	as_good_as_decoding_and_encoding(512, 384, 128, 1, 2, false);  /* 4:4:0 */
	as_good_as_decoding_and_encoding(512, 384, 128, 2, 2, false);  /* 4:2:0 */
}

static void sizes_off_the_mcu_grid_keep_their_edges(void)
{
	as_good_as_decoding_and_encoding(203, 117, 64, 1, 1, true);
	as_good_as_decoding_and_encoding(203, 117, 64, 2, 2, false);
	as_good_as_decoding_and_encoding(37, 250, 256, 1, 1, true);    /* one tile */
}

static void from_quality_90_the_output_keeps_full_chroma(void)
{
	struct run r = { .w = 128, .h = 128, .tile = 64, .tile_q = 95, .out_q = 92, .hs = 2,
	                 .vs = 2, .rgb = false };
	uint8_t *pic = picture(128, 128);
	tjhandle tj = tjInitDecompress();
	int w, h, sub = -1, cs = -1;

	as_good_at(92, 512, 384, 128, 1, 1, true);
	as_good_at(95, 203, 117, 64, 1, 1, false);
	/* The same picture as 4:4:4 JFIF. */
	r.hs = r.vs = 1;
	r.rgb = true;
	transcode(&r, pic, 0);
	EXPECT_EQ_INT(r.status, TS_OK);
	EXPECT(tjDecompressHeader3(tj, r.out.data, (unsigned long)r.out.len, &w, &h, &sub, &cs) ==
	       0);
	EXPECT_EQ_INT(sub, TJSAMP_444);
	free(r.mosaic);
	ts_buf_free(&r.out);
	/* 4:2:0 tiles have no full chroma to give: 501. */
	r.hs = r.vs = 2;
	r.rgb = false;
	transcode(&r, pic, 0);
	EXPECT_EQ_INT(r.status, TS_ENOTIMPL);
	free(r.mosaic);
	ts_buf_free(&r.out);
	tjDestroy(tj);
	free(pic);
}

static void ycbcr_420_tiles_at_their_own_quality_come_back_exactly(void)
{
	/* Same tables in and out: every coefficient is copied.  Fast
	 * upsampling decodes each chroma sample on its own, so tile
	 * boundaries do not blend in the whole picture either. */
	struct run r = { .w = 320, .h = 192, .tile = 64, .tile_q = 75, .out_q = 75, .hs = 2,
	                 .vs = 2, .rgb = false };
	uint8_t *pic = picture(r.w, r.h), *a;
	int aw = 0, ah = 0;

	transcode(&r, pic, TJFLAG_FASTUPSAMPLE);
	EXPECT_EQ_INT(r.status, TS_OK);
	a = decode(r.out.data, r.out.len, TJFLAG_FASTUPSAMPLE, &aw, &ah);
	EXPECT(a != NULL);
	if (a)
		EXPECT(memcmp(a, r.mosaic, (size_t)r.w * r.h * 3) == 0);
	free(a);
	free(pic);
	free(r.mosaic);
	ts_buf_free(&r.out);
}

/* The output's luma and chroma tables, from its DQT. */
static bool output_tables(const struct ts_buf *b, unsigned q[2][64])
{
	struct jpeg_decompress_struct d;
	struct jerr e;

	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = on_error;
	if (setjmp(e.jump)) {
		jpeg_destroy_decompress(&d);
		return false;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, b->data, (unsigned long)b->len);
	jpeg_read_header(&d, TRUE);
	for (int k = 0; k < 2; k++)
		for (int z = 0; z < 64; z++)
			q[k][z] = d.quant_tbl_ptrs[k] ? d.quant_tbl_ptrs[k]->quantval[z] : 0;
	jpeg_destroy_decompress(&d);
	return true;
}

static void the_output_is_jfif_420_with_the_ijg_tables_of_its_quality(void)
{
	struct run r = { .w = 256, .h = 128, .tile = 128, .tile_q = 95, .out_q = 60, .hs = 1,
	                 .vs = 1, .rgb = true };
	uint8_t *pic = picture(r.w, r.h);
	unsigned got[2][64], want[2][64];
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr je;
	tjhandle tj = tjInitDecompress();
	int w, h, sub = -1, cs = -1;

	transcode(&r, pic, 0);
	EXPECT_EQ_INT(r.status, TS_OK);
	EXPECT(tjDecompressHeader3(tj, r.out.data, (unsigned long)r.out.len, &w, &h, &sub, &cs) ==
	       0);
	EXPECT_EQ_INT(sub, TJSAMP_420);
	EXPECT_EQ_INT(cs, TJCS_YCbCr);
	EXPECT(r.out.len > 20 && memcmp(r.out.data + 6, "JFIF", 5) == 0);
	c.err = jpeg_std_error(&je);
	jpeg_create_compress(&c);
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 60, TRUE);
	for (int k = 0; k < 2; k++)
		for (int z = 0; z < 64; z++)
			want[k][z] = c.quant_tbl_ptrs[k]->quantval[z];
	jpeg_destroy_compress(&c);
	EXPECT(output_tables(&r.out, got));
	EXPECT(memcmp(got, want, sizeof got) == 0);
	tjDestroy(tj);
	free(pic);
	free(r.mosaic);
	ts_buf_free(&r.out);
}

/* One tile transcoded on its own into a w x h picture with profile icc. */
static ts_status tile_into(const unsigned char *j, size_t n, bool rgb, uint32_t x, uint32_t y,
                           uint32_t w, uint32_t h, const unsigned char *icc, size_t icc_len,
                           struct ts_buf *out)
{
	struct ts_jpeg_transcoder *t = NULL;
	struct ts_error err;
	char detail[200];
	ts_status st;

	ts_error_clear(&err);
	st = ts_jpeg_transcode_begin(w, h, 75, &t, &err);
	if (st == TS_OK)
		st = ts_jpeg_transcode_tile(t, j, n, rgb, x, y, detail, sizeof detail);
	if (st == TS_OK)
		st = ts_jpeg_transcode_finish(t, icc, icc_len, out, &err);
	ts_jpeg_transcode_free(t);
	return st;
}

/* A tile of 64 x 64 as the whole picture. */
static ts_status one_tile(const unsigned char *j, size_t n, bool rgb, uint32_t x, uint32_t y,
                          struct ts_buf *out)
{
	return tile_into(j, n, rgb, x, y, 64, 64, NULL, 0, out);
}

static void other_codings_are_refused_with_501(void)
{
	uint8_t *pic = picture(64, 64);
	unsigned char *gray = NULL, *j;
	unsigned long n, gray_len = 0;
	struct ts_buf out = { 0 };
	tjhandle tj = tjInitCompress();

	/* 4:1:1, and R,G,B whose components are not all alike. */
	j = tile_jpeg(pic, 64, 64, 0, 0, 64, 64, 90, 4, 1, false, &n);
	EXPECT_EQ_INT(one_tile(j, n, false, 0, 0, &out), TS_ENOTIMPL);
	free(j);
	j = tile_jpeg(pic, 64, 64, 0, 0, 64, 64, 90, 2, 2, true, &n);
	EXPECT_EQ_INT(one_tile(j, n, true, 0, 0, &out), TS_ENOTIMPL);
	free(j);
	/* Gray. */
	EXPECT(tjCompress2(tj, pic, 64, 0, 64, TJPF_RGB, &gray, &gray_len, TJSAMP_GRAY, 90, 0) == 0);
	EXPECT_EQ_INT(one_tile(gray, gray_len, false, 0, 0, &out), TS_ENOTIMPL);
	/* A tile off the 16-pixel grid. */
	j = tile_jpeg(pic, 64, 64, 0, 0, 64, 64, 90, 2, 2, false, &n);
	EXPECT_EQ_INT(one_tile(j, n, false, 8, 0, &out), TS_ENOTIMPL);
	EXPECT_EQ_INT(out.len, 0);
	free(j);
	tjFree(gray);
	tjDestroy(tj);
	free(pic);
}

static void damaged_tiles_are_500_and_never_crash(void)
{
	uint8_t *pic = picture(64, 64);
	unsigned long n;
	unsigned char *j = tile_jpeg(pic, 64, 64, 0, 0, 64, 64, 90, 1, 1, true, &n);
	unsigned char *bad = malloc(n);
	struct ts_buf out = { 0 };
	unsigned seed = 12345;
	int ok = 0, failed = 0;

	/* Cut short: libjpeg warns of a premature end, which is corrupt. */
	EXPECT_EQ_INT(one_tile(j, n / 2, true, 0, 0, &out), TS_EINTERNAL);
	EXPECT_EQ_INT(out.len, 0);
	EXPECT_EQ_INT(one_tile(j, 10, true, 0, 0, &out), TS_EINTERNAL);
	/* Random bytes changed: any answer but a crash. */
	for (int round = 0; round < 300; round++) {
		memcpy(bad, j, n);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			bad[(seed >> 8) % n] ^= (unsigned char)(1 + (seed >> 24) % 255);
		}
		ts_buf_free(&out);
		if (one_tile(bad, n, true, 0, 0, &out) == TS_OK)
			ok++;
		else
			failed++;
	}
	EXPECT_EQ_INT(ok + failed, 300);
	EXPECT(failed > 0);
	ts_buf_free(&out);
	free(bad);
	free(j);
	free(pic);
}

static void a_picture_the_tiles_do_not_cover_is_500(void)
{
	uint8_t *pic = picture(128, 64);
	unsigned long n;
	unsigned char *j = tile_jpeg(pic, 128, 64, 0, 0, 64, 64, 90, 1, 1, true, &n);
	struct ts_jpeg_transcoder *t = NULL;
	struct ts_buf out = { 0 };
	struct ts_error err;

	ts_error_clear(&err);
	EXPECT_EQ_INT(tile_into(j, n, true, 0, 0, 128, 64, NULL, 0, &out), TS_EINTERNAL);
	EXPECT_EQ_INT(out.len, 0);
	/* Too large for a JPEG frame: 400 before anything is allocated. */
	EXPECT_EQ_INT(ts_jpeg_transcode_begin(70000, 64, 75, &t, &err), TS_EBADREQUEST);
	EXPECT(t == NULL);
	free(j);
	free(pic);
}

static void an_rgb_profile_is_embedded(void)
{
	uint8_t *pic = picture(64, 64);
	unsigned long n;
	unsigned char *j = tile_jpeg(pic, 64, 64, 0, 0, 64, 64, 90, 1, 1, true, &n);
	unsigned char *icc = icc_make(3000, "RGB ", 7);
	struct ts_buf out = { 0 };
	bool found = false;

	EXPECT_EQ_INT(tile_into(j, n, true, 0, 0, 64, 64, icc, 3000, &out), TS_OK);
	for (size_t i = 0; i + 12 < out.len && !found; i++)
		found = out.data[i] == 0xFF && out.data[i + 1] == 0xE2 &&
		        memcmp(out.data + i + 4, "ICC_PROFILE", 12) == 0;
	EXPECT(found);
	ts_buf_free(&out);
	free(icc);
	free(j);
	free(pic);
}

int main(void)
{
	RUN(rgb_tiles_are_as_good_as_decoding_and_encoding);
	RUN(every_ycbcr_sampling_is_as_good_as_decoding_and_encoding);
	RUN(sizes_off_the_mcu_grid_keep_their_edges);
	RUN(from_quality_90_the_output_keeps_full_chroma);
	RUN(ycbcr_420_tiles_at_their_own_quality_come_back_exactly);
	RUN(the_output_is_jfif_420_with_the_ijg_tables_of_its_quality);
	RUN(other_codings_are_refused_with_501);
	RUN(damaged_tiles_are_500_and_never_crash);
	RUN(a_picture_the_tiles_do_not_cover_is_500);
	RUN(an_rgb_profile_is_embedded);
	return CHECK_DONE();
}
