/*
 * settings_check.c - what the settings table cannot check by itself: the
 * syntax of addresses and server lists (a bad one is a settings error,
 * exit 2, before anything starts), and, for `tessera config --check`, the
 * things serve needs from the system (the root, the log file, the viewer,
 * the socket's directory), one line per problem.  Also where a relative
 * viewer_dir is found: next to the installed program, never in the
 * working directory.
 *
 * The one idea: serve and `config --check` run the same checks, so a
 * configuration that passes the check is one serve starts with.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tessera/address.h"
#include "tessera/settings.h"

#ifndef TS_DATADIR
#define TS_DATADIR "/usr/local/share"
#endif

#define BAD_MEMCACHED "memcached_servers: expected host:port[,host:port...] (or a /socket " \
                      "path), got '%.100s'"

/* One memcached server: /socket/path, host[:port] or [v6][:port]. */
static ts_status check_memcached_entry(const char *e, size_t n, struct ts_error *err)
{
	char one[300];
	struct ts_address ad;

	while (n && (*e == ' ' || *e == '\t'))
		e++, n--;
	while (n && (e[n - 1] == ' ' || e[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof one)
		return ts_error_set(err, TS_EBADREQUEST, BAD_MEMCACHED, "");
	memcpy(one, e, n);
	one[n] = '\0';
	if (one[0] == '/')
		return TS_OK;
	if (strchr(one, '/'))
		return ts_error_set(err, TS_EBADREQUEST, BAD_MEMCACHED, one);
	if (one[0] == '[' && one[n - 1] == ']') {   /* [v6] with the default port */
		if (n > 2 && strspn(one + 1, "0123456789abcdefABCDEF:.") == n - 2)
			return TS_OK;
		return ts_error_set(err, TS_EBADREQUEST, BAD_MEMCACHED, one);
	}
	if (!strchr(one, ':')) {                     /* a name with the default port */
		if (strspn(one, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") == n)
			return TS_OK;
		return ts_error_set(err, TS_EBADREQUEST, BAD_MEMCACHED, one);
	}
	return ts_address_parse(one, "memcached_servers", &ad, err);
}

ts_status ts_settings_validate(const struct ts_settings *s, struct ts_error *err)
{
	struct ts_address ad;
	const char *p;

	if (s->http_listen && *s->http_listen) {
		if (ts_address_parse(s->http_listen, "http_listen (--http)", &ad, err))
			return TS_EBADREQUEST;
	}
	if (s->fastcgi_listen && *s->fastcgi_listen &&
	    ts_address_parse(s->fastcgi_listen, "fastcgi_listen (--fastcgi)", &ad, err))
		return TS_EBADREQUEST;
	for (p = s->memcached_servers; p && *p; ) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (check_memcached_entry(p, n, err))
			return TS_EBADREQUEST;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (s->memcached_servers && *s->memcached_servers &&
	    s->memcached_servers[strlen(s->memcached_servers) - 1] == ',')
		return ts_error_set(err, TS_EBADREQUEST, "memcached_servers: empty entry after ','");
	if (s->base_url && *s->base_url && strncmp(s->base_url, "http://", 7) != 0 &&
	    strncmp(s->base_url, "https://", 8) != 0)
		return ts_error_set(err, TS_EBADREQUEST, "base_url: expected http://... or "
		                    "https://..., got '%.100s'", s->base_url);
	return TS_OK;
}

/* The directory holding the running program, or "" when unknown. */
static void program_dir(char *out, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", out, n - 1);
	char *slash;

	if (len <= 0) {
		out[0] = '\0';
		return;
	}
	out[len] = '\0';
	slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
	else
		out[0] = '\0';
}

bool ts_settings_viewer_path(const struct ts_settings *s, char *out, size_t n)
{
	const char *v = s->viewer_dir;
	char dir[PATH_MAX], cand[PATH_MAX * 2];
	struct stat st;

	if (!v || !*v || n < PATH_MAX)
		return false;
	if (v[0] == '/')
		return realpath(v, out) && stat(out, &st) == 0 && S_ISDIR(st.st_mode);
	program_dir(dir, sizeof dir);
	/* an uninstalled build (./tessera beside viewer/), an installed
	 * PREFIX/bin/tessera (PREFIX/share/tessera/viewer), the configured
	 * data directory */
	for (int i = 0; i < 3; i++) {
		int k;

		if (i == 0)
			k = dir[0] ? snprintf(cand, sizeof cand, "%s/%s", dir, v) : -1;
		else if (i == 1)
			k = dir[0] ? snprintf(cand, sizeof cand, "%s/../share/tessera/%s", dir, v) : -1;
		else
			k = snprintf(cand, sizeof cand, "%s/tessera/%s", TS_DATADIR, v);
		if (k > 0 && (size_t)k < sizeof cand && realpath(cand, out) &&
		    stat(out, &st) == 0 && S_ISDIR(st.st_mode))
			return true;
	}
	return false;
}

/* Whether the log file can be appended to (without creating it). */
static bool log_writable(const char *path, char *why, size_t n)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (access(path, F_OK) == 0) {
		if (access(path, W_OK) == 0)
			return true;
		snprintf(why, n, "%s", strerror(errno));
		return false;
	}
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	if (access(dir, W_OK | X_OK) == 0)
		return true;
	snprintf(why, n, "cannot create it in %s: %s", dir, strerror(errno));
	return false;
}

int ts_settings_check(const struct ts_settings *s, FILE *out)
{
	struct ts_error err;
	struct stat st;
	char why[PATH_MAX + 128], viewer[PATH_MAX];
	int problems = 0;

	ts_error_clear(&err);
	if (ts_settings_validate(s, &err) != TS_OK) {
		fprintf(out, "tessera: %s\n", err.msg);
		problems++;
	}
	if (!s->root || !*s->root) {
		fputs("tessera: root: no image root (root = DIR, --root, TESSERA_ROOT or "
		      "FILESYSTEM_PREFIX)\n", out);
		problems++;
	} else if (stat(s->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(out, "tessera: root: %s: %s\n", s->root,
		        errno && stat(s->root, &st) != 0 ? strerror(errno) : "not a directory");
		problems++;
	} else if (access(s->root, R_OK | X_OK) != 0) {
		fprintf(out, "tessera: root: %s: %s (as this user)\n", s->root, strerror(errno));
		problems++;
	}
	if (s->logfile && *s->logfile && !log_writable(s->logfile, why, sizeof why)) {
		fprintf(out, "tessera: logfile: %s: %s\n", s->logfile, why);
		problems++;
	}
	if (s->viewer_dir && *s->viewer_dir && !ts_settings_viewer_path(s, viewer, sizeof viewer))
		fprintf(out, "tessera: warning: viewer_dir: %s not found next to the program or "
		        "in %s/tessera: / and /viewer/ will answer 404\n", s->viewer_dir, TS_DATADIR);
	return problems;
}
