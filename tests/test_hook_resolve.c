/* test_hook_resolve.c - getaddrinfo, getnameinfo and the gethostby*
 * family: made on the offload pool while the caller parks, unless there is
 * nothing to look up.
 *
 * No test here asks the machine's name servers anything: names are
 * "localhost" (in every /etc/hosts) or numeric, and lookups that would miss
 * /etc/hosts (and so go on to DNS) are never made.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "real.h"
#include "tcb.h"
#include "weft.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------ */

/* A coroutine that says it ran; queued before a call, it runs before the
 * call returns only if the caller parked. */
static void mark(void *p)
{
	*(int *)p = 1;
}

/* A coroutine that keeps the caller company (so it is never alone) until
 * told to stop. */
static void company(void *p)
{
	volatile int *stop = p;

	while (!*stop)
		weft_sleep(MS);
}

/* A record of calls and their results, compared byte for byte. */
struct rec {
	size_t n;
	char buf[16384];
};

static void put(struct rec *r, const void *p, size_t n)
{
	ck_assert_uint_le(r->n + n, sizeof r->buf);
	memcpy(r->buf + r->n, p, n);
	r->n += n;
}

static void put_int(struct rec *r, long v)
{
	put(r, &v, sizeof v);
}

static void put_str(struct rec *r, const char *s)
{
	if (s == NULL) {
		put_int(r, -1);
		return;
	}
	put_int(r, (long)strlen(s));
	put(r, s, strlen(s));
}

static void put_ai(struct rec *r, const struct addrinfo *ai)
{
	for (; ai; ai = ai->ai_next) {
		put_int(r, ai->ai_flags);
		put_int(r, ai->ai_family);
		put_int(r, ai->ai_socktype);
		put_int(r, ai->ai_protocol);
		put_int(r, ai->ai_addrlen);
		put(r, ai->ai_addr, ai->ai_addrlen);
		put_str(r, ai->ai_canonname);
	}
	put_int(r, -2);
}

static void put_host(struct rec *r, const struct hostent *h)
{
	if (h == NULL) {
		put_int(r, -3);
		return;
	}
	put_str(r, h->h_name);
	for (char **a = h->h_aliases; a && *a; a++)
		put_str(r, *a);
	put_int(r, h->h_addrtype);
	put_int(r, h->h_length);
	for (char **a = h->h_addr_list; a && *a; a++)
		put(r, *a, (size_t)h->h_length);
	put_int(r, -4);
}

/* getaddrinfo, recorded: result, errno when it matters, the list. */
static int rec_gai(struct rec *r, const char *node, const char *service,
		   const struct addrinfo *hints)
{
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(node, service, hints, &ai);

	put_int(r, rc);
	if (rc == EAI_SYSTEM)
		put_int(r, errno);
	if (rc == 0) {
		put_ai(r, ai);
		freeaddrinfo(ai);
	}
	return rc;
}

static struct sockaddr_in sin_of(const char *ip, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };

	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return sin;
}

static struct sockaddr_in6 sin6_of(const char *ip, int port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons(port) };

	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return sin6;
}

static void rec_gni(struct rec *r, const void *sa, socklen_t salen,
		    socklen_t hostlen, socklen_t servlen, int flags)
{
	char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
	int rc = getnameinfo(sa, salen, hostlen ? host : NULL, hostlen,
			     servlen ? serv : NULL, servlen, flags);

	put_int(r, rc);
	if (rc == EAI_SYSTEM)
		put_int(r, errno);
	put_str(r, host);
	put_str(r, serv);
}

/* A gethostby* call that returns glibc's buffer, recorded. */
static void rec_static(struct rec *r, struct hostent *h)
{
	int err = errno, herr = h_errno;

	put_host(r, h);
	put_int(r, herr);
	if (h == NULL)
		put_int(r, err);
}

static void rec_r(struct rec *r, int rc, struct hostent *res, int herr)
{
	put_int(r, rc);
	put_int(r, res != NULL);
	put_host(r, res);
	if (rc != 0 || res == NULL)
		put_int(r, herr);
}

/* Every resolver call, with names that never reach DNS. */
static void resolve_sequence(struct rec *r)
{
	struct addrinfo h = { 0 };
	struct hostent he, *res;
	char buf[2048];
	int herr;

	h = (struct addrinfo){ .ai_family = AF_INET,
			       .ai_socktype = SOCK_STREAM };
	rec_gai(r, "localhost", "80", &h);
	rec_gai(r, "127.0.0.1", "http", NULL);
	h = (struct addrinfo){ .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
			       .ai_family = AF_INET6,
			       .ai_socktype = SOCK_DGRAM };
	rec_gai(r, "::1", "443", &h);
	h = (struct addrinfo){ .ai_flags = AI_PASSIVE, .ai_family = AF_INET };
	rec_gai(r, NULL, "8080", &h);
	h = (struct addrinfo){ .ai_flags = AI_CANONNAME, .ai_family = AF_INET };
	rec_gai(r, "localhost", NULL, &h);
	h = (struct addrinfo){ .ai_flags = AI_NUMERICHOST };
	rec_gai(r, "localhost", NULL, &h);
	h = (struct addrinfo){ .ai_socktype = SOCK_STREAM };
	rec_gai(r, "localhost", "no-such-service-here", &h);
	h = (struct addrinfo){ .ai_family = 12345 };
	rec_gai(r, "localhost", NULL, &h);
	h = (struct addrinfo){ .ai_socktype = 12345 };
	rec_gai(r, "localhost", "80", &h);
	h = (struct addrinfo){ .ai_flags = 0x10000 };
	rec_gai(r, "localhost", "80", &h);
	rec_gai(r, NULL, NULL, NULL);

	struct sockaddr_in sin = sin_of("127.0.0.1", 80);
	struct sockaddr_in6 sin6 = sin6_of("::1", 53);
	rec_gni(r, &sin, sizeof sin, NI_MAXHOST, NI_MAXSERV, 0);
	rec_gni(r, &sin, sizeof sin, NI_MAXHOST, NI_MAXSERV,
		NI_NUMERICHOST | NI_NUMERICSERV);
	rec_gni(r, &sin, sizeof sin, NI_MAXHOST, 0, NI_NAMEREQD);
	rec_gni(r, &sin6, sizeof sin6, NI_MAXHOST, NI_MAXSERV,
		NI_NUMERICHOST | NI_DGRAM);
	rec_gni(r, &sin, sizeof sin, 3, 0, 0);
	rec_gni(r, &sin, 3, NI_MAXHOST, 0, 0);

	rec_static(r, gethostbyname("localhost"));
	rec_static(r, gethostbyname("127.0.0.1"));
	rec_static(r, gethostbyname2("::1", AF_INET6));
	rec_static(r, gethostbyname2("127.0.0.1", AF_INET6));
	rec_static(r, gethostbyname2("localhost", 12345));
	struct in_addr lo = sin.sin_addr;
	rec_static(r, gethostbyaddr(&lo, sizeof lo, AF_INET));
	rec_static(r, gethostbyaddr(&lo, 3, AF_INET));

	int rc;
	rc = gethostbyname_r("localhost", &he, buf, sizeof buf, &res, &herr);
	rec_r(r, rc, res, herr);
	rc = gethostbyname_r("localhost", &he, buf, 8, &res, &herr);
	rec_r(r, rc, res, herr);
	rc = gethostbyname2_r("::1", AF_INET6, &he, buf, sizeof buf, &res,
			      &herr);
	rec_r(r, rc, res, herr);
	rc = gethostbyname2_r("localhost", 12345, &he, buf, sizeof buf, &res,
			      &herr);
	rec_r(r, rc, res, herr);
	rc = gethostbyaddr_r(&lo, sizeof lo, AF_INET, &he, buf, sizeof buf,
			     &res, &herr);
	rec_r(r, rc, res, herr);
	rc = gethostbyaddr_r(&lo, sizeof lo, AF_INET, &he, buf, 8, &res,
			     &herr);
	rec_r(r, rc, res, herr);
}

/* Runs seq in a fork child, plain (no weft call at all) or with a second
 * coroutine alive so that the pool is used, and returns its record.  The
 * child fails if, with weft, no pool thread was started. */
static void run_child(void (*seq)(struct rec *), bool with_weft,
		      struct rec *out)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static struct rec r;
		static volatile int stop;
		int threads = tl_thread_count();
		if (with_weft)
			weft_go(company, (void *)&stop);
		seq(&r);
		stop = 1;
		if (write(p[1], &r, sizeof r) != (ssize_t)sizeof r)
			_exit(3);
		_exit(with_weft && tl_thread_count() == threads ? 2 : 0);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof *out &&
	       (n = read(p[0], (char *)out + got, sizeof *out - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_uint_eq(got, sizeof *out);
}

static void differential(void (*seq)(struct rec *))
{
	static struct rec plain, woven;

	run_child(seq, false, &plain);
	run_child(seq, true, &woven);
	ck_assert_uint_gt(plain.n, 0);
	ck_assert_uint_eq(plain.n, woven.n);
	ck_assert(memcmp(plain.buf, woven.buf, plain.n) == 0);
}

/* The first IPv4 address getaddrinfo gives, as text. */
static void first_ipv4(const struct addrinfo *ai, char *out, size_t n)
{
	ck_assert_ptr_nonnull(ai);
	ck_assert_int_eq(ai->ai_family, AF_INET);
	const struct sockaddr_in *sin = (const void *)ai->ai_addr;
	ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sin->sin_addr, out, n));
}

/* ---- getaddrinfo --------------------------------------------------------- */

START_TEST(getaddrinfo_parks_while_the_pool_resolves)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	int ran = 0, threads = tl_thread_count();
	char ip[INET_ADDRSTRLEN];

	weft_go(mark, &ran);
	ck_assert_int_eq(getaddrinfo("localhost", "80", &hints, &ai), 0);
	ck_assert_int_eq(ran, 1);
	ck_assert_int_gt(tl_thread_count(), threads);
	first_ipv4(ai, ip, sizeof ip);
	ck_assert_str_eq(ip, "127.0.0.1");
	ck_assert_int_eq(ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port),
			 80);
	freeaddrinfo(ai);
}
END_TEST

/* A numeric address and port leave nothing to look up: the call is made
 * in place, without a trip to the pool, and gives what libc gives. */
START_TEST(getaddrinfo_of_a_numeric_address_does_not_park)
{
	static const char *const nodes[] = { "127.0.0.1", "::1", NULL };
	struct addrinfo hints = { .ai_flags = AI_PASSIVE };

	for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
		struct addrinfo *mine = NULL, *real = NULL;
		struct rec a = { 0 }, b = { 0 };
		int ran = 0;

		weft_go(mark, &ran);
		ck_assert_int_eq(getaddrinfo(nodes[i], "8080", &hints, &mine),
				 0);
		ck_assert_int_eq(ran, 0);
		ck_assert_int_eq(weft__libc()->getaddrinfo(nodes[i], "8080",
							   &hints, &real), 0);
		put_ai(&a, mine);
		put_ai(&b, real);
		ck_assert_uint_eq(a.n, b.n);
		ck_assert(memcmp(a.buf, b.buf, a.n) == 0);
		freeaddrinfo(mine);
		freeaddrinfo(real);
		weft_yield(); /* mark runs */
		ck_assert_int_eq(ran, 1);
	}
}
END_TEST

/* A name, a named service or a canonical name to find goes to the pool
 * even with a numeric address beside it. */
START_TEST(getaddrinfo_with_a_name_to_find_parks)
{
	struct addrinfo canon = { .ai_flags = AI_CANONNAME,
				  .ai_family = AF_INET };
	struct addrinfo *ai = NULL;
	int ran = 0;

	weft_go(mark, &ran);
	ck_assert_int_eq(getaddrinfo("127.0.0.1", "http", NULL, &ai), 0);
	ck_assert_int_eq(ran, 1);
	freeaddrinfo(ai);
	ran = 0;
	weft_go(mark, &ran);
	ck_assert_int_eq(getaddrinfo("127.0.0.1", NULL, &canon, &ai), 0);
	ck_assert_int_eq(ran, 1);
	freeaddrinfo(ai);
}
END_TEST

START_TEST(getaddrinfo_alone_resolves_on_the_calling_thread)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char ip[INET_ADDRSTRLEN];

	weft_self();
	ck_assert_int_eq(getaddrinfo("127.0.0.1", "443", &hints, &ai), 0);
	ck_assert_int_eq(tl_thread_count(), 1);
	first_ipv4(ai, ip, sizeof ip);
	ck_assert_str_eq(ip, "127.0.0.1");
	freeaddrinfo(ai);
}
END_TEST

START_TEST(getaddrinfo_outside_a_coroutine_equals_libc)
{
	struct addrinfo hints = { .ai_flags = AI_CANONNAME,
				  .ai_family = AF_INET };
	struct addrinfo *mine = NULL, *real = NULL;
	struct rec a = { 0 }, b = { 0 };

	ck_assert_int_eq(getaddrinfo("localhost", "80", &hints, &mine), 0);
	ck_assert_int_eq(weft__libc()->getaddrinfo("localhost", "80", &hints,
						   &real), 0);
	ck_assert_ptr_null(weft__running);
	put_ai(&a, mine);
	put_ai(&b, real);
	ck_assert_uint_eq(a.n, b.n);
	ck_assert(memcmp(a.buf, b.buf, a.n) == 0);
	freeaddrinfo(mine);
	freeaddrinfo(real);
}
END_TEST

START_TEST(getaddrinfo_errors_are_libcs_when_parked)
{
	volatile int stop = 0;
	struct addrinfo h, *ai = NULL;

	weft_go(company, (void *)&stop);
	h = (struct addrinfo){ .ai_flags = AI_NUMERICHOST };
	ck_assert_int_eq(getaddrinfo("localhost", NULL, &h, &ai), EAI_NONAME);
	ck_assert_int_eq(getaddrinfo(NULL, NULL, NULL, &ai), EAI_NONAME);
	h = (struct addrinfo){ .ai_family = 12345 };
	ck_assert_int_eq(getaddrinfo("localhost", NULL, &h, &ai), EAI_FAMILY);
	h = (struct addrinfo){ .ai_socktype = 12345 };
	ck_assert_int_eq(getaddrinfo("localhost", "80", &h, &ai),
			 EAI_SOCKTYPE);
	h = (struct addrinfo){ .ai_socktype = SOCK_STREAM };
	ck_assert_int_eq(getaddrinfo("localhost", "no-such-service-here", &h,
				     &ai), EAI_SERVICE);
	h = (struct addrinfo){ .ai_flags = 0x10000 };
	ck_assert_int_eq(getaddrinfo("localhost", "80", &h, &ai),
			 EAI_BADFLAGS);
	stop = 1;
}
END_TEST

/* Two coroutines resolve at once; each gets its own answer. */
struct lookup {
	const char *name;
	char ip[INET_ADDRSTRLEN];
	int rc;
	weft_wg *wg;
};

static void look_up(void *p)
{
	struct lookup *l = p;
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;

	l->rc = getaddrinfo(l->name, NULL, &hints, &ai);
	if (l->rc == 0) {
		const struct sockaddr_in *sin = (const void *)ai->ai_addr;
		inet_ntop(AF_INET, &sin->sin_addr, l->ip, sizeof l->ip);
		freeaddrinfo(ai);
	}
	weft_wg_done(l->wg);
}

START_TEST(getaddrinfo_of_many_coroutines_each_get_their_own_answer)
{
	enum { N = 12 };
	struct lookup l[N];
	char names[N][INET_ADDRSTRLEN];
	weft_wg wg = WEFT_WG_INIT;

	weft_wg_add(&wg, N);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "10.0.0.%d", i + 1);
		l[i] = (struct lookup){ .name = i % 3 ? names[i] : "localhost",
					.rc = -1, .wg = &wg };
		weft_go(look_up, &l[i]);
	}
	weft_wg_wait(&wg);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(l[i].rc, 0);
		ck_assert_str_eq(l[i].ip, i % 3 ? names[i] : "127.0.0.1");
	}
}
END_TEST

/* ---- getnameinfo --------------------------------------------------------- */

/* getnameinfo of 127.0.0.1:80 into host and serv, with a coroutine
 * queued beside the caller: whether the call parked (that one ran). */
static bool gni_parked(char *host, socklen_t hostlen, char *serv,
		       int flags)
{
	struct sockaddr_in sin = sin_of("127.0.0.1", 80);
	int ran = 0;

	weft_go(mark, &ran);
	ck_assert_int_eq(getnameinfo((void *)&sin, sizeof sin, host, hostlen,
				     serv, NI_MAXSERV, flags), 0);
	bool parked = ran;
	weft_yield(); /* mark runs, if it has not */
	ck_assert_int_eq(ran, 1);
	return parked;
}

START_TEST(getnameinfo_parks_while_the_pool_looks_the_address_up)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	ck_assert(gni_parked(host, sizeof host, serv, NI_NAMEREQD));
	ck_assert_str_eq(host, "localhost");
	ck_assert_str_eq(serv, "http");
}
END_TEST

/* Numeric host and service: nothing to look up, made in place. */
START_TEST(getnameinfo_numeric_does_not_park)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	ck_assert(!gni_parked(host, sizeof host, serv,
			      NI_NUMERICHOST | NI_NUMERICSERV));
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_str_eq(serv, "80");
	ck_assert(!gni_parked(NULL, 0, serv, NI_NUMERICSERV));
	ck_assert_str_eq(serv, "80");
}
END_TEST

START_TEST(getnameinfo_errors_are_libcs_when_parked)
{
	volatile int stop = 0;
	struct sockaddr_in sin = sin_of("127.0.0.1", 80);
	char host[NI_MAXHOST];

	weft_go(company, (void *)&stop);
	ck_assert_int_eq(getnameinfo((void *)&sin, sizeof sin, host, 3, NULL,
				     0, 0), EAI_OVERFLOW);
	ck_assert_int_eq(getnameinfo((void *)&sin, 3, host, sizeof host, NULL,
				     0, 0), EAI_FAMILY);
	sin.sin_family = 12345;
	ck_assert_int_eq(getnameinfo((void *)&sin, sizeof sin, host,
				     sizeof host, NULL, 0, 0), EAI_FAMILY);
	stop = 1;
}
END_TEST

START_TEST(getnameinfo_alone_and_outside_a_coroutine_equal_libc)
{
	struct sockaddr_in sin = sin_of("127.0.0.1", 22);
	char h1[NI_MAXHOST], s1[NI_MAXSERV], h2[NI_MAXHOST], s2[NI_MAXSERV];

	ck_assert_int_eq(getnameinfo((void *)&sin, sizeof sin, h1, sizeof h1,
				     s1, sizeof s1, 0), 0);
	ck_assert_int_eq(weft__libc()->getnameinfo((void *)&sin, sizeof sin,
						   h2, sizeof h2, s2,
						   sizeof s2, 0), 0);
	ck_assert_str_eq(h1, h2);
	ck_assert_str_eq(s1, s2);
	weft_self();
	ck_assert_int_eq(getnameinfo((void *)&sin, sizeof sin, h1, sizeof h1,
				     s1, sizeof s1, NI_NUMERICSERV), 0);
	ck_assert_int_eq(tl_thread_count(), 1);
	ck_assert_str_eq(h1, h2);
	ck_assert_str_eq(s1, "22");
}
END_TEST

/* ---- gethostbyname, gethostbyname2, gethostbyaddr ------------------------ */

START_TEST(gethostbyname_parks_and_returns_glibcs_shared_buffer)
{
	int ran = 0;

	weft_go(mark, &ran);
	struct hostent *h = gethostbyname("localhost");
	ck_assert_int_eq(ran, 1);
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h->h_name, "localhost");
	ck_assert_int_eq(h->h_addrtype, AF_INET);
	ck_assert_int_eq(h->h_length, 4);
	ck_assert_mem_eq(h->h_addr_list[0], "\x7f\0\0\x01", 4);
	/* The buffer filled on a worker is the one this thread's own call
	 * fills: glibc's is process-wide, not per thread. */
	struct hostent *here = weft__libc()->gethostbyname("127.0.0.1");
	ck_assert_ptr_eq(here, h);
}
END_TEST

/* h_errno after a lookup, whether it succeeded or not, is what libc's
 * call leaves (on success, glibc sometimes leaves it alone). */
START_TEST(gethostbyname_leaves_h_errno_as_libc_does)
{
	volatile int stop = 0;
	const char *names[] = { "localhost", "127.0.0.1", "1.2.3.4.5" };

	weft_go(company, (void *)&stop);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		h_errno = 77;
		struct hostent *real = weft__libc()->gethostbyname(names[i]);
		int real_herr = h_errno;
		h_errno = 77;
		struct hostent *mine = gethostbyname(names[i]);
		ck_assert_int_eq(h_errno, real_herr);
		ck_assert_int_eq(mine == NULL, real == NULL);
	}
	stop = 1;
}
END_TEST

START_TEST(gethostbyname2_parks_and_reports_failures_in_h_errno)
{
	volatile int stop = 0;

	weft_go(company, (void *)&stop);
	struct hostent *h = gethostbyname2("::1", AF_INET6);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(h->h_addrtype, AF_INET6);
	ck_assert_int_eq(h->h_length, 16);
	h_errno = 0;
	ck_assert_ptr_null(gethostbyname2("127.0.0.1", AF_INET6));
	ck_assert_int_eq(h_errno, HOST_NOT_FOUND);
	errno = 0;
	ck_assert_ptr_null(gethostbyname2("localhost", 12345));
	ck_assert_int_eq(h_errno, NO_DATA);
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	stop = 1;
}
END_TEST

START_TEST(gethostbyaddr_parks_and_finds_localhost)
{
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	int ran = 0;

	weft_go(mark, &ran);
	struct hostent *h = gethostbyaddr(&lo, sizeof lo, AF_INET);
	ck_assert_int_eq(ran, 1);
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h->h_name, "localhost");
	errno = 0;
	ck_assert_ptr_null(gethostbyaddr(&lo, 3, AF_INET));
	ck_assert_int_eq(errno, EAFNOSUPPORT);
}
END_TEST

/* Coroutines that each read their static-buffer result right away, as a
 * program would, see their own answer. */
struct byname {
	const char *name;
	char got[64];
	weft_wg *wg;
};

static void by_name(void *p)
{
	struct byname *b = p;
	struct hostent *h = gethostbyname(b->name);

	if (h)
		inet_ntop(AF_INET, h->h_addr_list[0], b->got, sizeof b->got);
	weft_wg_done(b->wg);
}

START_TEST(gethostbyname_of_many_coroutines_each_read_their_own_answer)
{
	enum { N = 12 };
	struct byname b[N];
	char names[N][INET_ADDRSTRLEN];
	weft_wg wg = WEFT_WG_INIT;

	weft_wg_add(&wg, N);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "10.9.8.%d", i + 1);
		b[i] = (struct byname){ .name = names[i], .wg = &wg };
		weft_go(by_name, &b[i]);
	}
	weft_wg_wait(&wg);
	for (int i = 0; i < N; i++)
		ck_assert_str_eq(b[i].got, names[i]);
}
END_TEST

START_TEST(gethostbyname_outside_a_coroutine_equals_libc)
{
	struct rec a = { 0 }, b = { 0 };

	put_host(&a, gethostbyname("localhost"));
	put_host(&b, weft__libc()->gethostbyname("localhost"));
	ck_assert_uint_eq(a.n, b.n);
	ck_assert(memcmp(a.buf, b.buf, a.n) == 0);
	ck_assert_int_eq(tl_thread_count(), 1);
}
END_TEST

/* ---- the _r variants ----------------------------------------------------- */

START_TEST(gethostbyname_r_parks_and_fills_the_callers_buffer)
{
	struct hostent he, *res = NULL;
	char buf[1024];
	int herr = -5, ran = 0;

	weft_go(mark, &ran);
	ck_assert_int_eq(gethostbyname_r("localhost", &he, buf, sizeof buf,
					 &res, &herr), 0);
	ck_assert_int_eq(ran, 1);
	ck_assert_ptr_eq(res, &he);
	ck_assert_str_eq(he.h_name, "localhost");
	ck_assert(he.h_name >= buf && he.h_name < buf + sizeof buf);
}
END_TEST

START_TEST(gethostbyname_r_with_a_small_buffer_fails_with_ERANGE)
{
	volatile int stop = 0;
	struct hostent he, *res = &he;
	char buf[8];
	int herr = 0;

	weft_go(company, (void *)&stop);
	errno = 0;
	ck_assert_int_eq(gethostbyname_r("localhost", &he, buf, sizeof buf,
					 &res, &herr), ERANGE);
	ck_assert_ptr_null(res);
	ck_assert_int_eq(herr, NETDB_INTERNAL);
	ck_assert_int_eq(errno, ERANGE);
	res = &he;
	ck_assert_int_eq(gethostbyaddr_r("\x7f\0\0\x01", 4, AF_INET, &he, buf,
					 sizeof buf, &res, &herr), ERANGE);
	ck_assert_ptr_null(res);
	stop = 1;
}
END_TEST

START_TEST(gethostbyname2_r_with_a_bad_family_fails_as_libc_does)
{
	volatile int stop = 0;
	struct hostent he, *res = &he;
	char buf[1024];
	int herr = 0;

	weft_go(company, (void *)&stop);
	ck_assert_int_eq(gethostbyname2_r("localhost", 12345, &he, buf,
					  sizeof buf, &res, &herr),
			 EAFNOSUPPORT);
	ck_assert_ptr_null(res);
	ck_assert_int_eq(herr, NO_DATA);
	ck_assert_int_eq(gethostbyname2_r("::1", AF_INET6, &he, buf,
					  sizeof buf, &res, &herr), 0);
	ck_assert_ptr_eq(res, &he);
	ck_assert_int_eq(he.h_length, 16);
	stop = 1;
}
END_TEST

START_TEST(gethostbyaddr_r_parks_and_finds_localhost)
{
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	struct hostent he, *res = NULL;
	char buf[1024];
	int herr = 0, ran = 0;

	weft_go(mark, &ran);
	ck_assert_int_eq(gethostbyaddr_r(&lo, sizeof lo, AF_INET, &he, buf,
					 sizeof buf, &res, &herr), 0);
	ck_assert_int_eq(ran, 1);
	ck_assert_ptr_eq(res, &he);
	ck_assert_str_eq(he.h_name, "localhost");
}
END_TEST

/* ---- differential -------------------------------------------------------- */

START_TEST(resolver_calls_give_what_libc_gives)
{
	differential(resolve_sequence);
}
END_TEST

/* ---- the caller's resolver state ---------------------------------------- */

/* What one thread saw of its own _res around a lookup of "localhost". */
struct res_seen {
	int before, result, after;
	void *where;
};

static void *look_up_with_own_res(void *p)
{
	struct res_seen *seen = p;
	struct addrinfo *ai = NULL;

	seen->before = (_res.options & RES_INIT) != 0;
	seen->result = getaddrinfo("localhost", NULL, NULL, &ai);
	if (ai != NULL)
		freeaddrinfo(ai);
	seen->after = (_res.options & RES_INIT) != 0;
	seen->where = &_res;
	return NULL;
}

/* Keeps a lookup company, so that it goes to the pool. */
static void *keep_company(void *p)
{
	(void)p;
	usleep(100 * 1000);
	return NULL;
}

START_TEST(a_lookup_initialises_the_calling_thread_s_own_res)
{
	/* A lookup initialises its thread's _res (glibc's resolver context
	 * reads resolv.conf into it); with green threads the worker must do
	 * it to the caller's, which a program that sets its own name servers
	 * needs, and leave the next caller's alone.  "localhost" comes from
	 * /etc/hosts: nothing is sent. */
	struct res_seen seen[2] = { { -1, -1, -1, NULL }, { -1, -1, -1, NULL } };

	if (_i && !weft__tcb_init(false))
		return; /* no thread blocks (ThreadSanitizer): not carried */
	tl_threads_mode(_i);
	for (int i = 0; i < 2; i++) {
		pthread_t company = tl_pthread(keep_company, NULL, NULL);
		tl_pthread_join(tl_pthread(look_up_with_own_res, &seen[i], NULL));
		tl_pthread_join(company);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(seen[i].result, 0);
		ck_assert_int_eq(seen[i].before, 0);
		ck_assert_int_eq(seen[i].after, 1);
	}
	ck_assert_ptr_ne(seen[0].where, &_res);
	ck_assert_int_eq(_res.options & RES_INIT, 0);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

Suite *suite_hook_resolve(void)
{
	Suite *s = suite_create("hook_resolve");
	TCase *tc;

	tc = tcase_create("getaddrinfo");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, getaddrinfo_parks_while_the_pool_resolves);
	tcase_add_test(tc, getaddrinfo_of_a_numeric_address_does_not_park);
	tcase_add_test(tc, getaddrinfo_with_a_name_to_find_parks);
	tcase_add_test(tc, getaddrinfo_alone_resolves_on_the_calling_thread);
	tcase_add_test(tc, getaddrinfo_outside_a_coroutine_equals_libc);
	tcase_add_test(tc, getaddrinfo_errors_are_libcs_when_parked);
	tcase_add_test(tc,
		getaddrinfo_of_many_coroutines_each_get_their_own_answer);
	suite_add_tcase(s, tc);

	tc = tcase_create("getnameinfo");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		getnameinfo_parks_while_the_pool_looks_the_address_up);
	tcase_add_test(tc, getnameinfo_numeric_does_not_park);
	tcase_add_test(tc, getnameinfo_errors_are_libcs_when_parked);
	tcase_add_test(tc,
		getnameinfo_alone_and_outside_a_coroutine_equal_libc);
	suite_add_tcase(s, tc);

	tc = tcase_create("gethostby");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc,
		gethostbyname_parks_and_returns_glibcs_shared_buffer);
	tcase_add_test(tc, gethostbyname_leaves_h_errno_as_libc_does);
	tcase_add_test(tc,
		gethostbyname2_parks_and_reports_failures_in_h_errno);
	tcase_add_test(tc, gethostbyaddr_parks_and_finds_localhost);
	tcase_add_test(tc,
		gethostbyname_of_many_coroutines_each_read_their_own_answer);
	tcase_add_test(tc, gethostbyname_outside_a_coroutine_equals_libc);
	suite_add_tcase(s, tc);

	tc = tcase_create("gethostby_r");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, gethostbyname_r_parks_and_fills_the_callers_buffer);
	tcase_add_test(tc,
		gethostbyname_r_with_a_small_buffer_fails_with_ERANGE);
	tcase_add_test(tc,
		gethostbyname2_r_with_a_bad_family_fails_as_libc_does);
	tcase_add_test(tc, gethostbyaddr_r_parks_and_finds_localhost);
	suite_add_tcase(s, tc);

	tc = tcase_create("differential");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, resolver_calls_give_what_libc_gives);
	tcase_add_loop_test(tc,
		a_lookup_initialises_the_calling_thread_s_own_res, 0, 2);
	suite_add_tcase(s, tc);

	return s;
}
