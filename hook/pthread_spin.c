/* pthread_spin.c - spin locks for green threads.
 *
 * A spin lock keeps glibc's representation (on x86-64, 1 is free), so
 * only pthread_spin_lock changes: a coroutine that finds the lock held
 * must not spin, since the holder may be another coroutine of its own OS
 * thread, parked while holding it (a spin lock held across a blocking
 * call), which could then never run again.  It tries glibc's trylock and
 * yields between tries; after many tries it sleeps a little between
 * them, so that a holder parked for long does not cost a whole CPU.  The
 * other calls go to glibc whatever the mode.
 */
#include "green.h"

#define YIELDS   128     /* tries with a yield between them, */
#define NAP_NS   100000  /* then a 100 us sleep between tries */

/* pthread_spin_lock: 0 once held; what glibc's trylock says otherwise. */
int weft__pthread_spin_lock(pthread_spinlock_t *lock)
{
	const struct weft__real *libc = weft__libc();
	struct weft__co *co = weft__running;

	/* Alone, the holder is another OS thread: spin as glibc does. */
	if (!weft__green_on() || co == NULL || weft__alone(co))
		return libc->pthread_spin_lock(lock);
	int r;
	for (unsigned tries = 0;
	     (r = libc->pthread_spin_trylock(lock)) == EBUSY; tries++) {
		if (tries < YIELDS)
			weft_yield();
		else
			weft_sleep(NAP_NS);
	}
	return r;
}

WEFT_EXPORT int pthread_spin_init(pthread_spinlock_t *lock, int pshared)
{
	return weft__libc()->pthread_spin_init(lock, pshared);
}

WEFT_EXPORT int pthread_spin_destroy(pthread_spinlock_t *lock)
{
	return weft__libc()->pthread_spin_destroy(lock);
}

WEFT_EXPORT int pthread_spin_lock(pthread_spinlock_t *lock)
{
	return weft__pthread_spin_lock(lock);
}

WEFT_EXPORT int pthread_spin_trylock(pthread_spinlock_t *lock)
{
	return weft__libc()->pthread_spin_trylock(lock);
}

WEFT_EXPORT int pthread_spin_unlock(pthread_spinlock_t *lock)
{
	return weft__libc()->pthread_spin_unlock(lock);
}
