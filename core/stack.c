/* stack.c - coroutine stacks: slabs, guards, the pool, overflow reports.
 *
 * Stacks are carved from slabs, one mmap each, reserved with MAP_NORESERVE
 * so the kernel commits a page only when it is first touched: a coroutine
 * that never goes deep costs one or two pages, whatever its stack size.
 *
 * Below every stack is a 16 KiB gap.  While the process's budget of memory
 * mappings allows (vm.max_map_count; each guarded stack splits its slab and
 * costs two mappings), the gap is PROT_NONE: an overflow faults there and
 * the fault handler names the coroutine.  Past that budget, so that a
 * million coroutines can live under the default limit of 65530 mappings,
 * the gap is plain memory that is never meant to be touched (a "moat"), and
 * the scheduler checks the stack pointer of such a coroutine each time it
 * switches out: an overflow that reaches the moat is reported there, and
 * the moat keeps it from reaching the neighbouring stack first.
 *
 * Freed stacks go back to a pool by size and are reused, most recently
 * freed first, so their pages are still warm.  A green thread's stack
 * gives back the pages below its top ones first, as glibc does when a
 * thread ends, so a burst of deep threads does not stay resident.
 *
 * A slab holds up to 64 stacks whatever their size (address space is
 * plentiful, mappings are not): a million parked coroutines of any size
 * up to 64 MiB fit in the default vm.max_map_count.
 */
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "core.h"
#include "fiber.h"
#include "sched.h"
#include "sigs.h"
#include "waitq.h"

#define GAP        WEFT__STACK_GAP /* guard or moat below each stack */
#define SLAB_BYTES ((size_t)64 << 30) /* address space per slab, at most */
#define SLAB_SLOTS 64           /* at most this many stacks per slab */
#define MIN_STACK  (16u << 10)
#define MAX_STACK  ((size_t)1 << 32)
#define ALTSTACK   (64u << 10)

/* Stacks of one size, free for reuse. */
struct pool {
	size_t size;
	struct weft__slot *free;
	struct pool *next;
};

static int pools_lock; /* a spin lock: see waitq.h */
static struct pool *pools;
static long guards_left = -1; /* guarded stacks we may still make */

static size_t page_size(void)
{
	static size_t page;

	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* A quarter of vm.max_map_count, at two mappings per guarded stack,
 * leaves three quarters of the budget to the program. */
static long guard_budget(void)
{
	char text[32] = "";
	long fd = syscall(SYS_openat, AT_FDCWD, "/proc/sys/vm/max_map_count",
			  O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		syscall(SYS_read, fd, text, sizeof text - 1);
		syscall(SYS_close, fd);
	}
	long max = atol(text);
	return (max > 0 ? max : 65530) / 8;
}

/* Maps a slab of stacks of the given size and puts them in pool p.
 * Called with pools_lock held.  Returns false with errno EAGAIN. */
static bool grow(struct pool *p)
{
	size_t slot_bytes = GAP + p->size;
	size_t n = SLAB_BYTES / slot_bytes;

	if (n > SLAB_SLOTS)
		n = SLAB_SLOTS;
	if (n == 0)
		n = 1;
	/* Rounded up to a page and less than 4 GiB each: cannot overflow. */
	struct weft__slot *slots = calloc(n, sizeof *slots);
	char *base = mmap(NULL, n * slot_bytes, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			  MAP_STACK, -1, 0);
	if (slots == NULL || base == MAP_FAILED) {
		free(slots);
		if (base != MAP_FAILED)
			munmap(base, n * slot_bytes);
		errno = EAGAIN;
		return false;
	}
	/* Hand them out lowest first: push in reverse. */
	for (size_t i = n; i-- > 0;) {
		struct weft__slot *s = &slots[i];
		char *gap = base + i * slot_bytes;
		s->lo = gap + GAP;
		s->hi = s->lo + p->size;
		s->size = p->size;
		weft__valgrind_stack(s->lo, s->hi);
		if (guards_left > 0 && mprotect(gap, GAP, PROT_NONE) == 0) {
			guards_left--;
			s->guarded = true;
		}
		s->next_free = p->free;
		p->free = s;
	}
	return true;
}

/* Takes a stack of at least size usable bytes (see core.h). */
struct weft__slot *weft__stack_get(size_t size)
{
	if (size > MAX_STACK) {
		errno = EINVAL;
		return NULL;
	}
	size = round_up(size < MIN_STACK ? MIN_STACK : size, page_size());

	weft__spin_lock(&pools_lock);
	if (guards_left < 0) /* under the lock: grow() counts it down */
		guards_left = guard_budget();
	struct pool *p = pools;
	while (p && p->size != size)
		p = p->next;
	if (p == NULL) {
		p = calloc(1, sizeof *p);
		if (p == NULL) {
			weft__spin_unlock(&pools_lock);
			errno = EAGAIN;
			return NULL;
		}
		p->size = size;
		p->next = pools;
		pools = p;
	}
	struct weft__slot *s = NULL;
	if (p->free || grow(p)) {
		s = p->free;
		p->free = s->next_free;
	}
	weft__spin_unlock(&pools_lock);
	if (s)
		weft__asan_unpoison(s->lo, s->size);
	return s;
}

/* A slot for the program's own stack memory (see core.h). */
struct weft__slot *weft__stack_user(void *lo, size_t size)
{
	struct weft__slot *s = calloc(1, sizeof *s);

	if (s == NULL) {
		errno = EAGAIN;
		return NULL;
	}
	s->lo = lo;
	s->hi = (char *)((uintptr_t)((char *)lo + size) & ~(uintptr_t)63);
	s->size = (size_t)(s->hi - s->lo);
	s->user = true;
	s->vg_id = weft__valgrind_stack_user(s->lo, s->hi);
	return s;
}

/* Returns a stack to its pool (see core.h). */
void weft__stack_put(struct weft__slot *s, bool trim)
{
	if (s->user) {
		weft__valgrind_stack_gone(s->vg_id);
		free(s);
		return;
	}
	if (trim && s->size > WEFT__STACK_KEEP)
		madvise(s->lo, s->size - WEFT__STACK_KEEP, MADV_DONTNEED);
	weft__spin_lock(&pools_lock);
	struct pool *p = pools;
	while (p->size != s->size)
		p = p->next;
	s->next_free = p->free;
	p->free = s;
	weft__spin_unlock(&pools_lock);
}

/* The default stack size: WEFT_STACK_SIZE, else 256 KiB.  Large enough for
 * the frames of ordinary thread-per-connection servers (a few buffers of
 * 64 KiB on the stack), small enough that a million fit in the address
 * space with room to spare; only touched pages cost memory. */
size_t weft__stack_default(void)
{
	static size_t size;

	if (!size)
		size = round_up(weft__env_size("WEFT_STACK_SIZE", 256u << 10,
						MIN_STACK, MAX_STACK),
				page_size());
	return size;
}

/* Prints the one line that says which coroutine overflowed and how to
 * give it more room, then aborts. */
void weft__stack_overflow(const struct weft__co *co)
{
	char msg[256] = "coroutine ";

	weft__cat_u64(msg, sizeof msg, co->id);
	if (co->name[0]) {
		weft__cat(msg, sizeof msg, " (");
		weft__cat(msg, sizeof msg, co->name);
		weft__cat(msg, sizeof msg, ")");
	}
	weft__cat(msg, sizeof msg, " overflowed its stack of ");
	weft__cat_u64(msg, sizeof msg, co->slot->size >> 10);
	if (co->own_tcb)
		weft__cat(msg, sizeof msg, " KiB; give the thread more with"
			  " pthread_attr_setstacksize, or all threads more"
			  " with ulimit -s");
	else
		weft__cat(msg, sizeof msg, " KiB; give it more with"
			  " WEFT_STACK_SIZE (e.g. WEFT_STACK_SIZE=1M) or a"
			  " larger stack size at creation");
	weft__die(msg);
}

/* ---- the guard-page fault handler ---- */

static struct sigaction old_segv;

/* See core.h. */
char *weft__uc_sp(void *uc)
{
	const ucontext_t *u = uc;
#if defined(__x86_64__)
	return (char *)u->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
	return (char *)u->uc_mcontext.sp;
#else
	(void)u;
	return NULL;
#endif
}

/* See core.h: it hit the guard, or a frame too large for any guard (a
 * big alloca) took the stack pointer below the stack and the access
 * faulted. */
bool weft__stack_overflowed(const struct weft__co *co, const siginfo_t *si,
			    void *uc)
{
	char *addr = si->si_addr, *sp = weft__uc_sp(uc);

	return co->slot && ((addr >= co->slot->lo - GAP &&
			     addr < co->slot->lo) ||
			    (sp < co->slot->lo && addr < co->slot->lo &&
			     addr + 4096 >= sp));
}

/* The running coroutine overflowed its stack: report it.  Any other
 * fault goes to whoever handled SIGSEGV before weft. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	struct weft__co *co = weft__current();

	if (co && weft__stack_overflowed(co, si, uc))
		weft__stack_overflow(co);
	if (old_segv.sa_flags & SA_SIGINFO) {
		old_segv.sa_sigaction(sig, si, uc);
	} else if (old_segv.sa_handler != SIG_DFL &&
		   old_segv.sa_handler != SIG_IGN) {
		old_segv.sa_handler(sig);
	} else {
		/* Returning re-runs the faulting instruction, which now gets
		 * the default action: the same crash as without weft. */
		signal(SIGSEGV, SIG_DFL);
	}
}

/* Installs on_segv, unless the program set SIGSEGV's action through
 * weft already (sigsync.c, whose front makes the same report).  As
 * weft's own call, not the program's (weft__inside). */
static void install_handler(void)
{
	bool was = weft__inside;
	struct sigaction sa;

	weft__inside = true;
	if (sigaction(SIGSEGV, NULL, &sa) == 0 &&
	    sa.sa_sigaction != weft__sig_sync_front) {
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, &old_segv);
	}
	weft__inside = was;
}

/* Installs the fault handler (once per process) and gives the calling
 * thread an alternate signal stack, since a thread whose stack overflowed
 * cannot run the handler on it.  A stack the program set up is kept. */
void weft__stack_thread_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	stack_t old;

	pthread_once(&once, install_handler);
	if (sigaltstack(NULL, &old) == 0 && (old.ss_flags & SS_DISABLE)) {
		stack_t ss = { .ss_size = ALTSTACK };
		ss.ss_sp = mmap(NULL, ALTSTACK, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ss.ss_sp != MAP_FAILED)
			sigaltstack(&ss, NULL);
	}
}
