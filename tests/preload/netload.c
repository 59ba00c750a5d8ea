/* netload.c - a concurrent checking client for the preload suite.
 *
 * One OS thread, epoll, non-blocking sockets: it is run natively and drives
 * servers that run under weft.  Every byte that comes back is checked.
 *
 *   netload echo [-c CONNS] [-n MSGS] [-s MAXSIZE | -S SIZE] [-d SECONDS]
 *                [-t LIMIT] [-w WAIT] [-x PROXYPORT] PORT
 *       CONNS connections at once to 127.0.0.1:PORT; each sends MSGS
 *       messages (or as many as fit in SECONDS with -d) of 1..MAXSIZE
 *       (default 4096) or exactly SIZE pseudo-random bytes, one at a time,
 *       and checks the echo is exactly the message.  Prints how many
 *       connections were ok, failed or unfinished, round trips per second
 *       and p50/p99 latency.
 *
 *       -x PROXYPORT: each connection goes through the SOCKS5 proxy on
 *       127.0.0.1:PROXYPORT, which is asked to CONNECT to 127.0.0.1:PORT by
 *       IPv4 address (netload_socks.h: no authentication, never a name,
 *       each step sent only once the previous answer is in, and the reply
 *       must say success) before the first message.  Also prints how many
 *       handshakes succeeded and how long they all took.
 *
 *   netload http [-c CONC] [-n REQUESTS] [-t LIMIT] [-w WAIT] PORT PATH FILE
 *       REQUESTS "GET PATH HTTP/1.0" requests, CONC at a time, each on its
 *       own connection; every response must be 200 with a Content-Length
 *       and a body byte-for-byte equal to FILE (netload_http.h).
 *
 * -w WAIT: the first CONNS (or CONC) connections are all made first (with -x,
 * through the handshake) and held open, silent, for WAIT seconds before any
 * message or request is sent, so that a thread-per-connection server has a
 * thread for each at the same time.
 * Time and rates are then counted from the end of the wait.
 *
 * Exit status 0 when every connection and request succeeded, 1 otherwise
 * (including when LIMIT seconds, default 60, pass first); the reasons go to
 * stderr, at most a few of each kind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#include "netload_http.h"
#include "netload_socks.h"

/* ASKING and ANSWERING are the SOCKS5 handshake's (-x), a step at a time. */
enum state {
	IDLE, CONNECTING, ASKING, ANSWERING, HELD, SENDING, RECEIVING, DONE
};

struct conn {
	int fd;
	enum state state;
	long id;            /* connection number (echo) or request number (http) */
	long msgs;          /* echo: messages completed */
	char *buf;          /* echo: the message; http: the response so far */
	size_t len, cap;    /* message length, or response bytes held */
	size_t sent, got;
	int64_t t0;         /* when the current message was sent, ns */
	struct socks socks; /* -x: the handshake */
};

static int mode_http;
static long nconns = 100, nmsgs = 10, maxsize = 4096, nrequests = 1000;
static int fixed_size;
static double duration, limit = 60, hold;
static long held;
static int port, proxy_port;
static const char *path;
static struct sockaddr_in addr;
static int ep;

static long completed, failed, started, handshaken;
static long round_trips;
static long reports;

static struct conn *conns;
static long next_request, active;   /* http: the next to start; live slots */
static int64_t t_start, deadline, give_up; /* ns: timing from; -d; -t */
static int64_t last_handshake, t_handshakes;

/* Latency histogram: 1 us buckets up to 10 ms, then 100 us up to 1 s. */
#define FINE 10000
#define COARSE 10000
static long hist[FINE + COARSE + 1];

/* The monotonic clock, in ns. */
static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Counts a round trip of NS ns in the histogram. */
static void record(int64_t ns)
{
	int64_t us = ns / 1000;
	long i = us < FINE ? us : FINE + (us - FINE) / 100;

	hist[i < FINE + COARSE ? i : FINE + COARSE]++;
	round_trips++;
}

/* The latency, in us, that a fraction P of the round trips were within. */
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

/* Says why on stderr, for the first 10 failures only. */
static void report(const char *fmt, ...)
{
	va_list ap;

	if (reports++ >= 10)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "netload: ");
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

/* The length of message m on connection c: -S's, or 1..MAXSIZE. */
static size_t message_len(long c, long m)
{
	if (fixed_size)
		return (size_t)maxsize;
	return 1 + (size_t)(pattern(c, m, 0) | pattern(c, m, 1) << 8 |
			    pattern(c, m, 2) << 16) % (size_t)maxsize;
}

/* Has epoll wait for EVENTS on c (OP: add or modify), or exits. */
static void watch(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(ep, op, c->fd, &ev) < 0) {
		perror("netload: epoll_ctl");
		exit(1);
	}
}

/* Closes c, DONE, counted as ok or failed. */
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

/* Starts connecting c, as number ID, to the server (or the proxy): c is
 * then CONNECTING, or DONE and failed. */
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
	started++;
	c->state = CONNECTING;
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 &&
	    errno != EINPROGRESS) {
		report("connection %ld: connect: %s", id, strerror(errno));
		finish(c, 0);
		return;
	}
	watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Makes c's next message and has c send it. */
static void next_message(struct conn *c)
{
	c->len = message_len(c->id, c->msgs);
	for (size_t i = 0; i < c->len; i++)
		c->buf[i] = (char)pattern(c->id, c->msgs, i);
	c->sent = c->got = 0;
	c->t0 = now_ns();
	c->state = SENDING;
}

/* Has c send its GET request. */
static void begin_http(struct conn *c)
{
	c->len = http_request(c->buf, c->cap, path, port);
	c->sent = 0;
	c->state = SENDING;
}

/* The first message or request on c, or, for the first CONNS while -w has
 * not yet released them, holding c silent (HELD) instead. */
static void opened(struct conn *c)
{
	if (hold > 0 && !c->msgs && c->id < nconns) {
		c->state = HELD;
		held++;
		watch(c, 0, EPOLL_CTL_MOD);
	} else if (mode_http) {
		begin_http(c);
	} else {
		next_message(c);
	}
}

/* c's connect has ended: on failure c is finished; otherwise, with -x, the
 * handshake's greeting is next, and without, the first message. */
static void connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		report("connection %ld: connect: %s", c->id, strerror(err));
		finish(c, 0);
	} else if (proxy_port) {
		socks_begin(&c->socks, INADDR_LOOPBACK, (uint16_t)port);
		c->sent = 0;
		c->state = ASKING;
	} else {
		opened(c);
	}
}

/* Sends what is left of LEN bytes at BUF, from c->sent on.  Once all are
 * sent, c is in state THEN, waiting for the answer (which cannot be there
 * yet); before that, it waits until it can send more, or has failed. */
static void send_rest(struct conn *c, const void *buf, size_t len,
		      enum state then)
{
	while (c->sent < len) {
		ssize_t n = send(c->fd, (const char *)buf + c->sent,
				 len - c->sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			watch(c, EPOLLOUT, EPOLL_CTL_MOD);
			return;
		}
		if (n < 0) {
			report("%s %ld: send: %s", mode_http ? "request" :
			       "connection", c->id, strerror(errno));
			finish(c, 0);
			return;
		}
		c->sent += (size_t)n;
	}
	c->state = then;
	c->got = 0;
	watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

/* Goes on with the handshake once there is more of an answer to read: to
 * the next step, or, the tunnel open, to opened(); a wrong or short answer
 * finishes c.  Returns 1 when c has moved on, 0 when it must wait. */
static int hear_answer(struct conn *c)
{
	char why[128];

	switch (socks_hear(&c->socks, c->fd, why, sizeof why)) {
	case SOCKS_WAIT:
		return 0;
	case SOCKS_ASK:
		c->sent = 0;
		c->state = ASKING;
		return 1;
	case SOCKS_OPEN:
		handshaken++;
		last_handshake = now_ns();
		opened(c);
		return 1;
	default:
		report("connection %ld: %s", c->id, why);
		finish(c, 0);
		return 0;
	}
}

/* Reads more of the echo of c's message, checking each byte as it comes,
 * and one byte more than the message to catch extra data.  A whole echo is
 * timed and followed by the next message, or finishes c when it was the
 * last.  Returns 1 when c has moved on, 0 when it must wait or is done. */
static int hear_echo(struct conn *c)
{
	char tmp[65536];
	size_t want = c->len - c->got;
	ssize_t n = recv(c->fd, tmp, want + 1 < sizeof tmp ? want + 1 :
			 sizeof tmp, 0);

	if (n > 0 && ((size_t)n > want ||
		      memcmp(tmp, c->buf + c->got, (size_t)n) != 0)) {
		report("connection %ld message %ld: echo differs at byte %zu",
		       c->id, c->msgs, c->got);
		finish(c, 0);
		return 0;
	}
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		if (n < 0)
			report("connection %ld: recv: %s", c->id, strerror(errno));
		else
			report("connection %ld: EOF after %zu of %zu bytes of "
			       "message %ld", c->id, c->got, c->len, c->msgs);
		finish(c, 0);
		return 0;
	}
	c->got += (size_t)n;
	if (c->got < c->len)
		return 1;
	record(now_ns() - c->t0);
	c->msgs++;
	if (duration > 0 ? now_ns() >= deadline : c->msgs >= nmsgs) {
		finish(c, 1);
		return 0;
	}
	next_message(c);
	return 1;
}

/* Reads more of c's HTTP response, growing the buffer; at EOF the whole
 * response is checked and c finished.  Returns 1 when there may be more to
 * read, 0 when c must wait or is done. */
static int hear_http(struct conn *c)
{
	if (c->got == c->cap) {
		c->cap *= 2;
		c->buf = realloc(c->buf, c->cap);
	}
	ssize_t n = recv(c->fd, c->buf + c->got, c->cap - c->got, 0);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0) {
		report("request %ld: recv: %s", c->id, strerror(errno));
		finish(c, 0);
		return 0;
	}
	if (n == 0) {
		char why[160];
		int ok = http_check(c->buf, c->got, why, sizeof why);
		if (!ok)
			report("request %ld: %s", c->id, why);
		finish(c, ok);
		return 0;
	}
	c->got += (size_t)n;
	return 1;
}

/* Moves c on as far as it can go without blocking: called when epoll says
 * c's socket is ready, and for a held connection when the wait is over. */
static void on_ready(struct conn *c)
{
	if (c->state == CONNECTING)
		connected(c);
	else if (c->state == HELD)
		opened(c); /* released: hold is 0 by now */
	for (;;) {
		switch (c->state) {
		case ASKING:
			send_rest(c, c->socks.ask, c->socks.ask_len, ANSWERING);
			return;
		case SENDING:
			send_rest(c, c->buf, c->len, RECEIVING);
			return;
		case ANSWERING:
			if (!hear_answer(c))
				return;
			break;
		case RECEIVING:
			if (!(mode_http ? hear_http(c) : hear_echo(c)))
				return;
			break;
		default:
			return;
		}
	}
}

/* After a connection ends: http starts the next request in its slot.
 * Returns 1 when the slot has nothing more to do. */
static int settle(struct conn *c)
{
	while (c->state == DONE) {
		if (mode_http && next_request < nrequests) {
			start(c, next_request++);
		} else {
			c->state = IDLE;
			return 1;
		}
	}
	return 0;
}

/* on_ready(c), then settle(c), keeping count of the slots still live. */
static void advance(struct conn *c)
{
	on_ready(c);
	active -= settle(c);
}

/* The end of -w's wait at time T: timing starts again, and every held
 * connection sends its first message or request. */
static void release_held(int64_t t)
{
	if (duration > 0)
		deadline = t + (int64_t)(duration * 1e9);
	t_handshakes = last_handshake - t_start;
	t_start = t;
	hold = 0;
	for (long i = 0; i < nconns; i++)
		if (conns[i].state == HELD)
			advance(&conns[i]);
}

/* Runs every slot until all are idle or LIMIT passes; with -w, releases the
 * held connections WAIT seconds after the last one is held. */
static void run(void)
{
	struct epoll_event evs[256];
	int64_t release = 0; /* when held connections start talking */

	while (active > 0) {
		int64_t t = now_ns(), left = give_up - t;
		if (left <= 0)
			break;
		if (hold > 0 && release == 0 && held + failed == nconns) {
			release = t + (int64_t)(hold * 1e9);
			fprintf(stderr, "netload: %ld connections %s, holding "
				"them %.1f s\n", held, proxy_port ?
				"through the proxy" : "open", hold);
		}
		if (release && t >= release) {
			release_held(t);
			release = 0;
			continue;
		}
		if (release && release - t < left)
			left = release - t;
		int n = epoll_wait(ep, evs, 256, (int)(left / 1000000) + 1);
		if (n < 0 && errno != EINTR) {
			perror("netload: epoll_wait");
			exit(1);
		}
		for (int i = 0; i < n; i++)
			advance(evs[i].data.ptr);
	}
}

/* Says how netload is used, and exits. */
static void usage(void)
{
	fprintf(stderr,
		"usage: netload echo [-c CONNS] [-n MSGS] [-s MAXSIZE] [-d SECONDS] "
		"[-t LIMIT] [-x PROXYPORT] PORT\n"
		"       netload http [-c CONC] [-n REQUESTS] [-t LIMIT] PORT PATH "
		"FILE\n");
	exit(2);
}

/* Sets the mode and the options from the command line, or exits with the
 * usage. */
static void parse_options(int argc, char **argv)
{
	int opt;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "http") == 0)
		mode_http = 1;
	else if (strcmp(argv[1], "echo") != 0)
		usage();
	argv++, argc--;
	while ((opt = getopt(argc, argv, "c:n:s:S:d:t:w:x:")) != -1) {
		switch (opt) {
		case 'c': nconns = atol(optarg); break;
		case 'n': nmsgs = nrequests = atol(optarg); break;
		case 's': maxsize = atol(optarg); break;
		case 'S': maxsize = atol(optarg); fixed_size = 1; break;
		case 'd': duration = atof(optarg); break;
		case 't': limit = atof(optarg); break;
		case 'w': hold = atof(optarg); break;
		case 'x':
			proxy_port = atoi(optarg);
			if (proxy_port < 1 || proxy_port > 65535)
				usage();
			break;
		default: usage();
		}
	}
	if (argc - optind != (mode_http ? 3 : 1) || nconns < 1 || maxsize < 1)
		usage();
	port = atoi(argv[optind]);
	if (proxy_port && (mode_http || port < 1 || port > 65535))
		usage();
	if (mode_http) {
		path = argv[optind + 1];
		http_expect(argv[optind + 2]);
		if (nconns > nrequests)
			nconns = nrequests;
	}
}

/* Raises the descriptor limit, and starts the first CONNS connections (or
 * requests) to 127.0.0.1:PORT, or to the proxy's port with -x. */
static void launch(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(proxy_port ? proxy_port : port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep = epoll_create1(EPOLL_CLOEXEC);

	conns = calloc((size_t)nconns, sizeof *conns);
	size_t bufsize = mode_http ? 65536 : (size_t)maxsize;
	t_start = now_ns();
	deadline = t_start + (int64_t)(duration * 1e9);
	give_up = t_start + (int64_t)(limit * 1e9);

	active = nconns;
	for (long i = 0; i < nconns; i++) {
		conns[i].buf = malloc(bufsize);
		conns[i].cap = bufsize;
		conns[i].fd = -1;
		start(&conns[i], mode_http ? next_request++ : i);
		active -= settle(&conns[i]);
	}
}

/* Prints the one-line summary on stdout, and why it is short of the goal
 * on stderr; returns the exit status. */
static int summarize(void)
{
	double secs = (now_ns() - t_start) / 1e9;

	long unfinished = 0;
	for (long i = 0; i < nconns; i++)
		if (conns[i].state != IDLE)
			unfinished++;
	if (mode_http) {
		unfinished += nrequests - next_request;
		printf("requests %ld: %ld ok, %ld failed, %ld unfinished after "
		       "%.1f s (%.0f/s)\n", nrequests, completed, failed,
		       unfinished, secs, completed / secs);
	} else {
		printf("connections %ld: %ld ok, %ld failed, %ld unfinished; ",
		       nconns, completed, failed, unfinished);
		if (proxy_port) {
			if (!t_handshakes)
				t_handshakes = last_handshake - t_start;
			printf("%ld handshakes in %.2f s; ", handshaken,
			       t_handshakes > 0 ? t_handshakes / 1e9 : 0);
		}
		printf("%ld round trips in %.2f s: %.0f/s, p50 %.0f us, "
		       "p99 %.0f us\n", round_trips, secs, round_trips / secs,
		       percentile(0.50), percentile(0.99));
	}
	if (unfinished)
		fprintf(stderr, "netload: %ld unfinished when the %.0f s limit "
			"passed\n", unfinished, limit);
	return failed || unfinished ? 1 : 0;
}

int main(int argc, char **argv)
{
	parse_options(argc, argv);
	launch();
	run();
	return summarize();
}
