/* test_config.c - the WEFT_* variables read at start (preload/entry.c),
 * the statistics at exit and the coroutine dump (preload/stats.c): a
 * value weft cannot understand gets one line on stderr and the default,
 * never a crash, and nothing weft says ever goes to stdout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "real.h"
#include "weft.h"
#include "../hook/green.h"
#include "../preload/preload.h"
#include "../preload/stats.h"
#include "testlib.h"

static const char *const all_vars[] = {
	"WEFT_OFF", "WEFT_THREADS", "WEFT_STACK_SIZE", "WEFT_STATS",
	"WEFT_DEBUG", "WEFT_DUMP_SIGNAL", "WEFT_INHERIT",
	"WEFT_OFFLOAD_THREADS", "LD_PRELOAD",
};

/* Every test starts from an environment without WEFT_* variables. */
static void clean_env(void)
{
	for (size_t i = 0; i < sizeof all_vars / sizeof all_vars[0]; i++)
		unsetenv(all_vars[i]);
}

/* ---- capturing stderr and stdout ------------------------------------ */

struct capture {
	int fd;          /* 1 or 2 */
	int saved;       /* the fd it was, to put back */
	int pipe_r;
};

static void capture_begin(struct capture *c, int fd)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	/* Enough room that weft's lines never block the writer. */
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	c->fd = fd;
	c->saved = dup(fd);
	c->pipe_r = p[0];
	ck_assert_int_eq(dup2(p[1], fd), fd);
	close(p[1]);
}

/* Puts the fd back and returns what was written to it (static buffer
 * per fd kind: one for stdout, one for stderr). */
static const char *capture_end(struct capture *c)
{
	static char out[2][65536];
	char *buf = out[c->fd == 1];
	size_t got = 0;
	ssize_t n;

	ck_assert_int_eq(dup2(c->saved, c->fd), c->fd);
	close(c->saved);
	while (got + 1 < sizeof out[0] &&
	       (n = read(c->pipe_r, buf + got, sizeof out[0] - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(c->pipe_r);
	return buf;
}

/* Reads the configuration again with stderr and stdout captured; *err
 * gets what went to stderr.  Nothing may go to stdout. */
static void read_config(const char **err)
{
	struct capture e, o;

	capture_begin(&o, 1);
	capture_begin(&e, 2);
	weft__config_read();
	*err = capture_end(&e);
	ck_assert_str_eq(capture_end(&o), "");
}

/* ---- parsers ------------------------------------------------------------ */

START_TEST(no_variables_means_the_defaults_and_silence)
{
	const char *err;

	clean_env();
	read_config(&err);
	ck_assert_str_eq(err, "");
	ck_assert(!weft__off);
	ck_assert(!weft__config.preloaded);
	ck_assert(!weft__config.green);
	ck_assert(!weft__config.stats);
	ck_assert(!weft__config.debug);
	ck_assert(weft__config.inherit);
	ck_assert_int_eq(weft__config.dump_signal, 0);
}
END_TEST

/* Each garbage value: one line naming the variable, and the default. */
static const struct {
	const char *var, *value;
} garbage[] = {
	{ "WEFT_OFF", "yes" },
	{ "WEFT_THREADS", "fibers" },
	{ "WEFT_STATS", "on" },
	{ "WEFT_DEBUG", "2" },
	{ "WEFT_INHERIT", "no" },
	{ "WEFT_DUMP_SIGNAL", "SIGNOTHING" },
	{ "WEFT_DUMP_SIGNAL", "KILL" },
	{ "WEFT_DUMP_SIGNAL", "SEGV" },
	{ "WEFT_DUMP_SIGNAL", "99999" },
	{ "WEFT_DUMP_SIGNAL", "RTMIN+999" },
};
#define NGARBAGE (int)(sizeof garbage / sizeof garbage[0])

START_TEST(garbage_gives_one_line_on_stderr_and_the_default)
{
	const char *err;
	char want[128];

	clean_env();
	setenv(garbage[_i].var, garbage[_i].value, 1);
	read_config(&err);
	snprintf(want, sizeof want, "weft: ignoring %s=%s: ", garbage[_i].var,
		 garbage[_i].value);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
		      "%s=%s: stderr was \"%s\"", garbage[_i].var,
		      garbage[_i].value, err);
	ck_assert_int_eq(tl_count_lines(err), 1);
	ck_assert(!weft__off);
	ck_assert(!weft__config.green);
	ck_assert(!weft__config.stats);
	ck_assert(!weft__config.debug);
	ck_assert(weft__config.inherit);
	ck_assert_int_eq(weft__config.dump_signal, 0);
}
END_TEST

START_TEST(stack_size_garbage_gives_one_line_and_the_default)
{
	static const char *const bad[] = { "lots", "-1", "1T", "12Q", "1K",
					   "99999999G", "" };
	struct capture e;

	clean_env();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("WEFT_STACK_SIZE", bad[i], 1);
		capture_begin(&e, 2);
		size_t got = weft__env_size("WEFT_STACK_SIZE", 256 << 10,
					    16 << 10, (size_t)1 << 32);
		const char *err = capture_end(&e);
		ck_assert_uint_eq(got, 256 << 10);
		ck_assert_int_eq(tl_count_lines(err), *bad[i] ? 1 : 0);
	}
	setenv("WEFT_STACK_SIZE", "1M", 1);
	ck_assert_uint_eq(weft__env_size("WEFT_STACK_SIZE", 256 << 10,
					 16 << 10, (size_t)1 << 32), 1 << 20);
}
END_TEST

START_TEST(threads_default_to_green_when_preloaded_only)
{
	const char *err;

	clean_env();
	setenv("LD_PRELOAD", "libfoo.so /opt/weft/lib/libweft.so", 1);
	read_config(&err);
	ck_assert(weft__config.preloaded);
	ck_assert(weft__config.green);
	ck_assert(weft__green);
	setenv("WEFT_THREADS", "native", 1);
	read_config(&err);
	ck_assert(!weft__config.green);
	ck_assert(!weft__green);
	setenv("WEFT_THREADS", "fibers", 1);
	read_config(&err);
	ck_assert_int_eq(tl_count_lines(err), 1);
	ck_assert(weft__config.green); /* the default when preloaded */
	/* WEFT_OFF keeps every wrapper out of the way, pthreads too. */
	unsetenv("WEFT_THREADS");
	setenv("WEFT_OFF", "1", 1);
	read_config(&err);
	ck_assert(!weft__green);
	clean_env();
	setenv("LD_PRELOAD", "/usr/lib/libweft.so.0", 1);
	setenv("WEFT_THREADS", "GREEN", 1);
	read_config(&err);
	ck_assert_str_eq(err, "");
	ck_assert(weft__config.green);
	weft__green_set(false);
}
END_TEST

START_TEST(preload_detection_looks_at_file_names)
{
	ck_assert(weft__preload_has_weft("/a/b/libweft.so"));
	ck_assert(weft__preload_has_weft("x.so:libweft.so"));
	ck_assert(weft__preload_has_weft("x.so  libweft.so.0 y.so"));
	ck_assert(!weft__preload_has_weft("/libweft/x.so"));
	ck_assert(!weft__preload_has_weft("mylibweft.so"));
	ck_assert(!weft__preload_has_weft(""));
	ck_assert(!weft__preload_has_weft(NULL));
}
END_TEST

START_TEST(dump_signal_takes_names_and_numbers)
{
	static const struct {
		const char *v;
		int sig;
	} ok[] = {
		{ "USR2", SIGUSR2 }, { "SIGUSR1", SIGUSR1 }, { "usr2", SIGUSR2 },
		{ "12", 12 }, { "RTMIN+1", 0 }, { "SIGRTMAX-2", 0 },
	};
	const char *err;
	struct sigaction sa;

	clean_env();
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int want = ok[i].sig;
		if (strstr(ok[i].v, "RTMIN"))
			want = SIGRTMIN + 1;
		else if (strstr(ok[i].v, "RTMAX"))
			want = SIGRTMAX - 2;
		setenv("WEFT_DUMP_SIGNAL", ok[i].v, 1);
		read_config(&err);
		ck_assert_msg(strcmp(err, "") == 0, "%s: %s", ok[i].v, err);
		ck_assert_int_eq(weft__config.dump_signal, want);
		ck_assert_int_eq(sigaction(want, NULL, &sa), 0);
		ck_assert(sa.sa_handler != SIG_DFL);
		ck_assert(sa.sa_flags & SA_RESTART);
	}
}
END_TEST

START_TEST(debug_says_what_weft_understood_on_stderr)
{
	const char *err;

	clean_env();
	setenv("WEFT_DEBUG", "1", 1);
	setenv("WEFT_DUMP_SIGNAL", "USR2", 1);
	read_config(&err);
	ck_assert_int_eq(tl_count_lines(err), 1);
	ck_assert_msg(strstr(err, "linked, native threads") &&
		      strstr(err, "dump signal USR2") &&
		      strstr(err, "inherit on"), "%s", err);
	ck_assert(weft__config.debug);
}
END_TEST

/* ---- WEFT_OFF ----------------------------------------------------------- */

static void set_flag(void *p)
{
	*(volatile bool *)p = true;
}

START_TEST(off_makes_every_wrapper_pass_through)
{
	const char *err;
	bool ran = false;

	clean_env();
	setenv("WEFT_OFF", "1", 1);
	read_config(&err);
	ck_assert(weft__off);
	ck_assert_int_eq(weft_go(set_flag, &ran), 0);
	ck_assert_ptr_nonnull(weft__running);
	ck_assert_ptr_null(weft__hooked());
	weft_yield();
	ck_assert(ran);
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
}

START_TEST(off_makes_a_read_block_the_thread_for_real)
{
	clean_env();
	pid_t pid = fork();

	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { .it_value = { 0, 50000 } };
		volatile bool ran = false;
		char c;
		int p[2];
		setenv("WEFT_OFF", "1", 1);
		weft__config_read();
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART */
		if (pipe(p) < 0 || weft_go(set_flag, (void *)&ran) < 0)
			_exit(10);
		setitimer(ITIMER_REAL, &it, NULL);
		/* With weft on, set_flag would run while this waits. */
		ssize_t n = read(p[0], &c, 1);
		_exit(n == -1 && errno == EINTR && !ran ? 0 : 11);
	}
	int st;
	ck_assert_int_eq(weft__libc()->waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}
END_TEST

/* ---- statistics ---------------------------------------------------------- */

static void sleeper(void *p)
{
	(void)p;
	weft_sleep(2 * MS);
}

START_TEST(stats_at_exit_go_to_stderr_in_one_piece)
{
	int out[2], err[2];
	char o[256], e[4096];

	clean_env();
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(pipe(err), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		setenv("WEFT_STATS", "1", 1);
		weft__config_read();
		for (int i = 0; i < 3; i++)
			weft_go(sleeper, NULL);
		weft_sleep(10 * MS);
		exit(0); /* the report is written by a destructor */
	}
	close(out[1]);
	close(err[1]);
	ssize_t no = read(out[0], o, sizeof o - 1);
	size_t ne = 0;
	ssize_t n;
	while ((n = read(err[0], e + ne, sizeof e - 1 - ne)) > 0)
		ne += (size_t)n;
	e[ne] = '\0';
	int st;
	ck_assert_int_eq(weft__libc()->waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(no, 0);
	ck_assert_msg(strncmp(e, "weft: statistics of pid ", 24) == 0, "%s", e);
	ck_assert_msg(strstr(e, "coroutines created") &&
		      strstr(e, "peak live coroutines") &&
		      strstr(e, "context switches") &&
		      strstr(e, "schedulers") &&
		      strstr(e, "sleep"), "%s", e);
	/* Every line is weft's. */
	for (const char *l = e; *l; l = strchr(l, '\n') + 1)
		ck_assert_msg(strncmp(l, "weft: ", 6) == 0, "line: %s", l);
}
END_TEST

/* ---- the dump ------------------------------------------------------------- */

static void named_reader(void *p)
{
	char c;

	weft_set_name("reader");
	read(*(int *)p, &c, 1);
}

static void named_sleeper(void *p)
{
	(void)p;
	weft_set_name("sleeper");
	weft_sleep(5000 * MS);
}

/* Starts a reader parked on a pipe and a sleeper; returns the pipe's
 * read end through *fd. */
static void start_parked(int p[2])
{
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(weft_go(named_reader, &p[0]), 0);
	ck_assert_int_eq(weft_go(named_sleeper, NULL), 0);
	weft_yield();
}

static void check_dump(const char *out, int fd)
{
	char want[64];

	ck_assert_msg(strncmp(out, "weft: coroutines of pid ", 24) == 0,
		      "%s", out);
	ck_assert_msg(strstr(out, "#1 (root) running"), "%s", out);
	snprintf(want, sizeof want, "\"reader\" parked in read, fd %d\n", fd);
	ck_assert_msg(strstr(out, want), "no <%s> in:\n%s", want, out);
	ck_assert_msg(strstr(out, "\"sleeper\" parked in sleep, deadline in"),
		      "%s", out);
	ck_assert_int_eq(tl_count_lines(out), 4);
}

START_TEST(dump_lists_every_coroutine_and_what_it_waits_for)
{
	struct capture e, o;
	int p[2];

	clean_env();
	start_parked(p);
	capture_begin(&o, 1);
	capture_begin(&e, 2);
	weft_dump();
	const char *err = capture_end(&e);
	ck_assert_str_eq(capture_end(&o), "");
	check_dump(err, p[0]);
}
END_TEST

START_TEST(dump_signal_dumps_without_disturbing_the_program)
{
	const char *err;
	struct capture e;
	int p[2];

	clean_env();
	setenv("WEFT_DUMP_SIGNAL", "USR2", 1);
	read_config(&err);
	start_parked(p);
	capture_begin(&e, 2);
	raise(SIGUSR2);
	err = capture_end(&e);
	check_dump(err, p[0]);
}
END_TEST

/* ---- under LD_PRELOAD ------------------------------------------------------ */

/* build/libweft.so, found from the test runner's own path. */
static const char *libweft(void)
{
	static char path[PATH_MAX + 16];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	struct stat st;

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(path, sizeof path, "%s/../libweft.so", exe);
	ck_assert_msg(stat(path, &st) == 0, "%s is missing: run make", path);
	return path;
}

/* Runs "sh -c script" with LD_PRELOAD=preload (or none) and the extra
 * environment entries; out and err get what it wrote; returns its status. */
static int run_sh(const char *preload, char *const extra[],
		  const char *script, char out[256], char err[8192])
{
	size_t caps[2] = { 256, 8192 };
	int po[2], pe[2];

	ck_assert_int_eq(pipe(po), 0);
	ck_assert_int_eq(pipe(pe), 0);
	pid_t pid = fork();
	if (pid == 0) {
		clean_env();
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		for (int i = 0; extra && extra[i]; i++)
			putenv(extra[i]);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(126);
	}
	close(po[1]);
	close(pe[1]);
	int fds[2] = { po[0], pe[0] };
	char *bufs[2] = { out, err };
	for (int i = 0; i < 2; i++) {
		size_t got = 0;
		ssize_t n;
		while (got + 1 < caps[i] &&
		       (n = read(fds[i], bufs[i] + got,
				 caps[i] - 1 - got)) > 0)
			got += (size_t)n;
		bufs[i][got] = '\0';
		close(fds[i]);
	}
	int st;
	ck_assert_int_eq(weft__libc()->waitpid(pid, &st, 0), pid);
	return st;
}

#define SCRIPT "echo out; echo err >&2; cat /dev/null; exit 3"

START_TEST(preloaded_weft_changes_nothing_a_program_prints_or_returns)
{
	char out1[256], err1[8192], out2[256], err2[8192];

	int st1 = run_sh(NULL, NULL, SCRIPT, out1, err1);
	int st2 = run_sh(libweft(), NULL, SCRIPT, out2, err2);
	ck_assert_int_eq(st1, st2);
	ck_assert_int_eq(WEXITSTATUS(st2), 3);
	ck_assert_str_eq(out1, out2);
	ck_assert_str_eq(err1, err2);
}
END_TEST

START_TEST(preloaded_weft_reports_bad_values_on_stderr_only)
{
	char out[256], err[8192];
	char *extra[] = { "WEFT_STACK_SIZE=huge", "WEFT_STATS=maybe", NULL };

	int st = run_sh(libweft(), extra, SCRIPT, out, err);
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	ck_assert_str_eq(out, "out\n");
	ck_assert_msg(strstr(err, "weft: ignoring WEFT_STACK_SIZE=huge: ") &&
		      strstr(err, "weft: ignoring WEFT_STATS=maybe: "),
		      "%s", err);
	/* Each child under weft says it once: sh, then cat. */
	ck_assert_int_eq(tl_count_lines(err), 5);
}
END_TEST

START_TEST(preloaded_weft_with_stats_and_debug_keeps_stdout_clean)
{
	char out[256], err[8192];
	char *extra[] = { "WEFT_STATS=1", "WEFT_DEBUG=1", NULL };

	int st = run_sh(libweft(), extra, SCRIPT, out, err);
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	ck_assert_str_eq(out, "out\n");
	ck_assert_msg(strstr(err, "preloaded, green threads"), "%s", err);
	ck_assert_msg(strstr(err, "weft: statistics of pid "), "%s", err);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, no_variables_means_the_defaults_and_silence);
	tcase_add_loop_test(tc,
		garbage_gives_one_line_on_stderr_and_the_default, 0, NGARBAGE);
	tcase_add_test(tc, stack_size_garbage_gives_one_line_and_the_default);
	tcase_add_test(tc, threads_default_to_green_when_preloaded_only);
	tcase_add_test(tc, preload_detection_looks_at_file_names);
	tcase_add_test(tc, dump_signal_takes_names_and_numbers);
	tcase_add_test(tc, debug_says_what_weft_understood_on_stderr);
	suite_add_tcase(s, tc);

	tc = tcase_create("off");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, off_makes_every_wrapper_pass_through);
	tcase_add_test(tc, off_makes_a_read_block_the_thread_for_real);
	suite_add_tcase(s, tc);

	tc = tcase_create("diagnostics");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, stats_at_exit_go_to_stderr_in_one_piece);
	tcase_add_test(tc, dump_lists_every_coroutine_and_what_it_waits_for);
	tcase_add_test(tc, dump_signal_dumps_without_disturbing_the_program);
	suite_add_tcase(s, tc);

	tc = tcase_create("preloaded");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		preloaded_weft_changes_nothing_a_program_prints_or_returns);
	tcase_add_test(tc, preloaded_weft_reports_bad_values_on_stderr_only);
	tcase_add_test(tc,
		preloaded_weft_with_stats_and_debug_keeps_stdout_clean);
	suite_add_tcase(s, tc);
	return s;
}
