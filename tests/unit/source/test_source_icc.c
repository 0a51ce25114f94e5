/*
 * test_source_icc.c - every reader exposes the file's embedded ICC profile
 * in info.icc, byte for byte: TIFF's ICCProfile tag of IFD0, a JPEG's APP2
 * segments joined in sequence order, PNG's iCCP, and a JP2 colr box of
 * method 2; and drops what it must not carry (CMYK, broken, incomplete).
 * Files are written at run time into a temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jpeglib.h>
#include <openjpeg.h>
#include <tiffio.h>
#include "check.h"
#include "icc_fixture.h"
#include "tessera/encoder.h"
#include "tessera/source.h"

static char dir[64];

static const char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void write_file(const char *name, const unsigned char *p, size_t n)
{
	FILE *f = fopen(path_of(name), "wb");
	if (!f || fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

/* Open name; a copy of its profile (or NULL) and its length. */
static unsigned char *profile_of(const char *name, size_t *len)
{
	struct ts_source_limits lim = { 0 };
	struct ts_source *s = NULL;
	struct ts_error err = { 0 };
	unsigned char *copy = NULL;

	*len = 0;
	EXPECT_EQ_INT(ts_source_open(path_of(name), &lim, &s, &err), TS_OK);
	if (!s)
		return NULL;
	EXPECT((s->info.icc == NULL) == (s->info.icc_len == 0));
	if (s->info.icc) {
		copy = malloc(s->info.icc_len);
		memcpy(copy, s->info.icc, s->info.icc_len);
		*len = s->info.icc_len;
	}
	ts_source_close(s);
	return copy;
}

static void make_image(struct ts_image *img, uint32_t w, uint32_t h, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, w, h, nc, &err) != TS_OK)
		abort();
	for (size_t i = 0; i < (size_t)h * img->stride; i++)
		img->pixels[i] = (uint8_t)(i * 13);
}

/* ---- TIFF ---- */

/* A 64x64 tiled RGB (or gray) TIFF with a second page at 32x32; the
 * profile only in IFD0. */
static void write_tiff(const char *name, int spp, const unsigned char *icc, size_t n)
{
	TIFF *t = TIFFOpen(path_of(name), "w");
	unsigned char tile[16 * 16 * 3];

	memset(tile, 90, sizeof tile);
	for (int page = 0; page < 2; page++) {
		uint32_t side = page ? 32 : 64;
		TIFFSetField(t, TIFFTAG_IMAGEWIDTH, side);
		TIFFSetField(t, TIFFTAG_IMAGELENGTH, side);
		TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
		TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
		TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spp == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
		TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
		TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
		TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
		if (page == 0 && icc)
			TIFFSetField(t, TIFFTAG_ICCPROFILE, (uint32_t)n, icc);
		for (uint32_t i = 0; i < (side / 16) * (side / 16); i++)
			TIFFWriteEncodedTile(t, i, tile, 16 * 16 * spp);
		TIFFWriteDirectory(t);
	}
	TIFFClose(t);
}

static void a_tiff_profile_in_ifd0_is_exposed_exactly(void)
{
	unsigned char *icc = icc_make(3000, "RGB ", 1), *got;
	size_t n;

	write_tiff("rgb.tif", 3, icc, 3000);
	got = profile_of("rgb.tif", &n);
	EXPECT_EQ_INT(n, 3000);
	EXPECT(got && memcmp(got, icc, 3000) == 0);
	free(got);
	free(icc);
}

static void a_gray_tiff_keeps_its_gray_profile(void)
{
	unsigned char *icc = icc_make(400, "GRAY", 2), *got;
	size_t n;

	write_tiff("gray.tif", 1, icc, 400);
	got = profile_of("gray.tif", &n);
	EXPECT(got && n == 400 && memcmp(got, icc, 400) == 0);
	free(got);
	free(icc);
}

static void a_tiff_without_a_profile_or_with_a_cmyk_one_has_none(void)
{
	unsigned char *icc = icc_make(400, "CMYK", 3), *got;
	size_t n;

	write_tiff("none.tif", 3, NULL, 0);
	got = profile_of("none.tif", &n);
	EXPECT(got == NULL && n == 0);
	write_tiff("cmyk.tif", 3, icc, 400);
	got = profile_of("cmyk.tif", &n);
	EXPECT(got == NULL && n == 0);
	free(icc);
}

static void a_tiff_profile_with_a_wrong_size_field_is_dropped(void)
{
	unsigned char *icc = icc_make(400, "RGB ", 4), *got;
	size_t n;

	icc_put32(icc, 404);
	write_tiff("badsize.tif", 3, icc, 400);
	got = profile_of("badsize.tif", &n);
	EXPECT(got == NULL);
	free(icc);
}

/* ---- JPEG ---- */

static void write_jpeg(const char *name, int nc, const unsigned char *icc, size_t n)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };

	make_image(&img, 40, 30, nc);
	if (ts_jpeg_write(&img, 80, icc, n, &out, &err) != TS_OK)
		abort();
	write_file(name, out.data, out.len);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void a_jpeg_profile_in_one_app2_segment_is_exposed(void)
{
	unsigned char *icc = icc_make(1000, "RGB ", 5), *got;
	size_t n;

	write_jpeg("one.jpg", 3, icc, 1000);
	got = profile_of("one.jpg", &n);
	EXPECT(got && n == 1000 && memcmp(got, icc, 1000) == 0);
	free(got);
	free(icc);
}

static void a_jpeg_profile_over_three_segments_is_joined(void)
{
	unsigned char *icc = icc_make(150000, "RGB ", 6), *got;
	size_t n;

	write_jpeg("three.jpg", 3, icc, 150000);
	got = profile_of("three.jpg", &n);
	EXPECT(got && n == 150000 && memcmp(got, icc, 150000) == 0);
	free(got);
	free(icc);
}

/* The APP2 segments of a JPEG file in memory: offsets of the first two. */
static void first_two_app2(const unsigned char *p, size_t n, size_t *a, size_t *b)
{
	size_t i = 2;

	*a = *b = 0;
	while (i + 4 <= n && p[i] == 0xFF && p[i + 1] != 0xDA) {
		if (p[i + 1] == 0xE2) {
			if (!*a)
				*a = i;
			else if (!*b)
				*b = i;
		}
		i += 2 + ((size_t)p[i + 2] << 8 | p[i + 3]);
	}
}

static void jpeg_segments_out_of_order_are_put_back_in_order(void)
{
	unsigned char *icc = icc_make(100000, "RGB ", 7), *got, *f, *g;
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	size_t a, b, la, lb, n;

	make_image(&img, 40, 30, 3);
	ts_jpeg_write(&img, 80, icc, 100000, &out, &err);
	f = out.data;
	first_two_app2(f, out.len, &a, &b);
	EXPECT(a && b && b > a);
	la = b - a;                                        /* segment 1, adjacent to 2 */
	lb = 2 + ((size_t)f[b + 2] << 8 | f[b + 3]);
	g = malloc(out.len);
	memcpy(g, f, out.len);
	memcpy(g + a, f + b, lb);                          /* 2 then 1 */
	memcpy(g + a + lb, f + a, la);
	write_file("swapped.jpg", g, out.len);
	got = profile_of("swapped.jpg", &n);
	EXPECT(got && n == 100000 && memcmp(got, icc, 100000) == 0);
	free(got);
	/* now drop segment 2: the profile is incomplete and dropped */
	memcpy(g, f, a);
	memcpy(g + a, f + a, la);
	memcpy(g + a + la, f + b + lb, out.len - b - lb);
	write_file("missing.jpg", g, out.len - lb);
	got = profile_of("missing.jpg", &n);
	EXPECT(got == NULL && n == 0);
	free(g);
	free(icc);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void a_gray_jpeg_keeps_a_gray_profile(void)
{
	unsigned char *icc = icc_make(300, "GRAY", 8), *got;
	size_t n;

	write_jpeg("gray.jpg", 1, icc, 300);
	got = profile_of("gray.jpg", &n);
	EXPECT(got && n == 300 && memcmp(got, icc, 300) == 0);
	free(got);
	free(icc);
}

/* ---- PNG ---- */

static void a_png_iccp_profile_is_exposed(void)
{
	unsigned char *icc = icc_make(2400, "RGB ", 9), *got;
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	size_t n;

	make_image(&img, 33, 17, 3);
	EXPECT_EQ_INT(ts_png_write(&img, 6, icc, 2400, &out, &err), TS_OK);
	write_file("rgb.png", out.data, out.len);
	got = profile_of("rgb.png", &n);
	EXPECT(got && n == 2400 && memcmp(got, icc, 2400) == 0);
	ts_buf_clear(&out);
	EXPECT_EQ_INT(ts_png_write(&img, 6, NULL, 0, &out, &err), TS_OK);
	write_file("plain.png", out.data, out.len);
	free(got);
	got = profile_of("plain.png", &n);
	EXPECT(got == NULL && n == 0);
	free(icc);
	ts_image_free(&img);
	ts_buf_free(&out);
}

/* ---- JPEG 2000 ---- */

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A 64x64 RGB JP2 written by OpenJPEG (whose encoder cannot embed a
 * profile: it asserts), then, with icc, its colr box replaced by one of
 * method 2 carrying the profile (JP2 I.5.3.3) and the jp2h length fixed. */
static int write_jp2(const char *name, const unsigned char *icc, size_t n)
{
	opj_cparameters_t par;
	opj_image_cmptparm_t cp[3];
	opj_image_t *im;
	opj_codec_t *codec;
	opj_stream_t *st;
	unsigned char *f, *g;
	size_t len, i, h = 0, c = 0, clen, glen;
	FILE *fp;
	int ok;

	opj_set_default_encoder_parameters(&par);
	par.tcp_numlayers = 1;
	par.tcp_rates[0] = 0;
	par.cp_disto_alloc = 1;
	par.numresolution = 3;
	memset(cp, 0, sizeof cp);
	for (int k = 0; k < 3; k++) {
		cp[k].dx = cp[k].dy = 1;
		cp[k].w = cp[k].h = 64;
		cp[k].prec = 8;
	}
	im = opj_image_create(3, cp, OPJ_CLRSPC_SRGB);
	im->x1 = im->y1 = 64;
	for (int k = 0; k < 3; k++)
		for (int j = 0; j < 64 * 64; j++)
			im->comps[k].data[j] = (j * (k + 3)) & 255;
	codec = opj_create_compress(OPJ_CODEC_JP2);
	st = opj_stream_create_default_file_stream(path_of(name), OPJ_FALSE);
	ok = opj_setup_encoder(codec, &par, im) && opj_start_compress(codec, im, st) &&
	     opj_encode(codec, st) && opj_end_compress(codec, st);
	opj_stream_destroy(st);
	opj_destroy_codec(codec);
	opj_image_destroy(im);
	if (!ok || !icc)
		return ok;

	fp = fopen(path_of(name), "rb");
	fseek(fp, 0, SEEK_END);
	len = (size_t)ftell(fp);
	rewind(fp);
	f = malloc(len);
	if (fread(f, 1, len, fp) != len)
		abort();
	fclose(fp);
	for (i = 0; i + 8 <= len; i += rd32(f + i))
		if (memcmp(f + i + 4, "jp2h", 4) == 0) {
			h = i;
			break;
		}
	for (i = h + 8; h && i + 8 <= h + rd32(f + h); i += rd32(f + i))
		if (memcmp(f + i + 4, "colr", 4) == 0) {
			c = i;
			break;
		}
	if (!h || !c) {
		free(f);
		return 0;
	}
	clen = rd32(f + c);
	glen = len - clen + 11 + n;
	g = malloc(glen);
	memcpy(g, f, c);
	icc_put32(g + c, (uint32_t)(11 + n));
	memcpy(g + c + 4, "colr", 4);
	g[c + 8] = 2;      /* METH: restricted ICC */
	g[c + 9] = 0;      /* PREC */
	g[c + 10] = 0;     /* APPROX */
	memcpy(g + c + 11, icc, n);
	memcpy(g + c + 11 + n, f + c + clen, len - c - clen);
	icc_put32(g + h, rd32(f + h) - (uint32_t)clen + 11 + (uint32_t)n);
	write_file(name, g, glen);
	free(f);
	free(g);
	return 1;
}

static void a_jp2_colr_profile_is_exposed(void)
{
	unsigned char *icc = icc_make(1600, "RGB ", 10), *got;
	size_t n;

	EXPECT(write_jp2("icc.jp2", icc, 1600));
	got = profile_of("icc.jp2", &n);
	EXPECT(got && n == 1600 && memcmp(got, icc, 1600) == 0);
	free(got);
	EXPECT(write_jp2("plain.jp2", NULL, 0));
	got = profile_of("plain.jp2", &n);
	EXPECT(got == NULL && n == 0);
	free(icc);
}

int main(void)
{
	int rc;

	snprintf(dir, sizeof dir, "/tmp/tessera-icc-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	TIFFSetWarningHandler(NULL);
	RUN(a_tiff_profile_in_ifd0_is_exposed_exactly);
	RUN(a_gray_tiff_keeps_its_gray_profile);
	RUN(a_tiff_without_a_profile_or_with_a_cmyk_one_has_none);
	RUN(a_tiff_profile_with_a_wrong_size_field_is_dropped);
	RUN(a_jpeg_profile_in_one_app2_segment_is_exposed);
	RUN(a_jpeg_profile_over_three_segments_is_joined);
	RUN(jpeg_segments_out_of_order_are_put_back_in_order);
	RUN(a_gray_jpeg_keeps_a_gray_profile);
	RUN(a_png_iccp_profile_is_exposed);
	RUN(a_jp2_colr_profile_is_exposed);
	rc = CHECK_DONE();
	if (!getenv("KEEP")) {   /* KEEP=1 leaves the files for a look */
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
