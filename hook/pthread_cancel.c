/* pthread_cancel.c - cancellation of green threads (core/cancel.h).
 *
 * A green thread's cancellation state is glibc's word, in its own
 * descriptor where it has a thread block: these wrappers change it as
 * glibc's own calls would, and act through core/cancel.c.  Any other
 * thread is glibc's.
 */
#include "cancel.h"
#include "green.h"
#include "poke.h"

/* The calling green thread, or NULL: the call is glibc's. */
static struct weft__co *caller(void)
{
	struct weft__co *co = weft__green_on() ? weft__running : NULL;

	return co != NULL && co->cancel_word != NULL ? co : NULL;
}

/* pthread_cancel: asks green thread th to end at its next cancellation
 * point (at once if it asks itself with asynchronous cancellation
 * enabled); wakes it if it is parked at one, and with asynchronous
 * cancellation enabled ends it where it runs.  Returns 0, also for a
 * thread that has ended, as glibc. */
int weft__pthread_cancel(pthread_t th)
{
	struct weft__green *g = weft__green_thread(th);

	if (g == NULL) {
		int r = weft__libc()->pthread_cancel(th);
		weft__poke_reclaim(); /* glibc may have put its handler in */
		return r;
	}
	struct weft__co *co = g->co;
	if (g->ended || co->cancel_word == NULL)
		return 0;
	if (co == weft__running) {
		int v = atomic_fetch_or(co->cancel_word, WEFT__CANCELING |
						       WEFT__CANCELED);
		if (v & WEFT__CANCEL_ASYNC)
			weft__cancel_act(co);
		return 0;
	}
	weft__cancel_send(co);
	return 0;
}

/* Sets (on) or clears bit in the calling green thread co's word, as
 * glibc's pthread_setcancelstate and pthread_setcanceltype do: *old (if
 * not NULL) gets was_set if the bit was set, else was_clear; an
 * asynchronous cancel that is now due acts at once.  Returns 0. */
static int set_bit(struct weft__co *co, int bit, bool on, int *old,
		   int was_set, int was_clear)
{
	int v = on ? atomic_fetch_or(co->cancel_word, bit)
		   : atomic_fetch_and(co->cancel_word, ~bit);

	if (old != NULL)
		*old = v & bit ? was_set : was_clear;
	if ((v | (on ? bit : 0)) & WEFT__CANCEL_ASYNC)
		weft__cancel_act(co);
	return 0;
}

/* pthread_setcancelstate: in a green thread, its own state, as glibc
 * sets it; enabling a pending asynchronous cancel acts at once.  Returns 0
 * or EINVAL. */
int weft__pthread_setcancelstate(int state, int *old)
{
	struct weft__co *co = caller();

	if (co == NULL)
		return weft__libc()->pthread_setcancelstate(state, old);
	if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
		return EINVAL;
	return set_bit(co, WEFT__CANCEL_OFF, state == PTHREAD_CANCEL_DISABLE,
		       old, PTHREAD_CANCEL_DISABLE, PTHREAD_CANCEL_ENABLE);
}

/* pthread_setcanceltype: as pthread_setcancelstate, for the type;
 * turning asynchronous acts at once on a pending cancel. */
int weft__pthread_setcanceltype(int type, int *old)
{
	struct weft__co *co = caller();

	if (co == NULL)
		return weft__libc()->pthread_setcanceltype(type, old);
	if (type != PTHREAD_CANCEL_DEFERRED &&
	    type != PTHREAD_CANCEL_ASYNCHRONOUS)
		return EINVAL;
	return set_bit(co, WEFT__CANCEL_ASYNC,
		       type == PTHREAD_CANCEL_ASYNCHRONOUS, old,
		       PTHREAD_CANCEL_ASYNCHRONOUS, PTHREAD_CANCEL_DEFERRED);
}

/* pthread_testcancel: a cancellation point and nothing else. */
void weft__pthread_testcancel(void)
{
	struct weft__co *co = caller();

	if (co == NULL)
		weft__libc()->pthread_testcancel();
	else
		weft__cancel_point(co);
}

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_cancel(pthread_t th)
{
	return weft__pthread_cancel(th);
}

WEFT_EXPORT int pthread_setcancelstate(int state, int *old)
{
	return weft__pthread_setcancelstate(state, old);
}

WEFT_EXPORT int pthread_setcanceltype(int type, int *old)
{
	return weft__pthread_setcanceltype(type, old);
}

WEFT_EXPORT void pthread_testcancel(void)
{
	weft__pthread_testcancel();
}
