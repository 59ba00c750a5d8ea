/* test_process.c - fork, vfork, posix_spawn(p), system and the exec family:
 * a fork child keeps only the calling coroutine and the parent goes on;
 * children never see the O_NONBLOCK weft set for itself; system() parks
 * while the shell runs and keeps glibc's status and signal handling; the
 * exec family runs what it is given, with or without weft in LD_PRELOAD
 * (WEFT_INHERIT). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "fd.h"
#include "real.h"
#include "weft.h"
#include "../hook/green.h"
#include "../preload/preload.h"
#include "testlib.h"

extern char **environ;

/* Volatile, so the compiler does not see the bad arguments coming. */
static void *volatile bad_ptr = (void *)8; /* never mapped */

/* ---- helpers ------------------------------------------------------------ */

/* A coroutine that counts while others wait, until told to stop. */
struct ticker {
	volatile int stop;
	volatile int ticks;
};

static void tick(void *p)
{
	struct ticker *t = p;

	while (!t->stop) {
		t->ticks++;
		weft_sleep(2 * MS);
	}
}

/* Reaps pid with the real waitpid (never parks) and returns its status. */
static int reap(pid_t pid)
{
	int st = -1;

	ck_assert_int_eq(weft__libc()->waitpid(pid, &st, 0), pid);
	return st;
}

/* Reads fd to its end into buf (NUL-terminated); returns the length. */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return got;
}

/* Runs fn(arg) in a fork child whose stdout (and, unless keep_stderr,
 * stderr) goes to a pipe, reads everything it writes into out, and
 * returns its wait status.  fn is expected to exec or _exit. */
static int run_capture(void (*fn)(void *), void *arg, char *out, size_t cap)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(p[1], 1);
		dup2(null, 2);
		close(p[0]);
		close(p[1]);
		fn(arg);
		_exit(126);
	}
	close(p[1]);
	read_all(p[0], out, cap);
	close(p[0]);
	return reap(pid);
}

/* A listening TCP socket on 127.0.0.1; its port goes to *port. */
static int listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* Makes fd non-blocking in the kernel the way weft does for its own
 * sockets (hook/accept.c), the program believing it blocking. */
static void make_kern_nb(int fd)
{
	struct weft__fd *f = weft__fd_get(fd);
	long fl = syscall(SYS_fcntl, fd, F_GETFL);

	ck_assert_ptr_nonnull(f);
	ck_assert(weft__fd_flags(f) & WEFT__FD_OURS);
	ck_assert_int_eq(syscall(SYS_fcntl, fd, F_SETFL, fl | O_NONBLOCK), 0);
	weft__fd_set(f, WEFT__FD_KERN_NB, true);
}

static bool kernel_nonblocking(int fd)
{
	return syscall(SYS_fcntl, fd, F_GETFL) & O_NONBLOCK;
}

static unsigned entry_flags(int fd)
{
	return weft__fd_flags(weft__fd_get(fd));
}

/* ---- fork ---------------------------------------------------------------- */

struct pipe_reader {
	int fd;
	char got[16];
	ssize_t n;
	bool done;
};

static void read_pipe(void *p)
{
	struct pipe_reader *r = p;

	r->n = read(r->fd, r->got, sizeof r->got - 1);
	r->done = true;
}

static void write_hi(void *p)
{
	int fd = *(int *)p;

	weft_sleep(5 * MS);
	ck_assert_int_eq(write(fd, "hi", 2), 2);
}

/* In the fork child: the calling coroutine is alone, and weft calls work
 * on a fresh scheduler: it sleeps, starts a coroutine and parks on a pipe
 * until that one writes.  Exits 42 when all went well. */
static void child_life(struct pipe_reader *parent_reader)
{
	int p[2];
	char buf[4] = "";

	if (!weft__alone(weft__running))
		_exit(10);
	/* The parent's reader does not exist here: closing its fd must
	 * neither wake anything nor disturb the parent's registrations. */
	close(parent_reader->fd);
	int64_t t0 = tl_mono_ns();
	weft_sleep(10 * MS);
	if (tl_mono_ns() - t0 < 10 * MS)
		_exit(11);
	if (pipe(p) < 0 || weft_go(write_hi, &p[1]) < 0)
		_exit(12);
	if (read(p[0], buf, sizeof buf) != 2 || memcmp(buf, "hi", 2) != 0)
		_exit(13);
	if (parent_reader->done)
		_exit(14);
	_exit(42);
}

struct forker {
	struct pipe_reader *reader;
	int status;
	pid_t pid;
};

static void *fork_and_wait(void *p)
{
	struct forker *f = p;

	f->pid = fork();
	if (f->pid == 0)
		child_life(f->reader);
	ck_assert_int_gt(f->pid, 0);
	ck_assert_int_eq(waitpid(f->pid, &f->status, 0), f->pid);
	return NULL;
}

/* Forks from a coroutine that is not the root (from_root false) or from
 * the root, while another coroutine is parked on a pipe; checks the child
 * (see child_life) and that the parked coroutine still wakes. */
static void fork_with_a_parked_peer(bool from_root)
{
	struct pipe_reader r = { 0 };
	struct forker f = { .reader = &r };
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	r.fd = p[0];
	ck_assert_int_eq(weft_go(read_pipe, &r), 0);
	weft_yield(); /* the reader parks */
	ck_assert(!r.done);
	if (from_root) {
		fork_and_wait(&f);
	} else {
		weft_co *co = weft_spawn(fork_and_wait, &f, 0);
		ck_assert_ptr_nonnull(co);
		ck_assert_int_eq(weft_join(co, NULL), 0);
	}
	ck_assert_msg(WIFEXITED(f.status) && WEXITSTATUS(f.status) == 42,
		      "child status %#x", f.status);
	ck_assert(!r.done);
	ck_assert_int_eq(write(p[1], "ok", 2), 2);
	for (int i = 0; i < 1000 && !r.done; i++)
		weft_sleep(MS);
	ck_assert(r.done);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.got, "ok");
}

START_TEST(fork_from_a_coroutine_leaves_the_child_only_that_coroutine)
{
	fork_with_a_parked_peer(false);
}
END_TEST

START_TEST(fork_from_the_root_leaves_the_child_only_the_root)
{
	fork_with_a_parked_peer(true);
}
END_TEST

static void *fork_keeping_a_key(void *p)
{
	weft_key key = *(weft_key *)p;
	static int value;

	ck_assert_int_eq(weft_setspecific(key, &value), 0);
	ck_assert_int_eq(weft_set_name("forker"), 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(weft_getspecific(key) == &value &&
		      strcmp(weft_name(), "forker") == 0 ? 0 : 1);
	return (void *)(intptr_t)reap(pid);
}

START_TEST(fork_child_keeps_the_coroutines_keys_and_name)
{
	weft_key key;
	void *st;

	ck_assert_int_eq(weft_key_create(&key, NULL), 0);
	weft_co *co = weft_spawn(fork_keeping_a_key, &key, 0);
	ck_assert_int_eq(weft_join(co, &st), 0);
	ck_assert_int_eq((int)(intptr_t)st, 0);
}
END_TEST

START_TEST(fork_outside_a_coroutine_passes_through)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(weft__running == NULL ? 3 : 4);
	ck_assert_int_gt(pid, 0);
	int st = reap(pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	ck_assert_ptr_null(weft__running);
}
END_TEST

START_TEST(vfork_is_fork_and_leaves_the_parents_scheduler_alone)
{
	struct ticker t = { 0 };

	ck_assert_int_eq(weft_go(tick, &t), 0);
	pid_t pid = vfork();
	if (pid == 0) {
		/* A weft call in a real vfork child would run on the
		 * parent's scheduler; as a fork child it has its own. */
		weft_sleep(2 * MS);
		_exit(7);
	}
	ck_assert_int_gt(pid, 0);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 7);
	int before = t.ticks;
	weft_sleep(10 * MS);
	ck_assert_int_gt(t.ticks, before);
	t.stop = 1;
}
END_TEST

/* ---- fds a child shares ------------------------------------------------- */

struct connector {
	int port;
	bool done;
};

static void connect_to(void *p)
{
	struct connector *c = p;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(c->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	weft_sleep(5 * MS);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	c->done = true;
	close(fd);
}

START_TEST(fork_child_sees_a_listener_blocking_and_the_parent_accepts)
{
	struct connector c = { 0 };
	int lfd = listener(&c.port);

	make_kern_nb(lfd);
	ck_assert_int_eq(fcntl(lfd, F_GETFL) & O_NONBLOCK, 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(syscall(SYS_fcntl, lfd, F_GETFL) & O_NONBLOCK ? 1 : 0);
	ck_assert_int_gt(pid, 0);
	int st = reap(pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "the child saw O_NONBLOCK");
	/* The parent now treats the socket as shared: never again its own
	 * O_NONBLOCK, and accept still parks and works. */
	ck_assert(!kernel_nonblocking(lfd));
	ck_assert_int_eq(entry_flags(lfd) & (WEFT__FD_KERN_NB | WEFT__FD_OURS),
			 0);
	ck_assert_int_eq(weft_go(connect_to, &c), 0);
	int fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	ck_assert(c.done);
	ck_assert(!kernel_nonblocking(lfd));
	ck_assert_int_eq(fcntl(lfd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	close(lfd);
}
END_TEST

START_TEST(fork_keeps_O_NONBLOCK_the_program_set_itself)
{
	int port;
	int lfd = listener(&port);

	make_kern_nb(lfd);
	ck_assert_int_eq(fcntl(lfd, F_SETFL, O_NONBLOCK), 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(syscall(SYS_fcntl, lfd, F_GETFL) & O_NONBLOCK ? 0 : 1);
	int st = reap(pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert(kernel_nonblocking(lfd));
	ck_assert_int_ne(fcntl(lfd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_eq(entry_flags(lfd) & WEFT__FD_KERN_NB, 0);
	/* The program's own F_SETFL now rules the kernel's flag alone. */
	ck_assert_int_eq(fcntl(lfd, F_SETFL, 0), 0);
	ck_assert(!kernel_nonblocking(lfd));
	close(lfd);
}
END_TEST

START_TEST(spawn_clears_weft_nonblock_only_on_fds_the_child_gets)
{
	int port, port2;
	int shared = listener(&port);
	int private = listener(&port2);
	pid_t pid;
	char *argv[] = { "true", NULL };

	ck_assert_int_eq(fcntl(private, F_SETFD, FD_CLOEXEC), 0);
	make_kern_nb(shared);
	make_kern_nb(private);
	ck_assert_int_eq(posix_spawn(&pid, "/bin/true", NULL, NULL, argv,
				     environ), 0);
	ck_assert_int_eq(WEXITSTATUS(reap(pid)), 0);
	ck_assert(!kernel_nonblocking(shared));
	ck_assert_int_eq(entry_flags(shared) &
			 (WEFT__FD_KERN_NB | WEFT__FD_OURS), 0);
	ck_assert(kernel_nonblocking(private));
	ck_assert_int_eq(entry_flags(private) &
			 (WEFT__FD_KERN_NB | WEFT__FD_OURS),
			 WEFT__FD_KERN_NB | WEFT__FD_OURS);
	close(shared);
	close(private);
}
END_TEST

START_TEST(spawn_with_file_actions_treats_every_fd_as_shared)
{
	int port;
	int lfd = listener(&port);
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char *argv[] = { "true", NULL };

	ck_assert_int_eq(fcntl(lfd, F_SETFD, FD_CLOEXEC), 0);
	make_kern_nb(lfd);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, lfd, 5);
	ck_assert_int_eq(posix_spawn(&pid, "/bin/true", &fa, NULL, argv,
				     environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_int_eq(WEXITSTATUS(reap(pid)), 0);
	ck_assert(!kernel_nonblocking(lfd));
	ck_assert_int_eq(entry_flags(lfd) & (WEFT__FD_KERN_NB | WEFT__FD_OURS),
			 0);
	close(lfd);
}
END_TEST

START_TEST(failed_exec_clears_weft_nonblock_on_surviving_fds_only)
{
	int port, port2;
	int survivor = listener(&port);
	int cloexec = listener(&port2);

	ck_assert_int_eq(fcntl(cloexec, F_SETFD, FD_CLOEXEC), 0);
	make_kern_nb(survivor);
	make_kern_nb(cloexec);
	errno = 0;
	ck_assert_int_eq(execl("/nonexistent/weft-test", "x", (char *)NULL),
			 -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(!kernel_nonblocking(survivor));
	/* A failed exec shares nothing: the file stays this process's. */
	ck_assert_int_eq(entry_flags(survivor) &
			 (WEFT__FD_KERN_NB | WEFT__FD_OURS), WEFT__FD_OURS);
	ck_assert(kernel_nonblocking(cloexec));
	ck_assert(entry_flags(cloexec) & WEFT__FD_KERN_NB);
	close(survivor);
	close(cloexec);
}
END_TEST

/* The exec'd shell prints the flags line of fd 5's fdinfo. */
static void exec_fdinfo(void *p)
{
	int fd = *(int *)p;

	dup2(fd, 5);
	close(fd);
	/* As weft marks a socket it made and then made non-blocking; the
	 * fork that made this child has already marked it shared. */
	weft__fd_made(5, WEFT__FD_SOCKET | WEFT__FD_OURS);
	syscall(SYS_fcntl, 5, F_SETFL, O_NONBLOCK | O_RDWR);
	weft__fd_set(weft__fd_get(5), WEFT__FD_KERN_NB, true);
	execl("/bin/sh", "sh", "-c", "grep ^flags: /proc/self/fdinfo/5",
	      (char *)NULL);
}

START_TEST(exec_image_sees_the_programs_own_flags)
{
	char out[256];
	int port;
	int lfd = listener(&port);

	int st = run_capture(exec_fdinfo, &lfd, out, sizeof out);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	unsigned long flags = 0;
	ck_assert_msg(sscanf(out, "flags: %lo", &flags) == 1, "got: %s", out);
	ck_assert_msg(!(flags & O_NONBLOCK), "flags %lo", flags);
	close(lfd);
}
END_TEST

/* Lists the fds open now that are not close-on-exec into set. */
static void inheritable_fds(bool set[64])
{
	for (int fd = 0; fd < 64; fd++) {
		long fl = syscall(SYS_fcntl, fd, F_GETFD);
		set[fd] = fl >= 0 && !(fl & FD_CLOEXEC);
	}
}

static void *wait_child_on_a_pidfd(void *p)
{
	(void)p;
	pid_t pid = fork();

	if (pid == 0) {
		usleep(10000);
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return NULL;
}

START_TEST(wefts_own_fds_are_close_on_exec)
{
	bool before[64], after[64];
	struct ticker t = { 0 };

	inheritable_fds(before);
	/* A scheduler with its loop, a sleeping coroutine, a pidfd. */
	ck_assert_int_eq(weft_go(tick, &t), 0);
	weft_co *co = weft_spawn(wait_child_on_a_pidfd, NULL, 0);
	weft_sleep(5 * MS);
	inheritable_fds(after);
	for (int fd = 0; fd < 64; fd++)
		ck_assert_msg(before[fd] || !after[fd],
			      "fd %d made by weft is not close-on-exec", fd);
	t.stop = 1;
	weft_join(co, NULL);
}
END_TEST

/* ---- posix_spawn ---------------------------------------------------------- */

START_TEST(posix_spawn_of_true_is_reaped_with_status_0)
{
	struct ticker t = { 0 };
	char *argv[] = { "true", NULL };
	pid_t pid;
	int st;

	ck_assert_int_eq(weft_go(tick, &t), 0);
	ck_assert_int_eq(posix_spawn(&pid, "/bin/true", NULL, NULL, argv,
				     environ), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(posix_spawnp(&pid, "true", NULL, NULL, argv,
				      environ), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(st, 0);
	t.stop = 1;
}
END_TEST

START_TEST(posix_spawn_of_a_missing_program_fails_as_libc_does)
{
	char *argv[] = { "x", NULL };
	pid_t pid;

	TL_SKIP_UNDER_VALGRIND("its posix_spawn starts the child before the"
			       " exec fails, and reports success");
	ck_assert_int_eq(posix_spawn(&pid, "/nonexistent/x", NULL, NULL, argv,
				     environ), ENOENT);
	ck_assert_int_eq(posix_spawnp(&pid, "no-such-program-weft", NULL,
				      NULL, argv, environ), ENOENT);
}
END_TEST

/* ---- system -------------------------------------------------------------- */

START_TEST(system_parks_while_the_shell_runs_and_returns_its_status)
{
	struct ticker t = { 0 };

	ck_assert_int_eq(weft_go(tick, &t), 0);
	int64_t t0 = tl_mono_ns();
	int st = system("sleep 0.05; exit 3");
	ck_assert_int_ge(tl_mono_ns() - t0, 50 * MS);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	/* ran while system() waited */
	if (!tl_valgrind_cannot(__func__, "it has no pidfd_open: the wait"
				" goes to the offload pool, whose first thread"
				" takes valgrind longer to start than the"
				" shell's 50 ms"))
		ck_assert_int_gt(t.ticks, 2);
	t.stop = 1;
}
END_TEST

START_TEST(system_reports_a_shell_killed_by_a_signal)
{
	struct ticker t = { 0 };

	ck_assert_int_eq(weft_go(tick, &t), 0);
	int st = system("kill -TERM $$");
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGTERM);
	st = system("no-such-command-weft 2>/dev/null");
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 127);
	t.stop = 1;
}
END_TEST

START_TEST(system_NULL_says_a_shell_is_there)
{
	ck_assert_int_ne(system(NULL), 0); /* alone: libc's own */
	struct ticker t = { 0 };
	ck_assert_int_eq(weft_go(tick, &t), 0);
	ck_assert_int_ne(system(NULL), 0);
	t.stop = 1;
}
END_TEST

START_TEST(system_outside_a_coroutine_passes_through)
{
	int st = system("exit 5");

	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 5);
	ck_assert_ptr_null(weft__running);
}
END_TEST

static volatile sig_atomic_t got_int, got_chld;

static void on_int(int sig)
{
	(void)sig;
	got_int++;
}

static void on_chld(int sig)
{
	(void)sig;
	got_chld++;
}

START_TEST(system_ignores_SIGINT_and_blocks_SIGCHLD_while_waiting)
{
	struct ticker t = { 0 };
	struct sigaction sa = { .sa_handler = on_int }, now;
	sigset_t mask;

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGINT, &sa, NULL), 0);
	sa.sa_handler = on_chld;
	ck_assert_int_eq(sigaction(SIGCHLD, &sa, NULL), 0);
	ck_assert_int_eq(weft_go(tick, &t), 0);
	/* The shell sends SIGINT to this process: ignored meanwhile.  Its
	 * own SIGINT is back to the default (it was not ignored here). */
	int st = system("kill -INT $PPID; sleep 0.02; exit 4");
	ck_assert_int_eq(WEXITSTATUS(st), 4);
	ck_assert_int_eq(got_int, 0);
	/* SIGCHLD was held back while system() waited; now it is
	 * delivered, and the handlers are as they were. */
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
	ck_assert(!sigismember(&mask, SIGCHLD));
	ck_assert_int_ge(got_chld, 1);
	ck_assert_int_eq(sigaction(SIGINT, NULL, &now), 0);
	ck_assert_ptr_eq(now.sa_handler, on_int);
	raise(SIGINT);
	ck_assert_int_eq(got_int, 1);
	t.stop = 1;
}
END_TEST

struct sys_call {
	const char *cmd;
	int status;
};

static void *run_system(void *p)
{
	struct sys_call *c = p;

	c->status = system(c->cmd);
	return NULL;
}

START_TEST(concurrent_system_calls_restore_the_mask_and_handlers)
{
	struct sys_call a = { .cmd = "sleep 0.03; exit 1" },
			b = { .cmd = "exit 2" };
	struct sigaction sa = { .sa_handler = on_int }, now;
	sigset_t mask;

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGINT, &sa, NULL), 0);
	weft_co *ca = weft_spawn(run_system, &a, 0);
	weft_co *cb = weft_spawn(run_system, &b, 0);
	ck_assert_int_eq(weft_join(cb, NULL), 0); /* b ends first */
	ck_assert_int_eq(weft_join(ca, NULL), 0);
	ck_assert_int_eq(WEXITSTATUS(a.status), 1);
	ck_assert_int_eq(WEXITSTATUS(b.status), 2);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
	ck_assert(!sigismember(&mask, SIGCHLD));
	ck_assert_int_eq(sigaction(SIGINT, NULL, &now), 0);
	ck_assert_ptr_eq(now.sa_handler, on_int);
}
END_TEST

/* ---- the exec family ------------------------------------------------------ */

enum exec_kind { EXECL, EXECLP, EXECLE, EXECV, EXECVP, EXECVPE, EXECVE,
		 FEXECVE, NEXEC };

static const char *const exec_name[NEXEC] = {
	"execl", "execlp", "execle", "execv", "execvp", "execvpe", "execve",
	"fexecve",
};

/* Runs "sh -c script" through the exec call of the given kind, with envp
 * where the call takes one. */
static void exec_sh(enum exec_kind kind, const char *script,
		    char *const envp[])
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };

	switch (kind) {
	case EXECL:
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		break;
	case EXECLP:
		execlp("sh", "sh", "-c", script, (char *)NULL);
		break;
	case EXECLE:
		execle("/bin/sh", "sh", "-c", script, (char *)NULL, envp);
		break;
	case EXECV:
		execv("/bin/sh", argv);
		break;
	case EXECVP:
		execvp("sh", argv);
		break;
	case EXECVPE:
		execvpe("sh", argv, envp);
		break;
	case EXECVE:
		execve("/bin/sh", argv, envp);
		break;
	case FEXECVE: {
		int fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
		fexecve(fd, argv, envp);
		break;
	}
	default:
		break;
	}
}

static bool takes_envp(enum exec_kind kind)
{
	return kind == EXECLE || kind == EXECVPE || kind == EXECVE ||
	       kind == FEXECVE;
}

struct exec_job {
	enum exec_kind kind;
	const char *script;
	char *const *envp;
};

static void do_exec(void *p)
{
	struct exec_job *j = p;

	exec_sh(j->kind, j->script, j->envp);
}

START_TEST(each_exec_call_runs_the_program_with_its_arguments)
{
	char *envp[] = { "WEFT_TEST_VAR=from envp", NULL };
	struct exec_job j = { _i, "printf '%s|' \"$0\" \"$WEFT_TEST_VAR\"",
			      envp };
	char out[256];

	setenv("WEFT_TEST_VAR", "from environ", 1);
	int st = run_capture(do_exec, &j, out, sizeof out);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x",
		      exec_name[_i], st);
	ck_assert_str_eq(out, takes_envp(_i) ? "sh|from envp|"
					     : "sh|from environ|");
}
END_TEST

static void exec_echo(void *p)
{
	(void)p;
	execl("/bin/echo", "echo", "a", "b c", "", "d", (char *)NULL);
}

START_TEST(execl_of_echo_prints_exactly_its_arguments)
{
	char out[64];

	struct ticker t = { 0 };
	ck_assert_int_eq(weft_go(tick, &t), 0);
	int st = run_capture(exec_echo, NULL, out, sizeof out);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_str_eq(out, "a b c  d\n");
	t.stop = 1;
}
END_TEST

/* 1000 arguments: more than fit on the stack, so the list is mapped. */
static void exec_many(void *p)
{
	(void)p;
#define A10 "x", "x", "x", "x", "x", "x", "x", "x", "x", "x"
#define A100 A10, A10, A10, A10, A10, A10, A10, A10, A10, A10
	execlp("echo", "echo", A100, A100, A100, A100, A100, A100, A100, A100,
	       A100, A100, (char *)NULL);
#undef A100
#undef A10
}

START_TEST(execl_with_a_thousand_arguments_passes_them_all)
{
	static char out[4096];

	int st = run_capture(exec_many, NULL, out, sizeof out);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_uint_eq(strlen(out), 2000); /* "x " 999 times, "x\n" */
	ck_assert_int_eq(out[1998], 'x');
}
END_TEST

START_TEST(exec_errors_are_libcs)
{
	char *argv[] = { "x", NULL };

	errno = 0;
	ck_assert_int_eq(execv("/nonexistent/x", argv), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(execvp("no-such-program-weft", argv), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(execve(bad_ptr, argv, environ), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(execve("/bin/true", bad_ptr, environ), -1);
	ck_assert_int_eq(errno, EFAULT);
	ck_assert_int_eq(execl("/dev/null", "null", (char *)NULL), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(fexecve(-1, argv, environ), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* ---- WEFT_INHERIT ------------------------------------------------------------ */

#define SHOW_PRELOAD "printf %s \"${LD_PRELOAD-unset}\""

/* What the exec'd shell sees in LD_PRELOAD when this process's
 * LD_PRELOAD (and envp's) is preload, through the call of the given
 * kind. */
static void child_preload(enum exec_kind kind, const char *preload,
			  char *out, size_t cap)
{
	char var[256];
	snprintf(var, sizeof var, "LD_PRELOAD=%s", preload);
	char *envp[] = { "A=1", var, "B=2", NULL };
	struct exec_job j = { kind, SHOW_PRELOAD, envp };

	setenv("LD_PRELOAD", preload, 1);
	run_capture(do_exec, &j, out, cap);
	unsetenv("LD_PRELOAD");
}

START_TEST(inherit_0_takes_weft_out_of_LD_PRELOAD_for_each_exec)
{
	char out[256];

	setenv("WEFT_INHERIT", "0", 1);
	weft__config_read();
	ck_assert(!weft__config.inherit);
	child_preload(_i, "/nonexistent/libweft.so:libm.so.6", out,
		      sizeof out);
	ck_assert_msg(strcmp(out, "libm.so.6") == 0, "%s: %s",
		      exec_name[_i], out);
	child_preload(_i, "libm.so.6 /x/libweft.so", out, sizeof out);
	ck_assert_msg(strcmp(out, "libm.so.6") == 0, "%s: %s",
		      exec_name[_i], out);
	child_preload(_i, "/nonexistent/libweft.so", out, sizeof out);
	ck_assert_msg(strcmp(out, "unset") == 0, "%s: %s",
		      exec_name[_i], out);
}
END_TEST

START_TEST(by_default_children_keep_LD_PRELOAD)
{
	char out[256];

	ck_assert(weft__config.inherit);
	child_preload(_i, "/nonexistent/libweft.so:libm.so.6", out,
		      sizeof out);
	ck_assert_msg(strcmp(out, "/nonexistent/libweft.so:libm.so.6") == 0,
		      "%s: %s", exec_name[_i], out);
}
END_TEST

/* posix_spawn and system, with WEFT_INHERIT=0. */
START_TEST(inherit_0_applies_to_posix_spawn_and_system)
{
	char out[256];
	int p[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	char *argv[] = { "sh", "-c", SHOW_PRELOAD, NULL };
	char *envp[] = { "LD_PRELOAD=/x/libweft.so:libm.so.6", NULL };

	setenv("WEFT_INHERIT", "0", 1);
	weft__config_read();
	ck_assert_int_eq(pipe(p), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	ck_assert_int_eq(posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp),
			 0);
	close(p[1]);
	read_all(p[0], out, sizeof out);
	close(p[0]);
	reap(pid);
	ck_assert_str_eq(out, "libm.so.6");

	ck_assert_int_eq(pipe(p), 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	ck_assert_int_eq(posix_spawnp(&pid, "sh", &fa, NULL, argv, envp), 0);
	close(p[1]);
	read_all(p[0], out, sizeof out);
	close(p[0]);
	reap(pid);
	ck_assert_str_eq(out, "libm.so.6");
	posix_spawn_file_actions_destroy(&fa);

	/* system() alone still changes the environment. */
	char path[] = "/tmp/weft-sys-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "%s > %s", SHOW_PRELOAD, path);
	setenv("LD_PRELOAD", "libm.so.6:/nonexistent/libweft.so", 1);
	ck_assert_int_eq(system(cmd), 0);
	unsetenv("LD_PRELOAD");
	fd = open(path, O_RDONLY);
	read_all(fd, out, sizeof out);
	close(fd);
	unlink(path);
	ck_assert_str_eq(out, "libm.so.6");
}
END_TEST

/* ---- green threads' signal masks ------------------------------------------ */

/* The OS thread's real mask, read past any wrapper. */
static bool really_blocked(int sig)
{
	uint64_t set = 0;

	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &set, sizeof set);
	return set & (1ull << (sig - 1));
}

struct green_child {
	int fork_status, spawn_status, system_status;
	char spawn_out[64];
};

/* The children of a green thread that blocked SIGUSR1 start with it
 * blocked, as children of a real thread would; its OS thread does not. */
static void *green_makes_children(void *p)
{
	struct green_child *g = p;
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr1, NULL), 0);
	ck_assert(!really_blocked(SIGUSR1)); /* bookkeeping only */
	pid_t pid = fork();
	if (pid == 0)
		_exit(really_blocked(SIGUSR1) ? 0 : 1);
	g->fork_status = reap(pid);
	ck_assert(!really_blocked(SIGUSR1));

	/* A shell that exits 0 if SIGUSR1 (bit 9 of SigBlk) is blocked. */
	static const char check[] =
		"m=$(sed -n 's/^SigBlk:[[:space:]]*//p' /proc/self/status);"
		" [ $(( 0x$m & 0x200 )) -ne 0 ]";
	char *argv[] = { "sh", "-c", (char *)check, NULL };
	ck_assert_int_eq(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv,
				     environ), 0);
	g->spawn_status = reap(pid);
	g->system_status = system(check);
	ck_assert(!really_blocked(SIGUSR1));
	return NULL;
}

START_TEST(children_of_a_green_thread_start_with_its_signal_mask)
{
	struct green_child g = { 0 };
	struct ticker t = { 0 };
	pthread_t th;

	weft__green_set(true);
	ck_assert_int_eq(weft_go(tick, &t), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, green_makes_children, &g),
			 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	t.stop = 1;
	ck_assert_msg(g.fork_status == 0, "fork child: %#x", g.fork_status);
	ck_assert_msg(g.spawn_status == 0, "spawned: %#x", g.spawn_status);
	ck_assert_msg(g.system_status == 0, "system: %#x", g.system_status);
	weft__green_set(false);
}
END_TEST

/* ---- differential ------------------------------------------------------------- */

struct rec {
	size_t n;
	long v[128];
};

static void put(struct rec *r, long v)
{
	if (r->n < sizeof r->v / sizeof r->v[0])
		r->v[r->n++] = v;
}

/* A call's result and errno (0 when it succeeded). */
static void put_call(struct rec *r, long ret, bool failed)
{
	put(r, ret);
	put(r, failed ? errno : 0);
}

/* Every process call, in ways that succeed and ways that fail. */
static void process_sequence(struct rec *r)
{
	char *argv[] = { "sh", "-c", "exit 6", NULL };
	char *none[] = { "x", NULL };
	pid_t pid;
	int st, rc;

	rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
	put(r, rc);
	st = -1;
	put_call(r, waitpid(pid, &st, 0) == pid, false);
	put(r, st);
	rc = posix_spawnp(&pid, "no-such-program-weft", NULL, NULL, none,
			  environ);
	put(r, rc);
	put(r, system("exit 3"));
	put(r, system("kill -KILL $$"));
	put(r, system(NULL));
	put(r, system("no-such-command-weft 2>/dev/null"));
	errno = 0;
	rc = execl("/nonexistent/x", "x", (char *)NULL);
	put_call(r, rc, rc < 0);
	rc = execlp("no-such-program-weft", "x", (char *)NULL);
	put_call(r, rc, rc < 0);
	rc = execve(bad_ptr, none, environ);
	put_call(r, rc, rc < 0);
	rc = execle("/dev/null", "x", (char *)NULL, environ);
	put_call(r, rc, rc < 0);
	pid = fork();
	if (pid == 0)
		_exit(9);
	st = -1;
	put_call(r, waitpid(pid, &st, 0) == pid, false);
	put(r, st);
	pid = vfork();
	if (pid == 0)
		_exit(10);
	st = -1;
	put_call(r, waitpid(pid, &st, 0) == pid, false);
	put(r, st);
}

/* Runs seq in a fork child, plain (no weft call at all) or with a second
 * coroutine alive so the parking paths are taken, and returns its record.
 * The child exits 2 if, with weft, the other coroutine never ran. */
static void run_child(void (*seq)(struct rec *), bool with_weft,
		      struct rec *out)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static struct rec r;
		static struct ticker t;
		close(p[0]);
		if (with_weft)
			weft_go(tick, &t);
		seq(&r);
		t.stop = 1;
		if (weft__libc()->write(p[1], &r, sizeof r) != (ssize_t)sizeof r)
			_exit(3);
		_exit(with_weft && t.ticks == 0 ? 2 : 0);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof *out &&
	       (n = read(p[0], (char *)out + got, sizeof *out - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	int st = reap(pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	ck_assert_uint_eq(got, sizeof *out);
}

START_TEST(process_calls_give_what_libc_gives)
{
	static struct rec plain, woven;

	run_child(process_sequence, false, &plain);
	run_child(process_sequence, true, &woven);
	ck_assert_uint_gt(plain.n, 20);
	ck_assert_uint_eq(plain.n, woven.n);
	for (size_t i = 0; i < plain.n; i++)
		ck_assert_msg(plain.v[i] == woven.v[i],
			      "record %zu: libc %ld, weft %ld", i,
			      plain.v[i], woven.v[i]);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_process(void)
{
	Suite *s = suite_create("process");
	TCase *tc;

	tc = tcase_create("fork");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		fork_from_a_coroutine_leaves_the_child_only_that_coroutine);
	tcase_add_test(tc, fork_from_the_root_leaves_the_child_only_the_root);
	tcase_add_test(tc, fork_child_keeps_the_coroutines_keys_and_name);
	tcase_add_test(tc, fork_outside_a_coroutine_passes_through);
	tcase_add_test(tc,
		vfork_is_fork_and_leaves_the_parents_scheduler_alone);
	suite_add_tcase(s, tc);

	tc = tcase_create("shared_fds");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		fork_child_sees_a_listener_blocking_and_the_parent_accepts);
	tcase_add_test(tc, fork_keeps_O_NONBLOCK_the_program_set_itself);
	tcase_add_test(tc,
		spawn_clears_weft_nonblock_only_on_fds_the_child_gets);
	tcase_add_test(tc, spawn_with_file_actions_treats_every_fd_as_shared);
	tcase_add_test(tc,
		failed_exec_clears_weft_nonblock_on_surviving_fds_only);
	tcase_add_test(tc, exec_image_sees_the_programs_own_flags);
	tcase_add_test(tc, wefts_own_fds_are_close_on_exec);
	suite_add_tcase(s, tc);

	tc = tcase_create("spawn");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, posix_spawn_of_true_is_reaped_with_status_0);
	tcase_add_test(tc,
		posix_spawn_of_a_missing_program_fails_as_libc_does);
	suite_add_tcase(s, tc);

	tc = tcase_create("system");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		system_parks_while_the_shell_runs_and_returns_its_status);
	tcase_add_test(tc, system_reports_a_shell_killed_by_a_signal);
	tcase_add_test(tc, system_NULL_says_a_shell_is_there);
	tcase_add_test(tc, system_outside_a_coroutine_passes_through);
	tcase_add_test(tc,
		system_ignores_SIGINT_and_blocks_SIGCHLD_while_waiting);
	tcase_add_test(tc,
		concurrent_system_calls_restore_the_mask_and_handlers);
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
		each_exec_call_runs_the_program_with_its_arguments, 0, NEXEC);
	tcase_add_test(tc, execl_of_echo_prints_exactly_its_arguments);
	tcase_add_test(tc, execl_with_a_thousand_arguments_passes_them_all);
	tcase_add_test(tc, exec_errors_are_libcs);
	suite_add_tcase(s, tc);

	tc = tcase_create("inherit");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
		inherit_0_takes_weft_out_of_LD_PRELOAD_for_each_exec, 0,
		NEXEC);
	tcase_add_loop_test(tc, by_default_children_keep_LD_PRELOAD, 0, NEXEC);
	tcase_add_test(tc, inherit_0_applies_to_posix_spawn_and_system);
	suite_add_tcase(s, tc);

	tc = tcase_create("green");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		children_of_a_green_thread_start_with_its_signal_mask);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, process_calls_give_what_libc_gives);
	suite_add_tcase(s, tc);
	return s;
}
