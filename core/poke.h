/* poke.h - making a program thread that runs on another OS thread take a
 * signal, or its asynchronous cancellation, now.
 *
 * A signal given to a green thread parked at a cancellation point ends
 * the park (cancel.h).  One given to a thread that is running (it
 * computes, or blocks in a call weft could not park) must interrupt it,
 * as the kernel would: weft pokes its OS thread.  The poke is SIGCANCEL,
 * the signal glibc keeps for its own cancellation, which no program can
 * block or catch, sent with rt_tgsigqueueinfo as SI_QUEUE with weft's
 * cookie for a value.  Its handler looks at the program thread it
 * interrupted: if that thread was running its own code (sigs.h,
 * weft__sig_in_program), it runs the handlers ready for it there, with
 * the kernel's context, and acts on an asynchronous cancel that is due,
 * unwinding from the handler as glibc's own SIGCANCEL handler does.
 * Otherwise (the thread was inside weft, or has switched out since) the
 * thread takes them where it leaves weft: a park at a cancellation point
 * ends, and the waits that are none (mutexes, rwlocks, barriers,
 * sched_yield) call weft__take_due on their way out.
 *
 * glibc installs its own SIGCANCEL handler the first time its
 * pthread_cancel runs (for a thread weft does not own); weft then puts
 * its own back (weft__poke_reclaim) and passes every SIGCANCEL that is no
 * poke on to glibc's.
 */
#ifndef WEFT_POKE_H
#define WEFT_POKE_H

#include "cancel.h"
#include "core.h"
#include "handoff.h"

/* Installs the poke's handler, given a raw syscall (weft's wrappers must
 * not be reached).  Does nothing under ThreadSanitizer, which must see
 * every handler: there a running thread takes what is due where it
 * leaves weft. */
void weft__poke_init(long (*sys)(long, ...));

/* Pokes the OS thread co runs on if co, not the caller, is running now,
 * so that it takes what was just given to it (any thread may call). */
void weft__poke(struct weft__co *co);

/* Pokes OS thread tid of this process (0 or less: none), whatever runs
 * there: an offload worker whose job its caller stopped (offload.h), a
 * scheduler thread the realtime switch waits for (sigs.h).  Does nothing
 * where the poke is not installed (ThreadSanitizer).  Returns whether the
 * poke went (false: not installed, or no such thread). */
bool weft__poke_os(int tid);

/* Whether pokes are installed. */
bool weft__poke_works(void);

/* After glibc's pthread_cancel ran: puts the poke's handler back in
 * front of glibc's, which then handles every SIGCANCEL that is no
 * poke. */
void weft__poke_reclaim(void);

/* Runs what is due for co, the calling program thread, back to its own
 * code from a wait that is no cancellation point: the handlers of the
 * signals ready for it, and an asynchronous cancel (which does not
 * return).  The caller holds nothing of weft's. */
void weft__take_due_slow(struct weft__co *co);

static inline void weft__take_due(struct weft__co *co)
{
	if (weft__unlikely(co != NULL &&
			   (atomic_load_explicit(&co->sig_ready,
						 memory_order_relaxed) != 0 ||
			    weft__cancel_due(co))))
		weft__take_due_slow(co);
}

/* weft__take_due, if a poke found this OS thread inside weft with
 * something due (m->owed): for the short calls that are no wait, which a
 * thread may loop on (an uncontended mutex), so that a poke landing in
 * them is not put off until its next wait.  One load otherwise. */
static inline void weft__take_owed(struct weft__co *co)
{
	struct weft__m *m = weft__m;

	if (weft__unlikely(m != NULL && atomic_load_explicit(
				&m->owed, memory_order_relaxed))) {
		atomic_store_explicit(&m->owed, false, memory_order_relaxed);
		weft__take_due(co);
	}
}

#endif
