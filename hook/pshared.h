/* pshared.h - waits on the sync objects that stay glibc's: process-shared
 * mutexes, condition variables, rwlocks and barriers, robust mutexes, and
 * semaphores glibc made (process-shared, named, or made while green
 * threads were off).  See pshared.c. */
#ifndef WEFT_PSHARED_H
#define WEFT_PSHARED_H

#include <pthread.h>
#include <stdbool.h>
#include <semaphore.h>
#include <time.h>

/* pthread_mutex_lock (abs NULL) or clocklock on a glibc mutex; a
 * coroutine that is not alone parks while a process-shared or robust one
 * is held.  Returns what glibc's call returns. */
int weft__glibc_mutex_lock(pthread_mutex_t *pm, clockid_t clock,
			   const struct timespec *abs);

/* pthread_cond_wait (abs NULL) or clockwait on a glibc condition
 * variable; parks when it is process-shared and pm is neither robust nor
 * priority-aware, while glibc's wait is made on a thread of its own.
 * Returns what glibc's call returns. */
int weft__glibc_cond_wait(pthread_cond_t *pc, pthread_mutex_t *pm,
			  clockid_t clock, const struct timespec *abs);

/* pthread_rwlock_rdlock or wrlock (abs NULL) or their clock variants on
 * a glibc rwlock; parks when it is process-shared, while glibc's call is
 * made on a thread of its own.  Returns what glibc's call returns. */
int weft__glibc_rwlock_lock(pthread_rwlock_t *prw, bool write,
			    clockid_t clock, const struct timespec *abs);

/* sem_wait (abs NULL) or sem_clockwait on a glibc semaphore; parks while
 * it has no unit.  Returns 0 or -1 with glibc's errno. */
int weft__glibc_sem_wait(sem_t *s, clockid_t clock,
			 const struct timespec *abs);

/* pthread_barrier_wait on a glibc barrier; parks while glibc's wait is
 * made on a thread of its own.  Returns what glibc's call returns. */
int weft__glibc_barrier_wait(pthread_barrier_t *pb);

#endif
