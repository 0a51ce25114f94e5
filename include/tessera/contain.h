/*
 * contain.h - decoder crashes contained (src/contain/contain.c): a damaged
 * file that crashes a third-party decoder takes down one worker once, not
 * the server again and again.
 *
 * With `workers = N` (front/workers.c) the master maps, before it forks,
 * one shared anonymous region: per worker a table of per-thread "now
 * decoding" slots (the file's identity and the decoder), and a quarantine
 * table the master alone writes.  A worker marks its slot around each call
 * into a decoder (ts_contain_enter/leave: a few stores).  When the master
 * reaps a worker killed by a crash signal, it reads the dead worker's slots
 * and quarantines their files: level 1 when the crash was inside OpenJPH
 * (the file's HTJ2K tiles then go to OpenJPEG), level 2 otherwise or on a
 * second crash (the file is refused, 500, without decoding).  An entry
 * holds the file's device, inode, size and modification time, so a file
 * the curator replaces or rewrites is out of quarantine.
 *
 * Without ts_contain_init (workers = 1: no master) every call is a no-op
 * and nothing is quarantined.
 */
#ifndef TESSERA_CONTAIN_H
#define TESSERA_CONTAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

enum ts_contain_decoder {
	TS_CONTAIN_OTHER = 1,     /* libtiff, libjpeg, OpenJPEG, libpng, ... */
	TS_CONTAIN_OPENJPH = 2
};

/* What ts_contain_enter replaced, for ts_contain_leave (calls nest). */
struct ts_contain_mark {
	int slot;                 /* -1: nothing was marked */
	uint32_t decoder;
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns;
};

/* Master, before the first fork: map the shared region for up to
 * max_workers worker indexes.  false (logged) if it cannot: crashes are
 * then not contained. */
bool ts_contain_init(int max_workers);

/* Master, just before forking the worker of index i: clear its slots.
 * Worker, just after the fork: use the slots of index i. */
void ts_contain_reset(int i);
void ts_contain_attach(int i);

/* Worker threads: this thread is now decoding the file st with decoder;
 * leave puts back what enter found. */
void ts_contain_enter(const struct stat *st, enum ts_contain_decoder decoder,
                      struct ts_contain_mark *m);
void ts_contain_leave(const struct ts_contain_mark *m);

/* The quarantine level of file st: 0 none, 1 no OpenJPH, 2 refused.
 * *gen (may be NULL) gets the quarantine's generation, which changes
 * whenever an entry is added: a caller holding a file open asks again
 * only when ts_contain_generation() differs. */
int ts_contain_level(const struct stat *st, unsigned *gen);
unsigned ts_contain_generation(void);

/* Master: worker i ended with wait status `status`.  When a crash signal
 * killed it, quarantines what it was decoding (logged) and counts the
 * crash.  Returns the files quarantined. */
int ts_contain_reap(int i, int pid, int status);

/* Master, on SIGUSR2: a crashing worker's handler asks for its quarantine
 * while it still holds its connections (and waits up to half a second for
 * it).  Returns the files quarantined. */
int ts_contain_sweep(void);

/* For /metrics: entries in the quarantine table, and workers crashed. */
unsigned ts_contain_quarantined(void);
unsigned long long ts_contain_crashes(void);

#endif
