/* sigs.c - a program thread's signals: its mask and pending set, the
 * posting of a signal to it, and the running of handlers as it (see
 * sigs.h). */
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "cancel.h"
#include "core.h"
#include "sigs.h"
#include "waitq.h"

/* The signals 1-64 of set, bit sig - 1. */
static uint64_t bits_of(const sigset_t *set)
{
	uint64_t bits = 0;

	for (int sig = 1; sig <= 64 && sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			bits |= weft__sig_bit(sig);
	return bits;
}

/* Per signal, the program threads counted as letting it through; the
 * signals at least one lets through; a count of changes to that set.
 * Under counts_lock. */
static int letting[65];
static int counts_lock;
static _Atomic uint64_t wanted;
static _Atomic unsigned wanted_gen;

/* Counts s as letting through the signals of open (instead of those it
 * was counted for); returns whether the set of wanted signals changed. */
static bool recount(struct weft__sigs *s, uint64_t open)
{
	weft__spin_lock(&counts_lock);
	uint64_t changed = s->counted ^ open, w = atomic_load(&wanted);
	while (changed != 0) {
		uint64_t bit = changed & -changed;
		int sig = __builtin_ctzll(bit) + 1;
		changed &= changed - 1;
		if (open & bit) {
			if (letting[sig]++ == 0)
				w |= bit;
		} else if (--letting[sig] == 0) {
			w &= ~bit;
		}
	}
	s->counted = open;
	bool news = w != atomic_load(&wanted);
	if (news) {
		atomic_store(&wanted, w);
		atomic_fetch_add(&wanted_gen, 1);
	}
	weft__spin_unlock(&counts_lock);
	return news;
}

/* See sigs.h. */
void weft__sig_recount_only(struct weft__sigs *s)
{
	counts_lock = 0;
	for (int sig = 0; sig <= 64; sig++)
		letting[sig] = 0;
	atomic_store(&wanted, 0);
	atomic_fetch_add(&wanted_gen, 1);
	if (s != NULL) {
		s->counted = 0;
		recount(s, ~atomic_load(&s->mask_bits));
	}
}

/* See sigs.h. */
uint64_t weft__sig_wanted(unsigned *gen)
{
	if (gen != NULL)
		*gen = atomic_load(&wanted_gen);
	return atomic_load(&wanted);
}

/* See sigs.h. */
void weft__sig_mask_set(struct weft__sigs *s)
{
	uint64_t bits = bits_of(&s->mask);
	uint64_t opened = atomic_load(&s->mask_bits) & ~bits;

	if (weft__sig_routing && opened != 0)
		weft__sig_take_process(s, opened);
	atomic_store(&s->mask_bits, bits);
	if (weft__sig_routing && recount(s, ~bits))
		weft__sig_os_changed();
}

/* See sigs.h. */
void weft__sig_end(struct weft__sigs *s)
{
	atomic_store(&s->mask_bits, ~(uint64_t)0);
	if (weft__sig_routing && recount(s, 0))
		weft__sig_os_changed();
	weft__sigq_drop(s);
	weft__sigstack_end(s);
	s->co->sigs = NULL; /* its last steps may outlive the record */
}

/* See sigs.h. */
void weft__sig_post(struct weft__sigs *s, int sig)
{
	uint64_t bit = weft__sig_bit(sig);

	atomic_fetch_or(&s->pending, bit);
	if (!(atomic_load(&s->mask_bits) & bit) ||
	    (atomic_load(&s->waited) & bit))
		weft__interrupt(s->co, sig);
}

/* The siginfo of sig sent by this process's pthread_kill. */
static void kill_info(int sig, siginfo_t *si)
{
	*si = (siginfo_t){ .si_signo = sig, .si_code = SI_TKILL };
	si->si_pid = getpid();
	si->si_uid = getuid();
}

/* Recomputes what ends a park of s's coroutine (co->sig_ready): its
 * pending signals that its mask lets through, or that it waits for in
 * sigwait.  Returns those its mask lets through, whose handlers run. */
static uint64_t ready_of(struct weft__sigs *s)
{
	uint64_t pending = atomic_load(&s->pending);
	uint64_t ready = pending & ~atomic_load(&s->mask_bits);

	atomic_store(&s->co->sig_ready,
		     ready | (pending & atomic_load(&s->waited)));
	return ready;
}

/* See sigs.h. */
void weft__sig_waiting(struct weft__sigs *s, const sigset_t *set)
{
	atomic_store(&s->waited, set != NULL ? bits_of(set) : 0);
	ready_of(s);
}

/* See sigs.h.  The kernel's order: lowest first. */
int weft__sig_take_waited(struct weft__sigs *s, const sigset_t *set,
			  siginfo_t *si)
{
	uint64_t here, want = bits_of(set);

	while ((here = atomic_load(&s->pending) & want) != 0) {
		int sig = __builtin_ctzll(here) + 1;
		uint64_t bit = weft__sig_bit(sig);
		struct sigaction sa;
		bool more;

		if (!(atomic_fetch_and(&s->pending, ~bit) & bit))
			continue; /* a run of handlers took it */
		if (!weft__sigq_take(s, sig, si, &sa, &more))
			kill_info(sig, si);
		else if (more)
			atomic_fetch_or(&s->pending, bit);
		ready_of(s);
		return sig;
	}
	return 0;
}

/* See sigs.h. */
void weft__sig_call(struct weft__sigs *s, int sig, siginfo_t *si,
		    void *uc, const struct sigaction *sa)
{
	sigset_t saved;

	if (s != NULL) {
		saved = s->mask;
		sigorset(&s->mask, &s->mask, &sa->sa_mask);
		if (!(sa->sa_flags & SA_NODEFER))
			sigaddset(&s->mask, sig);
		atomic_store(&s->mask_bits, bits_of(&s->mask));
		atomic_store(&s->taking, false);
	}
	/* A handler that can see its context, or runs on an alternate
	 * stack: the thread's alternate stack in both (sigstack.c). */
	if (sa->sa_flags & (SA_ONSTACK | SA_SIGINFO))
		weft__sigstack_call(s, sig, si, uc, sa, false);
	else if (sa->sa_flags & SA_SIGINFO)
		sa->sa_sigaction(sig, si, uc);
	else
		sa->sa_handler(sig);
	if (s != NULL) {
		atomic_fetch_add(&s->calls, 1);
		s->mask = saved;
		atomic_store(&s->mask_bits, bits_of(&s->mask));
	}
}

/* What the handler of sig, taken from s's pending set, runs with: the
 * siginfo and action it was queued with (sigq.c), else those of a
 * pthread_kill and the program's action now.  If another of sig is
 * queued behind, sig stays pending.  Returns false if the program's
 * action is no handler (any more). */
static bool what_to_run(struct weft__sigs *s, int sig, siginfo_t *si,
			struct sigaction *sa)
{
	bool more;

	if (weft__sigq_take(s, sig, si, sa, &more)) {
		if (more) {
			atomic_fetch_or(&s->pending, weft__sig_bit(sig));
			ready_of(s);
		}
	} else {
		kill_info(sig, si);
		if (weft__sig_action_get(sig, sa) != 0)
			return false;
		if (sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN)
			weft__sig_reset_hand(sig, sa);
	}
	return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

/* weft__sig_call with uc, or from normal code (uc NULL), with this
 * function's context (made only for a handler that reads it, or one
 * whose stack depends on where the thread is). */
static void call_here(struct weft__sigs *s, int sig, siginfo_t *si,
		      void *uc, const struct sigaction *sa)
{
	ucontext_t here;

	if (uc == NULL && (sa->sa_flags & (SA_SIGINFO | SA_ONSTACK)))
		getcontext(&here); /* its stack pointer: sigstack.c's */
	weft__sig_call(s, sig, si, uc ? uc : &here, sa);
}

/* See sigs.h. */
int weft__sig_run(struct weft__co *co)
{
	return weft__sig_run_at(co, NULL);
}

/* See sigs.h.  A run may interrupt another (a poke's, sigs.h): each
 * signal is taken from the pending set by one of them only, and none is
 * taken while the interrupted run is between taking one and blocking it
 * for its handler (it runs the rest next), so that a signal queued
 * behind another never runs before it. */
int weft__sig_run_at(struct weft__co *co, void *uc)
{
	struct weft__sigs *s = co->sigs;
	int ran = -1;
	uint64_t ready;

	if (s == NULL) {
		atomic_store(&co->sig_ready, 0);
		return -1;
	}
	if (atomic_load(&s->taking))
		return -1;
	while ((ready = ready_of(s)) != 0) {
		int sig = __builtin_ctzll(ready) + 1;
		siginfo_t si;
		struct sigaction sa;

		atomic_store(&s->taking, true);
		uint64_t was = atomic_fetch_and(&s->pending,
						~weft__sig_bit(sig));
		ready_of(s);
		if (!(was & weft__sig_bit(sig))) {
			atomic_store(&s->taking, false);
			continue; /* taken by a run this one interrupted */
		}
		if (!what_to_run(s, sig, &si, &sa)) {
			atomic_store(&s->taking, false);
			/* Its handler went meanwhile: the process's way. */
			weft__sig_default(sig);
			continue;
		}
		call_here(s, sig, &si, uc, &sa);
		ran = ran != 0 && (sa.sa_flags & SA_RESTART) ? 1 : 0;
	}
	return ran;
}
