/* pool.h - the pool of schedulers green threads are spread over.
 *
 * A program's green threads run on N schedulers, each on an OS thread of
 * its own, so that they use N CPUs as native threads would.  The pool
 * starts, lazily, when the first green thread is made with N above 1: N
 * OS threads of weft's own serve its members, each running nothing but
 * its scheduler's loop (and the monitor watches them, monitor.h).  The
 * maker's scheduler is no member.  A new green thread goes to the less loaded of two members picked
 * at random (the power of two choices), load being the coroutines a
 * member holds, counted from the moment it is picked.
 *
 * Placed, a green thread may later be given to a member with nothing to
 * run (balance.h).  Coroutines that share their OS thread's TLS by design
 * (weft_go, weft_spawn) are never spread: they stay on their maker's
 * scheduler.
 *
 * A member's coroutine is never alone (weft__alone): any member may be
 * given a new coroutine at any time.
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
 * when the pool has no coroutine left and the main thread has ended: the
 * process is over, and the caller ends it (true is returned once). */
void weft__pool_enter(struct weft__sched *s);
bool weft__pool_leave(struct weft__sched *s);

/* The main thread's root has ended.  Returns true if the pool ran and
 * has no coroutine left: the process is over, and the caller ends it
 * (true is returned once). */
bool weft__pool_main_ends(void);

/* Member i, or NULL if there are not so many. */
struct weft__sched *weft__pool_member(unsigned i);

/* The members running now. */
unsigned weft__pool_members(void);

/* In a fork child: no pool; the child's first green thread starts one
 * again. */
void weft__pool_forget(void);

#endif
