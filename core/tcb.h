/* tcb.h - thread blocks: a glibc thread descriptor and TLS of one's own.
 *
 * A green thread runs with a thread block of its own installed as the
 * thread pointer, as a native thread does: glibc's struct pthread with the
 * static TLS of every module below it, made as glibc makes one for a new
 * thread.  So __thread variables, errno, uselocale, pthread_self() and the
 * C++ thread_local destructors are each green thread's own.  The block
 * sits at the top of the coroutine's stack, where glibc puts it too, so it
 * shares the pages a parked coroutine touches anyway.
 *
 * Coroutines without a block of their own (the root, the scheduler's idle
 * context, weft_go coroutines) run on their OS thread's block.  Switching
 * between coroutines whose blocks differ sets the thread pointer: on
 * x86-64 with wrfsbase where the kernel allows it, arch_prctl(ARCH_SET_FS)
 * otherwise; on aarch64 by writing tpidr_el0, which user code may.
 *
 * weft's own per-thread state (weft__running, the scheduler) is TLS too,
 * so every block has its copy: a block's copy describes the coroutine
 * running on it.  weft__tcb_var reaches another block's copy.
 *
 * Malloc's per-thread cache and arena stay the OS thread's: each block is
 * given its OS thread's, so a green thread's frees go where native
 * threads' would and nothing is left behind when it ends.
 */
#ifndef WEFT_TCB_H
#define WEFT_TCB_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#if defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/prctl.h>
#endif

/* How far below the thread pointer glibc's descriptor, struct pthread,
 * lies: 0 on x86-64, where the thread pointer is the descriptor; its
 * size on aarch64, where tcbhead_t follows it (TLS_PRE_TCB_SIZE).  Both
 * are checked at start against what libc publishes. */
#if defined(__aarch64__)
#define WEFT__TCB_PD 1856
#else
#define WEFT__TCB_PD 0
#endif

/* Whether thread blocks are made (set by weft__tcb_init; read-only
 * after). */
extern bool weft__tcb_on;

/* x86-64: whether the thread pointer is set with wrfsbase (else
 * arch_prctl).  Unused elsewhere. */
extern bool weft__tcb_fsgsbase;

/* Decides, once, whether this glibc's thread blocks can be made: glibc
 * 2.36 on x86-64 or aarch64 with the layout it publishes, and not under
 * ThreadSanitizer (whose per-thread state is TLS that a new block would
 * not carry).  If not, green threads share their OS thread's TLS, and
 * when say is true one line on stderr says so.  Returns weft__tcb_on. */
bool weft__tcb_init(bool say);

/* Bytes a thread block takes at the top of a stack: the descriptor and
 * the static TLS, a multiple of 64.  0 while blocks are off. */
size_t weft__tcb_size(void);

/* What a block says about its thread, for pthread_getattr_np and the
 * like: the stack [lo, lo + size) with guard bytes below lo. */
struct weft__tcb_info {
	char *lo;
	size_t size;
	size_t guard;
	bool detached;
	void *(*fn)(void *);
	void *arg;
};

/* Makes a thread block in [top - weft__tcb_size(), top) (top 64-byte
 * aligned) for a thread described by info, taking the calling thread's
 * stack-protector and pointer guards (x86-64 keeps them per thread) and
 * its malloc state.  Returns the
 * thread pointer to install, or NULL with errno EAGAIN (no memory for
 * its TLS vector). */
void *weft__tcb_make(char *top, const struct weft__tcb_info *info);

/* Gives block tcb what it borrows from the OS thread whose block is
 * os_tcb, for running there: that thread's tid (which glibc's calls read
 * from a block), malloc cache and arena; and marks both blocks as a
 * threaded process's (glibc's multiple_threads). */
void weft__tcb_rehome(void *tcb, void *os_tcb);

/* Marks block tcb's thread detached where glibc looks (its joinid), as
 * glibc's pthread_detach does. */
void weft__tcb_detached(void *tcb);

/* Makes res the resolver state (glibc's __resp, what _res names) of the
 * running thread, which may be any thread, and returns the one it had;
 * returns NULL and changes nothing without thread blocks, where weft
 * does not know where glibc keeps the pointer. */
void *weft__tcb_res_swap(void *res);

/* Block tcb's cancellation word (glibc's cancelhandling, cancel.h). */
_Atomic int *weft__tcb_cancel_word(void *tcb);

/* Makes buf (a __pthread_unwind_buf_t, set with __sigsetjmp) the landing
 * of block tcb's unwind (glibc's cleanup_jmp_buf): where pthread_exit's
 * and cancellation's unwind ends, with no cleanup handler below it. */
void weft__tcb_landing(void *tcb, void *buf);

/* The result glibc's pthread_exit stored in block tcb. */
void *weft__tcb_result(void *tcb);

/* Runs the thread-start work glibc does on a new thread itself (the
 * locale's character tables).  Call first thing from the coroutine whose
 * block is installed. */
void weft__tcb_start(void);

/* Runs the thread-exit work glibc does on the thread itself: C++
 * thread_local destructors.  Call from the coroutine whose block is
 * installed, as it ends. */
void weft__tcb_exit(void);

/* Frees what a block holds outside itself (TLS vector, dynamic TLS,
 * glibc's per-thread buffers).  Any thread may call it once the block's
 * thread has ended. */
void weft__tcb_free(void *tcb);

/* The thread pointer: on x86-64 the descriptor, which points at itself;
 * on aarch64 tpidr_el0, read afresh each time. */
static inline void *weft__tp(void)
{
#if defined(__x86_64__)
	void *tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
#elif defined(__aarch64__)
	void *tp;
	__asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
	return tp;
#else
	return __builtin_thread_pointer();
#endif
}

/* Installs tcb as the thread pointer. */
static inline void weft__tp_set(void *tcb)
{
#if defined(__x86_64__)
	if (__builtin_expect(weft__tcb_fsgsbase, 1))
		__asm__ volatile("wrfsbase %0" : : "r"(tcb) : "memory");
	else
		syscall(SYS_arch_prctl, ARCH_SET_FS, tcb);
#elif defined(__aarch64__)
	__asm__ volatile("msr tpidr_el0, %0" : : "r"(tcb) : "memory");
#else
	(void)tcb; /* never reached: blocks are off */
#endif
}

/* The pthread_t of the thread whose block is tcb: its descriptor. */
static inline pthread_t weft__tcb_thread(void *tcb)
{
	return (pthread_t)((char *)tcb - WEFT__TCB_PD);
}

/* The address, in block tcb, of the initial-exec TLS variable whose
 * address in the running block is var. */
static inline void *weft__tcb_var(void *tcb, void *var)
{
	return (char *)tcb + ((char *)var - (char *)weft__tp());
}

#endif
