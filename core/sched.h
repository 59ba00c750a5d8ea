/* sched.h - the scheduler's state, private to core/. */
#ifndef WEFT_SCHED_H
#define WEFT_SCHED_H

#include <pthread.h>

#include "core.h"
#include "fiber.h"
#include "ownfd.h"
#include "tcb.h"

struct weft__fdw;

/* The scheduler of the OS thread this runs on (in a thread block of its
 * own, the one it runs on); NULL if it has none (sched.c). */
extern __thread struct weft__sched *weft__this_sched
	__attribute__((tls_model("initial-exec")));
struct weft__loopx;

struct weft__sched {
	struct ev_loop *loop;
	/* Running, or NULL in idle.  Written by the thread serving s;
	 * read by it and by the monitor once it has taken s, when the
	 * thread is out of the gate and no longer writes it.  Relaxed:
	 * what orders that read is the gate's barrier (handoff.h), which
	 * C11 cannot express; atomic only so that it is no data race. */
	struct weft__co *_Atomic current;
	struct weft__co *root;           /* the thread's original flow */
	struct weft__co *run_head, *run_tail;
	struct weft__co idle;            /* the context running the loop */
	struct weft__slot *idle_slot;
	struct weft__co *zombie;         /* ended, stack not yet released */
	struct weft__co *ended;          /* ended joinable, maybe still on
	                                    its stack: see weft__reap */
	unsigned long live;              /* coroutines not ended, root too */
	unsigned long peak_live;
	uint64_t created;                /* for WEFT_STATS */
	_Atomic uint64_t switches;       /* the monitor's sign of progress */
	struct weft__co *all;            /* live coroutines, newest first */
	int *errno_p;                    /* this thread's errno */
	void *os_tcb;                    /* its OS thread's thread block */
	struct weft__co **os_running;    /* weft__running in that block */
	unsigned long queued;            /* length of the run queue */
	unsigned long budget;            /* direct switches left before a poll */
	/* Where the weft_yield that made the last switch on this thread
	 * returns to, or NULL if that switch came from elsewhere: a hint
	 * for the context it switched to (weft__yield). */
	const void *yield_site;
	bool root_exited;                /* root called weft_exit */
	int remote_lock;                 /* spin lock guarding remote_* */
	struct weft__co *remote_head, *remote_tail;
	ev_async remote;
	int *gone;                       /* fds closed by other threads, */
	size_t ngone, gone_cap;          /* guarded by remote_lock */
	struct weft__sched *next;        /* in the list of all schedulers */
	struct weft__fdw **fdw;          /* fd watchers, by fd (wait.c) */
	size_t fdw_chunks;
	struct weft__loopx *loopx;       /* its loop's own fds (loop.c) */
	bool pooled;                     /* a member of the pool (pool.h) */
	/* Its OS thread's: a pool member's changes at a hand-off
	 * (weft__sched_attach), and other threads read it (statistics,
	 * dumps, weft__loop_ask).  Relaxed: a reader may get the thread s
	 * left a moment ago, which is no worse an answer, as that thread is
	 * never ended (handoff.c). */
	_Atomic int tid;
	_Atomic long load;               /* its coroutines, for pool picks */
	struct weft__m *_Atomic m;       /* the OS thread serving it */
	_Atomic bool moving;             /* given to a spare that has not
	                                    attached it yet (monitor.c) */
	_Atomic long pinned;             /* live coroutines that share their
	                                    OS thread's block: it cannot
	                                    change threads while any live */
	/* Times it changed threads: counted by the monitor, read by the
	 * statistics on any thread.  Relaxed: a count, ordered with
	 * nothing. */
	_Atomic uint64_t handoffs;
	_Atomic bool hungry;             /* waiting with nothing to run, and
	                                    not yet claimed (balance.h) */
	_Atomic uint64_t gave;           /* coroutines it gave (balance.h) */
	int64_t slice_ns;                /* a coroutine's run, on average */
	int64_t busy_since;              /* when its last poll ended */
	uint64_t switches_then;          /* switches made by then */
};

/* The coroutine s runs, or NULL in idle: s->current, as its own thread
 * and the monitor read it (see there). */
static inline struct weft__co *weft__current_of(struct weft__sched *s)
{
	return atomic_load_explicit(&s->current, memory_order_relaxed);
}

/* Switches from `from` to `to` on this OS thread, with the sanitizers
 * told and `to`'s thread pointer installed.  Returns when `from` is
 * switched to again. */
static inline void weft__hop(struct weft__co *from, struct weft__co *to)
{
	weft__asan_leave(from->state == WEFT__DONE ? NULL : &from->asan_fake,
			 to->asan_bottom, to->asan_size);
	weft__tsan_switch(to->tsan_fiber);
	if (from->tcb != to->tcb)
		weft__tp_set(to->tcb);
	weft__ctx_switch(&from->ctx, &to->ctx);
	weft__asan_arrive(from->asan_fake);
}

/* Takes co's fd waiters, if it was woken from an fd wait it has not yet
 * returned from, off s's queues, for it moves elsewhere (wait.c). */
void weft__wait_let_go(struct weft__sched *s, struct weft__co *co);

/* Wakes fd's waiters on s (wait.c). */
void weft__fd_gone_here(struct weft__sched *s, int fd, int reason);

/* Another thread's notice that fd was closed, arriving at s: as
 * weft__fd_gone_here(s, fd, EBADF), unless fd's watcher on s was
 * registered after that close, for the new file the number now names
 * (wait.c). */
void weft__fd_gone_late(struct weft__sched *s, int fd);

/* Wakes fd's waiters on every scheduler: this thread's at once, others'
 * through their remote queues. */
void weft__sched_each_gone(int fd, int reason);

/* This thread's scheduler, or NULL if it has none yet. */
struct weft__sched *weft__current_sched(void);

/* The coroutine running on this thread, even inside weft's own code. */
struct weft__co *weft__current(void);

/* Gives a new coroutine an id, scheduler s (the caller's, or a pool
 * member's) and a timer, and queues it there. */
void weft__sched_adopt(struct weft__co *co, struct weft__sched *s);

/* Makes a scheduler for a thread of weft's own whose flow is `flow`
 * (handoff.c): the flow is no coroutine of it.  Returns it, or NULL with
 * errno ENOMEM.  The caller attaches it to the thread next
 * (weft__sched_attach), before anything else runs there. */
struct weft__sched *weft__sched_member(struct weft__co *flow);

/* This OS thread (record m) takes s over: s's thread-bound fields become
 * this thread's, and this thread's scheduler is s.  The caller then
 * switches to s's idle context.  weft__sched_detach: this thread has no
 * scheduler any more.  (handoff.c) */
void weft__sched_attach(struct weft__sched *s, struct weft__m *m);
void weft__sched_detach(void);

/* Publishes s, this thread's scheduler, as a member of the pool
 * (pool.c). */
void weft__pool_join(struct weft__sched *s);

/* Adds s to the list of every scheduler (scheds.c). */
void weft__scheds_add(struct weft__sched *s);

/* In a fork child: the list is the child's alone, and empty (scheds.c). */
void weft__scheds_forget(void);

/* Wakes scheduler s's loop from another thread, to take its remote queue
 * (sched.c). */
void weft__sched_notify(struct weft__sched *s);

/* Calls fn for each scheduler, under the registry's lock (scheds.c). */
void weft__sched_each(void (*fn)(struct weft__sched *s, void *arg),
		      void *arg);

/* As weft__sched_each, but returns false at once if the list is locked. */
bool weft__sched_each_try(void (*fn)(struct weft__sched *s, void *arg),
			  void *arg);

/* ---- the loop and its fds (loop.c) ---- */

/* Makes s's event loop, its fds at the top of the fd range, with
 * s->remote (initialised) started on it.  Returns it, or NULL with errno
 * ENOMEM. */
struct ev_loop *weft__loop_make(struct weft__sched *s);

/* Destroys s's loop, closing its fds. */
void weft__loop_destroy(struct weft__sched *s);

/* Runs fn(fd, arg, lost) on s's thread (see weft__ownfd_fn), and forgets
 * fd there.  From s's own thread it runs at once if it may (a coroutine
 * is running, not the loop); else it is handed to s's loop, which runs it
 * at the start of its next round, and (unless lost) the caller waits for
 * it.  Returns fn's result: 0, or -1 with errno (EBUSY if s's thread did
 * not answer within seconds, or could not be waited for). */
int weft__loop_ask(struct weft__sched *s, int fd, weft__ownfd_fn *fn,
		   void *arg, bool lost);

/* Whether one of the fds of s's loop is gone; if so, the loop is made
 * again at the start of its next round.  For s's own thread. */
bool weft__loop_sick(struct weft__sched *s);

/* Moves every fd watcher of s from loop `from` to loop `to`, starting
 * those that have waiters (wait.c). */
void weft__wait_move_loop(struct weft__sched *s, struct ev_loop *from,
			  struct ev_loop *to);

/* Moves co's waits on fd `from` to fd `to`, which names the same file
 * (wait.c).  Returns 0, or -ENOMEM. */
int weft__wait_renumber(struct weft__sched *s, int from, int to,
			struct weft__co *co);

/* Adds co to s's list of live coroutines, counting it as made and live;
 * takes it off the list (the caller counts it gone).  For s's own thread
 * (ends.c). */
void weft__live_link(struct weft__sched *s, struct weft__co *co);
void weft__live_unlink(struct weft__sched *s, struct weft__co *co);

/* sched.c's run-queue push and switch away, for ends.c: the end of a
 * coroutine is no hot path. */
void weft__sched_push(struct weft__sched *s, struct weft__co *co);
void weft__sched_switch_out(struct weft__sched *s, struct weft__co *from);

/* Finishes, in the context that runs next, the end of the coroutine that
 * ended last on s: it could not free its own stack while running on it,
 * nor let a joiner on another thread free it (weft__co_free waits for
 * this). */
void weft__reap(struct weft__sched *s);

/* weft_yield's work, for its entry (yield.c), whose return site is site.
 * Returns where the CPU's return stack predicts that entry returns to:
 * the site of the weft_yield that made the last switch here, or NULL if
 * it came from elsewhere; site itself if there was no switch (sched.c). */
const void *weft__yield(const void *site);

/* Root coroutine's weft_exit: returns once every other coroutine of the
 * thread has ended. */
void weft__root_exit(struct weft__co *root);

#endif
