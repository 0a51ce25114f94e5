/*
 * flac.c - duration of native FLAC files, for ts_media_probe (probe.c).
 *
 * A FLAC file is "fLaC" and then metadata blocks (RFC 9639 §8), the first
 * of which is always STREAMINFO (§8.2): 34 bytes whose 20-bit sample rate
 * and 36-bit total sample count give the duration directly.  A total of 0
 * means the encoder did not know it (a stream); we say so rather than
 * guess.  Some taggers put an ID3v2 tag before "fLaC"; it is skipped.
 */
#include <string.h>

#include "probe.h"

ts_status ts_probe_flac(struct ts_probe *p, struct ts_media_info *out)
{
	unsigned char b[4 + 4 + 34];
	uint64_t off, total;
	uint32_t rate;
	ts_status st;

	st = ts_probe_id3v2_skip(p, 0, &off);
	if (st != TS_OK)
		return st;
	st = ts_probe_read(p, off, b, sizeof b);
	if (st != TS_OK)
		return st;
	if (memcmp(b, "fLaC", 4) != 0)
		return ts_error_set(p->err, TS_EINTERNAL,
		                    "The file's extension says audio/flac, but its contents are not.");
	/* block header: last-block flag and type (0 = STREAMINFO), 24-bit length */
	if ((b[4] & 0x7F) != 0 || (b[5] << 16 | b[6] << 8 | b[7]) < 34)
		return ts_probe_corrupt(p, "its first metadata block is not STREAMINFO");
	/* STREAMINFO: min/max block size (16+16), min/max frame size (24+24),
	 * sample rate (20), channels - 1 (3), bits - 1 (5), total samples (36) */
	const unsigned char *si = b + 8;
	rate = (uint32_t)si[10] << 12 | (uint32_t)si[11] << 4 | si[12] >> 4;
	total = (uint64_t)(si[13] & 0x0F) << 32 | ts_probe_be32(si + 14);
	if (rate == 0)
		return ts_probe_corrupt(p, "its sample rate is zero");
	if (total == 0)
		return ts_error_set(p->err, TS_EINTERNAL,
		                    "The FLAC file does not say how many samples it holds; give the "
		                    "duration in the item's sidecar.");
	memset(out, 0, sizeof *out);
	out->has_audio = true;
	out->duration = (double)total / rate;
	return TS_OK;
}
