/* sched.h - the scheduler's state, private to core/. */
#ifndef WEFT_SCHED_H
#define WEFT_SCHED_H

#include <pthread.h>

#include "core.h"
#include "fiber.h"

struct weft__fdw;

struct weft__sched {
	struct ev_loop *loop;
	struct weft__co *current;        /* running, or NULL in idle */
	struct weft__co *root;           /* the thread's original flow */
	struct weft__co *run_head, *run_tail;
	struct weft__co idle;            /* the context running the loop */
	struct weft__slot *idle_slot;
	struct weft__co *zombie;         /* ended, stack not yet released */
	unsigned long live;              /* coroutines not ended, root too */
	unsigned long peak_live;
	uint64_t created, switches;      /* for WEFT_STATS */
	struct weft__co *all;            /* live coroutines, newest first */
	int *errno_p;                    /* this thread's errno */
	void *os_tcb;                    /* its OS thread's thread block */
	struct weft__co **os_running;    /* weft__running in that block */
	unsigned long queued;            /* length of the run queue */
	unsigned long budget;            /* direct switches left before a poll */
	bool root_exited;                /* root called weft_exit */
	int remote_lock;                 /* spin lock guarding remote_* */
	struct weft__co *remote_head, *remote_tail;
	ev_async remote;
	int *gone;                       /* fds closed by other threads, */
	size_t ngone, gone_cap;          /* guarded by remote_lock */
	struct weft__sched *next;        /* in the list of all schedulers */
	struct weft__fdw **fdw;          /* fd watchers, by fd (wait.c) */
	size_t fdw_chunks;
};

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

/* Gives a new coroutine an id, a scheduler (the caller's) and a timer, and
 * queues it. */
void weft__sched_adopt(struct weft__co *co);

/* Calls fn for each scheduler, under the registry's lock (stats.c). */
void weft__sched_each(void (*fn)(struct weft__sched *s, void *arg),
		      void *arg);

/* As weft__sched_each, but returns false at once if the list is locked. */
bool weft__sched_each_try(void (*fn)(struct weft__sched *s, void *arg),
			  void *arg);

/* Root coroutine's weft_exit: returns once every other coroutine of the
 * thread has ended. */
void weft__root_exit(struct weft__co *root);

#endif
