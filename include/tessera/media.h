/*
 * media.h - what a file under the root is, for publishing (src/probe/).
 *
 * Two jobs, both pure of HTTP:
 *  - the file-type table: a file name's extension gives its IIIF type
 *    (Image, Sound, Video, Text, Model...) and the exact media type we
 *    publish it with (presentation.md §1: viewers pick their player by an
 *    exact match of `format`, so these strings are fixed);
 *  - probing audio and video: duration, and for video the frame size, read
 *    from the container's own headers by small parsers of our own (MP4/MOV,
 *    WebM/Matroska, Ogg, MP3, WAV, FLAC).  A probe never decodes media and
 *    reads a bounded number of bytes, wherever the file claims its boxes
 *    are; a header that lies (a 10^18 s duration, a box past the end of the
 *    file) is an error, never a guess.
 */
#ifndef TESSERA_MEDIA_H
#define TESSERA_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "status.h"

/* What a file is to a Manifest (presentation.md §1). */
enum ts_media_kind {
	TS_MEDIA_IMAGE,     /* painted as Image (what the image server reads) */
	TS_MEDIA_SOUND,     /* painted as Sound */
	TS_MEDIA_VIDEO,     /* painted as Video (a container with no video track is Sound) */
	TS_MEDIA_TEXT,      /* PDF: painted as Text, and a Manifest rendering */
	TS_MEDIA_MODEL,     /* glTF / GLB: painted as Model */
	TS_MEDIA_CAPTIONS,  /* WebVTT, beside a sound or video of the same basename */
	TS_MEDIA_SEEALSO,   /* ALTO / hOCR / METS XML: a Canvas seeAlso, by basename */
	TS_MEDIA_RENDERING  /* EPUB, ZIP...: a Manifest rendering (download) only */
};

struct ts_media_type {
	const char *ext;          /* lower case, no dot: "mp3" */
	const char *mime;         /* exactly what is published and served: "audio/mpeg" */
	enum ts_media_kind kind;
	const char *iiif_type;    /* "Image", "Sound", "Video", "Text", "Model", "Dataset" */
};

/* The type of a file by its name's extension (case-insensitive), or NULL
 * for a file that is not published.  Static data, never freed. */
const struct ts_media_type *ts_media_type_of(const char *name);

/* What a probe found.  duration in seconds (> 0 when found); width and
 * height 0 when the file has no video track. */
struct ts_media_info {
	double duration;
	uint32_t width, height;
	bool has_video;
	bool has_audio;
};

/* Random access to the probed bytes: read up to n bytes at off into buf,
 * set *got (short only at the end of the file).  A failure is 500 with its
 * message in err.  size is the file's length. */
struct ts_media_reader {
	ts_status (*read)(void *ctx, uint64_t off, void *buf, size_t n, size_t *got,
	                  struct ts_error *err);
	void *ctx;
	uint64_t size;
};

/* The most bytes one probe reads, whatever the file says (an MP4 whose
 * index sits at the end, an Ogg's last page, MP3 frame headers). */
#define TS_MEDIA_PROBE_MAX_READ (4u << 20)
/* Durations above this are refused as lies (about 3 years). */
#define TS_MEDIA_MAX_DURATION 1e8

/*
 * Probe the file behind rd as the container `mime` says (one of the Sound
 * and Video types of the table).  The magic bytes must agree with the type
 * (an .mp3 that is really an Ogg file is refused, not guessed).  On success
 * fills *out.  A truncated or lying file, or one whose duration cannot be
 * found (a streamed WebM without Duration), is 500 with one public sentence
 * saying what is missing; a type with no parser is 501.  Reads at most
 * TS_MEDIA_PROBE_MAX_READ bytes.
 */
ts_status ts_media_probe(const struct ts_media_reader *rd, const char *mime,
                         struct ts_media_info *out, struct ts_error *err);

/* ts_media_probe on an open file descriptor (pread; the offset is not
 * moved).  size is the file's length (from fstat). */
ts_status ts_media_probe_fd(int fd, uint64_t size, const char *mime,
                            struct ts_media_info *out, struct ts_error *err);

#endif
