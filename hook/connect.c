/* connect.c - connect.
 *
 * Only O_NONBLOCK keeps connect from blocking.  On a socket this process
 * made (WEFT__FD_OURS: no other process shares the open file), the
 * wrapper sets O_NONBLOCK for the length of the call, marking the entry
 * WEFT__FD_KERN_NB meanwhile so that fcntl(F_GETFL) hides it, and parks
 * while the connection is under way.  Then it calls connect again, which
 * answers as the blocking call would have: 0, or the error the connection
 * met, with the socket left in the same state.  An inherited socket's
 * flags are never touched: the real, blocking call is made.
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "io.h"

/* connect on a socket that is non-blocking in the kernel, made to behave
 * as a blocking connect.  The first call says EINPROGRESS for a
 * connection it started, EALREADY for one already under way, and on
 * AF_UNIX EAGAIN while the listener's backlog is full.  A TCP socket
 * becomes writable when its connection is made or fails; an AF_UNIX one
 * is writable all along, so a full backlog is waited out with growing
 * naps.  When the socket's SO_SNDTIMEO runs out, a blocking connect
 * returns the first call's error, and so does this. */
static int connect_nb(struct weft__io *io, const struct sockaddr *addr,
		      socklen_t len)
{
	const struct weft__real *libc = weft__libc();
	int r = libc->connect(io->fd, addr, len);

	if (r == 0 ||
	    (errno != EINPROGRESS && errno != EALREADY && errno != EAGAIN))
		return r;
	int first = errno;
	for (int naps = 0;; naps++) {
		int64_t nap = (int64_t)1000000 << (naps < 5 ? naps : 5);
		r = first == EAGAIN ? weft__io_nap(io, nap) : weft__io_wait(io);
		if (r < 0) {
			if (errno == EAGAIN)
				errno = first;
			return -1;
		}
		/* Closed while a wake-up was on its way: the number may be
		 * another file's now (its entry lost the flag set for us). */
		if (!(weft__fd_flags(io->f) & WEFT__FD_KERN_NB)) {
			errno = EBADF;
			return -1;
		}
		r = libc->connect(io->fd, addr, len);
		if (r == 0 || (errno != EALREADY && errno != EAGAIN))
			return r;
	}
}

/* connect that parks instead of blocking; same results and errno. */
int weft__connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	const struct weft__real *libc = weft__libc();
	struct weft__io io;

	if (!weft__io_start(&io, fd, WEFT_WRITE) ||
	    !(io.flags & WEFT__FD_OURS))
		return libc->connect(fd, addr, len);
	if (io.flags & WEFT__FD_KERN_NB)
		return connect_nb(&io, addr, len);
	int fl = libc->fcntl(fd, F_GETFL);
	if (fl < 0 || libc->fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return libc->connect(fd, addr, len);
	weft__fd_set(io.f, WEFT__FD_KERN_NB, true);
	io.flags |= WEFT__FD_KERN_NB;
	int r = connect_nb(&io, addr, len), saved = errno;
	/* EBADF here means the fd was closed while the call waited: its
	 * number may now be another file's, which must be left alone. */
	if (r == 0 || saved != EBADF) {
		weft__fd_set(io.f, WEFT__FD_KERN_NB, false);
		/* Unless the program itself made it non-blocking meanwhile. */
		if (!(weft__fd_flags(io.f) & WEFT__FD_NB))
			libc->fcntl(fd, F_SETFL, fl);
		errno = saved;
	}
	return r;
}

WEFT_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return weft__connect(fd, addr, len);
}
