/* exec.c - the exec family: weft's fds are made fit to share, the
 * green thread's signal mask goes with it, and LD_PRELOAD keeps or loses
 * weft as WEFT_INHERIT says (child.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"
#include "child.h"
#include "preload.h"
#include "hooks.h"
#include "real.h"

#define ARGV_ON_STACK 256 /* the execl family's arguments, at most */

/* ---- the exec family ---- */

/* execve with the surviving fds showing the program's own flags and the
 * environment as WEFT_INHERIT says.  Returns only on failure: -1 with
 * execve's errno (ENOMEM if the environment could not be copied). */
int weft__execve(const char *path, char *const argv[], char *const envp[])
{
	const struct weft__real *libc = weft__libc();
	struct env e;

	if (weft__off)
		return libc->execve(path, argv, envp);
	weft__share_fds(SHARE_EXEC);
	if (!weft__env_for_child(&e, envp))
		return -1;
	struct mask m;
	weft__mask_for_child(&m);
	int r = libc->execve(path, argv, e.envp);
	weft__mask_back(&m);
	weft__env_done(&e);
	return r;
}

/* execvpe (PATH search) as weft__execve. */
int weft__execvpe(const char *file, char *const argv[], char *const envp[])
{
	const struct weft__real *libc = weft__libc();
	struct env e;

	if (weft__off)
		return libc->execvpe(file, argv, envp);
	weft__share_fds(SHARE_EXEC);
	if (!weft__env_for_child(&e, envp))
		return -1;
	struct mask m;
	weft__mask_for_child(&m);
	int r = libc->execvpe(file, argv, e.envp);
	weft__mask_back(&m);
	weft__env_done(&e);
	return r;
}

/* execvp as weft__execve: libc's own when the environment stays. */
int weft__execvp(const char *file, char *const argv[])
{
	const struct weft__real *libc = weft__libc();

	if (weft__off)
		return libc->execvp(file, argv);
	if (weft__config.inherit) {
		struct mask m;
		weft__share_fds(SHARE_EXEC);
		weft__mask_for_child(&m);
		int r = libc->execvp(file, argv);
		weft__mask_back(&m);
		return r;
	}
	return weft__execvpe(file, argv, environ);
}

/* fexecve as weft__execve. */
int weft__fexecve(int fd, char *const argv[], char *const envp[])
{
	const struct weft__real *libc = weft__libc();
	struct env e;

	if (weft__off)
		return libc->fexecve(fd, argv, envp);
	weft__share_fds(SHARE_EXEC);
	if (!weft__env_for_child(&e, envp))
		return -1;
	struct mask m;
	weft__mask_for_child(&m);
	int r = libc->fexecve(fd, argv, e.envp);
	weft__mask_back(&m);
	weft__env_done(&e);
	return r;
}

enum list { EXECL, EXECLP, EXECLE };

/* The execl family: gathers the arguments after arg up to the NULL (and,
 * for execle, the environment after it) into an array, then goes the
 * execve or execvp way.  As glibc: E2BIG past INT_MAX arguments; the
 * array is on the stack while it is small, else in a fresh mapping
 * (ENOMEM if there is none), never on the heap. */
static int exec_list(enum list kind, const char *path, const char *arg,
		     va_list ap)
{
	char *small[ARGV_ON_STACK];
	char **argv = small;
	size_t argc = 1, len = 0;
	va_list count;

	va_copy(count, ap);
	while (va_arg(count, const char *) != NULL) {
		if (argc == INT_MAX) {
			va_end(count);
			errno = E2BIG;
			return -1;
		}
		argc++;
	}
	va_end(count);
	if (argc + 1 > ARGV_ON_STACK) {
		len = (argc + 1) * sizeof *argv;
		argv = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (argv == MAP_FAILED) {
			errno = ENOMEM;
			return -1;
		}
	}
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= argc; i++) /* the last one is the NULL */
		argv[i] = va_arg(ap, char *);
	char *const *envp = kind == EXECLE ? va_arg(ap, char *const *)
					   : environ;
	int r = kind == EXECLP ? weft__execvp(path, argv)
			       : weft__execve(path, argv, envp);
	if (argv != small) {
		int saved = errno;
		munmap(argv, len);
		errno = saved;
	}
	return r;
}

WEFT_EXPORT int execve(const char *path, char *const argv[],
		       char *const envp[])
{
	return weft__execve(path, argv, envp);
}

WEFT_EXPORT int execv(const char *path, char *const argv[])
{
	return weft__execve(path, argv, environ);
}

WEFT_EXPORT int execvp(const char *file, char *const argv[])
{
	return weft__execvp(file, argv);
}

WEFT_EXPORT int execvpe(const char *file, char *const argv[],
			char *const envp[])
{
	return weft__execvpe(file, argv, envp);
}

WEFT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	return weft__fexecve(fd, argv, envp);
}

WEFT_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	int r = exec_list(EXECL, path, arg, ap);
	va_end(ap);
	return r;
}

WEFT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	int r = exec_list(EXECLP, file, arg, ap);
	va_end(ap);
	return r;
}

WEFT_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;

	va_start(ap, arg);
	int r = exec_list(EXECLE, path, arg, ap);
	va_end(ap);
	return r;
}
