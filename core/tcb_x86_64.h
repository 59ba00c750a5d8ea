/* tcb_x86_64.h - glibc 2.36's thread block on x86-64, for tcb.c only.
 *
 * TLS variant II (TLS_TCB_AT_TP): the thread pointer is the descriptor,
 * struct pthread, whose head is tcbhead_t (sysdeps/x86_64/nptl/tls.h);
 * the static TLS of every module lies below it.  glibc's allocate_stack
 * puts the descriptor at the top of the stack, the TLS under it.  The
 * stack-protector and pointer guards live in tcbhead_t, so each block
 * takes its maker's.
 */
#ifndef WEFT_TCB_X86_64_H
#define WEFT_TCB_X86_64_H

/* The head of struct pthread (nptl/descr.h), tcbhead_t: offsets in bytes
 * from the descriptor, and the head's size, past which tcb_pthread.h's
 * offsets count (sysdeps/x86_64/nptl/tls.h: 704 with its SSE save area). */
enum {
	PD_HEAD = 704,
	PD_TCB = 0, PD_DTV = 8, PD_SELF = 16, PD_MULTIPLE_THREADS = 24,
	PD_SYSINFO = 32, PD_STACK_GUARD = 40, PD_POINTER_GUARD = 48,
	PD_FEATURE_1 = 72,
};

#include "tcb_pthread.h"

/* malloc's per-thread state in libc.so.6's TLS block. */
enum { LT_TCACHE = 0x48, LT_TCACHE_SHUTTING_DOWN = 0x50, LT_ARENA = 0x58 };

/* The least static TLS the loader can report: the descriptor. */
#define TLS_MIN PD_SIZE

/* Bytes of a block whose static TLS (the descriptor included, as the
 * loader counts it here) is tls bytes. */
static inline size_t arch_block_size(size_t tls)
{
	return (tls + 63) & ~(size_t)63;
}

/* The descriptor of the block of block_size bytes that ends at top. */
static inline char *arch_block_pd(char *top, size_t block_size)
{
	(void)block_size;
	return top - PD_SIZE;
}

/* Why the running thread's block (descriptor pd, thread pointer tp) is
 * not laid out as above, or NULL. */
static inline const char *arch_check(char *pd, char *tp)
{
	return AT(pd, PD_SELF, char *) == tp ? NULL :
	       "a running thread unlike its descriptor";
}

/* Fills what the head of new descriptor pd holds (tcbhead_t): itself, and
 * what it takes from the maker's descriptor os: its guards and features.
 * multiple_threads is weft__tcb_rehome's. */
static inline void arch_fill_head(char *pd, const char *os)
{
	AT(pd, PD_TCB, char *) = pd;
	AT(pd, PD_SELF, char *) = pd;
	AT(pd, PD_SYSINFO, uintptr_t) = AT(os, PD_SYSINFO, uintptr_t);
	AT(pd, PD_STACK_GUARD, uintptr_t) = AT(os, PD_STACK_GUARD, uintptr_t);
	AT(pd, PD_POINTER_GUARD, uintptr_t) =
		AT(os, PD_POINTER_GUARD, uintptr_t);
	AT(pd, PD_FEATURE_1, unsigned) = AT(os, PD_FEATURE_1, unsigned);
}

#endif
