/* test_ownfd.c - weft's own fds keep out of the program's way: they lie
 * at the top of the fd range, so the program's fds get their native
 * numbers; to the program they are numbers it never opened, whatever it
 * sweeps or duplicates onto them (those of its event loops, and the
 * signalfds and pidfds coroutines wait on); and weft keeps working after,
 * through fork, and after a raw system call closed them.
 *
 * Most tests are differential: a script runs once with libc alone (its
 * peers are threads) and once under weft with several coroutines parked
 * meanwhile, and what each call gave is compared, fd numbers included.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "core.h"
#include "ownfd.h"
#include "testlib.h"

void weft__stats_start(void); /* preload/stats.h */

struct record {
	int n;
	struct tl_rec r[160];
};

#define NOTE(rc, ret) TL_NOTE(rc, ret, NULL)

/* The number just above weft's: min(soft RLIMIT_NOFILE, the ceiling). */
static int top(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur > WEFT__OWNFD_CEIL)
		return WEFT__OWNFD_CEIL;
	return (int)rl.rlim_cur;
}

/* Runs script both ways and compares what each call gave. */
static void differ(tl_script_fn *script, int arg)
{
	struct record plain, woven;

	tl_run_script(script, arg, false, &plain, sizeof plain);
	tl_run_script(script, arg, true, &woven, sizeof woven);
	tl_compare_recs("ownfd", plain.r, plain.n, woven.r, woven.n);
}

/* ---- a crowd: peers parked (threads blocked) on a pipe meanwhile ------ */

#define CROWD 3

struct crowd {
	int p[2];
	struct tl_runner run[CROWD];
	atomic_int ready;
	char got[CROWD];
	long r[CROWD];
};

struct member {
	struct crowd *c;
	int i;
};

static struct member members[CROWD];

static void *crowd_main(void *arg)
{
	struct member *m = arg;

	atomic_fetch_add(&m->c->ready, 1);
	m->c->r[m->i] = read(m->c->p[0], &m->c->got[m->i], 1);
	return NULL;
}

/* Starts CROWD readers of a new pipe, threads or coroutines, and lets
 * them block or park. */
static void crowd_start(struct crowd *c, bool weft)
{
	memset(c, 0, sizeof *c);
	if (pipe(c->p) != 0)
		_exit(3);
	for (int i = 0; i < CROWD; i++) {
		members[i] = (struct member){ c, i };
		if (tl_runner_start(&c->run[i], crowd_main, &members[i],
				    !weft) != 0)
			_exit(4);
	}
	while (atomic_load(&c->ready) < CROWD)
		tl_nap_ns(!weft, MS);
	tl_nap_ns(!weft, 2 * MS);
}

/* Wakes the crowd with a byte each, joins it, and notes what each read. */
static void crowd_stop(struct record *rc, struct crowd *c)
{
	NOTE(rc, write(c->p[1], "abc", CROWD));
	for (int i = 0; i < CROWD; i++)
		tl_runner_join(&c->run[i]);
	for (int i = 0; i < CROWD; i++)
		NOTE(rc, c->r[i]);
	close(c->p[0]);
	close(c->p[1]);
}

/* The lowest number above the crowd's fds and the script's own: sweeps
 * start there, so as to leave the crowd its pipe. */
static int above(const struct crowd *c)
{
	return (c->p[0] > c->p[1] ? c->p[0] : c->p[1]) + 1;
}

/* ---- what shows that weft still works --------------------------------- */

struct writer {
	struct tl_runner run;
	int fd;
	int64_t delay;
	long r;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	tl_nap_ns(w->run.thread, w->delay);
	w->r = write(w->fd, "ok", 2);
	return NULL;
}

/* New fds get their native numbers; a read waits for a peer's write (it
 * parks under weft, the crowd still parked); sleeping and eventfd work. */
static void work(struct record *rc, bool weft)
{
	int p[2] = { -1, -1 };
	char buf[8] = "";

	NOTE(rc, pipe(p));
	NOTE(rc, p[0]);
	NOTE(rc, p[1]);
	struct writer w = { .fd = p[1], .delay = 5 * MS };
	NOTE(rc, tl_runner_start(&w.run, writer_main, &w, !weft));
	TL_NOTE(rc, read(p[0], buf, sizeof buf), buf);
	tl_runner_join(&w.run);
	NOTE(rc, w.r);
	int64_t t0 = tl_mono_ns();
	tl_nap_ns(!weft, 3 * MS);
	NOTE(rc, tl_mono_ns() - t0 >= 3 * MS);
	int e = eventfd(0, 0);
	NOTE(rc, e);
	NOTE(rc, close(e));
	NOTE(rc, close(p[0]));
	NOTE(rc, close(p[1]));
}

/* ---- the program's numbers are the native ones ------------------------ */

static void numbers_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	int fds[2];
	sigset_t m;

	(void)arg;
	crowd_start(&c, weft);
	NOTE(rc, c.p[0]);
	NOTE(rc, c.p[1]);
	NOTE(rc, socket(AF_UNIX, SOCK_STREAM, 0));
	NOTE(rc, pipe(fds));
	NOTE(rc, fds[0]);
	NOTE(rc, fds[1]);
	NOTE(rc, eventfd(0, 0));
	NOTE(rc, epoll_create1(0));
	sigemptyset(&m);
	NOTE(rc, signalfd(-1, &m, 0));
	NOTE(rc, dup(0));
	NOTE(rc, fcntl(0, F_DUPFD, 0));
	/* Sleeping, parking and a thread of weft's own make no new fd in
	 * the program's range. */
	tl_nap_ns(!weft, MS);
	NOTE(rc, dup(0));
	work(rc, weft);
	crowd_stop(rc, &c);
	NOTE(rc, dup(0));
}

START_TEST(first_fds_get_their_native_numbers)
{
	differ(numbers_script, 0);
}
END_TEST

/* weft's fds lie just below the top, none in the program's range. */
START_TEST(weft_fds_lie_at_the_top_of_the_range)
{
	int p[2];

	ck_assert_ptr_nonnull(weft_self()); /* the scheduler and its loop */
	ck_assert_int_eq(pipe(p), 0);
	int low = atomic_load(&weft__ownfd_low);
	ck_assert_int_lt(p[1], low);
	ck_assert_int_ge(low, top() - 16);
	ck_assert_int_lt(low, top());
	ck_assert(weft__ownfd_held(low));
	ck_assert_int_ge(fcntl(low, F_GETFD) & FD_CLOEXEC, 1);
}
END_TEST

/* ---- sweeps: close, close_range, /proc/self/fd ------------------------- */

/* arg: 0 close of every number, 1 closefrom. */
static void close_sweep_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	int closed = 0;

	crowd_start(&c, weft);
	if (arg == 0) {
		for (int fd = above(&c); fd < 1024 || fd < top(); fd++)
			closed += close(fd) == 0;
	} else {
		int probe = dup(2);
		closefrom(above(&c));
		closed = fcntl(probe, F_GETFD);
	}
	NOTE(rc, closed);
	NOTE(rc, close(top() - 1));
	NOTE(rc, close(top() - 2));
	work(rc, weft);
	crowd_stop(rc, &c);
}

START_TEST(closing_every_fd_leaves_weft_working)
{
	differ(close_sweep_script, _i);
}
END_TEST

static const int range_flags[] = {
	0, CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE,
	CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC,
};

static void close_range_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	int flags = range_flags[arg];
	int probe;

	crowd_start(&c, weft);
	NOTE(rc, probe = dup(2));
	NOTE(rc, close_range((unsigned)above(&c), ~0U, flags));
	NOTE(rc, fcntl(probe, F_GETFD));
	NOTE(rc, close(top() - 1));
	if (flags & CLOSE_RANGE_UNSHARE) {
		/* This thread's fd table is its own now: a native peer
		 * thread would not see what it opens; the crowd wakes from
		 * the fds it kept. */
		int64_t t0 = tl_mono_ns();
		tl_nap_ns(!weft, 3 * MS);
		NOTE(rc, tl_mono_ns() - t0 >= 3 * MS);
		int p[2];
		NOTE(rc, pipe(p));
		NOTE(rc, p[0]);
	} else {
		work(rc, weft);
	}
	crowd_stop(rc, &c);
}

START_TEST(close_range_leaves_weft_working)
{
	differ(close_range_script, _i);
}
END_TEST

static void proc_sweep_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	int closed = 0, failed = 0;

	(void)arg;
	crowd_start(&c, weft);
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		_exit(5);
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd < above(&c) || fd == dirfd(d))
			continue;
		if (close(fd) == 0)
			closed++;
		else
			failed += errno == EBADF;
	}
	closedir(d);
	/* weft's own are listed, and their closes fail (as for numbers
	 * the program never opened): only what the program had counts. */
	NOTE(rc, closed);
	work(rc, weft);
	crowd_stop(rc, &c);
	if (weft)
		ck_assert_int_ge(failed, 2);
}

START_TEST(closing_what_proc_self_fd_lists_leaves_weft_working)
{
	differ(proc_sweep_script, 0);
}
END_TEST

/* ---- numbers the program asks for: dup2, dup3, F_DUPFD ----------------- */

/* arg: 0 dup2, 1 dup3 with O_CLOEXEC, 2 F_DUPFD, 3 F_DUPFD_CLOEXEC. */
static void onto_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	int src, from;

	crowd_start(&c, weft);
	NOTE(rc, src = dup(2));
	from = top() - 16;
	for (int i = 0; i < 16; i++) {
		switch (arg) {
		case 0:
			NOTE(rc, dup2(src, from + i));
			break;
		case 1:
			NOTE(rc, dup3(src, from + i, O_CLOEXEC));
			break;
		case 2:
			NOTE(rc, fcntl(src, F_DUPFD, from));
			break;
		default:
			NOTE(rc, fcntl(src, F_DUPFD_CLOEXEC, from));
			break;
		}
		NOTE(rc, fcntl(from + i, F_GETFD));
	}
	/* Each is the program's now, and works as a copy of stderr. */
	NOTE(rc, write(top() - 1, "", 0));
	work(rc, weft);
	/* Natively the lowest free number is where weft went. */
	NOTE(rc, fcntl(src, F_DUPFD, from - 64));
	NOTE(rc, close_range((unsigned)from, (unsigned)top() - 1, 0));
	for (int i = 0; i < 16; i++)
		NOTE(rc, close(from + i));
	work(rc, weft);
	crowd_stop(rc, &c);
}

START_TEST(duplicating_onto_weft_numbers_works_as_natively)
{
	differ(onto_script, _i);
}
END_TEST

/* Its numbers cannot be the source of a copy, nor closed. */
static void source_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	int t = top();

	(void)arg;
	crowd_start(&c, weft);
	for (int fd = t - 4; fd < t; fd++) {
		NOTE(rc, dup(fd));
		NOTE(rc, dup2(fd, 100));
		NOTE(rc, dup3(fd, 100, 0));
		NOTE(rc, dup3(fd, fd, 0));
		NOTE(rc, dup3(fd, 100, 12345));
		NOTE(rc, dup2(fd, fd));
		NOTE(rc, fcntl(fd, F_DUPFD, 0));
		NOTE(rc, fcntl(fd, F_DUPFD_CLOEXEC, 200));
		NOTE(rc, close(fd));
	}
	/* dup2 and dup3 onto one with a bad source or flags fail as
	 * natively, and leave weft working. */
	NOTE(rc, dup2(-1, t - 1));
	NOTE(rc, dup2(999, t - 1));
	NOTE(rc, dup3(2, t - 2, 12345));
	work(rc, weft);
	crowd_stop(rc, &c);
}

START_TEST(weft_numbers_are_not_open_to_the_program)
{
	differ(source_script, 0);
}
END_TEST

/* ---- a coroutine waiting for a signal on weft's signalfd -------------- */

struct sigwaiter {
	struct tl_runner run;
	sigset_t set;
	int sig;
	atomic_int r;
};

static void *sigwaiter_main(void *arg)
{
	struct sigwaiter *s = arg;

	atomic_store(&s->r, sigwait(&s->set, &s->sig));
	return NULL;
}

/* arg: 0 dup2 onto the top numbers, 1 close them all, 2 close_range. */
static void sigwait_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	struct sigwaiter s;
	int src, t = top();

	atomic_init(&s.r, -1);
	sigemptyset(&s.set);
	sigaddset(&s.set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s.set, NULL);
	crowd_start(&c, weft);
	NOTE(rc, tl_runner_start(&s.run, sigwaiter_main, &s, !weft));
	tl_nap_ns(!weft, 5 * MS); /* it waits */
	if (weft) /* the loop's two fds, and the signalfd it waits on */
		ck_assert_int_ge(atomic_load(&weft__ownfd_low), t - 16);
	NOTE(rc, src = dup(2));
	for (int fd = t - 16; fd < t; fd++) {
		if (arg == 0)
			NOTE(rc, dup2(src, fd));
		else if (arg == 1)
			NOTE(rc, close(fd));
	}
	if (arg == 2)
		NOTE(rc, close_range((unsigned)above(&c), ~0U, 0));
	if (weft && arg == 0) /* it waits on a copy, under another number */
		ck_assert_uint_eq(atomic_load(&weft__ownfd_moved), 1);
	tl_nap_ns(!weft, 2 * MS);
	NOTE(rc, atomic_load(&s.r)); /* still waiting */
	NOTE(rc, kill(getpid(), SIGUSR1));
	tl_runner_join(&s.run);
	NOTE(rc, atomic_load(&s.r));
	NOTE(rc, s.sig);
	work(rc, weft);
	crowd_stop(rc, &c);
}

START_TEST(sigwait_keeps_waiting_through_what_the_program_does_to_its_fd)
{
	differ(sigwait_script, _i);
}
END_TEST

/* ---- a coroutine waiting for a child on weft's pidfd ------------------- */

struct childwaiter {
	struct tl_runner run;
	pid_t pid;
	int status;
	atomic_int r;
};

static void *childwaiter_main(void *arg)
{
	struct childwaiter *w = arg;

	atomic_store(&w->r, waitpid(w->pid, &w->status, 0));
	return NULL;
}

/* arg: 0 dup2 onto the top numbers, 1 close them all, 2 close_range. */
static void waitpid_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	struct childwaiter w = { .status = -1 };
	int src, t = top();

	atomic_init(&w.r, -2);
	crowd_start(&c, weft);
	w.pid = fork();
	if (w.pid == 0) {
		/* Long enough to be still running at "still waiting" below on
		 * a loaded machine under ASan (50 ms was not, once). */
		tl_raw_sleep_ms(300);
		_exit(7);
	}
	NOTE(rc, w.pid > 0);
	NOTE(rc, tl_runner_start(&w.run, childwaiter_main, &w, !weft));
	tl_nap_ns(!weft, 5 * MS); /* it waits */
	NOTE(rc, src = dup(2));
	for (int fd = t - 16; fd < t; fd++) {
		if (arg == 0)
			NOTE(rc, dup2(src, fd));
		else if (arg == 1)
			NOTE(rc, close(fd));
	}
	if (arg == 2)
		NOTE(rc, close_range((unsigned)above(&c), ~0U, 0));
	/* It waits on a copy, under another number (on a pidfd: valgrind
	 * 3.19 has no pidfd_open, and the offload pool waits there). */
	if (weft && arg == 0 &&
	    !tl_valgrind_cannot("waitpid_keeps_waiting_through_what_the"
				"_program_does_to_its_fd", "it has no"
				" pidfd_open"))
		ck_assert_uint_eq(atomic_load(&weft__ownfd_moved), 1);
	NOTE(rc, atomic_load(&w.r)); /* still waiting */
	tl_runner_join(&w.run);
	NOTE(rc, atomic_load(&w.r) == w.pid);
	NOTE(rc, w.status);
	work(rc, weft);
	crowd_stop(rc, &c);
}

START_TEST(waitpid_keeps_waiting_through_what_the_program_does_to_its_fd)
{
	differ(waitpid_script, _i);
}
END_TEST

/* ---- a raw system call closes weft's fds -------------------------------- */

/* arg: 0 close_range, 1 the epoll fd only (weft's first, at the top). */
static void raw_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;

	crowd_start(&c, weft);
	if (arg == 0)
		NOTE(rc, syscall(SYS_close_range, above(&c), ~0U, 0));
	else
		syscall(SYS_close, top() - 1);
	work(rc, weft);
	work(rc, weft);
	crowd_stop(rc, &c);
}

START_TEST(weft_fds_closed_by_a_raw_system_call_are_made_again)
{
	differ(raw_script, _i);
}
END_TEST

/* ---- fork -------------------------------------------------------------- */

/* The child of a process whose peers are parked sweeps every fd, then
 * starts peers of its own and works. */
static void fork_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	int status = -1;

	crowd_start(&c, weft);
	pid_t pid = fork();
	if (pid == 0) {
		struct record child = { 0 };
		struct crowd c2;
		if (arg == 0) {
			for (int fd = 3; fd < 1024 || fd < top(); fd++)
				close(fd);
		} else {
			close_range(3, ~0U, 0);
		}
		crowd_start(&c2, weft);
		work(&child, weft);
		crowd_stop(&child, &c2);
		/* What the child saw, as its exit status: all went well. */
		bool ok = child.n > 0;
		for (int i = 0; i < child.n; i++)
			ok &= child.r[i].ret >= 0;
		_exit(ok ? 0 : 1);
	}
	NOTE(rc, pid > 0);
	NOTE(rc, waitpid(pid, &status, 0) == pid);
	NOTE(rc, status);
	work(rc, weft);
	crowd_stop(rc, &c);
}

START_TEST(a_forked_child_that_sweeps_its_fds_keeps_working)
{
	differ(fork_script, _i);
}
END_TEST

/* ---- the fd limit ------------------------------------------------------- */

/* A program that lowers its limit to "lowest free + 3" gets exactly three
 * more fds, waits and all. */
static void limit_script(void *rec, int arg, bool weft)
{
	struct record *rc = rec;
	struct crowd c;
	struct rlimit rl, low;
	int fd[4];

	(void)arg;
	crowd_start(&c, weft);
	NOTE(rc, getrlimit(RLIMIT_NOFILE, &rl));
	NOTE(rc, rl.rlim_cur);
	NOTE(rc, rl.rlim_max);
	int lowest = dup(0);
	close(lowest);
	low = (struct rlimit){ (rlim_t)lowest + 3, rl.rlim_max };
	NOTE(rc, setrlimit(RLIMIT_NOFILE, &low));
	tl_nap_ns(!weft, 2 * MS);
	for (int i = 0; i < 4; i++)
		NOTE(rc, fd[i] = eventfd(0, 0));
	for (int i = 0; i < 3; i++)
		NOTE(rc, close(fd[i]));
	NOTE(rc, setrlimit(RLIMIT_NOFILE, &rl));
	work(rc, weft);
	crowd_stop(rc, &c);
}

START_TEST(a_lowered_fd_limit_leaves_the_program_its_fds)
{
	differ(limit_script, 0);
}
END_TEST

/* ---- another thread's scheduler ----------------------------------------- */

struct other {
	atomic_int rounds;
	atomic_bool stop;
	atomic_int failures;
};

static void other_writer(void *arg)
{
	int fd = *(int *)arg;

	weft_sleep(MS);
	if (write(fd, "x", 1) != 1)
		abort();
}

/* A weft_thread whose coroutines keep passing bytes through pipes. */
static void other_main(void *arg)
{
	struct other *o = arg;

	while (!atomic_load(&o->stop)) {
		int p[2];
		char ch;
		if (pipe(p) != 0) {
			atomic_fetch_add(&o->failures, 1);
			weft_sleep(MS);
			continue;
		}
		weft_go(other_writer, &p[1]);
		if (read(p[0], &ch, 1) != 1)
			atomic_fetch_add(&o->failures, 1);
		close(p[0]);
		close(p[1]);
		atomic_fetch_add(&o->rounds, 1);
	}
}

START_TEST(taking_another_threads_weft_fds_leaves_it_working)
{
	struct other o = { 0 };
	pthread_t tid;
	int t = top();

	ck_assert_ptr_nonnull(weft_self());
	ck_assert_int_eq(weft_thread(&tid, other_main, &o), 0);
	while (atomic_load(&o.rounds) < 3)
		weft_sleep(MS);
	/* Both schedulers' fds lie in the top 16.  src sits well above the
	 * other thread's pipes, which close_range(src, ...) must not close. */
	int src = fcntl(2, F_DUPFD, t - 64);
	for (int fd = t - 16; fd < t; fd++)
		ck_assert_int_eq(dup2(src, fd), fd);
	int before = atomic_load(&o.rounds);
	while (atomic_load(&o.rounds) < before + 5)
		weft_sleep(MS);
	for (int fd = t - 16; fd < t; fd++)
		ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(close_range((unsigned)src, ~0U, 0), 0);
	before = atomic_load(&o.rounds);
	while (atomic_load(&o.rounds) < before + 5)
		weft_sleep(MS);
	atomic_store(&o.stop, true);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_int_eq(atomic_load(&o.failures), 0);
}
END_TEST

/* ---- WEFT_STATS's copy of stderr ---------------------------------------- */

static int stats_child(void *arg)
{
	struct stat err, st;
	int copy = -1;

	(void)arg;
	weft__stats_start();
	fstat(2, &err);
	for (int fd = top() - 16; fd < top(); fd++)
		if (fstat(fd, &st) == 0 && st.st_ino == err.st_ino &&
		    st.st_dev == err.st_dev)
			copy = fd;
	if (copy < 0)
		return 1;
	if (close(copy) != -1 || errno != EBADF)
		return 2;
	int null = open("/dev/null", O_WRONLY);
	if (dup2(null, copy) != copy)
		return 3;
	close(2); /* as coreutils do on their way out */
	return 0;
}

START_TEST(stats_copy_of_stderr_lies_at_the_top_and_moves_away)
{
	char out[4096];
	int status = tl_run_in_child(stats_child, NULL, out, sizeof out);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %#x", status);
	ck_assert_msg(strstr(out, "weft: statistics of pid") != NULL,
		      "no report in: %s", out);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_ownfd(void)
{
	Suite *s = suite_create("ownfd");
	TCase *tc = tcase_create("ownfd");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, first_fds_get_their_native_numbers);
	tcase_add_test(tc, weft_fds_lie_at_the_top_of_the_range);
	tcase_add_loop_test(tc, closing_every_fd_leaves_weft_working, 0, 2);
	tcase_add_loop_test(tc, close_range_leaves_weft_working, 0, 4);
	tcase_add_test(tc, closing_what_proc_self_fd_lists_leaves_weft_working);
	tcase_add_loop_test(tc, duplicating_onto_weft_numbers_works_as_natively,
			    0, 4);
	tcase_add_test(tc, weft_numbers_are_not_open_to_the_program);
	tcase_add_loop_test(tc,
		sigwait_keeps_waiting_through_what_the_program_does_to_its_fd,
		0, 3);
	tcase_add_loop_test(tc,
		waitpid_keeps_waiting_through_what_the_program_does_to_its_fd,
		0, 3);
	tcase_add_loop_test(tc,
			    weft_fds_closed_by_a_raw_system_call_are_made_again,
			    0, 2);
	tcase_add_loop_test(tc,
			    a_forked_child_that_sweeps_its_fds_keeps_working,
			    0, 2);
	tcase_add_test(tc, a_lowered_fd_limit_leaves_the_program_its_fds);
	tcase_add_test(tc, taking_another_threads_weft_fds_leaves_it_working);
	tcase_add_test(tc, stats_copy_of_stderr_lies_at_the_top_and_moves_away);
	suite_add_tcase(s, tc);
	return s;
}
