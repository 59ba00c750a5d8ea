/* epoll.c - epoll_wait, epoll_pwait and epoll_ctl.
 *
 * An epoll fd is readable when it has events to report, so a coroutine
 * that is not alone parks on the epoll fd itself: a real call with a zero
 * time-out first (it reports EBADF, EINVAL, EFAULT as libc), then parking
 * on the epoll fd, and the zero-time-out call again after each wake;
 * another waiter may have taken the events, and then it parks again.
 *
 * libev calls epoll_wait from weft's own scheduler, where weft__running
 * is NULL: that must stay a plain call, and does.
 *
 * epoll_pwait's mask is handled as ppoll's (see poll.c), with one
 * difference: a zero-time-out epoll_pwait reports no pending signal, so
 * after each check that finds no event, a zero-time-out ppoll with the
 * mask delivers one (EINTR, as epoll_pwait would give).
 *
 * epoll_ctl passes through, but for one case: libev's own call on a
 * scheduler's epoll fd that a raw system call closed (libev would abort
 * on its EBADF), which is taken as done while the loop is made again
 * (core/ownfd.h).
 */
#include <signal.h>
#include <sys/epoll.h>

#include "hooks.h"
#include "io.h"
#include "cancel.h"
#include "ownfd.h"


static const struct timespec zero;

struct epoll_call {
	int epfd;
	struct epoll_event *events;
	int max;
	const sigset_t *sigmask;
};

/* The real call with a zero time-out; then, with a mask and no event, the
 * delivery of a pending signal the mask lets through. */
static int check(void *arg)
{
	struct epoll_call *c = arg;
	const struct weft__real *libc = weft__libc();
	int r = libc->epoll_pwait(c->epfd, c->events, c->max, 0, c->sigmask);

	if (r == 0 && c->sigmask && libc->ppoll(NULL, 0, &zero, c->sigmask) < 0)
		return -1;
	return r;
}

/* epoll_pwait (epoll_wait: sigmask NULL) that parks instead of blocking;
 * same results and errno. */
int weft__epoll_pwait(int epfd, struct epoll_event *events, int max,
		      int timeout, const sigset_t *sigmask)
{
	struct weft__co *co = weft__hooked();
	struct epoll_call c = { epfd, events, max, sigmask };
	struct weft__sigswap sw;

	if (weft__sigmask_swap(co, sigmask, &sw)) {
		int r = sw.ran ? (errno = EINTR, -1)
			       : weft__epoll_pwait(epfd, events, max, timeout,
						   NULL);
		weft__sigmask_back(co, &sw);
		return r;
	}

	if (co == NULL || timeout == 0 || weft__alone(co))
		return weft__libc()->epoll_pwait(epfd, events, max, timeout,
						 sigmask);
	int64_t deadline = weft__deadline(timeout < 0 ? -1 :
					  timeout * 1000000LL);
	weft__cancel_point(co);
	int r = check(&c);
	if (r != 0)
		return r;
	int sfd = sigmask ? weft__sigmask_fd(sigmask) : -1;
	struct weft__waiter w[2] = { { .fd = epfd, .events = WEFT_READ },
				     { .fd = sfd, .events = WEFT_READ } };
	r = weft__poll_park(co, w, sfd >= 0 ? 2 : 1, 0, deadline, check, &c);
	weft__sigfd_close(sfd);
	if (r < 0 && errno == ECANCELED)
		weft__cancel_act(co);
	return r;
}

/* epoll_wait: as epoll_pwait without a mask, but the pass-through is
 * the real epoll_wait, untouched (libev's own calls come this way). */
int weft__epoll_wait(int epfd, struct epoll_event *events, int max,
		     int timeout)
{
	struct weft__co *co = weft__hooked();

	if (co == NULL || timeout == 0 || weft__alone(co))
		return weft__libc()->epoll_wait(epfd, events, max, timeout);
	return weft__epoll_pwait(epfd, events, max, timeout, NULL);
}

/* epoll_ctl; same results and errno, but where libev's loop finds its
 * own epoll fd gone (see the top of the file). */
int weft__epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	int r = weft__libc()->epoll_ctl(epfd, op, fd, event);

	if (weft__unlikely(r < 0) && (errno == EBADF || errno == EINVAL) &&
	    weft__ownfd_loop_failed(epfd))
		return 0;
	return r;
}

WEFT_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	return weft__epoll_ctl(epfd, op, fd, event);
}

WEFT_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int max,
			   int timeout)
{
	return weft__epoll_wait(epfd, events, max, timeout);
}

WEFT_EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int max,
			    int timeout, const sigset_t *sigmask)
{
	return weft__epoll_pwait(epfd, events, max, timeout, sigmask);
}
