/* sleepers.c - ten thousand coroutines on one thread.
 *
 * Each coroutine sleeps a few milliseconds, yields, sleeps again, and
 * counts itself done; main waits for all of them with a wait group.  The
 * whole run takes about as long as one coroutine's sleeps, not the sum.
 *
 *   cc sleepers.c $(pkg-config --cflags --libs weft)
 */
#include <stdio.h>
#include <stdlib.h>

#include <weft.h>

static weft_wg all_done = WEFT_WG_INIT;
static long rounds_run;

static void sleeper(void *arg)
{
	long id = (long)arg;

	for (int round = 0; round < 3; round++) {
		weft_sleep((id % 10 + 1) * 1000000); /* 1 to 10 ms */
		weft_yield();
		rounds_run++;
	}
	weft_wg_done(&all_done);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000;
	int64_t start = weft_now();

	weft_wg_add(&all_done, n);
	for (long i = 0; i < n; i++) {
		if (weft_go(sleeper, (void *)i) < 0) {
			perror("weft_go");
			return 1;
		}
	}
	weft_wg_wait(&all_done);
	double ms = (weft_now() - start) / 1e6;
	printf("%ld coroutines ran %ld rounds of sleep+yield in %.1f ms"
	       " on one thread\n", n, rounds_run, ms);
	return rounds_run == 3 * n ? 0 : 1;
}
