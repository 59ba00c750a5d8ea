/* test_sigstorm.c - many signals to many parked threads, and the way
 * rsyslog stops its threads.  Each test runs natively (loop 0: real
 * threads) and with green threads (loop 1, on a pool of two schedulers),
 * expecting the same:
 *  - realtime signals sent every millisecond to 50 threads parked in
 *    read, each to one thread with pthread_sigqueue or to the process with
 *    sigqueue: every one runs its handler exactly once, as a thread that
 *    lets it through, with its own value (realtime signals queue, so the
 *    counts are exact natively);
 *  - rsyslog's stop: pthread_kill wakes each worker parked in read with
 *    EINTR; the workers that look at the stop flag end, and after a
 *    time-out pthread_cancel ends the others, whose cleanup handlers run.
 * Green threads here need blocks of their own (the handler counts in a
 * __thread variable); without them the green half stops at once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "../core/tcb.h"
#include "../hook/green.h"
#include "testlib.h"

#define THREADS 50
#define ROUNDS 40

static __thread int my_index = -1, my_runs;
static _Atomic int wrong, runs;
static _Atomic bool seen[THREADS * ROUNDS + 1];

static bool mode(int green)
{
#ifdef __SANITIZE_ADDRESS__
	if (!green)
		return false; /* ASan cannot follow a native thread's unwind */
#endif
	if (green) {
		weft__tcb_init(false);
		if (!weft__tcb_on)
			return false;
		tl_threads_mode(green);
	}
	atomic_store(&wrong, 0);
	atomic_store(&runs, 0);
	for (int i = 0; i <= THREADS * ROUNDS; i++)
		atomic_store(&seen[i], false);
	return true;
}

/* For a signal to one thread: its value is the thread's index. */
static void on_own(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	my_runs++;
	atomic_fetch_add(&runs, 1);
	if (si->si_value.sival_int != my_index || si->si_code != SI_QUEUE)
		atomic_fetch_add(&wrong, 1);
}

/* For a signal to the process: its value is a number sent once. */
static void on_any(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	int v = si->si_value.sival_int;

	my_runs++;
	atomic_fetch_add(&runs, 1);
	if (my_index < 0 || v < 1 || v > THREADS * ROUNDS ||
	    atomic_exchange(&seen[v], true))
		atomic_fetch_add(&wrong, 1); /* not a reader, or twice */
}

struct reader {
	int index, fd[2], sig;
	_Atomic bool started;
	int runs, eintr;
};

/* Reads one byte, again after each EINTR; notes its handler runs. */
static void *reads(void *p)
{
	struct reader *r = p;
	char c;

	my_index = r->index;
	tl_mask(SIG_UNBLOCK, r->sig);
	atomic_store(&r->started, true);
	while (read(r->fd[0], &c, 1) < 0 && errno == EINTR)
		r->eintr++;
	r->runs = my_runs;
	return NULL;
}

static struct reader rd[THREADS];
static pthread_t tid[THREADS];

/* Starts the readers, main blocking sig (so only they let it through). */
static void readers_start(int sig)
{
	tl_mask(SIG_BLOCK, sig);
	for (int i = 0; i < THREADS; i++) {
		rd[i] = (struct reader){ .index = i, .sig = sig };
		tl_make_pipe(rd[i].fd);
		tid[i] = tl_pthread(reads, &rd[i], NULL);
	}
	for (int i = 0; i < THREADS; i++)
		while (!atomic_load(&rd[i].started))
			usleep(1000);
	usleep(20000);
}

/* Lets every reader go once every signal sent has run its handler, or
 * after 10 s, 60 s under valgrind, which with another suite beside it
 * once ran 1,926 of the 2,000 in 10 s (then the counts tell what was
 * lost). */
static void readers_end(int sig)
{
	int ms = RUNNING_ON_VALGRIND ? 60000 : 10000;

	for (int i = 0; i < ms && atomic_load(&runs) < THREADS * ROUNDS; i++)
		usleep(1000);
	usleep(20000); /* one too many would show */
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(write(rd[i].fd[1], "x", 1), 1);
		tl_pthread_join(tid[i]);
		close(rd[i].fd[0]);
		close(rd[i].fd[1]);
	}
	tl_mask(SIG_UNBLOCK, sig);
}

START_TEST(realtime_signals_to_each_parked_thread_run_once_each)
{
	int sig = SIGRTMIN + 3;

	if (!mode(_i))
		return;
	tl_catch(sig, on_own, SA_SIGINFO);
	readers_start(sig);
	for (int k = 0; k < ROUNDS; k++) {
		for (int i = 0; i < THREADS; i++)
			ck_assert_int_eq(pthread_sigqueue(tid[i], sig,
				(union sigval){ .sival_int = i }), 0);
		usleep(1000);
	}
	readers_end(sig);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(rd[i].runs, ROUNDS);
		ck_assert_int_ge(rd[i].eintr, 1);
	}
	ck_assert_int_eq(atomic_load(&wrong), 0);
}
END_TEST

START_TEST(realtime_signals_to_the_process_run_once_each)
{
	int sig = SIGRTMIN + 4, total = 0;

	if (!mode(_i))
		return;
	tl_catch(sig, on_any, SA_SIGINFO);
	readers_start(sig);
	for (int v = 1; v <= THREADS * ROUNDS; v++) {
		ck_assert_int_eq(sigqueue(getpid(), sig,
					  (union sigval){ .sival_int = v }), 0);
		if (v % THREADS == 0)
			usleep(1000);
	}
	readers_end(sig);
	for (int i = 0; i < THREADS; i++)
		total += rd[i].runs;
	ck_assert_int_eq(total, THREADS * ROUNDS);
	ck_assert_int_eq(atomic_load(&runs), THREADS * ROUNDS);
	ck_assert_int_eq(atomic_load(&wrong), 0);
}
END_TEST

/* ---- rsyslog's stop ---------------------------------------------------- */

static _Atomic bool stopping;
static _Atomic int cleaned;

static void on_ttin(int sig)
{
	(void)sig;
}

static void cleanup(void *arg)
{
	(void)arg;
	atomic_fetch_add(&cleaned, 1);
}

/* A worker: reads until stopping; the odd ones never look at the flag. */
static void *works(void *p)
{
	struct reader *r = p;
	char c;

	pthread_cleanup_push(cleanup, NULL);
	atomic_store(&r->started, true);
	for (;;) {
		ssize_t n = read(r->fd[0], &c, 1);
		if (n < 0 && errno == EINTR && r->index % 2 == 0 &&
		    atomic_load(&stopping))
			break;
	}
	pthread_cleanup_pop(0);
	return (void *)(intptr_t)r->index;
}

START_TEST(rsyslog_stops_its_workers_with_a_signal_then_a_cancel)
{
	struct timespec limit;

	if (!mode(_i))
		return;
	atomic_store(&stopping, false);
	atomic_store(&cleaned, 0);
	tl_catch(SIGTTIN, on_ttin, 0);
	for (int i = 0; i < THREADS; i++) {
		rd[i] = (struct reader){ .index = i };
		tl_make_pipe(rd[i].fd);
		tid[i] = tl_pthread(works, &rd[i], NULL);
	}
	for (int i = 0; i < THREADS; i++)
		while (!atomic_load(&rd[i].started))
			usleep(1000);
	usleep(20000);
	atomic_store(&stopping, true);
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_kill(tid[i], SIGTTIN), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		clock_gettime(CLOCK_REALTIME, &limit);
		limit.tv_nsec += 100 * 1000000L;
		if (limit.tv_nsec >= 1000000000L) {
			limit.tv_sec++;
			limit.tv_nsec -= 1000000000L;
		}
		int e = pthread_timedjoin_np(tid[i], &r, &limit);
		if (i % 2 == 0) {
			ck_assert_int_eq(e, 0);
			ck_assert_ptr_eq(r, (void *)(intptr_t)i);
			continue;
		}
		ck_assert_int_eq(e, ETIMEDOUT);
		ck_assert_int_eq(pthread_cancel(tid[i]), 0);
		ck_assert_ptr_eq(tl_pthread_join(tid[i]), PTHREAD_CANCELED);
	}
	ck_assert_int_eq(atomic_load(&cleaned), THREADS / 2);
	for (int i = 0; i < THREADS; i++) {
		close(rd[i].fd[0]);
		close(rd[i].fd[1]);
	}
}
END_TEST

Suite *suite_sigstorm(void)
{
	Suite *s = suite_create("sigstorm");
	TCase *tc = tcase_create("sigstorm");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc,
		realtime_signals_to_each_parked_thread_run_once_each, 0, 2);
	tcase_add_loop_test(tc, realtime_signals_to_the_process_run_once_each,
			    0, 2);
	tcase_add_loop_test(tc,
		rsyslog_stops_its_workers_with_a_signal_then_a_cancel, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
