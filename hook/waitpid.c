/* waitpid.c - wait, waitpid, wait4 and waitid.
 *
 * In a coroutine that is not alone, the call is first made with WNOHANG
 * added: a child already waiting to be reaped, no child at all (ECHILD)
 * and bad arguments come back at once, as from libc.  Otherwise, when the
 * caller waits for one child's exit and nothing else, it parks on a pidfd,
 * which becomes readable when that child exits, then asks again with
 * WNOHANG.  Every other wait (any child, a process group, a pidfd the
 * program gave, stops and continues, which a pidfd does not report) is
 * handed to the offload pool, which makes the real blocking call: a thread
 * may wait for the children of any thread of its process.  So is a wait
 * for a traced child, whose stops its tracer's waits report.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cancel.h"
#include "green.h"
#include "io.h"
#include "offload.h"
#include "ownfd.h"

/* One call's arguments, and what it gave. */
struct job {
	bool waitid;         /* waitid's arguments, else wait4's */
	idtype_t idtype;
	id_t id;
	siginfo_t *info;
	pid_t pid;
	int *status;
	struct rusage *ru;
	int options;
	int r;               /* the result */
};

/* Makes j's call without waiting.  Returns true if it gave an answer
 * (j->r, with errno set), false if no child has changed state yet. */
static bool try_now(struct job *j)
{
	const struct weft__real *libc = weft__libc();

	if (!j->waitid) {
		j->r = libc->wait4(j->pid, j->status, j->options | WNOHANG,
				   j->ru);
		return j->r != 0;
	}
	/* waitid reports "no child yet" by writing si_pid 0, and a bad
	 * siginfo pointer makes that EFAULT, which would look like a reaped
	 * child's EFAULT.  So look first, without reaping, into our own
	 * siginfo; then reap with the caller's (ours if it gave NULL). */
	siginfo_t mine;
	j->r = libc->waitid(j->idtype, j->id, &mine,
			    j->options | WNOHANG | WNOWAIT);
	if (j->r != 0 || mine.si_pid == 0)
		return j->r != 0;
	siginfo_t *info = j->info ? j->info : &mine;
	j->r = libc->waitid(j->idtype, j->id, info, j->options | WNOHANG);
	return j->r != 0 || info->si_pid != 0;
}

/* The real, blocking call: on this thread, or on a pool thread, where a
 * signal or cancel interrupts it as the kernel would
 * (core/offload_intr.c). */
static int block(struct job *j, bool here)
{
	const struct weft__real *libc = weft__libc();

	if (here)
		return j->waitid ? libc->waitid(j->idtype, j->id, j->info,
						j->options)
				 : libc->wait4(j->pid, j->status, j->options,
					       j->ru);
	if (j->waitid)
		return (int)weft__offload_syscall(WEFT__SYS_CANCEL,
						  SYS_waitid, j->idtype,
						  j->id, (long)j->info,
						  j->options, 0);
	return (int)weft__offload_syscall(WEFT__SYS_CANCEL, SYS_wait4, j->pid,
					  (long)j->status, j->options,
					  (long)j->ru, 0);
}

/* Whether pid has a tracer (TracerPid in /proc/PID/status).  A tracer's
 * wait reports its tracee's stops whatever the flags say, and a pidfd
 * shows only the exit, so a traced child is waited for on the pool. */
static bool traced(pid_t pid)
{
	char path[32] = "/proc/", buf[512];

	weft__cat_u64(path, sizeof path, (uint64_t)pid);
	weft__cat(path, sizeof path, "/status");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = weft__libc()->read(fd, buf, sizeof buf - 1);
	weft__libc()->close(fd);
	buf[n > 0 ? n : 0] = '\0';
	const char *t = strstr(buf, "\nTracerPid:");
	return t != NULL && strtol(t + 11, NULL, 10) != 0;
}

/* Parks until child pid has exited, then answers j without waiting.
 * Returns false, with nothing reaped, when that cannot be done: no pidfd
 * (an old kernel, or pid names a thread), or the child is not reapable
 * once it has exited (a debugger holds it), or it is traced; the pool
 * then takes over. */
static bool wait_exit(struct job *j, pid_t pid)
{
	if (traced(pid))
		return false;
#ifdef SYS_pidfd_open
	struct weft__co *co = weft__running;
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return false;
	/* weft's own while it waits: at the top of the fd range, out of the
	 * program's way (core/ownfd.h). */
	fd = weft__ownfd_waited(fd, co);
	int ev;
	/* A signal sent to this green thread: its handlers run; the wait
	 * goes on if they all have SA_RESTART, else ends with EINTR. */
	do {
		weft__cancel_mark(co);
		ev = weft__wait_fd(co, fd, WEFT_READ, -1);
	} while (ev == -EINTR && weft__sig_run(co) != 0);
	bool answered = ev > 0 && try_now(j);
	/* Closed under the number we know it by (nothing if a raw system
	 * call closed it: the number is not ours now). */
	weft__ownfd_waited_close(fd, co);
	if (ev == -ECANCELED)
		weft__cancel_act(co);
	if (ev == -EINTR) {
		j->r = -1;
		errno = EINTR;
		return true;
	}
	return answered;
#else
	(void)j, (void)pid;
	return false;
#endif
}

/* Waits for j's children without blocking the thread; one is the child
 * whose exit alone is awaited, or 0.  Returns what the call returns, with
 * its errno; errno is kept when it succeeds. */
static int wait_child(struct job *j, pid_t one)
{
	int saved = errno;

	weft__cancel_point(weft__running);
	if (try_now(j))
		return j->r;
	if (one > 0 && wait_exit(j, one)) {
		if (j->r >= 0)
			errno = saved; /* others ran while we were parked */
		return j->r;
	}
	/* __WNOTHREAD limits the wait to the caller's thread's own children,
	 * which a pool thread cannot see: block this thread instead. */
	errno = saved;
	return block(j, j->options & __WNOTHREAD);
}

/* Whether a wait should park rather than block the thread. */
static bool ours(int options)
{
	return !(options & WNOHANG) && weft__may_park();
}

/* wait4 that parks instead of blocking; same results and errno. */
pid_t weft__wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	if (!ours(options))
		return weft__libc()->wait4(pid, status, options, ru);
	struct job j = { .pid = pid, .status = status, .options = options,
			 .ru = ru };
	bool exit_only = !(options & (WSTOPPED | WCONTINUED));
	return wait_child(&j, exit_only ? pid : 0);
}

/* waitpid that parks instead of blocking; same results and errno. */
pid_t weft__waitpid(pid_t pid, int *status, int options)
{
	if (!ours(options))
		return weft__libc()->waitpid(pid, status, options);
	return weft__wait4(pid, status, options, NULL);
}

/* wait that parks instead of blocking; same results and errno. */
pid_t weft__wait(int *status)
{
	if (!ours(0))
		return weft__libc()->wait(status);
	return weft__wait4(-1, status, 0, NULL);
}

/* waitid that parks instead of blocking; same results and errno. */
int weft__waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	if (!ours(options))
		return weft__libc()->waitid(idtype, id, info, options);
	struct job j = { .waitid = true, .idtype = idtype, .id = id,
			 .info = info, .options = options };
	bool exit_only = idtype == P_PID && (options & WEXITED) &&
			 !(options & (WSTOPPED | WCONTINUED));
	return wait_child(&j, exit_only ? (pid_t)id : 0);
}

WEFT_EXPORT pid_t wait(int *status)
{
	return weft__wait(status);
}

WEFT_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	return weft__waitpid(pid, status, options);
}

WEFT_EXPORT pid_t wait4(pid_t pid, int *status, int options,
			struct rusage *ru)
{
	return weft__wait4(pid, status, options, ru);
}

WEFT_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info,
		       int options)
{
	return weft__waitid(idtype, id, info, options);
}
