/* green.h - what the green-thread wrappers share (hook/pthread*.c,
 * hook/sem.c).
 *
 * Green threads: in preload mode pthread_create makes a coroutine, and
 * every pthread object (mutex, condition variable, rwlock, barrier,
 * semaphore, key, once) is used in place, in the memory the program gave
 * it, with weft's own representation, which is laid out to fit.  A real
 * thread that touches a green object must use that representation too, so
 * it gets a scheduler of its own on its first call (its flow becomes that
 * scheduler's root coroutine).  Objects glibc must keep (process-shared
 * ones, robust mutexes) carry glibc's own marks and are passed through for
 * ever.
 *
 * Every wrapper is a pure pass-through while weft__green is false (linked
 * programs, the test suites) and for weft's own threads and calls
 * (weft__inside).
 */
#ifndef WEFT_GREEN_H
#define WEFT_GREEN_H

#include <time.h>

#include "cancel.h"
#include "core.h"
#include "gthread.h"
#include "poke.h"
#include "real.h"
#include "sigs.h"
#include "sync.h"

/* True when pthread calls act on coroutines; see weft__green_set. */
extern bool weft__green;

/* Turns green threads on or off for the whole process.  preload/entry.c
 * calls it once at start-up, before any thread or pthread object exists
 * (true when libweft.so was preloaded, WEFT_THREADS is not "native" and
 * WEFT_OFF is not set); tests call it first thing.  Switching while
 * threads or locks exist is not supported: objects already used one way
 * would be read the other way. */
void weft__green_set(bool on);

/* Whether a pthread call should act on coroutines (it may still find
 * that the object it is given belongs to glibc). */
static inline bool weft__green_on(void)
{
	return weft__unlikely(weft__green) && !weft__inside;
}

/* The coroutine a green pthread call acts for, making this thread's
 * scheduler if it has none (the thread becomes its root); NULL when the
 * call must go to libc unchanged. */
static inline struct weft__co *weft__green_co(void)
{
	if (!weft__green_on())
		return NULL;
	struct weft__co *co = weft__running;
	return co ? co : weft__self();
}

/* A lock's wait, as a native one: wait(lock, deadline) is core's, which
 * parks only while the lock is held and then returns EINTR when a signal
 * is sent to the calling program thread (taking, after any other park,
 * what is due: poke.h); it is made again, deadline kept, after the
 * signal's handlers have run.  Returns wait's result, 0 or an errno. */
static inline int weft__green_lock_wait(int (*wait)(void *, int64_t),
					void *lock, int64_t deadline)
{
	int r;

	while ((r = wait(lock, deadline)) == EINTR)
		weft__sig_run(weft__running);
	return r;
}

/* The green thread th, if green threads are on and th is one; NULL
 * otherwise (pthread.c). */
struct weft__green *weft__green_thread(pthread_t th);

/* The coroutine th names, if green threads are on and th is a green
 * thread or the calling coroutine itself (a weft_go coroutine asking
 * about itself); *g gets the green thread's record or NULL (pthread.c). */
struct weft__co *weft__green_target(pthread_t th, struct weft__green **g);

/* The real id of the OS thread g runs on (the caller's if g is NULL)
 * (pthread.c). */
pthread_t weft__green_os_thread(struct weft__green *g);

/* Gives new green thread g, made by self with attr (NULL: the defaults),
 * the scheduling and CPU mask a native thread would start with: its
 * creator's policy and priority (attr's under PTHREAD_EXPLICIT_SCHED),
 * and attr's CPU mask or its creator's own.  Returns 0, or what
 * pthread_create answers for attr's: EINVAL, EPERM (more than the caller
 * may ask), EAGAIN (pthread_sched.c). */
int weft__green_sched_init(struct weft__green *g, struct weft__co *self,
			   const pthread_attr_t *attr);

/* The weft mutex in pm's memory, or NULL if pm is glibc's (robust,
 * process-shared, or destroyed, for which glibc answers EINVAL).  A kind
 * glibc gave that weft lacks (adaptive) is made normal in place.
 * (pthread_mutex.c) */
weft_mutex *weft__green_mutex(pthread_mutex_t *pm);

/* Whether clock is one the pthread and sem calls accept for an absolute
 * time-out (glibc: CLOCK_REALTIME and CLOCK_MONOTONIC). */
bool weft__green_clock_ok(clockid_t clock);

/* Turns an absolute time on clock into a deadline on weft's monotonic
 * clock (0 if already past, -1 if too far to matter).  Returns 0, or
 * EINVAL for a clock weft__green_clock_ok refuses or tv_nsec outside
 * [0, 1e9).  Time the realtime clock is set forward or back while waiting
 * is not seen, unlike glibc's futex waits. */
int weft__green_deadline(clockid_t clock, const struct timespec *abs,
			 int64_t *deadline);

/* ---- signals (pthread_signal.c; the state is core/sigs.h's) ---- */

/* Gives new green thread g (g->co made) its signal state, as self, its
 * creator, makes it with attr (NULL: the defaults). */
void weft__green_sigs_start(struct weft__green *g, struct weft__co *self,
			    const pthread_attr_t *attr);

/* sigprocmask: pthread_sigmask's, with -1 and errno. */
int weft__sigprocmask(int how, const sigset_t *set, sigset_t *old);

/* raise: in a program thread, the thread's own signal (pthread_kill of
 * itself); elsewhere, and for the synchronous signals, glibc's.  Returns
 * 0, or -1 with errno. */
int weft__raise(int sig);

/* Cancellation: see core/cancel.h.  The cancellation points here
 * (pthread_join, pthread_timedjoin_np, the condition waits, sem_wait and
 * its timed forms) bracket their wait with weft__cancel_enter and
 * weft__cancel_leave. */

#endif
