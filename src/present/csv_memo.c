/*
 * csv_memo.c - a collection's metadata.csv parsed once for all its members
 * (present.h, struct ts_present_csv_memo).
 *
 * Every item build looks up its row in the parent folder's metadata.csv
 * (model.c, presentation.md §3).  The daemon builds one item per request
 * and reads the file each time; `tessera manifest --check` builds every
 * member of a collection in turn, and a 4 MB spreadsheet of 80,000 rows
 * parsed once per member would make the walk quadratic (hours).  So the
 * walk lends the builder a memo: the last CSV read, parsed, with the parent
 * sidecar's language and the outcome of parsing, kept while the file keeps
 * its identity (device, inode, size, mtime).
 *
 * The one idea: the memo changes when the CSV is read, never what a build
 * answers - the same rows, the same error sentences as model.c's
 * ts_pm_csv_row.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"

void ts_present_csv_memo_free(struct ts_present_csv_memo *m)
{
	if (!m)
		return;
	free(m->folder);
	ts_csv_free(&m->csv);
	free(m->language);
	memset(m, 0, sizeof *m);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Read and parse parent's metadata.csv (whose identity is st) into m. */
static void fill(const struct ts_present_ctx *c, struct ts_present_csv_memo *m,
                 const char *parent, const struct stat *st)
{
	char *text = NULL, *ptext = NULL;
	size_t len = 0, plen = 0;
	struct stat fst, pst;
	struct ts_sidecar psc;
	struct ts_error e;

	ts_present_csv_memo_free(m);
	m->folder = strdup(parent);
	m->st = *st;
	ts_error_clear(&m->err);
	ts_error_clear(&e);
	if (!m->folder) {
		m->status = ts_error_set(&m->err, TS_EINTERNAL, "out of memory");
		return;
	}
	m->status = ts_catalogue_read_file(c->root_fd, parent, "metadata.csv", TS_CATALOGUE_MAX_CSV,
	                                   &text, &len, &fst, &e);
	if (m->status) {
		m->err = e;
		return;
	}
	m->st = fst;   /* what was read, should it have changed since the stat */
	if (ts_csv_parse(text, len, &m->csv, &e) != TS_OK) {
		m->status = ts_error_set(&m->err, TS_EINTERNAL, "%s%smetadata.csv: %s", parent,
		                         *parent ? "/" : "", e.msg);
		free(text);
		return;
	}
	free(text);
	/* the collection sidecar's language for untagged values (§3) */
	memset(&psc, 0, sizeof psc);
	if (ts_catalogue_read_file(c->root_fd, parent, "iiif.json", TS_CATALOGUE_MAX_SIDECAR,
	                           &ptext, &plen, &pst, &e) == TS_OK &&
	    ts_sidecar_parse(ptext, plen, TS_SIDECAR_COLLECTION, &psc, &e) == TS_OK &&
	    psc.language)
		m->language = strdup(psc.language);
	ts_pm_sidecar_free(&psc);
	free(ptext);
}

ts_status ts_pm_csv_row_memo(const struct ts_present_ctx *c, const char *parent,
                             const char *name, struct ts_sidecar *row, struct ts_error *err)
{
	struct ts_present_csv_memo *m = c->csv_memo;
	struct ts_error e;
	struct stat st;
	int dfd;
	long r;

	memset(row, 0, sizeof *row);
	dfd = ts_catalogue_open_dir(c->root_fd, parent);
	if (dfd < 0)
		return TS_OK;   /* as a read that finds nothing */
	if (fstatat(dfd, "metadata.csv", &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
		close(dfd);
		return TS_OK;
	}
	close(dfd);
	if (!m->folder || strcmp(m->folder, parent) != 0 || !same_file(&m->st, &st))
		fill(c, m, parent, &st);
	if (m->status == TS_ENOTFOUND)
		return TS_OK;
	if (m->status) {
		*err = m->err;
		return m->status;
	}
	r = ts_csv_find(&m->csv, name);
	if (r < 0)
		return TS_OK;
	ts_error_clear(&e);
	if (ts_sidecar_from_csv(&m->csv, (size_t)r, m->language, row, &e) != TS_OK) {
		ts_pm_sidecar_free(row);
		return ts_error_set(err, TS_EINTERNAL, "%s%smetadata.csv, the row of %s: %s", parent,
		                    *parent ? "/" : "", name, e.msg);
	}
	return TS_OK;
}
