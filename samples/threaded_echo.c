/* threaded_echo.c - a plain thread-per-connection echo server.
 *
 * It knows nothing of weft: one accept loop, one detached thread per
 * connection, blocking read and write.  Run natively, every connection
 * costs an OS thread; run under weft (`weft ./threaded_echo`), the same
 * binary's threads become coroutines on one OS thread.
 *
 *   threaded_echo [--max-conns N] [--stack BYTES] [PORT]
 *
 * PORT      port on 127.0.0.1 (default 7001; 0 lets the kernel pick).
 *           Once listening, the server prints "listening on 127.0.0.1:PORT"
 *           on stdout.
 * --max-conns N   exit 0 once N connections have been closed (for tests).
 * --stack BYTES   each connection thread's stack size (default 64 KiB, as
 *                 servers that hold many threads set it).
 *
 *   cc -pthread threaded_echo.c -o threaded_echo
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static long max_conns;          /* 0: serve forever */
static atomic_long conns_closed;

/* Writes all of buf; returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Counts a closed connection; the last one --max-conns allows ends the
 * process. */
static void connection_done(void)
{
	if (max_conns > 0 && atomic_fetch_add(&conns_closed, 1) + 1 >= max_conns)
		exit(0);
}

/* One connection: echo until EOF or an error, then close. */
static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(fd, buf, (size_t)n) < 0)
			break;
	}
	close(fd);
	connection_done();
	return NULL;
}

/* Holding thousands of connections needs thousands of descriptors. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int listen_on(int port)
{
	struct sockaddr_in addr = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof addr;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("bind");
		exit(1);
	}
	if (listen(fd, 65535) < 0) {   /* the kernel caps it at somaxconn */
		perror("listen");
		exit(1);
	}
	getsockname(fd, (struct sockaddr *)&addr, &len);
	printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
	fflush(stdout);
	return fd;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: threaded_echo [--max-conns N] [--stack BYTES] [PORT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int port = 7001;
	size_t stack = 64 * 1024;
	pthread_attr_t attr;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc)
			max_conns = atol(argv[++i]);
		else if (strcmp(argv[i], "--stack") == 0 && i + 1 < argc)
			stack = strtoul(argv[++i], NULL, 0);
		else if (argv[i][0] != '-')
			port = atoi(argv[i]);
		else
			usage();
	}

	signal(SIGPIPE, SIG_IGN);      /* a peer that left is an error, not death */
	raise_nofile();
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_attr_setstacksize(&attr, stack) != 0) {
		fprintf(stderr, "threaded_echo: bad stack size %zu\n", stack);
		return 2;
	}

	int lfd = listen_on(port);
	long failed = 0;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
				perror("accept");
				usleep(10000);
			} else if (errno != EINTR && errno != ECONNABORTED) {
				perror("accept");
				return 1;
			}
			continue;
		}

		pthread_t t;
		int err = pthread_create(&t, &attr, serve, (void *)(long)fd);
		if (err != 0) {
			/* Out of threads: this connection is refused by closing
			 * it; the first failure and every 1000th are reported. */
			if (failed++ % 1000 == 0)
				fprintf(stderr, "threaded_echo: pthread_create: %s "
					"(%ld so far)\n", strerror(err), failed);
			close(fd);
			connection_done();
		}
	}
}
