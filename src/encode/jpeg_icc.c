/*
 * jpeg_icc.c - an ICC profile put into a finished JPEG stream as APP2
 * "ICC_PROFILE" segments (contract in include/tessera/encoder.h).
 *
 * Both JPEG paths need it: the encoder (TurboJPEG's tjCompress2 has no way
 * to write a profile) and pass-through (stored TIFF tiles never carry the
 * TIFF's profile).  The one idea: a profile is only marker segments, so it
 * can be spliced into the byte stream after the SOI and the JFIF APP0 -
 * where ICC.1:2010 Annex B.4 and decoders expect it - without touching the
 * compressed data, which keeps pass-through byte-for-byte otherwise and
 * costs the encoder one copy of its output.
 */
#include <string.h>
#include "tessera/encoder.h"

/* Segment length field (2) + "ICC_PROFILE\0" (12) + sequence and count (2)
 * leave 65535 - 16 bytes of profile per segment; the count is one byte. */
#define ICC_CHUNK 65519u
#define ICC_MAX_SEGMENTS 255u

ts_status ts_jpeg_icc_append(const unsigned char *jpeg, size_t len, const unsigned char *icc,
                             size_t icc_len, struct ts_buf *out, struct ts_error *err)
{
	static const char tag[12] = "ICC_PROFILE";   /* with its NUL */
	size_t start = out->len, at = 2, nseg, i;

	if (len < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
		return ts_error_set(err, TS_EINTERNAL, "corrupt JPEG");
	if (!icc || icc_len == 0) {
		if (!ts_buf_append(out, jpeg, len))
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		return TS_OK;
	}
	nseg = (icc_len + ICC_CHUNK - 1) / ICC_CHUNK;
	if (nseg > ICC_MAX_SEGMENTS)
		return ts_error_set(err, TS_EINTERNAL, "ICC profile too large for JPEG");
	/* JFIF 1.02: the JFIF APP0 must follow the SOI directly, so any
	 * APP0 segments (JFIF, then JFXX) stay first. */
	while (at + 4 <= len && jpeg[at] == 0xFF && jpeg[at + 1] == 0xE0) {
		size_t seg = (size_t)jpeg[at + 2] << 8 | jpeg[at + 3];
		if (seg < 2 || seg > len - at - 2)
			return ts_error_set(err, TS_EINTERNAL, "corrupt JPEG");
		at += 2 + seg;
	}
	if (!ts_buf_reserve(out, len + icc_len + nseg * 18) || !ts_buf_append(out, jpeg, at))
		goto fail;
	for (i = 0; i < nseg; i++) {
		size_t off = i * ICC_CHUNK;
		size_t n = icc_len - off < ICC_CHUNK ? icc_len - off : ICC_CHUNK;
		size_t seglen = n + 16;
		unsigned char head[18] = { 0xFF, 0xE2, (unsigned char)(seglen >> 8),
		                           (unsigned char)seglen };

		memcpy(head + 4, tag, sizeof tag);
		head[16] = (unsigned char)(i + 1);
		head[17] = (unsigned char)nseg;
		if (!ts_buf_append(out, head, sizeof head) || !ts_buf_append(out, icc + off, n))
			goto fail;
	}
	if (!ts_buf_append(out, jpeg + at, len - at))
		goto fail;
	return TS_OK;
fail:
	out->len = start;
	return ts_error_set(err, TS_EINTERNAL, "out of memory");
}
