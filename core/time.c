/* time.c - the monotonic clock every time-out in weft is measured on. */
#include <time.h>

#include "core.h"

/* Monotonic time in nanoseconds (vDSO: no system call). */
int64_t weft__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Turns a relative time-out into a deadline; negative means none, and a
 * huge time-out saturates instead of wrapping. */
int64_t weft__deadline(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return -1;
	int64_t now = weft__now();
	return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

/* See weft.h. */
int64_t weft_now(void)
{
	return weft__now();
}
