/* tcb.c - thread blocks (see tcb.h): what glibc 2.36 reads of a thread.
 *
 * glibc makes a thread's block in allocate_stack (nptl/allocatestack.c):
 * the descriptor and the static TLS at the top of the stack (in the
 * architecture's order), the TLS vector and the TLS images from the dynamic
 * loader's _dl_allocate_tls; then start_thread fills in the rest on the new
 * thread.  This file does the same for a coroutine's stack, field by field,
 * from the layout of tcb_<arch>.h.  That layout is glibc 2.36's for x86-64
 * or aarch64, and "tcb" here is always what the thread pointer holds (the
 * descriptor on x86-64, tcbhead_t just past it on aarch64).  At start-up
 * the layout is checked against what this libc publishes for debuggers (the
 * _thread_db_* symbols), against the running thread's own block and against
 * libc's TLS symbols.  Any other version or any mismatch turns blocks off:
 * green threads then share their OS thread's TLS, as before.
 */
#include "core.h"
#include "fiber.h"
#include "tcb.h"

/* After core.h: <elf.h> defines EV_NONE, a name of libev's too. */
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

bool weft__tcb_on;
bool weft__tcb_fsgsbase;

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

/* rseq's cpu_id when the thread is not registered: glibc's sched_getcpu
 * then asks the kernel. */
#define RSEQ_CPU_ID_REGISTRATION_FAILED ((uint32_t)-2)
/* glibc's futex_offset for robust mutexes: __lock less __list.__next. */
#define ROBUST_FUTEX_OFFSET (-32L)

/* The dynamic loader's and libc's private entry points. */
static void *(*allocate_tls)(void *);
static void (*deallocate_tls)(void *, bool);
static void (*call_tls_dtors)(void);
static void (*ctype_init)(void);

static size_t block_size;    /* descriptor and static TLS, rounded */
static ptrdiff_t libc_tls;   /* libc's TLS block, from the thread pointer */

typedef void *(*start_fn)(void *);

#define AT(base, off, type) (*(type *)((char *)(base) + (off)))

#if defined(__x86_64__)
#include "tcb_x86_64.h"
#elif defined(__aarch64__)
#include "tcb_aarch64.h"
#else
#error "no thread block layout for this architecture"
#endif

/* The descriptor of the block whose thread pointer is tp. */
#define PD(tp) ((char *)(tp) - WEFT__TCB_PD)

/* The field glibc describes as name[] = { bits, count, offset } is at
 * off, of the given size. */
static bool published(const char *name, unsigned bits, unsigned off)
{
	const uint32_t *d = dlsym(RTLD_DEFAULT, name);

	return d != NULL && d[0] == bits && d[2] == off;
}

static int find_libc_tls(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	const char *name = info->dlpi_name;
	size_t n = strlen(name);

	if (n < 9 || strcmp(name + n - 9, "libc.so.6") != 0)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_TLS &&
		    info->dlpi_phdr[i].p_memsz == LIBC_TLS_SIZE)
			*(void **)arg = info->dlpi_tls_data;
	return 1;
}

/* Whether the thread's unwind landing (cleanup_jmp_buf, which no symbol
 * publishes) is where the layout says: glibc's pthread_cleanup_push
 * registers its buffer there. */
static __attribute__((unused)) bool landing_found(char *pd)
{
	__pthread_unwind_buf_t buf;
	void *was = AT(pd, PD_CLEANUP_JMP_BUF, void *);

	__pthread_register_cancel(&buf);
	bool found = AT(pd, PD_CLEANUP_JMP_BUF, void *) == &buf &&
		     buf.__pad[0] == was;
	__pthread_unregister_cancel(&buf);
	return found && AT(pd, PD_CLEANUP_JMP_BUF, void *) == was;
}

/* Checks this glibc against the layout above; returns why not, or NULL.
 * (Unused where blocks are off by build: ThreadSanitizer.) */
static __attribute__((unused)) const char *check_glibc(void)
{
	extern const ptrdiff_t __rseq_offset;
	char *tp = weft__tp(), *pd = PD(tp);
	size_t tls_size = 0, tls_align = 0;
	void (*static_info)(size_t *, size_t *);
	void *libc_block = NULL;

	if (strcmp(gnu_get_libc_version(), "2.36") != 0)
		return "a glibc other than 2.36";
	const uint32_t *size = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
	if (size == NULL || *size != PD_SIZE ||
	    !published("_thread_db_pthread_list", 128, PD_LIST) ||
	    !published("_thread_db_pthread_tid", 32, PD_TID) ||
	    !published("_thread_db_pthread_specific", 2048, PD_SPECIFIC) ||
	    !published("_thread_db_pthread_cancelhandling", 32,
		       PD_CANCELHANDLING) ||
	    !published("_thread_db_pthread_schedpolicy", 32,
		       PD_SCHEDPOLICY) ||
	    !published("_thread_db_pthread_start_routine", 64,
		       PD_START_ROUTINE) ||
	    !published("_thread_db_pthread_dtvp", 64, PD_DTV))
		return "a thread descriptor of another layout";
	const char *why = arch_check(pd, tp);
	if (why != NULL)
		return why;
	if (AT(pd, PD_TID, int) != (int)syscall(SYS_gettid) ||
	    AT(pd, PD_FUTEX_OFFSET, long) != ROBUST_FUTEX_OFFSET ||
	    __rseq_offset != PD_RSEQ - WEFT__TCB_PD || !landing_found(pd))
		return "a running thread unlike its descriptor";
	dl_iterate_phdr(find_libc_tls, &libc_block);
	char *lb = libc_block;
	if (lb == NULL || (char *)&errno != lb + LT_ERRNO ||
	    (char *)__h_errno_location() != lb + LT_H_ERRNO ||
	    dlsym(RTLD_DEFAULT, "__resp") != lb + LT_RESP ||
	    dlsym(RTLD_DEFAULT, "__libc_dlerror_result") != lb + LT_DLERROR)
		return "libc's TLS of another layout";
	allocate_tls = dlvsym(RTLD_DEFAULT, "_dl_allocate_tls",
			      "GLIBC_PRIVATE");
	deallocate_tls = dlvsym(RTLD_DEFAULT, "_dl_deallocate_tls",
				"GLIBC_PRIVATE");
	static_info = dlvsym(RTLD_DEFAULT, "_dl_get_tls_static_info",
			     "GLIBC_PRIVATE");
	call_tls_dtors = dlvsym(RTLD_DEFAULT, "__call_tls_dtors",
				"GLIBC_PRIVATE");
	ctype_init = dlvsym(RTLD_DEFAULT, "__ctype_init", "GLIBC_PRIVATE");
	if (!allocate_tls || !deallocate_tls || !static_info ||
	    !call_tls_dtors || !ctype_init)
		return "the loader's TLS calls missing";
	static_info(&tls_size, &tls_align);
	if (tls_size < TLS_MIN || tls_align > 64)
		return "static TLS of an unexpected size";
	block_size = arch_block_size(tls_size);
	libc_tls = lb - tp;
	return NULL;
}

/* See tcb.h. */
bool weft__tcb_init(bool say)
{
	static bool done;
	static int lock;
	const char *why = NULL;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return weft__tcb_on;
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	if (!done) {
#if defined(WEFT_TSAN)
		why = "ThreadSanitizer";
#else
		why = check_glibc();
#endif
#if defined(__x86_64__)
		weft__tcb_fsgsbase = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE);
#endif
		weft__tcb_on = why == NULL;
		__atomic_store_n(&done, true, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	if (why != NULL && say) {
		char msg[200] = "green threads share their OS thread's TLS"
				" (no thread blocks with ";
		weft__cat(msg, sizeof msg, why);
		weft__cat(msg, sizeof msg, ")");
		weft__say(msg);
	}
	return weft__tcb_on;
}

/* See tcb.h. */
size_t weft__tcb_size(void)
{
	return weft__tcb_on ? block_size : 0;
}

/* See tcb.h. */
void *weft__tcb_make(char *top, const struct weft__tcb_info *info)
{
	char *os = PD(weft__tp()), *pd = arch_block_pd(top, block_size);

	memset(pd, 0, PD_SIZE);
	arch_fill_head(pd, os);
	/* An empty list of its own: fork's child unlinks the forking
	 * thread from glibc's list of stacks. */
	AT(pd, PD_LIST, char *) = pd + PD_LIST;
	AT(pd, PD_LIST + 8, char *) = pd + PD_LIST;
	AT(pd, PD_ROBUST_PREV, char *) = pd + PD_ROBUST_HEAD;
	AT(pd, PD_ROBUST_HEAD, char *) = pd + PD_ROBUST_HEAD;
	AT(pd, PD_FUTEX_OFFSET, long) = ROBUST_FUTEX_OFFSET;
	AT(pd, PD_SPECIFIC, char *) = pd + PD_SPECIFIC_1STBLOCK;
	/* glibc must never unmap or cache this stack as its own. */
	AT(pd, PD_USER_STACK, bool) = true;
	AT(pd, PD_JOINID, char *) = info->detached ? pd : NULL;
	AT(pd, PD_START_ROUTINE, start_fn) = info->fn;
	AT(pd, PD_ARG, void *) = info->arg;
	AT(pd, PD_STACKBLOCK, char *) = info->lo - info->guard;
	AT(pd, PD_STACKBLOCK_SIZE, size_t) = info->size + info->guard;
	AT(pd, PD_GUARDSIZE, size_t) = info->guard;
	AT(pd, PD_REPORTED_GUARDSIZE, size_t) = info->guard;
	AT(pd, PD_RSEQ + 4, uint32_t) = RSEQ_CPU_ID_REGISTRATION_FAILED;
	char *tp = pd + WEFT__TCB_PD;
	if (allocate_tls(tp) == NULL) {
		errno = EAGAIN;
		return NULL;
	}
	AT(tp + libc_tls, LT_RESP, char *) = pd + PD_RES;
	weft__tcb_rehome(tp, os + WEFT__TCB_PD);
	return tp;
}

/* See tcb.h.  Only one coroutine runs on an OS thread at a time, so its
 * malloc cache, which has no lock, is never used by two at once.
 *
 * Both blocks are marked as a threaded process's: x86-64's catomic_*
 * (malloc's fastbins) leave out the lock prefix where the running
 * descriptor's multiple_threads is 0, and glibc sets it only in the
 * descriptor that calls pthread_create and in new threads'.  A green
 * block copied from a single-threaded maker, or an OS thread whose
 * schedulers were started from a green block, would keep 0 while other
 * OS threads run. */
void weft__tcb_rehome(void *tcb, void *os_tcb)
{
	char *os = (char *)os_tcb + libc_tls, *its = (char *)tcb + libc_tls;

	AT(PD(tcb), PD_MULTIPLE_THREADS, int) = 1;
	AT(PD(os_tcb), PD_MULTIPLE_THREADS, int) = 1;

	AT(PD(tcb), PD_TID, int) = AT(PD(os_tcb), PD_TID, int);
	AT(its, LT_TCACHE, void *) = AT(os, LT_TCACHE, void *);
	AT(its, LT_ARENA, void *) = AT(os, LT_ARENA, void *);
	/* A thread whose OS thread has no cache must not make one of its
	 * own, which nothing would free. */
	AT(its, LT_TCACHE_SHUTTING_DOWN, bool) = AT(os, LT_TCACHE, void *) == NULL;
}

/* See tcb.h. */
void weft__tcb_detached(void *tcb)
{
	char *pd = PD(tcb);

	AT(pd, PD_JOINID, char *) = pd;
}

/* See tcb.h.  Every thread's static TLS has one layout, so libc's block
 * lies at the same distance from any thread pointer. */
void *weft__tcb_res_swap(void *res)
{
	if (!weft__tcb_on)
		return NULL;
	void **resp = &AT((char *)weft__tp() + libc_tls, LT_RESP, void *);
	void *was = *resp;
	*resp = res;
	return was;
}

/* See tcb.h. */
_Atomic int *weft__tcb_cancel_word(void *tcb)
{
	return &AT(PD(tcb), PD_CANCELHANDLING, _Atomic int);
}

/* See tcb.h.  As start_thread: a jump buffer with no handler below it. */
void weft__tcb_landing(void *tcb, void *buf)
{
	__pthread_unwind_buf_t *b = buf;

	for (int i = 0; i < 4; i++)
		b->__pad[i] = NULL;
	AT(PD(tcb), PD_CLEANUP_JMP_BUF, void *) = buf;
}

/* See tcb.h. */
void *weft__tcb_result(void *tcb)
{
	return AT(PD(tcb), PD_RESULT, void *);
}

/* See tcb.h.  As start_thread: the locale's character tables. */
void weft__tcb_start(void)
{
	ctype_init();
}

/* See tcb.h. */
void weft__tcb_exit(void)
{
	call_tls_dtors();
}

/* See tcb.h. */
void weft__tcb_free(void *tcb)
{
	/* strsignal's and strerror_l's buffers, as __libc_thread_freeres. */
	free(AT(PD(tcb), PD_TLS_STATE, void *));
	free(AT(PD(tcb), PD_TLS_STATE + 8, void *));
	deallocate_tls(tcb, false);
}
