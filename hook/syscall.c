/* syscall.c - syscall(2): a coroutine's futex wait parks (core/futex.c),
 * every futex wake reaches the coroutines parked there, a tgkill of the
 * caller's own OS thread is its raise, and every other system call goes
 * straight through.
 */
#include <linux/futex.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "core.h"
#include "green.h"
#include "hooks.h"
#include "real.h"

#define CMD(op) ((op) & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

/* The kernel's futex call, for what weft leaves to it. */
static long real_futex(uint32_t *uaddr, int op, uint32_t val, long arg4,
		       uint32_t *uaddr2, uint32_t val3)
{
	return weft__libc()->syscall(SYS_futex, uaddr, op, val, arg4, uaddr2,
				     val3);
}

/* Sets errno to -r and returns -1 if r is negative, else returns r. */
static long result(long r)
{
	if (r >= 0)
		return r;
	errno = (int)-r;
	return -1;
}

/* The deadline of a wait: timeout relative (FUTEX_WAIT) or absolute
 * (FUTEX_WAIT_BITSET) on the monotonic or, with FUTEX_CLOCK_REALTIME, the
 * realtime clock.  Returns 0 or -EINVAL, as the kernel checks it. */
static int wait_deadline(int op, const struct timespec *ts,
			 int64_t *deadline)
{
	int64_t ns;

	*deadline = -1;
	if (ts == NULL)
		return 0;
	if (CMD(op) == FUTEX_WAIT) {
		if (!weft__timespec_ns(ts, &ns))
			return -EINVAL;
		*deadline = weft__deadline(ns);
		return 0;
	}
	if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000 || ts->tv_sec < 0)
		return -EINVAL;
	return -weft__green_deadline(op & FUTEX_CLOCK_REALTIME ?
				     CLOCK_REALTIME : CLOCK_MONOTONIC, ts,
				     deadline);
}

/* FUTEX_WAIT and FUTEX_WAIT_BITSET from coroutine co: checked as the
 * kernel checks them (the address first, asking the kernel itself), then
 * parked.  A signal sent to co runs its handlers; then, as the kernel,
 * the wait goes on only if it has no time-out and every handler had
 * SA_RESTART (ERESTARTSYS; a timed wait's ERESTART_RESTARTBLOCK gives
 * EINTR), looking at the word again.  Returns 0 or -errno. */
static long futex_wait(struct weft__co *co, uint32_t *uaddr, int op,
		       uint32_t val, const struct timespec *timeout,
		       uint32_t val3)
{
	uint32_t bitset = CMD(op) == FUTEX_WAIT ? FUTEX_BITSET_MATCH_ANY
						 : val3;
	int64_t deadline;

	if (bitset == 0 || ((uintptr_t)uaddr & 3) != 0)
		return -EINVAL;
	/* A shared wake of nobody makes the kernel look the page up: EFAULT
	 * if the word is not readable, as the wait would say. */
	long r = real_futex(uaddr, FUTEX_WAKE, 0, 0, NULL, 0);
	if (r < 0)
		return -errno;
	r = wait_deadline(op, timeout, &deadline);
	if (r < 0)
		return r;
	for (;;) {
		r = weft__futex_wait(co, uaddr, val, bitset, deadline);
		if (r != -EINTR)
			return r;
		int ran = weft__sig_run(co);
		if (ran == 0 || (ran > 0 && deadline >= 0))
			return r;
	}
}

/* FUTEX_WAKE and FUTEX_WAKE_BITSET: coroutines parked here first, then
 * threads waiting in the kernel.  Returns how many woke, or -errno. */
static long futex_wake(uint32_t *uaddr, int op, uint32_t val, uint32_t val3)
{
	uint32_t bitset = CMD(op) == FUTEX_WAKE ? FUTEX_BITSET_MATCH_ANY
						 : val3;
	int n = (int)val;

	if (bitset == 0)
		return -EINVAL;
	int ours = weft__futex_wake(uaddr, n, bitset);
	if (ours > 0 && ours >= n)
		return ours;
	long r = real_futex(uaddr, op, (uint32_t)(n - ours), 0, NULL, val3);
	return r < 0 ? -errno : ours + r;
}

/* The futex operations; see futex(2).  Returns what the kernel would, or
 * -1 with its errno. */
static long futex(uint32_t *uaddr, int op, uint32_t val, long arg4,
		  uint32_t *uaddr2, uint32_t val3)
{
	struct weft__co *co = weft__hooked();
	long r;

	switch (CMD(op)) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		if (co == NULL || weft__alone(co))
			break;
		return result(futex_wait(co, uaddr, op, val,
					 (const struct timespec *)arg4, val3));
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		return result(futex_wake(uaddr, op, val, val3));
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE:
	case FUTEX_WAKE_OP:
		/* The kernel does the compare, the atomic operation and its
		 * own waiters; the coroutines parked on either word all wake,
		 * a spurious wake-up their protocol allows. */
		r = real_futex(uaddr, op, val, arg4, uaddr2, val3);
		if (r < 0)
			return r;
		r += weft__futex_wake(uaddr, INT32_MAX, FUTEX_BITSET_MATCH_ANY);
		if (uaddr2 != uaddr)
			weft__futex_wake(uaddr2, INT32_MAX,
					 FUTEX_BITSET_MATCH_ANY);
		return r;
	}
	return real_futex(uaddr, op, val, arg4, uaddr2, val3);
}

/* tgkill or tkill (number) of the calling OS thread from a program
 * thread, whose OS thread's mask is weft's: the thread's own raise.
 * Returns false (*r untouched) for any other. */
static bool kills_self(long number, const long *a, long *r)
{
	long tid = number == SYS_tgkill ? a[1] : a[0];

	if ((number != SYS_tgkill && number != SYS_tkill) ||
	    !weft__sig_routing || weft__hooked() == NULL ||
	    (number == SYS_tgkill && a[0] != getpid()) ||
	    tid != weft__libc()->syscall(SYS_gettid))
		return false;
	*r = weft__raise((int)(number == SYS_tgkill ? a[2] : a[1]));
	return true;
}

/* Reads six arguments whatever the call takes, as glibc's own syscall()
 * loads six registers: past what a caller passed, the sixth is whatever
 * lies on its stack, which AddressSanitizer must not take for a bug. */
__attribute__((no_sanitize_address))
WEFT_EXPORT long syscall(long number, ...)
{
	va_list ap;
	long a[6];

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	long r;
	if (weft__unlikely(kills_self(number, a, &r)))
		return r;
	if (weft__likely(number != SYS_futex))
		return weft__libc()->syscall(number, a[0], a[1], a[2], a[3],
					     a[4], a[5]);
	return futex((uint32_t *)a[0], (int)a[1], (uint32_t)a[2], a[3],
		     (uint32_t *)a[4], (uint32_t)a[5]);
}
