/* test_badinput_io.c - bad input to the fd and I/O wrappers: weft gives
 * what libc gives, with the same errno, and never crashes.
 *
 * Every case feeds one wrapped call something wrong (an fd of -1, a
 * closed one, NULL or unmapped buffers, counts and lengths out of range,
 * junk flags, bad socket addresses and lengths) and notes what the call
 * gave, then what it left behind: what is still to be read from the
 * channel, or what arrived at its far end, and what landed in the
 * buffers, so that a bad call that ate or corrupted data shows too.
 *
 * Cases come in tables, one per family of calls:
 *  - read and write calls: rows (what is fed) crossed with calls and
 *    with kinds of channel (pipe, AF_UNIX stream and datagram pairs, TCP
 *    and UDP over 127.0.0.1, eventfd, pty); before the bad call the
 *    channel has had a good one, so that weft's state for the fd (a read
 *    that came back short, a pty without RWF_NOWAIT) is what a program
 *    would have there;
 *  - sockets, fds, control calls, sendfile and splice: one line a case;
 *  - parking: a call with a bad argument on an fd that is not ready yet,
 *    so that a coroutine parks before the kernel sees the argument; a
 *    peer makes the fd ready (writes, drains, connects) a moment later.
 * Each table runs in a forked child in four ways: plain (no weft at all,
 * every wrapper passes through), woven (in a coroutine with a second one
 * alive, so the wrappers take their parking path), alone (the only
 * coroutine, where weft lets calls block for real) and outside (a real
 * thread without a scheduler while weft runs on the main thread).  Each
 * of the last three is compared with the plain run, step by step.
 *
 * The fortified __read_chk, __recv_chk and __recvfrom_chk with a buffer
 * smaller than the count abort in libc: how the child ended, and what it
 * said, is compared.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "core.h"
#include "fd.h"
#include "io.h"
#include "testlib.h"

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *alen);

/* AddressSanitizer's interceptors, which the wrappers call as "the real
 * function" in the sanitizer build, dereference some pointers themselves
 * before the call (recvfrom's and accept's address length): cases that
 * feed those a bad pointer run in the plain build only. */
#ifdef __SANITIZE_ADDRESS__
#define ASAN 1
#else
#define ASAN 0
#endif

#define KERN ((void *)0xffff888000000000UL) /* an address in the kernel */
#ifndef MSG_CMSG_COMPAT
#define MSG_CMSG_COMPAT ((int)0x80000000u) /* the kernel's; not for users */
#endif
#define DELAY (50 * MS) /* how long a peer keeps a parked call waiting */
#define CAP 16384       /* steps a run may note */

static const char data16[] = "weftdatasecondly";

/* Volatile, so that the compiler does not see the bad arguments coming. */
static void *volatile nil;
static volatile int minus1 = -1;
/* signalfd's mask is declared nonnull: called through this, a NULL one is
 * not undefined behaviour. */
static int (*volatile signalfd_np)(int, const sigset_t *, int) = signalfd;

/* ==== Ways to run ======================================================= */

enum mode { PLAIN, WOVEN, ALONE, THREAD, NMODES };

static const char *const mode_name[NMODES] = {
	"plain", "woven", "alone", "outside a coroutine",
};

struct record {
	int n;
	struct tl_rec r[CAP];
};

/* Everything a case may feed or use.  The memory is nine pages: four
 * read-write ones, each followed by a PROT_NONE one (so that an object
 * at a page's end runs into unreadable memory), and a read-only page;
 * "unmapped" is a low address where nothing is ever mapped. */
struct env {
	int mode, family;
	struct record *rc;
	int id; /* the case running: its notes carry it as their line */
	long pg;
	char *rw[4], *none, *ro, *gone;
	char *ok, *ok2, *part; /* in rw[1]: data buffers; part: 8 bytes */
	struct sockaddr_storage *addr;
	socklen_t *alen;
	struct timespec *ts;
	struct timeval *tv;
	int *one;
	int *fds;       /* where pipe and socketpair may write fd numbers */
	off_t *off;
	struct iovec *iov, *iov_edge;  /* iov_edge[1] is unreadable */
	struct msghdr *msg, *ctl;
	struct mmsghdr *vec, *vec_edge; /* vec[2], vec_edge[1] unreadable */
	struct iovec *ro_iov;
	struct msghdr *ro_msg;
	struct mmsghdr *ro_vec;
	struct timespec *ro_ts;
	int *ro_int;
	socklen_t *ro_len;
	off_t *ro_off;
	int file;       /* an unlinked regular file of 64 bytes */
	int dir;        /* a directory */
	int high;       /* the highest fd that can be opened */
	int tcp_l;      /* a TCP listener, and its address */
	struct sockaddr_in tcp_at, refused; /* refused: nobody listens */
	int kept[32], nkept; /* fds the case made: closed after it */
	int watch;      /* a listener the case used: is a connection left? */
	int drain;      /* the far end of what the case wrote to */
	void (*body)(struct env *);
};

/* Whether the calling context is what e's mode says it is. */
static void check_mode(struct env *e)
{
	struct weft__co *co = weft__hooked();

	switch (e->mode) {
	case PLAIN:
	case THREAD:
		ck_assert_ptr_null(co);
		break;
	case ALONE:
		ck_assert(co != NULL && weft__alone(co));
		break;
	case WOVEN: {
		/* Not alone: a call on a blocking pipe may park. */
		struct weft__io io;
		int p[2];
		ck_assert(co != NULL && !weft__alone(co));
		ck_assert_int_eq(pipe(p), 0);
		ck_assert(weft__io_begin(&io, p[0], WEFT_READ, "test", false));
		close(p[0]);
		close(p[1]);
		break;
	}
	}
}

static void *body_main(void *arg)
{
	struct env *e = arg;

	check_mode(e);
	e->body(e);
	return NULL;
}

/* Runs body(e) the way e->mode says. */
static void in_mode(struct env *e, void (*body)(struct env *))
{
	pthread_t t;
	weft_co *co;

	e->body = body;
	switch (e->mode) {
	case PLAIN:
		body_main(e);
		break;
	case WOVEN: /* the root coroutine waits in weft_join meanwhile */
		co = weft_spawn(body_main, e, 0);
		ck_assert_ptr_nonnull(co);
		ck_assert_int_eq(weft_join(co, NULL), 0);
		break;
	case ALONE:
		(void)weft_self();
		body_main(e);
		break;
	case THREAD:
		(void)weft_self();
		ck_assert_int_eq(pthread_create(&t, NULL, body_main, e), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		break;
	}
}

/* ==== Notes ============================================================= */

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h;
}

/* Notes a step of the running case. */
static void note(struct env *e, long ret, int err, const void *data)
{
	TL_NOTE_AT(e->rc, e->id, ret, err, data);
}

/* Notes what is left to read from fd without waiting: the count, its
 * first four bytes and a hash of all.  expect: bytes known to be on their
 * way (TCP and ptys hand them over a moment after they were written). */
static void note_left(struct env *e, int fd, size_t expect)
{
	unsigned char buf[4096], sum[8] = { 0 };
	uint32_t h = 2166136261u;
	size_t total = 0;
	int saved = errno;

	tl_set_nonblocking(fd, true);
	for (int idle = 0; idle < 2000;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n > 0) {
			for (ssize_t i = 0; i < n && total + i < 4; i++)
				sum[total + i] = buf[i];
			h = fnv(h, buf, (size_t)n);
			total += (size_t)n;
		} else if (n == 0 || total >= expect) {
			break;
		} else {
			tl_raw_sleep_ms(1);
			idle++;
		}
	}
	tl_set_nonblocking(fd, false);
	memcpy(sum + 4, &h, 4);
	note(e, (long)total, 0, sum);
	errno = saved;
}

/* Notes a hash of the data page (where reads land). */
static void note_landed(struct env *e)
{
	note(e, fnv(2166136261u, e->rw[1], (size_t)e->pg) & 0x7fffffff, 0,
	     NULL);
}

/* ==== Set-up ============================================================ */

/* Fills a with 127.0.0.1, port 0, and binds fd to it if fd >= 0. */
static void loopback(int fd, struct sockaddr_in *a)
{
	socklen_t len = sizeof *a;

	*a = (struct sockaddr_in){ .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0)
		return;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)a, sizeof *a), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)a, &len), 0);
}

static void env_init(struct env *e, int mode, struct record *rc)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 9 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct rlimit rl;

	ck_assert_ptr_ne(m, MAP_FAILED);
	memset(e, 0, sizeof *e);
	e->mode = mode;
	e->rc = rc;
	e->pg = pg;
	for (int i = 0; i < 4; i++) {
		e->rw[i] = m + 2 * i * pg;
		ck_assert_int_eq(mprotect(e->rw[i] + pg, pg, PROT_NONE), 0);
	}
	e->none = m + pg;
	e->ro = m + 8 * pg;
	/* Unmapped: a page unmapped here could be mapped again by the
	 * time it is used (a coroutine's stack); nothing is ever mapped
	 * below vm.mmap_min_addr (64 KiB). */
	e->gone = (char *)(uintptr_t)(4 * pg);

	/* rw[0]: the arguments' structures; rw[1]: data; rw[2], rw[3]:
	 * message vectors at their pages' ends. */
	e->addr = (void *)e->rw[0];
	e->alen = (void *)(e->rw[0] + 128);
	e->ts = (void *)(e->rw[0] + 144);
	e->tv = (void *)(e->rw[0] + 160);
	e->one = (void *)(e->rw[0] + 176);
	e->fds = (void *)(e->rw[0] + 2048);
	e->off = (void *)(e->rw[0] + 184);
	e->iov = (void *)(e->rw[0] + 256);
	e->msg = (void *)(e->rw[0] + 512);
	e->ctl = (void *)(e->rw[0] + 768); /* a control message, cmsg_len 0 */
	e->iov_edge = (void *)(e->rw[0] + pg - sizeof(struct iovec));
	e->ok = e->rw[1];
	e->ok2 = e->rw[1] + 2048;
	e->part = e->rw[1] + pg - 8;
	e->vec = (void *)(e->rw[2] + pg - 2 * sizeof(struct mmsghdr));
	e->vec_edge = (void *)(e->rw[3] + pg - sizeof(struct mmsghdr));
	*e->one = 1;

	memset(e->ro, 'R', (size_t)pg);
	e->ro_iov = (void *)(e->ro + 512);
	e->ro_iov[0] = (struct iovec){ e->ok, 16 };
	e->ro_iov[1] = (struct iovec){ e->ok2, 8 };
	e->ro_msg = (void *)(e->ro + 256);
	*e->ro_msg = (struct msghdr){ .msg_iov = e->ro_iov, .msg_iovlen = 1 };
	e->ro_vec = (void *)(e->ro + 1024);
	memset(e->ro_vec, 0, 2 * sizeof *e->ro_vec);
	for (int i = 0; i < 2; i++)
		e->ro_vec[i].msg_hdr = (struct msghdr){
			.msg_iov = &e->ro_iov[i], .msg_iovlen = 1 };
	e->ro_ts = (void *)(e->ro + 640);
	*e->ro_ts = (struct timespec){ 5, 0 };
	e->ro_int = (void *)(e->ro + 672);
	*e->ro_int = 1;
	e->ro_len = (void *)(e->ro + 680);
	*e->ro_len = 16;
	e->ro_off = (void *)(e->ro + 688);
	*e->ro_off = 0;
	ck_assert_int_eq(mprotect(e->ro, pg, PROT_READ), 0);

	char path[] = "/tmp/weft-badinput-XXXXXX";
	e->file = mkstemp(path);
	ck_assert_int_ge(e->file, 0);
	unlink(path);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(write(e->file, data16, 16), 16);
	e->dir = open("/tmp", O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(e->dir, 0);

	/* The highest fd there can be.  weft's table ends at 2^20, which
	 * is the kernel's default nr_open too: the largest fd the kernel
	 * gives is the table's last entry, and fd 2^20 itself can only be
	 * fed closed.  Raising the limit that far takes CAP_SYS_RESOURCE;
	 * without it the highest is the hard limit's. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < WEFT__FD_MAX) {
		struct rlimit up = { WEFT__FD_MAX, WEFT__FD_MAX };
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	rl.rlim_cur = rl.rlim_max < WEFT__FD_MAX ? rl.rlim_max : WEFT__FD_MAX;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	e->high = (int)(rl.rlim_cur - 1);

	e->tcp_l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(e->tcp_l, 0);
	loopback(e->tcp_l, &e->tcp_at);
	ck_assert_int_eq(listen(e->tcp_l, 64), 0);
	int r = socket(AF_INET, SOCK_STREAM, 0); /* bound, never listening */
	ck_assert_int_ge(r, 0);
	loopback(r, &e->refused);
	e->watch = e->drain = -1;
	signal(SIGPIPE, SIG_IGN);
}

/* Notes fd as made by the case, to close after it.  Returns fd. */
static int keep(struct env *e, int fd)
{
	if (fd >= 0 && e->nkept < (int)(sizeof e->kept / sizeof e->kept[0]))
		e->kept[e->nkept++] = fd;
	return fd;
}

/* Closes what the case made. */
static void release(struct env *e)
{
	int saved = errno;

	while (e->nkept > 0)
		close(e->kept[--e->nkept]);
	e->watch = e->drain = -1;
	errno = saved;
}

/* An fd's result: 0 for an fd (numbers differ with weft, which has fds
 * of its own), which is closed after the case, else the error. */
static long fdr(struct env *e, long r)
{
	if (r < 0)
		return r;
	keep(e, (int)r);
	return 0;
}

/* A number that was an open fd and is closed now; high, so that nothing
 * the case opens next takes it. */
static int closed(struct env *e)
{
	ck_assert_int_eq(dup2(e->dir, e->high - 2), e->high - 2);
	close(e->high - 2);
	return e->high - 2;
}

/* fd again, as the highest fd there can be. */
static int hi(struct env *e, int fd)
{
	ck_assert_int_eq(dup2(fd, e->high), e->high);
	return keep(e, e->high);
}

/* A new open file description of the regular file, read-only. */
static int fil(struct env *e)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d", e->file);
	return keep(e, open(path, O_RDONLY));
}

/* ==== Channels ========================================================== */

enum kind { K_PIPE, K_STREAM, K_DGRAM, K_TCP, K_UDP, K_EVENTFD, K_PTY,
	    K_LISTEN, NKINDS };

static const char *const kind_name[NKINDS] = {
	"pipe", "unix stream", "unix datagram", "TCP", "UDP", "eventfd",
	"pty", "TCP listener",
};

#define KB(k) (1u << (k))
#define K_FILES (KB(K_PIPE) | KB(K_STREAM) | KB(K_DGRAM) | KB(K_TCP) | \
		 KB(K_UDP) | KB(K_EVENTFD) | KB(K_PTY))
#define K_SOCKS (KB(K_STREAM) | KB(K_DGRAM) | KB(K_TCP) | KB(K_UDP))

/* What is written to w is read from r (one fd for an eventfd; a
 * listener's r, with its address, for K_LISTEN). */
struct chan {
	int kind, r, w;
	struct sockaddr_in at;
};

static bool datagrams(int kind)
{
	return kind == K_DGRAM || kind == K_UDP;
}

static void chan_open(struct env *e, struct chan *c, int kind)
{
	int fds[2];

	*c = (struct chan){ .kind = kind, .r = -1, .w = -1 };
	switch (kind) {
	case K_PIPE:
		ck_assert_int_eq(pipe(fds), 0);
		c->r = fds[0], c->w = fds[1];
		break;
	case K_STREAM:
	case K_DGRAM:
		ck_assert_int_eq(socketpair(AF_UNIX, kind == K_STREAM ?
					    SOCK_STREAM : SOCK_DGRAM, 0, fds),
				 0);
		c->r = fds[0], c->w = fds[1];
		break;
	case K_TCP:
		c->w = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_eq(connect(c->w, (struct sockaddr *)&e->tcp_at,
					 sizeof e->tcp_at), 0);
		c->r = accept(e->tcp_l, NULL, NULL);
		ck_assert_int_ge(c->r, 0);
		break;
	case K_UDP: {
		struct sockaddr_in a, b;
		c->r = socket(AF_INET, SOCK_DGRAM, 0);
		c->w = socket(AF_INET, SOCK_DGRAM, 0);
		loopback(c->r, &a);
		loopback(c->w, &b);
		ck_assert_int_eq(connect(c->r, (struct sockaddr *)&b,
					 sizeof b), 0);
		ck_assert_int_eq(connect(c->w, (struct sockaddr *)&a,
					 sizeof a), 0);
		break;
	}
	case K_EVENTFD:
		c->r = c->w = eventfd(0, 0);
		ck_assert_int_ge(c->r, 0);
		break;
	case K_PTY: { /* the program reads its terminal, raw */
		struct termios t;
		ck_assert_int_eq(openpty(&c->w, &c->r, NULL, NULL, NULL), 0);
		ck_assert_int_eq(tcgetattr(c->r, &t), 0);
		cfmakeraw(&t);
		ck_assert_int_eq(tcsetattr(c->r, TCSANOW, &t), 0);
		break;
	}
	case K_LISTEN:
		c->r = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(c->r, 0);
		loopback(c->r, &c->at);
		ck_assert_int_eq(listen(c->r, 8), 0);
		break;
	}
	keep(e, c->r);
	if (c->w != c->r)
		keep(e, c->w);
}

/* Writes n bytes of s at c->w: datagrams of 8, an eventfd's counter. */
static void chan_put(const struct chan *c, const char *s, size_t n)
{
	if (c->kind == K_EVENTFD) {
		uint64_t v = 0;
		memcpy(&v, s, n < 8 ? n : 8);
		ck_assert_int_eq(write(c->w, &v, 8), 8);
		return;
	}
	for (size_t at = 0; at < n;) {
		size_t k = datagrams(c->kind) && n - at > 8 ? 8 : n - at;
		ck_assert_int_eq(write(c->w, s + at, k), (ssize_t)k);
		at += k;
	}
}

/* Waits until n bytes (a datagram, for datagram kinds) can be read from
 * c->r: TCP and ptys hand them over a moment after the write. */
static void chan_settle(const struct chan *c, int n)
{
	int have = 0;

	if (c->kind != K_TCP && c->kind != K_PTY && c->kind != K_UDP)
		return;
	for (int i = 0; i < 2000; i++) {
		if (ioctl(c->r, FIONREAD, &have) == 0 && have >= n)
			return;
		tl_raw_sleep_ms(1);
	}
}

/* A good transfer first, as a program would have made: a read that comes
 * back short (weft then waits before its next read of the socket), a
 * write to a pty (which teaches weft that it lacks RWF_NOWAIT). */
static void chan_warm(const struct chan *c)
{
	char tmp[8];

	chan_put(c, "warm", 4);
	chan_settle(c, c->kind == K_EVENTFD ? 0 : 4);
	ck_assert_int_gt(read(c->r, tmp, sizeof tmp), 0);
}

/* Fills c so that a blocking write to c->w would wait.  Returns the bytes
 * that went in. */
static size_t chan_fill(const struct chan *c)
{
	static const char zeros[4096];
	size_t total = 0;
	ssize_t n;

	tl_set_nonblocking(c->w, true);
	for (size_t chunk = sizeof zeros; chunk > 0; chunk /= 8)
		while ((n = write(c->w, zeros, chunk)) > 0)
			total += (size_t)n;
	tl_set_nonblocking(c->w, false);
	return total;
}

/* ==== Read and write calls ============================================== */

enum call {
	C_READ, C_READV, C_READ_CHK, C_RECV, C_RECVFROM, C_RECVMSG,
	C_RECVMMSG, C_RECV_CHK, C_RECVFROM_CHK,
	C_WRITE, C_WRITEV, C_SEND, C_SENDTO, C_SENDMSG, C_SENDMMSG, NCALLS
};

static const char *const call_name[NCALLS] = {
	"read", "readv", "__read_chk", "recv", "recvfrom", "recvmsg",
	"recvmmsg", "__recv_chk", "__recvfrom_chk",
	"write", "writev", "send", "sendto", "sendmsg", "sendmmsg",
};

#define CB(c) (1u << (c))
#define R_ALL (CB(C_READ) | CB(C_READV) | CB(C_READ_CHK) | R_SOCK)
#define R_SOCK (CB(C_RECV) | CB(C_RECVFROM) | CB(C_RECVMSG) | \
		CB(C_RECVMMSG) | CB(C_RECV_CHK) | CB(C_RECVFROM_CHK))
#define R_VEC (CB(C_READV) | R_MSG)
#define R_MSG (CB(C_RECVMSG) | CB(C_RECVMMSG))
#define R_ADDR (CB(C_RECVFROM) | CB(C_RECVFROM_CHK))
#define W_ALL (CB(C_WRITE) | CB(C_WRITEV) | W_SOCK)
#define W_SOCK (CB(C_SEND) | CB(C_SENDTO) | W_MSG)
#define W_VEC (CB(C_WRITEV) | W_MSG)
#define W_MSG (CB(C_SENDMSG) | CB(C_SENDMMSG))
#define MMSG (CB(C_RECVMMSG) | CB(C_SENDMMSG))

/* What a row feeds: the fd, */
enum { FD_DEF, FD_NEG, FD_CLOSED, FD_HUGE, FD_TOP, FD_HIGH, FD_FILE, FD_DIR,
       FD_OTHER, FD_LISTEN, FD_UNCONN };
/* the buffer (the first iovec's base for vector calls), */
enum { B_OK, B_NULL, B_NONE, B_GONE, B_PART, B_RO, B_KERN };
/* the length (16 unless said), */
enum { L_DEF, L_ZERO, L_4, L_MAX, L_SMAX, L_SMAX1, L_2G };
/* the count: iovcnt, msg_iovlen, or vlen (1, 1, 2 unless said), */
enum { N_DEF, N_ZERO, N_NEG, N_TWO, N_BIG, N_MAX };
/* the iovec array, msghdr or mmsghdr vector, */
enum { M_DEF, M_NULL, M_NONE, M_GONE, M_RO, M_EDGE, M_OVER, M_NULL2,
       M_IOVNONE, M_NAMENONE, M_NAMENEG, M_NAMEBIG, M_NAMESHORT, M_CTLNONE,
       M_CTLHUGE, M_CTLJUNK, M_VEC2BAD };
/* and the address and its length, or recvmmsg's time-out. */
enum { A_DEF, A_OK, A_ADDRNONE, A_ALENNONE, A_ALENNULL, A_ALENNEG, A_ALENRO,
       A_ADDRNULL, A_LENNEG, A_LENBIG, A_LENSHORT, A_LENZERO,
       T_OK, T_NONE, T_GONE, T_RO, T_NEGNS, T_NEGS, T_BIGNS, T_HUGE };

struct row {
	const char *name;
	unsigned calls;  /* CB bits; 0: the whole family */
	unsigned kinds;  /* KB bits; 0: every kind the call takes */
	unsigned char fd, buf, len, cnt, msg, aux;
	int flags;
	bool noasan;
};

static const struct row read_rows[] = {
	/* fds */
	{ "fd -1", .fd = FD_NEG },
	{ "a closed fd", .fd = FD_CLOSED },
	{ "fd 1<<30", .fd = FD_HUGE },
	{ "fd 2^20, past weft's table (closed)", .fd = FD_TOP },
	{ "the highest fd there can be", .fd = FD_HIGH },
	{ "the highest fd, NULL buffer", .fd = FD_HIGH, .buf = B_NULL },
	{ "a regular file", .fd = FD_FILE },
	{ "a directory", .fd = FD_DIR },
	{ "a pipe's write end", .fd = FD_OTHER, .kinds = KB(K_PIPE) },
	{ "a listening socket", .fd = FD_LISTEN },
	{ "an unconnected socket", .fd = FD_UNCONN },
	/* buffers and lengths */
	{ "NULL buffer", .buf = B_NULL },
	{ "PROT_NONE buffer", .buf = B_NONE },
	{ "unmapped buffer", .buf = B_GONE },
	{ "buffer half unmapped", .buf = B_PART },
	{ "read-only buffer", .buf = B_RO },
	{ "kernel address", .buf = B_KERN },
	{ "length 0", .len = L_ZERO },
	{ "NULL buffer, length 0", .buf = B_NULL, .len = L_ZERO },
	{ "length 4", .len = L_4 },
	{ "length SIZE_MAX", .len = L_MAX },
	{ "length SSIZE_MAX", .len = L_SMAX },
	{ "length SSIZE_MAX+1", .len = L_SMAX1 },
	{ "length 2 GiB", .len = L_2G },
	{ "NULL buffer, length SIZE_MAX", .buf = B_NULL, .len = L_MAX },
	/* vectors */
	{ "count 0", R_VEC, .cnt = N_ZERO },
	{ "count -1", R_VEC, .cnt = N_NEG },
	{ "count IOV_MAX+1", R_VEC, .cnt = N_BIG },
	{ "count INT_MAX", R_VEC, .cnt = N_MAX },
	{ "NULL array", R_VEC, .msg = M_NULL },
	{ "PROT_NONE array", R_VEC, .msg = M_NONE },
	{ "unmapped array", R_VEC, .msg = M_GONE },
	{ "read-only array", R_VEC, .msg = M_RO },
	{ "array running into a PROT_NONE page", R_VEC, .msg = M_EDGE },
	{ "iovec lengths that overflow", R_VEC, .msg = M_OVER },
	{ "second iovec NULL", R_VEC, .msg = M_NULL2 },
	{ "iovec base PROT_NONE, count 2", R_VEC, .buf = B_NONE,
	  .cnt = N_TWO },
	/* message headers */
	{ "msg_iov PROT_NONE", R_MSG, .msg = M_IOVNONE },
	{ "msg_name PROT_NONE", R_MSG, .msg = M_NAMENONE },
	{ "msg_namelen -1", R_MSG, .msg = M_NAMENEG },
	{ "msg_namelen 1000", R_MSG, .msg = M_NAMEBIG },
	{ "msg_control PROT_NONE", R_MSG, .msg = M_CTLNONE },
	{ "msg_controllen SIZE_MAX", R_MSG, .msg = M_CTLHUGE },
	{ "second message's iovec PROT_NONE", CB(C_RECVMMSG),
	  .msg = M_VEC2BAD },
	/* addresses */
	{ "address and length", R_ADDR, .aux = A_OK },
	{ "address PROT_NONE", R_ADDR, .aux = A_ADDRNONE },
	{ "length pointer PROT_NONE", R_ADDR, .aux = A_ALENNONE,
	  .noasan = true },
	{ "address without a length pointer", R_ADDR, .aux = A_ALENNULL,
	  .noasan = true },
	{ "length -1", R_ADDR, .aux = A_ALENNEG },
	{ "length read-only", R_ADDR, .aux = A_ALENRO },
	{ "length without an address", R_ADDR, .aux = A_ADDRNULL },
	/* recvmmsg's time-out */
	{ "time-out 1 s", CB(C_RECVMMSG), .aux = T_OK },
	{ "time-out PROT_NONE", CB(C_RECVMMSG), .aux = T_NONE },
	{ "time-out unmapped", CB(C_RECVMMSG), .aux = T_GONE },
	{ "time-out read-only", CB(C_RECVMMSG), .aux = T_RO },
	{ "time-out -1 ns", CB(C_RECVMMSG), .aux = T_NEGNS },
	{ "time-out -1 s", CB(C_RECVMMSG), .aux = T_NEGS },
	{ "time-out 10^9 ns", CB(C_RECVMMSG), .aux = T_BIGNS },
	{ "time-out LONG_MAX s", CB(C_RECVMMSG), .aux = T_HUGE },
	/* flags */
	{ "flags 0xdeadbeef", R_SOCK, .flags = (int)0xdeadbeef },
	{ "unknown flag bits", R_SOCK, .flags = 0x00f00000 },
	{ "flags -1", R_SOCK, .flags = -1 },
	{ "MSG_OOB", R_SOCK, .flags = MSG_OOB },
	{ "MSG_ERRQUEUE", R_SOCK, .flags = MSG_ERRQUEUE },
	{ "MSG_CMSG_COMPAT", R_SOCK, .flags = MSG_CMSG_COMPAT },
	{ "MSG_PEEK|MSG_TRUNC, NULL buffer", R_SOCK, .buf = B_NULL,
	  .flags = MSG_PEEK | MSG_TRUNC },
	{ "MSG_TRUNC, NULL buffer, length 0", R_SOCK, .buf = B_NULL,
	  .len = L_ZERO, .flags = MSG_TRUNC },
	{ "MSG_WAITALL, buffer half unmapped", R_SOCK, .buf = B_PART,
	  .flags = MSG_WAITALL },
	{ "MSG_WAITALL, NULL buffer", R_SOCK, .buf = B_NULL,
	  .flags = MSG_WAITALL },
	{ "MSG_WAITALL, second iovec NULL", R_MSG, .msg = M_NULL2,
	  .flags = MSG_WAITALL },
};

static const struct row write_rows[] = {
	/* fds */
	{ "fd -1", .fd = FD_NEG },
	{ "a closed fd", .fd = FD_CLOSED },
	{ "fd 1<<30", .fd = FD_HUGE },
	{ "fd 2^20, past weft's table (closed)", .fd = FD_TOP },
	{ "the highest fd there can be", .fd = FD_HIGH },
	{ "the highest fd, NULL buffer", .fd = FD_HIGH, .buf = B_NULL },
	{ "a read-only file", .fd = FD_FILE },
	{ "a directory", .fd = FD_DIR },
	{ "a pipe's read end", .fd = FD_OTHER, .kinds = KB(K_PIPE) },
	{ "a listening socket", .fd = FD_LISTEN },
	{ "an unconnected socket", .fd = FD_UNCONN },
	/* buffers and lengths */
	{ "NULL buffer", .buf = B_NULL },
	{ "PROT_NONE buffer", .buf = B_NONE },
	{ "unmapped buffer", .buf = B_GONE },
	{ "buffer half unmapped", .buf = B_PART },
	{ "read-only buffer", .buf = B_RO },
	{ "kernel address", .buf = B_KERN },
	{ "length 0", .len = L_ZERO },
	{ "NULL buffer, length 0", .buf = B_NULL, .len = L_ZERO },
	{ "length 4", .len = L_4 },
	{ "length SIZE_MAX", .len = L_MAX },
	{ "length SSIZE_MAX", .len = L_SMAX },
	{ "length SSIZE_MAX+1", .len = L_SMAX1 },
	{ "length 2 GiB, a page mapped", .len = L_2G },
	{ "NULL buffer, length SIZE_MAX", .buf = B_NULL, .len = L_MAX },
	/* vectors */
	{ "count 0", W_VEC, .cnt = N_ZERO },
	{ "count -1", W_VEC, .cnt = N_NEG },
	{ "count IOV_MAX+1", W_VEC, .cnt = N_BIG },
	{ "count INT_MAX", W_VEC, .cnt = N_MAX },
	{ "NULL array", W_VEC, .msg = M_NULL },
	{ "PROT_NONE array", W_VEC, .msg = M_NONE },
	{ "unmapped array", W_VEC, .msg = M_GONE },
	{ "read-only array", W_VEC, .msg = M_RO },
	{ "array running into a PROT_NONE page", W_VEC, .msg = M_EDGE },
	{ "iovec lengths that overflow", W_VEC, .msg = M_OVER },
	{ "second iovec NULL", W_VEC, .msg = M_NULL2 },
	{ "iovec base PROT_NONE, count 2", W_VEC, .buf = B_NONE,
	  .cnt = N_TWO },
	/* message headers */
	{ "msg_iov PROT_NONE", W_MSG, .msg = M_IOVNONE },
	{ "msg_name PROT_NONE", W_MSG, .msg = M_NAMENONE },
	{ "msg_namelen -1", W_MSG, .msg = M_NAMENEG },
	{ "msg_namelen 1000", W_MSG, .msg = M_NAMEBIG },
	{ "msg_namelen 1", W_MSG, .msg = M_NAMESHORT },
	{ "msg_control PROT_NONE", W_MSG, .msg = M_CTLNONE },
	{ "msg_controllen SIZE_MAX", W_MSG, .msg = M_CTLHUGE },
	{ "control message of length 0", W_MSG, .msg = M_CTLJUNK },
	{ "second message's iovec PROT_NONE", CB(C_SENDMMSG),
	  .msg = M_VEC2BAD },
	/* addresses */
	{ "address PROT_NONE", CB(C_SENDTO), .aux = A_ADDRNONE },
	{ "NULL address, length 16", CB(C_SENDTO), .aux = A_ADDRNULL },
	{ "address length -1", CB(C_SENDTO), .aux = A_LENNEG },
	{ "address length 1000", CB(C_SENDTO), .aux = A_LENBIG },
	{ "address length 1", CB(C_SENDTO), .aux = A_LENSHORT },
	{ "address length 0", CB(C_SENDTO), .aux = A_LENZERO },
	/* flags */
	{ "flags 0xdeadbeef", W_SOCK, .flags = (int)0xdeadbeef },
	{ "unknown flag bits", W_SOCK, .flags = 0x00f00000 },
	{ "MSG_OOB", W_SOCK, KB(K_STREAM) | KB(K_DGRAM) | KB(K_UDP),
	  .flags = MSG_OOB },
	{ "MSG_CMSG_COMPAT", W_SOCK, .flags = MSG_CMSG_COMPAT },
	{ "MSG_FASTOPEN", W_SOCK, .flags = MSG_FASTOPEN },
	{ "MSG_ZEROCOPY without SO_ZEROCOPY", W_SOCK, .flags = MSG_ZEROCOPY },
	{ "MSG_ERRQUEUE", W_SOCK, .flags = MSG_ERRQUEUE },
	{ "MSG_NOSIGNAL, buffer half unmapped", W_SOCK, .buf = B_PART,
	  .flags = MSG_NOSIGNAL },
};

static unsigned call_kinds(int call)
{
	switch (call) {
	case C_READ:
	case C_READV:
	case C_READ_CHK:
	case C_WRITE:
	case C_WRITEV:
		return K_FILES;
	default:
		return K_SOCKS;
	}
}

/* The arguments a row makes for a call. */
struct args {
	int fd, cnt, flags;
	unsigned vlen;
	void *buf;
	size_t len;
	struct iovec *iov;
	struct msghdr *msg;
	struct mmsghdr *vec;
	struct sockaddr *addr;
	socklen_t *alen;
	socklen_t slen;
	struct timespec *ts;
};

static int pick_fd(struct env *e, const struct chan *c, int sel, bool rd)
{
	int end = rd ? c->r : c->w;

	switch (sel) {
	case FD_NEG:
		return -1;
	case FD_CLOSED:
		return closed(e);
	case FD_HUGE:
		return 1 << 30;
	case FD_TOP:
		return WEFT__FD_MAX;
	case FD_HIGH:
		return hi(e, end);
	case FD_FILE:
		return fil(e);
	case FD_DIR:
		return e->dir;
	case FD_OTHER:
		return rd ? c->w : c->r;
	case FD_LISTEN:
		return e->tcp_l;
	case FD_UNCONN:
		return keep(e, socket(AF_INET, SOCK_STREAM, 0));
	default:
		return end;
	}
}

static void *pick_buf(struct env *e, int sel)
{
	switch (sel) {
	case B_NULL:
		return NULL;
	case B_NONE:
		return e->none;
	case B_GONE:
		return e->gone;
	case B_PART:
		return e->part;
	case B_RO:
		return e->ro;
	case B_KERN:
		return KERN;
	default:
		return e->ok;
	}
}

static size_t pick_len(int sel)
{
	switch (sel) {
	case L_ZERO:
		return 0;
	case L_4:
		return 4;
	case L_MAX:
		return SIZE_MAX;
	case L_SMAX:
		return SSIZE_MAX;
	case L_SMAX1:
		return (size_t)SSIZE_MAX + 1;
	case L_2G:
		return (size_t)1 << 31;
	default:
		return 16;
	}
}

static int pick_cnt(int sel, int def)
{
	switch (sel) {
	case N_ZERO:
		return 0;
	case N_NEG:
		return -1;
	case N_TWO:
		return 2;
	case N_BIG:
		return IOV_MAX + 1;
	case N_MAX:
		return INT_MAX;
	default:
		return def;
	}
}

/* Builds the arguments row w makes for call on channel c. */
static void build(struct env *e, const struct chan *c, int call,
		  const struct row *w, struct args *a)
{
	bool rd = call < C_WRITE;
	struct iovec *iov = e->iov;
	int niov = 1;

	*a = (struct args){ .fd = pick_fd(e, c, w->fd, rd),
			    .buf = pick_buf(e, w->buf),
			    .len = pick_len(w->len), .flags = w->flags };

	/* The iovec array. */
	iov[0] = (struct iovec){ a->buf, a->len };
	iov[1] = (struct iovec){ e->ok2, 8 };
	iov[2] = (struct iovec){ e->ok2 + 8, 8 }; /* the second message's */
	switch (w->msg) {
	case M_NULL:
		iov = NULL;
		break;
	case M_NONE:
		iov = (void *)e->none;
		break;
	case M_GONE:
		iov = (void *)e->gone;
		break;
	case M_RO:
		iov = e->ro_iov;
		break;
	case M_EDGE: /* for message vectors, the vector runs over */
		if (call == C_RECVMMSG || call == C_SENDMMSG)
			break;
		iov = e->iov_edge;
		iov[0] = (struct iovec){ a->buf, a->len };
		niov = 2;
		break;
	case M_OVER:
		iov[0].iov_len = SSIZE_MAX;
		iov[1].iov_len = SSIZE_MAX;
		niov = 2;
		break;
	case M_NULL2:
		iov[0].iov_len = 8;
		iov[1] = (struct iovec){ NULL, 8 };
		niov = 2;
		break;
	case M_VEC2BAD:
		e->iov[2].iov_base = e->none;
		break;
	}
	a->iov = iov;
	a->cnt = pick_cnt(w->cnt, niov);

	/* The message header: the first message of a vector. */
	struct msghdr *m = e->msg;
	*m = (struct msghdr){ .msg_iov = iov,
			      .msg_iovlen = (size_t)(long)(call == C_RECVMMSG ||
							   call == C_SENDMMSG ?
							   niov : a->cnt) };
	memset(e->addr, 0, sizeof *e->addr);
	struct sockaddr_in *sin = (void *)e->addr;
	loopback(-1, sin);
	sin->sin_port = e->tcp_at.sin_port;
	memset(e->ctl, 0, sizeof(struct cmsghdr));
	switch (w->msg) {
	case M_NULL:
	case M_NONE:
	case M_GONE:
	case M_RO:
		m = w->msg == M_NULL ? NULL :
		    w->msg == M_NONE ? (void *)e->none :
		    w->msg == M_GONE ? (void *)e->gone : e->ro_msg;
		break;
	case M_IOVNONE:
		m->msg_iov = (void *)e->none;
		break;
	case M_NAMENONE:
		m->msg_name = e->none;
		m->msg_namelen = 16;
		break;
	case M_NAMENEG:
	case M_NAMEBIG:
	case M_NAMESHORT:
		m->msg_name = e->addr;
		m->msg_namelen = w->msg == M_NAMENEG ? (socklen_t)-1 :
				 w->msg == M_NAMEBIG ? 1000 : 1;
		break;
	case M_CTLNONE:
		m->msg_control = e->none;
		m->msg_controllen = 64;
		break;
	case M_CTLHUGE:
		m->msg_control = e->ctl;
		m->msg_controllen = SIZE_MAX;
		break;
	case M_CTLJUNK:
		m->msg_control = e->ctl;
		m->msg_controllen = sizeof(struct cmsghdr);
		break;
	}
	a->msg = m;

	/* The message vector: this header, then one of 8 bytes. */
	struct mmsghdr *v = w->msg == M_EDGE ? e->vec_edge : e->vec;
	memset(v, 0, (w->msg == M_EDGE ? 1 : 2) * sizeof *v);
	if (m != NULL && m == e->msg)
		v[0].msg_hdr = *m;
	if (w->msg != M_EDGE)
		v[1].msg_hdr = (struct msghdr){ .msg_iov = &e->iov[2],
						.msg_iovlen = 1 };
	a->vlen = (unsigned)pick_cnt(w->cnt, 2);
	if (w->cnt == N_BIG)
		a->vlen = UIO_MAXIOV + 1;
	switch (w->msg) {
	case M_NULL:
		v = NULL;
		break;
	case M_NONE:
		v = (void *)e->none;
		break;
	case M_GONE:
		v = (void *)e->gone;
		break;
	case M_RO:
		v = e->ro_vec;
		break;
	}
	a->vec = v;

	/* The address, or the time-out. */
	*e->alen = sizeof *e->addr;
	switch (w->aux) {
	case A_OK:
		a->addr = (void *)e->addr, a->alen = e->alen;
		break;
	case A_ADDRNONE:
		a->addr = (void *)e->none, a->alen = e->alen, a->slen = 16;
		*e->alen = 16;
		break;
	case A_ALENNONE:
		a->addr = (void *)e->addr, a->alen = (void *)e->none;
		break;
	case A_ALENNULL:
		a->addr = (void *)e->addr;
		break;
	case A_ALENNEG:
		a->addr = (void *)e->addr, a->alen = e->alen;
		*e->alen = (socklen_t)-1;
		break;
	case A_ALENRO:
		a->addr = (void *)e->addr, a->alen = e->ro_len;
		break;
	case A_ADDRNULL:
		a->alen = e->alen, a->slen = 16;
		break;
	case A_LENNEG:
	case A_LENBIG:
	case A_LENSHORT:
	case A_LENZERO:
		a->addr = (void *)e->addr;
		a->slen = w->aux == A_LENNEG ? (socklen_t)-1 :
			  w->aux == A_LENBIG ? 1000 :
			  w->aux == A_LENSHORT ? 1 : 0;
		break;
	case T_OK:
	case T_NEGNS:
	case T_NEGS:
	case T_BIGNS:
	case T_HUGE:
		*e->ts = w->aux == T_OK ? (struct timespec){ 1, 0 } :
			 w->aux == T_NEGNS ? (struct timespec){ 0, -1 } :
			 w->aux == T_NEGS ? (struct timespec){ -1, 0 } :
			 w->aux == T_BIGNS ?
				(struct timespec){ 0, 1000000000 } :
			 (struct timespec){ LONG_MAX, 0 };
		a->ts = e->ts;
		break;
	case T_NONE:
		a->ts = (void *)e->none;
		break;
	case T_GONE:
		a->ts = (void *)e->gone;
		break;
	case T_RO:
		a->ts = e->ro_ts;
		break;
	}
}

/* Makes call with a.  recvmmsg gets MSG_WAITFORONE, so that it never
 * waits for a message that does not come. */
static long call_io(int call, const struct args *a)
{
	switch (call) {
	case C_READ:
		return read(a->fd, a->buf, a->len);
	case C_READV:
		return readv(a->fd, a->iov, a->cnt);
	case C_READ_CHK:
		return __read_chk(a->fd, a->buf, a->len, a->len);
	case C_RECV:
		return recv(a->fd, a->buf, a->len, a->flags);
	case C_RECVFROM:
		return recvfrom(a->fd, a->buf, a->len, a->flags, a->addr,
				a->alen);
	case C_RECVMSG:
		return recvmsg(a->fd, a->msg, a->flags);
	case C_RECVMMSG:
		return recvmmsg(a->fd, a->vec, a->vlen,
				a->flags | MSG_WAITFORONE, a->ts);
	case C_RECV_CHK:
		return __recv_chk(a->fd, a->buf, a->len, a->len, a->flags);
	case C_RECVFROM_CHK:
		return __recvfrom_chk(a->fd, a->buf, a->len, a->len, a->flags,
				      a->addr, a->alen);
	case C_WRITE:
		return write(a->fd, a->buf, a->len);
	case C_WRITEV:
		return writev(a->fd, a->iov, a->cnt);
	case C_SEND:
		return send(a->fd, a->buf, a->len, a->flags);
	case C_SENDTO:
		return sendto(a->fd, a->buf, a->len, a->flags, a->addr,
			      a->slen);
	case C_SENDMSG:
		return sendmsg(a->fd, a->msg, a->flags);
	case C_SENDMMSG:
		return sendmmsg(a->fd, a->vec, a->vlen, a->flags);
	}
	return LONG_MIN;
}

/* Notes what the kernel wrote back into the arguments (lengths, flags:
 * never addresses or ports, which differ from run to run); returns the
 * bytes a write moved. */
static size_t note_back(struct env *e, int call, const struct args *a,
			long r)
{
	size_t moved = r > 0 ? (size_t)r : 0;

	if ((call == C_RECVFROM || call == C_RECVFROM_CHK) &&
	    a->alen == e->alen)
		note(e, (long)*e->alen, 0, NULL);
	if (call == C_RECVMSG && a->msg == e->msg) {
		note(e, e->msg->msg_flags, 0, NULL);
		note(e, (long)e->msg->msg_namelen, 0, NULL);
		note(e, (long)e->msg->msg_controllen, 0, NULL);
	}
	if ((call == C_RECVMMSG || call == C_SENDMMSG) &&
	    (a->vec == e->vec || a->vec == e->vec_edge)) {
		moved = 0;
		for (long i = 0; i < r && i < (a->vec == e->vec ? 2 : 1); i++) {
			note(e, (long)a->vec[i].msg_len, 0, NULL);
			moved += a->vec[i].msg_len;
		}
	}
	return moved;
}

/* Runs row w of the family's table with call on a fresh channel of kind;
 * id names it (call, row, kind). */
static void run_io_case(struct env *e, int call, const struct row *w,
			int id, int kind)
{
	bool rd = call < C_WRITE;
	struct chan c;
	struct args a;

	e->id = id;
	chan_open(e, &c, kind);
	chan_warm(&c);
	for (long i = 0; i < e->pg; i++)
		e->rw[1][i] = rd ? 0 : (char)('a' + i % 26);
	if (rd) {
		chan_put(&c, data16, 16);
		chan_settle(&c, datagrams(kind) ? 8 : 16);
	}
	build(e, &c, call, w, &a);
	errno = 0;
	long r = call_io(call, &a);
	note(e, r, errno, NULL);
	size_t moved = note_back(e, call, &a, r);
	if (rd)
		note_landed(e);
	/* Only TCP and ptys hand bytes over later; out-of-band ones are
	 * not read in line. */
	if (rd || (kind != K_TCP && kind != K_PTY) || (w->flags & MSG_OOB))
		moved = 0;
	note_left(e, c.r, moved);
	release(e);
}

/* The read or the write family: every row with every call it is for, on
 * every kind of channel (rows that feed no channel's fd on one). */
static void io_body(struct env *e)
{
	bool rd = e->family == 0;
	const struct row *rows = rd ? read_rows : write_rows;
	int nrows = rd ? (int)(sizeof read_rows / sizeof read_rows[0]) :
			 (int)(sizeof write_rows / sizeof write_rows[0]);

	for (int call = rd ? 0 : C_WRITE; call < (rd ? C_WRITE : NCALLS);
	     call++) {
		for (int i = 0; i < nrows; i++) {
			const struct row *w = &rows[i];
			unsigned calls = w->calls ? w->calls : ~0u;
			unsigned kinds = call_kinds(call) &
					 (w->kinds ? w->kinds : ~0u);
			bool any = w->fd != FD_DEF && w->fd != FD_HIGH;
			if (!(calls & CB(call)) || (ASAN && w->noasan))
				continue;
			for (int k = 0; k < NKINDS; k++) {
				if (!(kinds & KB(k)))
					continue;
				run_io_case(e, call, w,
					    call * 100000 + i * 100 + k, k);
				if (any)
					break;
			}
		}
	}
}

/* ==== Helpers for the one-line cases ==================================== */

static socklen_t *A(struct env *e, int v)
{
	*e->alen = (socklen_t)v;
	return e->alen;
}

static struct sockaddr *tcp_addr(struct env *e)
{
	memcpy(e->addr, &e->tcp_at, sizeof e->tcp_at);
	return (struct sockaddr *)e->addr;
}

static struct sockaddr *unix_addr(struct env *e, const char *path)
{
	struct sockaddr_un *u = (void *)e->addr;

	memset(u, 0, sizeof *u);
	u->sun_family = AF_UNIX;
	snprintf(u->sun_path, sizeof u->sun_path, "%s", path);
	return (struct sockaddr *)u;
}

static struct timeval *tv(struct env *e, long s, long us)
{
	*e->tv = (struct timeval){ s, us };
	return e->tv;
}

static struct timespec *ts(struct env *e, long s, long ns)
{
	*e->ts = (struct timespec){ s, ns };
	return e->ts;
}

static off_t *off(struct env *e, off_t v)
{
	*e->off = v;
	return e->off;
}

static struct iovec *iov1(struct env *e, void *base, size_t len)
{
	e->iov[0] = (struct iovec){ base, len };
	return e->iov;
}

/* Two iovecs of 8 bytes, the second with a NULL base. */
static struct iovec *iov2null(struct env *e)
{
	e->iov[0] = (struct iovec){ e->ok, 8 };
	e->iov[1] = (struct iovec){ NULL, 8 };
	return e->iov;
}

static struct msghdr *msgv(struct env *e, struct iovec *iov, size_t n)
{
	*e->msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = n };
	return e->msg;
}

static struct msghdr *msg1(struct env *e, void *base, size_t len)
{
	return msgv(e, iov1(e, base, len), 1);
}

static struct msghdr *msgname(struct env *e, void *name, socklen_t len)
{
	struct msghdr *m = msg1(e, e->ok, 16);

	m->msg_name = name;
	m->msg_namelen = len;
	return m;
}

static struct msghdr *msg_control(struct env *e, void *ctl, size_t len)
{
	struct msghdr *m = msg1(e, e->ok, 16);

	m->msg_control = ctl;
	m->msg_controllen = len;
	return m;
}

/* A vector of one message with header m. */
static struct mmsghdr *vecm(struct env *e, const struct msghdr *m)
{
	memset(e->vec, 0, 2 * sizeof *e->vec);
	e->vec[0].msg_hdr = *m;
	return e->vec;
}

static struct mmsghdr *vec1(struct env *e, void *base, size_t len)
{
	return vecm(e, msg1(e, base, len));
}

/* Two messages of 8 bytes, the second's iovec base PROT_NONE. */
static struct mmsghdr *vec2bad(struct env *e)
{
	vec1(e, e->ok, 8);
	e->iov[1] = (struct iovec){ e->none, 8 };
	e->vec[1].msg_hdr = (struct msghdr){ .msg_iov = &e->iov[1],
					     .msg_iovlen = 1 };
	return e->vec;
}

/* A pipe: its read end (its write end empty, or with 8 bytes waiting). */
static int pipe_end(struct env *e, bool read_end, bool full)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	keep(e, p[0]);
	keep(e, p[1]);
	if (full)
		ck_assert_int_eq(write(p[1], data16, 8), 8);
	return read_end ? p[0] : p[1];
}
#define pip(e) pipe_end(e, true, false)
#define pipd(e) pipe_end(e, true, true)
#define pipw(e) pipe_end(e, false, false)

/* An AF_UNIX socket pair of type: its first end. */
static int sp(struct env *e, int type)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, type, 0, sv), 0);
	keep(e, sv[0]);
	keep(e, sv[1]);
	return sv[0];
}

/* A connected stream socket with room; what arrives at its peer is noted
 * after the case. */
static int sout(struct env *e)
{
	int s = sp(e, SOCK_STREAM);

	e->drain = e->kept[e->nkept - 1];
	return s;
}

/* An unconnected TCP socket. */
static int tcp(struct env *e)
{
	return keep(e, socket(AF_INET, SOCK_STREAM, 0));
}

/* A TCP listener with a connection waiting (or none); whether one is
 * left is noted after the case. */
static int listener(struct env *e, bool pending)
{
	struct sockaddr_in at;
	int l = tcp(e);

	loopback(l, &at);
	ck_assert_int_eq(listen(l, 8), 0);
	if (pending) {
		int c = tcp(e);
		ck_assert_int_eq(connect(c, (struct sockaddr *)&at, sizeof at),
				 0);
	}
	e->watch = l;
	return l;
}
#define pend(e) listener(e, true)
#define lst(e) listener(e, false)

/* What a read of fd gives (fd < 0: fd's error, as it is). */
static long read_of(struct env *e, long fd)
{
	if (fd < 0)
		return fd;
	keep(e, (int)fd);
	return read((int)fd, e->ok, 128);
}

/* fcntl(fd, cmd) after r, the result of a call on fd (r < 0: r). */
static long then_fcntl(long r, int fd, int cmd)
{
	return r < 0 ? r : fcntl(fd, cmd);
}

/* pipe2 with flags, then a read of its read end. */
static long pipe2_read(struct env *e, int flags)
{
	int p[2], r = pipe2(p, flags);

	if (r < 0)
		return r;
	keep(e, p[1]);
	return read_of(e, p[0]);
}

/* socketpair of type, then a receive on its first end. */
static long sp_recv(struct env *e, int type)
{
	int sv[2], r = socketpair(AF_UNIX, type, 0, sv);

	if (r < 0)
		return r;
	keep(e, sv[0]);
	keep(e, sv[1]);
	return recv(sv[0], e->ok, 8, 0);
}

/* A receive on an empty stream socket after SO_RCVTIMEO of tv. */
static long timeo_recv(struct env *e, long s, long us)
{
	int fd = sp(e, SOCK_STREAM);
	long r = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv(e, s, us),
			    sizeof(struct timeval));

	return r < 0 ? r : recv(fd, e->ok, 8, 0);
}

/* SO_SNDTIMEO of tv, then what getsockopt says of it (in µs). */
static long timeo_back(struct env *e, long s, long us)
{
	int fd = sp(e, SOCK_STREAM);
	socklen_t len = sizeof(struct timeval);
	long r = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, tv(e, s, us),
			    sizeof(struct timeval));

	if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, e->tv, &len) < 0)
		return r < 0 ? r : -1;
	return e->tv->tv_sec * 1000000 + e->tv->tv_usec;
}

/* getsockopt, giving the length it wrote back when it took e->alen. */
static long gso(struct env *e, int fd, int level, int name, void *val,
		socklen_t *len)
{
	int r = getsockopt(fd, level, name, val, len);

	return r == 0 && len == e->alen ? (long)*len : r;
}

/* connect twice to the TCP listener. */
static long connect_twice(struct env *e)
{
	int fd = tcp(e);

	connect(fd, tcp_addr(e), sizeof(struct sockaddr_in));
	return connect(fd, tcp_addr(e), sizeof(struct sockaddr_in));
}

/* dup2 of fd onto itself: 1 if it gave fd back. */
static long dup2_self(int fd)
{
	int r = dup2(fd, fd);

	return r < 0 ? r : r == fd;
}

/* A struct flock for the whole file, as given. */
static struct flock *lk(struct env *e, int type, int whence, pid_t pid)
{
	struct flock *l = (void *)(e->rw[0] + 1024);

	*l = (struct flock){ .l_type = (short)type, .l_whence = (short)whence,
			     .l_pid = pid };
	return l;
}

/* A signal set, in rw[0]. */
static sigset_t *mask(struct env *e)
{
	sigset_t *s = (void *)(e->rw[0] + 1536);

	sigemptyset(s);
	sigaddset(s, SIGUSR2);
	return s;
}

/* ==== One-line cases ==================================================== */

/* X(name, expression): a case; XN: one for the plain build only (see
 * ASAN).  The expression's value and errno are noted. */

#define SOCK_CASES(X, XN)                                                    \
	X("accept: fd -1", accept(-1, NULL, NULL))                           \
	X("accept: a closed fd", accept(closed(e), NULL, NULL))              \
	X("accept: fd 1<<30", accept(1 << 30, NULL, NULL))                   \
	X("accept: fd 2^20", accept(WEFT__FD_MAX, NULL, NULL))               \
	X("accept: a pipe", accept(pip(e), NULL, NULL))                      \
	X("accept: an unconnected socket", accept(tcp(e), NULL, NULL))       \
	X("accept: a connected socket", accept(sp(e, SOCK_STREAM), NULL,     \
					       NULL))                        \
	X("accept: a datagram socket", accept(sp(e, SOCK_DGRAM), NULL, NULL))\
	X("accept: address PROT_NONE",                                       \
	  fdr(e, accept(pend(e), (void *)e->none, A(e, 16))))                \
	XN("accept: no address, length pointer PROT_NONE",                   \
	  fdr(e, accept(pend(e), NULL, (void *)e->none)))                    \
	XN("accept: length pointer PROT_NONE",                               \
	   fdr(e, accept(pend(e), (void *)e->addr, (void *)e->none)))        \
	XN("accept: address without a length pointer",                       \
	   fdr(e, accept(pend(e), (void *)e->addr, NULL)))                   \
	X("accept: length -1", fdr(e, accept(pend(e), (void *)e->addr,       \
					     A(e, -1))))                     \
	X("accept: length 0", fdr(e, accept(pend(e), (void *)e->addr,        \
					    A(e, 0))))                       \
	X("accept: length read-only",                                        \
	  fdr(e, accept(pend(e), (void *)e->addr, e->ro_len)))               \
	X("accept: the highest fd", fdr(e, accept(hi(e, pend(e)), NULL,      \
						  NULL)))                    \
	X("accept4: fd -1", accept4(-1, NULL, NULL, 0))                      \
	X("accept4: a closed fd", accept4(closed(e), NULL, NULL, 0))         \
	X("accept4: flags 0x40000000",                                       \
	  fdr(e, accept4(pend(e), NULL, NULL, 0x40000000)))                  \
	X("accept4: flags 0xdeadbeef",                                       \
	  fdr(e, accept4(pend(e), NULL, NULL, (int)0xdeadbeef)))             \
	X("accept4: flags -1", fdr(e, accept4(pend(e), NULL, NULL, -1)))     \
	X("accept4: SOCK_NONBLOCK and junk",                                 \
	  fdr(e, accept4(pend(e), NULL, NULL, SOCK_NONBLOCK | 1)))           \
	X("accept4: SOCK_NONBLOCK, address PROT_NONE",                       \
	  fdr(e, accept4(pend(e), (void *)e->none, A(e, 16), SOCK_NONBLOCK)))\
	XN("accept4: length pointer PROT_NONE",                              \
	   fdr(e, accept4(pend(e), (void *)e->addr, (void *)e->none, 0)))    \
	X("accept4: SOCK_NONBLOCK, then a read",                             \
	  read_of(e, accept4(pend(e), NULL, NULL, SOCK_NONBLOCK)))           \
	X("connect: fd -1", connect(-1, tcp_addr(e), 16))                    \
	X("connect: a closed fd", connect(closed(e), tcp_addr(e), 16))       \
	X("connect: fd 1<<30", connect(1 << 30, tcp_addr(e), 16))            \
	X("connect: a pipe", connect(pip(e), tcp_addr(e), 16))               \
	X("connect: address PROT_NONE", connect(tcp(e), (void *)e->none, 16))\
	X("connect: address unmapped", connect(tcp(e), (void *)e->gone, 16)) \
	X("connect: NULL address, length 16", connect(tcp(e), NULL, 16))     \
	X("connect: NULL address, length 0", connect(tcp(e), NULL, 0))       \
	X("connect: length -1", connect(tcp(e), tcp_addr(e), (socklen_t)-1)) \
	X("connect: length 1000", connect(tcp(e), tcp_addr(e), 1000))        \
	X("connect: length 1", connect(tcp(e), tcp_addr(e), 1))              \
	X("connect: AF_UNIX address on TCP",                                 \
	  connect(tcp(e), unix_addr(e, "/nonexistent"),                      \
		  sizeof(struct sockaddr_un)))                               \
	X("connect: a port nobody listens on",                               \
	  connect(tcp(e), (void *)&e->refused, sizeof e->refused))           \
	X("connect: a listening socket", connect(lst(e), tcp_addr(e), 16))   \
	X("connect: twice", connect_twice(e))                                \
	X("connect: AF_UNIX path that does not exist",                       \
	  connect(sp(e, SOCK_STREAM), unix_addr(e, "/nonexistent/weft"),     \
		  sizeof(struct sockaddr_un)))                               \
	X("connect: AF_UNIX length 1",                                       \
	  connect(keep(e, socket(AF_UNIX, SOCK_STREAM, 0)),                  \
		  unix_addr(e, "/x"), 1))                                    \
	X("connect: AF_UNSPEC", connect(tcp(e), (void *)e->ok, 16))          \
	X("connect: the highest fd, address PROT_NONE",                      \
	  connect(hi(e, tcp(e)), (void *)e->none, 16))                       \
	X("socket: domain -1", fdr(e, socket(-1, SOCK_STREAM, 0)))           \
	X("socket: domain 1000", fdr(e, socket(1000, SOCK_STREAM, 0)))       \
	X("socket: type 0xdeadbeef", fdr(e, socket(AF_INET, (int)0xdeadbeef, \
						   0)))                      \
	X("socket: type with unknown flags",                                 \
	  fdr(e, socket(AF_INET, SOCK_STREAM | 0x10000000, 0)))              \
	X("socket: type -1", fdr(e, socket(AF_INET, -1, 0)))                 \
	X("socket: protocol 9999", fdr(e, socket(AF_INET, SOCK_STREAM,       \
						 9999)))                     \
	X("socket: protocol -1", fdr(e, socket(AF_INET, SOCK_STREAM, -1)))   \
	X("socket: SOCK_RAW on AF_UNIX", fdr(e, socket(AF_UNIX, SOCK_RAW,    \
						       0)))                  \
	X("socket: SOCK_NONBLOCK, then a receive",                           \
	  read_of(e, socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)))        \
	X("socketpair: NULL array", socketpair(AF_UNIX, SOCK_STREAM, 0,      \
					       NULL))                        \
	X("socketpair: PROT_NONE array",                                     \
	  socketpair(AF_UNIX, SOCK_STREAM, 0, (void *)e->none))              \
	X("socketpair: read-only array",                                     \
	  socketpair(AF_UNIX, SOCK_STREAM, 0, (void *)e->ro))                \
	X("socketpair: array running into a PROT_NONE page",                 \
	  socketpair(AF_UNIX, SOCK_STREAM, 0, (void *)(e->none - 4)))        \
	X("socketpair: AF_INET", socketpair(AF_INET, SOCK_STREAM, 0,         \
					    e->fds))                         \
	X("socketpair: type 0xdeadbeef",                                     \
	  socketpair(AF_UNIX, (int)0xdeadbeef, 0, e->fds))                   \
	X("socketpair: protocol 5",                                          \
	  socketpair(AF_UNIX, SOCK_STREAM, 5, e->fds))                       \
	X("socketpair: domain -1",                                           \
	  socketpair(-1, SOCK_STREAM, 0, e->fds))                            \
	X("socketpair: SOCK_NONBLOCK, then a receive",                       \
	  sp_recv(e, SOCK_STREAM | SOCK_NONBLOCK))                           \
	X("shutdown: fd -1", shutdown(-1, SHUT_RDWR))                        \
	X("shutdown: a closed fd", shutdown(closed(e), SHUT_RDWR))           \
	X("shutdown: fd 1<<30", shutdown(1 << 30, SHUT_RDWR))                \
	X("shutdown: a pipe", shutdown(pip(e), SHUT_RDWR))                   \
	X("shutdown: how 3", shutdown(sp(e, SOCK_STREAM), 3))                \
	X("shutdown: how -1", shutdown(sp(e, SOCK_STREAM), -1))              \
	X("shutdown: how 0xdeadbeef", shutdown(sp(e, SOCK_STREAM),           \
					       (int)0xdeadbeef))             \
	X("shutdown: an unconnected socket", shutdown(tcp(e), SHUT_WR))      \
	X("shutdown: a listening socket", shutdown(lst(e), SHUT_RDWR))       \
	X("shutdown: SHUT_RD, then a receive",                               \
	  ({ int f = sp(e, SOCK_STREAM); shutdown(f, SHUT_RD);               \
	     recv(f, e->ok, 8, 0); }))                                       \
	X("setsockopt: fd -1", setsockopt(-1, SOL_SOCKET, SO_RCVTIMEO,       \
					  tv(e, 1, 0), 16))                  \
	X("setsockopt: a pipe", setsockopt(pip(e), SOL_SOCKET, SO_RCVTIMEO,  \
					   tv(e, 1, 0), 16))                 \
	X("setsockopt: SO_RCVTIMEO, NULL value",                             \
	  setsockopt(sp(e, SOCK_STREAM), SOL_SOCKET, SO_RCVTIMEO, NULL, 16)) \
	X("setsockopt: SO_RCVTIMEO, value PROT_NONE",                        \
	  setsockopt(sp(e, SOCK_STREAM), SOL_SOCKET, SO_RCVTIMEO, e->none,   \
		     16))                                                    \
	X("setsockopt: SO_SNDTIMEO, value running into a PROT_NONE page",    \
	  setsockopt(sp(e, SOCK_STREAM), SOL_SOCKET, SO_SNDTIMEO,            \
		     e->none - 8, 16))                                       \
	X("setsockopt: SO_RCVTIMEO, length 4",                               \
	  setsockopt(sp(e, SOCK_STREAM), SOL_SOCKET, SO_RCVTIMEO,            \
		     tv(e, 1, 0), 4))                                        \
	X("setsockopt: SO_RCVTIMEO, length -1",                              \
	  setsockopt(sp(e, SOCK_STREAM), SOL_SOCKET, SO_RCVTIMEO,            \
		     tv(e, 1, 0), (socklen_t)-1))                            \
	X("setsockopt: SO_RCVTIMEO, length 1000",                            \
	  setsockopt(sp(e, SOCK_STREAM), SOL_SOCKET, SO_RCVTIMEO,            \
		     tv(e, 0, 0), 1000))                                     \
	X("setsockopt: SO_RCVTIMEO, tv_usec -1", timeo_recv(e, 0, -1))       \
	X("setsockopt: SO_RCVTIMEO, tv_usec 10^6", timeo_recv(e, 0, 1000000))\
	X("setsockopt: SO_RCVTIMEO -1 s, then a receive", timeo_recv(e, -1,  \
								     0))     \
	X("setsockopt: SO_RCVTIMEO LONG_MIN s, then a receive",              \
	  timeo_recv(e, LONG_MIN, 0))                                        \
	X("setsockopt: SO_SNDTIMEO LONG_MAX s, read back",                   \
	  timeo_back(e, LONG_MAX, 0))                                        \
	X("setsockopt: SO_SNDTIMEO -5 s, read back", timeo_back(e, -5, 0))   \
	X("setsockopt: level -1", setsockopt(tcp(e), -1, 1, e->one, 4))      \
	X("setsockopt: unknown option", setsockopt(tcp(e), SOL_SOCKET, 9999, \
						   e->one, 4))               \
	X("setsockopt: SO_LINGER, NULL value",                               \
	  setsockopt(tcp(e), SOL_SOCKET, SO_LINGER, NULL, 8))                \
	X("setsockopt: TCP_NODELAY on AF_UNIX",                              \
	  setsockopt(sp(e, SOCK_STREAM), IPPROTO_TCP, TCP_NODELAY, e->one,   \
		     4))                                                     \
	X("setsockopt: SO_RCVBUF, length 2",                                 \
	  setsockopt(tcp(e), SOL_SOCKET, SO_RCVBUF, e->one, 2))              \
	X("getsockopt: fd -1", gso(e, -1, SOL_SOCKET, SO_TYPE, e->ok,        \
				   A(e, 4)))                                 \
	X("getsockopt: a pipe", gso(e, pip(e), SOL_SOCKET, SO_TYPE, e->ok,   \
				    A(e, 4)))                                \
	X("getsockopt: NULL length pointer",                                 \
	  gso(e, tcp(e), SOL_SOCKET, SO_TYPE, e->ok, NULL))                  \
	X("getsockopt: length pointer PROT_NONE",                            \
	  gso(e, tcp(e), SOL_SOCKET, SO_TYPE, e->ok, (void *)e->none))       \
	X("getsockopt: length pointer read-only",                            \
	  gso(e, tcp(e), SOL_SOCKET, SO_TYPE, e->ok, e->ro_len))             \
	X("getsockopt: length -1", gso(e, tcp(e), SOL_SOCKET, SO_TYPE, e->ok,\
				       A(e, -1)))                            \
	X("getsockopt: length 0", gso(e, tcp(e), SOL_SOCKET, SO_TYPE, e->ok, \
				      A(e, 0)))                              \
	X("getsockopt: NULL value", gso(e, tcp(e), SOL_SOCKET, SO_TYPE, NULL,\
					A(e, 4)))                            \
	X("getsockopt: value PROT_NONE",                                     \
	  gso(e, tcp(e), SOL_SOCKET, SO_TYPE, e->none, A(e, 4)))             \
	X("getsockopt: SO_RCVTIMEO, length 4",                               \
	  gso(e, tcp(e), SOL_SOCKET, SO_RCVTIMEO, e->ok, A(e, 4)))           \
	X("getsockopt: unknown option",                                      \
	  gso(e, tcp(e), SOL_SOCKET, 9999, e->ok, A(e, 4)))                  \
	X("getsockopt: level -1", gso(e, tcp(e), -1, 1, e->ok, A(e, 4)))

#define FD_CASES(X, XN)                                                      \
	X("pipe: NULL", pipe(NULL))                                          \
	X("pipe: PROT_NONE", pipe((void *)e->none))                          \
	X("pipe: unmapped", pipe((void *)e->gone))                           \
	X("pipe: read-only", pipe((void *)e->ro))                            \
	X("pipe: array running into a PROT_NONE page",                       \
	  pipe((void *)(e->none - 4)))                                       \
	X("pipe2: flags 0xdeadbeef", pipe2(e->fds, (int)0xdeadbeef))         \
	X("pipe2: flags -1", pipe2(e->fds, -1))                              \
	X("pipe2: O_RDWR", pipe2(e->fds, O_RDWR))                            \
	X("pipe2: NULL, junk flags", pipe2(NULL, 0x1234))                    \
	X("pipe2: NULL, O_CLOEXEC", pipe2(NULL, O_CLOEXEC))                  \
	X("pipe2: PROT_NONE, O_NONBLOCK", pipe2((void *)e->none, O_NONBLOCK))\
	X("pipe2: O_NONBLOCK, then a read", pipe2_read(e, O_NONBLOCK))       \
	X("pipe2: O_DIRECT|O_NONBLOCK, then a read",                         \
	  pipe2_read(e, O_DIRECT | O_NONBLOCK))                              \
	X("eventfd: flags 0xdeadbeef", fdr(e, eventfd(0, (int)0xdeadbeef)))  \
	X("eventfd: flags -1", fdr(e, eventfd(0, -1)))                       \
	X("eventfd: O_RDWR", fdr(e, eventfd(0, O_RDWR)))                     \
	X("eventfd: count UINT_MAX", fdr(e, eventfd(UINT_MAX, 0)))           \
	X("eventfd: EFD_NONBLOCK, then a read",                              \
	  read_of(e, eventfd(0, EFD_NONBLOCK)))                              \
	X("eventfd: EFD_SEMAPHORE and junk",                                 \
	  fdr(e, eventfd(0, EFD_SEMAPHORE | 0x10)))                          \
	X("timerfd_create: clock -1", fdr(e, timerfd_create(-1, 0)))         \
	X("timerfd_create: clock 1000", fdr(e, timerfd_create(1000, 0)))     \
	X("timerfd_create: CLOCK_PROCESS_CPUTIME_ID",                        \
	  fdr(e, timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)))               \
	X("timerfd_create: flags 0xdeadbeef",                                \
	  fdr(e, timerfd_create(CLOCK_MONOTONIC, (int)0xdeadbeef)))          \
	X("timerfd_create: TFD_NONBLOCK, then a read",                       \
	  read_of(e, timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)))         \
	X("signalfd: NULL mask", fdr(e, signalfd_np(-1, nil, 0)))            \
	X("signalfd: mask PROT_NONE", fdr(e, signalfd(-1, (void *)e->none,   \
						      0)))                   \
	X("signalfd: mask running into a PROT_NONE page",                    \
	  fdr(e, signalfd(-1, (void *)(e->none - 4), 0)))                    \
	X("signalfd: flags 0xdeadbeef",                                      \
	  fdr(e, signalfd(-1, mask(e), (int)0xdeadbeef)))                    \
	X("signalfd: a pipe", fdr(e, signalfd(pip(e), mask(e), 0)))          \
	X("signalfd: a closed fd", fdr(e, signalfd(closed(e), mask(e), 0)))  \
	X("signalfd: fd -2", fdr(e, signalfd(-2, mask(e), 0)))               \
	X("signalfd: fd 1<<30", fdr(e, signalfd(1 << 30, mask(e), 0)))       \
	X("signalfd: SFD_NONBLOCK, then a read",                             \
	  read_of(e, signalfd(-1, mask(e), SFD_NONBLOCK)))                   \
	X("epoll_create: 0", fdr(e, epoll_create(0)))                        \
	X("epoll_create: -1", fdr(e, epoll_create(-1)))                      \
	X("epoll_create: INT_MIN", fdr(e, epoll_create(INT_MIN)))            \
	X("epoll_create: INT_MAX", fdr(e, epoll_create(INT_MAX)))            \
	X("epoll_create1: flags 0xdeadbeef",                                 \
	  fdr(e, epoll_create1((int)0xdeadbeef)))                            \
	X("epoll_create1: flags -1", fdr(e, epoll_create1(-1)))              \
	X("epoll_create1: O_NONBLOCK", fdr(e, epoll_create1(O_NONBLOCK)))    \
	X("close: fd -1", close(-1))                                         \
	X("close: a closed fd", close(closed(e)))                            \
	X("close: fd 1<<30", close(1 << 30))                                 \
	X("close: fd 2^20", close(WEFT__FD_MAX))                             \
	X("close: INT_MIN", close(INT_MIN))                                  \
	X("close: INT_MAX", close(INT_MAX))                                  \
	X("close: the highest fd", close(hi(e, pip(e))))                     \
	X("close: twice", ({ int f = pip(e); close(f); close(f); }))         \
	X("close_range: first above last", close_range(10, 5, 0))            \
	X("close_range: flags 0xdeadbeef",                                   \
	  close_range(e->high - 3, e->high - 3, (int)0xdeadbeef))            \
	X("close_range: flags -1", close_range(e->high - 3, e->high - 3, -1))\
	X("close_range: CLOSE_RANGE_UNSHARE, first above last",              \
	  close_range(10, 5, CLOSE_RANGE_UNSHARE))                           \
	X("close_range: ~0U to ~0U", close_range(~0U, ~0U, 0))               \
	X("close_range: 1<<30 to ~0U", close_range(1u << 30, ~0U, 0))        \
	X("close_range: a closed fd", close_range(closed(e), e->high - 2, 0))\
	X("close_range: the highest fd, then F_GETFD",                       \
	  then_fcntl(close_range(hi(e, pip(e)), ~0U, 0), e->high, F_GETFD))  \
	X("close_range: CLOSE_RANGE_CLOEXEC, then F_GETFD",                  \
	  then_fcntl(close_range(hi(e, pip(e)), e->high,                     \
				 CLOSE_RANGE_CLOEXEC), e->high, F_GETFD))    \
	X("dup: fd -1", fdr(e, dup(-1)))                                     \
	X("dup: a closed fd", fdr(e, dup(closed(e))))                        \
	X("dup: fd 1<<30", fdr(e, dup(1 << 30)))                             \
	X("dup: fd 2^20", fdr(e, dup(WEFT__FD_MAX)))                         \
	X("dup: the highest fd", fdr(e, dup(hi(e, pip(e)))))                 \
	X("dup2: new fd -1", fdr(e, dup2(pip(e), -1)))                       \
	X("dup2: new fd 1<<30", fdr(e, dup2(pip(e), 1 << 30)))               \
	X("dup2: new fd 2^20", fdr(e, dup2(pip(e), WEFT__FD_MAX)))           \
	X("dup2: new fd INT_MAX", fdr(e, dup2(pip(e), INT_MAX)))             \
	X("dup2: old fd -1", fdr(e, dup2(-1, e->high - 3)))                  \
	X("dup2: old fd closed", fdr(e, dup2(closed(e), e->high - 3)))       \
	X("dup2: closed onto itself", fdr(e, dup2(closed(e), e->high - 2)))  \
	X("dup2: onto itself", dup2_self(pip(e)))                            \
	X("dup2: onto the highest fd", fdr(e, dup2(pip(e), e->high)))        \
	X("dup3: onto itself", ({ int f = pip(e); fdr(e, dup3(f, f, 0)); })) \
	X("dup3: flags 0xdeadbeef", fdr(e, dup3(pip(e), e->high - 3,         \
						(int)0xdeadbeef)))           \
	X("dup3: flags -1", fdr(e, dup3(pip(e), e->high - 3, -1)))           \
	X("dup3: O_NONBLOCK", fdr(e, dup3(pip(e), e->high - 3, O_NONBLOCK))) \
	X("dup3: old fd -1", fdr(e, dup3(-1, e->high - 3, 0)))               \
	X("dup3: new fd -1", fdr(e, dup3(pip(e), -1, 0)))                    \
	X("dup3: new fd 1<<30", fdr(e, dup3(pip(e), 1 << 30, O_CLOEXEC)))    \
	X("dup3: O_CLOEXEC, then F_GETFD",                                   \
	  then_fcntl(fdr(e, dup3(pip(e), e->high - 3, O_CLOEXEC)),           \
		     e->high - 3, F_GETFD))

#define CTL_CASES(X, XN)                                                     \
	X("fcntl: fd -1", fcntl(-1, F_GETFL))                                \
	X("fcntl: a closed fd", fcntl(closed(e), F_GETFL))                   \
	X("fcntl: fd 1<<30", fcntl(1 << 30, F_SETFL, O_NONBLOCK))            \
	X("fcntl: fd 2^20", fcntl(WEFT__FD_MAX, F_GETFL))                    \
	X("fcntl: command 0xdeadbeef", fcntl(pip(e), (int)0xdeadbeef, 0))    \
	X("fcntl: command -1", fcntl(pip(e), -1, 0))                         \
	X("fcntl: command 1000", fcntl(pip(e), 1000, 0))                     \
	X("fcntl: F_SETFL -1, then F_GETFL",                                 \
	  ({ int f = pip(e);                                                 \
	     then_fcntl(fcntl(f, F_SETFL, -1), f, F_GETFL); }))              \
	X("fcntl: F_SETFL junk without O_DIRECT, then a read",               \
	  ({ int f = pip(e); fcntl(f, F_SETFL, 0x7fff3bff & ~O_DIRECT);      \
	     read(f, e->ok, 8); }))                                          \
	X("fcntl: F_SETFL 0xdeadbeef, then F_GETFL",                         \
	  ({ int f = sp(e, SOCK_STREAM);                                     \
	     then_fcntl(fcntl(f, F_SETFL, 0xdeadbeef), f, F_GETFL); }))      \
	X("fcntl: F_SETFL O_NONBLOCK|junk on a socket, then a receive",      \
	  ({ int f = sp(e, SOCK_STREAM);                                     \
	     fcntl(f, F_SETFL, O_NONBLOCK | 0x100000);                       \
	     recv(f, e->ok, 8, 0); }))                                       \
	X("fcntl: F_DUPFD -1", fdr(e, fcntl(pip(e), F_DUPFD, -1)))           \
	X("fcntl: F_DUPFD 1<<30", fdr(e, fcntl(pip(e), F_DUPFD, 1 << 30)))   \
	X("fcntl: F_DUPFD_CLOEXEC INT_MAX",                                  \
	  fdr(e, fcntl(pip(e), F_DUPFD_CLOEXEC, INT_MAX)))                   \
	X("fcntl: F_DUPFD the highest fd",                                   \
	  fdr(e, fcntl(pip(e), F_DUPFD, e->high)))                           \
	X("fcntl: F_SETFD -1, then F_GETFD",                                 \
	  ({ int f = pip(e);                                                 \
	     then_fcntl(fcntl(f, F_SETFD, -1), f, F_GETFD); }))              \
	X("fcntl: F_GETLK NULL", fcntl(fil(e), F_GETLK, NULL))               \
	X("fcntl: F_SETLK PROT_NONE", fcntl(fil(e), F_SETLK, e->none))       \
	X("fcntl: F_SETLKW NULL", fcntl(fil(e), F_SETLKW, NULL))             \
	X("fcntl: F_SETLKW PROT_NONE", fcntl(fil(e), F_SETLKW, e->none))     \
	X("fcntl: F_SETLKW l_type 99", fcntl(fil(e), F_SETLKW,               \
					     lk(e, 99, SEEK_SET, 0)))        \
	X("fcntl: F_SETLKW l_whence 99", fcntl(fil(e), F_SETLKW,             \
					       lk(e, F_RDLCK, 99, 0)))       \
	X("fcntl: F_SETLKW F_WRLCK on a read-only file",                     \
	  fcntl(fil(e), F_SETLKW, lk(e, F_WRLCK, SEEK_SET, 0)))              \
	X("fcntl: F_SETLKW on a pipe", fcntl(pip(e), F_SETLKW,               \
					     lk(e, F_RDLCK, SEEK_SET, 0)))   \
	X("fcntl: F_SETLKW fd -1", fcntl(-1, F_SETLKW,                       \
					 lk(e, F_RDLCK, SEEK_SET, 0)))       \
	X("fcntl: F_OFD_SETLKW l_pid 1", fcntl(fil(e), F_OFD_SETLKW,         \
					       lk(e, F_RDLCK, SEEK_SET, 1))) \
	X("fcntl: F_OFD_SETLKW NULL", fcntl(fil(e), F_OFD_SETLKW, NULL))     \
	X("fcntl: F_SETSIG 1000", fcntl(pip(e), F_SETSIG, 1000))             \
	X("fcntl: F_SETPIPE_SZ -1", fcntl(pip(e), F_SETPIPE_SZ, -1))         \
	X("fcntl: F_GETOWN_EX PROT_NONE", fcntl(pip(e), F_GETOWN_EX,         \
						e->none))                    \
	X("fcntl: F_ADD_SEALS on a pipe", fcntl(pip(e), F_ADD_SEALS,         \
						F_SEAL_WRITE))               \
	X("fcntl: F_NOTIFY on a pipe", fcntl(pip(e), F_NOTIFY, -1))          \
	X("fcntl64: fd -1", fcntl64(-1, F_GETFL))                            \
	X("fcntl64: command -1", fcntl64(pip(e), -1, 0))                     \
	X("fcntl64: F_SETFL -1, then F_GETFL",                               \
	  ({ int f = pip(e); then_fcntl(fcntl64(f, F_SETFL, -1), f,          \
					F_GETFL); }))                        \
	X("fcntl64: F_SETLKW NULL", fcntl64(fil(e), F_SETLKW, NULL))         \
	X("fcntl64: F_DUPFD -1", fdr(e, fcntl64(pip(e), F_DUPFD, -1)))       \
	X("ioctl: fd -1", ioctl(-1, FIONREAD, e->one))                       \
	X("ioctl: a closed fd", ioctl(closed(e), FIONREAD, e->one))          \
	X("ioctl: fd 1<<30", ioctl(1 << 30, FIONBIO, e->one))                \
	X("ioctl: request 0xdeadbeef", ioctl(pip(e), 0xdeadbeef, NULL))      \
	X("ioctl: request 0", ioctl(pip(e), 0, NULL))                        \
	X("ioctl: FIONREAD NULL", ioctl(pip(e), FIONREAD, NULL))             \
	X("ioctl: FIONREAD PROT_NONE", ioctl(pip(e), FIONREAD, e->none))     \
	X("ioctl: FIONBIO NULL", ioctl(pip(e), FIONBIO, NULL))               \
	X("ioctl: FIONBIO PROT_NONE", ioctl(sp(e, SOCK_STREAM), FIONBIO,     \
					    e->none))                        \
	X("ioctl: FIONBIO read-only, then F_GETFL",                          \
	  ({ int f = pip(e); then_fcntl(ioctl(f, FIONBIO, e->ro_int), f,     \
					F_GETFL); }))                        \
	X("ioctl: FIONBIO with high request bits, then F_GETFL",             \
	  ({ int f = pip(e);                                                 \
	     then_fcntl(ioctl(f, FIONBIO | (1UL << 32), e->one), f,          \
			F_GETFL); }))                                        \
	X("ioctl: FIOASYNC NULL", ioctl(pip(e), FIOASYNC, NULL))             \
	X("ioctl: TCGETS on a pipe", ioctl(pip(e), TCGETS, e->ok))           \
	X("ioctl: FIOCLEX, then F_GETFD",                                    \
	  ({ int f = pip(e); then_fcntl(ioctl(f, FIOCLEX, NULL), f,          \
					F_GETFD); }))                        \
	X("flock: fd -1", flock(-1, LOCK_EX))                                \
	X("flock: a closed fd", flock(closed(e), LOCK_SH))                   \
	X("flock: fd 1<<30", flock(1 << 30, LOCK_EX))                        \
	X("flock: operation 0", flock(fil(e), 0))                            \
	X("flock: operation 0xdeadbeef", flock(fil(e), (int)0xdeadbeef))     \
	X("flock: operation -1", flock(fil(e), -1))                          \
	X("flock: LOCK_SH|LOCK_EX", flock(fil(e), LOCK_SH | LOCK_EX))        \
	X("flock: LOCK_MAND", flock(fil(e), 32))                             \
	X("flock: operation 64", flock(fil(e), 64))                          \
	X("flock: LOCK_UN unlocked", flock(fil(e), LOCK_UN))                 \
	X("flock: a pipe", flock(pip(e), LOCK_EX))                           \
	X("flock: a socket", flock(tcp(e), LOCK_EX))                         \
	X("flock: a directory", flock(e->dir, LOCK_SH))                      \
	X("flock: the highest fd", flock(hi(e, fil(e)), LOCK_EX))

#define XFER_CASES(X, XN)                                                    \
	X("sendfile: out fd -1", sendfile(-1, fil(e), NULL, 16))             \
	X("sendfile: out a closed fd", sendfile(closed(e), fil(e), NULL, 16))\
	X("sendfile: out fd 2^20", sendfile(WEFT__FD_MAX, fil(e), NULL, 16)) \
	X("sendfile: out a read-only file", sendfile(fil(e), fil(e), NULL,   \
						     16))                    \
	X("sendfile: out a pipe's read end", sendfile(pip(e), fil(e), NULL,  \
						      16))                   \
	X("sendfile: out an unconnected socket",                             \
	  sendfile(tcp(e), fil(e), NULL, 16))                                \
	X("sendfile: out the highest fd", sendfile(hi(e, sout(e)), fil(e),   \
						   NULL, 16))                \
	X("sendfile: in fd -1", sendfile(sout(e), -1, NULL, 16))             \
	X("sendfile: in a closed fd", sendfile(sout(e), closed(e), NULL, 16))\
	X("sendfile: in fd 1<<30", sendfile(sout(e), 1 << 30, NULL, 16))     \
	X("sendfile: in a directory", sendfile(sout(e), e->dir, NULL, 16))   \
	X("sendfile: in an eventfd",                                         \
	  sendfile(sout(e), keep(e, eventfd(1, 0)), NULL, 16))               \
	X("sendfile: in a pipe's write end", sendfile(sout(e), pipw(e), NULL,\
						      16))                   \
	X("sendfile: offset PROT_NONE", sendfile(sout(e), fil(e),            \
						 (void *)e->none, 16))       \
	X("sendfile: offset unmapped", sendfile(sout(e), fil(e),             \
						(void *)e->gone, 16))        \
	X("sendfile: offset read-only", sendfile(sout(e), fil(e), e->ro_off, \
						 16))                        \
	X("sendfile: offset -1", sendfile(sout(e), fil(e), off(e, -1), 16))  \
	X("sendfile: offset LLONG_MAX",                                      \
	  sendfile(sout(e), fil(e), off(e, LLONG_MAX), 16))                  \
	X("sendfile: offset past the end", sendfile(sout(e), fil(e),         \
						    off(e, 1000), 16))       \
	X("sendfile: offset on a pipe", sendfile(sout(e), pipd(e),           \
						 off(e, 0), 16))             \
	X("sendfile: count 0", sendfile(sout(e), fil(e), NULL, 0))           \
	X("sendfile: count SIZE_MAX", sendfile(sout(e), fil(e), NULL,        \
					       SIZE_MAX))                    \
	X("sendfile: count SSIZE_MAX", sendfile(sout(e), fil(e), NULL,       \
						SSIZE_MAX))                  \
	X("sendfile: count SSIZE_MAX+1",                                     \
	  sendfile(sout(e), fil(e), NULL, (size_t)SSIZE_MAX + 1))            \
	X("sendfile: into a pipe, offset PROT_NONE",                         \
	  sendfile(pipw(e), fil(e), (void *)e->none, 16))                    \
	X("sendfile64: out fd -1", sendfile64(-1, fil(e), NULL, 16))         \
	X("sendfile64: offset PROT_NONE", sendfile64(sout(e), fil(e),        \
						     (void *)e->none, 16))   \
	X("sendfile64: offset -1", sendfile64(sout(e), fil(e), off(e, -1),   \
					      16))                           \
	X("sendfile64: count SSIZE_MAX", sendfile64(sout(e), fil(e), NULL,   \
						    SSIZE_MAX))              \
	X("splice: flags 0xdeadbeef",                                        \
	  splice(pipd(e), NULL, sout(e), NULL, 8, 0xdeadbeef))               \
	X("splice: unknown flag", splice(pipd(e), NULL, sout(e), NULL, 8,    \
					 0x100))                             \
	X("splice: offset on a pipe", splice(pipd(e), off(e, 0), sout(e),    \
					     NULL, 8, 0))                    \
	X("splice: input offset PROT_NONE",                                  \
	  splice(fil(e), (void *)e->none, pipw(e), NULL, 8, 0))              \
	X("splice: input offset -1", splice(fil(e), off(e, -1), pipw(e),     \
					    NULL, 8, 0))                     \
	X("splice: input offset read-only",                                  \
	  splice(fil(e), e->ro_off, pipw(e), NULL, 8, 0))                    \
	X("splice: output offset PROT_NONE",                                 \
	  splice(pipd(e), NULL, keep(e, open("/dev/null", O_WRONLY)),        \
		 (void *)e->none, 8, 0))                                     \
	X("splice: neither end a pipe", splice(fil(e), NULL, sout(e), NULL,  \
					       8, 0))                        \
	X("splice: a pipe into itself",                                      \
	  ({ int f = pipd(e); splice(f, NULL, e->kept[e->nkept - 1], NULL, 8,\
				     0); }))                                 \
	X("splice: in fd -1", splice(-1, NULL, pipw(e), NULL, 8, 0))         \
	X("splice: in a closed fd", splice(closed(e), NULL, sout(e), NULL, 8,\
					   0))                               \
	X("splice: out fd -1", splice(pipd(e), NULL, -1, NULL, 8, 0))        \
	X("splice: out fd 2^20", splice(pipd(e), NULL, WEFT__FD_MAX, NULL, 8,\
					0))                                  \
	X("splice: out a directory", splice(pipd(e), NULL, e->dir, NULL, 8,  \
					    0))                              \
	X("splice: out a pipe's read end",                                   \
	  splice(fil(e), NULL, pip(e), NULL, 8, 0))                          \
	X("splice: in a pipe's write end",                                   \
	  splice(pipw(e), NULL, sout(e), NULL, 8, 0))                        \
	X("splice: length 0", splice(pipd(e), NULL, sout(e), NULL, 0, 0))    \
	X("splice: length SIZE_MAX", splice(pipd(e), NULL, sout(e), NULL,    \
					    SIZE_MAX, 0))                    \
	X("splice: pipe to pipe, length SIZE_MAX",                           \
	  splice(pipd(e), NULL, pipw(e), NULL, SIZE_MAX, 0))                 \
	X("splice: pipe to socket, length SSIZE_MAX+1",                      \
	  splice(pipd(e), NULL, sout(e), NULL, (size_t)SSIZE_MAX + 1, 0))    \
	X("splice: out the highest fd",                                      \
	  splice(pipd(e), NULL, hi(e, sout(e)), NULL, 8, 0))

/* A table of one-line cases: its names, and a function that runs case i
 * (the table's expressions see e). */
struct xcase {
	const char *name;
	bool noasan;
};

#define X_NAME(name, expr) { name, false },
#define X_NAMEN(name, expr) { name, true },
#define X_RUN(name, expr)                                                    \
	if (i == k++)                                                        \
		return (long)(expr);

#define X_TABLE(fam, CASES)                                                  \
	static const struct xcase fam##_cases[] = { CASES(X_NAME, X_NAMEN) };\
	static long fam##_case(struct env *e, int i)                         \
	{                                                                    \
		int k = 0;                                                   \
		CASES(X_RUN, X_RUN)                                          \
		return LONG_MIN;                                             \
	}

X_TABLE(sock, SOCK_CASES)
X_TABLE(fd, FD_CASES)
X_TABLE(ctl, CTL_CASES)
X_TABLE(xfer, XFER_CASES)

struct xtable {
	const struct xcase *cases;
	int n;
	long (*run)(struct env *e, int i);
};

#define XT(fam) { fam##_cases, (int)(sizeof fam##_cases / \
				      sizeof fam##_cases[0]), fam##_case }

static const struct xtable xtables[] = { XT(sock), XT(fd), XT(ctl), XT(xfer) };

/* Runs a table of one-line cases (family 2 on). */
static void x_body(struct env *e)
{
	const struct xtable *t = &xtables[e->family - 2];

	for (int i = 0; i < t->n; i++) {
		if (ASAN && t->cases[i].noasan)
			continue;
		e->id = i;
		memset(e->ok, 0, 256);
		errno = 0;
		long r = t->run(e, i);
		note(e, r, errno, NULL);
		note_landed(e);
		if (e->watch >= 0) {
			struct pollfd p = { .fd = e->watch, .events = POLLIN };
			note(e, poll(&p, 1, 0), errno, NULL);
		}
		if (e->drain >= 0)
			note_left(e, e->drain, r > 0 ? (size_t)r : 0);
		release(e);
	}
}

/* ==== Parking cases ===================================================== */

/* How the peer makes the channel ready: writes 16 bytes to it (IN),
 * drains what filled it (OUT), connects to it (ACC). */
enum { IN, OUT, ACC };

/* X(name, kind, direction, expression), the expression seeing e and the
 * channel c. */
#define PARK_CASES(X, XN)                                                    \
	X("read: NULL buffer", K_PIPE, IN, read(c->r, nil, 10))              \
	X("read: PROT_NONE buffer", K_STREAM, IN, read(c->r, e->none, 10))   \
	X("read: unmapped buffer", K_DGRAM, IN, read(c->r, e->gone, 10))     \
	X("read: buffer half unmapped", K_PIPE, IN, read(c->r, e->part, 16)) \
	X("read: kernel address", K_PIPE, IN, read(c->r, KERN, 10))          \
	X("read: eventfd, length 4", K_EVENTFD, IN, read(c->r, e->ok, 4))    \
	X("read: eventfd, NULL buffer", K_EVENTFD, IN, read(c->r, nil, 8))   \
	X("read: pty, PROT_NONE buffer", K_PTY, IN, read(c->r, e->none, 10)) \
	X("read: after FIONBIO with high request bits", K_PIPE, IN,          \
	  (ioctl(c->r, FIONBIO | (1UL << 32), e->one),                       \
	   read(c->r, e->ok, 16)))                                           \
	X("readv: iovec base PROT_NONE", K_PIPE, IN,                         \
	  readv(c->r, iov1(e, e->none, 10), 1))                              \
	X("readv: NULL iovec array", K_STREAM, IN, readv(c->r, nil, 1))      \
	X("readv: PROT_NONE iovec array", K_DGRAM, IN,                       \
	  readv(c->r, (void *)e->none, 1))                                   \
	X("readv: iovcnt -1", K_STREAM, IN, readv(c->r, iov1(e, e->ok, 16),  \
						  minus1))                   \
	X("readv: iovcnt IOV_MAX+1", K_PIPE, IN,                             \
	  readv(c->r, iov1(e, e->ok, 16), IOV_MAX + 1))                      \
	X("readv: second iovec NULL", K_STREAM, IN, readv(c->r, iov2null(e), \
							  2))                \
	X("readv: pty, NULL iovec array", K_PTY, IN, readv(c->r, nil, 1))    \
	X("__read_chk: NULL buffer", K_PIPE, IN,                             \
	  __read_chk(c->r, NULL, 10, 10))                                    \
	X("recv: NULL buffer", K_STREAM, IN, recv(c->r, NULL, 10, 0))        \
	X("recv: PROT_NONE buffer", K_DGRAM, IN, recv(c->r, e->none, 10, 0)) \
	X("recv: TCP, buffer half unmapped, MSG_WAITALL", K_TCP, IN,         \
	  recv(c->r, e->part, 16, MSG_WAITALL))                              \
	X("recv: TCP, NULL buffer", K_TCP, IN, recv(c->r, NULL, 10, 0))      \
	X("recv: after SO_RCVTIMEO of -1 s", K_STREAM, IN,                   \
	  (setsockopt(c->r, SOL_SOCKET, SO_RCVTIMEO, tv(e, -1, 0),           \
		      sizeof(struct timeval)),                               \
	   recv(c->r, e->ok, 16, 0)))                                        \
	X("recv: after SO_RCVTIMEO of LONG_MAX s", K_STREAM, IN,             \
	  (setsockopt(c->r, SOL_SOCKET, SO_RCVTIMEO, tv(e, LONG_MAX, 0),     \
		      sizeof(struct timeval)),                               \
	   recv(c->r, e->ok, 16, 0)))                                        \
	X("recvfrom: address PROT_NONE", K_UDP, IN,                          \
	  recvfrom(c->r, e->ok, 16, 0, (void *)e->none, A(e, 16)))           \
	XN("recvfrom: length pointer PROT_NONE", K_UDP, IN,                  \
	   recvfrom(c->r, e->ok, 16, 0, (void *)e->addr, (void *)e->none))   \
	X("recvfrom: length -1", K_UDP, IN,                                  \
	  recvfrom(c->r, e->ok, 16, 0, (void *)e->addr, A(e, -1)))           \
	X("__recv_chk: PROT_NONE buffer", K_STREAM, IN,                      \
	  __recv_chk(c->r, e->none, 10, 10, 0))                              \
	X("__recvfrom_chk: NULL buffer", K_DGRAM, IN,                        \
	  __recvfrom_chk(c->r, NULL, 10, 10, 0, NULL, NULL))                 \
	X("recvmsg: iovec base NULL", K_STREAM, IN,                          \
	  recvmsg(c->r, msg1(e, NULL, 10), 0))                               \
	X("recvmsg: NULL msghdr", K_STREAM, IN, recvmsg(c->r, NULL, 0))      \
	X("recvmsg: msg_iov PROT_NONE", K_DGRAM, IN,                         \
	  recvmsg(c->r, msgv(e, (void *)e->none, 1), 0))                     \
	X("recvmsg: msg_name PROT_NONE", K_UDP, IN,                          \
	  recvmsg(c->r, msgname(e, e->none, 16), 0))                         \
	X("recvmsg: read-only msghdr", K_UDP, IN, recvmsg(c->r, e->ro_msg,   \
							  0))                \
	X("recvmsg: MSG_WAITALL, second iovec NULL", K_STREAM, IN,           \
	  recvmsg(c->r, msgv(e, iov2null(e), 2), MSG_WAITALL))               \
	X("recvmmsg: iovec base PROT_NONE", K_DGRAM, IN,                     \
	  recvmmsg(c->r, vec1(e, e->none, 10), 1, 0, NULL))                  \
	X("recvmmsg: second message's iovec PROT_NONE", K_DGRAM, IN,         \
	  recvmmsg(c->r, vec2bad(e), 2, 0, NULL))                            \
	X("recvmmsg: read-only time-out", K_DGRAM, IN,                       \
	  recvmmsg(c->r, vec1(e, e->ok, 16), 1, 0, e->ro_ts))                \
	X("recvmmsg: read-only vector", K_DGRAM, IN,                         \
	  recvmmsg(c->r, e->ro_vec, 1, 0, NULL))                             \
	X("recvmmsg: PROT_NONE time-out", K_DGRAM, IN,                       \
	  recvmmsg(c->r, vec1(e, e->ok, 16), 1, 0, (void *)e->none))         \
	X("recvmmsg: time-out -1 ns", K_DGRAM, IN,                           \
	  recvmmsg(c->r, vec1(e, e->ok, 16), 1, 0, ts(e, 0, -1)))            \
	X("recvmmsg: stream, MSG_WAITALL, second iovec NULL", K_STREAM, IN,  \
	  recvmmsg(c->r, vecm(e, msgv(e, iov2null(e), 2)), 1, MSG_WAITALL,   \
		   NULL))                                                    \
	X("accept: address PROT_NONE", K_LISTEN, ACC,                        \
	  accept(c->r, (void *)e->none, A(e, 16)))                           \
	XN("accept: length pointer PROT_NONE", K_LISTEN, ACC,                \
	   accept(c->r, (void *)e->addr, (void *)e->none))                   \
	X("accept: length -1", K_LISTEN, ACC,                                \
	  accept(c->r, (void *)e->addr, A(e, -1)))                           \
	X("accept4: flags 0x40000000", K_LISTEN, ACC,                        \
	  accept4(c->r, NULL, NULL, 0x40000000))                             \
	X("accept4: SOCK_CLOEXEC, address PROT_NONE", K_LISTEN, ACC,         \
	  accept4(c->r, (void *)e->none, A(e, 16), SOCK_CLOEXEC))            \
	X("write: NULL buffer", K_PIPE, OUT, write(c->w, nil, 10))           \
	X("write: PROT_NONE buffer", K_STREAM, OUT, write(c->w, e->none, 10))\
	X("write: buffer half unmapped", K_PIPE, OUT,                        \
	  write(c->w, e->part, 16))                                          \
	X("write: kernel address", K_STREAM, OUT, write(c->w, KERN, 10))     \
	X("writev: NULL iovec array", K_STREAM, OUT, writev(c->w, nil, 1))   \
	X("writev: iovec base PROT_NONE", K_PIPE, OUT,                       \
	  writev(c->w, iov1(e, e->none, 10), 1))                             \
	X("writev: iovcnt IOV_MAX+1", K_STREAM, OUT,                         \
	  writev(c->w, iov1(e, e->ok, 16), IOV_MAX + 1))                     \
	X("writev: second iovec NULL", K_STREAM, OUT,                        \
	  writev(c->w, iov2null(e), 2))                                      \
	X("send: NULL buffer", K_STREAM, OUT, send(c->w, NULL, 10, 0))       \
	X("sendto: PROT_NONE buffer", K_STREAM, OUT,                         \
	  sendto(c->w, e->none, 10, 0, NULL, 0))                             \
	X("sendmsg: iovec base PROT_NONE", K_STREAM, OUT,                    \
	  sendmsg(c->w, msg1(e, e->none, 10), 0))                            \
	X("sendmsg: msg_control PROT_NONE", K_STREAM, OUT,                   \
	  sendmsg(c->w, msg_control(e, e->none, 64), 0))                          \
	X("sendmmsg: iovec base PROT_NONE", K_STREAM, OUT,                   \
	  sendmmsg(c->w, vec1(e, e->none, 10), 1, 0))                        \
	X("sendmmsg: second message PROT_NONE", K_STREAM, OUT,               \
	  sendmmsg(c->w, vec2bad(e), 2, 0))                                  \
	X("sendfile: offset PROT_NONE", K_STREAM, OUT,                       \
	  sendfile(c->w, fil(e), (void *)e->none, 16))                       \
	X("sendfile: offset -1", K_STREAM, OUT,                              \
	  sendfile(c->w, fil(e), off(e, -1), 16))                            \
	X("splice: input offset PROT_NONE", K_PIPE, OUT,                     \
	  splice(fil(e), (void *)e->none, c->w, NULL, 16, 0))                \
	X("splice: flags 0xdeadbeef", K_PIPE, OUT,                           \
	  splice(fil(e), NULL, c->w, NULL, 16, 0xdeadbeef))

struct pcase {
	const char *name;
	int kind, dir;
	bool noasan;
};

#define P_NAME(name, kind, dir, expr) { name, kind, dir, false },
#define P_NAMEN(name, kind, dir, expr) { name, kind, dir, true },
#define P_RUN(name, kind, dir, expr)                                         \
	if (i == k++)                                                        \
		return (long)(expr);

static const struct pcase park_cases[] = { PARK_CASES(P_NAME, P_NAMEN) };

static long park_case(struct env *e, struct chan *c, int i)
{
	int k = 0;

	PARK_CASES(P_RUN, P_RUN)
	return LONG_MIN;
}

/* The peer of a parking case. */
struct peer {
	bool thread;
	int dir;
	struct chan *c;
	size_t fill; /* OUT: the bytes to drain */
	int client;  /* ACC: the socket it connected */
	int at;      /* the step at which it acted */
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	char buf[4096];

	tl_nap_ns(p->thread, DELAY);
	p->at = tl_next_step();
	switch (p->dir) {
	case IN:
		chan_put(p->c, data16, 16);
		break;
	case OUT:
		for (size_t got = 0; got < p->fill;) {
			size_t want = p->fill - got;
			ssize_t n = read(p->c->r, buf, want < sizeof buf ?
						   want : sizeof buf);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		break;
	case ACC:
		p->client = socket(AF_INET, SOCK_STREAM, 0);
		connect(p->client, (struct sockaddr *)&p->c->at,
			sizeof p->c->at);
		break;
	}
	return NULL;
}

static void park_body(struct env *e)
{
	int n = (int)(sizeof park_cases / sizeof park_cases[0]);

	for (int i = 0; i < n; i++) {
		const struct pcase *pc = &park_cases[i];
		struct peer p = { .thread = e->mode != WOVEN, .dir = pc->dir,
				  .client = -1 };
		struct tl_runner run;
		struct chan c;

		if (ASAN && pc->noasan)
			continue;
		e->id = i;
		memset(e->rw[1], 0, (size_t)e->pg);
		memcpy(e->part, "partpart", 8);
		chan_open(e, &c, pc->kind);
		p.c = &c;
		if (pc->dir == OUT)
			p.fill = chan_fill(&c);
		ck_assert_int_eq(tl_runner_start(&run, peer_main, &p, p.thread),
				 0);
		errno = 0;
		long r = park_case(e, &c, i);
		int err = errno, after = tl_next_step();
		note(e, r, err, NULL);
		tl_runner_join(&run);
		keep(e, p.client);
		/* Parked (or blocked) until the peer acted, or not. */
		note(e, p.at > 0 && p.at < after, 0, NULL);
		note_landed(e);
		if (pc->dir == ACC) {
			struct pollfd pf = { .fd = c.r, .events = POLLIN };
			note(e, poll(&pf, 1, 0), 0, NULL);
		} else {
			note_left(e, c.r, pc->dir == OUT && r > 0 ? (size_t)r :
								    0);
		}
		release(e);
	}
}

/* ==== Runs ============================================================== */

enum { F_READ, F_WRITE, F_SOCK, F_FD, F_CTL, F_XFER, F_PARK, NFAMILIES };

static const char *const family_name[NFAMILIES] = {
	"read calls", "write calls", "socket calls", "fd calls",
	"control calls", "sendfile and splice", "parking calls",
};

static void (*const family_body[NFAMILIES])(struct env *) = {
	io_body, io_body, x_body, x_body, x_body, x_body, park_body,
};

/* A script for tl_run_script: arg is family * NMODES + mode. */
static void script(void *rec, int arg, bool weft)
{
	struct env e;

	env_init(&e, arg % NMODES, rec);
	e.family = arg / NMODES;
	in_mode(&e, family_body[e.family]);
	ck_assert_msg(e.rc->n < CAP, "%d steps: raise CAP", e.rc->n);
}

/* Names the case that noted step line of family. */
static void describe(int family, int line, char *buf, size_t size)
{
	if (family == F_READ || family == F_WRITE) {
		const struct row *rows = family == F_READ ? read_rows :
							    write_rows;
		snprintf(buf, size, "%s: %s (%s)", call_name[line / 100000],
			 rows[line / 100 % 1000].name, kind_name[line % 100]);
	} else if (family == F_PARK) {
		snprintf(buf, size, "%s (%s, waiting)", park_cases[line].name,
			 kind_name[park_cases[line].kind]);
	} else {
		snprintf(buf, size, "%s",
			 xtables[family - F_SOCK].cases[line].name);
	}
}

static struct record plain_rec, woven_rec;

/* Runs family plain and in mode, and compares. */
static void differ(int family, int mode)
{
	char what[256], name[160] = "";
	int i;

	tl_run_script(script, family * NMODES + PLAIN, false, &plain_rec,
		      sizeof plain_rec);
	tl_run_script(script, family * NMODES + mode, true, &woven_rec,
		      sizeof woven_rec);
	for (i = 0; i < plain_rec.n || i < woven_rec.n; i++)
		if (memcmp(&plain_rec.r[i], &woven_rec.r[i],
			   sizeof plain_rec.r[i]) != 0)
			break;
	if (i < plain_rec.n || i < woven_rec.n)
		describe(family, i < plain_rec.n ? plain_rec.r[i].line :
						   woven_rec.r[i].line,
			 name, sizeof name);
	snprintf(what, sizeof what, "%s, %s: %s", family_name[family],
		 mode_name[mode], name);
	tl_compare_recs(what, plain_rec.r, plain_rec.n, woven_rec.r,
			woven_rec.n);
}

/* _i: family x (woven, alone, outside). */
START_TEST(bad_input_gives_what_libc_gives)
{
	differ(_i / (NMODES - 1), 1 + _i % (NMODES - 1));
}
END_TEST

/* ==== Fortified calls that overflow ===================================== */

#define CHK_CASES(X)                                                         \
	X("__read_chk: 16 bytes into 8", __read_chk(c[0].r, e->ok, 16, 8))   \
	X("__read_chk: fd -1", __read_chk(-1, e->ok, 16, 8))                 \
	X("__read_chk: NULL buffer", __read_chk(c[0].r, NULL, 16, 8))        \
	X("__read_chk: nothing there yet", __read_chk(c[1].r, e->ok, 16, 8)) \
	X("__read_chk: SIZE_MAX into 8", __read_chk(c[0].r, e->ok, SIZE_MAX, \
						    8))                      \
	X("__recv_chk: 16 bytes into 8", __recv_chk(c[2].r, e->ok, 16, 8, 0))\
	X("__recv_chk: nothing there yet",                                   \
	  __recv_chk(c[3].r, e->ok, 16, 8, 0))                               \
	X("__recv_chk: MSG_DONTWAIT", __recv_chk(c[3].r, e->ok, 16, 8,       \
						 MSG_DONTWAIT))              \
	X("__recvfrom_chk: 16 bytes into 8",                                 \
	  __recvfrom_chk(c[4].r, e->ok, 16, 8, 0, NULL, NULL))               \
	X("__recvfrom_chk: address PROT_NONE",                               \
	  __recvfrom_chk(c[4].r, e->ok, 16, 8, 0, (void *)e->none, A(e, 16)))\
	X("__recvfrom_chk: fd -1", __recvfrom_chk(-1, NULL, 16, 8, 0, NULL,  \
						  NULL))

static const char *const chk_names[] = {
#define C_NAME(name, expr) name,
	CHK_CASES(C_NAME)
#undef C_NAME
};

#define NCHK ((int)(sizeof chk_names / sizeof chk_names[0]))

static int chk_case;

static long chk_run(struct env *e, struct chan *c, int i)
{
	int k = 0;

#define C_RUN(name, expr)                                                    \
	if (i == k++)                                                        \
		return (long)(expr);
	CHK_CASES(C_RUN)
#undef C_RUN
	return LONG_MIN;
}

static void chk_body(struct env *e)
{
	static const int kinds[] = { K_PIPE, K_PIPE, K_STREAM, K_STREAM,
				     K_DGRAM };
	struct chan c[5];

	for (int i = 0; i < 5; i++) {
		chan_open(e, &c[i], kinds[i]);
		if (i % 2 == 0)
			chan_put(&c[i], data16, 16);
	}
	errno = 0;
	long r = chk_run(e, c, chk_case);
	fprintf(stderr, "returned %ld, errno %d\n", r, errno);
}

/* A child for tl_run_in_child: runs chk_case in mode (an int *). */
static int chk_child(void *arg)
{
	static struct record rec;
	struct env e;

	env_init(&e, *(int *)arg, &rec);
	in_mode(&e, chk_body);
	return 0;
}

/* _i: case x (woven, alone, outside). */
START_TEST(fortified_overflow_ends_as_libc_ends)
{
	int mode = PLAIN, status[2];
	char out[2][512];

	chk_case = _i / (NMODES - 1);
	status[0] = tl_run_in_child(chk_child, &mode, out[0], sizeof out[0]);
	mode = 1 + _i % (NMODES - 1);
	status[1] = tl_run_in_child(chk_child, &mode, out[1], sizeof out[1]);
	ck_assert_msg(status[0] == status[1] && strcmp(out[0], out[1]) == 0,
		      "%s, %s: libc ended with status %#x (\"%s\"), weft with "
		      "%#x (\"%s\")", chk_names[chk_case], mode_name[mode],
		      status[0], out[0], status[1], out[1]);
	/* Overflows abort in libc, before any call is made. */
	ck_assert_msg(WIFSIGNALED(status[0]) && WTERMSIG(status[0]) == SIGABRT,
		      "%s: status %#x", chk_names[chk_case], status[0]);
}
END_TEST

/* ==== Suite ============================================================= */

Suite *suite_badinput_io(void)
{
	Suite *s = suite_create("badinput_io");
	TCase *tc = tcase_create("differential");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, bad_input_gives_what_libc_gives, 0,
			    NFAMILIES * (NMODES - 1));
	tcase_add_loop_test(tc, fortified_overflow_ends_as_libc_ends, 0,
			    NCHK * (NMODES - 1));
	suite_add_tcase(s, tc);
	return s;
}
