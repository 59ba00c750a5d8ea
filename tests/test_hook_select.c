/* test_hook_select.c - select and pselect.
 *
 * Most tests are loop tests over the two calls: _i picks the call, and
 * failure messages name it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
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

enum { SELECT, PSELECT, NCALLS };

static const char *const call_name[NCALLS] = { "select", "pselect" };

/* Calls call with a time-out in ms (negative: none). */
static int do_select(int call, int nfds, fd_set *r, fd_set *w, fd_set *e,
		     int ms)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	if (call == SELECT)
		return select(nfds, r, w, e, ms < 0 ? NULL : &tv);
	return pselect(nfds, r, w, e, ms < 0 ? NULL : &ts, NULL);
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

static void peer_write(struct peer *p)
{
	(void)!write(p->fd, "x", 1);
}

static void peer_close(struct peer *p)
{
	close(p->fd);
}

static void peer_kill(struct peer *p)
{
	kill(getpid(), p->fd);
}

static void peer_urgent(struct peer *p)
{
	send(p->fd, "!", 1, MSG_OOB);
}

/* Reads what a full socket holds, so that its peer can write again. */
static void peer_drain(struct peer *p)
{
	char buf[4096];

	while (recv(p->fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
}

/* A connected TCP pair over loopback: s[0] accepted, s[1] connected. */
static void make_tcp_pair(int s[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	s[1] = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s[1], 0);
	ck_assert_int_eq(connect(s[1], (struct sockaddr *)&a, sizeof a), 0);
	s[0] = accept(l, NULL, NULL);
	ck_assert_int_ge(s[0], 0);
	close(l);
}

/* A set holding the one fd. */
static fd_set one(int fd)
{
	fd_set s;

	FD_ZERO(&s);
	FD_SET(fd, &s);
	return s;
}

/* ---- parking and waking ------------------------------------------------- */

START_TEST(select_parks_until_a_coroutine_writes)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, peer_write, fd[1], 5 * MS);
	fd_set r = one(fd[0]);
	int ret = do_select(_i, fd[0] + 1, &r, NULL, NULL, -1);
	int at = tl_next_step();
	ck_assert_msg(ret == 1 && FD_ISSET(fd[0], &r), "%s gave %d",
		      call_name[_i], ret);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_lt(p.at, at);
	peer_join(&p);
}
END_TEST

START_TEST(select_on_100_pipes_reports_only_the_one_written)
{
	enum { N = 100, WRITTEN = 57 };
	int fd[N][2], nfds = 0;
	struct peer p;
	fd_set r;

	FD_ZERO(&r);
	for (int i = 0; i < N; i++) {
		tl_make_pipe(fd[i]);
		FD_SET(fd[i][0], &r);
		if (fd[i][0] >= nfds)
			nfds = fd[i][0] + 1;
	}
	go(&p, peer_write, fd[WRITTEN][1], 10 * MS);
	int ret = do_select(_i, nfds, &r, NULL, NULL, 5000);
	ck_assert_msg(ret == 1, "%s gave %d", call_name[_i], ret);
	for (int i = 0; i < N; i++)
		ck_assert_msg(FD_ISSET(fd[i][0], &r) == (i == WRITTEN),
			      "%s: pipe %d is %sset", call_name[_i], i,
			      FD_ISSET(fd[i][0], &r) ? "" : "not ");
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_waits_for_room_to_write)
{
	struct peer p;
	int s[2];

	tl_make_full_socket(s);
	go(&p, peer_drain, s[1], 5 * MS);
	fd_set r = one(s[0]), w = one(s[0]);
	int ret = do_select(_i, s[0] + 1, &r, &w, NULL, -1);
	ck_assert_msg(ret == 1, "%s gave %d", call_name[_i], ret);
	ck_assert(!FD_ISSET(s[0], &r));
	ck_assert(FD_ISSET(s[0], &w));
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_reports_urgent_data_in_exceptfds)
{
	struct peer p;
	int s[2];

	make_tcp_pair(s);
	go(&p, peer_urgent, s[1], 5 * MS);
	fd_set e = one(s[0]);
	int ret = do_select(_i, s[0] + 1, NULL, NULL, &e, 5000);
	ck_assert_msg(ret == 1 && FD_ISSET(s[0], &e), "%s gave %d",
		      call_name[_i], ret);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_times_out_with_0_and_empty_sets_while_others_run)
{
	struct tl_ticker t;
	int fd[2];

	tl_make_pipe(fd);
	tl_ticker_start(&t);
	fd_set r = one(fd[0]), w = one(fd[0]), e = one(fd[0]);
	int64_t t0 = tl_mono_ns();
	int ret = do_select(_i, fd[0] + 1, &r, &w, &e, 30);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_msg(ret == 0, "%s gave %d", call_name[_i], ret);
	ck_assert(!FD_ISSET(fd[0], &r) && !FD_ISSET(fd[0], &w) &&
		  !FD_ISSET(fd[0], &e));
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

START_TEST(select_on_no_fds_sleeps_while_others_run)
{
	struct tl_ticker t;

	tl_ticker_start(&t);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(do_select(_i, 0, NULL, NULL, NULL, 20), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 20 * MS);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

START_TEST(select_writes_back_the_time_left)
{
	struct peer p;
	struct tl_ticker t;
	int fd[2];

	tl_make_pipe(fd);
	/* Woken early: some time is left, never more than given. */
	go(&p, peer_write, fd[1], 10 * MS);
	fd_set r = one(fd[0]);
	struct timeval tv = { 5, 0 };
	ck_assert_int_eq(select(fd[0] + 1, &r, NULL, NULL, &tv), 1);
	ck_assert_int_ge(tv.tv_sec * 1000000 + tv.tv_usec, 0);
	ck_assert_int_lt(tv.tv_sec * 1000000 + tv.tv_usec, 5000000);
	ck_assert_int_lt(tv.tv_usec, 1000000);
	peer_join(&p);
	/* Timed out: none left. */
	char c;
	ck_assert_int_eq(read(fd[0], &c, 1), 1);
	tl_ticker_start(&t);
	r = one(fd[0]);
	tv = (struct timeval){ 0, 20000 };
	ck_assert_int_eq(select(fd[0] + 1, &r, NULL, NULL, &tv), 0);
	ck_assert_int_eq(tv.tv_sec, 0);
	ck_assert_int_eq(tv.tv_usec, 0);
	/* An error with a time-out: what is left, as the kernel writes
	 * it back then too. */
	close(fd[1]);
	r = one(fd[1]);
	tv = (struct timeval){ 5, 0 };
	errno = 0;
	ck_assert_int_eq(select(fd[1] + 1, &r, NULL, NULL, &tv), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_ge(tv.tv_sec * 1000000 + tv.tv_usec, 0);
	ck_assert_int_le(tv.tv_sec * 1000000 + tv.tv_usec, 5000000);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

START_TEST(pselect_leaves_its_timeout_alone)
{
	struct tl_ticker t;
	int fd[2];

	tl_make_pipe(fd);
	tl_ticker_start(&t);
	fd_set r = one(fd[0]);
	struct timespec ts = { 0, 20 * MS };
	ck_assert_int_eq(pselect(fd[0] + 1, &r, NULL, NULL, &ts, NULL), 0);
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 20 * MS);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

/* ---- not waiting -------------------------------------------------------- */

START_TEST(select_returns_at_once_when_an_fd_is_ready)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	go(&p, count_run, -1, 0);
	int nfds = (fd[0] > fd[1] ? fd[0] : fd[1]) + 1;
	fd_set r = one(fd[0]), w = one(fd[1]);
	FD_SET(fd[1], &r);
	ck_assert_int_eq(do_select(_i, nfds, &r, &w, NULL, -1), 2);
	ck_assert(FD_ISSET(fd[0], &r) && !FD_ISSET(fd[1], &r));
	ck_assert(FD_ISSET(fd[1], &w));
	/* It never parked: the peer has not run yet. */
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_on_a_regular_file_returns_at_once)
{
	struct peer p;
	char path[] = "/tmp/weft-select-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	go(&p, count_run, -1, 0);
	fd_set r = one(fd);
	ck_assert_int_eq(do_select(_i, fd + 1, &r, NULL, NULL, -1), 1);
	ck_assert(FD_ISSET(fd, &r));
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_with_zero_timeout_only_looks)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, count_run, -1, 0);
	fd_set r = one(fd[0]);
	ck_assert_int_eq(do_select(_i, fd[0] + 1, &r, NULL, NULL, 0), 0);
	ck_assert(!FD_ISSET(fd[0], &r));
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- outside a coroutine, and alone ------------------------------------- */

START_TEST(select_outside_a_coroutine_is_libcs)
{
	int fd[2];

	tl_make_pipe(fd);
	fd_set r = one(fd[0]);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(do_select(_i, fd[0] + 1, &r, NULL, NULL, 10), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 10 * MS);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	r = one(fd[0]);
	ck_assert_int_eq(do_select(_i, fd[0] + 1, &r, NULL, NULL, -1), 1);
	ck_assert(FD_ISSET(fd[0], &r));
	errno = 0;
	ck_assert_int_eq(do_select(_i, 3, bad_ptr, NULL, NULL, 0), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(select_alone_blocks_the_thread_until_a_thread_writes)
{
	struct peer p = { .delay = 10 * MS };
	int fd[2];

	tl_make_pipe(fd);
	weft_id();
	p.fd = fd[1];
	ck_assert_int_eq(peer_start(&p, peer_write, true), 0);
	fd_set r = one(fd[0]);
	ck_assert_int_eq(do_select(_i, fd[0] + 1, &r, NULL, NULL, 5000), 1);
	ck_assert(FD_ISSET(fd[0], &r));
	peer_join(&p);
}
END_TEST

START_TEST(select_alone_is_interrupted_by_a_signal)
{
	struct timeval tv = { 5, 0 };
	int fd[2];

	tl_make_pipe(fd);
	weft_id();
	tl_alarm_in(50);
	fd_set r = one(fd[0]);
	errno = 0;
	int ret = _i == SELECT ? select(fd[0] + 1, &r, NULL, NULL, &tv)
			       : do_select(_i, fd[0] + 1, &r, NULL, NULL, -1);
	ck_assert_int_eq(ret, -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	if (_i == SELECT)
		ck_assert_int_lt(tv.tv_sec * 1000000 + tv.tv_usec, 5000000);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(select_on_a_closed_fd_fails_with_EBADF_leaving_the_sets)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, count_run, -1, 5 * MS);
	close(fd[0]);
	fd_set r = one(fd[0]), w = one(fd[1]);
	FD_SET(fd[1], &r);
	int nfds = (fd[0] > fd[1] ? fd[0] : fd[1]) + 1;
	errno = 0;
	ck_assert_int_eq(do_select(_i, nfds, &r, &w, NULL, -1), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert(FD_ISSET(fd[0], &r) && FD_ISSET(fd[1], &r));
	ck_assert(FD_ISSET(fd[1], &w));
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_fails_with_EBADF_when_another_coroutine_closes_the_fd)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, peer_close, fd[0], 5 * MS);
	fd_set r = one(fd[0]);
	errno = 0;
	ck_assert_int_eq(do_select(_i, fd[0] + 1, &r, NULL, NULL, 5000), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_errors_are_libcs)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, count_run, -1, 5 * MS);
	fd_set r = one(fd[0]);
	errno = 0;
	ck_assert_int_eq(do_select(_i, -1, &r, NULL, NULL, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(do_select(_i, fd[0] + 1, bad_ptr, NULL, NULL, -1),
			 -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(do_select(_i, fd[0] + 1, NULL, NULL, bad_ptr, -1),
			 -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_rejects_a_bad_timeout_with_EINVAL)
{
	static const struct timeval bad_tv[] = { { 0, -1 }, { -1, 0 } };
	static const struct timespec bad_ts[] = {
		{ 0, 1000000000 }, { 0, -1 }, { -1, 0 },
	};
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, count_run, -1, 5 * MS);
	for (unsigned i = 0; _i == SELECT && i < 2; i++) {
		struct timeval tv = bad_tv[i];
		fd_set r = one(fd[0]);
		errno = 0;
		ck_assert_int_eq(select(fd[0] + 1, &r, NULL, NULL, &tv), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	for (unsigned i = 0; _i == PSELECT && i < 3; i++) {
		fd_set r = one(fd[0]);
		errno = 0;
		ck_assert_int_eq(pselect(fd[0] + 1, &r, NULL, NULL, &bad_ts[i],
					 NULL), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(select_takes_a_timeval_with_a_million_microseconds_or_more)
{
	struct tl_ticker t;
	int fd[2];

	tl_make_pipe(fd);
	tl_ticker_start(&t);
	fd_set r = one(fd[0]);
	/* As glibc: 1.02 s would be taken as 1 s and 20 ms; 20 ms plus
	 * 2^32 us is 20 ms, tv_usec being read as an int. */
	struct timeval tv = { 0, (1L << 32) + 20000 };
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(select(fd[0] + 1, &r, NULL, NULL, &tv), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 20 * MS);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

/* ---- pselect's signal mask ---------------------------------------------- */

START_TEST(pselect_is_interrupted_by_a_signal_its_mask_lets_through)
{
	struct peer p;
	sigset_t none;
	int fd[2];

	tl_make_pipe(fd);
	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&none);
	go(&p, peer_kill, SIGUSR1, 5 * MS);
	fd_set r = one(fd[0]);
	errno = 0;
	int ret = pselect(fd[0] + 1, &r, NULL, NULL, NULL, &none);
	int at = tl_next_step();
	ck_assert_int_eq(ret, -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_lt(p.at, at);
	peer_join(&p);
}
END_TEST

START_TEST(pselect_is_not_interrupted_by_a_signal_its_mask_blocks)
{
	TL_SKIP_UNDER_VALGRIND("its peer may first run after the 30 ms wait"
			       " has ended");
	struct timespec ts = { 0, 30 * MS };
	struct peer p;
	sigset_t usr1, pending;
	int fd[2];

	tl_make_pipe(fd);
	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	go(&p, peer_kill, SIGUSR1, 5 * MS);
	fd_set r = one(fd[0]);
	ck_assert_int_eq(pselect(fd[0] + 1, &r, NULL, NULL, &ts, &usr1), 0);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_eq(tl_handled, 0);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert_int_eq(sigismember(&pending, SIGUSR1), 1);
	peer_join(&p);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

/* What one step gave: the result, errno, and the three sets, as bits
 * for the script's fds in the order of named[] (fd numbers differ
 * between the runs: weft has fds of its own). */
struct rec {
	int line;
	int ret;
	int err;
	uint64_t set[3];
};

struct record {
	int n;
	int ticks; /* the weft run's ticker: it must have run */
	struct rec r[64];
};

static int named[4];

static uint64_t low_bits(const fd_set *s)
{
	uint64_t bits = 0;

	for (int i = 0; s && i < 4; i++)
		if (FD_ISSET(named[i], s))
			bits |= (uint64_t)1 << i;
	return bits;
}

static void note_at(struct record *rc, int line, int ret, int err,
		    fd_set *r, fd_set *w, fd_set *e)
{
	if (rc->n >= (int)(sizeof rc->r / sizeof rc->r[0]))
		return;
	struct rec *x = &rc->r[rc->n++];
	memset(x, 0, sizeof *x);
	x->line = line;
	x->ret = ret;
	x->err = ret < 0 ? err : 0;
	x->set[0] = low_bits(r);
	x->set[1] = low_bits(w);
	x->set[2] = low_bits(e);
}

/* Calls call on the sets given as bit masks and notes the outcome. */
static void note_select(struct record *rc, int line, int call, int nfds,
			uint64_t r, uint64_t w, uint64_t e, int ms)
{
	fd_set set[3];
	uint64_t bits[3] = { r, w, e };

	for (int i = 0; i < 3; i++) {
		FD_ZERO(&set[i]);
		for (int fd = 0; fd < 64; fd++)
			if (bits[i] >> fd & 1)
				FD_SET(fd, &set[i]);
	}
	errno = 0;
	int ret = do_select(call, nfds, &set[0], &set[1], &set[2], ms);
	note_at(rc, line, ret, errno, &set[0], &set[1], &set[2]);
}

#define NOTE(rc, call, nfds, r, w, e, ms) \
	note_select(rc, __LINE__, call, nfds, r, w, e, ms)
#define BIT(fd) ((uint64_t)1 << (fd))

/* The same steps, with libc alone (peers are threads) or with weft
 * (peers are coroutines, and a ticker keeps the caller from being
 * alone, so every wait parks). */
static void select_script(void *rec, int call, bool weft)
{
	struct record *rc = rec;
	struct tl_ticker t;
	struct peer p;
	int fd[2], s[2];
	char c;

	signal(SIGPIPE, SIG_IGN);
	if (weft)
		tl_ticker_start(&t);
	if (pipe(fd) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
		_exit(2);
	int nfds = 1;
	for (int i = 0; i < 2; i++) {
		nfds = fd[i] >= nfds ? fd[i] + 1 : nfds;
		nfds = s[i] >= nfds ? s[i] + 1 : nfds;
	}
	if (nfds > 64)
		_exit(3);
	named[0] = fd[0];
	named[1] = fd[1];
	named[2] = s[0];
	named[3] = s[1];
	uint64_t all = BIT(fd[0]) | BIT(s[0]);
	/* Nothing yet, then a time-out. */
	NOTE(rc, call, nfds, BIT(fd[0]), 0, 0, 0);
	NOTE(rc, call, nfds, all, 0, all, 20);
	/* A write from the peer. */
	p.fd = fd[1];
	p.delay = 5 * MS;
	if (peer_start(&p, peer_write, !weft) < 0)
		_exit(2);
	NOTE(rc, call, nfds, all, 0, all, -1);
	peer_join(&p);
	/* Still there: select does not consume. */
	NOTE(rc, call, nfds, all, BIT(s[0]) | BIT(fd[1]), all, -1);
	if (read(fd[0], &c, 1) != 1)
		_exit(2);
	/* The writer goes away. */
	p.fd = fd[1];
	if (peer_start(&p, peer_close, !weft) < 0)
		_exit(2);
	NOTE(rc, call, nfds, all, 0, 0, 5000);
	peer_join(&p);
	/* Errors. */
	NOTE(rc, call, nfds, BIT(fd[1]), 0, 0, -1);
	NOTE(rc, call, -1, all, 0, 0, -1);
	errno = 0;
	int r = do_select(call, nfds, bad_ptr, NULL, NULL, -1);
	note_at(rc, __LINE__, r, errno, NULL, NULL, NULL);
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
			      "%d, sets %#lx %#lx %#lx), weft %d (errno %d, "
			      "sets %#lx %#lx %#lx)", what, i, p->line,
			      w->line, p->ret, p->err, (long)p->set[0],
			      (long)p->set[1], (long)p->set[2], w->ret,
			      w->err, (long)w->set[0], (long)w->set[1],
			      (long)w->set[2]);
	}
	ck_assert_int_eq(plain.n, woven.n);
}

START_TEST(select_gives_what_libc_gives)
{
	differ(select_script, _i, call_name[_i]);
}
END_TEST

/* ---- the suite ---------------------------------------------------------- */

Suite *suite_hook_select(void)
{
	Suite *s = suite_create("hook_select");
	TCase *tc;

	tc = tcase_create("parking");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, select_parks_until_a_coroutine_writes, 0,
			    NCALLS);
	tcase_add_loop_test(tc,
			    select_on_100_pipes_reports_only_the_one_written,
			    0, NCALLS);
	tcase_add_loop_test(tc, select_waits_for_room_to_write, 0, NCALLS);
	tcase_add_loop_test(tc, select_reports_urgent_data_in_exceptfds, 0,
			    NCALLS);
	tcase_add_loop_test(
		tc, select_times_out_with_0_and_empty_sets_while_others_run, 0,
		NCALLS);
	tcase_add_loop_test(tc, select_on_no_fds_sleeps_while_others_run, 0,
			    NCALLS);
	tcase_add_test(tc, select_writes_back_the_time_left);
	tcase_add_test(tc, pselect_leaves_its_timeout_alone);
	suite_add_tcase(s, tc);

	tc = tcase_create("not_waiting");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, select_returns_at_once_when_an_fd_is_ready, 0,
			    NCALLS);
	tcase_add_loop_test(tc, select_on_a_regular_file_returns_at_once, 0,
			    NCALLS);
	tcase_add_loop_test(tc, select_with_zero_timeout_only_looks, 0,
			    NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("pass_through");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, select_outside_a_coroutine_is_libcs, 0,
			    NCALLS);
	tcase_add_loop_test(
		tc, select_alone_blocks_the_thread_until_a_thread_writes, 0,
		NCALLS);
	tcase_add_loop_test(tc, select_alone_is_interrupted_by_a_signal, 0,
			    NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(
		tc, select_on_a_closed_fd_fails_with_EBADF_leaving_the_sets, 0,
		NCALLS);
	tcase_add_loop_test(
		tc, select_fails_with_EBADF_when_another_coroutine_closes_the_fd,
		0, NCALLS);
	tcase_add_loop_test(tc, select_errors_are_libcs, 0, NCALLS);
	tcase_add_loop_test(tc, select_rejects_a_bad_timeout_with_EINVAL, 0,
			    NCALLS);
	tcase_add_test(
		tc, select_takes_a_timeval_with_a_million_microseconds_or_more);
	suite_add_tcase(s, tc);

	tc = tcase_create("signal_mask");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		       pselect_is_interrupted_by_a_signal_its_mask_lets_through);
	tcase_add_test(tc, pselect_is_not_interrupted_by_a_signal_its_mask_blocks);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, select_gives_what_libc_gives, 0, NCALLS);
	suite_add_tcase(s, tc);
	return s;
}
