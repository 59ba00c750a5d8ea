/* sendfile.c - sendfile, sendfile64 and splice.
 *
 * What the kernel does (Linux 6.x, checked by experiment):
 *  - A blocking sendfile or splice into a socket returns only when all of
 *    it is sent.  Nothing but the socket's own O_NONBLOCK makes that write
 *    non-blocking: sendfile has no flags, and SPLICE_F_NONBLOCK does not
 *    reach the socket.
 *  - Into a pipe, both wait for one free slot, fill what fits and return.
 *  - splice honours SPLICE_F_NONBLOCK, or a pipe end's O_NONBLOCK, for its
 *    pipe ends; of the sockets it reads, only AF_UNIX stream ones.
 *
 * weft must not change a file's flags, so when weft has not made a socket
 * non-blocking itself (WEFT__FD_KERN_NB) an attempt first asks whether it
 * is writable (a zero-time poll) and then gives the kernel no more than
 * half the room left in its send buffer (SO_MEMINFO): the kernel checks
 * for room only before each buffer it allocates, so that much never waits.
 * The wrapper then carries on, attempt after attempt, until everything is
 * sent, as the blocking call would.  Pipe ends get SPLICE_F_NONBLOCK; a
 * socket or terminal that splice reads from is polled first.
 *
 * Limits of that share, on sockets weft did not make non-blocking: a TCP
 * socket whose program set TCP_NOTSENT_LOWAT below it can still hold the
 * thread until its peer reads, and a datagram socket gets the data in
 * datagrams of that size rather than one.  Into such a socket that is
 * not writable, arguments sendfile checks only once it moves bytes (an
 * input it cannot read from, such as a directory) fail once it is.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/sock_diag.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

_Static_assert(sizeof(off_t) == 8, "sendfile64 is sendfile");

#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | \
		      SPLICE_F_GIFT)

/* One end of a transfer.  io.fd and io.flags are always filled in. */
struct end {
	struct weft__io io;
	bool ours;        /* the program believes it blocking: weft waits */
	signed char pipe; /* a pipe or FIFO: 1, 0, or -1 not known yet */
};

/* The most one call moves, as the kernel's MAX_RW_COUNT. */
static size_t max_rw(void)
{
	return INT_MAX & ~((size_t)getpagesize() - 1);
}

/* Whether e is a pipe or FIFO.  other is the far end of a splice, or
 * NULL: splice needs a pipe, so an end facing a socket or file is one
 * (or the call fails with EINVAL anyway). */
static bool is_pipe(struct end *e, const struct end *other)
{
	struct stat st;

	if (e->pipe < 0) {
		if (e->io.flags & (WEFT__FD_SOCKET | WEFT__FD_PASS))
			e->pipe = 0;
		else if (other && (other->io.flags &
				   (WEFT__FD_SOCKET | WEFT__FD_PASS)))
			e->pipe = 1;
		else
			e->pipe = fstat(e->io.fd, &st) == 0 &&
				  S_ISFIFO(st.st_mode);
	}
	return e->pipe;
}

/* How many of n bytes one call may write to e without blocking the
 * thread: all if weft made the fd non-blocking or it is a pipe (the
 * kernel writes what fits); none if it is not writable now; for a socket
 * half the free send buffer, and at least a page, which one buffer always
 * takes; a page for anything else (a terminal). */
static size_t room(struct end *e, const struct end *other, size_t n)
{
	const struct weft__real *libc = weft__libc();
	struct pollfd p = { .fd = e->io.fd, .events = POLLOUT };
	size_t cap = (size_t)getpagesize();

	if (e->io.flags & WEFT__FD_KERN_NB)
		return n;
	if (libc->poll(&p, 1, 0) <= 0)
		return 0;
	if (is_pipe(e, other))
		return n;
	if (e->io.flags & WEFT__FD_SOCKET) {
		uint32_t m[SK_MEMINFO_VARS];
		socklen_t len = sizeof m;
		if (libc->getsockopt(e->io.fd, SOL_SOCKET, SO_MEMINFO, m,
				     &len) == 0) {
			uint32_t used = m[SK_MEMINFO_WMEM_ALLOC];
			if (used < m[SK_MEMINFO_WMEM_QUEUED])
				used = m[SK_MEMINFO_WMEM_QUEUED];
			size_t half = m[SK_MEMINFO_SNDBUF] > used ?
				(m[SK_MEMINFO_SNDBUF] - used) / 2 : 0;
			if (half > cap)
				cap = half;
		}
	}
	return n < cap ? n : cap;
}

/* One sendfile of at most n bytes that cannot block the thread: -1 with
 * errno EAGAIN when out is not writable. */
static ssize_t try_sendfile(struct end *out, int in, off_t *off, size_t n)
{
	const struct weft__real *libc = weft__libc();
	size_t cap = room(out, NULL, n);
	ssize_t r;

	if (cap > 0)
		return libc->sendfile(out->io.fd, in, off, cap);
	/* Bad arguments (EBADF, EFAULT, ESPIPE, EINVAL) must fail now, as
	 * the blocking call fails before waiting.  A sendfile that moves
	 * nothing says so, except into a full pipe, where it would wait for
	 * room all the same; but sendfile into a pipe is the kernel's splice
	 * from a file, which can be told not to wait. */
	if (is_pipe(out, NULL))
		r = libc->splice(in, off, out->io.fd, NULL, n,
				 SPLICE_F_NONBLOCK);
	else
		r = libc->sendfile(out->io.fd, in, off, 0);
	if (r == 0) {
		errno = EAGAIN;
		return -1;
	}
	return r;
}

/* weft__io_wait for an end being written to.  For a socket, an error
 * that came meanwhile (the reader left data unread: ECONNRESET) is taken
 * and returned as the call blocked in the kernel would return it: a new
 * attempt would report plain EPIPE instead. */
static int wait_out(struct weft__io *io)
{
	const struct weft__real *libc = weft__libc();
	struct pollfd p = { .fd = io->fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof err;

	if (weft__io_wait(io) < 0)
		return -1;
	if (!(io->flags & WEFT__FD_SOCKET) || libc->poll(&p, 1, 0) <= 0 ||
	    !(p.revents & POLLERR) ||
	    libc->getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err == 0)
		return 0;
	errno = err;
	return -1;
}

/* sendfile that parks instead of blocking; same results, errno and
 * offsets.  Into a socket it goes on until count bytes are sent or the
 * input ends; into a pipe it returns what the first transfer moved. */
ssize_t weft__sendfile(int out, int in, off_t *off, size_t count)
{
	struct end e = { .ours = true, .pipe = -1 };
	int saved = errno;
	size_t want = count < max_rw() ? count : max_rw(), done = 0;
	ssize_t r = 0;

	if (count == 0 || count > SSIZE_MAX ||
	    !weft__io_begin(&e.io, out, WEFT_WRITE, "sendfile", false))
		return weft__libc()->sendfile(out, in, off, count);
	while (done < want) {
		r = try_sendfile(&e, in, off, want - done);
		if (r > 0) {
			done += (size_t)r;
			if (done < want && is_pipe(&e, NULL))
				break;
		} else if (r == 0 || errno != EAGAIN || wait_out(&e.io) < 0) {
			break;
		}
	}
	if (done == 0 && r < 0)
		return -1;
	errno = saved; /* what was sent counts, as the kernel reports it */
	return (ssize_t)done;
}

/* Fills e for fd when the splice is ours (by the other end, by) but
 * weft__io_begin said no to this end: it still waits in weft if the
 * program believes it blocking, even for a caller alone, since the other
 * end cannot block for real. */
static void adopt(struct end *e, const struct weft__io *by, int fd,
		  int events)
{
	struct weft__fd *f = weft__fd_get(fd);
	unsigned flags = f ? weft__fd_flags(f) : 0;

	if (f != NULL && !(flags & WEFT__FD_KNOWN))
		flags = weft__fd_classify(fd, f);
	e->io = (struct weft__io){ .co = by->co, .f = f, .fd = fd,
				   .events = events, .flags = flags,
				   .deadline = -2, .call = by->call,
				   .cancel = by->cancel };
	e->ours = (flags & WEFT__FD_KNOWN) &&
		  !(flags & (WEFT__FD_PASS | WEFT__FD_NB));
}

/* Whether e's fd is an AF_UNIX stream socket. */
static bool unix_stream(const struct end *e)
{
	const struct weft__real *libc = weft__libc();
	int domain = 0, type = 0;
	socklen_t len = sizeof domain;

	libc->getsockopt(e->io.fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	len = sizeof type;
	libc->getsockopt(e->io.fd, SOL_SOCKET, SO_TYPE, &type, &len);
	return domain == AF_UNIX && type == SOCK_STREAM;
}

/* Whether the program, without weft, would wait for end i (0 the input,
 * 1 the output) of a splice rather than get EAGAIN. */
static bool waits(struct end e[2], int i, unsigned flags)
{
	struct end *other = &e[!i];

	if (!e[i].ours)
		return false;
	if ((other->io.flags & WEFT__FD_NB) && is_pipe(other, &e[i]))
		flags |= SPLICE_F_NONBLOCK; /* the kernel adds it */
	if (!(flags & SPLICE_F_NONBLOCK))
		return true;
	if (is_pipe(&e[i], other))
		return false;
	return !(i == 0 && (e[0].io.flags & WEFT__FD_SOCKET) &&
		 unix_stream(&e[0]));
}

/* After an attempt gave EAGAIN: waits for the end that was not ready, the
 * input first as the kernel does, if the program would wait for it.
 * Returns 0 to try again, or -1 with errno: EAGAIN when the program would
 * have got it, or when the input ran dry after some bytes moved (the
 * kernel returns then), else what weft__io_wait gives. */
static int wait_end(struct end e[2], unsigned flags, bool moved)
{
	struct pollfd p[2] = { { .fd = e[0].io.fd, .events = POLLIN },
			       { .fd = e[1].io.fd, .events = POLLOUT } };

	weft__libc()->poll(p, 2, 0);
	for (int i = 0; i < 2; i++) {
		if (p[i].revents != 0)
			continue;
		if ((i == 0 && moved) || !waits(e, i, flags)) {
			errno = EAGAIN;
			return -1;
		}
		return i == 0 ? weft__io_wait(&e[i].io) : wait_out(&e[i].io);
	}
	return 0;
}

/* Whether end e of a splice must be asked before the call because
 * SPLICE_F_NONBLOCK does not keep it from blocking: a kernel-blocking
 * socket or terminal. */
static bool guarded(struct end *e, const struct end *other)
{
	return e->ours && !(e->io.flags & WEFT__FD_KERN_NB) &&
	       !is_pipe(e, other);
}

/* One splice of at most n bytes that cannot block the thread: -1 with
 * errno EAGAIN when an end is not ready. */
static ssize_t try_splice(struct end e[2], off_t *off_in, off_t *off_out,
			  size_t n, unsigned flags)
{
	struct pollfd p = { .fd = e[0].io.fd, .events = POLLIN };

	/* A length over SSIZE_MAX is EINVAL from the kernel at an end that
	 * is not a pipe (rw_verify_area), before it waits for it: the guards
	 * would turn it into a good one. */
	if (n > SSIZE_MAX)
		goto call;
	if (guarded(&e[0], &e[1]) && weft__libc()->poll(&p, 1, 0) <= 0)
		n = 0;
	if (n > 0 && guarded(&e[1], &e[0]))
		n = room(&e[1], &e[0], n);
	if (n == 0) {
		errno = EAGAIN;
		return -1;
	}
call:
	return weft__libc()->splice(e[0].io.fd, off_in, e[1].io.fd, off_out,
				    n, flags | SPLICE_F_NONBLOCK);
}

/* splice that parks instead of blocking; same results, errno and offsets.
 * Into a socket it goes on until len bytes are sent or the pipe it reads
 * runs dry; otherwise it returns what the first transfer moved. */
ssize_t weft__splice(int in, off_t *off_in, int out, off_t *off_out,
		     size_t len, unsigned flags)
{
	struct end e[2] = { { .pipe = -1 }, { .pipe = -1 } };
	int saved = errno;
	size_t done = 0;
	ssize_t r = 0;

	/* glibc's splice is a cancellation point (SYSCALL_CANCEL), and its
	 * sendfile none. */
	e[0].ours = weft__io_begin(&e[0].io, in, WEFT_READ, "splice", true);
	e[1].ours = weft__io_begin(&e[1].io, out, WEFT_WRITE, "splice", true);
	if ((!e[0].ours && !e[1].ours) || len == 0 || (flags & ~SPLICE_FLAGS))
		return weft__libc()->splice(in, off_in, out, off_out, len,
					    flags);
	for (int i = 0; i < 2; i++)
		if (!e[i].ours)
			adopt(&e[i], &e[!i].io, i ? out : in,
			      i ? WEFT_WRITE : WEFT_READ);
	while (done < len) {
		r = try_splice(e, off_in, off_out, len - done, flags);
		if (r > 0) {
			done += (size_t)r;
			if (done < len && is_pipe(&e[1], &e[0]))
				break;
		} else if (r == 0 || errno != EAGAIN ||
			   wait_end(e, flags, done > 0) < 0) {
			break;
		}
	}
	if (done == 0 && r < 0)
		return -1;
	errno = saved;
	return (ssize_t)done;
}

WEFT_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	return weft__sendfile(out, in, off, count);
}

/* With a 64-bit off_t, sendfile64 is sendfile. */
WEFT_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t count)
{
	return weft__sendfile(out, in, off, count);
}

WEFT_EXPORT ssize_t splice(int in, off_t *off_in, int out, off_t *off_out,
			   size_t len, unsigned flags)
{
	return weft__splice(in, off_in, out, off_out, len, flags);
}
