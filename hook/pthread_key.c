/* pthread_key.c - thread-specific data and pthread_once for green
 * threads.
 *
 * Green keys are weft's per-coroutine keys, numbered from
 * PTHREAD_KEYS_MAX up: glibc's own keys are all below it, so a key made
 * by glibc before green threads were switched on, or by a library that
 * runs on weft's own threads (AddressSanitizer keeps one for every
 * thread), still goes to glibc, whoever uses it.
 */
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/futex.h>

#include "green.h"

#define KEY_BASE PTHREAD_KEYS_MAX

_Static_assert(sizeof(pthread_once_t) == sizeof(int),
	       "pthread_once_t is glibc's int");

static bool green_key(pthread_key_t key)
{
	return key >= KEY_BASE && weft__green_on();
}

/* pthread_key_create: a per-coroutine key, with destructors run (up to
 * four rounds) when a green thread ends.  Returns 0 or EAGAIN. */
int weft__pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
	weft_key k;
	int saved = errno;

	if (!weft__green_on())
		return weft__libc()->pthread_key_create(key, destructor);
	if (weft_key_create(&k, destructor) < 0) {
		errno = saved;
		return EAGAIN;
	}
	*key = KEY_BASE + k;
	return 0;
}

/* pthread_key_delete: 0 or EINVAL (no such key). */
int weft__pthread_key_delete(pthread_key_t key)
{
	int saved = errno;

	if (!green_key(key))
		return weft__libc()->pthread_key_delete(key);
	int r = weft_key_delete(key - KEY_BASE) < 0 ? errno : 0;
	errno = saved;
	return r;
}

/* pthread_getspecific: the calling coroutine's value. */
void *weft__pthread_getspecific(pthread_key_t key)
{
	if (!green_key(key))
		return weft__libc()->pthread_getspecific(key);
	return weft_getspecific(key - KEY_BASE);
}

/* pthread_setspecific: 0, EINVAL (no such key) or ENOMEM. */
int weft__pthread_setspecific(pthread_key_t key, void *value)
{
	int saved = errno;

	if (!green_key(key))
		return weft__libc()->pthread_setspecific(key, value);
	int r = weft_setspecific(key - KEY_BASE, value) < 0 ? errno : 0;
	errno = saved;
	return r;
}

/* pthread_once: init runs once; callers that come while it runs park
 * until it returns, even if it parks itself.  A control that is done
 * returns at once, without a scheduler.  Returns 0. */
int weft__pthread_once(pthread_once_t *once, void (*init)(void))
{
	if (!weft__green_on())
		return weft__libc()->pthread_once(once, init);
	if (weft__once(once, init)) {
		/* A caller on one of weft's own threads waits in glibc's
		 * pthread_once, on the futex: wake it too. */
		int saved = errno;
		weft__libc()->syscall(SYS_futex, once, FUTEX_WAKE_PRIVATE,
				      INT_MAX, NULL, NULL, 0);
		errno = saved;
	}
	return 0;
}

WEFT_EXPORT int pthread_key_create(pthread_key_t *key,
				   void (*destructor)(void *))
{
	return weft__pthread_key_create(key, destructor);
}

WEFT_EXPORT int pthread_key_delete(pthread_key_t key)
{
	return weft__pthread_key_delete(key);
}

WEFT_EXPORT void *pthread_getspecific(pthread_key_t key)
{
	return weft__pthread_getspecific(key);
}

WEFT_EXPORT int pthread_setspecific(pthread_key_t key, const void *value)
{
	/* glibc declares value never read through (access none), and GCC
	 * then warns at calls that take it as a const pointer, which it
	 * assumes are read through. */
	return weft__pthread_setspecific(key, (void *)value);
}

WEFT_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void))
{
	return weft__pthread_once(once, init);
}
