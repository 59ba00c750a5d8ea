/* calls.c - a libFuzzer target: random programs of wrapped calls, run
 * woven and plain, must give the same results.
 *
 * The input is decoded into a small program (decode()): one to three
 * channels (a pipe, a unix stream or datagram socket pair, a TCP loopback
 * pair), each with one direction per writable end; one to three writer
 * actors, each owning the writing end of some directions; and one reader
 * actor per direction.  Every actor has a list of operations on its ends:
 * transfers (write, writev, send, sendmsg, sendto; read, readv, recv,
 * recvmsg, recvfrom, MSG_PEEK, MSG_WAITALL), waits (poll, ppoll, select,
 * epoll_wait with short time-outs), shutdown, close, dup, dup2 onto a
 * number just closed, O_NONBLOCK toggles, SO_SNDBUF/SO_RCVBUF, yields,
 * short sleeps, calls on closed fds and calls with invalid arguments.
 *
 * The program runs twice in this process: woven (every actor a weft
 * coroutine on this thread) and plain (every actor a real thread that
 * never calls weft, so each wrapper passes straight through to libc).
 *
 * Why it cannot hang.  Readers only read their own direction and never
 * stop before its end; writers only wait for their own directions' room,
 * which their readers make.  A writer ends each direction it owns (a
 * shutdown, a close of the last pipe end, an empty datagram on datagram
 * pairs, which have no end-of-file), and a reader stops only once it saw
 * the end and its writer is done.  Every time-out is a few milliseconds,
 * every transfer that meets EAGAIN or EINTR waits for readiness with a
 * time-out and tries again.  A watchdog thread aborts a run that takes
 * more than WATCHDOG_SECONDS: weft then hangs where libc does not.
 *
 * What is compared, and why only that.  Timing decides how many bytes a
 * read returns, whether a poll finds an fd ready, when a write meets
 * EAGAIN: none of that is compared.  What is:
 *   - each byte a reader gets is the byte written at that offset of its
 *     direction (content is a function of direction and offset), and
 *     each datagram is the one written at that place, perhaps truncated;
 *   - each direction's totals: bytes written, bytes read (all of them:
 *     the reader drains to the end), datagram lengths as sent and as
 *     received, the same in both runs and between writer and reader;
 *   - the outcome (success or errno) of every operation whose outcome
 *     does not depend on timing: writes complete (they are retried until
 *     done), so they succeed or fail with EPIPE after the writer's own
 *     shutdown, EBADF on a closed fd, ENOTSOCK, EINVAL, EMSGSIZE...
 * A direction whose reading socket was shut down for reading (SHUT_RD by
 * the other direction's writer) loses data at a moment timing decides:
 * it is "lossy", and only its content and prefix property are checked.
 * (Only unix stream sockets are shut for reading: a datagram pair has no
 * end-of-file to give the reader, and a TCP socket shut for reading
 * resets the connection when more data comes.)
 * On a TCP pair, ENOTCONN from shutdown depends on whether the peer's FIN
 * has arrived yet: not compared.
 *
 * Each iteration must leave the process as it found it: the number of
 * open fds is checked against the first iteration's, and the woven run
 * must end with no coroutine but the root left on the scheduler.
 *
 * `make fuzz` runs this under libFuzzer (tests/fuzz/run), seeded from
 * tests/fuzz/corpus/; `make check` replays tests/fuzz/regress/ (inputs
 * that once failed, and seeds that make every operation on every kind of
 * channel) through replay.c.  WEFT_FUZZ_VERBOSE=1 prints each program,
 * =2 every operation's outcome too.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "sched.h"

#define MAXCHAN 3
#define MAXDIR (2 * MAXCHAN)
#define MAXWRITER 3
#define MAXACT (MAXWRITER + MAXDIR)
#define MAXOPS 24
#define MAXDG (MAXWRITER * MAXOPS)  /* datagrams a direction may carry */
#define BUFSZ (64 * 1024 + 256)
#define DGMAX 16384                 /* largest datagram written */
#define FAST_PASS 8                 /* reader passes after which it hurries */
#define PRIV_BASE 600               /* actors' private fd numbers */
#define WATCHDOG_SECONDS 10

#define SKIP (-1) /* an outcome timing decides: not compared */

enum kind { PIPE, USTREAM, UDGRAM, TCP, NKIND };
static const char *const kind_name[] = { "pipe", "unix-stream", "unix-dgram",
					 "tcp" };

enum wop { W_WRITE, W_WRITEV, W_SEND, W_SENDMSG, W_SENDTO, W_POLL, W_PPOLL,
	   W_SELECT, W_EPOLL, W_SHUTDOWN, W_CLOSE, W_DUPSWAP, W_MOVE, W_BADF,
	   W_NONBLOCK, W_SOCKOPT, W_YIELD, W_SLEEP, W_INVAL, W_NOPS };
enum rop { R_READ, R_READV, R_RECV, R_RECVMSG, R_RECVFROM, R_PEEK,
	   R_WAITALL, R_POLL, R_PPOLL, R_SELECT, R_EPOLL, R_DUPSWAP, R_MOVE,
	   R_BADF, R_NONBLOCK, R_SOCKOPT, R_YIELD, R_SLEEP, R_INVAL, R_NOPS };
static const char *const wop_name[] = {
	"write", "writev", "send", "sendmsg", "sendto", "poll", "ppoll",
	"select", "epoll_wait", "shutdown", "close", "dup", "dup2", "badf",
	"nonblock", "sockopt", "yield", "sleep", "inval" };
static const char *const rop_name[] = {
	"read", "readv", "recv", "recvmsg", "recvfrom", "peek", "waitall",
	"poll", "ppoll", "select", "epoll_wait", "dup", "dup2", "badf",
	"nonblock", "sockopt", "yield", "sleep", "inval" };

/* ==== The program ======================================================= */

struct op {
	uint8_t kind, a, b, c;
};

struct dirdef {
	int chan;
	int kind;
	int side;   /* 0: written at the pair's first fd, 1: at its second */
	int writer; /* actor index */
	int reader; /* actor index */
	bool lossy; /* its reading socket may be shut down for reading */
};

struct actdef {
	bool reader;
	int ndirs;
	int dirs[MAXDIR]; /* the directions it writes, or the one it reads */
	int nops;
	struct op ops[MAXOPS];
};

struct prog {
	int nchan, ndir, nact, nwriter;
	int chan_kind[MAXCHAN];
	struct dirdef dir[MAXDIR];
	struct actdef act[MAXACT];
};

/* The input, read a byte at a time; zeros once it runs out. */
struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t next(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* Transfer sizes: mostly small, sometimes up to 32 KiB. */
static size_t size_of(const struct op *o)
{
	return (o->b & 0x80) ? ((size_t)1 << (o->c & 15)) + (o->b & 0x7f)
			     : o->b;
}

/* Builds the program the input describes; every input makes one. */
static void decode(const uint8_t *data, size_t size, struct prog *pg)
{
	struct input in = { data, size };

	memset(pg, 0, sizeof *pg);
	pg->nchan = 1 + next(&in) % MAXCHAN;
	for (int c = 0; c < pg->nchan; c++) {
		int k = next(&in) % NKIND;
		pg->chan_kind[c] = k;
		for (int side = 0; side < (k == PIPE ? 1 : 2); side++)
			pg->dir[pg->ndir++] = (struct dirdef){
				.chan = c, .kind = k, .side = side };
	}
	pg->nwriter = 1 + next(&in) % MAXWRITER;
	if (pg->nwriter > pg->ndir)
		pg->nwriter = pg->ndir;
	pg->nact = pg->nwriter + pg->ndir;
	for (int d = 0; d < pg->ndir; d++) {
		int w = d < pg->nwriter ? d : next(&in) % pg->nwriter;
		struct actdef *wa = &pg->act[w], *ra = &pg->act[pg->nwriter + d];
		pg->dir[d].writer = w;
		pg->dir[d].reader = pg->nwriter + d;
		wa->dirs[wa->ndirs++] = d;
		ra->reader = true;
		ra->dirs[ra->ndirs++] = d;
	}
	for (int a = 0; a < pg->nact; a++) {
		struct actdef *ad = &pg->act[a];
		ad->nops = next(&in) % (MAXOPS + 1);
		for (int i = 0; i < ad->nops; i++) {
			struct op *o = &ad->ops[i];
			o->kind = next(&in) % (ad->reader ? R_NOPS : W_NOPS);
			o->a = next(&in);
			o->b = next(&in);
			o->c = next(&in);
			/* A socket shut down for reading loses what the other
			 * direction's writer sends from then on. */
			int d = ad->dirs[o->a % ad->ndirs];
			int k = pg->dir[d].kind;
			if (!ad->reader && o->kind == W_SHUTDOWN &&
			    k == USTREAM && o->b % 3 != SHUT_WR)
				for (int x = 0; x < pg->ndir; x++)
					if (pg->dir[x].chan == pg->dir[d].chan &&
					    x != d)
						pg->dir[x].lossy = true;
		}
	}
}

/* Prints the program, for a report. */
static void dump_prog(const struct prog *pg)
{
	for (int d = 0; d < pg->ndir; d++)
		fprintf(stderr, "  dir %d: chan %d %s side %d, writer %d,"
			" reader %d%s\n", d, pg->dir[d].chan,
			kind_name[pg->dir[d].kind], pg->dir[d].side,
			pg->dir[d].writer, pg->dir[d].reader,
			pg->dir[d].lossy ? " (lossy)" : "");
	for (int a = 0; a < pg->nact; a++) {
		const struct actdef *ad = &pg->act[a];
		fprintf(stderr, "  actor %d (%s):", a,
			ad->reader ? "reader" : "writer");
		for (int i = 0; i < ad->nops; i++) {
			const struct op *o = &ad->ops[i];
			fprintf(stderr, " %s(%u,%u,%u)",
				ad->reader ? rop_name[o->kind]
					   : wop_name[o->kind],
				o->a, o->b, o->c);
		}
		fprintf(stderr, "\n");
	}
}

/* ==== One run =========================================================== */

/* What one direction did in one run. */
struct dirres {
	uint64_t written, got;
	unsigned wcount, rcount; /* datagrams */
	uint16_t wlen[MAXDG], rlen[MAXDG], rask[MAXDG];
	bool eof;
	char bad[240];           /* what the reader found wrong, if anything */
};

/* What one run gave. */
struct result {
	struct dirres dir[MAXDIR];
	int out[MAXACT][MAXOPS];
	bool outset[MAXACT][MAXOPS];
};

/* One end of a direction, as its actor holds it. */
struct end {
	int dir;
	int fd;      /* the fd ops use now */
	int spare;   /* a writer's second fd, for the final end; else -1 */
	bool dead;   /* fd was closed: ops on it give EBADF */
	bool marked; /* datagram writer: the empty datagram went out */
};

struct world;

struct actor {
	struct world *w;
	int id;
	const struct actdef *def;
	int nends;
	struct end end[MAXDIR];
	bool slot[8];         /* private numbers PRIV_BASE + 16 id + k in use */
	unsigned char *buf;
	_Atomic int at;       /* pass * 100 + op: where it is, for the watchdog */
	pthread_t tid;
	weft_co *co;
};

struct world {
	const struct prog *pg;
	struct result *res;
	bool woven;
	atomic_bool wdone[MAXDIR];
	struct actor act[MAXACT];
};

/* The byte at offset k of direction dir; datagram j's byte i is at
 * offset (j << 24) + i. */
static inline uint8_t pat(int dir, uint64_t k)
{
	uint64_t x = (k + ((uint64_t)dir << 40) + 1) * 0x9E3779B97F4A7C15ull;

	return (uint8_t)(x >> 56);
}

static int priv_fd(const struct actor *a, int k)
{
	return PRIV_BASE + 16 * a->id + k;
}

/* A number no one ever opens: calls on it must give EBADF. */
static int dead_fd(const struct actor *a, uint8_t k)
{
	return priv_fd(a, 8 + k % 8);
}

static bool is_dgram(const struct actor *a, const struct end *e)
{
	return a->w->pg->dir[e->dir].kind == UDGRAM;
}

static bool is_sock(const struct actor *a, const struct end *e)
{
	return a->w->pg->dir[e->dir].kind != PIPE;
}

/* Where an actor waits when a call said EAGAIN or EINTR: a short poll,
 * which parks a coroutine. */
static void wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	poll(&p, 1, 10);
}

static void nap_us(int us)
{
	struct timespec ts = { 0, us * 1000L };

	nanosleep(&ts, NULL);
}

static int code(long r)
{
	return r < 0 ? (errno == EINTR || errno == EAGAIN ? SKIP : errno) : 0;
}

/* ---- operations any actor makes ---- */

/* poll, ppoll, select or epoll_wait on e for events, ms at most. */
static int op_wait(struct actor *a, struct end *e, int how, short events,
		   int ms)
{
	int fd = e->fd;
	long r;

	(void)a;
	switch (how) {
	case 0: {
		struct pollfd p = { .fd = fd, .events = events };
		r = poll(&p, 1, ms);
		if (r == 1 && (p.revents & POLLNVAL))
			return 1000 + POLLNVAL;
		return code(r);
	}
	case 1: {
		struct pollfd p = { .fd = fd, .events = events };
		struct timespec ts = { 0, ms * 1000000L };
		r = ppoll(&p, 1, &ts, NULL);
		if (r == 1 && (p.revents & POLLNVAL))
			return 1000 + POLLNVAL;
		return code(r);
	}
	case 2: {
		fd_set s;
		struct timeval tv = { 0, ms * 1000L };
		FD_ZERO(&s);
		FD_SET(fd, &s);
		r = select(fd + 1, events & POLLIN ? &s : NULL,
			   events & POLLOUT ? &s : NULL, NULL, &tv);
		return code(r);
	}
	default: {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = {
			.events = (events & POLLIN ? EPOLLIN : 0) |
				  (events & POLLOUT ? EPOLLOUT : 0) };
		struct epoll_event got[4];
		if (ep < 0)
			return errno;
		r = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		int c = code(r);
		if (r == 0)
			c = code(epoll_wait(ep, got, 4, ms));
		close(ep);
		return c;
	}
	}
}

/* Frees e's private number, if it has one. */
static void unslot(struct actor *a, struct end *e)
{
	int k = e->fd - priv_fd(a, 0);

	if (k >= 0 && k < 8)
		a->slot[k] = false;
}

/* dup: a fresh fd (the lowest free number) for e's file, the old one
 * closed; a dead writer end gets a fresh fd from its spare. */
static int op_dup(struct actor *a, struct end *e)
{
	int src = e->dead && e->spare >= 0 ? e->spare : e->fd;
	int nfd = dup(src);

	if (nfd < 0)
		return code(nfd);
	if (!e->dead) {
		unslot(a, e);
		close(e->fd);
	}
	e->fd = nfd;
	e->dead = false;
	return 0;
}

/* dup2 onto one of the actor's private numbers, perhaps one it closed a
 * moment ago: the number is reused with another file's state. */
static int op_move(struct actor *a, struct end *e, uint8_t pick)
{
	int k = pick % 8;

	for (int i = 0; i < 8 && a->slot[k]; i++)
		k = (k + 1) % 8;
	if (a->slot[k])
		return 0;
	int to = priv_fd(a, k);
	if (e->dead)
		return code(dup2(dead_fd(a, pick), to));
	int r = dup2(e->fd, to);
	if (r < 0)
		return code(r);
	unslot(a, e);
	close(e->fd);
	e->fd = to;
	a->slot[k] = true;
	return 0;
}

/* A call on a number no one opened: EBADF, or POLLNVAL. */
static int op_badf(struct actor *a, uint8_t b, uint8_t c)
{
	int fd = dead_fd(a, b);
	char byte = 0;
	int v = 1;

	switch (c % 9) {
	case 0: return code(write(fd, &byte, 1));
	case 1: return code(read(fd, &byte, 1));
	case 2: return code(send(fd, &byte, 1, MSG_NOSIGNAL));
	case 3: return code(recv(fd, &byte, 1, 0));
	case 4: return code(fcntl(fd, F_GETFL));
	case 5: return code(shutdown(fd, SHUT_WR));
	case 6: return code(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v,
				       sizeof v));
	case 7: return code(close(fd));
	default: {
		struct end e = { .fd = fd };
		return op_wait(a, &e, b % 4, POLLIN, 0);
	}
	}
}

/* Toggles O_NONBLOCK through fcntl or ioctl(FIONBIO).  Not on a socket:
 * the two ends of a pair are each shared by two actors (one writes, one
 * reads the other direction) through dups of one open file, and weft
 * tracks O_NONBLOCK per fd (README, "Limits"): one actor's change is not
 * seen through the other's fd, whose blocking call would then block the
 * whole thread, a known difference this target is not for. */
static int op_nonblock(struct actor *a, struct end *e, uint8_t how)
{
	if (is_sock(a, e))
		return SKIP;
	int fl = fcntl(e->fd, F_GETFL);

	if (fl < 0)
		return code(fl);
	if (how & 1) {
		int on = !(fl & O_NONBLOCK);
		return code(ioctl(e->fd, FIONBIO, &on));
	}
	return code(fcntl(e->fd, F_SETFL, fl ^ O_NONBLOCK));
}

static int op_sockopt(struct end *e, int opt, uint8_t size)
{
	int v = 2048 << (size % 6);

	return code(setsockopt(e->fd, SOL_SOCKET, opt, &v, sizeof v));
}

static int op_yield(struct actor *a, uint8_t how)
{
	if (a->w->woven && (how & 1))
		weft_yield();
	else
		sched_yield();
	return 0;
}

static int op_sleep(uint8_t b, uint8_t c)
{
	int us = (b % 4) * 250;
	struct timespec ts = { 0, us * 1000L };

	switch (c % 3) {
	case 0: return code(usleep((useconds_t)us));
	case 1: return code(nanosleep(&ts, NULL));
	default: return clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL) == 0 ?
			0 : SKIP;
	}
}

/* Counts the kernel refuses, hidden from the compiler's checks. */
static volatile int neg_count = -1, huge_count = 1025;

/* One pollfd more than RLIMIT_NOFILE allows (poll's EINVAL), all -1:
 * sanitizers read the whole array before the kernel refuses it. */
static struct pollfd *too_many;
static nfds_t too_many_n;

/* Calls with arguments the kernel refuses, whatever the timing. */
static int op_inval(struct actor *a, struct end *e, uint8_t how)
{
	struct iovec iov = { a->buf, 1 };
	struct pollfd p = { .fd = e->fd, .events = POLLIN };
	struct timespec bad = { 0, 2000000000L };
	struct epoll_event ev;
	int v = 4096;

	switch (how % 10) {
	case 0: return code(writev(e->fd, &iov, neg_count));
	case 1: return code(readv(e->fd, &iov, huge_count));
	case 2: return code(fcntl(e->fd, 9999));
	case 3: return code(shutdown(e->fd, 7));
	case 4: return code(ppoll(&p, 1, &bad, NULL));
	case 5: return code(nanosleep(&bad, NULL));
	case 6: return code(setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &v, 0));
	case 7: return too_many ? code(poll(too_many, too_many_n, 0)) : 0;
	case 8: {
		fd_set s;
		struct timeval tv = { 0, -1 };
		FD_ZERO(&s);
		return code(select(1, &s, NULL, NULL, &tv));
	}
	default: {
		int ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0)
			return errno;
		int c = code(epoll_wait(ep, &ev, 0, 0));
		close(ep);
		return c;
	}
	}
}

/* ---- writers ---- */

/* Sends n bytes (one datagram on a datagram pair) on e, all of them:
 * EAGAIN and EINTR wait and try again.  Returns the outcome. */
static int put(struct actor *a, struct end *e, int how, size_t n,
	       uint8_t arg)
{
	struct world *w = a->w;
	struct dirres *dr = &w->res->dir[e->dir];
	bool dg = is_dgram(a, e);
	uint64_t base = dg ? (uint64_t)dr->wcount << 24 : dr->written;
	static const int flagset[] = { 0, MSG_NOSIGNAL, MSG_DONTWAIT,
				       MSG_DONTWAIT | MSG_NOSIGNAL };
	size_t done = 0;
	int err = 0;

	if (dg) {
		n = n == 0 ? 1 : n > DGMAX ? DGMAX : n;
		if (dr->wcount >= MAXDG)
			return 0;
	}
	for (size_t i = 0; i < n; i++)
		a->buf[i] = pat(e->dir, base + i);
	do {
		unsigned char *p = a->buf + done;
		size_t left = n - done, cut = arg % (left + 1);
		struct iovec iov[2] = { { p, cut }, { p + cut, left - cut } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t r;
		switch (how) {
		case W_WRITE: r = write(e->fd, p, left); break;
		case W_WRITEV: r = writev(e->fd, iov, 2); break;
		case W_SEND: r = send(e->fd, p, left, flagset[arg % 4]); break;
		case W_SENDMSG: r = sendmsg(e->fd, &mh, MSG_NOSIGNAL); break;
		default: r = sendto(e->fd, p, left, 0, NULL, 0); break;
		}
		if (r >= 0) {
			done += (size_t)r;
			if (dg) {
				dr->wlen[dr->wcount++] = (uint16_t)r;
				break;
			}
			continue;
		}
		if (errno == EAGAIN || errno == EINTR) {
			wait_for(e->fd, POLLOUT);
			continue;
		}
		err = errno;
		break;
	} while (done < n);
	if (!dg)
		dr->written += done;
	if (w->pg->dir[e->dir].lossy &&
	    (err == 0 || err == EPIPE || err == ECONNRESET))
		return SKIP;
	return err;
}

/* Sends the empty datagram that tells a datagram reader the end came. */
static void mark_end(struct end *e, int fd)
{
	while (!e->marked) {
		if (send(fd, "", 0, MSG_NOSIGNAL) == 0)
			e->marked = true;
		else if (errno == EAGAIN || errno == EINTR)
			wait_for(fd, POLLOUT);
		else
			break;
	}
}

static int op_shutdown(struct actor *a, struct end *e, uint8_t how)
{
	int h = how % 3;

	if (is_dgram(a, e)) {
		h = SHUT_WR;
		if (!e->dead)
			mark_end(e, e->fd);
	} else if (a->w->pg->dir[e->dir].kind == TCP) {
		/* Data that reaches a TCP socket shut for reading after its
		 * own FIN resets the connection (RFC 1122), taking down the
		 * other direction at a moment timing decides. */
		h = SHUT_WR;
	}
	int c = code(shutdown(e->fd, h));
	if (c == ENOTCONN && a->w->pg->dir[e->dir].kind == TCP)
		return SKIP; /* the peer's FIN may or may not be in */
	return c;
}

static int op_close(struct actor *a, struct end *e, uint8_t pick)
{
	int c = code(close(e->fd));

	if (!e->dead) {
		/* A private number stays closed: calls on it must say
		 * EBADF.  Any other may be reused by another actor at once. */
		int k = e->fd - priv_fd(a, 0);
		if (k < 0 || k >= 8)
			e->fd = dead_fd(a, pick);
		e->dead = true;
	}
	return c;
}

static int writer_op(struct actor *a, const struct op *o)
{
	struct end *e = &a->end[o->a % a->nends];
	int ms = o->c % 6;

	switch (o->kind) {
	case W_WRITE: case W_WRITEV: case W_SEND: case W_SENDMSG:
	case W_SENDTO:
		return put(a, e, o->kind, size_of(o), o->c);
	case W_POLL: case W_PPOLL: case W_SELECT: case W_EPOLL:
		return op_wait(a, e, o->kind - W_POLL, POLLOUT, ms);
	case W_SHUTDOWN: return op_shutdown(a, e, o->b);
	case W_CLOSE: return op_close(a, e, o->b);
	case W_DUPSWAP: return op_dup(a, e);
	case W_MOVE: return op_move(a, e, o->b);
	case W_BADF: return op_badf(a, o->b, o->c);
	case W_NONBLOCK: return op_nonblock(a, e, o->b);
	case W_SOCKOPT:
		return op_sockopt(e, o->c & 1 ? SO_RCVBUF : SO_SNDBUF, o->b);
	case W_YIELD: return op_yield(a, o->b);
	case W_SLEEP: return op_sleep(o->b, o->c);
	default: return op_inval(a, e, o->c);
	}
}

/* Ends every direction the writer owns, so its reader sees the end. */
static void writer_finish(struct actor *a)
{
	for (int i = 0; i < a->nends; i++) {
		struct end *e = &a->end[i];
		if (is_dgram(a, e))
			mark_end(e, e->spare);
		if (is_sock(a, e)) {
			shutdown(e->spare, SHUT_WR);
		} else {
			/* The last fds of a pipe's writing end: the reader
			 * gets end-of-file. */
			if (!e->dead)
				close(e->fd);
			close(e->spare);
			e->fd = e->spare = -1;
		}
		atomic_store(&a->w->wdone[e->dir], true);
	}
}

/* ---- readers ---- */

/* Checks what a read returned against what was written. */
static void check_bytes(struct actor *a, struct end *e, const unsigned char *p,
			size_t r, size_t asked, bool peek)
{
	struct dirres *dr = &a->w->res->dir[e->dir];
	bool dg = is_dgram(a, e);
	uint64_t base = dg ? (uint64_t)dr->rcount << 24 : dr->got;

	if (r > asked && !dr->bad[0])
		snprintf(dr->bad, sizeof dr->bad, "read %zu bytes, asked %zu",
			 r, asked);
	for (size_t i = 0; i < r && !dr->bad[0]; i++)
		if (p[i] != pat(e->dir, base + i))
			snprintf(dr->bad, sizeof dr->bad,
				 "%s %llu, byte %llu: got %u, want %u (a read"
				 " of %zu)", dg ? "datagram" : "stream",
				 (unsigned long long)(dg ? dr->rcount : 0),
				 (unsigned long long)(dg ? i : base + i),
				 p[i], pat(e->dir, base + i), r);
	if (peek)
		return;
	if (dg) {
		if (dr->rcount < MAXDG) {
			dr->rlen[dr->rcount] = (uint16_t)r;
			dr->rask[dr->rcount] = (uint16_t)asked;
		}
		dr->rcount++;
	} else {
		dr->got += r;
	}
}

/* One read of up to n bytes; EAGAIN and EINTR wait and try again, so
 * that it either moves data, sees the end, or fails for good. */
static int take(struct actor *a, struct end *e, int how, size_t n,
		uint8_t arg, int pass)
{
	struct dirres *dr = &a->w->res->dir[e->dir];
	bool dg = is_dgram(a, e);

	if (pass >= FAST_PASS && n < 16384)
		n = 16384;
	if (dg) {
		if (dr->eof)
			return SKIP; /* a datagram pair has no end-of-file */
		if (n == 0)
			n = 1;
	}
	for (;;) {
		size_t cut = arg % (n + 1);
		struct iovec iov[2] = { { a->buf, cut },
					{ a->buf + cut, n - cut } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t r;
		switch (how) {
		case R_READ: r = read(e->fd, a->buf, n); break;
		case R_READV: r = readv(e->fd, iov, 2); break;
		case R_RECV:
			r = recv(e->fd, a->buf, n, arg & 1 ? MSG_DONTWAIT : 0);
			break;
		case R_RECVMSG: r = recvmsg(e->fd, &mh, 0); break;
		case R_RECVFROM:
			r = recvfrom(e->fd, a->buf, n, 0, NULL, NULL);
			break;
		case R_PEEK: r = recv(e->fd, a->buf, n, MSG_PEEK); break;
		default: r = recv(e->fd, a->buf, n, MSG_WAITALL); break;
		}
		if (r > 0) {
			check_bytes(a, e, a->buf, (size_t)r, n, how == R_PEEK);
			return 0;
		}
		if (r == 0) {
			if (n > 0)
				dr->eof = true;
			return 0;
		}
		if (errno != EAGAIN && errno != EINTR)
			return errno;
		wait_for(e->fd, POLLIN);
	}
}

static int reader_op(struct actor *a, const struct op *o, int pass)
{
	struct end *e = &a->end[0];
	int ms = pass >= FAST_PASS ? 0 : o->c % 6;

	switch (o->kind) {
	case R_READ: case R_READV: case R_RECV: case R_RECVMSG:
	case R_RECVFROM: case R_PEEK: case R_WAITALL:
		return take(a, e, o->kind, size_of(o), o->c, pass);
	case R_POLL: case R_PPOLL: case R_SELECT: case R_EPOLL:
		return op_wait(a, e, o->kind - R_POLL, POLLIN, ms);
	case R_DUPSWAP: return op_dup(a, e);
	case R_MOVE: return op_move(a, e, o->b);
	case R_BADF: return op_badf(a, o->b, o->c);
	case R_NONBLOCK: return op_nonblock(a, e, o->b);
	case R_SOCKOPT: return op_sockopt(e, SO_RCVBUF, o->b);
	case R_YIELD: return op_yield(a, o->b);
	case R_SLEEP: return pass >= FAST_PASS ? 0 : op_sleep(o->b, o->c);
	default: return op_inval(a, e, o->c);
	}
}

static bool trace; /* WEFT_FUZZ_VERBOSE=2: every outcome */

/* Notes an outcome; a deterministic op gives the same one every pass. */
static void note(struct actor *a, int i, int c)
{
	struct result *res = a->w->res;

	if (trace)
		fprintf(stderr, "  %s actor %d op %d: %d\n",
			a->w->woven ? "woven" : "plain", a->id, i, c);
	if (c == SKIP || res->outset[a->id][i])
		return;
	res->out[a->id][i] = c;
	res->outset[a->id][i] = true;
}

static void *actor_main(void *arg)
{
	struct actor *a = arg;
	const struct actdef *ad = a->def;

	if (!ad->reader) {
		for (int i = 0; i < ad->nops; i++) {
			atomic_store(&a->at, i);
			note(a, i, writer_op(a, &ad->ops[i]));
		}
		writer_finish(a);
		atomic_store(&a->at, -1);
		return NULL;
	}
	struct end *e = &a->end[0];
	struct dirres *dr = &a->w->res->dir[e->dir];
	static const struct op drain = { R_READ, 0, 0x80 | 64, 12 };
	for (int pass = 0;; pass++) {
		for (int i = 0; i < ad->nops; i++) {
			atomic_store(&a->at, pass * 100 + i);
			note(a, i, reader_op(a, &ad->ops[i], pass));
		}
		/* Every pass reads at least once, so the reader drains. */
		atomic_store(&a->at, pass * 100 + 99);
		reader_op(a, &drain, pass);
		if (dr->eof && atomic_load(&a->w->wdone[e->dir]))
			break;
		if (dr->eof)
			nap_us(200); /* the writer is still busy */
	}
	atomic_store(&a->at, -1);
	return NULL;
}

/* ==== Running a program, comparing runs ================================= */

static int listener = -1; /* a TCP listener on 127.0.0.1, kept */
static struct sockaddr_in listen_addr;
static _Atomic int64_t deadline_ns; /* the watchdog's; 0: no run */
static struct world *_Atomic watched;
static int fd_baseline = -1;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const struct prog *pg, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "weft fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nthe program:\n");
	if (pg)
		dump_prog(pg);
	abort();
}

/* Makes a connected TCP pair on the loopback. */
static void tcp_pair(const struct prog *pg, int s[2])
{
	int one = 1;

	s[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s[0] < 0 || connect(s[0], (struct sockaddr *)&listen_addr,
				sizeof listen_addr) < 0)
		die(pg, "tcp connect: %s", strerror(errno));
	s[1] = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	if (s[1] < 0)
		die(pg, "tcp accept: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		setsockopt(s[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Makes the channels and gives each actor its own fds for its ends. */
static void setup(struct world *w)
{
	const struct prog *pg = w->pg;
	int pair[MAXCHAN][2];

	for (int c = 0; c < pg->nchan; c++) {
		int r = 0;
		switch (pg->chan_kind[c]) {
		case PIPE: r = pipe2(pair[c], O_CLOEXEC); break;
		case USTREAM:
			r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				       pair[c]);
			break;
		case UDGRAM:
			r = socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0,
				       pair[c]);
			break;
		default: tcp_pair(pg, pair[c]); break;
		}
		if (r < 0)
			die(pg, "making channel %d: %s", c, strerror(errno));
	}
	for (int i = 0; i < pg->nact; i++) {
		struct actor *a = &w->act[i];
		a->w = w;
		a->id = i;
		a->def = &pg->act[i];
		a->nends = a->def->ndirs;
		a->buf = malloc(BUFSZ);
		if (a->buf == NULL)
			die(pg, "out of memory");
		for (int k = 0; k < a->nends; k++) {
			const struct dirdef *d = &pg->dir[a->def->dirs[k]];
			/* A pipe is written at [1]; a pair's direction at the
			 * side it names and read at the other. */
			int wfd = d->kind == PIPE ? pair[d->chan][1]
						  : pair[d->chan][d->side];
			int rfd = d->kind == PIPE ? pair[d->chan][0]
						  : pair[d->chan][!d->side];
			struct end *e = &a->end[k];
			e->dir = a->def->dirs[k];
			e->fd = fcntl(a->def->reader ? rfd : wfd,
				      F_DUPFD_CLOEXEC, 0);
			e->spare = a->def->reader ? -1 :
				   fcntl(wfd, F_DUPFD_CLOEXEC, 0);
			if (e->fd < 0 || (!a->def->reader && e->spare < 0))
				die(pg, "dup: %s", strerror(errno));
		}
	}
	for (int c = 0; c < pg->nchan; c++) {
		close(pair[c][0]);
		close(pair[c][1]);
	}
}

/* Closes every fd the actors still hold; TCP ones with a reset, so that
 * no TIME_WAIT piles up over millions of runs. */
static void teardown(struct world *w)
{
	static const struct linger hard = { 1, 0 };

	for (int i = 0; i < w->pg->nact; i++) {
		struct actor *a = &w->act[i];
		for (int k = 0; k < a->nends; k++) {
			struct end *e = &a->end[k];
			bool tcp = w->pg->dir[e->dir].kind == TCP;
			int fds[2] = { e->dead ? -1 : e->fd, e->spare };
			for (int j = 0; j < 2; j++) {
				if (fds[j] < 0)
					continue;
				if (tcp)
					setsockopt(fds[j], SOL_SOCKET,
						   SO_LINGER, &hard,
						   sizeof hard);
				close(fds[j]);
			}
		}
		free(a->buf);
	}
}

static void run(const struct prog *pg, struct result *res, bool woven)
{
	static struct world w;

	memset(&w, 0, sizeof w);
	memset(res, 0, sizeof *res);
	w.pg = pg;
	w.res = res;
	w.woven = woven;
	setup(&w);
	atomic_store(&watched, &w);
	atomic_store(&deadline_ns, mono_ns() + WATCHDOG_SECONDS * 1000000000LL);
	for (int i = 0; i < pg->nact; i++) {
		struct actor *a = &w.act[i];
		int err = 0;
		if (woven)
			err = (a->co = weft_spawn(actor_main, a, 0)) ? 0 : errno;
		else
			err = pthread_create(&a->tid, NULL, actor_main, a);
		if (err)
			die(pg, "cannot start actor %d: %s", i, strerror(err));
	}
	for (int i = 0; i < pg->nact; i++) {
		if (woven)
			weft_join(w.act[i].co, NULL);
		else
			pthread_join(w.act[i].tid, NULL);
	}
	atomic_store(&deadline_ns, 0);
	atomic_store(&watched, NULL);
	teardown(&w);
}

/* Aborts a run that takes far too long: a hang (a coroutine parked for
 * ever) that the plain run would not have. */
static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		nap_us(100000);
		int64_t d = atomic_load(&deadline_ns);
		struct world *w = atomic_load(&watched);
		if (d == 0 || w == NULL || mono_ns() < d)
			continue;
		fprintf(stderr, "weft fuzz: the %s run took more than %d s;"
			" where the actors are (pass*100+op, -1 done):",
			w->woven ? "woven" : "plain", WATCHDOG_SECONDS);
		for (int i = 0; i < w->pg->nact; i++)
			fprintf(stderr, " %d", atomic_load(&w->act[i].at));
		die(w->pg, "hang");
	}
	return NULL;
}

/* Counts the open fds; lists them on stderr if say. */
static int open_fds(bool say)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char path[300], to[300] = "";
		n++;
		snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
		if (say && readlink(path, to, sizeof to - 1) > 0)
			fprintf(stderr, "  fd %s: %s\n", de->d_name, to);
	}
	closedir(d);
	return n;
}

/* Checks one run against itself: readers got exactly what was written. */
static void check_run(const struct prog *pg, const struct result *r,
		      const char *how)
{
	for (int d = 0; d < pg->ndir; d++) {
		const struct dirres *dr = &r->dir[d];
		if (dr->bad[0])
			die(pg, "%s run, dir %d: %s", how, d, dr->bad);
		if (dr->got > dr->written || dr->rcount > dr->wcount)
			die(pg, "%s run, dir %d: read %llu bytes/%u datagrams,"
			    " %llu/%u written", how, d,
			    (unsigned long long)dr->got, dr->rcount,
			    (unsigned long long)dr->written, dr->wcount);
		for (unsigned j = 0; j < dr->rcount && j < MAXDG; j++)
			if (dr->rlen[j] > dr->wlen[j] ||
			    (dr->rlen[j] < dr->wlen[j] &&
			     dr->rlen[j] != dr->rask[j]))
				die(pg, "%s run, dir %d: datagram %u of %u"
				    " bytes read as %u (asked %u)", how, d, j,
				    dr->wlen[j], dr->rlen[j], dr->rask[j]);
		if (pg->dir[d].lossy)
			continue;
		if (!dr->eof || dr->got != dr->written ||
		    dr->rcount != dr->wcount)
			die(pg, "%s run, dir %d: read %llu bytes/%u datagrams%s,"
			    " %llu/%u written", how, d,
			    (unsigned long long)dr->got, dr->rcount,
			    dr->eof ? "" : " (no end seen)",
			    (unsigned long long)dr->written, dr->wcount);
	}
}

/* Checks the woven run against the plain one. */
static void compare(const struct prog *pg, const struct result *p,
		    const struct result *w)
{
	for (int d = 0; d < pg->ndir; d++) {
		const struct dirres *a = &p->dir[d], *b = &w->dir[d];
		if (pg->dir[d].lossy)
			continue;
		if (a->written != b->written || a->wcount != b->wcount)
			die(pg, "dir %d: plain wrote %llu bytes/%u datagrams,"
			    " woven %llu/%u", d,
			    (unsigned long long)a->written, a->wcount,
			    (unsigned long long)b->written, b->wcount);
		for (unsigned j = 0; j < a->wcount && j < MAXDG; j++)
			if (a->wlen[j] != b->wlen[j] ||
			    a->rlen[j] != b->rlen[j])
				die(pg, "dir %d: datagram %u: plain %u bytes"
				    " read as %u, woven %u read as %u", d, j,
				    a->wlen[j], a->rlen[j], b->wlen[j],
				    b->rlen[j]);
	}
	for (int i = 0; i < pg->nact; i++)
		for (int k = 0; k < pg->act[i].nops; k++) {
			if (!p->outset[i][k] || !w->outset[i][k] ||
			    p->out[i][k] == w->out[i][k])
				continue;
			const struct op *o = &pg->act[i].ops[k];
			die(pg, "actor %d op %d (%s): plain gave %d (%s),"
			    " woven %d (%s)", i, k,
			    pg->act[i].reader ? rop_name[o->kind]
					      : wop_name[o->kind],
			    p->out[i][k], strerror(p->out[i][k] % 1000),
			    w->out[i][k], strerror(w->out[i][k] % 1000));
		}
}

/* See libFuzzer: once, before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pthread_t tid;
	socklen_t len = sizeof listen_addr;

	(void)argc, (void)argv;
	signal(SIGPIPE, SIG_IGN);
	/* select ignores an fd beyond the kernel's fd table (a timeout,
	 * not EBADF) and the table only grows: grow it now, past every
	 * number the actors use, so that history cannot change a result. */
	if (dup2(2, 1023) == 1023)
		close(1023);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 20)) {
		too_many_n = rl.rlim_cur + 1;
		too_many = calloc(too_many_n, sizeof *too_many);
		for (nfds_t i = 0; too_many && i < too_many_n; i++)
			too_many[i].fd = -1;
	}
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	listen_addr.sin_family = AF_INET;
	listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listener < 0 ||
	    bind(listener, (struct sockaddr *)&listen_addr, len) < 0 ||
	    getsockname(listener, (struct sockaddr *)&listen_addr, &len) < 0 ||
	    listen(listener, 16) < 0)
		die(NULL, "tcp listener: %s", strerror(errno));
	if (pthread_create(&tid, NULL, watchdog, NULL) != 0)
		die(NULL, "cannot start the watchdog");
	pthread_detach(tid);
	return 0;
}

/* See libFuzzer: runs the program data describes plain, then woven, and
 * compares.  Aborts with a message on any difference. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct prog pg;
	static struct result plain, woven;

	if (listener < 0)
		LLVMFuzzerInitialize(NULL, NULL);
	decode(data, size, &pg);
	const char *verbose = getenv("WEFT_FUZZ_VERBOSE");
	trace = verbose && strcmp(verbose, "2") == 0;
	if (verbose) {
		fprintf(stderr, "weft fuzz: %zu bytes:\n", size);
		dump_prog(&pg);
	}
	run(&pg, &plain, false);
	check_run(&pg, &plain, "plain");
	run(&pg, &woven, true);
	check_run(&pg, &woven, "woven");
	compare(&pg, &plain, &woven);

	struct weft__sched *s = weft__current_sched();
	if (s != NULL && s->live != 1)
		die(&pg, "%lu coroutines left after the woven run", s->live - 1);
	int fds = open_fds(false);
	if (fd_baseline < 0)
		fd_baseline = fds;
	else if (fds != fd_baseline && open_fds(true))
		die(&pg, "%d fds open after this input, %d after the first",
		    fds, fd_baseline);
	return 0;
}
