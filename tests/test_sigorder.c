/* test_sigorder.c - realtime signals keep the kernel's order, and a
 * realtime signal sent to a program thread reaches it.  signal(7): of the
 * realtime signals pending, the lowest runs first, and each signal's run
 * in the order they were sent.  Each test runs natively (loop 0: real
 * threads) and with green threads (loop 1, on a pool of two schedulers,
 * where either scheduler's OS thread could take a signal for the
 * process), expecting the same:
 *  - signals queued to the process, one thread letting them through, run
 *    in the order sent;
 *  - signals pending for the process while every thread blocks them run
 *    when a thread unblocks them, lowest signal first, each in order, all
 *    before its pthread_sigmask returns;
 *  - raise and pthread_kill of a realtime signal run the handler as the
 *    thread they name: raise before it returns, pthread_kill of main as
 *    main;
 *  - one left to its default ends the process, one ignored is dropped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "../core/tcb.h"
#include "testlib.h"

#define SENT 600

/* What the handlers saw, in the order they ran. */
static _Atomic int ran;
static int got_sig[2 * SENT], got_value[2 * SENT];
static pthread_t got_self[2 * SENT];

static bool mode(int green)
{
	if (green) {
		weft__tcb_init(false);
		if (!weft__tcb_on)
			return false; /* pthread_self is the OS thread's */
		tl_threads_mode(green);
	}
	atomic_store(&ran, 0);
	return true;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int n = atomic_fetch_add(&ran, 1);

	if (n < 2 * SENT) {
		got_sig[n] = sig;
		got_value[n] = si->si_value.sival_int;
		got_self[n] = pthread_self();
	}
}

static void wait_for_runs(int n)
{
	for (int i = 0; i < 20000 && atomic_load(&ran) < n; i++)
		usleep(1000);
	usleep(20000); /* one too many would show */
	ck_assert_int_eq(atomic_load(&ran), n);
}

/* The one thread that lets the signals through: reads its pipe until it
 * gets a byte, again after each EINTR. */
struct receiver {
	int fd[2];
	int sig_a, sig_b;
	bool open_late;          /* unblock only once told, then check */
	_Atomic bool ready;
	int ran_at_unblock;
	pthread_t self;
};

static void *receives(void *p)
{
	struct receiver *r = p;
	char c;

	r->self = pthread_self();
	if (r->open_late) {
		atomic_store(&r->ready, true);
		while (read(r->fd[0], &c, 1) < 0 && errno == EINTR)
			;
		sigset_t both;
		sigemptyset(&both);
		sigaddset(&both, r->sig_a);
		sigaddset(&both, r->sig_b);
		ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &both, NULL), 0);
		r->ran_at_unblock = atomic_load(&ran);
	} else {
		tl_mask(SIG_UNBLOCK, r->sig_a);
		atomic_store(&r->ready, true);
	}
	while (read(r->fd[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Starts the receiver, main (and so the receiver, at first) blocking
 * both signals. */
static pthread_t receiver_start(struct receiver *r)
{
	tl_mask(SIG_BLOCK, r->sig_a);
	tl_mask(SIG_BLOCK, r->sig_b);
	tl_make_pipe(r->fd);
	pthread_t t = tl_pthread(receives, r, NULL);
	while (!atomic_load(&r->ready))
		usleep(1000);
	return t;
}

static void receiver_end(struct receiver *r, pthread_t t)
{
	ck_assert_int_eq(write(r->fd[1], "x", 1), 1);
	tl_pthread_join(t);
	close(r->fd[0]);
	close(r->fd[1]);
}

START_TEST(realtime_signals_to_the_process_run_in_the_order_sent)
{
	struct receiver r = { .sig_a = SIGRTMIN + 6, .sig_b = SIGRTMIN + 7 };

	if (!mode(_i))
		return;
	tl_catch(r.sig_a, on_rt, SA_SIGINFO);
	pthread_t t = receiver_start(&r);
	for (int v = 0; v < SENT; v++) {
		ck_assert_int_eq(sigqueue(getpid(), r.sig_a,
					  (union sigval){ .sival_int = v }), 0);
		if (v % 50 == 49)
			usleep(1000);
	}
	wait_for_runs(SENT);
	for (int i = 0; i < SENT; i++) {
		ck_assert_int_eq(got_value[i], i);
		ck_assert(pthread_equal(got_self[i], r.self));
	}
	receiver_end(&r, t);
}
END_TEST

START_TEST(pending_realtime_signals_run_lowest_first_at_unblock)
{
	struct receiver r = { .sig_a = SIGRTMIN + 6, .sig_b = SIGRTMIN + 7,
			      .open_late = true };

	if (!mode(_i))
		return;
	/* Each handler blocks both: else the kernel would start the next
	 * (the other signal) on top of it before its first instruction. */
	struct sigaction sa = { .sa_sigaction = on_rt, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, r.sig_a);
	sigaddset(&sa.sa_mask, r.sig_b);
	ck_assert_int_eq(sigaction(r.sig_a, &sa, NULL), 0);
	ck_assert_int_eq(sigaction(r.sig_b, &sa, NULL), 0);
	pthread_t t = receiver_start(&r);
	/* The higher signal first: the lower still runs first. */
	for (int v = 0; v < SENT / 2; v++) {
		ck_assert_int_eq(sigqueue(getpid(), r.sig_b,
					  (union sigval){ .sival_int = v }), 0);
		ck_assert_int_eq(sigqueue(getpid(), r.sig_a,
					  (union sigval){ .sival_int = v }), 0);
	}
	ck_assert_int_eq(atomic_load(&ran), 0);
	ck_assert_int_eq(write(r.fd[1], "x", 1), 1); /* unblock them */
	wait_for_runs(SENT);
	ck_assert_int_eq(r.ran_at_unblock, SENT);
	for (int i = 0; i < SENT; i++) {
		ck_assert_int_eq(got_sig[i], i < SENT / 2 ? r.sig_a : r.sig_b);
		ck_assert_int_eq(got_value[i], i % (SENT / 2));
		ck_assert(pthread_equal(got_self[i], r.self));
	}
	receiver_end(&r, t);
}
END_TEST

/* raise of a caught realtime signal: the handler runs as the caller
 * before raise returns, or, blocked, when the caller unblocks it; and so
 * for a tgkill of the caller's own thread. */
static void *raises(void *p)
{
	int sig = *(int *)p;

	ck_assert_int_eq(raise(sig), 0);
	ck_assert_int_eq(atomic_load(&ran), 1);
	tl_mask(SIG_BLOCK, sig);
	ck_assert_int_eq(raise(sig), 0);
	ck_assert_int_eq(atomic_load(&ran), 1);
	tl_mask(SIG_UNBLOCK, sig);
	ck_assert_int_eq(atomic_load(&ran), 2);
	/* A tgkill of its own OS thread is a raise. */
	ck_assert_int_eq(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid),
				 sig), 0);
	ck_assert_int_eq(atomic_load(&ran), 3);
	for (int i = 0; i < 3; i++)
		ck_assert(pthread_equal(got_self[i], pthread_self()));
	return NULL;
}

START_TEST(raise_runs_the_handler_as_the_caller_before_it_returns)
{
	int sig = SIGRTMIN + 8;

	if (!mode(_i))
		return;
	tl_catch(sig, on_rt, SA_SIGINFO);
	tl_pthread_join(tl_pthread(raises, &sig, NULL));
	/* And in main. */
	atomic_store(&ran, 0);
	ck_assert_int_eq(raise(sig), 0);
	ck_assert_int_eq(atomic_load(&ran), 1);
	ck_assert(pthread_equal(got_self[0], pthread_self()));
}
END_TEST

/* pthread_kill of main from another thread: main's handler runs as main
 * (it waits in usleep, which the signal ends). */
static pthread_t main_thread;

static void *kills_main(void *p)
{
	int sig = *(int *)p;

	ck_assert_int_eq(pthread_kill(main_thread, sig), 0);
	return NULL;
}

START_TEST(pthread_kill_of_main_runs_the_handler_as_main)
{
	int sig = SIGRTMIN + 9;

	if (!mode(_i))
		return;
	main_thread = pthread_self();
	tl_catch(sig, on_rt, SA_SIGINFO);
	tl_mask(SIG_UNBLOCK, sig);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_attr_t attr; /* the killer blocks it: only main takes it */
	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setsigmask_np(&attr, &one), 0);
	pthread_t t = tl_pthread(kills_main, &sig, &attr);
	for (int i = 0; i < 10000 && atomic_load(&ran) == 0; i++)
		usleep(1000);
	tl_pthread_join(t);
	pthread_attr_destroy(&attr);
	ck_assert_int_eq(atomic_load(&ran), 1);
	ck_assert(pthread_equal(got_self[0], main_thread));
}
END_TEST

/* A realtime signal left to its default ends the process, sent to a
 * thread or to the process, and an ignored one is dropped, as natively,
 * though weft's OS threads block realtime signals once the program
 * catches one.  Each case runs in a child of its own. */
static void *reads_forever(void *p)
{
	char c;

	while (read(*(int *)p, &c, 1) != 0)
		;
	return NULL;
}

static int default_case(int green, int how)
{
	int sig = SIGRTMIN + 10, fd[2];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (!mode(green) || pipe(fd) != 0)
		_exit(3);
	tl_catch(SIGRTMIN + 6, on_rt, SA_SIGINFO);
	if (how == 2)
		signal(sig, SIG_IGN);
	pthread_t t = tl_pthread(reads_forever, &fd[0], NULL);
	usleep(10000);
	if (how == 1)
		kill(getpid(), sig);
	else
		pthread_kill(t, sig);
	usleep(200000);
	_exit(0);
}

START_TEST(a_realtime_signal_left_to_its_default_ends_the_process)
{
	for (int how = 0; how < 3; how++) {
		int status;
		pid_t pid = default_case(_i, how);
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
			return; /* no thread blocks here */
		if (how == 2) {
			ck_assert(WIFEXITED(status) &&
				  WEXITSTATUS(status) == 0);
			continue;
		}
		ck_assert(WIFSIGNALED(status));
		ck_assert_int_eq(WTERMSIG(status), SIGRTMIN + 10);
	}
}
END_TEST

Suite *suite_sigorder(void)
{
	Suite *s = suite_create("sigorder");
	TCase *tc = tcase_create("sigorder");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc,
		realtime_signals_to_the_process_run_in_the_order_sent, 0, 2);
	tcase_add_loop_test(tc,
		pending_realtime_signals_run_lowest_first_at_unblock, 0, 2);
	tcase_add_loop_test(tc,
		raise_runs_the_handler_as_the_caller_before_it_returns, 0, 2);
	tcase_add_loop_test(tc, pthread_kill_of_main_runs_the_handler_as_main,
			    0, 2);
	tcase_add_loop_test(tc,
		a_realtime_signal_left_to_its_default_ends_the_process, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
