/* process.c - fork, vfork, posix_spawn(p), system and the exec family.
 *
 * Three things need care when a process makes another.
 *
 * Shared files.  weft sets O_NONBLOCK in the kernel on some sockets it
 * made itself (WEFT__FD_KERN_NB; see hook/accept.c) and hides the flag
 * from the program.  Status flags belong to the open file, which a child
 * shares, and a child must see the flags the program set.  So before
 * another process can see an fd, weft clears O_NONBLOCK in the kernel
 * where the program believes the fd blocking, and forgets both that it
 * set the flag and that the file is this process's alone (WEFT__FD_OURS),
 * so that it never sets the flag again: calls on the fd then take the
 * flag-free path (wait until ready, then make the real call).  fork
 * shares every fd; exec and posix_spawn those without FD_CLOEXEC (all of
 * them when the spawn has file actions, which may dup any fd).  weft's
 * own fds are close-on-exec: libev's epoll fd and eventfd, pidfds.
 *
 * The fork child.  POSIX keeps only the calling thread in the child; weft
 * keeps only the calling coroutine.  weft__sched_forget (core/sched.c)
 * drops the parent's schedulers, closes the child's copies of the loop's
 * fds and makes the calling coroutine the root of a fresh scheduler, where
 * it is alone and so blocks for real, with identical results, until it
 * starts others.  The offload pool forgets its threads by itself
 * (core/offload.c).  vfork is fork: a vfork child shares the parent's
 * memory, and a wrapper running in it would corrupt the parent's
 * scheduler; POSIX allows vfork to be fork.
 *
 * The environment.  LD_PRELOAD carries weft into children unless
 * WEFT_INHERIT=0: then the environment handed to exec or posix_spawn is a
 * copy whose LD_PRELOAD lacks weft's library (and which has no LD_PRELOAD
 * at all if nothing else was in it).  The copy lives in a fresh mapping,
 * not on the heap: exec may be called where malloc may not (a signal
 * handler, a fork child of a threaded program).
 *
 * system() is rebuilt on posix_spawn so that its wait parks the calling
 * coroutine instead of the thread; it keeps glibc's exit status encoding,
 * signal handling and errors.  When the caller is alone (or not a
 * coroutine) libc's own system() runs, unless the environment must be
 * changed.
 */
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "fd.h"
/* core/ has a green.h of its own, found first on the include path. */
#include "../hook/green.h"
#include "child.h"
#include "preload.h"
#include "hooks.h"
#include "real.h"

extern char **environ;

/* hook/pthread.c: a green thread's own signal mask. */
int weft__pthread_sigmask(int how, const sigset_t *set, sigset_t *old);


/* ---- fds another process is about to share ---- */

/* Who will see the fds: a fork child (all of them), an exec'd image or a
 * spawned child (those without FD_CLOEXEC). */

/* Makes fd fit to be seen by another process; see the top of the file. */
static void share_fd(int fd, struct weft__fd *f, void *arg)
{
	const struct weft__real *libc = weft__libc();
	enum share why = *(enum share *)arg;
	unsigned flags = weft__fd_flags(f);

	if (!(flags & (WEFT__FD_KERN_NB | WEFT__FD_OURS)))
		return;
	if (why != SHARE_ALL) {
		int fdfl = libc->fcntl(fd, F_GETFD);
		if (fdfl < 0 || (fdfl & FD_CLOEXEC))
			return;
	}
	if (flags & WEFT__FD_KERN_NB) {
		int fl = libc->fcntl(fd, F_GETFL);
		if (!(flags & WEFT__FD_NB) && fl >= 0 && (fl & O_NONBLOCK))
			libc->fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		weft__fd_set(f, WEFT__FD_KERN_NB, false);
		if (weft__config.debug) {
			char msg[128] = "fd ";
			weft__cat_u64(msg, sizeof msg, (uint64_t)fd);
			weft__cat(msg, sizeof msg, ": the O_NONBLOCK weft set is"
				  " cleared; another process will share it");
			weft__debug_say(msg);
		}
	}
	/* After an exec the table is gone, and a failed exec shares
	 * nothing: the file stays ours. */
	if (why != SHARE_EXEC)
		weft__fd_set(f, WEFT__FD_OURS, false);
}

/* The layout of the records getdents64 returns. */
/* Gets the fds ready for another process to see them.  errno is kept. */
void weft__share_fds(enum share why)
{
	int saved = errno;

	weft__fd_each(share_fd, &why);
	errno = saved;
}

/* ---- the signal mask a child starts with ---- */

/* A green thread's signal mask is bookkeeping (hook/pthread.c): the OS
 * thread's mask is shared by all its coroutines.  A child made by a
 * green thread starts with that thread's mask, as the child of a real
 * thread does, so the OS thread takes it on for the length of the call
 * (in the fork child, for good: the child has no other thread). */

/* The calling green thread's own mask into *mine; false outside green
 * threads, where the OS thread's mask is the caller's. */
static bool green_mask(sigset_t *mine)
{
	struct weft__co *co = weft__running;

	return weft__green_on() && co != NULL && co->slot != NULL &&
	       weft__pthread_sigmask(SIG_BLOCK, NULL, mine) == 0;
}

/* Gives the OS thread the calling green thread's mask, saving its own. */
void weft__mask_for_child(struct mask *m)
{
	sigset_t mine;

	m->set = green_mask(&mine) &&
		 weft__libc()->pthread_sigmask(SIG_SETMASK, &mine,
					       &m->saved) == 0;
}

/* Puts back what mask_for_child changed.  errno is kept. */
void weft__mask_back(struct mask *m)
{
	if (m->set) {
		int saved = errno;
		weft__libc()->pthread_sigmask(SIG_SETMASK, &m->saved, NULL);
		errno = saved;
	}
}

/* ---- the environment of a child ---- */

/* An environment made for a child, to be given back with env_done. */

static bool is_ld_preload(const char *entry)
{
	return strncmp(entry, "LD_PRELOAD=", 11) == 0;
}

/* Whether entry is an LD_PRELOAD that WEFT_INHERIT=0 must change. */
static bool must_strip(const char *entry)
{
	return is_ld_preload(entry) && weft__preload_has_weft(entry + 11);
}

/* Writes entry's LD_PRELOAD without weft's library at out, NUL-ended;
 * returns false if nothing is left, so the variable is dropped. */
static bool strip_into(char *out, const char *entry)
{
	const char *p = entry + 11;
	bool any = false;

	memcpy(out, "LD_PRELOAD=", 11);
	out += 11;
	while (*p) {
		size_t n = strcspn(p, " :");
		if (n && !weft__preload_elem_is_weft(p, n)) {
			if (any)
				*out++ = ':';
			memcpy(out, p, n);
			out += n;
			any = true;
		}
		p += n;
		p += *p != '\0';
	}
	*out = '\0';
	return any;
}

/* Sets e->envp to what a child started with envp must get: envp itself,
 * or under WEFT_INHERIT=0 a copy without weft in LD_PRELOAD.  Returns
 * false, with errno ENOMEM, if the copy cannot be made. */
bool weft__env_for_child(struct env *e, char *const *envp)
{
	size_t n = 0, bytes = 0;

	*e = (struct env){ .envp = envp };
	if (weft__config.inherit || envp == NULL)
		return true;
	for (; envp[n]; n++)
		if (must_strip(envp[n]))
			bytes += strlen(envp[n]) + 1;
	if (bytes == 0)
		return true;
	e->len = (n + 1) * sizeof(char *) + bytes;
	e->map = mmap(NULL, e->len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->map == MAP_FAILED) {
		e->map = NULL;
		errno = ENOMEM;
		return false;
	}
	char **out = e->map;
	char *text = (char *)(out + n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!must_strip(envp[i])) {
			out[k++] = envp[i];
		} else if (strip_into(text, envp[i])) {
			out[k++] = text;
			text += strlen(text) + 1;
		}
	}
	out[k] = NULL;
	e->envp = out;
	weft__debug_say("WEFT_INHERIT=0: the child's LD_PRELOAD lacks weft");
	return true;
}

/* Releases what env_for_child made.  errno is kept. */
void weft__env_done(struct env *e)
{
	if (e->map) {
		int saved = errno;
		munmap(e->map, e->len);
		errno = saved;
	}
}

/* ---- fork and vfork ---- */

/* fork that leaves the child with only the calling coroutine: the fds
 * are made fit to share first (see the top of the file), and in the
 * child the calling coroutine becomes the root of a fresh scheduler.
 * Returns what fork returns, with its errno. */
pid_t weft__fork(void)
{
	const struct weft__real *libc = weft__libc();
	struct mask m = { .set = false };

	if (!weft__off) {
		weft__share_fds(SHARE_ALL);
		weft__mask_for_child(&m);
	}
	pid_t pid = libc->fork();
	if (pid == 0) {
		/* Even under WEFT_OFF: a linked program's own coroutines
		 * must not live on in the child. */
		weft__sched_forget();
		weft__stats_forked();
		return 0;
	}
	weft__mask_back(&m);
	return pid;
}

WEFT_EXPORT pid_t fork(void)
{
	return weft__fork();
}

/* vfork is fork: see the top of the file. */
WEFT_EXPORT pid_t vfork(void)
{
	return weft__fork();
}

/* ---- posix_spawn ---- */

/* posix_spawn (search: posix_spawnp) with the fds made fit to share and
 * the child's environment as WEFT_INHERIT says.  Returns what it returns:
 * 0 or an error number. */
static int spawn(bool search, pid_t *pid, const char *path,
		 const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[],
		 char *const envp[])
{
	const struct weft__real *libc = weft__libc();
	int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
		    const posix_spawnattr_t *, char *const[], char *const[]) =
		search ? libc->posix_spawnp : libc->posix_spawn;
	struct env e;

	if (weft__off)
		return real(pid, path, fa, attr, argv, envp);
	weft__share_fds(fa ? SHARE_ALL : SHARE_SPAWN);
	if (!weft__env_for_child(&e, envp))
		return ENOMEM;
	struct mask m;
	weft__mask_for_child(&m);
	int r = real(pid, path, fa, attr, argv, e.envp);
	weft__mask_back(&m);
	weft__env_done(&e);
	return r;
}

/* posix_spawn for a child that sees the program's own file flags. */
int weft__posix_spawn(pid_t *pid, const char *path,
		      const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *attr, char *const argv[],
		      char *const envp[])
{
	return spawn(false, pid, path, fa, attr, argv, envp);
}

/* posix_spawnp for a child that sees the program's own file flags. */
int weft__posix_spawnp(pid_t *pid, const char *file,
		       const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[],
		       char *const envp[])
{
	return spawn(true, pid, file, fa, attr, argv, envp);
}

WEFT_EXPORT int posix_spawn(pid_t *pid, const char *path,
			    const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, char *const argv[],
			    char *const envp[])
{
	return weft__posix_spawn(pid, path, fa, attr, argv, envp);
}

WEFT_EXPORT int posix_spawnp(pid_t *pid, const char *file,
			     const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[],
			     char *const envp[])
{
	return weft__posix_spawnp(pid, file, fa, attr, argv, envp);
}

/* ---- system ---- */

/* SIGINT and SIGQUIT are ignored while any system() runs in the process:
 * the first call sets that, the last one puts back what was there, as
 * glibc does between threads.  The lock is only held around sigaction. */
static atomic_flag sys_lock = ATOMIC_FLAG_INIT;
static unsigned sys_calls;
static struct sigaction sys_intr, sys_quit;

/* SIGCHLD is blocked while a system() call of this thread waits, so that
 * a handler reaping any child cannot take the shell's status.  Coroutines
 * share their thread's mask: the first call blocks it, the last unblocks
 * it (unless the program had it blocked), whatever order they end in. */
static __thread unsigned chld_calls;
static __thread sigset_t chld_before;

static void sys_lock_take(void)
{
	while (atomic_flag_test_and_set_explicit(&sys_lock,
						 memory_order_acquire))
		;
}

static void sys_lock_give(void)
{
	atomic_flag_clear_explicit(&sys_lock, memory_order_release);
}

/* glibc passes "--" before the command from 2.38 on ("sh -c -- line"). */
static bool shell_wants_dashes(void)
{
	static int wants = -1;

	if (wants < 0) {
		const char *v = gnu_get_libc_version();
		char *end;
		long major = strtol(v, &end, 10);
		long minor = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
		wants = major > 2 || (major == 2 && minor >= 38);
	}
	return wants;
}

/* Runs line with /bin/sh as glibc's system() does, waiting for it with
 * weft's waitpid.  Returns the shell's wait status; -1 if no child could
 * be made (errno EAGAIN or ENOMEM) or the wait failed; the status of
 * _exit(127) if the shell could not be run (errno set). */
static int shell(const char *line)
{
	struct sigaction ign;
	sigset_t chld, reset;
	posix_spawnattr_t attr;
	pid_t pid;
	int status = -1;

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sys_lock_take();
	if (sys_calls++ == 0) {
		sigaction(SIGINT, &ign, &sys_intr);
		sigaction(SIGQUIT, &ign, &sys_quit);
	}
	sys_lock_give();
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (chld_calls++ == 0)
		sigprocmask(SIG_BLOCK, &chld, &chld_before);

	/* The shell starts with the program's mask and the default action
	 * for the signals system() ignores, unless they were ignored. */
	sigemptyset(&reset);
	if (sys_intr.sa_handler != SIG_IGN)
		sigaddset(&reset, SIGINT);
	if (sys_quit.sa_handler != SIG_IGN)
		sigaddset(&reset, SIGQUIT);
	sigset_t child_mask;
	if (!green_mask(&child_mask))
		child_mask = chld_before;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &child_mask);
	posix_spawnattr_setsigdefault(&attr, &reset);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
					POSIX_SPAWN_SETSIGMASK);
	char *argv[] = { "sh", "-c", "--", (char *)line, NULL };
	if (!shell_wants_dashes())
		argv[2] = (char *)line, argv[3] = NULL;
	int r = weft__posix_spawn(&pid, "/bin/sh", NULL, &attr, argv,
				  environ);
	posix_spawnattr_destroy(&attr);

	if (r == 0) {
		pid_t got;
		while ((got = weft__waitpid(pid, &status, 0)) < 0 &&
		       errno == EINTR)
			;
		if (got != pid)
			status = -1;
	} else if (r == EAGAIN || r == ENOMEM) {
		status = -1; /* POSIX: no child could be made */
	} else {
		status = W_EXITCODE(127, 0); /* as if the shell said 127 */
	}

	sys_lock_take();
	if (--sys_calls == 0) {
		sigaction(SIGINT, &sys_intr, NULL);
		sigaction(SIGQUIT, &sys_quit, NULL);
	}
	sys_lock_give();
	if (--chld_calls == 0 && !sigismember(&chld_before, SIGCHLD))
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
	if (r != 0)
		errno = r;
	return status;
}

/* system() whose wait parks the calling coroutine; same status, errno
 * and signal handling as glibc's.  line NULL asks whether a shell can be
 * run (non-zero if so). */
int weft__system(const char *line)
{
	const struct weft__real *libc = weft__libc();
	struct weft__co *co = weft__hooked();

	if (weft__off)
		return libc->system(line);
	bool strip = !weft__config.inherit &&
		     weft__preload_has_weft(getenv("LD_PRELOAD"));
	if (!strip && (co == NULL || weft__alone(co))) {
		struct mask m;
		weft__share_fds(SHARE_SPAWN);
		weft__mask_for_child(&m);
		int r = libc->system(line);
		weft__mask_back(&m);
		return r;
	}
	if (line == NULL)
		return shell("exit 0") == 0;
	return shell(line);
}

WEFT_EXPORT int system(const char *line)
{
	return weft__system(line);
}
