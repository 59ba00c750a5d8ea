/* spawn.c - what it costs weft to create, park and end many coroutines.
 *
 * main starts N coroutines with weft_go (N is argv[1], default 1,000,000).
 * Each one says it has started (weft_wg_done on `started`) and parks on a
 * gate (weft_wg_wait on `gate`, whose counter main set to 1).  main waits
 * until all N have started, reads the resident set size while they are all
 * parked, opens the gate (weft_wg_done), and waits on a third wait group
 * until every coroutine has ended.  Times come from CLOCK_MONOTONIC; RSS
 * from /proc/self/statm (resident pages times the page size).
 *
 * It prints one line, for a person and for bench/run alike:
 *
 *   spawn weft: n=N create+park_us=A release+exit_us=B rss_kib=C
 *
 * A: µs per coroutine from the first weft_go until all are parked.
 * B: µs per coroutine from opening the gate until all have ended.
 * C: KiB per parked coroutine, (RSS with all parked - RSS before the
 *    first weft_go) / N.
 *
 * spawn.go does the same with goroutines, for comparison.
 *
 * `spawn --fault-floor` measures instead what the kernel charges for the
 * first touch of a fresh page, strided as weft's stacks are: a parked
 * coroutine needs exactly one such page (its stack top, which also holds
 * its struct), so this is the floor under create+park on this machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <weft.h>

static weft_wg started, gate, finished;

/* The monotonic clock in nanoseconds. */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The resident set size in bytes, from /proc/self/statm. */
static double rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size, resident;

	if (f == NULL || fscanf(f, "%lu %lu", &size, &resident) != 2) {
		perror("spawn: /proc/self/statm");
		exit(1);
	}
	fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* One coroutine: reports in, parks until the gate opens, then ends. */
static void parker(void *arg)
{
	(void)arg;
	weft_wg_done(&started);
	weft_wg_wait(&gate);
	weft_wg_done(&finished);
}

/* µs for the first touch of one fresh page, best of three rounds of
 * 100,000 pages spaced like 256 KiB stacks. */
static double fault_floor(void)
{
	const long pages = 100000, stride = 272 << 10;
	double best = 1e9;

	for (int round = 0; round < 3; round++) {
		char *p = mmap(NULL, pages * stride, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		if (p == MAP_FAILED) {
			perror("spawn: mmap");
			exit(1);
		}
		double t = now_ns();
		for (long i = 0; i < pages; i++)
			p[(i + 1) * stride - 64] = 1;
		t = (now_ns() - t) / 1e3 / (double)pages;
		best = t < best ? t : best;
		munmap(p, pages * stride);
	}
	return best;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--fault-floor") == 0) {
		printf("%.3f\n", fault_floor());
		return 0;
	}
	/* --warm: one untimed round first, so the timed one reuses the
	 * pooled stacks, as a server does after its first connections. */
	bool warm = argc > 1 && strcmp(argv[1], "--warm") == 0;
	if (warm)
		argc--, argv++;
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	double rss0, rss1, t0, t1, t2, t3;

	if (n <= 0) {
		fprintf(stderr, "usage: %s [--warm] [number of coroutines > 0]\n",
			argv[0]);
		return 2;
	}

	/* Make the scheduler before the baseline so that its own memory is
	 * not charged to the coroutines: the first call makes it. */
	weft_yield();
	for (int round = warm ? 0 : 1; round < 2; round++) {
		rss0 = rss_bytes();
		weft_wg_add(&gate, 1);
		weft_wg_add(&started, n);
		weft_wg_add(&finished, n);
		t0 = now_ns();
		for (long i = 0; i < n; i++) {
			if (weft_go(parker, NULL) != 0) {
				fprintf(stderr, "spawn: weft_go failed after "
					"%ld coroutines: %s\n", i,
					strerror(errno));
				return 1;
			}
		}
		weft_wg_wait(&started);
		t1 = now_ns();
		rss1 = rss_bytes();
		t2 = now_ns();
		weft_wg_done(&gate);
		weft_wg_wait(&finished);
		t3 = now_ns();
	}

	printf("spawn weft%s: n=%ld create+park_us=%.3f release+exit_us=%.3f "
	       "rss_kib=%.2f\n", warm ? "-warm" : "", n, (t1 - t0) / 1e3 / (double)n,
	       (t3 - t2) / 1e3 / (double)n, (rss1 - rss0) / 1024 / (double)n);
	return 0;
}
