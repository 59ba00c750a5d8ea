/* syscall_intr_aarch64.S - a system call a poke can stop, for aarch64.
 *
 *   long weft__syscall_intr(const _Atomic bool *stop, long nr, long a0,
 *                           long a1, long a2, long a3, long a4, long a5);
 *
 * The same contract and the same range as syscall_intr_x86_64.S, which
 * says why it works: [weft__syscall_intr_begin, weft__syscall_intr_end)
 * holds the load of *stop and everything up to and including the svc,
 * to which the kernel rewinds the pc (by 4) when the poke's SA_RESTART
 * handler interrupts the wait.
 *
 * Registers: the AAPCS64 passes stop, nr, a0-a5 in x0-x7; the kernel's
 * convention takes nr in x8 and the arguments in x0-x5, and returns in
 * x0.  The load of *stop is an acquire (ldarb): the worker publishes
 * which thread it is with a release store just before (offload_intr.c),
 * and a store-release followed by a load-acquire is not reordered, so
 * either the caller's poke finds the worker or the worker sees stop.
 */
	.text

	.globl	weft__syscall_intr
	.hidden	weft__syscall_intr
	.type	weft__syscall_intr, %function
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
	ldarb	w9, [x0]
	cbnz	w9, weft__syscall_intr_out
	mov	x8, x1
	mov	x0, x2
	mov	x1, x3
	mov	x2, x4
	mov	x3, x5
	mov	x4, x6
	mov	x5, x7
	svc	#0
weft__syscall_intr_end:
	ret
weft__syscall_intr_out:
	mov	x0, #-4			/* -EINTR */
	ret
	.cfi_endproc
	.size	weft__syscall_intr, .-weft__syscall_intr

	.section .note.GNU-stack,"",@progbits
