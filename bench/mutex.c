/* mutex.c - what a green thread's pthread_mutex_lock costs.
 *
 *   WEFT_THREADS=green mutex [PAIRS [RUNS]]   defaults: 2000000 pairs,
 *                                             7 runs
 *
 * Two figures, each the best of RUNS runs in ns per operation (on a
 * shared machine noise only ever adds time):
 *
 *   uncontended  one thread locks and unlocks a mutex no one else wants,
 *                PAIRS times: ns per lock+unlock pair.  This is the path
 *                nearly every lock of a real program takes.
 *   a waiter     two threads, one holding the mutex while the other
 *                waits for it in pthread_mutex_lock; the holder then
 *                unlocks and locks again PAIRS / 10 times.  ns per
 *                unlock+lock pair: the unlock wakes the waiter, and the
 *                holder, still running, takes the mutex back before the
 *                waiter can (glibc's mutex and weft's both let it; weft
 *                wakes one waiter at a time, so the later unlocks wake
 *                nobody).  It was a true hand-over, wake, park and
 *                switch each time, while weft's unlock handed the mutex
 *                to the waiter (125 ns a hand-over then).
 *
 * Built against libweft.so, it measures green threads when run with
 * WEFT_THREADS=green (a linked program's threads are native otherwise),
 * whose value it prints; the same binary with WEFT_THREADS=native gives
 * glibc's figures through weft's pass-through wrappers.  A linked
 * program's green threads share one scheduler unless WEFT_CPUS (or
 * weft_cpus) asks for more, so both threads of the second run on one OS
 * thread; natively the two threads are OS threads.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static long pairs, handoffs;
static _Atomic int taker_came;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void check(int r, const char *what)
{
	if (r != 0) {
		fprintf(stderr, "mutex: %s failed (%d)\n", what, r);
		exit(1);
	}
}

/* Locks and unlocks m `pairs` times; returns the ns it took. */
static void *uncontended(void *arg)
{
	(void)arg;
	int64_t t0 = now_ns();
	for (long i = 0; i < pairs; i++) {
		pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
	}
	return (void *)(intptr_t)(now_ns() - t0);
}

/* The second figure's waiter: locks and unlocks m `handoffs` times,
 * mostly after the holder is done. */
static void *taker(void *arg)
{
	(void)arg;
	atomic_store(&taker_came, 1);
	for (long i = 0; i < handoffs; i++) {
		check(pthread_mutex_lock(&m), "lock");
		check(pthread_mutex_unlock(&m), "unlock");
	}
	return NULL;
}

/* The second figure's holder: holds m until the taker waits for it,
 * then unlocks and locks it `handoffs` times; returns the ns that
 * took. */
static void *giver(void *arg)
{
	pthread_t t;

	(void)arg;
	check(pthread_mutex_lock(&m), "lock");
	atomic_store(&taker_came, 0);
	check(pthread_create(&t, NULL, taker, NULL), "pthread_create");
	while (!atomic_load(&taker_came))
		sched_yield();
	sched_yield(); /* let it reach its lock and wait there */
	int64_t t0 = now_ns();
	for (long i = 0; i < handoffs; i++) {
		check(pthread_mutex_unlock(&m), "unlock");
		check(pthread_mutex_lock(&m), "lock");
	}
	int64_t spent = now_ns() - t0;
	check(pthread_mutex_unlock(&m), "unlock");
	check(pthread_join(t, NULL), "pthread_join");
	return (void *)(intptr_t)spent;
}

/* Runs fn on a thread of its own and returns the ns it reports. */
static int64_t timed(void *(*fn)(void *))
{
	pthread_t t;
	void *spent;

	check(pthread_create(&t, NULL, fn, NULL), "pthread_create");
	check(pthread_join(t, &spent), "pthread_join");
	return (intptr_t)spent;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 7;
	int64_t best[2] = { INT64_MAX, INT64_MAX };

	pairs = argc > 1 ? atol(argv[1]) : 2000000;
	handoffs = pairs / 10;
	if (pairs < 10 || runs < 1) {
		fprintf(stderr, "usage: mutex [PAIRS [RUNS]]\n");
		return 2;
	}
	const char *threads = getenv("WEFT_THREADS");
	timed(uncontended); /* warm up: stacks, the pool, the caches */
	timed(giver);
	for (int r = 0; r < runs; r++) {
		int64_t u = timed(uncontended), h = timed(giver);
		if (u < best[0])
			best[0] = u;
		if (h < best[1])
			best[1] = h;
	}
	printf("mutex: WEFT_THREADS=%s, best of %d runs\n",
	       threads ? threads : "", runs);
	printf("  uncontended lock+unlock  %7.1f ns/pair  (%ld pairs)\n",
	       (double)best[0] / pairs, pairs);
	printf("  unlock+lock, a waiter    %7.1f ns/pair  (%ld pairs)\n",
	       (double)best[1] / handoffs, handoffs);
	return 0;
}
