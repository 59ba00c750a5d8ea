/* cputime.c - CPU time per coroutine, counted at switches once asked.
 *
 * The kernel counts CPU time per OS thread, and every coroutine of a
 * scheduler runs on one.  So that each green thread has a CPU clock of its
 * own, a switch adds the time since the outgoing coroutine was switched in
 * to its total.  That costs a clock read per switch, so it is done only
 * once the program has asked for a thread's CPU time (weft__cpu_start,
 * from hook/clock.c); until then weft__cpu_on is false and a switch only
 * tests it.  What a coroutine used before is not known: its CPU time is
 * taken as 0 when accounting begins, plus what it uses from then on.  (A
 * coroutine running on another OS thread at that moment is seen to use
 * time from its next switch in.)
 *
 * What is counted is the time a coroutine held its OS thread: that
 * includes time the OS thread spent blocked in a call weft could not park
 * (a read of a regular file, a raw system call) or preempted by the
 * kernel, during which a native thread's CPU clock would stand still.
 *
 * The clock: on x86-64, where the kernel's own clock source is the TSC
 * (so the kernel has found it invariant and synchronised between CPUs),
 * rdtsc, turned into nanoseconds at a rate measured against
 * CLOCK_MONOTONIC when accounting begins; elsewhere CLOCK_MONOTONIC
 * itself, through the vDSO.
 *
 * Only the OS thread running a coroutine writes its counts; any thread
 * may read them.  cpu_seq, odd while a switch updates them, lets a reader
 * on another thread take a consistent pair.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "core.h"
#include "sched.h"
#include "waitq.h"

/* How long the TSC's rate is measured: its error is about 20 ns in this,
 * 1e-4. */
#define CALIBRATE_NS 200000

bool weft__cpu_on;
static uint64_t epoch;       /* ticks when accounting began */
static bool tsc;             /* ticks are the TSC's, else nanoseconds */
static uint64_t ns_per_tick; /* when tsc: 32.32 fixed point */
static int start_lock;

static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
	if (weft__likely(tsc))
		return __rdtsc();
#endif
	return (uint64_t)weft__now();
}

static uint64_t to_ns(uint64_t t)
{
	return tsc ? (uint64_t)(((unsigned __int128)t * ns_per_tick) >> 32) : t;
}

#if defined(__x86_64__)
/* Whether the kernel keeps time with the TSC (its clock source). */
static bool kernel_uses_tsc(void)
{
	char buf[16] = "";
	int fd = (int)syscall(SYS_openat, AT_FDCWD,
			      "/sys/devices/system/clocksource/clocksource0/"
			      "current_clocksource", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
	syscall(SYS_close, fd);
	return n >= 3 && memcmp(buf, "tsc", 3) == 0 &&
	       (n == 3 || buf[3] == '\n');
}

/* Measures the TSC's rate against CLOCK_MONOTONIC; false if it does not
 * advance. */
static bool calibrate(void)
{
	uint64_t t0 = __rdtsc(), t1;
	int64_t m0 = weft__now(), m1;

	do {
		t1 = __rdtsc();
		m1 = weft__now();
	} while (m1 - m0 < CALIBRATE_NS);
	if (t1 <= t0)
		return false;
	ns_per_tick = ((uint64_t)(m1 - m0) << 32) / (t1 - t0);
	return ns_per_tick != 0;
}
#endif

/* In a fork child: its one thread's CPU time starts again from 0, as the
 * kernel's does. */
static void forked(void)
{
	struct weft__co *co = weft__current();

	epoch = ticks();
	if (co != NULL) {
		co->cpu_total = 0;
		co->cpu_since = 0;
		co->cpu_seq = 0;
	}
}

/* See core.h. */
void weft__cpu_start(void)
{
	if (weft__likely(__atomic_load_n(&weft__cpu_on, __ATOMIC_ACQUIRE)))
		return;
	int saved = errno;
	weft__spin_lock(&start_lock);
	if (!weft__cpu_on) {
#if defined(__x86_64__)
		tsc = kernel_uses_tsc() && calibrate();
#endif
		epoch = ticks();
		pthread_atfork(NULL, NULL, forked);
		__atomic_store_n(&weft__cpu_on, true, __ATOMIC_RELEASE);
	}
	weft__spin_unlock(&start_lock);
	errno = saved;
}

/* See core.h.  A coroutine with no start noted has run since accounting
 * began. */
void weft__cpu_switch(struct weft__co *from, struct weft__co *to)
{
	uint64_t now = ticks();
	uint64_t since = from->cpu_since ? from->cpu_since : epoch;
	unsigned seq = from->cpu_seq;

	/* A reader that sees either count new sees the odd sequence too
	 * (release, without fences, which ThreadSanitizer cannot follow). */
	__atomic_store_n(&from->cpu_seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&from->cpu_total,
			 from->cpu_total + (now > since ? now - since : 0),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&from->cpu_since, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&from->cpu_seq, seq + 2, __ATOMIC_RELEASE);
	/* Its total does not change, so no sequence is needed. */
	__atomic_store_n(&to->cpu_since, now, __ATOMIC_RELAXED);
}

/* See core.h.  A reader that interrupted the update on its own thread (a
 * signal handler) would wait for ever: it takes what it read after a
 * while. */
uint64_t weft__cpu_ns(struct weft__co *co)
{
	uint64_t total, since;
	unsigned seq, tries = 0;

	for (;;) {
		seq = __atomic_load_n(&co->cpu_seq, __ATOMIC_ACQUIRE);
		total = __atomic_load_n(&co->cpu_total, __ATOMIC_ACQUIRE);
		since = __atomic_load_n(&co->cpu_since, __ATOMIC_ACQUIRE);
		if ((!(seq & 1) && seq == __atomic_load_n(&co->cpu_seq,
							   __ATOMIC_RELAXED)) ||
		    ++tries == 1000)
			break;
		cpu_relax();
	}
	if (since == 0 && co == weft__running)
		since = epoch; /* running since before accounting began */
	if (since != 0) {
		uint64_t now = ticks();
		total += now > since ? now - since : 0;
	}
	return to_ns(total);
}
