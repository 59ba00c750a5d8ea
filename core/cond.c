/* cond.c - condition variables for coroutines.
 *
 * A signaller wakes its waiter holding c's spin lock and lets go of it
 * after; the woken waiter, before it goes on, takes the lock once, so
 * that it cannot free c under its signaller, as a
 * program may as soon as it has its mutex back.  A program may also
 * destroy c right after a broadcast, while the waiters it woke have yet
 * to take the lock: each signaller counts the waiters it woke in
 * leaving_, each counts itself out as it lets go, and
 * pthread_cond_destroy waits until none is left (weft__cond_quiesce),
 * as glibc's waits for its woken waiters.
 */
#include <sched.h>

#include "core.h"
#include "handoff.h"
#include "waitq.h"

/* See core.h. */
int weft__cond_park(weft_cond *c, weft_mutex *m, int64_t deadline)
{
	struct weft__co *co = weft__self();
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */
	struct weft__waiter w = { .co = co };

	co->wait_what = "cond";
	weft__spin_lock(&c->lock_);
	weft__wq_push(&c->head_, &c->tail_, &w);
	/* Parked before m is released: a signal sent the moment m is free
	 * finds us on the queue and cannot be lost. */
	weft__prepark(co);
	weft__spin_unlock(&c->lock_);
	weft_mutex_unlock(m);
	int r = weft__park(co, deadline);
	if (r) {
		weft__spin_lock(&c->lock_);
		weft__wq_remove(&c->head_, &c->tail_, &w);
		weft__spin_unlock(&c->lock_);
	} else {
		weft__spin_lock(&c->lock_); /* the signaller is done with c */
		c->leaving_--;
		weft__spin_unlock(&c->lock_);
	}
	return r;
}

/* See core.h. */
void weft__cond_quiesce(weft_cond *c)
{
	while (__atomic_load_n(&c->leaving_, __ATOMIC_ACQUIRE) > 0) {
		if (weft__running != NULL)
			weft_yield();
		else
			sched_yield();
	}
	/* The last to leave has let go of the lock, too. */
	weft__wq_let_go(&c->lock_);
}

/* Waits on c with m held, until signalled or the deadline.  Returns 0 or
 * ETIMEDOUT (or another wake's reason); m is held again either way. */
int weft__cond_wait_until(weft_cond *c, weft_mutex *m, int64_t deadline)
{
	int r = weft__cond_park(c, m, deadline);

	weft__mutex_lock_until(m, -1);
	return r;
}

/* See weft.h. */
int weft_cond_wait(weft_cond *c, weft_mutex *m)
{
	weft__cond_wait_until(c, m, -1);
	return 0;
}

/* See weft.h. */
int weft_cond_timedwait(weft_cond *c, weft_mutex *m, int64_t timeout_ns)
{
	int r = weft__cond_wait_until(c, m, weft__deadline(timeout_ns));

	if (r == 0)
		return 0;
	errno = r;
	return -1;
}

/* See weft.h. */
int weft_cond_signal(weft_cond *c)
{
	weft__spin_lock(&c->lock_);
	if (weft__wq_wake_one(&c->head_, &c->tail_) != NULL)
		c->leaving_++;
	weft__spin_unlock(&c->lock_);
	return 0;
}

/* See weft.h. */
int weft_cond_broadcast(weft_cond *c)
{
	weft__spin_lock(&c->lock_);
	while (weft__wq_wake_one(&c->head_, &c->tail_) != NULL)
		c->leaving_++;
	weft__spin_unlock(&c->lock_);
	return 0;
}
