/* ownfd.c - weft's own fds: the set of them, the allocator that puts them
 * at the top of the fd range, and what the program's fd calls do when
 * they name one (see ownfd.h).
 *
 * The set is a small array under a spin lock, never allocated into while
 * the lock is held (an allocator may take locks that park).  It is also
 * held across the few system calls that must not interleave with a new
 * own fd: moving one up, and the pieces of a close_range that leaves
 * weft's fds open.  Numbers below weft__ownfd_low are never weft's, so
 * the program's everyday fds cost one compare.
 *
 * Each entry remembers its file (device, inode, type) to know it again:
 * a file closed behind weft's back (a raw system call) whose number was
 * then reused is the program's, not weft's.  epoll fds, eventfds and
 * signalfds all share one inode, so only a file of another kind (the
 * usual open after a sweep) is told apart this way; a number reused by
 * one of the creators weft wraps is caught by weft__ownfd_reused.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "ownfd.h"
#include "sched.h"
#include "waitq.h"

struct entry {
	int fd;
	int was;                   /* waited fds: the number its coroutine
	                              knows it by, if it moved; else -1 */
	dev_t dev;                 /* its file, to know it again */
	ino_t ino;
	mode_t mode;
	struct weft__sched *owner; /* NULL: any thread may move it */
	weft__ownfd_fn *fn;
	void *arg;
};

static int lock;
static struct entry *tab;
static size_t used, cap;

_Atomic int weft__ownfd_low = INT_MAX;
_Atomic unsigned weft__ownfd_moved;
__thread struct weft__sched *weft__ownfd_making
	__attribute__((tls_model("initial-exec")));

static int waited_fn(int fd, void *arg, bool lost);

/* ---- the set ---- */

/* Takes the lock with room for one more entry.  Returns false, without
 * the lock, if there is no memory for it. */
static bool lock_with_room(void)
{
	for (;;) {
		weft__spin_lock(&lock);
		if (used < cap)
			return true;
		size_t want = cap ? 2 * cap : 16;
		weft__spin_unlock(&lock);
		struct entry *t = malloc(want * sizeof *t);
		if (t == NULL)
			return false;
		weft__spin_lock(&lock);
		struct entry *old = NULL;
		if (cap < want) {
			if (used)
				memcpy(t, tab, used * sizeof *t);
			old = tab;
			tab = t;
			cap = want;
			t = NULL;
		}
		weft__spin_unlock(&lock);
		free(t);
		free(old);
	}
}

static void set_low(void)
{
	int low = INT_MAX;

	for (size_t i = 0; i < used; i++)
		if (tab[i].fd < low)
			low = tab[i].fd;
	atomic_store_explicit(&weft__ownfd_low, low, memory_order_relaxed);
}

/* fd's entry, or NULL.  Under the lock. */
static struct entry *find(int fd)
{
	for (size_t i = 0; i < used; i++)
		if (tab[i].fd == fd)
			return &tab[i];
	return NULL;
}

/* Takes e out of the set.  Under the lock. */
static void drop(struct entry *e)
{
	if (e->was >= 0)
		atomic_fetch_sub(&weft__ownfd_moved, 1);
	*e = tab[--used];
	set_low();
}

/* Adds fd (the lock held, with room). */
static void add(int fd, int was, struct weft__sched *owner,
		weft__ownfd_fn *fn, void *arg)
{
	struct entry *e = &tab[used++];
	struct stat st;

	*e = (struct entry){ .fd = fd, .was = was, .owner = owner, .fn = fn,
			     .arg = arg };
	if (fstat(fd, &st) == 0) {
		e->dev = st.st_dev;
		e->ino = st.st_ino;
		e->mode = st.st_mode;
	}
	if (was >= 0)
		atomic_fetch_add(&weft__ownfd_moved, 1);
	set_low();
}

/* Whether fd still holds the file e was made for. */
static bool same_file(const struct entry *e)
{
	struct stat st;

	return fstat(e->fd, &st) == 0 && st.st_dev == e->dev &&
	       st.st_ino == e->ino && st.st_mode == e->mode;
}

/* A copy of fd's entry, if it has one. */
static bool lookup(int fd, struct entry *out)
{
	weft__spin_lock(&lock);
	struct entry *e = find(fd);
	if (e)
		*out = *e;
	weft__spin_unlock(&lock);
	return e != NULL;
}

/* e's file is gone: forgets it, and has its owner make what weft needs
 * afresh. */
static void lost(const struct entry *e)
{
	weft__spin_lock(&lock);
	struct entry *now = find(e->fd);
	bool mine = now && now->fn == e->fn && now->arg == e->arg;
	if (mine)
		drop(now);
	weft__spin_unlock(&lock);
	if (!mine)
		return;
	if (e->owner == NULL)
		e->fn(e->fd, e->arg, true);
	else
		weft__loop_ask(e->owner, e->fd, e->fn, e->arg, true);
}

/* ---- the allocator ---- */

/* See ownfd.h. */
bool weft__ownfd_room(int n)
{
	int fds[8], got = 0, saved = errno;

	while (got < n && got < 8 &&
	       (fds[got] = weft__ownfd_dup_high(0, -1)) >= 0)
		got++;
	if (got < n && got < 8 && errno == EBADF) { /* no fd 0 to copy */
		int probe = (int)syscall(SYS_eventfd2, 0, EFD_CLOEXEC);
		if (probe >= 0) {
			while (got < n && got < 8 &&
			       (fds[got] =
				weft__ownfd_dup_high(probe, -1)) >= 0)
				got++;
			syscall(SYS_close, probe);
		}
	}
	for (int i = 0; i < got; i++)
		syscall(SYS_close, fds[i]);
	errno = saved;
	return got >= n;
}

/* See ownfd.h. */
int weft__ownfd_adopt(int fd, struct weft__sched *owner, weft__ownfd_fn *fn,
		      void *arg)
{
	int saved = errno;

	if (fd < 0 || !lock_with_room()) {
		errno = saved;
		return fd;
	}
	int high = weft__ownfd_dup_high(fd, fd);
	if (high >= 0) {
		syscall(SYS_close, fd);
		fd = high;
	}
	add(fd, -1, owner, fn, arg);
	weft__spin_unlock(&lock);
	errno = saved;
	return fd;
}

/* See ownfd.h. */
int weft__ownfd_copy(int fd, struct weft__sched *owner, weft__ownfd_fn *fn,
		     void *arg)
{
	if (!lock_with_room()) {
		errno = ENOMEM;
		return -1;
	}
	int high = weft__ownfd_dup_high(fd, -1);
	if (high >= 0)
		add(high, -1, owner, fn, arg);
	weft__spin_unlock(&lock);
	return high;
}

/* See ownfd.h. */
void weft__ownfd_forget(int fd)
{
	weft__spin_lock(&lock);
	struct entry *e = find(fd);
	if (e)
		drop(e);
	weft__spin_unlock(&lock);
}

/* See ownfd.h. */
void weft__ownfd_close(int fd)
{
	int saved = errno;

	weft__ownfd_forget(fd);
	weft__fd_gone(fd, EBADF);
	syscall(SYS_close, fd);
	errno = saved;
}

/* See ownfd.h. */
struct weft__sched *weft__ownfd_maker(void)
{
	if (weft__ownfd_making)
		return weft__ownfd_making;
	return weft__loop_context() ? weft__current_sched() : NULL;
}

/* See ownfd.h. */
void weft__ownfd_each(struct weft__sched *owner, weft__ownfd_fn *give_up,
		      void (*fn)(int fd, void *arg), void *arg)
{
	int fds[16];
	size_t n = 0;

	weft__spin_lock(&lock);
	for (size_t i = 0; i < used && n < 16; i++)
		if (tab[i].owner == owner && tab[i].fn == give_up)
			fds[n++] = tab[i].fd;
	weft__spin_unlock(&lock);
	for (size_t i = 0; i < n; i++)
		fn(fds[i], arg);
}

/* See ownfd.h. */
bool weft__ownfd_intact(int fd)
{
	struct entry e;
	int saved = errno;
	bool intact = lookup(fd, &e) && same_file(&e);

	errno = saved;
	return intact;
}

/* ---- the program's calls ---- */

/* See ownfd.h. */
bool weft__ownfd_held(int fd)
{
	struct entry e;
	int saved = errno;
	bool held = false;

	if (weft__ownfd_maker() == NULL && lookup(fd, &e)) {
		held = same_file(&e);
		if (!held)
			lost(&e);
	}
	errno = saved;
	return held;
}

/* See ownfd.h. */
int weft__ownfd_give_up_here(int fd, weft__ownfd_fn *fn, void *arg,
			     bool lost)
{
	int r = fn(fd, arg, lost);

	if (r == 0 && !lost)
		weft__ownfd_forget(fd);
	return r;
}

/* See ownfd.h. */
int weft__ownfd_vacate(int fd)
{
	struct entry e;
	int saved = errno;

	if (!lookup(fd, &e))
		return 0;
	if (!same_file(&e)) {
		lost(&e);
		errno = saved;
		return 0;
	}
	int r = e.owner ? weft__loop_ask(e.owner, fd, e.fn, e.arg, false)
			: weft__ownfd_give_up_here(fd, e.fn, e.arg, false);
	if (r == 0)
		errno = saved;
	return r;
}

/* The lowest of weft's numbers in [from, below), or -1. */
static int lowest_in(int from, int below)
{
	int best = -1;

	weft__spin_lock(&lock);
	for (size_t i = 0; i < used; i++)
		if (tab[i].fd >= from && tab[i].fd < below &&
		    (best < 0 || tab[i].fd < best))
			best = tab[i].fd;
	weft__spin_unlock(&lock);
	return best;
}

/* See ownfd.h. */
int weft__ownfd_native_dup(int r, int src, int from, int flags)
{
	int saved = errno, n;
	struct rlimit rl;

	if (weft__likely(r >= 0 && r <= atomic_load_explicit(
				&weft__ownfd_low, memory_order_relaxed)) ||
	    (r < 0 && errno != EMFILE) || weft__ownfd_maker() != NULL)
		return r;
	/* Without a number free, natively the lowest of weft's below the
	 * limit (above it, the kernel allows none). */
	int below = r >= 0 ? r :
		    getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < INT_MAX ? (int)rl.rlim_cur : INT_MAX;
	errno = saved;
	/* A number whose file is gone is the program's already (it was let
	 * go of as it was found): look on. */
	for (int tries = 0;; tries++) {
		n = lowest_in(from < 0 ? 0 : from, below);
		if (n < 0 || weft__ownfd_held(n))
			break;
		if (tries == 8) {
			n = -1;
			break;
		}
	}
	if (n < 0 || weft__ownfd_vacate(n) < 0) {
		errno = saved;
		return r;
	}
	if (syscall(SYS_dup3, r >= 0 ? r : src, n, flags & O_CLOEXEC) < 0) {
		syscall(SYS_close, n); /* weft's old file, let go of */
		errno = saved;
		return r;
	}
	if (r >= 0)
		syscall(SYS_close, r);
	errno = saved;
	return n;
}

/* The lowest of weft's numbers in [from, last], or -1; under the lock. */
static long next_own(unsigned long from, unsigned last)
{
	long best = -1;

	for (size_t i = 0; i < used; i++) {
		unsigned long fd = (unsigned)tab[i].fd;
		if (fd >= from && fd <= last && (best < 0 || (long)fd < best))
			best = (long)fd;
	}
	return best;
}

/* Lets go of the entries in [first, last] whose files are gone, so that
 * a close_range closes what now has their numbers. */
static void check_range(unsigned first, unsigned last)
{
	for (unsigned long from = first;;) {
		struct entry e;
		weft__spin_lock(&lock);
		long fd = next_own(from, last);
		if (fd >= 0)
			e = *find((int)fd);
		weft__spin_unlock(&lock);
		if (fd < 0)
			return;
		if (!same_file(&e))
			lost(&e);
		from = (unsigned long)fd + 1;
	}
}

/* See ownfd.h.  The range is closed in pieces between weft's numbers;
 * CLOSE_RANGE_UNSHARE goes with the first piece (or alone, if there is
 * none), and CLOSE_RANGE_CLOEXEC, which weft's fds have already, goes
 * through whole. */
int weft__ownfd_close_range(unsigned first, unsigned last, int flags,
			    int (*real)(unsigned, unsigned, int))
{
	if ((flags & ~(CLOSE_RANGE_UNSHARE)) || first > last ||
	    last < (unsigned)atomic_load_explicit(&weft__ownfd_low,
						  memory_order_relaxed) ||
	    weft__ownfd_maker() != NULL)
		return real(first, last, flags);
	check_range(first, last);
	int r = 0;
	bool unshare = flags & CLOSE_RANGE_UNSHARE;
	weft__spin_lock(&lock);
	for (unsigned long from = first; from <= last && r == 0;) {
		long own = next_own(from, last);
		unsigned long to = own < 0 ? last : (unsigned long)own - 1;
		if (own != (long)from) {
			r = real((unsigned)from, (unsigned)to,
				 unshare ? CLOSE_RANGE_UNSHARE : 0);
			unshare = false;
		}
		if (own < 0)
			break;
		from = (unsigned long)own + 1;
	}
	if (r == 0 && unshare)
		r = real(~0U, ~0U, CLOSE_RANGE_UNSHARE);
	weft__spin_unlock(&lock);
	return r;
}

/* See ownfd.h. */
bool weft__ownfd_in_range(int fd, unsigned first, unsigned last)
{
	if ((unsigned)fd < first || (unsigned)fd > last ||
	    fd < atomic_load_explicit(&weft__ownfd_low, memory_order_relaxed))
		return false;
	weft__spin_lock(&lock);
	bool own = find(fd) != NULL;
	weft__spin_unlock(&lock);
	return own;
}

/* See ownfd.h. */
void weft__ownfd_reused(int fd)
{
	int low = atomic_load_explicit(&weft__ownfd_low, memory_order_relaxed);
	struct entry e;

	if (fd >= low && weft__ownfd_maker() == NULL && lookup(fd, &e))
		lost(&e);
}

/* ---- fds coroutines wait on ---- */

/* Lets go of a waited fd (arg: its coroutine), on its owner's thread:
 * moves its file and co's waits to a new number; or, if the file is
 * gone, wakes co's waits with EBADF (they then do without). */
static int waited_fn(int fd, void *arg, bool gone)
{
	struct weft__co *co = arg;

	if (gone) {
		weft__fd_gone_here(co->sched, fd, EBADF);
		return 0;
	}
	struct entry e;
	if (!lookup(fd, &e) || !lock_with_room())
		return -1;
	int to = weft__ownfd_dup_high(fd, -1);
	if (to >= 0)
		add(to, e.was >= 0 ? e.was : fd, e.owner, waited_fn, co);
	weft__spin_unlock(&lock);
	if (to < 0)
		return -1;
	weft__wait_renumber(co->sched, fd, to, co);
	return 0;
}

/* See ownfd.h. */
int weft__ownfd_waited(int fd, struct weft__co *co)
{
	return weft__ownfd_adopt(fd, co->sched, waited_fn, co);
}

/* See ownfd.h. */
int weft__ownfd_forward(int fd, const struct weft__co *co)
{
	weft__spin_lock(&lock);
	for (size_t i = 0; i < used; i++)
		if (tab[i].arg == co && tab[i].was == fd &&
		    tab[i].fn == waited_fn) {
			fd = tab[i].fd;
			break;
		}
	weft__spin_unlock(&lock);
	return fd;
}

/* See ownfd.h. */
void weft__ownfd_waited_close(int fd, struct weft__co *co)
{
	int saved = errno, now = -1;

	if (fd < 0)
		return;
	weft__spin_lock(&lock);
	for (size_t i = 0; i < used; i++)
		if (tab[i].arg == co && tab[i].fn == waited_fn &&
		    (tab[i].fd == fd || tab[i].was == fd)) {
			now = tab[i].fd;
			drop(&tab[i]);
			break;
		}
	weft__spin_unlock(&lock);
	if (now >= 0) {
		weft__fd_gone(now, EBADF);
		syscall(SYS_close, now);
	}
	errno = saved;
}

/* ---- fork ---- */

/* See ownfd.h. */
void weft__ownfd_forked(struct weft__sched *keep)
{
	lock = 0; /* a thread that held it did not come along */
	for (size_t i = 0; i < used;) {
		struct entry *e = &tab[i];
		if (e->owner == NULL ||
		    (e->owner == keep && e->fn != waited_fn)) {
			i++;
			continue;
		}
		syscall(SYS_close, e->fd);
		drop(e);
	}
}
