/* test_hook_poll.c - poll, ppoll, __poll_chk and __ppoll_chk.
 *
 * Most tests are loop tests over the four calls: _i picks the call, and
 * failure messages name it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "weft.h"
#include "testlib.h"

int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
		const sigset_t *sigmask, size_t fdslen);

/* Volatile, so the compiler does not see the bad arguments coming. */
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* AddressSanitizer's own poll interceptor (which weft's wrapper calls as
 * "the real poll" in the sanitizer build) reads the whole array before the
 * call, so it reports a bad or short array itself where the kernel says
 * EFAULT or EINVAL: those steps run in the plain build only. */
#ifdef __SANITIZE_ADDRESS__
#define ASAN 1
#else
#define ASAN 0
#endif

/* ---- helpers ------------------------------------------------------------ */

enum { POLL, PPOLL, POLL_CHK, PPOLL_CHK, NCALLS };

static const char *const call_name[NCALLS] = {
	"poll", "ppoll", "__poll_chk", "__ppoll_chk",
};

/* Calls call with a time-out in ms (negative: none). */
static int do_poll(int call, struct pollfd *fds, nfds_t n, int ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
	struct timespec *tp = ms < 0 ? NULL : &ts;

	switch (call) {
	case POLL:
		return poll(fds, n, ms);
	case PPOLL:
		return ppoll(fds, n, tp, NULL);
	case POLL_CHK:
		return __poll_chk(fds, n, ms, n * sizeof *fds);
	default:
		return __ppoll_chk(fds, n, tp, NULL, n * sizeof *fds);
	}
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

static void peer_write(struct peer *p)
{
	(void)!write(p->fd, "x", 1);
}

static void peer_close(struct peer *p)
{
	close(p->fd);
}

static void peer_shutdown(struct peer *p)
{
	shutdown(p->fd, SHUT_WR);
}

static void peer_kill(struct peer *p)
{
	kill(getpid(), p->fd);
}

/* Reads what a full socket holds, so that its peer can write again. */
static void peer_drain(struct peer *p)
{
	char buf[4096];

	while (recv(p->fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
}

/* ---- parking and waking ------------------------------------------------- */

START_TEST(poll_parks_until_a_coroutine_writes)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, peer_write, fd[1], 5 * MS);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	int r = do_poll(_i, &pf, 1, -1);
	int at = tl_next_step();
	ck_assert_msg(r == 1 && pf.revents == POLLIN, "%s gave %d, revents %#x",
		      call_name[_i], r, pf.revents);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_lt(p.at, at);
	peer_join(&p);
}
END_TEST

START_TEST(poll_on_100_pipes_reports_only_the_one_written)
{
	enum { N = 100, WRITTEN = 57 };
	struct pollfd pf[N];
	int fd[N][2];
	struct peer p;

	for (int i = 0; i < N; i++) {
		tl_make_pipe(fd[i]);
		pf[i] = (struct pollfd){ .fd = fd[i][0], .events = POLLIN };
	}
	go(&p, peer_write, fd[WRITTEN][1], 10 * MS);
	int r = do_poll(_i, pf, N, 5000);
	ck_assert_msg(r == 1, "%s gave %d", call_name[_i], r);
	for (int i = 0; i < N; i++)
		ck_assert_msg(pf[i].revents == (i == WRITTEN ? POLLIN : 0),
			      "%s: pipe %d has revents %#x", call_name[_i], i,
			      pf[i].revents);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(poll_waits_for_room_to_write)
{
	struct peer p;
	int s[2];

	tl_make_full_socket(s);
	go(&p, peer_drain, s[1], 5 * MS);
	struct pollfd pf = { .fd = s[0], .events = POLLOUT };
	int r = do_poll(_i, &pf, 1, -1);
	ck_assert_msg(r == 1 && pf.revents == POLLOUT, "%s gave %d, %#x",
		      call_name[_i], r, pf.revents);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(poll_reports_a_hang_up)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, peer_close, fd[1], 5 * MS);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	int r = do_poll(_i, &pf, 1, -1);
	ck_assert_msg(r == 1 && pf.revents == POLLHUP, "%s gave %d, %#x",
		      call_name[_i], r, pf.revents);
	peer_join(&p);
}
END_TEST

START_TEST(poll_asking_for_no_events_still_reports_a_hang_up)
{
	struct peer p;
	int s[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	/* Data waiting that the poll does not ask about: it must not
	 * count, nor stop the hang-up from being seen. */
	ck_assert_int_eq(write(s[1], "x", 1), 1);
	go(&p, peer_close, s[1], 30 * MS);
	struct pollfd pf = { .fd = s[0], .events = 0 };
	int r = do_poll(_i, &pf, 1, 5000);
	ck_assert_msg(r == 1 && (pf.revents & POLLHUP), "%s gave %d, %#x",
		      call_name[_i], r, pf.revents);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(poll_times_out_with_0_while_others_run)
{
	struct tl_ticker t;
	int fd[2];

	tl_make_pipe(fd);
	tl_ticker_start(&t);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	int64_t t0 = tl_mono_ns();
	int r = do_poll(_i, &pf, 1, 30);
	int64_t took = tl_mono_ns() - t0;
	ck_assert_msg(r == 0 && pf.revents == 0, "%s gave %d, %#x",
		      call_name[_i], r, pf.revents);
	ck_assert_int_ge(took, 30 * MS);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

START_TEST(poll_on_no_fds_sleeps_while_others_run)
{
	struct tl_ticker t;

	tl_ticker_start(&t);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(do_poll(_i, NULL, 0, 20), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 20 * MS);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

/* Two coroutines polling one fd. */
struct poller {
	int fd;
	int r;
	short revents;
	weft_wg *wg;
};

static void poll_one(void *arg)
{
	struct poller *p = arg;
	struct pollfd pf = { .fd = p->fd, .events = POLLIN };

	p->r = poll(&pf, 1, 5000);
	p->revents = pf.revents;
	weft_wg_done(p->wg);
}

START_TEST(two_coroutines_polling_one_fd_both_wake)
{
	weft_wg wg = WEFT_WG_INIT;
	struct poller p[2];
	int fd[2];

	tl_make_pipe(fd);
	weft_wg_add(&wg, 2);
	for (int i = 0; i < 2; i++) {
		p[i] = (struct poller){ .fd = fd[0], .r = -2, .wg = &wg };
		ck_assert_int_eq(weft_go(poll_one, &p[i]), 0);
	}
	weft_sleep(5 * MS);
	ck_assert_int_eq(p[0].r, -2);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	weft_wg_wait(&wg);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(p[i].r, 1);
		ck_assert_int_eq(p[i].revents, POLLIN);
	}
}
END_TEST

/* ---- not waiting -------------------------------------------------------- */

static void count_run(struct peer *p)
{
	(void)p;
}

START_TEST(poll_returns_at_once_when_an_fd_is_ready)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	go(&p, count_run, -1, 0);
	struct pollfd pf[2] = { { .fd = fd[0], .events = POLLIN },
				{ .fd = fd[1], .events = POLLIN } };
	ck_assert_int_eq(do_poll(_i, pf, 2, -1), 1);
	ck_assert_int_eq(pf[0].revents, POLLIN);
	ck_assert_int_eq(pf[1].revents, 0);
	/* It never parked: the peer has not run yet. */
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(poll_on_a_regular_file_returns_at_once)
{
	struct peer p;
	char path[] = "/tmp/weft-poll-XXXXXX";
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	unlink(path);
	go(&p, count_run, -1, 0);
	struct pollfd pf = { .fd = fd, .events = POLLIN | POLLOUT };
	ck_assert_int_eq(do_poll(_i, &pf, 1, -1), 1);
	ck_assert_int_eq(pf.revents, POLLIN | POLLOUT);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(poll_with_zero_timeout_only_looks)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, count_run, -1, 0);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	ck_assert_int_eq(do_poll(_i, &pf, 1, 0), 0);
	ck_assert_int_eq(pf.revents, 0);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- outside a coroutine, and alone ------------------------------------- */

START_TEST(poll_outside_a_coroutine_is_libcs)
{
	int fd[2];

	tl_make_pipe(fd);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(do_poll(_i, &pf, 1, 10), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 10 * MS);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	ck_assert_int_eq(do_poll(_i, &pf, 1, -1), 1);
	ck_assert_int_eq(pf.revents, POLLIN);
	errno = 0;
	if (!ASAN) {
		ck_assert_int_eq(do_poll(_i, bad_ptr, 1, 0), -1);
		ck_assert_int_eq(errno, EFAULT);
	}
	/* No scheduler was made. */
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(poll_alone_blocks_the_thread_until_a_thread_writes)
{
	struct peer p = { .delay = 10 * MS };
	int fd[2];

	tl_make_pipe(fd);
	weft_id();
	p.fd = fd[1];
	ck_assert_int_eq(peer_start(&p, peer_write, true), 0);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	ck_assert_int_eq(do_poll(_i, &pf, 1, 5000), 1);
	ck_assert_int_eq(pf.revents, POLLIN);
	peer_join(&p);
}
END_TEST

START_TEST(poll_alone_is_interrupted_by_a_signal)
{
	int fd[2];

	tl_make_pipe(fd);
	weft_id();
	tl_alarm_in(50);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	errno = 0;
	ck_assert_int_eq(do_poll(_i, &pf, 1, -1), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(poll_reports_a_closed_fd_as_POLLNVAL)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, count_run, -1, 0);
	close(fd[0]);
	struct pollfd pf[2] = { { .fd = fd[0], .events = POLLIN },
				{ .fd = -1, .events = POLLIN } };
	ck_assert_int_eq(do_poll(_i, pf, 2, -1), 1);
	ck_assert_int_eq(pf[0].revents, POLLNVAL);
	ck_assert_int_eq(pf[1].revents, 0);
	peer_join(&p);
}
END_TEST

START_TEST(poll_wakes_with_POLLNVAL_when_another_coroutine_closes_the_fd)
{
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, peer_close, fd[0], 5 * MS);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	ck_assert_int_eq(do_poll(_i, &pf, 1, 5000), 1);
	ck_assert_int_eq(pf.revents, POLLNVAL);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(poll_errors_are_libcs)
{
	struct peer p;
	struct rlimit rl;
	int fd[2];

	tl_make_pipe(fd);
	struct pollfd pf = { .fd = fd[1], .events = POLLOUT };
	go(&p, count_run, -1, 5 * MS);
	if (!ASAN) {
		errno = 0;
		ck_assert_int_eq(do_poll(_i, bad_ptr, 1, -1), -1);
		ck_assert_int_eq(errno, EFAULT);
		ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
		errno = 0;
		ck_assert_int_eq(do_poll(_i, &pf, rl.rlim_cur + 1, -1), -1);
		if (!tl_valgrind_cannot(__func__, "it reads the whole pollfd"
					" array before the kernel checks nfds:"
					" EFAULT, not EINVAL"))
			ck_assert_int_eq(errno, EINVAL);
	}
	/* Errors come at once: the peer has not run. */
	ck_assert_int_eq(do_poll(_i, &pf, 1, -1), 1);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(ppoll_rejects_a_bad_timeout_with_EINVAL)
{
	static const struct timespec bad[] = {
		{ 0, 1000000000 }, { 0, -1 }, { -1, 0 },
	};
	struct peer p;
	int fd[2];

	tl_make_pipe(fd);
	go(&p, count_run, -1, 5 * MS);
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct pollfd pf = { .fd = fd[0], .events = POLLIN };
		errno = 0;
		int r = _i ? __ppoll_chk(&pf, 1, &bad[i], NULL, sizeof pf)
			   : ppoll(&pf, 1, &bad[i], NULL);
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(poll_chk_with_a_short_array_aborts)
{
	struct pollfd pf[2] = { { .fd = 0 }, { .fd = 0 } };
	struct peer p;

	go(&p, count_run, -1, 5 * MS);
	if (_i)
		__ppoll_chk(pf, 2, NULL, NULL, sizeof pf[0]);
	else
		__poll_chk(pf, 2, -1, sizeof pf[0]);
}
END_TEST

/* ---- ppoll's signal mask ------------------------------------------------ */

static int do_ppoll_mask(int chk, struct pollfd *pf, nfds_t n, int ms,
			 const sigset_t *mask)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
	struct timespec *tp = ms < 0 ? NULL : &ts;

	return chk ? __ppoll_chk(pf, n, tp, mask, n * sizeof *pf)
		   : ppoll(pf, n, tp, mask);
}

START_TEST(ppoll_is_interrupted_by_a_signal_its_mask_lets_through)
{
	struct peer p;
	sigset_t none;
	int fd[2];

	tl_make_pipe(fd);
	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&none);
	go(&p, peer_kill, SIGUSR1, 5 * MS);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	errno = 0;
	int r = do_ppoll_mask(_i, &pf, 1, 5000, &none);
	int at = tl_next_step();
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_lt(p.at, at);
	peer_join(&p);
}
END_TEST

START_TEST(ppoll_with_a_signal_already_pending_returns_EINTR_at_once)
{
	struct peer p;
	sigset_t none;
	int fd[2];

	tl_make_pipe(fd);
	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&none);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	go(&p, count_run, -1, 0);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	errno = 0;
	ck_assert_int_eq(do_ppoll_mask(_i, &pf, 1, -1, &none), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(ppoll_is_not_interrupted_by_a_signal_its_mask_blocks)
{
	struct peer p;
	sigset_t usr1, pending;
	int fd[2];

	TL_SKIP_UNDER_VALGRIND("its first run of the peer can take longer"
			       " than the 30 ms time-out");
	tl_make_pipe(fd);
	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	go(&p, peer_kill, SIGUSR1, 5 * MS);
	struct pollfd pf = { .fd = fd[0], .events = POLLIN };
	ck_assert_int_eq(do_ppoll_mask(_i, &pf, 1, 30, &usr1), 0);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_eq(tl_handled, 0);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert_int_eq(sigismember(&pending, SIGUSR1), 1);
	peer_join(&p);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

/* What one step gave: the result, errno, and the first fds' revents. */
struct rec {
	int line;
	int ret;
	int err;
	short revents[4];
};

struct record {
	int n;
	int ticks; /* the weft run's ticker: it must have run */
	struct rec r[64];
};

static void note_at(struct record *rc, int line, int ret, int err,
		    const struct pollfd *pf, int n)
{
	if (rc->n >= (int)(sizeof rc->r / sizeof rc->r[0]))
		return;
	struct rec *r = &rc->r[rc->n++];
	memset(r, 0, sizeof *r);
	r->line = line;
	r->ret = ret;
	r->err = ret < 0 ? err : 0;
	for (int i = 0; ret >= 0 && i < n && i < 4; i++)
		r->revents[i] = pf[i].revents;
}

#define NOTE(rc, call, pf, n, ms)                                             \
	do {                                                                  \
		errno = 0;                                                    \
		int ret_ = do_poll(call, pf, n, ms);                          \
		note_at(rc, __LINE__, ret_, errno, pf, n);                    \
	} while (0)

/* The same steps, with libc alone (peers are threads) or with weft
 * (peers are coroutines, and a ticker keeps the caller from being
 * alone, so every wait parks). */
static void poll_script(void *rec, int call, bool weft)
{
	struct record *rc = rec;
	struct tl_ticker t;
	struct peer p;
	struct pollfd pf[3];
	int fd[2], s[2];
	char c;

	signal(SIGPIPE, SIG_IGN);
	if (weft)
		tl_ticker_start(&t);
	if (pipe(fd) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
		_exit(2);
	pf[0] = (struct pollfd){ .fd = fd[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = s[0], .events = POLLIN | POLLOUT };
	pf[2] = (struct pollfd){ .fd = -1, .events = POLLIN };
	/* Nothing yet, then a time-out. */
	NOTE(rc, call, pf, 1, 0);
	NOTE(rc, call, pf, 1, 20);
	/* A write from the peer. */
	p.fd = fd[1];
	p.delay = 5 * MS;
	if (peer_start(&p, peer_write, !weft) < 0)
		_exit(2);
	NOTE(rc, call, pf, 1, -1);
	peer_join(&p);
	/* Still there: poll does not consume. */
	NOTE(rc, call, pf, 3, -1);
	if (read(fd[0], &c, 1) != 1)
		_exit(2);
	/* A socket: writable at once; then readable after a hang-up. */
	NOTE(rc, call, &pf[1], 2, -1);
	pf[1].events = POLLIN;
	p.fd = s[1];
	if (peer_start(&p, peer_shutdown, !weft) < 0)
		_exit(2);
	NOTE(rc, call, &pf[1], 1, 5000);
	peer_join(&p);
	pf[1].events = 0;
	NOTE(rc, call, &pf[1], 1, 10);
	/* The writer goes away. */
	p.fd = fd[1];
	if (peer_start(&p, peer_close, !weft) < 0)
		_exit(2);
	NOTE(rc, call, pf, 1, 5000);
	peer_join(&p);
	/* Errors. */
	close(fd[0]);
	NOTE(rc, call, pf, 3, -1);
	if (!ASAN) {
		NOTE(rc, call, (struct pollfd *)bad_ptr, 1, -1);
		NOTE(rc, call, pf, 1 << 30, -1);
	}
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
			      "%d, revents %#x %#x %#x), weft %d (errno %d, "
			      "revents %#x %#x %#x)", what, i, p->line,
			      w->line, p->ret, p->err, p->revents[0],
			      p->revents[1], p->revents[2], w->ret, w->err,
			      w->revents[0], w->revents[1], w->revents[2]);
	}
	ck_assert_int_eq(plain.n, woven.n);
}

START_TEST(poll_gives_what_libc_gives)
{
	differ(poll_script, _i, call_name[_i]);
}
END_TEST

/* ---- the suite ---------------------------------------------------------- */

Suite *suite_hook_poll(void)
{
	Suite *s = suite_create("hook_poll");
	TCase *tc;

	tc = tcase_create("parking");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, poll_parks_until_a_coroutine_writes, 0, NCALLS);
	tcase_add_loop_test(tc, poll_on_100_pipes_reports_only_the_one_written,
			    0, NCALLS);
	tcase_add_loop_test(tc, poll_waits_for_room_to_write, 0, NCALLS);
	tcase_add_loop_test(tc, poll_reports_a_hang_up, 0, NCALLS);
	tcase_add_loop_test(tc,
			    poll_asking_for_no_events_still_reports_a_hang_up,
			    0, NCALLS);
	tcase_add_loop_test(tc, poll_times_out_with_0_while_others_run, 0,
			    NCALLS);
	tcase_add_loop_test(tc, poll_on_no_fds_sleeps_while_others_run, 0,
			    NCALLS);
	tcase_add_test(tc, two_coroutines_polling_one_fd_both_wake);
	suite_add_tcase(s, tc);

	tc = tcase_create("not_waiting");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, poll_returns_at_once_when_an_fd_is_ready, 0,
			    NCALLS);
	tcase_add_loop_test(tc, poll_on_a_regular_file_returns_at_once, 0,
			    NCALLS);
	tcase_add_loop_test(tc, poll_with_zero_timeout_only_looks, 0, NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("pass_through");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, poll_outside_a_coroutine_is_libcs, 0, NCALLS);
	tcase_add_loop_test(tc,
			    poll_alone_blocks_the_thread_until_a_thread_writes,
			    0, NCALLS);
	tcase_add_loop_test(tc, poll_alone_is_interrupted_by_a_signal, 0,
			    NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, poll_reports_a_closed_fd_as_POLLNVAL, 0,
			    NCALLS);
	tcase_add_loop_test(
		tc, poll_wakes_with_POLLNVAL_when_another_coroutine_closes_the_fd,
		0, NCALLS);
	tcase_add_loop_test(tc, poll_errors_are_libcs, 0, NCALLS);
	tcase_add_loop_test(tc, ppoll_rejects_a_bad_timeout_with_EINVAL, 0, 2);
	tcase_add_loop_test_raise_signal(tc, poll_chk_with_a_short_array_aborts,
					 SIGABRT, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("signal_mask");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
			    ppoll_is_interrupted_by_a_signal_its_mask_lets_through,
			    0, 2);
	tcase_add_loop_test(
		tc, ppoll_with_a_signal_already_pending_returns_EINTR_at_once,
		0, 2);
	tcase_add_loop_test(tc,
			    ppoll_is_not_interrupted_by_a_signal_its_mask_blocks,
			    0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, poll_gives_what_libc_gives, 0, NCALLS);
	suite_add_tcase(s, tc);
	return s;
}
