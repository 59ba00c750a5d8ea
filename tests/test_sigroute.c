/* test_sigroute.c - signals sent to the process (kill, a timer), raise,
 * and the actions the program sets, each test run natively (loop 0: real
 * threads) and with green threads (loop 1, on a pool of two schedulers),
 * expecting the same: the signal goes to a thread that lets it through,
 * whose handler runs as that thread and whose blocking call returns
 * EINTR; one that every thread blocks waits for an unblock; sigaction
 * reads back what the program set.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <fcntl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "../core/sigs.h"
#include "../hook/green.h"
#include "../hook/real.h"
#include "testlib.h"

static _Atomic int handled;
static _Atomic pthread_t handled_by;

static void on_sig(int sig)
{
	(void)sig;
	atomic_store(&handled_by, pthread_self());
	atomic_fetch_add(&handled, 1);
}

/* A thread that lets sig through (or not) and waits in a call: reads fd,
 * accepts on it, selects it with pselect letting every signal in, or
 * waits in sigsuspend (letting every signal in) or pause. */
enum call { READ, ACCEPT, PSELECT, SIGSUSPEND, PAUSE };

struct waiter {
	enum call what;
	int sig, fd;
	bool open;
	_Atomic bool started, done;
	long r;
	int err;
};

static void *wait_in(void *p)
{
	struct waiter *w = p;
	sigset_t none;
	fd_set rd;
	char c;

	sigemptyset(&none);
	FD_ZERO(&rd);
	if (w->what == PSELECT)
		FD_SET(w->fd, &rd);
	tl_mask(w->open ? SIG_UNBLOCK : SIG_BLOCK, w->sig);
	atomic_store(&w->started, true);
	switch (w->what) {
	case READ:
		w->r = read(w->fd, &c, 1);
		break;
	case ACCEPT:
		w->r = accept(w->fd, NULL, NULL);
		break;
	case PSELECT:
		w->r = pselect(w->fd + 1, &rd, NULL, NULL, NULL, &none);
		break;
	case SIGSUSPEND:
		w->r = sigsuspend(&none);
		break;
	case PAUSE:
		w->r = pause();
		break;
	}
	w->err = errno;
	atomic_store(&w->done, true);
	return NULL;
}

/* w's call ended with EINTR, its handler run as t. */
static void interrupted_as(const struct waiter *w, pthread_t t)
{
	ck_assert_int_eq(w->r, -1);
	ck_assert_int_eq(w->err, EINTR);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
}

/* Sends sig to the process every 5 ms, once *started, until *done (at
 * most 10 s). */
static void kill_until(int sig, _Atomic bool *started, _Atomic bool *done)
{
	while (!atomic_load(started))
		usleep(1000);
	for (int i = 0; i < 2000 && !atomic_load(done); i++) {
		ck_assert_int_eq(kill(getpid(), sig), 0);
		usleep(5000);
	}
	ck_assert(atomic_load(done));
}

/* kill_until for waiter w, as a thread. */
static void *kill_for(void *p)
{
	struct waiter *w = p;

	kill_until(w->sig, &w->started, &w->done);
	return NULL;
}

/* kill(getpid()) while main and three threads block the signal and one
 * reads: that one runs the handler, and its read gives EINTR. */
START_TEST(a_process_signal_goes_to_the_thread_that_lets_it_through)
{
	int p[2];
	struct waiter shut[3], open = { .sig = SIGUSR1, .open = true };
	pthread_t ts[3], t;

	tl_threads_mode(_i);
	tl_catch(SIGUSR1, on_sig, 0);
	tl_mask(SIG_BLOCK, SIGUSR1);
	tl_make_pipe(p);
	for (int i = 0; i < 3; i++) {
		shut[i] = (struct waiter){ .sig = SIGUSR1, .fd = p[0] };
		ts[i] = tl_pthread(wait_in, &shut[i], NULL);
	}
	open.fd = p[0];
	t = tl_pthread(wait_in, &open, NULL);
	kill_until(SIGUSR1, &open.started, &open.done);
	tl_pthread_join(t);
	interrupted_as(&open, t);
	ck_assert_int_eq(write(p[1], "xyz", 3), 3);
	for (int i = 0; i < 3; i++) {
		tl_pthread_join(ts[i]);
		ck_assert_int_eq(shut[i].r, 1);
	}
}
END_TEST

/* The shutdown idiom: every worker blocks the signal, main waits in
 * accept; a kill from a worker ends main's accept with EINTR, its handler
 * run as main. */
START_TEST(main_waiting_in_accept_takes_the_signal_its_workers_block)
{
	struct waiter w = { .what = ACCEPT, .sig = SIGUSR1, .open = true };
	pthread_t self = pthread_self();

	tl_threads_mode(_i);
	tl_catch(SIGUSR1, on_sig, 0);
	tl_mask(SIG_BLOCK, SIGUSR1);
	w.fd = tl_listener();
	/* The worker is made with the signal blocked; main then opens. */
	pthread_t t = tl_pthread(kill_for, &w, NULL);
	tl_mask(SIG_UNBLOCK, SIGUSR1);
	atomic_store(&w.started, true);
	w.r = accept(w.fd, NULL, NULL);
	w.err = errno;
	atomic_store(&w.done, true);
	tl_pthread_join(t);
	interrupted_as(&w, self);
	close(w.fd);
}
END_TEST

/* The other way round: main blocks the signal and sleeps alone (weft
 * makes the real call, which no restart would hide), a worker lets it
 * through, and another process kills the process again and again: the
 * signals run the worker's handler, and main's sleep is never cut short
 * (the kernel offers a signal from outside to the main thread first). */
struct opener {
	int ready[2];    /* the worker lets the signal through */
	int end[2];      /* written when it may end */
};

static void *takes_while_open(void *arg)
{
	struct opener *o = arg;
	char c;

	tl_mask(SIG_BLOCK, SIGUSR2);
	tl_mask(SIG_UNBLOCK, SIGUSR1);
	ck_assert_int_eq(write(o->ready[1], "r", 1), 1);
	while (read(o->end[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

START_TEST(main_blocking_the_signal_is_not_interrupted_by_it)
{
	struct opener o;
	char c;
	int st;

	tl_threads_mode(_i);
	tl_catch(SIGUSR1, on_sig, 0);
	tl_mask(SIG_BLOCK, SIGUSR1);
	tl_make_pipe(o.ready);
	tl_make_pipe(o.end);
	pthread_t t = tl_pthread(takes_while_open, &o, NULL);
	/* Once the worker lets the signal through, main blocks SIGUSR2,
	 * which the worker blocks too: the set of signals some thread
	 * lets through changes, and main's OS thread takes the masks as
	 * they are then. */
	ck_assert_int_eq(read(o.ready[0], &c, 1), 1);
	tl_mask(SIG_BLOCK, SIGUSR2);
	pid_t parent = getpid(), pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		tl_raw_sleep_ms(20); /* main sleeps meanwhile */
		for (int i = 0; i < 20; i++) {
			kill(parent, SIGUSR1);
			tl_raw_sleep_ms(2);
		}
		_exit(0);
	}
	int r = usleep(400000);
	ck_assert_msg(r == 0, "main's usleep gave %d (%s)", r, strerror(errno));
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(write(o.end[1], "x", 1), 1);
	tl_pthread_join(t);
	ck_assert_int_ge(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
	for (int i = 0; i < 2; i++) {
		close(o.ready[i]);
		close(o.end[i]);
	}
}
END_TEST

/* A worker that blocks the signal kills the process once main waits,
 * then ends 100 ms later. */
static _Atomic bool main_waits;

static void *kill_then_end(void *arg)
{
	(void)arg;
	while (!atomic_load(&main_waits))
		usleep(1000);
	usleep(20000);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	usleep(100000);
	return NULL;
}

/* iperf's shutdown: main waits in pthread_cond_timedwait or
 * pthread_join while every worker blocks SIGINT; the signal runs main's
 * handler, as main, during the wait. */
START_TEST(main_waiting_on_a_condition_or_a_join_takes_the_signal)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	pthread_t self = pthread_self();

	tl_threads_mode(_i);
	atomic_store(&handled, 0);
	atomic_store(&main_waits, false);
	tl_catch(SIGUSR1, on_sig, 0);
	tl_mask(SIG_BLOCK, SIGUSR1);
	pthread_t t = tl_pthread(kill_then_end, NULL, NULL);
	tl_mask(SIG_UNBLOCK, SIGUSR1);
	pthread_mutex_lock(&m);
	atomic_store(&main_waits, true);
	for (int i = 0; i < 50 && atomic_load(&handled) == 0; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c, &m, &ts);
	}
	pthread_mutex_unlock(&m);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), self));
	tl_pthread_join(t);

	atomic_store(&handled, 0);
	atomic_store(&main_waits, false);
	tl_mask(SIG_BLOCK, SIGUSR1);
	t = tl_pthread(kill_then_end, NULL, NULL);
	tl_mask(SIG_UNBLOCK, SIGUSR1);
	atomic_store(&main_waits, true);
	tl_pthread_join(t);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), self));
}
END_TEST

/* A timer's SIGALRM, unblocked only in one reader: it reaches it. */
START_TEST(a_timer_signal_reaches_the_one_reader_that_lets_it_through)
{
	int p[2];
	struct waiter w = { .sig = SIGALRM, .open = true };
	struct itimerval every = { { 0, 20000 }, { 0, 20000 } }, off = { 0 };

	tl_threads_mode(_i);
	tl_catch(SIGALRM, on_sig, 0);
	tl_mask(SIG_BLOCK, SIGALRM);
	tl_make_pipe(p);
	w.fd = p[0];
	pthread_t t = tl_pthread(wait_in, &w, NULL);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &every, NULL), 0);
	tl_pthread_join(t);
	setitimer(ITIMER_REAL, &off, NULL);
	interrupted_as(&w, t);
}
END_TEST

/* A signal every thread blocks stays pending (sigpending shows it) and
 * is handled by the first thread that unblocks it, before its
 * pthread_sigmask returns. */
static void *unblock_later(void *arg)
{
	sigset_t pend;

	(void)arg;
	for (int i = 0; i < 2000; i++) {
		ck_assert_int_eq(sigpending(&pend), 0);
		if (sigismember(&pend, SIGUSR2))
			break;
		usleep(5000);
	}
	ck_assert(sigismember(&pend, SIGUSR2));
	ck_assert_int_eq(atomic_load(&handled), 0);
	tl_mask(SIG_UNBLOCK, SIGUSR2);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), pthread_self()));
	return NULL;
}

START_TEST(a_signal_every_thread_blocks_waits_for_an_unblock)
{
	tl_threads_mode(_i);
	tl_catch(SIGUSR2, on_sig, 0);
	tl_mask(SIG_BLOCK, SIGUSR2);
	ck_assert_int_eq(kill(getpid(), SIGUSR2), 0);
	pthread_t t = tl_pthread(unblock_later, NULL, NULL);
	tl_pthread_join(t);
}
END_TEST

/* raise in a thread runs the handler there, before raise returns. */
static void *raise_one(void *arg)
{
	(void)arg;
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert(pthread_equal(atomic_load(&handled_by), pthread_self()));
	return NULL;
}

START_TEST(raise_runs_the_handler_as_the_thread_that_raised)
{
	tl_threads_mode(_i);
	tl_catch(SIGUSR1, on_sig, 0);
	tl_pthread_join(tl_pthread(raise_one, NULL, NULL));
}
END_TEST

/* sigaction, signal, sysv_signal, siginterrupt and sigset read back what
 * the program set, as libc would. */
START_TEST(the_program_reads_back_the_actions_it_set)
{
	struct sigaction sa = { .sa_handler = on_sig,
				.sa_flags = SA_RESTART | SA_NODEFER }, got;
	const int flags = SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_SIGINFO |
			  SA_ONSTACK;

	tl_threads_mode(_i);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(sigaction(SIGUSR1, NULL, &got), 0);
	ck_assert_ptr_eq(got.sa_handler, on_sig);
	ck_assert_int_eq((unsigned)got.sa_flags & flags, (unsigned)SA_RESTART | SA_NODEFER);
	ck_assert_int_eq(sigismember(&got.sa_mask, SIGUSR2), 1);
	ck_assert_int_eq(sigismember(&got.sa_mask, SIGUSR1), 0);

	ck_assert_ptr_eq(signal(SIGUSR1, SIG_IGN), on_sig);
	ck_assert_ptr_eq(signal(SIGUSR1, on_sig), SIG_IGN);
	ck_assert_int_eq(sigaction(SIGUSR1, NULL, &got), 0);
	ck_assert_int_eq((unsigned)got.sa_flags & flags, (unsigned)SA_RESTART);
	ck_assert_int_eq(sigismember(&got.sa_mask, SIGUSR1), 1);
	ck_assert_int_eq(siginterrupt(SIGUSR1, 1), 0);
	ck_assert_int_eq(sigaction(SIGUSR1, NULL, &got), 0);
	ck_assert_int_eq((unsigned)got.sa_flags & flags, (unsigned)0);

	ck_assert_ptr_eq(sysv_signal(SIGUSR2, on_sig), SIG_DFL);
	ck_assert_int_eq(sigaction(SIGUSR2, NULL, &got), 0);
	ck_assert_int_eq((unsigned)got.sa_flags & flags, (unsigned)SA_RESETHAND | SA_NODEFER);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert_int_eq(sigaction(SIGUSR2, NULL, &got), 0);
	ck_assert_ptr_eq(got.sa_handler, SIG_DFL);

	ck_assert_ptr_eq(signal(0, on_sig), SIG_ERR);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sigaction(SIGKILL, &sa, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(sigaction(NSIG + 1, NULL, &got), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* sighold, sigrelse and sigset's SIG_HOLD are the thread's mask. */
static void *hold_and_release(void *arg)
{
	sigset_t cur;

	(void)arg;
	ck_assert_int_eq(sighold(SIGUSR1), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(atomic_load(&handled), 0);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	ck_assert_int_eq(sigismember(&cur, SIGUSR1), 1);
	ck_assert_int_eq(sigrelse(SIGUSR1), 0);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert_ptr_eq(sigset(SIGUSR1, SIG_HOLD), on_sig);
	ck_assert_ptr_eq(sigset(SIGUSR1, on_sig), SIG_HOLD);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	ck_assert_int_eq(sigismember(&cur, SIGUSR1), 0);
	return NULL;
}

START_TEST(sighold_and_sigrelse_are_the_threads_mask)
{
	tl_threads_mode(_i);
	tl_catch(SIGUSR1, on_sig, 0);
	tl_pthread_join(tl_pthread(hold_and_release, NULL, NULL));
}
END_TEST

/* pselect's mask, sigsuspend's, and pause in a thread that lets the
 * signal through, while every other thread blocks it: a kill of the
 * process ends the call with EINTR, the handler run as the thread. */
START_TEST(a_process_signal_ends_pselect_sigsuspend_and_pause)
{
	int p[2];

	tl_threads_mode(_i);
	tl_catch(SIGUSR1, on_sig, SA_RESTART);
	tl_mask(SIG_BLOCK, SIGUSR1);
	tl_make_pipe(p);
	for (enum call what = PSELECT; what <= PAUSE; what++) {
		struct waiter w = { .what = what, .sig = SIGUSR1, .fd = p[0],
				    .open = what == PAUSE };
		pthread_t t = tl_pthread(wait_in, &w, NULL);
		kill_until(SIGUSR1, &w.started, &w.done);
		tl_pthread_join(t);
		interrupted_as(&w, t);
	}
}
END_TEST

/* sigaltstack is the thread's own: what it set reads back, the kernel's
 * checks hold. */
static void *set_altstack(void *arg)
{
	static char mem[1 << 16];
	stack_t ss = { .ss_sp = mem, .ss_size = sizeof mem }, old, first;

	(void)arg;
	/* A thread starts with none (AddressSanitizer gives it its own). */
	ck_assert_int_eq(sigaltstack(NULL, &first), 0);
	ck_assert_int_eq(sigaltstack(&ss, &old), 0);
	ck_assert_int_eq(old.ss_flags, first.ss_flags);
	ck_assert_ptr_eq(old.ss_sp, first.ss_sp);
	ck_assert_int_eq(sigaltstack(NULL, &old), 0);
	ck_assert_ptr_eq(old.ss_sp, mem);
	ck_assert_uint_eq(old.ss_size, sizeof mem);
	ck_assert_int_eq(old.ss_flags, 0);
	ss.ss_size = 1;
	ck_assert_int_eq(sigaltstack(&ss, NULL), -1);
	ck_assert_int_eq(errno, ENOMEM);
	ss.ss_size = sizeof mem;
	ss.ss_flags = 0x1234;
	ck_assert_int_eq(sigaltstack(&ss, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ss.ss_flags = SS_DISABLE;
	ck_assert_int_eq(sigaltstack(&ss, NULL), 0);
	ck_assert_int_eq(sigaltstack(NULL, &old), 0);
	ck_assert_int_eq(old.ss_flags, SS_DISABLE);
	return NULL;
}

START_TEST(sigaltstack_is_the_threads_own)
{
	tl_threads_mode(_i);
	tl_pthread_join(tl_pthread(set_altstack, NULL, NULL));
}
END_TEST

/* The sigwait idiom: every thread blocks a signal with no handler, one
 * takes it with sigwait; a kill of the process reaches it, nothing
 * dies. */
static void *sigwait_in(void *arg)
{
	sigset_t set;
	int sig = 0;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	ck_assert_int_eq(sigwait(&set, &sig), 0);
	ck_assert_int_eq(sig, SIGTERM);
	return NULL;
}

START_TEST(a_signal_every_thread_blocks_goes_to_sigwait)
{
	tl_threads_mode(_i);
	tl_mask(SIG_BLOCK, SIGTERM);
	pthread_t t = tl_pthread(sigwait_in, NULL, NULL);
	usleep(20000);
	ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
	tl_pthread_join(t);
}
END_TEST

/* Whether this kernel lets a thread send a siginfo of its own making to
 * its process through a pidfd of itself (Linux 6.9). */
static bool pidfd_thread_sends(void)
{
	long fd = syscall(SYS_pidfd_open, syscall(SYS_gettid), O_EXCL);
	bool ok = fd >= 0 && syscall(SYS_pidfd_send_signal, fd, 0, NULL,
				     1UL << 1) == 0;

	if (fd >= 0)
		close((int)fd);
	return ok;
}

static void *requeue_from(void *si)
{
	weft__sig_requeue(SIGUSR2, si);
	return NULL;
}

/* A signal from another process that no thread lets through by the time
 * the router looks goes back to the process with its siginfo (sender,
 * SI_USER), where the kernel lets the router's thread send it so; else
 * as SI_QUEUE. */
START_TEST(a_signal_given_back_to_the_process_keeps_its_sender)
{
	siginfo_t si = { .si_signo = SIGUSR2, .si_code = SI_USER }, got;
	struct timespec zero = { 0, 0 };
	sigset_t set;
	pthread_t raw;
	bool exact = pidfd_thread_sends();

	si.si_pid = 12345;
	si.si_uid = getuid();
	tl_threads_mode(1);
	tl_mask(SIG_BLOCK, SIGUSR2);
	ck_assert_int_eq(weft__libc()->pthread_create(&raw, NULL,
						      requeue_from, &si), 0);
	ck_assert_int_eq(weft__libc()->pthread_join(raw, NULL), 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ck_assert_int_eq(sigtimedwait(&set, &got, &zero), SIGUSR2);
	ck_assert_int_eq(got.si_code, (exact ? SI_USER : SI_QUEUE));
	ck_assert_int_eq(got.si_pid, 12345);
}
END_TEST

Suite *suite_sigroute(void)
{
	Suite *s = suite_create("sigroute");
	TCase *tc = tcase_create("sigroute");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc,
		a_process_signal_goes_to_the_thread_that_lets_it_through,
		0, 2);
	tcase_add_loop_test(tc,
		main_waiting_in_accept_takes_the_signal_its_workers_block, 0, 2);
	tcase_add_loop_test(tc,
		main_waiting_on_a_condition_or_a_join_takes_the_signal, 0, 2);
	tcase_add_loop_test(tc,
		a_timer_signal_reaches_the_one_reader_that_lets_it_through, 0, 2);
	tcase_add_loop_test(tc, a_signal_every_thread_blocks_waits_for_an_unblock,
			    0, 2);
	tcase_add_loop_test(tc, raise_runs_the_handler_as_the_thread_that_raised,
			    0, 2);
	tcase_add_loop_test(tc, the_program_reads_back_the_actions_it_set, 0, 2);
	tcase_add_loop_test(tc, sighold_and_sigrelse_are_the_threads_mask, 0, 2);
	tcase_add_loop_test(tc,
		a_process_signal_ends_pselect_sigsuspend_and_pause, 0, 2);
	tcase_add_loop_test(tc, a_signal_every_thread_blocks_goes_to_sigwait,
			    0, 2);
	tcase_add_loop_test(tc, sigaltstack_is_the_threads_own, 0, 2);
	tcase_add_loop_test(tc, main_blocking_the_signal_is_not_interrupted_by_it,
			    0, 2);
	tcase_add_test(tc, a_signal_given_back_to_the_process_keeps_its_sender);
	suite_add_tcase(s, tc);
	return s;
}
