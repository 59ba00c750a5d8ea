/* test_hook_socket.c - socket, socketpair, shutdown, setsockopt and
 * getsockopt: what weft records of new sockets, how shutdown wakes the
 * coroutines waiting on a socket, and how SO_RCVTIMEO and SO_SNDTIMEO
 * end their waits.  None of these calls blocks, so their own tests are of
 * the paths that do not, outside weft and in error; the waits they affect
 * are those of read, recv, write and send. */
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
#include <sys/resource.h>
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

/* The kernel's numbers for the two forms of the time-outs. */
#define RCVTIMEO_OLD 20
#define SNDTIMEO_OLD 21
#define RCVTIMEO_NEW 66
#define SNDTIMEO_NEW 67

static const char unit_a[UNIT + 1] = "weftdata";
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

enum kind { USTREAM, TCP, NKINDS };

static const char *const kind_name[NKINDS] = { "unix stream", "tcp" };

/* Whether the calling test, on kind k, must leave out loopback TCP
 * under valgrind: TCP takes more for a few hundred ms after a first
 * fill, and fill, slowed by valgrind, stops before: the socket is not
 * full, and a writer meant to wait does not. */
static bool tcp_under_valgrind(const char *test, int k)
{
	return k == TCP &&
	       tl_valgrind_cannot(test, "loopback TCP takes more for a few"
				  " hundred ms after a first fill: the socket"
				  " is not full, so the writer does not wait");
}

/* A connected pair of blocking stream sockets.  Returns 0 or -1; asserts
 * nothing, so forked children may use it. */
static int pair_open(int k, int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int one = 1;

	if (k == USTREAM)
		return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
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

/* Fills fd's way out so that a send of UNIT bytes would block: big
 * pieces, then (datagrams) small ones.  Returns the bytes that went. */
static size_t fill(int fd)
{
	static const char zeros[65536];
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

/* The time-out options in one of their forms, in ns. */
static int set_timeo(int fd, int name, int64_t ns)
{
	if (name == RCVTIMEO_NEW || name == SNDTIMEO_NEW) {
		struct { int64_t sec, usec; } tv = { ns / SEC, ns % SEC / 1000 };
		return setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv);
	}
	struct timeval tv = { ns / SEC, ns % SEC / 1000 };
	return setsockopt(fd, SOL_SOCKET, name, &tv, sizeof tv);
}

static int64_t entry_timeo(int fd, bool rcv)
{
	struct weft__fd *f = weft__fd_get(fd);

	ck_assert_ptr_nonnull(f);
	return atomic_load(rcv ? &f->rcvtimeo : &f->sndtimeo);
}

/* A peer: a coroutine (or, in the plain runs of differential tests, a
 * real thread) that acts on an fd after a delay. */
struct peer {
	void (*fn)(struct peer *);
	struct tl_runner run;
	int fd;
	int how;
	int64_t delay;
	int at;
	ssize_t r;
	int err;
};

static void nap_ns(bool thread, int64_t ns)
{
	if (thread) {
		struct timespec ts = { ns / SEC, ns % SEC };
		nanosleep(&ts, NULL);
	} else {
		weft_sleep(ns);
	}
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	nap_ns(p->run.thread, p->delay);
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

static void peer_shutdown(struct peer *p)
{
	errno = 0;
	p->r = shutdown(p->fd, p->how);
	p->err = errno;
}

static void peer_send(struct peer *p)
{
	errno = 0;
	p->r = send(p->fd, unit_a, UNIT, 0);
	p->err = errno;
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

/* ---- socket and socketpair ---------------------------------------------- */

/* _i: 0 socket, 1 socket with SOCK_NONBLOCK, 2 socketpair, 3 socketpair
 * with SOCK_NONBLOCK; the test is a coroutine or not by _i / 4. */
START_TEST(socket_records_a_socket_of_this_process)
{
	bool nb = _i % 2, pair = _i % 4 >= 2, in_weft = _i / 4;
	int type = SOCK_STREAM | (nb ? SOCK_NONBLOCK : 0) | SOCK_CLOEXEC;
	int fds[2] = { -1, -1 };

	if (in_weft)
		ck_assert_ptr_nonnull(weft_self());
	if (pair) {
		ck_assert_int_eq(socketpair(AF_UNIX, type, 0, fds), 0);
	} else {
		fds[0] = socket(AF_INET, type, 0);
		ck_assert_int_ge(fds[0], 0);
	}
	for (int i = 0; i < (pair ? 2 : 1); i++) {
		unsigned flags = weft__fd_flags(weft__fd_get(fds[i]));
		unsigned want = WEFT__FD_KNOWN | WEFT__FD_SOCKET |
				WEFT__FD_OURS | WEFT__FD_STREAM |
				(nb ? WEFT__FD_NB : 0);
		ck_assert_uint_eq(flags, want);
		/* The file is as the kernel made it. */
		int fl = (int)syscall(SYS_fcntl, fds[i], F_GETFL);
		ck_assert_int_eq(!!(fl & O_NONBLOCK), nb);
		ck_assert_int_eq((int)syscall(SYS_fcntl, fds[i], F_GETFD),
				 FD_CLOEXEC);
		ck_assert_int_eq(fcntl(fds[i], F_GETFL), fl);
	}
	if (!in_weft)
		ck_assert_ptr_null(weft__running); /* no scheduler was made */
}
END_TEST

START_TEST(socket_in_a_coroutine_does_not_park)
{
	int ran = 0, sv[2];

	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ck_assert_int_eq(ran, 0);
	weft_yield();
	ck_assert_int_ne(ran, 0);
}
END_TEST

/* The raw system call's answer, for comparison. */
static void same_as_raw(long r, int err, long raw, int raw_err)
{
	ck_assert_int_eq(r, raw);
	if (raw < 0)
		ck_assert_int_eq(err, raw_err);
}

#define CALL(expr)                                                            \
	(errno = 0, r = (long)(expr), err = errno, errno = 0)

START_TEST(socket_fails_as_the_kernel_does)
{
	long r, raw;
	int err, raw_err, sv[2];
	struct tl_ticker t = { 0 };
	static const int args[][3] = {
		{ 12345, SOCK_STREAM, 0 },      /* EAFNOSUPPORT */
		{ AF_INET, 12345, 0 },          /* EINVAL */
		{ AF_INET, SOCK_STREAM, 17 },   /* EPROTONOSUPPORT */
		{ AF_UNIX, SOCK_STREAM, 0 },
	};

	if (_i)
		ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
		CALL(socket(args[i][0], args[i][1], args[i][2]));
		raw = syscall(SYS_socket, args[i][0], args[i][1], args[i][2]);
		raw_err = errno;
		ck_assert_int_eq(r < 0, raw < 0);
		if (raw < 0)
			ck_assert_int_eq(err, raw_err);
		CALL(socketpair(args[i][0], args[i][1], args[i][2], sv));
		raw = syscall(SYS_socketpair, args[i][0], args[i][1],
			      args[i][2], sv);
		same_as_raw(r, err, raw, errno);
	}
	CALL(socketpair(AF_INET, SOCK_STREAM, 0, sv));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EOPNOTSUPP);
	CALL(socketpair(AF_UNIX, SOCK_STREAM, 0, bad_ptr));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EFAULT);
	/* No fd left: EMFILE. */
	if (tl_valgrind_cannot(__func__, "it keeps RLIMIT_NOFILE its own way:"
			       " a lowered limit does not stop socket")) {
		t.stop = true;
		return;
	}
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	int top = dup(0);
	ck_assert_int_ge(top, 0);
	rl.rlim_cur = (rlim_t)top + 1;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	CALL(socket(AF_UNIX, SOCK_STREAM, 0));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EMFILE);
	CALL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EMFILE);
	t.stop = true;
}
END_TEST

struct reader {
	int fd;
	int call; /* 0 read, 1 recv */
	ssize_t r;
	int err;
	int at;
};

static void do_read(void *arg)
{
	struct reader *rd = arg;
	char buf[UNIT];

	errno = 0;
	rd->r = rd->call ? recv(rd->fd, buf, UNIT, 0) : read(rd->fd, buf, UNIT);
	rd->err = errno;
	rd->at = tl_next_step();
}

START_TEST(socket_reusing_a_number_closed_behind_weft_s_back_can_be_waited_on)
{
	int sv[2], again[2];
	struct reader rd = { .call = 1 };
	struct peer p = { .delay = 5 * MS };

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rd.fd = sv[0];
	ck_assert_int_eq(weft_go(do_read, &rd), 0);
	weft_yield(); /* it parks on sv[0] */
	ck_assert_int_eq(rd.at, 0);
	/* Closed where no wrapper sees it, as libc's own fclose does. */
	ck_assert_int_eq(syscall(SYS_close, sv[0]), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, again), 0);
	ck_assert_int_eq(again[0], sv[0]);
	/* The old waiter learns its file is gone... */
	weft_yield();
	ck_assert_int_gt(rd.at, 0);
	ck_assert_int_eq(rd.r, -1);
	ck_assert_int_eq(rd.err, EBADF);
	/* ...and the new file's waits work. */
	p.fd = again[1];
	go(&p, peer_send);
	char buf[UNIT];
	ck_assert_int_eq(recv(again[0], buf, UNIT, 0), UNIT);
	ck_assert_int_gt(p.at, 0);
}
END_TEST

/* ---- shutdown ----------------------------------------------------------- */

/* _i: how (SHUT_RD, SHUT_RDWR) x kind x reader call (read, recv). */
START_TEST(shutdown_wakes_a_reader_with_end_of_file)
{
	int how = _i % 2 ? SHUT_RDWR : SHUT_RD, k = _i / 2 % 2;
	int sv[2];
	struct reader rd = { .call = _i / 4 };

	open_pair(k, sv);
	rd.fd = sv[0];
	ck_assert_int_eq(weft_go(do_read, &rd), 0);
	weft_sleep(5 * MS);
	ck_assert_int_eq(rd.at, 0); /* parked */
	int before = tl_next_step();
	ck_assert_int_eq(shutdown(sv[0], how), 0);
	while (rd.at == 0)
		weft_sleep(MS);
	ck_assert_int_gt(rd.at, before);
	ck_assert_msg(rd.r == 0, "%s after shutdown(%d) of %s: %zd (%s)",
		      rd.call ? "recv" : "read", how, kind_name[k], rd.r,
		      strerror(rd.err));
}
END_TEST

struct writer {
	int fd;
	int call; /* 0 send with MSG_NOSIGNAL, 1 write, 2 send */
	ssize_t r;
	int err;
	int at;
};

static void do_write(void *arg)
{
	struct writer *w = arg;

	errno = 0;
	switch (w->call) {
	case 0:
		w->r = send(w->fd, unit_a, UNIT, MSG_NOSIGNAL);
		break;
	case 1:
		w->r = write(w->fd, unit_a, UNIT);
		break;
	default:
		w->r = send(w->fd, unit_a, UNIT, 0);
	}
	w->err = errno;
	w->at = tl_next_step();
}

/* Starts a writer parked on sv[1], full, and shuts sv[1] down (how). */
static void shut_a_writer(struct writer *w, int k, int how, int sv[2])
{
	open_pair(k, sv);
	ck_assert_uint_gt(fill(sv[1]), 0);
	w->fd = sv[1];
	ck_assert_int_eq(weft_go(do_write, w), 0);
	weft_sleep(5 * MS);
	ck_assert_int_eq(w->at, 0); /* parked */
	ck_assert_int_eq(shutdown(sv[1], how), 0);
	while (w->at == 0)
		weft_sleep(MS);
}

/* _i: how (SHUT_WR, SHUT_RDWR) x kind. */
START_TEST(shutdown_wakes_a_writer_with_EPIPE)
{
	int how = _i % 2 ? SHUT_RDWR : SHUT_WR, k = _i / 2;
	struct writer w = { .call = 0 };
	int sv[2];

	if (tcp_under_valgrind(__func__, k))
		return;
	shut_a_writer(&w, k, how, sv);
	ck_assert_msg(w.r == -1 && w.err == EPIPE,
		      "send after shutdown(%d) of %s: %zd (%s)", how,
		      kind_name[k], w.r, strerror(w.err));
}
END_TEST

START_TEST(shutdown_wakes_every_parked_writer)
{
	int k = _i, sv[2];
	struct writer w[3];

	if (tcp_under_valgrind(__func__, k))
		return;
	open_pair(k, sv);
	ck_assert_uint_gt(fill(sv[1]), 0);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct writer){ .fd = sv[1], .call = 0 };
		ck_assert_int_eq(weft_go(do_write, &w[i]), 0);
	}
	weft_sleep(5 * MS);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(w[i].at, 0); /* parked */
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	for (int i = 0; i < 3; i++) {
		while (w[i].at == 0)
			weft_sleep(MS);
		ck_assert_int_eq(w[i].r, -1);
		ck_assert_int_eq(w[i].err, EPIPE);
	}
}
END_TEST

START_TEST(shutdown_gives_a_writer_that_ignores_SIGPIPE_EPIPE)
{
	struct writer w = { .call = _i % 2 ? 1 : 2 };
	int sv[2];

	if (tcp_under_valgrind(__func__, _i / 2))
		return;
	signal(SIGPIPE, SIG_IGN);
	shut_a_writer(&w, _i / 2, SHUT_WR, sv);
	ck_assert_int_eq(w.r, -1);
	ck_assert_int_eq(w.err, EPIPE);
}
END_TEST

START_TEST(shutdown_leaves_SIGPIPE_pending_for_a_writer_that_blocks_it)
{
	struct writer w = { .call = 1 };
	int sv[2];
	sigset_t set, pending;

	if (tcp_under_valgrind(__func__, _i))
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	shut_a_writer(&w, _i, SHUT_WR, sv);
	ck_assert_int_eq(w.r, -1);
	ck_assert_int_eq(w.err, EPIPE);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert(sigismember(&pending, SIGPIPE));
}
END_TEST

START_TEST(shutdown_kills_a_writer_that_does_not_handle_SIGPIPE)
{
	struct writer w = { .call = _i % 2 ? 1 : 2 };
	int sv[2];

	signal(SIGPIPE, SIG_DFL);
	if (tcp_under_valgrind(__func__, _i / 2))
		raise(SIGPIPE); /* the end the test expects */
	shut_a_writer(&w, _i / 2, SHUT_WR, sv);
	ck_abort_msg("the writer lived on: %zd (%s)", w.r, strerror(w.err));
}
END_TEST

START_TEST(shutdown_fails_as_the_kernel_does)
{
	long r;
	int err, sv[2], p[2];
	struct tl_ticker t = { 0 };

	if (_i)
		ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(p), 0);
	int tcp = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(tcp, 0);
	static const struct { int fd_index, how, err; } cases[] = {
		{ 0, SHUT_RD, 0 }, { 0, 7, EINVAL }, { 1, SHUT_RD, ENOTSOCK },
		{ 2, SHUT_RD, EBADF }, { 3, SHUT_RDWR, ENOTCONN },
	};
	int fds[] = { sv[0], p[0], -1, tcp };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CALL(shutdown(fds[cases[i].fd_index], cases[i].how));
		ck_assert_int_eq(r, cases[i].err ? -1 : 0);
		if (cases[i].err)
			ck_assert_int_eq(err, cases[i].err);
	}
	if (!_i)
		ck_assert_ptr_null(weft__running);
	t.stop = true;
}
END_TEST

/* ---- setsockopt and getsockopt ------------------------------------------ */

static const int timeo_names[] = { RCVTIMEO_OLD, SNDTIMEO_OLD, RCVTIMEO_NEW,
				   SNDTIMEO_NEW };

START_TEST(setsockopt_records_the_time_outs_in_either_form)
{
	int name = timeo_names[_i % 4];
	bool rcv = name == RCVTIMEO_OLD || name == RCVTIMEO_NEW;
	int sv[2];

	if (_i / 4)
		ck_assert_ptr_nonnull(weft_self());
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(entry_timeo(sv[0], rcv), 0);
	ck_assert_int_eq(set_timeo(sv[0], name, 1500 * MS), 0);
	ck_assert_int_eq(entry_timeo(sv[0], rcv), 1500 * MS);
	ck_assert_int_eq(entry_timeo(sv[0], !rcv), 0);
	ck_assert_int_eq(set_timeo(sv[0], name, 0), 0);
	ck_assert_int_eq(entry_timeo(sv[0], rcv), 0);
	/* A huge one is as good as none; the kernel takes it. */
	struct timeval huge = { (time_t)1 << 60, 0 };
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &huge,
				    sizeof huge), 0);
	ck_assert_int_eq(entry_timeo(sv[0], true), 0);
	/* What the kernel holds. */
	struct timeval tv;
	socklen_t len = sizeof tv;
	ck_assert_int_eq(set_timeo(sv[0], name, 200 * MS), 0);
	ck_assert_int_eq(getsockopt(sv[0], SOL_SOCKET,
				    rcv ? SO_RCVTIMEO : SO_SNDTIMEO, &tv, &len),
			 0);
	ck_assert_int_eq(tv.tv_sec, 0);
	ck_assert_int_eq(tv.tv_usec, 200000);
	if (!(_i / 4))
		ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(setsockopt_that_fails_records_nothing)
{
	int sv[2], p[2];
	long r, raw;
	int err;
	struct tl_ticker t = { 0 };
	struct timeval tv = { 1, 0 };

	if (_i)
		ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(set_timeo(sv[0], RCVTIMEO_OLD, 40 * MS), 0);
	struct { int fd; const void *val; socklen_t len; int err; } cases[] = {
		{ sv[0], &(struct timeval){ 0, 1000000 }, sizeof tv, EDOM },
		{ sv[0], &(struct timeval){ 0, -1 }, sizeof tv, EDOM },
		{ sv[0], &tv, sizeof tv - 1, EINVAL },
		{ sv[0], bad_ptr, sizeof tv, EFAULT },
		{ p[0], &tv, sizeof tv, ENOTSOCK },
		{ -1, &tv, sizeof tv, EBADF },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CALL(setsockopt(cases[i].fd, SOL_SOCKET, SO_RCVTIMEO,
				cases[i].val, cases[i].len));
		raw = syscall(SYS_setsockopt, cases[i].fd, SOL_SOCKET,
			      SO_RCVTIMEO, cases[i].val, cases[i].len);
		same_as_raw(r, err, raw, errno);
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(err, cases[i].err);
	}
	ck_assert_int_eq(entry_timeo(sv[0], true), 40 * MS);
	CALL(setsockopt(sv[0], SOL_SOCKET, 12345, &tv, sizeof tv));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, ENOPROTOOPT);
	t.stop = true;
}
END_TEST

START_TEST(getsockopt_gives_what_the_kernel_holds)
{
	int sv[2];
	long r, raw;
	int err, v, rv;
	socklen_t len, rlen;
	struct tl_ticker t = { 0 };

	if (_i)
		ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	static const int names[] = { SO_TYPE, SO_RCVBUF, SO_ERROR, 12345 };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		len = rlen = sizeof v;
		v = rv = -7;
		CALL(getsockopt(sv[0], SOL_SOCKET, names[i], &v, &len));
		raw = syscall(SYS_getsockopt, sv[0], SOL_SOCKET, names[i], &rv,
			      &rlen);
		same_as_raw(r, err, raw, errno);
		ck_assert_int_eq(v, rv);
		ck_assert_uint_eq(len, rlen);
	}
	len = sizeof v;
	CALL(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, bad_ptr, &len));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EFAULT);
	CALL(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, bad_ptr));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EFAULT);
	len = (socklen_t)-1;
	CALL(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EINVAL);
	CALL(getsockopt(-1, SOL_SOCKET, SO_TYPE, &v, &len));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(err, EBADF);
	t.stop = true;
}
END_TEST

/* _i: the call (read, recv) x the option's form (old, new) x kind. */
START_TEST(SO_RCVTIMEO_ends_a_parked_read_with_EAGAIN)
{
	int call = _i % 2, name = _i / 2 % 2 ? RCVTIMEO_NEW : RCVTIMEO_OLD;
	int k = _i / 4, sv[2];
	struct tl_ticker t = { 0 };
	char buf[UNIT];

	open_pair(k, sv);
	ck_assert_int_eq(set_timeo(sv[0], name, 30 * MS), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ssize_t r = call ? recv(sv[0], buf, UNIT, 0) : read(sv[0], buf, UNIT);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(t.ticks, 0); /* others ran meanwhile */
	t.stop = true;
}
END_TEST

/* _i: the call (write, send) x the option's form (old, new) x kind. */
START_TEST(SO_SNDTIMEO_ends_a_parked_send_with_EAGAIN)
{
	int call = _i % 2, name = _i / 2 % 2 ? SNDTIMEO_NEW : SNDTIMEO_OLD;
	int k = _i / 4, sv[2];
	struct tl_ticker t = { 0 };

	open_pair(k, sv);
	fill_stable(sv[1]);
	ck_assert_int_eq(set_timeo(sv[1], name, 30 * MS), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ssize_t r = call ? send(sv[1], unit_a, UNIT, 0)
			 : write(sv[1], unit_a, UNIT);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(t.ticks, 0);
	t.stop = true;
}
END_TEST

START_TEST(time_out_of_zero_means_none)
{
	int sv[2];
	struct peer p = { .delay = 40 * MS };
	char buf[UNIT];

	open_pair(_i, sv);
	ck_assert_int_eq(set_timeo(sv[0], RCVTIMEO_OLD, 10 * MS), 0);
	ck_assert_int_eq(set_timeo(sv[0], RCVTIMEO_OLD, 0), 0);
	p.fd = sv[1];
	go(&p, peer_send);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(read(sv[0], buf, UNIT), UNIT);
	ck_assert_int_ge(tl_mono_ns() - t0, 40 * MS);
}
END_TEST

START_TEST(negative_time_out_means_do_not_wait)
{
	int sv[2];
	struct peer p = { .delay = 200 * MS };
	struct timeval neg = { -1, 0 };
	char buf[UNIT];

	open_pair(_i, sv);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &neg,
				    sizeof neg), 0);
	p.fd = sv[1];
	go(&p, peer_send);
	errno = 0;
	ck_assert_int_eq(recv(sv[0], buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(p.at, 0); /* long before the sender woke */
}
END_TEST

START_TEST(time_out_set_outside_weft_is_honoured_inside)
{
	int sv[2];
	struct tl_ticker t = { 0 };
	char buf[UNIT];

	open_pair(_i, sv);
	ck_assert_int_eq(set_timeo(sv[0], RCVTIMEO_OLD, 30 * MS), 0);
	ck_assert_ptr_null(weft__running);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(recv(sv[0], buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(t.ticks, 0);
	t.stop = true;
}
END_TEST

START_TEST(time_out_of_an_inherited_socket_is_honoured)
{
	int sv[2];
	struct tl_ticker t = { 0 };
	char buf[UNIT];

	/* Made and set up where no wrapper sees it, as in a parent. */
	ck_assert_int_eq(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv),
			 0);
	struct timeval tv = { 0, 30000 };
	ck_assert_int_eq(syscall(SYS_setsockopt, sv[0], SOL_SOCKET,
				 SO_RCVTIMEO, &tv, sizeof tv), 0);
	weft__fd_forget(sv[0]);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(recv(sv[0], buf, UNIT, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(t.ticks, 0);
	t.stop = true;
}
END_TEST

/* ---- differential ------------------------------------------------------- */

static void socket_script(void *rec, int k, bool weft)
{
	struct record *rc = rec;
	int sv[2], fd;
	struct peer p;
	bool thread = !weft;
	char buf[UNIT];
	struct timeval tv;
	socklen_t len;

	signal(SIGPIPE, SIG_IGN);
	/* Making sockets, and failing to. */
	TL_NOTE(rc, (fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) >= 0,
	     NULL);
	TL_NOTE(rc, fcntl(fd, F_GETFL) & O_NONBLOCK, NULL);
	TL_NOTE(rc, close(fd), NULL);
	TL_NOTE(rc, socket(12345, SOCK_STREAM, 0), NULL);
	TL_NOTE(rc, socket(AF_INET, 12345, 0), NULL);
	TL_NOTE(rc, socketpair(AF_INET, SOCK_STREAM, 0, sv), NULL);
	TL_NOTE(rc, socketpair(AF_UNIX, SOCK_STREAM, 0, bad_ptr), NULL);
	if (pair_open(k, sv) < 0) {
		TL_NOTE(rc, -1, NULL);
		return;
	}
	/* Time-outs: set, read back, and ending waits. */
	tv = (struct timeval){ 0, 20000 };
	TL_NOTE(rc, setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv),
	     NULL);
	len = sizeof tv;
	TL_NOTE(rc, getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &len), NULL);
	TL_NOTE(rc, tv.tv_usec + len, NULL);
	TL_NOTE(rc, read(sv[0], buf, UNIT), NULL);
	TL_NOTE(rc, recv(sv[0], buf, UNIT, 0), NULL);
	TL_NOTE(rc, set_timeo(sv[0], RCVTIMEO_NEW, 20 * MS), NULL);
	TL_NOTE(rc, recv(sv[0], buf, UNIT, 0), NULL);
	tv = (struct timeval){ -1, 0 };
	TL_NOTE(rc, setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv),
	     NULL);
	TL_NOTE(rc, recv(sv[0], buf, UNIT, 0), NULL);
	TL_NOTE(rc, getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &len), NULL);
	TL_NOTE(rc, tv.tv_sec * 1000000 + tv.tv_usec, NULL);
	TL_NOTE(rc, setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO,
			    &(struct timeval){ 0, 2000000 }, sizeof tv), NULL);
	TL_NOTE(rc, setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, 3), NULL);
	TL_NOTE(rc, set_timeo(sv[0], RCVTIMEO_OLD, 0), NULL);
	/* A time-out of zero: waits for the peer. */
	p = (struct peer){ .fd = sv[1], .delay = 30 * MS };
	TL_NOTE(rc, peer_start(&p, peer_send, thread), NULL);
	TL_NOTE(rc, recv(sv[0], buf, UNIT, 0), buf);
	peer_join(&p);
	/* Sending into a full socket until the time-out (TCP takes more for
	 * a while after a fill: that case is tested on its own). */
	TL_NOTE(rc, fill(sv[1]) > 0, NULL);
	if (k != TCP) {
		TL_NOTE(rc, set_timeo(sv[1], SNDTIMEO_OLD, 20 * MS), NULL);
		TL_NOTE(rc, send(sv[1], unit_a, UNIT, 0), NULL);
		TL_NOTE(rc, write(sv[1], unit_a, UNIT), NULL);
		TL_NOTE(rc, set_timeo(sv[1], SNDTIMEO_OLD, 0), NULL);
	}
	/* Shutting down under a parked writer, then a parked reader. */
	p = (struct peer){ .fd = sv[1], .how = SHUT_WR, .delay = 5 * MS };
	TL_NOTE(rc, peer_start(&p, peer_shutdown, thread), NULL);
	TL_NOTE(rc, send(sv[1], unit_a, UNIT, MSG_NOSIGNAL), NULL);
	peer_join(&p);
	TL_NOTE(rc, p.r, NULL);
	p = (struct peer){ .fd = sv[0], .how = SHUT_RD, .delay = 5 * MS };
	TL_NOTE(rc, set_timeo(sv[0], RCVTIMEO_OLD, 0), NULL);
	TL_NOTE(rc, peer_start(&p, peer_shutdown, thread), NULL);
	TL_NOTE(rc, read(sv[0], buf, UNIT) >= 0, NULL);
	peer_join(&p);
	TL_NOTE(rc, shutdown(sv[0], 7), NULL);
	TL_NOTE(rc, shutdown(-1, SHUT_RD), NULL);
	TL_NOTE(rc, close(sv[0]), NULL);
	TL_NOTE(rc, close(sv[1]), NULL);
	TL_NOTE(rc, shutdown(sv[0], SHUT_RDWR), NULL);
	TL_NOTE(rc, setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv),
	     NULL);
	TL_NOTE(rc, getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, &len), NULL);
}

START_TEST(socket_calls_give_what_libc_gives)
{
	differ(socket_script, _i, kind_name[_i]);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_socket(void)
{
	Suite *s = suite_create("hook_socket");
	TCase *tc;

	tc = tcase_create("socket");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, socket_records_a_socket_of_this_process, 0, 8);
	tcase_add_test(tc, socket_in_a_coroutine_does_not_park);
	tcase_add_loop_test(tc, socket_fails_as_the_kernel_does, 0, 2);
	tcase_add_test(tc,
		       socket_reusing_a_number_closed_behind_weft_s_back_can_be_waited_on);
	suite_add_tcase(s, tc);

	tc = tcase_create("shutdown");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, shutdown_wakes_a_reader_with_end_of_file, 0, 8);
	tcase_add_loop_test(tc, shutdown_wakes_a_writer_with_EPIPE, 0, 4);
	tcase_add_loop_test(tc, shutdown_wakes_every_parked_writer, 0, NKINDS);
	tcase_add_loop_test(tc, shutdown_gives_a_writer_that_ignores_SIGPIPE_EPIPE,
			    0, 4);
	tcase_add_loop_test(tc,
			    shutdown_leaves_SIGPIPE_pending_for_a_writer_that_blocks_it,
			    0, 2);
	tcase_add_loop_test_raise_signal(tc,
					 shutdown_kills_a_writer_that_does_not_handle_SIGPIPE,
					 SIGPIPE, 0, 4);
	tcase_add_loop_test(tc, shutdown_fails_as_the_kernel_does, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("sockopt");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, setsockopt_records_the_time_outs_in_either_form,
			    0, 8);
	tcase_add_loop_test(tc, setsockopt_that_fails_records_nothing, 0, 2);
	tcase_add_loop_test(tc, getsockopt_gives_what_the_kernel_holds, 0, 2);
	tcase_add_loop_test(tc, SO_RCVTIMEO_ends_a_parked_read_with_EAGAIN, 0,
			    4 * NKINDS);
	tcase_add_loop_test(tc, SO_SNDTIMEO_ends_a_parked_send_with_EAGAIN, 0,
			    4 * NKINDS);
	tcase_add_loop_test(tc, time_out_of_zero_means_none, 0, NKINDS);
	tcase_add_loop_test(tc, negative_time_out_means_do_not_wait, 0, NKINDS);
	tcase_add_loop_test(tc, time_out_set_outside_weft_is_honoured_inside, 0,
			    NKINDS);
	tcase_add_test(tc, time_out_of_an_inherited_socket_is_honoured);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, socket_calls_give_what_libc_gives, 0, NKINDS);
	suite_add_tcase(s, tc);

	return s;
}
