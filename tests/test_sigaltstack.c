/* test_sigaltstack.c - a thread's own alternate signal stack, as its
 * handlers see it, each test run natively (loop 0: real threads) and with
 * green threads (loop 1, on a pool of two schedulers), expecting the
 * same: a handler with SA_ONSTACK runs on the thread's alternate stack
 * (sent with pthread_kill while the thread waits or computes, or raised
 * by itself), where sigaltstack says SS_ONSTACK and refuses a change
 * with EPERM; one without runs on the thread's stack; SS_AUTODISARM
 * disarms the stack while a handler runs on it; and a stack overflow is
 * caught by a handler on the alternate stack that siglongjmps back,
 * after which the thread goes on and ends as any other.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#define ALT_BYTES (64u << 10)

/* What the handler saw, for the thread to check. */
static char *volatile seen_at;       /* a local of the handler's */
static volatile int seen_flags;      /* sigaltstack's ss_flags there */
static volatile int seen_change;     /* errno of a change there, or 0 */
static void *volatile seen_uc_stack; /* its context's uc_stack.ss_sp */
static _Atomic int handled;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	static char other_mem[ALT_BYTES];
	char here = 0;
	stack_t now, other = { .ss_sp = other_mem, .ss_size = ALT_BYTES };

	(void)sig, (void)si;
	seen_at = &here;
	seen_uc_stack = ((ucontext_t *)uc)->uc_stack.ss_sp;
	sigaltstack(NULL, &now);
	seen_flags = now.ss_flags;
	seen_change = sigaltstack(&other, NULL) == 0 ? 0 : errno;
	if (seen_change == 0) /* put back what it replaced */
		sigaltstack(&now, NULL);
	atomic_fetch_add(&handled, 1);
}

/* The alternate stack the calling thread had before alt_set's (its
 * own, under AddressSanitizer, which unmaps it when the thread ends). */
static __thread stack_t before;

/* The calling thread's new alternate stack, with flags. */
static char *alt_set(int flags)
{
	stack_t ss = { .ss_size = ALT_BYTES, .ss_flags = flags };

	ss.ss_sp = malloc(ALT_BYTES);
	ck_assert_ptr_nonnull(ss.ss_sp);
	ck_assert_int_eq(sigaltstack(&ss, &before), 0);
	return ss.ss_sp;
}

/* Gives the calling thread back the alternate stack it had. */
static void alt_restore(void)
{
	if (before.ss_flags & SS_DISABLE)
		before = (stack_t){ .ss_flags = SS_DISABLE };
	ck_assert_int_eq(sigaltstack(&before, NULL), 0);
}

static bool on_alt(const char *alt)
{
	return seen_at > alt && seen_at <= alt + ALT_BYTES;
}

/* How the signal reaches the thread. */
enum how { PARKED, RUNNING, RAISED };

struct target {
	enum how how;
	int alt_flags;
	int p[2];
	_Atomic bool ready;
	char *alt;
};

/* A thread with its own alternate stack that takes SIGUSR1: waiting in
 * read, spinning until it is handled, or raising it. */
static void *target(void *arg)
{
	struct target *t = arg;
	char c;

	t->alt = alt_set(t->alt_flags);
	atomic_store(&t->ready, true);
	if (t->how == PARKED) {
		ck_assert_int_eq(read(t->p[0], &c, 1), 1);
	} else if (t->how == RUNNING) {
		int64_t end = tl_mono_ns() + 10 * SEC;
		while (atomic_load(&handled) == 0 && tl_mono_ns() < end)
			;
	} else {
		ck_assert_int_eq(raise(SIGUSR1), 0);
	}
	ck_assert_int_eq(atomic_load(&handled), 1);
	alt_restore();
	return NULL;
}

/* Runs target(how) with SIGUSR1's handler installed with flags; leaves
 * the thread's alternate stack in t->alt (freed: only its address is
 * compared). */
static void send_to_target(struct target *t, enum how how, int flags)
{
	t->how = how;
	tl_catch(SIGUSR1, on_sig, SA_RESTART | SA_SIGINFO | flags);
	tl_make_pipe(t->p);
	pthread_t th = tl_pthread(target, t, NULL);
	while (!atomic_load(&t->ready))
		usleep(1000);
	if (how != RAISED) {
		usleep(20000); /* in read, or spinning */
		ck_assert_int_eq(pthread_kill(th, SIGUSR1), 0);
		if (how == PARKED) {
			while (atomic_load(&handled) == 0)
				usleep(1000);
			ck_assert_int_eq(write(t->p[1], "x", 1), 1);
		}
	}
	tl_pthread_join(th);
	free(t->alt);
	close(t->p[0]);
	close(t->p[1]);
}

/* A handler with SA_ONSTACK runs on the thread's alternate stack, where
 * sigaltstack says SS_ONSTACK and a change fails with EPERM: sent while
 * the thread waits (_i 0, 1), computes (2, 3), or raised (4, 5). */
START_TEST(a_handler_with_sa_onstack_runs_on_the_threads_alternate_stack)
{
	struct target t = { 0 };

	if (_i / 2 == RUNNING)
		TL_SKIP_UNDER_VALGRIND("a thread that spins there may not "
				       "get its signal in ten seconds");
	tl_threads_mode(_i % 2);
	send_to_target(&t, (enum how)(_i / 2), SA_ONSTACK);
	ck_assert_msg(on_alt(t.alt), "handler at %p, alt stack %p..%p",
		      (void *)seen_at, (void *)t.alt,
		      (void *)(t.alt + ALT_BYTES));
	ck_assert_int_eq(seen_flags, SS_ONSTACK);
	ck_assert_int_eq(seen_change, EPERM);
	ck_assert_ptr_eq(seen_uc_stack, t.alt);
}
END_TEST

/* Without SA_ONSTACK the handler runs on the thread's own stack, and may
 * change the alternate stack. */
START_TEST(a_handler_without_sa_onstack_runs_on_the_threads_stack)
{
	struct target t = { 0 };

	if (_i / 2 == RUNNING)
		TL_SKIP_UNDER_VALGRIND("a thread that spins there may not "
				       "get its signal in ten seconds");
	tl_threads_mode(_i % 2);
	send_to_target(&t, (enum how)(_i / 2), 0);
	ck_assert(!on_alt(t.alt));
	ck_assert_int_eq(seen_flags, 0);
	ck_assert_int_eq(seen_change, 0);
	ck_assert_ptr_eq(seen_uc_stack, t.alt);
}
END_TEST

/* SS_AUTODISARM: while the handler runs on it the stack is disarmed (no
 * EPERM, as nothing is on an alternate stack), armed again after. */
static void *autodisarmed(void *arg)
{
	stack_t now;
	char *alt = alt_set(SS_AUTODISARM);

	(void)arg;
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(on_alt(alt));
	ck_assert_int_eq(seen_flags, SS_DISABLE);
	ck_assert_int_eq(seen_change, 0);
	ck_assert_ptr_eq(seen_uc_stack, alt);
	ck_assert_int_eq(sigaltstack(NULL, &now), 0);
	ck_assert_ptr_eq(now.ss_sp, alt);
	ck_assert_uint_eq((unsigned)now.ss_flags, SS_AUTODISARM);
	alt_restore();
	free(alt);
	return NULL;
}

/* Whether this system's sigaltstack takes SS_AUTODISARM (Linux 4.7;
 * valgrind's and qemu-user's refuse it with EINVAL); says so if not. */
static bool autodisarm_known(void)
{
	static char probe[ALT_BYTES];
	stack_t ss = { .ss_sp = probe, .ss_size = ALT_BYTES,
		       .ss_flags = SS_AUTODISARM }, old;

	if (sigaltstack(&ss, &old) != 0) {
		fprintf(stderr, "sigaltstack: no SS_AUTODISARM here (%s): "
			"its test left out\n", strerror(errno));
		return false;
	}
	if (old.ss_flags & SS_DISABLE)
		old = (stack_t){ .ss_flags = SS_DISABLE };
	ck_assert_int_eq(sigaltstack(&old, NULL), 0);
	return true;
}

START_TEST(ss_autodisarm_disarms_the_stack_while_the_handler_runs)
{
	if (!autodisarm_known())
		return;
	tl_threads_mode(_i);
	tl_catch(SIGUSR1, on_sig, SA_ONSTACK | SA_SIGINFO);
	tl_pthread_join(tl_pthread(autodisarmed, NULL, NULL));
}
END_TEST

/* ---- a stack overflow caught on the alternate stack ---- */

static sigjmp_buf back;
static char *volatile fault_alt;
static _Atomic int faults;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	char here = 0;

	(void)sig, (void)si, (void)uc;
	seen_at = &here;
	atomic_fetch_add(&faults, 1);
	siglongjmp(back, 1);
}

/* Recurses until the stack runs out. */
static __attribute__((noinline)) int deeper(volatile int n)
{
	volatile char frame[512];

	frame[0] = (char)n;
	if (n < 0) /* never: n only grows */
		return 0;
	return deeper(n + 1) + frame[0];
}

struct overflow {
	int p[2];
};

static void *overflow(void *arg)
{
	struct overflow *o = arg;
	char *alt = alt_set(0);
	sigset_t mask;
	char c;

	fault_alt = alt;
	if (sigsetjmp(back, 1) == 0)
		deeper(0);
	ck_assert_int_eq(atomic_load(&faults), 1);
	ck_assert(on_alt(alt));
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	ck_assert_int_eq(sigismember(&mask, SIGSEGV), 0);
	/* A blocking read, then the end as any thread's. */
	ck_assert_int_eq(read(o->p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	alt_restore();
	free(alt);
	return (void *)1;
}

START_TEST(a_stack_overflow_is_caught_on_the_alternate_stack)
{
	struct overflow o;
	pthread_attr_t attr;

	tl_threads_mode(_i);
	tl_catch(SIGSEGV, on_segv, SA_SIGINFO | SA_ONSTACK);
	tl_make_pipe(o.p);
	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setstacksize(&attr, 256u << 10), 0);
	pthread_t t = tl_pthread(overflow, &o, &attr);
	usleep(50000);
	ck_assert_int_eq(write(o.p[1], "x", 1), 1);
	ck_assert_ptr_eq(tl_pthread_join(t), (void *)1);
	ck_assert_int_eq(atomic_load(&faults), 1);
	pthread_attr_destroy(&attr);
}
END_TEST

Suite *suite_sigaltstack(void)
{
	Suite *s = suite_create("sigaltstack");
	TCase *tc = tcase_create("sigaltstack");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc,
		a_handler_with_sa_onstack_runs_on_the_threads_alternate_stack,
		0, 6);
	tcase_add_loop_test(tc,
		a_handler_without_sa_onstack_runs_on_the_threads_stack, 0, 6);
	tcase_add_loop_test(tc,
		ss_autodisarm_disarms_the_stack_while_the_handler_runs, 0, 2);
	tcase_add_loop_test(tc, a_stack_overflow_is_caught_on_the_alternate_stack,
			    0, 2);
	suite_add_tcase(s, tc);
	return s;
}
