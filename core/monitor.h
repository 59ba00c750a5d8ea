/* monitor.h - the monitor: a thread of weft's own that keeps any one
 * coroutine from holding up the others of its scheduler.
 *
 * Every WEFT_MONITOR_MS / 2 it looks at the pool's members; while the
 * process is idle, less often, down to every 100 ms (monitor.c).  A
 * member whose OS thread has run one coroutine, outside weft, for
 * WEFT_MONITOR_MS (10 by default) without a switch, while other
 * coroutines wait on it, is taken from that thread and given to a spare
 * (handoff.h): the coroutine goes on alone on the old thread, and the
 * others on the new one.  This is the safety net for what weft cannot
 * park: a long computation, a raw system call (io_uring_enter), a read
 * of a file that misses the cache.
 */
#ifndef WEFT_MONITOR_H
#define WEFT_MONITOR_H

#include <stdint.h>

/* Starts the monitor, once, unless WEFT_MONITOR_MS is 0 or the kernel
 * lacks the barrier it needs (membarrier's private expedited command),
 * or coroutines cannot change threads (no thread blocks of their own). */
void weft__monitor_start(void);

/* In a fork child: no monitor runs; a pool started there starts one. */
void weft__monitor_forget(void);

/* One hand-off, for the statistics and the dump. */
struct weft__held {
	int64_t at;          /* when, on weft's monotonic clock */
	uint64_t co;         /* the coroutine that held the thread */
	int tid;             /* the thread it held */
	long syscall;        /* the system call it was in, or -1: running */
	int64_t ns;          /* how long it had held it */
};

/* Copies the latest hand-offs (at most 16), newest first, into
 * out[0..max); returns how many were copied.  *total gets the count of all
 * hand-offs.  Never waits: safe in a signal handler, which may find the
 * record being written (then it copies none, and *total is 0). */
unsigned weft__monitor_recent(struct weft__held *out, unsigned max,
			      uint64_t *total);

#endif
