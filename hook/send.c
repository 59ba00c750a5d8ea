/* send.c - send, sendto, sendmsg, sendmmsg.
 *
 * A blocking send becomes sends with MSG_DONTWAIT, the coroutine parking
 * between them; the caller's own MSG_DONTWAIT goes straight to libc.  On
 * a stream socket a blocking send returns only when everything is sent
 * (or on an error or time-out, with what was sent so far), so after a
 * partial send the wrapper goes on, as the kernel does.  Once part of a
 * message is sent, the kernel reports a failure (a broken pipe) as the
 * count sent, without SIGPIPE; the wrapper's follow-up sends carry
 * MSG_NOSIGNAL so as not to raise one either.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

/* One send that must not block, of the caller's kind: sendmsg's if msg
 * is set, else sendto's. */
struct tx {
	struct weft__io io;
	int flags;
	const struct msghdr *msg;
	const void *buf;
	size_t n;
	const struct sockaddr *addr;
	socklen_t alen;
	bool more; /* goes on after a partial send: see transmit */
};

static ssize_t attempt(struct tx *x)
{
	const struct weft__real *libc = weft__libc();

	if (weft__io_write_error(&x->io))
		return -1;
	if (x->msg)
		return libc->sendmsg(x->io.fd, x->msg, x->flags | MSG_DONTWAIT);
	return libc->sendto(x->io.fd, x->buf, x->n, x->flags | MSG_DONTWAIT,
			    x->addr, x->alen);
}

/* Parks after the spins-th EAGAIN in a row.  A socket can call itself
 * writable while sends still say EAGAIN: an unconnected AF_UNIX datagram
 * socket whose receiver is full (the kernel's poll looks at the sender
 * only).  When readiness has twice not helped, nap with growing naps
 * instead of spinning.  Returns 0 to try again, or -1 with errno. */
static int wait_more(struct tx *x, int spins)
{
	if (spins < 2)
		return weft__io_wait(&x->io);
	return weft__io_nap(&x->io,
			    (int64_t)1000000 << (spins < 7 ? spins - 2 : 5));
}

/* The send of the caller's kind, parking until it would not block.
 * MSG_FASTOPEN without a cookie makes a non-blocking sendto start the
 * connection and say EINPROGRESS, where a blocking one waits for it and
 * then sends: wait, then send as on a connected socket. */
static ssize_t transmit(struct tx *x)
{
	ssize_t r;

	for (int spins = 0;; spins++) {
		/* The rest of a send that went in part ends, without taking
		 * the reset that ended it, as in the kernel. */
		if (x->more && weft__io_partial_ends(&x->io))
			return 0;
		r = attempt(x);
		if (r < 0 && errno == EINPROGRESS &&
		    (x->flags & MSG_FASTOPEN)) {
			x->flags &= ~MSG_FASTOPEN;
			errno = EAGAIN;
			spins = -1;
		}
		if (r >= 0 || errno != EAGAIN || wait_more(x, spins) < 0)
			return r;
	}
}

/* The most one send takes, as the kernel caps it (MAX_RW_COUNT). */
static size_t rw_max(void)
{
	return INT_MAX & ~((size_t)getpagesize() - 1);
}

/* sendto (and send) for a call that may park. */
static ssize_t sendto_parked(struct tx *x)
{
	ssize_t r = transmit(x);
	size_t want = x->n < rw_max() ? x->n : rw_max();

	if (r <= 0 || (size_t)r >= want)
		return r;
	/* A stream socket took part: go on with the rest. */
	const char *buf = x->buf;
	size_t done = (size_t)r;
	x->flags = (x->flags | MSG_NOSIGNAL) & ~MSG_FASTOPEN;
	x->more = true;
	while (done < want) {
		x->buf = buf + done;
		x->n = want - done;
		if ((r = transmit(x)) <= 0)
			break; /* report what was sent, as the kernel does */
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* send that parks instead of blocking; same results and errno. */
ssize_t weft__send(int fd, const void *buf, size_t n, int flags)
{
	struct tx x = { .flags = flags, .buf = buf, .n = n };

	if ((flags & MSG_DONTWAIT) || !weft__io_start(&x.io, fd, WEFT_WRITE))
		return weft__libc()->send(fd, buf, n, flags);
	return sendto_parked(&x);
}

/* sendto that parks instead of blocking; same results and errno. */
ssize_t weft__sendto(int fd, const void *buf, size_t n, int flags,
		     const struct sockaddr *addr, socklen_t alen)
{
	struct tx x = { .flags = flags, .buf = buf, .n = n, .addr = addr,
			.alen = alen };

	if ((flags & MSG_DONTWAIT) || !weft__io_start(&x.io, fd, WEFT_WRITE))
		return weft__libc()->sendto(fd, buf, n, flags, addr, alen);
	return sendto_parked(&x);
}


static size_t iov_total(const struct msghdr *msg)
{
	size_t total = 0;

	for (size_t i = 0; i < msg->msg_iovlen; i++)
		total += msg->msg_iov[i].iov_len;
	return total < rw_max() ? total : rw_max();
}

/* sendmsg's rest after done of its bytes went: the data only, since
 * control data (passed fds) goes with the first bytes.  Returns the
 * total sent. */
static size_t sendmsg_rest(struct tx *x, size_t done)
{
	const struct msghdr *msg = x->msg;
	size_t want = iov_total(msg), n = msg->msg_iovlen;
	struct iovec small[8];
	struct iovec *left = n <= 8 ? small : malloc(n * sizeof *left);

	if (left == NULL)
		return done;
	memcpy(left, msg->msg_iov, n * sizeof *left);
	struct msghdr m = { .msg_name = msg->msg_name,
			    .msg_namelen = msg->msg_namelen,
			    .msg_iov = left, .msg_iovlen = n };
	weft__iov_advance(&m.msg_iov, &m.msg_iovlen, done);
	x->msg = &m;
	x->flags = (x->flags | MSG_NOSIGNAL) & ~MSG_FASTOPEN;
	x->more = true;
	while (done < want) {
		ssize_t r = transmit(x);
		if (r <= 0)
			break;
		done += (size_t)r;
		weft__iov_advance(&m.msg_iov, &m.msg_iovlen, (size_t)r);
	}
	x->msg = msg;
	x->more = false;
	if (left != small)
		free(left);
	return done;
}

/* sendmsg that parks instead of blocking; same results and errno. */
ssize_t weft__sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct tx x = { .flags = flags, .msg = msg };

	/* No header: the kernel says EFAULT at once (and attempt() would
	 * take the call for a sendto). */
	if (msg == NULL || (flags & MSG_DONTWAIT) ||
	    !weft__io_start(&x.io, fd, WEFT_WRITE))
		return weft__libc()->sendmsg(fd, msg, flags);
	ssize_t r = transmit(&x);
	/* The kernel has read msg, so it can be read here too. */
	if (r <= 0 || (size_t)r >= iov_total(msg))
		return r;
	return (ssize_t)sendmsg_rest(&x, (size_t)r);
}

/* sendmmsg that parks instead of blocking.  The kernel sends the
 * messages one by one, each as a blocking sendmsg would (with its own
 * SO_SNDTIMEO), and stops at the first that fails or goes only in part;
 * it returns the count sent, or the error if none was.  The wrapper sends
 * what goes without waiting, finishes a message that went in part, and
 * parks before the next. */
int weft__sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags)
{
	struct tx x = { .flags = flags };
	int got = 0;

	if ((flags & MSG_DONTWAIT) || !weft__io_start(&x.io, fd, WEFT_WRITE))
		return weft__libc()->sendmmsg(fd, vec, vlen, flags);
	if (vlen > UIO_MAXIOV)
		vlen = UIO_MAXIOV; /* as the kernel does */
	for (int spins = 0;; spins++) {
		if (weft__io_write_error(&x.io))
			return got > 0 ? got : -1;
		int r = weft__libc()->sendmmsg(fd, vec + got, vlen - got,
					       flags | MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN && wait_more(&x, spins) == 0)
			continue;
		if (r <= 0)
			return got > 0 ? got : r;
		got += r;
		spins = -1;
		x.io.deadline = -2; /* the next message has a time-out afresh */
		struct mmsghdr *last = &vec[got - 1];
		size_t want = iov_total(&last->msg_hdr);
		if (last->msg_len < want) {
			x.flags = flags;
			x.msg = &last->msg_hdr;
			last->msg_len = sendmsg_rest(&x, last->msg_len);
			if (last->msg_len < want)
				return got;
		}
		if ((unsigned)got == vlen)
			return got;
	}
}

WEFT_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return weft__send(fd, buf, n, flags);
}

WEFT_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *addr, socklen_t alen)
{
	return weft__sendto(fd, buf, n, flags, addr, alen);
}

WEFT_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return weft__sendmsg(fd, msg, flags);
}

WEFT_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen,
			 int flags)
{
	return weft__sendmmsg(fd, vec, vlen, flags);
}
