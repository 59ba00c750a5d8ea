/* diag.c - weft's own messages on stderr.
 *
 * Messages go out with the raw write system call: never through stdio
 * (which the program owns) and never through a wrapped write, so they are
 * safe from signal handlers and from inside the scheduler.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"

/* Writes "weft: <msg>\n" to fd 2 in one system call.  errno is kept. */
void weft__say(const char *msg)
{
	char line[512] = "weft: ";
	int saved = errno;

	weft__cat(line, sizeof line - 1, msg);
	size_t n = strlen(line);
	line[n++] = '\n';
	syscall(SYS_write, 2, line, n);
	errno = saved;
}

/* Says msg and aborts the process. */
void weft__die(const char *msg)
{
	weft__say(msg);
	abort();
}

/* Appends s to the NUL-terminated buf of capacity cap, truncating.  Returns
 * buf. */
char *weft__cat(char *buf, size_t cap, const char *s)
{
	size_t n = strlen(buf);

	while (*s && n + 1 < cap)
		buf[n++] = *s++;
	buf[n] = '\0';
	return buf;
}

/* Appends n in decimal to buf; see weft__cat. */
char *weft__cat_u64(char *buf, size_t cap, uint64_t n)
{
	char digits[21];
	int i = sizeof digits - 1;

	digits[i] = '\0';
	do
		digits[--i] = (char)('0' + n % 10);
	while ((n /= 10) != 0);
	return weft__cat(buf, cap, digits + i);
}

/* The context-switch trampoline calls this if a context's entry function
 * returns; weft's entry functions never do. */
void weft__ctx_returned(void)
{
	weft__die("internal error: a coroutine's entry function returned");
}
