/* waitq.h - FIFO queues of parked coroutines behind a spin lock.
 *
 * The synchronisation objects (mutex, cond, sem, wait group) and the fd
 * waiters share these.  The lock is held only to link or unlink a waiter,
 * never across a park, so it spins for nanoseconds; it exists for objects
 * shared by coroutines of different OS threads.
 */
#ifndef WEFT_WAITQ_H
#define WEFT_WAITQ_H

#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static inline void weft__spin_lock(int *lock)
{
	unsigned spins = 0;

	weft__spins_held++;
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(lock, __ATOMIC_RELAXED)) {
			/* The holder was preempted: give the CPU back, with
			 * the raw system call, since green threads wrap
			 * sched_yield into a switch of coroutines, which must
			 * never happen while a spin lock is held. */
			if (++spins % 128 == 0)
				syscall(SYS_sched_yield);
			else
				cpu_relax();
		}
	}
}

/* Takes lock if it is free; false if it is held (by a thread a signal
 * handler interrupted, perhaps). */
static inline bool weft__spin_trylock(int *lock)
{
	if (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		return false;
	weft__spins_held++;
	return true;
}

static inline void weft__spin_unlock(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
	weft__spins_held--;
}

/* A queue is a head and a tail pointer living in some object (a mutex,
 * an fd's watcher); its identity is the address of its head.  Waiters are
 * nodes on the parked coroutine's own stack, so one coroutine can wait in
 * several queues at once (poll on many fds) and nothing is allocated. */
static inline void weft__wq_push(void **head, void **tail,
				 struct weft__waiter *w)
{
	struct weft__waiter *last = *tail;

	w->next = NULL;
	w->prev = last;
	w->queue = head;
	if (last)
		last->next = w;
	else
		*head = w;
	*tail = w;
}

/* Puts w first in the queue: a waiter that was woken, and must wait
 * again, keeps its turn. */
static inline void weft__wq_push_front(void **head, void **tail,
				       struct weft__waiter *w)
{
	struct weft__waiter *first = *head;

	w->prev = NULL;
	w->next = first;
	w->queue = head;
	if (first)
		first->prev = w;
	else
		*tail = w;
	*head = w;
}

/* Unlinks w if it is in this queue; returns whether it was. */
static inline bool weft__wq_remove(void **head, void **tail,
				   struct weft__waiter *w)
{
	if (w->queue != head)
		return false;
	if (w->prev)
		w->prev->next = w->next;
	else
		*head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		*tail = w->prev;
	w->queue = NULL;
	return true;
}

/* The end of a park a waker ended, where the object (a mutex, condition,
 * semaphore) may be freed as soon as the caller goes on: POSIX lets a
 * woken thread destroy and free it at once, and glibc's wakers never
 * touch an object after their wake.  weft's wake their waiter holding
 * the object's spin lock, and let go of it after, so the woken waiter
 * takes lock once, and with it waits for its waker to be done with the
 * object. */
static inline void weft__wq_let_go(int *lock)
{
	weft__spin_lock(lock);
	weft__spin_unlock(lock);
}

/* Takes the longest waiter off the queue, or NULL. */
static inline struct weft__waiter *weft__wq_pop(void **head, void **tail)
{
	struct weft__waiter *w = *head;

	if (w)
		weft__wq_remove(head, tail, w);
	return w;
}

/* Pops waiters until one can be woken (others timed out meanwhile);
 * returns it, or NULL. */
static inline struct weft__waiter *weft__wq_wake_one(void **head,
						     void **tail)
{
	struct weft__waiter *w;

	while ((w = weft__wq_pop(head, tail)) != NULL)
		if (weft__wake(w->co, 0))
			return w;
	return NULL;
}

/* Parks the caller, whose node w is already pushed on a queue guarded by
 * lock, held, until woken or the deadline; unlocks first and takes lock
 * again after.  On a time-out (or another wake's reason) w is unlinked
 * again.  Returns the waker's reason (0) or ETIMEDOUT, lock held. */
static inline int weft__wq_sleep(int *lock, void **head, void **tail,
				 struct weft__waiter *w, int64_t deadline)
{
	weft__prepark(w->co);
	weft__spin_unlock(lock);
	int r = weft__park(w->co, deadline);
	weft__spin_lock(lock);
	if (r)
		weft__wq_remove(head, tail, w);
	return r;
}

/* Queues w, first if it was woken already and must wait again (it keeps
 * its turn), then sleeps as weft__wq_sleep. */
static inline int weft__wq_wait(int *lock, void **head, void **tail,
				struct weft__waiter *w, bool again,
				int64_t deadline)
{
	if (again)
		weft__wq_push_front(head, tail, w);
	else
		weft__wq_push(head, tail, w);
	return weft__wq_sleep(lock, head, tail, w, deadline);
}

/* weft__wq_sleep, then lock let go: woken, the caller has waited for its
 * waker to be done with the object (weft__wq_let_go). */
static inline int weft__wq_park(int *lock, void **head, void **tail,
				struct weft__waiter *w, int64_t deadline)
{
	int r = weft__wq_sleep(lock, head, tail, w, deadline);

	weft__spin_unlock(lock);
	return r;
}

#endif
