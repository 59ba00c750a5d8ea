/* futex.c - futex waits that park the coroutine, not the thread.
 *
 * Libraries that build their own locks on futexes (GLib's GMutex and
 * GCond, liburcu) call syscall(SYS_futex, ...) through libc.  A green
 * thread that waited in the kernel there would stop its whole OS thread,
 * and with it the green thread it waits for.  So a coroutine's FUTEX_WAIT
 * parks it in this table instead, keyed by the futex's address, and a
 * FUTEX_WAKE from anybody (coroutine or real thread) wakes the coroutines
 * parked here before the real call wakes threads waiting in the kernel.
 *
 * A wake that bypasses libc's syscall() (an inline system call, another
 * process through a shared mapping) is not seen here.  Futex protocols
 * change the word before they wake, so a parked waiter also looks at its
 * word every RECHECK and returns as if woken once it changed: a wake-up
 * the caller's protocol must take anyway, since futex waits may end
 * spuriously.
 */
#include <errno.h>
#include <stdint.h>

#include "cancel.h"
#include "core.h"
#include "handoff.h"
#include "waitq.h"

#define BUCKETS 256
#define RECHECK (10 * (int64_t)1000000) /* ns */

/* A parked waiter: the queue node plus what it waits on. */
struct fwaiter {
	struct weft__waiter w;
	const uint32_t *uaddr;
	uint32_t bitset;
};

static struct bucket {
	int lock; /* a spin lock: see waitq.h */
	void *head, *tail;
} buckets[BUCKETS];

/* Coroutines parked here, so that wakes with none cost one load. */
static _Atomic long parked;

static struct bucket *bucket_of(const uint32_t *uaddr)
{
	uintptr_t a = (uintptr_t)uaddr;

	return &buckets[((a >> 2) ^ (a >> 12)) % BUCKETS];
}

/* See core.h. */
int weft__futex_wait(struct weft__co *co, const uint32_t *uaddr,
		     uint32_t val, uint32_t bitset, int64_t deadline)
{
	struct bucket *b = bucket_of(uaddr);
	struct fwaiter fw = { .w = { .co = co }, .uaddr = uaddr,
			      .bitset = bitset };
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	for (;;) {
		weft__spin_lock(&b->lock);
		if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val) {
			weft__spin_unlock(&b->lock);
			return -EAGAIN;
		}
		weft__wq_push(&b->head, &b->tail, &fw.w);
		atomic_fetch_add(&parked, 1);
		int64_t now = weft__now(), until = now + RECHECK;
		bool last = deadline >= 0 && deadline <= until;
		co->wait_what = "futex";
		weft__signal_mark(co);
		weft__prepark(co);
		weft__spin_unlock(&b->lock);
		int r = weft__park(co, last ? deadline : until);
		if (r != 0) {
			/* Timed out or signalled, unless a waker took it off
			 * the queue meanwhile: then the wake counted, and is
			 * ours. */
			weft__spin_lock(&b->lock);
			if (!weft__wq_remove(&b->head, &b->tail, &fw.w))
				r = 0;
			weft__spin_unlock(&b->lock);
		}
		atomic_fetch_sub(&parked, 1);
		if (r == 0)
			return 0;
		if (r == EINTR)
			return -EINTR;
		if (last)
			return -ETIMEDOUT;
		/* The recheck: a word that changed means a wake we missed. */
		if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != val)
			return 0;
	}
}

/* See core.h. */
int weft__futex_wake(const uint32_t *uaddr, int n, uint32_t bitset)
{
	int woken = 0;

	if (n <= 0 || atomic_load(&parked) == 0)
		return 0;
	struct bucket *b = bucket_of(uaddr);
	weft__spin_lock(&b->lock);
	struct weft__waiter *w = b->head;
	while (w != NULL && woken < n) {
		struct fwaiter *fw = (struct fwaiter *)w;
		struct weft__waiter *next = w->next;
		if (fw->uaddr == uaddr && (fw->bitset & bitset)) {
			/* Taken off the queue, it counts as woken even if its
			 * time-out woke it first: it will see it was taken. */
			weft__wq_remove(&b->head, &b->tail, w);
			weft__wake(w->co, 0);
			woken++;
		}
		w = next;
	}
	weft__spin_unlock(&b->lock);
	return woken;
}
