/*
 * tiff_probe.c - a TIFF's levels and tile sizes from its IFDs, without
 * libtiff (tiff_probe.h), so that measuring the pages of a large book for
 * its Manifest costs a few small reads per page.
 *
 * Where it sits: the Presentation probes (present/probe_source.c) ask this
 * first and libtiff (source/tiff_read.c) only when it declines.  The rules
 * are tiff_read.c's: IFD0 is the full image; the later top-level IFDs (up to
 * 63) and IFD0's SubIFDs (up to 64) are levels when they are reduced copies
 * of it (same samples and channels, smaller, the same aspect within twice
 * the rounding of both sides, not a mask), sorted by area then offset, kept
 * strictly decreasing.  TIFF 6.0 §2 (the header and IFD layout), BigTIFF
 * (the 8-byte variant), TIFF 6.0 §8 and §15 (the tags read).
 *
 * The one idea: answer only when certain.  Every IFD that could become a
 * level must be one tiff_read.c decodes directly (the layouts where
 * libtiff's decoded tile or strip size is exactly width x samples x bytes),
 * so the channel count we give is the one it gives; any doubt (a tag of an
 * unexpected type, a duplicate tag, a palette, a missing Photometric that
 * libtiff would guess) is 501 and libtiff answers instead.  Bytes come
 * through one 4 KiB window, refilled at the offset asked, counted against
 * TS_TIFF_PROBE_MAX_READ.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/tiff_probe.h"

#define WINDOW 4096u
#define MAX_IFDS 64           /* IFD0 and 63 more, as tiff_levels.c walks */
#define MAX_SUBIFDS 64
#define MAX_ENTRIES 4096
#define MAX_SPP 16
#define MAX_TILE_SIDE 16384u
#define MAX_TILE_PIXELS (1u << 26)

/* Tags (TIFF 6.0 appendix A) and values tiff_read.c looks at. */
enum {
	T_SUBFILETYPE = 254, T_WIDTH = 256, T_LENGTH = 257, T_BPS = 258,
	T_COMPRESSION = 259, T_PHOTOMETRIC = 262, T_STRIPOFFSETS = 273, T_SPP = 277,
	T_ROWSPERSTRIP = 278, T_STRIPBYTECOUNTS = 279, T_PLANAR = 284,
	T_TILEWIDTH = 322, T_TILELENGTH = 323, T_TILEOFFSETS = 324, T_TILEBYTECOUNTS = 325,
	T_SUBIFD = 330, T_EXTRASAMPLES = 338, T_SAMPLEFORMAT = 339
};
enum { PH_MINISWHITE = 0, PH_MINISBLACK = 1, PH_RGB = 2, PH_YCBCR = 6 };
enum { FT_MASK = 4 };

struct rd {
	const struct ts_media_reader *src;
	unsigned char win[WINDOW];
	uint64_t win_off;
	size_t win_len;
	uint64_t used;
	bool big, be;             /* BigTIFF; big-endian ("MM") */
	struct ts_error *err;
};

/* A level candidate: what the sort and the levels need of its IFD (a
 * whole struct ifd is 600 bytes, and 129 of them per probe were a fresh
 * 77 KB block for every page of a cold book). */
struct cand {
	uint64_t off;
	uint32_t width, height, tile_w, tile_h;
	bool tiled;
};

/* One IFD, as much as the level rules need. */
struct ifd {
	uint64_t off, next;
	uint32_t width, height, tile_w, tile_h, rps, subfiletype;
	uint16_t spp, bps, compression, photometric, planar, sampleformat;
	uint16_t nextra, extra0;
	bool tiled;
	int out_channels;         /* what tiff_read.c returns, direct mode */
	const char *why_not;      /* when it is no level tiff_read.c would decode directly */
	uint64_t subifds[MAX_SUBIFDS];
	uint16_t nsub;
};

static ts_status corrupt(struct rd *r, const char *why)
{
	ts_error_set(r->err, TS_EINTERNAL, "cannot read image");
	ts_error_detail(r->err, "TIFF header: %s", why);
	return TS_EINTERNAL;
}

static ts_status decline(struct rd *r, const char *why)
{
	ts_error_set(r->err, TS_ENOTIMPL, "TIFF layout left to libtiff");
	ts_error_detail(r->err, "%s", why);
	return TS_ENOTIMPL;
}

/* Make [off, off+n) (n <= 64) available in the window; *p points at it. */
static ts_status need(struct rd *r, uint64_t off, size_t n, const unsigned char **p)
{
	size_t want, got = 0;
	ts_status st;

	if (off >= r->src->size || n > r->src->size - off)
		return corrupt(r, "an IFD or value lies past the end of the file");
	if (off >= r->win_off && off - r->win_off + n <= r->win_len) {
		*p = r->win + (off - r->win_off);
		return TS_OK;
	}
	want = r->src->size - off < WINDOW ? (size_t)(r->src->size - off) : WINDOW;
	if (r->used + want > TS_TIFF_PROBE_MAX_READ)
		return decline(r, "the IFDs are larger than a probe reads");
	r->used += want;
	st = r->src->read(r->src->ctx, off, r->win, want, &got, r->err);
	if (st != TS_OK)
		return st;
	if (got > want)
		got = want;
	r->win_off = off;
	r->win_len = got;
	if (got < n)
		return corrupt(r, "the file ended inside a header");
	*p = r->win;
	return TS_OK;
}

static uint16_t u16(const struct rd *r, const unsigned char *b)
{
	return r->be ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[1] << 8 | b[0]);
}

static uint32_t u32(const struct rd *r, const unsigned char *b)
{
	return r->be ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
	             : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static uint64_t u64(const struct rd *r, const unsigned char *b)
{
	return r->be ? (uint64_t)u32(r, b) << 32 | u32(r, b + 4)
	             : (uint64_t)u32(r, b + 4) << 32 | u32(r, b);
}

/* One directory entry (TIFF 6.0 §2; BigTIFF: 8-byte count and value). */
struct entry {
	uint16_t tag, type;
	uint64_t count;
	unsigned char val[8];     /* the value field as stored */
};

static size_t type_size(uint16_t type)
{
	switch (type) {
	case 1: case 2: case 6: case 7: return 1;   /* BYTE ASCII SBYTE UNDEFINED */
	case 3: case 8: return 2;                   /* SHORT SSHORT */
	case 4: case 9: case 11: case 13: return 4; /* LONG SLONG FLOAT IFD */
	case 5: case 10: case 12: case 16: case 17: case 18: return 8;
	default: return 0;
	}
}

/* Element i of an unsigned integer entry (BYTE, SHORT, LONG, LONG8; IFD
 * and IFD8 too when ifds, for SubIFDs only: libtiff refuses them
 * elsewhere), from the value field or from where it points. */
static ts_status element(struct rd *r, const struct entry *e, uint64_t i, bool ifds,
                         uint64_t *v)
{
	size_t sz = type_size(e->type), inl = r->big ? 8 : 4;
	const unsigned char *p;
	uint64_t off;
	ts_status st;

	if (!(e->type == 1 || e->type == 3 || e->type == 4 || e->type == 16 ||
	      (ifds && (e->type == 13 || e->type == 18))) ||
	    (!r->big && (e->type == 16 || e->type == 18)))
		return decline(r, "a tag of an unexpected type");
	if (i >= e->count)
		return corrupt(r, "a tag with too few values");
	if (e->count <= inl / sz) {
		p = e->val + i * sz;
	} else {
		off = r->big ? u64(r, e->val) : u32(r, e->val);
		if (off > UINT64_MAX - i * sz)
			return corrupt(r, "a value offset out of range");
		st = need(r, off + i * sz, sz, &p);
		if (st)
			return st;
	}
	switch (sz) {
	case 1: *v = p[0]; break;
	case 2: *v = u16(r, p); break;
	case 4: *v = u32(r, p); break;
	default: *v = u64(r, p); break;
	}
	return TS_OK;
}

/* A one-value tag (the first value) that must fit in max. */
static ts_status scalar(struct rd *r, const struct entry *e, uint64_t max, uint32_t *out)
{
	uint64_t v;
	ts_status st;

	if (e->count != 1)
		return decline(r, "a one-value tag with another count");
	st = element(r, e, 0, false, &v);
	if (st)
		return st;
	if (v > max)
		return decline(r, "a tag value out of the expected range");
	*out = (uint32_t)v;
	return TS_OK;
}

/* A per-sample tag whose values must all be equal (libtiff refuses others
 * or keeps one; either way we leave them to it). */
static ts_status per_sample(struct rd *r, const struct entry *e, uint16_t *out)
{
	uint64_t v, first = 0;
	ts_status st;

	if (e->count == 0 || e->count > MAX_SPP)
		return decline(r, "a per-sample tag of unusual length");
	for (uint64_t i = 0; i < e->count; i++) {
		st = element(r, e, i, false, &v);
		if (st)
			return st;
		if (i == 0)
			first = v;
		else if (v != first)
			return decline(r, "samples of different sizes or formats");
	}
	if (first > 0xffff)
		return decline(r, "a per-sample value out of range");
	*out = (uint16_t)first;
	return TS_OK;
}

/* Whether tiff_read.c decodes this compression directly with our libtiff
 * (none, LZW, JPEG, Deflate, PackBits). */
static bool known_codec(uint16_t c)
{
	return c == 1 || c == 5 || c == 7 || c == 8 || c == 32946 || c == 32773;
}

/* Read the IFD at off into *d; with subs, also IFD0's SubIFD offsets. */
static ts_status read_ifd(struct rd *r, uint64_t off, struct ifd *d, bool subs)
{
	size_t esz = r->big ? 20 : 12;
	const unsigned char *p;
	uint64_t n, v;
	uint32_t seen_last = 0;
	bool have_w = false, have_h = false, have_ph = false, have_offs = false,
	     have_counts = false, have_tw = false, have_tl = false, have_rps = false;
	ts_status st;
	uint32_t x;

	memset(d, 0, sizeof *d);
	d->off = off;
	d->spp = 1;
	d->bps = 1;
	d->compression = 1;
	d->planar = 1;
	d->sampleformat = 1;
	if (off < 8 || (off & 1))
		return corrupt(r, "an IFD offset out of range");
	st = need(r, off, r->big ? 8 : 2, &p);
	if (st)
		return st;
	n = r->big ? u64(r, p) : u16(r, p);
	if (n == 0)
		return corrupt(r, "an empty IFD");
	if (n > MAX_ENTRIES)
		return decline(r, "an IFD of too many entries");
	off += r->big ? 8 : 2;
	for (uint64_t i = 0; i < n; i++) {
		struct entry e;

		st = need(r, off + i * esz, esz, &p);
		if (st)
			return st;
		e.tag = u16(r, p);
		e.type = u16(r, p + 2);
		e.count = r->big ? u64(r, p + 4) : u32(r, p + 4);
		memcpy(e.val, p + (r->big ? 12 : 8), r->big ? 8 : 4);
		if (i > 0 && e.tag <= seen_last)
			return decline(r, "IFD entries out of order or repeated");
		seen_last = e.tag;
		switch (e.tag) {
		case T_SUBFILETYPE:
			st = scalar(r, &e, UINT32_MAX, &d->subfiletype);
			break;
		case T_WIDTH:
			st = scalar(r, &e, UINT32_MAX, &d->width);
			have_w = true;
			break;
		case T_LENGTH:
			st = scalar(r, &e, UINT32_MAX, &d->height);
			have_h = true;
			break;
		case T_BPS:
			st = per_sample(r, &e, &d->bps);
			break;
		case T_COMPRESSION:
			st = scalar(r, &e, 0xffff, &x);
			d->compression = (uint16_t)x;
			break;
		case T_PHOTOMETRIC:
			st = scalar(r, &e, 0xffff, &x);
			d->photometric = (uint16_t)x;
			have_ph = true;
			break;
		case T_SPP:
			st = scalar(r, &e, MAX_SPP, &x);
			d->spp = (uint16_t)x;
			break;
		case T_ROWSPERSTRIP:
			st = scalar(r, &e, UINT32_MAX, &d->rps);
			have_rps = true;
			break;
		case T_PLANAR:
			st = scalar(r, &e, 0xffff, &x);
			d->planar = (uint16_t)x;
			break;
		case T_TILEWIDTH:
			st = scalar(r, &e, UINT32_MAX, &d->tile_w);
			have_tw = true;
			break;
		case T_TILELENGTH:
			st = scalar(r, &e, UINT32_MAX, &d->tile_h);
			have_tl = true;
			break;
		case T_STRIPOFFSETS: case T_TILEOFFSETS:
			if (have_offs)
				return decline(r, "both strip and tile offsets");
			have_offs = e.count > 0;
			break;
		case T_STRIPBYTECOUNTS: case T_TILEBYTECOUNTS:
			if (have_counts)
				return decline(r, "both strip and tile byte counts");
			have_counts = e.count > 0;
			break;
		case T_SAMPLEFORMAT:
			st = per_sample(r, &e, &d->sampleformat);
			break;
		case T_EXTRASAMPLES:
			if (e.count == 0 || e.count > MAX_SPP)
				return decline(r, "unusual ExtraSamples");
			for (uint64_t k = 0; k < e.count && !st; k++) {
				st = element(r, &e, k, false, &v);
				if (!st && v > 2)
					return decline(r, "an unknown ExtraSamples value");
				if (!st && k == 0)
					d->extra0 = (uint16_t)v;
			}
			d->nextra = (uint16_t)e.count;
			break;
		case T_SUBIFD:
			if (!subs)
				break;
			for (uint64_t k = 0; k < e.count && k < MAX_SUBIFDS && !st; k++) {
				st = element(r, &e, k, true, &d->subifds[k]);
				d->nsub = (uint16_t)(k + 1);
			}
			break;
		default:
			break;   /* tags that change nothing about the geometry */
		}
		if (st)
			return st;
	}
	st = need(r, off + n * esz, r->big ? 8 : 4, &p);
	if (st)
		return st;
	d->next = r->big ? u64(r, p) : u32(r, p);
	/* what libtiff itself insists on to read a directory at all */
	if (!have_w || !have_h || !have_offs || !have_counts || !have_ph)
		return decline(r, "an IFD without the tags libtiff needs (or would guess)");
	if (have_tw != have_tl)
		return decline(r, "a tile width without a tile length");
	d->tiled = have_tw;
	if (!have_rps)
		d->rps = UINT32_MAX;
	if (d->nextra > d->spp)
		return decline(r, "more extra samples than samples");
	return TS_OK;
}

/* tiff_levels.c's read_layout, for the direct layouts only: the channels
 * returned, or why_not when it is anything else (left to libtiff). */
static void classify(struct ifd *d)
{
	bool gray = d->photometric == PH_MINISBLACK || d->photometric == PH_MINISWHITE;
	int base = gray ? 1 : 3;
	bool alpha = d->nextra >= 1 && (d->extra0 == 1 || d->extra0 == 2) && d->spp > base;

	d->why_not = NULL;
	if (d->width == 0 || d->height == 0) {
		d->why_not = "a zero image size";
		return;
	}
	if (d->tiled) {
		if (d->tile_w == 0 || d->tile_h == 0 || d->tile_w > MAX_TILE_SIDE ||
		    d->tile_h > MAX_TILE_SIDE || (uint64_t)d->tile_w * d->tile_h > MAX_TILE_PIXELS) {
			d->why_not = "a tile size out of range";
			return;
		}
	} else if (d->rps == 0) {
		d->why_not = "zero rows per strip";
		return;
	}
	if (!(d->planar == 1 || d->spp == 1) || !(d->bps == 8 || d->bps == 16) ||
	    !(d->sampleformat == 1 || d->sampleformat == 4) || !known_codec(d->compression) ||
	    !((gray && d->spp >= 1) || (d->photometric == PH_RGB && d->spp >= 3) ||
	      (d->photometric == PH_YCBCR && d->compression == 7 && d->bps == 8 && d->spp == 3)) ||
	    (d->compression == 7 && d->bps != 8)) {
		d->why_not = "a layout tiff_read.c converts through RGBA";
		return;
	}
	d->out_channels = base + (alpha ? 1 : 0);
}

/* tiff_levels.c's is_reduced_copy, given cand's classification. */
static bool reduced_copy(const struct ifd *full, const struct ifd *c)
{
	double W = full->width, H = full->height, w = c->width, h = c->height;
	double diff = w * H - h * W;

	if ((c->subfiletype & FT_MASK) || c->spp != full->spp ||
	    c->out_channels != full->out_channels)
		return false;
	if (c->width > full->width || c->height > full->height ||
	    (c->width == full->width && c->height == full->height))
		return false;
	if (diff < 0)
		diff = -diff;
	return diff <= 2.0 * (W + H);
}

/* Whether tiff_read.c's outcome for candidate c cannot depend on a layout
 * we did not classify: it is rejected before its channels matter. */
static bool rejected_anyway(const struct ifd *full, const struct ifd *c)
{
	if ((c->subfiletype & FT_MASK) || c->spp != full->spp)
		return true;
	return c->width > full->width || c->height > full->height ||
	       (c->width == full->width && c->height == full->height);
}

static int level_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	uint64_t ax = (uint64_t)x->width * x->height, ay = (uint64_t)y->width * y->height;

	if (ax != ay)
		return ax > ay ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static struct cand cand_of(const struct ifd *d)
{
	struct cand c = { d->off, d->width, d->height, d->tile_w, d->tile_h, d->tiled };

	return c;
}

/* Consider the IFD d as a level candidate; 501 when we cannot tell. */
static ts_status consider(struct rd *r, const struct ifd *full, struct ifd *d,
                          struct cand *cands, int *ncand)
{
	classify(d);
	if (d->why_not) {
		if (rejected_anyway(full, d))
			return TS_OK;
		return decline(r, d->why_not);
	}
	if (reduced_copy(full, d))
		cands[(*ncand)++] = cand_of(d);
	return TS_OK;
}

bool ts_tiff_probe_sniff(const unsigned char *h, size_t n)
{
	if (n < 4)
		return false;
	return (h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) && h[3] == 0) ||
	       (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43));
}

ts_status ts_tiff_probe(const struct ts_media_reader *src, uint64_t max_pixels,
                        struct ts_source_info *out, struct ts_error *err)
{
	/* on the stack (the window needs no zeroing): a 4 KB block per probe
	 * carved from the heap among the collection's lasting allocations was
	 * fresh pages for every member of a cold collection */
	struct rd rd, *r = &rd;
	struct cand cands[MAX_IFDS + MAX_SUBIFDS + 1];
	struct ifd full, d;
	uint64_t seen[MAX_IFDS], next;
	const unsigned char *p;
	int ncand = 0, nseen = 0, nlev;
	ts_status st;

	memset(out, 0, sizeof *out);
	r->src = src;
	r->err = err;
	r->win_off = 0;
	r->win_len = 0;
	r->used = 0;
	r->big = r->be = false;
	st = need(r, 0, 16 <= src->size ? 16 : 8, &p);
	if (st)
		goto fail;
	if (!ts_tiff_probe_sniff(p, 4)) {
		st = decline(r, "not a TIFF");
		goto fail;
	}
	r->be = p[0] == 'M';
	r->big = (r->be ? p[3] : p[2]) == 43;
	if (r->big) {
		if (src->size < 16 || u16(r, p + 4) != 8 || u16(r, p + 6) != 0) {
			st = corrupt(r, "a BigTIFF header with an unknown offset size");
			goto fail;
		}
		next = u64(r, p + 8);
	} else {
		next = u32(r, p + 4);
	}

	/* IFD0: the full image, which must be a direct layout */
	st = read_ifd(r, next, &full, true);
	if (st)
		goto fail;
	classify(&full);
	if (full.why_not) {
		st = decline(r, full.why_not);
		goto fail;
	}
	if (max_pixels && (uint64_t)full.width * full.height > max_pixels) {
		st = decline(r, "larger than the pixel limit");
		goto fail;
	}
	cands[ncand++] = cand_of(&full);
	seen[nseen++] = full.off;
	/* (a) later top-level IFDs, as tiff_levels.c's walk: up to 63 more; a
	 * loop ends it (libtiff refuses an IFD seen before) */
	for (next = full.next; next && nseen < MAX_IFDS; next = d.next) {
		bool loop = false;

		for (int i = 0; i < nseen; i++)
			loop = loop || seen[i] == next;
		if (loop)
			break;
		st = read_ifd(r, next, &d, false);
		if (st)
			goto fail;
		seen[nseen++] = next;
		st = consider(r, &full, &d, cands, &ncand);
		if (st)
			goto fail;
	}
	/* (b) IFD0's SubIFDs */
	for (int i = 0; i < full.nsub; i++) {
		st = read_ifd(r, full.subifds[i], &d, false);
		if (st)
			goto fail;
		st = consider(r, &full, &d, cands, &ncand);
		if (st)
			goto fail;
	}
	qsort(cands + 1, (size_t)ncand - 1, sizeof *cands, level_cmp);
	nlev = 0;
	for (int i = 0; i < ncand && nlev < TS_MAX_LEVELS; i++) {
		const struct ts_source_level *prev = nlev ? &out->levels[nlev - 1] : NULL;
		struct ts_source_level *lv;

		/* strictly decreasing: a duplicate size adds nothing */
		if (prev && (cands[i].width > prev->width || cands[i].height > prev->height ||
		             (cands[i].width == prev->width && cands[i].height == prev->height)))
			continue;
		lv = &out->levels[nlev++];
		lv->width = cands[i].width;
		lv->height = cands[i].height;
		lv->tile_w = cands[i].tiled ? cands[i].tile_w : 0;
		lv->tile_h = cands[i].tiled ? cands[i].tile_h : 0;
	}
	out->width = full.width;
	out->height = full.height;
	out->channels = full.out_channels;
	out->bits = full.bps;
	out->nlevels = nlev;
	out->format = "tiff";
	st = TS_OK;
fail:
	if (st)
		memset(out, 0, sizeof *out);
	return st;
}

struct fd_ctx {
	int fd;
};

static ts_status fd_read(void *ctx, uint64_t off, void *buf, size_t n, size_t *got,
                         struct ts_error *err)
{
	const struct fd_ctx *c = ctx;
	ssize_t k;

	do {
		k = pread(c->fd, buf, n, (off_t)off);
	} while (k < 0 && errno == EINTR);
	if (k < 0) {
		ts_error_set(err, TS_EINTERNAL, "cannot read image");
		ts_error_detail(err, "TIFF header: read: %s", strerror(errno));
		return TS_EINTERNAL;
	}
	*got = (size_t)k;
	return TS_OK;
}

ts_status ts_tiff_probe_fd(int fd, uint64_t size, uint64_t max_pixels,
                           struct ts_source_info *out, struct ts_error *err)
{
	struct fd_ctx c = { fd };
	struct ts_media_reader rd = { fd_read, &c, size };

	if (size > (uint64_t)INT64_MAX)
		return ts_error_set(err, TS_ENOTIMPL, "TIFF layout left to libtiff");
	return ts_tiff_probe(&rd, max_pixels, out, err);
}
