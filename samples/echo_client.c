/* echo_client.c - many echo clients at once, on one thread.
 *
 * Each connection is a coroutine written as a plain sequential client:
 * connect, then send a message and read the echo back, again and again.
 * All of them run at the same time; while one waits for its echo, the
 * others send theirs.
 *
 *   cc echo_client.c $(pkg-config --cflags --libs weft)
 *   ./echo_client [PORT [CONNECTIONS [MESSAGES [SIZE]]]]
 *
 * Defaults: port 7000, 100 connections, 1000 messages of 64 bytes each.
 * It checks every echo byte for byte, prints the totals, and exits with
 * status 0 only if nothing went wrong.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

static int port = 7000;
static long connections = 100, messages = 1000, size = 64;

/* Totals; coroutines of one thread never run at the same instant, so
 * plain counters are safe. */
static long long echoed;
static long errors;
static weft_wg all_done = WEFT_WG_INIT;

/* Reads exactly n bytes into buf; -1 on an error or early end. */
static int read_all(int fd, char *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, buf, n);
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Writes all n bytes of buf; -1 on an error. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A connection to 127.0.0.1:port, or -1. */
static int dial(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_port = htons(port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* One client: its messages differ from every other's, so a reply sent
 * to the wrong connection would be noticed. */
static void client(void *arg)
{
	long id = (long)(intptr_t)arg;
	char *out = malloc(size), *in = malloc(size);
	int fd = dial();

	if (fd < 0 || out == NULL || in == NULL) {
		errors++;
		goto done;
	}
	for (long m = 0; m < messages; m++) {
		for (long i = 0; i < size; i++)
			out[i] = (char)(id * 31 + m * 7 + i);
		if (write_all(fd, out, size) < 0 || read_all(fd, in, size) < 0) {
			errors++;
			break;
		}
		if (memcmp(in, out, size) != 0)
			errors++;
		echoed += size;
	}
	close(fd);
done:
	free(out);
	free(in);
	weft_wg_done(&all_done);
}

int main(int argc, char **argv)
{
	struct rlimit rl;

	if (argc > 1)
		port = atoi(argv[1]);
	if (argc > 2)
		connections = atol(argv[2]);
	if (argc > 3)
		messages = atol(argv[3]);
	if (argc > 4)
		size = atol(argv[4]);
	if (size < 1)
		size = 1;
	/* Every connection is an fd: allow as many as the system lets us. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	int64_t start = weft_now();
	weft_wg_add(&all_done, connections);
	for (long c = 0; c < connections; c++) {
		if (weft_go(client, (void *)(intptr_t)c) < 0) {
			errors++;
			weft_wg_done(&all_done);
		}
	}
	weft_wg_wait(&all_done); /* main parks here while the clients run */
	double secs = (weft_now() - start) / 1e9;

	printf("echo_client: %ld connections, %lld bytes echoed, %ld errors, "
	       "%.3f s, %.1f MB/s, %.0f messages/s\n", connections, echoed,
	       errors, secs, echoed / secs / 1e6, echoed / size / secs);
	return errors == 0 ? 0 : 1;
}
