/* stdio_out.c - stdio's writing calls: fwrite, fputs and puts, fputc and
 * putc, the printf family (and _FORTIFY_SOURCE's), fflush and fclose,
 * with the _unlocked forms glibc has.
 *
 * Bytes go into the FILE's buffer as glibc puts them, and every flush
 * waits parked until the fd takes the whole of it (weft__stream_put,
 * weft__stream_flush), so a megabyte to a slow reader parks as often as
 * it must.  The printf family formats first, as glibc's does for an
 * unbuffered stream, then puts the text: on the stack when it is short,
 * else with vasprintf.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

int __vasprintf_chk(char **out, int flag, const char *fmt, va_list ap);
int __vsnprintf_chk(char *s, size_t max, int flag, size_t room,
		    const char *fmt, va_list ap);

/* Text this long or shorter is formatted on the stack, most of a printf's:
 * a malloc and a free per call cost more than formatting it again when
 * it does not fit. */
#define TEXT_ON_STACK 512

/* fwrite (lock true) or fwrite_unlocked that parks instead of blocking;
 * same results and errno. */
size_t weft__fwrite(const void *buf, size_t size, size_t count, FILE *fp,
		    bool lock)
{
	struct weft__stream s;
	size_t want = size * count; /* as glibc, which does not check */

	if (want == 0 || !weft__stream_start(&s, fp, WEFT_WRITE, lock))
		return lock ? weft__libc()->fwrite(buf, size, count, fp) :
			      (weft__libc()->fwrite_unlocked)(buf, size, count,
							    fp);
	weft__stream_orient(&s);
	size_t put = weft__stream_put(&s, buf, want);
	weft__stream_end(&s);
	return put == want ? count : put / size;
}

/* fputs (lock true) or fputs_unlocked that parks instead of blocking;
 * same results and errno. */
int weft__fputs(const char *str, FILE *fp, bool lock)
{
	struct weft__stream s;

	if (!weft__stream_start(&s, fp, WEFT_WRITE, lock))
		return lock ? weft__libc()->fputs(str, fp) :
			      weft__libc()->fputs_unlocked(str, fp);
	size_t len = strlen(str);
	weft__stream_orient(&s);
	int r = weft__stream_put(&s, str, len) == len ? 1 : EOF;
	weft__stream_end(&s);
	return r;
}

/* puts that parks instead of blocking; same results and errno. */
int weft__puts(const char *str)
{
	struct weft__stream s;
	FILE *fp = stdout;

	if (!weft__stream_start(&s, fp, WEFT_WRITE, true))
		return weft__libc()->puts(str);
	size_t len = strlen(str);
	int r = EOF;
	weft__stream_orient(&s);
	if (weft__stream_put(&s, str, len) == len &&
	    weft__stream_put(&s, "\n", 1) == 1)
		r = len < INT_MAX ? (int)len + 1 : INT_MAX;
	weft__stream_end(&s);
	return r;
}

/* fputc (lock true) or fputc_unlocked that parks instead of blocking;
 * same results and errno. */
int weft__fputc(int c, FILE *fp, bool lock)
{
	struct weft__stream s;
	unsigned char ch = (unsigned char)c;

	/* Room in the buffer needs no decision, as in putc_unlocked. */
	if (!lock && fp->_IO_write_ptr < fp->_IO_write_end)
		return *(unsigned char *)fp->_IO_write_ptr++ = ch;
	if (!weft__stream_start(&s, fp, WEFT_WRITE, lock))
		return lock ? weft__libc()->fputc(c, fp) :
			      weft__libc()->fputc_unlocked(c, fp);
	int r = ch;
	if (fp->_IO_write_ptr < fp->_IO_write_end)
		*fp->_IO_write_ptr++ = (char)ch;
	else if (weft__stream_put(&s, (const char *)&ch, 1) != 1)
		r = EOF;
	weft__stream_end(&s);
	return r;
}

/* __overflow that parks instead of blocking; same results and errno.
 * <stdio.h>'s inline putc_unlocked calls it when the buffer is full (or,
 * line-buffered or unbuffered, always), not the wrapper. */
int weft__overflow(FILE *fp, int ch)
{
	const struct weft__real *libc = weft__libc();
	struct weft__stream s;
	unsigned char c = (unsigned char)ch;
	int r = c;

	if (!weft__stream_start(&s, fp, WEFT_WRITE, false))
		return libc->__overflow(fp, ch);
	if (ch == EOF) /* flush: then glibc's own has nothing to write */
		r = weft__stream_flush(&s) == 0 ? libc->__overflow(fp, EOF)
						: EOF;
	else if (weft__stream_put(&s, (const char *)&c, 1) != 1)
		r = EOF;
	weft__stream_end(&s);
	return r;
}

/* Formats fmt with ap as vasprintf does (flag >= 0: __vasprintf_chk),
 * into buf, of TEXT_ON_STACK bytes, when the text fits, else into *heap,
 * which the caller frees.  Returns the length with *text where the text
 * is, or -1 with vasprintf's errno (EOVERFLOW past INT_MAX, ENOMEM). */
static int format(char *buf, char **heap, const char **text, int flag,
		  const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = flag < 0 ? vsnprintf(buf, TEXT_ON_STACK, fmt, ap) :
		       __vsnprintf_chk(buf, TEXT_ON_STACK, flag, TEXT_ON_STACK,
				       fmt, ap);
	*text = buf;
	if (n >= TEXT_ON_STACK) {
		n = flag < 0 ? vasprintf(heap, fmt, again) :
			       __vasprintf_chk(heap, flag, fmt, again);
		if (n < 0)
			*heap = NULL; /* undefined after a failure */
		*text = *heap;
	}
	va_end(again);
	return n;
}

/* vfprintf, or with flag >= 0 _FORTIFY_SOURCE's __vfprintf_chk, that
 * parks instead of blocking; same results and errno. */
int weft__vfprintf(FILE *fp, int flag, const char *fmt, va_list ap)
{
	const struct weft__real *libc = weft__libc();
	struct weft__stream s;

	if (!weft__stream_start(&s, fp, WEFT_WRITE, true))
		return flag < 0 ? libc->vfprintf(fp, fmt, ap) :
				  libc->__vfprintf_chk(fp, flag, fmt, ap);
	char buf[TEXT_ON_STACK], *heap = NULL;
	const char *text;
	int saved = errno;
	weft__stream_orient(&s);
	int n = format(buf, &heap, &text, flag, fmt, ap);
	if (n >= 0) {
		errno = saved;
		if (weft__stream_put(&s, text, (size_t)n) != (size_t)n)
			n = -1;
	}
	free(heap);
	weft__stream_end(&s);
	return n;
}

/* fflush (lock true) or fflush_unlocked that parks instead of blocking;
 * same results and errno.  fflush(NULL), every stream at once, is
 * glibc's. */
int weft__fflush(FILE *fp, bool lock)
{
	const struct weft__real *libc = weft__libc();
	struct weft__stream s;

	if (fp == NULL || !weft__stream_start(&s, fp, WEFT_WRITE, lock))
		return lock ? libc->fflush(fp) : libc->fflush_unlocked(fp);
	/* The output, parked; then glibc's own, which has none to write. */
	int r = weft__stream_flush(&s);
	if (r == 0)
		r = libc->fflush_unlocked(fp);
	weft__stream_end(&s);
	return r;
}

/* fclose that parks while it writes what is buffered; same results and
 * errno.  glibc closes the fd with its internal close, which weft does
 * not see: the fd's waiters are woken and its entry forgotten here, as
 * close does. */
int weft__fclose(FILE *fp)
{
	struct weft__stream s;
	int flushed = 0, err = 0;

	if (weft__stream_start(&s, fp, WEFT_WRITE, true)) {
		if ((flushed = weft__stream_flush(&s)) == EOF)
			err = errno;
		weft__stream_end(&s);
	}
	int fd = fp != NULL ? fp->_fileno : -1;
	if (fd >= 0 && weft__fd_peek(fd) != NULL) {
		weft__fd_gone(fd, EBADF);
		weft__fd_forget(fd);
	}
	int r = weft__libc()->fclose(fp);
	/* glibc's fclose fails, with the write's errno, when its flush
	 * does, and closes the file all the same. */
	if (flushed == EOF) {
		errno = err;
		r = EOF;
	}
	return r;
}

WEFT_EXPORT int __overflow(FILE *fp, int ch)
{
	return weft__overflow(fp, ch);
}

WEFT_EXPORT size_t fwrite(const void *buf, size_t size, size_t count,
			  FILE *fp)
{
	return weft__fwrite(buf, size, count, fp, true);
}

/* In parentheses: <stdio.h> makes it a macro when optimising. */
WEFT_EXPORT size_t (fwrite_unlocked)(const void *buf, size_t size,
				   size_t count, FILE *fp)
{
	return weft__fwrite(buf, size, count, fp, false);
}

WEFT_EXPORT int fputs(const char *str, FILE *fp)
{
	return weft__fputs(str, fp, true);
}

WEFT_EXPORT int fputs_unlocked(const char *str, FILE *fp)
{
	return weft__fputs(str, fp, false);
}

WEFT_EXPORT int puts(const char *str)
{
	return weft__puts(str);
}

WEFT_EXPORT int fputc(int c, FILE *fp)
{
	return weft__fputc(c, fp, true);
}

WEFT_EXPORT int putc(int c, FILE *fp)
{
	return weft__fputc(c, fp, true);
}

WEFT_EXPORT int fputc_unlocked(int c, FILE *fp)
{
	return weft__fputc(c, fp, false);
}

WEFT_EXPORT int putc_unlocked(int c, FILE *fp)
{
	return weft__fputc(c, fp, false);
}

WEFT_EXPORT int putchar(int c)
{
	return weft__fputc(c, stdout, true);
}

WEFT_EXPORT int putchar_unlocked(int c)
{
	return weft__fputc(c, stdout, false);
}

WEFT_EXPORT int vfprintf(FILE *fp, const char *fmt, va_list ap)
{
	return weft__vfprintf(fp, -1, fmt, ap);
}

WEFT_EXPORT int vprintf(const char *fmt, va_list ap)
{
	return weft__vfprintf(stdout, -1, fmt, ap);
}

WEFT_EXPORT int __vfprintf_chk(FILE *fp, int flag, const char *fmt,
			       va_list ap)
{
	return weft__vfprintf(fp, flag, fmt, ap);
}

WEFT_EXPORT int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	return weft__vfprintf(stdout, flag, fmt, ap);
}

WEFT_EXPORT int fprintf(FILE *fp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = weft__vfprintf(fp, -1, fmt, ap);
	va_end(ap);
	return r;
}

WEFT_EXPORT int printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = weft__vfprintf(stdout, -1, fmt, ap);
	va_end(ap);
	return r;
}

WEFT_EXPORT int __fprintf_chk(FILE *fp, int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = weft__vfprintf(fp, flag, fmt, ap);
	va_end(ap);
	return r;
}

WEFT_EXPORT int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = weft__vfprintf(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}

WEFT_EXPORT int fclose(FILE *fp)
{
	return weft__fclose(fp);
}

WEFT_EXPORT int fflush(FILE *fp)
{
	return weft__fflush(fp, true);
}

WEFT_EXPORT int fflush_unlocked(FILE *fp)
{
	return weft__fflush(fp, false);
}
