/* core.h - the coroutine runtime's internal interface.
 *
 * Everything here is hidden from the shared library's exports.  hook/ uses
 * this header to ask core/ to wait; core/ never calls into hook/.
 *
 * Life of a wait: the coroutine marks itself parked (weft__prepark), puts
 * itself where a waker will find it (an fd's waiter list, a mutex queue),
 * and calls weft__park.  Whoever wakes it calls weft__wake, which succeeds
 * exactly once per park, whatever the number of would-be wakers (a timer,
 * a close, a mutex hand-off) and whichever thread they run on.
 */
#ifndef WEFT_CORE_H
#define WEFT_CORE_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ev.h>

#include "ctx.h"
#include "weft.h"

#define weft__likely(x)   __builtin_expect(!!(x), 1)
#define weft__unlikely(x) __builtin_expect(!!(x), 0)

struct weft__sched;
struct weft__slot;

/* Where a coroutine is in its life; for diagnostics and join. */
enum weft__state {
	WEFT__RUNNABLE, /* in a run queue */
	WEFT__RUNNING,
	WEFT__PARKED,
	WEFT__DONE,     /* ended, waiting to be joined */
};

/* Park/wake handshake, co->wake.  ASLEEP_CANCEL: parked at a
 * cancellation point, where a cancel or a signal may wake it too;
 * ASLEEP_SIGNAL: parked where only a signal may (a mutex wait) (cancel.h). */
enum { WEFT__AWAKE, WEFT__ASLEEP, WEFT__WOKEN, WEFT__ASLEEP_CANCEL,
       WEFT__ASLEEP_SIGNAL };

/* Whether wake state w is a park's. */
static inline bool weft__asleep(int w)
{
	return w == WEFT__ASLEEP || w == WEFT__ASLEEP_CANCEL ||
	       w == WEFT__ASLEEP_SIGNAL;
}

/* A coroutine.  For coroutines weft starts, this lives at the top of the
 * coroutine's own stack slot, so a parked coroutine costs its touched stack
 * pages and nothing more. */
struct weft__co {
	struct weft__ctx ctx;
	struct weft__sched *sched;     /* the scheduler it runs on (a green
	                                  thread's may change: balance.h) */
	struct weft__co *run_next;     /* run queue link */
	_Atomic int wake;              /* WEFT__AWAKE/ASLEEP/WOKEN */
	int wake_reason;               /* 0 or an errno, given by the waker */
	enum weft__state state;
	int wait_fd;                   /* an fd waited on, or -1 */
	struct weft__waiter *waiters;  /* an fd wait's queued waiters, */
	int nwaiters;                  /* while it parks (wait.c) */
	int left_fds[4];               /* fds whose watchers its waits left */
	int nleft;                     /* running on its scheduler (wait.c) */
	const char *wait_what;         /* what it parks for ("read", "mutex") */
	int saved_errno;               /* errno is per thread: kept per
	                                  coroutine across switches */
	struct weft__co *all_next;     /* the scheduler's live coroutines */
	struct weft__co *all_prev;
	bool detached, joining, joined;
	bool stay;                     /* queued in the middle of weft's own
	                                  code (a hand-off's rejoin), which
	                                  holds its scheduler: it must not
	                                  be given elsewhere (balance.h) */
	unsigned char arriving;        /* queued to its scheduler by another
	                                  thread, not yet in its live list:
	                                  WEFT__MADE or WEFT__MOVED, else 0 */
	_Atomic bool left;             /* ended, and off its stack for good */
	int end_lock;                  /* guards its end against its joiner
	                                  and detacher: ended, joiner,
	                                  detached */
	bool ended;                    /* its function has returned */
	struct weft__slot *slot;       /* its stack, or NULL for a root */
	void *tcb;                     /* the thread pointer it runs with */
	bool own_tcb;                  /* tcb is its own (tcb.h), else its
	                                  OS thread's, shared */
	bool tls_done;                 /* its C++ thread_local destructors ran */
	_Atomic int *cancel_word;      /* its cancellation state, or NULL if
	                                  it cannot be cancelled (cancel.h) */
	_Atomic int own_cancel_word;   /* that word, without a block */
	bool cancel_point;             /* its next park is a cancellation
	                                  point's (cancel.h) */
	bool signal_point;             /* its next park is one a signal may
	                                  end, but no cancel (cancel.h) */
	struct weft__sigs *sigs;       /* a program thread's signal state
	                                  (sigs.h), or NULL */
	_Atomic uint64_t sig_ready;    /* signals sent to it and not blocked,
	                                  bit sig - 1: they end such a park
	                                  too (cancel.h) */
	void *landing;                 /* where its unwind ends (cancel.h) */
	char *limit;                   /* lowest safe sp, or NULL (roots) */
	void *(*fn)(void *);           /* the function, or: */
	void (*go_fn)(void *);         /* weft_go's, which returns nothing */
	void *arg;
	void *result;
	struct weft__co *joiner;
	struct weft__m *m;             /* the OS thread whose identity its
	                                  block carries (sched.c, rehome) */
	uint64_t id;
	struct weft__kv *kv;           /* per-coroutine key/value store */
	ev_timer timer;                /* for deadlines of waits */
	char name[16];
	void *asan_fake;               /* AddressSanitizer's fiber state */
	const void *asan_bottom;
	size_t asan_size;
	void *tsan_fiber;              /* ThreadSanitizer's fiber */
	uint64_t cpu_total;            /* CPU time used, in cputime.c's */
	uint64_t cpu_since;            /* ticks; when its run began (0: not
	                                  running, or since accounting began) */
	unsigned cpu_seq;              /* odd while cpu_* are being updated */
};

/* How a coroutine arrives at a scheduler through its remote queue: new,
 * or given by another (balance.h). */
enum { WEFT__MADE = 1, WEFT__MOVED = 2 };

/* A parked coroutine's place in one wait queue (a mutex's, an fd's).  It
 * lives on the coroutine's stack for the length of the wait. */
struct weft__waiter {
	struct weft__co *co;
	struct weft__waiter *next, *prev;
	void *queue;                   /* the queue it is in, or NULL */
	int fd;                        /* fd waits: the fd, */
	int events;                    /* the events asked for */
	int revents;                   /* and those seen ready */
};

/* ---- scheduler (sched.c) ---- */

/* The coroutine running program code on this thread, or NULL when the
 * thread has no scheduler or is inside weft's own machinery.  Hooks test
 * this first: NULL means "call the real function". */
extern __thread struct weft__co *weft__running
	__attribute__((tls_model("initial-exec")));

/* True on threads that belong to weft (offload workers) and around weft's
 * own calls to functions it also wraps (pthread_create for weft_thread):
 * wrappers that would otherwise act on such calls (green pthread calls)
 * pass them through. */
extern __thread bool weft__inside
	__attribute__((tls_model("initial-exec")));

/* Spin locks (waitq.h) the code running on this thread block holds: a
 * signal handler must not run program code that may take one of them
 * (core/sigroute.c). */
extern __thread unsigned weft__spins_held
	__attribute__((tls_model("initial-exec")));

/* WEFT_OFF=1: every wrapper passes through (read once at start). */
extern bool weft__off;

/* The one test of "is this call ours": the coroutine making it, or NULL
 * when the wrapper must call the real function unchanged (no scheduler on
 * this thread, weft's own machinery running, or WEFT_OFF). */
static inline struct weft__co *weft__hooked(void)
{
	return weft__likely(!weft__off) ? weft__running : NULL;
}

/* This thread's scheduler, made on first use (the caller becomes the root
 * coroutine).  Returns NULL with errno ENOMEM if it cannot be made. */
struct weft__sched *weft__sched_get(void);

/* The current coroutine, making the scheduler if needed; aborts with a
 * message if called from a context that cannot block (the scheduler's own
 * loop, or a signal handler interrupting it). */
struct weft__co *weft__self(void);

/* This scheduler's event loop. */
struct ev_loop *weft__loop(struct weft__sched *s);

/* The tid of the OS thread scheduler s runs on; from any thread, where a
 * pool member's may be that of the thread it left a moment ago. */
int weft__sched_tid(const struct weft__sched *s);

/* The pthread_t of the OS thread coroutine co runs on (in a green
 * thread, glibc's pthread_self() is the green thread's own). */
pthread_t weft__os_thread(const struct weft__co *co);

/* The scheduler's idle context when the caller is the scheduler's own
 * loop (a libev callback, or an allocator called from one); NULL
 * otherwise.  Such a caller must never park: locks spin there. */
struct weft__co *weft__loop_context(void);

/* True if the calling coroutine is the only live one of its scheduler,
 * and that is no pool member, so blocking the thread for real cannot hold
 * anybody up; it has then run the handlers of the signals ready for it
 * (and acted on a cancel due), as it does before a wrapper's real call. */
bool weft__alone(struct weft__co *co);

/* Whether a wrapper's call that may wait should park its coroutine: weft
 * is on, the caller is a coroutine, and it is not alone (alone, blocking
 * the thread for real gives the same results and holds nobody up). */
static inline bool weft__may_park(void)
{
	struct weft__co *co = weft__hooked();

	return co != NULL && !weft__alone(co);
}

/* Marks the caller parked.  Call before making the coroutine findable by a
 * waker on another thread (under the lock that guards the wait queue),
 * inside the gate (handoff.h), entered before any such lock and held until
 * weft__park returns: the caller must not change threads in between. */
void weft__prepark(struct weft__co *co);

/* Parks the caller (weft__prepark must have been called) until
 * weft__wake, or until deadline (monotonic ns; negative: none).  Returns
 * the waker's reason: 0, ETIMEDOUT for the deadline, or what the waker
 * gave (EBADF for a closed fd, ...). */
int weft__park(struct weft__co *co, int64_t deadline);

/* Parks co, which no waiter list holds, until deadline (negative: none)
 * or a wake from anything that knows it; returns as weft__park. */
int weft__nap(struct weft__co *co, int64_t deadline);

/* Wakes co with reason if it is parked and nobody woke it yet.  Safe from
 * any thread.  Returns true if this call woke it. */
bool weft__wake(struct weft__co *co, int reason);

/* Queues co (new, or yielding) at the tail of its scheduler's run queue. */
void weft__ready(struct weft__co *co);

/* Ends the calling coroutine; never returns. */
void weft__co_exit(struct weft__co *co) __attribute__((noreturn));

/* In a fork child, right after fork: the parent's other coroutines and
 * threads are gone, so the calling coroutine becomes the root of a fresh
 * scheduler with a new event loop (the inherited loop's fds are closed
 * without disturbing the parent's).  If it was not a root and its function
 * returns, the child process exits with 0, as after its last thread. */
void weft__sched_forget(void);

/* ---- coroutines (co.c) ---- */

/* How weft__co_new makes a coroutine; zero for the defaults. */
struct weft__co_attr {
	size_t stack_size;  /* usable bytes; 0: WEFT_STACK_SIZE */
	void *stack;        /* the program's own memory for the stack,
	                       [stack, stack + stack_size), or NULL */
	size_t guard;       /* guard size to report (pthread_getattr_np) */
	bool detached;
	bool own_tcb;       /* a thread block of its own (tcb.h), if this
	                       glibc allows; else it shares its OS thread's */
};

/* Makes a coroutine running fn(arg) as attr says (NULL: the defaults), to
 * be started with weft__co_start once whatever it needs from its maker
 * is in place: on another scheduler it may run at once.  Its thread block, if it has one, and its struct take room
 * at the top of the stack, as glibc's thread descriptor does.  Returns
 * it, or NULL with errno EAGAIN (no memory) or EINVAL (stack absurdly
 * large, or too small to hold what goes at its top). */
struct weft__co *weft__co_new(void *(*fn)(void *), void *arg,
			      const struct weft__co_attr *attr);

/* Queues co, just made by the caller: on the caller's scheduler, or, if
 * spread (green threads, which may run on any OS thread), on the pool's
 * pick (pool.h). */
void weft__co_start(struct weft__co *co, bool spread);

/* Parks self until co has ended, or the deadline: the one place where
 * a joiner meets a coroutine ending, maybe on another thread.  Returns 0
 * once co has ended, else what the park returned (ETIMEDOUT, or the
 * reason another waker gave). */
int weft__co_await_end(struct weft__co *self, struct weft__co *co,
		       int64_t deadline);

/* Releases an ended coroutine's memory, once its own thread has switched
 * away from it (waiting for that, if need be). */
void weft__co_free(struct weft__co *co);

/* Runs co's thread-exit work, once: its C++ thread_local destructors (if
 * it has a thread block of its own), then its key destructors.  Called by
 * co itself as it ends. */
void weft__co_finish(struct weft__co *co);

/* Runs key destructors for co; called as it ends. */
void weft__kv_destroy(struct weft__co *co);

/* ---- stacks (stack.c) ---- */

/* A stack slot: usable memory [lo, hi), below it a guard or moat. */
struct weft__slot {
	char *lo, *hi;
	struct weft__slot *next_free;
	size_t size;       /* usable bytes */
	bool guarded;      /* lowest pages are PROT_NONE */
	bool user;         /* the program's memory: never pooled */
	unsigned vg_id;    /* valgrind's id for it, if user */
};

/* The stack pointer of the context a signal handler interrupted, given
 * its ucontext (NULL on an architecture weft does not know) (stack.c). */
char *weft__uc_sp(void *uc);

/* Bytes below every pooled stack that are a guard or a moat. */
#define WEFT__STACK_GAP (16u << 10)

/* Takes a stack of at least size usable bytes from the pool, or maps more.
 * Returns NULL with errno EAGAIN (no memory) or EINVAL (size too big). */
struct weft__slot *weft__stack_get(size_t size);

/* A slot for stack memory the program gave (pthread_attr_setstack):
 * [lo, lo + size), no guard.  Returns NULL with errno EAGAIN. */
struct weft__slot *weft__stack_user(void *lo, size_t size);

/* Gives a stack back to the pool (a program's own is only forgotten).
 * With trim, its pages below the top WEFT__STACK_KEEP bytes go back to
 * the kernel first, as glibc's do when a thread ends. */
void weft__stack_put(struct weft__slot *slot, bool trim);
#define WEFT__STACK_KEEP (32u << 10)

/* The default stack size (WEFT_STACK_SIZE), in bytes. */
size_t weft__stack_default(void);

/* Prints the stack-overflow line for co and aborts. */
void weft__stack_overflow(const struct weft__co *co)
	__attribute__((noreturn));

/* Whether the fault (si, uc) on an OS thread running co is an overflow
 * of co's stack, a stack of weft's. */
bool weft__stack_overflowed(const struct weft__co *co, const siginfo_t *si,
			    void *uc);

/* Installs the guard-page fault handler and an alternate signal stack for
 * the calling thread, once per thread. */
void weft__stack_thread_init(void);

/* ---- fd waiting (wait.c) ---- */

/* Parks co until one of the n fds in w[] (fields fd and events, WEFT_READ
 * and/or WEFT_WRITE, filled in by the caller) is ready, or the deadline
 * passes.  w[i].revents gets the events seen ready for each.  Returns the
 * number of w[] with revents, or -errno: -ETIMEDOUT, -EBADF (an fd was
 * closed through weft while waiting), -ENOMEM. */
int weft__wait_fds(struct weft__co *co, struct weft__waiter *w, int n,
		   int64_t deadline);

/* Parks co until the monotonic clock reaches deadline (ns), and yields if
 * it has passed already: the others run either way.  Wakes that come
 * earlier are slept through, except, if cancel, a cancel's or a signal's
 * (each park ends a cancellation point, cancel.h).  Returns 0, ECANCELED
 * or EINTR.  errno is kept. */
int weft__sleep_until(struct weft__co *co, int64_t deadline, bool cancel);

/* weft__wait_fds for one fd: returns the ready events (> 0) or -errno. */
int weft__wait_fd(struct weft__co *co, int fd, int events, int64_t deadline);

/* Wakes every coroutine of this thread's scheduler waiting on fd with
 * reason (EBADF for close and dup2 onto it), and forgets fd's watcher so a
 * new file with the same number starts afresh. */
void weft__fd_gone(int fd, int reason);

/* Wakes the calling thread's coroutines waiting on fd for any of events,
 * as if the kernel had reported them, so they try again: for changes that
 * readiness does not show (shutdown of a full AF_UNIX socket). */
void weft__fd_poke(int fd, int events);

/* Frees a scheduler's fd watchers (thread exit). */
void weft__wait_free(struct weft__sched *s);

/* ---- futexes (futex.c) ---- */

/* FUTEX_WAIT for coroutine co: parks it until a weft__futex_wake on uaddr
 * whose bitset meets bitset, the deadline (monotonic ns; negative: none)
 * or a signal sent to co, if *uaddr still holds val.  Returns 0 (woken,
 * or the word changed: a spurious wake-up futex callers allow), -EAGAIN
 * (*uaddr was not val), -ETIMEDOUT or -EINTR (the caller runs the
 * handlers).  uaddr must be valid and aligned. */
int weft__futex_wait(struct weft__co *co, const uint32_t *uaddr,
		     uint32_t val, uint32_t bitset, int64_t deadline);

/* FUTEX_WAKE for the coroutines weft__futex_wait parked on uaddr: wakes
 * up to n whose bitset meets bitset, from any thread.  Returns how many. */
int weft__futex_wake(const uint32_t *uaddr, int n, uint32_t bitset);

/* ---- synchronisation (mutex.c, cond.c, sem.c) ---- */

/* Deadline forms of the public calls, returning 0 or an errno value
 * instead of setting errno, as the pthread calls mapped onto them do. */
int weft__mutex_lock_until(weft_mutex *m, int64_t deadline);
int weft__cond_wait_until(weft_cond *c, weft_mutex *m, int64_t deadline);

/* weft__mutex_lock_until for a program thread's lock, whose wait goes as
 * a native one: a signal sent to the caller while it is parked (sigs.h)
 * ends the wait with EINTR, the caller no longer queued, so that it runs
 * the handlers and calls again with the same deadline; after a park that
 * ends otherwise, what was given to it meanwhile is taken (poke.h).  A
 * mutex that is free costs no more than with weft__mutex_lock_until. */
int weft__mutex_lock_or_signal(weft_mutex *m, int64_t deadline);

/* weft__cond_wait_until's first half: releases m and waits on c until
 * signalled, the deadline, or a wake with a reason (EINTR, ECANCELED),
 * which it returns (0 if signalled); m is not taken again. */
int weft__cond_park(weft_cond *c, weft_mutex *m, int64_t deadline);

/* Waits until no waiter of c that a signal or broadcast woke still has to
 * let go of it (see cond.c), yielding meanwhile: after this c may be
 * freed.  For pthread_cond_destroy. */
void weft__cond_quiesce(weft_cond *c);
int weft__sem_wait_until(weft_sem *s, int64_t deadline);

/* ---- time (time.c) ---- */

/* Monotonic clock in ns. */
int64_t weft__now(void);

/* Deadline for a relative time-out: negative stays "none". */
int64_t weft__deadline(int64_t timeout_ns);

/* ---- CPU time (cputime.c) ----
 *
 * Each coroutine's CPU time, counted at switches once the program has
 * asked for a thread's CPU time (before, a switch only tests
 * weft__cpu_on).  What is counted is the time a coroutine held its OS
 * thread since accounting began. */

/* Whether switches count CPU time (set once by weft__cpu_start). */
extern bool weft__cpu_on;

/* Whether switches count CPU time: a switch tests this first. */
static inline bool weft__cpu_counting(void)
{
	return weft__unlikely(__atomic_load_n(&weft__cpu_on, __ATOMIC_ACQUIRE));
}

/* Turns accounting on, if it is not yet: from now on, switches count.
 * The first call measures the clock (a fraction of a millisecond).
 * errno is kept. */
void weft__cpu_start(void);

/* At a switch from `from` to `to`, while weft__cpu_on: adds the time since
 * `from` was switched in to its total, and notes when `to` starts. */
void weft__cpu_switch(struct weft__co *from, struct weft__co *to);

/* The CPU time co has used since accounting began, in ns: its total, and
 * if it is running, the time since it was switched in.  Any thread may
 * ask about any live coroutine. */
uint64_t weft__cpu_ns(struct weft__co *co);

/* ---- statistics (stats.c) ---- */

/* WEFT_STATS: whether parks are counted by what they wait for. */
extern bool weft__stats_on;

/* Counts one park for what (a string literal, e.g. "read"). */
void weft__stats_wait(const char *what);

struct weft__stats {
	uint64_t created;      /* coroutines made, roots included */
	uint64_t switches;     /* context switches */
	uint64_t peak_live;    /* most coroutines alive at once, per thread */
	unsigned nscheds;      /* schedulers, and the first 64 of them: */
	struct {
		int tid;       /* its OS thread */
		bool pooled;   /* a member of the pool */
		uint64_t created, switches, peak_live;
		uint64_t handoffs; /* times it changed OS threads */
		uint64_t gave;     /* coroutines it gave to a hungry one */
	} scheds[64];
	unsigned nwaits;
	struct {
		const char *what;
		uint64_t count;
	} waits[64];
};

/* Fills *st with the counts of every scheduler so far. */
void weft__stats_get(struct weft__stats *st);

/* Calls fn for every live coroutine of every scheduler.  For diagnostics:
 * other threads keep running meanwhile, so what it sees of them may be a
 * moment old.  Returns false, having called fn for none, if the list of
 * schedulers is being changed at that moment (by the thread a signal
 * handler interrupted, perhaps): then try again later. */
bool weft__each_co(void (*fn)(struct weft__co *co, void *arg), void *arg);

/* Forgets the counted waits (a fork child's report is its own). */
void weft__stats_reset(void);

/* ---- configuration (config.c) ---- */

/* Reads WEFT_* variable name as a size in bytes (K, M, G suffixes); def if
 * unset, or (with one line on stderr) if bad or outside [min, max]. */
size_t weft__env_size(const char *name, size_t def, size_t min, size_t max);

/* Reads WEFT_* variable name as 0 or 1; def when unset, and (with one line
 * on stderr) when it is anything else. */
bool weft__env_flag(const char *name, bool def);

/* Reads WEFT_* variable name as a whole number in [min, max]; def when
 * unset, and (with one line on stderr) when bad or out of range. */
unsigned weft__env_count(const char *name, unsigned def, unsigned min,
			 unsigned max);

/* Says on stderr, in one line, that name=value is ignored: want says what
 * was wanted and what is used instead. */
void weft__env_ignored(const char *name, const char *value, const char *want);

/* ---- diagnostics (diag.c) ---- */

/* Writes "weft: <msg>\n" to stderr with one write(2), async-signal-safe. */
void weft__say(const char *msg);

/* weft__say, then abort(). */
void weft__die(const char *msg) __attribute__((noreturn));

/* Appends decimal n to buf (NUL-terminated, of size cap); returns buf. */
char *weft__cat_u64(char *buf, size_t cap, uint64_t n);

/* Appends s to buf (NUL-terminated, of size cap); returns buf. */
char *weft__cat(char *buf, size_t cap, const char *s);

#endif
