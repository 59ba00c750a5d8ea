/* scheds.c - every scheduler in the process, for what must reach them
 * all: closes of an fd, statistics and the coroutine dump. */
#include <stdlib.h>

#include "core.h"
#include "handoff.h"
#include "sched.h"
#include "waitq.h"

static int scheds_lock;
static struct weft__sched *scheds;

/* See sched.h. */
void weft__scheds_add(struct weft__sched *s)
{
	weft__spin_lock(&scheds_lock);
	s->next = scheds;
	scheds = s;
	weft__spin_unlock(&scheds_lock);
}

/* See sched.h. */
void weft__scheds_forget(void)
{
	scheds = NULL;
	scheds_lock = 0;
}

/* Calls fn for each scheduler; see sched.h. */
void weft__sched_each(void (*fn)(struct weft__sched *s, void *arg), void *arg)
{
	weft__spin_lock(&scheds_lock);
	for (struct weft__sched *s = scheds; s; s = s->next)
		fn(s, arg);
	weft__spin_unlock(&scheds_lock);
}

/* As weft__sched_each, but gives up (returns false) if the list is being
 * changed: for a signal handler that may have interrupted the change. */
bool weft__sched_each_try(void (*fn)(struct weft__sched *s, void *arg),
			  void *arg)
{
	if (!weft__spin_trylock(&scheds_lock))
		return false;
	for (struct weft__sched *s = scheds; s; s = s->next)
		fn(s, arg);
	weft__spin_unlock(&scheds_lock);
	return true;
}

/* Wakes fd's waiters here and tells the other schedulers; see sched.h. */
void weft__sched_each_gone(int fd, int reason)
{
	struct weft__sched *here = weft__current_sched();

	int was = here ? weft__gate_try() : -1;
	if (was >= 0) {
		weft__fd_gone_here(here, fd, reason);
		weft__gate_out(was);
	} else {
		here = NULL; /* taken from this thread: told as the others */
	}
	weft__spin_lock(&scheds_lock);
	for (struct weft__sched *s = scheds; s; s = s->next) {
		if (s == here)
			continue;
		weft__spin_lock(&s->remote_lock);
		if (s->ngone == s->gone_cap) {
			size_t cap = s->gone_cap ? 2 * s->gone_cap : 16;
			int *gone = realloc(s->gone, cap * sizeof *gone);
			if (gone) {
				s->gone = gone;
				s->gone_cap = cap;
			}
		}
		if (s->ngone < s->gone_cap)
			s->gone[s->ngone++] = fd;
		weft__spin_unlock(&s->remote_lock);
		weft__sched_notify(s);
	}
	weft__spin_unlock(&scheds_lock);
}
