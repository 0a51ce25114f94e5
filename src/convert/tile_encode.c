/*
 * tile_encode.c - one TIFF tile compressed the way libtiff's codecs read
 * it back (tile_encode.h).
 *
 * JPEG follows TIFF Technical Note 2: the tables (DQT, DHT) live once in
 * the JPEGTables tag, and every tile is an abbreviated stream (SOI, SOF,
 * SOS, data, EOI) made with the same settings, so the same tables apply;
 * colour tiles are YCbCr with 2x2 (4:2:0) or 1x1 (4:4:4) chroma sampling,
 * which is what Tessera's pass-through of stored tiles expects.  Deflate
 * is a zlib stream (Compression 8), ZSTD one frame (50000), WebP one RIFF
 * file (50001), as libtiff 4.5 writes them.  Each encoder keeps its
 * library state and output buffer between tiles, so a thread allocates
 * nothing per tile.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <tiffio.h>
#include <webp/encode.h>
#include <zlib.h>
#include <zstd.h>

#include "tessera/checked.h"
#include "tile_encode.h"

struct jpeg_state {
	struct jpeg_compress_struct c;        /* first: the callbacks cast */
	struct jpeg_error_mgr jerr;
	struct jpeg_destination_mgr dest;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	struct ts_tile_encoder *owner;
};

struct ts_tile_encoder {
	enum ts_convert_compression comp;
	int quality, channels;
	bool chroma_444;
	uint32_t tile_w, tile_h;
	unsigned char *buf;                   /* the output */
	size_t cap, len;
	struct jpeg_state *j;
	ZSTD_CCtx *zstd;
	uint8_t *webp;                        /* WebPEncode's last output */
};

/* ---- JPEG --------------------------------------------------------------- */

static void j_error_exit(j_common_ptr c)
{
	struct jpeg_state *j = (struct jpeg_state *)c;

	(*c->err->format_message)(c, j->msg);
	longjmp(j->jump, 1);
}

static void j_silent(j_common_ptr c, int level)
{
	(void)c;
	(void)level;
}

static bool grow(struct ts_tile_encoder *e, size_t need)
{
	unsigned char *p;
	size_t cap = e->cap ? e->cap : 65536;

	while (cap < need)
		cap *= 2;
	if (cap == e->cap)
		return true;
	p = realloc(e->buf, cap);
	if (!p)
		return false;
	e->buf = p;
	e->cap = cap;
	return true;
}

static void d_init(j_compress_ptr c)
{
	struct jpeg_state *j = (struct jpeg_state *)c;

	j->owner->len = 0;
	j->dest.next_output_byte = j->owner->buf;
	j->dest.free_in_buffer = j->owner->cap;
}

static boolean d_empty(j_compress_ptr c)
{
	struct jpeg_state *j = (struct jpeg_state *)c;
	struct ts_tile_encoder *e = j->owner;
	size_t used = e->cap;   /* libjpeg empties only a full buffer */

	if (!grow(e, e->cap * 2))
		ERREXIT(c, JERR_OUT_OF_MEMORY);
	j->dest.next_output_byte = e->buf + used;
	j->dest.free_in_buffer = e->cap - used;
	return TRUE;
}

static void d_term(j_compress_ptr c)
{
	struct jpeg_state *j = (struct jpeg_state *)c;

	j->owner->len = j->owner->cap - j->dest.free_in_buffer;
}

/* Set the compression parameters every tile and the tables share. */
static void jpeg_setup(struct jpeg_state *j, int quality, bool chroma_444, int channels,
                       uint32_t w, uint32_t h)
{
	j_compress_ptr c = &j->c;
	int i;

	c->image_width = w;
	c->image_height = h;
	c->input_components = channels;
	c->in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(c);
	jpeg_set_quality(c, quality, TRUE);
	c->write_JFIF_header = FALSE;
	c->write_Adobe_marker = FALSE;
	c->optimize_coding = FALSE;   /* shared Huffman tables in JPEGTables */
	c->dct_method = JDCT_ISLOW;
	if (channels == 3)
		for (i = 0; i < c->num_components; i++) {
			c->comp_info[i].h_samp_factor = (i == 0 && !chroma_444) ? 2 : 1;
			c->comp_info[i].v_samp_factor = (i == 0 && !chroma_444) ? 2 : 1;
		}
}

static ts_status jpeg_state_new(struct ts_tile_encoder *e, struct ts_error *err)
{
	struct jpeg_state *j = calloc(1, sizeof *j);

	if (!j)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	j->owner = e;
	j->c.err = jpeg_std_error(&j->jerr);
	j->jerr.error_exit = j_error_exit;
	j->jerr.emit_message = j_silent;
	if (setjmp(j->jump)) {
		jpeg_destroy_compress(&j->c);
		free(j);
		return ts_error_set(err, TS_EINTERNAL, "cannot set up the JPEG encoder");
	}
	jpeg_create_compress(&j->c);
	j->dest.init_destination = d_init;
	j->dest.empty_output_buffer = d_empty;
	j->dest.term_destination = d_term;
	j->c.dest = &j->dest;
	jpeg_setup(j, e->quality, e->chroma_444, e->channels, e->tile_w, e->tile_h);
	e->j = j;
	return TS_OK;
}

static ts_status jpeg_tile(struct ts_tile_encoder *e, const uint8_t *pix, struct ts_error *err)
{
	struct jpeg_state *j = e->j;
	JSAMPROW rows[64];
	size_t stride = (size_t)e->tile_w * (size_t)e->channels;
	volatile uint32_t y = 0;
	uint32_t i, n;

	if (setjmp(j->jump)) {
		jpeg_abort_compress(&j->c);
		ts_error_set(err, TS_EINTERNAL, "cannot encode a JPEG tile");
		ts_error_detail(err, "libjpeg: %s", j->msg);
		return TS_EINTERNAL;
	}
	/* Tables suppressed: they are in JPEGTables (TIFF TN 2). */
	jpeg_suppress_tables(&j->c, TRUE);
	jpeg_start_compress(&j->c, FALSE);
	while (y < e->tile_h) {
		n = e->tile_h - y < 64 ? e->tile_h - y : 64;
		for (i = 0; i < n; i++)
			rows[i] = (JSAMPROW)(pix + (size_t)(y + i) * stride);
		y += jpeg_write_scanlines(&j->c, rows, n);
	}
	jpeg_finish_compress(&j->c);
	return TS_OK;
}

ts_status ts_tile_jpeg_tables(int quality, bool chroma_444, int channels, unsigned char **out,
                              size_t *len, struct ts_error *err)
{
	struct ts_tile_encoder e;
	ts_status st;

	memset(&e, 0, sizeof e);
	e.quality = quality;
	e.chroma_444 = chroma_444;
	e.channels = channels;
	e.tile_w = e.tile_h = 16;
	*out = NULL;
	*len = 0;
	if (!grow(&e, 4096))
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	st = jpeg_state_new(&e, err);
	if (st != TS_OK) {
		free(e.buf);
		return st;
	}
	if (setjmp(e.j->jump)) {
		jpeg_destroy_compress(&e.j->c);
		free(e.j);
		free(e.buf);
		return ts_error_set(err, TS_EINTERNAL, "cannot make the JPEG tables");
	}
	jpeg_write_tables(&e.j->c);
	jpeg_destroy_compress(&e.j->c);
	free(e.j);
	*out = e.buf;
	*len = e.len;
	return TS_OK;
}

/* ---- the others ------------------------------------------------------- */

uint16_t ts_tile_tiff_compression(enum ts_convert_compression c)
{
	uint16_t t;

	switch (c) {
	case TS_COMP_JPEG: t = COMPRESSION_JPEG; break;
	case TS_COMP_DEFLATE: t = COMPRESSION_ADOBE_DEFLATE; break;
	case TS_COMP_WEBP: t = COMPRESSION_WEBP; break;
	case TS_COMP_ZSTD: t = COMPRESSION_ZSTD; break;
	default: return 0;
	}
	return TIFFIsCODECConfigured(t) ? t : 0;
}

ts_status ts_tile_encoder_create(enum ts_convert_compression c, int quality, bool chroma_444,
                                 int channels, uint32_t tile_w, uint32_t tile_h,
                                 struct ts_tile_encoder **out, struct ts_error *err)
{
	struct ts_tile_encoder *e;
	ts_status st = TS_OK;

	*out = NULL;
	if ((c == TS_COMP_JPEG && channels != 1 && channels != 3) ||
	    (c == TS_COMP_WEBP && channels != 3 && channels != 4))
		return ts_error_set(err, TS_EINTERNAL, "tile encoder given the wrong channels");
	e = calloc(1, sizeof *e);
	if (!e)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	e->comp = c;
	e->quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
	e->chroma_444 = chroma_444;
	e->channels = channels;
	e->tile_w = tile_w;
	e->tile_h = tile_h;
	if (!grow(e, (size_t)tile_w * tile_h * (size_t)channels / 2 + 4096)) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	if (c == TS_COMP_JPEG)
		st = jpeg_state_new(e, err);
	else if (c == TS_COMP_ZSTD && !(e->zstd = ZSTD_createCCtx()))
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
	if (st != TS_OK)
		goto fail;
	*out = e;
	return TS_OK;
fail:
	ts_tile_encoder_destroy(e);
	return st;
}

ts_status ts_tile_encode(struct ts_tile_encoder *e, const uint8_t *pix,
                         const unsigned char **out, size_t *len, struct ts_error *err)
{
	size_t raw = (size_t)e->tile_w * e->tile_h * (size_t)e->channels;
	int stride = (int)(e->tile_w * (uint32_t)e->channels);
	ts_status st;

	*out = NULL;
	*len = 0;
	switch (e->comp) {
	case TS_COMP_JPEG:
		st = jpeg_tile(e, pix, err);
		if (st != TS_OK)
			return st;
		*out = e->buf;
		*len = e->len;
		return TS_OK;
	case TS_COMP_DEFLATE: {
		uLongf n = compressBound((uLong)raw);

		if (!grow(e, n))
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		n = (uLongf)e->cap;
		if (compress2(e->buf, &n, pix, (uLong)raw, 6) != Z_OK)
			return ts_error_set(err, TS_EINTERNAL, "cannot deflate a tile");
		*out = e->buf;
		*len = n;
		return TS_OK;
	}
	case TS_COMP_ZSTD: {
		size_t n = ZSTD_compressBound(raw);

		if (!grow(e, n))
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		n = ZSTD_compressCCtx(e->zstd, e->buf, e->cap, pix, raw, 9);
		if (ZSTD_isError(n))
			return ts_error_set(err, TS_EINTERNAL, "cannot compress a tile with ZSTD");
		*out = e->buf;
		*len = n;
		return TS_OK;
	}
	case TS_COMP_WEBP: {
		size_t n;

		WebPFree(e->webp);
		e->webp = NULL;
		if (e->channels == 4)
			n = WebPEncodeRGBA(pix, (int)e->tile_w, (int)e->tile_h, stride,
			                   (float)e->quality, &e->webp);
		else
			n = WebPEncodeRGB(pix, (int)e->tile_w, (int)e->tile_h, stride,
			                  (float)e->quality, &e->webp);
		if (n == 0)
			return ts_error_set(err, TS_EINTERNAL, "cannot encode a WebP tile");
		*out = e->webp;
		*len = n;
		return TS_OK;
	}
	default:
		return ts_error_set(err, TS_ENOTIMPL, "compression not available for TIFF tiles");
	}
}

void ts_tile_encoder_destroy(struct ts_tile_encoder *e)
{
	if (!e)
		return;
	if (e->j) {
		jpeg_destroy_compress(&e->j->c);
		free(e->j);
	}
	ZSTD_freeCCtx(e->zstd);
	WebPFree(e->webp);
	free(e->buf);
	free(e);
}
