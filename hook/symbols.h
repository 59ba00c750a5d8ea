/* symbols.h - the list of libc functions weft wraps or needs.
 *
 * One line a function: return type, name, parameter list, and how weft
 * treats it (see real.h).  This list is the single place that says what
 * libweft.so exports besides its own API: the Makefile makes the linker's
 * export map from the WRAP lines.  It includes nothing, so that the
 * Makefile can preprocess it alone.
 */
#ifndef WEFT_SYMBOLS_H
#define WEFT_SYMBOLS_H

#define WEFT_REAL_SYMBOLS(X)                                                  \
	/* read.c */                                                          \
	X(ssize_t, read, (int, void *, size_t), WRAP)                         \
	X(ssize_t, readv, (int, const struct iovec *, int), WRAP)             \
	X(ssize_t, __read_chk, (int, void *, size_t, size_t), WRAP)           \
	X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int),     \
	  NEED)                                                               \
	/* file.c */                                                          \
	X(ssize_t, pread, (int, void *, size_t, off_t), WRAP)                 \
	X(ssize_t, pread64, (int, void *, size_t, off_t), WRAP)               \
	X(ssize_t, preadv, (int, const struct iovec *, int, off_t), WRAP)     \
	X(ssize_t, preadv64, (int, const struct iovec *, int, off_t), WRAP)   \
	X(ssize_t, __pread_chk, (int, void *, size_t, off_t, size_t), WRAP)   \
	X(ssize_t, __pread64_chk, (int, void *, size_t, off_t, size_t),       \
	  WRAP)                                                               \
	X(int, fsync, (int), WRAP)                                            \
	X(int, fdatasync, (int), WRAP)                                        \
	/* write.c */                                                         \
	X(ssize_t, write, (int, const void *, size_t), WRAP)                  \
	X(ssize_t, writev, (int, const struct iovec *, int), WRAP)            \
	X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int),    \
	  NEED)                                                               \
	/* recv.c */                                                          \
	X(ssize_t, recv, (int, void *, size_t, int), WRAP)                    \
	X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *,    \
			      socklen_t *), WRAP)                             \
	X(ssize_t, recvmsg, (int, struct msghdr *, int), WRAP)                \
	X(int, recvmmsg, (int, struct mmsghdr *, unsigned, int,               \
			  struct timespec *), WRAP)                           \
	X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int), WRAP)      \
	X(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int,         \
				    struct sockaddr *, socklen_t *), WRAP)    \
	/* send.c */                                                          \
	X(ssize_t, send, (int, const void *, size_t, int), WRAP)              \
	X(ssize_t, sendto, (int, const void *, size_t, int,                   \
			    const struct sockaddr *, socklen_t), WRAP)        \
	X(ssize_t, sendmsg, (int, const struct msghdr *, int), WRAP)          \
	X(int, sendmmsg, (int, struct mmsghdr *, unsigned, int), WRAP)        \
	/* accept.c */                                                        \
	X(int, accept, (int, struct sockaddr *, socklen_t *), WRAP)           \
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int), WRAP)     \
	/* connect.c */                                                       \
	X(int, connect, (int, const struct sockaddr *, socklen_t), WRAP)      \
	/* socket.c */                                                        \
	X(int, socket, (int, int, int), WRAP)                                 \
	X(int, socketpair, (int, int, int, int[2]), WRAP)                     \
	X(int, shutdown, (int, int), WRAP)                                    \
	/* sockopt.c */                                                       \
	X(int, setsockopt, (int, int, int, const void *, socklen_t), WRAP)    \
	X(int, getsockopt, (int, int, int, void *, socklen_t *), WRAP)        \
	/* pipe.c */                                                          \
	X(int, pipe, (int[2]), WRAP)                                          \
	X(int, pipe2, (int[2], int), WRAP)                                    \
	/* fdnew.c: special fds */                                            \
	X(int, eventfd, (unsigned, int), WRAP)                                \
	X(int, timerfd_create, (int, int), WRAP)                              \
	X(int, signalfd, (int, const sigset_t *, int), WRAP)                  \
	X(int, epoll_create, (int), WRAP)                                     \
	X(int, epoll_create1, (int), WRAP)                                    \
	/* open.c */                                                          \
	X(int, open, (const char *, int, ...), WRAP)                          \
	X(int, open64, (const char *, int, ...), WRAP)                        \
	X(int, openat, (int, const char *, int, ...), WRAP)                   \
	X(int, openat64, (int, const char *, int, ...), WRAP)                 \
	X(int, creat, (const char *, mode_t), WRAP)                           \
	X(int, creat64, (const char *, mode_t), WRAP)                         \
	X(int, __open_2, (const char *, int), WRAP)                           \
	X(int, __open64_2, (const char *, int), WRAP)                         \
	X(int, __openat_2, (int, const char *, int), WRAP)                    \
	X(int, __openat64_2, (int, const char *, int), WRAP)                  \
	/* close.c */                                                         \
	X(int, close, (int), WRAP)                                            \
	X(int, close_range, (unsigned, unsigned, int), WRAP)                   \
	X(void, closefrom, (int), WRAP)                                       \
	X(int, dup, (int), WRAP)                                              \
	X(int, dup2, (int, int), WRAP)                                        \
	X(int, dup3, (int, int, int), WRAP)                                   \
	/* syscall.c */                                                       \
	X(long, syscall, (long, ...), WRAP)                                   \
	/* fcntl.c */                                                         \
	X(int, fcntl, (int, int, ...), WRAP)                                  \
	X(int, fcntl64, (int, int, ...), WRAP)                                 \
	X(int, ioctl, (int, unsigned long, ...), WRAP)                        \
	/* poll.c */                                                          \
	X(int, poll, (struct pollfd *, nfds_t, int), WRAP)                    \
	X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *,      \
		       const sigset_t *), WRAP)                               \
	X(int, __poll_chk, (struct pollfd *, nfds_t, int, size_t), WRAP)      \
	X(int, __ppoll_chk, (struct pollfd *, nfds_t,                         \
			     const struct timespec *, const sigset_t *,       \
			     size_t), WRAP)                                   \
	/* select.c */                                                        \
	X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *), \
	  WRAP)                                                               \
	X(int, pselect, (int, fd_set *, fd_set *, fd_set *,                   \
			 const struct timespec *, const sigset_t *), WRAP)    \
	/* epoll.c */                                                         \
	X(int, epoll_wait, (int, struct epoll_event *, int, int), WRAP)       \
	X(int, epoll_pwait, (int, struct epoll_event *, int, int,             \
			     const sigset_t *), WRAP)                         \
	X(int, epoll_ctl, (int, int, int, struct epoll_event *), WRAP)        \
	/* sleep.c */                                                         \
	X(unsigned, sleep, (unsigned), WRAP)                                  \
	X(int, usleep, (useconds_t), WRAP)                                    \
	X(int, nanosleep, (const struct timespec *, struct timespec *), WRAP) \
	X(int, clock_nanosleep, (clockid_t, int, const struct timespec *,     \
				 struct timespec *), WRAP)                    \
	/* sigwait.c */                                                       \
	X(int, pause, (void), WRAP)                                           \
	X(int, sigsuspend, (const sigset_t *), WRAP)                          \
	X(int, sigwait, (const sigset_t *, int *), WRAP)                      \
	X(int, sigwaitinfo, (const sigset_t *, siginfo_t *), WRAP)            \
	X(int, sigtimedwait, (const sigset_t *, siginfo_t *,                  \
			      const struct timespec *), WRAP)                 \
	/* sendfile.c */                                                      \
	X(ssize_t, sendfile, (int, int, off_t *, size_t), WRAP)               \
	X(ssize_t, sendfile64, (int, int, off_t *, size_t), WRAP)              \
	X(ssize_t, splice, (int, off_t *, int, off_t *, size_t, unsigned),    \
	  WRAP)                                                               \
	/* waitpid.c */                                                       \
	X(pid_t, wait, (int *), WRAP)                                         \
	X(pid_t, waitpid, (pid_t, int *, int), WRAP)                          \
	X(pid_t, wait4, (pid_t, int *, int, struct rusage *), WRAP)           \
	X(int, waitid, (idtype_t, id_t, siginfo_t *, int), WRAP)              \
	/* flock.c */                                                         \
	X(int, flock, (int, int), WRAP)                                       \
	X(int, lockf, (int, int, off_t), WRAP)                                \
	X(int, lockf64, (int, int, off_t), WRAP)                              \
	/* sysvipc.c */                                                       \
	X(ssize_t, msgrcv, (int, void *, size_t, long, int), WRAP)            \
	X(int, msgsnd, (int, const void *, size_t, int), WRAP)                \
	X(int, semop, (int, struct sembuf *, size_t), WRAP)                   \
	X(int, semtimedop, (int, struct sembuf *, size_t,                     \
			    const struct timespec *), WRAP)                   \
	/* mqueue.c */                                                        \
	X(mqd_t, mq_open, (const char *, int, ...), WRAP)                     \
	X(int, mq_close, (mqd_t), WRAP)                                       \
	X(ssize_t, mq_timedreceive, (mqd_t, char *, size_t, unsigned *,       \
				     const struct timespec *), WRAP)          \
	X(ssize_t, mq_receive, (mqd_t, char *, size_t, unsigned *), WRAP)     \
	X(int, mq_timedsend, (mqd_t, const char *, size_t, unsigned,          \
			      const struct timespec *), WRAP)                 \
	X(int, mq_send, (mqd_t, const char *, size_t, unsigned), WRAP)        \
	/* resolve.c */                                                       \
	X(int, getaddrinfo, (const char *, const char *,                      \
			     const struct addrinfo *, struct addrinfo **),    \
	  WRAP)                                                               \
	X(int, getnameinfo, (const struct sockaddr *, socklen_t, char *,      \
			     socklen_t, char *, socklen_t, int), WRAP)        \
	X(struct hostent *, gethostbyname, (const char *), WRAP)              \
	X(struct hostent *, gethostbyname2, (const char *, int), WRAP)        \
	X(int, gethostbyname_r, (const char *, struct hostent *, char *,      \
				 size_t, struct hostent **, int *), WRAP)     \
	X(int, gethostbyname2_r, (const char *, int, struct hostent *,        \
				  char *, size_t, struct hostent **, int *),  \
	  WRAP)                                                               \
	X(struct hostent *, gethostbyaddr, (const void *, socklen_t, int),    \
	  WRAP)                                                               \
	X(int, gethostbyaddr_r, (const void *, socklen_t, int,                \
				 struct hostent *, char *, size_t,            \
				 struct hostent **, int *), WRAP)                    \
	/* stdio_in.c */                                                      \
	X(int, __uflow, (FILE *), WRAP)                                       \
	X(int, __underflow, (FILE *), WRAP)                                   \
	X(char *, fgets, (char *, int, FILE *), WRAP)                         \
	X(char *, fgets_unlocked, (char *, int, FILE *), WRAP)                \
	X(char *, __fgets_chk, (char *, size_t, int, FILE *), WRAP)           \
	X(char *, __fgets_unlocked_chk, (char *, size_t, int, FILE *), WRAP)  \
	X(ssize_t, getdelim, (char **, size_t *, int, FILE *), WRAP)          \
	X(ssize_t, __getdelim, (char **, size_t *, int, FILE *), WRAP)        \
	X(ssize_t, getline, (char **, size_t *, FILE *), WRAP)                \
	X(int, fgetc, (FILE *), WRAP)                                         \
	X(int, getc, (FILE *), WRAP)                                          \
	X(int, fgetc_unlocked, (FILE *), WRAP)                                \
	X(int, getc_unlocked, (FILE *), WRAP)                                 \
	X(int, getchar, (void), WRAP)                                         \
	X(int, getchar_unlocked, (void), WRAP)                                \
	X(size_t, fread, (void *, size_t, size_t, FILE *), WRAP)              \
	X(size_t, fread_unlocked, (void *, size_t, size_t, FILE *), WRAP)     \
	X(size_t, __fread_chk, (void *, size_t, size_t, size_t, FILE *),      \
	  WRAP)                                                               \
	X(size_t, __fread_unlocked_chk, (void *, size_t, size_t, size_t,      \
					 FILE *), WRAP)                       \
	X(int, vfscanf, (FILE *, const char *, va_list), WRAP)                \
	X(int, vscanf, (const char *, va_list), WRAP)                         \
	X(int, fscanf, (FILE *, const char *, ...), WRAP)                     \
	X(int, scanf, (const char *, ...), WRAP)                              \
	X(int, __isoc99_vfscanf, (FILE *, const char *, va_list), WRAP)       \
	X(int, __isoc99_vscanf, (const char *, va_list), WRAP)                \
	X(int, __isoc99_fscanf, (FILE *, const char *, ...), WRAP)            \
	X(int, __isoc99_scanf, (const char *, ...), WRAP)                     \
	/* stdio_out.c */                                                     \
	X(int, __overflow, (FILE *, int), WRAP)                               \
	X(size_t, fwrite, (const void *, size_t, size_t, FILE *), WRAP)       \
	X(size_t, fwrite_unlocked, (const void *, size_t, size_t, FILE *),    \
	  WRAP)                                                               \
	X(int, fputs, (const char *, FILE *), WRAP)                           \
	X(int, fputs_unlocked, (const char *, FILE *), WRAP)                  \
	X(int, puts, (const char *), WRAP)                                    \
	X(int, fputc, (int, FILE *), WRAP)                                    \
	X(int, putc, (int, FILE *), WRAP)                                     \
	X(int, fputc_unlocked, (int, FILE *), WRAP)                           \
	X(int, putc_unlocked, (int, FILE *), WRAP)                            \
	X(int, putchar, (int), WRAP)                                          \
	X(int, putchar_unlocked, (int), WRAP)                                 \
	X(int, vfprintf, (FILE *, const char *, va_list), WRAP)               \
	X(int, vprintf, (const char *, va_list), WRAP)                        \
	X(int, fprintf, (FILE *, const char *, ...), WRAP)                    \
	X(int, printf, (const char *, ...), WRAP)                             \
	X(int, __vfprintf_chk, (FILE *, int, const char *, va_list), WRAP)    \
	X(int, __vprintf_chk, (int, const char *, va_list), WRAP)             \
	X(int, __fprintf_chk, (FILE *, int, const char *, ...), WRAP)         \
	X(int, __printf_chk, (int, const char *, ...), WRAP)                  \
	X(int, fflush, (FILE *), WRAP)                                        \
	X(int, fflush_unlocked, (FILE *), WRAP)                               \
	X(int, fclose, (FILE *), WRAP)                                        \
	/* pthread.c: green threads */                                        \
	X(int, pthread_create, (pthread_t *, const pthread_attr_t *,          \
				void *(*)(void *), void *), WRAP)             \
	X(int, pthread_join, (pthread_t, void **), WRAP)                      \
	X(int, pthread_tryjoin_np, (pthread_t, void **), WRAP)                \
	X(int, pthread_timedjoin_np, (pthread_t, void **,                     \
				      const struct timespec *), WRAP)         \
	X(int, pthread_detach, (pthread_t), WRAP)                             \
	X(void, pthread_exit, (void *), WRAP)                                 \
	X(pthread_t, pthread_self, (void), WRAP)                              \
	X(int, pthread_equal, (pthread_t, pthread_t), WRAP)                   \
	X(int, pthread_getattr_np, (pthread_t, pthread_attr_t *), WRAP)       \
	X(int, pthread_setname_np, (pthread_t, const char *), WRAP)           \
	X(int, pthread_getname_np, (pthread_t, char *, size_t), WRAP)         \
	X(int, pthread_kill, (pthread_t, int), WRAP)                          \
	X(int, pthread_sigmask, (int, const sigset_t *, sigset_t *), WRAP)    \
	/* sigaction.c */                                                     \
	X(int, sigprocmask, (int, const sigset_t *, sigset_t *), WRAP)        \
	X(int, sigaction, (int, const struct sigaction *, struct sigaction *),\
	  WRAP)                                                               \
	X(__sighandler_t, signal, (int, __sighandler_t), WRAP)                \
	X(__sighandler_t, bsd_signal, (int, __sighandler_t), WRAP)            \
	X(__sighandler_t, sysv_signal, (int, __sighandler_t), WRAP)           \
	X(__sighandler_t, __sysv_signal, (int, __sighandler_t), WRAP)         \
	X(int, siginterrupt, (int, int), WRAP)                                \
	X(__sighandler_t, sigset, (int, __sighandler_t), WRAP)                \
	X(int, sighold, (int), WRAP)                                          \
	X(int, sigrelse, (int), WRAP)                                         \
	X(int, sigignore, (int), WRAP)                                        \
	X(int, sigpending, (sigset_t *), WRAP)                                \
	X(int, sigaltstack, (const stack_t *, stack_t *), WRAP)               \
	X(int, raise, (int), WRAP)                                            \
	X(int, gsignal, (int), WRAP)                                          \
	X(int, pthread_cancel, (pthread_t), WRAP)                             \
	X(int, pthread_setcancelstate, (int, int *), WRAP)                    \
	X(int, pthread_setcanceltype, (int, int *), WRAP)                     \
	X(void, pthread_testcancel, (void), WRAP)                             \
	X(int, sched_yield, (void), WRAP)                                     \
	/* pthread_sched.c */                                                 \
	X(int, pthread_setschedparam, (pthread_t, int,                        \
				       const struct sched_param *), WRAP)     \
	X(int, pthread_getschedparam, (pthread_t, int *,                      \
				       struct sched_param *), WRAP)           \
	X(int, pthread_setschedprio, (pthread_t, int), WRAP)                  \
	X(int, pthread_setaffinity_np, (pthread_t, size_t,                    \
					const cpu_set_t *), WRAP)             \
	X(int, pthread_getaffinity_np, (pthread_t, size_t, cpu_set_t *),      \
	  WRAP)                                                               \
	X(int, pthread_sigqueue, (pthread_t, int, const union sigval), WRAP)  \
	/* prctl.c */                                                         \
	X(int, prctl, (int, ...), WRAP)                                       \
	/* clock.c */                                                         \
	X(int, clock_gettime, (clockid_t, struct timespec *), WRAP)           \
	X(int, clock_getres, (clockid_t, struct timespec *), WRAP)            \
	X(int, getrusage, (__rusage_who_t, struct rusage *), WRAP)            \
	X(int, pthread_getcpuclockid, (pthread_t, clockid_t *), WRAP)         \
	/* pthread_key.c */                                                   \
	X(int, pthread_key_create, (pthread_key_t *, void (*)(void *)), WRAP) \
	X(int, pthread_key_delete, (pthread_key_t), WRAP)                     \
	X(void *, pthread_getspecific, (pthread_key_t), WRAP)                 \
	X(int, pthread_setspecific, (pthread_key_t, const void *), WRAP)      \
	X(int, pthread_once, (pthread_once_t *, void (*)(void)), WRAP)        \
	/* pthread_mutex.c */                                                 \
	X(int, pthread_mutex_init, (pthread_mutex_t *,                        \
				    const pthread_mutexattr_t *), WRAP)       \
	X(int, pthread_mutex_destroy, (pthread_mutex_t *), WRAP)              \
	X(int, pthread_mutex_lock, (pthread_mutex_t *), WRAP)                 \
	X(int, pthread_mutex_trylock, (pthread_mutex_t *), WRAP)              \
	X(int, pthread_mutex_timedlock, (pthread_mutex_t *,                   \
					 const struct timespec *), WRAP)      \
	X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t,        \
					 const struct timespec *), WRAP)      \
	X(int, pthread_mutex_unlock, (pthread_mutex_t *), WRAP)               \
	/* pthread_cond.c */                                                  \
	X(int, pthread_cond_init, (pthread_cond_t *,                          \
				   const pthread_condattr_t *), WRAP)         \
	X(int, pthread_cond_destroy, (pthread_cond_t *), WRAP)                \
	X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *),      \
	  WRAP)                                                               \
	X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *,  \
					const struct timespec *), WRAP)       \
	X(int, pthread_cond_clockwait, (pthread_cond_t *, pthread_mutex_t *,  \
					clockid_t, const struct timespec *),  \
	  WRAP)                                                               \
	X(int, pthread_cond_signal, (pthread_cond_t *), WRAP)                 \
	X(int, pthread_cond_broadcast, (pthread_cond_t *), WRAP)              \
	/* pthread_rwlock.c */                                                \
	X(int, pthread_rwlock_init, (pthread_rwlock_t *,                      \
				     const pthread_rwlockattr_t *), WRAP)     \
	X(int, pthread_rwlock_destroy, (pthread_rwlock_t *), WRAP)            \
	X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *), WRAP)             \
	X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *), WRAP)          \
	X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *,               \
					    const struct timespec *), WRAP)   \
	X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t,    \
					    const struct timespec *), WRAP)   \
	X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *), WRAP)             \
	X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *), WRAP)          \
	X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *,               \
					    const struct timespec *), WRAP)   \
	X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t,    \
					    const struct timespec *), WRAP)   \
	X(int, pthread_rwlock_unlock, (pthread_rwlock_t *), WRAP)             \
	/* pthread_spin.c, pthread_barrier.c */                               \
	X(int, pthread_spin_init, (pthread_spinlock_t *, int), WRAP)          \
	X(int, pthread_spin_destroy, (pthread_spinlock_t *), WRAP)            \
	X(int, pthread_spin_lock, (pthread_spinlock_t *), WRAP)               \
	X(int, pthread_spin_trylock, (pthread_spinlock_t *), WRAP)            \
	X(int, pthread_spin_unlock, (pthread_spinlock_t *), WRAP)             \
	X(int, pthread_barrier_init, (pthread_barrier_t *,                    \
				      const pthread_barrierattr_t *,          \
				      unsigned), WRAP)                        \
	X(int, pthread_barrier_destroy, (pthread_barrier_t *), WRAP)          \
	X(int, pthread_barrier_wait, (pthread_barrier_t *), WRAP)             \
	/* sem.c */                                                           \
	X(int, sem_init, (sem_t *, int, unsigned), WRAP)                      \
	X(int, sem_destroy, (sem_t *), WRAP)                                  \
	X(int, sem_wait, (sem_t *), WRAP)                                     \
	X(int, sem_trywait, (sem_t *), WRAP)                                  \
	X(int, sem_timedwait, (sem_t *, const struct timespec *), WRAP)       \
	X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *),  \
	  WRAP)                                                               \
	X(int, sem_post, (sem_t *), WRAP)                                     \
	X(int, sem_getvalue, (sem_t *, int *), WRAP)                          \
	/* preload/process.c */                                               \
	X(pid_t, fork, (void), WRAP)                                          \
	X(pid_t, vfork, (void), WRAP)                                         \
	X(int, posix_spawn, (pid_t *, const char *,                           \
			     const posix_spawn_file_actions_t *,              \
			     const posix_spawnattr_t *, char *const[],        \
			     char *const[]), WRAP)                            \
	X(int, posix_spawnp, (pid_t *, const char *,                          \
			      const posix_spawn_file_actions_t *,             \
			      const posix_spawnattr_t *, char *const[],       \
			      char *const[]), WRAP)                           \
	X(int, system, (const char *), WRAP)                                  \
	/* preload/popen.c */                                                 \
	X(FILE *, popen, (const char *, const char *), WRAP)                  \
	X(int, pclose, (FILE *), WRAP)                                        \
	X(int, execve, (const char *, char *const[], char *const[]), WRAP)    \
	X(int, execv, (const char *, char *const[]), WRAP)                    \
	X(int, execvp, (const char *, char *const[]), WRAP)                   \
	X(int, execvpe, (const char *, char *const[], char *const[]), WRAP)   \
	X(int, fexecve, (int, char *const[], char *const[]), WRAP)            \
	X(int, execl, (const char *, const char *, ...), WRAP)                \
	X(int, execlp, (const char *, const char *, ...), WRAP)               \
	X(int, execle, (const char *, const char *, ...), WRAP)

#endif
