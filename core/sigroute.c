/* sigroute.c - the program's handlers, the front weft installs in their
 * place, and the router that gives a signal to the thread it is for (see
 * sigs.h).
 *
 * The program's actions are kept here, one per signal, each under a
 * sequence count, so that the front, in a signal handler, reads one whole
 * (writers hold a spin lock).  The kernel's disposition is the program's
 * own for SIG_DFL and SIG_IGN, and the front, with the program's flags
 * and sa_mask, for a handler: native threads and real system calls see
 * the program's SA_RESTART, sa_mask and SA_NODEFER as ever.  SA_RESETHAND
 * is weft's to apply, when the signal is delivered.
 *
 * The front runs the program's handler in place when it may: on a thread
 * without a scheduler, or as the program thread running there if that
 * thread lets the signal through and was not inside weft (holding a spin
 * lock, or between a park and its switch), unless signals sent before it
 * still wait (in the ring, or pending on that thread: realtime signals
 * keep their order).  Else it queues the signal
 * for the router: a ring of entries a producer claims with a
 * compare-and-swap and marks full when written, drained by the router, a
 * thread of weft's with every signal blocked that sleeps on a futex the
 * front wakes.  The router gives each signal to a program thread that
 * lets it through: the one that was interrupted if it was inside weft,
 * else main, else the first green thread found; with none, it goes back
 * to the process, whose scheduler threads block it by then (sigs.h: the
 * OS threads' masks).  Once the program catches a realtime signal, the
 * router alone takes realtime signals from the kernel (sigmask.c), and
 * its front only queues them, in the kernel's order.  Nothing here in
 * the front takes a lock a signal handler could find held (only the
 * action table's, if a handler changes an action while its own thread
 * was changing the same).
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "gthread.h"
#include "handoff.h"
#include "poke.h"
#include "sched.h"
#include "sigs.h"
#include "waitq.h"

/* <linux/pidfd.h>'s, which Debian 12's headers predate (Linux 6.9). */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef PIDFD_SIGNAL_THREAD_GROUP
#define PIDFD_SIGNAL_THREAD_GROUP (1UL << 1)
#endif

bool weft__sig_routing;
long (*weft__sig_sys)(long, ...);

/* The kernel's sigaction and a raw syscall, given by the hook layer:
 * weft's own wrappers of them must not be reached from here. */
static int (*kernel_action)(int, const struct sigaction *,
			    struct sigaction *);
static long (*raw_syscall)(long, ...);

/* ---- the program's actions ---- */

struct action {
	_Atomic unsigned seq;      /* odd while being written */
	bool set;                  /* the program set it through weft */
	struct sigaction sa;
};

static struct action actions[65];
static int actions_lock;

/* main's signal state (see weft__sig_attach_main), and its pthread_t. */
static struct weft__sigs main_sigs;
static pthread_t main_th;

/* See sigs.h. */
bool weft__sig_routable(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP:
	case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP:
	case SIGSYS:
		return false;
	}
	return sig >= 1 && sig <= 64 && sig < NSIG && sig != __SIGRTMIN &&
	       sig != __SIGRTMIN + 1;
}

/* Reads the program's action for sig into *sa, whole; false if the
 * program never set it through weft. */
static bool action_read(int sig, struct sigaction *sa)
{
	struct action *a = &actions[sig];
	unsigned before;
	bool set;

	do {
		while ((before = atomic_load_explicit(&a->seq,
				memory_order_acquire)) & 1)
			cpu_relax();
		set = a->set;
		memcpy(sa, &a->sa, sizeof *sa);
		atomic_thread_fence(memory_order_acquire);
	} while (atomic_load_explicit(&a->seq, memory_order_relaxed) !=
		 before);
	return set;
}

static void front(int sig, siginfo_t *si, void *uc);

/* Records sa as the program's action for sig, and gives the kernel the
 * front or sa itself.  With actions_lock held.  Returns 0 or -1. */
static int action_write(int sig, const struct sigaction *sa)
{
	struct sigaction k = *sa;
	struct action *a = &actions[sig];

	const int own = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK | SA_NODEFER;
	bool handler = sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;

	if (weft__sig_sync(sig) && (handler || sig == SIGSEGV)) {
		/* On the OS thread's alternate stack, weft's, from which
		 * the handler moves to the thread's own (sigsync.c). */
		k.sa_sigaction = weft__sig_sync_front;
		k.sa_flags = (sa->sa_flags | SA_SIGINFO | SA_ONSTACK |
			      (handler ? 0 : SA_NODEFER)) & ~SA_RESETHAND;
	} else if (handler) {
		/* Its frame on the interrupted stack (sigstack.c). */
		k.sa_sigaction = front;
		k.sa_flags = (sa->sa_flags | SA_SIGINFO) &
			     ~(SA_RESETHAND | SA_ONSTACK);
	}
	if (kernel_action(sig, &k, NULL) != 0)
		return -1;
	/* Read back as libc would give it (its restorer, the mask the
	 * kernel kept), with the program's handler and flags of its own. */
	kernel_action(sig, NULL, &k);
	k.sa_handler = sa->sa_handler;
	k.sa_flags = (k.sa_flags & ~own) | (sa->sa_flags & own);
	atomic_fetch_add_explicit(&a->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	a->set = true;
	a->sa = k;
	atomic_fetch_add_explicit(&a->seq, 1, memory_order_release);
	return 0;
}

/* See sigs.h. */
int weft__sig_action_get(int sig, struct sigaction *sa)
{
	if ((weft__sig_routable(sig) || weft__sig_sync(sig)) &&
	    action_read(sig, sa))
		return 0;
	return kernel_action ? kernel_action(sig, NULL, sa)
			     : sigaction(sig, NULL, sa);
}

static bool router_start(void);

/* See sigs.h. */
int weft__sig_action_set(int sig, const struct sigaction *act,
			 struct sigaction *old)
{
	struct sigaction prev;
	int r = 0;

	if (act != NULL && act->sa_handler != SIG_DFL &&
	    act->sa_handler != SIG_IGN && router_start() &&
	    sig >= SIGRTMIN && sig <= SIGRTMAX)
		weft__sig_rt_switch(); /* before its front is installed */
	weft__spin_lock(&actions_lock);
	if (!action_read(sig, &prev))
		r = kernel_action(sig, NULL, &prev);
	if (r == 0 && act != NULL)
		r = action_write(sig, act);
	weft__spin_unlock(&actions_lock);
	if (r == 0 && old != NULL)
		*old = prev;
	return r;
}

/* See sigs.h. */
void weft__sig_reset_hand(int sig, const struct sigaction *sa)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (!(sa->sa_flags & SA_RESETHAND))
		return;
	weft__spin_lock(&actions_lock);
	action_write(sig, &dfl);
	weft__spin_unlock(&actions_lock);
}

/* ---- the router ---- */

/* A signal the front left to the router. */
struct entry {
	_Atomic bool full;         /* written, not yet routed */
	int sig;
	siginfo_t si;
	struct sigaction sa;       /* the program's action at delivery */
	pthread_t prefer;          /* the green thread it interrupted inside
	                              weft, which lets it through, or 0 */
	bool prefer_main;          /* or main, so interrupted */
};

#define RING 256

static struct entry ring[RING];
static _Atomic unsigned long ring_head, ring_tail;
static _Atomic uint32_t bell;  /* the router's futex: rung per entry */
static _Atomic bool router_up;
static bool router_lost;       /* in a fork's child, the parent's had one */
static __thread bool on_router;

/* See sigs.h. */
void weft__sig_router_ring(void)
{
	atomic_fetch_add(&bell, 1);
	raw_syscall(SYS_futex, &bell, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Queues sig for the router; false if the ring is full.  Async-signal
 * safe: no lock, and the wake is a raw futex call. */
static bool enqueue(int sig, const siginfo_t *si, const struct sigaction *sa,
		    struct weft__co *prefer)
{
	unsigned long t = atomic_load(&ring_tail);

	do {
		if (t - atomic_load(&ring_head) >= RING)
			return false;
	} while (!atomic_compare_exchange_weak(&ring_tail, &t, t + 1));
	struct entry *e = &ring[t % RING];
	e->sig = sig;
	e->si = *si;
	e->sa = *sa;
	e->prefer = prefer && prefer->slot ? weft__green_id(prefer) : 0;
	e->prefer_main = prefer && !prefer->slot;
	atomic_store_explicit(&e->full, true, memory_order_release);
	weft__sig_router_ring();
	return true;
}

/* Whether s lets sig through. */
static bool lets(const struct weft__sigs *s, int sig)
{
	return s != NULL && s->co != NULL &&
	       !(atomic_load(&s->mask_bits) & weft__sig_bit(sig));
}

static bool green_lets(struct weft__green *g, void *sig)
{
	return !g->ended && lets(&g->sigs, *(int *)sig);
}

/* Whether g lets sig through but for the handler it is running, whose
 * sa_mask blocks it for now. */
static bool green_lets_later(struct weft__green *g, void *sig)
{
	return !g->ended && (g->sigs.counted & weft__sig_bit(*(int *)sig));
}

/* See sigs.h.  The kernel lets a thread send a siginfo of its own making
 * (a kill's, from another process) only to itself: rt_sigqueueinfo to
 * the process from main's thread, or since Linux 6.9 pidfd_send_signal
 * through a pidfd of the calling thread (PIDFD_THREAD) to its thread
 * group.  Where neither may, it goes as SI_QUEUE. */
void weft__sig_requeue(int sig, const siginfo_t *from)
{
	siginfo_t si = *from;

	if (raw_syscall(SYS_rt_sigqueueinfo, getpid(), sig, &si) == 0)
		return;
	long fd = raw_syscall(SYS_pidfd_open, raw_syscall(SYS_gettid),
			      PIDFD_THREAD);
	if (fd >= 0) {
		long r = raw_syscall(SYS_pidfd_send_signal, fd, sig, &si,
				     PIDFD_SIGNAL_THREAD_GROUP);
		raw_syscall(SYS_close, fd);
		if (r == 0)
			return;
	}
	si.si_code = SI_QUEUE;
	raw_syscall(SYS_rt_sigqueueinfo, getpid(), sig, &si);
}

/* See sigs.h.  A signal merged with one queued already is still posted:
 * the thread may have taken the other meanwhile. */
void weft__sig_give(struct weft__sigs *s, int sig, const siginfo_t *si,
		    const struct sigaction *sa)
{
	weft__sigq_put(s, sig, si, sa);
	weft__sig_post(s, sig);
}

/* Gives e's signal to a program thread that lets it through (see the top
 * of the file), or leaves it pending for the process. */
static void route(const struct entry *e)
{
	int sig = e->sig;
	struct weft__sigs *main = main_sigs.co ? &main_sigs : NULL, *to = NULL;
	struct weft__green *g;

	weft__spin_lock(&weft__green_lock);
	if (e->prefer != 0 && (g = weft__green_find_locked(e->prefer)) &&
	    green_lets(g, &sig))
		to = &g->sigs;
	else if (lets(main, sig))
		to = main;
	else if ((g = weft__green_first_locked(green_lets, &sig)) != NULL)
		to = &g->sigs;
	else if (main != NULL && (main->counted & weft__sig_bit(sig)))
		to = main;
	else if ((g = weft__green_first_locked(green_lets_later, &sig)))
		to = &g->sigs;
	if (to != NULL)
		weft__sig_give(to, sig, &e->si, &e->sa);
	weft__spin_unlock(&weft__green_lock);
	if (to == NULL)
		weft__sig_requeue(e->sig, &e->si);
}

/* The router: its mask (sigmask.c) follows the wanted set, then it
 * routes what its ring holds. */
static void *router(void *arg)
{
	uint64_t mask = ~(uint64_t)0;

	(void)arg;
	weft__inside = true;
	on_router = true;
	for (;;) {
		uint32_t seen = atomic_load(&bell);
		unsigned long h = atomic_load(&ring_head);
		uint64_t want = weft__sig_router_block();
		struct entry *e;

		if (want != mask) {
			mask = want;
			raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask,
				    NULL, sizeof mask);
		}

		while (h != atomic_load(&ring_tail) &&
		       atomic_load_explicit(&(e = &ring[h % RING])->full,
					    memory_order_acquire)) {
			route(e);
			atomic_store(&e->full, false);
			atomic_store(&ring_head, ++h);
		}
		/* An entry still being written rings when it is done. */
		raw_syscall(SYS_futex, &bell, FUTEX_WAIT_PRIVATE, seen, NULL,
			    NULL, 0);
	}
	return NULL;
}

/* Starts the router, once (again in a fork's child).  Returns whether it
 * runs, or will. */
static bool router_start(void)
{
	struct weft__co *saved = weft__running;
	bool was = weft__inside, no = false;
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all;

	if (atomic_load(&router_up) ||
	    !atomic_compare_exchange_strong(&router_up, &no, true))
		return true;
	if (pthread_attr_init(&attr) != 0) {
		atomic_store(&router_up, false);
		return false;
	}
	sigfillset(&all);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setsigmask_np(&attr, &all);
	weft__running = NULL;
	weft__inside = true;
	bool made = pthread_create(&tid, &attr, router, NULL) == 0;
	if (made)
		pthread_setname_np(tid, "weft-signals");
	else
		atomic_store(&router_up, false);
	weft__inside = was;
	weft__running = saved;
	pthread_attr_destroy(&attr);
	return made;
}

/* See sigs.h. */
void weft__sig_router_follow(void)
{
	if (weft__unlikely(router_lost)) { /* a fork's child: a new one */
		router_lost = false;
		router_start();
	}
}

/* main's state, if the caller is main's thread and routing is on; its
 * mask is read from the thread the first time. */
static struct weft__sigs *main_of_caller(void)
{
	if (!weft__sig_routing || syscall(SYS_gettid) != getpid())
		return NULL;
	if (main_sigs.co == NULL) {
		uint64_t bits = 0;
		raw_syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &bits,
			    sizeof bits);
		main_th = pthread_self();
		sigemptyset(&main_sigs.mask);
		for (int sig = 1; sig <= 64; sig++)
			if (bits & weft__sig_bit(sig))
				sigaddset(&main_sigs.mask, sig);
		weft__sig_mask_set(&main_sigs);
	}
	return &main_sigs;
}

/* See sigs.h. */
struct weft__sigs *weft__sig_main(pthread_t *th)
{
	if (main_sigs.co == NULL)
		return NULL;
	*th = main_th;
	return &main_sigs;
}

/* See sigs.h. */
void weft__sig_attach_main(struct weft__co *root)
{
	if ((root->sigs = main_of_caller()) != NULL)
		root->sigs->co = root;
}

/* See sigs.h. */
void weft__sig_forget(void)
{
	struct weft__co *co = weft__running;

	router_lost = atomic_load(&router_up);
	weft__sig_recount_only(co ? co->sigs : NULL);
	main_sigs.co = NULL;
	atomic_store(&router_up, false);
	actions_lock = 0;
	weft__sigq_forget(co ? co->sigs : NULL);
	weft__sig_os_forget();
	atomic_store(&ring_head, 0);
	atomic_store(&ring_tail, 0);
	for (unsigned i = 0; i < RING; i++)
		atomic_store(&ring[i].full, false);
	for (int sig = 1; sig <= 64; sig++)
		if (atomic_load(&actions[sig].seq) & 1)
			atomic_fetch_add(&actions[sig].seq, 1);
}

/* ---- the front ---- */

/* See sigs.h: a root's own stack is its OS thread's; a green thread's
 * are its stack and the alternate stack it runs a handler on.  Inside
 * the gate (handoff.h) the code is weft's: a handler run there could park
 * the thread and bring it back on another OS thread, under code that
 * still believes itself on this one. */
bool weft__sig_in_program(const struct weft__co *co, void *uc)
{
	char *sp = weft__uc_sp(uc);

	return co->state == WEFT__RUNNING && weft__spins_held == 0 &&
	       !weft__gate_inside() &&
	       (co->slot == NULL ||
		(sp > co->slot->lo && sp <= co->slot->hi) ||
		(co->sigs != NULL && sp > co->sigs->alt_lo &&
		 sp <= co->sigs->alt_hi));
}

/* Whether running sig in place, as s's thread, keeps the order the
 * kernel gives: none of it waits for the thread, nor anything in the
 * ring (the router marks a signal pending before it leaves the ring). */
static bool in_order(const struct weft__sigs *s, int sig)
{
	return atomic_load(&ring_head) == atomic_load(&ring_tail) &&
	       !(atomic_load(&s->pending) & weft__sig_bit(sig));
}

/* The kernel's delivery of a signal the program catches (see the top of
 * the file). */
static void front(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct weft__co *co = weft__running;
	struct weft__sigs *s = co ? co->sigs : NULL;
	struct sigaction sa;

	if (!action_read(sig, &sa) || sa.sa_handler == SIG_IGN) {
		errno = saved; /* ignored since it was sent */
		return;
	}
	if (sa.sa_handler == SIG_DFL) {
		/* Made default since: the kernel's own action, once this
		 * handler has returned. */
		raw_syscall(SYS_tgkill, getpid(), raw_syscall(SYS_gettid), sig);
		errno = saved;
		return;
	}
	if (on_router) {
		/* Realtime, in the kernel's order: queued as it comes.  One
		 * the router no longer lets through goes back to the process
		 * once the router blocks it. */
		if (weft__sig_wanted(NULL) & weft__sig_bit(sig))
			weft__sig_reset_hand(sig, &sa);
		else
			weft__sig_os_uc(uc, true);
		if (!enqueue(sig, si, &sa, NULL))
			weft__sig_call(NULL, sig, si, uc, &sa);
		errno = saved;
		return;
	}
	bool open = lets(s, sig);
	if (s != NULL && !open && si->si_code == SI_TKILL &&
	    si->si_pid == getpid()) {
		/* raise, or a tgkill of this OS thread: the running thread's
		 * own, pending there until it unblocks it. */
		atomic_fetch_or(&s->pending, weft__sig_bit(sig));
		errno = saved;
		return;
	}
	if (weft__this_sched != NULL &&
	    (!(weft__sig_wanted(NULL) & weft__sig_bit(sig)) ||
	     weft__sig_rt_routed(sig))) {
		/* This thread's mask is behind: block it here from now on,
		 * and let the router give it, or put it back to the
		 * process. */
		weft__sig_os_uc(uc, false);
		if (!enqueue(sig, si, &sa, NULL))
			weft__sig_call(NULL, sig, si, uc, &sa);
		errno = saved;
		return;
	}
	weft__sig_reset_hand(sig, &sa);
	if (co == NULL && weft__this_sched == NULL)
		weft__sig_call(NULL, sig, si, uc, &sa); /* no scheduler here */
	else if (open && weft__sig_in_program(co, uc) && in_order(s, sig))
		weft__sig_call(s, sig, si, uc, &sa);
	else if (!enqueue(sig, si, &sa, open ? co : NULL))
		weft__sig_call(NULL, sig, si, uc, &sa); /* not lost */
	errno = saved;
}

/* See sigs.h. */
void weft__sig_routing_on(int (*kernel)(int, const struct sigaction *,
					struct sigaction *),
			  long (*sys)(long, ...))
{
	kernel_action = kernel;
	raw_syscall = sys;
	weft__sig_routing = true;
	weft__sig_sys = sys;
	weft__poke_init(sys);
}
