/* test_hook_flock.c - flock and fcntl's waiting locks: a coroutine
 * waiting for a lock held elsewhere parks while the others run. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "hooks.h"
#include "real.h"
#include "weft.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

/* A fresh empty file; its name is written to path. */
static int temp_file(char *path, size_t n)
{
	snprintf(path, n, "/tmp/weft-flock-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 100), 0);
	return fd;
}

static struct flock range(short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
			    .l_start = start, .l_len = len };
	return fl;
}

/* How a locker child locks. */
enum kind { FLOCK_EX, FLOCK_SH, POSIX_WR, POSIX_RD };

/* What locker() tells its child to do. */
struct lock_job {
	const char *path;
	enum kind kind;
	int ms;
};

/* A child's body (tl_fork_ready): takes the lock, closes ready, holds
 * it for ms; 1 if it could not take it. */
static int lock_child(void *arg, int ready)
{
	const struct lock_job *j = arg;
	int fd = open(j->path, O_RDWR);
	struct flock fl = range(j->kind == POSIX_WR ? F_WRLCK : F_RDLCK, 0, 0);
	int r = j->kind == FLOCK_EX ? flock(fd, LOCK_EX) :
		j->kind == FLOCK_SH ? flock(fd, LOCK_SH) :
		fcntl(fd, F_SETLK, &fl);

	if (r != 0)
		return 1;
	close(ready);
	tl_raw_sleep_ms(j->ms);
	return 0;
}

/* Forks a child that opens path afresh, takes a lock of the given kind,
 * says so by closing its end of a pipe, holds the lock for ms and exits.
 * Returns once the child holds the lock. */
static pid_t locker(const char *path, enum kind kind, int ms)
{
	struct lock_job j = { .path = path, .kind = kind, .ms = ms };

	return tl_fork_ready(lock_child, &j);
}

/* ---- flock --------------------------------------------------------------- */

START_TEST(flock_parks_until_another_process_unlocks)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	int64_t t0 = tl_mono_ns();
	pid_t pid = locker(path, FLOCK_EX, 200);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 200 * MS);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	tl_reaped_ok(pid);
	/* We hold it now: another description cannot take it. */
	int fd2 = open(path, O_RDWR);
	errno = 0;
	ck_assert_int_eq(flock(fd2, LOCK_EX | LOCK_NB), -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	unlink(path);
}
END_TEST

/* flock locks belong to open file descriptions: two opens of one file in
 * one process contend like two processes. */
static void unlock_later(void *p)
{
	int fd = *(int *)p;

	weft_sleep(100 * MS);
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
}

START_TEST(flock_parks_until_another_coroutine_unlocks)
{
	char path[64];
	int fd1 = temp_file(path, sizeof path);
	int fd2 = open(path, O_RDWR);
	struct tl_ticker t = { 0 };

	ck_assert_int_eq(flock(fd1, LOCK_EX), 0);
	weft_go(tl_tick_first, &t);
	weft_go(unlock_later, &fd1);
	ck_assert_int_eq(flock(fd2, LOCK_SH), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	unlink(path);
}
END_TEST

START_TEST(flock_that_is_free_takes_the_lock_at_once)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	weft_yield();
	pid_t pid = locker(path, FLOCK_SH, 500);
	int ticks = t.ticks;
	ck_assert_int_eq(flock(fd, LOCK_SH), 0); /* shared with the child */
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	ck_assert_int_eq(t.ticks, ticks);
	ck_assert_int_eq(tl_thread_count(), 1);
	t.stop = 1;
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

START_TEST(flock_LOCK_NB_on_a_held_lock_fails_with_EWOULDBLOCK)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = locker(path, FLOCK_EX, 300);
	errno = 0;
	ck_assert_int_eq(flock(fd, LOCK_SH | LOCK_NB), -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	ck_assert_int_eq(tl_thread_count(), 1);
	t.stop = 1;
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

START_TEST(flock_alone_blocks_the_thread_and_gets_the_lock)
{
	char path[64];
	int fd = temp_file(path, sizeof path);

	weft_self();
	int64_t t0 = tl_mono_ns();
	pid_t pid = locker(path, FLOCK_EX, 100);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 100 * MS);
	ck_assert_int_eq(tl_thread_count(), 1);
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

START_TEST(flock_outside_a_coroutine_passes_through)
{
	char path[64];
	int fd = temp_file(path, sizeof path);

	pid_t pid = locker(path, FLOCK_EX, 100);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_ptr_null(weft__running);
	ck_assert_int_eq(tl_thread_count(), 1);
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

START_TEST(flock_errors_are_libcs)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	errno = 0;
	ck_assert_int_eq(flock(-1, LOCK_EX), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(flock(12345, LOCK_EX), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(flock(fd, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(flock(fd, LOCK_SH | LOCK_EX), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(fd);
	errno = 0;
	ck_assert_int_eq(flock(fd, LOCK_EX), -1); /* closed */
	ck_assert_int_eq(errno, EBADF);
	t.stop = 1;
	unlink(path);
}
END_TEST

/* ---- fcntl --------------------------------------------------------------- */

START_TEST(fcntl_SETLKW_parks_until_another_process_unlocks)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct tl_ticker t = { 0 };
	struct flock fl = range(F_WRLCK, 10, 20);

	weft_go(tl_tick_first, &t);
	int64_t t0 = tl_mono_ns();
	pid_t pid = locker(path, POSIX_WR, 200);
	ck_assert_int_eq(fcntl(fd, F_SETLKW, &fl), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 200 * MS);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	tl_reaped_ok(pid);
	/* The lock is this process's, though a pool thread took it. */
	char c;
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		weft__sched_forget();
		struct flock probe = range(F_WRLCK, 0, 0);
		fcntl(open(path, O_RDWR), F_GETLK, &probe);
		c = probe.l_type == F_WRLCK && probe.l_pid == getppid();
		_exit(write(p[1], &c, 1) == 1 ? 0 : 1);
	}
	ck_assert_int_eq(weft__libc()->read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 1);
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

START_TEST(fcntl_SETLKW_for_a_read_lock_shares_with_readers_at_once)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct tl_ticker t = { 0 };
	struct flock fl = range(F_RDLCK, 0, 0);

	weft_go(tl_tick_first, &t);
	weft_yield();
	pid_t pid = locker(path, POSIX_RD, 300);
	int ticks = t.ticks;
	ck_assert_int_eq(fcntl(fd, F_SETLKW, &fl), 0);
	ck_assert_int_eq(t.ticks, ticks);
	ck_assert_int_eq(tl_thread_count(), 1);
	t.stop = 1;
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

/* OFD locks belong to open file descriptions, so coroutines of one
 * process contend through two opens. */
struct ofd_holder {
	int fd;
	int ms;
};

static void ofd_unlock_later(void *p)
{
	struct ofd_holder *h = p;
	struct flock fl = range(F_UNLCK, 0, 0);

	weft_sleep(h->ms * MS);
	ck_assert_int_eq(fcntl(h->fd, F_OFD_SETLK, &fl), 0);
}

START_TEST(fcntl_OFD_SETLKW_parks_until_another_description_unlocks)
{
	char path[64];
	int fd1 = temp_file(path, sizeof path);
	int fd2 = open(path, O_RDWR);
	struct tl_ticker t = { 0 };
	struct flock fl = range(F_WRLCK, 0, 0);
	struct ofd_holder h = { fd1, 150 };

	/* valgrind (3.19) keeps every thread stopped while one waits in
	 * F_OFD_SETLKW (it takes the call for one that cannot block), so
	 * the holder could never unlock. */
	if (RUNNING_ON_VALGRIND)
		return;
	ck_assert_int_eq(fcntl(fd1, F_OFD_SETLK, &fl), 0);
	weft_go(tl_tick_first, &t);
	weft_go(ofd_unlock_later, &h);
	int64_t t0 = tl_mono_ns();
	fl = range(F_RDLCK, 5, 5);
	ck_assert_int_eq(fcntl(fd2, F_OFD_SETLKW, &fl), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 150 * MS);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	unlink(path);
}
END_TEST

/* The kernel's deadlock detection sees the process waiting, though a pool
 * thread waits for it: one of two processes that each wait for the other's
 * lock learns EDEADLK. */
START_TEST(fcntl_SETLKW_deadlock_fails_with_EDEADLK)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct tl_ticker t = { 0 };
	struct flock a = range(F_WRLCK, 0, 10), b = range(F_WRLCK, 50, 10);
	int p[2];

	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(fcntl(fd, F_SETLK, &a), 0);
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		weft__sched_forget();
		int cfd = open(path, O_RDWR);
		if (fcntl(cfd, F_SETLK, &b) != 0)
			_exit(10);
		close(p[1]);
		int r = fcntl(cfd, F_SETLKW, &a);
		_exit(r == 0 ? 0 : errno == EDEADLK ? 1 : 11);
	}
	close(p[1]);
	char c;
	ck_assert_int_eq(weft__libc()->read(p[0], &c, 1), 0);
	weft_sleep(100 * MS); /* let the child start waiting for a */
	errno = 0;
	int r = fcntl(fd, F_SETLKW, &b);
	int err = errno;
	/* r is 0 if the child saw the deadlock first and gave up. */
	if (r != 0)
		ck_assert_int_eq(err, EDEADLK);
	struct flock un = range(F_UNLCK, 0, 0);
	ck_assert_int_eq(fcntl(fd, F_SETLK, &un), 0);
	int st;
	ck_assert_int_eq(weft__libc()->waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	/* Exactly one of the two got EDEADLK. */
	ck_assert_int_eq((r != 0) + (WEXITSTATUS(st) == 1), 1);
	t.stop = 1;
	unlink(path);
}
END_TEST

/* Closing the fd while a coroutine waits for a POSIX lock: the kernel
 * hands over the lock once free, sees the fd gone and says EBADF, as it
 * does to a thread. */
struct closer {
	int fd;
	int closed;
};

static void close_later(void *p)
{
	struct closer *c = p;

	weft_sleep(50 * MS);
	c->closed = close(c->fd) == 0;
}

START_TEST(fcntl_SETLKW_on_an_fd_closed_while_waiting_fails_with_EBADF)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct flock fl = range(F_WRLCK, 0, 0);
	struct closer c = { fd, 0 };

	/* Held long enough that the close comes first even under valgrind
	 * on a loaded machine (200 ms was not, once in CI's valgrind run). */
	pid_t pid = locker(path, POSIX_WR, RUNNING_ON_VALGRIND ? 3000 : 1000);
	weft_go(close_later, &c);
	errno = 0;
	ck_assert_int_eq(fcntl(fd, F_SETLKW, &fl), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(c.closed, 1);
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

START_TEST(fcntl_lock_errors_are_libcs)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	int rd = open(path, O_RDONLY);
	struct tl_ticker t = { 0 };
	struct flock fl = range(F_WRLCK, 0, 0);

	weft_go(tl_tick_first, &t);
	errno = 0;
	ck_assert_int_eq(fcntl(-1, F_SETLKW, &fl), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(fcntl(rd, F_SETLKW, &fl), -1); /* not writable */
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(fcntl(fd, F_SETLKW, (struct flock *)1), -1);
	ck_assert_int_eq(errno, EFAULT);
	fl.l_type = 99;
	errno = 0;
	ck_assert_int_eq(fcntl(fd, F_SETLKW, &fl), -1);
	ck_assert_int_eq(errno, EINVAL);
	fl = range(F_WRLCK, 0, 0);
	fl.l_whence = 42;
	errno = 0;
	ck_assert_int_eq(fcntl(fd, F_SETLKW, &fl), -1);
	ck_assert_int_eq(errno, EINVAL);
	fl = range(F_WRLCK, 0, 0);
	fl.l_pid = 1; /* OFD locks want l_pid 0 */
	errno = 0;
	ck_assert_int_eq(fcntl(fd, F_OFD_SETLKW, &fl), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(tl_thread_count(), 1);
	t.stop = 1;
	unlink(path);
}
END_TEST

START_TEST(fcntl_lock_alone_and_outside_a_coroutine_block_for_real)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct flock fl = range(F_WRLCK, 0, 0);

	pid_t pid = locker(path, POSIX_WR, 80);
	ck_assert_int_eq(weft__fcntl_lock(fd, F_SETLKW, &fl), 0);
	tl_reaped_ok(pid);
	fl.l_type = F_UNLCK;
	ck_assert_int_eq(fcntl(fd, F_SETLK, &fl), 0);
	weft_self();
	fl.l_type = F_WRLCK;
	pid = locker(path, POSIX_WR, 80);
	ck_assert_int_eq(fcntl(fd, F_SETLKW, &fl), 0);
	ck_assert_int_eq(tl_thread_count(), 1);
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

/* ---- lockf --------------------------------------------------------------- */

/* glibc's lockf waits in its own fcntl, which no wrapper sees: F_LOCK
 * must park as F_SETLKW does, on the range from the current offset. */
START_TEST(lockf_F_LOCK_parks_until_another_process_unlocks)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(lseek(fd, 10, SEEK_SET), 10);
	int64_t t0 = tl_mono_ns();
	pid_t pid = locker(path, POSIX_RD, 200);
	ck_assert_int_eq(lockf(fd, F_LOCK, 20), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 200 * MS);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	tl_reaped_ok(pid);
	/* Bytes 10 to 29 are this process's, and no others. */
	int p[2];
	char c;
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		weft__sched_forget();
		int other = open(path, O_RDWR);
		struct flock below = range(F_WRLCK, 0, 10);
		struct flock in = range(F_WRLCK, 10, 20);
		struct flock above = range(F_WRLCK, 30, 0);
		fcntl(other, F_GETLK, &below);
		fcntl(other, F_GETLK, &in);
		fcntl(other, F_GETLK, &above);
		c = below.l_type == F_UNLCK && in.l_type == F_WRLCK &&
		    in.l_pid == getppid() && above.l_type == F_UNLCK;
		_exit(write(p[1], &c, 1) == 1 ? 0 : 1);
	}
	ck_assert_int_eq(weft__libc()->read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 1);
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

START_TEST(lockf_errors_are_libcs)
{
	char path[64];
	int fd = temp_file(path, sizeof path);
	int rd = open(path, O_RDONLY);
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	errno = 0;
	ck_assert_int_eq(lockf(-1, F_LOCK, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(lockf(rd, F_LOCK, 0), -1); /* not writable */
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(lockf(fd, F_LOCK, -1), -1); /* before the start */
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(lockf(fd, 42, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(lockf64(-1, F_LOCK, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(tl_thread_count(), 1);
	t.stop = 1;
	unlink(path);
}
END_TEST

START_TEST(lockf_alone_and_outside_a_coroutine_block_for_real)
{
	char path[64];
	int fd = temp_file(path, sizeof path);

	pid_t pid = locker(path, POSIX_WR, 80);
	ck_assert_int_eq(lockf(fd, F_LOCK, 0), 0);
	tl_reaped_ok(pid);
	ck_assert_int_eq(lockf(fd, F_ULOCK, 0), 0);
	weft_self();
	pid = locker(path, POSIX_WR, 80);
	ck_assert_int_eq(lockf64(fd, F_LOCK, 0), 0);
	ck_assert_int_eq(tl_thread_count(), 1);
	tl_reaped_ok(pid);
	unlink(path);
}
END_TEST

/* ---- differential -------------------------------------------------------- */

struct rec {
	size_t n;
	long v[160];
};

static void put(struct rec *r, int rc)
{
	ck_assert_uint_lt(r->n + 1, sizeof r->v / sizeof r->v[0]);
	r->v[r->n++] = rc;
	r->v[r->n++] = rc < 0 ? errno : 0;
}

/* Locks taken, converted, refused and waited for. */
static void lock_sequence(struct rec *r)
{
	char path[64];
	int fd1 = temp_file(path, sizeof path);
	int fd2 = open(path, O_RDWR);
	int rd = open(path, O_RDONLY);
	struct flock fl;
	pid_t pid;
	int st;

	put(r, flock(fd1, LOCK_EX));
	put(r, flock(fd2, LOCK_EX | LOCK_NB));
	put(r, flock(fd1, LOCK_SH));
	put(r, flock(fd2, LOCK_SH));
	put(r, flock(fd1, LOCK_UN));
	put(r, flock(fd2, LOCK_UN));
	put(r, flock(-1, LOCK_EX));
	put(r, flock(fd1, 0));
	put(r, flock(fd1, LOCK_EX | LOCK_SH));

	fl = range(F_WRLCK, 0, 10);
	put(r, fcntl(fd1, F_SETLKW, &fl));
	fl = range(F_RDLCK, 0, 10);
	put(r, fcntl(fd2, F_SETLKW, &fl)); /* same process: converts */
	fl = range(F_WRLCK, 0, 0);
	put(r, fcntl(rd, F_SETLKW, &fl));
	put(r, fcntl(fd1, F_SETLKW, (struct flock *)1));
	fl.l_type = 99;
	put(r, fcntl(fd1, F_SETLKW, &fl));
	fl = range(F_UNLCK, 0, 0);
	put(r, fcntl(fd1, F_SETLKW, &fl));

	fl = range(F_WRLCK, 0, 10);
	put(r, fcntl(fd1, F_OFD_SETLKW, &fl));
	put(r, fcntl(fd2, F_OFD_SETLK, &fl));
	fl = range(F_UNLCK, 0, 0);
	put(r, fcntl(fd1, F_OFD_SETLKW, &fl));
	fl = range(F_RDLCK, 0, 10);
	put(r, fcntl(fd2, F_OFD_SETLKW, &fl));
	fl = range(F_UNLCK, 0, 0);
	put(r, fcntl(fd2, F_OFD_SETLKW, &fl));

	/* Waiting for another process. */
	pid = locker(path, FLOCK_EX, 80);
	put(r, flock(fd1, LOCK_SH));
	put(r, flock(fd1, LOCK_UN));
	put(r, weft__libc()->waitpid(pid, &st, 0) == pid ? st : -1);
	pid = locker(path, POSIX_RD, 80);
	fl = range(F_WRLCK, 0, 0);
	put(r, fcntl(fd2, F_SETLKW, &fl));
	put(r, weft__libc()->waitpid(pid, &st, 0) == pid ? st : -1);
	fl = range(F_UNLCK, 0, 0);
	put(r, fcntl(fd2, F_SETLK, &fl));

	/* lockf, from an offset. */
	put(r, (int)lseek(fd1, 5, SEEK_SET));
	put(r, lockf(fd1, F_TEST, 10));
	put(r, lockf(fd1, F_TLOCK, 10));
	put(r, lockf(fd1, F_LOCK, 10)); /* its own: at once */
	put(r, lockf(fd1, F_ULOCK, 10));
	put(r, lockf(rd, F_LOCK, 0));
	put(r, lockf(fd1, 42, 0));
	pid = locker(path, POSIX_RD, 80);
	put(r, lockf(fd1, F_TEST, 0));
	put(r, lockf(fd1, F_TLOCK, 0));
	put(r, lockf(fd1, F_LOCK, 0));
	put(r, weft__libc()->waitpid(pid, &st, 0) == pid ? st : -1);
	put(r, lockf64(fd1, F_ULOCK, 0));
	close(fd1);
	close(fd2);
	close(rd);
	unlink(path);
}

/* lock_sequence as a script for tl_run_script: with weft, a second
 * coroutine is alive so the parking paths are taken, and the run fails
 * (exit status 2) if no pool thread was used. */
static void lock_script(void *rec, int arg, bool weft)
{
	static struct tl_ticker t;

	(void)arg;
	if (weft)
		weft_go(tl_tick_first, &t);
	lock_sequence(rec);
	t.stop = 1;
	if (weft && tl_thread_count() == 1)
		_exit(2);
}

START_TEST(lock_calls_give_what_libc_gives)
{
	static struct rec plain, woven;

	tl_run_script(lock_script, 0, false, &plain, sizeof plain);
	tl_run_script(lock_script, 0, true, &woven, sizeof woven);
	ck_assert_uint_gt(plain.n, 0);
	ck_assert_uint_eq(plain.n, woven.n);
	for (size_t i = 0; i < plain.n; i++)
		ck_assert_msg(plain.v[i] == woven.v[i],
			      "record %zu: libc %ld, weft %ld", i,
			      plain.v[i], woven.v[i]);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_flock(void)
{
	Suite *s = suite_create("hook_flock");
	TCase *tc;

	tc = tcase_create("flock");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, flock_parks_until_another_process_unlocks);
	tcase_add_test(tc, flock_parks_until_another_coroutine_unlocks);
	tcase_add_test(tc, flock_that_is_free_takes_the_lock_at_once);
	tcase_add_test(tc, flock_LOCK_NB_on_a_held_lock_fails_with_EWOULDBLOCK);
	tcase_add_test(tc, flock_alone_blocks_the_thread_and_gets_the_lock);
	tcase_add_test(tc, flock_outside_a_coroutine_passes_through);
	tcase_add_test(tc, flock_errors_are_libcs);
	suite_add_tcase(s, tc);

	tc = tcase_create("fcntl");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, fcntl_SETLKW_parks_until_another_process_unlocks);
	tcase_add_test(tc,
		fcntl_SETLKW_for_a_read_lock_shares_with_readers_at_once);
	tcase_add_test(tc,
		fcntl_OFD_SETLKW_parks_until_another_description_unlocks);
	tcase_add_test(tc, fcntl_SETLKW_deadlock_fails_with_EDEADLK);
	tcase_add_test(tc,
		fcntl_SETLKW_on_an_fd_closed_while_waiting_fails_with_EBADF);
	tcase_add_test(tc, fcntl_lock_errors_are_libcs);
	tcase_add_test(tc,
		fcntl_lock_alone_and_outside_a_coroutine_block_for_real);
	suite_add_tcase(s, tc);

	tc = tcase_create("lockf");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, lockf_F_LOCK_parks_until_another_process_unlocks);
	tcase_add_test(tc, lockf_errors_are_libcs);
	tcase_add_test(tc, lockf_alone_and_outside_a_coroutine_block_for_real);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, lock_calls_give_what_libc_gives);
	suite_add_tcase(s, tc);

	return s;
}
