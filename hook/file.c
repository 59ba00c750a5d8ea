/* file.c - regular files: a read that would wait for the disk, and
 * fsync, run on the offload pool while the coroutine parks.
 *
 * Reads of regular files used to go straight through: the page cache
 * answers in microseconds.  But a read that misses it waits for the disk
 * and would stop every other coroutine of the OS thread with it.  So a
 * coroutine that is not alone tries its read with RWF_NOWAIT first, which
 * the page cache answers at once or refuses with EAGAIN; only a refused
 * read (or the rest of one the cache answered in part) goes to a pool
 * thread, which may block.  A cached read thus costs one system call, as
 * before.  fsync and fdatasync always wait for the disk, so they go to
 * the pool whenever another coroutine could run meanwhile.  Roots alone,
 * other files and fds outside a coroutine: libc's calls, untouched.
 *
 * Each is a cancellation point, as glibc makes them: a read's first try
 * is glibc's own (preadv2, which acts on a due cancel), fsync's entry is
 * weft's, and a cancel sent while the pool waits for the disk acts once
 * it is done (see offload).
 */
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cancel.h"
#include "hooks.h"
#include "io.h"
#include "offload.h"

/* One read or sync, as a pool thread runs it. */
struct file_job {
	int fd;
	const struct iovec *iov;
	int n;
	off_t off;      /* -1: at (and moving) the file's offset */
	int (*sync)(int);
	ssize_t r;
	int err;
};

static void run_job(void *p)
{
	struct file_job *j = p;
	const struct weft__real *libc = weft__libc();

	if (j->sync)
		j->r = j->sync(j->fd);
	else if (j->off < 0)
		j->r = libc->readv(j->fd, j->iov, j->n);
	else
		j->r = libc->preadv(j->fd, j->iov, j->n, j->off);
	j->err = errno;
}

/* Runs j on the pool (or here, if no pool thread can be had); returns
 * its result with its errno.  glibc's reads, fsync and fdatasync are
 * cancellation points, but the disk's wait is uninterruptible: natively
 * a cancel sent meanwhile acts as the system call returns (SIGCANCEL is
 * taken then), so here it acts once the job is done. */
static ssize_t offload(struct file_job *j)
{
	struct weft__co *co = weft__running;

	co->wait_what = j->sync ? "fsync" : "disk";
	if (weft__offload(run_job, j) != 0)
		run_job(j);
	weft__cancel_point(co);
	if (j->r < 0)
		errno = j->err;
	return j->r;
}

/* The coroutine a call on fd would hold up, if fd is a regular file and
 * another coroutine could run meanwhile; NULL otherwise. */
static struct weft__co *file_caller(int fd)
{
	struct weft__co *co = weft__hooked();

	if (co == NULL || weft__alone(co))
		return NULL;
	struct weft__fd *f = weft__fd_get(fd);
	if (f == NULL)
		return NULL;
	unsigned flags = weft__fd_flags(f);
	if (weft__unlikely(!(flags & WEFT__FD_KNOWN)))
		flags = weft__fd_classify(fd, f);
	return flags & WEFT__FD_FILE ? co : NULL;
}

/* The rest of a read of a regular file after the page cache answered
 * `done` bytes of it without waiting: on the pool. */
static ssize_t read_rest(int fd, const struct iovec *iov, int n, off_t off,
			 size_t done)
{
	struct iovec rest[IOV_MAX];
	struct iovec *cur = rest;
	size_t left = (size_t)n;

	for (int i = 0; i < n; i++)
		rest[i] = iov[i];
	weft__iov_advance(&cur, &left, done);
	struct file_job j = { .fd = fd, .iov = cur, .n = (int)left,
			      .off = off < 0 ? -1 : off + (off_t)done };
	ssize_t more = offload(&j);
	if (more < 0)
		return done ? (ssize_t)done : -1;
	return (ssize_t)done + more;
}

/* Whether a read of fd at off (-1: its offset, already moved) that gave
 * r bytes, fewer than asked, stopped at the end of the file rather than
 * at the end of what the page cache held.  Keeps errno. */
static bool at_end(int fd, off_t off, ssize_t r)
{
	struct stat st;
	int saved = errno;
	off_t pos = off < 0 ? lseek(fd, 0, SEEK_CUR) : off + r;
	bool end = pos >= 0 && fstat(fd, &st) == 0 && pos >= st.st_size;

	errno = saved;
	return end;
}

/* See hooks.h. */
ssize_t weft__file_readv(int fd, const struct iovec *iov, int n, off_t off)
{
	const struct weft__real *libc = weft__libc();

	if (file_caller(fd) == NULL)
		return off < 0 ? libc->readv(fd, iov, n) :
				 libc->preadv(fd, iov, n, off);
	ssize_t r = libc->preadv2(fd, iov, n, off, RWF_NOWAIT);
	if (r < 0 && errno == EOPNOTSUPP) /* no RWF_NOWAIT on this file */
		return off < 0 ? libc->readv(fd, iov, n) :
				 libc->preadv(fd, iov, n, off);
	if (r < 0 && errno != EAGAIN)
		return r; /* the read's own error, as the real call's */
	size_t want = 0;
	if (r > 0) /* the kernel has read the iovecs: they are sound */
		for (int i = 0; i < n; i++)
			want += iov[i].iov_len;
	if (r == 0 || (r > 0 && ((size_t)r == want || at_end(fd, off, r))))
		return r;
	return read_rest(fd, iov, n, off, r > 0 ? (size_t)r : 0);
}

/* See hooks.h. */
ssize_t weft__file_read(int fd, void *buf, size_t n, off_t off)
{
	struct iovec iov = { buf, n };

	if (n == 0 || n > SSIZE_MAX || file_caller(fd) == NULL)
		return off < 0 ? weft__libc()->read(fd, buf, n) :
				 weft__libc()->pread(fd, buf, n, off);
	return weft__file_readv(fd, &iov, 1, off);
}

/* fsync and fdatasync: on the pool when another coroutine could run. */
static int sync_file(int fd, int (*real)(int))
{
	struct weft__co *co = file_caller(fd);

	if (co == NULL)
		return real(fd);
	weft__cancel_point(co); /* as glibc's, on entry */
	struct file_job j = { .fd = fd, .sync = real };
	return (int)offload(&j);
}

WEFT_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return weft__file_read(fd, buf, n, off);
}

WEFT_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return weft__file_read(fd, buf, n, off);
}

WEFT_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	/* A negative offset or count: the real call's EINVAL. */
	if (off < 0 || n <= 0 || n > IOV_MAX)
		return weft__libc()->preadv(fd, iov, n, off);
	return weft__file_readv(fd, iov, n, off);
}

WEFT_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int n,
			     off_t off)
{
	return preadv(fd, iov, n, off);
}

/* _FORTIFY_SOURCE's pread: libc itself reports the overflow. */
WEFT_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off,
				size_t buflen)
{
	if (n > buflen)
		return weft__libc()->__pread_chk(fd, buf, n, off, buflen);
	return weft__file_read(fd, buf, n, off);
}

WEFT_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
				  size_t buflen)
{
	if (n > buflen)
		return weft__libc()->__pread64_chk(fd, buf, n, off, buflen);
	return weft__file_read(fd, buf, n, off);
}

WEFT_EXPORT int fsync(int fd)
{
	return sync_file(fd, weft__libc()->fsync);
}

WEFT_EXPORT int fdatasync(int fd)
{
	return sync_file(fd, weft__libc()->fdatasync);
}
