/* cancel.c - deferred cancellation of green threads (see cancel.h). */
#include <dlfcn.h>

#include "cancel.h"
#include "fiber.h"
#include "poke.h"
#include "tcb.h"

/* See cancel.h. */
void weft__cancel_init(struct weft__co *co)
{
	co->cancel_word = co->own_tcb ? weft__tcb_cancel_word(co->tcb)
				      : &co->own_cancel_word;
}

/* glibc's pthread_exit, not weft's wrapper of it. */
static void libc_exit(void *result)
{
	static void (*_Atomic fn)(void *);
	void (*f)(void *) = atomic_load_explicit(&fn, memory_order_acquire);

	if (f == NULL) {
		f = (void (*)(void *))dlvsym(RTLD_NEXT, "pthread_exit",
					     "GLIBC_2.2.5");
		if (f == NULL)
			f = (void (*)(void *))dlsym(RTLD_NEXT, "pthread_exit");
		atomic_store_explicit(&fn, f, memory_order_release);
	}
	f(result);
	__builtin_unreachable();
}

/* See cancel.h. */
void weft__cancel_exit(struct weft__co *co, void *result)
{
	weft__asan_no_return();
	if (co->own_tcb)
		libc_exit(result); /* glibc unwinds to the landing */
	atomic_fetch_or(co->cancel_word, WEFT__EXITING);
	co->result = result;
	longjmp((struct __jmp_buf_tag *)co->landing, 1);
}

/* See cancel.h. */
void weft__cancel_act(struct weft__co *co)
{
	if (weft__cancel_due(co))
		weft__cancel_exit(co, PTHREAD_CANCELED);
}

/* Wakes co with reason if it is parked at a cancellation point, or for
 * EINTR also at a park only a signal may end; returns whether it did. */
static bool wake_marked(struct weft__co *co, int reason)
{
	int asleep = WEFT__ASLEEP_CANCEL;

	if (!atomic_compare_exchange_strong(&co->wake, &asleep, WEFT__WOKEN) &&
	    (reason != EINTR || asleep != WEFT__ASLEEP_SIGNAL ||
	     !atomic_compare_exchange_strong(&co->wake, &asleep,
					     WEFT__WOKEN)))
		return false;
	co->wake_reason = reason;
	weft__ready(co);
	return true;
}

/* See cancel.h.  The mark is made with a full barrier, then the word is
 * read: a canceller, which sets the word and then looks at the mark,
 * either wakes this park or is seen here. */
void weft__cancel_prepark(struct weft__co *co)
{
	bool cancel = co->cancel_point;

	co->cancel_point = co->signal_point = false; /* only this park */
	atomic_exchange(&co->wake, cancel ? WEFT__ASLEEP_CANCEL
					  : WEFT__ASLEEP_SIGNAL);
	if (cancel && weft__cancel_due(co))
		wake_marked(co, ECANCELED);
	else if (atomic_load(&co->sig_ready) != 0)
		wake_marked(co, EINTR);
}

/* See cancel.h: the same handshake as a cancel's; a thread that is
 * running is poked (poke.h). */
void weft__interrupt(struct weft__co *co, int sig)
{
	atomic_fetch_or(&co->sig_ready, (uint64_t)1 << (sig - 1));
	if (!wake_marked(co, EINTR))
		weft__poke(co);
}

/* See cancel.h.  The word changes as glibc's pthread_cancel changes it;
 * the wake reaches only a park marked at a cancellation point. */
void weft__cancel_send(struct weft__co *co)
{
	int add = WEFT__CANCELING | WEFT__CANCELED;
	int old = atomic_fetch_or(co->cancel_word, add);

	if ((old & add) != add && weft__cancel_due(co) &&
	    !wake_marked(co, ECANCELED) && (old & WEFT__CANCEL_ASYNC))
		weft__poke(co);
}

/* See cancel.h. */
void weft__cancel_land(struct weft__co *co, __pthread_unwind_buf_t *buf)
{
	co->landing = buf;
	if (co->own_tcb)
		weft__tcb_landing(co->tcb, buf);
}

/* See cancel.h. */
void *weft__cancel_result(struct weft__co *co)
{
	return co->own_tcb ? weft__tcb_result(co->tcb) : co->result;
}
