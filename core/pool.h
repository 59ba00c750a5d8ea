/* pool.h - the pool of schedulers green threads are spread over.
 *
 * A program's green threads run on N schedulers, each on an OS thread of
 * its own, so that they use N CPUs as native threads would.  The pool
 * starts, lazily, when the first green thread is made with N above 1: the
 * maker's scheduler becomes its first member and N - 1 OS threads of
 * weft's own serve the others, each running nothing but its scheduler's
 * loop.  A new green thread goes to the less loaded of two members picked
 * at random (the power of two choices), load being the coroutines a
 * member holds, counted from the moment it is picked.
 *
 * Coroutines that share their OS thread's TLS by design (weft_go,
 * weft_spawn) are never spread: they stay on their maker's scheduler.
 *
 * The pool also decides when a coroutine is alone: with the pool running,
 * a call may block its OS thread for real only while it is the one
 * coroutine of every member, since any member may be given a new one.
 */
#ifndef WEFT_POOL_H
#define WEFT_POOL_H

#include <stdbool.h>

struct weft__sched;

/* The pool's size when WEFT_CPUS is unset: the CPUs this process may
 * run on when preloaded, else 1.  Reads WEFT_CPUS (a bad value is
 * reported, once, and the default taken) and returns the size asked. */
unsigned weft__pool_config(bool preloaded);

/* Sets the pool's size to n (1 to WEFT__POOL_MAX).  Before the pool has
 * started this is the size it will start with; after, members are only
 * ever added.  Returns the size now asked for. */
unsigned weft__pool_resize(unsigned n);

#define WEFT__POOL_MAX 1024

/* The scheduler a new green thread made on scheduler here should run
 * on, counted in that member's load; starts the pool if it is time.
 * here itself when the pool has one member (or cannot start). */
struct weft__sched *weft__pool_pick(struct weft__sched *here);

/* Counts coroutine arrivals and ends on member s (s->pooled); see
 * weft__sched_adopt and weft__co_exit.  weft__pool_leave returns true
 * when the pool has no coroutine left and the main thread has ended
 * (main_gone, once, says it did): the process is over. */
void weft__pool_enter(struct weft__sched *s);
bool weft__pool_leave(struct weft__sched *s, bool main_gone);

/* Whether the pool holds exactly one coroutine. */
bool weft__pool_one(void);

/* The members running now. */
unsigned weft__pool_members(void);

/* In a fork child: no pool; the child's first green thread starts one
 * again. */
void weft__pool_forget(void);

#endif
