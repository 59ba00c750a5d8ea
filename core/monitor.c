/* monitor.c - the monitor; see monitor.h.
 *
 * A member is held when, at two looks WEFT_MONITOR_MS apart, it has the
 * same thread and switch count and its thread is outside weft's gate: one
 * coroutine ran program code (or a call weft does not see) all along.  It
 * is then worth taking only if others wait on it (its load counts more
 * than the one running) and all of them may change threads (none shares
 * its thread's block).
 *
 * The monitor looks every WEFT_MONITOR_MS / 2 while some member is busy:
 * it could be taken, and it switched since the last look or its thread
 * is out of the gate.  While none is (an idle process: every member waits
 * in its loop, or has too little to run to be worth taking), it doubles
 * its nap at each look, up to IDLE_NAP, so that an idle process is not
 * woken 200 times a second.  The first look that finds a member busy
 * brings the nap back: a process that stays busy is watched as closely as
 * ever, and one that wakes up is watched again within IDLE_NAP.
 *
 * Taking it (take) is the gate's other side, see handoff.h: ask, make
 * every thread pass a barrier, and take only if the thread is still
 * outside.  A spare is got first, so that a scheduler taken is never left
 * without a thread.
 */
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "handoff.h"
#include "monitor.h"
#include "poke.h"
#include "pool.h"
#include "sched.h"
#include "tcb.h"
#include "waitq.h"

#define RECENT 16
#define IDLE_NAP 100000000     /* ns: the longest nap while idle */

/* What the monitor saw of a member at its last look. */
struct look {
	struct weft__m *m;
	uint64_t switches;
	int64_t since;       /* when it last saw either change */
};

static int64_t threshold;              /* ns */
static struct look looks[WEFT__POOL_MAX];

static int recent_lock;
static struct weft__held recent[RECENT];
static uint64_t handoffs;              /* guarded by recent_lock */

/* The system call thread tid is in, or -1 if it runs (or is unknown). */
static long syscall_of(int tid)
{
	char path[64] = "/proc/self/task/";
	char buf[32];

	weft__cat_u64(path, sizeof path, (uint64_t)tid);
	weft__cat(path, sizeof path, "/syscall");
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
	syscall(SYS_close, fd);
	if (n <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1; /* "running", or "-1" between calls */
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Records the hand-off of s, whose thread m was held by co since `since`. */
static void record(struct weft__sched *s, struct weft__m *m,
		   struct weft__co *co, int64_t since, int64_t now)
{
	struct weft__held h = {
		.at = now, .co = co ? co->id : 0, .tid = m->tid,
		.syscall = syscall_of(m->tid), .ns = now - since,
	};

	weft__spin_lock(&recent_lock);
	recent[handoffs % RECENT] = h;
	handoffs++;
	atomic_fetch_add_explicit(&s->handoffs, 1, memory_order_relaxed);
	weft__spin_unlock(&recent_lock);
}

/* See monitor.h. */
unsigned weft__monitor_recent(struct weft__held *out, unsigned max,
			      uint64_t *total)
{
	unsigned n = 0;

	*total = 0;
	if (!weft__spin_trylock(&recent_lock))
		return 0; /* a signal handler interrupted the reader */
	for (uint64_t i = handoffs; i > 0 && n < max && n < RECENT; i--)
		out[n++] = recent[(i - 1) % RECENT];
	*total = handoffs;
	weft__spin_unlock(&recent_lock);
	return n;
}

/* Takes the scheduler m serves from it if m's thread is outside the
 * gate, and stays so: see handoff.h. */
static bool take(struct weft__m *m)
{
	int open = WEFT__GATE_OPEN, asked = WEFT__GATE_ASKED;

	if (!atomic_compare_exchange_strong(&m->take, &open, WEFT__GATE_ASKED))
		return false;
	syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	if (atomic_load_explicit(&m->in, memory_order_acquire)) {
		atomic_compare_exchange_strong(&m->take, &asked,
					       WEFT__GATE_OPEN);
		return false;
	}
	return atomic_compare_exchange_strong(&m->take, &asked,
					      WEFT__GATE_TAKEN);
}

/* Looks at member s (l: the last look), and hands it off if it is held.
 * Returns whether s is busy (see the top). */
static bool look_at(struct weft__sched *s, struct look *l, int64_t now)
{
	/* Given to a spare that has not attached it yet: s->m still names
	 * the thread it was taken from, which may by now serve another
	 * member, and taking s "from" it would give s to a second spare.
	 * Its time held counts from when the spare has it. */
	if (atomic_load_explicit(&s->moving, memory_order_acquire)) {
		l->since = now;
		return true;
	}
	struct weft__m *m = atomic_load_explicit(&s->m, memory_order_acquire);
	uint64_t sw = atomic_load_explicit(&s->switches, memory_order_relaxed);

	/* A poke that found its thread inside weft (poke.c): again, until
	 * one finds it outside; meanwhile the member counts as busy. */
	bool owed = m != NULL && atomic_exchange(&m->owed, false);
	if (owed)
		weft__poke_os(m->tid);
	bool takable =
		atomic_load_explicit(&s->load, memory_order_relaxed) >= 2 &&
		atomic_load_explicit(&s->pinned, memory_order_relaxed) == 0;

	if (m != l->m || sw != l->switches) {
		*l = (struct look){ .m = m, .switches = sw, .since = now };
		return takable || owed;
	}
	if (!takable || atomic_load_explicit(&m->in, memory_order_relaxed))
		return owed;
	if (now - l->since < threshold)
		return true;
	struct weft__m *spare = weft__spare_get();
	if (spare == NULL)
		return true; /* one is on its way */
	if (!take(m)) {
		weft__spare_put(spare);
		return true;
	}
	/* Taken: the coroutine on m cannot come back into weft before the
	 * spare runs s, so it can be named safely. */
	record(s, m, weft__current_of(s), l->since, now);
	*l = (struct look){ .m = spare, .switches = sw, .since = now };
	atomic_store_explicit(&s->moving, true, memory_order_relaxed);
	weft__spare_give(spare, s);
	return true;
}

static void *monitor_main(void *arg)
{
	sigset_t all;
	int64_t base = threshold / 2, nap = base;
	int64_t most = base > IDLE_NAP ? base : IDLE_NAP;
	(void)arg;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct timespec ts = { nap / 1000000000, nap % 1000000000 };
		syscall(SYS_nanosleep, &ts, NULL);
		int64_t now = weft__now();
		bool busy = false;
		struct weft__sched *s;
		for (unsigned i = 0; (s = weft__pool_member(i)) != NULL; i++)
			busy |= look_at(s, &looks[i], now);
		nap = busy ? base : nap * 2 < most ? nap * 2 : most;
	}
	return NULL;
}

static bool started;

/* See monitor.h. */
void weft__monitor_forget(void)
{
	started = false;
	recent_lock = 0;
	handoffs = 0;
	for (unsigned i = 0; i < WEFT__POOL_MAX; i++)
		looks[i] = (struct look){ 0 };
}

/* See monitor.h. */
void weft__monitor_start(void)
{
	struct weft__co *saved = weft__running;
	bool was = weft__inside;
	pthread_attr_t attr;
	pthread_t tid;

	if (started)
		return;
	started = true;
	unsigned ms = weft__env_count("WEFT_MONITOR_MS", 10, 0, 60000);
	if (ms == 0 || !weft__tcb_init(false) ||
	    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		    0, 0) != 0)
		return;
	threshold = (int64_t)ms * 1000000;
	if (pthread_attr_init(&attr) != 0)
		return;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	weft__running = NULL;
	weft__inside = true;
	if (pthread_create(&tid, &attr, monitor_main, NULL) == 0)
		pthread_setname_np(tid, "weft-monitor");
	weft__inside = was;
	weft__running = saved;
	pthread_attr_destroy(&attr);
	(void)weft__spare_get(); /* none waits yet: one is made */
}
