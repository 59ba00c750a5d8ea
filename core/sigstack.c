/* sigstack.c - alternate signal stacks: a green thread's own, and the
 * running of a handler on the stack the kernel would run it on (see
 * sigs.h).
 *
 * The kernel keeps one alternate stack per OS thread, and weft keeps each
 * scheduler thread's for itself (a green thread that overflows its stack
 * needs one for weft's report).  So a green thread's sigaltstack is a
 * record, s->alt, and weft does with it what the kernel does at delivery
 * (get_sigframe in its arch code, and kernel/signal.c): a handler with
 * SA_ONSTACK runs at the top of the thread's alternate stack if one is
 * armed and the interrupted stack pointer is not on it already; on it,
 * below the interrupted stack pointer; SS_AUTODISARM disarms the stack
 * while the handler runs and arms it again when it returns (not after a
 * siglongjmp out of it: the kernel restores it at sigreturn only).  Any
 * other handler runs on the interrupted stack.
 *
 * The switch is weft__call_on (switch_*.S): fn(arg) called with another
 * stack pointer, back on the caller's when it returns.  Elsewhere the
 * handler runs where it is called, as before.
 *
 * Main and native threads keep the kernel's own alternate stack.  The
 * front (sigroute.c) is installed without SA_ONSTACK, so that its frame
 * is always on the interrupted stack (a handler that parks may take its
 * green thread to another OS thread, whose alternate stack another signal
 * would overwrite); for them, a handler with SA_ONSTACK asks the kernel
 * for the thread's alternate stack and does as the kernel would, the
 * SS_AUTODISARM included.
 */
#include <stdint.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "core.h"
#include "fiber.h"
#include "sigs.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31) /* the kernel's; glibc does not name it */
#endif

/* Bytes left alone below an interrupted stack pointer: x86-64's red zone
 * (128), and more, as the kernel leaves. */
#define RED_ZONE 256

#if defined(__x86_64__) || defined(__aarch64__)
void weft__call_on(void (*fn)(void *), void *arg, void *stack_top);
#else
/* No switch written for this architecture: the handler runs here. */
static void weft__call_on(void (*fn)(void *), void *arg, void *stack_top)
{
	(void)stack_top;
	fn(arg);
}
#endif

/* Whether sp lies on ss, the kernel's on_sig_stack. */
static bool on(const stack_t *ss, const char *sp)
{
	const char *lo = ss->ss_sp;

	if (ss->ss_flags & SS_AUTODISARM)
		return false;
	return ss->ss_size != 0 && sp > lo && (size_t)(sp - lo) <= ss->ss_size;
}

/* The top of ss, where a handler entering it starts. */
static char *top_of(const stack_t *ss)
{
	return (char *)ss->ss_sp + ss->ss_size;
}

/* See sigs.h. */
bool weft__sigstack_on(const struct weft__sigs *s, const char *sp)
{
	return on(&s->alt, sp);
}

/* See sigs.h.  The kernel's sigaltstack keeps SS_AUTODISARM, and reports
 * it back, with SS_ONSTACK or SS_DISABLE for the rest. */
void weft__sigstack_swap(struct weft__sigs *s, const stack_t *ss,
			 stack_t *old, const char *sp)
{
	if (old != NULL) {
		*old = s->alt;
		old->ss_flags = (s->alt.ss_flags & SS_AUTODISARM) |
				(s->alt.ss_size == 0 ? SS_DISABLE :
				 on(&s->alt, sp) ? SS_ONSTACK : 0);
	}
	if (ss == NULL)
		return;
	weft__sigstack_end(s);
	if (ss->ss_flags & SS_DISABLE) {
		s->alt = (stack_t){ .ss_flags = ss->ss_flags & SS_AUTODISARM };
		return;
	}
	s->alt = (stack_t){ .ss_sp = ss->ss_sp, .ss_size = ss->ss_size,
			    .ss_flags = ss->ss_flags & SS_AUTODISARM };
	s->alt_vg = 1 + weft__valgrind_stack_user(ss->ss_sp,
						  top_of(&s->alt));
}

/* See sigs.h. */
void weft__sigstack_end(struct weft__sigs *s)
{
	if (s->alt_vg != 0)
		weft__valgrind_stack_gone(s->alt_vg - 1);
	s->alt_vg = 0;
	s->alt = (stack_t){ 0 };
}

/* A handler's call, for weft__call_on. */
struct call {
	int sig;
	siginfo_t *si;
	void *uc;
	const struct sigaction *sa;
};

static void call(void *arg)
{
	struct call *c = arg;

	if (c->sa->sa_flags & SA_SIGINFO)
		c->sa->sa_sigaction(c->sig, c->si, c->uc);
	else
		c->sa->sa_handler(c->sig);
}

/* Runs c at the top of green thread s's alternate stack, armed, which the
 * interrupted stack pointer is not on: the stack in use is s's own code's
 * meanwhile, and SS_AUTODISARM disarms it until the handler returns. */
static void on_green_alt(struct weft__sigs *s, struct call *c)
{
	stack_t alt = s->alt;
	char *lo = s->alt_lo, *hi = s->alt_hi;

	s->alt_lo = alt.ss_sp;
	s->alt_hi = top_of(&alt);
	if (alt.ss_flags & SS_AUTODISARM)
		s->alt = (stack_t){ .ss_flags = SS_DISABLE };
	weft__call_on(call, c, top_of(&alt));
	if (alt.ss_flags & SS_AUTODISARM)
		s->alt = alt;
	s->alt_lo = lo;
	s->alt_hi = hi;
}

/* Runs c for green thread s, interrupted at sp, where the kernel would
 * run it (see the top of the file; moved: this runs away from the
 * interrupted stack), with the context's uc_stack saying what the kernel
 * would have saved there, the thread's alternate stack, rather than the
 * OS thread's: put back before the context is returned to, since the
 * kernel's sigreturn sets the OS thread's alternate stack from it. */
static void on_green(struct weft__sigs *s, struct call *c, char *sp,
		     bool onstack, bool moved)
{
	ucontext_t *u = c->uc;
	stack_t kept = u->uc_stack;

	weft__sigstack_swap(s, NULL, &u->uc_stack, sp);
	if (onstack && s->alt.ss_size != 0 && !on(&s->alt, sp))
		on_green_alt(s, c);
	else if (moved) /* on the interrupted stack, below what it holds */
		weft__call_on(call, c, sp - RED_ZONE);
	else
		call(c);
	u->uc_stack = kept;
}

/* Runs c where the kernel would for a thread whose alternate stack is
 * the kernel's (main, a native thread), from the interrupted stack: on
 * that stack if it is armed and sp is not on it, else here. */
static void on_kernel_alt(struct call *c, const char *sp)
{
	stack_t k, off = { .ss_flags = SS_DISABLE };

	if (weft__sig_sys == NULL ||
	    weft__sig_sys(SYS_sigaltstack, NULL, &k) != 0 ||
	    (k.ss_flags & SS_DISABLE) || on(&k, sp)) {
		call(c);
		return;
	}
	if (k.ss_flags & SS_AUTODISARM)
		weft__sig_sys(SYS_sigaltstack, &off, NULL);
	weft__call_on(call, c, top_of(&k));
	if (k.ss_flags & SS_AUTODISARM)
		weft__sig_sys(SYS_sigaltstack, &k, NULL);
}

/* See sigs.h. */
void weft__sigstack_call(struct weft__sigs *s, int sig, siginfo_t *si,
			 void *uc, const struct sigaction *sa, bool moved)
{
	struct call c = { .sig = sig, .si = si, .uc = uc, .sa = sa };
	char *sp = weft__uc_sp(uc);
	bool onstack = sa->sa_flags & SA_ONSTACK;

	if (sp == NULL) { /* an architecture weft cannot read */
		call(&c);
		return;
	}
	if (s != NULL && s->co != NULL && s->co->slot != NULL) {
		on_green(s, &c, sp, onstack, moved);
		return;
	}
	if (onstack) {
		/* moved: the kernel ran the caller on the thread's own. */
		if (moved)
			call(&c);
		else
			on_kernel_alt(&c, sp);
		return;
	}
	if (moved) /* on the interrupted stack, below what it holds */
		weft__call_on(call, &c, sp - RED_ZONE);
	else
		call(&c);
}
