/* pthread_cond.c - condition variables for green threads.
 *
 * A green condition variable is a weft_cond in the pthread_cond_t's own
 * memory, and keeps its flags in the word glibc keeps them in (__wrefs:
 * bit 0 process-shared, bit 1 CLOCK_MONOTONIC), with glibc's meaning: so
 * PTHREAD_COND_INITIALIZER works in place and a condition variable glibc
 * initialised keeps its clock.  Process-shared ones stay glibc's.  One
 * used with a mutex that is glibc's (robust or process-shared) becomes
 * glibc's too, marked as shared, since glibc's wait must release that
 * mutex.
 */
#include <stddef.h>
#include <string.h>

#include "green.h"
#include "pshared.h"

#define COND_SHARED    1u /* glibc's __PTHREAD_COND_SHARED_MASK */
#define COND_MONOTONIC 2u /* glibc's __PTHREAD_COND_CLOCK_MONOTONIC_MASK */

_Static_assert(sizeof(weft_cond) <= offsetof(pthread_cond_t,
					     __data.__wrefs),
	       "a weft_cond ends before glibc's flags");

static unsigned *flags_of(pthread_cond_t *pc)
{
	return &pc->__data.__wrefs;
}

/* The weft condition variable pc is, or NULL if it is glibc's. */
static weft_cond *green_cond(pthread_cond_t *pc)
{
	if (!weft__green_on() ||
	    (__atomic_load_n(flags_of(pc), __ATOMIC_RELAXED) & COND_SHARED))
		return NULL;
	return (weft_cond *)pc;
}

/* The clock of pc's time-outs. */
static clockid_t clock_of(pthread_cond_t *pc)
{
	return *flags_of(pc) & COND_MONOTONIC ? CLOCK_MONOTONIC
					       : CLOCK_REALTIME;
}

/* pthread_cond_init: a green condition variable with attr's clock, or
 * glibc's for a process-shared attr.  Returns 0. */
int weft__pthread_cond_init(pthread_cond_t *pc, const pthread_condattr_t *attr)
{
	int pshared = PTHREAD_PROCESS_PRIVATE;
	clockid_t clock = CLOCK_REALTIME;

	if (!weft__green_on())
		return weft__libc()->pthread_cond_init(pc, attr);
	if (attr != NULL) {
		pthread_condattr_getpshared(attr, &pshared);
		pthread_condattr_getclock(attr, &clock);
	}
	if (pshared != PTHREAD_PROCESS_PRIVATE)
		return weft__libc()->pthread_cond_init(pc, attr);
	memset(pc, 0, sizeof *pc);
	*flags_of(pc) = clock == CLOCK_MONOTONIC ? COND_MONOTONIC : 0;
	return 0;
}

/* pthread_cond_destroy: waits for the waiters a signal or broadcast woke
 * to be done with it, as glibc's does.  Returns 0. */
int weft__pthread_cond_destroy(pthread_cond_t *pc)
{
	weft_cond *c = green_cond(pc);

	if (c == NULL)
		return weft__libc()->pthread_cond_destroy(pc);
	weft__cond_quiesce(c);
	return 0;
}

/* Waits on c with m held, until deadline; a cancellation point.
 * Returns 0, ETIMEDOUT, or EPERM (m is error-checking or recursive and
 * not held by the caller, as glibc's unlock would say). */
static int wait_until(weft_cond *c, weft_mutex *m, int64_t deadline)
{
	struct weft__co *co = weft__green_co();

	if (m->kind_ != WEFT_MUTEX_NORMAL &&
	    __atomic_load_n(&m->owner_, __ATOMIC_RELAXED) != co)
		return EPERM;
	weft__cancel_enter(co);
	int r = weft__cond_park(c, m, deadline);
	/* A signal sent to this green thread: its handlers run while the
	 * mutex is released, as natively, and the wait returns 0, as POSIX
	 * allows.  A cancel acts with the mutex taken back. */
	if (r == EINTR) {
		weft__sig_run(co);
		r = 0;
	}
	weft__mutex_lock_until(m, -1);
	return weft__cancel_leave(co, r);
}

/* Whether a wait on pc with pm goes to glibc: pc is glibc's, or pm is
 * (which makes pc glibc's from now on). */
static bool wait_is_glibcs(pthread_cond_t *pc, pthread_mutex_t *pm,
			   weft_cond **c, weft_mutex **m)
{
	*c = green_cond(pc);
	*m = weft__green_on() ? weft__green_mutex(pm) : NULL;
	if (*c != NULL && *m == NULL && weft__green_on())
		__atomic_fetch_or(flags_of(pc), COND_SHARED, __ATOMIC_RELAXED);
	return *c == NULL || *m == NULL;
}

/* pthread_cond_wait: unlocks pm, parks until signalled, locks pm again.
 * Returns 0 or EPERM; a green mutex with a process-shared condition
 * variable gets EINVAL (glibc's wait cannot release it). */
int weft__pthread_cond_wait(pthread_cond_t *pc, pthread_mutex_t *pm)
{
	weft_cond *c;
	weft_mutex *m;

	if (wait_is_glibcs(pc, pm, &c, &m))
		return m == NULL ? weft__glibc_cond_wait(pc, pm, 0, NULL)
				 : EINVAL;
	return wait_until(c, m, -1);
}

/* Waits until abs on clock; abs is checked first, as glibc does. */
static int timed_wait(weft_cond *c, weft_mutex *m, clockid_t clock,
		      const struct timespec *abs)
{
	int64_t deadline;
	int r = weft__green_deadline(clock, abs, &deadline);

	return r ? r : wait_until(c, m, deadline);
}

/* pthread_cond_timedwait: as wait, with ETIMEDOUT (pm locked again) once
 * abs passes on the condition variable's clock; EINVAL for a bad abs. */
int weft__pthread_cond_timedwait(pthread_cond_t *pc, pthread_mutex_t *pm,
				 const struct timespec *abs)
{
	weft_cond *c;
	weft_mutex *m;

	if (wait_is_glibcs(pc, pm, &c, &m))
		return m == NULL ?
			weft__glibc_cond_wait(pc, pm, clock_of(pc), abs) :
			EINVAL;
	return timed_wait(c, m, clock_of(pc), abs);
}

/* pthread_cond_clockwait: timedwait on clock (CLOCK_REALTIME or
 * CLOCK_MONOTONIC; EINVAL for others). */
int weft__pthread_cond_clockwait(pthread_cond_t *pc, pthread_mutex_t *pm,
				 clockid_t clock, const struct timespec *abs)
{
	weft_cond *c;
	weft_mutex *m;

	if (wait_is_glibcs(pc, pm, &c, &m))
		return m == NULL ?
			weft__glibc_cond_wait(pc, pm, clock, abs) :
			EINVAL;
	return timed_wait(c, m, clock, abs);
}

/* pthread_cond_signal: wakes the longest waiter, if any.  Returns 0. */
int weft__pthread_cond_signal(pthread_cond_t *pc)
{
	weft_cond *c = green_cond(pc);

	if (c == NULL)
		return weft__libc()->pthread_cond_signal(pc);
	return weft_cond_signal(c);
}

/* pthread_cond_broadcast: wakes every waiter.  Returns 0. */
int weft__pthread_cond_broadcast(pthread_cond_t *pc)
{
	weft_cond *c = green_cond(pc);

	if (c == NULL)
		return weft__libc()->pthread_cond_broadcast(pc);
	return weft_cond_broadcast(c);
}

WEFT_EXPORT int pthread_cond_init(pthread_cond_t *pc,
				  const pthread_condattr_t *attr)
{
	return weft__pthread_cond_init(pc, attr);
}

WEFT_EXPORT int pthread_cond_destroy(pthread_cond_t *pc)
{
	return weft__pthread_cond_destroy(pc);
}

WEFT_EXPORT int pthread_cond_wait(pthread_cond_t *pc, pthread_mutex_t *pm)
{
	return weft__pthread_cond_wait(pc, pm);
}

WEFT_EXPORT int pthread_cond_timedwait(pthread_cond_t *pc,
				       pthread_mutex_t *pm,
				       const struct timespec *abs)
{
	return weft__pthread_cond_timedwait(pc, pm, abs);
}

WEFT_EXPORT int pthread_cond_clockwait(pthread_cond_t *pc,
				       pthread_mutex_t *pm, clockid_t clock,
				       const struct timespec *abs)
{
	return weft__pthread_cond_clockwait(pc, pm, clock, abs);
}

WEFT_EXPORT int pthread_cond_signal(pthread_cond_t *pc)
{
	return weft__pthread_cond_signal(pc);
}

WEFT_EXPORT int pthread_cond_broadcast(pthread_cond_t *pc)
{
	return weft__pthread_cond_broadcast(pc);
}
