/*
 * probe.h - what the container parsers of src/probe/ share (private to the
 * directory): the bounded reader and the one entry point per format.
 *
 * Every parser reads the file only through ts_probe_read/ts_probe_read_some,
 * which refuse a range past the end of the file and keep count of every byte
 * asked for, so no parser can read more than TS_MEDIA_PROBE_MAX_READ bytes
 * in one probe, whatever the file claims.  Parsers fill a struct
 * ts_media_info; probe.c checks the duration it found (finite, > 0, at most
 * TS_MEDIA_MAX_DURATION) once for all of them.
 */
#ifndef TESSERA_PROBE_H
#define TESSERA_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tessera/media.h"
#include "tessera/status.h"

/* One probe in progress.  Lives on the stack of ts_media_probe. */
struct ts_probe {
	const struct ts_media_reader *rd;  /* borrowed */
	uint64_t size;                     /* the file's length */
	uint64_t used;                     /* bytes asked of rd so far */
	const char *what;                  /* "MP4", "WebM"... for messages */
	struct ts_error *err;
};

/* Read exactly n bytes at off into buf.  A range past the end of the file
 * is 500 "truncated"; going over the read bound is 500 too. */
ts_status ts_probe_read(struct ts_probe *p, uint64_t off, void *buf, size_t n);

/* Read up to n bytes at off (fewer only at the end of the file); *got says
 * how many.  off past the end gives *got == 0. */
ts_status ts_probe_read_some(struct ts_probe *p, uint64_t off, void *buf, size_t n,
                             size_t *got);

/* Fail the probe with 500 and a public sentence about p->what's file:
 * "The MP4 file is corrupt: <why>."  why is a literal without a period. */
ts_status ts_probe_corrupt(struct ts_probe *p, const char *why);

/* Big- and little-endian loads. */
static inline uint16_t ts_probe_be16(const unsigned char *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t ts_probe_be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t ts_probe_be64(const unsigned char *b)
{
	return (uint64_t)ts_probe_be32(b) << 32 | ts_probe_be32(b + 4);
}

static inline uint16_t ts_probe_le16(const unsigned char *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t ts_probe_le32(const unsigned char *b)
{
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t ts_probe_le64(const unsigned char *b)
{
	return ts_probe_le32(b) | (uint64_t)ts_probe_le32(b + 4) << 32;
}

/* The parsers, one file each.  Each is called after probe.c has checked
 * the magic bytes, fills *out (duration in seconds, frame size, which
 * tracks) or fails with one public sentence. */
ts_status ts_probe_mp4(struct ts_probe *p, struct ts_media_info *out);       /* mp4.c */
ts_status ts_probe_matroska(struct ts_probe *p, struct ts_media_info *out);  /* matroska.c */
ts_status ts_probe_ogg(struct ts_probe *p, struct ts_media_info *out);       /* ogg.c */
ts_status ts_probe_mp3(struct ts_probe *p, struct ts_media_info *out);       /* mp3.c */
ts_status ts_probe_wav(struct ts_probe *p, struct ts_media_info *out);       /* wav.c */
ts_status ts_probe_flac(struct ts_probe *p, struct ts_media_info *out);      /* flac.c */

/* Where the ID3v2 tags at off end (off itself when there is none): the
 * syncsafe size, the footer flag, and several tags in a row (mp3.c; FLAC
 * files sometimes carry one too). */
ts_status ts_probe_id3v2_skip(struct ts_probe *p, uint64_t off, uint64_t *end);

#endif
