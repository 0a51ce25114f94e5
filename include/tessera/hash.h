/*
 * hash.h - the two hashing steps the caches and validators share.
 *
 * FNV-1a is cheap and spreads bytes well in the low bits; the splitmix64
 * finaliser then carries every input bit to every output bit, so callers
 * may take any bits they like (the LRU takes its stripe from the top ones).
 * Neither is cryptographic: keys are always compared in full, so a
 * collision costs a miss, never a wrong answer.
 */
#ifndef TESSERA_HASH_H
#define TESSERA_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TS_FNV1A_OFFSET 0xcbf29ce484222325ULL

/* Continue an FNV-1a hash h (start from TS_FNV1A_OFFSET) over n bytes. */
static inline uint64_t ts_hash_fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The splitmix64 finaliser: an avalanche of x. */
static inline uint64_t ts_hash_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#endif
