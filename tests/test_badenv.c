/* test_badenv.c - garbage in the WEFT_* variables of a preloaded program.
 *
 * Every variable weft reads (core/config.c's parsers, preload/entry.c,
 * core/stack.c, core/offload.c), each given the same list of bad values,
 * in a program run with LD_PRELOAD=libweft.so: samples/sleepers, whose
 * coroutines need stacks and a scheduler.  It must exit 0 with its usual
 * output, and weft must say exactly one line on stderr naming the
 * variable and what it uses instead.  An empty value means unset: no
 * line (as tests/test_config.c has it).
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

/* Each variable, and the words of its line that say what weft uses. */
static const struct {
	const char *name, *instead;
	bool flag; /* "0" is a good value */
} vars[] = {
	{ "WEFT_OFF", "want 0 or 1; taking 0", true },
	{ "WEFT_THREADS", "using green", false },
	{ "WEFT_STACK_SIZE", "using the default, 256K", false },
	{ "WEFT_STATS", "want 0 or 1; taking 0", true },
	{ "WEFT_DEBUG", "want 0 or 1; taking 0", true },
	{ "WEFT_DUMP_SIGNAL", "dumps stay off", false },
	{ "WEFT_INHERIT", "want 0 or 1; taking 1", true },
	{ "WEFT_OFFLOAD_THREADS", "using 4", false },
};
#define NVARS (int)(sizeof vars / sizeof vars[0])

static char long_value[5001];

static const char *const values[] = {
	"", "abc", "-1", "0", "1e9", "99999999999999999999999", "12abc",
	" 7", long_value, "0x10", "1\n2",
};
#define NVALUES (int)(sizeof values / sizeof values[0])

/* The directory the test runner was built in (B), from its own path. */
static const char *build_dir(void)
{
	static char dir[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);

	ck_assert_int_gt(n, 0);
	dir[n] = '\0';
	*strrchr(dir, '/') = '\0'; /* B/tests */
	*strrchr(dir, '/') = '\0'; /* B */
	return dir;
}

struct child {
	const char *b, *name, *value;
};

/* In the child: the program with nothing but PATH, LD_PRELOAD and the
 * one variable in its environment. */
static int run_sleepers(void *arg)
{
	const struct child *c = arg;
	char lib[PATH_MAX + 16], prog[PATH_MAX + 32];

	snprintf(lib, sizeof lib, "%s/libweft.so", c->b);
	snprintf(prog, sizeof prog, "%s/samples/sleepers", c->b);
	if (clearenv() != 0 || setenv("PATH", "/usr/bin:/bin", 1) != 0 ||
	    setenv("LD_PRELOAD", lib, 1) != 0 ||
	    setenv(c->name, c->value, 1) != 0)
		return 120;
	if (!freopen("/dev/null", "w", stdout))
		return 121;
	execl(prog, prog, "50", (char *)NULL);
	return 122;
}

START_TEST(garbage_in_a_variable_gives_one_line_and_a_default)
{
	const char *b = build_dir();
	char path[PATH_MAX + 32], err[8192];
	struct stat st;

	memset(long_value, '9', sizeof long_value - 1);
	snprintf(path, sizeof path, "%s/samples/sleepers", b);
	ck_assert_msg(stat(path, &st) == 0, "%s is missing: run make all",
		      path);
	for (int v = 0; v < NVALUES; v++) {
		struct child c = { b, vars[_i].name, values[v] };
		const char *shown = values[v] == long_value ? "(5000 nines)" :
				    values[v];
		int status = tl_run_in_child(run_sleepers, &c, err, sizeof err);
		bool good = !*values[v] ||
			    (vars[_i].flag && !strcmp(values[v], "0"));
		char want[128];

		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "%s=\"%s\": status %#x, stderr: %s", c.name,
			      shown, status, err);
		ck_assert_msg(tl_count_lines(err) == (good ? 0 : 1),
			      "%s=\"%s\": want %d line(s) on stderr: %s",
			      c.name, shown, good ? 0 : 1, err);
		if (good)
			continue;
		snprintf(want, sizeof want, "weft: ignoring %s=", c.name);
		ck_assert_msg(strncmp(err, want, strlen(want)) == 0 &&
			      strstr(err, vars[_i].instead),
			      "%s=\"%s\": want \"%s...%s\": %s", c.name, shown,
			      want, vars[_i].instead, err);
	}
}
END_TEST

Suite *suite_badenv(void)
{
	Suite *s = suite_create("badenv");
	TCase *tc = tcase_create("preloaded");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc,
			    garbage_in_a_variable_gives_one_line_and_a_default,
			    0, NVARS);
	suite_add_tcase(s, tc);
	return s;
}
