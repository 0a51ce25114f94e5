/*
 * test_pdf_write.c - the one-page PDF writer read back by a small parser
 * of its own: the header, startxref pointing at "xref", every 20-byte
 * cross-reference entry pointing exactly at "N 0 obj", the image stream's
 * /Length equal to the bytes embedded (which are the input, unchanged),
 * the page at 72 dpi or at the given resolution, the 14400-point limit,
 * gray and colour colour spaces; ts_pdf_write embeds the JPEG writer's
 * output; bad arguments are 500 with the buffer left as it was.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "tessera/encoder.h"
#include "tessera/pdf.h"

static const char *find(const struct ts_buf *b, const char *s)
{
	return memmem(b->data, b->len, s, strlen(s));
}

/* Parse the xref back; returns the number of objects whose offset points
 * at "N 0 obj", -1 when the structure is wrong. */
static int check_xref(const struct ts_buf *b, size_t off[8])
{
	const char *end = (const char *)b->data + b->len, *p;
	size_t xref;
	int first, count, good = 0;

	p = memmem(b->data, b->len, "startxref\n", 10);
	if (!p || sscanf(p + 10, "%zu", &xref) != 1 || xref + 4 > b->len)
		return -1;
	if (memcmp(b->data + xref, "xref\n", 5) != 0)
		return -1;
	p = (const char *)b->data + xref + 5;
	if (sscanf(p, "%d %d", &first, &count) != 2 || first != 0 || count < 1 || count > 8)
		return -1;
	p = strchr(p, '\n') + 1;
	for (int i = 0; i < count; i++, p += 20) {
		char obj[32];
		size_t o;
		if (p + 20 > end || p[18] != '\r' || p[19] != '\n' || p[10] != ' ' || p[16] != ' ')
			return -1;
		o = strtoul(p, NULL, 10);
		if (i == 0) {
			if (memcmp(p, "0000000000 65535 f", 18) != 0)
				return -1;
			continue;
		}
		snprintf(obj, sizeof obj, "%d 0 obj\n", i);
		if (o + strlen(obj) <= b->len && memcmp(b->data + o, obj, strlen(obj)) == 0)
			good++;
		off[i] = o;
	}
	if (memcmp(p, "trailer\n", 8) != 0)
		return -1;
	return good;
}

static void the_xref_offsets_point_exactly_at_their_objects(void)
{
	static const unsigned char data[] = "\xff\xd8 not really a jpeg \xff\xd9";
	struct ts_pdf_image im = { data, sizeof data - 1, 640, 480, 3, "DCTDecode", 0 };
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err = { 0 };
	size_t off[8] = { 0 };

	ts_buf_append_str(&b, "prefix kept");   /* the PDF is appended; offsets are its own */
	EXPECT_EQ_INT(ts_pdf_write_image(&im, &b, &err), TS_OK);
	struct ts_buf pdf = { b.data + 11, b.len - 11, 0 };
	EXPECT(memcmp(pdf.data, "%PDF-1.4\n", 9) == 0);
	EXPECT_EQ_INT(check_xref(&pdf, off), 5);
	EXPECT(b.len > 6 && memcmp(b.data + b.len - 6, "%%EOF\n", 6) == 0);
	EXPECT(find(&pdf, "/MediaBox [0 0 640.0000 480.0000]") != NULL);
	EXPECT(find(&pdf, "/ColorSpace /DeviceRGB") != NULL);
	EXPECT(find(&pdf, "/Filter /DCTDecode") != NULL);
	/* the image bytes, unchanged, right after "stream\n" of object 4 */
	const char *st = memmem(pdf.data + off[4], pdf.len - off[4], "stream\n", 7);
	EXPECT(st && memcmp(st + 7, data, sizeof data - 1) == 0);
	char len[40];
	snprintf(len, sizeof len, "/Length %zu >>", sizeof data - 1);
	EXPECT(find(&pdf, len) != NULL);
	ts_buf_free(&b);
}

static void the_page_follows_the_resolution_within_the_point_limit(void)
{
	static const unsigned char data[] = "x";
	struct ts_pdf_image im = { data, 1, 300, 150, 1, "DCTDecode", 300 };
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_pdf_write_image(&im, &b, &err), TS_OK);
	EXPECT(find(&b, "/MediaBox [0 0 72.0000 36.0000]") != NULL);
	EXPECT(find(&b, "/ColorSpace /DeviceGray") != NULL);
	ts_buf_clear(&b);
	im.width = 40000;
	im.height = 20000;
	im.dpi = 0;
	EXPECT_EQ_INT(ts_pdf_write_image(&im, &b, &err), TS_OK);
	EXPECT(find(&b, "/MediaBox [0 0 14400.0000 7200.0000]") != NULL);
	ts_buf_free(&b);
}

static void the_answer_embeds_the_jpeg_writers_bytes(void)
{
	struct ts_image img;
	struct ts_buf pdf = TS_BUF_INIT, jpeg = TS_BUF_INIT;
	struct ts_error err = { 0 };
	size_t off[8] = { 0 };

	if (ts_image_alloc(&img, 64, 48, 4, &err) != TS_OK)
		abort();
	for (size_t i = 0; i < 64 * 48 * 4; i++)
		img.pixels[i] = (uint8_t)(i * 7);
	EXPECT_EQ_INT(ts_pdf_write(&img, 80, NULL, 0, &pdf, &err), TS_OK);
	EXPECT_EQ_INT(ts_jpeg_write(&img, 80, NULL, 0, &jpeg, &err), TS_OK);
	EXPECT_EQ_INT(check_xref(&pdf, off), 5);
	EXPECT(memmem(pdf.data, pdf.len, jpeg.data, jpeg.len) != NULL);
	EXPECT(find(&pdf, "/Width 64 /Height 48 /ColorSpace /DeviceRGB") != NULL);
	ts_buf_free(&pdf);
	ts_buf_free(&jpeg);
	ts_image_free(&img);
}

static void bad_arguments_are_500_and_leave_the_buffer(void)
{
	static const unsigned char data[] = "x";
	struct ts_pdf_image im = { data, 1, 10, 10, 2, "DCTDecode", 0 };
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err = { 0 };

	ts_buf_append_str(&b, "keep");
	EXPECT_EQ_INT(ts_pdf_write_image(&im, &b, &err), TS_EINTERNAL);   /* 2 components */
	im.components = 3;
	im.filter = "DCT Decode /JS";
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_pdf_write_image(&im, &b, &err), TS_EINTERNAL);   /* not a name */
	im.filter = "DCTDecode";
	im.width = 0;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_pdf_write_image(&im, &b, &err), TS_EINTERNAL);
	EXPECT_EQ_INT(b.len, 4);
	ts_buf_free(&b);
}

int main(void)
{
	RUN(the_xref_offsets_point_exactly_at_their_objects);
	RUN(the_page_follows_the_resolution_within_the_point_limit);
	RUN(the_answer_embeds_the_jpeg_writers_bytes);
	RUN(bad_arguments_are_500_and_leave_the_buffer);
	return CHECK_DONE();
}
