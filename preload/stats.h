/* stats.h - the WEFT_STATS report and the coroutine dump.
 *
 * core/ does the counting (core/stats.c) and keeps the list of live
 * coroutines (weft__each_co); this is the output side.
 */
#ifndef WEFT_STATS_H
#define WEFT_STATS_H

/* Turns counting on (weft__stats_on) and arranges for the statistics to
 * be written to stderr, in one write, when the process exits. */
void weft__stats_start(void);

/* Makes signal sig (0: none) write a dump of the coroutines to stderr.
 * Returns 0, or -1 with errno from sigaction (EINVAL for a signal that
 * cannot be caught). */
int weft__dump_on_signal(int sig);

#endif
