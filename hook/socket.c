/* socket.c - socket, socketpair and shutdown.
 *
 * socket and socketpair only record the new fds: weft made them, so no
 * other process shares their open files, and weft may later set
 * O_NONBLOCK on them in the kernel (accept.c, connect.c) where that saves
 * a thread from blocking.  After shutdown, the coroutines waiting on the
 * socket must try again, as a blocked thread would, to get EOF or EPIPE;
 * the kernel's readiness report wakes them, but for one case: see
 * wake_writers.
 */
#include <sys/socket.h>

#include "io.h"

/* Records a socket weft saw made, blocking unless the type argument has
 * SOCK_NONBLOCK. */
static void made(int fd, int type)
{
	weft__fd_made(fd, WEFT__FD_SOCKET | WEFT__FD_OURS |
			  ((type & 0xf) == SOCK_STREAM ? WEFT__FD_STREAM : 0) |
			  (type & SOCK_NONBLOCK ? WEFT__FD_NB : 0));
}

/* socket(2), recording the new fd as a socket of this process's own.
 * Returns the fd, or -1 with libc's errno. */
int weft__socket(int domain, int type, int protocol)
{
	int fd = weft__libc()->socket(domain, type, protocol);

	if (fd >= 0)
		made(fd, type);
	return fd;
}

/* socketpair(2), recording both fds as sockets of this process's own.
 * Returns 0, or -1 with libc's errno (sv is then untouched). */
int weft__socketpair(int domain, int type, int protocol, int sv[2])
{
	int r = weft__libc()->socketpair(domain, type, protocol, sv);

	if (r == 0) {
		made(sv[0], type);
		made(sv[1], type);
	}
	return r;
}

/* shutdown(2); then the coroutines waiting to write to fd try again, to
 * get EPIPE as a blocked sender would: an AF_UNIX socket whose buffer is
 * full does not report itself writable after SHUT_WR (TCP does), so their
 * waits would not end by themselves.  Returns 0, or -1 with libc's
 * errno. */
int weft__shutdown(int fd, int how)
{
	int r = weft__libc()->shutdown(fd, how);

	if (r == 0 && how != SHUT_RD)
		weft__fd_poke(fd, WEFT_WRITE);
	return r;
}

WEFT_EXPORT int socket(int domain, int type, int protocol)
{
	return weft__socket(domain, type, protocol);
}

WEFT_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	return weft__socketpair(domain, type, protocol, sv);
}

WEFT_EXPORT int shutdown(int fd, int how)
{
	return weft__shutdown(fd, how);
}
