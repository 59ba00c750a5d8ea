/* write.c - write and writev.
 *
 * A blocking write returns only when everything is written (or on an
 * error or time-out, with what was written so far), so the wrapper keeps
 * going after a partial transfer, as the kernel does for a blocking fd.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

/* See io.h. */
ssize_t weft__io_write_all(struct weft__io *io, const struct iovec *iov,
			   int n)
{
	size_t total = 0;
	ssize_t r;

	/* The common case: one attempt writes everything.  The kernel checks
	 * the iovec array before weft reads it. */
	while ((r = weft__io_writev(io, iov, n)) < 0 && errno == EAGAIN &&
	       weft__io_wait(io) == 0)
		;
	if (r <= 0)
		return r;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if ((size_t)r == total)
		return r;

	/* A partial write: go on with a copy of what is left. */
	struct iovec small[8];
	struct iovec *left = n <= 8 ? small : malloc(n * sizeof *left);
	if (left == NULL)
		return r;
	memcpy(left, iov, n * sizeof *left);
	struct iovec *cur = left;
	size_t done = (size_t)r, cnt = (size_t)n;
	weft__iov_advance(&cur, &cnt, done);
	io->rest = true;
	while (done < total && !weft__io_partial_ends(io)) {
		r = weft__io_writev(io, cur, (int)cnt);
		if (r > 0) {
			done += (size_t)r;
			weft__iov_advance(&cur, &cnt, (size_t)r);
		} else if (r == 0 || errno != EAGAIN || weft__io_wait(io) < 0) {
			break; /* report what was written, as the kernel does */
		}
	}
	if (left != small)
		free(left);
	return (ssize_t)done;
}

/* writev that parks instead of blocking; same results and errno. */
ssize_t weft__writev(int fd, const struct iovec *iov, int n)
{
	struct weft__io io;

	if (!weft__io_start(&io, fd, WEFT_WRITE))
		return weft__libc()->writev(fd, iov, n);
	return weft__io_write_all(&io, iov, n);
}

/* write that parks instead of blocking; same results and errno. */
ssize_t weft__write(int fd, const void *buf, size_t n)
{
	struct weft__io io;

	/* A write of nothing never waits, and as writev it would skip what
	 * the file's own write does with it (an empty datagram is sent). */
	if (n == 0 || !weft__io_start(&io, fd, WEFT_WRITE))
		return weft__libc()->write(fd, buf, n);
	if (weft__io_range_fault(fd, buf, n, true))
		return -1;
	struct iovec iov = { (void *)buf, n > SSIZE_MAX ? SSIZE_MAX : n };
	io.own_iov = true;
	return weft__io_write_all(&io, &iov, 1);
}

WEFT_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	return weft__write(fd, buf, n);
}

WEFT_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	return weft__writev(fd, iov, n);
}
