/* ctx.h - the machine context of a coroutine and the switch between two.
 *
 * A context is nothing but a saved stack pointer: weft__ctx_switch pushes the
 * callee-saved registers on the current stack, stores the stack pointer in
 * *from, loads the one in *to and pops that context's registers.  Everything
 * else a coroutine owns lives on its stack.  The assembly for each
 * architecture is in switch_<arch>.S, with its table of saved registers.
 */
#ifndef WEFT_CTX_H
#define WEFT_CTX_H

struct weft__ctx {
	void *sp; /* saved stack pointer; valid only while switched out */
};

/* Saves the running context in *from and resumes *to.  Returns when some
 * other context switches back to *from.  Never fails. */
void weft__ctx_switch(struct weft__ctx *from, struct weft__ctx *to);

/* Prepares *ctx so that the first switch to it calls fn(arg) on the stack
 * whose highest address is stack_top (need not be aligned).  The floating
 * point control state (MXCSR and x87 control word on x86-64, FPCR on
 * aarch64) is copied from the caller, as a new thread inherits it.  fn must
 * never return: if it does, weft__ctx_returned() is called. */
void weft__ctx_make(struct weft__ctx *ctx, void *stack_top,
		    void (*fn)(void *), void *arg);

/* Called by the assembly if a context's entry function returns, which is a
 * bug in weft: prints one line and aborts.  Never returns. */
void weft__ctx_returned(void) __attribute__((noreturn));

#endif
