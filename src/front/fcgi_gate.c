/*
 * fcgi_gate.c - the FastCGI front end's door: one thread accepts
 * connections and holds each one until its whole request head has arrived,
 * closing those that take longer than the read timeout; only then is the
 * connection handed to a worker.
 *
 * libfcgi's FCGX_Accept_r accepts and then reads the request's records
 * with blocking reads, on the worker thread: a connection that sends
 * nothing holds that worker for as long as it stays open, and as many
 * idle connections as there are workers stop all service.  So the workers
 * no longer accept.  The gate polls the listening socket and every
 * connection still arriving; for each it peeks (MSG_PEEK, nothing is
 * consumed) at what has arrived and walks the records (FastCGI 1.0 §3.3:
 * an 8-byte header, content, padding) until the empty FCGI_PARAMS record
 * that ends the request's parameters (§5.2).  Then the connection is
 * ready: a worker hands its descriptor to libfcgi, whose reads of the
 * head find every byte already there.  A connection kept open by the web
 * server (FCGI_KEEP_CONN) comes back to the gate between requests, so it
 * holds no worker while it idles either.
 *
 * libfcgi's FCGI_WEB_SERVER_ADDRS (the addresses TCP connections may come
 * from) is honoured here, since libfcgi's accept no longer runs.
 *
 * The one idea: a worker only ever receives a connection whose request it
 * can read without waiting; all waiting on clients happens here, on one
 * thread, bounded by the timeout and by MAX_CONNS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tessera/log.h"
#include "front.h"

/* Connections held at once (arriving + ready); past it the listening
 * socket is left alone and new ones wait in the kernel's backlog. */
#define MAX_CONNS 1024
/* The most of a request head we look at: nginx sends a few kilobytes of
 * parameters; a head not complete within this is refused. */
#define HEAD_MAX (64 * 1024)

/* After accept fails for want of resources, wait this long to try again. */
#define ACCEPT_PAUSE_NS (100 * 1000 * 1000u)

#define FCGI_VERSION_1 1
#define FCGI_PARAMS 4

struct arriving {
	int fd;
	uint64_t deadline;     /* ns, monotonic */
};

struct ts_fcgi_gate {
	int listen_fd;
	uint64_t timeout_ns;
	const char *allowed;   /* FCGI_WEB_SERVER_ADDRS, or NULL */
	int wake[2];           /* a pipe: give_back and stop wake the poll */
	pthread_t thread;
	bool thread_started;

	pthread_mutex_t lock;
	pthread_cond_t ready_cond;
	bool stopping;
	bool gate_done;        /* the gate thread has handed over its last connection */
	int ready[MAX_CONNS];  /* ring of connections with a whole head */
	int ready_head, ready_count;
	int returned[MAX_CONNS]; /* kept-alive connections given back */
	int returned_count;
	uint64_t timed_out;

	/* the gate thread's own */
	struct arriving arriving[MAX_CONNS];
	int narriving;
	uint64_t listen_paused_until;   /* ns: accept failed, e.g. EMFILE */
	unsigned char head[HEAD_MAX];
	struct pollfd pfd[MAX_CONNS + 2];
};

int ts_fcgi_head_complete(const unsigned char *buf, size_t n)
{
	size_t off = 0;

	while (n - off >= 8) {
		unsigned type = buf[off + 1];
		size_t len = ((size_t)buf[off + 4] << 8) | buf[off + 5];
		size_t total = 8 + len + buf[off + 6];

		if (buf[off] != FCGI_VERSION_1)
			return -1;
		if (type == FCGI_PARAMS && len == 0)
			return 1;
		if (n - off < total)
			return 0;
		off += total;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void wake(struct ts_fcgi_gate *g)
{
	char c = 1;

	/* A full pipe already means "wake up": nothing to do. */
	if (write(g->wake[1], &c, 1) < 0 && errno != EAGAIN)
		ts_log(TS_LOG_WARN, "fastcgi: cannot wake the gate: %s", strerror(errno));
}

/* Under lock: room for one more ready connection? */
static bool push_ready(struct ts_fcgi_gate *g, int fd)
{
	if (g->ready_count == MAX_CONNS)
		return false;
	g->ready[(g->ready_head + g->ready_count) % MAX_CONNS] = fd;
	g->ready_count++;
	pthread_cond_signal(&g->ready_cond);
	return true;
}

static void add_arriving(struct ts_fcgi_gate *g, int fd, uint64_t now)
{
	g->arriving[g->narriving].fd = fd;
	g->arriving[g->narriving].deadline = now + g->timeout_ns;
	g->narriving++;
}

/* Look at what connection i has sent: 1 ready, 0 not yet, -1 to close. */
static int examine(struct ts_fcgi_gate *g, int i)
{
	ssize_t n;

	do {
		n = recv(g->arriving[i].fd, g->head, sizeof g->head, MSG_PEEK | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if (n == 0)
		return -1;   /* closed before sending a whole request */
	switch (ts_fcgi_head_complete(g->head, (size_t)n)) {
	case 1:
		return 1;
	case 0:
		return (size_t)n == sizeof g->head ? -1 : 0;
	default:
		return -1;
	}
}

/* libfcgi's FCGI_WEB_SERVER_ADDRS, which its own accept honoured: a
 * comma-separated list of the addresses TCP connections may come from
 * (unset: any).  Unix-socket connections are not checked. */
static bool peer_allowed(const char *list, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char text[INET6_ADDRSTRLEN];
	const void *addr;
	size_t n;

	if (!list || !*list || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return !list || !*list;
	if (ss.ss_family == AF_INET)
		addr = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		addr = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	else
		return true;
	if (!inet_ntop(ss.ss_family, addr, text, sizeof text))
		return false;
	n = strlen(text);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t k = end ? (size_t)(end - p) : strlen(p);

		while (k > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			k--;
		}
		while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
			k--;
		if (k == n && memcmp(p, text, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

/* Accept what the backlog holds, up to MAX_CONNS held.  Out of
 * descriptors (EMFILE...), the listening socket would stay readable and
 * the poll would spin: it is left alone for a moment instead. */
static void accept_some(struct ts_fcgi_gate *g, uint64_t now)
{
	while (g->narriving < MAX_CONNS) {
		int fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				ts_log(TS_LOG_WARN, "fastcgi: accept failed: %s", strerror(errno));
				g->listen_paused_until = now + ACCEPT_PAUSE_NS;
			}
			return;
		}
		if (!peer_allowed(g->allowed, fd)) {
			ts_log(TS_LOG_WARN, "fastcgi: refused a connection from an address not in "
			       "FCGI_WEB_SERVER_ADDRS");
			close(fd);
			continue;
		}
		add_arriving(g, fd, now);
	}
}

static void *gate_main(void *arg)
{
	struct ts_fcgi_gate *g = arg;
	struct pollfd *pfd = g->pfd;

	for (;;) {
		uint64_t now = now_ns(), next;
		int held, nfd = 0, timeout_ms, i, rc;
		bool listening, stopping;

		/* Connections given back after a kept-alive request.  Stopping,
		 * the gate accepts nothing more but still finishes reading the
		 * heads of the connections it has accepted (within their read
		 * deadline) and hands them over: closing them would be a 502
		 * for requests the web server has already sent, e.g. to a worker
		 * process draining after SIGHUP. */
		pthread_mutex_lock(&g->lock);
		stopping = g->stopping;
		if (stopping && g->narriving == 0) {
			pthread_mutex_unlock(&g->lock);
			break;
		}
		for (i = 0; i < g->returned_count; i++) {
			if (g->narriving < MAX_CONNS)
				add_arriving(g, g->returned[i], now);
			else
				close(g->returned[i]);
		}
		g->returned_count = 0;
		held = g->narriving + g->ready_count;
		pthread_mutex_unlock(&g->lock);

		pfd[nfd].fd = g->wake[0];
		pfd[nfd++].events = POLLIN;
		listening = !stopping && held < MAX_CONNS && now >= g->listen_paused_until;
		pfd[nfd].fd = listening ? g->listen_fd : -1;
		pfd[nfd++].events = POLLIN;
		next = now + 1000000000u;   /* look at the stop flag every second */
		if (!listening && g->listen_paused_until > now && g->listen_paused_until < next)
			next = g->listen_paused_until;
		for (i = 0; i < g->narriving; i++) {
			pfd[nfd].fd = g->arriving[i].fd;
			pfd[nfd++].events = POLLIN | POLLRDHUP;
			if (g->arriving[i].deadline < next)
				next = g->arriving[i].deadline;
		}
		timeout_ms = next > now ? (int)((next - now + 999999) / 1000000) : 0;
		rc = poll(pfd, (nfds_t)nfd, timeout_ms);
		if (rc < 0 && errno != EINTR) {
			ts_log(TS_LOG_ERROR, "fastcgi: poll failed: %s", strerror(errno));
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (rc < 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			char buf[64];
			while (read(g->wake[0], buf, sizeof buf) > 0)
				;
		}
		now = now_ns();
		/* Connections: ready ones to the workers, the late and the
		 * broken closed.  Walk backwards so removal keeps indices. */
		for (i = g->narriving - 1; i >= 0; i--) {
			short ev = pfd[2 + i].revents;
			int state = 0;

			if (ev & (POLLIN | POLLHUP | POLLERR | POLLRDHUP))
				state = examine(g, i);
			/* The peer stopped sending before a whole head: it will
			 * never be complete (and would wake every poll). */
			if (state == 0 && (ev & (POLLHUP | POLLERR | POLLRDHUP)))
				state = -1;
			if (state == 0 && now >= g->arriving[i].deadline) {
				state = -1;
				pthread_mutex_lock(&g->lock);
				g->timed_out++;
				pthread_mutex_unlock(&g->lock);
				ts_log(TS_LOG_DEBUG, "fastcgi: closed a connection that sent no whole "
				       "request within the read timeout");
			}
			if (state == 0)
				continue;
			if (state > 0) {
				pthread_mutex_lock(&g->lock);
				if (!push_ready(g, g->arriving[i].fd))
					state = -1;
				pthread_mutex_unlock(&g->lock);
			}
			if (state < 0)
				close(g->arriving[i].fd);
			g->arriving[i] = g->arriving[--g->narriving];
		}
		if (listening && (pfd[1].revents & POLLIN))
			accept_some(g, now);
	}
	return NULL;
}

struct ts_fcgi_gate *ts_fcgi_gate_start(int listen_fd, int timeout_seconds)
{
	struct ts_fcgi_gate *g = calloc(1, sizeof *g);
	int fl;

	if (!g)
		return NULL;
	g->listen_fd = listen_fd;
	g->allowed = getenv("FCGI_WEB_SERVER_ADDRS");
	g->timeout_ns = (uint64_t)(timeout_seconds > 0 ? timeout_seconds : 1) * 1000000000u;
	g->wake[0] = g->wake[1] = -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->ready_cond, NULL);
	/* The listening socket is polled, then accepted from until the
	 * backlog is empty: it must not block (another process sharing it,
	 * spawn-fcgi -F, may have taken the connection poll announced). */
	fl = fcntl(listen_fd, F_GETFL);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    pipe2(g->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		ts_log(TS_LOG_ERROR, "fastcgi: cannot set up the listening socket: %s",
		       strerror(errno));
		goto fail;
	}
	if (pthread_create(&g->thread, NULL, gate_main, g) != 0) {
		ts_log(TS_LOG_ERROR, "fastcgi: cannot start the accepting thread");
		goto fail;
	}
	g->thread_started = true;
	return g;
fail:
	ts_fcgi_gate_destroy(g);
	return NULL;
}

int ts_fcgi_gate_take(struct ts_fcgi_gate *g)
{
	int fd = -1;

	pthread_mutex_lock(&g->lock);
	while (!g->gate_done && g->ready_count == 0)
		pthread_cond_wait(&g->ready_cond, &g->lock);
	if (g->ready_count > 0) {
		fd = g->ready[g->ready_head];
		g->ready_head = (g->ready_head + 1) % MAX_CONNS;
		g->ready_count--;
	}
	/* Stopping: connections already ready, and those whose heads the gate
	 * is still reading, are still answered; -1 once there are none. */
	pthread_mutex_unlock(&g->lock);
	return fd;
}

void ts_fcgi_gate_give_back(struct ts_fcgi_gate *g, int fd)
{
	bool taken = false;

	pthread_mutex_lock(&g->lock);
	if (!g->stopping && g->returned_count < MAX_CONNS) {
		g->returned[g->returned_count++] = fd;
		taken = true;
	}
	pthread_mutex_unlock(&g->lock);
	if (taken)
		wake(g);
	else
		close(fd);
}

uint64_t ts_fcgi_gate_timed_out(struct ts_fcgi_gate *g)
{
	uint64_t n;

	pthread_mutex_lock(&g->lock);
	n = g->timed_out;
	pthread_mutex_unlock(&g->lock);
	return n;
}

void ts_fcgi_gate_stop(struct ts_fcgi_gate *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_broadcast(&g->ready_cond);
	pthread_mutex_unlock(&g->lock);
	if (g->thread_started) {
		wake(g);
		pthread_join(g->thread, NULL);
		g->thread_started = false;
	}
	pthread_mutex_lock(&g->lock);
	g->gate_done = true;
	pthread_cond_broadcast(&g->ready_cond);
	pthread_mutex_unlock(&g->lock);
}

void ts_fcgi_gate_destroy(struct ts_fcgi_gate *g)
{
	int i;

	if (!g)
		return;
	ts_fcgi_gate_stop(g);
	for (i = 0; i < g->narriving; i++)
		close(g->arriving[i].fd);
	for (i = 0; i < g->returned_count; i++)
		close(g->returned[i]);
	for (i = 0; i < g->ready_count; i++)
		close(g->ready[(g->ready_head + i) % MAX_CONNS]);
	if (g->wake[0] >= 0)
		close(g->wake[0]);
	if (g->wake[1] >= 0)
		close(g->wake[1]);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->ready_cond);
	free(g);
}
