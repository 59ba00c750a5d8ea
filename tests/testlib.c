/* testlib.c - helpers the Check suites share; contracts in testlib.h. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "green.h"
#include "real.h"
#include "tcb.h"
#include "testlib.h"

/* ---- time and order ----------------------------------------------------- */

int64_t tl_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static atomic_int step;

int tl_next_step(void)
{
	return atomic_fetch_add(&step, 1) + 1;
}

void tl_nap_ns(bool thread, int64_t ns)
{
	if (ns <= 0)
		return;
	if (thread) {
		struct timespec ts = { ns / SEC, ns % SEC };
		nanosleep(&ts, NULL);
	} else {
		weft_sleep(ns);
	}
}

void tl_raw_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (syscall(SYS_nanosleep, &ts, &ts) < 0 && errno == EINTR)
		;
}

void tl_note_run(void *arg)
{
	*(int *)arg = tl_next_step();
}

/* ---- runners ------------------------------------------------------------ */

int tl_runner_start(struct tl_runner *r, void *(*main)(void *), void *arg,
		    bool thread)
{
	r->thread = thread;
	if (thread)
		return pthread_create(&r->tid, NULL, main, arg) ? -1 : 0;
	r->co = weft_spawn(main, arg, 0);
	return r->co ? 0 : -1;
}

void tl_runner_join(struct tl_runner *r)
{
	if (r->thread)
		pthread_join(r->tid, NULL);
	else
		weft_join(r->co, NULL);
}

pthread_t tl_pthread(void *(*fn)(void *), void *arg,
		     const pthread_attr_t *attr)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, attr, fn, arg), 0);
	return t;
}

void *tl_pthread_join(pthread_t t)
{
	void *r = (void *)-1;

	ck_assert_int_eq(pthread_join(t, &r), 0);
	return r;
}

/* ---- tickers ------------------------------------------------------------ */

void tl_tick(void *ticker)
{
	struct tl_ticker *t = ticker;

	if (RUNNING_ON_VALGRIND && !t->stop)
		t->ticks++;
	while (!t->stop) {
		weft_sleep(MS);
		t->ticks++;
	}
}

void tl_tick_first(void *ticker)
{
	struct tl_ticker *t = ticker;

	while (!t->stop) {
		t->ticks++;
		weft_sleep(MS);
	}
}

static void *tick_joinable(void *ticker)
{
	tl_tick(ticker);
	return NULL;
}

void tl_ticker_start(struct tl_ticker *t)
{
	t->co = NULL;
	atomic_init(&t->stop, false);
	atomic_init(&t->ticks, 0);
	t->co = weft_spawn(tick_joinable, t, 0);
	ck_assert_ptr_nonnull(t->co);
}

int tl_ticker_stop(struct tl_ticker *t)
{
	t->stop = true;
	weft_join(t->co, NULL);
	return t->ticks;
}

/* ---- signals ------------------------------------------------------------ */

volatile sig_atomic_t tl_handled;

void tl_on_signal(int sig)
{
	tl_handled++;
}

void tl_catch(int sig, tl_sighandler fn, int flags)
{
	struct sigaction sa = { .sa_flags = flags };

	if (flags & SA_SIGINFO)
		sa.sa_sigaction = fn.action;
	else
		sa.sa_handler = fn.handler;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(sig, &sa, NULL), 0);
}

void tl_catch_signal(int sig)
{
	tl_catch(sig, tl_on_signal, 0);
}

void tl_mask(int how, int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	ck_assert_int_eq(pthread_sigmask(how, &set, NULL), 0);
}

void tl_block_signal(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
}

void tl_kill_until(pthread_t t, int sig, _Atomic bool *started,
		   _Atomic bool *done, int handled)
{
	while (started != NULL && !atomic_load(started))
		usleep(1000);
	if (handled > 0)
		tl_handled = 0;
	for (int i = 0; i < 2000 && !atomic_load(done) &&
			(handled <= 0 || tl_handled < handled); i++) {
		ck_assert_int_eq(pthread_kill(t, sig), 0);
		usleep(5000);
	}
}

void tl_alarm_in(int ms)
{
	struct itimerval it = { .it_value = { ms / 1000, ms % 1000 * 1000 } };

	tl_catch_signal(SIGALRM);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* See testlib.h. */
void tl_threads_mode(int green)
{
	if (green) {
		weft__green_set(true);
		ck_assert_int_eq(weft_cpus(2), 2);
	}
}

/* See testlib.h. */
bool tl_cancel_mode(int green)
{
#ifdef __SANITIZE_ADDRESS__
	if (!green)
		return false;
#endif
	if (green)
		weft__tcb_init(false);
	tl_threads_mode(green);
	return true;
}

/* See testlib.h. */
bool tl_unwinds(int green)
{
	return !green || weft__tcb_on;
}

/* See testlib.h. */
int tl_listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(s, 4), 0);
	return s;
}

/* ---- files and sockets -------------------------------------------------- */

void tl_make_pipe(int p[2])
{
	ck_assert_int_eq(pipe(p), 0);
}

void tl_make_full_socket(int s[2])
{
	static char buf[4096];
	int fl;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	fl = fcntl(s[0], F_GETFL);
	ck_assert_int_eq(fcntl(s[0], F_SETFL, fl | O_NONBLOCK), 0);
	while (send(s[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	ck_assert_int_eq(fcntl(s[0], F_SETFL, fl), 0);
}

int tl_set_nonblocking(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

#ifdef __SANITIZE_THREAD__
#include <dlfcn.h>

/* True if thread tid is ThreadSanitizer's background thread, which its
 * runtime starts in every fork child: it sleeps in a system call made from
 * the runtime's own code (libtsan), where no thread of the program waits.
 * A thread caught running is looked at again. */
static bool tsan_thread(const char *tid)
{
	char path[64], text[256];

	snprintf(path, sizeof path, "/proc/self/task/%s/syscall", tid);
	for (int tries = 0; tries < 100; tries++) {
		FILE *f = fopen(path, "r");
		if (f == NULL)
			return false;
		char *got = fgets(text, sizeof text, f);
		fclose(f);
		if (got == NULL)
			return false;
		if (strncmp(text, "running", 7) == 0) {
			tl_raw_sleep_ms(1);
			continue;
		}
		char *pc = strrchr(text, ' ');
		Dl_info info;
		if (pc == NULL ||
		    !dladdr((void *)strtoul(pc + 1, NULL, 16), &info) ||
		    info.dli_fname == NULL)
			return false;
		return strstr(info.dli_fname, "libtsan") != NULL;
	}
	return false;
}
#else
static bool tsan_thread(const char *tid)
{
	(void)tid;
	return false;
}
#endif

/* The OS threads in /proc/self/task, or -1. */
static int task_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.' && !tsan_thread(e->d_name);
	closedir(d);
	return n;
}

/* Threads that are none of the program's: an emulator's (qemu-user runs
 * one of its own, in fork children too), counted as the process starts,
 * while the program has only its main thread. */
static int foreign;

static __attribute__((constructor)) void count_foreign(void)
{
	int n = task_count();

	foreign = n > 1 ? n - 1 : 0;
}

int tl_thread_count(void)
{
	int n = task_count();

	/* No ck_assert on the way that passes: each takes Check's lock,
	 * which another thread may have held when a fork child that calls
	 * this was made. */
	if (n < 1)
		ck_abort_msg("cannot count this process's threads");
	return n - foreign;
}

int tl_count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- valgrind ----------------------------------------------------------- */

bool tl_valgrind_cannot(const char *test, const char *why)
{
	size_t n = strlen(test);

	if (!RUNNING_ON_VALGRIND)
		return false;
	if (n > 3 && strcmp(test + n - 3, "_fn") == 0)
		n -= 3; /* Check's START_TEST names the function NAME_fn */
	fprintf(stderr, "%.*s: left out under valgrind: %s\n", (int)n, test,
		why);
	return true;
}

/* ---- traces ------------------------------------------------------------- */

void tl_trace_add(struct tl_trace *t, int x)
{
	if (t->n < (int)(sizeof t->v / sizeof t->v[0]))
		t->v[t->n] = x;
	t->n++;
}

/* ---- forked children ---------------------------------------------------- */

int tl_run_in_child(int (*fn)(void *), void *arg, char *out, size_t outlen)
{
	int p[2], status = -1;
	size_t len = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		close(p[1]);
		exit(fn(arg));
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], out + len, outlen - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == outlen - 1)
			break;
	}
	out[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

pid_t tl_fork_ready(int (*fn)(void *arg, int ready), void *arg)
{
	int p[2];
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		weft__sched_forget();
		close(p[0]);
		_exit(fn(arg, p[1]));
	}
	close(p[1]);
	ck_assert_int_eq(weft__libc()->read(p[0], &c, 1), 0);
	close(p[0]);
	return pid;
}

void tl_reaped_ok(pid_t pid)
{
	int st;

	ck_assert_int_eq(weft__libc()->waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}

/* ---- differential runs -------------------------------------------------- */

void tl_run_script(tl_script_fn *script, int arg, bool weft, void *out,
		   size_t size)
{
	void *shared = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;

	ck_assert_ptr_ne(shared, MAP_FAILED);
	memset(shared, 0, size);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		script(shared, arg, weft);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the %s run ended with status %#x",
		      weft ? "weft" : "plain", status);
	memcpy(out, shared, size);
	munmap(shared, size);
}

void tl_note_at(struct tl_rec *r, int cap, int *n, int line, long ret,
		int err, const void *data)
{
	if (*n >= cap)
		return;
	r += (*n)++;
	memset(r, 0, sizeof *r);
	r->line = line;
	r->ret = ret;
	r->err = ret < 0 ? err : 0;
	if (data && ret > 0)
		memcpy(r->data, data, ret < TL_UNIT ? (size_t)ret : TL_UNIT);
}

void tl_compare_recs(const char *what, const struct tl_rec *plain,
		     int plain_n, const struct tl_rec *woven, int woven_n)
{
	ck_assert_int_gt(plain_n, 0);
	for (int i = 0; i < plain_n || i < woven_n; i++) {
		const struct tl_rec *p = &plain[i], *w = &woven[i];
		ck_assert_msg(memcmp(p, w, sizeof *p) == 0,
			      "%s: step %d (line %d/%d): libc gave %ld "
			      "(errno %d, \"%.8s\"), weft %ld (errno %d, "
			      "\"%.8s\")", what, i, p->line, w->line, p->ret,
			      p->err, p->data, w->ret, w->err, w->data);
	}
	ck_assert_int_eq(plain_n, woven_n);
}

#ifdef __SANITIZE_THREAD__
void __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out,
			      size_t size);

/* ThreadSanitizer's symbolizer reads the executable the first time it
 * names a frame, and its close of that file is this program's close,
 * weft's wrapper, which takes weft's locks: inside a race report that
 * hangs the runtime.  Naming one frame at start does the reading while
 * nothing is locked, so reports (and suppressions, which need names)
 * work later. */
__attribute__((constructor)) static void tsan_symbolizer_ready(void)
{
	char name[128];

	__sanitizer_symbolize_pc(__builtin_return_address(0), "%f", name,
				 sizeof name);
}
#endif
