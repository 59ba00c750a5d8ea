/* test_hook_recv.c - recv, recvfrom, recvmsg, recvmmsg, __recv_chk and
 * __recvfrom_chk on AF_UNIX stream, datagram and seqpacket pairs and on
 * TCP and UDP over 127.0.0.1.
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

#define UNIT 8 /* what one send sends */

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *alen);

static const char unit_a[UNIT + 1] = "weftdata";
static const char unit_b[UNIT + 1] = "secondly";
static const char unit_c[UNIT + 1] = "thirdone";
/* Volatile, so the compiler does not see the bad arguments coming. */
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

enum kind { USTREAM, UDGRAM, USEQ, TCP, UDP, NKINDS };

static const char *const kind_name[NKINDS] = {
	"unix stream", "unix datagram", "unix seqpacket", "tcp", "udp",
};

static bool streamy(int k)
{
	return k == USTREAM || k == TCP;
}

/* A connected pair of blocking sockets of kind k: sv[0] receives what
 * sv[1] sends.  Returns 0 or -1; asserts nothing, so forked children may
 * use it. */
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
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (void *)&a, len) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (void *)&a, &len) < 0)
		return -1;
	sv[1] = socket(AF_INET, SOCK_STREAM, 0);
	if (sv[1] < 0 || connect(sv[1], (void *)&a, len) < 0)
		return -1;
	sv[0] = accept(l, NULL, NULL);
	close(l);
	if (sv[0] < 0)
		return -1;
	/* Small sends go at once, not after a delayed ACK. */
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

static int set_rcvtimeo(int fd, int64_t ns)
{
	struct timeval tv = { ns / SEC, ns % SEC / 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static unsigned char *pattern(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
	return p;
}

enum { C_RECV, C_RECVFROM, C_RECVMSG, C_RECV_CHK, C_RECVFROM_CHK,
       C_RECVMMSG, NCALLS };
#define NPLAIN C_RECVMMSG /* the calls that return a byte count */

static const char *const call_name[NCALLS] = {
	"recv", "recvfrom", "recvmsg", "__recv_chk", "__recvfrom_chk",
	"recvmmsg",
};

/* One of the receive calls, taking n bytes into buf with flags; recvmsg
 * scatters them over three iovecs, the middle one empty, and recvmmsg
 * takes one message and returns its length. */
static ssize_t do_recv(int call, int fd, void *buf, size_t n, int flags)
{
	char *b = buf;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct iovec iov[3] = {
		{ b, n / 2 }, { b + n / 2, 0 }, { b + n / 2, n - n / 2 },
	};
	struct mmsghdr mm = { .msg_hdr = { .msg_iov = iov, .msg_iovlen = 3 } };
	int r;

	switch (call) {
	case C_RECVFROM:
		return recvfrom(fd, buf, n, flags, (void *)&ss, &sl);
	case C_RECVMSG:
		return recvmsg(fd, &mm.msg_hdr, flags);
	case C_RECV_CHK:
		return __recv_chk(fd, buf, n, n, flags);
	case C_RECVFROM_CHK:
		return __recvfrom_chk(fd, buf, n, n, flags, (void *)&ss, &sl);
	case C_RECVMMSG:
		r = recvmmsg(fd, &mm, 1, flags, NULL);
		return r == 1 ? (ssize_t)mm.msg_len : r;
	default:
		return recv(fd, buf, n, flags);
	}
}

/* A peer: a coroutine (or, in the plain runs of differential tests and
 * for calls outside weft, a real thread) that acts on an fd after a
 * delay. */
struct peer {
	void (*fn)(struct peer *);
	struct tl_runner run;
	int fd, fd2;
	int64_t delay;     /* before it acts */
	int64_t gap;       /* between pieces; delay if 0 */
	const void *data;  /* peer_send: data, len bytes in count pieces */
	size_t len;
	int count;
	int at;            /* the step at which it acted */
	int done;          /* the step at which it finished */
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

/* Starts p running fn; returns 0 or -1. */
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

/* Sends data in count pieces (1 if unset), a delay apart. */
static void peer_send(struct peer *p)
{
	int count = p->count > 0 ? p->count : 1;
	size_t piece = p->len / count, off = 0;

	for (int i = 0; i < count; i++) {
		size_t n = i == count - 1 ? p->len - off : piece;
		if (i > 0)
			tl_nap_ns(p->run.thread, p->gap ? p->gap : p->delay);
		errno = 0;
		p->r = send(p->fd, (const char *)p->data + off, n, 0);
		p->err = errno;
		if (p->r < 0)
			return;
		off += (size_t)p->r;
	}
	p->r = (ssize_t)off;
}

/* peer_send, then shuts the socket down for writing. */
static void peer_send_shut(struct peer *p)
{
	if (p->len > 0)
		peer_send(p);
	p->r = shutdown(p->fd, SHUT_WR);
}

static void peer_close(struct peer *p)
{
	p->r = close(p->fd);
}

/* ---- differential runs -------------------------------------------------- */

struct record {
	int n;
	struct tl_rec r[160];
};

/* Runs script both ways and compares the records step by step. */
static void differ(tl_script_fn *script, int arg,
		   const char *what)
{
	struct record plain, woven;

	tl_run_script(script, arg, false, &plain, sizeof plain);
	tl_run_script(script, arg, true, &woven, sizeof woven);
	tl_compare_recs(what, plain.r, plain.n, woven.r, woven.n);
}

/* ---- waiting, and not --------------------------------------------------- */

START_TEST(recv_parks_until_the_peer_sends)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };
	char buf[UNIT] = { 0 };

	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	int64_t t0 = tl_mono_ns();
	ssize_t r = do_recv(call, sv[0], buf, UNIT, 0);
	int after = tl_next_step();
	ck_assert_msg(r == UNIT, "%s on %s: %zd (%s)", call_name[call],
		      kind_name[k], r, strerror(errno));
	ck_assert_mem_eq(buf, unit_a, UNIT);
	ck_assert_msg(p.at > 0 && p.at < after,
		      "%s on %s returned before the sender ran",
		      call_name[call], kind_name[k]);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	peer_join(&p);
	ck_assert_int_eq(p.r, UNIT);
}
END_TEST

START_TEST(recv_of_data_already_there_does_not_park)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	char buf[UNIT] = { 0 };
	int ran = 0;

	open_pair(k, sv);
	ck_assert_int_eq(send(sv[1], unit_a, UNIT, 0), UNIT);
	/* TCP over loopback hands the bytes over at once; be sure. */
	ck_assert_int_eq(weft_wait_fd(sv[0], WEFT_READ, 5 * SEC), WEFT_READ);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	ssize_t r = do_recv(call, sv[0], buf, UNIT, 0);
	ck_assert_msg(r == UNIT, "%s on %s: %zd (%s)", call_name[call],
		      kind_name[k], r, strerror(errno));
	ck_assert_msg(ran == 0, "%s on %s parked with data there",
		      call_name[call], kind_name[k]);
	ck_assert_mem_eq(buf, unit_a, UNIT);
	weft_yield();
	ck_assert_int_ne(ran, 0);
}
END_TEST

/* A real thread that sends after a delay (for calls outside any
 * coroutine, or a lone coroutine, which block for real). */
struct thread_job {
	int fd;
	int64_t delay;
	const void *data;
	size_t len;
	pthread_t tid;
};

static void *thread_main(void *arg)
{
	struct thread_job *j = arg;
	struct timespec ts = { j->delay / SEC, j->delay % SEC };

	nanosleep(&ts, NULL);
	return (void *)(intptr_t)send(j->fd, j->data, j->len, 0);
}

static void thread_start(struct thread_job *j)
{
	ck_assert_int_eq(pthread_create(&j->tid, NULL, thread_main, j), 0);
}

START_TEST(recv_outside_a_coroutine_passes_through)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	char buf[UNIT] = { 0 }, raw[UNIT] = { 0 };
	struct thread_job j = { .delay = 5 * MS, .data = unit_b, .len = UNIT };

	open_pair(k, sv);
	/* Data there: the same bytes the kernel gives. */
	ck_assert_int_eq(send(sv[1], unit_a, UNIT, 0), UNIT);
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), UNIT);
	ck_assert_int_eq(send(sv[1], unit_a, UNIT, 0), UNIT);
	ck_assert_int_eq(syscall(SYS_recvfrom, sv[0], raw, UNIT, 0, NULL,
				 NULL), UNIT);
	ck_assert_mem_eq(buf, raw, UNIT);
	/* No data: blocks the thread until another thread sends. */
	j.fd = sv[1];
	int64_t t0 = tl_mono_ns();
	thread_start(&j);
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), UNIT);
	ck_assert_mem_eq(buf, unit_b, UNIT);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	pthread_join(j.tid, NULL);
	/* Errors: the kernel's. */
	errno = 0;
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	errno = 0;
	ck_assert_int_eq(do_recv(call, -1, buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_ptr_null(weft__running); /* no scheduler was made */
}
END_TEST

START_TEST(recv_by_the_only_coroutine_blocks_for_real)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	char buf[UNIT] = { 0 };
	struct thread_job j = { .delay = 5 * MS, .data = unit_b, .len = UNIT };

	open_pair(k, sv);
	ck_assert_ptr_nonnull(weft_self()); /* the test is now the root */
	j.fd = sv[1];
	int64_t t0 = tl_mono_ns();
	thread_start(&j);
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), UNIT);
	ck_assert_mem_eq(buf, unit_b, UNIT);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	pthread_join(j.tid, NULL);
}
END_TEST

START_TEST(recv_with_MSG_DONTWAIT_returns_EAGAIN_without_parking)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	char buf[UNIT];
	int ran = 0;

	open_pair(k, sv);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	for (int i = 0; i < 100; i++) {
		errno = 0;
		ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT,
					 MSG_DONTWAIT), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	ck_assert_msg(ran == 0, "%s with MSG_DONTWAIT parked",
		      call_name[call]);
}
END_TEST

START_TEST(recv_of_a_nonblocking_socket_returns_EAGAIN_without_parking)
{
	int call = _i;
	int sv[2];
	char buf[UNIT];
	int ran = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv), 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	for (int i = 0; i < 100; i++) {
		errno = 0;
		ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(recv_returns_0_when_the_peer_shuts_down_while_waiting)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	int sv[2];
	struct peer p = { .delay = 5 * MS };
	char buf[UNIT];

	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send_shut);
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), 0);
	ck_assert_int_gt(p.at, 0);
	peer_join(&p);
	ck_assert_int_eq(p.r, 0);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(recv_of_a_bad_or_closed_fd_fails_with_EBADF)
{
	int call = _i;
	int sv[2];
	char buf[UNIT];
	struct tl_ticker t = { 0 };

	open_pair(USTREAM, sv);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	close_pair(sv);
	errno = 0;
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(do_recv(call, -1, buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(do_recv(call, 1 << 30, buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	t.stop = true;
}
END_TEST

START_TEST(recv_of_a_pipe_fails_with_ENOTSOCK)
{
	int call = _i;
	int p[2];
	char buf[UNIT];
	struct tl_ticker t = { 0 };

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	errno = 0;
	ck_assert_int_eq(do_recv(call, p[0], buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	t.stop = true;
}
END_TEST

START_TEST(recv_wakes_with_EBADF_when_another_coroutine_closes_the_fd)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct peer p = { .delay = 5 * MS };
	char buf[UNIT];

	open_pair(k, sv);
	p.fd = sv[0];
	go(&p, peer_close);
	errno = 0;
	ssize_t r = do_recv(call, sv[0], buf, UNIT, 0);
	int after = tl_next_step();
	ck_assert_msg(r == -1 && errno == EBADF, "%s on %s: %zd (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	ck_assert(p.at > 0 && p.at < after);
	peer_join(&p);
	ck_assert_int_eq(p.r, 0);
}
END_TEST

START_TEST(recv_into_a_bad_pointer_fails_with_EFAULT)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct tl_ticker t = { 0 };

	open_pair(k, sv);
	ck_assert_int_eq(send(sv[1], unit_a, UNIT, 0), UNIT);
	ck_assert_int_eq(weft_wait_fd(sv[0], WEFT_READ, 5 * SEC), WEFT_READ);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	errno = 0;
	ssize_t r = do_recv(call, sv[0], bad_ptr, UNIT, 0);
	ck_assert_msg(r == -1 && errno == EFAULT, "%s on %s: %zd (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	t.stop = true;
}
END_TEST

START_TEST(recv_into_a_bad_pointer_fails_with_EFAULT_after_waiting)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };

	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	errno = 0;
	ssize_t r = do_recv(call, sv[0], bad_ptr, UNIT, 0);
	ck_assert_msg(r == -1 && errno == EFAULT, "%s on %s: %zd (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	ck_assert_int_gt(p.at, 0);
}
END_TEST

START_TEST(recvmsg_with_too_many_iovecs_fails_with_EMSGSIZE)
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
	ck_assert_int_eq(recvmsg(sv[0], &m, 0), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	t.stop = true;
}
END_TEST

START_TEST(recv_of_out_of_band_data_that_is_not_there_fails_at_once)
{
	int call = _i;
	int sv[2];
	char buf[UNIT];
	int ran = 0;

	open_pair(TCP, sv);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, MSG_OOB), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(recv_with_MSG_OOB_on_udp_waits_like_any_recv)
{
	int call = _i;
	int sv[2];
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };
	char buf[UNIT] = { 0 };

	open_pair(UDP, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, MSG_OOB), UNIT);
	ck_assert_int_gt(p.at, 0);
	ck_assert_mem_eq(buf, unit_a, UNIT);
}
END_TEST

START_TEST(recv_of_the_error_queue_of_an_ip_socket_does_not_park)
{
	int call = _i / 2, k = _i % 2 ? UDP : TCP;
	int sv[2];
	char buf[UNIT];
	int ran = 0;

	open_pair(k, sv);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, MSG_ERRQUEUE), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(recv_of_the_error_queue_of_an_af_unix_socket_waits_for_data)
{
	int call = _i / 3, k = _i % 3;
	int sv[2];
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };
	char buf[UNIT] = { 0 };

	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, MSG_ERRQUEUE), UNIT);
	ck_assert_int_gt(p.at, 0);
	ck_assert_mem_eq(buf, unit_a, UNIT);
}
END_TEST

START_TEST(recv_times_out_with_EAGAIN_after_SO_RCVTIMEO)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	int sv[2];
	struct tl_ticker t = { 0 };
	char buf[UNIT];

	open_pair(k, sv);
	ck_assert_int_eq(set_rcvtimeo(sv[0], 20 * MS), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 20 * MS);
	ck_assert_int_gt(t.ticks, 0); /* parked, not blocked */
	/* It still works afterwards. */
	ck_assert_int_eq(send(sv[1], unit_a, UNIT, 0), UNIT);
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), UNIT);
	t.stop = true;
}
END_TEST

START_TEST(recv_with_SO_RCVTIMEO_of_zero_waits_for_ever)
{
	int call = _i;
	int sv[2];
	struct peer p = { .delay = 40 * MS, .data = unit_a, .len = UNIT };
	char buf[UNIT];

	open_pair(USTREAM, sv);
	ck_assert_int_eq(set_rcvtimeo(sv[0], 10 * MS), 0);
	ck_assert_int_eq(set_rcvtimeo(sv[0], 0), 0);
	p.fd = sv[1];
	go(&p, peer_send);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(do_recv(call, sv[0], buf, UNIT, 0), UNIT);
	ck_assert_int_ge(tl_mono_ns() - t0, 40 * MS);
	ck_assert_mem_eq(buf, unit_a, UNIT);
}
END_TEST

/* ---- MSG_WAITALL -------------------------------------------------------- */

START_TEST(recv_waitall_waits_for_the_whole_length)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	int sv[2];
	char all[3 * UNIT + 1], buf[3 * UNIT] = { 0 };
	struct peer p = { .delay = 5 * MS, .data = all, .len = 3 * UNIT,
			  .count = 3 };

	snprintf(all, sizeof all, "%s%s%s", unit_a, unit_b, unit_c);
	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	ssize_t r = do_recv(call, sv[0], buf, sizeof buf, MSG_WAITALL);
	int after = tl_next_step();
	ck_assert_msg(r == 3 * UNIT, "%s on %s: %zd (%s)", call_name[call],
		      kind_name[k], r, strerror(errno));
	ck_assert_mem_eq(buf, all, 3 * UNIT);
	ck_assert_msg(p.done > 0 && p.done < after,
		      "%s returned before the last piece was sent",
		      call_name[call]);
}
END_TEST

START_TEST(recv_waitall_returns_what_came_at_end_of_file)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	int sv[2];
	char buf[3 * UNIT] = { 0 };
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };

	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send_shut);
	ck_assert_int_eq(do_recv(call, sv[0], buf, sizeof buf, MSG_WAITALL),
			 UNIT);
	ck_assert_mem_eq(buf, unit_a, UNIT);
}
END_TEST

START_TEST(recv_waitall_returns_what_came_when_SO_RCVTIMEO_runs_out)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	int sv[2];
	char buf[3 * UNIT] = { 0 };
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };

	TL_SKIP_UNDER_VALGRIND("its first run of the peer can take longer"
			       " than the 30 ms time-out");
	open_pair(k, sv);
	ck_assert_int_eq(set_rcvtimeo(sv[0], 30 * MS), 0);
	p.fd = sv[1];
	go(&p, peer_send);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(do_recv(call, sv[0], buf, sizeof buf, MSG_WAITALL),
			 UNIT);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_mem_eq(buf, unit_a, UNIT);
}
END_TEST

START_TEST(recv_waitall_on_a_datagram_socket_returns_one_datagram)
{
	int call = _i / 3, k = (int[]){ UDGRAM, USEQ, UDP }[_i % 3];
	int sv[2];
	char buf[3 * UNIT] = { 0 };
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };

	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	ck_assert_int_eq(do_recv(call, sv[0], buf, sizeof buf, MSG_WAITALL),
			 UNIT);
	ck_assert_mem_eq(buf, unit_a, UNIT);
}
END_TEST

START_TEST(recv_waitall_carries_a_megabyte_whole)
{
	int call = _i / 2, k = _i % 2 ? TCP : USTREAM;
	enum { BIG = 1 << 20 };
	int sv[2];
	unsigned char *src = pattern(BIG, 3), *dst = calloc(1, BIG);
	struct peer p = { .delay = 1 * MS, .data = src, .len = BIG,
			  .count = 16 };

	ck_assert_ptr_nonnull(dst);
	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	ck_assert_int_eq(do_recv(call, sv[0], dst, BIG, MSG_WAITALL), BIG);
	ck_assert(memcmp(src, dst, BIG) == 0);
	peer_join(&p);
	free(src);
	free(dst);
}
END_TEST

START_TEST(recvmsg_waitall_fills_many_iovecs)
{
	int k = _i ? TCP : USTREAM;
	enum { N = 20 };
	int sv[2];
	char all[N * UNIT], got[N * UNIT];
	struct iovec iov[N];
	struct peer p = { .delay = 2 * MS, .data = all, .len = sizeof all,
			  .count = 5 };

	for (int i = 0; i < N; i++) {
		memcpy(all + i * UNIT, i % 2 ? unit_a : unit_b, UNIT);
		iov[i] = (struct iovec){ got + i * UNIT, UNIT };
	}
	memset(got, 0, sizeof got);
	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = N };
	ck_assert_int_eq(recvmsg(sv[0], &m, MSG_WAITALL), sizeof all);
	ck_assert_mem_eq(got, all, sizeof all);
	/* The caller's iovecs are as they were. */
	for (int i = 0; i < N; i++) {
		ck_assert_ptr_eq(iov[i].iov_base, got + i * UNIT);
		ck_assert_uint_eq(iov[i].iov_len, UNIT);
	}
}
END_TEST

START_TEST(recv_peek_waitall_on_tcp_waits_for_the_whole_length)
{
	int sv[2];
	char buf[2 * UNIT] = { 0 };
	struct peer p = { .delay = 5 * MS, .data = unit_b, .len = UNIT };

	open_pair(TCP, sv);
	ck_assert_int_eq(send(sv[1], unit_a, UNIT, 0), UNIT);
	p.fd = sv[1];
	go(&p, peer_send);
	ck_assert_int_eq(recv(sv[0], buf, sizeof buf, MSG_PEEK | MSG_WAITALL),
			 2 * UNIT);
	ck_assert_int_gt(p.at, 0);
	ck_assert_mem_eq(buf + UNIT, unit_b, UNIT);
	/* Nothing was taken. */
	ck_assert_int_eq(recv(sv[0], buf, sizeof buf, MSG_WAITALL), 2 * UNIT);
	ck_assert_mem_eq(buf, unit_a, UNIT);
}
END_TEST

/* ---- addresses and passed fds ------------------------------------------- */

START_TEST(recvfrom_reports_the_sender_after_waiting)
{
	int sv[2];
	char buf[UNIT];
	struct sockaddr_in from, want;
	socklen_t len = sizeof from, wlen = sizeof want;
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };

	open_pair(UDP, sv);
	ck_assert_int_eq(getsockname(sv[1], (void *)&want, &wlen), 0);
	p.fd = sv[1];
	go(&p, peer_send);
	memset(&from, 0, sizeof from);
	if (_i)
		ck_assert_int_eq(__recvfrom_chk(sv[0], buf, UNIT, UNIT, 0,
						(void *)&from, &len), UNIT);
	else
		ck_assert_int_eq(recvfrom(sv[0], buf, UNIT, 0, (void *)&from,
					  &len), UNIT);
	ck_assert_int_gt(p.at, 0);
	ck_assert_uint_eq(len, sizeof want);
	ck_assert_int_eq(from.sin_port, want.sin_port);
	ck_assert_int_eq(from.sin_addr.s_addr, want.sin_addr.s_addr);
}
END_TEST

static void peer_pass_fd(struct peer *p)
{
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { (void *)unit_a, UNIT };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.space,
			    .msg_controllen = sizeof u.space };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	memset(&u, 0, sizeof u);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p->fd2, sizeof(int));
	p->r = sendmsg(p->fd, &m, 0);
}

START_TEST(recvmsg_takes_a_passed_fd_after_waiting)
{
	int sv[2], pp[2];
	char buf[UNIT], got[UNIT];
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { buf, UNIT };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.space,
			    .msg_controllen = sizeof u.space };
	struct peer p = { .delay = 5 * MS };
	int fd;

	open_pair(_i ? USEQ : USTREAM, sv);
	ck_assert_int_eq(pipe(pp), 0);
	p.fd = sv[1];
	p.fd2 = pp[1];
	go(&p, peer_pass_fd);
	ck_assert_int_eq(recvmsg(sv[0], &m, _i ? 0 : MSG_WAITALL), UNIT);
	ck_assert_int_gt(p.at, 0);
	ck_assert_mem_eq(buf, unit_a, UNIT);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->cmsg_type, SCM_RIGHTS);
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	ck_assert_int_eq(write(fd, unit_b, UNIT), UNIT);
	ck_assert_int_eq(read(pp[0], got, UNIT), UNIT);
	ck_assert_mem_eq(got, unit_b, UNIT);
}
END_TEST

/* ---- recvmmsg ----------------------------------------------------------- */

struct mbuf {
	struct mmsghdr mm[4];
	struct iovec iov[4];
	char data[4][UNIT];
};

static void mbuf_init(struct mbuf *b)
{
	memset(b, 0, sizeof *b);
	for (int i = 0; i < 4; i++) {
		b->iov[i] = (struct iovec){ b->data[i], UNIT };
		b->mm[i].msg_hdr.msg_iov = &b->iov[i];
		b->mm[i].msg_hdr.msg_iovlen = 1;
	}
}

/* Sends three datagrams, gap (or delay) apart. */
static void peer_three(struct peer *p)
{
	const char *units[] = { unit_a, unit_b, unit_c };

	for (int i = 0; i < 3; i++) {
		if (i > 0)
			tl_nap_ns(p->run.thread, p->gap ? p->gap : p->delay);
		p->r = send(p->fd, units[i], UNIT, 0);
	}
}

START_TEST(recvmmsg_waits_for_vlen_messages)
{
	int k = (int[]){ UDGRAM, USEQ, UDP }[_i];
	int sv[2];
	struct mbuf b;
	struct peer p = { .delay = 5 * MS };

	mbuf_init(&b);
	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_three);
	ck_assert_int_eq(recvmmsg(sv[0], b.mm, 3, 0, NULL), 3);
	int after = tl_next_step();
	ck_assert(p.done > 0 && p.done < after);
	ck_assert_mem_eq(b.data[0], unit_a, UNIT);
	ck_assert_mem_eq(b.data[1], unit_b, UNIT);
	ck_assert_mem_eq(b.data[2], unit_c, UNIT);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(b.mm[i].msg_len, UNIT);
}
END_TEST

START_TEST(recvmmsg_with_MSG_WAITFORONE_returns_after_the_first)
{
	int k = (int[]){ UDGRAM, USEQ, UDP }[_i];
	int sv[2];
	struct mbuf b;
	struct peer p = { .delay = 5 * MS, .data = unit_a, .len = UNIT };

	mbuf_init(&b);
	open_pair(k, sv);
	p.fd = sv[1];
	go(&p, peer_send);
	ck_assert_int_eq(recvmmsg(sv[0], b.mm, 3, MSG_WAITFORONE, NULL), 1);
	ck_assert_int_gt(p.at, 0);
	ck_assert_mem_eq(b.data[0], unit_a, UNIT);
}
END_TEST

START_TEST(recvmmsg_looks_at_its_time_out_only_between_messages)
{
	int sv[2];
	struct mbuf b;
	struct peer p = { .delay = 5 * MS, .gap = 100 * MS };
	struct timespec ts = { 0, 30 * MS };

	TL_SKIP_UNDER_VALGRIND("its first run of the peer can take longer"
			       " than the 30 ms time-out, which has passed"
			       " when the first message comes");
	mbuf_init(&b);
	open_pair(UDGRAM, sv);
	p.fd = sv[1];
	go(&p, peer_three);
	/* The time-out passes while the second message is awaited: the call
	 * waits for it all the same (recvmmsg(2), BUGS), then stops. */
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(recvmmsg(sv[0], b.mm, 3, 0, &ts), 2);
	ck_assert_int_ge(tl_mono_ns() - t0, 100 * MS);
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 0);
	ck_assert_mem_eq(b.data[1], unit_b, UNIT);
}
END_TEST

START_TEST(recvmmsg_writes_back_the_time_left)
{
	int sv[2];
	struct mbuf b;
	struct peer p = { .delay = 5 * MS };
	struct timespec ts = { 30, 0 };

	mbuf_init(&b);
	open_pair(UDGRAM, sv);
	p.fd = sv[1];
	go(&p, peer_three);
	ck_assert_int_eq(recvmmsg(sv[0], b.mm, 3, 0, &ts), 3);
	ck_assert(ts.tv_sec < 30 && ts.tv_sec >= 0);
	ck_assert(ts.tv_sec > 0 || ts.tv_nsec > 0);
}
END_TEST

START_TEST(recvmmsg_with_a_bad_time_out_fails_with_EINVAL)
{
	int sv[2];
	struct mbuf b;
	struct tl_ticker t = { 0 };
	struct timespec bad[] = { { 0, 2000000000 }, { -1, 0 } };

	mbuf_init(&b);
	open_pair(UDGRAM, sv);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	for (int i = 0; i < 2; i++) {
		errno = 0;
		ck_assert_int_eq(recvmmsg(sv[0], b.mm, 3, 0, &bad[i]), -1);
		ck_assert_int_eq(errno, EINVAL);
	}
	errno = 0;
	ck_assert_int_eq(recvmmsg(sv[0], b.mm, 3, 0, bad_ptr), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(recvmmsg(sv[0], b.mm, 0, 0, NULL), 0);
	t.stop = true;
}
END_TEST

/* ---- fortified ---------------------------------------------------------- */

START_TEST(recv_chk_past_the_buffer_aborts)
{
	int sv[2];
	char buf[UNIT];
	struct tl_ticker t = { 0 };

	open_pair(USTREAM, sv);
	ck_assert_int_eq(send(sv[1], unit_a, UNIT, 0), UNIT);
	if (_i % 2)
		ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	if (_i / 2)
		__recvfrom_chk(sv[0], buf, UNIT, UNIT - 1, 0, NULL, NULL);
	else
		__recv_chk(sv[0], buf, UNIT, UNIT - 1, 0);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

/* Receives with call into a zeroed buffer and notes it. */
static void note_recv(struct record *rc, int line, int call, int fd,
		      size_t n, int flags)
{
	char buf[4 * UNIT] = { 0 };

	errno = 0;
	ssize_t r = do_recv(call, fd, buf, n, flags);
	TL_NOTE_AT(rc, line, r, errno, buf);
	if (r > UNIT)
		TL_NOTE_AT(rc, line, r, 0, buf + r - UNIT);
}

#define NOTE_RECV(call, fd, n, flags) \
	note_recv(rc, __LINE__, call, fd, n, flags)

static void recv_script(void *rec, int k, bool weft)
{
	struct record *rc = rec;
	int sv[2];
	struct peer p;
	bool thread = !weft;
	char all[3 * UNIT + 1], buf[UNIT];

	signal(SIGPIPE, SIG_IGN);
	snprintf(all, sizeof all, "%s%s%s", unit_a, unit_b, unit_c);
	if (pair_open(k, sv) < 0) {
		TL_NOTE(rc, -1, NULL);
		return;
	}
	for (int call = 0; call < NCALLS; call++) {
		/* Data there. */
		TL_NOTE(rc, send(sv[1], unit_a, UNIT, 0), NULL);
		NOTE_RECV(call, sv[0], UNIT, 0);
		/* Waiting for the peer. */
		p = (struct peer){ .fd = sv[1], .delay = 5 * MS,
				   .data = unit_b, .len = UNIT };
		TL_NOTE(rc, peer_start(&p, peer_send, thread), NULL);
		NOTE_RECV(call, sv[0], UNIT, 0);
		TL_NOTE(rc, p.at > 0 && p.at < tl_next_step(), NULL);
		peer_join(&p);
		/* Nothing there, MSG_DONTWAIT. */
		NOTE_RECV(call, sv[0], UNIT, MSG_DONTWAIT);
		/* A bad pointer, after waiting; then what is left. */
		TL_NOTE(rc, peer_start(&p, peer_send, thread), NULL);
		TL_NOTE(rc, do_recv(call, sv[0], bad_ptr, UNIT, 0), NULL);
		peer_join(&p);
		NOTE_RECV(call, sv[0], UNIT, MSG_DONTWAIT);
		/* MSG_WAITALL over three pieces. */
		p = (struct peer){ .fd = sv[1], .delay = 5 * MS, .data = all,
				   .len = 3 * UNIT, .count = 3 };
		TL_NOTE(rc, peer_start(&p, peer_send, thread), NULL);
		NOTE_RECV(call, sv[0], 3 * UNIT, MSG_WAITALL);
		peer_join(&p);
		for (int i = 0; !streamy(k) && i < 2; i++)
			NOTE_RECV(call, sv[0], 3 * UNIT, MSG_DONTWAIT);
		/* MSG_PEEK|MSG_WAITALL with part of it there. */
		TL_NOTE(rc, send(sv[1], unit_a, UNIT, 0), NULL);
		p = (struct peer){ .fd = sv[1], .delay = 5 * MS,
				   .data = unit_b, .len = UNIT };
		if (k == TCP)
			TL_NOTE(rc, peer_start(&p, peer_send, thread), NULL);
		NOTE_RECV(call, sv[0], 2 * UNIT, MSG_PEEK | MSG_WAITALL);
		if (k == TCP)
			peer_join(&p);
		else
			TL_NOTE(rc, send(sv[1], unit_b, UNIT, 0), NULL);
		NOTE_RECV(call, sv[0], 2 * UNIT, 0);
		NOTE_RECV(call, sv[0], 2 * UNIT, MSG_DONTWAIT);
		/* The time-out, with and without part of it there. */
		TL_NOTE(rc, set_rcvtimeo(sv[0], 20 * MS), NULL);
		NOTE_RECV(call, sv[0], UNIT, 0);
		TL_NOTE(rc, send(sv[1], unit_c, UNIT, 0), NULL);
		NOTE_RECV(call, sv[0], 2 * UNIT, MSG_WAITALL);
		TL_NOTE(rc, set_rcvtimeo(sv[0], 0), NULL);
	}
	/* Out-of-band data that is not there: at once on a stream socket,
	 * while UDP ignores the flag and waits for data. */
	p = (struct peer){ .fd = sv[1], .delay = 5 * MS, .data = unit_a,
			   .len = UNIT };
	if (streamy(k)) {
		NOTE_RECV(C_RECV, sv[0], UNIT, MSG_OOB);
	} else if (k == UDP) {
		TL_NOTE(rc, peer_start(&p, peer_send, thread), NULL);
		NOTE_RECV(C_RECVFROM, sv[0], UNIT, MSG_OOB);
		peer_join(&p);
	}
	/* The error queue: at once on IP sockets, while AF_UNIX ignores the
	 * flag and waits for data. */
	if (k == UDP || k == TCP) {
		NOTE_RECV(C_RECVMSG, sv[0], UNIT, MSG_ERRQUEUE);
	} else {
		TL_NOTE(rc, peer_start(&p, peer_send, thread), NULL);
		NOTE_RECV(C_RECVMSG, sv[0], UNIT, MSG_ERRQUEUE);
		peer_join(&p);
	}
	/* recvmmsg's time-out, looked at between messages. */
	if (!streamy(k)) {
		struct mbuf b;
		struct timespec ts = { 0, 30 * MS };
		mbuf_init(&b);
		p = (struct peer){ .fd = sv[1], .delay = 5 * MS,
				   .gap = 100 * MS };
		TL_NOTE(rc, peer_start(&p, peer_three, thread), NULL);
		TL_NOTE(rc, recvmmsg(sv[0], b.mm, 3, 0, &ts), b.data[1]);
		TL_NOTE(rc, ts.tv_sec == 0 && ts.tv_nsec == 0, NULL);
		peer_join(&p);
		mbuf_init(&b);
		TL_NOTE(rc, recvmmsg(sv[0], b.mm, 3, MSG_WAITFORONE, NULL),
		     b.data[0]);
		mbuf_init(&b);
		ts = (struct timespec){ 0, 2000000000 };
		TL_NOTE(rc, recvmmsg(sv[0], b.mm, 3, 0, &ts), NULL);
	}
	/* An error met after some messages waits for the next call. */
	if (k == UDP) {
		struct mbuf b;
		mbuf_init(&b);
		TL_NOTE(rc, send(sv[1], unit_a, UNIT, 0), NULL);
		TL_NOTE(rc, close(sv[1]), NULL);
		/* Port unreachable, for sv[0]'s next send. */
		p = (struct peer){ .fd = sv[0], .delay = 5 * MS,
				   .data = unit_b, .len = UNIT };
		TL_NOTE(rc, peer_start(&p, peer_send, thread), NULL);
		TL_NOTE(rc, recvmmsg(sv[0], b.mm, 2, 0, NULL), b.data[0]);
		peer_join(&p);
		NOTE_RECV(C_RECV, sv[0], UNIT, MSG_DONTWAIT);
		NOTE_RECV(C_RECV, sv[0], UNIT, MSG_DONTWAIT);
		sv[1] = -1;
	}
	/* The peer goes away while the receiver waits. */
	if (streamy(k)) {
		p = (struct peer){ .fd = sv[1], .delay = 5 * MS,
				   .data = unit_a, .len = UNIT };
		TL_NOTE(rc, peer_start(&p, peer_send_shut, thread), NULL);
		NOTE_RECV(C_RECV, sv[0], 3 * UNIT, MSG_WAITALL);
		peer_join(&p);
		NOTE_RECV(C_RECVMSG, sv[0], UNIT, 0);
	}
	close_pair(sv);
	TL_NOTE(rc, recv(sv[0], buf, UNIT, 0), NULL);
}

START_TEST(recv_calls_give_what_libc_gives)
{
	differ(recv_script, _i, kind_name[_i]);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_recv(void)
{
	Suite *s = suite_create("hook_recv");
	TCase *tc;

	tc = tcase_create("recv");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, recv_parks_until_the_peer_sends, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc, recv_of_data_already_there_does_not_park, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc, recv_outside_a_coroutine_passes_through, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc, recv_by_the_only_coroutine_blocks_for_real, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    recv_with_MSG_DONTWAIT_returns_EAGAIN_without_parking,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    recv_of_a_nonblocking_socket_returns_EAGAIN_without_parking,
			    0, NCALLS);
	tcase_add_loop_test(tc,
			    recv_returns_0_when_the_peer_shuts_down_while_waiting,
			    0, NCALLS * 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, recv_of_a_bad_or_closed_fd_fails_with_EBADF, 0,
			    NCALLS);
	tcase_add_loop_test(tc, recv_of_a_pipe_fails_with_ENOTSOCK, 0, NCALLS);
	tcase_add_loop_test(tc,
			    recv_wakes_with_EBADF_when_another_coroutine_closes_the_fd,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc, recv_into_a_bad_pointer_fails_with_EFAULT, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    recv_into_a_bad_pointer_fails_with_EFAULT_after_waiting,
			    0, NCALLS * NKINDS);
	tcase_add_test(tc, recvmsg_with_too_many_iovecs_fails_with_EMSGSIZE);
	tcase_add_loop_test(tc,
			    recv_of_out_of_band_data_that_is_not_there_fails_at_once,
			    0, NPLAIN);
	tcase_add_loop_test(tc, recv_with_MSG_OOB_on_udp_waits_like_any_recv, 0,
			    NCALLS);
	tcase_add_loop_test(tc,
			    recv_of_the_error_queue_of_an_ip_socket_does_not_park,
			    0, NCALLS * 2);
	tcase_add_loop_test(tc,
			    recv_of_the_error_queue_of_an_af_unix_socket_waits_for_data,
			    0, NCALLS * 3);
	tcase_add_loop_test(tc, recv_times_out_with_EAGAIN_after_SO_RCVTIMEO, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc, recv_with_SO_RCVTIMEO_of_zero_waits_for_ever, 0,
			    NCALLS);
	tcase_add_loop_test_raise_signal(tc, recv_chk_past_the_buffer_aborts,
					 SIGABRT, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("waitall");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, recv_waitall_waits_for_the_whole_length, 0,
			    NPLAIN * 2);
	tcase_add_loop_test(tc, recv_waitall_returns_what_came_at_end_of_file,
			    0, NPLAIN * 2);
	tcase_add_loop_test(tc,
			    recv_waitall_returns_what_came_when_SO_RCVTIMEO_runs_out,
			    0, NPLAIN * 2);
	tcase_add_loop_test(tc,
			    recv_waitall_on_a_datagram_socket_returns_one_datagram,
			    0, NPLAIN * 3);
	tcase_add_loop_test(tc, recv_waitall_carries_a_megabyte_whole, 0,
			    NPLAIN * 2);
	tcase_add_loop_test(tc, recvmsg_waitall_fills_many_iovecs, 0, 2);
	tcase_add_test(tc, recv_peek_waitall_on_tcp_waits_for_the_whole_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("messages");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, recvfrom_reports_the_sender_after_waiting, 0, 2);
	tcase_add_loop_test(tc, recvmsg_takes_a_passed_fd_after_waiting, 0, 2);
	tcase_add_loop_test(tc, recvmmsg_waits_for_vlen_messages, 0, 3);
	tcase_add_loop_test(tc,
			    recvmmsg_with_MSG_WAITFORONE_returns_after_the_first,
			    0, 3);
	tcase_add_test(tc, recvmmsg_looks_at_its_time_out_only_between_messages);
	tcase_add_test(tc, recvmmsg_writes_back_the_time_left);
	tcase_add_test(tc, recvmmsg_with_a_bad_time_out_fails_with_EINVAL);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, recv_calls_give_what_libc_gives, 0, NKINDS);
	suite_add_tcase(s, tc);

	return s;
}
