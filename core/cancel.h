/* cancel.h - deferred cancellation of green threads.
 *
 * A green thread's cancellation state is glibc's word, with glibc's bits
 * (nptl/descr.h: cancelhandling): in the thread's own descriptor when it
 * has a thread block (tcb.h), so that glibc's pthread_setcancelstate,
 * pthread_setcanceltype and pthread_testcancel, which the program calls
 * unchanged, read and set it as they would natively; else a word in the
 * coroutine.  Roots and weft_go coroutines have none and are never
 * cancelled.
 *
 * pthread_cancel sets CANCELED (weft__cancel_send).  The thread acts at its
 * next cancellation point: a wrapper that is one calls weft__cancel_enter
 * before its wait and weft__cancel_leave after, so that weft__prepark
 * marks the park as one a cancel may end.  The canceller,
 * on any OS thread, wakes such a park, and only such a park, with
 * ECANCELED; the wrapper releases what it holds and calls
 * weft__cancel_act.  A wait that is no cancellation point (a mutex, a
 * FILE's lock) is never ended by a cancel.
 *
 * A signal sent to a green thread (hook/pthread_signal.c) ends the same
 * parks, with EINTR (weft__interrupt).
 *
 * Acting is glibc's own where the thread has a block: the forced unwind of
 * pthread_exit(PTHREAD_CANCELED) runs the cleanup handlers
 * (pthread_cleanup_push) and C++ destructors, down to the landing weft set
 * at the bottom of the thread (WEFT__CANCEL_LANDING), which then ends the
 * thread with the result glibc stored.  Without a block, the thread jumps
 * to its landing at once: no handler runs.
 */
#ifndef WEFT_CANCEL_H
#define WEFT_CANCEL_H

#include <pthread.h>
#include <setjmp.h>

#include "core.h"

/* glibc 2.36's bits (nptl/descr.h). */
enum {
	WEFT__CANCEL_OFF = 1 << 0,     /* PTHREAD_CANCEL_DISABLE */
	WEFT__CANCEL_ASYNC = 1 << 1,   /* PTHREAD_CANCEL_ASYNCHRONOUS */
	WEFT__CANCELING = 1 << 2,
	WEFT__CANCELED = 1 << 3,
	WEFT__EXITING = 1 << 4,
	WEFT__TERMINATED = 1 << 5,
};

/* Whether co has a cancel to act on now: asked, enabled, and not already
 * exiting.  False at once for coroutines that are no green thread. */
static inline bool weft__cancel_due(const struct weft__co *co)
{
	_Atomic int *w = co->cancel_word;

	if (weft__likely(w == NULL))
		return false;
	int v = atomic_load_explicit(w, memory_order_relaxed);
	return (v & (WEFT__CANCEL_OFF | WEFT__CANCELED | WEFT__EXITING |
		     WEFT__TERMINATED)) == WEFT__CANCELED;
}

/* The function of green thread co has returned, its end is run: no cancel
 * acts any more, in weft's wrappers or glibc's own cancellation points
 * (EXITING, which glibc sets as a thread ends), for the landing is gone.
 * A coroutine that is no green thread is left alone. */
static inline void weft__cancel_ended(struct weft__co *co)
{
	if (co->cancel_word != NULL)
		atomic_fetch_or(co->cancel_word, WEFT__EXITING);
}

/* True on an offload worker while it runs a cancellable job
 * (weft__offload_point) with its own glibc cancellation enabled: weft's
 * code that the job reaches (a lock's park on the worker's own
 * scheduler, a wake-up's write) holds it off, as below (co NULL or
 * the worker's root). */
extern __thread bool weft__job_cancel
	__attribute__((tls_model("initial-exec")));

/* Holds glibc's cancellation off in co (the coroutine running on this OS
 * thread, or NULL) while weft calls, on its behalf, a libc function that
 * is a cancellation point, as libev writes its wake-up through write:
 * weft's own work is no cancellation point, and glibc would act on a
 * pending cancel there, with weft's state half changed.  Returns what to
 * give weft__cancel_release.  A cancel sent meanwhile stays pending. */
static inline bool weft__cancel_hold(struct weft__co *co)
{
	if (weft__unlikely(weft__job_cancel)) {
		weft__job_cancel = false;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		return true;
	}
	if (co == NULL || !co->own_tcb || co->cancel_word == NULL)
		return false;
	return !(atomic_fetch_or(co->cancel_word, WEFT__CANCEL_OFF) &
		 WEFT__CANCEL_OFF);
}

/* Ends weft__cancel_hold(co), which returned held. */
static inline void weft__cancel_release(struct weft__co *co, bool held)
{
	if (!held)
		return;
	if (co != NULL && co->own_tcb && co->cancel_word != NULL) {
		atomic_fetch_and(co->cancel_word, ~WEFT__CANCEL_OFF);
	} else {
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		weft__job_cancel = true;
	}
}

/* Makes co, a new green thread about to start, cancellable: its word is
 * its block's if it has one (whose state glibc reset), else its own. */
void weft__cancel_init(struct weft__co *co);

/* Acts on a due cancel of the calling coroutine co, which must hold
 * nothing of weft's (no gate, lock or queued waiter): does not return
 * then.  Returns if none is due. */
void weft__cancel_act(struct weft__co *co);

/* A cancellation point's entry: acts on a due cancel (see
 * weft__cancel_act). */
static inline void weft__cancel_point(struct weft__co *co)
{
	if (weft__unlikely(weft__cancel_due(co)))
		weft__cancel_act(co);
}

/* Marks co's next park as the wait of a cancellation point, which a
 * cancel that is or comes due ends with ECANCELED (a signal sent to co,
 * with EINTR: main, which no cancel reaches, is marked for signals).  Only the next: a condition wait's mutex, taken again
 * after, is no cancellation point.  weft__prepark takes the mark, and
 * weft__wait_fds drops it also when it could not park. */
static inline void weft__cancel_mark(struct weft__co *co)
{
	co->cancel_point = co->cancel_word != NULL || co->sigs != NULL;
}

/* Marks co's next park as one a signal sent to co ends with EINTR, and a
 * cancel does not (a lock's wait: the caller runs the handlers and waits
 * again, as a native wait goes on after them).  Made where co really
 * parks, just before its weft__prepark, which takes the mark: a lock
 * that is free never marks. */
static inline void weft__signal_mark(struct weft__co *co)
{
	co->signal_point = co->sigs != NULL;
}

/* A cancellation point's entry, before its wait: acts on a due cancel
 * (see weft__cancel_act), then marks co's next park. */
static inline void weft__cancel_enter(struct weft__co *co)
{
	weft__cancel_point(co);
	weft__cancel_mark(co);
}

/* The end of the wait begun with weft__cancel_enter, which returned
 * reason r (0 or a positive errno): if a cancel ended it, acts on it
 * (see weft__cancel_act).  Returns r. */
static inline int weft__cancel_leave(struct weft__co *co, int r)
{
	co->cancel_point = false;
	if (weft__unlikely(r == ECANCELED))
		weft__cancel_act(co);
	return r;
}

/* weft__prepark's way for a park marked at a cancellation point: marks
 * co parked there (WEFT__ASLEEP_CANCEL), and wakes it at once with
 * ECANCELED if a cancel is due, or with EINTR if a signal is ready for
 * it (co->sig_ready).  For a park marked only for signals
 * (weft__signal_mark), the same without the cancel (WEFT__ASLEEP_SIGNAL). */
void weft__cancel_prepark(struct weft__co *co);

/* Marks signal sig ready for co (sent to it, not blocked) and, if co is
 * parked at a cancellation point, wakes it there with EINTR, so that it
 * runs the handler: the wrapper then returns EINTR or restarts, as the
 * kernel would (any thread may call).  If co is running, its OS thread
 * is poked (poke.h); a park elsewhere is not ended: co takes the signal
 * as it leaves that wait, or at its next cancellation point. */
void weft__interrupt(struct weft__co *co, int sig);

/* Asks green thread co (not the caller) to end at its next cancellation
 * point, as glibc's pthread_cancel: sets CANCELING and CANCELED in its
 * word, and if that made a cancel due while co is parked at a
 * cancellation point, wakes it there with ECANCELED (any thread may
 * call).  With asynchronous cancellation, a co that is running is poked
 * (poke.h) and ends where it is. */
void weft__cancel_send(struct weft__co *co);

/* Ends the calling green thread co with result, as pthread_exit: with a
 * block of its own, through glibc's pthread_exit (its cleanup handlers
 * and destructors run, and it lands at WEFT__CANCEL_LANDING); without,
 * it jumps to the landing at once.  Never returns. */
void weft__cancel_exit(struct weft__co *co, void *result)
	__attribute__((noreturn));

/* The landing: the bottom of a green thread, where its unwind ends.  In
 * the function that calls the thread's function (a setjmp must be made in
 * the frame that stays), it evaluates to 0 at first, after making buf
 * (a __pthread_unwind_buf_t in that frame) co's landing, and to nonzero
 * when the thread has ended through it: weft__cancel_result then gives
 * the thread's result. */
#define WEFT__CANCEL_LANDING(co, buf)                                        \
	(__sigsetjmp_cancel((buf)->__cancel_jmp_buf, 0) != 0 ||             \
	 (weft__cancel_land(co, buf), 0))

/* WEFT__CANCEL_LANDING's second half: makes buf co's landing. */
void weft__cancel_land(struct weft__co *co, __pthread_unwind_buf_t *buf);

/* The result of green thread co, which has ended through its landing. */
void *weft__cancel_result(struct weft__co *co);

#endif
