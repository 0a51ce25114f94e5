/*
 * test_csv_memo.c - a collection's metadata.csv kept parsed between item
 * builds: the same Manifests and the same error sentences as without the
 * memo, and a CSV rewritten in place read again.
 */
#include "check.h"
#include "present_fixture.h"

/* The item's Manifest with and without the memo: equal bytes, or equal
 * errors.  Returns the first's status. */
static ts_status both_ways(struct pf_root *r, struct ts_present_csv_memo *m, const char *item,
                           struct ts_buf *with)
{
	struct ts_buf without = TS_BUF_INIT;
	struct ts_error e1, e2;
	ts_status s1, s2;

	ts_error_clear(&e1);
	ts_error_clear(&e2);
	ts_buf_clear(with);
	r->ctx.csv_memo = m;
	s1 = ts_present_manifest(&r->ctx, item, 3, NULL, with, &e1);
	r->ctx.csv_memo = NULL;
	s2 = ts_present_manifest(&r->ctx, item, 3, NULL, &without, &e2);
	EXPECT_EQ_INT(s1, s2);
	EXPECT_EQ_STR(e1.msg, e2.msg);
	EXPECT(with->len == without.len && memcmp(with->data, without.data, with->len) == 0);
	ts_buf_free(&without);
	return s1;
}

static void the_memo_changes_nothing_a_build_answers(void)
{
	struct pf_root r;
	struct ts_present_csv_memo m;
	struct ts_buf out = TS_BUF_INIT;

	pf_create(&r);
	memset(&m, 0, sizeof m);
	pf_mkdir(&r, "c");
	pf_file(&r, "c/iiif.json", "{\"language\": \"en\"}");
	for (int i = 1; i <= 3; i++) {
		char p[64];
		snprintf(p, sizeof p, "c/i%d", i);
		pf_mkdir(&r, p);
		snprintf(p, sizeof p, "c/i%d/p1.tif", i);
		pf_tiff(&r, p, 64, 64, 1);
	}
	pf_file(&r, "c/metadata.csv", "folder,label,Creator\ni1,One,A\ni2,Two,B\n");
	EXPECT_EQ_INT(both_ways(&r, &m, "c/i1", &out), TS_OK);
	EXPECT(strstr((char *)out.data, "\"One\"") != NULL);
	EXPECT_EQ_INT(both_ways(&r, &m, "c/i2", &out), TS_OK);
	EXPECT(strstr((char *)out.data, "\"Two\"") != NULL);
	EXPECT(strstr((char *)out.data, "\"en\"") != NULL);   /* the collection's language */
	EXPECT_EQ_INT(both_ways(&r, &m, "c/i3", &out), TS_OK);   /* no row */
	/* rewritten in place: read again */
	pf_file(&r, "c/metadata.csv", "folder,label\ni1,Uno\n");
	EXPECT_EQ_INT(both_ways(&r, &m, "c/i1", &out), TS_OK);
	EXPECT(strstr((char *)out.data, "\"Uno\"") != NULL);
	/* a bad row, then a CSV that does not parse: the same sentences */
	pf_file(&r, "c/metadata.csv", "folder,rights\ni1,All rights reserved\n");
	EXPECT_EQ_INT(both_ways(&r, &m, "c/i1", &out), TS_EINTERNAL);
	pf_file(&r, "c/metadata.csv", "folder,label\ni1,\"unterminated\n");
	EXPECT_EQ_INT(both_ways(&r, &m, "c/i1", &out), TS_EINTERNAL);
	EXPECT_EQ_INT(both_ways(&r, &m, "c/i2", &out), TS_EINTERNAL);
	/* removed: no row at all */
	{
		char p[PATH_MAX * 2];
		snprintf(p, sizeof p, "%s/c/metadata.csv", r.path);
		unlink(p);
	}
	EXPECT_EQ_INT(both_ways(&r, &m, "c/i1", &out), TS_OK);
	ts_buf_free(&out);
	ts_present_csv_memo_free(&m);
	pf_destroy(&r);
}

int main(void)
{
	RUN(the_memo_changes_nothing_a_build_answers);
	return CHECK_DONE();
}
