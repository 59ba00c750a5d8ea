/* netload_socks.h - the client's side of a SOCKS5 handshake (RFC 1928), for
 * netload -x.
 *
 * It offers "no authentication" only and must be granted it, then asks to
 * CONNECT to an IPv4 address (never a name: no DNS) and must be told it
 * succeeded.  It holds the bytes of each step for the caller to send, and
 * reads and checks each answer; the caller sends a step only once the
 * previous answer is in, as a client must.
 */
#ifndef NETLOAD_SOCKS_H
#define NETLOAD_SOCKS_H

#include <stddef.h>
#include <stdint.h>

struct socks {
	uint32_t addr;            /* where to CONNECT: IPv4, host order */
	uint16_t port;
	int requested;            /* the step out is CONNECT, not the greeting */
	unsigned char ask[10];    /* the step to send */
	size_t ask_len;
	unsigned char answer[10]; /* its answer, as it comes in */
	size_t answer_len, got;   /* the whole answer's length; bytes in */
};

enum socks_next { SOCKS_WAIT, SOCKS_ASK, SOCKS_OPEN, SOCKS_REFUSED };

/* Starts a handshake that will CONNECT to ADDR:PORT: the greeting is in
 * s->ask. */
void socks_begin(struct socks *s, uint32_t addr, uint16_t port);

/* Reads what there is of the answer to the step sent from the non-blocking
 * socket FD, never past its end: what follows is the target's.
 * SOCKS_WAIT: the answer is not all in yet; SOCKS_ASK: it was right, and
 * the next step is in s->ask; SOCKS_OPEN: the proxy has connected, and
 * every byte from now on is the target's; SOCKS_REFUSED: the answer was
 * wrong or short, or the socket failed, and why is in WHY (at most LEN
 * bytes). */
enum socks_next socks_hear(struct socks *s, int fd, char *why, size_t len);

#endif
