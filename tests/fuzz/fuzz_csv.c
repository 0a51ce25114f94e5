/*
 * fuzz_csv.c - libFuzzer target for metadata.csv (src/present/csv.c):
 * the RFC 4180 reader, rows into sidecar fields, and the merge of an
 * item's own sidecar over its row.
 *
 * Build and run with `make fuzz`, or by hand:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude tests/fuzz/fuzz_csv.c src/core/status.c src/present/sidecar.c \
 *     src/present/sidecar_walk.c src/present/sidecar_ranges.c src/present/sidecar_merge.c \
 *     src/present/csv.c src/present/present_check.c src/present/html_check.c \
 *     -ljansson -lm -o fuzz_csv
 *   ./fuzz_csv -max_total_time=120 CORPUS
 * Crashing inputs found are kept as regression cases in
 * tests/unit/present/test_csv.c.
 *
 * A failure must be 400 (500 only for memory) with a printable message
 * and an empty table; a success must give rows of ncols cells, a key
 * column whose names ts_csv_find finds again, and rows that become
 * sidecars (or 400) and merge without leaks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/sidecar.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); abort(); } } while (0)

static void check_msg(const struct ts_error *err)
{
	const char *p;

	CHECK(err->msg[0] != '\0');
	for (p = err->msg; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char own_text[] = "{\"label\": \"own\", \"items\": [\"a\"]}";
	struct ts_csv c;
	struct ts_error err;
	size_t r, j;
	ts_status st = ts_csv_parse((const char *)data, size, &c, &err);

	CHECK(st == TS_OK || st == 400 || st == 500);
	CHECK(st == err.status);
	if (st != TS_OK) {
		check_msg(&err);
		CHECK(c.rows == NULL && c.nrows == 0 && c.header == NULL);
		return 0;
	}
	CHECK(c.key_col >= 0 && (size_t)c.key_col < c.ncols && c.ncols <= 256);
	for (r = 0; r < c.nrows; r++) {
		for (j = 0; j < c.ncols; j++)
			CHECK(c.rows[r][j] != NULL);
		CHECK(ts_csv_find(&c, c.rows[r][c.key_col]) == (long)r);
	}
	for (r = 0; r < c.nrows && r < 64; r++) {
		struct ts_sidecar row, own;
		st = ts_sidecar_from_csv(&c, r, r % 2 ? "en" : NULL, &row, &err);
		CHECK(st == TS_OK || st == 400 || st == 500);
		if (st != TS_OK) {
			check_msg(&err);
			continue;
		}
		CHECK(row.language != NULL);
		CHECK(row.rights == NULL || strncmp(row.rights, "http://", 7) == 0);
		CHECK(ts_sidecar_parse(own_text, sizeof own_text - 1, TS_SIDECAR_ITEM, &own, &err) == TS_OK);
		ts_sidecar_merge(&own, &row);
		CHECK(row.label == NULL && row.metadata == NULL);
		ts_sidecar_free(&own);
	}
	ts_csv_free(&c);
	return 0;
}
