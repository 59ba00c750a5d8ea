/* prctl.c - a green thread's name through prctl(PR_SET_NAME/PR_GET_NAME).
 *
 * The kernel names OS threads, and the green threads of an OS thread
 * share one: PR_SET_NAME in a green thread would rename its OS thread (in
 * the main thread, the process: /proc/self/comm, what ps and pidof show).
 * So in a green thread these two name the green thread itself, with the
 * name pthread_setname_np and pthread_getname_np use and the coroutine
 * dump shows, and the OS thread keeps its own.  A green thread never named
 * has its OS thread's name, as a new thread has its creator's.  Every
 * other option, and every call outside a green thread (a root is its OS
 * thread), goes to libc untouched.
 */
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>

#include "green.h"
#include "io.h"

/* The coroutine a name is for: the caller, if it has a stack of its own
 * (a green thread, not a root). */
static struct weft__co *named(void)
{
	struct weft__co *co = weft__running;

	return weft__green_on() && co != NULL && co->slot != NULL ? co : NULL;
}

/* Reads a name at user as the kernel does, up to 15 bytes or a NUL, into
 * name (NUL-padded).  Returns false if bytes it needs cannot be read. */
static bool name_read(const char *user, char name[16])
{
	memset(name, 0, 16);
	if (!weft__copy_checked(name, user, 15, false)) {
		/* A short name may end just before memory that is not
		 * there: byte by byte, up to its NUL. */
		for (size_t i = 0; i < 15; i++) {
			if (!weft__copy_checked(&name[i], user + i, 1, false))
				return false;
			if (name[i] == '\0')
				return true;
		}
	}
	size_t n = strnlen(name, 15);
	memset(name + n, 0, 16 - n);
	return true;
}

/* prctl: PR_SET_NAME and PR_GET_NAME in a green thread set and read its
 * own name (16 bytes with the NUL, truncated to 15 as the kernel does);
 * -1 with EFAULT if the name's memory cannot be read or written.  Every
 * other call is libc's. */
int weft__prctl(int option, unsigned long a2, unsigned long a3,
		unsigned long a4, unsigned long a5)
{
	struct weft__co *co = NULL;
	char name[16];

	if (option == PR_SET_NAME || option == PR_GET_NAME)
		co = named();
	if (co == NULL || (option == PR_GET_NAME && co->name[0] == '\0'))
		return weft__libc()->prctl(option, a2, a3, a4, a5);
	if (option == PR_SET_NAME) {
		if (!name_read((const char *)a2, name)) {
			errno = EFAULT;
			return -1;
		}
		memcpy(co->name, name, sizeof name);
		return 0;
	}
	size_t n = strnlen(co->name, sizeof name - 1);
	memcpy(name, co->name, n);
	memset(name + n, 0, sizeof name - n);
	if (!weft__copy_checked((char *)a2, name, sizeof name, true)) {
		errno = EFAULT;
		return -1;
	}
	return 0;
}

/* ---- the exported name ---- */

/* As glibc's: the option and four more arguments, whatever the option
 * uses. */
WEFT_EXPORT int prctl(int option, ...)
{
	va_list ap;

	va_start(ap, option);
	unsigned long a2 = va_arg(ap, unsigned long);
	unsigned long a3 = va_arg(ap, unsigned long);
	unsigned long a4 = va_arg(ap, unsigned long);
	unsigned long a5 = va_arg(ap, unsigned long);
	va_end(ap);
	return weft__prctl(option, a2, a3, a4, a5);
}
