/* switch_x86_64.S - context switch for x86-64 (System V AMD64 ABI).
 *
 *   void weft__ctx_switch(struct weft__ctx *from, struct weft__ctx *to);
 *   void weft__ctx_make(struct weft__ctx *ctx, void *stack_top,
 *                       void (*fn)(void *), void *arg);
 *   void weft__call_on(void (*fn)(void *), void *arg, void *stack_top);
 *
 * The System V ABI (AMD64 supplement, section 3.2.3, figure 3.4) makes rbx,
 * rbp, r12-r15 and rsp callee-saved, and section 3.2.1 adds the control
 * bits of MXCSR and the x87 control word.  Those, and nothing else, are
 * kept.  (stmxcsr saves MXCSR whole, so its sticky exception flags travel
 * with the context too; the x87 status word does not.)  A switched-out context's stack looks like this, from the saved
 * stack pointer upwards:
 *
 *   offset  size  content
 *   0x00    4     MXCSR
 *   0x04    2     x87 control word (2 bytes of padding follow)
 *   0x08    8     r15
 *   0x10    8     r14
 *   0x18    8     r13
 *   0x20    8     r12
 *   0x28    8     rbx
 *   0x30    8     rbp
 *   0x38    8     return address
 *
 * weft__ctx_make builds the same frame by hand, with r12 = fn, r13 = arg and
 * the return address pointing at the entry trampoline, which calls fn(arg)
 * with the stack aligned as for any call.
 */
	.text

	.globl	weft__ctx_switch
	.hidden	weft__ctx_switch
	.type	weft__ctx_switch, @function
	.p2align 4
weft__ctx_switch:
	.cfi_startproc
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbp, 0
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbx, 0
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r12, 0
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r13, 0
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r14, 0
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r15, 0
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	/* The other context's frame has the same layout, so the CFI above
	 * stays true after the stack pointer is swapped. */
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)		/* from->sp = rsp */
	movq	(%rsi), %rsp		/* rsp = to->sp */
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	weft__ctx_switch, .-weft__ctx_switch

	.globl	weft__ctx_make
	.hidden	weft__ctx_make
	.type	weft__ctx_make, @function
	.p2align 4
weft__ctx_make:
	.cfi_startproc
	/* rdi = ctx, rsi = stack_top, rdx = fn, rcx = arg */
	andq	$-16, %rsi		/* trampoline runs with rsp % 16 == 0 */
	leaq	-0x40(%rsi), %rax	/* the frame of the table above */
	stmxcsr	(%rax)
	fnstcw	4(%rax)
	movq	$0, 0x08(%rax)		/* r15 */
	movq	$0, 0x10(%rax)		/* r14 */
	movq	%rcx, 0x18(%rax)	/* r13 = arg */
	movq	%rdx, 0x20(%rax)	/* r12 = fn */
	movq	$0, 0x28(%rax)		/* rbx */
	movq	$0, 0x30(%rax)		/* rbp: ends frame-pointer walks */
	leaq	ctx_entry(%rip), %r8
	movq	%r8, 0x38(%rax)
	movq	%rax, (%rdi)
	ret
	.cfi_endproc
	.size	weft__ctx_make, .-weft__ctx_make

	/* Unwinders look up a return address minus one: the nop keeps that
	 * inside this function rather than in the padding before it. */
	.type	ctx_entry_pad, @function
	.p2align 4
ctx_entry_pad:
	.cfi_startproc
	.cfi_undefined rip		/* the outermost frame: unwinders stop */
	nop
ctx_entry:
	movq	%r13, %rdi
	callq	*%r12
	callq	weft__ctx_returned
	ud2
	.cfi_endproc
	.size	ctx_entry_pad, .-ctx_entry_pad

/* weft__call_on calls fn(arg) with the stack pointer at stack_top
 * (rounded down to 16), then returns on the caller's own stack: a signal
 * handler run on the stack the kernel would have picked (sigstack.c).
 * rbp, pushed on the caller's stack, keeps the way back and is the frame
 * pointer the CFI below names, so that an unwinder (a cancellation that
 * unwinds out of the handler, a debugger's backtrace) walks from the
 * handler's frames to the caller's.
 *
 *   offset from rbp  content
 *   0x00             the caller's rbp
 *   0x08             return address
 */
	.globl	weft__call_on
	.hidden	weft__call_on
	.type	weft__call_on, @function
	.p2align 4
weft__call_on:
	.cfi_startproc
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbp, 0
	movq	%rsp, %rbp
	.cfi_def_cfa_register rbp
	andq	$-16, %rdx
	movq	%rdx, %rsp		/* the call leaves rsp % 16 == 8 */
	movq	%rdi, %rax
	movq	%rsi, %rdi
	callq	*%rax
	movq	%rbp, %rsp
	.cfi_def_cfa_register rsp
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbp
	ret
	.cfi_endproc
	.size	weft__call_on, .-weft__call_on

	.section .note.GNU-stack,"",@progbits
