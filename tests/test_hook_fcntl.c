/* test_hook_fcntl.c - fcntl, fcntl64 and ioctl: the program's own view of
 * O_NONBLOCK (F_GETFL, F_SETFL, FIONBIO), which decides whether a call
 * parks; O_NONBLOCK that weft keeps in the kernel, hidden from the
 * program; F_DUPFD and F_DUPFD_CLOEXEC; and every other command passed
 * through as it is.
 *
 * Tests that take a loop index run with fcntl (_i even) and fcntl64
 * (_i odd), which must behave the same. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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
static volatile int bad_cmd = 0x7fff1234;

static int (*const fcntl_fns[2])(int, int, ...) = { fcntl, fcntl64 };
static const char *const fcntl_name[2] = { "fcntl", "fcntl64" };

/* ---- helpers ------------------------------------------------------------ */

static unsigned entry(int fd)
{
	return weft__fd_flags(weft__fd_get(fd));
}

/* The file's status flags as the kernel has them. */
static int kernel_fl(int fd)
{
	return (int)syscall(SYS_fcntl, fd, F_GETFL);
}

/* A coroutine (or, in the plain runs of differential tests, a thread)
 * that writes one byte to fd after a delay. */
struct peer {
	struct tl_runner run;
	int fd;
	int64_t delay;
	int at;
	ssize_t r;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	if (p->run.thread)
		nanosleep(&(struct timespec){ 0, p->delay }, NULL);
	else
		weft_sleep(p->delay);
	p->at = tl_next_step();
	p->r = write(p->fd, "x", 1);
	return NULL;
}

static int peer_start(struct peer *p, bool thread)
{
	p->at = 0;
	return tl_runner_start(&p->run, peer_main, p, thread);
}

static void peer_join(struct peer *p)
{
	tl_runner_join(&p->run);
}

/* Checks that a read of fd (empty) fails with EAGAIN at once, without
 * letting another coroutine run. */
static void read_gives_EAGAIN_at_once(int fd)
{
	int ran = 0;
	char c;

	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(read(fd, &c, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_msg(ran == 0, "a read of a non-blocking fd parked");
	weft_yield();
	ck_assert_int_ne(ran, 0);
}

/* Checks that a read of fd (empty; wfd its writer) parks until another
 * coroutine writes. */
static void read_parks(int fd, int wfd)
{
	struct peer p = { .fd = wfd, .delay = 5 * MS };
	char c;

	ck_assert_int_eq(peer_start(&p, false), 0);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(read(fd, &c, 1), 1);
	int after = tl_next_step();
	ck_assert_msg(p.at > 0 && p.at < after,
		      "the read returned before the writer ran");
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	peer_join(&p);
}

/* A socket pair where weft keeps O_NONBLOCK on s[0] in the kernel (as
 * accept.c and connect.c do) while the program believes it blocking. */
static void kern_nb_pair(int s[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	struct weft__fd *f = weft__fd_get(s[0]);
	if (!(weft__fd_flags(f) & WEFT__FD_KNOWN))
		weft__fd_classify(s[0], f);
	ck_assert(weft__fd_flags(f) & WEFT__FD_KNOWN);
	ck_assert(!(weft__fd_flags(f) & WEFT__FD_NB));
	weft__fd_set(f, WEFT__FD_KERN_NB, true);
	ck_assert_int_eq(syscall(SYS_fcntl, s[0], F_SETFL, O_RDWR | O_NONBLOCK),
			 0);
}

/* ---- F_GETFL and F_SETFL ------------------------------------------------ */

START_TEST(setfl_and_getfl_round_trip)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i % 2];
	int k = _i / 2;
	int fds[2], fd, add;
	char path[] = "/tmp/weft-fcntl-XXXXXX";

	/* k: 0 pipe, 1 socket, 2 regular file, 3 pty */
	if (k == 0) {
		ck_assert_int_eq(pipe(fds), 0);
		fd = fds[0];
		add = O_NONBLOCK;
	} else if (k == 1) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
		fd = fds[0];
		add = O_NONBLOCK | O_ASYNC;
	} else if (k == 2) {
		fd = mkstemp(path);
		ck_assert_int_ge(fd, 0);
		unlink(path);
		add = O_NONBLOCK | O_APPEND | O_NOATIME;
	} else {
		ck_assert_int_eq(openpty(&fds[0], &fds[1], NULL, NULL, NULL),
				 0);
		fd = fds[1];
		add = O_NONBLOCK;
	}
	ck_assert_ptr_nonnull(weft_self());
	int fl = fc(fd, F_GETFL);
	ck_assert_int_ge(fl, 0);
	ck_assert_int_eq(fl, kernel_fl(fd));
	ck_assert_int_eq(fc(fd, F_SETFL, fl | add), 0);
	ck_assert_int_eq(fc(fd, F_GETFL), fl | add);
	ck_assert_int_eq(kernel_fl(fd), fl | add);
	ck_assert_int_eq(fc(fd, F_SETFL, fl), 0);
	ck_assert_int_eq(fc(fd, F_GETFL), fl);
	ck_assert_int_eq(kernel_fl(fd), fl);
}
END_TEST

START_TEST(setfl_nonblocking_makes_reads_fail_with_EAGAIN_at_once)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fc(fds[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert(entry(fds[0]) & WEFT__FD_NB);
	read_gives_EAGAIN_at_once(fds[0]);
	/* And back: now it parks. */
	ck_assert_int_eq(fc(fds[0], F_SETFL, 0), 0);
	ck_assert(!(entry(fds[0]) & WEFT__FD_NB));
	read_parks(fds[0], fds[1]);
}
END_TEST

START_TEST(setfl_on_an_fd_weft_never_saw_takes_effect)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	/* Made behind weft's back: no entry until it is first used. */
	ck_assert_int_eq(syscall(SYS_pipe2, fds, 0), 0);
	ck_assert_uint_eq(entry(fds[0]), 0);
	ck_assert_int_eq(fc(fds[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert(fc(fds[0], F_GETFL) & O_NONBLOCK);
	read_gives_EAGAIN_at_once(fds[0]);
	ck_assert_int_eq(fc(fds[0], F_SETFL, 0), 0);
	read_parks(fds[0], fds[1]);
}
END_TEST

START_TEST(setfl_outside_a_coroutine_sets_the_programs_view)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fc(fds[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_ptr_null(weft__running);
	ck_assert(entry(fds[0]) & WEFT__FD_NB);
	read_gives_EAGAIN_at_once(fds[0]);
}
END_TEST

START_TEST(setfl_reads_its_argument_as_an_int)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	/* The kernel takes the low 32 bits of the register. */
	ck_assert_int_eq(fc(fds[0], F_SETFL, 0xffffffff00000000UL | O_NONBLOCK),
			 0);
	ck_assert(kernel_fl(fds[0]) & O_NONBLOCK);
	ck_assert(entry(fds[0]) & WEFT__FD_NB);
	ck_assert_int_eq(fc(fds[0], F_SETFL, 0xffffffff00000000UL), 0);
	ck_assert(!(kernel_fl(fds[0]) & O_NONBLOCK));
	ck_assert(!(entry(fds[0]) & WEFT__FD_NB));
}
END_TEST

START_TEST(failed_setfl_leaves_the_view_alone)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_ptr_nonnull(weft_self());
	/* O_DIRECT on a pipe is packet mode; on a socket it is refused. */
	int s[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	unsigned before = entry(s[0]);
	errno = 0;
	int r = fc(s[0], F_SETFL, O_NONBLOCK | O_DIRECT);
	int err = errno;
	errno = 0;
	int want = (int)syscall(SYS_fcntl, s[1], F_SETFL, O_NONBLOCK | O_DIRECT);
	ck_assert_int_eq(r, want);
	if (want < 0) {
		ck_assert_int_eq(err, errno);
		ck_assert_uint_eq(entry(s[0]), before);
	}
	errno = 0;
	ck_assert_int_eq(fc(-1, F_SETFL, O_NONBLOCK), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ---- ioctl -------------------------------------------------------------- */

START_TEST(fionbio_sets_the_programs_view)
{
	int fds[2], on = 1, off = 0;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(ioctl(fds[0], FIONBIO, &on), 0);
	ck_assert(entry(fds[0]) & WEFT__FD_NB);
	ck_assert(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
	ck_assert(kernel_fl(fds[0]) & O_NONBLOCK);
	read_gives_EAGAIN_at_once(fds[0]);
	ck_assert_int_eq(ioctl(fds[0], FIONBIO, &off), 0);
	ck_assert(!(entry(fds[0]) & WEFT__FD_NB));
	ck_assert(!(fcntl(fds[0], F_GETFL) & O_NONBLOCK));
	ck_assert(!(kernel_fl(fds[0]) & O_NONBLOCK));
	read_parks(fds[0], fds[1]);
}
END_TEST

START_TEST(fionbio_with_a_bad_pointer_or_fd_fails_as_libc_does)
{
	int fds[2], on = 1;

	ck_assert_int_eq(pipe(fds), 0);
	if (_i)
		ck_assert_ptr_nonnull(weft_self());
	unsigned before = entry(fds[0]);
	errno = 0;
	ck_assert_int_eq(ioctl(fds[0], FIONBIO, bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_uint_eq(entry(fds[0]), before);
	errno = 0;
	ck_assert_int_eq(ioctl(-1, FIONBIO, &on), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(close(fds[1]), 0);
	errno = 0;
	ck_assert_int_eq(ioctl(fds[1], FIONBIO, &on), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(other_ioctls_pass_through)
{
	int fds[2], n = -1, m, s;
	struct winsize ws = { .ws_row = 33, .ws_col = 77 }, got = { 0 };

	ck_assert_int_eq(pipe(fds), 0);
	if (_i)
		ck_assert_ptr_nonnull(weft_self());
	ck_assert_int_eq(write(fds[1], "abc", 3), 3);
	ck_assert_int_eq(ioctl(fds[0], FIONREAD, &n), 0);
	ck_assert_int_eq(n, 3);
	errno = 0;
	ck_assert_int_eq(ioctl(fds[0], TIOCGWINSZ, &got), -1);
	ck_assert_int_eq(errno, ENOTTY);
	errno = 0;
	ck_assert_int_eq(ioctl(fds[0], FIONREAD, bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(openpty(&m, &s, NULL, NULL, NULL), 0);
	ck_assert_int_eq(ioctl(s, TIOCSWINSZ, &ws), 0);
	ck_assert_int_eq(ioctl(m, TIOCGWINSZ, &got), 0);
	ck_assert_int_eq(got.ws_row, 33);
	ck_assert_int_eq(got.ws_col, 77);
	errno = 0;
	ck_assert_int_eq(ioctl(fds[0], 0x7fff4242UL, &n), -1);
	ck_assert_int_eq(errno, ENOTTY);
}
END_TEST

/* ---- O_NONBLOCK that weft keeps in the kernel ---------------------------- */

START_TEST(getfl_hides_weft_kernel_nonblocking)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int s[2];

	kern_nb_pair(s);
	ck_assert(kernel_fl(s[0]) & O_NONBLOCK);
	ck_assert_int_eq(fc(s[0], F_GETFL), kernel_fl(s[0]) & ~O_NONBLOCK);
	/* The program's own O_NONBLOCK shows. */
	ck_assert_int_eq(fc(s[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert(fc(s[0], F_GETFL) & O_NONBLOCK);
	ck_assert(entry(s[0]) & WEFT__FD_NB);
}
END_TEST

START_TEST(setfl_keeps_weft_kernel_nonblocking)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int s[2];

	kern_nb_pair(s);
	ck_assert_int_eq(fc(s[0], F_SETFL, O_ASYNC), 0);
	ck_assert_int_eq(kernel_fl(s[0]) & (O_NONBLOCK | O_ASYNC),
			 O_NONBLOCK | O_ASYNC);
	ck_assert_int_eq(fc(s[0], F_GETFL) & (O_NONBLOCK | O_ASYNC), O_ASYNC);
	ck_assert(!(entry(s[0]) & WEFT__FD_NB));
	ck_assert(entry(s[0]) & WEFT__FD_KERN_NB);
	/* On, then off again: the kernel keeps it all along. */
	ck_assert_int_eq(fc(s[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert(entry(s[0]) & WEFT__FD_NB);
	read_gives_EAGAIN_at_once(s[0]);
	ck_assert_int_eq(fc(s[0], F_SETFL, 0), 0);
	ck_assert(kernel_fl(s[0]) & O_NONBLOCK);
	ck_assert(!(fc(s[0], F_GETFL) & O_NONBLOCK));
	ck_assert(!(entry(s[0]) & WEFT__FD_NB));
	read_parks(s[0], s[1]);
}
END_TEST

START_TEST(fionbio_keeps_weft_kernel_nonblocking)
{
	int s[2], on = 1, off = 0;

	kern_nb_pair(s);
	ck_assert_int_eq(ioctl(s[0], FIONBIO, &off), 0);
	ck_assert(kernel_fl(s[0]) & O_NONBLOCK);
	ck_assert(!(fcntl(s[0], F_GETFL) & O_NONBLOCK));
	ck_assert_int_eq(ioctl(s[0], FIONBIO, &on), 0);
	ck_assert(fcntl(s[0], F_GETFL) & O_NONBLOCK);
	read_gives_EAGAIN_at_once(s[0]);
	ck_assert_int_eq(ioctl(s[0], FIONBIO, &off), 0);
	ck_assert(kernel_fl(s[0]) & O_NONBLOCK);
	ck_assert(!(fcntl(s[0], F_GETFL) & O_NONBLOCK));
	read_parks(s[0], s[1]);
	/* A bad pointer: EFAULT, and nothing changes. */
	errno = 0;
	ck_assert_int_eq(ioctl(s[0], FIONBIO, bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert(kernel_fl(s[0]) & O_NONBLOCK);
	ck_assert(!(entry(s[0]) & WEFT__FD_NB));
}
END_TEST

/* ---- F_DUPFD and F_DUPFD_CLOEXEC ---------------------------------------- */

START_TEST(dupfd_gives_the_lowest_free_fd_at_or_above_the_argument)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i % 2];
	int cmd = _i / 2 ? F_DUPFD_CLOEXEC : F_DUPFD;
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_ptr_nonnull(weft_self());
	ck_assert_int_eq(fc(fds[0], cmd, 60), 60);
	ck_assert_int_eq(fc(fds[0], cmd, 60), 61);
	int d = fc(fds[0], cmd, 0);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(!!(fc(60, F_GETFD) & FD_CLOEXEC), cmd == F_DUPFD_CLOEXEC);
	ck_assert_int_eq(!!(fc(d, F_GETFD) & FD_CLOEXEC), cmd == F_DUPFD_CLOEXEC);
	/* The copy waits like the original. */
	read_parks(60, fds[1]);
}
END_TEST

START_TEST(dupfd_keeps_cloexec_as_the_kernel_decides)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	/* F_DUPFD never copies FD_CLOEXEC; F_DUPFD_CLOEXEC always sets it. */
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	int a = fc(fds[0], F_DUPFD, 0), b = fc(fds[0], F_DUPFD_CLOEXEC, 0);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert_int_eq(fc(a, F_GETFD), (int)syscall(SYS_fcntl, a, F_GETFD));
	ck_assert_int_eq(fc(a, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(fc(b, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}
END_TEST

START_TEST(dupfd_copies_the_programs_view)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i % 2];
	int cmd = _i / 2 ? F_DUPFD_CLOEXEC : F_DUPFD;
	int fds[2], s[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fc(fds[0], F_SETFL, O_NONBLOCK), 0);
	int d = fc(fds[0], cmd, 0);
	ck_assert_int_ge(d, 0);
	ck_assert(entry(d) & WEFT__FD_NB);
	read_gives_EAGAIN_at_once(d);
	/* weft's kernel O_NONBLOCK stays hidden in the copy. */
	kern_nb_pair(s);
	d = fc(s[0], cmd, 0);
	ck_assert_int_ge(d, 0);
	ck_assert(entry(d) & WEFT__FD_KERN_NB);
	ck_assert(!(fc(d, F_GETFL) & O_NONBLOCK));
	read_parks(d, s[1]);
}
END_TEST

START_TEST(dupfd_with_bad_arguments_fails_with_EINVAL_or_EBADF)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];
	struct rlimit rl;

	TL_SKIP_UNDER_VALGRIND("it keeps RLIMIT_NOFILE its own way: F_DUPFD"
			       " at the limit gives EMFILE, not EINVAL");
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_ptr_nonnull(weft_self());
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	errno = 0;
	ck_assert_int_eq(fc(fds[0], F_DUPFD, -1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(fc(fds[0], F_DUPFD_CLOEXEC, (int)rl.rlim_cur), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(fc(-1, F_DUPFD, 0), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ---- everything else passes through ------------------------------------- */

START_TEST(bad_fd_fails_with_EBADF)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	ck_assert_ptr_nonnull(weft_self());
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(close(fds[0]), 0);
	int cmds[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD, F_DUPFD,
		       F_DUPFD_CLOEXEC, F_GETOWN };
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		errno = 0;
		ck_assert_int_eq(fc(-1, cmds[i], 0), -1);
		ck_assert_int_eq(errno, EBADF);
		errno = 0;
		ck_assert_int_eq(fc(fds[0], cmds[i], 0), -1);
		ck_assert_int_eq(errno, EBADF);
		errno = 0;
		ck_assert_int_eq(fc(1 << 30, cmds[i], 0), -1);
		ck_assert_int_eq(errno, EBADF);
	}
}
END_TEST

START_TEST(bad_command_fails_with_EINVAL)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_ptr_nonnull(weft_self());
	errno = 0;
	ck_assert_int_eq(fc(fds[0], bad_cmd, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(fc(fds[0], -1, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(int_and_pointer_commands_pass_through)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];
	struct f_owner_ex own = { 0 };

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_ptr_nonnull(weft_self());
	ck_assert_int_eq(fc(fds[0], F_SETFD, FD_CLOEXEC), 0);
	ck_assert_int_eq(fc(fds[0], F_GETFD), FD_CLOEXEC);
	ck_assert_int_eq(fc(fds[0], F_SETPIPE_SZ, 65536 * 2), 65536 * 2);
	ck_assert_int_eq(fc(fds[0], F_GETPIPE_SZ), 65536 * 2);
	ck_assert_int_eq(fc(fds[0], F_SETOWN, getpid()), 0);
	ck_assert_int_eq(fc(fds[0], F_GETOWN), getpid());
	ck_assert_int_eq(fc(fds[0], F_GETOWN_EX, &own), 0);
	ck_assert_int_eq(own.type, F_OWNER_PID);
	ck_assert_int_eq(own.pid, getpid());
	errno = 0;
	ck_assert_int_eq(fc(fds[0], F_GETOWN_EX, bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(fc(fds[0], F_SETSIG, SIGUSR1), 0);
	ck_assert_int_eq(fc(fds[0], F_GETSIG), SIGUSR1);
}
END_TEST

/* A record lock held by a child: F_GETLK sees it; F_SETLK fails with
 * EAGAIN; F_SETLKW waits until the child lets go. */
START_TEST(record_locks_pass_their_struct_through)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	char path[] = "/tmp/weft-lock-XXXXXX";
	int fd, go[2], status;

	TL_SKIP_UNDER_VALGRIND("the child holds its lock 20 ms, less than"
			       " valgrind takes to let the parent look");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pipe(go), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				   .l_start = 10, .l_len = 5 };
		int c = open(path, O_RDWR);
		if (c < 0 || syscall(SYS_fcntl, c, F_SETLK, &l) < 0)
			_exit(1);
		syscall(SYS_write, go[1], "k", 1);
		nanosleep(&(struct timespec){ 0, 20 * MS }, NULL);
		syscall(SYS_write, go[1], "u", 1);
		_exit(0); /* lets go of the lock */
	}
	char c;
	ck_assert_int_eq(read(go[0], &c, 1), 1);
	unlink(path);
	ck_assert_ptr_nonnull(weft_self());
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			   .l_start = 0, .l_len = 100 };
	ck_assert_int_eq(fc(fd, F_GETLK, &l), 0);
	ck_assert_int_eq(l.l_type, F_WRLCK);
	ck_assert_int_eq(l.l_pid, pid);
	ck_assert_int_eq(l.l_start, 10);
	ck_assert_int_eq(l.l_len, 5);
	l = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 12, .l_len = 1 };
	errno = 0;
	ck_assert_int_eq(fc(fd, F_SETLK, &l), -1);
	ck_assert(errno == EAGAIN || errno == EACCES);
	errno = 0;
	ck_assert_int_eq(fc(fd, F_GETLK, bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(fc(fd, F_SETLKW, &l), 0);
	/* The child said "u" before letting go: it must be there. */
	ck_assert_int_eq(fcntl(go[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(read(go[0], &c, 1), 1);
	ck_assert_int_eq(c, 'u');
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Ours now: another F_GETLK from this process sees no conflict. */
	l = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 100 };
	ck_assert_int_eq(fc(fd, F_GETLK, &l), 0);
	ck_assert_int_eq(l.l_type, F_UNLCK);
}
END_TEST

START_TEST(open_file_description_locks_pass_their_struct_through)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	char path[] = "/tmp/weft-ofd-XXXXXX";
	int a = mkstemp(path);

	ck_assert_int_ge(a, 0);
	int b = open(path, O_RDWR);
	ck_assert_int_ge(b, 0);
	unlink(path);
	ck_assert_ptr_nonnull(weft_self());
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			   .l_start = 0, .l_len = 10 };
	ck_assert_int_eq(fc(a, F_OFD_SETLK, &l), 0);
	l = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = 5, .l_len = 1 };
	ck_assert_int_eq(fc(b, F_OFD_GETLK, &l), 0);
	ck_assert_int_eq(l.l_type, F_WRLCK);
	ck_assert_int_eq(l.l_pid, -1);
	l = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = 5, .l_len = 1 };
	errno = 0;
	ck_assert_int_eq(fc(b, F_OFD_SETLK, &l), -1);
	ck_assert_int_eq(errno, EAGAIN);
	/* Released, the waiting form gets it at once. */
	l = (struct flock){ .l_type = F_UNLCK, .l_whence = SEEK_SET };
	ck_assert_int_eq(fc(a, F_OFD_SETLK, &l), 0);
	l = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = 5, .l_len = 1 };
	ck_assert_int_eq(fc(b, F_OFD_SETLKW, &l), 0);
	errno = 0;
	l.l_pid = 1; /* must be 0 for OFD locks */
	ck_assert_int_eq(fc(b, F_OFD_SETLKW, &l), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(fcntl_outside_a_coroutine_passes_through)
{
	int (*fc)(int, int, ...) = fcntl_fns[_i];
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fc(fds[0], F_GETFL), kernel_fl(fds[0]));
	ck_assert_int_eq(fc(fds[0], F_SETFD, FD_CLOEXEC), 0);
	ck_assert_int_eq(fc(fds[0], F_GETFD), FD_CLOEXEC);
	ck_assert_int_eq(fc(fds[0], F_DUPFD, 50), 50);
	errno = 0;
	ck_assert_int_eq(fc(-1, F_GETFL), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_ptr_null(weft__running);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

struct rec {
	int line;
	long ret;
	int err;
};

struct record {
	int n;
	struct rec r[64];
};

static void note_at(struct record *rc, int line, long ret, int err)
{
	if (rc->n < (int)(sizeof rc->r / sizeof rc->r[0]))
		rc->r[rc->n++] = (struct rec){ line, ret, ret < 0 ? err : 0 };
}

#define NOTE(rc, ret)                                                         \
	do {                                                                  \
		errno = 0;                                                    \
		long ret_ = (long)(ret);                                      \
		note_at(rc, __LINE__, ret_, errno);                           \
	} while (0)

/* The same steps with libc alone (weft false) or with coroutines. */
static void fcntl_script(void *rec, int which, bool weft)
{
	struct record *rc = rec;
	int (*fc)(int, int, ...) = fcntl_fns[which];
	int fds[2], on = 1, off = 0, n = 0;
	char c;
	struct peer p = { .delay = 5 * MS };

	NOTE(rc, pipe(fds));
	p.fd = fds[1];
	NOTE(rc, fc(fds[0], F_GETFL));
	NOTE(rc, fc(fds[0], F_SETFL, O_NONBLOCK));
	NOTE(rc, fc(fds[0], F_GETFL));
	NOTE(rc, read(fds[0], &c, 1));
	NOTE(rc, fc(fds[0], F_SETFL, 0));
	NOTE(rc, peer_start(&p, !weft));
	NOTE(rc, read(fds[0], &c, 1));
	NOTE(rc, p.at > 0 && p.at < tl_next_step());
	peer_join(&p);
	NOTE(rc, ioctl(fds[0], FIONBIO, &on));
	NOTE(rc, fc(fds[0], F_GETFL));
	NOTE(rc, read(fds[0], &c, 1));
	NOTE(rc, ioctl(fds[0], FIONBIO, &off));
	NOTE(rc, ioctl(fds[0], FIONBIO, bad_ptr));
	NOTE(rc, fc(fds[0], F_GETFL));
	NOTE(rc, peer_start(&p, !weft));
	NOTE(rc, read(fds[0], &c, 1));
	peer_join(&p);
	NOTE(rc, fc(fds[0], F_DUPFD, 70));
	NOTE(rc, fc(fds[0], F_DUPFD_CLOEXEC, 70));
	NOTE(rc, fc(71, F_GETFD));
	NOTE(rc, fc(70, F_GETFL));
	NOTE(rc, fc(fds[0], F_DUPFD, -1));
	NOTE(rc, fc(-1, F_GETFL));
	NOTE(rc, fc(fds[0], bad_cmd));
	NOTE(rc, fc(fds[0], F_SETPIPE_SZ, 4096 * 32));
	NOTE(rc, fc(fds[0], F_GETPIPE_SZ));
	NOTE(rc, write(fds[1], "abc", 3));
	NOTE(rc, ioctl(fds[0], FIONREAD, &n));
	NOTE(rc, n);
	NOTE(rc, ioctl(fds[0], TIOCGWINSZ, &n));
	NOTE(rc, fc(fds[0], F_GETLK, bad_ptr));
	NOTE(rc, close(70));
	NOTE(rc, close(71));
	NOTE(rc, fc(70, F_GETFL));
}

START_TEST(fcntl_and_ioctl_give_what_libc_gives)
{
	struct record plain, woven;

	tl_run_script(fcntl_script, _i, false, &plain, sizeof plain);
	tl_run_script(fcntl_script, _i, true, &woven, sizeof woven);
	ck_assert_int_gt(plain.n, 0);
	for (int i = 0; i < plain.n || i < woven.n; i++) {
		struct rec *p = &plain.r[i], *w = &woven.r[i];
		ck_assert_msg(memcmp(p, w, sizeof *p) == 0,
			      "%s: step %d (line %d/%d): libc gave %ld "
			      "(errno %d), weft %ld (errno %d)",
			      fcntl_name[_i], i, p->line, w->line, p->ret,
			      p->err, w->ret, w->err);
	}
	ck_assert_int_eq(plain.n, woven.n);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_fcntl(void)
{
	Suite *s = suite_create("hook_fcntl");
	TCase *tc;

	tc = tcase_create("flags");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, setfl_and_getfl_round_trip, 0, 8);
	tcase_add_loop_test(tc,
			    setfl_nonblocking_makes_reads_fail_with_EAGAIN_at_once,
			    0, 2);
	tcase_add_loop_test(tc, setfl_on_an_fd_weft_never_saw_takes_effect, 0,
			    2);
	tcase_add_loop_test(tc, setfl_outside_a_coroutine_sets_the_programs_view,
			    0, 2);
	tcase_add_loop_test(tc, setfl_reads_its_argument_as_an_int, 0, 2);
	tcase_add_loop_test(tc, failed_setfl_leaves_the_view_alone, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("ioctl");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, fionbio_sets_the_programs_view);
	tcase_add_loop_test(tc,
			    fionbio_with_a_bad_pointer_or_fd_fails_as_libc_does,
			    0, 2);
	tcase_add_loop_test(tc, other_ioctls_pass_through, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("kernel_nonblocking");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, getfl_hides_weft_kernel_nonblocking, 0, 2);
	tcase_add_loop_test(tc, setfl_keeps_weft_kernel_nonblocking, 0, 2);
	tcase_add_test(tc, fionbio_keeps_weft_kernel_nonblocking);
	suite_add_tcase(s, tc);

	tc = tcase_create("dupfd");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
			    dupfd_gives_the_lowest_free_fd_at_or_above_the_argument,
			    0, 4);
	tcase_add_loop_test(tc, dupfd_keeps_cloexec_as_the_kernel_decides, 0,
			    2);
	tcase_add_loop_test(tc, dupfd_copies_the_programs_view, 0, 4);
	tcase_add_loop_test(tc,
			    dupfd_with_bad_arguments_fails_with_EINVAL_or_EBADF,
			    0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("pass_through");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, bad_fd_fails_with_EBADF, 0, 2);
	tcase_add_loop_test(tc, bad_command_fails_with_EINVAL, 0, 2);
	tcase_add_loop_test(tc, int_and_pointer_commands_pass_through, 0, 2);
	tcase_add_loop_test(tc, record_locks_pass_their_struct_through, 0, 2);
	tcase_add_loop_test(tc,
			    open_file_description_locks_pass_their_struct_through,
			    0, 2);
	tcase_add_loop_test(tc, fcntl_outside_a_coroutine_passes_through, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, fcntl_and_ioctl_give_what_libc_gives, 0, 2);
	suite_add_tcase(s, tc);

	return s;
}
