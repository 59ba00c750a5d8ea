/* ownfd_dup.c - placing a copy of an fd at the top of the fd range, where
 * weft's own fds live (see ownfd.h).  Raw system calls only: weft's own
 * wrappers would take these for the program's calls. */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "ownfd.h"

/* Duplicates src (close-on-exec) to the lowest free number among the top
 * 1, 2, 4... numbers below top, but never at or below `above`, nor in the
 * lower half.  Returns the new fd, or -1 with errno EMFILE (or EBADF). */
static int dup_below(int src, long top, int above)
{
	/* The raw call: weft's own fcntl wrapper would take this for the
	 * program's, and weft's numbers for ones to move away from. */
	for (long step = 1; step <= top / 2 && top - step > above; step *= 2) {
		int fd = (int)syscall(SYS_fcntl, src, F_DUPFD_CLOEXEC,
				      (int)(top - step));
		if (fd >= 0 && fd < top)
			return fd;
		if (fd >= 0) /* above top, the limit being higher */
			syscall(SYS_close, fd);
		else if (errno != EMFILE)
			return -1;
	}
	errno = EMFILE;
	return -1;
}

/* See ownfd.h. */
int weft__ownfd_dup_high(int src, int above)
{
	struct rlimit rl;
	/* An unlimited soft limit is the kernel's nr_open, by default. */
	long soft = 1 << 20;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)soft)
		soft = (long)rl.rlim_cur;
	int fd = dup_below(src, soft < WEFT__OWNFD_CEIL ? soft
						       : WEFT__OWNFD_CEIL,
			   above);
	if (fd < 0 && errno == EMFILE && soft > WEFT__OWNFD_CEIL)
		fd = dup_below(src, soft, above);
	return fd;
}
