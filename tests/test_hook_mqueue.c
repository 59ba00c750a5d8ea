/* test_hook_mqueue.c - POSIX message queues: mq_receive, mq_send and their
 * timed forms park a coroutine on the queue's fd (hook/mqueue.c).
 *
 * Each queue has a name of this process's own, unlinked at once: the
 * descriptor keeps it alive.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

#define MSG 32

/* A fresh queue of depth messages of MSG bytes, opened with flags. */
static mqd_t queue(int depth, int flags)
{
	static atomic_int made;
	char name[64];
	struct mq_attr attr = { .mq_maxmsg = depth, .mq_msgsize = MSG };

	snprintf(name, sizeof name, "/weft-test-%d-%d", (int)getpid(),
		 atomic_fetch_add(&made, 1));
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | flags, 0600, &attr);
	ck_assert_int_ge(q, 0);
	mq_unlink(name);
	return q;
}

/* An absolute CLOCK_REALTIME time ms from now. */
static struct timespec in_ms(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

struct later {
	mqd_t q;
	int ms;
};

static void send_later(void *p)
{
	struct later *l = p;

	weft_sleep(l->ms * MS);
	ck_assert_int_eq(mq_send(l->q, "late", 4, 7), 0);
}

static void receive_later(void *p)
{
	struct later *l = p;
	char buf[MSG];

	weft_sleep(l->ms * MS);
	ck_assert_int_eq(mq_receive(l->q, buf, sizeof buf, NULL), 1);
}

static void close_later(void *p)
{
	struct later *l = p;

	weft_sleep(l->ms * MS);
	ck_assert_int_eq(mq_close(l->q), 0);
}

/* ---- parks and wakes ----------------------------------------------------- */

START_TEST(mq_receive_parks_until_a_message_comes)
{
	mqd_t q = queue(4, O_RDWR);
	struct tl_ticker t = { 0 };
	struct later l = { q, 100 };
	char buf[MSG];
	unsigned prio = 0;

	weft_go(tl_tick_first, &t);
	weft_go(send_later, &l);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(mq_receive(q, buf, sizeof buf, &prio), 4);
	ck_assert_int_ge(tl_mono_ns() - t0, 100 * MS);
	ck_assert_int_eq(memcmp(buf, "late", 4), 0);
	ck_assert_uint_eq(prio, 7);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	mq_close(q);
}
END_TEST

START_TEST(mq_send_parks_while_the_queue_is_full)
{
	mqd_t q = queue(1, O_RDWR);
	struct tl_ticker t = { 0 };
	struct later l = { q, 100 };

	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(mq_send(q, "a", 1, 0), 0);
	weft_go(receive_later, &l);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(mq_send(q, "bc", 2, 0), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 100 * MS);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	char buf[MSG];
	ck_assert_int_eq(mq_receive(q, buf, sizeof buf, NULL), 2);
	mq_close(q);
}
END_TEST

START_TEST(a_ready_queue_answers_at_once_in_priority_order)
{
	mqd_t q = queue(4, O_RDWR);
	struct tl_ticker t = { 0 };
	char buf[MSG];
	unsigned prio;

	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(mq_send(q, "low", 3, 1), 0);
	ck_assert_int_eq(mq_timedsend(q, "high", 4, 9, &(struct timespec){ 0 }),
			 0);
	ck_assert_int_eq(mq_receive(q, buf, sizeof buf, &prio), 4);
	ck_assert_uint_eq(prio, 9);
	struct timespec soon = in_ms(10000);
	ck_assert_int_eq(mq_timedreceive(q, buf, sizeof buf, &prio, &soon), 3);
	ck_assert_uint_eq(prio, 1);
	ck_assert_int_eq(t.ticks, 0); /* nothing parked */
	t.stop = 1;
	mq_close(q);
}
END_TEST

START_TEST(mq_timedreceive_and_timedsend_time_out)
{
	mqd_t q = queue(1, O_RDWR);
	struct tl_ticker t = { 0 };
	char buf[MSG];

	weft_go(tl_tick_first, &t);
	struct timespec soon = in_ms(100);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(mq_timedreceive(q, buf, sizeof buf, NULL, &soon), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(tl_mono_ns() - t0, 90 * MS);
	ck_assert_int_gt(t.ticks, 5);
	ck_assert_int_eq(mq_send(q, "x", 1, 0), 0);
	struct timespec past = { 1, 0 };
	errno = 0;
	ck_assert_int_eq(mq_timedsend(q, "y", 1, 0, &past), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	t.stop = 1;
	mq_close(q);
}
END_TEST

START_TEST(a_queue_closed_while_waiting_fails_with_EBADF)
{
	mqd_t q = queue(1, O_RDWR);
	struct tl_ticker t = { 0 };
	struct later l = { q, 50 };
	char buf[MSG];

	weft_go(tl_tick_first, &t);
	weft_go(close_later, &l);
	errno = 0;
	ck_assert_int_eq(mq_receive(q, buf, sizeof buf, NULL), -1);
	ck_assert_int_eq(errno, EBADF);
	t.stop = 1;
}
END_TEST

START_TEST(alone_and_outside_a_coroutine_the_calls_are_libcs)
{
	mqd_t q = queue(1, O_RDWR);
	char buf[MSG];

	struct timespec soon = in_ms(50);
	errno = 0;
	ck_assert_int_eq(mq_timedreceive(q, buf, sizeof buf, NULL, &soon), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	weft_self();
	soon = in_ms(50);
	errno = 0;
	ck_assert_int_eq(mq_timedreceive(q, buf, sizeof buf, NULL, &soon), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(mq_send(q, "z", 1, 0), 0);
	ck_assert_int_eq(mq_receive(q, buf, sizeof buf, NULL), 1);
	mq_close(q);
}
END_TEST

/* ---- the same answers as libc -------------------------------------------- */

struct rec {
	int n;
	struct tl_rec r[40];
};

/* Whether this system lets weft check a pointer the program gives before
 * it reads through it (process_vm_readv on itself: qemu-user has none, and
 * weft then reads it as it is). */
static bool pointers_checked(void)
{
	long word = 0, copy;
	struct iovec to = { &copy, sizeof copy }, from = { &word, sizeof word };

	return process_vm_readv(getpid(), &to, 1, &from, 1, 0) ==
	       (ssize_t)sizeof word;
}

/* Calls that answer at once, errors, and waits that time out or are met
 * by a peer (a thread, or a coroutine under weft). */
static void mq_script(void *p, int arg, bool weft)
{
	struct rec *rc = p;
	static struct tl_ticker t;
	mqd_t q = queue(2, O_RDWR);
	mqd_t ro = queue(2, O_RDONLY);
	mqd_t nb = queue(2, O_RDWR | O_NONBLOCK);
	char buf[MSG], big[MSG + 8] = { 0 };
	unsigned prio = 0;
	struct timespec bad = in_ms(1000);

	(void)arg;
	if (weft)
		weft_go(tl_tick_first, &t);
	bad.tv_nsec = 1000000000;
	TL_NOTE(rc, mq_send(q, "one", 3, 3), NULL);
	TL_NOTE(rc, mq_receive(q, buf, MSG - 1, NULL), NULL); /* too small */
	TL_NOTE(rc, mq_timedreceive(q, buf, sizeof buf, &prio, &bad), NULL);
	TL_NOTE(rc, mq_receive(q, buf, sizeof buf, &prio), buf);
	TL_NOTE(rc, prio, NULL);
	TL_NOTE(rc, mq_send(q, big, sizeof big, 0), NULL); /* too long */
	TL_NOTE(rc, mq_send(q, "p", 1, 1u << 20), NULL); /* bad priority */
	TL_NOTE(rc, mq_send(ro, "r", 1, 0), NULL);
	TL_NOTE(rc, mq_receive(-1, buf, sizeof buf, NULL), NULL);
	TL_NOTE(rc, mq_send(-1, "m", 1, 0), NULL);
	TL_NOTE(rc, mq_receive(nb, buf, sizeof buf, NULL), NULL);
	TL_NOTE(rc, mq_send(nb, "a", 1, 0), NULL);
	TL_NOTE(rc, mq_send(nb, "b", 1, 0), NULL);
	TL_NOTE(rc, mq_send(nb, "c", 1, 0), NULL); /* full: EAGAIN */
	struct timespec soon = in_ms(30);
	TL_NOTE(rc, mq_timedreceive(q, buf, sizeof buf, NULL, &soon), NULL);
	struct timespec negative = { -1, 0 };
	TL_NOTE(rc, mq_timedreceive(q, buf, sizeof buf, NULL, &negative),
		NULL);
	if (pointers_checked()) { /* a time-out that cannot be read */
		const struct timespec *unreadable = (struct timespec *)8;
		TL_NOTE(rc, mq_timedreceive(q, buf, sizeof buf, NULL,
					    unreadable), NULL);
		TL_NOTE(rc, mq_timedsend(q, "u", 1, 0, unreadable), NULL);
		TL_NOTE(rc, mq_timedreceive(-1, buf, sizeof buf, NULL,
					    unreadable), NULL);
	}
	TL_NOTE(rc, mq_close(ro), NULL);
	TL_NOTE(rc, mq_receive(ro, buf, sizeof buf, NULL), NULL);
	TL_NOTE(rc, mq_close(ro), NULL);
	mq_close(q);
	mq_close(nb);
	t.stop = 1;
}

START_TEST(mq_calls_give_what_libc_gives)
{
	static struct rec plain, woven;

	tl_run_script(mq_script, 0, false, &plain, sizeof plain);
	tl_run_script(mq_script, 0, true, &woven, sizeof woven);
	tl_compare_recs("mq", plain.r, plain.n, woven.r, woven.n);
}
END_TEST

/* ---- signals and cancellation, native threads against green ------------- */

struct waiter {
	mqd_t q;
	bool timed;
	_Atomic bool started, done;
	long r;
	int err;
};

static void *receives(void *p)
{
	struct waiter *w = p;
	char buf[MSG];
	struct timespec until = in_ms(20000);

	atomic_store(&w->started, true);
	w->r = w->timed ? mq_timedreceive(w->q, buf, sizeof buf, NULL, &until)
			: mq_receive(w->q, buf, sizeof buf, NULL);
	w->err = errno;
	atomic_store(&w->done, true);
	return NULL;
}

START_TEST(a_signal_ends_the_wait_unless_SA_RESTART)
{
	tl_threads_mode(_i);
	for (int restart = 0; restart < 2; restart++) {
		tl_catch(SIGUSR1, (tl_sighandler){ tl_on_signal },
			 restart ? SA_RESTART : 0);
		for (int timed = 0; timed < 2; timed++) {
			struct waiter w = { .q = queue(1, O_RDWR),
					    .timed = timed };
			pthread_t t = tl_pthread(receives, &w, NULL);
			tl_kill_until(t, SIGUSR1, &w.started, &w.done,
				      restart ? 3 : 0);
			if (restart) {
				ck_assert(!atomic_load(&w.done));
				ck_assert_int_eq(mq_send(w.q, "k", 1, 0), 0);
			}
			tl_pthread_join(t);
			ck_assert_int_eq(w.r, restart ? 1 : -1);
			if (!restart)
				ck_assert_int_eq(w.err, EINTR);
			mq_close(w.q);
		}
	}
}
END_TEST

START_TEST(a_cancel_ends_a_thread_waiting_in_mq_receive)
{
	struct waiter w = { 0 };

	if (!tl_cancel_mode(_i))
		return;
	w.q = queue(1, O_RDWR);
	pthread_t t = tl_pthread(receives, &w, NULL);
	while (!atomic_load(&w.started))
		usleep(1000);
	usleep(20000);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert(!atomic_load(&w.done));
	mq_close(w.q);
}
END_TEST

Suite *suite_hook_mqueue(void)
{
	Suite *s = suite_create("hook_mqueue");
	TCase *tc = tcase_create("mqueue");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, mq_receive_parks_until_a_message_comes);
	tcase_add_test(tc, mq_send_parks_while_the_queue_is_full);
	tcase_add_test(tc, a_ready_queue_answers_at_once_in_priority_order);
	tcase_add_test(tc, mq_timedreceive_and_timedsend_time_out);
	tcase_add_test(tc, a_queue_closed_while_waiting_fails_with_EBADF);
	tcase_add_test(tc, alone_and_outside_a_coroutine_the_calls_are_libcs);
	tcase_add_test(tc, mq_calls_give_what_libc_gives);
	tcase_add_loop_test(tc, a_signal_ends_the_wait_unless_SA_RESTART, 0, 2);
	tcase_add_loop_test(tc, a_cancel_ends_a_thread_waiting_in_mq_receive,
			    0, 2);
	suite_add_tcase(s, tc);
	return s;
}
