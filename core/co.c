/* co.c - making, ending and joining coroutines. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "handoff.h"
#include "pool.h"
#include "sched.h"
#include "tcb.h"
#include "waitq.h"

/* Where a coroutine starts: its function, then its end. */
static void co_main(void *arg)
{
	struct weft__co *co = arg;

	weft__asan_arrive(NULL);
	if (co->own_tcb)
		weft__tcb_start();
	/* The coroutine that ended just before this one started could not
	 * release its own stack, nor let its joiner do it. */
	weft__reap(co->sched);
	weft__gate_out(0); /* entered by the coroutine that ran it */
	if (co->go_fn)
		co->go_fn(co->arg);
	else
		co->result = co->fn(co->arg);
	weft__co_exit(co);
}

/* The least stack a coroutine keeps below what sits at its top. */
#define MIN_ROOM (8u << 10)

/* Makes and queues a coroutine; see core.h.  At the top of its stack sit
 * its thread block (if it has one) and below it its struct, so that both
 * share the pages a parked coroutine touches anyway. */
struct weft__co *weft__co_new(void *(*fn)(void *), void *arg,
			      const struct weft__co_attr *attr)
{
	static const struct weft__co_attr defaults;

	if (attr == NULL)
		attr = &defaults;
	if (weft__sched_get() == NULL) {
		errno = EAGAIN;
		return NULL;
	}
	size_t size = attr->stack_size ? attr->stack_size :
		      weft__stack_default();
	struct weft__slot *slot = attr->stack ?
		weft__stack_user(attr->stack, size) : weft__stack_get(size);
	if (slot == NULL)
		return NULL;
	size_t tcb = attr->own_tcb && weft__tcb_init(false) ?
		     weft__tcb_size() : 0;
	size_t room = tcb + ((sizeof(struct weft__co) + 63) & ~(size_t)63);
	if (room + MIN_ROOM > slot->size) {
		weft__stack_put(slot, false);
		errno = EINVAL;
		return NULL;
	}
	struct weft__co *co = (struct weft__co *)(slot->hi - room);

	memset(co, 0, sizeof *co);
	co->slot = slot;
	co->limit = slot->lo; /* checked at switches too, guard or not */
	co->fn = fn;
	co->arg = arg;
	co->detached = attr->detached;
	if (tcb) {
		struct weft__tcb_info info = {
			.lo = slot->lo, .size = slot->size,
			.guard = attr->stack ? 0 : attr->guard,
			.detached = attr->detached, .fn = fn, .arg = arg,
		};
		co->tcb = weft__tcb_make(slot->hi, &info);
		if (co->tcb == NULL) {
			weft__stack_put(slot, false);
			return NULL;
		}
		co->own_tcb = true;
	}
	co->asan_bottom = slot->lo;
	co->asan_size = (size_t)((char *)co - slot->lo);
	co->tsan_fiber = weft__tsan_new();
	weft__ctx_make(&co->ctx, co, co_main, co);
	return co;
}

/* See core.h. */
void weft__co_start(struct weft__co *co, bool spread)
{
	struct weft__sched *here = weft__current_sched();

	weft__sched_adopt(co, spread ? weft__pool_pick(here) : here);
}

/* Releases an ended coroutine: its thread block's outside parts, then its
 * stack, with the block and the struct in it.  A thread's stack gives its
 * deep pages back, as glibc's do when a thread ends. */
void weft__co_free(struct weft__co *co)
{
	/* Ended on another thread: that thread may still be switching
	 * away from it, for nanoseconds. */
	while (!atomic_load_explicit(&co->left, memory_order_acquire))
		sched_yield();
	weft__tsan_free(co->tsan_fiber);
	if (co->own_tcb)
		weft__tcb_free(co->tcb);
	weft__stack_put(co->slot, co->own_tcb);
}

/* See core.h. */
void weft__co_finish(struct weft__co *co)
{
	if (co->own_tcb && !co->tls_done) {
		co->tls_done = true;
		weft__tcb_exit();
	}
	weft__kv_destroy(co);
}

/* See weft.h. */
int weft_go(void (*fn)(void *), void *arg)
{
	struct weft__co_attr attr = { .detached = true };

	if (fn == NULL) { /* it would crash when it ran, far from the call */
		errno = EINVAL;
		return -1;
	}
	struct weft__co *co = weft__co_new(NULL, arg, &attr);
	if (co == NULL) {
		errno = EAGAIN;
		return -1;
	}
	co->go_fn = fn;
	weft__co_start(co, false);
	return 0;
}

/* See weft.h. */
weft_co *weft_spawn(void *(*fn)(void *), void *arg, size_t stack_size)
{
	struct weft__co_attr attr = { .stack_size = stack_size };

	if (fn == NULL) {
		errno = EINVAL;
		return NULL;
	}
	struct weft__co *co = weft__co_new(fn, arg, &attr);
	if (co)
		weft__co_start(co, false);
	return co;
}

/* See weft.h. */
weft_co *weft_spawn_opt(void *(*fn)(void *), void *arg, size_t stack_size,
			unsigned flags)
{
	struct weft__co_attr attr = {
		.stack_size = stack_size,
		.own_tcb = flags & WEFT_OWN_TLS,
	};

	if (fn == NULL || (flags & ~(unsigned)WEFT_OWN_TLS)) {
		errno = EINVAL;
		return NULL;
	}
	if (attr.own_tcb && !weft__tcb_init(false)) {
		errno = ENOTSUP;
		return NULL;
	}
	struct weft__co *co = weft__co_new(fn, arg, &attr);
	if (co)
		weft__co_start(co, attr.own_tcb);
	return co;
}

/* See weft.h. */
int weft_join(weft_co *co, void **result)
{
	struct weft__co *self = weft__self();

	if (co->joined)
		weft__die("weft_join: that coroutine was joined already");
	if (co == self) {
		errno = EDEADLK;
		return -1;
	}
	if (co->detached || co->joining) {
		errno = EINVAL;
		return -1;
	}
	co->joining = true;
	while (weft__co_await_end(self, co, -1) != 0)
		;
	if (result)
		*result = co->result;
	co->joined = true;
	weft__co_free(co);
	return 0;
}

/* See weft.h. */
int weft_detach(weft_co *co)
{
	if (co->detached || co->joining) {
		errno = EINVAL;
		return -1;
	}
	/* As glibc's pthread_detach, in the block too: a late
	 * pthread_join of the id that reaches glibc (the thread ended,
	 * and weft no longer knows it) then fails with EINVAL, as natively,
	 * instead of waiting for a tid no kernel will clear. */
	if (co->own_tcb)
		weft__tcb_detached(co->tcb);
	weft__spin_lock(&co->end_lock);
	bool ended = co->ended;
	co->detached = !ended;
	weft__spin_unlock(&co->end_lock);
	if (ended) {
		co->joined = true;
		weft__co_free(co);
	}
	return 0;
}

/* See core.h. */
int weft__co_await_end(struct weft__co *self, struct weft__co *co,
		       int64_t deadline)
{
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */
	weft__spin_lock(&co->end_lock);
	if (co->ended) {
		weft__spin_unlock(&co->end_lock);
		return 0;
	}
	co->joiner = self;
	self->wait_what = "join";
	weft__prepark(self);
	weft__spin_unlock(&co->end_lock);
	int r = weft__park(self, deadline);
	weft__spin_lock(&co->end_lock);
	co->joiner = NULL;
	if (co->ended)
		r = 0;
	weft__spin_unlock(&co->end_lock);
	return r;
}

/* See weft.h. */
void weft_exit(void *result)
{
	struct weft__co *co = weft__self();

	co->result = result;
	if (co->slot != NULL)
		weft__co_exit(co);
	/* The root: the thread ends when its other coroutines have. */
	weft__root_exit(co);
	/* As pthread_exit: in the main thread too, the process goes on
	 * until its last thread ends.  weft__running is cleared so that a
	 * wrapped pthread_exit passes this through. */
	weft__running = NULL;
	weft__inside = true;
	pthread_exit(result);
}

/* See weft.h. */
const char *weft_name(void)
{
	return weft__self()->name;
}

/* See weft.h. */
int weft_set_name(const char *name)
{
	struct weft__co *co = weft__self();

	strncpy(co->name, name, sizeof co->name - 1);
	co->name[sizeof co->name - 1] = '\0';
	return 0;
}
