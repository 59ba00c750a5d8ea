/* sleep.c - sleep, usleep, nanosleep, clock_nanosleep.
 *
 * In a coroutine that is not alone, a sleep parks the coroutine until its
 * time is up.  A signal sent to the green thread (pthread_kill) cuts it
 * short after its handler ran, with EINTR and the time left; one the
 * kernel delivers to the OS thread does not (its handler runs wherever
 * the thread is).  Alone, the real call sleeps the thread, with EINTR and
 * the time left as libc gives them.  A sleep of zero yields:
 * programs that sleep(0) or nanosleep a zero time in a loop, waiting for
 * another thread to act, need the other coroutines to run.
 */
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#include "hooks.h"
#include "io.h"
#include "cancel.h"
#include "green.h"

#define NS_PER_S 1000000000LL

/* Whether the kernel accepts *ts as a time-out, as nanosleep checks it
 * (readable, tv_sec >= 0, tv_nsec in [0, 999999999]); if so, *ns gets it
 * in ns, saturated.  A bad pointer must give EFAULT, not a fault here, so
 * the kernel reads it first: FUTEX_WAIT checks its time-out exactly so,
 * then finds the futex word is not the value it expects and returns
 * EAGAIN without waiting.  Keeps errno. */
bool weft__timespec_ns(const struct timespec *ts, int64_t *ns)
{
	int saved = errno, word = 0;

	if (ts == NULL) /* no time-out to the futex: the real call's EFAULT */
		return false;
	long r = weft__libc()->syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1,
				       ts, NULL, 0);
	bool ok = r < 0 && errno == EAGAIN;

	errno = saved;
	if (!ok)
		return false;
	*ns = ts->tv_sec > (INT64_MAX - ts->tv_nsec) / NS_PER_S ?
		INT64_MAX : ts->tv_sec * NS_PER_S + ts->tv_nsec;
	return true;
}

/* Parks co until deadline (monotonic ns) has passed (one already passed
 * yields, see weft__sleep_until).  A cancellation point.  Returns 0, or the time left
 * (at least 1 ns) when handlers of a signal sent to this green thread ran
 * (a sleep is never restarted).  Keeps errno. */
static int64_t park_until(struct weft__co *co, int64_t deadline)
{
	int saved = errno, r;

	weft__cancel_point(co);
	do
		r = weft__cancel_leave(co, weft__sleep_until(co, deadline,
							     true));
	while (r == EINTR && weft__sig_run(co) < 0);
	errno = saved;
	if (r != EINTR)
		return 0;
	int64_t left = deadline - weft__now();
	return left > 0 ? left : 1;
}

/* Writes ns into *ts, if ts is not NULL. */
static void put_left(struct timespec *ts, int64_t ns)
{
	if (ts != NULL)
		*ts = (struct timespec){ ns / NS_PER_S, ns % NS_PER_S };
}

/* sleep that parks instead of blocking.  Returns 0, or, when a handler
 * interrupted it, the whole seconds left with errno EINTR, as glibc. */
unsigned weft__sleep(unsigned seconds)
{
	struct weft__co *co = weft__hooked();

	if (co == NULL || weft__alone(co))
		return weft__libc()->sleep(seconds);
	int64_t left = park_until(co, weft__deadline(seconds * NS_PER_S));
	if (left == 0)
		return 0;
	errno = EINTR; /* glibc: nanosleep's, left as it is */
	return (unsigned)(left / NS_PER_S); /* whole seconds, as glibc */
}

/* usleep that parks instead of blocking.  Returns 0 (glibc accepts any
 * count, a million microseconds or more too), or -1 with EINTR. */
int weft__usleep(useconds_t usec)
{
	struct weft__co *co = weft__hooked();

	if (co == NULL || weft__alone(co))
		return weft__libc()->usleep(usec);
	if (park_until(co, weft__deadline(usec * 1000LL)) == 0)
		return 0;
	errno = EINTR;
	return -1;
}

/* nanosleep that parks instead of blocking.  Returns 0, or what the real
 * call gives for a time the kernel rejects (-1 with EFAULT or EINVAL, at
 * once), or -1 with EINTR, the time left in rem, when a handler of a
 * signal sent to this green thread ran. */
int weft__nanosleep(const struct timespec *req, struct timespec *rem)
{
	struct weft__co *co = weft__hooked();
	int64_t ns;

	if (co == NULL || weft__alone(co) || !weft__timespec_ns(req, &ns))
		return weft__libc()->nanosleep(req, rem);
	int64_t left = park_until(co, weft__deadline(ns));
	if (left == 0)
		return 0;
	put_left(rem, left);
	errno = EINTR;
	return -1;
}

/* The time on clock, in ns. */
static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* clock_nanosleep that parks instead of blocking, on the clocks that tick
 * with real time (CPU-time clocks, and clocks Linux cannot sleep on, go
 * to the real call, which gives EINVAL or ENOTSUP, or sleeps the thread).
 * Returns 0 or an error number (not -1).  A sleep to a time is measured
 * on its clock at each wake, so a CLOCK_REALTIME clock set back while
 * the coroutine is parked makes it sleep on; one set forward is noticed
 * only at the planned wake (a limit: the kernel would end the sleep at
 * once).  A sleep for a time is measured as elapsed time, which setting
 * a clock does not change, as in the kernel; on CLOCK_BOOTTIME that
 * counts the time suspended too. */
int weft__clock_nanosleep(clockid_t clock, int flags,
			  const struct timespec *req, struct timespec *rem)
{
	struct weft__co *co = weft__hooked();
	int64_t ns;

	if (co == NULL || weft__alone(co) ||
	    (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME &&
	     clock != CLOCK_BOOTTIME && clock != CLOCK_TAI) ||
	    !weft__timespec_ns(req, &ns))
		return weft__libc()->clock_nanosleep(clock, flags, req, rem);
	clockid_t on = flags & TIMER_ABSTIME ? clock :
		clock == CLOCK_BOOTTIME ? CLOCK_BOOTTIME : CLOCK_MONOTONIC;
	int64_t target = ns;
	if (!(flags & TIMER_ABSTIME)) {
		int64_t now = clock_ns(on);
		target = ns > INT64_MAX - now ? INT64_MAX : now + ns;
	}
	int64_t left = target - clock_ns(on);
	if (left <= 0)
		weft_yield();
	for (; left > 0; left = target - clock_ns(on)) {
		if (park_until(co, weft__deadline(left)) == 0)
			continue;
		if (!(flags & TIMER_ABSTIME))
			put_left(rem, target - clock_ns(on) > 0 ?
					      target - clock_ns(on) : 0);
		return EINTR;
	}
	return 0;
}

WEFT_EXPORT unsigned sleep(unsigned seconds)
{
	return weft__sleep(seconds);
}

WEFT_EXPORT int usleep(useconds_t usec)
{
	return weft__usleep(usec);
}

WEFT_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	return weft__nanosleep(req, rem);
}

WEFT_EXPORT int clock_nanosleep(clockid_t clock, int flags,
				const struct timespec *req,
				struct timespec *rem)
{
	return weft__clock_nanosleep(clock, flags, req, rem);
}
