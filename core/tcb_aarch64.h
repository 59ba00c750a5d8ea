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

/* struct pthread (nptl/descr.h), whose head here is only
 * { multiple_threads, gscope_flag } padded to 24 pointers: offsets in
 * bytes from the descriptor.  PD_DTV is tcbhead_t's dtv, just past it. */
enum {
	PD_SIZE = WEFT__TCB_PD, /* TLS_PRE_TCB_SIZE */
	PD_MULTIPLE_THREADS = 0, PD_DTV = PD_SIZE,
	PD_LIST = 192, PD_TID = 208, PD_ROBUST_PREV = 216,
	PD_ROBUST_HEAD = 224, PD_FUTEX_OFFSET = 232,
	PD_CLEANUP_JMP_BUF = 256, PD_CANCELHANDLING = 264,
	PD_SPECIFIC_1STBLOCK = 272, PD_SPECIFIC = 784,
	PD_USER_STACK = 1042, PD_JOINID = 1056, PD_RESULT = 1064,
	PD_SCHEDPOLICY = 1076, PD_START_ROUTINE = 1080, PD_ARG = 1088,
	PD_STACKBLOCK = 1168, PD_STACKBLOCK_SIZE = 1176, PD_GUARDSIZE = 1184,
	PD_REPORTED_GUARDSIZE = 1192, PD_RES = 1208, PD_TLS_STATE = 1792,
	PD_RSEQ = 1824,
};

/* libc.so.6's own TLS block: its size and offsets of what is touched.
 * The same variables as on x86-64, but malloc's three in another order
 * (section anchors): thread_arena, tcache, tcache_shutting_down. */
enum {
	LIBC_TLS_SIZE = 0x90,
	LT_RESP = 0x08, LT_ERRNO = 0x10, LT_DLERROR = 0x40, LT_ARENA = 0x48,
	LT_TCACHE = 0x50, LT_TCACHE_SHUTTING_DOWN = 0x58, LT_H_ERRNO = 0x74,
};

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

/* Fills what the head of new descriptor pd holds, from the maker's
 * descriptor os, and clears tcbhead_t past it, whose dtv is
 * _dl_allocate_tls's to set. */
static inline void arch_fill_head(char *pd, const char *os)
{
	AT(pd, PD_MULTIPLE_THREADS, int) = AT(os, PD_MULTIPLE_THREADS, int);
	AT(pd, PD_SIZE, void *) = NULL;
	AT(pd, PD_SIZE + 8, void *) = NULL;
}

_Static_assert(PD_SIZE % 64 == 0, "the thread pointer stays 64-aligned");

#endif
