/* switch.c - what one coroutine switch costs, for weft and its peers.
 *
 * A switch is one transfer of control from one context to another; a round
 * trip (there and back) is two.  Four peers are measured, each by bouncing
 * control between the main flow and one other context many times and
 * dividing the elapsed CLOCK_MONOTONIC time by the number of switches:
 *
 *   weft__ctx_switch  weft's raw assembly switch.  The symbol is hidden in
 *                     libweft.so, so bench/run assembles core/switch_<arch>.S
 *                     into this program directly.  It is measured twice:
 *                     "raw" bounces between main and an echo context, the
 *                     same shape as the swapcontext and jump_fcontext runs,
 *                     so its ratios compare like with like; "1 site" bounces
 *                     between two contexts that both switch from the same
 *                     call, as coroutines parked in weft's scheduler do.
 *                     The two differ because the switch ends in `ret`: the
 *                     CPU's return predictor guesses the caller of the
 *                     outgoing context, which is right only when both sides
 *                     called from the same place.
 *   weft_yield        the public API: two coroutines started with weft_go
 *                     yield to each other in a loop while main waits.  Only
 *                     transfers actually seen (the other coroutine ran in
 *                     between) are counted as switches.
 *   weft_yield (root)  the same API from the root: main yields to one
 *                     coroutine started with weft_go, which yields back.
 *                     The two call weft_yield from different places, so
 *                     the returns after each switch are not those of the
 *                     other side.  Counted as the row above.
 *   weft_yield (own TLS)  the same between two coroutines that each have
 *                     a thread block of their own (weft_spawn_opt with
 *                     WEFT_OWN_TLS), as every green thread of a preloaded
 *                     program has: each switch also installs the other's
 *                     thread pointer.
 *   swapcontext       glibc's ucontext switch, which also saves and restores
 *                     the signal mask with a system call, so it runs fewer
 *                     iterations.
 *   jump_fcontext     Boost.Context's assembly switch, driven from
 *                     switch_boost.cpp (compiled only when Boost is there;
 *                     without it, build with -DNO_BOOST).
 *
 * Each peer runs once to warm up and then five times; the best run counts,
 * because on a shared machine noise only ever adds time.  The table gives
 * ns per switch and two ratios: weft's raw switch over the peer and
 * weft_yield over the peer.  A ratio below 1 means weft is faster.
 *
 * Usage: switch [scale]   (scale multiplies every iteration count; 1.0)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include <weft.h>
#include "core/ctx.h"

#define RUNS 5
#define STACK_SIZE (64 * 1024)

#ifndef NO_BOOST
/* The Boost.Context side, in switch_boost.cpp. */
int fctx_setup(size_t stack_size);
void fctx_round_trips(long n);
void fctx_teardown(void);
#else
/* Without Boost the peer is reported as skipped. */
static int fctx_setup(size_t stack_size) { (void)stack_size; return -1; }
static void fctx_round_trips(long n) { (void)n; }
static void fctx_teardown(void) {}
#endif

/* The monotonic clock in nanoseconds. */
static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL) {
		perror("switch: malloc");
		exit(1);
	}
	return p;
}

/* The assembly calls this if a context's entry function returns.  The
 * library's own definition is hidden in the .so, so this program needs one;
 * the echo functions below never return, so it is never reached. */
void weft__ctx_returned(void)
{
	fputs("switch: a raw context's entry function returned\n", stderr);
	abort();
}

/* ==== weft__ctx_switch ================================================= */

static struct weft__ctx raw_main, raw_echo;

/* Sends control straight back each time it arrives. */
static void raw_echo_fn(void *arg)
{
	(void)arg;
	for (;;)
		weft__ctx_switch(&raw_echo, &raw_main);
}

static void raw_setup(void)
{
	char *stack = xmalloc(STACK_SIZE);

	/* The stack is never freed: the echo context stays suspended on it
	 * until the process ends. */
	weft__ctx_make(&raw_echo, stack + STACK_SIZE, raw_echo_fn, NULL);
}

static double raw_run(long switches)
{
	double t0 = now_ns();

	for (long i = 0; i < switches / 2; i++)
		weft__ctx_switch(&raw_main, &raw_echo);
	return (now_ns() - t0) / (double)(switches / 2 * 2);
}

/* ==== weft__ctx_switch, both sides at one call site ==================== */

static struct weft__ctx site_ctx[2], site_back;
static long site_left;		/* switches still to make in this run */

/* Hands control to the other context of the pair until the run's switches
 * are spent, then back to the caller.  The single call below is the one
 * place either context ever switches from. */
static void site_fn(void *arg)
{
	int me = (int)(long)arg;

	for (;;) {
		struct weft__ctx *to = site_left-- > 0 ? &site_ctx[!me]
						       : &site_back;

		weft__ctx_switch(&site_ctx[me], to);
	}
}

static void site_setup(void)
{
	for (int i = 0; i < 2; i++) {
		char *stack = xmalloc(STACK_SIZE);

		weft__ctx_make(&site_ctx[i], stack + STACK_SIZE, site_fn,
			       (void *)(long)i);
	}
	/* Start both, so that each is parked at the one call site. */
	site_left = 1;
	weft__ctx_switch(&site_back, &site_ctx[0]);
}

static double site_run(long switches)
{
	double t0;

	/* Either context may be resumed: both wait at the same call. */
	site_left = switches;
	t0 = now_ns();
	weft__ctx_switch(&site_back, &site_ctx[0]);
	return (now_ns() - t0) / (double)(switches + 2);
}

/* ==== weft_yield ======================================================= */

static long yield_rounds;
static long yield_seen;		/* transfers observed between the two */
static int yield_last;		/* which ran last: 1 or 2, or 0 for main */
static weft_wg yield_done;

/* Yields yield_rounds times.  A return from weft_yield after the other
 * coroutine has run is one switch into this coroutine (the switch out is
 * counted by the other one), so a yield that did not switch counts
 * nothing. */
static void yielder(void *arg)
{
	int me = (int)(long)arg;

	yield_last = me;
	for (long i = 0; i < yield_rounds; i++) {
		weft_yield();
		if (yield_last != me) {
			yield_seen++;
			yield_last = me;
		}
	}
	weft_wg_done(&yield_done);
}

static void *own_yielder(void *arg)
{
	yielder(arg);
	return NULL;
}

/* Two yielders, started with weft_go, or with thread blocks of their own;
 * returns ns per switch seen. */
static double yield_pair(long switches, bool own_tls)
{
	double t0, t1;
	weft_co *co[2] = { NULL, NULL };

	yield_rounds = switches / 2;
	yield_seen = 0;
	yield_last = 0;
	weft_wg_add(&yield_done, 2);
	t0 = now_ns();
	for (long i = 1; i <= 2; i++) {
		int r = own_tls ? ((co[i - 1] = weft_spawn_opt(own_yielder,
				(void *)i, 0, WEFT_OWN_TLS)) ? 0 : -1)
				: weft_go(yielder, (void *)i);
		if (r != 0) {
			fprintf(stderr, "switch: %s: %s\n", own_tls ?
				"weft_spawn_opt" : "weft_go", strerror(errno));
			exit(1);
		}
	}
	weft_wg_wait(&yield_done);
	t1 = now_ns();
	for (int i = 0; i < 2; i++)
		if (co[i])
			weft_join(co[i], NULL);
	if (yield_seen < switches - switches / 10) {
		fprintf(stderr, "switch: weft_yield switched %ld times in %ld "
			"yields; the count below uses the switches seen\n",
			yield_seen, switches);
	}
	if (yield_seen == 0) {
		fputs("switch: weft_yield never switched\n", stderr);
		exit(1);
	}
	return (t1 - t0) / (double)yield_seen;
}

static double yield_run(long switches)
{
	return yield_pair(switches, false);
}

static double yield_tls_run(long switches)
{
	return yield_pair(switches, true);
}

/* ==== weft_yield from the root ========================================= */

/* Main (the root, 0 in yield_last) and one yielder (1) yield to each
 * other; returns ns per switch seen.  The yielder's first run and its end
 * are within the timed span, as in yield_pair. */
static double root_run(long switches)
{
	double t0, t1;

	yield_rounds = switches / 2;
	yield_seen = 0;
	yield_last = 0;
	weft_wg_add(&yield_done, 1);
	t0 = now_ns();
	if (weft_go(yielder, (void *)1L) != 0) {
		fprintf(stderr, "switch: weft_go: %s\n", strerror(errno));
		exit(1);
	}
	for (long i = 0; i < yield_rounds; i++) {
		weft_yield();
		if (yield_last != 0) {
			yield_seen++;
			yield_last = 0;
		}
	}
	weft_wg_wait(&yield_done);
	t1 = now_ns();
	if (yield_seen < switches - switches / 10) {
		fprintf(stderr, "switch: weft_yield (root) switched %ld times "
			"in %ld yields; the count below uses the switches "
			"seen\n", yield_seen, switches);
	}
	if (yield_seen == 0) {
		fputs("switch: weft_yield (root) never switched\n", stderr);
		exit(1);
	}
	return (t1 - t0) / (double)yield_seen;
}

/* ==== swapcontext ====================================================== */

static ucontext_t uc_main, uc_echo;

static void uc_echo_fn(void)
{
	for (;;)
		swapcontext(&uc_echo, &uc_main);
}

static void uc_setup(void)
{
	if (getcontext(&uc_echo) != 0) {
		perror("switch: getcontext");
		exit(1);
	}
	uc_echo.uc_stack.ss_sp = xmalloc(STACK_SIZE);
	uc_echo.uc_stack.ss_size = STACK_SIZE;
	uc_echo.uc_link = NULL;
	makecontext(&uc_echo, uc_echo_fn, 0);
}

static double uc_run(long switches)
{
	double t0 = now_ns();

	for (long i = 0; i < switches / 2; i++)
		swapcontext(&uc_main, &uc_echo);
	return (now_ns() - t0) / (double)(switches / 2 * 2);
}

/* ==== jump_fcontext ==================================================== */

static double fctx_run(long switches)
{
	double t0 = now_ns();

	fctx_round_trips(switches / 2);
	return (now_ns() - t0) / (double)(switches / 2 * 2);
}

/* ==== Driver =========================================================== */

/* The rows of the table, in order. */
enum { RAW, SITE, YIELD, ROOT, YIELD_TLS, UCTX, FCTX, NPEERS };

struct peer {
	const char *name;
	long switches;		/* per run */
	double (*run)(long switches);
	double best;		/* ns per switch; 0 if skipped */
};

/* Runs p once to warm caches and branch predictors, then RUNS times, and
 * keeps the fastest. */
static void measure(struct peer *p)
{
	p->run(p->switches / 10 > 2 ? p->switches / 10 : 2);
	for (int r = 0; r < RUNS; r++) {
		double ns = p->run(p->switches);

		if (r == 0 || ns < p->best)
			p->best = ns;
	}
}

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1.0;
	struct peer peers[NPEERS] = {
		[RAW] = { "weft__ctx_switch (raw)", 10000000, raw_run, 0 },
		[SITE] = { "weft__ctx_switch (1 site)", 10000000, site_run, 0 },
		[YIELD] = { "weft_yield (public API)", 10000000, yield_run, 0 },
		[ROOT] = { "weft_yield (root)", 10000000, root_run, 0 },
		[YIELD_TLS] = { "weft_yield (own TLS)", 10000000, yield_tls_run,
				0 },
		[UCTX] = { "swapcontext (glibc)", 1000000, uc_run, 0 },
		[FCTX] = { "jump_fcontext (Boost)", 10000000, fctx_run, 0 },
	};
	size_t npeers = NPEERS;
	double raw, yield;

	if (scale <= 0) {
		fprintf(stderr, "usage: %s [scale > 0]\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < npeers; i++) {
		peers[i].switches = (long)((double)peers[i].switches * scale);
		if (peers[i].switches < 2)
			peers[i].switches = 2;
	}

	raw_setup();
	site_setup();
	uc_setup();
	for (size_t i = 0; i < npeers; i++) {
		/* Without Boost the row stays at 0, shown as skipped. */
		if (i == FCTX && fctx_setup(STACK_SIZE) != 0)
			continue;
		measure(&peers[i]);
	}
	fctx_teardown();

	raw = peers[RAW].best;
	yield = peers[YIELD].best;
	printf("ns per switch (one transfer of control; a round trip is two), "
	       "best of %d runs\n", RUNS);
	printf("ratios are weft's ns over the peer's: below 1.00x weft is "
	       "faster\n\n");
	printf("  %-26s %12s %10s %14s %16s\n", "peer", "switches/run",
	       "ns/switch", "weft raw/peer", "weft_yield/peer");
	for (size_t i = 0; i < npeers; i++) {
		struct peer *p = &peers[i];

		if (p->best == 0) {
			printf("  %-26s %12s %10s\n", p->name, "-",
			       "skipped (no Boost.Context)");
			continue;
		}
		printf("  %-26s %12ld %10.2f %13.2fx %15.2fx\n", p->name,
		       p->switches, p->best, raw / p->best, yield / p->best);
	}
	printf("\n  (1 site): both contexts switch from one call site, as "
	       "parked coroutines do\n");
	printf("  (own TLS): each switch installs the other's thread block,"
	       " as between green threads: %.2fx weft_yield's cost\n",
	       peers[YIELD_TLS].best / yield);
	printf("  (root): main and one coroutine yield to each other: "
	       "%.2fx weft_yield's cost\n", peers[ROOT].best / yield);
	if (peers[FCTX].best > 0)
		printf("  weft/jump_fcontext = %.2fx, weft_yield/jump_fcontext "
		       "= %.2fx, weft_yield (root)/jump_fcontext = %.2fx\n",
		       raw / peers[FCTX].best, yield / peers[FCTX].best,
		       peers[ROOT].best / peers[FCTX].best);
	return 0;
}
