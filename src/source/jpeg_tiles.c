/*
 * jpeg_tiles.c - stored JPEG tiles of one level decoded into a mosaic,
 * scaled in the DCT domain and spread over the decode workers (contract in
 * jpeg_tiles.h).
 *
 * Where it sits: tiff_read.c's read_region_scaled gathers where each tile
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
#include "tile_pool.h"

/* Per-thread buffers larger than this are not kept between tiles. */
#define KEEP_BYTES ((size_t)8 << 20)

/* What each thread keeps between tiles: its decompressor and buffers. */
struct thread_state {
	tjhandle tj;
	struct ts_buf raw;          /* the stored tile */
	struct ts_buf joined;       /* tables + tile */
	struct ts_buf cut;          /* joined, cut to the rows needed */
	uint8_t *scratch;           /* a decoded tile that is not copied whole */
	size_t scratch_size;
	uint8_t *planes;            /* a tile's component planes (planar path) */
	size_t planes_size;
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
	ts_buf_free(&ts->raw);
	ts_buf_free(&ts->joined);
	ts_buf_free(&ts->cut);
	free(ts->scratch);
	free(ts->planes);
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
	if (ts->planes_size > KEEP_BYTES) {
		free(ts->planes);
		ts->planes = NULL;
		ts->planes_size = 0;
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

	if (!load_tile(lv, t, ts, r, &sub, &cs)) {
		if (ts)
			state_trim(ts);
		return;
	}
	src = &ts->joined;

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
		st = ts_error_set(err, b.results[k].status, "corrupt tile");
		ts_error_detail(err, "%s: tile %u: %s", lv->path ? lv->path : "?",
		                tiles[k].index, b.results[k].detail);
		break;
	}
	free(b.results);
	return st;
}

/* ---- the planar path: whole levels to YCbCr 4:2:0 planes ---- */

/*
 * The loops below work in chunks of CHUNK samples with a constant trip
 * count: GCC's -O2 vectoriser (the "very cheap" cost model) only
 * vectorises a loop whose vector code replaces the scalar code entirely,
 * which a loop of unknown length never does.  The scalar tail is at most
 * CHUNK - 1 samples a row.
 */
#define CHUNK 32

/* JFIF (ITU-T T.871 §7) in 16-bit fixed point; each triple sums to 65536
 * (Y) or 0 (Cb, Cr), so gray maps to Y = R, Cb = Cr = 128 exactly. */
#define YR 19595
#define YG 38470
#define YB 7471
#define CBR 11059
#define CBG 21709
#define CRG 27439
#define CRB 5329
#define HALF 32768

static inline uint8_t luma(int32_t r, int32_t g, int32_t b)
{
	return (uint8_t)((YR * r + YG * g + YB * b + HALF) >> 16);
}

/* Chroma from sums of 4 samples of R, G, B: 128 + (coefficients . sum)/4,
 * rounded; the largest value, 255.5, is clamped. */
static inline uint8_t chroma_cb(int32_t rs, int32_t gs, int32_t bs)
{
	int32_t v = (HALF * bs - CBR * rs - CBG * gs + (128 << 18) + (1 << 17)) >> 18;
	return (uint8_t)(v > 255 ? 255 : v);
}

static inline uint8_t chroma_cr(int32_t rs, int32_t gs, int32_t bs)
{
	int32_t v = (HALF * rs - CRG * gs - CRB * bs + (128 << 18) + (1 << 17)) >> 18;
	return (uint8_t)(v > 255 ? 255 : v);
}

static void luma_row(const uint8_t *restrict r, const uint8_t *restrict g,
                     const uint8_t *restrict b, uint8_t *restrict y, size_t n)
{
	size_t x = 0, k;

	for (; x + CHUNK <= n; x += CHUNK)
		for (k = 0; k < CHUNK; k++)
			y[x + k] = luma(r[x + k], g[x + k], b[x + k]);
	for (; x < n; x++)
		y[x] = luma(r[x], g[x], b[x]);
}

/* One row of 4:2:0 chroma from two rows (r0.., r1..) of R,G,B holding n
 * pairs of columns. */
static void chroma_row(const uint8_t *restrict r0, const uint8_t *restrict g0,
                       const uint8_t *restrict b0, const uint8_t *restrict r1,
                       const uint8_t *restrict g1, const uint8_t *restrict b1,
                       uint8_t *restrict cb, uint8_t *restrict cr, size_t n)
{
	size_t i = 0, k;

	for (; i + CHUNK <= n; i += CHUNK) {
		for (k = 0; k < CHUNK; k++) {
			size_t j = 2 * (i + k);
			int32_t rs = r0[j] + r0[j + 1] + r1[j] + r1[j + 1];
			int32_t gs = g0[j] + g0[j + 1] + g1[j] + g1[j + 1];
			int32_t bs = b0[j] + b0[j + 1] + b1[j] + b1[j + 1];

			cb[i + k] = chroma_cb(rs, gs, bs);
			cr[i + k] = chroma_cr(rs, gs, bs);
		}
	}
	for (; i < n; i++) {
		size_t j = 2 * i;
		int32_t rs = r0[j] + r0[j + 1] + r1[j] + r1[j + 1];
		int32_t gs = g0[j] + g0[j + 1] + g1[j] + g1[j + 1];
		int32_t bs = b0[j] + b0[j + 1] + b1[j] + b1[j + 1];

		cb[i] = chroma_cb(rs, gs, bs);
		cr[i] = chroma_cr(rs, gs, bs);
	}
}

/* Where a tile's valid part goes in the output planes. */
struct plane_dst {
	uint8_t *y, *cb, *cr;
	size_t ystride, cstride;
};

/* R,G,B planes (stride ss, vw x vh valid) to Y and 4:2:0 Cb, Cr.  An odd
 * last column or row is averaged with itself, so it counts once. */
static void rgb_to_420(const uint8_t *R, const uint8_t *G, const uint8_t *B, size_t ss,
                       uint32_t vw, uint32_t vh, const struct plane_dst *d)
{
	uint32_t row, pairs = vw / 2;

	for (row = 0; row < vh; row++)
		luma_row(R + row * ss, G + row * ss, B + row * ss, d->y + row * d->ystride, vw);
	for (row = 0; row < vh; row += 2) {
		size_t o0 = row * ss, o1 = (row + 1 < vh ? row + 1 : row) * ss;
		uint8_t *cb = d->cb + (row / 2) * d->cstride, *cr = d->cr + (row / 2) * d->cstride;

		chroma_row(R + o0, G + o0, B + o0, R + o1, G + o1, B + o1, cb, cr, pairs);
		if (vw & 1) {
			size_t j = vw - 1;
			int32_t rs = 2 * (R[o0 + j] + R[o1 + j]), gs = 2 * (G[o0 + j] + G[o1 + j]);
			int32_t bs = 2 * (B[o0 + j] + B[o1 + j]);

			cb[pairs] = chroma_cb(rs, gs, bs);
			cr[pairs] = chroma_cr(rs, gs, bs);
		}
	}
}

/* One chroma plane of sampling factors hx, vy (1, 2 or 4: the plane has
 * one sample per hx x vy luma pixels; cw x ch of it valid) averaged to
 * 4:2:0: output sample (i,j) is the mean of the samples covering luma
 * pixels [2i, 2i+2) x [2j, 2j+2) clipped to vw x vh. */
static void chroma_to_420(const uint8_t *src, size_t ss, uint32_t hx, uint32_t vy, uint32_t vw,
                          uint32_t vh, uint8_t *dst, size_t ds)
{
	uint32_t ow = (vw + 1) / 2, oh = (vh + 1) / 2, i, j, x, y;

	if (hx == 2 && vy == 2) {
		for (j = 0; j < oh; j++)
			memcpy(dst + j * ds, src + j * ss, ow);
		return;
	}
	for (j = 0; j < oh; j++) {
		uint32_t ly1 = 2 * j + 2 < vh ? 2 * j + 2 : vh;
		uint32_t y0 = 2 * j / vy, y1 = (ly1 + vy - 1) / vy;

		for (i = 0; i < ow; i++) {
			uint32_t lx1 = 2 * i + 2 < vw ? 2 * i + 2 : vw;
			uint32_t x0 = 2 * i / hx, x1 = (lx1 + hx - 1) / hx, sum = 0, count;

			for (y = y0; y < y1; y++)
				for (x = x0; x < x1; x++)
					sum += src[y * ss + x];
			count = (x1 - x0) * (y1 - y0);
			dst[j * ds + i] = (uint8_t)((sum + count / 2) / count);
		}
	}
}

struct plane_batch {
	const struct ts_jpeg_level *lv;
	const struct ts_jpeg_tile *tiles;
	struct ts_image *planes;
	struct tile_result *results;
};

static void decode_planes_one(void *arg, size_t k)
{
	struct plane_batch *b = arg;
	const struct ts_jpeg_level *lv = b->lv;
	const struct ts_jpeg_tile *t = &b->tiles[k];
	struct tile_result *r = &b->results[k];
	struct thread_state *ts = state_get();
	unsigned char *pl[3];
	int strides[3], sub = 0, cs = 0, c;
	size_t size[3], need = 0;
	struct plane_dst d;

	if (!load_tile(lv, t, ts, r, &sub, &cs))
		goto done;
	/* R,G,B tiles must be 4:4:4 to convert; YCbCr anything 3-component. */
	if (lv->rgb ? (cs != TJCS_RGB || sub != TJSAMP_444)
	            : (cs != TJCS_YCbCr || sub < 0 || sub == TJSAMP_GRAY || sub >= TJ_NUMSAMP)) {
		r->status = TS_ENOTIMPL;
		snprintf(r->detail, sizeof r->detail, "colour space %d sampling %d", cs, sub);
		goto done;
	}
	for (c = 0; c < 3; c++) {
		int pw = tjPlaneWidth(c, (int)lv->tile_w, sub);
		int ph = tjPlaneHeight(c, (int)lv->tile_h, sub);

		if (pw <= 0 || ph <= 0) {
			r->status = TS_ENOTIMPL;
			snprintf(r->detail, sizeof r->detail, "plane %d of sampling %d", c, sub);
			goto done;
		}
		strides[c] = pw;
		size[c] = (size_t)pw * (size_t)ph;  /* tile <= 2^26 pixels */
		need += size[c];
	}
	if (ts->planes_size < need) {
		free(ts->planes);
		ts->planes_size = 0;
		ts->planes = malloc(need);
		if (!ts->planes) {
			r->status = TS_EINTERNAL;
			snprintf(r->detail, sizeof r->detail, "out of memory (tile planes)");
			goto done;
		}
		ts->planes_size = need;
	}
	pl[0] = ts->planes;
	pl[1] = pl[0] + size[0];
	pl[2] = pl[1] + size[1];
	if (tjDecompressToYUVPlanes(ts->tj, ts->joined.data, (unsigned long)ts->joined.len, pl,
	                            (int)lv->tile_w, strides, (int)lv->tile_h, 0) != 0) {
		r->status = TS_EINTERNAL;
		snprintf(r->detail, sizeof r->detail, "%s", tjGetErrorStr2(ts->tj));
		goto done;
	}
	d.ystride = b->planes[0].stride;
	d.cstride = b->planes[1].stride;
	d.y = b->planes[0].pixels + (size_t)t->y * d.ystride + t->x;
	d.cb = b->planes[1].pixels + (size_t)(t->y / 2) * d.cstride + t->x / 2;
	d.cr = b->planes[2].pixels + (size_t)(t->y / 2) * d.cstride + t->x / 2;
	if (lv->rgb) {
		rgb_to_420(pl[0], pl[1], pl[2], (size_t)strides[0], t->valid_w, t->valid_h, &d);
	} else {
		uint32_t hx = lv->tile_w / (uint32_t)strides[1];
		uint32_t vy = lv->tile_h / (uint32_t)(size[1] / (size_t)strides[1]);

		for (uint32_t row = 0; row < t->valid_h; row++)
			memcpy(d.y + row * d.ystride, pl[0] + (size_t)row * (size_t)strides[0],
			       t->valid_w);
		chroma_to_420(pl[1], (size_t)strides[1], hx, vy, t->valid_w, t->valid_h, d.cb,
		              d.cstride);
		chroma_to_420(pl[2], (size_t)strides[2], hx, vy, t->valid_w, t->valid_h, d.cr,
		              d.cstride);
	}
done:
	if (ts)
		state_trim(ts);
}

ts_status ts_jpeg_tiles_decode_yuv420(const struct ts_jpeg_level *lv,
                                      const struct ts_jpeg_tile *tiles, size_t n,
                                      uint32_t width, uint32_t height, bool parallel,
                                      struct ts_image planes[3], struct ts_error *err)
{
	struct plane_batch b;
	ts_status st;
	size_t k;

	memset(planes, 0, 3 * sizeof *planes);
	/* Tile positions halve exactly only for even tile sizes (TIFF tiles
	 * are multiples of 16). */
	if (lv->tile_w % 2 || lv->tile_h % 2 || width == 0 || height == 0)
		return ts_error_set(err, TS_ENOTIMPL, "planar decode needs even tile sizes");
	memset(&b, 0, sizeof b);
	b.lv = lv;
	b.tiles = tiles;
	b.planes = planes;
	for (k = 0; k < n; k++)
		if (tiles[k].x % lv->tile_w || tiles[k].y % lv->tile_h ||
		    tiles[k].valid_w > lv->tile_w || tiles[k].valid_h > lv->tile_h ||
		    tiles[k].x >= width || tiles[k].y >= height ||
		    tiles[k].valid_w > width - tiles[k].x || tiles[k].valid_h > height - tiles[k].y)
			return ts_error_set(err, TS_EINTERNAL, "internal: bad planar decode");
	/* Y is padded to even sizes, as TurboJPEG reads it for 4:2:0 (see
	 * source.h); the padding is filled once every tile is in. */
	st = ts_image_alloc(&planes[0], width + width % 2, height + height % 2, 1, err);
	planes[0].width = width;
	planes[0].height = height;
	if (st == TS_OK)
		st = ts_image_alloc(&planes[1], width / 2 + width % 2, height / 2 + height % 2, 1,
		                    err);
	if (st == TS_OK)
		st = ts_image_alloc(&planes[2], planes[1].width, planes[1].height, 1, err);
	if (st != TS_OK)
		goto fail;
	b.results = calloc(n ? n : 1, sizeof *b.results);
	if (!b.results) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	ts_tile_pool_run(n, decode_planes_one, &b, parallel);
	for (k = 0; k < n; k++) {
		if (b.results[k].status == TS_OK)
			continue;
		st = ts_error_set(err, b.results[k].status,
		                  b.results[k].status == TS_ENOTIMPL ? "planar decode not possible"
		                                                     : "corrupt tile");
		ts_error_detail(err, "%s: tile %u: %s", lv->path ? lv->path : "?",
		                tiles[k].index, b.results[k].detail);
		break;
	}
	free(b.results);
	if (st != TS_OK)
		goto fail;
	/* The padding: a copy of the last column and row. */
	if (width % 2)
		for (k = 0; k < height; k++)
			planes[0].pixels[k * planes[0].stride + width] =
				planes[0].pixels[k * planes[0].stride + width - 1];
	if (height % 2)
		memcpy(planes[0].pixels + (size_t)height * planes[0].stride,
		       planes[0].pixels + (size_t)(height - 1) * planes[0].stride, planes[0].stride);
	return TS_OK;
fail:
	for (k = 0; k < 3; k++)
		ts_image_free(&planes[k]);
	return st;
}
