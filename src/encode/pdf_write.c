/*
 * pdf_write.c - a one-page PDF 1.4 file around one encoded image, and the
 * .pdf answer of the Image API (the JPEG of the answer, embedded as it is).
 *
 * The one idea: a PDF is a list of numbered objects and a table of their
 * byte offsets, so the writer appends each object to the buffer, notes
 * where it began, and ends with the cross-reference table (ISO 32000-1
 * §7.5.4: one 20-byte entry per object, "nnnnnnnnnn ggggg n\r\n"), the
 * trailer and startxref.  The image is an XObject whose stream holds the
 * encoder's bytes under their filter (§8.9.5; DCTDecode for JPEG, §7.4.8),
 * painted by a content stream that scales the unit square to the page
 * (§8.3.4: "w 0 0 h 0 0 cm /Im0 Do").  The page (MediaBox, §7.7.3.3) is the
 * image at 72 dpi unless a resolution is given, kept within the 14400-point
 * limit readers honour.  No compression of our own, no fonts, no metadata:
 * nothing a reader could disagree about.
 */
#include <stdio.h>
#include <string.h>
#include "tessera/encoder.h"
#include "tessera/pdf.h"

#define NOBJ 5

/* Page size in points: the image at its resolution, its longer side kept
 * within TS_PDF_MAX_POINTS. */
static void page_size(const struct ts_pdf_image *im, double *w, double *h)
{
	double dpi = im->dpi > 0 ? im->dpi : 72.0;
	double pw = im->width * 72.0 / dpi, ph = im->height * 72.0 / dpi;
	double longest = pw > ph ? pw : ph;

	if (longest > TS_PDF_MAX_POINTS) {
		pw = pw * TS_PDF_MAX_POINTS / longest;
		ph = ph * TS_PDF_MAX_POINTS / longest;
	}
	*w = pw;
	*h = ph;
}

/* A filter name is written after '/': only letters and digits. */
static bool name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

ts_status ts_pdf_write_image(const struct ts_pdf_image *im, struct ts_buf *out,
                             struct ts_error *err)
{
	size_t off[NOBJ + 1], start, xref;
	char content[160];
	double pw, ph;
	int clen;
	bool ok;

	if (!im || !out || !im->data || im->len == 0 || im->width == 0 || im->height == 0 ||
	    (im->components != 1 && im->components != 3) || !name_ok(im->filter))
		return ts_error_set(err, TS_EINTERNAL, "invalid image for PDF");
	start = out->len;
	page_size(im, &pw, &ph);
	clen = snprintf(content, sizeof content, "q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q\n", pw, ph);
	if (clen < 0 || (size_t)clen >= sizeof content)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for PDF");

	/* §7.5.2: the header, then a comment of four bytes above 127 so that
	 * transfer programs treat the file as binary. */
	ok = ts_buf_append_str(out, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
	off[1] = out->len - start;
	ok = ok && ts_buf_append_str(out, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	off[2] = out->len - start;
	ok = ok && ts_buf_append_str(out,
		"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
	off[3] = out->len - start;
	ok = ok && ts_buf_printf(out,
		"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] "
		"/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>\nendobj\n",
		pw, ph);
	off[4] = out->len - start;
	ok = ok && ts_buf_printf(out,
		"4 0 obj\n<< /Type /XObject /Subtype /Image /Width %u /Height %u "
		"/ColorSpace /%s /BitsPerComponent 8 /Filter /%s /Length %zu >>\nstream\n",
		im->width, im->height, im->components == 1 ? "DeviceGray" : "DeviceRGB",
		im->filter, im->len);
	ok = ok && ts_buf_append(out, im->data, im->len);
	ok = ok && ts_buf_append_str(out, "\nendstream\nendobj\n");
	off[5] = out->len - start;
	ok = ok && ts_buf_printf(out, "5 0 obj\n<< /Length %d >>\nstream\n%sendstream\nendobj\n",
	                         clen, content);
	xref = out->len - start;
	ok = ok && ts_buf_printf(out, "xref\n0 %d\n0000000000 65535 f\r\n", NOBJ + 1);
	for (int i = 1; i <= NOBJ; i++)
		ok = ok && ts_buf_printf(out, "%010zu 00000 n\r\n", off[i]);
	ok = ok && ts_buf_printf(out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
	                         NOBJ + 1, xref);
	if (!ok) {
		out->len = start;
		return ts_error_set(err, TS_EINTERNAL, "out of memory writing a PDF");
	}
	return TS_OK;
}

ts_status ts_pdf_write(const struct ts_image *img, int quality, const unsigned char *icc,
                       size_t icc_len, struct ts_buf *out, struct ts_error *err)
{
	struct ts_buf jpeg = TS_BUF_INIT;
	struct ts_pdf_image im;
	ts_status st;

	/* The JPEG writer flattens alpha over white and keeps gray as gray:
	 * its component count is 1 for 1-2 channels, 3 for 3-4.  No profile
	 * in the JPEG: a PDF reader takes the colour space from the XObject
	 * (DeviceRGB/DeviceGray), not from APP2 segments. */
	(void)icc;
	(void)icc_len;
	st = ts_jpeg_write(img, quality, NULL, 0, &jpeg, err);
	if (st == TS_OK) {
		memset(&im, 0, sizeof im);
		im.data = jpeg.data;
		im.len = jpeg.len;
		im.width = img->width;
		im.height = img->height;
		im.components = img->channels >= 3 ? 3 : 1;
		im.filter = "DCTDecode";
		st = ts_pdf_write_image(&im, out, err);
	}
	ts_buf_free(&jpeg);
	return st;
}
