/*
 * command.h - what a protocol parser produces: a IIIF image command.
 *
 * Parsers (src/proto/) turn a request path into these structs and never
 * touch files, logs or responses.  Every protocol (IIIF 3/2.1, later
 * DeepZoom, Zoomify, IIP) is translated into a struct ts_image_cmd, so the
 * planner, pipeline, encoders and cache only ever see one kind of command.
 */
#ifndef TESSERA_COMMAND_H
#define TESSERA_COMMAND_H

#include <stdbool.h>
#include <stdint.h>
#include "status.h"

struct ts_arena;

/* IIIF Image API 3.0 section 4.1 / 2.1 section 4.1 */
enum ts_region_kind {
	TS_REGION_FULL,
	TS_REGION_SQUARE,
	TS_REGION_PIXELS,   /* x,y,w,h in full-resolution pixels */
	TS_REGION_PCT       /* pct:x,y,w,h in percent of the full size */
};

struct ts_region {
	enum ts_region_kind kind;
	double x, y, w, h;  /* integers for PIXELS, percentages for PCT */
};

/* IIIF Image API 3.0 section 4.2 / 2.1 section 4.2 */
enum ts_size_kind {
	TS_SIZE_MAX,        /* "max" (3.0, 2.1) */
	TS_SIZE_FULL,       /* "full" (2.1 only; same as max without upscaling) */
	TS_SIZE_W,          /* "w," */
	TS_SIZE_H,          /* ",h" */
	TS_SIZE_PCT,        /* "pct:n" */
	TS_SIZE_WH,         /* "w,h" */
	TS_SIZE_FIT         /* "!w,h" */
};

struct ts_size {
	enum ts_size_kind kind;
	bool upscale;       /* the "^" prefix (3.0 only) */
	uint32_t w, h;      /* as given (0 when absent) */
	double pct;         /* for TS_SIZE_PCT */
};

/* IIIF Image API 3.0 section 4.3 */
struct ts_rotation {
	double degrees;     /* 0 <= degrees <= 360 */
	bool mirror;        /* the "!" prefix: mirror before rotating */
};

/* IIIF Image API 3.0 section 4.4 */
enum ts_quality {
	TS_QUALITY_DEFAULT,
	TS_QUALITY_COLOR,
	TS_QUALITY_GRAY,
	TS_QUALITY_BITONAL
};

/* IIIF Image API 3.0 section 4.5.  All are parsed; the server answers 501
 * for one its build cannot write (ts_encode_supported). */
enum ts_format {
	TS_FORMAT_JPG,
	TS_FORMAT_PNG,
	TS_FORMAT_WEBP,
	TS_FORMAT_TIF,
	TS_FORMAT_GIF,
	TS_FORMAT_JP2,
	TS_FORMAT_PDF
};

struct ts_image_cmd {
	int version;                 /* 2 or 3: selects rounding/upscale rules */
	struct ts_region region;
	struct ts_size size;
	struct ts_rotation rotation;
	enum ts_quality quality;
	enum ts_format format;
};

/* What a IIIF URL asks for. */
enum ts_iiif_route {
	TS_IIIF_BASE,    /* /iiif/3/{id}           -> 303 to info.json */
	TS_IIIF_INFO,    /* /iiif/3/{id}/info.json */
	TS_IIIF_IMAGE    /* /iiif/3/{id}/{region}/{size}/{rotation}/{quality}.{format} */
};

struct ts_iiif_request {
	enum ts_iiif_route route;
	int version;                 /* 2 or 3 */
	bool version_in_url;         /* false when the default version was used */
	const char *identifier;      /* percent-decoded once; lives in the arena */
	const char *identifier_raw;  /* exactly as in the URL, for info.json id */
	struct ts_image_cmd cmd;     /* valid for TS_IIIF_IMAGE */
};

/*
 * Parse the part of a IIIF URL after the "/iiif" prefix, e.g.
 * "/3/abc/full/max/0/default.jpg", "/2/a%2Fb/info.json", "/abc/info.json"
 * (then default_version applies).  The query string has been removed.
 * Strings are allocated in arena a.
 * A first segment of exactly "2" or "3" followed by more segments is the
 * version; otherwise default_version applies (anything but 2 means 3).
 * After it: 1 segment = base URI, {id}/info.json = info, 5 segments =
 * image request.  The identifier is percent-decoded exactly once ("%2F" is
 * '/', '+' stays '+'); the parameters are decoded once too before their
 * strict grammar is applied.
 * Returns 404 for a path that is no IIIF route (wrong number of segments,
 * an empty segment or trailing '/', an unescaped '/' in the identifier, an
 * encoded NUL "%00" in the identifier), 400 for a malformed escape or a
 * IIIF route whose parameters are malformed (IIIF Image API 3.0 sections
 * 4.1-4.5; "full" size in 3.0 and "^" in 2.1 are 400).  Every format of
 * section 4.5 is accepted: whether it is built is the server's question.
 * out->cmd.version is set; geometry-dependent checks (region outside the
 * image, upscaling, limits) are left to ts_plan_make.
 */
ts_status ts_iiif_parse(const char *path, int default_version, struct ts_arena *a,
                        struct ts_iiif_request *out, struct ts_error *err);

/* Percent-decode src once into dst (size >= strlen(src)+1).  '+' stays '+'.
 * Returns false for a malformed escape or an encoded NUL. */
bool ts_percent_decode(const char *src, char *dst);

/* "jpg" -> TS_FORMAT_JPG ... (exact, lower case; IIIF 3.0 section 4.5);
 * returns false for unknown.  ts_format_ext/ts_format_mime/ts_quality_name
 * return static strings ("" / "application/octet-stream" for a value
 * outside the enum). */
bool ts_format_from_ext(const char *ext, enum ts_format *out);
const char *ts_format_ext(enum ts_format f);
const char *ts_format_mime(enum ts_format f);
const char *ts_quality_name(enum ts_quality q);

#endif
