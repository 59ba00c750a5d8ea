/* test_pool.c - the pool of schedulers: green threads spread over several
 * OS threads, and everything that must hold across them.
 *
 * Each test asks for a pool of two schedulers (weft_cpus), as a preloaded
 * program on a two-CPU machine has, and switches green threads on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "../core/tcb.h"
#include "../hook/green.h"
#include "testlib.h"

#define THREADS 16

static pid_t os_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Two schedulers, green threads on. */
static void pool_of_two(void)
{
	ck_assert_int_eq(weft_cpus(2), 2);
	weft__green_set(true);
}

/* Counts the distinct values among n tids. */
static int distinct(const pid_t *tids, int n)
{
	int count = 0;

	for (int i = 0; i < n; i++) {
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen |= tids[j] == tids[i];
		count += !seen;
	}
	return count;
}

/* ---- spreading ---------------------------------------------------------- */

static __thread long mine;

struct spread {
	int pipe[2];
	long id;
	pid_t tid;
	long seen;
	int err;
	pthread_t self;
};

/* Sets its own TLS and errno, parks in read until main writes, and
 * reports what it sees after the wake. */
static void *spread_worker(void *p)
{
	struct spread *s = p;
	char c;

	mine = s->id;
	errno = (int)s->id;
	s->tid = os_tid();
	ck_assert_int_eq(read(s->pipe[0], &c, 1), 1);
	s->seen = mine;
	s->err = errno;
	s->self = pthread_self();
	return (void *)s->id;
}

START_TEST(green_threads_spread_over_both_and_keep_their_own_tls)
{
	struct spread s[THREADS];
	pthread_t t[THREADS];
	pid_t tids[THREADS];

	pool_of_two();
	for (int i = 0; i < THREADS; i++) {
		s[i] = (struct spread){ .id = i + 1 };
		tl_make_pipe(s[i].pipe);
		t[i] = tl_pthread(spread_worker, &s[i], NULL);
	}
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(write(s[i].pipe[1], "x", 1), 1);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_ptr_eq(tl_pthread_join(t[i]), (void *)s[i].id);
		tids[i] = s[i].tid;
		close(s[i].pipe[0]);
		close(s[i].pipe[1]);
	}
	ck_assert_int_eq(weft_cpus(0) >= 1, true);
	/* Picks compare both members' loads: each gets about half. */
	ck_assert_int_eq(distinct(tids, THREADS), 2);
	for (int i = 0; i < THREADS; i++) {
		int here = 0;
		for (int j = 0; j < THREADS; j++)
			here += tids[j] == tids[i];
		ck_assert_int_ge(here, THREADS / 4);
		if (weft__tcb_on) {
			ck_assert_int_eq(s[i].seen, s[i].id);
			ck_assert_int_eq(s[i].err, (int)s[i].id);
		}
		ck_assert(pthread_equal(s[i].self, t[i]));
	}
	if (weft__tcb_on)
		ck_assert_int_eq(mine, 0);
}
END_TEST

/* A weft_go coroutine shares its maker's TLS: it must stay on its OS
 * thread; one with a block of its own may go to the other scheduler. */
static void note_tid(void *p)
{
	*(pid_t *)p = os_tid();
}

static void *note_tid_own(void *p)
{
	*(pid_t *)p = os_tid();
	return NULL;
}

START_TEST(weft_go_stays_on_its_maker_s_thread)
{
	pid_t go[THREADS], own[THREADS];
	weft_co *co[THREADS];

	/* valgrind takes a block written at the top of a small stack for
	 * one below another thread's stack pointer (green threads' stacks,
	 * glibc's 8 MiB, do not show it). */
	TL_SKIP_UNDER_VALGRIND("small stacks spread over two OS threads");
	pool_of_two();
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(weft_go(note_tid, &go[i]), 0);
	for (int i = 0; i < THREADS; i++) {
		co[i] = weft_spawn_opt(note_tid_own, &own[i], 0, WEFT_OWN_TLS);
		if (co[i] == NULL)
			ck_assert_int_eq(errno, ENOTSUP);
	}
	weft_yield(); /* the weft_go ones run first: they were queued first */
	for (int i = 0; i < THREADS; i++)
		if (co[i])
			ck_assert_int_eq(weft_join(co[i], NULL), 0);
	int away = 0;
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(go[i], os_tid());
		away += co[i] && own[i] != os_tid();
	}
	/* The weft_go ones weigh on this scheduler: the others go away. */
	if (co[0])
		ck_assert_int_gt(away, 0);
}
END_TEST

START_TEST(weft_cpus_checks_its_argument)
{
	errno = 0;
	ck_assert_int_eq(weft_cpus(1025), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_ge(weft_cpus(0), 1);
	ck_assert_int_eq(weft_cpus(1), weft_cpus(0)); /* it only grows */
}
END_TEST

/* ---- malloc on both ----------------------------------------------------- */

/* A ring of blocks that threads on both schedulers allocate into and
 * free from: memory made on one OS thread is freed on the other, and
 * each thread's block uses its own OS thread's malloc cache, which has
 * no lock.  Had a block kept its maker's cache, two OS threads would
 * share one and malloc would abort or hand a chunk out twice. */
#define RING 256

static _Atomic(unsigned char *) ring[RING];

static void *churn(void *p)
{
	unsigned seed = (unsigned)(uintptr_t)p;

	for (int i = 0; i < 4000; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t size = 16 + (seed >> 8) % 500;
		unsigned char *mine = malloc(size);
		ck_assert_ptr_nonnull(mine);
		memset(mine, (int)(size & 0xff), size);
		mine[0] = (unsigned char)(size & 0xff);
		mine[1] = (unsigned char)(size >> 8);
		unsigned char *old = atomic_exchange(&ring[(seed >> 4) % RING],
						     mine);
		if (old) {
			size_t had = old[0] | (size_t)old[1] << 8;
			ck_assert_int_eq(old[had - 1], had & 0xff);
			free(old);
		}
		if (i % 64 == 0)
			sched_yield();
	}
	return NULL;
}

START_TEST(memory_made_on_one_scheduler_is_freed_on_the_other)
{
	pthread_t t[THREADS];

	pool_of_two();
	for (int i = 0; i < THREADS; i++)
		t[i] = tl_pthread(churn, (void *)(uintptr_t)(i + 1), NULL);
	for (int i = 0; i < THREADS; i++)
		tl_pthread_join(t[i]);
	for (int i = 0; i < RING; i++)
		free(atomic_exchange(&ring[i], NULL));
}
END_TEST

/* ---- sync across schedulers --------------------------------------------- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t barrier;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static sem_t sem;
static long counter, readers_saw, once_ran, key_freed;
static int next_turn;

static void once_fn(void)
{
	once_ran++;
}

static void key_free(void *p)
{
	__atomic_fetch_add(&key_freed, (long)(intptr_t)p, __ATOMIC_RELAXED);
}

/* Each worker: the barrier, once, a key, a mutex-guarded counter with
 * yields inside, the barrier again, turns in order through a condition variable, a
 * semaphore hand-off, and the rwlock. */
static void *sync_worker(void *p)
{
	int id = (int)(intptr_t)p;

	int b = pthread_barrier_wait(&barrier);
	ck_assert(b == 0 || b == PTHREAD_BARRIER_SERIAL_THREAD);
	pthread_once(&once, once_fn);
	pthread_setspecific(key, (void *)(intptr_t)(id + 1));
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&lock);
		long c = counter;
		if (i % 16 == 0)
			sched_yield();
		counter = c + 1;
		pthread_mutex_unlock(&lock);
	}
	b = pthread_barrier_wait(&barrier); /* every count is in */
	ck_assert(b == 0 || b == PTHREAD_BARRIER_SERIAL_THREAD);
	pthread_mutex_lock(&lock);
	while (next_turn != id)
		pthread_cond_wait(&turn, &lock);
	next_turn++;
	pthread_cond_broadcast(&turn);
	pthread_mutex_unlock(&lock);
	sem_wait(&sem);
	sem_post(&sem);
	pthread_rwlock_rdlock(&rw);
	__atomic_fetch_add(&readers_saw, counter, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&rw);
	ck_assert_ptr_eq(pthread_getspecific(key), (void *)(intptr_t)(id + 1));
	return NULL;
}

START_TEST(locks_conditions_and_semaphores_work_across_schedulers)
{
	pthread_t t[THREADS];

	pool_of_two();
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, THREADS), 0);
	ck_assert_int_eq(pthread_key_create(&key, key_free), 0);
	ck_assert_int_eq(sem_init(&sem, 0, 0), 0);
	pthread_rwlock_wrlock(&rw);
	for (int i = 0; i < THREADS; i++)
		t[i] = tl_pthread(sync_worker, (void *)(intptr_t)i, NULL);
	sem_post(&sem);
	pthread_rwlock_unlock(&rw);
	for (int i = 0; i < THREADS; i++)
		tl_pthread_join(t[i]);
	ck_assert_int_eq(counter, THREADS * 200);
	ck_assert_int_eq(readers_saw, THREADS * counter);
	ck_assert_int_eq(next_turn, THREADS);
	ck_assert_int_eq(once_ran, 1);
	ck_assert_int_eq(key_freed, THREADS * (THREADS + 1) / 2);
	pthread_barrier_destroy(&barrier);
	sem_destroy(&sem);
}
END_TEST

/* ---- one fd, waiters on both schedulers ---------------------------------- */

struct reader {
	int fd;
	ssize_t r;
	int err;
	pid_t tid;
	atomic_bool waiting;
};

static void *fd_reader(void *p)
{
	struct reader *rd = p;
	char c;

	rd->tid = os_tid();
	atomic_store(&rd->waiting, true);
	rd->r = read(rd->fd, &c, 1);
	rd->err = errno;
	return NULL;
}

/* Starts readers of fd until two of them are on different OS threads. */
static int readers_on_both(struct reader *rd, pthread_t *t, int fd)
{
	int n = 0;

	while (n < THREADS) {
		rd[n] = (struct reader){ .fd = fd };
		t[n] = tl_pthread(fd_reader, &rd[n], NULL);
		n++;
		while (!atomic_load(&rd[n - 1].waiting))
			weft_sleep(MS);
		pid_t tids[THREADS];
		for (int i = 0; i < n; i++)
			tids[i] = rd[i].tid;
		if (distinct(tids, n) == 2)
			break;
	}
	ck_assert_int_lt(n, THREADS + 1);
	weft_sleep(20 * MS); /* each is parked in read */
	return n;
}

START_TEST(data_on_one_fd_wakes_its_waiters_on_every_scheduler)
{
	struct reader rd[THREADS];
	pthread_t t[THREADS];
	int p[2];

	pool_of_two();
	tl_make_pipe(p);
	int n = readers_on_both(rd, t, p[0]);
	char bytes[THREADS] = { 0 };
	ck_assert_int_eq(write(p[1], bytes, (size_t)n), n);
	for (int i = 0; i < n; i++) {
		tl_pthread_join(t[i]);
		ck_assert_int_eq(rd[i].r, 1);
	}
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(close_wakes_waiters_on_every_scheduler_with_EBADF)
{
	struct reader rd[THREADS];
	pthread_t t[THREADS];
	int p[2];

	pool_of_two();
	tl_make_pipe(p);
	int n = readers_on_both(rd, t, p[0]);
	ck_assert_int_eq(close(p[0]), 0);
	for (int i = 0; i < n; i++) {
		tl_pthread_join(t[i]);
		ck_assert_int_eq(rd[i].r, -1);
		ck_assert_int_eq(rd[i].err, EBADF);
	}
	close(p[1]);
}
END_TEST

/* ---- the process's end, and fork ---------------------------------------- */

static int done_pipe[2];

static void *late_worker(void *p)
{
	(void)p;
	weft_sleep(50 * MS);
	ck_assert_int_eq(write(done_pipe[1], "done", 4), 4);
	return NULL;
}

/* Runs child() in a forked process and returns its wait status, giving
 * it at most 10 s. */
static int in_child(void (*child)(void))
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(10);
		child();
		_exit(3);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void main_exits_first(void)
{
	pool_of_two();
	for (int i = 0; i < 4; i++)
		tl_pthread(late_worker, NULL, NULL);
	pthread_exit(NULL);
}

START_TEST(the_process_ends_with_its_last_thread_after_main_s_pthread_exit)
{
	char buf[64];

	tl_make_pipe(done_pipe);
	int status = in_child(main_exits_first);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %#x", status);
	close(done_pipe[1]);
	size_t got = 0;
	ssize_t r;
	while ((r = read(done_pipe[0], buf + got, sizeof buf - got)) > 0)
		got += (size_t)r;
	ck_assert_int_eq(got, 16);
	close(done_pipe[0]);
}
END_TEST

static void *fork_worker(void *p)
{
	(void)p;
	pid_t pid = fork();
	if (pid == 0) {
		/* One OS thread in the child, which can spread again. */
		if (tl_thread_count() != 1)
			_exit(4);
		pid_t tids[THREADS];
		pthread_t t[THREADS];
		for (int i = 0; i < THREADS; i++)
			if (pthread_create(&t[i], NULL, note_tid_own,
					   &tids[i]) != 0)
				_exit(5);
		for (int i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
#ifdef __SANITIZE_THREAD__
		/* TSan makes no threads after a threaded process forks. */
		_exit(0);
#endif
		/* Some went to the child's own new member. */
		int away = 0;
		for (int i = 0; i < THREADS; i++)
			away += tids[i] != os_tid();
		_exit(away > 0 ? 0 : 6);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	return (void *)(intptr_t)status;
}

START_TEST(a_fork_child_starts_with_one_scheduler)
{
	TL_SKIP_UNDER_VALGRIND("a threaded process's fork child that starts"
			       " threads does not end in time under it");
	pool_of_two();
	pthread_t t = tl_pthread(fork_worker, NULL, NULL);
	int status = (int)(intptr_t)tl_pthread_join(t);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %#x", status);
}
END_TEST

/* ---- signals ------------------------------------------------------------ */

static atomic_int handled_on;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&handled_on, os_tid());
}

static void *signalled(void *p)
{
	atomic_int *ready = p;

	*ready = os_tid();
	while (atomic_load(&handled_on) == 0)
		usleep(1000); /* where the signal sent to it is taken */
	return NULL;
}

START_TEST(pthread_kill_reaches_a_thread_on_the_other_scheduler)
{
	atomic_int where[THREADS] = { 0 };
	pthread_t t[THREADS];
	int n = 0;

	pool_of_two();
	signal(SIGUSR1, on_usr1);
	/* Until one lands on the other OS thread. */
	do {
		t[n] = tl_pthread(signalled, &where[n], NULL);
		while (atomic_load(&where[n]) == 0)
			weft_sleep(MS);
	} while (where[n++] == os_tid() && n < THREADS);
	ck_assert_int_ne(where[n - 1], os_tid());
	ck_assert_int_eq(pthread_kill(t[n - 1], SIGUSR1), 0);
	for (int i = 0; i < 2000 && atomic_load(&handled_on) == 0; i++)
		weft_sleep(MS);
	ck_assert_int_eq(atomic_load(&handled_on), where[n - 1]);
	for (int i = 0; i < n; i++)
		tl_pthread_join(t[i]);
}
END_TEST

Suite *suite_pool(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, green_threads_spread_over_both_and_keep_their_own_tls);
	tcase_add_test(tc, weft_go_stays_on_its_maker_s_thread);
	tcase_add_test(tc, weft_cpus_checks_its_argument);
	tcase_add_test(tc, memory_made_on_one_scheduler_is_freed_on_the_other);
	tcase_add_test(tc, locks_conditions_and_semaphores_work_across_schedulers);
	tcase_add_test(tc, data_on_one_fd_wakes_its_waiters_on_every_scheduler);
	tcase_add_test(tc, close_wakes_waiters_on_every_scheduler_with_EBADF);
	tcase_add_test(tc, the_process_ends_with_its_last_thread_after_main_s_pthread_exit);
	tcase_add_test(tc, a_fork_child_starts_with_one_scheduler);
	tcase_add_test(tc, pthread_kill_reaches_a_thread_on_the_other_scheduler);
	suite_add_tcase(s, tc);
	return s;
}
