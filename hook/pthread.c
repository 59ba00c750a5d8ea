/* pthread.c - green threads: pthread_create makes a coroutine.
 *
 * A green thread's pthread_t is its thread block (core/tcb.h), as a
 * native thread's is its descriptor, so glibc's own pthread_self() gives
 * it; where blocks cannot be made it is the coroutine's address.  A root
 * coroutine's is its real thread's.  Its record is in core/gthread.h's
 * registry.  Creation, the end, join and detach are here; what a
 * pthread_t tells is in pthread_np.c, signals in pthread_signal.c and
 * cancellation in pthread_cancel.c.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "green.h"
#include "waitq.h"

bool weft__green;

/* See green.h. */
void weft__green_set(bool on)
{
	weft__green = on;
	if (on)
		weft__sig_routing_on(weft__libc()->sigaction,
				     weft__libc()->syscall);
}

/* ---- beginning and end ---- */

/* Ends g's bookkeeping as its thread ends: runs its key destructors now,
 * while calls they make still find the record, then drops the record if
 * nobody will join the thread. */
static void finish(struct weft__green *g)
{
	struct weft__co *co = g->co;

	weft__co_finish(co);
	weft__sig_end(&g->sigs);
	weft__spin_lock(&weft__green_lock);
	g->ended = true;
	bool gone = co->detached;
	if (gone)
		weft__green_remove_locked(g);
	weft__spin_unlock(&weft__green_lock);
	if (gone)
		weft__green_free(g);
}

/* A green thread's start: its function, then its bookkeeping's end.  Its
 * landing (core/cancel.h) is here: pthread_exit and cancellation end the
 * thread by unwinding to it. */
static void *start(void *p)
{
	struct weft__green *g = p;
	struct weft__co *co = g->co;
	__pthread_unwind_buf_t landing;
	void *result;

	if (WEFT__CANCEL_LANDING(co, &landing))
		result = weft__cancel_result(co);
	else
		result = g->fn(g->arg);
	finish(g);
	weft__cancel_ended(co);
	return result;
}

/* What attr asks of a new thread's stack, read as glibc reads it: the
 * size (unless set, glibc's default: the soft RLIMIT_STACK), the
 * program's own memory if it gave some, and the guard size. */
static void attr_stack(const pthread_attr_t *attr, struct weft__co_attr *ca)
{
	pthread_attr_t dflt;
	void *lo = NULL;

	if (attr == NULL) {
		if (pthread_getattr_default_np(&dflt) != 0)
			return; /* weft's own default, then */
		attr = &dflt;
	}
	pthread_attr_getstacksize(attr, &ca->stack_size);
	pthread_attr_getguardsize(attr, &ca->guard);
	/* glibc keeps the top, 0 unless set, and gives top less size. */
	size_t size = 0;
	pthread_attr_getstack(attr, &lo, &size);
	if ((uintptr_t)lo + size != 0) {
		ca->stack = lo;
		ca->stack_size = size;
	}
	if (attr == &dflt)
		pthread_attr_destroy(&dflt);
}

/* pthread_create: a coroutine with a thread block of its own, on a
 * scheduler of the pool (core/pool.h), joinable or detached and with the stack attr asks
 * for, as glibc would give it.  Returns 0, or EAGAIN (no memory for its
 * stack or bookkeeping, or a stack size weft cannot give: glibc's answer
 * when its mmap fails), or EINVAL (the program's own stack memory is too
 * small to hold the thread block), or what glibc answers for the
 * scheduling and CPU mask attr asks (EINVAL, EPERM). */
int weft__pthread_create(pthread_t *tid, const pthread_attr_t *attr,
			 void *(*fn)(void *), void *arg)
{
	struct weft__co *self = weft__green_co();

	if (self == NULL)
		return weft__libc()->pthread_create(tid, attr, fn, arg);
	struct weft__green *g = calloc(1, sizeof *g);
	if (g == NULL || !weft__green_reserve()) {
		weft__green_free(g);
		return EAGAIN;
	}
	int state = PTHREAD_CREATE_JOINABLE, saved = errno;
	struct weft__co_attr ca = { .own_tcb = true };
	g->fn = fn;
	g->arg = arg;
	attr_stack(attr, &ca);
	if (attr != NULL)
		pthread_attr_getdetachstate(attr, &state);
	ca.detached = state == PTHREAD_CREATE_DETACHED;
	int err = weft__green_sched_init(g, self, attr);
	struct weft__co *co = err ? NULL : weft__co_new(start, g, &ca);
	int r = err ? err : co == NULL && errno == EINVAL && ca.stack ?
		EINVAL : EAGAIN;
	errno = saved;
	if (co == NULL) {
		weft__green_insert(NULL);
		weft__green_free(g);
		return r;
	}
	g->co = co;
	weft__green_sigs_start(g, self, attr);
	weft__cancel_init(co);
	g->id = weft__green_id(co);
	g->guard = ca.guard;
	weft__green_insert(g);
	*tid = g->id;
	weft__co_start(co, true);
	return 0;
}

/* pthread_exit: ends the calling green thread as glibc would: its
 * cleanup handlers and C++ destructors run as it unwinds, then its key
 * and thread_local destructors (core/cancel.h); in a root, waits for the
 * thread's other coroutines to end and then ends the thread for real,
 * which for main means the process exits with 0 once the last one has. */
void weft__pthread_exit(void *result)
{
	struct weft__co *co = weft__green_co();

	if (co == NULL) {
		weft__libc()->pthread_exit(result);
		__builtin_unreachable();
	}
	if (co->landing != NULL)
		weft__cancel_exit(co, result);
	weft_exit(result);
}

/* ---- join and detach ---- */

/* Parks self until co ends, or the deadline; a cancellation point.
 * Returns 0, or ETIMEDOUT. */
static int wait_end(struct weft__co *self, struct weft__co *co,
		    int64_t deadline)
{
	for (;;) {
		weft__cancel_enter(self);
		co->joining = true;
		int r = weft__co_await_end(self, co, deadline);
		co->joining = false;
		if (weft__cancel_leave(self, r) != EINTR)
			return r;
		/* A signal sent to this green thread: its handlers run, and
		 * the join goes on (it never gives EINTR). */
		weft__sig_run(self);
	}
}

/* Joins green thread g: waits for its end (until abs on CLOCK_REALTIME
 * if not NULL; not at all if try), stores its result, releases it.
 * Returns 0 or an error number, in glibc's order of checks. */
static int join(struct weft__green *g, void **result,
		const struct timespec *abs, bool try)
{
	struct weft__co *self = weft__self(), *co = g->co;

	if (try && !atomic_load(&co->left))
		return EBUSY;
	if (co == self || self->joiner == co)
		return EDEADLK;
	if (co->detached || co->joining)
		return EINVAL;
	if (!atomic_load(&co->left)) {
		int64_t deadline = -1;
		/* glibc: a time before 1970 has passed, whatever tv_nsec. */
		int r = abs && abs->tv_sec < 0 ? ETIMEDOUT :
			abs ? weft__green_deadline(CLOCK_REALTIME, abs,
						   &deadline) : 0;
		if (r == 0)
			r = wait_end(self, co, deadline);
		if (r != 0)
			return r;
	}
	weft__spin_lock(&weft__green_lock);
	weft__green_remove_locked(g);
	weft__spin_unlock(&weft__green_lock);
	weft__green_free(g);
	int saved = errno;
	weft_join(co, result);
	errno = saved;
	return 0;
}

/* See green.h. */
struct weft__green *weft__green_thread(pthread_t th)
{
	return weft__green_on() ? weft__green_find(th) : NULL;
}

/* pthread_join: a green thread's is weft_join's; a real thread's, libc's. */
int weft__pthread_join(pthread_t th, void **result)
{
	struct weft__green *g = weft__green_thread(th);

	if (g == NULL)
		return weft__libc()->pthread_join(th, result);
	return join(g, result, NULL, false);
}

/* pthread_tryjoin_np: EBUSY while the thread runs. */
int weft__pthread_tryjoin_np(pthread_t th, void **result)
{
	struct weft__green *g = weft__green_thread(th);

	if (g == NULL)
		return weft__libc()->pthread_tryjoin_np(th, result);
	return join(g, result, NULL, true);
}

/* pthread_timedjoin_np: ETIMEDOUT once abs (CLOCK_REALTIME) passes,
 * EINVAL for a bad abs; abs NULL waits for ever, as in glibc. */
int weft__pthread_timedjoin_np(pthread_t th, void **result,
			       const struct timespec *abs)
{
	struct weft__green *g = weft__green_thread(th);

	if (g == NULL)
		return weft__libc()->pthread_timedjoin_np(th, result, abs);
	return join(g, result, abs, false);
}

/* pthread_detach: the thread releases itself when it ends (at once if it
 * has).  Returns 0, or EINVAL if it is detached or being joined. */
int weft__pthread_detach(pthread_t th)
{
	if (!weft__green_on())
		return weft__libc()->pthread_detach(th);
	weft__spin_lock(&weft__green_lock);
	struct weft__green *g = weft__green_find_locked(th);
	if (g == NULL) {
		weft__spin_unlock(&weft__green_lock);
		return weft__libc()->pthread_detach(th);
	}
	struct weft__co *co = g->co;
	int r = 0, saved = errno;
	bool gone = false;
	if (co->detached || co->joining) {
		r = EINVAL;
	} else {
		gone = co->state == WEFT__DONE;
		if (gone)
			weft__green_remove_locked(g);
		weft_detach(co); /* frees co now if it has ended */
	}
	weft__spin_unlock(&weft__green_lock);
	errno = saved;
	if (gone)
		weft__green_free(g);
	return r;
}

/* ---- identity ---- */

/* pthread_self: a coroutine's address, or the real id in a root (and
 * wherever weft is not acting). */
pthread_t weft__pthread_self(void)
{
	struct weft__co *co = weft__running;

	if (!weft__green_on() || co == NULL || co->slot == NULL)
		return weft__libc()->pthread_self();
	return weft__green_id(co);
}

/* See green.h.  The coroutine th names, if green threads are on and th is a green
 * thread or the calling coroutine itself (a weft_go coroutine asking
 * about itself); *g gets the green thread's record or NULL. */
struct weft__co *weft__green_target(pthread_t th, struct weft__green **g)
{
	struct weft__co *co = weft__running;

	*g = weft__green_thread(th);
	if (*g != NULL)
		return (*g)->co;
	if (weft__green_on() && co != NULL && co->slot != NULL &&
	    th == weft__green_id(co))
		return co;
	return NULL;
}

/* See green.h. */
pthread_t weft__green_os_thread(struct weft__green *g)
{
	struct weft__co *co = g ? g->co : weft__running;

	/* An OS thread's pthread_t is the descriptor in its block.  In a green
	 * thread, glibc's pthread_self() is the green thread's. */
	return co ? weft__os_thread(co) : weft__libc()->pthread_self();
}

/* ---- yielding ---- */

/* sched_yield: lets the other coroutines of the thread run, then makes
 * the real call too, so that other OS threads get the CPU as well: a
 * spinning caller (weft's own spin locks call sched_yield) may be waiting
 * for a thread the kernel has preempted.  Alone, only the real call.
 * A coroutine that is half parked (queued on a waker's list) or ending
 * must not be queued to run, so it gets only the real call too. */
int weft__sched_yield(void)
{
	const struct weft__real *libc = weft__libc();
	struct weft__co *co = weft__running;

	int wake = co ? atomic_load_explicit(&co->wake, memory_order_relaxed)
		      : WEFT__AWAKE;

	if (weft__green_on() && co != NULL && co->state == WEFT__RUNNING &&
	    !weft__asleep(wake) && !weft__alone(co)) {
		weft_yield();
		weft__take_due(co); /* given meanwhile (poke.h) */
	}
	return libc->sched_yield();
}

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_create(pthread_t *tid, const pthread_attr_t *attr,
			       void *(*fn)(void *), void *arg)
{
	return weft__pthread_create(tid, attr, fn, arg);
}

WEFT_EXPORT int pthread_join(pthread_t th, void **result)
{
	return weft__pthread_join(th, result);
}

WEFT_EXPORT int pthread_tryjoin_np(pthread_t th, void **result)
{
	return weft__pthread_tryjoin_np(th, result);
}

WEFT_EXPORT int pthread_timedjoin_np(pthread_t th, void **result,
				     const struct timespec *abs)
{
	return weft__pthread_timedjoin_np(th, result, abs);
}

WEFT_EXPORT int pthread_detach(pthread_t th)
{
	return weft__pthread_detach(th);
}

WEFT_EXPORT void pthread_exit(void *result)
{
	weft__pthread_exit(result);
	__builtin_unreachable();
}

WEFT_EXPORT pthread_t pthread_self(void)
{
	return weft__pthread_self();
}

/* Handles are compared as they are, green or real. */
WEFT_EXPORT int pthread_equal(pthread_t a, pthread_t b)
{
	return a == b;
}

WEFT_EXPORT int sched_yield(void)
{
	return weft__sched_yield();
}
