// cancel.cc - a C++ program that ends its threads with pthread_cancel and
// pthread_exit (tests/preload/cancel.sh runs it natively and under weft).
//
//   cancel N      N threads: a third blocked in read(), a third in
//                 pthread_cond_wait, a third in sleep(); then one that
//                 exits from deep in its calls
//
// Each thread holds an object with a destructor on its stack, a
// thread_local one, and a cleanup handler; one catches the forced unwind
// and rethrows it.  main cancels every thread and prints what ran:
// natively every destructor and handler runs once per thread, and so must
// it under weft.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cxxabi.h>
#include <pthread.h>
#include <unistd.h>
#include <vector>

static std::atomic<int> guards, locals, handlers, rethrown, ready;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int pipe_fds[2];

struct Guard {
	~Guard() { guards++; }
};

struct Local {
	int used = 0;
	~Local() { if (used) locals++; }
};

static thread_local Local local;

static void handler(void *m)
{
	handlers++;
	if (m)
		pthread_mutex_unlock(static_cast<pthread_mutex_t *>(m));
}

static void *blocked(void *arg)
{
	long kind = reinterpret_cast<long>(arg);
	Guard g;
	char c;

	local.used = 1;
	try {
		if (kind == 1) {
			pthread_mutex_lock(&lock);
			pthread_cleanup_push(handler, &lock);
			ready++;
			for (;;)
				pthread_cond_wait(&never, &lock);
			pthread_cleanup_pop(0);
		} else {
			pthread_cleanup_push(handler, nullptr);
			ready++;
			if (kind == 0)
				(void)!read(pipe_fds[0], &c, 1);
			else
				sleep(60);
			pthread_cleanup_pop(0);
		}
	} catch (abi::__forced_unwind &) {
		rethrown++;
		throw;
	}
	return nullptr;
}

static void deep(int n)
{
	Guard g;

	if (n < 0)
		return;
	if (n == 0)
		pthread_exit(reinterpret_cast<void *>(42));
	deep(n - 1);
}

static void *exits(void *)
{
	local.used = 1;
	deep(5);
	return nullptr;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 30;
	std::vector<pthread_t> t(n);

	if (pipe(pipe_fds) != 0)
		return 2;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], nullptr, blocked,
			       reinterpret_cast<void *>(static_cast<long>(i % 3)));
	while (ready < n)
		usleep(1000);
	usleep(50000); // every one parked by now; a late one acts on entry
	int canceled = 0;
	for (int i = 0; i < n; i++)
		pthread_cancel(t[i]);
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		canceled += r == PTHREAD_CANCELED;
	}
	pthread_t e;
	void *r;
	pthread_create(&e, nullptr, exits, nullptr);
	pthread_join(e, &r);
	printf("canceled=%d guards=%d locals=%d handlers=%d rethrown=%d "
	       "exit=%ld\n", canceled, guards.load(), locals.load(),
	       handlers.load(), rethrown.load(), reinterpret_cast<long>(r));
	return 0;
}
