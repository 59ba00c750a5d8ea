/* offload_intr.c - blocking system calls on the offload pool that a
 * signal or a cancel given to the waiting green thread interrupts, as the
 * kernel interrupts them on a native thread.
 *
 * flock, fcntl's F_SETLKW, opening a FIFO and waiting for children block
 * in the kernel until another process acts, and are cancellation points
 * that a signal handler without SA_RESTART ends with EINTR.  Run on an
 * offload worker, they would keep the green thread parked until the
 * worker's call ended.  So the worker makes them through
 * weft__syscall_intr (syscall_intr_ARCH.S), musl's way of making a
 * cancellable system call: the job carries a stop flag, and the caller's
 * park is a cancellation point (weft__offload_stoppable).  When a signal
 * or a cancel ends it, the caller sets the flag and pokes the worker's OS
 * thread (poke.h), whose handler, if the worker is inside the stub
 * between its look at the flag and the end of the system call (a call
 * the kernel is about to restart, as the poke's handler has SA_RESTART,
 * included), moves it to the stub's way out, which returns -EINTR.  A
 * poke that finds the worker anywhere else does nothing: the flag, looked
 * at before the call is made, covers a worker that has not got there
 * yet, and a call that has returned keeps its result.  A stale poke (the
 * worker has gone on to another job) finds that job's flag clear.
 *
 * The caller then waits for the worker, not to be interrupted (the job
 * lives on its stack), and does what the kernel would: on EINTR it acts
 * on a cancel (at a cancellation point: glibc's flock is none, so a
 * cancel does not end its park), else runs the handlers and returns
 * EINTR, or makes the call again if every handler had SA_RESTART and
 * signal(7) restarts the call (not System V IPC's).  A call that completed
 * anyway keeps its result, the handlers run before it returns, and a
 * cancel acts at the next cancellation point: a lock taken is never
 * lost.
 *
 * Not here: getaddrinfo and its kin make many system calls and keep
 * library state, so no single call can be stopped: they are cancelled
 * with glibc's own cancellation of the worker (weft__offload_point), as
 * process-shared condition waits are; fsync and fdatasync wait in the
 * kernel uninterruptibly even natively, and stay plain offload jobs.
 *
 * Other architectures have no stub: weft__syscall_intr below looks at the
 * flag and then makes the call, which no poke can end.  A call stopped
 * before a worker began it is still never made, but one under way runs
 * to its end, as before this file existed.  Under ThreadSanitizer there
 * is no poke either (poke.h): the same.
 */
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cancel.h"
#include "offload.h"
#include "poke.h"
#include "sigs.h"

/* One system call for a worker. */
struct call {
	long nr, a[6];
	long ret;             /* the kernel's result */
	_Atomic bool stop;    /* the caller was interrupted: stop it */
	_Atomic int tid;      /* the worker running it, 0 until begun */
};

#if defined(__x86_64__) || defined(__aarch64__)
/* syscall_intr_ARCH.S */
long weft__syscall_intr(const _Atomic bool *stop, long nr, long a0, long a1,
			long a2, long a3, long a4, long a5);
extern const char weft__syscall_intr_begin[], weft__syscall_intr_end[],
	weft__syscall_intr_out[];
#else
/* No stub: the flag is looked at, and the call once made runs to its
 * end (see the head of this file). */
static long weft__syscall_intr(const _Atomic bool *stop, long nr, long a0,
			       long a1, long a2, long a3, long a4, long a5)
{
	if (atomic_load(stop))
		return -EINTR;
	long r = syscall(nr, a0, a1, a2, a3, a4, a5);
	return r < 0 ? -errno : r;
}
#endif

/* On a worker, the stop flag of the call it is making, for the poke's
 * handler; NULL elsewhere.  Initial-exec: read in a signal handler. */
static __thread const _Atomic bool *_Atomic making
	__attribute__((tls_model("initial-exec")));

/* See offload.h. */
uintptr_t weft__offload_intr_pc(uintptr_t pc)
{
#if defined(__x86_64__) || defined(__aarch64__)
	const _Atomic bool *stop =
		atomic_load_explicit(&making, memory_order_relaxed);
	uintptr_t begin = (uintptr_t)weft__syscall_intr_begin;

	if (stop != NULL && atomic_load(stop) &&
	    pc - begin < (uintptr_t)weft__syscall_intr_end - begin)
		return (uintptr_t)weft__syscall_intr_out;
#endif
	return pc;
}

/* The job, on a worker.  The tid is published (a full barrier on
 * x86-64, a release the stub's acquire follows on aarch64) before the
 * stub looks at the flag, and the caller sets the flag before it reads
 * the tid: either it pokes this thread or the stub sees the flag. */
static void run(void *p)
{
	struct call *c = p;

	atomic_store(&c->tid, gettid());
	atomic_store_explicit(&making, &c->stop, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	c->ret = weft__syscall_intr(&c->stop, c->nr, c->a[0], c->a[1],
				    c->a[2], c->a[3], c->a[4], c->a[5]);
	atomic_signal_fence(memory_order_seq_cst);
	atomic_store_explicit(&making, NULL, memory_order_relaxed);
}

/* The caller, interrupted while a worker has the job (offload.h). */
static void stop(void *p)
{
	struct call *c = p;

	atomic_store(&c->stop, true);
	weft__poke_os(atomic_load(&c->tid));
}

/* The call made on the calling thread, blocking it: not a coroutine, or
 * the pool has no thread. */
static long here(const struct call *c)
{
	return syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4],
		       c->a[5]);
}

/* See offload.h. */
long weft__offload_syscall(unsigned how, long nr, long a0, long a1, long a2,
			   long a3, long a4)
{
	bool cancel_point = how & WEFT__SYS_CANCEL;
	struct weft__co *co = weft__running;
	struct call c = { .nr = nr, .a = { a0, a1, a2, a3, a4 } };
	int saved = errno;

	if (co == NULL)
		return here(&c);
	for (;;) {
		if (cancel_point)
			weft__cancel_point(co);
		atomic_store(&c.stop, false);
		atomic_store(&c.tid, 0);
		int r = weft__offload_stoppable(run, stop, &c, cancel_point);
		if (r < 0) {
			errno = saved;
			return here(&c);
		}
		if (r == 1)
			c.ret = -EINTR; /* stopped before it began */
		if (c.ret != -EINTR || !atomic_load(&c.stop))
			break;
		/* Interrupted: a cancel acts, else the handlers run and
		 * the call ends or, if all had SA_RESTART and the call is
		 * one the kernel restarts (or none ran: the signal went
		 * elsewhere meanwhile), is made again. */
		if (cancel_point)
			weft__cancel_point(co);
		int ran = weft__sig_run(co);
		if (ran == 0 || (ran > 0 && (how & WEFT__SYS_NO_RESTART))) {
			errno = EINTR;
			return -1;
		}
	}
	/* Done: what was given meanwhile runs before the call returns, as
	 * the kernel runs a handler on the way back from a call. */
	weft__take_due(co);
	if (c.ret < 0 && c.ret > -4096) {
		errno = (int)-c.ret;
		return -1;
	}
	errno = saved;
	return c.ret;
}
