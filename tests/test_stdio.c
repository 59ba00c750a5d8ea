/* test_stdio.c - stdio on pipes and sockets (hook/stdio*.c): reads that
 * need the buffer refilled and writes that need it flushed park the
 * calling coroutine, every refill and every flush of a long transfer,
 * while a ticking coroutine on the same thread keeps running; data
 * already buffered is served without parking; outside a coroutine the
 * calls are libc's; EOF and errors are libc's.
 *
 * Loop tests run over a (call, kind) pair: _i / NKINDS picks the call and
 * _i % NKINDS the kind; failure messages name both. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

enum kind { PIPE, STREAM, NKINDS };

static const char *const kind_name[NKINDS] = { "pipe", "unix stream" };

/* A one-way channel: what is written to w is read from r. */
struct chan {
	int r, w;
};

static void open_chan(struct chan *c, int k)
{
	int fds[2];

	if (k == PIPE)
		ck_assert_int_eq(pipe(fds), 0);
	else
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	c->r = fds[0];
	c->w = fds[1];
}

/* A coroutine that writes parts of a text with a pause before each, then
 * closes its end if told to. */
struct peer {
	int fd;
	const char *parts[4]; /* NULL-ended */
	bool close_after;
	int at;               /* tl_next_step() when its last part went */
	weft_co *co;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	for (int i = 0; i < 4 && p->parts[i] != NULL; i++) {
		weft_sleep(5 * MS);
		size_t n = strlen(p->parts[i]);
		if (write(p->fd, p->parts[i], n) != (ssize_t)n)
			return (void *)1;
	}
	p->at = tl_next_step();
	if (p->close_after)
		close(p->fd);
	return NULL;
}

static void peer_start(struct peer *p)
{
	p->co = weft_spawn(peer_main, p, 0);
	ck_assert_ptr_nonnull(p->co);
}

static void peer_join(struct peer *p)
{
	void *r;

	ck_assert_int_eq(weft_join(p->co, &r), 0);
	ck_assert_ptr_null(r);
}

/* ---- the reading calls -------------------------------------------------- */

enum rcall { FGETS, FGETS_UNLOCKED, GETLINE, GETDELIM, FGETC, GETC,
	     GETC_UNLOCKED, GETCHAR, FREAD, FREAD_UNLOCKED, FSCANF, NRCALLS };

static const char *const rcall_name[NRCALLS] = {
	"fgets", "fgets_unlocked", "getline", "getdelim", "fgetc", "getc",
	"getc_unlocked", "getchar", "fread", "fread_unlocked", "fscanf",
};

/* What one reading call gave: its text (NUL-ended), the result (a
 * count, a byte, or -1 for NULL/EOF), errno, and the stream's flags. */
struct got {
	char text[64];
	long r;
	int err;
	bool eof, error;
};

/* Reads the line "hello world\n" (or what there is of it) from fp with
 * call: the whole line, except fgetc and friends (one byte) and fscanf
 * (one word). */
static struct got read_with(int call, FILE *fp)
{
	struct got g = { .r = -1 };
	char *line = NULL;
	size_t cap = 0;
	int c;

	errno = 0;
	switch (call) {
	case FGETS:
		g.r = fgets(g.text, sizeof g.text, fp) ? (long)strlen(g.text)
						      : -1;
		break;
	case FGETS_UNLOCKED:
		g.r = fgets_unlocked(g.text, sizeof g.text, fp) ?
		      (long)strlen(g.text) : -1;
		break;
	case GETLINE:
	case GETDELIM:
		g.r = call == GETLINE ? getline(&line, &cap, fp)
				      : getdelim(&line, &cap, '\n', fp);
		if (g.r > 0)
			snprintf(g.text, sizeof g.text, "%s", line);
		free(line);
		break;
	case FGETC:
	case GETC:
	case GETC_UNLOCKED:
	case GETCHAR:
		if (call == GETCHAR) {
			FILE *in = stdin;
			stdin = fp;
			c = getchar();
			stdin = in;
		} else {
			c = call == FGETC ? fgetc(fp) :
			    call == GETC ? getc(fp) : getc_unlocked(fp);
		}
		g.r = c;
		if (c != EOF)
			g.text[0] = (char)c;
		break;
	case FREAD:
	case FREAD_UNLOCKED:
		g.r = (long)(call == FREAD ? fread(g.text, 1, 12, fp) :
			     fread_unlocked(g.text, 1, 12, fp));
		break;
	case FSCANF:
		g.r = fscanf(fp, "%63s", g.text);
		break;
	}
	bool failed = g.r < 0 || (call <= GETDELIM && g.r == 0) ||
		      ((call == FREAD || call == FREAD_UNLOCKED) && g.r < 12);
	g.err = failed ? errno : 0;
	g.eof = feof(fp);
	g.error = ferror(fp);
	return g;
}

/* What read_with gives for "hello world\n". */
static const char *expected(int call)
{
	switch (call) {
	case FGETC:
	case GETC:
	case GETC_UNLOCKED:
	case GETCHAR:
		return "h";
	case FSCANF:
		return "hello";
	default:
		return "hello world\n";
	}
}

static FILE *open_read(struct chan *c, int k)
{
	open_chan(c, k);
	FILE *fp = fdopen(c->r, "r");
	ck_assert_ptr_nonnull(fp);
	return fp;
}

START_TEST(read_parks_for_every_refill_until_the_peer_writes)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	FILE *fp = open_read(&c, k);
	struct tl_ticker t;
	/* The line comes in three parts: all but fscanf's parser (which
	 * refills by itself after its first refill) see every one. */
	struct peer p = { .fd = c.w, .parts = { "hel", "lo wor", "ld\n" } };

	if (call == FSCANF)
		p.parts[0] = "hello world\n", p.parts[1] = NULL;
	tl_ticker_start(&t);
	peer_start(&p);
	struct got g = read_with(call, fp);
	int after = tl_next_step();
	ck_assert_msg(strcmp(g.text, expected(call)) == 0,
		      "%s on a %s gave \"%s\" (%ld, %s)", rcall_name[call],
		      kind_name[k], g.text, g.r, strerror(g.err));
	if (call != FGETC && call != GETC && call != GETC_UNLOCKED &&
	    call != GETCHAR)
		ck_assert_msg(p.at > 0 && p.at < after,
			      "%s on a %s returned before the line was whole",
			      rcall_name[call], kind_name[k]);
	ck_assert_msg(tl_ticker_stop(&t) > 0,
		      "%s on a %s held the thread while it waited",
		      rcall_name[call], kind_name[k]);
	peer_join(&p);
	fclose(fp);
	close(c.w);
}
END_TEST

START_TEST(read_of_buffered_data_does_not_park)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	FILE *fp = open_read(&c, k);
	int ran = 0;

	ck_assert_int_eq(write(c.w, "hello world\n", 12), 12);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	struct got g = read_with(call, fp);
	ck_assert_str_eq(g.text, expected(call));
	ck_assert_msg(ran == 0, "%s on a %s parked with data there",
		      rcall_name[call], kind_name[k]);
	weft_yield();
	ck_assert_int_ne(ran, 0);
	fclose(fp);
	close(c.w);
}
END_TEST

START_TEST(read_returns_EOF_when_the_peer_closes_while_it_waits)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	FILE *fp = open_read(&c, k);
	struct peer p = { .fd = c.w, .close_after = true };

	peer_start(&p);
	struct got g = read_with(call, fp);
	ck_assert_msg(g.r <= 0 && g.eof && !g.error,
		      "%s on a %s at EOF: %ld eof %d error %d",
		      rcall_name[call], kind_name[k], g.r, g.eof, g.error);
	peer_join(&p);
	/* EOF sticks, as in glibc, also once the peer is gone. */
	g = read_with(call, fp);
	ck_assert(g.r <= 0 && g.eof);
	fclose(fp);
}
END_TEST

/* A coroutine that closes fd after a pause. */
static void *closer_main(void *arg)
{
	weft_sleep(5 * MS);
	close(*(int *)arg);
	return NULL;
}

START_TEST(read_fails_with_EBADF_when_another_coroutine_closes_the_fd)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	FILE *fp = open_read(&c, k);
	weft_co *co = weft_spawn(closer_main, &c.r, 0);

	ck_assert_ptr_nonnull(co);
	struct got g = read_with(call, fp);
	ck_assert_msg(g.r <= 0 && g.error && g.err == EBADF,
		      "%s on a %s closed meanwhile: %ld (%s) error %d",
		      rcall_name[call], kind_name[k], g.r, strerror(g.err),
		      g.error);
	ck_assert_int_eq(weft_join(co, NULL), 0);
	fclose(fp); /* EBADF from its close, as natively */
	close(c.w);
}
END_TEST

/* ---- the same calls as plain libc gives them ---------------------------- */

/* Everything a sequence of reading calls gave, for comparing runs. */
struct story {
	struct got g[16];
};

/* The sequence: lines and bytes, ungetc, a line with no newline before
 * EOF, reads at EOF, clearerr, then reads of a stream whose fd is closed
 * behind its back. */
static void tell(struct story *st)
{
	struct chan c;
	int i = 0;

	open_chan(&c, STREAM);
	FILE *fp = fdopen(c.r, "r");
	ck_assert_ptr_nonnull(fp);
	const char text[] = "hello world\nhello world\nhello world\nhel";
	ck_assert_int_eq(write(c.w, text, sizeof text - 1),
			 (ssize_t)sizeof text - 1);
	close(c.w);
	st->g[i++] = read_with(FGETC, fp);
	ungetc('H', fp);
	st->g[i++] = read_with(FGETS, fp);
	st->g[i++] = read_with(FSCANF, fp);
	st->g[i++] = read_with(GETLINE, fp);
	st->g[i++] = read_with(FREAD, fp);
	st->g[i++] = read_with(FGETS, fp);
	st->g[i++] = read_with(GETDELIM, fp);
	clearerr(fp);
	st->g[i++] = read_with(GETC, fp);
	/* The fd closed under the stream: glibc's read says EBADF. */
	FILE *gone;
	open_chan(&c, PIPE);
	gone = fdopen(c.r, "r");
	ck_assert_ptr_nonnull(gone);
	close(c.r);
	for (int call = FGETS; call < NRCALLS; call++) {
		if (i < 16)
			st->g[i++] = read_with(call, gone);
		clearerr(gone);
	}
	fclose(gone);
	fclose(fp);
	close(c.w);
}

static void *tell_in_thread(void *arg)
{
	tell(arg);
	return NULL;
}

START_TEST(reads_give_what_plain_libc_gives)
{
	struct story plain, woven;
	struct tl_ticker t;
	pthread_t tid;

	memset(&plain, 0, sizeof plain);
	memset(&woven, 0, sizeof woven);
	/* A thread with no scheduler: every call is libc's own. */
	ck_assert_int_eq(pthread_create(&tid, NULL, tell_in_thread, &plain),
			 0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	tl_ticker_start(&t); /* not alone: the wrappers take over */
	tell(&woven);
	tl_ticker_stop(&t);
	for (int i = 0; i < 16; i++) {
		const struct got *a = &plain.g[i], *b = &woven.g[i];
		ck_assert_msg(a->r == b->r && a->err == b->err &&
			      a->eof == b->eof && a->error == b->error &&
			      memcmp(a->text, b->text, sizeof a->text) == 0,
			      "step %d: libc gave %ld \"%s\" (%s) eof %d "
			      "error %d, weft %ld \"%s\" (%s) eof %d error %d",
			      i, a->r, a->text, strerror(a->err), a->eof,
			      a->error, b->r, b->text, strerror(b->err), b->eof,
			      b->error);
	}
}
END_TEST

/* Reads in a thread with no scheduler: libc's own call, which blocks
 * that thread until the main thread writes. */
struct plain_read {
	int call;
	FILE *fp;
	struct got g;
};

static void *plain_read_main(void *arg)
{
	struct plain_read *pr = arg;

	pr->g = read_with(pr->call, pr->fp);
	return NULL;
}

START_TEST(read_outside_a_coroutine_passes_through)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	FILE *fp = open_read(&c, k);
	struct plain_read pr = { .call = call, .fp = fp };
	pthread_t tid;

	ck_assert_int_eq(pthread_create(&tid, NULL, plain_read_main, &pr), 0);
	tl_raw_sleep_ms(5);
	ck_assert_int_eq(write(c.w, "hello world\n", 12), 12);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert_str_eq(pr.g.text, expected(call));
	fclose(fp);
	close(c.w);
}
END_TEST

/* ---- long transfers: a refill or flush at a time, each parked ---------- */

#define BIG (1 << 20)

/* A coroutine that writes BIG bytes in 64 KiB pieces, pausing between,
 * or (drain) reads them the same way. */
struct bulk {
	int fd;
	bool drain;
	size_t done;
	unsigned sum;
	weft_co *co;
};

static void *bulk_main(void *arg)
{
	struct bulk *b = arg;
	static char piece[65536];

	while (b->done < BIG) {
		weft_sleep(MS);
		size_t n = BIG - b->done < sizeof piece ? BIG - b->done
							: sizeof piece;
		if (!b->drain) {
			for (size_t i = 0; i < n; i++)
				piece[i] = (char)((b->done + i) * 7);
		}
		ssize_t r = b->drain ? read(b->fd, piece, n)
				     : write(b->fd, piece, n);
		if (r <= 0)
			break;
		for (ssize_t i = 0; b->drain && i < r; i++)
			b->sum = b->sum * 31 + (unsigned char)piece[i];
		b->done += (size_t)r;
	}
	return NULL;
}

START_TEST(fread_of_a_megabyte_parks_for_every_piece)
{
	int k = _i;
	struct chan c;
	FILE *fp = open_read(&c, k);
	struct bulk b = { .fd = c.w };
	struct tl_ticker t;
	char *buf = malloc(BIG);

	tl_ticker_start(&t);
	b.co = weft_spawn(bulk_main, &b, 0);
	ck_assert_ptr_nonnull(b.co);
	ck_assert_uint_eq(fread(buf, 1, BIG, fp), BIG);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
	ck_assert_int_eq(weft_join(b.co, NULL), 0);
	for (size_t i = 0; i < BIG; i++)
		if (buf[i] != (char)(i * 7))
			ck_abort_msg("byte %zu is wrong", i);
	free(buf);
	fclose(fp);
	close(c.w);
}
END_TEST

START_TEST(fwrite_of_a_megabyte_parks_while_the_reader_is_slow)
{
	int k = _i;
	struct chan c;
	struct bulk b = { .drain = true };
	struct tl_ticker t;
	char *buf = malloc(BIG);
	unsigned sum = 0;

	open_chan(&c, k);
	b.fd = c.r;
	FILE *fp = fdopen(c.w, "w");
	ck_assert_ptr_nonnull(fp);
	for (size_t i = 0; i < BIG; i++) {
		buf[i] = (char)(i * 7);
		sum = sum * 31 + (unsigned char)buf[i];
	}
	tl_ticker_start(&t);
	b.co = weft_spawn(bulk_main, &b, 0);
	ck_assert_ptr_nonnull(b.co);
	/* A few bytes first, so the rest is not aligned on the buffer. */
	ck_assert_uint_eq(fwrite(buf, 1, 3, fp), 3);
	ck_assert_uint_eq(fwrite(buf + 3, 1, BIG - 3, fp), BIG - 3);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
	ck_assert_int_eq(weft_join(b.co, NULL), 0);
	ck_assert_uint_eq(b.done, BIG);
	ck_assert_uint_eq(b.sum, sum);
	free(buf);
	close(c.r);
}
END_TEST

/* ---- the writing calls -------------------------------------------------- */

enum wcall { FWRITE, FWRITE_UNLOCKED, FPUTS, FPUTS_UNLOCKED, PUTS, FPUTC,
	     PUTC, PUTC_UNLOCKED, PUTCHAR, FPRINTF, VFPRINTF, PRINTF, FFLUSH,
	     FCLOSE, NWCALLS };

static const char *const wcall_name[NWCALLS] = {
	"fwrite", "fwrite_unlocked", "fputs", "fputs_unlocked", "puts",
	"fputc", "putc", "putc_unlocked", "putchar", "fprintf", "vfprintf",
	"printf", "fflush", "fclose",
};

static int vfprintf_of(FILE *fp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = vfprintf(fp, fmt, ap);
	va_end(ap);
	return r;
}

/* Writes "hi\n" to fp with call, fp being unbuffered, so the call itself
 * writes (fflush and fclose: fully buffered, and they write).  Returns
 * whether the call said it succeeded; fp is closed after FCLOSE. */
static bool write_with(int call, FILE *fp)
{
	FILE *out = stdout;
	bool ok = false;

	if (call == PUTS || call == PUTCHAR || call == PRINTF)
		stdout = fp;
	switch (call) {
	case FWRITE:
		ok = fwrite("hi\n", 1, 3, fp) == 3;
		break;
	case FWRITE_UNLOCKED:
		ok = fwrite_unlocked("hi\n", 1, 3, fp) == 3;
		break;
	case FPUTS:
		ok = fputs("hi\n", fp) == 1;
		break;
	case FPUTS_UNLOCKED:
		ok = fputs_unlocked("hi\n", fp) == 1;
		break;
	case PUTS:
		ok = puts("hi") == 3;
		break;
	case FPUTC:
		ok = fputc('h', fp) == 'h' && fputc('i', fp) == 'i' &&
		     fputc('\n', fp) == '\n';
		break;
	case PUTC:
		ok = putc('h', fp) == 'h' && putc('i', fp) == 'i' &&
		     putc('\n', fp) == '\n';
		break;
	case PUTC_UNLOCKED:
		ok = putc_unlocked('h', fp) == 'h' &&
		     putc_unlocked('i', fp) == 'i' &&
		     putc_unlocked('\n', fp) == '\n';
		break;
	case PUTCHAR:
		ok = putchar('h') == 'h' && putchar('i') == 'i' &&
		     putchar('\n') == '\n';
		break;
	case FPRINTF:
		ok = fprintf(fp, "%s%c\n", "h", 'i') == 3;
		break;
	case VFPRINTF:
		ok = vfprintf_of(fp, "%s%c\n", "h", 'i') == 3;
		break;
	case PRINTF:
		ok = printf("%s%c\n", "h", 'i') == 3;
		break;
	case FFLUSH:
		ok = fputs("hi\n", fp) == 1 && fflush(fp) == 0;
		break;
	case FCLOSE:
		ok = fputs("hi\n", fp) == 1 && fclose(fp) == 0;
		break;
	}
	stdout = out;
	return ok;
}

/* A coroutine that, after a pause, reads what fills a full socket or
 * pipe and then the "hi\n" a writer put behind it. */
struct drainer {
	int fd;
	size_t filled;
	char tail[4];
	int at;
	weft_co *co;
};

static void *drainer_main(void *arg)
{
	struct drainer *d = arg;
	static char sink[65536];
	size_t got = 0, want = d->filled + 3;

	weft_sleep(5 * MS);
	d->at = tl_next_step();
	while (got < want) {
		ssize_t r = read(d->fd, sink, sizeof sink);
		if (r <= 0)
			return (void *)1;
		for (ssize_t i = 0; i < r; i++, got++)
			if (got >= d->filled)
				d->tail[got - d->filled] = sink[i];
	}
	return NULL;
}

/* Fills fd (blocking) until another byte would block; returns how many
 * went in. */
static size_t fill(int fd)
{
	static const char zeros[4096];
	size_t total = 0;
	ssize_t n;

	tl_set_nonblocking(fd, true);
	while ((n = write(fd, zeros, sizeof zeros)) > 0 ||
	       (n < 0 && errno == EINTR))
		total += n > 0 ? (size_t)n : 0;
	while ((n = write(fd, zeros, 1)) > 0)
		total += (size_t)n;
	tl_set_nonblocking(fd, false);
	return total;
}

START_TEST(write_parks_while_the_peer_is_full)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	struct drainer d;
	struct tl_ticker t;

	open_chan(&c, k);
	FILE *fp = fdopen(c.w, "w");
	ck_assert_ptr_nonnull(fp);
	if (call != FFLUSH && call != FCLOSE)
		setvbuf(fp, NULL, _IONBF, 0);
	d = (struct drainer){ .fd = c.r, .filled = fill(c.w) };
	tl_ticker_start(&t);
	d.co = weft_spawn(drainer_main, &d, 0);
	ck_assert_ptr_nonnull(d.co);
	bool ok = write_with(call, fp);
	int after = tl_next_step();
	ck_assert_msg(ok, "%s on a %s failed: %s", wcall_name[call],
		      kind_name[k], strerror(errno));
	ck_assert_msg(d.at > 0 && d.at < after,
		      "%s on a %s returned before the reader made room",
		      wcall_name[call], kind_name[k]);
	ck_assert_int_gt(tl_ticker_stop(&t), 0);
	void *r;
	ck_assert_int_eq(weft_join(d.co, &r), 0);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(d.tail, "hi\n");
	if (call != FCLOSE)
		fclose(fp);
	close(c.r);
}
END_TEST

START_TEST(write_with_room_does_not_park)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	char buf[8] = { 0 };
	int ran = 0;

	open_chan(&c, k);
	FILE *fp = fdopen(c.w, "w");
	ck_assert_ptr_nonnull(fp);
	if (call != FFLUSH && call != FCLOSE)
		setvbuf(fp, NULL, _IONBF, 0);
	ck_assert_int_eq(weft_go(tl_note_run, &ran), 0);
	ck_assert(write_with(call, fp));
	ck_assert_msg(ran == 0, "%s on a %s parked with room there",
		      wcall_name[call], kind_name[k]);
	ck_assert_int_eq(read(c.r, buf, sizeof buf), 3);
	ck_assert_str_eq(buf, "hi\n");
	if (call != FCLOSE)
		fclose(fp);
	close(c.r);
}
END_TEST

START_TEST(write_to_a_closed_reader_fails_as_libc_says)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	struct tl_ticker t;

	signal(SIGPIPE, SIG_IGN);
	open_chan(&c, k);
	FILE *fp = fdopen(c.w, "w");
	ck_assert_ptr_nonnull(fp);
	if (call != FFLUSH && call != FCLOSE)
		setvbuf(fp, NULL, _IONBF, 0);
	close(c.r);
	tl_ticker_start(&t);
	errno = 0;
	bool ok = write_with(call, fp);
	ck_assert_msg(!ok && errno == EPIPE, "%s on a %s: %d (%s)",
		      wcall_name[call], kind_name[k], ok, strerror(errno));
	if (call != FCLOSE) {
		ck_assert(ferror(fp));
		fclose(fp);
	}
	tl_ticker_stop(&t);
}
END_TEST

/* Writes in a thread with no scheduler: libc's own. */
struct plain_write {
	int call;
	FILE *fp;
	bool ok;
};

static void *plain_write_main(void *arg)
{
	struct plain_write *pw = arg;

	pw->ok = write_with(pw->call, pw->fp);
	return NULL;
}

START_TEST(write_outside_a_coroutine_passes_through)
{
	int call = _i / NKINDS, k = _i % NKINDS;
	struct chan c;
	char buf[8] = { 0 };
	pthread_t tid;

	open_chan(&c, k);
	struct plain_write pw = { .call = call, .fp = fdopen(c.w, "w") };
	ck_assert_ptr_nonnull(pw.fp);
	if (call != FFLUSH && call != FCLOSE)
		setvbuf(pw.fp, NULL, _IONBF, 0);
	ck_assert_int_eq(pthread_create(&tid, NULL, plain_write_main, &pw), 0);
	ck_assert_int_eq(pthread_join(tid, NULL), 0);
	ck_assert(pw.ok);
	ck_assert_int_eq(read(c.r, buf, sizeof buf), 3);
	ck_assert_str_eq(buf, "hi\n");
	if (call != FCLOSE)
		fclose(pw.fp);
	close(c.r);
}
END_TEST

/* ---- buffering modes and the FILE's lock -------------------------------- */

START_TEST(a_line_buffered_stream_writes_each_line_whole)
{
	struct chan c;
	struct tl_ticker t;
	char buf[64] = { 0 };

	open_chan(&c, STREAM);
	FILE *fp = fdopen(c.w, "w");
	ck_assert_ptr_nonnull(fp);
	setvbuf(fp, NULL, _IOLBF, 0);
	tl_ticker_start(&t);
	ck_assert_int_eq(fputs("one\ntw", fp), 1);
	ck_assert_int_eq(read(c.r, buf, sizeof buf), 4);
	ck_assert_str_eq(buf, "one\n");
	ck_assert_int_eq(fprintf(fp, "o\n%s", "thr"), 5);
	memset(buf, 0, sizeof buf);
	ck_assert_int_eq(read(c.r, buf, sizeof buf), 4);
	ck_assert_str_eq(buf, "two\n");
	ck_assert_int_eq(fclose(fp), 0);
	memset(buf, 0, sizeof buf);
	ck_assert_int_eq(read(c.r, buf, sizeof buf), 3);
	ck_assert_str_eq(buf, "thr");
	tl_ticker_stop(&t);
	close(c.r);
}
END_TEST

/* A coroutine that reads a line from a shared FILE. */
struct liner {
	FILE *fp;
	char line[32];
	int done_at;
};

static void *liner_main(void *arg)
{
	struct liner *l = arg;

	if (fgets(l->line, sizeof l->line, l->fp) == NULL)
		return (void *)1;
	l->done_at = tl_next_step();
	return NULL;
}

START_TEST(two_green_threads_share_a_FILE_a_line_each)
{
	struct chan c;
	FILE *fp = open_read(&c, STREAM);
	struct liner a = { .fp = fp }, b = { .fp = fp };
	struct peer p = { .fd = c.w, .parts = { "fir", "st\nsec", "ond\n" } };
	weft_co *ca, *cb;

	/* Threads of their own, as green threads are: the FILE's lock
	 * keeps one line whole while its reader waits. */
	ca = weft_spawn_opt(liner_main, &a, 0, WEFT_OWN_TLS);
	cb = weft_spawn_opt(liner_main, &b, 0, WEFT_OWN_TLS);
	if (ca == NULL && errno == ENOTSUP)
		return; /* no thread blocks here */
	ck_assert_ptr_nonnull(ca);
	ck_assert_ptr_nonnull(cb);
	peer_start(&p);
	ck_assert_int_eq(weft_join(ca, NULL), 0);
	ck_assert_int_eq(weft_join(cb, NULL), 0);
	peer_join(&p);
	ck_assert_str_eq(a.line, "first\n");
	ck_assert_str_eq(b.line, "second\n");
	ck_assert_int_lt(a.done_at, b.done_at);
	fclose(fp);
	close(c.w);
}
END_TEST

START_TEST(fclose_forgets_the_fd_for_the_next_file_of_that_number)
{
	struct chan c;
	struct tl_ticker t;
	char buf[4];

	tl_ticker_start(&t);
	FILE *fp = open_read(&c, STREAM);
	int fd = c.r;
	ck_assert_int_eq(write(c.w, "x\n", 2), 2);
	ck_assert_int_eq(fgetc(fp), 'x');
	ck_assert_int_eq(fclose(fp), 0);
	close(c.w);
	/* The number comes back as a regular file, which never parks. */
	FILE *tmp = tmpfile();
	ck_assert_ptr_nonnull(tmp);
	ck_assert_int_eq(fileno(tmp), fd);
	ck_assert_int_eq(fputs("ab", tmp), 1);
	ck_assert_int_eq(fflush(tmp), 0);
	rewind(tmp);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, tmp));
	ck_assert_str_eq(buf, "ab");
	fclose(tmp);
	tl_ticker_stop(&t);
}
END_TEST

Suite *suite_stdio(void)
{
	Suite *s = suite_create("stdio");
	TCase *tc;

	tc = tcase_create("read");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc,
			    read_parks_for_every_refill_until_the_peer_writes,
			    0, NRCALLS * NKINDS);
	tcase_add_loop_test(tc, read_of_buffered_data_does_not_park, 0,
			    NRCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    read_returns_EOF_when_the_peer_closes_while_it_waits,
			    0, NRCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    read_fails_with_EBADF_when_another_coroutine_closes_the_fd,
			    0, NRCALLS * NKINDS);
	tcase_add_loop_test(tc, read_outside_a_coroutine_passes_through, 0,
			    NRCALLS * NKINDS);
	tcase_add_test(tc, reads_give_what_plain_libc_gives);
	tcase_add_loop_test(tc, fread_of_a_megabyte_parks_for_every_piece, 0,
			    NKINDS);
	tcase_add_test(tc, two_green_threads_share_a_FILE_a_line_each);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, write_parks_while_the_peer_is_full, 0,
			    NWCALLS * NKINDS);
	tcase_add_loop_test(tc, write_with_room_does_not_park, 0,
			    NWCALLS * NKINDS);
	tcase_add_loop_test(tc, write_to_a_closed_reader_fails_as_libc_says, 0,
			    NWCALLS * NKINDS);
	tcase_add_loop_test(tc, write_outside_a_coroutine_passes_through, 0,
			    NWCALLS * NKINDS);
	tcase_add_loop_test(tc,
			    fwrite_of_a_megabyte_parks_while_the_reader_is_slow,
			    0, NKINDS);
	tcase_add_test(tc, a_line_buffered_stream_writes_each_line_whole);
	tcase_add_test(tc,
		       fclose_forgets_the_fd_for_the_next_file_of_that_number);
	suite_add_tcase(s, tc);
	return s;
}
