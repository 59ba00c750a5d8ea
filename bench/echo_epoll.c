/* echo_epoll.c - the hand-written epoll echo server weft is measured
 * against: one thread, non-blocking sockets, no library.
 *
 *   echo_epoll [PORT]      PORT 0 (the default) picks a free one
 *
 * It prints "echo_epoll: listening on 127.0.0.1:PORT" and serves until
 * killed.
 *
 * Level-triggered, which for request/response traffic costs fewer system
 * calls than edge-triggered: a read that comes back short has emptied the
 * socket, so there is no read that ends in EAGAIN, and epoll reports the
 * socket again when more comes.  What was read is written straight back
 * from the one shared buffer; only what the socket would not take is
 * copied into the connection's own buffer, and the connection then waits
 * for EPOLLOUT (and stops reading, which pushes back on the client) until
 * that is gone.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define MAX_EVENTS 1024

/* What a connection still owes its client. */
struct conn {
	char *pending;
	size_t len, off;
};

static struct conn *conns; /* indexed by fd */
static int epfd;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void drop(int fd)
{
	free(conns[fd].pending);
	conns[fd] = (struct conn){ 0 };
	close(fd); /* which also takes it out of the epoll set */
}

static void watch(int fd, int op, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (epoll_ctl(epfd, op, fd, &ev) < 0)
		die("echo_epoll: epoll_ctl");
}

/* Writes what fd owes; true when nothing is left. */
static bool flush(int fd)
{
	struct conn *c = &conns[fd];

	while (c->off < c->len) {
		ssize_t w = write(fd, c->pending + c->off, c->len - c->off);
		if (w < 0) {
			if (errno != EAGAIN)
				drop(fd);
			return false;
		}
		c->off += (size_t)w;
	}
	c->len = c->off = 0;
	return true;
}

/* Sends buf[0..n) back, keeping what the socket does not take.
 * Returns whether fd may be read again now. */
static bool echo(int fd, const char *buf, size_t n)
{
	struct conn *c = &conns[fd];
	ssize_t w = write(fd, buf, n);

	if (w < 0) {
		if (errno != EAGAIN) {
			drop(fd);
			return false;
		}
		w = 0;
	}
	if ((size_t)w == n)
		return true;
	c->pending = malloc(BUF);
	if (c->pending == NULL)
		die("echo_epoll: malloc");
	memcpy(c->pending, buf + w, n - (size_t)w);
	c->len = n - (size_t)w;
	c->off = 0;
	watch(fd, EPOLL_CTL_MOD, EPOLLOUT);
	return false;
}

static void on_readable(int fd)
{
	static char buf[BUF];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN)
				drop(fd);
			return;
		}
		if (!echo(fd, buf, (size_t)n) || (size_t)n < sizeof buf)
			return; /* waiting to write, gone, or emptied */
	}
}

static void on_writable(int fd)
{
	if (flush(fd)) {
		free(conns[fd].pending);
		conns[fd].pending = NULL;
		watch(fd, EPOLL_CTL_MOD, EPOLLIN);
	}
}

static void on_listener(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != ECONNABORTED)
				perror("echo_epoll: accept4");
			return;
		}
		watch(fd, EPOLL_CTL_ADD, EPOLLIN);
	}
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, len) < 0 ||
	    listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("echo_epoll: listen");
	printf("echo_epoll: listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	struct epoll_event events[MAX_EVENTS];
	struct rlimit rl = { 1024, 1024 };

	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	size_t fds = rl.rlim_cur < (1u << 20) ? rl.rlim_cur : (1u << 20);
	conns = calloc(fds, sizeof *conns);
	epfd = epoll_create1(0);
	if (conns == NULL || epfd < 0)
		die("echo_epoll: setup");
	int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 0);
	watch(lfd, EPOLL_CTL_ADD, EPOLLIN);

	for (;;) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
		if (n < 0 && errno != EINTR)
			die("echo_epoll: epoll_wait");
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;
			if (fd == lfd)
				on_listener(lfd);
			else if (events[i].events & EPOLLOUT)
				on_writable(fd);
			else
				on_readable(fd);
		}
	}
}
