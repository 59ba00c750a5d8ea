/* pthread_time.c - absolute time-outs of the green pthread and sem
 * calls, as deadlines on weft's clock. */
#include <stdint.h>

#include "green.h"

/* See green.h. */
bool weft__green_clock_ok(clockid_t clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC;
}

/* See green.h. */
int weft__green_deadline(clockid_t clock, const struct timespec *abs,
			 int64_t *deadline)
{
	const int64_t sec = 1000000000;

	if (!weft__green_clock_ok(clock) || abs->tv_nsec < 0 ||
	    abs->tv_nsec >= sec)
		return EINVAL;
	if (abs->tv_sec < 0) {
		*deadline = 0;
		return 0;
	}
	if (abs->tv_sec >= INT64_MAX / sec - 1) {
		*deadline = -1;
		return 0;
	}
	int64_t when = abs->tv_sec * sec + abs->tv_nsec;
	if (clock != CLOCK_MONOTONIC) {
		struct timespec now;
		clock_gettime(clock, &now);
		int64_t left = when - (now.tv_sec * sec + now.tv_nsec);
		int64_t mono = weft__now();
		when = left <= 0 ? 0 :
		       left > INT64_MAX - mono ? -1 : mono + left;
	}
	*deadline = when;
	return 0;
}
