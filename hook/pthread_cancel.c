/* pthread_cancel.c - deferred cancellation of green threads (green.h). */
#include "green.h"
#include "waitq.h"

/* Wakes g's thread to act on its cancel if it is parked at a
 * cancellation point on the caller's OS thread; a thread of another OS
 * thread acts when it next reaches one. */
static void poke(struct weft__green *g)
{
	struct weft__co *co = g->co, *me = weft__running;

	if (me == NULL || me == co || me->sched != co->sched)
		return;
	if (g->wait_head == WEFT__JOINING) {
		if (co->state == WEFT__PARKED)
			weft__wake(co, ECANCELED);
		return;
	}
	int *lock = g->wait_lock;
	if (lock == NULL)
		return;
	/* Only while it is still in the queue: past it (woken, taking its
	 * mutex back) the wait is no longer the cancellation point. */
	weft__spin_lock(lock);
	for (struct weft__waiter *w = *g->wait_head; w != NULL; w = w->next) {
		if (w->co == co) {
			weft__wake(co, ECANCELED);
			break;
		}
	}
	weft__spin_unlock(lock);
}

/* pthread_cancel: deferred cancellation of a green thread (see green.h).
 * Returns 0, also for a thread that has ended, as glibc. */
int weft__pthread_cancel(pthread_t th)
{
	struct weft__green *g = weft__green_thread(th);

	if (g == NULL)
		return weft__libc()->pthread_cancel(th);
	if (!g->ended && !atomic_exchange(&g->cancel, true))
		poke(g);
	return 0;
}

/* See green.h. */
struct weft__green *weft__green_enter(struct weft__co *co, int *lock,
				      void **head)
{
	struct weft__green *g = co->slot ? weft__green_find(weft__green_id(co)) : NULL;

	if (g == NULL)
		return NULL;
	if (atomic_load(&g->cancel))
		weft__green_end(g, PTHREAD_CANCELED);
	g->wait_lock = lock;
	g->wait_head = head;
	return g;
}

/* See green.h. */
void weft__green_leave(struct weft__green *g, int r)
{
	if (g == NULL)
		return;
	g->wait_lock = NULL;
	g->wait_head = NULL;
	if (r == ECANCELED)
		weft__green_end(g, PTHREAD_CANCELED);
}

/* See green.h. */
void weft__green_testcancel(void)
{
	struct weft__co *co = weft__running;

	if (!weft__green_on() || co == NULL || co->slot == NULL)
		return;
	struct weft__green *g = weft__green_find(weft__green_id(co));
	if (g != NULL && atomic_load(&g->cancel))
		weft__green_end(g, PTHREAD_CANCELED);
}

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_cancel(pthread_t th)
{
	return weft__pthread_cancel(th);
}
