/* test_hook_sleep.c - sleep, usleep, nanosleep and clock_nanosleep.
 *
 * Most tests are loop tests over the four calls (or over the clocks):
 * _i picks it, and failure messages name it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "weft.h"
#include "testlib.h"

/* Volatile, so the compiler does not see the bad arguments coming. */
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

enum { SLEEP, USLEEP, NANOSLEEP, CLOCK_NANOSLEEP, NCALLS };

static const char *const call_name[NCALLS] = {
	"sleep", "usleep", "nanosleep", "clock_nanosleep",
};

/* The clocks weft parks on. */
static const clockid_t clocks[] = {
	CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_TAI,
};
static const char *const clock_name[] = {
	"CLOCK_MONOTONIC", "CLOCK_REALTIME", "CLOCK_BOOTTIME", "CLOCK_TAI",
};
#define NCLOCKS 4

/* Sleeps ms with call (sleep: whole seconds, rounded up).  Returns what
 * the call returns; clock_nanosleep's error number becomes -1/errno. */
static int do_sleep(int call, int64_t ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * MS };
	int r;

	switch (call) {
	case SLEEP:
		return (int)sleep((unsigned)((ms + 999) / 1000));
	case USLEEP:
		return usleep((useconds_t)(ms * 1000));
	case NANOSLEEP:
		return nanosleep(&ts, NULL);
	default:
		r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		if (r) {
			errno = r;
			return -1;
		}
		return 0;
	}
}

/* How long call sleeps for do_sleep(call, ms) at least. */
static int64_t slept_ns(int call, int64_t ms)
{
	return call == SLEEP ? (ms + 999) / 1000 * SEC : ms * MS;
}

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

/* A peer: a coroutine (or, in the plain runs of differential tests and
 * in tests of the alone path, a real thread) that acts after a delay. */
struct peer {
	void (*fn)(struct peer *);
	struct tl_runner run;
	int fd;
	int64_t delay;
	int at; /* the step at which it acted */
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	if (p->run.thread) {
		struct timespec ts = { p->delay / SEC, p->delay % SEC };
		nanosleep(&ts, NULL);
	} else {
		weft_sleep(p->delay);
	}
	p->at = tl_next_step();
	p->fn(p);
	return NULL;
}

/* Starts fn(p) after p->delay; returns 0 or -1. */
static int peer_start(struct peer *p, void (*fn)(struct peer *), bool thread)
{
	p->fn = fn;
	p->at = 0;
	return tl_runner_start(&p->run, peer_main, p, thread);
}

static void peer_join(struct peer *p)
{
	tl_runner_join(&p->run);
}

static void go(struct peer *p, void (*fn)(struct peer *), int fd,
	       int64_t delay)
{
	p->fd = fd;
	p->delay = delay;
	ck_assert_int_eq(peer_start(p, fn, false), 0);
}

static void count_run(struct peer *p)
{
	(void)p;
}

/* ---- parking ------------------------------------------------------------ */

START_TEST(sleep_parks_while_others_run)
{
	struct tl_ticker t;
	int64_t ms = _i == SLEEP ? 1000 : 30;

	tl_ticker_start(&t);
	int64_t t0 = tl_mono_ns();
	int r = do_sleep(_i, ms);
	int64_t took = tl_mono_ns() - t0;
	ck_assert_msg(r == 0, "%s gave %d (errno %d)", call_name[_i], r, errno);
	ck_assert_int_ge(took, slept_ns(_i, ms));
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

START_TEST(usleep_of_a_million_microseconds_or_more_sleeps)
{
	struct tl_ticker t;

	tl_ticker_start(&t);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(usleep(1000000), 0);
	ck_assert_int_eq(errno, 0);
	ck_assert_int_ge(tl_mono_ns() - t0, SEC);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

START_TEST(clock_nanosleep_for_a_time_parks_on_each_clock)
{
	struct timespec ts = { 0, 20 * MS };
	struct tl_ticker t;

	tl_ticker_start(&t);
	int64_t t0 = clock_ns(clocks[_i]);
	int r = clock_nanosleep(clocks[_i], 0, &ts, NULL);
	ck_assert_msg(r == 0, "%s gave %d", clock_name[_i], r);
	ck_assert_int_ge(clock_ns(clocks[_i]) - t0, 20 * MS);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

START_TEST(clock_nanosleep_to_a_time_parks_until_then_on_each_clock)
{
	struct tl_ticker t;

	tl_ticker_start(&t);
	int64_t until = clock_ns(clocks[_i]) + 30 * MS;
	struct timespec ts = { until / SEC, until % SEC };
	int r = clock_nanosleep(clocks[_i], TIMER_ABSTIME, &ts, NULL);
	ck_assert_msg(r == 0, "%s gave %d", clock_name[_i], r);
	ck_assert_int_ge(clock_ns(clocks[_i]), until);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

/* Sleepers with different times wake in the order of their ends. */
struct sleeper {
	int call;
	int64_t ms;
	int at;
	weft_wg *wg;
};

static void sleep_one(void *arg)
{
	struct sleeper *s = arg;

	do_sleep(s->call, s->ms);
	s->at = tl_next_step();
	weft_wg_done(s->wg);
}

START_TEST(sleepers_wake_in_the_order_of_their_ends)
{
	weft_wg wg = WEFT_WG_INIT;
	/* Under valgrind a first run of the sleep path can take longer than
	 * the 15 ms between two ends: ten times the gaps there. */
	int k = RUNNING_ON_VALGRIND ? 10 : 1;
	struct sleeper s[3] = {
		{ .call = _i, .ms = 40 * k, .wg = &wg },
		{ .call = _i, .ms = 10 * k, .wg = &wg },
		{ .call = _i, .ms = 25 * k, .wg = &wg },
	};

	weft_wg_add(&wg, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_go(sleep_one, &s[i]), 0);
	weft_wg_wait(&wg);
	ck_assert_int_lt(s[1].at, s[2].at);
	ck_assert_int_lt(s[2].at, s[0].at);
}
END_TEST

/* ---- not waiting -------------------------------------------------------- */

START_TEST(a_sleep_of_zero_lets_the_others_run)
{
	struct peer p;

	go(&p, count_run, -1, 0);
	ck_assert_int_eq(do_sleep(_i, 0), 0);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(clock_nanosleep_to_a_time_passed_returns_at_once)
{
	struct timespec ts = { 0, 0 };
	struct peer p;

	go(&p, count_run, -1, 0);
	ck_assert_int_eq(clock_nanosleep(clocks[_i], TIMER_ABSTIME, &ts, NULL),
			 0);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(a_parked_nanosleep_leaves_rem_alone)
{
	struct timespec ts = { 0, 5 * MS }, rem = { 77, 77 };
	struct tl_ticker t;

	tl_ticker_start(&t);
	ck_assert_int_eq(nanosleep(&ts, &rem), 0);
	ck_assert_int_eq(clock_nanosleep(CLOCK_REALTIME, 0, &ts, &rem), 0);
	ck_assert_int_eq(rem.tv_sec, 77);
	ck_assert_int_eq(rem.tv_nsec, 77);
	/* Nor does it read it: a bad rem is no error. */
	ck_assert_int_eq(nanosleep(&ts, bad_ptr), 0);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

/* ---- outside a coroutine, and alone ------------------------------------- */

START_TEST(sleep_outside_a_coroutine_is_libcs)
{
	int64_t ms = _i == SLEEP ? 1000 : 10;
	int64_t t0 = tl_mono_ns();

	ck_assert_int_eq(do_sleep(_i, ms), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, slept_ns(_i, ms));
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(sleep_alone_blocks_the_thread)
{
	int64_t ms = _i == SLEEP ? 1000 : 20;

	weft_id();
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(do_sleep(_i, ms), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, slept_ns(_i, ms));
}
END_TEST

START_TEST(sleep_alone_is_interrupted_by_a_signal)
{
	struct timespec ts = { 2, 0 }, rem = { 0, 0 };
	int r;

	weft_id();
	tl_alarm_in(50);
	errno = 0;
	switch (_i) {
	case SLEEP:
		/* The seconds not slept. */
		r = (int)sleep(2);
		ck_assert_int_ge(r, 1);
		ck_assert_int_le(r, 2);
		break;
	case USLEEP:
		ck_assert_int_eq(usleep(2000000), -1);
		ck_assert_int_eq(errno, EINTR);
		break;
	case NANOSLEEP:
		ck_assert_int_eq(nanosleep(&ts, &rem), -1);
		ck_assert_int_eq(errno, EINTR);
		break;
	default:
		ck_assert_int_eq(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem),
				 EINTR);
		break;
	}
	if (_i >= NANOSLEEP) {
		/* The time left. */
		ck_assert_int_lt(rem.tv_sec * SEC + rem.tv_nsec, 2 * SEC);
		ck_assert_int_gt(rem.tv_sec * SEC + rem.tv_nsec, 0);
	}
	ck_assert_int_eq(tl_handled, 1);
}
END_TEST

START_TEST(clock_nanosleep_to_a_time_alone_is_interrupted_by_a_signal)
{
	int64_t until = clock_ns(CLOCK_MONOTONIC) + 2 * SEC;
	struct timespec ts = { until / SEC, until % SEC };
	struct timespec rem = { 77, 77 };

	weft_id();
	tl_alarm_in(50);
	ck_assert_int_eq(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
					 &rem), EINTR);
	ck_assert_int_eq(rem.tv_sec, 77);
	ck_assert_int_eq(tl_handled, 1);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(nanosleep_errors_are_libcs)
{
	static const struct timespec bad[] = {
		{ 0, 1000000000 }, { 0, -1 }, { -1, 0 },
	};
	struct peer p;

	go(&p, count_run, -1, 5 * MS);
	errno = 0;
	ck_assert_int_eq(nanosleep(bad_ptr, NULL), -1);
	ck_assert_int_eq(errno, EFAULT);
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		ck_assert_int_eq(nanosleep(&bad[i], NULL), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(clock_nanosleep_errors_are_libcs)
{
	struct timespec ok = { 0, 1000 }, nsec = { 0, 1000000000 };
	struct timespec minus = { -1, 0 };
	struct peer p;

	go(&p, count_run, -1, 5 * MS);
	ck_assert_int_eq(clock_nanosleep(100, 0, &ok, NULL), EINVAL);
	ck_assert_int_eq(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ok, NULL),
			 EINVAL);
	ck_assert_int_eq(clock_nanosleep(CLOCK_MONOTONIC_RAW, 0, &ok, NULL),
			 ENOTSUP);
	ck_assert_int_eq(clock_nanosleep(CLOCK_MONOTONIC, 0, bad_ptr, NULL),
			 EFAULT);
	ck_assert_int_eq(clock_nanosleep(CLOCK_REALTIME, 0, &nsec, NULL),
			 EINVAL);
	ck_assert_int_eq(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &minus,
					 NULL), EINVAL);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

/* What one step gave: the result, errno, and rem. */
struct rec {
	int line;
	int ret;
	int err;
	struct timespec rem;
};

struct record {
	int n;
	int ticks; /* the weft run's ticker: it must have run */
	struct rec r[64];
};

static void note_at(struct record *rc, int line, int ret, int err,
		    const struct timespec *rem)
{
	if (rc->n >= (int)(sizeof rc->r / sizeof rc->r[0]))
		return;
	struct rec *x = &rc->r[rc->n++];
	memset(x, 0, sizeof *x);
	x->line = line;
	x->ret = ret;
	x->err = ret < 0 ? err : 0;
	x->rem = *rem;
}

#define NOTE(rc, expr, rem)                                                  \
	do {                                                                 \
		errno = 0;                                                   \
		int ret_ = (int)(expr);                                      \
		note_at(rc, __LINE__, ret_, errno, rem);                     \
	} while (0)

/* The same steps, with libc alone or with weft (a ticker keeps the
 * caller from being alone, so every sleep parks). */
static void sleep_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	static const struct timespec bad[] = {
		{ 0, 1000000000 }, { 0, -1 }, { -1, 0 },
	};
	struct timespec ts = { 0, 5 * MS }, rem = { 77, 77 };
	struct tl_ticker t;

	(void)arg;
	if (weft)
		tl_ticker_start(&t);
	NOTE(rc, sleep(0), &rem);
	NOTE(rc, usleep(0), &rem);
	NOTE(rc, usleep(5000), &rem);
	NOTE(rc, nanosleep(&ts, &rem), &rem);
	NOTE(rc, nanosleep(bad_ptr, &rem), &rem);
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		NOTE(rc, nanosleep(&bad[i], &rem), &rem);
	for (int c = 0; c < NCLOCKS; c++) {
		int64_t until = clock_ns(clocks[c]) + 5 * MS;
		struct timespec abs = { until / SEC, until % SEC };
		NOTE(rc, clock_nanosleep(clocks[c], 0, &ts, &rem), &rem);
		NOTE(rc, clock_nanosleep(clocks[c], TIMER_ABSTIME, &abs, &rem),
		     &rem);
		NOTE(rc, clock_nanosleep(clocks[c], 0, bad_ptr, &rem), &rem);
		for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
			NOTE(rc, clock_nanosleep(clocks[c], 0, &bad[i], &rem),
			     &rem);
	}
	NOTE(rc, clock_nanosleep(100, 0, &ts, &rem), &rem);
	NOTE(rc, clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ts, &rem), &rem);
	NOTE(rc, clock_nanosleep(CLOCK_MONOTONIC_RAW, 0, &ts, &rem), &rem);
	if (weft)
		rc->ticks = tl_ticker_stop(&t);
}

/* Runs script both ways and compares the records step by step. */
static void differ(tl_script_fn *script, int arg,
		   const char *what)
{
	struct record plain, woven;

	tl_run_script(script, arg, false, &plain, sizeof plain);
	tl_run_script(script, arg, true, &woven, sizeof woven);
	ck_assert_int_gt(plain.n, 0);
	ck_assert_int_gt(woven.ticks, 0);
	for (int i = 0; i < plain.n || i < woven.n; i++) {
		struct rec *p = &plain.r[i], *w = &woven.r[i];
		ck_assert_msg(memcmp(p, w, sizeof *p) == 0,
			      "%s: step %d (line %d/%d): libc gave %d (errno "
			      "%d, rem %ld.%09ld), weft %d (errno %d, rem "
			      "%ld.%09ld)", what, i, p->line, w->line, p->ret,
			      p->err, (long)p->rem.tv_sec, p->rem.tv_nsec,
			      w->ret, w->err, (long)w->rem.tv_sec,
			      w->rem.tv_nsec);
	}
	ck_assert_int_eq(plain.n, woven.n);
}

START_TEST(sleeps_give_what_libc_gives)
{
	differ(sleep_script, 0, "sleeps");
}
END_TEST

/* ---- the suite ---------------------------------------------------------- */

Suite *suite_hook_sleep(void)
{
	Suite *s = suite_create("hook_sleep");
	TCase *tc;

	tc = tcase_create("parking");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, sleep_parks_while_others_run, 0, NCALLS);
	tcase_add_test(tc, usleep_of_a_million_microseconds_or_more_sleeps);
	tcase_add_loop_test(tc, clock_nanosleep_for_a_time_parks_on_each_clock,
			    0, NCLOCKS);
	tcase_add_loop_test(
		tc, clock_nanosleep_to_a_time_parks_until_then_on_each_clock, 0,
		NCLOCKS);
	tcase_add_loop_test(tc, sleepers_wake_in_the_order_of_their_ends,
			    USLEEP, NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("not_waiting");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, a_sleep_of_zero_lets_the_others_run, 0, NCALLS);
	tcase_add_loop_test(tc, clock_nanosleep_to_a_time_passed_returns_at_once,
			    0, NCLOCKS);
	tcase_add_test(tc, a_parked_nanosleep_leaves_rem_alone);
	suite_add_tcase(s, tc);

	tc = tcase_create("pass_through");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, sleep_outside_a_coroutine_is_libcs, 0, NCALLS);
	tcase_add_loop_test(tc, sleep_alone_blocks_the_thread, 0, NCALLS);
	tcase_add_loop_test(tc, sleep_alone_is_interrupted_by_a_signal, 0,
			    NCALLS);
	tcase_add_test(
		tc, clock_nanosleep_to_a_time_alone_is_interrupted_by_a_signal);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, nanosleep_errors_are_libcs);
	tcase_add_test(tc, clock_nanosleep_errors_are_libcs);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, sleeps_give_what_libc_gives);
	suite_add_tcase(s, tc);
	return s;
}
