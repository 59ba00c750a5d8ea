/* test_sync.c - mutexes, condition variables, semaphores and wait groups,
 * between coroutines of one thread and of two. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "weft.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

static void assert_trace_is_0_to(const struct tl_trace *t, int n)
{
	ck_assert_int_eq(t->n, n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(t->v[i] == i, "position %d holds %d", i, t->v[i]);
}

/* Waits (sleeping 1 ms at a time, for at most 2 s) until t holds n
 * entries: one sleep of 1 ms was not always enough under valgrind, where
 * the sleep's timer may fire in the same poll as the remote wakes. */
static void wait_for_trace(const struct tl_trace *t, int n)
{
	for (int i = 0; i < 2000 && *(volatile const int *)&t->n < n; i++)
		weft_sleep(1 * MS);
}

/* Waits (sleeping 1 ms at a time, for at most 2 s) until *flag is set. */
static void wait_for_flag(volatile int *flag)
{
	for (int i = 0; i < 2000 && !*flag; i++)
		weft_sleep(1 * MS);
}

/* The outcome of one call made by a coroutine: return value, errno, and
 * how long it took. */
struct call {
	int rc;
	int err;
	int64_t took;
	volatile int done;
};

#define CALL(c, expr)                                \
	do {                                         \
		int64_t t0_ = tl_mono_ns();             \
		errno = 0;                           \
		(c)->rc = (expr);                    \
		(c)->err = errno;                    \
		(c)->took = tl_mono_ns() - t0_;         \
		(c)->done = 1;                       \
	} while (0)

/* Starts a real thread running fn(arg) as its root coroutine. */
static pthread_t start_thread(void (*fn)(void *), void *arg)
{
	pthread_t tid;

	ck_assert_int_eq(weft_thread(&tid, fn, arg), 0);
	return tid;
}

/* ==== mutex ============================================================= */

struct counter {
	weft_mutex *m;
	long value;
	int inside;
	int overlaps;
	int rounds;
	weft_wg *wg;
};

static void increment_slowly(void *arg)
{
	struct counter *c = arg;

	for (int i = 0; i < c->rounds; i++) {
		weft_mutex_lock(c->m);
		if (c->inside)
			c->overlaps++;
		c->inside = 1;
		long v = c->value;
		weft_yield();
		c->value = v + 1;
		c->inside = 0;
		weft_mutex_unlock(c->m);
		if (i % 3 == 0)
			weft_yield();
	}
	weft_wg_done(c->wg);
}

static void check_exclusion(weft_mutex *m)
{
	enum { N = 10, M = 100 };
	weft_wg wg = WEFT_WG_INIT;
	struct counter c = { .m = m, .rounds = M, .wg = &wg };

	weft_wg_add(&wg, N);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(weft_go(increment_slowly, &c), 0);
	weft_wg_wait(&wg);
	ck_assert_int_eq(c.overlaps, 0);
	ck_assert_int_eq(c.value, N * M);
}

START_TEST(mutex_excludes_coroutines_that_yield_while_holding_it)
{
	weft_mutex m;

	ck_assert_int_eq(weft_mutex_init(&m, WEFT_MUTEX_NORMAL), 0);
	check_exclusion(&m);
}
END_TEST

START_TEST(recursive_and_errorcheck_mutexes_exclude_too)
{
	weft_mutex r, e;

	ck_assert_int_eq(weft_mutex_init(&r, WEFT_MUTEX_RECURSIVE), 0);
	check_exclusion(&r);
	ck_assert_int_eq(weft_mutex_init(&e, WEFT_MUTEX_ERRORCHECK), 0);
	check_exclusion(&e);
}
END_TEST

static weft_mutex static_mutex; /* zero bytes */

START_TEST(zero_filled_mutex_works)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_mutex z;

	memset(&z, 0, sizeof z);
	check_exclusion(&static_mutex);
	check_exclusion(&m);
	check_exclusion(&z);
}
END_TEST

START_TEST(mutex_init_rejects_an_unknown_kind)
{
	weft_mutex m;

	errno = 0;
	ck_assert_int_eq(weft_mutex_init(&m, 3), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(weft_mutex_init(&m, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

struct locker {
	weft_mutex *m;
	struct tl_trace *t;
	int index;
	weft_wg *wg;
};

static void lock_record_unlock(void *arg)
{
	struct locker *l = arg;

	weft_mutex_lock(l->m);
	tl_trace_add(l->t, l->index);
	weft_yield();
	weft_mutex_unlock(l->m);
	weft_wg_done(l->wg);
}

START_TEST(mutex_serves_waiters_in_the_order_they_came)
{
	enum { N = 6 };
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_wg wg = WEFT_WG_INIT;
	struct tl_trace t = { 0 };
	struct locker l[N];

	ck_assert_int_eq(weft_mutex_lock(&m), 0);
	weft_wg_add(&wg, N);
	for (int i = 0; i < N; i++) {
		l[i] = (struct locker){ &m, &t, i, &wg };
		ck_assert_int_eq(weft_go(lock_record_unlock, &l[i]), 0);
	}
	weft_yield(); /* all park on m, in order */
	ck_assert_int_eq(t.n, 0);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	weft_wg_wait(&wg);
	assert_trace_is_0_to(&t, N);
}
END_TEST

/* Locks l's mutex and starts l's locker, which parks on it. */
static void hold_with_a_waiter(struct locker *l)
{
	ck_assert_int_eq(weft_mutex_lock(l->m), 0);
	weft_wg_add(l->wg, 1);
	ck_assert_int_eq(weft_go(lock_record_unlock, l), 0);
	weft_yield(); /* it parks on the mutex */
}

START_TEST(unlock_frees_the_mutex_and_wakes_the_longest_waiter)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_wg wg = WEFT_WG_INIT;
	struct tl_trace t = { 0 };
	struct locker l = { &m, &t, 0, &wg };

	hold_with_a_waiter(&l);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	/* The waiter is woken to take m, but m is free until it runs: a
	 * running coroutine may take it first, as with glibc's mutex. */
	ck_assert_int_eq(weft_mutex_trylock(&m), 0);
	weft_yield(); /* the waiter finds m held and waits again */
	ck_assert_int_eq(t.n, 0);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	weft_wg_wait(&wg);
	ck_assert_int_eq(t.n, 1);
	ck_assert_int_eq(weft_mutex_trylock(&m), 0);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
}
END_TEST

START_TEST(a_waiter_kept_over_a_millisecond_is_handed_the_mutex)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_wg wg = WEFT_WG_INIT;
	struct tl_trace t = { 0 };
	struct locker l = { &m, &t, 0, &wg };

	hold_with_a_waiter(&l);
	usleep(2000); /* it has now waited over a millisecond */
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	ck_assert_int_eq(weft_mutex_trylock(&m), 0); /* taken from under it */
	weft_yield(); /* it finds m held, late: m now hands over */
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	/* The waiter owns m now, though it has not run yet: no barging. */
	errno = 0;
	ck_assert_int_eq(weft_mutex_trylock(&m), -1);
	ck_assert_int_eq(errno, EBUSY);
	weft_wg_wait(&wg);
	ck_assert_int_eq(t.n, 1);
	/* Served: m is back to letting running coroutines take it. */
	ck_assert_int_eq(weft_mutex_trylock(&m), 0);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
}
END_TEST

static void trylock_once(void *arg)
{
	struct { weft_mutex *m; struct call c; } *a = arg;

	CALL(&a->c, weft_mutex_trylock(a->m));
	if (a->c.rc == 0)
		weft_mutex_unlock(a->m);
}

START_TEST(trylock_fails_with_EBUSY_while_another_coroutine_holds_it)
{
	struct { weft_mutex *m; struct call c; } a;
	weft_mutex m = WEFT_MUTEX_INIT;

	a.m = &m;
	ck_assert_int_eq(weft_mutex_trylock(&m), 0);
	memset(&a.c, 0, sizeof a.c);
	ck_assert_int_eq(weft_go(trylock_once, &a), 0);
	weft_yield();
	ck_assert_int_eq(a.c.done, 1);
	ck_assert_int_eq(a.c.rc, -1);
	ck_assert_int_eq(a.c.err, EBUSY);

	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	memset(&a.c, 0, sizeof a.c);
	ck_assert_int_eq(weft_go(trylock_once, &a), 0);
	weft_yield();
	ck_assert_int_eq(a.c.done, 1);
	ck_assert_int_eq(a.c.rc, 0);
}
END_TEST

struct timed_locker {
	weft_mutex *m;
	int64_t timeout;
	struct call c;
	int unlock_after;
};

static void timedlock_once(void *arg)
{
	struct timed_locker *t = arg;

	CALL(&t->c, weft_mutex_timedlock(t->m, t->timeout));
	if (t->c.rc == 0 && t->unlock_after)
		weft_mutex_unlock(t->m);
}

START_TEST(timedlock_fails_with_ETIMEDOUT_while_held)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	struct timed_locker t = { .m = &m, .timeout = 20 * MS, .unlock_after = 1 };

	ck_assert_int_eq(weft_mutex_lock(&m), 0);
	ck_assert_int_eq(weft_go(timedlock_once, &t), 0);
	wait_for_flag(&t.c.done);
	ck_assert_int_eq(t.c.done, 1);
	ck_assert_int_eq(t.c.rc, -1);
	ck_assert_int_eq(t.c.err, ETIMEDOUT);
	ck_assert_int_ge(t.c.took, 20 * MS);
	ck_assert_int_lt(t.c.took, 5 * SEC);

	/* The timed-out waiter has left the queue: unlocking frees m. */
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	ck_assert_int_eq(weft_mutex_trylock(&m), 0);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
}
END_TEST

START_TEST(timedlock_succeeds_when_the_mutex_is_released_in_time)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	struct timed_locker t = { .m = &m, .timeout = 4 * SEC };

	ck_assert_int_eq(weft_mutex_lock(&m), 0);
	ck_assert_int_eq(weft_go(timedlock_once, &t), 0);
	weft_sleep(5 * MS);
	ck_assert_int_eq(t.c.done, 0);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	wait_for_flag(&t.c.done);
	ck_assert_int_eq(t.c.rc, 0);
	ck_assert_int_lt(t.c.took, 4 * SEC);
	/* It holds m now. */
	errno = 0;
	ck_assert_int_eq(weft_mutex_trylock(&m), -1);
	ck_assert_int_eq(errno, EBUSY);
}
END_TEST

START_TEST(timedlock_of_a_free_mutex_succeeds_at_once)
{
	weft_mutex m = WEFT_MUTEX_INIT;

	ck_assert_int_eq(weft_mutex_timedlock(&m, 0), 0);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	ck_assert_int_eq(weft_mutex_timedlock(&m, 10 * SEC), 0);
}
END_TEST

START_TEST(recursive_mutex_relocks_and_needs_as_many_unlocks)
{
	weft_mutex m;
	struct { weft_mutex *m; struct call c; } a = { &m, { 0 } };

	ck_assert_int_eq(weft_mutex_init(&m, WEFT_MUTEX_RECURSIVE), 0);
	ck_assert_int_eq(weft_mutex_lock(&m), 0);
	ck_assert_int_eq(weft_mutex_lock(&m), 0);
	ck_assert_int_eq(weft_mutex_trylock(&m), 0);
	ck_assert_int_eq(weft_mutex_timedlock(&m, 0), 0);

	for (int held = 4; held > 0; held--) {
		memset(&a.c, 0, sizeof a.c);
		ck_assert_int_eq(weft_go(trylock_once, &a), 0);
		weft_yield();
		ck_assert_int_eq(a.c.done, 1);
		ck_assert_msg(a.c.rc == -1 && a.c.err == EBUSY,
			      "another coroutine locked m with %d locks held", held);
		ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	}
	memset(&a.c, 0, sizeof a.c);
	ck_assert_int_eq(weft_go(trylock_once, &a), 0);
	weft_yield();
	ck_assert_int_eq(a.c.rc, 0);
}
END_TEST

static void unlock_once(void *arg)
{
	struct { weft_mutex *m; struct call c; } *a = arg;

	CALL(&a->c, weft_mutex_unlock(a->m));
}

START_TEST(recursive_mutex_unlock_by_a_non_owner_fails_with_EPERM)
{
	weft_mutex m;
	struct { weft_mutex *m; struct call c; } a = { &m, { 0 } };

	ck_assert_int_eq(weft_mutex_init(&m, WEFT_MUTEX_RECURSIVE), 0);
	ck_assert_int_eq(weft_mutex_lock(&m), 0);
	ck_assert_int_eq(weft_go(unlock_once, &a), 0);
	weft_yield();
	ck_assert_int_eq(a.c.rc, -1);
	ck_assert_int_eq(a.c.err, EPERM);
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	errno = 0;
	ck_assert_int_eq(weft_mutex_unlock(&m), -1);
	ck_assert_int_eq(errno, EPERM);
}
END_TEST

START_TEST(errorcheck_mutex_relock_fails_with_EDEADLK)
{
	weft_mutex m;

	ck_assert_int_eq(weft_mutex_init(&m, WEFT_MUTEX_ERRORCHECK), 0);
	ck_assert_int_eq(weft_mutex_lock(&m), 0);
	errno = 0;
	ck_assert_int_eq(weft_mutex_lock(&m), -1);
	ck_assert_int_eq(errno, EDEADLK);
	errno = 0;
	ck_assert_int_eq(weft_mutex_timedlock(&m, 10 * MS), -1);
	ck_assert_int_eq(errno, EDEADLK);
	/* Still held once: one unlock frees it. */
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
	ck_assert_int_eq(weft_mutex_trylock(&m), 0);
}
END_TEST

START_TEST(errorcheck_mutex_unlock_by_a_non_owner_fails_with_EPERM)
{
	weft_mutex m;
	struct { weft_mutex *m; struct call c; } a = { &m, { 0 } };

	ck_assert_int_eq(weft_mutex_init(&m, WEFT_MUTEX_ERRORCHECK), 0);
	ck_assert_int_eq(weft_mutex_lock(&m), 0);
	ck_assert_int_eq(weft_go(unlock_once, &a), 0);
	weft_yield();
	ck_assert_int_eq(a.c.done, 1);
	ck_assert_int_eq(a.c.rc, -1);
	ck_assert_int_eq(a.c.err, EPERM);
	/* m is still the root's. */
	ck_assert_int_eq(weft_mutex_unlock(&m), 0);
}
END_TEST

START_TEST(errorcheck_mutex_unlock_when_unlocked_fails_with_EPERM)
{
	weft_mutex m;

	ck_assert_int_eq(weft_mutex_init(&m, WEFT_MUTEX_ERRORCHECK), 0);
	errno = 0;
	ck_assert_int_eq(weft_mutex_unlock(&m), -1);
	ck_assert_int_eq(errno, EPERM);
}
END_TEST

/* ==== condition variable ================================================ */

struct cv {
	weft_mutex m;
	weft_cond c;
	int woken;
	int waiting;
	int ready;
};

static void wait_once(void *arg)
{
	struct cv *v = arg;

	weft_mutex_lock(&v->m);
	v->waiting++;
	weft_cond_wait(&v->c, &v->m);
	v->woken++;
	weft_mutex_unlock(&v->m);
}

START_TEST(cond_signal_wakes_one_waiter)
{
	struct cv v = { WEFT_MUTEX_INIT, WEFT_COND_INIT, 0, 0, 0 };

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_go(wait_once, &v), 0);
	weft_yield();
	ck_assert_int_eq(v.waiting, 3);

	for (int expect = 1; expect <= 3; expect++) {
		ck_assert_int_eq(weft_cond_signal(&v.c), 0);
		weft_sleep(2 * MS);
		ck_assert_int_eq(v.woken, expect);
	}
}
END_TEST

START_TEST(cond_broadcast_wakes_every_waiter)
{
	struct cv v = { WEFT_MUTEX_INIT, WEFT_COND_INIT, 0, 0, 0 };

	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(weft_go(wait_once, &v), 0);
	weft_yield();
	ck_assert_int_eq(v.waiting, 5);
	ck_assert_int_eq(weft_cond_broadcast(&v.c), 0);
	weft_sleep(2 * MS);
	ck_assert_int_eq(v.woken, 5);
}
END_TEST

START_TEST(cond_signal_and_broadcast_without_waiters_are_not_remembered)
{
	struct cv v = { WEFT_MUTEX_INIT, WEFT_COND_INIT, 0, 0, 0 };

	ck_assert_int_eq(weft_cond_signal(&v.c), 0);
	ck_assert_int_eq(weft_cond_broadcast(&v.c), 0);
	ck_assert_int_eq(weft_go(wait_once, &v), 0);
	weft_sleep(2 * MS);
	ck_assert_int_eq(v.waiting, 1);
	ck_assert_int_eq(v.woken, 0);
	weft_cond_signal(&v.c);
	weft_sleep(2 * MS);
	ck_assert_int_eq(v.woken, 1);
}
END_TEST

static void wait_for_ready(void *arg)
{
	struct cv *v = arg;

	weft_mutex_lock(&v->m);
	while (!v->ready)
		weft_cond_wait(&v->c, &v->m);
	v->woken++;
	weft_yield(); /* still holding m */
	weft_yield();
	weft_mutex_unlock(&v->m);
}

START_TEST(cond_wait_returns_only_once_the_signaller_unlocks)
{
	struct cv v = { WEFT_MUTEX_INIT, WEFT_COND_INIT, 0, 0, 0 };

	ck_assert_int_eq(weft_go(wait_for_ready, &v), 0);
	weft_yield();
	ck_assert_int_eq(weft_mutex_lock(&v.m), 0);
	v.ready = 1;
	ck_assert_int_eq(weft_cond_signal(&v.c), 0);
	weft_sleep(2 * MS);
	ck_assert_int_eq(v.woken, 0); /* it needs m, which we hold */
	ck_assert_int_eq(weft_mutex_unlock(&v.m), 0);
	weft_yield();
	ck_assert_int_eq(v.woken, 1);
	/* It holds m again while it yields. */
	errno = 0;
	ck_assert_int_eq(weft_mutex_trylock(&v.m), -1);
	ck_assert_int_eq(errno, EBUSY);
}
END_TEST

struct timed_waiter {
	weft_mutex m;
	weft_cond c;
	int64_t timeout;
	struct call call;
	volatile int release;
	int unlock_rc;
};

/* Waits on t->c with a time-out, then keeps the mutex until the root sets
 * t->release (at most 2 s). */
static void timedwait_then_hold(void *arg)
{
	struct timed_waiter *t = arg;

	weft_mutex_lock(&t->m);
	CALL(&t->call, weft_cond_timedwait(&t->c, &t->m, t->timeout));
	wait_for_flag(&t->release);
	t->unlock_rc = weft_mutex_unlock(&t->m);
}

START_TEST(cond_timedwait_times_out_with_the_mutex_locked_again)
{
	struct timed_waiter t = { .timeout = 20 * MS };

	ck_assert_int_eq(weft_mutex_init(&t.m, WEFT_MUTEX_ERRORCHECK), 0);
	memset(&t.c, 0, sizeof t.c);
	ck_assert_int_eq(weft_go(timedwait_then_hold, &t), 0);
	wait_for_flag(&t.call.done);
	ck_assert_int_eq(t.call.rc, -1);
	ck_assert_int_eq(t.call.err, ETIMEDOUT);
	ck_assert_int_ge(t.call.took, 20 * MS);
	ck_assert_int_lt(t.call.took, 5 * SEC);
	/* The waiter owns the mutex right after the time-out. */
	errno = 0;
	ck_assert_int_eq(weft_mutex_trylock(&t.m), -1);
	ck_assert_int_eq(errno, EBUSY);
	t.unlock_rc = -2;
	t.release = 1;
	weft_sleep(5 * MS);
	ck_assert_int_eq(t.unlock_rc, 0); /* an errorcheck mutex: it was the owner */
	ck_assert_int_eq(weft_mutex_trylock(&t.m), 0);
}
END_TEST

START_TEST(cond_timedwait_returns_0_when_signalled_in_time)
{
	struct timed_waiter t = { .timeout = 4 * SEC };

	ck_assert_int_eq(weft_mutex_init(&t.m, WEFT_MUTEX_ERRORCHECK), 0);
	memset(&t.c, 0, sizeof t.c);
	ck_assert_int_eq(weft_go(timedwait_then_hold, &t), 0);
	weft_sleep(2 * MS);
	ck_assert_int_eq(t.call.done, 0);
	weft_mutex_lock(&t.m);
	weft_cond_signal(&t.c);
	weft_mutex_unlock(&t.m);
	wait_for_flag(&t.call.done);
	ck_assert_int_eq(t.call.rc, 0);
	ck_assert_int_lt(t.call.took, 4 * SEC);
	errno = 0;
	ck_assert_int_eq(weft_mutex_trylock(&t.m), -1);
	ck_assert_int_eq(errno, EBUSY);
	t.unlock_rc = -2;
	t.release = 1;
	weft_sleep(5 * MS);
	ck_assert_int_eq(t.unlock_rc, 0);
}
END_TEST

struct cv_timed {
	struct cv v;
	struct call c;
};

static void timedwait_5ms(void *arg)
{
	struct cv_timed *x = arg;

	weft_mutex_lock(&x->v.m);
	CALL(&x->c, weft_cond_timedwait(&x->v.c, &x->v.m, 5 * MS));
	weft_mutex_unlock(&x->v.m);
}

START_TEST(cond_signal_after_a_timed_out_waiter_wakes_the_next_one)
{
	struct cv_timed x = { { WEFT_MUTEX_INIT, WEFT_COND_INIT, 0, 0, 0 }, { 0 } };

	ck_assert_int_eq(weft_go(timedwait_5ms, &x), 0);
	wait_for_flag(&x.c.done);
	ck_assert_int_eq(x.c.rc, -1);
	ck_assert_int_eq(x.c.err, ETIMEDOUT);

	/* The timed-out waiter has left the queue: the signal is not lost on it. */
	ck_assert_int_eq(weft_go(wait_once, &x.v), 0);
	weft_yield();
	ck_assert_int_eq(x.v.waiting, 1);
	ck_assert_int_eq(weft_cond_signal(&x.v.c), 0);
	weft_sleep(2 * MS);
	ck_assert_int_eq(x.v.woken, 1);
}
END_TEST

struct queue {
	weft_mutex m;
	weft_cond not_empty, not_full;
	int items[4];
	int head, len;
	int closed;
	long sum;
	int taken;
	int seen[1001];
};

struct consumer {
	struct queue *q;
	weft_wg *wg;
};

static void produce(struct queue *q, int from, int to)
{
	for (int i = from; i <= to; i++) {
		weft_mutex_lock(&q->m);
		while (q->len == 4)
			weft_cond_wait(&q->not_full, &q->m);
		q->items[(q->head + q->len++) % 4] = i;
		weft_cond_signal(&q->not_empty);
		weft_mutex_unlock(&q->m);
	}
}

static void close_queue(struct queue *q)
{
	weft_mutex_lock(&q->m);
	q->closed = 1;
	weft_cond_broadcast(&q->not_empty);
	weft_mutex_unlock(&q->m);
}

/* Takes items until the queue is closed and empty. */
static void consume(struct queue *q)
{
	for (;;) {
		int item;

		weft_mutex_lock(&q->m);
		while (q->len == 0 && !q->closed)
			weft_cond_wait(&q->not_empty, &q->m);
		if (q->len == 0) {
			weft_mutex_unlock(&q->m);
			break;
		}
		item = q->items[q->head];
		q->head = (q->head + 1) % 4;
		q->len--;
		q->sum += item;
		q->taken++;
		if (item >= 0 && item <= 1000)
			q->seen[item]++;
		weft_cond_signal(&q->not_full);
		weft_mutex_unlock(&q->m);
		if (item % 7 == 0)
			weft_yield();
	}
}

static void consume_co(void *arg)
{
	struct consumer *c = arg;

	consume(c->q);
	weft_wg_done(c->wg);
}

static void check_queue(const struct queue *q, int n)
{
	ck_assert_int_eq(q->taken, n);
	ck_assert_int_eq(q->sum, (long)n * (n + 1) / 2);
	for (int i = 1; i <= n; i++)
		ck_assert_msg(q->seen[i] == 1, "item %d taken %d times", i, q->seen[i]);
}

START_TEST(cond_predicate_loops_pass_every_item_exactly_once)
{
	weft_wg wg = WEFT_WG_INIT;
	static struct queue q; /* zero-filled mutex and conds */
	struct consumer c = { &q, &wg };

	weft_wg_add(&wg, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_go(consume_co, &c), 0);
	produce(&q, 1, 1000);
	close_queue(&q);
	weft_wg_wait(&wg);
	check_queue(&q, 1000);
}
END_TEST

/* ==== semaphore ========================================================= */

START_TEST(sem_starts_with_its_initial_value)
{
	weft_sem s;

	ck_assert_int_eq(weft_sem_init(&s, 3), 0);
	ck_assert_uint_eq(weft_sem_value(&s), 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_sem_trywait(&s), 0);
	ck_assert_uint_eq(weft_sem_value(&s), 0);
}
END_TEST

START_TEST(sem_trywait_at_zero_fails_with_EAGAIN)
{
	weft_sem s;

	ck_assert_int_eq(weft_sem_init(&s, 0), 0);
	errno = 0;
	ck_assert_int_eq(weft_sem_trywait(&s), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(weft_sem_post(&s), 0);
	ck_assert_uint_eq(weft_sem_value(&s), 1);
	ck_assert_int_eq(weft_sem_trywait(&s), 0);
	errno = 0;
	ck_assert_int_eq(weft_sem_trywait(&s), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

START_TEST(zero_filled_sem_holds_nothing)
{
	static weft_sem s;

	ck_assert_uint_eq(weft_sem_value(&s), 0);
	errno = 0;
	ck_assert_int_eq(weft_sem_trywait(&s), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(weft_sem_post(&s), 0);
	ck_assert_int_eq(weft_sem_wait(&s), 0);
}
END_TEST

struct sem_waiter {
	weft_sem *s;
	struct tl_trace *t;
	int index;
	int64_t timeout;
	struct call c;
};

static void sem_wait_and_record(void *arg)
{
	struct sem_waiter *w = arg;

	if (w->timeout)
		CALL(&w->c, weft_sem_timedwait(w->s, w->timeout));
	else
		CALL(&w->c, weft_sem_wait(w->s));
	if (w->t && w->c.rc == 0)
		tl_trace_add(w->t, w->index);
}

START_TEST(sem_wait_parks_until_a_post)
{
	weft_sem s;
	struct sem_waiter w = { .s = &s };

	weft_sem_init(&s, 0);
	ck_assert_int_eq(weft_go(sem_wait_and_record, &w), 0);
	weft_sleep(2 * MS);
	ck_assert_int_eq(w.c.done, 0);
	ck_assert_int_eq(weft_sem_post(&s), 0);
	wait_for_flag(&w.c.done);
	ck_assert_int_eq(w.c.rc, 0);
	ck_assert_uint_eq(weft_sem_value(&s), 0);
}
END_TEST

START_TEST(sem_post_wakes_a_waiter_and_a_running_coroutine_may_take_first)
{
	weft_sem s;
	struct sem_waiter w = { .s = &s };

	weft_sem_init(&s, 0);
	ck_assert_int_eq(weft_go(sem_wait_and_record, &w), 0);
	weft_yield(); /* it parks */
	ck_assert_int_eq(weft_sem_post(&s), 0);
	/* The unit is there until the woken waiter runs, as with glibc's
	 * semaphore: taken first, the waiter waits on. */
	ck_assert_uint_eq(weft_sem_value(&s), 1);
	ck_assert_int_eq(weft_sem_trywait(&s), 0);
	weft_yield(); /* it finds nothing and parks again */
	ck_assert_int_eq(w.c.done, 0);
	ck_assert_int_eq(weft_sem_post(&s), 0);
	wait_for_flag(&w.c.done);
	ck_assert_int_eq(w.c.rc, 0);
	ck_assert_uint_eq(weft_sem_value(&s), 0);
}
END_TEST

START_TEST(sem_timedwait_fails_with_ETIMEDOUT_at_zero)
{
	weft_sem s;
	struct sem_waiter w = { .s = &s, .timeout = 20 * MS };

	weft_sem_init(&s, 0);
	ck_assert_int_eq(weft_go(sem_wait_and_record, &w), 0);
	wait_for_flag(&w.c.done);
	ck_assert_int_eq(w.c.rc, -1);
	ck_assert_int_eq(w.c.err, ETIMEDOUT);
	ck_assert_int_ge(w.c.took, 20 * MS);
	ck_assert_int_lt(w.c.took, 5 * SEC);
	/* The timed-out waiter takes nothing from a later post. */
	ck_assert_int_eq(weft_sem_post(&s), 0);
	ck_assert_uint_eq(weft_sem_value(&s), 1);
}
END_TEST

START_TEST(sem_timedwait_succeeds_when_posted_in_time)
{
	weft_sem s;
	struct sem_waiter w = { .s = &s, .timeout = 4 * SEC };

	weft_sem_init(&s, 0);
	ck_assert_int_eq(weft_go(sem_wait_and_record, &w), 0);
	weft_sleep(2 * MS);
	ck_assert_int_eq(weft_sem_post(&s), 0);
	wait_for_flag(&w.c.done);
	ck_assert_int_eq(w.c.rc, 0);
	ck_assert_int_lt(w.c.took, 4 * SEC);
	ck_assert_uint_eq(weft_sem_value(&s), 0);
}
END_TEST

START_TEST(sem_timedwait_takes_an_available_unit_at_once)
{
	weft_sem s;

	weft_sem_init(&s, 1);
	ck_assert_int_eq(weft_sem_timedwait(&s, 0), 0);
	errno = 0;
	ck_assert_int_eq(weft_sem_timedwait(&s, 0), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
}
END_TEST

START_TEST(sem_post_serves_waiters_in_the_order_they_came)
{
	enum { N = 6 };
	weft_sem s;
	struct tl_trace t = { 0 };
	struct sem_waiter w[N];

	weft_sem_init(&s, 0);
	for (int i = 0; i < N; i++) {
		w[i] = (struct sem_waiter){ .s = &s, .t = &t, .index = i };
		ck_assert_int_eq(weft_go(sem_wait_and_record, &w[i]), 0);
	}
	weft_yield(); /* all park, in order */
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(weft_sem_post(&s), 0);
		weft_yield();
	}
	wait_for_trace(&t, N);
	assert_trace_is_0_to(&t, N);
	ck_assert_uint_eq(weft_sem_value(&s), 0);
}
END_TEST

START_TEST(sem_posts_in_a_row_still_serve_waiters_in_order)
{
	enum { N = 6 };
	weft_sem s;
	struct tl_trace t = { 0 };
	struct sem_waiter w[N];

	weft_sem_init(&s, 0);
	for (int i = 0; i < N; i++) {
		w[i] = (struct sem_waiter){ .s = &s, .t = &t, .index = i };
		ck_assert_int_eq(weft_go(sem_wait_and_record, &w[i]), 0);
	}
	weft_yield();
	for (int i = 0; i < N + 2; i++)
		ck_assert_int_eq(weft_sem_post(&s), 0);
	ck_assert_uint_eq(weft_sem_value(&s), N + 2); /* none has run yet */
	wait_for_trace(&t, N);
	assert_trace_is_0_to(&t, N);
	ck_assert_uint_eq(weft_sem_value(&s), 2);
}
END_TEST

START_TEST(sem_post_beyond_UINT_MAX_fails_with_EOVERFLOW)
{
	weft_sem s;

	ck_assert_int_eq(weft_sem_init(&s, UINT_MAX), 0);
	ck_assert_uint_eq(weft_sem_value(&s), UINT_MAX);
	errno = 0;
	ck_assert_int_eq(weft_sem_post(&s), -1);
	ck_assert_int_eq(errno, EOVERFLOW);
	ck_assert_uint_eq(weft_sem_value(&s), UINT_MAX);
}
END_TEST

/* ==== wait group ======================================================== */

struct wg_worker {
	weft_wg *wg;
	int64_t delay;
	int *done;
};

static void work_then_done(void *arg)
{
	struct wg_worker *w = arg;

	weft_sleep(w->delay);
	(*w->done)++;
	weft_wg_done(w->wg);
}

START_TEST(wg_wait_returns_when_the_count_reaches_zero)
{
	weft_wg wg = WEFT_WG_INIT;
	int done = 0;
	struct wg_worker w[3];

	ck_assert_int_eq(weft_wg_add(&wg, 3), 0);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct wg_worker){ &wg, (i + 1) * MS, &done };
		ck_assert_int_eq(weft_go(work_then_done, &w[i]), 0);
	}
	ck_assert_int_eq(weft_wg_wait(&wg), 0);
	ck_assert_int_eq(done, 3);
}
END_TEST

START_TEST(wg_wait_at_zero_returns_at_once)
{
	weft_wg wg = WEFT_WG_INIT;
	static weft_wg zero;
	int ran = 0;
	struct wg_worker w = { &wg, 0, &ran };

	/* A coroutine queued but not run shows that wait did not park. */
	ck_assert_int_eq(weft_wg_add(&wg, 1), 0);
	ck_assert_int_eq(weft_go(work_then_done, &w), 0);
	ck_assert_int_eq(weft_wg_wait(&zero), 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(weft_wg_wait(&wg), 0);
	ck_assert_int_eq(ran, 1);
	ck_assert_int_eq(weft_wg_wait(&wg), 0);
}
END_TEST

START_TEST(wg_add_below_zero_fails_with_EINVAL)
{
	weft_wg wg = WEFT_WG_INIT;
	int ran = 0;
	struct wg_worker w = { &wg, 0, &ran };

	errno = 0;
	ck_assert_int_eq(weft_wg_done(&wg), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(weft_wg_add(&wg, 2), 0);
	errno = 0;
	ck_assert_int_eq(weft_wg_add(&wg, -3), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Unchanged at 2: one done leaves 1, so wait still parks. */
	ck_assert_int_eq(weft_wg_done(&wg), 0);
	ck_assert_int_eq(weft_go(work_then_done, &w), 0);
	ck_assert_int_eq(weft_wg_wait(&wg), 0);
	ck_assert_int_eq(ran, 1);
	errno = 0;
	ck_assert_int_eq(weft_wg_done(&wg), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

struct wg_waiter {
	weft_wg *wg;
	int *woken;
};

static void wg_wait_and_count(void *arg)
{
	struct wg_waiter *w = arg;

	weft_wg_wait(w->wg);
	(*w->woken)++;
}

START_TEST(wg_wakes_every_waiter)
{
	weft_wg wg = WEFT_WG_INIT;
	int woken = 0;
	struct wg_waiter w = { &wg, &woken };

	weft_wg_add(&wg, 2);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(weft_go(wg_wait_and_count, &w), 0);
	weft_yield();
	ck_assert_int_eq(woken, 0);
	weft_wg_done(&wg);
	weft_sleep(1 * MS);
	ck_assert_int_eq(woken, 0);
	weft_wg_add(&wg, -1);
	weft_sleep(1 * MS);
	ck_assert_int_eq(woken, 4);
}
END_TEST

START_TEST(wg_can_be_used_again_after_reaching_zero)
{
	weft_wg wg = WEFT_WG_INIT;
	int done = 0;
	struct wg_worker w = { &wg, 1 * MS, &done };

	for (int round = 1; round <= 3; round++) {
		ck_assert_int_eq(weft_wg_add(&wg, 1), 0);
		ck_assert_int_eq(weft_go(work_then_done, &w), 0);
		ck_assert_int_eq(weft_wg_wait(&wg), 0);
		ck_assert_int_eq(done, round);
	}
}
END_TEST

/* ==== across two OS threads ============================================= */

enum { XROUNDS = 100000 };

struct xcounter {
	weft_mutex m;
	long value; /* only touched under m */
	int inside;
	int overlaps;
};

static void xincrement(struct xcounter *x, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		weft_mutex_lock(&x->m);
		if (__atomic_exchange_n(&x->inside, 1, __ATOMIC_SEQ_CST))
			__atomic_add_fetch(&x->overlaps, 1, __ATOMIC_SEQ_CST);
		long v = x->value;
		if (i % 1000 == 0)
			weft_yield();
		x->value = v + 1;
		__atomic_store_n(&x->inside, 0, __ATOMIC_SEQ_CST);
		weft_mutex_unlock(&x->m);
	}
}

struct xpair {
	struct xcounter *x;
	weft_wg wg;
};

static void xincrement_co(void *arg)
{
	struct xpair *p = arg;

	xincrement(p->x, XROUNDS / 2);
	weft_wg_done(&p->wg);
}

/* Two coroutines of the calling thread, XROUNDS increments between them. */
static void xincrement_two(void *arg)
{
	struct xpair p = { arg, WEFT_WG_INIT };

	weft_wg_add(&p.wg, 1);
	weft_go(xincrement_co, &p);
	xincrement(p.x, XROUNDS / 2);
	weft_wg_wait(&p.wg);
}

START_TEST(mutex_excludes_coroutines_of_two_threads)
{
	static struct xcounter x;
	pthread_t tid = start_thread(xincrement_two, &x);

	xincrement_two(&x);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(x.overlaps, 0);
	ck_assert_int_eq(x.value, 2L * XROUNDS);
}
END_TEST

struct xhold {
	weft_mutex m;
	volatile int held;
	volatile int release;
};

static void hold_for_a_while(void *arg)
{
	struct xhold *h = arg;

	weft_mutex_lock(&h->m);
	__atomic_store_n(&h->held, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&h->release, __ATOMIC_SEQ_CST))
		weft_sleep(1 * MS);
	weft_mutex_unlock(&h->m);
}

START_TEST(mutex_timedlock_across_threads)
{
	static struct xhold h;
	pthread_t tid = start_thread(hold_for_a_while, &h);
	int64_t t0;

	while (!__atomic_load_n(&h.held, __ATOMIC_SEQ_CST))
		weft_sleep(1 * MS);
	t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(weft_mutex_timedlock(&h.m, 10 * MS), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(tl_mono_ns() - t0, 10 * MS);
	errno = 0;
	ck_assert_int_eq(weft_mutex_trylock(&h.m), -1);
	ck_assert_int_eq(errno, EBUSY);
	__atomic_store_n(&h.release, 1, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(weft_mutex_timedlock(&h.m, 4 * SEC), 0);
	ck_assert_int_eq(weft_mutex_unlock(&h.m), 0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
}
END_TEST

struct xsem {
	weft_sem s;
	int failures;
};

static void post_many(void *arg)
{
	struct xsem *x = arg;

	for (int i = 0; i < XROUNDS; i++) {
		if (weft_sem_post(&x->s) != 0)
			x->failures++;
		if (i % 1000 == 0)
			weft_yield();
	}
}

START_TEST(sem_posts_from_another_thread_are_all_received)
{
	static struct xsem x;
	int timeouts = 0;
	pthread_t tid;

	weft_sem_init(&x.s, 0);
	tid = start_thread(post_many, &x);
	for (int i = 0; i < XROUNDS; i++)
		if (weft_sem_timedwait(&x.s, 4 * SEC) != 0)
			timeouts++;
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(timeouts, 0);
	ck_assert_int_eq(x.failures, 0);
	ck_assert_uint_eq(weft_sem_value(&x.s), 0);
	errno = 0;
	ck_assert_int_eq(weft_sem_trywait(&x.s), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

struct pingpong {
	weft_sem ping, pong;
	long ball; /* passed back and forth; each side checks and bumps it */
	int errors;
};

enum { BOUNCES = 10000 };

static void pong_side(void *arg)
{
	struct pingpong *p = arg;

	for (int i = 0; i < BOUNCES; i++) {
		if (weft_sem_timedwait(&p->ping, 4 * SEC) != 0) {
			p->errors++;
			return;
		}
		if (p->ball != 2L * i + 1)
			p->errors++;
		p->ball++;
		weft_sem_post(&p->pong);
	}
}

START_TEST(sem_ping_pong_between_threads_keeps_order)
{
	static struct pingpong p;
	pthread_t tid;
	int errors = 0;

	weft_sem_init(&p.ping, 0);
	weft_sem_init(&p.pong, 0);
	tid = start_thread(pong_side, &p);
	for (int i = 0; i < BOUNCES; i++) {
		if (p.ball != 2L * i)
			errors++;
		p.ball++;
		weft_sem_post(&p.ping);
		if (weft_sem_timedwait(&p.pong, 4 * SEC) != 0) {
			errors++;
			break;
		}
	}
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(errors, 0);
	ck_assert_int_eq(p.errors, 0);
	ck_assert_int_eq(p.ball, 2L * BOUNCES);
}
END_TEST

static void produce_and_close(void *arg)
{
	produce(arg, 1, 1000);
	close_queue(arg);
}

START_TEST(cond_passes_items_between_threads)
{
	static struct queue q;
	pthread_t tid = start_thread(produce_and_close, &q);

	consume(&q);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	check_queue(&q, 1000);
}
END_TEST

static void consume_in_two(void *arg)
{
	weft_wg wg = WEFT_WG_INIT;
	struct consumer c = { arg, &wg };

	weft_wg_add(&wg, 1);
	weft_go(consume_co, &c);
	consume(arg);
	weft_wg_wait(&wg);
}

START_TEST(cond_consumers_in_two_threads_share_the_items)
{
	static struct queue q;
	pthread_t tid = start_thread(consume_in_two, &q);

	produce(&q, 1, 1000);
	close_queue(&q);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	check_queue(&q, 1000);
}
END_TEST

struct xwg {
	weft_wg wg;
	int done;
};

static void xwg_done_later(void *arg)
{
	struct xwg *x = arg;

	weft_sleep(5 * MS);
	__atomic_store_n(&x->done, 1, __ATOMIC_SEQ_CST);
	weft_wg_done(&x->wg);
}

START_TEST(wg_wait_wakes_for_done_from_another_thread)
{
	static struct xwg x;
	pthread_t tid;

	ck_assert_int_eq(weft_wg_add(&x.wg, 1), 0);
	tid = start_thread(xwg_done_later, &x);
	ck_assert_int_eq(weft_wg_wait(&x.wg), 0);
	ck_assert_int_eq(__atomic_load_n(&x.done, __ATOMIC_SEQ_CST), 1);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_sync(void)
{
	Suite *s = suite_create("sync");
	TCase *tc;

	tc = tcase_create("mutex");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, mutex_excludes_coroutines_that_yield_while_holding_it);
	tcase_add_test(tc, recursive_and_errorcheck_mutexes_exclude_too);
	tcase_add_test(tc, zero_filled_mutex_works);
	tcase_add_test(tc, mutex_init_rejects_an_unknown_kind);
	tcase_add_test(tc, mutex_serves_waiters_in_the_order_they_came);
	tcase_add_test(tc, unlock_frees_the_mutex_and_wakes_the_longest_waiter);
	tcase_add_test(tc, a_waiter_kept_over_a_millisecond_is_handed_the_mutex);
	tcase_add_test(tc, trylock_fails_with_EBUSY_while_another_coroutine_holds_it);
	tcase_add_test(tc, timedlock_fails_with_ETIMEDOUT_while_held);
	tcase_add_test(tc, timedlock_succeeds_when_the_mutex_is_released_in_time);
	tcase_add_test(tc, timedlock_of_a_free_mutex_succeeds_at_once);
	tcase_add_test(tc, recursive_mutex_relocks_and_needs_as_many_unlocks);
	tcase_add_test(tc, recursive_mutex_unlock_by_a_non_owner_fails_with_EPERM);
	tcase_add_test(tc, errorcheck_mutex_relock_fails_with_EDEADLK);
	tcase_add_test(tc, errorcheck_mutex_unlock_by_a_non_owner_fails_with_EPERM);
	tcase_add_test(tc, errorcheck_mutex_unlock_when_unlocked_fails_with_EPERM);
	suite_add_tcase(s, tc);

	tc = tcase_create("cond");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, cond_signal_wakes_one_waiter);
	tcase_add_test(tc, cond_broadcast_wakes_every_waiter);
	tcase_add_test(tc, cond_signal_and_broadcast_without_waiters_are_not_remembered);
	tcase_add_test(tc, cond_wait_returns_only_once_the_signaller_unlocks);
	tcase_add_test(tc, cond_timedwait_times_out_with_the_mutex_locked_again);
	tcase_add_test(tc, cond_timedwait_returns_0_when_signalled_in_time);
	tcase_add_test(tc, cond_signal_after_a_timed_out_waiter_wakes_the_next_one);
	tcase_add_test(tc, cond_predicate_loops_pass_every_item_exactly_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("sem");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, sem_starts_with_its_initial_value);
	tcase_add_test(tc, sem_trywait_at_zero_fails_with_EAGAIN);
	tcase_add_test(tc, zero_filled_sem_holds_nothing);
	tcase_add_test(tc, sem_wait_parks_until_a_post);
	tcase_add_test(tc, sem_post_wakes_a_waiter_and_a_running_coroutine_may_take_first);
	tcase_add_test(tc, sem_timedwait_fails_with_ETIMEDOUT_at_zero);
	tcase_add_test(tc, sem_timedwait_succeeds_when_posted_in_time);
	tcase_add_test(tc, sem_timedwait_takes_an_available_unit_at_once);
	tcase_add_test(tc, sem_post_serves_waiters_in_the_order_they_came);
	tcase_add_test(tc, sem_posts_in_a_row_still_serve_waiters_in_order);
	tcase_add_test(tc, sem_post_beyond_UINT_MAX_fails_with_EOVERFLOW);
	suite_add_tcase(s, tc);

	tc = tcase_create("wg");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, wg_wait_returns_when_the_count_reaches_zero);
	tcase_add_test(tc, wg_wait_at_zero_returns_at_once);
	tcase_add_test(tc, wg_add_below_zero_fails_with_EINVAL);
	tcase_add_test(tc, wg_wakes_every_waiter);
	tcase_add_test(tc, wg_can_be_used_again_after_reaching_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, mutex_excludes_coroutines_of_two_threads);
	tcase_add_test(tc, mutex_timedlock_across_threads);
	tcase_add_test(tc, sem_posts_from_another_thread_are_all_received);
	tcase_add_test(tc, sem_ping_pong_between_threads_keeps_order);
	tcase_add_test(tc, cond_passes_items_between_threads);
	tcase_add_test(tc, cond_consumers_in_two_threads_share_the_items);
	tcase_add_test(tc, wg_wait_wakes_for_done_from_another_thread);
	suite_add_tcase(s, tc);

	return s;
}
