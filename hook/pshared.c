/* pshared.c - parking on the sync objects glibc keeps.
 *
 * Process-shared mutexes, condition variables, rwlocks and barriers,
 * robust mutexes and glibc's semaphores are glibc's (green.h); another
 * process may hold them, and glibc wakes their waiters with futex calls
 * weft never sees.  A coroutine that is not alone first tries without
 * waiting, on its own thread; only when it would block does it hand a
 * wait to the offload pool, where the kernel's wake-up reaches a real
 * thread at once, and park.  Each kind differs in what may be done on
 * another thread:
 *
 *  - semaphores and readers of rwlocks have no owner: the pool makes the
 *    real timed call and takes the unit or the read lock for the caller;
 *  - a writer's rwlock records its owner's tid (__cur_writer), which
 *    glibc's unlock compares with the caller's: the pool takes the lock
 *    and the caller's tid is written in after;
 *  - a mutex records its owner (__owner, and the lock word of a robust
 *    one, which sits on its owner's robust list), so the pool never takes
 *    it: it waits on the lock word with FUTEX_WAIT, with the waiters bit
 *    set first so that the unlock wakes it, and the caller takes the lock
 *    with trylock on its own thread.  Once it has waited it leaves the
 *    waiters bit set, as glibc's own lock does, since others may still
 *    wait.  Priority-inheriting and priority-protected mutexes, whose
 *    lock words the kernel manages, still block the thread;
 *  - a condition variable's wait must release and retake the mutex: the
 *    pool waits with the caller's mutex, made its own for the time (the
 *    __owner field), and the caller's again after.  Robust and
 *    priority-aware mutexes, whose owner is more than a field, block;
 *  - a barrier has no try: every wait of a glibc barrier of more than one
 *    goes to the pool.
 *
 * Each pool wait is cut into slices of 100 ms (a condition variable's of
 * a second), so that waits that last leave the pool to other jobs in
 * turn: the pool has WEFT_OFFLOAD_THREADS threads (4 unless set) and
 * serves jobs in order, so four waits that each held a thread until
 * their wake-up would stop every other job, and a program whose
 * signaller must first wait for a child, a file lock, a FIFO or a
 * semaphore (jobs of the same pool) would never signal.  The caller's
 * deadline is kept exactly on its own clock.  A condition wait whose
 * slice ends returns 0, a wake-up POSIX allows (see COND_SLICE).
 * Barrier waits cannot be cut: more than WEFT_OFFLOAD_THREADS of them at
 * once hold up the pool.  Owners are OS thread ids: as before, two green
 * threads of one OS thread look like one owner to glibc.
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"
#include "offload.h"
#include "pshared.h"

/* glibc's flags in a mutex's kind (nptl/pthreadP.h). */
#define KIND_ROBUST  16
#define KIND_PI      32
#define KIND_PP      64
#define KIND_PSHARED 128

#define COND_SHARED 1u /* glibc's __PTHREAD_COND_SHARED_MASK */

#define SLICE      (100 * 1000000LL) /* ns */
/* A condition variable's slice cannot be followed by another wait as the
 * others' are: glibc's waiter that times out leaves the waiters before it
 * takes the mutex back, so a signaller that takes the mutex first, sets
 * the predicate and signals wakes nobody, and a wait made again without
 * the caller looking at its predicate would sleep through that.  The
 * slice's end returns 0 instead, and the caller's loop looks; a second
 * keeps such wake-ups rare. */
#define COND_SLICE (1000 * 1000000LL)

/* glibc's barrier (nptl/pthreadP.h): the count it was made for. */
struct glibc_barrier {
	unsigned in, current_round, count;
	int shared;
	unsigned out;
};

/* Whether a blocking call of the caller should park. */
static bool ours(void)
{
	struct weft__co *co = weft__hooked();

	return co != NULL && !weft__alone(co);
}

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

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000LL,
				  .tv_nsec = ns % 1000000000LL };
}

/* The end of the next slice on clock: now + slice, or abs if that comes
 * first (then *last is set).  abs NULL: no deadline. */
static struct timespec slice_end(clockid_t clock, const struct timespec *abs,
				 int64_t slice, bool *last)
{
	struct timespec now;

	clock_gettime(clock, &now);
	int64_t end = ns_of(&now) + slice;
	*last = abs != NULL && abs->tv_sec >= 0 && ns_of(abs) <= end;
	if (abs != NULL && abs->tv_sec < 0)
		*last = true;
	return *last ? *abs : ts_of(end);
}

/* Runs fn(arg) on the pool, or here if the pool has no thread. */
static void on_pool(void (*fn)(void *), void *arg)
{
	if (weft__offload(fn, arg) < 0)
		fn(arg);
}

/* ---- mutexes ---- */

/* FUTEX_WAIT on a lock word, shared: glibc's robust and process-shared
 * mutexes wake with shared futex calls. */
struct futex_job {
	unsigned *word;
	unsigned val;
	struct timespec rel;
};

static void futex_wait(void *p)
{
	struct futex_job *j = p;

	weft__libc()->syscall(SYS_futex, j->word, FUTEX_WAIT, j->val, &j->rel,
			      NULL, 0);
}

/* Waits on the pool, for at most a slice or until abs on clock, while
 * pm's lock word is v.  Returns false if abs has passed. */
static bool wait_word(pthread_mutex_t *pm, unsigned v, clockid_t clock,
		      const struct timespec *abs)
{
	struct timespec now;
	int64_t rel = SLICE;

	if (abs != NULL) {
		clock_gettime(clock, &now);
		int64_t left = ns_of(abs) - ns_of(&now);
		if (abs->tv_sec < 0 || left <= 0)
			return false;
		if (left < rel)
			rel = left;
	}
	struct futex_job j = { .word = (unsigned *)&pm->__data.__lock,
			       .val = v, .rel = ts_of(rel) };
	on_pool(futex_wait, &j);
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
	    !ours())
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

struct cond_job {
	pthread_cond_t *pc;
	pthread_mutex_t *pm;
	clockid_t clock;
	struct timespec until;
	int r;
};

/* The wait, with the caller's mutex made the pool thread's. */
static void cond_wait(void *p)
{
	struct cond_job *j = p;

	__atomic_store_n(&j->pm->__data.__owner, gettid(), __ATOMIC_RELAXED);
	j->r = weft__libc()->pthread_cond_clockwait(j->pc, j->pm, j->clock,
						    &j->until);
}

static int real_cond_wait(pthread_cond_t *pc, pthread_mutex_t *pm,
			  clockid_t clock, const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();

	return abs ? libc->pthread_cond_clockwait(pc, pm, clock, abs)
		   : libc->pthread_cond_wait(pc, pm);
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
	    (abs && !time_ok(clock, abs)) || !ours())
		return real_cond_wait(pc, pm, clock, abs);
	pid_t me = gettid();
	/* glibc's unlock refuses a mutex of another owner. */
	if ((kind & 3) != PTHREAD_MUTEX_NORMAL &&
	    __atomic_load_n(&pm->__data.__owner, __ATOMIC_RELAXED) != me)
		return EPERM;
	bool last;
	struct cond_job j = { .pc = pc, .pm = pm,
			      .clock = abs ? clock : WEFT__UNTIMED };
	j.until = slice_end(j.clock, abs, COND_SLICE, &last);
	on_pool(cond_wait, &j);
	__atomic_store_n(&pm->__data.__owner, me, __ATOMIC_RELAXED);
	return j.r == ETIMEDOUT && !last ? 0 : j.r;
}

/* ---- rwlocks ---- */

struct rwlock_job {
	pthread_rwlock_t *prw;
	bool write;
	clockid_t clock;
	struct timespec until;
	int r;
};

static void rwlock_lock(void *p)
{
	struct rwlock_job *j = p;
	const struct weft__real *libc = weft__libc();

	j->r = j->write ? libc->pthread_rwlock_clockwrlock(j->prw, j->clock,
							   &j->until)
			: libc->pthread_rwlock_clockrdlock(j->prw, j->clock,
							   &j->until);
}

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

/* See pshared.h. */
int weft__glibc_rwlock_lock(pthread_rwlock_t *prw, bool write,
			    clockid_t clock, const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();

	if (__atomic_load_n(&prw->__data.__shared, __ATOMIC_RELAXED) == 0 ||
	    (abs && !time_ok(clock, abs)) || !ours())
		return real_rwlock(prw, write, clock, abs);
	int r = write ? libc->pthread_rwlock_trywrlock(prw)
		      : libc->pthread_rwlock_tryrdlock(prw);
	if (r != EBUSY)
		return r;
	pid_t me = gettid();
	if (__atomic_load_n(&prw->__data.__cur_writer, __ATOMIC_RELAXED) == me)
		return EDEADLK;
	struct rwlock_job j = { .prw = prw, .write = write,
				.clock = abs ? clock : WEFT__UNTIMED };
	bool last;
	do {
		j.until = slice_end(j.clock, abs, SLICE, &last);
		on_pool(rwlock_lock, &j);
	} while (j.r == ETIMEDOUT && !last);
	/* glibc's unlock knows a writer by its tid. */
	if (j.r == 0 && write)
		__atomic_store_n(&prw->__data.__cur_writer, me,
				 __ATOMIC_RELAXED);
	return j.r;
}

/* ---- semaphores ---- */

struct sem_job {
	sem_t *s;
	clockid_t clock;
	struct timespec until;
	int r, err;
};

static void sem_wait_job(void *p)
{
	struct sem_job *j = p;

	errno = 0;
	j->r = weft__libc()->sem_clockwait(j->s, j->clock, &j->until);
	j->err = errno;
}

/* See pshared.h. */
int weft__glibc_sem_wait(sem_t *s, clockid_t clock,
			 const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();

	if ((abs && !time_ok(clock, abs)) || !ours())
		return abs ? libc->sem_clockwait(s, clock, abs)
			   : libc->sem_wait(s);
	int saved = errno;
	if (libc->sem_trywait(s) == 0)
		return 0;
	if (errno != EAGAIN)
		return -1;
	struct sem_job j = { .s = s, .clock = abs ? clock : WEFT__UNTIMED };
	bool last;
	do {
		j.until = slice_end(j.clock, abs, SLICE, &last);
		on_pool(sem_wait_job, &j);
	} while (j.r < 0 && j.err == ETIMEDOUT && !last);
	errno = j.r < 0 ? j.err : saved;
	return j.r;
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

	if (__atomic_load_n(&b->count, __ATOMIC_RELAXED) <= 1 || !ours())
		return weft__libc()->pthread_barrier_wait(pb);
	struct barrier_job j = { .pb = pb };
	on_pool(barrier_wait, &j);
	return j.r;
}
