/* fdnew.c - the special fds: eventfd, timerfd_create, signalfd,
 * epoll_create and epoll_create1.
 *
 * None of them needs anything from weft at creation but a record in the
 * fd table: reads on them go through read.c, where RWF_NOWAIT (or a poll
 * first) keeps the attempt from blocking.  Each creator's *_NONBLOCK flag
 * is O_NONBLOCK, so the program's view is read from it directly.
 *
 * libev makes its loops' fds through these too (epoll_create1, eventfd):
 * those are weft's own, and go to the top of the fd range (core/ownfd.h)
 * instead of taking the program's lowest free numbers.
 */
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "io.h"
#include "ownfd.h"

_Static_assert(EFD_NONBLOCK == O_NONBLOCK && TFD_NONBLOCK == O_NONBLOCK &&
		       SFD_NONBLOCK == O_NONBLOCK,
	       "the creators' non-blocking flags are O_NONBLOCK");

/* Records fd (if the call made one: fd >= 0) and passes it on;
 * weft__fd_made also wakes whoever still waited on a file that had the
 * number, closed where weft could not see it.  An fd libev made for a
 * loop of weft's is moved to the top of the range first, and that number
 * is passed on.  errno is left as the call left it. */
static int made(int fd, int flags)
{
	unsigned nb = flags & O_NONBLOCK ? WEFT__FD_NB : 0;

	if (fd < 0)
		return fd;
	if (weft__unlikely(weft__ownfd_maker() != NULL)) {
		fd = weft__ownfd_loop(fd);
		weft__fd_made(fd, nb | WEFT__FD_PASS);
		return fd;
	}
	weft__fd_made(fd, nb);
	return fd;
}

/* eventfd, recording the new fd.  Returns what eventfd returns, with its
 * errno (EINVAL, EMFILE, ENFILE, ENODEV, ENOMEM). */
int weft__eventfd(unsigned count, int flags)
{
	return made(weft__libc()->eventfd(count, flags), flags);
}

/* timerfd_create, recording the new fd.  Returns what timerfd_create
 * returns, with its errno (EINVAL, EMFILE, ENFILE, ENODEV, ENOMEM,
 * EPERM). */
int weft__timerfd_create(int clock, int flags)
{
	return made(weft__libc()->timerfd_create(clock, flags), flags);
}

/* signalfd.  With fd -1 it makes a new fd, which is recorded.  Given an
 * existing signalfd it only replaces the signal mask: the kernel ignores
 * flags then (SFD_NONBLOCK does not change the file), so the entry, like
 * the file, stays as it was.  Returns what signalfd returns, with its
 * errno (EBADF, EINVAL, EMFILE, ENFILE, ENODEV, ENOMEM). */
int weft__signalfd(int fd, const sigset_t *mask, int flags)
{
	int r = weft__libc()->signalfd(fd, mask, flags);

	return fd == -1 ? made(r, flags) : r;
}

/* epoll_create, recording the new fd.  Returns what epoll_create returns,
 * with its errno (EINVAL, EMFILE, ENFILE, ENOMEM). */
int weft__epoll_create(int size)
{
	return made(weft__libc()->epoll_create(size), 0);
}

/* epoll_create1, recording the new fd; an epoll fd cannot be made
 * non-blocking at creation.  Returns what epoll_create1 returns, with its
 * errno (EINVAL, EMFILE, ENFILE, ENOMEM). */
int weft__epoll_create1(int flags)
{
	return made(weft__libc()->epoll_create1(flags), 0);
}

WEFT_EXPORT int eventfd(unsigned count, int flags)
{
	return weft__eventfd(count, flags);
}

WEFT_EXPORT int timerfd_create(int clock, int flags)
{
	return weft__timerfd_create(clock, flags);
}

WEFT_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	return weft__signalfd(fd, mask, flags);
}

WEFT_EXPORT int epoll_create(int size)
{
	return weft__epoll_create(size);
}

WEFT_EXPORT int epoll_create1(int flags)
{
	return weft__epoll_create1(flags);
}
