/* pthread_signal.c - green threads' signal masks and pthread_kill.
 *
 * All green threads of an OS thread share it, so a signal sent to one
 * (pthread_kill) goes to that OS thread, and a green thread's
 * pthread_sigmask is kept as bookkeeping only: a background thread that
 * blocks signals (redis's bio threads block SIGTERM and SIGALRM) must not
 * block them for every thread of the OS thread.
 */
#include <signal.h>

#include "green.h"

/* pthread_kill: signal 0 probes (ESRCH once the thread has ended); other
 * signals go to the OS thread the coroutine runs on, whose handler runs
 * in whichever coroutine is running there.  EINVAL for signals glibc
 * refuses (invalid, or its own SIGCANCEL and SIGSETXID). */
int weft__pthread_kill(pthread_t th, int sig)
{
	struct weft__green *g;
	struct weft__co *co = weft__green_target(th, &g);

	if (co == NULL)
		return weft__libc()->pthread_kill(th, sig);
	if (sig < 0 || sig >= NSIG || sig == __SIGRTMIN ||
	    sig == __SIGRTMIN + 1)
		return EINVAL;
	if (co->state == WEFT__DONE)
		return ESRCH;
	if (sig == 0)
		return 0;
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

/* pthread_sigmask: in a green thread, the thread's own mask, kept as
 * bookkeeping (the OS thread's mask is shared by all its coroutines and
 * stays as the root set it); in a root, the real call.  Returns 0 or
 * EINVAL (bad how). */
int weft__pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	struct weft__co *co = weft__running;
	struct weft__green *g = NULL;

	if (weft__green_on() && co != NULL && co->slot != NULL)
		g = weft__green_find(weft__green_id(co));
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

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_kill(pthread_t th, int sig)
{
	return weft__pthread_kill(th, sig);
}

WEFT_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	return weft__pthread_sigmask(how, set, old);
}
