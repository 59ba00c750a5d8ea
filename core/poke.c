/* poke.c - the poke: SIGCANCEL sent to the OS thread of a running program
 * thread, so that it takes a signal or an asynchronous cancel now (see
 * poke.h).
 *
 * The handler is installed with the raw system call, as glibc refuses
 * SIGCANCEL to sigaction; on x86-64 the kernel then needs a restorer of
 * weft's own, made of exactly the bytes of glibc's (libgcc's unwinder
 * knows a signal frame by them, so that an asynchronous cancel can
 * unwind through it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "handoff.h"
#include "offload.h"
#include "poke.h"
#include "sched.h"
#include "sigs.h"
#include "waitq.h"

#include <link.h> /* after ev.h: its elf.h defines EV_NONE */

#define POKE __SIGRTMIN /* glibc's SIGCANCEL */

/* The kernel's struct sigaction (its mask is 64 bits wide). */
struct kaction {
	void (*handler)(int, siginfo_t *, void *);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

#if defined(__x86_64__)
/* rt_sigreturn, as glibc's __restore_rt: `mov $15, %rax; syscall`.  The
 * nop before it keeps the unwinder's look-up of the return address minus
 * one out of any function's unwind table. */
void weft__poke_restorer(void);
__asm__(".pushsection .text.weft_poke_restorer, \"ax\", @progbits\n"
	"\t.p2align 4\n"
	"\tnop\n"
	"weft__poke_restorer:\n"
	"\t.byte 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00\n"
	"\t.byte 0x0f, 0x05\n"
	"\t.popsection\n");
#define RESTORER weft__poke_restorer
#define RESTORER_FLAG SA_RESTORER
#else
#define RESTORER NULL /* the kernel's own trampoline */
#define RESTORER_FLAG 0
#endif

static long (*raw)(long, ...);
static bool installed;
static char cookie; /* a poke's si_value */

/* glibc's SIGCANCEL handler, to which every SIGCANCEL that is no poke
 * goes, or NULL. */
static void (*_Atomic chain)(int, siginfo_t *, void *);

/* weft's own code, where an asynchronous cancel must not unwind from:
 * the executable part of the object weft is in, if that is a library of
 * its own (linked into the program, weft cannot tell its code from the
 * program's). */
static uintptr_t text_lo, text_hi;

static int find_text(struct dl_phdr_info *info, size_t size, void *base)
{
	(void)size;
	if (info->dlpi_addr != (uintptr_t)base || info->dlpi_name == NULL ||
	    info->dlpi_name[0] == '\0')
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type == PT_LOAD && (p->p_flags & PF_X)) {
			text_lo = info->dlpi_addr + p->p_vaddr;
			text_hi = text_lo + p->p_memsz;
		}
	}
	return 1;
}

/* The program counter of the context a signal interrupted. */
static uintptr_t uc_pc(void *uc)
{
	const ucontext_t *u = uc;
#if defined(__x86_64__)
	return (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)u->uc_mcontext.pc;
#else
	(void)u;
	return 0;
#endif
}

/* Makes the context a signal interrupted go on at pc. */
static void uc_set_pc(void *uc, uintptr_t pc)
{
	ucontext_t *u = uc;
#if defined(__x86_64__)
	u->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
#elif defined(__aarch64__)
	u->uc_mcontext.pc = pc;
#else
	(void)u, (void)pc;
#endif
}

/* Acts on co's asynchronous cancel from the poke's handler, if one is
 * due and co was interrupted outside weft's code: the OS thread's mask
 * goes back to what it was (the handler does not return), then glibc's
 * forced unwind starts here. */
static void cancel_now(struct weft__co *co, void *uc)
{
	uintptr_t pc = uc_pc(uc);

	if (!weft__cancel_due(co) ||
	    !(atomic_load(co->cancel_word) & WEFT__CANCEL_ASYNC) ||
	    (pc >= text_lo && pc < text_hi))
		return;
	raw(SYS_rt_sigprocmask, SIG_SETMASK,
	    &((ucontext_t *)uc)->uc_sigmask, NULL, sizeof(uint64_t));
	weft__cancel_exit(co, PTHREAD_CANCELED);
}

/* The poke's handler (see poke.h). */
static void on_poke(int sig, siginfo_t *si, void *uc)
{
	if (si->si_code != SI_QUEUE || si->si_pid != getpid() ||
	    si->si_value.sival_ptr != &cookie) {
		void (*next)(int, siginfo_t *, void *) = atomic_load(&chain);
		if (next != NULL)
			next(sig, si, uc);
		return;
	}
	int saved = errno;
	weft__sig_os_poked(uc); /* the switch of realtime signals */
	/* An offload worker in a system call its caller stopped: the call
	 * ends with EINTR (offload_intr.c). */
	uintptr_t pc = uc_pc(uc), to = weft__offload_intr_pc(pc);
	if (to != pc) {
		uc_set_pc(uc, to);
		return;
	}
	struct weft__co *co = weft__running;
	if (co != NULL && weft__sig_in_program(co, uc)) {
		cancel_now(co, uc);
		if (atomic_load(&co->sig_ready) != 0)
			weft__sig_run_at(co, uc);
	}
	/* Still due (the thread was inside weft's own code): it takes it
	 * where it next leaves weft through a wait or a cancellation point,
	 * and, should it compute on without one, at the monitor's next
	 * poke. */
	struct weft__m *m = weft__m;
	if (co != NULL && m != NULL &&
	    (atomic_load(&co->sig_ready) != 0 ||
	     (weft__cancel_due(co) &&
	      (atomic_load(co->cancel_word) & WEFT__CANCEL_ASYNC))))
		atomic_store(&m->owed, true);
	errno = saved;
}

/* Makes the poke's handler the kernel's for SIGCANCEL; the one it
 * replaces, if not its own, becomes the chain. */
static void take_over(void)
{
	struct kaction act = {
		.handler = on_poke,
		.flags = SA_SIGINFO | SA_RESTART | RESTORER_FLAG,
		.restorer = RESTORER,
	}, old;

	if (raw(SYS_rt_sigaction, POKE, &act, &old, sizeof act.mask) != 0)
		return;
	if (old.handler != on_poke && (old.flags & SA_SIGINFO) &&
	    old.handler != NULL)
		atomic_store(&chain, old.handler);
	installed = true;
}

/* See poke.h. */
void weft__poke_init(long (*sys)(long, ...))
{
	extern void __tsan_init(void) __attribute__((weak));
	Dl_info di;

	if (installed || &__tsan_init != NULL)
		return;
	raw = sys;
	if (dladdr((void *)weft__poke_init, &di) != 0)
		dl_iterate_phdr(find_text, (void *)di.dli_fbase);
	take_over();
}

/* See poke.h. */
void weft__poke_reclaim(void)
{
	if (installed)
		take_over();
}

/* See poke.h.  The target's state and thread are read without a lock:
 * a poke that comes late finds another coroutine running there, and
 * does nothing; the target has then entered weft, where it takes what
 * is due. */
void weft__poke(struct weft__co *co)
{
	if (!installed || co == weft__running ||
	    __atomic_load_n(&co->state, __ATOMIC_ACQUIRE) != WEFT__RUNNING)
		return;
	struct weft__m *m = __atomic_load_n(&co->m, __ATOMIC_RELAXED);
	weft__poke_os(m != NULL ? __atomic_load_n(&m->tid, __ATOMIC_RELAXED)
				: weft__sched_tid(co->sched));
}

/* See poke.h. */
bool weft__poke_os(int tid)
{
	siginfo_t si;

	if (!installed)
		return false;
	memset(&si, 0, sizeof si);
	si.si_signo = POKE;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_ptr = &cookie;
	return tid > 0 &&
	       raw(SYS_rt_tgsigqueueinfo, getpid(), tid, POKE, &si) == 0;
}

/* See poke.h. */
bool weft__poke_works(void)
{
	return installed;
}

/* See poke.h. */
void weft__take_due_slow(struct weft__co *co)
{
	if (weft__spins_held != 0)
		return;
	if (atomic_load(&co->sig_ready) != 0)
		weft__sig_run(co);
	if (co->cancel_word != NULL &&
	    (atomic_load(co->cancel_word) & WEFT__CANCEL_ASYNC))
		weft__cancel_act(co);
}
