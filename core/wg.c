/* wg.c - wait groups: wait for a counter to reach zero. */
#include "core.h"
#include "handoff.h"
#include "waitq.h"

/* See weft.h. */
int weft_wg_add(weft_wg *wg, long n)
{
	weft__spin_lock(&wg->lock_);
	if (n < 0 && wg->count_ + n < 0) {
		weft__spin_unlock(&wg->lock_);
		errno = EINVAL;
		return -1;
	}
	wg->count_ += n;
	if (wg->count_ == 0)
		while (weft__wq_wake_one(&wg->head_, &wg->tail_) != NULL)
			;
	weft__spin_unlock(&wg->lock_);
	return 0;
}

/* See weft.h. */
int weft_wg_done(weft_wg *wg)
{
	return weft_wg_add(wg, -1);
}

/* See weft.h. */
int weft_wg_wait(weft_wg *wg)
{
	struct weft__waiter w = { .co = weft__self() };
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	weft__spin_lock(&wg->lock_);
	if (wg->count_ == 0) {
		weft__spin_unlock(&wg->lock_);
		return 0;
	}
	w.co->wait_what = "wait group";
	weft__wq_push(&wg->head_, &wg->tail_, &w);
	weft__wq_park(&wg->lock_, &wg->head_, &wg->tail_, &w, -1);
	return 0;
}
