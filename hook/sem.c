/* sem.c - POSIX semaphores for green threads.
 *
 * A green semaphore is a weft_sem in the sem_t's memory, marked with
 * GREEN in the last 8 bytes, which glibc never writes: semaphores have no
 * static initialiser, so one glibc made (process-shared, named with
 * sem_open, or made before green threads were on) lacks the mark and
 * stays glibc's.  Errors are -1 and errno, as POSIX semaphores report
 * them; the count stops at SEM_VALUE_MAX as glibc's does.
 */
#include <limits.h>
#include <semaphore.h>
#include <stddef.h>

#include "green.h"
#include "pshared.h"

#define GREEN 0x7466657773656d67u /* "gmeswfet" */

struct green_sem {
	weft_sem sem;
	uint64_t mark;
};

_Static_assert(sizeof(struct green_sem) <= sizeof(sem_t),
	       "a marked weft_sem fits in a sem_t");
_Static_assert(offsetof(struct green_sem, mark) >= 16,
	       "the mark is past glibc's 16 bytes");

/* The weft semaphore s is, or NULL if it is glibc's. */
static weft_sem *green_sem(sem_t *s)
{
	struct green_sem *g = (struct green_sem *)s;

	if (!weft__green_on() ||
	    __atomic_load_n(&g->mark, __ATOMIC_RELAXED) != GREEN)
		return NULL;
	return &g->sem;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* sem_init: a green semaphore holding value, or glibc's when pshared is
 * not 0.  Returns 0, or -1 with EINVAL (value above SEM_VALUE_MAX). */
int weft__sem_init(sem_t *s, int pshared, unsigned value)
{
	struct green_sem *g = (struct green_sem *)s;

	if (!weft__green_on() || pshared != 0) {
		int r = weft__libc()->sem_init(s, pshared, value);
		/* A green one may have lived here: glibc's now. */
		if (r == 0 && weft__green_on())
			__atomic_store_n(&g->mark, 0, __ATOMIC_RELAXED);
		return r;
	}
	if (value > SEM_VALUE_MAX)
		return fail(EINVAL);
	weft_sem_init(&g->sem, value);
	__atomic_store_n(&g->mark, GREEN, __ATOMIC_RELAXED);
	return 0;
}

/* sem_destroy: nothing to release.  Returns 0. */
int weft__sem_destroy(sem_t *s)
{
	if (green_sem(s) == NULL)
		return weft__libc()->sem_destroy(s);
	return 0;
}

/* Takes a unit, waiting until deadline (negative: none); a cancellation
 * point.  Returns 0 or -1 with ETIMEDOUT or EINTR. */
static int wait_until(weft_sem *s, int64_t deadline)
{
	struct weft__co *co = weft__green_co();
	int r;

	/* A handler of a signal sent to this green thread ends the wait
	 * with EINTR, as it ends glibc's futex wait, which the kernel
	 * restarts only when it has no time-out and every handler has
	 * SA_RESTART, whatever signal(7) says of sem_wait. */
	for (;;) {
		weft__cancel_enter(co);
		r = weft__cancel_leave(co, weft__sem_wait_until(s, deadline));
		if (r != EINTR)
			break;
		int ran = weft__sig_run(co);
		if (ran == 0 || (ran > 0 && deadline >= 0))
			break;
	}
	return r ? fail(r) : 0;
}

/* sem_wait: takes a unit, parking while there is none.  Returns 0, or -1
 * with EINTR if a signal's handler without SA_RESTART ran. */
int weft__sem_wait(sem_t *s)
{
	weft_sem *ws = green_sem(s);

	if (ws == NULL)
		return weft__glibc_sem_wait(s, 0, NULL);
	return wait_until(ws, -1);
}

/* sem_trywait: takes a unit if there is one; else -1 with EAGAIN. */
int weft__sem_trywait(sem_t *s)
{
	weft_sem *ws = green_sem(s);

	if (ws == NULL)
		return weft__libc()->sem_trywait(s);
	return weft_sem_trywait(ws);
}

/* sem_clockwait: as sem_wait, with -1 and ETIMEDOUT once abs passes on
 * clock, and EINTR after any handler (SA_RESTART or not); EINVAL for a clock other than CLOCK_REALTIME or CLOCK_MONOTONIC
 * or a bad abs, checked first as glibc does. */
int weft__sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abs)
{
	weft_sem *ws = green_sem(s);
	int64_t deadline;

	if (ws == NULL)
		return weft__glibc_sem_wait(s, clock, abs);
	int r = weft__green_deadline(clock, abs, &deadline);
	if (r != 0)
		return fail(r);
	int saved = errno;
	if (weft_sem_trywait(ws) == 0)
		return 0;
	errno = saved;
	return wait_until(ws, deadline);
}

/* sem_timedwait: sem_clockwait on CLOCK_REALTIME. */
int weft__sem_timedwait(sem_t *s, const struct timespec *abs)
{
	if (green_sem(s) == NULL)
		return weft__glibc_sem_wait(s, CLOCK_REALTIME, abs);
	return weft__sem_clockwait(s, CLOCK_REALTIME, abs);
}

/* sem_post: adds a unit, handing it to the longest waiter if any.
 * Returns 0, or -1 with EOVERFLOW at SEM_VALUE_MAX. */
int weft__sem_post(sem_t *s)
{
	weft_sem *ws = green_sem(s);

	if (ws == NULL)
		return weft__libc()->sem_post(s);
	if (weft_sem_value(ws) >= SEM_VALUE_MAX)
		return fail(EOVERFLOW);
	return weft_sem_post(ws);
}

/* sem_getvalue: the units available (never negative, as glibc).
 * Returns 0. */
int weft__sem_getvalue(sem_t *s, int *value)
{
	weft_sem *ws = green_sem(s);

	if (ws == NULL)
		return weft__libc()->sem_getvalue(s, value);
	*value = (int)weft_sem_value(ws);
	return 0;
}

WEFT_EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
	return weft__sem_init(s, pshared, value);
}

WEFT_EXPORT int sem_destroy(sem_t *s)
{
	return weft__sem_destroy(s);
}

WEFT_EXPORT int sem_wait(sem_t *s)
{
	return weft__sem_wait(s);
}

WEFT_EXPORT int sem_trywait(sem_t *s)
{
	return weft__sem_trywait(s);
}

WEFT_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abs)
{
	return weft__sem_timedwait(s, abs);
}

WEFT_EXPORT int sem_clockwait(sem_t *s, clockid_t clock,
			      const struct timespec *abs)
{
	return weft__sem_clockwait(s, clock, abs);
}

WEFT_EXPORT int sem_post(sem_t *s)
{
	return weft__sem_post(s);
}

WEFT_EXPORT int sem_getvalue(sem_t *s, int *value)
{
	return weft__sem_getvalue(s, value);
}
