/* balance.c - hungry pool members are given runnable green threads (see
 * balance.h). */
#include "balance.h"
#include "pool.h"

_Atomic int weft__hungry;

/* See balance.h.  The flag before the count: a giver that sees the count
 * finds the flag; one that claims the flag first takes the count below
 * zero for an instant, which reads as "nobody hungry". */
void weft__balance_hungry(struct weft__sched *s)
{
	atomic_store(&s->hungry, true);
	atomic_fetch_add(&weft__hungry, 1);
}

/* See balance.h. */
void weft__balance_fed(struct weft__sched *s)
{
	if (atomic_load_explicit(&s->hungry, memory_order_relaxed) &&
	    atomic_exchange(&s->hungry, false))
		atomic_fetch_sub(&weft__hungry, 1);
}

/* Whether co, queued on s, may move (see balance.h). */
static bool movable(const struct weft__sched *s, const struct weft__co *co,
		    const struct weft__co *running)
{
	return co->own_tcb && co != running && co != s->root && !co->stay;
}

/* A hungry member, no longer hungry, for s to give to; or NULL. */
static struct weft__sched *claim(struct weft__sched *s)
{
	static _Atomic unsigned next;
	unsigned n = weft__pool_members();
	unsigned first = atomic_fetch_add_explicit(&next, 1,
						   memory_order_relaxed);

	for (unsigned i = 0; i < n; i++) {
		struct weft__sched *h = weft__pool_member((first + i) % n);
		bool yes = true;
		if (h != s && h != NULL &&
		    atomic_load_explicit(&h->hungry, memory_order_relaxed) &&
		    atomic_compare_exchange_strong(&h->hungry, &yes, false)) {
			atomic_fetch_sub(&weft__hungry, 1);
			return h;
		}
	}
	return NULL;
}

/* Moves co, taken off s's run queue, to h: what s's loop holds for it is
 * let go here, and h's thread links it as it arrives. */
static void move(struct weft__sched *s, struct weft__sched *h,
		 struct weft__co *co)
{
	if (ev_is_active(&co->timer))
		ev_timer_stop(s->loop, &co->timer);
	weft__wait_let_go(s, co);
	weft__live_unlink(s, co);
	s->live--;
	atomic_fetch_sub_explicit(&s->load, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->load, 1, memory_order_relaxed);
	co->sched = h;
	*(struct weft__sched **)weft__tcb_var(co->tcb, &weft__this_sched) = h;
	co->arriving = WEFT__MOVED;
	weft__ready(co);
}

/* See balance.h.  The queue is walked once to see whether any would move
 * (a claim that gives nothing would leave a member hungry unseen), and
 * once to move them. */
void weft__balance_give(struct weft__sched *s, struct weft__co *running)
{
	unsigned long keep = s->queued - s->queued / 2, i = 0;
	struct weft__co *co;

	for (co = s->run_head; co != NULL; co = co->run_next)
		if (i++ >= keep && movable(s, co, running))
			break;
	struct weft__sched *h = co != NULL ? claim(s) : NULL;
	if (h == NULL)
		return;

	struct weft__co *prev = NULL, *next;
	uint64_t gave = 0;
	i = 0;
	for (co = s->run_head; co != NULL; co = next) {
		next = co->run_next;
		if (i++ < keep || !movable(s, co, running)) {
			prev = co;
			continue;
		}
		if (prev)
			prev->run_next = next;
		else
			s->run_head = next;
		if (s->run_tail == co)
			s->run_tail = prev;
		s->queued--;
		move(s, h, co);
		gave++;
	}
	atomic_fetch_add_explicit(&s->gave, gave, memory_order_relaxed);
}
