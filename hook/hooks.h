/* hooks.h - wrapper logic one call family needs from another. */
#ifndef WEFT_HOOKS_H
#define WEFT_HOOKS_H

#include <sys/types.h>

/* fcntl's F_SETLKW and F_OFD_SETLKW (lock is a struct flock *): waits for
 * the lock without holding up other coroutines (flock.c).  Returns what
 * fcntl returns, with the same errno. */
int weft__fcntl_lock(int fd, int cmd, void *lock);

/* waitpid that parks instead of blocking (waitpid.c); same results and
 * errno as waitpid. */
pid_t weft__waitpid(pid_t pid, int *status, int options);

#endif
