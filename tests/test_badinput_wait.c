/* test_badinput_wait.c - bad input to the wrapped calls that wait:
 * multiplexing, sleeps, signal waits, child waits, name lookups, green
 * pthread and sem calls, process creation.
 *
 * One script per group of calls makes every bad call in turn (invalid and
 * closed fds, NULL and unmapped pointers, read-only buffers, negative and
 * huge time-outs, invalid flags and clocks) and notes what each gave.  It
 * runs three ways, each in a forked child: plain (no weft call at all),
 * woven (from the root coroutine while a ticker coroutine is alive, so
 * every wrapper takes its parking path; green threads on for the pthread
 * groups) and outside (weft running on the main thread, the calls made on
 * a real thread of their own); the woven and outside records must equal
 * the plain one step by step.  No call may wait for ever: a wait with no
 * time-out always has a ready fd or a pending signal.  Steps where libc
 * itself is interrupted by a signal (a parked sleep or pause is not, see
 * hook/sleep.c and hook/sigwait.c) are left out of the woven comparison.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "weft.h"
#include "testlib.h"
#include "../hook/green.h"

int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
		const sigset_t *sigmask, size_t fdslen);

extern char **environ;

/* AddressSanitizer's interceptors of poll, ppoll and the sigset calls
 * read the caller's memory before the call (see test_hook_poll.c), and
 * UBSan refuses NULL for parameters declared non-null: steps whose
 * pointer the kernel alone should refuse run in the plain build. */
#ifdef __SANITIZE_ADDRESS__
#define ASAN 1
#else
#define ASAN 0
#endif

/* Volatile, so the compiler does not see the bad arguments coming. */
static void *volatile bad_ptr = (void *)8; /* never mapped */
static void *volatile null_ptr;              /* NULL */
static volatile int huge_max = 1 << 20;      /* events for a 4 array */
static void *unmapped; /* a PROT_NONE page, past the first, never reused */
static void *rdonly;   /* a zeroed read-only page */

enum { WOVEN = 1 << 8, OUTSIDE = 1 << 9 };
enum { POLL, SELECT, EPOLL, SLEEP, SIGWAIT, WAIT, RESOLVE, PTHREAD, SEM,
       SPAWN, NGROUPS };

static const char *const group_name[NGROUPS] = {
	"poll", "select", "epoll", "sleep", "sigwait", "wait", "resolve",
	"pthread", "sem", "spawn",
};

struct record {
	int n;
	struct tl_rec r[400];
};

/* What a script's body needs: the record, and whether it is compared with
 * a woven run (which leaves out what only a signal ends). */
struct ctx {
	struct record *rc;
	bool woven;
};

/* Notes an error-number result (pthread, sem_clockwait...) or a plain
 * one; a pid becomes 1 so that runs compare. */
#define NOTE(rc, expr) TL_NOTE(rc, expr, NULL)
#define NOTE_PID(rc, pid, expr)                                               \
	do {                                                                  \
		errno = 0;                                                    \
		long r_ = (long)(expr);                                       \
		TL_NOTE_AT(rc, __LINE__, r_ == (pid) ? 1 : r_, errno, NULL);  \
	} while (0)

static const struct timespec past = { 1, 0 }; /* 1970: long gone */
static const struct timespec bad_ts[] = {
	{ 0, 1000000000 }, { 0, -1 }, { -1, 0 }, { -1, 1000000000 },
};
#define NBAD_TS (int)(sizeof bad_ts / sizeof bad_ts[0])

/* A pipe whose write end is ready and whose read end is not. */
static void quiet_pipe(int p[2])
{
	if (pipe(p) < 0)
		_exit(2);
}

/* A closed fd number. */
static int closed_fd(void)
{
	int p[2];

	quiet_pipe(p);
	close(p[0]);
	close(p[1]);
	return p[0];
}

/* ---- poll, ppoll, __poll_chk, __ppoll_chk ------------------------------ */

static int do_poll(int call, struct pollfd *f, nfds_t n, int ms,
		   const sigset_t *mask)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };
	size_t len = SIZE_MAX;

	switch (call) {
	case 0: return poll(f, n, ms);
	case 1: return ppoll(f, n, ms < 0 ? NULL : &ts, mask);
	case 2: return __poll_chk(f, n, ms, len);
	default: return __ppoll_chk(f, n, ms < 0 ? NULL : &ts, mask, len);
	}
}

static void poll_body(struct ctx *x)
{
	struct record *rc = x->rc;
	int p[2], cl;
	sigset_t none;
	struct rlimit rl;

	sigemptyset(&none);
	quiet_pipe(p);
	cl = closed_fd();
	getrlimit(RLIMIT_NOFILE, &rl);
	for (int call = 0; call < 4; call++) {
		int bad_fds[] = { -1, cl, 1 << 30 };
		for (int i = 0; i < 3; i++) {
			struct pollfd f[2] = { { bad_fds[i], POLLIN, 0 },
					       { p[1], POLLOUT, 0 } };
			NOTE(rc, do_poll(call, f, 2, -5, NULL));
			NOTE(rc, f[0].revents);
			NOTE(rc, f[1].revents);
			NOTE(rc, do_poll(call, f, 1, 10, NULL));
			NOTE(rc, f[0].revents);
		}
		struct pollfd f = { p[1], POLLOUT, 0 }, q = { p[0], POLLIN, 0 };
		NOTE(rc, do_poll(call, &f, 1, INT_MAX, NULL));
		NOTE(rc, do_poll(call, &q, 1, 0, NULL));
		NOTE(rc, do_poll(call, &q, 1, 10, NULL));
		NOTE(rc, do_poll(call, NULL, 0, 10, NULL));
		if (call & 1) {
			struct timespec big = { LONG_MAX, 999999999 };
			NOTE(rc, ppoll(&f, 1, &big, &none));
			for (int i = 0; i < NBAD_TS; i++) {
				NOTE(rc, ppoll(&f, 1, &bad_ts[i], NULL));
				NOTE(rc, ppoll(&q, 1, &bad_ts[i], NULL));
			}
		}
		if (ASAN)
			continue;
		NOTE(rc, do_poll(call, NULL, 1, -1, NULL));
		NOTE(rc, do_poll(call, bad_ptr, 1, -1, NULL));
		NOTE(rc, do_poll(call, unmapped, 1, -1, NULL));
		NOTE(rc, do_poll(call, bad_ptr, 0, 10, NULL));
		NOTE(rc, do_poll(call, &f, (nfds_t)rl.rlim_cur + 1, -1, NULL));
		if (call < 2) /* the _chk calls abort, as they should */
			NOTE(rc, do_poll(call, &f, (nfds_t)-1, -1, NULL));
		/* Readable but not writable: the kernel cannot give revents. */
		struct pollfd *ro = rdonly;
		NOTE(rc, do_poll(call, ro, 1, 10, NULL));
		if (call & 1) {
			NOTE(rc, do_poll(call, &f, 1, -1, bad_ptr));
			NOTE(rc, do_poll(call, &q, 1, 10, unmapped));
			NOTE(rc, ppoll(&q, 1, NULL, bad_ptr));
		}
	}
}

/* ---- select, pselect ---------------------------------------------------- */

static int do_select(int call, int nfds, fd_set *r, fd_set *w, fd_set *e,
		     int ms, const sigset_t *mask)
{
	struct timeval tv = { ms / 1000, ms % 1000 * 1000 };
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	if (call == 0)
		return select(nfds, r, w, e, ms < 0 ? NULL : &tv);
	return pselect(nfds, r, w, e, ms < 0 ? NULL : &ts, mask);
}

/* Bit i: fd p[i] of the set (p of 2). */
static int set_bits(const fd_set *s, const int *p)
{
	return (FD_ISSET(p[0], s) ? 1 : 0) | (FD_ISSET(p[1], s) ? 2 : 0);
}

static void select_body(struct ctx *x)
{
	struct record *rc = x->rc;
	int p[2], cl;
	fd_set big[2], r, w;
	sigset_t none;

	sigemptyset(&none);
	quiet_pipe(p);
	cl = closed_fd();
	/* A high number nobody has open.  The kernel's select ignores bits
	 * past its fd table, which weft's own fds at the top of the range
	 * make larger: the table is grown to 1024 here in both runs, so
	 * that both see the closed fd. */
	int high = 1000;
	while (high > cl && fcntl(high, F_GETFD) != -1)
		high--;
	ck_assert_int_eq(dup2(p[0], high), high);
	close(high);
	for (int call = 0; call < 2; call++) {
		int nfds = p[1] + 1;
		/* Bad fds in a set. */
		FD_ZERO(&r);
		FD_SET(cl, &r);
		FD_SET(p[0], &r);
		NOTE(rc, do_select(call, nfds > cl ? nfds : cl + 1, &r, NULL,
				   NULL, -1, NULL));
		FD_ZERO(&r);
		FD_SET(high, &r);
		NOTE(rc, do_select(call, high + 1, &r, NULL, NULL, 10, NULL));
		/* nfds: negative, past FD_SETSIZE, huge. */
		FD_ZERO(&w);
		FD_SET(p[1], &w);
		NOTE(rc, do_select(call, -1, NULL, &w, NULL, -1, NULL));
		NOTE(rc, do_select(call, INT_MIN, NULL, &w, NULL, -1, NULL));
		memset(big, 0, sizeof big);
		FD_SET(p[1], &big[0]);
		NOTE(rc, do_select(call, FD_SETSIZE + 1, NULL, big, NULL, -1,
				   NULL));
		NOTE(rc, set_bits(&big[0], p));
		/* Time-outs: none, huge, bad. */
		FD_ZERO(&w);
		FD_SET(p[1], &w);
		NOTE(rc, do_select(call, nfds, NULL, &w, NULL, -1, &none));
		NOTE(rc, set_bits(&w, p));
		FD_ZERO(&r);
		FD_SET(p[0], &r);
		NOTE(rc, do_select(call, nfds, &r, NULL, NULL, 10, NULL));
		NOTE(rc, set_bits(&r, p));
		NOTE(rc, do_select(call, 0, NULL, NULL, NULL, 10, NULL));
		if (call == 0) {
			struct timeval huge = { LONG_MAX, 0 };
			struct timeval bad[] = { { -1, 0 }, { 0, -1 },
						 { 1, -1 }, { -5, -5 } };
			FD_ZERO(&w);
			FD_SET(p[1], &w);
			NOTE(rc, select(nfds, NULL, &w, NULL, &huge));
			for (int i = 0; i < 4; i++)
				NOTE(rc, select(nfds, NULL, &w, NULL, &bad[i]));
		} else {
			struct timespec huge = { LONG_MAX, 999999999 };
			FD_ZERO(&w);
			FD_SET(p[1], &w);
			NOTE(rc, pselect(nfds, NULL, &w, NULL, &huge, NULL));
			for (int i = 0; i < NBAD_TS; i++)
				NOTE(rc, pselect(nfds, NULL, &w, NULL,
						 &bad_ts[i], NULL));
		}
		/* Sets that cannot be read, or written back. */
		FD_ZERO(&w);
		FD_SET(p[1], &w);
		NOTE(rc, do_select(call, nfds, bad_ptr, &w, NULL, -1, NULL));
		NOTE(rc, do_select(call, nfds, NULL, &w, bad_ptr, 10, NULL));
		NOTE(rc, do_select(call, nfds, unmapped, &w, NULL, -1, NULL));
		NOTE(rc, do_select(call, nfds, NULL, unmapped, NULL, 10, NULL));
		NOTE(rc, do_select(call, nfds, NULL, &w, unmapped, 10, NULL));
		NOTE(rc, do_select(call, nfds, rdonly, &w, NULL, -1, NULL));
		NOTE(rc, do_select(call, nfds, NULL, NULL, rdonly, 10, NULL));
		NOTE(rc, set_bits(&w, p));
		if (call == 1 && !ASAN) {
			NOTE(rc, pselect(nfds, NULL, &w, NULL, NULL, bad_ptr));
			NOTE(rc, pselect(nfds, &r, NULL, NULL, NULL, unmapped));
		}
	}
}

/* ---- epoll_wait, epoll_pwait -------------------------------------------- */

static int do_epoll(int call, int ep, struct epoll_event *ev, int max,
		    int ms, const sigset_t *mask)
{
	if (call == 0)
		return epoll_wait(ep, ev, max, ms);
	return epoll_pwait(ep, ev, max, ms, mask);
}

static void epoll_body(struct ctx *x)
{
	struct record *rc = x->rc;
	int p[2], cl;
	int ready = epoll_create1(0), idle = epoll_create1(0);
	struct epoll_event ev[4], in = { .events = EPOLLOUT };

	quiet_pipe(p);
	cl = closed_fd();
	if (ready < 0 || idle < 0 ||
	    epoll_ctl(ready, EPOLL_CTL_ADD, p[1], &in) < 0)
		_exit(2);
	in.events = EPOLLIN;
	if (epoll_ctl(idle, EPOLL_CTL_ADD, p[0], &in) < 0)
		_exit(2);
	for (int call = 0; call < 2; call++) {
		int bad_fds[] = { -1, cl, 1 << 30, p[0] };
		for (int i = 0; i < 4; i++)
			NOTE(rc, do_epoll(call, bad_fds[i], ev, 4, -5, NULL));
		int maxes[] = { 0, -1, INT_MIN, INT_MAX };
		for (int i = 0; i < 4; i++)
			NOTE(rc, do_epoll(call, ready, ev, maxes[i], -1, NULL));
		NOTE(rc, do_epoll(call, ready, ev, 4, -5, NULL));
		NOTE(rc, do_epoll(call, ready, ev, 4, INT_MAX, NULL));
		NOTE(rc, do_epoll(call, ready, ev, huge_max, -1, NULL));
		NOTE(rc, do_epoll(call, idle, ev, 4, 10, NULL));
		/* Event arrays the kernel cannot fill. */
		NOTE(rc, do_epoll(call, ready, null_ptr, 4, -1, NULL));
		NOTE(rc, do_epoll(call, ready, bad_ptr, 4, -1, NULL));
		NOTE(rc, do_epoll(call, ready, unmapped, 4, -1, NULL));
		NOTE(rc, do_epoll(call, ready, rdonly, 4, -1, NULL));
		NOTE(rc, do_epoll(call, idle, null_ptr, 4, 10, NULL));
		NOTE(rc, do_epoll(call, idle, unmapped, 4, 10, NULL));
		if (call == 1 && !ASAN) {
			NOTE(rc, epoll_pwait(ready, ev, 4, -1, bad_ptr));
			NOTE(rc, epoll_pwait(idle, ev, 4, 10, unmapped));
		}
	}
}

/* ---- sleep, usleep, nanosleep, clock_nanosleep -------------------------- */

static void sleep_body(struct ctx *x)
{
	struct record *rc = x->rc;
	struct timespec ms = { 0, 1000000 }, rem, big = { LONG_MAX, 0 };
	static const clockid_t clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC,
					    CLOCK_BOOTTIME };

	NOTE(rc, sleep(0));
	NOTE(rc, usleep(0));
	NOTE(rc, usleep(1));
	NOTE(rc, nanosleep(&ms, NULL));
	NOTE(rc, nanosleep(&ms, bad_ptr));
	NOTE(rc, nanosleep(NULL, &rem));
	NOTE(rc, nanosleep(bad_ptr, &rem));
	NOTE(rc, nanosleep(unmapped, NULL));
	for (int i = 0; i < NBAD_TS; i++)
		NOTE(rc, nanosleep(&bad_ts[i], &rem));
	for (int c = 0; c < 3; c++) {
		NOTE(rc, clock_nanosleep(clocks[c], 0, &ms, bad_ptr));
		NOTE(rc, clock_nanosleep(clocks[c], 0x10, &ms, NULL));
		NOTE(rc, clock_nanosleep(clocks[c], ~TIMER_ABSTIME, &ms, NULL));
		NOTE(rc, clock_nanosleep(clocks[c], TIMER_ABSTIME, &past,
					 bad_ptr));
		NOTE(rc, clock_nanosleep(clocks[c], 0, NULL, NULL));
		NOTE(rc, clock_nanosleep(clocks[c], 0, unmapped, NULL));
		for (int i = 0; i < NBAD_TS; i++) {
			NOTE(rc, clock_nanosleep(clocks[c], 0, &bad_ts[i],
						 &rem));
			NOTE(rc, clock_nanosleep(clocks[c], TIMER_ABSTIME,
						 &bad_ts[i], NULL));
		}
	}
	clockid_t bad_clocks[] = { -1, 12345, CLOCK_THREAD_CPUTIME_ID,
				   CLOCK_MONOTONIC_RAW, INT_MAX };
	for (int c = 0; c < 5; c++)
		NOTE(rc, clock_nanosleep(bad_clocks[c], 0, &ms, NULL));
	if (x->woven)
		return;
	/* Huge sleeps that only a signal ends. */
	tl_catch_signal(SIGALRM);
	tl_alarm_in(10);
	NOTE(rc, nanosleep(&big, NULL));
	tl_alarm_in(10);
	NOTE(rc, clock_nanosleep(CLOCK_MONOTONIC, 0, &big, &rem));
	tl_alarm_in(10);
	NOTE(rc, sleep(UINT_MAX) >= UINT_MAX - 1);
	tl_alarm_in(10);
	NOTE(rc, pause());
}

/* ---- sigwait, sigwaitinfo, sigtimedwait, sigsuspend, pause -------------- */

static void sigwait_body(struct ctx *x)
{
	struct record *rc = x->rc;
	sigset_t usr1, none, all;
	siginfo_t si;
	struct timespec ms = { 0, 1000000 };
	int sig = 0;

	tl_catch_signal(SIGUSR1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	sigfillset(&all);
	tl_block_signal(SIGUSR1);
	for (int i = 0; i < NBAD_TS; i++)
		NOTE(rc, sigtimedwait(&usr1, &si, &bad_ts[i]));
	NOTE(rc, sigtimedwait(&usr1, &si, &ms));
	NOTE(rc, sigtimedwait(&usr1, NULL, &ms));
	NOTE(rc, sigtimedwait(&none, &si, &ms));
	NOTE(rc, sigtimedwait(&usr1, &si, bad_ptr));
	NOTE(rc, sigtimedwait(&usr1, &si, unmapped));
	if (!ASAN) {
		NOTE(rc, sigtimedwait(null_ptr, &si, &ms));
		NOTE(rc, sigtimedwait(bad_ptr, &si, NULL));
		NOTE(rc, sigwaitinfo(unmapped, &si));
		NOTE(rc, sigwait(bad_ptr, &sig));
		NOTE(rc, sigsuspend(null_ptr));
		NOTE(rc, sigsuspend(bad_ptr));
		NOTE(rc, sigsuspend(unmapped));
	}
	/* A pending signal ends each wait at once. */
	raise(SIGUSR1);
	NOTE(rc, sigtimedwait(&usr1, &si, NULL));
	raise(SIGUSR1);
	NOTE(rc, sigtimedwait(&usr1, bad_ptr, NULL));
	raise(SIGUSR1);
	NOTE(rc, sigtimedwait(&usr1, rdonly, &bad_ts[0]));
	NOTE(rc, sigtimedwait(&usr1, NULL, &ms));
	raise(SIGUSR1);
	NOTE(rc, sigwaitinfo(&usr1, NULL));
	raise(SIGUSR1);
	NOTE(rc, sigwaitinfo(&usr1, unmapped));
	NOTE(rc, sigtimedwait(&usr1, NULL, &ms));
	raise(SIGUSR1);
	NOTE(rc, sigwait(&usr1, &sig));
	NOTE(rc, sig);
	raise(SIGUSR1);
	tl_handled = 0;
	NOTE(rc, sigsuspend(&none));
	NOTE(rc, tl_handled);
	(void)all;
}

/* ---- wait, waitpid, wait4, waitid --------------------------------------- */

/* A child that exits with 3 after ms milliseconds. */
static pid_t child(int ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		tl_raw_sleep_ms(ms);
		_exit(3);
	}
	if (pid < 0)
		_exit(2);
	return pid;
}

static void wait_body(struct ctx *x)
{
	struct record *rc = x->rc;
	siginfo_t si;
	struct rusage ru;
	int st = 0;
	pid_t pid;

	(void)x;
	NOTE(rc, wait(NULL));
	NOTE(rc, wait(bad_ptr));
	NOTE(rc, waitpid(-1, &st, 0));
	NOTE(rc, waitpid(1, &st, 0));
	NOTE(rc, waitpid(INT_MIN, &st, 0));
	NOTE(rc, waitpid(-1, &st, 0x40000000));
	NOTE(rc, waitpid(-1, &st, -1));
	NOTE(rc, wait4(-1, &st, 0x12345, &ru));
	NOTE(rc, wait4(-1, bad_ptr, 0, bad_ptr));
	NOTE(rc, waitid(99, 0, &si, WEXITED));
	NOTE(rc, waitid(P_ALL, 0, &si, 0));
	NOTE(rc, waitid(P_ALL, 0, &si, 0x12345 | WEXITED));
	NOTE(rc, waitid(P_PID, 0, &si, WEXITED));
	NOTE(rc, waitid(P_PGID, -1, &si, WEXITED));
	NOTE(rc, waitid(P_ALL, 0, NULL, WEXITED));
	NOTE(rc, waitid(P_ALL, 0, bad_ptr, WEXITED | WNOHANG));
	/* Children that end while the caller waits, reaped into memory
	 * that cannot take the status. */
	pid = child(10);
	NOTE_PID(rc, pid, waitpid(pid, bad_ptr, 0));
	NOTE(rc, waitpid(pid, &st, WNOHANG));
	pid = child(10);
	NOTE_PID(rc, pid, wait4(pid, &st, 0, bad_ptr));
	NOTE(rc, st);
	pid = child(10);
	NOTE_PID(rc, pid, wait4(-1, rdonly, 0, NULL));
	pid = child(10);
	NOTE_PID(rc, pid, waitid(P_PID, (id_t)pid, bad_ptr, WEXITED));
	NOTE(rc, waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG));
	pid = child(10);
	NOTE_PID(rc, pid, waitid(P_ALL, 0, rdonly, WEXITED));
	pid = child(10);
	NOTE_PID(rc, pid, waitid(P_PID, (id_t)pid, NULL, WEXITED));
	pid = child(10);
	NOTE_PID(rc, pid, waitpid(pid, NULL, WUNTRACED | WCONTINUED));
	pid = child(10);
	NOTE_PID(rc, pid, wait(&st));
	NOTE(rc, st);
	NOTE(rc, wait(&st));
}

/* ---- name lookups, numeric only ----------------------------------------- */

static void resolve_body(struct ctx *x)
{
	struct record *rc = x->rc;
	struct addrinfo *res = NULL, hints;
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(80),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char host[64], serv[32], buf[1024];
	struct hostent he, *hp;
	int herr;
	const int NUM = NI_NUMERICHOST | NI_NUMERICSERV;

	(void)x;
	NOTE(rc, getaddrinfo(NULL, NULL, NULL, &res));
	NOTE(rc, getaddrinfo(NULL, NULL, NULL, NULL));
	struct { int flags, family, socktype; const char *node, *serv; }
	ai[] = {
		{ 0x12345678, 0, 0, "127.0.0.1", "80" },
		{ 0x12345678, 0, 0, NULL, NULL },
		{ 0, 12345, 0, "127.0.0.1", "80" },
		{ 0, -1, 0, "::1", NULL },
		{ 0, 0, 12345, "127.0.0.1", "80" },
		{ AI_CANONNAME, 0, 0, NULL, "80" },
		{ AI_NUMERICHOST, 0, 0, "not-a-number", "80" },
		{ AI_NUMERICHOST, 0, 0, "", "80" },
		{ AI_NUMERICHOST, 0, 0, "999.1.1.1", NULL },
		{ AI_NUMERICSERV, 0, 0, "127.0.0.1", "http" },
		{ AI_NUMERICSERV, 0, 0, "127.0.0.1", "-1" },
		{ AI_NUMERICSERV, 0, SOCK_STREAM, "127.0.0.1", "99999999" },
		{ AI_NUMERICHOST | AI_NUMERICSERV, AF_INET6, 0, "127.0.0.1",
		  "80" },
		{ AI_NUMERICHOST | AI_NUMERICSERV, 0, 0, "127.0.0.1", "80" },
		{ AI_NUMERICHOST | AI_NUMERICSERV, AF_INET6, SOCK_DGRAM,
		  "::1", "0" },
		{ AI_PASSIVE | AI_NUMERICSERV, 0, SOCK_STREAM, NULL, "80" },
		{ AI_NUMERICSERV, AF_INET, SOCK_STREAM, "localhost", "80" },
	};
	for (unsigned i = 0; i < sizeof ai / sizeof ai[0]; i++) {
		memset(&hints, 0, sizeof hints);
		hints.ai_flags = ai[i].flags;
		hints.ai_family = ai[i].family;
		hints.ai_socktype = ai[i].socktype;
		res = NULL;
		NOTE(rc, getaddrinfo(ai[i].node, ai[i].serv, &hints, &res));
		NOTE(rc, res != NULL);
		if (res)
			freeaddrinfo(res);
	}
	struct { const void *sa; socklen_t len; int flags; socklen_t hl, sl; }
	ni[] = {
		{ NULL, sizeof sin, NUM, 64, 32 },
		{ &sin, 0, NUM, 64, 32 },
		{ &sin, 1, NUM, 64, 32 },
		{ &sin, sizeof sin - 1, NUM, 64, 32 },
		{ &sin, sizeof sin, NUM | 0x12340000, 64, 32 },
		{ &sin, sizeof sin, NUM, 3, 32 },
		{ &sin, sizeof sin, NUM, 64, 1 },
		{ &sin, sizeof sin, NUM, 0, 0 },
		{ &sin, sizeof sin, NUM | NI_NAMEREQD, 64, 32 },
		{ &sin, sizeof sin, NUM, 64, 32 },
	};
	for (unsigned i = 0; i < sizeof ni / sizeof ni[0]; i++) {
		memset(host, 0, sizeof host);
		TL_NOTE(rc, getnameinfo(ni[i].sa, ni[i].len,
					ni[i].hl ? host : NULL, ni[i].hl,
					ni[i].sl ? serv : NULL, ni[i].sl,
					ni[i].flags), NULL);
		TL_NOTE(rc, (long)strlen(host), host);
	}
	sin.sin_family = 12345;
	NOTE(rc, getnameinfo((struct sockaddr *)&sin, sizeof sin, host,
			     sizeof host, serv, sizeof serv, NUM));
	/* The hostent calls, on numbers: no lookup at all. */
	const char *names[] = { "127.0.0.1", "::1", "1.2.3", "127.1" };
	int fams[] = { AF_INET, AF_INET6, 12345, -1 };
	for (int i = 0; i < 4; i++) {
		h_errno = 0;
		NOTE(rc, gethostbyname(names[i]) != NULL);
		NOTE(rc, h_errno);
		for (int f = 0; f < 4; f++) {
			h_errno = 0;
			NOTE(rc, gethostbyname2(names[i], fams[f]) != NULL);
			NOTE(rc, h_errno);
			herr = 0;
			hp = &he;
			NOTE(rc, gethostbyname2_r(names[i], fams[f], &he, buf,
						  sizeof buf, &hp, &herr));
			NOTE(rc, (hp != NULL) * 100 + herr);
			hp = &he;
			NOTE(rc, gethostbyname2_r(names[i], fams[f], &he, buf,
						  4, &hp, &herr));
			NOTE(rc, hp != NULL);
		}
		hp = &he;
		NOTE(rc, gethostbyname_r(names[i], &he, buf, 8, &hp, &herr));
		NOTE(rc, gethostbyname_r(names[i], &he, buf, sizeof buf, &hp,
					 &herr));
	}
	/* 16 bytes, for the lengths that say IPv6. */
	struct in6_addr a4 = { .s6_addr = { 127, 0, 0, 1 } };
	struct { socklen_t len; int fam; } ba[] = {
		{ 3, AF_INET }, { 0, AF_INET }, { 4, 12345 }, { 4, AF_INET6 },
		{ 16, AF_UNIX },
	};
	for (unsigned i = 0; i < sizeof ba / sizeof ba[0]; i++) {
		h_errno = 0;
		NOTE(rc, gethostbyaddr(&a4, ba[i].len, ba[i].fam) != NULL);
		NOTE(rc, h_errno);
		hp = &he;
		herr = 0;
		NOTE(rc, gethostbyaddr_r(&a4, ba[i].len, ba[i].fam, &he, buf,
					 sizeof buf, &hp, &herr));
		NOTE(rc, (hp != NULL) * 100 + herr);
	}
}

/* ---- green pthread calls ------------------------------------------------ */

static int gate[2]; /* a blocked thread reads a byte from gate[0] */

static void *blocked(void *arg)
{
	char c;

	(void)arg;
	while (read(gate[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void *quick(void *arg)
{
	return arg;
}

/* A mutex of kind (PTHREAD_MUTEX_*; -1: robust, -2: process-shared, -3:
 * priority-inheriting), used the wrong way where that is defined. */
static void mutex_steps(struct record *rc, int kind)
{
	pthread_mutexattr_t a;
	pthread_mutex_t m;
	struct timespec ts = past;

	pthread_mutexattr_init(&a);
	if (kind >= 0)
		pthread_mutexattr_settype(&a, kind);
	else if (kind == -1)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	else if (kind == -2)
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	else
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	NOTE(rc, pthread_mutex_init(&m, &a));
	pthread_mutexattr_destroy(&a);
	bool errchk = kind == PTHREAD_MUTEX_ERRORCHECK;
	bool normal = kind == PTHREAD_MUTEX_NORMAL || kind < 0;
	bool recursive = kind == PTHREAD_MUTEX_RECURSIVE;
	if (!normal)
		NOTE(rc, pthread_mutex_unlock(&m));
	NOTE(rc, pthread_mutex_clocklock(&m, 12345, &ts));
	NOTE(rc, pthread_mutex_lock(&m));
	NOTE(rc, pthread_mutex_trylock(&m));
	if (recursive)
		NOTE(rc, pthread_mutex_unlock(&m));
	if (!recursive) {
		/* Not before 1970 for priority inheritance: the kernel's
		 * EINVAL in glibc, a time-out in weft's green mutex. */
		for (int i = 0; i < (kind == -3 ? 2 : NBAD_TS); i++)
			NOTE(rc, pthread_mutex_timedlock(&m, &bad_ts[i]));
		NOTE(rc, pthread_mutex_timedlock(&m, &past));
		NOTE(rc, pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &past));
		NOTE(rc, pthread_mutex_clocklock(&m, 12345, &past));
		NOTE(rc, pthread_mutex_clocklock(&m, CLOCK_THREAD_CPUTIME_ID,
						 &past));
	}
	if (errchk)
		NOTE(rc, pthread_mutex_lock(&m));
	if (kind != -1 && kind != -3)
		NOTE(rc, pthread_mutex_destroy(&m));
	NOTE(rc, pthread_mutex_unlock(&m));
	if (!normal)
		NOTE(rc, pthread_mutex_unlock(&m));
	NOTE(rc, pthread_mutex_destroy(&m));
}

static void pthread_body(struct ctx *x)
{
	struct record *rc = x->rc;
	pthread_t t, self = pthread_self();
	char name[32];
	sigset_t set, old;
	pthread_key_t key;
	void *res;

	(void)x;
	quiet_pipe(gate);
	/* Joins and detaches. */
	NOTE(rc, pthread_join(self, NULL));
	NOTE(rc, pthread_tryjoin_np(self, NULL));
	NOTE(rc, pthread_timedjoin_np(self, NULL, &past));
	NOTE(rc, pthread_create(&t, NULL, blocked, NULL));
	NOTE(rc, pthread_tryjoin_np(t, &res));
	NOTE(rc, pthread_timedjoin_np(t, &res, &past));
	/* Not a bad tv_nsec: glibc 2.36 then loops for ever. */
	NOTE(rc, pthread_timedjoin_np(t, &res, &bad_ts[2]));
	NOTE(rc, pthread_timedjoin_np(t, &res, &bad_ts[3]));
	NOTE(rc, pthread_setname_np(t, "a-name-much-too-long"));
	NOTE(rc, pthread_setname_np(t, "blocked"));
	NOTE(rc, pthread_getname_np(t, name, 3));
	NOTE(rc, pthread_getname_np(t, name, sizeof name));
	NOTE(rc, strcmp(name, "blocked"));
	NOTE(rc, pthread_kill(t, 0));
	NOTE(rc, pthread_kill(t, -1));
	NOTE(rc, pthread_kill(t, 12345));
	NOTE(rc, pthread_detach(t));
	NOTE(rc, pthread_detach(t));
	NOTE(rc, pthread_join(t, &res));
	NOTE(rc, write(gate[1], "x", 1));
	NOTE(rc, pthread_create(&t, NULL, quick, (void *)7));
	NOTE(rc, pthread_join(t, &res));
	NOTE(rc, (long)res);
	/* The caller itself. */
	NOTE(rc, pthread_setname_np(self, "0123456789abcdef"));
	NOTE(rc, pthread_setname_np(self, "main-ok"));
	NOTE(rc, pthread_getname_np(self, name, 0));
	NOTE(rc, pthread_getname_np(self, name, 7));
	NOTE(rc, pthread_getname_np(self, name, 8));
	NOTE(rc, strcmp(name, "main-ok"));
	NOTE(rc, pthread_kill(self, NSIG + 1));
	NOTE(rc, pthread_kill(self, 0));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	NOTE(rc, pthread_sigmask(12345, &set, &old));
	NOTE(rc, pthread_sigmask(-1, &set, NULL));
	NOTE(rc, pthread_sigmask(12345, NULL, &old));
	NOTE(rc, pthread_sigmask(SIG_BLOCK, NULL, NULL));
	NOTE(rc, pthread_sigmask(SIG_BLOCK, &set, &old));
	NOTE(rc, sigismember(&old, SIGUSR2));
	NOTE(rc, pthread_sigmask(SIG_SETMASK, &old, &set));
	NOTE(rc, sigismember(&set, SIGUSR2));
	/* Keys. */
	NOTE(rc, pthread_key_create(&key, NULL));
	NOTE(rc, pthread_setspecific(key, &key));
	NOTE(rc, pthread_getspecific(key) == &key);
	NOTE(rc, pthread_key_delete(key));
	NOTE(rc, pthread_key_delete(key));
	NOTE(rc, pthread_getspecific(key) != NULL);
	NOTE(rc, pthread_setspecific(key, &key));
	NOTE(rc, pthread_key_delete(1 << 20));
	NOTE(rc, pthread_key_delete((pthread_key_t)-1));
	NOTE(rc, pthread_getspecific(1 << 20) != NULL);
	NOTE(rc, pthread_getspecific((pthread_key_t)-1) != NULL);
	NOTE(rc, pthread_setspecific(1 << 20, &key));
	/* Mutexes, condition variables, rwlocks, spin locks, barriers. */
	int kinds[] = { PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ERRORCHECK,
			PTHREAD_MUTEX_RECURSIVE, -1, -2, -3 };
	for (int k = 0; k < 6; k++)
		mutex_steps(rc, kinds[k]);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	NOTE(rc, pthread_cond_init(&cv, &ca));
	NOTE(rc, pthread_mutex_lock(&m));
	for (int i = 0; i < NBAD_TS; i++) {
		NOTE(rc, pthread_cond_timedwait(&cv, &m, &bad_ts[i]));
		NOTE(rc, pthread_cond_clockwait(&cv, &m, CLOCK_REALTIME,
						&bad_ts[i]));
	}
	NOTE(rc, pthread_cond_timedwait(&cv, &m, &past));
	NOTE(rc, pthread_cond_clockwait(&cv, &m, 12345, &past));
	NOTE(rc, pthread_cond_clockwait(&cv, &m, CLOCK_PROCESS_CPUTIME_ID,
					&past));
	NOTE(rc, pthread_cond_clockwait(&cv, &m, CLOCK_MONOTONIC, &past));
	NOTE(rc, pthread_cond_signal(&cv));
	NOTE(rc, pthread_cond_broadcast(&cv));
	NOTE(rc, pthread_mutex_unlock(&m));
	NOTE(rc, pthread_cond_destroy(&cv));
	pthread_condattr_destroy(&ca);

	pthread_rwlock_t rw;
	NOTE(rc, pthread_rwlock_init(&rw, NULL));
	NOTE(rc, pthread_rwlock_clockrdlock(&rw, 12345, &past));
	NOTE(rc, pthread_rwlock_clockwrlock(&rw, -1, &past));
	for (int i = 0; i < NBAD_TS; i++) {
		int r = pthread_rwlock_timedwrlock(&rw, &bad_ts[i]);
		NOTE(rc, r);
		if (r == 0)
			NOTE(rc, pthread_rwlock_unlock(&rw));
	}
	NOTE(rc, pthread_rwlock_wrlock(&rw));
	NOTE(rc, pthread_rwlock_wrlock(&rw));
	NOTE(rc, pthread_rwlock_rdlock(&rw));
	NOTE(rc, pthread_rwlock_tryrdlock(&rw));
	NOTE(rc, pthread_rwlock_trywrlock(&rw));
	NOTE(rc, pthread_rwlock_timedrdlock(&rw, &past));
	for (int i = 0; i < NBAD_TS; i++)
		NOTE(rc, pthread_rwlock_timedrdlock(&rw, &bad_ts[i]));
	NOTE(rc, pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &past));
	NOTE(rc, pthread_rwlock_clockrdlock(&rw, 12345, &past));
	NOTE(rc, pthread_rwlock_unlock(&rw));
	NOTE(rc, pthread_rwlock_rdlock(&rw));
	NOTE(rc, pthread_rwlock_trywrlock(&rw));
	NOTE(rc, pthread_rwlock_timedwrlock(&rw, &past));
	for (int i = 0; i < NBAD_TS; i++)
		NOTE(rc, pthread_rwlock_timedwrlock(&rw, &bad_ts[i]));
	NOTE(rc, pthread_rwlock_clockwrlock(&rw, CLOCK_REALTIME, &past));
	NOTE(rc, pthread_rwlock_unlock(&rw));
	NOTE(rc, pthread_rwlock_destroy(&rw));

	pthread_spinlock_t sp;
	NOTE(rc, pthread_spin_init(&sp, 12345));
	NOTE(rc, pthread_spin_lock(&sp));
	NOTE(rc, pthread_spin_trylock(&sp));
	NOTE(rc, pthread_spin_unlock(&sp));
	NOTE(rc, pthread_spin_destroy(&sp));

	pthread_barrier_t b;
	pthread_barrierattr_t ba;
	NOTE(rc, pthread_barrier_init(&b, NULL, 0));
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	NOTE(rc, pthread_barrier_init(&b, &ba, 0));
	NOTE(rc, pthread_barrier_init(&b, &ba, 1));
	NOTE(rc, pthread_barrier_wait(&b));
	NOTE(rc, pthread_barrier_destroy(&b));
	pthread_barrierattr_destroy(&ba);
	NOTE(rc, pthread_barrier_init(&b, NULL, 1));
	NOTE(rc, pthread_barrier_wait(&b));
	NOTE(rc, pthread_barrier_wait(&b));
	NOTE(rc, pthread_barrier_destroy(&b));
	NOTE(rc, pthread_barrier_init(&b, NULL, UINT_MAX));
	NOTE(rc, pthread_barrier_destroy(&b));
	NOTE(rc, sched_yield());
}

/* ---- semaphores --------------------------------------------------------- */

static void sem_body(struct ctx *x)
{
	struct record *rc = x->rc;
	sem_t s;
	int v = -1;

	(void)x;
	NOTE(rc, sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1));
	NOTE(rc, sem_init(&s, 0, UINT_MAX));
	NOTE(rc, sem_init(&s, 0, 0));
	NOTE(rc, sem_trywait(&s));
	for (int i = 0; i < NBAD_TS; i++) {
		NOTE(rc, sem_timedwait(&s, &bad_ts[i]));
		NOTE(rc, sem_clockwait(&s, CLOCK_MONOTONIC, &bad_ts[i]));
	}
	NOTE(rc, sem_timedwait(&s, &past));
	NOTE(rc, sem_clockwait(&s, 12345, &past));
	NOTE(rc, sem_clockwait(&s, -1, &past));
	NOTE(rc, sem_clockwait(&s, CLOCK_THREAD_CPUTIME_ID, &past));
	NOTE(rc, sem_clockwait(&s, CLOCK_REALTIME, &past));
	NOTE(rc, sem_post(&s));
	NOTE(rc, sem_timedwait(&s, &bad_ts[0]));
	NOTE(rc, sem_post(&s));
	NOTE(rc, sem_clockwait(&s, 12345, &past));
	NOTE(rc, sem_getvalue(&s, &v));
	NOTE(rc, v);
	NOTE(rc, sem_destroy(&s));
	NOTE(rc, sem_init(&s, 0, SEM_VALUE_MAX));
	NOTE(rc, sem_post(&s));
	NOTE(rc, sem_getvalue(&s, &v));
	NOTE(rc, v == SEM_VALUE_MAX);
	NOTE(rc, sem_wait(&s));
	NOTE(rc, sem_post(&s));
	NOTE(rc, sem_post(&s));
	NOTE(rc, sem_destroy(&s));
	NOTE(rc, sem_init(&s, 1, 1));
	NOTE(rc, sem_wait(&s));
	NOTE(rc, sem_trywait(&s));
	NOTE(rc, sem_timedwait(&s, &bad_ts[1]));
	NOTE(rc, sem_destroy(&s));
}

/* ---- fork, posix_spawn, system, exec ------------------------------------ */

static void spawn_body(struct ctx *x)
{
	struct record *rc = x->rc;
	char *argv[] = { "weft-test", NULL }, *empty[] = { NULL };
	pid_t pid = 0;
	int st;

	(void)x;
	const char *paths[] = { "/nonexistent/prog", "/", "/etc/passwd", "",
				"/dev/null/x" };
	for (int i = 0; i < 5; i++) {
		NOTE(rc, posix_spawn(&pid, paths[i], NULL, NULL, argv,
				     environ));
		NOTE(rc, posix_spawnp(&pid, paths[i], NULL, NULL, argv,
				      environ));
		NOTE(rc, execve(paths[i], argv, environ));
		NOTE(rc, execv(paths[i], argv));
		NOTE(rc, execvp(paths[i], argv));
		NOTE(rc, execvpe(paths[i], argv, empty));
		NOTE(rc, execl(paths[i], "x", (char *)NULL));
		NOTE(rc, execlp(paths[i], "x", (char *)NULL));
		NOTE(rc, execle(paths[i], "x", (char *)NULL, empty));
	}
	NOTE(rc, posix_spawnp(&pid, "no-such-program-weft", NULL, NULL, argv,
			      environ));
	NOTE(rc, execvp("no-such-program-weft", argv));
	NOTE(rc, execlp("no-such-program-weft", "x", (char *)NULL));
	if (!ASAN) /* UBSan: execve's path is declared non-null */
		NOTE(rc, execve(null_ptr, argv, environ));
	NOTE(rc, execve(bad_ptr, argv, environ));
	NOTE(rc, execve(unmapped, argv, environ));
	NOTE(rc, execve("/nonexistent/prog", bad_ptr, environ));
	NOTE(rc, execve("/nonexistent/prog", argv, bad_ptr));
	NOTE(rc, fexecve(-1, argv, environ));
	NOTE(rc, fexecve(closed_fd(), argv, environ));
	NOTE(rc, fexecve(1 << 30, argv, environ));
	/* Bad argv and envp that do run: the child says what it got. */
	NOTE(rc, posix_spawn(&pid, "/bin/true", NULL, NULL, argv, empty));
	NOTE_PID(rc, pid, waitpid(pid, &st, 0));
	NOTE(rc, st);
	NOTE(rc, posix_spawnp(&pid, "true", NULL, NULL, empty, NULL));
	NOTE_PID(rc, pid, waitpid(pid, &st, 0));
	NOTE(rc, st);
	NOTE(rc, system(NULL));
	NOTE(rc, system("exit 3"));
	NOTE(rc, system("/nonexistent/prog 2>/dev/null"));
	NOTE(rc, system(""));
	pid = fork();
	if (pid == 0)
		_exit(execve("/nonexistent/prog", argv, environ) < 0 &&
		      errno == ENOENT ? 5 : 6);
	NOTE_PID(rc, pid, waitpid(pid, &st, 0));
	NOTE(rc, st);
}

/* ---- runs --------------------------------------------------------------- */

static void (*const body[NGROUPS])(struct ctx *) = {
	poll_body, select_body, epoll_body, sleep_body, sigwait_body,
	wait_body, resolve_body, pthread_body, sem_body, spawn_body,
};

struct job {
	int group;
	struct ctx x;
};

static void *outside_main(void *arg)
{
	struct job *j = arg;
	sigset_t alrm;

	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	body[j->group](&j->x);
	return NULL;
}

/* The script: arg is the group, with WOVEN or OUTSIDE for the run it is
 * compared with (the plain run leaves out what the woven one must). */
static void script(void *rec, int arg, bool weft)
{
	struct job j = { arg & 0xff, { rec, (arg & WOVEN) != 0 } };
	struct tl_ticker t;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	signal(SIGPIPE, SIG_IGN);
	unmapped = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	rdonly = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	if (unmapped == MAP_FAILED || rdonly == MAP_FAILED)
		_exit(2);
	if (weft && (j.group == PTHREAD || j.group == SEM))
		weft__green_set(true);
	if (weft)
		tl_ticker_start(&t);
	if (weft && (arg & OUTSIDE)) {
		/* Process signals (the sleep group's alarm) go to the
		 * calls' thread, which lets them through again. */
		tl_block_signal(SIGALRM);
		pthread_t th;
		if (weft__libc()->pthread_create(&th, NULL, outside_main, &j))
			_exit(2);
		weft__libc()->pthread_join(th, NULL);
	} else {
		body[j.group](&j.x);
	}
	if (weft)
		tl_ticker_stop(&t);
}

START_TEST(bad_input_gives_what_libc_gives)
{
	static struct record plain, other;
	int group = _i / 2, mode = _i % 2 ? OUTSIDE : WOVEN;
	char what[64];

	snprintf(what, sizeof what, "%s, %s", group_name[group],
		 mode == WOVEN ? "woven" : "outside a coroutine");
	tl_run_script(script, group | mode, false, &plain, sizeof plain);
	tl_run_script(script, group | mode, true, &other, sizeof other);
	ck_assert_int_lt(plain.n, (int)(sizeof plain.r / sizeof plain.r[0]));
	tl_compare_recs(what, plain.r, plain.n, other.r, other.n);
}
END_TEST

Suite *suite_badinput_wait(void)
{
	Suite *s = suite_create("badinput_wait");
	TCase *tc = tcase_create("differential");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, bad_input_gives_what_libc_gives, 0,
			    2 * NGROUPS);
	suite_add_tcase(s, tc);
	return s;
}
