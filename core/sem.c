/* sem.c - counting semaphores for coroutines.
 *
 * A post adds its unit and wakes the longest waiter to take it, as
 * glibc's does: a running coroutine may take the unit first, and a woken
 * waiter that finds none waits again at the front of the queue.  Handing
 * the unit to the waiter instead kept it from every running coroutine
 * until the waiter was scheduled: the convoy mutex.c describes, for the
 * programs whose locks are semaphores (CPython's are).
 */
#include <limits.h>

#include "core.h"
#include "handoff.h"
#include "waitq.h"

/* See weft.h. */
int weft_sem_init(weft_sem *s, unsigned value)
{
	*s = (weft_sem){ .value_ = value };
	return 0;
}

/* Takes a unit, waiting until the deadline (try: not at all).  Returns 0,
 * EAGAIN (try) or ETIMEDOUT (or another wake's reason). */
static int take(weft_sem *s, int64_t deadline, bool try)
{
	struct weft__co *co = weft__self();
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */
	bool again = false;

	weft__spin_lock(&s->lock_);
	while (s->value_ == 0) {
		if (try) {
			weft__spin_unlock(&s->lock_);
			return EAGAIN;
		}
		struct weft__waiter w = { .co = co };

		co->wait_what = "sem";
		int r = weft__wq_wait(&s->lock_, &s->head_, &s->tail_, &w,
				      again, deadline);
		if (r != 0) {
			weft__spin_unlock(&s->lock_);
			return r;
		}
		again = true;
	}
	s->value_--;
	weft__spin_unlock(&s->lock_);
	return 0;
}

static int result(int r)
{
	if (r == 0)
		return 0;
	errno = r;
	return -1;
}

/* Takes a unit until the deadline; returns 0 or ETIMEDOUT (for the
 * pthread mapping). */
int weft__sem_wait_until(weft_sem *s, int64_t deadline)
{
	return take(s, deadline, false);
}

/* See weft.h. */
int weft_sem_wait(weft_sem *s)
{
	return result(take(s, -1, false));
}

/* See weft.h. */
int weft_sem_trywait(weft_sem *s)
{
	return result(take(s, -1, true));
}

/* See weft.h. */
int weft_sem_timedwait(weft_sem *s, int64_t timeout_ns)
{
	return result(take(s, weft__deadline(timeout_ns), false));
}

/* See weft.h. */
int weft_sem_post(weft_sem *s)
{
	int r = 0;

	weft__spin_lock(&s->lock_);
	if (s->value_ == UINT_MAX) {
		r = EOVERFLOW;
	} else {
		s->value_++;
		weft__wq_wake_one(&s->head_, &s->tail_);
	}
	weft__spin_unlock(&s->lock_);
	return result(r);
}

/* See weft.h. */
unsigned weft_sem_value(weft_sem *s)
{
	return __atomic_load_n(&s->value_, __ATOMIC_RELAXED);
}
