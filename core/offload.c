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
 * fork: the child has none of the parent's threads.  A handler run in the
 * child forgets the workers and the queue (a job in flight belongs to a
 * coroutine of the parent, which the child does not have), and the pool
 * starts afresh when next needed.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "core.h"
#include "handoff.h"
#include "offload.h"

struct job {
	void (*fn)(void *);
	void *arg;
	struct weft__co *co;   /* parked until done */
	struct job *next;
	_Atomic bool done;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail; /* waiting jobs, oldest first */
static unsigned queued;         /* jobs in the queue */
static unsigned threads;        /* workers started */
static unsigned idle;           /* workers waiting for a job */
static unsigned limit;          /* most workers; 0 until first use */
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
	if (limit == 0)
		limit = read_limit();
}

/* A worker: runs jobs for ever.  It wakes the job's coroutine before
 * marking the job done, both under the lock, and touches the job no more
 * once it is marked: the coroutine may return (and its stack move on) as
 * soon as it sees the mark. */
static void *worker(void *unused)
{
	(void)unused;
	weft__inside = true;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (head == NULL) {
			idle++;
			pthread_cond_wait(&more, &lock);
			idle--;
		}
		struct job *job = head;
		head = job->next;
		if (head == NULL)
			tail = NULL;
		queued--;
		pthread_mutex_unlock(&lock);
		/* The job is the program's code: the locks it takes (an
		 * allocator's, in a name lookup) are the program's too, and
		 * must be taken as the program's coroutines take them. */
		weft__inside = false;
		job->fn(job->arg);
		weft__inside = true;
		pthread_mutex_lock(&lock);
		weft__wake(job->co, 0);
		atomic_store_explicit(&job->done, true, memory_order_release);
	}
	return NULL;
}

/* Starts one more worker, with every signal blocked from its first
 * instruction.  Called under the lock, as weft (see pool_lock). */
static void start_worker(void)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all;

	if (pthread_attr_init(&attr) != 0)
		return;
	sigfillset(&all);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setsigmask_np(&attr, &all);
	if (pthread_create(&tid, &attr, worker, NULL) == 0) {
		threads++;
		/* Not its maker's name (a pool thread's, or the program's). */
		pthread_setname_np(tid, "weft-offload");
	}
	pthread_attr_destroy(&attr);
}

/* In a fork child: the workers stayed behind in the parent. */
static void forget_pool(void)
{
	lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	more = (pthread_cond_t)PTHREAD_COND_INITIALIZER;
	head = tail = NULL;
	queued = threads = idle = 0;
}

/* Takes the pool's lock from a coroutine, as weft's own call. */
static bool pool_lock(void)
{
	bool was = weft__inside;

	weft__running = NULL;
	weft__inside = true;
	pthread_mutex_lock(&lock);
	return was;
}

/* Lets the lock go and makes co the running coroutine again. */
static void pool_unlock(struct weft__co *co, bool was)
{
	pthread_mutex_unlock(&lock);
	weft__inside = was;
	weft__running = co;
}

/* Queues job, starting a worker if every one is busy.  Returns false if
 * there is no worker to run it.  Called under the lock. */
static bool submit(struct job *job)
{
	if (limit == 0)
		limit = read_limit();
	if (!atfork_set)
		atfork_set = pthread_atfork(NULL, NULL, forget_pool) == 0;
	if (queued >= idle && threads < limit)
		start_worker();
	if (threads == 0)
		return false;
	if (tail)
		tail->next = job;
	else
		head = job;
	tail = job;
	queued++;
	pthread_cond_signal(&more);
	return true;
}

/* See offload.h. */
int weft__offload(void (*fn)(void *), void *arg)
{
	struct weft__co *co = weft__running;

	if (co == NULL) {
		fn(arg);
		return 0;
	}
	struct job job = { .fn = fn, .arg = arg, .co = co };
	int saved = errno; /* starting a thread may change it */
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */

	bool was = pool_lock();
	bool queued_ok = submit(&job);
	/* Parked before the lock is let go: a worker may take the job and
	 * wake us at once. */
	if (queued_ok)
		weft__prepark(co);
	pool_unlock(co, was);
	if (!queued_ok) {
		errno = EAGAIN;
		return -1;
	}
	weft__park(co, -1);
	/* Only the worker knows of this park, but should anything else wake
	 * us, wait on: the job's memory is ours to keep until it is done.
	 * The worker wakes and marks under the lock, so a check made under
	 * it sees either both or neither. */
	while (!atomic_load_explicit(&job.done, memory_order_acquire)) {
		was = pool_lock();
		bool done = atomic_load_explicit(&job.done,
						 memory_order_relaxed);
		if (!done)
			weft__prepark(co);
		pool_unlock(co, was);
		if (!done)
			weft__park(co, -1);
	}
	errno = saved; /* other coroutines ran meanwhile */
	return 0;
}
