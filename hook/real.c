/* real.c - finding the real libc functions, once.
 *
 * dlsym(RTLD_NEXT, name) asks for the next definition after weft's own in
 * the lookup order: libc's.  The lookup runs in a constructor and again
 * on demand, for wrappers called before constructors have run (by the
 * dynamic loader, or by another library's constructor).  It takes no lock:
 * racing threads compute the same answers, and `read`, which wrappers test
 * to see whether the table is ready, is stored last.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "real.h"

enum { WRAP, NEED, MAY };

static const struct {
	const char *name;
	size_t offset;
	int how;
} table[] = {
#define X(ret, name, params, how) \
	{ #name, offsetof(struct weft__real, name), how },
	WEFT_REAL_SYMBOLS(X)
#undef X
};

struct weft__real weft__real;

/* Start-up cannot go on without libc: say so the only safe way, and end
 * the process as the shell does for a command it cannot run. */
static void fatal(const char *what, const char *name)
{
	char msg[200] = "";

	weft__cat(msg, sizeof msg, what);
	weft__cat(msg, sizeof msg, name);
	weft__say(msg);
	syscall(SYS_exit_group, 127);
}

/* True if p is code inside this library, i.e. one of weft's wrappers. */
static bool is_ours(void *p)
{
	Dl_info mine, theirs;

	return dladdr((void *)weft__real_init, &mine) && dladdr(p, &theirs) &&
	       mine.dli_fbase == theirs.dli_fbase;
}

/* Fills weft__real; see real.h. */
void weft__real_init(void)
{
	struct weft__real found;

	if (weft__real.read != NULL)
		return;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		void *p = dlsym(RTLD_NEXT, table[i].name);
		if (p == NULL && table[i].how != MAY)
			fatal("cannot find libc's ", table[i].name);
		if (p != NULL && is_ours(p))
			fatal("dlsym returned weft's own wrapper for ",
			      table[i].name);
		memcpy((char *)&found + table[i].offset, &p, sizeof p);
	}
	ssize_t (*read_fn)(int, void *, size_t) = found.read;
	found.read = NULL;
	memcpy(&weft__real, &found, sizeof found);
	__atomic_store_n(&weft__real.read, read_fn, __ATOMIC_RELEASE);
}

__attribute__((constructor(101))) static void real_init_at_start(void)
{
	weft__real_init();
}
