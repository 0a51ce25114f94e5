/*
 * byte_range.h - the Range and If-Range request headers (RFC 9110 §14.2,
 * §13.1.5), parsed against a representation of known size (src/proto/).
 *
 * Pure: strings in, a decision out; no I/O, no allocation.  The media route
 * (serve/media.c) asks "whole file, one part, or 416?" and sends the bytes.
 * We answer a single range only: a request whose set has more than one
 * satisfiable range gets the whole file (200), which RFC 9110 §14.2 allows
 * (a server MAY ignore Range) and which is what nginx does with
 * `max_ranges 1` in the shipped conf, so both front doors agree.
 */
#ifndef TESSERA_BYTE_RANGE_H
#define TESSERA_BYTE_RANGE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum ts_range_answer {
	TS_RANGE_WHOLE,          /* 200: no Range, ignored, malformed, or several ranges */
	TS_RANGE_PART,           /* 206: *out holds the one range */
	TS_RANGE_UNSATISFIABLE   /* 416: valid, but no range overlaps the file */
};

/* A byte range already clamped to the file: first + length <= size,
 * length >= 1. */
struct ts_byte_range {
	uint64_t first;
	uint64_t length;
};

/*
 * Decide what a Range header value asks of a representation of size bytes
 * (RFC 9110 §14.1.1 grammar: "bytes=" then a comma list of "a-b", "a-",
 * "-n", optional whitespace around the commas, empty elements allowed).
 * value may be NULL (no header).  A unit other than bytes, bad syntax, or
 * an int-range whose last-pos is below its first-pos make the whole header
 * ignored (TS_RANGE_WHOLE, §14.2).  A range is satisfiable when its
 * first-pos is below size, or when it is a suffix range of a non-zero
 * length and size > 0 (§14.1.1); last-pos and suffix lengths past the end
 * are clamped.  Numbers of any length are accepted (too large for 64 bits
 * means past any end).  Fills *out only for TS_RANGE_PART.
 */
enum ts_range_answer ts_byte_range_parse(const char *value, uint64_t size,
                                         struct ts_byte_range *out);

/*
 * Whether value is one range in the plain form every HTTP server parses
 * alike: "bytes=a-b", "bytes=a-" or "bytes=-n", no whitespace, lower-case
 * unit, numbers of at most 18 digits (what browsers and players send).
 * The media route leaves such a range to nginx behind X-Accel-Redirect and
 * answers any other itself, so the two can never judge it differently.
 */
bool ts_byte_range_is_simple(const char *value);

/*
 * Whether an If-Range value lets the Range apply (RFC 9110 §13.1.5): an
 * entity-tag must be strong and equal, byte for byte, to etag (the quoted
 * current ETag); an HTTP date (any of the three forms of §5.6.7) must equal
 * last_modified exactly.  A weak tag or anything unparsable is false (then
 * the whole file is sent).  value NULL is true (no If-Range condition).
 */
bool ts_byte_range_if_range(const char *value, const char *etag, time_t last_modified);

#endif
