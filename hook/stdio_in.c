/* stdio_in.c - stdio's reading calls: fgets, getdelim and getline, fgetc
 * and getc, fread, their _unlocked and fortified forms, and the scanf
 * family.
 *
 * Each takes bytes from the FILE's buffer as glibc's own code does and
 * refills it with weft__stream_underflow, which parks until the fd is
 * readable, so a line or block that needs many refills waits parked for
 * every one.  The scanf family is glibc's own parser, which refills
 * inside: only its first refill parks (see weft__vfscanf).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

void __chk_fail(void) __attribute__((noreturn));

/* getc on s (locked): a byte, or EOF. */
static int get_byte(struct weft__stream *s)
{
	FILE *fp = s->fp;

	if (fp->_IO_read_ptr >= fp->_IO_read_end &&
	    weft__stream_underflow(s) == EOF)
		return EOF;
	return *(unsigned char *)fp->_IO_read_ptr++;
}

/* glibc's _IO_getline: up to max bytes of s into buf, through the first
 * delim (kept).  Returns the count. */
static size_t get_line(struct weft__stream *s, char *buf, size_t max,
		       int delim)
{
	FILE *fp = s->fp;
	size_t got = 0;

	weft__stream_orient(s);
	while (got < max) {
		if (fp->_IO_read_ptr >= fp->_IO_read_end &&
		    weft__stream_underflow(s) == EOF)
			break;
		size_t len = fp->_IO_read_end - fp->_IO_read_ptr;
		if (len > max - got)
			len = max - got;
		char *t = memchr(fp->_IO_read_ptr, delim, len);
		if (t != NULL)
			len = (size_t)(t - fp->_IO_read_ptr) + 1;
		memcpy(buf + got, fp->_IO_read_ptr, len);
		fp->_IO_read_ptr += len;
		got += len;
		if (t != NULL)
			break;
	}
	return got;
}

/* fgets reading at most max bytes, on a stream that is ours; fortified
 * is the size of buf when the caller's compiler knew it (then a line
 * that would not fit ends the program), else SIZE_MAX. */
static char *fgets_on(struct weft__stream *s, char *buf, size_t max,
		      size_t fortified)
{
	FILE *fp = s->fp;
	/* As glibc: an earlier error does not fail this call, and a line
	 * that met EAGAIN partway is returned, the error kept for later. */
	int old_error = fp->_flags & _IO_ERR_SEEN;
	char *r = buf;

	fp->_flags &= ~_IO_ERR_SEEN;
	size_t n = get_line(s, buf, max, '\n');
	if (n == 0 || ((fp->_flags & _IO_ERR_SEEN) && errno != EAGAIN))
		r = NULL;
	else if (n >= fortified)
		__chk_fail();
	else
		buf[n] = '\0';
	fp->_flags |= old_error;
	weft__stream_end(s);
	return r;
}

/* fgets (lock true) or fgets_unlocked that parks instead of blocking;
 * same results and errno. */
char *weft__fgets(char *buf, int n, FILE *fp, bool lock)
{
	struct weft__stream s;

	if (n <= 1 || !weft__stream_start(&s, fp, WEFT_READ, lock))
		return lock ? weft__libc()->fgets(buf, n, fp) :
			      weft__libc()->fgets_unlocked(buf, n, fp);
	return fgets_on(&s, buf, (size_t)n - 1, SIZE_MAX);
}

/* __fgets_chk (lock true) or __fgets_unlocked_chk: fgets into a buffer
 * of size bytes. */
char *weft__fgets_chk(char *buf, size_t size, int n, FILE *fp, bool lock)
{
	struct weft__stream s;

	if (n <= 1 || !weft__stream_start(&s, fp, WEFT_READ, lock))
		return lock ? weft__libc()->__fgets_chk(buf, size, n, fp) :
			      weft__libc()->__fgets_unlocked_chk(buf, size, n,
								 fp);
	size_t max = (size_t)n - 1 < size ? (size_t)n - 1 : size;
	return fgets_on(&s, buf, max, size);
}

/* getdelim that parks instead of blocking; same results and errno. */
ssize_t weft__getdelim(char **line, size_t *cap, int delim, FILE *fp)
{
	struct weft__stream s;

	if (line == NULL || cap == NULL ||
	    !weft__stream_start(&s, fp, WEFT_READ, true))
		return weft__libc()->getdelim(line, cap, delim, fp);
	ssize_t r = -1;
	size_t len = 0;
	if (fp->_flags & _IO_ERR_SEEN)
		goto out;
	if (*line == NULL || *cap == 0) {
		*cap = 120;
		if ((*line = malloc(*cap)) == NULL)
			goto out;
	}
	if (fp->_IO_read_ptr >= fp->_IO_read_end &&
	    weft__stream_underflow(&s) == EOF)
		goto out;
	for (;;) {
		size_t have = fp->_IO_read_end - fp->_IO_read_ptr;
		char *t = memchr(fp->_IO_read_ptr, delim, have);
		if (t != NULL)
			have = (size_t)(t - fp->_IO_read_ptr) + 1;
		if (have >= SSIZE_MAX - len) {
			errno = EOVERFLOW;
			goto out;
		}
		size_t need = len + have + 1;
		if (need > *cap) {
			if (need < 2 * *cap)
				need = 2 * *cap;
			char *more = realloc(*line, need);
			if (more == NULL)
				goto out;
			*line = more;
			*cap = need;
		}
		memcpy(*line + len, fp->_IO_read_ptr, have);
		fp->_IO_read_ptr += have;
		len += have;
		if (t != NULL || weft__stream_underflow(&s) == EOF)
			break;
	}
	(*line)[len] = '\0';
	r = (ssize_t)len;
out:
	weft__stream_end(&s);
	return r;
}

/* fgetc (lock true) or fgetc_unlocked that parks instead of blocking;
 * same results and errno. */
int weft__fgetc(FILE *fp, bool lock)
{
	struct weft__stream s;

	/* A byte in the buffer needs no decision, as in getc_unlocked. */
	if (!lock && fp->_IO_read_ptr < fp->_IO_read_end)
		return *(unsigned char *)fp->_IO_read_ptr++;
	if (!weft__stream_start(&s, fp, WEFT_READ, lock))
		return lock ? weft__libc()->fgetc(fp) :
			      weft__libc()->fgetc_unlocked(fp);
	int c = get_byte(&s);
	weft__stream_end(&s);
	return c;
}

/* __uflow (take: the byte is taken, as getc_unlocked takes it) or
 * __underflow that parks instead of blocking; same results and errno.
 * <stdio.h>'s inline getc_unlocked calls them, not the wrapper. */
int weft__underflow(FILE *fp, bool take)
{
	struct weft__stream s;

	if (!weft__stream_start(&s, fp, WEFT_READ, false))
		return take ? weft__libc()->__uflow(fp) :
			      weft__libc()->__underflow(fp);
	int c = take ? get_byte(&s) : weft__stream_underflow(&s);
	weft__stream_end(&s);
	return c;
}

/* fread (lock true) or fread_unlocked that parks instead of blocking;
 * same results and errno. */
size_t weft__fread(void *buf, size_t size, size_t count, FILE *fp,
		   bool lock)
{
	struct weft__stream s;
	size_t want = size * count;

	if (want == 0 || !weft__stream_start(&s, fp, WEFT_READ, lock))
		return lock ? weft__libc()->fread(buf, size, count, fp) :
			      (weft__libc()->fread_unlocked)(buf, size, count,
							   fp);
	size_t got = weft__stream_get(&s, buf, want);
	weft__stream_end(&s);
	return got == want ? count : got / size;
}

/* __fread_chk (lock true) or __fread_unlocked_chk: fread into a buffer
 * of room bytes.  A request that cannot fit goes to glibc, which ends
 * the program before reading anything. */
size_t weft__fread_chk(void *buf, size_t room, size_t size, size_t count,
		       FILE *fp, bool lock)
{
	size_t want;

	if (__builtin_mul_overflow(size, count, &want) || want > room)
		return lock ? weft__libc()->__fread_chk(buf, room, size, count,
							fp) :
			      weft__libc()->__fread_unlocked_chk(buf, room,
								 size, count,
								 fp);
	return weft__fread(buf, size, count, fp, lock);
}

/* vfscanf (isoc99: the C99 __isoc99_vfscanf, else glibc's own): glibc's
 * parser refills the buffer itself, so only its first refill parks; a
 * conversion that runs past the bytes of that refill can still block the
 * thread when the rest is slow to come.  Same results and errno. */
int weft__vfscanf(FILE *fp, const char *fmt, va_list ap, bool isoc99)
{
	const struct weft__real *libc = weft__libc();
	struct weft__stream s;
	bool ours = weft__stream_start(&s, fp, WEFT_READ, true);

	if (ours && fp->_IO_read_ptr >= fp->_IO_read_end &&
	    weft__stream_underflow(&s) == EOF && (fp->_flags & _IO_ERR_SEEN)) {
		/* The read failed; glibc's parser would read again. */
		weft__stream_end(&s);
		return EOF;
	}
	int r = isoc99 ? libc->__isoc99_vfscanf(fp, fmt, ap) :
			 libc->vfscanf(fp, fmt, ap);
	if (ours)
		weft__stream_end(&s);
	return r;
}

WEFT_EXPORT int __uflow(FILE *fp)
{
	return weft__underflow(fp, true);
}

WEFT_EXPORT int __underflow(FILE *fp)
{
	return weft__underflow(fp, false);
}

WEFT_EXPORT char *fgets(char *buf, int n, FILE *fp)
{
	return weft__fgets(buf, n, fp, true);
}

WEFT_EXPORT char *fgets_unlocked(char *buf, int n, FILE *fp)
{
	return weft__fgets(buf, n, fp, false);
}

WEFT_EXPORT char *__fgets_chk(char *buf, size_t size, int n, FILE *fp)
{
	return weft__fgets_chk(buf, size, n, fp, true);
}

WEFT_EXPORT char *__fgets_unlocked_chk(char *buf, size_t size, int n,
				       FILE *fp)
{
	return weft__fgets_chk(buf, size, n, fp, false);
}

WEFT_EXPORT ssize_t getdelim(char **line, size_t *cap, int delim, FILE *fp)
{
	return weft__getdelim(line, cap, delim, fp);
}

WEFT_EXPORT ssize_t __getdelim(char **line, size_t *cap, int delim,
			       FILE *fp)
{
	return weft__getdelim(line, cap, delim, fp);
}

WEFT_EXPORT ssize_t getline(char **line, size_t *cap, FILE *fp)
{
	return weft__getdelim(line, cap, '\n', fp);
}

WEFT_EXPORT int fgetc(FILE *fp)
{
	return weft__fgetc(fp, true);
}

WEFT_EXPORT int getc(FILE *fp)
{
	return weft__fgetc(fp, true);
}

WEFT_EXPORT int fgetc_unlocked(FILE *fp)
{
	return weft__fgetc(fp, false);
}

WEFT_EXPORT int getc_unlocked(FILE *fp)
{
	return weft__fgetc(fp, false);
}

WEFT_EXPORT int getchar(void)
{
	return weft__fgetc(stdin, true);
}

WEFT_EXPORT int getchar_unlocked(void)
{
	return weft__fgetc(stdin, false);
}

WEFT_EXPORT size_t fread(void *buf, size_t size, size_t count, FILE *fp)
{
	return weft__fread(buf, size, count, fp, true);
}

/* In parentheses: <stdio.h> makes it a macro when optimising. */
WEFT_EXPORT size_t (fread_unlocked)(void *buf, size_t size, size_t count,
				  FILE *fp)
{
	return weft__fread(buf, size, count, fp, false);
}

WEFT_EXPORT size_t __fread_chk(void *buf, size_t room, size_t size,
			       size_t count, FILE *fp)
{
	return weft__fread_chk(buf, room, size, count, fp, true);
}

WEFT_EXPORT size_t __fread_unlocked_chk(void *buf, size_t room, size_t size,
					size_t count, FILE *fp)
{
	return weft__fread_chk(buf, room, size, count, fp, false);
}

/* The plain scanf names: <stdio.h> makes calls to them calls to the
 * __isoc99_ ones, so these are defined under other C names. */
WEFT_EXPORT int plain_vfscanf(FILE *fp, const char *fmt, va_list ap)
	__asm__("vfscanf");
WEFT_EXPORT int plain_vscanf(const char *fmt, va_list ap) __asm__("vscanf");
WEFT_EXPORT int plain_fscanf(FILE *fp, const char *fmt, ...)
	__asm__("fscanf");
WEFT_EXPORT int plain_scanf(const char *fmt, ...) __asm__("scanf");

WEFT_EXPORT int plain_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
	return weft__vfscanf(fp, fmt, ap, false);
}

WEFT_EXPORT int __isoc99_vfscanf(FILE *fp, const char *fmt, va_list ap)
{
	return weft__vfscanf(fp, fmt, ap, true);
}

WEFT_EXPORT int plain_vscanf(const char *fmt, va_list ap)
{
	return weft__vfscanf(stdin, fmt, ap, false);
}

WEFT_EXPORT int __isoc99_vscanf(const char *fmt, va_list ap)
{
	return weft__vfscanf(stdin, fmt, ap, true);
}

WEFT_EXPORT int plain_fscanf(FILE *fp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = weft__vfscanf(fp, fmt, ap, false);
	va_end(ap);
	return r;
}

WEFT_EXPORT int __isoc99_fscanf(FILE *fp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = weft__vfscanf(fp, fmt, ap, true);
	va_end(ap);
	return r;
}

WEFT_EXPORT int plain_scanf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = weft__vfscanf(stdin, fmt, ap, false);
	va_end(ap);
	return r;
}

WEFT_EXPORT int __isoc99_scanf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = weft__vfscanf(stdin, fmt, ap, true);
	va_end(ap);
	return r;
}
