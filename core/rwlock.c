/* rwlock.c - read-write locks for coroutines; see sync.h.
 *
 * Waiters queue in the order they came, each marked WEFT_READ or
 * WEFT_WRITE in its node's events.  Whoever frees the lock hands it on
 * straight away, setting the new holders before waking them (as mutex.c
 * does), so a woken waiter never has to compete for it again.  A waiter
 * that times out unlinks itself; whoever unlinks a waiting writer takes
 * it off the count of waiting writers.  A program thread's park is
 * marked for signals (cancel.h) there, where it parks, so that a lock
 * that lets it in at once pays nothing for them: a signal sent to it
 * ends the wait with EINTR, for the caller to run the handlers and come
 * again (hook/green.h).
 */
#include <limits.h>

#include "handoff.h"
#include "poke.h"
#include "sync.h"
#include "waitq.h"

/* See sync.h. */
int weft__rwlock_init(struct weft__rwlock *rw, int kind)
{
	if (kind < WEFT__RWLOCK_PREFER_READER ||
	    kind > WEFT__RWLOCK_PREFER_WRITER_NONRECURSIVE)
		return EINVAL;
	*rw = (struct weft__rwlock){ .kind_ = kind };
	return 0;
}

static bool readers_first(const struct weft__rwlock *rw)
{
	return rw->kind_ != WEFT__RWLOCK_PREFER_WRITER_NONRECURSIVE;
}

/* Whether a new reader may enter now. */
static bool reader_may_enter(const struct weft__rwlock *rw)
{
	return rw->writer_ == NULL &&
	       (readers_first(rw) || rw->writers_waiting_ == 0);
}

/* Lets in the waiters the lock's state allows, oldest first: readers
 * while no writer holds it, a writer when nobody does.  With readers
 * preferred, readers behind a writer that must wait go in too.  Called
 * with the spin lock held. */
static void grant(struct weft__rwlock *rw)
{
	struct weft__waiter *w = rw->head_, *next;

	for (; w != NULL && rw->writer_ == NULL; w = next) {
		next = w->next;
		if (w->events == WEFT_READ) {
			if (rw->readers_ == UINT_MAX)
				break;
			weft__wq_remove(&rw->head_, &rw->tail_, w);
			rw->readers_++;
			if (!weft__wake(w->co, 0))
				rw->readers_--;
		} else if (rw->readers_ == 0) {
			weft__wq_remove(&rw->head_, &rw->tail_, w);
			rw->writers_waiting_--;
			rw->writer_ = w->co;
			if (!weft__wake(w->co, 0))
				rw->writer_ = NULL;
		} else if (!readers_first(rw)) {
			break;
		}
	}
}

/* Queues the caller as a reader or writer and parks it until it has been
 * let in, the deadline passes, or a signal is sent to it (a program
 * thread: weft__signal_mark).  Called inside the gate with the spin lock
 * held; returns with it released.  Returns 0 (let in), ETIMEDOUT or
 * EINTR, the caller off the queue again unless 0. */
static int wait_turn(struct weft__rwlock *rw, struct weft__co *co,
		     int events, int64_t deadline)
{
	struct weft__waiter w = { .co = co, .events = events };

	weft__wq_push(&rw->head_, &rw->tail_, &w);
	if (events == WEFT_WRITE)
		rw->writers_waiting_++;
	co->wait_what = "rwlock";
	weft__signal_mark(co);
	weft__prepark(co);
	weft__spin_unlock(&rw->lock_);
	int r = weft__park(co, deadline);
	if (r == 0)
		return 0;
	weft__spin_lock(&rw->lock_);
	if (weft__wq_remove(&rw->head_, &rw->tail_, &w) &&
	    events == WEFT_WRITE) {
		/* Readers held back by this writer may now go in. */
		rw->writers_waiting_--;
		grant(rw);
	}
	weft__spin_unlock(&rw->lock_);
	return r;
}

/* The end of co's wait_turn, which returned r, out of the gate: unless
 * a signal ended it, what was given to co meanwhile is taken now
 * (poke.h), as after a native wait.  Returns r. */
static int waited(struct weft__co *co, int r)
{
	if (r != EINTR)
		weft__take_due(co);
	return r;
}

/* Takes a read lock, waiting until deadline (try: not at all).  A lock
 * that lets the caller in at once costs the gate and the spin lock,
 * nothing more. */
static int rdlock(struct weft__rwlock *rw, int64_t deadline, bool try)
{
	struct weft__co *co = weft__self();
	int r;

	{
		WEFT__GATED(); /* from before a waker can find it: handoff.h */

		weft__spin_lock(&rw->lock_);
		if (rw->writer_ == co) {
			weft__spin_unlock(&rw->lock_);
			return try ? EBUSY : EDEADLK;
		}
		if (reader_may_enter(rw)) {
			r = 0;
			if (rw->readers_ == UINT_MAX)
				r = EAGAIN;
			else
				rw->readers_++;
			weft__spin_unlock(&rw->lock_);
			return r;
		}
		if (try) {
			weft__spin_unlock(&rw->lock_);
			return EBUSY;
		}
		r = wait_turn(rw, co, WEFT_READ, deadline);
	}
	return waited(co, r);
}

/* Takes the write lock, waiting until deadline (try: not at all); as
 * rdlock, a free lock costs nothing more. */
static int wrlock(struct weft__rwlock *rw, int64_t deadline, bool try)
{
	struct weft__co *co = weft__self();
	int r;

	{
		WEFT__GATED(); /* from before a waker can find it: handoff.h */

		weft__spin_lock(&rw->lock_);
		if (rw->writer_ == NULL && rw->readers_ == 0) {
			rw->writer_ = co;
			weft__spin_unlock(&rw->lock_);
			return 0;
		}
		if (try || rw->writer_ == co) {
			weft__spin_unlock(&rw->lock_);
			return try ? EBUSY : EDEADLK;
		}
		r = wait_turn(rw, co, WEFT_WRITE, deadline);
	}
	return waited(co, r);
}

/* r, once what a poke found due inside the call is taken (poke.h). */
static int owed_after(int r)
{
	weft__take_owed(weft__running);
	return r;
}

/* See sync.h. */
int weft__rwlock_rdlock_until(struct weft__rwlock *rw, int64_t deadline)
{
	return owed_after(rdlock(rw, deadline, false));
}

/* See sync.h. */
int weft__rwlock_tryrdlock(struct weft__rwlock *rw)
{
	return owed_after(rdlock(rw, -1, true));
}

/* See sync.h. */
int weft__rwlock_wrlock_until(struct weft__rwlock *rw, int64_t deadline)
{
	return owed_after(wrlock(rw, deadline, false));
}

/* See sync.h. */
int weft__rwlock_trywrlock(struct weft__rwlock *rw)
{
	return owed_after(wrlock(rw, -1, true));
}

/* See sync.h. */
int weft__rwlock_unlock(struct weft__rwlock *rw)
{
	struct weft__co *co = weft__self();
	int r = 0;

	weft__spin_lock(&rw->lock_);
	if (rw->writer_ == co) {
		rw->writer_ = NULL;
		grant(rw);
	} else if (rw->writer_ == NULL && rw->readers_ > 0) {
		if (--rw->readers_ == 0)
			grant(rw);
	} else {
		r = EPERM;
	}
	weft__spin_unlock(&rw->lock_);
	return owed_after(r);
}
