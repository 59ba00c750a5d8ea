/* pthread_signal.c - pthread_kill, raise and pthread_sigmask for program
 * threads, green threads and main (core/sigs.h holds the signal state
 * they act on, and the routing).
 *
 * A green thread's mask is its own (the OS thread's stays as the root
 * set it: a background thread that blocks signals, as redis's bio threads
 * block SIGTERM, must not block them for every thread of the OS thread).
 * A signal pthread_kill sends to a green thread with a handler is not
 * sent to an OS thread: it is pending on the green thread, which, unless
 * it blocks it, runs the handler itself, as itself: at once if it is
 * parked at a cancellation point (the park ends with EINTR,
 * core/cancel.h), which then returns EINTR or restarts as signal(7) says,
 * else at its next cancellation point or unblocking.  So is one sent to
 * main, and one a program thread raises.  A signal without a handler
 * (default or ignored) still goes to the OS thread, whose disposition is
 * the process's, except a realtime one, which OS threads that run
 * schedulers block (core/sigs.h): the thread takes that one too.
 */
#include <signal.h>
#include <unistd.h>

#include "green.h"

/* The calling coroutine's signal state if it is a program thread (a
 * green thread, or main when routing is on), or NULL. */
static struct weft__sigs *running_sigs(void)
{
	struct weft__co *co = weft__running;

	if (!weft__green_on() || co == NULL)
		return NULL;
	if (co->sigs == NULL && co->slot == NULL) /* main, made before */
		weft__sig_attach_main(co);
	return co->sigs;
}

/* See green.h.  Its mask is its creator's, or attr's if it has one. */
void weft__green_sigs_start(struct weft__green *g, struct weft__co *self,
			    const pthread_attr_t *attr)
{
	struct weft__sigs *s = &g->sigs;

	if (self->sigs != NULL)
		s->mask = self->sigs->mask;
	else
		weft__libc()->pthread_sigmask(SIG_BLOCK, NULL, &s->mask);
	/* A mask the attributes carry replaces the creator's.  Without one,
	 * glibc's getter empties the set it is given (and returns
	 * PTHREAD_ATTR_NO_SIGMASK_NP): the creator's mask stays. */
	sigset_t own;
	if (attr != NULL && pthread_attr_getsigmask_np(attr, &own) == 0)
		s->mask = own;
	s->co = g->co;
	g->co->sigs = s;
	weft__sig_mask_set(s);
}

/* The program thread th names: a green thread (*g), or main once it is
 * a program thread (*g NULL); *s gets its signal state (NULL for a
 * coroutine that is none).  Returns its coroutine, or NULL for any other
 * thread. */
static struct weft__co *target(pthread_t th, struct weft__green **g,
			       struct weft__sigs **s)
{
	struct weft__co *co = weft__green_target(th, g);
	pthread_t main;

	*s = *g != NULL ? &(*g)->sigs : NULL;
	if (co == NULL && weft__sig_routing &&
	    (*s = weft__sig_main(&main)) != NULL && pthread_equal(th, main))
		co = (*s)->co;
	else if (co == NULL)
		*s = NULL;
	return co;
}

/* The OS thread a signal for program thread co (of target) goes to when
 * the process's disposition is to act on it: with g NULL, th itself for
 * main, the caller's OS thread for the caller. */
static pthread_t os_thread_of(pthread_t th, struct weft__green *g,
			      struct weft__co *co)
{
	return g == NULL && co->slot == NULL ? th : weft__green_os_thread(g);
}

/* What becomes of sig sent to program thread co (of target). */
enum fate {
	TO_THREAD,  /* pending on the thread, which handles it */
	DROPPED,    /* ignored: the kernel drops it when sent */
	TO_OS,      /* to the OS thread: the process's disposition acts */
};

/* The fate of sig (1-64) sent to co, a green thread or main (g NULL), and
 * in *sa the program's action.  A green thread takes any signal it has a
 * handler for; main, the routable ones (the others still reach it at
 * once through its OS thread).  A realtime signal is the thread's even
 * left to its default, as its OS thread blocks it (core/sigs.h): the
 * thread, once it lets it through, carries out the default. */
static enum fate fate_of(int sig, struct weft__green *g,
			 struct sigaction *sa)
{
	bool rt = weft__sig_routing && sig >= SIGRTMIN && sig <= SIGRTMAX;

	if (g == NULL && !weft__sig_routable(sig))
		return TO_OS;
	if (weft__sig_action_get(sig, sa) != 0)
		return TO_OS;
	if (sa->sa_handler == SIG_IGN)
		return rt ? DROPPED : TO_OS;
	return sa->sa_handler != SIG_DFL || rt ? TO_THREAD : TO_OS;
}

/* Sends sig (1-64, checked) to program thread co (of target, or the
 * caller itself with g NULL): pending on it if it is its to take, the
 * caller's own run before this returns.  Returns 0, or what glibc's
 * pthread_kill of its OS thread returns. */
static int send_to(pthread_t th, struct weft__green *g, struct weft__co *co,
		   struct weft__sigs *s, int sig)
{
	struct sigaction sa;

	switch (s != NULL ? fate_of(sig, g, &sa) : TO_OS) {
	case TO_THREAD:
		weft__sig_post(s, sig);
		if (co == weft__running) /* as the kernel: before it returns */
			weft__sig_run(co);
		return 0;
	case DROPPED:
		return 0;
	default:
		return weft__libc()->pthread_kill(os_thread_of(th, g, co), sig);
	}
}

/* pthread_kill: signal 0 probes (ESRCH once the thread has ended).  A
 * signal sent to a program thread that is its to take (fate_of) is
 * pending on it (see the top of this file): the caller's own, unless its
 * mask blocks it, before this returns.  Any other goes to the OS thread
 * the coroutine runs on.  EINVAL for signals glibc refuses (invalid, or
 * its own SIGCANCEL and SIGSETXID). */
int weft__pthread_kill(pthread_t th, int sig)
{
	struct weft__green *g;
	struct weft__sigs *s;
	struct weft__co *co = target(th, &g, &s);

	if (co == NULL)
		return weft__libc()->pthread_kill(th, sig);
	if (sig < 0 || sig >= NSIG || sig == __SIGRTMIN ||
	    sig == __SIGRTMIN + 1)
		return EINVAL;
	if (co->state == WEFT__DONE)
		return ESRCH;
	if (sig == 0)
		return 0;
	return send_to(th, g, co, sig <= 64 ? s : NULL, sig);
}

/* See green.h.  glibc's raise sends to the OS thread, whose mask is
 * weft's.  The caller is its own target: no look-up. */
int weft__raise(int sig)
{
	struct weft__sigs *s = running_sigs();

	if (s == NULL || !weft__sig_routable(sig))
		return weft__libc()->raise(sig);
	int r = send_to(pthread_self(), NULL, weft__running, s, sig);

	if (r == 0)
		return 0;
	errno = r;
	return -1;
}

/* pthread_sigqueue: as pthread_kill, with value: a signal the thread
 * takes runs its handler as the thread, with si_code SI_QUEUE and value;
 * any other goes to the OS thread the coroutine runs on.  Returns 0,
 * ESRCH once the thread has ended, EINVAL for glibc's own signals
 * (SIGCANCEL, SIGSETXID) and what the kernel refuses. */
int weft__pthread_sigqueue(pthread_t th, int sig, const union sigval value)
{
	struct weft__green *g;
	struct weft__sigs *s;
	struct weft__co *co = target(th, &g, &s);
	struct sigaction sa;

	if (co == NULL)
		return weft__libc()->pthread_sigqueue(th, sig, value);
	if (co->state == WEFT__DONE) /* glibc looks at the thread first */
		return ESRCH;
	if (sig == __SIGRTMIN || sig == __SIGRTMIN + 1)
		return EINVAL;
	enum fate f = s != NULL && sig > 0 && sig <= 64 ?
		      fate_of(sig, g, &sa) : TO_OS;
	if (f == DROPPED)
		return 0;
	if (f == TO_OS)
		return weft__libc()->pthread_sigqueue(os_thread_of(th, g, co),
						      sig, value);
	siginfo_t si = { .si_signo = sig, .si_code = SI_QUEUE,
			 .si_value = value };
	si.si_pid = getpid();
	si.si_uid = getuid();
	weft__sig_reset_hand(sig, &sa);
	weft__sig_give(s, sig, &si, &sa);
	if (co == weft__running) /* as the kernel: before it returns */
		weft__sig_run(co);
	return 0;
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

/* pthread_sigmask: in a program thread (a green thread, or main), the
 * thread's own mask; the OS thread's is weft's (core/sigs.h).  A signal
 * sent to the thread, or pending for the process, that this unblocks is
 * handled before it returns.  Elsewhere, the real call.  Returns 0 or
 * EINVAL (bad how). */
int weft__pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	struct weft__sigs *s = running_sigs();

	if (s == NULL)
		return weft__libc()->pthread_sigmask(how, set, old);
	if (set != NULL && how != SIG_BLOCK && how != SIG_UNBLOCK &&
	    how != SIG_SETMASK)
		return EINVAL;
	sigset_t cur = s->mask;
	if (set != NULL) {
		apply_mask(how, set, &cur, &s->mask);
		weft__sig_mask_set(s);
	}
	if (old != NULL)
		*old = cur;
	if (set != NULL)
		weft__sig_run(s->co);
	return 0;
}

/* sigprocmask: pthread_sigmask, with -1 and errno. */
int weft__sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int r = weft__pthread_sigmask(how, set, old);

	if (r == 0)
		return 0;
	errno = r;
	return -1;
}

/* sigpending: in a program thread, the kernel's answer (the process's
 * pending signals, and its OS thread's) with those sent to the thread. */
static int pending_of(sigset_t *set)
{
	struct weft__sigs *s = running_sigs();
	int r = weft__libc()->sigpending(set);

	if (r != 0 || s == NULL)
		return r;
	uint64_t bits = atomic_load(&s->pending);
	for (int sig = 1; sig <= 64 && sig < NSIG; sig++)
		if (bits & weft__sig_bit(sig))
			sigaddset(set, sig);
	return 0;
}

/* sigaltstack: in a green thread, the thread's own (core/sigs.h), which
 * its handlers with SA_ONSTACK run on; the OS thread's stays weft's.  The
 * kernel checks a new one: set for an instant, then its own put back.
 * Returns 0, or -1 with errno as the kernel's (EPERM while on it). */
static int altstack(const stack_t *ss, stack_t *old)
{
	struct weft__co *co = weft__running;
	struct weft__sigs *s = weft__green_on() && co && co->slot ?
			       co->sigs : NULL;
	char here = 0; /* where the thread is */
	stack_t mine;

	if (s == NULL)
		return weft__libc()->sigaltstack(ss, old);
	if (ss != NULL && weft__sigstack_on(s, &here)) {
		errno = EPERM;
		return -1;
	}
	if (ss != NULL) {
		if (weft__libc()->sigaltstack(ss, &mine) != 0)
			return -1;
		weft__libc()->sigaltstack(&mine, NULL);
	}
	weft__sigstack_swap(s, ss, old, &here);
	return 0;
}

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_kill(pthread_t th, int sig)
{
	return weft__pthread_kill(th, sig);
}

WEFT_EXPORT int raise(int sig)
{
	return weft__raise(sig);
}

WEFT_EXPORT int gsignal(int sig)
{
	return weft__raise(sig);
}

WEFT_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return weft__pthread_sigmask(how, set, old);
}

WEFT_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return weft__sigprocmask(how, set, old);
}

WEFT_EXPORT int sigpending(sigset_t *set)
{
	return pending_of(set);
}

WEFT_EXPORT int pthread_sigqueue(pthread_t th, int sig,
				 const union sigval value)
{
	return weft__pthread_sigqueue(th, sig, value);
}

WEFT_EXPORT int sigaltstack(const stack_t *ss, stack_t *old)
{
	return altstack(ss, old);
}
