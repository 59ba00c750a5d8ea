/* test_hook_sigwait.c - sigwait, sigwaitinfo, sigtimedwait, pause and
 * sigsuspend.
 *
 * The sigwait tests are loop tests over the three calls: _i picks the
 * call, and failure messages name it. */
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
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "weft.h"
#include "testlib.h"

/* Volatile, so the compiler does not see the bad arguments coming. */
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* AddressSanitizer intercepts sigwait, sigwaitinfo, sigtimedwait and
 * ppoll (which weft's wrappers call as "the real ones" in the sanitizer
 * build) and reads their signal sets itself first, so it reports a bad
 * set where the kernel says EFAULT: those steps run in the plain build
 * only. */
#ifdef __SANITIZE_ADDRESS__
#define ASAN 1
#else
#define ASAN 0
#endif

/* ---- helpers ------------------------------------------------------------ */

enum { SIGWAIT, SIGWAITINFO, SIGTIMEDWAIT, NCALLS };

static const char *const call_name[NCALLS] = {
	"sigwait", "sigwaitinfo", "sigtimedwait",
};

/* Waits with call for a signal of set, for ms (sigtimedwait; negative:
 * no time-out).  Returns the signal, or -1 with errno (sigwait's error
 * number too); info, if not NULL, gets what the call filled in. */
static int do_sigwait(int call, const sigset_t *set, int ms, siginfo_t *info)
{
	struct timespec ts = { ms / 1000, ms % 1000 * MS };
	siginfo_t si;
	int sig, r;

	memset(&si, 0, sizeof si);
	switch (call) {
	case SIGWAIT:
		r = sigwait(set, &sig);
		if (r) {
			errno = r;
			return -1;
		}
		si.si_signo = sig;
		r = sig;
		break;
	case SIGWAITINFO:
		r = sigwaitinfo(set, &si);
		break;
	default:
		r = sigtimedwait(set, &si, ms < 0 ? NULL : &ts);
		break;
	}
	if (info)
		*info = si;
	return r;
}

/* The set of sig, and of sig2 if not 0. */
static sigset_t set_of(int sig, int sig2)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	if (sig2)
		sigaddset(&s, sig2);
	return s;
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

/* Sends signal p->fd to the process.  A thread blocks every signal
 * first, so that the kernel cannot hand the signal to it. */
static void peer_kill(struct peer *p)
{
	if (p->run.thread) {
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	kill(getpid(), p->fd);
}

/* The system call the main thread is in, or -1 if it is running; fd is
 * its /proc/self/task/<tid>/syscall. */
static long main_syscall(int fd)
{
	char buf[64] = "";
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	return strtol(buf, NULL, 10);
}

/* Whether the main thread waits in the kernel for a signal or an event:
 * in weft's event loop (epoll_wait), or in pause, sigsuspend. */
static bool main_waits(int fd)
{
	long nr = main_syscall(fd);

	return nr == SYS_epoll_pwait || nr == SYS_rt_sigsuspend
#ifdef SYS_epoll_wait
	       || nr == SYS_epoll_wait
#endif
#ifdef SYS_pause
	       || nr == SYS_pause
#endif
		;
}

/* A thread that sends signal p->fd once the main thread waits in the
 * kernel (at most 5 s later): a signal that neither masks block is seen
 * by a parked pause only if it comes while the thread waits for events.
 * It blocks every signal itself, so that the kernel cannot hand the
 * signal to it, and closes its fd only after the signal is sent: a close
 * on any thread tells every scheduler, whose event loop would then be
 * running when the signal comes. */
static void peer_kill_waiting(struct peer *p)
{
	char path[64];
	sigset_t all;
	int64_t give_up = tl_mono_ns() + 5 * SEC;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", getpid());
	int fd = open(path, O_RDONLY);
	while (fd >= 0 && !main_waits(fd) && tl_mono_ns() < give_up) {
		struct timespec ts = { 0, 1 * MS };
		nanosleep(&ts, NULL);
	}
	kill(getpid(), p->fd);
	if (fd >= 0)
		close(fd);
}

/* Sends SIGCHLD (blocked, ignored) first, then p->fd. */
static void peer_kill_chld_then(struct peer *p)
{
	kill(getpid(), SIGCHLD);
	weft_sleep(10 * MS);
	kill(getpid(), p->fd);
}

/* ---- sigwait and kin: parking and waking -------------------------------- */

START_TEST(sigwait_parks_until_a_coroutine_sends_the_signal)
{
	sigset_t set = set_of(SIGUSR1, 0);
	struct peer p;
	siginfo_t si;

	tl_block_signal(SIGUSR1);
	go(&p, peer_kill, SIGUSR1, 5 * MS);
	int r = do_sigwait(_i, &set, 5000, &si);
	int at = tl_next_step();
	ck_assert_msg(r == SIGUSR1, "%s gave %d (errno %d)", call_name[_i], r,
		      errno);
	ck_assert_int_eq(si.si_signo, SIGUSR1);
	if (_i != SIGWAIT) {
		ck_assert_int_eq(si.si_code, SI_USER);
		ck_assert_int_eq(si.si_pid, getpid());
	}
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_lt(p.at, at);
	peer_join(&p);
}
END_TEST

/* A coroutine that notes when it ran, then stays parked until posted,
 * so that the scheduler waits in its event loop meanwhile. */
static weft_sem hold;
static int held_at;

static void ran_then_hold(void *arg)
{
	(void)arg;
	held_at = tl_next_step();
	weft_sem_wait(&hold);
}

START_TEST(sigwait_parks_until_a_thread_sends_the_signal)
{
	sigset_t set = set_of(SIGUSR1, 0);
	struct peer p = { .fd = SIGUSR1, .delay = 20 * MS };

	tl_block_signal(SIGUSR1);
	weft_sem_init(&hold, 0);
	ck_assert_int_eq(weft_go(ran_then_hold, NULL), 0);
	ck_assert_int_eq(peer_start(&p, peer_kill, true), 0);
	int r = do_sigwait(_i, &set, 5000, NULL);
	ck_assert_msg(r == SIGUSR1, "%s gave %d (errno %d)", call_name[_i], r,
		      errno);
	ck_assert_int_gt(held_at, 0);
	weft_sem_post(&hold);
	peer_join(&p);
}
END_TEST

START_TEST(sigwait_takes_the_signals_of_its_set_one_at_a_time)
{
	sigset_t set = set_of(SIGUSR1, SIGUSR2);
	struct peer p1, p2;

	tl_block_signal(SIGUSR1);
	tl_block_signal(SIGUSR2);
	go(&p1, peer_kill, SIGUSR1, 5 * MS);
	go(&p2, peer_kill, SIGUSR2, 5 * MS);
	int a = do_sigwait(_i, &set, 5000, NULL);
	int b = do_sigwait(_i, &set, 5000, NULL);
	ck_assert_msg((a == SIGUSR1 && b == SIGUSR2) ||
		      (a == SIGUSR2 && b == SIGUSR1),
		      "%s gave %d then %d", call_name[_i], a, b);
	peer_join(&p1);
	peer_join(&p2);
}
END_TEST

/* Two coroutines waiting for one signal. */
struct signal_waiter {
	int call;
	int r;
	weft_wg *wg;
};

static void sigwait_one(void *arg)
{
	struct signal_waiter *w = arg;
	sigset_t set = set_of(SIGUSR1, 0);

	w->r = do_sigwait(w->call, &set, 5000, NULL);
	weft_wg_done(w->wg);
}

START_TEST(two_coroutines_waiting_for_a_signal_each_take_one)
{
	weft_wg wg = WEFT_WG_INIT;
	struct signal_waiter w[2];

	tl_block_signal(SIGUSR1);
	weft_wg_add(&wg, 2);
	for (int i = 0; i < 2; i++) {
		w[i] = (struct signal_waiter){ .call = _i, .r = -2, .wg = &wg };
		ck_assert_int_eq(weft_go(sigwait_one, &w[i]), 0);
	}
	weft_sleep(5 * MS);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	for (int64_t end = tl_mono_ns() + 5 * SEC;
	     w[0].r == -2 && w[1].r == -2 && tl_mono_ns() < end;)
		weft_sleep(1 * MS);
	weft_sleep(5 * MS);
	/* One took it; the other woke for nothing and waits on. */
	ck_assert_int_eq((w[0].r == SIGUSR1) + (w[1].r == SIGUSR1), 1);
	ck_assert_int_eq((w[0].r == -2) + (w[1].r == -2), 1);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	weft_wg_wait(&wg);
	ck_assert_int_eq(w[0].r, SIGUSR1);
	ck_assert_int_eq(w[1].r, SIGUSR1);
}
END_TEST

START_TEST(sigtimedwait_times_out_with_EAGAIN_while_others_run)
{
	sigset_t set = set_of(SIGUSR1, 0);
	struct tl_ticker t;

	tl_block_signal(SIGUSR1);
	tl_ticker_start(&t);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(do_sigwait(SIGTIMEDWAIT, &set, 30, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
}
END_TEST

/* ---- sigwait and kin: not waiting --------------------------------------- */

START_TEST(sigwait_returns_at_once_when_the_signal_is_pending)
{
	sigset_t set = set_of(SIGUSR1, 0);
	struct peer p;

	tl_block_signal(SIGUSR1);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	go(&p, count_run, -1, 0);
	ck_assert_int_eq(do_sigwait(_i, &set, -1, NULL), SIGUSR1);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(sigtimedwait_with_zero_timeout_only_looks)
{
	sigset_t set = set_of(SIGUSR1, 0);
	struct peer p;

	tl_block_signal(SIGUSR1);
	go(&p, count_run, -1, 0);
	errno = 0;
	ck_assert_int_eq(do_sigwait(SIGTIMEDWAIT, &set, 0, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- sigwait and kin: outside a coroutine, and alone -------------------- */

START_TEST(sigwait_outside_a_coroutine_is_libcs)
{
	sigset_t set = set_of(SIGUSR1, 0);

	tl_block_signal(SIGUSR1);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	ck_assert_int_eq(do_sigwait(_i, &set, -1, NULL), SIGUSR1);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(do_sigwait(SIGTIMEDWAIT, &set, 10, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 10 * MS);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(sigwait_alone_blocks_the_thread_until_a_thread_sends)
{
	sigset_t set = set_of(SIGUSR1, 0);
	struct peer p = { .fd = SIGUSR1, .delay = 10 * MS };

	tl_block_signal(SIGUSR1);
	weft_id();
	ck_assert_int_eq(peer_start(&p, peer_kill, true), 0);
	ck_assert_int_eq(do_sigwait(_i, &set, 5000, NULL), SIGUSR1);
	peer_join(&p);
}
END_TEST

START_TEST(sigwait_alone_is_interrupted_by_a_signal_it_does_not_wait_for)
{
	sigset_t set = set_of(SIGUSR1, 0);
	struct peer p = { .fd = SIGUSR1, .delay = 150 * MS };

	tl_block_signal(SIGUSR1);
	weft_id();
	tl_alarm_in(50);
	if (_i == SIGWAIT) {
		/* glibc's sigwait waits on after a handler ran. */
		ck_assert_int_eq(peer_start(&p, peer_kill, true), 0);
		ck_assert_int_eq(do_sigwait(_i, &set, 5000, NULL), SIGUSR1);
		peer_join(&p);
	} else {
		errno = 0;
		ck_assert_int_eq(do_sigwait(_i, &set, 5000, NULL), -1);
		ck_assert_int_eq(errno, EINTR);
	}
	ck_assert_int_eq(tl_handled, 1);
}
END_TEST

/* ---- sigwait and kin: errors -------------------------------------------- */

START_TEST(sigtimedwait_errors_are_libcs)
{
	static const struct timespec bad[] = {
		{ 0, 1000000000 }, { 0, -1 }, { -1, 0 },
	};
	sigset_t set = set_of(SIGUSR1, 0);
	struct peer p;
	siginfo_t si;

	tl_block_signal(SIGUSR1);
	go(&p, count_run, -1, 5 * MS);
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		ck_assert_int_eq(sigtimedwait(&set, &si, &bad[i]), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	errno = 0;
	ck_assert_int_eq(sigtimedwait(&set, &si, bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* A bad time-out does not take a pending signal. */
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	errno = 0;
	ck_assert_int_eq(sigtimedwait(&set, &si, &bad[0]), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sigwaitinfo(&set, &si), SIGUSR1);
	if (!ASAN) {
		errno = 0;
		ck_assert_int_eq(sigtimedwait(bad_ptr, &si, NULL), -1);
		ck_assert_int_eq(errno, EFAULT);
		errno = 0;
		ck_assert_int_eq(sigwaitinfo(bad_ptr, &si), -1);
		ck_assert_int_eq(errno, EFAULT);
		int sig;
		ck_assert_int_eq(sigwait(bad_ptr, &sig), EFAULT);
	}
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

/* ---- sigsuspend and pause ----------------------------------------------- */

START_TEST(sigsuspend_parks_until_a_coroutine_sends_a_signal_it_unblocks)
{
	sigset_t none;
	struct peer p;

	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&none);
	go(&p, peer_kill, SIGUSR1, 5 * MS);
	errno = 0;
	int r = sigsuspend(&none);
	int at = tl_next_step();
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_lt(p.at, at);
	/* The program's mask is as it was. */
	sigset_t now;
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &now), 0);
	ck_assert_int_eq(sigismember(&now, SIGUSR1), 1);
	peer_join(&p);
}
END_TEST

START_TEST(sigsuspend_waits_on_past_a_signal_that_is_ignored)
{
	sigset_t none;
	struct peer p;

	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	tl_block_signal(SIGCHLD); /* default action: ignore */
	sigemptyset(&none);
	go(&p, peer_kill_chld_then, SIGUSR1, 5 * MS);
	errno = 0;
	ck_assert_int_eq(sigsuspend(&none), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	peer_join(&p);
}
END_TEST

START_TEST(sigsuspend_with_the_signal_pending_returns_EINTR_at_once)
{
	sigset_t none;
	struct peer p;

	tl_catch_signal(SIGUSR1);
	tl_block_signal(SIGUSR1);
	sigemptyset(&none);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	go(&p, count_run, -1, 0);
	errno = 0;
	ck_assert_int_eq(sigsuspend(&none), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_int_eq(p.at, 0);
	peer_join(&p);
}
END_TEST

START_TEST(pause_parks_until_a_signal_comes_while_the_thread_waits)
{
	struct peer p = { .fd = SIGUSR1, .delay = 20 * MS };
	sigset_t none;

	tl_catch_signal(SIGUSR1);
	sigemptyset(&none);
	weft_sem_init(&hold, 0);
	ck_assert_int_eq(weft_go(ran_then_hold, NULL), 0);
	ck_assert_int_eq(peer_start(&p, peer_kill_waiting, true), 0);
	errno = 0;
	ck_assert_int_eq(_i ? sigsuspend(&none) : pause(), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_int_gt(held_at, 0);
	weft_sem_post(&hold);
	peer_join(&p);
}
END_TEST

START_TEST(pause_outside_a_coroutine_is_libcs)
{
	sigset_t none;

	sigemptyset(&none);
	tl_alarm_in(20);
	errno = 0;
	ck_assert_int_eq(_i ? sigsuspend(&none) : pause(), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(pause_alone_is_interrupted_by_a_signal)
{
	sigset_t none;

	sigemptyset(&none);
	weft_id();
	tl_alarm_in(50);
	errno = 0;
	ck_assert_int_eq(_i ? sigsuspend(&none) : pause(), -1);
	ck_assert_int_eq(errno, EINTR);
	ck_assert_int_eq(tl_handled, 1);
}
END_TEST

START_TEST(sigsuspend_with_a_bad_mask_fails_with_EFAULT)
{
	struct peer p;

	if (_i)
		weft_id(); /* alone: the real call */
	else
		go(&p, count_run, -1, 5 * MS);
	if (!ASAN || _i) {
		errno = 0;
		ck_assert_int_eq(sigsuspend(bad_ptr), -1);
		ck_assert_int_eq(errno, EFAULT);
	}
	if (!_i) {
		ck_assert_int_eq(p.at, 0);
		peer_join(&p);
	}
}
END_TEST

/* ---- differential ------------------------------------------------------- */

/* What one step gave: the result, errno, and the siginfo's main fields. */
struct rec {
	int line;
	int ret;
	int err;
	int signo, code, pid;
	int handled;
};

struct record {
	int n;
	int ticks; /* the weft run's ticker: it must have run */
	struct rec r[64];
};

static void note_at(struct record *rc, int line, int ret, int err,
		    const siginfo_t *si)
{
	if (rc->n >= (int)(sizeof rc->r / sizeof rc->r[0]))
		return;
	struct rec *x = &rc->r[rc->n++];
	memset(x, 0, sizeof *x);
	x->line = line;
	x->ret = ret;
	x->err = ret < 0 ? err : 0;
	x->handled = tl_handled;
	if (si && ret > 0) {
		x->signo = si->si_signo;
		x->code = si->si_code;
		x->pid = si->si_pid == getpid();
	}
}

#define NOTE(rc, expr, si)                                                   \
	do {                                                                 \
		errno = 0;                                                   \
		int ret_ = (int)(expr);                                      \
		note_at(rc, __LINE__, ret_, errno, si);                      \
	} while (0)

/* The same steps, with libc alone (peers are threads) or with weft
 * (peers are coroutines, and a ticker keeps the caller from being
 * alone, so every wait parks). */
static void sigwait_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	static const struct timespec bad = { 0, 1000000000 };
	struct timespec zero = { 0, 0 }, ms20 = { 0, 20 * MS };
	sigset_t usr1 = set_of(SIGUSR1, 0), both = set_of(SIGUSR1, SIGUSR2);
	sigset_t none;
	struct sigaction sa = { .sa_handler = tl_on_signal };
	struct tl_ticker t;
	struct peer p;
	siginfo_t si;
	int sig;

	(void)arg;
	sigemptyset(&none);
	sigemptyset(&sa.sa_mask);
	if (sigprocmask(SIG_BLOCK, &both, NULL) < 0 ||
	    sigaction(SIGUSR2, &sa, NULL) < 0)
		_exit(2);
	if (weft)
		tl_ticker_start(&t);
	/* Nothing yet, then a time-out. */
	NOTE(rc, sigtimedwait(&usr1, &si, &zero), &si);
	NOTE(rc, sigtimedwait(&usr1, &si, &ms20), &si);
	/* Signals from the peer. */
	p.fd = SIGUSR1;
	p.delay = 5 * MS;
	if (peer_start(&p, peer_kill, !weft) < 0)
		_exit(2);
	NOTE(rc, sigwaitinfo(&usr1, &si), &si);
	peer_join(&p);
	if (peer_start(&p, peer_kill, !weft) < 0)
		_exit(2);
	NOTE(rc, sigtimedwait(&both, &si, NULL), &si);
	peer_join(&p);
	if (peer_start(&p, peer_kill, !weft) < 0)
		_exit(2);
	NOTE(rc, sigwait(&usr1, &sig), NULL);
	NOTE(rc, sig, NULL);
	peer_join(&p);
	/* Pending already. */
	kill(getpid(), SIGUSR1);
	NOTE(rc, sigtimedwait(&usr1, &si, &ms20), &si);
	/* A handler, through sigsuspend. */
	p.fd = SIGUSR2;
	if (peer_start(&p, peer_kill, !weft) < 0)
		_exit(2);
	NOTE(rc, sigsuspend(&none), NULL);
	peer_join(&p);
	/* A handler, through pause, for a signal from a thread (a parked
	 * pause sees it as it comes while the thread waits for events). */
	if (!tl_valgrind_cannot("signal_waits_give_what_libc_gives", "slowed"
				" down, the thread's signal comes while the"
				" ticker runs, more often than not, and a"
				" parked pause misses it then (a known"
				" limit)")) {
		struct peer w = { .fd = SIGUSR2, .delay = 0 };
		sigset_t usr2 = set_of(SIGUSR2, 0);
		if (sigprocmask(SIG_UNBLOCK, &usr2, NULL) < 0 ||
		    peer_start(&w, peer_kill_waiting, true) < 0)
			_exit(2);
		NOTE(rc, pause(), NULL);
		peer_join(&w);
		if (sigprocmask(SIG_BLOCK, &usr2, NULL) < 0)
			_exit(2);
	}
	/* Errors. */
	NOTE(rc, sigtimedwait(&usr1, &si, &bad), &si);
	NOTE(rc, sigtimedwait(&usr1, &si, bad_ptr), &si);
	if (!ASAN) {
		NOTE(rc, sigwaitinfo(bad_ptr, &si), &si);
		NOTE(rc, sigwait(bad_ptr, &sig), NULL);
		NOTE(rc, sigsuspend(bad_ptr), NULL);
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
			      "%d, signo %d, code %d, handled %d), weft %d "
			      "(errno %d, signo %d, code %d, handled %d)",
			      what, i, p->line, w->line, p->ret, p->err,
			      p->signo, p->code, p->handled, w->ret, w->err,
			      w->signo, w->code, w->handled);
	}
	ck_assert_int_eq(plain.n, woven.n);
}

START_TEST(signal_waits_give_what_libc_gives)
{
	differ(sigwait_script, 0, "signal waits");
}
END_TEST

/* ---- the suite ---------------------------------------------------------- */

Suite *suite_hook_sigwait(void)
{
	Suite *s = suite_create("hook_sigwait");
	TCase *tc;

	tc = tcase_create("parking");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, sigwait_parks_until_a_coroutine_sends_the_signal,
			    0, NCALLS);
	tcase_add_loop_test(tc, sigwait_parks_until_a_thread_sends_the_signal,
			    0, NCALLS);
	tcase_add_loop_test(tc,
			    sigwait_takes_the_signals_of_its_set_one_at_a_time,
			    0, NCALLS);
	tcase_add_loop_test(tc,
			    two_coroutines_waiting_for_a_signal_each_take_one,
			    0, NCALLS);
	tcase_add_test(tc, sigtimedwait_times_out_with_EAGAIN_while_others_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("not_waiting");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, sigwait_returns_at_once_when_the_signal_is_pending,
			    0, NCALLS);
	tcase_add_test(tc, sigtimedwait_with_zero_timeout_only_looks);
	suite_add_tcase(s, tc);

	tc = tcase_create("pass_through");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, sigwait_outside_a_coroutine_is_libcs, 0, NCALLS);
	tcase_add_loop_test(tc,
			    sigwait_alone_blocks_the_thread_until_a_thread_sends,
			    0, NCALLS);
	tcase_add_loop_test(
		tc, sigwait_alone_is_interrupted_by_a_signal_it_does_not_wait_for,
		0, NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, sigtimedwait_errors_are_libcs);
	suite_add_tcase(s, tc);

	tc = tcase_create("suspend");
	tcase_set_timeout(tc, 10);
	tcase_add_test(
		tc, sigsuspend_parks_until_a_coroutine_sends_a_signal_it_unblocks);
	tcase_add_test(tc, sigsuspend_waits_on_past_a_signal_that_is_ignored);
	tcase_add_test(tc,
		       sigsuspend_with_the_signal_pending_returns_EINTR_at_once);
	tcase_add_loop_test(
		tc, pause_parks_until_a_signal_comes_while_the_thread_waits, 0, 2);
	tcase_add_loop_test(tc, pause_outside_a_coroutine_is_libcs, 0, 2);
	tcase_add_loop_test(tc, pause_alone_is_interrupted_by_a_signal, 0, 2);
	tcase_add_loop_test(tc, sigsuspend_with_a_bad_mask_fails_with_EFAULT, 0,
			    2);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, signal_waits_give_what_libc_gives);
	suite_add_tcase(s, tc);
	return s;
}
