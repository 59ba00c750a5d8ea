/* test_stress.c - thousands of loopback connections in one process.
 *
 * Server and client coroutines share one scheduler: an acceptor starts a
 * coroutine per accepted connection that echoes until the client closes,
 * and each client sends 16 KiB in chunks of random sizes (a fixed seed),
 * reading each chunk's echo back and checking it byte for byte.  Every
 * read, write, accept and connect goes through weft's wrappers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

#define CONNECTIONS 5000
#define BYTES (16 * 1024)    /* each client's stream */
#define MAX_CHUNK 4096
#define AHEAD 1024           /* connections started but not yet accepted */

struct stress {
	int listener;
	struct sockaddr_in addr;
	long n;                  /* connections */
	long started, accepted;  /* clients that called connect; accepts */
	long served, checked;    /* bytes echoed by servers; checked by clients */
	long errors;
	int first_error;         /* errno of the first failure */
	weft_wg done;
};

static void count_error(struct stress *s, int err)
{
	if (s->errors++ == 0)
		s->first_error = err;
}

/* The byte at offset i of client id's stream. */
static unsigned char byte_at(long id, size_t i)
{
	uint32_t x = (uint32_t)(id * 2654435761u) ^ (uint32_t)(i * 40503u);

	return (unsigned char)(x ^ (x >> 11) ^ (x >> 23));
}

static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

struct conn {
	struct stress *s;
	int fd;
	long id;
};

/* The server side of one connection: echo until the client closes. */
static void echo(void *arg)
{
	struct conn *c = arg;
	char buf[MAX_CHUNK];
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(c->fd, buf + off, (size_t)(n - off));
			if (w <= 0) {
				count_error(c->s, errno);
				n = -1;
				break;
			}
			off += w;
		}
		if (n < 0)
			break;
		c->s->served += n;
	}
	if (n < 0)
		count_error(c->s, errno);
	close(c->fd);
	weft_wg_done(&c->s->done);
	free(c);
}

static void acceptor(void *arg)
{
	struct stress *s = arg;

	for (long i = 0; i < s->n; i++) {
		struct conn *c = malloc(sizeof *c);
		int fd = accept(s->listener, NULL, NULL);
		if (fd < 0 || c == NULL) {
			count_error(s, errno);
			free(c);
			weft_wg_add(&s->done, -(s->n - i)); /* none will come */
			break;
		}
		s->accepted++;
		*c = (struct conn){ .s = s, .fd = fd };
		if (weft_go(echo, c) < 0) {
			count_error(s, errno);
			close(fd);
			free(c);
			weft_wg_done(&s->done);
		}
	}
	weft_wg_done(&s->done);
}

/* One client: chunks of random sizes, each echo read back whole. */
static void client(void *arg)
{
	struct conn *c = arg;
	struct stress *s = c->s;
	uint64_t rnd = 0x5eed0000ull + (uint64_t)c->id;
	unsigned char out[MAX_CHUNK], in[MAX_CHUNK];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&s->addr,
			      sizeof s->addr) < 0) {
		count_error(s, errno);
		goto out;
	}
	for (size_t sent = 0; sent < BYTES;) {
		size_t n = 1 + next_random(&rnd) % MAX_CHUNK;
		if (n > BYTES - sent)
			n = BYTES - sent;
		for (size_t i = 0; i < n; i++)
			out[i] = byte_at(c->id, sent + i);
		if (write(fd, out, n) != (ssize_t)n) {
			count_error(s, errno);
			goto out;
		}
		for (size_t got = 0; got < n;) {
			ssize_t r = read(fd, in + got, n - got);
			if (r <= 0) {
				count_error(s, r == 0 ? EPIPE : errno);
				goto out;
			}
			got += (size_t)r;
		}
		if (memcmp(in, out, n) != 0) {
			count_error(s, EILSEQ);
			goto out;
		}
		sent += n;
		s->checked += (long)n;
	}
out:
	if (fd >= 0)
		close(fd);
	weft_wg_done(&s->done);
	free(c);
}

/* The fd limit raised as far as it goes; returns how many connections
 * fit in it (two fds each, and some to spare). */
static long connections_that_fit(void)
{
	struct rlimit rl;

	/* A tenth under valgrind, which is 20 to 50 times slower. */
	long want = RUNNING_ON_VALGRIND ? CONNECTIONS / 10 : CONNECTIONS;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	long fit = rl.rlim_cur == RLIM_INFINITY ? want
						: ((long)rl.rlim_cur - 64) / 2;
	if (fit < want)
		fprintf(stderr, "stress: %ld connections, as many as an fd "
			"limit of %ld allows\n", fit, (long)rl.rlim_cur);
	return fit < want ? fit : want;
}

START_TEST(thousands_of_loopback_connections_echo_byte_exact)
{
	struct stress s = { .n = connections_that_fit() };
	socklen_t len = sizeof s.addr;

	ck_assert_int_ge(s.n, 500);
	signal(SIGPIPE, SIG_IGN);
	s.addr = (struct sockaddr_in){ .sin_family = AF_INET,
				       .sin_addr.s_addr =
					       htonl(INADDR_LOOPBACK) };
	s.listener = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s.listener, 0);
	ck_assert_int_eq(bind(s.listener, (struct sockaddr *)&s.addr, len), 0);
	ck_assert_int_eq(listen(s.listener, SOMAXCONN), 0);
	ck_assert_int_eq(getsockname(s.listener, (struct sockaddr *)&s.addr,
				     &len), 0);

	/* Servers (one per connection, and the acceptor) and clients all
	 * count down one wait group. */
	weft_wg_add(&s.done, 2 * s.n + 1);
	ck_assert_int_eq(weft_go(acceptor, &s), 0);
	for (long i = 0; i < s.n; i++) {
		/* Keep the listener's backlog (SOMAXCONN) from overflowing,
		 * which would cost a second-long SYN retry: the acceptor
		 * runs whenever the clients wait. */
		while (s.started - s.accepted >= AHEAD && s.errors == 0)
			weft_sleep(1000000);
		struct conn *c = malloc(sizeof *c);
		ck_assert_ptr_nonnull(c);
		*c = (struct conn){ .s = &s, .fd = -1, .id = i };
		ck_assert_int_eq(weft_go(client, c), 0);
		s.started++;
	}
	weft_wg_wait(&s.done);
	close(s.listener);
	ck_assert_msg(s.errors == 0, "%ld errors, the first: %s", s.errors,
		      strerror(s.first_error));
	ck_assert_int_eq(s.accepted, s.n);
	ck_assert_int_eq(s.checked, s.n * BYTES);
	ck_assert_int_eq(s.served, s.n * BYTES);
}
END_TEST

Suite *suite_stress(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("loopback");

	/* It takes a few seconds; the limit is for slow, shared machines
	 * and sanitizer builds. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, thousands_of_loopback_connections_echo_byte_exact);
	suite_add_tcase(s, tc);
	return s;
}
