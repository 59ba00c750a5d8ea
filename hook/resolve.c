/* resolve.c - getaddrinfo, getnameinfo and the gethostby* family.
 *
 * A lookup may wait seconds for a name server through sockets libc keeps
 * to itself, so it cannot be made non-blocking: a coroutine that is not
 * alone hands the real call to the offload pool and parks.  A call with
 * nothing to look up (numeric addresses and ports) is made in place.  The
 * arguments and results travel in a struct on the caller's stack, and
 * errno and h_errno, which are per thread, travel with them: the worker
 * starts with the caller's values and the caller gets back what the call
 * left.
 *
 * gethostbyname, gethostbyname2 and gethostbyaddr return a pointer into a
 * static buffer of glibc's, one per function, shared by every thread (not
 * thread-local), so a result made on a worker is valid for the caller.  As
 * a program's threads would, two coroutines could overwrite each other's
 * result; these three calls are therefore made one at a time, so that a
 * coroutine reads its result before the next lookup can start, as it
 * would if the calls blocked the thread.
 *
 * Each is a cancellation point where glibc's lookup meets one (its poll,
 * connect, recvfrom): the job runs with the worker's own glibc
 * cancellation on (weft__offload_point), and a cancel of the parked
 * caller is passed to the worker, where glibc acts on it and its cleanup
 * frees what the lookup held; the caller then acts on its own, having
 * let the static-buffer lock go.
 *
 * The resolver's state, _res, is per thread too, and a program may set
 * its own (name servers, options) or expect the lookup to initialise it.
 * With thread blocks the worker uses the caller's for the call: its
 * __resp points at the caller's _res, which nothing else touches while
 * the caller is parked, and points back at its own afterwards, also when
 * a cancel ends the worker (whose exit would otherwise close the caller's
 * resolver sockets).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>

#include "cancel.h"
#include "io.h"
#include "offload.h"
#include "tcb.h"

/* A call made on the pool: fn makes the real call with the arguments kept
 * in the struct that embeds this one, and stores the result there. */
struct call {
	void (*fn)(struct call *c);
	int err, herr; /* errno and h_errno, to the worker and back */
	void *res;     /* the caller's _res, or NULL */
};

/* Gives the worker its own _res back (a cleanup handler too). */
static void own_res(void *res)
{
	weft__tcb_res_swap(res);
}

static void on_worker(void *p)
{
	struct call *c = p;
	void *own = c->res ? weft__tcb_res_swap(c->res) : NULL;

	pthread_cleanup_push(own_res, own);
	errno = c->err;
	h_errno = c->herr;
	c->fn(c);
	c->err = errno;
	c->herr = h_errno;
	pthread_cleanup_pop(own != NULL);
}

/* Makes c's call on the pool, or here if the pool has no thread, and
 * leaves errno and h_errno as the call left them.  Returns true if a
 * cancel of the caller cut the call short (the caller acts on it once it
 * holds nothing). */
static bool offload(struct call *c)
{
	c->err = errno;
	c->herr = h_errno;
	c->res = __res_state();
	int r = weft__offload_point(on_worker, c);
	if (r < 0) {
		c->res = NULL; /* here, the caller's own is in use */
		on_worker(c);
	}
	errno = c->err;
	h_errno = c->herr;
	return r == 1;
}

/* offload for a caller that holds nothing: a cancel that cut the call
 * short acts. */
static void offload_point(struct call *c)
{
	if (offload(c))
		weft__cancel_act(weft__running);
}

/* ---- getaddrinfo, getnameinfo ---- */

struct gai {
	struct call c;
	const char *node, *service;
	const struct addrinfo *hints;
	struct addrinfo **res;
	int r;
};

static void gai_call(struct call *c)
{
	struct gai *a = (struct gai *)c;

	a->r = weft__libc()->getaddrinfo(a->node, a->service, a->hints,
					 a->res);
}

/* Whether s is a port number, which glibc takes without a look in
 * /etc/services or NSS. */
static bool numeric_service(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Whether getaddrinfo has no name to look up: the node is absent or an
 * IPv4 or IPv6 address in standard form, and the service absent or a
 * port number.  glibc then answers from the strings alone, with at most
 * local, non-blocking calls (interfaces for AI_ADDRCONFIG and for
 * sorting), and a proxy that connects to a numeric address pays no trip
 * to the pool: tinyproxy calls getaddrinfo once a request.
 * AI_CANONNAME goes to the pool, which gives a name where there is one;
 * other numeric spellings ("127.1") are left to it too. */
static bool gai_is_numeric(const char *node, const char *service,
			   const struct addrinfo *hints)
{
	int flags = hints ? hints->ai_flags : 0;
	unsigned char addr[sizeof(struct in6_addr)];

	if (flags & AI_CANONNAME)
		return false;
	if (node != NULL && !(flags & AI_NUMERICHOST) &&
	    inet_pton(AF_INET, node, addr) != 1 &&
	    inet_pton(AF_INET6, node, addr) != 1)
		return false;
	return service == NULL || (flags & AI_NUMERICSERV) ||
	       numeric_service(service);
}

/* getaddrinfo that parks while the pool looks the name up, unless there
 * is no name to look up.  Returns what getaddrinfo returns, with its
 * errno (for EAI_SYSTEM). */
int weft__getaddrinfo(const char *node, const char *service,
		      const struct addrinfo *hints, struct addrinfo **res)
{
	if (!weft__may_park() || gai_is_numeric(node, service, hints))
		return weft__libc()->getaddrinfo(node, service, hints, res);
	struct gai a = { { .fn = gai_call }, node, service, hints, res, 0 };
	offload_point(&a.c);
	return a.r;
}

struct gni {
	struct call c;
	const struct sockaddr *sa;
	socklen_t salen, hostlen, servlen;
	char *host, *serv;
	int flags, r;
};

static void gni_call(struct call *c)
{
	struct gni *a = (struct gni *)c;

	a->r = weft__libc()->getnameinfo(a->sa, a->salen, a->host,
					 a->hostlen, a->serv, a->servlen,
					 a->flags);
}

/* Whether getnameinfo has nothing to look up: the host, if asked for,
 * is to be numeric, and so is the service.  glibc then only formats the
 * address and port. */
static bool gni_is_numeric(const char *host, socklen_t hostlen,
			   const char *serv, socklen_t servlen, int flags)
{
	return (host == NULL || hostlen == 0 || (flags & NI_NUMERICHOST)) &&
	       (serv == NULL || servlen == 0 || (flags & NI_NUMERICSERV));
}

/* getnameinfo that parks while the pool looks the address up, unless
 * there is nothing to look up.  Returns what getnameinfo returns, with
 * its errno (for EAI_SYSTEM). */
int weft__getnameinfo(const struct sockaddr *sa, socklen_t salen,
		      char *host, socklen_t hostlen, char *serv,
		      socklen_t servlen, int flags)
{
	if (!weft__may_park() ||
	    gni_is_numeric(host, hostlen, serv, servlen, flags))
		return weft__libc()->getnameinfo(sa, salen, host, hostlen,
						 serv, servlen, flags);
	struct gni a = { .c = { .fn = gni_call }, .sa = sa, .salen = salen,
			 .host = host, .hostlen = hostlen, .serv = serv,
			 .servlen = servlen, .flags = flags };
	offload_point(&a.c);
	return a.r;
}

/* ---- gethostby* ---- */

/* The arguments of any of the six, and what they give. */
struct host {
	struct call c;
	const void *key;           /* a name, or an address */
	socklen_t len;             /* the address's length */
	int af;
	struct hostent *ret;       /* the _r calls' buffers */
	char *buf;
	size_t buflen;
	struct hostent **result;
	int *h_errnop;
	struct hostent *h;         /* the static-buffer calls' result */
	int r;                     /* the _r calls' result */
};

static void byname_call(struct call *c)
{
	struct host *a = (struct host *)c;

	a->h = weft__libc()->gethostbyname(a->key);
}

static void byname2_call(struct call *c)
{
	struct host *a = (struct host *)c;

	a->h = weft__libc()->gethostbyname2(a->key, a->af);
}

static void byaddr_call(struct call *c)
{
	struct host *a = (struct host *)c;

	a->h = weft__libc()->gethostbyaddr(a->key, a->len, a->af);
}

static void byname_r_call(struct call *c)
{
	struct host *a = (struct host *)c;

	a->r = weft__libc()->gethostbyname_r(a->key, a->ret, a->buf,
					     a->buflen, a->result,
					     a->h_errnop);
}

static void byname2_r_call(struct call *c)
{
	struct host *a = (struct host *)c;

	a->r = weft__libc()->gethostbyname2_r(a->key, a->af, a->ret, a->buf,
					      a->buflen, a->result,
					      a->h_errnop);
}

static void byaddr_r_call(struct call *c)
{
	struct host *a = (struct host *)c;

	a->r = weft__libc()->gethostbyaddr_r(a->key, a->len, a->af, a->ret,
					     a->buf, a->buflen, a->result,
					     a->h_errnop);
}

/* One static-buffer lookup at a time (see the top of the file).  Zero
 * bytes are an unlocked weft_mutex; a fork child starts with it unlocked,
 * whichever coroutine of the parent held it. */
static weft_mutex static_lock;
static atomic_bool static_atfork;

static void static_forget(void)
{
	static_lock = (weft_mutex)WEFT_MUTEX_INIT;
}

/* Makes a's static-buffer lookup on the pool; returns its result. */
static struct hostent *static_lookup(struct host *a)
{
	int err = errno, herr = h_errno;

	if (!atomic_exchange(&static_atfork, true))
		pthread_atfork(NULL, NULL, static_forget);
	/* Others may run while we wait for the lock, and change both. */
	weft_mutex_lock(&static_lock);
	errno = err;
	h_errno = herr;
	bool cut = offload(&a->c);
	weft_mutex_unlock(&static_lock);
	if (cut)
		weft__cancel_act(weft__running);
	return a->h;
}

/* gethostbyname that parks while the pool looks the name up.  Returns
 * glibc's static result or NULL, with h_errno and errno as it leaves
 * them. */
struct hostent *weft__gethostbyname(const char *name)
{
	if (!weft__may_park())
		return weft__libc()->gethostbyname(name);
	struct host a = { .c = { .fn = byname_call }, .key = name };
	return static_lookup(&a);
}

/* gethostbyname2 that parks; see weft__gethostbyname. */
struct hostent *weft__gethostbyname2(const char *name, int af)
{
	if (!weft__may_park())
		return weft__libc()->gethostbyname2(name, af);
	struct host a = { .c = { .fn = byname2_call }, .key = name, .af = af };
	return static_lookup(&a);
}

/* gethostbyaddr that parks; see weft__gethostbyname. */
struct hostent *weft__gethostbyaddr(const void *addr, socklen_t len,
				    int type)
{
	if (!weft__may_park())
		return weft__libc()->gethostbyaddr(addr, len, type);
	struct host a = { .c = { .fn = byaddr_call }, .key = addr, .len = len,
			  .af = type };
	return static_lookup(&a);
}

/* gethostbyname_r that parks while the pool looks the name up.  Returns
 * what it returns (0, or an errno value such as ERANGE), with *result,
 * *h_errnop, errno and h_errno as it leaves them. */
int weft__gethostbyname_r(const char *name, struct hostent *ret, char *buf,
			  size_t buflen, struct hostent **result,
			  int *h_errnop)
{
	if (!weft__may_park())
		return weft__libc()->gethostbyname_r(name, ret, buf, buflen,
						     result, h_errnop);
	struct host a = { .c = { .fn = byname_r_call }, .key = name,
			  .ret = ret, .buf = buf, .buflen = buflen,
			  .result = result, .h_errnop = h_errnop };
	offload_point(&a.c);
	return a.r;
}

/* gethostbyname2_r that parks; see weft__gethostbyname_r. */
int weft__gethostbyname2_r(const char *name, int af, struct hostent *ret,
			   char *buf, size_t buflen, struct hostent **result,
			   int *h_errnop)
{
	if (!weft__may_park())
		return weft__libc()->gethostbyname2_r(name, af, ret, buf,
						      buflen, result,
						      h_errnop);
	struct host a = { .c = { .fn = byname2_r_call }, .key = name,
			  .af = af, .ret = ret, .buf = buf, .buflen = buflen,
			  .result = result, .h_errnop = h_errnop };
	offload_point(&a.c);
	return a.r;
}

/* gethostbyaddr_r that parks; see weft__gethostbyname_r. */
int weft__gethostbyaddr_r(const void *addr, socklen_t len, int type,
			  struct hostent *ret, char *buf, size_t buflen,
			  struct hostent **result, int *h_errnop)
{
	if (!weft__may_park())
		return weft__libc()->gethostbyaddr_r(addr, len, type, ret, buf,
						     buflen, result,
						     h_errnop);
	struct host a = { .c = { .fn = byaddr_r_call }, .key = addr,
			  .len = len, .af = type, .ret = ret, .buf = buf,
			  .buflen = buflen, .result = result,
			  .h_errnop = h_errnop };
	offload_point(&a.c);
	return a.r;
}

WEFT_EXPORT int getaddrinfo(const char *node, const char *service,
			    const struct addrinfo *hints,
			    struct addrinfo **res)
{
	return weft__getaddrinfo(node, service, hints, res);
}

WEFT_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen,
			    char *host, socklen_t hostlen, char *serv,
			    socklen_t servlen, int flags)
{
	return weft__getnameinfo(sa, salen, host, hostlen, serv, servlen,
				 flags);
}

WEFT_EXPORT struct hostent *gethostbyname(const char *name)
{
	return weft__gethostbyname(name);
}

WEFT_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	return weft__gethostbyname2(name, af);
}

WEFT_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len,
					  int type)
{
	return weft__gethostbyaddr(addr, len, type);
}

WEFT_EXPORT int gethostbyname_r(const char *name, struct hostent *ret,
				char *buf, size_t buflen,
				struct hostent **result, int *h_errnop)
{
	return weft__gethostbyname_r(name, ret, buf, buflen, result,
				     h_errnop);
}

WEFT_EXPORT int gethostbyname2_r(const char *name, int af,
				 struct hostent *ret, char *buf,
				 size_t buflen, struct hostent **result,
				 int *h_errnop)
{
	return weft__gethostbyname2_r(name, af, ret, buf, buflen, result,
				      h_errnop);
}

WEFT_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type,
				struct hostent *ret, char *buf, size_t buflen,
				struct hostent **result, int *h_errnop)
{
	return weft__gethostbyaddr_r(addr, len, type, ret, buf, buflen,
				     result, h_errnop);
}
