/* poll.c - poll, ppoll, their fortified twins, and the parking loop that
 * select and epoll_wait share with them.
 *
 * poll asks about many fds at once, so it does not go through
 * weft__io_start.  In a coroutine that is not alone, the real call runs
 * first with a zero time-out: that answers at once when something is
 * ready, and reports what libc reports (POLLNVAL, POLLERR, POLLHUP;
 * EFAULT, EINVAL).  Otherwise the coroutine parks on all the fds at once,
 * and after each wake the real call, again with a zero time-out, says
 * what is ready.  poll does not consume what it reports, so a wake that
 * finds nothing (another coroutine read first) just parks again.
 *
 * epoll, below libev, cannot wait for exactly what poll can ask: libev
 * has no POLLPRI, and epoll no "errors and hang-ups only".  An fd asking
 * for neither input nor output is watched as input (hang-ups and errors
 * come with it), and, since that may be less than asked (urgent data
 * alone does not make a socket readable), the real call also runs every
 * 10 ms while such an fd is in the set.  And since it may be more than
 * asked (a socket with data, asked only about a hang-up), such an fd that
 * wakes the coroutine while the real call finds nothing for it is dropped
 * from the watch, so that it cannot wake the coroutine over and over.
 * POLLPRI asked together with POLLIN is watched as input only: urgent
 * data alone (TCP out-of-band, a pty in packet mode) goes unseen until
 * the time-out or another event.
 *
 * ppoll's signal mask.  Each zero-time-out check is a real ppoll with the
 * caller's mask, which the kernel installs atomically: a pending signal
 * the mask lets through interrupts the call (EINTR, after its handler
 * ran), as in libc.  While the coroutine is parked, the thread's mask
 * stays the program's: swapping it would change it for every coroutine.
 * This is a limit: signals the mask unblocks but the thread blocks stay
 * pending, and a signalfd parked on with the fds wakes the coroutine for
 * them, so the next check delivers them (the usual ppoll idiom works);
 * but a signal that neither mask blocks runs its handler wherever the
 * thread is and does not end the wait, as with plain poll in a coroutine
 * that is not alone.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>

#include "hooks.h"
#include "io.h"
#include "cancel.h"
#include "green.h"

/* Waiter nodes kept on the stack; more are allocated. */
#define SMALL 64
/* How often an fd epoll cannot watch exactly is checked, in ns. */
#define RECHECK_NS (10 * 1000000LL)


static const struct timespec zero;

/* Parks co until deadline (or a stray wake); for a wait on no fd. */
static int nap(struct weft__co *co, int64_t deadline)
{
	return -weft__nap(co, deadline);
}

/* Takes w[i], one of the first *droppable nodes, out of the n-node array
 * (keeping the droppable ones first); returns the new n. */
static int drop(struct weft__waiter *w, int n, int *droppable, int i)
{
	w[i] = w[--*droppable];
	w[*droppable] = w[--n];
	return n;
}

/* Parks co on the n fds of w[] (fd and events set; revents are
 * overwritten, and the array is reordered) until check(arg), the real
 * call with a zero time-out, returns non-zero: that result is returned,
 * with check's errno.  At deadline (monotonic ns; negative: none) it
 * returns 0.  check runs after every wake, since a wake only says that
 * something may be ready.  The first `droppable` nodes watch for other
 * than the call asked (see the top of this file): while there are any,
 * check also runs every 10 ms, and one that wakes co while check finds
 * nothing is dropped from the watch.  Returns -1 with errno ENOMEM if the
 * wait cannot be set up. */
int weft__poll_park(struct weft__co *co, struct weft__waiter *w, int n,
		    int droppable, int64_t deadline, int (*check)(void *),
		    void *arg)
{
	bool recheck = droppable > 0;

	for (;;) {
		int64_t until = deadline;
		if (recheck) {
			int64_t soon = weft__deadline(RECHECK_NS);
			if (until < 0 || soon < until)
				until = soon;
		}
		weft__cancel_mark(co);
		int got = n > 0 ? weft__wait_fds(co, w, n, until)
				: nap(co, until);
		/* Handlers of signals sent to this green thread ran: never
		 * restarted, whatever SA_RESTART says (signal(7)). */
		if (got == -ENOMEM || got == -ECANCELED ||
		    (got == -EINTR && weft__sig_run(co) >= 0)) {
			errno = -got;
			return -1;
		}
		int r = check(arg);
		if (r != 0)
			return r;
		if (deadline >= 0 && weft__now() >= deadline)
			return 0;
		for (int i = droppable - 1; got > 0 && i >= 0; i--)
			if (w[i].revents)
				n = drop(w, n, &droppable, i);
	}
}

/* What to watch an fd for, given what poll asks of it: WEFT_READ and/or
 * WEFT_WRITE.  *exact is cleared when poll asks for neither input nor
 * output, so that the watch may differ from the request. */
static int watch_for(short events, bool *exact)
{
	int ev = 0;

	if (events & (POLLIN | POLLRDNORM | POLLRDBAND | POLLPRI | POLLRDHUP))
		ev |= WEFT_READ;
	if (events & (POLLOUT | POLLWRNORM | POLLWRBAND))
		ev |= WEFT_WRITE;
	*exact = events & (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
	/* Errors and hang-ups only: epoll reports them with input. */
	return ev ? ev : WEFT_READ;
}

struct poll_call {
	struct pollfd *fds;
	nfds_t nfds;
	const sigset_t *sigmask;
};

/* The real call with a zero time-out (poll's too: the same in the
 * kernel). */
static int check(void *arg)
{
	struct poll_call *c = arg;

	return weft__libc()->ppoll(c->fds, c->nfds, &zero, c->sigmask);
}

/* poll and ppoll for a coroutine that is not alone; deadline in monotonic
 * ns, negative for none.  Same results and errno as libc's. */
static int poll_parking(struct weft__co *co, struct pollfd *fds, nfds_t nfds,
			int64_t deadline, const sigset_t *sigmask)
{
	struct poll_call c = { fds, nfds, sigmask };
	struct weft__waiter small[SMALL], *w = small;

	weft__cancel_point(co);
	int r = check(&c);

	if (r != 0)
		return r;
	/* The check accepted nfds: it is at most RLIMIT_NOFILE. */
	int n = 0, droppable = 0;
	for (nfds_t i = 0; i < nfds; i++)
		n += fds[i].fd >= 0;
	if (n + 1 > SMALL && (w = malloc((n + 1) * sizeof *w)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	/* Droppable nodes first, then the exact ones. */
	for (int pass = 0, k = 0; pass < 2; pass++) {
		for (nfds_t i = 0; i < nfds; i++) {
			bool exact;
			int ev = watch_for(fds[i].events, &exact);
			if (fds[i].fd < 0 || exact != (pass == 1))
				continue;
			w[k++] = (struct weft__waiter){ .fd = fds[i].fd,
							.events = ev };
			droppable += !exact;
		}
	}
	int sfd = sigmask ? weft__sigmask_fd(sigmask) : -1;
	if (sfd >= 0)
		w[n++] = (struct weft__waiter){ .fd = sfd,
						.events = WEFT_READ };
	r = weft__poll_park(co, w, n, droppable, deadline, check, &c);
	weft__sigfd_close(sfd);
	if (w != small)
		free(w);
	if (r < 0 && errno == ECANCELED)
		weft__cancel_act(co);
	return r;
}

/* A ppoll time-out the kernel accepts, in ns (saturated), or -1 for one
 * it rejects.  Read directly: glibc's ppoll reads it too, so a bad
 * pointer faults there as here. */
static int64_t timespec_ns(const struct timespec *ts)
{
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -1;
	if (ts->tv_sec > (INT64_MAX - ts->tv_nsec) / 1000000000)
		return INT64_MAX;
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* poll that parks instead of blocking; same results and errno. */
int weft__poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct weft__co *co = weft__hooked();

	if (co == NULL || timeout == 0 || weft__alone(co))
		return weft__libc()->poll(fds, nfds, timeout);
	return poll_parking(co, fds, nfds,
			    weft__deadline(timeout < 0 ? -1 :
					   timeout * 1000000LL), NULL);
}

/* ppoll that parks instead of blocking; same results and errno.  An
 * invalid or zero time-out goes to the real call, which answers at
 * once. */
int weft__ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
		const sigset_t *sigmask)
{
	struct weft__co *co = weft__hooked();
	struct weft__sigswap sw;
	int64_t ns = -1;

	if (weft__sigmask_swap(co, sigmask, &sw)) {
		int r = sw.ran ? (errno = EINTR, -1) : weft__ppoll(fds, nfds, ts,
								 NULL);
		weft__sigmask_back(co, &sw);
		return r;
	}
	if (co == NULL || weft__alone(co) ||
	    (ts && (ns = timespec_ns(ts)) <= 0))
		return weft__libc()->ppoll(fds, nfds, ts, sigmask);
	return poll_parking(co, fds, nfds, weft__deadline(ns), sigmask);
}

WEFT_EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return weft__poll(fds, nfds, timeout);
}

WEFT_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds,
		      const struct timespec *ts, const sigset_t *sigmask)
{
	return weft__ppoll(fds, nfds, ts, sigmask);
}

int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
		const sigset_t *sigmask, size_t fdslen);

/* _FORTIFY_SOURCE's poll: libc itself reports the overflow. */
WEFT_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
			   size_t fdslen)
{
	if (fdslen / sizeof *fds < nfds)
		return weft__libc()->__poll_chk(fds, nfds, timeout, fdslen);
	return weft__poll(fds, nfds, timeout);
}

/* _FORTIFY_SOURCE's ppoll: libc itself reports the overflow. */
WEFT_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds,
			    const struct timespec *ts,
			    const sigset_t *sigmask, size_t fdslen)
{
	if (fdslen / sizeof *fds < nfds)
		return weft__libc()->__ppoll_chk(fds, nfds, ts, sigmask,
						 fdslen);
	return weft__ppoll(fds, nfds, ts, sigmask);
}
