/* test_offload.c - the offload pool: real threads running blocking jobs
 * while the coroutine that asked parks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "green.h"
#include "offload.h"
#include "weft.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

static pid_t gettid_now(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* What a job saw of the thread it ran on. */
struct seen {
	int ms;                /* how long to sleep */
	pid_t tid;
	struct weft__co *running;
	bool inside;
	sigset_t mask;
	int ran;
	int64_t start, end;
	int seq_start, seq_end;
};

static _Atomic int seq;

static void job(void *p)
{
	struct seen *s = p;

	s->start = tl_mono_ns();
	s->seq_start = atomic_fetch_add(&seq, 1);
	s->tid = gettid_now();
	s->running = weft__running;
	s->inside = weft__inside;
	pthread_sigmask(SIG_BLOCK, NULL, &s->mask);
	if (s->ms)
		tl_raw_sleep_ms(s->ms);
	__atomic_fetch_add(&s->ran, 1, __ATOMIC_RELAXED); /* read meanwhile */
	s->seq_end = atomic_fetch_add(&seq, 1);
	s->end = tl_mono_ns();
}

/* A coroutine that offloads one job and reports. */
struct asker {
	struct seen seen;
	int rc;
	weft_wg *wg;
};

static void ask(void *p)
{
	struct asker *a = p;

	a->rc = weft__offload(job, &a->seen);
	weft_wg_done(a->wg);
}

/* ---- the job runs, elsewhere ------------------------------------------- */

START_TEST(offload_runs_a_slow_job_while_other_coroutines_run)
{
	struct tl_ticker t = { 0 };
	struct seen s = { .ms = 200 };

	weft_go(tl_tick_first, &t);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(weft__offload(job, &s), 0);
	int64_t waited = tl_mono_ns() - t0;
	t.stop = 1;
	ck_assert_int_eq(s.ran, 1);
	ck_assert_int_ge(waited, 200 * MS);
	ck_assert_int_gt(t.ticks, 10);
}
END_TEST

START_TEST(offload_runs_the_job_on_a_thread_without_a_scheduler)
{
	struct seen s = { 0 };

	weft_self();
	ck_assert_int_eq(weft__offload(job, &s), 0);
	ck_assert_int_eq(s.ran, 1);
	ck_assert_int_ne(s.tid, gettid_now());
	ck_assert_ptr_null(s.running);
	ck_assert(!s.inside); /* the job is the program's code */
	ck_assert_ptr_nonnull(weft__running);
	ck_assert(!weft__inside);
}
END_TEST

START_TEST(offload_workers_block_every_signal)
{
	struct seen s = { 0 };
	int sigs[] = { SIGINT, SIGTERM, SIGCHLD, SIGUSR1, SIGALRM, SIGPIPE };

	weft_self();
	ck_assert_int_eq(weft__offload(job, &s), 0);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		ck_assert_int_eq(sigismember(&s.mask, sigs[i]), 1);
	/* The caller's own mask is untouched. */
	sigset_t mine;
	pthread_sigmask(SIG_BLOCK, NULL, &mine);
	ck_assert_int_eq(sigismember(&mine, SIGINT), 0);
}
END_TEST

START_TEST(offload_outside_a_coroutine_runs_the_job_at_once)
{
	struct seen s = { 0 };

	ck_assert_int_eq(weft__offload(job, &s), 0);
	ck_assert_int_eq(s.ran, 1);
	ck_assert_int_eq(s.tid, gettid_now());
}
END_TEST

START_TEST(offload_keeps_the_callers_errno)
{
	struct seen s = { .ms = 20 };
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	errno = 1234;
	ck_assert_int_eq(weft__offload(job, &s), 0);
	ck_assert_int_eq(errno, 1234);
	t.stop = 1;
}
END_TEST

START_TEST(offload_starts_no_thread_before_first_use)
{
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	weft_yield();
	ck_assert_int_eq(tl_thread_count(), 1);
	struct seen s = { 0 };
	ck_assert_int_eq(weft__offload(job, &s), 0);
	ck_assert_int_eq(tl_thread_count(), 2);
	/* An idle worker serves the next job; no new thread. */
	ck_assert_int_eq(weft__offload(job, &s), 0);
	ck_assert_int_eq(tl_thread_count(), 2);
	t.stop = 1;
}
END_TEST

/* ---- several jobs -------------------------------------------------------- */

/* Two jobs that can only both finish if they run at the same time: each
 * writes its own pipe and waits up to 5 s to read the other's. */
struct meet {
	int mine[2], theirs[2];
	int met;
};

static void meet_job(void *p)
{
	struct meet *m = p;
	struct pollfd pfd = { .fd = m->theirs[0], .events = POLLIN };

	m->met = write(m->mine[1], "x", 1) == 1 &&
		 poll(&pfd, 1, 5000) == 1;
}

struct meeter {
	struct meet *m;
	int rc;
	weft_wg *wg;
};

static void meet_ask(void *p)
{
	struct meeter *a = p;

	a->rc = weft__offload(meet_job, a->m);
	weft_wg_done(a->wg);
}

static void two_jobs_meet(void)
{
	int p1[2], p2[2];
	weft_wg wg = WEFT_WG_INIT;

	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	struct meet a = { { p1[0], p1[1] }, { p2[0], p2[1] }, 0 };
	struct meet b = { { p2[0], p2[1] }, { p1[0], p1[1] }, 0 };
	struct meeter ma = { &a, -1, &wg }, mb = { &b, -1, &wg };
	weft_wg_add(&wg, 2);
	weft_go(meet_ask, &ma);
	weft_go(meet_ask, &mb);
	weft_wg_wait(&wg);
	ck_assert_int_eq(ma.rc, 0);
	ck_assert_int_eq(mb.rc, 0);
	ck_assert_int_eq(a.met, 1);
	ck_assert_int_eq(b.met, 1);
}

START_TEST(offload_runs_jobs_in_parallel)
{
	two_jobs_meet();
}
END_TEST

START_TEST(offload_takes_the_default_size_for_a_bad_setting)
{
	setenv("WEFT_OFFLOAD_THREADS", "0", 1);
	two_jobs_meet();
}
END_TEST

START_TEST(offload_with_one_thread_runs_jobs_one_after_another_in_order)
{
	struct asker a[3];
	weft_wg wg = WEFT_WG_INIT;

	setenv("WEFT_OFFLOAD_THREADS", "1", 1);
	weft_wg_add(&wg, 3);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct asker){ .seen = { .ms = 30 }, .rc = -1,
				       .wg = &wg };
		weft_go(ask, &a[i]);
	}
	weft_wg_wait(&wg);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(a[i].rc, 0);
		ck_assert_int_eq(a[i].seen.ran, 1);
		ck_assert_int_eq(a[i].seen.seq_start, 2 * i);
		ck_assert_int_eq(a[i].seen.seq_end, 2 * i + 1);
		ck_assert_int_eq(a[i].seen.tid, a[0].seen.tid);
	}
	ck_assert_int_eq(tl_thread_count(), 2);
}
END_TEST

START_TEST(offload_serves_many_more_jobs_than_threads)
{
	enum { N = 200 };
	static struct asker a[N];
	weft_wg wg = WEFT_WG_INIT;

	weft_wg_add(&wg, N);
	for (int i = 0; i < N; i++) {
		a[i] = (struct asker){ .seen = { .ms = i % 3 }, .rc = -1,
				       .wg = &wg };
		ck_assert_int_eq(weft_go(ask, &a[i]), 0);
	}
	weft_wg_wait(&wg);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(a[i].rc, 0);
		ck_assert_int_eq(a[i].seen.ran, 1);
	}
	ck_assert_int_le(tl_thread_count(), 1 + WEFT__OFFLOAD_DEFAULT);
}
END_TEST

/* A coroutine of another OS thread offloads too; both are woken on their
 * own schedulers.  The ticker is joined: that thread's scheduler goes on
 * after this returns, and must not tick on a dead frame. */
static void thread_asks(void *p)
{
	struct asker *a = p;
	struct tl_ticker t;

	tl_ticker_start(&t);
	a->rc = weft__offload(job, &a->seen);
	tl_ticker_stop(&t);
}

START_TEST(offload_wakes_coroutines_of_several_threads)
{
	struct asker theirs = { .seen = { .ms = 50 }, .rc = -1 };
	struct asker mine = { .seen = { .ms = 50 }, .rc = -1 };
	pthread_t tid;
	weft_wg wg = WEFT_WG_INIT;

	ck_assert_int_eq(weft_thread(&tid, thread_asks, &theirs), 0);
	mine.wg = &wg;
	weft_wg_add(&wg, 1);
	weft_go(ask, &mine);
	weft_wg_wait(&wg);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(mine.rc, 0);
	ck_assert_int_eq(theirs.rc, 0);
	ck_assert_int_eq(mine.seen.ran + theirs.seen.ran, 2);
}
END_TEST

/* ---- fork ---------------------------------------------------------------- */

/* In a fork child: a fresh scheduler, a ticker, and one job, which needs a
 * new worker since the parent's stayed behind.  Exit status 0 if all went
 * well. */
static int child_offloads(void)
{
	struct tl_ticker t = { 0 };
	struct seen s = { .ms = 20 };

	weft__sched_forget();
	weft_go(tl_tick_first, &t);
	if (weft__offload(job, &s) != 0 || s.ran != 1 || s.tid == getpid())
		return 1;
	if (t.ticks == 0)
		return 2;
	return tl_thread_count() == 2 ? 0 : 3;
}

START_TEST(offload_starts_afresh_in_a_fork_child)
{
	struct asker busy = { .seen = { .ms = 300 }, .rc = -1 };
	weft_wg wg = WEFT_WG_INIT;

	/* One coroutine is parked in a job while another forks. */
	busy.wg = &wg;
	weft_wg_add(&wg, 1);
	weft_go(ask, &busy);
	weft_sleep(50 * MS);
	ck_assert_int_eq(__atomic_load_n(&busy.seen.ran, __ATOMIC_RELAXED), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(child_offloads());
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	weft_wg_wait(&wg);
	ck_assert_int_eq(busy.rc, 0);
	ck_assert_int_eq(busy.seen.ran, 1);
}
END_TEST

/* ---- a job takes the program's locks as the program does --------------- */

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool released, overlapped;

/* A job, as a name lookup's allocator: takes the program's mutex. */
static void lock_shared(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&shared);
	if (!atomic_load(&released))
		atomic_store(&overlapped, true);
	pthread_mutex_unlock(&shared);
}

/* A green thread that holds the mutex across a park. */
static void *hold_shared(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&shared);
	weft_sleep(100 * MS);
	atomic_store(&released, true);
	pthread_mutex_unlock(&shared);
	return NULL;
}

START_TEST(offload_job_waits_for_a_green_mutex_a_coroutine_holds)
{
	weft__green_set(true);
	weft_co *holder = weft_spawn(hold_shared, NULL, 0);
	ck_assert_ptr_nonnull(holder);
	weft_yield(); /* the holder takes the mutex and parks */
	ck_assert_int_eq(pthread_mutex_trylock(&shared), EBUSY);
	ck_assert_int_eq(weft__offload(lock_shared, NULL), 0);
	ck_assert(atomic_load(&released));
	ck_assert(!atomic_load(&overlapped));
	ck_assert_int_eq(weft_join(holder, NULL), 0);
	/* Nobody's marks are left in the mutex. */
	ck_assert_int_eq(pthread_mutex_trylock(&shared), 0);
	ck_assert_int_eq(pthread_mutex_unlock(&shared), 0);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_offload(void)
{
	Suite *s = suite_create("offload");
	TCase *tc;

	tc = tcase_create("job");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, offload_runs_a_slow_job_while_other_coroutines_run);
	tcase_add_test(tc,
		offload_runs_the_job_on_a_thread_without_a_scheduler);
	tcase_add_test(tc, offload_workers_block_every_signal);
	tcase_add_test(tc, offload_outside_a_coroutine_runs_the_job_at_once);
	tcase_add_test(tc, offload_keeps_the_callers_errno);
	tcase_add_test(tc, offload_starts_no_thread_before_first_use);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, offload_runs_jobs_in_parallel);
	tcase_add_test(tc, offload_takes_the_default_size_for_a_bad_setting);
	tcase_add_test(tc,
		offload_with_one_thread_runs_jobs_one_after_another_in_order);
	tcase_add_test(tc, offload_serves_many_more_jobs_than_threads);
	tcase_add_test(tc, offload_wakes_coroutines_of_several_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("fork");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, offload_starts_afresh_in_a_fork_child);
	suite_add_tcase(s, tc);

	tc = tcase_create("green");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		offload_job_waits_for_a_green_mutex_a_coroutine_holds);
	suite_add_tcase(s, tc);

	return s;
}
