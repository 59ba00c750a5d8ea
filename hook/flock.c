/* flock.c - flock, and fcntl's waiting locks F_SETLKW and F_OFD_SETLKW.
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
 */
#include <fcntl.h>
#include <sys/file.h>

#include "hooks.h"
#include "io.h"
#include "offload.h"

/* One blocking call for the pool. */
struct job {
	bool fcntl; /* fcntl's waiting lock, else flock */
	int fd;
	int how;    /* fcntl's command, or flock's operation */
	void *lock; /* fcntl's struct flock */
	int r, err; /* the result, and errno */
};

static void run(void *p)
{
	struct job *j = p;
	const struct weft__real *libc = weft__libc();

	errno = j->err;
	j->r = j->fcntl ? libc->fcntl(j->fd, j->how, j->lock)
		       : libc->flock(j->fd, j->how);
	j->err = errno;
}

/* Makes j's call on the pool (here if the pool has no thread) with the
 * caller's errno saved.  Returns its result, errno as it left it. */
static int wait_lock(struct job *j, int saved)
{
	j->err = saved;
	if (weft__offload(run, j) < 0)
		run(j);
	errno = j->err;
	return j->r;
}

/* Whether a call that waits for a lock should park rather than block. */
static bool ours(void)
{
	struct weft__co *co = weft__hooked();

	return co != NULL && !weft__alone(co);
}

/* flock that parks while the lock is held elsewhere; same results and
 * errno. */
int weft__flock(int fd, int op)
{
	const struct weft__real *libc = weft__libc();

	if ((op & LOCK_NB) || !ours())
		return libc->flock(fd, op);
	int saved = errno;
	int r = libc->flock(fd, op | LOCK_NB);
	if (r == 0 || errno != EWOULDBLOCK)
		return r;
	struct job j = { .fd = fd, .how = op };
	return wait_lock(&j, saved);
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

	if (now < 0 || !ours())
		return libc->fcntl(fd, cmd, lock);
	int saved = errno;
	int r = libc->fcntl(fd, now, lock);
	/* POSIX lets a held lock be EACCES as well as EAGAIN. */
	if (r == 0 || (errno != EAGAIN && errno != EACCES))
		return r;
	struct job j = { .fcntl = true, .fd = fd, .how = cmd,
			 .lock = lock };
	return wait_lock(&j, saved);
}

WEFT_EXPORT int flock(int fd, int op)
{
	return weft__flock(fd, op);
}
