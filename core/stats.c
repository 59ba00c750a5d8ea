/* stats.c - counting what the scheduler does, for WEFT_STATS and dumps.
 *
 * Switches, coroutines made and the peak of live ones are counted by each
 * scheduler for its own thread with plain increments.  Parks are counted
 * by what they wait for only when WEFT_STATS is on, in a small table whose
 * keys are the string literals wrappers name their waits with.
 */
#include <string.h>

#include "core.h"
#include "sched.h"
#include "waitq.h"

#define WAIT_KINDS 64

bool weft__stats_on;

static int waits_lock;
static struct {
	const char *what;
	uint64_t count;
} waits[WAIT_KINDS];

/* See core.h. */
void weft__stats_wait(const char *what)
{
	weft__spin_lock(&waits_lock);
	for (unsigned i = 0; i < WAIT_KINDS; i++) {
		if (waits[i].what == NULL)
			waits[i].what = what;
		if (waits[i].what == what || strcmp(waits[i].what, what) == 0) {
			waits[i].count++;
			break;
		}
	}
	weft__spin_unlock(&waits_lock);
}

static void add_sched(struct weft__sched *s, void *arg)
{
	struct weft__stats *st = arg;

	st->created += s->created;
	st->switches += s->switches;
	if (s->peak_live > st->peak_live)
		st->peak_live = s->peak_live;
	unsigned i = st->nscheds++;
	if (i < sizeof st->scheds / sizeof st->scheds[0]) {
		st->scheds[i].tid = weft__sched_tid(s);
		st->scheds[i].pooled = s->pooled;
		st->scheds[i].created = s->created;
		st->scheds[i].switches = s->switches;
		st->scheds[i].peak_live = s->peak_live;
		st->scheds[i].handoffs = atomic_load_explicit(&s->handoffs,
							memory_order_relaxed);
		st->scheds[i].gave = atomic_load_explicit(&s->gave,
						memory_order_relaxed);
	}
}

/* See core.h. */
void weft__stats_get(struct weft__stats *st)
{
	memset(st, 0, sizeof *st);
	weft__sched_each(add_sched, st);
	weft__spin_lock(&waits_lock);
	for (unsigned i = 0; i < WAIT_KINDS && waits[i].what; i++) {
		st->waits[i].what = waits[i].what;
		st->waits[i].count = waits[i].count;
		st->nwaits = i + 1;
	}
	weft__spin_unlock(&waits_lock);
}

struct each {
	void (*fn)(struct weft__co *, void *);
	void *arg;
};

static void each_in(struct weft__sched *s, void *arg)
{
	struct each *e = arg;

	for (struct weft__co *co = s->all; co; co = co->all_next)
		e->fn(co, e->arg);
}

/* See core.h. */
bool weft__each_co(void (*fn)(struct weft__co *, void *), void *arg)
{
	struct each e = { fn, arg };

	return weft__sched_each_try(each_in, &e);
}

/* Forgets the waits counted so far: for a fork child, whose report must
 * not repeat its parent's. */
void weft__stats_reset(void)
{
	memset(waits, 0, sizeof waits);
	waits_lock = 0;
}
