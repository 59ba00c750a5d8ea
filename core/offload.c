/* offload.c - the offload pool: a few real threads that make blocking
 * calls for coroutines.
 *
 * Some calls cannot be made non-blocking and have no fd to wait on: a name
 * lookup, a file lock, waiting for any child.  A coroutine hands such a
 * call to the pool and parks; a worker makes it and wakes the coroutine
 * through its scheduler's remote queue, which is safe from any thread.
 * The job (function, argument, coroutine, done flag) lives on the parked
 * coroutine's stack, so nothing is allocated.
 *
 * The pool's lock and condition variable are real pthread objects.  Green
 * threads map a coroutine's pthread calls onto coroutine locks, and pass
 * weft's own calls through; so a coroutine touches the pool as weft
 * (weft__running cleared, weft__inside set), and the workers are weft's
 * threads except while they run a job.  For the same reason workers are
 * started as weft: a green-thread pthread_create then makes a real thread.
 *
 * A job runs as the program.  A name lookup allocates, and an allocator
 * such as jemalloc takes pthread mutexes that the program's green threads
 * hold in weft's representation; a worker locking them through glibc would
 * read that memory as glibc's, and both would hold the lock.  So a worker
 * takes them as a green thread does: on its first such lock it gets a
 * scheduler of its own and waits on it, woken from the holder's thread.
 *
 * Waits are the other pool (weft__offload_wait): a wait on an object
 * another process may hold (a process-shared condition variable, rwlock
 * or barrier) lasts as long as that process likes, so it can neither
 * share the jobs' few threads nor queue behind them.  It gets a thread to
 * itself for as long as it waits, an idle one or a new one; the waits'
 * threads have no limit, and one idle for LINGER ends.  The two pools
 * share the lock, the worker's loop and the fork handling.
 *
 * Cancellable jobs (weft__offload_point): glibc's own cancellation
 * points deep in a job (a lookup's poll) can be ended only by glibc's
 * cancellation of the worker.  A worker keeps its cancellation disabled
 * but while such a job's fn runs; its caller's park is a cancellation
 * point, and a cancel that ends it is sent to the worker with the real
 * pthread_cancel (SIGCANCEL as SI_TKILL, which the poke's handler passes
 * on to glibc's, poke.c).  A cleanup handler pushed around fn ends the
 * job as the worker's loop would, and the worker ends, replaced if jobs
 * wait.  A cancel that fn never met is left pending on the worker, which
 * then ends after the job rather than act on it in another.  While fn
 * is in weft (a lock's park on the worker's own scheduler), the
 * cancellation is held off (cancel.h, weft__job_cancel).
 *
 * fork: the child has none of the parent's threads.  A handler run in the
 * child forgets the workers and the queues (a job in flight belongs to a
 * coroutine of the parent, which the child does not have), and each pool
 * starts afresh when next needed.
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "cancel.h"
#include "core.h"
#include "handoff.h"
#include "offload.h"
#include "poke.h"
#include "sigs.h"

struct pool;

struct job {
	void (*fn)(void *);
	void *arg;
	struct weft__co *co;   /* parked until done */
	struct job *next;
	struct pool *pool;
	_Atomic bool done;
	bool taken;            /* a worker has begun it (under the lock) */
	/* A cancellable job's (run_point; all under the lock): */
	bool point;            /* fn runs with glibc's cancellation on */
	pthread_t th;          /* the worker, once taken */
	bool cancel_asked;     /* the caller was cancelled while parked */
	bool cancel_sent;      /* so the worker has a cancel pending */
	bool cut;              /* fn ended in the worker's cancel */
};

/* How long a waits' worker with nothing to do stays: long enough that a
 * program waiting again and again reuses its threads, short enough that
 * a burst of waits leaves no crowd of idle threads behind. */
#define LINGER_S 10

/* A pool: its queue and its workers.  Guarded by lock. */
struct pool {
	pthread_cond_t more;    /* a job was queued */
	struct job *head, *tail; /* waiting jobs, oldest first */
	unsigned queued;        /* jobs in the queue */
	unsigned threads;       /* workers started */
	unsigned idle;          /* workers running no job (waiting for
	                           one, or starting up) */
	unsigned limit;         /* most workers; 0 until first use */
	bool linger;            /* idle workers end after LINGER_S */
	const char *name;       /* its threads' name */
};

#define POOL(n, l) { .more = PTHREAD_COND_INITIALIZER, .linger = (l), \
		     .name = (n) }

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool jobs = POOL("weft-offload", false);
static struct pool waits = POOL("weft-wait", true);
static bool atfork_set;

/* WEFT_OFFLOAD_THREADS, or the default if it is unset or bad (said once
 * on stderr: a typo in the environment must not stop the program). */
static unsigned read_limit(void)
{
	return weft__env_count("WEFT_OFFLOAD_THREADS", WEFT__OFFLOAD_DEFAULT, 1,
			       WEFT__OFFLOAD_MAX);
}

/* See offload.h. */
void weft__offload_config(void)
{
	if (jobs.limit == 0)
		jobs.limit = read_limit();
}

/* Waits for a job to be queued in p; false if the worker should end
 * instead (p lingers, and none came for LINGER_S).  Called under the
 * lock. */
static bool await_job(struct pool *p)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += LINGER_S;
	while (p->head == NULL) {
		if (!p->linger) {
			pthread_cond_wait(&p->more, &lock);
		} else if (pthread_cond_clockwait(&p->more, &lock,
						  CLOCK_MONOTONIC,
						  &until) == ETIMEDOUT &&
			   p->head == NULL) {
			p->idle--;
			p->threads--;
			return false;
		}
	}
	return true;
}

static void start_worker(struct pool *p);

/* See cancel.h. */
__thread bool weft__job_cancel __attribute__((tls_model("initial-exec")));

/* A cancellable job's end when fn acted on the worker's cancel: a
 * cleanup handler, run as glibc unwinds the worker, which then ends.
 * Marks the job cut and done and wakes its caller, as the worker's loop
 * would, and starts a worker in its place if jobs wait for one. */
static void cut(void *arg)
{
	struct job *job = arg;
	struct pool *p = job->pool;

	weft__job_cancel = false;
	weft__inside = true;
	pthread_mutex_lock(&lock);
	p->threads--;
	job->cut = true;
	weft__wake(job->co, 0);
	atomic_store_explicit(&job->done, true, memory_order_release);
	if (p->queued > p->idle && p->threads < p->limit)
		start_worker(p);
	pthread_mutex_unlock(&lock);
}

/* Runs a cancellable job's fn with this worker's glibc cancellation
 * enabled (deferred), so that glibc acts on a cancel at fn's own
 * cancellation points; asked is whether the caller was cancelled before
 * the job was begun: the cancel is then made pending here, and acts
 * where it would have acted on the caller's own thread.  Returns if fn
 * returns; otherwise the worker ends through cut. */
static void run_point(struct job *job, bool asked)
{
	pthread_cleanup_push(cut, job);
	if (asked) {
		pthread_cancel(pthread_self());
		weft__poke_reclaim(); /* glibc may have put its handler in */
	}
	weft__job_cancel = true;
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	job->fn(job->arg);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	weft__job_cancel = false;
	pthread_cleanup_pop(0);
}

/* A worker of pool p: runs its jobs until it has lingered long enough,
 * or for ever, or until a cancel sent to it for a job that ended anyway
 * is left pending (it would act in a later job: the worker ends
 * instead).  It wakes the job's coroutine before marking the job done,
 * both under the lock, and touches the job no more once it is marked:
 * the coroutine may return (and its stack move on) as soon as it sees
 * the mark.  glibc's cancellation is off but while a cancellable job
 * runs (run_point). */
static void *worker(void *pool)
{
	struct pool *p = pool;

	weft__inside = true;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&lock);
	while (await_job(p)) {
		struct job *job = p->head;
		p->head = job->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		p->idle--;
		job->taken = true;
		job->th = pthread_self();
		bool asked = job->cancel_asked;
		job->cancel_sent = asked;
		pthread_mutex_unlock(&lock);
		/* The job is the program's code: the locks it takes (an
		 * allocator's, in a name lookup) are the program's too, and
		 * must be taken as the program's coroutines take them. */
		weft__inside = false;
		if (job->point)
			run_point(job, asked);
		else
			job->fn(job->arg);
		weft__inside = true;
		pthread_mutex_lock(&lock);
		bool pending = job->cancel_sent;
		weft__wake(job->co, 0);
		atomic_store_explicit(&job->done, true, memory_order_release);
		if (pending) {
			p->threads--;
			if (p->queued > p->idle && p->threads < p->limit)
				start_worker(p);
			break;
		}
		p->idle++;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Starts one more worker of p, with every signal blocked from its first
 * instruction.  Called under the lock, as weft (see weft__lock_as_weft). */
static void start_worker(struct pool *p)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all;

	if (pthread_attr_init(&attr) != 0)
		return;
	sigfillset(&all);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setsigmask_np(&attr, &all);
	if (pthread_create(&tid, &attr, worker, p) == 0) {
		p->threads++;
		p->idle++;
		/* Not its maker's name (a pool thread's, or the program's). */
		pthread_setname_np(tid, p->name);
	}
	pthread_attr_destroy(&attr);
}

/* In a fork child: the workers stayed behind in the parent. */
static void forget_pool(struct pool *p)
{
	p->more = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	p->head = p->tail = NULL;
	p->queued = p->threads = p->idle = 0;
}

static void forget_pools(void)
{
	lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	forget_pool(&jobs);
	forget_pool(&waits);
}

/* See offload.h. */
bool weft__lock_as_weft(pthread_mutex_t *m)
{
	bool was = weft__inside;

	weft__running = NULL;
	weft__inside = true;
	pthread_mutex_lock(m);
	return was;
}

/* See offload.h. */
void weft__unlock_as(pthread_mutex_t *m, struct weft__co *co, bool was)
{
	pthread_mutex_unlock(m);
	weft__inside = was;
	weft__running = co;
}

/* Queues job in p, starting a worker if every one is busy.  Returns
 * false if there is no worker to run it.  Called under the lock. */
static bool submit(struct pool *p, struct job *job)
{
	if (jobs.limit == 0)
		jobs.limit = read_limit();
	if (waits.limit == 0)
		waits.limit = UINT_MAX;
	if (!atfork_set)
		atfork_set = pthread_atfork(NULL, NULL, forget_pools) == 0;
	if (p->queued >= p->idle && p->threads < p->limit)
		start_worker(p);
	/* A wait must not queue behind another: if no thread could be
	 * started for it, its caller waits itself. */
	if (p->threads == 0 || (p == &waits && p->queued >= p->idle))
		return false;
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	p->queued++;
	pthread_cond_signal(&p->more);
	return true;
}

/* Takes job off p's queue if no worker has begun it; returns whether it
 * did.  Called under the lock. */
static bool unqueue(struct pool *p, struct job *job)
{
	struct job **at = &p->head, *prev = NULL;

	if (job->taken)
		return false;
	while (*at != job) {
		prev = *at;
		at = &prev->next;
	}
	*at = job->next;
	if (p->tail == job)
		p->tail = prev;
	p->queued--;
	return true;
}

/* How the park of a job's caller is marked (cancel.h). */
enum mark { MARK_NONE, MARK_SIGNAL, MARK_CANCEL };

/* Queues job on p and readies its caller's park, marked as mark says,
 * before the lock is let go: a worker may take the job and wake the
 * caller at once.  Returns true; or false with errno EAGAIN when no
 * worker could be had (nothing is queued, nothing to park for). */
static bool queue_parked(struct pool *p, struct job *job, enum mark mark)
{
	struct weft__co *co = job->co;
	bool was = weft__lock_as_weft(&lock);
	bool ok = submit(p, job);

	if (ok) {
		if (mark == MARK_CANCEL)
			weft__cancel_mark(co);
		else if (mark == MARK_SIGNAL)
			weft__signal_mark(co);
		weft__prepark(co);
	}
	weft__unlock_as(&lock, co, was);
	if (!ok)
		errno = EAGAIN;
	return ok;
}

/* What a stoppable job's caller does when a signal or a cancel ended its
 * park (reason r) before the job was done: takes the job off the queue if
 * no worker has begun it (returns true: it will never run), else asks fn
 * to end soon with stop(arg).  Both under the lock, so that stop runs
 * only while the job's worker has not yet let it go. */
static bool interrupted(struct pool *p, struct job *job, int r,
			void (*stop)(void *))
{
	struct weft__co *co = weft__running;
	bool dropped = false;

	if (stop == NULL || (r != EINTR && r != ECANCELED))
		return false;
	bool was = weft__lock_as_weft(&lock);
	if (!atomic_load_explicit(&job->done, memory_order_relaxed)) {
		dropped = unqueue(p, job);
		if (!dropped)
			stop(job->arg);
	}
	weft__unlock_as(&lock, co, was);
	return dropped;
}

/* Runs fn(arg) on a worker of p while the calling coroutine parks; see
 * weft__offload, and weft__offload_stoppable for stop and cancel (stop
 * NULL: no signal or cancel ends the park).  Returns 0, 1 (dropped unrun)
 * or -1. */
static int run_on(struct pool *p, void (*fn)(void *), void (*stop)(void *),
		  void *arg, bool cancel)
{
	struct weft__co *co = weft__running;

	if (co == NULL) {
		fn(arg);
		return 0;
	}
	struct job job = { .fn = fn, .arg = arg, .co = co };
	int saved = errno; /* starting a thread may change it */
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	if (!queue_parked(p, &job, cancel ? MARK_CANCEL :
				   stop != NULL ? MARK_SIGNAL : MARK_NONE))
		return -1;
	int r = weft__park(co, -1);
	if (interrupted(p, &job, r, stop)) {
		errno = saved;
		return 1;
	}
	/* Only the worker knows of this park (and a signal or cancel, once:
	 * the park below is marked for neither), but should anything else
	 * wake us, wait on: the job's memory is ours to keep until it is
	 * done.  The worker wakes and marks under the lock, so a check made
	 * under it sees either both or neither. */
	while (!atomic_load_explicit(&job.done, memory_order_acquire)) {
		bool was = weft__lock_as_weft(&lock);
		bool done = atomic_load_explicit(&job.done,
						 memory_order_relaxed);
		if (!done)
			weft__prepark(co);
		weft__unlock_as(&lock, co, was);
		if (!done)
			weft__park(co, -1);
	}
	errno = saved; /* other coroutines ran meanwhile */
	return 0;
}

/* The caller of a cancellable job, woken from its park with ECANCELED:
 * has the job's worker act on the cancel, or the worker that takes it,
 * once.  Under the lock. */
static void ask_cancel(struct job *job)
{
	if (job->cancel_asked)
		return;
	job->cancel_asked = true;
	if (job->taken) {
		job->cancel_sent = true;
		pthread_cancel(job->th);
		weft__poke_reclaim(); /* glibc may have put its handler in */
	}
}

/* Runs fn(arg) on a worker of p, with the worker's glibc cancellation on,
 * while the calling coroutine parks at a cancellation point; see
 * weft__offload_point.  Returns 0, 1 (cut short by a cancel) or -1. */
static int run_point_on(struct pool *p, void (*fn)(void *), void *arg)
{
	struct weft__co *co = weft__running;

	if (co == NULL) {
		fn(arg);
		return 0;
	}
	struct job job = { .fn = fn, .arg = arg, .co = co, .pool = p,
			   .point = true };
	int saved = errno;
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	if (!queue_parked(p, &job, MARK_CANCEL))
		return -1;
	int r = weft__park(co, -1);
	/* A signal's handlers run here while the job goes on, as they run
	 * natively while glibc's own wait goes on; a cancel goes to the
	 * worker, and the job's end is waited for either way: its memory is
	 * ours to keep until it is done. */
	for (;;) {
		if (r == EINTR)
			weft__sig_run(co);
		if (atomic_load_explicit(&job.done, memory_order_acquire))
			break;
		bool was = weft__lock_as_weft(&lock);
		bool done = atomic_load_explicit(&job.done,
						 memory_order_relaxed);
		if (!done) {
			if (r == ECANCELED)
				ask_cancel(&job);
			if (!job.cancel_asked)
				weft__cancel_mark(co);
			weft__prepark(co);
		}
		weft__unlock_as(&lock, co, was);
		if (!done)
			r = weft__park(co, -1);
	}
	errno = saved; /* other coroutines ran meanwhile */
	return job.cut;
}

/* See offload.h. */
int weft__offload_point(void (*fn)(void *), void *arg)
{
	return run_point_on(&jobs, fn, arg);
}

/* See offload.h. */
int weft__offload_wait_point(void (*fn)(void *), void *arg)
{
	return run_point_on(&waits, fn, arg);
}

/* See offload.h. */
int weft__offload(void (*fn)(void *), void *arg)
{
	return run_on(&jobs, fn, NULL, arg, false);
}

/* See offload.h. */
int weft__offload_stoppable(void (*fn)(void *), void (*stop)(void *),
			    void *arg, bool cancel)
{
	return run_on(&jobs, fn, stop, arg, cancel);
}

/* See offload.h. */
int weft__offload_wait(void (*fn)(void *), void *arg)
{
	return run_on(&waits, fn, NULL, arg, false);
}
