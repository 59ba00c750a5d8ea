/* park.c - what a parked thread costs: memory per thread blocked in
 * read(), for a plain pthread program, natively and under weft.
 *
 * A program that has never heard of weft (build it with `cc -pthread`)
 * starts N threads (argv[1], default 10,000) with the default attributes;
 * each does one malloc and one write to a __thread variable, as a server's
 * connection thread would, then blocks in read() on a pipe.  main waits
 * until all have started, reads the resident set size and the kernel's
 * memory for stacks and page tables, then writes N bytes to the pipe so
 * each read returns, and joins them all.  Run natively, every thread is an
 * OS thread; under weft (LD_PRELOAD=libweft.so) each is a green thread
 * with its own thread block, parked in read().
 *
 * It prints one line, for a person and for bench/run alike:
 *
 *   park: n=N rss_kib=A kernel_kib=B create_us=C
 *
 * A: KiB of RSS per parked thread (with all parked, less before the first
 *    pthread_create, over N).
 * B: KiB per thread of KernelStack + PageTables (/proc/meminfo, the same
 *    difference): native threads each have a kernel stack.  System-wide,
 *    so other processes' changes blur it a little.
 * C: µs per thread from the first pthread_create until all are parked.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_started = PTHREAD_COND_INITIALIZER;
static long started, n;
static __thread long mine;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Resident bytes, from /proc/self/statm. */
static double rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2) {
		perror("park: /proc/self/statm");
		exit(1);
	}
	fclose(f);
	return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* KernelStack + PageTables from /proc/meminfo, in bytes. */
static double kernel_bytes(void)
{
	char line[256];
	double total = 0, kib;
	FILE *f = fopen("/proc/meminfo", "r");

	if (f == NULL) {
		perror("park: /proc/meminfo");
		exit(1);
	}
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "KernelStack: %lf", &kib) == 1 ||
		    sscanf(line, "PageTables: %lf", &kib) == 1)
			total += kib * 1024;
	}
	fclose(f);
	return total;
}

static void *parker(void *arg)
{
	char *state = malloc(64);
	char c;

	mine = (long)arg;
	snprintf(state, 64, "connection %ld", mine);
	pthread_mutex_lock(&lock);
	if (++started == n)
		pthread_cond_signal(&all_started);
	pthread_mutex_unlock(&lock);
	if (read(pipefd[0], &c, 1) != 1)
		perror("park: read");
	free(state);
	return NULL;
}

int main(int argc, char **argv)
{
	n = argc > 1 ? atol(argv[1]) : 10000;
	if (n < 1 || pipe(pipefd) != 0) {
		fprintf(stderr, "usage: park [threads > 0]\n");
		return 2;
	}
	pthread_t *t = calloc((size_t)n, sizeof *t);
	double rss0 = rss_bytes(), kernel0 = kernel_bytes(), t0 = now_ns();

	for (long i = 0; i < n; i++) {
		int r = pthread_create(&t[i], NULL, parker, (void *)i);
		if (r != 0) {
			fprintf(stderr, "park: pthread_create: %s\n",
				strerror(r));
			return 1;
		}
	}
	pthread_mutex_lock(&lock);
	while (started < n)
		pthread_cond_wait(&all_started, &lock);
	pthread_mutex_unlock(&lock);
	double t1 = now_ns(), rss1 = rss_bytes(), kernel1 = kernel_bytes();

	char *bytes = calloc((size_t)n, 1);
	for (long done = 0; done < n;) {
		ssize_t w = write(pipefd[1], bytes, (size_t)(n - done));
		if (w <= 0) {
			perror("park: write");
			return 1;
		}
		done += w;
	}
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("park: n=%ld rss_kib=%.2f kernel_kib=%.2f create_us=%.2f\n", n,
	       (rss1 - rss0) / 1024 / (double)n,
	       (kernel1 - kernel0) / 1024 / (double)n,
	       (t1 - t0) / 1000 / (double)n);
	return 0;
}
