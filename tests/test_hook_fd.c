/* test_hook_fd.c - the life of an fd under weft: made by pipe, pipe2,
 * eventfd, timerfd_create, signalfd, epoll_create and epoll_create1;
 * copied by dup, dup2 and dup3; ended by close and close_range, which wake
 * the coroutines waiting on it with EBADF; and its number reused. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "core.h"
#include "fd.h"
#include "io.h"
#include "testlib.h"

/* Volatile, so the compiler does not see the bad arguments coming. */
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

static unsigned entry(int fd)
{
	return weft__fd_flags(weft__fd_get(fd));
}

static bool cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	ck_assert_int_ge(fl, 0);
	return fl & FD_CLOEXEC;
}

static bool kernel_nonblocking(int fd)
{
	int fl = (int)syscall(SYS_fcntl, fd, F_GETFL);

	ck_assert_int_ge(fl, 0);
	return fl & O_NONBLOCK;
}

static void set_nb(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	ck_assert_int_ge(fl, 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK
					       : fl & ~O_NONBLOCK), 0);
}

/* A coroutine (or, in the plain runs of differential tests, a thread)
 * that waits delay, notes the step, then does its job. */
struct peer {
	void (*fn)(struct peer *);
	struct tl_runner run;
	int fd;
	int64_t delay;
	size_t len;        /* peer_read: bytes to read */
	uint64_t value;    /* peer_write: the 8 bytes to write */
	char buf[128];     /* peer_read: what came */
	int at;
	ssize_t r;
	int err;
	int done;          /* the step at which its call returned */
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	if (p->delay > 0) {
		if (p->run.thread)
			nanosleep(&(struct timespec){ 0, p->delay }, NULL);
		else
			weft_sleep(p->delay);
	}
	p->at = tl_next_step();
	errno = 0;
	p->fn(p);
	p->err = errno;
	p->done = tl_next_step();
	return NULL;
}

static int peer_start(struct peer *p, void (*fn)(struct peer *), bool thread)
{
	p->fn = fn;
	p->at = p->done = 0;
	return tl_runner_start(&p->run, peer_main, p, thread);
}

static void peer_join(struct peer *p)
{
	tl_runner_join(&p->run);
}

static void go(struct peer *p, void (*fn)(struct peer *))
{
	ck_assert_int_eq(peer_start(p, fn, false), 0);
}

static void peer_read(struct peer *p)
{
	p->r = read(p->fd, p->buf, p->len ? p->len : 8);
}

static void peer_write(struct peer *p)
{
	p->r = write(p->fd, &p->value, sizeof p->value);
}

static void peer_close(struct peer *p)
{
	p->r = close(p->fd);
}

static void peer_kill(struct peer *p)
{
	p->r = kill(getpid(), SIGUSR1);
}

/* Starts n readers of fd (8 bytes each) and lets them all park. */
static void park_readers(struct peer *p, int n, int fd)
{
	for (int i = 0; i < n; i++) {
		p[i] = (struct peer){ .fd = fd };
		go(&p[i], peer_read);
	}
	weft_sleep(2 * MS);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(p[i].done, 0);
}

static void expect_ebadf(struct peer *p, int n)
{
	for (int i = 0; i < n; i++) {
		peer_join(&p[i]);
		ck_assert_msg(p[i].r == -1 && p[i].err == EBADF,
			      "waiter %d: %zd (%s)", i, p[i].r,
			      strerror(p[i].err));
	}
}

static void block_sigusr1(void)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &m, NULL), 0);
}

/* ---- differential runs -------------------------------------------------- */

struct rec {
	int line;
	long ret;
	int err;
	unsigned char data[16];
};

struct record {
	int n;
	struct rec r[64];
};

static void note_at(struct record *rc, int line, long ret, int err,
		    const void *data, size_t len)
{
	if (rc->n >= (int)(sizeof rc->r / sizeof rc->r[0]))
		return;
	struct rec *r = &rc->r[rc->n++];
	memset(r, 0, sizeof *r);
	r->line = line;
	r->ret = ret;
	r->err = ret < 0 ? err : 0;
	if (data && ret >= 0)
		memcpy(r->data, data, len < sizeof r->data ? len
							   : sizeof r->data);
}

#define NOTE(rc, ret)                                                         \
	do {                                                                  \
		errno = 0;                                                    \
		long ret_ = (long)(ret);                                      \
		note_at(rc, __LINE__, ret_, errno, NULL, 0);                  \
	} while (0)
#define NOTE_DATA(rc, ret, data, len)                                         \
	do {                                                                  \
		errno = 0;                                                    \
		long ret_ = (long)(ret);                                      \
		note_at(rc, __LINE__, ret_, errno, data, len);                \
	} while (0)

/* Runs script once with libc alone (weft false: no weft call, peers are
 * threads) and once with coroutines that park, and compares. */
static void differ(tl_script_fn *script)
{
	struct record plain, woven;

	tl_run_script(script, 0, false, &plain, sizeof plain);
	tl_run_script(script, 0, true, &woven, sizeof woven);
	ck_assert_int_gt(plain.n, 0);
	for (int i = 0; i < plain.n || i < woven.n; i++) {
		struct rec *p = &plain.r[i], *w = &woven.r[i];
		ck_assert_msg(memcmp(p, w, sizeof *p) == 0,
			      "step %d (line %d/%d): libc gave %ld (errno %d), "
			      "weft %ld (errno %d)", i, p->line, w->line,
			      p->ret, p->err, w->ret, w->err);
	}
	ck_assert_int_eq(plain.n, woven.n);
}

/* ---- close, dup2, dup3, close_range wake waiters ------------------------ */

/* An fd of some kind that a reader waits on, and an fd to write to wake
 * it.  k: 0 pipe, 1 socket pair, 2 eventfd. */
static void open_kind(int k, int *r, int *w)
{
	int fds[2];

	if (k == 0) {
		ck_assert_int_eq(pipe(fds), 0);
	} else if (k == 1) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	} else {
		fds[0] = fds[1] = eventfd(0, 0);
		ck_assert_int_ge(fds[0], 0);
	}
	*r = fds[0];
	*w = fds[1];
}

START_TEST(close_wakes_every_reader_with_EBADF)
{
	struct peer p[3];
	int r, w;

	open_kind(_i, &r, &w);
	park_readers(p, 3, r);
	ck_assert_int_eq(close(r), 0);
	expect_ebadf(p, 3);
}
END_TEST

START_TEST(close_by_another_coroutine_wakes_every_reader_with_EBADF)
{
	struct peer p[3], closer = { .delay = 2 * MS };
	int r, w;

	open_kind(_i, &r, &w);
	park_readers(p, 3, r);
	closer.fd = r;
	go(&closer, peer_close);
	expect_ebadf(p, 3);
	peer_join(&closer);
	ck_assert_int_eq(closer.r, 0);
}
END_TEST

START_TEST(dup2_onto_an_fd_with_waiters_wakes_them_with_EBADF)
{
	struct peer p[3];
	int r, w, other[2];
	uint64_t v = 7, got = 0;

	open_kind(_i, &r, &w);
	ck_assert_int_eq(pipe(other), 0);
	park_readers(p, 3, r);
	ck_assert_int_eq(dup2(other[0], r), r);
	expect_ebadf(p, 3);
	/* r is now the other pipe's read end, and waits like it. */
	struct peer wr = { .fd = other[1], .delay = 2 * MS, .value = v };
	go(&wr, peer_write);
	ck_assert_int_eq(read(r, &got, sizeof got), 8);
	ck_assert_uint_eq(got, v);
	ck_assert_int_gt(wr.at, 0);
	ck_assert(!cloexec(r));
}
END_TEST

START_TEST(dup3_onto_an_fd_with_waiters_wakes_them_with_EBADF)
{
	struct peer p[3];
	int r, w, other[2];
	uint64_t v = 9, got = 0;

	open_kind(_i, &r, &w);
	ck_assert_int_eq(pipe(other), 0);
	park_readers(p, 3, r);
	ck_assert_int_eq(dup3(other[0], r, O_CLOEXEC), r);
	expect_ebadf(p, 3);
	ck_assert(cloexec(r));
	struct peer wr = { .fd = other[1], .delay = 2 * MS, .value = v };
	go(&wr, peer_write);
	ck_assert_int_eq(read(r, &got, sizeof got), 8);
	ck_assert_uint_eq(got, v);
	ck_assert_int_gt(wr.at, 0);
}
END_TEST

START_TEST(dup2_onto_itself_leaves_waiters_waiting)
{
	struct peer p[2];
	int fds[2];
	uint64_t v = 5;

	ck_assert_int_eq(pipe(fds), 0);
	park_readers(p, 1, fds[0]);
	ck_assert_int_eq(dup2(fds[0], fds[0]), fds[0]);
	weft_sleep(2 * MS);
	ck_assert_int_eq(p[0].done, 0);
	ck_assert_int_eq(write(fds[1], &v, sizeof v), 8);
	peer_join(&p[0]);
	ck_assert_int_eq(p[0].r, 8);
	errno = 0;
	ck_assert_int_eq(dup3(fds[0], fds[0], 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	(void)p[1];
}
END_TEST

START_TEST(failed_dup2_leaves_waiters_waiting)
{
	struct peer p[1];
	int fds[2];
	uint64_t v = 5;

	ck_assert_int_eq(pipe(fds), 0);
	park_readers(p, 1, fds[0]);
	errno = 0;
	ck_assert_int_eq(dup2(-1, fds[0]), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(dup3(fds[1], fds[0], 12345), -1);
	ck_assert_int_eq(errno, EINVAL);
	weft_sleep(2 * MS);
	ck_assert_int_eq(p[0].done, 0);
	ck_assert_int_eq(write(fds[1], &v, sizeof v), 8);
	peer_join(&p[0]);
	ck_assert_int_eq(p[0].r, 8);
}
END_TEST

/* Moves a pipe's ends to the numbers at and after first. */
static void pipe_at(int first, int fds[2])
{
	int tmp[2];

	ck_assert_int_eq(pipe(tmp), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(dup2(tmp[i], first + i), first + i);
		ck_assert_int_eq(close(tmp[i]), 0);
		fds[i] = first + i;
	}
}

START_TEST(close_range_wakes_the_waiters_of_every_fd_in_it)
{
	int a[2], b[2], c[2];
	struct peer pa[2], pb[2], pc[1];
	uint64_t v = 3;

	pipe_at(100, a);
	pipe_at(102, b); /* past the first range: its readers keep waiting */
	pipe_at(120, c);
	park_readers(pa, 2, a[0]);
	park_readers(pb, 2, b[0]);
	park_readers(pc, 1, c[0]);
	ck_assert_int_eq(close_range(100, 101, 0), 0);
	expect_ebadf(pa, 2);
	/* A range reaching past the open fds. */
	ck_assert_int_eq(close_range(120, 150, 0), 0);
	expect_ebadf(pc, 1);
	ck_assert_int_eq(fcntl(121, F_GETFD), -1);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pb[i].done, 0);
	ck_assert_int_eq(write(b[1], &v, sizeof v), 8);
	ck_assert_int_eq(write(b[1], &v, sizeof v), 8);
	for (int i = 0; i < 2; i++) {
		peer_join(&pb[i]);
		ck_assert_int_eq(pb[i].r, 8);
	}
}
END_TEST

START_TEST(close_range_with_CLOEXEC_closes_nothing_and_wakes_nobody)
{
	int a[2];
	struct peer p[1];
	uint64_t v = 3;

	ck_assert_int_eq(pipe(a), 0);
	park_readers(p, 1, a[0]);
	ck_assert_int_eq(close_range(a[0], a[0], CLOSE_RANGE_CLOEXEC), 0);
	ck_assert(cloexec(a[0]));
	weft_sleep(2 * MS);
	ck_assert_int_eq(p[0].done, 0);
	ck_assert_int_eq(write(a[1], &v, sizeof v), 8);
	peer_join(&p[0]);
	ck_assert_int_eq(p[0].r, 8);
}
END_TEST

START_TEST(close_range_with_bad_arguments_fails_with_EINVAL)
{
	int a[2];

	ck_assert_int_eq(pipe(a), 0);
	errno = 0;
	ck_assert_int_eq(close_range(a[1], a[0] < a[1] ? a[0] : 0, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(close_range(a[0], a[1], 0x4000), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_ge(fcntl(a[0], F_GETFD), 0);
}
END_TEST

START_TEST(close_of_a_bad_fd_fails_with_EBADF)
{
	ck_assert_ptr_nonnull(weft_self());
	errno = 0;
	ck_assert_int_eq(close(-1), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(close(1 << 30), -1);
	ck_assert_int_eq(errno, EBADF);
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(close(fds[0]), 0);
	errno = 0;
	ck_assert_int_eq(close(fds[0]), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ---- numbers reused ------------------------------------------------------ */

START_TEST(socket_number_reused_by_a_regular_file_reads_straight_through)
{
	int s[2], ran = 0;
	char path[] = "/tmp/weft-fd-XXXXXX", buf[8] = { 0 };
	struct peer wr = { .delay = 2 * MS, .value = 1 };

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	wr.fd = s[1];
	go(&wr, peer_write);
	ck_assert_int_eq(read(s[0], buf, 8), 8); /* parked: weft knows s[0] */
	ck_assert(entry(s[0]) & WEFT__FD_SOCKET);
	int n = s[0];
	ck_assert_int_eq(close(n), 0);
	ck_assert_uint_eq(entry(n), 0);
	int f = mkstemp(path);
	ck_assert_int_eq(f, n);
	unlink(path);
	ck_assert_int_eq(write(f, "contents", 8), 8);
	ck_assert_int_eq(lseek(f, 0, SEEK_SET), 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	ck_assert_int_eq(read(f, buf, 8), 8);
	ck_assert_mem_eq(buf, "contents", 8);
	ck_assert_int_eq(read(f, buf, 8), 0);
	ck_assert_int_eq(ran, 0); /* never parked */
	ck_assert(entry(f) & WEFT__FD_PASS);
	ck_assert(!(entry(f) & WEFT__FD_SOCKET));
}
END_TEST

START_TEST(number_reused_by_a_new_fd_gets_that_fds_view)
{
	int fds[2], ran = 0;
	uint64_t v;

	ck_assert_int_eq(pipe2(fds, O_NONBLOCK), 0);
	ck_assert(entry(fds[0]) & WEFT__FD_NB);
	int n = fds[0];
	ck_assert_int_eq(close(n), 0);
	int e = eventfd(0, 0);
	ck_assert_int_eq(e, n);
	ck_assert(!(entry(e) & WEFT__FD_NB));
	ck_assert_int_eq(close(e), 0);
	e = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_eq(e, n);
	ck_assert(entry(e) & WEFT__FD_NB);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(read(e, &v, sizeof v), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ran, 0);
}
END_TEST

/* Each creator, k: 0 pipe, 1 pipe2, 2 eventfd, 3 timerfd_create,
 * 4 signalfd, 5 epoll_create, 6 epoll_create1.  Returns the new fd (the
 * read end for a pipe). */
enum { K_PIPE, K_PIPE2, K_EVENTFD, K_TIMERFD, K_SIGNALFD, K_EPOLL,
       K_EPOLL1, NMAKERS };

static const char *const maker_name[NMAKERS] = {
	"pipe", "pipe2", "eventfd", "timerfd_create", "signalfd",
	"epoll_create", "epoll_create1",
};

static int made_w; /* a new pipe's write end */

static int make_fd(int k, int flags)
{
	int fds[2] = { -1, -1 };
	sigset_t m;

	switch (k) {
	case K_PIPE:
	case K_PIPE2:
		if ((k == K_PIPE ? pipe(fds) : pipe2(fds, flags)) < 0)
			return -1;
		made_w = fds[1];
		return fds[0];
	case K_EVENTFD:
		return eventfd(0, flags);
	case K_TIMERFD:
		return timerfd_create(CLOCK_MONOTONIC, flags);
	case K_SIGNALFD:
		sigemptyset(&m);
		sigaddset(&m, SIGUSR1);
		return signalfd(-1, &m, flags);
	case K_EPOLL:
		return epoll_create(1);
	default:
		return epoll_create1(flags);
	}
}

/* A file closed where weft cannot see (libc's fclose does this) while a
 * coroutine waits on it: the creator that hands its number out again
 * wakes that waiter with EBADF, and the new fd is waited on afresh. */
START_TEST(creator_reusing_a_number_closed_behind_weft_wakes_its_waiters)
{
	int k = _i;
	int fds[2];
	struct peer p[1];
	struct tl_ticker t = { 0 };

	block_sigusr1();
	ck_assert_int_eq(pipe(fds), 0);
	park_readers(p, 1, fds[0]);
	ck_assert_int_eq(syscall(SYS_close, fds[0]), 0);
	int fd = make_fd(k, 0);
	ck_assert_msg(fd == fds[0], "%s gave %d, not %d", maker_name[k], fd,
		      fds[0]);
	peer_join(&p[0]);
	ck_assert_msg(p[0].r == -1 && p[0].err == EBADF,
		      "the old waiter, after %s: %zd (%s)", maker_name[k],
		      p[0].r, strerror(p[0].err));
	/* The new file is waited on afresh (for the epoll fds, through
	 * weft_wait_fd: reading them is EINVAL). */
	ck_assert_int_eq(weft_go(tl_tick_first, &t), 0);
	if (k == K_EPOLL || k == K_EPOLL1) {
		int q[2];
		struct peer wr = { .delay = 2 * MS, .value = 1 };
		ck_assert_int_eq(pipe(q), 0);
		struct epoll_event ev = { .events = EPOLLIN };
		ck_assert_int_eq(epoll_ctl(fd, EPOLL_CTL_ADD, q[0], &ev), 0);
		wr.fd = q[1];
		go(&wr, peer_write);
		ck_assert_int_eq(weft_wait_fd(fd, WEFT_READ, 5 * SEC),
				 WEFT_READ);
		ck_assert_int_gt(wr.at, 0);
	} else if (k == K_PIPE || k == K_PIPE2) {
		struct peer wr = { .fd = made_w, .delay = 2 * MS, .value = 1 };
		char buf[8];
		go(&wr, peer_write);
		ck_assert_int_eq(read(fd, buf, 8), 8);
		ck_assert_int_gt(wr.at, 0);
	} else {
		struct peer rd = { .fd = fd, .len = k == K_SIGNALFD ?
				   sizeof(struct signalfd_siginfo) : 8 };
		go(&rd, peer_read);
		weft_sleep(2 * MS);
		ck_assert_int_eq(rd.done, 0);
		if (k == K_EVENTFD) {
			uint64_t v = 1;
			ck_assert_int_eq(write(fd, &v, 8), 8);
		} else if (k == K_TIMERFD) {
			struct itimerspec its = { .it_value = { 0, MS } };
			ck_assert_int_eq(timerfd_settime(fd, 0, &its, NULL),
					 0);
		} else {
			ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
		}
		peer_join(&rd);
		ck_assert_int_gt(rd.r, 0);
	}
	t.stop = true;
}
END_TEST

/* ---- dup copies the program's view -------------------------------------- */

START_TEST(dup_copies_the_programs_nonblocking_view)
{
	int fds[2], ran = 0;
	char c;

	ck_assert_int_eq(pipe(fds), 0);
	set_nb(fds[0], true);
	int d = _i == 0 ? dup(fds[0]) : _i == 1 ? dup2(fds[0], 77)
					 : dup3(fds[0], 78, O_CLOEXEC);
	ck_assert_int_ge(d, 0);
	ck_assert(entry(d) & WEFT__FD_NB);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(read(d, &c, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ran, 0);
	ck_assert(fcntl(d, F_GETFL) & O_NONBLOCK);
}
END_TEST

START_TEST(dup_copies_the_programs_blocking_view)
{
	int fds[2];
	char c;
	struct peer wr = { .delay = 2 * MS, .value = 1 };

	ck_assert_int_eq(pipe(fds), 0);
	int d = _i == 0 ? dup(fds[0]) : _i == 1 ? dup2(fds[0], 77)
					 : dup3(fds[0], 78, O_CLOEXEC);
	ck_assert_int_ge(d, 0);
	ck_assert(!(entry(d) & WEFT__FD_NB));
	wr.fd = fds[1];
	go(&wr, peer_write);
	ck_assert_int_eq(read(d, &c, 1), 1);
	ck_assert_int_gt(wr.at, 0);
}
END_TEST

START_TEST(dup_keeps_weft_kernel_nonblocking_hidden)
{
	int s[2];
	struct peer wr = { .delay = 2 * MS, .value = 1 };
	uint64_t v;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	struct weft__fd *f = weft__fd_get(s[0]);
	if (!(weft__fd_flags(f) & WEFT__FD_KNOWN))
		weft__fd_classify(s[0], f);
	ck_assert(weft__fd_flags(f) & WEFT__FD_KNOWN);
	weft__fd_set(f, WEFT__FD_KERN_NB, true);
	ck_assert_int_eq(syscall(SYS_fcntl, s[0], F_SETFL, O_RDWR | O_NONBLOCK),
			 0);
	int d = _i == 0 ? dup(s[0]) : _i == 1 ? dup2(s[0], 77)
				       : dup3(s[0], 78, O_CLOEXEC);
	ck_assert_int_ge(d, 0);
	ck_assert(kernel_nonblocking(d));
	ck_assert_int_eq(fcntl(d, F_GETFL) & O_NONBLOCK, 0);
	wr.fd = s[1];
	go(&wr, peer_write);
	ck_assert_int_eq(read(d, &v, sizeof v), 8); /* parks, then reads */
	ck_assert_int_gt(wr.at, 0);
}
END_TEST

START_TEST(dup_of_a_bad_fd_fails_with_EBADF)
{
	ck_assert_ptr_nonnull(weft_self());
	errno = 0;
	ck_assert_int_eq(dup(-1), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(dup2(-1, 50), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(dup2(0, -1), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(dup3(-1, 50, 0), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ---- the creators ------------------------------------------------------- */

START_TEST(pipe_ends_are_recorded_blocking)
{
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	for (int i = 0; i < 2; i++) {
		unsigned e = entry(fds[i]);
		ck_assert(e & WEFT__FD_KNOWN);
		ck_assert(!(e & (WEFT__FD_NB | WEFT__FD_SOCKET |
				 WEFT__FD_KERN_NB | WEFT__FD_PASS)));
		ck_assert(!cloexec(fds[i]));
		ck_assert(!kernel_nonblocking(fds[i]));
	}
	ck_assert_ptr_null(weft__running); /* recorded without a scheduler */
}
END_TEST

START_TEST(pipe2_records_its_flags)
{
	int flags = (int[]){ 0, O_NONBLOCK, O_CLOEXEC,
			     O_NONBLOCK | O_CLOEXEC | O_DIRECT }[_i];
	int fds[2];

	ck_assert_int_eq(pipe2(fds, flags), 0);
	for (int i = 0; i < 2; i++) {
		unsigned e = entry(fds[i]);
		ck_assert(e & WEFT__FD_KNOWN);
		ck_assert_int_eq(!!(e & WEFT__FD_NB), !!(flags & O_NONBLOCK));
		ck_assert_int_eq(kernel_nonblocking(fds[i]),
				 !!(flags & O_NONBLOCK));
		ck_assert_int_eq(cloexec(fds[i]), !!(flags & O_CLOEXEC));
	}
}
END_TEST

START_TEST(pipe_read_parks_until_another_coroutine_writes)
{
	int fds[2];
	struct peer wr = { .delay = 5 * MS, .value = 42 };
	uint64_t v = 0;

	ck_assert_int_eq(_i ? pipe2(fds, O_CLOEXEC) : pipe(fds), 0);
	wr.fd = fds[1];
	go(&wr, peer_write);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(read(fds[0], &v, sizeof v), 8);
	int after = tl_next_step();
	ck_assert_uint_eq(v, 42);
	ck_assert(wr.at > 0 && wr.at < after);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
}
END_TEST

START_TEST(nonblocking_pipe2_returns_EAGAIN_without_parking)
{
	int fds[2], ran = 0;
	char c;

	ck_assert_int_eq(pipe2(fds, O_NONBLOCK), 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	for (int i = 0; i < 10; i++) {
		errno = 0;
		ck_assert_int_eq(read(fds[0], &c, 1), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(pipe_with_bad_arguments_fails_as_libc_does)
{
	int fds[2];

	ck_assert_ptr_nonnull(weft_self());
	errno = 0;
	ck_assert_int_eq(pipe2(fds, 0x7fff0000), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(pipe(bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(pipe2(bad_ptr, O_CLOEXEC), -1);
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

START_TEST(eventfd_records_its_flags)
{
	int flags = (int[]){ 0, EFD_NONBLOCK, EFD_CLOEXEC | EFD_SEMAPHORE,
			     EFD_NONBLOCK | EFD_CLOEXEC }[_i];
	int e = eventfd(0, flags);

	ck_assert_int_ge(e, 0);
	ck_assert(entry(e) & WEFT__FD_KNOWN);
	ck_assert_int_eq(!!(entry(e) & WEFT__FD_NB), !!(flags & EFD_NONBLOCK));
	ck_assert_int_eq(kernel_nonblocking(e), !!(flags & EFD_NONBLOCK));
	ck_assert_int_eq(cloexec(e), !!(flags & EFD_CLOEXEC));
}
END_TEST

START_TEST(eventfd_read_parks_until_another_coroutine_writes)
{
	int e = eventfd(0, _i ? EFD_SEMAPHORE : 0);
	struct peer wr = { .delay = 5 * MS, .value = 3 };
	uint64_t v = 0;

	ck_assert_int_ge(e, 0);
	wr.fd = e;
	go(&wr, peer_write);
	ck_assert_int_eq(read(e, &v, sizeof v), 8);
	ck_assert_uint_eq(v, _i ? 1 : 3);
	ck_assert_int_gt(wr.at, 0);
	if (_i) { /* a semaphore: two more units, one at a time */
		ck_assert_int_eq(read(e, &v, sizeof v), 8);
		ck_assert_int_eq(read(e, &v, sizeof v), 8);
		ck_assert_uint_eq(v, 1);
	}
}
END_TEST

START_TEST(nonblocking_eventfd_returns_EAGAIN_without_parking)
{
	int e = eventfd(0, EFD_NONBLOCK), ran = 0;
	uint64_t v;

	ck_assert_int_ge(e, 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(read(e, &v, sizeof v), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(eventfd_with_bad_flags_fails_with_EINVAL)
{
	if (_i)
		ck_assert_ptr_nonnull(weft_self());
	errno = 0;
	ck_assert_int_eq(eventfd(0, 0x12340000), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(timerfd_records_its_flags)
{
	int flags = (int[]){ 0, TFD_NONBLOCK, TFD_CLOEXEC,
			     TFD_NONBLOCK | TFD_CLOEXEC }[_i];
	int t = timerfd_create(CLOCK_MONOTONIC, flags);

	ck_assert_int_ge(t, 0);
	ck_assert(entry(t) & WEFT__FD_KNOWN);
	ck_assert_int_eq(!!(entry(t) & WEFT__FD_NB), !!(flags & TFD_NONBLOCK));
	ck_assert_int_eq(kernel_nonblocking(t), !!(flags & TFD_NONBLOCK));
	ck_assert_int_eq(cloexec(t), !!(flags & TFD_CLOEXEC));
}
END_TEST

START_TEST(timerfd_read_parks_until_the_timer_expires)
{
	int t = timerfd_create(_i ? CLOCK_REALTIME : CLOCK_MONOTONIC, 0);
	struct itimerspec its = { .it_value = { 0, 20 * MS } };
	struct tl_ticker tk = { 0 };
	uint64_t n = 0;

	ck_assert_int_ge(t, 0);
	ck_assert_int_eq(weft_go(tl_tick_first, &tk), 0);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(timerfd_settime(t, 0, &its, NULL), 0);
	ck_assert_int_eq(read(t, &n, sizeof n), 8);
	ck_assert_int_ge(tl_mono_ns() - t0, 20 * MS);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_gt(tk.ticks, 0);
	tk.stop = true;
}
END_TEST

START_TEST(nonblocking_timerfd_returns_EAGAIN_without_parking)
{
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK), ran = 0;
	struct itimerspec its = { .it_value = { 5, 0 } };
	uint64_t n;

	ck_assert_int_ge(t, 0);
	ck_assert_int_eq(timerfd_settime(t, 0, &its, NULL), 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(read(t, &n, sizeof n), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(timerfd_with_bad_arguments_fails_with_EINVAL)
{
	if (_i)
		ck_assert_ptr_nonnull(weft_self());
	errno = 0;
	ck_assert_int_eq(timerfd_create(CLOCK_MONOTONIC, 0x12340000), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(timerfd_create(12345, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(signalfd_records_its_flags)
{
	int flags = (int[]){ 0, SFD_NONBLOCK, SFD_CLOEXEC,
			     SFD_NONBLOCK | SFD_CLOEXEC }[_i];
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	int s = signalfd(-1, &m, flags);
	ck_assert_int_ge(s, 0);
	ck_assert(entry(s) & WEFT__FD_KNOWN);
	ck_assert_int_eq(!!(entry(s) & WEFT__FD_NB), !!(flags & SFD_NONBLOCK));
	ck_assert_int_eq(kernel_nonblocking(s), !!(flags & SFD_NONBLOCK));
	ck_assert_int_eq(cloexec(s), !!(flags & SFD_CLOEXEC));
}
END_TEST

START_TEST(signalfd_read_parks_until_the_signal_comes)
{
	sigset_t m;
	struct signalfd_siginfo si = { 0 };
	struct peer k = { .delay = 5 * MS };

	block_sigusr1();
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	int s = signalfd(-1, &m, 0);
	ck_assert_int_ge(s, 0);
	go(&k, peer_kill);
	ck_assert_int_eq(read(s, &si, sizeof si), sizeof si);
	int after = tl_next_step();
	ck_assert_uint_eq(si.ssi_signo, SIGUSR1);
	ck_assert_int_eq(si.ssi_pid, getpid());
	ck_assert(k.at > 0 && k.at < after);
}
END_TEST

START_TEST(signalfd_on_an_existing_fd_keeps_the_files_flags)
{
	sigset_t m;
	struct signalfd_siginfo si;
	struct peer k = { .delay = 5 * MS };

	block_sigusr1();
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	int s = signalfd(-1, &m, 0);
	ck_assert_int_ge(s, 0);
	/* A new mask; the kernel ignores the flags for an existing fd. */
	sigaddset(&m, SIGUSR1);
	ck_assert_int_eq(signalfd(s, &m, SFD_NONBLOCK), s);
	ck_assert(!kernel_nonblocking(s));
	ck_assert(!(entry(s) & WEFT__FD_NB));
	ck_assert_int_eq(fcntl(s, F_GETFL) & O_NONBLOCK, 0);
	go(&k, peer_kill);
	ck_assert_int_eq(read(s, &si, sizeof si), sizeof si); /* parks */
	ck_assert_uint_eq(si.ssi_signo, SIGUSR1);
	ck_assert_int_gt(k.at, 0);
}
END_TEST

START_TEST(nonblocking_signalfd_returns_EAGAIN_without_parking)
{
	sigset_t m;
	struct signalfd_siginfo si;
	int ran = 0;

	block_sigusr1();
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	int s = signalfd(-1, &m, SFD_NONBLOCK);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(read(s, &si, sizeof si), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(signalfd_with_bad_arguments_fails_as_libc_does)
{
	sigset_t m;
	int fds[2];

	if (_i)
		ck_assert_ptr_nonnull(weft_self());
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	errno = 0;
	ck_assert_int_eq(signalfd(-1, &m, 0x12340000), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(signalfd(1 << 20, &m, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(pipe(fds), 0);
	unsigned before = entry(fds[0]);
	errno = 0;
	ck_assert_int_eq(signalfd(fds[0], &m, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(entry(fds[0]), before);
	errno = 0;
	ck_assert_int_eq(signalfd(-1, bad_ptr, 0), -1);
	ck_assert_int_eq(errno, EFAULT);
}
END_TEST

START_TEST(epoll_fd_is_recorded_and_reads_fail_at_once)
{
	int ep = _i == 0 ? epoll_create(1) : _i == 1 ? epoll_create1(0)
					     : epoll_create1(EPOLL_CLOEXEC);
	int ran = 0;
	char buf[8];

	ck_assert_int_ge(ep, 0);
	ck_assert(entry(ep) & WEFT__FD_KNOWN);
	ck_assert(!(entry(ep) & WEFT__FD_NB));
	ck_assert_int_eq(cloexec(ep), _i == 2);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(read(ep, buf, sizeof buf), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(epoll_fd_can_be_waited_on_until_a_member_is_ready)
{
	int ep = _i ? epoll_create1(0) : epoll_create(1), q[2];
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct peer wr = { .delay = 5 * MS, .value = 1 };

	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(pipe(q), 0);
	ev.data.fd = q[0];
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev), 0);
	wr.fd = q[1];
	go(&wr, peer_write);
	ck_assert_int_eq(weft_wait_fd(ep, WEFT_READ, 5 * SEC), WEFT_READ);
	ck_assert_int_gt(wr.at, 0);
	ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 1);
	ck_assert_int_eq(out.data.fd, q[0]);
}
END_TEST

START_TEST(epoll_create_with_bad_arguments_fails_with_EINVAL)
{
	if (_i)
		ck_assert_ptr_nonnull(weft_self());
	errno = 0;
	ck_assert_int_eq(epoll_create(0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(epoll_create(-1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(epoll_create1(0x1234), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(creators_fail_with_EMFILE_at_the_fd_limit)
{
	struct rlimit rl = { 64, 64 };
	int fds[2] = { -1, -1 }, last = -1, d;

	TL_SKIP_UNDER_VALGRIND("it keeps RLIMIT_NOFILE its own way, and"
			       " refuses this setrlimit");
	ck_assert_ptr_nonnull(weft_self()); /* the scheduler's fds first */
	block_sigusr1();
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_int_eq(pipe(fds), 0);
	while ((d = dup(fds[0])) >= 0)
		last = d;
	ck_assert_int_eq(errno, EMFILE);
	ck_assert_int_ge(last, 0);
	for (int k = 0; k < NMAKERS; k++) {
		errno = 0;
		int r = make_fd(k, 0);
		ck_assert_msg(r == -1 && errno == EMFILE, "%s: %d (%s)",
			      maker_name[k], r, strerror(errno));
	}
	/* One free number: a pipe needs two. */
	ck_assert_int_eq(close(last), 0);
	errno = 0;
	ck_assert_int_eq(pipe(fds), -1);
	ck_assert_int_eq(errno, EMFILE);
	errno = 0;
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), -1);
	ck_assert_int_eq(errno, EMFILE);
	/* ...and what fits works, and is recorded. */
	int e = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_eq(e, last);
	ck_assert(entry(e) & WEFT__FD_NB);
}
END_TEST

START_TEST(creators_outside_a_coroutine_record_the_fd)
{
	int k = _i;
	int fd = make_fd(k, k == K_EPOLL1 ? 0 : O_NONBLOCK);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_null(weft__running);
	unsigned e = entry(fd);
	ck_assert(e & WEFT__FD_KNOWN);
	ck_assert_int_eq(!!(e & WEFT__FD_NB),
			 k != K_PIPE && k != K_EPOLL && k != K_EPOLL1);
	ck_assert(!(e & (WEFT__FD_SOCKET | WEFT__FD_PASS | WEFT__FD_KERN_NB)));
}
END_TEST

/* ---- differential ------------------------------------------------------- */

static void fd_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	bool thread = !weft;
	int fds[2] = { -1, -1 }, e, t, s, ep;
	uint64_t v = 0;
	struct peer p;
	sigset_t m;
	struct signalfd_siginfo si;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	/* pipe: a wait for a writer, then EOF after the writer closes. */
	NOTE(rc, pipe(fds));
	p = (struct peer){ .fd = fds[1], .delay = 5 * MS, .value = 11 };
	NOTE(rc, peer_start(&p, peer_write, thread));
	NOTE_DATA(rc, read(fds[0], &v, sizeof v), &v, sizeof v);
	NOTE(rc, p.at > 0 && p.at < tl_next_step());
	peer_join(&p);
	p = (struct peer){ .fd = fds[1], .delay = 5 * MS };
	NOTE(rc, peer_start(&p, peer_close, thread));
	NOTE(rc, read(fds[0], &v, sizeof v));
	peer_join(&p);
	NOTE(rc, close(fds[0]));
	NOTE(rc, close(fds[0]));
	/* pipe2's flags. */
	NOTE(rc, pipe2(fds, O_NONBLOCK | O_CLOEXEC));
	NOTE(rc, read(fds[0], &v, sizeof v));
	NOTE(rc, fcntl(fds[0], F_GETFL));
	NOTE(rc, fcntl(fds[0], F_GETFD));
	NOTE(rc, pipe2(fds, 0x7fff0000));
	/* eventfd: a wait for a writer; a semaphore; bad flags. */
	NOTE(rc, (e = eventfd(5, EFD_SEMAPHORE)) >= 0);
	for (int i = 0; i < 5; i++)
		NOTE_DATA(rc, read(e, &v, sizeof v), &v, sizeof v);
	p = (struct peer){ .fd = e, .delay = 5 * MS, .value = 2 };
	NOTE(rc, peer_start(&p, peer_write, thread));
	NOTE_DATA(rc, read(e, &v, sizeof v), &v, sizeof v);
	peer_join(&p);
	NOTE(rc, eventfd(0, 0x12340000));
	/* timerfd: a wait for the expiry. */
	NOTE(rc, (t = timerfd_create(CLOCK_MONOTONIC, 0)) >= 0);
	NOTE(rc, timerfd_settime(t, 0, &(struct itimerspec){
					       .it_value = { 0, 10 * MS } },
				 NULL));
	NOTE_DATA(rc, read(t, &v, sizeof v), &v, sizeof v);
	NOTE(rc, read(t, &v, 4));
	NOTE(rc, timerfd_create(12345, 0));
	/* signalfd: a wait for a signal sent by a peer. */
	NOTE(rc, (s = signalfd(-1, &m, 0)) >= 0);
	p = (struct peer){ .delay = 5 * MS };
	NOTE(rc, peer_start(&p, peer_kill, thread));
	NOTE(rc, read(s, &si, sizeof si));
	NOTE(rc, si.ssi_signo);
	peer_join(&p);
	NOTE(rc, signalfd(s, &m, SFD_NONBLOCK) == s);
	NOTE(rc, fcntl(s, F_GETFL));
	NOTE(rc, signalfd(-1, &m, 0x12340000));
	/* epoll. */
	NOTE(rc, (ep = epoll_create1(EPOLL_CLOEXEC)) >= 0);
	NOTE(rc, fcntl(ep, F_GETFD));
	NOTE(rc, read(ep, &v, sizeof v));
	NOTE(rc, epoll_create(0));
	NOTE(rc, epoll_create1(-1));
	/* dup and close. */
	NOTE(rc, pipe2(fds, O_NONBLOCK));
	int d = dup(fds[0]);
	NOTE(rc, d >= 0);
	NOTE(rc, read(d, &v, sizeof v));
	NOTE(rc, fcntl(d, F_GETFL));
	NOTE(rc, dup2(fds[0], 90));
	NOTE(rc, dup3(fds[0], 91, O_CLOEXEC));
	NOTE(rc, fcntl(91, F_GETFD));
	NOTE(rc, dup3(fds[0], fds[0], 0));
	NOTE(rc, close_range(90, 91, 0));
	NOTE(rc, close(90));
	NOTE(rc, close(-1));
}

START_TEST(fd_calls_give_what_libc_gives)
{
	differ(fd_script);
}
END_TEST

/* ---- pending: differences that weft does not fix yet ------------------ */

/* close_range(3, ~0U, 0), which programs run before exec, once cleared
 * the entry of every number in its range, making fd-table chunks for
 * numbers never used: 24 MiB of heap and tens of milliseconds. */
#ifndef __SANITIZE_ADDRESS__
START_TEST(close_range_to_the_top_does_not_fill_the_fd_table)
{
	struct mallinfo2 before = mallinfo2();

	ck_assert_int_eq(close_range(300, ~0U, 0), 0);
	struct mallinfo2 after = mallinfo2();
	ck_assert_msg(after.uordblks < before.uordblks + (1 << 20),
		      "the heap grew by %zu KiB",
		      (after.uordblks - before.uordblks) / 1024);
}
END_TEST
#endif

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_fd(void)
{
	Suite *s = suite_create("hook_fd");
	TCase *tc;

	tc = tcase_create("close");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, close_wakes_every_reader_with_EBADF, 0, 3);
	tcase_add_loop_test(tc,
			    close_by_another_coroutine_wakes_every_reader_with_EBADF,
			    0, 3);
	tcase_add_loop_test(tc, dup2_onto_an_fd_with_waiters_wakes_them_with_EBADF,
			    0, 3);
	tcase_add_loop_test(tc, dup3_onto_an_fd_with_waiters_wakes_them_with_EBADF,
			    0, 3);
	tcase_add_test(tc, dup2_onto_itself_leaves_waiters_waiting);
	tcase_add_test(tc, failed_dup2_leaves_waiters_waiting);
	tcase_add_test(tc, close_range_wakes_the_waiters_of_every_fd_in_it);
	tcase_add_test(tc,
		       close_range_with_CLOEXEC_closes_nothing_and_wakes_nobody);
	tcase_add_test(tc, close_range_with_bad_arguments_fails_with_EINVAL);
	tcase_add_test(tc, close_of_a_bad_fd_fails_with_EBADF);
	suite_add_tcase(s, tc);

	tc = tcase_create("reuse");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		       socket_number_reused_by_a_regular_file_reads_straight_through);
	tcase_add_test(tc, number_reused_by_a_new_fd_gets_that_fds_view);
	tcase_add_loop_test(tc,
			    creator_reusing_a_number_closed_behind_weft_wakes_its_waiters,
			    0, NMAKERS);
	suite_add_tcase(s, tc);

	tc = tcase_create("dup");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, dup_copies_the_programs_nonblocking_view, 0, 3);
	tcase_add_loop_test(tc, dup_copies_the_programs_blocking_view, 0, 3);
	tcase_add_loop_test(tc, dup_keeps_weft_kernel_nonblocking_hidden, 0, 3);
	tcase_add_test(tc, dup_of_a_bad_fd_fails_with_EBADF);
	suite_add_tcase(s, tc);

	tc = tcase_create("make");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, pipe_ends_are_recorded_blocking);
	tcase_add_loop_test(tc, pipe2_records_its_flags, 0, 4);
	tcase_add_loop_test(tc, pipe_read_parks_until_another_coroutine_writes,
			    0, 2);
	tcase_add_test(tc, nonblocking_pipe2_returns_EAGAIN_without_parking);
	tcase_add_test(tc, pipe_with_bad_arguments_fails_as_libc_does);
	tcase_add_loop_test(tc, eventfd_records_its_flags, 0, 4);
	tcase_add_loop_test(tc, eventfd_read_parks_until_another_coroutine_writes,
			    0, 2);
	tcase_add_test(tc, nonblocking_eventfd_returns_EAGAIN_without_parking);
	tcase_add_loop_test(tc, eventfd_with_bad_flags_fails_with_EINVAL, 0, 2);
	tcase_add_loop_test(tc, timerfd_records_its_flags, 0, 4);
	tcase_add_loop_test(tc, timerfd_read_parks_until_the_timer_expires, 0,
			    2);
	tcase_add_test(tc, nonblocking_timerfd_returns_EAGAIN_without_parking);
	tcase_add_loop_test(tc, timerfd_with_bad_arguments_fails_with_EINVAL, 0,
			    2);
	tcase_add_loop_test(tc, signalfd_records_its_flags, 0, 4);
	tcase_add_test(tc, signalfd_read_parks_until_the_signal_comes);
	tcase_add_test(tc, signalfd_on_an_existing_fd_keeps_the_files_flags);
	tcase_add_test(tc, nonblocking_signalfd_returns_EAGAIN_without_parking);
	tcase_add_loop_test(tc, signalfd_with_bad_arguments_fails_as_libc_does,
			    0, 2);
	tcase_add_loop_test(tc, epoll_fd_is_recorded_and_reads_fail_at_once, 0,
			    3);
	tcase_add_loop_test(tc, epoll_fd_can_be_waited_on_until_a_member_is_ready,
			    0, 2);
	tcase_add_loop_test(tc, epoll_create_with_bad_arguments_fails_with_EINVAL,
			    0, 2);
	tcase_add_test(tc, creators_fail_with_EMFILE_at_the_fd_limit);
	tcase_add_loop_test(tc, creators_outside_a_coroutine_record_the_fd, 0,
			    NMAKERS);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, fd_calls_give_what_libc_gives);
	suite_add_tcase(s, tc);

	/* The heap is measured with mallinfo2, which the sanitizers'
	 * allocator does not feed: the plain runner only. */
#ifndef __SANITIZE_ADDRESS__
	tc = tcase_create("were_different");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, close_range_to_the_top_does_not_fill_the_fd_table);
	suite_add_tcase(s, tc);
#endif

	return s;
}
