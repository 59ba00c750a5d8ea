/* test_hook_sendfile.c - sendfile, sendfile64 and splice.
 *
 * The sockets are AF_UNIX stream pairs unless a test says TCP; "kernel-
 * blocking" ones are as the program made them, "weft non-blocking" ones
 * are marked WEFT__FD_KERN_NB with O_NONBLOCK set in the kernel, as
 * weft's accept and connect may leave them.  Data is pseudo-random with
 * a fixed seed and checked byte for byte. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "io.h"
#include "testlib.h"

#define KIB 1024
#define MIB (1024 * 1024)
#define BIG (4 * MIB)

static void *const bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

/* n pseudo-random bytes, the same for the same seed. */
static unsigned char *random_bytes(size_t n, uint64_t seed)
{
	unsigned char *b = malloc(n);
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	if (b == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (unsigned char)(x >> 24);
	}
	return b;
}

/* An unlinked temporary file holding data[0..n).  Returns its fd (read
 * and write, position 0) or -1.  Asserts nothing, for forked children. */
static int file_of(const unsigned char *data, size_t n)
{
	char path[] = "/tmp/weft-sendfile-XXXXXX";
	int fd = mkstemp(path);
	size_t done = 0;

	if (fd < 0)
		return -1;
	unlink(path);
	while (done < n) {
		ssize_t r = write(fd, data + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return lseek(fd, 0, SEEK_SET) == 0 ? fd : -1;
}

/* Marks fd as weft's accept and connect may leave a socket: O_NONBLOCK in
 * the kernel, blocking in the program's eyes. */
static void make_kern_nb(int fd)
{
	struct weft__fd *f = weft__fd_get(fd);

	ck_assert_ptr_nonnull(f);
	if (!(weft__fd_flags(f) & WEFT__FD_KNOWN))
		weft__fd_classify(fd, f);
	ck_assert_int_eq(weft__libc()->fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK),
			 0);
	weft__fd_set(f, WEFT__FD_KERN_NB, true);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
}

/* Fills fd's send buffer (or a pipe) until a write would block; returns
 * the bytes that went in. */
static size_t fill(int fd)
{
	static const char zeros[4096];
	size_t total = 0;
	ssize_t n;

	tl_set_nonblocking(fd, true);
	while ((n = write(fd, zeros, sizeof zeros)) > 0)
		total += (size_t)n;
	while ((n = write(fd, zeros, 1)) > 0)
		total += (size_t)n;
	tl_set_nonblocking(fd, false);
	return total;
}

/* A connected pair of TCP sockets on the loopback. */
static int tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, len) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return -1;
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, len) < 0)
		return -1;
	sv[1] = accept(l, NULL, NULL);
	close(l);
	return sv[1] < 0 ? -1 : 0;
}

/* A peer: a coroutine (or, in the plain runs of differential tests and
 * beside a lone coroutine, a real thread) that acts on an fd after a
 * delay. */
struct peer {
	void (*fn)(struct peer *);
	struct tl_runner run;
	int fd;
	int64_t delay;             /* before acting */
	int64_t pace;              /* peer_drain: between chunks */
	const void *data;          /* peer_write */
	size_t len;
	size_t want, got, chunk;   /* peer_drain */
	unsigned char *into;       /* where peer_drain keeps it, or NULL */
	int gate;                  /* peer_drain: read a byte here first */
	int at;                    /* the step at which it acted */
	ssize_t r;
	int err;
};

static void nap(struct peer *p, int64_t ns)
{
	if (ns <= 0)
		return;
	if (p->run.thread)
		nanosleep(&(struct timespec){ ns / SEC, ns % SEC }, NULL);
	else
		weft_sleep(ns);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	nap(p, p->delay);
	p->at = tl_next_step();
	p->fn(p);
	return NULL;
}

/* Starts p running fn; returns 0 or -1. */
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

static void peer_write(struct peer *p)
{
	errno = 0;
	p->r = write(p->fd, p->data, p->len);
	p->err = errno;
}

static void peer_close(struct peer *p)
{
	p->r = close(p->fd);
}

/* Reads until want bytes came (or EOF or an error), chunk at a time,
 * pausing pace ns between chunks; with a gate, first waits for a byte on
 * it. */
static void peer_drain(struct peer *p)
{
	static unsigned char scratch[65536];
	size_t chunk = p->chunk ? p->chunk : sizeof scratch;
	char c;

	if (p->gate > 0 && read(p->gate, &c, 1) != 1)
		return;
	while (p->got < p->want) {
		unsigned char *buf = p->into ? p->into + p->got : scratch;
		size_t n = p->want - p->got < chunk ? p->want - p->got : chunk;
		errno = 0;
		p->r = read(p->fd, buf, n);
		p->err = errno;
		if (p->r <= 0)
			return;
		p->got += (size_t)p->r;
		nap(p, p->pace);
	}
}

/* A coroutine that stays parked until released, so that the test body
 * is never the only coroutine (which would block for real). */
struct company {
	int fds[2];
	weft_co *co;
};

static void *keep_company(void *arg)
{
	struct company *c = arg;
	char b;

	return (void *)(intptr_t)read(c->fds[0], &b, 1);
}

static void company_start(struct company *c)
{
	ck_assert_int_eq(pipe(c->fds), 0);
	c->co = weft_spawn(keep_company, c, 0);
	ck_assert_ptr_nonnull(c->co);
}

static void company_end(struct company *c)
{
	ck_assert_int_eq(write(c->fds[1], "x", 1), 1);
	weft_join(c->co, NULL);
}

/* A real thread that writes or drains after a delay, for calls that
 * block for real. */
struct thread_job {
	int fd;
	int64_t delay;
	const void *data;
	size_t len;
	bool drain;
	pthread_t tid;
};

static void *thread_main(void *arg)
{
	struct thread_job *j = arg;
	static char sink[65536];
	size_t done = 0;

	nanosleep(&(struct timespec){ j->delay / SEC, j->delay % SEC }, NULL);
	if (!j->drain)
		return (void *)(intptr_t)write(j->fd, j->data, j->len);
	while (done < j->len) {
		size_t n = j->len - done < sizeof sink ? j->len - done
						       : sizeof sink;
		ssize_t r = read(j->fd, sink, n);
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return NULL;
}

static void thread_start(struct thread_job *j)
{
	ck_assert_int_eq(pthread_create(&j->tid, NULL, thread_main, j), 0);
}

/* ---- sendfile: waiting, and not ----------------------------------------- */

enum { SF_OFFSET, SF_POSITION, SF_KERN_NB, SF_SENDFILE64, SF_TCP, NSF };
static const char *const sf_name[NSF] = { "offset", "file position",
					  "weft non-blocking socket",
					  "sendfile64", "tcp" };

START_TEST(sendfile_of_4_mib_parks_while_a_slow_reader_drains)
{
	unsigned char *data = random_bytes(BIG, 1), *got = malloc(BIG);
	int f = file_of(data, BIG), sv[2];
	off_t off = 0;
	ssize_t r;

	ck_assert_int_ge(f, 0);
	if (_i == SF_TCP)
		ck_assert_int_eq(tcp_pair(sv), 0);
	else
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (_i == SF_KERN_NB)
		make_kern_nb(sv[0]);
	struct peer p = { .fd = sv[1], .want = BIG, .chunk = 16 * KIB,
			  .pace = MS / 4, .into = got };
	go(&p, peer_drain);
	if (_i == SF_POSITION)
		r = sendfile(sv[0], f, NULL, BIG);
	else if (_i == SF_SENDFILE64)
		r = sendfile64(sv[0], f, &off, BIG);
	else
		r = sendfile(sv[0], f, &off, BIG);
	int done_at = tl_next_step();
	ck_assert_msg(r == BIG, "%s: sendfile gave %zd (%s)", sf_name[_i], r,
		      strerror(errno));
	ck_assert_int_eq(off, _i == SF_POSITION ? 0 : BIG);
	ck_assert_int_eq(lseek(f, 0, SEEK_CUR), _i == SF_POSITION ? BIG : 0);
	ck_assert_msg(p.at > 0 && p.at < done_at,
		      "%s: the reader did not run while sendfile waited",
		      sf_name[_i]);
	peer_join(&p);
	ck_assert_uint_eq(p.got, BIG);
	ck_assert_msg(memcmp(got, data, BIG) == 0, "%s: data differ",
		      sf_name[_i]);
}
END_TEST

START_TEST(sendfile_to_a_full_pipe_parks_then_returns_what_fits)
{
	unsigned char *data = random_bytes(MIB, 2);
	int f = file_of(data, MIB), fds[2];
	off_t off = 0;

	ck_assert_int_eq(pipe(fds), 0);
	size_t filled = fill(fds[1]);
	struct peer p = { .fd = fds[0], .delay = 5 * MS, .want = filled,
			  .chunk = filled };
	go(&p, peer_drain);
	ssize_t r = sendfile(fds[1], f, &off, MIB);
	int done_at = tl_next_step();
	ck_assert_int_eq(r, (ssize_t)filled);
	ck_assert_int_eq(off, r);
	ck_assert_int_lt(p.at, done_at);
	peer_join(&p);
}
END_TEST

START_TEST(sendfile_that_fits_does_not_park)
{
	unsigned char *data = random_bytes(1000, 3), buf[1000];
	int f = file_of(data, 1000), sv[2], ran = 0;
	off_t off = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	ck_assert_int_eq(sendfile(sv[0], f, &off, 1000), 1000);
	ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(off, 1000);
	ck_assert_int_eq(read(sv[1], buf, sizeof buf), 1000);
	ck_assert_mem_eq(buf, data, 1000);
}
END_TEST

START_TEST(sendfile_outside_a_coroutine_passes_through)
{
	unsigned char *data = random_bytes(300 * KIB, 4);
	unsigned char *buf = malloc(300 * KIB);
	int f = file_of(data, 300 * KIB), sv[2], fds[2];
	off_t off = 1000;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	/* Into a pipe: what fits, as the kernel does it (16 slots, the
	 * first holding the rest of the file's first page). */
	ck_assert_int_eq(sendfile(fds[1], f, &off, 300 * KIB), 64 * KIB - 1000);
	ck_assert_int_eq(off, 64 * KIB);
	ck_assert_int_eq(read(fds[0], buf, 300 * KIB), 64 * KIB - 1000);
	ck_assert_mem_eq(buf, data + 1000, 64 * KIB - 1000);
	/* Into a socket, by the file position. */
	ck_assert_int_eq(sendfile(sv[0], f, NULL, 1000), 1000);
	ck_assert_int_eq(lseek(f, 0, SEEK_CUR), 1000);
	ck_assert_int_eq(read(sv[1], buf, 300 * KIB), 1000);
	ck_assert_mem_eq(buf, data, 1000);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(sendfile_by_the_only_coroutine_blocks_for_real)
{
	unsigned char *data = random_bytes(BIG, 5);
	int f = file_of(data, BIG), sv[2];
	off_t off = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	weft_yield(); /* the test is now a coroutine, and the only one */
	struct thread_job j = { .fd = sv[1], .delay = 20 * MS, .len = BIG,
				.drain = true };
	thread_start(&j);
	ck_assert_int_eq(sendfile(sv[0], f, &off, BIG), BIG);
	ck_assert_int_eq(off, BIG);
	pthread_join(j.tid, NULL);
}
END_TEST

START_TEST(sendfile_by_the_only_coroutine_to_a_weft_non_blocking_socket_parks)
{
	unsigned char *data = random_bytes(BIG, 6);
	int f = file_of(data, BIG), sv[2];
	off_t off = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	weft_yield();
	make_kern_nb(sv[0]);
	struct thread_job j = { .fd = sv[1], .delay = 20 * MS, .len = BIG,
				.drain = true };
	thread_start(&j);
	ck_assert_int_eq(sendfile(sv[0], f, &off, BIG), BIG);
	ck_assert_int_eq(off, BIG);
	pthread_join(j.tid, NULL);
}
END_TEST

START_TEST(sendfile_goes_on_until_the_file_ends)
{
	size_t n = 700 * KIB;
	unsigned char *data = random_bytes(n, 7), *got = malloc(n);
	int f = file_of(data, n), sv[2];
	off_t off = 100;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct peer p = { .fd = sv[1], .want = n - 100, .chunk = 8 * KIB,
			  .into = got };
	go(&p, peer_drain);
	ck_assert_int_eq(sendfile(sv[0], f, &off, 10 * MIB), n - 100);
	ck_assert_int_eq(off, n);
	ck_assert_int_eq(sendfile(sv[0], f, &off, 10), 0);
	peer_join(&p);
	ck_assert_mem_eq(got, data + 100, n - 100);
}
END_TEST

START_TEST(sendfile_to_a_nonblocking_socket_returns_EAGAIN_without_parking)
{
	unsigned char *data = random_bytes(1000, 8);
	int f = file_of(data, 1000), sv[2], ran = 0;
	off_t off = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill(sv[0]);
	ck_assert_int_eq(tl_set_nonblocking(sv[0], true), 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(sendfile(sv[0], f, &off, 1000), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(off, 0);
}
END_TEST

/* ---- sendfile: errors --------------------------------------------------- */

enum { E_OUT_BAD, E_OUT_CLOSED, E_IN_BAD, E_IN_WRITE_ONLY, E_OFF_FAULT,
       E_OFF_NEGATIVE, E_IN_PIPE, E_COUNT_HUGE, E_OUT_APPEND, NERR };
static const char *const err_name[NERR] = {
	"bad out fd", "closed out fd", "bad in fd", "write-only in fd",
	"bad offset pointer", "negative offset", "offset on a pipe",
	"count over SSIZE_MAX", "O_APPEND output",
};

/* Each bad argument fails at once, with libc's errno, even into a socket
 * that is full (the blocking call would fail before waiting). */
START_TEST(sendfile_with_a_bad_argument_fails_at_once_as_libc_does)
{
	unsigned char *data = random_bytes(1000, 9);
	int f = file_of(data, 1000), sv[2], fds[2], ran = 0, want = 0;
	int out, in = f;
	off_t off = 0, neg = -5, *offp = &off;
	size_t count = 100;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	fill(sv[0]);
	out = sv[0];
	switch (_i) {
	case E_OUT_BAD: out = -1, want = EBADF; break;
	case E_OUT_CLOSED: out = fds[0], want = EBADF; break;
	case E_IN_BAD: in = 12345, want = EBADF; break;
	case E_IN_WRITE_ONLY: in = fds[1], want = EBADF; break;
	case E_OFF_FAULT: offp = bad_ptr, want = EFAULT; break;
	case E_OFF_NEGATIVE: offp = &neg, want = EINVAL; break;
	case E_IN_PIPE: in = fds[0], want = ESPIPE; break;
	case E_COUNT_HUGE: count = (size_t)-5, want = EINVAL; break;
	case E_OUT_APPEND:
		out = open("/dev/null", O_WRONLY | O_APPEND), want = EINVAL;
		break;
	}
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	if (_i == E_OUT_CLOSED)
		close(fds[0]); /* now: the scheduler's own fds are made */
	errno = 0;
	ssize_t r = sendfile(out, in, offp, count);
	ck_assert_msg(r == -1 && errno == want, "%s: got %zd (%s), want %s",
		      err_name[_i], r, strerror(errno), strerror(want));
	ck_assert_msg(ran == 0, "%s: parked before failing", err_name[_i]);
	ck_assert_int_eq(off, 0);
}
END_TEST

START_TEST(sendfile_from_a_directory_fails_with_EINVAL)
{
	int sv[2], dir = open("/tmp", O_RDONLY | O_DIRECTORY), ran = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ck_assert_int_eq(sendfile(sv[0], dir, NULL, 10), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(sendfile_wakes_with_EBADF_when_another_coroutine_closes_the_socket)
{
	unsigned char *data = random_bytes(1000, 10);
	int f = file_of(data, 1000), sv[2];
	off_t off = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill(sv[0]);
	struct peer p = { .fd = sv[0], .delay = 5 * MS };
	go(&p, peer_close);
	errno = 0;
	ck_assert_int_eq(sendfile(sv[0], f, &off, 1000), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_gt(p.at, 0);
	ck_assert_int_eq(off, 0);
}
END_TEST

/* A reader gone before the call gives EPIPE; one that leaves unread data
 * behind while the writer waits resets the connection, which the waiting
 * call reports. */
START_TEST(sendfile_fails_when_the_reader_goes)
{
	unsigned char *data = random_bytes(1000, 11);
	int f = file_of(data, 1000), sv[2], want = _i ? ECONNRESET : EPIPE;
	off_t off = 0;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill(sv[0]);
	struct peer p = { .fd = sv[1], .delay = 5 * MS };
	if (_i == 0)
		close(sv[1]);
	else
		go(&p, peer_close);
	errno = 0;
	ck_assert_int_eq(sendfile(sv[0], f, &off, 1000), -1);
	ck_assert_int_eq(errno, want);
	ck_assert_int_eq(p.at > 0, _i == 1);
	/* The error is taken, as the kernel takes it. */
	errno = 0;
	ck_assert_int_eq(sendfile(sv[0], f, &off, 1000), -1);
	ck_assert_int_eq(errno, EPIPE);
}
END_TEST

static void drain_then_close(struct peer *p)
{
	peer_drain(p);
	close(p->fd);
}

START_TEST(sendfile_reports_what_went_before_the_reader_left)
{
	unsigned char *data = random_bytes(BIG, 12);
	int f = file_of(data, BIG), sv[2];
	off_t off = 0;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct peer p = { .fd = sv[1], .want = 300 * KIB, .chunk = 16 * KIB };
	go(&p, drain_then_close);
	int saved = errno = 1234;
	ssize_t r = sendfile(sv[0], f, &off, BIG);
	/* Coming back for more after the reader had gone. */
	ck_assert_int_eq(p.got, 300 * KIB);
	ck_assert_int_eq(errno, saved);
	ck_assert_int_ge(r, 300 * KIB);
	ck_assert_int_lt(r, BIG);
	ck_assert_int_eq(off, r);
}
END_TEST

START_TEST(sendfile_gives_up_with_what_went_after_SO_SNDTIMEO)
{
	unsigned char *data = random_bytes(BIG, 13);
	int f = file_of(data, BIG), sv[2], ran = 0;
	struct timeval tv = { 0, 30000 };
	off_t off = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv,
				    sizeof tv), 0);
	struct company c;
	company_start(&c);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	int64_t t0 = tl_mono_ns();
	ssize_t r = sendfile(sv[0], f, &off, BIG);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(r, 0);
	ck_assert_int_lt(r, BIG);
	ck_assert_int_eq(off, r);
	ck_assert_int_gt(ran, 0);
	/* Nothing goes now: EAGAIN, after the time-out again. */
	t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(sendfile(sv[0], f, &off, BIG), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_eq(off, r);
	company_end(&c);
}
END_TEST

/* ---- splice ------------------------------------------------------------- */

START_TEST(splice_from_a_pipe_sends_all_of_it_while_a_slow_reader_drains)
{
	unsigned char *data = random_bytes(MIB, 14), *got = malloc(MIB);
	int sv[2], fds[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_ge(fcntl(fds[1], F_SETPIPE_SZ, MIB), MIB);
	ck_assert_int_eq(write(fds[1], data, MIB), MIB);
	if (_i == 1)
		make_kern_nb(sv[0]);
	struct peer p = { .fd = sv[1], .want = MIB, .chunk = 16 * KIB,
			  .pace = MS / 4, .into = got };
	go(&p, peer_drain);
	ssize_t r = splice(fds[0], NULL, sv[0], NULL, 2 * MIB, 0);
	int done_at = tl_next_step();
	ck_assert_int_eq(r, MIB);
	ck_assert_int_lt(p.at, done_at);
	peer_join(&p);
	ck_assert_mem_eq(got, data, MIB);
}
END_TEST

START_TEST(splice_from_an_empty_pipe_parks_until_a_writer_comes)
{
	int sv[2], fds[2];
	char buf[16];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	struct peer p = { .fd = fds[1], .delay = 5 * MS, .data = "hello",
			  .len = 5 };
	go(&p, peer_write);
	ck_assert_int_eq(splice(fds[0], NULL, sv[0], NULL, 100, 0), 5);
	ck_assert_int_lt(p.at, tl_next_step());
	ck_assert_int_eq(read(sv[1], buf, sizeof buf), 5);
	ck_assert_mem_eq(buf, "hello", 5);
}
END_TEST

enum { IN_UNIX, IN_TCP, IN_TCP_NONBLOCK_FLAG, IN_PIPE, NIN };
static const char *const in_name[NIN] = {
	"unix socket", "tcp socket", "tcp socket, SPLICE_F_NONBLOCK", "pipe",
};

/* splice from a socket (TCP ignores SPLICE_F_NONBLOCK, so weft asks
 * first) or a pipe parks until a peer writes. */
START_TEST(splice_into_a_pipe_parks_until_data_comes)
{
	unsigned char *data = random_bytes(5000, 15), buf[5000];
	int sv[2], fds[2], src[2];
	unsigned flags = _i == IN_TCP_NONBLOCK_FLAG ? SPLICE_F_NONBLOCK : 0;

	if (_i == IN_UNIX)
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	else if (_i != IN_PIPE)
		ck_assert_int_eq(tcp_pair(sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	if (_i == IN_PIPE) {
		ck_assert_int_eq(pipe(src), 0);
		sv[0] = src[0], sv[1] = src[1];
	}
	struct peer p = { .fd = sv[1], .delay = 5 * MS, .data = data,
			  .len = 5000 };
	go(&p, peer_write);
	ssize_t r = splice(sv[0], NULL, fds[1], NULL, 4096, flags);
	ck_assert_msg(r > 0 && r <= 4096, "%s: %zd (%s)", in_name[_i], r,
		      strerror(errno));
	ck_assert_int_lt(p.at, tl_next_step());
	ck_assert_int_eq(read(fds[0], buf, sizeof buf), r);
	ck_assert_mem_eq(buf, data, (size_t)r);
}
END_TEST

START_TEST(splice_from_a_file_into_a_full_pipe_parks_until_a_reader_drains)
{
	unsigned char *data = random_bytes(MIB, 16);
	int f = file_of(data, MIB), fds[2];
	off_t off = 10;

	ck_assert_int_eq(pipe(fds), 0);
	size_t filled = fill(fds[1]);
	struct peer p = { .fd = fds[0], .delay = 5 * MS, .want = filled,
			  .chunk = filled };
	go(&p, peer_drain);
	ssize_t r = splice(f, &off, fds[1], NULL, MIB, 0);
	ck_assert_int_lt(p.at, tl_next_step());
	ck_assert_int_eq(r, (ssize_t)filled - 10); /* the first page's rest */
	ck_assert_int_eq(off, 10 + r);
	ck_assert_int_eq(lseek(f, 0, SEEK_CUR), 0);
	peer_join(&p);
}
END_TEST

START_TEST(splice_between_pipes_parks_until_the_output_has_room)
{
	int a[2], b[2];
	char buf[8];

	ck_assert_int_eq(pipe(a), 0);
	ck_assert_int_eq(pipe(b), 0);
	ck_assert_int_eq(write(a[1], "weftdata", 8), 8);
	size_t filled = fill(b[1]);
	struct peer p = { .fd = b[0], .delay = 5 * MS, .want = filled,
			  .chunk = filled };
	go(&p, peer_drain);
	ck_assert_int_eq(splice(a[0], NULL, b[1], NULL, 100, 0), 8);
	ck_assert_int_lt(p.at, tl_next_step());
	peer_join(&p);
	ck_assert_int_eq(read(b[0], buf, 8), 8);
	ck_assert_mem_eq(buf, "weftdata", 8);
}
END_TEST

START_TEST(splice_that_can_go_does_not_park)
{
	int sv[2], fds[2], ran = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "hello", 5), 5);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	ck_assert_int_eq(splice(fds[0], NULL, sv[0], NULL, 100, 0), 5);
	ck_assert_int_eq(ran, 0);
}
END_TEST

enum { NB_EMPTY_PIPE, NB_FULL_PIPE, NB_PIPE_FLAG, NB_UNIX_IN, NNB };
static const char *const nb_name[NNB] = {
	"from an empty pipe", "into a full pipe", "O_NONBLOCK pipe",
	"from a unix socket",
};

/* SPLICE_F_NONBLOCK (or a pipe's own O_NONBLOCK) gives EAGAIN at once for
 * the pipe ends, and for an AF_UNIX socket read. */
START_TEST(splice_that_the_program_made_nonblocking_returns_EAGAIN)
{
	int sv[2], fds[2], ran = 0, in, out;
	unsigned flags = SPLICE_F_NONBLOCK;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	in = fds[0], out = sv[0];
	if (_i == NB_FULL_PIPE) {
		fill(fds[1]);
		in = sv[1], out = fds[1];
		ck_assert_int_eq(write(sv[0], "x", 1), 1);
	} else if (_i == NB_PIPE_FLAG) {
		flags = 0;
		ck_assert_int_eq(tl_set_nonblocking(fds[0], true), 0);
	} else if (_i == NB_UNIX_IN) {
		in = sv[1], out = fds[1];
	}
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ssize_t r = splice(in, NULL, out, NULL, 100, flags);
	ck_assert_msg(r == -1 && errno == EAGAIN, "%s: %zd (%s)",
		      nb_name[_i], r, strerror(errno));
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(splice_outside_a_coroutine_passes_through)
{
	int sv[2], fds[2];
	char buf[16];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "hello", 5), 5);
	ck_assert_int_eq(splice(fds[0], NULL, sv[0], NULL, 100, 0), 5);
	ck_assert_int_eq(read(sv[1], buf, sizeof buf), 5);
	errno = 0;
	ck_assert_int_eq(splice(fds[0], NULL, sv[0], NULL, 100,
				SPLICE_F_NONBLOCK), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(splice_by_the_only_coroutine_blocks_for_real)
{
	int sv[2], fds[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	weft_yield();
	struct thread_job j = { .fd = fds[1], .delay = 20 * MS,
				.data = "hello", .len = 5 };
	thread_start(&j);
	ck_assert_int_eq(splice(fds[0], NULL, sv[0], NULL, 100, 0), 5);
	pthread_join(j.tid, NULL);
}
END_TEST

/* A lone coroutine splicing into a socket weft made non-blocking cannot
 * block for real there, so it waits in weft for the pipe too. */
START_TEST(splice_by_the_only_coroutine_into_a_weft_non_blocking_socket_waits)
{
	int sv[2], fds[2];
	char buf[16];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	weft_yield();
	make_kern_nb(sv[0]);
	struct thread_job j = { .fd = fds[1], .delay = 20 * MS,
				.data = "hello", .len = 5 };
	thread_start(&j);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(splice(fds[0], NULL, sv[0], NULL, 100, 0), 5);
	ck_assert_int_ge(tl_mono_ns() - t0, 20 * MS);
	ck_assert_int_eq(read(sv[1], buf, sizeof buf), 5);
	pthread_join(j.tid, NULL);
}
END_TEST

enum { S_IN_BAD, S_OUT_BAD, S_NO_PIPE, S_FLAGS, S_SAME_PIPE, S_OFF_PIPE,
       S_OFF_FAULT, S_WRITE_ONLY_IN, NSERR };
static const char *const serr_name[NSERR] = {
	"bad in fd", "bad out fd", "no pipe", "unknown flags",
	"one pipe both ends", "offset on a pipe", "bad offset pointer",
	"write-only input",
};

START_TEST(splice_with_a_bad_argument_fails_at_once_as_libc_does)
{
	unsigned char *data = random_bytes(100, 17);
	int f = file_of(data, 100), sv[2], fds[2], ran = 0, want = 0;
	int in, out;
	loff_t off = 0, *off_in = NULL, *off_out = NULL;
	unsigned flags = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	in = fds[0], out = sv[0]; /* the pipe is empty: a wait would come */
	switch (_i) {
	case S_IN_BAD: in = -1, want = EBADF; break;
	case S_OUT_BAD: out = 12345, want = EBADF; break;
	case S_NO_PIPE: in = f, off_in = &off, want = EINVAL; break;
	case S_FLAGS: flags = 0x100, want = EINVAL; break;
	case S_SAME_PIPE: in = fds[0], out = fds[1], want = EINVAL;
		ck_assert_int_eq(write(fds[1], "x", 1), 1);
		break;
	case S_OFF_PIPE: off_in = &off, want = ESPIPE; break;
	case S_OFF_FAULT: in = f, off_in = bad_ptr, out = fds[1],
		want = EFAULT; break;
	case S_WRITE_ONLY_IN: in = fds[1], out = sv[0], want = EBADF; break;
	}
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	errno = 0;
	ssize_t r = splice(in, off_in, out, off_out, 100, flags);
	ck_assert_msg(r == -1 && errno == want, "%s: got %zd (%s), want %s",
		      serr_name[_i], r, strerror(errno), strerror(want));
	ck_assert_msg(ran == 0, "%s: parked before failing", serr_name[_i]);
}
END_TEST

START_TEST(splice_of_0_bytes_returns_0)
{
	int ran = 0;

	TL_SKIP_UNDER_VALGRIND("it checks splice's fds before the kernel sees"
			       " there is nothing to move: EBADF");
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	ck_assert_int_eq(splice(-1, NULL, -1, NULL, 0, 0), 0);
	ck_assert_int_eq(ran, 0);
}
END_TEST

START_TEST(splice_wakes_with_EBADF_when_another_coroutine_closes_the_pipe)
{
	int sv[2], fds[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	struct peer p = { .fd = fds[0], .delay = 5 * MS };
	go(&p, peer_close);
	errno = 0;
	ck_assert_int_eq(splice(fds[0], NULL, sv[0], NULL, 100, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_int_gt(p.at, 0);
}
END_TEST

START_TEST(splice_from_a_socket_times_out_with_EAGAIN_after_SO_RCVTIMEO)
{
	int sv[2], fds[2], ran = 0;
	struct timeval tv = { 0, 30000 };

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof tv), 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(splice(sv[0], NULL, fds[1], NULL, 100, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 30 * MS);
	ck_assert_int_gt(ran, 0);
}
END_TEST

/* ---- differential ------------------------------------------------------- */

/* What one step of a call sequence gave. */
struct rec {
	int line;
	long ret;
	int err;
	long off;
};

struct record {
	int n;
	struct rec r[64];
};

static void note_at(struct record *rc, int line, long ret, int err, long off)
{
	if (rc->n >= (int)(sizeof rc->r / sizeof rc->r[0]))
		return;
	rc->r[rc->n++] = (struct rec){ .line = line, .ret = ret,
				       .err = ret < 0 ? err : 0, .off = off };
}

/* Notes what expr gave and the offset after it. */
#define NOTE(rc, expr, off)                                                   \
	do {                                                                  \
		errno = 0;                                                    \
		long ret_ = (long)(expr);                                     \
		note_at(rc, __LINE__, ret_, errno, (long)(off));              \
	} while (0)

/* FNV-1a of b[0..n): one number for a whole stream. */
static long hash(const unsigned char *b, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return (long)(h >> 1);
}

/* The same steps with libc alone or with weft: sendfile and splice into a
 * socket a slow reader drains, into and out of pipes, from a socket, and
 * with bad arguments. */
static void transfer_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	size_t cap = BIG + MIB;
	unsigned char *data = random_bytes(BIG, 18), *got = malloc(cap);
	int f = file_of(data, BIG), sv[2], fds[2], gate[2], u[2];
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	off_t off = 0, eof = BIG + 10;
	struct peer p, q;

	signal(SIGPIPE, SIG_IGN);
	if (f < 0 || !got || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, u) < 0 || pipe(fds) < 0 ||
	    pipe(gate) < 0) {
		NOTE(rc, -1, 0);
		return;
	}
	/* A reader that drains the socket slowly, to its end. */
	p = (struct peer){ .fd = sv[1], .want = cap, .chunk = 32 * KIB,
			   .pace = MS / 4, .into = got };
	NOTE(rc, peer_start(&p, peer_drain, !weft), 0);
	NOTE(rc, sendfile(sv[0], f, &off, BIG), off);
	NOTE(rc, sendfile(sv[0], f, NULL, 100 * KIB), lseek(f, 0, SEEK_CUR));
	NOTE(rc, sendfile(sv[0], f, &eof, 10), eof);
	NOTE(rc, sendfile(sv[0], -1, &off, 10), off);
	NOTE(rc, sendfile(sv[0], f, bad_ptr, 10), 0);
	NOTE(rc, sendfile(sv[0], dir, NULL, 10), 0);
	NOTE(rc, sendfile(-1, f, &off, 10), off);
	/* Into a pipe: what fits; then, full, after a reader takes it. */
	off = 0;
	NOTE(rc, sendfile(fds[1], f, &off, MIB), off);
	q = (struct peer){ .fd = fds[0], .want = 64 * KIB, .chunk = 64 * KIB,
			   .gate = gate[0] };
	NOTE(rc, peer_start(&q, peer_drain, !weft), 0);
	NOTE(rc, write(gate[1], "g", 1), 0);
	NOTE(rc, sendfile(fds[1], f, &off, 1000), off);
	peer_join(&q);
	NOTE(rc, q.got, 0);
	/* splice: out of that pipe into the socket, and from the file. */
	NOTE(rc, splice(fds[0], NULL, sv[0], NULL, MIB, 0), 0);
	off = 5;
	NOTE(rc, splice(f, &off, fds[1], NULL, MIB, 0), off);
	NOTE(rc, splice(fds[0], NULL, sv[0], NULL, 32 * KIB, 0), 0);
	NOTE(rc, splice(fds[0], NULL, sv[0], NULL, MIB, SPLICE_F_MORE), 0);
	NOTE(rc, splice(fds[0], NULL, sv[0], NULL, 10, SPLICE_F_NONBLOCK), 0);
	NOTE(rc, splice(f, bad_ptr, fds[1], NULL, 10, 0), 0);
	NOTE(rc, splice(f, &off, sv[0], NULL, 10, 0), off);
	NOTE(rc, splice(fds[0], &off, sv[0], NULL, 10, 0), off);
	NOTE(rc, splice(f, &off, fds[1], NULL, 10, 0xff), off);
	NOTE(rc, splice(-1, NULL, fds[1], NULL, 10, 0), 0);
	NOTE(rc, shutdown(sv[0], SHUT_WR), 0);
	peer_join(&p);
	NOTE(rc, p.got, 0);
	NOTE(rc, hash(got, p.got), 0);
	NOTE(rc, memcmp(got, data, BIG) == 0, 0);
	/* From a socket into the pipe, waiting for a writer. */
	q = (struct peer){ .fd = u[1], .delay = 5 * MS, .data = data,
			   .len = 5000 };
	NOTE(rc, peer_start(&q, peer_write, !weft), 0);
	NOTE(rc, splice(u[0], NULL, fds[1], NULL, 4096, 0), 0);
	NOTE(rc, splice(u[0], NULL, fds[1], NULL, 4096, 0), 0);
	peer_join(&q);
	NOTE(rc, read(fds[0], got, cap), hash(got, 5000));
	/* The reader leaves while the writer waits. */
	fill(u[1]);
	q = (struct peer){ .fd = u[0], .delay = 5 * MS };
	NOTE(rc, peer_start(&q, peer_close, !weft), 0);
	NOTE(rc, sendfile(u[1], f, &off, 1000), off);
	peer_join(&q);
}

START_TEST(sendfile_and_splice_give_what_libc_gives)
{
	struct record plain, woven;

	tl_run_script(transfer_script, 0, false, &plain, sizeof plain);
	tl_run_script(transfer_script, 0, true, &woven, sizeof woven);
	ck_assert_int_gt(plain.n, 0);
	for (int i = 0; i < plain.n || i < woven.n; i++) {
		struct rec *p = &plain.r[i], *w = &woven.r[i];
		ck_assert_msg(memcmp(p, w, sizeof *p) == 0,
			      "step %d (line %d/%d): libc gave %ld (errno %d, "
			      "offset %ld), weft %ld (errno %d, offset %ld)",
			      i, p->line, w->line, p->ret, p->err, p->off,
			      w->ret, w->err, w->off);
	}
	ck_assert_int_eq(plain.n, woven.n);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_sendfile(void)
{
	Suite *s = suite_create("hook_sendfile");
	TCase *tc;

	tc = tcase_create("sendfile");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
			    sendfile_of_4_mib_parks_while_a_slow_reader_drains,
			    0, NSF);
	tcase_add_test(tc, sendfile_to_a_full_pipe_parks_then_returns_what_fits);
	tcase_add_test(tc, sendfile_that_fits_does_not_park);
	tcase_add_test(tc, sendfile_outside_a_coroutine_passes_through);
	tcase_add_test(tc, sendfile_by_the_only_coroutine_blocks_for_real);
	tcase_add_test(tc,
		sendfile_by_the_only_coroutine_to_a_weft_non_blocking_socket_parks);
	tcase_add_test(tc, sendfile_goes_on_until_the_file_ends);
	tcase_add_test(tc,
		sendfile_to_a_nonblocking_socket_returns_EAGAIN_without_parking);
	suite_add_tcase(s, tc);

	tc = tcase_create("sendfile_errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
			    sendfile_with_a_bad_argument_fails_at_once_as_libc_does,
			    0, NERR);
	tcase_add_test(tc, sendfile_from_a_directory_fails_with_EINVAL);
	tcase_add_test(tc,
		sendfile_wakes_with_EBADF_when_another_coroutine_closes_the_socket);
	tcase_add_loop_test(tc, sendfile_fails_when_the_reader_goes, 0, 2);
	tcase_add_test(tc, sendfile_reports_what_went_before_the_reader_left);
	tcase_add_test(tc, sendfile_gives_up_with_what_went_after_SO_SNDTIMEO);
	suite_add_tcase(s, tc);

	tc = tcase_create("splice");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
		splice_from_a_pipe_sends_all_of_it_while_a_slow_reader_drains,
		0, 2);
	tcase_add_test(tc, splice_from_an_empty_pipe_parks_until_a_writer_comes);
	tcase_add_loop_test(tc, splice_into_a_pipe_parks_until_data_comes, 0,
			    NIN);
	tcase_add_test(tc,
		splice_from_a_file_into_a_full_pipe_parks_until_a_reader_drains);
	tcase_add_test(tc, splice_between_pipes_parks_until_the_output_has_room);
	tcase_add_test(tc, splice_that_can_go_does_not_park);
	tcase_add_loop_test(tc,
		splice_that_the_program_made_nonblocking_returns_EAGAIN, 0, NNB);
	tcase_add_test(tc, splice_outside_a_coroutine_passes_through);
	tcase_add_test(tc, splice_by_the_only_coroutine_blocks_for_real);
	tcase_add_test(tc,
		splice_by_the_only_coroutine_into_a_weft_non_blocking_socket_waits);
	suite_add_tcase(s, tc);

	tc = tcase_create("splice_errors");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
			    splice_with_a_bad_argument_fails_at_once_as_libc_does,
			    0, NSERR);
	tcase_add_test(tc, splice_of_0_bytes_returns_0);
	tcase_add_test(tc,
		splice_wakes_with_EBADF_when_another_coroutine_closes_the_pipe);
	tcase_add_test(tc,
		splice_from_a_socket_times_out_with_EAGAIN_after_SO_RCVTIMEO);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, sendfile_and_splice_give_what_libc_gives);
	suite_add_tcase(s, tc);
	return s;
}
