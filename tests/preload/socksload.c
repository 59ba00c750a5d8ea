/* socksload.c - a concurrent checking SOCKS5 client for the preload suite.
 *
 * One OS thread, epoll, non-blocking sockets, like netload: it is run
 * natively and drives a SOCKS5 proxy that runs under weft.  Every byte that
 * comes back is checked.
 *
 *   socksload [-c CONNS] [-n MSGS] [-s MAXSIZE] [-t LIMIT] [-w WAIT]
 *             PROXYPORT ECHOPORT
 *       CONNS connections at once to the SOCKS5 proxy on
 *       127.0.0.1:PROXYPORT.  Each offers "no authentication" only (RFC
 *       1928), must be granted it, asks to CONNECT to 127.0.0.1:ECHOPORT
 *       by IPv4 address (never a name: no DNS) and must be told it
 *       succeeded; then it sends MSGS messages of 1..MAXSIZE (default 4096)
 *       pseudo-random bytes, one at a time, through the proxy to an echo
 *       server there, and checks the echo is exactly the message.  Each
 *       step of the handshake is sent only once the previous answer is in,
 *       as a client must.  Prints how many connections were ok, failed or
 *       unfinished, how long the handshakes took, round trips per second
 *       and p50/p99 latency.
 *
 * -w WAIT: the CONNS connections are all made and through the handshake
 * first, and held open, silent, for WAIT seconds before any message is
 * sent, so that a thread-per-connection proxy has a thread for each at the
 * same time.  Round trips are then timed from the end of the wait.
 *
 * Exit status 0 when every connection succeeded, 1 otherwise (including
 * when LIMIT seconds, default 60, pass first); the reasons go to stderr, at
 * most a few.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state {
	IDLE, CONNECTING, GREETING, CHOSEN, REQUEST, REPLY, HELD, SENDING,
	RECEIVING, DONE
};

struct conn {
	int fd;
	enum state state;
	long id;
	long msgs;          /* messages completed */
	unsigned char *buf; /* the message, or a handshake step */
	size_t len;         /* bytes to send, or to receive in the handshake */
	size_t sent, got;
	unsigned char answer[16];
	int64_t t0;         /* when the current message was sent, ns */
};

static long nconns = 100, nmsgs = 10, maxsize = 4096;
static double limit = 60, hold;
static long held;
static int echo_port;
static struct sockaddr_in proxy;
static int ep;

static long completed, failed, handshaken;
static long round_trips;
static long reports;
static int64_t last_handshake;

/* Latency histogram: 1 us buckets up to 10 ms, then 100 us up to 1 s. */
#define FINE 10000
#define COARSE 10000
static long hist[FINE + COARSE + 1];

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void record(int64_t ns)
{
	int64_t us = ns / 1000;
	long i = us < FINE ? us : FINE + (us - FINE) / 100;

	hist[i < FINE + COARSE ? i : FINE + COARSE]++;
	round_trips++;
}

static double percentile(double p)
{
	long want = (long)(p * round_trips), seen = 0;

	for (long i = 0; i <= FINE + COARSE; i++) {
		seen += hist[i];
		if (seen > want || (seen == round_trips && seen))
			return i < FINE ? i : FINE + (i - FINE) * 100.0;
	}
	return 0;
}

static void report(const char *fmt, ...)
{
	va_list ap;

	if (reports++ >= 10)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "socksload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* The byte at offset i of message m on connection c: deterministic and
 * different everywhere, so a byte from a neighbour is noticed. */
static unsigned char pattern(long c, long m, size_t i)
{
	uint64_t x = (uint64_t)c * 0x9E3779B97F4A7C15ull ^
		     (uint64_t)m * 0xC2B2AE3D27D4EB4Full ^ (i / 8) * 0x165667B19E3779F9ull;

	x ^= x >> 31;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 29;
	return (unsigned char)(x >> ((i % 8) * 8));
}

static size_t message_len(long c, long m)
{
	return 1 + (size_t)(pattern(c, m, 0) | pattern(c, m, 1) << 8 |
			    pattern(c, m, 2) << 16) % (size_t)maxsize;
}

static void watch(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(ep, op, c->fd, &ev) < 0) {
		perror("socksload: epoll_ctl");
		exit(1);
	}
}

static void finish(struct conn *c, int ok)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = DONE;
	if (ok)
		completed++;
	else
		failed++;
}

static void start(struct conn *c, long id)
{
	c->id = id;
	c->msgs = 0;
	c->sent = c->got = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		report("socket: %s", strerror(errno));
		c->state = DONE;
		failed++;
		return;
	}
	c->state = CONNECTING;
	if (connect(c->fd, (struct sockaddr *)&proxy, sizeof proxy) < 0 &&
	    errno != EINPROGRESS) {
		report("connection %ld: connect: %s", c->id, strerror(errno));
		finish(c, 0);
		return;
	}
	watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Handshake step STATE: send LEN bytes of BUF, then expect WANT bytes. */
static void step(struct conn *c, enum state state, const unsigned char *buf,
		 size_t len, size_t want)
{
	memcpy(c->buf, buf, len);
	c->len = len;
	c->sent = 0;
	c->got = want; /* how much of the answer to read, until it is sent */
	c->state = state;
}

static void greet(struct conn *c)
{
	/* Version 5, one method: 0, no authentication. */
	static const unsigned char hello[] = { 5, 1, 0 };

	step(c, GREETING, hello, sizeof hello, 2);
}

static void request(struct conn *c)
{
	/* Version 5, CONNECT, reserved, IPv4 127.0.0.1, the echo port. */
	unsigned char req[10] = { 5, 1, 0, 1, 127, 0, 0, 1,
				  (unsigned char)(echo_port >> 8),
				  (unsigned char)echo_port };

	step(c, REQUEST, req, sizeof req, 10);
}

static void next_message(struct conn *c)
{
	c->len = message_len(c->id, c->msgs);
	for (size_t i = 0; i < c->len; i++)
		c->buf[i] = pattern(c->id, c->msgs, i);
	c->sent = c->got = 0;
	c->t0 = now_ns();
	c->state = SENDING;
}

/* The whole answer to a handshake step is in c->answer; returns 1 if the
 * connection goes on. */
static int answered(struct conn *c)
{
	unsigned char *a = c->answer;

	if (c->state == CHOSEN) {
		if (a[0] != 5 || a[1] != 0) {
			report("connection %ld: method answer %u %u, not 5 0 "
			       "(no authentication)", c->id, a[0], a[1]);
			finish(c, 0);
			return 0;
		}
		request(c);
		return 1;
	}
	/* REPLY: version 5, 0 succeeded, reserved, an IPv4 bound address.
	 * The bound address and port are the proxy's business. */
	if (a[0] != 5 || a[1] != 0 || a[2] != 0 || a[3] != 1) {
		report("connection %ld: CONNECT reply %u %u %u %u, not 5 0 0 1",
		       c->id, a[0], a[1], a[2], a[3]);
		finish(c, 0);
		return 0;
	}
	handshaken++;
	last_handshake = now_ns();
	if (hold > 0) {
		c->state = HELD;
		held++;
		watch(c, 0, EPOLL_CTL_MOD);
		return 0;
	}
	next_message(c);
	return 1;
}

static void on_ready(struct conn *c)
{
	ssize_t n;

	if (c->state == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			report("connection %ld: connect: %s", c->id, strerror(err));
			finish(c, 0);
			return;
		}
		greet(c);
	}
	if (c->state == HELD)
		next_message(c);
	for (;;) {
		if (c->state == GREETING || c->state == REQUEST ||
		    c->state == SENDING) {
			n = send(c->fd, c->buf + c->sent, c->len - c->sent,
				 MSG_NOSIGNAL);
			if (n < 0 && errno == EAGAIN) {
				watch(c, EPOLLOUT, EPOLL_CTL_MOD);
				return;
			}
			if (n < 0) {
				report("connection %ld: send: %s", c->id,
				       strerror(errno));
				finish(c, 0);
				return;
			}
			c->sent += (size_t)n;
			if (c->sent < c->len)
				continue;
			if (c->state == SENDING) {
				c->state = RECEIVING;
				c->got = 0;
			} else {
				c->len = c->got; /* the answer's length */
				c->got = 0;
				c->state = c->state == GREETING ? CHOSEN : REPLY;
			}
			watch(c, EPOLLIN, EPOLL_CTL_MOD);
			return; /* the answer cannot be there yet */
		}
		if (c->state == CHOSEN || c->state == REPLY) {
			/* Exactly the answer: what follows is the echo's. */
			n = recv(c->fd, c->answer + c->got, c->len - c->got, 0);
			if (n < 0 && errno == EAGAIN)
				return;
			if (n <= 0) {
				report("connection %ld: %s after %zu of %zu bytes "
				       "of the %s answer", c->id,
				       n < 0 ? strerror(errno) : "EOF", c->got,
				       c->len, c->state == CHOSEN ? "method" :
				       "CONNECT");
				finish(c, 0);
				return;
			}
			c->got += (size_t)n;
			if (c->got < c->len)
				continue;
			if (!answered(c))
				return;
			continue;
		}
		if (c->state != RECEIVING)
			return;
		unsigned char tmp[65536];
		size_t want = c->len - c->got;
		/* Read one byte more than expected to catch extra data. */
		n = recv(c->fd, tmp, want + 1 < sizeof tmp ? want + 1 : sizeof tmp, 0);
		if (n > 0 && ((size_t)n > want ||
			      memcmp(tmp, c->buf + c->got, (size_t)n) != 0)) {
			report("connection %ld message %ld: echo differs at byte %zu",
			       c->id, c->msgs, c->got);
			finish(c, 0);
			return;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			report("connection %ld: recv: %s", c->id, strerror(errno));
			finish(c, 0);
			return;
		}
		if (n == 0) {
			report("connection %ld: EOF after %zu of %zu bytes of "
			       "message %ld", c->id, c->got, c->len, c->msgs);
			finish(c, 0);
			return;
		}
		c->got += (size_t)n;
		if (c->got == c->len) {
			record(now_ns() - c->t0);
			c->msgs++;
			if (c->msgs >= nmsgs) {
				finish(c, 1);
				return;
			}
			next_message(c);
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: socksload [-c CONNS] [-n MSGS] [-s MAXSIZE] [-t LIMIT] "
		"[-w WAIT] PROXYPORT ECHOPORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "c:n:s:t:w:")) != -1) {
		switch (opt) {
		case 'c': nconns = atol(optarg); break;
		case 'n': nmsgs = atol(optarg); break;
		case 's': maxsize = atol(optarg); break;
		case 't': limit = atof(optarg); break;
		case 'w': hold = atof(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || nconns < 1 || nmsgs < 1 || maxsize < 1)
		usage();
	proxy.sin_family = AF_INET;
	proxy.sin_port = htons(atoi(argv[optind]));
	proxy.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	echo_port = atoi(argv[optind + 1]);
	if (echo_port < 1 || echo_port > 65535)
		usage();

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);

	struct conn *conns = calloc((size_t)nconns, sizeof *conns);
	size_t bufsize = maxsize < 16 ? 16 : (size_t)maxsize;
	int64_t t_start = now_ns(), t_handshakes = 0;
	int64_t give_up = t_start + (int64_t)(limit * 1e9);

	long active = nconns;
	for (long i = 0; i < nconns; i++) {
		conns[i].buf = malloc(bufsize);
		conns[i].fd = -1;
		start(&conns[i], i);
		if (conns[i].state == DONE) {
			conns[i].state = IDLE;
			active--;
		}
	}

	struct epoll_event evs[256];
	int64_t release = 0; /* when held connections start talking */
	while (active > 0) {
		int64_t t = now_ns(), left = give_up - t;
		if (left <= 0)
			break;
		if (hold > 0 && release == 0 && held + failed == nconns) {
			release = t + (int64_t)(hold * 1e9);
			fprintf(stderr, "socksload: %ld connections through the "
				"proxy, holding them %.1f s\n", held, hold);
		}
		if (release && t >= release) {
			t_handshakes = last_handshake - t_start;
			t_start = t;
			hold = 0;
			for (long i = 0; i < nconns; i++) {
				if (conns[i].state == HELD) {
					on_ready(&conns[i]);
					if (conns[i].state == DONE) {
						conns[i].state = IDLE;
						active--;
					}
				}
			}
			release = 0;
			continue;
		}
		if (release && release - t < left)
			left = release - t;
		int n = epoll_wait(ep, evs, 256, (int)(left / 1000000) + 1);
		if (n < 0 && errno != EINTR) {
			perror("socksload: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			on_ready(c);
			if (c->state == DONE) {
				c->state = IDLE;
				active--;
			}
		}
	}
	double secs = (now_ns() - t_start) / 1e9;
	if (!t_handshakes)
		t_handshakes = last_handshake - t_start;

	long unfinished = 0;
	for (long i = 0; i < nconns; i++)
		if (conns[i].state != IDLE)
			unfinished++;
	printf("connections %ld: %ld ok, %ld failed, %ld unfinished; %ld "
	       "handshakes in %.2f s; %ld round trips in %.2f s: %.0f/s, "
	       "p50 %.0f us, p99 %.0f us\n", nconns, completed, failed,
	       unfinished, handshaken, t_handshakes > 0 ? t_handshakes / 1e9 : 0,
	       round_trips, secs, round_trips / secs, percentile(0.50),
	       percentile(0.99));
	if (unfinished)
		fprintf(stderr, "socksload: %ld unfinished when the %.0f s limit "
			"passed\n", unfinished, limit);
	return failed || unfinished ? 1 : 0;
}
