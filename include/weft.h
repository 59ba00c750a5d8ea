/* weft.h - coroutines that make blocking calls cheap.
 *
 * weft runs many coroutines on one OS thread.  A coroutine is written in
 * plain blocking style; whenever it would wait (for an fd, a timer, a lock)
 * it parks and another coroutine runs.  Linked programs use this header;
 * unmodified programs get the same through LD_PRELOAD (see weft(1)), where
 * read(), accept(), sleep() and the other blocking libc calls park the
 * calling coroutine instead of the thread.
 *
 * Scheduling.  Each OS thread that uses weft has its own scheduler, made the
 * first time the thread calls into weft.  The flow of control that was
 * running on the thread until then (main(), in the main thread) becomes that
 * scheduler's root coroutine: when it blocks, the others run.  A process
 * ends when main returns, as in C, whatever coroutines are left.  There is
 * no preemption: a coroutine runs until it blocks, yields or ends.
 *
 * Errors.  Functions that can fail return -1 (or NULL) and set errno, with
 * the values the matching pthread or libc call would use.  Programming
 * errors that would otherwise corrupt memory (joining a coroutine twice,
 * blocking from inside a signal handler that interrupted the scheduler)
 * print one line on stderr and abort.
 *
 * Threads.  Unless said otherwise a function acts on the calling thread's
 * scheduler.  The synchronisation objects below work between coroutines of
 * different threads too.
 */
#ifndef WEFT_H
#define WEFT_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; this API is what it shows. */
#pragma GCC visibility push(default)

#define WEFT_VERSION "0.1.0"

/* ==== Coroutines ======================================================= */

/* A coroutine, as seen by the program.  Opaque. */
typedef struct weft__co weft_co;

/* Starts fn(arg) in a new detached coroutine with the default stack size.
 * The new coroutine is queued behind those already runnable; the caller
 * goes on running.  Returns 0, or -1 with errno EAGAIN (no memory for its
 * stack or bookkeeping) or EINVAL (fn is NULL). */
int weft_go(void (*fn)(void *arg), void *arg);

/* Starts fn(arg) in a new joinable coroutine.  stack_size 0 means the
 * default (WEFT_STACK_SIZE, 256 KiB unless set); other sizes are rounded up
 * to whole pages, at least 16 KiB.  Returns the coroutine, which must be
 * passed once to weft_join or weft_detach; or NULL with errno EAGAIN (no
 * memory) or EINVAL (fn is NULL, or stack_size absurdly large). */
weft_co *weft_spawn(void *(*fn)(void *arg), void *arg, size_t stack_size);

/* Flags of weft_spawn_opt. */
#define WEFT_OWN_TLS 1u /* a thread block of its own: see weft_spawn_opt */

/* As weft_spawn, with flags.  WEFT_OWN_TLS gives the coroutine a thread
 * block of its own, as every green thread of a preloaded program has: its
 * own __thread and thread_local variables, errno, locale and
 * pthread_self(), and its C++ thread_local destructors run when it ends.
 * Other coroutines share their OS thread's TLS, libco-style, which is
 * cheaper: the block takes about 4 KiB at the top of the stack, and each
 * switch between coroutines whose blocks differ costs a few more
 * nanoseconds.  A coroutine with its own block may run on any scheduler
 * of the pool (see weft_cpus); others stay on their maker's OS thread.
 * Returns the coroutine, or NULL with errno EAGAIN, EINVAL
 * (fn is NULL, an unknown flag, or a stack too small), or ENOTSUP (this glibc or
 * architecture does not allow thread blocks; weft knows glibc 2.36 on
 * x86-64). */
weft_co *weft_spawn_opt(void *(*fn)(void *arg), void *arg, size_t stack_size,
			unsigned flags);

/* Waits until co has ended and stores what its function returned (or what
 * it passed to weft_exit) in *result unless result is NULL; then co's
 * memory is released.  Returns 0, or -1 with errno EDEADLK (co is the
 * caller) or EINVAL (co is detached, or another coroutine is joining it).
 * Joining a coroutine that was already joined aborts with a message. */
int weft_join(weft_co *co, void **result);

/* Lets co release its memory by itself when it ends.  Returns 0, or -1
 * with errno EINVAL (co is already detached or being joined). */
int weft_detach(weft_co *co);

/* Ends the calling coroutine with the given result, as if its function
 * had returned it.  In the root coroutine this is pthread_exit(): the
 * thread's other coroutines go on running. */
void weft_exit(void *result) __attribute__((noreturn));

/* The calling coroutine.  Never NULL. */
weft_co *weft_self(void);

/* Lets every other runnable coroutine of this thread run once, then
 * returns.  Also gives fd and timer wake-ups their turn, so a loop that
 * only yields never starves them. */
void weft_yield(void);

/* A number naming the calling coroutine, unique in the process and never
 * reused.  The root coroutine of the main thread is 1. */
uint64_t weft_id(void);

/* The calling coroutine's name, "" unless set.  The string stays valid
 * until the name changes or the coroutine ends. */
const char *weft_name(void);

/* Names the calling coroutine for diagnostics (stack overflow, dumps).
 * At most 15 bytes are kept.  Returns 0. */
int weft_set_name(const char *name);

/* ==== Time and waiting ================================================= */

/* Time-outs are relative, in nanoseconds; a negative time-out waits for
 * ever.  All timing uses the monotonic clock. */

/* Monotonic clock, in nanoseconds. */
int64_t weft_now(void);

/* Parks the caller for at least ns nanoseconds (none if ns <= 0).
 * Returns 0. */
int weft_sleep(int64_t ns);

#define WEFT_READ  1 /* wait until the fd is readable (or has hung up) */
#define WEFT_WRITE 2 /* wait until the fd is writable */

/* Parks the caller until fd is ready for one of events (WEFT_READ,
 * WEFT_WRITE or both), or timeout_ns has passed.  Several coroutines may
 * wait on one fd.  Returns the events that are ready (> 0), or -1 with
 * errno ETIMEDOUT, EBADF (fd is not open, or was closed through weft while
 * waiting), EPERM (fd is a regular file or directory, which is always
 * ready) or EINVAL (events is neither). */
int weft_wait_fd(int fd, int events, int64_t timeout_ns);

/* Closes fd like close(2), first waking every coroutine waiting on it with
 * EBADF.  Returns what close returns. */
int weft_close(int fd);

/* ==== Synchronisation ================================================== */

/* Every object below is valid when filled with zero bytes (static
 * initialisation), needs no destroy call, and must not be copied or moved
 * while in use.  Fields are private. */

/* A mutex.  Waiters are woken in the order they came, though a running
 * coroutine may take it before a woken one (see weft_mutex_unlock).
 * (The layout fits
 * in a pthread_mutex_t, with the kind where glibc keeps its own, so green
 * threads can use the program's mutexes in place.) */
typedef struct weft_mutex {
	int lock_;
	unsigned depth_;
	void *owner_;
	int kind_;
	int flags_;
	void *head_, *tail_;
} weft_mutex;

#define WEFT_MUTEX_INIT {0}
#define WEFT_MUTEX_NORMAL     0 /* relocking deadlocks, as PTHREAD_MUTEX_NORMAL */
#define WEFT_MUTEX_RECURSIVE  1 /* the owner may lock it again */
#define WEFT_MUTEX_ERRORCHECK 2 /* relock: EDEADLK; unlock by non-owner: EPERM */

/* Makes m an unlocked mutex of the given kind.  Returns 0, or -1 with
 * errno EINVAL for an unknown kind. */
int weft_mutex_init(weft_mutex *m, int kind);

/* Locks m, parking the caller while another coroutine holds it.  Returns
 * 0, or -1 with errno EDEADLK (error-checking mutex relocked) or EAGAIN
 * (recursion depth exhausted). */
int weft_mutex_lock(weft_mutex *m);

/* As weft_mutex_lock but never waits: -1 with errno EBUSY if m is held. */
int weft_mutex_trylock(weft_mutex *m);

/* As weft_mutex_lock but gives up after timeout_ns: -1 with ETIMEDOUT. */
int weft_mutex_timedlock(weft_mutex *m, int64_t timeout_ns);

/* Unlocks m and wakes its longest waiter, if any, to take it; a running
 * coroutine may take it first, as with glibc's mutex, but a waiter that
 * has waited over a millisecond is handed it.  Returns 0, or -1 with
 * errno EPERM if the caller does not hold an error-checking or recursive
 * mutex. */
int weft_mutex_unlock(weft_mutex *m);

/* A condition variable. */
typedef struct weft_cond {
	int lock_;
	int leaving_; /* waiters woken that have not yet let go of it */
	void *head_, *tail_;
} weft_cond;

#define WEFT_COND_INIT {0}

/* Unlocks m, parks until signalled, and locks m again before returning.
 * Returns 0.  Spurious wake-ups are possible, as with pthreads. */
int weft_cond_wait(weft_cond *c, weft_mutex *m);

/* As weft_cond_wait but gives up after timeout_ns: -1 with errno
 * ETIMEDOUT (m is locked again all the same). */
int weft_cond_timedwait(weft_cond *c, weft_mutex *m, int64_t timeout_ns);

/* Wakes one waiter of c, if any.  Returns 0. */
int weft_cond_signal(weft_cond *c);

/* Wakes every waiter of c.  Returns 0. */
int weft_cond_broadcast(weft_cond *c);

/* A counting semaphore. */
typedef struct weft_sem {
	int lock_;
	unsigned value_;
	void *head_, *tail_;
} weft_sem;

/* Makes s a semaphore holding value.  Returns 0. */
int weft_sem_init(weft_sem *s, unsigned value);

/* Takes one unit, parking while there is none.  Returns 0. */
int weft_sem_wait(weft_sem *s);

/* Takes one unit if there is one: 0, else -1 with errno EAGAIN. */
int weft_sem_trywait(weft_sem *s);

/* As weft_sem_wait but gives up after timeout_ns: -1 with ETIMEDOUT. */
int weft_sem_timedwait(weft_sem *s, int64_t timeout_ns);

/* Adds one unit and wakes the longest waiter, if any, to take it; a
 * running coroutine may take it first, as with glibc's semaphore.
 * Returns 0, or -1 with errno EOVERFLOW if the value would pass
 * UINT_MAX. */
int weft_sem_post(weft_sem *s);

/* The number of units available now. */
unsigned weft_sem_value(weft_sem *s);

/* A wait group: a counter that coroutines can wait to see reach zero. */
typedef struct weft_wg {
	int lock_;
	long count_;
	void *head_, *tail_;
} weft_wg;

#define WEFT_WG_INIT {0}

/* Adds n (which may be negative) to the counter; when it reaches zero,
 * every waiter wakes.  Returns 0, or -1 with errno EINVAL if the counter
 * would go below zero (it is left unchanged). */
int weft_wg_add(weft_wg *wg, long n);

/* weft_wg_add(wg, -1). */
int weft_wg_done(weft_wg *wg);

/* Parks until the counter is zero.  Returns 0. */
int weft_wg_wait(weft_wg *wg);

/* ==== Per-coroutine data =============================================== */

/* A key names one slot in every coroutine's private store, as
 * pthread_key_t does for threads.  At most 1024 keys exist at once. */
typedef unsigned weft_key;

/* Makes a key whose slot is NULL in every coroutine.  When a coroutine
 * ends with a non-NULL value in the slot, destructor (unless NULL) is
 * called with it, up to four rounds as pthreads do.  Returns 0, or -1 with
 * errno EAGAIN when all keys are in use. */
int weft_key_create(weft_key *key, void (*destructor)(void *value));

/* Frees key; values still stored are not destroyed.  Returns 0, or -1 with
 * errno EINVAL for a key that does not exist. */
int weft_key_delete(weft_key key);

/* The calling coroutine's value for key; NULL if unset or key is unknown. */
void *weft_getspecific(weft_key key);

/* Sets the calling coroutine's value for key.  Returns 0, or -1 with
 * errno EINVAL (unknown key) or ENOMEM. */
int weft_setspecific(weft_key key, const void *value);

/* ==== Diagnostics ====================================================== */

/* Writes to stderr one line per coroutine of the process: its id, name,
 * state (runnable, running, parked, done) and, for a parked one, what it
 * waits for (the call, the fd, the time left to its deadline).  Uses the
 * raw write system call and allocates nothing, so a signal handler may
 * call it (WEFT_DUMP_SIGNAL does).  What it shows of other threads may be
 * a moment old; if the interrupted thread was changing the list of
 * schedulers, it says so instead of waiting. */
void weft_dump(void);

/* ==== Real threads ===================================================== */

/* Starts a real OS thread that runs fn(arg) as the root coroutine of its
 * own scheduler; coroutines it starts run on that thread.  *tid gets the
 * thread's id for pthread_join.  Returns 0, or -1 with errno EAGAIN. */
int weft_thread(pthread_t *tid, void (*fn)(void *arg), void *arg);

/* Spreads the green threads made from now on (pthread_create with green
 * threads on, weft_spawn_opt with WEFT_OWN_TLS) over n schedulers, each
 * on an OS thread of its own, the caller's scheduler among them; 0 means
 * one per CPU this process may run on.  A new one goes to the less loaded
 * of two schedulers picked at random.  The pool starts with the first
 * such thread made, and only ever grows.  A preloaded program's pool has
 * WEFT_CPUS schedulers (one per CPU unless set); a linked program's has 1
 * until it calls this.  Returns the size now asked for, or -1 with errno
 * EINVAL (n above 1024). */
int weft_cpus(unsigned n);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
