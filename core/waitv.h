/* waitv.h - parking on a futex word that any process may wake.
 *
 * A process-shared lock or semaphore is woken by a FUTEX_WAKE on its
 * word, made by whichever thread of whichever process releases it; only
 * a thread asleep in the kernel on that word hears it.  Here a few
 * threads of weft's own sleep in futex_waitv (Linux 5.16), each on the
 * words of many parked coroutines at once, and wake a coroutine when its
 * word is woken or changes.  See waitv.c for the costs that set how many
 * words a thread takes.
 */
#ifndef WEFT_WAITV_H
#define WEFT_WAITV_H

#include <stdbool.h>
#include <stdint.h>

/* Parks the calling coroutine while *word holds val: until a FUTEX_WAKE
 * on word from any thread of any process, a change of *word, or deadline
 * (monotonic ns, weft__now's clock; negative: none).  shared: word's
 * futex calls are shared ones (a process-shared object's); else private
 * (FUTEX_PRIVATE_FLAG).  Other coroutines run meanwhile.  Outside a
 * coroutine the calling thread waits itself; where futex_waitv is missing
 * (Linux before 5.16, valgrind), or no thread can be started, the wait
 * gets a thread of its own (weft__offload_wait) or, failing that, blocks
 * the caller's thread.  Returns 0 (woken, word changed, or spuriously,
 * as futex waits may end: callers look at their word again) or
 * ETIMEDOUT once deadline has passed.  errno is kept. */
int weft__waitv(const uint32_t *word, uint32_t val, bool shared,
		int64_t deadline);

/* As weft__waitv, at a cancellation point (cancel.h): a signal sent to
 * the caller, or a cancel that is or comes due, ends the park, the
 * waiter taken off its watcher.  Returns as weft__waitv, or EINTR (the
 * caller runs the handlers) or ECANCELED (the caller releases what it
 * holds and acts on the cancel).  Where no watcher serves (see
 * weft__waitv), neither ends the wait. */
int weft__waitv_point(const uint32_t *word, uint32_t val, bool shared,
		      int64_t deadline);

#endif
