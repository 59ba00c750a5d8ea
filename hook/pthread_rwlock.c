/* pthread_rwlock.c - read-write locks for green threads.
 *
 * A green rwlock is core's struct weft__rwlock in the pthread_rwlock_t's
 * own memory: its kind sits where glibc keeps its flags, so the static
 * initialisers (all zero, or PTHREAD_RWLOCK_WRITER_NONRECURSIVE_
 * INITIALIZER_NP's flags) work in place, and glibc's process-shared mark
 * stays where glibc reads it: process-shared rwlocks stay glibc's.
 */
#include <stddef.h>
#include <string.h>

#include "green.h"
#include "pshared.h"

_Static_assert(sizeof(struct weft__rwlock) <= sizeof(pthread_rwlock_t),
	       "a weft rwlock fits in a pthread_rwlock_t");
_Static_assert(offsetof(struct weft__rwlock, kind_) ==
	       offsetof(pthread_rwlock_t, __data.__flags),
	       "the kind is where glibc keeps its flags");
_Static_assert(offsetof(struct weft__rwlock, shared_) ==
	       offsetof(pthread_rwlock_t, __data.__shared),
	       "glibc's process-shared mark is left alone");
_Static_assert(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP ==
	       WEFT__RWLOCK_PREFER_WRITER_NONRECURSIVE,
	       "kinds have glibc's numbers");

/* The weft rwlock prw is, or NULL if it is glibc's. */
static struct weft__rwlock *green_rwlock(pthread_rwlock_t *prw)
{
	struct weft__rwlock *rw = (struct weft__rwlock *)prw;

	if (!weft__green_on() ||
	    __atomic_load_n(&rw->shared_, __ATOMIC_RELAXED) != 0)
		return NULL;
	return rw;
}

/* pthread_rwlock_init: a green rwlock of attr's kind (readers preferred
 * unless PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP), or glibc's for a
 * process-shared attr.  Returns 0. */
int weft__pthread_rwlock_init(pthread_rwlock_t *prw,
			      const pthread_rwlockattr_t *attr)
{
	int pshared = PTHREAD_PROCESS_PRIVATE;
	int kind = PTHREAD_RWLOCK_DEFAULT_NP;

	if (!weft__green_on())
		return weft__libc()->pthread_rwlock_init(prw, attr);
	if (attr != NULL) {
		pthread_rwlockattr_getpshared(attr, &pshared);
		pthread_rwlockattr_getkind_np(attr, &kind);
	}
	if (pshared != PTHREAD_PROCESS_PRIVATE)
		return weft__libc()->pthread_rwlock_init(prw, attr);
	memset(prw, 0, sizeof *prw);
	return weft__rwlock_init((struct weft__rwlock *)prw, kind);
}

/* pthread_rwlock_destroy: nothing to release.  Returns 0. */
int weft__pthread_rwlock_destroy(pthread_rwlock_t *prw)
{
	if (green_rwlock(prw) == NULL)
		return weft__libc()->pthread_rwlock_destroy(prw);
	return 0;
}

static int read_wait(void *rw, int64_t deadline)
{
	return weft__rwlock_rdlock_until(rw, deadline);
}

static int write_wait(void *rw, int64_t deadline)
{
	return weft__rwlock_wrlock_until(rw, deadline);
}

/* Takes rw for reading (write: for writing) until deadline, as a native
 * wait: a signal sent meanwhile runs its handlers (green.h). */
static int lock_wait(struct weft__rwlock *rw, bool write, int64_t deadline)
{
	return weft__green_lock_wait(write ? write_wait : read_wait, rw,
				     deadline);
}

/* pthread_rwlock_rdlock: shares the lock with other readers; parks while
 * a writer holds it (or, with writers preferred, waits).  Returns 0,
 * EDEADLK (the caller holds it for writing) or EAGAIN (too many
 * readers). */
int weft__pthread_rwlock_rdlock(pthread_rwlock_t *prw)
{
	struct weft__rwlock *rw = green_rwlock(prw);

	if (rw == NULL)
		return weft__glibc_rwlock_lock(prw, false, 0, NULL);
	return lock_wait(rw, false, -1);
}

/* pthread_rwlock_tryrdlock: as rdlock, but EBUSY instead of waiting. */
int weft__pthread_rwlock_tryrdlock(pthread_rwlock_t *prw)
{
	struct weft__rwlock *rw = green_rwlock(prw);

	if (rw == NULL)
		return weft__libc()->pthread_rwlock_tryrdlock(prw);
	return weft__rwlock_tryrdlock(rw);
}

/* pthread_rwlock_clockrdlock: as rdlock, with ETIMEDOUT once abs passes
 * on clock; EINVAL for a bad clock or abs. */
int weft__pthread_rwlock_clockrdlock(pthread_rwlock_t *prw, clockid_t clock,
				     const struct timespec *abs)
{
	struct weft__rwlock *rw = green_rwlock(prw);
	int64_t deadline;

	if (rw == NULL)
		return weft__glibc_rwlock_lock(prw, false, clock, abs);
	/* abs is checked first, as glibc does. */
	int r = weft__green_deadline(clock, abs, &deadline);
	return r ? r : lock_wait(rw, false, deadline);
}

/* pthread_rwlock_timedrdlock: clockrdlock on CLOCK_REALTIME. */
int weft__pthread_rwlock_timedrdlock(pthread_rwlock_t *prw,
				     const struct timespec *abs)
{
	if (green_rwlock(prw) == NULL)
		return weft__glibc_rwlock_lock(prw, false, CLOCK_REALTIME,
					       abs);
	return weft__pthread_rwlock_clockrdlock(prw, CLOCK_REALTIME, abs);
}

/* pthread_rwlock_wrlock: takes the lock alone; parks while anyone holds
 * it.  Returns 0 or EDEADLK (the caller holds it for writing). */
int weft__pthread_rwlock_wrlock(pthread_rwlock_t *prw)
{
	struct weft__rwlock *rw = green_rwlock(prw);

	if (rw == NULL)
		return weft__glibc_rwlock_lock(prw, true, 0, NULL);
	return lock_wait(rw, true, -1);
}

/* pthread_rwlock_trywrlock: as wrlock, but EBUSY instead of waiting. */
int weft__pthread_rwlock_trywrlock(pthread_rwlock_t *prw)
{
	struct weft__rwlock *rw = green_rwlock(prw);

	if (rw == NULL)
		return weft__libc()->pthread_rwlock_trywrlock(prw);
	return weft__rwlock_trywrlock(rw);
}

/* pthread_rwlock_clockwrlock: as wrlock, with ETIMEDOUT once abs passes
 * on clock; EINVAL for a bad clock or abs. */
int weft__pthread_rwlock_clockwrlock(pthread_rwlock_t *prw, clockid_t clock,
				     const struct timespec *abs)
{
	struct weft__rwlock *rw = green_rwlock(prw);
	int64_t deadline;

	if (rw == NULL)
		return weft__glibc_rwlock_lock(prw, true, clock, abs);
	/* abs is checked first, as glibc does. */
	int r = weft__green_deadline(clock, abs, &deadline);
	return r ? r : lock_wait(rw, true, deadline);
}

/* pthread_rwlock_timedwrlock: clockwrlock on CLOCK_REALTIME. */
int weft__pthread_rwlock_timedwrlock(pthread_rwlock_t *prw,
				     const struct timespec *abs)
{
	if (green_rwlock(prw) == NULL)
		return weft__glibc_rwlock_lock(prw, true, CLOCK_REALTIME,
					       abs);
	return weft__pthread_rwlock_clockwrlock(prw, CLOCK_REALTIME, abs);
}

/* pthread_rwlock_unlock: releases the caller's write lock or one read
 * lock.  Returns 0, or EPERM if the caller holds neither. */
int weft__pthread_rwlock_unlock(pthread_rwlock_t *prw)
{
	struct weft__rwlock *rw = green_rwlock(prw);

	if (rw == NULL)
		return weft__libc()->pthread_rwlock_unlock(prw);
	return weft__rwlock_unlock(rw);
}

WEFT_EXPORT int pthread_rwlock_init(pthread_rwlock_t *prw,
				    const pthread_rwlockattr_t *attr)
{
	return weft__pthread_rwlock_init(prw, attr);
}

WEFT_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *prw)
{
	return weft__pthread_rwlock_destroy(prw);
}

WEFT_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *prw)
{
	return weft__pthread_rwlock_rdlock(prw);
}

WEFT_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *prw)
{
	return weft__pthread_rwlock_tryrdlock(prw);
}

WEFT_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *prw,
					   const struct timespec *abs)
{
	return weft__pthread_rwlock_timedrdlock(prw, abs);
}

WEFT_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *prw,
					   clockid_t clock,
					   const struct timespec *abs)
{
	return weft__pthread_rwlock_clockrdlock(prw, clock, abs);
}

WEFT_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *prw)
{
	return weft__pthread_rwlock_wrlock(prw);
}

WEFT_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *prw)
{
	return weft__pthread_rwlock_trywrlock(prw);
}

WEFT_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *prw,
					   const struct timespec *abs)
{
	return weft__pthread_rwlock_timedwrlock(prw, abs);
}

WEFT_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *prw,
					   clockid_t clock,
					   const struct timespec *abs)
{
	return weft__pthread_rwlock_clockwrlock(prw, clock, abs);
}

WEFT_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *prw)
{
	return weft__pthread_rwlock_unlock(prw);
}
