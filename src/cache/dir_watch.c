/*
 * dir_watch.c - results valid while their folders are unchanged, known
 * from inotify (dir_watch.h).
 *
 * One inotify descriptor (non-blocking) and an open-addressing table of
 * string keys.  The one idea: invalidation is all or nothing.  Any event
 * read from the queue empties the table and starts a new generation, so
 * there is no bookkeeping of which watch serves which key, and a
 * computation that began under an older generation is refused when it
 * tries to store its result.  The cost of that simplicity: a change
 * anywhere watched recomputes every cached result once, which is what
 * every request did before.  Watches are kept across generations (a
 * recomputation re-adds the same ones cheaply); a fresh descriptor numbers
 * its watches 1, 2, ..., so the largest number seen counts them, and when
 * it passes the limit the descriptor is replaced, dropping them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "tessera/dir_watch.h"
#include "tessera/hash.h"

/* inotify(7): everything that changes what a folder lists or what its
 * files hold, and the folder itself going away. */
#define MASK (IN_ATTRIB | IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | IN_DELETE_SELF | \
              IN_MOVE_SELF | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)

struct entry {
	char *key;
	uint64_t hash;
	struct ts_dir_stamp v;
};

struct ts_dir_watch {
	pthread_mutex_t lock;
	int fd;                 /* inotify, or -1: nothing is cached */
	uint64_t epoch;         /* bumped whenever the table is emptied */
	size_t max_watches;
	bool saturated;         /* a watch was refused: start afresh at the next begin */
	struct entry **slots;
	size_t nslots, n, max;  /* nslots a power of two, twice max */
};

/* statfs(2) f_type values of file systems whose changes may come from
 * another host (inotify sees only this kernel's). */
static bool network_fs(int fd)
{
	static const long remote[] = {
		0x6969,        /* NFS */
		0x517B,        /* SMB */
		(long)0xFF534D42, /* CIFS */
		(long)0xFE534D42, /* SMB2 */
		0x65735546,    /* FUSE (sshfs, s3fs...) */
		0x01021997,    /* 9P */
		0x00C36400,    /* Ceph */
		0x5346414F,    /* AFS */
		0x73757245,    /* Coda */
		0x7461636F,    /* OCFS2 */
		0x01161970,    /* GFS2 */
		0x0BD00BD0,    /* Lustre */
	};
	struct statfs sf;

	if (fstatfs(fd, &sf) != 0)
		return true;   /* unknown: do not trust events */
	for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
		if ((long)sf.f_type == remote[i])
			return true;
	return false;
}

struct ts_dir_watch *ts_dir_watch_create(int root_fd, bool enabled, size_t max_watches,
                                         size_t max_entries)
{
	struct ts_dir_watch *w = calloc(1, sizeof *w);
	size_t ns = 16;

	if (!w)
		return NULL;
	if (max_entries < 8)
		max_entries = 8;
	while (ns < max_entries * 2 && ns < ((size_t)1 << 24))
		ns *= 2;
	w->slots = calloc(ns, sizeof *w->slots);
	if (!w->slots) {
		free(w);
		return NULL;
	}
	w->nslots = ns;
	w->max = max_entries < ns / 2 ? max_entries : ns / 2;
	w->max_watches = max_watches;
	w->epoch = 1;
	w->fd = -1;
	if (enabled && root_fd >= 0 && !network_fs(root_fd))
		w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

static void clear(struct ts_dir_watch *w)
{
	for (size_t i = 0; i < w->nslots; i++) {
		if (w->slots[i]) {
			free(w->slots[i]->key);
			free(w->slots[i]);
			w->slots[i] = NULL;
		}
	}
	w->n = 0;
}

void ts_dir_watch_destroy(struct ts_dir_watch *w)
{
	if (!w)
		return;
	clear(w);
	free(w->slots);
	if (w->fd >= 0)
		close(w->fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

bool ts_dir_watch_active(struct ts_dir_watch *w)
{
	bool on;

	if (!w)
		return false;
	pthread_mutex_lock(&w->lock);
	on = w->fd >= 0;
	pthread_mutex_unlock(&w->lock);
	return on;
}

/* Empty the table and start a new generation.  The watches stay (adding
 * one again for the same folder is cheap and returns the same number);
 * with drop, the descriptor is replaced too, dropping every watch. */
static void reset(struct ts_dir_watch *w, bool drop)
{
	clear(w);
	w->epoch++;
	if (drop && w->fd >= 0) {
		w->saturated = false;
		close(w->fd);
		w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	}
}

/* Read what the queue holds; any event (IN_Q_OVERFLOW included) resets,
 * the rest of the queue is read too (it could only reset again).  Called
 * with the lock held. */
static void drain(struct ts_dir_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	bool changed = false;

	if (w->fd < 0)
		return;
	for (;;) {
		n = read(w->fd, buf, sizeof buf);
		if (n > 0) {
			changed = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		reset(w, true);   /* a broken queue: start afresh */
	else if (changed)
		reset(w, false);
}

static struct entry **find(struct ts_dir_watch *w, const char *key, uint64_t h)
{
	size_t mask = w->nslots - 1, i = (size_t)h & mask;

	while (w->slots[i] && (w->slots[i]->hash != h || strcmp(w->slots[i]->key, key) != 0))
		i = (i + 1) & mask;
	return &w->slots[i];
}

bool ts_dir_watch_get(struct ts_dir_watch *w, const char *key, struct ts_dir_stamp *out)
{
	uint64_t h = ts_hash_fnv1a(TS_FNV1A_OFFSET, key, strlen(key));
	struct entry **e;
	bool hit = false;

	if (!w)
		return false;
	pthread_mutex_lock(&w->lock);
	drain(w);
	if (w->fd >= 0) {
		e = find(w, key, h);
		if (*e) {
			*out = (*e)->v;
			hit = true;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return hit;
}

void ts_dir_watch_begin(struct ts_dir_watch *w, struct ts_dir_ticket *t)
{
	t->epoch = 0;
	t->ok = false;
	t->dir_known = t->path_known = false;
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	drain(w);
	if (w->saturated)
		reset(w, true);   /* the watches of forgotten results fill the limit */
	t->epoch = w->epoch;
	t->ok = w->fd >= 0;
	pthread_mutex_unlock(&w->lock);
}

/* Remember dir_fd as the folder last watched itself (its path is read
 * when a sub-folder of it is first watched). */
static void note_dir(struct ts_dir_ticket *t, int dir_fd)
{
	struct stat st;

	t->dir_known = t->path_known = false;
	if (fstat(dir_fd, &st) == 0) {
		t->dir_known = true;
		t->dir_dev = st.st_dev;
		t->dir_ino = st.st_ino;
	}
}

/* Whether dir_fd is the folder last watched itself and t->dir_path names
 * it: read from the descriptor's link once, then checked to lead back to
 * the same folder (a moved folder's stale path is refused). */
static bool known_path(struct ts_dir_ticket *t, int dir_fd)
{
	char link[64];
	struct stat st, pst;
	ssize_t n;

	if (!t->dir_known || fstat(dir_fd, &st) != 0 || st.st_dev != t->dir_dev ||
	    st.st_ino != t->dir_ino)
		return false;
	if (t->path_known)
		return true;
	snprintf(link, sizeof link, "/proc/self/fd/%d", dir_fd);
	n = readlink(link, t->dir_path, sizeof t->dir_path - 1);
	if (n <= 0 || (size_t)n >= sizeof t->dir_path - 1 || t->dir_path[0] != '/')
		return false;
	t->dir_path[n] = '\0';
	if (stat(t->dir_path, &pst) != 0 || pst.st_dev != st.st_dev || pst.st_ino != st.st_ino)
		return false;
	t->path_known = true;
	return true;
}

void ts_dir_watch_add(struct ts_dir_watch *w, struct ts_dir_ticket *t, int dir_fd,
                      const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2];
	int wd, n;

	if (!w || !t->ok)
		return;
	if (dir_fd < 0) {
		t->ok = false;
		return;
	}
	/* inotify takes a path: the descriptor's own, so the folder watched
	 * is the one that was opened, whatever its name has become; or for a
	 * sub-folder of the folder last watched itself, that folder's path
	 * (ts_dir_ticket) */
	if (name && (!*name || strchr(name, '/'))) {
		t->ok = false;
		return;
	}
	if (name && known_path(t, dir_fd))
		n = snprintf(path, sizeof path, "%s/%s", t->dir_path, name);
	else
		n = snprintf(path, sizeof path, "/proc/self/fd/%d%s%s", dir_fd, name ? "/" : "",
		             name ? name : "");
	if (!name)
		note_dir(t, dir_fd);
	if (n < 0 || (size_t)n >= sizeof path) {
		t->ok = false;
		return;
	}
	pthread_mutex_lock(&w->lock);
	if (w->fd < 0 || w->epoch != t->epoch) {
		t->ok = false;
	} else {
		wd = inotify_add_watch(w->fd, path, MASK | (name ? IN_DONT_FOLLOW : 0));
		/* a fresh descriptor numbers its watches 1, 2, ...: wd counts them */
		if (wd < 0 || (size_t)wd > w->max_watches) {
			t->ok = false;
			w->saturated = w->saturated || wd > 0 || errno == ENOSPC;
		}
	}
	pthread_mutex_unlock(&w->lock);
}

void ts_dir_watch_put(struct ts_dir_watch *w, const struct ts_dir_ticket *t, const char *key,
                      const struct ts_dir_stamp *value)
{
	uint64_t h = ts_hash_fnv1a(TS_FNV1A_OFFSET, key, strlen(key));
	struct entry **slot, *e;

	if (!w || !t->ok)
		return;
	pthread_mutex_lock(&w->lock);
	drain(w);
	if (w->fd < 0 || w->epoch != t->epoch)
		goto out;
	slot = find(w, key, h);
	if (*slot) {
		(*slot)->v = *value;
		goto out;
	}
	if (w->n >= w->max) {
		/* full: start over (results are cheap to recompute), watches
		 * too; this result is dropped with the generation */
		reset(w, false);
		goto out;
	}
	e = malloc(sizeof *e);
	if (!e || !(e->key = strdup(key))) {
		free(e);
		goto out;
	}
	e->hash = h;
	e->v = *value;
	*slot = e;
	w->n++;
out:
	pthread_mutex_unlock(&w->lock);
}
