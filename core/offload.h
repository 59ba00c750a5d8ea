/* offload.h - real threads for calls that cannot be made non-blocking:
 * a few for jobs (name resolution, file locks, waiting for children),
 * and one per wait for waits that last as long as another process likes
 * (process-shared condition variables, rwlocks, barriers).
 *
 * Both pools' threads are weft's own (weft__inside) and have no scheduler:
 * weft__running stays NULL on them, so every wrapper they meet passes
 * straight through to libc.  They block every signal, so the program's
 * signals go to its own threads.  errno and h_errno are per thread: a job that cares must capture
 * them on the worker and the caller must restore them afterwards.
 */
#ifndef WEFT_OFFLOAD_H
#define WEFT_OFFLOAD_H

#include <pthread.h>
#include <stdbool.h>

struct weft__co;

/* The pool's size when WEFT_OFFLOAD_THREADS is unset, and its bounds. */
#define WEFT__OFFLOAD_DEFAULT 4
#define WEFT__OFFLOAD_MAX     64

/* Runs fn(arg) on a pool thread while the calling coroutine parks, so the
 * other coroutines of its thread go on running; jobs are served in the
 * order they came, by at most WEFT_OFFLOAD_THREADS threads (4 unless set,
 * 1 to 64), started as jobs need them.  Whatever fn touches must stay valid
 * until this returns; the job's own bookkeeping lives on the caller's
 * stack, so nothing is allocated.  The caller must be a coroutine
 * (weft__running non-NULL); otherwise fn runs at once on the calling
 * thread.  Returns 0 once fn has run, or -1 with errno EAGAIN when no pool
 * thread exists and none can be started: fn has not run, and the caller
 * should run it itself.  errno is left alone on success. */
int weft__offload(void (*fn)(void *), void *arg);

/* As weft__offload, for fn that waits on something another process may
 * hold for as long as it likes: fn gets a thread to itself, never queued
 * behind other jobs or waits, so that any number of coroutines may wait
 * at once while the others (and other processes) go on and can end their
 * waits.  An idle thread takes it, or a new one is started, without
 * WEFT_OFFLOAD_THREADS' limit; a thread idle for 10 s ends.  Returns 0
 * once fn has run, or -1 with errno EAGAIN when no thread is idle and
 * none can be started: fn has not run, and the caller should run it
 * itself.  errno is left alone on success. */
int weft__offload_wait(void (*fn)(void *), void *arg);

/* Reads WEFT_OFFLOAD_THREADS now rather than at the first job, so that a
 * bad value is reported at start with the other variables.  Call only
 * while the process has one thread (preload/entry.c's constructor). */
void weft__offload_config(void);

/* Takes m from a coroutine as weft's own call: the coroutine is not
 * running meanwhile (weft__running NULL, weft__inside set), so a green
 * pthread_mutex_lock does not park it.  Returns weft__inside before, for
 * weft__unlock_as(m, co, was), which lets m go and makes co the running
 * coroutine again.  For weft's short critical sections only. */
bool weft__lock_as_weft(pthread_mutex_t *m);
void weft__unlock_as(pthread_mutex_t *m, struct weft__co *co, bool was);

#endif
