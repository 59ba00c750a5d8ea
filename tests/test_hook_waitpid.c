/* test_hook_waitpid.c - wait, waitpid, wait4 and waitid: a coroutine
 * waiting for a child parks (on a pidfd, or on the offload pool) while the
 * others run, and gets exactly what libc reports. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "real.h"
#include "weft.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

/* Forks a child that sleeps ms, then dies of sig (if not 0) or exits with
 * code. */
static pid_t spawn(int ms, int code, int sig)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		weft__sched_forget();
		tl_raw_sleep_ms(ms);
		if (sig) {
			signal(sig, SIG_DFL);
			kill(getpid(), sig);
		}
		_exit(code);
	}
	return pid;
}

/* Forks a child that sleeps ms, stops itself, and once continued waits
 * to be killed. */
static pid_t spawn_stopper(int ms)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		weft__sched_forget();
		tl_raw_sleep_ms(ms);
		kill(getpid(), SIGSTOP);
		for (;;)
			tl_raw_sleep_ms(1000);
	}
	return pid;
}

/* Kills and reaps a child with the real call. */
static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	weft__libc()->waitpid(pid, NULL, 0);
}

/* ---- waiting for one child: a pidfd -------------------------------------- */

START_TEST(waitpid_parks_until_the_child_exits)
{
	struct tl_ticker t = { 0 };
	int st = -1;

	weft_go(tl_tick_first, &t);
	int64_t t0 = tl_mono_ns();
	pid_t pid = spawn(200, 7, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_ge(tl_mono_ns() - t0, 200 * MS);
	t.stop = 1;
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 7);
	ck_assert_int_gt(t.ticks, 10);
	/* A pidfd served: the pool started no thread.  (valgrind 3.19 has
	 * no pidfd_open: the pool serves there.) */
	if (!tl_valgrind_cannot(__func__, "it has no pidfd_open"))
		ck_assert_int_eq(tl_thread_count(), 1);
}
END_TEST

START_TEST(waitpid_reports_death_by_a_signal)
{
	struct tl_ticker t = { 0 };
	int st = -1;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 0, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	t.stop = 1;
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGTERM);
	ck_assert_int_gt(t.ticks, 0);
}
END_TEST

START_TEST(waitpid_of_a_child_that_already_exited_returns_at_once)
{
	struct tl_ticker t = { 0 };
	int st = -1;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(0, 3, 0);
	siginfo_t si;
	/* Let it become a zombie without reaping it. */
	ck_assert_int_eq(weft__libc()->waitid(P_PID, pid, &si,
					      WEXITED | WNOWAIT), 0);
	int ticks = t.ticks;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(t.ticks, ticks); /* no one else ran */
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	t.stop = 1;
}
END_TEST

START_TEST(wait4_parks_and_fills_rusage)
{
	struct tl_ticker t = { 0 };
	struct rusage ru;
	int st = -1;

	memset(&ru, 0, sizeof ru);
	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 9, 0);
	ck_assert_int_eq(wait4(pid, &st, 0, &ru), pid);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 9);
	ck_assert_int_gt(ru.ru_maxrss, 0);
}
END_TEST

START_TEST(waitid_parks_until_the_child_exits)
{
	struct tl_ticker t = { 0 };
	siginfo_t si;

	memset(&si, 0, sizeof si);
	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 4, 0);
	ck_assert_int_eq(waitid(P_PID, pid, &si, WEXITED), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(si.si_signo, SIGCHLD);
	ck_assert_int_eq(si.si_pid, pid);
	ck_assert_int_eq(si.si_code, CLD_EXITED);
	ck_assert_int_eq(si.si_status, 4);
	if (!tl_valgrind_cannot(__func__, "it has no pidfd_open"))
		ck_assert_int_eq(tl_thread_count(), 1);
}
END_TEST

START_TEST(waitid_WNOWAIT_leaves_the_child_to_be_reaped)
{
	struct tl_ticker t = { 0 };
	siginfo_t si;
	int st;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 6, 0);
	ck_assert_int_eq(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
	ck_assert_int_eq(si.si_pid, pid);
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 6);
	t.stop = 1;
}
END_TEST

START_TEST(waitid_without_siginfo_still_reaps)
{
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 6, 0);
	ck_assert_int_eq(waitid(P_PID, pid, NULL, WEXITED), 0);
	ck_assert_int_gt(t.ticks, 0);
	errno = 0;
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	t.stop = 1;
}
END_TEST

/* Each of several coroutines waits for its own child; the children end in
 * the reverse order. */
struct waiter {
	pid_t pid;
	pid_t got;
	int st;
	weft_wg *wg;
};

static void wait_for(void *p)
{
	struct waiter *w = p;

	w->got = waitpid(w->pid, &w->st, 0);
	weft_wg_done(w->wg);
}

START_TEST(coroutines_each_get_their_own_child)
{
	enum { N = 4 };
	struct waiter w[N];
	weft_wg wg = WEFT_WG_INIT;

	weft_wg_add(&wg, N);
	for (int i = 0; i < N; i++) {
		w[i] = (struct waiter){ .pid = spawn(40 * (N - i), 10 + i, 0),
					.wg = &wg };
		weft_go(wait_for, &w[i]);
	}
	weft_wg_wait(&wg);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(w[i].got, w[i].pid);
		ck_assert_int_eq(WEXITSTATUS(w[i].st), 10 + i);
	}
}
END_TEST

/* ---- waiting for any child, and stops: the pool -------------------------- */

START_TEST(waitpid_for_any_child_parks_on_the_pool)
{
	struct tl_ticker t = { 0 };
	int st = -1;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(150, 8, 0);
	ck_assert_int_eq(waitpid(-1, &st, 0), pid);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 8);
	ck_assert_int_gt(tl_thread_count(), 1);
}
END_TEST

START_TEST(waitpid_for_the_process_group_parks_on_the_pool)
{
	struct tl_ticker t = { 0 };
	int st = -1;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 2, 0);
	ck_assert_int_eq(waitpid(0, &st, 0), pid);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(WEXITSTATUS(st), 2);
}
END_TEST

START_TEST(wait_parks_until_any_child_exits)
{
	struct tl_ticker t = { 0 };
	int st = -1;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 0, SIGKILL);
	ck_assert_int_eq(wait(&st), pid);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGKILL);
}
END_TEST

START_TEST(waitid_for_any_child_parks_on_the_pool)
{
	struct tl_ticker t = { 0 };
	siginfo_t si;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 0, SIGTERM);
	ck_assert_int_eq(waitid(P_ALL, 0, &si, WEXITED), 0);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(si.si_pid, pid);
	ck_assert_int_eq(si.si_code, CLD_KILLED);
	ck_assert_int_eq(si.si_status, SIGTERM);
}
END_TEST

START_TEST(waitpid_reports_stops_and_continues)
{
	struct tl_ticker t = { 0 };
	int st = -1;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn_stopper(100);
	ck_assert_int_eq(waitpid(pid, &st, WUNTRACED), pid);
	ck_assert_int_gt(t.ticks, 0);
	ck_assert(WIFSTOPPED(st));
	ck_assert_int_eq(WSTOPSIG(st), SIGSTOP);
	ck_assert_int_eq(kill(pid, SIGCONT), 0);
	ck_assert_int_eq(waitpid(pid, &st, WCONTINUED), pid);
	ck_assert(WIFCONTINUED(st));
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, WUNTRACED | WCONTINUED), pid);
	ck_assert(WIFSIGNALED(st));
	t.stop = 1;
}
END_TEST

START_TEST(waitid_reports_a_stop)
{
	struct tl_ticker t = { 0 };
	siginfo_t si;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn_stopper(100);
	ck_assert_int_eq(waitid(P_PID, pid, &si, WSTOPPED), 0);
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(si.si_pid, pid);
	ck_assert_int_eq(si.si_code, CLD_STOPPED);
	ck_assert_int_eq(si.si_status, SIGSTOP);
	reap(pid);
	t.stop = 1;
}
END_TEST

/* __WNOTHREAD: only the calling thread's children, which a pool thread
 * cannot see; the wait must still find them. */
START_TEST(waitpid_WNOTHREAD_for_any_child_finds_the_callers_children)
{
	struct tl_ticker t = { 0 };
	int st = -1;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(50, 3, 0);
	ck_assert_int_eq(waitpid(-1, &st, __WNOTHREAD), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	siginfo_t si;
	pid = spawn(50, 4, 0);
	ck_assert_int_eq(waitid(P_ALL, 0, &si, WEXITED | __WNOTHREAD), 0);
	ck_assert_int_eq(si.si_pid, pid);
	ck_assert_int_eq(si.si_status, 4);
	t.stop = 1;
}
END_TEST

/* A tracer's wait for its tracee reports the tracee's stops even without
 * WUNTRACED; a pidfd would show only its exit. */
START_TEST(waitpid_of_a_tracer_reports_the_tracees_stops)
{
	struct tl_ticker t = { 0 };
	int p[2], st = -1;
	char c;

	TL_SKIP_UNDER_VALGRIND("its tracee's stops are its own: the child"
			       " runs on valgrind, which ptrace does not see"
			       " through");
	ck_assert_int_eq(pipe(p), 0);
	weft_go(tl_tick_first, &t);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		weft__sched_forget();
		c = ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0;
		if (write(p[1], &c, 1) != 1 || !c)
			_exit(1);
		tl_raw_sleep_ms(100);
		kill(getpid(), SIGUSR1);
		_exit(0);
	}
	ck_assert_int_eq(weft__libc()->read(p[0], &c, 1), 1);
	if (!c) { /* ptrace is not allowed here */
		reap(pid);
		return;
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_gt(t.ticks, 0);
	ck_assert(WIFSTOPPED(st));
	ck_assert_int_eq(WSTOPSIG(st), SIGUSR1);
	ck_assert_int_eq(ptrace(PTRACE_CONT, pid, NULL, 0), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	t.stop = 1;
}
END_TEST

/* Two coroutines want one child: one by pid (a pidfd), one any child (the
 * pool).  Exactly one gets it; the other learns there is none, as two
 * threads would. */
START_TEST(a_child_reaped_by_another_coroutine_leaves_ECHILD)
{
	weft_wg wg = WEFT_WG_INIT;
	pid_t pid = spawn(150, 1, 0);
	struct waiter by_pid = { .pid = pid, .wg = &wg };
	struct waiter any = { .pid = -1, .wg = &wg };

	weft_wg_add(&wg, 2);
	weft_go(wait_for, &by_pid);
	weft_go(wait_for, &any);
	weft_wg_wait(&wg);
	ck_assert_int_eq((by_pid.got == pid) + (any.got == pid), 1);
	ck_assert_int_eq((by_pid.got == -1) + (any.got == -1), 1);
}
END_TEST

/* ---- not waiting --------------------------------------------------------- */

START_TEST(waitpid_WNOHANG_returns_0_at_once)
{
	struct tl_ticker t = { 0 };
	int st = 12345;

	weft_go(tl_tick_first, &t);
	weft_yield();
	pid_t pid = spawn(5000, 0, 0);
	int ticks = t.ticks;
	ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
	ck_assert_int_eq(wait4(-1, &st, WNOHANG, NULL), 0);
	siginfo_t si = { .si_pid = 99 };
	ck_assert_int_eq(waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0);
	ck_assert_int_eq(si.si_pid, 0);
	ck_assert_int_eq(t.ticks, ticks);
	ck_assert_int_eq(st, 12345);
	reap(pid);
	t.stop = 1;
}
END_TEST

START_TEST(waitpid_alone_blocks_the_thread_and_reports_the_same)
{
	int st = -1;

	weft_self();
	pid_t pid = spawn(50, 5, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 5);
	pid = spawn(50, 0, SIGTERM);
	ck_assert_int_eq(wait(&st), pid);
	ck_assert_int_eq(WTERMSIG(st), SIGTERM);
	ck_assert_int_eq(tl_thread_count(), 1);
}
END_TEST

START_TEST(waitpid_outside_a_coroutine_passes_through)
{
	int st = -1;
	siginfo_t si;

	pid_t pid = spawn(50, 5, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 5);
	pid = spawn(20, 6, 0);
	ck_assert_int_eq(waitid(P_ALL, 0, &si, WEXITED), 0);
	ck_assert_int_eq(si.si_pid, pid);
	ck_assert_int_eq(si.si_status, 6);
	ck_assert_ptr_null(weft__running);
	ck_assert_int_eq(tl_thread_count(), 1);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(waits_without_children_fail_with_ECHILD)
{
	struct tl_ticker t = { 0 };
	siginfo_t si;

	weft_go(tl_tick_first, &t);
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, 0), -1);
	ck_assert_int_eq(errno, ECHILD);
	errno = 0;
	ck_assert_int_eq(wait(NULL), -1);
	ck_assert_int_eq(errno, ECHILD);
	errno = 0;
	ck_assert_int_eq(waitpid(1, NULL, 0), -1); /* not our child */
	ck_assert_int_eq(errno, ECHILD);
	errno = 0;
	ck_assert_int_eq(wait4(getpid(), NULL, 0, NULL), -1);
	ck_assert_int_eq(errno, ECHILD);
	errno = 0;
	ck_assert_int_eq(waitid(P_ALL, 0, &si, WEXITED), -1);
	ck_assert_int_eq(errno, ECHILD);
	t.stop = 1;
}
END_TEST

START_TEST(waits_with_bad_arguments_fail_with_EINVAL)
{
	struct tl_ticker t = { 0 };
	siginfo_t si;

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(2000, 0, 0);
	errno = 0;
	ck_assert_int_eq(waitpid(pid, NULL, 0x1000), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(waitid(P_PID, pid, &si, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(waitid((idtype_t)99, pid, &si, WEXITED), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(waitid(P_PID, 0, &si, WEXITED), -1);
	ck_assert_int_eq(errno, EINVAL);
	reap(pid);
	t.stop = 1;
}
END_TEST

START_TEST(waits_with_a_bad_pointer_reap_and_fail_with_EFAULT)
{
	struct tl_ticker t = { 0 };

	weft_go(tl_tick_first, &t);
	pid_t pid = spawn(100, 0, 0);
	errno = 0;
	ck_assert_int_eq(waitpid(pid, (int *)1, 0), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_gt(t.ticks, 0);
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1); /* reaped */
	pid = spawn(100, 0, 0);
	errno = 0;
	ck_assert_int_eq(waitid(P_PID, pid, (siginfo_t *)1, WEXITED), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1); /* reaped */
	t.stop = 1;
}
END_TEST

/* ---- differential -------------------------------------------------------- */

struct rec {
	size_t n;
	long v[256];
};

static void put(struct rec *r, long v)
{
	ck_assert_uint_lt(r->n, sizeof r->v / sizeof r->v[0]);
	r->v[r->n++] = v;
}

/* A wait's result: its return (1 for the expected pid), errno on failure,
 * and the status. */
static void put_wait(struct rec *r, pid_t got, pid_t pid, int st)
{
	put(r, got == pid && pid > 0 ? 1 : got);
	put(r, got < 0 ? errno : 0);
	put(r, st);
}

static void put_info(struct rec *r, int rc, pid_t pid, const siginfo_t *si)
{
	put(r, rc);
	put(r, rc < 0 ? errno : 0);
	put(r, si->si_signo);
	put(r, si->si_code);
	put(r, si->si_status);
	put(r, si->si_pid == pid);
}

/* Every kind of wait, with children that exit, die, stop and go on. */
static void wait_sequence(struct rec *r)
{
	pid_t pid, got;
	int st, rc;
	siginfo_t si;
	struct rusage ru;

	st = 0, pid = spawn(60, 5, 0);
	got = waitpid(pid, &st, 0);
	put_wait(r, got, pid, st);
	st = 0, pid = spawn(60, 0, SIGTERM);
	got = wait4(pid, &st, 0, &ru);
	put_wait(r, got, pid, st);
	st = 0, pid = spawn(60, 1, 0);
	got = waitpid(-1, &st, 0);
	put_wait(r, got, pid, st);
	st = 0, pid = spawn(60, 2, 0);
	got = wait(&st);
	put_wait(r, got, pid, st);
	st = 0, pid = spawn(60, 3, 0);
	got = waitpid(0, &st, 0);
	put_wait(r, got, pid, st);
	memset(&si, 0, sizeof si), pid = spawn(60, 4, 0);
	rc = waitid(P_PID, pid, &si, WEXITED);
	put_info(r, rc, pid, &si);
	memset(&si, 0, sizeof si), pid = spawn(60, 0, SIGKILL);
	rc = waitid(P_ALL, 0, &si, WEXITED | WNOWAIT);
	put_info(r, rc, pid, &si);
	rc = waitid(P_PGID, getpgid(0), &si, WEXITED);
	put_info(r, rc, pid, &si);

	st = 0, pid = spawn(2000, 0, 0);
	got = waitpid(pid, &st, WNOHANG);
	put_wait(r, got, pid, st);
	kill(pid, SIGKILL);
	got = waitpid(pid, &st, 0);
	put_wait(r, got, pid, st);
	st = 0, pid = spawn_stopper(60);
	got = waitpid(pid, &st, WUNTRACED);
	put_wait(r, got, pid, st);
	kill(pid, SIGCONT);
	got = waitpid(pid, &st, WCONTINUED);
	put_wait(r, got, pid, st);
	kill(pid, SIGKILL);
	got = waitpid(pid, &st, 0);
	put_wait(r, got, pid, st);

	pid = spawn(60, 0, 0);
	got = waitpid(pid, (int *)1, 0);
	put_wait(r, got, pid, 0);
	pid = spawn(60, 0, 0);
	rc = waitid(P_PID, pid, (siginfo_t *)1, WEXITED);
	put(r, rc), put(r, errno);
	got = waitpid(-1, &st, 0);
	put_wait(r, got, -1, st);
	got = waitpid(1, &st, 0);
	put_wait(r, got, 1, st);
	got = waitpid(-1, &st, 0x1000);
	put_wait(r, got, -1, st);
	memset(&si, 0, sizeof si);
	rc = waitid(P_ALL, 0, &si, 0);
	put_info(r, rc, 0, &si);
	rc = waitid(P_ALL, 0, &si, WEXITED);
	put_info(r, rc, 0, &si);
}

/* wait_sequence as a script for tl_run_script: with weft, a second
 * coroutine is alive so the parking paths are taken, and the run fails
 * (exit status 2) if it never ran. */
static void wait_script(void *rec, int arg, bool weft)
{
	static struct tl_ticker t;

	(void)arg;
	if (weft)
		weft_go(tl_tick_first, &t);
	wait_sequence(rec);
	t.stop = 1;
	if (weft && t.ticks == 0)
		_exit(2);
}

START_TEST(wait_calls_give_what_libc_gives)
{
	static struct rec plain, woven;

	tl_run_script(wait_script, 0, false, &plain, sizeof plain);
	tl_run_script(wait_script, 0, true, &woven, sizeof woven);
	ck_assert_uint_gt(plain.n, 0);
	ck_assert_uint_eq(plain.n, woven.n);
	for (size_t i = 0; i < plain.n; i++)
		ck_assert_msg(plain.v[i] == woven.v[i],
			      "record %zu: libc %ld, weft %ld", i,
			      plain.v[i], woven.v[i]);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_waitpid(void)
{
	Suite *s = suite_create("hook_waitpid");
	TCase *tc;

	tc = tcase_create("pidfd");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, waitpid_parks_until_the_child_exits);
	tcase_add_test(tc, waitpid_reports_death_by_a_signal);
	tcase_add_test(tc,
		waitpid_of_a_child_that_already_exited_returns_at_once);
	tcase_add_test(tc, wait4_parks_and_fills_rusage);
	tcase_add_test(tc, waitid_parks_until_the_child_exits);
	tcase_add_test(tc, waitid_WNOWAIT_leaves_the_child_to_be_reaped);
	tcase_add_test(tc, waitid_without_siginfo_still_reaps);
	tcase_add_test(tc, coroutines_each_get_their_own_child);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, waitpid_for_any_child_parks_on_the_pool);
	tcase_add_test(tc, waitpid_for_the_process_group_parks_on_the_pool);
	tcase_add_test(tc, wait_parks_until_any_child_exits);
	tcase_add_test(tc, waitid_for_any_child_parks_on_the_pool);
	tcase_add_test(tc, waitpid_reports_stops_and_continues);
	tcase_add_test(tc, waitpid_of_a_tracer_reports_the_tracees_stops);
	tcase_add_test(tc, waitid_reports_a_stop);
	tcase_add_test(tc, a_child_reaped_by_another_coroutine_leaves_ECHILD);
	tcase_add_test(tc,
		waitpid_WNOTHREAD_for_any_child_finds_the_callers_children);
	suite_add_tcase(s, tc);

	tc = tcase_create("direct");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, waitpid_WNOHANG_returns_0_at_once);
	tcase_add_test(tc,
		waitpid_alone_blocks_the_thread_and_reports_the_same);
	tcase_add_test(tc, waitpid_outside_a_coroutine_passes_through);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, waits_without_children_fail_with_ECHILD);
	tcase_add_test(tc, waits_with_bad_arguments_fail_with_EINVAL);
	tcase_add_test(tc, waits_with_a_bad_pointer_reap_and_fail_with_EFAULT);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, wait_calls_give_what_libc_gives);
	suite_add_tcase(s, tc);

	return s;
}
