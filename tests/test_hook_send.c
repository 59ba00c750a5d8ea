/* test_hook_send.c - send, sendto, sendmsg and sendmmsg on AF_UNIX
 * stream, datagram and seqpacket pairs and on TCP over 127.0.0.1 (UDP
 * over loopback never makes a sender wait, so it only appears where a
 * send does not).
 *
 * Most tests are loop tests over a (call, kind) pair: _i / NKINDS picks
 * the call and _i % NKINDS the kind; failure messages name both. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "core.h"
#include "testlib.h"

#define UNIT 8

static const char unit_a[UNIT + 1] = "weftdata";
static const char unit_b[UNIT + 1] = "secondly";
static const char unit_c[UNIT + 1] = "thirdone";
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

/* The kinds a sender can wait on, then UDP. */
enum kind { USTREAM, UDGRAM, USEQ, TCP, NKINDS, UDP = NKINDS };

static const char *const kind_name[NKINDS + 1] = {
	"unix stream", "unix datagram", "unix seqpacket", "tcp", "udp",
};

static bool streamy(int k)
{
	return k == USTREAM || k == TCP;
}

/* A connected pair of blocking sockets of kind k: sv[1] sends to sv[0].
 * Returns 0 or -1; asserts nothing, so forked children may use it. */
static int pair_open(int k, int sv[2])
{
	static const int unix_type[] = { SOCK_STREAM, SOCK_DGRAM,
					 SOCK_SEQPACKET };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in b = a;
	socklen_t len = sizeof a;
	int one = 1;

	if (k <= USEQ)
		return socketpair(AF_UNIX, unix_type[k], 0, sv);
	if (k == UDP) {
		sv[0] = socket(AF_INET, SOCK_DGRAM, 0);
		sv[1] = socket(AF_INET, SOCK_DGRAM, 0);
		if (sv[0] < 0 || sv[1] < 0 ||
		    bind(sv[0], (void *)&a, len) < 0 ||
		    bind(sv[1], (void *)&b, len) < 0 ||
		    getsockname(sv[0], (void *)&a, &len) < 0 ||
		    getsockname(sv[1], (void *)&b, &len) < 0 ||
		    connect(sv[0], (void *)&b, len) < 0 ||
		    connect(sv[1], (void *)&a, len) < 0)
			return -1;
		return 0;
	}
	/* Fixed buffers, set before the handshake: the kernel does not
	 * grow them, so a full socket stays full. */
	int buf = 65536;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 ||
	    setsockopt(l, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf) < 0 ||
	    bind(l, (void *)&a, len) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (void *)&a, &len) < 0)
		return -1;
	sv[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (sv[1] < 0 ||
	    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf) < 0 ||
	    connect(sv[1], (void *)&a, len) < 0)
		return -1;
	sv[0] = accept(l, NULL, NULL);
	close(l);
	if (sv[0] < 0)
		return -1;
	setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return 0;
}

static void open_pair(int k, int sv[2])
{
	ck_assert_msg(pair_open(k, sv) == 0, "cannot open a %s pair: %s",
		      kind_name[k], strerror(errno));
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

/* Fills fd's way out so that a send of UNIT bytes would block: big
 * pieces, then (datagrams) small ones.  Returns the bytes that went. */
static size_t fill(int fd)
{
	static const char zeros[4096];
	struct timespec ts = { 0, 2 * MS };
	size_t total = 0;
	ssize_t n;

	for (int quiet = 0; quiet < 3;) {
		if ((n = send(fd, zeros, sizeof zeros, MSG_DONTWAIT)) > 0 ||
		    (n = send(fd, zeros, 1, MSG_DONTWAIT)) > 0) {
			total += (size_t)n;
			quiet = 0;
		} else {
			nanosleep(&ts, NULL);
			quiet++;
		}
	}
	return total;
}

/* Whether the calling test, on kind k, must leave out loopback TCP
 * under valgrind: TCP takes more for a few hundred ms after a first fill
 * (see fill_stable), and fill, slowed by valgrind, stops before: the
 * socket is not full, and a send meant to wait does not. */
static bool tcp_under_valgrind(const char *test, int k)
{
	return k == TCP &&
	       tl_valgrind_cannot(test, "loopback TCP takes more for a few"
				  " hundred ms after a first fill: the socket"
				  " is not full, so the send does not wait");
}

static bool is_tcp(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0;
}

/* fill, for tests whose outcome needs the socket to stay full: over
 * loopback TCP takes more for a few hundred ms after a first fill (the
 * receiver drops what it cannot hold, then takes it when sent again), so
 * fill until nothing more went for a while. */
static size_t fill_stable(int fd)
{
	struct timespec ts = { 0, 50 * MS };
	size_t total = fill(fd);

	for (int quiet = 0; is_tcp(fd) && quiet < 8;) {
		nanosleep(&ts, NULL);
		size_t more = fill(fd);
		total += more;
		quiet = more ? 0 : quiet + 1;
	}
	return total;
}

static int set_sndtimeo(int fd, int64_t ns)
{
	struct timeval tv = { ns / SEC, ns % SEC / 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static unsigned char *pattern(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);

	if (p)
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 9)) &
					       0xff);
	return p;
}

enum { C_SEND, C_SENDTO, C_SENDMSG, C_SENDMMSG, NCALLS };

static const char *const call_name[NCALLS] = {
	"send", "sendto", "sendmsg", "sendmmsg",
};

/* One of the send calls, sending n bytes of buf with flags; sendmsg
 * gathers them from three iovecs, the middle one empty, and sendmmsg
 * sends one message and returns its length. */
static ssize_t do_send(int call, int fd, const void *buf, size_t n,
		       int flags)
{
	char *b = (char *)buf;
	struct iovec iov[3] = {
		{ b, n / 2 }, { b + n / 2, 0 }, { b + n / 2, n - n / 2 },
	};
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = iov, .msg_iovlen = 3 } };
	int r;

	switch (call) {
	case C_SENDTO:
		return sendto(fd, buf, n, flags, NULL, 0);
	case C_SENDMSG:
		return sendmsg(fd, &mm.msg_hdr, flags);
	case C_SENDMMSG:
		r = sendmmsg(fd, &mm, 1, flags);
		return r == 1 ? (ssize_t)mm.msg_len : r;
	default:
		return send(fd, buf, n, flags);
	}
}

/* A peer: a coroutine (or, in the plain runs of differential tests and
 * for calls outside weft, a real thread) that acts on an fd after a
 * delay. */
struct peer {
	void (*fn)(struct peer *);
	struct tl_runner run;
	int fd;
	bool stream;
	int64_t delay;
	size_t want;          /* peer_drain: bytes to take */
	size_t chunk;         /* bytes per read */
	unsigned char *into;  /* where the bytes go, or NULL */
	size_t got;
	int seen;
	unsigned char last[UNIT]; /* the last UNIT-byte datagram, or tail */
	int at;
	int done;
	ssize_t r;
	int err;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	tl_nap_ns(p->run.thread, p->delay);
	p->at = tl_next_step();
	p->fn(p);
	p->done = tl_next_step();
	return NULL;
}

static int peer_start(struct peer *p, void (*fn)(struct peer *), bool thread)
{
	p->fn = fn;
	p->at = p->done = 0;
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

/* Reads until want bytes came, or EOF or an error; notes the last UNIT
 * bytes (stream) or the last UNIT-byte datagram, and counts those. */
static void peer_drain(struct peer *p)
{
	enum { SCRATCH = 1 << 17 };
	unsigned char *scratch = p->into ? NULL : malloc(SCRATCH);
	size_t chunk = p->chunk ? p->chunk : SCRATCH;

	ck_assert(p->into || scratch);
	while (p->got < p->want) {
		unsigned char *buf = p->into ? p->into + p->got : scratch;
		size_t n = chunk;
		if (p->stream && p->want - p->got < n)
			n = p->want - p->got;
		errno = 0;
		p->r = recv(p->fd, buf, n, 0);
		p->err = errno;
		if (p->r <= 0)
			break;
		size_t r = (size_t)p->r;
		if (!p->stream && r == UNIT) {
			memcpy(p->last, buf, UNIT);
			p->seen++;
		} else if (p->stream && r >= UNIT) {
			memcpy(p->last, buf + r - UNIT, UNIT);
		} else if (p->stream) {
			memmove(p->last, p->last + r, UNIT - r);
			memcpy(p->last + UNIT - r, buf, r);
		}
		p->got += r;
	}
	free(scratch);
}

/* Takes whatever is there, until it stays empty. */
static void empty(int fd)
{
	char buf[1 << 16];
	struct timespec ts = { 0, 2 * MS };

	for (int quiet = 0; quiet < 3;) {
		if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) {
			quiet = 0;
		} else {
			nanosleep(&ts, NULL);
			quiet++;
		}
	}
}

static void peer_close(struct peer *p)
{
	p->r = close(p->fd);
}

/* Sets p up to drain what fill put in sv[0]'s way and one more unit. */
static void drain_after_fill(struct peer *p, int k, int fd, size_t filled,
			     int units)
{
	*p = (struct peer){ .fd = fd, .delay = 5 * MS, .stream = streamy(k),
			    .want = filled + (size_t)units * UNIT };
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

START_TEST(send_parks_until_the_peer_makes_room)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct peer p;

	if (tcp_under_valgrind(__func__, k))
		return;
	open_pair(k, sv);
	size_t filled = fill(sv[1]);
	ck_assert_uint_gt(filled, 0);
	drain_after_fill(&p, k, sv[0], filled, 1);
	go(&p, peer_drain);
	int64_t t0 = tl_mono_ns();
	ssize_t r = do_send(call, sv[1], unit_b, UNIT, 0);
	int after = tl_next_step();
	ck_assert_msg(r == UNIT, "%s on %s: %zd (%s)", call_name[call],
		      kind_name[k], r, strerror(errno));
	ck_assert_msg(p.at > 0 && p.at < after,
		      "%s on a full %s returned before the reader ran",
		      call_name[call], kind_name[k]);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	peer_join(&p);
	ck_assert_mem_eq(p.last, unit_b, UNIT);
}
END_TEST

START_TEST(send_that_fits_does_not_park)
{
	int call = _i / (NKINDS + 1), k = _i % (NKINDS + 1);
	int sv[2], ran = 0;
	char buf[UNIT] = { 0 };

	open_pair(k, sv);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	ck_assert_int_eq(do_send(call, sv[1], unit_a, UNIT, 0), UNIT);
	ck_assert_msg(ran == 0, "%s on %s parked with room there",
		      call_name[call], kind_name[k]);
	ck_assert_int_eq(recv(sv[0], buf, UNIT, MSG_WAITALL), UNIT);
	ck_assert_mem_eq(buf, unit_a, UNIT);
}
END_TEST

/* A real thread that drains after a delay. */
static void thread_drain(struct peer *p, int k, int fd, size_t filled)
{
	drain_after_fill(p, k, fd, filled, 1);
	ck_assert_int_eq(peer_start(p, peer_drain, true), 0);
}

START_TEST(send_outside_a_coroutine_passes_through)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	char buf[UNIT] = { 0 };
	struct peer p;

	open_pair(k, sv);
	ck_assert_int_eq(do_send(call, sv[1], unit_a, UNIT, 0), UNIT);
	ck_assert_int_eq(syscall(SYS_recvfrom, sv[0], buf, UNIT, MSG_WAITALL,
				 NULL, NULL), UNIT);
	ck_assert_mem_eq(buf, unit_a, UNIT);
	/* Full: blocks the thread until another thread reads. */
	size_t filled = fill(sv[1]);
	int64_t t0 = tl_mono_ns();
	thread_drain(&p, k, sv[0], filled);
	ck_assert_int_eq(do_send(call, sv[1], unit_b, UNIT, 0), UNIT);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	peer_join(&p);
	ck_assert_mem_eq(p.last, unit_b, UNIT);
	fill_stable(sv[1]);
	errno = 0;
	ck_assert_int_eq(do_send(call, sv[1], unit_a, UNIT, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	errno = 0;
	ck_assert_int_eq(do_send(call, -1, unit_a, UNIT, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(send_by_the_only_coroutine_blocks_for_real)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct peer p;

	open_pair(k, sv);
	ck_assert_ptr_nonnull(weft_self());
	size_t filled = fill(sv[1]);
	int64_t t0 = tl_mono_ns();
	thread_drain(&p, k, sv[0], filled);
	ck_assert_int_eq(do_send(call, sv[1], unit_b, UNIT, 0), UNIT);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	peer_join(&p);
	ck_assert_mem_eq(p.last, unit_b, UNIT);
}
END_TEST

START_TEST(send_with_MSG_DONTWAIT_returns_EAGAIN_without_parking)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2], ran = 0;

	open_pair(k, sv);
	fill_stable(sv[1]);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	for (int i = 0; i < 100; i++) {
		errno = 0;
		ck_assert_int_eq(do_send(call, sv[1], unit_a, UNIT,
					 MSG_DONTWAIT), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(send_of_a_nonblocking_socket_returns_EAGAIN_without_parking)
{
	int call = _i, sv[2], ran = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	fill(sv[1]);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	for (int i = 0; i < 100; i++) {
		errno = 0;
		ck_assert_int_eq(do_send(call, sv[1], unit_a, UNIT, 0), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	ck_assert_int_eq(ran, 0);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(send_to_a_bad_or_closed_fd_fails_with_EBADF)
{
	int call = _i, sv[2];
	struct tl_ticker t = { 0 };

	open_pair(USTREAM, sv);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	close_pair(sv);
	int bad[] = { sv[1], -1, 1 << 30 };
	for (int i = 0; i < 3; i++) {
		errno = 0;
		ck_assert_int_eq(do_send(call, bad[i], unit_a, UNIT, 0), -1);
		ck_assert_int_eq(errno, EBADF);
	}
	t.stop = true;
}
END_TEST

START_TEST(send_to_a_pipe_fails_with_ENOTSOCK)
{
	int call = _i, p[2];
	struct tl_ticker t = { 0 };

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	errno = 0;
	ck_assert_int_eq(do_send(call, p[1], unit_a, UNIT, 0), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	t.stop = true;
}
END_TEST

START_TEST(send_wakes_with_EBADF_when_another_coroutine_closes_the_fd)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct peer p = { .delay = 5 * MS };

	if (tcp_under_valgrind(__func__, k))
		return;
	open_pair(k, sv);
	fill(sv[1]);
	p.fd = sv[1];
	go(&p, peer_close);
	errno = 0;
	ssize_t r = do_send(call, sv[1], unit_a, UNIT, 0);
	int after = tl_next_step();
	ck_assert_msg(r == -1 && errno == EBADF, "%s on %s: %zd (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	ck_assert(p.at > 0 && p.at < after);
}
END_TEST

START_TEST(send_from_a_bad_pointer_fails_with_EFAULT)
{
	int call = _i / (NKINDS + 1), k = _i % (NKINDS + 1);
	int sv[2];
	struct tl_ticker t = { 0 };

	open_pair(k, sv);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	errno = 0;
	ssize_t r = do_send(call, sv[1], bad_ptr, UNIT, 0);
	ck_assert_msg(r == -1 && errno == EFAULT, "%s on %s: %zd (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	t.stop = true;
}
END_TEST

START_TEST(send_from_a_bad_pointer_fails_with_EFAULT_after_waiting)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct peer p;

	if (tcp_under_valgrind(__func__, k))
		return;
	open_pair(k, sv);
	drain_after_fill(&p, k, sv[0], fill(sv[1]), 0);
	go(&p, peer_drain);
	errno = 0;
	ssize_t r = do_send(call, sv[1], bad_ptr, UNIT, 0);
	ck_assert_msg(r == -1 && errno == EFAULT, "%s on %s: %zd (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	ck_assert_int_gt(p.at, 0);
}
END_TEST

START_TEST(send_of_a_datagram_too_long_fails_with_EMSGSIZE)
{
	int call = _i / 3, k = (int[]){ UDGRAM, USEQ, UDP }[_i % 3];
	int sv[2];
	struct tl_ticker t = { 0 };
	static char big[300000];

	open_pair(k, sv);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	errno = 0;
	ck_assert_int_eq(do_send(call, sv[1], big, sizeof big, 0), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	t.stop = true;
}
END_TEST

START_TEST(sendmsg_with_too_many_iovecs_fails_with_EMSGSIZE)
{
	static struct iovec iov[IOV_MAX + 1];
	static char buf[IOV_MAX + 1];
	int sv[2];
	struct tl_ticker t = { 0 };

	for (int i = 0; i <= IOV_MAX; i++)
		iov[i] = (struct iovec){ buf + i, 1 };
	open_pair(USTREAM, sv);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = IOV_MAX + 1 };
	errno = 0;
	ck_assert_int_eq(sendmsg(sv[1], &m, 0), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	t.stop = true;
}
END_TEST

START_TEST(sendto_with_a_bad_address_fails_as_the_kernel_does)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(9) };
	struct tl_ticker t = { 0 };

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	errno = 0;
	ck_assert_int_eq(sendto(fd, unit_a, UNIT, 0, (void *)&a, 3), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(sendto(fd, unit_a, UNIT, 0, bad_ptr, sizeof a), -1);
	ck_assert_int_eq(errno, EFAULT);
	errno = 0;
	ck_assert_int_eq(send(fd, unit_a, UNIT, 0), -1);
	ck_assert_int_eq(errno, EDESTADDRREQ);
	t.stop = true;
}
END_TEST

START_TEST(send_wakes_with_EPIPE_when_the_reader_goes)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	int sv[2];
	struct peer p = { .delay = 5 * MS };

	if (tcp_under_valgrind(__func__, k))
		return;
	signal(SIGPIPE, SIG_IGN);
	open_pair(k, sv);
	fill(sv[1]);
	p.fd = sv[0];
	go(&p, peer_close);
	errno = 0;
	ssize_t r = do_send(call, sv[1], unit_a, UNIT, 0);
	ck_assert_msg(r == -1 && (errno == EPIPE || errno == ECONNRESET),
		      "%s on %s: %zd (%s)", call_name[call], kind_name[k], r,
		      strerror(errno));
	ck_assert_int_gt(p.at, 0);
	/* And afterwards, as the kernel says. */
	errno = 0;
	ck_assert_int_eq(do_send(call, sv[1], unit_a, UNIT, 0), -1);
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

/* A sender the kernel blocked on a full unix stream socket whose reader
 * leaves with data unread wakes with the reset, ECONNRESET, and no
 * SIGPIPE (the kernel checks the socket's error first); the next send
 * sees the shut-down peer: EPIPE. */
START_TEST(send_gets_ECONNRESET_not_SIGPIPE_when_the_reader_leaves_data)
{
	int call = _i;
	int sv[2];
	struct peer p = { .delay = 5 * MS };

	signal(SIGPIPE, SIG_DFL);
	open_pair(USTREAM, sv);
	fill(sv[1]);
	p.fd = sv[0];
	go(&p, peer_close);
	errno = 0;
	ssize_t r = do_send(call, sv[1], unit_a, UNIT, 0);
	ck_assert_msg(r == -1 && errno == ECONNRESET, "%s: %zd (%s)",
		      call_name[call], r, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	ck_assert_int_eq(do_send(call, sv[1], unit_a, UNIT, 0), -1);
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

START_TEST(send_times_out_with_EAGAIN_after_SO_SNDTIMEO)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct tl_ticker t = { 0 };

	open_pair(k, sv);
	fill_stable(sv[1]);
	ck_assert_int_eq(set_sndtimeo(sv[1], 20 * MS), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(do_send(call, sv[1], unit_a, UNIT, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 20 * MS);
	ck_assert_int_gt(t.ticks, 0);
	t.stop = true;
}
END_TEST

/* ---- partial sends ------------------------------------------------------ */

enum { BIG = 1 << 20 };

START_TEST(big_send_arrives_whole_while_the_sender_parks)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	int sv[2];
	unsigned char *src = pattern(BIG, 1), *dst = calloc(1, BIG);
	struct peer p = { .delay = 2 * MS, .stream = true, .want = BIG,
			  .chunk = 4096 };

	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(dst);
	open_pair(k, sv);
	p.fd = sv[0];
	p.into = dst;
	go(&p, peer_drain);
	ck_assert_int_eq(do_send(call, sv[1], src, BIG, 0), BIG);
	peer_join(&p);
	ck_assert_uint_eq(p.got, BIG);
	ck_assert(memcmp(src, dst, BIG) == 0);
	free(src);
	free(dst);
}
END_TEST

START_TEST(sendmsg_of_many_iovecs_crosses_partial_sends)
{
	int n = (int[]){ 3, 20, IOV_MAX }[_i];
	int sv[2];
	size_t per = BIG / n, total = per * n;
	unsigned char *src = pattern(total, 2), *dst = calloc(1, total);
	struct iovec *iov = calloc(n, sizeof *iov);
	struct peer p = { .delay = 2 * MS, .stream = true, .want = total,
			  .chunk = 4096 };

	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(dst);
	ck_assert_ptr_nonnull(iov);
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ src + i * per, per };
	open_pair(USTREAM, sv);
	p.fd = sv[0];
	p.into = dst;
	go(&p, peer_drain);
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };
	ck_assert_int_eq(sendmsg(sv[1], &m, 0), total);
	peer_join(&p);
	ck_assert(memcmp(src, dst, total) == 0);
	/* The caller's iovecs are as they were. */
	for (int i = 0; i < n; i++) {
		ck_assert_ptr_eq(iov[i].iov_base, src + i * per);
		ck_assert_uint_eq(iov[i].iov_len, per);
	}
	free(iov);
	free(src);
	free(dst);
}
END_TEST

/* Takes BIG bytes and the fds that came with them. */
static void peer_take_fds(struct peer *p)
{
	static unsigned char buf[65536];
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(4 * sizeof(int))];
	} u;

	while (p->got < p->want) {
		struct iovec iov = { buf, sizeof buf };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = u.space,
				    .msg_controllen = sizeof u.space };
		ssize_t r = recvmsg(p->fd, &m, 0);
		if (r <= 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c;
		     c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_type == SCM_RIGHTS)
				p->seen += (c->cmsg_len - CMSG_LEN(0)) /
					   sizeof(int);
		p->got += (size_t)r;
	}
}

START_TEST(sendmsg_passes_fds_once_across_partial_sends)
{
	int sv[2], pp[2];
	unsigned char *src = pattern(BIG, 3);
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { src, BIG };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.space,
			    .msg_controllen = sizeof u.space };
	struct peer p = { .delay = 2 * MS, .want = BIG };

	ck_assert_ptr_nonnull(src);
	memset(&u, 0, sizeof u);
	ck_assert_int_eq(pipe(pp), 0);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pp[1], sizeof(int));
	open_pair(USTREAM, sv);
	p.fd = sv[0];
	go(&p, peer_take_fds);
	ck_assert_int_eq(sendmsg(sv[1], &m, 0), BIG);
	peer_join(&p);
	ck_assert_uint_eq(p.got, BIG);
	ck_assert_int_eq(p.seen, 1);
	free(src);
}
END_TEST

/* Reads a little, then goes. */
static void peer_sip_and_close(struct peer *p)
{
	static char buf[65536];

	p->r = recv(p->fd, buf, sizeof buf, 0);
	p->r = close(p->fd);
}

START_TEST(partial_send_reports_what_went_before_the_reader_left)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	int sv[2];
	unsigned char *src = pattern(16 * BIG, 4);
	struct peer p = { .delay = 5 * MS };

	/* No SIGPIPE may come of it: the default action would end the test. */
	signal(SIGPIPE, SIG_DFL);
	ck_assert_ptr_nonnull(src);
	open_pair(k, sv);
	p.fd = sv[0];
	go(&p, peer_sip_and_close);
	ssize_t r = do_send(call, sv[1], src, 16 * BIG, 0);
	ck_assert_msg(r > 0 && r < 16 * BIG, "%s on %s: %zd (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	ck_assert_int_gt(p.at, 0);
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	ck_assert_int_eq(do_send(call, sv[1], src, UNIT, 0), -1);
	ck_assert(errno == EPIPE || errno == ECONNRESET);
	free(src);
}
END_TEST

START_TEST(partial_send_reports_what_went_when_SO_SNDTIMEO_runs_out)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	int sv[2];
	unsigned char *src = pattern(16 * BIG, 5);

	ck_assert_ptr_nonnull(src);
	open_pair(k, sv);
	ck_assert_int_eq(set_sndtimeo(sv[1], 30 * MS), 0);
	struct tl_ticker t = { 0 };
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	ssize_t r = do_send(call, sv[1], src, 16 * BIG, 0);
	ck_assert_msg(r > 0 && r < 16 * BIG, "%s on %s: %zd (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(t.ticks, 0);
	t.stop = true;
	free(src);
}
END_TEST

/* ---- sendmmsg, unconnected datagrams, fast open -------------------------- */

START_TEST(sendmmsg_waits_between_messages)
{
	int k = _i ? USEQ : UDGRAM;
	int sv[2];
	struct iovec iov[3] = { { (void *)unit_a, UNIT },
				{ (void *)unit_b, UNIT },
				{ (void *)unit_c, UNIT } };
	struct mmsghdr mm[3];
	struct peer p;

	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	open_pair(k, sv);
	drain_after_fill(&p, k, sv[0], fill(sv[1]), 3);
	go(&p, peer_drain);
	ck_assert_int_eq(sendmmsg(sv[1], mm, 3, 0), 3);
	ck_assert_int_gt(p.at, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(mm[i].msg_len, UNIT);
	peer_join(&p);
	ck_assert_int_eq(p.seen, 3);
	ck_assert_mem_eq(p.last, unit_c, UNIT);
}
END_TEST

START_TEST(sendmmsg_sends_each_stream_message_whole)
{
	int k = _i ? TCP : USTREAM;
	int sv[2];
	unsigned char *src = pattern(3 * BIG, 6), *dst = calloc(1, 3 * BIG);
	struct iovec iov[3];
	struct mmsghdr mm[3];
	struct peer p = { .delay = 2 * MS, .stream = true, .want = 3 * BIG,
			  .chunk = 8192 };

	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(dst);
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		iov[i] = (struct iovec){ src + i * BIG, BIG };
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	open_pair(k, sv);
	p.fd = sv[0];
	p.into = dst;
	go(&p, peer_drain);
	ck_assert_int_eq(sendmmsg(sv[1], mm, 3, 0), 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(mm[i].msg_len, BIG);
	peer_join(&p);
	ck_assert(memcmp(src, dst, 3 * BIG) == 0);
	free(src);
	free(dst);
}
END_TEST

START_TEST(sendmmsg_fails_as_the_kernel_does)
{
	int sv[2];
	struct iovec iov = { (void *)unit_a, UNIT };
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } };
	struct tl_ticker t = { 0 };

	open_pair(UDGRAM, sv);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	ck_assert_int_eq(sendmmsg(sv[1], &mm, 0, 0), 0);
	errno = 0;
	ck_assert_int_eq(sendmmsg(-1, &mm, 1, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(sendmmsg(sv[1], bad_ptr, 1, 0), -1);
	ck_assert_int_eq(errno, EFAULT);
	/* A failure after some messages: the count of those. */
	struct mmsghdr two[2] = { mm, mm };
	two[1].msg_hdr.msg_iov = bad_ptr;
	errno = 0;
	ck_assert_int_eq(sendmmsg(sv[1], two, 2, 0), 1);
	t.stop = true;
}
END_TEST

START_TEST(unconnected_datagram_send_waits_for_a_full_receiver)
{
	int rcv = socket(AF_UNIX, SOCK_DGRAM, 0), snd;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sa_family_t);
	struct peer p = { .delay = 10 * MS, .want = UNIT };
	struct tl_ticker t = { 0 };

	ck_assert_int_ge(rcv, 0);
	ck_assert_int_eq(bind(rcv, (void *)&a, len), 0); /* autobind */
	len = sizeof a;
	ck_assert_int_eq(getsockname(rcv, (void *)&a, &len), 0);
	snd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(snd, 0);
	while (sendto(snd, "", 1, MSG_DONTWAIT, (void *)&a, len) == 1)
		p.want++;
	p.fd = rcv;
	go(&p, peer_drain);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	ck_assert_int_eq(sendto(snd, unit_a, UNIT, _i ? MSG_NOSIGNAL : 0,
				(void *)&a, len), UNIT);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_gt(t.ticks, 0);
	peer_join(&p);
	ck_assert_mem_eq(p.last, unit_a, UNIT);
	t.stop = true;
}
END_TEST

START_TEST(sendto_with_MSG_FASTOPEN_connects_and_sends)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), fd, s;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	char buf[UNIT] = { 0 };
	struct tl_ticker t = { 0 };

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(bind(l, (void *)&a, len), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(getsockname(l, (void *)&a, &len), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ssize_t r = sendto(fd, unit_a, UNIT, MSG_FASTOPEN, (void *)&a, len);
	if (r < 0 && errno == EOPNOTSUPP) { /* fast open is switched off */
		t.stop = true;
		return;
	}
	ck_assert_int_eq(r, UNIT);
	s = accept(l, NULL, NULL);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(recv(s, buf, UNIT, MSG_WAITALL), UNIT);
	ck_assert_mem_eq(buf, unit_a, UNIT);
	t.stop = true;
}
END_TEST

/* ---- differential ------------------------------------------------------- */

static void send_script(void *rec, int k, bool weft)
{
	struct record *rc = rec;
	int sv[2];
	struct peer p;
	bool thread = !weft;
	char buf[UNIT];
	bool waits = k != UDP;

	signal(SIGPIPE, SIG_IGN);
	if (pair_open(k, sv) < 0) {
		TL_NOTE(rc, -1, NULL);
		return;
	}
	for (int call = 0; call < NCALLS; call++) {
		/* Room there. */
		TL_NOTE(rc, do_send(call, sv[1], unit_a, UNIT, 0), NULL);
		TL_NOTE(rc, recv(sv[0], buf, UNIT, MSG_WAITALL), buf);
		TL_NOTE(rc, do_send(call, sv[1], unit_a, 0, 0), NULL);
		if (!streamy(k))
			TL_NOTE(rc, recv(sv[0], buf, UNIT, 0), NULL);
		TL_NOTE(rc, do_send(call, sv[1], bad_ptr, UNIT, 0), NULL);
		if (k == UDGRAM || k == USEQ)
			TL_NOTE(rc, do_send(call, sv[1], unit_a, UNIT, MSG_OOB),
			     NULL);
		if (!waits)
			continue;
		/* Waiting for the peer to make room. */
		/* (TCP takes more for a while after a fill: the outcomes
		 * that need it full for long are tested on their own.) */
		size_t filled = fill(sv[1]);
		if (k != TCP)
			TL_NOTE(rc, do_send(call, sv[1], unit_b, UNIT,
					 MSG_DONTWAIT), NULL);
		drain_after_fill(&p, k, sv[0], filled, 1);
		TL_NOTE(rc, peer_start(&p, peer_drain, thread), NULL);
		TL_NOTE(rc, do_send(call, sv[1], unit_b, UNIT, 0), NULL);
		/* Whether the send waited for the reader: not under valgrind
		 * on TCP, which may not be full (see tcp_under_valgrind). */
		TL_NOTE(rc, (k == TCP && RUNNING_ON_VALGRIND) ||
			    (p.at > 0 && p.at < tl_next_step()), NULL);
		peer_join(&p);
		TL_NOTE_AT(rc, __LINE__, UNIT, 0, p.last);
		/* A bad pointer after waiting. */
		drain_after_fill(&p, k, sv[0], fill(sv[1]), 0);
		TL_NOTE(rc, peer_start(&p, peer_drain, thread), NULL);
		TL_NOTE(rc, do_send(call, sv[1], bad_ptr, UNIT, 0), NULL);
		peer_join(&p);
		/* The time-out. */
		if (k != TCP) {
			fill(sv[1]);
			TL_NOTE(rc, set_sndtimeo(sv[1], 20 * MS), NULL);
			TL_NOTE(rc, do_send(call, sv[1], unit_c, UNIT, 0), NULL);
			TL_NOTE(rc, set_sndtimeo(sv[1], 0), NULL);
			empty(sv[0]);
		}
	}
	/* The reader goes while the writer waits. */
	if (waits && k != UDGRAM) {
		fill(sv[1]);
		p = (struct peer){ .fd = sv[0], .delay = 5 * MS };
		TL_NOTE(rc, peer_start(&p, peer_close, thread), NULL);
		errno = 0;
		ssize_t r = send(sv[1], unit_a, UNIT, 0);
		/* TCP may say either, as the kernel's timing has it. */
		TL_NOTE(rc, r == -1 && (errno == EPIPE || errno == ECONNRESET),
		     NULL);
		peer_join(&p);
		TL_NOTE(rc, send(sv[1], unit_a, UNIT, MSG_NOSIGNAL), NULL);
		sv[0] = -1;
	}
	close_pair(sv);
	TL_NOTE(rc, send(sv[1], unit_a, UNIT, 0), NULL);
}

START_TEST(send_calls_give_what_libc_gives)
{
	differ(send_script, _i, kind_name[_i]);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_send(void)
{
	Suite *s = suite_create("hook_send");
	TCase *tc;

	tc = tcase_create("send");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, send_parks_until_the_peer_makes_room, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc, send_that_fits_does_not_park, 0,
			    NCALLS * (NKINDS + 1));
	tcase_add_loop_test(tc, send_outside_a_coroutine_passes_through, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc, send_by_the_only_coroutine_blocks_for_real, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    send_with_MSG_DONTWAIT_returns_EAGAIN_without_parking,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    send_of_a_nonblocking_socket_returns_EAGAIN_without_parking,
			    0, NCALLS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, send_to_a_bad_or_closed_fd_fails_with_EBADF, 0,
			    NCALLS);
	tcase_add_loop_test(tc, send_to_a_pipe_fails_with_ENOTSOCK, 0, NCALLS);
	tcase_add_loop_test(tc,
			    send_wakes_with_EBADF_when_another_coroutine_closes_the_fd,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc, send_from_a_bad_pointer_fails_with_EFAULT, 0,
			    NCALLS * (NKINDS + 1));
	tcase_add_loop_test(tc,
			    send_from_a_bad_pointer_fails_with_EFAULT_after_waiting,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc, send_of_a_datagram_too_long_fails_with_EMSGSIZE,
			    0, NCALLS * 3);
	tcase_add_test(tc, sendmsg_with_too_many_iovecs_fails_with_EMSGSIZE);
	tcase_add_test(tc, sendto_with_a_bad_address_fails_as_the_kernel_does);
	tcase_add_loop_test(tc, send_wakes_with_EPIPE_when_the_reader_goes, 0,
			    NCALLS * 2);
	tcase_add_loop_test(tc,
		send_gets_ECONNRESET_not_SIGPIPE_when_the_reader_leaves_data, 0,
		NCALLS);
	tcase_add_loop_test(tc, send_times_out_with_EAGAIN_after_SO_SNDTIMEO, 0,
			    NCALLS * NKINDS);
	suite_add_tcase(s, tc);

	tc = tcase_create("partial");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, big_send_arrives_whole_while_the_sender_parks,
			    0, NCALLS * 2);
	tcase_add_loop_test(tc, sendmsg_of_many_iovecs_crosses_partial_sends,
			    0, 3);
	tcase_add_test(tc, sendmsg_passes_fds_once_across_partial_sends);
	tcase_add_loop_test(tc,
			    partial_send_reports_what_went_before_the_reader_left,
			    0, NCALLS * 2);
	tcase_add_loop_test(tc,
			    partial_send_reports_what_went_when_SO_SNDTIMEO_runs_out,
			    0, NCALLS * 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("messages");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, sendmmsg_waits_between_messages, 0, 2);
	tcase_add_loop_test(tc, sendmmsg_sends_each_stream_message_whole, 0, 2);
	tcase_add_test(tc, sendmmsg_fails_as_the_kernel_does);
	tcase_add_loop_test(tc, unconnected_datagram_send_waits_for_a_full_receiver,
			    0, 2);
	tcase_add_test(tc, sendto_with_MSG_FASTOPEN_connects_and_sends);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, send_calls_give_what_libc_gives, 0, NKINDS + 1);
	suite_add_tcase(s, tc);

	return s;
}
