/* flock.c - flock, lockf, and fcntl's waiting locks F_SETLKW and
 * F_OFD_SETLKW.
 *
 * A lock held elsewhere has no fd readiness to wait for.  So a coroutine
 * that is not alone first asks without waiting (LOCK_NB, F_SETLK,
 * F_OFD_SETLK) and, if the lock is taken, hands the blocking call to the
 * offload pool.  A lock taken on a pool thread has the right owner: flock
 * and OFD locks belong to the open file description and POSIX record
 * locks to the process, whichever thread asks; and the kernel still sees
 * the process waiting, so its deadlock detection (EDEADLK) works as ever.
 * Converting a flock lock is no different: the kernel drops the old lock
 * before looking for conflicts, whether the request may wait or not.
 * A signal interrupts the wait as the kernel would, and a cancel too in
 * F_SETLKW and F_OFD_SETLKW, which glibc makes cancellation points, but
 * not in flock, which it does not (core/offload_intr.c).  glibc's lockf
 * waits in its own internal fcntl, which no wrapper sees: its F_LOCK is
 * made here, as the F_SETLKW it is.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cancel.h"
#include "hooks.h"
#include "io.h"
#include "offload.h"

/* flock that parks while the lock is held elsewhere; same results and
 * errno. */
int weft__flock(int fd, int op)
{
	const struct weft__real *libc = weft__libc();

	if ((op & LOCK_NB) || !weft__may_park())
		return libc->flock(fd, op);
	int saved = errno;
	int r = libc->flock(fd, op | LOCK_NB);
	if (r == 0 || errno != EWOULDBLOCK)
		return r;
	errno = saved;
	return (int)weft__offload_syscall(0, SYS_flock, fd, op, 0, 0, 0);
}

/* The command that asks for the same lock as cmd without waiting, or -1
 * if cmd is not a waiting lock. */
static int nowait_cmd(int cmd)
{
	switch (cmd) {
	case F_SETLKW:
		return F_SETLK;
#if F_SETLKW64 != F_SETLKW
	case F_SETLKW64:
		return F_SETLK64;
#endif
	case F_OFD_SETLKW:
		return F_OFD_SETLK;
	default:
		return -1;
	}
}

/* See hooks.h. */
int weft__fcntl_lock(int fd, int cmd, void *lock)
{
	const struct weft__real *libc = weft__libc();
	int now = nowait_cmd(cmd);

	if (now < 0 || !weft__may_park())
		return libc->fcntl(fd, cmd, lock);
	weft__cancel_point(weft__running); /* before the try, as glibc's */
	int saved = errno;
	int r = libc->fcntl(fd, now, lock);
	/* POSIX lets a held lock be EACCES as well as EAGAIN. */
	if (r == 0 || (errno != EAGAIN && errno != EACCES))
		return r;
	errno = saved;
	return (int)weft__offload_syscall(WEFT__SYS_CANCEL, SYS_fcntl, fd, cmd,
					  (long)lock, 0, 0);
}

/* lockf (off_t is 64 bits: lockf64 too): F_LOCK is a write lock from the
 * current offset for len bytes (0: to the end, and beyond) taken with
 * F_SETLKW, as glibc's lockf takes it; the rest does not wait and is
 * libc's.  Returns what lockf returns, with its errno. */
static int lockf_any(int fd, int cmd, off_t len, bool large)
{
	const struct weft__real *libc = weft__libc();

	if (cmd != F_LOCK)
		return large ? libc->lockf64(fd, cmd, len)
			     : libc->lockf(fd, cmd, len);
	struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_CUR,
			      .l_len = len };
	return weft__fcntl_lock(fd, F_SETLKW, &lock);
}

WEFT_EXPORT int flock(int fd, int op)
{
	return weft__flock(fd, op);
}

WEFT_EXPORT int lockf(int fd, int cmd, off_t len)
{
	return lockf_any(fd, cmd, len, false);
}

WEFT_EXPORT int lockf64(int fd, int cmd, off_t len)
{
	return lockf_any(fd, cmd, len, true);
}
