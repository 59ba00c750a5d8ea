/* ownfd.h - weft's own file descriptors (ownfd.c), and the scheduler's
 * event loop that holds most of them (loop.c).
 *
 * weft keeps a few fds of its own: each scheduler's epoll fd and eventfd
 * (libev's), a signalfd while a coroutine waits for signals, the copy of
 * stderr that WEFT_STATS reports to.  They live at the top of the fd
 * range, below the soft RLIMIT_NOFILE (and below WEFT__OWNFD_CEIL), so
 * the program's own fds get the numbers they would get without weft.
 *
 * To the program, weft's numbers are numbers it never opened: close
 * gives EBADF and leaves weft's file open, close_range skips them, and
 * dup2, dup3 or F_DUPFD onto one succeed as natively, once weft has moved
 * its file to another number (or made it afresh).  Only its owner may
 * move an fd: the thread whose scheduler's loop holds it; a program call
 * on another thread asks the owner and waits.
 */
#ifndef WEFT_OWNFD_H
#define WEFT_OWNFD_H

#include <stdbool.h>

struct weft__co;
struct weft__sched;

/* The highest numbers weft uses lie just below min(soft RLIMIT_NOFILE,
 * WEFT__OWNFD_CEIL).  A ceiling, because the numbers cost memory up to
 * the highest one: libev keeps 16 bytes per number below each loop's
 * highest fd, zero-filled, and the kernel's fd table grows to it (and is
 * copied at every fork); with a soft limit of a million, fds at the very
 * top would cost each scheduler 16 MiB. */
#define WEFT__OWNFD_CEIL 4096

/* How weft lets go of one of its fds: fn(fd, arg, lost).  lost false: the
 * program wants the number; the file must stay open at fd (the caller
 * replaces it), and weft must use the number no more, having moved its
 * file elsewhere or made a new one.  lost true: the file is gone already
 * (closed where weft could not see it); fn makes what weft needs afresh.
 * Runs on the owner's thread (any thread if the owner is NULL).  Returns
 * 0, or -1 with errno (EMFILE: no number free to move to). */
typedef int weft__ownfd_fn(int fd, void *arg, bool lost);

/* ---- ownfd.c: the set, and the program's calls ---- */

/* Makes fd, which weft just made, weft's own: moves it to the top of the
 * range (closing fd) and records it, with its owner (NULL: none) and how
 * to let go of it.  Returns the fd's number now (fd itself if the top is
 * full).  errno is kept. */
int weft__ownfd_adopt(int fd, struct weft__sched *owner, weft__ownfd_fn *fn,
		      void *arg);

/* Duplicates fd (which stays as it was) to a new own fd at the top of the
 * range, recorded as weft__ownfd_adopt does.  Returns it, or -1 with
 * errno EMFILE (or what F_DUPFD_CLOEXEC gave). */
int weft__ownfd_copy(int fd, struct weft__sched *owner, weft__ownfd_fn *fn,
		     void *arg);

/* An fd libev just made for the loop of weft__ownfd_maker()'s scheduler:
 * moved up and recorded as that scheduler's (loop.c).  Returns its number
 * now; errno is kept. */
int weft__ownfd_loop(int fd);

/* libev's call on epfd failed with EBADF or EINVAL.  If epfd should be
 * the epoll fd of the calling loop (weft__ownfd_maker()'s) and is gone,
 * the loop is made again at the start of its next round, and true is
 * returned: libev's call can be taken as done (loop.c). */
bool weft__ownfd_loop_failed(int epfd);

/* Whether weft's own fd is still open on the file weft made it for. */
bool weft__ownfd_intact(int fd);

/* Whether n (at most 8) new own fds would find numbers at the top of
 * the range now.  errno is kept. */
bool weft__ownfd_room(int n);

/* Forgets fd as weft's own, leaving it open. */
void weft__ownfd_forget(int fd);

/* Closes weft's own fd and forgets it; errno is kept. */
void weft__ownfd_close(int fd);

/* The scheduler whose loop fds the calling code makes or closes, or NULL
 * when the caller is the program: set while weft makes, re-makes or
 * destroys a loop (weft__ownfd_making), and true of libev's own calls
 * from inside a loop (the idle context), which re-make its epoll fd when
 * it finds it stale. */
extern __thread struct weft__sched *weft__ownfd_making
	__attribute__((tls_model("initial-exec")));
struct weft__sched *weft__ownfd_maker(void);

/* The lowest own fd, or INT_MAX: numbers below it are never weft's, which
 * keeps the test free for the program's everyday fds. */
extern _Atomic int weft__ownfd_low;

/* Whether fd is one of weft's own that the calling program must not see
 * (false for calls weft itself makes, see weft__ownfd_maker).  A file
 * that is no longer the one weft had at that number (closed behind its
 * back and the number reused) is let go of here.  errno is kept. */
bool weft__ownfd_held(int fd);

/* Inline front of weft__ownfd_held: one compare for the program's fds. */
static inline bool weft__ownfd_is_held(int fd)
{
	return __builtin_expect(fd >= __atomic_load_n(&weft__ownfd_low,
						      __ATOMIC_RELAXED), 0) &&
	       weft__ownfd_held(fd);
}

/* The program wants number fd, which may be weft's: weft moves its file
 * elsewhere first, asking the owner's thread if it is another's (and
 * waiting for it).  fd stays open until the caller replaces it.  Returns
 * 0 (fd is free for the program to take, or was never weft's), or -1
 * with errno EMFILE (nowhere to move) or EBUSY (the owning thread did
 * not answer: it is blocked outside weft). */
int weft__ownfd_vacate(int fd);

/* r is what a dup or F_DUPFD of src (from: its lowest acceptable number)
 * just gave the program: an fd, or -1 with errno.  Natively it would have
 * been the lowest of weft's numbers in [from, r), if any (or at or above
 * from, if r is -1 with EMFILE): that one is vacated and src or r
 * duplicated onto it (O_CLOEXEC in flags kept), r being closed.  Returns
 * the program's fd, or r with errno as it was. */
int weft__ownfd_native_dup(int r, int src, int from, int flags);

/* close_range(first, last, flags) through real, leaving weft's own fds
 * open; same result and errno as the call would give. */
int weft__ownfd_close_range(unsigned first, unsigned last, int flags,
			    int (*real)(unsigned, unsigned, int));

/* Whether fd, in [first, last], is one of weft's (a close_range left it
 * open). */
bool weft__ownfd_in_range(int fd, unsigned first, unsigned last);

/* A wrapper made fd for the program.  If weft thought that number its
 * own, its file was closed behind its back: weft lets go of it and its
 * owner makes what it needs afresh. */
void weft__ownfd_reused(int fd);

/* A signalfd (or any fd) that co waits on, made by a wrapper: moved to
 * the top and made weft's own.  If the program wants its number, co's
 * waits move to a copy, and co's later calls name it by its old number
 * (see weft__ownfd_forward).  Returns its number; errno is kept. */
int weft__ownfd_waited(int fd, struct weft__co *co);

/* Closes such an fd, named as co knows it (nothing if fd < 0 or it is
 * weft's no more); errno is kept. */
void weft__ownfd_waited_close(int fd, struct weft__co *co);

/* How many waited fds have moved while their coroutine knew them by
 * their old number: while none have, no wait needs weft__ownfd_forward. */
extern _Atomic unsigned weft__ownfd_moved;

/* The number co's waited fd known to it as fd has now; fd if none. */
int weft__ownfd_forward(int fd, const struct weft__co *co);

/* In a fork child: forgets every lock and request, and closes the own
 * fds of every scheduler but keep (their threads stayed behind), and the
 * fds coroutines waited on.  The owner-less ones stay. */
void weft__ownfd_forked(struct weft__sched *keep);

/* Calls fn(fd, arg) for each own fd of owner made with give_up (a
 * snapshot: fn may close or forget them). */
void weft__ownfd_each(struct weft__sched *owner, weft__ownfd_fn *give_up,
		      void (*fn)(int fd, void *arg), void *arg);

/* Runs weft__ownfd_fn for fd on its owner's thread, which is the
 * caller's; forgets fd when it succeeds. */
int weft__ownfd_give_up_here(int fd, weft__ownfd_fn *fn, void *arg,
			     bool lost);

/* Duplicates src (close-on-exec) to the top of the fd range: the lowest
 * free number among the top 1, 2, 4... below min(soft RLIMIT_NOFILE,
 * WEFT__OWNFD_CEIL), never at or below `above` nor in the lower half; or,
 * if the program holds every number up there (a sweep of dup2), just
 * below a higher soft limit.  Returns the new fd, or -1 with errno EMFILE
 * (or EBADF) (ownfd_dup.c). */
int weft__ownfd_dup_high(int src, int above);

#endif
