/* io.c - the would-block machinery every wrapper shares; see io.h. */
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include "io.h"

/* See io.h. */
unsigned weft__fd_classify(int fd, struct weft__fd *f)
{
	const struct weft__real *libc = weft__libc();
	struct stat st;
	int saved = errno;
	unsigned flags = WEFT__FD_KNOWN;

	if (fstat(fd, &st) < 0) {
		errno = saved;
		return 0;
	}
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ||
	    S_ISBLK(st.st_mode)) {
		flags |= WEFT__FD_PASS;
	} else {
		int fl = libc->fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			flags |= WEFT__FD_NB;
	}
	if (S_ISSOCK(st.st_mode)) {
		struct timeval tv[2];
		socklen_t len = sizeof tv[0];
		flags |= WEFT__FD_SOCKET;
		for (int i = 0; i < 2; i++) {
			int opt = i ? SO_SNDTIMEO : SO_RCVTIMEO;
			if (libc->getsockopt(fd, SOL_SOCKET, opt, &tv[i],
					     &len) < 0)
				tv[i] = (struct timeval){ 0, 0 };
		}
		atomic_store(&f->rcvtimeo,
			     tv[0].tv_sec * 1000000000LL + tv[0].tv_usec * 1000);
		atomic_store(&f->sndtimeo,
			     tv[1].tv_sec * 1000000000LL + tv[1].tv_usec * 1000);
	}
	atomic_store_explicit(&f->flags, flags, memory_order_release);
	errno = saved;
	return flags;
}

/* See io.h. */
bool weft__io_begin(struct weft__io *io, int fd, int events, const char *call)
{
	struct weft__co *co = weft__hooked();

	if (co == NULL)
		return false;
	struct weft__fd *f = weft__fd_get(fd);
	if (f == NULL)
		return false;
	unsigned flags = weft__fd_flags(f);
	if (weft__unlikely(!(flags & WEFT__FD_KNOWN)))
		flags = weft__fd_classify(fd, f);
	if (!(flags & WEFT__FD_KNOWN) || (flags & (WEFT__FD_PASS | WEFT__FD_NB)))
		return false;
	/* Alone, a blocking call may block the thread for real, unless weft
	 * itself made the fd non-blocking. */
	if (!(flags & WEFT__FD_KERN_NB) && weft__alone(co))
		return false;
	*io = (struct weft__io){ .co = co, .f = f, .fd = fd, .events = events,
				 .flags = flags, .deadline = -2, .call = call };
	return true;
}

/* See io.h. */
int weft__io_wait(struct weft__io *io)
{
	if (io->deadline == -2) {
		int64_t t = atomic_load_explicit(io->events & WEFT_READ ?
						 &io->f->rcvtimeo :
						 &io->f->sndtimeo,
						 memory_order_relaxed);
		io->deadline = t > 0 ? weft__deadline(t) : -1;
	}
	io->co->wait_what = io->call;
	int r = weft__wait_fd(io->co, io->fd, io->events, io->deadline);
	/* Another coroutine may have forked meanwhile, which takes weft's
	 * O_NONBLOCK off shared fds: the next attempt must know. */
	io->flags = weft__fd_flags(io->f);
	if (r > 0)
		return 0;
	errno = r == -ETIMEDOUT ? EAGAIN : -r;
	return -1;
}

/* Whether the fd is ready for events right now; for files without
 * RWF_NOWAIT.  Hang-ups and errors count as ready: the call reports them. */
static bool ready_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return weft__libc()->poll(&p, 1, 0) != 0;
}

/* One attempt at a transfer that must not block; write selects the
 * direction. */
static ssize_t attempt(struct weft__io *io, const struct iovec *iov, int n,
		       bool write)
{
	const struct weft__real *libc = weft__libc();

	if (io->flags & WEFT__FD_KERN_NB)
		return write ? libc->writev(io->fd, iov, n)
			     : libc->readv(io->fd, iov, n);
	if (!(io->flags & WEFT__FD_NO_NOWAIT)) {
		ssize_t r = write ?
			libc->pwritev2(io->fd, iov, n, -1, RWF_NOWAIT) :
			libc->preadv2(io->fd, iov, n, -1, RWF_NOWAIT);
		if (r >= 0 || errno != EOPNOTSUPP)
			return r;
		weft__fd_set(io->f, WEFT__FD_NO_NOWAIT, true);
		io->flags |= WEFT__FD_NO_NOWAIT;
	}
	if (!ready_now(io->fd, write ? POLLOUT : POLLIN)) {
		errno = EAGAIN;
		return -1;
	}
	return write ? libc->writev(io->fd, iov, n)
		     : libc->readv(io->fd, iov, n);
}

/* See io.h. */
ssize_t weft__io_readv(struct weft__io *io, const struct iovec *iov, int n)
{
	return attempt(io, iov, n, false);
}

/* See io.h. */
ssize_t weft__io_writev(struct weft__io *io, const struct iovec *iov, int n)
{
	return attempt(io, iov, n, true);
}
