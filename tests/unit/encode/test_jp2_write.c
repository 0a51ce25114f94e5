/*
 * test_jp2_write.c - JPEG 2000 output read back with OpenJPEG from memory:
 * the JP2 signature, size and component count for gray, gray+alpha, RGB
 * and RGBA; quality 100 is lossless (every sample exact); lower qualities
 * are close (mean error small) and smaller; a 1x1 picture works.
 */
#include <stdlib.h>
#include <string.h>
#include <openjpeg.h>
#include "check.h"
#include "tessera/encoder.h"

struct rd { const unsigned char *p; size_t len, pos; };

static OPJ_SIZE_T rd_read(void *buf, OPJ_SIZE_T n, void *u)
{
	struct rd *r = u;
	if (r->pos >= r->len)
		return (OPJ_SIZE_T)-1;
	if (n > r->len - r->pos)
		n = r->len - r->pos;
	memcpy(buf, r->p + r->pos, n);
	r->pos += n;
	return n;
}
static OPJ_OFF_T rd_skip(OPJ_OFF_T n, void *u) { struct rd *r = u; r->pos += (size_t)n; return n; }
static OPJ_BOOL rd_seek(OPJ_OFF_T n, void *u) { struct rd *r = u; r->pos = (size_t)n; return OPJ_TRUE; }

static opj_image_t *decode(const struct ts_buf *b)
{
	struct rd r = { b->data, b->len, 0 };
	opj_dparameters_t dp;
	opj_codec_t *c = opj_create_decompress(OPJ_CODEC_JP2);
	opj_stream_t *s = opj_stream_create(1 << 16, OPJ_TRUE);
	opj_image_t *im = NULL;

	opj_set_default_decoder_parameters(&dp);
	opj_setup_decoder(c, &dp);
	opj_stream_set_user_data(s, &r, NULL);
	opj_stream_set_user_data_length(s, b->len);
	opj_stream_set_read_function(s, rd_read);
	opj_stream_set_skip_function(s, rd_skip);
	opj_stream_set_seek_function(s, rd_seek);
	if (!opj_read_header(s, c, &im) || !opj_decode(c, s, im) || !opj_end_decompress(c, s)) {
		opj_image_destroy(im);
		im = NULL;
	}
	opj_stream_destroy(s);
	opj_destroy_codec(c);
	return im;
}

static void make(struct ts_image *img, uint32_t w, uint32_t h, int nc)
{
	struct ts_error err = { 0 };
	if (ts_image_alloc(img, w, h, nc, &err) != TS_OK)
		abort();
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (int c = 0; c < nc; c++)
				img->pixels[y * img->stride + x * nc + c] =
					(uint8_t)((x * 3 + y * 2 + c * 50) & 0xff);
}

/* Mean absolute difference, or -1 when the geometry differs. */
static double compare(const struct ts_image *img, const opj_image_t *im)
{
	double sum = 0;
	if (!im || (int)im->numcomps != img->channels || im->comps[0].w != img->width ||
	    im->comps[0].h != img->height)
		return -1;
	for (uint32_t y = 0; y < img->height; y++)
		for (uint32_t x = 0; x < img->width; x++)
			for (int c = 0; c < img->channels; c++)
				sum += abs(im->comps[c].data[y * img->width + x] -
				           img->pixels[y * img->stride + x * img->channels + c]);
	return sum / ((double)img->width * img->height * img->channels);
}

static void quality_100_is_lossless_for_every_channel_count(void)
{
	for (int nc = 1; nc <= 4; nc++) {
		struct ts_image img;
		struct ts_buf b = TS_BUF_INIT;
		struct ts_error err = { 0 };

		make(&img, 70, 45, nc);
		EXPECT_EQ_INT(ts_jp2_write(&img, 100, NULL, 0, &b, &err), TS_OK);
		EXPECT(b.len > 12 && memcmp(b.data + 4, "jP  ", 4) == 0);
		opj_image_t *im = decode(&b);
		EXPECT(compare(&img, im) == 0.0);
		if (im && (nc == 2 || nc == 4))
			EXPECT_EQ_INT(im->comps[nc - 1].alpha, 1);
		opj_image_destroy(im);
		ts_buf_free(&b);
		ts_image_free(&img);
	}
}

static void lower_quality_is_close_and_smaller(void)
{
	struct ts_image img;
	struct ts_buf lossless = TS_BUF_INIT, lossy = TS_BUF_INIT;
	struct ts_error err = { 0 };

	make(&img, 300, 200, 3);
	EXPECT_EQ_INT(ts_jp2_write(&img, 100, NULL, 0, &lossless, &err), TS_OK);
	EXPECT_EQ_INT(ts_jp2_write(&img, 50, NULL, 0, &lossy, &err), TS_OK);
	opj_image_t *im = decode(&lossy);
	double d = compare(&img, im);
	EXPECT(d >= 0 && d < 4.0);
	EXPECT(lossy.len < lossless.len);
	opj_image_destroy(im);
	ts_buf_free(&lossless);
	ts_buf_free(&lossy);
	ts_image_free(&img);
}

static void a_single_pixel_works(void)
{
	struct ts_image img;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err = { 0 };

	make(&img, 1, 1, 3);
	EXPECT_EQ_INT(ts_jp2_write(&img, 75, NULL, 0, &b, &err), TS_OK);
	opj_image_t *im = decode(&b);
	EXPECT(compare(&img, im) >= 0);
	opj_image_destroy(im);
	ts_buf_free(&b);
	ts_image_free(&img);
}

int main(void)
{
	RUN(quality_100_is_lossless_for_every_channel_count);
	RUN(lower_quality_is_close_and_smaller);
	RUN(a_single_pixel_works);
	return CHECK_DONE();
}
