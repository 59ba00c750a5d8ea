/* sigmask.c - the OS threads' masks (see sigs.h): the scheduler threads',
 * the router's, and the switch that leaves realtime signals to the router
 * alone.
 *
 * A scheduler thread blocks the routable signals no program thread lets
 * through, so that the kernel keeps them pending for sigwait, signalfd
 * and a later unblock.  It lets the others through, for the front to
 * route.  For realtime signals that is not enough: two OS threads may
 * each take one from the kernel at the same instant, and their fronts
 * then queue them in either order, where signal(7) promises the lowest
 * first and each signal's in the order sent.  So the first time the
 * program catches a realtime signal, weft switches: from then on every
 * scheduler thread blocks all realtime signals, and the router lets
 * through those some program thread lets through.  One thread takes them
 * from the kernel, in its order, and its front queues them in that order.
 *
 * The switch must be whole before the first realtime front is installed:
 * a scheduler thread that still let one through would take it beside the
 * router.  Every OS thread that takes a scheduler's mask is listed here;
 * the switch pokes each (poke.h), whose handler blocks realtime signals
 * there and then acknowledges, and waits for all of them.  A thread that
 * sets its mask (os_apply) does so with every signal blocked while it
 * reads what to set, so that a poke cannot land between the read and the
 * set and be undone by it.  Under ThreadSanitizer there is no poke, and
 * no switch: realtime signals keep their order only per OS thread.
 *
 * A scheduler thread whose root runs alone (main, whose wrappers block
 * the thread for real) blocks what the root blocks instead: a signal
 * another thread lets through must not end main's real call.
 *
 * A thread that unblocks a realtime signal that no other lets through
 * (the router blocks it) takes those pending for the process from the
 * kernel itself, in order (weft__sig_take_process): the kernel would
 * deliver them to it before its sigprocmask returned.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "core.h"
#include "poke.h"
#include "sched.h"
#include "sigs.h"

#define OS_MAX 1024              /* scheduler threads listed */
#define SWITCH_PATIENCE 2000     /* ms the switch waits for them at most */

/* An OS thread that takes a scheduler's mask. */
struct os_thread {
	_Atomic int tid;
	_Atomic bool switched;   /* blocks realtime signals for good */
};

static struct os_thread listed[OS_MAX];
static _Atomic unsigned n_listed;
static __thread int my_slot = -1;
static _Atomic bool rt_routed;   /* the switch is made (or under way) */

/* The raw system call: weft__sig_sys once routing is on, else libc's
 * (a fork's child, or a linked program's green thread). */
#define SYS (weft__sig_sys != NULL ? weft__sig_sys : syscall)

/* The kernel's rt_sigprocmask on the calling thread. */
static void set_mask(int how, const uint64_t *set, uint64_t *old)
{
	SYS(SYS_rt_sigprocmask, how, set, old, sizeof *set);
}

/* The routable signals, and of them the realtime ones, as kernel sigsets
 * (bit sig - 1). */
static uint64_t routable_bits(void)
{
	static uint64_t routable;

	if (routable == 0)
		for (int sig = 1; sig <= 64; sig++)
			if (weft__sig_routable(sig))
				routable |= weft__sig_bit(sig);
	return routable;
}

static uint64_t rt_bits(void)
{
	return routable_bits() & ~(weft__sig_bit(SIGRTMIN) - 1);
}

/* The signal state of the calling OS thread's root if its scheduler runs
 * it alone (main, whose wrappers then block the thread for real), or
 * NULL. */
static struct weft__sigs *alone_root(void)
{
	struct weft__sched *s = weft__this_sched;

	if (s == NULL || s->pooled || s->live != 1 || s->root == NULL)
		return NULL;
	return s->root->sigs;
}

/* The scheduler threads' mask (see the top).  A thread whose root runs
 * alone blocks what the root blocks (a superset: the root is counted in
 * the wanted set), so that a signal the root blocks never lands there
 * and ends a call it blocks in for real; others take it. */
static uint64_t os_block(void)
{
	struct weft__sigs *root = alone_root();
	uint64_t block = routable_bits() &
			 (root != NULL ? atomic_load(&root->mask_bits)
				       : ~weft__sig_wanted(NULL));

	return atomic_load(&rt_routed) ? block | rt_bits() : block;
}

/* See sigs.h. */
uint64_t weft__sig_router_block(void)
{
	if (!atomic_load(&rt_routed))
		return ~(uint64_t)0;
	return ~(rt_bits() & weft__sig_wanted(NULL));
}

/* See sigs.h. */
bool weft__sig_rt_routed(int sig)
{
	return atomic_load(&rt_routed) && (rt_bits() & weft__sig_bit(sig));
}

/* Lists the calling OS thread, which runs a scheduler, once. */
static void list_me(void)
{
	if (my_slot >= 0 || weft__this_sched == NULL)
		return;
	unsigned i = atomic_fetch_add(&n_listed, 1);
	if (i >= OS_MAX)
		return; /* unlisted: not waited for */
	atomic_store(&listed[i].tid, (int)SYS(SYS_gettid));
	my_slot = (int)i;
}

/* Gives the calling OS thread the scheduler threads' mask: what to set is
 * read with every signal blocked (see the top). */
static void os_apply(void)
{
	uint64_t all = ~(uint64_t)0, block;

	list_me();
	set_mask(SIG_SETMASK, &all, NULL);
	block = os_block();
	set_mask(SIG_SETMASK, &block, NULL);
	if (my_slot >= 0 && (block & rt_bits()) == rt_bits())
		atomic_store(&listed[my_slot].switched, true);
}

/* Signals 1-64 of the mask in ucontext uc, as a kernel sigset. */
static uint64_t *uc_bits(void *uc)
{
	return (uint64_t *)(void *)&((ucontext_t *)uc)->uc_sigmask;
}

/* See sigs.h. */
void weft__sig_os_uc(void *uc, bool router)
{
	*uc_bits(uc) = router ? weft__sig_router_block() : os_block();
}

/* What this OS thread's mask follows, plus 1: the change of the wanted
 * set, the switch, and whether its root runs alone (its root's own
 * mask changes on this thread, which applies it then). */
static __thread unsigned os_seen;

static void notify(struct weft__sched *s, void *arg)
{
	(void)arg;
	weft__sched_notify(s);
}

/* See sigs.h. */
void weft__sig_os_changed(void)
{
	os_apply();
	weft__sched_each(notify, NULL);
	weft__sig_router_ring();
}

/* See sigs.h. */
void weft__sig_os_start(void)
{
	unsigned gen;

	if (!weft__sig_routing)
		return;
	weft__sig_wanted(&gen);
	gen = gen * 4 + atomic_load(&rt_routed) * 2 + (alone_root() != NULL);
	if (os_seen != gen + 1) {
		os_seen = gen + 1;
		os_apply();
	}
}

/* See sigs.h. */
void weft__sig_os_follow(void)
{
	if (!weft__sig_routing)
		return;
	weft__sig_router_follow();
	weft__sig_os_start();
}

/* See sigs.h. */
void weft__sig_os_poked(void *uc)
{
	uint64_t rt = rt_bits();

	if (my_slot < 0 || !atomic_load(&rt_routed) ||
	    atomic_load(&listed[my_slot].switched))
		return;
	set_mask(SIG_BLOCK, &rt, NULL); /* for the rest of the handler */
	*uc_bits(uc) |= rt;
	atomic_store(&listed[my_slot].switched, true);
}

/* Whether every listed thread has switched, poking those that have not
 * (again: a poke may find its thread with signals blocked, and then
 * comes when it unblocks them). */
static bool all_switched(bool poke)
{
	unsigned n = atomic_load(&n_listed);
	bool all = true;

	for (unsigned i = 0; i < n && i < OS_MAX; i++) {
		int tid = atomic_load(&listed[i].tid);
		if (tid <= 0 || atomic_load(&listed[i].switched))
			continue;
		if (poke && !weft__poke_os(tid)) {
			atomic_store(&listed[i].switched, true); /* gone */
			continue;
		}
		all = false;
	}
	return all;
}

/* See sigs.h. */
void weft__sig_rt_switch(void)
{
	bool no = false;

	if (!weft__poke_works() ||
	    !atomic_compare_exchange_strong(&rt_routed, &no, true))
		return;
	if (weft__this_sched != NULL)
		os_apply();
	weft__sched_each(notify, NULL);
	weft__sig_router_ring();
	for (int ms = 0; !all_switched(ms % 10 == 0) && ms < SWITCH_PATIENCE;
	     ms++) {
		struct timespec one = { 0, 1000000 };
		SYS(SYS_nanosleep, &one, NULL);
	}
}

/* See sigs.h.  A signal posted but not run stays so until the thread
 * runs it; one the kernel kept is the router's once it lets it through. */
void weft__sig_os_forget(void)
{
	int tid = (int)SYS(SYS_gettid);
	bool switched = my_slot >= 0 && atomic_load(&listed[my_slot].switched);

	atomic_store(&n_listed, 0);
	my_slot = -1;
	os_seen = 0;
	if (weft__this_sched != NULL) {
		atomic_store(&n_listed, 1);
		atomic_store(&listed[0].tid, tid);
		atomic_store(&listed[0].switched, switched);
		my_slot = 0;
	}
}

/* See sigs.h. */
void weft__sig_default(int sig)
{
	uint64_t old, now;

	/* Pokes wait meanwhile (see the top): only sig comes through. */
	set_mask(SIG_BLOCK, NULL, &old);
	now = (old & ~weft__sig_bit(sig)) | weft__sig_bit(__SIGRTMIN);
	set_mask(SIG_SETMASK, &now, NULL);
	SYS(SYS_tgkill, getpid(), SYS(SYS_gettid), sig);
	set_mask(SIG_SETMASK, &old, NULL);
}

/* See sigs.h.  The kernel hands them over lowest first, each signal's in
 * the order sent, and the thread's queue (sigq.c) keeps that order. */
void weft__sig_take_process(struct weft__sigs *s, uint64_t opened)
{
	uint64_t want = opened & rt_bits() & ~weft__sig_wanted(NULL);
	struct timespec now = { 0, 0 };
	siginfo_t si;
	long sig;

	if (want == 0 || !atomic_load(&rt_routed))
		return;
	while ((sig = SYS(SYS_rt_sigtimedwait, &want, &si, &now,
				    sizeof want)) > 0) {
		struct sigaction sa;
		if (weft__sig_action_get((int)sig, &sa) != 0 ||
		    sa.sa_handler == SIG_IGN)
			continue;
		if (sa.sa_handler == SIG_DFL) {
			weft__sig_default((int)sig);
			continue;
		}
		weft__sig_reset_hand((int)sig, &sa);
		weft__sig_give(s, (int)sig, &si, &sa);
	}
}
