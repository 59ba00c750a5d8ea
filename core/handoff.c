/* handoff.c - the OS threads that serve pool members, spares, and a
 * coroutine's way back to its scheduler after a hand-off; see handoff.h.
 *
 * A member thread's own flow serves one scheduler at a time: it switches
 * to the scheduler's idle context, and from there the scheduler runs on
 * that thread.  The flow runs again only when the scheduler was taken
 * from the thread and the coroutine left holding it comes back into weft:
 * that coroutine switches to the flow, which queues it on its scheduler
 * (on its new thread, through the remote queue) and waits, as a spare,
 * for a scheduler of its own to serve.  So a thread never runs two
 * schedulers, nor a scheduler two threads.
 *
 * Threads are kept, never ended: a record's address must never name
 * another thread (a thread block carries the record of the thread whose
 * identity it holds, and is given a new one when that differs, sched.c).
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "handoff.h"
#include "pool.h"
#include "sched.h"
#include "sigs.h"
#include "tcb.h"
#include "waitq.h"

__thread struct weft__m *weft__m __attribute__((tls_model("initial-exec")));

static int spare_lock;
static struct weft__m *spares;          /* waiting, guarded by spare_lock */
static _Atomic unsigned spares_making;  /* threads on their way to it */

/* See handoff.h. */
struct weft__m *weft__m_here(void)
{
	if (weft__m == NULL) {
		struct weft__m *m = calloc(1, sizeof *m);
		if (m == NULL)
			return NULL;
		m->tid = (int)syscall(SYS_gettid);
		weft__m = m;
	}
	return weft__m;
}

/* The thread's own flow, as a context to switch from and back to. */
static struct weft__co *flow_make(void)
{
	struct weft__co *flow = calloc(1, sizeof *flow);

	if (flow == NULL)
		return NULL;
	flow->tcb = weft__tp();
	flow->state = WEFT__RUNNING;
	flow->wait_fd = -1;
	weft__asan_thread_stack(&flow->asan_bottom, &flow->asan_size);
	flow->tsan_fiber = weft__tsan_thread();
	return flow;
}

static void futex_wait(_Atomic int *word, int val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* See sched.h.  The idle context takes the thread's block: the one
 * context of s that is no coroutine's, and bound to no thread.  The
 * thread enters the gate before s->m names it, and leaves it only when a
 * coroutine of s does: the monitor, which finds a member's thread
 * through s->m, must not take s from a thread on its way to run s (it
 * would give s to a spare while this thread ran it too). */
void weft__sched_attach(struct weft__sched *s, struct weft__m *m)
{
	atomic_store(&m->in, 1);
	s->errno_p = &errno;
	atomic_store_explicit(&s->tid, m->tid, memory_order_relaxed);
	s->os_tcb = weft__tp();
	s->os_running = &weft__running;
	s->idle.tcb = s->os_tcb;
	atomic_store_explicit(&s->current, NULL, memory_order_relaxed);
	weft__running = NULL;
	weft__this_sched = s;
	atomic_store_explicit(&s->m, m, memory_order_release);
	atomic_store_explicit(&s->moving, false, memory_order_release);
}

/* See sched.h. */
void weft__sched_detach(void)
{
	weft__this_sched = NULL;
	weft__running = NULL;
}

/* Waits, as a spare, until given a scheduler; returns it. */
static struct weft__sched *spare_wait(struct weft__m *m)
{
	struct weft__sched *s;

	atomic_store(&m->wake, 0);
	weft__spin_lock(&spare_lock);
	m->next_spare = spares;
	spares = m;
	weft__spin_unlock(&spare_lock);
	while ((s = atomic_load(&m->given)) == NULL)
		futex_wait(&m->wake, 0);
	atomic_store(&m->given, NULL);
	return s;
}

/* Serves s, attached to this thread, then whatever scheduler the thread
 * is given next, for ever. */
static __attribute__((noreturn)) void serve(struct weft__m *m,
					    struct weft__sched *s)
{
	for (;;) {
		weft__hop(m->flow, &s->idle);
		/* s was taken from this thread, and the coroutine that held
		 * it here is back: it goes to s's new thread. */
		struct weft__co *co = m->rejoining;
		m->rejoining = NULL;
		weft__sched_detach();
		atomic_store(&m->take, WEFT__GATE_OPEN);
		/* The thread stays inside the gate, where that coroutine left
		 * it: s->m names it until the spare attaches s, and the
		 * monitor must not take s from it again.  It comes back
		 * inside weft's code, which holds s (weft__co_exit's end is
		 * recorded on s): it must run on s's new thread, and
		 * nowhere else (balance.h). */
		co->stay = true;
		weft__ready(co);
		s = spare_wait(m);
		weft__sched_attach(s, m);
	}
}

/* A thread of weft's own: a new member of the pool (arg NULL), or a
 * spare (arg non-NULL). */
static void *member_main(void *arg)
{
	/* Its start is weft's own: an allocator that takes pthread mutexes
	 * (jemalloc), or the pthread_once below, must not make a scheduler of
	 * this thread and park there. */
	weft__inside = true;
	struct weft__m *m = weft__m_here();
	if (m == NULL || (m->flow = flow_make()) == NULL)
		weft__die("cannot start a pool thread: out of memory");
	weft__stack_thread_init();
	struct weft__sched *s;
	if (arg != NULL) {
		atomic_fetch_sub(&spares_making, 1);
		s = spare_wait(m);
	} else {
		s = weft__sched_member(m->flow);
		if (s == NULL)
			weft__die("cannot start a pool scheduler: out of memory");
	}
	weft__sched_attach(s, m); /* before others see it */
	if (arg == NULL)
		weft__pool_join(s);
	weft__inside = false; /* its scheduler's loop is not */
	serve(m, s);
}

/* Starts a thread of weft's own running member_main(arg), with the
 * signal mask the program's threads are made with.  Returns 0 or an
 * errno. */
static int spawn(void *arg, const char *name)
{
	static sigset_t mask;
	static _Atomic bool have_mask;
	struct weft__co *saved = weft__running;
	bool was = weft__inside;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	if (weft__sig_routing) { /* its loop sets it (core/sigs.h) */
		sigfillset(&mask);
	} else if (!atomic_load(&have_mask)) { /* the first caller's */
		pthread_sigmask(SIG_SETMASK, NULL, &mask);
		atomic_store(&have_mask, true);
	}
	if ((err = pthread_attr_init(&attr)) != 0)
		return err;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setsigmask_np(&attr, &mask);
	weft__running = NULL;
	weft__inside = true;
	err = pthread_create(&tid, &attr, member_main, arg);
	if (err == 0)
		pthread_setname_np(tid, name);
	weft__inside = was;
	weft__running = saved;
	pthread_attr_destroy(&attr);
	return err;
}

/* See handoff.h. */
int weft__member_spawn(void)
{
	return spawn(NULL, "weft-sched");
}

/* See handoff.h. */
void weft__spares_forget(void)
{
	spare_lock = 0;
	spares = NULL;
	atomic_store(&spares_making, 0);
}

/* See handoff.h. */
struct weft__m *weft__spare_get(void)
{
	weft__spin_lock(&spare_lock);
	struct weft__m *m = spares;
	if (m)
		spares = m->next_spare;
	bool none = spares == NULL;
	weft__spin_unlock(&spare_lock);
	if (none && atomic_load(&spares_making) == 0) {
		static int tag;
		atomic_fetch_add(&spares_making, 1);
		if (spawn(&tag, "weft-spare") != 0)
			atomic_fetch_sub(&spares_making, 1);
	}
	return m;
}

/* See handoff.h. */
void weft__spare_put(struct weft__m *m)
{
	weft__spin_lock(&spare_lock);
	m->next_spare = spares;
	spares = m;
	weft__spin_unlock(&spare_lock);
}

/* See handoff.h. */
void weft__spare_give(struct weft__m *m, struct weft__sched *s)
{
	atomic_store(&m->given, s);
	atomic_store(&m->wake, 1);
	futex_wake(&m->wake);
}

/* See handoff.h. */
int weft__gate_try_slow(int was)
{
	struct weft__m *m = weft__m;
	int asked = WEFT__GATE_ASKED;

	/* Asked, or let go since (the monitor saw this thread inside):
	 * the thread keeps its scheduler either way. */
	if (atomic_compare_exchange_strong(&m->take, &asked, WEFT__GATE_OPEN) ||
	    asked == WEFT__GATE_OPEN)
		return was;
	atomic_store_explicit(&m->in, was, memory_order_relaxed);
	return -1;
}

/* See handoff.h.  The calling coroutine runs on a thread its scheduler
 * was taken from: it switches to the thread's flow (serve), which queues
 * it on the scheduler's new thread, where this returns. */
void weft__gate_slow(void)
{
	struct weft__m *m = weft__m;
	int asked = WEFT__GATE_ASKED;

	/* Only a take moves the caller.  The monitor may have let go
	 * between this thread's look at take and here, having seen it
	 * inside; taking that for a take would move a coroutine in the
	 * middle of weft's own work (an outer gate it holds), between a
	 * park's mark and the park. */
	if (atomic_compare_exchange_strong(&m->take, &asked, WEFT__GATE_OPEN) ||
	    asked == WEFT__GATE_OPEN)
		return;
	struct weft__co *co = weft__running;
	if (co == NULL || !co->own_tcb || m->flow == NULL)
		weft__die("internal error: weft code ran on a thread whose"
			  " scheduler was taken");
	m->rejoining = co;
	if (weft__cpu_counting())
		weft__cpu_switch(co, m->flow);
	weft__hop(co, m->flow);
	co->stay = false;
	/* On the new thread, run from its run queue: the coroutine that
	 * ended there just before may be waiting for this. */
	weft__reap(co->sched);
}
