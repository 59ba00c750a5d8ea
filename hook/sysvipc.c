/* sysvipc.c - System V message queues and semaphores: msgrcv, msgsnd,
 * semop and semtimedop.
 *
 * Their waits have no fd to park on.  So a coroutine that is not alone
 * first asks without waiting (IPC_NOWAIT; a semop with a time-out of
 * zero), and if the call would wait, hands the program's own call to
 * the offload pool (core/offload_intr.c): the answer is the kernel's
 * either way, and an operation the program itself marked IPC_NOWAIT
 * fails there at once as it would have here.  A signal given to the
 * caller ends the wait with EINTR, SA_RESTART or not, as signal(7) says
 * of these calls; msgrcv and msgsnd are cancellation points, as glibc
 * makes them, and the semaphore calls are not.
 */
#include <errno.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>

#include "io.h"
#include "offload.h"

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
 * wait; same results and errno.  The try is the program's own call with
 * a time-out of zero, which the kernel ends with EAGAIN where it would
 * wait: the kernel reads the operations itself (EFAULT), however many.
 * The program's time-out is checked first, as the kernel checks it
 * before all else; one it rejects is the real call's to reject. */
static int sem_ops(int id, struct sembuf *ops, size_t n,
		   const struct timespec *timeout)
{
	const struct weft__real *libc = weft__libc();
	struct timespec zero = { 0, 0 }, t; /* writable: qemu-user asks */

	if (!weft__may_park() ||
	    (timeout != NULL &&
	     (!weft__copy_checked(&t, timeout, sizeof t, false) ||
	      t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000)))
		return libc->semtimedop(id, ops, n, timeout);
	int saved = errno;
	int r = libc->semtimedop(id, ops, n, &zero);
	if (r == 0 || errno != EAGAIN)
		return r;
	/* Would wait, or an operation the program marked IPC_NOWAIT
	 * cannot go: the pool's call says which, at once for the latter. */
	errno = saved;
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
