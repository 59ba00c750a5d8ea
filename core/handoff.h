/* handoff.h - a scheduler changes OS threads: the gate and the hand-off.
 *
 * A pool member's scheduler (its run queue, loop and watchers) is not
 * tied to one OS thread.  Each OS thread that runs a scheduler has a
 * record, struct weft__m; the scheduler names the record of the thread
 * serving it now (s->m).  When a coroutine has held that thread too long
 * (it computes, or blocks in a call weft cannot park), the monitor
 * (monitor.c) gives the scheduler to a spare thread, which runs its other
 * coroutines; the coroutine that held the old thread goes on there alone,
 * and rejoins its scheduler on the new thread the next time it enters
 * weft.  The old thread then becomes a spare.
 *
 * The gate makes that safe.  Every piece of weft's code that touches a
 * scheduler's own state (its run queue, loop, watchers, live list) runs
 * inside the gate of the thread it runs on: weft__gate_in sets the
 * thread's `in` mark, then looks at `take`.  The monitor sets `take`,
 * makes every thread pass a full barrier (membarrier(2)), then reads `in`:
 * either it sees the thread inside and lets go, or the thread, on its
 * next way in, sees `take`.  The thread's side costs two plain stores and
 * a load; the barrier is the monitor's, once per hand-off.
 *
 * Only coroutines with a thread block of their own may change threads:
 * the monitor never takes a scheduler that holds one sharing its thread's
 * block (a root, a weft_go coroutine), and a coroutine's block is given
 * its new thread's identity (tid, malloc cache) before it runs there.
 */
#ifndef WEFT_HANDOFF_H
#define WEFT_HANDOFF_H

#include <stdatomic.h>
#include <stdbool.h>

#include "core.h"

/* m->take */
enum { WEFT__GATE_OPEN, WEFT__GATE_ASKED, WEFT__GATE_TAKEN };

/* An OS thread that runs schedulers. */
struct weft__m {
	_Atomic int in;                  /* inside the gate */
	_Atomic int take;                /* WEFT__GATE_*, set by the monitor */
	struct weft__co *flow;           /* its own flow, while it serves */
	struct weft__co *rejoining;      /* the coroutine that came back */
	int tid;
	_Atomic int wake;                /* a spare's futex word */
	struct weft__sched *_Atomic given; /* a spare's next scheduler */
	struct weft__m *next_spare;
	_Atomic bool owed;               /* a poke found its thread inside
	                                    weft with something due: the
	                                    monitor pokes it again */
};

/* This OS thread's record: in a green thread's own block, the record of
 * the thread it runs on (set before it runs there). */
extern __thread struct weft__m *weft__m
	__attribute__((tls_model("initial-exec")));

/* The gate's slow way in: the monitor asked (the thread keeps its
 * scheduler) or took the scheduler (the calling coroutine moves to the
 * scheduler's new thread; this call returns there). */
void weft__gate_slow(void);

/* Marks this thread inside the gate; returns the mark it had.  Then the
 * caller reads take (weft__gate_asked): in that order, see the top. */
static inline int weft__gate_mark(void)
{
	struct weft__m *m = weft__m;
	int was = atomic_load_explicit(&m->in, memory_order_relaxed);

	atomic_store_explicit(&m->in, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	return was;
}

static inline bool weft__gate_asked(void)
{
	return weft__unlikely(atomic_load_explicit(&weft__m->take,
						   memory_order_relaxed) != 0);
}

/* Whether the code running on this thread is inside the gate: weft's
 * own, which a signal handler must not make switch (sigroute.c). */
static inline bool weft__gate_inside(void)
{
	struct weft__m *m = weft__m;

	return m != NULL && atomic_load_explicit(&m->in, memory_order_relaxed);
}

/* Enters the gate; returns what to give weft__gate_out.  Nests. */
static inline int weft__gate_in(void)
{
	int was = weft__gate_mark();

	if (weft__gate_asked())
		weft__gate_slow();
	return was;
}

/* The gate's slow way in for weft__gate_try. */
int weft__gate_try_slow(int was);

/* Enters the gate if this thread still serves its scheduler, and returns
 * what to give weft__gate_out; or returns -1, the gate not entered, if
 * the scheduler was taken from it.  Never moves the caller: for wakers,
 * which may hold a lock, and can wake through the remote queue. */
static inline int weft__gate_try(void)
{
	int was = weft__gate_mark();

	return weft__gate_asked() ? weft__gate_try_slow(was) : was;
}

/* Leaves the gate entered with weft__gate_in's `was`.  The thread may be
 * another than at the way in. */
static inline void weft__gate_out(int was)
{
	atomic_signal_fence(memory_order_seq_cst);
	atomic_store_explicit(&weft__m->in, was, memory_order_relaxed);
}

static inline void weft__gate_out_at(int *was)
{
	weft__gate_out(*was);
}

/* Holds the gate for the rest of the enclosing block. */
#define WEFT__GATED() \
	int weft__gate_was __attribute__((cleanup(weft__gate_out_at), \
					  unused)) = weft__gate_in()

/* This OS thread's record, made if it has none.  Returns NULL with errno
 * ENOMEM if it cannot be made. */
struct weft__m *weft__m_here(void);

/* Starts an OS thread of weft's own serving a new member of the pool.
 * Returns 0 or an errno. */
int weft__member_spawn(void);

/* A spare thread, waiting to be given a scheduler, taken off the list of
 * spares; NULL if none waits (one is then made, for next time). */
struct weft__m *weft__spare_get(void);

/* In a fork child: the parent's spares did not come along. */
void weft__spares_forget(void);

/* Puts spare m, got but not needed, back on the list. */
void weft__spare_put(struct weft__m *m);

/* Gives s, taken from its thread, to spare m, which serves it from now
 * on. */
void weft__spare_give(struct weft__m *m, struct weft__sched *s);

#endif
