/* test_stack.c - coroutine stacks: overflow ends the process with a clear
 * message, legal depth works, and stacks are reused. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

#define KiB ((size_t)1024)

/* ---- helpers ------------------------------------------------------------ */

/* Asserts that status is death by SIGABRT and that out is one line that
 * names the coroutine, its stack size and the setting that raises it. */
static void assert_overflow_report(int status, const char *out, const char *name,
				   const char *size)
{
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		      "child did not die of SIGABRT (status %#x); stderr: %s", status, out);
	ck_assert_msg(tl_count_lines(out) == 1 && out[strlen(out) - 1] == '\n',
		      "not one line: \"%s\"", out);
	ck_assert_msg(strstr(out, name) != NULL, "no coroutine name \"%s\" in: %s",
		      name, out);
	ck_assert_msg(strstr(out, size) != NULL, "no stack size \"%s\" in: %s", size, out);
	ck_assert_msg(strstr(out, "WEFT_STACK_SIZE") != NULL,
		      "no hint at WEFT_STACK_SIZE in: %s", out);
}

/* Set to LONG_MAX (unbounded) or a depth; volatile so the compiler can
 * neither see the recursion as infinite nor flatten it. */
static volatile long depth_limit = LONG_MAX;

/* Recurses n frames of at least 1 KiB each, touching both ends of every
 * frame.  Returns the sum of the depths, computed on the way back. */
__attribute__((noinline)) static long recurse(long n)
{
	volatile char pad[1024];
	long below;

	pad[0] = (char)n;
	pad[sizeof pad - 1] = (char)n;
	if (n >= depth_limit)
		return n;
	below = recurse(n + 1);
	return below + (unsigned char)pad[0] - (unsigned char)pad[sizeof pad - 1] + n;
}

static long sum_to(long n)
{
	return n * (n + 1) / 2;
}

static void *overflow(void *arg)
{
	if (arg)
		weft_set_name(arg);
	depth_limit = LONG_MAX;
	return (void *)recurse(1);
}

static void overflow_detached(void *arg)
{
	overflow(arg);
}

/* ---- overflow ----------------------------------------------------------- */

START_TEST(stack_overflow_ends_the_process_with_SIGABRT)
{
	weft_co *co = weft_spawn(overflow, NULL, 64 * KiB);

	ck_assert_ptr_nonnull(co);
	weft_join(co, NULL);
	ck_abort_msg("a coroutine overflowed its stack and the process went on");
}
END_TEST

static int child_overflows_64_KiB(void *arg)
{
	weft_co *co = weft_spawn(overflow, arg, 64 * KiB);

	if (!co)
		return 90;
	weft_join(co, NULL);
	return 91;
}

START_TEST(stack_overflow_message_names_the_coroutine_its_size_and_the_setting)
{
	char out[1024];
	int status = tl_run_in_child(child_overflows_64_KiB, "deep-diver", out, sizeof out);

	assert_overflow_report(status, out, "deep-diver", "64 KiB");
}
END_TEST

static int child_overflows_default_stack(void *arg)
{
	if (weft_go(overflow_detached, arg) != 0)
		return 90;
	weft_sleep(5 * 1000000000LL);
	return 91;
}

START_TEST(stack_overflow_of_a_default_stack_reports_256_KiB)
{
	char out[1024];
	/* WEFT_STACK_SIZE in the environment changes the default. */
	const char *size = getenv("WEFT_STACK_SIZE") ? "KiB" : "256 KiB";
	int status = tl_run_in_child(child_overflows_default_stack, "default-size", out,
				  sizeof out);

	assert_overflow_report(status, out, "default-size", size);
}
END_TEST

static int child_overflows_a_rounded_stack(void *arg)
{
	weft_co *co = weft_spawn(overflow, arg, 64 * KiB + 1);

	if (!co)
		return 90;
	weft_join(co, NULL);
	return 91;
}

START_TEST(stack_overflow_reports_the_size_rounded_up_to_pages)
{
	char out[1024], size[32];
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t rounded = (64 * KiB + 1 + page - 1) / page * page;
	int status = tl_run_in_child(child_overflows_a_rounded_stack, "rounded", out,
				  sizeof out);

	snprintf(size, sizeof size, "%zu KiB", rounded / KiB);
	assert_overflow_report(status, out, "rounded", size);
}
END_TEST

static void thread_overflows(void *arg)
{
	weft_co *co = weft_spawn(overflow, arg, 64 * KiB);

	if (co)
		weft_join(co, NULL);
}

static int child_overflows_in_another_thread(void *arg)
{
	pthread_t tid;

	if (weft_thread(&tid, thread_overflows, arg) != 0)
		return 90;
	pthread_join(tid, NULL);
	return 91;
}

START_TEST(stack_overflow_in_another_thread_is_reported_too)
{
	char out[1024];
	int status = tl_run_in_child(child_overflows_in_another_thread, "far-away", out,
				  sizeof out);

	assert_overflow_report(status, out, "far-away", "64 KiB");
}
END_TEST

/* ---- legal depth -------------------------------------------------------- */

static void *recurse_to(void *arg)
{
	depth_limit = (long)arg;
	weft_yield();
	return (void *)recurse(1);
}

static long run_depth(long depth, size_t stack_size)
{
	void *result = NULL;
	weft_co *co = weft_spawn(recurse_to, (void *)depth, stack_size);

	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_join(co, &result), 0);
	return (long)result;
}

START_TEST(deep_recursion_within_the_stack_works)
{
	/* About half of each stack, in frames of just over 1 KiB. */
	ck_assert_int_eq(run_depth(32, 64 * KiB), sum_to(32));
	ck_assert_int_eq(run_depth(128, 256 * KiB), sum_to(128));
	ck_assert_int_eq(run_depth(128, 0), sum_to(128));
	ck_assert_int_eq(run_depth(900, 2048 * KiB), sum_to(900));
}
END_TEST

START_TEST(tiny_stack_request_still_gets_16_KiB)
{
	ck_assert_int_eq(run_depth(8, 1), sum_to(8));
	ck_assert_int_eq(run_depth(8, 4 * KiB), sum_to(8));
}
END_TEST

/* ---- reuse -------------------------------------------------------------- */

static long rss_bytes(void)
{
	long pages_total = 0, pages_resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &pages_total, &pages_resident), 2);
	fclose(f);
	return pages_resident * sysconf(_SC_PAGESIZE);
}

static void *touch_32_KiB(void *arg)
{
	volatile char buf[32 * 1024];

	for (size_t i = 0; i < sizeof buf; i += 512)
		buf[i] = (char)i;
	weft_yield(); /* the whole batch is alive at once */
	return (void *)(long)(buf[512] + (long)arg);
}

static void run_batch(int n)
{
	static weft_co *co[1000];

	ck_assert_int_le(n, 1000);
	for (int i = 0; i < n; i++) {
		co[i] = weft_spawn(touch_32_KiB, (void *)(long)i, 0);
		ck_assert_ptr_nonnull(co[i]);
	}
	for (int i = 0; i < n; i++) {
		void *r = NULL;

		ck_assert_int_eq(weft_join(co[i], &r), 0);
		ck_assert_int_eq((long)r, (long)(char)512 + i);
	}
}

START_TEST(stacks_are_reused_without_growing_memory)
{
	long first, last;

	run_batch(1000);
	first = rss_bytes();
	for (int batch = 2; batch <= 20; batch++)
		run_batch(1000);
	last = rss_bytes();
	ck_assert_msg(last <= 2 * first,
		      "resident memory grew from %ld KiB after 1,000 coroutines "
		      "to %ld KiB after 20,000", first / 1024, last / 1024);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_stack(void)
{
	Suite *s = suite_create("stack");
	TCase *tc;

	tc = tcase_create("overflow");
	tcase_set_timeout(tc, 10);
	tcase_add_test_raise_signal(tc, stack_overflow_ends_the_process_with_SIGABRT,
				    SIGABRT);
	tcase_add_test(tc, stack_overflow_message_names_the_coroutine_its_size_and_the_setting);
	tcase_add_test(tc, stack_overflow_of_a_default_stack_reports_256_KiB);
	tcase_add_test(tc, stack_overflow_reports_the_size_rounded_up_to_pages);
	tcase_add_test(tc, stack_overflow_in_another_thread_is_reported_too);
	suite_add_tcase(s, tc);

	tc = tcase_create("depth");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, deep_recursion_within_the_stack_works);
	tcase_add_test(tc, tiny_stack_request_still_gets_16_KiB);
	suite_add_tcase(s, tc);

	tc = tcase_create("reuse");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, stacks_are_reused_without_growing_memory);
	suite_add_tcase(s, tc);

	return s;
}
