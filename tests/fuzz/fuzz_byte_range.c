/*
 * fuzz_byte_range.c - fuzz target for the Range and If-Range parsers
 * (src/proto/byte_range.c).
 *
 * The input is one header value.  It is measured against a few file sizes,
 * the 64-bit edges included; every part answered must lie inside the file
 * and be non-empty, and whether the value is valid syntax must not depend
 * on the size (never ignored for one size and a part or a 416 for
 * another): abort() otherwise, so the fuzzer reports it.  If-Range is fed
 * the same bytes.
 *
 * Build with libFuzzer (`make fuzz` does):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     tests/fuzz/fuzz_byte_range.c src/proto/byte_range.c -o fuzz_byte_range
 * or without it (-DTS_FUZZ_STANDALONE): runs every file named on the command
 * line once, for replaying kept crash inputs as regression tests.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/byte_range.h"

static const uint64_t sizes[] = { 0, 1, 2, 100, 4096, (uint64_t)2 << 30, UINT64_MAX - 1,
                                  UINT64_MAX };
#define NSIZES (sizeof sizes / sizeof sizes[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct ts_byte_range r = { 0, 0 };
	bool valid;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* Nothing overlaps an empty file, so there valid syntax is always 416
	 * and anything else was ignored as malformed. */
	valid = ts_byte_range_parse(s, 0, &r) == TS_RANGE_UNSATISFIABLE;
	for (size_t i = 0; i < NSIZES; i++) {
		enum ts_range_answer a = ts_byte_range_parse(s, sizes[i], &r);

		if (a == TS_RANGE_PART &&
		    (r.length == 0 || r.first >= sizes[i] || r.length > sizes[i] - r.first))
			abort();
		/* Syntax does not depend on the size: a part or a 416 for one
		 * size means the header was valid for all. */
		if (a != TS_RANGE_WHOLE && !valid)
			abort();
	}
	ts_byte_range_if_range(s, "\"0123456789abcdef\"", 784111777);
	free(s);
	return 0;
}

#ifdef TS_FUZZ_STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		unsigned char buf[4096];
		size_t n;
		if (!f) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
