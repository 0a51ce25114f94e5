/* test_jpeg_crop.c - cutting a baseline JPEG by re-packing its entropy-coded
 * bits gives exactly the pixels of libjpeg-turbo's lossless crop, for every
 * subsampling, quality and crop size; what it cannot do (restart intervals,
 * progressive, DC categories missing from optimised tables) it declines
 * with a status, and damaged or truncated input never crashes it. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <turbojpeg.h>
#include "check.h"
#include "tessera/passthrough.h"

static uint32_t rng = 12345;

static unsigned rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 16;
}

/* Gradients, hard-edged blocks and noise: every DC category and long AC
 * runs show up somewhere. */
static unsigned char *make_pixels(int w, int h)
{
	unsigned char *px = malloc((size_t)w * h * 3);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned char *p = px + ((size_t)y * w + x) * 3;
			int block = ((x / 13) * 7 + (y / 11) * 3) % 5;
			p[0] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
			p[1] = (unsigned char)(block * 60 + (rnd() % 8));
			p[2] = (unsigned char)((x ^ y) & 0x40 ? 230 : rnd() % 40);
		}
	return px;
}

static unsigned char *tj_jpeg(int w, int h, int subsamp, int q, unsigned long *len)
{
	unsigned char *px = make_pixels(w, h), *jpg = NULL;
	tjhandle tj = tjInitCompress();

	*len = 0;
	if (tjCompress2(tj, px, w, 0, h, TJPF_RGB, &jpg, len, subsamp, q, 0) != 0)
		jpg = NULL;
	tjDestroy(tj);
	free(px);
	return jpg;
}

/* The libjpeg API, for what TurboJPEG's compressor does not offer. */
struct lj_opts {
	int optimize, adobe_rgb, restart, progressive, h0, v0;
};

static unsigned char *lj_jpeg(int w, int h, int q, struct lj_opts o, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *px = make_pixels(w, h), *buf = NULL;

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	*len = 0;
	jpeg_mem_dest(&c, &buf, len);
	c.image_width = (JDIMENSION)w;
	c.image_height = (JDIMENSION)h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	if (o.adobe_rgb)
		jpeg_set_colorspace(&c, JCS_RGB);   /* Adobe marker, transform 0 */
	jpeg_set_quality(&c, q, TRUE);
	if (o.h0) {
		c.comp_info[0].h_samp_factor = o.h0;
		c.comp_info[0].v_samp_factor = o.v0;
	}
	c.optimize_coding = o.optimize ? TRUE : FALSE;
	c.restart_interval = (unsigned)o.restart;
	if (o.progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = px + (size_t)c.next_scanline * w * 3;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(px);
	return buf;
}

struct lj_err {
	struct jpeg_error_mgr mgr;
	jmp_buf jump;
};

static void lj_fail(j_common_ptr c)
{
	longjmp(((struct lj_err *)c->err)->jump, 1);
}

static void lj_quiet(j_common_ptr c)
{
	(void)c;
}

/* The libjpeg API's decode, for sampling factors TurboJPEG's header probe
 * does not name (3x1, 4x2...); NULL on an error or any warning. */
static unsigned char *decode_lj(const unsigned char *jpg, size_t len, int *w, int *h)
{
	struct jpeg_decompress_struct d;
	struct lj_err e;
	unsigned char *volatile px = NULL;

	d.err = jpeg_std_error(&e.mgr);
	e.mgr.error_exit = lj_fail;
	e.mgr.output_message = lj_quiet;
	if (setjmp(e.jump)) {
		jpeg_destroy_decompress(&d);
		free(px);
		return NULL;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, jpg, (unsigned long)len);
	jpeg_read_header(&d, TRUE);
	d.out_color_space = JCS_RGB;
	jpeg_start_decompress(&d);
	*w = (int)d.output_width;
	*h = (int)d.output_height;
	px = malloc((size_t)*w * *h * 3);
	while (d.output_scanline < d.output_height) {
		JSAMPROW row = px + (size_t)d.output_scanline * *w * 3;
		jpeg_read_scanlines(&d, &row, 1);
	}
	jpeg_finish_decompress(&d);
	if (e.mgr.num_warnings) {
		free(px);
		px = NULL;
	}
	jpeg_destroy_decompress(&d);
	return px;
}

/* Decode to RGB; NULL on any error or warning (a clean stream only). */
static unsigned char *decode(const unsigned char *jpg, size_t len, int *w, int *h)
{
	tjhandle tj = tjInitDecompress();
	int ss, cs;
	unsigned char *px = NULL;

	if (tjDecompressHeader3(tj, jpg, (unsigned long)len, w, h, &ss, &cs) != 0) {
		tjDestroy(tj);
		return decode_lj(jpg, len, w, h);
	}
	{
		px = malloc((size_t)*w * *h * 3);
		if (tjDecompress2(tj, jpg, (unsigned long)len, px, *w, 0, *h, TJPF_RGB, 0) != 0 ||
		    tjGetErrorCode(tj) == TJERR_WARNING) {
			free(px);
			px = NULL;
		}
	}
	tjDestroy(tj);
	return px;
}

/* True when every block of the crop's components holds the same quantised
 * coefficients as the same block of the source (both read by libjpeg). */
static int coefficients_equal(const unsigned char *src, size_t slen,
                              const unsigned char *cut, size_t clen)
{
	struct jpeg_decompress_struct a, b;
	struct lj_err e;   /* shared: either failing ends the comparison */
	volatile int same = 0, made = 0;

	a.err = b.err = jpeg_std_error(&e.mgr);
	e.mgr.error_exit = lj_fail;
	e.mgr.output_message = lj_quiet;
	if (setjmp(e.jump)) {
		same = 0;
		goto done;
	}
	jpeg_create_decompress(&a);
	jpeg_create_decompress(&b);
	made = 1;
	jpeg_mem_src(&a, src, (unsigned long)slen);
	jpeg_mem_src(&b, cut, (unsigned long)clen);
	jpeg_read_header(&a, TRUE);
	jpeg_read_header(&b, TRUE);
	{
		jvirt_barray_ptr *ca = jpeg_read_coefficients(&a);
		jvirt_barray_ptr *cb = jpeg_read_coefficients(&b);
		same = a.num_components == b.num_components && e.mgr.num_warnings == 0;
		for (int c = 0; same && c < b.num_components; c++) {
			jpeg_component_info *ci = &b.comp_info[c];
			for (JDIMENSION by = 0; same && by < ci->height_in_blocks; by++) {
				JBLOCKARRAY ra = a.mem->access_virt_barray((j_common_ptr)&a, ca[c], by, 1, FALSE);
				JBLOCKARRAY rb = b.mem->access_virt_barray((j_common_ptr)&b, cb[c], by, 1, FALSE);
				same = memcmp(ra[0], rb[0], ci->width_in_blocks * sizeof(JBLOCK)) == 0;
			}
		}
	}
done:
	if (made) {
		jpeg_destroy_decompress(&a);
		jpeg_destroy_decompress(&b);
	}
	return same;
}

/* The reference: TurboJPEG's lossless crop at the origin, decoded. */
static unsigned char *reference(const unsigned char *jpg, size_t len, int cw, int ch)
{
	tjhandle tj = tjInitTransform();
	tjtransform xf;
	unsigned char *dst = NULL, *px = NULL;
	unsigned long dlen = 0;
	int w, h;

	memset(&xf, 0, sizeof xf);
	xf.options = TJXOPT_CROP;
	xf.r.w = cw;
	xf.r.h = ch;
	if (tjTransform(tj, jpg, (unsigned long)len, 1, &dst, &dlen, &xf, 0) == 0)
		px = decode(dst, dlen, &w, &h);
	if (dst)
		tjFree(dst);
	tjDestroy(tj);
	return px;
}

/* 1: cut and identical to the reference; 0: declined with 501; -1: wrong. */
static int crop_matches(const unsigned char *jpg, size_t len, int cw, int ch, const char *what,
                        int tjmcu)
{
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	unsigned char *ours = NULL, *ref = NULL;
	int w = 0, h = 0, res = -1;
	ts_status st = ts_jpeg_crop(jpg, len, (uint32_t)cw, (uint32_t)ch, &out, &err);

	if (st == TS_ENOTIMPL) {
		res = out.len == 0 ? 0 : -1;
		goto done;
	}
	if (st != TS_OK) {
		printf("    %s %dx%d: status %d (%s; %s)\n", what, cw, ch, st, err.msg, err.detail);
		goto done;
	}
	if (!coefficients_equal(jpg, len, out.data, out.len)) {
		printf("    %s %dx%d: coefficients differ\n", what, cw, ch);
		goto done;
	}
	ours = decode(out.data, out.len, &w, &h);
	/* TurboJPEG names only the usual samplings; for the others the
	 * coefficients above are the reference and the crop must decode */
	ref = tjmcu ? reference(jpg, len, cw, ch) : NULL;
	if (!tjmcu && ours && w == cw && h == ch) {
		res = 1;
		goto done;
	}
	if (!ours || !ref || w != cw || h != ch) {
		printf("    %s %dx%d: decoded %s %dx%d, reference %s\n", what, cw, ch,
		       ours ? "ok" : "FAILED", w, h, ref ? "ok" : "FAILED");
		goto done;
	}
	if (memcmp(ours, ref, (size_t)cw * ch * 3) != 0) {
		printf("    %s %dx%d: pixels differ\n", what, cw, ch);
		goto done;
	}
	res = 1;
done:
	free(ours);
	free(ref);
	ts_buf_free(&out);
	return res;
}

/* Every interesting crop of a w x h image with mw x mh MCUs; counts. */
static void crop_all(const unsigned char *jpg, size_t len, int w, int h, int mw, int mh,
                     const char *what, int *cut, int *declined, int *wrong)
{
	int sizes[][2] = {
		{ 1, 1 }, { 8, 8 }, { mw - 1, mh - 1 }, { mw, mh }, { mw + 1, mh + 1 },
		{ w, h / 2 + 3 }, { w, 1 }, { w / 2 + 1, h }, { 1, h }, { w - 1, h - 1 },
		{ w - mw - 1, h - 5 }, { 2 * mw + 3, 3 * mh - 1 }, { w, h - 1 }, { w - 1, h },
	};

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		int cw = sizes[i][0], ch = sizes[i][1], r;
		if (cw < 1 || ch < 1 || cw > w || ch > h)
			continue;
		r = crop_matches(jpg, len, cw, ch, what, strcmp(what, "sampling") != 0);
		if (r == 1)
			(*cut)++;
		else if (r == 0)
			(*declined)++;
		else
			(*wrong)++;
	}
}

static void turbojpeg_crops_equal_the_lossless_transform_pixel_for_pixel(void)
{
	static const int subsamps[] = { TJSAMP_444, TJSAMP_420, TJSAMP_422, TJSAMP_440,
	                                 TJSAMP_411, TJSAMP_GRAY };
	static const int qualities[] = { 50, 90, 100 };
	static const int dims[][2] = { { 256, 256 }, { 100, 70 }, { 37, 53 }, { 257, 131 }, { 16, 9 } };
	int cut = 0, declined = 0, wrong = 0;

	for (size_t s = 0; s < sizeof subsamps / sizeof subsamps[0]; s++)
		for (size_t q = 0; q < sizeof qualities / sizeof qualities[0]; q++)
			for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
				unsigned long len;
				int w = dims[d][0], h = dims[d][1];
				unsigned char *jpg = tj_jpeg(w, h, subsamps[s], qualities[q], &len);
				char what[64];
				snprintf(what, sizeof what, "samp %d q%d %dx%d", subsamps[s], qualities[q], w, h);
				EXPECT(jpg != NULL);
				if (!jpg)
					continue;
				crop_all(jpg, len, w, h, tjMCUWidth[subsamps[s]], tjMCUHeight[subsamps[s]],
				         what, &cut, &declined, &wrong);
				tjFree(jpg);
			}
	EXPECT_EQ_INT(wrong, 0);
	/* TurboJPEG writes the standard tables, which code every category */
	EXPECT_EQ_INT(declined, 0);
	EXPECT(cut > 400);
}

static void optimised_huffman_tables_are_cut_exactly_or_declined(void)
{
	static const int dims[][2] = { { 256, 256 }, { 64, 48 }, { 33, 17 } };
	int cut = 0, declined = 0, wrong = 0;

	for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
		for (int q = 50; q <= 100; q += 25) {
			struct lj_opts o = { .optimize = 1 };
			unsigned long len;
			unsigned char *jpg = lj_jpeg(dims[d][0], dims[d][1], q, o, &len);
			crop_all(jpg, len, dims[d][0], dims[d][1], 16, 16, "optimised", &cut, &declined, &wrong);
			free(jpg);
		}
	EXPECT_EQ_INT(wrong, 0);
	EXPECT(cut > 0);
}

static void an_rgb_jpeg_with_the_adobe_marker_is_cut_exactly(void)
{
	int cut = 0, declined = 0, wrong = 0;

	for (int q = 50; q <= 100; q += 25) {
		struct lj_opts o = { .adobe_rgb = 1 };
		unsigned long len;
		unsigned char *jpg = lj_jpeg(256, 256, q, o, &len);
		crop_all(jpg, len, 256, 256, 8, 8, "adobe rgb", &cut, &declined, &wrong);
		free(jpg);
	}
	EXPECT_EQ_INT(wrong, 0);
	EXPECT_EQ_INT(declined, 0);
	EXPECT(cut > 30);
}

static void unusual_sampling_factors_are_cut_exactly(void)
{
	/* luminance 1x2 and 2x1 against 1x1 chroma, and 3x1 (a 24x8 MCU) */
	static const int hv[][2] = { { 1, 2 }, { 2, 1 }, { 3, 1 }, { 1, 3 }, { 4, 2 } };
	int cut = 0, declined = 0, wrong = 0;

	for (size_t i = 0; i < sizeof hv / sizeof hv[0]; i++) {
		struct lj_opts o = { .h0 = hv[i][0], .v0 = hv[i][1] };
		unsigned long len;
		unsigned char *jpg = lj_jpeg(203, 77, 85, o, &len);
		crop_all(jpg, len, 203, 77, 8 * hv[i][0], 8 * hv[i][1], "sampling", &cut, &declined, &wrong);
		free(jpg);
	}
	EXPECT_EQ_INT(wrong, 0);
	EXPECT_EQ_INT(declined, 0);
	EXPECT(cut > 40);
}

static void a_restart_interval_is_declined_and_out_is_untouched(void)
{
	struct lj_opts o = { .restart = 2 };
	unsigned long len;
	unsigned char *jpg = lj_jpeg(64, 64, 90, o, &len);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };

	ts_buf_append(&out, "kept", 4);
	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 40, 40, &out, &err), TS_ENOTIMPL);
	EXPECT_EQ_INT(out.len, 4);
	ts_buf_free(&out);
	free(jpg);
}

static void a_progressive_jpeg_is_declined(void)
{
	struct lj_opts o = { .progressive = 1 };
	unsigned long len;
	unsigned char *jpg = lj_jpeg(64, 64, 90, o, &len);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 40, 40, &out, &err), TS_ENOTIMPL);
	EXPECT_EQ_INT(out.len, 0);
	ts_buf_free(&out);
	free(jpg);
}

static void what_is_kept_is_appended_after_what_out_held(void)
{
	unsigned long len;
	unsigned char *jpg = tj_jpeg(64, 64, TJSAMP_420, 90, &len);
	struct ts_buf out = TS_BUF_INIT, alone = TS_BUF_INIT;
	struct ts_error err = { 0 };

	ts_buf_append(&out, "kept", 4);
	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 20, 40, &out, &err), 0);
	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 20, 40, &alone, &err), 0);
	EXPECT_EQ_INT(out.len, alone.len + 4);
	EXPECT(out.len == alone.len + 4 && memcmp(out.data, "kept", 4) == 0 &&
	       memcmp(out.data + 4, alone.data, alone.len) == 0);
	ts_buf_free(&out);
	ts_buf_free(&alone);
	tjFree(jpg);
}

/* Where the entropy-coded data starts: after the SOS segment. */
static size_t scan_data_at(const unsigned char *p, size_t n)
{
	for (size_t i = 2; i + 4 <= n;) {
		size_t l = (size_t)p[i + 2] << 8 | p[i + 3];
		if (p[i + 1] == 0xDA)
			return i + 2 + l;
		i += 2 + l;
	}
	return 0;
}

static void a_top_crop_reads_only_the_rows_it_keeps(void)
{
	unsigned long len;
	unsigned char *jpg = tj_jpeg(256, 256, TJSAMP_444, 90, &len);
	struct ts_buf a = TS_BUF_INIT, b = TS_BUF_INIT;
	struct ts_error err = { 0 };

	/* garbage over the last quarter of the data: the top 96 rows of a
	 * 256-row tile never get there */
	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 256, 96, &a, &err), 0);
	for (size_t i = len - len / 4; i < len - 2; i++)
		jpg[i] = 0xFF;
	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 256, 96, &b, &err), 0);
	EXPECT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	/* the full height needs those rows: declined, not a wrong image */
	ts_buf_clear(&b);
	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 128, 256, &b, &err), TS_EINTERNAL);
	EXPECT_EQ_INT(b.len, 0);
	ts_buf_free(&a);
	ts_buf_free(&b);
	tjFree(jpg);
}

static void truncated_and_damaged_tiles_never_crash_or_lie(void)
{
	unsigned long len;
	unsigned char *jpg = tj_jpeg(96, 80, TJSAMP_420, 90, &len), *bad;
	struct ts_buf whole = TS_BUF_INIT, out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	int lies = 0, damaged_ok = 0;
	size_t data_at = scan_data_at(jpg, len);

	EXPECT(data_at > 0);
	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 50, 50, &whole, &err), 0);
	/* every truncation: either the same output (the kept rows were all
	 * there) or a failure */
	for (size_t n = 0; n < len; n++) {
		ts_status st;
		bad = malloc(n ? n : 1);
		memcpy(bad, jpg, n);
		ts_buf_clear(&out);
		memset(&err, 0, sizeof err);
		st = ts_jpeg_crop(bad, n, 50, 50, &out, &err);
		if (st == TS_OK && (out.len != whole.len || memcmp(out.data, whole.data, out.len) != 0))
			lies++;
		if (st != TS_OK && out.len != 0)
			lies++;
		free(bad);
	}
	EXPECT_EQ_INT(lies, 0);
	/* random damage anywhere: no crash (ASan watches), and whatever is
	 * produced is a well-formed JPEG of the crop size */
	bad = malloc(len);
	for (int t = 0; t < 3000; t++) {
		int w, h;
		unsigned char *px;
		memcpy(bad, jpg, len);
		for (int k = 0; k < 1 + t % 4; k++) {
			size_t at = t % 3 ? data_at + rnd() % (len - data_at) : rnd() % len;
			bad[at] = (unsigned char)rnd();
		}
		ts_buf_clear(&out);
		memset(&err, 0, sizeof err);
		/* damage to the headers (t % 3 == 0) may sit in a segment that is
		 * copied as it is (DQT, APP0): only no crash is asked there */
		if (ts_jpeg_crop(bad, len, 1 + rnd() % 96, 1 + rnd() % 80, &out, &err) == TS_OK &&
		    t % 3) {
			damaged_ok++;
			tjhandle tj = tjInitDecompress();
			int ss, cs;
			EXPECT(tjDecompressHeader3(tj, out.data, out.len, &w, &h, &ss, &cs) == 0);
			tjDestroy(tj);
			px = decode(out.data, out.len, &w, &h);
			free(px);
		}
	}
	EXPECT(damaged_ok > 0);
	free(bad);
	ts_buf_free(&whole);
	ts_buf_free(&out);
	tjFree(jpg);
}

static void pass_through_uses_the_fast_crop_and_falls_back_when_declined(void)
{
	unsigned long len, rlen;
	unsigned char *jpg = tj_jpeg(256, 256, TJSAMP_444, 90, &len);
	struct lj_opts o = { .restart = 4 };
	unsigned char *dri = lj_jpeg(256, 256, 90, o, &rlen), *ours, *ref;
	struct ts_buf fast = TS_BUF_INIT, pass = TS_BUF_INIT;
	struct ts_error err = { 0 };
	int w = 0, h = 0;

	EXPECT_EQ_INT(ts_jpeg_crop(jpg, len, 128, 256, &fast, &err), 0);
	EXPECT_EQ_INT(ts_jpeg_passthrough(NULL, 0, jpg, len, false, 128, 256, false, NULL, 0, &pass, &err), 0);
	EXPECT(fast.len == pass.len && memcmp(fast.data, pass.data, fast.len) == 0);
	/* a restart interval goes to the transformer: still the right pixels */
	ts_buf_clear(&pass);
	EXPECT_EQ_INT(ts_jpeg_passthrough(NULL, 0, dri, rlen, false, 100, 60, false, NULL, 0, &pass, &err), 0);
	EXPECT_EQ_INT(err.status, 0);
	ours = decode(pass.data, pass.len, &w, &h);
	ref = reference(dri, rlen, 100, 60);
	EXPECT(ours && ref && w == 100 && h == 60 && memcmp(ours, ref, 100 * 60 * 3) == 0);
	free(ours);
	free(ref);
	ts_buf_free(&fast);
	ts_buf_free(&pass);
	tjFree(jpg);
	free(dri);
}

int main(void)
{
	RUN(turbojpeg_crops_equal_the_lossless_transform_pixel_for_pixel);
	RUN(optimised_huffman_tables_are_cut_exactly_or_declined);
	RUN(an_rgb_jpeg_with_the_adobe_marker_is_cut_exactly);
	RUN(unusual_sampling_factors_are_cut_exactly);
	RUN(a_restart_interval_is_declined_and_out_is_untouched);
	RUN(a_progressive_jpeg_is_declined);
	RUN(what_is_kept_is_appended_after_what_out_held);
	RUN(a_top_crop_reads_only_the_rows_it_keeps);
	RUN(truncated_and_damaged_tiles_never_crash_or_lie);
	RUN(pass_through_uses_the_fast_crop_and_falls_back_when_declined);
	return CHECK_DONE();
}
