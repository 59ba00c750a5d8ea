/* pthread_sched.c - green threads' scheduling and CPU affinity.
 *
 * One coroutine cannot be scheduled or pinned alone: the kernel schedules
 * OS threads, and an OS thread runs every green thread of its scheduler.
 * So on a green thread, pthread_setschedparam, pthread_setschedprio and
 * pthread_setaffinity_np check what they are given as glibc and the
 * kernel would for a thread of its own, with the same errors, and keep it
 * in the thread's record, and pthread_getschedparam and
 * pthread_getaffinity_np report it back; the OS thread's policy, priority
 * and CPU mask stay as they were.  A green thread starts with what a
 * native one would have: its creator's policy and priority (its
 * attributes' under PTHREAD_EXPLICIT_SCHED), its attributes' CPU mask or
 * its creator's if that set one, else the mask of the OS thread, which
 * weft never changes.
 *
 * Real threads and roots, which are OS threads, get glibc's calls
 * unchanged; a weft_go coroutine asking about itself is taken as its OS
 * thread.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "green.h"
#include "io.h"
#include "waitq.h"

/* The largest CPU mask a kernel has: NR_CPUS is at most 8192. */
#define MASK_MAX 1024
#define MASK_LONGS (MASK_MAX / sizeof(unsigned long))

/* The init user namespace's inode number, PROC_USER_INIT_INO. */
#define USER_NS_INIT 0xEFFFFFFDu

/* The green thread th names, or NULL when glibc is to act: then th is
 * what glibc should be given (a weft_go coroutine's OS thread). */
static struct weft__green *green(pthread_t *th)
{
	struct weft__green *g;
	struct weft__co *co = weft__green_target(*th, &g);

	if (co != NULL && g == NULL)
		*th = weft__green_os_thread(NULL);
	return g;
}

/* ---- scheduling ---- */

static bool known(int policy)
{
	return policy == SCHED_OTHER || policy == SCHED_FIFO ||
	       policy == SCHED_RR || policy == SCHED_BATCH ||
	       policy == SCHED_IDLE || policy == SCHED_DEADLINE;
}

static bool realtime(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR;
}

static unsigned long soft_limit(int resource)
{
	struct rlimit rl;

	return getrlimit(resource, &rl) == 0 ? rl.rlim_cur : 0;
}

/* Whether the kernel's capable(CAP_SYS_NICE) holds for the caller: the
 * capability in its effective set, in the initial user namespace. */
static bool may_nice(void)
{
	struct __user_cap_header_struct head = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	struct stat st;

	return syscall(SYS_capget, &head, data) == 0 &&
	       (data[0].effective & (1u << CAP_SYS_NICE)) &&
	       (stat("/proc/self/ns/user", &st) != 0 ||
		st.st_ino == USER_NS_INIT);
}

/* What the kernel's sched_setscheduler answers a caller changing a
 * thread whose policy is `was` (SCHED_RESET_ON_FORK included) and
 * priority `prio_was` to policy (-1: kept, as sched_setparam) and prio:
 * 0, EINVAL (no such policy, a priority outside its range) or EPERM (an
 * unprivileged caller raising its claim, as __sched_setscheduler checks
 * it).  Keeps errno. */
static int sched_check(int was, int prio_was, int policy, int prio)
{
	int old = was & ~SCHED_RESET_ON_FORK, saved = errno;
	bool reset = (policy < 0 ? was : policy) & SCHED_RESET_ON_FORK;
	bool refused = false;

	policy = policy < 0 ? old : policy & ~SCHED_RESET_ON_FORK;
	/* SCHED_DEADLINE needs sched_setattr's parameters. */
	if (!known(policy) || (unsigned)prio > 99 ||
	    policy == SCHED_DEADLINE || realtime(policy) != (prio != 0))
		return EINVAL;
	if (realtime(policy)) {
		unsigned long limit = soft_limit(RLIMIT_RTPRIO);
		unsigned long had = realtime(old) ? (unsigned long)prio_was : 0;
		refused = (policy != old && limit == 0) ||
			  ((unsigned long)prio > had &&
			   (unsigned long)prio > limit);
	}
	if (old == SCHED_IDLE && policy != SCHED_IDLE) {
		/* Leaving SCHED_IDLE is nice(2) to the thread's nice value. */
		errno = 0;
		int nice = getpriority(PRIO_PROCESS, 0);
		refused |= (unsigned long)(20 - nice) >
			   soft_limit(RLIMIT_NICE);
	}
	if ((was & SCHED_RESET_ON_FORK) && !reset)
		refused = true;
	int r = refused && !may_nice() ? EPERM : 0;
	errno = saved;
	return r;
}

/* Sets g's scheduling (policy -1: kept), once checked against what it
 * has.  The check's system calls are made outside the lock. */
static int sched_set(struct weft__green *g, int policy, int prio)
{
	weft__spin_lock(&weft__green_lock);
	int was = g->policy, prio_was = g->priority;
	weft__spin_unlock(&weft__green_lock);
	int r = sched_check(was, prio_was, policy, prio);
	if (r == 0) {
		weft__spin_lock(&weft__green_lock);
		if (policy >= 0)
			g->policy = policy;
		g->priority = prio;
		weft__spin_unlock(&weft__green_lock);
	}
	return r;
}

/* pthread_setschedparam: on a green thread, policy and param->
 * sched_priority become its own, as checked by the kernel.  Returns 0,
 * EINVAL (bad policy or priority, param NULL), EFAULT (param unreadable)
 * or EPERM (not allowed to the caller). */
int weft__pthread_setschedparam(pthread_t th, int policy,
				const struct sched_param *param)
{
	struct weft__green *g = green(&th);
	struct sched_param p;

	if (g == NULL)
		return weft__libc()->pthread_setschedparam(th, policy, param);
	if (policy < 0 || param == NULL)
		return EINVAL;
	if (!weft__copy_checked(&p, param, sizeof p, false))
		return EFAULT;
	return sched_set(g, policy, p.sched_priority);
}

/* pthread_getschedparam: a green thread's policy and priority, as set
 * or inherited.  Returns 0. */
int weft__pthread_getschedparam(pthread_t th, int *policy,
				struct sched_param *param)
{
	struct weft__green *g = green(&th);

	if (g == NULL)
		return weft__libc()->pthread_getschedparam(th, policy, param);
	weft__spin_lock(&weft__green_lock);
	int p = g->policy, prio = g->priority;
	weft__spin_unlock(&weft__green_lock);
	*policy = p;
	memset(param, 0, sizeof *param);
	param->sched_priority = prio;
	return 0;
}

/* pthread_setschedprio: a green thread's priority within its policy.
 * Returns 0, EINVAL or EPERM, as pthread_setschedparam. */
int weft__pthread_setschedprio(pthread_t th, int prio)
{
	struct weft__green *g = green(&th);

	if (g == NULL)
		return weft__libc()->pthread_setschedprio(th, prio);
	return sched_set(g, -1, prio);
}

/* ---- the CPUs a thread may be given ----
 *
 * The kernel gives a thread the CPUs of the mask it asks that are online
 * and in its cpuset, whatever mask it had (a thread of a program started
 * under taskset may widen its own), and refuses a mask with none.  The
 * cpuset is its cgroup's: cpuset.cpus.effective (cgroup v2, of the
 * nearest cgroup up the tree that has the file) or cpuset.effective_cpus
 * (v1).  Files are read with raw system calls, out of weft's way, into
 * memory from the heap: a green thread's stack may be small. */

struct scratch {
	unsigned long ok[MASK_LONGS], set[MASK_LONGS];
	char cgroup[4096], path[4200], list[4096];
};

/* Reads at most len - 1 bytes of path into buf, NUL-terminated; returns
 * how many, or -1.  Keeps errno. */
static long file_read(const char *path, char *buf, size_t len)
{
	int saved = errno;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	long n = fd < 0 ? -1 : syscall(SYS_read, fd, buf, len - 1);

	if (fd >= 0)
		syscall(SYS_close, fd);
	buf[n > 0 ? n : 0] = '\0';
	errno = saved;
	return n;
}

/* Reads the CPU list ("0-3,8") at path into mask, with buf of len bytes
 * to read it in; false if it cannot. */
static bool list_read(const char *path, unsigned long mask[MASK_LONGS],
		      char *buf, size_t len)
{
	if (file_read(path, buf, len) < 0)
		return false;
	memset(mask, 0, MASK_MAX);
	for (char *p = buf; *p >= '0' && *p <= '9';) {
		unsigned long cpu = strtoul(p, &p, 10), last = cpu;
		if (*p == '-')
			last = strtoul(p + 1, &p, 10);
		for (; cpu <= last && cpu < MASK_MAX * 8; cpu++)
			mask[cpu / (8 * sizeof *mask)] |=
				1ul << (cpu % (8 * sizeof *mask));
		p += *p == ',';
	}
	return true;
}

/* Whether word is one of the comma-separated words of list. */
static bool listed(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list;; p++) {
		if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
		if ((p = strchr(p, ',')) == NULL)
			return false;
	}
}

/* This process's cpuset into sc->set; false if its cgroup shows none. */
static bool cpuset_read(struct scratch *sc)
{
	char *at;

	if (file_read("/proc/self/cgroup", sc->cgroup, sizeof sc->cgroup) <= 0)
		return false;
	for (char *line = strtok_r(sc->cgroup, "\n", &at); line;
	     line = strtok_r(NULL, "\n", &at)) {
		/* "id:controllers:dir"; cgroup v2's has no controllers. */
		char *ctl = strchr(line, ':'), *dir;
		if (ctl == NULL || (dir = strchr(++ctl, ':')) == NULL)
			continue;
		*dir++ = '\0';
		bool v2 = *ctl == '\0';
		if (!v2 && !listed(ctl, "cpuset"))
			continue;
		for (;;) {
			snprintf(sc->path, sizeof sc->path, v2 ?
				 "/sys/fs/cgroup%s/cpuset.cpus.effective" :
				 "/sys/fs/cgroup/cpuset%s/cpuset.effective_cpus",
				 strcmp(dir, "/") ? dir : "");
			if (list_read(sc->path, sc->set, sc->list,
				      sizeof sc->list))
				return true;
			/* v2: the nearest cgroup up the tree with a cpuset. */
			char *up = strrchr(dir, '/');
			if (!v2 || up == NULL || strcmp(dir, "/") == 0)
				break;
			if (up == dir)
				up++; /* up to the root, "/" */
			*up = '\0';
		}
	}
	return false;
}

/* The CPUs a thread may be given, into sc->ok: the online ones, within
 * the cpuset if there is one (where the online list cannot be read, the
 * OS thread's own).  Returns the size of the kernel's masks in bytes, or
 * 0. */
static size_t cpus_allowed(struct scratch *sc)
{
	int saved = errno;
	long n = syscall(SYS_sched_getaffinity, 0, MASK_MAX, sc->ok);

	errno = saved;
	if (n <= 0)
		return 0;
	if (list_read("/sys/devices/system/cpu/online", sc->ok, sc->list,
		      sizeof sc->list) && cpuset_read(sc))
		for (size_t i = 0; i < MASK_LONGS; i++)
			sc->ok[i] &= sc->set[i];
	return (size_t)n;
}

/* ---- CPU affinity ---- */

/* The mask the kernel would give a thread asking for `want`, size bytes
 * of the caller's memory: its CPUs that a thread may have, in *out
 * (malloc'd, *out_size bytes).  Returns 0, EFAULT (want cannot be read),
 * EINVAL (no CPU left) or ENOMEM. */
static int mask_make(const cpu_set_t *want, size_t size, cpu_set_t **out,
		     size_t *out_size)
{
	struct scratch *sc = malloc(sizeof *sc);
	size_t n = sc ? cpus_allowed(sc) : 0;
	unsigned long *mask = n ? calloc(1, n) : NULL;
	int r = sc == NULL || (n && mask == NULL) ? ENOMEM : n ? 0 : EINVAL;

	/* The kernel takes the size as an unsigned int, and reads no more
	 * than its own masks hold. */
	size_t len = (unsigned)size < n ? (unsigned)size : n;
	if (r == 0 && len > 0 && !weft__copy_checked(mask, want, len, false))
		r = EFAULT;
	bool any = false;
	for (size_t i = 0; r == 0 && i < n / sizeof *mask; i++)
		any |= (mask[i] &= sc->ok[i]) != 0;
	if (r == 0 && !any)
		r = EINVAL;
	free(sc);
	if (r != 0) {
		free(mask);
		return r;
	}
	*out = (cpu_set_t *)mask;
	*out_size = n;
	return 0;
}

/* Gives g the mask `mask` of size bytes (NULL: none of its own). */
static void mask_set(struct weft__green *g, cpu_set_t *mask, size_t size)
{
	weft__spin_lock(&weft__green_lock);
	cpu_set_t *old = g->affinity;
	g->affinity = mask;
	g->affinity_size = size;
	weft__spin_unlock(&weft__green_lock);
	free(old);
}

/* pthread_setaffinity_np: a green thread's CPU mask, as the kernel would
 * keep it.  Returns 0, EINVAL (no CPU it may run on), EFAULT (cpuset
 * unreadable) or ENOMEM. */
int weft__pthread_setaffinity_np(pthread_t th, size_t size,
				 const cpu_set_t *cpuset)
{
	struct weft__green *g = green(&th);
	cpu_set_t *mask;
	size_t n;

	if (g == NULL)
		return weft__libc()->pthread_setaffinity_np(th, size, cpuset);
	int r = mask_make(cpuset, size, &mask, &n);
	if (r == 0)
		mask_set(g, mask, n);
	return r;
}

/* pthread_getaffinity_np: a green thread's CPU mask, or its OS thread's
 * if it has none of its own.  Returns 0, or what the kernel answers for
 * size and cpuset (EINVAL for a size too small or not a multiple of a
 * long, EFAULT). */
int weft__pthread_getaffinity_np(pthread_t th, size_t size, cpu_set_t *cpuset)
{
	struct weft__green *g = green(&th);

	if (g == NULL)
		return weft__libc()->pthread_getaffinity_np(th, size, cpuset);
	/* The kernel checks size and cpuset, as glibc would have it. */
	int saved = errno;
	long n = syscall(SYS_sched_getaffinity, 0, size < INT_MAX ? size :
			 INT_MAX, cpuset);
	int r = n < 0 ? errno : 0;
	errno = saved;
	if (r != 0)
		return r;
	memset((char *)cpuset + n, 0, size - (size_t)n);
	weft__spin_lock(&weft__green_lock);
	if (g->affinity != NULL) {
		memset(cpuset, 0, size);
		memcpy(cpuset, g->affinity,
		       size < g->affinity_size ? size : g->affinity_size);
	}
	weft__spin_unlock(&weft__green_lock);
	return 0;
}

/* ---- at creation ---- */

/* The mask attr asks for, made as for pthread_setaffinity_np into g.
 * Returns 0 (also when attr has none), EINVAL or EAGAIN. */
static int attr_mask(struct weft__green *g, const pthread_attr_t *attr)
{
	unsigned char want[MASK_MAX];
	cpu_set_t *mask;
	size_t n, i = 0;

	/* glibc fills the mask with ones when attr has none. */
	if (pthread_attr_getaffinity_np(attr, sizeof want,
					(cpu_set_t *)want) != 0)
		return 0;
	while (i < sizeof want && want[i] == 0xff)
		i++;
	if (i == sizeof want)
		return 0;
	int r = mask_make((cpu_set_t *)want, sizeof want, &mask, &n);
	if (r == 0)
		mask_set(g, mask, n);
	return r == ENOMEM ? EAGAIN : r;
}

/* Gives g a copy of creator c's mask, if c has one.  Returns 0 or
 * EAGAIN. */
static int creator_mask_copy(struct weft__green *g, struct weft__green *c)
{
	weft__spin_lock(&weft__green_lock);
	size_t n = c->affinity ? c->affinity_size : 0;
	weft__spin_unlock(&weft__green_lock);
	if (n == 0)
		return 0;
	cpu_set_t *mask = malloc(n); /* not under the spin lock */
	if (mask == NULL)
		return EAGAIN;
	weft__spin_lock(&weft__green_lock);
	bool same = c->affinity && c->affinity_size == n;
	if (same)
		memcpy(mask, c->affinity, n);
	weft__spin_unlock(&weft__green_lock);
	if (same)
		mask_set(g, mask, n);
	else
		free(mask); /* c's mask went meanwhile: none to inherit */
	return 0;
}

/* See green.h. */
int weft__green_sched_init(struct weft__green *g, struct weft__co *self,
			   const pthread_attr_t *attr)
{
	struct weft__green *c = self->slot ?
		weft__green_find(weft__green_id(self)) : NULL;
	int inherit = PTHREAD_INHERIT_SCHED, r = 0;

	if (c != NULL) {
		weft__spin_lock(&weft__green_lock);
		g->policy = c->policy;
		g->priority = c->priority;
		weft__spin_unlock(&weft__green_lock);
		r = creator_mask_copy(g, c);
	} else {
		/* An OS thread's, as glibc knows it. */
		const struct weft__real *libc = weft__libc();
		struct sched_param sp = { 0 };
		if (libc->pthread_getschedparam(libc->pthread_self(),
						&g->policy, &sp) == 0)
			g->priority = sp.sched_priority;
		else
			g->policy = SCHED_OTHER;
	}
	if (attr == NULL || r != 0)
		return r;
	pthread_attr_getinheritsched(attr, &inherit);
	if (inherit == PTHREAD_EXPLICIT_SCHED) {
		int policy = SCHED_OTHER;
		struct sched_param sp = { 0 };
		pthread_attr_getschedpolicy(attr, &policy);
		pthread_attr_getschedparam(attr, &sp);
		r = sched_set(g, policy, sp.sched_priority);
	}
	return r != 0 ? r : attr_mask(g, attr);
}

/* ---- the exported names ---- */

WEFT_EXPORT int pthread_setschedparam(pthread_t th, int policy,
				      const struct sched_param *param)
{
	return weft__pthread_setschedparam(th, policy, param);
}

WEFT_EXPORT int pthread_getschedparam(pthread_t th, int *policy,
				      struct sched_param *param)
{
	return weft__pthread_getschedparam(th, policy, param);
}

WEFT_EXPORT int pthread_setschedprio(pthread_t th, int prio)
{
	return weft__pthread_setschedprio(th, prio);
}

WEFT_EXPORT int pthread_setaffinity_np(pthread_t th, size_t size,
				       const cpu_set_t *cpuset)
{
	return weft__pthread_setaffinity_np(th, size, cpuset);
}

WEFT_EXPORT int pthread_getaffinity_np(pthread_t th, size_t size,
				       cpu_set_t *cpuset)
{
	return weft__pthread_getaffinity_np(th, size, cpuset);
}
