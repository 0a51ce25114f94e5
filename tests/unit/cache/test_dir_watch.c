/* test_dir_watch.c - results kept while inotify reports no change in their
 * folders (src/cache/dir_watch.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"
#include "tessera/dir_watch.h"

static char root[64];

static void make_root(void)
{
	strcpy(root, "/tmp/tessera-dw-XXXXXX");
	if (!mkdtemp(root))
		abort();
}

static void rm_root(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0)
		abort();
}

static int open_dir(const char *rel)
{
	char p[256];

	snprintf(p, sizeof p, "%s/%s", root, rel);
	return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void write_file(const char *rel, const char *data)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", root, rel);
	f = fopen(p, "w");
	if (!f)
		abort();
	fputs(data, f);
	fclose(f);
}

/* Compute "key" with folder rel watched: begin, add, put. */
static struct ts_dir_ticket keep(struct ts_dir_watch *w, const char *rel, const char *key,
                                 uint64_t fp)
{
	struct ts_dir_ticket t;
	struct ts_dir_stamp v = { fp, 42 };
	int fd = open_dir(rel);

	ts_dir_watch_begin(w, &t);
	ts_dir_watch_add(w, &t, fd, NULL);
	if (fd >= 0)
		close(fd);
	ts_dir_watch_put(w, &t, key, &v);
	return t;
}

static void a_kept_result_is_found_until_its_folder_changes(void)
{
	struct ts_dir_watch *w;
	struct ts_dir_stamp v;
	char p[128];
	int rfd;


	make_root();
	snprintf(p, sizeof p, "%s/a", root);
	mkdir(p, 0755);
	write_file("a/p1.jpg", "x");
	rfd = open_dir("");
	w = ts_dir_watch_create(rfd, true, 100, 16);
	EXPECT(w && ts_dir_watch_active(w));
	EXPECT(!ts_dir_watch_get(w, "m|a", &v));
	keep(w, "a", "m|a", 7);
	memset(&v, 0, sizeof v);
	EXPECT(ts_dir_watch_get(w, "m|a", &v));
	EXPECT(v.fingerprint == 7 && v.mtime == 42);
	EXPECT(ts_dir_watch_get(w, "m|a", &v));   /* still there */
	EXPECT(!ts_dir_watch_get(w, "m|b", &v));
	/* a file rewritten in place: the very next lookup misses */
	write_file("a/p1.jpg", "yy");
	EXPECT(!ts_dir_watch_get(w, "m|a", &v));
	/* kept again, then a file added */
	keep(w, "a", "m|a", 8);
	EXPECT(ts_dir_watch_get(w, "m|a", &v) && v.fingerprint == 8);
	write_file("a/p2.jpg", "z");
	EXPECT(!ts_dir_watch_get(w, "m|a", &v));
	/* kept again, then the folder renamed */
	keep(w, "a", "m|a", 9);
	EXPECT(ts_dir_watch_get(w, "m|a", &v));
	{
		char from[128], to[128];
		snprintf(from, sizeof from, "%s/a", root);
		snprintf(to, sizeof to, "%s/b", root);
		EXPECT(rename(from, to) == 0);
	}
	EXPECT(!ts_dir_watch_get(w, "m|a", &v));
	ts_dir_watch_destroy(w);
	close(rfd);
	rm_root();
}

static void a_change_during_the_computation_is_not_kept(void)
{
	struct ts_dir_watch *w;
	struct ts_dir_ticket t;
	struct ts_dir_stamp v = { 1, 1 };
	int rfd, fd;

	make_root();
	rfd = open_dir("");
	w = ts_dir_watch_create(rfd, true, 100, 16);
	ts_dir_watch_begin(w, &t);
	fd = open_dir("");
	ts_dir_watch_add(w, &t, fd, NULL);
	close(fd);
	write_file("new.jpg", "x");   /* after the watch, before the put */
	ts_dir_watch_put(w, &t, "m|", &v);
	EXPECT(!ts_dir_watch_get(w, "m|", &v));
	/* an unwatchable computation (-1) is not kept either */
	ts_dir_watch_begin(w, &t);
	ts_dir_watch_add(w, &t, -1, NULL);
	EXPECT(!t.ok);
	ts_dir_watch_put(w, &t, "m|", &v);
	EXPECT(!ts_dir_watch_get(w, "m|", &v));
	ts_dir_watch_destroy(w);
	close(rfd);
	rm_root();
}

static void past_the_watch_limit_nothing_is_kept_then_it_starts_afresh(void)
{
	struct ts_dir_watch *w;
	struct ts_dir_ticket t;
	struct ts_dir_stamp v = { 3, 3 };
	char p[128];
	int rfd, fd;

	make_root();
	snprintf(p, sizeof p, "%s/a", root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/b", root);
	mkdir(p, 0755);
	rfd = open_dir("");
	w = ts_dir_watch_create(rfd, true, 1, 16);
	keep(w, "a", "m|a", 3);
	EXPECT(ts_dir_watch_get(w, "m|a", &v));
	/* a second folder is one watch too many: not kept */
	ts_dir_watch_begin(w, &t);
	fd = open_dir("b");
	ts_dir_watch_add(w, &t, fd, NULL);
	close(fd);
	EXPECT(!t.ok);
	ts_dir_watch_put(w, &t, "m|b", &v);
	EXPECT(!ts_dir_watch_get(w, "m|b", &v));
	/* the next computation starts with no watches and is kept */
	keep(w, "b", "m|b", 4);
	EXPECT(ts_dir_watch_get(w, "m|b", &v) && v.fingerprint == 4);
	ts_dir_watch_destroy(w);
	close(rfd);
	rm_root();
}

static void switched_off_it_never_keeps_anything(void)
{
	struct ts_dir_watch *w;
	struct ts_dir_stamp v;
	int rfd;

	make_root();
	rfd = open_dir("");
	w = ts_dir_watch_create(rfd, false, 100, 16);
	EXPECT(w && !ts_dir_watch_active(w));
	keep(w, "", "m|", 5);
	EXPECT(!ts_dir_watch_get(w, "m|", &v));
	ts_dir_watch_destroy(w);
	EXPECT(!ts_dir_watch_get(NULL, "m|", &v));
	close(rfd);
	rm_root();
}

static void a_full_table_empties_and_keeps_working(void)
{
	struct ts_dir_watch *w;
	struct ts_dir_stamp v;
	char key[32];
	int rfd, hits = 0;

	make_root();
	rfd = open_dir("");
	w = ts_dir_watch_create(rfd, true, 100, 8);
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "m|%d", i);
		keep(w, "", key, (uint64_t)i);
	}
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof key, "m|%d", i);
		if (ts_dir_watch_get(w, key, &v)) {
			EXPECT(v.fingerprint == (uint64_t)i);
			hits++;
		}
	}
	EXPECT(hits > 0 && hits <= 8);
	ts_dir_watch_destroy(w);
	close(rfd);
	rm_root();
}

int main(void)
{
	RUN(a_kept_result_is_found_until_its_folder_changes);
	RUN(a_change_during_the_computation_is_not_kept);
	RUN(past_the_watch_limit_nothing_is_kept_then_it_starts_afresh);
	RUN(switched_off_it_never_keeps_anything);
	RUN(a_full_table_empties_and_keeps_working);
	return CHECK_DONE();
}
