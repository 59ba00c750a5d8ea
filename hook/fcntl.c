/* fcntl.c - fcntl, fcntl64 and ioctl.
 *
 * The program has its own view of O_NONBLOCK, kept in the fd table: it is
 * what decides whether a call may park.  Where weft itself had to make a
 * file non-blocking in the kernel (WEFT__FD_KERN_NB), F_GETFL hides that
 * and F_SETFL and FIONBIO cannot undo it.  Duplicating an fd copies weft's
 * view to the new number, and gives the number it would get natively
 * even where weft's own fds lie (core/ownfd.h); the waiting locks go to
 * flock.c.  Everything else passes through untouched.
 *
 * The third argument is read as a pointer-sized value whatever the
 * command, as glibc itself does: the ABIs weft runs on pass an int and a
 * pointer in the same register, and the kernel takes the int from its low
 * half.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "hooks.h"
#include "io.h"
#include "ownfd.h"

/* fd's entry if weft has classified it, else NULL: an fd weft knows
 * nothing about cannot have weft's O_NONBLOCK, and when it is first used
 * its flags are read from the kernel, which then holds the program's own
 * view.  Sparing the classification here keeps fcntl on files weft never
 * waits for free of extra system calls. */
static struct weft__fd *known(int fd)
{
	struct weft__fd *f = weft__fd_get(fd);

	return f && (weft__fd_flags(f) & WEFT__FD_KNOWN) ? f : NULL;
}

/* Whether weft keeps O_NONBLOCK in the kernel for f. */
static bool kern_nb(const struct weft__fd *f)
{
	return f && (weft__fd_flags(f) & WEFT__FD_KERN_NB);
}

/* F_GETFL: the file's flags as the program set them. */
static int getfl(int fd)
{
	int r = weft__libc()->fcntl(fd, F_GETFL);
	struct weft__fd *f;

	if (r >= 0 && (f = known(fd)) != NULL &&
	    (weft__fd_flags(f) & (WEFT__FD_KERN_NB | WEFT__FD_NB)) ==
		    WEFT__FD_KERN_NB)
		r &= ~O_NONBLOCK;
	return r;
}

/* F_SETFL: records the program's O_NONBLOCK, keeping weft's in the
 * kernel. */
static int setfl(int fd, void *arg)
{
	int flags = (int)(intptr_t)arg; /* the kernel reads an int too */
	struct weft__fd *f = known(fd);

	if (kern_nb(f))
		arg = (void *)(intptr_t)(flags | O_NONBLOCK);
	int r = weft__libc()->fcntl(fd, F_SETFL, arg);
	if (r == 0 && f)
		weft__fd_set(f, WEFT__FD_NB, flags & O_NONBLOCK);
	return r;
}

/* fcntl with the program's view of O_NONBLOCK; same results and errno as
 * fcntl for every command.  arg is the third argument as the caller
 * passed it (ignored by commands that take none). */
int weft__fcntl(int fd, int cmd, void *arg)
{
	const struct weft__real *libc = weft__libc();
	int r;

	switch (cmd) {
	case F_GETFL:
		return getfl(fd);
	case F_SETFL:
		return setfl(fd, arg);
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (weft__ownfd_is_held(fd)) { /* the program never opened it */
			errno = EBADF;
			return -1;
		}
		/* Natively the lowest number >= arg might have been one
		 * that weft holds. */
		r = weft__ownfd_native_dup(libc->fcntl(fd, cmd, arg), fd,
					   (int)(intptr_t)arg,
					   cmd == F_DUPFD_CLOEXEC ?
					   O_CLOEXEC : 0);
		if (r >= 0) {
			weft__fd_gone(r, EBADF);
			weft__fd_copy(fd, r);
		}
		return r;
	case F_SETLKW:
	case F_OFD_SETLKW:
#if F_SETLKW64 != F_SETLKW
	case F_SETLKW64:
#endif
		return weft__fcntl_lock(fd, cmd, arg);
	default:
		return libc->fcntl(fd, cmd, arg);
	}
}

/* ioctl with the program's view of O_NONBLOCK for FIONBIO; same results
 * and errno as ioctl for every request.  arg is the third argument as the
 * caller passed it. */
int weft__ioctl(int fd, unsigned long request, void *arg)
{
	const struct weft__real *libc = weft__libc();
	int r = libc->ioctl(fd, request, arg);

	/* The kernel takes the request as an unsigned int: higher bits do
	 * not keep it from being FIONBIO. */
	if ((unsigned)request != FIONBIO || r < 0)
		return r;
	/* The kernel read *arg, so it is readable; it also obeyed it, so
	 * turning non-blocking off must be undone where weft needs it on
	 * (a brief window: weft's own attempts may block that long). */
	struct weft__fd *f = known(fd);
	int on = *(const int *)arg;
	if (f == NULL)
		return r;
	weft__fd_set(f, WEFT__FD_NB, on);
	if (!on && kern_nb(f)) {
		int one = 1, saved = errno;
		libc->ioctl(fd, FIONBIO, &one);
		errno = saved;
	}
	return r;
}

WEFT_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return weft__fcntl(fd, cmd, arg);
}

WEFT_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return weft__fcntl(fd, cmd, arg);
}

WEFT_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;

	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return weft__ioctl(fd, request, arg);
}
