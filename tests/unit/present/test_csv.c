/*
 * test_csv.c - metadata.csv (presentation.md §3): RFC 4180 reading, each
 * malformed file refused with its row (and column), rows turned into
 * sidecar fields, and an item's own sidecar merged over its row.
 */
#include <stdlib.h>
#include "check.h"
#include "tessera/sidecar.h"
#include "tessera/status.h"

static struct ts_csv csv;
static struct ts_error err;

static ts_status parse_len(const char *text, size_t len)
{
	ts_status st;

	ts_csv_free(&csv);
	ts_error_clear(&err);
	st = ts_csv_parse(text, len, &csv, &err);
	if (st != TS_OK) {
		const char *p;
		EXPECT_EQ_INT(err.status, st);
		EXPECT(err.msg[0] != '\0');
		for (p = err.msg; *p; p++)
			EXPECT((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	return st;
}

static ts_status parse(const char *text)
{
	return parse_len(text, strlen(text));
}

static const char *dump(const json_t *v)
{
	static char buf[4096];
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;

	snprintf(buf, sizeof buf, "%s", s ? s : "(null)");
	free(s);
	return buf;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define EXPECT_MSG_STARTS(prefix) do { \
	if (!starts_with(err.msg, prefix)) { \
		printf("    %s:%d: message \"%s\" does not start with \"%s\"\n", \
		       __FILE__, __LINE__, err.msg, prefix); \
		check_current_failed = 1; \
	} } while (0)

/* The file is refused (400) with a message starting with prefix. */
#define EXPECT_CSV_REFUSED(text, prefix) do { \
	EXPECT_EQ_INT(parse(text), 400); \
	EXPECT_MSG_STARTS(prefix); \
	} while (0)

/* ---- RFC 4180 ---------------------------------------------------------------- */

static void a_simple_file_gives_a_header_and_rows(void)
{
	EXPECT_EQ_INT(parse("folder,label,Creator\na,Letter A,Writer\nb,Letter B,\n"), 0);
	EXPECT_EQ_INT(csv.ncols, 3);
	EXPECT_EQ_INT(csv.nrows, 2);
	EXPECT_EQ_INT(csv.key_col, 0);
	EXPECT_EQ_STR(csv.header[2], "Creator");
	EXPECT_EQ_STR(csv.rows[0][1], "Letter A");
	EXPECT_EQ_STR(csv.rows[1][2], "");
	EXPECT_EQ_INT(csv.lines[1], 3);
}

static void crlf_lone_cr_and_a_last_line_without_newline_all_end_rows(void)
{
	EXPECT_EQ_INT(parse("file,x\r\na,1\r\nb,2\rc,3"), 0);
	EXPECT_EQ_INT(csv.nrows, 3);
	EXPECT_EQ_STR(csv.rows[0][1], "1");
	EXPECT_EQ_STR(csv.rows[1][1], "2");
	EXPECT_EQ_STR(csv.rows[2][0], "c");
	EXPECT_EQ_STR(csv.rows[2][1], "3");
}

static void a_byte_order_mark_is_skipped(void)
{
	EXPECT_EQ_INT(parse("\xef\xbb\xbf" "Folder,x\na,1\n"), 0);
	EXPECT_EQ_STR(csv.header[0], "Folder");
	EXPECT_EQ_INT(csv.key_col, 0);
}

static void quoted_fields_hold_commas_newlines_and_doubled_quotes(void)
{
	EXPECT_EQ_INT(parse("x,FILE\n\"a, b\",\"p1.tif\"\n\"line one\r\nline two\",q\n\"say \"\"hi\"\"\",r\n\"\",s"), 0);
	EXPECT_EQ_INT(csv.key_col, 1);
	EXPECT_EQ_INT(csv.nrows, 4);
	EXPECT_EQ_STR(csv.rows[0][0], "a, b");
	EXPECT_EQ_STR(csv.rows[0][1], "p1.tif");
	EXPECT_EQ_STR(csv.rows[1][0], "line one\r\nline two");
	EXPECT_EQ_STR(csv.rows[2][0], "say \"hi\"");
	EXPECT_EQ_STR(csv.rows[3][0], "");
	/* Row numbers count records, not lines. */
	EXPECT_EQ_INT(csv.lines[2], 4);
}

static void header_names_are_trimmed(void)
{
	EXPECT_EQ_INT(parse(" folder , Title@fr \na,b\n"), 0);
	EXPECT_EQ_STR(csv.header[0], "folder");
	EXPECT_EQ_STR(csv.header[1], "Title@fr");
}

static void short_rows_are_padded_and_long_rows_refused(void)
{
	EXPECT_EQ_INT(parse("folder,a,b\nx\ny,1,2,,\n"), 0);
	EXPECT_EQ_STR(csv.rows[0][1], "");
	EXPECT_EQ_STR(csv.rows[0][2], "");
	EXPECT_EQ_STR(csv.rows[1][2], "2");
	EXPECT_CSV_REFUSED("folder,a,b\nx,1,2\ny,1,2,3\n", "row 3: has 4 cells but the header has 3 columns");
}

static void blank_rows_are_skipped_and_rows_keep_their_numbers(void)
{
	EXPECT_EQ_INT(parse("folder,a\n\nx,1\n,\n\ny,2\n\n"), 0);
	EXPECT_EQ_INT(csv.nrows, 2);
	EXPECT_EQ_INT(csv.lines[0], 3);
	EXPECT_EQ_INT(csv.lines[1], 6);
	EXPECT_CSV_REFUSED("folder,a\n\nx,1\n\nx,2\n", "row 5, column folder: \"x\" is also named in row 3");
}

static void the_header_must_name_a_folder_or_file_column(void)
{
	EXPECT_CSV_REFUSED("name,label\na,b\n", "row 1: the header row has no \"folder\" or \"file\" column");
	EXPECT_CSV_REFUSED("folder,File\na,b\n", "row 1: has both a \"folder\" and a \"File\" column");
	EXPECT_CSV_REFUSED("folder,Title,title\na,b,c\n", "row 1, column 3: \"title\" is also the header of column 2");
	EXPECT_CSV_REFUSED("folder;label\na;b\n", "row 1: the header row has no \"folder\" or \"file\" column; "
	                   "the file seems to separate columns with ';'");
	EXPECT_CSV_REFUSED("folder\tlabel\na\tb\n", "row 1: the header row has no \"folder\" or \"file\" column; "
	                   "the file seems to separate columns with tabs");
	EXPECT_CSV_REFUSED("", "row 1: metadata.csv is empty");
	EXPECT_CSV_REFUSED("\xef\xbb\xbf", "row 1: metadata.csv is empty");
}

static void every_row_names_one_plain_folder_or_file(void)
{
	EXPECT_CSV_REFUSED("folder,a\nx,1\n,2\n", "row 3, column folder: is empty");
	EXPECT_CSV_REFUSED("folder,a\nx/y,1\n", "row 2, column folder: \"x/y\" must be a plain file name");
	EXPECT_CSV_REFUSED("folder,a\n..,1\n", "row 2, column folder: \"..\" must be a plain file name");
	EXPECT_CSV_REFUSED("folder,a\nx,1\ny,2\nx,3\n", "row 4, column folder: \"x\" is also named in row 2");
	/* The key is trimmed, so " x" and "x" are the same name. */
	EXPECT_CSV_REFUSED("folder,a\nx,1\n x ,2\n", "row 3, column folder: \"x\" is also named in row 2");
}

static void malformed_quoting_is_refused_with_its_row(void)
{
	EXPECT_CSV_REFUSED("folder,a\nx,\"never closed\ny,2\n", "row 2: a quoted field is never closed");
	EXPECT_CSV_REFUSED("folder,a\nx,\"quoted\"tail\n", "row 2, column 2: text after the closing quote");
	EXPECT_CSV_REFUSED("folder,a\nx,say \"hi\"\n", "row 2, column 2: a '\"' inside an unquoted field");
}

static void invalid_utf8_and_nul_bytes_are_refused(void)
{
	EXPECT_CSV_REFUSED("folder,a\nx,1\ny,caf\xe9\n", "row 3, column 2: invalid UTF-8");
	EXPECT_CSV_REFUSED("folder,a\nx,\xc0\xaf\n", "row 2, column 2: invalid UTF-8");
	EXPECT_EQ_INT(parse_len("folder,a\nx,a\0b\n", 15), 400);
	EXPECT_MSG_STARTS("row 2, column 2: contains a NUL byte");
}

static void sizes_are_bounded(void)
{
	char *big;
	size_t n, k;
	char *p;

	/* 257 columns. */
	big = malloc(4096);
	p = big + sprintf(big, "folder");
	for (k = 0; k < 256; k++)
		p += sprintf(p, ",c%zu", k);
	strcpy(p, "\n");
	EXPECT_CSV_REFUSED(big, "row 1: more than 256 columns");
	free(big);

	/* 100,001 rows. */
	n = 100001;
	big = malloc(n * 16 + 32);
	p = big + sprintf(big, "folder\n");
	for (k = 0; k < n; k++)
		p += sprintf(p, "f%zu\n", k);
	EXPECT_CSV_REFUSED(big, "row 100002: more than 100000 rows");
	/* 100,000 are fine, and each is found by name. */
	p = big + sprintf(big, "folder\n");
	for (k = 0; k < 100000; k++)
		p += sprintf(p, "f%zu\n", k);
	EXPECT_EQ_INT(parse(big), 0);
	EXPECT_EQ_INT(csv.nrows, 100000);
	EXPECT_EQ_INT(ts_csv_find(&csv, "f99999"), 99999);
	EXPECT_EQ_INT(ts_csv_find(&csv, "f0"), 0);
	free(big);

	/* Over 4 MB. */
	n = (4u << 20) + 1;
	big = malloc(n);
	memset(big, 'x', n);
	memcpy(big, "folder\n", 7);
	EXPECT_EQ_INT(parse_len(big, n), 400);
	EXPECT(strstr(err.msg, "larger than 4 MB") != NULL);
	/* A cell over 64 KB. */
	n = 70000;
	memset(big, 'x', n);
	memcpy(big, "folder,a\ny,", 11);
	EXPECT_EQ_INT(parse_len(big, n), 400);
	EXPECT_MSG_STARTS("row 2, column 2: a cell longer than");
	free(big);
}

static void find_gives_the_row_of_a_name_or_minus_one(void)
{
	EXPECT_EQ_INT(parse("folder,a\nzeta,1\nalpha,2\nmid,3\n"), 0);
	EXPECT_EQ_INT(ts_csv_find(&csv, "alpha"), 1);
	EXPECT_EQ_INT(ts_csv_find(&csv, "zeta"), 0);
	EXPECT_EQ_INT(ts_csv_find(&csv, "mid"), 2);
	EXPECT_EQ_INT(ts_csv_find(&csv, "Alpha"), -1);
	EXPECT_EQ_INT(ts_csv_find(&csv, ""), -1);
	EXPECT_EQ_INT(ts_csv_find(NULL, "alpha"), -1);
}

/* ---- rows into sidecar fields ------------------------------------------------------ */

static struct ts_sidecar row;

static ts_status from_row(const char *text, size_t r, const char *lang)
{
	ts_status st;

	ts_sidecar_free(&row);
	if (parse(text) != TS_OK)
		return -1;
	ts_error_clear(&err);
	st = ts_sidecar_from_csv(&csv, r, lang, &row, &err);
	if (st != TS_OK)
		EXPECT(err.msg[0] != '\0');
	return st;
}

#define EXPECT_ROW_REFUSED(text, prefix) do { \
	EXPECT_EQ_INT(from_row(text, 0, NULL), 400); \
	EXPECT_MSG_STARTS(prefix); \
	} while (0)

static void named_columns_fill_their_fields(void)
{
	EXPECT_EQ_INT(from_row("folder,Label,SUMMARY,rights,navdate,requiredStatement\n"
	                       "a,Letter,<p>Two <b>leaves</b></p>,http://creativecommons.org/licenses/by/4.0/,"
	                       "1871-04-02T00:00:00Z,Example Archive\n", 0, "en"), 0);
	EXPECT_EQ_STR(row.language, "en");
	EXPECT_EQ_STR(dump(row.label), "{\"en\":[\"Letter\"]}");
	EXPECT_EQ_STR(dump(row.summary), "{\"en\":[\"<p>Two <b>leaves</b></p>\"]}");
	EXPECT_EQ_STR(row.rights, "http://creativecommons.org/licenses/by/4.0/");
	EXPECT_EQ_STR(row.nav_date, "1871-04-02T00:00:00Z");
	EXPECT_EQ_STR(dump(row.required_statement),
	              "{\"label\":{\"en\":[\"Attribution\"]},\"value\":{\"en\":[\"Example Archive\"]}}");
	EXPECT(row.metadata == NULL);
	EXPECT(row.warning == NULL);
}

static void other_columns_become_metadata_labelled_by_their_header(void)
{
	EXPECT_EQ_INT(from_row("Creator,folder,Date,Subject\nA. Writer,a,1871,\n", 0, NULL), 0);
	EXPECT_EQ_STR(row.language, "none");
	EXPECT_EQ_STR(dump(row.metadata),
	              "[{\"label\":{\"none\":[\"Creator\"]},\"value\":{\"none\":[\"A. Writer\"]}},"
	              "{\"label\":{\"none\":[\"Date\"]},\"value\":{\"none\":[\"1871\"]}}]");
}

static void tagged_headers_give_language_tagged_labels_and_values(void)
{
	EXPECT_EQ_INT(from_row("folder,Title,Title@fr,label@de,Note@en-GB\n"
	                       "a,Letter,Lettre,Brief,stain\n", 0, "en"), 0);
	EXPECT_EQ_STR(dump(row.label), "{\"de\":[\"Brief\"]}");
	EXPECT_EQ_STR(dump(row.metadata),
	              "[{\"label\":{\"en\":[\"Title\"],\"fr\":[\"Title\"]},"
	              "\"value\":{\"en\":[\"Letter\"],\"fr\":[\"Lettre\"]}},"
	              "{\"label\":{\"en-GB\":[\"Note\"]},\"value\":{\"en-GB\":[\"stain\"]}}]");
}

static void a_bar_splits_a_cell_into_several_values(void)
{
	EXPECT_EQ_INT(from_row("folder,Subject,label\na, letters | Paris ||  ,One|Two\n", 0, NULL), 0);
	EXPECT_EQ_STR(dump(row.metadata),
	              "[{\"label\":{\"none\":[\"Subject\"]},\"value\":{\"none\":[\"letters\",\"Paris\"]}}]");
	EXPECT_EQ_STR(dump(row.label), "{\"none\":[\"One\",\"Two\"]}");
	/* A cell of only bars and spaces is empty: no entry. */
	EXPECT_EQ_INT(from_row("folder,Subject\na, | \n", 0, NULL), 0);
	EXPECT(row.metadata == NULL);
}

static void https_rights_in_a_row_are_rewritten_with_a_warning(void)
{
	EXPECT_EQ_INT(from_row("folder,rights\na,https://rightsstatements.org/vocab/InC/1.0/\n", 0, NULL), 0);
	EXPECT_EQ_STR(row.rights, "http://rightsstatements.org/vocab/InC/1.0/");
	EXPECT(row.warning && strstr(row.warning, "row 2, column rights"));
}

static void row_values_are_checked_naming_row_and_column(void)
{
	EXPECT_ROW_REFUSED("folder,rights\na,All rights reserved\n", "row 2, column rights: must be a Creative Commons");
	EXPECT(strstr(err.msg, "requiredStatement") != NULL);
	EXPECT_ROW_REFUSED("folder,navDate\na,1871-04-02\n", "row 2, column navDate: \"1871-04-02\" must be");
	EXPECT_ROW_REFUSED("folder,rights\na,http://creativecommons.org/licenses/by/4.0/|"
	                   "http://creativecommons.org/licenses/by-sa/4.0/\n", "row 2, column rights: takes one value");
	EXPECT_ROW_REFUSED("folder,navDate@fr\na,1871-04-02T00:00:00Z\n", "row 2, column navDate@fr: navDate takes no language");
	EXPECT_ROW_REFUSED("folder,Title@en_GB\na,x\n", "row 2, column Title@en_GB: the language after '@'");
	EXPECT_ROW_REFUSED("folder,label\na,<b>Letter</b>\n", "row 2, column label: must be plain text");
	EXPECT_ROW_REFUSED("folder,Note\na,<p><script>x</script></p>\n", "row 2, column Note: has <script>");
	EXPECT_ROW_REFUSED("folder,x,\na,1,2\n", "row 2, column 3: has a value but its column has no header");
	EXPECT_ROW_REFUSED("folder,Note\na,\"bell\x07\"\n", "row 2, column Note: must not contain control characters");
	EXPECT_ROW_REFUSED("folder,<i>Note</i>\na,x\n", "row 2, column <i>Note</i>: the header must be plain text");
	/* An empty header over empty cells is harmless. */
	EXPECT_EQ_INT(from_row("folder,x,\na,1,\n", 0, NULL), 0);
}

static void the_language_given_must_be_a_tag(void)
{
	EXPECT_EQ_INT(from_row("folder,label\na,x\n", 0, "english language"), 400);
	EXPECT_MSG_STARTS("language: ");
	EXPECT_EQ_INT(parse("folder,label\na,x\n"), 0);
	EXPECT_EQ_INT(ts_sidecar_from_csv(&csv, 1, NULL, &row, &err), 500);
}

/* ---- merging an item's own sidecar over its row ------------------------------------- */

static void the_items_own_sidecar_wins_field_by_field(void)
{
	struct ts_sidecar own;
	const char *side = "{\"label\": \"Own label\", \"navDate\": \"1900-01-01T00:00:00Z\", "
	                   "\"rights\": \"https://creativecommons.org/licenses/by/4.0/\", \"items\": [\"p1.tif\"]}";

	EXPECT_EQ_INT(ts_sidecar_parse(side, strlen(side), TS_SIDECAR_ITEM, &own, &err), 0);
	EXPECT_EQ_INT(from_row("folder,label,summary,navDate,Creator,rights\n"
	                       "a,Row label,Row summary,1871-04-02T00:00:00Z,Writer,"
	                       "https://creativecommons.org/licenses/by-sa/4.0/\n", 0, "en"), 0);
	ts_sidecar_merge(&own, &row);
	EXPECT_EQ_STR(dump(own.label), "{\"none\":[\"Own label\"]}");
	EXPECT_EQ_STR(dump(own.summary), "{\"en\":[\"Row summary\"]}");
	EXPECT_EQ_STR(own.nav_date, "1900-01-01T00:00:00Z");
	EXPECT_EQ_STR(own.rights, "http://creativecommons.org/licenses/by/4.0/");
	EXPECT_EQ_STR(dump(own.metadata), "[{\"label\":{\"en\":[\"Creator\"]},\"value\":{\"en\":[\"Writer\"]}}]");
	EXPECT_EQ_STR(own.language, "none");
	EXPECT_EQ_INT(own.nitems, 1);
	/* Both warnings are kept. */
	EXPECT(own.warning && strstr(own.warning, "rights:") && strstr(own.warning, "row 2, column rights"));
	/* The row is left empty. */
	EXPECT(row.label == NULL && row.summary == NULL && row.metadata == NULL && row.language == NULL);
	ts_sidecar_free(&own);
}

static void the_sidecars_metadata_list_replaces_the_rows_whole_list(void)
{
	struct ts_sidecar own;
	const char *side = "{\"metadata\": [{\"label\": \"Note\", \"value\": \"own\"}]}";

	EXPECT_EQ_INT(ts_sidecar_parse(side, strlen(side), TS_SIDECAR_ITEM, &own, &err), 0);
	EXPECT_EQ_INT(from_row("folder,Creator,Note\na,Writer,row\n", 0, NULL), 0);
	ts_sidecar_merge(&own, &row);
	EXPECT_EQ_STR(dump(own.metadata), "[{\"label\":{\"none\":[\"Note\"]},\"value\":{\"none\":[\"own\"]}}]");
	ts_sidecar_free(&own);
}

static void merging_into_an_empty_sidecar_takes_the_whole_row(void)
{
	struct ts_sidecar own;

	memset(&own, 0, sizeof own);
	EXPECT_EQ_INT(from_row("folder,label,requiredStatement@fr\na,L,Archives X\n", 0, "en"), 0);
	ts_sidecar_merge(&own, &row);
	EXPECT_EQ_STR(own.language, "en");
	EXPECT_EQ_STR(dump(own.label), "{\"en\":[\"L\"]}");
	EXPECT_EQ_STR(dump(own.required_statement),
	              "{\"label\":{\"en\":[\"Attribution\"]},\"value\":{\"fr\":[\"Archives X\"]}}");
	ts_sidecar_free(&own);
	ts_sidecar_merge(NULL, &row);
	ts_sidecar_merge(&own, NULL);
}

static void free_accepts_null_and_is_idempotent(void)
{
	struct ts_csv empty;
	memset(&empty, 0, sizeof empty);
	ts_csv_free(NULL);
	ts_csv_free(&empty);
	ts_csv_free(&empty);
	EXPECT_EQ_INT(ts_csv_find(&empty, "x"), -1);
	/* A failed parse leaves *out empty. */
	EXPECT_EQ_INT(parse("folder\na\na\n"), 400);
	EXPECT(csv.rows == NULL && csv.nrows == 0 && csv.header == NULL);
}

/* Inputs the fuzzer found, kept so they stay fixed. */
static void fuzzer_findings_stay_fixed(void)
{
	/* A tab in the header once went into the message as a raw tab. */
	EXPECT_EQ_INT(parse_len("fde\t\t\t\x16" "DDD>\n", 12), 400);
	EXPECT_MSG_STARTS("row 1: the header row has no \"folder\" or \"file\" column; the file seems to "
	                  "separate columns with tabs");
	/* An empty first field, before any byte was buffered (UBSan: memchr on NULL). */
	EXPECT_EQ_INT(parse(",folder\n,a\n"), 0);
	EXPECT_EQ_INT(parse("\n"), 400);
	EXPECT_EQ_INT(parse(",\n"), 400);
}

int main(void)
{
	RUN(a_simple_file_gives_a_header_and_rows);
	RUN(crlf_lone_cr_and_a_last_line_without_newline_all_end_rows);
	RUN(a_byte_order_mark_is_skipped);
	RUN(quoted_fields_hold_commas_newlines_and_doubled_quotes);
	RUN(header_names_are_trimmed);
	RUN(short_rows_are_padded_and_long_rows_refused);
	RUN(blank_rows_are_skipped_and_rows_keep_their_numbers);
	RUN(the_header_must_name_a_folder_or_file_column);
	RUN(every_row_names_one_plain_folder_or_file);
	RUN(malformed_quoting_is_refused_with_its_row);
	RUN(invalid_utf8_and_nul_bytes_are_refused);
	RUN(sizes_are_bounded);
	RUN(find_gives_the_row_of_a_name_or_minus_one);
	RUN(named_columns_fill_their_fields);
	RUN(other_columns_become_metadata_labelled_by_their_header);
	RUN(tagged_headers_give_language_tagged_labels_and_values);
	RUN(a_bar_splits_a_cell_into_several_values);
	RUN(https_rights_in_a_row_are_rewritten_with_a_warning);
	RUN(row_values_are_checked_naming_row_and_column);
	RUN(the_language_given_must_be_a_tag);
	RUN(the_items_own_sidecar_wins_field_by_field);
	RUN(the_sidecars_metadata_list_replaces_the_rows_whole_list);
	RUN(merging_into_an_empty_sidecar_takes_the_whole_row);
	RUN(free_accepts_null_and_is_idempotent);
	RUN(fuzzer_findings_stay_fixed);
	ts_sidecar_free(&row);
	ts_csv_free(&csv);
	return CHECK_DONE();
}
