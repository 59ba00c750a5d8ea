/* io.h - what every wrapper of a call that may block shares.
 *
 * The shape of a wrapper, for a call that waits for fd to be readable:
 *
 *	struct weft__io io;
 *	if (!weft__io_start(&io, fd, WEFT_READ))
 *		return weft__libc()->read(fd, buf, n);    (not ours: as is)
 *	while ((r = ATTEMPT) < 0 && errno == EAGAIN && weft__io_wait(&io) == 0)
 *		;
 *	return r;
 *
 * where ATTEMPT is the call made so that it cannot block: with
 * MSG_DONTWAIT for sockets, or weft__io_readv/weft__io_writev, which
 * never change the file's flags.  weft__io_wait parks the coroutine until
 * the fd is ready and says whether to try again; when not, it has set
 * errno to what the kernel would have given (EAGAIN when SO_RCVTIMEO or
 * SO_SNDTIMEO ran out, EBADF when the fd was closed meanwhile).
 */
#ifndef WEFT_IO_H
#define WEFT_IO_H

#include <sys/uio.h>

#include "core.h"
#include "fd.h"
#include "real.h"

struct weft__io {
	struct weft__co *co;
	struct weft__fd *f;
	int fd;
	int events;        /* WEFT_READ or WEFT_WRITE */
	unsigned flags;    /* the fd's WEFT__FD_* flags at the start */
	int64_t deadline;  /* from SO_RCVTIMEO/SO_SNDTIMEO; set on first wait */
	const char *call;  /* the wrapper, for statistics and dumps */
	bool waited;       /* it has parked at least once */
	int errno_before;  /* errno at the start: a call that succeeds after
			    * a wait leaves it as libc's would */
	bool own_iov;      /* the iovec array is weft's (read, write): it may
			    * be looked at before the kernel has checked it */
	bool rest;         /* a socket write going on after a partial one,
			    * which the kernel ends without SIGPIPE */
	bool cancel;       /* a cancellation point (weft__io_begin) */
	/* What the call holds that a cancel acting at its wait must release
	 * first (a FILE's lock: stdio.c), or NULL. */
	void (*let_go)(struct weft__io *io);
};

/* Decides whether a call on fd waiting for events may park.  Returns false
 * when the real call should be made unchanged: the caller is not a
 * coroutine, or the only one (blocking for real holds nobody up), or fd
 * is untracked, a regular file, or non-blocking in the program's eyes.
 * Otherwise fills *io and returns true.  Never sets errno.  If cancel,
 * the call is a cancellation point (cancel.h): a due cancel acts here
 * first, and one that comes due while it waits ends the wait and acts.
 * The caller must then hold nothing of its own across weft__io_wait. */
bool weft__io_begin(struct weft__io *io, int fd, int events,
		    const char *call, bool cancel);
#define weft__io_start(io, fd, events) \
	weft__io_begin(io, fd, events, weft__call_name(__func__), true)

/* A wrapper's name without weft's prefix: "weft__recv" -> "recv". */
static inline const char *weft__call_name(const char *func)
{
	return __builtin_strncmp(func, "weft__", 6) == 0 ? func + 6 : func;
}

/* Parks until io's fd is ready.  Returns 0 to try again, with errno as it
 * was when the wrapper began, or -1 with errno
 * EAGAIN (the socket's time-out ran out), EBADF (closed while waiting) or
 * ENOMEM. */
int weft__io_wait(struct weft__io *io);

/* Steps *cur (an iovec array of *n entries) over len bytes already
 * transferred, for calls that go on after a partial transfer. */
void weft__iov_advance(struct iovec **cur, size_t *n, size_t len);

/* Parks for ns at most (less if io's socket time-out comes sooner), for
 * waits that readiness cannot end (a full AF_UNIX backlog, a datagram
 * receiver that is full).  Returns 0 to try again, or -1 with errno
 * EAGAIN (the time-out ran out) or EBADF (closed meanwhile). */
int weft__io_nap(struct weft__io *io, int64_t ns);

/* Whether fd is ready for events (POLLIN, POLLOUT) right now, asked in
 * a way that is no cancellation point; a hang-up or an error counts as
 * ready, since the transfer reports it. */
bool weft__fd_ready_now(int fd, short events);

/* Whether io's next read should park before it tries: the last read of
 * this stream socket came back short, so its receive queue was empty a
 * moment ago and a read now would almost surely say EAGAIN.  Waiting on
 * the level-triggered watcher first is never wrong (data that came in the
 * meantime wakes the coroutine at once) and spares that system call. */
static inline bool weft__io_skip_read(const struct weft__io *io)
{
	return (io->flags & WEFT__FD_DRAINED) && !io->waited;
}

/* Whether io, a write on a stream socket that has parked, finds an error
 * waiting on the socket (the peer reset it while the writer waited): if
 * so, takes it as the kernel does and returns true with errno set to it.
 * A sender the kernel blocked checks the error first when it wakes and
 * returns it without SIGPIPE; a fresh AF_UNIX send would see the
 * shut-down peer first and raise SIGPIPE.  Else keeps errno. */
bool weft__io_write_error(struct weft__io *io);

/* Whether a transfer on io that has already moved some bytes (a write
 * going on after a partial one, a MSG_WAITALL read) should end here with
 * that count, before another attempt: io is a TCP socket that was reset
 * (an error waiting and hung up) and, for a read, has nothing left
 * queued.  The call the kernel blocked would return the count then and
 * leave the error (ECONNRESET) for the next call; an attempt would take
 * it.  AF_UNIX takes the error in the same call, as an attempt does.
 * Keeps errno. */
bool weft__io_partial_ends(struct weft__io *io);

/* Notes what a read of `asked` bytes on io returned (see
 * weft__io_skip_read). */
void weft__io_after_read(struct weft__io *io, ssize_t r, size_t asked);

/* Copies n bytes from `from` to `to`, one of which is the caller's memory
 * (`to` if out, else `from`), through the kernel (process_vm_readv/writev
 * on this process): memory the caller gave that cannot be read, or when
 * out written, gives false, as a system call would give EFAULT, instead
 * of a fault in weft.  Where the kernel refuses those calls (a seccomp
 * filter), a plain copy.  Keeps errno. */
bool weft__copy_checked(void *to, const void *from, size_t n, bool out);

/* read(2) and write(2) check a count above MAX_RW_COUNT against the
 * address space before they cap it; readv(2) and recv(2), which weft's
 * attempts use, cap it first.  Whether read (write, if write) of n bytes
 * at buf on fd fails with EFAULT for that (SIZE_MAX, say): if so, sets
 * errno to EFAULT and returns true; else keeps errno. */
bool weft__io_range_fault(int fd, const void *buf, size_t n, bool write);

/* readv(2) that returns -1/EAGAIN instead of blocking, without touching
 * the file's flags: RWF_NOWAIT, or for files that lack it (ttys, FIFOs) a
 * zero-time poll first.  Otherwise as readv. */
ssize_t weft__io_readv(struct weft__io *io, const struct iovec *iov, int n);

/* writev(2) that returns -1/EAGAIN instead of blocking; see
 * weft__io_readv. */
ssize_t weft__io_writev(struct weft__io *io, const struct iovec *iov,
			int n);

/* Writes iov[0..n) through io to the end, parking while the fd is full,
 * as a blocking write(2) does (write.c).  Returns the total written, or
 * -1 with errno if nothing was. */
ssize_t weft__io_write_all(struct weft__io *io, const struct iovec *iov,
			   int n);

/* Reads what weft must know of an fd it did not see made (inherited, or
 * opened by a call weft does not wrap) into its entry.  Returns the
 * flags; 0 if fd is not open. */
unsigned weft__fd_classify(int fd, struct weft__fd *f);

#endif
