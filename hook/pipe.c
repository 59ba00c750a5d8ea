/* pipe.c - pipe and pipe2.
 *
 * A pipe never needs O_NONBLOCK from weft: RWF_NOWAIT makes one attempt
 * at a time non-blocking without touching the file's flags, which a
 * forked child or the shell may share.  So the ends are recorded with the
 * program's own view of O_NONBLOCK and nothing else.
 */
#include <fcntl.h>
#include <unistd.h>

#include "io.h"

/* Records a pipe end the kernel just handed out (weft__fd_made also wakes
 * whoever still waited on a file that had the number, closed where weft
 * could not see it). */
static void made(int fd, int flags)
{
	weft__fd_made(fd, flags & O_NONBLOCK ? WEFT__FD_NB : 0);
}

/* pipe2, recording both ends in the fd table.  Returns what pipe2
 * returns, with its errno (EFAULT, EINVAL, EMFILE, ENFILE). */
int weft__pipe2(int fds[2], int flags)
{
	int r = weft__libc()->pipe2(fds, flags);

	if (r == 0) {
		made(fds[0], flags);
		made(fds[1], flags);
	}
	return r;
}

/* pipe, recording both ends in the fd table.  Returns what pipe
 * returns, with its errno. */
int weft__pipe(int fds[2])
{
	int r = weft__libc()->pipe(fds);

	if (r == 0) {
		made(fds[0], 0);
		made(fds[1], 0);
	}
	return r;
}

WEFT_EXPORT int pipe(int fds[2])
{
	return weft__pipe(fds);
}

WEFT_EXPORT int pipe2(int fds[2], int flags)
{
	return weft__pipe2(fds, flags);
}
