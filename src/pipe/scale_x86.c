/*
 * scale_x86.c - the resampler's horizontal pass for three channels and up
 * to four taps in SSSE3, chosen at run time (contract in scale_simd.h).
 *
 * The one idea: a pixel's four taps of one channel are gathered into
 * adjacent 16-bit lanes by a byte shuffle (pshufb), so one multiply-add
 * (pmaddwd) against the output sample's four Q14 weights and one
 * horizontal add give each channel's exact 32-bit sum, the same integer
 * scale.c's C loop computes; bias, shift, clamp and packing then follow
 * the C path step for step.  Two rows share the weights: their third
 * channels share one vector.  x86-64 guarantees only SSE2, so the kernel
 * is compiled for SSSE3 with a target attribute and used only when the CPU
 * says it has it (__builtin_cpu_supports); elsewhere the C path runs.
 */
#include <stdatomic.h>
#include <string.h>
#include "tessera/pipe.h"
#include "scale_simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TS_X86_SIMD 1
#endif

static atomic_bool simd_off;

bool ts_pipe_scale_simd(bool on)
{
	atomic_store(&simd_off, !on);
	return ts_scale_simd_active();
}

#ifdef TS_X86_SIMD

bool ts_scale_simd_active(void)
{
	return !atomic_load_explicit(&simd_off, memory_order_relaxed) &&
	       __builtin_cpu_supports("ssse3");
}

/* Store channels 0..2 of lanes 0..2 (16-bit) or bytes 0..2 of v. */
__attribute__((target("ssse3"))) static inline void store3(void *d, __m128i v, int bytes)
{
	uint32_t lo = (uint32_t)_mm_cvtsi128_si32(v);

	if (bytes == 2) {
		uint16_t c2 = (uint16_t)_mm_extract_epi16(v, 2);

		memcpy(d, &lo, 4);
		memcpy((uint8_t *)d + 4, &c2, 2);
	} else {
		memcpy(d, &lo, 3);
	}
}

__attribute__((target("ssse3")))
uint32_t ts_scale_hpass3_simd(const void *src, size_t src_stride, uint32_t nrows, size_t limit,
                              uint32_t n, const uint32_t *start, const int16_t *w4,
                              void *dst, size_t dst_stride, const struct ts_hpass_spec *spec)
{
	const bool in16 = spec->in_bytes == 2;
	const size_t px = in16 ? 6 : 3, load = in16 ? 24 : 16;
	const __m128i bias = _mm_set1_epi32(spec->bias);
	const __m128i shift = _mm_cvtsi32_si128(spec->shift);
	const __m128i zero = _mm_setzero_si128(), top = _mm_set1_epi16((int16_t)spec->top);
	__m128i sa, sb_lo, sb_hi, sam = zero, sbm_lo = zero, sbm_hi = zero;
	uint32_t k = 0;

	if (!ts_scale_simd_active())
		return 0;
	while (k < n && (size_t)start[k] * px + load <= limit)
		k++;
	if (in16) {
		/* Words 3t+c: the first load holds words 0..7, the second
		 * (8 bytes on) words 4..11. */
		sa = _mm_setr_epi8(0, 1, 6, 7, 12, 13, -1, -1, 2, 3, 8, 9, 14, 15, -1, -1);
		sam = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 10, 11, -1, -1, -1, -1, -1, -1, 12, 13);
		sb_lo = _mm_setr_epi8(4, 5, 10, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
		sbm_lo = _mm_setr_epi8(-1, -1, -1, -1, 8, 9, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1);
		sb_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, 4, 5, 10, 11, -1, -1, -1, -1);
		sbm_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 8, 9, 14, 15);
	} else {
		/* Bytes 3t+c, zero-extended to words. */
		sa = _mm_setr_epi8(0, -1, 3, -1, 6, -1, 9, -1, 1, -1, 4, -1, 7, -1, 10, -1);
		sb_lo = _mm_setr_epi8(2, -1, 5, -1, 8, -1, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1);
		sb_hi = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, 2, -1, 5, -1, 8, -1, 11, -1);
	}
	for (uint32_t r = 0; r < nrows; r += 2) {
		const uint8_t *s0 = (const uint8_t *)src + (size_t)r * src_stride;
		const uint8_t *s1 = r + 1 < nrows ? s0 + src_stride : s0;
		uint8_t *d0 = (uint8_t *)dst + (size_t)r * dst_stride;
		uint8_t *d1 = r + 1 < nrows ? d0 + dst_stride : NULL;
		size_t ob = 3 * (size_t)spec->out_bytes;

		for (uint32_t o = 0; o < k; o++) {
			const uint8_t *p0 = s0 + start[o] * px, *p1 = s1 + start[o] * px;
			__m128i wv = _mm_loadl_epi64((const __m128i *)(const void *)(w4 + (size_t)o * 4));
			__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p0);
			__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)p1);
			__m128i a0 = _mm_shuffle_epi8(x0, sa), a1 = _mm_shuffle_epi8(x1, sa);
			__m128i b = _mm_or_si128(_mm_shuffle_epi8(x0, sb_lo), _mm_shuffle_epi8(x1, sb_hi));
			__m128i h0, h1, v;

			wv = _mm_unpacklo_epi64(wv, wv);
			if (in16) {
				__m128i m0 = _mm_loadu_si128((const __m128i *)(const void *)(p0 + 8));
				__m128i m1 = _mm_loadu_si128((const __m128i *)(const void *)(p1 + 8));

				a0 = _mm_or_si128(a0, _mm_shuffle_epi8(m0, sam));
				a1 = _mm_or_si128(a1, _mm_shuffle_epi8(m1, sam));
				b = _mm_or_si128(b, _mm_or_si128(_mm_shuffle_epi8(m0, sbm_lo),
				                                 _mm_shuffle_epi8(m1, sbm_hi)));
			}
			a0 = _mm_madd_epi16(a0, wv);
			a1 = _mm_madd_epi16(a1, wv);
			b = _mm_madd_epi16(b, wv);
			/* [r0c0 r0c1 r0c2 r1c2] and [r1c0 r1c1 r1c2 r1c2] */
			h0 = _mm_hadd_epi32(a0, b);
			h1 = _mm_shuffle_epi32(_mm_hadd_epi32(a1, b), _MM_SHUFFLE(3, 3, 1, 0));
			h0 = _mm_sra_epi32(_mm_add_epi32(h0, bias), shift);
			h1 = _mm_sra_epi32(_mm_add_epi32(h1, bias), shift);
			/* To int16 saturates outside -32768..32767, beyond any
			 * clamp's range, so clamping after it is the same. */
			v = _mm_packs_epi32(h0, h1);
			if (spec->out_bytes == 2) {
				if (spec->clamp)
					v = _mm_min_epi16(_mm_max_epi16(v, zero), top);
				store3(d0 + o * ob, v, 2);
				if (d1)
					store3(d1 + o * ob, _mm_srli_si128(v, 8), 2);
			} else {
				/* To uint8 saturates to 0..255: the clamp. */
				v = _mm_packus_epi16(v, v);
				store3(d0 + o * ob, v, 1);
				if (d1)
					store3(d1 + o * ob, _mm_srli_si128(v, 4), 1);
			}
		}
	}
	return k;
}

#else

bool ts_scale_simd_active(void)
{
	return false;
}

uint32_t ts_scale_hpass3_simd(const void *src, size_t src_stride, uint32_t nrows, size_t limit,
                              uint32_t n, const uint32_t *start, const int16_t *w4,
                              void *dst, size_t dst_stride, const struct ts_hpass_spec *spec)
{
	(void)src; (void)src_stride; (void)nrows; (void)limit; (void)n; (void)start; (void)w4;
	(void)dst; (void)dst_stride; (void)spec;
	return 0;
}

#endif
