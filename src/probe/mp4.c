/*
 * mp4.c - duration and frame size of ISO base media files (MP4, M4A, MOV),
 * for ts_media_probe (probe.c).
 *
 * The file is a sequence of boxes (ISO/IEC 14496-12 §4.2: 32-bit size and
 * type, size 1 = a 64-bit size follows, size 0 = to the end of the file).
 * What we want is all in moov, which a file written without "faststart"
 * keeps after its mdat: we walk the top level by seeking from header to
 * header, never reading mdat, then descend moov > mvhd (§8.2.2: timescale
 * and duration), moov > trak > tkhd (§8.3.2: width and height, 16.16
 * fixed), trak > mdia > hdlr (§8.4.3: "vide" or "soun") and mdhd (§8.4.2),
 * and moov > mvex > mehd (§8.8.2) for a fragmented file whose mvhd says 0.
 * A fragmented file without mehd is timed by its last moof instead: each
 * track fragment starts at its tfdt (§8.8.12) and lasts the sum of its trun
 * sample durations (§8.8.8, defaults from tfhd or trex).  Everything else
 * (the sample tables in stbl above all; only stsd's first entry is read,
 * for a frame size tkhd lacks) is skipped unread, so a probe reads a few
 * hundred bytes of headers whatever the file's size.  Every box must lie
 * inside its parent; each step moves forward at least one box header, and
 * the containers we descend are fixed by the code, so a lying file can
 * neither loop nor nest us deeper.
 */
#include <stdlib.h>
#include <string.h>

#include "tessera/checked.h"
#include "probe.h"

struct box {
	uint64_t start;   /* first byte of the header */
	uint64_t body;    /* first byte after the header */
	uint64_t end;     /* one past the last byte */
	char type[5];
};

/* What one trak said. */
struct track {
	uint32_t id;                 /* tkhd track_ID */
	bool video, audio;
	uint32_t tkhd_w, tkhd_h;     /* integer part of tkhd's 16.16 values */
	uint32_t entry_w, entry_h;   /* the first visual sample entry's size */
	uint32_t timescale;          /* mdhd */
	uint64_t duration;
};

/* The box whose header is at off, inside a parent ending at end. */
static ts_status box_read(struct ts_probe *p, uint64_t off, uint64_t end, struct box *b)
{
	unsigned char h[16];
	uint64_t size;
	unsigned hdr = 8;
	ts_status st;

	st = ts_probe_read(p, off, h, 8);
	if (st != TS_OK)
		return st;
	size = ts_probe_be32(h);
	if (size == 1) {
		if (end - off < 16)
			return ts_probe_corrupt(p, "a box header runs past its parent");
		st = ts_probe_read(p, off + 8, h + 8, 8);
		if (st != TS_OK)
			return st;
		size = ts_probe_be64(h + 8);
		hdr = 16;
	} else if (size == 0) {
		size = end - off;   /* to the end of the file (or of its parent) */
	}
	if (size < hdr)
		return ts_probe_corrupt(p, "a box is smaller than its own header");
	if (size > end - off)
		return ts_probe_corrupt(p, "a box runs past the end of the file or its parent");
	b->start = off;
	b->body = off + hdr;
	b->end = off + size;
	memcpy(b->type, h + 4, 4);
	b->type[4] = '\0';
	return TS_OK;
}

/* Read the first n bytes of b's body (all of them: short boxes are corrupt). */
static ts_status box_body(struct ts_probe *p, const struct box *b, unsigned char *buf,
                          size_t n, const char *why)
{
	if (b->end - b->body < n)
		return ts_probe_corrupt(p, why);
	return ts_probe_read(p, b->body, buf, n);
}

/* mvhd and mdhd share their start (§8.2.2, §8.4.2): version 1 has 64-bit
 * times and duration, version 0 32-bit ones.  A duration of all ones means
 * unknown, kept as 0. */
static ts_status timescale_read(struct ts_probe *p, const struct box *b, uint32_t *scale,
                                uint64_t *duration)
{
	unsigned char h[32];
	ts_status st;

	st = box_body(p, b, h, 4, "an mvhd or mdhd box is too short");
	if (st != TS_OK)
		return st;
	if (h[0] == 1) {
		st = box_body(p, b, h, 32, "an mvhd or mdhd box is too short");
		if (st != TS_OK)
			return st;
		*scale = ts_probe_be32(h + 20);
		*duration = ts_probe_be64(h + 24);
		if (*duration == UINT64_MAX)
			*duration = 0;
	} else {
		st = box_body(p, b, h, 20, "an mvhd or mdhd box is too short");
		if (st != TS_OK)
			return st;
		*scale = ts_probe_be32(h + 12);
		*duration = ts_probe_be32(h + 16);
		if (*duration == UINT32_MAX)
			*duration = 0;
	}
	return TS_OK;
}

/* tkhd (§8.3.2): width and height are the last two fields, 16.16 fixed. */
static ts_status tkhd_read(struct ts_probe *p, const struct box *b, struct track *t)
{
	unsigned char h[96];
	size_t at;
	ts_status st;

	st = box_body(p, b, h, 4, "a tkhd box is too short");
	if (st != TS_OK)
		return st;
	at = h[0] == 1 ? 88 : 76;
	st = box_body(p, b, h, at + 8, "a tkhd box is too short");
	if (st != TS_OK)
		return st;
	t->id = ts_probe_be32(h + (h[0] == 1 ? 20 : 12));
	t->tkhd_w = ts_probe_be32(h + at) >> 16;
	t->tkhd_h = ts_probe_be32(h + at + 4) >> 16;
	return TS_OK;
}

/* stsd (§8.5.2): the first VisualSampleEntry's width and height (§12.1.3),
 * used only when tkhd gives no size. */
static ts_status stsd_read(struct ts_probe *p, const struct box *b, struct track *t)
{
	unsigned char h[44];
	ts_status st;

	if (!t->video || b->end - b->body < sizeof h)
		return TS_OK;
	st = ts_probe_read(p, b->body, h, sizeof h);
	if (st != TS_OK)
		return st;
	if (ts_probe_be32(h + 4) == 0)
		return TS_OK;
	t->entry_w = ts_probe_be16(h + 40);
	t->entry_h = ts_probe_be16(h + 42);
	return TS_OK;
}

/* Walk the children of parent, calling visit on each.  The containers we
 * descend are few and fixed (moov, trak, mdia, minf, stbl, mvex, moof,
 * traf), so depth is bounded by the code, not by the file. */
typedef ts_status (*visit_fn)(struct ts_probe *p, const struct box *b, void *state);

static ts_status children_walk(struct ts_probe *p, const struct box *parent, visit_fn visit,
                               void *state)
{
	uint64_t off = parent->body;
	struct box b;
	ts_status st;

	/* A few bytes short of a box header at the end of a container (old
	 * QuickTime writes a 32-bit zero terminator) are not a box. */
	while (parent->end - off >= 8) {
		st = box_read(p, off, parent->end, &b);
		if (st != TS_OK)
			return st;
		st = visit(p, &b, state);
		if (st != TS_OK)
			return st;
		off = b.end;
	}
	return TS_OK;
}

static ts_status stbl_visit(struct ts_probe *p, const struct box *b, void *state)
{
	if (strcmp(b->type, "stsd") == 0)
		return stsd_read(p, b, state);
	return TS_OK;
}

static ts_status minf_visit(struct ts_probe *p, const struct box *b, void *state)
{
	if (strcmp(b->type, "stbl") == 0)
		return children_walk(p, b, stbl_visit, state);
	return TS_OK;
}

static ts_status mdia_visit(struct ts_probe *p, const struct box *b, void *state)
{
	struct track *t = state;
	unsigned char h[12];
	ts_status st;

	if (strcmp(b->type, "mdhd") == 0)
		return timescale_read(p, b, &t->timescale, &t->duration);
	if (strcmp(b->type, "hdlr") == 0) {
		/* version/flags, pre_defined (QuickTime: component type), then
		 * handler_type (§8.4.3) */
		st = box_body(p, b, h, 12, "an hdlr box is too short");
		if (st != TS_OK)
			return st;
		t->video = memcmp(h + 8, "vide", 4) == 0;
		t->audio = memcmp(h + 8, "soun", 4) == 0;
		return TS_OK;
	}
	/* hdlr comes before minf in every writer we know (§8.4 order); a
	 * sample entry read before it would be ignored, costing only the
	 * stsd fallback. */
	if (strcmp(b->type, "minf") == 0)
		return children_walk(p, b, minf_visit, state);
	return TS_OK;
}

static ts_status trak_visit(struct ts_probe *p, const struct box *b, void *state)
{
	if (strcmp(b->type, "tkhd") == 0)
		return tkhd_read(p, b, state);
	if (strcmp(b->type, "mdia") == 0)
		return children_walk(p, b, mdia_visit, state);
	return TS_OK;
}

/* A fragmented file's tracks, for timing its last fragment. */
#define MAX_CLOCKS 16

struct clock {
	uint32_t id, timescale;
	uint32_t default_duration;    /* trex */
};

/* What moov said, all tracks together. */
struct movie {
	bool seen_mvhd;
	uint32_t timescale;
	uint64_t duration;
	uint64_t fragment_duration;   /* mehd, in the movie timescale */
	double longest_track;         /* mdhd, seconds */
	struct clock clocks[MAX_CLOCKS];
	int nclocks;
	struct ts_media_info info;
};

static struct clock *clock_of(struct movie *m, uint32_t id, bool add)
{
	for (int i = 0; i < m->nclocks; i++)
		if (m->clocks[i].id == id)
			return &m->clocks[i];
	if (!add || m->nclocks == MAX_CLOCKS)
		return NULL;
	memset(&m->clocks[m->nclocks], 0, sizeof m->clocks[0]);
	m->clocks[m->nclocks].id = id;
	return &m->clocks[m->nclocks++];
}

static ts_status mvex_visit(struct ts_probe *p, const struct box *b, void *state)
{
	struct movie *m = state;
	unsigned char h[12];
	ts_status st;

	if (strcmp(b->type, "trex") == 0) {
		/* §8.8.3: track_ID, default sample description, default duration */
		unsigned char x[16];
		struct clock *c;
		st = box_body(p, b, x, 16, "a trex box is too short");
		if (st != TS_OK)
			return st;
		c = clock_of(m, ts_probe_be32(x + 4), true);
		if (c)
			c->default_duration = ts_probe_be32(x + 12);
		return TS_OK;
	}
	if (strcmp(b->type, "mehd") != 0)
		return TS_OK;
	st = box_body(p, b, h, 4, "an mehd box is too short");
	if (st != TS_OK)
		return st;
	st = box_body(p, b, h, h[0] == 1 ? 12 : 8, "an mehd box is too short");
	if (st != TS_OK)
		return st;
	m->fragment_duration = h[0] == 1 ? ts_probe_be64(h + 4) : ts_probe_be32(h + 4);
	return TS_OK;
}

static ts_status moov_visit(struct ts_probe *p, const struct box *b, void *state)
{
	struct movie *m = state;
	struct track t;
	ts_status st;

	if (strcmp(b->type, "mvhd") == 0) {
		m->seen_mvhd = true;
		return timescale_read(p, b, &m->timescale, &m->duration);
	}
	if (strcmp(b->type, "mvex") == 0)
		return children_walk(p, b, mvex_visit, m);
	if (strcmp(b->type, "trak") != 0)
		return TS_OK;

	memset(&t, 0, sizeof t);
	st = children_walk(p, b, trak_visit, &t);
	if (st != TS_OK)
		return st;
	if (t.timescale) {
		struct clock *c = clock_of(m, t.id, true);
		if (c)
			c->timescale = t.timescale;
	}
	if (t.timescale && t.duration && (double)t.duration / t.timescale > m->longest_track)
		m->longest_track = (double)t.duration / t.timescale;
	if (t.audio)
		m->info.has_audio = true;
	if (t.video && !m->info.has_video) {
		uint32_t w = t.tkhd_w ? t.tkhd_w : t.entry_w;
		uint32_t h = t.tkhd_w ? t.tkhd_h : t.entry_h;
		m->info.has_video = true;
		m->info.width = w;
		m->info.height = h;
	}
	return TS_OK;
}

/* One track fragment of the last moof (§8.8.6-8.8.12). */
struct fragment {
	struct movie *m;
	uint32_t id;
	uint32_t default_duration;    /* tfhd, else trex */
	bool seen_tfdt;
	uint64_t start;               /* tfdt baseMediaDecodeTime */
	uint64_t sum;                 /* the durations of its samples */
	double end;                   /* the latest track end, seconds */
};

/* The most of one trun read to add up its sample durations. */
#define MAX_TRUN (1u << 20)

/* trun (§8.8.8): sample_count, optional data offset and first sample
 * flags, then per sample the fields its flags say, duration first. */
static ts_status trun_read(struct ts_probe *p, const struct box *b, struct fragment *f)
{
	unsigned char h[8], *buf;
	uint32_t flags, count;
	uint64_t at, entry, bytes, i, sum = 0;
	ts_status st;

	st = box_body(p, b, h, 8, "a trun box is too short");
	if (st != TS_OK)
		return st;
	flags = ts_probe_be32(h) & 0xFFFFFF;
	count = ts_probe_be32(h + 4);
	if (!(flags & 0x100)) {
		/* every sample has the default duration */
		if (!ts_mul_u64(count, f->default_duration, &sum) ||
		    __builtin_add_overflow(f->sum, sum, &f->sum))
			return ts_probe_corrupt(p, "a fragment's duration overflows");
		return TS_OK;
	}
	at = 8 + (flags & 0x1 ? 4 : 0) + (flags & 0x4 ? 4 : 0);
	entry = 4 * (uint64_t)(!!(flags & 0x100) + !!(flags & 0x200) + !!(flags & 0x400) +
	                       !!(flags & 0x800));
	if (!ts_mul_u64(count, entry, &bytes) || at > b->end - b->body ||
	    bytes > b->end - b->body - at)
		return ts_probe_corrupt(p, "a trun box lists more samples than it holds");
	if (bytes > MAX_TRUN)
		return ts_error_set(p->err, TS_EINTERNAL,
		                    "The MP4 file's last fragment is too large to time; give the "
		                    "duration in the item's sidecar.");
	buf = malloc(bytes ? (size_t)bytes : 1);
	if (!buf)
		return ts_error_set(p->err, TS_EINTERNAL, "Out of memory probing an MP4 file.");
	st = ts_probe_read(p, b->body + at, buf, (size_t)bytes);
	for (i = 0; st == TS_OK && i < count; i++)
		sum += ts_probe_be32(buf + i * entry);   /* < 2^32 samples of < 2^32 */
	free(buf);
	if (st != TS_OK)
		return st;
	if (__builtin_add_overflow(f->sum, sum, &f->sum))
		return ts_probe_corrupt(p, "a fragment's duration overflows");
	return TS_OK;
}

static ts_status traf_visit(struct ts_probe *p, const struct box *b, void *state)
{
	struct fragment *f = state;
	unsigned char h[16];
	ts_status st;

	if (strcmp(b->type, "tfhd") == 0) {
		/* §8.8.7: track_ID, then optional fields by flag; default
		 * sample duration (0x08) after base data offset (0x01, 64 bits)
		 * and sample description index (0x02) */
		uint32_t flags, at;
		struct clock *c;
		st = box_body(p, b, h, 8, "a tfhd box is too short");
		if (st != TS_OK)
			return st;
		flags = ts_probe_be32(h) & 0xFFFFFF;
		f->id = ts_probe_be32(h + 4);
		c = clock_of(f->m, f->id, false);
		f->default_duration = c ? c->default_duration : 0;
		if (flags & 0x08) {
			unsigned char d[4];
			at = 8 + (flags & 0x01 ? 8 : 0) + (flags & 0x02 ? 4 : 0);
			if (b->end - b->body < at + 4u)
				return ts_probe_corrupt(p, "a tfhd box is too short");
			st = ts_probe_read(p, b->body + at, d, 4);
			if (st != TS_OK)
				return st;
			f->default_duration = ts_probe_be32(d);
		}
		return TS_OK;
	}
	if (strcmp(b->type, "tfdt") == 0) {
		/* §8.8.12: baseMediaDecodeTime, 64 bits in version 1 */
		st = box_body(p, b, h, 4, "a tfdt box is too short");
		if (st != TS_OK)
			return st;
		st = box_body(p, b, h, h[0] == 1 ? 12 : 8, "a tfdt box is too short");
		if (st != TS_OK)
			return st;
		f->start = h[0] == 1 ? ts_probe_be64(h + 4) : ts_probe_be32(h + 4);
		f->seen_tfdt = true;
		return TS_OK;
	}
	if (strcmp(b->type, "trun") == 0)
		return trun_read(p, b, f);
	return TS_OK;
}

static ts_status moof_visit(struct ts_probe *p, const struct box *b, void *state)
{
	struct fragment *f = state;
	struct clock *c;
	uint64_t end;
	ts_status st;

	if (strcmp(b->type, "traf") != 0)
		return TS_OK;
	f->id = 0, f->default_duration = 0, f->seen_tfdt = false, f->start = 0, f->sum = 0;
	st = children_walk(p, b, traf_visit, f);
	if (st != TS_OK)
		return st;
	c = clock_of(f->m, f->id, false);
	if (!f->seen_tfdt || !c || !c->timescale)
		return TS_OK;   /* no clock for this one: the others may do */
	if (__builtin_add_overflow(f->start, f->sum, &end))
		return ts_probe_corrupt(p, "a fragment's end time overflows");
	if ((double)end / c->timescale > f->end)
		f->end = (double)end / c->timescale;
	return TS_OK;
}

/* A fragmented file whose moov gives no duration (§8.8: mvhd says 0 and
 * there is no mehd): the last moof's tracks end at their tfdt plus their
 * samples' durations.  Only box headers are read on the way there. */
static ts_status last_fragment_time(struct ts_probe *p, uint64_t off, struct movie *m,
                                    double *seconds)
{
	struct box b, last = { 0, 0, 0, "" };
	struct fragment f;
	ts_status st;

	while (p->size - off >= 8) {
		st = box_read(p, off, p->size, &b);
		if (st != TS_OK)
			return st;
		if (strcmp(b.type, "moof") == 0)
			last = b;
		off = b.end;
	}
	*seconds = 0;
	if (last.end == 0)
		return TS_OK;
	memset(&f, 0, sizeof f);
	f.m = m;
	st = children_walk(p, &last, moof_visit, &f);
	if (st != TS_OK)
		return st;
	*seconds = f.end;
	return TS_OK;
}

ts_status ts_probe_mp4(struct ts_probe *p, struct ts_media_info *out)
{
	struct box top = { 0, 0, p->size, "" };
	struct box b;
	struct movie m;
	uint64_t off = 0;
	ts_status st;

	memset(&m, 0, sizeof m);
	/* the top level: seek from header to header until moov */
	for (;;) {
		if (top.end - off < 8)
			return ts_error_set(p->err, TS_EINTERNAL,
			                    "The MP4 file has no moov box (its index), so it is "
			                    "truncated or still being written.");
		st = box_read(p, off, top.end, &b);
		if (st != TS_OK)
			return st;
		if (strcmp(b.type, "moov") == 0)
			break;
		off = b.end;
	}
	st = children_walk(p, &b, moov_visit, &m);
	if (st != TS_OK)
		return st;
	if (!m.seen_mvhd)
		return ts_probe_corrupt(p, "its moov box has no mvhd");
	if (m.timescale == 0)
		return ts_probe_corrupt(p, "its movie timescale is zero");

	*out = m.info;
	if (m.duration)
		out->duration = (double)m.duration / m.timescale;
	else if (m.fragment_duration)
		out->duration = (double)m.fragment_duration / m.timescale;
	else {
		st = last_fragment_time(p, b.end, &m, &out->duration);
		if (st != TS_OK)
			return st;
		if (out->duration <= 0)
			out->duration = m.longest_track;   /* 0: probe.c says so */
	}
	return TS_OK;
}
