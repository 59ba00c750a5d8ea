/* test_stdio_intr.c - a cancel or a signal that meets a thread waiting in
 * stdio, each test run natively (loop 0: real threads) and with green
 * threads (loop 1, on a pool of two schedulers), expecting the same.
 *
 * glibc's stdio reads and writes its fd through cancellation points (its
 * internal read and write), unless fopen's "c" flag made them none, and
 * holds the FILE's lock meanwhile, which a cancel's unwind lets go.  So:
 * a cancel ends an fgets waiting for a line and an fflush waiting for
 * room, the lock is free after; a "c" stream waits on; a line already in
 * the buffer is returned, a cancel acting only at a read.  A handler
 * without SA_RESTART ends a waiting fgets with EINTR and the error flag;
 * with SA_RESTART the fgets goes on and returns the line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "../hook/green.h"
#include "testlib.h"

static _Atomic int cleanups;

static void count_cleanup(void *unused)
{
	(void)unused;
	atomic_fetch_add(&cleanups, 1);
}

/* A thread waiting in stdio on fp. */
struct waiter {
	FILE *fp;
	_Atomic bool started, done;
	char line[64];
	char *got;
	int err, error_flag;
};

static void *gets_line(void *p)
{
	struct waiter *w = p;

	pthread_cleanup_push(count_cleanup, NULL);
	atomic_store(&w->started, true);
	w->got = fgets(w->line, sizeof w->line, w->fp);
	w->err = errno;
	w->error_flag = ferror(w->fp);
	atomic_store(&w->done, true);
	pthread_testcancel();
	pthread_cleanup_pop(0);
	return NULL;
}

static void *flushes(void *p)
{
	struct waiter *w = p;
	static char block[4096];

	pthread_cleanup_push(count_cleanup, NULL);
	atomic_store(&w->started, true);
	for (;;) {
		fwrite(block, 1, sizeof block, w->fp);
		fflush(w->fp);
	}
	pthread_cleanup_pop(0);
	return NULL;
}

/* Starts fn(w) and gives it time to wait. */
static pthread_t start(void *(*fn)(void *), struct waiter *w)
{
	pthread_t t = tl_pthread(fn, w, NULL);

	while (!atomic_load(&w->started))
		usleep(1000);
	usleep(20000);
	return t;
}

/* Whether fp's lock is free: taken and let go at once. */
static bool lock_free(FILE *fp)
{
	if (ftrylockfile(fp) != 0)
		return false;
	funlockfile(fp);
	return true;
}

/* ---- cancels ---------------------------------------------------------- */

START_TEST(a_cancel_ends_fgets_and_frees_the_lock)
{
	int p[2];
	char line[16];

	if (!tl_cancel_mode(_i))
		return;
	atomic_store(&cleanups, 0);
	tl_make_pipe(p);
	struct waiter w = { .fp = fdopen(p[0], "r") };
	ck_assert_ptr_nonnull(w.fp);
	pthread_t t = start(gets_line, &w);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert(!atomic_load(&w.done));
	if (!tl_unwinds(_i))
		return;
	ck_assert_int_eq(atomic_load(&cleanups), 1);
	ck_assert(lock_free(w.fp));
	/* The stream still works. */
	ck_assert_int_eq(write(p[1], "next\n", 5), 5);
	ck_assert_ptr_eq(fgets(line, sizeof line, w.fp), line);
	ck_assert_str_eq(line, "next\n");
	fclose(w.fp);
	close(p[1]);
}
END_TEST

START_TEST(a_cancel_ends_a_flush_waiting_for_room)
{
	int p[2];

	if (!tl_cancel_mode(_i))
		return;
	atomic_store(&cleanups, 0);
	tl_make_pipe(p);
	struct waiter w = { .fp = fdopen(p[1], "w") };
	ck_assert_ptr_nonnull(w.fp);
	pthread_t t = start(flushes, &w);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	if (!tl_unwinds(_i))
		return;
	ck_assert_int_eq(atomic_load(&cleanups), 1);
	ck_assert(lock_free(w.fp));
	close(p[0]);
	/* Its flush fails on the closed pipe: no matter. */
	signal(SIGPIPE, SIG_IGN);
	fclose(w.fp);
	signal(SIGPIPE, SIG_DFL);
}
END_TEST

/* fopen's "c": the stream's reads are no cancellation points; the cancel
 * acts at the next one, after the line came. */
START_TEST(a_c_stream_waits_on_through_a_cancel)
{
	int p[2];

	if (!tl_cancel_mode(_i))
		return;
	atomic_store(&cleanups, 0);
	char path[64];
	tl_make_pipe(p);
	/* fdopen takes no "c": the pipe opened again through /proc. */
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	struct waiter w = { .fp = fopen(path, "rc") };
	ck_assert_ptr_nonnull(w.fp);
	pthread_t t = start(gets_line, &w);
	ck_assert_int_eq(pthread_cancel(t), 0);
	usleep(20000);
	ck_assert(!atomic_load(&w.done));
	ck_assert_int_eq(write(p[1], "late\n", 5), 5);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert(atomic_load(&w.done));
	ck_assert_ptr_eq(w.got, w.line);
	ck_assert_str_eq(w.line, "late\n");
	fclose(w.fp);
	close(p[0]);
	close(p[1]);
}
END_TEST

static void *gets_buffered(void *p)
{
	struct waiter *w = p;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	/* Both lines come in one read: the second waits in the buffer. */
	fgets(w->line, sizeof w->line, w->fp);
	pthread_cancel(pthread_self());
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	w->got = fgets(w->line, sizeof w->line, w->fp);
	atomic_store(&w->done, true);
	pthread_testcancel();
	return NULL;
}

/* A pending cancel does not end an fgets that needs no read. */
START_TEST(a_buffered_line_is_returned_before_a_cancel_acts)
{
	int p[2];

	if (!tl_cancel_mode(_i))
		return;
	tl_make_pipe(p);
	ck_assert_int_eq(write(p[1], "one\ntwo\n", 8), 8);
	struct waiter w = { .fp = fdopen(p[0], "r") };
	ck_assert_ptr_nonnull(w.fp);
	pthread_t t = tl_pthread(gets_buffered, &w, NULL);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert(atomic_load(&w.done));
	ck_assert_ptr_eq(w.got, w.line);
	ck_assert_str_eq(w.line, "two\n");
	fclose(w.fp);
	close(p[1]);
}
END_TEST

/* ---- signals ---------------------------------------------------------- */

static _Atomic int handled;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

static void catch_usr1(int flags)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* Without SA_RESTART: fgets fails with EINTR and the error flag (sent
 * again until it returns: a native thread may take the first before it
 * reads). */
START_TEST(a_handler_without_restart_ends_fgets_with_eintr)
{
	int p[2];

	tl_threads_mode(_i);
	catch_usr1(0);
	atomic_store(&handled, 0);
	tl_make_pipe(p);
	struct waiter w = { .fp = fdopen(p[0], "r") };
	ck_assert_ptr_nonnull(w.fp);
	pthread_t t = start(gets_line, &w);
	tl_kill_until(t, SIGUSR1, NULL, &w.done, 0);
	tl_pthread_join(t);
	ck_assert(atomic_load(&w.done));
	ck_assert_ptr_null(w.got);
	ck_assert_int_eq(w.err, EINTR);
	ck_assert(w.error_flag);
	ck_assert_int_ge(atomic_load(&handled), 1);
	fclose(w.fp);
	close(p[1]);
}
END_TEST

/* With SA_RESTART: fgets goes on, and returns the line that comes.  Loop
 * 2: green threads on main's scheduler alone, where a read made for
 * real after the handlers would stop main too. */
START_TEST(sa_restart_lets_fgets_go_on)
{
	int p[2];

	if (_i == 2)
		weft__green_set(true);
	else
		tl_threads_mode(_i);
	catch_usr1(SA_RESTART);
	atomic_store(&handled, 0);
	tl_make_pipe(p);
	struct waiter w = { .fp = fdopen(p[0], "r") };
	ck_assert_ptr_nonnull(w.fp);
	pthread_t t = start(gets_line, &w);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
		usleep(5000);
	}
	while (atomic_load(&handled) < 5)
		usleep(1000);
	ck_assert(!atomic_load(&w.done));
	ck_assert_int_eq(write(p[1], "line\n", 5), 5);
	tl_pthread_join(t);
	ck_assert_ptr_eq(w.got, w.line);
	ck_assert_str_eq(w.line, "line\n");
	ck_assert(!w.error_flag);
	fclose(w.fp);
	close(p[1]);
}
END_TEST

Suite *suite_stdio_intr(void)
{
	Suite *s = suite_create("stdio_intr");
	TCase *tc = tcase_create("stdio_intr");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, a_cancel_ends_fgets_and_frees_the_lock, 0, 2);
	tcase_add_loop_test(tc, a_cancel_ends_a_flush_waiting_for_room, 0, 2);
	tcase_add_loop_test(tc, a_c_stream_waits_on_through_a_cancel, 0, 2);
	tcase_add_loop_test(tc, a_buffered_line_is_returned_before_a_cancel_acts,
			    0, 2);
	tcase_add_loop_test(tc, a_handler_without_restart_ends_fgets_with_eintr,
			    0, 2);
	tcase_add_loop_test(tc, sa_restart_lets_fgets_go_on, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}
