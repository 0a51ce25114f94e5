/*
 * test_lint.c - `tessera manifest --check`'s walk: every problem of a tree
 * is one line naming its path and field, each is reported once however
 * many builds meet it, a broken file does not hide a sidecar's problems,
 * and a 2,500-canvas item is still checked (its structures too).
 */
#include <errno.h>

#include "check.h"
#include "present_fixture.h"

struct lines {
	char *line[64];
	int n;
};

static void collect(void *arg, const char *line)
{
	struct lines *l = arg;

	if (l->n < 64)
		l->line[l->n++] = strdup(line);
}

static void lines_free(struct lines *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->line[i]);
	l->n = 0;
}

/* How many lines start with prefix and contain part (NULL: anything). */
static int count(const struct lines *l, const char *prefix, const char *part)
{
	int n = 0;

	for (int i = 0; i < l->n; i++)
		if (strncmp(l->line[i], prefix, strlen(prefix)) == 0 &&
		    (!part || strstr(l->line[i], part)))
			n++;
	return n;
}

static void dump(const struct lines *l)
{
	for (int i = 0; i < l->n; i++)
		fprintf(stderr, "    | %s\n", l->line[i]);
}

static void a_clean_tree_has_no_problem_and_counts_what_it_publishes(void)
{
	struct pf_root r;
	struct lines l = { .n = 0 };
	struct ts_present_lint_counts n;
	struct ts_error err;

	pf_create(&r);
	pf_mkdir(&r, "a");
	pf_mkdir(&r, "b");
	pf_tiff(&r, "a/p1.tif", 100, 80, 1);
	pf_tiff(&r, "b/p1.tif", 100, 80, 1);
	pf_tiff(&r, "c.tif", 50, 50, 1);
	pf_file(&r, "notes.txt", "not published, not a problem");
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "", collect, &l, &n, &err), TS_OK);
	EXPECT_EQ_INT(n.problems, 0);
	EXPECT_EQ_INT(l.n, 0);
	EXPECT_EQ_INT(n.items, 3);          /* a, b and the loose c.tif */
	EXPECT_EQ_INT(n.collections, 1);    /* the root */
	if (l.n)
		dump(&l);
	lines_free(&l);
	pf_destroy(&r);
}

static void each_problem_is_one_line_naming_its_path_and_field(void)
{
	struct pf_root r;
	struct lines l = { .n = 0 };
	struct ts_present_lint_counts n;
	struct ts_error err;
	char link[PATH_MAX * 2];

	pf_create(&r);
	r.duration = -1;   /* the media probe finds no duration */
	pf_mkdir(&r, "badjson");
	pf_tiff(&r, "badjson/p1.tif", 64, 64, 1);
	pf_file(&r, "badjson/iiif.json", "{\"label\": ");
	pf_mkdir(&r, "rights");
	pf_tiff(&r, "rights/p1.tif", 64, 64, 1);
	pf_file(&r, "rights/iiif.json", "{\"rights\": \"All rights reserved\"}");
	pf_mkdir(&r, "av");
	pf_file(&r, "av/s.mp3", "ID3 not really");
	pf_mkdir(&r, "empty");
	pf_file(&r, "empty/iiif.json", "{\"label\": \"nothing here\"}");
	pf_mkdir(&r, "struct");
	pf_tiff(&r, "struct/p1.tif", 64, 64, 1);
	pf_file(&r, "struct/iiif.json",
	        "{\"structures\": [{\"label\": \"All\", \"items\": [\"p1.tif\", \"nope.tif\"]}]}");
	pf_mkdir(&r, "broken");
	pf_file(&r, "broken/p1.tif", "not a TIFF at all");
	pf_tiff(&r, "broken/p2.tif", 64, 64, 1);
	snprintf(link, sizeof link, "%s/out.tif", r.path);
	EXPECT(symlink("/etc/hostname", link) == 0);
	snprintf(link, sizeof link, "%s/escape", r.path);
	EXPECT(symlink("/etc", link) == 0);

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "", collect, &l, &n, &err), TS_OK);
	EXPECT_EQ_INT(count(&l, "badjson/iiif.json: ", "JSON"), 1);
	EXPECT_EQ_INT(count(&l, "rights/iiif.json: rights: ", NULL), 1);
	EXPECT_EQ_INT(count(&l, "av/s.mp3: duration: ", "no duration"), 1);
	EXPECT_EQ_INT(count(&l, "empty: items: ", "nothing to paint"), 1);
	EXPECT_EQ_INT(count(&l, "struct/iiif.json: structures[0].items[1]: ", "nope.tif"), 1);
	EXPECT_EQ_INT(count(&l, "broken/p1.tif: image: ", "cannot be read"), 1);
	EXPECT_EQ_INT(count(&l, "out.tif: symlink: ", "out of the root"), 1);
	EXPECT_EQ_INT(count(&l, "escape: symlink: ", "out of the root"), 1);
	EXPECT_EQ_INT(l.n, 8);
	EXPECT_EQ_INT(n.problems, (size_t)l.n);
	EXPECT_EQ_INT(n.items, 5);          /* badjson rights av struct broken */
	if (l.n != 8)
		dump(&l);
	lines_free(&l);
	pf_destroy(&r);
}

static void a_bad_csv_row_met_by_three_builds_is_one_problem(void)
{
	struct pf_root r;
	struct lines l = { .n = 0 };
	struct ts_present_lint_counts n;
	struct ts_error err;

	pf_create(&r);
	pf_mkdir(&r, "coll");
	pf_mkdir(&r, "coll/i1");
	pf_mkdir(&r, "coll/i2");
	pf_tiff(&r, "coll/i1/p1.tif", 64, 64, 1);
	pf_tiff(&r, "coll/i2/p1.tif", 64, 64, 1);
	pf_file(&r, "coll/metadata.csv",
	        "folder,label,rights\n"
	        "i1,First,All rights reserved\n"
	        "i2,Second,http://creativecommons.org/licenses/by/4.0/\n"
	        "ghost,Nobody,\n");
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "", collect, &l, &n, &err), TS_OK);
	/* the row check, the collection's build and i1's build all meet it */
	EXPECT_EQ_INT(count(&l, "coll/metadata.csv, the row of i1: row 2, column rights: ", NULL), 1);
	EXPECT_EQ_INT(count(&l, "coll/metadata.csv: row 4, column folder: ", "ghost"), 1);
	EXPECT_EQ_INT(l.n, 2);
	EXPECT_EQ_INT(n.collections, 2);
	EXPECT_EQ_INT(n.items, 2);
	if (l.n != 2)
		dump(&l);
	lines_free(&l);
	pf_destroy(&r);
}

static void a_broken_file_does_not_hide_the_sidecar_problems(void)
{
	struct pf_root r;
	struct lines l = { .n = 0 };
	struct ts_present_lint_counts n;
	struct ts_error err;

	pf_create(&r);
	pf_mkdir(&r, "x");
	pf_file(&r, "x/p1.tif", "truncated");
	pf_tiff(&r, "x/p2.tif", 64, 64, 1);
	pf_file(&r, "x/iiif.json", "{\"start\": \"p3.tif\"}");
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "x", collect, &l, &n, &err), TS_OK);
	EXPECT_EQ_INT(count(&l, "x/p1.tif: image: ", NULL), 1);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: start: ", NULL), 1);
	EXPECT_EQ_INT(l.n, 2);
	if (l.n != 2)
		dump(&l);
	lines_free(&l);
	pf_destroy(&r);
}

static void every_missing_file_a_sidecar_names_is_reported_not_only_the_first(void)
{
	struct pf_root r;
	struct lines l = { .n = 0 };
	struct ts_present_lint_counts n;
	struct ts_error err;

	pf_create(&r);
	pf_mkdir(&r, "x");
	pf_tiff(&r, "x/p1.tif", 64, 64, 1);
	pf_tiff(&r, "x/p2.tif", 64, 64, 1);
	pf_file(&r, "x/iiif.json",
	        "{\"items\": [\"p1.tif\", \"ghost.tif\", {\"file\": \"p2.tif\", \"thumbnail\": \"th.tif\"}],"
	        " \"rendering\": [{\"file\": \"none.pdf\"}], \"start\": \"zz.tif\","
	        " \"structures\": [{\"label\": \"a\", \"items\": [\"q.tif\", {\"label\": \"b\","
	        " \"items\": [\"p1.tif\", \"r.tif\"]}]}]}");
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "x", collect, &l, &n, &err), TS_OK);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: items[1].file: ", NULL), 1);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: items[2].thumbnail: ", NULL), 1);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: rendering[0].file: ", NULL), 1);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: start: ", NULL), 1);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: structures[0].items[0]: ", "q.tif"), 1);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: structures[0].items[1].items[1]: ", "r.tif"), 1);
	EXPECT_EQ_INT(l.n, 6);
	if (l.n != 6)
		dump(&l);
	lines_free(&l);
	/* once the items are right, the structures are checked against the canvases */
	pf_file(&r, "x/iiif.json",
	        "{\"structures\": [{\"label\": \"a\", \"items\": [\"q.tif\", \"p1.tif\", \"r.tif\"]}]}");
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "x", collect, &l, &n, &err), TS_OK);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: structures[0].items[0]: ", "q.tif"), 1);
	EXPECT_EQ_INT(count(&l, "x/iiif.json: structures[0].items[2]: ", "r.tif"), 1);
	EXPECT_EQ_INT(l.n, 2);
	lines_free(&l);
	pf_destroy(&r);
}

static void a_large_item_is_checked_structures_included(void)
{
	struct pf_root r;
	struct lines l = { .n = 0 };
	struct ts_present_lint_counts n;
	struct ts_error err;
	char first[PATH_MAX * 2], p[PATH_MAX * 2];

	pf_create(&r);
	pf_mkdir(&r, "big");
	pf_tiff(&r, "big/p0.tif", 64, 48, 1);
	snprintf(first, sizeof first, "%s/big/p0.tif", r.path);
	for (int i = 1; i < 2500; i++) {
		snprintf(p, sizeof p, "%s/big/p%d.tif", r.path, i);
		if (link(first, p) != 0)
			break;
	}
	pf_file(&r, "big/iiif.json",
	        "{\"start\": \"p2400.tif\", \"structures\": [{\"label\": \"Parts\", \"items\": ["
	        "\"p1999.tif\", {\"label\": \"Deep\", \"items\": [\"p2499.tif\", \"p9999.tif\"]}]}]}");
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "big", collect, &l, &n, &err), TS_OK);
	EXPECT_EQ_INT(count(&l, "big/iiif.json: structures[0].items[1].items[1]: ", "p9999.tif"), 1);
	EXPECT_EQ_INT(l.n, 1);
	EXPECT_EQ_INT(n.items, 1);
	if (l.n != 1)
		dump(&l);
	lines_free(&l);
	pf_destroy(&r);
}

static void one_file_is_checked_alone_and_a_missing_path_is_not_found(void)
{
	struct pf_root r;
	struct lines l = { .n = 0 };
	struct ts_present_lint_counts n;
	struct ts_error err;

	pf_create(&r);
	pf_mkdir(&r, "x");
	pf_file(&r, "x/p1.tif", "truncated");
	pf_tiff(&r, "x/p2.tif", 64, 64, 1);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "x/p1.tif", collect, &l, &n, &err), TS_OK);
	EXPECT_EQ_INT(l.n, 1);
	EXPECT_EQ_INT(count(&l, "x/p1.tif: image: ", NULL), 1);
	EXPECT_EQ_INT(n.items, 1);
	lines_free(&l);
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "x/none.tif", collect, &l, &n, &err), TS_ENOTFOUND);
	EXPECT(strstr(err.msg, "x/none.tif") != NULL);
	EXPECT_EQ_INT(ts_present_lint(&r.ctx, "x/../x", collect, &l, &n, &err), TS_ENOTFOUND);
	lines_free(&l);
	pf_destroy(&r);
}

int main(void)
{
	RUN(a_clean_tree_has_no_problem_and_counts_what_it_publishes);
	RUN(each_problem_is_one_line_naming_its_path_and_field);
	RUN(a_bad_csv_row_met_by_three_builds_is_one_problem);
	RUN(a_broken_file_does_not_hide_the_sidecar_problems);
	RUN(every_missing_file_a_sidecar_names_is_reported_not_only_the_first);
	RUN(a_large_item_is_checked_structures_included);
	RUN(one_file_is_checked_alone_and_a_missing_path_is_not_found);
	return CHECK_DONE();
}
