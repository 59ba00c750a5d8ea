/* echo_server.c - a connection-per-coroutine echo server.
 *
 * It reads like the oldest kind of server: accept a connection, hand it
 * to its own flow of control, and in there read and write back until the
 * client hangs up.  With weft each flow is a coroutine, and a read or
 * write that would block parks only that coroutine, so one OS thread
 * serves thousands of connections, with no callbacks in sight.
 *
 *   cc echo_server.c $(pkg-config --cflags --libs weft)
 *   ./echo_server [PORT] [--once N]
 *
 * It listens on 127.0.0.1:PORT (7000 unless given; 0 picks a free port)
 * and prints the port.  With --once N it takes N connections, and exits
 * when all of them have closed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

static weft_wg open_connections = WEFT_WG_INIT;

/* Writes all n bytes of buf, however many writes it takes. */
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

/* One connection, start to end.  read() parks this coroutine until the
 * client sends something; meanwhile the others run. */
static void serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096]; /* on the coroutine's stack: small keeps memory low */
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write_all(fd, buf, (size_t)n) < 0)
			break;
	close(fd);
	weft_wg_done(&open_connections);
}

/* A socket listening on 127.0.0.1:port; port 0 picks a free one. */
static int listen_on(int port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_port = htons(port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof addr;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, len) < 0 ||
	    listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
		perror("echo_server: listen");
		exit(1);
	}
	printf("echo_server: listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	int port = 7000;
	long once = 0; /* 0: serve for ever */
	struct rlimit rl;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0 && i + 1 < argc)
			once = atol(argv[++i]);
		else
			port = atoi(argv[i]);
	}
	/* Every connection is an fd: allow as many as the system lets us. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN); /* a client that leaves is not fatal */

	int listener = listen_on(port);
	for (long taken = 0; once == 0 || taken < once; taken++) {
		int fd = accept(listener, NULL, NULL);
		if (fd < 0) {
			perror("echo_server: accept");
			continue;
		}
		weft_wg_add(&open_connections, 1);
		if (weft_go(serve, (void *)(intptr_t)fd) < 0) {
			perror("echo_server: weft_go");
			close(fd);
			weft_wg_done(&open_connections);
		}
	}
	weft_wg_wait(&open_connections);
	close(listener);
	return 0;
}
