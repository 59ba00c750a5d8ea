/* popen.c - popen and pclose.
 *
 * glibc's popen starts its shell with its own internal posix_spawn, and
 * its pclose (fclose, too) closes the pipe and then waits for the shell
 * with an internal waitpid, both out of weft's reach.  The wrapper keeps
 * glibc's popen, with the fds made fit to share and the green thread's
 * signal mask for the child (process.c), and notes each stream's child.
 * A pclose that would wait then does what glibc's does first, but where
 * weft can see it: it flushes a writing stream and puts /dev/null in the
 * place of the pipe's fd, which closes the pipe, so the child sees EOF or
 * EPIPE as it would; it parks until the child has exited, looking
 * without reaping (WNOWAIT); and it lets glibc's pclose finish, whose
 * wait now returns at once.  Status, errors (-1 and ECHILD when the child
 * was reaped elsewhere) and the stream's end are glibc's own.  A stream
 * whose flush fails is closed by glibc's pclose on the pool, so that the
 * failure and the status come out as glibc gives them.
 *
 * The child's pid is read from glibc's popen stream (struct
 * _IO_proc_file: the FILE, its jump table, then the pid), and kept only
 * if it names a child of this process; if it does not, pclose is glibc's
 * and blocks its thread, as before.  WEFT_INHERIT=0 does not reach
 * popen's children: glibc hands them the environment as it is.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "child.h"
#include "offload.h"
#include "real.h"

/* waitid that parks (hook/waitpid.c). */
int weft__waitid(idtype_t idtype, id_t id, siginfo_t *info, int options);

/* The start of glibc's popen stream (libio/iopopen.c). */
struct proc_file {
	FILE file;
	const void *vtable;
	pid_t pid;
};

/* A stream popen made, and its child. */
struct stream {
	FILE *fp;
	pid_t pid;
	bool writes;
	struct stream *next;
};

static atomic_flag streams_lock = ATOMIC_FLAG_INIT;
static struct stream *streams;

static void streams_take(void)
{
	while (atomic_flag_test_and_set_explicit(&streams_lock,
						 memory_order_acquire))
		;
}

static void streams_give(void)
{
	atomic_flag_clear_explicit(&streams_lock, memory_order_release);
}

/* Notes fp's child, if the pid glibc keeps in it is a child of ours. */
static void note(FILE *fp, bool writes)
{
	pid_t pid = ((struct proc_file *)fp)->pid;
	siginfo_t si;
	int saved = errno;

	if (pid <= 0 || weft__libc()->waitid(P_PID, (id_t)pid, &si,
					     WEXITED | WNOHANG | WNOWAIT) != 0)
		goto out;
	struct stream *s = malloc(sizeof *s);
	if (s == NULL)
		goto out;
	*s = (struct stream){ .fp = fp, .pid = pid, .writes = writes };
	streams_take();
	s->next = streams;
	streams = s;
	streams_give();
out:
	errno = saved;
}

/* Forgets fp; returns what note kept of it (fp NULL: not noted). */
static struct stream forget(FILE *fp)
{
	struct stream found = { .fp = NULL };

	streams_take();
	for (struct stream **p = &streams; *p; p = &(*p)->next) {
		if ((*p)->fp == fp) {
			struct stream *s = *p;
			*p = s->next;
			found = *s;
			streams_give();
			free(s);
			return found;
		}
	}
	streams_give();
	return found;
}

/* popen as glibc's, its child noted for pclose.  Returns glibc's stream,
 * or NULL with its errno. */
FILE *weft__popen(const char *cmd, const char *mode)
{
	const struct weft__real *libc = weft__libc();

	if (weft__off)
		return libc->popen(cmd, mode);
	struct mask m;
	weft__share_fds(SHARE_SPAWN);
	weft__mask_for_child(&m);
	FILE *fp = libc->popen(cmd, mode);
	weft__mask_back(&m);
	if (fp != NULL)
		note(fp, mode[0] == 'w');
	return fp;
}

/* glibc's pclose, for the pool. */
struct job {
	FILE *fp;
	int r, err;
};

static void run(void *p)
{
	struct job *j = p;

	errno = j->err;
	j->r = weft__libc()->pclose(j->fp);
	j->err = errno;
}

/* Closes s's pipe as glibc's pclose would, keeping the stream's fd
 * number taken by /dev/null.  Returns false if the stream cannot be
 * flushed or /dev/null cannot be had. */
static bool close_pipe(struct stream *s)
{
	if (s->writes && fflush(s->fp) != 0)
		return false;
	int null = weft__libc()->openat(AT_FDCWD, "/dev/null",
					 O_RDWR | O_CLOEXEC, 0);
	if (null < 0)
		return false;
	int r = dup3(null, fileno(s->fp), O_CLOEXEC);
	weft__libc()->close(null);
	return r >= 0;
}

/* pclose whose wait for the child parks the calling coroutine.  Returns
 * the child's wait status, or -1 with glibc's errno. */
int weft__pclose(FILE *fp)
{
	const struct weft__real *libc = weft__libc();
	struct weft__co *co = weft__hooked();
	struct stream s = forget(fp);
	int saved = errno;

	if (s.fp == NULL || co == NULL || weft__alone(co))
		return libc->pclose(fp);
	if (!close_pipe(&s)) {
		struct job j = { .fp = fp, .err = saved };
		if (weft__offload(run, &j) < 0)
			run(&j);
		errno = j.err;
		return j.r;
	}
	siginfo_t si;
	while (weft__waitid(P_PID, (id_t)s.pid, &si, WEXITED | WNOWAIT) < 0 &&
	       errno == EINTR)
		;
	errno = saved;
	return libc->pclose(fp);
}

WEFT_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	return weft__popen(cmd, mode);
}

WEFT_EXPORT int pclose(FILE *fp)
{
	return weft__pclose(fp);
}
