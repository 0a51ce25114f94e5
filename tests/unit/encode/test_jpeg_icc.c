/*
 * test_jpeg_icc.c - ICC profiles spliced into finished JPEG streams: read
 * back byte for byte by libjpeg's own reassembly, split over as many APP2
 * segments as 65519 bytes each need, placed after the JFIF APP0, and the
 * picture itself unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <turbojpeg.h>
#include "check.h"
#include "icc_fixture.h"
#include "tessera/encoder.h"

/* A 40x24 JPEG with a JFIF APP0 (TurboJPEG writes one). */
static unsigned char *make_jpeg(unsigned long *len)
{
	unsigned char px[40 * 24 * 3], *jpg = NULL;
	tjhandle tj = tjInitCompress();

	for (int i = 0; i < (int)sizeof px; i++)
		px[i] = (unsigned char)(i * 7);
	*len = 0;
	if (tjCompress2(tj, px, 40, 0, 24, TJPF_RGB, &jpg, len, TJSAMP_420, 80, 0) != 0)
		abort();
	tjDestroy(tj);
	return jpg;
}

static unsigned char *decode(const unsigned char *p, size_t n)
{
	tjhandle tj = tjInitDecompress();
	unsigned char *px = malloc(40 * 24 * 3);

	if (tjDecompress2(tj, p, n, px, 40, 0, 24, TJPF_RGB, 0) != 0) {
		free(px);
		px = NULL;
	}
	tjDestroy(tj);
	return px;
}

/* Count the APP2 ICC_PROFILE segments before the SOS. */
static int icc_segments(const unsigned char *p, size_t n)
{
	size_t i = 2;
	int k = 0;

	while (i + 4 <= n && p[i] == 0xFF && p[i + 1] != 0xDA) {
		size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
		if (p[i + 1] == 0xE2 && len >= 16 && memcmp(p + i + 4, "ICC_PROFILE", 12) == 0)
			k++;
		i += 2 + len;
	}
	return k;
}

static void roundtrip(size_t size, int want_segments)
{
	unsigned long len;
	unsigned char *jpg = make_jpeg(&len), *icc = icc_make(size, "RGB ", (unsigned)size);
	unsigned char *back, *a, *b;
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };
	size_t blen;

	ts_buf_append_str(&out, "xy");
	EXPECT_EQ_INT(ts_jpeg_icc_append(jpg, len, icc, size, &out, &err), TS_OK);
	EXPECT(memcmp(out.data, "xy\xFF\xD8\xFF\xE0", 6) == 0);   /* SOI, then APP0 first */
	EXPECT_EQ_INT(icc_segments(out.data + 2, out.len - 2), want_segments);
	back = icc_from_jpeg(out.data + 2, out.len - 2, &blen);
	EXPECT_EQ_INT(blen, size);
	EXPECT(back && memcmp(back, icc, size) == 0);
	a = decode(jpg, len);
	b = decode(out.data + 2, out.len - 2);
	EXPECT(a && b && memcmp(a, b, 40 * 24 * 3) == 0);
	free(a);
	free(b);
	free(back);
	free(icc);
	tjFree(jpg);
	ts_buf_free(&out);
}

static void a_small_profile_takes_one_segment_and_reads_back_exactly(void)
{
	roundtrip(560, 1);
}

static void a_profile_of_exactly_one_segment_does_not_spill(void)
{
	roundtrip(65516, 1);   /* multiple of 4, under 65519 */
}

static void a_profile_one_byte_over_a_segment_takes_two(void)
{
	roundtrip(65520, 2);
}

static void a_large_profile_is_split_over_numbered_segments(void)
{
	roundtrip(200000, 4);   /* 3 * 65519 = 196557 < 200000 */
}

static void no_profile_leaves_the_stream_byte_for_byte(void)
{
	unsigned long len;
	unsigned char *jpg = make_jpeg(&len);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_jpeg_icc_append(jpg, len, NULL, 0, &out, &err), TS_OK);
	EXPECT_EQ_INT(out.len, len);
	EXPECT(memcmp(out.data, jpg, len) == 0);
	tjFree(jpg);
	ts_buf_free(&out);
}

static void a_stream_without_soi_is_refused_and_out_kept(void)
{
	static const unsigned char junk[] = "not a jpeg at all";
	unsigned char *icc = icc_make(200, "RGB ", 1);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };

	ts_buf_append_str(&out, "keep");
	EXPECT_EQ_INT(ts_jpeg_icc_append(junk, sizeof junk, icc, 200, &out, &err), TS_EINTERNAL);
	EXPECT_EQ_INT(out.len, 4);
	free(icc);
	ts_buf_free(&out);
}

static void an_app0_running_past_the_end_is_refused(void)
{
	static const unsigned char bad[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 'J', 'F' };
	unsigned char *icc = icc_make(200, "RGB ", 1);
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_jpeg_icc_append(bad, sizeof bad, icc, 200, &out, &err), TS_EINTERNAL);
	EXPECT_EQ_INT(out.len, 0);
	free(icc);
	ts_buf_free(&out);
}

int main(void)
{
	RUN(a_small_profile_takes_one_segment_and_reads_back_exactly);
	RUN(a_profile_of_exactly_one_segment_does_not_spill);
	RUN(a_profile_one_byte_over_a_segment_takes_two);
	RUN(a_large_profile_is_split_over_numbered_segments);
	RUN(no_profile_leaves_the_stream_byte_for_byte);
	RUN(a_stream_without_soi_is_refused_and_out_kept);
	RUN(an_app0_running_past_the_end_is_refused);
	return CHECK_DONE();
}
