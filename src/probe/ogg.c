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
_Static_assert(TAIL_MAX >= MAX_PAGE, "the tail buffer holds the first pages too");

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

/* The most bytes one probe runs through the CRC: a file made of
 * candidate page headers must not cost minutes of checksums. */
#define CRC_BUDGET (16u << 20)

/* RFC 3533 §6: CRC-32, polynomial 0x04c11db7, not reflected, initial 0,
 * no final xor, computed with the CRC field itself as zeros.  crc_table[i]
 * is i << 24 run through eight steps of the polynomial division. */
static const uint32_t crc_table[256] = {
	0x00000000, 0x04C11DB7, 0x09823B6E, 0x0D4326D9, 0x130476DC, 0x17C56B6B,
	0x1A864DB2, 0x1E475005, 0x2608EDB8, 0x22C9F00F, 0x2F8AD6D6, 0x2B4BCB61,
	0x350C9B64, 0x31CD86D3, 0x3C8EA00A, 0x384FBDBD, 0x4C11DB70, 0x48D0C6C7,
	0x4593E01E, 0x4152FDA9, 0x5F15ADAC, 0x5BD4B01B, 0x569796C2, 0x52568B75,
	0x6A1936C8, 0x6ED82B7F, 0x639B0DA6, 0x675A1011, 0x791D4014, 0x7DDC5DA3,
	0x709F7B7A, 0x745E66CD, 0x9823B6E0, 0x9CE2AB57, 0x91A18D8E, 0x95609039,
	0x8B27C03C, 0x8FE6DD8B, 0x82A5FB52, 0x8664E6E5, 0xBE2B5B58, 0xBAEA46EF,
	0xB7A96036, 0xB3687D81, 0xAD2F2D84, 0xA9EE3033, 0xA4AD16EA, 0xA06C0B5D,
	0xD4326D90, 0xD0F37027, 0xDDB056FE, 0xD9714B49, 0xC7361B4C, 0xC3F706FB,
	0xCEB42022, 0xCA753D95, 0xF23A8028, 0xF6FB9D9F, 0xFBB8BB46, 0xFF79A6F1,
	0xE13EF6F4, 0xE5FFEB43, 0xE8BCCD9A, 0xEC7DD02D, 0x34867077, 0x30476DC0,
	0x3D044B19, 0x39C556AE, 0x278206AB, 0x23431B1C, 0x2E003DC5, 0x2AC12072,
	0x128E9DCF, 0x164F8078, 0x1B0CA6A1, 0x1FCDBB16, 0x018AEB13, 0x054BF6A4,
	0x0808D07D, 0x0CC9CDCA, 0x7897AB07, 0x7C56B6B0, 0x71159069, 0x75D48DDE,
	0x6B93DDDB, 0x6F52C06C, 0x6211E6B5, 0x66D0FB02, 0x5E9F46BF, 0x5A5E5B08,
	0x571D7DD1, 0x53DC6066, 0x4D9B3063, 0x495A2DD4, 0x44190B0D, 0x40D816BA,
	0xACA5C697, 0xA864DB20, 0xA527FDF9, 0xA1E6E04E, 0xBFA1B04B, 0xBB60ADFC,
	0xB6238B25, 0xB2E29692, 0x8AAD2B2F, 0x8E6C3698, 0x832F1041, 0x87EE0DF6,
	0x99A95DF3, 0x9D684044, 0x902B669D, 0x94EA7B2A, 0xE0B41DE7, 0xE4750050,
	0xE9362689, 0xEDF73B3E, 0xF3B06B3B, 0xF771768C, 0xFA325055, 0xFEF34DE2,
	0xC6BCF05F, 0xC27DEDE8, 0xCF3ECB31, 0xCBFFD686, 0xD5B88683, 0xD1799B34,
	0xDC3ABDED, 0xD8FBA05A, 0x690CE0EE, 0x6DCDFD59, 0x608EDB80, 0x644FC637,
	0x7A089632, 0x7EC98B85, 0x738AAD5C, 0x774BB0EB, 0x4F040D56, 0x4BC510E1,
	0x46863638, 0x42472B8F, 0x5C007B8A, 0x58C1663D, 0x558240E4, 0x51435D53,
	0x251D3B9E, 0x21DC2629, 0x2C9F00F0, 0x285E1D47, 0x36194D42, 0x32D850F5,
	0x3F9B762C, 0x3B5A6B9B, 0x0315D626, 0x07D4CB91, 0x0A97ED48, 0x0E56F0FF,
	0x1011A0FA, 0x14D0BD4D, 0x19939B94, 0x1D528623, 0xF12F560E, 0xF5EE4BB9,
	0xF8AD6D60, 0xFC6C70D7, 0xE22B20D2, 0xE6EA3D65, 0xEBA91BBC, 0xEF68060B,
	0xD727BBB6, 0xD3E6A601, 0xDEA580D8, 0xDA649D6F, 0xC423CD6A, 0xC0E2D0DD,
	0xCDA1F604, 0xC960EBB3, 0xBD3E8D7E, 0xB9FF90C9, 0xB4BCB610, 0xB07DABA7,
	0xAE3AFBA2, 0xAAFBE615, 0xA7B8C0CC, 0xA379DD7B, 0x9B3660C6, 0x9FF77D71,
	0x92B45BA8, 0x9675461F, 0x8832161A, 0x8CF30BAD, 0x81B02D74, 0x857130C3,
	0x5D8A9099, 0x594B8D2E, 0x5408ABF7, 0x50C9B640, 0x4E8EE645, 0x4A4FFBF2,
	0x470CDD2B, 0x43CDC09C, 0x7B827D21, 0x7F436096, 0x7200464F, 0x76C15BF8,
	0x68860BFD, 0x6C47164A, 0x61043093, 0x65C52D24, 0x119B4BE9, 0x155A565E,
	0x18197087, 0x1CD86D30, 0x029F3D35, 0x065E2082, 0x0B1D065B, 0x0FDC1BEC,
	0x3793A651, 0x3352BBE6, 0x3E119D3F, 0x3AD08088, 0x2497D08D, 0x2056CD3A,
	0x2D15EBE3, 0x29D4F654, 0xC5A92679, 0xC1683BCE, 0xCC2B1D17, 0xC8EA00A0,
	0xD6AD50A5, 0xD26C4D12, 0xDF2F6BCB, 0xDBEE767C, 0xE3A1CBC1, 0xE760D676,
	0xEA23F0AF, 0xEEE2ED18, 0xF0A5BD1D, 0xF464A0AA, 0xF9278673, 0xFDE69BC4,
	0x89B8FD09, 0x8D79E0BE, 0x803AC667, 0x84FBDBD0, 0x9ABC8BD5, 0x9E7D9662,
	0x933EB0BB, 0x97FFAD0C, 0xAFB010B1, 0xAB710D06, 0xA6322BDF, 0xA2F33668,
	0xBCB4666D, 0xB8757BDA, 0xB5365D03, 0xB1F740B4,
};

static uint32_t page_crc(const unsigned char *b, size_t n)
{
	uint32_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (i >= 22 && i < 26) ? 0 : b[i];
		crc = crc << 8 ^ crc_table[(crc >> 24 ^ c) & 0xFF];
	}
	return crc;
}

/* If b[0..n) starts with a whole page whose CRC matches, its length; 0
 * otherwise, or when *crc_left (the bytes we still may checksum) runs out. */
static size_t page_check(const unsigned char *b, size_t n, uint64_t *crc_left)
{
	size_t len, i;

	if (n < PAGE_HEADER || memcmp(b, "OggS", 4) != 0 || b[4] != 0)
		return 0;
	len = PAGE_HEADER + b[26];
	if (n < len)
		return 0;
	for (i = 0; i < b[26]; i++)
		len += b[PAGE_HEADER + i];
	if (n < len)
		return 0;
	if (len > *crc_left) {
		*crc_left = 0;   /* spent: the callers stop looking */
		return 0;
	}
	*crc_left -= len;
	if (page_crc(b, len) != ts_probe_le32(b + 22))
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
                            unsigned char *buf, size_t cap, uint64_t *crc_left)
{
	uint64_t off = 0;
	size_t got, len;
	ts_status st;

	*nstreams = 0;
	for (;;) {
		st = ts_probe_read_some(p, off, buf, cap < MAX_PAGE ? cap : MAX_PAGE, &got);
		if (st != TS_OK)
			return st;
		if (got == 0)
			break;
		len = page_check(buf, got, crc_left);
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
                            size_t window, unsigned char *buf, uint64_t *crc_left, bool *all)
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
	for (i = n >= PAGE_HEADER ? n - PAGE_HEADER + 1 : 0; i-- > 0 && missing > 0 && *crc_left > 0;) {
		if (buf[i] != 'O' || (len = page_check(buf + i, n - i, crc_left)) == 0)
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
	size_t window, cap;
	bool all = false, known = false;
	uint64_t crc_left = CRC_BUDGET;
	double longest = 0;
	ts_status st;

	/* room for the largest tail window, or the whole of a smaller file */
	cap = p->size < TAIL_MAX ? (size_t)p->size : TAIL_MAX;
	buf = malloc(cap ? cap : 1);
	if (!buf)
		return ts_error_set(p->err, TS_EINTERNAL, "Out of memory probing an Ogg file.");
	st = heads_read(p, ss, &nstreams, buf, cap, &crc_left);
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
		st = tails_read(p, ss, nstreams, window, buf, &crc_left, &all);
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
