/*
 * tiff_file.c - write a tiled pyramidal TIFF whose tiles arrive in any
 * order from any thread (tiff_file.h).
 *
 * libtiff writes one directory at a time, so the levels of a pyramid built
 * in one pass (all levels' tiles interleaved) would have to wait in memory
 * or in temporary files.  We write the container ourselves instead: each
 * tile is appended where the file ends (a reservation under a mutex, the
 * write outside it), its offset remembered; at the end every IFD is laid
 * out after the tiles, and the 16 bytes kept at the start become the
 * classic header (TIFF 6.0 §2: "II", 42, first IFD offset) when the file
 * is under 4 GiB, else the BigTIFF header ("II", 43, 8, 0, 8-byte offset).
 * The tags are those TIFF 6.0 and the TIFF/JPEG tech note 2 ask for; the
 * reader side is libtiff's, so everything libtiff reads works.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/checked.h"
#include "out_file.h"
#include "tiff_file.h"

#define HEADER_SPACE 16

enum { T_ASCII = 2, T_SHORT = 3, T_LONG = 4, T_RATIONAL = 5, T_UNDEF = 7, T_LONG8 = 16,
       T_IFD = 13, T_IFD8 = 18 };

struct level_rec {
	struct ts_tiff_level d;
	bool described;
	uint32_t across, down;
	uint64_t ntiles;
	uint64_t *offsets, *counts;
};

struct ts_tiff_file {
	int fd;
	int nlevels;
	pthread_mutex_t lock;
	uint64_t end;               /* where the next tile goes */
	int write_errno;            /* first failed write, 0 = none */
	struct level_rec lv[32];
};

static ts_status io_fail(struct ts_error *err, int e, const char *what)
{
	ts_error_set(err, TS_EINTERNAL, "cannot write the output file");
	ts_error_detail(err, "%s: %s", what, strerror(e));
	return TS_EINTERNAL;
}

ts_status ts_tiff_file_create(const char *path, int nlevels, struct ts_tiff_file **out,
                              struct ts_error *err)
{
	struct ts_tiff_file *f;
	ts_status st;

	*out = NULL;
	if (nlevels < 1 || nlevels > 32)
		return ts_error_set(err, TS_EINTERNAL, "bad number of pyramid levels");
	f = calloc(1, sizeof *f);
	if (!f)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	st = ts_out_file_open(path, &f->fd, err);
	if (st != TS_OK) {
		free(f);
		return st;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->nlevels = nlevels;
	f->end = HEADER_SPACE;
	*out = f;
	return TS_OK;
}

ts_status ts_tiff_file_level(struct ts_tiff_file *f, int k, const struct ts_tiff_level *d,
                             struct ts_error *err)
{
	struct level_rec *L;

	if (k < 0 || k >= f->nlevels || d->tile_w == 0 || d->tile_h == 0 || d->width == 0 ||
	    d->height == 0 || d->tile_w % 16 || d->tile_h % 16)
		return ts_error_set(err, TS_EINTERNAL, "bad TIFF level description");
	L = &f->lv[k];
	L->d = *d;
	L->across = d->width / d->tile_w + (d->width % d->tile_w != 0);
	L->down = d->height / d->tile_h + (d->height % d->tile_h != 0);
	L->ntiles = (uint64_t)L->across * L->down;
	free(L->offsets);
	free(L->counts);
	L->offsets = calloc(L->ntiles, sizeof *L->offsets);
	L->counts = calloc(L->ntiles, sizeof *L->counts);
	if (!L->offsets || !L->counts)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	L->described = true;
	return TS_OK;
}

ts_status ts_tiff_file_tile(struct ts_tiff_file *f, int k, uint32_t col, uint32_t row,
                            const void *data, size_t len, struct ts_error *err)
{
	struct level_rec *L = &f->lv[k];
	uint64_t off, i;
	int e;

	if (k < 0 || k >= f->nlevels || !L->described || col >= L->across || row >= L->down ||
	    len == 0)
		return ts_error_set(err, TS_EINTERNAL, "tile outside its level");
	i = (uint64_t)row * L->across + col;
	pthread_mutex_lock(&f->lock);
	off = f->end;
	f->end += len;
	L->offsets[i] = off;
	L->counts[i] = len;
	pthread_mutex_unlock(&f->lock);
	e = ts_out_file_write_at(f->fd, data, len, off);
	if (e) {
		pthread_mutex_lock(&f->lock);
		if (!f->write_errno)
			f->write_errno = e;
		pthread_mutex_unlock(&f->lock);
		return io_fail(err, e, "tile");
	}
	return TS_OK;
}

/* ---- IFDs ------------------------------------------------------------- */

struct entry {
	uint16_t tag, type;
	uint64_t count;
	const uint64_t *v;          /* numeric values (RATIONAL: num,den pairs) */
	uint64_t inl[12];           /* small numeric arrays live here */
	const unsigned char *bytes; /* ASCII / UNDEFINED */
};

struct ifd {
	struct entry e[24];
	int n;
	uint64_t subifd[32];
	uint64_t res[2][2];
	uint64_t at, size;          /* where it goes, bytes with its data */
};

static size_t type_size(uint16_t t)
{
	switch (t) {
	case T_SHORT: return 2;
	case T_LONG: case T_IFD: return 4;
	case T_RATIONAL: case T_LONG8: case T_IFD8: return 8;
	default: return 1;
	}
}

static struct entry *add(struct ifd *d, uint16_t tag, uint16_t type, uint64_t count)
{
	struct entry *e = &d->e[d->n++];

	memset(e, 0, sizeof *e);
	e->tag = tag;
	e->type = type;
	e->count = count;
	e->v = e->inl;
	return e;
}

static void add1(struct ifd *d, uint16_t tag, uint16_t type, uint64_t value)
{
	add(d, tag, type, 1)->inl[0] = value;
}

static void rational(uint64_t *nd, double v)
{
	/* Pixels per inch to three decimals: enough for any scanner. */
	double x = v * 1000.0 + 0.5;

	nd[0] = x > 4294967295.0 ? 4294967295u : (uint64_t)x;
	nd[1] = 1000;
}

/* The entries of level k, tags ascending (TIFF 6.0 §2). */
static void build_entries(struct ts_tiff_file *f, int k, bool big, bool subifds,
                          struct ifd *d)
{
	const struct level_rec *L = &f->lv[k];
	const struct ts_tiff_level *t = &L->d;
	struct entry *e;
	int i;

	d->n = 0;
	add1(d, 254, T_LONG, t->reduced ? 1 : 0);
	add1(d, 256, T_LONG, t->width);
	add1(d, 257, T_LONG, t->height);
	e = add(d, 258, T_SHORT, (uint64_t)t->spp);
	for (i = 0; i < t->spp && i < 12; i++)
		e->inl[i] = 8;
	add1(d, 259, T_SHORT, t->compression);
	add1(d, 262, T_SHORT, t->photometric);
	add1(d, 277, T_SHORT, (uint64_t)t->spp);
	if (t->xres > 0 && t->yres > 0) {
		rational(d->res[0], t->xres);
		rational(d->res[1], t->yres);
		e = add(d, 282, T_RATIONAL, 1);
		e->v = d->res[0];
		e = add(d, 283, T_RATIONAL, 1);
		e->v = d->res[1];
	}
	add1(d, 284, T_SHORT, 1);
	if (t->xres > 0 && t->yres > 0)
		add1(d, 296, T_SHORT, 2);   /* inch */
	e = add(d, 305, T_ASCII, sizeof "tessera convert");
	e->bytes = (const unsigned char *)"tessera convert";
	add1(d, 322, T_LONG, t->tile_w);
	add1(d, 323, T_LONG, t->tile_h);
	e = add(d, 324, big ? T_LONG8 : T_LONG, L->ntiles);
	e->v = L->offsets;
	e = add(d, 325, big ? T_LONG8 : T_LONG, L->ntiles);
	e->v = L->counts;
	if (k == 0 && subifds && f->nlevels > 1) {
		e = add(d, 330, big ? T_IFD8 : T_IFD, (uint64_t)f->nlevels - 1);
		e->v = d->subifd;
	}
	if (t->alpha)
		add1(d, 338, T_SHORT, 2);   /* unassociated alpha */
	if (t->jpegtables && t->jpegtables_len) {
		e = add(d, 347, T_UNDEF, t->jpegtables_len);
		e->bytes = t->jpegtables;
	}
	if (t->photometric == 6) {
		e = add(d, 530, T_SHORT, 2);
		e->inl[0] = e->inl[1] = t->ycbcr_sub;
		/* ReferenceBlackWhite for full-range JPEG YCbCr (TIFF 6.0 §20). */
		e = add(d, 532, T_RATIONAL, 6);
		e->inl[0] = 0;   e->inl[1] = 1;  e->inl[2] = 255; e->inl[3] = 1;
		e->inl[4] = 128; e->inl[5] = 1;  e->inl[6] = 255; e->inl[7] = 1;
		e->inl[8] = 128; e->inl[9] = 1;  e->inl[10] = 255; e->inl[11] = 1;
	}
	if (t->icc && t->icc_len) {
		e = add(d, 34675, T_UNDEF, t->icc_len);
		e->bytes = t->icc;
	}
}

/* Bytes the IFD takes with its out-of-line values, each at an even offset. */
static uint64_t ifd_size(const struct ifd *d, bool big)
{
	uint64_t n = big ? 8 + 20 * (uint64_t)d->n + 8 : 2 + 12 * (uint64_t)d->n + 4;
	size_t inl = big ? 8 : 4;
	int i;

	for (i = 0; i < d->n; i++) {
		uint64_t bytes = d->e[i].count * type_size(d->e[i].type);

		if (bytes > inl)
			n += bytes + (bytes & 1);
	}
	return n;
}

static void put(unsigned char *p, uint64_t v, size_t w)
{
	size_t i;

	for (i = 0; i < w; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_values(unsigned char *p, const struct entry *e)
{
	size_t w = type_size(e->type);
	uint64_t i, nv = e->type == T_RATIONAL ? e->count * 2 : e->count;

	if (e->type == T_ASCII || e->type == T_UNDEF) {
		memcpy(p, e->bytes, e->count);
		return;
	}
	if (e->type == T_RATIONAL)
		w = 4;
	for (i = 0; i < nv; i++)
		put(p + i * w, e->v[i], w);
}

/* Serialize d (at d->at) with next-IFD offset `next` into buf. */
static void serialize(const struct ifd *d, bool big, uint64_t next, unsigned char *buf)
{
	size_t inl = big ? 8 : 4, esz = big ? 20 : 12, cw = big ? 8 : 4;
	unsigned char *p = buf;
	uint64_t data = (big ? 8 : 2) + esz * (uint64_t)d->n + (big ? 8 : 4);
	int i;

	put(p, (uint64_t)d->n, big ? 8 : 2);
	p += big ? 8 : 2;
	for (i = 0; i < d->n; i++, p += esz) {
		const struct entry *e = &d->e[i];
		uint64_t bytes = e->count * type_size(e->type);

		memset(p, 0, esz);
		put(p, e->tag, 2);
		put(p + 2, e->type, 2);
		put(p + 4, e->count, cw);
		if (bytes <= inl) {
			put_values(p + 4 + cw, e);
		} else {
			put(p + 4 + cw, d->at + data, cw);
			put_values(buf + data, e);
			data += bytes + (bytes & 1);
		}
	}
	put(p, next, cw);
}

ts_status ts_tiff_file_finish(struct ts_tiff_file *f, bool subifds, bool force_big,
                              struct ts_error *err)
{
	struct ifd *ifds = NULL;
	unsigned char *buf = NULL;
	unsigned char head[HEADER_SPACE];
	uint64_t at, i;
	bool big = false;
	ts_status st = TS_OK;
	int k, e, pass;

	if (f->write_errno)
		return io_fail(err, f->write_errno, "tile");
	for (k = 0; k < f->nlevels; k++) {
		if (!f->lv[k].described)
			return ts_error_set(err, TS_EINTERNAL, "pyramid level never described");
		for (i = 0; i < f->lv[k].ntiles; i++)
			if (f->lv[k].counts[i] == 0)
				return ts_error_set(err, TS_EINTERNAL, "pyramid tile never written");
	}
	ifds = calloc((size_t)f->nlevels, sizeof *ifds);
	if (!ifds)
		return ts_error_set(err, TS_EINTERNAL, "out of memory");
	/* Lay the IFDs out as classic TIFF; if anything would pass 4 GiB,
	 * again as BigTIFF. */
	for (pass = force_big ? 1 : 0; pass < 2; pass++) {
		big = pass == 1;
		at = f->end + (f->end & 1);
		for (k = 0; k < f->nlevels; k++) {
			build_entries(f, k, big, subifds, &ifds[k]);
			ifds[k].at = at;
			ifds[k].size = ifd_size(&ifds[k], big);
			at += ifds[k].size;
		}
		if (at <= 0xFFFFFFFFu)
			break;
	}
	for (k = 1; k < f->nlevels; k++)
		ifds[0].subifd[k - 1] = ifds[k].at;
	for (k = 0; k < f->nlevels; k++) {
		uint64_t next = 0;

		if (!subifds && k + 1 < f->nlevels)
			next = ifds[k + 1].at;
		buf = calloc(1, (size_t)ifds[k].size);
		if (!buf) {
			st = ts_error_set(err, TS_EINTERNAL, "out of memory");
			goto fail;
		}
		serialize(&ifds[k], big, next, buf);
		e = ts_out_file_write_at(f->fd, buf, (size_t)ifds[k].size, ifds[k].at);
		free(buf);
		buf = NULL;
		if (e) {
			st = io_fail(err, e, "directory");
			goto fail;
		}
	}
	memset(head, 0, sizeof head);
	head[0] = head[1] = 'I';
	if (big) {
		put(head + 2, 43, 2);
		put(head + 4, 8, 2);
		put(head + 8, ifds[0].at, 8);
	} else {
		put(head + 2, 42, 2);
		put(head + 4, ifds[0].at, 4);
	}
	e = ts_out_file_write_at(f->fd, head, sizeof head, 0);
	if (e) {
		st = io_fail(err, e, "header");
		goto fail;
	}
	if (close(f->fd) != 0) {
		f->fd = -1;
		st = io_fail(err, errno, "close");
		goto fail;
	}
	f->fd = -1;
fail:
	free(ifds);
	return st;
}

void ts_tiff_file_destroy(struct ts_tiff_file *f)
{
	int k;

	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	for (k = 0; k < 32; k++) {
		free(f->lv[k].offsets);
		free(f->lv[k].counts);
	}
	pthread_mutex_destroy(&f->lock);
	free(f);
}
