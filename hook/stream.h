/* stream.h - what the stdio wrappers share (stdio.c).
 *
 * glibc's stdio fills and drains a FILE's buffer through its internal
 * read and write, which no interposer sees, so a getc on a socket would
 * stop the whole OS thread.  The wrappers (stdio_in.c, stdio_out.c) take
 * the FILE's lock, move bytes between the caller and the buffer
 * themselves, and at every point where glibc would go to the kernel they
 * first park until the fd is ready (stdio.c), then let glibc (its real
 * __underflow and __overflow) or weft's own parking read and write do
 * the transfer.  So each refill and each flush of a long fread or fwrite
 * waits parked, and the FILE's pointers and flags end as glibc's own code
 * leaves them.
 *
 * A FILE is ours when the caller is a coroutine that is not alone, the
 * FILE is byte-oriented (or not yet oriented) and has an fd that weft
 * would park on (socket, pipe, FIFO, tty; blocking in the program's
 * eyes): exactly when weft__io_begin says so for its fd.  Anything else
 * goes to the real function, untouched.
 */
#ifndef WEFT_STREAM_H
#define WEFT_STREAM_H

#include <stdio.h>

#include "io.h"

/* glibc's FILE flags that <bits/types/struct_FILE.h> leaves out; the
 * values are libio's and part of its ABI (the getc and putc macros of
 * older headers test them inline). */
#define WEFT__IO_UNBUFFERED        0x0002
#define WEFT__IO_NO_READS          0x0004
#define WEFT__IO_NO_WRITES         0x0008
#define WEFT__IO_IN_BACKUP         0x0100
#define WEFT__IO_LINE_BUF          0x0200
#define WEFT__IO_CURRENTLY_PUTTING 0x0800
#define WEFT__IO_IS_APPENDING      0x1000

/* glibc's own buffer calls, which <stdio.h>'s inline getc_unlocked and
 * putc_unlocked (and fread_unlocked, fwrite_unlocked of a few bytes)
 * call when the buffer is empty or full.  weft wraps them too
 * (stdio_in.c, stdio_out.c). */
int __underflow(FILE *fp);

/* A stdio call under way on a FILE that is ours. */
struct weft__stream {
	FILE *fp;
	struct weft__io io; /* on fp's fd; events change with the wait */
	bool locked;        /* this call took fp's lock */
};

/* Decides whether a call on fp that reads (events WEFT_READ) or writes
 * (WEFT_WRITE) is ours (see above).  If not, returns false and the real
 * function must be called.  If so, fills *s, takes fp's lock if lock (and
 * fp is not __fsetlocking's FSETLOCKING_BYCALLER), waiting parked while
 * another thread holds it, and returns true; weft__stream_end must
 * follow.  Keeps errno. */
bool weft__stream_begin(struct weft__stream *s, FILE *fp, int events,
			bool lock, const char *call);
#define weft__stream_start(s, fp, events, lock) \
	weft__stream_begin(s, fp, events, lock, weft__call_name(__func__))

/* Releases what weft__stream_begin took.  Keeps errno. */
void weft__stream_end(struct weft__stream *s);

/* __underflow that parks: fills s's empty buffer (flushing pending output
 * parked first, as glibc does before a read), with a read that cannot
 * block and a wait only when there is nothing to read, and returns the next byte without taking it, or EOF
 * with the FILE's EOF or error flag set and errno as the read left it
 * (EAGAIN when SO_RCVTIMEO ran out, EBADF when the fd was closed while
 * waiting). */
int weft__stream_underflow(struct weft__stream *s);

/* Reads up to n bytes of s into dst as glibc's fread does (whole blocks
 * straight from the fd when the buffer is empty), parking before every
 * read.  Returns the count; short means EOF or an error, flagged on the
 * FILE. */
size_t weft__stream_get(struct weft__stream *s, char *dst, size_t n);

/* Writes s's pending output, parking while the fd is full, and empties
 * the buffer as glibc's flush does.  Returns 0, or EOF with the FILE's
 * error flag set and errno from the write. */
int weft__stream_flush(struct weft__stream *s);

/* Puts n bytes into s as glibc's fwrite does: through the buffer,
 * flushing a full buffer (and, line-buffered, up to each last newline)
 * parked, and writing large runs straight to the fd.  Returns how many
 * were taken; short means an error, flagged on the FILE. */
size_t weft__stream_put(struct weft__stream *s, const char *p, size_t n);

/* Makes a not yet oriented FILE byte-oriented, as glibc's byte calls
 * do. */
static inline void weft__stream_orient(struct weft__stream *s)
{
	if (s->fp->_mode == 0)
		s->fp->_mode = -1;
}

#endif
