/* pthread.c - green threads: pthread_create makes a coroutine.
 *
 * A green thread's pthread_t is its coroutine's address; a root
 * coroutine's is its real thread's.  Calls that are given a pthread_t tell
 * the two apart with a registry of the green threads pthread_create made
 * (a hash set keyed by coroutine, holding each thread's bookkeeping: its
 * function, signal mask, cancel request), so a real thread's id is never
 * dereferenced as a coroutine.  A record leaves the registry before its
 * coroutine's memory can be reused: when a detached thread ends, or when
 * a joinable one is joined or detached after its end.
 *
 * Signals: all green threads of an OS thread share it, so a signal sent
 * to one (pthread_kill) goes to that OS thread, and a green thread's
 * pthread_sigmask is kept as bookkeeping only: a background thread that
 * blocks signals (redis's bio threads block SIGTERM and SIGALRM) must not
 * block them for every thread of the OS thread.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "green.h"
#include "waitq.h"

bool weft__green;

/* See green.h. */
void weft__green_set(bool on)
{
	weft__green = on;
}

/* A green thread's bookkeeping. */
struct weft__green {
	struct weft__co *co;
	void *(*fn)(void *);
	void *arg;
	pthread_t thread;      /* the OS thread it runs on, for pthread_kill */
	sigset_t mask;         /* its signal mask, as the program set it */
	_Atomic bool cancel;   /* pthread_cancel asked for its end */
	bool ended;            /* its function returned, or it exited */
	int *wait_lock;        /* at a cancellation point: the wait queue's */
	void **wait_head;      /* lock and head, or NULL and JOINING */
};

/* Marks a green thread waiting in pthread_join, a wait without a queue. */
static void *joining_mark;
#define JOINING (&joining_mark)

/* ---- the registry: an open-addressing hash set, under a spin lock ---- */

#define TOMB ((struct weft__green *)1) /* a removed entry */

static int reg_lock; /* a spin lock: see waitq.h */
static struct weft__green **reg;
static size_t reg_cap;      /* a power of two, or 0 */
static size_t reg_used;     /* entries and tombstones */
static size_t reg_live;     /* entries */
static size_t reg_reserved; /* inserts promised by reg_reserve */

static size_t reg_hash(const void *co, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)co * 0x9e3779b97f4a7c15u;

	return (size_t)(h >> 29) & (cap - 1);
}

/* The record of coroutine co, or NULL.  Called with reg_lock held. */
static struct weft__green *reg_find(const void *co)
{
	if (reg == NULL)
		return NULL;
	for (size_t i = reg_hash(co, reg_cap);; i = (i + 1) & (reg_cap - 1)) {
		struct weft__green *g = reg[i];
		if (g == NULL)
			return NULL;
		if (g != TOMB && g->co == co)
			return g;
	}
}

static void reg_place(struct weft__green **table, size_t cap,
		      struct weft__green *g)
{
	size_t i = reg_hash(g->co, cap);

	while (table[i] != NULL)
		i = (i + 1) & (cap - 1);
	table[i] = g;
}

/* Makes sure one more record fits, so that the insert made once the
 * coroutine exists (and can no longer be taken back) cannot fail.
 * Returns false when there is no memory. */
static bool reg_reserve(void)
{
	bool ok = true;

	weft__spin_lock(&reg_lock);
	if ((reg_used + reg_reserved + 1) * 2 > reg_cap) {
		size_t cap = 16;
		while (cap < (reg_live + reg_reserved + 1) * 4)
			cap *= 2;
		struct weft__green **table = calloc(cap, sizeof *table);
		if (table == NULL) {
			ok = false;
		} else {
			for (size_t i = 0; i < reg_cap; i++)
				if (reg[i] != NULL && reg[i] != TOMB)
					reg_place(table, cap, reg[i]);
			free(reg);
			reg = table;
			reg_cap = cap;
			reg_used = reg_live;
		}
	}
	if (ok)
		reg_reserved++;
	weft__spin_unlock(&reg_lock);
	return ok;
}

/* Inserts g (with a reservation) or gives the reservation back (g NULL). */
static void reg_insert(struct weft__green *g)
{
	weft__spin_lock(&reg_lock);
	reg_reserved--;
	if (g != NULL) {
		reg_place(reg, reg_cap, g);
		reg_used++;
		reg_live++;
	}
	weft__spin_unlock(&reg_lock);
}

/* Removes g.  Called with reg_lock held. */
static void reg_remove(struct weft__green *g)
{
	size_t i = reg_hash(g->co, reg_cap);

	while (reg[i] != g)
		i = (i + 1) & (reg_cap - 1);
	reg[i] = TOMB;
	reg_live--;
}

/* The green thread whose pthread_t is th, or NULL if th is not one (a
 * real thread's, or one that has been joined). */
static struct weft__green *lookup(pthread_t th)
{
	weft__spin_lock(&reg_lock);
	struct weft__green *g = reg_find((const void *)th);
	weft__spin_unlock(&reg_lock);
	return g;
}

/* ---- beginning and end ---- */

/* Ends g's bookkeeping as its thread ends: runs its key destructors now,
 * while calls they make still find the record, then drops the record if
 * nobody will join the thread. */
static void finish(struct weft__green *g)
{
	struct weft__co *co = g->co;

	weft__kv_destroy(co);
	weft__spin_lock(&reg_lock);
	g->ended = true;
	bool gone = co->detached;
	if (gone)
		reg_remove(g);
	weft__spin_unlock(&reg_lock);
	if (gone)
		free(g);
}

/* Ends the calling green thread g with result. */
static void __attribute__((noreturn)) end(struct weft__green *g,
					  void *result)
{
	finish(g);
	weft_exit(result);
}

/* A green thread's start: its function, then its bookkeeping's end. */
static void *start(void *p)
{
	struct weft__green *g = p;
	void *result = g->fn(g->arg);

	finish(g);
	return result;
}

/* The stack size an attr asks for, or 0 if it was never set: glibc
 * reports its default (from RLIMIT_STACK, 8 MiB) for an attr whose size
 * was not set, which would be a waste for a coroutine. */
static size_t attr_stack_size(const pthread_attr_t *attr)
{
	static size_t dflt;
	size_t size = 0;

	if (dflt == 0) {
		pthread_attr_t fresh;
		if (pthread_attr_init(&fresh) == 0) {
			pthread_attr_getstacksize(&fresh, &dflt);
			pthread_attr_destroy(&fresh);
		}
	}
	if (pthread_attr_getstacksize(attr, &size) != 0 || size == dflt)
		return 0;
	return size;
}

/* The signal mask a thread created by self starts with: self's. */
static void creator_mask(struct weft__co *self, sigset_t *mask)
{
	struct weft__green *g = self->slot ? lookup((pthread_t)self) : NULL;

	if (g != NULL)
		*mask = g->mask;
	else
		weft__libc()->pthread_sigmask(SIG_BLOCK, NULL, mask);
}

/* pthread_create: a coroutine on the caller's OS thread, joinable or
 * detached as attr says, with attr's stack size if the program set one.
 * Returns 0, or EAGAIN (no memory for its stack or bookkeeping, or a
 * stack size weft cannot give: glibc's answer when its mmap fails). */
int weft__pthread_create(pthread_t *tid, const pthread_attr_t *attr,
			 void *(*fn)(void *), void *arg)
{
	struct weft__co *self = weft__green_co();

	if (self == NULL)
		return weft__libc()->pthread_create(tid, attr, fn, arg);
	struct weft__green *g = calloc(1, sizeof *g);
	if (g == NULL || !reg_reserve()) {
		free(g);
		return EAGAIN;
	}
	int state = PTHREAD_CREATE_JOINABLE, saved = errno;
	size_t stack = 0;
	g->fn = fn;
	g->arg = arg;
	g->thread = weft__libc()->pthread_self();
	creator_mask(self, &g->mask);
	if (attr != NULL) {
		stack = attr_stack_size(attr);
		pthread_attr_getdetachstate(attr, &state);
		pthread_attr_getsigmask_np(attr, &g->mask); /* if it has one */
	}
	struct weft__co *co = weft__co_new(start, g, stack,
					   state == PTHREAD_CREATE_DETACHED);
	errno = saved;
	if (co == NULL) {
		reg_insert(NULL);
		free(g);
		return EAGAIN;
	}
	g->co = co;
	reg_insert(g);
	*tid = (pthread_t)co;
	return 0;
}

/* pthread_exit: ends the calling green thread (its key destructors run;
 * cleanup handlers do not); in a root, waits for the thread's other
 * coroutines to end and then ends the thread for real, which for main
 * means the process exits with 0 once the last one has. */
void weft__pthread_exit(void *result)
{
	struct weft__co *co = weft__green_co();

	if (co == NULL) {
		weft__libc()->pthread_exit(result);
		__builtin_unreachable();
	}
	struct weft__green *g = co->slot ? lookup((pthread_t)co) : NULL;
	if (g != NULL)
		end(g, result);
	weft_exit(result);
}

/* ---- join and detach ---- */

/* Parks self until co ends, or the deadline; a cancellation point.
 * Returns 0, or ETIMEDOUT. */
static int wait_end(struct weft__co *self, struct weft__co *co,
		    int64_t deadline)
{
	struct weft__green *me = weft__green_enter(self, NULL, JOINING);

	co->joining = true;
	co->joiner = self;
	self->wait_what = "join";
	weft__prepark(self);
	int r = weft__park(self, deadline);
	co->joining = false;
	co->joiner = NULL;
	weft__green_leave(me, r);
	return r;
}

/* Joins green thread g: waits for its end (until abs on CLOCK_REALTIME
 * if not NULL; not at all if try), stores its result, releases it.
 * Returns 0 or an error number, in glibc's order of checks. */
static int join(struct weft__green *g, void **result,
		const struct timespec *abs, bool try)
{
	struct weft__co *self = weft__self(), *co = g->co;

	if (try && co->state != WEFT__DONE)
		return EBUSY;
	if (co == self || self->joiner == co)
		return EDEADLK;
	if (co->detached || co->joining)
		return EINVAL;
	if (co->state != WEFT__DONE) {
		int64_t deadline = -1;
		/* glibc: a time before 1970 has passed, whatever tv_nsec. */
		int r = abs && abs->tv_sec < 0 ? ETIMEDOUT :
			abs ? weft__green_deadline(CLOCK_REALTIME, abs,
						   &deadline) : 0;
		if (r == 0)
			r = wait_end(self, co, deadline);
		if (r != 0)
			return r;
	}
	weft__spin_lock(&reg_lock);
	reg_remove(g);
	weft__spin_unlock(&reg_lock);
	free(g);
	int saved = errno;
	weft_join(co, result);
	errno = saved;
	return 0;
}

/* The green thread th, if green threads are on and th is one. */
static struct weft__green *green_thread(pthread_t th)
{
	return weft__green_on() ? lookup(th) : NULL;
}

/* pthread_join: a green thread's is weft_join's; a real thread's, libc's. */
int weft__pthread_join(pthread_t th, void **result)
{
	struct weft__green *g = green_thread(th);

	if (g == NULL)
		return weft__libc()->pthread_join(th, result);
	return join(g, result, NULL, false);
}

/* pthread_tryjoin_np: EBUSY while the thread runs. */
int weft__pthread_tryjoin_np(pthread_t th, void **result)
{
	struct weft__green *g = green_thread(th);

	if (g == NULL)
		return weft__libc()->pthread_tryjoin_np(th, result);
	return join(g, result, NULL, true);
}

/* pthread_timedjoin_np: ETIMEDOUT once abs (CLOCK_REALTIME) passes,
 * EINVAL for a bad abs; abs NULL waits for ever, as in glibc. */
int weft__pthread_timedjoin_np(pthread_t th, void **result,
			       const struct timespec *abs)
{
	struct weft__green *g = green_thread(th);

	if (g == NULL)
		return weft__libc()->pthread_timedjoin_np(th, result, abs);
	return join(g, result, abs, false);
}

/* pthread_detach: the thread releases itself when it ends (at once if it
 * has).  Returns 0, or EINVAL if it is detached or being joined. */
int weft__pthread_detach(pthread_t th)
{
	if (!weft__green_on())
		return weft__libc()->pthread_detach(th);
	weft__spin_lock(&reg_lock);
	struct weft__green *g = reg_find((const void *)th);
	if (g == NULL) {
		weft__spin_unlock(&reg_lock);
		return weft__libc()->pthread_detach(th);
	}
	struct weft__co *co = g->co;
	int r = 0, saved = errno;
	bool gone = false;
	if (co->detached || co->joining) {
		r = EINVAL;
	} else {
		gone = co->state == WEFT__DONE;
		if (gone)
			reg_remove(g);
		weft_detach(co); /* frees co now if it has ended */
	}
	weft__spin_unlock(&reg_lock);
	errno = saved;
	if (gone)
		free(g);
	return r;
}

/* ---- identity ---- */

/* pthread_self: a coroutine's address, or the real id in a root (and
 * wherever weft is not acting). */
pthread_t weft__pthread_self(void)
{
	struct weft__co *co = weft__running;

	if (!weft__green_on() || co == NULL || co->slot == NULL)
		return weft__libc()->pthread_self();
	return (pthread_t)co;
}

/* The coroutine th names, if green threads are on and th is a green
 * thread or the calling coroutine itself (a weft_go coroutine asking
 * about itself); *g gets the green thread's record or NULL. */
static struct weft__co *coroutine(pthread_t th, struct weft__green **g)
{
	struct weft__co *co = weft__running;

	*g = green_thread(th);
	if (*g != NULL)
		return (*g)->co;
	if (weft__green_on() && co != NULL && co->slot != NULL &&
	    th == (pthread_t)co)
		return co;
	return NULL;
}

/* The real id of the OS thread co runs on. */
static pthread_t os_thread(struct weft__green *g)
{
	return g ? g->thread : weft__libc()->pthread_self();
}

/* pthread_getattr_np: for a coroutine, its stack (the whole slot, as
 * glibc reports a thread's whole stack block) and detach state. */
int weft__pthread_getattr_np(pthread_t th, pthread_attr_t *attr)
{
	struct weft__green *g;
	struct weft__co *co = coroutine(th, &g);

	if (co == NULL)
		return weft__libc()->pthread_getattr_np(th, attr);
	int r = pthread_attr_init(attr);
	if (r == 0)
		r = pthread_attr_setstack(attr, co->slot->lo, co->slot->size);
	if (r == 0)
		r = pthread_attr_setdetachstate(attr, co->detached ?
						PTHREAD_CREATE_DETACHED :
						PTHREAD_CREATE_JOINABLE);
	return r;
}

/* pthread_setname_np: a coroutine's name (at most 15 bytes: ERANGE for
 * longer, as glibc). */
int weft__pthread_setname_np(pthread_t th, const char *name)
{
	struct weft__green *g;
	struct weft__co *co = coroutine(th, &g);

	if (co == NULL)
		return weft__libc()->pthread_setname_np(th, name);
	if (strlen(name) >= sizeof co->name)
		return ERANGE;
	strcpy(co->name, name);
	return 0;
}

/* pthread_getname_np: a coroutine's name; one never named has its OS
 * thread's, as a new thread inherits its creator's.  ERANGE if buf holds
 * less than 16 bytes, as glibc. */
int weft__pthread_getname_np(pthread_t th, char *buf, size_t len)
{
	struct weft__green *g;
	struct weft__co *co = coroutine(th, &g);

	if (co == NULL || (co->name[0] == '\0' && len >= sizeof co->name))
		return weft__libc()->pthread_getname_np(co ? os_thread(g) : th,
							buf, len);
	if (len < sizeof co->name)
		return ERANGE;
	strcpy(buf, co->name);
	return 0;
}

/* ---- signals ---- */

/* pthread_kill: signal 0 probes (ESRCH once the thread has ended); other
 * signals go to the OS thread the coroutine runs on, whose handler runs
 * in whichever coroutine is running there.  EINVAL for signals glibc
 * refuses (invalid, or its own SIGCANCEL and SIGSETXID). */
int weft__pthread_kill(pthread_t th, int sig)
{
	struct weft__green *g;
	struct weft__co *co = coroutine(th, &g);

	if (co == NULL)
		return weft__libc()->pthread_kill(th, sig);
	if (sig < 0 || sig >= NSIG || sig == __SIGRTMIN ||
	    sig == __SIGRTMIN + 1)
		return EINVAL;
	if (co->state == WEFT__DONE)
		return ESRCH;
	if (sig == 0)
		return 0;
	return weft__libc()->pthread_kill(os_thread(g), sig);
}

/* The mask set would make from cur with how; as the kernel and glibc do,
 * SIGKILL, SIGSTOP and glibc's internal signals cannot be blocked. */
static void apply_mask(int how, const sigset_t *set, const sigset_t *cur,
		       sigset_t *next)
{
	*next = *cur;
	if (how == SIG_SETMASK)
		*next = *set;
	else if (how == SIG_BLOCK)
		sigorset(next, cur, set);
	else
		for (int sig = 1; sig < NSIG; sig++)
			if (sigismember(set, sig) == 1)
				sigdelset(next, sig);
	sigdelset(next, SIGKILL);
	sigdelset(next, SIGSTOP);
	sigdelset(next, __SIGRTMIN);
	sigdelset(next, __SIGRTMIN + 1);
}

/* pthread_sigmask: in a green thread, the thread's own mask, kept as
 * bookkeeping (the OS thread's mask is shared by all its coroutines and
 * stays as the root set it); in a root, the real call.  Returns 0 or
 * EINVAL (bad how). */
int weft__pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	struct weft__co *co = weft__running;
	struct weft__green *g = NULL;

	if (weft__green_on() && co != NULL && co->slot != NULL)
		g = lookup((pthread_t)co);
	if (g == NULL)
		return weft__libc()->pthread_sigmask(how, set, old);
	if (set != NULL && how != SIG_BLOCK && how != SIG_UNBLOCK &&
	    how != SIG_SETMASK)
		return EINVAL;
	sigset_t cur = g->mask;
	if (set != NULL)
		apply_mask(how, set, &cur, &g->mask);
	if (old != NULL)
		*old = cur;
	return 0;
}

/* ---- cancellation ---- */

/* Wakes g's thread to act on its cancel if it is parked at a
 * cancellation point on the caller's OS thread; a thread of another OS
 * thread acts when it next reaches one. */
static void poke(struct weft__green *g)
{
	struct weft__co *co = g->co, *me = weft__running;

	if (me == NULL || me == co || me->sched != co->sched)
		return;
	if (g->wait_head == JOINING) {
		if (co->state == WEFT__PARKED)
			weft__wake(co, ECANCELED);
		return;
	}
	int *lock = g->wait_lock;
	if (lock == NULL)
		return;
	/* Only while it is still in the queue: past it (woken, taking its
	 * mutex back) the wait is no longer the cancellation point. */
	weft__spin_lock(lock);
	for (struct weft__waiter *w = *g->wait_head; w != NULL; w = w->next) {
		if (w->co == co) {
			weft__wake(co, ECANCELED);
			break;
		}
	}
	weft__spin_unlock(lock);
}

/* pthread_cancel: deferred cancellation of a green thread (see green.h).
 * Returns 0, also for a thread that has ended, as glibc. */
int weft__pthread_cancel(pthread_t th)
{
	struct weft__green *g = green_thread(th);

	if (g == NULL)
		return weft__libc()->pthread_cancel(th);
	if (!g->ended && !atomic_exchange(&g->cancel, true))
		poke(g);
	return 0;
}

/* See green.h. */
struct weft__green *weft__green_enter(struct weft__co *co, int *lock,
				      void **head)
{
	struct weft__green *g = co->slot ? lookup((pthread_t)co) : NULL;

	if (g == NULL)
		return NULL;
	if (atomic_load(&g->cancel))
		end(g, PTHREAD_CANCELED);
	g->wait_lock = lock;
	g->wait_head = head;
	return g;
}

/* See green.h. */
void weft__green_leave(struct weft__green *g, int r)
{
	if (g == NULL)
		return;
	g->wait_lock = NULL;
	g->wait_head = NULL;
	if (r == ECANCELED)
		end(g, PTHREAD_CANCELED);
}

/* See green.h. */
void weft__green_testcancel(void)
{
	struct weft__co *co = weft__running;

	if (!weft__green_on() || co == NULL || co->slot == NULL)
		return;
	struct weft__green *g = lookup((pthread_t)co);
	if (g != NULL && atomic_load(&g->cancel))
		end(g, PTHREAD_CANCELED);
}

/* ---- time-outs ---- */

/* See green.h. */
bool weft__green_clock_ok(clockid_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

/* See green.h. */
int weft__green_deadline(clockid_t clock, const struct timespec *abs,
			 int64_t *deadline)
{
	const int64_t sec = 1000000000;

	if (!weft__green_clock_ok(clock) || abs->tv_nsec < 0 ||
	    abs->tv_nsec >= sec)
		return EINVAL;
	if (abs->tv_sec < 0) {
		*deadline = 0;
		return 0;
	}
	if (abs->tv_sec >= INT64_MAX / sec - 1) {
		*deadline = -1;
		return 0;
	}
	int64_t when = abs->tv_sec * sec + abs->tv_nsec;
	if (clock != CLOCK_MONOTONIC) {
		struct timespec now;
		clock_gettime(clock, &now);
		int64_t left = when - (now.tv_sec * sec + now.tv_nsec);
		int64_t mono = weft__now();
		when = left <= 0 ? 0 :
		       left > INT64_MAX - mono ? -1 : mono + left;
	}
	*deadline = when;
	return 0;
}

/* ---- yielding ---- */

/* sched_yield: lets the other coroutines of the thread run, then makes
 * the real call too, so that other OS threads get the CPU as well: a
 * spinning caller (weft's own spin locks call sched_yield) may be waiting
 * for a thread the kernel has preempted.  Alone, only the real call.
 * A coroutine that is half parked (queued on a waker's list) or ending
 * must not be queued to run, so it gets only the real call too. */
int weft__sched_yield(void)
{
	const struct weft__real *libc = weft__libc();
	struct weft__co *co = weft__running;

	if (weft__green_on() && co != NULL && co->state == WEFT__RUNNING &&
	    atomic_load_explicit(&co->wake, memory_order_relaxed) !=
		    WEFT__ASLEEP && !weft__alone(co))
		weft_yield();
	return libc->sched_yield();
}

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_create(pthread_t *tid, const pthread_attr_t *attr,
			       void *(*fn)(void *), void *arg)
{
	return weft__pthread_create(tid, attr, fn, arg);
}

WEFT_EXPORT int pthread_join(pthread_t th, void **result)
{
	return weft__pthread_join(th, result);
}

WEFT_EXPORT int pthread_tryjoin_np(pthread_t th, void **result)
{
	return weft__pthread_tryjoin_np(th, result);
}

WEFT_EXPORT int pthread_timedjoin_np(pthread_t th, void **result,
				     const struct timespec *abs)
{
	return weft__pthread_timedjoin_np(th, result, abs);
}

WEFT_EXPORT int pthread_detach(pthread_t th)
{
	return weft__pthread_detach(th);
}

WEFT_EXPORT void pthread_exit(void *result)
{
	weft__pthread_exit(result);
	__builtin_unreachable();
}

WEFT_EXPORT pthread_t pthread_self(void)
{
	return weft__pthread_self();
}

/* Handles are compared as they are, green or real. */
WEFT_EXPORT int pthread_equal(pthread_t a, pthread_t b)
{
	return a == b;
}

WEFT_EXPORT int pthread_getattr_np(pthread_t th, pthread_attr_t *attr)
{
	return weft__pthread_getattr_np(th, attr);
}

WEFT_EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
	return weft__pthread_setname_np(th, name);
}

WEFT_EXPORT int pthread_getname_np(pthread_t th, char *buf, size_t len)
{
	return weft__pthread_getname_np(th, buf, len);
}

WEFT_EXPORT int pthread_kill(pthread_t th, int sig)
{
	return weft__pthread_kill(th, sig);
}

WEFT_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return weft__pthread_sigmask(how, set, old);
}

WEFT_EXPORT int pthread_cancel(pthread_t th)
{
	return weft__pthread_cancel(th);
}

WEFT_EXPORT int sched_yield(void)
{
	return weft__sched_yield();
}
