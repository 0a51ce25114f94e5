/*
 * csv.c - metadata.csv (presentation.md §3): RFC 4180 text into a table
 * (ts_csv_parse), and one row of it into the sidecar fields it gives
 * (ts_sidecar_from_csv).
 *
 * The reader is one pass of a small state machine over the bytes: fields
 * are plain or "quoted" (a quote inside doubled), records end in CRLF, LF
 * or a lone CR, the last may lack its newline, and a UTF-8 byte order mark
 * is skipped.  What a spreadsheet never writes (text after a closing
 * quote, a quote inside a plain field) is refused rather than guessed at.
 * Every row is stored as one block (its cell pointers, then the cells'
 * text), so a row costs one allocation and cells missing from short rows
 * point at an empty string of that block.
 *
 * Rows into sidecar fields, choices made here:
 *  - The header row names columns; "folder" or "file" (any case) is the
 *    key.  label, summary, rights, navDate and requiredStatement (any
 *    case) fill those fields; every other column is a metadata entry
 *    labelled with its header.  "Title@fr" tags the column's values and
 *    its label with "fr"; untagged ones take the collection's language.
 *    Columns with the same header before '@' ("Title", "Title@fr") make
 *    one metadata entry with both languages.
 *  - A cell splits on '|' into several values; each is trimmed of spaces,
 *    and empty ones are dropped, so an empty cell gives no entry at all.
 *  - A requiredStatement column gives the value; the label is
 *    {"en": ["Attribution"]}, the English word the Presentation 3.0
 *    examples use.  rights and navDate take one value and no language.
 *  - Rows whose cells are all empty are skipped (spreadsheets leave them).
 *  - Row numbers in messages count records in the file, the header row
 *    being row 1, as a spreadsheet shows them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tessera/sidecar.h"
#include "present_check.h"

#define CSV_MAX_ROWS   100000
#define CSV_MAX_COLS   256
#define CSV_MAX_CELLS  2000000     /* rows x columns: the pointers stay under 16 MB */
#define CSV_MAX_VALUES 1000        /* '|'-separated values in one cell */

/* The record being read: its fields' bytes, each NUL-terminated, in buf. */
struct record {
	char *buf;
	size_t blen, bcap;
	size_t *offs;              /* start of each field in buf */
	size_t nf, fcap;
};

static ts_status csv_fail(struct ts_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static ts_status csv_fail(struct ts_error *err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ts_error_set(err, TS_EBADREQUEST, "%s", msg);
}

static ts_status csv_oom(struct ts_error *err)
{
	return ts_error_set(err, TS_EINTERNAL, "out of memory while reading metadata.csv");
}

static bool rec_byte(struct record *r, char c)
{
	if (r->blen == r->bcap) {
		size_t cap = r->bcap ? r->bcap * 2 : 256;
		char *n = realloc(r->buf, cap);
		if (!n)
			return false;
		r->buf = n, r->bcap = cap;
	}
	r->buf[r->blen++] = c;
	return true;
}

/* Starts a new field at the end of buf. */
static bool rec_field(struct record *r)
{
	if (r->nf == r->fcap) {
		size_t cap = r->fcap ? r->fcap * 2 : 16;
		size_t *n = realloc(r->offs, cap * sizeof *n);
		if (!n)
			return false;
		r->offs = n, r->fcap = cap;
	}
	r->offs[r->nf++] = r->blen;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims spaces and tabs of s in place; returns the new start. */
static char *trim(char *s)
{
	size_t l;

	while (is_blank(*s))
		s++;
	l = strlen(s);
	while (l > 0 && is_blank(s[l - 1]))
		s[--l] = '\0';
	return s;
}

/* The record as a block of ncols cell pointers followed by their text;
 * cells past the record's end point at an empty string in the block.
 * trim_all trims every cell (the header). */
static char **rec_block(const struct record *r, size_t ncols, bool trim_all)
{
	size_t text = r->blen + 1, i;
	char **row, *p;

	if (ncols > (SIZE_MAX - text) / sizeof *row - 1)
		return NULL;
	row = malloc(ncols * sizeof *row + text);
	if (!row)
		return NULL;
	p = (char *)(row + ncols);
	memcpy(p, r->buf, r->blen);
	p[r->blen] = '\0';
	for (i = 0; i < ncols; i++) {
		row[i] = i < r->nf ? p + r->offs[i] : p + r->blen;
		if (trim_all && i < r->nf)
			row[i] = trim(row[i]);
	}
	return row;
}

static bool all_empty(const struct record *r)
{
	size_t i;

	for (i = 0; i < r->nf; i++)
		if (r->buf[r->offs[i]] != '\0')
			return false;
	return true;
}

/* A column's name for messages: its header, or its number when it has none. */
static const char *col_name(const struct ts_csv *c, size_t j, char *buf, size_t n)
{
	char q[64];

	if (j < c->ncols && c->header[j][0])
		snprintf(buf, n, "%s", ts_present_quote(c->header[j], q, sizeof q));
	else
		snprintf(buf, n, "%zu", j + 1);
	return buf;
}

/* The header row: names, the key column, no duplicates. */
static ts_status take_header(struct ts_csv *c, const struct record *r, struct ts_error *err)
{
	size_t i, j;
	char q[64];

	if (r->nf > CSV_MAX_COLS)
		return csv_fail(err, "row 1: more than %d columns", CSV_MAX_COLS);
	c->ncols = r->nf;
	if (!(c->header = rec_block(r, c->ncols, true)))
		return csv_oom(err);
	c->key_col = -1;
	for (i = 0; i < c->ncols; i++) {
		if (strcasecmp(c->header[i], "folder") == 0 || strcasecmp(c->header[i], "file") == 0) {
			if (c->key_col >= 0)
				return csv_fail(err, "row 1: has both a \"%s\" and a \"%s\" column; keep one",
				                c->header[c->key_col], c->header[i]);
			c->key_col = (int)i;
		}
		for (j = 0; j < i; j++)
			if (c->header[i][0] && strcasecmp(c->header[i], c->header[j]) == 0)
				return csv_fail(err, "row 1, column %zu: \"%s\" is also the header of column %zu",
				                i + 1, ts_present_quote(c->header[i], q, sizeof q), j + 1);
	}
	/* Spreadsheets in many locales save with ';' (or tabs) between columns. */
	if (c->key_col < 0 && c->ncols == 1 && strpbrk(c->header[0], ";\t"))
		return csv_fail(err, "row 1: the header row has no \"folder\" or \"file\" column; the file "
		                "seems to separate columns with %s: save it with commas (RFC 4180)",
		                strchr(c->header[0], ';') ? "';'" : "tabs");
	if (c->key_col < 0)
		return csv_fail(err, "row 1: the header row has no \"folder\" or \"file\" column naming each row");
	return TS_OK;
}

static ts_status take_row(struct ts_csv *c, const struct record *r, size_t line, size_t *cap,
                          struct ts_error *err)
{
	size_t i;
	char **row, why[160], q[64], *key;

	if (all_empty(r))
		return TS_OK;
	for (i = c->ncols; i < r->nf; i++)
		if (r->buf[r->offs[i]] != '\0')
			return csv_fail(err, "row %zu: has %zu cells but the header has %zu columns",
			                line, r->nf, c->ncols);
	if (c->nrows == CSV_MAX_ROWS)
		return csv_fail(err, "row %zu: more than %d rows", line, CSV_MAX_ROWS);
	if ((c->nrows + 1) * c->ncols > CSV_MAX_CELLS)
		return csv_fail(err, "row %zu: more than %d cells in the file", line, CSV_MAX_CELLS);
	if (c->nrows == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		char ***nr = realloc(c->rows, ncap * sizeof *nr);
		size_t *nl;
		if (!nr)
			return csv_oom(err);
		c->rows = nr;
		if (!(nl = realloc(c->lines, ncap * sizeof *nl)))
			return csv_oom(err);
		c->lines = nl, *cap = ncap;
	}
	if (!(row = rec_block(r, c->ncols, false)))
		return csv_oom(err);
	c->rows[c->nrows] = row;
	c->lines[c->nrows++] = line;
	key = row[c->key_col] = trim(row[c->key_col]);
	if (key[0] == '\0')
		return csv_fail(err, "row %zu, column %s: is empty; every row must name its folder or file",
		                line, c->header[c->key_col]);
	if (!ts_present_check_name(key, why, sizeof why))
		return csv_fail(err, "row %zu, column %s: \"%s\" %s", line, c->header[c->key_col],
		                ts_present_quote(key, q, sizeof q), why);
	return TS_OK;
}

struct keyed { const char *key; size_t row; };

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->row < y->row ? -1 : x->row > y->row);
}

/* c->order: rows sorted by key (qsort has no context argument, so the keys
 * travel with the indices); equal neighbours are duplicate names. */
static ts_status index_keys(struct ts_csv *c, struct ts_error *err)
{
	struct keyed *v;
	size_t i;
	char q[64];
	int k = c->key_col;

	if (!(c->order = calloc(c->nrows + 1, sizeof *c->order)) ||
	    !(v = calloc(c->nrows + 1, sizeof *v)))
		return csv_oom(err);
	for (i = 0; i < c->nrows; i++)
		v[i].key = c->rows[i][k], v[i].row = i;
	qsort(v, c->nrows, sizeof *v, keyed_cmp);
	for (i = 0; i < c->nrows; i++)
		c->order[i] = v[i].row;
	free(v);
	for (i = 1; i < c->nrows; i++) {
		size_t a = c->order[i - 1], b = c->order[i];
		if (strcmp(c->rows[a][k], c->rows[b][k]) == 0)
			return csv_fail(err, "row %zu, column %s: \"%s\" is also named in row %zu",
			                c->lines[b], c->header[k], ts_present_quote(c->rows[b][k], q, sizeof q),
			                c->lines[a]);
	}
	return TS_OK;
}

/* One field at text[*i], plain or quoted (RFC 4180 §2), appended to r as
 * a new NUL-terminated field; *i is left on the ',' or line end after it. */
static ts_status read_field(const char *text, size_t len, size_t *ip, struct record *r, size_t line,
                            struct ts_error *err)
{
	size_t i = *ip, start, bad;

	if (!rec_field(r))
		return csv_oom(err);
	start = r->blen;
	if (i < len && text[i] == '"') {
		i++;
		for (;;) {
			if (i == len)
				return csv_fail(err, "row %zu: a quoted field is never closed (unterminated quote)",
				                line);
			if (text[i] == '"') {
				if (i + 1 < len && text[i + 1] == '"') {
					if (!rec_byte(r, '"'))
						return csv_oom(err);
					i += 2;
					continue;
				}
				i++;
				break;
			}
			if (!rec_byte(r, text[i++]))
				return csv_oom(err);
		}
		if (i < len && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
			return csv_fail(err, "row %zu, column %zu: text after the closing quote of a quoted field",
			                line, r->nf);
	} else {
		while (i < len && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
			if (text[i] == '"')
				return csv_fail(err, "row %zu, column %zu: a '\"' inside an unquoted field "
				                "(quote the whole field and double the '\"')", line, r->nf);
			if (!rec_byte(r, text[i++]))
				return csv_oom(err);
		}
	}
	*ip = i;
	if (r->blen - start > TS_PRESENT_MAX_TEXT)
		return csv_fail(err, "row %zu, column %zu: a cell longer than %d bytes", line, r->nf,
		                TS_PRESENT_MAX_TEXT);
	/* An empty first field leaves buf unallocated: nothing to look at. */
	if (r->blen > start && memchr(r->buf + start, '\0', r->blen - start))
		return csv_fail(err, "row %zu, column %zu: contains a NUL byte", line, r->nf);
	if (r->blen > start && !ts_present_check_utf8(r->buf + start, r->blen - start, &bad))
		return csv_fail(err, "row %zu, column %zu: invalid UTF-8 (save the file as UTF-8)",
		                line, r->nf);
	return rec_byte(r, '\0') ? TS_OK : csv_oom(err);
}

ts_status ts_csv_parse(const char *text, size_t len, struct ts_csv *out, struct ts_error *err)
{
	struct record r;
	struct ts_error local;
	size_t i = 0, line = 1, cap = 0;   /* line: the record number */
	bool header_done = false;

	memset(out, 0, sizeof *out);
	memset(&r, 0, sizeof r);
	out->key_col = -1;
	if (!err)
		err = &local;
	ts_error_clear(err);
	if (len > TS_PRESENT_MAX_DOC) {
		csv_fail(err, "metadata.csv is larger than %u MB", TS_PRESENT_MAX_DOC >> 20);
		goto fail;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	if (i == len) {
		csv_fail(err, "row 1: metadata.csv is empty; it needs a header row with a folder or file column");
		goto fail;
	}
	while (i < len) {
		/* One record. */
		r.blen = 0, r.nf = 0;
		for (;;) {
			if (read_field(text, len, &i, &r, line, err))
				goto fail;
			/* Bounds a row of commas before it costs memory. */
			if (!header_done && r.nf > CSV_MAX_COLS) {
				csv_fail(err, "row 1: more than %d columns", CSV_MAX_COLS);
				goto fail;
			}
			if (header_done && r.nf > out->ncols + CSV_MAX_COLS) {
				csv_fail(err, "row %zu: has far more cells than the header has columns", line);
				goto fail;
			}
			if (i < len && text[i] == ',') {
				i++;
				continue;
			}
			break;
		}
		/* End of record: CRLF, LF, a lone CR, or the end of the text. */
		if (i < len && text[i] == '\r') {
			i++;
			if (i < len && text[i] == '\n')
				i++;
		} else if (i < len && text[i] == '\n') {
			i++;
		}
		if (!header_done) {
			if (take_header(out, &r, err))
				goto fail;
			header_done = true;
		} else if (take_row(out, &r, line, &cap, err)) {
			goto fail;
		}
		line++;
	}
	if (!header_done) {
		csv_fail(err, "row 1: metadata.csv has no header row");
		goto fail;
	}
	if (index_keys(out, err))
		goto fail;
	free(r.buf);
	free(r.offs);
	return TS_OK;
fail:
	free(r.buf);
	free(r.offs);
	ts_csv_free(out);
	return err->status;
}

void ts_csv_free(struct ts_csv *c)
{
	size_t i;

	if (!c)
		return;
	free(c->header);
	for (i = 0; i < c->nrows; i++)
		free(c->rows[i]);
	free(c->rows);
	free(c->lines);
	free(c->order);
	memset(c, 0, sizeof *c);
	c->key_col = -1;
}

long ts_csv_find(const struct ts_csv *c, const char *name)
{
	size_t lo = 0, hi;

	if (!c || !c->order || c->key_col < 0)
		return -1;
	hi = c->nrows;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = strcmp(c->rows[c->order[mid]][c->key_col], name);
		if (k == 0)
			return (long)c->order[mid];
		if (k < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- a row into sidecar fields ----------------------------------------------- */

/* One metadata entry being gathered from the columns sharing its label. */
struct entry {
	char *base;                /* the header before '@', trimmed (owned) */
	json_t *label, *value;
};

enum column_kind { COL_META, COL_LABEL, COL_SUMMARY, COL_RIGHTS, COL_NAVDATE, COL_REQUIRED };

static const struct { const char *name; enum column_kind kind; } special_cols[] = {
	{ "label", COL_LABEL }, { "summary", COL_SUMMARY }, { "rights", COL_RIGHTS },
	{ "navDate", COL_NAVDATE }, { "requiredStatement", COL_REQUIRED },
};

/* Appends s to map[lang] (created as needed). */
static bool map_add(json_t **map, const char *lang, const char *s)
{
	json_t *arr;

	if (!*map && !(*map = json_object()))
		return false;
	if (!(arr = json_object_get(*map, lang))) {
		if (!(arr = json_array()) || json_object_set_new(*map, lang, arr) != 0)
			return false;
	}
	return json_array_append_new(arr, json_string(s)) == 0;
}

struct row_walk {
	const struct ts_csv *c;
	size_t line, col;
	struct ts_error *err;
	char colbuf[64];
};

static ts_status row_fail(struct row_walk *rw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static ts_status row_fail(struct row_walk *rw, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return ts_error_set(rw->err, TS_EBADREQUEST, "row %zu, column %s: %s", rw->line,
	                    col_name(rw->c, rw->col, rw->colbuf, sizeof rw->colbuf), why);
}

/* Splits cell on '|' in place into trimmed non-empty values. */
static size_t split_values(char *cell, char **vals, size_t max)
{
	size_t n = 0;
	char *p = cell;

	for (;;) {
		char *bar = strchr(p, '|'), *v;
		if (bar)
			*bar = '\0';
		v = trim(p);
		if (*v && n < max)
			vals[n++] = v;
		else if (*v)
			return max + 1;
		if (!bar)
			return n;
		p = bar + 1;
	}
}

static ts_status take_column(struct row_walk *rw, const char *header, char *cell, const char *lang,
                             struct ts_sidecar *out, struct entry *entries, size_t *nentries)
{
	char base[TS_PRESENT_MAX_NAME + 1], why[160], q[64];
	const char *tag = NULL, *at, *vlang;
	char **vals = NULL;
	size_t nvals, k, blen;
	enum column_kind kind = COL_META;
	ts_status st = TS_OK;
	json_t **target = NULL;

	/* "Title@fr": the label and values are French. */
	at = strrchr(header, '@');
	blen = at ? (size_t)(at - header) : strlen(header);
	if (blen > TS_PRESENT_MAX_NAME)
		return row_fail(rw, "the header is longer than %d bytes", TS_PRESENT_MAX_NAME);
	memcpy(base, header, blen);
	base[blen] = '\0';
	{
		char *t = trim(base);
		memmove(base, t, strlen(t) + 1);
	}
	if (at) {
		tag = at + 1;
		if (!ts_present_check_lang(tag, why, sizeof why))
			return row_fail(rw, "the language after '@' %s", why);
	}
	for (k = 0; k < sizeof special_cols / sizeof *special_cols; k++)
		if (strcasecmp(base, special_cols[k].name) == 0)
			kind = special_cols[k].kind;
	if ((kind == COL_RIGHTS || kind == COL_NAVDATE) && tag)
		return row_fail(rw, "%s takes no language", kind == COL_RIGHTS ? "rights" : "navDate");
	if (cell[strspn(cell, " \t|")] == '\0')
		return TS_OK;            /* empty: no entry, and nothing to allocate */
	if (!(vals = malloc((CSV_MAX_VALUES + 1) * sizeof *vals)))
		return ts_error_set(rw->err, TS_EINTERNAL, "out of memory while reading metadata.csv");
	nvals = split_values(cell, vals, CSV_MAX_VALUES);
	if (nvals == 0)
		goto done;
	if (nvals > CSV_MAX_VALUES) {
		st = row_fail(rw, "more than %d values separated by '|'", CSV_MAX_VALUES);
		goto done;
	}
	if (base[0] == '\0') {
		st = row_fail(rw, "has a value but its column has no header");
		goto done;
	}
	vlang = tag ? tag : lang;
	/* The header becomes a label: plain text like any other. */
	if (kind == COL_META && !ts_present_check_text(base, strlen(base), false, why, sizeof why)) {
		st = row_fail(rw, "the header %s", why);
		goto done;
	}
	if (kind == COL_RIGHTS || kind == COL_NAVDATE) {
		if (nvals > 1) {
			st = row_fail(rw, "takes one value, not several separated by '|'");
			goto done;
		}
		if (kind == COL_NAVDATE) {
			if (!ts_present_check_date(vals[0], why, sizeof why))
				st = row_fail(rw, "\"%s\" %s", ts_present_quote(vals[0], q, sizeof q), why);
			else if (!(out->nav_date = strdup(vals[0])))
				st = ts_error_set(rw->err, TS_EINTERNAL, "out of memory while reading metadata.csv");
		} else {
			char canon[128], note[200];
			bool rewritten;
			if (!ts_present_check_rights(vals[0], canon, sizeof canon, &rewritten, why, sizeof why)) {
				st = row_fail(rw, "%s", why);
			} else if (!(out->rights = strdup(canon))) {
				st = ts_error_set(rw->err, TS_EINTERNAL, "out of memory while reading metadata.csv");
			} else if (rewritten && !out->warning) {
				snprintf(note, sizeof note, "row %zu, column rights: \"%s\" rewritten to its canonical form %s",
				         rw->line, ts_present_quote(vals[0], q, sizeof q), canon);
				if (!(out->warning = strdup(note)))
					st = ts_error_set(rw->err, TS_EINTERNAL, "out of memory while reading metadata.csv");
			}
		}
		goto done;
	}
	for (k = 0; k < nvals; k++) {
		if (!ts_present_check_text(vals[k], strlen(vals[k]), kind != COL_LABEL, why, sizeof why)) {
			st = row_fail(rw, "%s", why);
			goto done;
		}
	}
	if (kind == COL_LABEL)
		target = &out->label;
	else if (kind == COL_SUMMARY)
		target = &out->summary;
	else if (kind == COL_REQUIRED) {
		if (!out->required_statement) {
			json_t *rs = json_object(), *label = ts_present_langmap("en", "Attribution");
			if (!rs || !label || json_object_set_new(rs, "label", label) != 0) {
				json_decref(rs);
				st = ts_error_set(rw->err, TS_EINTERNAL, "out of memory while reading metadata.csv");
				goto done;
			}
			out->required_statement = rs;
		}
		/* Borrowed: the value map is owned by the requiredStatement object. */
		target = NULL;
		{
			json_t *v = json_object_get(out->required_statement, "value");
			bool fresh = v == NULL;
			for (k = 0; k < nvals; k++) {
				if (!map_add(&v, vlang, vals[k])) {
					if (fresh)
						json_decref(v);
					goto nomem;
				}
			}
			if (fresh && json_object_set_new(out->required_statement, "value", v) != 0)
				goto nomem;
		}
		goto done;
	} else {
		/* A metadata entry: one per header before '@'. */
		struct entry *e = NULL;
		for (k = 0; k < *nentries; k++)
			if (strcmp(entries[k].base, base) == 0)
				e = &entries[k];
		if (!e) {
			e = &entries[*nentries];
			if (!(e->base = strdup(base)))
				goto nomem;
			(*nentries)++;
		}
		if (!(e->label && json_object_get(e->label, vlang)) && !map_add(&e->label, vlang, base))
			goto nomem;
		target = &e->value;
	}
	for (k = 0; k < nvals; k++)
		if (!map_add(target, vlang, vals[k]))
			goto nomem;
done:
	free(vals);
	return st;
nomem:
	free(vals);
	return ts_error_set(rw->err, TS_EINTERNAL, "out of memory while reading metadata.csv");
}

ts_status ts_sidecar_from_csv(const struct ts_csv *c, size_t row, const char *language,
                              struct ts_sidecar *out, struct ts_error *err)
{
	struct row_walk rw;
	struct ts_error local;
	struct entry *entries = NULL;
	size_t nentries = 0, j, k;
	char why[160], *cell = NULL;

	memset(out, 0, sizeof *out);
	if (!err)
		err = &local;
	ts_error_clear(err);
	if (!c || row >= c->nrows)
		return ts_error_set(err, TS_EINTERNAL, "metadata.csv has no such row");
	if (!language)
		language = "none";
	if (!ts_present_check_lang(language, why, sizeof why))
		return ts_error_set(err, TS_EBADREQUEST, "language: %s", why);
	memset(&rw, 0, sizeof rw);
	rw.c = c, rw.line = c->lines ? c->lines[row] : row + 2, rw.err = err;
	if (!(out->language = strdup(language)) ||
	    !(entries = calloc(c->ncols + 1, sizeof *entries)))
		goto nomem;
	for (j = 0; j < c->ncols; j++) {
		char empty[1] = "";

		if ((int)j == c->key_col)
			continue;
		rw.col = j;
		free(cell);
		cell = NULL;
		if (c->rows[row][j][0] && !(cell = strdup(c->rows[row][j])))   /* split in place, on a copy */
			goto nomem;
		if (take_column(&rw, c->header[j], cell ? cell : empty, language, out, entries, &nentries))
			goto fail;
	}
	if (nentries) {
		if (!(out->metadata = json_array()))
			goto nomem;
		for (k = 0; k < nentries; k++) {
			json_t *o = json_object();
			if (!o || json_object_set(o, "label", entries[k].label) ||
			    json_object_set(o, "value", entries[k].value) ||
			    json_array_append_new(out->metadata, o)) {
				goto nomem;
			}
		}
	}
	for (k = 0; k < nentries; k++)
		json_decref(entries[k].label), json_decref(entries[k].value), free(entries[k].base);
	free(entries);
	free(cell);
	return TS_OK;
nomem:
	ts_error_set(err, TS_EINTERNAL, "out of memory while reading metadata.csv");
fail:
	if (entries)
		for (k = 0; k < nentries; k++)
			json_decref(entries[k].label), json_decref(entries[k].value), free(entries[k].base);
	free(entries);
	free(cell);
	ts_sidecar_free(out);
	return err->status;
}
