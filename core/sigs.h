/* sigs.h - signals as threads see them: each program thread's mask and
 * pending set, the handlers the program installed, and the routing of a
 * signal to the thread it is meant for.
 *
 * A program thread is a green thread or the process's main thread (the
 * root of its scheduler).  Each has a struct weft__sigs: its mask as the
 * program set it and the signals sent to it and not yet handled.  Its
 * mask is its own, not its OS thread's: an OS thread that runs a
 * scheduler blocks the signals no program thread lets through, and only
 * those (see "The OS threads' masks" below).
 *
 * In preload mode weft installs its own handler (the front,
 * sigroute.c) for every signal the program catches, except the
 * synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS),
 * which run at once on the thread that faulted, through a front of their
 * own (sigsync.c) that puts them on that thread's alternate stack.  The
 * front runs the program's handler at
 * once when the signal landed on the thread it is for: a thread with no
 * scheduler, or a program thread running there that does not block it.
 * Any other (a signal to the process, arriving while its OS thread polled
 * or ran a thread that blocks it) goes to the router, a thread of weft's,
 * which gives it to a program thread that does not block it (main first,
 * as the kernel), or back to the process if none does any more.  Given a
 * signal, a thread runs its handler as itself (sigs.c): at
 * once if it is parked at a cancellation point (the park ends with EINTR,
 * cancel.h, and the call returns EINTR or restarts as signal(7) says),
 * else at its next cancellation point or unblocking.
 */
#ifndef WEFT_SIGS_H
#define WEFT_SIGS_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct weft__co;
struct weft__sigq;

/* A program thread's signal state. */
struct weft__sigs {
	struct weft__co *co;          /* the thread */
	sigset_t mask;                /* its mask, as the program set it */
	_Atomic uint64_t mask_bits;   /* signals 1-64 of mask, bit sig - 1,
	                                 for senders on other threads */
	_Atomic uint64_t pending;     /* sent to it, not yet handled */
	struct weft__sigq *queue;     /* of those, the ones given with a
	                                 siginfo of their own (sigq.c) */
	int queued;                   /* entries in queue */
	int queue_lock;
	uint64_t counted;             /* the signals it is counted as letting
	                                 through (sigs.c) */
	_Atomic uint64_t waited;      /* while it waits in sigwait and kin:
	                                 the signals it waits for */
	_Atomic unsigned calls;       /* handlers it has run */
	_Atomic bool taking;          /* a run of its handlers (sigs.c) is
	                                 between taking a signal and
	                                 blocking it for its handler */
	stack_t alt;                  /* a green thread's sigaltstack, as
	                                 the program set it (sigstack.c);
	                                 ss_size 0 if none, or disarmed */
	char *alt_lo, *alt_hi;        /* the alternate stack its handlers
	                                 run on now, if any: its own code
	                                 runs there (weft__sig_in_program) */
	unsigned alt_vg;              /* valgrind's id for alt plus 1, or 0 */
};

/* ---- a thread's signals (sigs.c) ---- */

/* The bit of signal sig (1-64) in the masks above. */
static inline uint64_t weft__sig_bit(int sig)
{
	return (uint64_t)1 << (sig - 1);
}

/* Publishes s->mask, just changed, to senders on other threads. */
void weft__sig_mask_set(struct weft__sigs *s);

/* Sends sig to the thread of s: pending there, and its park at a
 * cancellation point ended (cancel.h) unless it blocks sig.  Any thread
 * may call. */
void weft__sig_post(struct weft__sigs *s, int sig);

/* The end of s's thread: it lets nothing through any more, and its
 * coroutine, whose last steps may outlive s, no longer names s. */
void weft__sig_end(struct weft__sigs *s);

/* In a fork's child: counts s's thread alone (or none). */
void weft__sig_recount_only(struct weft__sigs *s);

/* The signals 1-64 at least one program thread lets through, bit sig - 1,
 * and in *gen (if not NULL) a count of its changes. */
uint64_t weft__sig_wanted(unsigned *gen);

/* Marks s's thread as waiting in sigwait and kin for the signals of set,
 * or (set NULL) as waiting no more.  Meanwhile a signal of set sent to
 * the thread ends its park, as the kernel's wait takes the signals of
 * its set whether the thread blocks them or not. */
void weft__sig_waiting(struct weft__sigs *s, const sigset_t *set);

/* Takes for s's thread, waiting in sigwait and kin, the lowest signal of
 * set sent to it, with the siginfo it was sent with (a pthread_kill's if
 * none).  Returns the signal, or 0 if none of set is pending. */
int weft__sig_take_waited(struct weft__sigs *s, const sigset_t *set,
			  siginfo_t *si);

/* Runs the handlers of the signals sent to co, the calling coroutine,
 * that its mask lets through (and takes for it those pending for the
 * process that it lets through), each as the kernel would run it.
 * Returns -1 if none ran (a wait goes on), 1 if every one that ran has
 * SA_RESTART (a call the kernel restarts goes on), 0 otherwise (the call
 * returns EINTR). */
int weft__sig_run(struct weft__co *co);

/* weft__sig_run in a signal handler that interrupted co running its own
 * code (weft__sig_in_program): the handlers get uc, the kernel's
 * context. */
int weft__sig_run_at(struct weft__co *co, void *uc);

/* ---- the program's handlers and the router (sigroute.c) ---- */

/* Whether the context a signal handler interrupted (its ucontext uc),
 * on an OS thread where co is the running coroutine, is co running its
 * own code, where a handler may run as co: co is not switching, holds no
 * spin lock, is not inside the gate (handoff.h), and is on its own
 * stack. */
bool weft__sig_in_program(const struct weft__co *co, void *uc);

/* Gives root, a scheduler's root, main's state if it is main's thread and
 * routing is on (else leaves it without). */
void weft__sig_attach_main(struct weft__co *root);

/* Whether the front stands in for the program's handlers (preload mode:
 * hook/pthread.c turns it on with green threads). */
extern bool weft__sig_routing;

/* Whether weft routes sig when the program catches it: 1-64, and none of
 * SIGKILL, SIGSTOP, glibc's own, or the synchronous signals. */
bool weft__sig_routable(int sig);

/* sigaction for a routable sig: records act as the program's and
 * installs the front for a handler, or act itself for SIG_DFL and
 * SIG_IGN; *old gets the program's previous action.  Returns 0, or -1
 * with errno (EFAULT as the kernel gives it). */
int weft__sig_action_set(int sig, const struct sigaction *act,
			 struct sigaction *old);

/* The program's action for sig: as recorded, or the kernel's if the
 * program never set it through weft.  Returns 0, or -1 with errno. */
int weft__sig_action_get(int sig, struct sigaction *sa);

/* ---- the OS threads' masks (sigmask.c) ----
 *
 * Every OS thread that runs a scheduler blocks the routable signals no
 * program thread lets through, so that the kernel keeps those pending for
 * sigwait, signalfd and a later unblock, and lets through all others,
 * which the front routes.  Once the program catches a realtime signal,
 * the router alone lets realtime signals through (those a program thread
 * lets through), which keeps their order. */

/* The wanted set just changed: applies it to the calling OS thread and
 * wakes every scheduler, whose loop then applies it to its own
 * (weft__sig_os_follow, called each time round the loop), and the
 * router. */
void weft__sig_os_changed(void);
void weft__sig_os_follow(void);

/* A thread that starts a scheduler takes the scheduler threads' mask
 * (weft__sig_os_follow without the router's restart in a fork's child,
 * which its loop does). */
void weft__sig_os_start(void);

/* Makes the mask in ucontext uc the calling thread's as it should be: the
 * router's, or a scheduler thread's. */
void weft__sig_os_uc(void *uc, bool router);

/* The router's mask, as a kernel sigset (bit sig - 1). */
uint64_t weft__sig_router_block(void);

/* Whether sig is realtime and the router alone takes those. */
bool weft__sig_rt_routed(int sig);

/* Makes the router alone take realtime signals from the kernel, once;
 * returns when every scheduler thread blocks them (or after two seconds).
 * Called before the program's first realtime handler is installed, with
 * the router started. */
void weft__sig_rt_switch(void);

/* From the poke's handler (uc: the context it interrupted): a scheduler
 * thread that the switch waits for blocks realtime signals for good. */
void weft__sig_os_poked(void *uc);

/* In a fork's child: the calling thread is the only scheduler thread. */
void weft__sig_os_forget(void);

/* Carries out the process's action for sig, a default or ignore, as the
 * kernel would on the calling OS thread, whose mask may block it. */
void weft__sig_default(int sig);

/* For s's thread, whose mask is about to let through the signals of
 * opened (bit sig - 1): takes from the kernel the realtime ones of opened
 * that no other thread lets through, pending for the process (or for the
 * calling OS thread), in the kernel's order, and gives them to s, as the
 * kernel would deliver them to a thread that unblocks them before its
 * sigprocmask returns. */
void weft__sig_take_process(struct weft__sigs *s, uint64_t opened);

/* The router's side of the masks (sigroute.c): wakes it, so that it
 * looks at its mask again; and in a fork's child, starts a new one. */
void weft__sig_router_ring(void);
void weft__sig_router_follow(void);

/* main's signal state, if main is a program thread (routing is on and
 * it has asked for its state), else NULL; *th gets its pthread_t. */
struct weft__sigs *weft__sig_main(pthread_t *th);

/* Applies sa's SA_RESETHAND for sig, as the kernel does at delivery:
 * the program's action becomes SIG_DFL. */
void weft__sig_reset_hand(int sig, const struct sigaction *sa);

/* Turns routing on (preload mode, with green threads), given the
 * kernel's sigaction and a raw syscall: weft's wrappers of them must not
 * be reached from the front. */
void weft__sig_routing_on(int (*kernel)(int, const struct sigaction *,
					struct sigaction *),
			  long (*sys)(long, ...));

/* In a fork's child: the router is gone (it starts again when needed),
 * and no lock is held. */
void weft__sig_forget(void);

/* Puts sig, which no program thread lets through, back to the process
 * with siginfo si: the kernel keeps it pending (every scheduler's thread
 * blocks it, or soon will).  The siginfo is kept where the kernel lets
 * the calling thread send it; else it goes as SI_QUEUE.  Needs routing
 * on (its raw system call). */
void weft__sig_requeue(int sig, const siginfo_t *si);

/* Sends sig to the thread of s as weft__sig_post does, with the siginfo
 * and action its handler is to run with (SA_RESETHAND already applied),
 * queued (sigq.c); any thread may call. */
void weft__sig_give(struct weft__sigs *s, int sig, const siginfo_t *si,
		    const struct sigaction *sa);

/* ---- the siginfos given to a thread (sigq.c) ---- */

/* Queues sig, with si and sa, on s's thread, as the kernel queues a
 * signal on a thread: a realtime one each time, a standard one unless
 * one is queued already (merged).  Returns false if it was merged or
 * dropped (the queue is full, or no memory). */
bool weft__sigq_put(struct weft__sigs *s, int sig, const siginfo_t *si,
		    const struct sigaction *sa);

/* Takes the first sig queued on s's thread into *si and *sa; *more says
 * whether another of sig is queued behind it.  Returns false if none is.
 * Safe in a signal handler that interrupted code holding no spin lock. */
bool weft__sigq_take(struct weft__sigs *s, int sig, siginfo_t *si,
		     struct sigaction *sa, bool *more);

/* Empties s's queue (its thread ends). */
void weft__sigq_drop(struct weft__sigs *s);

/* In a fork's child: no lock is held (s: the child's thread, or NULL). */
void weft__sigq_forget(struct weft__sigs *s);

/* ---- alternate signal stacks (sigstack.c) ----
 *
 * A green thread's sigaltstack is its own (s->alt), kept as the kernel
 * keeps a thread's; the OS thread's stays weft's, for its overflow
 * report.  A handler with SA_ONSTACK runs on the thread's alternate stack
 * if it has one armed and is not on it already, as the kernel would run
 * it: weft__sig_call (the handlers run as the thread, and those the front
 * runs in place) and the synchronous front (sigsync.c) call it there
 * through weft__sigstack_call.  Main and native threads keep the
 * kernel's own, which weft__sigstack_call emulates for the front (weft
 * installs the front without SA_ONSTACK, so that its frame is always on
 * the interrupted stack, whichever OS thread the thread later runs on). */

/* Whether sp lies on s's alternate stack, as the kernel tells it: never
 * while it is marked SS_AUTODISARM. */
bool weft__sigstack_on(const struct weft__sigs *s, const char *sp);

/* sigaltstack for s's thread, with its stack pointer sp: *old (if not
 * NULL) gets the one it had, with SS_ONSTACK if sp is on it, and ss (if
 * not NULL), checked by the kernel already, becomes its own.  The caller
 * refuses a change with EPERM first if weft__sigstack_on. */
void weft__sigstack_swap(struct weft__sigs *s, const stack_t *ss,
			 stack_t *old, const char *sp);

/* Forgets s's alternate stack (its thread ends). */
void weft__sigstack_end(struct weft__sigs *s);

/* Calls handler sa of sig with si and uc (the kernel's context, or one
 * made where the thread was) on the stack the kernel would run it on for
 * s's thread (NULL: a thread with no program thread's state, the
 * kernel's alternate stack).  moved: the caller itself runs on the
 * kernel's alternate stack of its OS thread, away from the interrupted
 * stack (the synchronous front).  For a green thread, uc's uc_stack
 * says, while the handler runs, what the kernel would have saved there:
 * the thread's alternate stack.  The mask is the caller's to set. */
void weft__sigstack_call(struct weft__sigs *s, int sig, siginfo_t *si,
			 void *uc, const struct sigaction *sa, bool moved);

/* The raw syscall, set when routing is turned on: weft's wrappers must
 * not be reached from a signal handler. */
extern long (*weft__sig_sys)(long, ...);

/* ---- the synchronous signals (sigsync.c) ---- */

/* Whether sig is one the kernel sends to the thread that faulted:
 * SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS. */
bool weft__sig_sync(int sig);

/* The kernel's handler of a synchronous signal whose action the program
 * set through weft (a handler, or any action of SIGSEGV's, which also
 * reports weft's stack overflows): runs the program's handler where the
 * kernel would for the thread that faulted (weft__sigstack_call), or
 * weft's overflow report when no handler of the program's can take the
 * overflow, or the default action. */
void weft__sig_sync_front(int sig, siginfo_t *si, void *uc);

/* Calls handler sa of sig with si, as the calling program thread s (NULL
 * if none), the way the kernel would: s's mask plus sa_mask (and sig,
 * unless SA_NODEFER) meanwhile, SA_RESETHAND already applied by the
 * caller (sigs.c). */
void weft__sig_call(struct weft__sigs *s, int sig, siginfo_t *si,
		    void *uc, const struct sigaction *sa);

#endif
