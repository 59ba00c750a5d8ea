/* pthread_barrier.c - barriers for green threads.
 *
 * A green barrier is core's struct weft__barrier in the
 * pthread_barrier_t's memory, marked with GREEN where glibc keeps its
 * process-shared flag (0 or 128 there): barriers have no static
 * initialiser, so one glibc made (process-shared, or before green threads
 * were on) lacks the mark and stays glibc's.
 */
#include <limits.h>
#include <stddef.h>

#include "green.h"
#include "pshared.h"

#define GREEN 0x6e657267u /* "gren" */

_Static_assert(sizeof(struct weft__barrier) <= sizeof(pthread_barrier_t),
	       "a weft barrier fits in a pthread_barrier_t");

/* The weft barrier pb is, or NULL if it is glibc's. */
static struct weft__barrier *green_barrier(pthread_barrier_t *pb)
{
	struct weft__barrier *b = (struct weft__barrier *)pb;

	if (!weft__green_on() ||
	    __atomic_load_n(&b->mark_, __ATOMIC_RELAXED) != GREEN)
		return NULL;
	return b;
}

/* pthread_barrier_init: a green barrier for count threads, or glibc's for
 * a process-shared attr.  Returns 0 or EINVAL (count 0, or more than
 * glibc allows). */
int weft__pthread_barrier_init(pthread_barrier_t *pb,
			       const pthread_barrierattr_t *attr,
			       unsigned count)
{
	int pshared = PTHREAD_PROCESS_PRIVATE;
	struct weft__barrier *b = (struct weft__barrier *)pb;

	if (!weft__green_on())
		return weft__libc()->pthread_barrier_init(pb, attr, count);
	if (attr != NULL)
		pthread_barrierattr_getpshared(attr, &pshared);
	if (pshared != PTHREAD_PROCESS_PRIVATE)
		return weft__libc()->pthread_barrier_init(pb, attr, count);
	if (count > INT_MAX)
		return EINVAL;
	int r = weft__barrier_init(b, count);
	if (r == 0)
		b->mark_ = GREEN;
	return r;
}

/* pthread_barrier_destroy: 0, or EBUSY while threads wait on it. */
int weft__pthread_barrier_destroy(pthread_barrier_t *pb)
{
	struct weft__barrier *b = green_barrier(pb);

	if (b == NULL)
		return weft__libc()->pthread_barrier_destroy(pb);
	return weft__barrier_destroy(b);
}

/* pthread_barrier_wait: parks until count threads have come; returns
 * PTHREAD_BARRIER_SERIAL_THREAD in exactly one of them, 0 in the rest. */
int weft__pthread_barrier_wait(pthread_barrier_t *pb)
{
	struct weft__barrier *b = green_barrier(pb);

	if (b == NULL)
		return weft__glibc_barrier_wait(pb);
	int r = weft__barrier_wait(b) ? PTHREAD_BARRIER_SERIAL_THREAD : 0;
	weft__take_due(weft__running); /* given meanwhile (poke.h) */
	return r;
}

WEFT_EXPORT int pthread_barrier_init(pthread_barrier_t *pb,
				     const pthread_barrierattr_t *attr,
				     unsigned count)
{
	return weft__pthread_barrier_init(pb, attr, count);
}

WEFT_EXPORT int pthread_barrier_destroy(pthread_barrier_t *pb)
{
	return weft__pthread_barrier_destroy(pb);
}

WEFT_EXPORT int pthread_barrier_wait(pthread_barrier_t *pb)
{
	return weft__pthread_barrier_wait(pb);
}
