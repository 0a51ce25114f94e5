/*
 * icc.h - embedded ICC colour profiles, checked once where they come in
 * (the source readers) and once where they go out (the encoders)
 * (src/core/icc.c).
 *
 * A profile is opaque bytes to us: we never convert colours, we only carry
 * the profile from the file we read to the file we write, so a browser
 * shows a calibrated scan (Adobe RGB, eciRGB, ProPhoto) in its own colours.
 * The checks are the minimum that keeps a broken or unsuitable profile from
 * going out: the header's size field equals the length, the signature
 * 'acsp' is at offset 36 (ICC.1:2010 §7.2.1, §7.2.10), and the data colour
 * space (bytes 16..19, §7.2.6) is 'RGB ' or 'GRAY' - our readers turn CMYK
 * and everything else into RGB or gray, so any other profile would lie.
 * An unusable profile is dropped silently: never an error.
 */
#ifndef TESSERA_ICC_H
#define TESSERA_ICC_H

#include <stdbool.h>
#include <stddef.h>

/* Profiles larger than this are dropped (real RGB and gray matrix/TRC and
 * LUT profiles are a few hundred bytes to a few hundred KiB). */
#define TS_ICC_MAX ((size_t)4 << 20)

/* True when p[0..n) is a profile we may carry: 132 <= n <= TS_ICC_MAX
 * (header plus tag count), size field == n, 'acsp', data colour space
 * 'RGB ' or 'GRAY'.  Borrows p; NULL or 0 is false. */
bool ts_icc_usable(const unsigned char *p, size_t n);

/* True when the profile is usable and describes an image of `channels`
 * samples per pixel: 3 or 4 (RGB, RGBA) need 'RGB ', 1 or 2 (gray, gray
 * with alpha) need 'GRAY'.  Encoders call it before writing a profile. */
bool ts_icc_fits(const unsigned char *p, size_t n, int channels);

/* A malloc'd copy of the profile when ts_icc_usable, else NULL (also when
 * out of memory: a profile is never worth failing an open).  The caller
 * owns the copy and frees it with free(). */
unsigned char *ts_icc_dup(const unsigned char *p, size_t n);

#endif
