/* select.c - select and pselect.
 *
 * As poll (see poll.c): in a coroutine that is not alone, a real call
 * with a zero time-out first, then parking on every fd in the sets, and
 * the zero-time-out call again after each wake.  The kernel overwrites
 * the sets it is given, so each check works on copies of the caller's
 * sets, and the caller's sets get the result only when the call returns
 * (cleared on a time-out, untouched on an error, as the kernel leaves
 * them).  An fd only in exceptfds is watched as input and checked every
 * 10 ms, as poll's POLLPRI alone (see poll.c); an fd in readfds and
 * exceptfds is watched as input only.
 *
 * Limits: nfds above FD_SETSIZE goes to the real call, which blocks the
 * thread (glibc's FD_SET cannot name such fds anyway).  The sets are
 * copied before the kernel has looked at them, so they are copied in and
 * out through the kernel (process_vm_readv/writev on this process): a set
 * that cannot be read goes to the real call, which gives EFAULT at once,
 * and one that cannot be written gives EFAULT, as the kernel's select
 * does, never a fault in weft.  pselect's mask is handled as ppoll's (see
 * poll.c).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "hooks.h"
#include "io.h"
#include "cancel.h"

#define SMALL 64 /* waiter nodes kept on the stack; more are allocated */
#define NS_PER_S 1000000000LL


static const struct timespec zero;

/* One select call: the caller's sets, their first contents, and the
 * copies a check works on. */
struct select_call {
	int nfds;
	size_t bytes;        /* of each set the kernel reads: whole longs */
	fd_set *user[3];     /* read, write, except; each may be NULL */
	fd_set orig[3], work[3];
	const sigset_t *sigmask;
};

/* The real call with a zero time-out, on fresh copies of the sets. */
static int check(void *arg)
{
	struct select_call *c = arg;
	fd_set *set[3] = { NULL, NULL, NULL };

	for (int i = 0; i < 3; i++) {
		if (c->user[i]) {
			memcpy(&c->work[i], &c->orig[i], c->bytes);
			set[i] = &c->work[i];
		}
	}
	return weft__libc()->pselect(c->nfds, set[0], set[1], set[2], &zero,
				     c->sigmask);
}

/* Whether the kernel ignores fd, which the check let through: one past
 * the end of the process's fd table, which is never shorter than 64 fds
 * (the kernel cuts nfds down to the table's size; a closed fd inside it
 * gives EBADF).  libev must not be given such an fd. */
static bool ignored(int fd)
{
	int saved = errno;
	bool r = fd >= 64 && weft__libc()->fcntl(fd, F_GETFD) < 0 &&
		 errno == EBADF;

	errno = saved;
	return r;
}

/* Adds a waiter node for each fd in the sets to w[]: those whose watch
 * may differ from the request (exceptfds only) when droppable is set,
 * the others when not.  Returns the new count. */
static int add_nodes(struct select_call *c, struct weft__waiter *w, int n,
		     bool droppable)
{
	for (int fd = 0; fd < c->nfds; fd++) {
		bool in[3];
		for (int i = 0; i < 3; i++)
			in[i] = c->user[i] && FD_ISSET(fd, &c->orig[i]);
		bool exact = in[0] || in[1];
		if (!(exact || in[2]) || droppable == exact || ignored(fd))
			continue;
		w[n++] = (struct weft__waiter){
			.fd = fd,
			.events = (in[0] || in[2] ? WEFT_READ : 0) |
				  (in[1] ? WEFT_WRITE : 0),
		};
	}
	return n;
}

/* Parks until a check finds something, or the deadline.  Returns what
 * select returns; the caller's sets are left to the caller. */
static int park(struct weft__co *co, struct select_call *c, int64_t deadline)
{
	struct weft__waiter small[SMALL], *w = small;
	int count = 0, n, droppable, r;

	weft__cancel_point(co);
	for (int fd = 0; fd < c->nfds; fd++)
		for (int i = 0; i < 3; i++)
			if (c->user[i] && FD_ISSET(fd, &c->orig[i])) {
				count++;
				break;
			}
	if (count + 1 > SMALL &&
	    (w = malloc((count + 1) * sizeof *w)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	droppable = add_nodes(c, w, 0, true);
	n = add_nodes(c, w, droppable, false);
	int sfd = c->sigmask ? weft__sigmask_fd(c->sigmask) : -1;
	if (sfd >= 0)
		w[n++] = (struct weft__waiter){ .fd = sfd,
						.events = WEFT_READ };
	r = weft__poll_park(co, w, n, droppable, deadline, check, c);
	weft__sigfd_close(sfd);
	if (w != small)
		free(w);
	if (r < 0 && errno == ECANCELED)
		weft__cancel_act(co);
	return r;
}

/* The real call for sets weft cannot read, with the time left till
 * deadline (negative: none): the kernel gives EFAULT at once. */
static int unreadable(struct select_call *c, int64_t deadline)
{
	int64_t left = deadline - weft__now();
	struct timespec ts = { left > 0 ? left / NS_PER_S : 0,
			       left > 0 ? left % NS_PER_S : 0 };

	return weft__libc()->pselect(c->nfds, c->user[0], c->user[1],
				     c->user[2], deadline < 0 ? NULL : &ts,
				     c->sigmask);
}

/* select and pselect for a coroutine that is not alone, with deadline in
 * monotonic ns (negative: none).  Same results, sets and errno as
 * libc's; the time left is the caller's business. */
static int select_parking(struct weft__co *co, int nfds, fd_set *r,
			  fd_set *w, fd_set *e, int64_t deadline,
			  const sigset_t *sigmask)
{
	struct select_call c = {
		.nfds = nfds,
		.bytes = (nfds + 63) / 64 * 8,
		.user = { r, w, e },
		.sigmask = sigmask,
	};
	int ret;

	for (int i = 0; i < 3; i++)
		if (c.user[i] && !weft__copy_checked(&c.orig[i], c.user[i], c.bytes,
					       false))
			return unreadable(&c, deadline);
	if ((ret = check(&c)) == 0)
		ret = park(co, &c, deadline);
	for (int i = 0; ret >= 0 && i < 3; i++) {
		if (c.user[i] && ret == 0)
			memset(&c.work[i], 0, c.bytes);
		if (c.user[i] &&
		    !weft__copy_checked(c.user[i], &c.work[i], c.bytes, true)) {
			errno = EFAULT;
			return -1;
		}
	}
	return ret;
}

/* Whether the real call should get these arguments unchanged: not ours,
 * too many fds, or a set pointer into the first page. */
static bool pass(struct weft__co *co, int nfds, fd_set *r, fd_set *w,
		 fd_set *e)
{
	fd_set *set[3] = { r, w, e };

	if (co == NULL || nfds < 0 || nfds > FD_SETSIZE || weft__alone(co))
		return true;
	for (int i = 0; i < 3; i++)
		if (set[i] && (uintptr_t)set[i] < 4096)
			return true;
	return false;
}

/* select that parks instead of blocking; same results, sets and errno,
 * and, as Linux does, the time left written back into *tv. */
int weft__select(int nfds, fd_set *r, fd_set *w, fd_set *e,
		 struct timeval *tv)
{
	struct weft__co *co = weft__hooked();
	int64_t deadline = -1;

	if (pass(co, nfds, r, w, e))
		return weft__libc()->select(nfds, r, w, e, tv);
	if (tv) {
		/* glibc's own checks and normalisation: tv_usec is taken
		 * as a 32-bit int, and may exceed a second. */
		int64_t s = tv->tv_sec;
		int32_t us = (int32_t)tv->tv_usec;
		if (s < 0 || us < 0 || (s == 0 && us == 0))
			return weft__libc()->select(nfds, r, w, e, tv);
		s += us / 1000000;
		int64_t ns = s > INT64_MAX / NS_PER_S - 1 ? INT64_MAX :
			s * NS_PER_S + us % 1000000 * 1000LL;
		deadline = weft__deadline(ns);
	}
	int ret = select_parking(co, nfds, r, w, e, deadline, NULL);
	if (tv) {
		int saved = errno;
		int64_t left = deadline - weft__now();
		if (left < 0)
			left = 0;
		tv->tv_sec = left / NS_PER_S;
		tv->tv_usec = left % NS_PER_S / 1000;
		errno = saved;
	}
	return ret;
}

/* pselect that parks instead of blocking; same results, sets and errno.
 * The time-out is left as it was. */
int weft__pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
		  const struct timespec *ts, const sigset_t *sigmask)
{
	struct weft__co *co = weft__hooked();
	struct weft__sigswap sw;
	int64_t deadline = -1;

	if (weft__sigmask_swap(co, sigmask, &sw)) {
		int n = sw.ran ? (errno = EINTR, -1) : weft__pselect(nfds, r, w, e,
								   ts, NULL);
		weft__sigmask_back(co, &sw);
		return n;
	}
	if (pass(co, nfds, r, w, e) ||
	    (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 ||
		    ts->tv_nsec >= NS_PER_S ||
		    (ts->tv_sec == 0 && ts->tv_nsec == 0))))
		return weft__libc()->pselect(nfds, r, w, e, ts, sigmask);
	if (ts) {
		int64_t s = ts->tv_sec;
		deadline = weft__deadline(s > INT64_MAX / NS_PER_S - 1 ?
					  INT64_MAX :
					  s * NS_PER_S + ts->tv_nsec);
	}
	return select_parking(co, nfds, r, w, e, deadline, sigmask);
}

WEFT_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e,
		       struct timeval *tv)
{
	return weft__select(nfds, r, w, e, tv);
}

WEFT_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
			const struct timespec *ts, const sigset_t *sigmask)
{
	return weft__pselect(nfds, r, w, e, ts, sigmask);
}
