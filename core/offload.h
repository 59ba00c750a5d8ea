/* offload.h - real threads for calls that cannot be made non-blocking:
 * a few for jobs (name resolution, file locks, waiting for children),
 * and one per wait for waits that last as long as another process likes
 * (process-shared condition variables, rwlocks, barriers).
 *
 * Both pools' threads are weft's own (weft__inside) and have no scheduler:
 * weft__running stays NULL on them, so every wrapper they meet passes
 * straight through to libc.  They block every signal, so the program's
 * signals go to its own threads, except glibc's SIGCANCEL, which glibc
 * never lets a thread block (pthread_attr_setsigmask_np drops it): that
 * is the poke, which stops a stoppable job (offload_intr.c).  errno and
 * h_errno are per thread: a job that cares must capture them on the
 * worker and the caller must restore them afterwards.
 */
#ifndef WEFT_OFFLOAD_H
#define WEFT_OFFLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

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

/* As weft__offload, for fn that blocks until something outside happens
 * and that stop can end early: a signal sent to the caller ends its park,
 * and if cancel, it is a cancellation point's park, which a cancel ends
 * too (cancel.h).  When one ends the park before fn is done, fn is taken
 * off the queue if no worker has begun it, and never runs; otherwise
 * stop(arg) is called on the caller's thread, while the worker still
 * runs fn, and should make fn return soon
 * (it may be called after fn returned, never after the worker let the job
 * go).  Either way the caller then waits for the worker, a wait no signal
 * or cancel ends, and takes what is due itself (offload_intr.c does).
 * Returns 0 once fn has run, 1 if it was taken off unrun, or -1 with errno
 * EAGAIN as weft__offload.  errno is left alone otherwise. */
int weft__offload_stoppable(void (*fn)(void *), void (*stop)(void *),
			    void *arg, bool cancel);

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

/* ---- jobs at glibc's own cancellation points ---- */

/* As weft__offload, for fn whose waits are glibc's own cancellation
 * points, deep in libc where no stop can reach (a name lookup's poll,
 * connect and recvfrom): fn runs with the worker's glibc cancellation
 * enabled (deferred) and the caller's park is a cancellation point.  A
 * cancel of the caller that ends it is passed to the worker with glibc's
 * pthread_cancel (or made pending on the worker that begins the job), so
 * glibc acts on it where it would on the caller's own thread: its
 * cleanup handlers free what fn held, and the worker ends (another is
 * started in its place).  A cancel that comes too late to act in fn
 * stays pending for the caller, as natively; a worker left with a
 * pending cancel ends after the job.  A signal given to the caller runs
 * its handlers at once, as the caller, while fn goes on.  Returns 0 once
 * fn has run to its end, 1 if a cancel cut it short (the caller must act
 * on its cancel, weft__cancel_act, once it has put back what is its
 * own), or -1 with errno EAGAIN as weft__offload.  errno is left alone
 * otherwise. */
int weft__offload_point(void (*fn)(void *), void *arg);

/* weft__offload_point on a thread of its own, as weft__offload_wait. */
int weft__offload_wait_point(void (*fn)(void *), void *arg);

/* ---- system calls a signal or cancel interrupts (offload_intr.c) ---- */

/* How weft__offload_syscall's call behaves, as glibc and signal(7) say:
 * a cancellation point (flock is none), and never restarted after a
 * handler (System V IPC), where the others restart under SA_RESTART. */
enum { WEFT__SYS_CANCEL = 1, WEFT__SYS_NO_RESTART = 2 };

/* Makes system call nr(a0, ..., a4), one that blocks until another
 * process acts (flock, fcntl F_SETLKW, a FIFO's openat, wait4, waitid,
 * msgrcv), on the offload pool while the calling coroutine parks, so
 * that a signal given to the caller interrupts it as the kernel would,
 * and, with WEFT__SYS_CANCEL in how, a cancel too.  A due cancel acts
 * (cancel.h), on entry too; a signal's handlers run as the caller, then
 * the call returns -1 with errno EINTR, or is made again if every
 * handler had SA_RESTART and how has no WEFT__SYS_NO_RESTART.  A call
 * that completed although interrupted keeps its result.  Not a
 * coroutine, or no pool thread: the call is made here, blocking.
 * Returns the call's result, or -1 with errno as the kernel gave it;
 * errno is left alone on success. */
long weft__offload_syscall(unsigned how, long nr, long a0, long a1, long a2,
			   long a3, long a4);

/* For the poke's handler (poke.c), given the pc it interrupted: where
 * the thread should go on instead, if it is an offload worker inside a
 * stoppable system call that its caller stopped (the call then returns
 * -EINTR); else pc itself. */
uintptr_t weft__offload_intr_pc(uintptr_t pc);

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
