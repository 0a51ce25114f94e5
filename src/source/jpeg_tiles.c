/*
 * jpeg_tiles.c - stored JPEG tiles of one level decoded into a mosaic,
 * scaled in the DCT domain and spread over the decode workers, or handed
 * out whole for an answer made from their coefficients (contract in
 * jpeg_tiles.h).
 *
 * Where it sits: tiff_scaled.c's read_region_scaled gathers where each tile
 * lives (sequentially, since a libtiff handle is not thread-safe) and hands
 * the list here; each thread then preads a tile, splices the level's tables
 * in front of it (ts_jpeg_join, as pass-through does) and decompresses it
 * with its own TurboJPEG handle.
 *
 * The idea that makes scaling cheap: libjpeg-turbo can run a smaller
 * inverse DCT (4x4, 2x2 or 1x1 per 8x8 block), which yields the tile at
 * 1/2, 1/4 or 1/8 size for a fraction of the work, close to an area
 * average of the full decode.  A tile's scaled pixels line up with the
 * mosaic because tile sizes and the mosaic origin are multiples of the
 * denominator.  The one exception is the last row or column of tiles when
 * the image size is not a multiple of it: there a scaled pixel would mix
 * image and padding, so such a tile is decoded at the largest scale that
 * divides its valid size and averaged down here over its valid pixels only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <turbojpeg.h>
#include "tessera/buf.h"
#include "tessera/checked.h"
#include "tessera/passthrough.h"
#include "jpeg_tiles.h"
#include "jpeg_window.h"
#include "tessera/deadline.h"
#include "tile_pool.h"

/* Per-thread buffers larger than this are not kept between tiles. */
#define KEEP_BYTES ((size_t)8 << 20)

/* What each thread keeps between tiles: its decompressor and buffers. */
struct thread_state {
	tjhandle tj;
	struct ts_jpeg_window *win; /* for tiles only partly needed; made on first use */
	struct ts_buf raw;          /* the stored tile */
	struct ts_buf joined;       /* tables + tile */
	struct ts_buf cut;          /* joined, cut to the rows needed */
	uint8_t *scratch;           /* a decoded tile that is not copied whole */
	size_t scratch_size;
};

static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static bool state_key_ok;

static void state_free(void *p)
{
	struct thread_state *ts = p;

	if (!ts)
		return;
	if (ts->tj)
		tjDestroy(ts->tj);
	ts_jpeg_window_free(ts->win);
	ts_buf_free(&ts->raw);
	ts_buf_free(&ts->joined);
	ts_buf_free(&ts->cut);
	free(ts->scratch);
	free(ts);
}

static void state_key_create(void)
{
	state_key_ok = pthread_key_create(&state_key, state_free) == 0;
}

/* This thread's state, made on first use; NULL when out of memory.  The
 * key's destructor frees it when a request thread ends; workers live on. */
static struct thread_state *state_get(void)
{
	struct thread_state *ts;

	pthread_once(&state_once, state_key_create);
	if (!state_key_ok)
		return NULL;
	ts = pthread_getspecific(state_key);
	if (ts)
		return ts;
	ts = calloc(1, sizeof *ts);
	if (!ts)
		return NULL;
	ts->tj = tjInitDecompress();
	if (!ts->tj || pthread_setspecific(state_key, ts) != 0) {
		state_free(ts);
		return NULL;
	}
	return ts;
}

static void state_trim(struct thread_state *ts)
{
	if (ts->raw.cap > KEEP_BYTES)
		ts_buf_free(&ts->raw);
	if (ts->joined.cap > KEEP_BYTES)
		ts_buf_free(&ts->joined);
	if (ts->cut.cap > KEEP_BYTES)
		ts_buf_free(&ts->cut);
	if (ts->scratch_size > KEEP_BYTES) {
		free(ts->scratch);
		ts->scratch = NULL;
		ts->scratch_size = 0;
	}
}

int ts_jpeg_tile_denom(const struct ts_jpeg_level *lv, const struct ts_jpeg_tile *t,
                       int denom)
{
	int d = denom;

	/* Only a tile cut by the image edge can have a valid size the
	 * denominator does not divide (tile sizes are checked by the caller). */
	while (d > 1 && ((t->valid_w < lv->tile_w && t->valid_w % (uint32_t)d) ||
	                 (t->valid_h < lv->tile_h && t->valid_h % (uint32_t)d)))
		d /= 2;
	return d;
}

struct tile_result {
	ts_status status;
	char detail[240];
};

struct batch {
	const struct ts_jpeg_level *lv;
	const struct ts_jpeg_tile *tiles;
	int denom;
	uint32_t origin_x, origin_y;
	struct ts_image *out;
	struct tile_result *results;
};

static bool read_tile(int fd, const struct ts_jpeg_tile *t, struct ts_buf *raw)
{
	size_t got = 0, want = (size_t)t->bytes;
	ssize_t n;

	ts_buf_clear(raw);
	if (!ts_buf_reserve(raw, want))
		return false;
	while (got < want) {
		n = pread(fd, raw->data + got, want - got, (off_t)(t->offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	raw->len = want;
	return true;
}

/* Copy (f == 1) or average down by f the decoded tile in src (sw pixels
 * wide, vw x vh of it valid) into the mosaic, at mosaic column base_u and
 * row base_v (which may be negative: the mosaic can start inside the tile). */
static void place(const struct batch *b, const uint8_t *src, size_t src_stride, uint32_t vw,
                  uint32_t vh, uint32_t f, int64_t base_u, int64_t base_v)
{
	struct ts_image *out = b->out;
	int nc = out->channels, c;
	/* The tile's extent in mosaic pixels: its valid part at 1/denom. */
	int64_t tw = (vw + f - 1) / f, th = (vh + f - 1) / f;
	int64_t i0 = base_u < 0 ? -base_u : 0, j0 = base_v < 0 ? -base_v : 0;
	int64_t i1 = tw, j1 = th, i, j;

	if (base_u + i1 > out->width)
		i1 = out->width - base_u;
	if (base_v + j1 > out->height)
		j1 = out->height - base_v;
	for (j = j0; j < j1; j++) {
		uint8_t *dst = out->pixels + (size_t)(base_v + j) * out->stride +
		               (size_t)(base_u + i0) * (size_t)nc;

		if (f == 1) {
			if (i1 > i0)
				memcpy(dst, src + (size_t)j * src_stride + (size_t)i0 * (size_t)nc,
				       (size_t)(i1 - i0) * (size_t)nc);
			continue;
		}
		for (i = i0; i < i1; i++, dst += nc) {
			uint32_t x0 = (uint32_t)i * f, y0 = (uint32_t)j * f;
			uint32_t x1 = x0 + f < vw ? x0 + f : vw, y1 = y0 + f < vh ? y0 + f : vh;
			uint32_t count = (x1 - x0) * (y1 - y0), x, y;

			for (c = 0; c < nc; c++) {
				uint32_t sum = 0;

				for (y = y0; y < y1; y++)
					for (x = x0; x < x1; x++)
						sum += src[(size_t)y * src_stride + (size_t)x * nc + c];
				dst[c] = (uint8_t)((sum + count / 2) / count);
			}
		}
	}
}

/* Read tile t, splice the tables in front and check its header against
 * the directory: ts->joined then holds a stream of exactly tile_w x
 * tile_h, its sampling and colour space in *sub and *cs.  On failure r
 * says why. */
static bool load_tile(const struct ts_jpeg_level *lv, const struct ts_jpeg_tile *t,
                      struct thread_state *ts, struct tile_result *r, int *sub, int *cs)
{
	struct ts_error jerr = { 0 };
	int jw = 0, jh = 0;

	if (!ts) {
		r->status = TS_EINTERNAL;
		snprintf(r->detail, sizeof r->detail, "out of memory (decoder state)");
		return false;
	}
	if (t->bytes < 4 || t->bytes > lv->max_tile_bytes) {
		r->status = TS_EINTERNAL;
		snprintf(r->detail, sizeof r->detail, "stored size %llu",
		         (unsigned long long)t->bytes);
		return false;
	}
	if (!read_tile(lv->fd, t, &ts->raw)) {
		r->status = TS_EINTERNAL;
		snprintf(r->detail, sizeof r->detail, "short read of %llu bytes at %llu",
		         (unsigned long long)t->bytes, (unsigned long long)t->offset);
		return false;
	}
	ts_buf_clear(&ts->joined);
	if (ts_jpeg_join(lv->tables, lv->tables_len, ts->raw.data, ts->raw.len, lv->rgb,
	                 &ts->joined, &jerr) != TS_OK) {
		r->status = TS_EINTERNAL;
		snprintf(r->detail, sizeof r->detail, "%.200s", jerr.msg);
		return false;
	}
	/* The stream must be the size the directory promised: everything we
	 * index below was sized from the directory. */
	if (tjDecompressHeader3(ts->tj, ts->joined.data, (unsigned long)ts->joined.len, &jw, &jh,
	                        sub, cs) != 0 ||
	    (uint32_t)jw != lv->tile_w || (uint32_t)jh != lv->tile_h) {
		r->status = TS_EINTERNAL;
		snprintf(r->detail, sizeof r->detail, "JPEG header %dx%d (want %ux%u): %s", jw, jh,
		         lv->tile_w, lv->tile_h, tjGetErrorStr2(ts->tj));
		return false;
	}
	return true;
}

static void decode_one(void *arg, size_t k)
{
	struct batch *b = arg;
	const struct ts_jpeg_level *lv = b->lv;
	const struct ts_jpeg_tile *t = &b->tiles[k];
	struct tile_result *r = &b->results[k];
	struct ts_image *out = b->out;
	struct thread_state *ts = state_get();
	struct ts_error jerr = { 0 };
	int nc = out->channels, pf = nc == 1 ? TJPF_GRAY : TJPF_RGB;
	int d = ts_jpeg_tile_denom(lv, t, b->denom), sub = 0, cs = 0;
	uint32_t f = (uint32_t)(b->denom / d), sw = lv->tile_w / (uint32_t)d;
	uint32_t sh = lv->tile_h / (uint32_t)d;
	uint32_t vw = (t->valid_w + (uint32_t)d - 1) / (uint32_t)d;
	uint32_t vh = (t->valid_h + (uint32_t)d - 1) / (uint32_t)d;
	int64_t base_u = (int64_t)(t->x / (uint32_t)b->denom) - b->origin_x / (uint32_t)b->denom;
	int64_t base_v = (int64_t)(t->y / (uint32_t)b->denom) - b->origin_y / (uint32_t)b->denom;
	size_t need;
	const struct ts_buf *src;     /* the stream decoded: joined, or cut */
	uint32_t dec_h = sh;          /* its height */

	/* Past the render's deadline the remaining tiles are skipped; the
	 * batch's caller turns that into its 503. */
	if (ts_deadline_passed()) {
		r->status = TS_EUNAVAILABLE;
		if (ts)
			state_trim(ts);
		return;
	}
	if (!load_tile(lv, t, ts, r, &sub, &cs)) {
		if (ts)
			state_trim(ts);
		return;
	}
	src = &ts->joined;

	/* Only part of the tile is needed (the region's edge, or the image's:
	 * an edge tile's padding): decode just that window of it, straight
	 * into the mosaic (jpeg_window.c).  Its pixels are the whole
	 * decode's, so this is only faster. */
	if (f == 1) {
		int64_t i0 = base_u < 0 ? -base_u : 0, j0 = base_v < 0 ? -base_v : 0;
		int64_t i1 = vw < sw ? vw : sw, j1 = vh < sh ? vh : sh;

		if (base_u + i1 > (int64_t)out->width)
			i1 = (int64_t)out->width - base_u;
		if (base_v + j1 > (int64_t)out->height)
			j1 = (int64_t)out->height - base_v;
		if (i1 > i0 && j1 > j0 && (i0 > 0 || j0 > 0 || i1 < sw || j1 < sh)) {
			uint8_t *dst = out->pixels + (size_t)(base_v + j0) * out->stride +
			               (size_t)(base_u + i0) * (size_t)nc;

			if (!ts->win)
				ts->win = ts_jpeg_window_new();
			if (!ts->win) {
				r->status = TS_EINTERNAL;
				snprintf(r->detail, sizeof r->detail, "out of memory (decoder)");
			} else if (!ts_jpeg_window_decode(ts->win, ts->joined.data, ts->joined.len, d,
			                                  nc, (uint32_t)i0, (uint32_t)j0, (uint32_t)i1,
			                                  (uint32_t)j1, dst, out->stride, r->detail,
			                                  sizeof r->detail)) {
				r->status = TS_EINTERNAL;
			}
			goto done;
		}
	}

	/* Only the top rows of the tile are needed (the last row of tiles of
	 * the image, or of the region): at full scale, cut the stream to them
	 * first (ts_jpeg_crop re-packs the kept rows' bits and stops reading
	 * there), so the rows below are never Huffman-decoded nor transformed.
	 * Worth it from a quarter of the tile on; any refusal decodes whole. */
	if (d == 1 && f == 1) {
		int64_t rows = (int64_t)out->height - base_v;
		uint32_t need_h = rows < (int64_t)vh ? (uint32_t)(rows > 0 ? rows : 1) : vh;

		/* Subsampled chroma is interpolated between chroma rows: keep one
		 * MCU row more, so the rows we use see the same neighbours as in
		 * a whole decode. */
		if (sub != TJSAMP_444 && sub != TJSAMP_GRAY)
			need_h = ((need_h + 15) / 16 + 1) * 16;
		if (need_h <= sh - sh / 4) {
			ts_buf_clear(&ts->cut);
			ts_error_clear(&jerr);
			if (ts_jpeg_crop(ts->joined.data, ts->joined.len, sw, need_h, &ts->cut,
			                 &jerr) == TS_OK) {
				src = &ts->cut;
				dec_h = need_h;
			}
		}
	}

	if (src == &ts->joined && f == 1 && base_u >= 0 && base_v >= 0 &&
	    base_u + sw <= out->width && base_v + sh <= out->height) {
		/* The whole scaled tile lands inside the mosaic: no copy. */
		uint8_t *dst = out->pixels + (size_t)base_v * out->stride +
		               (size_t)base_u * (size_t)nc;

		if (tjDecompress2(ts->tj, ts->joined.data, (unsigned long)ts->joined.len, dst,
		                  (int)sw, (int)out->stride, (int)sh, pf, 0) != 0) {
			r->status = TS_EINTERNAL;
			snprintf(r->detail, sizeof r->detail, "%s", tjGetErrorStr2(ts->tj));
		}
		goto done;
	}
	/* Sizes come from checked directory fields (tile <= 2^26 pixels). */
	need = (size_t)sw * dec_h * (size_t)nc;
	if (ts->scratch_size < need) {
		free(ts->scratch);
		ts->scratch_size = 0;
		ts->scratch = malloc(need);
		if (!ts->scratch) {
			r->status = TS_EINTERNAL;
			snprintf(r->detail, sizeof r->detail, "out of memory (tile buffer)");
			goto done;
		}
		ts->scratch_size = need;
	}
	if (tjDecompress2(ts->tj, src->data, (unsigned long)src->len, ts->scratch, (int)sw,
	                  (int)(sw * (uint32_t)nc), (int)dec_h, pf, 0) != 0) {
		r->status = TS_EINTERNAL;
		snprintf(r->detail, sizeof r->detail, "%s", tjGetErrorStr2(ts->tj));
		goto done;
	}
	place(b, ts->scratch, (size_t)sw * (size_t)nc, vw < sw ? vw : sw, vh < dec_h ? vh : dec_h,
	      f, base_u, base_v);
done:
	state_trim(ts);
}

ts_status ts_jpeg_tiles_decode(const struct ts_jpeg_level *lv, const struct ts_jpeg_tile *tiles,
                               size_t n, int denom, uint32_t origin_x, uint32_t origin_y,
                               bool parallel, struct ts_image *out, struct ts_error *err)
{
	struct batch b;
	size_t k;
	ts_status st = TS_OK;

	if ((denom != 1 && denom != 2 && denom != 4 && denom != 8) ||
	    lv->tile_w % (uint32_t)denom || lv->tile_h % (uint32_t)denom ||
	    origin_x % (uint32_t)denom || origin_y % (uint32_t)denom ||
	    (out->channels != 1 && out->channels != 3))
		return ts_error_set(err, TS_EINTERNAL, "internal: bad scaled decode");
	memset(&b, 0, sizeof b);
	b.lv = lv;
	b.tiles = tiles;
	b.denom = denom;
	b.origin_x = origin_x;
	b.origin_y = origin_y;
	b.out = out;
	b.results = calloc(n ? n : 1, sizeof *b.results);
	if (!b.results)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	ts_tile_pool_run(n, decode_one, &b, parallel);
	for (k = 0; k < n; k++) {
		if (b.results[k].status == TS_OK)
			continue;
		if (b.results[k].status == TS_EUNAVAILABLE) {
			st = ts_deadline_check(err);
			break;
		}
		st = ts_error_set(err, b.results[k].status, "corrupt tile");
		ts_error_detail(err, "%s: tile %u: %s", lv->path ? lv->path : "?",
		                tiles[k].index, b.results[k].detail);
		break;
	}
	free(b.results);
	return st;
}

/* ---- stored tiles handed out whole (the coefficient path) ---- */

struct each_batch {
	const struct ts_jpeg_level *lv;
	const struct ts_jpeg_tile *tiles;
	ts_stored_tile_fn *fn;
	void *arg;
	struct tile_result *results;
};

static void each_one(void *arg, size_t k)
{
	struct each_batch *b = arg;
	const struct ts_jpeg_tile *t = &b->tiles[k];
	struct tile_result *r = &b->results[k];
	struct thread_state *ts = state_get();
	int sub, cs;

	if (ts_deadline_passed())
		r->status = TS_EUNAVAILABLE;   /* see decode_one */
	else if (load_tile(b->lv, t, ts, r, &sub, &cs))
		r->status = b->fn(b->arg, ts->joined.data, ts->joined.len, b->lv->rgb, t->x, t->y,
		                  r->detail, sizeof r->detail);
	if (ts)
		state_trim(ts);
}

ts_status ts_jpeg_tiles_each(const struct ts_jpeg_level *lv, const struct ts_jpeg_tile *tiles,
                             size_t n, bool parallel, ts_stored_tile_fn *fn, void *arg,
                             struct ts_error *err)
{
	struct each_batch b = { .lv = lv, .tiles = tiles, .fn = fn, .arg = arg };
	ts_status st = TS_OK;
	size_t k;

	b.results = calloc(n ? n : 1, sizeof *b.results);
	if (!b.results)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	ts_tile_pool_run(n, each_one, &b, parallel);
	for (k = 0; k < n; k++) {
		if (b.results[k].status == TS_OK)
			continue;
		if (b.results[k].status == TS_EUNAVAILABLE) {
			st = ts_deadline_check(err);
			break;
		}
		st = ts_error_set(err, b.results[k].status,
		                  b.results[k].status == TS_ENOTIMPL ? "stored tiles not usable"
		                                                     : "corrupt tile");
		ts_error_detail(err, "%s: tile %u: %s", lv->path ? lv->path : "?", tiles[k].index,
		                b.results[k].detail);
		break;
	}
	free(b.results);
	return st;
}
