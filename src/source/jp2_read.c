/*
 * jp2_read.c - JPEG 2000 source (JP2 box files and raw J2K codestreams),
 * decoded with OpenJPEG.
 *
 * Where it sits: ts_source_open sniffs the magic and hands us the file
 * descriptor; the planner then asks read_region for rectangles of one
 * resolution level, which we decode with OpenJPEG's windowed decoding
 * (opj_set_decode_area) at a reduce factor (opj_set_decoded_resolution_factor).
 *
 * The one idea: never let OpenJPEG see a file we have not measured.  Before
 * OpenJPEG reads anything we walk the JP2 boxes and the codestream main
 * header ourselves (SOC, SIZ, COD/COC: ISO/IEC 15444-1 Annex A.5.1, A.6.1,
 * A.6.2) with bounded reads, and refuse absurd declarations (image or tile
 * area beyond the limits, tens of thousands of tiles, zero sizes, too many
 * components or resolutions).  OpenJPEG allocates per-tile structures while
 * reading the main header, so a JP2 declaring 38,416 tiles costs about half a
 * gigabyte in opj_read_header alone; here it costs a few hundred bytes of
 * reads.  Each read_region then creates a fresh codec on a pread-based
 * stream: in OpenJPEG 2.5 a codec cannot be reused after a windowed decode of
 * a multi-tile image, and re-reading the main header is cheap (measured on a
 * 4000x3000 RGB file: 0.2-0.4 ms for the header against 4-30 ms to decode a
 * 256x256 window; the header grows by ~10 KB and ~14 us per tile, hence
 * JP2_MAX_TILES).
 *
 * Decoded tiles: with a tile cache (ts_source_limits.tiles, tile_cache.h),
 * read_region decodes whole code-stream tiles at the requested reduce factor
 * and assembles windows from them, so the sixteen 256-pixel tiles a viewer
 * asks for inside one 1024x1024 code-stream tile cost one decode, not
 * sixteen overlapping ones (measured on a 4224x3168 RPCL file, walking every
 * 256-pixel tile of every level: ~21 ms of CPU per tile decoding windows,
 * ~7 ms through the cache).  Tiles too big to keep (an untiled image at full
 * resolution) and windows whose tiles would pass the decode budget are
 * still decoded as windows.
 *
 * Levels: level r is OpenJPEG's reduce factor r; its size is, per the spec
 * (B.5, equation B-14), ceil(X1 / 2^r) - ceil(X0 / 2^r) (likewise for Y),
 * which is ceil((X1 - X0) / 2^r) when the image offset is zero.
 * Tile size for info: the codestream tile size (scaled per level) when the
 * image has more than one tile; 0,0 for a single-tile ("untiled") image, so
 * that info.json advertises its virtual tile size.
 * Not handled (yet): ICC profiles (ignored: pixels are returned as coded),
 * JPX extensions beyond what OpenJPEG decodes.  HTJ2K (Part 15) codestreams
 * decode transparently with OpenJPEG >= 2.5.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openjpeg.h>
#include <opj_config.h>
#include "tessera/deadline.h"
#include "tessera/checked.h"
#include "tessera/icc.h"
#include "tessera/source.h"
#include "tessera/tile_cache.h"

#ifndef JP2_THREADS
#define JP2_THREADS        2        /* OpenJPEG threads for a decode running alone */
#endif
#define JP2_MAX_TILES      8192     /* opj_read_header: ~10 KB and ~14 us per tile */
#define JP2_MAX_TILE_PX    (1ull << 30) /* one tile's area: bounds code-block metadata */
#define JP2_MAX_COMPS      16       /* components accepted; at most 4 are returned */
#define JP2_MAX_RES        33       /* 32 decomposition levels + 1 (A.6.1) */
#define JP2_MAX_BOXES      4096     /* top-level boxes walked before giving up */
#define JP2_STREAM_CHUNK   65536
#define JP2_MAX_TILE_PARTS 65536    /* SOT markers walked at open (12 bytes each) */
#define JP2_CACHE_TILE_PX  (1u << 21) /* largest tile (on its level) decoded whole: 2 MP */

struct jp2_comp {
	uint32_t dx, dy;          /* XRsiz, YRsiz */
	int prec;                 /* 1..16 */
	bool sgnd;
};

struct jp2_source {
	struct ts_source base;    /* must be first */
	int fd;
	uint64_t file_size;
	bool is_jp2;              /* JP2 boxes (else raw codestream) */
	/* Reference grid (SIZ). */
	uint32_t x0, y0, x1, y1;
	uint32_t tx0, ty0, tw, th;
	uint32_t ntiles;
	int ncomps;
	struct jp2_comp comps[JP2_MAX_COMPS];
	int nres;                 /* resolutions available (min over COD/COC) */
	uint32_t sub_x, sub_y;    /* least common multiple of the dx (dy) of the components */
	uint32_t cblk_w, cblk_h;  /* code-block size from COD */
	/* Colour interpretation decided at open. */
	bool ycc;                 /* sYCC: convert to RGB */
	bool cmyk;
	int colour_comps;         /* 1, 3 or 4 (CMYK) decoded colour components */
	bool alpha;
	/* OpenJPEG's messages for the current call (tied to this source). */
	char opj_msg[256];
	/* Tile-parts present in the file (walk_tile_parts): a tile is whole
	 * when tp_seen[t] > 0 and tp_seen[t] >= tp_total[t] (TNsot, 0 unknown).
	 * NULL when the walk gave up (too many tile-parts): not checked. */
	uint64_t first_sot, cs_end;
	uint8_t *tp_seen, *tp_total;
	/* Decoded-tile cache (borrowed, may be NULL) and this file's identity
	 * in its keys (tile and reduce are filled per lookup). */
	struct ts_tile_cache *tiles;
	struct ts_tile_key key;
	int threads;              /* OpenJPEG threads for the next codec (0: none) */
};

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

/* ---- reading bytes ---------------------------------------------------- */

static bool read_at(int fd, uint64_t off, void *buf, size_t n)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		done += (size_t)r;
	}
	return true;
}

static uint16_t be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const unsigned char jp2_magic[12] = {
	0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A
};

static bool jp2_sniff(const unsigned char *head, size_t n)
{
	if (n >= 12 && memcmp(head, jp2_magic, 12) == 0)
		return true;
	/* Raw codestream: SOC then SIZ (A.4.1: SIZ follows SOC immediately). */
	return n >= 4 && head[0] == 0xFF && head[1] == 0x4F && head[2] == 0xFF && head[3] == 0x51;
}

/* ---- our own header parse --------------------------------------------- */

/* One box header at off: type, data start, data end (within the parent's end). */
static bool box_at(int fd, uint64_t off, uint64_t end, uint32_t *type,
                   uint64_t *data, uint64_t *box_end)
{
	unsigned char h[16];
	uint64_t len;

	if (end < off || end - off < 8 || !read_at(fd, off, h, 8))
		return false;
	len = be32(h);
	*type = be32(h + 4);
	*data = off + 8;
	if (len == 1) {               /* XLBox: 64-bit length follows */
		if (end - off < 16 || !read_at(fd, off + 8, h + 8, 8))
			return false;
		len = (uint64_t)be32(h + 8) << 32 | be32(h + 12);
		*data = off + 16;
		if (len < 16)
			return false;
	} else if (len == 0) {        /* box runs to the end of its parent */
		len = end - off;
	} else if (len < 8) {
		return false;
	}
	if (len > end - off)
		return false;
	*box_end = off + len;
	return true;
}

#define BOX(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* Walk the JP2 boxes: find the codestream (jp2c) and the colour hints in jp2h
 * (colr enumerated space, pclr column count, cdef alpha). */
static ts_status walk_boxes(struct jp2_source *s, uint64_t *cs_off, int *pclr_cols,
                            int *enumcs, bool *cdef_alpha, struct ts_error *err)
{
	uint64_t off = 0, data, end, sub, sdata, send;
	uint32_t type, stype;
	unsigned char b[16];
	int nbox = 0, nsub;

	*cs_off = 0;
	*pclr_cols = 0;
	*enumcs = 0;
	*cdef_alpha = false;
	while (off < s->file_size && nbox++ < JP2_MAX_BOXES) {
		if (!box_at(s->fd, off, s->file_size, &type, &data, &end))
			break;
		if (type == BOX('j', 'p', '2', 'c')) {
			*cs_off = data;
			s->cs_end = end;
			return TS_OK;
		}
		if (type == BOX('j', 'p', '2', 'h')) {
			sub = data;
			for (nsub = 0; sub < end && nsub < 64; nsub++, sub = send) {
				if (!box_at(s->fd, sub, end, &stype, &sdata, &send))
					break;
				if (stype == BOX('c', 'o', 'l', 'r') && send - sdata >= 7 &&
				    read_at(s->fd, sdata, b, 7) && b[0] == 1 && !*enumcs)
					*enumcs = (int)be32(b + 3);
				else if (stype == BOX('p', 'c', 'l', 'r') && send - sdata >= 3 &&
				         read_at(s->fd, sdata, b, 3))
					*pclr_cols = b[2];
				else if (stype == BOX('c', 'd', 'e', 'f') && send - sdata >= 2 &&
				         read_at(s->fd, sdata, b, 2)) {
					uint16_t i, n = be16(b);
					for (i = 0; i < n && i < 64 && sdata + 2 + 6u * (i + 1u) <= send; i++)
						if (read_at(s->fd, sdata + 2 + 6u * i, b, 6) &&
						    (be16(b + 2) == 1 || be16(b + 2) == 2))
							*cdef_alpha = true;
				}
			}
		}
		off = end;
	}
	ts_error_set(err, TS_EINTERNAL, "corrupt codestream");
	ts_error_detail(err, "JP2: no codestream box");
	return TS_EINTERNAL;
}

/*
 * The ICC profile of the first colr box in jp2h when its method is 2
 * (restricted ICC, JP2 I.5.3.3), into info.icc.  Our own walk: OpenJPEG
 * 2.5's opj_read_header does not hand the profile over.  Anything odd
 * (no box, another method, a size out of bounds, an unusable profile per
 * icc.h) leaves the source without one; never an error.
 */
static void read_icc(struct jp2_source *s)
{
	uint64_t off = 0, data, end, sub, sdata, send;
	uint32_t type, stype;
	unsigned char meth;
	unsigned char *icc;
	size_t n;
	int nbox = 0, nsub;

	while (off < s->file_size && nbox++ < JP2_MAX_BOXES) {
		if (!box_at(s->fd, off, s->file_size, &type, &data, &end) ||
		    type == BOX('j', 'p', '2', 'c'))
			return;
		if (type != BOX('j', 'p', '2', 'h')) {
			off = end;
			continue;
		}
		for (sub = data, nsub = 0; sub < end && nsub < 64; nsub++, sub = send) {
			if (!box_at(s->fd, sub, end, &stype, &sdata, &send))
				return;
			if (stype != BOX('c', 'o', 'l', 'r'))
				continue;
			/* METH, PREC, APPROX, then the profile */
			if (send - sdata < 3 + 132 || send - sdata - 3 > TS_ICC_MAX ||
			    !read_at(s->fd, sdata, &meth, 1) || meth != 2)
				return;
			n = (size_t)(send - sdata - 3);
			icc = malloc(n);
			if (icc && read_at(s->fd, sdata + 3, icc, n) && ts_icc_usable(icc, n)) {
				s->base.info.icc = icc;
				s->base.info.icc_len = n;
				return;
			}
			free(icc);
			return;
		}
		return;
	}
}

static ts_status corrupt(struct ts_error *err, const char *why)
{
	ts_error_set(err, TS_EINTERNAL, "corrupt codestream");
	ts_error_detail(err, "JPEG 2000 main header: %s", why);
	return TS_EINTERNAL;
}

static uint32_t ceil_div(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a + b - 1) / b); }
static uint32_t ceil_pow2(uint32_t a, int r) { return (uint32_t)(((uint64_t)a + ((1ull << r) - 1)) >> r); }

/* Least common multiple of subsampling factors (1..255), capped at 2^16 so
 * a hostile mix of primes cannot overflow the window arithmetic. */
static uint32_t lcm_small(uint32_t a, uint32_t b)
{
	uint32_t x = a, y = b, t, l;

	while (y) {
		t = x % y;
		x = y;
		y = t;
	}
	l = a / x * b;
	return l > 65536 ? 65536 : l;
}

/* Parse SOC, SIZ and the main-header markers up to the first SOT. */
static ts_status parse_codestream(struct jp2_source *s, uint64_t off,
                                  const struct ts_source_limits *lim, struct ts_error *err)
{
	unsigned char b[40 + 3 * JP2_MAX_COMPS];
	uint64_t pos, area, tiles, tile_area;
	uint16_t marker, len, csiz;
	uint32_t ntx, nty;
	int i, nmark, coc_min = JP2_MAX_RES, cod_res = 0;

	if (!read_at(s->fd, off, b, 4) || be16(b) != 0xFF4F || be16(b + 2) != 0xFF51)
		return corrupt(err, "no SOC/SIZ");
	if (!read_at(s->fd, off + 4, b, 2))
		return corrupt(err, "short SIZ");
	len = be16(b);
	if (len < 41 || !read_at(s->fd, off + 4, b, 40))
		return corrupt(err, "short SIZ");
	s->x1 = be32(b + 4);
	s->y1 = be32(b + 8);
	s->x0 = be32(b + 12);
	s->y0 = be32(b + 16);
	s->tw = be32(b + 20);
	s->th = be32(b + 24);
	s->tx0 = be32(b + 28);
	s->ty0 = be32(b + 32);
	csiz = be16(b + 36);
	if (csiz < 1 || csiz > JP2_MAX_COMPS)
		return corrupt(err, "component count out of range");
	if (len != 38 + 3 * csiz || !read_at(s->fd, off + 4 + 38, b + 38, 3u * csiz))
		return corrupt(err, "SIZ length");
	s->ncomps = csiz;
	s->sub_x = s->sub_y = 1;
	for (i = 0; i < csiz; i++) {
		const unsigned char *c = b + 38 + 3 * i;
		s->comps[i].prec = (c[0] & 0x7F) + 1;
		s->comps[i].sgnd = (c[0] & 0x80) != 0;
		s->comps[i].dx = c[1];
		s->comps[i].dy = c[2];
		if (s->comps[i].dx == 0 || s->comps[i].dy == 0)
			return corrupt(err, "zero component subsampling");
		s->sub_x = lcm_small(s->sub_x, s->comps[i].dx);
		s->sub_y = lcm_small(s->sub_y, s->comps[i].dy);
		if (s->comps[i].prec > 16) {
			ts_error_set(err, TS_EINTERNAL, "unsupported image: more than 16 bits per sample");
			return TS_EINTERNAL;
		}
	}
	/* A.5.1: the image and tile grids must be non-empty and nested. */
	if (s->x1 <= s->x0 || s->y1 <= s->y0 || s->tw == 0 || s->th == 0 ||
	    s->tx0 > s->x0 || s->ty0 > s->y0 ||
	    (uint64_t)s->tx0 + s->tw <= s->x0 || (uint64_t)s->ty0 + s->th <= s->y0)
		return corrupt(err, "empty or inconsistent image/tile grid");
	/* OpenJPEG takes decode areas as signed 32-bit values. */
	if (s->x1 > INT32_MAX || s->y1 > INT32_MAX)
		return corrupt(err, "reference grid beyond 2^31");
	area = (uint64_t)(s->x1 - s->x0) * (s->y1 - s->y0);
	if (lim && lim->max_source_pixels && area > lim->max_source_pixels) {
		ts_error_set(err, TS_EFORBIDDEN, "image too large");
		ts_error_detail(err, "JPEG 2000 declares %ux%u", s->x1 - s->x0, s->y1 - s->y0);
		return TS_EFORBIDDEN;
	}
	ntx = ceil_div(s->x1 - s->tx0, s->tw);
	nty = ceil_div(s->y1 - s->ty0, s->th);
	tiles = (uint64_t)ntx * nty;
	if (tiles > JP2_MAX_TILES) {
		ts_error_set(err, TS_EFORBIDDEN, "image has too many tiles");
		ts_error_detail(err, "JPEG 2000 declares %llu tiles", (unsigned long long)tiles);
		return TS_EFORBIDDEN;
	}
	s->ntiles = (uint32_t)tiles;
	/* A tile as big as the image area inside it (clipped). */
	tile_area = (uint64_t)(s->tw < s->x1 - s->x0 ? s->tw : s->x1 - s->x0) *
	            (s->th < s->y1 - s->y0 ? s->th : s->y1 - s->y0);
	if (tile_area > JP2_MAX_TILE_PX) {
		ts_error_set(err, TS_EFORBIDDEN, "image tiles too large");
		ts_error_detail(err, "JPEG 2000 tile %ux%u", s->tw, s->th);
		return TS_EFORBIDDEN;
	}

	/* Main header markers until SOT: COD gives the resolution count and the
	 * code-block size; COC can lower the count for one component. */
	pos = off + 4 + len;    /* Lsiz counts itself, not the marker */
	for (nmark = 0; nmark < 1024; nmark++) {
		if (!read_at(s->fd, pos, b, 4))
			return corrupt(err, "truncated main header");
		marker = be16(b);
		if (marker == 0xFF90 || marker == 0xFF93) { /* SOT / SOD */
			s->first_sot = pos;
			break;
		}
		if ((marker & 0xFF00) != 0xFF00)
			return corrupt(err, "marker expected");
		len = be16(b + 2);
		if (len < 2)
			return corrupt(err, "marker length");
		if (marker == 0xFF52) {                   /* COD (A.6.1) */
			if (len < 12 || !read_at(s->fd, pos + 4, b, 10))
				return corrupt(err, "short COD");
			/* Scod, SGcod(4), then SPcod: levels, xcb, ycb, style, wavelet */
			cod_res = b[5] + 1;
			if ((b[6] & 0x0F) > 8 || (b[7] & 0x0F) > 8 || (b[6] & 0x0F) + (b[7] & 0x0F) > 8)
				return corrupt(err, "code-block size");
			s->cblk_w = 1u << ((b[6] & 0x0F) + 2);
			s->cblk_h = 1u << ((b[7] & 0x0F) + 2);
		} else if (marker == 0xFF53) {            /* COC (A.6.2) */
			unsigned idx = csiz < 257 ? 1 : 2;
			if (len < 2 + idx + 1 + 5 || !read_at(s->fd, pos + 4, b, idx + 2))
				return corrupt(err, "short COC");
			if (b[idx + 1] + 1 < coc_min)
				coc_min = b[idx + 1] + 1;
		}
		pos += 2 + (uint64_t)len;
	}
	if (cod_res == 0)
		return corrupt(err, "no COD marker");
	if (cod_res > JP2_MAX_RES)
		return corrupt(err, "too many resolution levels");
	s->nres = cod_res < coc_min ? cod_res : coc_min;
	return TS_OK;
}

/* ---- tile-parts ---------------------------------------------------------- */

/*
 * Which tiles the file really holds.  OpenJPEG decodes a tile that has no
 * tile-part at all as black and reports success (a file cut exactly at a
 * tile-part boundary, or whose tiles were never written), so a windowed
 * decode would be a 200 with a black hole.  We walk the SOT markers once
 * (A.4.2: Isot, Psot, TPsot, TNsot; Psot 0 = runs to the end) with bounded
 * reads and count the whole tile-parts of each tile; a tile-part that
 * claims more bytes than the codestream holds does not count.
 */
static void walk_tile_parts(struct jp2_source *s)
{
	unsigned char b[12];
	uint64_t pos = s->first_sot, psot;
	uint32_t n, t;

	if (s->ntiles == 0 || !(s->tp_seen = calloc(s->ntiles, 2)))
		return;                 /* not checked: OpenJPEG still decides */
	s->tp_total = s->tp_seen + s->ntiles;
	for (n = 0; n < JP2_MAX_TILE_PARTS; n++) {
		if (pos < s->first_sot || s->cs_end < 14 || pos > s->cs_end - 14 ||
		    !read_at(s->fd, pos, b, sizeof b) || be16(b) != 0xFF90 || be16(b + 2) != 10)
			return;
		t = be16(b + 4);
		psot = be32(b + 6);
		if (t >= s->ntiles)
			return;
		if (psot == 0)
			psot = s->cs_end - pos;
		if (psot < 14 || psot > s->cs_end - pos)
			return;
		if (s->tp_seen[t] < 255)
			s->tp_seen[t]++;
		if (b[11])
			s->tp_total[t] = b[11];
		pos += psot;
	}
	/* Too many tile-parts to walk cheaply: do not judge. */
	free(s->tp_seen);
	s->tp_seen = s->tp_total = NULL;
}

/* 500 unless every tile under the reference-grid window [x0,x1)x[y0,y1)
 * is whole in the file. */
static ts_status check_tiles_whole(const struct jp2_source *s, uint64_t x0, uint64_t y0,
                                   uint64_t x1, uint64_t y1, struct ts_error *err)
{
	uint32_t ntx = ceil_div(s->x1 - s->tx0, s->tw), p, q, p0, p1, q0, q1, t;

	if (!s->tp_seen || x1 <= x0 || y1 <= y0)
		return TS_OK;
	p0 = (uint32_t)((x0 - s->tx0) / s->tw);
	p1 = (uint32_t)((x1 - 1 - s->tx0) / s->tw);
	q0 = (uint32_t)((y0 - s->ty0) / s->th);
	q1 = (uint32_t)((y1 - 1 - s->ty0) / s->th);
	for (q = q0; q <= q1; q++) {
		for (p = p0; p <= p1; p++) {
			t = q * ntx + p;
			if (t < s->ntiles && s->tp_seen[t] && s->tp_seen[t] >= s->tp_total[t])
				continue;
			ts_error_set(err, TS_EINTERNAL, "corrupt image data");
			ts_error_detail(err, "JPEG 2000 tile %u: %u of %u tile-parts in the file",
			                t, t < s->ntiles ? s->tp_seen[t] : 0,
			                t < s->ntiles ? s->tp_total[t] : 0);
			return TS_EINTERNAL;
		}
	}
	return TS_OK;
}

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

/* A codec with its header read, on a fresh stream; both freed by the caller. */
static bool start_codec(struct jp2_source *s, struct jp2_stream *st, opj_codec_t **codec,
                        opj_stream_t **stream, opj_image_t **image)
{
	opj_dparameters_t params;

	*codec = NULL;
	*stream = NULL;
	*image = NULL;
	s->opj_msg[0] = '\0';
	st->fd = s->fd;
	st->pos = 0;
	st->size = s->file_size;
	*codec = opj_create_decompress(s->is_jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	if (!*codec)
		return false;
	opj_set_error_handler(*codec, opj_on_error, s);
	opj_set_warning_handler(*codec, opj_on_quiet, s);
	opj_set_info_handler(*codec, opj_on_quiet, s);
	opj_set_default_decoder_parameters(&params);
	if (!opj_setup_decoder(*codec, &params))
		return false;
	/* Strict: a truncated codestream is an error, never a half-grey 200.
	 * (2.5 added partial decoding, off by default; 2.4 is always strict.) */
#if OPJ_VERSION_MAJOR > 2 || (OPJ_VERSION_MAJOR == 2 && OPJ_VERSION_MINOR >= 5)
	opj_decoder_set_strict_mode(*codec, OPJ_TRUE);
#endif
	if (s->threads > 1)
		opj_codec_set_threads(*codec, s->threads);
	*stream = opj_stream_create(JP2_STREAM_CHUNK, OPJ_TRUE);
	if (!*stream)
		return false;
	opj_stream_set_user_data(*stream, st, NULL);
	opj_stream_set_user_data_length(*stream, st->size);
	opj_stream_set_read_function(*stream, stream_read);
	opj_stream_set_skip_function(*stream, stream_skip);
	opj_stream_set_seek_function(*stream, stream_seek);
	return opj_read_header(*stream, *codec, image) && *image;
}

static void stop_codec(opj_codec_t *codec, opj_stream_t *stream, opj_image_t *image)
{
	if (image)
		opj_image_destroy(image);
	if (stream)
		opj_stream_destroy(stream);
	if (codec)
		opj_destroy_codec(codec);
}

/* ---- open ---------------------------------------------------------------- */

static void jp2_close(struct ts_source *base)
{
	struct jp2_source *s = (struct jp2_source *)base;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->tp_seen);
	free((void *)s->base.info.icc);
	free(s);
}

static ts_status jp2_open(int fd, const char *path, const struct ts_source_limits *lim,
                          struct ts_source **out, struct ts_error *err)
{
	struct jp2_source *s;
	struct jp2_stream st;
	opj_codec_t *codec = NULL;
	opj_stream_t *stream = NULL;
	opj_image_t *image = NULL;
	unsigned char head[12];
	struct stat sb;
	uint64_t cs_off = 0;
	int pclr_cols = 0, enumcs = 0, r, n;
	bool cdef_alpha = false;
	ts_status status;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	}
	s->fd = fd;
	s->base.ops = &ts_jp2_source_ops;
	if (fstat(fd, &sb) != 0 || !read_at(fd, 0, head, sizeof head)) {
		status = ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "%s: short JPEG 2000 file", path);
		goto fail;
	}
	s->file_size = (uint64_t)sb.st_size;
	s->tiles = lim ? lim->tiles : NULL;
	s->key.dev = (uint64_t)sb.st_dev;
	s->key.ino = (uint64_t)sb.st_ino;
	s->key.size = (uint64_t)sb.st_size;
	s->key.mtime_sec = (int64_t)sb.st_mtim.tv_sec;
	s->key.mtime_nsec = (int64_t)sb.st_mtim.tv_nsec;
	s->is_jp2 = memcmp(head, jp2_magic, 12) == 0;
	if (s->is_jp2) {
		status = walk_boxes(s, &cs_off, &pclr_cols, &enumcs, &cdef_alpha, err);
		if (status)
			goto fail;
	}
	if (!s->is_jp2)
		s->cs_end = s->file_size;
	status = parse_codestream(s, cs_off, lim, err);
	if (status)
		goto fail;
	walk_tile_parts(s);

	/* Our checks passed: let OpenJPEG confirm it can read the header too. */
	if (!start_codec(s, &st, &codec, &stream, &image)) {
		status = ts_error_set(err, TS_EINTERNAL, "corrupt codestream");
		ts_error_detail(err, "%s: OpenJPEG: %s", path, s->opj_msg);
		goto fail;
	}

	/* Colour: palette columns replace the component count; enumerated
	 * colour spaces (JP2 I.5.3.3): 12 CMYK, 16 sRGB, 17 grey, 18 sYCC. */
	n = pclr_cols ? pclr_cols : s->ncomps;
	s->cmyk = enumcs == 12 || image->color_space == OPJ_CLRSPC_CMYK;
	s->ycc = enumcs == 18 || image->color_space == OPJ_CLRSPC_SYCC;
	if (!s->is_jp2 && n >= 3 && !s->ycc && image->color_space != OPJ_CLRSPC_SRGB &&
	    s->comps[0].dx == 1 && s->comps[0].dy == 1 &&
	    (s->comps[1].dx > 1 || s->comps[1].dy > 1) &&
	    s->comps[1].dx == s->comps[2].dx && s->comps[1].dy == s->comps[2].dy)
		s->ycc = true;   /* raw codestream with subsampled chroma: Y'CbCr */
	if (s->cmyk && n >= 4) {
		s->colour_comps = 4;
		s->alpha = n >= 5;
	} else if (n >= 3) {
		s->cmyk = false;
		s->colour_comps = 3;
		s->alpha = n == 4 || (n > 4 && cdef_alpha);
	} else {
		s->cmyk = s->ycc = false;
		s->colour_comps = 1;
		s->alpha = n == 2;
	}
	s->base.info.channels = (s->colour_comps == 1 ? 1 : 3) + (s->alpha ? 1 : 0);
	s->base.info.bits = s->comps[0].prec;
	s->base.info.format = "jp2";
	s->base.info.width = s->x1 - s->x0;
	s->base.info.height = s->y1 - s->y0;
	s->base.info.nlevels = s->nres < TS_MAX_LEVELS ? s->nres : TS_MAX_LEVELS;
	for (r = 0; r < s->base.info.nlevels; r++) {
		struct ts_source_level *lv = &s->base.info.levels[r];
		lv->width = ceil_pow2(s->x1, r) - ceil_pow2(s->x0, r);
		lv->height = ceil_pow2(s->y1, r) - ceil_pow2(s->y0, r);
		if (s->ntiles > 1) {
			lv->tile_w = ceil_pow2(s->tw, r);
			lv->tile_h = ceil_pow2(s->th, r);
		}
	}
	if (s->is_jp2)
		read_icc(s);
	stop_codec(codec, stream, image);
	*out = &s->base;
	return TS_OK;

fail:
	/* The header parse does not know the path: put it in front of its detail. */
	if (err && strncmp(err->detail, path, strlen(path)) != 0) {
		char why[sizeof err->detail];
		snprintf(why, sizeof why, "%s", err->detail);
		snprintf(err->detail, sizeof err->detail, "%.200s: %.300s", path, why);
	}
	stop_codec(codec, stream, image);
	jp2_close(&s->base);
	return status;
}

/* ---- read_region -------------------------------------------------------- */

/* A component sample scaled to 8 bits (prec 1..16, signed values offset). */
static inline int to8(const opj_image_comp_t *c, OPJ_INT32 v)
{
	uint32_t maxv = (1u << c->prec) - 1;
	int64_t u = (int64_t)v + (c->sgnd ? (1 << (c->prec - 1)) : 0);

	if (u < 0)
		u = 0;
	if (u > maxv)
		u = maxv;
	if (c->prec == 8)
		return (int)u;
	return (int)((u * 255 + maxv / 2) / maxv);
}

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

/* Decode the window (x,y,w,h) of `level` with OpenJPEG into a new image
 * (8-bit interleaved, info.channels).  The caller has checked the budget. */
static ts_status decode_window(struct jp2_source *s, int level, uint32_t x, uint32_t y,
                               uint32_t w, uint32_t h, struct ts_image *out,
                               struct ts_error *err)
{
	opj_codec_t *codec = NULL;
	opj_stream_t *stream = NULL;
	opj_image_t *image = NULL;
	struct jp2_stream st;
	uint64_t bx, by, ax0, ay0, ax1, ay1;
	uint32_t *colx = NULL, cx0[5], cy0[5];
	int r = level, need, idx[5], ncol, ch_out = s->base.info.channels, k, alpha_idx;
	ts_status status;
	uint32_t i, j;
	size_t ncolx;
	bool ok;

	memset(out, 0, sizeof *out);
	s->threads = atomic_fetch_add(&decodes_running, 1) == 0 ? JP2_THREADS : 0;
	ok = start_codec(s, &st, &codec, &stream, &image);
	s->threads = 0;
	if (!ok) {
		status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "OpenJPEG header: %s", s->opj_msg);
		goto fail;
	}
	/* Level pixel (0,0) is reduced-grid column ceil(X0 / 2^r); map the window
	 * back to the reference grid (see the file comment). */
	bx = ceil_pow2(s->x0, r);
	by = ceil_pow2(s->y0, r);
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
	status = check_tiles_whole(s, ax0, ay0, ax1, ay1, err);
	if (status)
		goto fail;
	if (!opj_set_decoded_resolution_factor(codec, (OPJ_UINT32)r) ||
	    !opj_set_decode_area(codec, image, (OPJ_INT32)ax0, (OPJ_INT32)ay0,
	                         (OPJ_INT32)ax1, (OPJ_INT32)ay1)) {
		status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
		ts_error_detail(err, "OpenJPEG window: %s", s->opj_msg);
		goto fail;
	}
	if (!opj_decode(codec, stream, image) || !opj_end_decompress(codec, stream)) {
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
		cx0[k] = ceil_pow2(ceil_div((uint32_t)ax1, c->dx), r) - c->w;
		cy0[k] = ceil_pow2(ceil_div((uint32_t)ay1, c->dy), r) - c->h;
		if (cx0[k] > ceil_pow2(ceil_div((uint32_t)ax1, c->dx), r) ||
		    cy0[k] > ceil_pow2(ceil_div((uint32_t)ay1, c->dy), r)) {
			status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
			ts_error_detail(err, "JPEG 2000: decoded component larger than its window");
			goto fail;
		}
		for (i = 0; i < w; i++)
			colx[(size_t)k * w + i] = comp_index(bx + x + i, r, c->dx, cx0[k], c->w);
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
		for (i = 0; i < w; i++) {
			for (k = 0; k < need; k++)
				v[k] = to8(&image->comps[idx[k]], src[k][colx[(size_t)k * w + i]]);
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
	stop_codec(codec, stream, image);
	atomic_fetch_sub(&decodes_running, 1);
	return TS_OK;

fail:
	free(colx);
	ts_image_free(out);
	stop_codec(codec, stream, image);
	atomic_fetch_sub(&decodes_running, 1);
	return status;
}

/* ---- the decoded-tile path -------------------------------------------- */

/*
 * Code-stream tile (p,q) on level r, in level pixels: [*lx0,*lx1) x
 * [*ly0,*ly1).  Its reference-grid bounds, clipped to the image (B-7), are
 * reduced like the image itself (B-14), so the tiles of a level abut.
 */
static void tile_on_level(const struct jp2_source *s, int r, uint32_t p, uint32_t q,
                          uint32_t *lx0, uint32_t *ly0, uint32_t *lx1, uint32_t *ly1)
{
	uint64_t X0 = (uint64_t)s->tx0 + (uint64_t)p * s->tw, X1 = X0 + s->tw;
	uint64_t Y0 = (uint64_t)s->ty0 + (uint64_t)q * s->th, Y1 = Y0 + s->th;
	uint32_t bx = ceil_pow2(s->x0, r), by = ceil_pow2(s->y0, r);

	X0 = X0 > s->x0 ? X0 : s->x0;
	Y0 = Y0 > s->y0 ? Y0 : s->y0;
	X1 = X1 < s->x1 ? X1 : s->x1;
	Y1 = Y1 < s->y1 ? Y1 : s->y1;
	*lx0 = ceil_pow2((uint32_t)X0, r) - bx;
	*ly0 = ceil_pow2((uint32_t)Y0, r) - by;
	*lx1 = ceil_pow2((uint32_t)X1, r) - bx;
	*ly1 = ceil_pow2((uint32_t)Y1, r) - by;
}

struct tile_job {
	struct jp2_source *s;
	int r;
	uint32_t x, y, w, h;     /* the tile on its level */
};

static ts_status fill_tile(void *ctx, struct ts_image *out, struct ts_error *err)
{
	struct tile_job *j = ctx;

	return decode_window(j->s, j->r, j->x, j->y, j->w, j->h, out, err);
}

/* The code-stream tiles touched by rows [y, y+h) (or columns): first and
 * one-past-last index along one axis of n tiles. */
static void tiles_touched(const struct jp2_source *s, int r, bool rows, uint32_t a, uint32_t n,
                          uint32_t count, uint32_t *first, uint32_t *end)
{
	uint32_t i, l0, l1, m0, m1;

	*first = count;
	*end = 0;
	for (i = 0; i < count; i++) {
		tile_on_level(s, r, rows ? 0 : i, rows ? i : 0, &l0, &m0, &l1, &m1);
		if (rows) {
			l0 = m0;
			l1 = m1;
		}
		if (l1 > l0 && l1 > a && l0 < (uint64_t)a + n) {
			if (*first == count)
				*first = i;
			*end = i + 1;
		}
	}
}

/*
 * Whether read_region should go through the decoded-tile cache, and what
 * the tiles it touches cost to decode: only when a cache with room exists
 * and each touched code-stream tile, on this level, is small enough to keep
 * (a single-tile image at full resolution would mean decoding everything
 * for one 256-pixel window).
 */
static bool use_tiles(const struct jp2_source *s, int r, uint32_t x, uint32_t y, uint32_t w,
                      uint32_t h, uint64_t *cost)
{
	uint32_t ntx = ceil_div(s->x1 - s->tx0, s->tw), nty = ceil_div(s->y1 - s->ty0, s->th);
	uint32_t p0, p1, q0, q1, tw = ceil_pow2(s->tw, r), th = ceil_pow2(s->th, r);
	uint64_t tile_px = (uint64_t)tw * th, tile_bytes = tile_px * (uint64_t)s->base.info.channels;
	size_t budget = ts_tile_cache_budget(s->tiles);

	if (!s->tiles || budget == 0 || tile_px > JP2_CACHE_TILE_PX || tile_bytes > budget / 4)
		return false;
	tiles_touched(s, r, false, x, w, ntx, &p0, &p1);
	tiles_touched(s, r, true, y, h, nty, &q0, &q1);
	if (p1 <= p0 || q1 <= q0)
		return false;
	*cost = tile_px * (p1 - p0) * (q1 - q0);
	return true;
}

/* Copy the rectangle [ix0,ix1) x [iy0,iy1) of level pixels from src (whose
 * top-left pixel is sx,sy) into out (whose top-left pixel is x,y). */
static void copy_rect(struct ts_image *out, uint32_t x, uint32_t y, const struct ts_image *src,
                      uint32_t sx, uint32_t sy, uint32_t ix0, uint32_t iy0, uint32_t ix1,
                      uint32_t iy1)
{
	size_t ch = (size_t)out->channels;
	uint32_t row;

	for (row = iy0; row < iy1; row++)
		memcpy(out->pixels + (size_t)(row - y) * out->stride + (ix0 - x) * ch,
		       src->pixels + (size_t)(row - sy) * src->stride + (ix0 - sx) * ch,
		       (ix1 - ix0) * ch);
}

/*
 * Assemble the window from whole decoded code-stream tiles, each decoded
 * once per reduce factor and shared by every request (tile_cache.h).
 * Tiles already decoded are copied first.  One missing tile is decoded
 * through the cache, so concurrent requests for it wait for one decode.
 * Several missing tiles (a thumbnail covering a small level) are decoded in
 * one OpenJPEG pass over their bounding box and then cut into the cache:
 * one header read and one thread pool instead of one per tile, which on a
 * small level (32x32-pixel tiles) is most of the work.
 */
static ts_status read_from_tiles(struct jp2_source *s, int r, uint32_t x, uint32_t y,
                                 uint32_t w, uint32_t h, struct ts_image *out,
                                 struct ts_error *err)
{
	uint32_t ntx = ceil_div(s->x1 - s->tx0, s->tw), nty = ceil_div(s->y1 - s->ty0, s->th);
	uint32_t p, q, p0, p1, q0, q1, lx0, ly0, lx1, ly1, ix0, iy0, ix1, iy1;
	uint32_t bx0 = UINT32_MAX, by0 = UINT32_MAX, bx1 = 0, by1 = 0;
	const struct ts_tile *t = NULL;
	struct ts_tile_key key = s->key;
	struct ts_image batch = { 0 }, piece = { 0 };
	struct tile_job job;
	bool *missing = NULL;
	size_t nmissing = 0, i;
	ts_status status;
	int pass;

	status = ts_image_alloc(out, w, h, s->base.info.channels, err);
	if (status)
		return status;
	tiles_touched(s, r, false, x, w, ntx, &p0, &p1);
	tiles_touched(s, r, true, y, h, nty, &q0, &q1);
	missing = calloc((size_t)(p1 - p0) * (q1 - q0), sizeof *missing);
	if (!missing) {
		status = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	key.reduce = (uint32_t)r;
	/* pass 0: copy what is cached; 1: decode and copy the rest. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && nmissing >= 2) {
			status = decode_window(s, r, bx0, by0, bx1 - bx0, by1 - by0, &batch, err);
			if (status)
				goto fail;
		}
		for (q = q0, i = 0; q < q1; q++) {
			for (p = p0; p < p1; p++, i++) {
				tile_on_level(s, r, p, q, &lx0, &ly0, &lx1, &ly1);
				ix0 = lx0 > x ? lx0 : x;
				iy0 = ly0 > y ? ly0 : y;
				ix1 = lx1 < x + w ? lx1 : x + w;
				iy1 = ly1 < y + h ? ly1 : y + h;
				if (ix1 <= ix0 || iy1 <= iy0 || (pass == 1 && !missing[i]))
					continue;
				status = ts_deadline_check(err);   /* between tiles */
				if (status)
					goto fail;
				key.tile = q * ntx + p;
				if (pass == 1 && nmissing >= 2) {
					/* Keep the tile for the next requests, then copy. */
					status = ts_image_alloc(&piece, lx1 - lx0, ly1 - ly0,
					                        s->base.info.channels, err);
					if (status)
						goto fail;
					copy_rect(&piece, lx0, ly0, &batch, bx0, by0, lx0, ly0, lx1, ly1);
					ts_tile_cache_put(s->tiles, &key, &piece);
					copy_rect(out, x, y, &batch, bx0, by0, ix0, iy0, ix1, iy1);
					continue;
				}
				if (pass == 0) {
					t = ts_tile_cache_peek(s->tiles, &key);
					if (!t) {
						missing[i] = true;
						nmissing++;
						bx0 = lx0 < bx0 ? lx0 : bx0;
						by0 = ly0 < by0 ? ly0 : by0;
						bx1 = lx1 > bx1 ? lx1 : bx1;
						by1 = ly1 > by1 ? ly1 : by1;
						continue;
					}
				} else {
					job = (struct tile_job){ s, r, lx0, ly0, lx1 - lx0, ly1 - ly0 };
					status = ts_tile_cache_get(s->tiles, &key, fill_tile, &job, &t, err);
					if (status)
						goto fail;
				}
				if (t->img.width != lx1 - lx0 || t->img.height != ly1 - ly0 ||
				    t->img.channels != out->channels) {
					status = ts_error_set(err, TS_EINTERNAL, "corrupt image data");
					ts_error_detail(err, "JPEG 2000 tile %u: decoded %ux%u, expected %ux%u",
					                key.tile, t->img.width, t->img.height, lx1 - lx0,
					                ly1 - ly0);
					goto fail;
				}
				copy_rect(out, x, y, &t->img, lx0, ly0, ix0, iy0, ix1, iy1);
				ts_tile_cache_release(s->tiles, t);
				t = NULL;
			}
		}
		if (nmissing == 0)
			break;
	}
	free(missing);
	ts_image_free(&batch);
	return TS_OK;

fail:
	ts_tile_cache_release(s->tiles, t);
	free(missing);
	ts_image_free(&batch);
	ts_image_free(&piece);
	ts_image_free(out);
	return status;
}

static ts_status jp2_read_region(struct ts_source *base, int level, uint32_t x, uint32_t y,
                                 uint32_t w, uint32_t h, uint64_t budget,
                                 struct ts_image *out, struct ts_error *err)
{
	struct jp2_source *s = (struct jp2_source *)base;
	const struct ts_source_level *lv = &base->info.levels[level];
	uint64_t cost, tiles_cost;
	uint32_t cw, ch, ex0, ey0, ex1, ey1;

	memset(out, 0, sizeof *out);
	/* Budget: the window, widened to whole code-blocks at this resolution
	 * (OpenJPEG decodes every code-block the window touches). */
	cw = s->cblk_w ? s->cblk_w : 64;
	ch = s->cblk_h ? s->cblk_h : 64;
	ex0 = x / cw * cw;
	ey0 = y / ch * ch;
	ex1 = (uint32_t)((((uint64_t)x + w + cw - 1) / cw * cw) < lv->width ?
	                 ((uint64_t)x + w + cw - 1) / cw * cw : lv->width);
	ey1 = (uint32_t)((((uint64_t)y + h + ch - 1) / ch * ch) < lv->height ?
	                 ((uint64_t)y + h + ch - 1) / ch * ch : lv->height);
	cost = (uint64_t)(ex1 - ex0) * (ey1 - ey0);
	if (budget && cost > budget) {
		ts_error_set(err, TS_EFORBIDDEN, "region needs too much decoding");
		ts_error_detail(err, "JPEG 2000 level %d window %ux%u costs %llu pixels > %llu",
		                level, w, h, (unsigned long long)cost, (unsigned long long)budget);
		return TS_EFORBIDDEN;
	}
	/* Whole tiles cost more than the window; when that would pass the
	 * budget, decode just the window instead. */
	if (use_tiles(s, level, x, y, w, h, &tiles_cost) && (!budget || tiles_cost <= budget))
		return read_from_tiles(s, level, x, y, w, h, out, err);
	return decode_window(s, level, x, y, w, h, out, err);
}

const struct ts_source_ops ts_jp2_source_ops = {
	.name = "jp2",
	.sniff = jp2_sniff,
	.open = jp2_open,
	.read_region = jp2_read_region,
	.close = jp2_close,
};
