/*
 * manifest.c - `tessera manifest`: the command-line side of publishing,
 * for people who publish static files or want to lint before publishing.
 *
 *   tessera manifest [--root DIR] --base URL [--version 3|2] PATH
 *       print the Manifest of an item folder or of one file, or the
 *       Collection of a collection folder (PATH "." is the root)
 *   tessera manifest --check [--root DIR] [PATH]
 *       report every problem under PATH (default: the root), one line each
 *       ("path: field: message"), then "N items, N collections, N problems"
 *
 * Settings come as for `tessera serve` (config file, environment, flags);
 * --root defaults to the configured root, else the current directory.  A
 * relative PATH is taken from the root (it is the identifier of the URLs,
 * with '/' for %2F); an absolute one must lie inside the root.  Exit 0 on
 * success, 1 on an error or when --check found problems, 2 on bad usage.
 *
 * The one idea: this is the daemon without HTTP.  The context is made from
 * the same settings the server uses (limits, formats, the ImageService2
 * block), the probes are the server's own (present/probe_source.c), and the
 * JSON comes from the same one-call writers, so the bytes printed for
 * `--base B` are the bytes the daemon answers with base_url = B.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "tessera/buf.h"
#include "tessera/encoder.h"
#include "tessera/present.h"
#include "tessera/probe_cache.h"
#include "tessera/resolve.h"
#include "tessera/settings.h"

#define EXIT_PROBLEMS 1
#define EXIT_USAGE 2

/* Arguments before 64 are plenty; more is a mistake worth refusing. */
#define MAX_ARGS 64

static void usage(FILE *out)
{
	fputs("Usage: tessera manifest [--root DIR] --base URL [--version 3|2] PATH\n"
	      "       tessera manifest --check [--root DIR] [PATH]\n"
	      "\n"
	      "Prints the IIIF Presentation Manifest of an item folder or a single file,\n"
	      "or the Collection of a collection folder (PATH . is the root), exactly as\n"
	      "`tessera serve` with base_url = URL answers it.  --check walks the tree\n"
	      "under PATH (default: the root) and reports every problem, one line each\n"
	      "(path: field: message), then 'N items, N collections, N problems'.\n"
	      "\n"
	      "PATH is relative to the root (DIR, else the configured root, else the\n"
	      "current directory), or an absolute path inside it.  Other settings are\n"
	      "given as for serve (--config FILE, --name value, the environment).\n"
	      "Exit status: 0 done, 1 an error or problems found, 2 bad usage.\n"
	      "\n"
	      "Examples:\n"
	      "  tessera manifest --root /srv/images --base https://images.example.org \\\n"
	      "      letters/1871-04-02 > letters-1871-04-02.json\n"
	      "  tessera manifest --root /srv/images --base https://images.example.org \\\n"
	      "      --version 2 maps/big-map.tif\n"
	      "  tessera manifest --root /srv/images --base https://images.example.org . > top.json\n"
	      "  tessera manifest --check --root /srv/images\n", out);
}

/* What the command line asked for, settings apart. */
struct request {
	bool check;
	int version;
	const char *path;                /* NULL: none given */
	char *fwd[MAX_ARGS + 1];         /* arguments for ts_settings_load */
	int nfwd;
	char *owned[MAX_ARGS];           /* "--base_url=..." made from each --base */
	int nowned;
};

static void request_free(struct request *rq)
{
	for (int i = 0; i < rq->nowned; i++)
		free(rq->owned[i]);
	rq->nowned = 0;
}

/* The value of option name at argv[*i] ("--name value" or "--name=value"),
 * or NULL when arg is not that option.  *bad when the value is missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *bad)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*bad = true;
		return NULL;
	}
	return argv[++*i];
}

/* Whether word is the value of the setting flag (and not PATH): the
 * settings table knows which flags take one; "--allow-upscaling letters"
 * leaves "letters" alone, "--allow-upscaling false" and
 * "--max-source-pixels abc" take the word. */
static bool is_setting_value(const char *flag, const char *word)
{
	struct ts_settings tmp;
	struct ts_error err;
	char *pair[2] = { (char *)flag, (char *)word };
	bool help = false, ok;

	ts_error_clear(&err);
	ok = ts_settings_load(&tmp, 2, pair, &help, &err) == TS_OK;
	ts_settings_free(&tmp);
	if (ok)
		return true;
	/* a flag that cannot stand alone takes word, even a bad value (or is
	 * unknown): the settings then say what is wrong with it */
	ok = ts_settings_load(&tmp, 1, pair, &help, &err) != TS_OK;
	ts_settings_free(&tmp);
	return ok;
}

static int parse_args(int argc, char **argv, struct request *rq)
{
	bool only_paths = false;

	memset(rq, 0, sizeof *rq);
	rq->version = 3;
	if (argc > MAX_ARGS) {
		fputs("tessera manifest: too many arguments\n", stderr);
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v;
		bool bad = false;

		if (only_paths || a[0] != '-' || strcmp(a, "-") == 0) {
			if (rq->path) {
				fprintf(stderr, "tessera manifest: one PATH only ('%.200s' and '%.200s')\n",
				        rq->path, a);
				return EXIT_USAGE;
			}
			rq->path = a;
		} else if (strcmp(a, "--") == 0) {
			only_paths = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return -1;
		} else if (strcmp(a, "--check") == 0) {
			rq->check = true;
		} else if ((v = opt_value(argc, argv, &i, "--version", &bad)) != NULL) {
			if (strcmp(v, "3") == 0 || strcmp(v, "3.0") == 0) {
				rq->version = 3;
			} else if (strcmp(v, "2") == 0 || strcmp(v, "2.1") == 0) {
				rq->version = 2;
			} else {
				fprintf(stderr, "tessera manifest: --version: '%.40s' is not 3 or 2\n", v);
				return EXIT_USAGE;
			}
		} else if ((v = opt_value(argc, argv, &i, "--base", &bad)) != NULL) {
			char *arg;

			if (asprintf(&arg, "--base_url=%s", v) < 0)
				return EXIT_PROBLEMS;
			rq->owned[rq->nowned++] = arg;
			rq->fwd[rq->nfwd++] = arg;
		} else if ((v = opt_value(argc, argv, &i, "--root", &bad)) != NULL ||
		           (v = opt_value(argc, argv, &i, "--config", &bad)) != NULL ||
		           (v = opt_value(argc, argv, &i, "--base-url", &bad)) != NULL ||
		           (v = opt_value(argc, argv, &i, "--base_url", &bad)) != NULL) {
			/* settings taking a value, allowed as two words */
			rq->fwd[rq->nfwd++] = argv[strchr(a, '=') ? i : i - 1];
			if (!strchr(a, '='))
				rq->fwd[rq->nfwd++] = argv[i];
		} else if (bad) {
			fprintf(stderr, "tessera manifest: %.60s: missing value\n", a);
			return EXIT_USAGE;
		} else if (!strchr(a, '=') && i + 1 < argc && argv[i + 1][0] != '-' &&
		           is_setting_value(a, argv[i + 1])) {
			/* any other setting as two words: "--max-source-pixels 1e9" */
			rq->fwd[rq->nfwd++] = argv[i];
			rq->fwd[rq->nfwd++] = argv[++i];
		} else {
			/* --name=value, a bare boolean --name, or a mistake the
			 * settings will name */
			rq->fwd[rq->nfwd++] = argv[i];
		}
		if (bad) {
			fprintf(stderr, "tessera manifest: %.60s: missing value\n", a);
			return EXIT_USAGE;
		}
	}
	if (!rq->check && !rq->path) {
		fputs("tessera manifest: no PATH: give an item folder, a file or a collection folder "
		      "(. for the root)\n\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * PATH to a root-relative path (into rel, n bytes): relative PATHs are
 * taken from the root, "." and ".." resolved by name; absolute ones must
 * lie inside root_real once their folder's symlinks are resolved (the last
 * name is kept as written: a symlinked file keeps its own identifier).
 * False, with why set, when PATH leaves the root.
 */
static bool to_rel(const char *path, const char *root_real, char *rel, size_t n,
                   const char **why)
{
	char buf[PATH_MAX], real[PATH_MAX];
	size_t len = strlen(path), rl = strlen(root_real), o = 0;
	const char *p;

	*why = "is outside the root";
	if (len == 0 || len >= sizeof buf) {
		*why = len ? "is too long" : "is empty";
		return false;
	}
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (buf[0] == '/') {
		char *slash = strrchr(buf, '/');
		const char *last = slash + 1;

		if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || slash == buf) {
			if (!realpath(buf, real))
				return *why = "does not exist", false;
			last = "";
		} else {
			*slash = '\0';
			if (!realpath(buf, real))
				return *why = "does not exist", false;
		}
		if (strcmp(real, root_real) == 0)
			p = "";
		else if (strncmp(real, root_real, rl) == 0 && real[rl] == '/')
			p = real + rl + 1;
		else
			return false;
		if (snprintf(rel, n, "%s%s%s", p, *p && *last ? "/" : "", last) >= (int)n)
			return *why = "is too long", false;
		return true;
	}
	/* relative: from the root, by name */
	rel[0] = '\0';
	for (p = buf; *p;) {
		size_t k = strcspn(p, "/");

		if (k == 0 || (k == 1 && p[0] == '.')) {
			/* empty or "." */
		} else if (k == 2 && p[0] == '.' && p[1] == '.') {
			char *up = strrchr(rel, '/');
			if (o == 0)
				return false;
			o = up ? (size_t)(up - rel) : 0;
			rel[o] = '\0';
		} else {
			if (o + (o ? 1 : 0) + k + 1 > n)
				return *why = "is too long", false;
			if (o)
				rel[o++] = '/';
			memcpy(rel + o, p, k);
			o += k;
			rel[o] = '\0';
		}
		p += k;
		if (*p == '/')
			p++;
	}
	return true;
}

static void print_problem(void *arg, const char *line)
{
	(void)arg;
	fputs(line, stdout);
	fputc('\n', stdout);
}

/* err's message names the item and the field; one that does not gets the
 * path in front. */
static void print_error(const char *rel, const struct ts_error *err)
{
	const char *msg = err->msg[0] ? err->msg : "failed";
	size_t rl = strlen(rel);

	if (rl && strncmp(msg, rel, rl) == 0 && (msg[rl] == '/' || msg[rl] == ':'))
		fprintf(stderr, "tessera manifest: %s\n", msg);
	else
		fprintf(stderr, "tessera manifest: %s: %s\n", *rel ? rel : ".", msg);
}

/* Print what rel is: a Collection, or an item's or a file's Manifest. */
static int print_json(const struct ts_present_ctx *c, const char *rel, int version)
{
	struct ts_buf out = TS_BUF_INIT;
	struct ts_error err;
	struct stat st;
	ts_status s;
	int rc = 0;

	ts_error_clear(&err);
	switch (ts_present_kind_of(c, rel)) {
	case TS_PRESENT_COLLECTION:
		s = ts_present_collection(c, rel, version, &out, &err);
		break;
	case TS_PRESENT_ITEM:
	case TS_PRESENT_FILE:
		s = ts_present_manifest(c, rel, version, NULL, &out, &err);
		break;
	default:
		if (*rel && fstatat(c->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0)
			fprintf(stderr, "tessera manifest: %s: no such file or folder under the root %s\n",
			        rel, c->root_path);
		else
			fprintf(stderr, "tessera manifest: %s: nothing to publish (not an item folder, a "
			        "collection or a published file; names starting with '.' or '_' are "
			        "ignored, symlinks out of the root too)\n", rel);
		return EXIT_PROBLEMS;
	}
	if (s) {
		print_error(rel, &err);
		rc = EXIT_PROBLEMS;
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "tessera manifest: cannot write the output: %s\n", strerror(errno));
		rc = EXIT_PROBLEMS;
	}
	ts_buf_free(&out);
	return rc;
}

static int check_tree(const struct ts_present_ctx *c, const char *rel)
{
	struct ts_present_lint_counts n;
	struct ts_error err;

	ts_error_clear(&err);
	if (ts_present_lint(c, rel, print_problem, NULL, &n, &err) != TS_OK) {
		print_error(rel, &err);
		return EXIT_PROBLEMS;
	}
	printf("%zu items, %zu collections, %zu problems\n", n.items, n.collections, n.problems);
	if (fflush(stdout) != 0)
		return EXIT_PROBLEMS;
	return n.problems ? EXIT_PROBLEMS : 0;
}

int ts_cli_manifest(int argc, char **argv)
{
	struct request rq;
	struct ts_settings s;
	struct ts_error err;
	struct ts_resolver *resolver = NULL;
	struct ts_source_limits slim;
	struct ts_present_probes pp;
	struct ts_present_ctx c;
	struct ts_limits limits;
	bool formats[8];
	char rel[PATH_MAX];
	const char *why, *root;
	bool help = false;
	int rc, fd = -1;

	memset(&s, 0, sizeof s);
	rc = parse_args(argc, argv, &rq);
	if (rc) {
		request_free(&rq);
		return rc < 0 ? 0 : rc;
	}
	ts_error_clear(&err);
	if (ts_settings_load(&s, rq.nfwd, rq.fwd, &help, &err) != TS_OK) {
		fprintf(stderr, "tessera manifest: %s\n", err.msg);
		rc = EXIT_USAGE;
		goto done;
	}
	if (help) {
		usage(stdout);
		goto done;
	}
	root = s.root && *s.root ? s.root : ".";
	if (!rq.check && !*s.base_url) {
		fputs("tessera manifest: no public base URL: give --base URL (the address the "
		      "server is reached at, e.g. https://images.example.org), or base_url in the "
		      "config file\n", stderr);
		rc = EXIT_USAGE;
		goto done;
	}
	resolver = ts_resolver_create(root, s.suffixes, &err);
	if (!resolver) {
		fprintf(stderr, "tessera manifest: image root %s: %s\n", root,
		        err.msg[0] ? err.msg : "unusable");
		rc = EXIT_USAGE;
		goto done;
	}
	fd = open(ts_resolver_root(resolver), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tessera manifest: image root %s: %s\n", root, strerror(errno));
		rc = EXIT_USAGE;
		goto done;
	}
	if (!to_rel(rq.path ? rq.path : ".", ts_resolver_root(resolver), rel, sizeof rel, &why)) {
		fprintf(stderr, "tessera manifest: %s %s (the root is %s)\n", rq.path, why,
		        ts_resolver_root(resolver));
		rc = EXIT_USAGE;
		goto done;
	}

	/* the context exactly as the server makes it (server.c, serve/present.c) */
	memset(&limits, 0, sizeof limits);
	limits.max_width = s.max_width;
	limits.max_height = s.max_height;
	limits.max_area = s.max_area;
	limits.allow_upscaling = s.allow_upscaling;
	memset(&slim, 0, sizeof slim);
	slim.max_source_pixels = s.max_source_pixels;
	for (int f = 0; f < 8; f++)
		formats[f] = ts_encode_supported((enum ts_format)f);
	ts_present_ctx_init(&c, &pp, &s, resolver, fd,
	                    rq.check && !*s.base_url ? "http://localhost" : s.base_url, &limits,
	                    formats, &slim,
	                    ts_probe_cache_create(16384));   /* a shared page, a video's cover: once */

	rc = rq.check ? check_tree(&c, rel) : print_json(&c, rel, rq.version);
	ts_probe_cache_destroy(pp.cache);
done:
	if (fd >= 0)
		close(fd);
	ts_resolver_destroy(resolver);
	ts_settings_free(&s);
	request_free(&rq);
	return rc;
}
