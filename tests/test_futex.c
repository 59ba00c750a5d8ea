/* test_futex.c - syscall(SYS_futex, ...) from green threads parks them
 * instead of their OS thread (hook/syscall.c, core/futex.c).
 *
 * The scenarios are the ones GLib's GMutex and liburcu run into: a green
 * thread holds a futex-based lock across a blocking call while another
 * waits for it.  Each is run with native threads and with green threads
 * and compared; the errors are compared with the kernel's own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "../hook/green.h"
#include "../hook/real.h"
#include "testlib.h"

static long futex(uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts, uint32_t *uaddr2, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

/* The kernel's own call, past weft's wrapper: as an inline system call
 * in a library would make it. */
static long raw_futex(uint32_t *uaddr, int op, uint32_t val)
{
	return weft__libc()->syscall(SYS_futex, uaddr, op, val, NULL, NULL,
				     0);
}

/* ---- a lock on a futex, as GLib's GMutex: 0 free, 1 held, 2 contended */

static void lock(_Atomic uint32_t *m)
{
	uint32_t c = 0;

	if (atomic_compare_exchange_strong(m, &c, 1))
		return;
	if (c != 2)
		c = atomic_exchange(m, 2);
	while (c != 0) {
		futex((uint32_t *)m, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
		c = atomic_exchange(m, 2);
	}
}

static void unlock(_Atomic uint32_t *m)
{
	if (atomic_exchange(m, 0) == 2)
		futex((uint32_t *)m, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

struct contended {
	_Atomic uint32_t mutex;
	int pipe[2];
	atomic_int inside;  /* threads in the critical section now */
	atomic_int most;    /* the most ever at once */
	atomic_int done;
};

/* Takes the lock and, holding it, blocks in read() until main writes. */
static void *holder(void *p)
{
	struct contended *c = p;
	char byte;

	lock(&c->mutex);
	atomic_fetch_add(&c->inside, 1);
	ck_assert_int_eq(read(c->pipe[0], &byte, 1), 1);
	atomic_fetch_sub(&c->inside, 1);
	unlock(&c->mutex);
	atomic_fetch_add(&c->done, 1);
	return NULL;
}

/* Waits for the lock, then holds it a moment. */
static void *contender(void *p)
{
	struct contended *c = p;

	lock(&c->mutex);
	int now = atomic_fetch_add(&c->inside, 1) + 1;
	if (now > atomic_load(&c->most))
		atomic_store(&c->most, now);
	usleep(100);
	atomic_fetch_sub(&c->inside, 1);
	unlock(&c->mutex);
	atomic_fetch_add(&c->done, 1);
	return NULL;
}

static void run_contended(bool green)
{
	struct contended c = { 0 };
	pthread_t h, t[4];

	weft__green_set(green);
	tl_make_pipe(c.pipe);
	h = tl_pthread(holder, &c, NULL);
	usleep(2000); /* the holder takes the lock and blocks in read */
	for (int i = 0; i < 4; i++)
		t[i] = tl_pthread(contender, &c, NULL);
	usleep(2000); /* they wait in FUTEX_WAIT */
	/* Natively the holder's thread is free; under weft too, or this
	 * write would never be reached. */
	ck_assert_int_eq(write(c.pipe[1], "x", 1), 1);
	tl_pthread_join(h);
	for (int i = 0; i < 4; i++)
		tl_pthread_join(t[i]);
	ck_assert_int_eq(atomic_load(&c.done), 5);
	ck_assert_int_le(atomic_load(&c.most), 1);
	ck_assert_uint_eq(atomic_load(&c.mutex), 0);
	close(c.pipe[0]);
	close(c.pipe[1]);
}

START_TEST(a_futex_lock_held_across_a_blocking_read_does_not_stop_the_others)
{
	run_contended(false);
	run_contended(true);
}
END_TEST

/* ---- waits and wakes ---------------------------------------------------- */

struct waiter {
	uint32_t *word;
	int op;
	uint32_t val, bitset;
	const struct timespec *ts;
	long r;
	int err;
	atomic_int returned;
};

static void *wait_once(void *p)
{
	struct waiter *w = p;

	errno = 0;
	w->r = futex(w->word, w->op, w->val, w->ts, NULL, w->bitset);
	w->err = errno;
	atomic_store(&w->returned, 1);
	return NULL;
}

/* Wakes: counts and bitsets as the kernel's.  Three waiters, two with
 * bitset 1 and one with bitset 2; returns what each wake gave. */
static void run_wakes(bool green, long got[3])
{
	uint32_t word = 0;
	struct waiter w[3];
	pthread_t t[3];

	weft__green_set(green);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){ .word = &word, .val = 0,
					.op = FUTEX_WAIT_BITSET_PRIVATE,
					.bitset = i < 2 ? 1 : 2 };
		t[i] = tl_pthread(wait_once, &w[i], NULL);
	}
	usleep(3000);
	got[0] = futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 2);
	usleep(1000);
	got[1] = futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	usleep(1000);
	got[2] = futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	for (int i = 0; i < 3; i++) {
		tl_pthread_join(t[i]);
		ck_assert_int_eq(w[i].r, 0);
	}
}

START_TEST(wakes_count_and_match_bitsets_as_the_kernel_s)
{
	long native[3], green[3];

	run_wakes(false, native);
	run_wakes(true, green);
	ck_assert_int_eq(native[0], 1);
	ck_assert_int_eq(native[1], 1);
	ck_assert_int_eq(native[2], 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(green[i], native[i]);
}
END_TEST

/* What a wait gives with a bad argument or a time-out, from a thread
 * that is not alone on its OS thread. */
struct verdicts {
	long r[8];
	int err[8];
};

static void *bad_waits(void *p)
{
	struct verdicts *v = p;
	static uint32_t words[2];
	uint32_t *odd = (uint32_t *)((char *)words + 1);
	struct timespec bad = { 0, 1000000000 }, rel = { 0, 5000000 };
	struct timespec abs_mono, abs_real;
	int k = 0;

	clock_gettime(CLOCK_MONOTONIC, &abs_mono);
	clock_gettime(CLOCK_REALTIME, &abs_real);
	abs_mono.tv_nsec = (abs_mono.tv_nsec + 5000000) % 1000000000;
	abs_mono.tv_sec += 1 - (abs_mono.tv_nsec >= 5000000);
	abs_real.tv_sec -= 1; /* already past */
#define VERDICT(call)                                                         \
	do {                                                                  \
		errno = 0;                                                    \
		v->r[k] = (call);                                             \
		v->err[k++] = errno;                                          \
	} while (0)
	VERDICT(futex(words, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0));
	VERDICT(futex(odd, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
	VERDICT(futex(NULL, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
	VERDICT(futex(words, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0));
	VERDICT(futex(words, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0));
	VERDICT(futex(words, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0));
	VERDICT(futex(words, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs_mono, NULL,
		      FUTEX_BITSET_MATCH_ANY));
	VERDICT(futex(words, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME,
		      0, &abs_real, NULL, FUTEX_BITSET_MATCH_ANY));
#undef VERDICT
	return NULL;
}

START_TEST(bad_waits_and_time_outs_give_what_the_kernel_gives)
{
	struct verdicts native = { 0 }, green = { 0 };
	struct tl_ticker ticker;

	weft__green_set(false);
	tl_pthread_join(tl_pthread(bad_waits, &native, NULL));
	weft__green_set(true);
	tl_ticker_start(&ticker); /* so the green thread is not alone */
	tl_pthread_join(tl_pthread(bad_waits, &green, NULL));
	tl_ticker_stop(&ticker);
	for (int i = 0; i < 8; i++) {
		ck_assert_msg(green.r[i] == native.r[i] &&
			      green.err[i] == native.err[i],
			      "case %d: native %ld/%s, green %ld/%s", i,
			      native.r[i], strerror(native.err[i]),
			      green.r[i], strerror(green.err[i]));
	}
	ck_assert_int_eq(native.err[0], EAGAIN);
	ck_assert_int_eq(native.err[5], ETIMEDOUT);
}
END_TEST

/* ---- signals ------------------------------------------------------------ */

/* One wait a signal interrupts: op, with a time-out of 20 s or none. */
struct signalled {
	uint32_t word;
	int op;
	bool timed;
	_Atomic bool started, done;
	long r;
	int err;
};

static void *wait_signalled(void *p)
{
	struct signalled *w = p;
	struct timespec rel = { .tv_sec = 20 }, until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 20;
	const struct timespec *ts = !w->timed ? NULL :
		(w->op == FUTEX_WAIT_PRIVATE ? &rel : &until);
	atomic_store(&w->started, true);
	w->r = futex(&w->word, w->op, 0, ts, NULL, FUTEX_BITSET_MATCH_ANY);
	w->err = errno;
	atomic_store(&w->done, true);
	return NULL;
}

/* Sends SIGUSR1 to w's thread every 5 ms until its wait returns, or, if
 * restart is set, until a handler ran; then wakes it (at most 10 s). */
static void interrupt_wait(struct signalled *w, pthread_t t, bool restart)
{
	tl_kill_until(t, SIGUSR1, &w->started, &w->done, restart ? 3 : 0);
	__atomic_store_n(&w->word, 1, __ATOMIC_SEQ_CST);
	futex(&w->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	tl_pthread_join(t);
}

START_TEST(a_signal_ends_a_wait_as_the_kernel_says)
{
	/* The kernel restarts an untimed wait after handlers that all have
	 * SA_RESTART, and ends a timed one with EINTR whatever the flags. */
	static const int ops[] = { FUTEX_WAIT_PRIVATE,
				   FUTEX_WAIT_BITSET_PRIVATE };
	struct tl_ticker ticker;

	tl_threads_mode(_i);
	if (_i)
		tl_ticker_start(&ticker); /* so the green thread is not alone */
	for (int restart = 0; restart < 2; restart++) {
		tl_catch(SIGUSR1, (tl_sighandler){ tl_on_signal },
			 restart ? SA_RESTART : 0);
		for (int k = 0; k < 4; k++) {
			struct signalled w = { .op = ops[k % 2],
					       .timed = k >= 2 };
			pthread_t t = tl_pthread(wait_signalled, &w, NULL);
			interrupt_wait(&w, t, restart && !w.timed);
			bool goes_on = restart && !w.timed;
			ck_assert_msg(w.r == (goes_on ? 0 : -1) &&
				      (goes_on || w.err == EINTR),
				      "op %d timed %d restart %d: %ld %s",
				      w.op, w.timed, restart, w.r,
				      strerror(w.err));
			ck_assert_int_ge(tl_handled, 1);
		}
	}
	if (_i)
		tl_ticker_stop(&ticker);
}
END_TEST

/* ---- across kinds of thread --------------------------------------------- */

/* Waits, as a futex protocol does, until the word is no longer 0; notes
 * in w->r 0, or -1 and the errno of a wait that failed otherwise than
 * with EAGAIN (the word changed before the wait began). */
static void *wait_until_set(void *p)
{
	struct waiter *w = p;

	w->r = 0;
	while (__atomic_load_n(w->word, __ATOMIC_SEQ_CST) == 0) {
		if (futex(w->word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) < 0 &&
		    errno != EAGAIN) {
			w->r = -1;
			w->err = errno;
			break;
		}
	}
	atomic_store(&w->returned, 1);
	return NULL;
}

static void *wake_later(void *p)
{
	struct waiter *w = p;

	usleep(3000);
	__atomic_store_n(w->word, 1, __ATOMIC_SEQ_CST);
	futex(w->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

START_TEST(a_real_thread_wakes_a_parked_green_thread_and_back)
{
	uint32_t word = 0;
	struct waiter w = { .word = &word, .op = FUTEX_WAIT_PRIVATE };
	struct tl_ticker ticker;
	pthread_t real, green;

	/* A real thread wakes a green one. */
	weft__green_set(true);
	tl_ticker_start(&ticker);
	green = tl_pthread(wait_until_set, &w, NULL);
	weft__green_set(false);
	real = tl_pthread(wake_later, &w, NULL);
	weft__green_set(true);
	tl_pthread_join(green);
	ck_assert_int_eq(w.r, 0);
	ck_assert_int_gt(tl_ticker_stop(&ticker), 0);
	weft__green_set(false);
	tl_pthread_join(real);

	/* A green thread wakes a real one. */
	word = 0;
	w = (struct waiter){ .word = &word, .op = FUTEX_WAIT_PRIVATE };
	real = tl_pthread(wait_until_set, &w, NULL);
	weft__green_set(true);
	green = tl_pthread(wake_later, &w, NULL);
	tl_pthread_join(green);
	weft__green_set(false);
	tl_pthread_join(real);
	ck_assert_int_eq(w.r, 0);
}
END_TEST

static void *change_and_wake_raw(void *p)
{
	struct waiter *w = p;

	usleep(3000);
	__atomic_store_n(w->word, 1, __ATOMIC_SEQ_CST);
	raw_futex(w->word, FUTEX_WAKE_PRIVATE, 1);
	return NULL;
}

START_TEST(a_wake_weft_cannot_see_still_ends_the_wait)
{
	uint32_t word = 0;
	struct waiter w = { .word = &word, .op = FUTEX_WAIT_PRIVATE };
	struct tl_ticker ticker;

	weft__green_set(true);
	tl_ticker_start(&ticker);
	pthread_t waiter = tl_pthread(wait_once, &w, NULL);
	pthread_t waker = tl_pthread(change_and_wake_raw, &w, NULL);
	tl_pthread_join(waker);
	tl_pthread_join(waiter);
	tl_ticker_stop(&ticker);
	ck_assert_int_eq(w.r, 0);
}
END_TEST

START_TEST(other_system_calls_go_straight_through)
{
	weft__green_set(true);
	ck_assert_int_eq(syscall(SYS_getpid), getpid());
	errno = 0;
	ck_assert_int_eq(syscall(SYS_close, -1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

Suite *suite_futex(void)
{
	Suite *s = suite_create("futex");
	TCase *tc = tcase_create("futex");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, a_futex_lock_held_across_a_blocking_read_does_not_stop_the_others);
	tcase_add_test(tc, wakes_count_and_match_bitsets_as_the_kernel_s);
	tcase_add_test(tc, bad_waits_and_time_outs_give_what_the_kernel_gives);
	tcase_add_test(tc, a_real_thread_wakes_a_parked_green_thread_and_back);
	tcase_add_test(tc, a_wake_weft_cannot_see_still_ends_the_wait);
	tcase_add_test(tc, other_system_calls_go_straight_through);
	tcase_add_loop_test(tc, a_signal_ends_a_wait_as_the_kernel_says, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
