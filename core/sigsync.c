/* sigsync.c - the synchronous signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGTRAP, SIGSYS) under the program's handlers (see sigs.h).
 *
 * The kernel sends these to the thread whose instruction raised them,
 * and a handler must run at once, before that instruction runs again: no
 * routing.  But a green thread's alternate stack is no kernel's (see
 * sigstack.c), and a green thread that overflows its stack needs one to
 * run its handler on.  So when the program sets a handler for one (or
 * any action for SIGSEGV, whose front also makes weft's overflow report),
 * weft installs this front, with SA_ONSTACK: the kernel runs it on the OS
 * thread's alternate stack, weft's, and from there it runs the program's
 * handler where the kernel would have for the thread that faulted
 * (weft__sigstack_call): its own alternate stack, or the interrupted one.
 * The handler gets the kernel's context, so that what it changes there
 * takes effect when it returns, and may siglongjmp out: nothing of weft's
 * waits for it to return.  An overflow that no handler of the program's
 * can take (no SA_ONSTACK, no alternate stack, already on it) ends in
 * weft's one-line report, where natively the kernel would kill the
 * process without a word.
 *
 * The thread's mask is left as the kernel made it: the OS thread's, which
 * blocks sig and sa_mask while the front runs, and which a siglongjmp
 * puts back.  A green thread's own mask (sigs.h) is not changed for the
 * handler: a siglongjmp out of it could not put that back.
 */
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "core.h"
#include "sched.h"
#include "sigs.h"

/* See sigs.h. */
bool weft__sig_sync(int sig)
{
	switch (sig) {
	case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP:
	case SIGSYS:
		return true;
	}
	return false;
}

/* Whether sp lies in ss, armed or not. */
static bool inside(const stack_t *ss, const char *sp)
{
	const char *lo = ss->ss_sp;

	return ss->ss_size != 0 && sp > lo && (size_t)(sp - lo) <= ss->ss_size;
}

/* Whether the kernel ran this front on the OS thread's alternate stack,
 * away from the interrupted one: uc_stack is that stack as it was when
 * the signal came (before any SS_AUTODISARM). */
static bool moved(void *uc)
{
	const ucontext_t *u = uc;
	char here = 0;

	return !(u->uc_stack.ss_flags & SS_DISABLE) &&
	       inside(&u->uc_stack, &here) &&
	       !inside(&u->uc_stack, weft__uc_sp(uc));
}

/* Whether green thread s's handler sa can take an overflow of its stack:
 * it runs on the thread's alternate stack, armed, which the overflow did
 * not happen on. */
static bool takes_overflow(const struct weft__sigs *s,
			   const struct sigaction *sa, void *uc)
{
	return s != NULL && s->co->slot != NULL &&
	       (sa->sa_flags & SA_ONSTACK) && s->alt.ss_size != 0 &&
	       !weft__sigstack_on(s, weft__uc_sp(uc));
}

/* The kernel's struct sigaction (its mask is 64 bits wide). */
struct kaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

/* The default action of sig, for a program that set SIG_DFL or SIG_IGN:
 * a fault comes again when this returns, and the kernel then kills the
 * process, as natively (the kernel forces a fault it cannot deliver); a
 * sent one is sent again unless ignored. */
static void default_action(int sig, const siginfo_t *si, bool ignored)
{
	struct kaction dfl = { .handler = SIG_DFL };

	if (si->si_code <= 0 && ignored)
		return;
	weft__sig_sys(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
	if (si->si_code <= 0)
		weft__sig_sys(SYS_tgkill, getpid(), weft__sig_sys(SYS_gettid),
			      sig);
}

/* See sigs.h. */
void weft__sig_sync_front(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct weft__co *co = weft__current(), *running = weft__running;
	struct weft__sigs *s = running != NULL ? running->sigs : NULL;
	bool over = sig == SIGSEGV && co != NULL && si->si_code > 0 &&
		    weft__stack_overflowed(co, si, uc);
	struct sigaction sa = { .sa_handler = SIG_DFL };

	if (weft__sig_action_get(sig, &sa) != 0 ||
	    sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) {
		if (over)
			weft__stack_overflow(co);
		default_action(sig, si, sa.sa_handler == SIG_IGN);
		errno = saved;
		return;
	}
	if (over && !takes_overflow(s, &sa, uc))
		weft__stack_overflow(co);
	weft__sig_reset_hand(sig, &sa);
	weft__sigstack_call(s, sig, si, uc, &sa, moved(uc));
	errno = saved;
}
