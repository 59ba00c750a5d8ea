/* loadgen.c - an echo load generator: one thread, its own epoll loop.
 *
 *   loadgen -p PORT [-c CONNECTIONS] [-s SIZE] [-d SECONDS] [-w WARMUP]
 *           [-P SERVER_PID] [-H]
 *
 * It opens CONNECTIONS (100) connections to 127.0.0.1:PORT; each sends
 * SIZE (64) bytes, reads them back, checks them byte for byte and sends
 * the next request at once (ping-pong).  After WARMUP (1) seconds it
 * measures for SECONDS (3) and prints one line:
 *
 *   loadgen: connections=C size=S seconds=D requests=N rps=R
 *            p50_us=P p99_us=Q errors=E
 *
 * (on one line), latency being per round trip.  With -P it adds the
 * server's memory and OS threads as the measurement ends, with every
 * connection still open: server_rss_kib=K server_threads=T (VmRSS and
 * Threads of /proc/PID/status).  It exits non-zero on any
 * error: a connection refused, reset or closed, or an echo that differs.
 *
 * -H is for bench/cpuecho: each echo is followed by the trailer of
 * bench/cpuwork.h, the rounds and the hash of the request.  The rounds
 * must be the same in every reply; the hash is recomputed for each
 * connection's first reply and every HASH_CHECK_EVERY-th after (doing
 * the server's work for every reply would make the load generator the
 * bottleneck); the line then says hashes_checked=H after errors.
 *
 * Nothing here uses weft: it is the yardstick's other end.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cpuwork.h"

#define CONNECTING_AT_ONCE 256 /* keeps the server's backlog from flooding */
#define SETUP_LIMIT_NS (30 * NS)
#define NS 1000000000LL
#define HASH_CHECK_EVERY 1024

struct conn {
	int fd;
	bool connected;
	uint64_t seq;     /* the request under way */
	size_t sent, got; /* its bytes so far */
	int64_t start;    /* when it went out */
	unsigned char trailer[CPUWORK_TRAILER]; /* -H: the reply's trailer */
};

static struct conn *conns;
static long nconns = 100, size = 64;
static long reply_size;             /* size, plus the trailer with -H */
static bool hashed;                 /* -H */
static uint32_t hash_rounds;        /* -H: the rounds the first reply gave */
static uint64_t replies, hashes_checked;
static int epfd;
static long errors, connected, connecting, opened;
static unsigned char *out;    /* one request, being written */
static unsigned char *in;     /* what came back */
static unsigned char *req;    /* -H: a request rebuilt to check its hash */

/* ---- latency histogram: 16 buckets per power of two (6% wide) ---- */

#define BUCKETS 1024
static uint64_t hist[BUCKETS], measured;

static int bucket(uint64_t ns)
{
	if (ns < 16)
		return (int)ns;
	int msb = 63 - __builtin_clzll(ns);
	int b = (msb - 3) * 16 + (int)((ns >> (msb - 4)) & 15);
	return b < BUCKETS ? b : BUCKETS - 1;
}

/* The middle of bucket b, in ns. */
static double bucket_mid(int b)
{
	if (b < 16)
		return b;
	double width = (double)(1ull << (b / 16 - 1));
	return (16 + b % 16) * width + width / 2;
}

static double percentile(double p)
{
	uint64_t want = (uint64_t)(p * (double)measured), seen = 0;

	for (int b = 0; b < BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return bucket_mid(b);
	}
	return 0;
}

/* ---- connections ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

/* Byte i of request seq on connection id: different for every
 * connection and request, so a mixed-up echo shows. */
static unsigned char pattern(long id, uint64_t seq, size_t i)
{
	return (unsigned char)(id * 131 + seq * 7 + i);
}

static void watch(struct conn *c, int op, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(epfd, op, c->fd, &ev) < 0) {
		perror("loadgen: epoll_ctl");
		exit(1);
	}
}

static void fail(struct conn *c, const char *why)
{
	if (errors++ < 5)
		fprintf(stderr, "loadgen: connection %ld: %s\n",
			(long)(c - conns), why);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->connected)
		connected--;
	c->connected = false;
}

/* Writes what is left of c's request; waits for EPOLLOUT if the socket
 * will not take it all. */
static void send_rest(struct conn *c)
{
	long id = c - conns;

	for (size_t i = c->sent; i < (size_t)size; i++)
		out[i] = pattern(id, c->seq, i);
	while (c->sent < (size_t)size) {
		ssize_t w = write(c->fd, out + c->sent, size - c->sent);
		if (w < 0) {
			if (errno == EAGAIN) {
				watch(c, EPOLL_CTL_MOD, EPOLLOUT);
				return;
			}
			fail(c, strerror(errno));
			return;
		}
		c->sent += (size_t)w;
	}
	watch(c, EPOLL_CTL_MOD, EPOLLIN);
}

static void send_request(struct conn *c)
{
	c->seq++;
	c->sent = c->got = 0;
	c->start = now_ns();
	for (size_t i = 0; i < (size_t)size; i++)
		out[i] = pattern(c - conns, c->seq, i);
	ssize_t w = write(c->fd, out, size);
	if (w == size)
		return; /* still watched for EPOLLIN */
	if (w < 0 && errno != EAGAIN) {
		fail(c, strerror(errno));
		return;
	}
	c->sent = w > 0 ? (size_t)w : 0;
	send_rest(c);
}

/* Checks the trailer of c's whole reply (-H); returns a complaint or NULL. */
static const char *check_trailer(struct conn *c)
{
	uint32_t rounds;
	uint64_t hash;

	cpuwork_get_trailer(c->trailer, &rounds, &hash);
	if (hash_rounds == 0)
		hash_rounds = rounds;
	if (rounds == 0 || rounds != hash_rounds)
		return "the trailer's rounds differ from the first reply's";
	if (c->seq > 1 && replies++ % HASH_CHECK_EVERY != 0)
		return NULL;
	for (size_t i = 0; i < (size_t)size; i++)
		req[i] = pattern(c - conns, c->seq, i);
	hashes_checked++;
	if (cpuwork_hash(req, (size_t)size, rounds) != hash)
		return "the trailer's hash is not the request's";
	return NULL;
}

/* Reads what came of c's echo; a whole one is timed (between from and
 * until) and followed by the next request. */
static void on_readable(struct conn *c, int64_t from, int64_t until)
{
	ssize_t n = read(c->fd, in, reply_size - c->got);

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		fail(c, n == 0 ? "closed by the server" : strerror(errno));
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		size_t at = c->got + (size_t)i;
		if (at >= (size_t)size)
			c->trailer[at - (size_t)size] = in[i];
		else if (in[i] != pattern(c - conns, c->seq, at)) {
			fail(c, "the echo differs from what was sent");
			return;
		}
	}
	c->got += (size_t)n;
	if (c->got < (size_t)reply_size)
		return;
	int64_t t = now_ns(); /* before a hash check, which is our own time */
	const char *bad = hashed ? check_trailer(c) : NULL;
	if (bad) {
		fail(c, bad);
		return;
	}
	if (t >= from && t < until) {
		hist[bucket((uint64_t)(t - c->start))]++;
		measured++;
	}
	send_request(c);
}

/* Starts connecting the next connection. */
static void open_one(const struct sockaddr_in *addr)
{
	struct conn *c = &conns[opened++];
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		fail(c, strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (const struct sockaddr *)addr, sizeof *addr) < 0 &&
	    errno != EINPROGRESS) {
		fail(c, strerror(errno));
		return;
	}
	connecting++;
	watch(c, EPOLL_CTL_ADD, EPOLLOUT);
}

static void on_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;

	connecting--;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		fail(c, strerror(err));
		return;
	}
	c->connected = true;
	connected++;
	watch(c, EPOLL_CTL_MOD, EPOLLIN);
	send_request(c);
}

/* Prints " server_rss_kib=K server_threads=T" for process pid. */
static void print_server(long pid)
{
	char path[64], line[256];
	long rss = -1, threads = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f)) {
		sscanf(line, "VmRSS: %ld", &rss);
		sscanf(line, "Threads: %ld", &threads);
	}
	if (f)
		fclose(f);
	printf(" server_rss_kib=%ld server_threads=%ld", rss, threads);
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen -p PORT [-c CONNECTIONS] [-s SIZE] "
		"[-d SECONDS] [-w WARMUP] [-P SERVER_PID] [-H]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	double seconds = 3, warmup = 1;
	long server_pid = 0;
	struct rlimit rl;
	int opt;

	while ((opt = getopt(argc, argv, "p:c:s:d:w:P:H")) != -1) {
		switch (opt) {
		case 'p': addr.sin_port = htons(atoi(optarg)); break;
		case 'c': nconns = atol(optarg); break;
		case 's': size = atol(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'P': server_pid = atol(optarg); break;
		case 'H': hashed = true; break;
		default: usage();
		}
	}
	if (addr.sin_port == 0 || nconns < 1 || size < 1 || seconds <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	reply_size = size + (hashed ? CPUWORK_TRAILER : 0);
	conns = calloc(nconns, sizeof *conns);
	out = malloc(size);
	in = malloc(reply_size);
	req = malloc(size);
	epfd = epoll_create1(0);
	if (!conns || !out || !in || !req || epfd < 0) {
		perror("loadgen: setup");
		return 1;
	}

	struct epoll_event ev[1024];
	int64_t start = now_ns(), from = INT64_MAX, until = INT64_MAX;
	for (;;) {
		while (opened < nconns && connecting < CONNECTING_AT_ONCE)
			open_one(&addr);
		int64_t t = now_ns();
		if (from == INT64_MAX && opened == nconns && connecting == 0) {
			from = t + (int64_t)(warmup * NS);
			until = from + (int64_t)(seconds * NS);
		}
		if (t >= until)
			break;
		if (from == INT64_MAX && t - start > SETUP_LIMIT_NS) {
			fprintf(stderr, "loadgen: connections not made in %lld s\n",
				SETUP_LIMIT_NS / NS);
			return 1;
		}
		int n = epoll_wait(epfd, ev, 1024, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			if (c->fd < 0)
				continue;
			if (!c->connected)
				on_connected(c);
			else if (ev[i].events & EPOLLOUT)
				send_rest(c);
			else
				on_readable(c, from, until);
		}
	}
	printf("loadgen: connections=%ld size=%ld seconds=%.2f requests=%llu "
	       "rps=%.0f p50_us=%.1f p99_us=%.1f errors=%ld", nconns, size,
	       seconds, (unsigned long long)measured, measured / seconds,
	       percentile(0.50) / 1000, percentile(0.99) / 1000, errors);
	if (hashed)
		printf(" hashes_checked=%llu", (unsigned long long)hashes_checked);
	if (server_pid > 0)
		print_server(server_pid);
	printf("\n");
	return errors == 0 && measured > 0 ? 0 : 1;
}
