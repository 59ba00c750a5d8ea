/* netload_socks.c - the SOCKS5 handshake for netload: see netload_socks.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netload_socks.h"

/* Puts the step BYTES (LEN of them) in s->ask, to be answered with ANSWER
 * bytes. */
static void ask(struct socks *s, const unsigned char *bytes, size_t len,
		size_t answer)
{
	memcpy(s->ask, bytes, len);
	s->ask_len = len;
	s->answer_len = answer;
	s->got = 0;
}

void socks_begin(struct socks *s, uint32_t addr, uint16_t port)
{
	/* Version 5, one method: 0, no authentication. */
	static const unsigned char hello[] = { 5, 1, 0 };

	s->addr = addr;
	s->port = port;
	s->requested = 0;
	ask(s, hello, sizeof hello, 2);
}

/* The method answer must be version 5, method 0; then the CONNECT request
 * is the next step. */
static enum socks_next chosen(struct socks *s, char *why, size_t len)
{
	const unsigned char *a = s->answer;
	/* Version 5, CONNECT, reserved, IPv4, the address, the port. */
	unsigned char req[10] = { 5, 1, 0, 1, s->addr >> 24, s->addr >> 16,
				  s->addr >> 8, s->addr, s->port >> 8, s->port };

	if (a[0] != 5 || a[1] != 0) {
		snprintf(why, len, "method answer %u %u, not 5 0 "
			 "(no authentication)", a[0], a[1]);
		return SOCKS_REFUSED;
	}
	s->requested = 1;
	ask(s, req, sizeof req, 10);
	return SOCKS_ASK;
}

/* The CONNECT reply must be version 5, 0 succeeded, reserved, an IPv4
 * bound address.  The bound address and port are the proxy's business. */
static enum socks_next replied(const struct socks *s, char *why, size_t len)
{
	const unsigned char *a = s->answer;

	if (a[0] != 5 || a[1] != 0 || a[2] != 0 || a[3] != 1) {
		snprintf(why, len, "CONNECT reply %u %u %u %u, not 5 0 0 1",
			 a[0], a[1], a[2], a[3]);
		return SOCKS_REFUSED;
	}
	return SOCKS_OPEN;
}

enum socks_next socks_hear(struct socks *s, int fd, char *why, size_t len)
{
	while (s->got < s->answer_len) {
		ssize_t n = recv(fd, s->answer + s->got, s->answer_len - s->got, 0);
		if (n < 0 && errno == EAGAIN)
			return SOCKS_WAIT;
		if (n <= 0) {
			snprintf(why, len, "%s after %zu of %zu bytes of the %s "
				 "answer", n < 0 ? strerror(errno) : "EOF", s->got,
				 s->answer_len, s->requested ? "CONNECT" : "method");
			return SOCKS_REFUSED;
		}
		s->got += (size_t)n;
	}
	return s->requested ? replied(s, why, len) : chosen(s, why, len);
}
