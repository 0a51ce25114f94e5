/*
 * contain.c - decoder crashes contained across worker processes (contract
 * in include/tessera/contain.h).
 *
 * The one idea: the only memory that outlives a crashed worker is memory
 * it shares with the master, so each worker thread writes there, before
 * every call into a third-party decoder, which file it is about to hand
 * over and to which decoder, and clears it after.  Those are plain stores
 * into the thread's own slot, published by one release store of `busy`; a
 * worker never waits for anything in the region.  When a crash signal ends
 * a worker, its slots say what it was decoding, and the master, the only
 * writer of the quarantine table, adds those files.
 *
 * The quarantine table is read by every worker and written by the master
 * under a sequence counter (even: stable, odd: being written): a reader
 * copies what it needs and retries if the counter moved, so no reader can
 * block the master and no dying process can leave a lock held.  Only crash
 * signals count (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGSYS,
 * SIGTRAP): a worker killed with SIGKILL or SIGTERM (the OOM killer, an
 * operator, the master's own drain timeout) quarantines nothing.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tessera/contain.h"
#include "tessera/log.h"

#define SLOTS_PER_WORKER 96     /* request threads, tile pool, heavy renders */
#define QUARANTINE_SIZE 256     /* entries; past it the oldest is replaced */
#define READ_TRIES 1000
#define ACK_WAIT_MS 500         /* a crashing worker waits this for the master */

struct slot {
	atomic_uint owned;          /* a live thread holds it */
	atomic_uint busy;
	uint32_t decoder;
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns;
};

struct worker_slots {
	atomic_int culprit;         /* 1 + the slot of the thread that crashed, or 0 */
	atomic_int crash_sig;       /* set by the crashing worker: the signal */
	atomic_int handled;         /* set by the master once it quarantined */
	int pid;
	struct slot s[SLOTS_PER_WORKER];
};

struct entry {
	uint32_t level;             /* 0: free */
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns;
};

struct region {
	atomic_uint seq;            /* even: stable; odd: the master is writing */
	atomic_ullong crashes;
	uint32_t used, oldest;      /* master's only */
	struct entry q[QUARANTINE_SIZE];
	int nworkers;
	struct worker_slots w[];
};

static struct region *shared;
static struct worker_slots *mine;
static __thread int my_slot = -2;   /* -2 not claimed yet, -1 none free */
static pthread_key_t slot_key;       /* its destructor frees a thread's slot */
static bool have_key;

/* A thread that ends gives its slot back (threads come and go: the
 * Presentation probes start theirs per request). */
static void release_slot(void *p)
{
	struct slot *s = p;

	atomic_store(&s->busy, 0);
	atomic_store(&s->owned, 0);
}

static int claim_slot(void)
{
	for (int k = 0; k < SLOTS_PER_WORKER; k++) {
		unsigned zero = 0;
		if (atomic_compare_exchange_strong(&mine->s[k].owned, &zero, 1)) {
			if (have_key)
				pthread_setspecific(slot_key, &mine->s[k]);
			return k;
		}
	}
	return -1;
}

bool ts_contain_init(int max_workers)
{
	size_t n = sizeof(struct region) + (size_t)max_workers * sizeof(struct worker_slots);
	void *p;

	if (shared)
		return true;
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ts_log(TS_LOG_ERROR, "master: no shared memory for crash containment (%zu "
		       "bytes): a file that crashes a decoder is not quarantined", n);
		return false;
	}
	shared = p;   /* zero-filled by the kernel */
	shared->nworkers = max_workers;
	return true;
}

void ts_contain_reset(int i)
{
	if (shared && i >= 0 && i < shared->nworkers)
		memset(&shared->w[i], 0, sizeof shared->w[i]);
}

/* A crash signal in a worker: say which thread (so that the files other
 * threads were decoding at that moment are not blamed), then die of it
 * as before (SA_RESETHAND: the default action, delivered again). */
static void on_crash(int sig)
{
	if (mine && !atomic_load(&mine->crash_sig)) {
		struct timespec ms = { 0, 1000000 };
		if (my_slot >= 0)
			atomic_store(&mine->culprit, my_slot + 1);
		atomic_store(&mine->crash_sig, sig);
		/* The master quarantines now, while this worker's connections
		 * are still open: no request can reach another worker with the
		 * file before the quarantine is in place (nginx sees this one
		 * fail only when it is gone). */
		kill(getppid(), SIGUSR2);
		for (int k = 0; k < ACK_WAIT_MS && !atomic_load(&mine->handled); k++)
			nanosleep(&ms, NULL);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void ts_contain_attach(int i)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct sigaction sa;

	mine = shared && i >= 0 && i < shared->nworkers ? &shared->w[i] : NULL;
	my_slot = -2;
	if (!mine)
		return;
	mine->pid = (int)getpid();
	have_key = have_key || pthread_key_create(&slot_key, release_slot) == 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
		sigaction(sigs[k], &sa, NULL);
}

static void identity(const struct stat *st, uint64_t *dev, uint64_t *ino, uint64_t *size,
                     int64_t *ms, int64_t *mns)
{
	*dev = (uint64_t)st->st_dev;
	*ino = (uint64_t)st->st_ino;
	*size = (uint64_t)st->st_size;
	*ms = (int64_t)st->st_mtim.tv_sec;
	*mns = (int64_t)st->st_mtim.tv_nsec;
}

void ts_contain_enter(const struct stat *st, enum ts_contain_decoder decoder,
                      struct ts_contain_mark *m)
{
	struct slot *s;

	m->slot = -1;
	if (!mine)
		return;
	if (my_slot == -2)
		my_slot = claim_slot();   /* -1 (unmarked) while all are held */
	if (my_slot < 0)
		return;
	s = &mine->s[my_slot];
	m->slot = my_slot;
	m->decoder = atomic_load_explicit(&s->busy, memory_order_relaxed) ? s->decoder : 0;
	m->dev = s->dev;
	m->ino = s->ino;
	m->size = s->size;
	m->mtime_s = s->mtime_s;
	m->mtime_ns = s->mtime_ns;
	s->decoder = (uint32_t)decoder;
	identity(st, &s->dev, &s->ino, &s->size, &s->mtime_s, &s->mtime_ns);
	atomic_store_explicit(&s->busy, 1, memory_order_release);
}

void ts_contain_leave(const struct ts_contain_mark *m)
{
	struct slot *s;

	if (!mine || m->slot < 0)
		return;
	s = &mine->s[m->slot];
	if (!m->decoder) {
		atomic_store_explicit(&s->busy, 0, memory_order_release);
		return;
	}
	s->decoder = m->decoder;
	s->dev = m->dev;
	s->ino = m->ino;
	s->size = m->size;
	s->mtime_s = m->mtime_s;
	s->mtime_ns = m->mtime_ns;
}

static bool same_file(const struct entry *e, uint64_t dev, uint64_t ino, uint64_t size,
                      int64_t ms, int64_t mns)
{
	return e->level && e->dev == dev && e->ino == ino && e->size == size &&
	       e->mtime_s == ms && e->mtime_ns == mns;
}

int ts_contain_level(const struct stat *st, unsigned *gen)
{
	uint64_t dev, ino, size;
	int64_t ms, mns;

	if (gen)
		*gen = 0;
	if (!shared)
		return 0;
	identity(st, &dev, &ino, &size, &ms, &mns);
	for (int tries = 0; tries < READ_TRIES; tries++) {
		unsigned s1 = atomic_load_explicit(&shared->seq, memory_order_acquire), s2;
		int level = 0;

		if (s1 & 1)
			continue;
		for (int k = 0; k < QUARANTINE_SIZE; k++) {
			struct entry e = shared->q[k];
			if (same_file(&e, dev, ino, size, ms, mns))
				level = (int)e.level;
		}
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&shared->seq, memory_order_relaxed);
		if (s1 == s2) {
			if (gen)
				*gen = s1;
			return level;
		}
	}
	return 0;   /* the master kept writing: ask again next time */
}

unsigned ts_contain_generation(void)
{
	return shared ? atomic_load_explicit(&shared->seq, memory_order_acquire) : 0;
}

static bool crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGFPE ||
	       sig == SIGILL || sig == SIGSYS || sig == SIGTRAP;
}

/* Master: add or raise the entry of one file. */
static int quarantine(const struct slot *s, int pid, int sig)
{
	struct entry *e = NULL;
	int level = s->decoder == TS_CONTAIN_OPENJPH ? 1 : 2;

	for (int k = 0; k < QUARANTINE_SIZE && !e; k++)
		if (same_file(&shared->q[k], s->dev, s->ino, s->size, s->mtime_s, s->mtime_ns))
			e = &shared->q[k];
	if (e)
		level = 2;   /* it crashed a worker before */
	atomic_fetch_add_explicit(&shared->seq, 1, memory_order_acq_rel);   /* odd */
	atomic_thread_fence(memory_order_release);
	if (!e) {
		if (shared->used < QUARANTINE_SIZE) {
			e = &shared->q[shared->used++];
		} else {
			e = &shared->q[shared->oldest];
			shared->oldest = (shared->oldest + 1) % QUARANTINE_SIZE;
		}
		e->dev = s->dev;
		e->ino = s->ino;
		e->size = s->size;
		e->mtime_s = s->mtime_s;
		e->mtime_ns = s->mtime_ns;
	}
	e->level = (uint32_t)level;
	atomic_fetch_add_explicit(&shared->seq, 1, memory_order_release);   /* even */
	ts_log(TS_LOG_ERROR, "master: worker %d crashed (signal %d) %s a file (device %llu, "
	       "inode %llu, %llu bytes): quarantined, level %d: %s", pid, sig,
	       s->decoder == TS_CONTAIN_OPENJPH ? "inside OpenJPH decoding" : "decoding",
	       (unsigned long long)s->dev, (unsigned long long)s->ino,
	       (unsigned long long)s->size, level,
	       level == 1 ? "its HTJ2K tiles go to OpenJPEG from now on"
	                  : "requests for it are refused until it is replaced");
	return 1;
}

/* Master: quarantine what worker w was decoding when signal sig hit it. */
static int blame(struct worker_slots *w, int pid, int sig)
{
	int n = 0, c = atomic_load(&w->culprit) - 1;

	if (c >= 0 && c < SLOTS_PER_WORKER && atomic_load(&w->s[c].busy)) {
		n = quarantine(&w->s[c], pid, sig);
	} else {
		/* The crashing thread marked nothing (a tile-pool thread working
		 * for a marked one): every file being decoded, each once. */
		for (int k = 0; k < SLOTS_PER_WORKER; k++) {
			const struct slot *s = &w->s[k];
			bool seen = false;
			if (!atomic_load_explicit(&s->busy, memory_order_acquire))
				continue;
			for (int j = 0; j < k && !seen; j++)
				seen = atomic_load(&w->s[j].busy) && w->s[j].dev == s->dev &&
				       w->s[j].ino == s->ino && w->s[j].size == s->size &&
				       w->s[j].mtime_s == s->mtime_s && w->s[j].mtime_ns == s->mtime_ns;
			if (!seen)
				n += quarantine(s, pid, sig);
		}
	}
	if (n == 0)
		ts_log(TS_LOG_ERROR, "master: worker %d crashed (signal %d) outside any decoder "
		       "call: nothing quarantined", pid, sig);
	atomic_store(&w->handled, 1);
	return n;
}

int ts_contain_sweep(void)
{
	int n = 0;

	if (!shared)
		return 0;
	for (int i = 0; i < shared->nworkers; i++) {
		struct worker_slots *w = &shared->w[i];
		int sig = atomic_load(&w->crash_sig);
		if (sig && crash_signal(sig) && !atomic_load(&w->handled))
			n += blame(w, w->pid, sig);
	}
	return n;
}

int ts_contain_reap(int i, int pid, int status)
{
	struct worker_slots *w;
	int n = 0;

	if (!shared || i < 0 || i >= shared->nworkers || !WIFSIGNALED(status) ||
	    !crash_signal(WTERMSIG(status)))
		return 0;
	atomic_fetch_add(&shared->crashes, 1);
	w = &shared->w[i];
	if (!atomic_load(&w->handled))   /* its handler could not tell us first */
		n = blame(w, pid, WTERMSIG(status));
	memset(w, 0, sizeof *w);
	return n;
}

unsigned ts_contain_quarantined(void)
{
	unsigned n = 0;

	if (!shared)
		return 0;
	for (int k = 0; k < QUARANTINE_SIZE; k++)
		if (shared->q[k].level)
			n++;
	return n;
}

unsigned long long ts_contain_crashes(void)
{
	return shared ? atomic_load(&shared->crashes) : 0;
}
