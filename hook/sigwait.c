/* sigwait.c - sigwait, sigwaitinfo, sigtimedwait, pause, sigsuspend; and
 * the signal-mask helpers ppoll, pselect and epoll_pwait share.
 *
 * sigwait and its kin take signals the program blocked.  In a coroutine
 * that is not alone, a real sigtimedwait with a zero time-out takes one
 * that is pending already (and reports EFAULT, EINVAL as libc).  Else the
 * coroutine parks on a signalfd for the set, which becomes readable when
 * one arrives, and the zero-time-out call takes it: the siginfo comes from
 * the real call, never from reading the signalfd.  Another thread may take
 * a signal sent to the process first, so a wake may find nothing; the
 * coroutine then parks again.
 *
 * pause and sigsuspend wait for a signal whose handler runs.  Blocking the
 * thread for real would stop every other coroutine until a signal comes
 * (a server whose main thread waits in pause for SIGTERM would serve
 * nobody), so they park instead.  In a program thread while weft routes
 * signals (green threads, core/sigs.h), the mask becomes the thread's own
 * for the wait, which ends once a handler has run as the thread; the
 * same swap serves ppoll, pselect and epoll_pwait.  Elsewhere (linked
 * programs), without touching the program's signal dispositions:
 *  - the mask given to sigsuspend is installed for an instant by a real
 *    zero-time-out ppoll, which delivers a pending signal it lets through
 *    (its handler runs, EINTR), as sigsuspend would at its start, and
 *    gives EFAULT for a bad mask;
 *  - a signal the mask lets through but the thread blocks stays pending:
 *    a signalfd wakes the coroutine for it, and the next ppoll delivers
 *    it.  This is sigsuspend's usual idiom (block, test a flag, suspend),
 *    and it is exact;
 *  - a signal neither blocks is delivered by the kernel at once, wherever
 *    the thread is.  If the thread was waiting in the event loop, the
 *    signalfd sees it pending first and the coroutine wakes after its
 *    handler ran; if another coroutine was running, there is nothing
 *    left to see and the wait goes on (a limit of linked programs, whose
 *    handlers weft does not stand in front of).  For the same reason, a
 *    stop signal that the thread lets through may end the wait although
 *    no handler ran.
 */
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "hooks.h"
#include "io.h"
#include "cancel.h"
#include "green.h"
#include "ownfd.h"


static const struct timespec zero;

/* Fills *set with the signals that would interrupt a call made with mask
 * as its signal mask, limited to those the thread's own mask blocks
 * (held: they stay pending until the call takes them) or to those it
 * lets through (!held).  Returns false if there are none.  Keeps
 * errno. */
static bool sigmask_set(sigset_t *set, const sigset_t *mask, bool held)
{
	sigset_t thread;
	int saved = errno;
	bool any = false;

	sigemptyset(set);
	if (weft__libc()->pthread_sigmask(SIG_BLOCK, NULL, &thread) != 0) {
		errno = saved;
		return false;
	}
	for (int sig = 1; sig < NSIG; sig++) {
		if (sigismember(mask, sig) == 0 &&
		    sigismember(&thread, sig) == held &&
		    sigaddset(set, sig) == 0)
			any = true;
	}
	errno = saved;
	return any;
}

/* See hooks.h. */
bool weft__sigmask_swap(struct weft__co *co, const sigset_t *mask,
			struct weft__sigswap *sw)
{
	struct weft__sigs *s = co ? co->sigs : NULL;

	if (!weft__sig_routing || s == NULL || mask == NULL)
		return false;
	sw->saved = s->mask;
	sw->calls = atomic_load(&s->calls);
	s->mask = *mask;
	sigdelset(&s->mask, SIGKILL);
	sigdelset(&s->mask, SIGSTOP);
	weft__sig_mask_set(s); /* the kernel's pending ones come now */
	weft__sig_run(co);     /* the thread's own */
	sw->ran = atomic_load(&s->calls) != sw->calls;
	return true;
}

/* See hooks.h. */
void weft__sigmask_back(struct weft__co *co, struct weft__sigswap *sw)
{
	int saved = errno;

	co->sigs->mask = sw->saved;
	weft__sig_mask_set(co->sigs);
	errno = saved;
}

/* A signalfd for set that co waits on, at the top of the fd range and
 * weft's own (core/ownfd.h), or -1. */
static int own_sigfd(struct weft__co *co, const sigset_t *set)
{
	int fd = weft__libc()->signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);

	return fd < 0 ? fd : weft__ownfd_waited(fd, co);
}

/* A signalfd that becomes readable when a signal arrives that mask lets
 * through but the thread's own mask holds pending: what ppoll, pselect
 * and epoll_pwait park on besides their fds (see poll.c).  mask must be
 * readable.  Returns the fd, or -1 if there is no such signal or no fd to
 * spare; keeps errno.  Close it with weft__sigfd_close. */
int weft__sigmask_fd(const sigset_t *mask)
{
	sigset_t held;
	int saved = errno, fd = -1;

	if (sigmask_set(&held, mask, true))
		fd = own_sigfd(weft__running, &held);
	errno = saved;
	return fd;
}

/* Closes a signalfd the calling coroutine made to wait on, fd being the
 * number it knows it by (nothing if fd < 0, or if the fd is weft's no
 * more): forgets its watcher first, so that a new file with the same
 * number starts afresh.  Keeps errno. */
void weft__sigfd_close(int fd)
{
	weft__ownfd_waited_close(fd, weft__running);
}

struct take {
	struct weft__sigs *s; /* the thread's signals, where weft routes */
	const sigset_t *set;
	siginfo_t *info;
};

/* Takes a signal of the set sent to the thread itself, which only weft
 * knows of: its number, or 0.  As glibc's, a pthread_kill's SI_TKILL
 * reads SI_USER. */
static int take_sent(const struct take *t)
{
	siginfo_t si, *info = t->info ? t->info : &si;
	int r = t->s ? weft__sig_take_waited(t->s, t->set, info) : 0;

	if (r > 0 && info->si_code == SI_TKILL)
		info->si_code = SI_USER;
	return r;
}

/* Takes a signal of the set, one sent to the thread first (the kernel's
 * order: the thread's own, then the process's): its number, 0 if none,
 * or -1. */
static int take(const struct take *t)
{
	int r = take_sent(t);

	if (r == 0)
		r = weft__libc()->sigtimedwait(t->set, t->info, &zero);
	return r < 0 && errno == EAGAIN ? 0 : r;
}

/* Parks co on fd (its signalfd for t's set) until take finds a signal,
 * the deadline (monotonic ns, negative: none) passes (0), a handler of
 * a signal sent to co runs (-1, EINTR), or a cancel comes due (-1,
 * ECANCELED).  A signal of the set sent to co is taken before any
 * handler could run for it. */
static int sigwait_park(struct weft__co *co, int fd, const struct take *t,
			int64_t deadline)
{
	struct weft__waiter w = { .fd = fd, .events = WEFT_READ };

	for (;;) {
		weft__cancel_mark(co);
		int got = weft__wait_fds(co, &w, 1, deadline);
		if (got == -ECANCELED || got == -ENOMEM) {
			errno = -got;
			return -1;
		}
		int r = take(t);
		if (r != 0)
			return r;
		if (got == -EINTR && weft__sig_run(co) >= 0) {
			errno = EINTR;
			return -1;
		}
		if (deadline >= 0 && weft__now() >= deadline)
			return 0;
	}
}

/* sigtimedwait for a coroutine that parks, with deadline in monotonic ns
 * (negative: none).  Same results and errno as libc's.  The first look is
 * the real call's, which checks the set (EFAULT, as libc) before weft
 * reads it. */
static int sigwait_parking(struct weft__co *co, const sigset_t *set,
			   siginfo_t *info, int64_t deadline)
{
	const struct weft__real *libc = weft__libc();
	struct take t = { .set = set, .info = info };

	weft__cancel_point(co);
	int r = libc->sigtimedwait(set, info, &zero), fd = -1;
	if (r >= 0 || errno != EAGAIN)
		return r;
	if (weft__sig_routing && co->sigs != NULL) {
		t.s = co->sigs;
		weft__sig_waiting(t.s, set);
	}
	r = take_sent(&t); /* the kernel's were looked at just now */
	if (r == 0 && deadline >= 0 && weft__now() >= deadline) {
		errno = EAGAIN; /* a zero time-out: only a look */
		r = -1;
	} else if (r == 0 && (fd = own_sigfd(co, set)) < 0) {
		/* No fd to spare: block the thread for the time left. */
		int64_t left = deadline < 0 ? -1 : deadline - weft__now();
		struct timespec ts = { left > 0 ? left / 1000000000 : 0,
				       left > 0 ? left % 1000000000 : 0 };
		r = libc->sigtimedwait(set, info, left < 0 ? NULL : &ts);
	} else if (r == 0) {
		r = sigwait_park(co, fd, &t, deadline);
		if (r == 0) {
			errno = EAGAIN;
			r = -1;
		}
		weft__sigfd_close(fd);
	}
	if (t.s != NULL)
		weft__sig_waiting(t.s, NULL);
	if (r < 0 && errno == ECANCELED)
		weft__cancel_act(co);
	return r;
}

/* Whether a sigwait of co parks rather than blocking its OS thread: a
 * coroutine that is not alone, or a program thread while weft routes
 * signals, whose signals sent by pthread_kill only weft knows of. */
static bool sigwait_parks(struct weft__co *co)
{
	return co != NULL && ((weft__sig_routing && co->sigs != NULL) ||
			      !weft__alone(co));
}

/* sigtimedwait that parks instead of blocking; same results and errno.
 * A time-out the kernel would reject goes to the real call, which
 * reports it at once (after checking the set, as the kernel does). */
int weft__sigtimedwait(const sigset_t *set, siginfo_t *info,
		       const struct timespec *timeout)
{
	struct weft__co *co = weft__hooked();
	int64_t ns = -1;

	if (!sigwait_parks(co) ||
	    (timeout && !weft__timespec_ns(timeout, &ns)))
		return weft__libc()->sigtimedwait(set, info, timeout);
	return sigwait_parking(co, set, info, weft__deadline(ns));
}

/* sigwaitinfo that parks instead of blocking; same results and errno. */
int weft__sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	struct weft__co *co = weft__hooked();

	if (!sigwait_parks(co))
		return weft__libc()->sigwaitinfo(set, info);
	return sigwait_parking(co, set, info, -1);
}

/* sigwait that parks instead of blocking.  Returns 0 or an error number
 * (not -1); EINTR never comes out of it, as in glibc. */
int weft__sigwait(const sigset_t *set, int *sig)
{
	struct weft__co *co = weft__hooked();
	int r;

	if (!sigwait_parks(co))
		return weft__libc()->sigwait(set, sig);
	while ((r = sigwait_parking(co, set, NULL, -1)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return errno;
	*sig = r;
	return 0;
}

/* sigsuspend for a coroutine that is not alone; see the top of the file.
 * Returns -1 with errno EINTR (EFAULT for a bad mask). */
static int suspend_parking(struct weft__co *co, const sigset_t *mask)
{
	const struct weft__real *libc = weft__libc();
	sigset_t open, held;
	struct weft__waiter w[2];
	int n = 0, got = 0;

	weft__cancel_point(co);
	if (libc->ppoll(NULL, 0, &zero, mask) < 0)
		return -1;
	bool any_open = sigmask_set(&open, mask, false);
	bool any_held = sigmask_set(&held, mask, true);
	if (!any_open && !any_held) {
		/* No signal can end the wait (SIGKILL aside); a cancel can. */
		for (;;) {
			weft__cancel_mark(co);
			if (weft__cancel_leave(co, weft__nap(co, -1)) == EINTR &&
			    weft__sig_run(co) >= 0) {
				errno = EINTR;
				return -1;
			}
		}
	}
	int open_fd = any_open ? own_sigfd(co, &open) : -1;
	int held_fd = any_held ? own_sigfd(co, &held) : -1;
	if (open_fd >= 0)
		w[n++] = (struct weft__waiter){ .fd = open_fd,
						.events = WEFT_READ };
	if (held_fd >= 0)
		w[n++] = (struct weft__waiter){ .fd = held_fd,
						.events = WEFT_READ };
	/* A wake by a signal the thread lets through comes after its
	 * handler ran.  A held one is delivered by the ppoll, unless it was
	 * ignored or another thread took it: then wait on. */
	while (n == any_open + any_held) {
		weft__cancel_mark(co);
		got = weft__wait_fds(co, w, n, -1);
		if (got == -EINTR) { /* sent to this green thread */
			if (weft__sig_run(co) >= 0)
				break; /* a handler ran */
			continue;
		}
		if (got < 0 || (open_fd >= 0 && w[0].revents) ||
		    libc->ppoll(NULL, 0, &zero, mask) != 0)
			break;
	}
	weft__sigfd_close(open_fd);
	weft__sigfd_close(held_fd);
	if (got == -ECANCELED)
		weft__cancel_act(co);
	if (got == -EINTR) {
		errno = EINTR;
		return -1;
	}
	if (n != any_open + any_held || got < 0)
		/* No fd to spare, no memory, or the program closed our fd:
		 * the real call, which blocks the thread. */
		return libc->sigsuspend(mask);
	errno = EINTR;
	return -1;
}

/* sigsuspend in a program thread while weft routes signals: mask is the
 * thread's for the wait, which ends once a handler has run as the thread
 * (or a cancel acts).  Returns -1 with errno EINTR. */
static int suspend_routed(struct weft__co *co, const sigset_t *mask)
{
	struct weft__sigswap sw;
	int r = 0;

	weft__cancel_point(co);
	weft__sigmask_swap(co, mask, &sw);
	while (atomic_load(&co->sigs->calls) == sw.calls && r != ECANCELED) {
		weft__cancel_mark(co);
		r = weft__nap(co, -1);
		co->cancel_point = false;
		if (r == EINTR)
			weft__sig_run(co);
	}
	weft__sigmask_back(co, &sw);
	if (r == ECANCELED)
		weft__cancel_act(co);
	errno = EINTR;
	return -1;
}

/* sigsuspend that parks instead of blocking; see the top of the file. */
int weft__sigsuspend(const sigset_t *mask)
{
	struct weft__co *co = weft__hooked();

	/* NULL: the kernel's EFAULT (ppoll would take it as "no mask"). */
	if (co == NULL || mask == NULL)
		return weft__libc()->sigsuspend(mask);
	if (weft__sig_routing && co->sigs != NULL)
		return suspend_routed(co, mask);
	if (weft__alone(co))
		return weft__libc()->sigsuspend(mask);
	return suspend_parking(co, mask);
}

/* pause: sigsuspend with the thread's own mask. */
int weft__pause(void)
{
	struct weft__co *co = weft__hooked();
	sigset_t mask;

	if (co != NULL && weft__sig_routing && co->sigs != NULL)
		return suspend_routed(co, &co->sigs->mask);
	if (co == NULL || weft__alone(co) ||
	    weft__libc()->pthread_sigmask(SIG_BLOCK, NULL, &mask) != 0)
		return weft__libc()->pause();
	return suspend_parking(co, &mask);
}

WEFT_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info,
			     const struct timespec *timeout)
{
	return weft__sigtimedwait(set, info, timeout);
}

WEFT_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	return weft__sigwaitinfo(set, info);
}

WEFT_EXPORT int sigwait(const sigset_t *set, int *sig)
{
	return weft__sigwait(set, sig);
}

WEFT_EXPORT int sigsuspend(const sigset_t *mask)
{
	return weft__sigsuspend(mask);
}

WEFT_EXPORT int pause(void)
{
	return weft__pause();
}
