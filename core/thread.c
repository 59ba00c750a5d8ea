/* thread.c - real OS threads, each with a scheduler of its own. */
#include <pthread.h>
#include <stdlib.h>

#include "core.h"
#include "sched.h"

struct start {
	void (*fn)(void *);
	void *arg;
};

/* The new thread: its flow becomes the root coroutine of a fresh
 * scheduler, and it ends when fn and every coroutine it started have. */
static void *thread_main(void *p)
{
	struct start start = *(struct start *)p;

	free(p);
	struct weft__co *root = weft__self();
	start.fn(start.arg);
	weft__root_exit(root);
	return NULL;
}

/* See weft.h. */
int weft_thread(pthread_t *tid, void (*fn)(void *), void *arg)
{
	struct start *start = malloc(sizeof *start);

	if (start == NULL) {
		errno = EAGAIN;
		return -1;
	}
	*start = (struct start){ fn, arg };
	/* Hidden from weft's own pthread_create wrapper: this one must make
	 * a real thread. */
	struct weft__co *saved = weft__running;
	weft__running = NULL;
	weft__inside = true;
	int r = pthread_create(tid, NULL, thread_main, start);
	weft__inside = false;
	weft__running = saved;
	if (r) {
		free(start);
		errno = EAGAIN;
		return -1;
	}
	return 0;
}
