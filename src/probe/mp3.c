/*
 * mp3.c - duration of MP3 files (MPEG-1, -2 and 2.5 audio layer III), for
 * ts_media_probe (probe.c).
 *
 * An MP3 file is a run of frames with no index, so the duration comes from
 * one of three places.  First ID3v2 tags are skipped (ID3v2.4 §3.1: a
 * 28-bit "syncsafe" size, plus 10 bytes when the footer flag is set), then
 * the first frame header is found (ISO/IEC 11172-3 §2.4.1.3; a candidate
 * counts only if the next frame's header follows where its length says).
 * That first frame may be a Xing/Info frame (the LAME convention: "Xing" or
 * "Info" after the side information, a flags word, and the frame count) or
 * a VBRI frame (Fraunhofer: "VBRI" 32 bytes after the header), which give
 * the number of frames, and each frame holds 1152 samples (MPEG-1) or 576
 * (MPEG-2 and 2.5).  Otherwise the file is constant bit rate and the audio
 * bytes divided by the bit rate give the duration; the ID3v1 and APE tags
 * at the end of the file are left out of the audio bytes.
 */
#include <string.h>

#include "probe.h"

/* How far past the tags we look for the first frame (encoders pad). */
#define SYNC_WINDOW (64u << 10)
#define MAX_ID3_TAGS 16

struct frame {
	unsigned mpeg1;        /* 1 for MPEG-1, 0 for 2 and 2.5 */
	unsigned version;      /* the two version bits, kept to compare frames */
	uint32_t rate;         /* Hz */
	uint32_t kbps;
	uint32_t len;          /* bytes, header included */
	uint32_t samples;      /* per frame */
	bool mono;
};

/* A layer III frame header (§2.4.1.3), or false. */
static bool frame_parse(const unsigned char *h, struct frame *f)
{
	static const uint16_t kbps1[16] = { 0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192,
	                                    224, 256, 320, 0 };
	static const uint16_t kbps2[16] = { 0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128,
	                                    144, 160, 0 };
	static const uint32_t rates[4][3] = {
		{ 11025, 12000, 8000 },    /* MPEG-2.5 */
		{ 0, 0, 0 },               /* reserved */
		{ 22050, 24000, 16000 },   /* MPEG-2 */
		{ 44100, 48000, 32000 },   /* MPEG-1 */
	};
	unsigned ver, layer, bri, sri, pad;

	if (h[0] != 0xFF || (h[1] & 0xE0) != 0xE0)
		return false;
	ver = (h[1] >> 3) & 3;
	layer = (h[1] >> 1) & 3;
	bri = h[2] >> 4;
	sri = (h[2] >> 2) & 3;
	pad = (h[2] >> 1) & 1;
	if (ver == 1 || layer != 1 || bri == 0 || bri == 15 || sri == 3 || (h[3] & 3) == 2)
		return false;   /* reserved values, layers I/II, free format */
	f->version = ver;
	f->mpeg1 = ver == 3;
	f->rate = rates[ver][sri];
	f->kbps = f->mpeg1 ? kbps1[bri] : kbps2[bri];
	f->samples = f->mpeg1 ? 1152 : 576;
	f->len = (f->mpeg1 ? 144000 : 72000) * f->kbps / f->rate + pad;
	f->mono = (h[3] >> 6) == 3;
	return true;
}

ts_status ts_probe_id3v2_skip(struct ts_probe *p, uint64_t off, uint64_t *end)
{
	unsigned char h[10];
	size_t got;
	int n;
	ts_status st;

	for (n = 0; n < MAX_ID3_TAGS; n++) {
		st = ts_probe_read_some(p, off, h, sizeof h, &got);
		if (st != TS_OK)
			return st;
		if (got < sizeof h || memcmp(h, "ID3", 3) != 0)
			break;
		if (h[3] == 0xFF || h[4] == 0xFF || ((h[6] | h[7] | h[8] | h[9]) & 0x80))
			return ts_probe_corrupt(p, "its ID3v2 tag header is malformed");
		uint64_t size = (uint64_t)h[6] << 21 | h[7] << 14 | h[8] << 7 | h[9];
		size += 10 + ((h[5] & 0x10) ? 10 : 0);   /* header, footer */
		if (size > p->size - off)
			return ts_probe_corrupt(p, "its ID3v2 tag runs past the end of the file");
		off += size;
	}
	*end = off;
	return TS_OK;
}

/* Where the audio ends: before an ID3v1 tag ("TAG", the last 128 bytes)
 * and an APE tag (a 32-byte footer "APETAGEX" whose size counts the items
 * and the footer, plus a 32-byte header when flag bit 31 says so). */
static ts_status tail_tags_skip(struct ts_probe *p, uint64_t start, uint64_t *end)
{
	unsigned char t[32];
	uint64_t e = p->size;
	ts_status st;

	if (e - start >= 128) {
		st = ts_probe_read(p, e - 128, t, 3);
		if (st != TS_OK)
			return st;
		if (memcmp(t, "TAG", 3) == 0)
			e -= 128;
	}
	if (e - start >= 32) {
		st = ts_probe_read(p, e - 32, t, 32);
		if (st != TS_OK)
			return st;
		if (memcmp(t, "APETAGEX", 8) == 0) {
			uint64_t size = ts_probe_le32(t + 12);
			if (ts_probe_le32(t + 20) & 0x80000000u)
				size += 32;
			if (size > e - start)
				return ts_probe_corrupt(p, "its APE tag is larger than the file");
			e -= size;
		}
	}
	*end = e;
	return TS_OK;
}

/* The first frame at or after off whose successor follows it (or which
 * ends the audio). */
static ts_status first_frame_find(struct ts_probe *p, uint64_t off, uint64_t end,
                                  uint64_t *at, struct frame *f)
{
	unsigned char buf[4096 + 4], nh[4];
	uint64_t pos = off, stop = end - off > SYNC_WINDOW ? off + SYNC_WINDOW : end;
	size_t got, i;
	struct frame g;
	ts_status st;

	while (pos < stop) {
		st = ts_probe_read_some(p, pos, buf, sizeof buf, &got);
		if (st != TS_OK)
			return st;
		if (got < 4)
			break;
		for (i = 0; i + 4 <= got && pos + i < stop; i++) {
			if (!frame_parse(buf + i, f))
				continue;
			uint64_t next = pos + i + f->len;
			if (next > end)
				continue;
			if (end - next >= 4) {
				if (next + 4 <= pos + got)
					memcpy(nh, buf + (next - pos), 4);
				else if ((st = ts_probe_read(p, next, nh, 4)) != TS_OK)
					return st;
				if (!frame_parse(nh, &g) || g.version != f->version || g.rate != f->rate)
					continue;
			}
			*at = pos + i;
			return TS_OK;
		}
		pos += got - 3;   /* a header may straddle two reads */
	}
	return ts_error_set(p->err, TS_EINTERNAL,
	                    "The MP3 file has no MPEG audio layer III frame near its start.");
}

/* The frame count of a Xing/Info or VBRI first frame, 0 when there is none. */
static ts_status vbr_frames(struct ts_probe *p, uint64_t at, const struct frame *f,
                            uint64_t end, bool *tagged, uint32_t *frames)
{
	unsigned char b[64];
	size_t side = f->mpeg1 ? (f->mono ? 17 : 32) : (f->mono ? 9 : 17);
	size_t n = f->len < sizeof b ? f->len : sizeof b;
	ts_status st;

	*tagged = false;
	*frames = 0;
	if (end - at < n)
		n = (size_t)(end - at);
	st = ts_probe_read(p, at, b, n);
	if (st != TS_OK)
		return st;
	if (n >= 4 + side + 12 && (memcmp(b + 4 + side, "Xing", 4) == 0 ||
	                           memcmp(b + 4 + side, "Info", 4) == 0)) {
		*tagged = true;
		if (ts_probe_be32(b + 4 + side + 4) & 1)
			*frames = ts_probe_be32(b + 4 + side + 8);
	} else if (n >= 36 + 18 && memcmp(b + 36, "VBRI", 4) == 0) {
		/* "VBRI", version, delay, quality, bytes, frames */
		*tagged = true;
		*frames = ts_probe_be32(b + 36 + 14);
	}
	return TS_OK;
}

ts_status ts_probe_mp3(struct ts_probe *p, struct ts_media_info *out)
{
	uint64_t start = 0, end = 0, at = 0;
	uint32_t frames;
	struct frame f;
	bool tagged;
	ts_status st;

	st = ts_probe_id3v2_skip(p, 0, &start);
	if (st != TS_OK)
		return st;
	st = tail_tags_skip(p, start, &end);
	if (st != TS_OK)
		return st;
	st = first_frame_find(p, start, end, &at, &f);
	if (st != TS_OK)
		return st;
	st = vbr_frames(p, at, &f, end, &tagged, &frames);
	if (st != TS_OK)
		return st;

	memset(out, 0, sizeof *out);
	out->has_audio = true;
	if (frames) {
		out->duration = (double)frames * f.samples / f.rate;
		return TS_OK;
	}
	if (tagged) {
		/* a tag without a count: the frame after it gives the bit rate */
		uint64_t next = at + f.len;
		unsigned char h[4];
		if (end - at < f.len + 4u)
			return ts_probe_corrupt(p, "it has no audio frame after its Xing frame");
		st = ts_probe_read(p, next, h, 4);
		if (st != TS_OK)
			return st;
		if (!frame_parse(h, &f))
			return ts_probe_corrupt(p, "the frame after its Xing frame is malformed");
		at = next;
	}
	/* constant bit rate: kbit/s are 1000 bits a second */
	out->duration = (double)(end - at) * 8 / (f.kbps * 1000.0);
	return TS_OK;
}
