/* test_hook_epoll.c - epoll_wait and epoll_pwait.
 *
 * Most tests are loop tests over the two calls: _i picks the call, and
 * failure messages name it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
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
static volatile int minus_one = -1;

/* ---- helpers ------------------------------------------------------------ */

enum { EPOLL_WAIT, EPOLL_PWAIT, NCALLS };

static const char *const call_name[NCALLS] = { "epoll_wait", "epoll_pwait" };

/* Calls call with a time-out in ms (negative: none). */
static int do_wait(int call, int epfd, struct epoll_event *ev, int max, int ms)
{
	if (call == EPOLL_WAIT)
		return epoll_wait(epfd, ev, max, ms);
	return epoll_pwait(epfd, ev, max, ms, NULL);
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

/* An epoll fd watching fd for events, with tag as its data. */
static int watch(int fd, unsigned events, unsigned tag)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	return ep;
}

/* ---- parking and waking ------------------------------------------------- */

START_TEST(epoll_wait_parks_until_a_coroutine_writes)
{
	struct epoll_event ev[4];
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	go(&p, peer_write, fd[1], 5 * MS);
	int r = do_wait(_i, ep, ev, 4, -1);
	int at = tl_next_step();
	ck_assert_msg(r == 1, "%s gave %d", call_name[_i], r);
	ck_assert_int_eq(ev[0].events, EPOLLIN);
	ck_assert_int_eq(ev[0].data.u32, 7);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_lt(p.at, at);
	peer_join(&p);
}
END_TEST

START_TEST(epoll_wait_reports_a_hang_up)
{
	struct epoll_event ev[4];
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	go(&p, peer_close, fd[1], 5 * MS);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 5000), 1);
	ck_assert_int_eq(ev[0].events, EPOLLHUP);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(epoll_wait_edge_triggered_reports_each_edge_once)
{
	struct epoll_event ev[4];
	struct tl_ticker t;
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN | EPOLLET, 7);
	go(&p, peer_write, fd[1], 5 * MS);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 5000), 1);
	peer_join(&p);
	/* The byte is still there, but no new edge came. */
	tl_ticker_start(&t);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 20), 0);
	go(&p, peer_write, fd[1], 5 * MS);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 5000), 1);
	ck_assert_int_eq(ev[0].data.u32, 7);
	peer_join(&p);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

START_TEST(epoll_wait_times_out_with_0_while_others_run)
{
	struct epoll_event ev[4];
	struct tl_ticker t;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	tl_ticker_start(&t);
	int64_t t0 = tl_mono_ns();
	int r = do_wait(_i, ep, ev, 4, 30);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_msg(r == 0, "%s gave %d", call_name[_i], r);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

/* Two coroutines waiting on one epoll fd. */
struct waiter {
	int call, ep;
	int r;
	unsigned tag;
	weft_wg *wg;
};

static void wait_one(void *arg)
{
	struct waiter *w = arg;
	struct epoll_event ev;

	w->r = do_wait(w->call, w->ep, &ev, 1, 5000);
	w->tag = ev.data.u32;
	weft_wg_done(w->wg);
}

START_TEST(two_coroutines_waiting_on_one_epoll_fd_both_see_a_level)
{
	weft_wg wg = WEFT_WG_INIT;
	struct waiter w[2];
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	weft_wg_add(&wg, 2);
	for (int i = 0; i < 2; i++) {
		w[i] = (struct waiter){ .call = _i, .ep = ep, .r = -2,
					.wg = &wg };
		ck_assert_int_eq(weft_go(wait_one, &w[i]), 0);
	}
	weft_sleep(5 * MS);
	ck_assert_int_eq(w[0].r, -2);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	weft_wg_wait(&wg);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(w[i].r, 1);
		ck_assert_int_eq(w[i].tag, 7);
	}
}
END_TEST

START_TEST(epoll_wait_goes_on_when_a_watched_fd_is_closed)
{
	struct epoll_event ev[4];
	struct peer p;
	int fd[2];

	TL_SKIP_UNDER_VALGRIND("its first run of the peer can take longer than"
			       " the 30 ms time-out");
	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	/* Closing the last fd of a file takes it out of every epoll set. */
	go(&p, peer_close, fd[0], 5 * MS);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 30), 0);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- not waiting -------------------------------------------------------- */

START_TEST(epoll_wait_returns_at_once_when_an_event_is_ready)
{
	struct epoll_event ev[4];
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	int ep = watch(fd[0], EPOLLIN, 7);
	go(&p, count_run, -1, 0);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, -1), 1);
	ck_assert_int_eq(ev[0].data.u32, 7);
	/* It never parked: the peer has not run yet. */
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(epoll_wait_with_zero_timeout_only_looks)
{
	struct epoll_event ev[4];
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	go(&p, count_run, -1, 0);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 0), 0);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- outside a coroutine, and alone ------------------------------------- */

START_TEST(epoll_wait_outside_a_coroutine_is_libcs)
{
	struct epoll_event ev[4];
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 10), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 10 * MS);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, -1), 1);
	ck_assert_int_eq(ev[0].data.u32, 7);
	errno = 0;
	ck_assert_int_eq(do_wait(_i, ep, bad_ptr, 4, -1), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(epoll_wait_alone_blocks_the_thread_until_a_thread_writes)
{
	struct peer p = { .delay = 10 * MS };
	struct epoll_event ev[4];
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	weft_id();
	p.fd = fd[1];
	ck_assert_int_eq(peer_start(&p, peer_write, true), 0);
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 5000), 1);
	ck_assert_int_eq(ev[0].data.u32, 7);
	peer_join(&p);
}
END_TEST

START_TEST(epoll_wait_alone_is_interrupted_by_a_signal)
{
	struct epoll_event ev[4];
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	weft_id();
	tl_alarm_in(50);
	errno = 0;
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, -1), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(epoll_wait_errors_are_libcs)
{
	struct epoll_event ev[4];
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	int ep = watch(fd[0], EPOLLIN, 7);
	go(&p, count_run, -1, 5 * MS);
	int closed = dup(fd[1]);
	close(closed);
	errno = 0;
	ck_assert_int_eq(do_wait(_i, closed, ev, 4, -1), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(do_wait(_i, fd[0], ev, 4, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(do_wait(_i, ep, ev, 0, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(do_wait(_i, ep, ev, minus_one, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(do_wait(_i, ep, bad_ptr, 4, -1), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(epoll_wait_fails_with_EBADF_when_another_coroutine_closes_it)
{
	struct epoll_event ev[4];
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	go(&p, peer_close, ep, 5 * MS);
	errno = 0;
	ck_assert_int_eq(do_wait(_i, ep, ev, 4, 5000), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- epoll_pwait's signal mask ------------------------------------------ */

START_TEST(epoll_pwait_is_interrupted_by_a_signal_its_mask_lets_through)
{
	struct epoll_event ev[4];
	struct peer p;
	sigset_t none;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&none);
	go(&p, peer_kill, SIGUSR1, 5 * MS);
	errno = 0;
	int r = epoll_pwait(ep, ev, 4, 5000, &none);
	int at = tl_next_step();
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_lt(p.at, at);
	peer_join(&p);
}
END_TEST

START_TEST(epoll_pwait_with_a_signal_already_pending_returns_EINTR_at_once)
{
	struct epoll_event ev[4];
	struct peer p;
	sigset_t none;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&none);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	go(&p, count_run, -1, 0);
	errno = 0;
	ck_assert_int_eq(epoll_pwait(ep, ev, 4, -1, &none), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(epoll_pwait_is_not_interrupted_by_a_signal_its_mask_blocks)
{
	struct epoll_event ev[4];
	struct peer p;
	sigset_t usr1, pending;
	int fd[2];

	TL_SKIP_UNDER_VALGRIND("its first run of the peer can take longer than"
			       " the 30 ms time-out");
	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	go(&p, peer_kill, SIGUSR1, 5 * MS);
	ck_assert_int_eq(epoll_pwait(ep, ev, 4, 30, &usr1), 0);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_eq(tl_handled, 0);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert_int_eq(sigismember(&pending, SIGUSR1), 1);
	peer_join(&p);
}
END_TEST

START_TEST(epoll_pwait_with_a_bad_mask_fails_with_EFAULT)
{
	struct epoll_event ev[4];
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	int ep = watch(fd[0], EPOLLIN, 7);
	go(&p, count_run, -1, 5 * MS);
	errno = 0;
	ck_assert_int_eq(epoll_pwait(ep, ev, 4, -1, bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

/* What one step gave: the result, errno, and the first event. */
struct rec {
	int line;
	int ret;
	int err;
	unsigned events, tag;
};

struct record {
	int n;
	int ticks; /* the weft run's ticker: it must have run */
	struct rec r[64];
};

static void note_wait(struct record *rc, int line, int call, int ep,
		      struct epoll_event *ev, int max, int ms)
{
	struct epoll_event got[4];

	if (rc->n >= (int)(sizeof rc->r / sizeof rc->r[0]))
		return;
	memset(got, 0, sizeof got);
	errno = 0;
	int ret = do_wait(call, ep, ev ? ev : got, max, ms);
	struct rec *x = &rc->r[rc->n++];
	memset(x, 0, sizeof *x);
	x->line = line;
	x->ret = ret;
	x->err = ret < 0 ? errno : 0;
	if (ret > 0 && ev == NULL) {
		x->events = got[0].events;
		x->tag = got[0].data.u32;
	}
}

#define NOTE(rc, call, ep, ev, max, ms) \
	note_wait(rc, __LINE__, call, ep, ev, max, ms)

/* The same steps, with libc alone (peers are threads) or with weft
 * (peers are coroutines, and a ticker keeps the caller from being
 * alone, so every wait parks). */
static void epoll_script(void *rec, int call, bool weft)
{
	struct record *rc = rec;
	struct epoll_event add = { .events = EPOLLIN, .data.u32 = 7 };
	struct tl_ticker t;
	struct peer p;
	int fd[2], et[2];
	char c;

	signal(SIGPIPE, SIG_IGN);
	if (weft)
		tl_ticker_start(&t);
	int ep = epoll_create1(0);
	if (ep < 0 || pipe(fd) < 0 || pipe(et) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd[0], &add) < 0)
		_exit(2);
	add = (struct epoll_event){ .events = EPOLLIN | EPOLLET,
				    .data.u32 = 9 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, et[0], &add) < 0)
		_exit(2);
	/* Nothing yet, then a time-out. */
	NOTE(rc, call, ep, NULL, 4, 0);
	NOTE(rc, call, ep, NULL, 4, 20);
	/* A write from the peer, level-triggered: seen until read. */
	p.fd = fd[1];
	p.delay = 5 * MS;
	if (peer_start(&p, peer_write, !weft) < 0)
		_exit(2);
	NOTE(rc, call, ep, NULL, 4, -1);
	peer_join(&p);
	NOTE(rc, call, ep, NULL, 4, -1);
	if (read(fd[0], &c, 1) != 1)
		_exit(2);
	/* Edge-triggered: once per write. */
	p.fd = et[1];
	if (peer_start(&p, peer_write, !weft) < 0)
		_exit(2);
	NOTE(rc, call, ep, NULL, 4, -1);
	peer_join(&p);
	NOTE(rc, call, ep, NULL, 4, 20);
	/* The writer goes away. */
	p.fd = fd[1];
	if (peer_start(&p, peer_close, !weft) < 0)
		_exit(2);
	NOTE(rc, call, ep, NULL, 4, 5000);
	peer_join(&p);
	/* Errors. */
	NOTE(rc, call, ep, bad_ptr, 4, -1);
	NOTE(rc, call, ep, NULL, 0, -1);
	NOTE(rc, call, fd[0], NULL, 4, -1);
	close(et[1]);
	NOTE(rc, call, et[1], NULL, 4, -1);
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
			      "%d, events %#x, tag %u), weft %d (errno %d, "
			      "events %#x, tag %u)", what, i, p->line, w->line,
			      p->ret, p->err, p->events, p->tag, w->ret,
			      w->err, w->events, w->tag);
	}
	ck_assert_int_eq(plain.n, woven.n);
}

START_TEST(epoll_wait_gives_what_libc_gives)
{
	differ(epoll_script, _i, call_name[_i]);
}
END_TEST

/* ---- the suite ---------------------------------------------------------- */

Suite *suite_hook_epoll(void)
{
	Suite *s = suite_create("hook_epoll");
	TCase *tc;

	tc = tcase_create("parking");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, epoll_wait_parks_until_a_coroutine_writes, 0,
			    NCALLS);
	tcase_add_loop_test(tc, epoll_wait_reports_a_hang_up, 0, NCALLS);
	tcase_add_loop_test(tc, epoll_wait_edge_triggered_reports_each_edge_once,
			    0, NCALLS);
	tcase_add_loop_test(tc, epoll_wait_times_out_with_0_while_others_run,
			    0, NCALLS);
	tcase_add_loop_test(
		tc, two_coroutines_waiting_on_one_epoll_fd_both_see_a_level, 0,
		NCALLS);
	tcase_add_loop_test(tc, epoll_wait_goes_on_when_a_watched_fd_is_closed,
			    0, NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("not_waiting");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, epoll_wait_returns_at_once_when_an_event_is_ready,
			    0, NCALLS);
	tcase_add_loop_test(tc, epoll_wait_with_zero_timeout_only_looks, 0,
			    NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("pass_through");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, epoll_wait_outside_a_coroutine_is_libcs, 0,
			    NCALLS);
	tcase_add_loop_test(
		tc, epoll_wait_alone_blocks_the_thread_until_a_thread_writes, 0,
		NCALLS);
	tcase_add_loop_test(tc, epoll_wait_alone_is_interrupted_by_a_signal, 0,
			    NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, epoll_wait_errors_are_libcs, 0, NCALLS);
	tcase_add_loop_test(
		tc, epoll_wait_fails_with_EBADF_when_another_coroutine_closes_it,
		0, NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("signal_mask");
	tcase_set_timeout(tc, 10);
	tcase_add_test(
		tc, epoll_pwait_is_interrupted_by_a_signal_its_mask_lets_through);
	tcase_add_test(
		tc, epoll_pwait_with_a_signal_already_pending_returns_EINTR_at_once);
	tcase_add_test(tc,
		       epoll_pwait_is_not_interrupted_by_a_signal_its_mask_blocks);
	tcase_add_test(tc, epoll_pwait_with_a_bad_mask_fails_with_EFAULT);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, epoll_wait_gives_what_libc_gives, 0, NCALLS);
	suite_add_tcase(s, tc);
	return s;
}
