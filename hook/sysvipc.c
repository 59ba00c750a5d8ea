/* sysvipc.c - System V message queues and semaphores: msgrcv, msgsnd,
 * semop and semtimedop.
 *
 * Their waits have no fd to park on.  So a coroutine that is not alone
 * first asks without waiting (IPC_NOWAIT, on every operation of a
 * semop), and if the call would wait, hands the program's own call to
 * the offload pool (core/offload_intr.c): the answer is the kernel's
 * either way, and an operation the program itself marked IPC_NOWAIT
 * fails there at once as it would have here.  A signal given to the
 * caller ends the wait with EINTR, SA_RESTART or not, as signal(7) says
 * of these calls; msgrcv and msgsnd are cancellation points, as glibc
 * makes them, and the semaphore calls are not.
 */
#include <errno.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>

#include "io.h"
#include "offload.h"

/* The operations of a semop tried without waiting, on the stack: a
 * longer list goes to the pool untried. */
#define TRY_OPS 64

/* msgrcv that parks while no message of the type asked for is queued;
 * same results and errno. */
static ssize_t receive_msg(int id, void *msg, size_t size, long type, int flags)
{
	const struct weft__real *libc = weft__libc();

	if ((flags & IPC_NOWAIT) || !weft__may_park())
		return libc->msgrcv(id, msg, size, type, flags);
	int saved = errno;
	ssize_t r = libc->msgrcv(id, msg, size, type, flags | IPC_NOWAIT);
	if (r >= 0 || errno != ENOMSG)
		return r;
	errno = saved;
	return weft__offload_syscall(WEFT__SYS_CANCEL | WEFT__SYS_NO_RESTART,
				     SYS_msgrcv, id, (long)msg, (long)size,
				     type, flags);
}

/* msgsnd that parks while the queue is full; same results and errno. */
static int send_msg(int id, const void *msg, size_t size, int flags)
{
	const struct weft__real *libc = weft__libc();

	if ((flags & IPC_NOWAIT) || !weft__may_park())
		return libc->msgsnd(id, msg, size, flags);
	int saved = errno;
	int r = libc->msgsnd(id, msg, size, flags | IPC_NOWAIT);
	if (r == 0 || errno != EAGAIN)
		return r;
	errno = saved;
	return (int)weft__offload_syscall(WEFT__SYS_CANCEL |
					  WEFT__SYS_NO_RESTART, SYS_msgsnd, id,
					  (long)msg, (long)size, flags, 0);
}

/* semtimedop (timeout NULL: semop) that parks while the operations must
 * wait; same results and errno. */
static int sem_ops(int id, struct sembuf *ops, size_t n,
		   const struct timespec *timeout)
{
	const struct weft__real *libc = weft__libc();

	if (!weft__may_park())
		return libc->semtimedop(id, ops, n, timeout);
	if (n > 0 && n <= TRY_OPS) {
		struct sembuf now[TRY_OPS];
		memcpy(now, ops, n * sizeof *ops);
		for (size_t i = 0; i < n; i++)
			now[i].sem_flg |= IPC_NOWAIT;
		int saved = errno;
		/* The time-out too, which the kernel checks first. */
		int r = libc->semtimedop(id, now, n, timeout);
		if (r == 0 || errno != EAGAIN)
			return r;
		errno = saved;
	}
	return (int)weft__offload_syscall(WEFT__SYS_NO_RESTART,
					  SYS_semtimedop, id, (long)ops,
					  (long)n, (long)timeout, 0);
}

WEFT_EXPORT ssize_t msgrcv(int id, void *msg, size_t size, long type,
			   int flags)
{
	return receive_msg(id, msg, size, type, flags);
}

WEFT_EXPORT int msgsnd(int id, const void *msg, size_t size, int flags)
{
	return send_msg(id, msg, size, flags);
}

WEFT_EXPORT int semop(int id, struct sembuf *ops, size_t n)
{
	return sem_ops(id, ops, n, NULL);
}

WEFT_EXPORT int semtimedop(int id, struct sembuf *ops, size_t n,
			   const struct timespec *timeout)
{
	return sem_ops(id, ops, n, timeout);
}
