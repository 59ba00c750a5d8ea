/* test_fifo.c - opening a FIFO parks until the other side opens; every
 * other open is the real call. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "real.h"
#include "weft.h"
#include "testlib.h"

static char fifo[64];

static void make_fifo(void)
{
	snprintf(fifo, sizeof fifo, "/tmp/weft-fifo-%d", (int)getpid());
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
}

/* A real thread that opens the FIFO with the given flags after a nap
 * and keeps the fd open until the test ends. */
struct peer {
	int flags, fd;
};

static void *open_later(void *p)
{
	struct peer *peer = p;

	tl_raw_sleep_ms(50);
	peer->fd = weft__libc()->openat(AT_FDCWD, fifo, peer->flags, 0);
	return NULL;
}

/* Opens the FIFO with flags from the main coroutine while a ticker runs
 * and a thread opens the other side; returns the fd. */
static int open_beside_a_ticker(int flags, int other)
{
	struct tl_ticker t = { 0 };
	struct peer peer = { .flags = other, .fd = -1 };
	struct tl_runner r;

	make_fifo();
	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(tl_runner_start(&r, open_later, &peer, true), 0);
	int fd = open(fifo, flags);
	t.stop = 1;
	tl_runner_join(&r);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(peer.fd, 0);
	ck_assert_int_gt(t.ticks, 0); /* ran while open waited */
	/* The program's flags, not weft's. */
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(peer.fd);
	return fd;
}

START_TEST(fifo_open_for_reading_parks_until_a_writer_opens)
{
	int fd = open_beside_a_ticker(O_RDONLY, O_WRONLY);

	char c;
	ck_assert_int_eq(read(fd, &c, 1), 0); /* the writer has gone */
	close(fd);
	unlink(fifo);
}
END_TEST

START_TEST(fifo_open_for_writing_parks_until_a_reader_opens)
{
	int fd = open_beside_a_ticker(O_WRONLY | O_CLOEXEC, O_RDONLY);

	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	unlink(fifo);
}
END_TEST

START_TEST(fifo_openat_and_open64_park_too)
{
	struct tl_ticker t = { 0 };
	struct peer peer = { .flags = O_RDONLY, .fd = -1 };
	struct tl_runner r;

	make_fifo();
	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(tl_runner_start(&r, open_later, &peer, true), 0);
	int fd = openat(AT_FDCWD, fifo, O_WRONLY);
	tl_runner_join(&r);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(t.ticks, 0);
	close(fd);
	close(peer.fd);

	t.ticks = 0;
	peer = (struct peer){ .flags = O_WRONLY, .fd = -1 };
	ck_assert_int_eq(tl_runner_start(&r, open_later, &peer, true), 0);
	fd = open64(fifo, O_RDONLY);
	tl_runner_join(&r);
	t.stop = 1;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(t.ticks, 0);
	close(fd);
	close(peer.fd);
	unlink(fifo);
}
END_TEST

START_TEST(fifo_open_for_writing_with_a_reader_there_does_not_wait)
{
	struct tl_ticker t = { 0 };

	make_fifo();
	weft_go(tl_tick_first, &t);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	int fd = open(fifo, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(tl_thread_count(), 1); /* no pool thread */
	ck_assert_int_eq(write(fd, "x", 1), 1);
	char c;
	ck_assert_int_eq(read(rd, &c, 1), 1);
	t.stop = 1;
	close(fd);
	close(rd);
	unlink(fifo);
}
END_TEST

START_TEST(fifo_O_RDWR_and_O_NONBLOCK_never_wait)
{
	struct tl_ticker t = { 0 };

	make_fifo();
	weft_go(tl_tick_first, &t);
	int fd = open(fifo, O_RDWR);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	close(fd);
	errno = 0;
	ck_assert_int_eq(open(fifo, O_WRONLY | O_NONBLOCK), -1);
	ck_assert_int_eq(errno, ENXIO);
	ck_assert_int_eq(tl_thread_count(), 1);
	t.stop = 1;
	unlink(fifo);
}
END_TEST

START_TEST(regular_files_and_devices_open_at_once)
{
	struct tl_ticker t = { 0 };
	char path[64];

	weft_go(tl_tick_first, &t);
	snprintf(path, sizeof path, "/tmp/weft-fifo-file-%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = creat(path, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(tl_thread_count(), 1);
	ck_assert_int_eq(t.ticks, 0); /* nothing parked */
	t.stop = 1;
	unlink(path);
}
END_TEST

START_TEST(fifo_open_outside_a_coroutine_blocks_for_real)
{
	struct peer peer = { .flags = O_WRONLY, .fd = -1 };
	struct tl_runner r;

	make_fifo();
	ck_assert_int_eq(tl_runner_start(&r, open_later, &peer, true), 0);
	int fd = open(fifo, O_RDONLY);
	ck_assert_ptr_null(weft__running);
	tl_runner_join(&r);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tl_thread_count(), 1);
	close(fd);
	close(peer.fd);
	unlink(fifo);
}
END_TEST

/* What each open gave, run with libc alone and with weft. */
struct recs {
	int n;
	struct tl_rec r[16];
};

static void script(void *rec, int arg, bool weft)
{
	struct recs *rc = rec;
	struct tl_ticker t = { 0 };
	int fd;

	(void)arg;
	if (weft)
		weft_go(tl_tick_first, &t);
	make_fifo();
	TL_NOTE(rc, open("/nonexistent/weft", O_RDONLY), NULL);
	TL_NOTE(rc, open(fifo, O_WRONLY | O_NONBLOCK), NULL);
	TL_NOTE(rc, open(fifo, O_RDONLY | O_CREAT | O_EXCL, 0600), NULL);
	TL_NOTE(rc, open(fifo, O_RDONLY | O_DIRECTORY), NULL);
	TL_NOTE(rc, open(fifo, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) >= 0,
		NULL);
	TL_NOTE(rc, (fd = open(fifo, O_RDWR)) >= 0, NULL);
	close(fd);
	chmod(fifo, 0);
	if (geteuid() != 0)
		TL_NOTE(rc, open(fifo, O_RDONLY), NULL);
	unlink(fifo);
	t.stop = 1;
}

START_TEST(open_gives_what_libc_gives)
{
	struct recs plain, woven;

	tl_run_script(script, 0, false, &plain, sizeof plain);
	tl_run_script(script, 0, true, &woven, sizeof woven);
	tl_compare_recs("open", plain.r, plain.n, woven.r, woven.n);
}
END_TEST

Suite *suite_fifo(void)
{
	Suite *s = suite_create("fifo");
	TCase *tc = tcase_create("open");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, fifo_open_for_reading_parks_until_a_writer_opens);
	tcase_add_test(tc, fifo_open_for_writing_parks_until_a_reader_opens);
	tcase_add_test(tc, fifo_openat_and_open64_park_too);
	tcase_add_test(tc,
		fifo_open_for_writing_with_a_reader_there_does_not_wait);
	tcase_add_test(tc, fifo_O_RDWR_and_O_NONBLOCK_never_wait);
	tcase_add_test(tc, regular_files_and_devices_open_at_once);
	tcase_add_test(tc, fifo_open_outside_a_coroutine_blocks_for_real);
	tcase_add_test(tc, open_gives_what_libc_gives);
	suite_add_tcase(s, tc);
	return s;
}
