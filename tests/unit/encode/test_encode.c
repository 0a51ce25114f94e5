/*
 * test_encode.c - the format dispatch: each format produces its own
 * signature (GIF89a, the JP2 signature box, %PDF-1.4 included),
 * ts_encode_supported says every IIIF format is built, which formats keep
 * alpha, and the options' ICC profile reaches every writer.
 */
#include <stdlib.h>
#include <png.h>
#include "check.h"
#include "icc_fixture.h"
#include "tessera/encoder.h"

static void make(struct ts_image *img)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, 8, 8, 3, &err) != TS_OK)
		abort();
	for (size_t i = 0; i < 8 * 8 * 3; i++)
		img->pixels[i] = (uint8_t)(i * 3);
}

static int starts(const struct ts_buf *b, size_t off, const char *sig, size_t n)
{
	return b->len >= off + n && memcmp(b->data + off, sig, n) == 0;
}

static void each_format_writes_its_own_signature(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	struct ts_encode_opts o = { .jpeg_quality = 80, .webp_quality = 80, .png_level = 6 };

	make(&img);
	EXPECT_EQ_INT(ts_encode(&img, TS_FORMAT_JPG, &o, &out, &err), TS_OK);
	EXPECT(starts(&out, 0, "\xff\xd8\xff", 3));
	ts_buf_clear(&out);
	EXPECT_EQ_INT(ts_encode(&img, TS_FORMAT_PNG, &o, &out, &err), TS_OK);
	EXPECT(starts(&out, 0, "\x89PNG\r\n\x1a\n", 8));
	ts_buf_clear(&out);
	EXPECT_EQ_INT(ts_encode(&img, TS_FORMAT_WEBP, &o, &out, &err), TS_OK);
	EXPECT(starts(&out, 0, "RIFF", 4) && starts(&out, 8, "WEBP", 4));
	ts_buf_clear(&out);
	EXPECT_EQ_INT(ts_encode(&img, TS_FORMAT_TIF, NULL, &out, &err), TS_OK);
	EXPECT(starts(&out, 0, "II*\0", 4));
	EXPECT_EQ_INT(err.status, TS_OK);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void gif_jp2_and_pdf_are_written(void)
{
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };

	make(&img);
	EXPECT_EQ_INT(ts_encode(&img, TS_FORMAT_GIF, NULL, &out, &err), TS_OK);
	EXPECT(starts(&out, 0, "GIF89a", 6));
	ts_buf_clear(&out);
	EXPECT_EQ_INT(ts_encode(&img, TS_FORMAT_JP2, NULL, &out, &err), TS_OK);
	EXPECT(starts(&out, 4, "jP  ", 4));
	ts_buf_clear(&out);
	EXPECT_EQ_INT(ts_encode(&img, TS_FORMAT_PDF, NULL, &out, &err), TS_OK);
	EXPECT(starts(&out, 0, "%PDF-1.4", 8));
	EXPECT_EQ_INT(err.status, TS_OK);
	ts_image_free(&img);
	ts_buf_free(&out);
}

static void every_iiif_format_is_supported(void)
{
	EXPECT(ts_encode_supported(TS_FORMAT_JPG));
	EXPECT(ts_encode_supported(TS_FORMAT_PNG));
	EXPECT(ts_encode_supported(TS_FORMAT_WEBP));
	EXPECT(ts_encode_supported(TS_FORMAT_TIF));
	EXPECT(ts_encode_supported(TS_FORMAT_GIF));
	EXPECT(ts_encode_supported(TS_FORMAT_JP2));
	EXPECT(ts_encode_supported(TS_FORMAT_PDF));
	EXPECT(!ts_encode_keeps_alpha(TS_FORMAT_JPG));
	EXPECT(!ts_encode_keeps_alpha(TS_FORMAT_PDF));
	EXPECT(ts_encode_keeps_alpha(TS_FORMAT_GIF));
	EXPECT(ts_encode_keeps_alpha(TS_FORMAT_JP2));
}

static void the_options_profile_reaches_every_format(void)
{
	static const enum ts_format fs[] = { TS_FORMAT_JPG, TS_FORMAT_WEBP, TS_FORMAT_TIF };
	struct ts_image img;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	struct ts_encode_opts o = { .jpeg_quality = 80, .webp_quality = 80, .png_level = 6 };
	unsigned char *icc = icc_make(700, "RGB ", 11), *back;
	size_t blen = 0;

	o.icc = icc;
	o.icc_len = 700;
	make(&img);
	/* stored as is in these three: find the bytes */
	for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
		ts_buf_clear(&out);
		EXPECT_EQ_INT(ts_encode(&img, fs[i], &o, &out, &err), TS_OK);
		EXPECT(memmem(out.data, out.len, icc, 700) != NULL);
	}
	/* deflated in PNG: ask libpng */
	ts_buf_clear(&out);
	EXPECT_EQ_INT(ts_encode(&img, TS_FORMAT_PNG, &o, &out, &err), TS_OK);
	back = icc_from_png(out.data, out.len, &blen);
	EXPECT(back && blen == 700 && memcmp(back, icc, 700) == 0);
	free(back);
	free(icc);
	ts_image_free(&img);
	ts_buf_free(&out);
}

int main(void)
{
	RUN(each_format_writes_its_own_signature);
	RUN(gif_jp2_and_pdf_are_written);
	RUN(every_iiif_format_is_supported);
	RUN(the_options_profile_reaches_every_format);
	return CHECK_DONE();
}
