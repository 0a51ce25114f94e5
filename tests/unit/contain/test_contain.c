/*
 * test_contain.c - the quarantine of src/contain/contain.c, with real
 * crashes: a forked "worker" marks a file, then dies of a signal, and the
 * test plays the master (ts_contain_sweep while it waits, then
 * ts_contain_reap, as front/workers.c does).
 *
 * A crash inside OpenJPH is level 1, anywhere else level 2, a second crash
 * on a level-1 file level 2; SIGKILL quarantines nothing; a crash after
 * the mark was left quarantines nothing; nested marks put back the outer
 * one; a file with another size or mtime is not quarantined; the handler
 * names the crashing thread, so a file another thread decodes meanwhile
 * is not blamed; threads that end give their slots back.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"
#include "tessera/contain.h"

static struct stat file_a, file_b, file_c;

static struct stat fake(unsigned ino)
{
	struct stat st;

	memset(&st, 0, sizeof st);
	st.st_dev = 42;
	st.st_ino = ino;
	st.st_size = 1000 + ino;
	st.st_mtim.tv_sec = 1700000000;
	st.st_mtim.tv_nsec = 5;
	return st;
}

/* A worker of index 0 doing what `how` says; the master's reap of it.
 * Returns the files quarantined. */
static int worker(void (*how)(void), int *sig)
{
	int status, n = 0;
	pid_t pid;

	ts_contain_reset(0);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		ts_contain_attach(0);
		how();
		_exit(0);
	}
	/* the master's loop: its handler's SIGUSR2 (ignored here) asks for a
	 * sweep while it waits */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		n += ts_contain_sweep();
		usleep(1000);
	}
	*sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	return n + ts_contain_reap(0, (int)pid, status);
}

static void segv_in_openjph_a(void)
{
	struct ts_contain_mark outer, inner;

	ts_contain_enter(&file_a, TS_CONTAIN_OTHER, &outer);
	ts_contain_enter(&file_a, TS_CONTAIN_OPENJPH, &inner);
	raise(SIGSEGV);
}

static void abort_in_other_b(void)
{
	struct ts_contain_mark m;

	ts_contain_enter(&file_b, TS_CONTAIN_OTHER, &m);
	abort();
}

static void nested_left_then_segv(void)
{
	struct ts_contain_mark outer, inner;

	/* the inner OpenJPH mark is left: the outer (OTHER, file c) is back */
	ts_contain_enter(&file_c, TS_CONTAIN_OTHER, &outer);
	ts_contain_enter(&file_a, TS_CONTAIN_OPENJPH, &inner);
	ts_contain_leave(&inner);
	raise(SIGSEGV);
}

static void left_then_segv(void)
{
	struct ts_contain_mark m;

	ts_contain_enter(&file_b, TS_CONTAIN_OTHER, &m);
	ts_contain_leave(&m);
	raise(SIGSEGV);
}

static void killed_while_decoding(void)
{
	struct ts_contain_mark m;

	ts_contain_enter(&file_b, TS_CONTAIN_OTHER, &m);
	raise(SIGKILL);
}

static struct stat bystander;
static volatile int bystander_marked;

static void *decode_bystander(void *arg)
{
	struct ts_contain_mark m;

	(void)arg;
	ts_contain_enter(&bystander, TS_CONTAIN_OTHER, &m);
	bystander_marked = 1;
	for (;;)
		pause();
	return NULL;
}

static void segv_with_a_bystander(void)
{
	struct ts_contain_mark m;
	pthread_t t;

	pthread_create(&t, NULL, decode_bystander, NULL);
	while (!bystander_marked)
		usleep(1000);
	ts_contain_enter(&file_c, TS_CONTAIN_OPENJPH, &m);
	raise(SIGSEGV);
}

static void *mark_and_go(void *arg)
{
	struct ts_contain_mark m;

	ts_contain_enter(arg, TS_CONTAIN_OTHER, &m);
	ts_contain_leave(&m);
	return NULL;
}

/* 300 threads come and go (more than the slots), then this one crashes. */
static void threads_come_and_go_then_segv(void)
{
	struct ts_contain_mark m;

	for (int i = 0; i < 300; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, mark_and_go, &file_a) == 0)
			pthread_join(t, NULL);
	}
	ts_contain_enter(&file_c, TS_CONTAIN_OPENJPH, &m);
	raise(SIGSEGV);
}

static void ended_threads_give_their_slots_back(void)
{
	int sig;

	file_c = fake(40);
	EXPECT_EQ_INT(worker(threads_come_and_go_then_segv, &sig), 1);
	EXPECT_EQ_INT(ts_contain_level(&file_c, NULL), 1);
}

static void levels(void)
{
	struct stat other;
	int sig;

	file_a = fake(1);
	file_b = fake(2);
	file_c = fake(3);
	bystander = fake(4);
	EXPECT(ts_contain_init(4));
	EXPECT_EQ_INT(ts_contain_level(&file_a, NULL), 0);

	EXPECT_EQ_INT(worker(segv_in_openjph_a, &sig), 1);
	EXPECT_EQ_INT(sig, SIGSEGV);
	EXPECT_EQ_INT(ts_contain_level(&file_a, NULL), 1);
	EXPECT_EQ_INT(ts_contain_quarantined(), 1);

	EXPECT_EQ_INT(worker(abort_in_other_b, &sig), 1);
	EXPECT_EQ_INT(sig, SIGABRT);
	EXPECT_EQ_INT(ts_contain_level(&file_b, NULL), 2);

	/* a second crash on a level-1 file: level 2 */
	EXPECT_EQ_INT(worker(segv_in_openjph_a, &sig), 1);
	EXPECT_EQ_INT(ts_contain_level(&file_a, NULL), 2);
	EXPECT_EQ_INT(ts_contain_quarantined(), 2);

	/* the curator replaced the file: another mtime, another size */
	other = file_a;
	other.st_mtim.tv_sec++;
	EXPECT_EQ_INT(ts_contain_level(&other, NULL), 0);
	other = file_a;
	other.st_size++;
	EXPECT_EQ_INT(ts_contain_level(&other, NULL), 0);

	EXPECT_EQ_INT(worker(nested_left_then_segv, &sig), 1);
	EXPECT_EQ_INT(ts_contain_level(&file_c, NULL), 2);

	EXPECT_EQ_INT(worker(left_then_segv, &sig), 0);
	EXPECT_EQ_INT(sig, SIGSEGV);
	EXPECT_EQ_INT(worker(killed_while_decoding, &sig), 0);
	EXPECT_EQ_INT(sig, SIGKILL);
	EXPECT_EQ_INT(ts_contain_quarantined(), 3);
	EXPECT_EQ_INT((int)ts_contain_crashes(), 5);
}

static void the_crashing_thread_is_blamed(void)
{
	int sig;

	file_c = fake(30);
	EXPECT_EQ_INT(worker(segv_with_a_bystander, &sig), 1);
	EXPECT_EQ_INT(sig, SIGSEGV);
	EXPECT_EQ_INT(ts_contain_level(&file_c, NULL), 1);
	EXPECT_EQ_INT(ts_contain_level(&bystander, NULL), 0);
}

int main(void)
{
	signal(SIGUSR2, SIG_IGN);
	RUN(levels);
	RUN(the_crashing_thread_is_blamed);
	RUN(ended_threads_give_their_slots_back);
	return CHECK_DONE();
}
