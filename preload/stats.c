/* stats.c - the WEFT_STATS report at exit, and weft_dump.
 *
 * core/ counts (core/stats.c) and keeps the list of live coroutines; this
 * file writes them out.  Both reports go to stderr through the raw write system call, built in a
 * buffer first: never through stdio, which belongs to the program, and
 * never through weft's own write wrapper.  The exit report is one write,
 * so that it stays in one piece between other processes' output; the dump
 * is as few writes as its buffer allows.  Neither allocates, so weft_dump
 * is safe in a signal handler (WEFT_DUMP_SIGNAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "monitor.h"
#include "ownfd.h"
#include "pool.h"
#include "preload.h"
#include "stats.h"

/* ---- output ---- */

/* Where the exit report goes: a copy of stderr made at start, because
 * many programs close stderr on their way out (gnulib's close_stdout,
 * run by atexit, does in every coreutils program), before a library's
 * destructor runs.  The copy is close-on-exec and one of weft's own fds
 * (core/ownfd.h), at the top of the fd range: out of the way of the
 * program's fds, safe from its sweeps, and moved if it takes the
 * number. */
static int report_fd = 2;
static struct stat report_st; /* what report_fd was, to know it again */

/* Lets go of the copy's number fd: a new copy, or stderr itself if the
 * copy is gone.  Returns 0, or -1 with errno EMFILE. */
static int report_elsewhere(int fd, void *arg, bool lost)
{
	(void)arg;
	if (lost) {
		report_fd = 2;
		return 0;
	}
	int copy = weft__ownfd_copy(fd, NULL, report_elsewhere, NULL);
	if (copy < 0)
		return -1;
	report_fd = copy;
	return 0;
}

/* Writes all of buf[0..n) to fd with the raw system call. */
static void put_to(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		long w = syscall(SYS_write, fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* Writes all of buf[0..n) to stderr. */
static void put(const char *buf, size_t n)
{
	put_to(2, buf, n);
}

/* One "weft:   <label> <n>" line of the report, the numbers aligned. */
static void line(char *buf, size_t cap, const char *label, uint64_t n)
{
	size_t start = strlen(buf);

	weft__cat(buf, cap, "weft:   ");
	weft__cat(buf, cap, label);
	while (strlen(buf) - start < 32 && strlen(buf) + 1 < cap)
		weft__cat(buf, cap, " ");
	weft__cat(buf, cap, " ");
	weft__cat_u64(buf, cap, n);
	weft__cat(buf, cap, "\n");
}

/* One scheduler's line: its OS thread, whether it is in the pool, the
 * coroutines made for it, its switches and its peak, and the coroutines
 * that changed threads: with it (hand-offs) or from it (given). */
static void sched_line(char *buf, size_t cap, const struct weft__stats *st,
		       unsigned i)
{
	weft__cat(buf, cap, "weft:     tid ");
	weft__cat_u64(buf, cap, (uint64_t)st->scheds[i].tid);
	weft__cat(buf, cap, st->scheds[i].pooled ? " (pool): " : ": ");
	weft__cat_u64(buf, cap, st->scheds[i].created);
	weft__cat(buf, cap, " coroutines, ");
	weft__cat_u64(buf, cap, st->scheds[i].switches);
	weft__cat(buf, cap, " switches, peak ");
	weft__cat_u64(buf, cap, st->scheds[i].peak_live);
	if (st->scheds[i].handoffs) {
		weft__cat(buf, cap, ", ");
		weft__cat_u64(buf, cap, st->scheds[i].handoffs);
		weft__cat(buf, cap, " hand-offs");
	}
	if (st->scheds[i].gave) {
		weft__cat(buf, cap, ", gave ");
		weft__cat_u64(buf, cap, st->scheds[i].gave);
		weft__cat(buf, cap, " to idle ones");
	}
	weft__cat(buf, cap, "\n");
}

/* The monitor's hand-offs (core/monitor.h): their count, and the latest,
 * each with the coroutine that held its thread, for how long, and in
 * which system call (or running). */
static void held_lines(char *buf, size_t cap)
{
	struct weft__held h[4];
	uint64_t total;
	unsigned n = weft__monitor_recent(h, 4, &total);

	if (total == 0)
		return;
	weft__cat(buf, cap, "weft:   hand-offs of a held thread: ");
	weft__cat_u64(buf, cap, total);
	weft__cat(buf, cap, n ? "; latest:\n" : "\n");
	for (unsigned i = 0; i < n; i++) {
		weft__cat(buf, cap, "weft:     coroutine ");
		weft__cat_u64(buf, cap, h[i].co);
		weft__cat(buf, cap, " held tid ");
		weft__cat_u64(buf, cap, (uint64_t)h[i].tid);
		weft__cat(buf, cap, " for ");
		weft__cat_u64(buf, cap, (uint64_t)(h[i].ns / 1000000));
		if (h[i].syscall < 0) {
			weft__cat(buf, cap, " ms, running\n");
		} else {
			weft__cat(buf, cap, " ms, in system call ");
			weft__cat_u64(buf, cap, (uint64_t)h[i].syscall);
			weft__cat(buf, cap, "\n");
		}
	}
}

/* The report: what the process did, on stderr in one write. */
static void report(void)
{
	static struct weft__stats st; /* large; the exit may be on a coroutine */
	char buf[8192] = "weft: statistics of pid ";
	uint64_t waits = 0;

	weft__stats_get(&st);
	for (unsigned i = 0; i < st.nwaits; i++)
		waits += st.waits[i].count;
	weft__cat_u64(buf, sizeof buf, (uint64_t)getpid());
	weft__cat(buf, sizeof buf, " (");
	weft__cat(buf, sizeof buf, program_invocation_short_name);
	weft__cat(buf, sizeof buf, ")\n");
	line(buf, sizeof buf, "coroutines created", st.created);
	line(buf, sizeof buf, "peak live coroutines", st.peak_live);
	line(buf, sizeof buf, "context switches", st.switches);
	line(buf, sizeof buf, "schedulers", st.nscheds);
	for (unsigned i = 0; i < st.nscheds && i < 64; i++)
		sched_line(buf, sizeof buf, &st, i);
	held_lines(buf, sizeof buf);
	line(buf, sizeof buf, "waits", waits);
	for (unsigned i = 0; i < st.nwaits; i++) {
		char label[64] = "  ";
		weft__cat(label, sizeof label, st.waits[i].what);
		line(buf, sizeof buf, label, st.waits[i].count);
	}
	/* A program that closed every fd (closefrom) may have reused the
	 * copy's number for a file of its own: never write into that. */
	struct stat now;
	int fd = report_fd;
	if (fd != 2 && (fstat(fd, &now) < 0 ||
			now.st_dev != report_st.st_dev ||
			now.st_ino != report_st.st_ino))
		fd = 2;
	put_to(fd, buf, strlen(buf));
}

/* At exit, after the program's own atexit handlers (a destructor of a
 * library runs after them), so that their waits count too.  A process
 * that ends in _exit or exec reports nothing. */
__attribute__((destructor)) static void report_at_exit(void)
{
	if (weft__stats_on)
		report();
}

/* See stats.h. */
void weft__stats_start(void)
{
	weft__stats_on = true;
	if (report_fd == 2) {
		int fd = weft__ownfd_copy(2, NULL, report_elsewhere, NULL);
		if (fd >= 0 && fstat(fd, &report_st) == 0)
			report_fd = fd;
		else if (fd >= 0)
			weft__ownfd_close(fd);
	}
}

/* See preload.h.  The copy of stderr would keep a pipe the parent's
 * caller reads open for as long as this child lives (a daemon that
 * closed 0, 1 and 2); the child reports to its stderr instead. */
void weft__stats_forked(void)
{
	if (report_fd != 2) {
		weft__ownfd_close(report_fd);
		report_fd = 2;
	}
}

/* ---- the dump ---- */

/* The dump's text, built in place; static, so that a signal handler
 * running on a small stack can make it.  dump_busy keeps two threads (or
 * a signal landing in a dump) from sharing it: the second one is
 * skipped. */
static char dump_buf[8192];
static atomic_flag dump_busy = ATOMIC_FLAG_INIT;

/* Sends what the buffer holds once it is nearly full. */
static void dump_flush(bool force)
{
	size_t n = strlen(dump_buf);

	if (force || n > sizeof dump_buf - 512) {
		put(dump_buf, n);
		dump_buf[0] = '\0';
	}
}

static const char *state_name(enum weft__state state)
{
	switch (state) {
	case WEFT__RUNNABLE: return "runnable";
	case WEFT__RUNNING: return "running";
	case WEFT__PARKED: return "parked";
	case WEFT__DONE: return "done";
	}
	return "unknown";
}

/* One coroutine's line: "#7 "name" parked in read, fd 5, deadline in
 * 30 ms", and ", on tid 1234" when there is a pool. */
static void dump_co(struct weft__co *co, void *arg)
{
	const size_t cap = sizeof dump_buf;
	unsigned *count = arg;

	(*count)++;
	weft__cat(dump_buf, cap, "weft:   #");
	weft__cat_u64(dump_buf, cap, co->id);
	weft__cat(dump_buf, cap, co->slot == NULL ? " (root)" : "");
	if (co->name[0]) {
		weft__cat(dump_buf, cap, " \"");
		weft__cat(dump_buf, cap, co->name);
		weft__cat(dump_buf, cap, "\"");
	}
	weft__cat(dump_buf, cap, " ");
	weft__cat(dump_buf, cap, state_name(co->state));
	if (co->state == WEFT__PARKED) {
		const char *what = co->wait_what;
		weft__cat(dump_buf, cap, " in ");
		weft__cat(dump_buf, cap, what ? what : "a wait");
		if (co->wait_fd >= 0) {
			weft__cat(dump_buf, cap, ", fd ");
			weft__cat_u64(dump_buf, cap, (uint64_t)co->wait_fd);
		}
		if (ev_is_active(&co->timer) && co->sched) {
			ev_tstamp left = ev_timer_remaining(
				weft__loop(co->sched), &co->timer);
			weft__cat(dump_buf, cap, ", deadline in ");
			weft__cat_u64(dump_buf, cap,
				      left > 0 ? (uint64_t)(left * 1e3) : 0);
			weft__cat(dump_buf, cap, " ms");
		}
	}
	if (weft__pool_members() > 1 && co->sched) {
		weft__cat(dump_buf, cap, ", on tid ");
		weft__cat_u64(dump_buf, cap,
			      (uint64_t)weft__sched_tid(co->sched));
	}
	weft__cat(dump_buf, cap, "\n");
	dump_flush(false);
}

/* See stats.h. */
void weft_dump(void)
{
	int saved = errno;
	unsigned count = 0;

	if (atomic_flag_test_and_set(&dump_busy)) {
		errno = saved;
		return;
	}
	dump_buf[0] = '\0';
	weft__cat(dump_buf, sizeof dump_buf, "weft: coroutines of pid ");
	weft__cat_u64(dump_buf, sizeof dump_buf, (uint64_t)getpid());
	weft__cat(dump_buf, sizeof dump_buf, " (");
	weft__cat(dump_buf, sizeof dump_buf, program_invocation_short_name);
	weft__cat(dump_buf, sizeof dump_buf, "):\n");
	if (!weft__each_co(dump_co, &count))
		weft__cat(dump_buf, sizeof dump_buf,
			  "weft:   busy (a thread is starting or closing an fd);"
			  " try again\n");
	else if (count == 0)
		weft__cat(dump_buf, sizeof dump_buf, "weft:   none\n");
	dump_flush(false);
	held_lines(dump_buf, sizeof dump_buf);
	dump_flush(true);
	atomic_flag_clear(&dump_busy);
	errno = saved;
}

static void on_dump_signal(int sig)
{
	(void)sig;
	weft_dump();
}

/* See stats.h.  SA_RESTART: the dump must not make the program's own
 * calls fail with EINTR. */
int weft__dump_on_signal(int sig)
{
	struct sigaction sa;

	if (sig == 0)
		return 0;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_dump_signal;
	sa.sa_flags = SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}
