/* fiber.h - telling AddressSanitizer, ThreadSanitizer and valgrind about
 * coroutine stacks.
 *
 * The tools track "the" stack of a thread; a switch to another stack
 * looks to them like a wild stack-pointer jump.  AddressSanitizer is told
 * before and after every switch (its fiber annotations); ThreadSanitizer
 * is given a fiber per coroutine and told just before every switch, so
 * that each coroutine has a shadow call stack and clock of its own (a
 * switch orders what the two coroutines did, as they share one thread);
 * valgrind is told once per stack.  Without the tools these compile to
 * nothing.
 */
#ifndef WEFT_FIBER_H
#define WEFT_FIBER_H

#include <pthread.h>
#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang says so only this way */
#define WEFT_ASAN 1
#endif
#endif

#ifdef WEFT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define WEFT_VALGRIND 1
#endif
#endif

/* Before switching away: fake is where the leaving context keeps its
 * fake stack (NULL if it will never run again); bottom and size describe
 * the stack being switched to. */
static inline void weft__asan_leave(void **fake, const void *bottom,
				    size_t size)
{
#ifdef WEFT_ASAN
	__sanitizer_start_switch_fiber(fake, bottom, size);
#else
	(void)fake, (void)bottom, (void)size;
#endif
}

/* After a context has been switched to (fake: what it saved on leaving,
 * NULL the first time it runs). */
static inline void weft__asan_arrive(void *fake)
{
#ifdef WEFT_ASAN
	const void *bottom;
	size_t size;
	__sanitizer_finish_switch_fiber(fake, &bottom, &size);
#else
	(void)fake;
#endif
}

/* The calling thread's own stack, for switches back to a root coroutine. */
static inline void weft__asan_thread_stack(const void **bottom, size_t *size)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t len = 0;

	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &addr, &len);
		pthread_attr_destroy(&attr);
	}
	*bottom = addr;
	*size = len;
}

/* Clears AddressSanitizer's marks on a stack about to be reused: a
 * coroutine that ended never returned from its frames. */
static inline void weft__asan_unpoison(void *lo, size_t size)
{
#ifdef WEFT_ASAN
	__asan_unpoison_memory_region(lo, size);
#else
	(void)lo, (void)size;
#endif
}

/* Tells AddressSanitizer that the frames from here up are left for good
 * (an unwind, a long jump), so that their marks go. */
static inline void weft__asan_no_return(void)
{
#ifdef WEFT_ASAN
	__asan_handle_no_return();
#endif
}

/* A new ThreadSanitizer fiber for a coroutine that has yet to run (NULL
 * without ThreadSanitizer). */
static inline void *weft__tsan_new(void)
{
#ifdef WEFT_TSAN
	return __tsan_create_fiber(0);
#else
	return NULL;
#endif
}

/* The calling thread's own fiber, for a root coroutine (NULL without
 * ThreadSanitizer). */
static inline void *weft__tsan_thread(void)
{
#ifdef WEFT_TSAN
	return __tsan_get_current_fiber();
#else
	return NULL;
#endif
}

/* Immediately before switching to the context whose fiber is `to`; the
 * switch orders everything before it before everything after it. */
static inline void weft__tsan_switch(void *to)
{
#ifdef WEFT_TSAN
	__tsan_switch_to_fiber(to, 0);
#else
	(void)to;
#endif
}

/* Releases a fiber from weft__tsan_new once its coroutine has ended and
 * another context runs; NULL is ignored. */
static inline void weft__tsan_free(void *fiber)
{
#ifdef WEFT_TSAN
	if (fiber)
		__tsan_destroy_fiber(fiber);
#else
	(void)fiber;
#endif
}

/* Tells valgrind that the program's memory [lo, hi) is a stack for now;
 * returns the id to forget it with (0 without valgrind). */
static inline unsigned weft__valgrind_stack_user(char *lo, char *hi)
{
#ifdef WEFT_VALGRIND
	return VALGRIND_STACK_REGISTER(lo, hi);
#else
	(void)lo, (void)hi;
	return 0;
#endif
}

/* Forgets a stack weft__valgrind_stack_user registered. */
static inline void weft__valgrind_stack_gone(unsigned id)
{
#ifdef WEFT_VALGRIND
	VALGRIND_STACK_DEREGISTER(id);
#else
	(void)id;
#endif
}

/* Tells valgrind that [lo, hi) is a stack.  Once per slot, when its slab
 * is mapped: a reused slot is the same stack, and slabs are never
 * unmapped, so nothing is ever deregistered. */
static inline void weft__valgrind_stack(char *lo, char *hi)
{
#ifdef WEFT_VALGRIND
	VALGRIND_STACK_REGISTER(lo, hi);
#else
	(void)lo, (void)hi;
#endif
}

#endif
