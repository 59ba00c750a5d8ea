/* read.c - read, readv and the fortified __read_chk (regular files:
 * file.c). */
#include <limits.h>
#include <unistd.h>

#include "hooks.h"
#include "io.h"

/* readv that parks instead of blocking; same results and errno. */
ssize_t weft__readv(int fd, const struct iovec *iov, int n)
{
	struct weft__io io;
	ssize_t r;

	if (!weft__io_start(&io, fd, WEFT_READ))
		return weft__file_readv(fd, iov, n, -1);
	while ((r = weft__io_readv(&io, iov, n)) < 0 && errno == EAGAIN &&
	       weft__io_wait(&io) == 0)
		;
	return r;
}

/* read that parks instead of blocking; same results and errno. */
ssize_t weft__read(int fd, void *buf, size_t n)
{
	struct weft__io io;
	ssize_t r;

	/* A read of nothing never waits; as readv it would skip checks the
	 * file's own read makes (an eventfd's EINVAL). */
	if (n == 0 || !weft__io_start(&io, fd, WEFT_READ))
		return weft__file_read(fd, buf, n, -1);
	if (weft__io_range_fault(fd, buf, n, false))
		return -1;
	/* The kernel caps a read's count; an iovec longer than SSIZE_MAX
	 * would be EINVAL instead, so cap it the same way. */
	struct iovec iov = { buf, n > SSIZE_MAX ? SSIZE_MAX : n };
	io.own_iov = true;
	while ((r = weft__io_readv(&io, &iov, 1)) < 0 && errno == EAGAIN &&
	       weft__io_wait(&io) == 0)
		;
	return r;
}

WEFT_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	return weft__read(fd, buf, n);
}

WEFT_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	return weft__readv(fd, iov, n);
}

/* _FORTIFY_SOURCE's read: libc itself reports the overflow. */
WEFT_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		return weft__libc()->__read_chk(fd, buf, n, buflen);
	return weft__read(fd, buf, n);
}
