/* balance.h - a pool member with nothing to run is given runnable green
 * threads by a member that has more than it can run at once.
 *
 * A member (pool.h) whose run queue is empty says it is hungry just
 * before it waits in its loop, and fed when the wait ends.  A member on
 * its way from one coroutine to the next that has two or more waiting to
 * run claims one hungry member and gives it the newer half of those that
 * may move.  They leave the giver's live list and load and arrive through
 * the hungry member's remote queue, whose wake ends its wait.  Go's idle
 * Ps steal from the others' lock-free queues instead; here the giver does
 * all of the move on its own thread, inside its gate (handoff.h), so each
 * run queue stays one thread's alone and nothing of the giver's loop is
 * touched from elsewhere: a moving coroutine's timer is stopped and its fd
 * waiters let go there (wait.c), and where it resumes, the waits it
 * returns from find nothing of the old scheduler left to undo.
 *
 * Only green threads with a thread block of their own move: their TLS,
 * errno and weft's own TLS go with them, and their next run on the new
 * OS thread takes its identity (sched.c, rehome).  Roots and coroutines
 * that share an OS thread's block never move, nor does the coroutine
 * running (one woken before it switched out is queued while it runs),
 * nor one that a hand-off queued in the middle of weft's own code (its
 * rejoin, handoff.c), which holds the scheduler it was on: weft__co_exit
 * records its end there.  Every other queued coroutine is parked, and
 * the waits it parked in look at its scheduler again after the park.
 */
#ifndef WEFT_BALANCE_H
#define WEFT_BALANCE_H

#include <stdatomic.h>

#include "sched.h"

/* How many members are hungry now: the giver's sign to look (read
 * relaxed on the switch path, so it costs one load while it is 0). */
extern _Atomic int weft__hungry;

/* s, a member with an empty run queue, is about to wait in its loop. */
void weft__balance_hungry(struct weft__sched *s);

/* s's wait in its loop has ended: it is no longer hungry, if no giver
 * claimed it meanwhile. */
void weft__balance_fed(struct weft__sched *s);

/* Gives the newer half of the coroutines queued on s that may move (not
 * running, the running coroutine) to one hungry member, if one still is.
 * Called by s's thread, inside its gate. */
void weft__balance_give(struct weft__sched *s, struct weft__co *running);

/* A move costs a few microseconds (a wake of the other thread, and the
 * fds the thread waits on next registered with that member's epoll): a
 * member gives only while its coroutines each run this long on average,
 * so that work that costs CPU is shared and a plain echo, whose runs take
 * a microsecond or two, does not spend its time moving threads. */
#define WEFT__BALANCE_SLICE_NS 30000

/* The average run of s's coroutines, measured at each poll: busy is the
 * time since the last poll ended, in which `runs` switches were made. */
static inline void weft__balance_measure(struct weft__sched *s, int64_t busy,
					 uint64_t runs)
{
	if (runs > 0)
		s->slice_ns += ((int64_t)(busy / (int64_t)runs) -
				s->slice_ns) / 8;
}

/* The switch path's test: gives if s's coroutines run long enough, s has
 * two or more queued, and a member is hungry (tested last: the count is
 * shared, and written whenever a member waits). */
static inline void weft__balance(struct weft__sched *s,
				 struct weft__co *running)
{
	if (weft__unlikely(s->slice_ns >= WEFT__BALANCE_SLICE_NS) &&
	    s->queued >= 2 && s->pooled &&
	    atomic_load_explicit(&weft__hungry, memory_order_relaxed) > 0)
		weft__balance_give(s, running);
}

#endif
