/* once.c - run-once for coroutines; see sync.h.
 *
 * A once control is a bare int, with no room for a queue, and coroutines
 * rarely find one running; so every control shares one queue of waiters,
 * each node saying which control it waits for.  The call that ran init
 * stores DONE and then wakes the waiters of its control; a waiter checks
 * the control again under the queue's lock after queueing, so it either
 * sees DONE or is on the queue when the wake comes.
 */
#include "handoff.h"
#include "sync.h"
#include "waitq.h"

struct once_waiter {
	struct weft__waiter w; /* first: the queue links these */
	const int *control;
};

static int lock; /* a spin lock: see waitq.h */
static void *head, *tail;

/* Wakes every coroutine waiting for control. */
static void wake_waiters(const int *control)
{
	weft__spin_lock(&lock);
	struct weft__waiter *w = head, *next;
	for (; w != NULL; w = next) {
		next = w->next;
		if (((struct once_waiter *)w)->control == control) {
			weft__wq_remove(&head, &tail, w);
			weft__wake(w->co, 0);
		}
	}
	weft__spin_unlock(&lock);
}

/* Parks the caller until control is no longer RUNNING. */
static void wait_done(int *control)
{
	struct once_waiter ow = { .w.co = weft__self(), .control = control };
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	weft__spin_lock(&lock);
	if (__atomic_load_n(control, __ATOMIC_ACQUIRE) != WEFT__ONCE_RUNNING) {
		weft__spin_unlock(&lock);
		return;
	}
	weft__wq_push(&head, &tail, &ow.w);
	ow.w.co->wait_what = "once";
	weft__wq_park(&lock, &head, &tail, &ow.w, -1);
}

/* See sync.h. */
bool weft__once(int *control, void (*init)(void))
{
	for (;;) {
		int v = __atomic_load_n(control, __ATOMIC_ACQUIRE);
		if (v & WEFT__ONCE_DONE)
			return false;
		if (v == WEFT__ONCE_RUNNING) {
			wait_done(control);
			continue;
		}
		if (__atomic_compare_exchange_n(control, &v, WEFT__ONCE_RUNNING,
						false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			init();
			__atomic_store_n(control, WEFT__ONCE_DONE,
					 __ATOMIC_RELEASE);
			wake_waiters(control);
			return true;
		}
	}
}
