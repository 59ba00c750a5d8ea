/* barrier.c - barriers for coroutines; see sync.h.
 *
 * The last coroutine of a round wakes the others and starts the next
 * round at once, so a coroutine that hurries back to the barrier counts
 * for the next round, never for the one it just left.
 */
#include "cancel.h"
#include "handoff.h"
#include "sigs.h"
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

/* Parks w's coroutine, queued on b (whose lock the caller holds), until
 * the round's last comes, or a signal sent to it (sigs.h) ends the park:
 * then it stays queued, still counted, and the caller runs the handlers
 * and parks again unless the round ended meanwhile.  Returns 0 when the
 * round has ended, EINTR for a signal. */
static int park(struct weft__barrier *b, struct weft__waiter *w)
{
	struct weft__co *co = w->co;

	co->wait_what = "barrier";
	weft__signal_mark(co);
	weft__prepark(co);
	weft__spin_unlock(&b->lock_);
	return weft__park(co, -1) == EINTR ? EINTR : 0;
}

/* Arrives at b: 1 for the round's last, which wakes the others, else
 * park's answer. */
static int arrive(struct weft__barrier *b, struct weft__waiter *w)
{
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	weft__spin_lock(&b->lock_);
	if (++b->arrived_ == b->count_) {
		b->arrived_ = 0;
		while (weft__wq_wake_one(&b->head_, &b->tail_) != NULL)
			;
		weft__spin_unlock(&b->lock_);
		return 1;
	}
	weft__wq_push(&b->head_, &b->tail_, w);
	return park(b, w);
}

/* After a signal's handlers: parks w again if its round goes on (the
 * last, popping w, found it awake and went on to the next). */
static int wait_again(struct weft__barrier *b, struct weft__waiter *w)
{
	WEFT__GATED();

	weft__spin_lock(&b->lock_);
	if (w->queue == NULL) {
		weft__spin_unlock(&b->lock_);
		return 0;
	}
	return park(b, w);
}

/* See sync.h.  A signal's handlers run outside the gate, as the thread's
 * own code. */
int weft__barrier_wait(struct weft__barrier *b)
{
	struct weft__waiter w = { .co = weft__self() };
	int r = arrive(b, &w);

	while (r == EINTR) {
		weft__sig_run(w.co);
		r = wait_again(b, &w);
	}
	return r;
}

/* See sync.h. */
int weft__barrier_destroy(struct weft__barrier *b)
{
	weft__spin_lock(&b->lock_);
	int r = b->head_ != NULL || b->arrived_ != 0 ? EBUSY : 0;
	weft__spin_unlock(&b->lock_);
	return r;
}
