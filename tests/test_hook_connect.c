/* test_hook_connect.c - connect on TCP over 127.0.0.1 and ::1, AF_UNIX
 * stream and seqpacket sockets and UDP; and many clients and echo
 * servers at once.
 *
 * A connect waits when the listener cannot take it: over TCP when the
 * listener's queue is full (the kernel drops the SYN, and the client
 * sends it again a second later), over AF_UNIX when its backlog is full
 * (the client waits for room).  Loop tests run over the kind, _i %
 * NKINDS. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "core.h"
#include "fd.h"
#include "testlib.h"

#define UNIT 8

static const char unit_a[UNIT + 1] = "weftdata";
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

enum kind { TCP, TCP6, USTREAM, USEQ, NKINDS };

static const char *const kind_name[NKINDS] = {
	"tcp", "tcp6", "unix stream", "unix seqpacket",
};

struct addr {
	int kind;
	struct sockaddr_storage ss;
	socklen_t len;
};

static int family(int k)
{
	return k == TCP ? AF_INET : k == TCP6 ? AF_INET6 : AF_UNIX;
}

static int sock_type(int k)
{
	return k == USEQ ? SOCK_SEQPACKET : SOCK_STREAM;
}

/* Binds fd to a fresh loopback address (an abstract one for AF_UNIX);
 * listens with backlog unless it is negative.  Fills *a.  Returns 0 or
 * -1; asserts nothing. */
static int bind_to(int fd, int k, struct addr *a, int backlog)
{
	memset(a, 0, sizeof *a);
	a->kind = k;
	if (k == TCP) {
		struct sockaddr_in *in = (void *)&a->ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->len = sizeof *in;
	} else if (k == TCP6) {
		struct sockaddr_in6 *in6 = (void *)&a->ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		a->len = sizeof *in6;
	} else {
		a->ss.ss_family = AF_UNIX;
		a->len = sizeof(sa_family_t); /* autobind */
	}
	if (bind(fd, (void *)&a->ss, a->len) < 0 ||
	    (backlog >= 0 && listen(fd, backlog) < 0))
		return -1;
	a->len = sizeof a->ss;
	return getsockname(fd, (void *)&a->ss, &a->len);
}

static int listener(int k, struct addr *a, int backlog)
{
	int fd = socket(family(k), sock_type(k), 0);

	if (fd < 0 || bind_to(fd, k, a, backlog) < 0)
		return -1;
	return fd;
}

static int open_listener(int k, struct addr *a, int backlog)
{
	int fd = listener(k, a, backlog);

	ck_assert_msg(fd >= 0, "cannot listen on %s: %s", kind_name[k],
		      strerror(errno));
	return fd;
}

static int client(int k)
{
	int fd = socket(family(k), sock_type(k), 0);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Fills a listener of backlog 0 so that the next connect must wait: one
 * connection waiting to be accepted (TCP: and let its handshake end, so
 * that the next SYN finds the queue full). */
static void fill_backlog(int k, const struct addr *a)
{
	int c = socket(family(k), sock_type(k), 0);

	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(connect(c, (const void *)&a->ss, a->len), 0);
	struct timespec ts = { 0, 20 * MS };
	nanosleep(&ts, NULL);
}

static int raw_getfl(int fd)
{
	return (int)syscall(SYS_fcntl, fd, F_GETFL);
}

struct peer {
	void (*fn)(struct peer *);
	struct tl_runner run;
	int fd;
	int64_t delay;
	int at;
	int r;
	int err;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	tl_nap_ns(p->run.thread, p->delay);
	p->at = tl_next_step();
	p->fn(p);
	return NULL;
}

static int peer_start(struct peer *p, void (*fn)(struct peer *), bool thread)
{
	p->fn = fn;
	p->at = 0;
	return tl_runner_start(&p->run, peer_main, p, thread);
}

static void peer_join(struct peer *p)
{
	tl_runner_join(&p->run);
}

static void go(struct peer *p, void (*fn)(struct peer *))
{
	ck_assert_int_eq(peer_start(p, fn, false), 0);
}

/* Accepts one connection (and keeps it open). */
static void peer_accept(struct peer *p)
{
	errno = 0;
	p->r = accept(p->fd, NULL, NULL);
	p->err = errno;
}

static void peer_close(struct peer *p)
{
	p->r = close(p->fd);
}

/* ---- differential runs -------------------------------------------------- */

struct record {
	int n;
	struct tl_rec r[128];
};

static void differ(tl_script_fn *script, int arg,
		   const char *what)
{
	struct record plain, woven;

	tl_run_script(script, arg, false, &plain, sizeof plain);
	tl_run_script(script, arg, true, &woven, sizeof woven);
	tl_compare_recs(what, plain.r, plain.n, woven.r, woven.n);
}

/* ---- waiting, and not --------------------------------------------------- */

START_TEST(connect_parks_until_the_listener_makes_room)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, 0);
	struct peer p = { .delay = 5 * MS, .fd = l };

	fill_backlog(k, &a);
	int c = client(k);
	go(&p, peer_accept);
	int64_t t0 = tl_mono_ns();
	int r = connect(c, (void *)&a.ss, a.len);
	int after = tl_next_step();
	ck_assert_msg(r == 0, "connect on %s: %s", kind_name[k],
		      strerror(errno));
	ck_assert_msg(p.at > 0 && p.at < after,
		      "connect on %s returned before the listener made room",
		      kind_name[k]);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	/* It is connected, and blocking as it was. */
	ck_assert_int_eq(raw_getfl(c) & O_NONBLOCK, 0);
	ck_assert_int_eq(weft__fd_flags(weft__fd_get(c)) & WEFT__FD_KERN_NB,
			 0);
	ck_assert_int_eq(send(c, unit_a, UNIT, 0), UNIT);
	/* (On AF_UNIX, a full listener would make even this wait.) */
	if (k == TCP || k == TCP6) {
		errno = 0;
		ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), -1);
		ck_assert_int_eq(errno, EISCONN);
	}
}
END_TEST

START_TEST(connect_that_needs_no_wait_does_not_park)
{
	int k = _i, ran = 0;
	struct addr a;
	int l = open_listener(k, &a, 8);
	int c = client(k);

	(void)l;
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), 0);
	/* A TCP handshake over loopback takes a turn of the loop. */
	if (k == USTREAM || k == USEQ)
		ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(raw_getfl(c) & O_NONBLOCK, 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(connect(u, (void *)&to, sizeof to), 0);
	ck_assert_int_eq(raw_getfl(u) & O_NONBLOCK, 0);
}
END_TEST

START_TEST(connect_outside_a_coroutine_passes_through)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, 0);
	struct peer p = { .delay = 5 * MS, .fd = l };

	fill_backlog(k, &a);
	int c = client(k);
	int before = raw_getfl(c);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(peer_start(&p, peer_accept, true), 0);
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	peer_join(&p);
	ck_assert_int_eq(raw_getfl(c), before);
	errno = 0;
	ck_assert_int_eq(connect(-1, (void *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(connect_by_the_only_coroutine_blocks_for_real)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, 0);
	struct peer p = { .delay = 5 * MS, .fd = l };

	fill_backlog(k, &a);
	int c = client(k);
	int before = raw_getfl(c);
	ck_assert_ptr_nonnull(weft_self());
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(peer_start(&p, peer_accept, true), 0);
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	peer_join(&p);
	ck_assert_int_eq(raw_getfl(c), before);
}
END_TEST

START_TEST(connect_of_a_nonblocking_socket_does_not_park)
{
	int k = _i, ran = 0;
	struct addr a;
	int l = open_listener(k, &a, 0);

	(void)l;
	fill_backlog(k, &a);
	int c = socket(family(k), sock_type(k) | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, k == USTREAM || k == USEQ ? EAGAIN
							  : EINPROGRESS);
	ck_assert_int_eq(ran, 0);
	ck_assert(raw_getfl(c) & O_NONBLOCK);
}
END_TEST

/* A coroutine that samples what the program sees of the flags while
 * another waits in connect. */
struct sampler {
	int fd, bad, samples;
	bool stop;
};

static void sample(void *arg)
{
	struct sampler *s = arg;

	while (!s->stop) {
		s->samples++;
		if (fcntl(s->fd, F_GETFL) & O_NONBLOCK)
			s->bad++;
		weft_sleep(MS);
	}
}

START_TEST(connect_hides_the_O_NONBLOCK_it_sets_for_the_call)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, 0);
	struct peer p = { .delay = 20 * MS, .fd = l };

	fill_backlog(k, &a);
	int c = client(k);
	int before = fcntl(c, F_GETFL);
	struct sampler s = { .fd = c };
	ck_assert_int_eq(weft_go(sample, &s), 0);
	go(&p, peer_accept);
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), 0);
	s.stop = true;
	ck_assert_int_gt(s.samples, 1);
	ck_assert_int_eq(s.bad, 0);
	ck_assert_int_eq(fcntl(c, F_GETFL), before);
	ck_assert_int_eq(raw_getfl(c), before);
}
END_TEST

START_TEST(connect_of_an_inherited_socket_never_touches_its_flags)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, 8);
	struct tl_ticker t = { 0 };

	(void)l;
	int c = (int)syscall(SYS_socket, family(k), sock_type(k), 0);
	ck_assert_int_ge(c, 0);
	weft__fd_forget(c);
	struct sampler s = { .fd = c };
	ck_assert_int_eq(weft_go(sample, &s), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int before = raw_getfl(c);
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), 0);
	ck_assert_int_eq(raw_getfl(c), before);
	s.stop = t.stop = true;
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(connect_fails_as_the_kernel_does)
{
	int k = _i / 2;
	struct tl_ticker t = { 0 };
	struct addr a, dead;
	int l = open_listener(k, &a, 8), pp[2];

	(void)l;
	if (_i % 2)
		ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	/* Bound but not listening: refused. */
	int d = socket(family(k), sock_type(k), 0);
	ck_assert_int_eq(bind_to(d, k, &dead, -1), 0);
	int c = client(k);
	errno = 0;
	ck_assert_int_eq(connect(c, (void *)&dead.ss, dead.len), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	ck_assert_int_eq(raw_getfl(c) & O_NONBLOCK, 0);
	/* The same socket may try again, as after a blocking connect. */
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), 0);
	errno = 0;
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, EISCONN);
	c = client(k);
	errno = 0;
	ck_assert_int_eq(connect(c, (void *)&a.ss, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(connect(c, bad_ptr, a.len), -1);
	ck_assert_int_eq(errno, EFAULT);
	struct sockaddr_storage other = { .ss_family = k == TCP ? AF_INET6
								: AF_INET };
	errno = 0;
	ck_assert_int_eq(connect(c, (void *)&other, a.len), -1);
	ck_assert_int_eq(errno, k == USTREAM || k == USEQ ? EINVAL
							  : EAFNOSUPPORT);
	errno = 0;
	ck_assert_int_eq(connect(-1, (void *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(pipe(pp), 0);
	errno = 0;
	ck_assert_int_eq(connect(pp[0], (void *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	if (k == USTREAM) {
		struct sockaddr_un none = { .sun_family = AF_UNIX,
					    .sun_path = "/nonexistent/weft" };
		errno = 0;
		ck_assert_int_eq(connect(c, (void *)&none, sizeof none), -1);
		ck_assert_int_eq(errno, ENOENT);
	}
	ck_assert_int_eq(raw_getfl(c) & O_NONBLOCK, 0);
	t.stop = true;
}
END_TEST

START_TEST(connect_wakes_with_EBADF_when_another_coroutine_closes_the_fd)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, 0);
	int pp[2];

	(void)l;
	fill_backlog(k, &a);
	int c = client(k);
	struct peer p = { .delay = 5 * MS, .fd = c };
	go(&p, peer_close);
	errno = 0;
	int r = connect(c, (void *)&a.ss, a.len);
	int after = tl_next_step();
	ck_assert_msg(r == -1 && errno == EBADF, "connect on %s: %d (%s)",
		      kind_name[k], r, strerror(errno));
	ck_assert(p.at > 0 && p.at < after);
	/* Whatever now has the number keeps its flags. */
	ck_assert_int_eq(pipe(pp), 0);
	ck_assert_int_eq(raw_getfl(pp[0]) & O_NONBLOCK, 0);
}
END_TEST

/* Closes the socket, then makes a pipe that takes its number. */
static void peer_close_and_reuse(struct peer *p)
{
	int pp[2];

	close(p->fd);
	p->r = pipe(pp) == 0 ? pp[0] : -1;
	p->err = raw_getfl(pp[0]);
}

START_TEST(connect_leaves_a_reused_fd_number_alone)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, 0);

	(void)l;
	fill_backlog(k, &a);
	int c = client(k);
	struct peer p = { .delay = 5 * MS, .fd = c };
	go(&p, peer_close_and_reuse);
	errno = 0;
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_eq(p.r, c);
	ck_assert_int_eq(raw_getfl(c), p.err);
	ck_assert_int_eq(raw_getfl(c) & O_NONBLOCK, 0);
}
END_TEST

START_TEST(connect_times_out_after_SO_SNDTIMEO_as_the_kernel_does)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, 0);
	struct timeval tv = { 0, 30000 };
	struct tl_ticker t = { 0 };
	bool unix_kind = k == USTREAM || k == USEQ;

	(void)l;
	fill_backlog(k, &a);
	int c = client(k);
	ck_assert_int_eq(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv,
				    sizeof tv), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, unix_kind ? EAGAIN : EINPROGRESS);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(t.ticks, 0);
	/* The connection goes on: a blocking connect waits for it again. */
	t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(connect(c, (void *)&a.ss, a.len), -1);
	ck_assert_int_eq(errno, unix_kind ? EAGAIN : EALREADY);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_eq(raw_getfl(c) & O_NONBLOCK, 0);
	t.stop = true;
}
END_TEST

/* ---- many clients ------------------------------------------------------- */

enum { CLIENTS = 200, PAYLOAD = 64 * 1024 };

struct echo_job {
	int fd;
	weft_wg *wg;
	long echoed;
};

/* Sends back what comes, until EOF. */
static void echo(void *arg)
{
	struct echo_job *e = arg;
	char buf[16384];
	ssize_t r;

	while ((r = read(e->fd, buf, sizeof buf)) > 0) {
		if (write(e->fd, buf, (size_t)r) != r)
			break;
		e->echoed += r;
	}
	close(e->fd);
	weft_wg_done(e->wg);
}

struct server {
	int l;
	int accepted;
	struct echo_job jobs[CLIENTS];
	weft_wg echoes;
};

/* Accepts CLIENTS connections, an echo coroutine for each. */
static void serve(void *arg)
{
	struct server *s = arg;

	while (s->accepted < CLIENTS) {
		int fd = accept(s->l, NULL, NULL);
		if (fd < 0)
			return;
		struct echo_job *e = &s->jobs[s->accepted++];
		*e = (struct echo_job){ .fd = fd, .wg = &s->echoes };
		if (weft_go(echo, e) < 0) {
			close(fd);
			weft_wg_done(&s->echoes);
		}
	}
}

struct client_job {
	const struct addr *to;
	int id;
	int ok;
	weft_wg *wg;
};

/* Connects, sends PAYLOAD bytes and checks they come back whole. */
static void run_client(void *arg)
{
	struct client_job *j = arg;
	unsigned char *out = malloc(PAYLOAD), *back = malloc(PAYLOAD);
	int fd = -1;

	if (out == NULL || back == NULL)
		goto done;
	for (int i = 0; i < PAYLOAD; i++)
		out[i] = (unsigned char)(i * 7 + j->id * 13 + (i >> 8));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (const void *)&j->to->ss, j->to->len) < 0)
		goto done;
	if (send(fd, out, PAYLOAD, 0) != PAYLOAD)
		goto done;
	if (recv(fd, back, PAYLOAD, MSG_WAITALL) != PAYLOAD)
		goto done;
	j->ok = memcmp(out, back, PAYLOAD) == 0;
done:
	if (fd >= 0)
		close(fd);
	free(out);
	free(back);
	weft_wg_done(j->wg);
}

START_TEST(two_hundred_clients_echo_64_KiB_each)
{
	static struct server s;
	static struct client_job jobs[CLIENTS];
	weft_wg clients = WEFT_WG_INIT;
	struct addr a;

	s = (struct server){ .echoes = WEFT_WG_INIT };
	s.l = open_listener(TCP, &a, CLIENTS + 56);
	weft_wg_add(&s.echoes, CLIENTS);
	weft_wg_add(&clients, CLIENTS);
	ck_assert_int_eq(weft_go(serve, &s), 0);
	for (int i = 0; i < CLIENTS; i++) {
		jobs[i] = (struct client_job){ .to = &a, .id = i,
					       .wg = &clients };
		ck_assert_int_eq(weft_go(run_client, &jobs[i]), 0);
	}
	weft_wg_wait(&clients);
	int ok = 0;
	for (int i = 0; i < CLIENTS; i++)
		ok += jobs[i].ok;
	ck_assert_int_eq(ok, CLIENTS);
	weft_wg_wait(&s.echoes);
	ck_assert_int_eq(s.accepted, CLIENTS);
	for (int i = 0; i < CLIENTS; i++)
		ck_assert_int_eq(s.jobs[i].echoed, PAYLOAD);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

/* Accepts whatever waits on l, without waiting. */
static int accept_all(int l)
{
	int fl = fcntl(l, F_GETFL), n = 0;

	fcntl(l, F_SETFL, fl | O_NONBLOCK);
	while (accept(l, NULL, NULL) >= 0)
		n++;
	fcntl(l, F_SETFL, fl);
	return n;
}

static void connect_script(void *rec, int k, bool weft)
{
	struct record *rc = rec;
	struct addr a, dead;
	struct peer p;
	bool thread = !weft;
	int l = listener(k, &a, 0), c, d;
	struct timeval tv = { 0, 20000 };
	struct timespec ts = { 0, 20 * MS };

	signal(SIGPIPE, SIG_IGN);
	if (l < 0) {
		TL_NOTE(rc, -1, NULL);
		return;
	}
	/* Room there. */
	TL_NOTE(rc, connect((c = socket(family(k), sock_type(k), 0)),
			 (void *)&a.ss, a.len), NULL);
	TL_NOTE(rc, fcntl(c, F_GETFL), NULL);
	nanosleep(&ts, NULL);
	TL_NOTE(rc, accept_all(l), NULL);
	TL_NOTE(rc, connect(c, (void *)&a.ss, a.len), NULL);
	/* Full: waits for the listener. */
	TL_NOTE(rc, connect(socket(family(k), sock_type(k), 0), (void *)&a.ss,
			 a.len), NULL);
	nanosleep(&ts, NULL);
	c = socket(family(k), sock_type(k), 0);
	p = (struct peer){ .delay = 5 * MS, .fd = l };
	TL_NOTE(rc, peer_start(&p, peer_accept, thread), NULL);
	TL_NOTE(rc, connect(c, (void *)&a.ss, a.len), NULL);
	TL_NOTE(rc, p.at > 0 && p.at < tl_next_step(), NULL);
	peer_join(&p);
	TL_NOTE(rc, p.r >= 0, NULL);
	TL_NOTE(rc, fcntl(c, F_GETFL), NULL);
	nanosleep(&ts, NULL);
	TL_NOTE(rc, accept_all(l), NULL);
	TL_NOTE(rc, connect(c, (void *)&a.ss, a.len), NULL);
	TL_NOTE(rc, send(c, unit_a, UNIT, 0), NULL);
	/* Full, with a time-out; then again. */
	TL_NOTE(rc, connect(socket(family(k), sock_type(k), 0), (void *)&a.ss,
			 a.len), NULL);
	nanosleep(&ts, NULL);
	c = socket(family(k), sock_type(k), 0);
	TL_NOTE(rc, setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), NULL);
	TL_NOTE(rc, connect(c, (void *)&a.ss, a.len), NULL);
	TL_NOTE(rc, connect(c, (void *)&a.ss, a.len), NULL);
	TL_NOTE(rc, fcntl(c, F_GETFL), NULL);
	/* The program's own O_NONBLOCK. */
	c = socket(family(k), sock_type(k) | SOCK_NONBLOCK, 0);
	TL_NOTE(rc, connect(c, (void *)&a.ss, a.len), NULL);
	TL_NOTE(rc, fcntl(c, F_GETFL), NULL);
	/* Refused, and the same socket again. */
	d = socket(family(k), sock_type(k), 0);
	TL_NOTE(rc, bind_to(d, k, &dead, -1), NULL);
	c = socket(family(k), sock_type(k), 0);
	TL_NOTE(rc, connect(c, (void *)&dead.ss, dead.len), NULL);
	TL_NOTE(rc, connect(c, (void *)&dead.ss, dead.len), NULL);
	TL_NOTE(rc, fcntl(c, F_GETFL), NULL);
	/* Bad arguments. */
	TL_NOTE(rc, connect(c, (void *)&a.ss, 1), NULL);
	TL_NOTE(rc, connect(c, bad_ptr, a.len), NULL);
	TL_NOTE(rc, connect(-1, (void *)&a.ss, a.len), NULL);
	TL_NOTE(rc, close(c), NULL);
	TL_NOTE(rc, connect(c, (void *)&a.ss, a.len), NULL);
	/* Datagrams: at once, and undone with AF_UNSPEC. */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	TL_NOTE(rc, connect(u, (void *)&to, sizeof to), NULL);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	TL_NOTE(rc, connect(u, &unspec, sizeof unspec), NULL);
	TL_NOTE(rc, send(u, unit_a, UNIT, 0), NULL);
	TL_NOTE(rc, fcntl(u, F_GETFL), NULL);
}

START_TEST(connect_gives_what_libc_gives)
{
	differ(connect_script, _i, kind_name[_i]);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_connect(void)
{
	Suite *s = suite_create("hook_connect");
	TCase *tc;

	tc = tcase_create("connect");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, connect_parks_until_the_listener_makes_room, 0,
			    NKINDS);
	tcase_add_loop_test(tc, connect_that_needs_no_wait_does_not_park, 0,
			    NKINDS);
	tcase_add_loop_test(tc, connect_outside_a_coroutine_passes_through, 0,
			    NKINDS);
	tcase_add_loop_test(tc, connect_by_the_only_coroutine_blocks_for_real,
			    0, NKINDS);
	tcase_add_loop_test(tc, connect_of_a_nonblocking_socket_does_not_park,
			    0, NKINDS);
	tcase_add_loop_test(tc,
			    connect_hides_the_O_NONBLOCK_it_sets_for_the_call,
			    0, NKINDS);
	tcase_add_loop_test(tc,
			    connect_of_an_inherited_socket_never_touches_its_flags,
			    0, NKINDS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, connect_fails_as_the_kernel_does, 0,
			    NKINDS * 2);
	tcase_add_loop_test(tc,
			    connect_wakes_with_EBADF_when_another_coroutine_closes_the_fd,
			    0, NKINDS);
	tcase_add_loop_test(tc, connect_leaves_a_reused_fd_number_alone, 0,
			    NKINDS);
	tcase_add_loop_test(tc,
			    connect_times_out_after_SO_SNDTIMEO_as_the_kernel_does,
			    0, NKINDS);
	suite_add_tcase(s, tc);

	tc = tcase_create("many");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, two_hundred_clients_echo_64_KiB_each);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, connect_gives_what_libc_gives, 0, NKINDS);
	suite_add_tcase(s, tc);

	return s;
}
