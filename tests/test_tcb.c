/* test_tcb.c - green threads own their thread: TLS, errno, the glibc
 * descriptor, the stack and what glibc reads of them.
 *
 * Most tests run one scenario twice, with native threads (green threads
 * off) and with green threads, and compare what the program saw: under
 * weft a program must not be able to tell the difference.  Blocks are
 * off under ThreadSanitizer (core/tcb.h), which does not run this suite.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <alloca.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "../hook/green.h"
#include "../core/tcb.h"
#include "testlib.h"

#define THREADS 8

/* Parks the green thread (or blocks the native one) for a moment. */
static void nap(void)
{
	struct timespec ts = { 0, 200000 };

	nanosleep(&ts, NULL);
}

/* ---- TLS and errno ------------------------------------------------------ */

static __thread long counter;
static __thread char tls_text[64] = "initial";

struct tls_seen {
	long id;
	long counter;
	int err;
	char text[64];
	pthread_t self, told;
};

/* Adds its id to a __thread counter ten times, parking between, sets
 * errno and a __thread string, parks again, and notes what it sees. */
static void *tls_worker(void *p)
{
	struct tls_seen *s = p;

	ck_assert_str_eq(tls_text, "initial");
	for (int i = 0; i < 10; i++) {
		counter += s->id;
		nap();
	}
	snprintf(tls_text, sizeof tls_text, "thread %ld", s->id);
	errno = (int)(100 + s->id);
	nap();
	s->counter = counter;
	s->err = errno;
	strcpy(s->text, tls_text);
	s->self = pthread_self();
	return NULL;
}

/* Runs THREADS tls_workers, green or native, into seen[]. */
static void run_tls(bool green, struct tls_seen *seen)
{
	pthread_t t[THREADS];

	weft__green_set(green);
	counter = 0;
	for (int i = 0; i < THREADS; i++) {
		seen[i] = (struct tls_seen){ .id = i + 1 };
		t[i] = tl_pthread(tls_worker, &seen[i], NULL);
		seen[i].told = t[i];
	}
	for (int i = 0; i < THREADS; i++)
		tl_pthread_join(t[i]);
	ck_assert_int_eq(counter, 0);
	ck_assert_str_eq(tls_text, "initial");
}

START_TEST(thread_variables_and_errno_are_each_thread_s_own)
{
	struct tls_seen native[THREADS], green[THREADS];

	run_tls(false, native);
	run_tls(true, green);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(native[i].counter, 10 * (i + 1));
		ck_assert_int_eq(green[i].counter, native[i].counter);
		ck_assert_int_eq(green[i].err, native[i].err);
		ck_assert_str_eq(green[i].text, native[i].text);
		ck_assert(pthread_equal(green[i].self, green[i].told));
	}
}
END_TEST

/* ---- C++ thread_local destructors ---------------------------------------
 *
 * A thread_local with a destructor compiles to a call of
 * __cxa_thread_atexit_impl when it is first used; glibc runs the
 * destructors when the thread ends, before key destructors. */

extern int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj,
				    void *dso);
extern void *__dso_handle;

static __thread int tls_object;
static int destroyed[THREADS + 1];
static pthread_key_t order_key;
/* Per thread, what its destructors did, in order: 1 its thread_local's,
 * 2 its key's.  Native threads end at the same time: one row each. */
static int order[THREADS + 1][2], norder[THREADS + 1];

static void tls_destructor(void *obj)
{
	int id = *(int *)obj;

	destroyed[id]++;
	if (norder[id] < 2)
		order[id][norder[id]++] = 1;
}

static void key_destructor(void *v)
{
	int id = (int)(intptr_t)v;

	if (norder[id] < 2)
		order[id][norder[id]++] = 2;
}

static void *thread_local_user(void *p)
{
	tls_object = (int)(intptr_t)p;
	ck_assert_int_eq(__cxa_thread_atexit_impl(tls_destructor, &tls_object,
						  &__dso_handle), 0);
	pthread_setspecific(order_key, p);
	nap();
	return NULL;
}

static void run_thread_locals(bool green, int *seen)
{
	pthread_t t[THREADS];

	weft__green_set(green);
	memset(destroyed, 0, sizeof destroyed);
	memset(norder, 0, sizeof norder);
	ck_assert_int_eq(pthread_key_create(&order_key, key_destructor), 0);
	for (int i = 0; i < THREADS; i++)
		t[i] = tl_pthread(thread_local_user, (void *)(intptr_t)(i + 1),
				  NULL);
	for (int i = 0; i < THREADS; i++)
		tl_pthread_join(t[i]);
	pthread_key_delete(order_key);
	memcpy(seen, destroyed, sizeof destroyed);
	/* Each thread: its thread_local first, then its key. */
	for (int i = 1; i <= THREADS; i++) {
		ck_assert_int_eq(norder[i], 2);
		ck_assert(order[i][0] == 1 && order[i][1] == 2);
	}
}

START_TEST(thread_local_destructors_run_when_each_thread_ends)
{
	int native[THREADS + 1], green[THREADS + 1];

	run_thread_locals(false, native);
	run_thread_locals(true, green);
	ck_assert_int_eq(native[0], 0);
	for (int i = 1; i <= THREADS; i++) {
		ck_assert_int_eq(native[i], 1);
		ck_assert_int_eq(green[i], native[i]);
	}
}
END_TEST

/* ---- malloc's per-thread state ------------------------------------------ */

/* Allocates and frees in sizes that the per-thread cache keeps, parking
 * between allocation and free. */
static void *malloc_churn(void *p)
{
	void *keep[64];

	(void)p;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 64; i++) {
			keep[i] = malloc((size_t)(16 + 24 * i));
			ck_assert_ptr_nonnull(keep[i]);
			memset(keep[i], i, (size_t)(16 + 24 * i));
		}
		nap();
		for (int i = 0; i < 64; i++) {
			ck_assert_int_eq(((unsigned char *)keep[i])[0], i);
			free(keep[i]);
		}
	}
	return NULL;
}

START_TEST(malloc_across_parks_works_and_leaves_nothing_behind)
{
	weft__green_set(true);
	pthread_t t[THREADS];

	/* Warm up first, so the first round's arena growth is not counted. */
	for (int i = 0; i < THREADS; i++)
		t[i] = tl_pthread(malloc_churn, NULL, NULL);
	for (int i = 0; i < THREADS; i++)
		tl_pthread_join(t[i]);
	struct mallinfo2 before = mallinfo2();
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < THREADS; i++)
			t[i] = tl_pthread(malloc_churn, NULL, NULL);
		for (int i = 0; i < THREADS; i++)
			tl_pthread_join(t[i]);
	}
	struct mallinfo2 after = mallinfo2();
	/* 400 threads ended: had each kept its own cache, thousands of
	 * chunks would still be in use. */
	ck_assert_uint_lt(after.uordblks, before.uordblks + (64u << 10));
}
END_TEST

/* ---- locale ------------------------------------------------------------- */

struct locale_seen {
	bool own;        /* set a locale of its own */
	locale_t before; /* what uselocale(NULL) said first */
	locale_t after;  /* and after the other thread set its own */
	int upper;       /* toupper('a') after */
};

static pthread_barrier_t locale_barrier;

static void *locale_user(void *p)
{
	struct locale_seen *s = p;

	s->before = uselocale((locale_t)0);
	locale_t mine = s->own ? duplocale(LC_GLOBAL_LOCALE) : (locale_t)0;
	if (s->own)
		uselocale(mine);
	pthread_barrier_wait(&locale_barrier);
	nap();
	s->after = uselocale((locale_t)0);
	s->upper = toupper('a');
	pthread_barrier_wait(&locale_barrier);
	if (s->own) {
		uselocale(LC_GLOBAL_LOCALE);
		freelocale(mine);
	}
	return NULL;
}

static void run_locale(bool green, struct locale_seen s[2])
{
	weft__green_set(green);
	ck_assert_int_eq(pthread_barrier_init(&locale_barrier, NULL, 2), 0);
	s[0] = (struct locale_seen){ .own = true };
	s[1] = (struct locale_seen){ .own = false };
	pthread_t a = tl_pthread(locale_user, &s[0], NULL);
	pthread_t b = tl_pthread(locale_user, &s[1], NULL);
	tl_pthread_join(a);
	tl_pthread_join(b);
	pthread_barrier_destroy(&locale_barrier);
}

START_TEST(uselocale_is_each_thread_s_own)
{
	struct locale_seen native[2], green[2];

	run_locale(false, native);
	run_locale(true, green);
	for (int i = 0; i < 2; i++) {
		ck_assert(green[i].before == LC_GLOBAL_LOCALE);
		ck_assert(native[i].before == LC_GLOBAL_LOCALE);
		ck_assert_int_eq(green[i].upper, 'A');
	}
	ck_assert(green[0].after != LC_GLOBAL_LOCALE);
	ck_assert(green[1].after == LC_GLOBAL_LOCALE);
	ck_assert(native[1].after == LC_GLOBAL_LOCALE);
}
END_TEST

/* ---- identity: glibc's own calls on a green thread ---------------------- */

struct ident {
	pthread_t self;
	int cpu;
	int schedparam, getschedparam, affinity;
	int cpuclock;
	clockid_t clock;
	int sigqueue;
};

static void *identify(void *p)
{
	struct ident *id = p;
	struct sched_param sp = { 0 };
	int policy;
	cpu_set_t set;

	id->self = pthread_self();
	id->cpu = sched_getcpu();
	id->schedparam = pthread_setschedparam(pthread_self(), SCHED_OTHER,
					       &sp);
	id->getschedparam = pthread_getschedparam(pthread_self(), &policy,
						  &sp);
	id->affinity = pthread_getaffinity_np(pthread_self(), sizeof set,
					      &set);
	id->cpuclock = pthread_getcpuclockid(pthread_self(), &id->clock);
	nap();
	return NULL;
}

START_TEST(glibc_s_pthread_calls_on_a_green_thread_do_not_crash)
{
	struct ident native, green;

	weft__green_set(false);
	pthread_t t = tl_pthread(identify, &native, NULL);
	tl_pthread_join(t);
	weft__green_set(true);
	t = tl_pthread(identify, &green, NULL);
	/* From outside, on a live green thread. */
	union sigval v = { 0 };
	green.sigqueue = pthread_sigqueue(t, 0, v);
	tl_pthread_join(t);
	ck_assert(pthread_equal(green.self, t));
	ck_assert_int_ge(native.cpu, 0);
	ck_assert_int_ge(green.cpu, 0);
	ck_assert_int_eq(green.schedparam, native.schedparam);
	ck_assert_int_eq(green.getschedparam, native.getschedparam);
	ck_assert_int_eq(green.affinity, native.affinity);
	ck_assert_int_eq(green.cpuclock, native.cpuclock);
	ck_assert_int_eq(green.sigqueue, 0);
}
END_TEST

/* ---- stacks ------------------------------------------------------------- */

struct stack_seen {
	void *addr;
	size_t size, guard;
	uintptr_t local;
	int deep_ok;
};

static void *look_at_stack(void *p)
{
	struct stack_seen *s = p;
	pthread_attr_t attr;
	char here;

	ck_assert_int_eq(pthread_getattr_np(pthread_self(), &attr), 0);
	pthread_attr_getstack(&attr, &s->addr, &s->size);
	pthread_attr_getguardsize(&attr, &s->guard);
	pthread_attr_destroy(&attr);
	s->local = (uintptr_t)&here;
	return NULL;
}

static void stack_with(bool green, size_t size, void *mem,
		       struct stack_seen *s)
{
	pthread_attr_t attr;

	weft__green_set(green);
	pthread_attr_init(&attr);
	if (mem)
		ck_assert_int_eq(pthread_attr_setstack(&attr, mem, size), 0);
	else if (size)
		ck_assert_int_eq(pthread_attr_setstacksize(&attr, size), 0);
	*s = (struct stack_seen){ 0 };
	tl_pthread_join(tl_pthread(look_at_stack, s, &attr));
	pthread_attr_destroy(&attr);
	ck_assert(s->local > (uintptr_t)s->addr &&
		  s->local < (uintptr_t)s->addr + s->size);
}

START_TEST(stack_sizes_are_what_glibc_gives)
{
	size_t sizes[] = { 0, TL_SMALL_STACK, 1 << 20, 8 << 20 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct stack_seen native, green;
		stack_with(false, sizes[i], NULL, &native);
		stack_with(true, sizes[i], NULL, &green);
		ck_assert_uint_eq(green.size, native.size);
		ck_assert_uint_eq(green.guard, native.guard);
	}
}
END_TEST

START_TEST(a_stack_the_program_gives_is_the_one_used)
{
	size_t size = 256 << 10;
	/* One each: valgrind marks a native thread's stack unusable once
	 * the thread has ended. */
	char *mem = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct stack_seen native, green;

	ck_assert(mem != MAP_FAILED);
	stack_with(false, size, mem, &native);
	stack_with(true, size, mem + size, &green);
	ck_assert_ptr_eq(native.addr, mem);
	ck_assert_ptr_eq(green.addr, mem + size);
	ck_assert_uint_eq(green.size, native.size);
	munmap(mem, 2 * size);
}
END_TEST

/* Recurses through about depth KiB of frames, parking at the bottom. */
static int __attribute__((noinline)) recurse(int depth)
{
	volatile char frame[1000];

	frame[0] = (char)depth;
	if (depth == 0) {
		nap();
		return frame[0];
	}
	return recurse(depth - 1) + frame[0];
}

static void *go_deep(void *p)
{
	struct stack_seen *s = p;
	char *big = alloca(1 << 20);

	memset(big, 1, 1 << 20);
	/* 1 MiB, then about 4 MiB of frames (5 with ASan's red zones) on a
	 * stack of 8 MiB. */
	s->deep_ok = recurse(4000) >= 0 && big[12345] == 1;
	return NULL;
}

START_TEST(the_default_stack_takes_deep_recursion_and_big_alloca)
{
	struct stack_seen native = { 0 }, green = { 0 };

	weft__green_set(false);
	tl_pthread_join(tl_pthread(go_deep, &native, NULL));
	weft__green_set(true);
	tl_pthread_join(tl_pthread(go_deep, &green, NULL));
	ck_assert_int_eq(native.deep_ok, 1);
	ck_assert_int_eq(green.deep_ok, 1);
}
END_TEST

/* Recurses without end, a page a frame, so that the guard is hit. */
static int __attribute__((noinline)) bottomless(int depth)
{
	volatile char frame[4096];

	frame[0] = (char)depth;
	if (depth == -1) /* never: the compiler must not see an endless loop */
		return frame[0];
	return bottomless(depth + 1) + frame[0];
}

static void *overflow(void *p)
{
	return (void *)(intptr_t)bottomless((int)(intptr_t)p);
}

/* In a child: a green thread with a small stack recurses without end. */
static int overflow_child(void *arg)
{
	(void)arg;
	pthread_attr_t attr;

	weft__green_set(true);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, TL_SMALL_STACK);
	pthread_t t = tl_pthread(overflow, NULL, &attr);
	pthread_setname_np(t, "deep-one");
	tl_pthread_join(t);
	return 0;
}

START_TEST(an_overflow_past_the_guard_is_reported_with_the_thread_s_name)
{
	char err[1024];
	int status = tl_run_in_child(overflow_child, NULL, err, sizeof err);
	char said[64];

	snprintf(said, sizeof said, "overflowed its stack of %zu KiB",
		 TL_SMALL_STACK >> 10);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	ck_assert_ptr_nonnull(strstr(err, said));
	ck_assert_ptr_nonnull(strstr(err, "deep-one"));
	ck_assert_ptr_nonnull(strstr(err, "pthread_attr_setstacksize"));
}
END_TEST

/* ---- fork from a green thread ------------------------------------------- */

static void *forker(void *p)
{
	int *status = p;
	counter = 77;
	pid_t pid = fork();

	if (pid == 0) {
		/* The child's only thread: its TLS, malloc and stdio work. */
		char *m = malloc(1000);
		int ok = m != NULL && counter == 77 &&
			 pthread_equal(pthread_self(), pthread_self());
		free(m);
		_exit(ok ? 3 : 4);
	}
	waitpid(pid, status, 0);
	return NULL;
}

START_TEST(fork_from_a_green_thread_gives_a_working_child)
{
	int status = -1;

	weft__green_set(true);
	tl_pthread_join(tl_pthread(forker, &status, NULL));
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 3);
}
END_TEST

#ifdef __x86_64__
/* glibc's multiple_threads in the running block's tcbhead_t, which
 * x86-64's catomic_* (malloc's fastbins) read to decide on a lock
 * prefix. */
static int running_block_says_threaded(void)
{
	int v;

	__asm__ volatile("movl %%fs:24, %0" : "=r"(v));
	return v;
}

static void *note_threaded(void *p)
{
	*(int *)p = running_block_says_threaded();
	return NULL;
}

START_TEST(every_block_says_the_process_is_threaded)
{
	/* A check test runs in a fork of a single-threaded runner: its
	 * own block starts at 0, which a green block must not copy. */
	int green = -1;

	weft__green_set(true);
	tl_pthread_join(tl_pthread(note_threaded, &green, NULL));
	ck_assert_int_eq(green, 1);
	ck_assert_int_eq(running_block_says_threaded(), 1);
}
END_TEST
#endif

/* ---- linked mode -------------------------------------------------------- */

static void *report_counter(void *p)
{
	counter += (long)(intptr_t)p;
	weft_yield();
	return (void *)counter;
}

START_TEST(weft_spawn_shares_tls_and_own_tls_is_asked_for)
{
	weft__green_set(false);
	counter = 1000;
	weft_co *shared = weft_spawn(report_counter, (void *)5, 0);
	weft_co *own = weft_spawn_opt(report_counter, (void *)7, 0,
				      WEFT_OWN_TLS);
	void *r1, *r2;

	ck_assert_ptr_nonnull(shared);
	ck_assert_ptr_nonnull(own);
	ck_assert_int_eq(weft_join(shared, &r1), 0);
	ck_assert_int_eq(weft_join(own, &r2), 0);
	ck_assert_int_eq((long)r1, 1005);
	ck_assert_int_eq((long)r2, 7);
	ck_assert_int_eq(counter, 1005);
	errno = 0;
	ck_assert_ptr_null(weft_spawn_opt(report_counter, NULL, 0, 2));
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

Suite *suite_tcb(void)
{
	Suite *s = suite_create("tcb");
	TCase *tc;

	tc = tcase_create("thread blocks");
	tcase_set_timeout(tc, 20);
	if (weft__tcb_init(false)) {
		tcase_add_test(tc, thread_variables_and_errno_are_each_thread_s_own);
		tcase_add_test(tc, thread_local_destructors_run_when_each_thread_ends);
		tcase_add_test(tc, malloc_across_parks_works_and_leaves_nothing_behind);
		tcase_add_test(tc, uselocale_is_each_thread_s_own);
		tcase_add_test(tc, fork_from_a_green_thread_gives_a_working_child);
#ifdef __x86_64__
		tcase_add_test(tc, every_block_says_the_process_is_threaded);
#endif
		tcase_add_test(tc, weft_spawn_shares_tls_and_own_tls_is_asked_for);
	}
	tcase_add_test(tc, glibc_s_pthread_calls_on_a_green_thread_do_not_crash);
	suite_add_tcase(s, tc);

	tc = tcase_create("stacks");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, stack_sizes_are_what_glibc_gives);
	tcase_add_test(tc, a_stack_the_program_gives_is_the_one_used);
	tcase_add_test(tc, the_default_stack_takes_deep_recursion_and_big_alloca);
	tcase_add_test(tc, an_overflow_past_the_guard_is_reported_with_the_thread_s_name);
	suite_add_tcase(s, tc);
	return s;
}
