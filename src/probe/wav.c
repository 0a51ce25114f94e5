/*
 * wav.c - duration of WAV files, for ts_media_probe (probe.c).
 *
 * A WAV file is a RIFF form of type WAVE: chunks of a four-character id
 * and a 32-bit little-endian size, each padded to an even length.  The
 * "fmt " chunk gives the average bytes per second, the "data" chunk's size
 * the audio bytes, and the duration is one divided by the other; we seek
 * from chunk header to chunk header and never read the audio.  A data size
 * of 0 or 0xFFFFFFFF is what recorders write while still streaming: the
 * audio then runs to the end of the file.  RF64 (EBU Tech 3306) files say
 * "RF64" instead of "RIFF" and carry the real 64-bit data size in a "ds64"
 * chunk first, the data chunk's own size then being 0xFFFFFFFF.
 */
#include <string.h>

#include "probe.h"

/* More chunks than this before "data" is not a WAV file we believe. */
#define MAX_CHUNKS 4096

ts_status ts_probe_wav(struct ts_probe *p, struct ts_media_info *out)
{
	unsigned char h[28];
	uint64_t off = 12, ds64_data = 0, data_size = 0;
	uint32_t byte_rate = 0;
	bool rf64, seen_fmt = false, seen_data = false;
	int n;
	ts_status st;

	st = ts_probe_read(p, 0, h, 12);
	if (st != TS_OK)
		return st;
	rf64 = memcmp(h, "RF64", 4) == 0;

	for (n = 0; n < MAX_CHUNKS && !(seen_fmt && seen_data) && p->size - off >= 8; n++) {
		uint64_t size, body;

		st = ts_probe_read(p, off, h, 8);
		if (st != TS_OK)
			return st;
		size = ts_probe_le32(h + 4);
		body = off + 8;
		if (memcmp(h, "data", 4) == 0) {
			seen_data = true;
			if (rf64 && size == 0xFFFFFFFFu && ds64_data)
				size = ds64_data;
			else if (size == 0 || size == 0xFFFFFFFFu)
				size = p->size - body;   /* still streaming: to the end */
			if (size > p->size - body)
				return ts_probe_corrupt(p, "its data chunk runs past the end of the file");
			data_size = size;
		} else if (memcmp(h, "fmt ", 4) == 0) {
			/* format tag, channels, sample rate, then bytes per second */
			if (size < 16)
				return ts_probe_corrupt(p, "its fmt chunk is too short");
			st = ts_probe_read(p, body, h, 16);
			if (st != TS_OK)
				return st;
			byte_rate = ts_probe_le32(h + 8);
			seen_fmt = true;
		} else if (memcmp(h, "ds64", 4) == 0 && rf64) {
			/* RIFF size (64), data size (64), sample count (64) */
			if (size < 24)
				return ts_probe_corrupt(p, "its ds64 chunk is too short");
			st = ts_probe_read(p, body, h, 24);
			if (st != TS_OK)
				return st;
			ds64_data = ts_probe_le64(h + 8);
		}
		if (size > p->size - body)
			return ts_probe_corrupt(p, "a chunk runs past the end of the file");
		off = body + size + (size & 1);
		if (off > p->size)
			off = p->size;   /* a missing pad byte at the very end */
	}
	if (!seen_fmt)
		return ts_probe_corrupt(p, "it has no fmt chunk before the end");
	if (!seen_data)
		return ts_probe_corrupt(p, "it has no data chunk");
	if (byte_rate == 0)
		return ts_probe_corrupt(p, "its byte rate is zero");

	memset(out, 0, sizeof *out);
	out->has_audio = true;
	out->duration = (double)data_size / byte_rate;
	return TS_OK;
}
