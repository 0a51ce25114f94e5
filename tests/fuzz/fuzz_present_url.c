/*
 * fuzz_present_url.c - fuzz target for the Presentation URL forms
 * (src/proto/presentation.c).
 *
 * The input is one path after "/iiif".  Whatever it is, the parser must
 * return without reading out of bounds, and a recognised form must hold
 * what the handler relies on: a path with no NUL inside and never a ".."
 * that survives as more than a name (the catalogue refuses those later,
 * but the parser must still hand over a proper C string), a part kind and
 * name for parts, a version of 2 or 3 (abort() otherwise).
 *
 * Build with libFuzzer (make fuzz), or with -DTS_FUZZ_STANDALONE to replay
 * the files named on the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tessera/arena.h"
#include "tessera/present_url.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static struct ts_arena *a;
	struct ts_present_url u;
	char *s;

	if (!a)
		a = ts_arena_create();
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (int dv = 2; dv <= 3; dv++) {
		ts_present_url_parse(s, dv, a, &u);
		if (u.route == TS_PURL_NONE)
			continue;
		if ((u.version != 2 && u.version != 3) || !u.path || !u.raw_id)
			abort();
		if (u.route != TS_PURL_COLLECTION && !*u.path)
			abort();
		if (u.route == TS_PURL_PART && (!u.part_kind || !u.part_name || !*u.part_name))
			abort();
		if (strlen(u.raw_id) > size)
			abort();
	}
	ts_arena_reset(a);
	free(s);
	return 0;
}

#ifdef TS_FUZZ_STANDALONE
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		unsigned char buf[65536];
		size_t n;

		if (!f)
			continue;
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
