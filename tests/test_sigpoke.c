/* test_sigpoke.c - a signal or an asynchronous cancel reaches a thread
 * that is not waiting: one that computes, one that yields; one that waits
 * for a mutex, an rwlock or at a barrier runs the handler and waits on,
 * a timed wait to the deadline it was given; and a condition waiter's
 * handler, which runs while the mutex is released.  Each test runs
 * natively (even loops: real threads) and with green threads (odd loops,
 * on a pool of two schedulers, so that the sender
 * and the thread it aims at may run on different OS threads), expecting
 * the same: the handler runs once, as the thread, while it computes
 * (realtime signals once per sending, each with its value); the
 * cancelled thread runs its cleanup handler and ends with
 * PTHREAD_CANCELED.  A thread that computes stops by itself after 10 s,
 * so that a signal that never comes fails the test instead of hanging it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "weft.h"
#include "../core/tcb.h"
#include "../hook/green.h"
#include "testlib.h"

static _Atomic int handled;
static _Atomic pthread_t handled_by;
static _Atomic bool stop, started, cleaned;

static void on_sig(int sig)
{
	(void)sig;
	atomic_store(&handled_by, pthread_self());
	atomic_fetch_add(&handled, 1);
	atomic_store(&stop, true);
}

/* Loop 1: green threads with blocks of their own; the handler and the
 * flags are set afresh. */
static bool mode(int green)
{
#ifdef __SANITIZE_ADDRESS__
	if (!green)
		return false; /* ASan cannot follow a native thread's unwind */
#endif
	if (green) {
		weft__tcb_init(false);
		tl_threads_mode(green);
	}
	tl_catch(SIGUSR1, on_sig, 0);
	atomic_store(&handled, 0);
	atomic_store(&handled_by, 0);
	atomic_store(&stop, false);
	atomic_store(&started, false);
	atomic_store(&cleaned, false);
	return true;
}

/* Computes until stop, or for about 10 s at most; returns whether stop
 * ended it. */
static bool compute(void)
{
	volatile unsigned long n = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&started, true);
	while (!atomic_load(&stop)) {
		if (++n % (1u << 20) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 10)
				return false;
		}
	}
	return true;
}

static void *computes(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)compute();
}

static void *computes_alone(void *arg)
{
	(void)arg;
	tl_mask(SIG_UNBLOCK, SIGUSR1);
	return (void *)(intptr_t)compute();
}

static void wait_started(void)
{
	while (!atomic_load(&started))
		usleep(1000);
	usleep(20000);
}

/* pthread_kill to a thread that computes: its handler runs as it, at
 * once, and ends its loop. */
START_TEST(pthread_kill_reaches_a_thread_that_computes)
{
	if (!mode(_i))
		return;
	pthread_t t = tl_pthread(computes, NULL, NULL);
	wait_started();
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), (void *)1);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
}
END_TEST

/* kill(getpid()) while main blocks the signal and the one thread that
 * lets it through computes. */
START_TEST(a_process_signal_reaches_the_one_thread_that_computes)
{
	if (!mode(_i))
		return;
	tl_mask(SIG_BLOCK, SIGUSR1);
	pthread_t t = tl_pthread(computes_alone, NULL, NULL);
	wait_started();
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), (void *)1);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
	tl_mask(SIG_UNBLOCK, SIGUSR1);
}
END_TEST

static void *yields(void *arg)
{
	(void)arg;
	atomic_store(&started, true);
	for (int i = 0; i < 10000000 && !atomic_load(&stop); i++)
		sched_yield();
	return (void *)(intptr_t)atomic_load(&stop);
}

/* A thread that only calls sched_yield takes a signal sent to it. */
START_TEST(a_thread_that_yields_takes_its_signal)
{
	if (!mode(_i))
		return;
	pthread_t t = tl_pthread(yields, NULL, NULL);
	wait_started();
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), (void *)1);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
}
END_TEST

static pthread_mutex_t free_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t free_rwlock = PTHREAD_RWLOCK_INITIALIZER;
static _Atomic bool quit;

/* Takes and gives back a mutex (arg NULL) or an rwlock nobody else
 * wants until quit, or about 30 s; returns whether quit ended it.  Most
 * of its time is inside the lock calls. */
static void *locks_freely(void *arg)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&started, true);
	for (unsigned long n = 1; !atomic_load(&quit); n++) {
		if (arg == NULL) {
			pthread_mutex_lock(&free_mutex);
			pthread_mutex_unlock(&free_mutex);
		} else {
			pthread_rwlock_wrlock(&free_rwlock);
			pthread_rwlock_unlock(&free_rwlock);
			pthread_rwlock_rdlock(&free_rwlock);
			pthread_rwlock_unlock(&free_rwlock);
		}
		if (n % (1u << 14) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 30)
				return (void *)0;
		}
	}
	return (void *)1;
}

/* A thread that loops on locks nobody else wants (calls that are no
 * wait, where a poke mostly finds it inside weft) takes each signal
 * sent to it as it would computing: 20 in turn (3 under valgrind, which
 * runs one thread at a time), each handled before the next is sent. */
START_TEST(a_thread_looping_on_free_locks_takes_its_signals)
{
	int rounds = RUNNING_ON_VALGRIND ? 3 : 20;

	for (int rw = 0; rw < 2; rw++) {
		if (!mode(_i))
			return;
		atomic_store(&quit, false);
		pthread_t t = tl_pthread(locks_freely, rw ? &free_rwlock : NULL,
					 NULL);
		wait_started();
		for (int i = 1; i <= rounds; i++) {
			ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
			for (int w = 0; w < 10000 &&
					atomic_load(&handled) < i; w++)
				usleep(1000);
			ck_assert_int_eq(atomic_load(&handled), i);
		}
		atomic_store(&quit, true);
		ck_assert_ptr_eq(tl_pthread_join(t), (void *)1);
		ck_assert(pthread_equal(atomic_load(&handled_by), t));
	}
}
END_TEST

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;

static void *locks(void *arg)
{
	(void)arg;
	atomic_store(&started, true);
	pthread_mutex_lock(&held);
	pthread_mutex_unlock(&held);
	return NULL;
}

/* A thread waiting for a mutex runs the handler of a signal sent to it
 * during the wait, as itself, and its wait goes on. */
START_TEST(a_mutex_waiter_runs_its_handler_and_goes_on_waiting)
{
	if (!mode(_i))
		return;
	pthread_mutex_lock(&held);
	pthread_t t = tl_pthread(locks, NULL, NULL);
	wait_started();
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	for (int i = 0; i < 5000 && atomic_load(&handled) == 0; i++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&handled), 1); /* the lock still held */
	pthread_mutex_unlock(&held);
	tl_pthread_join(t);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
}
END_TEST

static _Atomic int values[8], nvalues;

/* Notes the value of a realtime signal; the third stops the computing. */
static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	int i = atomic_fetch_add(&nvalues, 1);
	if (i < 8)
		atomic_store(&values[i], si->si_value.sival_int);
	if (i == 2)
		atomic_store(&stop, true);
}

static void *computes_for_rt(void *arg)
{
	(void)arg;
	tl_mask(SIG_UNBLOCK, SIGRTMIN + 2);
	return (void *)(intptr_t)compute();
}

/* Three sigqueue to the process, while the one thread that lets the
 * signal through computes: each runs its handler there once, with its
 * own value (none merged, none with another's siginfo).  Natively they
 * also come in order; under weft two that the kernel hands to two OS
 * threads at once may not (see the README's limits). */
START_TEST(realtime_signals_queue_with_their_values)
{
	if (!mode(_i))
		return;
	atomic_store(&nvalues, 0);
	tl_catch(SIGRTMIN + 2, on_rt, SA_SIGINFO);
	tl_mask(SIG_BLOCK, SIGRTMIN + 2);
	pthread_t t = tl_pthread(computes_for_rt, NULL, NULL);
	wait_started();
	for (int v = 1; v <= 3; v++)
		ck_assert_int_eq(sigqueue(getpid(), SIGRTMIN + 2,
					  (union sigval){ .sival_int = v }), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), (void *)1);
	ck_assert_int_eq(atomic_load(&nvalues), 3);
	int seen = 0;
	for (int i = 0; i < 3; i++)
		seen |= 1 << atomic_load(&values[i]);
	ck_assert_int_eq(seen, 1 << 1 | 1 << 2 | 1 << 3);
	if (!_i)
		for (int i = 0; i < 3; i++)
			ck_assert_int_eq(atomic_load(&values[i]), i + 1);
	tl_mask(SIG_UNBLOCK, SIGRTMIN + 2);
}
END_TEST

static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static _Atomic int trylock_said;

/* Tries the condition's mutex, as the handler of a thread waiting on it:
 * free natively, as the wait released it. */
static void on_sig_trylock(int sig)
{
	int r = pthread_mutex_trylock(&cm);

	(void)sig;
	if (r == 0)
		pthread_mutex_unlock(&cm);
	atomic_store(&trylock_said, r);
	atomic_store(&stop, true);
}

static void *waits_on_cond(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cm);
	atomic_store(&started, true);
	while (!atomic_load(&stop))
		pthread_cond_wait(&cv, &cm);
	pthread_mutex_unlock(&cm);
	return NULL;
}

/* A signal to a thread in pthread_cond_wait runs its handler while the
 * mutex is released. */
START_TEST(a_condition_waiter_runs_its_handler_with_the_mutex_released)
{
	if (!mode(_i))
		return;
	atomic_store(&trylock_said, -1);
	tl_catch(SIGUSR1, on_sig_trylock, 0);
	pthread_t t = tl_pthread(waits_on_cond, NULL, NULL);
	wait_started();
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	for (int i = 0; i < 5000 && !atomic_load(&stop); i++)
		usleep(1000);
	pthread_mutex_lock(&cm);
	atomic_store(&stop, true); /* should the signal be lost */
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&cm);
	tl_pthread_join(t);
	ck_assert_int_eq(atomic_load(&trylock_said), 0);
}
END_TEST

static pthread_rwlock_t rwheld = PTHREAD_RWLOCK_INITIALIZER;

static void *reads_rw(void *arg)
{
	(void)arg;
	atomic_store(&started, true);
	pthread_rwlock_rdlock(&rwheld);
	pthread_rwlock_unlock(&rwheld);
	return NULL;
}

/* The same for a reader waiting for a write-locked rwlock. */
START_TEST(an_rwlock_waiter_runs_its_handler_and_goes_on_waiting)
{
	if (!mode(_i))
		return;
	pthread_rwlock_wrlock(&rwheld);
	pthread_t t = tl_pthread(reads_rw, NULL, NULL);
	wait_started();
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	for (int i = 0; i < 5000 && atomic_load(&handled) == 0; i++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&handled), 1); /* the lock still held */
	pthread_rwlock_unlock(&rwheld);
	tl_pthread_join(t);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
}
END_TEST

/* The timed waits times_out makes, by the loop's index / 2. */
static const char *const timed_kinds[] = {
	"pthread_mutex_timedlock", "pthread_mutex_clocklock (monotonic)",
	"pthread_rwlock_timedrdlock", "pthread_rwlock_clockwrlock (monotonic)",
};
static int timed_kind;
static _Atomic long waited_ms;

/* Waits for held, or for rwheld (write-locked), with a deadline 600 ms
 * away, as timed_kind says; returns the wait's result. */
static void *times_out(void *arg)
{
	clockid_t clock = timed_kind % 2 ? CLOCK_MONOTONIC : CLOCK_REALTIME;
	struct timespec abs, t0, t;
	int r;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(clock, &abs);
	abs.tv_nsec += 600 * 1000000L;
	abs.tv_sec += abs.tv_nsec / 1000000000;
	abs.tv_nsec %= 1000000000;
	atomic_store(&started, true);
	switch (timed_kind) {
	case 0: r = pthread_mutex_timedlock(&held, &abs); break;
	case 1: r = pthread_mutex_clocklock(&held, clock, &abs); break;
	case 2: r = pthread_rwlock_timedrdlock(&rwheld, &abs); break;
	default: r = pthread_rwlock_clockwrlock(&rwheld, clock, &abs); break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	atomic_store(&waited_ms, (t.tv_sec - t0.tv_sec) * 1000 +
				 (t.tv_nsec - t0.tv_nsec) / 1000000);
	return (void *)(intptr_t)r;
}

/* A timed lock waiter runs the handler of a signal sent halfway through
 * its wait, and its wait goes on to the deadline it was given: it times
 * out at 600 ms, not 300 ms later (a deadline made afresh) nor at once. */
START_TEST(a_timed_lock_waiter_keeps_its_deadline_across_a_handler)
{
	if (!mode(_i % 2))
		return;
	timed_kind = _i / 2;
	if (timed_kind < 2)
		pthread_mutex_lock(&held);
	else
		pthread_rwlock_wrlock(&rwheld);
	pthread_t t = tl_pthread(times_out, NULL, NULL);
	wait_started();
	usleep(280000);
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	void *r = tl_pthread_join(t);
	if (timed_kind < 2)
		pthread_mutex_unlock(&held);
	else
		pthread_rwlock_unlock(&rwheld);
	ck_assert_msg((intptr_t)r == ETIMEDOUT, "%s: %d",
		      timed_kinds[timed_kind], (int)(intptr_t)r);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
	long ms = atomic_load(&waited_ms);
	ck_assert_msg(ms >= 590 && ms < 850, "%s: timed out after %ld ms",
		      timed_kinds[timed_kind], ms);
}
END_TEST

static pthread_barrier_t gate;

static void *waits_at_barrier(void *arg)
{
	(void)arg;
	atomic_store(&started, true);
	pthread_barrier_wait(&gate);
	return NULL;
}

/* The same for a thread waiting at a barrier, which opens after. */
START_TEST(a_barrier_waiter_runs_its_handler_and_goes_on_waiting)
{
	if (!mode(_i))
		return;
	ck_assert_int_eq(pthread_barrier_init(&gate, NULL, 2), 0);
	pthread_t t = tl_pthread(waits_at_barrier, NULL, NULL);
	wait_started();
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	for (int i = 0; i < 5000 && atomic_load(&handled) == 0; i++)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&handled), 1); /* still waiting */
	pthread_barrier_wait(&gate);
	tl_pthread_join(t);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
	ck_assert_int_eq(pthread_barrier_destroy(&gate), 0);
}
END_TEST

static void cleanup(void *arg)
{
	(void)arg;
	atomic_store(&cleaned, true);
}

static void *computes_cancellable(void *arg)
{
	bool stopped;

	(void)arg;
	ck_assert_int_eq(pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS,
					       NULL), 0);
	pthread_cleanup_push(cleanup, NULL);
	stopped = compute();
	pthread_cleanup_pop(0);
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
	return (void *)(intptr_t)stopped;
}

/* pthread_cancel of a thread that computes with asynchronous
 * cancellation: it ends where it is, its cleanup handler runs. */
START_TEST(an_asynchronous_cancel_ends_a_thread_that_computes)
{
	if (!mode(_i))
		return;
	if (_i && !weft__tcb_on)
		return; /* no unwinding without thread blocks */
	pthread_t t = tl_pthread(computes_cancellable, NULL, NULL);
	wait_started();
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert(atomic_load(&cleaned));
}
END_TEST

Suite *suite_sigpoke(void)
{
	Suite *s = suite_create("sigpoke");
	TCase *tc = tcase_create("sigpoke");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, pthread_kill_reaches_a_thread_that_computes,
			    0, 2);
	tcase_add_loop_test(tc,
		a_process_signal_reaches_the_one_thread_that_computes, 0, 2);
	tcase_add_loop_test(tc, a_thread_that_yields_takes_its_signal, 0, 2);
	tcase_add_loop_test(tc, a_thread_looping_on_free_locks_takes_its_signals,
			    0, 2);
	tcase_add_loop_test(tc,
		a_mutex_waiter_runs_its_handler_and_goes_on_waiting, 0, 2);
	tcase_add_loop_test(tc,
		an_rwlock_waiter_runs_its_handler_and_goes_on_waiting, 0, 2);
	tcase_add_loop_test(tc,
		a_barrier_waiter_runs_its_handler_and_goes_on_waiting, 0, 2);
	tcase_add_loop_test(tc,
		a_timed_lock_waiter_keeps_its_deadline_across_a_handler, 0, 8);
	tcase_add_loop_test(tc,
		an_asynchronous_cancel_ends_a_thread_that_computes, 0, 2);
	tcase_add_loop_test(tc,
		realtime_signals_queue_with_their_values, 0, 2);
	tcase_add_loop_test(tc,
		a_condition_waiter_runs_its_handler_with_the_mutex_released,
		0, 2);
	suite_add_tcase(s, tc);
	return s;
}
