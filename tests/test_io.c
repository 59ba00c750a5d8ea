/* test_io.c - the machinery all fd wrappers share (hook/io.c). */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.h"
#include "weft.h"
#include "testlib.h"

static void idle_forever(void *arg)
{
	(void)arg;
	weft_sleep(60 * 1000000000LL);
}

static void send_later(void *arg)
{
	int fd = *(int *)arg;

	weft_sleep(5 * 1000000);
	ck_assert_int_eq(write(fd, "later", 5), 5);
}

/* A short read marks the stream drained, so the next read parks before it
 * tries; data that is already there by then must still come at once. */
START_TEST(read_after_a_short_read_gets_data_that_came_meanwhile)
{
	int sv[2];
	char buf[100];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(weft_go(idle_forever, NULL), 0);
	ck_assert_int_eq(write(sv[1], "first", 5), 5);
	ck_assert_int_eq(read(sv[0], buf, sizeof buf), 5);
	ck_assert(weft__fd_flags(weft__fd_get(sv[0])) & WEFT__FD_DRAINED);
	ck_assert_int_eq(write(sv[1], "second", 6), 6);
	ck_assert_int_eq(read(sv[0], buf, sizeof buf), 6);
	ck_assert_mem_eq(buf, "second", 6);
}
END_TEST

/* A full read clears the mark: the queue may hold more. */
START_TEST(read_that_fills_the_buffer_does_not_mark_the_stream_drained)
{
	int sv[2];
	char buf[4];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(weft_go(idle_forever, NULL), 0);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	ck_assert_int_eq(read(sv[0], buf, sizeof buf), 1);
	ck_assert_int_eq(write(sv[1], "12345678", 8), 8);
	ck_assert_int_eq(read(sv[0], buf, sizeof buf), 4);
	ck_assert(!(weft__fd_flags(weft__fd_get(sv[0])) & WEFT__FD_DRAINED));
	ck_assert_int_eq(recv(sv[0], buf, sizeof buf, 0), 4);
	ck_assert_mem_eq(buf, "5678", 4);
}
END_TEST

/* After a drained read the next one parks, and wakes for data sent
 * later by another coroutine. */
START_TEST(read_after_a_short_read_parks_until_data_comes)
{
	int sv[2];
	char buf[100];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], "a", 1), 1);
	ck_assert_int_eq(weft_go(send_later, &sv[1]), 0);
	ck_assert_int_eq(recv(sv[0], buf, sizeof buf, 0), 1);
	ck_assert_int_eq(recv(sv[0], buf, sizeof buf, 0), 5);
	ck_assert_mem_eq(buf, "later", 5);
}
END_TEST

Suite *suite_io(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("drained");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, read_after_a_short_read_gets_data_that_came_meanwhile);
	tcase_add_test(tc, read_that_fills_the_buffer_does_not_mark_the_stream_drained);
	tcase_add_test(tc, read_after_a_short_read_parks_until_data_comes);
	suite_add_tcase(s, tc);
	return s;
}
