/*
 * jpeg_transcode.c - one baseline JPEG (JFIF YCbCr, 4:2:0 below quality
 * 90 and 4:4:4 from 90 up, as ts_jpeg_write) made from the quantised DCT
 * coefficients of stored JPEG tiles, with no inverse or forward DCT and no
 * pixels (contract in encoder.h).
 *
 * Why it works.  A tile of a JPEG-tiled TIFF starts on an MCU boundary of
 * the picture it belongs to, and T.81 codes every 8x8 block on its own
 * (A.3.3, the DCT of one block; F.1.2, its entropy coding).  So the blocks
 * of a whole level shown at its own size are the tiles' blocks laid side by
 * side; only three things change on the way out:
 *
 * - Colour.  R,G,B tiles (photometric RGB) become Y, Cb, Cr with T.871's
 *   equations (§7).  They are linear, and once samples are level-shifted
 *   by 128 (T.81 A.3.1) they have no offset: Y's weights sum to 1 and
 *   Cb's and Cr's to 0.  The DCT is linear, so each coefficient of Y is the
 *   same weighted sum of the R, G and B coefficients at that frequency.
 * - Quantisation.  Coefficients are dequantised with the tile's tables
 *   (T.81 A.3.4), mixed, and quantised again with the output's (IJG
 *   tables at the requested quality, as ts_jpeg_write uses), rounding to
 *   nearest.  The error is that of decoding and re-encoding.
 * - Chroma sampling.  Where the output's chroma is coarser than the
 *   tile's (4:2:0 out of 4:4:4, 4:2:2 or 4:4:0) it is halved per direction
 *   in the DCT domain: two neighbouring blocks' four lowest coefficients
 *   stand for their eight samples averaged in pairs, which an 8-point DCT
 *   turns back into one block (the matrix `half` below).  Chroma already
 *   at the output's resolution is only requantised; chroma coarser than
 *   the output's (4:4:4 out of 4:2:0) is refused.  Dropping each block's
 *   four upper frequencies costs nothing on photographs (dragonfly: mean
 *   error 1.17 against 1.19 for decoding and re-encoding), but hard
 *   saturated colour edges ring a little (the HTTP tests' pattern: up to
 *   1.2x the error of re-encoding).  The exact 2x2 mean from all eight
 *   coefficients measured 27% more CPU per full/max, so it is not used;
 *   from quality 90 up chroma is not halved at all.
 *
 * libjpeg does the entropy coding both ways (jpeg_read_coefficients per
 * tile, jpeg_write_coefficients once), so every tile that libjpeg reads is
 * accepted, progressive and arithmetic-coded ones included.  Tiles land in
 * disjoint blocks of one whole-image coefficient array, so any number of
 * threads may call ts_jpeg_transcode_tile at once.  Memory: 3 bytes per
 * output pixel (2-byte coefficients, 1.5 per pixel at 4:2:0), plus one tile.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "tessera/encoder.h"

/* Largest coefficient magnitude this writes: T.81 F.1.2 codes AC values of
 * at most 10 bits and DC differences of at most 11 for 8-bit samples. */
#define COEF_MAX 1023

/* Four lanes, which GCC (12 and later) and Clang map onto SSE2 or NEON
 * registers. */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
typedef short v8s __attribute__((vector_size(16)));

/* Eight coefficients as two vectors of floats.  Each short is paired with
 * itself and the pair shifted down as one int: sign extension in two
 * instructions where a plain conversion goes element by element. */
static inline void load8(const JCOEF *p, v4f out[2])
{
	v8s x;

	memcpy(&x, p, sizeof x);
	out[0] = __builtin_convertvector(
		(v4i)__builtin_shufflevector(x, x, 0, 0, 1, 1, 2, 2, 3, 3) >> 16, v4f);
	out[1] = __builtin_convertvector(
		(v4i)__builtin_shufflevector(x, x, 4, 4, 5, 5, 6, 6, 7, 7) >> 16, v4f);
}

/* Eight coefficients v / q, rounded to nearest, clamped to COEF_MAX and
 * stored (SSE2 where there is one: its conversion rounds to nearest and
 * its pack narrows two vectors at once). */
#ifdef __SSE2__
static inline void store8(JCOEF *p, v4f a, v4f b, const v4f inv_q[2])
{
	const __m128 hi = _mm_set1_ps(COEF_MAX), lo = _mm_set1_ps(-COEF_MAX);
	__m128i x = _mm_cvtps_epi32(_mm_min_ps(_mm_max_ps((__m128)(a * inv_q[0]), lo), hi));
	__m128i y = _mm_cvtps_epi32(_mm_min_ps(_mm_max_ps((__m128)(b * inv_q[1]), lo), hi));

	_mm_storeu_si128((__m128i *)p, _mm_packs_epi32(x, y));
}
#else
/* Adding and taking away 1.5 x 2^23 rounds a float of magnitude below
 * 2^22 to an integer (ties to even) without a libm call. */
static inline v4i quantise(v4f v, v4f inv_q)
{
	const v4f hi = { COEF_MAX, COEF_MAX, COEF_MAX, COEF_MAX };
	const v4f magic = { 0x1.8p23f, 0x1.8p23f, 0x1.8p23f, 0x1.8p23f };
	v4f r = v * inv_q;
	v4i over = r > hi, under = r < -hi;

	r = (v4f)(((v4i)r & ~(over | under)) | ((v4i)hi & over) | ((v4i)-hi & under));
	return __builtin_convertvector((r + magic) - magic, v4i);
}

static inline void store8(JCOEF *p, v4f a, v4f b, const v4f inv_q[2])
{
	v8s out = __builtin_shufflevector((v8s)quantise(a, inv_q[0]), (v8s)quantise(b, inv_q[1]),
	                                  0, 2, 4, 6, 8, 10, 12, 14);

	memcpy(p, &out, sizeof out);
}
#endif

/* True when the eight coefficients at each of p[0..n) are all zero. */
static inline bool zero8(JCOEF *const *p, int n)
{
	uint64_t acc = 0, w[2];

	for (int c = 0; c < n; c++) {
		memcpy(w, p[c], sizeof w);
		acc |= w[0] | w[1];
	}
	return acc == 0;
}

/* libjpeg errors (and warnings: a tile that needs one is corrupt) jump
 * back to the call that set jump, with the message kept. */
struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
};

static void on_error(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;

	c->err->format_message(c, e->msg);
	longjmp(e->jump, 1);
}

static void on_message(j_common_ptr c, int level)
{
	if (level < 0)
		on_error(c);
}

static void jerr_init(struct jerr *e)
{
	jpeg_std_error(&e->pub);
	e->pub.error_exit = on_error;
	e->pub.emit_message = on_message;
	e->msg[0] = '\0';
}

struct ts_jpeg_transcoder {
	struct jpeg_compress_struct c;
	struct jerr jerr;
	bool compressing;            /* c was created */
	unsigned char *jpeg;         /* jpeg_mem_dest's buffer */
	unsigned long jpeg_len;
	jvirt_barray_ptr arrays[3];  /* the coefficients, kept by libjpeg's pointer */
	JBLOCKROW *rows[3];          /* each component's block rows */
	int sub;                     /* output chroma: 2 (4:2:0) or 1 (4:4:4) */
	uint32_t bw[3], bh[3];       /* blocks across and down, MCU-padded */
	v4f inv_q[3][16];            /* 1 / output quantiser, natural order */
	atomic_ulong blocks;         /* Y blocks filled so far */
};

/*
 * half[w][j]: output coefficient w of an 8-sample run from coefficient j
 * of its first half's 8-point block, whose samples are rebuilt from its
 * four lowest coefficients (j < 4) and averaged in pairs; T.81 A.3.3's
 * normalisation, one direction at a time (the 2-D map is this one applied
 * to rows, then to columns).  The second half's coefficient j enters with
 * (-1)^(w+j) times the same weight (the mirror image), which halve() uses.
 * Each weight is kept in all four lanes.
 */
static v4f half[8][4];
static pthread_once_t half_once = PTHREAD_ONCE_INIT;

static void half_init(void)
{
	for (int w = 0; w < 8; w++)
		for (int j = 0; j < 4; j++) {
			double s = 0;

			for (int i = 0; i < 4; i++) {
				double g = 0;   /* output sample i from this coefficient */

				for (int x = 2 * i; x < 2 * i + 2; x++)
					g += 0.5 * 0.5 * (j ? 1 : M_SQRT1_2) *
					     cos((2 * x + 1) * j * M_PI / 16);
				s += g * 0.5 * (w ? 1 : M_SQRT1_2) * cos((2 * i + 1) * w * M_PI / 16);
			}
			half[w][j] = (v4f){ (float)s, (float)s, (float)s, (float)s };
		}
}

/* The libjpeg side of begin; errors longjmp to the caller's setjmp. */
static void start(struct ts_jpeg_transcoder *t, uint32_t width, uint32_t height, int quality)
{
	uint32_t mcu = 8 * (uint32_t)t->sub;
	uint32_t mw = width / mcu + (width % mcu != 0), mh = height / mcu + (height % mcu != 0);
	jvirt_barray_ptr *arr = t->arrays;

	jpeg_create_compress(&t->c);
	t->compressing = true;
	jpeg_mem_dest(&t->c, &t->jpeg, &t->jpeg_len);
	t->c.image_width = width;
	t->c.image_height = height;
	t->c.input_components = 3;
	t->c.in_color_space = JCS_YCbCr;
	jpeg_set_defaults(&t->c);
	jpeg_set_quality(&t->c, quality, TRUE);
	for (int k = 0; k < 3; k++) {
		jpeg_component_info *ci = &t->c.comp_info[k];
		const JQUANT_TBL *q = t->c.quant_tbl_ptrs[ci->quant_tbl_no];

		ci->h_samp_factor = ci->v_samp_factor = k ? 1 : t->sub;
		t->bw[k] = k ? mw : mw * (uint32_t)t->sub;
		t->bh[k] = k ? mh : mh * (uint32_t)t->sub;
		for (int z = 0; z < 64; z++)
			t->inv_q[k][z / 4][z % 4] = 1.0f / (float)q->quantval[z];
		arr[k] = t->c.mem->request_virt_barray((j_common_ptr)&t->c, JPOOL_IMAGE, FALSE,
		                                       t->bw[k], t->bh[k], t->bh[k]);
	}
	/* Writes the headers and realises the arrays; jpeg_finish_compress
	 * reads the coefficients from them. */
	jpeg_write_coefficients(&t->c, arr);
	for (int k = 0; k < 3; k++)
		t->rows[k] = t->c.mem->access_virt_barray((j_common_ptr)&t->c, arr[k], 0, t->bh[k],
		                                          TRUE);
}

ts_status ts_jpeg_transcode_begin(uint32_t width, uint32_t height, int quality,
                                  struct ts_jpeg_transcoder **out, struct ts_error *err)
{
	struct ts_jpeg_transcoder *t;

	*out = NULL;
	if (width == 0 || height == 0)
		return ts_error_set(err, TS_EINTERNAL, "invalid image for JPEG");
	if (!ts_jpeg_frame_fits(width, height, &quality, err))
		return TS_EBADREQUEST;
	pthread_once(&half_once, half_init);
	t = calloc(1, sizeof *t);
	if (!t)
		return ts_error_set(err, TS_EINTERNAL, "out of memory encoding a JPEG");
	jerr_init(&t->jerr);
	t->c.err = &t->jerr.pub;
	atomic_init(&t->blocks, 0);
	if (setjmp(t->jerr.jump)) {
		ts_error_set(err, TS_EINTERNAL, "JPEG encoding failed");
		ts_error_detail(err, "transcode %ux%u: %s", width, height, t->jerr.msg);
		ts_jpeg_transcode_free(t);
		return TS_EINTERNAL;
	}
	t->sub = ts_jpeg_halves_chroma(quality) ? 2 : 1;   /* as ts_jpeg_write */
	start(t, width, height, quality);
	*out = t;
	return TS_OK;
}

/* How one tile maps onto the output. */
struct tile_map {
	struct jpeg_decompress_struct *d;
	jvirt_barray_ptr *in;
	v4f f[3][3][16];             /* output k from input c: weight x input quantiser */
	int fx, fy;                  /* input chroma blocks per output block, 1 or 2 */
	uint32_t ox, oy;             /* the tile's first output block (Y) */
};

/* T.871 §7, rows Y, Cb, Cr; columns R, G, B. */
static const float jfif[3][3] = {
	{ 0.299f, 0.587f, 0.114f },
	{ -0.168736f, -0.331264f, 0.5f },
	{ 0.5f, -0.418688f, -0.081312f },
};

static JBLOCKROW in_row(const struct tile_map *m, int c, uint32_t row)
{
	return m->d->mem->access_virt_barray((j_common_ptr)m->d, m->in[c], row, 1, FALSE)[0];
}

/* Y: every block of the tile that falls inside the output. */
static void tile_luma(struct ts_jpeg_transcoder *t, const struct tile_map *m, bool rgb)
{
	const jpeg_component_info *ci = &m->d->comp_info[0];
	const int nc = rgb ? 3 : 1;
	unsigned long filled = 0;

	for (uint32_t by = 0; by < ci->height_in_blocks && m->oy + by < t->bh[0]; by++) {
		JBLOCKROW src[3], dst = t->rows[0][m->oy + by];

		for (int c = 0; c < nc; c++)
			src[c] = in_row(m, c, by);
		for (uint32_t bx = 0; bx < ci->width_in_blocks && m->ox + bx < t->bw[0]; bx++) {
			JCOEF *o = dst[m->ox + bx];

			for (int q = 0; q < 16; q += 2) {
				JCOEF *in[3];
				v4f a[2], b[2], c[2];

				for (int k = 0; k < nc; k++)
					in[k] = src[k][bx] + 4 * q;
				/* Most high-frequency rows are zero in every
				 * component: they stay zero. */
				if (zero8(in, nc)) {
					memset(o + 4 * q, 0, 8 * sizeof *o);
					continue;
				}
				load8(in[0], a);
				a[0] *= m->f[0][0][q];
				a[1] *= m->f[0][0][q + 1];
				if (rgb) {
					load8(in[1], b);
					load8(in[2], c);
					a[0] += m->f[0][1][q] * b[0] + m->f[0][2][q] * c[0];
					a[1] += m->f[0][1][q + 1] * b[1] + m->f[0][2][q + 1] * c[1];
				}
				store8(o + 4 * q, a[0], a[1], &t->inv_q[0][q]);
			}
			filled++;
		}
	}
	atomic_fetch_add(&t->blocks, filled);
}

/* One direction halved in place: x[0..3] are the first block's rows u
 * (or columns, transposed), x[4..7] the second's, each as two vectors of
 * the other direction.  The second block's weights are the first's times
 * (-1)^(w+u), so the two blocks enter as their sum or difference. */
static inline void halve(v4f x[8][2])
{
	v4f sd[2][4][2];   /* [0] sums, [1] differences */

#pragma GCC unroll 4
	for (int u = 0; u < 4; u++)
		for (int h = 0; h < 2; h++) {
			sd[0][u][h] = x[u][h] + x[u + 4][h];
			sd[1][u][h] = x[u][h] - x[u + 4][h];
		}
#pragma GCC unroll 8
	for (int w = 0; w < 8; w++)
		for (int h = 0; h < 2; h++)
			x[w][h] = half[w][0] * sd[w & 1][0][h] + half[w][1] * sd[(w + 1) & 1][1][h] +
			          half[w][2] * sd[w & 1][2][h] + half[w][3] * sd[(w + 1) & 1][3][h];
}

static inline void transpose4(v4f a, v4f b, v4f c, v4f d, v4f *out, int stride)
{
	v4f ab0 = __builtin_shufflevector(a, b, 0, 4, 1, 5);
	v4f cd0 = __builtin_shufflevector(c, d, 0, 4, 1, 5);
	v4f ab1 = __builtin_shufflevector(a, b, 2, 6, 3, 7);
	v4f cd1 = __builtin_shufflevector(c, d, 2, 6, 3, 7);

	out[0] = __builtin_shufflevector(ab0, cd0, 0, 1, 4, 5);
	out[stride] = __builtin_shufflevector(ab0, cd0, 2, 3, 6, 7);
	out[2 * stride] = __builtin_shufflevector(ab1, cd1, 0, 1, 4, 5);
	out[3 * stride] = __builtin_shufflevector(ab1, cd1, 2, 3, 6, 7);
}

/* x (8 rows of two vectors) transposed into y. */
static inline void transpose8(v4f x[8][2], v4f y[8][2])
{
	for (int h = 0; h < 2; h++)
		for (int q = 0; q < 2; q++)
			transpose4(x[4 * q][h], x[4 * q + 1][h], x[4 * q + 2][h], x[4 * q + 3][h],
			           &y[4 * h][q], 2);
}

/*
 * Output chroma blocks (Cb and Cr) at tile block column i: the fy x fx
 * input blocks they cover, mixed and dequantised into g (rows u, columns
 * v; a halved direction keeps each block's four lowest coefficients), then
 * halved in each such direction (rows first; columns through a transpose),
 * then quantised.  Inlined for each sampling, so fx and fy are constants.
 */
static inline __attribute__((always_inline)) void
chroma_blocks(const struct ts_jpeg_transcoder *t, const struct tile_map *m, bool rgb,
              JBLOCKROW src[2][3], uint32_t i, JCOEF *cb, JCOEF *cr, const int fx,
              const int fy)
{
	const int nu = fy == 2 ? 4 : 8, nh = fx == 2 ? 1 : 2;
	v4f g[2][8][2], tr[8][2];

#pragma GCC unroll 2
	for (int yy = 0; yy < fy; yy++)
#pragma GCC unroll 2
		for (int xx = 0; xx < fx; xx++) {
			uint32_t bx = i * (uint32_t)fx + (uint32_t)xx;

#pragma GCC unroll 8
			for (int u = 0; u < nu; u++) {
				int r = yy * nu + u;
				v4f a[2], b[2], c[2];

				if (rgb) {
					load8(src[yy][0][bx] + 8 * u, a);
					load8(src[yy][1][bx] + 8 * u, b);
					load8(src[yy][2][bx] + 8 * u, c);
					for (int k = 0; k < 2; k++)
						for (int h = 0; h < nh; h++)
							g[k][r][xx + h] = m->f[k + 1][0][2 * u + h] * a[h] +
							                  m->f[k + 1][1][2 * u + h] * b[h] +
							                  m->f[k + 1][2][2 * u + h] * c[h];
					continue;
				}
				for (int k = 0; k < 2; k++) {
					load8(src[yy][k + 1][bx] + 8 * u, a);
					for (int h = 0; h < nh; h++)
						g[k][r][xx + h] = m->f[k + 1][k + 1][2 * u + h] * a[h];
				}
			}
		}
	for (int k = 0; k < 2; k++) {
		JCOEF *o = k ? cr : cb;

		if (fy == 2)
			halve(g[k]);
		if (fx == 2) {
			transpose8(g[k], tr);
			halve(tr);
			transpose8(tr, g[k]);
		}
#pragma GCC unroll 8
		for (int w = 0; w < 8; w++)
			store8(o + w * 8, g[k][w][0], g[k][w][1], &t->inv_q[k + 1][w * 2]);
	}
}

static void tile_chroma(struct ts_jpeg_transcoder *t, const struct tile_map *m, bool rgb)
{
	const jpeg_component_info *ci = &m->d->comp_info[rgb ? 0 : 1];
	uint32_t ow = ci->width_in_blocks / (uint32_t)m->fx;
	uint32_t oh = ci->height_in_blocks / (uint32_t)m->fy;
	uint32_t cx = m->ox / (uint32_t)t->sub, cy = m->oy / (uint32_t)t->sub;

	for (uint32_t j = 0; j < oh && cy + j < t->bh[1]; j++) {
		JBLOCKROW src[2][3];

		for (int yy = 0; yy < m->fy; yy++)
			for (int c = rgb ? 0 : 1; c < 3; c++)
				src[yy][c] = in_row(m, c, j * (uint32_t)m->fy + (uint32_t)yy);
		for (uint32_t i = 0; i < ow && cx + i < t->bw[1]; i++) {
			JCOEF *cb = t->rows[1][cy + j][cx + i], *cr = t->rows[2][cy + j][cx + i];

			if (m->fx == 2 && m->fy == 2)
				chroma_blocks(t, m, rgb, src, i, cb, cr, 2, 2);
			else if (m->fx == 2)
				chroma_blocks(t, m, rgb, src, i, cb, cr, 2, 1);
			else if (m->fy == 2)
				chroma_blocks(t, m, rgb, src, i, cb, cr, 1, 2);
			else
				chroma_blocks(t, m, rgb, src, i, cb, cr, 1, 1);
		}
	}
}

/* The tile's sampling, checked: 0 or a 501 with detail. */
static ts_status tile_layout(const struct jpeg_decompress_struct *d, bool rgb, int sub,
                             struct tile_map *m, char *detail, size_t size)
{
	const jpeg_component_info *ci = d->comp_info;

	if (d->num_components != 3 || d->data_precision != 8)
		goto refuse;
	if (ci[1].h_samp_factor != 1 || ci[1].v_samp_factor != 1 || ci[2].h_samp_factor != 1 ||
	    ci[2].v_samp_factor != 1 || ci[0].h_samp_factor < 1 || ci[0].h_samp_factor > 2 ||
	    ci[0].v_samp_factor < 1 || ci[0].v_samp_factor > 2 ||
	    (rgb && (ci[0].h_samp_factor != 1 || ci[0].v_samp_factor != 1)) ||
	    ci[0].h_samp_factor > sub || ci[0].v_samp_factor > sub)
		goto refuse;   /* (the last: 4:4:4 out of subsampled chroma) */
	/* Chroma blocks per output chroma block: 2 where the tile's chroma is
	 * finer than the output's. */
	m->fx = sub / ci[0].h_samp_factor;
	m->fy = sub / ci[0].v_samp_factor;
	return TS_OK;
refuse:
	snprintf(detail, size, "%d components of %d bits, sampling %dx%d,%dx%d,%dx%d",
	         d->num_components, d->data_precision, ci[0].h_samp_factor,
	         ci[0].v_samp_factor, d->num_components > 1 ? ci[1].h_samp_factor : 0,
	         d->num_components > 1 ? ci[1].v_samp_factor : 0,
	         d->num_components > 2 ? ci[2].h_samp_factor : 0,
	         d->num_components > 2 ? ci[2].v_samp_factor : 0);
	return TS_ENOTIMPL;
}

ts_status ts_jpeg_transcode_tile(struct ts_jpeg_transcoder *t, const unsigned char *jpeg,
                                 size_t len, bool rgb, uint32_t x, uint32_t y, char *detail,
                                 size_t detail_size)
{
	struct jpeg_decompress_struct d;
	struct jerr e;
	struct tile_map m;
	volatile ts_status st = TS_EINTERNAL;

	if (x % 16 || y % 16 || x / 8 >= t->bw[0] || y / 8 >= t->bh[0]) {
		snprintf(detail, detail_size, "tile at %u,%u is not on the MCU grid", x, y);
		return TS_ENOTIMPL;
	}
	memset(&m, 0, sizeof m);
	memset(&d, 0, sizeof d);
	jerr_init(&e);
	d.err = &e.pub;
	if (setjmp(e.jump)) {
		snprintf(detail, detail_size, "%s", e.msg);
		jpeg_destroy_decompress(&d);
		return st;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, jpeg, (unsigned long)len);
	jpeg_read_header(&d, TRUE);
	st = tile_layout(&d, rgb, t->sub, &m, detail, detail_size);
	if (st != TS_OK) {
		jpeg_destroy_decompress(&d);
		return st;
	}
	/* Tile sizes (multiples of 16 in TIFF) must split into whole output
	 * MCUs, or the halved chroma would straddle two tiles. */
	if (d.image_width % 16 || d.image_height % 16) {
		snprintf(detail, detail_size, "tile of %ux%u", d.image_width, d.image_height);
		jpeg_destroy_decompress(&d);
		return st = TS_ENOTIMPL;
	}
	st = TS_EINTERNAL;
	m.d = &d;
	m.in = jpeg_read_coefficients(&d);
	m.ox = x / 8;
	m.oy = y / 8;
	for (int k = 0; k < 3; k++)
		for (int c = 0; c < 3; c++) {
			const JQUANT_TBL *q = d.comp_info[c].quant_table;
			float w = rgb ? jfif[k][c] : k == c;

			if (!q)
				ERREXIT(&d, JERR_NO_QUANT_TABLE);
			for (int z = 0; z < 64; z++)
				m.f[k][c][z / 4][z % 4] = w * (float)q->quantval[z];
		}
	tile_luma(t, &m, rgb);
	tile_chroma(t, &m, rgb);
	jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	return TS_OK;
}

ts_status ts_jpeg_transcode_finish(struct ts_jpeg_transcoder *t, const unsigned char *icc,
                                   size_t icc_len, struct ts_buf *out, struct ts_error *err)
{
	if ((unsigned long)t->bw[0] * t->bh[0] != atomic_load(&t->blocks))
		return ts_error_set(err, TS_EINTERNAL, "internal: tiles do not cover the image");
	if (setjmp(t->jerr.jump)) {
		ts_error_set(err, TS_EINTERNAL, "JPEG encoding failed");
		ts_error_detail(err, "transcode: %s", t->jerr.msg);
		return TS_EINTERNAL;
	}
	jpeg_finish_compress(&t->c);
	return ts_jpeg_append_output(t->jpeg, t->jpeg_len, icc, icc_len, 3, out, err);
}

void ts_jpeg_transcode_free(struct ts_jpeg_transcoder *t)
{
	if (!t)
		return;
	if (t->compressing)
		jpeg_destroy_compress(&t->c);
	free(t->jpeg);
	free(t);
}
