/* sockopt.c - setsockopt and getsockopt.
 *
 * The kernel keeps every option; weft only copies SO_RCVTIMEO and
 * SO_SNDTIMEO into the fd table, because a coroutine that waits on a
 * socket waits in weft, not in the kernel, and must give up when the
 * kernel would have (io.c's weft__io_wait reads the copies).
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "io.h"

/* The kernel's option numbers, whatever the C library's headers call
 * SO_RCVTIMEO (these are asm-generic's, used by x86-64 and aarch64).  The
 * OLD form takes a timeval of two longs, the NEW form (64-bit time on
 * 32-bit systems) two 64-bit integers; the kernel accepts both. */
#ifndef SO_RCVTIMEO_OLD
#define SO_RCVTIMEO_OLD 20
#define SO_SNDTIMEO_OLD 21
#endif
#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif

struct old_timeval {
	long tv_sec, tv_usec;
};

struct sock_timeval {
	int64_t tv_sec, tv_usec;
};

/* A time-out as the kernel took it, in ns for the fd table: 0 is none.
 * The kernel reads a negative time-out as "do not wait at all", which in
 * ns terms is the shortest wait there is.  One too long for an int64_t
 * of ns (292 years) is as good as none. */
static int64_t timeout_ns(int64_t sec, int64_t usec)
{
	if (sec < 0)
		return 1;
	if (sec >= INT64_MAX / 1000000000 - 1)
		return 0;
	return sec * 1000000000 + usec * 1000;
}

/* setsockopt(2); when the kernel accepted a new SO_RCVTIMEO or
 * SO_SNDTIMEO, the fd's entry learns it.  Returns 0, or -1 with libc's
 * errno. */
int weft__setsockopt(int fd, int level, int name, const void *val,
		     socklen_t len)
{
	int r = weft__libc()->setsockopt(fd, level, name, val, len);

	if (r < 0 || level != SOL_SOCKET)
		return r;
	/* The kernel read val, so it is at least as long as the form; it
	 * need not be aligned. */
	int64_t ns;
	switch (name) {
	case SO_RCVTIMEO_OLD:
	case SO_SNDTIMEO_OLD: {
		struct old_timeval tv;
		memcpy(&tv, val, sizeof tv);
		ns = timeout_ns(tv.tv_sec, tv.tv_usec);
		break;
	}
	case SO_RCVTIMEO_NEW:
	case SO_SNDTIMEO_NEW: {
		struct sock_timeval tv;
		memcpy(&tv, val, sizeof tv);
		ns = timeout_ns(tv.tv_sec, tv.tv_usec);
		break;
	}
	default:
		return r;
	}
	struct weft__fd *f = weft__fd_get(fd);
	if (f == NULL)
		return r;
	bool rcv = name == SO_RCVTIMEO_OLD || name == SO_RCVTIMEO_NEW;
	atomic_store_explicit(rcv ? &f->rcvtimeo : &f->sndtimeo, ns,
			      memory_order_relaxed);
	return r;
}

WEFT_EXPORT int setsockopt(int fd, int level, int name, const void *val,
			   socklen_t len)
{
	return weft__setsockopt(fd, level, name, val, len);
}

/* getsockopt(2) unchanged: the kernel holds the truth. */
WEFT_EXPORT int getsockopt(int fd, int level, int name, void *val,
			   socklen_t *len)
{
	return weft__libc()->getsockopt(fd, level, name, val, len);
}
