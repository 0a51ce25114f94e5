/*
 * workers.c - the master process of `workers = N`: open the listening
 * sockets, fork the workers, keep N of them serving.
 *
 * The master does no request work and starts no thread: it forks.  Its loop
 * polls a signalfd (SIGCHLD, SIGHUP, SIGTERM, SIGINT, all blocked) and the
 * pipes through which starting workers say they serve (ts_workers_ready).
 *
 *   - A worker that dies is replaced at once.  One that dies within a second
 *     of its start makes the next start wait, doubling up to 10 s, so a
 *     worker crashing at startup does not spin.  A worker that exits by
 *     itself before it served (the settings do not let a server start, e.g.
 *     the root vanished: exit status 2) is not restarted.
 *   - SIGHUP: the app loads and checks the configuration again.  If it is
 *     bad, or would change the listening addresses (which need a restart),
 *     the old workers stay.  Otherwise N new workers start with it; when all
 *     of them serve, the old ones get SIGTERM and drain.  If a new one fails
 *     before it serves, the new ones are stopped and the old ones stay.
 *   - SIGTERM/SIGINT: every worker gets SIGTERM and drains; the master
 *     waits, then removes the Unix socket files and exits.
 *
 * The one idea: the listening sockets belong to the master, which never
 * closes them, so at every moment the kernel queues new connections for
 * whichever workers are accepting; old and new workers overlap during a
 * reload, and a dead worker's place is taken by the queue, not refused.
 * A worker that does not finish draining in DRAIN_SECONDS is killed.
 * A worker killed by a crash signal while decoding a file gets that file
 * quarantined (contain.h), so the next workers do not die of it too.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tessera/contain.h"
#include "tessera/log.h"
#include "tessera/workers.h"
#include "front.h"

#define MAX_SLOTS 160            /* two generations of 64 and some dying */
#define DRAIN_SECONDS 40         /* a draining worker is killed after this */
#define READY_SECONDS 60         /* a reload's new workers must serve by then */
#define FAST_DEATH_MS 1000       /* a death this soon after start backs off */
#define BACKOFF_MAX_MS 10000

struct worker {
	pid_t pid;                /* 0 = free slot */
	int gen;                  /* configuration generation */
	int ready_fd;             /* read end of the ready pipe, -1 once read */
	bool ready;
	bool draining;            /* sent SIGTERM */
	double started, term_at;  /* monotonic seconds */
};

struct master {
	const struct ts_workers_app *app;
	struct worker w[MAX_SLOTS];
	const struct ts_settings *cur;   /* settings of generation gen */
	struct ts_settings *owned;       /* cur when the master loaded it */
	struct ts_settings *next;        /* a reload's settings, or NULL */
	int gen, next_gen;               /* next_gen 0: no reload in progress */
	double next_started;
	double respawn_at;               /* no start before this */
	int fast_deaths;
	bool stopping, ever_ready;
	int exit_status;
	int sigfd;
	char unix_path[2][256];          /* socket files to remove at the end */
};

static int ready_fd_in_worker = -1;

void ts_workers_ready(void)
{
	if (ready_fd_in_worker >= 0) {
		ssize_t n;
		do
			n = write(ready_fd_in_worker, "r", 1);
		while (n < 0 && errno == EINTR);
		close(ready_fd_in_worker);
		ready_fd_in_worker = -1;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count(const struct master *m, int gen, bool only_serving)
{
	int n = 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		if (m->w[i].pid && m->w[i].gen == gen && !m->w[i].draining &&
		    (!only_serving || m->w[i].ready))
			n++;
	return n;
}

static void terminate(struct worker *w, double now)
{
	if (!w->draining) {
		kill(w->pid, SIGTERM);
		w->draining = true;
		w->term_at = now;
	}
}

/* The child's side of a fork: back to ordinary signals, then serve. */
static void run_worker(struct master *m, int index, const struct ts_settings *s, int ready_w)
{
	sigset_t none;
	int rc;

	/* Die with the master rather than serve unsupervised. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	close(m->sigfd);
	for (int i = 0; i < MAX_SLOTS; i++)
		if (m->w[i].pid && m->w[i].ready_fd >= 0)
			close(m->w[i].ready_fd);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	ready_fd_in_worker = ready_w;
	ts_contain_attach(index);   /* its "now decoding" slots */
	rc = m->app->serve(m->app->ctx, s);
	/* Stopped before it ever served: these settings cannot serve. */
	if (rc != 0 && ready_fd_in_worker >= 0)
		rc = 2;
	exit(rc);
}

static bool spawn(struct master *m, int gen, const struct ts_settings *s)
{
	struct worker *w = NULL;
	int p[2];
	pid_t pid;

	for (int i = 0; i < MAX_SLOTS && !w; i++)
		if (!m->w[i].pid)
			w = &m->w[i];
	if (!w || pipe2(p, O_CLOEXEC) != 0) {
		ts_log(TS_LOG_ERROR, "master: cannot start a worker: %s",
		       w ? strerror(errno) : "too many processes");
		return false;
	}
	ts_contain_reset((int)(w - m->w));
	fflush(NULL);   /* nothing buffered twice */
	pid = fork();
	if (pid < 0) {
		ts_log(TS_LOG_ERROR, "master: fork failed: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return false;
	}
	if (pid == 0) {
		close(p[0]);
		run_worker(m, (int)(w - m->w), s, p[1]);
	}
	close(p[1]);
	memset(w, 0, sizeof *w);
	w->pid = pid;
	w->gen = gen;
	w->ready_fd = p[0];
	w->started = now_s();
	ts_log(TS_LOG_INFO, "master: started worker %d (configuration %d)", (int)pid, gen);
	return true;
}

/* Abandon a reload: its workers stop, the old ones stay. */
static void abort_reload(struct master *m, const char *why)
{
	double now = now_s();

	ts_log(TS_LOG_ERROR, "master: reload failed (%s); the workers of the previous "
	       "configuration keep serving", why);
	for (int i = 0; i < MAX_SLOTS; i++)
		if (m->w[i].pid && m->w[i].gen == m->next_gen)
			terminate(&m->w[i], now);
	ts_settings_free(m->next);
	free(m->next);
	m->next = NULL;
	m->next_gen = 0;
}

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static void reload(struct master *m)
{
	struct ts_settings *s;

	if (m->next_gen) {
		ts_log(TS_LOG_WARN, "master: SIGHUP while a reload is in progress; ignored");
		return;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return;
	ts_log(TS_LOG_INFO, "master: SIGHUP: reading the configuration again");
	if (m->app->load(m->app->ctx, s) != 0) {
		ts_log(TS_LOG_ERROR, "master: the new configuration is not valid; the workers "
		       "keep the previous one");
		goto fail;
	}
	if (!same(s->fastcgi_listen, m->cur->fastcgi_listen) ||
	    !same(s->http_listen, m->cur->http_listen)) {
		ts_log(TS_LOG_ERROR, "master: the listening addresses changed; that needs a "
		       "restart; the workers keep the previous configuration");
		goto fail;
	}
	m->next = s;
	m->next_gen = m->gen + 1;
	m->next_started = now_s();
	for (int i = 0; i < s->workers; i++)
		if (!spawn(m, m->next_gen, s)) {
			abort_reload(m, "a new worker could not be started");
			return;
		}
	return;
fail:
	ts_settings_free(s);
	free(s);
}

/* Every new worker serves: the old ones drain, the new configuration rules. */
static void finish_reload(struct master *m)
{
	double now = now_s();

	for (int i = 0; i < MAX_SLOTS; i++)
		if (m->w[i].pid && m->w[i].gen != m->next_gen)
			terminate(&m->w[i], now);
	if (m->owned) {
		ts_settings_free(m->owned);
		free(m->owned);
	}
	m->owned = m->next;
	m->cur = m->next;
	m->gen = m->next_gen;
	m->next = NULL;
	m->next_gen = 0;
	m->fast_deaths = 0;
	m->respawn_at = 0;
	m->exit_status = 0;
	ts_log(TS_LOG_INFO, "master: reloaded; %d workers serve configuration %d",
	       m->cur->workers, m->gen);
}

static void describe(int status, char *buf, size_t n)
{
	if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
}

static void reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct worker *w = NULL;
		double now = now_s(), lived;
		char how[48];
		bool refused;

		for (int i = 0; i < MAX_SLOTS && !w; i++)
			if (m->w[i].pid == pid)
				w = &m->w[i];
		if (!w)
			continue;
		if (w->ready_fd >= 0) {
			/* It may have said ready just before dying. */
			char c;
			if (read(w->ready_fd, &c, 1) == 1)
				w->ready = true;
			close(w->ready_fd);
			w->ready_fd = -1;
		}
		describe(status, how, sizeof how);
		lived = now - w->started;
		refused = !w->ready && WIFEXITED(status) && WEXITSTATUS(status) != 0;
		/* A crash: quarantine what it was decoding (contain.h). */
		ts_contain_reap((int)(w - m->w), (int)pid, status);
		w->pid = 0;
		if (w->draining) {
			ts_log(TS_LOG_INFO, "master: worker %d stopped (%s)", (int)pid, how);
			continue;
		}
		ts_log(TS_LOG_ERROR, "master: worker %d died (%s)", (int)pid, how);
		if (m->next_gen && w->gen == m->next_gen) {
			abort_reload(m, refused ? "a new worker could not start with it"
			                        : "a new worker died");
			continue;
		}
		if (m->stopping || w->gen != m->gen)
			continue;
		if (refused) {
			/* It will not do better next time: keep the others. */
			if (!m->ever_ready)
				m->exit_status = WEXITSTATUS(status) == 2 ? 2 : 1;
			else
				m->exit_status = 1;
			ts_log(TS_LOG_ERROR, "master: not restarting it: it could not start with "
			       "this configuration");
			continue;
		}
		if (lived * 1000 < FAST_DEATH_MS) {
			int ms = 100 << (m->fast_deaths < 7 ? m->fast_deaths : 7);
			m->fast_deaths++;
			m->respawn_at = now + (ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms) / 1000.0;
		} else {
			m->fast_deaths = 0;
		}
	}
}

/* Starts what is missing, promotes a reload, kills stuck drainers. */
static void supervise(struct master *m)
{
	double now = now_s();
	int want = m->cur->workers, have;

	if (!m->stopping && m->exit_status == 0 && now >= m->respawn_at) {
		for (have = count(m, m->gen, false); have < want; have++)
			if (!spawn(m, m->gen, m->cur))
				break;
	}
	if (m->next_gen && count(m, m->next_gen, true) >= m->next->workers)
		finish_reload(m);
	else if (m->next_gen && now - m->next_started > READY_SECONDS)
		abort_reload(m, "the new workers did not start in time");
	for (int i = 0; i < MAX_SLOTS; i++)
		if (m->w[i].pid && m->w[i].draining && now - m->w[i].term_at > DRAIN_SECONDS) {
			ts_log(TS_LOG_WARN, "master: worker %d still draining after %d s; killing it",
			       (int)m->w[i].pid, DRAIN_SECONDS);
			kill(m->w[i].pid, SIGKILL);
			m->w[i].term_at = now;   /* once per DRAIN_SECONDS */
		}
}

static int alive(const struct master *m)
{
	int n = 0;

	for (int i = 0; i < MAX_SLOTS; i++)
		if (m->w[i].pid)
			n++;
	return n;
}

static void on_signal(struct master *m)
{
	struct signalfd_siginfo si;

	while (read(m->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(m);
			break;
		case SIGUSR2:   /* a worker crashing while decoding (contain.h) */
			ts_contain_sweep();
			break;
		case SIGHUP:
			if (!m->stopping)
				reload(m);
			break;
		case SIGTERM:
		case SIGINT:
			if (!m->stopping) {
				double now = now_s();
				ts_log(TS_LOG_INFO, "master: stopping: draining %d workers", alive(m));
				m->stopping = true;
				if (m->next_gen)
					abort_reload(m, "stopping");
				for (int i = 0; i < MAX_SLOTS; i++)
					if (m->w[i].pid)
						terminate(&m->w[i], now);
			}
			break;
		default:
			break;
		}
	}
}

/* The starting workers' pipes: a byte means ready. */
static void on_ready(struct master *m, struct pollfd *pfd, int n, int *slot)
{
	for (int k = 0; k < n; k++) {
		struct worker *w = &m->w[slot[k]];
		char c;

		if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (read(w->ready_fd, &c, 1) == 1) {
			w->ready = true;
			m->ever_ready = true;
			ts_log(TS_LOG_DEBUG, "master: worker %d serves", (int)w->pid);
		}
		close(w->ready_fd);   /* EOF: it died; reap() says so */
		w->ready_fd = -1;
	}
}

static bool open_socket(struct master *m, const char *addr, int k)
{
	struct ts_error err;
	bool is_unix = false;
	int fd;

	if (!addr || !*addr)
		return true;
	ts_error_clear(&err);
	fd = ts_listen_open(addr, 1024, &is_unix, &err);
	if (fd < 0) {
		ts_log(TS_LOG_ERROR, "master: %s", err.msg);
		fprintf(stderr, "tessera: %s\n", err.msg);
		return false;
	}
	if (!ts_listen_inherit(addr, fd, is_unix)) {
		close(fd);
		return false;
	}
	if (is_unix)
		snprintf(m->unix_path[k], sizeof m->unix_path[k], "%s",
		         strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr);
	return true;
}

int ts_workers_run(const struct ts_workers_app *app, const struct ts_settings *s)
{
	static struct master m;   /* large; one per process */
	sigset_t set;
	int rc = 1;

	memset(&m, 0, sizeof m);
	m.app = app;
	m.cur = s;
	m.gen = 1;
	m.sigfd = -1;
	for (int i = 0; i < MAX_SLOTS; i++)
		m.w[i].ready_fd = -1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR2);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (m.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		ts_log(TS_LOG_ERROR, "master: cannot set up signals: %s", strerror(errno));
		return 1;
	}
	ts_contain_init(MAX_SLOTS);   /* before any fork: shared with the workers */
	if (!open_socket(&m, s->fastcgi_listen, 0) || !open_socket(&m, s->http_listen, 1))
		goto fail;
	/* FastCGI on standard input (spawn-fcgi): the socket is inherited as
	 * it is; recorded so that no worker takes it for its own to remove. */
	if ((!s->fastcgi_listen || !*s->fastcgi_listen) && (!s->http_listen || !*s->http_listen))
		ts_listen_inherit("", 0, false);
	ts_log(TS_LOG_INFO, "master %d: starting %d workers", (int)getpid(), s->workers);
	while (!m.stopping || alive(&m) > 0) {
		struct pollfd pfd[MAX_SLOTS + 1];
		int slot[MAX_SLOTS], n = 0;

		supervise(&m);
		if (!m.stopping && alive(&m) == 0 && m.exit_status != 0)
			break;   /* nothing can serve */
		for (int i = 0; i < MAX_SLOTS; i++)
			if (m.w[i].pid && m.w[i].ready_fd >= 0) {
				pfd[n].fd = m.w[i].ready_fd;
				pfd[n].events = POLLIN;
				slot[n++] = i;
			}
		pfd[n].fd = m.sigfd;
		pfd[n].events = POLLIN;
		if (poll(pfd, (nfds_t)n + 1, 100) > 0) {
			on_ready(&m, pfd, n, slot);
			if (pfd[n].revents & POLLIN)
				on_signal(&m);
		}
	}
	rc = m.exit_status;
	ts_log(TS_LOG_INFO, "master: stopped");
fail:
	for (int i = 0; i < MAX_SLOTS; i++)
		if (m.w[i].pid) {   /* only when giving up: take them down */
			kill(m.w[i].pid, SIGKILL);
			waitpid(m.w[i].pid, NULL, 0);
		}
	for (int k = 0; k < 2; k++)
		if (m.unix_path[k][0])
			unlink(m.unix_path[k]);
	if (m.next) {
		ts_settings_free(m.next);
		free(m.next);
	}
	if (m.owned) {
		ts_settings_free(m.owned);
		free(m.owned);
	}
	close(m.sigfd);
	return rc;
}
