/* flock.c - flock and fcntl's waiting locks.  (Placeholder: passes
 * through until the offload pool lands.) */
#include <fcntl.h>

#include "hooks.h"
#include "io.h"

/* See hooks.h. */
int weft__fcntl_lock(int fd, int cmd, void *lock)
{
	return weft__libc()->fcntl(fd, cmd, lock);
}
