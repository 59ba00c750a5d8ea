/* fd.h - the fd table: per-fd state weft keeps for the program. */
#ifndef WEFT_FD_H
#define WEFT_FD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define WEFT__FD_MAX (1u << 20) /* the kernel's default nr_open */

/* Bits of weft__fd.flags. */
enum {
	WEFT__FD_KNOWN   = 1 << 0, /* the fields below are filled in */
	WEFT__FD_PASS    = 1 << 1, /* not pollable (file, dir): never park */
	WEFT__FD_SOCKET  = 1 << 2,
	WEFT__FD_NB      = 1 << 3, /* the program believes it O_NONBLOCK */
	WEFT__FD_KERN_NB = 1 << 4, /* weft set O_NONBLOCK in the kernel */
	WEFT__FD_OURS    = 1 << 5, /* made here, shared with no process */
	WEFT__FD_NO_NOWAIT = 1 << 6, /* RWF_NOWAIT unsupported: poll first */
	WEFT__FD_STREAM  = 1 << 7, /* a SOCK_STREAM socket: send() is write() */
	WEFT__FD_DRAINED = 1 << 8, /* its last read emptied it: wait first */
	WEFT__FD_FILE    = 1 << 9, /* a regular file (PASS too): reads the
	                              page cache cannot answer are offloaded */
};

struct weft__fd {
	_Atomic unsigned flags;
	_Atomic int64_t rcvtimeo; /* SO_RCVTIMEO in ns; 0: none */
	_Atomic int64_t sndtimeo; /* SO_SNDTIMEO in ns; 0: none */
	_Atomic unsigned gen;     /* counts weft__fd_gone calls: which file */
};

/* The entry for fd, made on first use; NULL for an fd weft does not
 * track (out of range, or no memory). */
struct weft__fd *weft__fd_get(int fd);

/* The entry for fd if weft has one, never making one: NULL otherwise. */
struct weft__fd *weft__fd_peek(int fd);

/* Clears fd's entry: it was closed or replaced. */
void weft__fd_forget(int fd);

/* Records an fd a wrapper just made, with its WEFT__FD_* flags. */
void weft__fd_made(int fd, unsigned flags);

/* Gives newfd oldfd's entry: after a dup they share one open file. */
void weft__fd_copy(int oldfd, int newfd);

/* Calls fn(fd, f, arg) for every fd whose entry has a flag set, in
 * increasing order.  Takes no lock, allocates nothing and makes no system
 * call, so it is safe in a fork child; entries of fds closed behind weft's
 * back may be visited. */
void weft__fd_each(void (*fn)(int fd, struct weft__fd *f, void *arg),
		   void *arg);

/* Sets (on) or clears bits in f's flags. */
void weft__fd_set(struct weft__fd *f, unsigned bits, bool on);

static inline unsigned weft__fd_flags(const struct weft__fd *f)
{
	return atomic_load_explicit(&f->flags, memory_order_acquire);
}

#endif
