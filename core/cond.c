/* cond.c - condition variables for coroutines. */
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
	}
	return r;
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
	weft__wq_wake_one(&c->head_, &c->tail_);
	weft__spin_unlock(&c->lock_);
	return 0;
}

/* See weft.h. */
int weft_cond_broadcast(weft_cond *c)
{
	weft__spin_lock(&c->lock_);
	while (weft__wq_wake_one(&c->head_, &c->tail_) != NULL)
		;
	weft__spin_unlock(&c->lock_);
	return 0;
}
