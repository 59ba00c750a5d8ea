/* mutex.c - a mutex that parks coroutines instead of threads.
 *
 * Unlock hands the mutex straight to the longest waiter, so waiters are
 * served in order and a woken waiter never has to compete for it again.
 */
#include <limits.h>

#include "core.h"
#include "handoff.h"
#include "waitq.h"

/* See weft.h. */
int weft_mutex_init(weft_mutex *m, int kind)
{
	if (kind < WEFT_MUTEX_NORMAL || kind > WEFT_MUTEX_ERRORCHECK) {
		errno = EINVAL;
		return -1;
	}
	*m = (weft_mutex){ .kind_ = kind };
	return 0;
}

/* Locks m, waiting until deadline (negative: for ever; try: not at all).
 * Returns 0 or an errno value. */
static int lock(weft_mutex *m, int64_t deadline, bool try)
{
	struct weft__co *co = weft__self();
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	weft__spin_lock(&m->lock_);
	if (m->owner_ == NULL) {
		m->owner_ = co;
		m->depth_ = 1;
		weft__spin_unlock(&m->lock_);
		return 0;
	}
	if (m->owner_ == co && m->kind_ != WEFT_MUTEX_NORMAL) {
		int r = 0;
		if (m->kind_ == WEFT_MUTEX_ERRORCHECK)
			r = EDEADLK;
		else if (m->depth_ == UINT_MAX)
			r = EAGAIN;
		else
			m->depth_++;
		weft__spin_unlock(&m->lock_);
		return r;
	}
	if (try) {
		weft__spin_unlock(&m->lock_);
		return EBUSY;
	}
	struct weft__waiter w = { .co = co };
	co->wait_what = "mutex";
	weft__wq_push(&m->head_, &m->tail_, &w);
	/* 0 means the unlocker made us the owner. */
	return weft__wq_park(&m->lock_, &m->head_, &m->tail_, &w, deadline);
}

static int result(int r)
{
	if (r == 0)
		return 0;
	errno = r;
	return -1;
}

/* Locks m until the deadline; returns 0 or an errno value (for the
 * pthread mapping, which returns errors rather than setting errno). */
int weft__mutex_lock_until(weft_mutex *m, int64_t deadline)
{
	return lock(m, deadline, false);
}

/* See weft.h. */
int weft_mutex_lock(weft_mutex *m)
{
	return result(lock(m, -1, false));
}

/* See weft.h. */
int weft_mutex_trylock(weft_mutex *m)
{
	return result(lock(m, -1, true));
}

/* See weft.h. */
int weft_mutex_timedlock(weft_mutex *m, int64_t timeout_ns)
{
	return result(lock(m, weft__deadline(timeout_ns), false));
}

/* See weft.h. */
int weft_mutex_unlock(weft_mutex *m)
{
	struct weft__co *co = weft__self();

	weft__spin_lock(&m->lock_);
	if (m->kind_ != WEFT_MUTEX_NORMAL && m->owner_ != co) {
		weft__spin_unlock(&m->lock_);
		errno = EPERM;
		return -1;
	}
	if (m->kind_ == WEFT_MUTEX_RECURSIVE && --m->depth_ > 0) {
		weft__spin_unlock(&m->lock_);
		return 0;
	}
	/* Ownership is set before the wake, since a waiter on another
	 * thread may run (and unlock) before this function returns. */
	struct weft__waiter *next;
	while ((next = weft__wq_pop(&m->head_, &m->tail_)) != NULL) {
		m->owner_ = next->co;
		m->depth_ = 1;
		if (weft__wake(next->co, 0))
			break;
	}
	if (next == NULL) {
		m->owner_ = NULL;
		m->depth_ = 0;
	}
	weft__spin_unlock(&m->lock_);
	return 0;
}
