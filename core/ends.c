/* ends.c - the live coroutines of a scheduler, and how coroutines end:
 * a spawned one's exit, a root's (which waits for the others), and the
 * pool's last one, which ends the process once main has. */
#include <stdlib.h>

#include "core.h"
#include "handoff.h"
#include "pool.h"
#include "sched.h"
#include "waitq.h"

/* ---- the list of live coroutines, for diagnostics ---- */

/* See sched.h. */
void weft__live_link(struct weft__sched *s, struct weft__co *co)
{
	if (!co->own_tcb)
		atomic_fetch_add_explicit(&s->pinned, 1, memory_order_relaxed);
	co->all_prev = NULL;
	co->all_next = s->all;
	if (s->all)
		s->all->all_prev = co;
	s->all = co;
	if (++s->live > s->peak_live)
		s->peak_live = s->live;
}

/* See sched.h. */
void weft__live_unlink(struct weft__sched *s, struct weft__co *co)
{
	if (!co->own_tcb)
		atomic_fetch_sub_explicit(&s->pinned, 1, memory_order_relaxed);
	if (co->all_prev)
		co->all_prev->all_next = co->all_next;
	else
		s->all = co->all_next;
	if (co->all_next)
		co->all_next->all_prev = co->all_prev;
}

/* ---- coroutine ends ---- */

/* Ends co: wakes its joiner, leaves its memory to be reaped (detached) or
 * joined, and runs the next coroutine.  Never returns. */
void weft__co_exit(struct weft__co *co)
{
	struct weft__sched *s = co->sched;

	if (weft__unlikely(co == s->root)) {
		/* A coroutine that forked is its child's only thread: when
		 * it ends, the process ends, as after its last thread. */
		weft__co_finish(co);
		exit(0);
	}
	weft__co_finish(co);
	weft__gate_in(); /* left by the coroutine that runs next */
	/* The pool's last coroutine after main's end: the process ends, as
	 * glibc ends it after its last thread. */
	if (s->pooled && weft__pool_leave(s))
		exit(0);
	co->state = WEFT__DONE;
	weft__spin_lock(&co->end_lock);
	co->ended = true;
	struct weft__co *joiner = co->joiner;
	bool detached = co->detached;
	weft__spin_unlock(&co->end_lock);
	weft__live_unlink(s, co);
	if (joiner)
		weft__wake(joiner, 0);
	/* One slot each.  The end before this one was finished by whatever
	 * ran next on s: on its thread (switch_out, idle_main, co_main), or
	 * on its new thread after a hand-off (weft__gate_slow). */
	if (weft__unlikely(s->zombie != NULL || s->ended != NULL))
		weft__die("internal error: a coroutine ended before the"
			  " last end was finished");
	if (detached)
		s->zombie = co;
	else
		s->ended = co;
	if (--s->live == 0 && s->root_exited && !s->pooled)
		weft__sched_push(s, s->root);
	weft__sched_switch_out(s, co);
	weft__die("internal error: an ended coroutine was resumed");
}

/* The root coroutine called weft_exit: it waits for the thread's other
 * coroutines to end.  Returns when they have.  Once the main thread's root
 * has ended, the pool's last coroutine ends the process; if the pool has
 * none left, the process ends here. */
void weft__root_exit(struct weft__co *root)
{
	WEFT__GATED();
	struct weft__sched *s = root->sched;

	weft__kv_destroy(root);
	s->root_exited = true;
	weft__live_unlink(s, root);
	s->live--;
	if (root->id == 1 && weft__pool_main_ends())
		exit(0);
	if (s->live == 0)
		return;
	root->state = WEFT__PARKED;
	weft__sched_switch_out(s, root);
}
