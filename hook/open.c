/* open.c - open, openat, creat and their 64-bit and fortified twins,
 * for the one case where opening blocks: a FIFO.
 *
 * Opening a FIFO without O_NONBLOCK waits for the other side: a reader for
 * a writer, a writer for a reader (O_RDWR never waits).  Nothing tells
 * readiness before the open, so the wait goes to the offload pool, which
 * makes the very same call: results, errno and the flags of the new file
 * are the kernel's, and a signal or cancel interrupts it as the kernel
 * would (core/offload_intr.c).  Only a coroutine that is not alone asks,
 * and only for flags that could wait, with one fstatat whether the path
 * names a FIFO; every other open is the real call alone.  A writer first
 * tries O_NONBLOCK, which succeeds at once when a reader is there (and then
 * clears the flag on its own, unshared file) and fails with ENXIO when none
 * is.  A reader cannot try so: an O_NONBLOCK reader, however short-lived,
 * would let a non-blocking writer in that our close then leaves with EPIPE;
 * and a reader must return when a writer opens, not when it writes, which
 * poll cannot see.
 *
 * The fstatat is what a coroutine's open of a regular file pays for
 * this (an open and close take half as long again).  Opening every path
 * with O_NONBLOCK first would cost more, not less: the flag must come
 * off again (fcntl) and the file's type be known (fstat); and O_NONBLOCK
 * changes the open itself elsewhere (a tty does not wait for carrier, a
 * leased file fails with EWOULDBLOCK instead of breaking the lease).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "cancel.h"
#include "io.h"
#include "offload.h"

/* Whether an open with flags could wait for a FIFO's other side. */
static bool may_wait(int flags)
{
	int acc = flags & O_ACCMODE;

	return !(flags & (O_NONBLOCK | O_PATH | O_DIRECTORY)) &&
	       (acc == O_RDONLY || acc == O_WRONLY) &&
	       (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL) &&
	       (flags & O_TMPFILE) != O_TMPFILE;
}

/* A writer's open that succeeds only if a reader is there: the new fd
 * without O_NONBLOCK, or -1 with the open's errno (ENXIO: no reader). */
static int open_if_reader(int dirfd, const char *path, int flags,
			  mode_t mode)
{
	const struct weft__real *libc = weft__libc();
	int fd = libc->openat(dirfd, path, flags | O_NONBLOCK, mode);

	if (fd >= 0) {
		int fl = libc->fcntl(fd, F_GETFL);
		if (fl >= 0)
			libc->fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	return fd;
}

/* openat that parks while a FIFO waits for its other side; same results
 * and errno as openat. */
int weft__openat(int dirfd, const char *path, int flags, mode_t mode)
{
	const struct weft__real *libc = weft__libc();
	struct weft__co *co;
	struct stat st;

	if (weft__likely(!may_wait(flags)) || (co = weft__hooked()) == NULL ||
	    weft__alone(co))
		return libc->openat(dirfd, path, flags, mode);
	int saved = errno;
	if (fstatat(dirfd, path, &st, flags & O_NOFOLLOW ?
			    AT_SYMLINK_NOFOLLOW : 0) != 0 ||
	    !S_ISFIFO(st.st_mode)) {
		errno = saved;
		return libc->openat(dirfd, path, flags, mode);
	}
	weft__cancel_point(co); /* before the try, as glibc's */
	if ((flags & O_ACCMODE) == O_WRONLY) {
		int fd = open_if_reader(dirfd, path, flags, mode);
		if (fd >= 0 || errno != ENXIO)
			return fd;
	}
	errno = saved;
	return (int)weft__offload_syscall(WEFT__SYS_CANCEL, SYS_openat, dirfd,
					  (long)path, flags, mode, 0);
}

/* The mode argument, present only when flags create a file. */
#define MODE_ARG(flags, last)                                                 \
	({                                                                    \
		mode_t mode_ = 0;                                             \
		if (__OPEN_NEEDS_MODE(flags)) {                               \
			va_list ap_;                                          \
			va_start(ap_, last);                                  \
			mode_ = va_arg(ap_, mode_t);                          \
			va_end(ap_);                                          \
		}                                                             \
		mode_;                                                        \
	})

WEFT_EXPORT int open(const char *path, int flags, ...)
{
	return weft__openat(AT_FDCWD, path, flags, MODE_ARG(flags, flags));
}

WEFT_EXPORT int open64(const char *path, int flags, ...)
{
	return weft__openat(AT_FDCWD, path, flags,
			    MODE_ARG(flags, flags));
}

WEFT_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	return weft__openat(dirfd, path, flags, MODE_ARG(flags, flags));
}

WEFT_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	return weft__openat(dirfd, path, flags,
			    MODE_ARG(flags, flags));
}

WEFT_EXPORT int creat(const char *path, mode_t mode)
{
	return weft__openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC,
			    mode);
}

WEFT_EXPORT int creat64(const char *path, mode_t mode)
{
	return weft__openat(AT_FDCWD, path,
			    O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* The fortified twins: glibc's own ends the program when flags want a
 * mode they were not given. */
WEFT_EXPORT int __open_2(const char *path, int flags)
{
	if (__OPEN_NEEDS_MODE(flags))
		return weft__libc()->__open_2(path, flags);
	return weft__openat(AT_FDCWD, path, flags, 0);
}

WEFT_EXPORT int __open64_2(const char *path, int flags)
{
	if (__OPEN_NEEDS_MODE(flags))
		return weft__libc()->__open64_2(path, flags);
	return weft__openat(AT_FDCWD, path, flags, 0);
}

WEFT_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	if (__OPEN_NEEDS_MODE(flags))
		return weft__libc()->__openat_2(dirfd, path, flags);
	return weft__openat(dirfd, path, flags, 0);
}

WEFT_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	if (__OPEN_NEEDS_MODE(flags))
		return weft__libc()->__openat64_2(dirfd, path, flags);
	return weft__openat(dirfd, path, flags, 0);
}
