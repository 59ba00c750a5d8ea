/* loop.c - a scheduler's libev loop, its fds at the top of the fd range,
 * and making it again when the program wants one of their numbers or a
 * raw system call closed one.
 *
 * libev makes the loop's fds itself (epoll_create1, and eventfd when the
 * first ev_async starts), through weft's wrappers: while weft__ownfd_making
 * names the scheduler, hook/fdnew.c hands each new fd to weft__ownfd_loop,
 * which moves it up and records it as the scheduler's own.
 *
 * libev keeps the eventfd's number for the loop's whole life (its
 * ev_loop_fork re-makes the file under the same number), so giving up
 * either number means a new loop: every watcher of the scheduler (the fd
 * watchers of wait.c, the coroutines' timers, the remote queue's ev_async
 * and this file's own) is stopped on the old loop and started on the new
 * one.  That runs on the scheduler's thread, never inside the old loop's
 * poll: from a coroutine of that thread, or from an ev_prepare at the
 * start of the loop's next round, which then breaks out of the old loop
 * before it polls.  The old loop is left, never destroyed: another thread
 * may have read s->loop just before it changed and still be sending a
 * wake there, which libev turns into a write only while that loop polls.
 *
 * libev reports a failed epoll_wait to its syserr callback (and by
 * default aborts): weft's callback makes the loop again instead, when
 * the loop is a scheduler's and one of its fds is gone.  libev calls
 * epoll_ctl on a gone epoll fd too, and aborts on its EBADF: weft's
 * epoll_ctl wrapper (hook/epoll.c) takes such a call as done, and has the
 * loop made again (weft__ownfd_loop_failed).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "handoff.h"
#include "ownfd.h"
#include "sched.h"
#include "waitq.h"

#define LOOP_FLAGS (EVFLAG_NOENV | EVFLAG_NOSIGMASK | EVFLAG_NOTIMERFD | \
		    EVFLAG_NOINOTIFY)

/* How long a program call waits for another thread's scheduler to give
 * up an fd (it answers in microseconds unless its thread is blocked
 * outside weft). */
#define ASK_NS (2 * 1000000000LL)

enum { POSTED, TAKEN, DONE, ABANDONED };

/* A request for fn(fd, arg, lost) on the owner's thread. */
struct req {
	int fd;
	weft__ownfd_fn *fn;
	void *arg;
	bool lost;         /* nobody waits: the owner frees it */
	_Atomic int state;
	int result, err;
	struct req *next;
};

/* What loop.c keeps per scheduler. */
struct weft__loopx {
	struct weft__sched *s;
	ev_async ask;       /* requests were posted */
	ev_prepare safe;    /* started to run them at the next round */
	int lock;           /* guards reqs */
	struct req *reqs;
	bool renew;         /* the loop's fds are bad: make it again */
	unsigned failures;  /* re-makes for failed polls, in a row */
	int64_t last_failure;
};

static int loop_fn(int fd, void *arg, bool lost);

/* ---- making ---- */

/* A new loop for s, its fds made at the top of the range, with s's ev_asyncs
 * started on it; or NULL. */
static struct ev_loop *make(struct weft__sched *s)
{
	struct weft__sched *was = weft__ownfd_making;

	weft__ownfd_making = s;
	struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL | LOOP_FLAGS);
	if (loop == NULL)
		loop = ev_loop_new(LOOP_FLAGS);
	if (loop) {
		ev_set_userdata(loop, s);
		ev_async_start(loop, &s->remote);
		ev_async_start(loop, &s->loopx->ask);
	}
	weft__ownfd_making = was;
	return loop;
}

/* The old loop's fds, noted before the new loop's join them. */
struct olds {
	int fd[16];
	int n;
};

static void note(int fd, void *arg)
{
	struct olds *o = arg;

	if (o->n < 16)
		o->fd[o->n++] = fd;
}

/* Makes s's loop again and moves everything onto it; keep is the fd the
 * program is taking (-1: none).  On s's thread, outside the poll.
 * Returns 0, or -1 with errno. */
static int renew(struct weft__sched *s, int keep)
{
	struct weft__loopx *lx = s->loopx;
	struct ev_loop *old = s->loop;
	struct olds olds = { .n = 0 };

	/* libev cannot fail to make the loop's eventfd: it would abort. */
	if (!weft__ownfd_room(2)) {
		errno = EMFILE;
		return -1;
	}
	/* One whose file is gone is only forgotten, first: the new loop
	 * may take its number.  The others stay open meanwhile, so it cannot
	 * take theirs. */
	weft__ownfd_each(s, loop_fn, note, &olds);
	for (int i = 0; i < olds.n; i++) {
		if (olds.fd[i] != keep && !weft__ownfd_intact(olds.fd[i])) {
			weft__ownfd_forget(olds.fd[i]);
			olds.fd[i] = -1;
		}
	}
	ev_async_stop(old, &s->remote);
	ev_async_stop(old, &lx->ask);
	ev_prepare_stop(old, &lx->safe);
	struct ev_loop *loop = make(s);
	if (loop == NULL) {
		ev_async_start(old, &s->remote);
		ev_async_start(old, &lx->ask);
		errno = EMFILE;
		return -1;
	}
	weft__wait_move_loop(s, old, loop);
	ev_now_update(old);
	for (struct weft__co *co = s->all; co; co = co->all_next) {
		if (!ev_is_active(&co->timer))
			continue;
		ev_tstamp left = ev_timer_remaining(old, &co->timer);
		ev_timer_stop(old, &co->timer);
		ev_timer_set(&co->timer, left > 0 ? left : 0., 0.);
		ev_timer_start(loop, &co->timer);
	}
	__atomic_store_n(&s->loop, loop, __ATOMIC_SEQ_CST);
	/* Wakes and requests sent to the old loop meanwhile. */
	ev_feed_event(loop, &s->remote, EV_ASYNC);
	ev_feed_event(loop, &lx->ask, EV_ASYNC);
	/* The old fds but the one the program takes, which stays open for
	 * it to replace. */
	for (int i = 0; i < olds.n; i++) {
		if (olds.fd[i] == keep)
			weft__ownfd_forget(keep);
		else if (olds.fd[i] >= 0)
			weft__ownfd_close(olds.fd[i]);
	}
	return 0;
}

/* Gives up an fd of s's loop (arg): a new loop, on s's thread. */
static int loop_fn(int fd, void *arg, bool lost)
{
	return renew(arg, lost ? -1 : fd);
}

/* See ownfd.h. */
int weft__ownfd_loop(int fd)
{
	struct weft__sched *s = weft__ownfd_maker();

	return s ? weft__ownfd_adopt(fd, s, loop_fn, s) : fd;
}

/* ---- requests from other threads, and re-making at a safe point ---- */

/* Runs the posted requests, and a re-make that is due; at the start of a
 * round of loop, before it polls: if the loop changed, the old one stops
 * here. */
static void on_safe(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct weft__loopx *lx = (struct weft__loopx *)
		((char *)w - offsetof(struct weft__loopx, safe));
	(void)revents;

	ev_prepare_stop(loop, w);
	weft__spin_lock(&lx->lock);
	struct req *r = lx->reqs;
	lx->reqs = NULL;
	weft__spin_unlock(&lx->lock);
	while (r) {
		struct req *next = r->next;
		int posted = POSTED;
		if (!atomic_compare_exchange_strong(&r->state, &posted,
						    TAKEN)) {
			free(r); /* abandoned by its caller */
		} else {
			int res = weft__ownfd_give_up_here(r->fd, r->fn, r->arg,
							   r->lost);
			if (r->lost) {
				free(r);
			} else {
				r->result = res;
				r->err = errno;
				atomic_store_explicit(&r->state, DONE,
						      memory_order_release);
			}
		}
		r = next;
	}
	if (lx->renew) {
		lx->renew = false;
		if (renew(lx->s, -1) < 0)
			weft__die("cannot make an event loop again: no fd is"
				  " free");
	}
	if (lx->s->loop != loop)
		ev_break(loop, EVBREAK_ONE);
}

static void on_ask(struct ev_loop *loop, ev_async *w, int revents)
{
	struct weft__loopx *lx = (struct weft__loopx *)
		((char *)w - offsetof(struct weft__loopx, ask));
	(void)revents;

	ev_prepare_start(loop, &lx->safe);
}

/* Whether thread tid of this process still runs. */
static bool alive(pid_t tid)
{
	return syscall(SYS_tgkill, getpid(), tid, 0) == 0 || errno != ESRCH;
}

/* Sends s's loop the ev_async that says requests are waiting; from any
 * thread, as weft (libev's write must not go through weft's wrapper). */
static void poke(struct weft__sched *s)
{
	struct weft__co *saved = weft__running;

	weft__running = NULL;
	ev_async_send(__atomic_load_n(&s->loop, __ATOMIC_SEQ_CST),
		      &s->loopx->ask);
	weft__running = saved;
}

/* Sleeps the thread for about a tenth of a millisecond, as weft. */
static void nap(void)
{
	struct timespec ts = { 0, 100000 };

	syscall(SYS_nanosleep, &ts, NULL);
}

/* See sched.h. */
int weft__loop_ask(struct weft__sched *s, int fd, weft__ownfd_fn *fn,
		   void *arg, bool lost)
{
	struct weft__loopx *lx = s->loopx;
	int saved = errno;

	if (s == weft__current_sched()) {
		if (weft__loop_context() == NULL) {
			WEFT__GATED();
			return weft__ownfd_give_up_here(fd, fn, arg, lost);
		}
		if (!lost) { /* the loop cannot wait for itself */
			errno = EBUSY;
			return -1;
		}
	} else if (lx == NULL || !alive(weft__sched_tid(s))) {
		/* Its thread is gone, and nothing uses its loop. */
		weft__ownfd_forget(fd);
		return 0;
	}
	struct req *r = calloc(1, sizeof *r);
	if (r == NULL) {
		errno = lost ? saved : ENOMEM;
		return lost ? 0 : -1;
	}
	*r = (struct req){ .fd = fd, .fn = fn, .arg = arg, .lost = lost };
	weft__spin_lock(&lx->lock);
	r->next = lx->reqs;
	lx->reqs = r;
	weft__spin_unlock(&lx->lock);
	if (s == weft__current_sched()) {
		ev_prepare_start(s->loop, &lx->safe);
		return 0;
	}
	poke(s);
	if (lost)
		return 0;
	int64_t until = weft__now() + ASK_NS;
	for (unsigned i = 1;
	     atomic_load_explicit(&r->state, memory_order_acquire) != DONE;
	     i++) {
		nap();
		if (i % 16 == 0)
			poke(s); /* its loop may have changed meanwhile */
		if (weft__now() < until &&
		    (i % 256 || alive(weft__sched_tid(s))))
			continue;
		int posted = POSTED;
		if (atomic_compare_exchange_strong(&r->state, &posted,
						   ABANDONED)) {
			errno = EBUSY;
			return -1;
		}
	}
	int res = r->result;
	errno = res < 0 ? r->err : saved;
	free(r);
	return res;
}

/* ---- a loop whose fds are gone ---- */

/* Has s's loop made again at the start of its next round; on s's
 * thread. */
static void renew_soon(struct weft__sched *s)
{
	if (s->loopx) {
		s->loopx->renew = true;
		ev_prepare_start(s->loop, &s->loopx->safe);
	}
}

/* Whether fd, one of the loop's, is gone; arg points to the answer. */
static void check_fd(int fd, void *arg)
{
	if (!weft__ownfd_intact(fd))
		*(bool *)arg = true;
}

/* See sched.h. */
bool weft__loop_sick(struct weft__sched *s)
{
	bool sick = false;
	int saved = errno;

	weft__ownfd_each(s, loop_fn, check_fd, &sick);
	if (sick)
		renew_soon(s);
	errno = saved;
	return sick;
}

/* See ownfd.h. */
bool weft__ownfd_loop_failed(int epfd)
{
	struct weft__sched *s = weft__ownfd_maker();
	int saved = errno;

	/* Not the maker's loop being made or destroyed: a loop running. */
	if (s == NULL || weft__ownfd_making != NULL ||
	    weft__ownfd_intact(epfd))
		return false;
	renew_soon(s);
	errno = saved;
	return true;
}

/* libev's report of a system call that failed.  A scheduler's poll that
 * failed (its epoll fd closed behind weft's back) makes the loop again;
 * anything else ends the process as libev itself would. */
static void on_syserr(const char *msg)
{
	struct weft__sched *s = weft__current_sched();
	int err = errno;

	if (s && s->loopx && weft__loop_context() && !weft__ownfd_making &&
	    strstr(msg, "epoll_wait")) {
		struct weft__loopx *lx = s->loopx;
		int64_t now = weft__now();
		if (now - lx->last_failure > 1000000000LL)
			lx->failures = 0;
		lx->last_failure = now;
		if (++lx->failures > 64) {
			char line[160] = "";
			weft__cat(line, sizeof line, msg);
			weft__cat(line, sizeof line, ": ");
			weft__cat(line, sizeof line, strerror(err));
			weft__die(line);
		}
		renew_soon(s);
		errno = err;
		return;
	}
	char line[160] = "";
	weft__cat(line, sizeof line, msg);
	weft__cat(line, sizeof line, ": ");
	weft__cat(line, sizeof line, strerror(err));
	weft__die(line);
}

/* See sched.h. */
struct ev_loop *weft__loop_make(struct weft__sched *s)
{
	static atomic_flag syserr_set = ATOMIC_FLAG_INIT;
	struct weft__loopx *lx = calloc(1, sizeof *lx);

	if (lx == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/* Once: the callback is libev's, for every loop in the process, and
	 * a program that uses libev itself may set its own later. */
	if (!atomic_flag_test_and_set(&syserr_set))
		ev_set_syserr_cb(on_syserr);
	lx->s = s;
	ev_async_init(&lx->ask, on_ask);
	ev_prepare_init(&lx->safe, on_safe);
	s->loopx = lx;
	struct ev_loop *loop = make(s);
	if (loop == NULL) {
		s->loopx = NULL;
		free(lx);
		errno = ENOMEM;
	}
	return loop;
}

/* See sched.h. */
void weft__loop_destroy(struct weft__sched *s)
{
	struct weft__sched *was = weft__ownfd_making;

	weft__ownfd_making = s;
	ev_loop_destroy(s->loop);
	weft__ownfd_making = was;
	s->loop = NULL;
}
