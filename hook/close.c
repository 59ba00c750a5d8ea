/* close.c - close, close_range, closefrom, dup, dup2, dup3.
 *
 * Closing an fd (or dup2-ing another onto it) wakes every coroutine
 * waiting on it with EBADF: a thread blocked in the kernel on a file no
 * one can reach would stay blocked for ever; weft does better.  The fd's
 * entry in the fd table is cleared whatever thread or context closes it.
 *
 * weft's own fds (core/ownfd.h) are numbers the program never opened:
 * closing one gives EBADF and leaves it open, close_range passes over
 * them, they cannot be duplicated, and dup2 or dup3 onto one, or a dup
 * that would natively have got its number, first has weft move its file
 * elsewhere.
 */
#include <fcntl.h>
#include <unistd.h>

#include "io.h"
#include "ownfd.h"

/* Wakes fd's waiters and forgets what weft knew of it. */
static void gone(int fd)
{
	weft__fd_gone(fd, EBADF);
	weft__fd_forget(fd);
}

/* For close_range: forgets fd if it lies in the range arg points to.
 * Walking only the entries weft has keeps close_range(3, ~0U) cheap. */
static void forget_in_range(int fd, struct weft__fd *f, void *arg)
{
	const unsigned *range = arg;

	(void)f;
	if ((unsigned)fd >= range[0] && (unsigned)fd <= range[1] &&
	    !weft__ownfd_in_range(fd, range[0], range[1]))
		gone(fd);
}

/* EBADF, as for a number the program never opened. */
static int not_open(void)
{
	errno = EBADF;
	return -1;
}

/* close: wakes waiters with EBADF, then closes; same result and errno.
 * One of weft's own fds stays open (EBADF), unless weft closes it. */
int weft__close(int fd)
{
	if (weft__ownfd_is_held(fd))
		return not_open();
	gone(fd);
	int r = weft__libc()->close(fd);
	if (weft__unlikely(fd >= atomic_load_explicit(&weft__ownfd_low,
						      memory_order_relaxed)))
		weft__ownfd_forget(fd); /* libev closing its loop's fd */
	return r;
}

/* close_range: as close for each fd in [first, last] that is closed;
 * weft's own fds stay open. */
int weft__close_range(unsigned first, unsigned last, int flags)
{
	int r = weft__ownfd_close_range(first, last, flags,
					weft__libc()->close_range);

	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		weft__fd_each(forget_in_range, (unsigned[2]){ first, last });
	return r;
}

/* closefrom: as close_range(lowfd, ~0U, 0), which glibc's calls inside
 * libc, out of weft's reach.  Where close_range fails (no such system
 * call), each number up to the fd limit is closed, as glibc's fallback
 * closes each of /proc/self/fd. */
void weft__closefrom(int lowfd)
{
	unsigned from = lowfd > 0 ? (unsigned)lowfd : 0;
	int saved = errno;

	if (weft__close_range(from, ~0U, 0) != 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = from; fd < max; fd++)
			weft__close((int)fd);
	}
	errno = saved;
}

/* dup: the new fd shares the old one's file, and weft's view of it. */
int weft__dup(int fd)
{
	if (weft__ownfd_is_held(fd))
		return not_open();
	int r = weft__ownfd_native_dup(weft__libc()->dup(fd), fd, 0, 0);

	if (r >= 0) {
		weft__fd_gone(r, EBADF);
		weft__fd_copy(fd, r);
	}
	return r;
}

/* dup3 (and dup2, flags 0): newfd is closed first if open, which wakes
 * its waiters.  If newfd is weft's, weft moves its file off it, once the
 * call is sure to succeed, and it then succeeds as natively. */
static int dup_onto(int oldfd, int newfd, int flags, bool is_dup3)
{
	const struct weft__real *libc = weft__libc();
	bool vacated = false;

	if (weft__ownfd_is_held(oldfd)) {
		errno = is_dup3 && (oldfd == newfd || (flags & ~O_CLOEXEC)) ?
			EINVAL : EBADF; /* the kernel's order of checks */
		return -1;
	}
	if (weft__ownfd_is_held(newfd)) {
		if (is_dup3 && (flags & ~O_CLOEXEC)) {
			errno = EINVAL;
			return -1;
		}
		if (libc->fcntl(oldfd, F_GETFD) < 0 ||
		    weft__ownfd_vacate(newfd) < 0)
			return -1;
		vacated = true;
	}
	int r = is_dup3 ? libc->dup3(oldfd, newfd, flags)
			: libc->dup2(oldfd, newfd);

	if (weft__unlikely(r < 0 && vacated)) {
		int saved = errno;
		libc->close(newfd); /* weft's old file, let go of */
		errno = saved;
	}
	if (r >= 0 && oldfd != newfd) {
		weft__fd_gone(newfd, EBADF);
		weft__fd_copy(oldfd, newfd);
	}
	return r;
}

WEFT_EXPORT int close(int fd)
{
	return weft__close(fd);
}

WEFT_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	return weft__close_range(first, last, flags);
}

WEFT_EXPORT void closefrom(int lowfd)
{
	weft__closefrom(lowfd);
}

WEFT_EXPORT int dup(int fd)
{
	return weft__dup(fd);
}

WEFT_EXPORT int dup2(int oldfd, int newfd)
{
	return dup_onto(oldfd, newfd, 0, false);
}

WEFT_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_onto(oldfd, newfd, flags, true);
}
