/* cpuecho.c - a thread-per-connection echo server whose requests cost CPU.
 *
 *   cpuecho [--size BYTES] [--us MICROSECONDS] [--rounds N] [--calibrate]
 *           [PORT]
 *
 * Plain pthreads, built without weft: an accept loop and one detached
 * thread per connection, which reads a request of BYTES (64) bytes,
 * hashes it (bench/cpuwork.h: FNV-1a, N rounds) and writes back the
 * request followed by the 12-byte trailer that carries the hash.  Under
 * weft (`weft cpuecho`) the threads become green threads, and how many
 * CPUs serve them is weft's business: this is what the benchmark of
 * weft's schedulers runs, against the same binary on real threads and
 * against bench/cpuecho.go.
 *
 * At start it times the hash and picks N so that one request costs about
 * MICROSECONDS (40) of CPU on this machine, unless --rounds fixes N; then
 * it prints, on stdout,
 *
 *   cpuecho: rounds=N us_per_request=T size=BYTES (calibrated|given)
 *   cpuecho: listening on 127.0.0.1:PORT
 *
 * and serves until killed.  PORT 0 (the default) picks a free one.
 * --calibrate prints the first line and exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cpuwork.h"

#define MAX_SIZE (64 * 1024)
#define STACK (64 * 1024) /* as threaded_echo and servers with many threads */

static size_t size = 64;
static uint32_t rounds;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The fewest ns that `n` rounds over a request took in `trials` tries:
 * the least disturbed run is the cost of the work itself. */
static double time_rounds(uint32_t n, int trials)
{
	unsigned char msg[MAX_SIZE];
	double best = 0;

	for (size_t i = 0; i < size; i++)
		msg[i] = (unsigned char)(i * 131);
	for (int t = 0; t < trials; t++) {
		double t0 = now_ns();
		uint64_t h = cpuwork_hash(msg, size, n);
		double ns = now_ns() - t0;
		msg[0] ^= (unsigned char)h; /* keeps every trial's hash live */
		if (t == 0 || ns < best)
			best = ns;
	}
	return best;
}

/* Reads exactly len bytes; returns len, 0 at a clean end of the stream,
 * or -1 (errno set, or 0 for a stream that ended mid-request). */
static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && got == 0)
			return 0;
		if (n <= 0) {
			if (n == 0)
				errno = 0;
			return -1;
		}
		got += (size_t)n;
	}
	return (ssize_t)len;
}

/* Writes all of buf; returns 0, or -1 with errno set. */
static int write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One connection: request, hash, reply, until EOF or an error. */
static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	unsigned char *buf = malloc(size + CPUWORK_TRAILER);

	while (buf && read_full(fd, buf, size) > 0) {
		uint64_t h = cpuwork_hash(buf, size, rounds);
		cpuwork_put_trailer(buf + size, rounds, h);
		if (write_all(fd, buf, size + CPUWORK_TRAILER) < 0)
			break;
	}
	free(buf);
	close(fd);
	return NULL;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, len) < 0 ||
	    listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		perror("cpuecho: listen");
		exit(1);
	}
	printf("cpuecho: listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: cpuecho [--size BYTES] [--us MICROSECONDS] "
		"[--rounds N] [--calibrate] [PORT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double target_us = 40;
	bool calibrate_only = false;
	int port = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--size") == 0 && i + 1 < argc)
			size = strtoul(argv[++i], NULL, 0);
		else if (strcmp(a, "--us") == 0 && i + 1 < argc)
			target_us = atof(argv[++i]);
		else if (strcmp(a, "--rounds") == 0 && i + 1 < argc)
			rounds = (uint32_t)strtoul(argv[++i], NULL, 0);
		else if (strcmp(a, "--calibrate") == 0)
			calibrate_only = true;
		else if (a[0] != '-')
			port = atoi(a);
		else
			usage();
	}
	if (size < 1 || size > MAX_SIZE || target_us <= 0)
		usage();

	bool given = rounds > 0;
	if (!given) {
		double per_round = time_rounds(20000, 10) / 20000;
		rounds = (uint32_t)(target_us * 1000 / per_round + 0.5);
		if (rounds < 1)
			rounds = 1;
	}
	printf("cpuecho: rounds=%u us_per_request=%.1f size=%zu (%s)\n",
	       rounds, time_rounds(rounds, 50) / 1000, size,
	       given ? "given" : "calibrated");
	fflush(stdout);
	if (calibrate_only)
		return 0;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, STACK);

	int lfd = listen_on(port);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
				usleep(10000);
			else if (errno != EINTR && errno != ECONNABORTED) {
				perror("cpuecho: accept");
				return 1;
			}
			continue;
		}
		pthread_t t;
		int err = pthread_create(&t, &attr, serve, (void *)(long)fd);
		if (err != 0) {
			fprintf(stderr, "cpuecho: pthread_create: %s\n",
				strerror(err));
			close(fd);
		}
	}
}
