/* syscall_intr_x86_64.S - a system call a poke can stop, for x86-64.
 *
 *   long weft__syscall_intr(const _Atomic bool *stop, long nr, long a0,
 *                           long a1, long a2, long a3, long a4, long a5);
 *
 * Makes system call nr with a0-a5 and returns the kernel's result (a
 * negative errno on failure), unless *stop is set before the call is
 * made, or a poke comes while it waits: then it returns -EINTR.  How
 * (offload_intr.c): the offload worker that runs it has *stop set by the
 * caller, then is poked (poke.c); the poke's handler, seeing the
 * interrupted pc in [weft__syscall_intr_begin, weft__syscall_intr_end),
 * moves it to weft__syscall_intr_out.  That range covers the load of
 * *stop and everything up to and including the syscall instruction, so:
 *
 *   - a poke before the load, or after it and before the syscall: the
 *     call is never made;
 *   - a poke while the kernel waits: the kernel ends the wait for the
 *     handler, and because the poke's handler has SA_RESTART it rewinds
 *     the pc to the syscall instruction to restart it; the handler finds
 *     it in range and the call is not made again;
 *   - a poke once the call has returned: the pc is weft__syscall_intr_end,
 *     out of range, and the result stands (a lock taken is kept).
 *
 * Registers: the System V AMD64 ABI passes stop, nr, a0-a3 in rdi, rsi,
 * rdx, rcx, r8, r9 and a4, a5 on the stack above the return address; the
 * kernel's syscall convention (entry_64.S) takes nr in rax and the
 * arguments in rdi, rsi, rdx, r10, r8, r9, returns in rax and clobbers rcx
 * and r11.  Nothing is pushed, so the stack is as on entry at every
 * instruction, the out path's ret included.
 */
	.text

	.globl	weft__syscall_intr
	.hidden	weft__syscall_intr
	.type	weft__syscall_intr, @function
	.globl	weft__syscall_intr_begin
	.hidden	weft__syscall_intr_begin
	.globl	weft__syscall_intr_end
	.hidden	weft__syscall_intr_end
	.globl	weft__syscall_intr_out
	.hidden	weft__syscall_intr_out
	.p2align 4
weft__syscall_intr:
	.cfi_startproc
weft__syscall_intr_begin:
	cmpb	$0, (%rdi)
	jne	weft__syscall_intr_out
	movq	%rsi, %rax
	movq	%rdx, %rdi
	movq	%rcx, %rsi
	movq	%r8, %rdx
	movq	%r9, %r10
	movq	8(%rsp), %r8
	movq	16(%rsp), %r9
	syscall
weft__syscall_intr_end:
	ret
weft__syscall_intr_out:
	movq	$-4, %rax		/* -EINTR */
	ret
	.cfi_endproc
	.size	weft__syscall_intr, .-weft__syscall_intr

	.section .note.GNU-stack,"",@progbits
