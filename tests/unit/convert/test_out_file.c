/*
 * test_out_file.c - the converter's one way to write an output file
 * (src/convert/out_file.c): a temporary name beside the final one, filled
 * at any offset, renamed into place on commit, removed on discard, and
 * never an existing file overwritten at creation.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "../../../src/convert/out_file.h"

static char dir[64], out[96];

static void fresh_dir(void)
{
	strcpy(dir, "/tmp/test_out_file_XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(out, sizeof out, "%s/final.bin", dir);
}

static int not_dots(const struct dirent *e)
{
	return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/* What the folder holds besides . and .. */
static int entries(void)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, not_dots, NULL);

	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return n;
}

static void commit_puts_the_whole_file_under_the_final_name(void)
{
	struct ts_error err;
	char *tmp = NULL, got[16] = { 0 };
	int fd = -1;
	FILE *f;

	fresh_dir();
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_out_file_create(out, &tmp, &fd, &err), TS_OK);
	EXPECT(tmp && fd >= 0);
	EXPECT(strncmp(tmp, dir, strlen(dir)) == 0);      /* beside the final name */
	EXPECT(access(out, F_OK) != 0);                    /* not published yet */
	EXPECT_EQ_INT(ts_out_file_write_at(fd, "world", 5, 6), 0);
	EXPECT_EQ_INT(ts_out_file_write_at(fd, "hello ", 6, 0), 0);
	close(fd);
	EXPECT_EQ_INT(ts_out_file_commit(&tmp, out, &err), TS_OK);
	EXPECT(tmp == NULL);
	f = fopen(out, "rb");
	EXPECT(f != NULL);
	if (f) {
		EXPECT_EQ_INT(fread(got, 1, sizeof got, f), 11);
		fclose(f);
	}
	EXPECT_EQ_STR(got, "hello world");
	EXPECT_EQ_INT(entries(), 1);                       /* no temporary left */
	unlink(out);
	rmdir(dir);
}

static void discard_leaves_nothing_behind(void)
{
	struct ts_error err;
	char *tmp = NULL;
	int fd = -1;

	fresh_dir();
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_out_file_create(out, &tmp, &fd, &err), TS_OK);
	EXPECT_EQ_INT(ts_out_file_write_at(fd, "x", 1, 0), 0);
	close(fd);
	ts_out_file_discard(&tmp);
	EXPECT(tmp == NULL);
	ts_out_file_discard(&tmp);                         /* twice: nothing */
	EXPECT_EQ_INT(entries(), 0);
	rmdir(dir);
}

static void open_refuses_an_existing_file(void)
{
	struct ts_error err;
	int fd = -1;

	fresh_dir();
	close(open(out, O_WRONLY | O_CREAT, 0644));
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_out_file_open(out, &fd, &err), TS_EINTERNAL);
	EXPECT_EQ_INT(fd, -1);
	EXPECT_EQ_STR(err.msg, "could not create the output file");
	unlink(out);
	rmdir(dir);
}

static void create_in_a_missing_folder_fails_cleanly(void)
{
	struct ts_error err;
	char *tmp = (char *)"unchanged";
	int fd = 7;

	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_out_file_create("/nonexistent-tessera-dir/x.tif", &tmp, &fd, &err),
	              TS_EINTERNAL);
	EXPECT(tmp == NULL);
	EXPECT_EQ_INT(fd, -1);
}

static void commit_failure_keeps_the_temporary_for_discard(void)
{
	struct ts_error err;
	char *tmp = NULL, bad[128];
	int fd = -1;

	fresh_dir();
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_out_file_create(out, &tmp, &fd, &err), TS_OK);
	close(fd);
	snprintf(bad, sizeof bad, "%s/no/such/folder", dir);
	EXPECT_EQ_INT(ts_out_file_commit(&tmp, bad, &err), TS_EINTERNAL);
	EXPECT_EQ_STR(err.msg, "could not rename the output into place");
	EXPECT(tmp != NULL);
	ts_out_file_discard(&tmp);
	EXPECT_EQ_INT(entries(), 0);
	rmdir(dir);
}

int main(void)
{
	RUN(commit_puts_the_whole_file_under_the_final_name);
	RUN(discard_leaves_nothing_behind);
	RUN(open_refuses_an_existing_file);
	RUN(create_in_a_missing_folder_fails_cleanly);
	RUN(commit_failure_keeps_the_temporary_for_discard);
	return CHECK_DONE();
}
