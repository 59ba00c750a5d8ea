/* preload.h - what the process-level parts of weft share: the
 * configuration read at start (entry.c) and the process calls
 * (process.c). */
#ifndef WEFT_PRELOAD_H
#define WEFT_PRELOAD_H

#include <stdbool.h>
#include <stddef.h>

/* ---- configuration (entry.c) ---- */

/* The configuration, read once from the environment at start.  weft__off
 * (core.h) is set there too. */
struct weft__config {
	bool preloaded;   /* LD_PRELOAD names libweft */
	bool green;       /* WEFT_THREADS: pthreads are coroutines */
	bool stats;       /* WEFT_STATS=1 */
	bool debug;       /* WEFT_DEBUG=1 */
	bool inherit;     /* WEFT_INHERIT: children get LD_PRELOAD too */
	int dump_signal;  /* WEFT_DUMP_SIGNAL, or 0 for none */
	unsigned cpus;    /* WEFT_CPUS: the pool's schedulers */
};

extern struct weft__config weft__config;

/* Reads every WEFT_* variable and acts on it: sets weft__off, tells the
 * green-thread layer its mode, turns statistics on, installs the dump
 * signal's handler.  A value it cannot understand gets one line on stderr
 * and the default.  Runs as a constructor; tests call it again after
 * changing the environment. */
void weft__config_read(void);

/* Writes "weft: <msg>" on stderr if WEFT_DEBUG=1; never on stdout. */
void weft__debug_say(const char *msg);

/* True if the LD_PRELOAD element elem (len bytes, not NUL-terminated)
 * names weft's library: its file name starts with "libweft". */
bool weft__preload_elem_is_weft(const char *elem, size_t len);

/* True if the LD_PRELOAD value names weft's library. */
bool weft__preload_has_weft(const char *value);

/* ---- statistics (stats.c) ---- */

/* In a fork child: the exit report goes to the child's own stderr. */
void weft__stats_forked(void);

#endif
