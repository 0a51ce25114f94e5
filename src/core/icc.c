/*
 * icc.c - the few checks an embedded ICC profile must pass before we carry
 * it from a source file to a response (contract in include/tessera/icc.h).
 *
 * The one idea: we carry profiles, we never interpret them.  So the checks
 * are only those whose failure would make the output wrong or unreadable:
 * a header whose size field disagrees with the bytes we hold (truncated or
 * padded), no 'acsp' signature (not a profile), or a data colour space
 * that is not the one of the pixels we write (ICC.1:2010 §7.2).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/icc.h"

/* Header (128 bytes, §7.2) and the tag count that follows it (§7.3.2). */
#define ICC_MIN 132

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool ts_icc_usable(const unsigned char *p, size_t n)
{
	if (!p || n < ICC_MIN || n > TS_ICC_MAX)
		return false;
	if (be32(p) != n || memcmp(p + 36, "acsp", 4) != 0)
		return false;
	return memcmp(p + 16, "RGB ", 4) == 0 || memcmp(p + 16, "GRAY", 4) == 0;
}

bool ts_icc_fits(const unsigned char *p, size_t n, int channels)
{
	if (!ts_icc_usable(p, n))
		return false;
	if (channels == 3 || channels == 4)
		return memcmp(p + 16, "RGB ", 4) == 0;
	if (channels == 1 || channels == 2)
		return memcmp(p + 16, "GRAY", 4) == 0;
	return false;
}

unsigned char *ts_icc_dup(const unsigned char *p, size_t n)
{
	unsigned char *copy;

	if (!ts_icc_usable(p, n))
		return NULL;
	copy = malloc(n);
	if (copy)
		memcpy(copy, p, n);
	return copy;
}
