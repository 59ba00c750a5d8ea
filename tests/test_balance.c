/* test_balance.c - a pool member with nothing to run is given runnable
 * green threads by a busy one (core/balance.h), and a thread that moves
 * keeps everything that is its own: TLS, errno, pthread_self, and the
 * fd wait and time-out it was woken from.
 *
 * Each test asks for a pool of two schedulers (weft_cpus) with green
 * threads on, as a preloaded program on a two-CPU machine has.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weft.h"
#include "../core/sched.h"
#include "../core/tcb.h"
#include "../hook/green.h"
#include "testlib.h"

/* A pool of two, green threads on; false if green threads have no thread
 * blocks here (ThreadSanitizer, another glibc): then none ever moves. */
static bool pool_of_two(void)
{
	ck_assert_int_eq(weft_cpus(2), 2);
	weft__green_set(true);
	return weft__tcb_init(false);
}

/* Some CPU work, about n / 4 microseconds' worth here; returns a value
 * that depends on all of it.  The tests' runs take longer than the least
 * a member gives for (WEFT__BALANCE_SLICE_NS). */
static unsigned long burn(unsigned long seed, int n)
{
	volatile unsigned long x = seed | 1;

	for (int i = 0; i < n * 200; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	return x;
}

/* The number of coroutines every scheduler has given so far. */
static uint64_t given(void)
{
	struct weft__stats st;
	uint64_t n = 0;

	weft__stats_get(&st);
	for (unsigned i = 0; i < st.nscheds && i < 64; i++)
		n += st.scheds[i].gave;
	return n;
}

/* ---- uneven work is shared ---------------------------------------------- */

struct job {
	long id, slices;
	unsigned long sum, want;
	int moves;
	bool tls_bad, errno_bad, self_bad;
	pthread_t self;
};

static __thread long slices_done;

/* Set once every thread of a round is made: until then each yields, so
 * that all are live together however slowly threads are made (under
 * AddressSanitizer, one could end before the next began). */
static atomic_bool go;

/* Works in slices with a yield between them, checking after each that
 * its TLS, errno and pthread_self are its own; counts the times its
 * scheduler changed.  (Its OS thread is not checked against its
 * scheduler's: a hand-off, on a loaded machine, lets the two differ
 * until the thread next enters weft.) */
static void *works_in_slices(void *p)
{
	struct job *j = p;
	struct weft__sched *last = weft__current_sched();

	j->self = pthread_self();
	while (!atomic_load(&go))
		sched_yield();
	for (long i = 0; i < j->slices; i++) {
		j->sum += burn((unsigned long)(j->id * 1000 + i), 150);
		slices_done++;
		errno = (int)(j->id * 1000 + i);
		sched_yield();
		j->errno_bad |= errno != (int)(j->id * 1000 + i);
		j->tls_bad |= slices_done != i + 1;
		j->self_bad |= !pthread_equal(pthread_self(), j->self);
		struct weft__sched *now = weft__current_sched();
		if (now != last) {
			j->moves++;
			last = now;
		}
	}
	return NULL;
}

/* 32 threads with uneven amounts of work, in rounds until one round has
 * moved some: the member whose threads end first is given some of the
 * other's, and each thread's result and state are as if it never moved. */
START_TEST(an_idle_member_is_given_runnable_threads)
{
	enum { N = 32 };
	static struct job jobs[N];
	pthread_t t[N];
	int moves = 0;
	uint64_t before = given();

	if (!pool_of_two())
		return;
	for (int round = 0; round < 10 && moves == 0; round++) {
		for (int i = 0; i < N; i++) {
			jobs[i] = (struct job){ .id = i,
						.slices = 10 * (1 + i % 5) };
			for (long k = 0; k < jobs[i].slices; k++)
				jobs[i].want += burn((unsigned long)(i * 1000 +
								     k), 150);
		}
		atomic_store(&go, false);
		for (int i = 0; i < N; i++)
			t[i] = tl_pthread(works_in_slices, &jobs[i], NULL);
		atomic_store(&go, true);
		for (int i = 0; i < N; i++) {
			tl_pthread_join(t[i]);
			ck_assert_uint_eq(jobs[i].sum, jobs[i].want);
			ck_assert(!jobs[i].tls_bad);
			ck_assert(!jobs[i].errno_bad);
			ck_assert(!jobs[i].self_bad);
			moves += jobs[i].moves;
		}
	}
	ck_assert_int_gt(moves, 0);
	ck_assert_uint_gt(given(), before);
}
END_TEST

/* ---- a thread woken from an fd wait moves with it ------------------------ */

struct spinner {
	_Atomic bool stop, done;
	struct weft__sched *_Atomic on;
};

/* Keeps its scheduler busy, yielding often, until told to stop: a weft_go
 * coroutine, which shares its OS thread's block and so never moves. */
static void spins(void *p)
{
	struct spinner *sp = p;

	atomic_store(&sp->on, weft__current_sched());
	while (!atomic_load(&sp->stop)) {
		burn(1, 150);
		weft_yield();
	}
	atomic_store(&sp->done, true);
}

/* A green thread that leaves a spinner on its member. */
static void *starts_spinner(void *p)
{
	ck_assert_int_eq(weft_go(spins, p), 0);
	return NULL;
}

static void spinner_start(struct spinner *sp)
{
	atomic_store(&sp->stop, false);
	atomic_store(&sp->done, false);
	atomic_store(&sp->on, NULL);
	tl_pthread_join(tl_pthread(starts_spinner, sp, NULL));
	while (atomic_load(&sp->on) == NULL)
		usleep(1000);
}

static void spinner_stop(struct spinner *sp)
{
	atomic_store(&sp->stop, true);
	while (!atomic_load(&sp->done))
		usleep(1000);
}

struct poller {
	int fd;
	struct weft__sched *_Atomic before;
	struct weft__sched *after;
	int r1, r2;
	char c1, c2;
};

/* Milliseconds of the fd-wait test, ten times as many under valgrind,
 * where a busy member polls its loop only every half second or so. */
static int ms(int n)
{
	return RUNNING_ON_VALGRIND ? 10 * n : n;
}

/* Waits for a byte with a 500 ms time-out, then for another with 10 s. */
static void *polls_twice(void *p)
{
	struct poller *w = p;
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };

	atomic_store(&w->before, weft__current_sched());
	w->r1 = poll(&pfd, 1, ms(500));
	if (w->r1 == 1)
		ck_assert_int_eq(read(w->fd, &w->c1, 1), 1);
	w->after = weft__current_sched();
	w->r2 = poll(&pfd, 1, ms(10000));
	if (w->r2 == 1)
		ck_assert_int_eq(read(w->fd, &w->c2, 1), 1);
	return NULL;
}

/* A spinner keeps each member busy, so that nobody is hungry, and a
 * poller parks on one of them (the spinners never move: the poller is
 * the one to give).  The other member's spinner stops: that
 * member waits, hungry, and the poller's byte wakes it on a member that
 * has two to run, which gives it away.  Its first wait's timer must not
 * follow it nor stay behind: the second byte comes after the first
 * wait's time-out would have fired, and the second wait must see it.
 * Tried until a poller moved (it does not if it was not yet parked when
 * its byte came). */
START_TEST(a_thread_woken_from_an_fd_wait_moves_with_it)
{
	bool moved = false;

	if (!pool_of_two())
		return;
	for (int tries = 0; tries < 10 && !moved; tries++) {
		struct spinner sp[2];
		struct poller w = { .r1 = -2, .r2 = -2 };
		int sv[2];
		spinner_start(&sp[0]);
		spinner_start(&sp[1]); /* the less loaded member: the other */
		ck_assert_ptr_ne(atomic_load(&sp[0].on), atomic_load(&sp[1].on));
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		w.fd = sv[0];
		pthread_t t = tl_pthread(polls_twice, &w, NULL);
		while (atomic_load(&w.before) == NULL)
			usleep(1000);
		usleep(ms(30) * 1000); /* parked by now, on a quiet machine */
		int other = atomic_load(&sp[0].on) == atomic_load(&w.before);
		spinner_stop(&sp[other]);
		usleep(ms(10) * 1000);
		ck_assert_int_eq(write(sv[1], "a", 1), 1);
		usleep(ms(1000) * 1000); /* past the first wait's time-out */
		ck_assert_int_eq(write(sv[1], "b", 1), 1);
		tl_pthread_join(t);
		spinner_stop(&sp[!other]);
		ck_assert_int_eq(w.r1, 1);
		ck_assert_int_eq(w.c1, 'a');
		ck_assert_int_eq(w.r2, 1);
		ck_assert_int_eq(w.c2, 'b');
		moved = w.after == atomic_load(&sp[other].on);
		close(sv[0]);
		close(sv[1]);
	}
	ck_assert(moved);
}
END_TEST

Suite *suite_balance(void)
{
	Suite *s = suite_create("balance");
	TCase *tc = tcase_create("balance");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, an_idle_member_is_given_runnable_threads);
	tcase_add_test(tc, a_thread_woken_from_an_fd_wait_moves_with_it);
	suite_add_tcase(s, tc);
	return s;
}
