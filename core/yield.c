/* yield.c - weft_yield's entry, in assembly: the return after a yield.
 *
 * weft_yield returns, after the switch, to whatever called it in the
 * context switched to.  The CPU predicts a `ret` from its return stack,
 * which at that point holds the calls of the context switched from: the
 * switch and the scheduler's frames are the same code on both sides, so
 * their returns are predicted, but the last one, out of weft_yield, goes
 * where the other side called it from.  Between two coroutines that run
 * the same function that is the same place; between main and a coroutine
 * it is not, and every such switch cost a mispredicted return: on the
 * machine measured, 22 ns a switch between main and a coroutine against
 * 15 ns when main called weft_yield through the coroutine's function,
 * so that both returned to one site (best of runs of each).
 *
 * So the entry asks weft__yield (sched.c), which does the work, where the
 * return stack's top now points: the return site of the last switch's
 * weft_yield if that switch came from one, else NULL.  If that is this
 * call's own return site, it returns with `ret`; if not, it pops the
 * return address and jumps to it, which the indirect branch predictor
 * guesses from the path that led here (main's loop is not the
 * coroutine's).  The jump leaves the other side's entry on the return
 * stack, unpopped; a `ret` here would have popped it while missing, and
 * the frames below ours are the other side's calls, not ours, so their
 * returns miss either way.  Where the sides agree (two coroutines of one
 * function) nothing changes: `ret`, as before.
 *
 * Where indirect branches must land on a marker (x86-64 IBT, aarch64 BTI)
 * a return site has none, so there it always returns with `ret`.  It is
 * a C file of top-level assembly because the switch's .S file is also
 * assembled alone into programs that have no scheduler (bench/switch.c,
 * tests/ctx_selftest.c).
 */

#if defined(__x86_64__)

#if defined(__CET__) && (__CET__ & 1)
#define YIELD_ENTRY	"endbr64\n\t"
#define YIELD_JUMP	"jmp	2f\n\t"		/* never jump: ret */
#else
#define YIELD_ENTRY
#define YIELD_JUMP	"jne	1f\n\t"
#endif

__asm__(
	".text\n\t"
	".globl	weft_yield\n\t"
	".type	weft_yield, @function\n\t"
	".p2align 4\n"
"weft_yield:\n\t"
	".cfi_startproc\n\t"
	YIELD_ENTRY
	"movq	(%rsp), %rdi\n\t"	/* our return site */
	"subq	$8, %rsp\n\t"		/* the call with rsp % 16 == 0 */
	".cfi_adjust_cfa_offset 8\n\t"
	"call	weft__yield\n\t"
	"addq	$8, %rsp\n\t"
	".cfi_adjust_cfa_offset -8\n\t"
	"cmpq	(%rsp), %rax\n\t"
	YIELD_JUMP
"2:\n\t"
	"ret\n"
"1:\n\t"
	"popq	%rcx\n\t"
	".cfi_adjust_cfa_offset -8\n\t"
	".cfi_register rip, rcx\n\t"
	"jmp	*%rcx\n\t"
	".cfi_endproc\n\t"
	".size	weft_yield, .-weft_yield\n\t"
	".previous");

#elif defined(__aarch64__)

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define YIELD_ENTRY	"hint	#34\n\t"	/* bti c */
#define YIELD_JUMP	"b	2f\n\t"		/* never br: ret */
#else
#define YIELD_ENTRY
#define YIELD_JUMP	"b.ne	1f\n\t"
#endif

__asm__(
	".text\n\t"
	".globl	weft_yield\n\t"
	".type	weft_yield, %function\n\t"
	".p2align 4\n"
"weft_yield:\n\t"
	".cfi_startproc\n\t"
	YIELD_ENTRY
	"stp	x29, x30, [sp, #-16]!\n\t"
	".cfi_def_cfa_offset 16\n\t"
	".cfi_offset x29, -16\n\t"
	".cfi_offset x30, -8\n\t"
	"mov	x29, sp\n\t"
	"mov	x0, x30\n\t"		/* our return site */
	"bl	weft__yield\n\t"
	"ldp	x29, x30, [sp], #16\n\t"
	".cfi_restore x29\n\t"
	".cfi_restore x30\n\t"
	".cfi_def_cfa_offset 0\n\t"
	"cmp	x0, x30\n\t"
	YIELD_JUMP
"2:\n\t"
	"ret\n"
"1:\n\t"
	"br	x30\n\t"		/* not `ret`: no return prediction */
	".cfi_endproc\n\t"
	".size	weft_yield, .-weft_yield\n\t"
	".previous");

#else
#error "weft_yield: no entry for this architecture"
#endif
