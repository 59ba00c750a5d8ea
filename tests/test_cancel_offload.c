/* test_cancel_offload.c - cancellation points whose wait weft makes away
 * from the thread: glibc's own cancellation points in a job on the
 * offload pool (a name lookup's poll), process-shared condition waits
 * and semaphores, fsync and splice.  Each test runs natively (loop 0:
 * real threads, where a job runs on the calling thread) and with green
 * threads (loop 1), expecting the same: the cancel acts promptly, the
 * cleanup handlers run (a condition wait's with its mutex held), the
 * joiner gets PTHREAD_CANCELED, and the pool serves later jobs.  No name
 * server is asked: the lookups are of numbers and localhost.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft.h"
#include "../core/cancel.h"
#include "../core/offload.h"
#include "testlib.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

/* Whether the kernel here has futex_waitv (Linux 5.16; not valgrind's or
 * qemu-user's, which give ENOSYS): without it a process-shared
 * semaphore's wait is a thread's, which no cancel or signal ends.  Says
 * so, naming test, when it has not. */
static bool waitv_known(const char *test)
{
	if (syscall(SYS_futex_waitv, NULL, 0, 0, NULL, 0) < 0 &&
	    errno == ENOSYS) {
		fprintf(stderr, "%s: no futex_waitv here: left out\n", test);
		return false;
	}
	return true;
}

/* Cleanup handlers note here, in order, from any thread (a worker's
 * handler included: no lock, which a worker would take as weft). */
static _Atomic int notes[16], nnotes;

static void note(void *x)
{
	int i = atomic_fetch_add(&nnotes, 1);

	if (i < 16)
		atomic_store(&notes[i], (int)(intptr_t)x);
}

/* A job as the thread runs it: on the pool under weft, else here; a cut
 * acts on the caller's cancel.  Returns what weft__offload_point did. */
static int point_job(void (*fn)(void *), void *arg)
{
	int r = weft__offload_point(fn, arg);

	if (r == 1)
		weft__cancel_act(weft__running);
	return r;
}

/* ---- a job blocked in glibc's own cancellation point ------------------ */

struct blocked {
	int fd;                 /* a pipe's read end nobody writes */
	int timeout_ms;
	_Atomic int started;
	int polled;             /* poll's result, if it returned */
};

static void polls(void *p)
{
	struct blocked *b = p;
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN };

	pthread_cleanup_push(note, (void *)2);
	atomic_fetch_add(&b->started, 1);
	b->polled = poll(&pfd, 1, b->timeout_ms);
	pthread_cleanup_pop(0);
}

static void *runs_polls(void *p)
{
	pthread_cleanup_push(note, (void *)1);
	point_job(polls, p);
	pthread_cleanup_pop(0);
	return (void *)7;
}

START_TEST(a_cancel_ends_a_job_blocked_in_glibc)
{
	struct blocked b = { .timeout_ms = -1 };
	int p[2];

	if (!tl_cancel_mode(_i))
		return;
	tl_make_pipe(p);
	b.fd = p[0];
	pthread_t t = tl_pthread(runs_polls, &b, NULL);
	while (atomic_load(&b.started) == 0)
		usleep(1000);
	usleep(10000);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert_int_lt(tl_mono_ns() - t0, 2000000000LL);
	if (!tl_unwinds(_i))
		return;
	/* The job's handler, on the worker, then the thread's. */
	ck_assert_int_eq(atomic_load(&nnotes), 2);
	ck_assert_int_eq(notes[0], 2);
	ck_assert_int_eq(notes[1], 1);
}
END_TEST

/* ---- the pool after cancelled jobs ------------------------------------ */

static void *looks_up(void *name)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM }, *res = NULL;
	int r = getaddrinfo(name, "80", &hints, &res);

	if (r == 0)
		freeaddrinfo(res);
	return (void *)(intptr_t)r;
}

static void *polls_briefly(void *unused)
{
	struct blocked b = { .timeout_ms = 20 };
	int p[2];

	(void)unused;
	if (pipe(p) != 0)
		return (void *)-1;
	b.fd = p[0];
	int r = point_job(polls, &b);
	close(p[0]);
	close(p[1]);
	return (void *)(intptr_t)(r == 0 && b.polled == 0 ? 0 : -1);
}

/* More cancelled jobs than the pool has threads, some cancelled while
 * queued: then later jobs and lookups all run. */
START_TEST(the_pool_serves_jobs_after_cancelled_ones)
{
	enum { N = WEFT__OFFLOAD_DEFAULT + 2, M = 8 };
	struct blocked b[N];
	pthread_t t[N], u[M];
	int p[2];

	if (!tl_cancel_mode(_i))
		return;
	tl_make_pipe(p);
	for (int i = 0; i < N; i++) {
		b[i] = (struct blocked){ .fd = p[0], .timeout_ms = -1 };
		t[i] = tl_pthread(runs_polls, &b[i], NULL);
	}
	usleep(50000);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_cancel(t[i]), 0);
	for (int i = 0; i < N; i++)
		ck_assert_ptr_eq(tl_pthread_join(t[i]), PTHREAD_CANCELED);
	for (int i = 0; i < M; i++)
		u[i] = tl_pthread(polls_briefly, NULL, NULL);
	pthread_t a = tl_pthread(looks_up, "127.0.0.1", NULL);
	pthread_t l = tl_pthread(looks_up, "localhost", NULL);
	for (int i = 0; i < M; i++)
		ck_assert_ptr_eq(tl_pthread_join(u[i]), NULL);
	ck_assert_ptr_eq(tl_pthread_join(a), NULL);
	ck_assert_ptr_eq(tl_pthread_join(l), NULL);
}
END_TEST

/* ---- a cancel too late for the job ------------------------------------ */

struct spin {
	_Atomic bool running, go;
	int step;
};

/* No cancellation point: a cancel sent meanwhile cannot act in it. */
static void spins(void *p)
{
	struct spin *s = p;

	atomic_store(&s->running, true);
	while (!atomic_load(&s->go))
		;
}

static void *runs_spins(void *p)
{
	struct spin *s = p;

	s->step = point_job(spins, s) == 0 ? 1 : -1;
	pthread_testcancel();
	s->step = 2;
	return NULL;
}

/* The job ends as if nothing happened, the cancel acts at the caller's
 * next cancellation point, and the worker, left with a cancel it never
 * acted on, does not take it into a later job. */
START_TEST(a_cancel_too_late_for_the_job_stays_the_callers)
{
	struct spin s = { 0 };

	if (!tl_cancel_mode(_i))
		return;
	pthread_t t = tl_pthread(runs_spins, &s, NULL);
	while (!atomic_load(&s.running))
		usleep(1000);
	ck_assert_int_eq(pthread_cancel(t), 0);
	usleep(20000);
	atomic_store(&s.go, true);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert_int_eq(s.step, 1);
	pthread_t u[WEFT__OFFLOAD_DEFAULT + 1];
	for (int i = 0; i <= WEFT__OFFLOAD_DEFAULT; i++)
		u[i] = tl_pthread(polls_briefly, NULL, NULL);
	for (int i = 0; i <= WEFT__OFFLOAD_DEFAULT; i++)
		ck_assert_ptr_eq(tl_pthread_join(u[i]), NULL);
}
END_TEST

/* ---- process-shared condition waits and semaphores ------------------- */

static pthread_mutex_t shared_lock;
static pthread_cond_t shared_cond;
static sem_t shared_sem;

static void pshared_init(void)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	ck_assert_int_eq(pthread_mutex_init(&shared_lock, &ma), 0);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	ck_assert_int_eq(pthread_cond_init(&shared_cond, &ca), 0);
	ck_assert_int_eq(sem_init(&shared_sem, 1, 0), 0);
}

static void unlock_noting(void *m)
{
	/* An error-checking mutex: unlocking says whether it was held. */
	note((void *)(intptr_t)(pthread_mutex_unlock(m) == 0 ? 1 : -1));
}

static void *shared_cond_waiter(void *ready)
{
	pthread_mutex_lock(&shared_lock);
	pthread_cleanup_push(unlock_noting, &shared_lock);
	atomic_store((_Atomic bool *)ready, true);
	for (;;)
		pthread_cond_wait(&shared_cond, &shared_lock);
	pthread_cleanup_pop(0);
	return NULL;
}

START_TEST(a_cancelled_pshared_cond_wait_holds_its_mutex_in_the_handler)
{
	_Atomic bool ready = false;

	if (!tl_cancel_mode(_i))
		return;
	pshared_init();
	pthread_t t = tl_pthread(shared_cond_waiter, &ready, NULL);
	while (!atomic_load(&ready))
		usleep(1000);
	pthread_mutex_lock(&shared_lock); /* it waits, the mutex released */
	pthread_mutex_unlock(&shared_lock);
	usleep(10000);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	if (!tl_unwinds(_i))
		return;
	ck_assert_int_eq(atomic_load(&nnotes), 1);
	ck_assert_int_eq(notes[0], 1);
	ck_assert_int_eq(pthread_mutex_trylock(&shared_lock), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&shared_lock), 0);
}
END_TEST

static void *shared_sem_waiter(void *ready)
{
	pthread_cleanup_push(note, (void *)3);
	atomic_store((_Atomic bool *)ready, true);
	sem_wait(&shared_sem);
	pthread_cleanup_pop(0);
	return NULL;
}

/* glibc's semaphore's count of waiters (pshared.c's struct glibc_sem). */
static unsigned sem_waiters(sem_t *s)
{
	return (unsigned)(*(_Atomic uint64_t *)s >> 32);
}

START_TEST(a_cancel_ends_a_pshared_sem_wait_counted_out)
{
	_Atomic bool ready = false;

	/* Without futex_waitv the wait is a thread's, which neither
	 * ends (waitv.h). */
	if ((_i & 1) && !waitv_known(__func__))
		return;
	if (!tl_cancel_mode(_i))
		return;
	pshared_init();
	pthread_t t = tl_pthread(shared_sem_waiter, &ready, NULL);
	while (!atomic_load(&ready))
		usleep(1000);
	usleep(20000);
	ck_assert_int_eq(sem_waiters(&shared_sem), 1);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert_int_eq(sem_waiters(&shared_sem), 0);
	ck_assert_int_eq(sem_post(&shared_sem), 0);
	ck_assert_int_eq(sem_trywait(&shared_sem), 0);
	if (tl_unwinds(_i)) {
		ck_assert_int_eq(atomic_load(&nnotes), 1);
		ck_assert_int_eq(notes[0], 3);
	}
}
END_TEST

struct sem_try {
	bool timed;
	_Atomic bool ready;
	int r, err;
};

static void *waits_on_sem(void *p)
{
	struct sem_try *s = p;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	atomic_store(&s->ready, true);
	s->r = s->timed ? sem_timedwait(&shared_sem, &until)
			: sem_wait(&shared_sem);
	s->err = errno;
	return NULL;
}

/* A handler interrupts a pshared sem_wait as glibc's futex wait is
 * interrupted: with EINTR, unless it has SA_RESTART and the wait is
 * untimed (the kernel restarts that one).  Loop: 0/1 native/green
 * without SA_RESTART, 2/3 with it, each untimed then timed. */
START_TEST(a_signal_interrupts_a_pshared_sem_wait_as_natively)
{
	bool restart = _i >= 2;

	/* Without futex_waitv the wait is a thread's, which neither
	 * ends (waitv.h). */
	if ((_i & 1) && !waitv_known(__func__))
		return;
	if (!tl_cancel_mode(_i & 1))
		return;
	pshared_init();
	tl_catch(SIGUSR1, tl_on_signal, restart ? SA_RESTART : 0);
	for (int timed = 0; timed < 2; timed++) {
		struct sem_try s = { .timed = timed };
		tl_handled = 0;
		pthread_t t = tl_pthread(waits_on_sem, &s, NULL);
		while (!atomic_load(&s.ready))
			usleep(1000);
		usleep(20000);
		ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
		usleep(20000);
		ck_assert_int_eq(tl_handled, 1);
		bool eintr = !restart || timed;
		if (!eintr)
			ck_assert_int_eq(sem_post(&shared_sem), 0);
		ck_assert_ptr_eq(tl_pthread_join(t), NULL);
		ck_assert_int_eq(s.r, eintr ? -1 : 0);
		if (eintr)
			ck_assert_int_eq(s.err, EINTR);
		ck_assert_int_eq(sem_waiters(&shared_sem), 0);
	}
}
END_TEST

/* ---- fsync and splice -------------------------------------------------- */

static void *syncs_cancelled(void *fd)
{
	pthread_cleanup_push(note, (void *)4);
	pthread_cancel(pthread_self());
	fsync((int)(intptr_t)fd);
	note((void *)-4);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *splices(void *p)
{
	int *fds = p;

	pthread_cleanup_push(note, (void *)5);
	splice(fds[0], NULL, fds[1], NULL, 4096, 0);
	pthread_cleanup_pop(0);
	return NULL;
}

START_TEST(fsync_and_splice_are_cancellation_points)
{
	char path[] = "/tmp/weft-cancel-XXXXXX";
	int in[2], out[2];

	if (!tl_cancel_mode(_i))
		return;
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	/* Another thread, so that the green ones are not alone. */
	tl_make_pipe(in);
	tl_make_pipe(out);
	int fds[2] = { in[0], out[1] };
	pthread_t s = tl_pthread(splices, fds, NULL);
	pthread_t t = tl_pthread(syncs_cancelled, (void *)(intptr_t)fd, NULL);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	usleep(20000);
	ck_assert_int_eq(pthread_cancel(s), 0);
	ck_assert_ptr_eq(tl_pthread_join(s), PTHREAD_CANCELED);
	close(fd);
	if (!tl_unwinds(_i))
		return;
	ck_assert_int_eq(atomic_load(&nnotes), 2);
	ck_assert_int_eq(notes[0], 4);
	ck_assert_int_eq(notes[1], 5);
}
END_TEST

Suite *suite_cancel_offload(void)
{
	Suite *s = suite_create("cancel_offload");
	TCase *tc = tcase_create("cancel_offload");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, a_cancel_ends_a_job_blocked_in_glibc, 0, 2);
	tcase_add_loop_test(tc, the_pool_serves_jobs_after_cancelled_ones, 0,
			    2);
	tcase_add_loop_test(tc, a_cancel_too_late_for_the_job_stays_the_callers,
			    0, 2);
	tcase_add_loop_test(tc,
			    a_cancelled_pshared_cond_wait_holds_its_mutex_in_the_handler,
			    0, 2);
	tcase_add_loop_test(tc, a_cancel_ends_a_pshared_sem_wait_counted_out,
			    0, 2);
	tcase_add_loop_test(tc, a_signal_interrupts_a_pshared_sem_wait_as_natively,
			    0, 4);
	tcase_add_loop_test(tc, fsync_and_splice_are_cancellation_points, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
