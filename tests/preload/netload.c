/* netload.c - a concurrent checking client for the preload suite.
 *
 * One OS thread, epoll, non-blocking sockets: it is run natively and drives
 * servers that run under weft.  Every byte that comes back is checked.
 *
 *   netload echo [-c CONNS] [-n MSGS] [-s MAXSIZE | -S SIZE] [-d SECONDS]
 *                [-t LIMIT] [-w WAIT] PORT
 *       CONNS connections at once to 127.0.0.1:PORT; each sends MSGS
 *       messages (or as many as fit in SECONDS with -d) of 1..MAXSIZE
 *       (default 4096) or exactly SIZE pseudo-random bytes, one at a time,
 *       and checks the echo is exactly the message.  Prints round trips per
 *       second and p50/p99 latency.
 *
 *   netload http [-c CONC] [-n REQUESTS] [-t LIMIT] [-w WAIT] PORT PATH FILE
 *       REQUESTS "GET PATH HTTP/1.0" requests, CONC at a time, each on its
 *       own connection; every response must be 200 with a Content-Length
 *       and a body byte-for-byte equal to FILE.
 *
 * -w WAIT: the first CONNS (or CONC) connections are all made first and held
 * open, silent, for WAIT seconds before anything is sent, so that a
 * thread-per-connection server has a thread for each at the same time.
 * Time and rates are then counted from the end of the wait.
 *
 * Exit status 0 when every connection and request succeeded, 1 otherwise
 * (including when LIMIT seconds, default 60, pass first); the reasons go to
 * stderr, at most a few of each kind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum state { IDLE, CONNECTING, HELD, SENDING, RECEIVING, DONE };

struct conn {
	int fd;
	enum state state;
	long id;            /* connection number (echo) or request number (http) */
	long msgs;          /* echo: messages completed */
	char *buf;          /* echo: the message; http: the response so far */
	size_t len, cap;    /* message length, or response bytes held */
	size_t sent, got;
	int64_t t0;         /* when the current message was sent, ns */
};

static int mode_http;
static long nconns = 100, nmsgs = 10, maxsize = 4096, nrequests = 1000;
static int fixed_size;
static double duration, limit = 60, hold;
static long held;
static int port;
static const char *path;
static char *file;
static size_t file_len;
static struct sockaddr_in addr;
static int ep;

static long completed, failed, started;
static long round_trips;
static long reports;

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

static size_t message_len(long c, long m)
{
	if (fixed_size)
		return (size_t)maxsize;
	return 1 + (size_t)(pattern(c, m, 0) | pattern(c, m, 1) << 8 |
			    pattern(c, m, 2) << 16) % (size_t)maxsize;
}

static void watch(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(ep, op, c->fd, &ev) < 0) {
		perror("netload: epoll_ctl");
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

static void next_message(struct conn *c)
{
	c->len = message_len(c->id, c->msgs);
	for (size_t i = 0; i < c->len; i++)
		c->buf[i] = (char)pattern(c->id, c->msgs, i);
	c->sent = c->got = 0;
	c->t0 = now_ns();
	c->state = SENDING;
}

static void begin_http(struct conn *c)
{
	c->len = (size_t)snprintf(c->buf, c->cap,
				  "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
				  "User-Agent: netload\r\n\r\n", path, port);
	c->sent = 0;
	c->state = SENDING;
}

/* Checks a whole HTTP response held in c->buf; returns 1 if it is right. */
static int check_http(struct conn *c)
{
	char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);

	if (c->got < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0 ||
	    memcmp(c->buf + 8, " 200", 4) != 0) {
		char *cr = memchr(c->buf, '\r', c->got);
		size_t line = cr ? (size_t)(cr - c->buf) : c->got;
		report("request %ld: status line '%.*s'", c->id,
		       (int)(line < 80 ? line : 80), c->buf);
		return 0;
	}
	if (end == NULL) {
		report("request %ld: no end of headers in %zu bytes", c->id, c->got);
		return 0;
	}
	*end = '\0';
	char *cl = strcasestr(c->buf, "\r\nContent-Length:");
	size_t body = c->got - (size_t)(end + 4 - c->buf);
	if (cl == NULL || strtoul(cl + 17, NULL, 10) != file_len) {
		report("request %ld: Content-Length missing or not %zu", c->id,
		       file_len);
		return 0;
	}
	if (body != file_len || memcmp(end + 4, file, file_len) != 0) {
		report("request %ld: body of %zu bytes differs from the file's %zu",
		       c->id, body, file_len);
		return 0;
	}
	return 1;
}

static void on_ready(struct conn *c, uint32_t events, int64_t deadline)
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
		if (hold > 0 && !c->msgs && c->id < nconns) {
			c->state = HELD;
			held++;
			watch(c, 0, EPOLL_CTL_MOD);
			return;
		}
		if (mode_http)
			begin_http(c);
		else
			next_message(c);
	}
	if (c->state == HELD) {
		if (mode_http)
			begin_http(c);
		else
			next_message(c);
	}
	for (;;) {
		if (c->state == SENDING) {
			n = send(c->fd, c->buf + c->sent, c->len - c->sent,
				 MSG_NOSIGNAL);
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
			if (c->sent < c->len)
				continue;
			c->state = RECEIVING;
			if (mode_http)
				c->got = 0;
			watch(c, EPOLLIN, EPOLL_CTL_MOD);
			return; /* the answer cannot be there yet */
		}
		if (c->state != RECEIVING)
			return;
		if (mode_http) {
			if (c->got == c->cap) {
				c->cap *= 2;
				c->buf = realloc(c->buf, c->cap);
			}
			n = recv(c->fd, c->buf + c->got, c->cap - c->got, 0);
		} else {
			char tmp[65536];
			size_t want = c->len - c->got;
			/* Read one byte more than expected to catch extra data. */
			n = recv(c->fd, tmp, want + 1 < sizeof tmp ? want + 1 :
				 sizeof tmp, 0);
			if (n > 0 && ((size_t)n > want ||
				      memcmp(tmp, c->buf + c->got, (size_t)n) != 0)) {
				report("connection %ld message %ld: echo differs "
				       "at byte %zu", c->id, c->msgs, c->got);
				finish(c, 0);
				return;
			}
		}
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			report("%s %ld: recv: %s", mode_http ? "request" :
			       "connection", c->id, strerror(errno));
			finish(c, 0);
			return;
		}
		if (n == 0) {
			if (mode_http) {
				finish(c, check_http(c));
			} else {
				report("connection %ld: EOF after %zu of %zu bytes "
				       "of message %ld", c->id, c->got, c->len,
				       c->msgs);
				finish(c, 0);
			}
			return;
		}
		c->got += (size_t)n;
		if (!mode_http && c->got == c->len) {
			record(now_ns() - c->t0);
			c->msgs++;
			if (duration > 0 ? now_ns() >= deadline : c->msgs >= nmsgs) {
				finish(c, 1);
				return;
			}
			next_message(c);
		}
	}
	(void)events;
}

/* After a connection ends: http starts the next request in its slot.
 * Returns 1 when the slot has nothing more to do. */
static int settle(struct conn *c, long *next_request)
{
	while (c->state == DONE) {
		if (mode_http && *next_request < nrequests) {
			start(c, (*next_request)++);
		} else {
			c->state = IDLE;
			return 1;
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: netload echo [-c CONNS] [-n MSGS] [-s MAXSIZE] [-d SECONDS] "
		"[-t LIMIT] PORT\n"
		"       netload http [-c CONC] [-n REQUESTS] [-t LIMIT] PORT PATH "
		"FILE\n");
	exit(2);
}

static void read_file(const char *name)
{
	int fd = open(name, O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(name);
		exit(2);
	}
	file_len = (size_t)st.st_size;
	file = malloc(file_len + 1);
	for (size_t got = 0; got < file_len;) {
		ssize_t n = read(fd, file + got, file_len - got);
		if (n <= 0) {
			perror(name);
			exit(2);
		}
		got += (size_t)n;
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int opt;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "http") == 0)
		mode_http = 1;
	else if (strcmp(argv[1], "echo") != 0)
		usage();
	argv++, argc--;
	while ((opt = getopt(argc, argv, "c:n:s:S:d:t:w:")) != -1) {
		switch (opt) {
		case 'c': nconns = atol(optarg); break;
		case 'n': nmsgs = nrequests = atol(optarg); break;
		case 's': maxsize = atol(optarg); break;
		case 'S': maxsize = atol(optarg); fixed_size = 1; break;
		case 'd': duration = atof(optarg); break;
		case 't': limit = atof(optarg); break;
		case 'w': hold = atof(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != (mode_http ? 3 : 1) || nconns < 1 || maxsize < 1)
		usage();
	port = atoi(argv[optind]);
	if (mode_http) {
		path = argv[optind + 1];
		read_file(argv[optind + 2]);
		if (nconns > nrequests)
			nconns = nrequests;
	}

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep = epoll_create1(EPOLL_CLOEXEC);

	struct conn *conns = calloc((size_t)nconns, sizeof *conns);
	size_t bufsize = mode_http ? 65536 : (size_t)maxsize;
	int64_t t_start = now_ns();
	int64_t deadline = t_start + (int64_t)(duration * 1e9);
	int64_t give_up = t_start + (int64_t)(limit * 1e9);
	long next_request = 0;

	long active = nconns;
	for (long i = 0; i < nconns; i++) {
		conns[i].buf = malloc(bufsize);
		conns[i].cap = bufsize;
		conns[i].fd = -1;
		start(&conns[i], mode_http ? next_request++ : i);
		active -= settle(&conns[i], &next_request);
	}

	struct epoll_event evs[256];
	int64_t release = 0; /* when held connections start talking */
	while (active > 0) {
		int64_t t = now_ns(), left = give_up - t;
		if (left <= 0)
			break;
		if (hold > 0 && release == 0 && held + failed == nconns) {
			release = t + (int64_t)(hold * 1e9);
			fprintf(stderr, "netload: %ld connections open, holding "
				"them %.1f s\n", held, hold);
		}
		if (release && t >= release) {
			if (duration > 0)
				deadline = t + (int64_t)(duration * 1e9);
			t_start = t;
			hold = 0;
			for (long i = 0; i < nconns; i++) {
				if (conns[i].state == HELD) {
					on_ready(&conns[i], 0, deadline);
					active -= settle(&conns[i], &next_request);
				}
			}
			release = 0;
			continue;
		}
		if (release && release - t < left)
			left = release - t;
		int n = epoll_wait(ep, evs, 256, (int)(left / 1000000) + 1);
		if (n < 0 && errno != EINTR) {
			perror("netload: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			on_ready(c, evs[i].events, deadline);
			active -= settle(c, &next_request);
		}
	}
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
		printf("connections %ld: %ld ok, %ld failed, %ld unfinished; "
		       "%ld round trips in %.2f s: %.0f/s, p50 %.0f us, "
		       "p99 %.0f us\n", nconns, completed, failed, unfinished,
		       round_trips, secs, round_trips / secs,
		       percentile(0.50), percentile(0.99));
	}
	if (unfinished)
		fprintf(stderr, "netload: %ld unfinished when the %.0f s limit "
			"passed\n", unfinished, limit);
	return failed || unfinished ? 1 : 0;
}
