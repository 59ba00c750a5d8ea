/* test_fdreuse.c - an fd number closed on one thread and reused on
 * another: the close's notice reaches the other thread's scheduler late,
 * and must not end a wait on the new file that now has the number.
 * (Found by the fuzz target, tests/fuzz/calls.c.) */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

struct pair {
	int fd[2];
};

/* A real thread: closes both ends of the pipe, through the wrappers. */
static void *close_pair(void *arg)
{
	struct pair *p = arg;

	close(p->fd[0]);
	close(p->fd[1]);
	return NULL;
}

/* A coroutine: a millisecond later, writes one byte. */
static void write_later(void *arg)
{
	int fd = *(int *)arg;

	weft_sleep(MS);
	ck_assert_int_eq(write(fd, "x", 1), 1);
}

START_TEST(read_on_a_number_another_thread_closed_and_this_one_reused)
{
	struct pair old, new;
	pthread_t tid;
	char c = 0;

	weft_yield(); /* this thread's scheduler exists */
	tl_make_pipe(old.fd);
	ck_assert_int_eq(pthread_create(&tid, NULL, close_pair, &old), 0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	tl_make_pipe(new.fd);
	ck_assert_int_eq(new.fd[0], old.fd[0]); /* the numbers came back */
	ck_assert_int_eq(weft_go(write_later, &new.fd[1]), 0);
	/* Parks (another coroutine exists), then the loop runs: the other
	 * thread's notice of its close arrives now, for the old file. */
	ck_assert_int_eq(read(new.fd[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	close(new.fd[0]);
	close(new.fd[1]);
}
END_TEST

Suite *suite_fdreuse(void)
{
	Suite *s = suite_create("fdreuse");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		       read_on_a_number_another_thread_closed_and_this_one_reused);
	suite_add_tcase(s, tc);
	return s;
}
