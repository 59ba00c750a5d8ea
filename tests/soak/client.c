/* client.c - the soak test's load generator and checker.
 *
 * One OS thread, epoll (edge-triggered), non-blocking sockets.  It holds
 * CONNS connections to an echo server on 127.0.0.1:PORT for SECONDS and
 * checks every byte that comes back.  It runs natively; the server it drives
 * is the one under test (tests/soak/run starts it under weft).
 *
 *   client [-c CONNS] [-d SECONDS] [-i INTERVAL] [-S STALL] [-r RATE]
 *          [-a ADDRS] [-s SEED] PORT
 *
 *   -c CONNS     connections held at once (9000)
 *   -d SECONDS   how long to run before draining (60)
 *   -i INTERVAL  seconds between progress lines (10)
 *   -S STALL     no byte checked for STALL seconds anywhere is a hang (30);
 *                one connection that moves nothing for 2*STALL seconds
 *                while it waits on the server is an error
 *   -r RATE      at most RATE reconnects per second (2000)
 *   -a ADDRS     source addresses 127.0.0.2 .. 127.0.0.(ADDRS+1) (8)
 *   -s SEED      seed of every random choice (default: from the clock)
 *
 * Each connection is a state machine that sends messages of 1 B .. 64 KiB
 * (the size's bit length uniform, so 3-byte and 64 KiB messages are both
 * common) and reads the echo.  The bytes are a function of a per-connection
 * seed and the offset in the stream, so nothing sent is stored: a received
 * byte is checked by computing what was sent at its offset.  A new seed for
 * every connection means a byte delivered to the wrong connection is caught.
 *
 * Behaviours, mixed across and within connections:
 *  - churn: three slots in four close after a random number of messages
 *    (log-uniform, 1..512) and reconnect; one in four stays for the run.
 *    Closes are mostly graceful (shutdown(SHUT_WR), then the server's EOF
 *    must arrive after exactly the bytes sent; or a plain close), one in ten
 *    abortive (SO_LINGER 0): half of those after the last echo, half in the
 *    middle of the last message, so the server sees ECONNRESET mid-read or
 *    mid-write.
 *  - slow writers: one message in ten goes out in pieces of 1..2048 bytes
 *    with 1..20 ms pauses.
 *  - slow readers: now and then a connection stops reading for 0.2..3 s
 *    while it keeps sending, up to 256 KiB ahead of what it read, or, for
 *    a few long-lived connections at a time ("deep"), 8 MiB: more than
 *    the kernel's buffers hold (on loopback the server's send buffer grows
 *    to 4 MiB), so the server's write parks; a deep reader's pause counts
 *    from when its window is full.  Then it reads 8..64 pieces of 1..512
 *    bytes with pauses, then catches up.
 * Once SECONDS have passed the client drains: no new messages, pauses end,
 * every connection waits for its last echo and closes gracefully.
 *
 * Output (stdout): a progress line every INTERVAL seconds, a line when every
 * connection has been made once ("ramp-up done"), and one summary line:
 *   soak: result=ok|fail|hang seconds=S conns=C connects=N closes=N
 *         aborts=N messages=N bytes_sent=N bytes_verified=N slow_writes=N
 *         slow_reads=N deep_reads=N errors=N mismatches=N stalls=N
 * (seconds includes the drain; aborts are the client's own resets).
 * Details of failures go to stderr (the first 20), and on a hang a census
 * of the connections.
 *
 * Exit status: 0 when every byte matched and no connection saw an error
 * it did not cause itself; 1 on a mismatch or error; 3 when nothing moved
 * for STALL seconds (a hang); 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG     65536               /* largest message */
#define RING        16                  /* messages a slow reader may have */
#define WINDOW      (256 * 1024)        /* bytes a slow reader may have out */
#define DEEP_RING   2048                /* the same for a deep slow reader */
#define DEEP_WINDOW (8 << 20)
#define MAX_DEEP    8                   /* deep slow readers at once */
#define MAX_PENDING 1024                /* connects in progress at once */
#define CONNECT_EP  UINT64_MAX          /* ep's event for connect_ep */
#define UNLIMITED   UINT32_MAX

enum state { QUEUED, CONNECTING, OPEN, CLOSING, DONE };
enum rphase { READING, STOPPED, TRICKLE };
enum ending { HALF, PLAIN, ABORT, ABORT_MID };

struct conn {
	int fd;
	uint32_t gen;           /* bumped at every close: stale events are dropped */
	uint8_t state;          /* enum state */
	uint8_t rphase;         /* enum rphase */
	uint8_t ending;         /* enum ending: how this connection will close */
	uint8_t can_read, can_write;    /* no EAGAIN seen since the last event */
	uint8_t slow_write;     /* the message being sent goes in pieces */
	uint8_t ever;           /* has connected at least once */
	uint8_t has_abort_at;
	uint8_t in_again;       /* in the again list */
	uint8_t filling;        /* deep slow reader, its window not yet full */
	uint32_t msgs_left;     /* messages still to start before closing */
	uint32_t pieces;        /* TRICKLE: small reads left */
	uint64_t seed;          /* of this connection's byte stream */
	uint64_t tx, rx;        /* stream offsets sent, and received and checked */
	uint64_t msg_end;       /* where the message being sent ends */
	uint64_t abort_at;      /* ABORT_MID: reset once tx reaches this */
	uint64_t *ends;         /* ends of messages whose echo is awaited: */
	uint64_t small[RING];   /* here, or a deep reader's ring (deep >= 0) */
	uint16_t cap, head, count;
	int8_t deep;            /* index in deep_rings, or -1 */
	int64_t wpause, rpause; /* pause ends (ms); 0: none */
	int64_t last_move;      /* when bytes last moved (ms), for stalls */
	int hpos;               /* index in the timer heap, or -1 */
};

static struct conn *conns;
static long nconns = 9000;
static double seconds = 60, interval = 10, stall = 30;
static long reconnect_rate = 2000;
static int naddrs = 8;
static uint64_t seed;
static struct sockaddr_in server;
/* Connections in progress wait in connect_ep, which is itself in ep: a
 * connect is seen at the next turn of the loop, not behind thousands of
 * busy connections in ep's ready list. */
static int ep, connect_ep;
static int draining;
static volatile sig_atomic_t interrupted;
static int64_t now;                     /* ms, refreshed by the main loop */
static int64_t start_ms;

/* Counters. */
static uint64_t bytes_sent, bytes_verified, messages;
static uint64_t connects, closes, aborts, errors, mismatches, stalls;
static uint64_t slow_writes, slow_reads, deep_reads;
static long open_conns, pending, ramped;

/* Connections waiting to connect, in order. */
static uint32_t *queue;
static long q_head, q_len;

/* Timer heap of connections with a pause, keyed by its earliest end. */
static uint32_t *heap;
static long heap_len;

/* Rings for deep slow readers, and which are free. */
static uint64_t deep_rings[MAX_DEEP][DEEP_RING];
static int8_t deep_free[MAX_DEEP];
static int deep_nfree;

/* Connections to pump again next round (see pump()). */
static uint32_t *again;
static long again_len;

static unsigned char sbuf[MAX_MSG], rbuf[MAX_MSG], ebuf[MAX_MSG];

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64's finaliser: a good 64-bit mix of x. */
static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The client's own random choices (not the stream contents). */
static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	rng_state += 0x9e3779b97f4a7c15ull;
	return n ? (uint32_t)(mix(rng_state) % n) : 0;
}

/* Word i of a stream with seed s. */
static uint64_t word(uint64_t s, uint64_t i)
{
	return mix(s + i * 0x9e3779b97f4a7c15ull);
}

/* The stream's bytes [off, off+len) into p: byte i of the stream is byte
 * i%8 of word i/8, little-endian. */
static void fill(uint64_t s, uint64_t off, unsigned char *p, size_t len)
{
	for (; len > 0 && (off & 7); len--, off++)
		*p++ = (unsigned char)(word(s, off >> 3) >> 8 * (off & 7));
	for (; len >= 8; len -= 8, off += 8, p += 8) {
		uint64_t w = htole64(word(s, off >> 3));
		memcpy(p, &w, 8);
	}
	for (; len > 0; len--, off++)
		*p++ = (unsigned char)(word(s, off >> 3) >> 8 * (off & 7));
}

static unsigned msg_size(void)
{
	unsigned bits = rnd(17);        /* 0..16 */
	unsigned lo = 1u << bits;

	if (bits == 16)
		return MAX_MSG;
	return lo + rnd(lo);            /* [2^bits, 2^(bits+1)) */
}

static long reports;
static void report(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (reports++ >= 20) {
		if (reports == 21)
			fprintf(stderr, "soak: (further reports left out)\n");
		return;
	}
	va_start(ap, fmt);
	fprintf(stderr, "soak: ");
	if (c)
		fprintf(stderr, "conn %ld (fd %d, seed %#llx, sent %llu, "
			"checked %llu): ", (long)(c - conns), c->fd,
			(unsigned long long)c->seed, (unsigned long long)c->tx,
			(unsigned long long)c->rx);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* ---- the timer heap ---- */

static int64_t wake_of(struct conn *c)
{
	if (c->wpause && c->rpause)
		return c->wpause < c->rpause ? c->wpause : c->rpause;
	return c->wpause ? c->wpause : c->rpause;
}

static void heap_put(long i, uint32_t idx)
{
	heap[i] = idx;
	conns[idx].hpos = (int)i;
}

static void heap_up(long i)
{
	uint32_t idx = heap[i];
	int64_t key = wake_of(&conns[idx]);

	while (i > 0 && wake_of(&conns[heap[(i - 1) / 2]]) > key) {
		heap_put(i, heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_put(i, idx);
}

static void heap_down(long i)
{
	uint32_t idx = heap[i];
	int64_t key = wake_of(&conns[idx]);

	for (;;) {
		long k = 2 * i + 1;
		if (k >= heap_len)
			break;
		if (k + 1 < heap_len && wake_of(&conns[heap[k + 1]]) <
					wake_of(&conns[heap[k]]))
			k++;
		if (wake_of(&conns[heap[k]]) >= key)
			break;
		heap_put(i, heap[k]);
		i = k;
	}
	heap_put(i, idx);
}

/* Puts c in the heap at its earliest pause end, or takes it out. */
static void rearm(struct conn *c)
{
	long i = c->hpos;

	if (wake_of(c) == 0) {
		if (i < 0)
			return;
		c->hpos = -1;
		if (i != --heap_len) {
			uint32_t moved = heap[heap_len];

			heap_put(i, moved);
			heap_up(i);
			heap_down(conns[moved].hpos);
		}
		return;
	}
	if (i < 0) {
		heap_put(heap_len, (uint32_t)(c - conns));
		heap_up(heap_len++);
	} else {
		heap_up(i);
		heap_down(c->hpos);
	}
}

/* ---- message rings ---- */

static void ring_small(struct conn *c)
{
	c->ends = c->small;
	c->cap = RING;
	c->head = c->count = 0;
	c->deep = -1;
}

/* Gives c a deep ring if one is free; c has no message out.  Its receive
 * buffer is fixed small from now on: autotuning may have grown it to
 * megabytes, which would take in what is meant to fill the server's send
 * buffer. */
static void ring_deep(struct conn *c)
{
	int size = 64 * 1024;

	if (deep_nfree == 0)
		return;
	c->deep = deep_free[--deep_nfree];
	c->ends = deep_rings[c->deep];
	c->cap = DEEP_RING;
	c->head = c->count = 0;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	deep_reads++;
}

/* Returns c's deep ring, if it has one, to the pool. */
static void ring_release(struct conn *c)
{
	if (c->deep >= 0)
		deep_free[deep_nfree++] = c->deep;
	ring_small(c);
}

/* ---- connection life ---- */

static void queue_push(struct conn *c)
{
	c->state = QUEUED;
	queue[(q_head + q_len++) % nconns] = (uint32_t)(c - conns);
}

/* Ends c's socket; how: ABORT for SO_LINGER 0.  The slot reconnects unless
 * the run is draining. */
static void finish(struct conn *c, int abortive)
{
	if (abortive) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(c->fd);
	c->fd = -1;
	c->gen++;
	ring_release(c);
	if (c->state == CONNECTING)
		pending--;
	else
		open_conns--;
	c->wpause = c->rpause = 0;
	rearm(c);
	if (draining)
		c->state = DONE;
	else
		queue_push(c);
}

/* A failure c did not cause: counted, reported, and the slot reconnects. */
static void fail(struct conn *c, const char *what, int err)
{
	errors++;
	report(c, "%s: %s", what, err ? strerror(err) : "unexpected");
	finish(c, 0);
}

/* TIME_WAIT and ephemeral ports: a graceful close leaves the client, which
 * closes first, holding its 4-tuple in TIME_WAIT for 60 s.  One source
 * address gives about 28,000 ports (32768-60999), so reconnecting faster
 * than ~470/s for ten minutes could run out (EADDRNOTAVAIL) wherever
 * tcp_tw_reuse does not let loopback reuse them.  So the connections are
 * spread over ADDRS source addresses (127.0.0.2 onwards; all of 127/8 is
 * loopback), bound with IP_BIND_ADDRESS_NO_PORT so the port is picked per
 * 4-tuple at connect, and reconnects are capped at RATE/s: 8 x 28,000
 * tuples / 60 s = 3,700/s of head-room against the 2,000/s cap (the
 * soak's churn is a few hundred a second).  Abortive closes leave no
 * TIME_WAIT at all. */
static void start_connect(struct conn *c)
{
	struct sockaddr_in src = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 +
					 (uint32_t)((c - conns) % naddrs)),
	};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		errors++;
		report(c, "socket: %s", strerror(errno));
		queue_push(c);
		return;
	}
	c->fd = fd;
	c->state = CONNECTING;
	c->can_read = c->can_write = 0;
	c->last_move = now;
	pending++;
	/* The port is chosen at connect from the whole 4-tuple, not at bind
	 * from the address alone. */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
		fail(c, "bind", errno);
		return;
	}
	if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0 &&
	    errno != EINPROGRESS) {
		fail(c, "connect", errno);
		return;
	}
	/* Added after connect: an unconnected socket polls as EPOLLHUP. */
	struct epoll_event ev = {
		.events = EPOLLOUT,
		.data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - conns),
	};
	if (epoll_ctl(connect_ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		fail(c, "epoll_ctl", errno);
}

/* The connection is up: choose how it lives and ends. */
static void opened(struct conn *c)
{
	long slot = c - conns;
	uint32_t r = rnd(100);

	pending--;
	open_conns++;
	connects++;
	if (!c->ever) {
		c->ever = 1;
		if (++ramped == nconns) {
			printf("soak: ramp-up done: every connection made once, "
			       "open=%ld, after %.1f s\n", open_conns,
			       (double)(now - start_ms) / 1000);
			fflush(stdout);
		}
	}
	c->state = OPEN;
	c->seed = mix(seed ^ mix((uint64_t)slot << 32 | c->gen));
	c->tx = c->rx = c->msg_end = 0;
	ring_release(c);
	c->rphase = READING;
	c->slow_write = 0;
	c->has_abort_at = 0;
	c->filling = 0;
	c->last_move = now;
	c->msgs_left = slot % 4 == 0 ? UNLIMITED :
		1 + rnd(1u << rnd(10));
	c->ending = r < 60 ? HALF : r < 90 ? PLAIN : r < 95 ? ABORT : ABORT_MID;
}

/* Starts the next message if c may have one out now; returns 1 if so. */
static int start_message(struct conn *c)
{
	unsigned size;

	if (draining || c->msgs_left == 0 || c->tx != c->msg_end)
		return 0;
	if (c->rphase == READING) {
		if (c->count > 0)
			return 0;
		/* Nothing out: perhaps stop reading for a while. */
		if (rnd(50) == 0) {
			c->rphase = STOPPED;
			c->rpause = now + 200 + rnd(2800);
			rearm(c);
			slow_reads++;
			if (c->msgs_left == UNLIMITED && rnd(4) == 0)
				ring_deep(c);
			if (c->deep >= 0) {
				/* Its pause counts from when its window is
				 * full; 5 s at most if it never fills. */
				c->filling = 1;
				c->rpause = now + 5000;
				rearm(c);
			}
		}
	} else if (c->count == c->cap || c->tx - c->rx >=
		   (c->deep >= 0 ? DEEP_WINDOW : WINDOW)) {
		return 0;
	}
	size = msg_size();
	c->msg_end = c->tx + size;
	c->ends[(c->head + c->count++) % c->cap] = c->msg_end;
	if (c->msgs_left != UNLIMITED)
		c->msgs_left--;
	/* A slow reader's messages go out at full speed, to fill buffers. */
	c->slow_write = size > 1 && c->rphase == READING && rnd(10) == 0;
	slow_writes += c->slow_write;
	if (c->msgs_left == 0 && c->ending == ABORT_MID) {
		c->abort_at = c->tx + rnd(size + 1);
		c->has_abort_at = 1;
	}
	return 1;
}

/* Checks n received bytes at c->rx against what was sent; returns 0, or
 * -1 after a mismatch (the connection is then reset). */
static int verify(struct conn *c, const unsigned char *p, size_t n)
{
	size_t sent = c->tx - c->rx, k = n < sent ? n : sent, i;

	fill(c->seed, c->rx, ebuf, k);
	if (memcmp(p, ebuf, k) != 0) {
		for (i = 0; p[i] == ebuf[i]; i++)
			;
		mismatches++;
		report(c, "MISMATCH at stream offset %llu: got %#x, sent %#x "
		       "(%zu-byte read)", (unsigned long long)(c->rx + i),
		       p[i], ebuf[i], n);
		finish(c, 1);
		return -1;
	}
	if (k < n) {
		mismatches++;
		report(c, "MISMATCH: %zu bytes came back that were never sent",
		       n - k);
		finish(c, 1);
		return -1;
	}
	return 0;
}

/* The connection has nothing out: close it the way chosen, or go on. */
static void maybe_end(struct conn *c)
{
	if (c->state != OPEN || c->count > 0 || c->tx != c->msg_end)
		return;
	if (!draining && c->msgs_left > 0)
		return;
	if (draining || c->ending == HALF || c->ending == ABORT_MID) {
		/* ABORT_MID resets in pump_write, so it gets here only when
		 * draining; draining always closes gracefully. */
		if (shutdown(c->fd, SHUT_WR) < 0) {
			fail(c, "shutdown", errno);
			return;
		}
		c->state = CLOSING;
		return;
	}
	closes++;
	if (c->ending == ABORT)
		aborts++;
	finish(c, c->ending == ABORT);
}

/* A deep slow reader that may send no more (its window is full, or its
 * messages are all out) stays stopped for 0.2..3 s from now. */
static void stopped_full(struct conn *c)
{
	if (c->filling && c->rphase == STOPPED) {
		c->filling = 0;
		c->rpause = now + 200 + rnd(2800);
		rearm(c);
	}
}

/* Sends what c may send now; returns 1 if bytes moved, -1 if c closed. */
static int pump_write(struct conn *c)
{
	size_t len;
	ssize_t n;

	if (c->state != OPEN || !c->can_write || c->wpause)
		return 0;
	if (c->tx == c->msg_end && !start_message(c)) {
		stopped_full(c);
		return 0;
	}
	len = c->msg_end - c->tx;
	if (len > MAX_MSG)
		len = MAX_MSG;
	if (c->slow_write && !draining && len > 1)
		len = 1 + rnd(len < 2048 ? (uint32_t)len : 2048);
	if (c->has_abort_at && c->abort_at - c->tx < len)
		len = c->abort_at - c->tx;
	if (len > 0) {
		fill(c->seed, c->tx, sbuf, len);
		n = send(c->fd, sbuf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN) {
				c->can_write = 0;
				return 0;
			}
			fail(c, "send", errno);
			return -1;
		}
		c->tx += (size_t)n;
		bytes_sent += (size_t)n;
		c->last_move = now;
	}
	if (c->has_abort_at && c->tx == c->abort_at) {
		closes++;
		aborts++;
		finish(c, 1);
		return -1;
	}
	if (c->slow_write && !draining && c->tx < c->msg_end) {
		c->wpause = now + 1 + rnd(20);
		rearm(c);
	}
	return 1;
}

/* Reads and checks what c may read now; returns 1 if bytes moved, -1 if
 * c closed. */
static int pump_read(struct conn *c)
{
	size_t len = sizeof rbuf;
	ssize_t n;

	if (!c->can_read || c->rpause || c->rphase == STOPPED)
		return 0;
	if (c->rphase == TRICKLE)
		len = 1 + rnd(512);
	n = recv(c->fd, rbuf, len, 0);
	if (n < 0) {
		if (errno == EAGAIN) {
			c->can_read = 0;
			return 0;
		}
		fail(c, "recv", errno);
		return -1;
	}
	if (n == 0) {
		if (c->state == CLOSING && c->rx == c->tx) {
			closes++;
			finish(c, 0);
		} else {
			fail(c, "the server closed the connection early", 0);
		}
		return -1;
	}
	if (verify(c, rbuf, (size_t)n) < 0)
		return -1;
	c->rx += (size_t)n;
	bytes_verified += (size_t)n;
	c->last_move = now;
	while (c->count > 0 && c->ends[c->head] <= c->rx) {
		c->head = (c->head + 1) % c->cap;
		c->count--;
		messages++;
	}
	if (c->count == 0 && c->deep >= 0 && c->rphase == READING)
		ring_release(c);
	if (c->rphase == TRICKLE) {
		if (--c->pieces == 0 || draining) {
			c->rphase = READING;
		} else {
			c->rpause = now + 1 + rnd(20);
			rearm(c);
		}
	}
	return 1;
}

/* Moves c as far as it can go without waiting. */
static void pump(struct conn *c)
{
	int w, r;

	if (c->state == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		struct sockaddr_in peer;
		socklen_t plen = sizeof peer;

		if (!c->can_write)
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			fail(c, "connect", err);
			return;
		}
		if (getpeername(c->fd, (struct sockaddr *)&peer, &plen) < 0) {
			if (errno != ENOTCONN) {
				fail(c, "getpeername", errno);
				return;
			}
			c->can_write = 0;       /* still in progress */
			return;
		}
		/* From connect_ep to ep.  Edge-triggered: what is ready now
		 * is reported once. */
		struct epoll_event ev = {
			.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			.data.u64 = (uint64_t)c->gen << 32 |
				    (uint64_t)(c - conns),
		};
		if (epoll_ctl(connect_ep, EPOLL_CTL_DEL, c->fd, NULL) < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			fail(c, "epoll_ctl", errno);
			return;
		}
		c->can_read = c->can_write = 0;
		opened(c);
	}
	for (int rounds = 0;; rounds++) {
		if ((w = pump_write(c)) < 0 || (r = pump_read(c)) < 0)
			return;
		maybe_end(c);
		if (c->state != OPEN && c->state != CLOSING)
			return;
		if (!w && !r)
			return;
		if (rounds == 8) {
			/* Others' turn: edge-triggered, so c must be noted to
			 * come back to, as it has not seen EAGAIN. */
			if (!c->in_again) {
				c->in_again = 1;
				again[again_len++] = (uint32_t)(c - conns);
			}
			return;
		}
	}
}

/* Connections that stopped for fairness, not for EAGAIN: on again. */
static void pump_again(void)
{
	long n = again_len, i;

	for (i = 0; i < n; i++) {
		struct conn *c = &conns[again[i]];

		c->in_again = 0;
		if (c->state == OPEN || c->state == CLOSING)
			pump(c);
	}
	/* pump() appended those still busy after n; each appends itself
	 * once at most (in_again), so the list holds at most 2 * nconns. */
	memmove(again, again + n, (size_t)(again_len - n) * sizeof *again);
	again_len -= n;
}

/* Pauses that ended: clear them and move the connection on. */
static void fire_timers(void)
{
	while (heap_len > 0) {
		struct conn *c = &conns[heap[0]];

		if (wake_of(c) > now)
			break;
		if (c->wpause && c->wpause <= now)
			c->wpause = 0;
		if (c->rpause && c->rpause <= now) {
			c->rpause = 0;
			if (c->rphase == STOPPED) {
				c->rphase = TRICKLE;
				c->filling = 0;
				c->pieces = 8 + rnd(57);
			}
		}
		rearm(c);
		pump(c);
	}
}

/* Time is up: no new messages, no pauses; each connection finishes what it
 * has out and closes gracefully. */
static void start_drain(void)
{
	draining = 1;
	q_len = 0;
	for (long i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		if (c->state == QUEUED) {
			c->state = DONE;
			continue;
		}
		if (c->state == DONE)
			continue;
		c->wpause = c->rpause = 0;
		c->rphase = READING;
		c->slow_write = 0;
		c->has_abort_at = 0;
		c->last_move = now;
		rearm(c);
		if (c->state == OPEN) {
			c->can_read = c->can_write = 1;
			maybe_end(c);
		}
		if (c->state != DONE)
			pump(c);
	}
}

/* Starts queued connects: ramp-up as fast as MAX_PENDING allows, then at
 * most reconnect_rate per second. */
static double tokens;
static int64_t last_refill;
static void start_connects(void)
{
	tokens += (double)(now - last_refill) * reconnect_rate / 1000;
	if (tokens > reconnect_rate / 10.0 + 1)
		tokens = reconnect_rate / 10.0 + 1;
	last_refill = now;
	/* One pass over the queue at most: a slot that fails at once goes
	 * back to its end. */
	for (long tries = q_len; tries > 0 && q_len > 0 && pending < MAX_PENDING;
	     tries--) {
		struct conn *c = &conns[queue[q_head]];

		if (c->ever) {
			if (tokens < 1)
				break;
			tokens--;
		}
		q_head = (q_head + 1) % nconns;
		q_len--;
		start_connect(c);
	}
}

/* Connections that wait on the server yet have moved nothing for long. */
static void find_stalls(void)
{
	int64_t limit = (int64_t)(2 * stall * 1000);

	for (long i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		if ((c->state != CONNECTING && c->state != OPEN &&
		     c->state != CLOSING) || c->wpause || c->rpause ||
		    c->rphase == STOPPED || now - c->last_move < limit)
			continue;
		stalls++;
		report(c, "STALLED: nothing moved for %.0f s (state %d, "
		       "%llu bytes awaited)", 2 * stall, c->state,
		       (unsigned long long)(c->tx - c->rx));
		errors++;
		finish(c, 1);
	}
}

/* Moves the connections n events (of ep or connect_ep) are for. */
static void handle(struct epoll_event *events, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t data = events[i].data.u64;
		struct conn *c = &conns[(uint32_t)data];
		uint32_t ev = events[i].events;

		if (data == CONNECT_EP || (uint32_t)(data >> 32) != c->gen ||
		    c->fd < 0)
			continue;
		if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->can_read = 1;
		if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			c->can_write = 1;
		pump(c);
	}
}

/* The client itself did not run for gap ms (a loaded or thrashing
 * machine stops every process alike): that time does not count towards a
 * connection's stall. */
static void excuse(int64_t gap)
{
	for (long i = 0; i < nconns; i++)
		conns[i].last_move += gap;
}

/* On stderr: how many connections are in each state, and a few of those
 * not done, for a person looking into a hang. */
static void census(void)
{
	long n[DONE + 1] = { 0 }, shown = 0;

	for (long i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		n[c->state]++;
		if (c->state == DONE || c->state == QUEUED || shown++ >= 5)
			continue;
		fprintf(stderr, "soak:   conn %ld: fd %d, state %d, sent %llu, "
			"checked %llu, message ends at %llu, %d out, readable "
			"%d, writable %d, read phase %d, deep %d, pauses %lld/%lld "
			"ms, idle %lld ms\n", i, c->fd, c->state,
			(unsigned long long)c->tx, (unsigned long long)c->rx,
			(unsigned long long)c->msg_end, c->count, c->can_read,
			c->can_write, c->rphase, c->deep,
			(long long)(c->wpause ? c->wpause - now : 0),
			(long long)(c->rpause ? c->rpause - now : 0),
			(long long)(now - c->last_move));
	}
	fprintf(stderr, "soak: connections: queued %ld, connecting %ld, "
		"open %ld, closing %ld, done %ld; paused timers %ld\n",
		n[QUEUED], n[CONNECTING], n[OPEN], n[CLOSING], n[DONE],
		heap_len);
}

static void summary(const char *result, double secs)
{
	printf("soak: result=%s seconds=%.1f conns=%ld connects=%llu "
	       "closes=%llu aborts=%llu messages=%llu bytes_sent=%llu "
	       "bytes_verified=%llu slow_writes=%llu slow_reads=%llu "
	       "deep_reads=%llu errors=%llu mismatches=%llu stalls=%llu\n",
	       result, secs, nconns, (unsigned long long)connects,
	       (unsigned long long)closes, (unsigned long long)aborts,
	       (unsigned long long)messages, (unsigned long long)bytes_sent,
	       (unsigned long long)bytes_verified,
	       (unsigned long long)slow_writes, (unsigned long long)slow_reads,
	       (unsigned long long)deep_reads, (unsigned long long)errors,
	       (unsigned long long)mismatches, (unsigned long long)stalls);
	fflush(stdout);
}

/* Every connection needs a descriptor: the soft limit goes up to the hard
 * one.  Returns -1 (said on stderr) if that is still too few. */
static int raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)nconns + 16 > rl.rlim_cur) {
		fprintf(stderr, "soak: %ld connections need %ld fds; the limit "
			"is %llu\n", nconns, nconns + 16,
			(unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

/* The progress line; the rate is over the ms since the last line. */
static void progress(double secs, uint64_t verified_before, int64_t ms)
{
	printf("soak: t=%.0fs open=%ld connecting=%ld queued=%ld connects=%llu "
	       "messages=%llu bytes_verified=%llu rate=%.1fMB/s errors=%llu "
	       "mismatches=%llu\n", secs, open_conns, pending, q_len,
	       (unsigned long long)connects, (unsigned long long)messages,
	       (unsigned long long)bytes_verified,
	       (double)(bytes_verified - verified_before) / (ms ? ms : 1) / 1e3,
	       (unsigned long long)errors, (unsigned long long)mismatches);
	fflush(stdout);
}

/* How long the loop may wait in epoll_wait: until the next pause ends, at
 * most 100 ms; not at all when connections are owed another turn. */
static int loop_timeout(void)
{
	int timeout = 100;

	if (heap_len > 0) {
		int64_t t = wake_of(&conns[heap[0]]) - now;
		timeout = t < 0 ? 0 : t < timeout ? (int)t : timeout;
	}
	if (q_len > 0 && pending < MAX_PENDING && timeout > 5)
		timeout = 5;    /* waiting for reconnect tokens */
	if (again_len > 0)
		timeout = 0;
	return timeout;
}

static void on_signal(int sig)
{
	interrupted = sig;
}

static void usage(void)
{
	fprintf(stderr, "usage: client [-c CONNS] [-d SECONDS] [-i INTERVAL] "
		"[-S STALL] [-r RATE] [-a ADDRS] [-s SEED] PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct epoll_event events[1024];
	int opt, port;
	int have_seed = 0;

	while ((opt = getopt(argc, argv, "c:d:i:S:r:a:s:")) != -1) {
		switch (opt) {
		case 'c': nconns = atol(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'i': interval = atof(optarg); break;
		case 'S': stall = atof(optarg); break;
		case 'r': reconnect_rate = atol(optarg); break;
		case 'a': naddrs = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); have_seed = 1; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || nconns < 1 || seconds <= 0 || interval <= 0 ||
	    stall <= 0 || reconnect_rate < 1 || naddrs < 1 || naddrs > 250)
		usage();
	port = atoi(argv[optind]);
	if (port <= 0 || port > 65535)
		usage();
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	rng_state = mix(seed);

	if (raise_nofile() < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)port);
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	conns = calloc((size_t)nconns, sizeof *conns);
	queue = calloc((size_t)nconns, sizeof *queue);
	heap = calloc((size_t)nconns, sizeof *heap);
	again = calloc(2 * (size_t)nconns, sizeof *again);
	ep = epoll_create1(EPOLL_CLOEXEC);
	connect_ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event cev = { .events = EPOLLIN, .data.u64 = CONNECT_EP };
	if (!conns || !queue || !heap || !again || ep < 0 || connect_ep < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, connect_ep, &cev) < 0) {
		perror("soak: start");
		return 2;
	}

	int64_t start = start_ms = clock_ms();
	int64_t end = start + (int64_t)(seconds * 1000);
	int64_t next_report = start + (int64_t)(interval * 1000);
	int64_t next_scan = start + 1000, last_progress = start;
	uint64_t seen_verified = 0, seen_connects = 0, seen_closes = 0;
	uint64_t report_verified = 0;

	now = last_refill = start;
	for (deep_nfree = 0; deep_nfree < MAX_DEEP; deep_nfree++)
		deep_free[deep_nfree] = (int8_t)deep_nfree;
	printf("soak: %ld connections to 127.0.0.1:%d for %.0f s, seed %#llx\n",
	       nconns, port, seconds, (unsigned long long)seed);
	fflush(stdout);
	for (long i = 0; i < nconns; i++) {
		conns[i].fd = -1;
		conns[i].hpos = -1;
		ring_small(&conns[i]);
		queue_push(&conns[i]);
	}

	int64_t last_top = start;
	while (!interrupted) {
		now = clock_ms();
		if (now - last_top > 1000) {
			/* A turn of the loop waits 100 ms at most: the client
			 * was held up, not the server. */
			excuse(now - last_top);
			last_progress += now - last_top;
		}
		last_top = now;
		/* Judged here, after any excuse for the turn before. */
		if (now >= next_scan) {
			next_scan = now + 1000;
			find_stalls();
		}
		if (now - last_progress > (int64_t)(stall * 1000)) {
			fprintf(stderr, "soak: HANG: nothing moved for %.0f s\n",
				stall);
			census();
			summary("hang", (double)(now - start) / 1000);
			return 3;
		}
		if (!draining && now >= end) {
			start_drain();
			printf("soak: draining at t=%.1fs: open=%ld\n",
			       (double)(now - start) / 1000, open_conns + pending);
			fflush(stdout);
		}
		if (draining && open_conns + pending == 0)
			break;
		start_connects();

		int n = epoll_wait(ep, events, 1024, loop_timeout());
		if (n < 0 && errno != EINTR) {
			perror("soak: epoll_wait");
			return 2;
		}
		now = clock_ms();
		handle(events, n);
		handle(events, epoll_wait(connect_ep, events, 1024, 0));
		fire_timers();
		pump_again();

		if (bytes_verified != seen_verified || connects != seen_connects ||
		    closes != seen_closes) {
			seen_verified = bytes_verified;
			seen_connects = connects;
			seen_closes = closes;
			last_progress = now;
		}
		if (now >= next_report) {
			int64_t step = (int64_t)(interval * 1000);

			progress((double)(now - start) / 1000, report_verified,
				 now - (next_report - step));
			report_verified = bytes_verified;
			next_report += step;
			if (next_report <= now)         /* the client was held up */
				next_report = now + step;
		}
	}
	if (interrupted) {
		fprintf(stderr, "soak: interrupted by signal %d\n",
			(int)interrupted);
		census();
		summary("fail", (double)(clock_ms() - start) / 1000);
		return 1;
	}
	int bad = errors || mismatches;
	summary(bad ? "fail" : "ok", (double)(now - start) / 1000);
	return bad;
}
