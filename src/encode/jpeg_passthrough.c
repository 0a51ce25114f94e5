/*
 * jpeg_passthrough.c - stored JPEG tiles to standalone JPEG files without a
 * decode (contract in include/tessera/passthrough.h).
 *
 * Splicing is byte surgery on marker segments: the tables' segments go
 * between the tile's SOI and the rest of the tile (ts_jpeg_join, shared
 * with the TIFF reader's scaled decode).  An edge tile is cut by re-packing
 * its entropy-coded bits (ts_jpeg_crop); only when that declines, or the
 * tile must be turned gray, does libjpeg-turbo's lossless transformer run,
 * which re-packs the entropy-coded data but never touches a coefficient.
 * The source file's ICC profile, which stored tiles never carry, is added
 * as APP2 segments when it fits the tile's components (jpeg_icc.c).
 */
#include <string.h>
#include <turbojpeg.h>
#include "tessera/encoder.h"
#include "tessera/icc.h"
#include "tessera/passthrough.h"

/* APP14 "Adobe" segment, version 100, flags 0, transform 0 (no colour
 * transform: the components are RGB). */
static const unsigned char adobe_rgb[] = {
	0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b', 'e', 0x00, 0x64,
	0x00, 0x00, 0x00, 0x00, 0x00
};

/* The SOF dimensions and component count of a JPEG stream, 0 when absent. */
static void sof_size(const unsigned char *p, size_t n, uint32_t *w, uint32_t *h, int *nc)
{
	size_t i = 2;

	*w = *h = 0;
	*nc = 0;
	while (i + 4 <= n && p[i] == 0xFF) {
		unsigned m = p[i + 1];
		size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
		if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
			i += 2;
			continue;
		}
		if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) {
			if (i + 10 <= n) {
				*h = (uint32_t)p[i + 5] << 8 | p[i + 6];
				*w = (uint32_t)p[i + 7] << 8 | p[i + 8];
				*nc = p[i + 9];
			}
			return;
		}
		if (m == 0xDA || len < 2)
			return;
		i += 2 + len;
	}
}

ts_status ts_jpeg_join(const unsigned char *tables, size_t tables_len,
                       const unsigned char *tile, size_t tile_len, bool rgb,
                       struct ts_buf *out, struct ts_error *err)
{
	if (tile_len < 4 || tile[0] != 0xFF || tile[1] != 0xD8)
		return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	/* SOI, [Adobe], the tables' segments (between their SOI and EOI), the
	 * tile's segments after its SOI. */
	if (!ts_buf_append(out, tile, 2) ||
	    (rgb && !ts_buf_append(out, adobe_rgb, sizeof adobe_rgb)) ||
	    (tables_len >= 4 && !ts_buf_append(out, tables + 2, tables_len - 4)) ||
	    !ts_buf_append(out, tile + 2, tile_len - 2))
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	return TS_OK;
}

ts_status ts_jpeg_passthrough(const unsigned char *tables, size_t tables_len,
                              const unsigned char *tile, size_t tile_len, bool rgb,
                              uint32_t crop_w, uint32_t crop_h, bool gray,
                              const unsigned char *icc, size_t icc_len,
                              struct ts_buf *out, struct ts_error *err)
{
	struct ts_buf joined = TS_BUF_INIT;
	unsigned char *dst = NULL;
	unsigned long dst_len = 0;
	tjhandle tj = NULL;
	tjtransform xf;
	uint32_t w, h;
	int nc;
	ts_status st = TS_OK;

	if (tile_len < 4 || tile[0] != 0xFF || tile[1] != 0xD8)
		return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	if (gray && rgb)
		return ts_error_set(err, TS_ENOTIMPL, "gray pass-through needs YCbCr tiles");
	st = ts_jpeg_join(tables, tables_len, tile, tile_len, rgb, &joined, err);
	if (st)
		goto fail;
	sof_size(joined.data, joined.len, &w, &h, &nc);
	if (w == 0 || h == 0 || crop_w > w || crop_h > h) {
		st = ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		ts_error_detail(err, "tile SOF %ux%u, wanted %ux%u", w, h, crop_w, crop_h);
		goto fail;
	}
	/* The profile goes out only when it describes the output: RGB for
	 * three components, gray for one (a gray answer from colour tiles is
	 * one component, so an RGB profile stays behind). */
	if (!ts_icc_fits(icc, icc_len, gray ? 1 : nc))
		icc_len = 0;
	if (crop_w == w && crop_h == h && !gray) {
		st = ts_jpeg_icc_append(joined.data, joined.len, icc, icc_len, out, err);
		goto fail;   /* done either way */
	}
	if (!gray) {
		/* The fast crop first; whatever it declines (progressive, restart
		 * intervals, an uncodable DC difference, doubtful data) goes to
		 * the transformer, which has the final word on the tile. */
		struct ts_buf cut = TS_BUF_INIT;
		struct ts_error cut_err = { 0 };

		if (ts_jpeg_crop(joined.data, joined.len, crop_w, crop_h, &cut, &cut_err) == TS_OK) {
			st = ts_jpeg_icc_append(cut.data, cut.len, icc, icc_len, out, err);
			ts_buf_free(&cut);
			goto fail;   /* done either way */
		}
		ts_buf_free(&cut);
	}
	tj = tjInitTransform();
	if (!tj) {
		st = ts_error_set(err, TS_EINTERNAL, "cannot start the JPEG transformer");
		goto fail;
	}
	memset(&xf, 0, sizeof xf);
	xf.op = TJXOP_NONE;
	xf.options = (crop_w != w || crop_h != h ? TJXOPT_CROP : 0) | (gray ? TJXOPT_GRAY : 0);
	xf.r.x = 0;
	xf.r.y = 0;
	xf.r.w = (int)crop_w;
	xf.r.h = (int)crop_h;
	if (tjTransform(tj, joined.data, joined.len, 1, &dst, &dst_len, &xf, 0) != 0) {
		st = ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		ts_error_detail(err, "tjTransform: %s", tjGetErrorStr2(tj));
		goto fail;
	}
	st = ts_jpeg_icc_append(dst, dst_len, icc, icc_len, out, err);
fail:
	if (dst)
		tjFree(dst);
	if (tj)
		tjDestroy(tj);
	ts_buf_free(&joined);
	return st;
}
