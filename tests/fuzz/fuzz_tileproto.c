/*
 * fuzz_tileproto.c - fuzz target for the DeepZoom, Zoomify and IIP parsers
 * and the commands they produce.
 *
 * The input is one URL tail: "path?query".  It goes through all three
 * parsers; whatever parses is mapped onto a few image geometries, and every
 * command produced must describe a non-empty region inside the image with a
 * non-zero output size (abort() otherwise, so the fuzzer reports it).  The
 * documents are formatted too, under the sanitizers.
 *
 * Build with libFuzzer:
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *     tests/fuzz/fuzz_tileproto.c src/proto/deepzoom.c src/proto/zoomify.c \
 *     src/proto/iip.c src/proto/iiif_image.c src/core/[a-z]*.c -lm -o fuzz_tileproto
 * or without it (-DTS_FUZZ_STANDALONE): runs every file named on the command
 * line once, for replaying kept crash inputs as regression tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/arena.h"
#include "tessera/tileproto.h"

static const uint32_t sizes[][2] = { {1, 1}, {257, 1}, {1001, 751}, {6028, 3391}, {70000, 3} };
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void check_cmd(const struct ts_image_cmd *c, uint32_t w, uint32_t h)
{
	if (c->region.kind == TS_REGION_PIXELS &&
	    (c->region.x < 0 || c->region.y < 0 || c->region.w < 1 || c->region.h < 1 ||
	     c->region.x + c->region.w > w || c->region.y + c->region.h > h))
		abort();
	if (c->size.kind == TS_SIZE_WH && (c->size.w < 1 || c->size.h < 1))
		abort();
}

static void pyramid(struct ts_geometry *g, uint32_t w, uint32_t h)
{
	memset(g, 0, sizeof *g);
	g->width = w;
	g->height = h;
	for (g->nlevels = 0; g->nlevels < 6 && w >= 1 && h >= 1; g->nlevels++) {
		g->levels[g->nlevels].width = w;
		g->levels[g->nlevels].height = h;
		w /= 2;
		h /= 2;
	}
}

static void run(struct ts_arena *a, const char *in)
{
	char *path = ts_arena_strdup(a, in), *query = strchr(path, '?');
	struct ts_buf b = TS_BUF_INIT;
	struct ts_image_cmd cmd;
	struct ts_error err;

	if (query)
		*query++ = '\0';

	for (unsigned flags = 0; flags <= TS_TILEPROTO_ALLOW_SLASH; flags++) {
		struct ts_deepzoom_request dz;
		struct ts_zoomify_request zf;

		ts_error_clear(&err);
		if (ts_deepzoom_parse(path, query, flags, a, &dz, &err) == TS_OK) {
			if (!dz.identifier || !dz.identifier[0])
				abort();
			for (size_t i = 0; i < NSIZES; i++) {
				ts_error_clear(&err);
				if (dz.route == TS_DZ_TILE &&
				    ts_deepzoom_tile_cmd(&dz, sizes[i][0], sizes[i][1], 254, 1, &cmd, &err) == TS_OK)
					check_cmd(&cmd, sizes[i][0], sizes[i][1]);
			}
			if (dz.route == TS_DZ_INFO)
				ts_deepzoom_format_info(&dz, 1001, 751, 256, 1, TS_FORMAT_JPG, &b, NULL, &err);
		}
		ts_error_clear(&err);
		if (ts_zoomify_parse(path, flags, a, &zf, &err) == TS_OK) {
			if (!zf.identifier || !zf.identifier[0])
				abort();
			for (size_t i = 0; i < NSIZES; i++) {
				ts_error_clear(&err);
				if (zf.route == TS_ZOOMIFY_TILE &&
				    ts_zoomify_tile_cmd(&zf, sizes[i][0], sizes[i][1], 256, &cmd, &err) == TS_OK)
					check_cmd(&cmd, sizes[i][0], sizes[i][1]);
			}
		}
	}

	/* the whole input as an IIP query */
	struct ts_iip_request iip;
	ts_error_clear(&err);
	if (ts_iip_parse(in, a, &iip, &err) != TS_OK) {
		ts_iip_format_error(iip.err_code ? iip.err_code : "2 1", iip.err_arg, &b);
	} else {
		for (size_t i = 0; i < NSIZES; i++) {
			struct ts_geometry g;
			struct ts_iip_image img = { .g = &g, .tile_w = 256, .tile_h = 256, .channels = 3 };
			pyramid(&g, sizes[i][0], sizes[i][1]);
			ts_error_clear(&err);
			if (iip.action == TS_IIP_TILE &&
			    ts_iip_tile_cmd(&iip, &g, 256, 256, &cmd, &err) == TS_OK)
				check_cmd(&cmd, sizes[i][0], sizes[i][1]);
			if (iip.action == TS_IIP_CVT &&
			    ts_iip_cvt_cmd(&iip, sizes[i][0], sizes[i][1], &cmd, &err) == TS_OK)
				check_cmd(&cmd, sizes[i][0], sizes[i][1]);
			if (iip.action == TS_IIP_OBJ)
				ts_iip_format_objects(&iip, &img, &b, &err);
		}
		if (iip.action == TS_IIP_PASSTHROUGH && (!iip.path || iip.path[0] != '/'))
			abort();
	}
	ts_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct ts_arena *a;
	char *s;

	if (size > 4096)
		return 0;
	if (!a && !(a = ts_arena_create()))
		return 0;
	s = ts_arena_strndup(a, (const char *)data, size);   /* stops at a NUL */
	if (s)
		run(a, s);
	ts_arena_reset(a);
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
