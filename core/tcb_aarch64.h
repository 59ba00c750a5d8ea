/* tcb_aarch64.h - glibc 2.36's thread block on aarch64, for tcb.c only.
 *
 * TLS variant I (TLS_DTV_AT_TP, sysdeps/aarch64/nptl/tls.h): the thread
 * pointer (tpidr_el0) points at tcbhead_t { dtv, private }, 16 bytes;
 * the descriptor, struct pthread, lies just below it (TLS_PRE_TCB_SIZE is
 * its size), and the static TLS of every module above it, libc's first.
 * glibc's allocate_stack puts the static TLS at the top of the stack, the
 * descriptor under it.  The stack-protector and pointer guards are
 * globals here (__stack_chk_guard, __pointer_chk_guard: no
 * THREAD_SET_STACK_GUARD on aarch64), so a block has none to take.
 */
#ifndef WEFT_TCB_AARCH64_H
#define WEFT_TCB_AARCH64_H

/* The head of struct pthread (nptl/descr.h), here only
 * { multiple_threads, gscope_flag } padded to 24 pointers: offsets in
 * bytes from the descriptor, and the head's size, past which
 * tcb_pthread.h's offsets count.  PD_DTV is tcbhead_t's dtv, just past
 * the descriptor. */
enum {
	PD_HEAD = 192,
	PD_MULTIPLE_THREADS = 0, PD_DTV = WEFT__TCB_PD,
};

#include "tcb_pthread.h"

/* malloc's per-thread state in libc.so.6's TLS block: the same variables
 * as on x86-64 in another order (section anchors). */
enum { LT_ARENA = 0x48, LT_TCACHE = 0x50, LT_TCACHE_SHUTTING_DOWN = 0x58 };

/* The least static TLS the loader can report: tcbhead_t. */
#define TLS_MIN 16

/* Bytes of a block whose static TLS (tcbhead_t included, as the loader
 * counts it here) is tls bytes: the descriptor below it. */
static inline size_t arch_block_size(size_t tls)
{
	return PD_SIZE + ((tls + 63) & ~(size_t)63);
}

/* The descriptor of the block of block_size bytes that ends at top. */
static inline char *arch_block_pd(char *top, size_t block_size)
{
	return top - block_size;
}

/* Why the running thread's block (descriptor pd, thread pointer tp) is
 * not laid out as above, or NULL: its TLS vector sits at tp, its keys'
 * first block where glibc's init put it, and the guards are the globals
 * the loader publishes. */
static inline const char *arch_check(char *pd, char *tp)
{
	if (AT(tp, 0, void *) == NULL ||
	    AT(pd, PD_SPECIFIC, char *) != pd + PD_SPECIFIC_1STBLOCK)
		return "a running thread unlike its descriptor";
	if (dlsym(RTLD_DEFAULT, "__stack_chk_guard") == NULL ||
	    dlsym(RTLD_DEFAULT, "__pointer_chk_guard") == NULL)
		return "guards that are no globals";
	return NULL;
}

/* Clears tcbhead_t past new descriptor pd, whose dtv is
 * _dl_allocate_tls's to set (multiple_threads is weft__tcb_rehome's). */
static inline void arch_fill_head(char *pd, const char *os)
{
	(void)os;
	AT(pd, PD_DTV, void *) = NULL;
	AT(pd, PD_DTV + 8, void *) = NULL;
}

#endif
