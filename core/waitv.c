/* waitv.c - futex words watched for parked coroutines by threads asleep
 * in futex_waitv; see waitv.h.
 *
 * Why not a thread per waiting coroutine (weft__offload_wait): measured on
 * Linux 6.18, each such thread costs about 8 KiB of stack and thread
 * block, 16 KiB of kernel stack and some slab, four times the budget of
 * a whole parked green thread, and 30 us to start.  futex_waitv sleeps on
 * up to 128 words at once, so a watcher thread here sleeps on the words
 * of up to WORDS coroutines, plus a doorbell word of its own that is
 * rung when a word is added.
 *
 * Why WORDS is 32 and not 127: futex_waitv queues every word anew at each
 * call, at 0.2 to 0.6 us a word (measured: 40 to 55 us for 128 words of
 * shared mappings, 5 to 17 us for 16 to 32), and a watcher calls it again
 * after every wake-up and every word added.  32 words keep that near
 * 10 us, at about 1 KiB of thread per waiting coroutine.
 *
 * futex_waitv says which one word was woken, but by the time it returns
 * a second wake may have hit another of its words, and that wake is
 * gone.  So after every return the watcher ends the wait of the word it
 * was told and of every word that no longer holds the value its waiter
 * expected: the protocols that use this (glibc's lock words and
 * semaphore values) change the word before they wake, and a word that is
 * back at the value means the lock or unit was taken again, by someone
 * whose own release will wake again.  A waiter woken for nothing looks
 * at its word and waits again.
 *
 * A wait is an entry on the parked coroutine's stack.  Its watcher ends
 * it: it wakes the coroutine and marks the entry done, both under the
 * lock, as offload.c's workers end jobs, and forgets it.  At a
 * cancellation point a signal or a cancel may wake the coroutine first:
 * it then takes its entry off the watcher itself, under the lock, and
 * rings the bell; a watcher back from futex_waitv skips the slot so
 * emptied (a wait put there since wakes for nothing at worst).  A watcher
 * sleeps until the earliest deadline of its words, and ends the waits
 * whose deadline has passed with ETIMEDOUT.  A watcher with no word for
 * LINGER_S ends.
 *
 * Where futex_waitv is missing (Linux before 5.16; valgrind 3.19, which
 * does not know it and says so in every process), a wait gets a thread of
 * its own in FUTEX_WAIT (weft__offload_wait).
 *
 * fork: the child has no watchers; a handler run in the child forgets
 * them (their waits belong to coroutines of the parent).
 */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"
#include "core.h"
#include "fiber.h"
#include "handoff.h"
#include "offload.h"
#include "waitv.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449 /* the same on every architecture */
#endif
#define SIZE_U32 2u          /* FUTEX_32: the words' size, for futex_waitv */

#define WORDS    32          /* a watcher's words: see the top */
#define LINGER_S 10          /* as offload.c's waits */

/* The kernel's struct futex_waitv. */
struct vec {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

/* A wait, on the parked coroutine's stack. */
struct entry {
	const uint32_t *word;
	uint32_t val;
	uint32_t flags;            /* SIZE_U32, and FUTEX_PRIVATE_FLAG */
	int64_t deadline;
	struct weft__co *co;
	int result;                /* 0, ETIMEDOUT, EINTR or ECANCELED */
	_Atomic bool done;
	struct watcher *w;         /* its watcher and slot (under the lock) */
	unsigned slot;
};

/* A watcher thread and its words. */
struct watcher {
	_Atomic uint32_t bell;     /* rung when an entry is added */
	unsigned used;             /* entries in slot */
	struct entry *slot[WORDS]; /* NULL: free */
	struct watcher *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct watcher *watchers;  /* guarded by lock */
static int have_waitv = -1;       /* unknown until first use */
static bool atfork_set;

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000LL,
				  .tv_nsec = ns % 1000000000LL };
}

/* ---- the watchers ---- */

/* Ends e, in slot i of w, with result.  Under the lock. */
static void finish(struct watcher *w, unsigned i, int result)
{
	struct entry *e = w->slot[i];

	e->result = result;
	weft__wake(e->co, 0);
	atomic_store_explicit(&e->done, true, memory_order_release);
	w->slot[i] = NULL;
	w->used--;
}

/* Fills v with w's bell and words, and at with each word's slot; returns
 * how many, and the earliest deadline in *until (-1: none).  Under the
 * lock. */
static unsigned arm(struct watcher *w, struct vec *v, unsigned *at,
		    int64_t *until)
{
	unsigned n = 1;

	v[0] = (struct vec){ .uaddr = (uintptr_t)&w->bell,
			     .val = atomic_load(&w->bell),
			     .flags = SIZE_U32 | FUTEX_PRIVATE_FLAG };
	*until = -1;
	for (unsigned i = 0; i < WORDS; i++) {
		struct entry *e = w->slot[i];
		if (e == NULL)
			continue;
		v[n] = (struct vec){ .uaddr = (uintptr_t)e->word,
				     .val = e->val, .flags = e->flags };
		at[n++] = i;
		if (e->deadline >= 0 && (*until < 0 || e->deadline < *until))
			*until = e->deadline;
	}
	return n;
}

/* After futex_waitv over v[0..n) returned r (an index, or -1 with err):
 * ends the waits that were woken, whose word changed, or whose deadline
 * passed.  Under the lock. */
static void end_due(struct watcher *w, const unsigned *at, unsigned n,
		    long r, int err)
{
	/* A word the kernel could not read (unmapped by the program), or a
	 * failure it should not give: every waiter looks for itself. */
	bool all = r < 0 && err != EAGAIN && err != ETIMEDOUT && err != EINTR;
	int64_t now = weft__now();

	for (unsigned k = 1; k < n; k++) {
		struct entry *e = w->slot[at[k]];
		/* Taken off by its waiter meanwhile (leave), or since put in
		 * its place: that one wakes for nothing at worst. */
		if (e == NULL)
			continue;
		bool woken = all || r == (long)k ||
			     __atomic_load_n(e->word, __ATOMIC_ACQUIRE) !=
				     e->val;
		if (woken)
			finish(w, at[k], 0);
		else if (e->deadline >= 0 && now >= e->deadline)
			finish(w, at[k], ETIMEDOUT);
	}
}

/* Takes w off the list.  Under the lock. */
static void unlink_watcher(struct watcher *w)
{
	struct watcher **p = &watchers;

	while (*p != w)
		p = &(*p)->next;
	*p = w->next;
}

/* A watcher: sleeps on its words, ends their waits, and ends itself once
 * it has had none for LINGER_S. */
static void *watch(void *arg)
{
	struct watcher *w = arg;
	struct vec v[1 + WORDS];
	unsigned at[1 + WORDS];
	int64_t idle_since = 0, until;

	weft__inside = true;
	pthread_mutex_lock(&lock);
	for (;;) {
		unsigned n = arm(w, v, at, &until);
		if (n == 1) {
			if (idle_since == 0)
				idle_since = weft__now();
			until = idle_since + LINGER_S * 1000000000LL;
			if (weft__now() >= until)
				break;
		} else {
			idle_since = 0;
		}
		pthread_mutex_unlock(&lock);
		struct timespec ts = ts_of(until);
		long r = syscall(SYS_futex_waitv, v, n, 0,
				 until >= 0 ? &ts : NULL, CLOCK_MONOTONIC);
		int err = r < 0 ? errno : 0;
		pthread_mutex_lock(&lock);
		end_due(w, at, n, r, err);
	}
	unlink_watcher(w);
	pthread_mutex_unlock(&lock);
	free(w);
	return NULL;
}

/* Starts a watcher, with every signal blocked from its first
 * instruction, and puts it on the list.  Returns it, or NULL if it could
 * not be started.  Under the lock, as weft. */
static struct watcher *start_watcher(void)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all;
	struct watcher *w = calloc(1, sizeof *w);

	if (w == NULL || pthread_attr_init(&attr) != 0) {
		free(w);
		return NULL;
	}
	sigfillset(&all);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setsigmask_np(&attr, &all);
	if (pthread_create(&tid, &attr, watch, w) == 0) {
		pthread_setname_np(tid, "weft-waitv");
		w->next = watchers;
		watchers = w;
	} else {
		free(w);
		w = NULL;
	}
	pthread_attr_destroy(&attr);
	return w;
}

/* In a fork child: the watchers stayed behind in the parent. */
static void forget_watchers(void)
{
	lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	watchers = NULL;
}

/* Whether this kernel (and valgrind, if it runs us) has futex_waitv.
 * Under the lock. */
static bool waitv_works(void)
{
	if (have_waitv < 0) {
		int saved = errno;
#ifdef WEFT_VALGRIND
		have_waitv = RUNNING_ON_VALGRIND ? 0 : -1;
#endif
		/* No words: EINVAL where the call exists. */
		if (have_waitv < 0)
			have_waitv = syscall(SYS_futex_waitv, NULL, 0, 0,
					     NULL, 0) < 0 && errno != ENOSYS;
		errno = saved;
	}
	return have_waitv;
}

/* Gives e to a watcher with room, starting one if none has; rings its
 * bell.  Returns false if there is none.  Under the lock, as weft. */
static bool place(struct entry *e)
{
	struct watcher *w = watchers;

	if (!atfork_set)
		atfork_set = pthread_atfork(NULL, NULL, forget_watchers) == 0;
	if (!waitv_works())
		return false;
	while (w != NULL && w->used == WORDS)
		w = w->next;
	if (w == NULL && (w = start_watcher()) == NULL)
		return false;
	unsigned i = 0;
	while (w->slot[i] != NULL)
		i++;
	w->slot[i] = e;
	w->used++;
	e->w = w;
	e->slot = i;
	atomic_fetch_add(&w->bell, 1);
	/* Rung under the lock: once it is let go, w may end e and, lingering
	 * done, free itself. */
	syscall(SYS_futex, &w->bell, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return true;
}

/* ---- the waiting side ---- */

/* FUTEX_WAIT on e's word by the calling thread, as weft's own call (a
 * coroutine's syscall() would park in weft's futex table instead, see
 * hook/syscall.c).  Sets e->result. */
static void wait_here(void *arg)
{
	struct entry *e = arg;
	struct weft__co *co = weft__running;
	bool was = weft__inside;
	int saved = errno;
	struct timespec rel, *t = NULL;

	if (e->deadline >= 0) {
		int64_t left = e->deadline - weft__now();
		if (left <= 0) {
			e->result = ETIMEDOUT;
			return;
		}
		rel = ts_of(left);
		t = &rel;
	}
	weft__running = NULL;
	weft__inside = true;
	long r = syscall(SYS_futex, e->word,
			 FUTEX_WAIT | (e->flags & FUTEX_PRIVATE_FLAG), e->val,
			 t, NULL, 0);
	e->result = r < 0 && errno == ETIMEDOUT ? ETIMEDOUT : 0;
	weft__inside = was;
	weft__running = co;
	errno = saved;
}

/* Takes e, whose waiter a signal or cancel woke (reason r), off its
 * watcher, unless the watcher has ended it meanwhile; rings the bell, so
 * that the watcher sleeps on its word no more.  Under the lock. */
static void leave(struct entry *e, int r)
{
	struct watcher *w = e->w;

	if (atomic_load_explicit(&e->done, memory_order_relaxed))
		return;
	w->slot[e->slot] = NULL;
	w->used--;
	e->result = r;
	atomic_store_explicit(&e->done, true, memory_order_relaxed);
	atomic_fetch_add(&w->bell, 1);
	syscall(SYS_futex, &w->bell, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Parks co while a watcher waits for e; point: the park is a
 * cancellation point's (cancel.h), which a signal or cancel ends.
 * Returns false, e not waited for, if no watcher could take it. */
static bool watched(struct weft__co *co, struct entry *e, bool point)
{
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */
	bool was = weft__lock_as_weft(&lock);
	bool placed = place(e);

	/* Parked before the lock is let go: the watcher may end the wait at
	 * once. */
	if (placed) {
		if (co->wait_what == NULL)
			co->wait_what = "futex";
		if (point)
			weft__cancel_mark(co);
		weft__prepark(co);
	}
	weft__unlock_as(&lock, co, was);
	if (!placed)
		return false;
	int r = weft__park(co, -1);
	if (r == EINTR || r == ECANCELED) {
		was = weft__lock_as_weft(&lock);
		leave(e, r);
		weft__unlock_as(&lock, co, was);
	}
	/* As offload.c: should anything else wake us, wait on, since the
	 * entry is ours to keep until the watcher is done with it. */
	while (!atomic_load_explicit(&e->done, memory_order_acquire)) {
		was = weft__lock_as_weft(&lock);
		bool done = atomic_load_explicit(&e->done,
						 memory_order_relaxed);
		if (!done)
			weft__prepark(co);
		weft__unlock_as(&lock, co, was);
		if (!done)
			weft__park(co, -1);
	}
	return true;
}

/* weft__waitv, and weft__waitv_point if point. */
static int waitv(const uint32_t *word, uint32_t val, bool shared,
		 int64_t deadline, bool point)
{
	struct weft__co *co = weft__running;
	struct entry e = { .word = word, .val = val, .deadline = deadline,
			   .co = co, .flags = SIZE_U32 };
	int saved = errno;

	if (!shared)
		e.flags |= FUTEX_PRIVATE_FLAG;
	if (deadline >= 0 && weft__now() >= deadline)
		return ETIMEDOUT;
	if (co == NULL ||
	    (!watched(co, &e, point) &&
	     weft__offload_wait(wait_here, &e) < 0))
		wait_here(&e);
	errno = saved; /* other coroutines ran meanwhile */
	return e.result;
}

/* See waitv.h. */
int weft__waitv(const uint32_t *word, uint32_t val, bool shared,
		int64_t deadline)
{
	return waitv(word, val, shared, deadline, false);
}

/* See waitv.h. */
int weft__waitv_point(const uint32_t *word, uint32_t val, bool shared,
		      int64_t deadline)
{
	return waitv(word, val, shared, deadline, true);
}
