/* test_hook_accept.c - accept and accept4 on TCP over 127.0.0.1 and ::1
 * and on AF_UNIX stream and seqpacket sockets; listening sockets of this
 * process's own (weft makes them non-blocking in the kernel and hides
 * it) and inherited ones (weft never touches their flags).
 *
 * Loop tests run over a (call, kind) pair: _i / NKINDS picks the call and
 * _i % NKINDS the kind; failure messages name both. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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

static const char unit_a[UNIT + 1] = "weftdata";
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

enum kind { TCP, TCP6, USTREAM, USEQ, NKINDS };

static const char *const kind_name[NKINDS] = {
	"tcp", "tcp6", "unix stream", "unix seqpacket",
};

/* Where a listener listens. */
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

/* Binds fd to a fresh loopback address (an abstract one for AF_UNIX)
 * and listens; fills *a.  Returns 0 or -1; asserts nothing. */
static int bind_listen(int fd, int k, struct addr *a, int backlog)
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
	if (bind(fd, (void *)&a->ss, a->len) < 0 || listen(fd, backlog) < 0)
		return -1;
	a->len = sizeof a->ss;
	return getsockname(fd, (void *)&a->ss, &a->len);
}

/* A listening socket of kind k made through socket(): this process's own.
 * Returns it or -1. */
static int listener(int k, struct addr *a, int flags)
{
	int fd = socket(family(k), sock_type(k) | flags, 0);

	if (fd < 0 || bind_listen(fd, k, a, 64) < 0)
		return -1;
	return fd;
}

/* A listening socket made where no wrapper sees it, as if inherited from
 * a parent process: weft learns of it on first use. */
static int inherited_listener(int k, struct addr *a)
{
	int fd = (int)syscall(SYS_socket, family(k), sock_type(k), 0);

	if (fd < 0 || bind_listen(fd, k, a, 64) < 0)
		return -1;
	weft__fd_forget(fd);
	return fd;
}

static int open_listener(int k, struct addr *a, bool inherited)
{
	int fd = inherited ? inherited_listener(k, a) : listener(k, a, 0);

	ck_assert_msg(fd >= 0, "cannot listen on %s: %s", kind_name[k],
		      strerror(errno));
	return fd;
}

/* A client connected to a; -1 if it cannot connect. */
static int dial(const struct addr *a)
{
	int fd = socket(a->ss.ss_family, sock_type(a->kind), 0);

	if (fd < 0 || connect(fd, (const void *)&a->ss, a->len) < 0)
		return -1;
	return fd;
}

/* The file status flags as the kernel holds them. */
static int raw_getfl(int fd)
{
	return (int)syscall(SYS_fcntl, fd, F_GETFL);
}

enum { C_ACCEPT, C_ACCEPT4, C_ACCEPT4_NB, NCALLS };

static const char *const call_name[NCALLS] = {
	"accept", "accept4", "accept4(SOCK_NONBLOCK|SOCK_CLOEXEC)",
};

static int do_accept(int call, int fd, struct sockaddr *addr, socklen_t *len)
{
	switch (call) {
	case C_ACCEPT4:
		return accept4(fd, addr, len, 0);
	case C_ACCEPT4_NB:
		return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	default:
		return accept(fd, addr, len);
	}
}

/* A peer: a coroutine (or, in the plain runs of differential tests and
 * for calls outside weft, a real thread) that acts after a delay. */
struct peer {
	void (*fn)(struct peer *);
	struct tl_runner run;
	int fd;
	int how;
	const struct addr *to;
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

/* Connects to p->to and sends a unit; p->fd gets the client. */
static void peer_dial(struct peer *p)
{
	errno = 0;
	p->fd = dial(p->to);
	p->err = errno;
	if (p->fd >= 0)
		p->r = (int)send(p->fd, unit_a, UNIT, 0);
}

static void peer_close(struct peer *p)
{
	p->r = close(p->fd);
}

static void peer_shutdown(struct peer *p)
{
	errno = 0;
	p->r = shutdown(p->fd, p->how);
	p->err = errno;
}

/* Checks that fd is a socket connected to the peer that sent a unit. */
static void check_accepted(int fd, int call)
{
	char buf[UNIT] = { 0 };

	ck_assert_int_ge(fd, 0);
	/* A non-blocking one may be ahead of the client's bytes. */
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 5000), 1);
	ck_assert_int_eq(recv(fd, buf, UNIT, MSG_WAITALL), UNIT);
	ck_assert_mem_eq(buf, unit_a, UNIT);
	bool nb = call == C_ACCEPT4_NB;
	ck_assert_int_eq(!!(raw_getfl(fd) & O_NONBLOCK), nb);
	ck_assert_int_eq(!!(fcntl(fd, F_GETFL) & O_NONBLOCK), nb);
	ck_assert_int_eq(fcntl(fd, F_GETFD) == FD_CLOEXEC, nb);
	/* WEFT__FD_STREAM follows the listener's type. */
	unsigned flags = weft__fd_flags(weft__fd_get(fd));
	ck_assert_uint_eq(flags & ~(WEFT__FD_NO_NOWAIT | WEFT__FD_STREAM),
			  WEFT__FD_KNOWN | WEFT__FD_SOCKET | WEFT__FD_OURS |
				  (nb ? WEFT__FD_NB : 0));
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

/* _i: call x kind x (ours, inherited). */
START_TEST(accept_parks_until_a_client_connects)
{
	int call = _i / NKINDS % NCALLS, k = _i % NKINDS;
	bool inherited = _i / (NKINDS * NCALLS);
	struct addr a;
	int l = open_listener(k, &a, inherited);
	int before = raw_getfl(l);
	struct peer p = { .delay = 5 * MS, .to = &a };
	struct sockaddr_storage from;
	socklen_t len = sizeof from;

	go(&p, peer_dial);
	int64_t t0 = tl_mono_ns();
	int fd = do_accept(call, l, (void *)&from, &len);
	int after = tl_next_step();
	ck_assert_msg(fd >= 0, "%s on %s: %d (%s)", call_name[call],
		      kind_name[k], fd, strerror(errno));
	ck_assert_msg(p.at > 0 && p.at < after,
		      "%s on %s returned before the client ran",
		      call_name[call], kind_name[k]);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	ck_assert_int_eq(from.ss_family, family(k));
	check_accepted(fd, call);
	/* What the program sees of the listener is what it set. */
	ck_assert_int_eq(fcntl(l, F_GETFL), before);
	if (inherited)
		ck_assert_int_eq(raw_getfl(l), before);
	peer_join(&p);
}
END_TEST

START_TEST(accept_of_a_waiting_connection_does_not_park)
{
	int call = _i / NKINDS, k = _i % NKINDS, ran = 0;
	struct addr a;
	int l = open_listener(k, &a, false);
	int c = dial(&a);

	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(send(c, unit_a, UNIT, 0), UNIT);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	int fd = do_accept(call, l, NULL, NULL);
	ck_assert_int_eq(ran, 0);
	check_accepted(fd, call);
}
END_TEST

START_TEST(accept_outside_a_coroutine_passes_through)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct addr a;
	int l = open_listener(k, &a, false);
	int before = raw_getfl(l);
	struct peer p = { .delay = 5 * MS, .to = &a };

	/* Blocks the thread until a thread connects. */
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(peer_start(&p, peer_dial, true), 0);
	int fd = do_accept(call, l, NULL, NULL);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	check_accepted(fd, call);
	peer_join(&p);
	ck_assert_int_eq(raw_getfl(l), before); /* untouched */
	errno = 0;
	ck_assert_int_eq(do_accept(call, -1, NULL, NULL), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(accept_by_the_only_coroutine_blocks_for_real)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct addr a;
	int l = open_listener(k, &a, false);
	int before = raw_getfl(l);
	struct peer p = { .delay = 5 * MS, .to = &a };

	ck_assert_ptr_nonnull(weft_self());
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(peer_start(&p, peer_dial, true), 0);
	int fd = do_accept(call, l, NULL, NULL);
	ck_assert_int_ge(tl_mono_ns() - t0, 5 * MS);
	check_accepted(fd, call);
	peer_join(&p);
	ck_assert_int_eq(raw_getfl(l), before); /* blocked for real */
}
END_TEST

START_TEST(accept_of_a_nonblocking_listener_returns_EAGAIN_without_parking)
{
	int call = _i / NKINDS, k = _i % NKINDS, ran = 0;
	struct addr a;
	int l = listener(k, &a, SOCK_NONBLOCK);

	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	for (int i = 0; i < 100; i++) {
		errno = 0;
		ck_assert_int_eq(do_accept(call, l, NULL, NULL), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(listener_keeps_the_program_s_view_of_O_NONBLOCK)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, false), ran = 0;
	struct peer p = { .delay = 5 * MS, .to = &a };

	go(&p, peer_dial);
	check_accepted(accept(l, NULL, NULL), C_ACCEPT);
	peer_join(&p);
	/* weft made it non-blocking in the kernel, once, and hides it. */
	unsigned flags = weft__fd_flags(weft__fd_get(l));
	ck_assert(flags & WEFT__FD_KERN_NB);
	ck_assert(raw_getfl(l) & O_NONBLOCK);
	ck_assert_int_eq(fcntl(l, F_GETFL) & O_NONBLOCK, 0);
	/* The program's own O_NONBLOCK: EAGAIN, no parking. */
	ck_assert_int_eq(fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK), 0);
	ck_assert(fcntl(l, F_GETFL) & O_NONBLOCK);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(accept(l, NULL, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ran, 0);
	/* And blocking again: it parks again. */
	ck_assert_int_eq(fcntl(l, F_SETFL, fcntl(l, F_GETFL) & ~O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(l, F_GETFL) & O_NONBLOCK, 0);
	go(&p, peer_dial);
	check_accepted(accept(l, NULL, NULL), C_ACCEPT);
	ck_assert_int_gt(p.at, 0);
}
END_TEST

/* In a child sharing the listener's open file: reads its status flags
 * with the raw system call until told to stop, counting any that differ
 * from want. */
struct watch {
	atomic_int stop;
	long samples, bad;
	int want, seen;
};

static void watch_flags(struct watch *w, int fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	while (!atomic_load(&w->stop)) {
		int fl = raw_getfl(fd);
		w->samples++;
		if (fl != w->want) {
			w->bad++;
			w->seen = fl;
		}
	}
	_exit(0);
}

/* A coroutine that samples the flags from inside the process while
 * another waits in accept. */
struct sampler {
	int fd, want, bad, samples;
	bool stop;
};

static void sample(void *arg)
{
	struct sampler *s = arg;

	while (!s->stop) {
		s->samples++;
		if (raw_getfl(s->fd) != s->want)
			s->bad++;
		weft_sleep(MS);
	}
}

START_TEST(inherited_listener_s_flags_never_change)
{
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, true), status;
	struct watch *w = mmap(NULL, sizeof *w, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct sampler s = { .fd = l };
	struct peer p = { .delay = 20 * MS, .to = &a };

	ck_assert_ptr_ne(w, MAP_FAILED);
	w->want = s.want = raw_getfl(l);
	ck_assert_int_eq(w->want & O_NONBLOCK, 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		watch_flags(w, l);
	ck_assert_int_eq(weft_go(sample, &s), 0);
	for (int i = 0; i < 3; i++) {
		go(&p, peer_dial);
		check_accepted(accept(l, NULL, NULL), C_ACCEPT);
		ck_assert_int_gt(p.at, 0);
		peer_join(&p);
	}
	s.stop = true;
	atomic_store(&w->stop, 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_gt(w->samples, 0);
	ck_assert_msg(w->bad == 0, "the child saw %#o in %ld of %ld samples",
		      w->seen, w->bad, w->samples);
	ck_assert_int_gt(s.samples, 0);
	ck_assert_int_eq(s.bad, 0);
	ck_assert_int_eq(weft__fd_flags(weft__fd_get(l)) & WEFT__FD_KERN_NB,
			 0);
}
END_TEST

struct acceptor {
	int l, fd;
	weft_wg *wg;
};

static void run_acceptor(void *arg)
{
	struct acceptor *x = arg;

	x->fd = accept(x->l, NULL, NULL);
	weft_wg_done(x->wg);
}

START_TEST(several_coroutines_accept_on_one_listener)
{
	enum { N = 10 };
	int k = _i;
	struct addr a;
	int l = open_listener(k, &a, _i % 2);
	int got[N];
	struct acceptor acc[N];
	weft_wg wg = WEFT_WG_INIT;
	struct peer p[N];

	weft_wg_add(&wg, N);
	for (int i = 0; i < N; i++) {
		acc[i] = (struct acceptor){ .l = l, .fd = -1, .wg = &wg };
		ck_assert_int_eq(weft_go(run_acceptor, &acc[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		p[i] = (struct peer){ .delay = (i + 1) * MS, .to = &a };
		go(&p[i], peer_dial);
	}
	weft_wg_wait(&wg);
	for (int i = 0; i < N; i++) {
		got[i] = acc[i].fd;
		check_accepted(got[i], C_ACCEPT);
		for (int j = 0; j < i; j++)
			ck_assert_int_ne(got[i], got[j]);
		peer_join(&p[i]);
	}
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(accept_fails_as_the_kernel_does)
{
	int call = _i % NCALLS;
	struct tl_ticker t = { 0 };
	int sv[2], pp[2], udp = socket(AF_INET, SOCK_DGRAM, 0);
	struct addr a;
	int l = open_listener(TCP, &a, false);

	if (_i / NCALLS)
		ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(pp), 0);
	close(sv[1]);
	struct { int fd, err; } cases[] = {
		{ -1, EBADF }, { 1 << 30, EBADF }, { sv[1], EBADF },
		{ pp[0], ENOTSOCK }, { sv[0], EINVAL }, { udp, EOPNOTSUPP },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		errno = 0;
		ck_assert_int_eq(do_accept(call, cases[i].fd, NULL, NULL), -1);
		ck_assert_msg(errno == cases[i].err, "%s of case %zu: %s",
			      call_name[call], i, strerror(errno));
	}
	/* The connected socket was left as it was. */
	ck_assert_int_eq(raw_getfl(sv[0]) & O_NONBLOCK, 0);
	errno = 0;
	ck_assert_int_eq(accept4(l, NULL, NULL, 0x1234), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* A bad address to fill in, with a connection waiting. */
	int c = dial(&a);
	ck_assert_int_ge(c, 0);
	socklen_t len = sizeof(struct sockaddr_in);
	errno = 0;
	ck_assert_int_eq(do_accept(call, l, bad_ptr, &len), -1);
	ck_assert_int_eq(errno, EFAULT);
	c = dial(&a);
	ck_assert_int_ge(c, 0);
	len = (socklen_t)-1;
	struct sockaddr_in from;
	errno = 0;
	ck_assert_int_eq(do_accept(call, l, (void *)&from, &len), -1);
	ck_assert_int_eq(errno, EINVAL);
	t.stop = true;
}
END_TEST

START_TEST(accept_wakes_with_EBADF_when_another_coroutine_closes_the_fd)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct addr a;
	int l = open_listener(k, &a, false);
	struct peer p = { .delay = 5 * MS, .fd = l };

	go(&p, peer_close);
	errno = 0;
	int r = do_accept(call, l, NULL, NULL);
	int after = tl_next_step();
	ck_assert_msg(r == -1 && errno == EBADF, "%s on %s: %d (%s)",
		      call_name[call], kind_name[k], r, strerror(errno));
	ck_assert(p.at > 0 && p.at < after);
}
END_TEST

START_TEST(accept_times_out_with_EAGAIN_after_SO_RCVTIMEO)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct addr a;
	int l = open_listener(k, &a, call % 2);
	struct timeval tv = { 0, 20000 };
	struct tl_ticker t = { 0 };

	ck_assert_int_eq(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof tv), 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(do_accept(call, l, NULL, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 20 * MS);
	ck_assert_int_gt(t.ticks, 0);
	t.stop = true;
}
END_TEST

START_TEST(accept_with_no_fd_left_fails_with_EMFILE)
{
	int call = _i / 2;
	struct addr a;
	int l = open_listener(TCP, &a, _i % 2);
	struct tl_ticker t = { 0 };
	struct rlimit rl;

	int c = dial(&a);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(weft_go(tl_tick, &t), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rlim_t old = rl.rlim_cur;
	int top = dup(0);
	ck_assert_int_ge(top, 0);
	rl.rlim_cur = (rlim_t)top + 1;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	int spare[64], n = 0;
	while (n < 64 && (spare[n] = dup(0)) >= 0)
		n++;
	errno = 0;
	ck_assert_int_eq(do_accept(call, l, NULL, NULL), -1);
	ck_assert_int_eq(errno, EMFILE);
	/* The connection waits for a later accept.  (Not under valgrind,
	 * which keeps the kernel's limit and closes an fd past its own: the
	 * connection was taken, and is gone.) */
	rl.rlim_cur = old;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	if (!RUNNING_ON_VALGRIND)
		ck_assert_int_ge(do_accept(call, l, NULL, NULL), 0);
	t.stop = true;
}
END_TEST

/* ---- shutdown of a listener --------------------------------------------- */

/* _i: how (SHUT_RD, SHUT_RDWR) x kind (tcp, unix stream) x ours or
 * inherited x call. */
START_TEST(shutdown_of_the_listener_ends_a_parked_accept_with_EINVAL)
{
	int how = _i % 2 ? SHUT_RDWR : SHUT_RD;
	int k = _i / 2 % 2 ? USTREAM : TCP;
	bool inherited = _i / 4 % 2;
	int call = _i / 8;
	struct addr a;
	int l = open_listener(k, &a, inherited);
	struct peer p = { .delay = 5 * MS, .fd = l, .how = how };

	go(&p, peer_shutdown);
	errno = 0;
	int r = do_accept(call, l, NULL, NULL);
	int after = tl_next_step();
	ck_assert_msg(r == -1 && errno == EINVAL,
		      "%s on %s%s after shutdown(%d): %d (%s)", call_name[call],
		      inherited ? "an inherited " : "", kind_name[k], how, r,
		      strerror(errno));
	ck_assert(p.at > 0 && p.at < after);
	ck_assert_int_eq(p.r, 0);
	/* And at once, after. */
	errno = 0;
	ck_assert_int_eq(do_accept(call, l, NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(shutdown_of_the_listener_for_writing_leaves_accept_waiting)
{
	int k = _i % 2 ? USTREAM : TCP;
	struct addr a;
	int l = open_listener(k, &a, _i / 2);
	struct peer s = { .delay = 5 * MS, .fd = l, .how = SHUT_WR };
	struct peer p = { .delay = 30 * MS, .to = &a };

	go(&s, peer_shutdown);
	go(&p, peer_dial);
	int fd = accept(l, NULL, NULL);
	int after = tl_next_step();
	ck_assert_int_ge(fd, 0);
	ck_assert(s.at > 0 && p.at > 0 && p.at < after);
	check_accepted(fd, C_ACCEPT);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

static void accept_script(void *rec, int k, bool weft)
{
	struct record *rc = rec;
	struct addr a;
	struct peer p;
	bool thread = !weft;
	char buf[UNIT];
	int fd, l = listener(k, &a, 0), sv[2];
	struct sockaddr_storage from;
	socklen_t len;

	signal(SIGPIPE, SIG_IGN);
	if (l < 0) {
		TL_NOTE(rc, -1, NULL);
		return;
	}
	for (int call = 0; call < NCALLS; call++) {
		/* A connection waiting. */
		int c = dial(&a);
		TL_NOTE(rc, c >= 0, NULL);
		TL_NOTE(rc, send(c, unit_a, UNIT, 0), NULL);
		len = sizeof from;
		TL_NOTE(rc, (fd = do_accept(call, l, (void *)&from, &len)) >= 0,
		     NULL);
		TL_NOTE(rc, len, NULL);
		TL_NOTE(rc, recv(fd, buf, UNIT, MSG_WAITALL), buf);
		TL_NOTE(rc, fcntl(fd, F_GETFL), NULL);
		TL_NOTE(rc, fcntl(fd, F_GETFD), NULL);
		/* Waiting for a client. */
		p = (struct peer){ .delay = 5 * MS, .to = &a };
		TL_NOTE(rc, peer_start(&p, peer_dial, thread), NULL);
		TL_NOTE(rc, (fd = do_accept(call, l, NULL, NULL)) >= 0, NULL);
		TL_NOTE(rc, p.at > 0 && p.at < tl_next_step(), NULL);
		/* The peer sends after its connect, and fd may be
		 * non-blocking (accept4's SOCK_NONBLOCK): let it come. */
		poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, 5000);
		TL_NOTE(rc, recv(fd, buf, UNIT, MSG_WAITALL), buf);
		peer_join(&p);
		TL_NOTE(rc, fcntl(l, F_GETFL), NULL);
		/* Errors. */
		TL_NOTE(rc, do_accept(call, -1, NULL, NULL), NULL);
		TL_NOTE(rc, do_accept(call, fd, NULL, NULL), NULL);
		TL_NOTE(rc, fcntl(fd, F_GETFL), NULL);
		TL_NOTE(rc, send((c = dial(&a)), unit_a, UNIT, 0), NULL);
		len = 4;
		TL_NOTE(rc, do_accept(call, l, bad_ptr, &len), NULL);
		/* The program's own O_NONBLOCK. */
		TL_NOTE(rc, fcntl(l, F_SETFL, O_RDWR | O_NONBLOCK), NULL);
		TL_NOTE(rc, do_accept(call, l, NULL, NULL), NULL);
		TL_NOTE(rc, fcntl(l, F_GETFL), NULL);
		TL_NOTE(rc, fcntl(l, F_SETFL, O_RDWR), NULL);
		TL_NOTE(rc, fcntl(l, F_GETFL), NULL);
		/* The time-out. */
		struct timeval tv = { 0, 20000 };
		TL_NOTE(rc, setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv),
		     NULL);
		TL_NOTE(rc, do_accept(call, l, NULL, NULL), NULL);
		tv.tv_usec = 0;
		TL_NOTE(rc, setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv),
		     NULL);
	}
	TL_NOTE(rc, accept4(l, NULL, NULL, 0x1234), NULL);
	TL_NOTE(rc, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), NULL);
	TL_NOTE(rc, accept(sv[0], NULL, NULL), NULL);
	/* Shutting the listener down while accept waits. */
	if (k == TCP || k == USTREAM) {
		p = (struct peer){ .delay = 5 * MS, .fd = l, .how = SHUT_RD };
		TL_NOTE(rc, peer_start(&p, peer_shutdown, thread), NULL);
		TL_NOTE(rc, accept(l, NULL, NULL), NULL);
		peer_join(&p);
		TL_NOTE(rc, p.r, NULL);
		TL_NOTE(rc, accept(l, NULL, NULL), NULL);
	}
	TL_NOTE(rc, close(l), NULL);
	TL_NOTE(rc, accept(l, NULL, NULL), NULL);
}

START_TEST(accept_calls_give_what_libc_gives)
{
	differ(accept_script, _i, kind_name[_i]);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_accept(void)
{
	Suite *s = suite_create("hook_accept");
	TCase *tc;

	tc = tcase_create("accept");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, accept_parks_until_a_client_connects, 0,
			    NCALLS * NKINDS * 2);
	tcase_add_loop_test(tc, accept_of_a_waiting_connection_does_not_park,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc, accept_outside_a_coroutine_passes_through, 0,
			    NCALLS * NKINDS);
	tcase_add_loop_test(tc, accept_by_the_only_coroutine_blocks_for_real,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    accept_of_a_nonblocking_listener_returns_EAGAIN_without_parking,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc, listener_keeps_the_program_s_view_of_O_NONBLOCK,
			    0, NKINDS);
	tcase_add_loop_test(tc, inherited_listener_s_flags_never_change, 0,
			    NKINDS);
	tcase_add_loop_test(tc, several_coroutines_accept_on_one_listener, 0,
			    NKINDS);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, accept_fails_as_the_kernel_does, 0, NCALLS * 2);
	tcase_add_loop_test(tc,
			    accept_wakes_with_EBADF_when_another_coroutine_closes_the_fd,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc, accept_times_out_with_EAGAIN_after_SO_RCVTIMEO,
			    0, NCALLS * NKINDS);
	tcase_add_loop_test(tc, accept_with_no_fd_left_fails_with_EMFILE, 0,
			    NCALLS * 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("shutdown");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
			    shutdown_of_the_listener_ends_a_parked_accept_with_EINVAL,
			    0, 8 * NCALLS);
	tcase_add_loop_test(tc,
			    shutdown_of_the_listener_for_writing_leaves_accept_waiting,
			    0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, accept_calls_give_what_libc_gives, 0, NKINDS);
	suite_add_tcase(s, tc);

	return s;
}
