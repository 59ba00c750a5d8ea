/* pthread_signal.c - green threads' signal masks, pthread_kill, and the
 * delivery of signals sent to one green thread.
 *
 * A green thread's mask is its own (the OS thread's stays as the root set
 * it: a background thread that blocks signals, as redis's bio threads
 * block SIGTERM, must not block them for every thread of the OS thread).
 * A signal pthread_kill sends to another green thread with a handler is
 * not sent to an OS thread: it is marked pending on the green thread,
 * which, unless it blocks it, runs the handler itself, as itself: at
 * once if it is parked at a cancellation point (the park ends with EINTR,
 * core/cancel.h), which then returns EINTR or restarts as signal(7) says,
 * else at its next cancellation point or unblocking.  A signal without a
 * handler (default or ignored) still goes to the OS thread, whose
 * disposition is the process's.
 */
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include "green.h"

static uint64_t bit_of(int sig)
{
	return (uint64_t)1 << (sig - 1);
}

/* The signals 1-64 of set, bit sig - 1. */
static uint64_t bits_of(const sigset_t *set)
{
	uint64_t bits = 0;

	for (int sig = 1; sig <= 64 && sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			bits |= bit_of(sig);
	return bits;
}

/* See green.h. */
void weft__green_mask_set(struct weft__green *g)
{
	atomic_store(&g->mask_bits, bits_of(&g->mask));
}

/* The calling coroutine's green record, or NULL. */
static struct weft__green *running_green(void)
{
	struct weft__co *co = weft__running;

	if (!weft__green_on() || co == NULL || co->slot == NULL)
		return NULL;
	return weft__green_find(weft__green_id(co));
}

/* Whether sig's disposition is a handler of the program's. */
static bool handled(int sig, struct sigaction *sa)
{
	return sigaction(sig, NULL, sa) == 0 && sa->sa_handler != SIG_DFL &&
	       sa->sa_handler != SIG_IGN;
}

/* Sends sig to green thread g: pending there, and ready (the park it
 * may be in ended) unless it blocks it. */
static void post(struct weft__green *g, int sig)
{
	atomic_fetch_or(&g->pending, bit_of(sig));
	if (!(atomic_load(&g->mask_bits) & bit_of(sig)))
		weft__interrupt(g->co, sig);
}

/* Recomputes what is ready for g's coroutine from its pending signals
 * and mask; returns it. */
static uint64_t ready_of(struct weft__green *g)
{
	uint64_t ready = atomic_load(&g->pending) &
			 ~atomic_load(&g->mask_bits);

	atomic_store(&g->co->sig_ready, ready);
	return ready;
}

/* Runs sig's handler sa in the calling green thread g, as the kernel
 * would: g's mask plus sa_mask (and sig, unless SA_NODEFER) meanwhile,
 * SA_RESETHAND and SA_SIGINFO honoured. */
static void run_handler(struct weft__green *g, int sig, struct sigaction *sa)
{
	sigset_t saved = g->mask;
	siginfo_t si = { .si_signo = sig, .si_code = SI_TKILL };
	ucontext_t uc;

	sigorset(&g->mask, &g->mask, &sa->sa_mask);
	if (!(sa->sa_flags & SA_NODEFER))
		sigaddset(&g->mask, sig);
	weft__green_mask_set(g);
	if (sa->sa_flags & SA_RESETHAND) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigaction(sig, &dfl, NULL);
	}
	if (sa->sa_flags & SA_SIGINFO) {
		si.si_pid = getpid();
		si.si_uid = getuid();
		getcontext(&uc);
		sa->sa_sigaction(sig, &si, &uc);
	} else {
		sa->sa_handler(sig);
	}
	g->mask = saved;
	weft__green_mask_set(g);
}

/* See green.h. */
int weft__green_signals(struct weft__co *co)
{
	struct weft__green *g = co->slot ? weft__green_find(weft__green_id(co))
					 : NULL;
	int ran = -1;
	uint64_t ready;

	if (g == NULL) {
		atomic_store(&co->sig_ready, 0);
		return -1;
	}
	while ((ready = ready_of(g)) != 0) {
		int sig = __builtin_ctzll(ready) + 1;
		struct sigaction sa;
		atomic_fetch_and(&g->pending, ~bit_of(sig));
		ready_of(g);
		if (!handled(sig, &sa)) {
			/* Its handler went meanwhile: the process's way. */
			weft__libc()->pthread_kill(weft__green_os_thread(g), sig);
			continue;
		}
		run_handler(g, sig, &sa);
		ran = ran != 0 && (sa.sa_flags & SA_RESTART) ? 1 : 0;
	}
	return ran;
}

/* pthread_kill: signal 0 probes (ESRCH once the thread has ended).  A
 * signal with a handler, to a green thread, is that thread's to handle
 * (see the top of this file): the caller's own, unless its mask blocks
 * it, before this returns.  Any other goes to the OS thread the coroutine
 * runs on, whose disposition is the process's.  EINVAL for signals glibc
 * refuses (invalid, or its own SIGCANCEL and SIGSETXID). */
int weft__pthread_kill(pthread_t th, int sig)
{
	struct weft__green *g;
	struct weft__co *co = weft__green_target(th, &g);
	struct sigaction sa;

	if (co == NULL)
		return weft__libc()->pthread_kill(th, sig);
	if (sig < 0 || sig >= NSIG || sig == __SIGRTMIN ||
	    sig == __SIGRTMIN + 1)
		return EINVAL;
	if (co->state == WEFT__DONE)
		return ESRCH;
	if (sig == 0)
		return 0;
	if (g != NULL && sig <= 64 && handled(sig, &sa)) {
		post(g, sig);
		if (co == weft__running) /* as the kernel: before it returns */
			weft__green_signals(co);
		return 0;
	}
	return weft__libc()->pthread_kill(weft__green_os_thread(g), sig);
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

/* pthread_sigmask: in a green thread, the thread's own mask (the OS
 * thread's is shared by all its coroutines and stays as the root set it);
 * a signal sent to it that this unblocks is handled before it returns.
 * In a root, the real call.  Returns 0 or EINVAL (bad how). */
int weft__pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	struct weft__green *g = running_green();

	if (g == NULL)
		return weft__libc()->pthread_sigmask(how, set, old);
	if (set != NULL && how != SIG_BLOCK && how != SIG_UNBLOCK &&
	    how != SIG_SETMASK)
		return EINVAL;
	sigset_t cur = g->mask;
	if (set != NULL) {
		apply_mask(how, set, &cur, &g->mask);
		weft__green_mask_set(g);
	}
	if (old != NULL)
		*old = cur;
	if (set != NULL && ready_of(g) != 0)
		weft__green_signals(g->co);
	return 0;
}

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_kill(pthread_t th, int sig)
{
	return weft__pthread_kill(th, sig);
}

WEFT_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return weft__pthread_sigmask(how, set, old);
}
