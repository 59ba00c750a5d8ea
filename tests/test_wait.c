/* test_wait.c - sleeping, waiting for fds, and closing an fd that others
 * wait on. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

static void set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	ck_assert_int_ge(fl, 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static void write_byte(int fd)
{
	ck_assert_int_eq(write(fd, "x", 1), 1);
}

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* One coroutine's call of weft_wait_fd and what came of it. */
struct waiter {
	int fd;
	int events;
	int64_t timeout;
	int rc;
	int err;
	int done;
	int64_t waited; /* ns */
	weft_wg *wg;
};

static void do_wait(void *arg)
{
	struct waiter *w = arg;
	int64_t t0 = tl_mono_ns();

	errno = 0;
	w->rc = weft_wait_fd(w->fd, w->events, w->timeout);
	w->err = errno;
	w->waited = tl_mono_ns() - t0;
	w->done = 1;
	if (w->wg)
		weft_wg_done(w->wg);
}

/* Starts a coroutine that waits on fd and lets it park. */
static void start_waiter(struct waiter *w, int fd, int events, int64_t timeout)
{
	*w = (struct waiter){ .fd = fd, .events = events, .timeout = timeout };
	ck_assert_int_eq(weft_go(do_wait, w), 0);
}

struct delayed_write {
	int fd;
	int64_t delay;
	int written;
};

static void write_later(void *arg)
{
	struct delayed_write *d = arg;

	if (d->delay > 0)
		weft_sleep(d->delay);
	write_byte(d->fd);
	d->written = 1;
}

static void *thread_write_later(void *arg)
{
	struct delayed_write *d = arg;
	struct timespec ts = { 0, d->delay };

	nanosleep(&ts, NULL);
	write_byte(d->fd);
	d->written = 1;
	return NULL;
}

/* ---- sleep -------------------------------------------------------------- */

START_TEST(sleep_lasts_at_least_the_requested_time)
{
	int64_t t0 = tl_mono_ns(), took;

	ck_assert_int_eq(weft_sleep(20 * MS), 0);
	took = tl_mono_ns() - t0;
	ck_assert_int_ge(took, 20 * MS);
	ck_assert_int_lt(took, 5 * SEC);
}
END_TEST

struct sleeper {
	int64_t ns;
	int64_t took;
	int order;
	int *next;
	weft_wg *wg;
};

static void do_sleep(void *arg)
{
	struct sleeper *s = arg;
	int64_t t0 = tl_mono_ns();

	weft_sleep(s->ns);
	s->took = tl_mono_ns() - t0;
	s->order = (*s->next)++;
	weft_wg_done(s->wg);
}

START_TEST(sleep_in_a_coroutine_lasts_at_least_the_requested_time)
{
	weft_wg wg = WEFT_WG_INIT;
	int next = 0;
	struct sleeper s = { .ns = 15 * MS, .next = &next, .wg = &wg };

	weft_wg_add(&wg, 1);
	ck_assert_int_eq(weft_go(do_sleep, &s), 0);
	weft_wg_wait(&wg);
	ck_assert_int_ge(s.took, 15 * MS);
	ck_assert_int_lt(s.took, 5 * SEC);
}
END_TEST

START_TEST(sleepers_wake_in_the_order_of_their_deadlines)
{
	weft_wg wg = WEFT_WG_INIT;
	int next = 0;
	struct sleeper s[3] = {
		{ .ns = 30 * MS, .next = &next, .wg = &wg },
		{ .ns = 10 * MS, .next = &next, .wg = &wg },
		{ .ns = 20 * MS, .next = &next, .wg = &wg },
	};

	weft_wg_add(&wg, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_go(do_sleep, &s[i]), 0);
	weft_wg_wait(&wg);
	ck_assert_int_eq(s[1].order, 0);
	ck_assert_int_eq(s[2].order, 1);
	ck_assert_int_eq(s[0].order, 2);
	for (int i = 0; i < 3; i++)
		ck_assert_int_ge(s[i].took, s[i].ns);
}
END_TEST

START_TEST(sleep_of_zero_or_less_returns_at_once)
{
	int64_t t0 = tl_mono_ns();

	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(weft_sleep(0), 0);
		ck_assert_int_eq(weft_sleep(-1), 0);
		ck_assert_int_eq(weft_sleep(-10 * SEC), 0);
		ck_assert_int_eq(weft_sleep(INT64_MIN), 0);
	}
	ck_assert_int_lt(tl_mono_ns() - t0, 2 * SEC);
}
END_TEST

static void count_runs(void *arg)
{
	for (int i = 0; i < 3; i++) {
		(*(int *)arg)++;
		weft_yield();
	}
}

START_TEST(sleep_lets_other_coroutines_run)
{
	int runs = 0;

	TL_SKIP_UNDER_VALGRIND("its first run of new code can take longer"
			       " than the 5 ms sleep");
	ck_assert_int_eq(weft_go(count_runs, &runs), 0);
	ck_assert_int_eq(weft_sleep(5 * MS), 0);
	ck_assert_int_eq(runs, 3);
}
END_TEST

/* ---- waiting for an fd -------------------------------------------------- */

START_TEST(wait_fd_wakes_when_a_coroutine_writes_the_pipe)
{
	int p[2];
	struct delayed_write d;
	int64_t t0;

	ck_assert_int_eq(pipe(p), 0);
	d = (struct delayed_write){ .fd = p[1], .delay = 5 * MS };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	t0 = tl_mono_ns();
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, -1), WEFT_READ);
	ck_assert_int_eq(d.written, 1);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
}
END_TEST

START_TEST(wait_fd_wakes_the_only_coroutine_when_another_thread_writes)
{
	int p[2];
	struct delayed_write d;
	pthread_t tid;

	ck_assert_int_eq(pipe(p), 0);
	d = (struct delayed_write){ .fd = p[1], .delay = 5 * MS };
	ck_assert_int_eq(pthread_create(&tid, NULL, thread_write_later, &d), 0);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 5 * SEC), WEFT_READ);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(d.written, 1);
}
END_TEST

START_TEST(wait_fd_returns_at_once_when_data_is_already_there)
{
	int p[2];
	int64_t t0;

	ck_assert_int_eq(pipe(p), 0);
	write_byte(p[1]);
	t0 = tl_mono_ns();
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, -1), WEFT_READ);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 10 * SEC), WEFT_READ);
	ck_assert_int_lt(tl_mono_ns() - t0, 2 * SEC);
}
END_TEST

START_TEST(wait_fd_with_zero_timeout_only_polls)
{
	int p[2];
	int64_t t0;

	ck_assert_int_eq(pipe(p), 0);
	t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 0), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	write_byte(p[1]);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 0), WEFT_READ);
	ck_assert_int_lt(tl_mono_ns() - t0, 2 * SEC);
}
END_TEST

START_TEST(wait_fd_times_out_with_ETIMEDOUT)
{
	int p[2];
	int64_t t0, took;

	ck_assert_int_eq(pipe(p), 0);
	t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 20 * MS), -1);
	took = tl_mono_ns() - t0;
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(took, 20 * MS);
	ck_assert_int_lt(took, 5 * SEC);
}
END_TEST

START_TEST(wait_fd_returns_the_event_that_comes_before_the_timeout)
{
	int p[2];
	struct delayed_write d;
	int64_t t0;

	ck_assert_int_eq(pipe(p), 0);
	d = (struct delayed_write){ .fd = p[1], .delay = 5 * MS };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	t0 = tl_mono_ns();
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 4 * SEC), WEFT_READ);
	ck_assert_int_lt(tl_mono_ns() - t0, 4 * SEC);
}
END_TEST

START_TEST(wait_fd_still_works_after_a_timeout)
{
	int p[2];
	struct delayed_write d;

	ck_assert_int_eq(pipe(p), 0);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 2 * MS), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	d = (struct delayed_write){ .fd = p[1], .delay = 2 * MS };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, -1), WEFT_READ);
}
END_TEST

START_TEST(stale_timeout_does_not_cut_short_a_later_wait)
{
	int p[2];
	char c;
	struct delayed_write d;

	TL_SKIP_UNDER_VALGRIND("its first run of the writer can take longer"
			       " than the 20 ms time-out");
	ck_assert_int_eq(pipe(p), 0);
	/* Woken by data long before its 20 ms time-out... */
	d = (struct delayed_write){ .fd = p[1], .delay = 0 };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 20 * MS), WEFT_READ);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	/* ...then waiting again, across the old deadline, without one. */
	d = (struct delayed_write){ .fd = p[1], .delay = 40 * MS };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, -1), WEFT_READ);
	ck_assert_int_eq(d.written, 1);
}
END_TEST

START_TEST(stale_timeout_does_not_cut_short_a_later_sleep)
{
	int p[2];
	int64_t t0;

	ck_assert_int_eq(pipe(p), 0);
	write_byte(p[1]);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 5 * MS), WEFT_READ);
	t0 = tl_mono_ns();
	ck_assert_int_eq(weft_sleep(30 * MS), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
}
END_TEST

START_TEST(wait_fd_reports_a_hang_up_as_readable)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(close(p[1]), 0);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 5 * SEC), WEFT_READ);
}
END_TEST

static void close_later(void *arg)
{
	weft_sleep(2 * MS);
	close(*(int *)arg);
}

START_TEST(wait_fd_wakes_when_the_writer_hangs_up)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(weft_go(close_later, &p[1]), 0);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 5 * SEC), WEFT_READ);
}
END_TEST

/* Fills the socket s[0] until a write would block.  Returns bytes written. */
static long fill_socket(int fd)
{
	static char buf[4096];
	long total = 0;

	set_nonblocking(fd);
	for (;;) {
		ssize_t n = write(fd, buf, sizeof buf);

		if (n < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			return total;
		}
		total += n;
	}
}

struct drainer {
	int fd;
	long drained;
	int done;
};

static void drain_socket(void *arg)
{
	struct drainer *d = arg;
	char buf[4096];
	ssize_t n;

	set_nonblocking(d->fd);
	while ((n = read(d->fd, buf, sizeof buf)) > 0)
		d->drained += n;
	d->done = 1;
}

START_TEST(wait_fd_for_write_wakes_when_the_reader_drains)
{
	int s[2];
	long filled;
	struct drainer d;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	filled = fill_socket(s[0]);
	ck_assert_int_gt(filled, 0);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(s[0], WEFT_WRITE, 0), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);

	d = (struct drainer){ .fd = s[1] };
	ck_assert_int_eq(weft_go(drain_socket, &d), 0);
	ck_assert_int_eq(weft_wait_fd(s[0], WEFT_WRITE, 5 * SEC), WEFT_WRITE);
	ck_assert_int_eq(d.done, 1);
	ck_assert_int_eq(d.drained, filled);
}
END_TEST

START_TEST(wait_fd_returns_only_the_events_that_are_ready)
{
	int s[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	ck_assert_int_eq(weft_wait_fd(s[0], WEFT_WRITE, -1), WEFT_WRITE);
	ck_assert_int_eq(weft_wait_fd(s[0], WEFT_READ | WEFT_WRITE, -1), WEFT_WRITE);
	write_byte(s[1]);
	ck_assert_int_eq(weft_wait_fd(s[0], WEFT_READ | WEFT_WRITE, -1),
			 WEFT_READ | WEFT_WRITE);
	ck_assert_int_eq(weft_wait_fd(s[0], WEFT_READ, -1), WEFT_READ);
}
END_TEST

START_TEST(readers_and_writers_of_one_fd_wake_independently)
{
	int s[2];
	struct waiter r, w;

	TL_SKIP_UNDER_VALGRIND("its first run of the waiters can take longer"
			       " than the 2 ms the test gives them");
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	start_waiter(&r, s[0], WEFT_READ, 5 * SEC);
	start_waiter(&w, s[0], WEFT_WRITE, 5 * SEC);
	weft_sleep(2 * MS);
	ck_assert_int_eq(w.done, 1);
	ck_assert_int_eq(w.rc, WEFT_WRITE);
	ck_assert_int_eq(r.done, 0);
	write_byte(s[1]);
	for (int i = 0; i < 1000 && !r.done; i++)
		weft_sleep(1 * MS);
	ck_assert_int_eq(r.done, 1);
	ck_assert_int_eq(r.rc, WEFT_READ);
}
END_TEST

struct byte_reader {
	int fd;
	int rc;
	ssize_t got;
	weft_wg *wg;
};

static void wait_then_read_one(void *arg)
{
	struct byte_reader *b = arg;
	char c;

	b->rc = weft_wait_fd(b->fd, WEFT_READ, 3 * SEC);
	b->got = b->rc == WEFT_READ ? read(b->fd, &c, 1) : -1;
	weft_wg_done(b->wg);
}

START_TEST(every_waiter_on_one_fd_wakes_when_enough_data_arrives)
{
	enum { N = 5 };
	int p[2];
	weft_wg wg = WEFT_WG_INIT;
	struct byte_reader b[N];

	ck_assert_int_eq(pipe(p), 0);
	set_nonblocking(p[0]);
	weft_wg_add(&wg, N);
	for (int i = 0; i < N; i++) {
		b[i] = (struct byte_reader){ .fd = p[0], .wg = &wg };
		ck_assert_int_eq(weft_go(wait_then_read_one, &b[i]), 0);
	}
	weft_yield(); /* all park */
	ck_assert_int_eq(write(p[1], "abcde", N), N);
	weft_wg_wait(&wg);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(b[i].rc, WEFT_READ);
		ck_assert_int_eq(b[i].got, 1);
	}
}
END_TEST

START_TEST(close_wakes_every_waiter_with_EBADF)
{
	int p[2];
	weft_wg wg = WEFT_WG_INIT;
	struct waiter w[3];

	ck_assert_int_eq(pipe(p), 0);
	weft_wg_add(&wg, 3);
	for (int i = 0; i < 3; i++) {
		/* A time-out only so that a waiter left behind shows quickly. */
		start_waiter(&w[i], p[0], WEFT_READ, 2 * SEC);
		w[i].wg = &wg;
	}
	weft_yield(); /* all park */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(w[i].done, 0);
	ck_assert_int_eq(weft_close(p[0]), 0);
	ck_assert(!is_open(p[0]));
	weft_wg_wait(&wg);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(w[i].rc == -1 && w[i].err == EBADF,
			      "waiter %d got %d (%s)", i, w[i].rc, strerror(w[i].err));
}
END_TEST

START_TEST(close_wakes_waiters_with_a_timeout_with_EBADF)
{
	int s[2];
	weft_wg wg = WEFT_WG_INIT;
	struct waiter w;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	weft_wg_add(&wg, 1);
	start_waiter(&w, s[0], WEFT_READ, 4 * SEC);
	w.wg = &wg;
	weft_yield();
	ck_assert_int_eq(weft_close(s[0]), 0);
	weft_wg_wait(&wg);
	ck_assert_int_eq(w.rc, -1);
	ck_assert_int_eq(w.err, EBADF);
	ck_assert_int_lt(w.waited, 4 * SEC);
}
END_TEST

START_TEST(close_returns_what_close_returns)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(weft_close(p[1]), 0);
	ck_assert(!is_open(p[1]));
	errno = 0;
	ck_assert_int_eq(weft_close(p[1]), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(weft_close(-1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(fd_number_reused_after_weft_close_waits_on_the_new_file)
{
	int p[2], q[2];
	struct delayed_write d;

	ck_assert_int_eq(pipe(p), 0);
	write_byte(p[1]);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, -1), WEFT_READ);
	ck_assert_int_eq(weft_close(p[0]), 0);
	ck_assert_int_eq(weft_close(p[1]), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(q[0], p[0]); /* the lowest free numbers come back */
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(q[0], WEFT_READ, 0), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	d = (struct delayed_write){ .fd = q[1], .delay = 2 * MS };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	ck_assert_int_eq(weft_wait_fd(q[0], WEFT_READ, 5 * SEC), WEFT_READ);
}
END_TEST

START_TEST(fd_number_reused_after_plain_close_waits_on_the_new_file)
{
	int p[2], q[2];
	struct delayed_write d;

	ck_assert_int_eq(pipe(p), 0);
	d = (struct delayed_write){ .fd = p[1], .delay = 2 * MS };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, -1), WEFT_READ);
	ck_assert_int_eq(close(p[0]), 0);
	ck_assert_int_eq(close(p[1]), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(q[0], p[0]);
	d = (struct delayed_write){ .fd = q[1], .delay = 2 * MS };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	ck_assert_int_eq(weft_wait_fd(q[0], WEFT_READ, 2 * SEC), WEFT_READ);
	ck_assert_int_eq(d.written, 1);
}
END_TEST

START_TEST(wait_fd_works_on_a_high_numbered_fd)
{
	struct rlimit rl;
	int p[2], high = 3000;
	struct delayed_write d;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur <= (rlim_t)high) {
		rl.rlim_cur = rl.rlim_max > 4096 ? 4096 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur <= (rlim_t)high)
			high = (int)rl.rlim_cur - 1;
	}
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(dup2(p[0], high), high);
	d = (struct delayed_write){ .fd = p[1], .delay = 2 * MS };
	ck_assert_int_eq(weft_go(write_later, &d), 0);
	ck_assert_int_eq(weft_wait_fd(high, WEFT_READ, 2 * SEC), WEFT_READ);
	ck_assert_int_eq(d.written, 1);
}
END_TEST

struct thread_waiter {
	struct waiter w;
	volatile int parked;
};

static void thread_wait(void *arg)
{
	struct thread_waiter *t = arg;

	t->w.wg = NULL;
	__atomic_store_n(&t->parked, 1, __ATOMIC_SEQ_CST);
	do_wait(&t->w);
}

START_TEST(coroutines_of_two_threads_can_wait_on_one_fd)
{
	int p[2];
	char c;
	pthread_t tid;
	static struct thread_waiter t;

	ck_assert_int_eq(pipe(p), 0);
	t.w = (struct waiter){ .fd = p[0], .events = WEFT_READ, .timeout = 2 * SEC };
	ck_assert_int_eq(weft_thread(&tid, thread_wait, &t), 0);
	while (!__atomic_load_n(&t.parked, __ATOMIC_SEQ_CST))
		weft_sleep(1 * MS);
	weft_sleep(2 * MS); /* it is parked on p[0] */
	write_byte(p[1]);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, 2 * SEC), WEFT_READ);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(t.w.rc, WEFT_READ);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
}
END_TEST

START_TEST(close_from_another_thread_wakes_waiters_with_EBADF)
{
	int p[2];
	pthread_t tid;
	static struct thread_waiter t;

	ck_assert_int_eq(pipe(p), 0);
	t.w = (struct waiter){ .fd = p[0], .events = WEFT_READ, .timeout = 2 * SEC };
	ck_assert_int_eq(weft_thread(&tid, thread_wait, &t), 0);
	while (!__atomic_load_n(&t.parked, __ATOMIC_SEQ_CST))
		weft_sleep(1 * MS);
	weft_sleep(2 * MS); /* it is parked on p[0] */
	ck_assert_int_eq(weft_close(p[0]), 0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_msg(t.w.rc == -1 && t.w.err == EBADF,
		      "waiter in the other thread got %d (%s) after %lld ms",
		      t.w.rc, strerror(t.w.err), (long long)(t.w.waited / MS));
}
END_TEST

START_TEST(fd_number_reused_after_fclose_waits_on_the_new_file)
{
	/* fclose closes inside libc, where no wrapper sees it. */
	int p[2], q[2];
	FILE *f;

	ck_assert_int_eq(pipe(p), 0);
	write_byte(p[1]);
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, -1), WEFT_READ);
	f = fdopen(p[0], "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(close(p[1]), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(q[0], p[0]);
	write_byte(q[1]);
	ck_assert_int_eq(weft_wait_fd(q[0], WEFT_READ, 2 * SEC), WEFT_READ);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(wait_fd_on_an_fd_that_is_not_open_fails_with_EBADF)
{
	ck_assert(!is_open(12345));
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(12345, WEFT_READ, -1), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(-1, WEFT_READ, 10 * MS), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(wait_fd_on_a_closed_fd_fails_with_EBADF)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(weft_close(p[0]), 0);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(p[0], WEFT_READ, -1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(wait_fd_on_a_regular_file_fails_with_EPERM)
{
	char path[] = "/tmp/weft-test-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(fd, WEFT_READ, -1), -1);
	ck_assert_int_eq(errno, EPERM);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(fd, WEFT_WRITE, -1), -1);
	ck_assert_int_eq(errno, EPERM);
	close(fd);
}
END_TEST

START_TEST(wait_fd_on_a_directory_fails_with_EPERM)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(fd, 0);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(fd, WEFT_READ, -1), -1);
	ck_assert_int_eq(errno, EPERM);
	close(fd);
}
END_TEST

START_TEST(wait_fd_without_events_fails_with_EINVAL)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	write_byte(p[1]);
	errno = 0;
	ck_assert_int_eq(weft_wait_fd(p[0], 0, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_wait(void)
{
	Suite *s = suite_create("wait");
	TCase *tc;

	tc = tcase_create("sleep");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, sleep_lasts_at_least_the_requested_time);
	tcase_add_test(tc, sleep_in_a_coroutine_lasts_at_least_the_requested_time);
	tcase_add_test(tc, sleepers_wake_in_the_order_of_their_deadlines);
	tcase_add_test(tc, sleep_of_zero_or_less_returns_at_once);
	tcase_add_test(tc, sleep_lets_other_coroutines_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, wait_fd_wakes_when_a_coroutine_writes_the_pipe);
	tcase_add_test(tc, wait_fd_wakes_the_only_coroutine_when_another_thread_writes);
	tcase_add_test(tc, wait_fd_returns_at_once_when_data_is_already_there);
	tcase_add_test(tc, wait_fd_with_zero_timeout_only_polls);
	tcase_add_test(tc, wait_fd_times_out_with_ETIMEDOUT);
	tcase_add_test(tc, wait_fd_returns_the_event_that_comes_before_the_timeout);
	tcase_add_test(tc, wait_fd_still_works_after_a_timeout);
	tcase_add_test(tc, stale_timeout_does_not_cut_short_a_later_wait);
	tcase_add_test(tc, stale_timeout_does_not_cut_short_a_later_sleep);
	tcase_add_test(tc, wait_fd_reports_a_hang_up_as_readable);
	tcase_add_test(tc, wait_fd_wakes_when_the_writer_hangs_up);
	tcase_add_test(tc, wait_fd_for_write_wakes_when_the_reader_drains);
	tcase_add_test(tc, wait_fd_returns_only_the_events_that_are_ready);
	tcase_add_test(tc, readers_and_writers_of_one_fd_wake_independently);
	tcase_add_test(tc, every_waiter_on_one_fd_wakes_when_enough_data_arrives);
	tcase_add_test(tc, wait_fd_works_on_a_high_numbered_fd);
	tcase_add_test(tc, coroutines_of_two_threads_can_wait_on_one_fd);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, close_wakes_every_waiter_with_EBADF);
	tcase_add_test(tc, close_wakes_waiters_with_a_timeout_with_EBADF);
	tcase_add_test(tc, close_returns_what_close_returns);
	tcase_add_test(tc, fd_number_reused_after_weft_close_waits_on_the_new_file);
	tcase_add_test(tc, fd_number_reused_after_plain_close_waits_on_the_new_file);
	tcase_add_test(tc, fd_number_reused_after_fclose_waits_on_the_new_file);
	tcase_add_test(tc, close_from_another_thread_wakes_waiters_with_EBADF);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, wait_fd_on_an_fd_that_is_not_open_fails_with_EBADF);
	tcase_add_test(tc, wait_fd_on_a_closed_fd_fails_with_EBADF);
	tcase_add_test(tc, wait_fd_on_a_regular_file_fails_with_EPERM);
	tcase_add_test(tc, wait_fd_on_a_directory_fails_with_EPERM);
	tcase_add_test(tc, wait_fd_without_events_fails_with_EINVAL);
	suite_add_tcase(s, tc);

	return s;
}
