/* glib_mutex.c - GLib's GMutex and GCond between threads that block in
 * read() while holding the mutex: the pattern that froze every green
 * thread before futex waits parked (GLib locks with syscall(SYS_futex)).
 *
 *   glib_mutex THREADS ROUNDS
 *
 * Each of THREADS workers does ROUNDS times: lock the mutex, read one byte
 * from its own pipe (which main fills a byte at a time, round-robin, so a
 * holder always waits for main while the others wait for the mutex),
 * bump a shared counter, signal a condition, unlock.  main feeds the
 * pipes, waits on the condition until the counter reaches THREADS *
 * ROUNDS, and prints "counter=N" and the largest number of workers ever
 * inside the critical section at once (must be 1).  Exit 0 when right.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static GMutex mutex;
static GCond changed;
static long counter, inside, most, rounds;
static int *pipes; /* thread i reads pipes[2 * i], main writes 2 * i + 1 */

static gpointer worker(gpointer arg)
{
	int me = GPOINTER_TO_INT(arg);
	char byte;

	for (long i = 0; i < rounds; i++) {
		g_mutex_lock(&mutex);
		if (++inside > most)
			most = inside;
		if (read(pipes[2 * me], &byte, 1) != 1)
			abort();
		counter++;
		inside--;
		g_cond_signal(&changed);
		g_mutex_unlock(&mutex);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 8;
	rounds = argc > 2 ? atol(argv[2]) : 200;
	GThread **threads = g_new(GThread *, n);

	pipes = g_new(int, 2 * n);
	for (int i = 0; i < n; i++)
		if (pipe(&pipes[2 * i]) != 0)
			return 1;
	for (int i = 0; i < n; i++)
		threads[i] = g_thread_new("worker", worker, GINT_TO_POINTER(i));
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < n; i++)
			if (write(pipes[2 * i + 1], "x", 1) != 1)
				return 1;
	g_mutex_lock(&mutex);
	while (counter < n * rounds)
		g_cond_wait(&changed, &mutex);
	g_mutex_unlock(&mutex);
	for (int i = 0; i < n; i++)
		g_thread_join(threads[i]);
	printf("counter=%ld most=%ld\n", counter, most);
	return counter == n * rounds && most == 1 ? 0 : 1;
}
