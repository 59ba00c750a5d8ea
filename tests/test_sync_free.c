/* test_sync_free.c - a sync object freed by the thread it woke, as POSIX
 * allows and glibc supports: each test run natively (loop 0) and with
 * green threads on two schedulers (loop 1), many rounds, so that the
 * woken thread often runs on the other OS thread while its waker is
 * still inside the wake.  Under AddressSanitizer (make check runs these
 * there too) a waker that touched the object after its wake is a
 * use-after-free report; elsewhere, heap damage or a hang.
 *
 * Found by iperf 2, whose traffic thread freed a report whose condition
 * variable the reporter was still signalling.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "weft.h"
#include "testlib.h"

/* Rounds: enough for the wake and the free to race on two OS threads. */
static int rounds(void)
{
	return RUNNING_ON_VALGRIND ? 50 : 2000;
}

/* ---- a condition variable freed by the waiter it woke ---- */

struct box {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool waiting, ready;
};

/* Waits for the box's flag, then frees the box. */
static void *waits_then_frees(void *p)
{
	struct box *b = p;

	pthread_mutex_lock(&b->m);
	b->waiting = true; /* in the wait once the mutex is free again */
	while (!b->ready)
		pthread_cond_wait(&b->c, &b->m);
	pthread_mutex_unlock(&b->m);
	pthread_cond_destroy(&b->c);
	pthread_mutex_destroy(&b->m);
	free(b);
	return NULL;
}

/* The signal is sent after the mutex is let go, to a waiter known to be
 * in its wait (it said so holding the mutex, which its wait let go): it
 * may have the mutex back, and free the box, before pthread_cond_signal
 * returns. */
START_TEST(a_waiter_may_free_the_condition_it_was_signalled_on)
{
	tl_threads_mode(_i);
	for (int i = 0; i < rounds(); i++) {
		struct box *b = calloc(1, sizeof *b);
		ck_assert_ptr_nonnull(b);
		pthread_mutex_init(&b->m, NULL);
		pthread_cond_init(&b->c, NULL);
		pthread_t t = tl_pthread(waits_then_frees, b, NULL);
		for (;;) {
			pthread_mutex_lock(&b->m);
			if (b->waiting)
				break;
			pthread_mutex_unlock(&b->m);
			sched_yield();
		}
		b->ready = true;
		pthread_mutex_unlock(&b->m);
		pthread_cond_signal(&b->c); /* b may be gone as this returns */
		tl_pthread_join(t);
	}
}
END_TEST

/* ---- destroyed right after a broadcast ---- */

struct gate {
	pthread_mutex_t m;
	pthread_cond_t *c;
	int waiting;
	bool open;
};

static void *waits_at_gate(void *p)
{
	struct gate *g = p;

	pthread_mutex_lock(&g->m);
	g->waiting++;
	while (!g->open)
		pthread_cond_wait(g->c, &g->m);
	pthread_mutex_unlock(&g->m);
	return NULL;
}

/* POSIX's own example: the broadcaster, holding the mutex, destroys the
 * condition variable and frees it at once; the waiters it woke must be
 * done with it by then. */
START_TEST(a_condition_may_be_destroyed_right_after_a_broadcast)
{
	enum { WAITERS = 4 };
	struct gate g = { .m = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[WAITERS];

	tl_threads_mode(_i);
	for (int i = 0; i < rounds() / 10; i++) {
		g.c = malloc(sizeof *g.c);
		ck_assert_ptr_nonnull(g.c);
		pthread_cond_init(g.c, NULL);
		g.waiting = 0;
		g.open = false;
		for (int k = 0; k < WAITERS; k++)
			t[k] = tl_pthread(waits_at_gate, &g, NULL);
		for (;;) {
			pthread_mutex_lock(&g.m);
			if (g.waiting == WAITERS)
				break;
			pthread_mutex_unlock(&g.m);
			sched_yield();
		}
		g.open = true;
		pthread_cond_broadcast(g.c);
		ck_assert_int_eq(pthread_cond_destroy(g.c), 0);
		free(g.c);
		pthread_mutex_unlock(&g.m);
		for (int k = 0; k < WAITERS; k++)
			tl_pthread_join(t[k]);
	}
}
END_TEST

/* ---- a semaphore freed by the waiter it woke ---- */

static void *takes_then_frees(void *p)
{
	sem_t *s = p;

	ck_assert_int_eq(sem_wait(s), 0);
	sem_destroy(s);
	free(s);
	return NULL;
}

START_TEST(a_waiter_may_free_the_semaphore_it_was_posted)
{
	tl_threads_mode(_i);
	for (int i = 0; i < rounds(); i++) {
		sem_t *s = malloc(sizeof *s);
		ck_assert_ptr_nonnull(s);
		sem_init(s, 0, 0);
		pthread_t t = tl_pthread(takes_then_frees, s, NULL);
		ck_assert_int_eq(sem_post(s), 0); /* s may be gone as it returns */
		tl_pthread_join(t);
	}
}
END_TEST

Suite *suite_sync_free(void)
{
	Suite *s = suite_create("sync_free");
	TCase *tc = tcase_create("sync_free");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc,
			    a_waiter_may_free_the_condition_it_was_signalled_on,
			    0, 2);
	tcase_add_loop_test(tc,
			    a_condition_may_be_destroyed_right_after_a_broadcast,
			    0, 2);
	tcase_add_loop_test(tc, a_waiter_may_free_the_semaphore_it_was_posted,
			    0, 2);
	suite_add_tcase(s, tc);
	return s;
}
