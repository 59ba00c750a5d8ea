/* tcb_pthread.h - glibc 2.36's struct pthread past its head, for tcb.c.
 *
 * Past the head (tcbhead_t on x86-64, a padded pair of ints on aarch64)
 * the descriptor of nptl/descr.h is laid out alike on both: the head's
 * size is a multiple of 64, so every aligned member lands at the same
 * distance from it.  Included by tcb_<arch>.h once PD_HEAD is known.
 */
#ifndef WEFT_TCB_PTHREAD_H
#define WEFT_TCB_PTHREAD_H

/* Offsets in bytes from the descriptor. */
enum {
	PD_LIST = PD_HEAD, PD_TID = PD_HEAD + 16, PD_ROBUST_PREV = PD_HEAD + 24,
	PD_ROBUST_HEAD = PD_HEAD + 32, PD_FUTEX_OFFSET = PD_HEAD + 40,
	PD_CLEANUP_JMP_BUF = PD_HEAD + 64, PD_CANCELHANDLING = PD_HEAD + 72,
	PD_SPECIFIC_1STBLOCK = PD_HEAD + 80, PD_SPECIFIC = PD_HEAD + 592,
	PD_USER_STACK = PD_HEAD + 850, PD_JOINID = PD_HEAD + 864,
	PD_RESULT = PD_HEAD + 872, PD_SCHEDPOLICY = PD_HEAD + 884,
	PD_START_ROUTINE = PD_HEAD + 888, PD_ARG = PD_HEAD + 896,
	PD_STACKBLOCK = PD_HEAD + 976, PD_STACKBLOCK_SIZE = PD_HEAD + 984,
	PD_GUARDSIZE = PD_HEAD + 992, PD_REPORTED_GUARDSIZE = PD_HEAD + 1000,
	PD_RES = PD_HEAD + 1016, PD_TLS_STATE = PD_HEAD + 1600,
	PD_RSEQ = PD_HEAD + 1632,
	PD_SIZE = PD_HEAD + 1664, /* x86-64's TLS_TCB_SIZE, aarch64's
				     TLS_PRE_TCB_SIZE */
};

_Static_assert(WEFT__TCB_PD == 0 || WEFT__TCB_PD == PD_SIZE,
	       "tcb.h's distance from thread pointer to descriptor");
_Static_assert(PD_SIZE % 64 == 0, "the thread pointer stays 64-aligned");

/* libc.so.6's own TLS block: its size and offsets of what is touched
 * (malloc's in tcb_<arch>.h). */
enum {
	LIBC_TLS_SIZE = 0x90,
	LT_RESP = 0x08, LT_ERRNO = 0x10, LT_DLERROR = 0x40, LT_H_ERRNO = 0x74,
};

#endif
