/*
 * pdf.h - a one-page PDF 1.4 around one image (src/encode/pdf_write.c).
 *
 * The image's bytes go into the file as they are, under the filter the
 * caller names (DCTDecode for a JPEG: the PDF reader decodes it, nothing is
 * re-encoded), and the page is the image's size at its resolution.  The
 * writer produces exactly: header, catalog (1), pages (2), page (3), image
 * XObject (4), content stream (5), a cross-reference table of 20-byte
 * entries with exact byte offsets (ISO 32000-1 §7.5.4) and the trailer.
 */
#ifndef TESSERA_PDF_H
#define TESSERA_PDF_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"
#include "status.h"

struct ts_pdf_image {
	const unsigned char *data;   /* borrowed: the encoded image */
	size_t len;
	uint32_t width, height;      /* pixels */
	int components;              /* 1 DeviceGray, 3 DeviceRGB */
	const char *filter;          /* "DCTDecode", "FlateDecode"... */
	double dpi;                  /* page size = pixels * 72 / dpi; 0 = 72 */
};

/* The largest page side in points (ISO 32000-1 Annex C.2: 14400, the
 * implementation limit readers honour); a larger image is put on the page
 * at a higher resolution so that its longer side is exactly this. */
#define TS_PDF_MAX_POINTS 14400.0

/* Append the PDF to out.  500 on out of memory or a bad argument (out is
 * then as it was).  Borrows im. */
ts_status ts_pdf_write_image(const struct ts_pdf_image *im, struct ts_buf *out,
                             struct ts_error *err);

#endif
