/* test_pshared.c - process-shared mutexes, condition variables, rwlocks,
 * semaphores and barriers: a contended wait parks while the others run,
 * with glibc's results, and any number of coroutines wait at once. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "offload.h"
#include "real.h"
#include "weft.h"
#include "testlib.h"

/* What parent and child share. */
struct shared {
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	pthread_rwlock_t rwlock;
	pthread_barrier_t barrier;
	sem_t sem;
	int flag;
};

static struct shared *shared_new(int mutex_type, bool robust)
{
	struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_settype(&ma, mutex_type);
	if (robust)
		pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	ck_assert_int_eq(pthread_mutex_init(&sh->mutex, &ma), 0);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	ck_assert_int_eq(pthread_cond_init(&sh->cond, &ca), 0);
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setpshared(&ra, PTHREAD_PROCESS_SHARED);
	ck_assert_int_eq(pthread_rwlock_init(&sh->rwlock, &ra), 0);
	pthread_barrierattr_t ba;
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	ck_assert_int_eq(pthread_barrier_init(&sh->barrier, &ba, 2), 0);
	ck_assert_int_eq(sem_init(&sh->sem, 1, 0), 0);
	return sh;
}

/* What a child does with the shared objects. */
enum act { HOLD_MUTEX, DIE_HOLDING_MUTEX, SIGNAL_COND, HOLD_WRLOCK,
	   HOLD_RDLOCK, POST_SEM, WAIT_BARRIER };

/* What child() tells its child to do. */
struct act_job {
	struct shared *sh;
	enum act act;
	int ms;
	int units;   /* POST_SEM: how many to post */
};

/* A child's body (tl_fork_ready): does the act, closes ready once it
 * holds what it takes, holds it for ms and gives it back; 0 if every
 * call succeeded. */
static int act_child(void *arg, int ready)
{
	const struct act_job *j = arg;
	struct shared *sh = j->sh;
	const struct weft__real *libc = weft__libc();
	int r = 0;

	switch (j->act) {
	case HOLD_MUTEX:
	case DIE_HOLDING_MUTEX:
		r = libc->pthread_mutex_lock(&sh->mutex);
		break;
	case HOLD_WRLOCK:
		r = libc->pthread_rwlock_wrlock(&sh->rwlock);
		break;
	case HOLD_RDLOCK:
		r = libc->pthread_rwlock_rdlock(&sh->rwlock);
		break;
	default:
		break;
	}
	close(ready);
	tl_raw_sleep_ms(j->ms);
	switch (j->act) {
	case HOLD_MUTEX:
		r |= libc->pthread_mutex_unlock(&sh->mutex);
		break;
	case DIE_HOLDING_MUTEX:
		return r;
	case SIGNAL_COND:
		r |= libc->pthread_mutex_lock(&sh->mutex);
		sh->flag = 1;
		r |= libc->pthread_cond_signal(&sh->cond);
		r |= libc->pthread_mutex_unlock(&sh->mutex);
		break;
	case HOLD_WRLOCK:
	case HOLD_RDLOCK:
		r |= libc->pthread_rwlock_unlock(&sh->rwlock);
		break;
	case POST_SEM:
		for (int i = 0; i < j->units; i++)
			r |= libc->sem_post(&sh->sem);
		break;
	case WAIT_BARRIER:
		r = libc->pthread_barrier_wait(&sh->barrier);
		r = r == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : r;
		break;
	}
	return r != 0;
}

/* Forks a child that does act (holding what it takes for ms), says it
 * holds it by closing its end of a pipe, and exits.  Returns once the
 * child holds it (at once for the acts that only give). */
static pid_t child(struct shared *sh, enum act act, int ms)
{
	struct act_job j = { .sh = sh, .act = act, .ms = ms, .units = 1 };

	return tl_fork_ready(act_child, &j);
}

static struct timespec in_ms(clockid_t clock, int ms)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_nsec += (long)ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

/* ---- mutexes ---- */

START_TEST(mutex_lock_parks_while_another_process_holds_it)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_ERRORCHECK, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, HOLD_MUTEX, 100);
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	/* The caller owns it, as glibc sees owners. */
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), EDEADLK);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), EPERM);
	tl_reaped_ok(pid);
}
END_TEST

START_TEST(mutex_lock_that_is_free_takes_it_at_once)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_RECURSIVE, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), 0);
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	ck_assert_int_eq(t.ticks, 0);
	ck_assert_int_eq(tl_thread_count(), 1);
	t.stop = 1;
}
END_TEST

START_TEST(robust_mutex_of_a_dead_owner_gives_EOWNERDEAD_after_parking)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, true);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, DIE_HOLDING_MUTEX, 100);
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), EOWNERDEAD);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(pthread_mutex_consistent(&sh->mutex), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	tl_reaped_ok(pid);
	/* It was left with its waiters bit; another process still takes
	 * and gives it. */
	pid = child(sh, HOLD_MUTEX, 10);
	tl_reaped_ok(pid);
	ck_assert_int_eq(pthread_mutex_trylock(&sh->mutex), 0);
}
END_TEST

START_TEST(mutex_timedlock_times_out_while_held_and_keeps_glibcs_errors)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, HOLD_MUTEX, 400);
	struct timespec abs = in_ms(CLOCK_REALTIME, 50);
	ck_assert_int_eq(pthread_mutex_timedlock(&sh->mutex, &abs), ETIMEDOUT);
	ck_assert_int_gt(t.ticks, 0);
	abs = in_ms(CLOCK_MONOTONIC, 50);
	ck_assert_int_eq(pthread_mutex_clocklock(&sh->mutex, CLOCK_MONOTONIC,
						 &abs), ETIMEDOUT);
	struct timespec bad = { .tv_sec = 0, .tv_nsec = 2000000000 };
	int r = pthread_mutex_timedlock(&sh->mutex, &bad);
	ck_assert_int_eq(r, EINVAL);
	ck_assert_int_eq(weft__libc()->pthread_mutex_clocklock(
				 &sh->mutex, CLOCK_PROCESS_CPUTIME_ID, &abs),
			 pthread_mutex_clocklock(&sh->mutex,
						 CLOCK_PROCESS_CPUTIME_ID,
						 &abs));
	abs = in_ms(CLOCK_REALTIME, 5000);
	ck_assert_int_eq(pthread_mutex_timedlock(&sh->mutex, &abs), 0);
	t.stop = 1;
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	tl_reaped_ok(pid);
}
END_TEST

START_TEST(mutex_lock_alone_and_outside_a_coroutine_blocks_for_real)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, false);

	pid_t pid = child(sh, HOLD_MUTEX, 50);
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), 0);
	ck_assert_ptr_null(weft__running);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	tl_reaped_ok(pid);
	weft_self();
	pid = child(sh, HOLD_MUTEX, 50);
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	ck_assert_int_eq(tl_thread_count(), 1);
	tl_reaped_ok(pid);
}
END_TEST

/* ---- condition variables ---- */

START_TEST(cond_wait_parks_until_another_process_signals)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_ERRORCHECK, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, SIGNAL_COND, 100);
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), 0);
	while (!sh->flag)
		ck_assert_int_eq(pthread_cond_wait(&sh->cond, &sh->mutex), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	/* The mutex is the caller's again. */
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), EDEADLK);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	tl_reaped_ok(pid);
}
END_TEST

START_TEST(cond_timedwait_times_out_with_the_mutex_held_again)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_ERRORCHECK, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), 0);
	struct timespec abs = in_ms(CLOCK_REALTIME, 50);
	/* One wait, to the deadline, as glibc's: no early wake-up. */
	ck_assert_int_eq(pthread_cond_timedwait(&sh->cond, &sh->mutex, &abs),
			 ETIMEDOUT);
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	/* Not held: glibc's EPERM, with no wait. */
	ck_assert_int_eq(pthread_cond_wait(&sh->cond, &sh->mutex), EPERM);
	struct timespec bad = { .tv_sec = 0, .tv_nsec = -1 };
	ck_assert_int_eq(pthread_mutex_lock(&sh->mutex), 0);
	ck_assert_int_eq(pthread_cond_timedwait(&sh->cond, &sh->mutex, &bad),
			 EINVAL);
	ck_assert_int_eq(pthread_mutex_unlock(&sh->mutex), 0);
	t.stop = 1;
}
END_TEST

/* ---- rwlocks ---- */

START_TEST(rwlock_rdlock_parks_while_another_process_writes)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, HOLD_WRLOCK, 100);
	ck_assert_int_eq(pthread_rwlock_rdlock(&sh->rwlock), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(pthread_rwlock_unlock(&sh->rwlock), 0);
	tl_reaped_ok(pid);
	ck_assert_int_eq(pthread_rwlock_trywrlock(&sh->rwlock), 0);
	ck_assert_int_eq(pthread_rwlock_unlock(&sh->rwlock), 0);
}
END_TEST

START_TEST(rwlock_wrlock_parks_while_another_process_reads)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, HOLD_RDLOCK, 100);
	ck_assert_int_eq(pthread_rwlock_wrlock(&sh->rwlock), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	/* A writer, as glibc sees writers. */
	ck_assert_int_eq(pthread_rwlock_wrlock(&sh->rwlock), EDEADLK);
	ck_assert_int_eq(pthread_rwlock_rdlock(&sh->rwlock), EDEADLK);
	ck_assert_int_eq(pthread_rwlock_unlock(&sh->rwlock), 0);
	tl_reaped_ok(pid);
	ck_assert_int_eq(pthread_rwlock_trywrlock(&sh->rwlock), 0);
	ck_assert_int_eq(pthread_rwlock_unlock(&sh->rwlock), 0);
}
END_TEST

START_TEST(rwlock_timedwrlock_times_out_while_read)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, HOLD_RDLOCK, 400);
	struct timespec abs = in_ms(CLOCK_REALTIME, 50);
	ck_assert_int_eq(pthread_rwlock_timedwrlock(&sh->rwlock, &abs),
			 ETIMEDOUT);
	ck_assert_int_gt(t.ticks, 0);
	struct timespec bad = { .tv_sec = 0, .tv_nsec = 1000000000 };
	ck_assert_int_eq(pthread_rwlock_timedwrlock(&sh->rwlock, &bad),
			 EINVAL);
	t.stop = 1;
	tl_reaped_ok(pid);
}
END_TEST

/* ---- semaphores ---- */

START_TEST(sem_wait_parks_until_another_process_posts)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, POST_SEM, 100);
	ck_assert_int_eq(sem_wait(&sh->sem), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	errno = 0;
	ck_assert_int_eq(sem_trywait(&sh->sem), -1);
	ck_assert_int_eq(errno, EAGAIN);
	tl_reaped_ok(pid);
}
END_TEST

START_TEST(sem_timedwait_times_out_and_keeps_glibcs_errors)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	struct timespec abs = in_ms(CLOCK_REALTIME, 50);
	errno = 0;
	ck_assert_int_eq(sem_timedwait(&sh->sem, &abs), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_gt(t.ticks, 0);
	abs = in_ms(CLOCK_MONOTONIC, 20);
	errno = 0;
	ck_assert_int_eq(sem_clockwait(&sh->sem, CLOCK_MONOTONIC, &abs), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(((const uint32_t *)&sh->sem)[1], 0); /* no waiter */
	struct timespec bad = { .tv_sec = 0, .tv_nsec = -5 };
	errno = 0;
	ck_assert_int_eq(sem_timedwait(&sh->sem, &bad), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(sem_clockwait(&sh->sem, CLOCK_PROCESS_CPUTIME_ID,
				       &abs), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* A unit there is taken at once, without the pool. */
	ck_assert_int_eq(sem_post(&sh->sem), 0);
	ck_assert_int_eq(sem_wait(&sh->sem), 0);
	t.stop = 1;
}
END_TEST

START_TEST(named_sem_wait_parks_until_another_process_posts)
{
	char name[64];
	struct tl_ticker t = { 0 };

	snprintf(name, sizeof name, "/weft-test-%d", (int)getpid());
	sem_unlink(name);
	sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
	ck_assert_ptr_ne(s, SEM_FAILED);
	sem_unlink(name);
	weft_go(tl_tick_first, &t);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		weft__sched_forget();
		tl_raw_sleep_ms(100);
		_exit(weft__libc()->sem_post(s) != 0);
	}
	ck_assert_int_eq(sem_wait(s), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	tl_reaped_ok(pid);
	sem_close(s);
}
END_TEST

/* ---- barriers ---- */

START_TEST(barrier_wait_parks_until_another_process_comes)
{
	struct shared *sh = shared_new(PTHREAD_MUTEX_NORMAL, false);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = child(sh, WAIT_BARRIER, 100);
	int r = pthread_barrier_wait(&sh->barrier);
	t.stop = 1;
	ck_assert(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
	ck_assert_int_gt(t.ticks, 0);
	tl_reaped_ok(pid);
}
END_TEST

/* ---- many waits at once ---- */

/* More than the offload pool's threads and a futex_waitv watcher's words
 * (core/waitv.c), waiting on the object of sh that act names. */
#define MANY (WEFT__OFFLOAD_DEFAULT + 40)

struct many {
	struct shared *sh;
	enum act act;
	int inside;          /* holders of the mutex */
	atomic_int waiting;  /* in the condition wait */
};

static void *one_of_many(void *arg)
{
	struct many *m = arg;
	struct shared *sh = m->sh;
	int r;

	if (m->act == HOLD_MUTEX) {
		r = pthread_mutex_lock(&sh->mutex);
		ck_assert_int_eq(m->inside++, 0);
		weft_yield(); /* the others try meanwhile */
		m->inside--;
		r |= pthread_mutex_unlock(&sh->mutex);
	} else if (m->act == HOLD_WRLOCK) {
		r = pthread_rwlock_rdlock(&sh->rwlock) |
		    pthread_rwlock_unlock(&sh->rwlock);
	} else if (m->act == POST_SEM) {
		r = sem_wait(&sh->sem);
	} else if (m->act == WAIT_BARRIER) {
		r = pthread_barrier_wait(&sh->barrier);
		r = r == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : r;
	} else {
		r = pthread_mutex_lock(&sh->mutex);
		atomic_fetch_add(&m->waiting, 1);
		while (r == 0 && !sh->flag)
			r = pthread_cond_wait(&sh->cond, &sh->mutex);
		r |= pthread_mutex_unlock(&sh->mutex);
	}
	ck_assert_int_eq(r, 0);
	return NULL;
}

/* The other side: another process holds the object for 100 ms, posts
 * MANY units or comes to the barrier last; or the signaller, once all
 * wait (counted, mutex held, then parked), waits on the offload pool and
 * for another process's unit, then broadcasts.  Returns a child to reap. */
static pid_t other_side(struct many *m)
{
	struct act_job j = { m->sh, m->act, 100, MANY }; /* ms, units */

	if (m->act != SIGNAL_COND)
		return tl_fork_ready(act_child, &j);
	while (atomic_load(&m->waiting) < MANY)
		weft_yield();
	pid_t pid = child(m->sh, POST_SEM, 50);
	ck_assert_int_eq(weft__offload(tl_note_run, &(int){ 0 }), 0);
	ck_assert_int_eq(sem_wait(&m->sh->sem), 0);
	ck_assert_int_eq(pthread_mutex_lock(&m->sh->mutex), 0);
	m->sh->flag = 1;
	ck_assert_int_eq(pthread_cond_broadcast(&m->sh->cond), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&m->sh->mutex), 0);
	return pid;
}

static const enum act many_acts[] = { SIGNAL_COND, HOLD_MUTEX, HOLD_WRLOCK,
				      POST_SEM, WAIT_BARRIER };

/* However many wait (on a thread each, or sharing watchers), all end,
 * the others and the offload pool free meanwhile, objects left as found. */
START_TEST(waits_of_many_coroutines_at_once_all_end)
{
	struct many m = { .sh = shared_new(PTHREAD_MUTEX_NORMAL, false),
			  .act = many_acts[_i] };
	struct tl_ticker t = { 0 };
	weft_co *co[MANY];
	pthread_barrierattr_t ba;

	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	ck_assert_int_eq(pthread_barrier_destroy(&m.sh->barrier), 0);
	ck_assert(pthread_barrier_init(&m.sh->barrier, &ba, MANY + 1) == 0);
	weft_go(tl_tick_first, &t);
	for (int i = 0; i < MANY; i++)
		ck_assert_ptr_nonnull(co[i] = weft_spawn(one_of_many, &m, 0));
	pid_t pid = other_side(&m);
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(weft_join(co[i], NULL), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	tl_reaped_ok(pid);
	/* Free, no unit left, no waiter in glibc's count (the high half). */
	ck_assert_int_eq(pthread_mutex_trylock(&m.sh->mutex), 0);
	ck_assert_int_eq(pthread_rwlock_trywrlock(&m.sh->rwlock), 0);
	ck_assert_int_eq(sem_trywait(&m.sh->sem), -1);
	ck_assert_int_eq(((const uint32_t *)&m.sh->sem)[1], 0);
}
END_TEST

Suite *suite_pshared(void)
{
	Suite *s = suite_create("pshared");
	TCase *tc;

	tc = tcase_create("mutex");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, mutex_lock_parks_while_another_process_holds_it);
	tcase_add_test(tc, mutex_lock_that_is_free_takes_it_at_once);
	tcase_add_test(tc,
		robust_mutex_of_a_dead_owner_gives_EOWNERDEAD_after_parking);
	tcase_add_test(tc,
		mutex_timedlock_times_out_while_held_and_keeps_glibcs_errors);
	tcase_add_test(tc,
		mutex_lock_alone_and_outside_a_coroutine_blocks_for_real);
	suite_add_tcase(s, tc);

	tc = tcase_create("cond");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, cond_wait_parks_until_another_process_signals);
	tcase_add_test(tc, cond_timedwait_times_out_with_the_mutex_held_again);
	suite_add_tcase(s, tc);

	tc = tcase_create("rwlock");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, rwlock_rdlock_parks_while_another_process_writes);
	tcase_add_test(tc, rwlock_wrlock_parks_while_another_process_reads);
	tcase_add_test(tc, rwlock_timedwrlock_times_out_while_read);
	suite_add_tcase(s, tc);

	tc = tcase_create("sem");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, sem_wait_parks_until_another_process_posts);
	tcase_add_test(tc, sem_timedwait_times_out_and_keeps_glibcs_errors);
	tcase_add_test(tc, named_sem_wait_parks_until_another_process_posts);
	suite_add_tcase(s, tc);

	tc = tcase_create("barrier");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, barrier_wait_parks_until_another_process_comes);
	suite_add_tcase(s, tc);

	tc = tcase_create("many");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, waits_of_many_coroutines_at_once_all_end, 0,
			    sizeof many_acts / sizeof many_acts[0]);
	suite_add_tcase(s, tc);
	return s;
}
