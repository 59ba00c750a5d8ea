/* barrier.c - barriers for coroutines; see sync.h.
 *
 * The last coroutine of a round wakes the others and starts the next
 * round at once, so a coroutine that hurries back to the barrier counts
 * for the next round, never for the one it just left.
 */
#include "handoff.h"
#include "sync.h"
#include "waitq.h"

/* See sync.h. */
int weft__barrier_init(struct weft__barrier *b, unsigned count)
{
	if (count == 0)
		return EINVAL;
	unsigned mark = b->mark_;
	*b = (struct weft__barrier){ .count_ = count, .mark_ = mark };
	return 0;
}

/* See sync.h. */
int weft__barrier_wait(struct weft__barrier *b)
{
	struct weft__waiter w = { .co = weft__self() };
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	weft__spin_lock(&b->lock_);
	if (++b->arrived_ == b->count_) {
		b->arrived_ = 0;
		while (weft__wq_wake_one(&b->head_, &b->tail_) != NULL)
			;
		weft__spin_unlock(&b->lock_);
		return 1;
	}
	weft__wq_push(&b->head_, &b->tail_, &w);
	w.co->wait_what = "barrier";
	weft__wq_park(&b->lock_, &b->head_, &b->tail_, &w, -1);
	return 0;
}

/* See sync.h. */
int weft__barrier_destroy(struct weft__barrier *b)
{
	weft__spin_lock(&b->lock_);
	int r = b->head_ != NULL || b->arrived_ != 0 ? EBUSY : 0;
	weft__spin_unlock(&b->lock_);
	return r;
}
