/* test_identity.c - what the calls that name a thread do to a green one:
 * scheduling and CPU affinity, pthread_sigqueue, its name through prctl,
 * its CPU time.
 *
 * Each scenario runs with native threads (green threads off) and with
 * green threads, and what the program saw is compared.  The green runs
 * also check that the OS thread, which every green thread shares, kept
 * its own policy, CPU mask and name.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "../hook/green.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

/* Parks the green thread (or blocks the native one) for a moment. */
static void nap(void)
{
	struct timespec ts = { 0, 200000 };

	nanosleep(&ts, NULL);
}

/* Waits (napping) until *flag is set; fails the test after 10 s. */
static void wait_for(atomic_int *flag)
{
	for (int i = 0; i < 50000 && !atomic_load(flag); i++)
		nap();
	ck_assert(atomic_load(flag));
}

/* Waits until thread t has ended (pthread_sigqueue says ESRCH: natively,
 * once the kernel has let its thread go); fails the test after 10 s. */
static void wait_end(pthread_t t)
{
	union sigval v = { 0 };
	int i = 0;

	while (pthread_sigqueue(t, 0, v) == 0 && i++ < 50000)
		nap();
	ck_assert_int_eq(pthread_sigqueue(t, 0, v), ESRCH);
}

static int64_t ns_of(struct timespec ts)
{
	return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(clock, &ts), 0);
	return ns_of(ts);
}

/* The first and last CPUs this thread may run on. */
static void cpu_range(int *first, int *last)
{
	cpu_set_t set;

	ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
	*first = *last = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set)) {
			if (*first < 0)
				*first = i;
			*last = i;
		}
	ck_assert_int_ge(*first, 0);
}

/* A file's first line, read with raw system calls (no wrapper of weft's
 * in the way). */
static void read_raw(const char *path, char *buf, size_t len)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	long n = syscall(SYS_read, fd, buf, len - 1);
	syscall(SYS_close, fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Results of a run, compared between the native and the green one. */
struct results {
	int n;
	long v[64];
};

static void note(struct results *r, long v)
{
	ck_assert_int_lt(r->n, 64);
	r->v[r->n++] = v;
}

static void compare(const char *what, const struct results *native,
		    const struct results *green)
{
	ck_assert_int_gt(native->n, 0);
	ck_assert_msg(native->n == green->n, "%s: %d results natively, %d"
		      " green", what, native->n, green->n);
	for (int i = 0; i < native->n; i++)
		ck_assert_msg(native->v[i] == green->v[i],
			      "%s: result %d is %ld natively, %ld green",
			      what, i, native->v[i], green->v[i]);
}

/* Notes pthread_getschedparam(th)'s result, policy and priority. */
static void note_sched(struct results *r, pthread_t th)
{
	struct sched_param sp = { -1 };
	int policy = -1;

	note(r, pthread_getschedparam(th, &policy, &sp));
	note(r, policy);
	note(r, sp.sched_priority);
}

static int set_sched(pthread_t th, int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return pthread_setschedparam(th, policy, &sp);
}

/* Notes pthread_getaffinity_np(th)'s result and the CPUs of the mask. */
static void note_mask(struct results *r, pthread_t th)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	note(r, pthread_getaffinity_np(th, sizeof set, &set));
	long bits = 0;
	for (int i = 0; i < 64; i++)
		bits |= CPU_ISSET(i, &set) ? 1L << i : 0;
	note(r, bits);
	note(r, CPU_COUNT(&set));
}

/* ---- scheduling on the calling thread ----------------------------------- */

struct sched_run {
	struct results r;
	int os_policy;        /* sched_getscheduler(0) while FIFO was set */
	int fifo;             /* what setting FIFO gave */
};

static void *sched_self(void *p)
{
	struct sched_run *s = p;
	pthread_t me = pthread_self();

	note_sched(&s->r, me);
	note(&s->r, set_sched(me, SCHED_BATCH, 0));
	note_sched(&s->r, me);
	note(&s->r, set_sched(me, SCHED_IDLE, 0));
	note_sched(&s->r, me);
	note(&s->r, set_sched(me, SCHED_OTHER, 0));
	note_sched(&s->r, me);
	note(&s->r, s->fifo = set_sched(me, SCHED_FIFO, 1));
	s->os_policy = sched_getscheduler(0);
	note_sched(&s->r, me);
	note(&s->r, pthread_setschedprio(me, 3));
	note_sched(&s->r, me);
	note(&s->r, pthread_setschedprio(me, 0));
	note_sched(&s->r, me);
	note(&s->r, set_sched(me, SCHED_RR, 2));
	note_sched(&s->r, me);
	note(&s->r, set_sched(me, SCHED_OTHER, 0));
	note_sched(&s->r, me);
	nap();
	note_sched(&s->r, me);
	return NULL;
}

static void run_sched_self(bool green, struct sched_run *s)
{
	weft__green_set(green);
	*s = (struct sched_run){ .os_policy = -1 };
	tl_pthread_join(tl_pthread(sched_self, s, NULL));
}

START_TEST(schedparam_set_on_itself_reads_back_and_the_os_thread_keeps_its_own)
{
	struct sched_run native, green;
	int before = sched_getscheduler(0);

	run_sched_self(false, &native);
	run_sched_self(true, &green);
	compare("scheduling on itself", &native.r, &green.r);
	/* Natively the thread itself was FIFO; green, its OS thread (this
	 * one) never changed. */
	if (native.fifo == 0)
		ck_assert_int_eq(native.os_policy, SCHED_FIFO);
	ck_assert_int_eq(green.os_policy, before);
	ck_assert_int_eq(sched_getscheduler(0), before);
}
END_TEST

/* ---- scheduling and affinity of another thread -------------------------- */

struct other_run {
	struct results r;
	pthread_barrier_t met;
	int os_policy;
	cpu_set_t os_mask;
};

static void *be_changed(void *p)
{
	struct other_run *o = p;

	pthread_barrier_wait(&o->met); /* the creator changes us */
	pthread_barrier_wait(&o->met);
	note_sched(&o->r, pthread_self());
	note_mask(&o->r, pthread_self());
	o->os_policy = sched_getscheduler(0);
	sched_getaffinity(0, sizeof o->os_mask, &o->os_mask);
	return NULL;
}

static void run_other(bool green, struct other_run *o)
{
	int first, last;
	cpu_set_t one;

	weft__green_set(green);
	memset(&o->r, 0, sizeof o->r);
	cpu_range(&first, &last);
	ck_assert_int_eq(pthread_barrier_init(&o->met, NULL, 2), 0);
	pthread_t t = tl_pthread(be_changed, o, NULL);
	pthread_barrier_wait(&o->met);
	note(&o->r, set_sched(t, SCHED_BATCH, 0));
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	note(&o->r, pthread_setaffinity_np(t, sizeof one, &one));
	note_sched(&o->r, t);
	note_mask(&o->r, t);
	pthread_barrier_wait(&o->met);
	tl_pthread_join(t);
	pthread_barrier_destroy(&o->met);
}

START_TEST(schedparam_and_affinity_set_on_another_thread_are_its_own)
{
	struct other_run native, green;
	cpu_set_t before;
	int policy = sched_getscheduler(0);

	ck_assert_int_eq(sched_getaffinity(0, sizeof before, &before), 0);
	run_other(false, &native);
	run_other(true, &green);
	compare("another thread", &native.r, &green.r);
	ck_assert_int_eq(native.os_policy, SCHED_BATCH);
	ck_assert_int_eq(green.os_policy, sched_getscheduler(0));
	ck_assert(CPU_EQUAL(&green.os_mask, &before));
	ck_assert_int_eq(sched_getscheduler(0), policy);
}
END_TEST

/* ---- what a new thread inherits ----------------------------------------- */

struct inherit_run {
	struct results r[3];
	int first, last;
};

static void *report_self(void *p)
{
	struct results *r = p;

	note_sched(r, pthread_self());
	note_mask(r, pthread_self());
	return NULL;
}

/* Sets its own policy and mask, then makes a thread with the default
 * attributes, one with PTHREAD_EXPLICIT_SCHED and one with a mask. */
static void *make_children(void *p)
{
	struct inherit_run *in = p;
	pthread_attr_t explicit, masked;
	struct sched_param zero = { 0 };
	cpu_set_t mine, theirs;

	CPU_ZERO(&mine);
	CPU_SET(in->first, &mine);
	CPU_ZERO(&theirs);
	CPU_SET(in->last, &theirs);
	ck_assert_int_eq(set_sched(pthread_self(), SCHED_BATCH, 0), 0);
	ck_assert_int_eq(pthread_setaffinity_np(pthread_self(), sizeof mine,
						&mine), 0);
	pthread_attr_init(&explicit);
	pthread_attr_setinheritsched(&explicit, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&explicit, SCHED_OTHER);
	pthread_attr_setschedparam(&explicit, &zero);
	pthread_attr_init(&masked);
	pthread_attr_setaffinity_np(&masked, sizeof theirs, &theirs);
	pthread_t a = tl_pthread(report_self, &in->r[0], NULL);
	pthread_t b = tl_pthread(report_self, &in->r[1], &explicit);
	pthread_t c = tl_pthread(report_self, &in->r[2], &masked);
	tl_pthread_join(a);
	tl_pthread_join(b);
	tl_pthread_join(c);
	pthread_attr_destroy(&explicit);
	pthread_attr_destroy(&masked);
	return NULL;
}

static void run_inherit(bool green, struct inherit_run *in)
{
	weft__green_set(green);
	memset(in, 0, sizeof *in);
	cpu_range(&in->first, &in->last);
	tl_pthread_join(tl_pthread(make_children, in, NULL));
}

START_TEST(a_new_thread_inherits_its_creator_s_scheduling_and_mask)
{
	struct inherit_run native, green;

	run_inherit(false, &native);
	run_inherit(true, &green);
	compare("default attributes", &native.r[0], &green.r[0]);
	compare("PTHREAD_EXPLICIT_SCHED", &native.r[1], &green.r[1]);
	compare("a mask in the attributes", &native.r[2], &green.r[2]);
	ck_assert_int_eq(native.r[0].v[1], SCHED_BATCH);
	ck_assert_int_eq(native.r[1].v[1], SCHED_OTHER);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

/* NULL, and the calls that take it, where neither the compiler nor
 * UBSan (which checks arguments declared non-null) sees it. */
static void *volatile nowhere;
static int (*volatile set_param)(pthread_t, int, const struct sched_param *) =
	pthread_setschedparam;
static int (*volatile set_mask)(pthread_t, size_t, const cpu_set_t *) =
	pthread_setaffinity_np;
static int (*volatile get_mask)(pthread_t, size_t, cpu_set_t *) =
	pthread_getaffinity_np;

static void *sched_errors(void *p)
{
	struct results *r = p;
	pthread_t me = pthread_self();

	note(r, set_sched(me, 12345, 0));
	note(r, set_sched(me, -1, 0));
	note(r, set_sched(me, SCHED_FIFO, 0));
	note(r, set_sched(me, SCHED_FIFO, 100));
	note(r, set_sched(me, SCHED_RR, -1));
	note(r, set_sched(me, SCHED_OTHER, 5));
	note(r, set_sched(me, SCHED_DEADLINE, 0));
	note(r, set_param(me, SCHED_OTHER, nowhere));
	note(r, pthread_setschedprio(me, 200));
	note(r, pthread_setschedprio(me, 1));
	note(r, pthread_setschedprio(me, -1));
	note_sched(r, me);
	return NULL;
}

static void *nothing(void *p)
{
	return p;
}

static void *mask_errors(void *p)
{
	struct results *r = p;
	pthread_t me = pthread_self();
	cpu_set_t set, far;
	int first, last;

	cpu_range(&first, &last);
	CPU_ZERO(&set);
	note(r, pthread_setaffinity_np(me, sizeof set, &set));   /* empty */
	CPU_ZERO(&far);
	CPU_SET(CPU_SETSIZE - 1, &far);                           /* no such */
	note(r, pthread_setaffinity_np(me, sizeof far, &far));
	note(r, pthread_setaffinity_np(me, 0, &set));
	note(r, set_mask(me, sizeof set, nowhere));
	note(r, pthread_getaffinity_np(me, 1, &set));
	note(r, pthread_getaffinity_np(me, 12, &set));
	note(r, get_mask(me, sizeof set, nowhere));
	/* A mask with a CPU it may use and one that is not there. */
	CPU_SET(first, &far);
	note(r, pthread_setaffinity_np(me, sizeof far, &far));
	note_mask(r, me);
	/* A mask of 8 bytes is enough where there are at most 64 CPUs. */
	if (last < 64) {
		uint64_t small = 1ull << last, got = 0;
		note(r, pthread_setaffinity_np(me, sizeof small,
					       (cpu_set_t *)&small));
		note(r, pthread_getaffinity_np(me, sizeof got,
					       (cpu_set_t *)&got));
		note(r, (long)got);
	}
	return NULL;
}

/* pthread_create with scheduling attributes the kernel refuses. */
static void create_errors(struct results *r)
{
	pthread_attr_t attr;
	struct sched_param zero = { 0 };
	cpu_set_t empty;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedparam(&attr, &zero);
	pthread_attr_setschedpolicy(&attr, SCHED_FIFO); /* FIFO at 0 */
	int e = pthread_create(&t, &attr, nothing, NULL);
	note(r, e);
	if (e == 0)
		tl_pthread_join(t);
	pthread_attr_destroy(&attr);
	pthread_attr_init(&attr);
	CPU_ZERO(&empty);
	pthread_attr_setaffinity_np(&attr, sizeof empty, &empty);
	e = pthread_create(&t, &attr, nothing, NULL);
	note(r, e);
	if (e == 0)
		tl_pthread_join(t);
	pthread_attr_destroy(&attr);
}

static void run_errors(bool green, struct results r[3])
{
	weft__green_set(green);
	memset(r, 0, 3 * sizeof *r);
	tl_pthread_join(tl_pthread(sched_errors, &r[0], NULL));
	tl_pthread_join(tl_pthread(mask_errors, &r[1], NULL));
	create_errors(&r[2]);
}

START_TEST(bad_policies_priorities_and_masks_fail_as_natively)
{
	struct results native[3], green[3];

	run_errors(false, native);
	run_errors(true, green);
	compare("scheduling errors", &native[0], &green[0]);
	compare("mask errors", &native[1], &green[1]);
	compare("pthread_create errors", &native[2], &green[2]);
	for (int i = 0; i < 11; i++)
		ck_assert_int_eq(native[0].v[i], EINVAL);
	ck_assert_int_eq(native[1].v[0], EINVAL);
	ck_assert_int_eq(native[1].v[1], EINVAL);
	ck_assert_int_eq(native[2].v[0], EINVAL);
}
END_TEST

/* ---- privilege ----------------------------------------------------------- */

/* Drops CAP_SYS_NICE from the effective set, if this process had it. */
static void drop_sys_nice(void)
{
	struct __user_cap_header_struct head = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	ck_assert_int_eq(syscall(SYS_capget, &head, data), 0);
	data[0].effective &= ~(1u << CAP_SYS_NICE);
	ck_assert_int_eq(syscall(SYS_capset, &head, data), 0);
}

static void *sched_unprivileged(void *p)
{
	struct results *r = p;
	pthread_t me = pthread_self();

	note(r, set_sched(me, SCHED_FIFO, 1));
	note(r, set_sched(me, SCHED_RR, 1));
	note(r, set_sched(me, SCHED_OTHER | SCHED_RESET_ON_FORK, 0));
	note_sched(r, me);
	note(r, set_sched(me, SCHED_OTHER, 0)); /* clears the flag: no */
	note(r, set_sched(me, SCHED_IDLE | SCHED_RESET_ON_FORK, 0));
	note(r, set_sched(me, SCHED_OTHER | SCHED_RESET_ON_FORK, 0));
	note(r, pthread_setschedprio(me, 0));
	note_sched(r, me);
	return NULL;
}

static void run_unprivileged(bool green, struct results r[2])
{
	pthread_attr_t attr;
	struct sched_param one = { 1 };
	pthread_t t;

	weft__green_set(green);
	memset(r, 0, 2 * sizeof *r);
	tl_pthread_join(tl_pthread(sched_unprivileged, &r[0], NULL));
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
	pthread_attr_setschedparam(&attr, &one);
	int e = pthread_create(&t, &attr, nothing, NULL);
	note(&r[1], e);
	if (e == 0)
		tl_pthread_join(t);
	pthread_attr_destroy(&attr);
}

START_TEST(without_cap_sys_nice_raising_a_claim_is_refused_as_natively)
{
	struct results native[2], green[2];

	drop_sys_nice();
	run_unprivileged(false, native);
	run_unprivileged(true, green);
	compare("unprivileged scheduling", &native[0], &green[0]);
	compare("unprivileged pthread_create", &native[1], &green[1]);
	/* Clearing SCHED_RESET_ON_FORK takes the privilege, always. */
	ck_assert_int_eq(native[0].v[6], EPERM);
}
END_TEST

/* ---- affinity on the calling thread ------------------------------------- */

struct mask_run {
	struct results r;
	cpu_set_t os_mask; /* sched_getaffinity(0) after setting one CPU */
	int set;
};

static void *mask_self(void *p)
{
	struct mask_run *m = p;
	int first, last;
	cpu_set_t one;

	cpu_range(&first, &last);
	note_mask(&m->r, pthread_self());
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	note(&m->r, m->set = pthread_setaffinity_np(pthread_self(),
						    sizeof one, &one));
	sched_getaffinity(0, sizeof m->os_mask, &m->os_mask);
	nap();
	note_mask(&m->r, pthread_self());
	return NULL;
}

static void run_mask_self(bool green, struct mask_run *m)
{
	weft__green_set(green);
	memset(m, 0, sizeof *m);
	tl_pthread_join(tl_pthread(mask_self, m, NULL));
}

START_TEST(affinity_set_on_itself_reads_back_and_the_os_thread_keeps_its_own)
{
	struct mask_run native, green;
	cpu_set_t before;

	ck_assert_int_eq(sched_getaffinity(0, sizeof before, &before), 0);
	run_mask_self(false, &native);
	run_mask_self(true, &green);
	compare("affinity on itself", &native.r, &green.r);
	ck_assert_int_eq(native.set, 0);
	ck_assert_int_eq(CPU_COUNT(&native.os_mask), 1);
	ck_assert(CPU_EQUAL(&green.os_mask, &before));
}
END_TEST

/* The creator pinned itself (its OS thread) to one CPU; the thread asks
 * for another, which the kernel allows: a mask is checked against the
 * process's cpuset, not against the mask a thread had. */
static int widen_to;

static void *widen(void *p)
{
	struct results *r = p;
	int first, last;
	cpu_set_t set;

	cpu_range(&first, &last);
	note(r, first == last); /* it starts with its creator's one CPU */
	CPU_ZERO(&set);
	CPU_SET(widen_to, &set);
	note(r, pthread_setaffinity_np(pthread_self(), sizeof set, &set));
	note_mask(r, pthread_self());
	return NULL;
}

static void run_widen(bool green, struct results *r, int cpu)
{
	cpu_set_t one, all;

	weft__green_set(green);
	memset(r, 0, sizeof *r);
	ck_assert_int_eq(sched_getaffinity(0, sizeof all, &all), 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	/* The root is its OS thread: this pins the OS thread. */
	ck_assert_int_eq(pthread_setaffinity_np(pthread_self(), sizeof one,
						&one), 0);
	tl_pthread_join(tl_pthread(widen, r, NULL));
	ck_assert_int_eq(pthread_setaffinity_np(pthread_self(), sizeof all,
						&all), 0);
}

START_TEST(a_thread_may_widen_the_mask_its_creator_narrowed)
{
	struct results native, green;
	int first, last;

	cpu_range(&first, &last);
	if (first == last)
		return; /* one CPU: nothing to widen to */
	widen_to = last;
	run_widen(false, &native, first);
	run_widen(true, &green, first);
	compare("widening", &native, &green);
	ck_assert_int_eq(native.v[0], 1);
	ck_assert_int_eq(native.v[1], 0);
}
END_TEST

/* ---- pthread_sigqueue ---------------------------------------------------- */

static atomic_int queued, queued_value, queued_code;

static void on_queued(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	atomic_store(&queued_value, si->si_value.sival_int);
	atomic_store(&queued_code, si->si_code);
	atomic_fetch_add(&queued, 1);
}

static void *wait_stop(void *p)
{
	atomic_int *stop = p;

	while (!atomic_load(stop))
		nap();
	return NULL;
}

static void run_sigqueue(bool green, struct results *r)
{
	struct sigaction sa = { .sa_sigaction = on_queued,
				.sa_flags = SA_SIGINFO | SA_RESTART };
	union sigval v = { .sival_int = 4242 };
	atomic_int stop = 0;

	weft__green_set(green);
	memset(r, 0, sizeof *r);
	atomic_store(&queued, 0);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	pthread_t t = tl_pthread(wait_stop, &stop, NULL);
	note(r, pthread_sigqueue(t, 0, v));
	note(r, pthread_sigqueue(t, SIGUSR1, v));
	wait_for(&queued);
	note(r, atomic_load(&queued_value));
	note(r, atomic_load(&queued_code) == SI_QUEUE);
	note(r, pthread_sigqueue(t, SIGRTMIN - 2, v)); /* glibc's own */
	note(r, pthread_sigqueue(t, 65, v));
	note(r, pthread_sigqueue(t, -1, v));
	atomic_store(&stop, 1);
	wait_end(t); /* ended, not joined */
	note(r, pthread_sigqueue(t, 0, v));
	note(r, pthread_sigqueue(t, SIGUSR1, v));
	note(r, pthread_sigqueue(t, SIGRTMIN - 2, v));
	tl_pthread_join(t);
	note(r, atomic_load(&queued));
	signal(SIGUSR1, SIG_DFL);
}

START_TEST(sigqueue_reaches_a_live_thread_and_an_ended_one_is_gone)
{
	struct results native, green;

	run_sigqueue(false, &native);
	run_sigqueue(true, &green);
	compare("pthread_sigqueue", &native, &green);
	ck_assert_int_eq(native.v[0], 0);
	ck_assert_int_eq(native.v[1], 0);
	ck_assert_int_eq(native.v[2], 4242);
	ck_assert_int_eq(native.v[7], ESRCH);
}
END_TEST

/* ---- names --------------------------------------------------------------- */

struct name_run {
	struct results r;
	char inherited[16], got[16], np[16], by_creator[16];
	char comm_during[32], thread_comm[32];
	pthread_barrier_t met;
};

static void *rename_self(void *p)
{
	struct name_run *n = p;
	char path[64];

	note(&n->r, prctl(PR_GET_NAME, n->inherited, 0, 0, 0));
	/* Bad memory first: valgrind's reports of it (which the kernel
	 * answers with EFAULT) then name no thread. */
	errno = 0;
	note(&n->r, prctl(PR_GET_NAME, NULL, 0, 0, 0));
	note(&n->r, errno);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	/* (The sanitizers' prctl reads the name after the call.) */
	errno = 0;
	note(&n->r, prctl(PR_SET_NAME, NULL, 0, 0, 0));
	note(&n->r, errno);
#endif
	note(&n->r, prctl(PR_SET_NAME, "a-rather-long-thread-name", 0, 0, 0));
	note(&n->r, prctl(PR_GET_NAME, n->got, 0, 0, 0));
	note(&n->r, pthread_getname_np(pthread_self(), n->np, sizeof n->np));
	note(&n->r, prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	read_raw("/proc/self/comm", n->comm_during, sizeof n->comm_during);
	snprintf(path, sizeof path, "/proc/self/task/%ld/comm",
		 (long)syscall(SYS_gettid));
	read_raw(path, n->thread_comm, sizeof n->thread_comm);
	pthread_barrier_wait(&n->met);
	pthread_barrier_wait(&n->met); /* the creator reads the name */
	return NULL;
}

static void run_names(bool green, struct name_run *n)
{
	weft__green_set(green);
	memset(n, 0, sizeof *n);
	ck_assert_int_eq(pthread_barrier_init(&n->met, NULL, 2), 0);
	pthread_t t = tl_pthread(rename_self, n, NULL);
	pthread_barrier_wait(&n->met);
	note(&n->r, pthread_getname_np(t, n->by_creator,
				       sizeof n->by_creator));
	pthread_barrier_wait(&n->met);
	tl_pthread_join(t);
	pthread_barrier_destroy(&n->met);
}

START_TEST(prctl_names_the_green_thread_and_leaves_the_process_name)
{
	struct name_run native, green;
	char comm[32], after[32];

	read_raw("/proc/self/comm", comm, sizeof comm);
	run_names(false, &native);
	run_names(true, &green);
	compare("names", &native.r, &green.r);
	ck_assert_str_eq(native.inherited, comm);
	ck_assert_str_eq(green.inherited, native.inherited);
	ck_assert_str_eq(native.got, "a-rather-long-t");
	ck_assert_str_eq(green.got, native.got);
	ck_assert_str_eq(green.np, native.np);
	ck_assert_str_eq(green.by_creator, native.by_creator);
	ck_assert_str_eq(native.comm_during, comm);
	ck_assert_str_eq(green.comm_during, comm);
	/* The kernel's name of the thread: natively its own; green, its OS
	 * thread's (this one's), which stays. */
	ck_assert_str_eq(native.thread_comm, "a-rather-long-t");
	ck_assert_str_eq(green.thread_comm, comm);
	read_raw("/proc/self/comm", after, sizeof after);
	ck_assert_str_eq(after, comm);
	ck_assert_int_eq(native.r.v[1], -1);
	ck_assert_int_eq(native.r.v[2], EFAULT);
}
END_TEST

/* ---- CPU time ------------------------------------------------------------ */

#define BUSY_NS (30 * MS)

struct cpu_run {
	sem_t go, spun, hold, ready, release;
	int64_t self_start, self_end;   /* the busy one's own clock */
	int64_t usage_start, usage_end; /* its RUSAGE_THREAD, user + sys */
	int64_t stime;                  /* its ru_stime at the end */
	int64_t busy[2], parked[2];     /* read by the creator */
	struct results r;
};

static int64_t usage_ns(int64_t *stime)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_THREAD, &ru), 0);
	int64_t sys = (int64_t)ru.ru_stime.tv_sec * SEC +
		      ru.ru_stime.tv_usec * 1000;
	if (stime)
		*stime = sys;
	return (int64_t)ru.ru_utime.tv_sec * SEC + ru.ru_utime.tv_usec * 1000 +
	       sys;
}

/* The errno with which call(clock) fails, waiting up to 10 s for it to
 * fail; 0 if it never does. */
static int gone_errno(int (*call)(clockid_t, struct timespec *),
		      clockid_t clock)
{
	struct timespec ts;

	for (int i = 0; i < 50000; i++) {
		errno = 0;
		if (call(clock, &ts) < 0)
			return errno;
		nap();
	}
	return 0;
}

/* Waits for go, then burns BUSY_NS of its own CPU time without parking. */
static void *burn(void *p)
{
	struct cpu_run *c = p;

	sem_wait(&c->go);
	c->usage_start = usage_ns(NULL);
	c->self_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	do
		c->self_end = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	while (c->self_end - c->self_start < BUSY_NS);
	c->usage_end = usage_ns(&c->stime);
	sem_post(&c->spun);
	sem_wait(&c->hold);
	return NULL;
}

static void *park(void *p)
{
	struct cpu_run *c = p;

	sem_post(&c->ready);
	sem_wait(&c->release);
	return NULL;
}

static void run_cpu(bool green, struct cpu_run *c)
{
	clockid_t busy_clock, parked_clock;
	struct timespec res;

	weft__green_set(green);
	memset(c, 0, sizeof *c);
	sem_init(&c->go, 0, 0);
	sem_init(&c->spun, 0, 0);
	sem_init(&c->hold, 0, 0);
	sem_init(&c->ready, 0, 0);
	sem_init(&c->release, 0, 0);
	pthread_t parked = tl_pthread(park, c, NULL);
	pthread_t busy = tl_pthread(burn, c, NULL);
	sem_wait(&c->ready);
	tl_nap_ns(true, 10 * MS); /* natively, till it is blocked in sem_wait */
	note(&c->r, pthread_getcpuclockid(busy, &busy_clock));
	note(&c->r, pthread_getcpuclockid(parked, &parked_clock));
	note(&c->r, busy_clock != parked_clock);
	note(&c->r, clock_getres(busy_clock, &res));
	note(&c->r, ns_of(res));
	c->busy[0] = clock_ns(busy_clock);
	c->parked[0] = clock_ns(parked_clock);
	sem_post(&c->go);
	sem_wait(&c->spun);
	c->busy[1] = clock_ns(busy_clock);
	c->parked[1] = clock_ns(parked_clock);
	sem_post(&c->hold);
	tl_pthread_join(busy);
	/* Joined: its clock is gone (natively, once the kernel has let the
	 * thread go, which may be a moment after the join). */
	note(&c->r, gone_errno(clock_gettime, busy_clock));
	note(&c->r, gone_errno(clock_getres, busy_clock));
	/* Ended, not yet joined: no clock for it, and the old one is gone. */
	sem_post(&c->release);
	wait_end(parked);
	note(&c->r, pthread_getcpuclockid(parked, &busy_clock));
	note(&c->r, gone_errno(clock_gettime, parked_clock));
	tl_pthread_join(parked);
	/* The root's own CPU clock is its OS thread's: it works. */
	ck_assert_int_ge(clock_ns(CLOCK_THREAD_CPUTIME_ID), 0);
}

START_TEST(a_busy_thread_s_cpu_clock_grows_and_a_parked_one_s_stays)
{
	struct cpu_run native, green;

	run_cpu(false, &native);
	run_cpu(true, &green);
	compare("CPU clocks", &native.r, &green.r);
	struct cpu_run *runs[2] = { &native, &green };
	for (int i = 0; i < 2; i++) {
		struct cpu_run *c = runs[i];
		ck_assert_int_ge(c->self_end - c->self_start, BUSY_NS);
		/* The creator's reads of its clock saw all of it. */
		ck_assert_int_ge(c->busy[1] - c->busy[0], BUSY_NS);
		ck_assert_int_ge(c->busy[0], 0);
		ck_assert_int_ge(c->usage_end - c->usage_start, BUSY_NS / 2);
		/* Blocked all along (natively, give or take the last steps
		 * into sem_wait). */
		ck_assert_int_le(c->parked[1] - c->parked[0], 5 * MS);
	}
	ck_assert_int_eq(green.parked[1], green.parked[0]);
	ck_assert_int_eq(green.stime, 0);
	ck_assert_int_eq(native.r.v[5], EINVAL);
	ck_assert_int_eq(native.r.v[6], EINVAL);
	ck_assert_int_eq(native.r.v[7], ESRCH);
	ck_assert_int_eq(native.r.v[8], EINVAL);
}
END_TEST

static void *ask_cpu_time(void *p)
{
	*(int64_t *)p = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

static void *yield_a_little(void *p)
{
	for (int i = 0; i < 10; i++)
		sched_yield();
	return p;
}

START_TEST(cpu_time_is_counted_only_once_a_green_thread_asks)
{
	int64_t t = -1;

	weft__green_set(true);
	tl_pthread_join(tl_pthread(yield_a_little, NULL, NULL));
	clock_ns(CLOCK_THREAD_CPUTIME_ID); /* the root's: its OS thread's */
	ck_assert(!weft__cpu_on);
	tl_pthread_join(tl_pthread(ask_cpu_time, &t, NULL));
	ck_assert(weft__cpu_on);
	ck_assert_int_ge(t, 0);
	ck_assert_int_lt(t, SEC);
}
END_TEST

Suite *suite_identity(void)
{
	Suite *s = suite_create("identity");
	TCase *tc;

	tc = tcase_create("scheduling");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, schedparam_set_on_itself_reads_back_and_the_os_thread_keeps_its_own);
	tcase_add_test(tc, schedparam_and_affinity_set_on_another_thread_are_its_own);
	tcase_add_test(tc, a_new_thread_inherits_its_creator_s_scheduling_and_mask);
	tcase_add_test(tc, bad_policies_priorities_and_masks_fail_as_natively);
	tcase_add_test(tc, without_cap_sys_nice_raising_a_claim_is_refused_as_natively);
	tcase_add_test(tc, affinity_set_on_itself_reads_back_and_the_os_thread_keeps_its_own);
	tcase_add_test(tc, a_thread_may_widen_the_mask_its_creator_narrowed);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals and names");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, sigqueue_reaches_a_live_thread_and_an_ended_one_is_gone);
	tcase_add_test(tc, prctl_names_the_green_thread_and_leaves_the_process_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("CPU time");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, a_busy_thread_s_cpu_clock_grows_and_a_parked_one_s_stays);
	tcase_add_test(tc, cpu_time_is_counted_only_once_a_green_thread_asks);
	suite_add_tcase(s, tc);
	return s;
}
