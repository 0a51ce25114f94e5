/*
 * test_pyramid_cache.c - the folder of on-demand pyramids: a key's file
 * name round-trips through a restart's scan; find says NONE, READY (with
 * the path) or FAILED and counts hits and misses; a changed identity of
 * the same path removes the old entry (an invalidation); the byte budget
 * removes the least recently used, where recency survives a restart
 * through the files' access times; a pyramid larger than the budget is
 * not kept and is marked failed; failure markers persist; temporary files
 * of dead conversions are removed at start; drop forgets and removes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "tessera/pyramid_cache.h"

static char dir[256];

static void fresh_dir(void)
{
	char cmd[300];

	snprintf(dir, sizeof dir, "/tmp/test_pyramid_cache.%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		abort();
}

static struct ts_pyramid_key key(const char *path, uint64_t ino, uint64_t size, int64_t mt)
{
	struct stat st;
	struct ts_pyramid_key k;

	memset(&st, 0, sizeof st);
	st.st_dev = 42;
	st.st_ino = ino;
	st.st_size = (off_t)size;
	st.st_mtim.tv_sec = mt;
	st.st_mtim.tv_nsec = 123;
	ts_pyramid_key_make(path, &st, &k);
	return k;
}

/* Write a "pyramid" of n bytes where the cache expects k's. */
static void make_file(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k, size_t n)
{
	char path[4500];
	FILE *f;

	ts_pyramid_cache_path(c, k, path, sizeof path);
	f = fopen(path, "wb");
	if (!f)
		abort();
	for (size_t i = 0; i < n; i++)
		fputc('x', f);
	fclose(f);
}

static void set_atime(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k, time_t t)
{
	char path[4500];
	struct timespec ts[2] = { { t, 0 }, { 0, UTIME_OMIT } };

	ts_pyramid_cache_path(c, k, path, sizeof path);
	utimensat(AT_FDCWD, path, ts, 0);
}

static bool exists(struct ts_pyramid_cache *c, const struct ts_pyramid_key *k)
{
	char path[4500];

	ts_pyramid_cache_path(c, k, path, sizeof path);
	return access(path, F_OK) == 0;
}

static void a_pyramid_is_found_by_its_source_identity_and_after_a_restart(void)
{
	struct ts_pyramid_cache *c = NULL;
	struct ts_pyramid_cache_stats s;
	struct ts_error err = { 0 };
	struct ts_pyramid_key a = key("/r/a.jpg", 7, 1000, 5000);
	char path[4500], want[4500];

	fresh_dir();
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 1 << 20, &c, &err), TS_OK);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a, path, sizeof path), TS_PYRAMID_NONE);
	make_file(c, &a, 100);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &a, &err), TS_OK);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a, path, sizeof path), TS_PYRAMID_READY);
	ts_pyramid_cache_path(c, &a, want, sizeof want);
	EXPECT_EQ_STR(path, want);
	EXPECT(strncmp(path, dir, strlen(dir)) == 0);
	ts_pyramid_cache_stats(c, &s);
	EXPECT_EQ_INT(s.hits, 1);
	EXPECT_EQ_INT(s.misses, 1);
	EXPECT_EQ_INT(s.bytes, 100);
	EXPECT_EQ_INT(s.entries, 1);
	ts_pyramid_cache_close(c);

	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 1 << 20, &c, &err), TS_OK);
	ts_pyramid_cache_stats(c, &s);
	EXPECT_EQ_INT(s.entries, 1);
	EXPECT_EQ_INT(s.bytes, 100);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a, path, sizeof path), TS_PYRAMID_READY);
	/* same path, another file at the same path name elsewhere: another hash */
	struct ts_pyramid_key other = key("/r/b.jpg", 7, 1000, 5000);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &other, path, sizeof path), TS_PYRAMID_NONE);
	ts_pyramid_cache_close(c);
}

static void a_changed_source_removes_its_old_pyramid(void)
{
	struct ts_pyramid_cache *c = NULL;
	struct ts_pyramid_cache_stats s;
	struct ts_error err = { 0 };
	struct ts_pyramid_key old = key("/r/a.jpg", 7, 1000, 5000);
	struct ts_pyramid_key touched = key("/r/a.jpg", 7, 1000, 5001);
	struct ts_pyramid_key replaced = key("/r/a.jpg", 8, 1200, 5002);
	char path[4500];

	fresh_dir();
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 1 << 20, &c, &err), TS_OK);
	make_file(c, &old, 10);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &old, &err), TS_OK);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &touched, path, sizeof path), TS_PYRAMID_NONE);
	EXPECT(!exists(c, &old));
	make_file(c, &touched, 10);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &touched, &err), TS_OK);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &replaced, path, sizeof path), TS_PYRAMID_NONE);
	EXPECT(!exists(c, &touched));
	ts_pyramid_cache_stats(c, &s);
	EXPECT_EQ_INT(s.invalidations, 2);
	EXPECT_EQ_INT(s.entries, 0);
	EXPECT_EQ_INT(s.bytes, 0);
	ts_pyramid_cache_close(c);
}

static void the_budget_removes_the_least_recently_used_even_after_a_restart(void)
{
	struct ts_pyramid_cache *c = NULL;
	struct ts_pyramid_cache_stats s;
	struct ts_error err = { 0 };
	struct ts_pyramid_key a = key("/r/a", 1, 1, 1), b = key("/r/b", 2, 1, 1),
	                      d = key("/r/d", 3, 1, 1), e = key("/r/e", 4, 1, 1);
	char path[4500];

	fresh_dir();
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 300, &c, &err), TS_OK);
	make_file(c, &a, 100);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &a, &err), TS_OK);
	make_file(c, &b, 100);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &b, &err), TS_OK);
	make_file(c, &d, 100);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &d, &err), TS_OK);
	/* a used again: b is now the least recently used */
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a, path, sizeof path), TS_PYRAMID_READY);
	make_file(c, &e, 100);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &e, &err), TS_OK);
	EXPECT(exists(c, &a) && !exists(c, &b) && exists(c, &d) && exists(c, &e));
	ts_pyramid_cache_stats(c, &s);
	EXPECT_EQ_INT(s.evictions, 1);
	EXPECT_EQ_INT(s.bytes, 300);
	ts_pyramid_cache_close(c);

	/* Recency on disk: d oldest, then e, then a.  A smaller budget at the
	 * next start keeps the most recent that fit. */
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 300, &c, &err), TS_OK);
	set_atime(c, &d, 1000);
	set_atime(c, &e, 2000);
	set_atime(c, &a, 3000);
	ts_pyramid_cache_close(c);
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 150, &c, &err), TS_OK);
	EXPECT(exists(c, &a) && !exists(c, &d) && !exists(c, &e));
	ts_pyramid_cache_stats(c, &s);
	EXPECT_EQ_INT(s.entries, 1);
	EXPECT_EQ_INT(s.evictions, 2);
	ts_pyramid_cache_close(c);
}

static void a_pyramid_larger_than_the_budget_is_not_kept_and_not_made_again(void)
{
	struct ts_pyramid_cache *c = NULL;
	struct ts_error err = { 0 };
	struct ts_pyramid_key a = key("/r/huge", 1, 1, 1);
	char path[4500];

	fresh_dir();
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 50, &c, &err), TS_OK);
	make_file(c, &a, 100);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &a, &err), TS_EFORBIDDEN);
	EXPECT(!exists(c, &a));
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a, path, sizeof path), TS_PYRAMID_FAILED);
	ts_pyramid_cache_close(c);
}

static void failures_persist_until_the_source_changes(void)
{
	struct ts_pyramid_cache *c = NULL;
	struct ts_pyramid_cache_stats s;
	struct ts_error err = { 0 };
	struct ts_pyramid_key a = key("/r/cut.jpg", 1, 10, 1), a2 = key("/r/cut.jpg", 1, 20, 2);
	char path[4500];

	fresh_dir();
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 1000, &c, &err), TS_OK);
	ts_pyramid_cache_fail(c, &a);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a, path, sizeof path), TS_PYRAMID_FAILED);
	ts_pyramid_cache_close(c);
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 1000, &c, &err), TS_OK);
	ts_pyramid_cache_stats(c, &s);
	EXPECT_EQ_INT(s.failed, 1);
	EXPECT_EQ_INT(s.bytes, 0);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a, path, sizeof path), TS_PYRAMID_FAILED);
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a2, path, sizeof path), TS_PYRAMID_NONE);
	ts_pyramid_cache_stats(c, &s);
	EXPECT_EQ_INT(s.failed, 0);
	ts_pyramid_cache_close(c);
}

static void dead_conversions_temporary_files_go_and_others_stay(void)
{
	struct ts_pyramid_cache *c = NULL;
	struct ts_error err = { 0 };
	struct ts_pyramid_key a = key("/r/a", 1, 1, 1);
	char dead[600], live[600], other[600], path[4500];

	fresh_dir();
	if (mkdir(dir, 0700) != 0)
		abort();
	snprintf(dead, sizeof dead, "%s/.x.tif.tmp-999999999-0", dir);
	snprintf(live, sizeof live, "%s/.y.tif.tmp-%d-3", dir, (int)getpid());
	snprintf(other, sizeof other, "%s/notes.txt", dir);
	close(open(dead, O_CREAT | O_WRONLY, 0600));
	close(open(live, O_CREAT | O_WRONLY, 0600));
	close(open(other, O_CREAT | O_WRONLY, 0600));
	EXPECT_EQ_INT(ts_pyramid_cache_open(dir, 1000, &c, &err), TS_OK);
	EXPECT(access(dead, F_OK) != 0);
	EXPECT(access(live, F_OK) == 0);
	EXPECT(access(other, F_OK) == 0);
	make_file(c, &a, 10);
	EXPECT_EQ_INT(ts_pyramid_cache_add(c, &a, &err), TS_OK);
	ts_pyramid_cache_drop(c, &a);
	EXPECT(!exists(c, &a));
	EXPECT_EQ_INT(ts_pyramid_cache_find(c, &a, path, sizeof path), TS_PYRAMID_NONE);
	ts_pyramid_cache_close(c);
}

static void an_unusable_directory_is_a_clear_error(void)
{
	struct ts_pyramid_cache *c = NULL;
	struct ts_error err = { 0 };

	EXPECT_EQ_INT(ts_pyramid_cache_open("/nonexistent-parent/x/y", 10, &c, &err), TS_EINTERNAL);
	EXPECT(c == NULL);
	EXPECT(strstr(err.msg, "pyramid_cache_dir") != NULL);
	EXPECT(strstr(err.msg, "/nonexistent") == NULL);   /* the path only in detail */
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_pyramid_cache_open("", 10, &c, &err), TS_EINTERNAL);
}

int main(void)
{
	char cmd[300];

	RUN(a_pyramid_is_found_by_its_source_identity_and_after_a_restart);
	RUN(a_changed_source_removes_its_old_pyramid);
	RUN(the_budget_removes_the_least_recently_used_even_after_a_restart);
	RUN(a_pyramid_larger_than_the_budget_is_not_kept_and_not_made_again);
	RUN(failures_persist_until_the_source_changes);
	RUN(dead_conversions_temporary_files_go_and_others_stay);
	RUN(an_unusable_directory_is_a_clear_error);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}
