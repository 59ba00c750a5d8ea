/* pool.c - the pool of schedulers green threads are spread over; see
 * pool.h.
 *
 * Members are published in order into a fixed array, so a picker reads
 * them without a lock.  Each member's load is an atomic count kept by
 * whoever adds a coroutine to it (the maker, at once, so that a burst of
 * new threads does not all see the same least-loaded member) and by the
 * member itself as its coroutines end.
 *
 * The members' OS threads (handoff.c) are made with the creating OS
 * thread's signal mask, as a pthread_create there would be: they run the
 * program's green threads, so a signal sent to one of those (pthread_kill
 * goes to the OS thread it runs on) must be able to arrive.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "core.h"
#include "handoff.h"
#include "monitor.h"
#include "poke.h"
#include "pool.h"
#include "sched.h"
#include "waitq.h"

static unsigned asked = 1;                /* the size wanted */
static unsigned spawned;                  /* members made or being made */
static struct weft__sched *members[WEFT__POOL_MAX];
static _Atomic unsigned nmembers;         /* published members */
static int lock;                          /* guards spawned, publishing */
static _Atomic long pool_live;            /* coroutines on all members */
static _Atomic bool main_gone;            /* main's root has ended */

/* The CPUs this process may run on, at least 1. */
static unsigned cpus_allowed(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* See pool.h. */
unsigned weft__pool_config(bool preloaded)
{
	unsigned def = preloaded ? cpus_allowed() : 1;

	if (def > WEFT__POOL_MAX)
		def = WEFT__POOL_MAX;
	asked = weft__env_count("WEFT_CPUS", def, 1, WEFT__POOL_MAX);
	return asked;
}

/* Starts member OS threads until `asked` exist or one cannot be made.
 * Called under the lock. */
static void spawn_members(void)
{
	while (spawned < asked && weft__member_spawn() == 0)
		spawned++;
}

/* Publishes s as the next member. */
static void publish(struct weft__sched *s)
{
	unsigned n = atomic_load_explicit(&nmembers, memory_order_relaxed);

	s->pooled = true;
	members[n] = s;
	atomic_store_explicit(&nmembers, n + 1, memory_order_release);
}

/* See sched.h. */
void weft__pool_join(struct weft__sched *s)
{
	weft__spin_lock(&lock);
	publish(s);
	weft__spin_unlock(&lock);
}

/* Starts the members' threads and waits until they serve (a few hundred
 * microseconds, once), so that the first burst of threads is spread.
 * Never more than a second: a member that comes late joins then.  The
 * maker's own scheduler stays out of the pool: it holds the coroutines
 * that share its thread's block (the root, weft_go's), which can never
 * change threads, while members' coroutines may (handoff.h). */
static void start(void)
{
	weft__spin_lock(&lock);
	if (spawned == 0) {
		spawn_members();
		weft__monitor_start();
	}
	unsigned want = spawned;
	weft__spin_unlock(&lock);
	int64_t until = weft__now() + 1000000000;
	while (atomic_load_explicit(&nmembers, memory_order_acquire) < want &&
	       weft__now() < until)
		sched_yield();
}

/* See pool.h. */
unsigned weft__pool_resize(unsigned n)
{
	weft__spin_lock(&lock);
	if (n > asked)
		asked = n;
	if (spawned > 0)
		spawn_members();
	n = asked;
	weft__spin_unlock(&lock);
	return n;
}

/* A random number from this thread's own xorshift generator. */
static unsigned next_random(void)
{
	static __thread uint32_t x;

	if (x == 0)
		x = (uint32_t)(uintptr_t)&x ^ 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

/* A random number below n, from the generator's high bits (its low bits
 * repeat in short patterns). */
static unsigned below(unsigned n)
{
	return (unsigned)(((uint64_t)next_random() * n) >> 32);
}

/* See pool.h. */
struct weft__sched *weft__pool_pick(struct weft__sched *here)
{
	if (asked > 1 &&
	    atomic_load_explicit(&nmembers, memory_order_relaxed) == 0)
		start();
	unsigned n = atomic_load_explicit(&nmembers, memory_order_acquire);
	if (n < 2)
		return n ? members[0] : here;
	unsigned a = below(n), b = below(n - 1);
	if (b >= a)
		b++;
	long la = atomic_load_explicit(&members[a]->load,
				       memory_order_relaxed);
	long lb = atomic_load_explicit(&members[b]->load,
				       memory_order_relaxed);
	return la <= lb ? members[a] : members[b];
}

/* See pool.h. */
void weft__pool_enter(struct weft__sched *s)
{
	atomic_fetch_add_explicit(&s->load, 1, memory_order_relaxed);
	atomic_fetch_add(&pool_live, 1);
}

/* Whether the caller is the one to end the process. */
static bool claim_end(void)
{
	static _Atomic bool ending;

	return !atomic_exchange(&ending, true);
}

/* See pool.h. */
bool weft__pool_leave(struct weft__sched *s)
{
	atomic_fetch_sub_explicit(&s->load, 1, memory_order_relaxed);
	return atomic_fetch_sub(&pool_live, 1) == 1 &&
	       atomic_load(&main_gone) && claim_end();
}

/* See pool.h. */
bool weft__pool_main_ends(void)
{
	atomic_store(&main_gone, true);
	return atomic_load(&nmembers) > 0 && atomic_load(&pool_live) == 0 &&
	       claim_end();
}

/* See pool.h. */
struct weft__sched *weft__pool_member(unsigned i)
{
	return i < atomic_load_explicit(&nmembers, memory_order_acquire) ?
	       members[i] : NULL;
}

/* See pool.h. */
unsigned weft__pool_members(void)
{
	return atomic_load_explicit(&nmembers, memory_order_acquire);
}

/* See pool.h. */
void weft__pool_forget(void)
{
	lock = 0;
	spawned = 0;
	weft__monitor_forget();
	weft__spares_forget();
	atomic_store(&nmembers, 0);
	atomic_store(&pool_live, 0);
	atomic_store(&main_gone, false);
}

/* See weft.h. */
int weft_cpus(unsigned n)
{
	if (n > WEFT__POOL_MAX) {
		errno = EINVAL;
		return -1;
	}
	return (int)weft__pool_resize(n ? n : cpus_allowed());
}

/* See core.h.  A pool member may be given a new coroutine at any time:
 * none of its coroutines is ever alone.  Alone, the caller blocks for
 * real next: it first takes what is due, which a poke that found it in
 * weft's own code left for it (poke.h), as a native thread would have
 * taken the signal before the call. */
bool weft__alone(struct weft__co *co)
{
	struct weft__sched *s = co->sched;

	if (s->pooled || s->live != 1)
		return false;
	weft__take_due(co);
	return true;
}
