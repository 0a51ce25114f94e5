/*
 * jp2_opj.c - JPEG 2000 decoding with OpenJPEG: a pread-based stream, a
 * codec per call or kept per untiled source, and one window of one level turned into 8-bit
 * interleaved pixels (contract in jp2_internal.h).
 *
 * Where it sits: jp2_read.c decides what to decode (a window, or whole
 * code-stream tiles for the decoded-tile cache); here it is decoded with
 * OpenJPEG's windowed decoding (opj_set_decode_area) at a reduce factor
 * (opj_set_decoded_resolution_factor).  OpenJPEG's errors are caught at this
 * border, tied to the source (never a global), and become our status.
 *
 * The one idea: a codec per window, except where OpenJPEG lets one codec
 * decode many.  For a multi-tile image OpenJPEG 2.5.0 refuses a second
 * window on a used codec, and a fresh one reads the main header in
 * 0.2-0.4 ms (4000x3000 RGB) against 4-30 ms for a 256x256 window (the
 * header grows by ~10 KB and ~14 us per tile, hence JP2_MAX_TILES).  For a
 * single-tile ("untiled") image a fresh codec reads and parses every packet
 * header of the one tile for each window (26 of the 32.6 ms CPU of a 256
 * window of an untiled 4224x3168 file), while a used codec decodes the next
 * window of the same reduce factor from what it already holds (6.6 ms),
 * with exactly a fresh codec's samples (test_jp2_virtual.c checks that on
 * OpenJPEG itself).  So an untiled source keeps its codec (jp2_source.kept,
 * used by one thread at a time like the source: a second request on the
 * same image gets another source from the pool, never waits), for one
 * reduce factor (another factor fails on a used codec on some files: the
 * codec is replaced), destroyed after any error, its memory (kept_bytes:
 * the file plus a third of a byte per sample) reserved in the decoded-tile
 * cache's budget, which evicts tiles for it and refuses past a quarter of
 * the budget per codec or half in all.
 *
 * Levels: level r is OpenJPEG's reduce factor r; its size is, per the spec
 * (B.5, equation B-14), ceil(X1 / 2^r) - ceil(X0 / 2^r) (likewise for Y),
 * which is ceil((X1 - X0) / 2^r) when the image offset is zero.
 * Not handled (yet): ICC profiles (ignored: pixels are returned as coded),
 * JPX extensions beyond what OpenJPEG decodes.  HTJ2K (Part 15) codestreams
 * decode transparently with OpenJPEG >= 2.5.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openjpeg.h>
#include <opj_config.h>
#include "tessera/checked.h"
#include "tessera/deadline.h"
#include "tessera/tile_cache.h"
#include "jp2_internal.h"

/*
 * Decodes running in this process, over all sources.  OpenJPEG's own
 * threads pay only when cores are idle: a decode running alone gets
 * JP2_THREADS, one running beside another gets none (no pool at all; a pool
 * of one thread only adds hand-offs).  Measured with 2 workers on 2 cores,
 * walking 256-pixel tiles of six 1024x1024-tiled files through the tile
 * cache: CPU per tile 5.3 ms without a pool, 6.0 ms with 2 threads, 6.5 ms
 * with 1, and 310 / 298 / 312 / 246 tiles/s for this rule / none / 2 / 1;
 * a lone decode is ~1.3x faster with 2 threads than without, so this rule
 * keeps the latency of 2 threads at light load and nearly the CPU cost of
 * none at full load.
 */
static atomic_int decodes_running;

/* ---- OpenJPEG glue ----------------------------------------------------- */

struct jp2_stream {
	int fd;
	uint64_t pos, size;
};

static OPJ_SIZE_T stream_read(void *buf, OPJ_SIZE_T n, void *user)
{
	struct jp2_stream *st = user;
	ssize_t r;

	if (st->pos >= st->size)
		return (OPJ_SIZE_T)-1;
	/* OpenJPEG decodes a window in one call with no way to stop it; it
	 * reads each tile's data before decoding it, so past the render's
	 * deadline the next read ends the stream and the decode with it. */
	if (ts_deadline_passed())
		return (OPJ_SIZE_T)-1;
	if (n > st->size - st->pos)
		n = (OPJ_SIZE_T)(st->size - st->pos);
	do {
		r = pread(st->fd, buf, n, (off_t)st->pos);
	} while (r < 0 && errno == EINTR);
	if (r <= 0)
		return (OPJ_SIZE_T)-1;
	st->pos += (uint64_t)r;
	return (OPJ_SIZE_T)r;
}

static OPJ_OFF_T stream_skip(OPJ_OFF_T n, void *user)
{
	struct jp2_stream *st = user;

	if (n < 0 ? (uint64_t)-n > st->pos : (uint64_t)n > st->size - st->pos) {
		/* OpenJPEG expects -1 when the skip leaves the file. */
		st->pos = st->size;
		return -1;
	}
	st->pos = (uint64_t)((int64_t)st->pos + n);
	return n;
}

static OPJ_BOOL stream_seek(OPJ_OFF_T to, void *user)
{
	struct jp2_stream *st = user;

	if (to < 0 || (uint64_t)to > st->size)
		return OPJ_FALSE;
	st->pos = (uint64_t)to;
	return OPJ_TRUE;
}

static void opj_on_error(const char *msg, void *user)
{
	struct jp2_source *s = user;
	size_t n;

	if (!s->opj_msg[0]) {
		snprintf(s->opj_msg, sizeof s->opj_msg, "%s", msg);
		n = strlen(s->opj_msg);
		while (n > 0 && s->opj_msg[n - 1] == '\n')
			s->opj_msg[--n] = '\0';
	}
}

static void opj_on_quiet(const char *msg, void *user)
{
	(void)msg;
	(void)user;
}

/* An OpenJPEG codec on its stream, with the header read: made per window,
 * or kept by the source between windows (jp2_source.kept). */
struct jp2_codec {
	opj_codec_t *codec;
	opj_stream_t *stream;
	opj_image_t *image;       /* the header; after a decode, the last window */
	struct jp2_stream st;     /* the stream's user data: lives here */
	int reduce;               /* the resolution factor it decodes (-1: not set) */
	size_t charged;           /* bytes reserved in the decoded-tile cache (kept) */
};

static void stop_codec(struct jp2_codec *c)
{
	if (!c)
		return;
	if (c->image)
		opj_image_destroy(c->image);
	if (c->stream)
		opj_stream_destroy(c->stream);
	if (c->codec)
		opj_destroy_codec(c->codec);
	free(c);
}

/* A codec with its header read, on a fresh stream; NULL on failure (the
 * reason in s->opj_msg).  Freed with stop_codec. */
static struct jp2_codec *start_codec(struct jp2_source *s)
{
	opj_dparameters_t params;
	struct jp2_codec *c = calloc(1, sizeof *c);

	s->opj_msg[0] = '\0';
	if (!c)
		return NULL;
	c->reduce = -1;
	c->st.fd = s->fd;
	c->st.pos = 0;
	c->st.size = s->file_size;
	c->codec = opj_create_decompress(s->is_jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	if (!c->codec)
		goto fail;
	opj_set_error_handler(c->codec, opj_on_error, s);
	opj_set_warning_handler(c->codec, opj_on_quiet, s);
	opj_set_info_handler(c->codec, opj_on_quiet, s);
	opj_set_default_decoder_parameters(&params);
	if (!opj_setup_decoder(c->codec, &params))
		goto fail;
	/* Strict: a truncated codestream is an error, never a half-grey 200.
	 * (2.5 added partial decoding, off by default; 2.4 is always strict.) */
#if OPJ_VERSION_MAJOR > 2 || (OPJ_VERSION_MAJOR == 2 && OPJ_VERSION_MINOR >= 5)
	opj_decoder_set_strict_mode(c->codec, OPJ_TRUE);
#endif
	/* A codec's threads are fixed once it has decoded (OpenJPEG hands its
	 * pool to the tile decoder): a kept codec keeps those it started with. */
	if (s->threads > 1)
		opj_codec_set_threads(c->codec, s->threads);
	c->stream = opj_stream_create(JP2_STREAM_CHUNK, OPJ_TRUE);
	if (!c->stream)
		goto fail;
	opj_stream_set_user_data(c->stream, &c->st, NULL);
	opj_stream_set_user_data_length(c->stream, c->st.size);
	opj_stream_set_read_function(c->stream, stream_read);
	opj_stream_set_skip_function(c->stream, stream_skip);
	opj_stream_set_seek_function(c->stream, stream_seek);
	if (!opj_read_header(c->stream, c->codec, &c->image) || !c->image)
		goto fail;
	return c;

fail:
	stop_codec(c);
	return NULL;
}

/* ---- decoding a window ------------------------------------------------- */

static inline uint8_t clamp8(double v)
{
	return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

/* Index of the sample of component c covering reduced-grid column X. */
static inline uint32_t comp_index(uint64_t X, int r, uint32_t dx,
                                  uint32_t c0, uint32_t cn)
{
	uint64_t i = ((X << r) / dx) >> r;

	if (i < c0)
		return 0;
	i -= c0;
	return i >= cn ? cn - 1 : (uint32_t)i;
}

/* Windows decoded on kept codecs (ts_jp2_opj_reuses). */
static atomic_ullong reuses;

uint64_t ts_jp2_opj_reuses(void)
{
	return (uint64_t)atomic_load(&reuses);
}

void ts_jp2_opj_forget(struct jp2_source *s)
{
	if (!s->kept)
		return;
	ts_tile_cache_unreserve(s->tiles, s->kept->charged);
	stop_codec(s->kept);
	s->kept = NULL;
}

/*
 * What a kept codec holds between windows, by measurement (mallinfo2,
 * bench/jp2_codec_mem.c, windows of 256 to 1024x256 at level 0): the
 * codestream it read (the one tile's data), the parsed code-blocks, about
 * 1 MB of header: dragonfly untiled (4224x3168 RGB, 4.0 MB file) 14.8-18.5
 * MB, the same lossless (8.6 MB) 19.2-22.9, 2300x1500 (2.1 MB) 7.1-10.8.
 * So: the file, plus a third of a byte per sample, plus 4 MB.  A codec
 * also keeps the decoded code-blocks of its last window, ~12 bytes per
 * window pixel (29 MB after a 1024x1024 window of dragonfly): only codecs
 * whose windows stay within a virtual tile (JP2_VIRTUAL_TILE squared, 3 MB
 * of that) are kept; a bigger window drops the codec.
 */
#define KEEP_WINDOW_PX ((uint64_t)JP2_VIRTUAL_TILE * JP2_VIRTUAL_TILE)

static size_t kept_bytes(const struct jp2_source *s)
{
	uint64_t samples = (uint64_t)(s->x1 - s->x0) * (s->y1 - s->y0) * (uint64_t)s->ncomps;
	uint64_t n = s->file_size + samples / 3 + (4u << 20) + 12 * KEEP_WINDOW_PX;

	return n > SIZE_MAX ? SIZE_MAX : (size_t)n;
}

/*
 * The codec for a window of reduce factor r: the source's kept one when it
 * decodes r, else a fresh one (dropping the kept one: a viewer walks one
 * level at a time).  OpenJPEG 2.5.0 decodes further windows of a
 * single-tile image on a used codec without reading or parsing the
 * codestream again, at the resolution factor of its first window: another
 * factor fails on some files.  *kept says which.
 */
static struct jp2_codec *take_codec(struct jp2_source *s, int r, bool *kept)
{
	*kept = false;
	if (s->kept && s->kept->reduce == r) {
		*kept = true;
		s->opj_msg[0] = '\0';
		return s->kept;
	}
	ts_jp2_opj_forget(s);
	return start_codec(s);
}

/* After a good decode on a fresh codec: keep it when the source may, the
 * window was small enough and the decoded-tile cache lends the memory;
 * else destroy it. */
static void keep_or_stop(struct jp2_source *s, struct jp2_codec *c, int r, uint64_t win_px)
{
	size_t n = kept_bytes(s);

	if (s->reusable && !s->kept && win_px <= KEEP_WINDOW_PX &&
	    ts_tile_cache_reserve(s->tiles, n)) {
		c->reduce = r;
		c->charged = n;
		s->kept = c;
		return;
	}
	stop_codec(c);
}

ts_status ts_jp2_opj_decode(struct jp2_source *s, int level, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h, struct ts_image *out, struct ts_error *err)
{
	struct jp2_codec *dec = NULL;
	opj_image_t *image;
	uint64_t bx, by, ax0, ay0, ax1, ay1;
	uint32_t *colx = NULL, cx0[5], cy0[5];
	int r = level, need, idx[5], ncol, ch_out = s->base.info.channels, k, alpha_idx;
	ts_status status;
	uint32_t i, j;
	size_t ncolx;
	bool plain, kept;

	memset(out, 0, sizeof *out);
	s->threads = atomic_fetch_add(&decodes_running, 1) == 0 ? JP2_THREADS : 0;
	dec = take_codec(s, r, &kept);
	s->threads = 0;
	if (!dec) {
		status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "OpenJPEG header: %s", s->opj_msg);
		goto fail;
	}
	image = dec->image;
	/* Level pixel (0,0) is reduced-grid column ceil(X0 / 2^r); map the window
	 * back to the reference grid (see the file comment). */
	bx = ts_jp2_ceil_pow2(s->x0, r);
	by = ts_jp2_ceil_pow2(s->y0, r);
	ax0 = (bx + x) << r;
	ay0 = (by + y) << r;
	ax1 = (bx + x + w) << r;
	ay1 = (by + y + h) << r;
	if (ax1 > s->x1)
		ax1 = s->x1;
	if (ay1 > s->y1)
		ay1 = s->y1;
	/* Subsampled components: pixel X takes sample floor(X / dx), which
	 * a window starting at an odd X would not decode (OpenJPEG starts at
	 * ceil(X0 / dx)); start at a multiple of every dx (and dy) instead. */
	ax0 -= ax0 % ((uint64_t)s->sub_x << r);
	ay0 -= ay0 % ((uint64_t)s->sub_y << r);
	ax0 = ax0 < s->x0 ? s->x0 : ax0;
	ay0 = ay0 < s->y0 ? s->y0 : ay0;
	/* HT code-blocks: whole tiles only (jp2_internal.h); the copy below
	 * picks the window out of the larger decoded area. */
	if (s->ht) {
		ax0 = s->tx0 + (ax0 - s->tx0) / s->tw * s->tw;
		ay0 = s->ty0 + (ay0 - s->ty0) / s->th * s->th;
		ax1 = s->tx0 + (ax1 - s->tx0 + s->tw - 1) / s->tw * s->tw;
		ay1 = s->ty0 + (ay1 - s->ty0 + s->th - 1) / s->th * s->th;
		ax0 = ax0 < s->x0 ? s->x0 : ax0;
		ay0 = ay0 < s->y0 ? s->y0 : ay0;
		ax1 = ax1 > s->x1 ? s->x1 : ax1;
		ay1 = ay1 > s->y1 ? s->y1 : ay1;
	}
	status = ts_jp2_header_check_tiles(s, ax0, ay0, ax1, ay1, err);
	if (status)
		goto fail;
	/* The area is in reference-grid coordinates, clipped to the header's
	 * size (s->x1, s->y1), never to image's, which a used codec leaves at
	 * its last window. */
	if ((!kept && !opj_set_decoded_resolution_factor(dec->codec, (OPJ_UINT32)r)) ||
	    !opj_set_decode_area(dec->codec, image, (OPJ_INT32)ax0, (OPJ_INT32)ay0,
	                         (OPJ_INT32)ax1, (OPJ_INT32)ay1)) {
		status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "OpenJPEG window: %s", s->opj_msg);
		goto fail;
	}
	/* A codec that may be kept is not ended (it could not decode again).
	 * A kept codec reads nothing, so the deadline cannot stop its decode
	 * (stream_read); its windows cost a fifth of a fresh codec's. */
	if (!opj_decode(dec->codec, dec->stream, image) ||
	    (!s->reusable && !opj_end_decompress(dec->codec, dec->stream))) {
		status = ts_deadline_check(err);   /* stopped by stream_read */
		if (status)
			goto fail;
		status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "OpenJPEG decode: %s", s->opj_msg);
		goto fail;
	}

	/* Which decoded components feed which output channels. */
	ncol = s->colour_comps;
	alpha_idx = -1;
	if (s->alpha) {
		for (k = 0; k < (int)image->numcomps; k++)
			if (image->comps[k].alpha)
				alpha_idx = k;
		if (alpha_idx < 0)
			alpha_idx = ncol;
	}
	/* Colour from the first components that are not the alpha one. */
	need = 0;
	for (k = 0; need < ncol && k < (int)image->numcomps; k++)
		if (k != alpha_idx)
			idx[need++] = k;
	if (need < ncol) {
		status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "JPEG 2000: %u components decoded, %d needed",
		                image->numcomps, ncol);
		goto fail;
	}
	if (alpha_idx >= 0)
		idx[need++] = alpha_idx;
	for (k = 0; k < need; k++) {
		const opj_image_comp_t *c;
		if (idx[k] >= (int)image->numcomps || !image->comps[idx[k]].data) {
			status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
			ts_error_detail(err, "JPEG 2000: %u components decoded, %d needed",
			                image->numcomps, need);
			goto fail;
		}
		c = &image->comps[idx[k]];
		if (c->prec < 1 || c->prec > 16 || c->w == 0 || c->h == 0 || c->dx == 0 ||
		    c->dy == 0) {
			status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
			ts_error_detail(err, "JPEG 2000: decoded component %d is %ux%u, %u bits",
			                idx[k], c->w, c->h, c->prec);
			goto fail;
		}
	}

	status = ts_image_alloc(out, w, h, ch_out, err);
	if (status)
		goto fail;
	/* Column lookup per component (the decoded grid may be subsampled). */
	if (!ts_mul_size(w, (size_t)need, &ncolx) || !(colx = malloc(ncolx * sizeof *colx))) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	/* Where each component's decoded samples start, in its own reduced
	 * grid.  Computed from the window's far edge and the decoded size
	 * (ceil(ceil(ax1 / dx) / 2^r) - w): OpenJPEG 2.5 leaves comps[].x0 at
	 * full resolution, and this way we do not depend on that detail. */
	for (k = 0; k < need; k++) {
		const opj_image_comp_t *c = &image->comps[idx[k]];
		cx0[k] = ts_jp2_ceil_pow2(ts_jp2_ceil_div((uint32_t)ax1, c->dx), r) - c->w;
		cy0[k] = ts_jp2_ceil_pow2(ts_jp2_ceil_div((uint32_t)ay1, c->dy), r) - c->h;
		if (cx0[k] > ts_jp2_ceil_pow2(ts_jp2_ceil_div((uint32_t)ax1, c->dx), r) ||
		    cy0[k] > ts_jp2_ceil_pow2(ts_jp2_ceil_div((uint32_t)ay1, c->dy), r)) {
			status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
			ts_error_detail(err, "JPEG 2000: decoded component larger than its window");
			goto fail;
		}
		for (i = 0; i < w; i++)
			colx[(size_t)k * w + i] = comp_index(bx + x + i, r, c->dx, cx0[k], c->w);
	}
	/* The common case, 8-bit unsigned grey or RGB (+ alpha) read from a
	 * contiguous run of samples: each output byte is one sample clamped,
	 * without to8's general scaling (profiled: the per-sample path was a
	 * fifth of the CPU of an HTJ2K first walk). */
	plain = !s->cmyk && !s->ycc && need == ch_out;
	for (k = 0; plain && k < need; k++) {
		const opj_image_comp_t *c = &image->comps[idx[k]];
		plain = c->prec == 8 && !c->sgnd &&
		        colx[(size_t)k * w + w - 1] == colx[(size_t)k * w] + w - 1;
	}
	for (j = 0; j < h; j++) {
		uint8_t *row = out->pixels + (size_t)j * out->stride;
		const OPJ_INT32 *src[5];
		int v[5];
		for (k = 0; k < need; k++) {
			const opj_image_comp_t *c = &image->comps[idx[k]];
			uint32_t rj = comp_index(by + y + j, r, c->dy, cy0[k], c->h);
			src[k] = c->data + (size_t)rj * c->w;
		}
		if (plain) {
			for (k = 0; k < need; k++)
				src[k] += colx[(size_t)k * w];
			ts_jp2_pack_row(src, need, row, w);
			continue;
		}
		for (i = 0; i < w; i++) {
			for (k = 0; k < need; k++)
				v[k] = ts_jp2_sample8(image->comps[idx[k]].prec, image->comps[idx[k]].sgnd,
				                      src[k][colx[(size_t)k * w + i]]);
			if (ncol == 1) {
				row[0] = (uint8_t)v[0];
			} else if (s->cmyk) {
				/* Plain (non-inverted) CMYK to RGB. */
				row[0] = (uint8_t)((255 - v[0]) * (255 - v[3]) / 255);
				row[1] = (uint8_t)((255 - v[1]) * (255 - v[3]) / 255);
				row[2] = (uint8_t)((255 - v[2]) * (255 - v[3]) / 255);
			} else if (s->ycc) {
				/* sYCC (IEC 61966-2-1 Amd 1): full-range BT.601. */
				double Y = v[0], cb = v[1] - 128.0, cr = v[2] - 128.0;
				row[0] = clamp8(Y + 1.402 * cr);
				row[1] = clamp8(Y - 0.344136 * cb - 0.714136 * cr);
				row[2] = clamp8(Y + 1.772 * cb);
			} else {
				row[0] = (uint8_t)v[0];
				row[1] = (uint8_t)v[1];
				row[2] = (uint8_t)v[2];
			}
			if (alpha_idx >= 0)
				row[ch_out - 1] = (uint8_t)v[need - 1];
			row += ch_out;
		}
	}
	free(colx);
	/* The window's samples are copied: free them now rather than hold
	 * them in a kept codec until its next window. */
	for (k = 0; k < (int)image->numcomps; k++) {
		opj_image_data_free(image->comps[k].data);
		image->comps[k].data = NULL;
	}
	if (kept) {
		atomic_fetch_add(&reuses, 1);
		if ((uint64_t)w * h > KEEP_WINDOW_PX)
			ts_jp2_opj_forget(s);   /* it now holds that window's code-blocks */
	} else {
		keep_or_stop(s, dec, r, (uint64_t)w * h);
	}
	atomic_fetch_sub(&decodes_running, 1);
	return TS_OK;

fail:
	free(colx);
	ts_image_free(out);
	/* After any failure the codec goes: OpenJPEG's state is unknown. */
	if (kept)
		ts_jp2_opj_forget(s);
	else
		stop_codec(dec);
	atomic_fetch_sub(&decodes_running, 1);
	return status;
}

ts_status ts_jp2_opj_probe(struct jp2_source *s, enum jp2_colour_space *cs,
                           struct ts_error *err)
{
	struct jp2_codec *c = start_codec(s);

	*cs = JP2_CS_OTHER;
	if (!c) {
		ts_error_set(err, TS_EINTERNAL, "corrupt codestream");
		ts_error_detail(err, "OpenJPEG: %s", s->opj_msg);
		return TS_EINTERNAL;
	}
	if (c->image->color_space == OPJ_CLRSPC_SRGB)
		*cs = JP2_CS_SRGB;
	else if (c->image->color_space == OPJ_CLRSPC_SYCC)
		*cs = JP2_CS_SYCC;
	else if (c->image->color_space == OPJ_CLRSPC_CMYK)
		*cs = JP2_CS_CMYK;
	stop_codec(c);
	return TS_OK;
}
