/* test_popen.c - popen and pclose: pclose parks while the child runs,
 * with glibc's status and errors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "real.h"
#include "weft.h"
#include "testlib.h"

START_TEST(pclose_parks_until_the_child_exits_and_gives_its_status)
{
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	FILE *fp = popen("sleep 0.1; exit 3", "r");
	ck_assert_ptr_nonnull(fp);
	int st = pclose(fp);
	t.stop = 1;
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	ck_assert_int_gt(t.ticks, 0); /* ran while pclose waited */
}
END_TEST

START_TEST(pclose_of_a_reader_gives_what_the_child_wrote)
{
	struct tl_ticker t = { 0 };
	char line[32] = "";

	weft_go(tl_tick_first, &t);
	FILE *fp = popen("echo hello", "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
	ck_assert_str_eq(line, "hello\n");
	ck_assert_int_eq(pclose(fp), 0);
	t.stop = 1;
}
END_TEST

/* The child reads to EOF: pclose must close the pipe before it waits,
 * and flush what the stream still holds. */
START_TEST(pclose_of_a_writer_flushes_and_gives_the_child_EOF)
{
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	FILE *fp = popen("n=$(wc -c); exit $n", "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_ge(fputs("12345", fp), 0); /* stays in the buffer */
	int st = pclose(fp);
	t.stop = 1;
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 5);
}
END_TEST

/* The child is killed by SIGPIPE, as without weft, if it writes after
 * pclose closed its pipe. */
START_TEST(pclose_of_a_reader_that_stops_early_gives_the_child_SIGPIPE)
{
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	FILE *fp = popen("sleep 0.05; while :; do echo y; done", "r");
	ck_assert_ptr_nonnull(fp);
	int st = pclose(fp);
	t.stop = 1;
	ck_assert(WIFSIGNALED(st) || WIFEXITED(st));
	if (WIFSIGNALED(st))
		ck_assert_int_eq(WTERMSIG(st), SIGPIPE);
}
END_TEST

START_TEST(pclose_of_a_child_reaped_elsewhere_fails_with_ECHILD)
{
	struct tl_ticker t = { 0 };
	int st;

	weft_go(tl_tick_first, &t);
	FILE *fp = popen("exit 0", "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_gt(weft__libc()->wait(&st), 0);
	errno = 0;
	ck_assert_int_eq(pclose(fp), -1);
	ck_assert_int_eq(errno, ECHILD);
	t.stop = 1;

	/* libc alone says the same. */
	fp = weft__libc()->popen("exit 0", "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_gt(weft__libc()->wait(&st), 0);
	errno = 0;
	ck_assert_int_eq(weft__libc()->pclose(fp), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(popen_with_a_bad_mode_fails_with_EINVAL_as_libc)
{
	weft_self();
	errno = 0;
	ck_assert_ptr_null(popen("true", "x"));
	int err = errno;
	errno = 0;
	ck_assert_ptr_null(weft__libc()->popen("true", "x"));
	ck_assert_int_eq(err, errno);
}
END_TEST

START_TEST(pclose_alone_and_outside_a_coroutine_wait_for_real)
{
	FILE *fp = popen("exit 4", "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_null(weft__running);
	int st = pclose(fp);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 4);

	weft_self();
	fp = popen("exit 6", "w");
	ck_assert_ptr_nonnull(fp);
	st = pclose(fp);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 6);
	ck_assert_int_eq(tl_thread_count(), 1);
}
END_TEST

/* What popen and pclose gave, run with libc alone and with weft. */
struct recs {
	int n;
	struct tl_rec r[16];
};

static void script(void *rec, int arg, bool weft)
{
	static const char *cmds[] = { "exit 0", "exit 9", "kill -TERM $$",
				      "no-such-command-weft 2>/dev/null" };
	struct recs *rc = rec;
	struct tl_ticker t = { 0 };

	(void)arg;
	if (weft)
		weft_go(tl_tick_first, &t);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		FILE *fp = popen(cmds[i], i % 2 ? "w" : "r");
		TL_NOTE(rc, fp != NULL, NULL);
		if (fp != NULL)
			TL_NOTE(rc, pclose(fp), NULL);
	}
	t.stop = 1;
}

START_TEST(popen_and_pclose_give_what_libc_gives)
{
	struct recs plain, woven;

	tl_run_script(script, 0, false, &plain, sizeof plain);
	tl_run_script(script, 0, true, &woven, sizeof woven);
	tl_compare_recs("popen", plain.r, plain.n, woven.r, woven.n);
}
END_TEST

Suite *suite_popen(void)
{
	Suite *s = suite_create("popen");
	TCase *tc = tcase_create("pclose");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc,
		pclose_parks_until_the_child_exits_and_gives_its_status);
	tcase_add_test(tc, pclose_of_a_reader_gives_what_the_child_wrote);
	tcase_add_test(tc, pclose_of_a_writer_flushes_and_gives_the_child_EOF);
	tcase_add_test(tc,
		pclose_of_a_reader_that_stops_early_gives_the_child_SIGPIPE);
	tcase_add_test(tc, pclose_of_a_child_reaped_elsewhere_fails_with_ECHILD);
	tcase_add_test(tc, popen_with_a_bad_mode_fails_with_EINVAL_as_libc);
	tcase_add_test(tc, pclose_alone_and_outside_a_coroutine_wait_for_real);
	tcase_add_test(tc, popen_and_pclose_give_what_libc_gives);
	suite_add_tcase(s, tc);
	return s;
}
