/*
 * test_context.c - ts_present_ctx_init: every field of the context and of
 * the probes comes from what the caller hands over, and nothing stale of
 * a previous use survives (the daemon and `tessera manifest` both rely on
 * it for the same Manifest); a request's listing memo gives later readers
 * the listing the first one read.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	EXPECT(c.scan_memo == NULL);
	EXPECT(pp.resolver == res);
	EXPECT(pp.limits == &slim);
	EXPECT(pp.cache == (struct ts_probe_cache *)&marker);
	ts_resolver_destroy(res);
}

static bool same_listing(const struct ts_catalogue *a, const struct ts_catalogue *b)
{
	if (strcmp(a->rel, b->rel) != 0 || a->n != b->n || a->fingerprint != b->fingerprint ||
	    a->mtime != b->mtime || (a->sidecar == NULL) != (b->sidecar == NULL) ||
	    (a->sidecar && strcmp(a->sidecar, b->sidecar) != 0))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->entries[i].name, b->entries[i].name) != 0 ||
		    a->entries[i].is_dir != b->entries[i].is_dir ||
		    a->entries[i].st.st_ino != b->entries[i].st.st_ino)
			return false;
	return true;
}

static void a_request_lists_a_folder_once_through_its_memo(void)
{
	struct ts_present_ctx c;
	struct ts_catalogue memo, first, again, plain, other;
	struct ts_error err;
	char path[128];
	int root_fd = open(dir, O_RDONLY | O_DIRECTORY);
	FILE *f;

	EXPECT(root_fd >= 0);
	snprintf(path, sizeof path, "%s/book", dir);
	EXPECT(mkdir(path, 0755) == 0);
	snprintf(path, sizeof path, "%s/book/p1.jpg", dir);
	f = fopen(path, "w");
	EXPECT(f != NULL);
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "%s/book/iiif.json", dir);
	f = fopen(path, "w");
	if (f) {
		fputs("{\"label\": \"Book\"}", f);
		fclose(f);
	}
	memset(&c, 0, sizeof c);
	memset(&memo, 0, sizeof memo);
	c.root_fd = root_fd;
	c.root_path = dir;
	c.scan_memo = &memo;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_scan(&c, "book", &first, &err), TS_OK);
	EXPECT_EQ_INT(ts_catalogue_scan(root_fd, dir, "book", &plain, &err), TS_OK);
	EXPECT(same_listing(&first, &plain));
	/* a page removed since: the request still reads the listing it hashed */
	snprintf(path, sizeof path, "%s/book/p1.jpg", dir);
	unlink(path);
	EXPECT_EQ_INT(ts_present_scan(&c, "book", &again, &err), TS_OK);
	EXPECT(same_listing(&again, &first));
	EXPECT(again.entries != first.entries && again.sidecar != first.sidecar);
	/* another folder is listed anew and becomes the memo */
	EXPECT_EQ_INT(ts_present_scan(&c, "", &other, &err), TS_OK);
	EXPECT_EQ_STR(memo.rel, "");
	/* without a memo: a scan each time */
	c.scan_memo = NULL;
	ts_catalogue_free(&again);
	EXPECT_EQ_INT(ts_present_scan(&c, "book", &again, &err), TS_OK);
	EXPECT_EQ_INT(again.n, 0);
	ts_catalogue_free(&first);
	ts_catalogue_free(&again);
	ts_catalogue_free(&plain);
	ts_catalogue_free(&other);
	ts_catalogue_free(&memo);
	snprintf(path, sizeof path, "%s/book/iiif.json", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/book", dir);
	rmdir(path);
	close(root_fd);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/tessera-ctx-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(every_field_comes_from_the_arguments);
	RUN(a_request_lists_a_folder_once_through_its_memo);
	rmdir(dir);
	return CHECK_DONE();
}
