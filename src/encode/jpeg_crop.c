/*
 * jpeg_crop.c - cut a baseline JPEG to its top-left cw x ch without decoding
 * a pixel (contract in include/tessera/passthrough.h).
 *
 * Pass-through serves stored tiles as they are; edge tiles are stored
 * padded and must be cut to their true size.  A crop at the origin keeps
 * the first MCUs of the first MCU rows, and in a sequential Huffman scan
 * every block is a DC difference followed by self-contained AC codes.  The
 * one idea: Huffman-decode only the symbols (no coefficients, no IDCT) to
 * find where each block's bits start and end and what each DC value is,
 * then write the kept bits out again verbatim - except the DC difference
 * of the first block of each component in a kept MCU row, whose
 * predecessor in the output is the last *kept* block of the row above
 * (ITU-T T.81 F.1.2.1), so it is re-encoded with the same DC table.
 * Everything between those few DC fields is one run of bits copied in
 * 32-bit chunks, and parsing stops after the last kept MCU row.
 *
 * Anything outside that subset (progressive, arithmetic, 12-bit, restart
 * intervals, several scans, a DC category the table cannot encode, corrupt
 * or truncated data) is refused with a status so the caller can use a
 * general transformer instead: this file never guesses.
 */
#include <stdlib.h>
#include <string.h>
#include "tessera/passthrough.h"

#define LOOKAHEAD 9                 /* bits resolved by one table look-up */
#define PAD 512                     /* zero bytes after the de-stuffed data:
                                       more than one block can read (< 256) */

/* A Huffman table (T.81 Annex C) ready to decode; for DC tables also the
 * code of each category so a difference can be written again (F.1.2.1). */
struct huff {
	/* DC: len << 8 | symbol.  AC: (bits to skip: code + magnitude) |
	 * (zig-zag positions advanced, 0 for end of block) << 8.  0: the code
	 * is longer than LOOKAHEAD bits. */
	uint16_t fast[1 << LOOKAHEAD];
	int32_t maxcode[17];        /* largest code of each length, -1: none */
	int32_t valoff[17];         /* vals index of a code of that length - code */
	uint8_t vals[256];
	uint16_t ecode[16];         /* DC category -> code, elen 0 when absent */
	uint8_t elen[16];
};

/* A DHT table as defined (class, id): lengths and symbols, built at SOS. */
struct huff_def {
	int defined;
	uint8_t bits[17];
	uint8_t vals[256];
};

struct comp {
	int id, h, v;
	int dc_tab, ac_tab;
	int32_t dc;                 /* predictor while parsing the input */
	int32_t kept;               /* last kept block's DC, predictor of the output */
};

/* The scan's geometry and tables, from the marker segments. */
struct scan {
	size_t sof_at;              /* offset of the SOF marker */
	size_t data_at;             /* first byte of entropy-coded data */
	uint32_t width, height;
	int ncomp;
	struct comp comp[4];
	int order[4];               /* scan order -> comp index */
	int mcu_blocks;             /* blocks per MCU */
	int block_comp[10];         /* MCU block -> comp index */
	int block_first[10];        /* 1 for the first block of its component */
	uint32_t mcu_w, mcu_h;      /* MCU size in pixels */
	struct huff_def defs[2][4]; /* [class][id] */
};

/* Reading the de-stuffed data: a 64-bit window, most significant bit next.
 * The refill keeps 56..63 valid bits (one unaligned big-endian load). */
struct bitreader {
	const uint8_t *base, *p;
	uint64_t acc;
	unsigned nb;
};

/* Writing: bits gather in acc and go out 32 at a time, byte-stuffed. */
struct bitwriter {
	struct ts_buf *out;
	uint64_t acc;
	unsigned n;                 /* pending bits, < 32 between calls */
};

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

static inline void br_refill(struct bitreader *b)
{
	b->acc |= load_be64(b->p) >> b->nb;
	b->p += (63 - b->nb) >> 3;
	b->nb |= 56;
}

static inline size_t br_pos(const struct bitreader *b)
{
	return (size_t)(b->p - b->base) * 8 - b->nb;
}

static inline void br_skip(struct bitreader *b, unsigned n)
{
	b->acc <<= n;
	b->nb -= n;
}

/* Room for n more output bytes; the writer writes into out directly. */
static inline bool bw_room(struct bitwriter *w, size_t n)
{
	return w->out->cap - w->out->len >= n || ts_buf_reserve(w->out, n);
}

/* Four bytes out, each 0xFF followed by a stuffed 0x00 (F.1.2.3).  The
 * caller has made room for 8. */
static inline void bw_emit32(struct bitwriter *w, uint32_t x)
{
	unsigned char *d = w->out->data + w->out->len;

	/* no byte of x is 0xFF exactly when no byte of ~x is zero */
	if (((~x - 0x01010101u) & x & 0x80808080u) == 0) {
		d[0] = (unsigned char)(x >> 24);
		d[1] = (unsigned char)(x >> 16);
		d[2] = (unsigned char)(x >> 8);
		d[3] = (unsigned char)x;
		w->out->len += 4;
		return;
	}
	for (int i = 3; i >= 0; i--) {
		unsigned char c = (unsigned char)(x >> (8 * i));
		*d++ = c;
		if (c == 0xFF)
			*d++ = 0;
	}
	w->out->len = (size_t)(d - w->out->data);
}

/* Append the n (1..32) low bits of v, which has no bits above them. */
static inline void bw_put(struct bitwriter *w, uint64_t v, unsigned n)
{
	w->acc = w->acc << n | v;
	w->n += n;
	if (w->n >= 32) {
		w->n -= 32;
		bw_emit32(w, (uint32_t)(w->acc >> w->n));
	}
}

/* Copy the input's bits [from, to) of the de-stuffed data. */
static bool bw_copy(struct bitwriter *w, const uint8_t *src, size_t from, size_t to)
{
	size_t len = to - from;

	/* every 32 bits can become 8 bytes with stuffing, plus the flushes */
	if (!bw_room(w, len / 4 + 16))
		return false;
	while (len > 0) {
		unsigned n = len < 32 ? (unsigned)len : 32;
		uint64_t v = load_be64(src + (from >> 3)) << (from & 7) >> (64 - n);
		bw_put(w, v, n);
		from += n;
		len -= n;
	}
	return true;
}

/* Pad the last byte with 1-bits (F.1.2.3) and write it out. */
static bool bw_flush(struct bitwriter *w)
{
	if (!bw_room(w, 16))
		return false;
	while (w->n >= 8) {
		unsigned char c = (unsigned char)(w->acc >> (w->n - 8));
		w->out->data[w->out->len++] = c;
		if (c == 0xFF)
			w->out->data[w->out->len++] = 0;
		w->n -= 8;
	}
	if (w->n > 0) {
		unsigned pad = 8 - w->n;
		unsigned char c = (unsigned char)((w->acc << pad | ((1u << pad) - 1)) & 0xFF);
		w->out->data[w->out->len++] = c;
		if (c == 0xFF)
			w->out->data[w->out->len++] = 0;
		w->n = 0;
	}
	return true;
}

/*
 * Build the decoding tables of one DHT definition (Annex C: codes assigned
 * in order of length, each length's codes following the last one plus one,
 * shifted left at each new length).  False for a table whose counts do not
 * fit their lengths.  ac selects the AC fast-table format (F.1.2.2: R/S
 * symbols, run of zeros R then a coefficient of S magnitude bits; 0xF0 is
 * sixteen zeros, any other S=0 symbol ends the block as libjpeg reads it).
 */
static bool huff_build(const struct huff_def *def, int ac, struct huff *t)
{
	uint32_t code = 0;
	int k = 0;

	memset(t->fast, 0, sizeof t->fast);
	memset(t->elen, 0, sizeof t->elen);
	memcpy(t->vals, def->vals, sizeof t->vals);
	for (int l = 1; l <= 16; l++) {
		int n = def->bits[l];
		if (n == 0) {
			t->maxcode[l] = -1;
			t->valoff[l] = 0;
		} else {
			t->valoff[l] = k - (int32_t)code;
			t->maxcode[l] = (int32_t)(code + (uint32_t)n - 1);
		}
		for (int i = 0; i < n; i++, k++, code++) {
			uint8_t sym = def->vals[k];
			if (code >= (1u << l))
				return false;
			if (!ac && sym > 15)    /* no DC category above 15 (F.1.2.1) */
				return false;
			if (!ac && sym < 16 && t->elen[sym] == 0) {
				t->ecode[sym] = (uint16_t)code;
				t->elen[sym] = (uint8_t)l;
			}
			if (l <= LOOKAHEAD) {
				uint32_t lo = code << (LOOKAHEAD - l), hi = (code + 1) << (LOOKAHEAD - l);
				uint16_t e;
				if (!ac) {
					e = (uint16_t)(l << 8 | sym);
				} else {
					unsigned r = sym >> 4, s = sym & 15;
					unsigned adv = s ? r + 1 : (r == 15 ? 16 : 0);
					e = (uint16_t)(((unsigned)l + s) | adv << 8);
				}
				for (uint32_t j = lo; j < hi; j++)
					t->fast[j] = e;
			}
		}
		if (code > (1u << l))
			return false;
		code <<= 1;
	}
	return true;
}

/* A code longer than LOOKAHEAD bits: the F.2.2.3 search from length
 * LOOKAHEAD+1 on.  Returns the symbol and sets *len, or -1. */
static int huff_slow(const struct huff *t, uint64_t acc, unsigned *len)
{
	uint32_t bits16 = (uint32_t)(acc >> 48);

	for (unsigned l = LOOKAHEAD + 1; l <= 16; l++) {
		int32_t c = (int32_t)(bits16 >> (16 - l));
		if (c <= t->maxcode[l]) {
			*len = l;
			return t->vals[(t->valoff[l] + c) & 0xFF];
		}
	}
	return -1;
}

/*
 * Read one block (F.2.2.1 DC difference, F.2.2.2 AC codes, skipping the
 * magnitude bits).  Sets *diff to the DC difference and *dc_end to the bit
 * position after the DC field.  False on data no decoder could read.
 */
static inline bool read_block(struct bitreader *b, const struct huff *dct, const struct huff *act,
                              int32_t *diff, size_t *dc_end)
{
	unsigned len, s, k;
	uint16_t e;

	if (b->nb < 32)
		br_refill(b);
	e = dct->fast[b->acc >> (64 - LOOKAHEAD)];
	if (e) {
		len = e >> 8;
		s = e & 0xFF;
	} else {
		int sym = huff_slow(dct, b->acc, &len);
		if (sym < 0)
			return false;
		s = (unsigned)sym;
	}
	if (s > 11)                 /* 8-bit DC differences have at most 11 bits */
		return false;
	br_skip(b, len);
	if (s) {
		int32_t v = (int32_t)(b->acc >> (64 - s));
		br_skip(b, s);
		/* F.2.2.1 EXTEND: a leading 0 bit marks a negative difference */
		*diff = v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
	} else {
		*diff = 0;
	}
	*dc_end = br_pos(b);
	for (k = 1;;) {
		if (b->nb < 32)
			br_refill(b);
		e = act->fast[b->acc >> (64 - LOOKAHEAD)];
		if (!e) {
			int sym = huff_slow(act, b->acc, &len);
			unsigned r, ss;
			if (sym < 0)
				return false;
			r = (unsigned)sym >> 4;
			ss = (unsigned)sym & 15;
			e = (uint16_t)((len + ss) | (ss ? r + 1 : (r == 15 ? 16 : 0)) << 8);
		}
		br_skip(b, e & 0xFF);
		if ((e >> 8) == 0)
			return true;        /* end of block */
		k += e >> 8;
		if (k >= 64)
			return k == 64;     /* past the 64th coefficient: corrupt */
	}
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* DHT (B.2.4.2): one or more tables, each class/id, 16 counts, symbols. */
static ts_status parse_dht(const uint8_t *p, size_t n, struct scan *sc, struct ts_error *err)
{
	while (n > 0) {
		unsigned tc = p[0] >> 4, th = p[0] & 15, total = 0;
		struct huff_def *d;

		if (tc > 1 || th > 3 || n < 17)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		d = &sc->defs[tc][th];
		d->bits[0] = 0;
		for (int l = 1; l <= 16; l++) {
			d->bits[l] = p[l];
			total += p[l];
		}
		if (total > 256 || n < 17 + (size_t)total)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		memset(d->vals, 0, sizeof d->vals);
		memcpy(d->vals, p + 17, total);
		d->defined = 1;
		p += 17 + total;
		n -= 17 + total;
	}
	return TS_OK;
}

/* SOF0/SOF1 (B.2.2): 8-bit samples, 1..4 components of 1..4 x 1..4. */
static ts_status parse_sof(const uint8_t *p, size_t n, struct scan *sc, struct ts_error *err)
{
	if (n < 6 || n != 6 + 3 * (size_t)p[5])
		return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	if (p[0] != 8 || p[5] < 1 || p[5] > 4 || be16(p + 1) == 0) {
		ts_error_detail(err, "crop: %u-bit, %u components, height %u", p[0], p[5], be16(p + 1));
		return ts_error_set(err, TS_ENOTIMPL, "tile not croppable in place");
	}
	sc->height = be16(p + 1);
	sc->width = be16(p + 3);
	sc->ncomp = p[5];
	if (sc->width == 0)
		return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	for (int i = 0; i < sc->ncomp; i++) {
		struct comp *c = &sc->comp[i];
		c->id = p[6 + 3 * i];
		c->h = p[7 + 3 * i] >> 4;
		c->v = p[7 + 3 * i] & 15;
		if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		for (int j = 0; j < i; j++)
			if (sc->comp[j].id == c->id)
				return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	}
	return TS_OK;
}

/* SOS (B.2.3): one scan with every component, Ss=0 Se=63 Ah=Al=0. */
static ts_status parse_sos(const uint8_t *p, size_t n, struct scan *sc, struct ts_error *err)
{
	int ns, used = 0, hmax = 1, vmax = 1;

	if (n < 1 || n != 4 + 2 * (size_t)p[0] || p[0] < 1)
		return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	ns = p[0];
	if (ns != sc->ncomp || p[1 + 2 * ns] != 0 || p[2 + 2 * ns] != 63 || p[3 + 2 * ns] != 0) {
		ts_error_detail(err, "crop: scan of %d of %d components, Ss %u Se %u", ns, sc->ncomp,
		                p[1 + 2 * ns], p[2 + 2 * ns]);
		return ts_error_set(err, TS_ENOTIMPL, "tile not croppable in place");
	}
	for (int i = 0; i < ns; i++) {
		int id = p[1 + 2 * i], td = p[2 + 2 * i] >> 4, ta = p[2 + 2 * i] & 15, c;
		for (c = 0; c < sc->ncomp && sc->comp[c].id != id; c++)
			;
		if (c == sc->ncomp || (used & 1 << c) || td > 3 || ta > 3 ||
		    !sc->defs[0][td].defined || !sc->defs[1][ta].defined)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		used |= 1 << c;
		sc->order[i] = c;
		sc->comp[c].dc_tab = td;
		sc->comp[c].ac_tab = ta;
	}
	/* A.2.2: one component alone is not interleaved, its MCU one block;
	 * A.2.3: interleaved, each component's H x V blocks, at most 10. */
	if (ns == 1) {
		sc->mcu_blocks = 1;
		sc->block_comp[0] = sc->order[0];
		sc->block_first[0] = 1;
		sc->mcu_w = sc->mcu_h = 8;
		return TS_OK;
	}
	sc->mcu_blocks = 0;
	for (int i = 0; i < ns; i++) {
		const struct comp *c = &sc->comp[sc->order[i]];
		if (sc->mcu_blocks + c->h * c->v > 10)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		for (int j = 0; j < c->h * c->v; j++) {
			sc->block_comp[sc->mcu_blocks] = sc->order[i];
			sc->block_first[sc->mcu_blocks++] = j == 0;
		}
		hmax = c->h > hmax ? c->h : hmax;
		vmax = c->v > vmax ? c->v : vmax;
	}
	sc->mcu_w = 8 * (uint32_t)hmax;
	sc->mcu_h = 8 * (uint32_t)vmax;
	return TS_OK;
}

/* Walk the marker segments (B.1.1.4, B.2.4) up to the end of the SOS. */
static ts_status parse_headers(const uint8_t *p, size_t n, struct scan *sc, struct ts_error *err)
{
	size_t i = 2;
	int have_sof = 0;
	ts_status st;

	if (n < 4 || p[0] != 0xFF || p[1] != 0xD8)
		return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
	for (;;) {
		unsigned m;
		size_t len;

		if (i + 2 > n || p[i] != 0xFF)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		while (i + 2 <= n && p[i + 1] == 0xFF)   /* fill bytes (B.1.1.2) */
			i++;
		if (i + 2 > n)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		m = p[i + 1];
		if (m == 0x01) {                           /* TEM: no length */
			i += 2;
			continue;
		}
		if (m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7) || m == 0x00 || i + 4 > n)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		len = be16(p + i + 2);
		if (len < 2 || len > n - i - 2)
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		switch (m) {
		case 0xC0:
		case 0xC1:
			if (have_sof)
				return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
			if ((st = parse_sof(p + i + 4, len - 2, sc, err)) != TS_OK)
				return st;
			sc->sof_at = i;
			have_sof = 1;
			break;
		case 0xC4:
			if ((st = parse_dht(p + i + 4, len - 2, sc, err)) != TS_OK)
				return st;
			break;
		case 0xDD:                                 /* DRI (B.2.4.4) */
			if (len != 4)
				return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
			if (be16(p + i + 4) != 0) {
				ts_error_detail(err, "crop: restart interval %u", be16(p + i + 4));
				return ts_error_set(err, TS_ENOTIMPL, "tile not croppable in place");
			}
			break;
		case 0xDA:
			if (!have_sof)
				return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
			if ((st = parse_sos(p + i + 4, len - 2, sc, err)) != TS_OK)
				return st;
			sc->data_at = i + 2 + len;
			return TS_OK;
		case 0xDC:                                 /* DNL before any scan */
			return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		case 0xDB:                                 /* DQT */
		case 0xFE:                                 /* COM */
			break;
		default:
			/* other SOFn: progressive, lossless, arithmetic; DAC */
			if (m >= 0xC2 && m <= 0xCF) {
				ts_error_detail(err, "crop: frame marker 0xFF%02X", m);
				return ts_error_set(err, TS_ENOTIMPL, "tile not croppable in place");
			}
			/* APPn is kept; anything else (reserved, JPG-n, EXP...) is
			 * not something a decoder would accept either. */
			if (m < 0xE0 || m > 0xEF) {
				ts_error_detail(err, "crop: marker 0xFF%02X before the scan", m);
				return ts_error_set(err, TS_EINTERNAL, "corrupt tile");
			}
			break;
		}
		i += 2 + len;
	}
}

/* The entropy-coded data without its stuffed zero bytes (F.1.2.3), up to
 * the first marker, followed by PAD zero bytes.  Sets *nbits. */
static uint8_t *destuff(const uint8_t *p, size_t n, size_t *nbits)
{
	uint8_t *d = malloc(n + PAD), *o = d;
	const uint8_t *end = p + n;

	if (!d)
		return NULL;
	while (p < end) {
		const uint8_t *ff = memchr(p, 0xFF, (size_t)(end - p));
		size_t run = ff ? (size_t)(ff - p) : (size_t)(end - p);
		memcpy(o, p, run);
		o += run;
		if (!ff || ff + 1 >= end || ff[1] != 0x00)
			break;                             /* a marker (or the end) */
		*o++ = 0xFF;
		p = ff + 2;
	}
	memset(o, 0, PAD);
	*nbits = (size_t)(o - d) * 8;
	return d;
}

/* Put the difference dc - *kept with the DC table (F.1.2.1): category code
 * then the magnitude bits, negative values as value - 1 in those bits. */
static inline bool put_dc(struct bitwriter *w, const struct huff *t, int32_t diff)
{
	uint32_t mag = (uint32_t)(diff < 0 ? -diff : diff);
	unsigned s = mag ? 32 - (unsigned)__builtin_clz(mag) : 0;

	if (s > 11 || t->elen[s] == 0)
		return false;
	bw_put(w, t->ecode[s], t->elen[s]);
	if (s)
		bw_put(w, (uint32_t)(diff < 0 ? diff - 1 : diff) & ((1u << s) - 1), s);
	return true;
}

ts_status ts_jpeg_crop(const unsigned char *jpeg, size_t len, uint32_t cw, uint32_t ch,
                       struct ts_buf *out, struct ts_error *err)
{
	struct scan *sc = NULL;
	struct huff *tabs = NULL;           /* [class * 4 + id], built when used */
	uint8_t *data = NULL;
	size_t nbits, start = out->len, cursor = 0, dc_at[4] = { 0 }, dc_end[4] = { 0 };
	int32_t dc_first[4] = { 0 };
	int built = 0;
	struct bitreader br;
	struct bitwriter bw;
	uint32_t mcux, kx, ky;
	ts_status st = TS_OK;

	sc = calloc(1, sizeof *sc);
	tabs = malloc(8 * sizeof *tabs);
	if (!sc || !tabs) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	if ((st = parse_headers(jpeg, len, sc, err)) != TS_OK)
		goto fail;
	if (cw == 0 || ch == 0 || cw > sc->width || ch > sc->height) {
		st = ts_error_set(err, TS_EINTERNAL, "corrupt tile");
		ts_error_detail(err, "crop: %ux%u of a %ux%u tile", cw, ch, sc->width, sc->height);
		goto fail;
	}
	for (int c = 0; c < sc->ncomp; c++) {
		struct comp *cp = &sc->comp[c];
		int d = cp->dc_tab, a = 4 + cp->ac_tab;
		if ((!(built & 1 << d) && !huff_build(&sc->defs[0][cp->dc_tab], 0, &tabs[d])) ||
		    (!(built & 1 << a) && !huff_build(&sc->defs[1][cp->ac_tab], 1, &tabs[a]))) {
			st = ts_error_set(err, TS_EINTERNAL, "corrupt tile");
			ts_error_detail(err, "crop: bad Huffman table");
			goto fail;
		}
		built |= 1 << d | 1 << a;
		cp->dc = cp->kept = 0;
	}
	mcux = (sc->width + sc->mcu_w - 1) / sc->mcu_w;
	kx = (cw + sc->mcu_w - 1) / sc->mcu_w;
	ky = (ch + sc->mcu_h - 1) / sc->mcu_h;

	data = destuff(jpeg + sc->data_at, len - sc->data_at, &nbits);
	if (!data) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	/* The header: every segment up to and including the SOS, with the
	 * SOF's height and width (B.2.2) made the crop's. */
	if (!ts_buf_append(out, jpeg, sc->data_at)) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
	out->data[start + sc->sof_at + 5] = (unsigned char)(ch >> 8);
	out->data[start + sc->sof_at + 6] = (unsigned char)ch;
	out->data[start + sc->sof_at + 7] = (unsigned char)(cw >> 8);
	out->data[start + sc->sof_at + 8] = (unsigned char)cw;

	br.base = br.p = data;
	br.acc = 0;
	br.nb = 0;
	bw.out = out;
	bw.acc = 0;
	bw.n = 0;
	for (uint32_t row = 0; row < ky; row++) {
		uint32_t last = row + 1 == ky ? kx : mcux;   /* MCUs to read */
		cursor = br_pos(&br);
		for (uint32_t m = 0; m < last; m++) {
			for (int i = 0; i < sc->mcu_blocks; i++) {
				int c = sc->block_comp[i];
				struct comp *cp = &sc->comp[c];
				size_t at = br_pos(&br), end;
				int32_t diff;

				if (!read_block(&br, &tabs[cp->dc_tab], &tabs[4 + cp->ac_tab], &diff, &end) ||
				    br_pos(&br) > nbits) {
					st = ts_error_set(err, TS_EINTERNAL, "corrupt tile");
					ts_error_detail(err, "crop: bad or short entropy data in MCU row %u", row);
					goto fail;
				}
				cp->dc += diff;
				if (cp->dc < -32768 || cp->dc > 32767) {
					st = ts_error_set(err, TS_EINTERNAL, "corrupt tile");
					goto fail;
				}
				if (m == 0 && sc->block_first[i]) {
					dc_at[c] = at;
					dc_end[c] = end;
					dc_first[c] = cp->dc;
				}
			}
			if (m == 0) {
				/* The first kept block of each component follows the
				 * last kept block of the row above in the output: its
				 * difference is written again, the rest copied. */
				for (int i = 0; i < sc->mcu_blocks; i++) {
					int c = sc->block_comp[i];
					if (!sc->block_first[i])
						continue;
					if (!bw_copy(&bw, data, cursor, dc_at[c]) ||
					    !bw_room(&bw, 16)) {
						st = ts_error_set(err, TS_EINTERNAL, "out of memory");
						goto fail;
					}
					if (!put_dc(&bw, &tabs[sc->comp[c].dc_tab], dc_first[c] - sc->comp[c].kept)) {
						st = ts_error_set(err, TS_ENOTIMPL, "tile not croppable in place");
						ts_error_detail(err, "crop: DC difference not in the DC table");
						goto fail;
					}
					cursor = dc_end[c];
				}
			}
			if (m + 1 == kx) {
				if (!bw_copy(&bw, data, cursor, br_pos(&br))) {
					st = ts_error_set(err, TS_EINTERNAL, "out of memory");
					goto fail;
				}
				for (int c = 0; c < sc->ncomp; c++)
					sc->comp[c].kept = sc->comp[c].dc;
			}
		}
	}
	if (!bw_flush(&bw) || !ts_buf_append(out, "\xFF\xD9", 2)) {
		st = ts_error_set(err, TS_EINTERNAL, "out of memory");
		goto fail;
	}
fail:
	if (st != TS_OK && out->len > start)
		out->len = start;
	free(data);
	free(tabs);
	free(sc);
	return st;
}
