/* test_signal.c - a signal sent to one thread with pthread_kill, each test
 * run natively (loop 0: real threads) and with green threads (loop 1, on
 * a pool of two schedulers), expecting the same: the handler runs as the
 * target thread, with its mask; a call it interrupts returns EINTR, or
 * goes on under SA_RESTART where the kernel restarts it (read, and
 * sem_wait, whose untimed futex wait the kernel restarts; never poll,
 * sem_timedwait, the sleeps); sleep gives the seconds left; a blocked signal
 * waits for the unblock, and is handled before pthread_sigmask returns;
 * SA_SIGINFO and SA_RESETHAND hold.
 *
 * A signal may reach a real thread before it is in the call: its handler
 * runs and the call then waits.  So the tests send again every few
 * milliseconds until the call has returned.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "../hook/green.h"
#include "testlib.h"

static _Atomic int handled;
static _Atomic pthread_t handled_by;
static _Atomic int last_code, last_pid, last_value;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	atomic_store(&handled_by, pthread_self());
	atomic_store(&last_code, si->si_code);
	atomic_store(&last_pid, si->si_pid);
	atomic_store(&last_value, si->si_value.sival_int);
	atomic_fetch_add(&handled, 1);
}

static void catch_usr1(int flags)
{
	struct sigaction sa = { .sa_sigaction = on_usr1,
				.sa_flags = SA_SIGINFO | flags };

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* ---- a call interrupted ---------------------------------------------- */

enum call { READ, ACCEPT, POLL, SEM, SEM_TIMED, NANOSLEEP, SLEEP, CALLS };

struct blocked {
	enum call what;
	int fd;
	sem_t *sem;
	_Atomic bool started, done;
	long r;
	int err;
	struct timespec rem;
};

static void *block_in(void *p)
{
	struct blocked *b = p;
	char c;
	struct pollfd pfd = { .fd = -1 };

	atomic_store(&b->started, true);
	switch (b->what) {
	case READ:
		b->r = read(b->fd, &c, 1);
		break;
	case ACCEPT:
		b->r = accept(b->fd, NULL, NULL);
		break;
	case POLL:
		b->r = poll(&pfd, 1, -1);
		break;
	case SEM:
		b->r = sem_wait(b->sem);
		break;
	case SEM_TIMED: {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 20;
		b->r = sem_timedwait(b->sem, &until);
		break;
	}
	case NANOSLEEP:
		b->r = nanosleep(&(struct timespec){ .tv_sec = 20 }, &b->rem);
		break;
	case SLEEP:
		b->r = sleep(20);
		break;
	case CALLS:
		break;
	}
	b->err = errno;
	atomic_store(&b->done, true);
	return NULL;
}

/* Sends SIGUSR1 to t until b's call returns (at most 10 s). */
static void interrupt(pthread_t t, struct blocked *b)
{
	tl_kill_until(t, SIGUSR1, &b->started, &b->done, 0);
	ck_assert(atomic_load(&b->done));
}

/* Each call, interrupted by a handler without SA_RESTART: -1 EINTR (sleep:
 * the seconds left), the handler run as the thread. */
START_TEST(a_handler_without_restart_interrupts_the_call)
{
	int p[2];
	sem_t sem;

	tl_threads_mode(_i);
	catch_usr1(0);
	tl_make_pipe(p);
	sem_init(&sem, 0, 0);
	int ls = tl_listener();
	for (int what = 0; what < CALLS; what++) {
		struct blocked b = { .what = what, .sem = &sem,
				     .fd = what == ACCEPT ? ls : p[0] };
		atomic_store(&handled, 0);
		pthread_t t = tl_pthread(block_in, &b, NULL);
		interrupt(t, &b);
		tl_pthread_join(t);
		ck_assert(pthread_equal(atomic_load(&handled_by), t));
		ck_assert_int_ge(atomic_load(&handled), 1);
		ck_assert_int_eq(atomic_load(&last_code), SI_TKILL);
		ck_assert_int_eq(atomic_load(&last_pid), getpid());
		if (what == SLEEP) {
			ck_assert_int_gt(b.r, 0);
			ck_assert_int_le(b.r, 20);
			continue;
		}
		ck_assert_int_eq(b.r, -1);
		ck_assert_int_eq(b.err, EINTR);
		if (what == NANOSLEEP) {
			ck_assert_int_le(b.rem.tv_sec, 20);
			ck_assert(b.rem.tv_sec > 0 || b.rem.tv_nsec > 0);
		}
	}
	close(ls);
}
END_TEST

/* pthread_sigqueue reaches the thread, its value with it. */
START_TEST(pthread_sigqueue_carries_its_value_to_the_thread)
{
	int p[2];

	tl_threads_mode(_i);
	catch_usr1(0);
	tl_make_pipe(p);
	struct blocked b = { .what = READ, .fd = p[0] };
	pthread_t t = tl_pthread(block_in, &b, NULL);
	while (!atomic_load(&b.started))
		usleep(1000);
	for (int i = 0; i < 2000 && !atomic_load(&b.done); i++) {
		ck_assert_int_eq(pthread_sigqueue(t, SIGUSR1,
					(union sigval){ .sival_int = 42 }), 0);
		usleep(5000);
	}
	tl_pthread_join(t);
	ck_assert_int_eq(b.r, -1);
	ck_assert_int_eq(b.err, EINTR);
	ck_assert(pthread_equal(atomic_load(&handled_by), t));
	ck_assert_int_eq(atomic_load(&last_code), SI_QUEUE);
	ck_assert_int_eq(atomic_load(&last_pid), getpid());
	ck_assert_int_eq(atomic_load(&last_value), 42);
}
END_TEST

/* Under SA_RESTART a read and a sem_wait go on; poll and a timed
 * sem_wait (a futex wait with a time-out, which the kernel does not
 * restart) do not. */
START_TEST(sa_restart_restarts_read_and_sem_wait_but_not_poll)
{
	int p[2];
	sem_t sem;

	tl_threads_mode(_i);
	catch_usr1(SA_RESTART);
	tl_make_pipe(p);
	sem_init(&sem, 0, 0);
	for (int what = READ; what <= SEM; what++) {
		if (what != READ && what != SEM)
			continue;
		struct blocked b = { .what = what, .fd = p[0], .sem = &sem };
		atomic_store(&handled, 0);
		pthread_t t = tl_pthread(block_in, &b, NULL);
		while (!atomic_load(&b.started))
			usleep(1000);
		for (int i = 0; i < 5; i++) {
			ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
			usleep(5000);
		}
		while (atomic_load(&handled) == 0)
			usleep(1000);
		ck_assert(!atomic_load(&b.done));
		if (what == READ)
			ck_assert_int_eq(write(p[1], "x", 1), 1);
		else
			ck_assert_int_eq(sem_post(&sem), 0);
		tl_pthread_join(t);
		ck_assert_int_eq(b.r, what == READ ? 1 : 0);
	}
	enum call not_restarted[] = { POLL, SEM_TIMED };
	for (size_t i = 0; i < 2; i++) {
		struct blocked b = { .what = not_restarted[i], .sem = &sem };
		pthread_t t = tl_pthread(block_in, &b, NULL);
		interrupt(t, &b);
		tl_pthread_join(t);
		ck_assert_int_eq(b.r, -1);
		ck_assert_int_eq(b.err, EINTR);
	}
}
END_TEST

/* ---- masks ----------------------------------------------------------- */

struct masked {
	int fd;
	_Atomic bool blocked;
	_Atomic bool go;
	int handled_while_blocked, handled_after_unblock;
	long r;
	int err;
};

static void *block_then_unblock(void *p)
{
	struct masked *m = p;
	sigset_t set;
	char c;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	atomic_store(&m->blocked, true);
	while (!atomic_load(&m->go))
		usleep(1000);
	m->handled_while_blocked = atomic_load(&handled);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	m->handled_after_unblock = atomic_load(&handled);
	m->r = read(m->fd, &c, 1); /* nothing pending now: waits */
	m->err = errno;
	return NULL;
}

START_TEST(a_blocked_signal_waits_for_the_unblock)
{
	struct masked m = { 0 };
	int p[2];

	tl_threads_mode(_i);
	catch_usr1(0);
	tl_make_pipe(p);
	m.fd = p[0];
	atomic_store(&handled, 0);
	pthread_t t = tl_pthread(block_then_unblock, &m, NULL);
	while (!atomic_load(&m.blocked))
		usleep(1000);
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	usleep(20000);
	ck_assert_int_eq(atomic_load(&handled), 0);
	atomic_store(&m.go, true);
	usleep(20000);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	tl_pthread_join(t);
	ck_assert_int_eq(m.handled_while_blocked, 0);
	ck_assert_int_eq(m.handled_after_unblock, 1);
	ck_assert_int_eq(m.r, 1);
}
END_TEST

struct self_kill {
	int while_blocked, after_unblock;
};

/* No Check assertion in the thread: its results go back to the test. */
static void *kill_self_blocked(void *p)
{
	struct self_kill *k = p;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_kill(pthread_self(), SIGUSR1);
	k->while_blocked = atomic_load(&handled);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	k->after_unblock = atomic_load(&handled);
	return NULL;
}

/* A thread signalling itself: held while its mask blocks the signal,
 * handled before the unblocking pthread_sigmask returns. */
START_TEST(a_thread_that_signals_itself_keeps_its_mask)
{
	struct self_kill k = { -1, -1 };

	tl_threads_mode(_i);
	catch_usr1(0);
	atomic_store(&handled, 0);
	tl_pthread_join(tl_pthread(kill_self_blocked, &k, NULL));
	ck_assert_int_eq(k.while_blocked, 0);
	ck_assert_int_eq(k.after_unblock, 1);
}
END_TEST

/* A socket read with SO_RCVTIMEO is not restarted, SA_RESTART or not. */
START_TEST(a_socket_time_out_ends_a_restart)
{
	int sv[2];
	struct timeval tv = { .tv_sec = 20 };

	tl_threads_mode(_i);
	catch_usr1(SA_RESTART);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof tv), 0);
	struct blocked b = { .what = READ, .fd = sv[0] };
	pthread_t t = tl_pthread(block_in, &b, NULL);
	interrupt(t, &b);
	tl_pthread_join(t);
	ck_assert_int_eq(b.r, -1);
	ck_assert_int_eq(b.err, EINTR);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* ---- sigwait ---------------------------------------------------------- */

struct sigwaiter {
	_Atomic int step;   /* how far the thread got */
	_Atomic bool sent;  /* the third signal was sent */
	int got[3], code[3], pid[3];
};

/* Takes three SIGUSR1s it blocks, although the signal has a handler:
 * one sent as it waits in sigtimedwait, one in sigwait, one sent before
 * a look with a zero time-out.  No Check assertion in the thread. */
static void *take_sent(void *p)
{
	struct sigwaiter *w = p;
	struct timespec five = { 5, 0 }, zero = { 0, 0 };
	siginfo_t si = { 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	atomic_store(&w->step, 1);
	w->got[0] = sigtimedwait(&set, &si, &five);
	w->code[0] = si.si_code;
	w->pid[0] = si.si_pid;
	atomic_store(&w->step, 2);
	if (sigwait(&set, &w->got[1]) != 0)
		w->got[1] = -1;
	atomic_store(&w->step, 3);
	while (!atomic_load(&w->sent))
		usleep(1000);
	si = (siginfo_t){ 0 };
	w->got[2] = sigtimedwait(&set, &si, &zero);
	w->code[2] = si.si_code;
	w->pid[2] = si.si_pid;
	return NULL;
}

/* A signal sent to a thread that blocks it and takes it with sigwait and
 * kin goes to that wait, and its handler never runs: how a server whose
 * signal thread sigwaits for SIGTERM, which it also catches, stops that
 * thread with pthread_kill. */
START_TEST(sigwait_takes_a_caught_signal_sent_to_the_thread)
{
	struct sigwaiter w = { 0 };

	tl_threads_mode(_i);
	catch_usr1(0);
	atomic_store(&handled, 0);
	pthread_t t = tl_pthread(take_sent, &w, NULL);
	for (int step = 1; step <= 2; step++) {
		while (atomic_load(&w.step) < step)
			usleep(1000);
		usleep(20000); /* in the wait, most likely */
		ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	}
	while (atomic_load(&w.step) < 3)
		usleep(1000);
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	atomic_store(&w.sent, true);
	tl_pthread_join(t);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(w.got[i], SIGUSR1);
	for (int i = 0; i < 3; i += 2) {
		/* glibc's sigtimedwait reads SI_TKILL as SI_USER. */
		ck_assert_int_eq(w.code[i], SI_USER);
		ck_assert_int_eq(w.pid[i], getpid());
	}
	ck_assert_int_eq(atomic_load(&handled), 0);
}
END_TEST

/* ---- a new thread's mask ---------------------------------------------- */

static void *reads_mask(void *p)
{
	sigset_t *m = p;

	pthread_sigmask(SIG_BLOCK, NULL, m);
	return NULL;
}

/* A thread made with attributes that carry no signal mask starts with
 * its creator's, as natively; one whose attributes carry a mask, with
 * that.  (glibc's pthread_attr_getsigmask_np empties the set it is given
 * when there is none: read as the new mask, every MariaDB thread made
 * with attributes let SIGTERM through, and its shutdown's kill of the
 * process ran a handler instead of reaching its signal thread.) */
START_TEST(a_new_thread_starts_with_its_creators_mask_or_its_attributes)
{
	pthread_attr_t attr;
	sigset_t got, usr2;

	tl_threads_mode(_i);
	tl_mask(SIG_BLOCK, SIGUSR1);
	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	pthread_t t = tl_pthread(reads_mask, &got, &attr);
	tl_pthread_join(t);
	ck_assert_int_eq(sigismember(&got, SIGUSR1), 1);
	ck_assert_int_eq(sigismember(&got, SIGUSR2), 0);

	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	ck_assert_int_eq(pthread_attr_setsigmask_np(&attr, &usr2), 0);
	t = tl_pthread(reads_mask, &got, &attr);
	tl_pthread_join(t);
	ck_assert_int_eq(sigismember(&got, SIGUSR1), 0);
	ck_assert_int_eq(sigismember(&got, SIGUSR2), 1);
	pthread_attr_destroy(&attr);
	tl_mask(SIG_UNBLOCK, SIGUSR1);
}
END_TEST

/* ---- SA_RESETHAND ---------------------------------------------------- */

START_TEST(sa_resethand_leaves_the_default_behind)
{
	int p[2];
	struct sigaction now;

	tl_threads_mode(_i);
	catch_usr1(SA_RESETHAND);
	tl_make_pipe(p);
	struct blocked b = { .what = READ, .fd = p[0] };
	atomic_store(&handled, 0);
	pthread_t t = tl_pthread(block_in, &b, NULL);
	while (!atomic_load(&b.started))
		usleep(1000);
	usleep(20000);
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	while (!atomic_load(&b.done))
		usleep(1000);
	tl_pthread_join(t);
	ck_assert_int_eq(atomic_load(&handled), 1);
	ck_assert_int_eq(sigaction(SIGUSR1, NULL, &now), 0);
	ck_assert(now.sa_handler == SIG_DFL);
}
END_TEST

Suite *suite_signal(void)
{
	Suite *s = suite_create("signal");
	TCase *tc = tcase_create("signal");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, a_handler_without_restart_interrupts_the_call,
			    0, 2);
	tcase_add_loop_test(tc,
			    sa_restart_restarts_read_and_sem_wait_but_not_poll,
			    0, 2);
	tcase_add_loop_test(tc, a_blocked_signal_waits_for_the_unblock, 0, 2);
	tcase_add_loop_test(tc, pthread_sigqueue_carries_its_value_to_the_thread,
			    0, 2);
	tcase_add_loop_test(tc, a_thread_that_signals_itself_keeps_its_mask,
			    0, 2);
	tcase_add_loop_test(tc, a_socket_time_out_ends_a_restart, 0, 2);
	tcase_add_loop_test(tc, sa_resethand_leaves_the_default_behind, 0, 2);
	tcase_add_loop_test(tc, sigwait_takes_a_caught_signal_sent_to_the_thread,
			    0, 2);
	tcase_add_loop_test(tc,
		a_new_thread_starts_with_its_creators_mask_or_its_attributes,
		0, 2);
	suite_add_tcase(s, tc);
	return s;
}
