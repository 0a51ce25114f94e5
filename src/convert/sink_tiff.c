/*
 * sink_tiff.c - the pyramidal tiled TIFF level sink (convert.h).
 *
 * Rows of each level gather in that level's band buffer (tile height rows
 * of the level's width).  When a band is full, or the level ends, it is cut
 * into tiles; each tile is copied (edges padded by repeating the last
 * column and row, which keeps JPEG edges clean) into a job and queued for
 * the encoder threads, the time-consuming part.  An encoder thread
 * compresses the tile and appends it to the file (tiff_file.c records
 * where), so the converting thread goes straight back to decoding while
 * the tiles of the previous band are being compressed: decoding and
 * encoding overlap, and memory stays at one band per level plus a few
 * tiles in flight.  A tile that finishes before the one ahead of it in
 * its level waits in its slot, so each level's tiles reach the file in
 * raster order (levels interleave: tiff_file.c keeps the offsets).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/checked.h"
#include "tessera/convert.h"
#include "out_file.h"
#include "tiff_file.h"
#include "tile_encode.h"

struct job {
	int level;
	uint32_t col, row;
	uint64_t seq;               /* the tile's rank in its level */
	uint8_t *pix;
	unsigned char *enc;         /* the compressed tile, once encoded */
	size_t enc_len, enc_cap;
	bool done;                  /* encoded, waiting for its turn to be written */
};

struct level_band {
	struct ts_image band;       /* tile_h rows of the level's width */
	uint32_t width, height;
	uint32_t band_y;            /* level row of the band's first row */
	uint32_t filled;            /* rows in the band so far */
};

struct sink_tiff {
	struct ts_level_sink base;
	struct ts_convert_opts o;
	char *out, *tmp;
	struct ts_tiff_file *file;
	int nlevels, ch_in, ch_out;
	uint32_t tw, th;
	uint16_t compression;
	unsigned char *tables;
	size_t tables_len;
	unsigned char *icc;
	size_t icc_len;
	struct level_band lv[32];
	uint64_t submitted[32], written[32];   /* tiles per level, in order */
	/* the encoder threads */
	pthread_t *threads;
	int nthreads, started;
	pthread_mutex_t m;
	pthread_cond_t work, idle;
	struct job *jobs;
	int njobs;
	int *pending, npending, head;   /* ring of queued job indices */
	int *freelist, nfree;
	bool stop;
	ts_status failed;               /* first encoder failure */
	struct ts_error ferr;
};

/* ---- the encoder threads ------------------------------------------------ */

/* Under s->m: write, in order, the encoded tiles of level k whose turn has
 * come, and free their slots.  Tiles finish out of order on several
 * threads; each level's tiles still reach the file in raster order. */
static void write_in_order(struct sink_tiff *s, int k)
{
	bool again = true;
	int i;

	while (again) {
		again = false;
		for (i = 0; i < s->njobs; i++) {
			struct job *j = &s->jobs[i];
			struct ts_error err;
			ts_status st;

			if (!j->done || j->level != k || j->seq != s->written[k])
				continue;
			ts_error_clear(&err);
			st = s->failed ? TS_OK : ts_tiff_file_tile(s->file, k, j->col, j->row, j->enc,
			                                             j->enc_len, &err);
			if (st != TS_OK && !s->failed) {
				s->failed = st;
				s->ferr = err;
			}
			j->done = false;
			s->written[k]++;
			s->freelist[s->nfree++] = i;
			again = true;
		}
	}
}

/* Under s->m, after a failure: free every slot left waiting for its turn. */
static void drop_waiting(struct sink_tiff *s)
{
	int i;

	for (i = 0; i < s->njobs; i++)
		if (s->jobs[i].done) {
			s->jobs[i].done = false;
			s->freelist[s->nfree++] = i;
		}
}

static void *worker_main(void *arg)
{
	struct sink_tiff *s = arg;
	struct ts_tile_encoder *enc = NULL;
	struct ts_error err;
	ts_status st;

	ts_error_clear(&err);
	st = ts_tile_encoder_create(s->o.compression, s->o.quality, s->o.chroma_444, s->ch_out,
	                            s->tw, s->th, &enc, &err);
	pthread_mutex_lock(&s->m);
	if (st != TS_OK && !s->failed) {
		s->failed = st;
		s->ferr = err;
	}
	for (;;) {
		struct job *j;
		const unsigned char *data;
		size_t len;
		int idx;

		while (s->npending == 0 && !s->stop)
			pthread_cond_wait(&s->work, &s->m);
		if (s->npending == 0)
			break;
		idx = s->pending[s->head];
		s->head = (s->head + 1) % s->njobs;
		s->npending--;
		j = &s->jobs[idx];
		st = s->failed;
		pthread_mutex_unlock(&s->m);
		if (st == TS_OK) {
			ts_error_clear(&err);
			st = ts_tile_encode(enc, j->pix, &data, &len, &err);
			if (st == TS_OK && len > j->enc_cap) {
				unsigned char *p = realloc(j->enc, len);

				if (p) {
					j->enc = p;
					j->enc_cap = len;
				} else {
					st = ts_error_set(&err, TS_EINTERNAL, "out of memory");
				}
			}
			if (st == TS_OK) {
				memcpy(j->enc, data, len);
				j->enc_len = len;
			}
		} else {
			st = TS_OK;   /* already failed: just drain */
		}
		pthread_mutex_lock(&s->m);
		if (st != TS_OK && !s->failed) {
			s->failed = st;
			s->ferr = err;
		}
		if (s->failed) {
			drop_waiting(s);
			s->freelist[s->nfree++] = idx;
		} else {
			j->done = true;
			write_in_order(s, j->level);
		}
		pthread_cond_broadcast(&s->idle);
	}
	pthread_mutex_unlock(&s->m);
	ts_tile_encoder_destroy(enc);
	return NULL;
}

static ts_status pool_start(struct sink_tiff *s, struct ts_error *err)
{
	size_t tile_bytes;
	int i;

	s->nthreads = s->o.threads > 0 ? s->o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (s->nthreads < 1)
		s->nthreads = 1;
	if (s->nthreads > 64)
		s->nthreads = 64;
	s->njobs = 2 * s->nthreads + 2;
	if (!ts_mul3_size(s->tw, s->th, (size_t)s->ch_out, &tile_bytes))
		return ts_error_set(err, TS_EINTERNAL, "tile size too large");
	s->jobs = calloc((size_t)s->njobs, sizeof *s->jobs);
	s->pending = calloc((size_t)s->njobs, sizeof *s->pending);
	s->freelist = calloc((size_t)s->njobs, sizeof *s->freelist);
	s->threads = calloc((size_t)s->nthreads, sizeof *s->threads);
	if (!s->jobs || !s->pending || !s->freelist || !s->threads)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	for (i = 0; i < s->njobs; i++) {
		if (!(s->jobs[i].pix = malloc(tile_bytes)))
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		s->freelist[s->nfree++] = i;
	}
	for (i = 0; i < s->nthreads; i++) {
		if (pthread_create(&s->threads[i], NULL, worker_main, s) != 0)
			return ts_error_set(err, TS_EINTERNAL, "cannot start the encoder threads");
		s->started++;
	}
	return TS_OK;
}

/* Wait for every queued tile, stop the threads. */
static void pool_stop(struct sink_tiff *s)
{
	int i;

	if (!s->started)
		return;
	pthread_mutex_lock(&s->m);
	s->stop = true;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->m);
	for (i = 0; i < s->started; i++)
		pthread_join(s->threads[i], NULL);
	s->started = 0;
}

/* ---- tiles ------------------------------------------------------------ */

/* Copy tile (col) of the band `rows` (vh rows of level L, `stride` bytes
 * apart) into pix, converting ch_in to ch_out and repeating the last
 * column and row past the level's edge. */
static void cut_tile(const struct sink_tiff *s, const struct level_band *L, const uint8_t *rows,
                     size_t stride, uint32_t vh, uint32_t col, uint8_t *pix)
{
	uint32_t x0 = col * s->tw, vw = L->width - x0 < s->tw ? L->width - x0 : s->tw;
	uint32_t y, x;
	int ci = s->ch_in, co = s->ch_out, c;
	size_t orow = (size_t)s->tw * (size_t)co;

	for (y = 0; y < s->th; y++) {
		const uint8_t *src = rows + (size_t)(y < vh ? y : vh - 1) * stride +
		                     (size_t)x0 * (size_t)ci;
		uint8_t *dst = pix + (size_t)y * orow;

		if (y >= vh) {   /* below the level: repeat the last row */
			memcpy(dst, dst - orow, orow);
			continue;
		}
		if (ci == co) {
			memcpy(dst, src, (size_t)vw * (size_t)ci);
		} else {
			for (x = 0; x < vw; x++, src += ci, dst += co) {
				if (co < ci) {            /* alpha dropped */
					for (c = 0; c < co; c++)
						dst[c] = src[c];
				} else {                  /* gray to RGB, alpha kept */
					dst[0] = dst[1] = dst[2] = src[0];
					if (co == 4)
						dst[3] = ci == 2 ? src[1] : 255;
				}
			}
			dst = pix + (size_t)y * orow;
		}
		for (x = vw; x < s->tw; x++)   /* right of the level: repeat */
			memcpy(dst + (size_t)x * co, dst + (size_t)(vw - 1) * co, (size_t)co);
	}
}

/* Queue the tiles of one band of level k: vh rows at `rows` (the level's
 * band buffer, or the caller's rows when they hold a whole band). */
static ts_status flush_band(struct sink_tiff *s, int k, const uint8_t *rows, size_t stride,
                            uint32_t vh, struct ts_error *err)
{
	struct level_band *L = &s->lv[k];
	uint32_t across = L->width / s->tw + (L->width % s->tw != 0), col;
	ts_status st;

	for (col = 0; col < across; col++) {
		struct job *j;
		int idx;

		pthread_mutex_lock(&s->m);
		while (s->nfree == 0 && !s->failed)
			pthread_cond_wait(&s->idle, &s->m);
		if (s->failed) {
			st = s->failed;
			*err = s->ferr;
			pthread_mutex_unlock(&s->m);
			return st;
		}
		idx = s->freelist[--s->nfree];
		pthread_mutex_unlock(&s->m);
		j = &s->jobs[idx];
		j->level = k;
		j->seq = s->submitted[k]++;
		j->col = col;
		j->row = L->band_y / s->th;
		cut_tile(s, L, rows, stride, vh, col, j->pix);
		pthread_mutex_lock(&s->m);
		s->pending[(s->head + s->npending) % s->njobs] = idx;
		s->npending++;
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->m);
	}
	L->band_y += vh;
	L->filled = 0;
	return TS_OK;
}

/* ---- the sink ------------------------------------------------------------ */

static ts_status tiff_begin(struct ts_level_sink *base, const struct ts_pyramid_geometry *g,
                            const struct ts_rows *src, struct ts_error *err)
{
	struct sink_tiff *s = (struct sink_tiff *)base;
	struct ts_tiff_level d;
	ts_status st;
	int k;

	s->nlevels = g->nlevels;
	s->ch_in = g->channels;
	switch (s->o.compression) {
	case TS_COMP_JPEG: s->ch_out = s->ch_in >= 3 ? 3 : 1; break;
	case TS_COMP_WEBP: s->ch_out = (s->ch_in == 2 || s->ch_in == 4) ? 4 : 3; break;
	default: s->ch_out = s->ch_in; break;
	}
	if (src->icc && src->icc_len) {
		if (!(s->icc = malloc(src->icc_len)))
			return ts_error_set(err, TS_EINTERNAL, "out of memory");
		memcpy(s->icc, src->icc, src->icc_len);
		s->icc_len = src->icc_len;
	}
	if (s->o.compression == TS_COMP_JPEG) {
		st = ts_tile_jpeg_tables(s->o.quality, s->o.chroma_444, s->ch_out, &s->tables,
		                         &s->tables_len, err);
		if (st != TS_OK)
			return st;
	}
	st = ts_tiff_file_create(s->tmp, g->nlevels, &s->file, err);
	if (st != TS_OK)
		return st;
	for (k = 0; k < g->nlevels; k++) {
		double f = (double)(1u << (k < 31 ? k : 31));

		memset(&d, 0, sizeof d);
		d.width = g->width[k];
		d.height = g->height[k];
		d.tile_w = s->tw;
		d.tile_h = s->th;
		d.spp = s->ch_out;
		d.alpha = s->ch_out == 2 || s->ch_out == 4;
		d.compression = s->compression;
		if (s->ch_out <= 2)
			d.photometric = 1;
		else if (s->o.compression == TS_COMP_JPEG)
			d.photometric = 6;
		else
			d.photometric = 2;
		d.ycbcr_sub = d.photometric == 6 ? (s->o.chroma_444 ? 1 : 2) : 0;
		d.reduced = k > 0;
		d.jpegtables = s->tables;
		d.jpegtables_len = s->tables_len;
		d.icc = s->icc;
		d.icc_len = s->icc_len;
		if (src->xres > 0 && src->yres > 0) {
			d.xres = src->xres / f;
			d.yres = src->yres / f;
		}
		st = ts_tiff_file_level(s->file, k, &d, err);
		if (st != TS_OK)
			return st;
		s->lv[k].width = g->width[k];
		s->lv[k].height = g->height[k];
		st = ts_image_alloc(&s->lv[k].band, g->width[k],
		                    g->height[k] < s->th ? g->height[k] : s->th, s->ch_in, err);
		if (st != TS_OK)
			return st;
	}
	return pool_start(s, err);
}

static ts_status tiff_rows(struct ts_level_sink *base, int level, uint32_t y,
                           const struct ts_image *band, struct ts_error *err)
{
	struct sink_tiff *s = (struct sink_tiff *)base;
	struct level_band *L;
	uint32_t done = 0;
	size_t rowbytes;
	ts_status st;

	if (level < 0 || level >= s->nlevels)
		return ts_error_set(err, TS_EINTERNAL, "rows for a level that does not exist");
	L = &s->lv[level];
	if (y != L->band_y + L->filled || band->width != L->width ||
	    band->channels != s->ch_in || y + band->height > L->height)
		return ts_error_set(err, TS_EINTERNAL, "pyramid rows out of order");
	rowbytes = (size_t)L->width * (size_t)s->ch_in;
	while (done < band->height) {
		uint32_t room = s->th - L->filled, n = band->height - done, i;

		/* A whole band in the caller's rows (level 0, bands aligned to
		 * the tiles): cut the tiles from there, without the copy. */
		if (L->filled == 0 && (n >= s->th || L->band_y + n == L->height)) {
			uint32_t vh = n < s->th ? n : s->th;

			st = flush_band(s, level, band->pixels + (size_t)done * band->stride,
			                band->stride, vh, err);
			if (st != TS_OK)
				return st;
			done += vh;
			continue;
		}
		if (n > room)
			n = room;
		for (i = 0; i < n; i++)
			memcpy(L->band.pixels + (size_t)(L->filled + i) * L->band.stride,
			       band->pixels + (size_t)(done + i) * band->stride, rowbytes);
		L->filled += n;
		done += n;
		if (L->filled == s->th || L->band_y + L->filled == L->height) {
			st = flush_band(s, level, L->band.pixels, L->band.stride, L->filled, err);
			if (st != TS_OK)
				return st;
		}
	}
	return TS_OK;
}

static ts_status tiff_finish(struct ts_level_sink *base, struct ts_error *err)
{
	struct sink_tiff *s = (struct sink_tiff *)base;
	ts_status st;

	pool_stop(s);
	if (s->failed) {
		*err = s->ferr;
		return s->failed;
	}
	st = ts_tiff_file_finish(s->file, s->o.tiff_subifds, false, err);
	if (st != TS_OK)
		return st;
	return ts_out_file_commit(&s->tmp, s->out, err);
}

static void tiff_abort(struct ts_level_sink *base)
{
	struct sink_tiff *s = (struct sink_tiff *)base;

	pthread_mutex_lock(&s->m);
	if (!s->failed)
		s->failed = TS_EUNAVAILABLE;   /* workers drain without encoding */
	pthread_mutex_unlock(&s->m);
	pool_stop(s);
	ts_tiff_file_destroy(s->file);
	s->file = NULL;
	ts_out_file_discard(&s->tmp);
}

static void tiff_destroy(struct ts_level_sink *base)
{
	struct sink_tiff *s = (struct sink_tiff *)base;
	int i;

	if (!s)
		return;
	pool_stop(s);
	ts_tiff_file_destroy(s->file);
	ts_out_file_discard(&s->tmp);
	for (i = 0; i < 32; i++)
		ts_image_free(&s->lv[i].band);
	for (i = 0; s->jobs && i < s->njobs; i++) {
		free(s->jobs[i].pix);
		free(s->jobs[i].enc);
	}
	free(s->jobs);
	free(s->pending);
	free(s->freelist);
	free(s->threads);
	free(s->tables);
	free(s->icc);
	free(s->out);
	pthread_mutex_destroy(&s->m);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->idle);
	free(s);
}

ts_status ts_sink_tiff_new(const char *out, const struct ts_convert_opts *o,
                           struct ts_level_sink **sink, struct ts_error *err)
{
	struct sink_tiff *s;

	*sink = NULL;
	if (o->tile < 16 || o->tile > 4096 || o->tile % 16)
		return ts_error_set(err, TS_EBADREQUEST,
		                    "TIFF tile size must be a multiple of 16 from 16 to 4096");
	s = calloc(1, sizeof *s);
	if (!s)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	pthread_mutex_init(&s->m, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->base.begin = tiff_begin;
	s->base.rows = tiff_rows;
	s->base.finish = tiff_finish;
	s->base.abort = tiff_abort;
	s->base.destroy = tiff_destroy;
	s->o = *o;
	s->tw = s->th = o->tile;
	s->compression = ts_tile_tiff_compression(o->compression);
	s->out = strdup(out);
	s->tmp = ts_convert_temp_path(out);
	if (!s->out || !s->tmp) {
		tiff_destroy(&s->base);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	if (s->compression == 0) {
		tiff_destroy(&s->base);
		return ts_error_set(err, TS_ENOTIMPL, "this compression is not available for TIFF "
		                    "(libtiff was built without it)");
	}
	*sink = &s->base;
	return TS_OK;
}
