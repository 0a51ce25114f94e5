/*
 * test_jp2_pack.c - ts_jp2_pack_row (src/source/jp2_pack.c): decoded
 * JPEG 2000 samples clamped to 0..255 and interleaved, compared with the
 * plain per-sample clamp for every plane count, widths around the SIMD
 * block of 16, and samples across the whole int32 range.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include "check.h"
#include "src/source/jp2_internal.h"

static uint8_t want(int32_t v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static int32_t sample(unsigned *seed)
{
	static const int32_t edge[] = { INT32_MIN, -65536, -32769, -32768, -256, -1, 0, 1, 127,
	                                128, 254, 255, 256, 32767, 32768, 65535, INT32_MAX };

	*seed = *seed * 1103515245u + 12345u;
	if ((*seed >> 16) % 4 == 0)
		return edge[(*seed >> 8) % (sizeof edge / sizeof edge[0])];
	return (int32_t)((*seed >> 8) % 400) - 72;
}

static void pack_row_equals_the_plain_clamp_for_every_plane_count_and_width(void)
{
	static int32_t planes[4][80];
	static uint8_t out[4 * 80 + 1];
	const int32_t *src[4];
	unsigned seed = 7;
	uint32_t w, i;
	int n, k, bad;

	for (n = 1; n <= 4; n++) {
		for (w = 0; w <= 70; w++) {
			for (k = 0; k < n; k++) {
				for (i = 0; i < w + 2; i++)
					planes[k][i] = sample(&seed);
				src[k] = planes[k] + (w & 1);   /* unaligned starts too */
			}
			out[(size_t)w * (size_t)n] = 0xA5;   /* must stay */
			ts_jp2_pack_row(src, n, out, w);
			bad = 0;
			for (i = 0; i < w; i++)
				for (k = 0; k < n; k++)
					bad += out[(size_t)i * (size_t)n + (size_t)k] != want(src[k][i]);
			EXPECT_EQ_INT(bad, 0);
			EXPECT_EQ_INT(out[(size_t)w * (size_t)n], 0xA5);
		}
	}
}

int main(void)
{
	RUN(pack_row_equals_the_plain_clamp_for_every_plane_count_and_width);
	return CHECK_DONE();
}
