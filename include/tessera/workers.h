/*
 * workers.h - supervised worker processes (front/workers.c), the
 * `workers = N` setting.
 *
 * A master process opens the listening sockets once, forks N workers that
 * share them (each a whole server with its threads, its response cache and
 * its access log writer), and then only supervises: a worker that dies is
 * replaced at once; SIGHUP re-reads the configuration and, when it is
 * valid, starts N new workers and, once they serve, lets the old ones
 * drain; SIGTERM or SIGINT drains every worker and then exits.  The
 * sockets stay open in the master throughout, so connections wait in the
 * kernel's queue while workers come and go instead of being refused.
 *
 * What a worker runs is the caller's: the front ends only have to start
 * from the inherited socket (ts_listen_open finds it, front/inherit.c) and
 * drain on SIGTERM (finish what is in flight, accept nothing new).
 */
#ifndef TESSERA_WORKERS_H
#define TESSERA_WORKERS_H

#include "settings.h"

struct ts_workers_app {
	/* Load the settings afresh for a reload, as at startup, into s
	 * (which the master frees with ts_settings_free).  Returns 0, or
	 * nonzero after logging why (the old workers then stay). */
	int (*load)(void *ctx, struct ts_settings *s);
	/* A worker's whole life with settings s: returns its exit status.
	 * It calls ts_workers_ready once it can answer requests. */
	int (*serve)(void *ctx, const struct ts_settings *s);
	void *ctx;
};

/*
 * Be the master for s->workers workers until SIGTERM or SIGINT.  s is
 * borrowed (it must stay valid until the return); settings loaded on
 * SIGHUP are the master's.  Opens the listening sockets of
 * s->fastcgi_listen and s->http_listen (FastCGI on standard input is
 * inherited as it is) and removes Unix socket files at the end.  Returns
 * the exit status: 0 after a clean stop, 1 when no worker could be kept
 * running, 2 when the first workers could not start with these settings.
 * Call it before any thread exists: it forks.
 */
int ts_workers_run(const struct ts_workers_app *app, const struct ts_settings *s);

/* In a worker: tell the master that this worker serves (a reload waits for
 * it before draining the old workers).  Does nothing in a lone process. */
void ts_workers_ready(void);

#endif
