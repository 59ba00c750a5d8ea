/* test_sched.c - the scheduler: yield order, fairness towards timers and
 * fds, the clock, and how the process ends. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

/* A trace of characters appended by coroutines in the order they run. */
struct trace {
	int n;
	char s[128];
};

static void trace_add(struct trace *t, char c)
{
	if (t->n < (int)sizeof t->s - 1)
		t->s[t->n++] = c;
}

static void write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* ---- yield order -------------------------------------------------------- */

struct rr_arg {
	struct trace *t;
	char letter;
	int rounds;
	weft_wg *wg;
};

static void append_and_yield(void *arg)
{
	struct rr_arg *r = arg;

	for (int i = 0; i < r->rounds; i++) {
		trace_add(r->t, r->letter);
		weft_yield();
	}
	if (r->wg)
		weft_wg_done(r->wg);
}

START_TEST(yield_runs_every_other_coroutine_once_in_fifo_order)
{
	struct trace t = { 0 };
	struct rr_arg a[3];

	for (int i = 0; i < 3; i++) {
		a[i] = (struct rr_arg){ &t, (char)('A' + i), 3, NULL };
		ck_assert_int_eq(weft_go(append_and_yield, &a[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		trace_add(&t, 'R');
		weft_yield();
	}
	ck_assert_str_eq(t.s, "RABCRABCRABC");
}
END_TEST

START_TEST(yielding_coroutines_take_turns_round_robin)
{
	struct trace t = { 0 };
	weft_wg wg = WEFT_WG_INIT;
	struct rr_arg a[4];

	weft_wg_add(&wg, 4);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct rr_arg){ &t, (char)('A' + i), 3, &wg };
		ck_assert_int_eq(weft_go(append_and_yield, &a[i]), 0);
	}
	weft_wg_wait(&wg);
	ck_assert_str_eq(t.s, "ABCDABCDABCD");
}
END_TEST

START_TEST(coroutines_with_fewer_rounds_drop_out_of_the_rotation)
{
	struct trace t = { 0 };
	weft_wg wg = WEFT_WG_INIT;
	struct rr_arg a[3];

	weft_wg_add(&wg, 3);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct rr_arg){ &t, (char)('A' + i), i + 1, &wg };
		ck_assert_int_eq(weft_go(append_and_yield, &a[i]), 0);
	}
	weft_wg_wait(&wg);
	ck_assert_str_eq(t.s, "ABCBCC");
}
END_TEST

/* ---- fairness ----------------------------------------------------------- */

/* Yields until *flag is set, for at most a few seconds so that a failing
 * scheduler cannot hang the test.  Returns how many times it yielded. */
static void *yield_until_flag(void *arg)
{
	volatile int *flag = arg;
	int64_t give_up = tl_mono_ns() + 3 * SEC;
	long n = 0;

	while (!*flag && n < 50000000L && tl_mono_ns() < give_up) {
		weft_yield();
		n++;
	}
	return (void *)n;
}

static void sleep_then_flag(void *arg)
{
	weft_sleep(10 * MS);
	*(volatile int *)arg = 1;
}

START_TEST(yield_loop_does_not_starve_a_sleeping_coroutine)
{
	volatile int flag = 0;
	weft_co *yielder;

	ck_assert_int_eq(weft_go(sleep_then_flag, (void *)&flag), 0);
	yielder = weft_spawn(yield_until_flag, (void *)&flag, 0);
	ck_assert_ptr_nonnull(yielder);
	ck_assert_int_eq(weft_join(yielder, NULL), 0);
	ck_assert_int_eq(flag, 1);
}
END_TEST

START_TEST(yield_loop_in_the_root_does_not_starve_a_sleeping_coroutine)
{
	volatile int flag = 0;

	ck_assert_int_eq(weft_go(sleep_then_flag, (void *)&flag), 0);
	yield_until_flag((void *)&flag);
	ck_assert_int_eq(flag, 1);
}
END_TEST

struct reader_arg {
	int fd;
	volatile int flag;
	int events;
};

static void wait_readable_then_flag(void *arg)
{
	struct reader_arg *r = arg;

	r->events = weft_wait_fd(r->fd, WEFT_READ, -1);
	r->flag = 1;
}

static void *write_after_10ms(void *arg)
{
	struct timespec ts = { 0, 10 * MS };

	nanosleep(&ts, NULL);
	write_all(*(int *)arg, "x");
	return NULL;
}

START_TEST(yield_loop_does_not_starve_an_fd_written_by_another_thread)
{
	int p[2];
	struct reader_arg r = { 0 };
	pthread_t writer;
	weft_co *yielder;

	ck_assert_int_eq(pipe(p), 0);
	r.fd = p[0];
	ck_assert_int_eq(weft_go(wait_readable_then_flag, &r), 0);
	yielder = weft_spawn(yield_until_flag, (void *)&r.flag, 0);
	ck_assert_ptr_nonnull(yielder);
	ck_assert_int_eq(pthread_create(&writer, NULL, write_after_10ms, &p[1]), 0);
	ck_assert_int_eq(weft_join(yielder, NULL), 0);
	ck_assert_int_eq(pthread_join(writer, NULL), 0);
	ck_assert_int_eq(r.flag, 1);
	ck_assert_int_eq(r.events, WEFT_READ);
}
END_TEST

static void sleep_then_write(void *arg)
{
	weft_sleep(5 * MS);
	write_all(*(int *)arg, "x");
}

START_TEST(yield_loop_does_not_starve_an_fd_written_after_a_timer)
{
	int p[2];
	struct reader_arg r = { 0 };
	weft_co *yielder;

	ck_assert_int_eq(pipe(p), 0);
	r.fd = p[0];
	ck_assert_int_eq(weft_go(wait_readable_then_flag, &r), 0);
	ck_assert_int_eq(weft_go(sleep_then_write, &p[1]), 0);
	yielder = weft_spawn(yield_until_flag, (void *)&r.flag, 0);
	ck_assert_ptr_nonnull(yielder);
	ck_assert_int_eq(weft_join(yielder, NULL), 0);
	ck_assert_int_eq(r.flag, 1);
	ck_assert_int_eq(r.events, WEFT_READ);
}
END_TEST

START_TEST(yield_with_nothing_else_runnable_returns_promptly)
{
	int64_t t0 = tl_mono_ns();

	for (int i = 0; i < 10000; i++)
		weft_yield();
	ck_assert_int_lt(tl_mono_ns() - t0, 2 * SEC);
}
END_TEST

static void sleep_long(void *arg)
{
	(void)arg;
	weft_sleep(60 * SEC);
}

static void wait_for_ever(void *arg)
{
	weft_wait_fd(*(int *)arg, WEFT_READ, -1);
}

START_TEST(yield_does_not_wait_for_parked_coroutines)
{
	int p[2];
	int64_t t0;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(weft_go(sleep_long, NULL), 0);
	ck_assert_int_eq(weft_go(wait_for_ever, &p[0]), 0);
	weft_yield(); /* both park */
	t0 = tl_mono_ns();
	for (int i = 0; i < 10000; i++)
		weft_yield();
	ck_assert_int_lt(tl_mono_ns() - t0, 2 * SEC);
}
END_TEST

/* ---- clock -------------------------------------------------------------- */

START_TEST(now_never_goes_backwards)
{
	int64_t last = weft_now();

	for (int i = 0; i < 100000; i++) {
		int64_t t = weft_now();

		ck_assert_int_ge(t, last);
		last = t;
		if (i % 1000 == 0)
			weft_yield();
	}
}
END_TEST

START_TEST(now_reads_the_monotonic_clock)
{
	for (int i = 0; i < 3; i++) {
		int64_t before = tl_mono_ns();
		int64_t now = weft_now();
		int64_t after = tl_mono_ns();

		ck_assert_int_ge(now, before);
		ck_assert_int_le(now, after);
		weft_sleep(1 * MS);
	}
}
END_TEST

START_TEST(now_advances_across_a_sleep)
{
	int64_t t0 = weft_now();

	weft_sleep(5 * MS);
	ck_assert_int_ge(weft_now() - t0, 5 * MS);
}
END_TEST

/* ---- how the process ends ----------------------------------------------- */

static void say_atexit(void)
{
	write_all(2, "atexit ran\n");
}

static void exit_3(void *arg)
{
	(void)arg;
	exit(3);
}

static int child_exits_from_a_coroutine(void *arg)
{
	weft_wg never = WEFT_WG_INIT;

	(void)arg;
	atexit(say_atexit);
	weft_go(exit_3, NULL);
	weft_wg_add(&never, 1);
	weft_wg_wait(&never); /* the coroutine ends the process first */
	write_all(2, "root woke\n");
	return 99;
}

START_TEST(exit_from_a_coroutine_runs_atexit_handlers)
{
	char out[256];
	int status = tl_run_in_child(child_exits_from_a_coroutine, NULL, out, sizeof out);

	ck_assert_msg(WIFEXITED(status), "child did not exit (status %#x), stderr: %s",
		      status, out);
	ck_assert_int_eq(WEXITSTATUS(status), 3);
	ck_assert_str_eq(out, "atexit ran\n");
}
END_TEST

static void thread_exits_5(void *arg)
{
	(void)arg;
	weft_go(exit_3, NULL);
	weft_sleep(1 * MS);
	/* Not reached if the coroutine above ended the process. */
	exit(5);
}

static int child_exits_from_another_thread(void *arg)
{
	pthread_t tid;

	(void)arg;
	atexit(say_atexit);
	if (weft_thread(&tid, thread_exits_5, NULL) != 0)
		return 98;
	pthread_join(tid, NULL);
	weft_sleep(60 * SEC);
	return 99;
}

START_TEST(exit_from_a_coroutine_of_another_thread_ends_the_process)
{
	char out[256];
	int status = tl_run_in_child(child_exits_from_another_thread, NULL, out, sizeof out);

	ck_assert_msg(WIFEXITED(status), "child did not exit (status %#x), stderr: %s",
		      status, out);
	ck_assert_int_eq(WEXITSTATUS(status), 3);
	ck_assert_str_eq(out, "atexit ran\n");
}
END_TEST

static void park_for_ever(void *arg)
{
	weft_sem s;

	(void)arg;
	weft_sem_init(&s, 0);
	weft_sem_wait(&s);
}

static void yield_for_ever(void *arg)
{
	(void)arg;
	for (;;)
		weft_yield();
}

static int child_returns_7_with_coroutines_left(void *arg)
{
	int p[2];

	(void)arg;
	atexit(say_atexit);
	if (pipe(p) != 0)
		return 98;
	weft_go(park_for_ever, NULL);
	weft_go(wait_for_ever, &p[0]);
	weft_go(sleep_long, NULL);
	weft_go(yield_for_ever, NULL);
	weft_yield(); /* all of them have run and parked or queued */
	return 7;     /* as main returning 7 */
}

START_TEST(main_return_value_is_the_status_even_with_coroutines_left)
{
	char out[256];
	int status = tl_run_in_child(child_returns_7_with_coroutines_left, NULL, out,
				  sizeof out);

	ck_assert_msg(WIFEXITED(status), "child did not exit (status %#x), stderr: %s",
		      status, out);
	ck_assert_int_eq(WEXITSTATUS(status), 7);
	ck_assert_str_eq(out, "atexit ran\n");
}
END_TEST

static int child_exits_from_a_coroutine_with_others_parked(void *arg)
{
	(void)arg;
	weft_go(park_for_ever, NULL);
	weft_go(sleep_long, NULL);
	weft_yield();
	weft_go(exit_3, NULL);
	weft_sleep(60 * SEC);
	return 99;
}

START_TEST(exit_from_a_coroutine_ends_the_process_with_others_parked)
{
	char out[256];
	int status = tl_run_in_child(child_exits_from_a_coroutine_with_others_parked,
				  NULL, out, sizeof out);

	ck_assert_msg(WIFEXITED(status), "child did not exit (status %#x), stderr: %s",
		      status, out);
	ck_assert_int_eq(WEXITSTATUS(status), 3);
	ck_assert_str_eq(out, "");
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_sched(void)
{
	Suite *s = suite_create("sched");
	TCase *tc;

	tc = tcase_create("yield");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, yield_runs_every_other_coroutine_once_in_fifo_order);
	tcase_add_test(tc, yielding_coroutines_take_turns_round_robin);
	tcase_add_test(tc, coroutines_with_fewer_rounds_drop_out_of_the_rotation);
	tcase_add_test(tc, yield_with_nothing_else_runnable_returns_promptly);
	tcase_add_test(tc, yield_does_not_wait_for_parked_coroutines);
	suite_add_tcase(s, tc);

	tc = tcase_create("fairness");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, yield_loop_does_not_starve_a_sleeping_coroutine);
	tcase_add_test(tc, yield_loop_in_the_root_does_not_starve_a_sleeping_coroutine);
	tcase_add_test(tc, yield_loop_does_not_starve_an_fd_written_by_another_thread);
	tcase_add_test(tc, yield_loop_does_not_starve_an_fd_written_after_a_timer);
	suite_add_tcase(s, tc);

	tc = tcase_create("clock");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, now_never_goes_backwards);
	tcase_add_test(tc, now_reads_the_monotonic_clock);
	tcase_add_test(tc, now_advances_across_a_sleep);
	suite_add_tcase(s, tc);

	tc = tcase_create("process");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, exit_from_a_coroutine_runs_atexit_handlers);
	tcase_add_test(tc, exit_from_a_coroutine_of_another_thread_ends_the_process);
	tcase_add_test(tc, main_return_value_is_the_status_even_with_coroutines_left);
	tcase_add_test(tc, exit_from_a_coroutine_ends_the_process_with_others_parked);
	suite_add_tcase(s, tc);

	return s;
}
