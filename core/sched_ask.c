/* sched_ask.c - what a thread's scheduler and coroutine are, for the
 * rest of weft: lookups that change nothing (sched.c makes and runs the
 * schedulers). */
#include "sched.h"
#include "tcb.h"

/* This thread's scheduler if it has one; never makes one. */
struct weft__sched *weft__current_sched(void)
{
	return weft__this_sched;
}

/* The idle context, if the caller is the scheduler's own loop (a libev
 * callback, or the allocator called from one); NULL otherwise. */
struct weft__co *weft__loop_context(void)
{
	struct weft__sched *s = weft__this_sched;

	if (weft__likely(weft__running != NULL) || s == NULL)
		return NULL;
	return weft__current_of(s) == NULL ? &s->idle : NULL;
}

/* The coroutine this thread is running, for the fault handler: unlike
 * weft__running it stays set while weft's own code runs. */
struct weft__co *weft__current(void)
{
	return weft__this_sched ? weft__current_of(weft__this_sched) : NULL;
}

/* See core.h. */
struct ev_loop *weft__loop(struct weft__sched *s)
{
	return s->loop;
}

/* See core.h. */
int weft__sched_tid(const struct weft__sched *s)
{
	return atomic_load_explicit(&s->tid, memory_order_relaxed);
}

/* See core.h: the descriptor in its OS thread's block. */
pthread_t weft__os_thread(const struct weft__co *co)
{
	return weft__tcb_thread(co->sched->os_tcb);
}

/* See weft.h. */
weft_co *weft_self(void)
{
	return weft__self();
}

/* See weft.h. */
uint64_t weft_id(void)
{
	return weft__self()->id;
}
