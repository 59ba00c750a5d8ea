/* gthread.h - green threads' records, found by their pthread_t.
 *
 * Green threads: in preload mode pthread_create makes a coroutine with a
 * thread block of its own (tcb.h).  Each has a record holding what the
 * pthread calls need of it (its function, signal mask, cancel request,
 * scheduling as the program set it) in a registry keyed by its pthread_t:
 * its thread block, or where blocks cannot be made its coroutine's
 * address.  Calls given a pthread_t look it up there, so a real thread's
 * id is never read as a coroutine.  A record leaves the registry before
 * its coroutine's memory can be reused: when a detached thread ends, or
 * when a joinable one is joined or detached after its end.
 */
#ifndef WEFT_GTHREAD_H
#define WEFT_GTHREAD_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core.h"
#include "sigs.h"
#include "tcb.h"

/* A green thread's record. */
struct weft__green {
	struct weft__co *co;
	pthread_t id;          /* its pthread_t */
	size_t guard;          /* the guard size its attributes asked */
	void *(*fn)(void *);
	void *arg;
	struct weft__sigs sigs; /* its signal mask and pending set */
	_Atomic bool cancel;   /* pthread_cancel asked for its end */
	bool ended;            /* its function returned, or it exited */
	int *wait_lock;        /* at a cancellation point: the wait queue's */
	void **wait_head;      /* lock and head, or NULL and WEFT__JOINING */
	int policy;            /* scheduling, as pthread_setschedparam and */
	int priority;          /* the attributes set it */
	cpu_set_t *affinity;   /* as pthread_setaffinity_np set it, or NULL */
	size_t affinity_size;
	unsigned clock;        /* its CPU clock's number (hook/clock.c), or
	                          0 before pthread_getcpuclockid asked */
};

/* The registry's lock, a spin lock (waitq.h), for the _locked calls. */
extern int weft__green_lock;

/* Makes sure one more record fits, so that the insert made once the
 * coroutine exists (and can no longer be taken back) cannot fail.
 * Returns false when there is no memory. */
bool weft__green_reserve(void);

/* Inserts g (g->id set) with a reservation, or gives the reservation back
 * (g NULL). */
void weft__green_insert(struct weft__green *g);

/* The green thread whose pthread_t is id, or NULL if id is not one (a
 * real thread's, or one that has been joined). */
struct weft__green *weft__green_find(pthread_t id);

/* weft__green_find, with weft__green_lock held. */
struct weft__green *weft__green_find_locked(pthread_t id);

/* Removes g, with weft__green_lock held; g is then the caller's to free
 * (weft__green_free). */
void weft__green_remove_locked(struct weft__green *g);

/* The first green thread for which fn(g, arg) is true, or NULL; with
 * weft__green_lock held. */
struct weft__green *weft__green_first_locked(
	bool (*fn)(struct weft__green *, void *), void *arg);

/* Frees a record no longer in the registry (nothing if g is NULL). */
void weft__green_free(struct weft__green *g);

/* The pthread_t of coroutine co: the descriptor in its thread block, or
 * its address. */
static inline pthread_t weft__green_id(const struct weft__co *co)
{
	return co->own_tcb ? weft__tcb_thread(co->tcb) : (pthread_t)co;
}

#endif
