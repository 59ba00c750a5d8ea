/* test_cancel.c - pthread_cancel and pthread_exit of green threads, each
 * test run natively (loop 0: real threads) and with green threads (loop
 * 1), expecting the same: a cancel reaches a thread parked at a
 * cancellation point, cleanup handlers run in order (with the mutex of a
 * condition wait taken again), frames unwind (this file is built with
 * -fexceptions, so a cleanup attribute runs as a C++ destructor would),
 * the joiner gets PTHREAD_CANCELED, and the cancel state and type are
 * honoured.  Without thread blocks (tcb.h) green threads end without
 * unwinding: the tests that need it say so and stop there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

static struct tl_trace trace;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

/* A cleanup handler: notes x in the trace (from any thread). */
static void note(void *x)
{
	pthread_mutex_lock(&trace_lock);
	tl_trace_add(&trace, (int)(intptr_t)x);
	pthread_mutex_unlock(&trace_lock);
}

static void note_scope(int *x)
{
	note((void *)(intptr_t)*x);
}

/* ---- pthread_exit ----------------------------------------------------- */

static void exit_deep(int depth)
{
	int here __attribute__((cleanup(note_scope))) = 100 + depth;

	if (depth < 0)
		return;
	if (depth > 0)
		exit_deep(depth - 1);
	else
		pthread_exit((void *)7);
}

static void *exits_from_below(void *unused)
{
	(void)unused;
	pthread_cleanup_push(note, (void *)1);
	pthread_cleanup_push(note, (void *)2);
	exit_deep(2);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

START_TEST(pthread_exit_unwinds_through_handlers_and_frames)
{
	if (!tl_cancel_mode(_i))
		return;
	pthread_t t = tl_pthread(exits_from_below, NULL, NULL);

	ck_assert_ptr_eq(tl_pthread_join(t), (void *)7);
	if (!tl_unwinds(_i))
		return;
	int want[] = { 100, 101, 102, 2, 1 };
	ck_assert_int_eq(trace.n, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(trace.v[i], want[i]);
}
END_TEST

/* ---- cancellation points, parked ------------------------------------- */

enum point { READ, ACCEPT, SLEEP, NANOSLEEP, POLL, SELECT, SEM, JOIN,
	     RECV, WRITE, POINTS };

struct parked {
	enum point what;
	int fd;                   /* READ, ACCEPT, RECV, WRITE */
	sem_t *sem;               /* SEM */
	pthread_t other;          /* JOIN */
	_Atomic bool ready;
};

static void *park_at(void *p)
{
	struct parked *a = p;
	char buf[64] = { 0 };
	struct pollfd pfd = { .fd = -1 };

	pthread_cleanup_push(note, (void *)(intptr_t)(10 + a->what));
	atomic_store(&a->ready, true);
	switch (a->what) {
	case READ:
		read(a->fd, buf, sizeof buf);
		break;
	case ACCEPT:
		accept(a->fd, NULL, NULL);
		break;
	case SLEEP:
		sleep(30);
		break;
	case NANOSLEEP:
		nanosleep(&(struct timespec){ .tv_sec = 30 }, NULL);
		break;
	case POLL:
		poll(&pfd, 1, -1);
		break;
	case SELECT:
		select(0, NULL, NULL, NULL, NULL);
		break;
	case SEM:
		sem_wait(a->sem);
		break;
	case JOIN:
		pthread_join(a->other, NULL);
		break;
	case RECV:
		recv(a->fd, buf, sizeof buf, 0);
		break;
	case WRITE:
		for (;;)
			write(a->fd, buf, sizeof buf);
		break;
	case POINTS:
		break;
	}
	pthread_cleanup_pop(0);
	return (void *)1; /* only if the cancel was lost */
}

/* Parks a thread at each cancellation point, cancels each, and checks
 * that each ended through its handler. */
START_TEST(a_cancel_ends_a_thread_parked_at_a_cancellation_point)
{
	struct parked p[POINTS];
	pthread_t t[POINTS];
	int pipe_r[2], pipe_w[2], pair[2], full[2];
	sem_t sem;

	if (!tl_cancel_mode(_i))
		return;
	tl_make_pipe(pipe_r);
	tl_make_pipe(pipe_w);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	tl_make_full_socket(full);
	sem_init(&sem, 0, 0);
	int ls = tl_listener();
	pthread_t sleeper = tl_pthread(park_at, &(struct parked){ .what = SLEEP },
				       NULL);
	int fds[POINTS] = { [READ] = pipe_r[0], [ACCEPT] = ls,
			    [RECV] = pair[0], [WRITE] = full[0] };
	for (int i = 0; i < POINTS; i++) {
		p[i] = (struct parked){ .what = i, .fd = fds[i], .sem = &sem,
					.other = sleeper };
		t[i] = tl_pthread(park_at, &p[i], NULL);
	}
	for (int i = 0; i < POINTS; i++)
		while (!atomic_load(&p[i].ready))
			usleep(1000);
	usleep(20000); /* most are parked by now; the others act on entry */
	for (int i = 0; i < POINTS; i++)
		ck_assert_int_eq(pthread_cancel(t[i]), 0);
	for (int i = 0; i < POINTS; i++)
		ck_assert_ptr_eq(tl_pthread_join(t[i]), PTHREAD_CANCELED);
	ck_assert_int_eq(pthread_cancel(sleeper), 0);
	ck_assert_ptr_eq(tl_pthread_join(sleeper), PTHREAD_CANCELED);
	if (!tl_unwinds(_i))
		return;
	/* Each handler ran once: the sum of 10 + what, and the sleeper's. */
	int sum = 0;
	for (int i = 0; i < trace.n; i++)
		sum += trace.v[i];
	ck_assert_int_eq(trace.n, POINTS + 1);
	ck_assert_int_eq(sum, POINTS * 10 + POINTS * (POINTS - 1) / 2 +
				      10 + SLEEP);
	close(ls);
}
END_TEST

/* ---- a condition wait takes its mutex again ---------------------------- */

static pthread_mutex_t lock;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void unlock_noting(void *m)
{
	/* An error-checking mutex: unlocking says whether it was held. */
	note((void *)(intptr_t)(pthread_mutex_unlock(m) == 0 ? 1 : -1));
}

static void *cond_waiter(void *ready)
{
	pthread_mutex_lock(&lock);
	pthread_cleanup_push(unlock_noting, &lock);
	atomic_store((_Atomic bool *)ready, true);
	for (;;)
		pthread_cond_wait(&never, &lock);
	pthread_cleanup_pop(0);
	return NULL;
}

START_TEST(a_cancelled_condition_wait_holds_its_mutex_in_the_handler)
{
	pthread_mutexattr_t ma;
	_Atomic bool ready = false;

	if (!tl_cancel_mode(_i))
		return;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&lock, &ma);
	pthread_t t = tl_pthread(cond_waiter, &ready, NULL);
	while (!atomic_load(&ready))
		usleep(1000);
	pthread_mutex_lock(&lock); /* it waits, the mutex released */
	pthread_mutex_unlock(&lock);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	if (!tl_unwinds(_i))
		return;
	ck_assert_int_eq(trace.n, 1);
	ck_assert_int_eq(trace.v[0], 1);
	ck_assert_int_eq(pthread_mutex_trylock(&lock), 0);
}
END_TEST

/* ---- what is no cancellation point ------------------------------------ */

static void *takes_the_lock(void *step)
{
	pthread_mutex_lock(&lock); /* no cancellation point */
	*(int *)step = 1;
	pthread_mutex_unlock(&lock);
	pthread_testcancel();
	*(int *)step = 2;
	return NULL;
}

START_TEST(a_cancel_does_not_end_a_mutex_wait)
{
	int step = 0;

	if (!tl_cancel_mode(_i))
		return;
	pthread_mutex_init(&lock, NULL);
	pthread_mutex_lock(&lock);
	pthread_t t = tl_pthread(takes_the_lock, &step, NULL);
	usleep(20000);
	ck_assert_int_eq(pthread_cancel(t), 0);
	usleep(20000);
	ck_assert_int_eq(step, 0);
	pthread_mutex_unlock(&lock);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert_int_eq(step, 1);
}
END_TEST

/* ---- state and type ---------------------------------------------------- */

struct states {
	int step;
	int old_disable, old_enable; /* what each call said was before */
};

/* No Check assertion here: a passing one writes to Check's pipe, a
 * cancellation point. */
static void *disabled_then_enabled(void *p)
{
	struct states *st = p;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &st->old_disable);
	pthread_cancel(pthread_self());
	usleep(1000);         /* a cancellation point: disabled */
	st->step = 1;
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &st->old_enable);
	st->step = 2;         /* deferred: enabling does not act */
	usleep(1000);
	st->step = 3;
	return NULL;
}

START_TEST(a_disabled_cancel_waits_until_enabled)
{
	struct states st = { 0, -1, -1 };

	if (!tl_cancel_mode(_i))
		return;
	pthread_t t = tl_pthread(disabled_then_enabled, &st, NULL);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert_int_eq(st.step, 2);
	ck_assert_int_eq(st.old_disable, PTHREAD_CANCEL_ENABLE);
	ck_assert_int_eq(st.old_enable, PTHREAD_CANCEL_DISABLE);
}
END_TEST

static void *turns_asynchronous(void *step)
{
	int old = -1;

	pthread_cancel(pthread_self());
	*(int *)step = 1;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	*(int *)step = 2;
	return NULL;
}

START_TEST(turning_asynchronous_acts_on_a_pending_cancel)
{
	int step = 0;

	if (!tl_cancel_mode(_i))
		return;
	pthread_t t = tl_pthread(turns_asynchronous, &step, NULL);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert_int_eq(step, 1);
}
END_TEST

static void *bad_arguments(void *unused)
{
	int old = -1;

	(void)unused;
	ck_assert_int_eq(pthread_setcancelstate(7, &old), EINVAL);
	ck_assert_int_eq(old, -1);
	ck_assert_int_eq(pthread_setcanceltype(7, &old), EINVAL);
	ck_assert_int_eq(pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL),
			 0);
	ck_assert_int_eq(pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old),
			 0);
	ck_assert_int_eq(old, PTHREAD_CANCEL_DEFERRED);
	return NULL;
}

START_TEST(bad_states_and_types_get_einval)
{
	if (!tl_cancel_mode(_i))
		return;
	pthread_t t = tl_pthread(bad_arguments, NULL, NULL);

	ck_assert_ptr_eq(tl_pthread_join(t), NULL);
}
END_TEST

static void *returns_at_once(void *unused)
{
	(void)unused;
	return (void *)3;
}

/* A cancel of a thread that has returned is no error, and one that meets
 * the thread as it returns does not act: its function has ended, and what
 * runs after (its end, the wake of its joiner) is no cancellation point. */
START_TEST(cancelling_an_ended_thread_is_no_error)
{
	if (!tl_cancel_mode(_i))
		return;
	pthread_t t = tl_pthread(returns_at_once, NULL, NULL);

	usleep(20000);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), (void *)3);
	for (int i = 0; i < 200; i++) {
		t = tl_pthread(returns_at_once, NULL, NULL);
		ck_assert_int_eq(pthread_cancel(t), 0);
		void *r = tl_pthread_join(t);
		ck_assert(r == (void *)3 || r == PTHREAD_CANCELED);
	}
}
END_TEST

static sem_t posted;
static _Atomic bool post_now;
static _Atomic pid_t poster_tid;

/* Spins (yielding) until told, then lets the waker park, posts, notes 2
 * and meets a cancellation point, with handler 1 pushed throughout. */
static void *posts_with_a_cancel_pending(void *unused)
{
	(void)unused;
	pthread_cleanup_push(note, (void *)1);
	atomic_store(&poster_tid, (pid_t)syscall(SYS_gettid));
	while (!atomic_load(&post_now))
		sched_yield();
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do /* no cancellation point: the main thread parks meanwhile */
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec <
	       5000000L);
	sem_post(&posted);
	note((void *)2);
	pthread_testcancel();
	pthread_cleanup_pop(0);
	return NULL;
}

/* A thread with a cancel pending that wakes a thread parked on another OS
 * thread (sem_post, no cancellation point) goes on to its next
 * cancellation point: weft's wake of the other scheduler is no place for
 * glibc to act on the cancel either. */
START_TEST(waking_another_scheduler_is_no_cancellation_point)
{
	if (!tl_cancel_mode(_i) || !tl_unwinds(_i))
		return;
	bool across = false;

	for (int i = 0; i < 20 && !across; i++) {
		trace.n = 0;
		atomic_store(&post_now, false);
		atomic_store(&poster_tid, 0);
		ck_assert_int_eq(sem_init(&posted, 0, 0), 0);
		pthread_t t = tl_pthread(posts_with_a_cancel_pending, NULL,
					 NULL);
		while (atomic_load(&poster_tid) == 0)
			usleep(1000);
		across = atomic_load(&poster_tid) != syscall(SYS_gettid);
		ck_assert_int_eq(pthread_cancel(t), 0);
		atomic_store(&post_now, true);
		ck_assert_int_eq(sem_wait(&posted), 0);
		ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
		ck_assert_int_eq(trace.n, 2);
		ck_assert_int_eq(trace.v[0], 2);
		ck_assert_int_eq(trace.v[1], 1);
		sem_destroy(&posted);
	}
	ck_assert(across);
}
END_TEST

/* ---- many at once, on both schedulers ---------------------------------- */

static void *reads_for_ever(void *fd)
{
	char c;

	pthread_cleanup_push(note, (void *)1);
	read((int)(intptr_t)fd, &c, 1);
	pthread_cleanup_pop(0);
	return NULL;
}

START_TEST(many_parked_readers_are_cancelled)
{
	enum { N = 200 };
	pthread_t t[N];
	int p[2];

	if (!tl_cancel_mode(_i))
		return;
	tl_make_pipe(p);
	for (int i = 0; i < N; i++)
		t[i] = tl_pthread(reads_for_ever, (void *)(intptr_t)p[0], NULL);
	usleep(20000);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_cancel(t[i]), 0);
	for (int i = 0; i < N; i++)
		ck_assert_ptr_eq(tl_pthread_join(t[i]), PTHREAD_CANCELED);
	if (tl_unwinds(_i))
		ck_assert_int_eq(trace.n, N);
}
END_TEST

Suite *suite_cancel(void)
{
	Suite *s = suite_create("cancel");
	TCase *tc = tcase_create("cancel");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, pthread_exit_unwinds_through_handlers_and_frames,
			    0, 2);
	tcase_add_loop_test(tc,
			    a_cancel_ends_a_thread_parked_at_a_cancellation_point,
			    0, 2);
	tcase_add_loop_test(tc,
			    a_cancelled_condition_wait_holds_its_mutex_in_the_handler,
			    0, 2);
	tcase_add_loop_test(tc, a_cancel_does_not_end_a_mutex_wait, 0, 2);
	tcase_add_loop_test(tc, a_disabled_cancel_waits_until_enabled, 0, 2);
	tcase_add_loop_test(tc, turning_asynchronous_acts_on_a_pending_cancel,
			    0, 2);
	tcase_add_loop_test(tc, bad_states_and_types_get_einval, 0, 2);
	tcase_add_loop_test(tc, cancelling_an_ended_thread_is_no_error, 0, 2);
	tcase_add_loop_test(tc, waking_another_scheduler_is_no_cancellation_point,
			    0, 2);
	tcase_add_loop_test(tc, many_parked_readers_are_cancelled, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
