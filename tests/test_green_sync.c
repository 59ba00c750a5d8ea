/* test_green_sync.c - green threads' locks: mutexes, condition variables,
 * rwlocks, spin locks, barriers and semaphores between coroutines, and the
 * pthread objects glibc keeps.
 *
 * Every test switches green threads on first, as preloading does, except
 * the ones that check the pass-through with them off.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "../hook/green.h"
#include "testlib.h"


/* ---- helpers ------------------------------------------------------------ */

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* An absolute time ms from now on clock (ms may be negative). */
static struct timespec after_ms(clockid_t clock, int ms)
{
	struct timespec ts;
	int64_t ns;

	clock_gettime(clock, &ts);
	ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)ms * MS;
	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	return ts;
}

static const struct timespec bad_nsec = { 0, 1000000000 };

/* A trace of small integers appended in the order things happened. */
struct trace {
	int n;
	int v[256];
};

static void trace_add(struct trace *t, int x)
{
	if (t->n < (int)(sizeof t->v / sizeof t->v[0]))
		t->v[t->n] = x;
	t->n++;
}

/* Counts while others wait: proof that the OS thread was not blocked. */
static volatile int ticks;
static volatile int stop_ticking;

static void *ticker(void *unused)
{
	(void)unused;
	while (!stop_ticking) {
		ticks++;
		usleep(2000);
	}
	return NULL;
}

/* ---- mutexes ---------------------------------------------------------- */

struct counter {
	pthread_mutex_t *lock;
	long *value;
	int rounds;
};

static void *count_with_yields(void *p)
{
	struct counter *c = p;

	for (int i = 0; i < c->rounds; i++) {
		ck_assert_int_eq(pthread_mutex_lock(c->lock), 0);
		long v = *c->value;
		sched_yield(); /* the others find it held and park */
		*c->value = v + 1;
		ck_assert_int_eq(pthread_mutex_unlock(c->lock), 0);
	}
	return NULL;
}

static void *try_then_lock(void *p)
{
	pthread_mutex_t *m = p;

	intptr_t busy = pthread_mutex_trylock(m);
	ck_assert_int_eq(pthread_mutex_lock(m), 0);
	ck_assert_int_eq(pthread_mutex_unlock(m), 0);
	return (void *)busy;
}

static void *unlock_foreign(void *p)
{
	return (void *)(intptr_t)pthread_mutex_unlock(p);
}

START_TEST(static_initialisers_work_in_place_for_all_three_kinds)
{
	weft__green_set(true);
	pthread_mutex_t normal = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	pthread_mutex_t check = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
	long value = 0;
	struct counter c = { &normal, &value, 50 };
	pthread_t t[3];

	for (int i = 0; i < 3; i++)
		t[i] = tl_pthread(count_with_yields, &c, NULL);
	for (int i = 0; i < 3; i++)
		tl_pthread_join(t[i]);
	ck_assert_int_eq(value, 150);

	ck_assert_int_eq(pthread_mutex_lock(&rec), 0);
	ck_assert_int_eq(pthread_mutex_lock(&rec), 0);
	pthread_t other = tl_pthread(try_then_lock, &rec, NULL);
	sched_yield();
	ck_assert_int_eq(pthread_mutex_unlock(&rec), 0);
	sched_yield();
	ck_assert_int_eq(pthread_mutex_unlock(&rec), 0);
	ck_assert_int_eq((intptr_t)tl_pthread_join(other), EBUSY);

	ck_assert_int_eq(pthread_mutex_lock(&check), 0);
	ck_assert_int_eq(pthread_mutex_lock(&check), EDEADLK);
	ck_assert_int_eq(pthread_mutex_trylock(&check), EBUSY);
	ck_assert_int_eq((intptr_t)tl_pthread_join(
				 tl_pthread(unlock_foreign, &check, NULL)), EPERM);
	ck_assert_int_eq(pthread_mutex_unlock(&check), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&check), EPERM);
}
END_TEST

static pthread_mutex_t held_while_asleep = PTHREAD_MUTEX_INITIALIZER;
static int64_t held_since; /* when the holder took it */

static void *hold_across_sleep(void *p)
{
	struct trace *tr = p;

	pthread_mutex_lock(&held_while_asleep);
	held_since = mono_ns();
	trace_add(tr, 0);
	usleep(30000);
	trace_add(tr, 1);
	pthread_mutex_unlock(&held_while_asleep);
	return NULL;
}

/* Returns how long after the holder took the mutex this one got it. */
static void *lock_after_holder(void *p)
{
	struct trace *tr = p;

	pthread_mutex_lock(&held_while_asleep);
	trace_add(tr, 2);
	int64_t got = mono_ns() - held_since;
	pthread_mutex_unlock(&held_while_asleep);
	return (void *)(intptr_t)(got / MS);
}

START_TEST(a_lock_held_across_a_blocking_call_parks_the_others)
{
	weft__green_set(true);
	struct trace tr = { 0 };
	pthread_t holder = tl_pthread(hold_across_sleep, &tr, NULL);
	sched_yield();
	pthread_t tick = tl_pthread(ticker, NULL, NULL);
	pthread_t w[3];

	for (int i = 0; i < 3; i++)
		w[i] = tl_pthread(lock_after_holder, &tr, NULL);
	for (int i = 0; i < 3; i++)
		ck_assert_int_ge((intptr_t)tl_pthread_join(w[i]), 25);
	tl_pthread_join(holder);
	stop_ticking = 1;
	tl_pthread_join(tick);
	ck_assert_int_eq(tr.n, 5);
	ck_assert_int_eq(tr.v[0], 0);
	ck_assert_int_eq(tr.v[1], 1);
	ck_assert_int_gt(ticks, 0); /* how many depends on the machine */
}
END_TEST

static void *hold_for_ms(void *p)
{
	pthread_mutex_t *m = p;

	pthread_mutex_lock(m);
	usleep(60000);
	pthread_mutex_unlock(m);
	return NULL;
}

START_TEST(timedlock_and_clocklock_time_out_or_succeed)
{
	weft__green_set(true);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_t t = tl_pthread(hold_for_ms, &m, NULL);

	sched_yield();
	ck_assert_int_eq(pthread_mutex_trylock(&m), EBUSY);
	struct timespec soon = after_ms(CLOCK_REALTIME, 20);
	int64_t t0 = mono_ns();
	ck_assert_int_eq(pthread_mutex_timedlock(&m, &soon), ETIMEDOUT);
	ck_assert_int_ge(mono_ns() - t0, 19 * MS);
	ck_assert_int_eq(pthread_mutex_timedlock(&m, &bad_nsec), EINVAL);
	ck_assert_int_eq(pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID,
						 &soon), EINVAL);
	struct timespec later = after_ms(CLOCK_MONOTONIC, 5000);
	ck_assert_int_eq(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &later), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
	tl_pthread_join(t);
	/* A free mutex is taken whatever the time-out says, as in glibc. */
	ck_assert_int_eq(pthread_mutex_timedlock(&m, &bad_nsec), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
}
END_TEST

START_TEST(mutex_attr_types_are_honoured)
{
	weft__green_set(true);
	pthread_mutexattr_t attr;
	pthread_mutex_t check, rec, adaptive;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	ck_assert_int_eq(pthread_mutex_init(&check, &attr), 0);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	ck_assert_int_eq(pthread_mutex_init(&rec, &attr), 0);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	ck_assert_int_eq(pthread_mutex_init(&adaptive, &attr), 0);
	pthread_mutexattr_destroy(&attr);

	ck_assert_int_eq(pthread_mutex_unlock(&check), EPERM);
	ck_assert_int_eq(pthread_mutex_lock(&check), 0);
	ck_assert_int_eq(pthread_mutex_lock(&check), EDEADLK);
	ck_assert_int_eq((intptr_t)tl_pthread_join(
				 tl_pthread(unlock_foreign, &check, NULL)), EPERM);
	ck_assert_int_eq(pthread_mutex_unlock(&check), 0);

	ck_assert_int_eq(pthread_mutex_lock(&rec), 0);
	ck_assert_int_eq(pthread_mutex_trylock(&rec), 0);
	ck_assert_int_eq((intptr_t)tl_pthread_join(
				 tl_pthread(unlock_foreign, &rec, NULL)), EPERM);
	ck_assert_int_eq(pthread_mutex_unlock(&rec), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&rec), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&rec), EPERM);

	ck_assert_int_eq(pthread_mutex_lock(&adaptive), 0);
	ck_assert_int_eq(pthread_mutex_trylock(&adaptive), EBUSY);
	ck_assert_int_eq(pthread_mutex_unlock(&adaptive), 0);
}
END_TEST

START_TEST(a_destroyed_mutex_is_busy_while_held_and_invalid_after)
{
	weft__green_set(true);
	pthread_mutex_t m;

	ck_assert_int_eq(pthread_mutex_init(&m, NULL), 0);
	ck_assert_int_eq(pthread_mutex_lock(&m), 0);
	ck_assert_int_eq(pthread_mutex_destroy(&m), EBUSY);
	ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
	ck_assert_int_eq(pthread_mutex_destroy(&m), 0);
	ck_assert_int_eq(pthread_mutex_lock(&m), EINVAL);
	ck_assert_int_eq(pthread_mutex_init(&m, NULL), 0);
	ck_assert_int_eq(pthread_mutex_lock(&m), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
}
END_TEST

START_TEST(process_shared_and_robust_mutexes_stay_glibc_s)
{
	weft__green_set(true);
	pthread_mutexattr_t attr;
	pthread_mutex_t shared, robust;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	ck_assert_int_eq(pthread_mutex_init(&shared, &attr), 0);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	ck_assert_int_eq(pthread_mutex_init(&robust, &attr), 0);
	ck_assert_int_eq(pthread_mutex_lock(&shared), 0);
	ck_assert_int_eq(pthread_mutex_lock(&robust), 0);
	/* glibc's representation: the owner is the OS thread's id. */
	ck_assert_int_eq(shared.__data.__owner, tid());
	ck_assert_int_eq(robust.__data.__owner, tid());
	ck_assert_int_eq(pthread_mutex_unlock(&shared), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&robust), 0);
	ck_assert_int_eq(pthread_mutex_destroy(&shared), 0);
}
END_TEST

START_TEST(with_green_threads_off_a_mutex_is_glibc_s)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

	ck_assert_int_eq(pthread_mutex_lock(&m), 0);
	ck_assert_int_eq(m.__data.__owner, tid());
	ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
}
END_TEST

static pthread_mutex_t raw_lock = PTHREAD_MUTEX_INITIALIZER;
static long raw_count;

static void *raw_thread_counts(void *unused)
{
	(void)unused;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&raw_lock);
		raw_count++;
		pthread_mutex_unlock(&raw_lock);
	}
	return NULL;
}

START_TEST(a_real_thread_without_a_scheduler_locks_green_mutexes_too)
{
	weft__green_set(true);
	pthread_t raw, t;

	/* A real thread made behind weft's back, as a library might. */
	ck_assert_int_eq(weft__libc()->pthread_create(&raw, NULL,
						       raw_thread_counts,
						       NULL), 0);
	t = tl_pthread(raw_thread_counts, NULL, NULL);
	raw_thread_counts(NULL);
	tl_pthread_join(t);
	ck_assert_int_eq(pthread_join(raw, NULL), 0);
	ck_assert_int_eq(raw_count, 60000);
}
END_TEST

/* The scheduler's loop (libev's callbacks, the allocator it calls) locks
 * green mutexes without parking. */
struct loop_lock {
	pthread_mutex_t *m;
	int held, tried; /* atomic: set by the holder, by the loop */
	volatile int done;
	int rc[3];
	int64_t waited;
};

static void hold_30ms_in_real_thread(void *p)
{
	struct loop_lock *l = p;

	pthread_mutex_lock(l->m);
	__atomic_store_n(&l->held, 1, __ATOMIC_RELEASE);
	/* Until the loop has begun to wait, however slow the machine. */
	while (!__atomic_load_n(&l->tried, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(30000);
	pthread_mutex_unlock(l->m);
}

static void lock_in_loop(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct loop_lock *l = w->data;
	int64_t t0 = mono_ns();

	(void)loop, (void)revents;
	ck_assert_ptr_null(weft__running); /* the loop's own context */
	__atomic_store_n(&l->tried, 1, __ATOMIC_RELEASE);
	l->rc[0] = pthread_mutex_lock(l->m);
	l->waited = mono_ns() - t0;
	l->rc[1] = pthread_mutex_trylock(l->m);
	l->rc[2] = pthread_mutex_unlock(l->m);
	l->done = 1;
}

START_TEST(the_scheduler_loop_locks_green_mutexes_without_parking)
{
	weft__green_set(true);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct loop_lock l = { .m = &m };
	pthread_t real;
	ev_timer timer;

	ck_assert_int_eq(weft_thread(&real, hold_30ms_in_real_thread, &l), 0);
	while (!__atomic_load_n(&l.held, __ATOMIC_ACQUIRE))
		usleep(1000);
	ev_timer_init(&timer, lock_in_loop, 0., 0.);
	timer.data = &l;
	ev_timer_start(weft__loop(weft__sched_get()), &timer);
	while (!l.done)
		weft_sleep(1 * MS);
	ck_assert_int_eq(l.rc[0], 0);
	ck_assert_int_eq(l.rc[1], EBUSY);
	ck_assert_int_eq(l.rc[2], 0);
	ck_assert_int_ge(l.waited, 10 * MS);
	ck_assert_int_eq(pthread_join(real, NULL), 0);
	/* The loop left it free for the coroutines. */
	ck_assert_int_eq(pthread_mutex_trylock(&m), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&m), 0);
}
END_TEST

/* ---- condition variables ----------------------------------------------- */

START_TEST(cond_timedwait_on_a_monotonic_condattr_times_out_with_the_mutex_held)
{
	weft__green_set(true);
	pthread_condattr_t attr;
	pthread_cond_t c;
	pthread_mutex_t m = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
	pthread_t tick = tl_pthread(ticker, NULL, NULL);

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	ck_assert_int_eq(pthread_cond_init(&c, &attr), 0);
	pthread_condattr_destroy(&attr);
	pthread_mutex_lock(&m);
	int64_t t0 = mono_ns();
	struct timespec soon = after_ms(CLOCK_MONOTONIC, 30);
	int before = ticks;
	ck_assert_int_eq(pthread_cond_timedwait(&c, &m, &soon), ETIMEDOUT);
	ck_assert_int_ge(mono_ns() - t0, 29 * MS);
	ck_assert_int_gt(ticks, before);
	ck_assert_int_eq(pthread_mutex_lock(&m), EDEADLK); /* held again */
	ck_assert_int_eq(pthread_cond_timedwait(&c, &m, &bad_nsec), EINVAL);
	ck_assert_int_eq(pthread_cond_clockwait(&c, &m, CLOCK_PROCESS_CPUTIME_ID,
						&soon), EINVAL);
	pthread_mutex_unlock(&m);
	ck_assert_int_eq(pthread_cond_timedwait(&c, &m, &soon), EPERM);
	ck_assert_int_eq(pthread_cond_destroy(&c), 0);
	stop_ticking = 1;
	tl_pthread_join(tick);
}
END_TEST

struct waiter {
	pthread_mutex_t *m;
	pthread_cond_t *c;
	volatile int *go;
	volatile int *woken;
};

static void *wait_for_go(void *p)
{
	struct waiter *w = p;

	pthread_mutex_lock(w->m);
	while (!*w->go)
		pthread_cond_wait(w->c, w->m);
	(*w->woken)++;
	pthread_mutex_unlock(w->m);
	return NULL;
}

START_TEST(cond_broadcast_wakes_every_waiter_and_signal_one)
{
	weft__green_set(true);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	volatile int go = 0, woken = 0;
	struct waiter w = { &m, &c, &go, &woken };
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		t[i] = tl_pthread(wait_for_go, &w, NULL);
	usleep(5000);
	pthread_mutex_lock(&m);
	go = 1;
	pthread_cond_signal(&c);
	pthread_mutex_unlock(&m);
	usleep(5000);
	ck_assert_int_eq(woken, 1);
	pthread_cond_broadcast(&c);
	for (int i = 0; i < 4; i++)
		tl_pthread_join(t[i]);
	ck_assert_int_eq(woken, 4);
}
END_TEST

static void *signal_after_10ms(void *p)
{
	struct waiter *w = p;

	usleep(10000);
	pthread_mutex_lock(w->m);
	*w->go = 1;
	pthread_cond_signal(w->c);
	pthread_mutex_unlock(w->m);
	return NULL;
}

START_TEST(cond_timedwait_returns_0_when_signalled_in_time)
{
	weft__green_set(true);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	volatile int go = 0, woken = 0;
	struct waiter w = { &m, &c, &go, &woken };
	pthread_t t = tl_pthread(signal_after_10ms, &w, NULL);
	struct timespec later = after_ms(CLOCK_REALTIME, 5000);

	pthread_mutex_lock(&m);
	while (!go)
		ck_assert_int_eq(pthread_cond_timedwait(&c, &m, &later), 0);
	pthread_mutex_unlock(&m);
	tl_pthread_join(t);
}
END_TEST

/* ---- rwlocks --------------------------------------------------------- */

struct rw_test {
	pthread_rwlock_t lock;
	volatile int readers, most_readers, writer_in;
	volatile int writer_waiting;
	struct trace tr;
};

static void *read_a_while(void *p)
{
	struct rw_test *t = p;

	ck_assert_int_eq(pthread_rwlock_rdlock(&t->lock), 0);
	t->readers++;
	if (t->readers > t->most_readers)
		t->most_readers = t->readers;
	ck_assert_int_eq(t->writer_in, 0);
	usleep(20000);
	t->readers--;
	ck_assert_int_eq(pthread_rwlock_unlock(&t->lock), 0);
	return NULL;
}

static void *write_once(void *p)
{
	struct rw_test *t = p;

	t->writer_waiting = 1;
	ck_assert_int_eq(pthread_rwlock_wrlock(&t->lock), 0);
	t->writer_waiting = 0;
	t->writer_in = 1;
	ck_assert_int_eq(t->readers, 0);
	trace_add(&t->tr, 9);
	usleep(5000);
	t->writer_in = 0;
	ck_assert_int_eq(pthread_rwlock_unlock(&t->lock), 0);
	return NULL;
}

static void *read_twice_while_writer_waits(void *p)
{
	struct rw_test *t = p;

	ck_assert_int_eq(pthread_rwlock_rdlock(&t->lock), 0);
	while (!t->writer_waiting)
		sched_yield();
	/* Readers are preferred: a recursive read lock must not wait for the
	 * waiting writer, which waits for us. */
	ck_assert_int_eq(pthread_rwlock_rdlock(&t->lock), 0);
	trace_add(&t->tr, 1);
	ck_assert_int_eq(pthread_rwlock_unlock(&t->lock), 0);
	ck_assert_int_eq(pthread_rwlock_unlock(&t->lock), 0);
	return NULL;
}

START_TEST(rwlock_readers_share_it_while_a_writer_waits)
{
	weft__green_set(true);
	struct rw_test t = { .lock = PTHREAD_RWLOCK_INITIALIZER };
	pthread_t r[3], w, late, twice;

	twice = tl_pthread(read_twice_while_writer_waits, &t, NULL);
	for (int i = 0; i < 3; i++)
		r[i] = tl_pthread(read_a_while, &t, NULL);
	sched_yield();
	w = tl_pthread(write_once, &t, NULL);
	sched_yield();
	/* comes while the writer waits */
	late = tl_pthread(read_a_while, &t, NULL);
	tl_pthread_join(twice);
	for (int i = 0; i < 3; i++)
		tl_pthread_join(r[i]);
	tl_pthread_join(late);
	tl_pthread_join(w);
	ck_assert_int_ge(t.most_readers, 3);
	ck_assert_int_eq(t.tr.n, 2);
	ck_assert_int_eq(t.tr.v[0], 1);
	ck_assert_int_eq(t.tr.v[1], 9);
}
END_TEST

struct pair {
	pthread_rwlock_t lock;
	long a, b;
	volatile int bad;
};

static void *write_pair(void *p)
{
	struct pair *x = p;

	for (int i = 0; i < 50; i++) {
		pthread_rwlock_wrlock(&x->lock);
		x->a++;
		sched_yield();
		x->b++;
		pthread_rwlock_unlock(&x->lock);
	}
	return NULL;
}

static void *read_pair(void *p)
{
	struct pair *x = p;

	for (int i = 0; i < 50; i++) {
		pthread_rwlock_rdlock(&x->lock);
		long a = x->a;
		sched_yield();
		if (a != x->b || a != x->a)
			x->bad = 1;
		pthread_rwlock_unlock(&x->lock);
	}
	return NULL;
}

START_TEST(rwlock_writers_exclude_everyone)
{
	weft__green_set(true);
	struct pair x = { .lock = PTHREAD_RWLOCK_INITIALIZER };
	pthread_t t[6];

	for (int i = 0; i < 6; i++)
		t[i] = tl_pthread(i % 2 ? read_pair : write_pair, &x, NULL);
	for (int i = 0; i < 6; i++)
		tl_pthread_join(t[i]);
	ck_assert_int_eq(x.a, 150);
	ck_assert_int_eq(x.b, 150);
	ck_assert_int_eq(x.bad, 0);
}
END_TEST

static void *hold_read(void *p)
{
	pthread_rwlock_rdlock(p);
	usleep(60000);
	pthread_rwlock_unlock(p);
	return NULL;
}

static void *hold_write(void *p)
{
	pthread_rwlock_wrlock(p);
	usleep(60000);
	pthread_rwlock_unlock(p);
	return NULL;
}

START_TEST(rwlock_timed_and_try_variants)
{
	weft__green_set(true);
	pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
	pthread_t t = tl_pthread(hold_read, &rw, NULL);
	struct timespec soon, later;
	int64_t t0;

	sched_yield();
	ck_assert_int_eq(pthread_rwlock_trywrlock(&rw), EBUSY);
	ck_assert_int_eq(pthread_rwlock_tryrdlock(&rw), 0);
	ck_assert_int_eq(pthread_rwlock_unlock(&rw), 0);
	soon = after_ms(CLOCK_REALTIME, 20);
	t0 = mono_ns();
	ck_assert_int_eq(pthread_rwlock_timedwrlock(&rw, &soon), ETIMEDOUT);
	ck_assert_int_ge(mono_ns() - t0, 19 * MS);
	ck_assert_int_eq(pthread_rwlock_timedwrlock(&rw, &bad_nsec), EINVAL);
	ck_assert_int_eq(pthread_rwlock_clockwrlock(&rw, CLOCK_PROCESS_CPUTIME_ID,
						    &soon), EINVAL);
	later = after_ms(CLOCK_MONOTONIC, 5000);
	ck_assert_int_eq(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC,
						    &later), 0);
	ck_assert_int_eq(pthread_rwlock_rdlock(&rw), EDEADLK);
	ck_assert_int_eq(pthread_rwlock_wrlock(&rw), EDEADLK);
	ck_assert_int_eq(pthread_rwlock_tryrdlock(&rw), EBUSY);
	ck_assert_int_eq(pthread_rwlock_unlock(&rw), 0);
	ck_assert_int_eq(pthread_rwlock_unlock(&rw), EPERM);
	tl_pthread_join(t);

	t = tl_pthread(hold_write, &rw, NULL);
	sched_yield();
	soon = after_ms(CLOCK_MONOTONIC, 20);
	t0 = mono_ns();
	ck_assert_int_eq(pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &soon),
			 ETIMEDOUT);
	ck_assert_int_ge(mono_ns() - t0, 19 * MS);
	later = after_ms(CLOCK_REALTIME, 5000);
	ck_assert_int_eq(pthread_rwlock_timedrdlock(&rw, &later), 0);
	ck_assert_int_eq(pthread_rwlock_unlock(&rw), 0);
	tl_pthread_join(t);
	ck_assert_int_eq(pthread_rwlock_destroy(&rw), 0);
}
END_TEST

static void *read_then_note(void *p)
{
	struct rw_test *t = p;

	pthread_rwlock_rdlock(&t->lock);
	trace_add(&t->tr, 1);
	pthread_rwlock_unlock(&t->lock);
	return NULL;
}

START_TEST(rwlock_that_prefers_writers_holds_new_readers_back)
{
	weft__green_set(true);
	pthread_rwlockattr_t attr;
	struct rw_test t = { 0 };

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ck_assert_int_eq(pthread_rwlock_init(&t.lock, &attr), 0);
	ck_assert_int_eq(pthread_rwlock_rdlock(&t.lock), 0);
	pthread_t w = tl_pthread(write_once, &t, NULL);
	sched_yield(); /* the writer waits */
	pthread_t r = tl_pthread(read_then_note, &t, NULL);
	sched_yield(); /* the reader waits behind the writer */
	ck_assert_int_eq(t.tr.n, 0);
	ck_assert_int_eq(pthread_rwlock_unlock(&t.lock), 0);
	tl_pthread_join(w);
	tl_pthread_join(r);
	ck_assert_int_eq(t.tr.n, 2);
	ck_assert_int_eq(t.tr.v[0], 9);
	ck_assert_int_eq(t.tr.v[1], 1);
}
END_TEST

START_TEST(process_shared_rwlock_stays_glibc_s)
{
	weft__green_set(true);
	pthread_rwlockattr_t attr;
	pthread_rwlock_t rw;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	ck_assert_int_eq(pthread_rwlock_init(&rw, &attr), 0);
	ck_assert_int_eq(pthread_rwlock_wrlock(&rw), 0);
	ck_assert_int_eq(rw.__data.__cur_writer, tid());
	ck_assert_int_eq(pthread_rwlock_unlock(&rw), 0);
}
END_TEST

/* ---- spin locks ------------------------------------------------------ */

static void *spin_then_sleep(void *p)
{
	struct { pthread_spinlock_t lock; struct trace tr; } *s = p;

	pthread_spin_lock(&s->lock);
	trace_add(&s->tr, 0);
	usleep(20000); /* parks holding the spin lock */
	trace_add(&s->tr, 1);
	pthread_spin_unlock(&s->lock);
	return NULL;
}

START_TEST(spin_lock_waits_without_deadlock_while_the_holder_parks)
{
	weft__green_set(true);
	struct { pthread_spinlock_t lock; struct trace tr; } s = { 0 };
	pthread_t tick = tl_pthread(ticker, NULL, NULL);

	ck_assert_int_eq(pthread_spin_init(&s.lock, PTHREAD_PROCESS_PRIVATE), 0);
	pthread_t holder = tl_pthread(spin_then_sleep, &s, NULL);
	sched_yield();
	ck_assert_int_eq(pthread_spin_trylock(&s.lock), EBUSY);
	ck_assert_int_eq(pthread_spin_lock(&s.lock), 0);
	trace_add(&s.tr, 2);
	ck_assert_int_eq(pthread_spin_unlock(&s.lock), 0);
	tl_pthread_join(holder);
	stop_ticking = 1;
	tl_pthread_join(tick);
	ck_assert_int_eq(s.tr.n, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(s.tr.v[i], i);
	ck_assert_int_ge(ticks, 2);
	ck_assert_int_eq(pthread_spin_destroy(&s.lock), 0);
}
END_TEST

/* ---- barriers --------------------------------------------------------- */

struct rounds {
	pthread_barrier_t b;
	volatile int arrived[3], left[3], serial[3];
	volatile int early; /* someone left a round before all arrived */
};

static void *three_rounds(void *p)
{
	struct rounds *r = p;

	for (int i = 0; i < 3; i++) {
		r->arrived[i]++;
		usleep(1000);
		int x = pthread_barrier_wait(&r->b);
		if (r->arrived[i] != 5)
			r->early = 1;
		r->left[i]++;
		if (x == PTHREAD_BARRIER_SERIAL_THREAD)
			r->serial[i]++;
		else
			ck_assert_int_eq(x, 0);
	}
	return NULL;
}

START_TEST(barrier_of_5_lets_all_through_together_with_one_serial)
{
	weft__green_set(true);
	struct rounds r = { 0 };
	pthread_t t[5];

	ck_assert_int_eq(pthread_barrier_init(&r.b, NULL, 5), 0);
	for (int i = 0; i < 5; i++)
		t[i] = tl_pthread(three_rounds, &r, NULL);
	for (int i = 0; i < 5; i++)
		tl_pthread_join(t[i]);
	ck_assert_int_eq(r.early, 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(r.left[i], 5);
		ck_assert_int_eq(r.serial[i], 1);
	}
	ck_assert_int_eq(pthread_barrier_destroy(&r.b), 0);
}
END_TEST

static void *wait_at_barrier(void *p)
{
	return (void *)(intptr_t)pthread_barrier_wait(p);
}

START_TEST(barrier_init_and_destroy_errors)
{
	weft__green_set(true);
	pthread_barrier_t b;

	ck_assert_int_eq(pthread_barrier_init(&b, NULL, 0), EINVAL);
	ck_assert_int_eq(pthread_barrier_init(&b, NULL, 2), 0);
	pthread_t t = tl_pthread(wait_at_barrier, &b, NULL);
	sched_yield();
	ck_assert_int_eq(pthread_barrier_destroy(&b), EBUSY);
	int mine = pthread_barrier_wait(&b);
	int theirs = (int)(intptr_t)tl_pthread_join(t);
	ck_assert_int_eq(mine + theirs, PTHREAD_BARRIER_SERIAL_THREAD);
	ck_assert_int_eq(pthread_barrier_destroy(&b), 0);
}
END_TEST

/* ---- semaphores ---------------------------------------------------------- */

struct sem_test {
	sem_t items;
	volatile long sum;
};

static void *post_50(void *p)
{
	struct sem_test *s = p;

	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(sem_post(&s->items), 0);
		if (i % 7 == 0)
			sched_yield();
	}
	return NULL;
}

static void *take_50(void *p)
{
	struct sem_test *s = p;

	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(sem_wait(&s->items), 0);
		s->sum++;
	}
	return NULL;
}

START_TEST(sem_producers_and_consumers_pass_every_unit)
{
	weft__green_set(true);
	struct sem_test s = { .sum = 0 };
	pthread_t t[4];
	int v = -1;

	ck_assert_int_eq(sem_init(&s.items, 0, 0), 0);
	t[0] = tl_pthread(take_50, &s, NULL);
	t[1] = tl_pthread(take_50, &s, NULL);
	t[2] = tl_pthread(post_50, &s, NULL);
	t[3] = tl_pthread(post_50, &s, NULL);
	for (int i = 0; i < 4; i++)
		tl_pthread_join(t[i]);
	ck_assert_int_eq(s.sum, 100);
	ck_assert_int_eq(sem_getvalue(&s.items, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(sem_destroy(&s.items), 0);
}
END_TEST

static void *post_after_10ms(void *p)
{
	usleep(10000);
	sem_post(p);
	return NULL;
}

START_TEST(sem_timedwait_times_out_or_takes_a_unit_posted_in_time)
{
	weft__green_set(true);
	sem_t s;
	pthread_t tick = tl_pthread(ticker, NULL, NULL);

	ck_assert_int_eq(sem_init(&s, 0, 0), 0);
	ck_assert_int_eq(sem_trywait(&s), -1);
	ck_assert_int_eq(errno, EAGAIN);
	struct timespec soon = after_ms(CLOCK_REALTIME, 20);
	int64_t t0 = mono_ns();
	int before = ticks;
	ck_assert_int_eq(sem_timedwait(&s, &soon), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(mono_ns() - t0, 19 * MS);
	ck_assert_int_gt(ticks, before);
	ck_assert_int_eq(sem_timedwait(&s, &bad_nsec), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &soon), -1);
	ck_assert_int_eq(errno, EINVAL);
	pthread_t t = tl_pthread(post_after_10ms, &s, NULL);
	struct timespec later = after_ms(CLOCK_MONOTONIC, 5000);
	ck_assert_int_eq(sem_clockwait(&s, CLOCK_MONOTONIC, &later), 0);
	tl_pthread_join(t);
	stop_ticking = 1;
	tl_pthread_join(tick);
}
END_TEST

START_TEST(sem_value_limits_are_glibc_s)
{
	weft__green_set(true);
	sem_t s;

	ck_assert_int_eq(sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sem_init(&s, 0, SEM_VALUE_MAX), 0);
	ck_assert_int_eq(sem_post(&s), -1);
	ck_assert_int_eq(errno, EOVERFLOW);
}
END_TEST

START_TEST(process_shared_sem_stays_glibc_s_across_fork)
{
	weft__green_set(true);
	sem_t *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(s, MAP_FAILED);
	ck_assert_int_eq(sem_init(s, 1, 0), 0);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(10000);
		_exit(sem_post(s) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(sem_wait(s), 0);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
}
END_TEST

/* ---- differential: the same calls, glibc's and green ---------------------- */

/* One record per call: what it returned, and errno after it. */
struct record {
	int n;
	int step[160][2];
};

static void note(struct record *r, int rc)
{
	if (r->n < 160) {
		r->step[r->n][0] = rc;
		r->step[r->n][1] = errno;
	}
	r->n++;
	errno = 0;
}

static int once_runs;

static void count_once(void)
{
	once_runs++;
}

static void *thread_calls(void *p)
{
	struct record *r = p;
	char small[8];
	sigset_t set;

	sigemptyset(&set);
#ifndef __SANITIZE_THREAD__ /* TSan then forgets the thread, and its join */
	note(r, pthread_join(pthread_self(), NULL));
#endif
	note(r, pthread_kill(pthread_self(), 0));
	note(r, pthread_sigmask(99, &set, NULL));
	note(r, pthread_setname_np(pthread_self(), "sixteen-bytes-xx"));
	note(r, pthread_getname_np(pthread_self(), small, sizeof small));
	note(r, pthread_setname_np(pthread_self(), "short"));
	char name[16];
	note(r, pthread_getname_np(pthread_self(), name, sizeof name));
	note(r, strcmp(name, "short"));
	note(r, sched_yield());
	return (void *)7;
}

/* A sequence whose every result is fixed, whoever runs it. */
static void sequence(struct record *r)
{
	pthread_mutex_t normal = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_t check = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
	pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	pthread_mutex_t m;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER, mc;
	pthread_condattr_t ca;
	pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
	pthread_spinlock_t spin;
	pthread_barrier_t b;
	pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_key_t k;
	sem_t s;
	int v = -1;
	struct timespec past = after_ms(CLOCK_REALTIME, -1000);
	struct timespec mpast = after_ms(CLOCK_MONOTONIC, -1000);
	struct timespec later = after_ms(CLOCK_REALTIME, 5000);
	void *res = NULL;

	errno = 0;
	note(r, pthread_mutex_lock(&normal));
	note(r, pthread_mutex_trylock(&normal));
	note(r, pthread_mutex_timedlock(&normal, &past));
	note(r, pthread_mutex_timedlock(&normal, &bad_nsec));
	note(r, pthread_mutex_clocklock(&normal, CLOCK_PROCESS_CPUTIME_ID, &past));
	note(r, pthread_mutex_unlock(&normal));
	note(r, pthread_mutex_timedlock(&normal, &bad_nsec));
	note(r, pthread_mutex_unlock(&normal));

	note(r, pthread_mutex_lock(&check));
	note(r, pthread_mutex_lock(&check));
	note(r, pthread_mutex_trylock(&check));
	note(r, pthread_mutex_timedlock(&check, &past));
	note(r, pthread_mutex_unlock(&check));
	note(r, pthread_mutex_unlock(&check));

	note(r, pthread_mutex_lock(&rec));
	note(r, pthread_mutex_lock(&rec));
	note(r, pthread_mutex_trylock(&rec));
	for (int i = 0; i < 4; i++)
		note(r, pthread_mutex_unlock(&rec));

	note(r, pthread_mutex_init(&m, NULL));
	note(r, pthread_mutex_lock(&m));
	note(r, pthread_mutex_destroy(&m));
	note(r, pthread_mutex_unlock(&m));
	note(r, pthread_mutex_destroy(&m));
	note(r, pthread_mutex_lock(&m));
	note(r, pthread_mutex_init(&m, NULL));

	note(r, pthread_mutex_lock(&normal));
	note(r, pthread_cond_timedwait(&c, &normal, &past));
	note(r, pthread_mutex_trylock(&normal));
	note(r, pthread_cond_timedwait(&c, &normal, &bad_nsec));
	note(r, pthread_cond_clockwait(&c, &normal, CLOCK_PROCESS_CPUTIME_ID,
				       &past));
	note(r, pthread_cond_clockwait(&c, &normal, CLOCK_MONOTONIC, &mpast));
	note(r, pthread_mutex_unlock(&normal));
	note(r, pthread_cond_timedwait(&c, &check, &past));
	note(r, pthread_condattr_init(&ca));
	note(r, pthread_condattr_setclock(&ca, CLOCK_MONOTONIC));
	note(r, pthread_cond_init(&mc, &ca));
	note(r, pthread_mutex_lock(&normal));
	note(r, pthread_cond_timedwait(&mc, &normal, &mpast));
	note(r, pthread_mutex_unlock(&normal));
	note(r, pthread_cond_signal(&c));
	note(r, pthread_cond_broadcast(&c));
	note(r, pthread_cond_destroy(&mc));

	note(r, pthread_rwlock_rdlock(&rw));
	note(r, pthread_rwlock_rdlock(&rw));
	note(r, pthread_rwlock_tryrdlock(&rw));
	note(r, pthread_rwlock_trywrlock(&rw));
	note(r, pthread_rwlock_timedwrlock(&rw, &past));
	note(r, pthread_rwlock_timedwrlock(&rw, &bad_nsec));
	for (int i = 0; i < 3; i++)
		note(r, pthread_rwlock_unlock(&rw));
	note(r, pthread_rwlock_wrlock(&rw));
	note(r, pthread_rwlock_rdlock(&rw));
	note(r, pthread_rwlock_wrlock(&rw));
	note(r, pthread_rwlock_tryrdlock(&rw));
	note(r, pthread_rwlock_trywrlock(&rw));
	note(r, pthread_rwlock_timedrdlock(&rw, &past));
	note(r, pthread_rwlock_clockrdlock(&rw, CLOCK_PROCESS_CPUTIME_ID, &past));
	note(r, pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &bad_nsec));
	note(r, pthread_rwlock_unlock(&rw));
	note(r, pthread_rwlock_destroy(&rw));

	note(r, pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE));
	note(r, pthread_spin_lock(&spin));
	note(r, pthread_spin_trylock(&spin));
	note(r, pthread_spin_unlock(&spin));
	note(r, pthread_spin_trylock(&spin));
	note(r, pthread_spin_unlock(&spin));
	note(r, pthread_spin_destroy(&spin));

	note(r, pthread_barrier_init(&b, NULL, 0));
	note(r, pthread_barrier_init(&b, NULL, 1));
	note(r, pthread_barrier_wait(&b));
	note(r, pthread_barrier_wait(&b));
	note(r, pthread_barrier_destroy(&b));

	note(r, sem_init(&s, 0, 2));
	note(r, sem_trywait(&s));
	note(r, sem_wait(&s));
	note(r, sem_trywait(&s));
	note(r, sem_getvalue(&s, &v));
	note(r, v);
	note(r, sem_timedwait(&s, &past));
	note(r, sem_timedwait(&s, &bad_nsec));
	note(r, sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &past));
	note(r, sem_post(&s));
	note(r, sem_timedwait(&s, &bad_nsec));
	note(r, sem_timedwait(&s, &later));
	note(r, sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1));
	note(r, sem_init(&s, 0, SEM_VALUE_MAX));
	note(r, sem_post(&s));
	note(r, sem_destroy(&s));

	note(r, pthread_once(&once, count_once));
	note(r, pthread_once(&once, count_once));
	note(r, once_runs);
	note(r, pthread_key_create(&k, NULL));
	note(r, pthread_getspecific(k) == NULL);
	note(r, pthread_setspecific(k, &k));
	note(r, pthread_getspecific(k) == &k);
	note(r, pthread_key_delete(k));
	note(r, pthread_key_delete(k));
	note(r, pthread_setspecific(k, &k));

	/* The thread keeps its own record: a real one runs alongside. */
	struct record mine = { 0 };
	pthread_t t;
	note(r, pthread_create(&t, NULL, thread_calls, &mine));
	note(r, pthread_timedjoin_np(t, &res, &later));
	note(r, (int)(intptr_t)res);
	for (int i = 0; i < mine.n && i < 160; i++) {
		errno = mine.step[i][1];
		note(r, mine.step[i][0]);
	}
	note(r, pthread_join(pthread_self(), NULL));
	note(r, pthread_equal(pthread_self(), pthread_self()));
}

static void peer(void *unused)
{
	(void)unused;
	for (int i = 0; i < 1000; i++)
		weft_sleep(1 * MS);
}

/* Runs sequence in a child process, plain or green with a peer coroutine
 * so that waits park; returns what it recorded. */
static struct record run_in_child(bool green)
{
	struct record r = { 0 };
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		if (green) {
			weft__green_set(true);
			weft_go(peer, NULL);
		}
		sequence(&r);
		_exit(write(fds[1], &r, sizeof r) == sizeof r ? 0 : 1);
	}
	close(fds[1]);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof r &&
	       (n = read(fds[0], (char *)&r + got, sizeof r - got)) > 0)
		got += (size_t)n;
	close(fds[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(status, 0);
	ck_assert_uint_eq(got, sizeof r);
	return r;
}

START_TEST(green_calls_return_what_glibc_returns)
{
	struct record plain = run_in_child(false);
	struct record green = run_in_child(true);

	ck_assert_int_eq(plain.n, green.n);
	ck_assert_int_le(plain.n, 160);
	for (int i = 0; i < plain.n; i++)
		ck_assert_msg(plain.step[i][0] == green.step[i][0] &&
			      plain.step[i][1] == green.step[i][1],
			      "step %d: glibc gave %d (errno %d), green %d "
			      "(errno %d)", i, plain.step[i][0],
			      plain.step[i][1], green.step[i][0],
			      green.step[i][1]);
}
END_TEST

Suite *suite_green_sync(void)
{
	Suite *s = suite_create("green_sync");
	TCase *tc;

	tc = tcase_create("mutex");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, static_initialisers_work_in_place_for_all_three_kinds);
	tcase_add_test(tc, a_lock_held_across_a_blocking_call_parks_the_others);
	tcase_add_test(tc, timedlock_and_clocklock_time_out_or_succeed);
	tcase_add_test(tc, mutex_attr_types_are_honoured);
	tcase_add_test(tc, a_destroyed_mutex_is_busy_while_held_and_invalid_after);
	tcase_add_test(tc, process_shared_and_robust_mutexes_stay_glibc_s);
	tcase_add_test(tc, with_green_threads_off_a_mutex_is_glibc_s);
	tcase_add_test(tc, a_real_thread_without_a_scheduler_locks_green_mutexes_too);
	tcase_add_test(tc, the_scheduler_loop_locks_green_mutexes_without_parking);
	suite_add_tcase(s, tc);

	tc = tcase_create("cond");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, cond_timedwait_on_a_monotonic_condattr_times_out_with_the_mutex_held);
	tcase_add_test(tc, cond_broadcast_wakes_every_waiter_and_signal_one);
	tcase_add_test(tc, cond_timedwait_returns_0_when_signalled_in_time);
	suite_add_tcase(s, tc);

	tc = tcase_create("rwlock");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, rwlock_readers_share_it_while_a_writer_waits);
	tcase_add_test(tc, rwlock_writers_exclude_everyone);
	tcase_add_test(tc, rwlock_timed_and_try_variants);
	tcase_add_test(tc, rwlock_that_prefers_writers_holds_new_readers_back);
	tcase_add_test(tc, process_shared_rwlock_stays_glibc_s);
	suite_add_tcase(s, tc);

	tc = tcase_create("spin and barrier");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, spin_lock_waits_without_deadlock_while_the_holder_parks);
	tcase_add_test(tc, barrier_of_5_lets_all_through_together_with_one_serial);
	tcase_add_test(tc, barrier_init_and_destroy_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("sem");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, sem_producers_and_consumers_pass_every_unit);
	tcase_add_test(tc, sem_timedwait_times_out_or_takes_a_unit_posted_in_time);
	tcase_add_test(tc, sem_value_limits_are_glibc_s);
	tcase_add_test(tc, process_shared_sem_stays_glibc_s_across_fork);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, green_calls_return_what_glibc_returns);
	suite_add_tcase(s, tc);
	return s;
}
