/* wait.c - parking coroutines until an fd is ready, and sleeping.
 *
 * Each scheduler keeps one libev io watcher per fd, in a table indexed by
 * fd, and a FIFO of the coroutines waiting on it.  The watcher stays
 * started between waits, so a coroutine that waits on the same fd for the
 * same event again (read, EAGAIN, wait, read...) costs no epoll_ctl: the
 * registration is kept.  When the watcher fires, the first waiter for each
 * ready event wakes; since epoll here is level-triggered, an event that
 * stays ready wakes the next waiter on the next poll, so nobody is lost
 * and a crowd of waiters is not woken for one byte.  A watcher that fires
 * with nobody waiting for that event is narrowed (or stopped).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cancel.h"
#include "core.h"
#include "handoff.h"
#include "fd.h"
#include "sched.h"
#include "waitq.h"

#define CHUNK 256

_Static_assert(WEFT_READ == EV_READ && WEFT_WRITE == EV_WRITE,
	       "weft's event bits are libev's");

/* One fd's watcher and waiters, per scheduler. */
struct weft__fdw {
	ev_io io;
	void *head, *tail; /* waiting coroutines, oldest first */
	dev_t dev;         /* the file weft_wait_fd last saw here */
	ino_t ino;
	int idle;          /* firings in a row that woke nobody */
	unsigned gen;      /* the fd table's gen when it was registered */
};

/* Which file fd names, as far as the fd table knows: its entry's count of
 * closes (0 without an entry). */
static unsigned fd_gen(int fd)
{
	struct weft__fd *f = weft__fd_peek(fd);

	return f ? atomic_load_explicit(&f->gen, memory_order_acquire) : 0;
}

/* The watcher slot for fd, making room for it if make is set.  Chunks
 * never move once made: libev holds pointers to the watchers in them. */
static struct weft__fdw *slot(struct weft__sched *s, int fd, bool make)
{
	size_t c = (size_t)fd / CHUNK;

	if (c >= s->fdw_chunks) {
		if (!make)
			return NULL;
		size_t n = s->fdw_chunks ? s->fdw_chunks : 16;
		while (n <= c)
			n *= 2;
		struct weft__fdw **dir = realloc(s->fdw, n * sizeof *dir);
		if (dir == NULL)
			return NULL;
		for (size_t i = s->fdw_chunks; i < n; i++)
			dir[i] = NULL;
		s->fdw = dir;
		s->fdw_chunks = n;
	}
	if (s->fdw[c] == NULL) {
		if (!make)
			return NULL;
		s->fdw[c] = calloc(CHUNK, sizeof **s->fdw);
		if (s->fdw[c] == NULL)
			return NULL;
	}
	return &s->fdw[c][fd % CHUNK];
}

/* Restarts w's watcher for exactly the events its waiters want. */
static void rearm(struct ev_loop *loop, struct weft__fdw *w, int want)
{
	w->idle = 0;
	if (ev_is_active(&w->io))
		ev_io_stop(loop, &w->io);
	if (want) {
		ev_io_set(&w->io, w->io.fd, want);
		ev_io_start(loop, &w->io);
	}
}

static void on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct weft__fdw *fdw = (struct weft__fdw *)io;
	int unserved = revents & (EV_READ | EV_WRITE);
	int want = 0;

	if (revents & EV_ERROR) {
		/* libev could not watch the fd: it is gone, unless the loop's
		 * own epoll fd is (closed behind weft's back), and the loop
		 * is made again, this fd's waiters with it. */
		if (!weft__loop_sick(ev_userdata(loop)))
			weft__fd_gone(io->fd, EBADF);
		return;
	}
	for (struct weft__waiter *w = fdw->head, *next; w; w = next) {
		next = w->next;
		int got = w->events & unserved;
		if (got) {
			weft__wq_remove(&fdw->head, &fdw->tail, w);
			w->revents = got;
			/* A coroutine woken already through another of its
			 * fds has not taken this event: offer it on. */
			if (weft__wake(w->co, 0))
				unserved &= ~got;
		} else {
			want |= w->events;
		}
	}
	/* Fired for nobody.  Once is normal: a coroutine woken by the last
	 * firing may not have run yet to take what is ready, and will wait
	 * again at once; stopping now would cost two epoll_ctl.  Twice in a
	 * row, nobody wants the event: stop asking for it. */
	if (!unserved)
		fdw->idle = 0;
	else if (++fdw->idle >= 2)
		rearm(loop, fdw, want);
}

/* Puts w on its fd's queue, starting or widening the fd's watcher. */
static int enqueue(struct weft__sched *s, struct weft__waiter *w)
{
	/* An fd weft made for this wait (a signalfd) may have moved, the
	 * program having taken its number: the coroutine still names it by
	 * the old one. */
	if (weft__unlikely(atomic_load_explicit(&weft__ownfd_moved,
						memory_order_relaxed)))
		w->fd = weft__ownfd_forward(w->fd, w->co);
	struct weft__fdw *fdw = slot(s, w->fd, true);

	if (fdw == NULL)
		return -ENOMEM;
	/* The number was closed since the watcher was registered, perhaps
	 * on another thread whose notice is still on its way: the watcher
	 * and its waiters belong to the old file. */
	unsigned gen = fd_gen(w->fd);
	if (fdw->gen != gen) {
		dev_t dev = fdw->dev; /* what weft_wait_fd saw stays true */
		ino_t ino = fdw->ino;
		weft__fd_gone_here(s, w->fd, EBADF);
		fdw->dev = dev;
		fdw->ino = ino;
		fdw->gen = gen;
	}
	if (!ev_is_active(&fdw->io)) {
		ev_io_init(&fdw->io, on_io, w->fd, w->events);
		ev_io_start(s->loop, &fdw->io);
	} else if ((fdw->io.events & w->events) != w->events) {
		rearm(s->loop, fdw, fdw->io.events | w->events);
	}
	weft__wq_push(&fdw->head, &fdw->tail, w);
	return 0;
}

static void dequeue(struct weft__sched *s, struct weft__waiter *w)
{
	struct weft__fdw *fdw = slot(s, w->fd, false);

	if (fdw)
		weft__wq_remove(&fdw->head, &fdw->tail, w);
}

/* Stops fd's watcher on s if no waiter is left on it. */
static void stop_idle(struct weft__sched *s, int fd)
{
	struct weft__fdw *fdw = slot(s, fd, false);

	if (fdw != NULL && fdw->head == NULL && ev_is_active(&fdw->io))
		rearm(s->loop, fdw, 0);
}

/* Notes that co's wait left fd's watcher running on s (on_io keeps it for
 * the next wait): should co move, the watcher is stopped there
 * (weft__wait_let_go), for co may then close fd on another thread, and
 * libev must never touch the epoll entry of a closed fd.  With no room
 * left, the oldest is stopped now. */
static void note_left(struct weft__sched *s, struct weft__co *co, int fd)
{
	for (int i = 0; i < co->nleft; i++)
		if (co->left_fds[i] == fd)
			return;
	int max = sizeof co->left_fds / sizeof co->left_fds[0];
	if (co->nleft == max) {
		stop_idle(s, co->left_fds[0]);
		memmove(co->left_fds, co->left_fds + 1,
			(size_t)(max - 1) * sizeof co->left_fds[0]);
		co->nleft--;
	}
	co->left_fds[co->nleft++] = fd;
}

/* Parks co until one of w[0..n) is ready; see core.h. */
int weft__wait_fds(struct weft__co *co, struct weft__waiter *w, int n,
		   int64_t deadline)
{
	WEFT__GATED();
	struct weft__sched *s = co->sched;
	int queued, r = 0;

	for (queued = 0; queued < n; queued++) {
		w[queued].co = co;
		w[queued].revents = 0;
		if ((r = enqueue(s, &w[queued])) < 0)
			break;
	}
	bool parked = r == 0;
	if (parked) {
		if (co->wait_what == NULL)
			co->wait_what = n == 1 ? "fd" : "fds";
		co->wait_fd = w[0].fd;
		co->waiters = w;
		co->nwaiters = queued;
		weft__prepark(co);
		r = -weft__park(co, deadline);
		co->wait_fd = -1;
	}
	/* The mark is this wait's, parked or not. */
	co->cancel_point = co->signal_point = false;
	/* Given to another scheduler as it was woken, co's waiters were let
	 * go there. */
	bool held = !parked || co->waiters != NULL;
	int ready = 0;
	for (int i = 0; i < queued; i++) {
		if (held) {
			dequeue(s, &w[i]);
			if (s->pooled) /* only members give threads away */
				note_left(s, co, w[i].fd);
		}
		ready += w[i].revents != 0;
	}
	co->waiters = NULL;
	/* A zero time-out fires in the same poll as an fd that is already
	 * ready: the event wins, as with poll(2). */
	return r < 0 && !(r == -ETIMEDOUT && ready) ? r : ready;
}

/* See sched.h.  A watcher left asking for what no waiter here wants any
 * more is narrowed, or stopped (which costs no system call: libev leaves
 * the fd in epoll until it fires or is closed), and so are the watchers
 * co's earlier waits left running: the coroutine that moved may close
 * those fds on its new thread, and libev must never change the epoll
 * entry of an fd that is closed. */
void weft__wait_let_go(struct weft__sched *s, struct weft__co *co)
{
	for (int i = 0; i < co->nleft; i++)
		stop_idle(s, co->left_fds[i]);
	co->nleft = 0;
	for (int i = 0; co->waiters != NULL && i < co->nwaiters; i++) {
		struct weft__fdw *fdw = slot(s, co->waiters[i].fd, false);
		if (fdw == NULL)
			continue;
		weft__wq_remove(&fdw->head, &fdw->tail, &co->waiters[i]);
		int want = 0;
		for (struct weft__waiter *w = fdw->head; w; w = w->next)
			want |= w->events;
		if (ev_is_active(&fdw->io) && (fdw->io.events & ~want))
			rearm(s->loop, fdw, want);
	}
	co->waiters = NULL;
}

/* Parks co until fd is ready; see core.h. */
int weft__wait_fd(struct weft__co *co, int fd, int events, int64_t deadline)
{
	struct weft__waiter w = { .fd = fd, .events = events };
	int r = weft__wait_fds(co, &w, 1, deadline);

	return r < 0 ? r : w.revents;
}

/* Wakes fd's waiters on scheduler s and stops its watcher, so that a new
 * file with the same number is registered afresh. */
void weft__fd_gone_here(struct weft__sched *s, int fd, int reason)
{
	struct weft__fdw *w = slot(s, fd, false);
	struct weft__waiter *waiter;

	if (w == NULL)
		return;
	while ((waiter = weft__wq_pop(&w->head, &w->tail)) != NULL)
		weft__wake(waiter->co, reason);
	if (ev_is_active(&w->io))
		ev_io_stop(s->loop, &w->io);
	w->dev = 0;
	w->ino = 0;
	w->idle = 0;
}

/* See sched.h.  The closing thread counted the close in the fd table
 * before sending the notice, so a watcher registered since has seen the
 * count: it watches the new file, which was opened after the close. */
void weft__fd_gone_late(struct weft__sched *s, int fd)
{
	struct weft__fdw *w = slot(s, fd, false);

	if (w != NULL && w->gen != fd_gen(fd))
		weft__fd_gone_here(s, fd, EBADF);
}

/* Wakes this thread's waiters of fd for events; see core.h. */
void weft__fd_poke(int fd, int events)
{
	struct weft__sched *s = weft__current_sched();
	if (s == NULL)
		return;
	WEFT__GATED();
	struct weft__fdw *fdw = slot(s, fd, false);

	if (fdw == NULL)
		return;
	for (struct weft__waiter *w = fdw->head, *next; w; w = next) {
		next = w->next;
		int got = w->events & events;
		if (got) {
			weft__wq_remove(&fdw->head, &fdw->tail, w);
			w->revents = got;
			weft__wake(w->co, 0);
		}
	}
}

/* Wakes fd's waiters on every scheduler; see core.h. */
void weft__fd_gone(int fd, int reason)
{
	struct weft__fd *f = weft__fd_peek(fd);

	/* Counted first: see weft__fd_gone_late. */
	if (f)
		atomic_fetch_add_explicit(&f->gen, 1, memory_order_acq_rel);
	weft__sched_each_gone(fd, reason);
}

/* The events w's waiters want. */
static int wanted(const struct weft__fdw *w)
{
	int want = 0;

	for (const struct weft__waiter *x = w->head; x; x = x->next)
		want |= x->events;
	return want;
}

/* Moves s's fd watchers to a new loop; see sched.h.  A watcher libev
 * stopped (its loop's epoll fd was gone) starts again if it has
 * waiters. */
void weft__wait_move_loop(struct weft__sched *s, struct ev_loop *from,
			  struct ev_loop *to)
{
	for (size_t c = 0; c < s->fdw_chunks; c++) {
		if (s->fdw[c] == NULL)
			continue;
		for (int i = 0; i < CHUNK; i++) {
			struct weft__fdw *w = &s->fdw[c][i];
			int want = wanted(w);
			if (ev_is_active(&w->io)) {
				want |= w->io.events & (EV_READ | EV_WRITE);
				ev_io_stop(from, &w->io);
			}
			w->idle = 0;
			if (want) {
				ev_io_init(&w->io, on_io, (int)c * CHUNK + i,
					   want);
				ev_io_start(to, &w->io);
			}
		}
	}
}

/* Moves co's waits on `from` to `to`; see sched.h. */
int weft__wait_renumber(struct weft__sched *s, int from, int to,
			struct weft__co *co)
{
	struct weft__fdw *a = slot(s, from, false);
	struct weft__fdw *b = slot(s, to, true);

	if (b == NULL)
		return -ENOMEM;
	if (a == NULL)
		return 0;
	if (!ev_is_active(&b->io) && b->head == NULL)
		b->gen = fd_gen(to);
	for (struct weft__waiter *w = a->head, *next; w; w = next) {
		next = w->next;
		if (w->co != co)
			continue;
		weft__wq_remove(&a->head, &a->tail, w);
		w->fd = to;
		weft__wq_push(&b->head, &b->tail, w);
	}
	rearm(s->loop, a, wanted(a));
	int want = wanted(b) | (ev_is_active(&b->io) ?
				b->io.events & (EV_READ | EV_WRITE) : 0);
	if (want && !ev_is_active(&b->io)) {
		ev_io_init(&b->io, on_io, to, want);
		ev_io_start(s->loop, &b->io);
	} else if (want) {
		rearm(s->loop, b, want);
	}
	return 0;
}

/* Frees the watcher table of a scheduler whose thread is ending. */
void weft__wait_free(struct weft__sched *s)
{
	for (size_t c = 0; c < s->fdw_chunks; c++)
		free(s->fdw[c]);
	free(s->fdw);
	s->fdw = NULL;
	s->fdw_chunks = 0;
}

/* ---- the public face ---- */

/* Parks co until the monotonic deadline has passed; see core.h. */
int weft__sleep_until(struct weft__co *co, int64_t deadline, bool cancel)
{
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */
	/* A sleep lets the others run, however short: one whose time had
	 * passed before it could park (valgrind, a preempted thread) yields. */
	if (weft__now() >= deadline) {
		weft_yield();
		return 0;
	}
	/* Anything but the timer waking us early just means: sleep on. */
	while (weft__now() < deadline) {
		co->wait_what = "sleep";
		if (cancel)
			weft__cancel_mark(co);
		weft__prepark(co);
		int r = weft__park(co, deadline);
		if (r == ECANCELED || r == EINTR)
			return r;
	}
	return 0;
}

/* Parks co until deadline or any wake; see core.h. */
int weft__nap(struct weft__co *co, int64_t deadline)
{
	WEFT__GATED(); /* from before a waker can find it: see handoff.h */
	weft__prepark(co);
	return weft__park(co, deadline);
}

/* See weft.h. */
int weft_sleep(int64_t ns)
{
	if (ns > 0)
		weft__sleep_until(weft__self(), weft__deadline(ns), false);
	return 0;
}

/* See weft.h. */
int weft_wait_fd(int fd, int events, int64_t timeout_ns)
{
	struct stat st;

	if (events == 0 || (events & ~(WEFT_READ | WEFT_WRITE))) {
		errno = EINVAL;
		return -1;
	}
	if (weft__ownfd_is_held(fd)) { /* weft's: the program never opened it */
		errno = EBADF;
		return -1;
	}
	if (fstat(fd, &st) < 0)
		return -1;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		errno = EPERM;
		return -1;
	}
	struct weft__co *co = weft__self();
	WEFT__GATED();
	struct weft__fdw *w = slot(co->sched, fd, true);
	/* A file closed where no wrapper saw it (fclose, a raw system
	 * call) leaves a watcher for a file the kernel has forgotten. */
	if (w && (w->dev != st.st_dev || w->ino != st.st_ino)) {
		weft__fd_gone_here(co->sched, fd, EBADF);
		w->dev = st.st_dev;
		w->ino = st.st_ino;
	}
	int r = weft__wait_fd(co, fd, events, weft__deadline(timeout_ns));
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/* See weft.h. */
int weft_close(int fd)
{
	if (weft__ownfd_is_held(fd)) { /* weft's: the program never opened it */
		errno = EBADF;
		return -1;
	}
	weft__fd_gone(fd, EBADF);
	return (int)syscall(SYS_close, fd);
}
