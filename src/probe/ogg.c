/*
 * ogg.c - duration (and Theora frame size) of Ogg files, for
 * ts_media_probe (probe.c).
 *
 * An Ogg file is a sequence of pages (RFC 3533 §6): "OggS", version 0, a
 * flags byte, a 64-bit granule position, the stream's serial number, a
 * sequence number, a CRC-32 and a segment table.  Every logical stream
 * starts with a beginning-of-stream page carrying its codec's
 * identification header, and all of those come first (§4).  The granule
 * position is the codec's clock: samples at the stream's rate for Vorbis
 * (Vorbis I §A.2) and FLAC, 48 kHz samples for Opus minus its pre-skip
 * (RFC 7845 §4), and frame counts split at KFGSHIFT for Theora (Theora
 * spec §A.2.3).  So the duration is the last page's granule of each stream,
 * found by reading backwards from the end of the file in a bounded window,
 * and the longest stream wins.  Pages are believed only when their CRC
 * matches, so bytes that happen to spell "OggS" inside a packet are not
 * taken for a page.
 */
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define MAX_STREAMS 8
#define PAGE_HEADER 27
#define MAX_PAGE (PAGE_HEADER + 255 + 255 * 255)
/* How far back from the end we look for the last pages: grown by 4 until
 * every stream's last page is found or the limit is reached. */
#define TAIL_FIRST (64u << 10)
#define TAIL_MAX (1u << 20)

enum codec { CODEC_NONE, CODEC_OPUS, CODEC_VORBIS, CODEC_FLAC, CODEC_THEORA };

struct stream {
	uint32_t serial;
	enum codec codec;
	uint32_t rate;          /* granules per second (Theora: see fps) */
	uint64_t pre_skip;      /* Opus */
	uint32_t fps_num, fps_den;
	unsigned kfgshift;
	bool theora_starts_at_one;
	uint32_t width, height;
	bool found_last;
	uint64_t last_granule;
};

/* RFC 3533 §6: CRC-32, polynomial 0x04c11db7, no reflection, initial 0,
 * computed with the CRC field itself as zeros.  Bitwise: only a handful of
 * pages are checked per probe. */
static uint32_t page_crc(const unsigned char *b, size_t n)
{
	uint32_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (i >= 22 && i < 26) ? 0 : b[i];
		crc ^= (uint32_t)c << 24;
		for (int k = 0; k < 8; k++)
			crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
	}
	return crc;
}

/* If b[0..n) starts with a whole page whose CRC matches, its length. */
static size_t page_check(const unsigned char *b, size_t n)
{
	size_t len, i;

	if (n < PAGE_HEADER || memcmp(b, "OggS", 4) != 0 || b[4] != 0)
		return 0;
	len = PAGE_HEADER + b[26];
	if (n < len)
		return 0;
	for (i = 0; i < b[26]; i++)
		len += b[PAGE_HEADER + i];
	if (n < len || page_crc(b, len) != ts_probe_le32(b + 22))
		return 0;
	return len;
}

/* The identification header that starts a beginning-of-stream page. */
static ts_status ident_parse(struct ts_probe *p, const unsigned char *pk, size_t n,
                             struct stream *s)
{
	if (n >= 19 && memcmp(pk, "OpusHead", 8) == 0) {
		/* RFC 7845 §5.1: version, channels, pre-skip (LE16), input rate */
		s->codec = CODEC_OPUS;
		s->rate = 48000;
		s->pre_skip = ts_probe_le16(pk + 10);
	} else if (n >= 16 && memcmp(pk, "\x01vorbis", 7) == 0) {
		/* Vorbis I §4.2.2: version (4), channels (1), rate (LE32) */
		s->codec = CODEC_VORBIS;
		s->rate = ts_probe_le32(pk + 12);
		if (s->rate == 0)
			return ts_probe_corrupt(p, "its Vorbis sample rate is zero");
	} else if (n >= 13 + 38 && memcmp(pk, "\x7F" "FLAC", 5) == 0 &&
	           memcmp(pk + 9, "fLaC", 4) == 0) {
		/* Ogg FLAC mapping: 0x7F "FLAC", version, header count, "fLaC",
		 * then the STREAMINFO block; its rate is 20 bits at byte 10. */
		const unsigned char *si = pk + 13 + 4;
		s->codec = CODEC_FLAC;
		s->rate = (uint32_t)si[10] << 12 | (uint32_t)si[11] << 4 | si[12] >> 4;
		if (s->rate == 0)
			return ts_probe_corrupt(p, "its FLAC sample rate is zero");
	} else if (n >= 42 && memcmp(pk, "\x80theora", 7) == 0) {
		/* Theora spec §6.2: VMAJ VMIN VREV, FMBW FMBH (16), PICW PICH
		 * (24), PICX PICY, FRN FRD (32), PARN PARD (24), CS, NOMBR (24),
		 * then QUAL (6) KFGSHIFT (5) PF (2) */
		s->codec = CODEC_THEORA;
		s->width = (uint32_t)pk[14] << 16 | (uint32_t)pk[15] << 8 | pk[16];
		s->height = (uint32_t)pk[17] << 16 | (uint32_t)pk[18] << 8 | pk[19];
		s->fps_num = ts_probe_be32(pk + 22);
		s->fps_den = ts_probe_be32(pk + 26);
		s->kfgshift = (unsigned)(ts_probe_be16(pk + 40) >> 5) & 0x1F;
		/* from 3.2.1 on, the granule counts frames from one (§A.2.3) */
		s->theora_starts_at_one = pk[7] > 3 || (pk[7] == 3 && (pk[8] > 2 ||
		                          (pk[8] == 2 && pk[9] >= 1)));
		if (s->fps_num == 0 || s->fps_den == 0)
			return ts_probe_corrupt(p, "its Theora frame rate is zero");
	}
	return TS_OK;
}

/* The beginning-of-stream pages at the start of the file. */
static ts_status heads_read(struct ts_probe *p, struct stream *ss, int *nstreams,
                            unsigned char *buf)
{
	uint64_t off = 0;
	size_t got, len;
	ts_status st;

	*nstreams = 0;
	for (;;) {
		st = ts_probe_read_some(p, off, buf, MAX_PAGE, &got);
		if (st != TS_OK)
			return st;
		if (got == 0)
			break;
		len = page_check(buf, got);
		if (len == 0) {
			if (off == 0)
				return ts_probe_corrupt(p, "its first page is damaged or cut short");
			break;
		}
		if (!(buf[5] & 0x02))
			break;   /* the first page that is not beginning-of-stream */
		if (*nstreams == MAX_STREAMS)
			return ts_probe_corrupt(p, "it has too many streams");
		struct stream *s = &ss[(*nstreams)++];
		memset(s, 0, sizeof *s);
		s->serial = ts_probe_le32(buf + 14);
		/* the first packet: lacing values up to the first below 255 */
		size_t pk = 0, i = 0;
		while (i < buf[26]) {
			pk += buf[PAGE_HEADER + i];
			if (buf[PAGE_HEADER + i++] < 255)
				break;
		}
		st = ident_parse(p, buf + PAGE_HEADER + buf[26], pk, s);
		if (st != TS_OK)
			return st;
		off += len;
	}
	if (*nstreams == 0)
		return ts_probe_corrupt(p, "it has no beginning-of-stream page");
	return TS_OK;
}

/* Scan the last `window` bytes backwards for each stream's last page with
 * a granule position (-1 means no packet ends on that page). */
static ts_status tails_read(struct ts_probe *p, struct stream *ss, int nstreams,
                            size_t window, unsigned char *buf, bool *all)
{
	uint64_t start = p->size > window ? p->size - window : 0;
	size_t n, i, len;
	int k, missing = 0;
	ts_status st;

	st = ts_probe_read(p, start, buf, (size_t)(p->size - start));
	if (st != TS_OK)
		return st;
	n = (size_t)(p->size - start);
	for (k = 0; k < nstreams; k++)
		missing += ss[k].codec != CODEC_NONE && !ss[k].found_last;
	for (i = n >= PAGE_HEADER ? n - PAGE_HEADER + 1 : 0; i-- > 0 && missing > 0;) {
		if (buf[i] != 'O' || (len = page_check(buf + i, n - i)) == 0)
			continue;
		uint64_t granule = ts_probe_le64(buf + i + 6);
		uint32_t serial = ts_probe_le32(buf + i + 14);
		if (granule == UINT64_MAX)
			continue;
		for (k = 0; k < nstreams; k++)
			if (ss[k].serial == serial && ss[k].codec != CODEC_NONE && !ss[k].found_last) {
				ss[k].found_last = true;
				ss[k].last_granule = granule;
				missing--;
			}
	}
	*all = missing == 0;
	return TS_OK;
}

/* One stream's duration in seconds, or a negative number if its clock
 * is unknown. */
static double stream_seconds(const struct stream *s)
{
	if (!s->found_last)
		return -1;
	if (s->codec == CODEC_THEORA) {
		uint64_t g = s->last_granule;
		uint64_t frames = (g >> s->kfgshift) + (g & ((1ull << s->kfgshift) - 1));
		if (!s->theora_starts_at_one)
			frames++;
		return (double)frames * s->fps_den / s->fps_num;
	}
	if ((int64_t)s->last_granule < 0)
		return -1;
	if (s->last_granule <= s->pre_skip)
		return 0;
	return (double)(s->last_granule - s->pre_skip) / s->rate;
}

ts_status ts_probe_ogg(struct ts_probe *p, struct ts_media_info *out)
{
	struct stream ss[MAX_STREAMS];
	int nstreams, k;
	unsigned char *buf;
	size_t window;
	bool all = false, known = false;
	double longest = 0;
	ts_status st;

	buf = malloc(TAIL_MAX > MAX_PAGE ? TAIL_MAX : MAX_PAGE);
	if (!buf)
		return ts_error_set(p->err, TS_EINTERNAL, "Out of memory probing an Ogg file.");
	st = heads_read(p, ss, &nstreams, buf);
	if (st != TS_OK)
		goto fail;
	for (k = 0; k < nstreams; k++)
		known |= ss[k].codec != CODEC_NONE;
	if (!known) {
		st = ts_error_set(p->err, TS_EINTERNAL,
		                  "The Ogg file holds no Opus, Vorbis, FLAC or Theora stream.");
		goto fail;
	}
	for (window = TAIL_FIRST; ; window *= 4) {
		st = tails_read(p, ss, nstreams, window, buf, &all);
		if (st != TS_OK)
			goto fail;
		if (all || window >= TAIL_MAX || window >= p->size)
			break;
	}

	memset(out, 0, sizeof *out);
	for (k = 0; k < nstreams; k++) {
		double d = stream_seconds(&ss[k]);
		if (ss[k].codec == CODEC_NONE)
			continue;
		if (d > longest)
			longest = d;
		if (ss[k].codec == CODEC_THEORA && !out->has_video) {
			out->has_video = true;
			out->width = ss[k].width;
			out->height = ss[k].height;
		} else if (ss[k].codec != CODEC_THEORA) {
			out->has_audio = true;
		}
	}
	if (longest <= 0) {
		st = ts_probe_corrupt(p, "no page near its end gives a granule position");
		goto fail;
	}
	out->duration = longest;
	free(buf);
	return TS_OK;
fail:
	free(buf);
	return st;
}
