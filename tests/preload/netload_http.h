/* netload_http.h - what netload http sends and how it checks each answer:
 * a GET request, and a response that must be 200 with a Content-Length and
 * a body byte for byte equal to a file.  The caller sends and receives.
 */
#ifndef NETLOAD_HTTP_H
#define NETLOAD_HTTP_H

#include <stddef.h>

/* Reads the whole of file NAME, the body every response must have, or
 * exits. */
void http_expect(const char *name);

/* Writes "GET PATH HTTP/1.0" for 127.0.0.1:PORT into BUF (CAP bytes);
 * returns its length. */
size_t http_request(char *buf, size_t cap, const char *path, int port);

/* Checks the whole response, GOT bytes at RESP (which it may change).
 * Returns 1 if it is right; 0 if not, and why is in WHY (at most LEN
 * bytes). */
int http_check(char *resp, size_t got, char *why, size_t len);

#endif
