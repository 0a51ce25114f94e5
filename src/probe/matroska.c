/*
 * matroska.c - duration and frame size of WebM and Matroska files, for
 * ts_media_probe (probe.c).
 *
 * The file is EBML (RFC 8794): elements of a variable-length ID and a
 * variable-length size (§4), an all-ones size meaning "unknown" (§6.2).
 * The EBML header's DocType must be "webm" or "matroska"; then the Segment
 * (RFC 9559 §5.1) holds Info (TimestampScale, default 1000000 ns, and
 * Duration, a float in those units, §5.1.2) and Tracks (TrackEntry >
 * TrackType 1 video / 2 audio, Video > PixelWidth, PixelHeight, §5.1.4).
 * We walk the Segment's children by seeking from header to header and read
 * only Info, Tracks and SeekHead whole (they are small); Clusters, the media
 * itself, are skipped unread, and the walk stops at the first Cluster once
 * Info and Tracks are known, or at a Cluster of unknown size (a live
 * stream), after which the SeekHead's positions are the last resort.  A
 * file without Duration (a streamed recording) is an error telling the
 * operator to give the duration in the sidecar: we do not guess one.
 */
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define ID_EBML            0x1A45DFA3u
#define ID_DOCTYPE         0x4282u
#define ID_SEGMENT         0x18538067u
#define ID_SEEKHEAD        0x114D9B74u
#define ID_SEEK            0x4DBBu
#define ID_SEEKID          0x53ABu
#define ID_SEEKPOSITION    0x53ACu
#define ID_INFO            0x1549A966u
#define ID_TIMESTAMPSCALE  0x2AD7B1u
#define ID_DURATION        0x4489u
#define ID_TRACKS          0x1654AE6Bu
#define ID_TRACKENTRY      0xAEu
#define ID_TRACKTYPE       0x83u
#define ID_VIDEO           0xE0u
#define ID_PIXELWIDTH      0xB0u
#define ID_PIXELHEIGHT     0xBAu
#define ID_CLUSTER         0x1F43B675u

#define UNKNOWN_SIZE UINT64_MAX

/* The most of one Info, Tracks or SeekHead we read (Tracks carries codec
 * private data, a few KB for Vorbis; the whole probe is bounded anyway). */
#define MAX_MASTER (1u << 20)

/* An element header parsed from b[0..n): false when it is not one. */
static bool header_parse(const unsigned char *b, size_t n, uint32_t *id, uint64_t *size,
                         size_t *len)
{
	unsigned idlen, szlen, i;
	uint64_t v, all_ones;

	if (n < 1 || b[0] == 0)
		return false;
	idlen = (unsigned)__builtin_clz((unsigned)b[0] << 24) + 1;
	if (idlen > 4 || n < idlen + 1u)
		return false;
	*id = 0;
	for (i = 0; i < idlen; i++)
		*id = *id << 8 | b[i];
	if (b[idlen] == 0)
		return false;
	szlen = (unsigned)__builtin_clz((unsigned)b[idlen] << 24) + 1;
	if (n < idlen + szlen)
		return false;
	v = b[idlen] & (0xFFu >> szlen);
	for (i = 1; i < szlen; i++)
		v = v << 8 | b[idlen + i];
	all_ones = (1ull << (7 * szlen)) - 1;
	*size = v == all_ones ? UNKNOWN_SIZE : v;
	*len = idlen + szlen;
	return true;
}

/* One element inside a buffer already read. */
struct el {
	uint32_t id;
	uint64_t size;
	const unsigned char *body;
};

/* The element at *pos (before end); advances *pos past it.  An unknown size
 * inside a buffer runs to the buffer's end. */
static ts_status el_next(struct ts_probe *p, const unsigned char **pos,
                         const unsigned char *end, struct el *e)
{
	size_t len;

	if (!header_parse(*pos, (size_t)(end - *pos), &e->id, &e->size, &len))
		return ts_probe_corrupt(p, "an element header is malformed");
	e->body = *pos + len;
	if (e->size == UNKNOWN_SIZE)
		e->size = (uint64_t)(end - e->body);
	if (e->size > (uint64_t)(end - e->body))
		return ts_probe_corrupt(p, "an element runs past its parent");
	*pos = e->body + e->size;
	return TS_OK;
}

static ts_status el_uint(struct ts_probe *p, const struct el *e, uint64_t *v)
{
	if (e->size > 8)
		return ts_probe_corrupt(p, "an integer element is longer than 8 bytes");
	*v = 0;
	for (uint64_t i = 0; i < e->size; i++)
		*v = *v << 8 | e->body[i];
	return TS_OK;
}

static ts_status el_float(struct ts_probe *p, const struct el *e, double *v)
{
	if (e->size == 4) {
		uint32_t u = ts_probe_be32(e->body);
		float f;
		memcpy(&f, &u, sizeof f);
		*v = f;
	} else if (e->size == 8) {
		uint64_t u = ts_probe_be64(e->body);
		memcpy(v, &u, sizeof *v);
	} else if (e->size == 0) {
		*v = 0;
	} else {
		return ts_probe_corrupt(p, "a float element is neither 4 nor 8 bytes");
	}
	return TS_OK;
}

/* What the Segment told us so far. */
struct segment {
	bool seen_info, seen_tracks;
	bool seen_duration;
	uint64_t timestamp_scale;
	double duration;              /* in TimestampScale units */
	uint64_t info_at, tracks_at;  /* SeekHead positions, 0 = none */
	struct ts_media_info info;
};

static ts_status info_parse(struct ts_probe *p, const unsigned char *b, size_t n,
                            struct segment *s)
{
	const unsigned char *pos = b, *end = b + n;
	struct el e;
	ts_status st;

	s->seen_info = true;
	while (pos < end) {
		st = el_next(p, &pos, end, &e);
		if (st != TS_OK)
			return st;
		if (e.id == ID_TIMESTAMPSCALE) {
			st = el_uint(p, &e, &s->timestamp_scale);
			if (st != TS_OK)
				return st;
			if (s->timestamp_scale == 0)
				return ts_probe_corrupt(p, "its TimestampScale is zero");
		} else if (e.id == ID_DURATION) {
			st = el_float(p, &e, &s->duration);
			if (st != TS_OK)
				return st;
			s->seen_duration = e.size > 0;
		}
	}
	return TS_OK;
}

static ts_status entry_parse(struct ts_probe *p, const struct el *entry, struct segment *s)
{
	const unsigned char *pos = entry->body, *end = entry->body + entry->size;
	uint64_t type = 0, w = 0, h = 0;
	struct el e, v;
	ts_status st;

	while (pos < end) {
		st = el_next(p, &pos, end, &e);
		if (st != TS_OK)
			return st;
		if (e.id == ID_TRACKTYPE) {
			st = el_uint(p, &e, &type);
		} else if (e.id == ID_VIDEO) {
			const unsigned char *vp = e.body, *vend = e.body + e.size;
			while (vp < vend) {
				st = el_next(p, &vp, vend, &v);
				if (st != TS_OK)
					return st;
				if (v.id == ID_PIXELWIDTH)
					st = el_uint(p, &v, &w);
				else if (v.id == ID_PIXELHEIGHT)
					st = el_uint(p, &v, &h);
				if (st != TS_OK)
					return st;
			}
		}
		if (st != TS_OK)
			return st;
	}
	if (type == 2)
		s->info.has_audio = true;
	if (type == 1 && !s->info.has_video) {
		if (w > UINT32_MAX || h > UINT32_MAX)
			return ts_probe_corrupt(p, "a video track's frame size is out of range");
		s->info.has_video = true;
		s->info.width = (uint32_t)w;
		s->info.height = (uint32_t)h;
	}
	return TS_OK;
}

static ts_status tracks_parse(struct ts_probe *p, const unsigned char *b, size_t n,
                              struct segment *s)
{
	const unsigned char *pos = b, *end = b + n;
	struct el e;
	ts_status st;

	s->seen_tracks = true;
	while (pos < end) {
		st = el_next(p, &pos, end, &e);
		if (st != TS_OK)
			return st;
		if (e.id == ID_TRACKENTRY) {
			st = entry_parse(p, &e, s);
			if (st != TS_OK)
				return st;
		}
	}
	return TS_OK;
}

/* SeekHead (§5.1.1): where Info and Tracks are, relative to the Segment's
 * body, for files that put them after a Cluster. */
static ts_status seekhead_parse(struct ts_probe *p, const unsigned char *b, size_t n,
                                struct segment *s)
{
	const unsigned char *pos = b, *end = b + n;
	struct el e, f;
	ts_status st;

	while (pos < end) {
		st = el_next(p, &pos, end, &e);
		if (st != TS_OK)
			return st;
		if (e.id != ID_SEEK)
			continue;
		const unsigned char *fp = e.body, *fend = e.body + e.size;
		uint64_t id = 0, at = 0;
		while (fp < fend) {
			st = el_next(p, &fp, fend, &f);
			if (st != TS_OK)
				return st;
			if (f.id == ID_SEEKID)
				st = el_uint(p, &f, &id);
			else if (f.id == ID_SEEKPOSITION)
				st = el_uint(p, &f, &at);
			if (st != TS_OK)
				return st;
		}
		if (id == ID_INFO && !s->info_at)
			s->info_at = at;
		else if (id == ID_TRACKS && !s->tracks_at)
			s->tracks_at = at;
	}
	return TS_OK;
}

/* The element header at off (inside [off, end)), from the file. */
static ts_status header_read(struct ts_probe *p, uint64_t off, uint64_t end, uint32_t *id,
                             uint64_t *size, uint64_t *body)
{
	unsigned char h[12];
	size_t got, len;
	uint64_t n = end - off < sizeof h ? end - off : sizeof h;
	ts_status st;

	st = ts_probe_read_some(p, off, h, (size_t)n, &got);
	if (st != TS_OK)
		return st;
	if (!header_parse(h, got, id, size, &len))
		return ts_probe_corrupt(p, "an element header is malformed or cut short");
	*body = off + len;
	if (*size != UNKNOWN_SIZE && *size > end - *body)
		return ts_probe_corrupt(p, "an element runs past the end of the file or its parent");
	return TS_OK;
}

/* Read the body of a master element whole and parse it. */
typedef ts_status (*master_fn)(struct ts_probe *, const unsigned char *, size_t,
                               struct segment *);

static ts_status master_read(struct ts_probe *p, uint64_t body, uint64_t size,
                             master_fn parse, struct segment *s)
{
	unsigned char *buf;
	ts_status st;

	if (size == UNKNOWN_SIZE || size > MAX_MASTER)
		return ts_probe_corrupt(p, "an Info, Tracks or SeekHead element is of unknown or "
		                           "implausible size");
	buf = malloc(size ? (size_t)size : 1);
	if (!buf)
		return ts_error_set(p->err, TS_EINTERNAL, "Out of memory probing a WebM file.");
	st = ts_probe_read(p, body, buf, (size_t)size);
	if (st == TS_OK)
		st = parse(p, buf, (size_t)size, s);
	free(buf);
	return st;
}

/* Visit the master element at off if it is Info or Tracks (used for the
 * SeekHead's positions). */
static ts_status seek_visit(struct ts_probe *p, uint64_t off, uint64_t end, uint32_t want,
                            struct segment *s)
{
	uint32_t id;
	uint64_t size, body;
	ts_status st;

	if (off >= end || end - off < 2)
		return ts_probe_corrupt(p, "a SeekHead position is past the end of the Segment");
	st = header_read(p, off, end, &id, &size, &body);
	if (st != TS_OK)
		return st;
	if (id != want)
		return ts_probe_corrupt(p, "a SeekHead position does not point at its element");
	return master_read(p, body, size, want == ID_INFO ? info_parse : tracks_parse, s);
}

/* The EBML header (RFC 8794 §11.2): DocType must be webm or matroska. */
static ts_status ebml_header_check(struct ts_probe *p, uint64_t *next)
{
	uint32_t id;
	uint64_t size, body;
	unsigned char buf[512];
	const unsigned char *pos, *end;
	struct el e;
	bool ok = false;
	ts_status st;

	st = header_read(p, 0, p->size, &id, &size, &body);
	if (st != TS_OK)
		return st;
	if (id != ID_EBML || size == UNKNOWN_SIZE || size > sizeof buf)
		return ts_probe_corrupt(p, "its EBML header is malformed");
	st = ts_probe_read(p, body, buf, (size_t)size);
	if (st != TS_OK)
		return st;
	pos = buf, end = buf + size;
	while (pos < end) {
		st = el_next(p, &pos, end, &e);
		if (st != TS_OK)
			return st;
		if (e.id == ID_DOCTYPE) {
			size_t n = (size_t)e.size;
			while (n && e.body[n - 1] == '\0')
				n--;   /* strings may be padded with NULs (§7.4) */
			ok = (n == 4 && memcmp(e.body, "webm", 4) == 0) ||
			     (n == 8 && memcmp(e.body, "matroska", 8) == 0);
		}
	}
	if (!ok)
		return ts_error_set(p->err, TS_EINTERNAL,
		                    "The file is EBML but not WebM or Matroska (its DocType).");
	*next = body + size;
	return TS_OK;
}

ts_status ts_probe_matroska(struct ts_probe *p, struct ts_media_info *out)
{
	struct segment s;
	uint64_t off = 0, seg_body, seg_end, size, body;
	uint32_t id;
	ts_status st;

	memset(&s, 0, sizeof s);
	s.timestamp_scale = 1000000;
	st = ebml_header_check(p, &off);
	if (st != TS_OK)
		return st;

	/* the Segment, after anything else at the top level (Void, CRC) */
	for (;;) {
		if (p->size - off < 2)
			return ts_probe_corrupt(p, "it has no Segment");
		st = header_read(p, off, p->size, &id, &size, &body);
		if (st != TS_OK)
			return st;
		if (id == ID_SEGMENT)
			break;
		if (size == UNKNOWN_SIZE)
			return ts_probe_corrupt(p, "it has no Segment");
		off = body + size;
	}
	seg_body = body;
	seg_end = size == UNKNOWN_SIZE ? p->size : body + size;

	/* the Segment's children, header to header */
	off = seg_body;
	while (!(s.seen_info && s.seen_tracks) && seg_end - off >= 2) {
		st = header_read(p, off, seg_end, &id, &size, &body);
		if (st != TS_OK)
			return st;
		if (size == UNKNOWN_SIZE)
			break;   /* a live Cluster: nothing after it can be found by seeking */
		if (id == ID_INFO)
			st = master_read(p, body, size, info_parse, &s);
		else if (id == ID_TRACKS)
			st = master_read(p, body, size, tracks_parse, &s);
		else if (id == ID_SEEKHEAD && !s.info_at && !s.tracks_at)
			st = master_read(p, body, size, seekhead_parse, &s);
		if (st != TS_OK)
			return st;
		off = body + size;
	}
	if (!s.seen_info && s.info_at) {
		if (s.info_at > seg_end - seg_body)
			return ts_probe_corrupt(p, "a SeekHead position is past the end of the Segment");
		st = seek_visit(p, seg_body + s.info_at, seg_end, ID_INFO, &s);
		if (st != TS_OK)
			return st;
	}
	if (!s.seen_tracks && s.tracks_at) {
		if (s.tracks_at > seg_end - seg_body)
			return ts_probe_corrupt(p, "a SeekHead position is past the end of the Segment");
		st = seek_visit(p, seg_body + s.tracks_at, seg_end, ID_TRACKS, &s);
		if (st != TS_OK)
			return st;
	}
	if (!s.seen_info)
		return ts_probe_corrupt(p, "its Segment has no Info");
	if (!s.seen_tracks)
		return ts_probe_corrupt(p, "its Segment has no Tracks");
	if (!s.seen_duration)
		return ts_error_set(p->err, TS_EINTERNAL,
		                    "The WebM file has no Duration (it was recorded as a stream); "
		                    "give the duration in the item's sidecar.");

	*out = s.info;
	/* Duration counts TimestampScale nanoseconds (§5.1.2.1) */
	out->duration = s.duration * (double)s.timestamp_scale / 1e9;
	return TS_OK;
}
