/*
 * test_jpeg_stream.c - a JPEG written row by row: the file decodes as
 * close to the picture as ts_jpeg_write's JPEG of it (same tables, same
 * subsampling), whatever the row batches; gray stays gray; alpha goes over white; a
 * picture ended early, or wider than JPEG holds, is refused.
 */
#include <stdlib.h>
#include <unistd.h>
#include <turbojpeg.h>
#include "check.h"
#include "tessera/buf.h"
#include "tessera/encoder.h"

static char path[256];

static unsigned char *slurp(const char *p, size_t *n)
{
	FILE *fp = fopen(p, "rb");
	unsigned char *d;
	long len;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	d = malloc((size_t)len + 1);
	if (fread(d, 1, (size_t)len, fp) != (size_t)len)
		len = 0;
	fclose(fp);
	*n = (size_t)len;
	return d;
}

/* Decode jpeg to pf pixels of w x h; NULL on failure. */
static unsigned char *decode(const unsigned char *jpeg, size_t n, int *w, int *h, int ch)
{
	tjhandle tj = tjInitDecompress();
	int sub, cs;
	unsigned char *px = NULL;

	if (tjDecompressHeader3(tj, jpeg, (unsigned long)n, w, h, &sub, &cs) == 0) {
		px = malloc((size_t)*w * *h * ch);
		if (tjDecompress2(tj, jpeg, (unsigned long)n, px, *w, 0, *h,
		                  ch == 1 ? TJPF_GRAY : TJPF_RGB, 0) != 0) {
			free(px);
			px = NULL;
		}
	}
	tjDestroy(tj);
	return px;
}

static void fill(struct ts_image *img)
{
	for (uint32_t y = 0; y < img->height; y++)
		for (uint32_t x = 0; x < img->width; x++)
			for (int c = 0; c < img->channels; c++)
				img->pixels[y * img->stride + x * img->channels + c] =
					c == 3 ? (uint8_t)(x % 2 ? 255 : 128)
					       : (uint8_t)((x * 3 + y * 5 + (uint32_t)c * 60) & 0xFF);
}

/* Stream img in batches of `batch` rows, then compare with ts_jpeg_write. */
static void stream_matches_jpeg_write(int channels, uint32_t batch, int quality)
{
	struct ts_image img;
	struct ts_error e;
	struct ts_jpeg_stream *s = NULL;
	struct ts_buf ref = TS_BUF_INIT;
	unsigned char *data, *a, *b;
	size_t n = 0;
	int w1, h1, w2, h2, oc = channels >= 3 ? 3 : 1;
	double diff = 0;

	ts_error_clear(&e);
	ts_image_alloc(&img, 150, 77, channels, &e);
	fill(&img);
	EXPECT_EQ_INT(ts_jpeg_stream_begin(path, img.width, img.height, channels, quality, &s, &e),
	              TS_OK);
	for (uint32_t y = 0; s && y < img.height; y += batch) {
		uint32_t k = img.height - y < batch ? img.height - y : batch;
		EXPECT_EQ_INT(ts_jpeg_stream_rows(s, img.pixels + y * img.stride, img.stride, k, &e),
		              TS_OK);
	}
	EXPECT_EQ_INT(ts_jpeg_stream_finish(s, &e), TS_OK);
	ts_jpeg_stream_free(s);
	EXPECT_EQ_INT(ts_jpeg_write(&img, quality, NULL, 0, &ref, &e), TS_OK);
	data = slurp(path, &n);
	a = decode(data, n, &w1, &h1, oc);
	b = decode(ref.data, ref.len, &w2, &h2, oc);
	EXPECT(a && b);
	if (a && b) {
		double ea = 0, eb = 0;
		EXPECT_EQ_INT(w1, 150);
		EXPECT_EQ_INT(h1, 77);
		/* both against the picture (alpha over white) */
		for (uint32_t y = 0; y < img.height; y++)
			for (uint32_t x = 0; x < img.width; x++)
				for (int c = 0; c < oc; c++) {
					const uint8_t *p = img.pixels + y * img.stride + x * channels;
					int v = p[c];
					size_t i = ((size_t)y * img.width + x) * oc + c;
					if (channels == 2 || channels == 4)
						v = (v * p[channels - 1] + 255 * (255 - p[channels - 1]) + 127) / 255;
					ea += abs(a[i] - v);
					eb += abs(b[i] - v);
					diff += abs(a[i] - b[i]);
				}
		ea /= (double)w1 * h1 * oc;
		eb /= (double)w1 * h1 * oc;
		diff /= (double)w1 * h1 * oc;
		/* the same tables and subsampling as ts_jpeg_write: as close to
		 * the picture as its JPEG, give or take the encoders' rounding */
		EXPECT(ea <= eb * 1.2 + 0.5);
		EXPECT(diff < 2.0);
		if (ea > eb * 1.2 + 0.5 || diff >= 2.0)
			printf("    %d channels, batches of %u: error %.2f against %.2f, difference %.2f\n",
			       channels, batch, ea, eb, diff);
	}
	free(a);
	free(b);
	free(data);
	ts_buf_free(&ref);
	ts_image_free(&img);
	unlink(path);
}

static void rgb_in_single_rows_is_ts_jpeg_writes_picture(void)
{
	stream_matches_jpeg_write(3, 1, 85);
}

static void rgb_444_in_uneven_batches(void)
{
	stream_matches_jpeg_write(3, 13, 92);
}

static void gray_stays_gray(void)
{
	stream_matches_jpeg_write(1, 7, 85);
}

static void alpha_goes_over_white_as_ts_jpeg_write_does(void)
{
	stream_matches_jpeg_write(4, 5, 85);
	stream_matches_jpeg_write(2, 50, 85);
}

static void a_picture_ended_early_is_refused(void)
{
	struct ts_error e;
	struct ts_jpeg_stream *s = NULL;
	uint8_t row[30];

	memset(row, 100, sizeof row);
	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_jpeg_stream_begin(path, 10, 5, 3, 85, &s, &e), TS_OK);
	EXPECT_EQ_INT(ts_jpeg_stream_rows(s, row, 0, 2, &e), TS_OK);
	EXPECT_EQ_INT(ts_jpeg_stream_finish(s, &e), TS_EINTERNAL);
	ts_jpeg_stream_free(s);
	unlink(path);
}

static void wider_than_jpeg_holds_is_400(void)
{
	struct ts_error e;
	struct ts_jpeg_stream *s = NULL;

	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_jpeg_stream_begin(path, 65536, 5, 3, 85, &s, &e), TS_EBADREQUEST);
	EXPECT(s == NULL);
	EXPECT(access(path, F_OK) != 0);
}

static void an_unwritable_path_is_500(void)
{
	struct ts_error e;
	struct ts_jpeg_stream *s = NULL;

	ts_error_clear(&e);
	EXPECT_EQ_INT(ts_jpeg_stream_begin("/nonexistent-dir/x.jpg", 5, 5, 3, 85, &s, &e),
	              TS_EINTERNAL);
	EXPECT(s == NULL);
}

int main(void)
{
	snprintf(path, sizeof path, "/tmp/ts-jpeg-stream-%d.jpg", (int)getpid());
	RUN(rgb_in_single_rows_is_ts_jpeg_writes_picture);
	RUN(rgb_444_in_uneven_batches);
	RUN(gray_stays_gray);
	RUN(alpha_goes_over_white_as_ts_jpeg_write_does);
	RUN(a_picture_ended_early_is_refused);
	RUN(wider_than_jpeg_holds_is_400);
	RUN(an_unwritable_path_is_500);
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
