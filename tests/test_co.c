/* test_co.c - coroutines: start, join, detach, exit, identity, keys and
 * real threads, as include/weft.h promises them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

static void *return_arg(void *arg)
{
	return arg;
}

/* Spawns fn(arg) with the default stack and joins it; returns its result. */
static void *spawn_and_join(void *(*fn)(void *), void *arg)
{
	void *result = (void *)-1;
	weft_co *co = weft_spawn(fn, arg, 0);

	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_join(co, &result), 0);
	return result;
}

static void say(const char *s)
{
	ssize_t n = write(2, s, strlen(s));

	(void)n;
}

/* ---- weft_go ------------------------------------------------------------ */

struct go_arg {
	weft_wg wg;
	void *seen;
	int runs;
};

static void record_arg(void *arg)
{
	struct go_arg *g = arg;

	g->seen = arg;
	g->runs++;
	weft_wg_done(&g->wg);
}

START_TEST(go_runs_the_function_with_its_argument)
{
	struct go_arg g = { .wg = WEFT_WG_INIT };

	weft_wg_add(&g.wg, 1);
	ck_assert_int_eq(weft_go(record_arg, &g), 0);
	ck_assert_int_eq(weft_wg_wait(&g.wg), 0);
	ck_assert_ptr_eq(g.seen, &g);
	ck_assert_int_eq(g.runs, 1);
}
END_TEST

static void set_flag(void *arg)
{
	*(int *)arg = 1;
}

START_TEST(go_does_not_run_the_coroutine_until_the_creator_yields)
{
	int ran = 0;

	ck_assert_int_eq(weft_go(set_flag, &ran), 0);
	ck_assert_int_eq(ran, 0);
	weft_yield();
	ck_assert_int_eq(ran, 1);
}
END_TEST

START_TEST(go_runs_the_coroutine_when_the_creator_blocks)
{
	int ran = 0;

	ck_assert_int_eq(weft_go(set_flag, &ran), 0);
	ck_assert_int_eq(ran, 0);
	ck_assert_int_eq(weft_sleep(1 * MS), 0);
	ck_assert_int_eq(ran, 1);
}
END_TEST

struct fifo_arg {
	struct tl_trace *t;
	weft_wg *wg;
	int index;
};

static void append_index(void *arg)
{
	struct fifo_arg *f = arg;

	tl_trace_add(f->t, f->index);
	weft_wg_done(f->wg);
}

START_TEST(go_starts_coroutines_in_the_order_they_were_made)
{
	struct tl_trace t = { 0 };
	weft_wg wg = WEFT_WG_INIT;
	struct fifo_arg a[8];

	weft_wg_add(&wg, 8);
	for (int i = 0; i < 8; i++) {
		a[i] = (struct fifo_arg){ &t, &wg, i };
		ck_assert_int_eq(weft_go(append_index, &a[i]), 0);
	}
	ck_assert_int_eq(t.n, 0);
	weft_wg_wait(&wg);
	ck_assert_int_eq(t.n, 8);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(t.v[i], i);
}
END_TEST

/* ---- spawn, join, detach, exit ----------------------------------------- */

START_TEST(join_returns_the_function_result)
{
	int x;

	ck_assert_ptr_eq(spawn_and_join(return_arg, &x), &x);
	ck_assert_ptr_eq(spawn_and_join(return_arg, NULL), NULL);
}
END_TEST

START_TEST(join_accepts_a_null_result_pointer)
{
	int ran = 0;
	weft_co *co = weft_spawn(return_arg, &ran, 0);

	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_join(co, NULL), 0);
}
END_TEST

static void *sleep_then_return(void *arg)
{
	weft_sleep(5 * MS);
	return arg;
}

START_TEST(join_waits_for_a_coroutine_that_blocks)
{
	int x;

	ck_assert_ptr_eq(spawn_and_join(sleep_then_return, &x), &x);
}
END_TEST

static int after_exit;

static void exit_deeper(void *result)
{
	weft_exit(result);
}

static void *exit_with_arg(void *arg)
{
	exit_deeper(arg);
	after_exit = 1;
	return NULL;
}

START_TEST(join_returns_what_the_coroutine_passed_to_exit)
{
	int x;

	ck_assert_ptr_eq(spawn_and_join(exit_with_arg, &x), &x);
	ck_assert_int_eq(after_exit, 0);
}
END_TEST

static void *join_self(void *arg)
{
	(void)arg;
	errno = 0;
	if (weft_join(weft_self(), NULL) != -1)
		return (void *)1;
	return (void *)(intptr_t)errno;
}

START_TEST(join_of_self_fails_with_EDEADLK)
{
	ck_assert_int_eq((intptr_t)spawn_and_join(join_self, NULL), EDEADLK);
}
END_TEST

START_TEST(join_of_self_in_the_root_fails_with_EDEADLK)
{
	errno = 0;
	ck_assert_int_eq(weft_join(weft_self(), NULL), -1);
	ck_assert_int_eq(errno, EDEADLK);
}
END_TEST

START_TEST(join_of_a_detached_coroutine_fails_with_EINVAL)
{
	int ran = 0;
	/* Not yet run, so it cannot have ended and freed itself. */
	weft_co *co = weft_spawn(return_arg, &ran, 0);

	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_detach(co), 0);
	errno = 0;
	ck_assert_int_eq(weft_join(co, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	weft_sleep(1 * MS);
}
END_TEST

START_TEST(detach_twice_fails_with_EINVAL)
{
	int ran = 0;
	weft_co *co = weft_spawn(return_arg, &ran, 0);

	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_detach(co), 0);
	errno = 0;
	ck_assert_int_eq(weft_detach(co), -1);
	ck_assert_int_eq(errno, EINVAL);
	weft_sleep(1 * MS);
}
END_TEST

static void *wait_on_sem(void *arg)
{
	weft_sem_wait(arg);
	return arg;
}

struct joiner {
	weft_co *target;
	void *result;
	int rc;
	int done;
};

static void join_target(void *arg)
{
	struct joiner *j = arg;

	j->rc = weft_join(j->target, &j->result);
	j->done = 1;
}

START_TEST(join_of_a_coroutine_being_joined_fails_with_EINVAL)
{
	weft_sem sem;
	struct joiner j = { .rc = -2 };

	weft_sem_init(&sem, 0);
	j.target = weft_spawn(wait_on_sem, &sem, 0);
	ck_assert_ptr_nonnull(j.target);
	ck_assert_int_eq(weft_go(join_target, &j), 0);
	weft_yield(); /* target parks on sem, joiner parks in join */
	ck_assert_int_eq(j.done, 0);

	errno = 0;
	ck_assert_int_eq(weft_join(j.target, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(weft_detach(j.target), -1);
	ck_assert_int_eq(errno, EINVAL);

	weft_sem_post(&sem);
	for (int i = 0; i < 100 && !j.done; i++)
		weft_sleep(1 * MS);
	ck_assert_int_eq(j.done, 1);
	ck_assert_int_eq(j.rc, 0);
	ck_assert_ptr_eq(j.result, &sem);
}
END_TEST

static void *set_flag_and_return(void *arg)
{
	*(int *)arg = 1;
	return NULL;
}

START_TEST(detached_coroutine_runs_to_its_end)
{
	int ran = 0;
	weft_co *co = weft_spawn(set_flag_and_return, &ran, 0);

	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_detach(co), 0);
	weft_sleep(1 * MS);
	ck_assert_int_eq(ran, 1);
}
END_TEST

START_TEST(join_of_a_joined_coroutine_aborts)
{
	weft_co *co = weft_spawn(return_arg, NULL, 0);

	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_join(co, NULL), 0);
	weft_join(co, NULL); /* must abort */
}
END_TEST

START_TEST(spawn_with_an_absurd_stack_size_fails_with_EINVAL)
{
	errno = 0;
	ck_assert_ptr_null(weft_spawn(return_arg, NULL, SIZE_MAX));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(weft_spawn(return_arg, NULL, SIZE_MAX / 2 + 1));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* A NULL function would crash the coroutine when it first ran, far
 * from the call that made it: the call fails instead, and nothing is
 * made (the creator runs on alone). */
START_TEST(go_and_spawn_of_a_null_function_fail_with_EINVAL)
{
	errno = 0;
	ck_assert_int_eq(weft_go(NULL, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(weft_spawn(NULL, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(weft_spawn_opt(NULL, NULL, 0, 0));
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_ptr_null(weft_spawn_opt(NULL, NULL, 0, WEFT_OWN_TLS));
	ck_assert_int_eq(errno, EINVAL);
	weft_yield(); /* nothing was queued to run */
	ck_assert_int_eq(weft_sleep(MS), 0);
}
END_TEST

static void *self_pointer(void *arg)
{
	(void)arg;
	weft_co *before = weft_self();

	weft_yield();
	return before == weft_self() ? before : NULL;
}

START_TEST(self_is_the_coroutine_that_spawn_returned)
{
	weft_co *co = weft_spawn(self_pointer, NULL, 0);
	void *result = NULL;

	ck_assert_ptr_nonnull(co);
	ck_assert_ptr_nonnull(weft_self());
	ck_assert_ptr_ne(weft_self(), co);
	ck_assert_int_eq(weft_join(co, &result), 0);
	ck_assert_ptr_eq(result, co);
}
END_TEST

/* ---- identity ----------------------------------------------------------- */

START_TEST(id_of_the_main_thread_root_is_1)
{
	ck_assert_uint_eq(weft_id(), 1);
	weft_yield();
	ck_assert_uint_eq(weft_id(), 1);
}
END_TEST

struct id_arg {
	uint64_t id[16];
	int n;
	weft_wg wg;
};

static void record_id(void *arg)
{
	struct id_arg *a = arg;
	uint64_t id = weft_id();

	weft_yield();
	if (weft_id() != id)
		id = 0; /* changed across a switch: shows as a failure */
	a->id[a->n++] = id;
	weft_wg_done(&a->wg);
}

START_TEST(ids_are_unique_and_increase_with_each_new_coroutine)
{
	struct id_arg a = { .wg = WEFT_WG_INIT };

	weft_wg_add(&a.wg, 16);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(weft_go(record_id, &a), 0);
	weft_wg_wait(&a.wg);
	ck_assert_int_eq(a.n, 16);
	ck_assert_uint_gt(a.id[0], 1);
	for (int i = 1; i < 16; i++)
		ck_assert_uint_gt(a.id[i], a.id[i - 1]);
}
END_TEST

static void *id_of_coroutine(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)weft_id();
}

START_TEST(ids_are_never_reused)
{
	uint64_t last = weft_id();

	for (int i = 0; i < 100; i++) {
		uint64_t id = (uintptr_t)spawn_and_join(id_of_coroutine, NULL);

		ck_assert_uint_gt(id, last);
		last = id;
	}
}
END_TEST

/* ---- names -------------------------------------------------------------- */

START_TEST(name_is_empty_by_default)
{
	ck_assert_ptr_nonnull(weft_name());
	ck_assert_str_eq(weft_name(), "");
}
END_TEST

static void *name_of_coroutine(void *arg)
{
	static char copy[32];

	(void)arg;
	strncpy(copy, weft_name(), sizeof copy - 1);
	return copy;
}

START_TEST(name_of_a_new_coroutine_is_empty_even_if_its_creator_is_named)
{
	ck_assert_int_eq(weft_set_name("creator"), 0);
	ck_assert_str_eq((char *)spawn_and_join(name_of_coroutine, NULL), "");
	ck_assert_str_eq(weft_name(), "creator");
}
END_TEST

START_TEST(set_name_keeps_a_short_name_whole)
{
	ck_assert_int_eq(weft_set_name("worker-7"), 0);
	ck_assert_str_eq(weft_name(), "worker-7");
	ck_assert_int_eq(weft_set_name(""), 0);
	ck_assert_str_eq(weft_name(), "");
}
END_TEST

START_TEST(set_name_keeps_at_most_15_bytes)
{
	ck_assert_int_eq(weft_set_name("abcdefghijklmnopqrstuvwxyz"), 0);
	ck_assert_str_eq(weft_name(), "abcdefghijklmno");
	ck_assert_int_eq(weft_set_name("exactly-15bytes"), 0);
	ck_assert_str_eq(weft_name(), "exactly-15bytes");
}
END_TEST

static void *name_self_compare(void *arg)
{
	weft_set_name(arg);
	weft_yield();
	return (void *)(intptr_t)(strcmp(weft_name(), arg) == 0);
}

START_TEST(names_do_not_leak_between_coroutines)
{
	weft_co *a = weft_spawn(name_self_compare, "alpha", 0);
	weft_co *b = weft_spawn(name_self_compare, "beta", 0);
	void *ra = NULL, *rb = NULL;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	weft_yield(); /* both have named themselves */
	ck_assert_str_eq(weft_name(), "");
	ck_assert_int_eq(weft_join(a, &ra), 0);
	ck_assert_int_eq(weft_join(b, &rb), 0);
	ck_assert_int_eq((intptr_t)ra, 1);
	ck_assert_int_eq((intptr_t)rb, 1);
	ck_assert_str_eq(weft_name(), "");
}
END_TEST

/* ---- many coroutines ---------------------------------------------------- */

struct crowd {
	weft_wg wg;
	int started;
	int finished;
};

static void sleep_yield_end(void *arg)
{
	struct crowd *c = arg;

	c->started++;
	weft_sleep(1 * MS);
	weft_yield();
	c->finished++;
	weft_wg_done(&c->wg);
}

START_TEST(ten_thousand_coroutines_sleep_yield_and_end)
{
	enum { N = 10000 };
	struct crowd c = { .wg = WEFT_WG_INIT };

	ck_assert_int_eq(weft_wg_add(&c.wg, N), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(weft_go(sleep_yield_end, &c), 0);
	ck_assert_int_eq(weft_wg_wait(&c.wg), 0);
	ck_assert_int_eq(c.started, N);
	ck_assert_int_eq(c.finished, N);
}
END_TEST

/* ---- stack size --------------------------------------------------------- */

static void *use_half_a_mebibyte(void *arg)
{
	volatile char big[512 * 1024];
	long sum = 0;

	(void)arg;
	for (size_t i = 0; i < sizeof big; i += 1024)
		big[i] = (char)(i >> 10);
	big[sizeof big - 1] = 1;
	weft_yield(); /* the array must survive a switch */
	for (size_t i = 0; i < sizeof big; i += 1024)
		sum += big[i] == (char)(i >> 10);
	return (void *)sum;
}

START_TEST(coroutine_with_a_1_MiB_stack_can_use_a_512_KiB_array)
{
	weft_co *co = weft_spawn(use_half_a_mebibyte, NULL, 1 << 20);
	void *result = NULL;

	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_join(co, &result), 0);
	ck_assert_int_eq((long)result, 512);
}
END_TEST

/* ---- keys --------------------------------------------------------------- */

struct key_arg {
	weft_key key;
	int mine;
	int ok;
	weft_wg *wg;
};

static void check_own_value(void *arg)
{
	struct key_arg *k = arg;

	k->ok = weft_getspecific(k->key) == NULL;
	k->ok &= weft_setspecific(k->key, &k->mine) == 0;
	weft_yield();
	weft_yield();
	k->ok &= weft_getspecific(k->key) == &k->mine;
	weft_wg_done(k->wg);
}

START_TEST(key_values_are_private_to_each_coroutine)
{
	weft_key key;
	weft_wg wg = WEFT_WG_INIT;
	struct key_arg a[3];
	int root_value;

	ck_assert_int_eq(weft_key_create(&key, NULL), 0);
	ck_assert_ptr_null(weft_getspecific(key));
	ck_assert_int_eq(weft_setspecific(key, &root_value), 0);
	weft_wg_add(&wg, 3);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct key_arg){ .key = key, .wg = &wg };
		ck_assert_int_eq(weft_go(check_own_value, &a[i]), 0);
	}
	weft_wg_wait(&wg);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(a[i].ok, 1);
	ck_assert_ptr_eq(weft_getspecific(key), &root_value);
}
END_TEST

struct destroyed {
	int calls;
	void *values[8];
};

static struct destroyed destroyed;

static void record_destroy(void *value)
{
	if (destroyed.calls < 8)
		destroyed.values[destroyed.calls] = value;
	destroyed.calls++;
}

static weft_key the_key;

static void *set_key_then_end(void *arg)
{
	weft_setspecific(the_key, arg);
	return NULL;
}

static void *check_not_destroyed_yet(void *arg)
{
	weft_setspecific(the_key, arg);
	weft_yield();
	return (void *)(intptr_t)destroyed.calls;
}

START_TEST(key_destructor_runs_with_the_value_when_the_coroutine_ends)
{
	int value;

	ck_assert_int_eq(weft_key_create(&the_key, record_destroy), 0);
	ck_assert_int_eq((intptr_t)spawn_and_join(check_not_destroyed_yet, &value), 0);
	ck_assert_int_eq(destroyed.calls, 1);
	ck_assert_ptr_eq(destroyed.values[0], &value);
}
END_TEST

START_TEST(key_destructor_is_not_called_for_a_null_value)
{
	ck_assert_int_eq(weft_key_create(&the_key, record_destroy), 0);
	spawn_and_join(set_key_then_end, NULL);
	spawn_and_join(return_arg, NULL);
	ck_assert_int_eq(destroyed.calls, 0);
}
END_TEST

START_TEST(key_destructor_runs_for_detached_coroutines_too)
{
	int value;
	weft_co *co;

	ck_assert_int_eq(weft_key_create(&the_key, record_destroy), 0);
	co = weft_spawn(set_key_then_end, &value, 0);
	ck_assert_ptr_nonnull(co);
	ck_assert_int_eq(weft_detach(co), 0);
	weft_yield(); /* it runs to its end before this returns */
	ck_assert_int_eq(destroyed.calls, 1);
	ck_assert_ptr_eq(destroyed.values[0], &value);
}
END_TEST

static int second_value;

static void destroy_and_set_again(void *value)
{
	record_destroy(value);
	if (value != &second_value)
		weft_setspecific(the_key, &second_value);
}

START_TEST(key_destructor_runs_again_for_a_value_it_stored)
{
	int value;

	ck_assert_int_eq(weft_key_create(&the_key, destroy_and_set_again), 0);
	spawn_and_join(set_key_then_end, &value);
	ck_assert_int_eq(destroyed.calls, 2);
	ck_assert_ptr_eq(destroyed.values[0], &value);
	ck_assert_ptr_eq(destroyed.values[1], &second_value);
}
END_TEST

static void destroy_and_always_set_again(void *value)
{
	record_destroy(value);
	weft_setspecific(the_key, value);
}

START_TEST(key_destructor_rounds_are_bounded)
{
	int value;

	ck_assert_int_eq(weft_key_create(&the_key, destroy_and_always_set_again), 0);
	spawn_and_join(set_key_then_end, &value);
	ck_assert_int_ge(destroyed.calls, 2);
	ck_assert_int_le(destroyed.calls, 4);
}
END_TEST

START_TEST(getspecific_of_a_deleted_key_returns_null)
{
	weft_key key;
	int value;

	ck_assert_int_eq(weft_key_create(&key, NULL), 0);
	ck_assert_int_eq(weft_setspecific(key, &value), 0);
	ck_assert_ptr_eq(weft_getspecific(key), &value);
	ck_assert_int_eq(weft_key_delete(key), 0);
	ck_assert_ptr_null(weft_getspecific(key));
}
END_TEST

START_TEST(deleted_key_is_rejected_with_EINVAL)
{
	weft_key key;
	int value;

	ck_assert_int_eq(weft_key_create(&key, NULL), 0);
	ck_assert_int_eq(weft_key_delete(key), 0);
	errno = 0;
	ck_assert_int_eq(weft_key_delete(key), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(weft_setspecific(key, &value), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(values_of_a_deleted_key_are_not_destroyed)
{
	int value;
	weft_co *co;

	ck_assert_int_eq(weft_key_create(&the_key, record_destroy), 0);
	co = weft_spawn(check_not_destroyed_yet, &value, 0);
	ck_assert_ptr_nonnull(co);
	weft_yield(); /* the coroutine has stored its value */
	ck_assert_int_eq(weft_key_delete(the_key), 0);
	ck_assert_int_eq(weft_join(co, NULL), 0);
	ck_assert_int_eq(destroyed.calls, 0);
}
END_TEST

START_TEST(key_create_fails_with_EAGAIN_beyond_1024_keys)
{
	static weft_key keys[1100];
	int n = 0;
	weft_key again;

	while (n < 1100 && weft_key_create(&keys[n], NULL) == 0)
		n++;
	ck_assert_int_eq(n, 1024);
	ck_assert_int_eq(errno, EAGAIN);
	for (int i = 1; i < n; i++)
		ck_assert_uint_ne(keys[i], keys[i - 1]);

	/* Deleting one makes room for one more. */
	ck_assert_int_eq(weft_key_delete(keys[500]), 0);
	ck_assert_int_eq(weft_key_create(&again, NULL), 0);
	errno = 0;
	ck_assert_int_eq(weft_key_create(&keys[1099], NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

START_TEST(recreated_key_starts_null_in_every_coroutine)
{
	weft_key key, again;
	int value;

	ck_assert_int_eq(weft_key_create(&key, NULL), 0);
	ck_assert_int_eq(weft_setspecific(key, &value), 0);
	ck_assert_int_eq(weft_key_delete(key), 0);
	ck_assert_int_eq(weft_key_create(&again, NULL), 0);
	ck_assert_ptr_null(weft_getspecific(again));
}
END_TEST

/* ---- real threads ------------------------------------------------------- */

struct thread_arg {
	pthread_t root_thread;
	pthread_t co_thread[4];
	uint64_t root_id;
	uint64_t co_id[4];
	int co_runs;
	weft_wg wg;
};

static void record_thread(void *arg)
{
	struct thread_arg *t = arg;
	int i = t->co_runs++;

	weft_yield();
	t->co_thread[i] = pthread_self();
	t->co_id[i] = weft_id();
	weft_wg_done(&t->wg);
}

static void thread_root(void *arg)
{
	struct thread_arg *t = arg;

	t->root_thread = pthread_self();
	t->root_id = weft_id();
	weft_wg_add(&t->wg, 4);
	for (int i = 0; i < 4; i++)
		weft_go(record_thread, t);
	weft_wg_wait(&t->wg);
}

START_TEST(thread_runs_its_coroutines_on_a_new_os_thread)
{
	struct thread_arg t = { .wg = WEFT_WG_INIT };
	pthread_t tid;

	ck_assert_uint_eq(weft_id(), 1);
	ck_assert_int_eq(weft_thread(&tid, thread_root, &t), 0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(t.co_runs, 4);
	ck_assert(pthread_equal(t.root_thread, tid));
	ck_assert(!pthread_equal(t.root_thread, pthread_self()));
	for (int i = 0; i < 4; i++)
		ck_assert(pthread_equal(t.co_thread[i], tid));
	/* Ids are unique in the process, and the main root keeps 1. */
	ck_assert_uint_eq(weft_id(), 1);
	ck_assert_uint_ne(t.root_id, 1);
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_ne(t.co_id[i], 1);
		ck_assert_uint_ne(t.co_id[i], t.root_id);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(t.co_id[i], t.co_id[j]);
	}
}
END_TEST

START_TEST(thread_can_start_before_the_main_thread_uses_weft)
{
	/* No weft call in this thread before weft_thread: the new thread's
	 * scheduler must not need the main thread's, and the main thread's
	 * root is still number 1 once it has one. */
	struct thread_arg t = { .wg = WEFT_WG_INIT };
	pthread_t tid;

	ck_assert_int_eq(weft_thread(&tid, thread_root, &t), 0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(t.co_runs, 4);
	ck_assert_uint_eq(weft_id(), 1);
}
END_TEST

struct exit_root_arg {
	int finished;
};

static void finish_later(void *arg)
{
	struct exit_root_arg *e = arg;

	weft_sleep(2 * MS);
	weft_yield();
	e->finished = 1;
}

static void exit_thread_root(void *arg)
{
	weft_go(finish_later, arg);
	weft_exit(NULL);
}

START_TEST(exit_in_a_thread_root_lets_its_coroutines_finish)
{
	struct exit_root_arg e = { 0 };
	pthread_t tid;

	ck_assert_int_eq(weft_thread(&tid, exit_thread_root, &e), 0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(e.finished, 1);
}
END_TEST

static void say_later(void *arg)
{
	weft_sleep(10 * MS);
	say(arg);
}

static void thread_says_later(void *arg)
{
	weft_sleep(20 * MS);
	say(arg);
}

static int child_exits_main_root(void *arg)
{
	pthread_t tid;

	(void)arg;
	if (weft_thread(&tid, thread_says_later, "thread finished\n") != 0)
		return 90;
	if (weft_go(say_later, "coroutine finished\n") != 0)
		return 91;
	weft_exit(NULL);
}

START_TEST(exit_in_the_main_root_lets_coroutines_and_threads_finish)
{
	char out[256];
	int status = tl_run_in_child(child_exits_main_root, NULL, out, sizeof out);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %#x, stderr: %s", status, out);
	ck_assert_msg(strstr(out, "coroutine finished\n") != NULL,
		      "the main thread's coroutine did not finish: %s", out);
	ck_assert_msg(strstr(out, "thread finished\n") != NULL,
		      "the other thread did not finish: %s", out);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static void reset_destroyed(void)
{
	memset(&destroyed, 0, sizeof destroyed);
}

Suite *suite_co(void)
{
	Suite *s = suite_create("co");
	TCase *tc;

	tc = tcase_create("go");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, go_runs_the_function_with_its_argument);
	tcase_add_test(tc, go_does_not_run_the_coroutine_until_the_creator_yields);
	tcase_add_test(tc, go_runs_the_coroutine_when_the_creator_blocks);
	tcase_add_test(tc, go_starts_coroutines_in_the_order_they_were_made);
	tcase_add_test(tc, ten_thousand_coroutines_sleep_yield_and_end);
	suite_add_tcase(s, tc);

	tc = tcase_create("join");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, join_returns_the_function_result);
	tcase_add_test(tc, join_accepts_a_null_result_pointer);
	tcase_add_test(tc, join_waits_for_a_coroutine_that_blocks);
	tcase_add_test(tc, join_returns_what_the_coroutine_passed_to_exit);
	tcase_add_test(tc, join_of_self_fails_with_EDEADLK);
	tcase_add_test(tc, join_of_self_in_the_root_fails_with_EDEADLK);
	tcase_add_test(tc, join_of_a_detached_coroutine_fails_with_EINVAL);
	tcase_add_test(tc, detach_twice_fails_with_EINVAL);
	tcase_add_test(tc, join_of_a_coroutine_being_joined_fails_with_EINVAL);
	tcase_add_test(tc, detached_coroutine_runs_to_its_end);
	tcase_add_test_raise_signal(tc, join_of_a_joined_coroutine_aborts, SIGABRT);
	tcase_add_test(tc, spawn_with_an_absurd_stack_size_fails_with_EINVAL);
	tcase_add_test(tc, go_and_spawn_of_a_null_function_fail_with_EINVAL);
	tcase_add_test(tc, self_is_the_coroutine_that_spawn_returned);
	tcase_add_test(tc, coroutine_with_a_1_MiB_stack_can_use_a_512_KiB_array);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, id_of_the_main_thread_root_is_1);
	tcase_add_test(tc, ids_are_unique_and_increase_with_each_new_coroutine);
	tcase_add_test(tc, ids_are_never_reused);
	tcase_add_test(tc, name_is_empty_by_default);
	tcase_add_test(tc, name_of_a_new_coroutine_is_empty_even_if_its_creator_is_named);
	tcase_add_test(tc, set_name_keeps_a_short_name_whole);
	tcase_add_test(tc, set_name_keeps_at_most_15_bytes);
	tcase_add_test(tc, names_do_not_leak_between_coroutines);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, reset_destroyed, NULL);
	tcase_add_test(tc, key_values_are_private_to_each_coroutine);
	tcase_add_test(tc, key_destructor_runs_with_the_value_when_the_coroutine_ends);
	tcase_add_test(tc, key_destructor_is_not_called_for_a_null_value);
	tcase_add_test(tc, key_destructor_runs_for_detached_coroutines_too);
	tcase_add_test(tc, key_destructor_runs_again_for_a_value_it_stored);
	tcase_add_test(tc, key_destructor_rounds_are_bounded);
	tcase_add_test(tc, getspecific_of_a_deleted_key_returns_null);
	tcase_add_test(tc, deleted_key_is_rejected_with_EINVAL);
	tcase_add_test(tc, values_of_a_deleted_key_are_not_destroyed);
	tcase_add_test(tc, key_create_fails_with_EAGAIN_beyond_1024_keys);
	tcase_add_test(tc, recreated_key_starts_null_in_every_coroutine);
	suite_add_tcase(s, tc);

	tc = tcase_create("thread");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, thread_runs_its_coroutines_on_a_new_os_thread);
	tcase_add_test(tc, thread_can_start_before_the_main_thread_uses_weft);
	tcase_add_test(tc, exit_in_a_thread_root_lets_its_coroutines_finish);
	tcase_add_test(tc, exit_in_the_main_root_lets_coroutines_and_threads_finish);
	suite_add_tcase(s, tc);

	return s;
}
