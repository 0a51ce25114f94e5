/*
 * main.c - the tessera command: subcommands, settings, signals, and which
 * front ends to run.
 *
 *   tessera serve [--setting value ...]   run the image server
 *   tessera config [--setting value ...]  print a complete commented config file
 *   tessera config --check [...]          check the settings as serve would
 *   tessera manifest [--check] ... PATH   print a Manifest, or check a tree (cli/manifest.c)
 *   tessera convert IN OUT | IN... -o DIR  make tiled pyramids (cli/convert.c)
 *   tessera help | --help                 usage and every setting
 *   tessera --version
 *
 * The one idea: main only decides *what* runs; the settings table
 * (core/settings.c) knows every option, the server (server.c) answers
 * requests, and the front ends (front/) carry them.  Serving stops cleanly
 * when SIGTERM or SIGINT sets the stop flag every front end polls; SIGHUP
 * reopens the access log.  With workers > 1 this process becomes the master
 * of front/workers.c, and each worker it forks runs serve_process.
 *
 * For iipsrv deployments, `tessera` with no arguments but a listening socket
 * on standard input (spawn-fcgi, mod_fcgid) serves FastCGI on it, configured
 * from the environment as iipsrv would be.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/convert.h"
#include "cli/manifest.h"
#include "tessera/access_log.h"
#include "tessera/log.h"
#include "tessera/server.h"
#include "tessera/settings.h"
#include "tessera/workers.h"

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "0.1.0"
#endif

/* Exit statuses: 0 clean stop, 1 could not start, 2 bad usage or settings. */
#define EXIT_USAGE 2

static volatile int stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
}

static void usage(FILE *out)
{
	fputs("Usage: tessera serve [--setting value ...]\n"
	      "       tessera config [--setting value ...] > tessera.conf\n"
	      "       tessera config --check [--config FILE]\n"
	      "       tessera manifest [--root DIR] --base URL [--version 3|2] PATH\n"
	      "       tessera manifest --check [--root DIR] [PATH]\n"
	      "       tessera convert [OPTIONS] IN OUT | IN... -o DIR\n"
	      "       tessera help | --help\n"
	      "       tessera --version\n"
	      "\n"
	      "Examples:\n"
	      "  tessera serve --root /srv/images --http 127.0.0.1:8080\n"
	      "  tessera serve --config /etc/tessera/tessera.conf --fastcgi /run/tessera/tessera.sock\n"
	      "  spawn-fcgi -s /run/tessera/tessera.sock -M 0666 -- /usr/local/bin/tessera serve "
	      "--root /srv/images --logfile /var/log/tessera/tessera.log\n"
	      "  tessera config --check --config /etc/tessera/tessera.conf\n"
	      "  tessera manifest --root /srv/images --base https://images.example.org "
	      "letters/1871-04-02\n"
	      "  tessera manifest --check --root /srv/images\n"
	      "\n"
	      "serve needs an image root and something to listen on: --http host:port,\n"
	      "--fastcgi socket-path|host:port, or a FastCGI socket on standard input.\n"
	      "manifest prints the IIIF Manifest (or Collection) of a folder or file of the\n"
	      "root as the server answers it, or with --check reports every problem of the\n"
	      "tree; tessera manifest --help tells more.\n"
	      "See tessera(8) and tessera.conf(5).\n", out);
}

/* True when fd 0 is a listening socket (spawn-fcgi, mod_fcgid started us). */
static bool stdin_is_listening_socket(void)
{
	struct stat st;
	int listening = 0;
	socklen_t len = sizeof listening;

	if (fstat(0, &st) != 0 || !S_ISSOCK(st.st_mode))
		return false;
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0)
		return false;
	return listening != 0;
}

struct http_thread {
	struct ts_server *srv;
	const struct ts_settings *s;
	int rc;
};

static void *http_thread_main(void *arg)
{
	struct http_thread *t = arg;

	t->rc = ts_http_run(t->srv, t->s, &stop_flag);
	return NULL;
}

static int load_or_exit(struct ts_settings *s, int argc, char **argv, bool *help)
{
	struct ts_error err;

	ts_error_clear(&err);
	if (ts_settings_load(s, argc, argv, help, &err) != TS_OK) {
		fprintf(stderr, "tessera: %s\n", err.msg);
		return EXIT_USAGE;
	}
	return 0;
}

static void on_hangup(int sig)
{
	(void)sig;
	ts_access_log_reopen();   /* log rotation: the file is opened again */
}

/*
 * Can these settings serve?  Root, something to listen on, the access log
 * format.  Prints why not (to stderr and the log) and returns the exit
 * status; 0 when they can.  *on_stdin: FastCGI on an inherited socket.
 */
static int check_serve_settings(const struct ts_settings *s, bool *on_stdin)
{
	enum ts_access_format af;
	struct ts_error err;
	struct stat st;

	ts_error_clear(&err);
	if (ts_settings_validate(s, &err) != TS_OK) {
		fprintf(stderr, "tessera: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if (!s->root || !*s->root) {
		fputs("tessera: no image root: give --root DIR (or root = DIR in the config file, "
		      "or TESSERA_ROOT / FILESYSTEM_PREFIX)\n", stderr);
		return 1;
	}
	if (stat(s->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		const char *why = "not a directory";
		if (stat(s->root, &st) != 0)
			why = strerror(errno);
		fprintf(stderr, "tessera: image root %s: %s\n", s->root, why);
		ts_log(TS_LOG_ERROR, "image root %s: %s", s->root, why);
		return 1;
	}
	if (ts_access_log_parse_format(s->access_log_format, &af, &err) != TS_OK) {
		fprintf(stderr, "tessera: %s\n", err.msg);
		ts_log(TS_LOG_ERROR, "%s", err.msg);
		return EXIT_USAGE;
	}
	*on_stdin = !*s->fastcgi_listen && !*s->http_listen && stdin_is_listening_socket();
	if (!*s->fastcgi_listen && !*s->http_listen && !*on_stdin) {
		fputs("tessera: nothing to serve: give --http host:port or --fastcgi SOCKET, or "
		      "start tessera from spawn-fcgi\n\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/* The command line, kept for the master's reloads. */
struct serve_args {
	int argc;
	char **argv;
};

/* front/workers.c's reload: the settings again, from the same sources. */
static int reload_settings(void *ctx, struct ts_settings *s)
{
	struct serve_args *a = ctx;
	struct ts_error err;
	bool help = false, on_stdin = false;

	ts_error_clear(&err);
	if (ts_settings_load(s, a->argc, a->argv, &help, &err) != TS_OK) {
		ts_log(TS_LOG_ERROR, "%s", err.msg);
		return EXIT_USAGE;
	}
	return check_serve_settings(s, &on_stdin);
}

/*
 * One serving process: the whole server with its front ends, until SIGTERM
 * or SIGINT, after which the front ends finish the requests in flight.  The
 * lone process of workers = 1, or one worker of the master (front/workers.c).
 */
static int serve_process(void *ctx, const struct ts_settings *s)
{
	struct ts_server *srv = NULL;
	struct ts_error err;
	struct sigaction sa;
	struct http_thread ht;
	pthread_t http_tid;
	bool http_started = false, on_stdin = false;
	int rc;

	(void)ctx;
	ts_error_clear(&err);
	rc = check_serve_settings(s, &on_stdin);
	if (rc != 0)
		return rc;
	rc = 1;
	if (ts_log_open(s->logfile, s->verbosity) != 0) {
		fprintf(stderr, "tessera: cannot open log file %s: %s\n", s->logfile, strerror(errno));
		return rc;
	}
	/* The handlers before any thread (the access log's writer) starts, so
	 * every thread inherits them. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hangup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;   /* a client hanging up must not kill the process */
	sigaction(SIGPIPE, &sa, NULL);
	if (ts_access_log_open(s->access_log, s->access_log_format, &err) != TS_OK) {
		fprintf(stderr, "tessera: %s\n", err.msg);
		ts_log(TS_LOG_ERROR, "%s", err.msg);
		return rc;
	}
	srv = ts_server_create(s, &err);
	if (!srv) {
		fprintf(stderr, "tessera: %s\n", err.msg[0] ? err.msg : "cannot start the server");
		if (err.detail[0])
			ts_log(TS_LOG_ERROR, "%s", err.detail);
		if (err.status == TS_EBADREQUEST)
			rc = EXIT_USAGE;   /* a bad value, not the system */
		goto fail;
	}
	/* One line at start (mod_fcgid starts processes often); every setting
	 * only at verbosity 5. */
	ts_log(TS_LOG_INFO, "tessera %s starting: root %s, config %s, %d threads, cache %llu MB%s%s",
	       TESSERA_VERSION, s->root, *s->config_file ? s->config_file : "(none)",
	       ts_settings_worker_threads(s), (unsigned long long)s->cache_size_mb,
	       *s->memcached_servers ? ", memcached " : "", s->memcached_servers);
	ts_settings_log(s);
	ts_workers_ready();

	rc = 0;
	if (*s->http_listen) {
		ht.srv = srv;
		ht.s = s;
		ht.rc = 0;
		if (!*s->fastcgi_listen) {
			rc = ts_http_run(srv, s, &stop_flag);
		} else if (pthread_create(&http_tid, NULL, http_thread_main, &ht) == 0) {
			http_started = true;
		} else {
			ts_log(TS_LOG_ERROR, "cannot start the HTTP front end thread");
			rc = 1;
			__atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
		}
	}
	if (*s->fastcgi_listen || on_stdin)
		rc |= ts_fastcgi_run(srv, s, &stop_flag);
	if (http_started) {
		pthread_join(http_tid, NULL);
		rc |= ht.rc;
	}
	rc = rc ? 1 : 0;
	ts_log(TS_LOG_INFO, "tessera stopped%s", rc ? " after an error" : "");
	if (rc && *s->logfile)
		fprintf(stderr, "tessera: stopped after an error; see %s\n", s->logfile);
fail:
	ts_server_destroy(srv);
	ts_access_log_close();
	return rc;
}

static int cmd_serve(int argc, char **argv)
{
	struct ts_settings s;
	struct serve_args args = { argc, argv };
	struct ts_workers_app app = { reload_settings, serve_process, &args };
	bool help = false, on_stdin = false;
	int rc = EXIT_USAGE;

	/* Pixel buffers of large requests (a full/max mosaic is tens of MB)
	 * would come straight from mmap and go back to the kernel on free, so
	 * each such request faulted its pages in afresh: a fifth of its CPU,
	 * measured on full/max.  Keep them in malloc's heaps for reuse; memory
	 * stays bounded by the largest renders in flight, which the limits and
	 * the few heavy-render threads bound.  Before any thread starts. */
	mallopt(M_MMAP_THRESHOLD, 512 << 20);
	mallopt(M_TRIM_THRESHOLD, 1024 << 20);
	/* Each thread that allocates while another holds its arena gets a new
	 * one, up to 8 per core: with 8 workers the JPEG 2000 first walk kept
	 * ~24 MB of freed decode buffers in each of 10 arenas.  Two per core
	 * (no more can run at once without waiting for a core) cut the resident
	 * peak of that walk from ~315 to ~270 MB at the same CPU per tile
	 * (core/mem_trim.c has the figures).  MALLOC_ARENA_MAX or GLIBC_TUNABLES
	 * in the environment win. */
	if (!getenv("MALLOC_ARENA_MAX") && !getenv("GLIBC_TUNABLES")) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		mallopt(M_ARENA_MAX, cores > 1 ? (int)(cores > 64 ? 128 : 2 * cores) : 2);
	}
	if (load_or_exit(&s, argc, argv, &help) != 0)
		goto fail;
	if (help) {
		usage(stdout);
		fputc('\n', stdout);
		ts_settings_help(stdout);
		rc = 0;
		goto fail;
	}
	rc = check_serve_settings(&s, &on_stdin);
	if (rc != 0)
		goto fail;
	if (s.workers <= 1) {
		rc = serve_process(NULL, &s);
		goto fail;
	}
	/* workers > 1: this process becomes the master (front/workers.c). */
	if (ts_log_open(s.logfile, s.verbosity) != 0) {
		fprintf(stderr, "tessera: cannot open log file %s: %s\n", s.logfile, strerror(errno));
		rc = 1;
		goto fail;
	}
	rc = ts_workers_run(&app, &s);
fail:
	ts_settings_free(&s);
	return rc;
}

static void config_usage(FILE *out)
{
	fputs("Usage: tessera config [--setting value ...] > tessera.conf\n"
	      "       tessera config --check [--config FILE] [--setting value ...]\n"
	      "\n"
	      "Without --check, print a complete commented configuration file for the\n"
	      "settings given (defaults, the --config file, the environment, the flags);\n"
	      "settings left at their default are commented out.\n"
	      "With --check, check the settings as serve would (values, addresses and\n"
	      "ports, memcached servers, the image root, the log file) and print one line\n"
	      "per problem; exit 0 when there is none, 1 when serve could not start, 2 for\n"
	      "a bad value.  tessera --help lists every setting.\n", out);
}

static int cmd_config(int argc, char **argv)
{
	struct ts_settings s;
	struct ts_error err;
	bool help = false, check = false;
	int rc, n = 0, problems;

	/* --check is this command's own flag, not a setting */
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0)
			check = true;
		else
			argv[n++] = argv[i];
	}
	rc = load_or_exit(&s, n, argv, &help);
	if (rc == 0 && help) {
		config_usage(stdout);
	} else if (rc == 0 && check) {
		ts_error_clear(&err);
		if (ts_settings_validate(&s, &err) != TS_OK) {
			fprintf(stdout, "tessera: %s\n", err.msg);
			rc = EXIT_USAGE;
		} else {
			problems = ts_settings_check(&s, stdout);
			if (problems)
				rc = 1;
			else
				printf("tessera: the settings are valid (root %s%s%s)\n", s.root,
				       *s.config_file ? ", config " : "", s.config_file);
		}
	} else if (rc == 0) {
		ts_settings_write_config(stdout, &s);
	}
	ts_settings_free(&s);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		/* iipsrv-style start: spawn-fcgi/mod_fcgid, settings from the environment. */
		if (stdin_is_listening_socket())
			return cmd_serve(0, argv + 1);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(argc - 2, argv + 2);
	if (strcmp(cmd, "manifest") == 0)
		return ts_cli_manifest(argc - 2, argv + 2);
	if (strcmp(cmd, "convert") == 0) {
		/* The converter's big buffers (a progressive JPEG's coefficients,
		 * the level bands) are touched once each: in 2 MB pages they cost
		 * a fiftieth of the page faults, about a tenth of a conversion's
		 * time.  glibc reads the tunable only at startup, so start again
		 * once with it set (never when the caller set GLIBC_TUNABLES). */
		if (!getenv("GLIBC_TUNABLES") && setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1) == 0)
			execv("/proc/self/exe", argv);
		return ts_cli_convert(argc - 2, argv + 2);
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		fputc('\n', stdout);
		ts_settings_help(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("tessera %s\n", TESSERA_VERSION);
		return 0;
	}
	if (strcmp(cmd, "man-settings") == 0) {   /* hidden: regenerates tessera.conf(5) */
		ts_settings_write_man(stdout);
		return 0;
	}
	/* `tessera --root ... --http ...` means serve. */
	if (strncmp(cmd, "--", 2) == 0)
		return cmd_serve(argc - 1, argv + 1);
	fprintf(stderr, "tessera: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
