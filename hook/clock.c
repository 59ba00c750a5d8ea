/* clock.c - green threads' CPU-time clocks: CLOCK_THREAD_CPUTIME_ID,
 * pthread_getcpuclockid and getrusage(RUSAGE_THREAD).
 *
 * The kernel's thread CPU clocks measure OS threads, which green threads
 * share; core/cputime.c counts each coroutine's own time at switches from
 * the first time a green-threads program asks for a green thread's CPU
 * time (one of the calls here); a green thread's CPU time is taken as 0
 * then, plus what it uses after.  Here the calls read it:
 *   - clock_gettime(CLOCK_THREAD_CPUTIME_ID) in a green thread: its own;
 *   - pthread_getcpuclockid(green): a clock id made as the kernel makes a
 *     thread's, (~tid << 3) | 6, from a number above PID_MAX_LIMIT that no
 *     kernel thread can have, given to the thread for its life.
 *     clock_gettime and clock_getres read it while the thread lives, and
 *     answer EINVAL once it has ended, as the kernel does for a thread
 *     that is gone;
 *   - getrusage(RUSAGE_THREAD) in a green thread: ru_utime is its CPU
 *     time and ru_stime 0 (which part the kernel spent is not known), the
 *     rest is the OS thread's.
 * A root is its OS thread: its CPU clock is the OS thread's, which
 * includes the time of the green threads it runs.  So is a weft_go
 * coroutine's pthread_getcpuclockid (it has no record to name), though
 * its CLOCK_THREAD_CPUTIME_ID is its own.
 *
 * clock_gettime is a hot call: any other clock goes straight to libc,
 * after one compare more.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "green.h"
#include "waitq.h"

#define PID_MAX_LIMIT 4194304  /* no kernel thread id is above this */
#define TID_END (1 << 28)      /* (~tid << 3) must fit a clockid_t */
#define SERIAL_MAX (TID_END - 1 - PID_MAX_LIMIT)
#define PERTHREAD 4            /* the kernel's CPUCLOCK_PERTHREAD_MASK */
#define WHICH 3                /* CPUCLOCK_CLOCK_MASK: 3 is no clock */
#define SCHED 2                /* CPUCLOCK_SCHED */

/* The clocks given out, by number: the green thread each names (its
 * pthread_t).  A number stays until the table is next rebuilt after its
 * thread has gone: the thread's record, found again by pthread_t, must
 * still carry it.  Guarded by weft__green_lock. */
struct clock_entry {
	unsigned serial; /* 0: empty */
	pthread_t id;
};
static struct clock_entry *table;
static size_t table_cap; /* a power of two, or 0 */
static size_t table_used;
static unsigned last_serial;

static size_t slot_of(unsigned serial, size_t cap)
{
	return serial & (cap - 1);
}

static struct clock_entry *entry_of(unsigned serial)
{
	if (table_cap == 0)
		return NULL;
	for (size_t i = slot_of(serial, table_cap);;
	     i = (i + 1) & (table_cap - 1)) {
		if (table[i].serial == serial)
			return &table[i];
		if (table[i].serial == 0)
			return NULL;
	}
}

/* The live green thread whose clock is number serial, or NULL. */
static struct weft__green *clock_owner(unsigned serial)
{
	struct clock_entry *e = entry_of(serial);
	struct weft__green *g = e ? weft__green_find_locked(e->id) : NULL;

	return g && g->clock == serial ? g : NULL;
}

static void place(struct clock_entry *t, size_t cap, struct clock_entry e)
{
	size_t i = slot_of(e.serial, cap);

	while (t[i].serial != 0)
		i = (i + 1) & (cap - 1);
	t[i] = e;
}

/* Gives g a clock number.  Returns 0 or ENOMEM.  The lock is held. */
static int clock_give(struct weft__green *g)
{
	if ((table_used + 1) * 2 > table_cap) {
		/* Rebuilt with the numbers of live threads only. */
		size_t live = 0, cap = 16;
		for (size_t i = 0; i < table_cap; i++)
			live += table[i].serial && clock_owner(table[i].serial);
		while (cap < (live + 1) * 4)
			cap *= 2;
		struct clock_entry *t = calloc(cap, sizeof *t);
		if (t == NULL)
			return ENOMEM;
		for (size_t i = 0; i < table_cap; i++)
			if (table[i].serial && clock_owner(table[i].serial))
				place(t, cap, table[i]);
		free(table);
		table = t;
		table_cap = cap;
		table_used = live;
	}
	unsigned serial;
	do
		serial = last_serial = last_serial % SERIAL_MAX + 1;
	while (entry_of(serial) != NULL);
	place(table, table_cap, (struct clock_entry){ serial, g->id });
	table_used++;
	g->clock = serial;
	return 0;
}

static clockid_t clock_id(unsigned serial)
{
	unsigned tid = PID_MAX_LIMIT + serial;

	return (clockid_t)((~tid << 3) | PERTHREAD | SCHED);
}

/* The number of clock, if it is one weft may have given out, else 0. */
static unsigned serial_of(clockid_t clock)
{
	if (clock >= 0 || !(clock & PERTHREAD) || (clock & WHICH) == WHICH)
		return 0;
	int tid = ~(clock >> 3);
	return tid > PID_MAX_LIMIT ? (unsigned)(tid - PID_MAX_LIMIT) : 0;
}

/* Reads green clock number serial into *ns.  Returns 1 if it was read,
 * 0 if the clock is not weft's (or its thread was joined: the kernel
 * answers EINVAL for it), -1 if its thread has ended. */
static int clock_read(unsigned serial, uint64_t *ns)
{
	weft__spin_lock(&weft__green_lock);
	struct weft__green *g = clock_owner(serial);
	int r = g == NULL ? 0 : g->co->state == WEFT__DONE ? -1 : 1;
	if (r == 1)
		*ns = weft__cpu_ns(g->co);
	weft__spin_unlock(&weft__green_lock);
	return r;
}

/* The coroutine whose CPU time is its own: the caller, if it is a green
 * thread (or another coroutine with a stack of its own). */
static struct weft__co *timed(void)
{
	struct weft__co *co = weft__running;

	return weft__green_on() && co != NULL && co->slot != NULL ? co : NULL;
}

/* clock_gettime for CLOCK_THREAD_CPUTIME_ID and the CPU clocks of other
 * threads: a green thread's own CPU time.  Returns 0, or -1 with EINVAL
 * (the thread has ended) or EFAULT (ts NULL); other clocks as libc. */
int weft__clock_gettime(clockid_t clock, struct timespec *ts)
{
	struct weft__co *co = clock == CLOCK_THREAD_CPUTIME_ID ? timed() : NULL;
	unsigned serial = co == NULL && weft__green_on() ? serial_of(clock) : 0;
	uint64_t ns = 0;
	int r = serial ? clock_read(serial, &ns) : 0;

	if (co == NULL && r == 0)
		return weft__libc()->clock_gettime(clock, ts);
	if (r < 0) {
		errno = EINVAL;
		return -1;
	}
	if (co != NULL) {
		weft__cpu_start();
		ns = weft__cpu_ns(co);
	}
	if (ts == NULL) {
		errno = EFAULT;
		return -1;
	}
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
	return 0;
}

/* clock_getres: a green thread's CPU clock has the resolution of the
 * kernel's thread clocks of its kind.  Returns 0, or -1 with EINVAL once
 * its thread has ended; other clocks as libc. */
int weft__clock_getres(clockid_t clock, struct timespec *res)
{
	unsigned serial = weft__green_on() ? serial_of(clock) : 0;

	if (serial) {
		weft__spin_lock(&weft__green_lock);
		struct weft__green *g = clock_owner(serial);
		bool ended = g && g->co->state == WEFT__DONE;
		weft__spin_unlock(&weft__green_lock);
		if (ended) {
			errno = EINVAL;
			return -1;
		}
		/* The same kind of clock of the calling thread (tid 0). */
		if (g != NULL)
			clock = (clockid_t)((~0u << 3) | (clock & 7));
	}
	return weft__libc()->clock_getres(clock, res);
}

/* pthread_getcpuclockid: for a green thread, a clock that reads its CPU
 * time.  Returns 0, ESRCH once the thread has ended (as glibc), or ENOMEM
 * (no memory to note the clock). */
int weft__pthread_getcpuclockid(pthread_t th, clockid_t *clock)
{
	struct weft__green *g;
	struct weft__co *co = weft__green_target(th, &g);

	if (g == NULL)
		return weft__libc()->pthread_getcpuclockid(
			co ? weft__green_os_thread(NULL) : th, clock);
	weft__cpu_start();
	weft__spin_lock(&weft__green_lock);
	int r = 0;
	g = weft__green_find_locked(th);
	if (g == NULL || g->co->state == WEFT__DONE)
		r = ESRCH;
	else if (g->clock == 0)
		r = clock_give(g);
	unsigned serial = r == 0 ? g->clock : 0;
	weft__spin_unlock(&weft__green_lock);
	if (r == 0)
		*clock = clock_id(serial);
	return r;
}

/* getrusage: RUSAGE_THREAD in a green thread gives its CPU time as
 * ru_utime, 0 as ru_stime, and the rest as the OS thread's; otherwise
 * libc's. */
int weft__getrusage(int who, struct rusage *usage)
{
	struct weft__co *co = who == RUSAGE_THREAD ? timed() : NULL;
	int r = weft__libc()->getrusage(who, usage);

	if (co == NULL || r != 0)
		return r;
	weft__cpu_start();
	uint64_t ns = weft__cpu_ns(co);
	usage->ru_utime.tv_sec = (time_t)(ns / 1000000000);
	usage->ru_utime.tv_usec = (suseconds_t)(ns % 1000000000 / 1000);
	usage->ru_stime.tv_sec = 0;
	usage->ru_stime.tv_usec = 0;
	return 0;
}

/* ---- the exported names ---- */

WEFT_EXPORT int clock_gettime(clockid_t clock, struct timespec *ts)
{
	if (weft__likely(clock >= 0 && clock != CLOCK_THREAD_CPUTIME_ID))
		return weft__libc()->clock_gettime(clock, ts);
	return weft__clock_gettime(clock, ts);
}

WEFT_EXPORT int clock_getres(clockid_t clock, struct timespec *res)
{
	if (weft__likely(clock >= 0))
		return weft__libc()->clock_getres(clock, res);
	return weft__clock_getres(clock, res);
}

WEFT_EXPORT int pthread_getcpuclockid(pthread_t th, clockid_t *clock)
{
	return weft__pthread_getcpuclockid(th, clock);
}

WEFT_EXPORT int getrusage(__rusage_who_t who, struct rusage *usage)
{
	return weft__getrusage(who, usage);
}
