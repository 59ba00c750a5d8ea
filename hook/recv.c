/* recv.c - recv, recvfrom, recvmsg, recvmmsg, and the fortified
 * __recv_chk and __recvfrom_chk.
 *
 * A blocking receive becomes receives with MSG_DONTWAIT, the coroutine
 * parking between them.  Calls with which the kernel never waits go
 * straight to libc; see never_waits.
 *
 * MSG_WAITALL makes a blocking receive on a stream socket wait for the
 * whole length (or EOF, an error, the time-out), but with MSG_DONTWAIT the
 * kernel hands back what is there: after a short receive the wrapper goes
 * on receiving, as the kernel would have.  recvmmsg likewise goes on until
 * vlen messages are in; see mmsg_more for its time-out.
 */
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

/* One receive that must not block, of the caller's kind: recvmsg's if
 * msg is set, else recvfrom's. */
struct rx {
	struct weft__io io;
	int flags;
	struct msghdr *msg;
	void *buf;
	size_t n;
	struct sockaddr *addr;
	socklen_t *alen;
	bool more; /* goes on after a short receive: see receive */
};

static ssize_t attempt(struct rx *x)
{
	const struct weft__real *libc = weft__libc();

	if (x->msg)
		return libc->recvmsg(x->io.fd, x->msg, x->flags | MSG_DONTWAIT);
	/* A plain receive follows read's rule of thumb (io.h). */
	bool plain = x->flags == 0;
	if (plain && weft__io_skip_read(&x->io)) {
		errno = EAGAIN;
		return -1;
	}
	ssize_t r = libc->recvfrom(x->io.fd, x->buf, x->n,
				   x->flags | MSG_DONTWAIT, x->addr, x->alen);
	if (plain)
		weft__io_after_read(&x->io, r, x->n);
	return r;
}

/* The receive of the caller's kind, parking until it would not block. */
static ssize_t receive(struct rx *x)
{
	ssize_t r;

	for (;;) {
		/* The rest of a MSG_WAITALL receive ends at a reset without
		 * taking it, as in the kernel: 0 ends the caller's loop. */
		if (x->more && weft__io_partial_ends(&x->io))
			return 0;
		if ((r = attempt(x)) >= 0 || errno != EAGAIN ||
		    weft__io_wait(&x->io) < 0)
			return r;
	}
}

static int sock_opt(int fd, int name)
{
	int v = -1;
	socklen_t len = sizeof v;

	weft__libc()->getsockopt(fd, SOL_SOCKET, name, &v, &len);
	return v;
}

/* The most one receive gives, as the kernel caps it (MAX_RW_COUNT). */
static size_t rw_max(void)
{
	return INT_MAX & ~((size_t)getpagesize() - 1);
}

/* MSG_PEEK|MSG_WAITALL after a short peek of r bytes (of want).  TCP
 * waits until the whole length can be peeked, or EOF, an error or the
 * time-out; AF_UNIX returns what is there.  A peek consumes nothing, so
 * the socket stays readable and parking on it would spin: look again
 * after growing naps instead. */
static ssize_t peek_more(struct rx *x, ssize_t r, size_t want)
{
	if (sock_opt(x->io.fd, SO_DOMAIN) == AF_UNIX)
		return r;
	for (int64_t ns = 1000000;
	     (size_t)r < want && weft__io_nap(&x->io, ns) == 0;
	     ns = ns < 32000000 ? ns * 2 : ns) {
		struct pollfd p = { .fd = x->io.fd, .events = POLLRDHUP };
		bool end = weft__libc()->poll(&p, 1, 0) != 0;
		ssize_t again = attempt(x);
		if (again < 0)
			break;
		r = again;
		if (end) /* EOF or an error: the kernel stops at what it has */
			break;
	}
	return r;
}

/* recvfrom's MSG_WAITALL after a short receive of done bytes.  Returns
 * the total. */
static ssize_t recvfrom_rest(struct rx *x, size_t done)
{
	size_t want = x->n < rw_max() ? x->n : rw_max();
	uintptr_t buf = (uintptr_t)x->buf; /* NULL with MSG_TRUNC on TCP */
	ssize_t r;

	if (x->flags & MSG_PEEK)
		return peek_more(x, (ssize_t)done, want);
	/* The kernel reports the sender of the first bytes only. */
	x->addr = NULL;
	x->alen = NULL;
	x->more = true;
	while (done < want) {
		x->buf = (void *)(buf + done);
		x->n = want - done;
		if ((r = receive(x)) <= 0)
			break; /* EOF, an error, the time-out: report what came */
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* Whether the kernel answers a receive with these flags at once: with
 * MSG_DONTWAIT; for out-of-band data on a stream socket (TCP, AF_UNIX),
 * there or not; for the error queue of a socket that has one (AF_UNIX
 * and netlink sockets have none, and wait as if the flag were not
 * there).  Other protocols ignore MSG_OOB and wait (UDP). */
static bool never_waits(int fd, int flags)
{
	if (flags & MSG_DONTWAIT)
		return true;
	if (weft__likely(!(flags & (MSG_OOB | MSG_ERRQUEUE))))
		return false;
	if (flags & MSG_ERRQUEUE) {
		int domain = sock_opt(fd, SO_DOMAIN);
		if (domain != AF_UNIX && domain != AF_NETLINK)
			return true;
	}
	return (flags & MSG_OOB) && sock_opt(fd, SO_TYPE) == SOCK_STREAM;
}

/* Whether x's call (named call) may park: not one that never waits, and
 * not where weft__io_begin says no. */
static bool rx_start(struct rx *x, int fd, const char *call)
{
	return weft__io_begin(&x->io, fd, WEFT_READ, call, true) &&
	       !never_waits(fd, x->flags);
}

/* recvfrom (and recv) for a call that may park. */
static ssize_t recvfrom_parked(struct rx *x)
{
	ssize_t r = receive(x);

	if (r <= 0 || (size_t)r >= x->n || !(x->flags & MSG_WAITALL) ||
	    sock_opt(x->io.fd, SO_TYPE) != SOCK_STREAM)
		return r;
	return recvfrom_rest(x, (size_t)r);
}

/* recv that parks instead of blocking; same results and errno. */
ssize_t weft__recv(int fd, void *buf, size_t n, int flags)
{
	struct rx x = { .flags = flags, .buf = buf, .n = n };

	if (!rx_start(&x, fd, weft__call_name(__func__)))
		return weft__libc()->recv(fd, buf, n, flags);
	return recvfrom_parked(&x);
}

/* recvfrom that parks instead of blocking; same results and errno. */
ssize_t weft__recvfrom(int fd, void *buf, size_t n, int flags,
		       struct sockaddr *addr, socklen_t *alen)
{
	struct rx x = { .flags = flags, .buf = buf, .n = n, .addr = addr,
			.alen = alen };

	if (!rx_start(&x, fd, weft__call_name(__func__)))
		return weft__libc()->recvfrom(fd, buf, n, flags, addr, alen);
	return recvfrom_parked(&x);
}


/* recvmsg's MSG_WAITALL after a short receive of done bytes (of want).
 * The kernel stops at control data (passed fds), so the wrapper does;
 * and since the first receive overwrote msg_controllen, the size of the
 * caller's control buffer is no longer known: with one, it stops there
 * too.  Returns the total. */
static ssize_t recvmsg_rest(struct rx *x, size_t done, size_t want)
{
	struct msghdr *msg = x->msg;

	if (msg->msg_control != NULL)
		return (ssize_t)done;
	if (x->flags & MSG_PEEK)
		return peek_more(x, (ssize_t)done, want);
	struct iovec small[8];
	size_t n = msg->msg_iovlen;
	struct iovec *left = n <= 8 ? small : malloc(n * sizeof *left);
	if (left == NULL)
		return (ssize_t)done;
	memcpy(left, msg->msg_iov, n * sizeof *left);
	struct iovec *cur = left;
	weft__iov_advance(&cur, &n, done);
	/* The kernel reports the sender of the first bytes only. */
	struct msghdr m = { .msg_iov = cur, .msg_iovlen = n };
	x->msg = &m;
	x->more = true;
	while (done < want) {
		ssize_t r = receive(x);
		if (r <= 0)
			break;
		msg->msg_flags |= m.msg_flags;
		done += (size_t)r;
		weft__iov_advance(&m.msg_iov, &m.msg_iovlen, (size_t)r);
	}
	x->msg = msg;
	x->more = false;
	if (left != small)
		free(left);
	return (ssize_t)done;
}

/* recvmsg that parks instead of blocking; same results and errno. */
ssize_t weft__recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct rx x = { .flags = flags, .msg = msg };

	/* No header: the kernel says EFAULT at once (and attempt() would
	 * take the call for a recvfrom). */
	if (msg == NULL || !rx_start(&x, fd, weft__call_name(__func__)))
		return weft__libc()->recvmsg(fd, msg, flags);
	ssize_t r = receive(&x);
	if (r <= 0 || !(flags & MSG_WAITALL))
		return r;
	/* The kernel has read msg, so it can be read here too. */
	size_t want = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		want += msg->msg_iov[i].iov_len;
	if (want > rw_max())
		want = rw_max();
	if ((size_t)r >= want || msg->msg_controllen > 0 ||
	    sock_opt(fd, SO_TYPE) != SOCK_STREAM)
		return r;
	return recvmsg_rest(&x, (size_t)r, want);
}

static int64_t timespec_ns(const struct timespec *ts)
{
	if (ts->tv_sec >= INT64_MAX / 1000000000 - 1)
		return INT64_MAX / 2; /* as good as for ever */
	return ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* True if fd has an error waiting.  After some messages, the kernel
 * stores an error met while waiting for the next one back on the socket
 * for the next call; a receive here would take it, so look first. */
static bool error_pending(int fd)
{
	struct pollfd p = { .fd = fd };

	return weft__libc()->poll(&p, 1, 0) > 0 && (p.revents & POLLERR);
}

/* After a batch that ended on message m (of index i): with MSG_WAITALL
 * on a stream socket, the kernel fills each message whole (or to EOF, an
 * error, the time-out) where a batch with MSG_DONTWAIT may end on a
 * short one; and with MSG_WAITFORONE only the first message is received
 * blocking. */
static void mmsg_fill(struct rx *x, struct mmsghdr *m, int i)
{
	if (!(x->flags & MSG_WAITALL) || m->msg_len == 0 ||
	    (i > 0 && (x->flags & MSG_WAITFORONE)))
		return;
	/* The kernel has read the message, so it can be read here too. */
	size_t want = 0;
	for (size_t j = 0; j < m->msg_hdr.msg_iovlen; j++)
		want += m->msg_hdr.msg_iov[j].iov_len;
	if (want > rw_max())
		want = rw_max();
	if (m->msg_len >= want || m->msg_hdr.msg_controllen > 0 ||
	    sock_opt(x->io.fd, SO_TYPE) != SOCK_STREAM)
		return;
	x->msg = &m->msg_hdr;
	m->msg_len = (unsigned)recvmsg_rest(x, m->msg_len, want);
	x->msg = NULL;
}

/* recvmmsg from the got-th message on (maybe the first): the kernel takes
 * one message at a time, each as a blocking recvmsg would (with its own
 * SO_RCVTIMEO), and after each stops if all vlen are in, the caller's
 * time-out (end, or -1) has passed, the message was out-of-band data, or
 * MSG_WAITFORONE was given.  The time-out is looked at only between
 * messages, so a recvmmsg that waits for a message that never comes
 * waits for ever (recvmmsg(2), BUGS); the wrapper does the same.  r is
 * what the first batch gave.  Returns the count, or -1 with errno if
 * none came. */
static int mmsg_more(struct rx *x, struct mmsghdr *vec, unsigned vlen,
		     int r, int64_t end)
{
	const struct weft__real *libc = weft__libc();
	int got = 0;

	for (;;) {
		if (r > 0) {
			got += r;
			mmsg_fill(x, &vec[got - 1], got - 1);
			x->io.deadline = -2; /* the next one's time-out */
			if ((unsigned)got == vlen ||
			    (x->flags & MSG_WAITFORONE) ||
			    (vec[got - 1].msg_hdr.msg_flags & MSG_OOB) ||
			    (end >= 0 && weft__now() >= end))
				return got;
		} else if (r == 0 || errno != EAGAIN ||
			   weft__io_wait(&x->io) < 0) {
			return got > 0 ? got : r;
		}
		if (got > 0 && error_pending(x->io.fd))
			return got;
		/* Past the time-out, the kernel takes just one more. */
		unsigned n = end >= 0 && weft__now() >= end ? 1 : vlen - got;
		r = libc->recvmmsg(x->io.fd, vec + got, n,
				   x->flags | MSG_DONTWAIT, NULL);
	}
}

/* recvmmsg that parks instead of blocking; same results and errno,
 * including the time left written back to *timeout. */
int weft__recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags,
		   struct timespec *timeout)
{
	const struct weft__real *libc = weft__libc();
	struct rx x = { .flags = flags };

	if (!rx_start(&x, fd, weft__call_name(__func__)))
		return libc->recvmmsg(fd, vec, vlen, flags, timeout);
	if (vlen > UIO_MAXIOV)
		vlen = UIO_MAXIOV; /* as the kernel does */
	int64_t start = timeout ? weft__now() : 0;
	/* The first try, with the caller's time-out, lets the kernel check
	 * every argument; if it brings messages, it also writes back the time
	 * left, counted from now. */
	int r = libc->recvmmsg(fd, vec, vlen, flags | MSG_DONTWAIT, timeout);
	if (r < 0 && errno != EAGAIN)
		return r;
	if (r >= 0 && ((unsigned)r == vlen || (flags & MSG_WAITFORONE)) &&
	    !(flags & MSG_WAITALL))
		return r;
	int64_t end = -1;
	if (timeout)
		end = r > 0 ? weft__now() + timespec_ns(timeout)
			    : start + timespec_ns(timeout);
	r = mmsg_more(&x, vec, vlen, r, end);
	if (r > 0 && timeout) {
		int64_t left = end - weft__now();
		if (left < 0)
			left = 0;
		/* The kernel writes the time left back with put_user: into a
		 * timespec it cannot write (read-only), the call fails with
		 * EFAULT, the messages lost. */
		struct timespec ts = { left / 1000000000, left % 1000000000 };
		if (!weft__copy_checked(timeout, &ts, sizeof ts, true)) {
			errno = EFAULT;
			return -1;
		}
	}
	return r;
}

WEFT_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return weft__recv(fd, buf, n, flags);
}

WEFT_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			     struct sockaddr *addr, socklen_t *alen)
{
	return weft__recvfrom(fd, buf, n, flags, addr, alen);
}

WEFT_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	return weft__recvmsg(fd, msg, flags);
}

WEFT_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen,
			 int flags, struct timespec *timeout)
{
	return weft__recvmmsg(fd, vec, vlen, flags, timeout);
}

/* _FORTIFY_SOURCE's recv: libc itself reports the overflow. */
WEFT_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
			       int flags)
{
	if (n > buflen)
		return weft__libc()->__recv_chk(fd, buf, n, buflen, flags);
	return weft__recv(fd, buf, n, flags);
}

/* _FORTIFY_SOURCE's recvfrom: libc itself reports the overflow. */
WEFT_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n,
				   size_t buflen, int flags,
				   struct sockaddr *addr, socklen_t *alen)
{
	if (n > buflen)
		return weft__libc()->__recvfrom_chk(fd, buf, n, buflen, flags,
						    addr, alen);
	return weft__recvfrom(fd, buf, n, flags, addr, alen);
}
