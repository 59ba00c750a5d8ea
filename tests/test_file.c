/* test_file.c - regular files: a read the page cache cannot answer, and
 * fsync, run on the offload pool while the coroutine parks (hook/file.c);
 * everything else as libc gives it.
 *
 * Each case runs from a coroutine that is not alone (a ticker runs beside
 * it), so weft acts, and is compared with the same calls made outside any
 * coroutine, where libc answers alone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "weft.h"
#include "../core/core.h"
#include "testlib.h"

#define SIZE (256 << 10)

/* A file of SIZE bytes whose byte i is (i * 7) & 0xff, unlinked at once. */
static int make_file(void)
{
	char path[] = "/tmp/weft-file-XXXXXX";
	int fd = mkstemp(path);
	unsigned char *buf = malloc(SIZE);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(buf);
	unlink(path);
	for (int i = 0; i < SIZE; i++)
		buf[i] = (unsigned char)(i * 7);
	ck_assert_int_eq(write(fd, buf, SIZE), SIZE);
	free(buf);
	return fd;
}

/* Drops fd's pages from the page cache, so that the next read goes to
 * the disk (pages under writeback may stay). */
static void uncache(int fd)
{
	ck_assert_int_eq(fsync(fd), 0);
	ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
}

static void check_bytes(const unsigned char *buf, size_t n, off_t at)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != (unsigned char)((at + (off_t)i) * 7))
			ck_abort_msg("byte %zu of a read at %ld is wrong", i,
				     (long)at);
}

/* What one script of reads gave: results, errnos, offsets. */
struct reads {
	long r[12];
	int err[12];
	long pos[12];
};

static void script(struct reads *out)
{
	int fd = make_file(), k = 0;
	unsigned char *buf = malloc(SIZE);
	void *volatile unmapped = (void *)8;
	struct iovec iov[3];

#define NOTE(call)                                                            \
	do {                                                                  \
		errno = 0;                                                    \
		out->r[k] = (long)(call);                                     \
		out->err[k] = out->r[k] < 0 ? errno : 0;                      \
		out->pos[k++] = (long)lseek(fd, 0, SEEK_CUR);                 \
	} while (0)
	lseek(fd, 100, SEEK_SET);
	NOTE(read(fd, buf, 1000));                 /* cached */
	check_bytes(buf, 1000, 100);
	uncache(fd);
	NOTE(read(fd, buf, 5000));                 /* from the disk */
	check_bytes(buf, 5000, 1100);
	NOTE(pread(fd, buf, 3000, 200000));        /* at an offset */
	check_bytes(buf, 3000, 200000);
	NOTE(pread(fd, buf, 4096, SIZE - 100));    /* to the end */
	NOTE(pread(fd, buf, 10, SIZE));            /* at the end */
	iov[0] = (struct iovec){ buf, 10 };
	iov[1] = (struct iovec){ buf + 10, 0 };
	iov[2] = (struct iovec){ buf + 10, 70000 };
	uncache(fd);
	NOTE(readv(fd, iov, 3));
	check_bytes(buf, 70010, 6100);
	NOTE(preadv(fd, iov, 3, 123));
	check_bytes(buf, 70010, 123);
	NOTE(pread(fd, buf, 10, -1));              /* EINVAL */
	NOTE(pread(fd, unmapped, 10, 0));          /* EFAULT */
	NOTE(fdatasync(fd));
	close(fd);
	NOTE(read(fd, buf, 10));                   /* EBADF */
	NOTE(fsync(fd));                           /* EBADF */
#undef NOTE
	free(buf);
}

static void *script_co(void *p)
{
	script(p);
	return NULL;
}

/* How many parks for what the statistics counted between two snapshots. */
static uint64_t parks(const struct weft__stats *before,
		      const struct weft__stats *after, const char *what)
{
	uint64_t was = 0, now = 0;

	for (unsigned j = 0; j < before->nwaits; j++)
		if (strcmp(before->waits[j].what, what) == 0)
			was = before->waits[j].count;
	for (unsigned i = 0; i < after->nwaits; i++)
		if (strcmp(after->waits[i].what, what) == 0)
			now = after->waits[i].count;
	return now - was;
}

/* Runs fn(arg) in a coroutine beside a ticker, with parks counted. */
static void run_counted(void *(*fn)(void *), void *arg,
			struct weft__stats *before, struct weft__stats *after)
{
	struct tl_ticker ticker;

	weft__stats_on = true;
	weft__stats_get(before);
	tl_ticker_start(&ticker);
	weft_co *co = weft_spawn(fn, arg, 0);
	ck_assert_ptr_nonnull(co);
	weft_join(co, NULL);
	tl_ticker_stop(&ticker);
	weft__stats_get(after);
	weft__stats_on = false;
}

START_TEST(file_reads_give_what_libc_gives_and_misses_go_to_the_pool)
{
	struct reads plain = { 0 }, woven = { 0 };
	struct weft__stats before, after;

	script(&plain);
	run_counted(script_co, &woven, &before, &after);
	for (int i = 0; i < 12; i++)
		ck_assert_msg(plain.r[i] == woven.r[i] &&
			      plain.err[i] == woven.err[i] &&
			      plain.pos[i] == woven.pos[i],
			      "step %d: libc %ld/%s at %ld, weft %ld/%s at %ld",
			      i, plain.r[i], strerror(plain.err[i]),
			      plain.pos[i], woven.r[i], strerror(woven.err[i]),
			      woven.pos[i]);
	/* The fdatasync parked on the pool.  Whether the uncached reads did
	 * depends on the disk: RWF_NOWAIT starts the read-ahead, and a
	 * virtual disk backed by its host's cache may finish it before the
	 * kernel looks again, so the read is answered without a wait. */
	ck_assert_uint_ge(parks(&before, &after, "fsync"), 1);
}
END_TEST

static void *read_cached(void *p)
{
	int fd = *(int *)p;
	unsigned char buf[4096];

	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(pread(fd, buf, sizeof buf, i * 4096), 4096);
	check_bytes(buf, sizeof buf, 49 * 4096);
	return NULL;
}

START_TEST(cached_reads_do_not_go_to_the_pool)
{
	struct weft__stats before, after;
	int fd = make_file();
	unsigned char *warm = malloc(SIZE);

	ck_assert_int_eq(pread(fd, warm, SIZE, 0), SIZE);
	free(warm);
	run_counted(read_cached, &fd, &before, &after);
	ck_assert_uint_eq(parks(&before, &after, "disk"), 0);
	close(fd);
}
END_TEST

Suite *suite_file(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("file");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, file_reads_give_what_libc_gives_and_misses_go_to_the_pool);
	tcase_add_test(tc, cached_reads_do_not_go_to_the_pool);
	suite_add_tcase(s, tc);
	return s;
}
