/* test_offintr.c - the waits weft makes on the offload pool end as they
 * end natively when a signal or a cancel comes: flock and fcntl's
 * F_SETLKW on a lock a child process holds, opening a FIFO no one writes
 * to, waiting for any child while one sleeps.  Each test runs natively
 * (loop bit 0 clear: real threads) and with green threads (set: a pool
 * of two schedulers, so that the sender and the waiter may run on
 * different OS threads), expecting the same: a handler without
 * SA_RESTART ends the wait with EINTR, run as the waiting thread; with
 * SA_RESTART the wait goes on and ends as the call would have; a cancel
 * ends a cancellation point (F_SETLKW, open, waitpid: not flock, which
 * glibc does not make one) with its cleanup handler run; and a signal
 * that comes as the lock is granted never loses it.  A wait that ended
 * early is one that ended while the child still held its lock (or
 * lived).  No test waits more than about a second: a child that holds a
 * lock lets it go by itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "../core/tcb.h"
#include "../hook/green.h"
#include "testlib.h"

/* What a test's waiting thread calls. */
enum kind { FLOCK, SETLKW, FIFO_OPEN, ANY_CHILD, KINDS };

/* Times are ten times as long under valgrind, which runs the threads 20
 * to 50 times slower. */
#define SLOW (RUNNING_ON_VALGRIND ? 10 : 1)
#define HOLD_MS (1000 * SLOW) /* how long a child holds its lock, or
                                 sleeps */
#define EARLY_MS (450 * SLOW) /* a wait that went on lasts at least
                                 this */
#define SETTLE_MS (100 * SLOW) /* a thread that has begun its call for
                                  so long waits in the kernel */

static _Atomic int handled;
static _Atomic pthread_t handled_by;
static _Atomic bool cleaned;

static void on_sig(int sig)
{
	(void)sig;
	atomic_store(&handled_by, pthread_self());
	atomic_fetch_add(&handled, 1);
}

/* Sets up loop iteration i: green threads if its bit 0 is set, SIGUSR1
 * caught by on_sig with flags.  Returns the kind of wait (i >> 1), or -1
 * when the test must stop: a native thread's cancel under ASan, which
 * cannot follow glibc's unwind of a native stack (as test_cancel.c). */
static int mode(int i, int flags, bool cancels)
{
	bool green = i & 1;

#ifdef __SANITIZE_ADDRESS__
	if (!green && cancels)
		return -1;
#endif
	if (green) {
		weft__tcb_init(false);
		tl_threads_mode(green);
		if (cancels && !weft__tcb_on)
			return -1; /* no unwinding without thread blocks */
	}
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	return i >> 1;
}

/* ---- what is waited for -------------------------------------------- */

/* One wait: its kind, the file, and what the call gave. */
struct wait {
	enum kind kind;
	char path[64];
	int fd;          /* the lock's file (FLOCK, SETLKW) */
	pid_t child;     /* holds the lock, or sleeps */
	int hold_ms;     /* for so long */
	int r, err;      /* the call's result and errno */
	int64_t took;    /* how long it took, ns */
	_Atomic bool started;
};

static bool lock_of(int fd, enum kind kind, bool wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (kind == FLOCK)
		return flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0;
	return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl) == 0;
}

/* A child's body (tl_fork_ready): takes w's lock, or none, says so,
 * then holds it (or merely lives) for w->hold_ms. */
static int child_holds(void *arg, int ready)
{
	const struct wait *w = arg;

	if (w->kind <= SETLKW &&
	    !lock_of(open(w->path, O_RDWR), w->kind, false))
		return 1;
	close(ready);
	tl_raw_sleep_ms(w->hold_ms);
	return 0;
}

/* A child's body: exits 0 if w's lock is held elsewhere (by the test's
 * process), 1 if it could take it. */
static int child_tries(void *arg, int ready)
{
	const struct wait *w = arg;

	close(ready);
	return lock_of(open(w->path, O_RDWR), w->kind, false);
}

/* Whether the test's process holds w's lock, asked of a child. */
static bool lock_held(struct wait *w)
{
	int st;
	pid_t pid = tl_fork_ready(child_tries, w);

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st) == 0;
}

/* Makes what w's call will wait for: a lock a child holds for hold_ms
 * (0: HOLD_MS), a FIFO with no writer, or a child that sleeps. */
static void prepare(struct wait *w, enum kind kind, int hold_ms)
{
	memset(w, 0, sizeof *w);
	w->kind = kind;
	w->fd = -1;
	snprintf(w->path, sizeof w->path, "/tmp/weft-offintr-%d",
		 (int)getpid());
	unlink(w->path);
	if (kind == FIFO_OPEN) {
		ck_assert_int_eq(mkfifo(w->path, 0600), 0);
		return;
	}
	if (kind <= SETLKW) {
		w->fd = open(w->path, O_RDWR | O_CREAT, 0600);
		ck_assert_int_ge(w->fd, 0);
	}
	w->hold_ms = hold_ms > 0 ? hold_ms : HOLD_MS;
	w->child = tl_fork_ready(child_holds, w);
}

/* Whether w's child still runs (holds its lock): a wait that ended
 * meanwhile ended early. */
static bool child_runs(const struct wait *w)
{
	return waitpid(w->child, NULL, WNOHANG) == 0;
}

/* Ends what prepare made: the child (killed if it still runs), the
 * file. */
static void finish(struct wait *w)
{
	if (w->child > 0) {
		kill(w->child, SIGKILL);
		waitpid(w->child, NULL, 0);
	}
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->path);
}

/* Makes w's call; notes what it gave. */
static void call(struct wait *w)
{
	int64_t t0 = tl_mono_ns();

	atomic_store(&w->started, true);
	switch (w->kind) {
	case FLOCK:
	case SETLKW:
		w->r = lock_of(w->fd, w->kind, true) ? 0 : -1;
		break;
	case FIFO_OPEN:
		w->r = open(w->path, O_RDONLY);
		break;
	default:
		w->r = waitpid(-1, NULL, 0);
		break;
	}
	w->err = w->r < 0 ? errno : 0;
	w->took = tl_mono_ns() - t0;
}

static void *waits(void *arg)
{
	call(arg);
	return NULL;
}

/* waits, then lives until a signal has been handled (a second at most),
 * so that one sent as the call returns still finds the thread. */
static void *waits_then_lives(void *arg)
{
	call(arg);
	for (int i = 0; i < 1000 * SLOW && atomic_load(&handled) == 0; i++)
		usleep(1000);
	return NULL;
}

static void cleanup(void *arg)
{
	(void)arg;
	atomic_store(&cleaned, true);
}

static void *waits_cancellable(void *arg)
{
	pthread_cleanup_push(cleanup, NULL);
	call(arg);
	pthread_cleanup_pop(0);
	return NULL;
}

/* Starts fn(w) in a thread and returns once it has waited a while. */
static pthread_t start(void *(*fn)(void *), struct wait *w)
{
	pthread_t t = tl_pthread(fn, w, NULL);

	while (!atomic_load(&w->started))
		usleep(1000);
	usleep(SETTLE_MS * 1000);
	return t;
}

/* ---- signals ------------------------------------------------------- */

/* A handler without SA_RESTART ends the wait with EINTR, run as the
 * waiting thread. */
START_TEST(a_signal_without_sa_restart_ends_the_wait_with_eintr)
{
	int kind = mode(_i, 0, false);
	struct wait w;

	prepare(&w, kind, 0);
	pthread_t t = start(waits, &w);
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	tl_pthread_join(t);
	ck_assert_int_eq(w.r, -1);
	ck_assert_int_eq(w.err, EINTR);
	if (kind != FIFO_OPEN)
		ck_assert(child_runs(&w));
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
	finish(&w);
}
END_TEST

/* With SA_RESTART the handler runs as the thread and the wait goes on:
 * the lock is had once the child lets it go, the FIFO opens once a
 * writer comes, the child is reaped once it exits. */
START_TEST(a_signal_with_sa_restart_lets_the_wait_go_on)
{
	int kind = mode(_i, SA_RESTART, false);
	struct wait w;

	prepare(&w, kind, 0);
	pthread_t t = start(waits, &w);
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	int writer = -1;
	if (kind == FIFO_OPEN) {
		usleep(EARLY_MS * 1000);
		writer = open(w.path, O_WRONLY | O_NONBLOCK);
		ck_assert_int_ge(writer, 0);
	}
	tl_pthread_join(t);
	ck_assert_int_ge(w.took, EARLY_MS * MS);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
	if (kind == ANY_CHILD) {
		ck_assert_int_eq(w.r, w.child);
		w.child = 0; /* reaped */
	} else {
		ck_assert_int_ge(w.r, 0);
	}
	if (kind <= SETLKW)
		ck_assert(lock_held(&w));
	if (kind == FIFO_OPEN) {
		close(w.r);
		close(writer);
	}
	finish(&w);
}
END_TEST

/* A signal sent as the child lets the lock go, at several distances
 * from it: the waiter either has the lock and 0, or EINTR and no lock,
 * never EINTR with the lock taken behind its back. */
START_TEST(a_signal_as_the_lock_is_granted_never_loses_it)
{
	int kind = mode(_i, 0, false);
	static const int after_us[] = { 0, 50, 200, 1000, 3000 };

	for (int k = 0; k < 5; k++) {
		struct wait w;
		atomic_store(&handled, 0);
		prepare(&w, kind, 150 * SLOW);
		pthread_t t = start(waits_then_lives, &w);
		/* The child exits, letting the lock go, at about 150 ms
		 * (SLOW times that). */
		ck_assert_int_eq(waitpid(w.child, NULL, 0), w.child);
		w.child = 0;
		if (after_us[k] > 0)
			usleep(after_us[k]);
		ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
		tl_pthread_join(t);
		ck_assert_int_eq(atomic_load(&handled), 1);
		if (w.r == 0)
			ck_assert(lock_held(&w));
		else
			ck_assert(w.err == EINTR && !lock_held(&w));
		finish(&w);
	}
}
END_TEST

/* ---- cancellation -------------------------------------------------- */

/* pthread_cancel of a thread waiting in F_SETLKW, a FIFO's open or
 * waitpid: it ends there, its cleanup handler runs, its joiner gets
 * PTHREAD_CANCELED. */
START_TEST(a_cancel_ends_a_wait_that_is_a_cancellation_point)
{
	int kind = mode(_i, 0, true);
	struct wait w;

	if (kind < 0)
		return;
	kind += SETLKW;
	prepare(&w, kind, 0);
	pthread_t t = start(waits_cancellable, &w);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	if (kind != FIFO_OPEN)
		ck_assert(child_runs(&w));
	ck_assert(atomic_load(&cleaned));
	finish(&w);
}
END_TEST

static void *flocks_then_tests(void *arg)
{
	struct wait *w = arg;

	pthread_cleanup_push(cleanup, NULL);
	call(w);
	pthread_testcancel();
	pthread_cleanup_pop(0);
	return NULL;
}

/* glibc's flock is no cancellation point: a cancel lets it wait until
 * it has the lock, and acts at the next point; the lock stays held. */
START_TEST(a_cancel_lets_flock_take_its_lock_first)
{
	int kind = mode(_i, 0, true);
	struct wait w;

	if (kind < 0)
		return;
	prepare(&w, FLOCK, 300 * SLOW);
	pthread_t t = start(flocks_then_tests, &w);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert(atomic_load(&cleaned));
	ck_assert_int_eq(w.r, 0);
	ck_assert_int_ge(w.took, 150 * SLOW * MS);
	ck_assert(lock_held(&w));
	finish(&w);
}
END_TEST

Suite *suite_offintr(void)
{
	Suite *s = suite_create("offintr");
	TCase *tc = tcase_create("offintr");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc,
		a_signal_without_sa_restart_ends_the_wait_with_eintr, 0,
		2 * KINDS);
	tcase_add_loop_test(tc, a_signal_with_sa_restart_lets_the_wait_go_on,
			    0, 2 * KINDS);
	tcase_add_loop_test(tc, a_signal_as_the_lock_is_granted_never_loses_it,
			    0, 2 * (SETLKW + 1));
	tcase_add_loop_test(tc,
		a_cancel_ends_a_wait_that_is_a_cancellation_point, 0,
		2 * (KINDS - SETLKW));
	tcase_add_loop_test(tc, a_cancel_lets_flock_take_its_lock_first, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
