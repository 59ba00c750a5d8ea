/* stdio.c - the buffer machinery the stdio wrappers share; see stream.h.
 *
 * The FILE's lock is held across a wait, as glibc holds it across its
 * blocking read: a line another thread asked for first stays whole.  A
 * coroutine that finds the lock taken parks on its word (core/futex.c)
 * instead of sleeping in the kernel, where it would stop its OS thread
 * and so perhaps the very holder; the wrappers wake it when they let go,
 * and a holder that lets go elsewhere (the program's own funlockfile)
 * is noticed within LOCK_NAP.
 */
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>

#include "hooks.h"
#include "stream.h"

/* libio's _IO_FLAGS2_NOTCANCEL: the FILE was opened with fopen's "c". */
#define NOT_CANCEL 2

/* Longest a coroutine waits for a FILE's lock before looking again. */
#define LOCK_NAP (2 * 1000000LL)

/* How many coroutines are waiting for some FILE's lock: while none,
 * letting go of one costs no look-up in the futex table. */
static atomic_int lock_waiters;

/* The word of fp's lock that changes when it is let go: the first of
 * glibc's _IO_lock_t. */
static const uint32_t *lock_word(FILE *fp)
{
	return (const uint32_t *)fp->_lock;
}

/* flockfile that parks while another thread holds the lock. */
static void lock(struct weft__stream *s)
{
	FILE *fp = s->fp;

	if (ftrylockfile(fp) == 0)
		return;
	atomic_fetch_add(&lock_waiters, 1);
	while (ftrylockfile(fp) != 0) {
		uint32_t v = __atomic_load_n(lock_word(fp), __ATOMIC_RELAXED);
		if (v != 0)
			weft__futex_wait(s->io.co, lock_word(fp), v, ~0u,
					 weft__deadline(LOCK_NAP));
	}
	atomic_fetch_sub(&lock_waiters, 1);
}

/* A cancel acts at a wait of s's (io): glibc's own stdio, unwound from
 * its read or write, lets go of the FILE's lock in a cleanup. */
static void let_go(struct weft__io *io)
{
	weft__stream_end((struct weft__stream *)((char *)io -
			 offsetof(struct weft__stream, io)));
}

/* See stream.h. */
bool weft__stream_begin(struct weft__stream *s, FILE *fp, int events,
			bool take, const char *call)
{
	if (weft__hooked() == NULL || fp == NULL)
		return false;
	int never = events & WEFT_READ ? WEFT__IO_NO_READS : WEFT__IO_NO_WRITES;
	/* A call that fails at once, or that glibc's wide-character code
	 * serves, needs no waiting: the real one answers. */
	if (fp->_fileno < 0 || fp->_mode > 0 || (fp->_flags & never))
		return false;
	if (!weft__io_begin(&s->io, fp->_fileno, events, call, false))
		return false;
	int saved = errno;
	s->fp = fp;
	/* glibc's refills and flushes read and write through cancellation
	 * points, unless fopen's "c" made the FILE's calls none; a call
	 * that does not touch the fd is none, so nothing acts on entry. */
	s->io.cancel = !(fp->_flags2 & NOT_CANCEL);
	s->io.let_go = let_go;
	s->locked = take && !(fp->_flags & _IO_USER_LOCK);
	if (s->locked)
		lock(s);
	errno = saved;
	return true;
}

/* See stream.h. */
void weft__stream_end(struct weft__stream *s)
{
	if (!s->locked)
		return;
	int saved = errno;
	funlockfile(s->fp);
	if (atomic_load_explicit(&lock_waiters, memory_order_relaxed) > 0)
		weft__futex_wake(lock_word(s->fp), INT_MAX, ~0u);
	errno = saved;
}

/* Parks until s's fd is ready for events, unless it is already (a hang-up
 * or an error counts: the transfer reports it).  glibc's transfer that
 * follows blocks for real, so a wait that ends without the fd ready (a
 * signal whose handlers all had SA_RESTART) waits again.  Returns 0, or
 * -1 with errno as weft__io_wait leaves it. */
static int wait_ready(struct weft__stream *s, int events, bool poll_first)
{
	short want = events & WEFT_READ ? POLLIN : POLLOUT;
	int saved = errno;

	/* No cancellation point here: a "c" stream's wait is none. */
	if (poll_first && weft__fd_ready_now(s->io.fd, want)) {
		errno = saved;
		return 0;
	}
	/* Each transfer gets the socket's whole time-out, as each blocking
	 * read or write in glibc would. */
	s->io.events = events;
	s->io.deadline = -2;
	do {
		if (weft__io_wait(&s->io) < 0)
			return -1;
	} while (!weft__fd_ready_now(s->io.fd, want));
	errno = saved;
	return 0;
}

/* Whether __underflow on fp would read from its fd: its buffer (and the
 * main one, while ungetc's backup area is in use) is empty and no flag
 * makes it answer at once. */
static bool would_read(FILE *fp)
{
	if (fp->_IO_read_ptr < fp->_IO_read_end ||
	    (fp->_flags & (_IO_EOF_SEEN | WEFT__IO_NO_READS)))
		return false;
	return !(fp->_flags & WEFT__IO_IN_BACKUP) ||
	       fp->_IO_save_end <= fp->_IO_save_base;
}

/* Whether weft, not the program, has O_NONBLOCK on s's fd in the kernel
 * (hook/accept.c, hook/connect.c): glibc's read then says EAGAIN where
 * the program expects it to wait. */
static bool weft_nonblocking(const struct weft__stream *s)
{
	return (weft__fd_flags(s->io.f) & (WEFT__FD_KERN_NB | WEFT__FD_NB)) ==
	       WEFT__FD_KERN_NB;
}

/* Whether s has output waiting in its buffer. */
static bool pending(FILE *fp)
{
	return (fp->_flags & WEFT__IO_CURRENTLY_PUTTING) &&
	       fp->_IO_write_ptr > fp->_IO_write_base;
}

/* Whether glibc's __underflow on fp would do nothing but read into its
 * buffer: the buffer is made, it is not writing, it has no ungetc backup
 * area or markers, and it is neither line-buffered nor unbuffered (whose
 * refill flushes stdout first). */
static bool plain_refill(FILE *fp)
{
	const int other = WEFT__IO_CURRENTLY_PUTTING | WEFT__IO_IN_BACKUP |
			  WEFT__IO_LINE_BUF | WEFT__IO_UNBUFFERED;

	return fp->_IO_buf_base != NULL && !(fp->_flags & other) &&
	       fp->_IO_save_base == NULL && fp->_markers == NULL &&
	       fp->_IO_write_ptr <= fp->_IO_write_base;
}

/* A blocking read of up to n bytes from s's fd into buf, parked while
 * there is nothing, as glibc's file read: the wait of a cancellation
 * point that lets go of the FILE's lock before a cancel acts.  Each read
 * gets the socket's whole time-out, as each of glibc's would.  Returns as
 * read(2). */
static ssize_t read_in(struct weft__stream *s, void *buf, size_t n)
{
	struct iovec iov = { buf, n > SSIZE_MAX ? SSIZE_MAX : n };
	ssize_t r;

	if (weft__io_range_fault(s->io.fd, buf, n, false))
		return -1;
	s->io.events = WEFT_READ;
	s->io.deadline = -2;
	s->io.own_iov = true;
	while ((r = weft__io_readv(&s->io, &iov, 1)) < 0 && errno == EAGAIN &&
	       weft__io_wait(&s->io) == 0)
		;
	return r;
}

/* glibc's file underflow for a FILE plain_refill allows, with the read
 * weft's read makes: an attempt that cannot block, and a wait only when
 * it would have, so a refill that finds bytes costs one system call.
 * Returns as weft__stream_underflow. */
static int refill(struct weft__stream *s)
{
	FILE *fp = s->fp;
	int saved = errno;

	weft__stream_orient(s);
	fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end =
		fp->_IO_buf_base;
	fp->_IO_write_base = fp->_IO_write_ptr = fp->_IO_write_end =
		fp->_IO_buf_base;
	ssize_t r = read_in(s, fp->_IO_buf_base,
			    (size_t)(fp->_IO_buf_end - fp->_IO_buf_base));
	if (r <= 0) {
		fp->_flags |= r == 0 ? _IO_EOF_SEEN : _IO_ERR_SEEN;
		fp->_offset = -1; /* as glibc: the file may change hands */
		if (r == 0)
			errno = saved;
		return EOF;
	}
	fp->_IO_read_end += r;
	if (fp->_offset != -1)
		fp->_offset += r;
	errno = saved;
	return *(unsigned char *)fp->_IO_read_ptr;
}

/* See stream.h. */
int weft__stream_underflow(struct weft__stream *s)
{
	FILE *fp = s->fp;
	bool poll_first = true;
	int saved = errno;

	for (;;) {
		if (would_read(fp)) {
			/* glibc writes pending output before it reads. */
			if (pending(fp) && weft__stream_flush(s) == EOF)
				return EOF;
			if (plain_refill(fp))
				return refill(s);
			if (wait_ready(s, WEFT_READ, poll_first) < 0) {
				fp->_flags |= _IO_ERR_SEEN;
				return EOF;
			}
		}
		int had_error = fp->_flags & _IO_ERR_SEEN;
		errno = 0;
		int c = weft__libc()->__underflow(fp);
		if (c != EOF || errno != EAGAIN || (fp->_flags & _IO_EOF_SEEN) ||
		    !weft_nonblocking(s)) {
			if (errno == 0)
				errno = saved;
			return c;
		}
		/* Nothing was taken: wait, then read again. */
		fp->_flags = (fp->_flags & ~_IO_ERR_SEEN) | had_error;
		poll_first = false;
		errno = saved;
	}
}

/* See stream.h. */
size_t weft__stream_get(struct weft__stream *s, char *dst, size_t n)
{
	FILE *fp = s->fp;
	size_t want = n;

	while (want > 0) {
		ssize_t have = fp->_IO_read_end - fp->_IO_read_ptr;
		if (have > 0) {
			size_t k = (size_t)have < want ? (size_t)have : want;
			memcpy(dst, fp->_IO_read_ptr, k);
			fp->_IO_read_ptr += k;
			dst += k;
			want -= k;
			continue;
		}
		size_t block = fp->_IO_buf_end - fp->_IO_buf_base;
		/* Less than a buffer, a buffer not yet made, the backup
		 * area, pending output: glibc's own refill, parked. */
		if (fp->_IO_buf_base == NULL || want < block ||
		    (fp->_flags & WEFT__IO_IN_BACKUP) || pending(fp)) {
			if (weft__stream_underflow(s) == EOF)
				break;
			continue;
		}
		/* Whole blocks straight into the caller's memory, with the
		 * buffer left empty, as glibc does. */
		fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end =
			fp->_IO_buf_base;
		fp->_IO_write_base = fp->_IO_write_ptr = fp->_IO_write_end =
			fp->_IO_buf_base;
		size_t count = block >= 128 ? want - want % block : want;
		ssize_t r = read_in(s, dst, count);
		if (r <= 0) {
			fp->_flags |= r == 0 ? _IO_EOF_SEEN : _IO_ERR_SEEN;
			break;
		}
		dst += r;
		want -= (size_t)r;
		if (fp->_offset != -1)
			fp->_offset += r;
	}
	return n - want;
}

/* Whether bytes may go straight to s's fd: glibc would first seek over
 * read-ahead (which fails on a pipe or socket, and is its business) or
 * keep a column count. */
static bool direct_ok(FILE *fp)
{
	return ((fp->_flags & WEFT__IO_IS_APPENDING) ||
		fp->_IO_read_end == fp->_IO_write_base) &&
	       fp->_cur_column == 0;
}

/* Writes p[0..n) to s's fd to the end, parked, as glibc's file write
 * does (the waits are a cancellation point's, as read_in's).  Returns the count written; short after an error, which is
 * flagged on the FILE with errno set. */
static size_t write_out(struct weft__stream *s, const char *p, size_t n)
{
	FILE *fp = s->fp;
	size_t done = 0;

	if (fp->_flags & WEFT__IO_IS_APPENDING)
		fp->_offset = -1;
	while (done < n) {
		struct iovec iov = { (char *)p + done, n - done };
		s->io.events = WEFT_WRITE;
		s->io.deadline = -2;
		s->io.own_iov = true;
		s->io.rest = false;
		ssize_t r = weft__io_write_all(&s->io, &iov, 1);
		if (r <= 0) {
			fp->_flags |= _IO_ERR_SEEN;
			break;
		}
		done += (size_t)r;
	}
	if (fp->_offset >= 0)
		fp->_offset += done;
	return done;
}

/* See stream.h. */
int weft__stream_flush(struct weft__stream *s)
{
	FILE *fp = s->fp;

	if (!pending(fp))
		return 0;
	size_t n = fp->_IO_write_ptr - fp->_IO_write_base;
	if (!direct_ok(fp)) {
		if (wait_ready(s, WEFT_WRITE, true) < 0) {
			fp->_flags |= _IO_ERR_SEEN;
			return EOF;
		}
		return weft__libc()->__overflow(fp, EOF) == EOF ? EOF : 0;
	}
	size_t done = write_out(s, fp->_IO_write_base, n);
	/* Written or not, the buffer is empty now, as after glibc's. */
	fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end =
		fp->_IO_buf_base;
	fp->_IO_write_base = fp->_IO_write_ptr = fp->_IO_buf_base;
	fp->_IO_write_end =
		fp->_flags & (WEFT__IO_LINE_BUF | WEFT__IO_UNBUFFERED) ?
		fp->_IO_buf_base : fp->_IO_buf_end;
	return done == n ? 0 : EOF;
}

/* See stream.h. */
size_t weft__stream_put(struct weft__stream *s, const char *p, size_t n)
{
	FILE *fp = s->fp;
	size_t done = 0;

	while (done < n) {
		int flags = fp->_flags;
		size_t left = n - done;
		if (!(flags & WEFT__IO_CURRENTLY_PUTTING) ||
		    fp->_IO_write_base == NULL) {
			/* glibc sets up its put area with the first byte, and
			 * writes it at once only unbuffered, or line-buffered
			 * if it ends a line. */
			unsigned char c = p[done];
			if (((flags & WEFT__IO_UNBUFFERED) ||
			     ((flags & WEFT__IO_LINE_BUF) && c == '\n')) &&
			    wait_ready(s, WEFT_WRITE, true) < 0) {
				fp->_flags |= _IO_ERR_SEEN;
				break;
			}
			if (weft__libc()->__overflow(fp, c) == EOF)
				break;
			done++;
			continue;
		}
		size_t block = fp->_IO_buf_end - fp->_IO_buf_base;
		bool unbuffered = flags & WEFT__IO_UNBUFFERED;
		if (!pending(fp) && (unbuffered || left >= block) &&
		    direct_ok(fp)) {
			/* Unbuffered, all at once; else whole blocks. */
			size_t k = unbuffered || block < 128 ?
				   left : left - left % block;
			size_t w = write_out(s, p + done, k);
			done += w;
			if (w < k)
				break;
			continue;
		}
		size_t room = fp->_IO_buf_end - fp->_IO_write_ptr;
		if (room == 0) {
			if (weft__stream_flush(s) == EOF)
				break;
			continue;
		}
		size_t k = left < room ? left : room;
		const char *nl = NULL;
		if (flags & WEFT__IO_LINE_BUF) {
			nl = memrchr(p + done, '\n', k);
			if (nl != NULL)
				k = (size_t)(nl - (p + done)) + 1;
		}
		memcpy(fp->_IO_write_ptr, p + done, k);
		fp->_IO_write_ptr += k;
		done += k;
		if ((nl != NULL || unbuffered) && weft__stream_flush(s) == EOF)
			break;
	}
	return done;
}
