/* switch_aarch64.S - context switch for aarch64 (AAPCS64).
 *
 *   void weft__ctx_switch(struct weft__ctx *from, struct weft__ctx *to);
 *   void weft__ctx_make(struct weft__ctx *ctx, void *stack_top,
 *                       void (*fn)(void *), void *arg);
 *   void weft__call_on(void (*fn)(void *), void *arg, void *stack_top);
 *
 * The AAPCS64 ("Procedure Call Standard for the Arm 64-bit Architecture",
 * sections "General-purpose Registers" and "SIMD and Floating-Point
 * Registers") makes x19-x29 and sp callee-saved, and of v8-v15 only the low
 * 64 bits, d8-d15.  x30 (lr) holds the address the switch returns to.  FPCR
 * is a global register there, changed only by functions such as fesetround
 * that exist to change it; it is kept per context, as each thread has its
 * own.  Those, and nothing else, are kept: the upper halves of v8-v15 and
 * any SVE or SME state belong to the caller.  A switched-out context's stack
 * looks like this, from the saved stack pointer upwards:
 *
 *   offset  size  content
 *   0x00    8     FPCR (8 bytes of padding follow)
 *   0x10    8     x19
 *   0x18    8     x20
 *   0x20    8     x21
 *   0x28    8     x22
 *   0x30    8     x23
 *   0x38    8     x24
 *   0x40    8     x25
 *   0x48    8     x26
 *   0x50    8     x27
 *   0x58    8     x28
 *   0x60    8     x29 (fp)
 *   0x68    8     x30 (lr): where the switch returns to
 *   0x70    8     d8
 *   0x78    8     d9
 *   0x80    8     d10
 *   0x88    8     d11
 *   0x90    8     d12
 *   0x98    8     d13
 *   0xa0    8     d14
 *   0xa8    8     d15
 *   0xb0          (the frame is 0xb0 bytes, a multiple of 16)
 *
 * The AAPCS64 ("The Stack") requires sp % 16 == 0 whenever memory is
 * accessed through sp; the frame's size keeps it so throughout.
 *
 * weft__ctx_make builds the same frame by hand, with x19 = fn, x20 = arg,
 * x29 = 0 (the end of the frame-record chain) and x30 pointing into the
 * entry trampoline, which calls fn(arg) with sp = stack_top rounded down
 * to 16.
 */
#define FRAME	0xb0

/* Built with -mbranch-protection, the C files are marked as supporting BTI
 * and PAC, and the linker keeps that mark on the program only if every
 * object has it.  So the functions start with a landing pad (a hint, a nop
 * on cores without BTI) and the note at the end claims the same features.
 * Nothing here signs return addresses: x30 is saved as the caller left it,
 * and the frame built by weft__ctx_make is entered with ret, which BTI
 * does not check. */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define BTI_C	hint	#34
#define FEATURE_BTI	1
#else
#define BTI_C
#define FEATURE_BTI	0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#define FEATURE_PAC	2
#else
#define FEATURE_PAC	0
#endif

	.text

	.globl	weft__ctx_switch
	.hidden	weft__ctx_switch
	.type	weft__ctx_switch, %function
	.p2align 4
weft__ctx_switch:
	.cfi_startproc
	BTI_C
	/* x0 = from, x1 = to */
	sub	sp, sp, #FRAME
	.cfi_def_cfa_offset FRAME
	stp	x19, x20, [sp, #0x10]
	stp	x21, x22, [sp, #0x20]
	stp	x23, x24, [sp, #0x30]
	stp	x25, x26, [sp, #0x40]
	stp	x27, x28, [sp, #0x50]
	stp	x29, x30, [sp, #0x60]
	/* Described to unwinders, so that a debugger or profiler stopping in
	 * here sees the caller.  The other context's frame, loaded below, has
	 * the same layout, so the description stays true after the swap. */
	.cfi_rel_offset x19, 0x10
	.cfi_rel_offset x20, 0x18
	.cfi_rel_offset x21, 0x20
	.cfi_rel_offset x22, 0x28
	.cfi_rel_offset x23, 0x30
	.cfi_rel_offset x24, 0x38
	.cfi_rel_offset x25, 0x40
	.cfi_rel_offset x26, 0x48
	.cfi_rel_offset x27, 0x50
	.cfi_rel_offset x28, 0x58
	.cfi_rel_offset x29, 0x60
	.cfi_rel_offset x30, 0x68
	stp	d8, d9, [sp, #0x70]
	stp	d10, d11, [sp, #0x80]
	stp	d12, d13, [sp, #0x90]
	stp	d14, d15, [sp, #0xa0]
	mrs	x9, fpcr
	str	x9, [sp]
	mov	x10, sp
	str	x10, [x0]		/* from->sp = sp */
	ldr	x10, [x1]
	mov	sp, x10			/* sp = to->sp */
	/* Writing FPCR can stall the pipeline on some cores, and contexts
	 * nearly always share one setting, so it is written only on change,
	 * as glibc's fesetround does.  x9 still holds the outgoing value. */
	ldr	x10, [sp]
	cmp	x9, x10
	b.eq	1f
	msr	fpcr, x10
1:	ldp	d8, d9, [sp, #0x70]
	ldp	d10, d11, [sp, #0x80]
	ldp	d12, d13, [sp, #0x90]
	ldp	d14, d15, [sp, #0xa0]
	ldp	x19, x20, [sp, #0x10]
	ldp	x21, x22, [sp, #0x20]
	ldp	x23, x24, [sp, #0x30]
	ldp	x25, x26, [sp, #0x40]
	ldp	x27, x28, [sp, #0x50]
	ldp	x29, x30, [sp, #0x60]
	add	sp, sp, #FRAME
	.cfi_def_cfa_offset 0
	.cfi_restore x19
	.cfi_restore x20
	.cfi_restore x21
	.cfi_restore x22
	.cfi_restore x23
	.cfi_restore x24
	.cfi_restore x25
	.cfi_restore x26
	.cfi_restore x27
	.cfi_restore x28
	.cfi_restore x29
	.cfi_restore x30
	ret
	.cfi_endproc
	.size	weft__ctx_switch, .-weft__ctx_switch

	.globl	weft__ctx_make
	.hidden	weft__ctx_make
	.type	weft__ctx_make, %function
	.p2align 4
weft__ctx_make:
	.cfi_startproc
	BTI_C
	/* x0 = ctx, x1 = stack_top, x2 = fn, x3 = arg */
	and	x1, x1, #-16		/* the trampoline runs with sp % 16 == 0 */
	sub	x1, x1, #FRAME		/* the frame of the table above */
	mrs	x9, fpcr
	stp	x9, xzr, [x1]		/* FPCR, inherited from the creator */
	stp	x2, x3, [x1, #0x10]	/* x19 = fn, x20 = arg */
	stp	xzr, xzr, [x1, #0x20]	/* x21-x28: nothing */
	stp	xzr, xzr, [x1, #0x30]
	stp	xzr, xzr, [x1, #0x40]
	stp	xzr, xzr, [x1, #0x50]
	adr	x9, .Lentry
	stp	xzr, x9, [x1, #0x60]	/* x29 = 0 ends frame-pointer walks */
	stp	xzr, xzr, [x1, #0x70]	/* d8-d15: nothing */
	stp	xzr, xzr, [x1, #0x80]
	stp	xzr, xzr, [x1, #0x90]
	stp	xzr, xzr, [x1, #0xa0]
	str	x1, [x0]
	ret
	.cfi_endproc
	.size	weft__ctx_make, .-weft__ctx_make

	.type	ctx_entry, %function
	.p2align 4
ctx_entry:
	.cfi_startproc
	.cfi_undefined x30		/* the outermost frame: unwinders stop */
	/* Unwinders look up the code at a return address minus one, which
	 * for the first instruction of a function lies in the one before.
	 * A suspended new context "returns" to .Lentry, so .Lentry must not
	 * be the first instruction here: this nop is never executed. */
	nop
.Lentry:
	mov	x0, x20
	blr	x19
	bl	weft__ctx_returned
	brk	#0x3e8			/* as __builtin_trap: tools call it a trap */
	.cfi_endproc
	.size	ctx_entry, .-ctx_entry

/* weft__call_on calls fn(arg) with sp at stack_top (rounded down to 16),
 * then returns on the caller's own stack: a signal handler run on the
 * stack the kernel would have picked (sigstack.c).  The frame record
 * (x29, x30), pushed on the caller's stack, keeps the way back, and x29
 * is the frame pointer the CFI below names, so that an unwinder walks
 * from the handler's frames to the caller's.
 *
 *   offset from x29  content
 *   0x00             the caller's x29
 *   0x08             x30 (lr): where this returns to
 */
	.globl	weft__call_on
	.hidden	weft__call_on
	.type	weft__call_on, %function
	.p2align 4
weft__call_on:
	.cfi_startproc
	BTI_C
	stp	x29, x30, [sp, #-16]!
	.cfi_def_cfa_offset 16
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	mov	x29, sp
	.cfi_def_cfa_register x29
	and	x2, x2, #-16
	mov	sp, x2
	mov	x9, x0
	mov	x0, x1
	blr	x9
	mov	sp, x29
	.cfi_def_cfa_register sp
	ldp	x29, x30, [sp], #16
	.cfi_def_cfa_offset 0
	.cfi_restore x29
	.cfi_restore x30
	ret
	.cfi_endproc
	.size	weft__call_on, .-weft__call_on

	.section .note.GNU-stack,"",%progbits

#if FEATURE_BTI || FEATURE_PAC
	/* An ELF note (NT_GNU_PROPERTY_TYPE_0, owner "GNU") holding one
	 * property, GNU_PROPERTY_AARCH64_FEATURE_1_AND, with its bits. */
	.section .note.gnu.property,"a"
	.p2align 3
	.word	4			/* size of the owner's name */
	.word	16			/* size of the property */
	.word	5			/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.word	0xc0000000		/* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
	.word	4			/* size of its value */
	.word	FEATURE_BTI | FEATURE_PAC
	.word	0			/* padding to 8 bytes */
#endif
