/* fd.c - what weft knows about each fd, shared by all threads.
 *
 * Indexed by fd in two levels: a fixed directory of chunk pointers, and
 * chunks of 256 entries made on first use and never freed, so an entry
 * never moves and a lookup takes no lock.  Fields are atomics: a program
 * may use one fd from several OS threads.  fds at or above WEFT__FD_MAX
 * are not tracked; calls on them go straight to libc.
 */
#include <stdlib.h>

#include "core.h"
#include "fd.h"
#include "ownfd.h"

#define CHUNK 256

static _Atomic(struct weft__fd *) dir[WEFT__FD_MAX / CHUNK];

/* The entry for fd, made if needed; NULL if fd is out of range or memory
 * is short (the caller then treats fd as untracked). */
struct weft__fd *weft__fd_get(int fd)
{
	if ((unsigned)fd >= WEFT__FD_MAX)
		return NULL;
	_Atomic(struct weft__fd *) *slot = &dir[fd / CHUNK];
	struct weft__fd *chunk = atomic_load_explicit(slot,
						      memory_order_acquire);
	if (weft__unlikely(chunk == NULL)) {
		struct weft__fd *made = calloc(CHUNK, sizeof *made);
		if (made == NULL)
			return NULL;
		if (atomic_compare_exchange_strong(slot, &chunk, made))
			chunk = made;
		else
			free(made); /* another thread won; chunk is theirs */
	}
	return &chunk[fd % CHUNK];
}

/* See fd.h. */
struct weft__fd *weft__fd_peek(int fd)
{
	if ((unsigned)fd >= WEFT__FD_MAX)
		return NULL;
	struct weft__fd *chunk = atomic_load_explicit(&dir[fd / CHUNK],
						      memory_order_acquire);
	return chunk ? &chunk[fd % CHUNK] : NULL;
}

/* Forgets everything about fd (it was closed, or is about to be reused).
 * Never allocates: an fd weft never tracked has nothing to forget. */
void weft__fd_forget(int fd)
{
	struct weft__fd *f = weft__fd_peek(fd);

	if (f) {
		atomic_store_explicit(&f->flags, 0, memory_order_relaxed);
		atomic_store_explicit(&f->rcvtimeo, 0, memory_order_relaxed);
		atomic_store_explicit(&f->sndtimeo, 0, memory_order_relaxed);
	}
}

/* Records a new fd whose kind and flags the caller knows (it made it). */
void weft__fd_made(int fd, unsigned flags)
{
	struct weft__fd *f = weft__fd_get(fd);

	/* weft's own fds (the loop's epoll fd and eventfd, pidfds...) are
	 * made while weft__inside is set: no wrapper may ever wait on them. */
	if (weft__inside)
		flags |= WEFT__FD_PASS;
	/* The number may have belonged to a file closed where weft could
	 * not see it (fclose): its waiters and watcher go.  If it was one of
	 * weft's own, that one was closed behind weft's back. */
	weft__fd_gone(fd, EBADF);
	weft__ownfd_reused(fd);
	if (f) {
		atomic_store_explicit(&f->rcvtimeo, 0, memory_order_relaxed);
		atomic_store_explicit(&f->sndtimeo, 0, memory_order_relaxed);
		atomic_store_explicit(&f->flags, flags | WEFT__FD_KNOWN,
				      memory_order_release);
	}
}

/* Sets or clears bits of fd's flags. */
void weft__fd_set(struct weft__fd *f, unsigned bits, bool on)
{
	if (on)
		atomic_fetch_or_explicit(&f->flags, bits, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&f->flags, ~bits,
					  memory_order_relaxed);
}

/* Gives newfd what weft knew of oldfd: after a dup they share one file. */
void weft__fd_copy(int oldfd, int newfd)
{
	struct weft__fd *from = weft__fd_get(oldfd);
	struct weft__fd *to = weft__fd_get(newfd);

	if (from == NULL || to == NULL)
		return;
	atomic_store(&to->rcvtimeo, atomic_load(&from->rcvtimeo));
	atomic_store(&to->sndtimeo, atomic_load(&from->sndtimeo));
	atomic_store_explicit(&to->flags, weft__fd_flags(from),
			      memory_order_release);
}

/* Calls fn for every fd whose entry has a flag set, in increasing order;
 * see fd.h. */
void weft__fd_each(void (*fn)(int fd, struct weft__fd *f, void *arg),
		   void *arg)
{
	for (unsigned c = 0; c < WEFT__FD_MAX / CHUNK; c++) {
		struct weft__fd *chunk =
			atomic_load_explicit(&dir[c], memory_order_acquire);
		if (chunk == NULL)
			continue;
		for (unsigned i = 0; i < CHUNK; i++)
			if (weft__fd_flags(&chunk[i]) != 0)
				fn((int)(c * CHUNK + i), &chunk[i], arg);
	}
}
