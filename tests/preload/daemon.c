/* daemon.c - a daemon the way many start, for the preload suite (built
 * with plain `cc -pthread`; it has never heard of weft).
 *
 *   daemon HOW PORT CONNS
 *
 * It starts idle worker threads, then forks; the child sweeps every fd
 * above stderr the HOW way, starts its own threads, and serves
 * thread-per-connection echo on 127.0.0.1:PORT until CONNS connections
 * have come and gone; the parent waits for it and exits with its status.
 * HOW: close (every number up to the fd limit), range (close_range),
 * closefrom, proc (every entry of /proc/self/fd), dup2 (/dev/null onto
 * every number, then close), or none.
 *
 * On stdout it prints the numbers of the fds it makes and what its sweep
 * gave, which must be the same whether or not weft is under it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define IDLE 4

static int idle_pipe[2];

static void *idle_main(void *arg)
{
	char c;

	(void)arg;
	while (read(idle_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void start_idle(pthread_t *t)
{
	if (pipe(idle_pipe) != 0) {
		perror("pipe");
		exit(2);
	}
	printf("idle pipe %d %d\n", idle_pipe[0], idle_pipe[1]);
	for (int i = 0; i < IDLE; i++)
		if (pthread_create(&t[i], NULL, idle_main, NULL) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(2);
		}
}

static void stop_idle(pthread_t *t)
{
	if (write(idle_pipe[1], "xxxx", IDLE) != IDLE)
		perror("write");
	for (int i = 0; i < IDLE; i++)
		pthread_join(t[i], NULL);
	close(idle_pipe[0]);
	close(idle_pipe[1]);
}

/* The highest fd number worth sweeping. */
static int fd_max(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur > 65536)
		return 65536;
	return (int)rl.rlim_cur;
}

/* Closes or overwrites every fd above stderr; prints how many it closed
 * (and how many it could not, the way natively there are none). */
static void sweep(const char *how)
{
	int closed = 0, bad = 0;

	if (strcmp(how, "close") == 0) {
		for (int fd = 3; fd < fd_max(); fd++)
			if (close(fd) == 0)
				closed++;
	} else if (strcmp(how, "range") == 0) {
		closed = close_range(3, ~0U, 0) == 0;
	} else if (strcmp(how, "closefrom") == 0) {
		closefrom(3);
		closed = 1;
	} else if (strcmp(how, "proc") == 0) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			int fd = atoi(e->d_name);
			if (e->d_name[0] == '.' || fd < 3 || fd == dirfd(d))
				continue;
			if (close(fd) == 0)
				closed++;
			else if (errno != EBADF)
				bad++;
		}
		if (d)
			closedir(d);
	} else if (strcmp(how, "dup2") == 0) {
		int null = open("/dev/null", O_RDWR);
		for (int fd = 3; fd < fd_max() && fd < 8192; fd++)
			if (fd != null && dup2(null, fd) != fd)
				bad++;
		for (int fd = 3; fd < fd_max() && fd < 8192; fd++)
			if (close(fd) == 0)
				closed++;
	}
	printf("sweep %s: %d closed, %d failed\n", how, closed, bad);
}

static void *serve(void *arg)
{
	int c = (int)(long)arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(c, buf, sizeof buf)) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(c, buf + off, (size_t)(n - off));
			if (w <= 0)
				goto out;
			off += w;
		}
out:
	close(c);
	return NULL;
}

static int child(const char *how, int port, int conns)
{
	pthread_t idle[IDLE], *t = calloc((size_t)conns, sizeof *t);

	sweep(how);
	start_idle(idle);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	printf("listener %d\n", l);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (t == NULL || bind(l, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(l, 1024) != 0) {
		perror("bind/listen");
		return 2;
	}
	fflush(stdout);
	for (int i = 0; i < conns; i++) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			perror("accept");
			return 2;
		}
		if (i == 0)
			printf("first connection %d\n", c);
		if (pthread_create(&t[i], NULL, serve, (void *)(long)c) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	}
	for (int i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	stop_idle(idle);
	int p[2];
	if (pipe(p) == 0)
		printf("last pipe %d %d\n", p[0], p[1]);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t idle[IDLE];
	int status;

	if (argc != 4) {
		fprintf(stderr, "usage: daemon HOW PORT CONNS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_idle(idle);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		int r = child(argv[1], atoi(argv[2]), atoi(argv[3]));
		fflush(stdout);
		_exit(r);
	}
	stop_idle(idle);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		fprintf(stderr, "the child did not exit: %#x\n", status);
		return 2;
	}
	return WEXITSTATUS(status);
}
