/* test_green.c - green threads: pthread programs in miniature whose
 * threads are coroutines of one OS thread.
 *
 * Every test switches green threads on first, as preloading does, except
 * the ones that check the pass-through with them off.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tcb.h"
#include "weft.h"
#include "../hook/green.h"
#include "testlib.h"

#define MS ((int64_t)1000000)

/* ---- helpers ------------------------------------------------------------ */

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The number of OS threads of this process, from /proc/self/task. */
static int os_threads(void)
{
	return tl_thread_count();
}

/* An absolute time ms from now on clock. */
static struct timespec after_ms(clockid_t clock, int ms)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

/* A trace of small integers appended in the order things happened. */
struct trace {
	int n;
	int v[256];
};

static void trace_add(struct trace *t, int x)
{
	if (t->n < (int)(sizeof t->v / sizeof t->v[0]))
		t->v[t->n] = x;
	t->n++;
}

/* ---- create and join ---------------------------------------------------- */

struct doubler {
	long in;
	pid_t tid;
};

static void *double_it(void *p)
{
	struct doubler *d = p;

	d->tid = tid();
	sched_yield();
	return (void *)(d->in * 2);
}

START_TEST(threads_run_and_join_gives_each_result)
{
	weft__green_set(true);
	struct doubler d[10];
	pthread_t t[10];

	for (int i = 0; i < 10; i++) {
		d[i] = (struct doubler){ .in = i + 1 };
		t[i] = tl_pthread(double_it, &d[i], NULL);
	}
	for (int i = 9; i >= 0; i--) {
		ck_assert_int_eq((long)tl_pthread_join(t[i]), 2 * (i + 1));
		ck_assert_int_eq(d[i].tid, tid());
	}
}
END_TEST

/* A bounded buffer: the classic mutex and two condition variables. */
struct buffer {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	int items[4];
	int head, count;
	long sum;
	int taken;
};

static void *produce(void *p)
{
	struct buffer *b = p;

	for (int i = 1; i <= 100; i++) {
		pthread_mutex_lock(&b->lock);
		while (b->count == 4)
			pthread_cond_wait(&b->not_full, &b->lock);
		b->items[(b->head + b->count++) % 4] = i;
		pthread_cond_signal(&b->not_empty);
		pthread_mutex_unlock(&b->lock);
	}
	return NULL;
}

static void *consume(void *p)
{
	struct buffer *b = p;
	long n = 0;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (b->count == 0 && b->taken < 300)
			pthread_cond_wait(&b->not_empty, &b->lock);
		if (b->taken == 300) {
			pthread_cond_broadcast(&b->not_empty);
			pthread_mutex_unlock(&b->lock);
			return (void *)n;
		}
		b->sum += b->items[b->head];
		b->head = (b->head + 1) % 4;
		b->count--;
		b->taken++;
		n++;
		pthread_cond_signal(&b->not_full);
		pthread_mutex_unlock(&b->lock);
	}
}

START_TEST(producers_and_consumers_share_a_bounded_buffer)
{
	weft__green_set(true);
	struct buffer b = { .lock = PTHREAD_MUTEX_INITIALIZER,
			    .not_empty = PTHREAD_COND_INITIALIZER,
			    .not_full = PTHREAD_COND_INITIALIZER };
	pthread_t c[2], p[3];
	int before = os_threads();

	for (int i = 0; i < 2; i++)
		c[i] = tl_pthread(consume, &b, NULL);
	for (int i = 0; i < 3; i++)
		p[i] = tl_pthread(produce, &b, NULL);
	for (int i = 0; i < 3; i++)
		tl_pthread_join(p[i]);
	long n = (long)tl_pthread_join(c[0]) + (long)tl_pthread_join(c[1]);
	ck_assert_int_eq(n, 300);
	ck_assert_int_eq(b.sum, 3 * 5050);
	ck_assert_int_eq(os_threads(), before);
}
END_TEST

/* Parks until the semaphore is posted; counts itself in. */
static sem_t gate;
static volatile int inside;

static void *wait_at_gate(void *unused)
{
	(void)unused;
	inside++;
	sem_wait(&gate);
	return NULL;
}

START_TEST(pthread_create_makes_no_os_thread)
{
	weft__green_set(true);
	pthread_t t[50];
	int before = os_threads();

	sem_init(&gate, 0, 0);
	for (int i = 0; i < 50; i++)
		t[i] = tl_pthread(wait_at_gate, NULL, NULL);
	while (inside < 50)
		sched_yield();
	ck_assert_int_eq(os_threads(), before);
	for (int i = 0; i < 50; i++)
		sem_post(&gate);
	for (int i = 0; i < 50; i++)
		tl_pthread_join(t[i]);
}
END_TEST

static void *report_tid(void *p)
{
	__atomic_store_n((pid_t *)p, tid(), __ATOMIC_RELEASE); /* polled */
	usleep(20000);
	return p;
}

START_TEST(with_green_threads_off_pthread_create_makes_an_os_thread)
{
	pid_t other = 0;
	int before = os_threads();
	pthread_t t = tl_pthread(report_tid, &other, NULL);

	while (__atomic_load_n(&other, __ATOMIC_ACQUIRE) == 0)
		usleep(1000);
	ck_assert_int_eq(os_threads(), before + 1);
	ck_assert_int_ne(other, tid());
	ck_assert_ptr_eq(tl_pthread_join(t), &other);
}
END_TEST

/* ---- attributes, detach, exit -------------------------------------------- */

struct stack_seen {
	void *addr;
	size_t size;
	int detach;
	uintptr_t local; /* where a local variable of the thread was */
};

static void *look_at_own_stack(void *p)
{
	struct stack_seen *s = p;
	pthread_attr_t attr;
	char here;

	ck_assert_int_eq(pthread_getattr_np(pthread_self(), &attr), 0);
	pthread_attr_getstack(&attr, &s->addr, &s->size);
	pthread_attr_getdetachstate(&attr, &s->detach);
	pthread_attr_destroy(&attr);
	s->local = (uintptr_t)&here;
	return NULL;
}

START_TEST(a_set_stack_size_is_what_getattr_np_reports)
{
	weft__green_set(true);
	pthread_attr_t attr;
	struct stack_seen s = { 0 };
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, TL_SMALL_STACK);
	ck_assert_int_eq(pthread_create(&t, &attr, look_at_own_stack, &s), 0);
	pthread_attr_destroy(&attr);
	tl_pthread_join(t);
	ck_assert_uint_ge(s.size, TL_SMALL_STACK);
	ck_assert_uint_lt(s.size, TL_SMALL_STACK | 4095);
	ck_assert_int_eq(s.detach, PTHREAD_CREATE_JOINABLE);
	ck_assert(s.local > (uintptr_t)s.addr &&
		  s.local < (uintptr_t)s.addr + s.size);
}
END_TEST

START_TEST(an_unset_stack_size_gives_glibc_s_default)
{
	weft__green_set(true);
	pthread_attr_t attr, fresh;
	struct stack_seen s = { 0 };
	size_t glibc_default;
	pthread_t t;

	pthread_attr_init(&fresh);
	pthread_attr_getstacksize(&fresh, &glibc_default);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_JOINABLE);
	ck_assert_int_eq(pthread_create(&t, &attr, look_at_own_stack, &s), 0);
	tl_pthread_join(t);
	/* As glibc: its default (the soft RLIMIT_STACK), not WEFT_STACK_SIZE,
	 * which is for weft_go coroutines. */
	ck_assert_uint_eq(s.size, glibc_default);
}
END_TEST

START_TEST(a_stack_weft_cannot_give_fails_with_EAGAIN)
{
	weft__green_set(true);
	pthread_attr_t attr;
	struct stack_seen s = { 0 };
	pthread_t t;

	pthread_attr_init(&attr);
	ck_assert_int_eq(pthread_attr_setstacksize(&attr, (size_t)1 << 40), 0);
	ck_assert_int_eq(pthread_create(&t, &attr, look_at_own_stack, &s),
			 EAGAIN);
	pthread_attr_destroy(&attr);
}
END_TEST

static volatile int detached_done;

static void *note_done(void *p)
{
	struct stack_seen *s = p;

	if (s)
		look_at_own_stack(s);
	usleep(5000);
	detached_done++;
	return NULL;
}

START_TEST(detached_threads_run_and_cannot_be_joined)
{
	weft__green_set(true);
	pthread_attr_t attr;
	struct stack_seen s = { 0 };
	pthread_t a, b;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	ck_assert_int_eq(pthread_create(&a, &attr, note_done, &s), 0);
	b = tl_pthread(note_done, NULL, NULL);
	ck_assert_int_eq(pthread_detach(b), 0);
	ck_assert_int_eq(pthread_detach(b), EINVAL);
	ck_assert_int_eq(pthread_join(a, NULL), EINVAL);
	ck_assert_int_eq(pthread_join(b, NULL), EINVAL);
	while (detached_done < 2)
		usleep(1000);
	ck_assert_int_eq(s.detach, PTHREAD_CREATE_DETACHED);
}
END_TEST

static void *detach_self_then_end(void *unused)
{
	(void)unused;
	ck_assert_int_eq(pthread_detach(pthread_self()), 0);
	detached_done++;
	return NULL;
}

START_TEST(a_thread_may_detach_itself_and_an_ended_one_may_be_detached)
{
	weft__green_set(true);
	pthread_t a = tl_pthread(detach_self_then_end, NULL, NULL);
	pthread_t b = tl_pthread(note_done, NULL, NULL);

	while (detached_done < 2)
		usleep(1000);
	(void)a;
	/* b has ended but was not joined: detaching releases it. */
	ck_assert_int_eq(pthread_detach(b), 0);
}
END_TEST

/* stunnel's shutdown: a client thread detaches itself as it ends, and
 * main, which copied the list of threads before, joins it.  glibc says
 * EINVAL (the descriptor says detached); the call reaches glibc, since
 * weft forgot the thread as it ended, and must not wait on the tid of
 * the OS thread the green thread last ran on, which never ends. */
START_TEST(a_late_join_of_a_thread_that_detached_itself_fails_with_EINVAL)
{
	/* Without thread blocks a green thread's id is no glibc descriptor,
	 * and glibc's join of one weft forgot reads freed memory. */
	if (!weft__tcb_init(false))
		return;
	weft__green_set(true);
	detached_done = 0;
	pthread_t a = tl_pthread(detach_self_then_end, NULL, NULL);

	while (detached_done < 1)
		usleep(1000);
	usleep(1000); /* it has returned, and weft let it go */
	ck_assert_int_eq(pthread_join(a, NULL), EINVAL);
}
END_TEST

static void *exit_midway(void *p)
{
	*(int *)p = 1;
	pthread_exit((void *)42);
	*(int *)p = 2; /* never reached */
	return NULL;
}

START_TEST(pthread_exit_in_a_thread_ends_it_with_that_value)
{
	weft__green_set(true);
	int step = 0;
	pthread_t t = tl_pthread(exit_midway, &step, NULL);

	ck_assert_ptr_eq(tl_pthread_join(t), (void *)42);
	ck_assert_int_eq(step, 1);
}
END_TEST

static int report_fd;

static void *write_late(void *p)
{
	char c = (char)(intptr_t)p;

	usleep(20000 + 5000 * (c - 'a'));
	ck_assert_int_eq(write(report_fd, &c, 1), 1);
	return NULL;
}

START_TEST(pthread_exit_in_main_lets_the_threads_finish_then_exits_0)
{
	int fds[2];

#ifdef __SANITIZE_THREAD__
	return; /* its runtime's own thread never ends, nor then the process */
#endif

	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		weft__green_set(true);
		close(fds[0]);
		report_fd = fds[1];
		for (intptr_t c = 'a'; c <= 'c'; c++) {
			pthread_t t = tl_pthread(write_late, (void *)c, NULL);
			pthread_detach(t);
		}
		pthread_exit(NULL);
	}
	close(fds[1]);
	char got[8] = "";
	ssize_t n = 0, r;
	while ((r = read(fds[0], got + n, sizeof got - 1 - n)) > 0)
		n += r;
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_str_eq(got, "abc");
}
END_TEST

/* ---- join's errors -------------------------------------------------------- */

static void *sleep_ms(void *p)
{
	usleep((useconds_t)(intptr_t)p * 1000);
	return p;
}

START_TEST(join_errors_are_glibc_s)
{
	weft__green_set(true);
	pthread_t t = tl_pthread(sleep_ms, (void *)50, NULL);
	struct timespec bad = after_ms(CLOCK_REALTIME, 10);

	ck_assert_int_eq(pthread_join(pthread_self(), NULL), EDEADLK);
	ck_assert_int_eq(pthread_tryjoin_np(t, NULL), EBUSY);
	bad.tv_nsec = 1000000000;
	ck_assert_int_eq(pthread_timedjoin_np(t, NULL, &bad), EINVAL);
	struct timespec soon = after_ms(CLOCK_REALTIME, 10);
	int64_t t0 = mono_ns();
	ck_assert_int_eq(pthread_timedjoin_np(t, NULL, &soon), ETIMEDOUT);
	ck_assert_int_ge(mono_ns() - t0, 9 * MS);
	struct timespec later = after_ms(CLOCK_REALTIME, 5000);
	void *r = NULL;
	ck_assert_int_eq(pthread_timedjoin_np(t, &r, &later), 0);
	ck_assert_ptr_eq(r, (void *)50);
}
END_TEST

static void *self_join(void *unused)
{
	(void)unused;
	return (void *)(intptr_t)pthread_join(pthread_self(), NULL);
}

static pthread_t parent, child;
static volatile int parent_got = -1, child_got = -1;

static void *join_the_parent(void *unused)
{
	(void)unused;
	child_got = pthread_join(parent, NULL);
	return NULL;
}

static void *join_the_child(void *unused)
{
	(void)unused;
	child = tl_pthread(join_the_parent, NULL, NULL);
	sched_yield(); /* the child now waits to join us */
	parent_got = pthread_join(child, NULL);
	return NULL;
}

START_TEST(self_and_mutual_joins_fail_with_EDEADLK)
{
	weft__green_set(true);
	pthread_t t = tl_pthread(self_join, NULL, NULL);
	ck_assert_int_eq((intptr_t)tl_pthread_join(t), EDEADLK);
	/* The child joins its parent, which then tries to join it back: that
	 * fails, so the parent ends and the child's join succeeds. */
	parent = tl_pthread(join_the_child, NULL, NULL);
	while (child_got < 0)
		sched_yield();
	ck_assert_int_eq(parent_got, EDEADLK);
	ck_assert_int_eq(child_got, 0);
	tl_pthread_join(child);
}
END_TEST

START_TEST(tryjoin_of_an_ended_thread_succeeds)
{
	weft__green_set(true);
	pthread_t t = tl_pthread(sleep_ms, (void *)1, NULL);
	void *r = NULL;

	while (pthread_tryjoin_np(t, &r) == EBUSY)
		usleep(1000);
	ck_assert_ptr_eq(r, (void *)1);
}
END_TEST

/* ---- keys and once ------------------------------------------------------- */

static pthread_key_t key;
static int destroyed[8];
static int rounds;

static void destroy(void *value)
{
	destroyed[(intptr_t)value]++;
}

static void destroy_and_set_again(void *value)
{
	rounds++;
	if (rounds < 3)
		pthread_setspecific(key, value); /* one more round */
}

static void *use_key(void *p)
{
	ck_assert_ptr_null(pthread_getspecific(key));
	ck_assert_int_eq(pthread_setspecific(key, p), 0);
	sched_yield();
	ck_assert_ptr_eq(pthread_getspecific(key), p);
	return NULL;
}

START_TEST(keys_hold_a_value_per_thread_and_destructors_run_at_the_end)
{
	weft__green_set(true);
	pthread_t t[4];

	ck_assert_int_eq(pthread_key_create(&key, destroy), 0);
	ck_assert_uint_ge(key, PTHREAD_KEYS_MAX);
	for (intptr_t i = 0; i < 4; i++)
		t[i] = tl_pthread(use_key, (void *)(i + 1), NULL);
	for (int i = 0; i < 4; i++)
		tl_pthread_join(t[i]);
	for (int i = 1; i <= 4; i++)
		ck_assert_int_eq(destroyed[i], 1);
	ck_assert_int_eq(pthread_key_delete(key), 0);
	ck_assert_int_eq(pthread_key_delete(key), EINVAL);
	ck_assert_int_eq(pthread_setspecific(key, &key), EINVAL);
}
END_TEST

START_TEST(a_destructor_that_sets_the_value_again_runs_again)
{
	weft__green_set(true);
	ck_assert_int_eq(pthread_key_create(&key, destroy_and_set_again), 0);
	tl_pthread_join(tl_pthread(use_key, (void *)1, NULL));
	ck_assert_int_eq(rounds, 3);
}
END_TEST

START_TEST(a_key_made_before_green_threads_stays_glibc_s)
{
	pthread_key_t early;

	ck_assert_int_eq(pthread_key_create(&early, NULL), 0);
	ck_assert_uint_lt(early, PTHREAD_KEYS_MAX);
	weft__green_set(true);
	ck_assert_int_eq(pthread_setspecific(early, &early), 0);
	ck_assert_ptr_eq(pthread_getspecific(early), &early);
	ck_assert_ptr_eq(weft__libc()->pthread_getspecific(early), &early);
}
END_TEST

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_runs, init_done;

static void slow_init(void)
{
	init_runs++;
	usleep(30000); /* parks: the other callers run meanwhile */
	init_done = 1;
}

static void *call_once(void *unused)
{
	(void)unused;
	ck_assert_int_eq(pthread_once(&once, slow_init), 0);
	return (void *)(intptr_t)init_done;
}

START_TEST(once_runs_a_blocking_init_once_and_callers_wait_for_it)
{
	weft__green_set(true);
	pthread_t t[5];

	for (int i = 0; i < 5; i++)
		t[i] = tl_pthread(call_once, NULL, NULL);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq((intptr_t)tl_pthread_join(t[i]), 1);
	ck_assert_int_eq(init_runs, 1);
	ck_assert_int_eq(pthread_once(&once, slow_init), 0);
	ck_assert_int_eq(init_runs, 1);
}
END_TEST

/* ---- identity, names, signals ------------------------------------------- */

static void *return_self(void *unused)
{
	(void)unused;
	return (void *)pthread_self();
}

START_TEST(pthread_self_names_the_green_thread_and_main_keeps_its_own)
{
	weft__green_set(true);
	pthread_t t = tl_pthread(return_self, NULL, NULL);
	pthread_t seen = (pthread_t)tl_pthread_join(t);

	ck_assert(pthread_equal(seen, t));
	ck_assert(!pthread_equal(seen, pthread_self()));
	ck_assert(pthread_equal(pthread_self(), weft__libc()->pthread_self()));
}
END_TEST

static void *read_own_name(void *p)
{
	usleep(5000);
	ck_assert_int_eq(pthread_getname_np(pthread_self(), p, 16), 0);
	return NULL;
}

START_TEST(setname_and_getname_round_trip)
{
	weft__green_set(true);
	char name[16] = "", small[8];
	pthread_t t = tl_pthread(read_own_name, name, NULL);

	ck_assert_int_eq(pthread_setname_np(t, "worker-7"), 0);
	ck_assert_int_eq(pthread_setname_np(t, "sixteen-bytes-xx"), ERANGE);
	ck_assert_int_eq(pthread_getname_np(t, small, sizeof small), ERANGE);
	tl_pthread_join(t);
	ck_assert_str_eq(name, "worker-7");
}
END_TEST

/* The OS thread's real signal mask, straight from the kernel. */
static uint64_t real_mask(void)
{
	uint64_t set = 0;

	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &set, sizeof set);
	return set;
}

#define BIT(sig) ((uint64_t)1 << ((sig) - 1))

struct masks {
	sigset_t own, child;
	uint64_t os;
};

static void *report_mask(void *p)
{
	pthread_sigmask(SIG_BLOCK, NULL, p);
	return NULL;
}

static void *block_signals(void *p)
{
	struct masks *m = p;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGALRM);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	sched_yield();
	m->os = real_mask();
	pthread_sigmask(SIG_BLOCK, NULL, &m->own);
	tl_pthread_join(tl_pthread(report_mask, &m->child, NULL));
	ck_assert_int_eq(pthread_sigmask(99, &set, NULL), EINVAL);
	return NULL;
}

START_TEST(sigmask_in_a_thread_leaves_the_os_thread_s_mask_alone)
{
	weft__green_set(true);
	struct masks m;
	uint64_t before = real_mask();

	tl_pthread_join(tl_pthread(block_signals, &m, NULL));
	ck_assert_int_eq(sigismember(&m.own, SIGTERM), 1);
	ck_assert_int_eq(sigismember(&m.own, SIGALRM), 1);
	ck_assert_int_eq(sigismember(&m.child, SIGTERM), 1);
	ck_assert_uint_eq(m.os & (BIT(SIGTERM) | BIT(SIGALRM)), 0);
	ck_assert_uint_eq(real_mask(), before);
}
END_TEST

START_TEST(sigmask_in_main_is_the_real_one)
{
	weft__green_set(true);
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	ck_assert(real_mask() & BIT(SIGUSR2));
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	ck_assert(!(real_mask() & BIT(SIGUSR2)));
}
END_TEST

static volatile pid_t handled_on;
static pthread_t handled_by;

static void on_usr1(int sig)
{
	(void)sig;
	handled_on = tid();
	handled_by = pthread_self();
}

/* A signal with a handler goes to the green thread itself: the handler
 * runs as it, and ends its sleep (see test_signal.c). */
START_TEST(pthread_kill_probes_and_delivers_to_the_thread)
{
	weft__green_set(true);
	signal(SIGUSR1, on_usr1);
	pthread_t t = tl_pthread(sleep_ms, (void *)20000, NULL);

	ck_assert_int_eq(pthread_kill(t, 0), 0);
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	while (handled_on == 0)
		usleep(1000);
	ck_assert(pthread_equal(handled_by, t));
	ck_assert_int_eq(handled_on, tid()); /* one OS thread here */
	ck_assert_int_eq(pthread_kill(t, 1000), EINVAL);
	while (pthread_kill(t, 0) == 0)
		usleep(1000);
	ck_assert_int_eq(pthread_kill(t, 0), ESRCH);
	tl_pthread_join(t);
}
END_TEST

struct turn {
	struct trace *trace;
	int who;
};

static void *yield_in_turn(void *p)
{
	struct turn *t = p;

	for (int i = 0; i < 3; i++) {
		trace_add(t->trace, t->who);
		sched_yield();
	}
	return NULL;
}

START_TEST(sched_yield_lets_the_other_threads_run)
{
	weft__green_set(true);
	struct trace tr = { 0 };
	struct turn ta = { &tr, 0 }, tb = { &tr, 1 };
	pthread_t a = tl_pthread(yield_in_turn, &ta, NULL);
	pthread_t b = tl_pthread(yield_in_turn, &tb, NULL);

	tl_pthread_join(a);
	tl_pthread_join(b);
	ck_assert_int_eq(tr.n, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(tr.v[i], i % 2);
}
END_TEST

START_TEST(sched_yield_alone_is_the_real_call)
{
	weft__green_set(true);
	ck_assert_int_eq(sched_yield(), 0);
}
END_TEST

/* ---- cancellation ----------------------------------------------------- */

static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static sem_t never_posted;

static void *wait_for_ever(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&cancel_lock);
	pthread_cond_wait(&never, &cancel_lock);
	return NULL;
}

static void *sem_wait_for_ever(void *unused)
{
	(void)unused;
	sem_wait(&never_posted);
	return NULL;
}

static void *join_for_ever(void *p)
{
	pthread_join(*(pthread_t *)p, NULL);
	return NULL;
}

START_TEST(cancel_ends_threads_parked_at_cancellation_points)
{
	weft__green_set(true);
	sem_init(&never_posted, 0, 0);
	pthread_t a = tl_pthread(wait_for_ever, NULL, NULL);
	pthread_t b = tl_pthread(sem_wait_for_ever, NULL, NULL);
	pthread_t c = tl_pthread(join_for_ever, &b, NULL);

	usleep(10000);
	ck_assert_int_eq(pthread_cancel(a), 0);
	ck_assert_ptr_eq(tl_pthread_join(a), PTHREAD_CANCELED);
	/* As in glibc without a cleanup handler: the mutex stays locked. */
	ck_assert_int_eq(pthread_mutex_trylock(&cancel_lock), EBUSY);
	ck_assert_int_eq(pthread_cancel(c), 0);
	ck_assert_ptr_eq(tl_pthread_join(c), PTHREAD_CANCELED);
	ck_assert_int_eq(pthread_cancel(b), 0);
	ck_assert_ptr_eq(tl_pthread_join(b), PTHREAD_CANCELED);
}
END_TEST

static void *cancel_self_then_wait(void *p)
{
	pthread_cancel(pthread_self());
	*(int *)p = 1;
	sem_wait(&never_posted); /* acts on the cancel at once */
	*(int *)p = 2;
	return NULL;
}

START_TEST(a_pending_cancel_acts_at_the_next_cancellation_point)
{
	weft__green_set(true);
	int step = 0;

	sem_init(&never_posted, 0, 0);
	pthread_t self = tl_pthread(cancel_self_then_wait, &step, NULL);
	ck_assert_ptr_eq(tl_pthread_join(self), PTHREAD_CANCELED);
	ck_assert_int_eq(step, 1);
	pthread_t t = tl_pthread(sleep_ms, (void *)1, NULL);
	tl_pthread_join(t);
}
END_TEST

/* ---- a mutex shared with a real thread --------------------------------- */

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static long shared_count;

static void *add_many(void *unused)
{
	(void)unused;
	for (int i = 0; i < 20000; i++) {
		pthread_mutex_lock(&shared_lock);
		long v = shared_count;
		if (i % 1000 == 0)
			sched_yield(); /* let the others find it held */
		shared_count = v + 1;
		pthread_mutex_unlock(&shared_lock);
	}
	return NULL;
}

static void real_thread_adds(void *unused)
{
	add_many(unused);
}

START_TEST(a_mutex_shared_with_a_real_thread_counts_exactly)
{
	weft__green_set(true);
	pthread_t real;
	int before = os_threads();

	ck_assert_int_eq(weft_thread(&real, real_thread_adds, NULL), 0);
	pthread_t a = tl_pthread(add_many, NULL, NULL);
	pthread_t b = tl_pthread(add_many, NULL, NULL);
	tl_pthread_join(a);
	tl_pthread_join(b);
	ck_assert_int_eq(pthread_join(real, NULL), 0);
	ck_assert_int_eq(shared_count, 60000);
	ck_assert_int_le(os_threads(), before + 1);
}
END_TEST

/* ---- a thread-per-connection echo server --------------------------------- */

#define CLIENTS 100

static int echo_port;
static int served;

static void *serve_one(void *p)
{
	int fd = (int)(intptr_t)p;
	char buf[64];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		ck_assert_int_eq(write(fd, buf, (size_t)n), n);
	close(fd);
	served++;
	return NULL;
}

static void *accept_loop(void *p)
{
	int lfd = (int)(intptr_t)p;

	for (int i = 0; i < CLIENTS; i++) {
		int fd = accept(lfd, NULL, NULL);
		ck_assert_int_ge(fd, 0);
		pthread_t t;
		ck_assert_int_eq(pthread_create(&t, NULL, serve_one,
						(void *)(intptr_t)fd), 0);
		pthread_detach(t);
	}
	return NULL;
}

static void *client(void *p)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)echo_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char msg[32], got[32] = "";
	int len = snprintf(msg, sizeof msg, "hello %ld", (long)(intptr_t)p);

	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	usleep(1000); /* every connection is open at once */
	ck_assert_int_eq(write(fd, msg, (size_t)len), len);
	ssize_t n = 0, r;
	while (n < len && (r = read(fd, got + n, sizeof got - 1 - n)) > 0)
		n += r;
	ck_assert_str_eq(got, msg);
	close(fd);
	return NULL;
}

START_TEST(thread_per_connection_echo_server_serves_100_clients_on_one_os_thread)
{
	weft__green_set(true);
	int before = os_threads();
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;

	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(lfd, CLIENTS), 0);
	getsockname(lfd, (struct sockaddr *)&a, &len);
	echo_port = ntohs(a.sin_port);
	pthread_t server = tl_pthread(accept_loop, (void *)(intptr_t)lfd, NULL);
	pthread_t c[CLIENTS];
	for (intptr_t i = 0; i < CLIENTS; i++)
		c[i] = tl_pthread(client, (void *)i, NULL);
	for (int i = 0; i < CLIENTS; i++)
		tl_pthread_join(c[i]);
	tl_pthread_join(server);
	while (served < CLIENTS)
		usleep(1000);
	ck_assert_int_eq(os_threads(), before);
	close(lfd);
}
END_TEST

Suite *suite_green(void)
{
	Suite *s = suite_create("green");
	TCase *tc;

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, threads_run_and_join_gives_each_result);
	tcase_add_test(tc, producers_and_consumers_share_a_bounded_buffer);
	tcase_add_test(tc, pthread_create_makes_no_os_thread);
	tcase_add_test(tc, with_green_threads_off_pthread_create_makes_an_os_thread);
	tcase_add_test(tc, a_set_stack_size_is_what_getattr_np_reports);
	tcase_add_test(tc, an_unset_stack_size_gives_glibc_s_default);
	tcase_add_test(tc, a_stack_weft_cannot_give_fails_with_EAGAIN);
	tcase_add_test(tc, detached_threads_run_and_cannot_be_joined);
	tcase_add_test(tc, a_thread_may_detach_itself_and_an_ended_one_may_be_detached);
	tcase_add_test(tc, a_late_join_of_a_thread_that_detached_itself_fails_with_EINVAL);
	tcase_add_test(tc, pthread_exit_in_a_thread_ends_it_with_that_value);
	tcase_add_test(tc, pthread_exit_in_main_lets_the_threads_finish_then_exits_0);
	tcase_add_test(tc, join_errors_are_glibc_s);
	tcase_add_test(tc, self_and_mutual_joins_fail_with_EDEADLK);
	tcase_add_test(tc, tryjoin_of_an_ended_thread_succeeds);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys and once");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, keys_hold_a_value_per_thread_and_destructors_run_at_the_end);
	tcase_add_test(tc, a_destructor_that_sets_the_value_again_runs_again);
	tcase_add_test(tc, a_key_made_before_green_threads_stays_glibc_s);
	tcase_add_test(tc, once_runs_a_blocking_init_once_and_callers_wait_for_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity and signals");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, pthread_self_names_the_green_thread_and_main_keeps_its_own);
	tcase_add_test(tc, setname_and_getname_round_trip);
	tcase_add_test(tc, sigmask_in_a_thread_leaves_the_os_thread_s_mask_alone);
	tcase_add_test(tc, sigmask_in_main_is_the_real_one);
	tcase_add_test(tc, pthread_kill_probes_and_delivers_to_the_thread);
	tcase_add_test(tc, sched_yield_lets_the_other_threads_run);
	tcase_add_test(tc, sched_yield_alone_is_the_real_call);
	tcase_add_test(tc, cancel_ends_threads_parked_at_cancellation_points);
	tcase_add_test(tc, a_pending_cancel_acts_at_the_next_cancellation_point);
	suite_add_tcase(s, tc);

	tc = tcase_create("programs");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, a_mutex_shared_with_a_real_thread_counts_exactly);
	tcase_add_test(tc, thread_per_connection_echo_server_serves_100_clients_on_one_os_thread);
	suite_add_tcase(s, tc);
	return s;
}
