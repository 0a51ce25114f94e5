/*
 * test_catalogue.c - one folder read as the Presentation builder sees it:
 * natural order, classification by the file-type table, ignored names,
 * confinement to the root, and a fingerprint that changes when a file is
 * rewritten in place.
 */
#include <sys/time.h>

#include "check.h"
#include "present_fixture.h"

static void natural_order_puts_p2_before_p10_whatever_the_case(void)
{
	EXPECT(ts_catalogue_natcmp("p2", "p10") < 0);
	EXPECT(ts_catalogue_natcmp("p10", "p2") > 0);
	EXPECT(ts_catalogue_natcmp("P3", "p10") < 0);
	EXPECT(ts_catalogue_natcmp("p2", "P3") < 0);
	EXPECT(ts_catalogue_natcmp("a", "B") < 0);
	EXPECT(ts_catalogue_natcmp("page9.tif", "page10.tif") < 0);
	EXPECT(ts_catalogue_natcmp("x99999999999999999999", "x100000000000000000000") < 0);
	/* a total order: equal-looking names still differ */
	EXPECT(ts_catalogue_natcmp("p01", "p1") != 0);
	EXPECT(ts_catalogue_natcmp("p01", "p1") == -ts_catalogue_natcmp("p1", "p01"));
	EXPECT(ts_catalogue_natcmp("A", "a") != 0);
	EXPECT_EQ_INT(ts_catalogue_natcmp("same", "same"), 0);
}

static void painting_priority_is_model_video_sound_image_text(void)
{
	EXPECT(ts_catalogue_paint_rank(TS_MEDIA_MODEL) > ts_catalogue_paint_rank(TS_MEDIA_VIDEO));
	EXPECT(ts_catalogue_paint_rank(TS_MEDIA_VIDEO) > ts_catalogue_paint_rank(TS_MEDIA_SOUND));
	EXPECT(ts_catalogue_paint_rank(TS_MEDIA_SOUND) > ts_catalogue_paint_rank(TS_MEDIA_IMAGE));
	EXPECT(ts_catalogue_paint_rank(TS_MEDIA_IMAGE) > ts_catalogue_paint_rank(TS_MEDIA_TEXT));
	EXPECT_EQ_INT(ts_catalogue_paint_rank(TS_MEDIA_CAPTIONS), 0);
	EXPECT_EQ_INT(ts_catalogue_paint_rank(TS_MEDIA_SEEALSO), 0);
}

static void a_scan_lists_folders_and_published_files_in_natural_order(void)
{
	struct pf_root r;
	struct ts_catalogue c;
	struct ts_error err;

	pf_create(&r);
	pf_file(&r, "p10.tif", "x");
	pf_file(&r, "p2.tif", "x");
	pf_file(&r, "P3.TIF", "x");
	pf_file(&r, "notes.txt", "not published");
	pf_file(&r, ".hidden.tif", "x");
	pf_file(&r, "_private.tif", "x");
	pf_file(&r, "p2.xml", "<alto/>");
	pf_file(&r, "iiif.json", "{\"label\": \"x\"}");
	pf_mkdir(&r, "sub");
	pf_mkdir(&r, "_drafts");
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "", &c, &err), TS_OK);
	EXPECT_EQ_INT(c.n, 5);
	if (c.n == 5) {
		EXPECT_EQ_STR(c.entries[0].name, "p2.tif");
		EXPECT_EQ_STR(c.entries[1].name, "p2.xml");
		EXPECT_EQ_STR(c.entries[2].name, "P3.TIF");
		EXPECT_EQ_STR(c.entries[3].name, "p10.tif");
		EXPECT_EQ_STR(c.entries[4].name, "sub");
		EXPECT(c.entries[0].type && c.entries[0].type->kind == TS_MEDIA_IMAGE);
		EXPECT(c.entries[1].type && c.entries[1].type->kind == TS_MEDIA_SEEALSO);
		EXPECT(c.entries[2].type && strcmp(c.entries[2].type->mime, "image/tiff") == 0);
		EXPECT(c.entries[4].is_dir && !c.entries[4].type);
	}
	EXPECT(c.sidecar && strstr(c.sidecar, "label"));
	EXPECT(!c.csv && !c.manifest);
	ts_catalogue_free(&c);
	pf_destroy(&r);
}

static void the_fingerprint_changes_when_a_file_is_rewritten_in_place(void)
{
	struct pf_root r;
	struct ts_catalogue c;
	struct ts_error err;
	struct timeval tv[2];
	char p[PATH_MAX * 2];
	uint64_t a, b, c2, d;

	pf_create(&r);
	pf_mkdir(&r, "item");
	pf_file(&r, "item/p1.tif", "aaaa");
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "item", &c, &err), TS_OK);
	a = c.fingerprint;
	ts_catalogue_free(&c);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "item", &c, &err), TS_OK);
	b = c.fingerprint;
	ts_catalogue_free(&c);
	EXPECT(a == b);   /* stable while nothing changes */
	/* same name, same size, another mtime: the folder's own mtime would
	 * not change, the fingerprint must */
	pf_file(&r, "item/p1.tif", "bbbb");
	snprintf(p, sizeof p, "%s/item/p1.tif", r.path);
	tv[0].tv_sec = tv[1].tv_sec = 1000000;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	utimes(p, tv);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "item", &c, &err), TS_OK);
	c2 = c.fingerprint;
	ts_catalogue_free(&c);
	EXPECT(c2 != a);
	/* a sidecar's bytes count too */
	pf_file(&r, "item/iiif.json", "{}");
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "item", &c, &err), TS_OK);
	d = c.fingerprint;
	ts_catalogue_free(&c);
	EXPECT(d != c2);
	pf_destroy(&r);
}

static void paths_that_leave_the_root_or_are_hidden_are_not_found(void)
{
	struct pf_root r;
	struct ts_catalogue c;
	struct ts_error err;
	char link[PATH_MAX * 2];

	pf_create(&r);
	pf_mkdir(&r, "a");
	pf_mkdir(&r, ".git");
	pf_mkdir(&r, "_work");
	snprintf(link, sizeof link, "%s/out", r.path);
	EXPECT(symlink("/etc", link) == 0);
	snprintf(link, sizeof link, "%s/a/passwd.tif", r.path);
	EXPECT(symlink("/etc/passwd", link) == 0);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "..", &c, &err), TS_ENOTFOUND);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "a/..", &c, &err), TS_ENOTFOUND);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, ".git", &c, &err), TS_ENOTFOUND);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "_work", &c, &err), TS_ENOTFOUND);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "out", &c, &err), TS_ENOTFOUND);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "a/", &c, &err), TS_ENOTFOUND);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "/a", &c, &err), TS_ENOTFOUND);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "a//b", &c, &err), TS_ENOTFOUND);
	/* the link out of the root is not listed, neither as folder nor file */
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "", &c, &err), TS_OK);
	EXPECT_EQ_INT(c.n, 1);
	ts_catalogue_free(&c);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "a", &c, &err), TS_OK);
	EXPECT_EQ_INT(c.n, 0);
	ts_catalogue_free(&c);
	pf_destroy(&r);
}

static void a_symlink_to_a_file_inside_the_root_is_kept(void)
{
	struct pf_root r;
	struct ts_catalogue c;
	struct ts_error err;
	char link[PATH_MAX * 2];

	pf_create(&r);
	pf_mkdir(&r, "a");
	pf_file(&r, "a/real.tif", "x");
	snprintf(link, sizeof link, "%s/a/alias.tif", r.path);
	EXPECT(symlink("real.tif", link) == 0);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "a", &c, &err), TS_OK);
	EXPECT_EQ_INT(c.n, 2);
	ts_catalogue_free(&c);
	pf_destroy(&r);
}

static void holding_media_looks_into_sub_folders(void)
{
	struct pf_root r;

	pf_create(&r);
	pf_mkdir(&r, "coll");
	pf_mkdir(&r, "coll/deep");
	pf_mkdir(&r, "coll/deep/er");
	pf_mkdir(&r, "empty");
	pf_mkdir(&r, "texts");
	pf_file(&r, "coll/deep/er/a.mp3", "x");
	pf_file(&r, "texts/a.xml", "x");
	pf_file(&r, "empty/notes.txt", "x");
	EXPECT(ts_catalogue_holds_media(r.fd, r.path, "coll"));
	EXPECT(ts_catalogue_holds_media(r.fd, r.path, ""));
	EXPECT(!ts_catalogue_holds_media(r.fd, r.path, "empty"));
	EXPECT(!ts_catalogue_holds_media(r.fd, r.path, "texts"));   /* seeAlso is not painted */
	pf_destroy(&r);
}

static void a_sidecar_over_the_bound_is_an_error_naming_it(void)
{
	struct pf_root r;
	struct ts_catalogue c;
	struct ts_error err;
	char *big = malloc(TS_CATALOGUE_MAX_SIDECAR + 2);

	pf_create(&r);
	pf_mkdir(&r, "x");
	memset(big, ' ', TS_CATALOGUE_MAX_SIDECAR + 1);
	big[TS_CATALOGUE_MAX_SIDECAR + 1] = '\0';
	pf_file(&r, "x/iiif.json", big);
	free(big);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_catalogue_scan(r.fd, r.path, "x", &c, &err), TS_EINTERNAL);
	EXPECT(strstr(err.msg, "x/iiif.json") != NULL);
	pf_destroy(&r);
}

int main(void)
{
	RUN(natural_order_puts_p2_before_p10_whatever_the_case);
	RUN(painting_priority_is_model_video_sound_image_text);
	RUN(a_scan_lists_folders_and_published_files_in_natural_order);
	RUN(the_fingerprint_changes_when_a_file_is_rewritten_in_place);
	RUN(paths_that_leave_the_root_or_are_hidden_are_not_found);
	RUN(a_symlink_to_a_file_inside_the_root_is_kept);
	RUN(holding_media_looks_into_sub_folders);
	RUN(a_sidecar_over_the_bound_is_an_error_naming_it);
	return CHECK_DONE();
}
