/*
 * jp2_header.c - everything the JPEG 2000 source reads before OpenJPEG
 * sees the file: the JP2 boxes, the codestream main header and the
 * tile-parts (contract in jp2_internal.h).
 *
 * The one idea: never let OpenJPEG see a file we have not measured.  Before
 * OpenJPEG reads anything we walk the JP2 boxes and the codestream main
 * header ourselves (SOC, SIZ, COD/COC: ISO/IEC 15444-1 Annex A.5.1, A.6.1,
 * A.6.2) with bounded reads, and refuse absurd declarations (image or tile
 * area beyond the limits, tens of thousands of tiles, zero sizes, too many
 * components or resolutions).  OpenJPEG allocates per-tile structures while
 * reading the main header, so a JP2 declaring 38,416 tiles costs about half a
 * gigabyte in opj_read_header alone; here it costs a few hundred bytes of
 * reads.  The SOT walk (A.4.2) records which tiles the file really holds, so
 * that a tile with missing tile-parts is an error rather than a black hole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tessera/icc.h"
#include "jp2_internal.h"
#include "source_file.h"

/* ---- reading bytes ---------------------------------------------------- */

/* The argument order the walk reads best in (where, then what). */
static bool read_at(int fd, uint64_t off, void *buf, size_t n)
{
	return ts_source_pread_all(fd, buf, n, off);
}

static uint16_t be16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const unsigned char jp2_magic[12] = {
	0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A
};

bool ts_jp2_header_sniff(const unsigned char *head, size_t n)
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
                            int *enumcs, bool *cdef_alpha, bool *remap, struct ts_error *err)
{
	uint64_t off = 0, data, end, sub, sdata, send;
	uint32_t type, stype;
	unsigned char b[16];
	int nbox = 0, nsub;

	*cs_off = 0;
	*pclr_cols = 0;
	*enumcs = 0;
	*cdef_alpha = false;
	*remap = false;
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
				if (stype == BOX('p', 'c', 'l', 'r') || stype == BOX('c', 'm', 'a', 'p') ||
				    stype == BOX('c', 'd', 'e', 'f'))
					*remap = true;
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
void ts_jp2_header_read_icc(struct jp2_source *s)
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

/*
 * The main header of an HTJ2K code-stream, from SOC to the first SOT,
 * without its TLM and PLM markers (drop: their [start, end) in the file,
 * in file order), kept for the one-tile code-streams jp2_ojph_tile.c
 * builds: SIZ stays right after SOC (A.4.1), where it patches it.  Too big
 * or unreadable: none kept, and OpenJPEG decodes the file.
 */
static void keep_ht_head(struct jp2_source *s, uint64_t off, uint64_t drop[][2], int ndrop)
{
	uint64_t n = s->first_sot - off, at = off;
	unsigned char *h;
	size_t len = 0;
	int i;

	if (s->first_sot <= off || n > JP2_HT_MAX_HEAD || !(h = malloc((size_t)n)))
		return;
	for (i = 0; i <= ndrop; i++) {
		uint64_t end = i < ndrop ? drop[i][0] : s->first_sot;
		if (end < at || !read_at(s->fd, at, h + len, (size_t)(end - at))) {
			free(h);
			return;
		}
		len += (size_t)(end - at);
		if (i < ndrop)
			at = drop[i][1];
	}
	s->ht_head = h;
	s->ht_head_len = len;
}

/*
 * Whether the precinct sizes of a COD or COC (A.6.1 Table A.21: one byte
 * per resolution, PPx low nibble, PPy high, `avail` bytes left in the
 * segment) are never smaller than its code-blocks (xcb, ycb: exponents
 * - 2): at resolution 0 PPx >= xcb + 2, above it PPx - 1 >= xcb + 2 (B.7's
 * xcb' is then the code-block size itself).  OpenJPH 0.9 overruns a buffer
 * on smaller precincts (a mutated file made it: bench/J2K_DECODERS.md), so
 * such files are not cut for it; every encoder we know writes precincts of
 * at least a code-block.
 */
static bool precincts_fit(int fd, uint64_t at, uint32_t avail, unsigned levels, unsigned xcb,
                          unsigned ycb)
{
	unsigned char pp[JP2_MAX_RES];
	unsigned r, cx = (xcb & 0x0F) + 2, cy = (ycb & 0x0F) + 2;

	if (levels + 1 > sizeof pp || levels + 1 > avail || !read_at(fd, at, pp, levels + 1))
		return false;
	for (r = 0; r <= levels; r++) {
		unsigned px = pp[r] & 0x0F, py = pp[r] >> 4, k = r ? 1 : 0;
		if (px < cx + k || py < cy + k)
			return false;
	}
	return true;
}

/* Parse SOC, SIZ and the main-header markers up to the first SOT. */
static ts_status parse_codestream(struct jp2_source *s, uint64_t off,
                                  const struct ts_source_limits *lim, struct ts_error *err)
{
	unsigned char b[40 + 3 * JP2_MAX_COMPS];
	uint64_t pos, area, tiles, tile_area;
	uint16_t marker, len, csiz;
	uint32_t ntx, nty;
	int i, nmark, coc_min = JP2_MAX_RES, cod_res = 0, ndrop = 0;
	uint64_t drop[JP2_HT_MAX_DROPS][2];
	bool ppm = false, odd_prec = false;

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
	ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw);
	nty = ts_jp2_ceil_div(s->y1 - s->ty0, s->th);
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
	 * code-block size; COC can lower the count for one component.  TLM and
	 * PLM are noted (dropped from the one-tile header, below), PPM forbids
	 * the one-tile surgery. */
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
			/* code-block style 0x40: HT (ISO/IEC 15444-15 A.4) */
			s->ht = s->ht || (b[8] & 0x40);
			if ((b[0] & 1) && !precincts_fit(s->fd, pos + 4 + 10, len - 12, b[5], b[6], b[7]))
				odd_prec = true;
		} else if (marker == 0xFF53) {            /* COC (A.6.2) */
			unsigned idx = csiz < 257 ? 1 : 2;
			/* Ccoc, Scoc, then SPcoc: levels, xcb, ycb, style, wavelet */
			if (len < 2 + idx + 1 + 5 || !read_at(s->fd, pos + 4, b, idx + 5))
				return corrupt(err, "short COC");
			if (b[idx + 1] + 1 < coc_min)
				coc_min = b[idx + 1] + 1;
			s->ht = s->ht || (b[idx + 4] & 0x40);
			if ((b[idx] & 1) &&
			    !precincts_fit(s->fd, pos + 4 + idx + 6, len - (2 + idx + 6), b[idx + 1],
			                   b[idx + 2], b[idx + 3]))
				odd_prec = true;
		}
		if (marker == 0xFF55 || marker == 0xFF57) {   /* TLM, PLM (A.7.1, A.7.2) */
			if (ndrop < JP2_HT_MAX_DROPS) {
				drop[ndrop][0] = pos;
				drop[ndrop][1] = pos + 2 + (uint64_t)len;
			}
			ndrop++;
		} else if (marker == 0xFF60) {              /* PPM (A.7.4) */
			ppm = true;
		}
		pos += 2 + (uint64_t)len;
	}
	if (cod_res == 0)
		return corrupt(err, "no COD marker");
	if (cod_res > JP2_MAX_RES)
		return corrupt(err, "too many resolution levels");
	s->nres = cod_res < coc_min ? cod_res : coc_min;
	if (s->ht && s->first_sot && !ppm && !odd_prec && ndrop <= JP2_HT_MAX_DROPS)
		keep_ht_head(s, off, drop, ndrop);
	return TS_OK;
}

/* ---- tile-parts ---------------------------------------------------------- */

/* Append one tile-part's place to s->tparts (HTJ2K files with a kept main
 * header only); false when out of memory. */
static bool note_tile_part(struct jp2_source *s, uint64_t pos, uint64_t len, uint32_t tile)
{
	struct jp2_tpart *grown;
	uint32_t cap = s->ntparts < 16 ? 16 : s->ntparts * 2;

	if (s->ntparts == s->tparts_cap) {
		grown = realloc(s->tparts, (size_t)cap * sizeof *grown);
		if (!grown)
			return false;
		s->tparts = grown;
		s->tparts_cap = cap;
	}
	s->tparts[s->ntparts].pos = pos;
	s->tparts[s->ntparts].len = len;
	s->tparts[s->ntparts].tile = tile;
	s->ntparts++;
	return true;
}

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
		if (s->ht_head && !note_tile_part(s, pos, psot, t)) {
			free(s->ht_head);   /* no index, no surgery */
			s->ht_head = NULL;
		}
		if (s->tp_seen[t] < 255)
			s->tp_seen[t]++;
		if (b[11])
			s->tp_total[t] = b[11];
		pos += psot;
	}
	/* Too many tile-parts to walk cheaply: do not judge (nor cut tiles). */
	free(s->tp_seen);
	s->tp_seen = s->tp_total = NULL;
	free(s->ht_head);
	s->ht_head = NULL;
}

ts_status ts_jp2_header_check_tiles(const struct jp2_source *s, uint64_t x0, uint64_t y0,
                                    uint64_t x1, uint64_t y1, struct ts_error *err)
{
	uint32_t ntx = ts_jp2_ceil_div(s->x1 - s->tx0, s->tw), p, q, p0, p1, q0, q1, t;

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

ts_status ts_jp2_header_parse(struct jp2_source *s, const struct ts_source_limits *lim,
                              struct jp2_colour_hints *hints, struct ts_error *err)
{
	unsigned char head[12];
	uint64_t cs_off = 0;
	ts_status status;

	memset(hints, 0, sizeof *hints);
	if (!read_at(s->fd, 0, head, sizeof head)) {
		ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "short JPEG 2000 file");
		return TS_EINTERNAL;
	}
	s->is_jp2 = memcmp(head, jp2_magic, 12) == 0;
	if (s->is_jp2) {
		status = walk_boxes(s, &cs_off, &hints->pclr_cols, &hints->enumcs,
		                    &hints->cdef_alpha, &hints->remap, err);
		if (status)
			return status;
	} else {
		s->cs_end = s->file_size;
	}
	status = parse_codestream(s, cs_off, lim, err);
	if (status)
		return status;
	walk_tile_parts(s);
	return TS_OK;
}
