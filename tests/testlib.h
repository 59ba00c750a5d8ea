/* testlib.h - helpers the Check suites share.
 *
 * What more than one tests/test_*.c needs, done one way: time, the order
 * in which things happen, a coroutine that proves the thread was free,
 * signals, pipes and sockets, forked children, and the differential run
 * that does the same calls with libc alone and with weft and compares
 * what they gave.  Helpers that fail the test do so with Check's
 * ck_assert; the others say so.  Names are tl_ (testlib).
 */
#ifndef WEFT_TESTLIB_H
#define WEFT_TESTLIB_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <valgrind/valgrind.h> /* RUNNING_ON_VALGRIND: heavy tests scale
                                  down under valgrind; 0 elsewhere */

#include "weft.h"

#define MS ((int64_t)1000000)     /* a millisecond in nanoseconds */
#define SEC ((int64_t)1000000000) /* a second in nanoseconds */

/* ==== valgrind ========================================================== */

/* Whether the calling test (test names it: __func__) must leave out what
 * valgrind cannot emulate: timing it slows 20 to 50 times, its own
 * RLIMIT_NOFILE, system calls it lacks or checks in another order.
 * Under valgrind, says so on stderr in one line, with why, and returns
 * true; elsewhere returns false. */
bool tl_valgrind_cannot(const char *test, const char *why);

/* Ends the calling test, passed, under valgrind, saying why. */
#define TL_SKIP_UNDER_VALGRIND(why)                                          \
	do {                                                                  \
		if (tl_valgrind_cannot(__func__, why))                        \
			return;                                               \
	} while (0)

/* ==== Time and order ==================================================== */

/* Returns CLOCK_MONOTONIC in nanoseconds. */
int64_t tl_mono_ns(void);

/* Returns 1, 2, 3, ... on successive calls from any coroutine or thread:
 * the step at which something happened, to compare orders with. */
int tl_next_step(void);

/* Sleeps ns nanoseconds (nothing if ns <= 0): the OS thread with nanosleep
 * if thread, else the calling coroutine with weft_sleep. */
void tl_nap_ns(bool thread, int64_t ns);

/* Sleeps the OS thread ms milliseconds with the raw nanosleep system call,
 * again after EINTR: for children and workers, which must not touch a
 * scheduler. */
void tl_raw_sleep_ms(int ms);

/* A coroutine body (for weft_go): sets *(int *)arg to tl_next_step(), the
 * step at which it first ran. */
void tl_note_run(void *arg);

/* ==== Runners ===========================================================
 *
 * A peer in a test acts as a coroutine, or as a real thread where weft
 * must stay out of it (the plain runs of differential tests, calls made
 * outside any coroutine). */

/* How one peer runs. */
struct tl_runner {
	bool thread; /* a real thread, not a coroutine */
	pthread_t tid;
	weft_co *co;
};

/* Starts main(arg) in a new real thread if thread, else in a joinable
 * coroutine, and notes which in r.  Returns 0, or -1 if it could not. */
int tl_runner_start(struct tl_runner *r, void *(*main)(void *), void *arg,
		    bool thread);

/* Waits for r's thread or coroutine to end. */
void tl_runner_join(struct tl_runner *r);

/* Starts fn(arg) with pthread_create and attr (NULL: the defaults): a
 * green thread while green threads are on; fails the test if it cannot. */
pthread_t tl_pthread(void *(*fn)(void *), void *arg,
		     const pthread_attr_t *attr);

/* Joins t, failing the test if it cannot; returns what t returned. */
void *tl_pthread_join(pthread_t t);

/* ==== Tickers =========================================================== */

/* A coroutine that counts while others wait, until told to stop: proof
 * that the thread was free while another coroutine waited.  Zero it, then
 * either weft_go(tl_tick, &t) or weft_go(tl_tick_first, &t) and set stop,
 * or use tl_ticker_start and tl_ticker_stop. */
struct tl_ticker {
	weft_co *co; /* tl_ticker_start's coroutine */
	atomic_bool stop;
	atomic_int ticks;
};

/* A coroutine body: until t->stop, sleeps a millisecond, then counts one
 * in t->ticks, so ticks is how many whole milliseconds it was let run.
 * Under valgrind it also counts one as it first runs: its first run
 * there (code valgrind has not translated yet) can take longer than the
 * time-outs tests give the calls it runs beside, so that its first
 * count would come after them, and the proof that it ran with it. */
void tl_tick(void *ticker);

/* A coroutine body: until t->stop, counts one in t->ticks, then sleeps a
 * millisecond, so ticks is above 0 as soon as it has run at all. */
void tl_tick_first(void *ticker);

/* Zeroes t and starts tl_tick on it in a joinable coroutine; fails the
 * test if it cannot. */
void tl_ticker_start(struct tl_ticker *t);

/* Stops and joins t's coroutine; returns how often it ticked. */
int tl_ticker_stop(struct tl_ticker *t);

/* ==== Signals =========================================================== */

/* How often tl_on_signal ran. */
extern volatile sig_atomic_t tl_handled;

/* A signal handler that counts in tl_handled. */
void tl_on_signal(int sig);

/* A handler for tl_catch: one that takes the signal's number, or, with
 * SA_SIGINFO, its siginfo and context too; the two members of struct
 * sigaction's own union.  Either kind of function converts to it without
 * a cast. */
typedef union {
	void (*handler)(int);
	void (*action)(int, siginfo_t *, void *);
} tl_sighandler __attribute__((transparent_union));

/* Installs fn for sig with flags (SA_RESTART, say; with SA_SIGINFO fn is
 * the three-argument kind), blocking no other signal while it runs;
 * fails the test if sigaction does. */
void tl_catch(int sig, tl_sighandler fn, int flags);

/* Installs tl_on_signal for sig, without SA_RESTART; fails the test if
 * it cannot. */
void tl_catch_signal(int sig);

/* Blocks (how SIG_BLOCK) or unblocks (SIG_UNBLOCK) sig in the calling
 * thread with pthread_sigmask, leaving the others as they are; fails the
 * test if it cannot. */
void tl_mask(int how, int sig);

/* Blocks sig in the calling thread; fails the test if it cannot. */
void tl_block_signal(int sig);

/* Sends sig to thread t with pthread_kill every 5 ms, once *started is
 * set (started NULL: at once), until *done is set, or, if handled > 0,
 * until tl_handled reaches it (zeroed first); 10 s at most.  A signal
 * may reach a real thread before it is in its call, so a test of an
 * interrupted call sends until the call has ended.  Fails the test if a
 * send fails. */
void tl_kill_until(pthread_t t, int sig, _Atomic bool *started,
		   _Atomic bool *done, int handled);

/* Sends SIGALRM in ms milliseconds (setitimer), caught by
 * tl_on_signal; fails the test if it cannot. */
void tl_alarm_in(int ms);

/* ==== Files and sockets ================================================= */

/* For loop tests that compare: 0 runs natively (real threads), 1 with
 * green threads on a pool of two schedulers. */
void tl_threads_mode(int green);

/* tl_threads_mode for the tests of cancellation and thread ends, with
 * thread blocks on (tcb.h).  Returns false when the test must stop:
 * native threads under AddressSanitizer, which cannot follow glibc's
 * unwind of a native thread's stack (the thread's exit then trips on
 * marks left in it). */
bool tl_cancel_mode(int green);

/* Whether a cancelled or exiting thread unwinds in this run (its cleanup
 * handlers and destructors run): natively, or green with thread blocks. */
bool tl_unwinds(int green);

/* A TCP socket listening on 127.0.0.1, on a port the kernel picked;
 * fails the test if it cannot. */
int tl_listener(void);

/* Makes a pipe in p; fails the test if it cannot. */
void tl_make_pipe(int p[2]);

/* Makes a blocking unix stream socket pair whose s[0] cannot take another
 * byte; fails the test if it cannot. */
void tl_make_full_socket(int s[2]);

/* Sets or clears O_NONBLOCK on fd.  Returns 0, or -1 with fcntl's errno;
 * asserts nothing, so forked children may use it. */
int tl_set_nonblocking(int fd, bool on);

/* A small thread stack every architecture's glibc takes: 64 KiB, or
 * PTHREAD_STACK_MIN where that is more (128 KiB on aarch64). */
#define TL_SMALL_STACK                                                       \
	((size_t)PTHREAD_STACK_MIN > (64u << 10) ? (size_t)PTHREAD_STACK_MIN \
						 : (size_t)(64u << 10))

/* Returns the number of OS threads in this process (from /proc), not
 * counting ThreadSanitizer's own nor an emulator's (qemu-user's); fails
 * the test if it cannot read it.  Takes no lock: a threaded process's
 * fork child may call it. */
int tl_thread_count(void);

/* Returns the number of newlines in s. */
int tl_count_lines(const char *s);

/* ==== Traces ============================================================ */

/* Small integers appended in the order things happened, so that a test
 * can compare what happened with what should have.  n counts every add,
 * also those past the 64 kept. */
struct tl_trace {
	int n;
	int v[64];
};

/* Appends x to t (keeps it if there is room) and counts it. */
void tl_trace_add(struct tl_trace *t, int x);

/* ==== Forked children =================================================== */

/* Runs fn(arg) in a forked child whose stderr goes to a pipe, ending the
 * child with exit(fn's return value) as the C runtime does with main's.
 * Collects what the child wrote on stderr in out (up to outlen - 1 bytes,
 * NUL-terminated) and returns its wait status; fails the test if it
 * cannot make the pipe or fork. */
int tl_run_in_child(int (*fn)(void *), void *arg, char *out, size_t outlen);

/* Forks a child that first forgets the test's schedulers (so it is a plain
 * process whose calls weft passes through), then runs fn(arg, ready) and
 * ends with _exit(fn's return value).  fn closes ready, an fd, once it has
 * done what the parent must wait for (taken a lock, say).  Returns the
 * child's pid once ready is closed (or the child has ended), having
 * waited with libc's own read; fails the test if it cannot make the pipe
 * or fork. */
pid_t tl_fork_ready(int (*fn)(void *arg, int ready), void *arg);

/* Reaps child pid with libc's own waitpid (weft's would park, or use the
 * offload pool a test may be counting); fails the test unless the child
 * exited with status 0. */
void tl_reaped_ok(pid_t pid);

/* ==== Differential runs =================================================
 *
 * A script makes the same calls in the same order whether weft is on or
 * not and notes in a record what each gave; a test runs it both ways, each
 * in a forked child, and compares the records step by step. */

/* A script: fills rec, a zeroed record of the caller's type.  arg is the
 * caller's (a call or a kind, say).  weft false: no weft call at all, so
 * every wrapper passes through and peers are threads; true: peers are
 * coroutines, so the calls park. */
typedef void tl_script_fn(void *rec, int arg, bool weft);

/* Runs script(rec, arg, weft) in a forked child, rec being size zeroed
 * bytes shared with it, and copies them to out once the child has ended.
 * Fails the test ("the weft run ended with status ...") unless the child
 * exited with 0. */
void tl_run_script(tl_script_fn *script, int arg, bool weft, void *out,
		   size_t size);

/* What one step of a script gave: its line, result, errno (0 unless the
 * result is negative) and up to TL_UNIT bytes of the data it moved. */
#define TL_UNIT 8
struct tl_rec {
	int line;
	long ret;
	int err;
	unsigned char data[TL_UNIT];
};

/* Appends a step to r[*n] and counts it in *n, unless *n is already cap;
 * data (may be NULL) is what the call moved when ret > 0. */
void tl_note_at(struct tl_rec *r, int cap, int *n, int line, long ret,
		int err, const void *data);

/* tl_note_at on rc, a record with int n and struct tl_rec r[cap]. */
#define TL_NOTE_AT(rc, line, ret, err, data)                                  \
	tl_note_at((rc)->r, (int)(sizeof(rc)->r / sizeof(rc)->r[0]),          \
		   &(rc)->n, line, ret, err, data)

/* Notes in rc what ret gave, with errno as ret left it and the data it
 * moved. */
#define TL_NOTE(rc, ret, data)                                                \
	do {                                                                  \
		errno = 0;                                                    \
		long ret_ = (long)(ret);                                      \
		TL_NOTE_AT(rc, __LINE__, ret_, errno, data);                  \
	} while (0)

/* Fails the test, naming what and the first step that differs, unless the
 * plain run noted something and the woven run noted the same steps. */
void tl_compare_recs(const char *what, const struct tl_rec *plain,
		     int plain_n, const struct tl_rec *woven, int woven_n);

#endif
