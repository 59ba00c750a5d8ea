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

/* struct pthread (nptl/descr.h), with tcbhead_t at its head: offsets in
 * bytes from the descriptor. */
enum {
	PD_SIZE = 2368, /* TLS_TCB_SIZE */
	PD_TCB = 0, PD_DTV = 8, PD_SELF = 16, PD_MULTIPLE_THREADS = 24,
	PD_SYSINFO = 32, PD_STACK_GUARD = 40, PD_POINTER_GUARD = 48,
	PD_FEATURE_1 = 72,
	PD_LIST = 704, PD_TID = 720, PD_ROBUST_PREV = 728,
	PD_ROBUST_HEAD = 736, PD_FUTEX_OFFSET = 744,
	PD_CLEANUP_JMP_BUF = 768, PD_CANCELHANDLING = 776,
	PD_SPECIFIC_1STBLOCK = 784, PD_SPECIFIC = 1296,
	PD_USER_STACK = 1554, PD_JOINID = 1568, PD_RESULT = 1576,
	PD_SCHEDPOLICY = 1588, PD_START_ROUTINE = 1592, PD_ARG = 1600,
	PD_STACKBLOCK = 1680, PD_STACKBLOCK_SIZE = 1688, PD_GUARDSIZE = 1696,
	PD_REPORTED_GUARDSIZE = 1704, PD_RES = 1720, PD_TLS_STATE = 2304,
	PD_RSEQ = 2336,
};

/* libc.so.6's own TLS block: its size and offsets of what is touched. */
enum {
	LIBC_TLS_SIZE = 0x90,
	LT_RESP = 0x08, LT_ERRNO = 0x10, LT_DLERROR = 0x40, LT_TCACHE = 0x48,
	LT_TCACHE_SHUTTING_DOWN = 0x50, LT_ARENA = 0x58, LT_H_ERRNO = 0x74,
};

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
 * what it takes from the maker's descriptor os: its guards and features. */
static inline void arch_fill_head(char *pd, const char *os)
{
	AT(pd, PD_TCB, char *) = pd;
	AT(pd, PD_SELF, char *) = pd;
	AT(pd, PD_MULTIPLE_THREADS, int) = AT(os, PD_MULTIPLE_THREADS, int);
	AT(pd, PD_SYSINFO, uintptr_t) = AT(os, PD_SYSINFO, uintptr_t);
	AT(pd, PD_STACK_GUARD, uintptr_t) = AT(os, PD_STACK_GUARD, uintptr_t);
	AT(pd, PD_POINTER_GUARD, uintptr_t) =
		AT(os, PD_POINTER_GUARD, uintptr_t);
	AT(pd, PD_FEATURE_1, unsigned) = AT(os, PD_FEATURE_1, unsigned);
}

#endif
