/* ctx_selftest.c - tests of the context switch alone, on whichever machine
 * it is built for.
 *
 * It is built from this file, core/ctx.h and core/switch_<arch>.S with
 * nothing else (no Check, no libev), so that a port of the switch can be
 * tried, under an emulator if need be, before anything above it works.
 * Each test prints "ok NAME" or "FAIL NAME: why"; the last line is
 * "N passed, M failed" and the exit status is 0 only if none failed.
 * tests/ctx_selftest.sh builds and runs it for every architecture it can.
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <unwind.h>

#include "ctx.h"

/* The assembly stores the stack pointer at the start of the struct. */
_Static_assert(offsetof(struct weft__ctx, sp) == 0, "sp must come first");

#define STACK_SIZE (64u << 10)

/* ---- helpers ---- */

/* The reason for the failure of the running test. */
static char why_buf[256];

/* Formats a reason into why_buf and returns it.  The arguments may point
 * into why_buf, to wrap a reason given by a context, so the text is made
 * elsewhere first. */
__attribute__((format(printf, 1, 2)))
static const char *failf(const char *fmt, ...)
{
	char text[sizeof why_buf];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	memcpy(why_buf, text, sizeof why_buf);
	return why_buf;
}

static char *stack_new(void)
{
	void *p = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	if (p == MAP_FAILED) {
		perror("ctx_selftest: mmap");
		exit(2);
	}
	return p;
}

static void stack_free(char *base)
{
	munmap(base, STACK_SIZE);
}

/* The compiler knows how the stack is meant to be aligned and would fold
 * "address % 16" to 0; passing the address through an empty asm makes it
 * look at the real one. */
static inline uintptr_t addr_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	__asm__("" : "+r"(a));
	return a;
}

/* A context whose work is done goes back for good: nothing resumes it,
 * and if something did, it would only go back again. */
__attribute__((noreturn))
static void park(struct weft__ctx *self, struct weft__ctx *back)
{
	for (;;)
		weft__ctx_switch(self, back);
}

/* ---- ping_pong_alternates_in_order ---- */

#define PINGS 100000L

static struct weft__ctx pp_main, pp_co;
static long pp_ball;		/* main puts 2i here, the context 2i + 1 */
static const char *pp_why;

static void pp_fn(void *arg)
{
	long *turns = arg;

	for (long i = 0;; i++) {
		if (pp_ball != 2 * i && !pp_why)
			pp_why = failf("context got %ld on turn %ld, expected %ld",
				       pp_ball, i, 2 * i);
		pp_ball = 2 * i + 1;
		++*turns;
		weft__ctx_switch(&pp_co, &pp_main);
	}
}

static const char *ping_pong_alternates_in_order(void)
{
	char *stack = stack_new();
	const char *why = NULL;
	long turns = 0;

	pp_why = NULL;
	weft__ctx_make(&pp_co, stack + STACK_SIZE, pp_fn, &turns);
	for (long i = 0; i < PINGS && !why; i++) {
		pp_ball = 2 * i;
		weft__ctx_switch(&pp_main, &pp_co);
		if (pp_why)
			why = pp_why;
		else if (pp_ball != 2 * i + 1 || turns != i + 1)
			why = failf("main got %ld after %ld turns on turn %ld",
				    pp_ball, turns, i);
	}
	stack_free(stack);
	return why;
}

/* ---- callee_saved_registers_survive_switch ---- */

/* switch_with_pattern(from, to, pattern, out) puts pattern + i in the i-th
 * callee-saved register (in the order of reg_names), calls
 * weft__ctx_switch(from, to) and, once back, stores what those registers
 * hold in out[i].  It is itself a well-behaved function that restores the
 * caller's registers.  Done in assembly because C cannot say "this value,
 * in that register, across this call". */
void switch_with_pattern(struct weft__ctx *from, struct weft__ctx *to,
			 uint64_t pattern, uint64_t *out);

#if defined(__x86_64__)

#define NREGS 6
static const char *const reg_names[NREGS] = {
	"rbx", "rbp", "r12", "r13", "r14", "r15",
};

/* Seven pushes after the call's return address leave rsp 16-aligned for
 * the inner call. */
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.type	switch_with_pattern, @function\n"
	"switch_with_pattern:\n"
	"	pushq	%rbp\n"
	"	pushq	%rbx\n"
	"	pushq	%r12\n"
	"	pushq	%r13\n"
	"	pushq	%r14\n"
	"	pushq	%r15\n"
	"	pushq	%rcx\n"			/* out */
	"	movq	%rdx, %rbx\n"
	"	leaq	1(%rdx), %rbp\n"
	"	leaq	2(%rdx), %r12\n"
	"	leaq	3(%rdx), %r13\n"
	"	leaq	4(%rdx), %r14\n"
	"	leaq	5(%rdx), %r15\n"
	"	call	weft__ctx_switch\n"
	"	popq	%rcx\n"
	"	movq	%rbx, 0(%rcx)\n"
	"	movq	%rbp, 8(%rcx)\n"
	"	movq	%r12, 16(%rcx)\n"
	"	movq	%r13, 24(%rcx)\n"
	"	movq	%r14, 32(%rcx)\n"
	"	movq	%r15, 40(%rcx)\n"
	"	popq	%r15\n"
	"	popq	%r14\n"
	"	popq	%r13\n"
	"	popq	%r12\n"
	"	popq	%rbx\n"
	"	popq	%rbp\n"
	"	ret\n"
	"	.size	switch_with_pattern, .-switch_with_pattern\n"
	"	.popsection\n");

#elif defined(__aarch64__)

#define NREGS 19
static const char *const reg_names[NREGS] = {
	"x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
	"x29", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15",
};

/* x29 gets a pattern too, so frame-pointer walks are meaningless while
 * this runs; nothing walks them here.  The d registers get raw bit
 * patterns, compared as integers. */
__asm__(
	"	.pushsection .text\n"
	"	.p2align 4\n"
	"	.type	switch_with_pattern, %function\n"
	"switch_with_pattern:\n"
	"	stp	x29, x30, [sp, #-0xb0]!\n"
	"	mov	x29, sp\n"
	"	stp	x19, x20, [sp, #0x10]\n"
	"	stp	x21, x22, [sp, #0x20]\n"
	"	stp	x23, x24, [sp, #0x30]\n"
	"	stp	x25, x26, [sp, #0x40]\n"
	"	stp	x27, x28, [sp, #0x50]\n"
	"	stp	d8, d9, [sp, #0x60]\n"
	"	stp	d10, d11, [sp, #0x70]\n"
	"	stp	d12, d13, [sp, #0x80]\n"
	"	stp	d14, d15, [sp, #0x90]\n"
	"	str	x3, [sp, #0xa0]\n"		/* out */
	"	mov	x19, x2\n"
	"	add	x20, x2, #1\n"
	"	add	x21, x2, #2\n"
	"	add	x22, x2, #3\n"
	"	add	x23, x2, #4\n"
	"	add	x24, x2, #5\n"
	"	add	x25, x2, #6\n"
	"	add	x26, x2, #7\n"
	"	add	x27, x2, #8\n"
	"	add	x28, x2, #9\n"
	"	add	x9, x2, #11\n"
	"	fmov	d8, x9\n"
	"	add	x9, x2, #12\n"
	"	fmov	d9, x9\n"
	"	add	x9, x2, #13\n"
	"	fmov	d10, x9\n"
	"	add	x9, x2, #14\n"
	"	fmov	d11, x9\n"
	"	add	x9, x2, #15\n"
	"	fmov	d12, x9\n"
	"	add	x9, x2, #16\n"
	"	fmov	d13, x9\n"
	"	add	x9, x2, #17\n"
	"	fmov	d14, x9\n"
	"	add	x9, x2, #18\n"
	"	fmov	d15, x9\n"
	"	add	x29, x2, #10\n"
	"	bl	weft__ctx_switch\n"
	"	ldr	x3, [sp, #0xa0]\n"
	"	stp	x19, x20, [x3, #0x00]\n"
	"	stp	x21, x22, [x3, #0x10]\n"
	"	stp	x23, x24, [x3, #0x20]\n"
	"	stp	x25, x26, [x3, #0x30]\n"
	"	stp	x27, x28, [x3, #0x40]\n"
	"	str	x29, [x3, #0x50]\n"
	"	stp	d8, d9, [x3, #0x58]\n"
	"	stp	d10, d11, [x3, #0x68]\n"
	"	stp	d12, d13, [x3, #0x78]\n"
	"	stp	d14, d15, [x3, #0x88]\n"
	"	ldp	d8, d9, [sp, #0x60]\n"
	"	ldp	d10, d11, [sp, #0x70]\n"
	"	ldp	d12, d13, [sp, #0x80]\n"
	"	ldp	d14, d15, [sp, #0x90]\n"
	"	ldp	x19, x20, [sp, #0x10]\n"
	"	ldp	x21, x22, [sp, #0x20]\n"
	"	ldp	x23, x24, [sp, #0x30]\n"
	"	ldp	x25, x26, [sp, #0x40]\n"
	"	ldp	x27, x28, [sp, #0x50]\n"
	"	ldp	x29, x30, [sp], #0xb0\n"
	"	ret\n"
	"	.size	switch_with_pattern, .-switch_with_pattern\n"
	"	.popsection\n");

#else
#error "no switch_with_pattern for this architecture"
#endif

#define REG_ROUNDS 16
#define PATTERN_MAIN 0x1111000000000000ull
#define PATTERN_CO   0x2222000000000000ull

static struct weft__ctx cs_main, cs_co;
static const char *cs_why;

/* Returns the reason if out does not hold pattern + i in register i. */
static const char *check_pattern(const char *side, uint64_t pattern,
				 const uint64_t *out)
{
	for (int i = 0; i < NREGS; i++)
		if (out[i] != pattern + (uint64_t)i)
			return failf("%s's %s is %#llx, expected %#llx", side,
				     reg_names[i], (unsigned long long)out[i],
				     (unsigned long long)(pattern + (uint64_t)i));
	return NULL;
}

static void cs_fn(void *arg)
{
	(void)arg;
	for (uint64_t round = 0;; round++) {
		uint64_t out[NREGS];
		uint64_t pattern = PATTERN_CO + (round << 8);

		switch_with_pattern(&cs_co, &cs_main, pattern, out);
		if (!cs_why)
			cs_why = check_pattern("context", pattern, out);
		weft__ctx_switch(&cs_co, &cs_main);
	}
}

/* Each side fills every callee-saved register with its own pattern and
 * switches to the other, so a register the switch fails to restore shows
 * up holding the other side's pattern. */
static const char *callee_saved_registers_survive_switch(void)
{
	char *stack = stack_new();
	const char *why = NULL;

	cs_why = NULL;
	weft__ctx_make(&cs_co, stack + STACK_SIZE, cs_fn, NULL);
	for (uint64_t round = 0; round < REG_ROUNDS && !why; round++) {
		uint64_t out[NREGS];
		uint64_t pattern = PATTERN_MAIN + (round << 8);

		switch_with_pattern(&cs_main, &cs_co, pattern, out);
		why = check_pattern("main", pattern, out);
		weft__ctx_switch(&cs_main, &cs_co);
		if (!why)
			why = cs_why;
	}
	stack_free(stack);
	return why;
}

/* ---- live_locals_survive_switch ---- */

#define JUGGLE_ROUNDS 1000

static struct weft__ctx ll_main, ll_co;
static int ll_co_bad;

/* Keeps more integer and floating-point values live across a switch than
 * there are callee-saved registers, so that at -O2 some sit in those
 * registers and some on the stack, and returns how many came back wrong.
 * The expected values are recomputed from a volatile copy of the seed,
 * which the compiler cannot know equals the seed. */
__attribute__((noinline))
static int juggle(struct weft__ctx *from, struct weft__ctx *to, long seed)
{
	volatile long again = seed;
	long i0 = seed * 3 + 1, i1 = seed ^ 0x5a5a, i2 = seed * seed;
	long i3 = seed - 77, i4 = seed << 5, i5 = seed * 11 + 5;
	long i6 = ~seed, i7 = seed / 3, i8 = seed % 1001;
	long i9 = seed * 131, i10 = seed + 0x1234, i11 = seed * 17 - 9;
	double f0 = seed * 0.5, f1 = seed / 3.0, f2 = seed * 1.25;
	double f3 = seed - 0.75, f4 = seed * 1e-3, f5 = seed / 7.0;
	double f6 = seed * seed * 0.125, f7 = -seed / 9.0;
	int bad = 0;
	long s;

	weft__ctx_switch(from, to);
	s = again;
	bad += i0 != s * 3 + 1;
	bad += i1 != (s ^ 0x5a5a);
	bad += i2 != s * s;
	bad += i3 != s - 77;
	bad += i4 != s << 5;
	bad += i5 != s * 11 + 5;
	bad += i6 != ~s;
	bad += i7 != s / 3;
	bad += i8 != s % 1001;
	bad += i9 != s * 131;
	bad += i10 != s + 0x1234;
	bad += i11 != s * 17 - 9;
	bad += f0 != s * 0.5;
	bad += f1 != s / 3.0;
	bad += f2 != s * 1.25;
	bad += f3 != s - 0.75;
	bad += f4 != s * 1e-3;
	bad += f5 != s / 7.0;
	bad += f6 != s * s * 0.125;
	bad += f7 != -s / 9.0;
	return bad;
}

static void ll_fn(void *arg)
{
	(void)arg;
	for (long round = 0;; round++) {
		ll_co_bad += juggle(&ll_co, &ll_main, 1000003 * round + 7);
		weft__ctx_switch(&ll_co, &ll_main);
	}
}

static const char *live_locals_survive_switch(void)
{
	char *stack = stack_new();
	const char *why = NULL;

	ll_co_bad = 0;
	weft__ctx_make(&ll_co, stack + STACK_SIZE, ll_fn, NULL);
	for (long round = 0; round < JUGGLE_ROUNDS && !why; round++) {
		int bad = juggle(&ll_main, &ll_co, 7919 * round + 1);

		weft__ctx_switch(&ll_main, &ll_co);
		if (bad)
			why = failf("%d of main's locals changed in round %ld",
				    bad, round);
		else if (ll_co_bad)
			why = failf("%d of the context's locals changed in round %ld",
				    ll_co_bad, round);
	}
	stack_free(stack);
	return why;
}

/* ---- new_context_stack_is_aligned ---- */

/* On a misaligned stack the context cannot even format a message (libc
 * itself may crash), so it only records addresses and main judges them. */
static struct weft__ctx al_main, al_co;
static uintptr_t al_frame, al_local;		/* in the entry function */
static uintptr_t al_leaf_frame, al_leaf_local;	/* in a nested call */
static char al_text[32];
static volatile long double al_half = 1.5L;

/* Called from the entry function, so it checks the alignment the compiler
 * keeps for calls, and uses what breaks on a misaligned stack: a 16-byte
 * aligned local, long double, and a variadic call with floating-point
 * arguments (on x86-64 the callee saves xmm registers with movaps). */
__attribute__((noinline))
static void aligned_leaf(void)
{
	_Alignas(16) char buf[16];
	long double ld = al_half * 3;

	al_leaf_frame = addr_of(__builtin_frame_address(0));
	al_leaf_local = addr_of(buf);
	if (al_leaf_frame % 16 == 0 && al_leaf_local % 16 == 0)
		snprintf(al_text, sizeof al_text, "%.1Lf %.1f", ld,
			 (double)ld);
}

static void al_fn(void *arg)
{
	_Alignas(16) char buf[16];

	(void)arg;
	al_frame = addr_of(__builtin_frame_address(0));
	al_local = addr_of(buf);
	if (al_frame % 16 == 0 && al_local % 16 == 0)
		aligned_leaf();
	park(&al_co, &al_main);
}

/* stack_top need not be aligned, so every misalignment is tried. */
static const char *new_context_stack_is_aligned(void)
{
	char *stack = stack_new();
	const char *why = NULL;

	for (unsigned off = 0; off < 16 && !why; off++) {
		char *top = stack + STACK_SIZE - off;

		al_frame = al_local = al_leaf_frame = al_leaf_local = 0;
		al_text[0] = 0;
		weft__ctx_make(&al_co, top, al_fn, NULL);
		weft__ctx_switch(&al_main, &al_co);
		if (al_frame % 16 || al_local % 16)
			why = failf("stack_top %u below the end: frame at %#lx, "
				    "_Alignas(16) local at %#lx in the entry "
				    "function", off, (unsigned long)al_frame,
				    (unsigned long)al_local);
		else if (al_leaf_frame % 16 || al_leaf_local % 16)
			why = failf("stack_top %u below the end: frame at %#lx, "
				    "_Alignas(16) local at %#lx in a nested "
				    "call", off, (unsigned long)al_leaf_frame,
				    (unsigned long)al_leaf_local);
		else if (strcmp(al_text, "4.5 4.5"))
			why = failf("printf of 4.5 in the context gave \"%s\"",
				    al_text);
		else if (al_frame <= (uintptr_t)stack ||
			 al_frame >= (uintptr_t)top)
			why = failf("frame %#lx is not on the stack %p..%p",
				    (unsigned long)al_frame, (void *)stack,
				    (void *)top);
	}
	stack_free(stack);
	return why;
}

/* ---- fp_control_is_inherited_and_per_context ---- */

static struct weft__ctx fp_main, fp_co;
static int fp_mode[2];		/* fegetround() in the context, per visit */
static double fp_third[2];	/* 1/3 in double, per visit */
static long double fp_third_ld[2]; /* 1/3 in long double, per visit */

/* 1/3 is inexact, so its last bit shows the rounding mode.  The volatile
 * operands keep the division at run time, after the fesetround before. */
__attribute__((noinline))
static double third(void)
{
	volatile double one = 1, three = 3;

	return one / three;
}

/* On x86-64 this uses the x87 unit, whose control word is kept apart
 * from MXCSR; on aarch64 it is software floating point reading FPCR. */
__attribute__((noinline))
static long double third_ld(void)
{
	volatile long double one = 1, three = 3;

	return one / three;
}

static void fp_fn(void *arg)
{
	(void)arg;
	fp_mode[0] = fegetround();
	fp_third[0] = third();
	fp_third_ld[0] = third_ld();
	fesetround(FE_DOWNWARD);
	weft__ctx_switch(&fp_co, &fp_main);
	fp_mode[1] = fegetround();
	fp_third[1] = third();
	fp_third_ld[1] = third_ld();
	park(&fp_co, &fp_main);
}

/* Returns the reason if the running context does not round to nearest. */
static const char *main_rounds_to_nearest(const char *when, double near,
					  long double near_ld)
{
	if (fegetround() != FE_TONEAREST)
		return failf("main's rounding mode is %#x %s", fegetround(),
			     when);
	if (third() != near || third_ld() != near_ld)
		return failf("main's arithmetic does not round to nearest %s",
			     when);
	return NULL;
}

/* A new context starts with its creator's rounding mode as it was at
 * weft__ctx_make, like a thread, and from then on each context keeps its
 * own. */
static const char *fp_control_is_inherited_and_per_context(void)
{
	int saved = fegetround();
	char *stack = stack_new();
	const char *why = NULL;
	double up, down, near;
	long double up_ld, down_ld, near_ld;

	fesetround(FE_UPWARD);
	up = third();
	up_ld = third_ld();
	fesetround(FE_DOWNWARD);
	down = third();
	down_ld = third_ld();
	fesetround(FE_TONEAREST);
	near = third();
	near_ld = third_ld();
	if (up == down || up_ld == down_ld) {
		why = failf("this machine ignores the rounding mode");
		goto out;
	}

	fesetround(FE_UPWARD);
	weft__ctx_make(&fp_co, stack + STACK_SIZE, fp_fn, NULL);
	fesetround(FE_TONEAREST);
	weft__ctx_switch(&fp_main, &fp_co);
	if ((why = main_rounds_to_nearest("after the context set downward",
					  near, near_ld)))
		goto out;
	if (fp_mode[0] != FE_UPWARD) {
		why = failf("new context's rounding mode is %#x, not upward",
			    fp_mode[0]);
		goto out;
	}
	if (fp_third[0] != up || fp_third_ld[0] != up_ld) {
		why = failf("new context's arithmetic does not round upward");
		goto out;
	}

	weft__ctx_switch(&fp_main, &fp_co);
	if ((why = main_rounds_to_nearest("on the second return", near,
					  near_ld)))
		goto out;
	if (fp_mode[1] != FE_DOWNWARD)
		why = failf("context's rounding mode came back as %#x, "
			    "not downward", fp_mode[1]);
	else if (fp_third[1] != down || fp_third_ld[1] != down_ld)
		why = failf("context's arithmetic no longer rounds downward");
out:
	fesetround(saved);
	stack_free(stack);
	return why;
}

/* ---- thousand_contexts_take_turns ---- */

#define RR_COUNT 1000
#define RR_ROUNDS 50

static struct weft__ctx rr_main, rr_ctx[RR_COUNT];
static long rr_turn;		/* whose turn it is */
static long rr_round;
static const char *rr_why;

/* Each context passes the turn to the next one directly; the last hands
 * it back to main.  The round counter is a local, so it also checks that
 * each context has its own stack. */
static void rr_fn(void *arg)
{
	long me = (long)(intptr_t)arg;

	for (long round = 0;; round++) {
		if ((rr_turn != me || rr_round != round) && !rr_why)
			rr_why = failf("context %ld ran in round %ld on turn "
				       "%ld of round %ld", me, round, rr_turn,
				       rr_round);
		rr_turn++;
		weft__ctx_switch(&rr_ctx[me], me + 1 < RR_COUNT ?
				 &rr_ctx[me + 1] : &rr_main);
	}
}

static const char *thousand_contexts_take_turns(void)
{
	static char *stacks[RR_COUNT];
	const char *why = NULL;

	rr_why = NULL;
	for (long i = 0; i < RR_COUNT; i++) {
		stacks[i] = stack_new();
		weft__ctx_make(&rr_ctx[i], stacks[i] + STACK_SIZE, rr_fn,
			       (void *)(intptr_t)i);
	}
	for (long round = 0; round < RR_ROUNDS && !why; round++) {
		rr_round = round;
		rr_turn = 0;
		weft__ctx_switch(&rr_main, &rr_ctx[0]);
		if (rr_why)
			why = rr_why;
		else if (rr_turn != RR_COUNT)
			why = failf("round %ld ended after %ld turns", round,
				    rr_turn);
	}
	for (long i = 0; i < RR_COUNT; i++)
		stack_free(stacks[i]);
	return why;
}

/* ---- returning_function_reaches_ctx_returned ---- */

static struct weft__ctx ret_main, ret_co;
static int ret_calls;
static uintptr_t ret_frame;

/* The assembly calls this when an entry function returns.  The library's
 * version aborts; this one records the call and goes back to the test,
 * leaving the context behind for good. */
void weft__ctx_returned(void)
{
	struct weft__ctx dead;

	ret_calls++;
	ret_frame = addr_of(__builtin_frame_address(0));
	weft__ctx_switch(&dead, &ret_main);
	abort();
}

/* Runs, yields once, and then returns, which it must never do. */
static void ret_fn(void *arg)
{
	++*(int *)arg;
	weft__ctx_switch(&ret_co, &ret_main);
}

static const char *returning_function_reaches_ctx_returned(void)
{
	char *stack = stack_new();
	const char *why = NULL;
	int runs = 0;

	ret_calls = 0;
	ret_frame = 0;
	weft__ctx_make(&ret_co, stack + STACK_SIZE, ret_fn, &runs);
	weft__ctx_switch(&ret_main, &ret_co);
	if (runs != 1 || ret_calls != 0) {
		why = failf("after the first switch: ran %d times, "
			    "weft__ctx_returned called %d times", runs,
			    ret_calls);
		goto out;
	}
	weft__ctx_switch(&ret_main, &ret_co);
	if (runs != 1 || ret_calls != 1)
		why = failf("after the function returned: ran %d times, "
			    "weft__ctx_returned called %d times", runs,
			    ret_calls);
	else if (ret_frame % 16)
		why = failf("weft__ctx_returned ran with frame %#lx",
			    (unsigned long)ret_frame);
	else if (ret_frame <= (uintptr_t)stack ||
		 ret_frame >= (uintptr_t)stack + STACK_SIZE)
		why = failf("weft__ctx_returned ran off the context's stack");
out:
	stack_free(stack);
	return why;
}

/* ---- backtrace_stops_at_entry ---- */

#define BT_MAX_FRAMES 8

static struct weft__ctx bt_main, bt_co;
static const char *bt_why;

static _Unwind_Reason_Code bt_step(struct _Unwind_Context *uc, void *arg)
{
	int *frames = arg;

	(void)uc;
	/* Stopping early makes _Unwind_Backtrace report an error. */
	return ++*frames > 64 ? _URC_END_OF_STACK : _URC_NO_REASON;
}

/* A debugger, a profiler or a crash handler walking this stack must end at
 * the entry trampoline, not run on into whatever lies above the stack:
 * the unwind tables say so, and the frame-pointer chain ends in zero. */
static void bt_fn(void *arg)
{
	void *const *fp = __builtin_frame_address(0);
	int frames = 0;
	_Unwind_Reason_Code rc;

	(void)arg;
	rc = _Unwind_Backtrace(bt_step, &frames);
	if (rc != _URC_END_OF_STACK)
		bt_why = failf("unwinding stopped with code %d after %d frames",
			       (int)rc, frames);
	else if (frames > BT_MAX_FRAMES)
		bt_why = failf("unwinding found %d frames on a new context",
			       frames);
	else if (fp[0] != NULL)
		bt_why = failf("the frame-pointer chain goes on to %p", fp[0]);
	park(&bt_co, &bt_main);
}

static const char *backtrace_stops_at_entry(void)
{
	char *stack = stack_new();

	bt_why = NULL;
	weft__ctx_make(&bt_co, stack + STACK_SIZE, bt_fn, NULL);
	weft__ctx_switch(&bt_main, &bt_co);
	stack_free(stack);
	return bt_why;
}

/* ---- the runner ---- */

static const char *current_test;
static int passed, failed;

/* The crash handler's output, through write alone, which is safe in a
 * signal handler. */
static void put(const char *s)
{
	ssize_t n = write(STDOUT_FILENO, s, strlen(s));

	(void)n;
}

static void put_int(int n)
{
	char buf[16];
	char *p = buf + sizeof buf;

	*--p = 0;
	do
		*--p = (char)('0' + n % 10);
	while (n /= 10);
	put(p);
}

/* A broken switch more often crashes than computes a wrong value: report
 * that as the running test's failure, and still end with the count. */
static void crashed(int sig)
{
	put("FAIL ");
	put(current_test);
	put(": killed by signal ");
	put_int(sig);
	put("\n");
	put_int(passed);
	put(" passed, ");
	put_int(failed + 1);
	put(" failed\n");
	_exit(1);
}

/* The handler runs on a stack of its own, since the one that crashed may
 * be the very thing that is broken. */
static void catch_crashes(void)
{
	static char altstack[64 << 10];
	static const int sigs[] = {
		SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT,
	};
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	struct sigaction sa = {
		.sa_handler = crashed,
		.sa_flags = SA_ONSTACK | SA_RESETHAND,
	};

	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) != 0)
		perror("ctx_selftest: sigaltstack");
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

static const struct {
	const char *name;
	const char *(*run)(void);
} tests[] = {
	/* First, because a register the switch loses can crash the others
	 * before they report, while this one survives to name it. */
	{ "callee_saved_registers_survive_switch",
	  callee_saved_registers_survive_switch },
	{ "ping_pong_alternates_in_order", ping_pong_alternates_in_order },
	{ "live_locals_survive_switch", live_locals_survive_switch },
	{ "new_context_stack_is_aligned", new_context_stack_is_aligned },
	{ "fp_control_is_inherited_and_per_context",
	  fp_control_is_inherited_and_per_context },
	{ "thousand_contexts_take_turns", thousand_contexts_take_turns },
	{ "returning_function_reaches_ctx_returned",
	  returning_function_reaches_ctx_returned },
	{ "backtrace_stops_at_entry", backtrace_stops_at_entry },
};

int main(void)
{
	catch_crashes();
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		const char *why;

		current_test = tests[i].name;
		why = tests[i].run();

		if (why) {
			printf("FAIL %s: %s\n", tests[i].name, why);
			failed++;
		} else {
			printf("ok %s\n", tests[i].name);
			passed++;
		}
		/* A crash in the next test should not lose this line. */
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
