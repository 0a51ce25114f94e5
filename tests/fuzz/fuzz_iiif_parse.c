/*
 * fuzz_iiif_parse.c - libFuzzer target for the IIIF URL parser and the
 * request planner.
 *
 * Build and run (from the top of the tree):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude tests/fuzz/fuzz_iiif_parse.c src/proto/iiif_image.c \
 *     src/pipe/plan.c src/core/status.c src/core/arena.c -lm -o fuzz_iiif_parse
 *   mkdir -p tests/fuzz/corpus/iiif_parse
 *   ./fuzz_iiif_parse -max_total_time=60 tests/fuzz/corpus/iiif_parse
 * Keep every crashing input found under tests/fuzz/corpus/iiif_parse/.
 *
 * Each input is a path after "/iiif" (e.g. "/3/id/full/max/0/default.jpg").
 * It is parsed with both default versions; every image request is planned
 * against a few geometries and limits, and the plan's invariants are
 * checked: sizes at least 1 px, the read rectangle inside the level, the
 * crop inside the read rectangle, a status that is one of ours, and the
 * canonical form, parsed and planned again, giving the same plan.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/arena.h"
#include "tessera/command.h"
#include "tessera/plan.h"
#include "tessera/status.h"

#define CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "invariant failed: %s (line %d)\n", #cond, __LINE__); abort(); } } while (0)

static struct ts_geometry make_geometry(uint32_t w, uint32_t h, int n, bool ceil_halve)
{
	struct ts_geometry g;
	int i;

	memset(&g, 0, sizeof g);
	g.width = w, g.height = h, g.nlevels = n;
	g.levels[0].width = w, g.levels[0].height = h;
	for (i = 1; i < n; i++) {
		uint32_t pw = g.levels[i - 1].width, ph = g.levels[i - 1].height;
		g.levels[i].width = ceil_halve ? (pw + 1) / 2 : (pw / 2 ? pw / 2 : 1);
		g.levels[i].height = ceil_halve ? (ph + 1) / 2 : (ph / 2 ? ph / 2 : 1);
	}
	return g;
}

static bool known_status(ts_status st)
{
	return st == TS_OK || st == 400 || st == 404 || st == 500 || st == 501;
}

static void check_plan(const struct ts_geometry *g, const struct ts_plan *p)
{
	CHECK(p->region_w >= 1 && p->region_h >= 1);
	CHECK((uint64_t)p->region_x + p->region_w <= g->width);
	CHECK((uint64_t)p->region_y + p->region_h <= g->height);
	CHECK(p->out_w >= 1 && p->out_h >= 1);
	CHECK(p->final_w >= 1 && p->final_h >= 1);
	CHECK(p->level >= 0 && p->level < g->nlevels);
	uint32_t lw = g->levels[p->level].width, lh = g->levels[p->level].height;
	CHECK(p->read_w >= 1 && p->read_h >= 1);
	CHECK((uint64_t)p->read_x + p->read_w <= lw);
	CHECK((uint64_t)p->read_y + p->read_h <= lh);
	CHECK(p->crop_x >= 0 && p->crop_y >= 0 && p->crop_w > 0 && p->crop_h > 0);
	CHECK(p->crop_x + p->crop_w <= p->read_w + 1e-6);
	CHECK(p->crop_y + p->crop_h <= p->read_h + 1e-6);
	CHECK(p->degrees >= 0 && p->degrees < 360);
	CHECK(p->canonical[0] != '\0');
}

/* The canonical parameters must describe the same plan. */
static void check_canonical(int version, const struct ts_geometry *g,
                            const struct ts_limits *lim, const struct ts_plan *p,
                            struct ts_arena *a)
{
	char path[256];
	struct ts_iiif_request r;
	struct ts_plan q;
	struct ts_error err;

	snprintf(path, sizeof path, "/%d/id/%s", version, p->canonical);
	ts_error_clear(&err);
	CHECK(ts_iiif_parse(path, 3, a, &r, &err) == TS_OK);
	ts_error_clear(&err);
	CHECK(ts_plan_make(&r.cmd, g, lim, &q, &err) == TS_OK);
	CHECK(q.region_x == p->region_x && q.region_y == p->region_y);
	CHECK(q.region_w == p->region_w && q.region_h == p->region_h);
	CHECK(q.out_w == p->out_w && q.out_h == p->out_h);
	CHECK(q.mirror == p->mirror && q.quality == p->quality && q.format == p->format);
	CHECK(strcmp(q.canonical, p->canonical) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ts_limits limits[] = {
		{ 0, 0, 0, false },
		{ 0, 0, 0, true },
		{ 3000, 2000, 4000000, true },
		{ 200, 0, 0, false },
	};
	struct ts_geometry geoms[4];
	struct ts_arena *a;
	char *path;
	int v, gi, li;

	if (size > 4096)
		return 0;
	path = malloc(size + 1);
	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	a = ts_arena_create();
	if (!a) {
		free(path);
		return 0;
	}

	geoms[0] = make_geometry(300, 200, 1, false);
	geoms[1] = make_geometry(1001, 1001, 3, false);
	geoms[2] = make_geometry(1001, 777, 4, true);
	geoms[3] = make_geometry(10001, 7, 6, false);

	for (v = 2; v <= 3; v++) {
		struct ts_iiif_request r;
		struct ts_error err;

		ts_error_clear(&err);
		ts_status st = ts_iiif_parse(path, v, a, &r, &err);
		CHECK(known_status(st));
		CHECK(st == err.status);
		if (st != TS_OK) {
			CHECK(err.msg[0] != '\0');
			continue;
		}
		CHECK(r.identifier && r.identifier_raw && r.identifier[0] != '\0');
		CHECK(r.version == 2 || r.version == 3);
		if (r.route != TS_IIIF_IMAGE)
			continue;
		for (gi = 0; gi < 4; gi++) {
			for (li = 0; li < 4; li++) {
				struct ts_plan p;
				ts_error_clear(&err);
				st = ts_plan_make(&r.cmd, &geoms[gi], &limits[li], &p, &err);
				CHECK(known_status(st) && st != 404 && st != 500);
				CHECK(st == err.status);
				if (st != TS_OK)
					continue;
				check_plan(&geoms[gi], &p);
				check_canonical(r.cmd.version, &geoms[gi], &limits[li], &p, a);
			}
		}
	}
	ts_arena_destroy(a);
	free(path);
	return 0;
}
