/*
 * fuzz_media_probe.c - libFuzzer target for the audio/video probe
 * (src/probe/): MP4/MOV, WebM/Matroska, Ogg, MP3, WAV and FLAC headers.
 *
 * Build and run (from the top of the tree; `make fuzz` does the same):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude tests/fuzz/fuzz_media_probe.c \
 *     src/probe/{probe,mp4,matroska,ogg,mp3,wav,flac}.c src/core/status.c \
 *     -lm -o fuzz_media_probe
 *   ./fuzz_media_probe -max_total_time=60 tests/fuzz/corpus/media_probe
 * tests/fuzz/corpus/media_probe/ holds seeds (small files ffmpeg made, each
 * behind its type byte) and every crashing input found, kept as regressions.
 *
 * The first byte picks the media type the file is probed as; the rest is
 * the file, served from memory by a reader that counts every byte asked
 * for.  Invariants: the status is 0 or 500 and matches the error, a failure
 * has a message, a success has a finite duration in (0, TS_MEDIA_MAX_DURATION]
 * and a believable frame size exactly when it has video, and no probe asks
 * for more than TS_MEDIA_PROBE_MAX_READ bytes or for bytes past the end.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/media.h"

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
	CHECK(off < m->n);          /* the probe never asks past the end */
	m->asked += n;
	*got = m->n - off < n ? (size_t)(m->n - off) : n;
	memcpy(buf, m->b + off, *got);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mimes[] = { "audio/mpeg", "audio/mp4", "audio/ogg",
	                                     "audio/wav", "audio/flac", "video/mp4",
	                                     "video/webm", "video/ogg" };
	struct mem m;
	struct ts_media_reader rd;
	struct ts_media_info info;
	struct ts_error err;
	ts_status st;

	if (size < 1)
		return 0;
	m.b = data + 1, m.n = size - 1, m.asked = 0;
	rd.read = mem_read, rd.ctx = &m, rd.size = m.n;
	ts_error_clear(&err);
	st = ts_media_probe(&rd, mimes[data[0] % 8], &info, &err);
	CHECK(st == 0 || st == 500);
	CHECK(st == err.status);
	CHECK(m.asked <= TS_MEDIA_PROBE_MAX_READ);
	if (st != 0) {
		CHECK(err.msg[0] != '\0');
		return 0;
	}
	CHECK(isfinite(info.duration) && info.duration > 0);
	CHECK(info.duration <= TS_MEDIA_MAX_DURATION);
	if (info.has_video)
		CHECK(info.width >= 1 && info.width <= 65535 && info.height >= 1 &&
		      info.height <= 65535);
	else
		CHECK(info.width == 0 && info.height == 0);
	return 0;
}
