/* read_cost.c - what weft's read() adds to a read that does not wait.
 *
 *   read_cost [READS [RUNS]]      defaults: 200000 reads, 7 runs
 *
 * In a coroutine that is not alone (a second one is parked, so the
 * wrapper takes its full path rather than the lone-coroutine shortcut),
 * it reads one byte at a time from an AF_UNIX socket whose peer has sent
 * plenty: READS reads through read() (weft's wrapper) and READS through
 * syscall(SYS_read) (the bare system call), alternating runs, and prints
 * the best run of each in ns per call and their ratio.  Only the reads
 * are timed; the socket is refilled between batches of 64 KiB.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <weft.h>

#define BATCH 65536 /* bytes sent at a time; the socket holds that */

static int sv[2];
static char fill[BATCH];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Reads n bytes (at most BATCH) one at a time, through weft (raw false)
 * or not, after sending them; returns the ns the reads took. */
static int64_t time_batch(long n, bool raw)
{
	char c;

	if (write(sv[1], fill, (size_t)n) != n) {
		perror("read_cost: refill");
		exit(1);
	}
	int64_t t0 = now_ns();
	if (raw) {
		for (long i = 0; i < n; i++)
			if (syscall(SYS_read, sv[0], &c, 1) != 1)
				goto broken;
	} else {
		for (long i = 0; i < n; i++)
			if (read(sv[0], &c, 1) != 1)
				goto broken;
	}
	return now_ns() - t0;
broken:
	perror("read_cost: read");
	exit(1);
}

/* The second coroutine: parked until the end, so main is not alone. */
static void bystander(void *arg)
{
	char c;

	(void)read(*(int *)arg, &c, 1);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	int runs = argc > 2 ? atoi(argv[2]) : 7, gate[2];
	int64_t best[2] = { INT64_MAX, INT64_MAX };

	if (n < 1 || runs < 1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(gate) < 0) {
		fprintf(stderr, "usage: read_cost [READS [RUNS]]\n");
		return 2;
	}
	memset(fill, 'x', sizeof fill);
	weft_go(bystander, &gate[0]);
	weft_yield(); /* let it park */

	/* Runs of READS calls each way, in batches that alternate between
	 * the two so that the machine's ups and downs hit both alike; a
	 * run's time is the sum of its batches. */
	time_batch(BATCH, false); /* warm both paths up */
	time_batch(BATCH, true);
	for (int r = 0; r < runs; r++) {
		int64_t spent[2] = { 0, 0 };
		for (long left = n; left > 0; left -= BATCH) {
			long batch = left < BATCH ? left : BATCH;
			for (int raw = 0; raw < 2; raw++)
				spent[raw] += time_batch(batch, raw);
		}
		for (int raw = 0; raw < 2; raw++)
			if (spent[raw] < best[raw])
				best[raw] = spent[raw];
	}
	double wrapped = (double)best[0] / n, bare = (double)best[1] / n;
	printf("read_cost: %ld one-byte reads of a ready socket, best of %d "
	       "runs\n", n, runs);
	printf("  weft read()          %7.1f ns/call\n", wrapped);
	printf("  syscall(SYS_read)    %7.1f ns/call\n", bare);
	printf("  wrapper/raw = %.3fx  (target <= 1.05x)\n", wrapped / bare);
	(void)write(gate[1], "x", 1);
	return 0;
}
