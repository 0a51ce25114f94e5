/*
 * checked.h - overflow-checked size arithmetic.
 *
 * Every size computation derived from a file header or a request goes
 * through these; they return false on overflow so the caller can fail with
 * a clear status instead of allocating a wrapped-around size.
 */
#ifndef TESSERA_CHECKED_H
#define TESSERA_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool ts_mul_size(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

static inline bool ts_mul3_size(size_t a, size_t b, size_t c, size_t *out)
{
	size_t t;
	return !__builtin_mul_overflow(a, b, &t) && !__builtin_mul_overflow(t, c, out);
}

static inline bool ts_add_size(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

static inline bool ts_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

#endif
