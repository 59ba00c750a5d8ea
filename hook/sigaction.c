/* sigaction.c - the calls that set a signal's action (sigaction, signal
 * and its System V and BSD kin, sigset, siginterrupt, sigignore) and the
 * mask calls built on sigprocmask (sighold, sigrelse).
 *
 * glibc's own versions of these call its sigaction and sigprocmask
 * inside libc, where no wrapper sees them, so each is wrapped here, as
 * glibc 2.36 writes it, over weft's sigaction and sigprocmask.  With
 * green threads on, the action of a signal weft routes, or of a
 * synchronous one, is recorded and stands behind weft's fronts
 * (core/sigs.h); anything else is libc's.
 */
#include <signal.h>

#include "green.h"

/* glibc's __sigpause and friends keep this set for siginterrupt. */
static sigset_t interrupting;

/* Whether sig's action is weft's to keep: one it routes, or a
 * synchronous one, whose handler weft runs on the green thread's
 * alternate stack. */
static bool routed(int sig)
{
	return weft__sig_routing && weft__green_on() &&
	       (weft__sig_routable(sig) || weft__sig_sync(sig));
}

/* sigaction, with the program's action kept for a signal weft routes:
 * the same results and errno as libc's. */
int weft__sigaction(int sig, const struct sigaction *act,
		    struct sigaction *old)
{
	if (!routed(sig))
		return weft__libc()->sigaction(sig, act, old);
	return weft__sig_action_set(sig, act, old);
}

/* Sets sig's handler to h with flags, sig itself blocked while it runs
 * if self; returns the handler before, or SIG_ERR with errno. */
static __sighandler_t set_handler(int sig, __sighandler_t h, int flags,
				  bool self)
{
	struct sigaction sa = { .sa_handler = h, .sa_flags = flags }, old;

	if (h == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&sa.sa_mask);
	if (self)
		sigaddset(&sa.sa_mask, sig);
	if (weft__sigaction(sig, &sa, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* signal and bsd_signal: BSD semantics, as glibc's, unless
 * siginterrupt turned restarting off for sig. */
static __sighandler_t bsd(int sig, __sighandler_t h)
{
	int flags = sig >= 1 && sig < NSIG &&
		    sigismember(&interrupting, sig) == 1 ? 0 : SA_RESTART;

	return set_handler(sig, h, flags, true);
}

/* sysv_signal: the handler is reset at delivery, and not blocked. */
static __sighandler_t sysv(int sig, __sighandler_t h)
{
	return set_handler(sig, h, SA_RESETHAND | SA_NODEFER, false);
}

/* siginterrupt: whether sig's handler interrupts calls (no SA_RESTART).
 * Returns 0, or -1 with EINVAL. */
static int interrupt_set(int sig, int flag)
{
	struct sigaction sa;

	if (sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (weft__sigaction(sig, NULL, &sa) < 0)
		return -1;
	if (flag) {
		sigaddset(&interrupting, sig);
		sa.sa_flags &= ~SA_RESTART;
	} else {
		sigdelset(&interrupting, sig);
		sa.sa_flags |= SA_RESTART;
	}
	return weft__sigaction(sig, &sa, NULL);
}

/* sigprocmask of sig alone; returns 0 or -1. */
static int mask_one(int how, int sig, sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	if (sigaddset(&set, sig) < 0)
		return -1;
	return weft__sigprocmask(how, &set, old);
}

/* sigset: System V's disposition, with SIG_HOLD to block sig. */
static __sighandler_t sysv_set(int sig, __sighandler_t disp)
{
	struct sigaction sa = { .sa_handler = disp }, old;
	sigset_t was;

	if (sig < 1 || sig >= NSIG || disp == SIG_ERR) {
		errno = EINVAL;
		return SIG_ERR;
	}
	if (disp == SIG_HOLD) {
		if (mask_one(SIG_BLOCK, sig, &was) < 0)
			return SIG_ERR;
		if (sigismember(&was, sig))
			return SIG_HOLD;
		return weft__sigaction(sig, NULL, &old) < 0 ? SIG_ERR
							   : old.sa_handler;
	}
	sigemptyset(&sa.sa_mask);
	if (weft__sigaction(sig, &sa, &old) < 0 ||
	    mask_one(SIG_UNBLOCK, sig, &was) < 0)
		return SIG_ERR;
	return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
}

/* ---- the exported names: libc's own unless green threads are on ---- */

WEFT_EXPORT int sigaction(int sig, const struct sigaction *act,
			  struct sigaction *old)
{
	return weft__sigaction(sig, act, old);
}

WEFT_EXPORT __sighandler_t signal(int sig, __sighandler_t h)
{
	return routed(sig) ? bsd(sig, h) : weft__libc()->signal(sig, h);
}

WEFT_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t h)
{
	return routed(sig) ? bsd(sig, h) : weft__libc()->bsd_signal(sig, h);
}

WEFT_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t h)
{
	return routed(sig) ? sysv(sig, h) : weft__libc()->sysv_signal(sig, h);
}

WEFT_EXPORT __sighandler_t __sysv_signal(int sig, __sighandler_t h)
{
	return routed(sig) ? sysv(sig, h)
			   : weft__libc()->__sysv_signal(sig, h);
}

WEFT_EXPORT int siginterrupt(int sig, int flag)
{
	return routed(sig) ? interrupt_set(sig, flag)
			   : weft__libc()->siginterrupt(sig, flag);
}

WEFT_EXPORT __sighandler_t sigset(int sig, __sighandler_t disp)
{
	return weft__green_on() ? sysv_set(sig, disp)
				: weft__libc()->sigset(sig, disp);
}

WEFT_EXPORT int sighold(int sig)
{
	return weft__green_on() ? mask_one(SIG_BLOCK, sig, NULL)
				: weft__libc()->sighold(sig);
}

WEFT_EXPORT int sigrelse(int sig)
{
	return weft__green_on() ? mask_one(SIG_UNBLOCK, sig, NULL)
				: weft__libc()->sigrelse(sig);
}

WEFT_EXPORT int sigignore(int sig)
{
	if (!routed(sig))
		return weft__libc()->sigignore(sig);
	return set_handler(sig, SIG_IGN, 0, false) == SIG_ERR ? -1 : 0;
}
