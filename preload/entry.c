/* entry.c - start-up: the configuration, read once from the environment.
 *
 * Every WEFT_* variable is read here, in a constructor that runs right
 * after the real functions are found (hook/real.c's, priority 101), so
 * that the rest of weft never looks at the environment again, whatever
 * the program later does to it:
 *
 *   WEFT_OFF=1            every wrapper passes through (for bisecting)
 *   WEFT_THREADS          green (pthreads become coroutines; the default
 *                         when preloaded) or native (the default when linked)
 *   WEFT_STACK_SIZE       a coroutine's stack (core/stack.c; 256K)
 *   WEFT_STATS=1          statistics on stderr at exit (stats.c)
 *   WEFT_DEBUG=1          what weft does, on stderr
 *   WEFT_DUMP_SIGNAL      a signal that dumps the coroutines (none)
 *   WEFT_INHERIT=0        children do not get weft (process.c)
 *   WEFT_OFFLOAD_THREADS  the offload pool's size (core/offload.c; 4)
 *   WEFT_CPUS             schedulers green threads are spread over
 *                         (core/pool.c; one per CPU when preloaded)
 *
 * A value that cannot be understood gets one line on stderr and the
 * default: a typo must never stop the program, nor change what it prints
 * on stdout or returns.  Nothing here starts a scheduler or opens a file
 * (but for the copy of stderr WEFT_STATS keeps, numbered from 100 up), so
 * the program's fd numbers are what they would be without weft.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core.h"
#include "offload.h"
#include "pool.h"
#include "tcb.h"
#include "green.h"
#include "preload.h"
#include "stats.h"

struct weft__config weft__config = { .inherit = true };

/* WEFT_THREADS: green or native; def when unset or not understood. */
static bool threads_green(bool def)
{
	const char *v = getenv("WEFT_THREADS");

	if (v == NULL || *v == '\0')
		return def;
	if (strcasecmp(v, "green") == 0)
		return true;
	if (strcasecmp(v, "native") == 0)
		return false;
	weft__env_ignored("WEFT_THREADS", v, def ? "want green or native; using green"
					: "want green or native; using native");
	return def;
}

/* A signal by number or name ("USR2", "SIGUSR2", "RTMIN+2"); 0 if v
 * names none. */
static int signal_number(const char *v)
{
	const char *p = strncasecmp(v, "SIG", 3) == 0 ? v + 3 : v;
	char *end;

	if (*p >= '0' && *p <= '9') {
		long n = strtol(p, &end, 10);
		return *end == '\0' && n > 0 && n < NSIG ? (int)n : 0;
	}
	for (int sig = 1; sig < NSIG; sig++) {
		const char *name = sigabbrev_np(sig);
		if (name && strcasecmp(name, p) == 0)
			return sig;
	}
	bool min = strncasecmp(p, "RTMIN", 5) == 0;
	if (min || strncasecmp(p, "RTMAX", 5) == 0) {
		long n = 0;
		if (p[5] == (min ? '+' : '-')) {
			n = strtol(p + 6, &end, 10);
			if (*end != '\0' || end == p + 6)
				return 0;
		} else if (p[5] != '\0') {
			return 0;
		}
		long sig = min ? SIGRTMIN + n : SIGRTMAX - n;
		return sig >= SIGRTMIN && sig <= SIGRTMAX ? (int)sig : 0;
	}
	return 0;
}

/* WEFT_DUMP_SIGNAL: the signal that dumps the coroutines, 0 for none.
 * The default is none, so weft never takes a signal the program may use;
 * SIGSEGV is weft's own (stack overflows). */
static int dump_signal(void)
{
	const char *v = getenv("WEFT_DUMP_SIGNAL");

	if (v == NULL || *v == '\0')
		return 0;
	int sig = signal_number(v);
	if (sig == 0 || sig == SIGKILL || sig == SIGSTOP || sig == SIGSEGV) {
		weft__env_ignored("WEFT_DUMP_SIGNAL", v, "want a signal that can be caught"
			 " other than SEGV (e.g. USR2); dumps stay off");
		return 0;
	}
	return sig;
}

/* The one debug line at start: what weft understood. */
static void say_config(size_t stack)
{
	const struct weft__config *c = &weft__config;
	char msg[256] = "pid ";

	weft__cat_u64(msg, sizeof msg, (uint64_t)getpid());
	weft__cat(msg, sizeof msg, " (");
	weft__cat(msg, sizeof msg, program_invocation_short_name);
	weft__cat(msg, sizeof msg, c->preloaded ? "): preloaded" : "): linked");
	weft__cat(msg, sizeof msg, weft__off ? ", off" : "");
	weft__cat(msg, sizeof msg, c->green ? ", green threads"
					    : ", native threads");
	weft__cat(msg, sizeof msg, ", cpus ");
	weft__cat_u64(msg, sizeof msg, c->cpus);
	weft__cat(msg, sizeof msg, ", stack ");
	weft__cat_u64(msg, sizeof msg, stack >> 10);
	weft__cat(msg, sizeof msg, " KiB, stats ");
	weft__cat(msg, sizeof msg, c->stats ? "on" : "off");
	weft__cat(msg, sizeof msg, ", inherit ");
	weft__cat(msg, sizeof msg, c->inherit ? "on" : "off");
	weft__cat(msg, sizeof msg, ", dump signal ");
	const char *sig = c->dump_signal ? sigabbrev_np(c->dump_signal) : NULL;
	if (c->dump_signal == 0)
		weft__cat(msg, sizeof msg, "none");
	else if (sig)
		weft__cat(msg, sizeof msg, sig);
	else
		weft__cat_u64(msg, sizeof msg, (uint64_t)c->dump_signal);
	weft__debug_say(msg);
}

/* See preload.h. */
bool weft__preload_elem_is_weft(const char *elem, size_t len)
{
	const char *name = elem;

	for (size_t i = 0; i < len; i++)
		if (elem[i] == '/')
			name = elem + i + 1;
	size_t left = len - (size_t)(name - elem);
	return left >= 7 && memcmp(name, "libweft", 7) == 0;
}

/* See preload.h.  The loader splits LD_PRELOAD at spaces and colons. */
bool weft__preload_has_weft(const char *value)
{
	const char *p = value;

	while (p && *p) {
		size_t n = strcspn(p, " :");
		if (n && weft__preload_elem_is_weft(p, n))
			return true;
		p += n;
		p += *p != '\0';
	}
	return false;
}

/* See preload.h. */
void weft__debug_say(const char *msg)
{
	if (weft__config.debug)
		weft__say(msg);
}

/* See preload.h. */
void weft__config_read(void)
{
	struct weft__config *c = &weft__config;

	weft__off = weft__env_flag("WEFT_OFF", false);
	c->preloaded = weft__preload_has_weft(getenv("LD_PRELOAD"));
	c->green = threads_green(c->preloaded);
	c->stats = weft__env_flag("WEFT_STATS", false);
	c->debug = weft__env_flag("WEFT_DEBUG", false);
	c->inherit = weft__env_flag("WEFT_INHERIT", true);
	c->dump_signal = dump_signal();
	/* core/stack.c reads WEFT_STACK_SIZE when the first stack is made;
	 * asking now makes a bad value known at start, with the rest. */
	size_t stack = weft__stack_default();
	/* Likewise the pool's size, when preloaded (tests set it later). */
	if (c->preloaded)
		weft__offload_config();

	c->cpus = weft__pool_config(c->preloaded);
	weft__green_set(c->green && !weft__off);
	/* Green threads get thread blocks of their own where this glibc
	 * allows; where not, one line says so now. */
	if (c->green && !weft__off)
		weft__tcb_init(true);
	if (c->stats)
		weft__stats_start();
	if (c->dump_signal && weft__dump_on_signal(c->dump_signal) < 0) {
		weft__say("WEFT_DUMP_SIGNAL: that signal cannot be caught;"
			  " dumps stay off");
		c->dump_signal = 0;
	}
	say_config(stack);
}

/* After hook/real.c's constructor (101): the real functions are known. */
__attribute__((constructor(102))) static void entry(void)
{
	weft__config_read();
}
