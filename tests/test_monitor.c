/* test_monitor.c - the monitor: a green thread that holds its OS thread
 * (it computes, or blocks in a call weft does not see) does not hold up the
 * other green threads of its scheduler, and goes on as itself afterwards.
 *
 * Each test asks for a pool of two schedulers.  Green threads are placed
 * on the less loaded one, so of the tickers made after a holder, half
 * share the holder's scheduler: each ticker must tick while the holder
 * holds.  One test turns the monitor off and sees some tickers stop, so
 * the others can fail.
 *
 * A ticker may also move to the other scheduler while runnable (an idle
 * member is given half of a busy one's queue), and on a slow machine all
 * of them may have moved before the holder holds.  So a holder holds
 * only once a ticker belongs to its own scheduler.
 *
 * The holders hold until every ticker has ticked (or PATIENCE ends), not
 * for a fixed time: the tickers that share a holder's scheduler tick only
 * once the monitor has handed it off, however slowly the machine runs
 * them (under valgrind one thread runs at a time, beside other suites).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "../core/monitor.h"
#include "../core/core.h"
#include "../core/sched.h"
#include "../hook/green.h"
#include "testlib.h"

#define TICKERS 8
#define HOLD_MS 300         /* at least, and without the monitor exactly */
#define PATIENCE_S 20       /* at most, for every ticker to tick */

static _Atomic bool stop;
static _Atomic long ticks[TICKERS];
static struct weft__co *_Atomic ticker_co[TICKERS];

static void pool_of_two(void)
{
	ck_assert_int_eq(weft_cpus(2), 2);
	weft__green_set(true);
}

/* Ticks every millisecond, in a wait weft parks, until stopped. */
static void *ticker(void *p)
{
	_Atomic long *n = p;

	atomic_store(&ticker_co[n - ticks], weft__current());
	while (!atomic_load(&stop)) {
		usleep(1000);
		atomic_fetch_add(n, 1);
	}
	return NULL;
}

/* What a holder checks about itself after holding. */
struct holder {
	int how;                 /* HOLD_* */
	bool exact;              /* hold HOLD_MS, not until all ticked */
	_Atomic bool holding;    /* ticks_before is taken */
	int pipe[2];             /* HOLD_READ: the byte to wait for */
	long ticks_before[TICKERS], ticks_after[TICKERS];
	pthread_t self_before, self_after;
	long tls_after;
	int errno_after;
	bool shared;             /* a ticker waited on its scheduler */
};

enum { HOLD_COMPUTE, HOLD_READ };

static __thread long mine;

static void snapshot(long *to)
{
	for (int i = 0; i < TICKERS; i++)
		to[i] = atomic_load(&ticks[i]);
}

/* Whether every ticker has ticked since the counts in before. */
static bool all_ticked(const long *before)
{
	for (int i = 0; i < TICKERS; i++)
		if (atomic_load(&ticks[i]) == before[i])
			return false;
	return true;
}

/* Whether a ticker belongs to the caller's scheduler, so that (the
 * caller running there now) it waits there, parked or queued, until the
 * scheduler runs again: only the scheduler's own thread moves its
 * coroutines to another, as it runs. */
static bool one_shares(void)
{
	for (int i = 0; i < TICKERS; i++) {
		struct weft__co *co = atomic_load(&ticker_co[i]);
		if (co != NULL && co->sched == weft__current_sched())
			return true;
	}
	return false;
}

/* When a holder may stop holding: after HOLD_MS, and then, with the
 * monitor on, once every ticker has ticked or PATIENCE_S has passed. */
static int64_t patience_ns(void)
{
	return (RUNNING_ON_VALGRIND ? 5 : 1) * PATIENCE_S * SEC;
}

/* Holds its OS thread without entering weft (see patience_ns), then
 * checks that it is still itself and can park and allocate as before. */
static void *holder(void *p)
{
	struct holder *h = p;

	mine = 42;
	errno = 7;
	h->self_before = pthread_self();
	usleep(20000); /* the tickers start meanwhile */
	for (int64_t end = tl_mono_ns() + patience_ns();
	     !one_shares() && tl_mono_ns() < end;)
		usleep(1000);
	h->shared = one_shares();
	snapshot(h->ticks_before);
	atomic_store(&h->holding, true);
	if (h->how == HOLD_COMPUTE) {
		int64_t start = tl_mono_ns();
		int64_t end = start + (h->exact ? HOLD_MS * MS : patience_ns());
		while (tl_mono_ns() < end &&
		       (h->exact || tl_mono_ns() - start < HOLD_MS * MS ||
			!all_ticked(h->ticks_before)))
			;
	} else {
		char c;
		/* A raw read, as liburing's io_uring_enter: weft sees none. */
		ck_assert_int_eq(syscall(SYS_read, h->pipe[0], &c, 1), 1);
	}
	snapshot(h->ticks_after);
	h->errno_after = errno;
	usleep(1000); /* back into weft: it rejoins its scheduler */
	h->self_after = pthread_self();
	h->tls_after = mine;
	for (int i = 0; i < 1000; i++)
		free(malloc((size_t)(16 + i)));
	return NULL;
}

/* Runs a holder and the tickers; returns how many tickers did not tick
 * while it held. */
static int run_holder(struct holder *h)
{
	pthread_t t[TICKERS];
	int stalled = 0;

	atomic_store(&stop, false);
	pthread_t ht = tl_pthread(holder, h, 0);
	for (int i = 0; i < TICKERS; i++)
		t[i] = tl_pthread(ticker, (void *)&ticks[i], 0);
	if (h->how == HOLD_READ) {
		/* Once the holder reads, give it HOLD_MS, then wait for
		 * the tickers (it reports those that did not tick). */
		int64_t end = tl_mono_ns() + patience_ns();
		while (!atomic_load(&h->holding) && tl_mono_ns() < end)
			usleep(1000);
		usleep(HOLD_MS * 1000);
		while (!all_ticked(h->ticks_before) && tl_mono_ns() < end)
			usleep(1000);
		ck_assert_int_eq(write(h->pipe[1], "x", 1), 1);
	}
	tl_pthread_join(ht);
	ck_assert_msg(h->shared, "no ticker waited on the holder's scheduler");
	atomic_store(&stop, true);
	for (int i = 0; i < TICKERS; i++) {
		tl_pthread_join(t[i]);
		stalled += h->ticks_after[i] == h->ticks_before[i];
	}
	return stalled;
}

static void check_itself(const struct holder *h)
{
	ck_assert(pthread_equal(h->self_before, h->self_after));
	ck_assert_int_eq(h->tls_after, 42);
	ck_assert_int_eq(h->errno_after, 7);
}

START_TEST(a_thread_that_computes_does_not_hold_up_the_others)
{
	struct holder h = { .how = HOLD_COMPUTE };
	struct weft__held last;
	uint64_t total;

	pool_of_two();
	ck_assert_int_eq(run_holder(&h), 0);
	check_itself(&h);
	ck_assert_uint_eq(weft__monitor_recent(&last, 1, &total), 1);
	ck_assert_uint_ge(total, 1);
	/* In no system call.  Valgrind runs one thread at a time; a thread
	 * waiting its turn is in read(2) on valgrind's own pipe, and /proc
	 * says so. */
	if (RUNNING_ON_VALGRIND)
		ck_assert(last.syscall == -1 || last.syscall == SYS_read);
	else
		ck_assert_int_eq(last.syscall, -1);
	ck_assert_int_ge(last.ns, 10000000);
}
END_TEST

START_TEST(a_thread_in_a_raw_system_call_does_not_hold_up_the_others)
{
	struct holder h = { .how = HOLD_READ };
	struct weft__held last;
	uint64_t total;

	ck_assert_int_eq(pipe(h.pipe), 0);
	pool_of_two();
	ck_assert_int_eq(run_holder(&h), 0);
	check_itself(&h);
	ck_assert_uint_eq(weft__monitor_recent(&last, 1, &total), 1);
	ck_assert_int_eq(last.syscall, SYS_read);
	close(h.pipe[0]);
	close(h.pipe[1]);
}
END_TEST

START_TEST(without_the_monitor_a_computing_thread_holds_up_its_scheduler)
{
	struct holder h = { .how = HOLD_COMPUTE, .exact = true };
	uint64_t total;
	struct weft__held last;

	setenv("WEFT_MONITOR_MS", "0", 1);
	pool_of_two();
	ck_assert_int_gt(run_holder(&h), 0);
	check_itself(&h);
	ck_assert_uint_eq(weft__monitor_recent(&last, 1, &total), 0);
	ck_assert_uint_eq(total, 0);
}
END_TEST

/* Several holders at once, each computing until released: each needs a
 * thread of its own, made as needed. */
static _Atomic int computing;
static _Atomic bool release;

static void *computer(void *p)
{
	(void)p;
	usleep(20000);
	atomic_fetch_add(&computing, 1);
	while (!atomic_load(&release))
		;
	usleep(1000);
	return NULL;
}

START_TEST(several_threads_computing_at_once_do_not_hold_up_the_others)
{
	pthread_t c[4], t[TICKERS];
	long before[TICKERS];

	pool_of_two();
	atomic_store(&stop, false);
	for (int i = 0; i < 4; i++)
		c[i] = tl_pthread(computer, NULL, 0);
	for (int i = 0; i < TICKERS; i++)
		t[i] = tl_pthread(ticker, (void *)&ticks[i], 0);
	int64_t end = tl_mono_ns() + patience_ns();
	while (atomic_load(&computing) < 4 && tl_mono_ns() < end)
		usleep(1000);
	ck_assert_int_eq(atomic_load(&computing), 4);
	usleep(HOLD_MS * 1000 / 2);
	snapshot(before);
	while (!all_ticked(before) && tl_mono_ns() < end)
		usleep(1000);
	bool ticked = all_ticked(before);
	atomic_store(&release, true);
	for (int i = 0; i < 4; i++)
		tl_pthread_join(c[i]);
	atomic_store(&stop, true);
	for (int i = 0; i < TICKERS; i++)
		tl_pthread_join(t[i]);
	ck_assert(ticked);
}
END_TEST

/* ---- hand-offs, again and again ---- */

#define STREAMS 12
#define CHUNK 16384
#define HOG_NS (3 * MS / 2)   /* a writer's burst, past WEFT_MONITOR_MS=1 */

struct stream {
	int sv[2];
	int chunks;
	uint64_t sum_out, sum_in;
	long bytes_in;
};

/* Writes chunks of pseudo-random bytes, summing them, and now and then
 * computes past the monitor's threshold without entering weft. */
static void *stream_writer(void *p)
{
	struct stream *st = p;
	unsigned char buf[CHUNK];
	uint64_t x = (uintptr_t)p;

	for (int c = 0; c < st->chunks; c++) {
		for (int i = 0; i < CHUNK; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			buf[i] = (unsigned char)(x >> 56);
			st->sum_out += buf[i];
		}
		if (c % 8 == 7)
			for (int64_t end = tl_mono_ns() + HOG_NS;
			     tl_mono_ns() < end;)
				;
		for (size_t off = 0; off < CHUNK;) {
			ssize_t n = write(st->sv[0], buf + off, CHUNK - off);
			ck_assert_int_gt(n, 0);
			off += (size_t)n;
		}
	}
	ck_assert_int_eq(shutdown(st->sv[0], SHUT_WR), 0);
	return NULL;
}

/* Reads to the end, summing what came. */
static void *stream_reader(void *p)
{
	struct stream *st = p;
	unsigned char buf[CHUNK / 4];
	ssize_t n;

	while ((n = read(st->sv[1], buf, sizeof buf)) > 0) {
		st->bytes_in += n;
		for (ssize_t i = 0; i < n; i++)
			st->sum_in += buf[i];
	}
	ck_assert_int_eq(n, 0);
	return NULL;
}

#define HOGS 3

/* A process that keeps a CPU busy for at most 10 s, until killed: with
 * HOGS of them on a small machine, a spare thread given a scheduler waits
 * milliseconds for a CPU, as on a loaded one. */
static pid_t hog(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		alarm(10);
		for (;;)
			;
	}
	return pid;
}

/* Bulk streams whose readers mostly find data, and writers that hold
 * their thread now and then, as iperf's streams do: with the monitor at
 * 1 ms, members change threads again and again, and a scheduler given
 * to a spare is not taken again before that spare has it (it was, from
 * the thread it had left, and two threads ran it: they crashed). */
START_TEST(members_taken_again_and_again_lose_nothing)
{
	static struct stream st[STREAMS];
	pthread_t w[STREAMS], r[STREAMS];
	struct weft__held h[1];
	uint64_t total = 0;

	pid_t hogs[HOGS];

	ck_assert_int_eq(setenv("WEFT_MONITOR_MS", "1", 1), 0);
	pool_of_two();
	for (int i = 0; i < HOGS; i++)
		hogs[i] = hog();
	for (int i = 0; i < STREAMS; i++) {
		st[i] = (struct stream){ .chunks = RUNNING_ON_VALGRIND ? 16 : 256 };
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, st[i].sv), 0);
		r[i] = tl_pthread(stream_reader, &st[i], 0);
		w[i] = tl_pthread(stream_writer, &st[i], 0);
	}
	for (int i = 0; i < STREAMS; i++) {
		tl_pthread_join(w[i]);
		tl_pthread_join(r[i]);
		ck_assert_int_eq(st[i].bytes_in, (long)st[i].chunks * CHUNK);
		ck_assert_uint_eq(st[i].sum_in, st[i].sum_out);
		close(st[i].sv[0]);
		close(st[i].sv[1]);
	}
	for (int i = 0; i < HOGS; i++) {
		kill(hogs[i], SIGKILL);
		waitpid(hogs[i], NULL, 0);
	}
	weft__monitor_recent(h, 1, &total);
	if (!RUNNING_ON_VALGRIND)
		ck_assert_uint_gt(total, 0);
}
END_TEST

Suite *suite_monitor(void)
{
	Suite *s = suite_create("monitor");
	TCase *tc = tcase_create("monitor");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_thread_that_computes_does_not_hold_up_the_others);
	tcase_add_test(tc, a_thread_in_a_raw_system_call_does_not_hold_up_the_others);
	tcase_add_test(tc, without_the_monitor_a_computing_thread_holds_up_its_scheduler);
	tcase_add_test(tc, several_threads_computing_at_once_do_not_hold_up_the_others);
	tcase_add_test(tc, members_taken_again_and_again_lose_nothing);
	suite_add_tcase(s, tc);
	return s;
}
