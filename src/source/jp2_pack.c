/*
 * jp2_pack.c - one row of decoded JPEG 2000 samples (OpenJPEG's 32-bit
 * integers, one plane per component) clamped to 0..255 and interleaved
 * into 8-bit pixels (contract in jp2_internal.h).
 *
 * The one idea: on x86-64 (whose baseline is SSE2) sixteen samples of a
 * plane are clamped by two saturating packs, 32 to 16 bits signed then 16
 * to 8 bits unsigned, which is exactly min(max(v, 0), 255) for every int32;
 * the planes' bytes are then interleaved from a small buffer.  Elsewhere,
 * and for the row's last few samples, the same clamp in C.
 *
 * Measured (bench/PROFILE_J2K.md): the per-sample C loop this replaces was
 * 9-12% of the CPU of an HTJ2K first walk and 3% of a Part 1 one.  On the
 * same 12 MB of samples (a 1024x1024 RGB tile), 1 thread, best of 15:
 * 3.8 ms plane by plane in C, 0.8 ms here.  In a walk the samples come
 * cold from OpenJPEG's buffers and memory bounds it: 9.3% -> 7.1% of an
 * HTJ2K walk's samples, CPU per tile 3.09 -> 2.87 ms (bench/walk_ab.py,
 * medians of 3, load 18-21).
 */
#include <string.h>
#include "jp2_internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h>
#define JP2_PACK_SSE2 1
#endif

static inline uint8_t clamp_255(int32_t v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

#ifdef JP2_PACK_SSE2
/* Sixteen samples clamped to bytes. */
static inline __m128i pack16(const int32_t *p)
{
	__m128i a = _mm_loadu_si128((const __m128i *)p);
	__m128i b = _mm_loadu_si128((const __m128i *)(p + 4));
	__m128i c = _mm_loadu_si128((const __m128i *)(p + 8));
	__m128i d = _mm_loadu_si128((const __m128i *)(p + 12));

	return _mm_packus_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d));
}
#endif

void ts_jp2_pack_row(const int32_t *const *src, int n, uint8_t *dst, uint32_t w)
{
	uint32_t i = 0;
	int k;

#ifdef JP2_PACK_SSE2
	if (n == 1) {
		for (; i + 16 <= w; i += 16)
			_mm_storeu_si128((__m128i *)(dst + i), pack16(src[0] + i));
	} else if (n >= 2 && n <= 4) {
		uint8_t t[4][16] __attribute__((aligned(16)));
		uint32_t m;

		for (; i + 16 <= w; i += 16) {
			uint8_t *o = dst + (size_t)i * (size_t)n;
			for (k = 0; k < n; k++)
				_mm_store_si128((__m128i *)t[k], pack16(src[k] + i));
			if (n == 3) {
				for (m = 0; m < 16; m++, o += 3) {
					o[0] = t[0][m];
					o[1] = t[1][m];
					o[2] = t[2][m];
				}
			} else {
				for (m = 0; m < 16; m++)
					for (k = 0; k < n; k++)
						*o++ = t[k][m];
			}
		}
	}
#endif
	for (; i < w; i++)
		for (k = 0; k < n; k++)
			dst[(size_t)i * (size_t)n + (size_t)k] = clamp_255(src[k][i]);
}
