/*
 * test_resolve.c - identifiers to files under the root, confinement and the
 * image list.  Each test builds its own tree under a fresh temporary
 * directory: root/ holds the images, outside/ holds a "secret" the
 * resolver must never reach.
 */
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "check.h"
#include "tessera/resolve.h"

static char base[256], root[PATH_MAX], outside[PATH_MAX];

static void write_file(const char *rel_to_base, const char *content)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", base, rel_to_base);
	f = fopen(p, "w");
	if (!f) {
		perror(p);
		return;
	}
	fputs(content, f);
	fclose(f);
}

static void make_dir(const char *rel_to_base)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof p, "%s/%s", base, rel_to_base);
	mkdir(p, 0755);
}

static void make_link(const char *target, const char *rel_to_base)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof p, "%s/%s", base, rel_to_base);
	if (symlink(target, p) != 0)
		perror(p);
}

/* root/
 *   img.tif            "tiff"
 *   photo.jpg          "jpeg"
 *   sub/deep.tif       "deep"
 *   sub/with space.png "space"
 *   both/              a directory ...
 *   both.tif           ... and a file named like it with a suffix
 *   dir.tif/           a directory that only looks like an image
 *   notes.txt          not an image
 *   .hidden.tif        dotfile
 *   alias.tif  -> sub/deep.tif      (symlink that stays inside)
 *   escape.tif -> ../outside/secret.tif
 *   escdir     -> ../outside        (symlinked directory leaving the root)
 * outside/secret.tif   "secret"
 */
static void setup(void)
{
	char tmpl[] = "/tmp/ts_resolve_XXXXXX";
	char *d = mkdtemp(tmpl);

	if (!d) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(base, sizeof base, "%s", d);
	snprintf(root, sizeof root, "%s/root", base);
	snprintf(outside, sizeof outside, "%s/outside", base);
	make_dir("root");
	make_dir("outside");
	make_dir("root/sub");
	make_dir("root/both");
	make_dir("root/dir.tif");
	write_file("root/img.tif", "tiff");
	write_file("root/photo.jpg", "jpeg");
	write_file("root/sub/deep.tif", "deep");
	write_file("root/sub/with space.png", "space");
	write_file("root/both.tif", "both");
	write_file("root/notes.txt", "text");
	write_file("root/.hidden.tif", "hidden");
	write_file("outside/secret.tif", "secret");
	make_link("sub/deep.tif", "root/alias.tif");
	make_link("../outside/secret.tif", "root/escape.tif");
	make_link("../outside", "root/escdir");
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];

	if (strncmp(base, "/tmp/ts_resolve_", 16) != 0)
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("    could not remove %s\n", base);
}

static struct ts_resolver *resolver(const char *suffixes)
{
	struct ts_error err;
	struct ts_resolver *r;

	ts_error_clear(&err);
	r = ts_resolver_create(root, suffixes, &err);
	EXPECT(r != NULL);
	return r;
}

/* Status of resolving id; the path found goes to found (may be NULL). */
static int resolve(struct ts_resolver *r, const char *id, char *found)
{
	char path[PATH_MAX];
	struct stat st;
	struct ts_error err;
	int status;

	ts_error_clear(&err);
	status = ts_resolve(r, id, path, sizeof path, &st, &err);
	if (status) {
		EXPECT_EQ_STR(err.msg, "image not found");
		EXPECT(strstr(err.msg, base) == NULL);
	}
	if (found)
		strcpy(found, status ? "" : path);
	return status;
}

static void an_identifier_as_given_resolves_to_the_file_and_its_stat(void)
{
	struct ts_resolver *r = resolver("");
	char path[PATH_MAX], want[PATH_MAX + 16];
	struct stat st;
	struct ts_error err;

	if (!r)
		return;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_resolve(r, "img.tif", path, sizeof path, &st, &err), 0);
	snprintf(want, sizeof want, "%s/img.tif", ts_resolver_root(r));
	EXPECT_EQ_STR(path, want);
	EXPECT_EQ_INT(st.st_size, 4);
	EXPECT(S_ISREG(st.st_mode));
	ts_resolver_destroy(r);
}

static void the_root_is_canonical(void)
{
	struct ts_resolver *r = resolver("");
	char real[PATH_MAX];

	if (!r)
		return;
	EXPECT(realpath(root, real) != NULL);
	EXPECT_EQ_STR(ts_resolver_root(r), real);
	ts_resolver_destroy(r);
}

static void suffixes_are_tried_after_the_identifier(void)
{
	struct ts_resolver *r = resolver(".tif, .jp2");
	char found[PATH_MAX];

	if (!r)
		return;
	EXPECT_EQ_INT(resolve(r, "img", found), 0);
	EXPECT(strstr(found, "/img.tif") != NULL);
	EXPECT_EQ_INT(resolve(r, "img.tif", found), 0);
	EXPECT_EQ_INT(resolve(r, "photo", NULL), 404);   /* .jpg is not configured */
	ts_resolver_destroy(r);
}

/* Status of ts_resolve_exact(rel), with the same checks on the message. */
static int resolve_exact(struct ts_resolver *r, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;
	struct ts_error err;
	int status;

	ts_error_clear(&err);
	status = ts_resolve_exact(r, rel, path, sizeof path, &st, &err);
	if (status)
		EXPECT(strstr(err.msg, base) == NULL);
	return status;
}

static void the_exact_resolver_never_tries_suffixes(void)
{
	struct ts_resolver *r = resolver(".tif, .jp2");

	if (!r)
		return;
	EXPECT_EQ_INT(resolve_exact(r, "img.tif"), 0);
	EXPECT_EQ_INT(resolve_exact(r, "img"), 404);       /* ts_resolve finds img.tif */
	EXPECT_EQ_INT(resolve_exact(r, "both"), 404);      /* a directory; both.tif is not it */
	EXPECT_EQ_INT(resolve_exact(r, "sub/deep"), 404);
	EXPECT_EQ_INT(resolve_exact(r, "sub/with space.png"), 0);
	EXPECT_EQ_INT(resolve_exact(r, "alias.tif"), 0);
	ts_resolver_destroy(r);
}

static void the_exact_resolver_confines_like_the_other(void)
{
	struct ts_resolver *r = resolver(".tif");

	if (!r)
		return;
	EXPECT_EQ_INT(resolve_exact(r, "escape.tif"), 404);
	EXPECT_EQ_INT(resolve_exact(r, "escdir/secret.tif"), 404);
	EXPECT_EQ_INT(resolve_exact(r, "../outside/secret.tif"), 404);
	EXPECT_EQ_INT(resolve_exact(r, "sub/../img.tif"), 404);
	EXPECT_EQ_INT(resolve_exact(r, "/etc/passwd"), 404);
	EXPECT_EQ_INT(resolve_exact(r, ""), 404);
	EXPECT_EQ_INT(resolve_exact(NULL, "img.tif"), 404);
	ts_resolver_destroy(r);
}

static void a_sub_folder_is_reached_through_a_slash(void)
{
	struct ts_resolver *r = resolver(".tif");
	char found[PATH_MAX];

	if (!r)
		return;
	EXPECT_EQ_INT(resolve(r, "sub/deep", found), 0);
	EXPECT(strstr(found, "/sub/deep.tif") != NULL);
	EXPECT_EQ_INT(resolve(r, "sub/with space.png", NULL), 0);
	ts_resolver_destroy(r);
}

static void a_missing_file_is_404_without_the_path(void)
{
	struct ts_resolver *r = resolver(".tif");
	char path[PATH_MAX];
	struct ts_error err;

	if (!r)
		return;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_resolve(r, "nothing", path, sizeof path, NULL, &err), 404);
	EXPECT_EQ_STR(err.msg, "image not found");
	EXPECT(strstr(err.msg, "/") == NULL);
	ts_resolver_destroy(r);
}

static void traversal_attempts_are_404(void)
{
	struct ts_resolver *r = resolver(".tif");
	char abs_secret[PATH_MAX + 32];

	if (!r)
		return;
	snprintf(abs_secret, sizeof abs_secret, "%s/secret.tif", outside);
	EXPECT_EQ_INT(resolve(r, "../etc/passwd", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "../outside/secret.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "../outside/secret", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "sub/../../outside/secret.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "a/../../x", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "sub/../img.tif", NULL), 404);   /* ".." even when harmless */
	EXPECT_EQ_INT(resolve(r, "..", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "/etc/passwd", NULL), 404);
	EXPECT_EQ_INT(resolve(r, abs_secret, NULL), 404);
	ts_resolver_destroy(r);
}

static void malformed_identifiers_are_404(void)
{
	struct ts_resolver *r = resolver(".tif");

	if (!r)
		return;
	EXPECT_EQ_INT(resolve(r, "", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "sub//deep.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "sub/deep.tif/", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "./img.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "sub/./deep.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "sub\\deep.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "img\n.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "img\x7f", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "%n%s%x", NULL), 404);
	ts_resolver_destroy(r);
}

static void a_symlink_leaving_the_root_is_404(void)
{
	struct ts_resolver *r = resolver(".tif");

	if (!r)
		return;
	EXPECT_EQ_INT(resolve(r, "escape.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "escape", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "escdir/secret.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "escdir/secret", NULL), 404);
	ts_resolver_destroy(r);
}

static void a_symlink_within_the_root_is_followed(void)
{
	struct ts_resolver *r = resolver(".tif");
	char found[PATH_MAX];

	if (!r)
		return;
	struct stat a, b;
	char deep[PATH_MAX + 32];

	EXPECT_EQ_INT(resolve(r, "alias", found), 0);
	/* A path under the root that leads to the link's target. */
	EXPECT(strncmp(found, ts_resolver_root(r), strlen(ts_resolver_root(r))) == 0);
	snprintf(deep, sizeof deep, "%s/sub/deep.tif", ts_resolver_root(r));
	EXPECT(stat(found, &a) == 0 && stat(deep, &b) == 0);
	EXPECT(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	ts_resolver_destroy(r);
}

/* An absolute symlink is followed when it lands inside the root (openat2's
 * RESOLVE_BENEATH refuses every absolute link, so realpath decides) and
 * refused when it leaves. */
static void absolute_symlinks_are_judged_by_where_they_land(void)
{
	struct ts_resolver *r = resolver(".tif");
	char target[PATH_MAX + 32], link[PATH_MAX + 32], found[PATH_MAX];

	if (!r)
		return;
	snprintf(target, sizeof target, "%s/sub/deep.tif", root);
	snprintf(link, sizeof link, "%s/absin.tif", root);
	EXPECT(symlink(target, link) == 0);
	EXPECT_EQ_INT(resolve(r, "absin", found), 0);
	unlink(link);
	snprintf(target, sizeof target, "%s/secret.tif", outside);
	snprintf(link, sizeof link, "%s/absout.tif", root);
	EXPECT(symlink(target, link) == 0);
	EXPECT_EQ_INT(resolve(r, "absout", NULL), 404);
	unlink(link);
	ts_resolver_destroy(r);
}

/* The content of rel opened with ts_resolve_open, or "" when refused
 * (errno kept); ENOSYS ("no openat2 here") reads as "skip". */
static const char *open_read(struct ts_resolver *r, const char *rel, char *buf, size_t n)
{
	int fd = ts_resolve_open(r, rel);
	ssize_t k;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	k = read(fd, buf, n - 1);
	buf[k > 0 ? k : 0] = '\0';
	close(fd);
	return buf;
}

static void the_beneath_open_reads_inside_and_refuses_to_leave(void)
{
	struct ts_resolver *r = resolver(".tif");
	char buf[64];

	if (!r)
		return;
	errno = 0;
	if (ts_resolve_open(r, "img.tif") < 0 && errno == ENOSYS) {
		printf("    skipped: no openat2 here\n");
		ts_resolver_destroy(r);
		return;
	}
	EXPECT_EQ_STR(open_read(r, "img.tif", buf, sizeof buf), "tiff");
	EXPECT_EQ_STR(open_read(r, "sub/deep.tif", buf, sizeof buf), "deep");
	EXPECT_EQ_STR(open_read(r, "alias.tif", buf, sizeof buf), "deep");
	/* never a suffix, never outside, never up */
	EXPECT_EQ_STR(open_read(r, "img", buf, sizeof buf), "");
	EXPECT_EQ_STR(open_read(r, "escape.tif", buf, sizeof buf), "");
	EXPECT_EQ_STR(open_read(r, "escdir/secret.tif", buf, sizeof buf), "");
	EXPECT_EQ_STR(open_read(r, "../outside/secret.tif", buf, sizeof buf), "");
	EXPECT_EQ_STR(open_read(r, "sub/../../outside/secret.tif", buf, sizeof buf), "");
	EXPECT_EQ_STR(open_read(r, "/etc/passwd", buf, sizeof buf), "");
	EXPECT(ts_resolve_open(NULL, "img.tif") < 0);
	EXPECT(ts_resolve_open(r, NULL) < 0);
	ts_resolver_destroy(r);
}

static void a_directory_named_like_the_identifier_is_not_an_image(void)
{
	struct ts_resolver *r = resolver(".tif");
	char found[PATH_MAX];

	if (!r)
		return;
	EXPECT_EQ_INT(resolve(r, "dir.tif", NULL), 404);
	EXPECT_EQ_INT(resolve(r, "sub", NULL), 404);
	/* "both" is a directory, so the suffix is tried and finds both.tif */
	EXPECT_EQ_INT(resolve(r, "both", found), 0);
	EXPECT(strstr(found, "/both.tif") != NULL);
	ts_resolver_destroy(r);
}

static void a_root_that_is_not_a_directory_is_refused(void)
{
	struct ts_error err;
	char file[PATH_MAX + 16];

	snprintf(file, sizeof file, "%s/img.tif", root);
	ts_error_clear(&err);
	EXPECT(ts_resolver_create(file, "", &err) == NULL);
	EXPECT(err.status != 0);
	EXPECT(strstr(err.msg, base) == NULL);
	ts_error_clear(&err);
	EXPECT(ts_resolver_create("/nonexistent/tessera/root", "", &err) == NULL);
	ts_error_clear(&err);
	EXPECT(ts_resolver_create("", "", &err) == NULL);
	ts_resolver_destroy(NULL);
}

static void a_root_reached_through_a_symlink_still_confines(void)
{
	char link[PATH_MAX + 16];
	struct ts_error err;
	struct ts_resolver *r;

	snprintf(link, sizeof link, "%s/rootlink", base);
	EXPECT(symlink("root", link) == 0);
	ts_error_clear(&err);
	r = ts_resolver_create(link, ".tif", &err);
	EXPECT(r != NULL);
	if (!r)
		return;
	EXPECT_EQ_INT(resolve(r, "img", NULL), 0);
	EXPECT_EQ_INT(resolve(r, "escape", NULL), 404);
	ts_resolver_destroy(r);
}

static void the_list_holds_the_images_encoded_and_sorted(void)
{
	struct ts_resolver *r = resolver(".tif");
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	json_t *arr;
	size_t i;
	char got[1024] = "";

	if (!r)
		return;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_resolver_list(r, &b, &err), 0);
	arr = json_loadb((const char *)b.data, b.len, 0, NULL);
	EXPECT(json_is_array(arr));
	for (i = 0; i < json_array_size(arr); i++) {
		if (i)
			strcat(got, " ");
		strncat(got, json_string_value(json_array_get(arr, i)),
		        sizeof got - strlen(got) - 1);
	}
	/* no notes.txt, no .hidden.tif, no dir.tif/ (a directory), no
	 * escape.tif or escdir/ (leave the root); alias.tif stays inside. */
	EXPECT_EQ_STR(got, "alias.tif both.tif img.tif photo.jpg sub%2Fdeep.tif "
	                   "sub%2Fwith%20space.png");
	json_decref(arr);
	ts_buf_free(&b);
	ts_resolver_destroy(r);
}

static void every_listed_identifier_resolves_once_decoded(void)
{
	struct ts_resolver *r = resolver(".tif");
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	json_t *arr;
	size_t i;

	if (!r)
		return;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_resolver_list(r, &b, &err), 0);
	arr = json_loadb((const char *)b.data, b.len, 0, NULL);
	EXPECT(json_array_size(arr) > 0);
	for (i = 0; i < json_array_size(arr); i++) {
		const char *id = json_string_value(json_array_get(arr, i));
		char dec[PATH_MAX], *o = dec;

		for (; *id && o < dec + sizeof dec - 1; id++) {
			unsigned v;

			if (*id == '%' && sscanf(id + 1, "%2x", &v) == 1) {
				*o++ = (char)v;
				id += 2;
			} else {
				*o++ = *id;
			}
		}
		*o = '\0';
		EXPECT_EQ_INT(resolve(r, dec, NULL), 0);
	}
	json_decref(arr);
	ts_buf_free(&b);
	ts_resolver_destroy(r);
}

static void the_list_stops_at_depth_eight(void)
{
	struct ts_resolver *r;
	struct ts_buf b = TS_BUF_INIT;
	struct ts_error err;
	char rel[PATH_MAX] = "root";
	int i;

	for (i = 1; i <= 9; i++) {
		char name[16];

		snprintf(name, sizeof name, "/d%d", i);
		strcat(rel, name);
		make_dir(rel);
		if (i == 7 || i == 8) {
			char file[PATH_MAX + 16];

			snprintf(file, sizeof file, "%s/f%d.tif", rel, i);
			write_file(file, "x");
		}
	}
	r = resolver(".tif");
	if (!r)
		return;
	ts_error_clear(&err);
	EXPECT_EQ_INT(ts_resolver_list(r, &b, &err), 0);
	EXPECT(ts_buf_append(&b, "", 1));   /* the buffer is not a C string */
	/* d1..d7 is depth 7 below the root: listed; d8 is too deep. */
	EXPECT(b.data && strstr((char *)b.data, "f7.tif") != NULL);
	EXPECT(b.data && strstr((char *)b.data, "f8.tif") == NULL);
	ts_buf_free(&b);
	ts_resolver_destroy(r);
}

int main(void)
{
	setup();
	RUN(an_identifier_as_given_resolves_to_the_file_and_its_stat);
	RUN(the_root_is_canonical);
	RUN(suffixes_are_tried_after_the_identifier);
	RUN(the_exact_resolver_never_tries_suffixes);
	RUN(the_exact_resolver_confines_like_the_other);
	RUN(the_beneath_open_reads_inside_and_refuses_to_leave);
	RUN(a_sub_folder_is_reached_through_a_slash);
	RUN(a_missing_file_is_404_without_the_path);
	RUN(traversal_attempts_are_404);
	RUN(malformed_identifiers_are_404);
	RUN(a_symlink_leaving_the_root_is_404);
	RUN(a_symlink_within_the_root_is_followed);
	RUN(absolute_symlinks_are_judged_by_where_they_land);
	RUN(a_directory_named_like_the_identifier_is_not_an_image);
	RUN(a_root_that_is_not_a_directory_is_refused);
	RUN(a_root_reached_through_a_symlink_still_confines);
	RUN(the_list_holds_the_images_encoded_and_sorted);
	RUN(every_listed_identifier_resolves_once_decoded);
	RUN(the_list_stops_at_depth_eight);
	teardown();
	return CHECK_DONE();
}
