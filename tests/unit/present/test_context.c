/*
 * test_context.c - ts_present_ctx_init: every field of the context and of
 * the probes comes from what the caller hands over, and nothing stale of
 * a previous use survives (the daemon and `tessera manifest` both rely on
 * it for the same Manifest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tessera/present.h"
#include "tessera/resolve.h"
#include "tessera/settings.h"

static char dir[64];

static void every_field_comes_from_the_arguments(void)
{
	struct ts_resolver *res;
	struct ts_error err;
	struct ts_settings s;
	struct ts_present_ctx c;
	struct ts_present_probes pp;
	struct ts_limits limits;
	struct ts_source_limits slim;
	bool formats[8] = { true, false, true, false, false, false, false, true };
	int marker;

	ts_error_clear(&err);
	res = ts_resolver_create(dir, "", &err);
	EXPECT(res != NULL);
	if (!res)
		return;
	memset(&s, 0, sizeof s);
	s.max_decode_pixels = 123456789;
	memset(&limits, 0, sizeof limits);
	memset(&slim, 0, sizeof slim);
	/* stale values that must not survive */
	memset(&c, 0xA5, sizeof c);
	memset(&pp, 0xA5, sizeof pp);
	ts_present_ctx_init(&c, &pp, &s, res, 7, "https://example.org", &limits, formats, &slim,
	                    (struct ts_probe_cache *)&marker);
	EXPECT_EQ_INT(c.root_fd, 7);
	EXPECT_EQ_STR(c.root_path, ts_resolver_root(res));
	EXPECT_EQ_STR(c.base, "https://example.org");
	EXPECT(c.limits == &limits);
	EXPECT(c.max_decode_pixels == 123456789);
	EXPECT(memcmp(c.formats, formats, sizeof formats) == 0);
	EXPECT(c.image_service2);
	EXPECT(c.probe_image == ts_present_probe_image);
	EXPECT(c.probe_media == ts_present_probe_media);
	EXPECT(c.probe_arg == &pp);
	EXPECT(c.csv_memo == NULL);
	EXPECT(c.watch_dir == NULL);
	EXPECT(c.watch_arg == NULL);
	EXPECT(pp.resolver == res);
	EXPECT(pp.limits == &slim);
	EXPECT(pp.cache == (struct ts_probe_cache *)&marker);
	ts_resolver_destroy(res);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/tessera-ctx-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(every_field_comes_from_the_arguments);
	rmdir(dir);
	return CHECK_DONE();
}
