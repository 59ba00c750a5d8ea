/* sched.c - one scheduler per OS thread: the run queue, park and wake.
 *
 * A scheduler is made the first time a thread calls into weft.  The flow
 * that was running becomes the root coroutine; the libev loop runs on a
 * small context of its own, the idle context, so it never grows a
 * coroutine's stack.  When a coroutine parks, it switches straight to the
 * next runnable one; only when none is left does it switch to the idle
 * context, which runs the loop once (blocking in epoll) and resumes
 * whatever the loop's callbacks woke.  So that a run of direct switches
 * cannot starve fd and timer wake-ups, the idle context also polls,
 * without blocking, once a budget of direct switches is spent: DIRECT_MAX,
 * or more if the last poll woke more coroutines than that, so that every
 * coroutine it woke runs before the next poll (a level-triggered fd whose
 * coroutine has not yet run would fire again for nobody).
 *
 * Each coroutine runs with its thread pointer: its own thread block (a
 * green thread's, tcb.h) or its OS thread's.  A switch between coroutines
 * whose blocks differ installs the other block, so weft's own TLS below
 * exists once per block: weft__running and weft__this_sched in a block describe
 * the coroutine running on it.  A thread of its own sets its copy once,
 * when it is made; the OS thread's block, which the root, the idle context
 * and shared-TLS coroutines take turns on, is written through os_running
 * at each switch to one of them.
 *
 * Wakes from other threads (a mutex hand-off, an offload job finishing) go
 * through a locked remote queue and an ev_async, and are moved onto the run
 * queue by the owning thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cancel.h"
#include "core.h"
#include "handoff.h"
#include "pool.h"
#include "sigs.h"
#include "balance.h"
#include "sched.h"
#include "tcb.h"
#include "waitq.h"

#define DIRECT_MAX 256
#define IDLE_STACK (64u << 10)

__thread struct weft__co *weft__running
	__attribute__((tls_model("initial-exec")));
__thread bool weft__inside __attribute__((tls_model("initial-exec")));
__thread unsigned weft__spins_held __attribute__((tls_model("initial-exec")));
bool weft__off;

__thread struct weft__sched *weft__this_sched
	__attribute__((tls_model("initial-exec")));

static _Atomic uint64_t next_id = 2; /* 1 is the main thread's root */

/* ---- the run queue ---- */

static void push(struct weft__sched *s, struct weft__co *co)
{
	s->queued++;
	co->state = WEFT__RUNNABLE;
	co->run_next = NULL;
	if (s->run_tail)
		s->run_tail->run_next = co;
	else
		s->run_head = co;
	s->run_tail = co;
}

static struct weft__co *pop(struct weft__sched *s)
{
	struct weft__co *co = s->run_head;

	if (co) {
		s->queued--;
		s->run_head = co->run_next;
		if (s->run_head == NULL)
			s->run_tail = NULL;
	}
	return co;
}

/* See sched.h.  libev writes to an eventfd, which must not go through
 * weft's own write wrapper, nor act on a cancel pending for the green
 * thread whose block is installed: libc's write is a cancellation point. */
void weft__sched_notify(struct weft__sched *s)
{
	struct weft__co *saved = weft__running, *co = weft__current();
	bool held = weft__cancel_hold(co);

	weft__running = NULL;
	ev_async_send(s->loop, &s->remote);
	weft__running = saved;
	weft__cancel_release(co, held);
}

/* Queues co on its own scheduler, which may be another thread's. */
void weft__ready(struct weft__co *co)
{
	struct weft__sched *s = co->sched;

	if (weft__likely(s == weft__this_sched)) {
		int was = weft__gate_try();
		if (weft__likely(was >= 0)) {
			push(s, co);
			weft__gate_out(was);
			return;
		}
	}
	weft__spin_lock(&s->remote_lock);
	co->run_next = NULL;
	if (s->remote_tail)
		s->remote_tail->run_next = co;
	else
		s->remote_head = co;
	s->remote_tail = co;
	weft__spin_unlock(&s->remote_lock);
	weft__sched_notify(s);
}

/* Moves what other threads woke or made for this one onto the run queue,
 * and handles the fds they closed. */
static void on_remote(struct ev_loop *loop, ev_async *w, int revents)
{
	struct weft__sched *s = ev_userdata(loop);
	(void)w, (void)revents;

	weft__spin_lock(&s->remote_lock);
	struct weft__co *co = s->remote_head;
	s->remote_head = s->remote_tail = NULL;
	int gone[64];
	size_t ngone = s->ngone < 64 ? s->ngone : 64;
	for (size_t i = 0; i < ngone; i++)
		gone[i] = s->gone[s->ngone - 1 - i];
	s->ngone -= ngone;
	bool more = s->ngone > 0;
	weft__spin_unlock(&s->remote_lock);
	for (size_t i = 0; i < ngone; i++)
		weft__fd_gone_late(s, gone[i]);
	if (more)
		ev_async_send(loop, &s->remote);
	while (co) {
		struct weft__co *next = co->run_next;
		if (co->arriving) { /* made or moved here by another thread */
			s->created += co->arriving == WEFT__MADE;
			co->arriving = 0;
			weft__live_link(s, co);
		}
		push(s, co);
		co = next;
	}
}

/* ---- switching ---- */

/* Finishes the end of the coroutine that ended last (see weft__reap),
 * off the switch path's way: that is rare. */
static __attribute__((noinline)) void reap_slow(struct weft__sched *s)
{
	if (s->zombie != NULL) {
		struct weft__co *co = s->zombie;
		s->zombie = NULL;
		atomic_store_explicit(&co->left, true, memory_order_relaxed);
		weft__co_free(co);
	}
	if (s->ended != NULL) {
		struct weft__co *co = s->ended;
		s->ended = NULL;
		atomic_store_explicit(&co->left, true, memory_order_release);
	}
}

static inline void reap(struct weft__sched *s)
{
	if (weft__unlikely(((uintptr_t)s->zombie | (uintptr_t)s->ended) != 0))
		reap_slow(s);
}

/* See sched.h.  A detached coroutine is released here; a joinable one
 * is marked as left, and its joiner releases it. */
void weft__reap(struct weft__sched *s)
{
	reap(s);
}

/* Gives co, about to run on s, the identity of s's OS thread: a thread
 * block of its own takes that thread's tid, malloc cache and record (it
 * was made elsewhere, or s changed threads since it last ran). */
static __attribute__((noinline)) void rehome(struct weft__sched *s,
					     struct weft__co *co)
{
	struct weft__m *m = atomic_load_explicit(&s->m, memory_order_relaxed);

	co->m = m;
	if (co->own_tcb) {
		weft__tcb_rehome(co->tcb, s->os_tcb);
		*(struct weft__m **)weft__tcb_var(co->tcb, &weft__m) = m;
	}
}

/* Runs `to`, saving the running coroutine `from` (which has already been
 * queued, parked or ended).  Returns when `from` runs again, maybe on
 * another OS thread. */
static void run(struct weft__sched *s, struct weft__co *from,
		struct weft__co *to)
{
	atomic_store_explicit(&s->current, to, memory_order_relaxed);
	atomic_store_explicit(&s->switches, atomic_load_explicit(&s->switches,
		memory_order_relaxed) + 1, memory_order_relaxed);
	to->state = WEFT__RUNNING;
	if (weft__unlikely(to->m != atomic_load_explicit(&s->m,
							 memory_order_relaxed)))
		rehome(s, to);
	if (!to->own_tcb)
		*s->os_running = to;
	from->saved_errno = *s->errno_p;
	if (weft__cpu_counting())
		weft__cpu_switch(from, to);
	weft__hop(from, to);
	/* from may come back on another scheduler (balance.h). */
	*from->sched->errno_p = from->saved_errno;
}

/* Leaves the running coroutine for the next runnable one, or for the idle
 * context when there is none or it is time to poll.  site is where the
 * caller's weft_yield returns to, or NULL if it is no yield: the hint
 * weft__yield reads on the other side. */
static inline __attribute__((always_inline)) void
switch_out(struct weft__sched *s, struct weft__co *from,
		       const void *site)
{
	/* Every stack is checked here, guard or not: parking below its
	 * bottom means a frame larger than any guard (a big alloca) took it
	 * past, maybe into a neighbour's moat, and that did not fault. */
	if ((char *)__builtin_frame_address(0) < from->limit)
		weft__stack_overflow(from);

	struct weft__co *to;
	weft__balance(s, from);
	s->yield_site = site;
	if (s->budget > 0 && (to = pop(s)) != NULL) {
		s->budget--;
		if (to == from) { /* it yielded with nobody else to run */
			from->state = WEFT__RUNNING;
			return;
		}
		run(s, from, to);
	} else {
		atomic_store_explicit(&s->current, NULL, memory_order_relaxed);
		*s->os_running = NULL;
		from->saved_errno = *s->errno_p;
		if (weft__cpu_counting())
			weft__cpu_switch(from, &s->idle);
		weft__hop(from, &s->idle);
		*from->sched->errno_p = from->saved_errno;
	}
	reap(from->sched);
}

/* The idle context: poll the loop, resume what it woke, for ever. */
static void idle_main(void *arg)
{
	struct weft__sched *s = arg;

	weft__asan_arrive(NULL);
	for (;;) {
		reap(s);
		weft__sig_os_follow();
		bool wait = s->run_head == NULL;
		if (s->pooled) {
			uint64_t n = atomic_load_explicit(&s->switches,
							  memory_order_relaxed);
			if (s->busy_since != 0)
				weft__balance_measure(s, weft__now() -
						      s->busy_since,
						      n - s->switches_then);
			s->switches_then = n;
			if (wait)
				weft__balance_hungry(s);
		}
		ev_run(s->loop, wait ? EVRUN_ONCE : EVRUN_NOWAIT);
		if (s->pooled) {
			s->busy_since = weft__now();
			if (wait)
				weft__balance_fed(s);
		}
		weft__balance(s, NULL);
		s->budget = s->queued > DIRECT_MAX ? s->queued : DIRECT_MAX;
		struct weft__co *to = pop(s);
		if (to) {
			s->yield_site = NULL;
			run(s, &s->idle, to);
		}
	}
}

/* ---- park and wake ---- */

/* Marks co parked; see core.h. */
void weft__prepark(struct weft__co *co)
{
	co->wake_reason = 0;
	if (weft__unlikely(co->cancel_point || co->signal_point))
		weft__cancel_prepark(co);
	else
		atomic_store_explicit(&co->wake, WEFT__ASLEEP,
				      memory_order_relaxed);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	weft__wake(w->data, ETIMEDOUT);
}

/* Parks co until woken or the deadline; see core.h. */
int weft__park(struct weft__co *co, int64_t deadline)
{
	WEFT__GATED();
	struct weft__sched *s = co->sched;

	if (deadline >= 0) {
		/* libev adds `after` to its cached clock; refresh it so the
		 * timer cannot fire before the deadline. */
		ev_now_update(s->loop);
		int64_t left = deadline - weft__now();
		ev_timer_set(&co->timer, left > 0 ? left / 1e9 : 0., 0.);
		ev_timer_start(s->loop, &co->timer);
	}
	if (weft__unlikely(weft__stats_on))
		weft__stats_wait(co->wait_what ? co->wait_what : "other");
	co->state = WEFT__PARKED;
	/* An offload worker's cancellable job that waits for a lock: the
	 * scheduler's own calls are no cancellation points (cancel.h). */
	bool held = weft__cancel_hold(NULL);
	switch_out(s, co, NULL);
	weft__cancel_release(NULL, held);
	/* Stopped already if co was given to another scheduler: then this
	 * only finds it inactive there. */
	if (deadline >= 0)
		ev_timer_stop(co->sched->loop, &co->timer);
	co->wait_what = NULL;
	return co->wake_reason;
}

/* Wakes co once per park; see core.h. */
bool weft__wake(struct weft__co *co, int reason)
{
	int was = WEFT__ASLEEP;

	if (!atomic_compare_exchange_strong(&co->wake, &was, WEFT__WOKEN) &&
	    (!weft__asleep(was) ||
	     !atomic_compare_exchange_strong(&co->wake, &was, WEFT__WOKEN)))
		return false;
	co->wake_reason = reason;
	weft__ready(co);
	return true;
}

/* See sched.h: for ends.c, off the switch path. */
void weft__sched_switch_out(struct weft__sched *s, struct weft__co *from)
{
	switch_out(s, from, NULL);
}

/* See sched.h. */
void weft__sched_push(struct weft__sched *s, struct weft__co *co)
{
	push(s, co);
}

/* ---- making a scheduler ---- */

/* Makes a scheduler for this thread whose root is `root` (an existing
 * coroutine after fork, else NULL for a new one from the thread's flow).
 * Returns it, or NULL with errno ENOMEM. */
static struct weft__sched *sched_make_inside(struct weft__co *root)
{
	struct weft__sched *s = calloc(1, sizeof *s);

	if (root == NULL)
		root = calloc(1, sizeof *root);
	if (s == NULL || root == NULL)
		goto fail;
	/* The loop's fds go to the top of the fd range (loop.c). */
	ev_async_init(&s->remote, on_remote);
	s->loop = weft__loop_make(s);
	s->idle_slot = weft__stack_get(IDLE_STACK);
	if (s->loop == NULL || s->idle_slot == NULL)
		goto fail;
	s->errno_p = &errno;
	atomic_init(&s->tid, (int)syscall(SYS_gettid)); /* not shared yet */
	s->os_tcb = weft__tp();
	s->os_running = &weft__running;
	s->m = weft__m_here();
	if (s->m == NULL)
		goto fail;

	weft__ctx_make(&s->idle.ctx, s->idle_slot->hi, idle_main, s);
	s->idle.sched = s;
	s->idle.tcb = s->os_tcb;
	s->idle.asan_bottom = s->idle_slot->lo;
	s->idle.asan_size = s->idle_slot->size;
	s->idle.tsan_fiber = weft__tsan_new();

	root->sched = s;
	root->tcb = s->os_tcb; /* a forking thread's own block, in a child */
	root->state = WEFT__RUNNING;
	root->wait_fd = -1;
	root->wait_what = NULL;
	root->joiner = NULL;
	if (root->id == 0)
		root->id = syscall(SYS_gettid) == getpid() ?
			1 : atomic_fetch_add(&next_id, 1);
	ev_timer_init(&root->timer, on_timer, 0., 0.);
	root->timer.data = root;
	if (root->slot == NULL) {
		weft__asan_thread_stack(&root->asan_bottom, &root->asan_size);
		root->tsan_fiber = weft__tsan_thread();
	}
	s->root = root;
	weft__sig_attach_main(root);
	atomic_store_explicit(&s->current, root, memory_order_relaxed);
	s->created++;
	weft__live_link(s, root);

	weft__stack_thread_init();
	weft__scheds_add(s);
	weft__this_sched = s;
	weft__running = root;
	weft__sig_os_start();
	return s;
fail:
	if (s && s->loop)
		weft__loop_destroy(s);
	if (s && s->idle_slot)
		weft__stack_put(s->idle_slot, false);
	if (root && root->slot == NULL)
		free(root);
	free(s);
	errno = ENOMEM;
	return NULL;
}

/* Makes this thread's scheduler (see sched_make_inside).  The allocator
 * may itself take pthread mutexes (jemalloc does), whose green wrappers
 * would want the very scheduler being made: while it is made, such calls
 * are weft's own and pass through. */
static struct weft__sched *sched_make(struct weft__co *root)
{
	bool was_inside = weft__inside;

	weft__inside = true;
	struct weft__sched *s = sched_make_inside(root);
	weft__inside = was_inside;
	return s;
}

/* For a fork child; see core.h. */
void weft__sched_forget(void)
{
	struct weft__sched *old = weft__this_sched;

	weft__scheds_forget(); /* other threads' did not come along */
	weft__pool_forget();
	weft__sig_forget();
	weft__stats_reset();
	weft__this_sched = NULL;
	weft__running = NULL;
	weft__m = NULL; /* the child's one thread gets a record of its own */
	/* The other threads' loops' fds, and those their coroutines waited
	 * on, came along: closed. */
	weft__ownfd_forked(old);
	if (old == NULL)
		return;
	struct weft__co *co = weft__current_of(old);
	/* Closes the child's copies of the loop's epoll fd and eventfd; the
	 * parent's epoll instance keeps its registrations (libev never
	 * issues EPOLL_CTL_DEL when tearing down). */
	weft__inside = true;
	weft__loop_destroy(old);
	weft__inside = false;
	if (co == NULL)
		return; /* forked from the idle context: cannot happen */
	/* The forking coroutine, alone now, becomes the root of a fresh
	 * scheduler: as POSIX keeps only the thread that called fork. */
	co->all_next = co->all_prev = NULL;
	co->run_next = NULL;
	if (sched_make(co) == NULL)
		weft__die("fork: cannot start a scheduler in the child");
}

/* This thread's scheduler, made on first use; see core.h. */
struct weft__sched *weft__sched_get(void)
{
	return weft__this_sched ? weft__this_sched : sched_make(NULL);
}

/* The current coroutine; see core.h. */
struct weft__co *weft__self(void)
{
	struct weft__co *co = weft__running;

	if (weft__likely(co != NULL))
		return co;
	struct weft__sched *s = weft__this_sched;
	if (s == NULL) {
		s = sched_make(NULL);
		if (s == NULL)
			weft__die("cannot start a scheduler: out of memory");
		return s->root;
	}
	if (weft__current_of(s) == NULL)
		weft__die("a weft call that may block was made from inside"
			  " the scheduler (an event callback, or a signal"
			  " handler that interrupted it)");
	return weft__current_of(s);
}

/* Sets up a coroutine's scheduling fields and queues it on s: at once if
 * s is the caller's, else through s's remote queue, where s's own thread
 * adds it to its live list. */
void weft__sched_adopt(struct weft__co *co, struct weft__sched *s)
{
	co->sched = s;
	if (co->own_tcb) {
		/* Its block's copy of weft's TLS; what its OS thread lends it
		 * is given as it first runs (rehome). */
		*(struct weft__co **)weft__tcb_var(co->tcb, &weft__running) = co;
		*(struct weft__sched **)weft__tcb_var(co->tcb, &weft__this_sched) = s;
	}
	co->id = atomic_fetch_add(&next_id, 1);
	co->wait_fd = -1;
	ev_timer_init(&co->timer, on_timer, 0., 0.);
	co->timer.data = co;
	if (s->pooled)
		weft__pool_enter(s);
	/* One that shares its OS thread's block is queued where it is made
	 * (a member's is published after its thread set it): the caller
	 * follows s if it changed threads.  One with a block of its own may
	 * go through the remote queue instead. */
	int was = -1;
	if (s == weft__this_sched)
		was = co->own_tcb ? weft__gate_try() : weft__gate_in();
	if (!co->own_tcb)
		co->tcb = s->os_tcb;
	if (was >= 0) {
		s->created++;
		weft__live_link(s, co);
		push(s, co);
		weft__gate_out(was);
	} else {
		co->arriving = WEFT__MADE;
		weft__ready(co);
	}
}

/* See sched.h.  weft__this_sched, weft__running and s->current still say
 * that the flow runs s: weft__sched_attach, which must come next, sets them. */
struct weft__sched *weft__sched_member(struct weft__co *flow)
{
	struct weft__sched *s = sched_make(flow);

	if (s != NULL) {
		weft__live_unlink(s, flow);
		s->live--;
		s->root = NULL;
	}
	return s;
}

/* ---- the public face ---- */

/* weft_yield's body, called by its entry in yield.c with the
 * address weft_yield returns to.  Returns the site the CPU's return stack
 * now predicts for that return: the last switch's, if it came from
 * another weft_yield (its calls and returns since then are balanced, and
 * this side's are the same), else NULL.  The entry returns with `ret`
 * when that is its own site, and with an indirect jump when it is not:
 * the jump is predicted by the path that led to it, where a `ret` would
 * surely miss, as when main and a coroutine yield to each other. */
const void *weft__yield(const void *site)
{
	struct weft__co *co = weft__self();
	WEFT__GATED();

	push(co->sched, co);
	switch_out(co->sched, co, site);
	return co->sched->yield_site;
}
