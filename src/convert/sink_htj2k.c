/*
 * sink_htj2k.c - the HTJ2K sink: a tiled JPEG 2000 Part 15 (high-
 * throughput block coder) file written with OpenJPH, as `tessera convert
 * --htj2k` (or an output named .jph / .jhc) writes it from the pyramid
 * builder's rows.  Tessera decodes these 3-10x faster than Part 1 files of
 * the same image (bench/htj2k.py).
 *
 * The layout is the JP2 sink's (sink_jp2.c): tiles of o->tile, RPCL
 * (ISO/IEC 15444-1 B.12.1.3), 256x256 precincts (B.6), 64x64 code-blocks
 * (B.7), one quality layer, a TLM marker (A.7.1) so a reader seeks to any
 * tile without walking the others; lossy 9/7 at a quantisation step from
 * o->quality, or lossless 5/3 (o->lossless); RGB through the colour
 * transform.  Resolution levels go down until the whole image is at most
 * 256 pixels on its longer side (or o->jp2_levels), at most log2(tile).
 * The file is a JPH file (15444-15 Annex D: the JP2 boxes with brand
 * 'jph ') unless the output is named .j2c, .j2k or .jhc: then the raw
 * codestream.
 *
 * The one idea: OpenJPH's own encoder keeps the whole compressed image in
 * memory until it flushes, and uses one core.  Instead every code-stream
 * tile is encoded on its own, as a one-tile codestream placed at the
 * tile's origin on the reference grid (ojph_shim.h explains why that is
 * the very tile-part the whole image would hold), on o->threads threads a
 * band of tiles at a time; the tile-parts are cut out, renumbered (Isot)
 * and appended in tile order, and the main header is written by us: SOC,
 * our SIZ for the whole image, the first tile's CAP/COD/QCD (the same for
 * every tile: same parameters), and a TLM filled in at the end.  Memory is
 * one band (tile x width x channels) plus one tile's encoder per thread.
 *
 * Written under a temporary name beside the final one, renamed at finish.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tessera/checked.h"
#include "tessera/convert.h"
#include "ojph_shim.h"
#include "out_file.h"
#include "tile_band.h"

#ifdef TS_HAVE_OPENJPH

#define TLM_PER_MARKER 10921u   /* (65535 - 4) / 6: Ltlm is 16 bits (A.7.1) */
#define MAX_THREADS 64

struct tile_out {
	unsigned char *buf;     /* the one-tile codestream */
	size_t len;
	int rc;
	char msg[200];
};

struct htj2k_sink {
	struct ts_level_sink base;
	char *out, *tmp;
	int fd;
	struct ts_convert_opts o;
	volatile const int *cancel;
	int threads;
	bool boxes;              /* JPH boxes, else a raw codestream */
	uint32_t width, height, tile;
	int channels, decomps;
	uint32_t ntx, nty;
	struct ts_tile_band band; /* level-0 rows, one tile row at a time */
	struct tile_out *outs;   /* one per tile of a band */
	uint32_t *tp_len;        /* tile-part length per tile, for TLM */
	unsigned char *icc;
	size_t icc_len;
	uint64_t pos;            /* bytes written so far */
	uint64_t jp2c_off;       /* the jp2c box's start (boxes only) */
	uint64_t tlm_off;        /* the first TLM marker's start */
	bool header_done;
	uint32_t tiles_done;
	/* the band being encoded, shared with the threads */
	atomic_uint next_tile;
};

static void put16(unsigned char *p, uint32_t v) { p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v; }
static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}
static uint32_t get16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static ts_status write_fail(struct htj2k_sink *s, int e, struct ts_error *err)
{
	ts_error_set(err, TS_EINTERNAL, "could not write the output file");
	ts_error_detail(err, "%s: %s", s->tmp, strerror(e ? e : EIO));
	return TS_EINTERNAL;
}

static ts_status put(struct htj2k_sink *s, const void *p, size_t n, struct ts_error *err)
{
	int e = ts_out_file_write_at(s->fd, p, n, s->pos);

	if (e)
		return write_fail(s, e, err);
	s->pos += n;
	return TS_OK;
}

static ts_status put_at(struct htj2k_sink *s, uint64_t off, const void *p, size_t n,
                        struct ts_error *err)
{
	uint64_t keep = s->pos;
	ts_status st;

	s->pos = off;
	st = put(s, p, n, err);
	s->pos = keep;
	return st;
}

/* Decomposition levels: down until the longer side is at most 256 (the
 * smallest size a viewer asks for), or o->jp2_levels - 1; at most
 * log2(tile) (a resolution of a tile must stay at least one sample wide
 * per level of the tile) and 32 (A.6.1). */
static int decompositions(const struct htj2k_sink *s)
{
	uint32_t longest = s->width > s->height ? s->width : s->height;
	int d = 0, maxd = 0;

	if (s->o.jp2_levels > 0)
		d = s->o.jp2_levels - 1;
	else
		while ((longest >> d) > 256 && d < 32)
			d++;
	while (maxd < 32 && ((uint64_t)1 << (maxd + 1)) <= s->tile)
		maxd++;
	return d > maxd ? maxd : d;
}

/* Quality 1..100 as OpenJPH's quantisation step, aiming at the JP2 sink's
 * PSNR of 25 + quality/5 dB (85 -> 42 dB).  Calibrated on the corpus's
 * photographs (bridge, 4352x2448): a step of 0.041 gave 44.3 dB and PSNR
 * falls about 2.4 dB per doubling of the step in this range.  Measured:
 * 95 -> 44.1 dB, 85 -> 42.1, 75 -> 39.8, 50 -> 33.0 (JP2 sink: 43.7, 41.9,
 * 40.0, 35.3), in 65% of the JP2 sink's bytes at 85. */
static float quality_qstep(int quality)
{
	int q = quality >= 1 && quality <= 100 ? quality : 85;
	float target = 25.0f + (float)q / 5.0f;

	return 0.041f * powf(2.0f, (44.3f - target) / 2.4f);
}

/* ---- one band of tiles, encoded on several threads --------------------- */

static void encode_one(struct htj2k_sink *s, uint32_t c)
{
	struct tile_out *o = &s->outs[c];
	uint32_t x0 = c * s->tile;
	struct ts_ojph_tile t = {
		.x0 = x0, .y0 = s->band.y0,
		.width = s->width - x0 < s->tile ? s->width - x0 : s->tile,
		.height = s->band.have,
		.tile = s->tile,
		.channels = s->channels,
		.decompositions = s->decomps,
		.precinct = 256,
		.reversible = s->o.lossless,
		.qstep = quality_qstep(s->o.quality),
		.colour_transform = s->channels >= 3,
	};

	o->rc = ts_ojph_encode_tile(&t, s->band.rows + (size_t)x0 * (size_t)s->channels, s->band.stride,
	                            &o->buf, &o->len, o->msg, sizeof o->msg);
}

static void *encode_worker(void *arg)
{
	struct htj2k_sink *s = arg;
	uint32_t c;

	while ((c = atomic_fetch_add(&s->next_tile, 1)) < s->ntx) {
		if (s->cancel && *s->cancel)
			break;
		encode_one(s, c);
	}
	return NULL;
}

/* Where the tile-part starts in a one-tile codestream (after the main
 * header's marker segments) and how long it is; false when the buffer is
 * not what OpenJPH should have written. */
static bool find_tile_part(const unsigned char *b, size_t n, size_t *sot, size_t *len)
{
	size_t p = 2;
	uint32_t psot;

	if (n < 4 || get16(b) != 0xFF4F)
		return false;
	while (p + 4 <= n) {
		uint32_t m = get16(b + p);
		if (m == 0xFF90)
			break;
		if ((m & 0xFF00) != 0xFF00 || get16(b + p + 2) < 2)
			return false;
		p += 2 + get16(b + p + 2);
	}
	if (p + 12 > n || get16(b + p) != 0xFF90 || get16(b + p + 2) != 10)
		return false;
	psot = get32(b + p + 6);
	if (psot == 0)
		psot = (uint32_t)(n - 2 - p);   /* runs to EOC */
	if (psot < 14 || psot > n - p)
		return false;
	*sot = p;
	*len = psot;
	return true;
}

/* ---- the file's head: boxes and main header ---------------------------- */

static ts_status put_box_head(struct htj2k_sink *s, const char *type, uint32_t len,
                              struct ts_error *err)
{
	unsigned char h[8];

	put32(h, len);
	memcpy(h + 4, type, 4);
	return put(s, h, 8, err);
}

/* Signature, file type ('jph '), header (ihdr, colr, cdef) and the jp2c
 * box's head, its XLBox length filled in at finish (ISO/IEC 15444-15
 * Annex D, 15444-1 Annex I). */
static ts_status put_boxes(struct htj2k_sink *s, struct ts_error *err)
{
	static const unsigned char sig[12] = { 0, 0, 0, 12, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A };
	static const unsigned char ftyp[12] = { 'j', 'p', 'h', ' ', 0, 0, 0, 0, 'j', 'p', 'h', ' ' };
	unsigned char ihdr[14], colr[7], cdef[2 + 6 * 4], jp2c[16];
	uint32_t colr_len = s->icc ? 3 + (uint32_t)s->icc_len : 7, cdef_len = 0;
	bool alpha = s->channels == 2 || s->channels == 4;
	ts_status st;
	int c;

	put32(ihdr, s->height);
	put32(ihdr + 4, s->width);
	put16(ihdr + 8, (uint32_t)s->channels);
	ihdr[10] = 7;            /* 8 bits, unsigned */
	ihdr[11] = 7;            /* compression type: JPEG 2000 */
	ihdr[12] = 0;            /* colourspace known */
	ihdr[13] = 0;            /* no intellectual property box */
	if (alpha) {
		put16(cdef, (uint32_t)s->channels);
		for (c = 0; c < s->channels; c++) {
			bool a = c == s->channels - 1;
			put16(cdef + 2 + 6 * c, (uint32_t)c);
			put16(cdef + 4 + 6 * c, a ? 1 : 0);       /* opacity / colour */
			put16(cdef + 6 + 6 * c, a ? 0 : (uint32_t)c + 1);
		}
		cdef_len = 8 + 2 + 6 * (uint32_t)s->channels;
	}
	if ((st = put(s, sig, sizeof sig, err)) || (st = put_box_head(s, "ftyp", 20, err)) ||
	    (st = put(s, ftyp, sizeof ftyp, err)) ||
	    (st = put_box_head(s, "jp2h", 8 + 22 + 8 + colr_len + cdef_len, err)) ||
	    (st = put_box_head(s, "ihdr", 22, err)) || (st = put(s, ihdr, sizeof ihdr, err)) ||
	    (st = put_box_head(s, "colr", 8 + colr_len, err)))
		return st;
	if (s->icc) {
		colr[0] = 2;         /* restricted ICC profile */
		colr[1] = colr[2] = 0;
		if ((st = put(s, colr, 3, err)) || (st = put(s, s->icc, s->icc_len, err)))
			return st;
	} else {
		colr[0] = 1;         /* enumerated: 16 sRGB, 17 greyscale */
		colr[1] = colr[2] = 0;
		put32(colr + 3, s->channels >= 3 ? 16 : 17);
		if ((st = put(s, colr, 7, err)))
			return st;
	}
	if (alpha && ((st = put_box_head(s, "cdef", cdef_len, err)) ||
	              (st = put(s, cdef, cdef_len - 8, err))))
		return st;
	s->jp2c_off = s->pos;
	put32(jp2c, 1);          /* XLBox follows */
	memcpy(jp2c + 4, "jp2c", 4);
	memset(jp2c + 8, 0, 8);
	return put(s, jp2c, sizeof jp2c, err);
}

/* SOC, SIZ for the whole image, the first tile's other main-header
 * markers (CAP, COD, QCD, COM: the same for every tile) and room for TLM. */
static ts_status put_main_header(struct htj2k_sink *s, const unsigned char *b, size_t sot,
                                 struct ts_error *err)
{
	unsigned char siz[4 + 38 + 3 * 4], soc[2] = { 0xFF, 0x4F }, tlm[6];
	uint32_t ntiles = s->ntx * s->nty, done, n;
	size_t p = 2, lsiz = 38 + 3 * (size_t)s->channels;
	ts_status st;
	int c;

	if (sot < 2 + 4 + 38 || get16(b + 2) != 0xFF51)
		return ts_error_set(err, TS_EINTERNAL, "HTJ2K encoding failed: no SIZ from OpenJPH");
	/* A.5.1; Rsiz (capabilities: Part 15) as OpenJPH wrote it */
	put16(siz, 0xFF51);
	put16(siz + 2, (uint32_t)lsiz);
	memcpy(siz + 4, b + 6, 2);
	put32(siz + 6, s->width);
	put32(siz + 10, s->height);
	put32(siz + 14, 0);
	put32(siz + 18, 0);
	put32(siz + 22, s->tile);
	put32(siz + 26, s->tile);
	put32(siz + 30, 0);
	put32(siz + 34, 0);
	put16(siz + 38, (uint32_t)s->channels);
	for (c = 0; c < s->channels; c++) {
		siz[40 + 3 * c] = 7;     /* 8 bits, unsigned */
		siz[41 + 3 * c] = 1;
		siz[42 + 3 * c] = 1;
	}
	if ((st = put(s, soc, 2, err)) || (st = put(s, siz, 2 + lsiz, err)))
		return st;
	/* the tile's own main header after its SIZ, minus any TLM */
	while (p < sot) {
		uint32_t m = get16(b + p), len = get16(b + p + 2);
		if (m != 0xFF51 && m != 0xFF55 && (st = put(s, b + p, 2 + len, err)))
			return st;
		p += 2 + len;
	}
	/* TLM (A.7.1): Stlm 0x60 = 16-bit Ttlm, 32-bit Ptlm; filled at finish */
	s->tlm_off = s->pos;
	for (done = 0, c = 0; done < ntiles; done += n, c++) {
		unsigned char zero[6 * 64];
		uint32_t k;

		n = ntiles - done < TLM_PER_MARKER ? ntiles - done : TLM_PER_MARKER;
		put16(tlm, 0xFF55);
		put16(tlm + 2, 4 + 6 * n);
		tlm[4] = (unsigned char)c;
		tlm[5] = 0x60;
		if ((st = put(s, tlm, 6, err)))
			return st;
		memset(zero, 0, sizeof zero);
		for (k = 0; k < n; k += 64)
			if ((st = put(s, zero, 6 * (n - k < 64 ? n - k : 64), err)))
				return st;
	}
	return TS_OK;
}

/* Encode every tile of the full band, then append them in tile order. */
static ts_status flush_band(void *ctx, struct ts_error *err)
{
	struct htj2k_sink *s = ctx;
	pthread_t tids[MAX_THREADS];
	int nthreads = s->threads < (int)s->ntx ? s->threads : (int)s->ntx, started = 0, i;
	uint32_t trow = s->band.y0 / s->tile, c;
	ts_status st = TS_OK;

	if (s->cancel && *s->cancel)
		return ts_error_set(err, TS_EUNAVAILABLE, "cancelled");
	memset(s->outs, 0, s->ntx * sizeof *s->outs);
	atomic_store(&s->next_tile, 0);
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	for (i = 1; i < nthreads; i++)
		if (pthread_create(&tids[started], NULL, encode_worker, s) == 0)
			started++;
	encode_worker(s);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (s->cancel && *s->cancel) {
		st = ts_error_set(err, TS_EUNAVAILABLE, "cancelled");
		goto fail;
	}
	for (c = 0; c < s->ntx; c++) {
		struct tile_out *o = &s->outs[c];
		uint32_t idx = trow * s->ntx + c;
		size_t sot, len;

		if (o->rc != 0) {
			st = ts_error_set(err, TS_EINTERNAL, "HTJ2K encoding failed");
			ts_error_detail(err, "OpenJPH, tile %u: %s", idx, o->msg);
			goto fail;
		}
		if (!find_tile_part(o->buf, o->len, &sot, &len)) {
			st = ts_error_set(err, TS_EINTERNAL, "HTJ2K encoding failed");
			ts_error_detail(err, "OpenJPH, tile %u: no tile-part in its codestream", idx);
			goto fail;
		}
		if (!s->header_done) {
			if ((s->boxes && (st = put_boxes(s, err))) ||
			    (st = put_main_header(s, o->buf, sot, err)))
				goto fail;
			s->header_done = true;
		}
		put16(o->buf + sot + 4, idx);        /* Isot: its place in the image */
		s->tp_len[idx] = (uint32_t)len;
		if ((st = put(s, o->buf + sot, len, err)))
			goto fail;
		s->tiles_done++;
	}
fail:
	for (c = 0; c < s->ntx; c++) {
		free(s->outs[c].buf);
		s->outs[c].buf = NULL;
	}
	return st;
}

/* ---- the sink ----------------------------------------------------------- */

static ts_status htj2k_begin(struct ts_level_sink *base, const struct ts_pyramid_geometry *g,
                             const struct ts_rows *src, struct ts_error *err)
{
	struct htj2k_sink *s = (struct htj2k_sink *)base;
	ts_status st;

	st = ts_tile_band_begin(&s->band, g, s->tile, &s->ntx, &s->nty, err);
	if (st)
		return st;
	s->width = g->width[0];
	s->height = g->height[0];
	s->channels = g->channels;
	s->decomps = decompositions(s);
	s->outs = calloc(s->ntx, sizeof *s->outs);
	s->tp_len = calloc((size_t)s->ntx * s->nty, sizeof *s->tp_len);
	if (!s->outs || !s->tp_len)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	/* JP2 boxes hold a profile up to what a box length can say */
	if (s->boxes && src && src->icc && src->icc_len > 0 && src->icc_len < (1u << 24)) {
		s->icc = malloc(src->icc_len);
		if (!s->icc)
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		memcpy(s->icc, src->icc, src->icc_len);
		s->icc_len = src->icc_len;
	}
	return ts_out_file_create(s->out, &s->tmp, &s->fd, err);
}

static ts_status htj2k_rows(struct ts_level_sink *base, int level, uint32_t y,
                            const struct ts_image *band, struct ts_error *err)
{
	struct htj2k_sink *s = (struct htj2k_sink *)base;

	/* only level 0: the wavelet makes the lower resolutions */
	return ts_tile_band_add(&s->band, level, y, band, flush_band, s, err);
}

static ts_status htj2k_finish(struct ts_level_sink *base, struct ts_error *err)
{
	struct htj2k_sink *s = (struct htj2k_sink *)base;
	uint32_t ntiles = s->ntx * s->nty, i, n, m;
	unsigned char eoc[2] = { 0xFF, 0xD9 }, *tlm = NULL, len[8];
	uint64_t off;
	ts_status st;

	if (s->tiles_done != ntiles || !s->header_done)
		return ts_error_set(err, TS_EINTERNAL, "the pyramid ended before its last row");
	if ((st = put(s, eoc, 2, err)))
		return st;
	/* TLM entries: marker after marker, 6 header bytes each */
	tlm = malloc(6 * (size_t)TLM_PER_MARKER);
	if (!tlm)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	for (i = 0, off = s->tlm_off; i < ntiles; i += n) {
		n = ntiles - i < TLM_PER_MARKER ? ntiles - i : TLM_PER_MARKER;
		for (m = 0; m < n; m++) {
			put16(tlm + 6 * m, i + m);
			put32(tlm + 6 * m + 2, s->tp_len[i + m]);
		}
		if ((st = put_at(s, off + 6, tlm, 6 * (size_t)n, err))) {
			free(tlm);
			return st;
		}
		off += 6 + 6 * (uint64_t)n;
	}
	free(tlm);
	if (s->boxes) {
		uint64_t box = s->pos - s->jp2c_off;
		put32(len, (uint32_t)(box >> 32));
		put32(len + 4, (uint32_t)box);
		if ((st = put_at(s, s->jp2c_off + 8, len, 8, err)))
			return st;
	}
	if (close(s->fd) != 0) {
		int e = errno;

		s->fd = -1;
		return write_fail(s, e, err);
	}
	s->fd = -1;
	return ts_out_file_commit(&s->tmp, s->out, err);
}

static void htj2k_abort(struct ts_level_sink *base)
{
	struct htj2k_sink *s = (struct htj2k_sink *)base;

	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	ts_out_file_discard(&s->tmp);
}

static void htj2k_destroy(struct ts_level_sink *base)
{
	struct htj2k_sink *s = (struct htj2k_sink *)base;

	if (!s)
		return;
	htj2k_abort(base);
	if (s->outs)
		for (uint32_t c = 0; c < s->ntx; c++)
			free(s->outs[c].buf);
	free(s->outs);
	free(s->tp_len);
	ts_tile_band_free(&s->band);
	free(s->icc);
	free(s->out);
	free(s);
}

/* A raw codestream for these names, JPH boxes for any other. */
static bool raw_name(const char *out)
{
	static const char *const raw[] = { ".j2c", ".j2k", ".jhc" };
	size_t n = strlen(out);

	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
		if (n > 4 && strcasecmp(out + n - 4, raw[i]) == 0)
			return true;
	return false;
}

bool ts_convert_htj2k_built(void)
{
	return true;
}

ts_status ts_sink_htj2k_new(const char *out, const struct ts_convert_opts *o,
                            struct ts_level_sink **sink, struct ts_error *err)
{
	struct htj2k_sink *s;
	long ncpu;

	*sink = NULL;
	if (!out[0])
		return ts_error_set(err, TS_EBADREQUEST, "no output name");
	/* a power of two: precincts and code-blocks then tile it exactly */
	if (o->tile < 64 || o->tile > 16384 || (o->tile & (o->tile - 1)))
		return ts_error_set(err, TS_EBADREQUEST,
		                    "HTJ2K tiles must be a power of two from 64 to 16384 pixels");
	if (o->jp2_levels < 0 || o->jp2_levels > 33)
		return ts_error_set(err, TS_EBADREQUEST, "JPEG 2000 resolution levels must be 1 to 33");
	s = calloc(1, sizeof *s);
	if (!s || !(s->out = strdup(out))) {
		free(s);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->fd = -1;
	s->o = *o;
	s->o.base_url = s->o.iiif_id = NULL;   /* not used; never kept borrowed */
	s->cancel = o->cancel;
	s->tile = o->tile;
	s->boxes = !raw_name(out);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->threads = o->threads > 0 ? o->threads : (ncpu > 0 ? (int)ncpu : 1);
	if (s->threads > MAX_THREADS)
		s->threads = MAX_THREADS;
	s->base.begin = htj2k_begin;
	s->base.rows = htj2k_rows;
	s->base.finish = htj2k_finish;
	s->base.abort = htj2k_abort;
	s->base.destroy = htj2k_destroy;
	*sink = &s->base;
	return TS_OK;
}

#else /* !TS_HAVE_OPENJPH */

bool ts_convert_htj2k_built(void)
{
	return false;
}

ts_status ts_sink_htj2k_new(const char *out, const struct ts_convert_opts *o,
                            struct ts_level_sink **sink, struct ts_error *err)
{
	(void)out;
	(void)o;
	*sink = NULL;
	return ts_error_set(err, TS_ENOTIMPL,
	                    "HTJ2K output needs OpenJPH: built without libopenjph-dev");
}

#endif
