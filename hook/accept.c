/* accept.c - accept and accept4.
 *
 * Linux has no accept that fails instead of blocking other than on an
 * O_NONBLOCK socket.  A listening socket this process made itself (its
 * entry says WEFT__FD_OURS: no other process shares the open file) is
 * switched to O_NONBLOCK in the kernel once, for good, and marked
 * WEFT__FD_KERN_NB, which tells fcntl(F_GETFL) to hide the flag from the
 * program; accept then says EAGAIN instead of blocking and the coroutine
 * parks.  An inherited socket's flags are never touched, since another
 * process may share them: the wrapper waits until it is readable and only
 * then makes the real, blocking call (another process may still win the
 * connection; the call then blocks, as it would without weft).
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "io.h"

/* Whether fd is a listening socket.  accept on anything else fails at
 * once, so it needs no waiting, and its flags no change. */
static bool listening(int fd)
{
	int on = 0;
	socklen_t len = sizeof on;

	return weft__libc()->getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on,
					&len) == 0 && on;
}

/* Makes io's socket non-blocking in the kernel if it is ours alone and
 * listening. */
static void make_kern_nb(struct weft__io *io)
{
	const struct weft__real *libc = weft__libc();

	if ((io->flags & (WEFT__FD_OURS | WEFT__FD_KERN_NB)) !=
	    WEFT__FD_OURS || !listening(io->fd))
		return;
	int fl = libc->fcntl(io->fd, F_GETFL);
	if (fl < 0 || libc->fcntl(io->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return;
	weft__fd_set(io->f, WEFT__FD_KERN_NB, true);
	io->flags |= WEFT__FD_KERN_NB;
}

/* Polls fd without waiting; events present (or an error) count. */
static short poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return weft__libc()->poll(&p, 1, 0) > 0 ? p.revents : 0;
}

/* Whether the process has an fd number free.  The kernel takes the new
 * connection's number before it waits, so a blocking accept without one
 * fails at once (EMFILE) rather than when a client comes.  Returns false
 * with errno set if none is free. */
static bool fd_free(int fd)
{
	const struct weft__real *libc = weft__libc();
	int probe = libc->fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (probe < 0)
		return false;
	libc->close(probe);
	return true;
}

/* accept4 for a call that may park. */
static int accept_parked(struct weft__io *io, struct sockaddr *addr,
			 socklen_t *len, int flags)
{
	const struct weft__real *libc = weft__libc();
	int r;

	make_kern_nb(io);
	if (!(io->flags & WEFT__FD_KERN_NB)) {
		if (!poll_now(io->fd, POLLIN) && listening(io->fd)) {
			if (!fd_free(io->fd))
				return -1;
			do {
				if (weft__io_wait(io) < 0)
					return -1;
			} while (!poll_now(io->fd, POLLIN));
		}
		return libc->accept4(io->fd, addr, len, flags);
	}
	for (bool woke = false;; woke = true) {
		r = libc->accept4(io->fd, addr, len, flags);
		if (r >= 0 || errno != EAGAIN)
			return r;
		/* An AF_UNIX socket shut down for reading reports itself
		 * readable, yet a non-blocking accept says EAGAIN for ever
		 * where a blocking one says EINVAL. */
		if (woke && (poll_now(io->fd, POLLRDHUP) & POLLRDHUP)) {
			errno = EINVAL;
			return -1;
		}
		if (weft__io_wait(io) < 0)
			return -1;
	}
}

/* Records an accepted socket as this process's own, blocking unless
 * flags has SOCK_NONBLOCK (it does not inherit the listener's
 * O_NONBLOCK). */
static void made(int listener, int fd, int flags)
{
	struct weft__fd *l = weft__fd_peek(listener);
	unsigned stream = l ? weft__fd_flags(l) & WEFT__FD_STREAM : 0;

	weft__fd_made(fd, WEFT__FD_SOCKET | WEFT__FD_OURS | stream |
			  (flags & SOCK_NONBLOCK ? WEFT__FD_NB : 0));
}

/* accept4 that parks instead of blocking; same results and errno. */
int weft__accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct weft__io io;
	int r;

	if (!weft__io_start(&io, fd, WEFT_READ))
		r = weft__libc()->accept4(fd, addr, len, flags);
	else
		r = accept_parked(&io, addr, len, flags);
	if (r >= 0)
		made(fd, r, flags);
	return r;
}

/* accept that parks instead of blocking: accept4 without flags. */
int weft__accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct weft__io io;
	int r;

	if (!weft__io_start(&io, fd, WEFT_READ))
		r = weft__libc()->accept(fd, addr, len);
	else
		r = accept_parked(&io, addr, len, 0);
	if (r >= 0)
		made(fd, r, 0);
	return r;
}

WEFT_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return weft__accept(fd, addr, len);
}

WEFT_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len,
			int flags)
{
	return weft__accept4(fd, addr, len, flags);
}
