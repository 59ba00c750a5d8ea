/* tlsload.c - a TLS echo load for bench/servers' stunnel: one thread,
 * epoll, non-blocking sockets and OpenSSL, so that the client costs little
 * beside the server it drives (a Python client with a thread per
 * connection, as tests/preload/stunnel.sh's, bounds the rate itself).
 *
 *   tlsload -c CONNS -d SECONDS [-s SIZE] [-w WAIT] [-t LIMIT] CAFILE PORT
 *
 * Opens CONNS TLS connections to 127.0.0.1:PORT, each verifying the
 * server's certificate against CAFILE (for IP 127.0.0.1); once all have
 * finished the handshake they are held for WAIT seconds (1), so that a
 * thread-per-connection server has a thread for each at once.  Then each
 * sends SIZE (64) bytes, reads them back, checks them and sends again, for
 * SECONDS.  Prints one line:
 *
 *   conns=N handshake_s=S round_trips=R rps=X p50_us=A p99_us=B errors=E
 *
 * Exit status 0 when every connection came through, 1 otherwise (the
 * first few reasons go to stderr), 2 on bad usage.  LIMIT (60) bounds the
 * whole run.  Build: cc -O2 tlsload.c -lssl -lcrypto.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, HANDSHAKE, HELD, SENDING, RECEIVING, DEAD };

struct conn {
	int fd;
	enum state state;
	SSL *ssl;
	long id;
	size_t got;
	int64_t t0;         /* when the message's first write was tried */
	int writing;        /* a write OpenSSL must be asked again */
	int counted;        /* its handshake is in the count of ready ones */
};

static long nconns, size = 64, errors;
static double seconds, hold = 1, limit = 60;
static int ep;
static unsigned char *msg, *buf;
static int64_t *samples;
static long nsamples, cap;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Marks c failed; says why for the first five. */
static void lose(struct conn *c, const char *why)
{
	if (++errors <= 5) {
		char ssl_err[256] = "";
		ERR_error_string_n(ERR_get_error(), ssl_err, sizeof ssl_err);
		fprintf(stderr, "tlsload: connection %ld: %s %s\n",
			c->id, why, ssl_err);
	}
	ERR_clear_error();
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->state = DEAD;
}

/* Waits for what OpenSSL asked for (ret is an SSL call's result). Returns
 * 0 when c must wait, -1 when it has failed. */
static int want(struct conn *c, int ret, const char *what)
{
	struct epoll_event ev = { .data.ptr = c };
	int e = SSL_get_error(c->ssl, ret);
	if (e == SSL_ERROR_WANT_READ)
		ev.events = EPOLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		ev.events = EPOLLOUT;
	else {
		lose(c, what);
		return -1;
	}
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static void record(int64_t ns)
{
	if (nsamples == cap) {
		cap = cap ? 2 * cap : 65536;
		samples = realloc(samples, cap * sizeof *samples);
		if (!samples) {
			perror("tlsload: realloc");
			exit(1);
		}
	}
	samples[nsamples++] = ns;
}

/* Takes c as far as it goes without blocking; measuring: its round trips
 * count. */
static void step(struct conn *c, int measuring)
{
	int r;
	for (;;) {
		switch (c->state) {
		case CONNECTING:
			c->state = HANDSHAKE;
			/* fall through */
		case HANDSHAKE:
			if ((r = SSL_connect(c->ssl)) <= 0) {
				want(c, r, "handshake:");
				return;
			}
			c->state = HELD;
			return;
		case HELD:
		case DEAD:
			return;
		case SENDING:
			if (!c->writing)
				c->t0 = now_ns();
			if ((r = SSL_write(c->ssl, msg, size)) <= 0) {
				c->writing = 1;
				want(c, r, "write:");
				return;
			}
			c->writing = 0;
			c->state = RECEIVING;
			break;
		case RECEIVING:
			if ((r = SSL_read(c->ssl, buf + c->got, size - c->got)) <= 0) {
				want(c, r, "read:");
				return;
			}
			if (memcmp(buf + c->got, msg + c->got, r)) {
				lose(c, "the echo differs from what was sent");
				return;
			}
			c->got += r;
			if (c->got < (size_t)size)
				break;
			if (measuring)
				record(now_ns() - c->t0);
			c->got = 0;
			c->state = SENDING;
			break;
		}
	}
}

static int by_value(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event evs[256];
	struct rlimit rl;
	int opt, one = 1;

	while ((opt = getopt(argc, argv, "c:d:s:w:t:")) != -1) {
		switch (opt) {
		case 'c': nconns = atol(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 's': size = atol(optarg); break;
		case 'w': hold = atof(optarg); break;
		case 't': limit = atof(optarg); break;
		default: goto usage;
		}
	}
	if (optind + 2 != argc || nconns <= 0 || seconds <= 0 || size <= 0) {
usage:
		fprintf(stderr, "usage: tlsload -c CONNS -d SECONDS [-s SIZE] "
			"[-w WAIT] [-t LIMIT] CAFILE PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[optind], NULL) != 1) {
		fprintf(stderr, "tlsload: cannot load %s\n", argv[optind]);
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), "127.0.0.1");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(atoi(argv[optind + 1]));
	msg = malloc(size);
	buf = malloc(size);
	struct conn *conns = calloc(nconns, sizeof *conns);
	ep = epoll_create1(0);
	if (!msg || !buf || !conns || ep < 0) {
		perror("tlsload");
		return 1;
	}
	for (long i = 0; i < size; i++)
		msg[i] = (unsigned char)(i * 7919 >> 3);

	int64_t start = now_ns(), end_by = start + (int64_t)(limit * 1e9);
	for (long i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
		c->id = i;
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c->fd < 0 || !(c->ssl = SSL_new(ctx))) {
			perror("tlsload: socket");
			return 1;
		}
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		SSL_set_fd(c->ssl, c->fd);
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
		    errno != EINPROGRESS) {
			perror("tlsload: connect");
			return 1;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	}

	/* The handshakes, then the wait, then the round trips. */
	long live = nconns, ready = 0;
	int64_t t_ready = 0, t_go = 0, t_end = 0, now;
	while ((now = now_ns()) < end_by && (!t_end || now < t_end)) {
		if (!t_go && ready + errors == nconns) {
			if (!t_ready)
				t_ready = now;
			if (now - t_ready >= (int64_t)(hold * 1e9)) {
				t_go = now;
				t_end = now + (int64_t)(seconds * 1e9);
				for (long i = 0; i < nconns; i++) {
					if (conns[i].state != HELD)
						continue;
					conns[i].state = SENDING;
					step(&conns[i], 1);
				}
			}
		}
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			step(c, t_go != 0);
			if (c->state == HELD && !c->counted) {
				/* Silent until the round trips start. */
				struct epoll_event ev = { .events = 0, .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->counted = 1;
				ready++;
			}
		}
	}
	for (long i = 0; i < nconns; i++)
		if (conns[i].state == DEAD)
			live--;
	double secs = t_go ? (now_ns() - t_go) / 1e9 : 0;
	qsort(samples, nsamples, sizeof *samples, by_value);
	printf("conns=%ld handshake_s=%.2f round_trips=%ld rps=%.0f p50_us=%.0f "
	       "p99_us=%.0f errors=%ld\n", live,
	       t_ready ? (t_ready - start) / 1e9 : 0, nsamples,
	       secs > 0 ? nsamples / secs : 0,
	       nsamples ? samples[nsamples / 2] / 1e3 : 0,
	       nsamples ? samples[(long)(nsamples * 0.99)] / 1e3 : 0, errors);
	if (!t_go)
		fprintf(stderr, "tlsload: only %ld of %ld handshakes done in "
			"%.0f s\n", ready, nconns, limit);
	return errors || !t_go ? 1 : 0;
}
