/* netload_http.c - HTTP requests and checks for netload: see netload_http.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netload_http.h"

static char *file;
static size_t file_len;

void http_expect(const char *name)
{
	int fd = open(name, O_RDONLY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(name);
		exit(2);
	}
	file_len = (size_t)st.st_size;
	file = malloc(file_len + 1);
	for (size_t got = 0; got < file_len;) {
		ssize_t n = read(fd, file + got, file_len - got);
		if (n <= 0) {
			perror(name);
			exit(2);
		}
		got += (size_t)n;
	}
	close(fd);
}

size_t http_request(char *buf, size_t cap, const char *path, int port)
{
	return (size_t)snprintf(buf, cap,
				"GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
				"User-Agent: netload\r\n\r\n", path, port);
}

int http_check(char *resp, size_t got, char *why, size_t len)
{
	char *end = memmem(resp, got, "\r\n\r\n", 4);

	if (got < 12 || memcmp(resp, "HTTP/1.", 7) != 0 ||
	    memcmp(resp + 8, " 200", 4) != 0) {
		char *cr = memchr(resp, '\r', got);
		size_t line = cr ? (size_t)(cr - resp) : got;
		snprintf(why, len, "status line '%.*s'",
			 (int)(line < 80 ? line : 80), resp);
		return 0;
	}
	if (end == NULL) {
		snprintf(why, len, "no end of headers in %zu bytes", got);
		return 0;
	}
	*end = '\0';
	char *cl = strcasestr(resp, "\r\nContent-Length:");
	size_t body = got - (size_t)(end + 4 - resp);
	if (cl == NULL || strtoul(cl + 17, NULL, 10) != file_len) {
		snprintf(why, len, "Content-Length missing or not %zu", file_len);
		return 0;
	}
	if (body != file_len || memcmp(end + 4, file, file_len) != 0) {
		snprintf(why, len, "body of %zu bytes differs from the file's %zu",
			 body, file_len);
		return 0;
	}
	return 1;
}
