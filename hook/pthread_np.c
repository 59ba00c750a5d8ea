/* pthread_np.c - what a green thread's pthread_t tells: its stack and
 * attributes, its name. */
#include <string.h>

#include "green.h"

/* pthread_getattr_np: for a coroutine, its stack (the whole slot, as
 * glibc reports a thread's whole stack block) and detach state. */
int weft__pthread_getattr_np(pthread_t th, pthread_attr_t *attr)
{
	struct weft__green *g;
	struct weft__co *co = weft__green_target(th, &g);

	if (co == NULL)
		return weft__libc()->pthread_getattr_np(th, attr);
	int r = pthread_attr_init(attr);
	if (r == 0)
		r = pthread_attr_setstack(attr, co->slot->lo, co->slot->size);
	if (r == 0 && g != NULL)
		r = pthread_attr_setguardsize(attr, g->guard);
	if (r == 0)
		r = pthread_attr_setdetachstate(attr, co->detached ?
						PTHREAD_CREATE_DETACHED :
						PTHREAD_CREATE_JOINABLE);
	return r;
}

/* pthread_setname_np: a coroutine's name (at most 15 bytes: ERANGE for
 * longer, as glibc). */
int weft__pthread_setname_np(pthread_t th, const char *name)
{
	struct weft__green *g;
	struct weft__co *co = weft__green_target(th, &g);

	if (co == NULL)
		return weft__libc()->pthread_setname_np(th, name);
	if (strlen(name) >= sizeof co->name)
		return ERANGE;
	strcpy(co->name, name);
	return 0;
}

/* pthread_getname_np: a coroutine's name; one never named has its OS
 * thread's, as a new thread inherits its creator's.  ERANGE if buf holds
 * less than 16 bytes, as glibc. */
int weft__pthread_getname_np(pthread_t th, char *buf, size_t len)
{
	struct weft__green *g;
	struct weft__co *co = weft__green_target(th, &g);

	if (co == NULL || (co->name[0] == '\0' && len >= sizeof co->name))
		return weft__libc()->pthread_getname_np(co ? weft__green_os_thread(g) : th,
							buf, len);
	if (len < sizeof co->name)
		return ERANGE;
	strcpy(buf, co->name);
	return 0;
}

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_getattr_np(pthread_t th, pthread_attr_t *attr)
{
	return weft__pthread_getattr_np(th, attr);
}

WEFT_EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
	return weft__pthread_setname_np(th, name);
}

WEFT_EXPORT int pthread_getname_np(pthread_t th, char *buf, size_t len)
{
	return weft__pthread_getname_np(th, buf, len);
}
