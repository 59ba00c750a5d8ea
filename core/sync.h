/* sync.h - read-write locks, barriers and once for coroutines.
 *
 * What green threads' pthread_rwlock_*, pthread_barrier_* and pthread_once
 * map onto (hook/pthread_rwlock.c, hook/pthread_barrier.c,
 * hook/pthread_key.c), in the style of mutex.c: a spin lock held only to
 * link or unlink a waiter, and a FIFO queue of struct weft__waiter nodes
 * on the waiters' own stacks.  Functions return 0 or an error number, as
 * the pthread calls do; none sets errno.  Every object is valid when
 * filled with zero bytes, and works between coroutines of different
 * threads.
 */
#ifndef WEFT_GREEN_CORE_H
#define WEFT_GREEN_CORE_H

#include "core.h"

/* ---- read-write locks (rwlock.c) ---- */

/* Kinds, with the numbers of glibc's PTHREAD_RWLOCK_PREFER_*_NP.  With
 * readers preferred (glibc's default, and what glibc does for
 * PREFER_WRITER too) a reader enters whenever no writer holds the lock,
 * even while writers wait, so a thread may take a read lock it already
 * holds.  With writers preferred, a reader also waits while a writer
 * waits: a recursive read lock can then deadlock, as glibc warns for
 * PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP. */
#define WEFT__RWLOCK_PREFER_READER 0
#define WEFT__RWLOCK_PREFER_WRITER 1
#define WEFT__RWLOCK_PREFER_WRITER_NONRECURSIVE 2

/* A read-write lock.  Its 56 bytes fit in a pthread_rwlock_t, with kind_
 * where glibc keeps its flags and shared_ (unused here) where glibc keeps
 * its process-shared mark, so the pthread mapping can tell glibc's
 * process-shared locks apart and leave them alone.  Fields are private. */
struct weft__rwlock {
	int lock_;
	unsigned readers_;              /* readers inside */
	struct weft__co *writer_;       /* the writer inside, or NULL */
	void *head_;                    /* waiters: events WEFT_READ/WRITE */
	unsigned writers_waiting_;
	int shared_;                    /* for the pthread mapping */
	void *tail_;
	void *unused_;
	int kind_;
	int unused2_;
};

/* Makes rw an unlocked lock of the given kind.  Returns 0 or EINVAL (an
 * unknown kind). */
int weft__rwlock_init(struct weft__rwlock *rw, int kind);

/* Takes rw for reading, parking until deadline (monotonic ns; negative:
 * none).  Returns 0, EDEADLK (the caller holds it for writing), EAGAIN
 * (too many readers), ETIMEDOUT, or EINTR: a signal was sent to the
 * caller, a program thread (sigs.h), while it was parked, and it is no
 * longer queued; it runs the handlers and calls again with the same
 * deadline, as a native wait goes on after them.  After a park that ends
 * otherwise, what was given to it meanwhile is taken (poke.h). */
int weft__rwlock_rdlock_until(struct weft__rwlock *rw, int64_t deadline);

/* As weft__rwlock_rdlock_until but never waits: EBUSY instead. */
int weft__rwlock_tryrdlock(struct weft__rwlock *rw);

/* Takes rw for writing, parking until deadline.  Returns 0, EDEADLK (the
 * caller holds it for writing), ETIMEDOUT or EINTR (a signal, as for
 * weft__rwlock_rdlock_until). */
int weft__rwlock_wrlock_until(struct weft__rwlock *rw, int64_t deadline);

/* As weft__rwlock_wrlock_until but never waits: EBUSY instead. */
int weft__rwlock_trywrlock(struct weft__rwlock *rw);

/* Releases the caller's hold of rw (its write lock, or one read lock) and
 * lets in whom the kind allows.  Returns 0, or EPERM when rw is not held
 * (or is held for writing by another coroutine). */
int weft__rwlock_unlock(struct weft__rwlock *rw);

/* ---- barriers (barrier.c) ---- */

/* A barrier; 32 bytes, the size of a pthread_barrier_t.  mark_ is not
 * used here: the pthread mapping marks its barriers there, where glibc
 * keeps its process-shared flag.  Fields are private. */
struct weft__barrier {
	int lock_;
	unsigned count_;                /* coroutines per round */
	unsigned arrived_;              /* arrived in this round */
	unsigned mark_;
	void *head_, *tail_;
};

/* Makes b a barrier for count coroutines (mark_ is kept).  Returns 0 or
 * EINVAL (count is 0). */
int weft__barrier_init(struct weft__barrier *b, unsigned count);

/* Parks until count coroutines have called it, then all return.  Returns
 * 1 in exactly one of them (the last to come), 0 in the others.  A signal
 * sent to a waiting program thread runs its handlers, as that thread,
 * and the wait goes on (sigs.h). */
int weft__barrier_wait(struct weft__barrier *b);

/* Returns 0, or EBUSY while coroutines wait on b. */
int weft__barrier_destroy(struct weft__barrier *b);

/* ---- once (once.c) ---- */

/* States of a once control: glibc's values, so that a control glibc has
 * run reads as done here and the other way round. */
#define WEFT__ONCE_INIT    0
#define WEFT__ONCE_RUNNING 1
#define WEFT__ONCE_DONE    2

/* Runs init if no call for control has, else waits until the call that
 * runs it has finished: coroutines that come while init runs (and may
 * park) park too, until it returns.  Returns true if this call ran init.
 * A call that finds init done returns at once without touching the
 * scheduler. */
bool weft__once(int *control, void (*init)(void));

#endif
