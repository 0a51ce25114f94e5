/*
 * fuzz_tiff_probe.c - libFuzzer target for the TIFF header reader
 * (src/probe/tiff_probe.c), which measures a book's pages without libtiff.
 *
 * Build and run (from the top of the tree; `make fuzz` does the same):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude tests/fuzz/fuzz_tiff_probe.c src/probe/tiff_probe.c \
 *     src/core/status.c -o fuzz_tiff_probe
 *   ./fuzz_tiff_probe -max_total_time=60 tests/fuzz/corpus/tiff_probe
 * tests/fuzz/corpus/tiff_probe/ holds seeds (small pyramids: pages and
 * SubIFDs, classic and BigTIFF, both byte orders) and every crashing input
 * found, kept as regressions.
 *
 * The input is the file, served from memory by a reader that counts every
 * byte asked for.  Invariants: the status is 0, 500 or 501 and matches the
 * error, a failure has a message, a success has 1..TS_MAX_LEVELS strictly
 * decreasing levels starting at the full size with tile sides within
 * bounds, and no probe asks for more than TS_TIFF_PROBE_MAX_READ bytes or
 * for bytes past the end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/tiff_probe.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); abort(); } } while (0)

struct mem {
	const uint8_t *b;
	size_t n;
	uint64_t asked;
};

static ts_status mem_read(void *ctx, uint64_t off, void *buf, size_t n, size_t *got,
                          struct ts_error *err)
{
	struct mem *m = ctx;

	(void)err;
	CHECK(off < m->n);          /* the reader never asks past the end */
	m->asked += n;
	*got = m->n - off < n ? (size_t)(m->n - off) : n;
	memcpy(buf, m->b + off, *got);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size, 0 };
	struct ts_media_reader rd = { mem_read, &m, size };
	struct ts_source_info info;
	struct ts_error err;
	ts_status st;

	ts_error_clear(&err);
	st = ts_tiff_probe(&rd, 0, &info, &err);
	CHECK(st == TS_OK || st == TS_EINTERNAL || st == TS_ENOTIMPL);
	CHECK(err.status == st);
	CHECK(m.asked <= TS_TIFF_PROBE_MAX_READ);
	if (st != TS_OK) {
		CHECK(err.msg[0] != '\0');
		return 0;
	}
	CHECK(info.nlevels >= 1 && info.nlevels <= TS_MAX_LEVELS);
	CHECK(info.width > 0 && info.height > 0);
	CHECK(info.levels[0].width == info.width && info.levels[0].height == info.height);
	CHECK(info.channels >= 1 && info.channels <= 4);
	for (int i = 0; i < info.nlevels; i++) {
		const struct ts_source_level *l = &info.levels[i];
		CHECK(l->width > 0 && l->height > 0);
		CHECK((l->tile_w == 0) == (l->tile_h == 0));
		CHECK(l->tile_w <= 16384 && l->tile_h <= 16384);
		if (i)
			CHECK(l->width <= info.levels[i - 1].width &&
			      l->height <= info.levels[i - 1].height &&
			      (l->width < info.levels[i - 1].width ||
			       l->height < info.levels[i - 1].height));
	}
	return 0;
}
