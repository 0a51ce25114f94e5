/*
 * j2k_decoders.c - JPEG 2000 decoders side by side: OpenJPEG 2.5 (what
 * src/source/jp2_read.c uses), Grok 10 and, for HTJ2K code-streams, OpenJPH
 * (bench/j2k_decoders_ojph.cpp), on the windows an image server asks for.
 *
 * The one idea: every decoder decodes the same window of the same file in the
 * same run, interleaved round by round (the order rotates each round), so a
 * machine loaded by others slows them alike; medians of wall and of process
 * CPU time (all the library's threads) are reported, with the ratio to
 * OpenJPEG, and the pixels of each decoder are compared with a reference:
 * the whole level decoded by OpenJPEG without a decode area, cropped to the
 * window (column "diff": largest sample difference; -1 other shape).
 *
 * Modes:
 *   cold   what the server does per request: a fresh codec, the main header
 *          parsed, the window set, decoded, converted to 8-bit interleaved
 *          samples, everything destroyed.
 *   tiles  (OpenJPEG) cold, but whole code-stream tiles decoded and cropped,
 *          as the server's decoded-tile cache does.
 *   reuse  the header parsed once; each decode reuses the codec, where the
 *          library allows it ("n/a" where it refuses or fails).
 *
 * Cases (window in the coordinates of the reduced level):
 *   hdr      header only (open, parse, destroy)
 *   win256   256x256 inside code-stream tile (1,1), full resolution
 *   win258   258x258 centred on the corner of four code-stream tiles
 *   tile1024 the whole code-stream tile (1,1)
 *   r2win    256x256 at reduce 2 (covers code-stream tile (1,1))
 *   r4win    128x128 at reduce 4 (covers parts of four code-stream tiles)
 *   thumb4   the whole image at reduce 4
 *   thumb5   the whole image at reduce 5
 *
 * Usage: j2k_decoders [-t THREADS] [-n ROUNDS] [-b SECONDS] [-c CASES]
 *                     [-d DECODERS] [-r] FILE...
 *   -r: peak RSS per decoder instead of timings (a child per decoder and
 *       file, VmHWM reset through /proc/self/clear_refs).
 * Grok's thread pool is per process (grk_initialize), so the thread count is
 * one per run: run it once with -t 1 and once with -t 2.
 * Not part of make: built by bench/j2k_decoders.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openjpeg.h>
#ifdef HAVE_GROK
#include <grok.h>
#endif

#ifdef HAVE_OJPH
int ojph_bench_decode(const uint8_t *cs, size_t len, int reduce, uint32_t x,
                      uint32_t y, uint32_t w, uint32_t h, uint8_t *out,
                      int *ncomp, int header_only, char *err, size_t errlen);
#endif

/* ---- the file ---- */

struct file {
	const char *path;
	const uint8_t *data;      /* mmap of the whole file */
	size_t size;
	const uint8_t *cs;        /* code-stream (contents of jp2c, or data) */
	size_t cs_len;
	bool is_jp2, is_ht;
	uint32_t w, h;            /* image size (x1 - x0: offsets are 0 here) */
	uint32_t tw, th;          /* tile size */
	uint32_t ntiles_x, ntiles_y;
	int nres;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The jp2c box (ISO/IEC 15444-1 Annex I.4), or the whole file for a raw
 * code-stream. */
static bool find_codestream(struct file *f)
{
	size_t off = 0;
	if (f->size >= 2 && f->data[0] == 0xff && f->data[1] == 0x4f) {
		f->cs = f->data;
		f->cs_len = f->size;
		return true;
	}
	f->is_jp2 = true;
	while (off + 8 <= f->size) {
		uint64_t len = be32(f->data + off);
		size_t hdr = 8;
		if (len == 1) {
			if (off + 16 > f->size)
				return false;
			len = (uint64_t)be32(f->data + off + 8) << 32 | be32(f->data + off + 12);
			hdr = 16;
		} else if (len == 0) {
			len = f->size - off;
		}
		if (len < hdr || len > f->size - off)
			return false;
		if (!memcmp(f->data + off + 4, "jp2c", 4)) {
			f->cs = f->data + off + hdr;
			f->cs_len = (size_t)len - hdr;
			return true;
		}
		off += (size_t)len;
	}
	return false;
}

/* SIZ (A.5.1) and COD (A.6.1) from the main header, and whether any
 * CAP marker (Part 15, 0xff50) announces HTJ2K. */
static bool read_main_header(struct file *f)
{
	size_t p = 2;
	const uint8_t *c = f->cs;
	while (p + 4 <= f->cs_len) {
		uint16_t m = be16(c + p), l = be16(c + p + 2);
		if (m == 0xff90)  /* SOT: end of the main header */
			return f->w && f->nres;
		if (p + 2 + l > f->cs_len)
			return false;
		if (m == 0xff51 && l >= 38) {
			uint32_t x1 = be32(c + p + 6), y1 = be32(c + p + 10);
			uint32_t x0 = be32(c + p + 14), y0 = be32(c + p + 18);
			f->w = x1 - x0;
			f->h = y1 - y0;
			f->tw = be32(c + p + 22);
			f->th = be32(c + p + 26);
			if (!f->tw || !f->th)
				return false;
			f->ntiles_x = (x1 + f->tw - 1) / f->tw;
			f->ntiles_y = (y1 + f->th - 1) / f->th;
		} else if (m == 0xff52 && l >= 12) {
			f->nres = c[p + 9] + 1;
			if (c[p + 12] & 0x40)
				f->is_ht = true;
		} else if (m == 0xff50) {
			f->is_ht = true;
		}
		p += 2 + (size_t)l;
	}
	return false;
}

static bool file_open(struct file *f, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	memset(f, 0, sizeof *f);
	f->path = path;
	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	f->size = (size_t)st.st_size;
	f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->data == MAP_FAILED)
		return false;
	return find_codestream(f) && read_main_header(f);
}

/* ---- windows ---- */

struct win {
	const char *name;
	int reduce;
	uint32_t x, y, w, h;      /* on the reduced level; w = 0: whole level */
	bool header_only;
};

static uint32_t level_size(uint32_t n, int r)
{
	return (uint32_t)(((uint64_t)n + (1u << r) - 1) >> r);
}

/* Clips the window to its level; false when it falls outside or the
 * level does not exist. */
static bool win_fit(const struct file *f, struct win *w)
{
	uint32_t lw, lh;
	if (w->reduce >= f->nres)
		return false;
	lw = level_size(f->w, w->reduce);
	lh = level_size(f->h, w->reduce);
	if (w->header_only)
		return true;
	if (!w->w) {
		w->x = w->y = 0;
		w->w = lw;
		w->h = lh;
	}
	if (w->x >= lw || w->y >= lh)
		return false;
	if (w->w > lw - w->x)
		w->w = lw - w->x;
	if (w->h > lh - w->y)
		w->h = lh - w->y;
	return true;
}

static int make_cases(const struct file *f, struct win *out)
{
	uint32_t tw = f->tw < f->w ? f->tw : 1024, th = f->th < f->h ? f->th : 1024;
	struct win all[] = {
		{ "hdr", 0, 0, 0, 0, 0, true },
		{ "win256", 0, tw + 256, th + 256, 256, 256, false },
		{ "win258", 0, 2 * tw - 129, th - 129, 258, 258, false },
		{ "tile1024", 0, tw, th, tw, th, false },
		{ "r2win", 2, tw / 4, th / 4, 256, 256, false },
		{ "r4win", 4, tw / 16 + 32, th / 16 + 32, 128, 128, false },
		{ "thumb4", 4, 0, 0, 0, 0, false },
		{ "thumb5", 5, 0, 0, 0, 0, false },
	};
	int n = 0;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		struct win w = all[i];
		if (win_fit(f, &w))
			out[n++] = w;
	}
	return n;
}

/* ---- output: 8-bit interleaved, as the server's pipeline wants it ---- */

struct out {
	uint8_t *px;
	uint32_t w, h;
	int ncomp;
};

static inline uint8_t to8(int32_t v, int prec, bool sgnd)
{
	if (sgnd)
		v += 1 << (prec - 1);
	if (prec > 8)
		v >>= prec - 8;
	else if (prec < 8)
		v <<= 8 - prec;
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static int g_threads = 1;

/* ---- OpenJPEG ---- */

struct mstream {
	const uint8_t *data;
	size_t size, pos;
};

static OPJ_SIZE_T ms_read(void *buf, OPJ_SIZE_T n, void *user)
{
	struct mstream *m = user;
	if (m->pos >= m->size)
		return (OPJ_SIZE_T)-1;
	if (n > m->size - m->pos)
		n = m->size - m->pos;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return n;
}

static OPJ_OFF_T ms_skip(OPJ_OFF_T n, void *user)
{
	struct mstream *m = user;
	if (n < 0 && (size_t)-n > m->pos)
		n = -(OPJ_OFF_T)m->pos;
	if (n > 0 && (size_t)n > m->size - m->pos)
		n = (OPJ_OFF_T)(m->size - m->pos);
	m->pos += (size_t)n;
	return n;
}

static OPJ_BOOL ms_seek(OPJ_OFF_T n, void *user)
{
	struct mstream *m = user;
	if (n < 0 || (size_t)n > m->size)
		return OPJ_FALSE;
	m->pos = (size_t)n;
	return OPJ_TRUE;
}

static void opj_quiet(const char *msg, void *user)
{
	(void)msg;
	(void)user;
}

static void opj_err(const char *msg, void *user)
{
	(void)user;
	if (getenv("J2K_BENCH_VERBOSE"))
		fprintf(stderr, "openjpeg: %s", msg);
}

struct opj_state {
	opj_codec_t *codec;
	opj_stream_t *stream;
	opj_image_t *image;
	struct mstream ms;
	int reduce;               /* reduce factor set on the reused codec */
};

static bool opj_start(const struct file *f, struct opj_state *s)
{
	opj_dparameters_t p;
	memset(s, 0, sizeof *s);
	s->reduce = -1;
	s->ms = (struct mstream){ f->data, f->size, 0 };
	s->codec = opj_create_decompress(f->is_jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	if (!s->codec)
		return false;
	opj_set_error_handler(s->codec, opj_err, NULL);
	opj_set_warning_handler(s->codec, opj_quiet, NULL);
	opj_set_info_handler(s->codec, opj_quiet, NULL);
	opj_set_default_decoder_parameters(&p);
	if (!opj_setup_decoder(s->codec, &p))
		return false;
	opj_decoder_set_strict_mode(s->codec, OPJ_TRUE);
	if (g_threads > 1)
		opj_codec_set_threads(s->codec, g_threads);
	s->stream = opj_stream_create(65536, OPJ_TRUE);
	if (!s->stream)
		return false;
	opj_stream_set_user_data(s->stream, &s->ms, NULL);
	opj_stream_set_user_data_length(s->stream, f->size);
	opj_stream_set_read_function(s->stream, ms_read);
	opj_stream_set_skip_function(s->stream, ms_skip);
	opj_stream_set_seek_function(s->stream, ms_seek);
	return opj_read_header(s->stream, s->codec, &s->image) && s->image;
}

static void opj_stop(struct opj_state *s)
{
	if (s->image)
		opj_image_destroy(s->image);
	if (s->stream)
		opj_stream_destroy(s->stream);
	if (s->codec)
		opj_destroy_codec(s->codec);
	memset(s, 0, sizeof *s);
}

static bool opj_convert(const opj_image_t *im, const struct win *w, struct out *o)
{
	int nc = im->numcomps > 4 ? 4 : (int)im->numcomps;
	o->w = w->w;
	o->h = w->h;
	o->ncomp = nc;
	for (int c = 0; c < nc; c++) {
		const opj_image_comp_t *cp = &im->comps[c];
		if (!cp->data || cp->w < w->w || cp->h < w->h)
			return false;
		for (uint32_t y = 0; y < w->h; y++) {
			const OPJ_INT32 *src = cp->data + (size_t)y * cp->w;
			uint8_t *dst = o->px + (size_t)y * w->w * nc + c;
			for (uint32_t x = 0; x < w->w; x++)
				dst[(size_t)x * nc] = to8(src[x], (int)cp->prec, cp->sgnd);
		}
	}
	return true;
}

static bool opj_window(const struct file *f, struct opj_state *s, const struct win *w)
{
	uint32_t x0 = w->x << w->reduce, y0 = w->y << w->reduce;
	uint32_t x1 = (w->x + w->w) << w->reduce, y1 = (w->y + w->h) << w->reduce;
	if (x1 > f->w)
		x1 = f->w;
	if (y1 > f->h)
		y1 = f->h;
	if (s->reduce != w->reduce) {
		if (!opj_set_decoded_resolution_factor(s->codec, (OPJ_UINT32)w->reduce))
			return false;
		s->reduce = w->reduce;
	}
	return opj_set_decode_area(s->codec, s->image, (OPJ_INT32)x0, (OPJ_INT32)y0,
	                           (OPJ_INT32)x1, (OPJ_INT32)y1) &&
	       opj_decode(s->codec, s->stream, s->image);
}

static bool opj_cold(const struct file *f, const struct win *w, struct out *o)
{
	struct opj_state s;
	bool ok = opj_start(f, &s);
	if (ok && !w->header_only)
		ok = opj_window(f, &s, w) && opj_end_decompress(s.codec, s.stream) &&
		     opj_convert(s.image, w, o);
	opj_stop(&s);
	return ok;
}

/* Whole tiles: the area widened to the code-stream tiles it touches, then
 * cropped (what the server's decoded-tile cache does; and the way around
 * OpenJPEG 2.5.0 decoding HTJ2K sub-tile windows wrongly, see
 * J2K_DECODERS.md).  For an untiled image that is the whole level. */
static bool opj_tiles(const struct file *f, const struct win *w, struct out *o)
{
	struct opj_state s;
	bool ok;
	uint32_t x0 = w->x << w->reduce, y0 = w->y << w->reduce;
	uint32_t x1 = (w->x + w->w) << w->reduce, y1 = (w->y + w->h) << w->reduce;
	if (w->header_only)
		return false;
	x0 = x0 / f->tw * f->tw;
	y0 = y0 / f->th * f->th;
	x1 = (uint32_t)(((uint64_t)x1 + f->tw - 1) / f->tw * f->tw);
	y1 = (uint32_t)(((uint64_t)y1 + f->th - 1) / f->th * f->th);
	if (x1 > f->w)
		x1 = f->w;
	if (y1 > f->h)
		y1 = f->h;
	ok = opj_start(f, &s) &&
	     opj_set_decoded_resolution_factor(s.codec, (OPJ_UINT32)w->reduce) &&
	     opj_set_decode_area(s.codec, s.image, (OPJ_INT32)x0, (OPJ_INT32)y0, (OPJ_INT32)x1,
	                         (OPJ_INT32)y1) &&
	     opj_decode(s.codec, s.stream, s.image) && opj_end_decompress(s.codec, s.stream);
	if (ok) {
		int nc = s.image->numcomps > 4 ? 4 : (int)s.image->numcomps;
		o->w = w->w;
		o->h = w->h;
		o->ncomp = nc;
		for (int c = 0; c < nc && ok; c++) {
			const opj_image_comp_t *cp = &s.image->comps[c];
			/* the decoded area's origin on the level, from its far
			 * edge (OpenJPEG 2.5 leaves comps[].x0 at full resolution) */
			uint32_t lx0 = level_size(x1, w->reduce) - cp->w;
			uint32_t ly0 = level_size(y1, w->reduce) - cp->h;
			uint32_t ox, oy;
			if (!cp->data || cp->w > level_size(x1, w->reduce) ||
			    cp->h > level_size(y1, w->reduce) || lx0 > w->x || ly0 > w->y) {
				ok = false;
				break;
			}
			ox = w->x - lx0;
			oy = w->y - ly0;
			if (cp->w < ox + w->w || cp->h < oy + w->h) {
				ok = false;
				break;
			}
			for (uint32_t y = 0; y < w->h; y++) {
				const OPJ_INT32 *src = cp->data + (size_t)(oy + y) * cp->w + ox;
				uint8_t *dst = o->px + (size_t)y * w->w * nc + c;
				for (uint32_t x = 0; x < w->w; x++)
					dst[(size_t)x * nc] = to8(src[x], (int)cp->prec, cp->sgnd);
			}
		}
	}
	opj_stop(&s);
	return ok;
}

/* The reference: the whole level decoded by OpenJPEG without a decode
 * area (the path that decodes every code-block), cropped to the window.
 * Kept per (file, reduce) since three cases share level 0. */
static opj_image_t *g_ref_image;
static const struct file *g_ref_file;
static int g_ref_reduce = -1;

static bool ref_decode(const struct file *f, const struct win *w, struct out *o)
{
	int nc;
	if (g_ref_file != f || g_ref_reduce != w->reduce) {
		struct opj_state s;
		bool ok;
		if (g_ref_image)
			opj_image_destroy(g_ref_image);
		g_ref_image = NULL;
		g_ref_file = NULL;
		ok = opj_start(f, &s) &&
		     opj_set_decoded_resolution_factor(s.codec, (OPJ_UINT32)w->reduce) &&
		     opj_decode(s.codec, s.stream, s.image) && opj_end_decompress(s.codec, s.stream);
		if (ok) {
			g_ref_image = s.image;
			s.image = NULL;
			g_ref_file = f;
			g_ref_reduce = w->reduce;
		}
		opj_stop(&s);
		if (!ok)
			return false;
	}
	nc = g_ref_image->numcomps > 4 ? 4 : (int)g_ref_image->numcomps;
	o->w = w->w;
	o->h = w->h;
	o->ncomp = nc;
	for (int c = 0; c < nc; c++) {
		const opj_image_comp_t *cp = &g_ref_image->comps[c];
		if (!cp->data || cp->x0 || cp->y0 || cp->w < w->x + w->w || cp->h < w->y + w->h)
			return false;
		for (uint32_t y = 0; y < w->h; y++) {
			const OPJ_INT32 *src = cp->data + (size_t)(w->y + y) * cp->w + w->x;
			uint8_t *dst = o->px + (size_t)y * w->w * nc + c;
			for (uint32_t x = 0; x < w->w; x++)
				dst[(size_t)x * nc] = to8(src[x], (int)cp->prec, cp->sgnd);
		}
	}
	return true;
}

/* Reuse: OpenJPEG 2.5 allows repeated opj_set_decode_area + opj_decode on
 * one codec only for single-tile images; for tiled images it can decode
 * whole tiles repeatedly with opj_get_decoded_tile (tile1024 only). */
static struct opj_state g_opj_reuse;
static const struct file *g_opj_reuse_file;

static bool opj_reused(const struct file *f, const struct win *w, struct out *o)
{
	bool tiled = f->ntiles_x * f->ntiles_y > 1;
	if (w->header_only)
		return false;
	if (g_opj_reuse_file != f) {
		opj_stop(&g_opj_reuse);
		if (!opj_start(f, &g_opj_reuse))
			return false;
		g_opj_reuse_file = f;
	}
	if (!tiled)
		return opj_window(f, &g_opj_reuse, w) && opj_convert(g_opj_reuse.image, w, o);
	if (strcmp(w->name, "tile1024") || w->reduce)
		return false;
	{
		/* opj_get_decoded_tile fills the header's image with the tile */
		uint32_t idx = (w->y / f->th) * f->ntiles_x + w->x / f->tw;
		if (g_opj_reuse.reduce != 0) {
			if (!opj_set_decoded_resolution_factor(g_opj_reuse.codec, 0))
				return false;
			g_opj_reuse.reduce = 0;
		}
		return opj_get_decoded_tile(g_opj_reuse.codec, g_opj_reuse.stream,
		                            g_opj_reuse.image, idx) &&
		       opj_convert(g_opj_reuse.image, w, o);
	}
}

/* ---- Grok ---- */
#ifdef HAVE_GROK
static void grk_quiet(const char *msg, void *user)
{
	(void)msg;
	(void)user;
}

static void grk_err(const char *msg, void *user)
{
	(void)user;
	if (getenv("J2K_BENCH_VERBOSE"))
		fprintf(stderr, "grok: %s\n", msg);
}

static grk_codec *grk_start(const struct file *f, int reduce)
{
	grk_stream_params sp;
	grk_decompress_core_params cp;
	grk_header_info hi;
	grk_codec *codec;
	memset(&sp, 0, sizeof sp);
	sp.buf = (uint8_t *)f->data;
	sp.len = f->size;
	grk_decompress_set_default_params(&cp);
	cp.reduce = (uint8_t)reduce;
	cp.tileCacheStrategy = GRK_TILE_CACHE_NONE;
	codec = grk_decompress_init(&sp, &cp);
	if (!codec)
		return NULL;
	memset(&hi, 0, sizeof hi);
	if (!grk_decompress_read_header(codec, &hi)) {
		grk_object_unref(codec);
		return NULL;
	}
	return codec;
}

static bool grk_convert(const grk_image *im, const struct win *w, struct out *o)
{
	int nc = im->numcomps > 4 ? 4 : (int)im->numcomps;
	o->w = w->w;
	o->h = w->h;
	o->ncomp = nc;
	for (int c = 0; c < nc; c++) {
		const grk_image_comp *cp = &im->comps[c];
		if (getenv("J2K_BENCH_VERBOSE") && c == 0)
			fprintf(stderr, "grok image %u,%u-%u,%u comp0 %u,%u %ux%u stride %u\n",
			        im->x0, im->y0, im->x1, im->y1, cp->x0, cp->y0, cp->w, cp->h,
			        cp->stride);
		if (!cp->data || cp->w < w->w || cp->h < w->h)
			return false;
		for (uint32_t y = 0; y < w->h; y++) {
			const int32_t *src = cp->data + (size_t)y * cp->stride;
			uint8_t *dst = o->px + (size_t)y * w->w * nc + c;
			for (uint32_t x = 0; x < w->w; x++)
				dst[(size_t)x * nc] = to8(src[x], cp->prec, cp->sgnd);
		}
	}
	return true;
}

/* Grok's window is in full-resolution image coordinates, like OpenJPEG's
 * (checked by the pixel comparison). */
static bool grk_window(const struct file *f, grk_codec *codec, const struct win *w)
{
	uint32_t x0 = w->x << w->reduce, y0 = w->y << w->reduce;
	uint32_t x1 = (w->x + w->w) << w->reduce, y1 = (w->y + w->h) << w->reduce;
	if (x1 > f->w)
		x1 = f->w;
	if (y1 > f->h)
		y1 = f->h;
	return grk_decompress_set_window(codec, (float)x0, (float)y0, (float)x1, (float)y1) &&
	       grk_decompress(codec, NULL);
}

static bool grk_cold(const struct file *f, const struct win *w, struct out *o)
{
	grk_codec *codec = grk_start(f, w->reduce);
	bool ok = codec != NULL;
	if (ok && !w->header_only) {
		ok = grk_window(f, codec, w);
		if (ok) {
			grk_image *im = grk_decompress_get_composited_image(codec);
			ok = im && grk_convert(im, w, o);
		}
	}
	if (codec)
		grk_object_unref(codec);
	return ok;
}

/* Reuse: one codec per (file, reduce); whole tiles through
 * grk_decompress_tile + grk_decompress_get_tile_image, windows through a
 * second grk_decompress_set_window + grk_decompress (probed). */
static grk_codec *g_grk_reuse;
static const struct file *g_grk_reuse_file;
static int g_grk_reuse_reduce = -1;

static bool grk_reused(const struct file *f, const struct win *w, struct out *o)
{
	grk_image *im;
	if (w->header_only)
		return false;
	if (g_grk_reuse_file != f || g_grk_reuse_reduce != w->reduce) {
		if (g_grk_reuse)
			grk_object_unref(g_grk_reuse);
		g_grk_reuse = grk_start(f, w->reduce);
		if (!g_grk_reuse)
			return false;
		g_grk_reuse_file = f;
		g_grk_reuse_reduce = w->reduce;
	}
	if (!strcmp(w->name, "tile1024") && f->ntiles_x * f->ntiles_y > 1) {
		uint16_t idx = (uint16_t)((w->y / f->th) * f->ntiles_x + w->x / f->tw);
		if (!grk_decompress_tile(g_grk_reuse, idx))
			return false;
		im = grk_decompress_get_tile_image(g_grk_reuse, idx);
	} else {
		if (!grk_window(f, g_grk_reuse, w))
			return false;
		im = grk_decompress_get_composited_image(g_grk_reuse);
	}
	return im && grk_convert(im, w, o);
}
#endif

/* ---- OpenJPH (HTJ2K only; no windows, no threads) ---- */
#ifdef HAVE_OJPH
static bool ojph_cold(const struct file *f, const struct win *w, struct out *o)
{
	char err[256];
	int nc = 0;
	if (!f->is_ht)
		return false;
	if (ojph_bench_decode(f->cs, f->cs_len, w->reduce, w->x, w->y, w->w, w->h, o->px,
	                      &nc, w->header_only, err, sizeof err) != 0) {
		if (getenv("J2K_BENCH_VERBOSE"))
			fprintf(stderr, "openjph: %s\n", err);
		return false;
	}
	o->w = w->w;
	o->h = w->h;
	o->ncomp = nc;
	return true;
}
#endif

/* Drops the codecs kept for reuse (they point into the file's mapping). */
static void reuse_reset(void)
{
	opj_stop(&g_opj_reuse);
	g_opj_reuse_file = NULL;
	if (g_ref_image)
		opj_image_destroy(g_ref_image);
	g_ref_image = NULL;
	g_ref_file = NULL;
	g_ref_reduce = -1;
#ifdef HAVE_GROK
	if (g_grk_reuse)
		grk_object_unref(g_grk_reuse);
	g_grk_reuse = NULL;
	g_grk_reuse_file = NULL;
	g_grk_reuse_reduce = -1;
#endif
}

/* ---- the decoders ---- */

typedef bool (*decode_fn)(const struct file *, const struct win *, struct out *);

struct decoder {
	const char *name;
	decode_fn fn;
	bool reuse;
};

static const struct decoder g_decoders[] = {
	{ "openjpeg", opj_cold, false },
	{ "openjpeg-reuse", opj_reused, true },
	{ "openjpeg-tiles", opj_tiles, false },
#ifdef HAVE_GROK
	{ "grok", grk_cold, false },
	{ "grok-reuse", grk_reused, true },
#endif
#ifdef HAVE_OJPH
	{ "openjph", ojph_cold, false },
#endif
};
#define NDEC (sizeof g_decoders / sizeof g_decoders[0])

static double now(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Largest absolute sample difference; -1 when the shapes differ. */
static int max_diff(const struct out *a, const struct out *b)
{
	int m = 0;
	if (a->w != b->w || a->h != b->h || a->ncomp != b->ncomp)
		return -1;
	for (size_t i = 0; i < (size_t)a->w * a->h * a->ncomp; i++) {
		int d = abs((int)a->px[i] - (int)b->px[i]);
		if (d > m)
			m = d;
	}
	return m;
}

static bool wanted(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;
	if (!list)
		return true;
	while ((p = strstr(p, name)) != NULL) {
		bool start = p == list || p[-1] == ',';
		bool end = p[n] == '\0' || p[n] == ',';
		if (start && end)
			return true;
		p += n;
	}
	return false;
}

static struct out out_new(size_t px)
{
	struct out o = { malloc(px * 4), 0, 0, 0 };
	if (!o.px) {
		perror("malloc");
		exit(1);
	}
	return o;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* DIR/FILE.CASE.DECODER.ppm (P6 for 3 components, P5 for 1; others
 * skipped): what each decoder made, to look at. */
static void dump_ppm(const char *dir, const struct file *f, const struct win *w,
                     const char *dec, const struct out *o)
{
	char path[4096];
	FILE *fp;
	if (o->ncomp != 3 && o->ncomp != 1)
		return;
	snprintf(path, sizeof path, "%s/%s.%s.%s.ppm", dir, base_name(f->path), w->name, dec);
	fp = fopen(path, "wb");
	if (!fp)
		return;
	fprintf(fp, "P%d\n%u %u\n255\n", o->ncomp == 3 ? 6 : 5, o->w, o->h);
	fwrite(o->px, 1, (size_t)o->w * o->h * o->ncomp, fp);
	fclose(fp);
}

static void bench_file(const struct file *f, int rounds, double budget_ms,
                       const char *cases, const char *decs)
{
	struct win w[16];
	int nw = make_cases(f, w);
	for (int ci = 0; ci < nw; ci++) {
		bool use[NDEC];
		int ok_count = 0, diff[NDEC];
		double *wall[NDEC], *cpu[NDEC];
		int n[NDEC];
		struct out ref = out_new((size_t)w[ci].w * w[ci].h + 1);
		struct out o = out_new((size_t)w[ci].w * w[ci].h + 1);
		double t_start;
		bool have_ref = false;
		if (!wanted(cases, w[ci].name)) {
			free(ref.px);
			free(o.px);
			continue;
		}
		/* warm-up and probe: which decoders read this window, and the
		 * largest difference of their pixels from the reference (whole
		 * level decoded by OpenJPEG, cropped) */
		have_ref = w[ci].header_only || ref_decode(f, &w[ci], &ref);
		if (!have_ref)
			fprintf(stderr, "%s %s: no reference decode\n", base_name(f->path), w[ci].name);
		if (getenv("J2K_BENCH_DUMP") && !w[ci].header_only && have_ref)
			dump_ppm(getenv("J2K_BENCH_DUMP"), f, &w[ci], "reference", &ref);
		for (size_t d = 0; d < NDEC; d++) {
			use[d] = wanted(decs, g_decoders[d].name);
			diff[d] = -2;
			n[d] = 0;
			wall[d] = calloc((size_t)rounds, sizeof(double));
			cpu[d] = calloc((size_t)rounds, sizeof(double));
			if (!use[d])
				continue;
			for (int k = 0; k < 2 && use[d]; k++)
				use[d] = g_decoders[d].fn(f, &w[ci], &o);
			if (!use[d])
				continue;
			ok_count++;
			if (have_ref && !w[ci].header_only)
				diff[d] = max_diff(&ref, &o);
			if (getenv("J2K_BENCH_DUMP") && !w[ci].header_only)
				dump_ppm(getenv("J2K_BENCH_DUMP"), f, &w[ci], g_decoders[d].name, &o);
		}
		t_start = now(CLOCK_MONOTONIC);
		for (int r = 0; r < rounds; r++) {
			for (size_t k = 0; k < NDEC; k++) {
				size_t d = (k + (size_t)r) % NDEC;
				double w0, c0;
				if (!use[d])
					continue;
				w0 = now(CLOCK_MONOTONIC);
				c0 = now(CLOCK_PROCESS_CPUTIME_ID);
				if (!g_decoders[d].fn(f, &w[ci], &o)) {
					fprintf(stderr, "%s %s %s: decode failed\n", base_name(f->path),
					        w[ci].name, g_decoders[d].name);
					use[d] = false;
					continue;
				}
				cpu[d][n[d]] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
				wall[d][n[d]++] = now(CLOCK_MONOTONIC) - w0;
			}
			if (r >= 4 && now(CLOCK_MONOTONIC) - t_start > budget_ms)
				break;
		}
		{
			double ref_wall = 0, ref_cpu = 0;
			for (size_t d = 0; d < NDEC; d++) {
				double mw, mc;
				if (!use[d] || !n[d]) {
					if (wanted(decs, g_decoders[d].name) &&
					    (strcmp(g_decoders[d].name, "openjph") || f->is_ht))
						printf("%-24s %-9s t%d %-15s %9s %9s %7s %7s %5s %4s\n",
						       base_name(f->path), w[ci].name, g_threads,
						       g_decoders[d].name, "n/a", "", "", "", "", "");
					continue;
				}
				mw = median(wall[d], n[d]);
				mc = median(cpu[d], n[d]);
				if (d == 0)
					ref_wall = mw, ref_cpu = mc;
				printf("%-24s %-9s t%d %-15s %9.2f %9.2f %7.2f %7.2f %5d %4d\n",
				       base_name(f->path), w[ci].name, g_threads, g_decoders[d].name,
				       mw, mc, ref_wall > 0 ? mw / ref_wall : 0,
				       ref_cpu > 0 ? mc / ref_cpu : 0, n[d], diff[d]);
			}
			fflush(stdout);
		}
		for (size_t d = 0; d < NDEC; d++) {
			free(wall[d]);
			free(cpu[d]);
		}
		free(ref.px);
		free(o.px);
		(void)ok_count;
	}
}

/* VmRSS or VmHWM from /proc/self/status, in KiB. */
static long proc_kib(const char *key)
{
	char line[256];
	long v = -1;
	FILE *fp = fopen("/proc/self/status", "r");
	if (!fp)
		return -1;
	while (fgets(line, sizeof line, fp))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key) + 1);
	fclose(fp);
	return v;
}

static void grok_start(void)
{
#ifdef HAVE_GROK
	grk_initialize(NULL, (uint32_t)g_threads);
	grk_set_msg_handlers(grk_quiet, NULL, grk_quiet, NULL, grk_err, NULL);
#endif
}

/* Peak RSS: a child per (decoder, case), so that neither another decoder
 * nor an earlier case has grown the heap; VmHWM after one decode, less the
 * child's RSS before it. */
static void rss_file(const struct file *f, const char *cases, const char *decs)
{
	struct win w[16];
	int nw = make_cases(f, w);
	for (size_t d = 0; d < NDEC; d++) {
		if (!wanted(decs, g_decoders[d].name) || g_decoders[d].reuse)
			continue;
		for (int ci = 0; ci < nw; ci++) {
			pid_t pid;
			if (!wanted(cases, w[ci].name) || w[ci].header_only)
				continue;
			fflush(stdout);
			pid = fork();
			if (pid == 0) {
				struct out o = out_new((size_t)w[ci].w * w[ci].h + 1);
				grok_start();
				long base, peak;
				int fd;
				memset(o.px, 0, (size_t)w[ci].w * w[ci].h * 4 + 4);
				fd = open("/proc/self/clear_refs", O_WRONLY);
				if (fd >= 0) {
					if (write(fd, "5", 1) < 0)
						perror("clear_refs");
					close(fd);
				}
				base = proc_kib("VmRSS:");
				if (!g_decoders[d].fn(f, &w[ci], &o))
					_exit(1);
				peak = proc_kib("VmHWM:");
				printf("%-24s %-9s t%d %-15s peak %7.1f MiB above %5.1f MiB\n",
				       base_name(f->path), w[ci].name, g_threads, g_decoders[d].name,
				       (peak - base) / 1024.0, base / 1024.0);
				fflush(stdout);
				_exit(0);
			}
			if (pid > 0)
				waitpid(pid, NULL, 0);
		}
	}
}

int main(int argc, char **argv)
{
	int rounds = 21, opt;
	double budget = 6000;
	const char *cases = NULL, *decs = NULL;
	bool rss = false;
	while ((opt = getopt(argc, argv, "t:n:b:c:d:r")) != -1) {
		switch (opt) {
		case 't': g_threads = atoi(optarg); break;
		case 'n': rounds = atoi(optarg); break;
		case 'b': budget = atof(optarg) * 1000; break;
		case 'c': cases = optarg; break;
		case 'd': decs = optarg; break;
		case 'r': rss = true; break;
		default:
			fprintf(stderr, "usage: %s [-t threads] [-n rounds] [-b seconds] "
			        "[-c cases] [-d decoders] [-r] FILE...\n", argv[0]);
			return 2;
		}
	}
	if (g_threads < 1 || rounds < 1)
		return 2;
	/* Grok's pool does not survive fork: the RSS children start their own */
	if (!rss)
		grok_start();
	printf("# OpenJPEG %s", opj_version());
#ifdef HAVE_GROK
	printf(", Grok %s", grk_version());
#endif
#ifdef HAVE_OJPH
	printf(", OpenJPH");
#endif
	printf("; threads %d\n", g_threads);
	if (!rss)
		printf("%-24s %-9s %-2s %-15s %9s %9s %7s %7s %5s %4s\n", "# file", "case", "th",
		       "decoder", "wall_ms", "cpu_ms", "wall/o", "cpu/o", "n", "diff");
	for (int i = optind; i < argc; i++) {
		struct file f;
		if (!file_open(&f, argv[i])) {
			fprintf(stderr, "%s: not a JPEG 2000 file this bench reads\n", argv[i]);
			continue;
		}
		printf("# %s: %ux%u, tiles %ux%u (%ux%u), %d levels, %s%s\n", base_name(f.path),
		       f.w, f.h, f.tw, f.th, f.ntiles_x, f.ntiles_y, f.nres,
		       f.is_jp2 ? "JP2" : "J2K", f.is_ht ? ", HTJ2K" : "");
		if (rss)
			rss_file(&f, cases, decs);
		else
			bench_file(&f, rounds, budget, cases, decs);
		reuse_reset();
		munmap((void *)f.data, f.size);
	}
	return 0;
}
