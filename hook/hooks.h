/* hooks.h - wrapper logic one call family needs from another. */
#ifndef WEFT_HOOKS_H
#define WEFT_HOOKS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct weft__co;
struct weft__waiter;

/* close as its wrapper makes it (close.c): the coroutines waiting on fd
 * wake with EBADF first.  Returns what close returns, with its errno. */
int weft__close(int fd);

/* fcntl's F_SETLKW and F_OFD_SETLKW (lock is a struct flock *): waits for
 * the lock without holding up other coroutines (flock.c).  Returns what
 * fcntl returns, with the same errno. */
int weft__fcntl_lock(int fd, int cmd, void *lock);

/* Parks co on w[0..n) until check(arg), the real call with a zero
 * time-out, returns non-zero (returned, with its errno), or the deadline
 * passes (0 is returned); the first `droppable` nodes are re-checked every
 * 10 ms and dropped when they wake it for nothing (poll.c).  -1/ENOMEM if
 * the wait cannot be set up.  A cancellation point's wait: -1/ECANCELED
 * when a cancel ends it, on which the caller releases what it holds and
 * calls weft__cancel_act (core/cancel.h); the caller checks for a cancel
 * already due on entry (weft__cancel_point). */
int weft__poll_park(struct weft__co *co, struct weft__waiter *w, int n,
		    int droppable, int64_t deadline, int (*check)(void *),
		    void *arg);

/* ppoll, pselect, epoll_pwait and sigsuspend in a program thread while
 * weft routes signals (core/sigs.h): the call's mask is the thread's own
 * for its length, so that what it lets through reaches the thread, and
 * the call itself goes on without one.  A signal pending that it lets
 * through is handled as the mask is set, as the kernel does (ran then).
 * weft__sigmask_swap returns false, changing nothing, for any other
 * caller; weft__sigmask_back gives the thread its mask back, keeping
 * errno (sigwait.c). */
struct weft__sigswap {
	sigset_t saved;
	unsigned calls;          /* the thread's handler count before */
	bool ran;                /* a handler ran as the mask was set */
};
bool weft__sigmask_swap(struct weft__co *co, const sigset_t *mask,
			struct weft__sigswap *sw);
void weft__sigmask_back(struct weft__co *co, struct weft__sigswap *sw);

/* A signalfd for the signals mask lets through that the thread's mask
 * holds pending, or -1 (sigwait.c); keeps errno. */
int weft__sigmask_fd(const sigset_t *mask);

/* Forgets fd's watcher and closes it (nothing if fd < 0); keeps errno
 * (sigwait.c). */
void weft__sigfd_close(int fd);

/* Whether the kernel accepts *ts as a time-out (readable, valid); if so
 * *ns gets it, saturated (sleep.c).  Keeps errno. */
bool weft__timespec_ns(const struct timespec *ts, int64_t *ns);

/* readv (off -1) or preadv on fd that, if fd is a regular file and
 * another coroutine could run, sends a read the page cache cannot answer
 * to the offload pool (file.c); same results and errno as the real call.
 * n must be within [1, IOV_MAX] for a preadv. */
ssize_t weft__file_readv(int fd, const struct iovec *iov, int n, off_t off);

/* read (off -1) or pread, as weft__file_readv (file.c). */
ssize_t weft__file_read(int fd, void *buf, size_t n, off_t off);

/* read and write that park instead of blocking (read.c, write.c); same
 * results and errno as the real calls. */
ssize_t weft__read(int fd, void *buf, size_t n);
ssize_t weft__write(int fd, const void *buf, size_t n);

/* waitpid that parks instead of blocking (waitpid.c); same results and
 * errno as waitpid. */
pid_t weft__waitpid(pid_t pid, int *status, int options);

#endif
