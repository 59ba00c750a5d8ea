/* pshared.c - parking on the sync objects glibc keeps.
 *
 * Process-shared mutexes, condition variables, rwlocks and barriers,
 * robust mutexes and glibc's semaphores are glibc's (green.h); another
 * process may hold them, and glibc wakes their waiters with futex calls
 * weft never sees.  A coroutine that is not alone first tries without
 * waiting, on its own thread; only when it would block does it park,
 * while a real thread sleeps in the kernel where the wake-up will come.
 * How depends on what glibc lets be done away from the caller's thread:
 *
 *  - a mutex records its owner (__owner, and the lock word of a robust
 *    one, which sits on its owner's robust list), so no other thread
 *    takes it: the caller sets the waiters bit, so that the unlock wakes,
 *    parks while a thread of weft's sleeps on the lock word
 *    (weft__waitv), and takes the lock with trylock on its own thread.
 *    Once it has waited it leaves the waiters bit set, as glibc's own
 *    lock does, since others may still wait.  Priority-inheriting and
 *    priority-protected mutexes, whose lock words the kernel manages,
 *    still block the thread;
 *  - a semaphore is a value and a count of waiters in one word
 *    (struct glibc_sem): the caller counts itself in, as glibc's
 *    sem_wait does, so that sem_post wakes, and parks on the value
 *    (weft__waitv) while it is 0;
 *  - a condition variable's wait must release and retake the mutex in
 *    one call of glibc's, whose protocol (groups of waiters, signals
 *    counted per group, a waiter that times out taking itself out) is
 *    too intricate to redo here and changes between glibc versions: the
 *    wait is made on a thread of its own (weft__offload_wait), with the
 *    caller's mutex made that thread's for the time (the __owner field)
 *    and the caller's again after.  Robust and priority-aware mutexes,
 *    whose owner is more than a field, block;
 *  - a rwlock's waiters register in it before they sleep, by glibc's
 *    rules again: a thread of its own makes the real call.  A writer's
 *    rwlock records its owner's tid (__cur_writer), which glibc's unlock
 *    compares with the caller's: the caller's tid is written in after;
 *  - a barrier has no try: every wait of a glibc barrier of more than one
 *    gets a thread of its own.
 *
 * Why these threads and not the offload pool, as before: the pool has
 * WEFT_OFFLOAD_THREADS threads (4 unless set) and serves jobs in order,
 * so five condition waits filled it while the signaller's own job (a
 * semaphore another process posts) queued behind them, and the waits,
 * retaking the mutex inside glibc's call, were never woken; cutting the
 * waits into slices did not help, since glibc retakes the mutex after.  Why not block the green thread's own OS thread and let the
 * monitor hand its scheduler to a spare: measured, every such wait stalls
 * its scheduler's other coroutines for the monitor's 10 ms (64 waits
 * begun at once took 0.5 s to all get in), and a scheduler holding a
 * coroutine that cannot move (main, a weft_go one) would stop for the
 * whole wait, its own signaller included.  Why futex_waitv for mutexes
 * and semaphores: they are the waits that come by the thousand, and a
 * thread per wait costs about 30 KiB and 30 us to start (waitv.c).
 *
 * Cancellation: a condition wait runs as a cancellable job
 * (weft__offload_wait_point): glibc's wait on that thread acts on the
 * caller's cancel, takes the mutex again in its cleanup, and the caller,
 * the mutex made its own again, acts.  A semaphore's park is a
 * cancellation point's (weft__waitv_point): a cancel counts the waiter
 * out, as glibc's cleanup does, and acts; a signal's handlers run, and
 * the wait ends with EINTR as glibc's futex wait would (see
 * interrupted).  Mutexes, rwlocks and barriers are no cancellation
 * points.
 *
 * Timed waits on a thread of their own are glibc's, with the caller's
 * clock and deadline, and end only then or at a wake-up.  Timed waits on a futex word go in slices of
 * 100 ms, the caller's deadline kept exactly on its own clock: the
 * watchers sleep on the monotonic clock, and a slice bounds how late a
 * deadline on CLOCK_REALTIME is seen once that clock is set.  Owners are
 * OS thread ids: as before, two green threads of one OS thread look like
 * one owner to glibc.
 */
#include <linux/futex.h>
#include <unistd.h>

#include "cancel.h"
#include "io.h"
#include "offload.h"
#include "pshared.h"
#include "sigs.h"
#include "waitv.h"

/* glibc's flags in a mutex's kind (nptl/pthreadP.h). */
#define KIND_ROBUST  16
#define KIND_PI      32
#define KIND_PP      64
#define KIND_PSHARED 128

#define COND_SHARED 1u /* glibc's __PTHREAD_COND_SHARED_MASK */

#define SLICE (100 * 1000000LL) /* ns */

/* glibc's barrier (nptl/pthreadP.h): the count it was made for. */
struct glibc_barrier {
	unsigned in, current_round, count;
	int shared;
	unsigned out;
};

/* glibc's semaphore where 64-bit atomics exist (nptl/internaltypes.h,
 * struct new_sem): the value in data's low 32 bits, the count of waiters
 * in its high ones; private is 0 for private futex calls, else
 * FUTEX_PRIVATE_FLAG (process-shared and named semaphores). */
struct glibc_sem {
	uint64_t data;
	int private;
	int pad;
};

_Static_assert(sizeof(struct glibc_sem) <= sizeof(sem_t),
	       "glibc's semaphore fits a sem_t");

#define SEM_WAITER (1ull << 32)

/* Whether glibc would take abs on clock without EINVAL. */
static bool time_ok(clockid_t clock, const struct timespec *abs)
{
	return (clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC) &&
	       abs->tv_nsec >= 0 && abs->tv_nsec < 1000000000;
}

static int64_t ns_of(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* The deadline of the next wait toward abs on clock, on weft's
 * monotonic clock: a slice, or what is left if that is less; none (-1)
 * for an untimed wait (abs NULL).  Returns false if abs has passed. */
static bool next_deadline(clockid_t clock, const struct timespec *abs,
			  int64_t *deadline)
{
	struct timespec now;

	*deadline = -1;
	if (abs == NULL)
		return true;
	clock_gettime(clock, &now);
	int64_t left = ns_of(abs) - ns_of(&now);
	if (abs->tv_sec < 0 || left <= 0)
		return false;
	*deadline = weft__now() + (left < SLICE ? left : SLICE);
	return true;
}

/* Runs fn(arg) on a thread of its own while the caller parks, or here if
 * no thread can be had. */
static void on_own_thread(void (*fn)(void *), void *arg)
{
	weft__running->wait_what = "pshared";
	if (weft__offload_wait(fn, arg) < 0)
		fn(arg);
}

/* ---- mutexes ---- */

/* Parks while pm's lock word is v, for at most a slice or until abs on
 * clock: glibc's robust and process-shared mutexes wake with shared
 * futex calls.  Returns false if abs has passed. */
static bool wait_word(pthread_mutex_t *pm, unsigned v, clockid_t clock,
		      const struct timespec *abs)
{
	int64_t deadline;

	if (!next_deadline(clock, abs, &deadline))
		return false;
	weft__running->wait_what = "pshared";
	weft__waitv((const uint32_t *)&pm->__data.__lock, v, true, deadline);
	return true;
}

/* Marks pm's lock word as having waiters, if it is still held (v, or the
 * word now).  Returns the word so marked, or 0 if it was free. */
static unsigned mark_waiters(pthread_mutex_t *pm, int kind)
{
	unsigned *word = (unsigned *)&pm->__data.__lock;
	unsigned v = __atomic_load_n(word, __ATOMIC_RELAXED);

	while (v != 0) {
		unsigned want = kind & KIND_ROBUST ? v | FUTEX_WAITERS : 2;
		if (v == want ||
		    __atomic_compare_exchange_n(word, &v, want, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return want;
	}
	return 0;
}

static int real_lock(pthread_mutex_t *pm, clockid_t clock,
		     const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();

	return abs ? libc->pthread_mutex_clocklock(pm, clock, abs)
		   : libc->pthread_mutex_lock(pm);
}

/* See pshared.h. */
int weft__glibc_mutex_lock(pthread_mutex_t *pm, clockid_t clock,
			   const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();
	int kind = __atomic_load_n(&pm->__data.__kind, __ATOMIC_RELAXED);

	if (kind < 0 || !(kind & (KIND_ROBUST | KIND_PSHARED)) ||
	    (kind & (KIND_PI | KIND_PP)) || (abs && !time_ok(clock, abs)) ||
	    !weft__may_park())
		return real_lock(pm, clock, abs);
	int r = libc->pthread_mutex_trylock(pm);
	if (r != EBUSY)
		return r;
	/* glibc's trylock says EBUSY where its lock says EDEADLK. */
	if ((kind & 3) == PTHREAD_MUTEX_ERRORCHECK &&
	    __atomic_load_n(&pm->__data.__owner, __ATOMIC_RELAXED) == gettid())
		return EDEADLK;
	bool waited = false;
	do {
		unsigned v = mark_waiters(pm, kind);
		if (v != 0) {
			waited = true;
			if (!wait_word(pm, v, clock, abs))
				return ETIMEDOUT;
		}
	} while ((r = libc->pthread_mutex_trylock(pm)) == EBUSY);
	if (waited && (r == 0 || r == EOWNERDEAD))
		mark_waiters(pm, kind);
	return r;
}

/* ---- condition variables ---- */

static int real_cond_wait(pthread_cond_t *pc, pthread_mutex_t *pm,
			  clockid_t clock, const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();

	return abs ? libc->pthread_cond_clockwait(pc, pm, clock, abs)
		   : libc->pthread_cond_wait(pc, pm);
}

struct cond_job {
	pthread_cond_t *pc;
	pthread_mutex_t *pm;
	clockid_t clock;
	const struct timespec *abs;
	int r;
};

/* The whole wait, with the caller's mutex made this thread's. */
static void cond_wait(void *p)
{
	struct cond_job *j = p;

	__atomic_store_n(&j->pm->__data.__owner, gettid(), __ATOMIC_RELAXED);
	j->r = real_cond_wait(j->pc, j->pm, j->clock, j->abs);
}

/* See pshared.h. */
int weft__glibc_cond_wait(pthread_cond_t *pc, pthread_mutex_t *pm,
			  clockid_t clock, const struct timespec *abs)
{
	int kind = __atomic_load_n(&pm->__data.__kind, __ATOMIC_RELAXED);
	unsigned flags = __atomic_load_n(&pc->__data.__wrefs,
					 __ATOMIC_RELAXED);

	if (!(flags & COND_SHARED) || kind < 0 ||
	    (kind & (KIND_ROBUST | KIND_PI | KIND_PP)) ||
	    (abs && !time_ok(clock, abs)) || !weft__may_park())
		return real_cond_wait(pc, pm, clock, abs);
	pid_t me = gettid();
	/* glibc's unlock refuses a mutex of another owner. */
	if ((kind & 3) != PTHREAD_MUTEX_NORMAL &&
	    __atomic_load_n(&pm->__data.__owner, __ATOMIC_RELAXED) != me)
		return EPERM;
	struct cond_job j = { .pc = pc, .pm = pm, .clock = clock, .abs = abs };
	/* A cancellation point: a cancel is the thread's to act on, where
	 * glibc's wait has taken the mutex again (its cleanup does). */
	weft__running->wait_what = "pshared";
	int r = weft__offload_wait_point(cond_wait, &j);
	if (r < 0)
		cond_wait(&j);
	__atomic_store_n(&pm->__data.__owner, me, __ATOMIC_RELAXED);
	if (r == 1)
		weft__cancel_act(weft__running);
	return j.r;
}

/* ---- rwlocks ---- */

static int real_rwlock(pthread_rwlock_t *prw, bool write, clockid_t clock,
		       const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();

	if (abs)
		return write ? libc->pthread_rwlock_clockwrlock(prw, clock, abs)
			     : libc->pthread_rwlock_clockrdlock(prw, clock, abs);
	return write ? libc->pthread_rwlock_wrlock(prw)
		     : libc->pthread_rwlock_rdlock(prw);
}

struct rwlock_job {
	pthread_rwlock_t *prw;
	bool write;
	clockid_t clock;
	const struct timespec *abs;
	int r;
};

static void rwlock_lock(void *p)
{
	struct rwlock_job *j = p;

	j->r = real_rwlock(j->prw, j->write, j->clock, j->abs);
}

/* See pshared.h. */
int weft__glibc_rwlock_lock(pthread_rwlock_t *prw, bool write,
			    clockid_t clock, const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();

	if (__atomic_load_n(&prw->__data.__shared, __ATOMIC_RELAXED) == 0 ||
	    (abs && !time_ok(clock, abs)) || !weft__may_park())
		return real_rwlock(prw, write, clock, abs);
	int r = write ? libc->pthread_rwlock_trywrlock(prw)
		      : libc->pthread_rwlock_tryrdlock(prw);
	if (r != EBUSY)
		return r;
	pid_t me = gettid();
	if (__atomic_load_n(&prw->__data.__cur_writer, __ATOMIC_RELAXED) == me)
		return EDEADLK;
	struct rwlock_job j = { .prw = prw, .write = write, .clock = clock,
				.abs = abs };
	on_own_thread(rwlock_lock, &j);
	/* glibc's unlock knows a writer by its tid. */
	if (j.r == 0 && write)
		__atomic_store_n(&prw->__data.__cur_writer, me,
				 __ATOMIC_RELAXED);
	return j.r;
}

/* ---- semaphores ---- */

/* A semaphore wait that a signal or a cancel (r) ended, counted in gs
 * as a waiter: as glibc's, a cancel acts, the waiter counted out first
 * (its cleanup does, nptl/sem_waitcommon.c).  A signal's handlers run;
 * the kernel restarts glibc's untimed futex wait if every one had
 * SA_RESTART (-ERESTARTSYS), and its timed one never (the restart block
 * ends in EINTR once a handler ran).  Returns 0 to wait on, or EINTR,
 * counted out. */
static int interrupted(struct glibc_sem *gs, struct weft__co *co, int r,
		       bool timed)
{
	if (r == ECANCELED) {
		__atomic_fetch_sub(&gs->data, SEM_WAITER, __ATOMIC_RELAXED);
		weft__cancel_act(co);
		__atomic_fetch_add(&gs->data, SEM_WAITER, __ATOMIC_RELAXED);
		return 0; /* not due after all: wait on */
	}
	int run = weft__sig_run(co);
	if (run < 0 || (run == 1 && !timed))
		return 0;
	__atomic_fetch_sub(&gs->data, SEM_WAITER, __ATOMIC_RELAXED);
	return EINTR;
}

/* See pshared.h.  The slow path of glibc's sem_wait
 * (__new_sem_wait_slow64), with the futex wait made by weft__waitv. */
int weft__glibc_sem_wait(sem_t *s, clockid_t clock,
			 const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();
	struct glibc_sem *gs = (struct glibc_sem *)s;
	/* The value's half of data. */
	const uint32_t *value = (const uint32_t *)&gs->data +
		(__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);

	if ((abs && !time_ok(clock, abs)) || !weft__may_park())
		return abs ? libc->sem_clockwait(s, clock, abs)
			   : libc->sem_wait(s);
	struct weft__co *co = weft__running;
	int saved = errno;
	weft__cancel_point(co); /* glibc's sem_wait tests first */
	if (libc->sem_trywait(s) == 0)
		return 0;
	if (errno != EAGAIN)
		return -1;
	bool shared = __atomic_load_n(&gs->private, __ATOMIC_RELAXED) != 0;
	/* Counted as a waiter, so that sem_post wakes. */
	uint64_t d = __atomic_fetch_add(&gs->data, SEM_WAITER,
					__ATOMIC_RELAXED);
	for (;;) {
		int64_t deadline;
		if ((uint32_t)d != 0) {
			/* A unit: take it, and stop being a waiter. */
			if (__atomic_compare_exchange_n(&gs->data, &d,
							d - 1 - SEM_WAITER,
							true, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED)) {
				errno = saved;
				return 0;
			}
		} else if (next_deadline(clock, abs, &deadline)) {
			co->wait_what = "pshared";
			int r = weft__waitv_point(value, 0, shared, deadline);
			if (r == EINTR || r == ECANCELED) {
				r = interrupted(gs, co, r, abs != NULL);
				if (r != 0) {
					errno = r;
					return -1;
				}
			}
			d = __atomic_load_n(&gs->data, __ATOMIC_RELAXED);
		} else {
			__atomic_fetch_sub(&gs->data, SEM_WAITER,
					   __ATOMIC_RELAXED);
			errno = ETIMEDOUT;
			return -1;
		}
	}
}

/* ---- barriers ---- */

struct barrier_job {
	pthread_barrier_t *pb;
	int r;
};

static void barrier_wait(void *p)
{
	struct barrier_job *j = p;

	j->r = weft__libc()->pthread_barrier_wait(j->pb);
}

/* See pshared.h. */
int weft__glibc_barrier_wait(pthread_barrier_t *pb)
{
	struct glibc_barrier *b = (struct glibc_barrier *)pb;

	if (__atomic_load_n(&b->count, __ATOMIC_RELAXED) <= 1 || !weft__may_park())
		return weft__libc()->pthread_barrier_wait(pb);
	struct barrier_job j = { .pb = pb };
	on_own_thread(barrier_wait, &j);
	return j.r;
}
