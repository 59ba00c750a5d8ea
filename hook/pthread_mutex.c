/* pthread_mutex.c - mutexes for green threads.
 *
 * A green mutex is a weft_mutex in the pthread_mutex_t's own memory, its
 * kind where glibc keeps its own, so the static initialisers work in
 * place: PTHREAD_MUTEX_INITIALIZER and the recursive and error-checking
 * ones give kinds 0, 1 and 2, which are weft's.  glibc's adaptive kind
 * becomes normal.  Robust and process-shared mutexes stay glibc's: they
 * carry glibc's flags in the kind for ever, and every call on them goes
 * to glibc, whose contended waits park (pshared.c).
 *
 * The scheduler's own loop locks green mutexes too, without parking: it
 * runs libev, whose reallocs reach the program's allocator, and jemalloc
 * (redis's) takes pthread mutexes, which are green for the program's
 * threads and so must be for the loop.  It acts as its idle context and
 * spins while another holds the mutex: a coroutine of its own thread
 * never holds an allocator's lock across a park, unless it parked on a
 * nested lock held by another OS thread; then the loop would spin for
 * ever, which is why the loop should rather not reach the program's
 * allocator at all.
 */
#include <stddef.h>
#include <string.h>

#include "green.h"
#include "pshared.h"

/* glibc's flags in a mutex's kind (nptl/pthreadP.h). */
#define GLIBC_ROBUST  16
#define GLIBC_PSHARED 128

_Static_assert(sizeof(weft_mutex) <= sizeof(pthread_mutex_t),
	       "a weft_mutex fits in a pthread_mutex_t");
_Static_assert(offsetof(weft_mutex, kind_) ==
	       offsetof(pthread_mutex_t, __data.__kind),
	       "weft_mutex keeps its kind where glibc does");

/* See green.h. */
weft_mutex *weft__green_mutex(pthread_mutex_t *pm)
{
	weft_mutex *m = (weft_mutex *)pm;
	int kind = __atomic_load_n(&m->kind_, __ATOMIC_RELAXED);

	if (weft__likely((unsigned)kind <= WEFT_MUTEX_ERRORCHECK))
		return m;
	if (kind == -1 || (kind & (GLIBC_ROBUST | GLIBC_PSHARED)))
		return NULL;
	/* An adaptive mutex, or one glibc made with flags weft has no use
	 * for (priority protocols, lock elision): keep its type. */
	int type = kind & 3;
	__atomic_store_n(&m->kind_, type == PTHREAD_MUTEX_ADAPTIVE_NP ?
			 WEFT_MUTEX_NORMAL : type, __ATOMIC_RELAXED);
	return m;
}

static weft_mutex *green_mutex(pthread_mutex_t *pm)
{
	return weft__green_on() ? weft__green_mutex(pm) : NULL;
}

/* pthread_mutex_init: a green mutex of attr's type (normal, recursive,
 * error-checking; adaptive is normal), or glibc's for robust and
 * process-shared attrs.  Returns 0. */
int weft__pthread_mutex_init(pthread_mutex_t *pm,
			     const pthread_mutexattr_t *attr)
{
	int type = PTHREAD_MUTEX_DEFAULT;
	int pshared = PTHREAD_PROCESS_PRIVATE, robust = PTHREAD_MUTEX_STALLED;

	if (!weft__green_on())
		return weft__libc()->pthread_mutex_init(pm, attr);
	if (attr != NULL) {
		pthread_mutexattr_gettype(attr, &type);
		pthread_mutexattr_getpshared(attr, &pshared);
		pthread_mutexattr_getrobust(attr, &robust);
	}
	if (pshared != PTHREAD_PROCESS_PRIVATE ||
	    robust != PTHREAD_MUTEX_STALLED)
		return weft__libc()->pthread_mutex_init(pm, attr);
	if (type == PTHREAD_MUTEX_ADAPTIVE_NP)
		type = WEFT_MUTEX_NORMAL;
	memset(pm, 0, sizeof *pm);
	weft_mutex_init((weft_mutex *)pm, type);
	return 0;
}

/* pthread_mutex_destroy: EBUSY while locked; then, as glibc, the mutex
 * answers EINVAL until it is initialised again. */
int weft__pthread_mutex_destroy(pthread_mutex_t *pm)
{
	weft_mutex *m = green_mutex(pm);

	if (m == NULL)
		return weft__libc()->pthread_mutex_destroy(pm);
	if (__atomic_load_n(&m->owner_, __ATOMIC_RELAXED) != NULL)
		return EBUSY;
	__atomic_store_n(&m->kind_, -1, __ATOMIC_RELAXED);
	return 0;
}

/* The lock without waiting: 0, EBUSY, EAGAIN, or EDEADLK for an
 * error-checking mutex the caller holds.  From the loop, core's call is
 * made as the idle context. */
static int try(weft_mutex *m)
{
	struct weft__co *loop = weft__loop_context();
	int saved = errno;

	if (loop != NULL)
		weft__running = loop;
	int r = weft_mutex_trylock(m) == 0 ? 0 : errno;
	if (loop != NULL)
		weft__running = NULL;
	errno = saved;
	return r;
}

static int mutex_wait(void *m, int64_t deadline)
{
	return weft__mutex_lock_or_signal(m, deadline);
}

/* Locks m, waiting until deadline (negative: none): parks the caller
 * (whose handlers run when a signal comes meanwhile), or from the loop
 * spins.  Returns 0 or an error number. */
static int lock_wait(weft_mutex *m, int64_t deadline)
{
	int r;

	if (weft__likely(weft__loop_context() == NULL))
		return weft__green_lock_wait(mutex_wait, m, deadline);
	while ((r = try(m)) == EBUSY) {
		if (deadline >= 0 && weft__now() >= deadline)
			return ETIMEDOUT;
		weft__libc()->sched_yield();
	}
	return r;
}

/* pthread_mutex_lock: parks while another coroutine holds it.  Returns
 * 0, EDEADLK (error-checking, relocked) or EAGAIN (recursion too deep). */
int weft__pthread_mutex_lock(pthread_mutex_t *pm)
{
	weft_mutex *m = green_mutex(pm);

	if (m == NULL)
		return weft__glibc_mutex_lock(pm, 0, NULL);
	return lock_wait(m, -1);
}

/* pthread_mutex_trylock: 0, EBUSY (also for an error-checking mutex the
 * caller holds, as glibc) or EAGAIN. */
int weft__pthread_mutex_trylock(pthread_mutex_t *pm)
{
	weft_mutex *m = green_mutex(pm);

	if (m == NULL)
		return weft__libc()->pthread_mutex_trylock(pm);
	int r = try(m);
	return r == EDEADLK ? EBUSY : r;
}

/* Locks m, waiting until abs on clock; abs is checked only if the mutex
 * is not free, as glibc does. */
static int lock_until(weft_mutex *m, clockid_t clock,
		      const struct timespec *abs)
{
	int64_t deadline;
	int r = try(m);

	if (r != EBUSY)
		return r;
	/* glibc: a time before 1970 has passed, whatever tv_nsec. */
	if (abs->tv_sec < 0)
		return ETIMEDOUT;
	r = weft__green_deadline(clock, abs, &deadline);
	return r ? r : lock_wait(m, deadline);
}

/* pthread_mutex_timedlock: as lock, but ETIMEDOUT once abs
 * (CLOCK_REALTIME) passes; EINVAL for a bad abs. */
int weft__pthread_mutex_timedlock(pthread_mutex_t *pm,
				  const struct timespec *abs)
{
	weft_mutex *m = green_mutex(pm);

	if (m == NULL)
		return weft__glibc_mutex_lock(pm, CLOCK_REALTIME, abs);
	return lock_until(m, CLOCK_REALTIME, abs);
}

/* pthread_mutex_clocklock: timedlock on clock (CLOCK_REALTIME or
 * CLOCK_MONOTONIC; EINVAL for others, checked first as glibc). */
int weft__pthread_mutex_clocklock(pthread_mutex_t *pm, clockid_t clock,
				  const struct timespec *abs)
{
	weft_mutex *m = green_mutex(pm);

	if (m == NULL)
		return weft__glibc_mutex_lock(pm, clock, abs);
	if (!weft__green_clock_ok(clock))
		return EINVAL;
	return lock_until(m, clock, abs);
}

/* pthread_mutex_unlock: hands the mutex to the longest waiter.  Returns
 * 0, or EPERM (error-checking or recursive, not held by the caller). */
int weft__pthread_mutex_unlock(pthread_mutex_t *pm)
{
	weft_mutex *m = green_mutex(pm);

	if (m == NULL)
		return weft__libc()->pthread_mutex_unlock(pm);
	struct weft__co *loop = weft__loop_context();
	int saved = errno;
	if (loop != NULL)
		weft__running = loop;
	int r = weft_mutex_unlock(m) == 0 ? 0 : errno;
	if (loop != NULL)
		weft__running = NULL;
	errno = saved;
	return r;
}

WEFT_EXPORT int pthread_mutex_init(pthread_mutex_t *pm,
				   const pthread_mutexattr_t *attr)
{
	return weft__pthread_mutex_init(pm, attr);
}

WEFT_EXPORT int pthread_mutex_destroy(pthread_mutex_t *pm)
{
	return weft__pthread_mutex_destroy(pm);
}

WEFT_EXPORT int pthread_mutex_lock(pthread_mutex_t *pm)
{
	return weft__pthread_mutex_lock(pm);
}

WEFT_EXPORT int pthread_mutex_trylock(pthread_mutex_t *pm)
{
	return weft__pthread_mutex_trylock(pm);
}

WEFT_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *pm,
					const struct timespec *abs)
{
	return weft__pthread_mutex_timedlock(pm, abs);
}

WEFT_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *pm, clockid_t clock,
					const struct timespec *abs)
{
	return weft__pthread_mutex_clocklock(pm, clock, abs);
}

WEFT_EXPORT int pthread_mutex_unlock(pthread_mutex_t *pm)
{
	return weft__pthread_mutex_unlock(pm);
}
