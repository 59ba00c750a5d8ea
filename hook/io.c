/* io.c - the would-block machinery every wrapper shares; see io.h. */
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cancel.h"
#include "green.h"
#include "io.h"
#include "poke.h"

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
		if (S_ISREG(st.st_mode))
			flags |= WEFT__FD_FILE;
	} else {
		int fl = libc->fcntl(fd, F_GETFL);
		if (fl >= 0 && (fl & O_NONBLOCK))
			flags |= WEFT__FD_NB;
	}
	if (S_ISSOCK(st.st_mode)) {
		struct timeval tv[2];
		socklen_t len = sizeof tv[0];
		int type = 0;
		socklen_t tlen = sizeof type;
		flags |= WEFT__FD_SOCKET;
		if (libc->getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
		    type == SOCK_STREAM)
			flags |= WEFT__FD_STREAM;
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
bool weft__io_begin(struct weft__io *io, int fd, int events,
		    const char *call, bool cancel)
{
	struct weft__co *co = weft__hooked();

	if (co == NULL)
		return false;
	if (cancel)
		weft__cancel_point(co);
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
				 .flags = flags, .deadline = -2, .call = call,
				 .errno_before = errno, .cancel = cancel };
	return true;
}

/* The deadline SO_RCVTIMEO or SO_SNDTIMEO puts on io, fixed at its first
 * wait (-1: none). */
static int64_t deadline_of(struct weft__io *io)
{
	if (io->deadline == -2) {
		int64_t t = atomic_load_explicit(io->events & WEFT_READ ?
						 &io->f->rcvtimeo :
						 &io->f->sndtimeo,
						 memory_order_relaxed);
		io->deadline = t > 0 ? weft__deadline(t) : -1;
	}
	return io->deadline;
}

/* See io.h. */
void weft__iov_advance(struct iovec **cur, size_t *n, size_t len)
{
	while (*n > 0 && len >= (*cur)->iov_len) {
		len -= (*cur)->iov_len;
		(*cur)++;
		(*n)--;
	}
	if (*n > 0) {
		(*cur)->iov_base = (char *)(*cur)->iov_base + len;
		(*cur)->iov_len -= len;
	}
}

/* weft__wait_fd on io's fd, the wait of a cancellation point if io is
 * one (weft__io_begin acted on a cancel already due), else a wait a
 * signal ends (the kernel's wait in the call would be): a cancel that ends
 * the wait acts here, once io's let_go has released what the call
 * holds. */
static int wait_fd(struct weft__io *io, int events, int64_t deadline)
{
	if (io->cancel)
		weft__cancel_mark(io->co);
	else
		weft__signal_mark(io->co);
	int r = weft__wait_fd(io->co, io->fd, events, deadline);
	if (r == -ECANCELED) {
		if (io->let_go != NULL)
			io->let_go(io);
		weft__cancel_act(io->co);
	}
	return r;
}

/* After a wait a signal sent to this green thread ended: runs its
 * handlers, and says whether the call goes on: none ran, or all have
 * SA_RESTART and the socket has no time-out (signal(7): a call with one
 * fails with EINTR whatever the flag). */
static bool restarts(struct weft__io *io)
{
	int ran = weft__sig_run(io->co);

	return ran < 0 || (ran == 1 && io->deadline < 0);
}

/* See io.h. */
int weft__io_wait(struct weft__io *io)
{
	deadline_of(io);
	io->co->wait_what = io->call;
	io->waited = true;
	int r = wait_fd(io, io->events, io->deadline);
	/* Another coroutine may have forked meanwhile, which takes weft's
	 * O_NONBLOCK off shared fds: the next attempt must know. */
	io->flags = weft__fd_flags(io->f);
	if (r > 0)
		weft__take_due(io->co); /* given after the wake (poke.h) */
	if (r > 0 || (r == -EINTR && restarts(io))) {
		errno = io->errno_before; /* not the attempt's EAGAIN */
		return 0;
	}
	errno = r == -ETIMEDOUT ? EAGAIN : -r;
	return -1;
}

/* See io.h.  A raw ppoll: glibc's poll is a cancellation point. */
bool weft__fd_ready_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec now = { 0, 0 };

	return weft__libc()->syscall(SYS_ppoll, &p, 1, &now, NULL, 0) != 0;
}

/* A writer that was parked when its peer went away with data unread
 * would have had ECONNRESET from the kernel; a fresh attempt says EPIPE
 * and leaves the reset in SO_ERROR.  Gives the caller what it would have
 * had. */
static ssize_t reset_or_pipe(struct weft__io *io)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (weft__libc()->getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err,
				     &len) == 0 && err != 0)
		errno = err;
	else
		errno = EPIPE;
	return -1;
}

/* See io.h. */
bool weft__io_write_error(struct weft__io *io)
{
	const unsigned stream = WEFT__FD_SOCKET | WEFT__FD_STREAM;
	int err = 0, saved = errno;
	socklen_t len = sizeof err;

	if (!io->waited || (io->flags & stream) != stream)
		return false;
	if (weft__libc()->getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err,
				     &len) < 0 || err == 0) {
		errno = saved;
		return false;
	}
	errno = err;
	return true;
}

/* See io.h. */
bool weft__io_partial_ends(struct weft__io *io)
{
	const struct weft__real *libc = weft__libc();
	const unsigned stream = WEFT__FD_SOCKET | WEFT__FD_STREAM;
	struct pollfd p = { .fd = io->fd };
	int saved = errno, proto = 0, queued = 0;
	socklen_t len = sizeof proto;

	if ((io->flags & stream) != stream)
		return false;
	/* POLLERR alone may be the error queue (timestamps, zero-copy
	 * notices); a reset also hangs the connection up. */
	bool ends = libc->poll(&p, 1, 0) > 0 &&
		    (p.revents & (POLLERR | POLLHUP)) == (POLLERR | POLLHUP) &&
		    libc->getsockopt(io->fd, SOL_SOCKET, SO_PROTOCOL, &proto,
				     &len) == 0 && proto == IPPROTO_TCP &&
		    (!(io->events & WEFT_READ) ||
		     (libc->ioctl(io->fd, FIONREAD, &queued) == 0 &&
		      queued == 0));
	errno = saved;
	return ends;
}

/* Most a write to a file without RWF_NOWAIT may carry: poll's POLLOUT on
 * a FIFO or a pty promises room for this much, and a blocking write of
 * more could wait in the kernel for a reader that is a coroutine of this
 * very thread. */
#define BLIND_WRITE_MAX 4096

/* One attempt at a transfer that must not block; write selects the
 * direction. */
static ssize_t attempt(struct weft__io *io, const struct iovec *iov, int n,
		       bool write)
{
	const struct weft__real *libc = weft__libc();
	ssize_t r;

	if (write && weft__io_write_error(io))
		return -1;
	/* The rest of a write to a socket that took part of it: a broken
	 * connection now ends the call with the count, and no SIGPIPE (a
	 * pipe's writer gets one all the same).  iov is weft's own copy. */
	if (write && io->rest && (io->flags & WEFT__FD_SOCKET)) {
		struct msghdr m = { .msg_iov = (struct iovec *)iov,
				    .msg_iovlen = (size_t)n };
		return libc->sendmsg(io->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if (io->flags & WEFT__FD_KERN_NB)
		return write ? libc->writev(io->fd, iov, n)
			     : libc->readv(io->fd, iov, n);
	/* On a socket, recv/send with MSG_DONTWAIT is what read/write do
	 * with O_NONBLOCK, and cheaper than the RWF_NOWAIT path.  (A read of
	 * 0 bytes must not become a recv, which would consume a datagram;
	 * a write only on stream sockets, where send() adds nothing.  The
	 * caller's own iovec array is never read here: the kernel checks it
	 * first, and a bad one is EFAULT, not a crash.) */
	if ((io->flags & WEFT__FD_SOCKET) && io->own_iov && n == 1 &&
	    iov[0].iov_len > 0 &&
	    (!write || (io->flags & WEFT__FD_STREAM))) {
		if (!write) {
			if (weft__io_skip_read(io)) {
				errno = EAGAIN;
				return -1;
			}
			r = libc->recvfrom(io->fd, iov[0].iov_base,
					   iov[0].iov_len, MSG_DONTWAIT, NULL,
					   NULL);
			weft__io_after_read(io, r, iov[0].iov_len);
			return r;
		}
		r = libc->sendto(io->fd, iov[0].iov_base, iov[0].iov_len,
				 MSG_DONTWAIT, NULL, 0);
		return r < 0 && errno == EPIPE && io->waited ?
			reset_or_pipe(io) : r;
	}
	if (!(io->flags & WEFT__FD_NO_NOWAIT)) {
		r = write ? libc->pwritev2(io->fd, iov, n, -1, RWF_NOWAIT)
			  : libc->preadv2(io->fd, iov, n, -1, RWF_NOWAIT);
		if (r < 0 && errno == EPIPE && write && io->waited &&
		    (io->flags & WEFT__FD_SOCKET))
			return reset_or_pipe(io);
		if (r >= 0 || errno != EOPNOTSUPP)
			return r;
		weft__fd_set(io->f, WEFT__FD_NO_NOWAIT, true);
		io->flags |= WEFT__FD_NO_NOWAIT;
		errno = io->errno_before; /* a success must leave it as it was */
	}
	bool ready = weft__fd_ready_now(io->fd, write ? POLLOUT : POLLIN);
	if (!ready || write) {
		/* The kernel checks the arguments (count, iovec array) before
		 * it says EOPNOTSUPP: bad ones fail now rather than after a
		 * wait, as they would have without weft, and before the
		 * capping below reads the caller's array. */
		r = write ? libc->pwritev2(io->fd, iov, n, -1, RWF_NOWAIT)
			  : libc->preadv2(io->fd, iov, n, -1, RWF_NOWAIT);
		if (r >= 0 || errno != EOPNOTSUPP)
			return r;
		if (!ready) {
			errno = EAGAIN;
			return -1;
		}
		errno = io->errno_before;
	}
	if (!write)
		return libc->readv(io->fd, iov, n);
	/* Ready for some bytes, not necessarily all: cap the write. */
	struct iovec capped[1];
	if (n >= 1 && iov[0].iov_len > BLIND_WRITE_MAX) {
		capped[0] = (struct iovec){ iov[0].iov_base, BLIND_WRITE_MAX };
		return libc->writev(io->fd, capped, 1);
	}
	size_t total = 0;
	int upto = 0;
	while (upto < n && total + iov[upto].iov_len <= BLIND_WRITE_MAX)
		total += iov[upto++].iov_len;
	return libc->writev(io->fd, iov, upto > 0 ? upto : n);
}

/* See io.h. */
bool weft__copy_checked(void *to, const void *from, size_t n, bool out)
{
	struct iovec mine = { out ? (void *)from : to, n };
	struct iovec theirs = { out ? to : (void *)from, n };
	int saved = errno;
	ssize_t r = out ? process_vm_writev(getpid(), &mine, 1, &theirs, 1, 0)
			: process_vm_readv(getpid(), &mine, 1, &theirs, 1, 0);

	if (r < 0 && (errno == ENOSYS || errno == EPERM)) {
		memcpy(to, from, n);
		r = (ssize_t)n;
	}
	errno = saved;
	return r == (ssize_t)n;
}

/* See io.h. */
bool weft__io_range_fault(int fd, const void *buf, size_t n, bool write)
{
	const struct weft__real *libc = weft__libc();
	int saved = errno, fl, probe;
	bool fault;

	/* The kernel's MAX_RW_COUNT. */
	if (n <= (INT_MAX & ~((size_t)getpagesize() - 1)))
		return false;
	/* A file not open for the transfer fails with EBADF before. */
	fl = libc->fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == (write ? O_RDONLY : O_WRONLY))
		goto keep;
	/* A read of /dev/null makes the same check and moves nothing (the
	 * check is of the range alone, whatever the direction). */
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (probe < 0)
		goto keep;
	fault = libc->read(probe, (void *)buf, n) < 0 && errno == EFAULT;
	libc->close(probe);
	if (fault) {
		errno = EFAULT;
		return true;
	}
keep:
	errno = saved;
	return false;
}

/* See io.h. */
void weft__io_after_read(struct weft__io *io, ssize_t r, size_t asked)
{
	if (!(io->flags & WEFT__FD_STREAM) || r < 0)
		return;
	bool drained = r > 0 && (size_t)r < asked;
	if (drained != !!(io->flags & WEFT__FD_DRAINED)) {
		weft__fd_set(io->f, WEFT__FD_DRAINED, drained);
		io->flags ^= WEFT__FD_DRAINED;
	}
}

/* See io.h. */
int weft__io_nap(struct weft__io *io, int64_t ns)
{
	deadline_of(io);
	int64_t until = weft__deadline(ns);
	if (io->deadline >= 0 && io->deadline < until)
		until = io->deadline;
	io->co->wait_what = io->call;
	/* Waiting for no event keeps the coroutine on the fd's queue, so a
	 * close still wakes it with EBADF. */
	int r = wait_fd(io, 0, until);
	if (r == -EBADF || (r == -EINTR && !restarts(io))) {
		errno = -r;
		return -1;
	}
	if (io->deadline >= 0 && weft__now() >= io->deadline) {
		errno = EAGAIN;
		return -1;
	}
	return 0;
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
