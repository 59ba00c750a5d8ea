/* mqueue.c - POSIX message queues: mq_receive, mq_timedreceive, mq_send
 * and mq_timedsend.
 *
 * On Linux a message queue descriptor is an fd that poll reports readable
 * while the queue holds a message and writable while it has room, but
 * the calls take no flag that stops them waiting, and the queue's
 * O_NONBLOCK belongs to its open description, shared with every thread.
 * So a coroutine that is not alone asks first with a time-out already
 * past (the epoch): the kernel hands over a message or room at once if
 * there is one, and otherwise gives ETIMEDOUT, or EAGAIN for a queue the
 * program opened non-blocking, which is the program's answer.  On
 * ETIMEDOUT the coroutine parks until the fd is ready, or the caller's
 * time-out passes, and asks again.  The caller's time-out is checked
 * first, as the kernel checks it on entry, message or not.
 *
 * mq_open records its fd and mq_close is close, so that a number a queue
 * had and a new file takes is not mistaken for the old one.
 *
 * The calls are cancellation points, as glibc makes them.  A signal's
 * handler ends the wait with EINTR unless every handler run has
 * SA_RESTART: the kernel restarts them then, timed or not (their time-out
 * is absolute).
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdarg.h>

#include "cancel.h"
#include "green.h"
#include "hooks.h"
#include "io.h"

/* One call: a receive (msg, len, prio out) or a send (prio in). */
struct mq_call {
	mqd_t q;
	char *msg;
	size_t len;
	unsigned *prio_out;
	unsigned prio;
	bool send;
};

/* The real call, waiting until abs at most.  Returns what it returns. */
static long real_call(const struct mq_call *c, const struct timespec *abs)
{
	const struct weft__real *libc = weft__libc();

	return c->send ? libc->mq_timedsend(c->q, c->msg, c->len, c->prio, abs)
		       : libc->mq_timedreceive(c->q, c->msg, c->len,
					       c->prio_out, abs);
}

/* c's call for a coroutine that is not alone, until abs (NULL: none).
 * Returns what the real call returns, with its errno. */
static long parked_call(const struct mq_call *c, const struct timespec *abs)
{
	struct timespec past = { 0, 0 }, t; /* writable: qemu-user asks */
	struct weft__co *co = weft__running;
	int64_t deadline = -1;
	int saved = errno;

	weft__cancel_point(co);
	/* A time-out the kernel rejects (unreadable, out of range) is the
	 * real call's to reject, at once. */
	if (abs != NULL &&
	    (!weft__copy_checked(&t, abs, sizeof t, false) || t.tv_sec < 0 ||
	     weft__green_deadline(CLOCK_REALTIME, &t, &deadline) != 0))
		return real_call(c, abs);
	for (;;) {
		long r = real_call(c, &past);
		if (r >= 0 || errno != ETIMEDOUT) {
			if (r >= 0)
				errno = saved;
			return r;
		}
		int ev;
		do {
			weft__cancel_mark(co);
			ev = weft__wait_fd(co, c->q,
					   c->send ? WEFT_WRITE : WEFT_READ,
					   deadline);
		} while (ev == -EINTR && weft__sig_run(co) != 0);
		if (ev == -ECANCELED)
			weft__cancel_act(co);
		if (ev == -ETIMEDOUT) {
			/* A message (or room) that came with the deadline
			 * is still taken, as the kernel's wait would. */
			r = real_call(c, &past);
			if (r >= 0)
				errno = saved;
			return r;
		}
		if (ev < 0) {
			errno = -ev;
			return -1;
		}
	}
}

/* mq_timedreceive that parks while the queue is empty; same results and
 * errno. */
static ssize_t timedreceive(mqd_t q, char *msg, size_t len, unsigned *prio,
			      const struct timespec *abs)
{
	if (!weft__may_park())
		return weft__libc()->mq_timedreceive(q, msg, len, prio, abs);
	struct mq_call c = { .q = q, .msg = msg, .len = len,
			     .prio_out = prio };
	return parked_call(&c, abs);
}

/* mq_timedsend that parks while the queue is full; same results and
 * errno. */
static int timedsend(mqd_t q, const char *msg, size_t len, unsigned prio,
		       const struct timespec *abs)
{
	if (!weft__may_park())
		return weft__libc()->mq_timedsend(q, msg, len, prio, abs);
	struct mq_call c = { .q = q, .msg = (char *)msg, .len = len,
			     .prio = prio, .send = true };
	return (int)parked_call(&c, abs);
}

WEFT_EXPORT mqd_t mq_open(const char *name, int oflag, ...)
{
	mode_t mode = 0;
	struct mq_attr *attr = NULL;

	if (oflag & O_CREAT) {
		va_list ap;
		va_start(ap, oflag);
		mode = va_arg(ap, mode_t);
		attr = va_arg(ap, struct mq_attr *);
		va_end(ap);
	}
	mqd_t q = weft__libc()->mq_open(name, oflag, mode, attr);
	if (q >= 0)
		weft__fd_made(q, oflag & O_NONBLOCK ? WEFT__FD_NB : 0);
	return q;
}

WEFT_EXPORT int mq_close(mqd_t q)
{
	return weft__close(q);
}

WEFT_EXPORT ssize_t mq_timedreceive(mqd_t q, char *msg, size_t len,
				    unsigned *prio, const struct timespec *abs)
{
	return timedreceive(q, msg, len, prio, abs);
}

WEFT_EXPORT ssize_t mq_receive(mqd_t q, char *msg, size_t len,
			       unsigned *prio)
{
	return timedreceive(q, msg, len, prio, NULL);
}

WEFT_EXPORT int mq_timedsend(mqd_t q, const char *msg, size_t len,
			     unsigned prio, const struct timespec *abs)
{
	return timedsend(q, msg, len, prio, abs);
}

WEFT_EXPORT int mq_send(mqd_t q, const char *msg, size_t len, unsigned prio)
{
	return timedsend(q, msg, len, prio, NULL);
}
