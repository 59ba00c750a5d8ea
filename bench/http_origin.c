/* http_origin.c - the origin server bench/servers puts behind tinyproxy:
 * one thread, epoll, non-blocking sockets, one fixed small answer.
 *
 *   http_origin [PORT]     PORT 0 (the default) picks a free one
 *
 * It prints "http_origin: listening on 127.0.0.1:PORT" and serves until
 * killed.  Every request, whatever its path, gets "200 OK" and the same
 * 100-byte body once its header has arrived (the blank line); then the
 * connection is closed, as tinyproxy, which speaks HTTP/1.0 upstream,
 * expects.  A request body is not read.
 *
 * The point is an origin that costs little: with Python's threading server
 * (tests/preload/tinyproxy.sh's) the origin, not tinyproxy, bounds the
 * rate, and the proxy under weft and natively would measure the same.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 1024
#define HEAD_MAX 8192

static const char answer[] =
	"HTTP/1.0 200 OK\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Length: 100\r\n"
	"Connection: close\r\n"
	"\r\n"
	"http_origin: a fixed answer of one hundred bytes, the same for "
	"every request that it is sent.......\n";

/* A connection's header so far; heads[fd] is NULL for the listener. */
static char **heads;
static size_t *lens;
static int nfds;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	lens[fd] = 0;
}

/* Reads what fd has; answers and closes once the header's blank line is in
 * (the answer is small: the socket takes it in one write). */
static void serve(int ep, int fd)
{
	for (;;) {
		ssize_t n = read(fd, heads[fd] + lens[fd], HEAD_MAX - 1 - lens[fd]);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || lens[fd] + n >= HEAD_MAX - 1) {
			drop(ep, fd);
			return;
		}
		lens[fd] += n;
		heads[fd][lens[fd]] = '\0';
		if (strstr(heads[fd], "\r\n\r\n") || strstr(heads[fd], "\n\n")) {
			if (write(fd, answer, sizeof answer - 1) < 0)
				perror("http_origin: write");
			drop(ep, fd);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN }, evs[MAX_EVENTS];
	struct rlimit rl;
	socklen_t len = sizeof sa;
	int one = 1, ls, ep;

	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	nfds = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	heads = calloc(nfds, sizeof *heads);
	lens = calloc(nfds, sizeof *lens);
	if (!heads || !lens)
		die("http_origin: calloc");

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(argc > 1 ? atoi(argv[1]) : 0);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (ls < 0)
		die("http_origin: socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(ls, 4096) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &len) < 0)
		die("http_origin: bind");
	printf("http_origin: listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	ep = epoll_create1(0);
	ev.data.fd = ls;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
		die("http_origin: epoll");
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd != ls) {
				serve(ep, fd);
				continue;
			}
			while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				if (fd >= nfds || (!heads[fd] &&
				    !(heads[fd] = malloc(HEAD_MAX)))) {
					close(fd);
					continue;
				}
				ev.data.fd = fd;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			}
		}
	}
}
