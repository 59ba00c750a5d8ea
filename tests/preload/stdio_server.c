/* stdio_server.c - a thread-per-connection line server that talks only
 * through stdio (fdopen, fgets, fprintf, fflush), with two clients of its
 * own: a slow one that sends half a line and waits (at most 10 s) for the
 * fast one to be served before it sends the rest, and the fast one.
 *
 * Natively each connection has its OS thread.  Under weft they are green
 * threads of one OS thread: if the slow connection's fgets blocked that
 * thread, the fast client would not be served until the slow one gave
 * up waiting.  Prints what each client saw and exits 0, or 1 on an
 * error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_int slow_sent, fast_done;
static struct sockaddr_in addr;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* One connection: echoes every line back with "echo " in front. */
static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	FILE *in = fdopen(fd, "r"), *out = fdopen(dup(fd), "w");
	char line[256];

	if (in == NULL || out == NULL)
		die("fdopen");
	while (fgets(line, sizeof line, in) != NULL) {
		fprintf(out, "echo %s", line);
		fflush(out);
	}
	fclose(out);
	fclose(in);
	return NULL;
}

static void *listener(void *arg)
{
	int ls = (int)(intptr_t)arg;

	for (int i = 0; i < 2; i++) {
		pthread_t t;
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			die("accept");
		if (pthread_create(&t, NULL, serve, (void *)(intptr_t)c) != 0)
			die("pthread_create");
		pthread_detach(t);
	}
	return NULL;
}

static FILE *dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		die("connect");
	FILE *io = fdopen(fd, "r+");
	if (io == NULL)
		die("fdopen");
	return io;
}

/* Sends text and reads one line back into line. */
static void ask(FILE *io, const char *text, char *line, int size)
{
	if (fputs(text, io) == EOF || fflush(io) != 0)
		die("client write");
	if (fgets(line, size, io) == NULL)
		die("client fgets");
}

static void *slow(void *arg __attribute__((unused)))
{
	FILE *io = dial();
	char line[256];

	if (fputs("hel", io) == EOF || fflush(io) != 0)
		die("slow write");
	slow_sent = 1;
	for (int i = 0; i < 1000 && !fast_done; i++)
		usleep(10000);
	int saw = fast_done;
	ask(io, "lo\n", line, sizeof line);
	printf("slow got: %s", line);
	printf("fast served while slow waited: %s\n", saw ? "yes" : "no");
	fclose(io);
	return NULL;
}

static void *fast(void *arg __attribute__((unused)))
{
	FILE *io = dial();
	char line[256];

	ask(io, "ping\n", line, sizeof line);
	fast_done = 1;
	printf("fast got: %s", line);
	fclose(io);
	return NULL;
}

int main(void)
{
	pthread_t l, s, f;
	socklen_t len = sizeof addr;
	int ls = socket(AF_INET, SOCK_STREAM, 0);

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(ls, 8) < 0 ||
	    getsockname(ls, (struct sockaddr *)&addr, &len) < 0)
		die("listen");
	if (pthread_create(&l, NULL, listener, (void *)(intptr_t)ls) != 0 ||
	    pthread_create(&s, NULL, slow, NULL) != 0)
		die("pthread_create");
	while (!slow_sent)
		usleep(1000);
	if (pthread_create(&f, NULL, fast, NULL) != 0)
		die("pthread_create");
	pthread_join(f, NULL);
	pthread_join(s, NULL);
	pthread_join(l, NULL);
	return 0;
}
