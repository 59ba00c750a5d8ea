/* sigq.c - the signals given to a program thread with a siginfo of their
 * own (routed from the process, or sent with pthread_sigqueue), queued on
 * the thread as the kernel queues them (see sigs.h).
 *
 * A realtime signal queues once per sending, in order; a standard one
 * that is queued already is merged with it, as the kernel merges a
 * standard signal that is pending.  Entries come from a free list under a
 * spin lock, refilled with malloc by the giver (the router, or a
 * pthread_sigqueue): taking one, which a signal handler may do (the
 * poke's, poke.h), only locks and unlinks.  A thread keeps at most
 * QUEUE_MAX entries; further realtime signals are dropped, as the kernel
 * drops them past RLIMIT_SIGPENDING.
 */
#include <stdlib.h>

#include "core.h"
#include "sigs.h"
#include "waitq.h"

#define QUEUE_MAX 1024

struct weft__sigq {
	struct weft__sigq *next;
	int sig;
	siginfo_t si;
	struct sigaction sa;
};

static struct weft__sigq *free_list;
static int free_lock;

/* An entry off the free list, or a new one; NULL if out of memory. */
static struct weft__sigq *entry_get(void)
{
	weft__spin_lock(&free_lock);
	struct weft__sigq *q = free_list;
	if (q != NULL)
		free_list = q->next;
	weft__spin_unlock(&free_lock);
	return q != NULL ? q : malloc(sizeof *q);
}

/* Puts the chain from first to last back on the free list. */
static void entries_put(struct weft__sigq *first, struct weft__sigq *last)
{
	weft__spin_lock(&free_lock);
	last->next = free_list;
	free_list = first;
	weft__spin_unlock(&free_lock);
}

/* See sigs.h. */
bool weft__sigq_put(struct weft__sigs *s, int sig, const siginfo_t *si,
		    const struct sigaction *sa)
{
	struct weft__sigq *q = entry_get(), **at;

	if (q == NULL)
		return false;
	q->next = NULL;
	q->sig = sig;
	q->si = *si;
	q->sa = *sa;
	weft__spin_lock(&s->queue_lock);
	bool merged = s->queued >= QUEUE_MAX;
	for (at = &s->queue; *at != NULL && !merged; at = &(*at)->next)
		merged = (*at)->sig == sig && sig < __SIGRTMIN;
	if (!merged) {
		*at = q;
		s->queued++;
	}
	weft__spin_unlock(&s->queue_lock);
	if (merged)
		entries_put(q, q);
	return !merged;
}

/* See sigs.h. */
bool weft__sigq_take(struct weft__sigs *s, int sig, siginfo_t *si,
		     struct sigaction *sa, bool *more)
{
	struct weft__sigq *q, **at;

	*more = false;
	weft__spin_lock(&s->queue_lock);
	for (at = &s->queue; *at != NULL && (*at)->sig != sig;
	     at = &(*at)->next)
		;
	if ((q = *at) != NULL) {
		*at = q->next;
		s->queued--;
		for (struct weft__sigq *r = q->next; r != NULL && !*more;
		     r = r->next)
			*more = r->sig == sig;
	}
	weft__spin_unlock(&s->queue_lock);
	if (q == NULL)
		return false;
	*si = q->si;
	*sa = q->sa;
	entries_put(q, q);
	return true;
}

/* See sigs.h. */
void weft__sigq_drop(struct weft__sigs *s)
{
	weft__spin_lock(&s->queue_lock);
	struct weft__sigq *first = s->queue, *last = first;
	s->queue = NULL;
	s->queued = 0;
	weft__spin_unlock(&s->queue_lock);
	if (first == NULL)
		return;
	while (last->next != NULL)
		last = last->next;
	entries_put(first, last);
}

/* See sigs.h. */
void weft__sigq_forget(struct weft__sigs *s)
{
	free_lock = 0;
	if (s != NULL)
		s->queue_lock = 0;
}
