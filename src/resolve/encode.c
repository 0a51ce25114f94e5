/*
 * encode.c - percent-encoding of a root-relative path (resolve.h), the one
 * loop behind the X-Accel-Redirect path, the image list's identifiers and
 * the Presentation ids.
 *
 * The one idea: callers differ only in which reserved characters they
 * keep, so that set is the parameter; everything else (the unreserved
 * ones kept, %XX in upper-case hex for the rest) is RFC 3986 §2.1-2.3.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/checked.h"
#include "tessera/resolve.h"

size_t ts_encode_path_into(char *out, const char *rel, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *rel; rel++) {
		unsigned char c = (unsigned char)*rel;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || strchr(keep, c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

char *ts_encode_path(const char *rel, const char *keep)
{
	size_t cap;
	char *out;

	if (!ts_mul_size(strlen(rel), 3, &cap) || !ts_add_size(cap, 1, &cap))
		return NULL;
	out = malloc(cap);
	if (out)
		ts_encode_path_into(out, rel, keep);
	return out;
}
