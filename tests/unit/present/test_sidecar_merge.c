/*
 * test_sidecar_merge.c - an item's own iiif.json over its metadata.csv row
 * (presentation.md §3): own wins field by field, what own lacks comes from
 * the row, metadata is one field, and the row is left empty.
 */
#include <stdlib.h>
#include "check.h"
#include "tessera/sidecar.h"

static struct ts_sidecar own, row;

static const char *dump(const json_t *v)
{
	static char buf[2048];
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;

	snprintf(buf, sizeof buf, "%s", s ? s : "(null)");
	free(s);
	return buf;
}

/* Parses both sides (JSON with ' for "), then merges row into own. */
static void merge(const char *own_json, const char *row_json)
{
	char buf[2048], *p;
	struct ts_error err;

	ts_sidecar_free(&own);
	ts_sidecar_free(&row);
	snprintf(buf, sizeof buf, "%s", own_json);
	for (p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	EXPECT_EQ_INT(ts_sidecar_parse(buf, strlen(buf), TS_SIDECAR_ITEM, &own, &err), 0);
	snprintf(buf, sizeof buf, "%s", row_json);
	for (p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	EXPECT_EQ_INT(ts_sidecar_parse(buf, strlen(buf), TS_SIDECAR_ITEM, &row, &err), 0);
	ts_sidecar_merge(&own, &row);
}

static int row_is_empty(void)
{
	struct ts_sidecar zero;
	memset(&zero, 0, sizeof zero);
	return memcmp(&row, &zero, sizeof row) == 0;
}

static void own_values_win_and_the_row_fills_the_gaps(void)
{
	merge("{'label': 'Own', 'navDate': '1900-01-01T00:00:00Z'}",
	      "{'label': 'Row', 'summary': 'Row summary', 'navDate': '1871-04-02T00:00:00Z', "
	      "'rights': 'http://creativecommons.org/licenses/by/4.0/', "
	      "'requiredStatement': {'label': 'a', 'value': 'b'}, 'homepage': 'https://a.org/', "
	      "'provider': {'id': 'https://a.org/', 'label': 'A'}}");
	EXPECT_EQ_STR(dump(own.label), "{\"none\":[\"Own\"]}");
	EXPECT_EQ_STR(own.nav_date, "1900-01-01T00:00:00Z");
	EXPECT_EQ_STR(dump(own.summary), "{\"none\":[\"Row summary\"]}");
	EXPECT_EQ_STR(own.rights, "http://creativecommons.org/licenses/by/4.0/");
	EXPECT(own.required_statement != NULL);
	EXPECT_EQ_STR(own.homepage, "https://a.org/");
	EXPECT(own.provider && strcmp(own.provider->id, "https://a.org/") == 0);
	EXPECT(row_is_empty());
}

static void own_metadata_replaces_the_rows_whole_list(void)
{
	merge("{'metadata': [{'label': 'Note', 'value': 'own'}]}",
	      "{'metadata': [{'label': 'Creator', 'value': 'W'}, {'label': 'Note', 'value': 'row'}]}");
	EXPECT_EQ_STR(dump(own.metadata), "[{\"label\":{\"none\":[\"Note\"]},\"value\":{\"none\":[\"own\"]}}]");
	/* An empty list given is a list: it drops the row's. */
	merge("{'metadata': []}", "{'metadata': [{'label': 'Creator', 'value': 'W'}]}");
	EXPECT_EQ_STR(dump(own.metadata), "[]");
	/* No list: the row's. */
	merge("{}", "{'metadata': [{'label': 'Creator', 'value': 'W'}]}");
	EXPECT_EQ_STR(dump(own.metadata), "[{\"label\":{\"none\":[\"Creator\"]},\"value\":{\"none\":[\"W\"]}}]");
	EXPECT(row_is_empty());
}

static void arrays_come_whole_from_one_side(void)
{
	merge("{'items': [], 'behavior': ['paged']}",
	      "{'items': ['a', 'b'], 'behavior': ['individuals', 'repeat'], 'exclude': ['x'], "
	      "'structures': [{'label': 'r', 'items': ['a']}]}");
	EXPECT_EQ_INT(own.nitems, 2);
	EXPECT_EQ_STR(own.items[1].file, "b");
	EXPECT_EQ_INT(own.nbehavior, 1);
	EXPECT_EQ_STR(own.behavior[0], "paged");
	EXPECT_EQ_INT(own.nexclude, 1);
	EXPECT_EQ_INT(own.nstructures, 1);
	EXPECT(row_is_empty());
}

static void both_warnings_are_kept(void)
{
	merge("{'rights': 'https://creativecommons.org/licenses/by/4.0/'}",
	      "{'rights': 'https://creativecommons.org/licenses/by-sa/4.0/'}");
	EXPECT_EQ_STR(own.rights, "http://creativecommons.org/licenses/by/4.0/");
	EXPECT(own.warning && strstr(own.warning, "licenses/by/") && strstr(own.warning, "; ") &&
	       strstr(own.warning, "by-sa"));
	merge("{}", "{'rights': 'https://creativecommons.org/licenses/by-sa/4.0/'}");
	EXPECT(own.warning && strstr(own.warning, "by-sa"));
}

static void own_language_stays(void)
{
	merge("{'language': 'de', 'label': 'Brief'}", "{'language': 'en', 'summary': 'x'}");
	EXPECT_EQ_STR(own.language, "de");
	EXPECT_EQ_STR(dump(own.summary), "{\"en\":[\"x\"]}");
}

static void null_sides_are_ignored(void)
{
	ts_sidecar_merge(NULL, &row);
	ts_sidecar_merge(&own, NULL);
	ts_sidecar_merge(NULL, NULL);
}

int main(void)
{
	RUN(own_values_win_and_the_row_fills_the_gaps);
	RUN(own_metadata_replaces_the_rows_whole_list);
	RUN(arrays_come_whole_from_one_side);
	RUN(both_warnings_are_kept);
	RUN(own_language_stays);
	RUN(null_sides_are_ignored);
	ts_sidecar_free(&own);
	ts_sidecar_free(&row);
	return CHECK_DONE();
}
