/* child.h - what a new process needs made ready, shared by process.c
 * (fork, posix_spawn, system) and exec.c (the exec family). */
#ifndef WEFT_CHILD_H
#define WEFT_CHILD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

enum share { SHARE_ALL, SHARE_SPAWN, SHARE_EXEC };

struct mask {
	bool set;
	sigset_t saved;
};

struct env {
	char *const *envp; /* what the child gets */
	void *map;         /* the copy's memory, or NULL */
	size_t len;
};

/* Takes weft's O_NONBLOCK off every fd another process is about to share
 * for the reason why (process.c). */
void weft__share_fds(enum share why);

/* Gives the calling OS thread, for the child to inherit, the signal mask
 * of the calling green thread, keeping the thread's own in m; undone by
 * weft__mask_back (process.c). */
void weft__mask_for_child(struct mask *m);
void weft__mask_back(struct mask *m);

/* The environment a child gets from envp: without weft in LD_PRELOAD when
 * WEFT_INHERIT=0.  Returns false with errno ENOMEM; release with
 * weft__env_done, which keeps errno (process.c). */
bool weft__env_for_child(struct env *e, char *const *envp);
void weft__env_done(struct env *e);

#endif
