/* close.c - close, close_range, dup, dup2, dup3.
 *
 * Closing an fd (or dup2-ing another onto it) wakes every coroutine
 * waiting on it with EBADF: a thread blocked in the kernel on a file no
 * one can reach would stay blocked for ever; weft does better.  The fd's
 * entry in the fd table is cleared whatever thread or context closes it.
 */
#include <fcntl.h>
#include <unistd.h>

#include "io.h"

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
	if ((unsigned)fd >= range[0] && (unsigned)fd <= range[1])
		gone(fd);
}

/* close: wakes waiters with EBADF, then closes; same result and errno. */
int weft__close(int fd)
{
	gone(fd);
	return weft__libc()->close(fd);
}

/* close_range: as close for each fd in [first, last] that is closed. */
int weft__close_range(unsigned first, unsigned last, int flags)
{
	int r = weft__libc()->close_range(first, last, flags);

	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		weft__fd_each(forget_in_range, (unsigned[2]){ first, last });
	return r;
}

/* dup: the new fd shares the old one's file, and weft's view of it. */
int weft__dup(int fd)
{
	int r = weft__libc()->dup(fd);

	if (r >= 0) {
		weft__fd_gone(r, EBADF);
		weft__fd_copy(fd, r);
	}
	return r;
}

/* dup3 (and dup2, flags 0): newfd is closed first if open, which wakes
 * its waiters. */
static int dup_onto(int oldfd, int newfd, int flags, bool is_dup3)
{
	const struct weft__real *libc = weft__libc();
	int r = is_dup3 ? libc->dup3(oldfd, newfd, flags)
			: libc->dup2(oldfd, newfd);

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
