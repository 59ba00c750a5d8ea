/* real.h - the real libc functions behind weft's wrappers.
 *
 * Each line of WEFT_REAL_SYMBOLS (symbols.h) names one function: its return
 * type, its name, its parameter list, and how weft treats it:
 *   WRAP  weft exports a wrapper of that name (the export map is made from
 *         this list by the Makefile), and needs the real one;
 *   NEED  weft only calls the real one, which must exist;
 *   MAY   weft calls it if this libc has it (NULL otherwise).
 * weft__real.NAME is the real function, found once with dlsym(RTLD_NEXT).
 * A WRAP or NEED symbol that cannot be found is fatal at start-up.
 */
#ifndef WEFT_REAL_H
#define WEFT_REAL_H

#include <dirent.h>
#include <mqueue.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <spawn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "symbols.h"

#define WEFT_REAL_FIELD(ret, name, params, how) ret(*name) params;
struct weft__real {
	WEFT_REAL_SYMBOLS(WEFT_REAL_FIELD)
};
#undef WEFT_REAL_FIELD

/* The real functions.  Filled by weft__real_init, which runs as a
 * constructor and again on demand if a wrapper is called earlier. */
extern struct weft__real weft__real;

/* Finds every real function; idempotent and cheap after the first call.
 * A missing required symbol, or dlsym handing back weft's own wrapper,
 * ends the process with one line on stderr (exit status 127). */
void weft__real_init(void);

/* weft__real, made ready: wrappers call real functions through this. */
static inline const struct weft__real *weft__libc(void)
{
	if (__builtin_expect(weft__real.read == NULL, 0))
		weft__real_init();
	return &weft__real;
}

/* Marks a wrapper as one of the libc names the library exports. */
#define WEFT_EXPORT __attribute__((visibility("default")))

#endif
