/* mutex.c - a mutex that parks coroutines instead of threads.
 *
 * Unlock lets the mutex go and wakes its longest waiter to try again, as
 * glibc's and Go's mutexes do: a coroutine that is running takes a free
 * mutex at once, though others wait.  Handing the mutex to the waiter
 * instead, as this file once did, keeps it held by a coroutine that has
 * yet to be scheduled, maybe behind a busy scheduler's whole run queue,
 * and every locker meanwhile parks behind it: a convoy, which once formed
 * lasts.  Under tinyproxy, whose statistics mutex is held for a few
 * instructions, green threads waited for it 1.7 times a request.
 *
 * One waiter at a time is woken to try (WOKEN): more would only find the
 * mutex taken again.  One that finds it taken goes back to the front of
 * the queue.  Barging can starve a waiter, so one that has waited longer
 * than STARVE_NS in all marks the mutex STARVING, and from then on unlock
 * hands it to the longest waiter, which owns it before it runs, until a
 * handed waiter had not waited that long or none is left (Go's
 * sync.Mutex has the same two modes).
 *
 * A program thread's park (weft__mutex_lock_or_signal) is the one place
 * its lock marks for signals (cancel.h): the lock of a mutex that is free
 * pays nothing for them.
 */
#include <limits.h>

#include "core.h"
#include "handoff.h"
#include "poke.h"
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

/* How lock waits for a mutex that is held. */
enum how {
	TRY,            /* not at all: EBUSY */
	WAIT,           /* until it is handed over, or the deadline */
	WAIT_OR_SIGNAL, /* also until a signal is sent to the caller */
};

/* flags_ bits, guarded by the spin lock. */
#define WOKEN    1 /* a waiter unlock woke has yet to try again */
#define STARVING 2 /* unlock hands the mutex to the longest waiter */

#define STARVE_NS 1000000 /* a waiter this late makes the mutex hand over */

static void take(weft_mutex *m, struct weft__co *co)
{
	m->owner_ = co;
	m->depth_ = 1;
}

/* Queues co on m, whose spin lock the caller holds inside the gate, and
 * parks it until it owns m (0), the deadline (ETIMEDOUT) or, if signals,
 * a signal sent to it (EINTR; weft__signal_mark).  Woken by an unlock,
 * it takes m if it is free, or is handed it, or queues again at the
 * front.  Unless 0, co is off the queue again.  Releases the spin
 * lock. */
static int wait_owner(weft_mutex *m, struct weft__co *co, int64_t deadline,
		      bool signals)
{
	int64_t since = weft__now();
	bool again = false;

	co->wait_what = "mutex";
	for (;;) {
		struct weft__waiter w = { .co = co };

		if (signals)
			weft__signal_mark(co);
		int r = weft__wq_wait(&m->lock_, &m->head_, &m->tail_, &w,
				      again, deadline);
		if (r != 0) {
			weft__spin_unlock(&m->lock_);
			return r;
		}
		bool late = weft__now() - since >= STARVE_NS;
		if (m->owner_ == co) { /* handed over */
			if (!late)
				m->flags_ &= ~STARVING;
			weft__spin_unlock(&m->lock_);
			return 0;
		}
		m->flags_ &= ~WOKEN;
		if (m->owner_ == NULL) {
			take(m, co);
			weft__spin_unlock(&m->lock_);
			return 0;
		}
		if (late)
			m->flags_ |= STARVING;
		again = true;
	}
}

/* Locks m, waiting as how says until deadline (negative: for ever).
 * Returns 0 or an errno value.  A mutex that is free, or the caller's,
 * costs the gate and the spin lock, nothing more. */
static int lock(weft_mutex *m, int64_t deadline, enum how how)
{
	struct weft__co *co = weft__self();
	int r;

	bool waited = false;
	{
		WEFT__GATED(); /* from before a waker can find it: handoff.h */

		weft__spin_lock(&m->lock_);
		if (m->owner_ == NULL) {
			take(m, co);
			r = 0;
		} else if (m->owner_ == co && m->kind_ != WEFT_MUTEX_NORMAL) {
			r = 0;
			if (m->kind_ == WEFT_MUTEX_ERRORCHECK)
				r = EDEADLK;
			else if (m->depth_ == UINT_MAX)
				r = EAGAIN;
			else
				m->depth_++;
		} else if (how == TRY) {
			r = EBUSY;
		} else {
			waited = true;
			r = wait_owner(m, co, deadline, how == WAIT_OR_SIGNAL);
		}
		if (!waited)
			weft__spin_unlock(&m->lock_);
	}
	/* Out of the gate, after a park that no signal ended: what was
	 * given meanwhile is taken now (poke.h), as after a native wait;
	 * after no park, what a poke found due in here. */
	if (!waited)
		weft__take_owed(co);
	else if (how == WAIT_OR_SIGNAL && r != EINTR)
		weft__take_due(co);
	return r;
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
	return lock(m, deadline, WAIT);
}

/* See core.h. */
int weft__mutex_lock_or_signal(weft_mutex *m, int64_t deadline)
{
	return lock(m, deadline, WAIT_OR_SIGNAL);
}

/* See weft.h. */
int weft_mutex_lock(weft_mutex *m)
{
	return result(lock(m, -1, WAIT));
}

/* See weft.h. */
int weft_mutex_trylock(weft_mutex *m)
{
	return result(lock(m, -1, TRY));
}

/* See weft.h. */
int weft_mutex_timedlock(weft_mutex *m, int64_t timeout_ns)
{
	return result(lock(m, weft__deadline(timeout_ns), WAIT));
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
	m->owner_ = NULL;
	m->depth_ = 0;
	if (m->flags_ & STARVING) {
		/* Ownership is set before the wake, since a waiter on another
		 * thread may run (and unlock) before this function returns. */
		struct weft__waiter *next;
		while ((next = weft__wq_pop(&m->head_, &m->tail_)) != NULL) {
			take(m, next->co);
			if (weft__wake(next->co, 0))
				break;
			m->owner_ = NULL; /* it timed out meanwhile */
			m->depth_ = 0;
		}
		if (m->head_ == NULL)
			m->flags_ &= ~STARVING;
	} else if (!(m->flags_ & WOKEN) &&
		   weft__wq_wake_one(&m->head_, &m->tail_) != NULL) {
		m->flags_ |= WOKEN;
	}
	weft__spin_unlock(&m->lock_);
	weft__take_owed(co);
	return 0;
}
