/*
 * fuzz_sidecar.c - libFuzzer target for the iiif.json sidecar reader
 * (src/present/sidecar.c and the value rules it shares with metadata.csv).
 *
 * Build and run with `make fuzz` (or FUZZ_SECONDS=120 make fuzz), or by hand:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude tests/fuzz/fuzz_sidecar.c src/core/status.c src/present/sidecar.c \
 *     src/present/sidecar_walk.c src/present/sidecar_ranges.c src/present/sidecar_merge.c \
 *     src/present/csv.c src/present/present_check.c src/present/html_check.c \
 *     -ljansson -lm -o fuzz_sidecar
 *   ./fuzz_sidecar -max_total_time=120 -dict=tests/fuzz/fuzz_sidecar.dict CORPUS
 * Crashing inputs found are kept as regression cases in
 * tests/unit/present/test_sidecar.c.
 *
 * Each input is parsed in both scopes.  A failure must be 400 (500 only
 * for memory), explain itself in one printable line and leave the struct
 * empty; a success must hold only what the rules allow: plain file names,
 * a language, language maps as objects, Range ids, bounded counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/sidecar.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); abort(); } } while (0)

static void check_name(const char *s)
{
	CHECK(s && s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) <= 255);
}

static void check_map(const json_t *m)
{
	CHECK(m == NULL || (json_is_object(m) && json_object_size(m) > 0));
}

static void check_range(const struct ts_sidecar_range *r, int depth)
{
	size_t i;

	CHECK(depth <= 32);
	CHECK(r->id && r->id[0]);
	CHECK(r->label && json_is_object(r->label));
	CHECK(r->nitems > 0);
	for (i = 0; i < r->nitems; i++) {
		const struct ts_sidecar_range_item *it = &r->items[i];
		if (it->range) {
			check_range(it->range, depth + 1);
			continue;
		}
		check_name(it->file);
		CHECK(!(it->has_t && it->has_xywh));
		if (it->has_t)
			CHECK(it->t[0] >= 0 && it->t[0] < it->t[1]);
		if (it->has_xywh)
			CHECK(it->xywh[2] > 0 && it->xywh[3] > 0);
	}
}

static void check_ok(const struct ts_sidecar *s)
{
	size_t i;

	CHECK(s->language && s->language[0]);
	check_map(s->label);
	check_map(s->summary);
	CHECK(s->metadata == NULL || json_is_array(s->metadata));
	CHECK(s->rights == NULL || strncmp(s->rights, "http://", 7) == 0);
	CHECK(s->nbehavior <= 16);
	for (i = 0; i < s->nbehavior; i++)
		CHECK(s->behavior[i] != NULL);
	if (s->thumbnail)
		check_name(s->thumbnail);
	if (s->start)
		check_name(s->start);
	for (i = 0; i < s->nitems; i++) {
		check_name(s->items[i].file);
		CHECK(s->items[i].duration >= 0 && s->items[i].duration <= 1e8);
		CHECK((s->items[i].width == 0) == (s->items[i].height == 0));
		check_map(s->items[i].label);
		if (i > 0)
			CHECK(strcmp(s->items[i].file, s->items[0].file) != 0);
	}
	for (i = 0; i < s->nexclude; i++)
		check_name(s->exclude[i]);
	for (i = 0; i < s->nrendering; i++)
		check_name(s->rendering[i].file);
	for (i = 0; i < s->nstructures; i++)
		check_range(&s->structures[i], 1);
	if (s->provider)
		CHECK(s->provider->id && s->provider->label);
	if (s->is_collection)
		CHECK(s->nstructures == 0 && s->start == NULL && s->homepage == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int scope;

	for (scope = 0; scope < 2; scope++) {
		struct ts_sidecar s;
		struct ts_error err;
		ts_status st = ts_sidecar_parse((const char *)data, size,
		                                scope ? TS_SIDECAR_COLLECTION : TS_SIDECAR_ITEM, &s, &err);
		CHECK(st == TS_OK || st == 400 || st == 500);
		CHECK(st == err.status);
		if (st != TS_OK) {
			const char *p;
			struct ts_sidecar zero;
			CHECK(err.msg[0] != '\0');
			for (p = err.msg; *p; p++)
				CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
			memset(&zero, 0, sizeof zero);
			CHECK(memcmp(&s, &zero, sizeof s) == 0);
			continue;
		}
		check_ok(&s);
		ts_sidecar_free(&s);
	}
	return 0;
}
