/* test_hook_sysvipc.c - System V message queues and semaphores: msgrcv,
 * msgsnd, semop and semtimedop park a coroutine while the offload pool
 * waits (hook/sysvipc.c).
 *
 * Each test makes private objects and removes them at its end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "testlib.h"

struct msg {
	long type;
	char text[8];
};

static int new_queue(void)
{
	int id = msgget(IPC_PRIVATE, 0600);

	ck_assert_int_ge(id, 0);
	return id;
}

/* A set of one semaphore at 0. */
static int new_sem(void)
{
	int id = semget(IPC_PRIVATE, 1, 0600);

	ck_assert_int_ge(id, 0);
	return id;
}

struct later {
	int id;
	int ms;
};

static void send_later(void *p)
{
	struct later *l = p;
	struct msg m = { 5, "late" };

	weft_sleep(l->ms * MS);
	ck_assert_int_eq(msgsnd(l->id, &m, 5, 0), 0);
}

static void receive_later(void *p)
{
	struct later *l = p;
	struct msg m;

	weft_sleep(l->ms * MS);
	ck_assert_int_eq(msgrcv(l->id, &m, sizeof m.text, 0, 0), 8);
}

static void post_later(void *p)
{
	struct later *l = p;
	struct sembuf up = { 0, 1, 0 };

	weft_sleep(l->ms * MS);
	ck_assert_int_eq(semop(l->id, &up, 1), 0);
}

/* ---- parks and wakes ----------------------------------------------------- */

START_TEST(msgrcv_parks_until_a_message_comes)
{
	int id = new_queue();
	struct tl_ticker t = { 0 };
	struct later l = { id, 100 };
	struct msg m = { 0 };

	weft_go(tl_tick_first, &t);
	weft_go(send_later, &l);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(msgrcv(id, &m, sizeof m.text, 0, 0), 5);
	ck_assert_int_ge(tl_mono_ns() - t0, 100 * MS);
	ck_assert_int_eq(m.type, 5);
	ck_assert_str_eq(m.text, "late");
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	msgctl(id, IPC_RMID, NULL);
}
END_TEST

START_TEST(msgsnd_parks_while_the_queue_is_full)
{
	int id = new_queue();
	struct tl_ticker t = { 0 };
	struct later l = { id, 100 };
	struct msqid_ds ds;
	struct msg m = { 1, "1234567" };

	weft_go(tl_tick_first, &t);
	ck_assert_int_eq(msgctl(id, IPC_STAT, &ds), 0);
	ds.msg_qbytes = 8;
	ck_assert_int_eq(msgctl(id, IPC_SET, &ds), 0);
	ck_assert_int_eq(msgsnd(id, &m, 8, 0), 0);
	errno = 0;
	ck_assert_int_eq(msgsnd(id, &m, 8, IPC_NOWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	weft_go(receive_later, &l);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(msgsnd(id, &m, 8, 0), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 100 * MS);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	msgctl(id, IPC_RMID, NULL);
}
END_TEST

START_TEST(semop_parks_until_another_posts)
{
	int id = new_sem();
	struct tl_ticker t = { 0 };
	struct later l = { id, 100 };
	struct sembuf down = { 0, -1, 0 };

	weft_go(tl_tick_first, &t);
	weft_go(post_later, &l);
	int64_t t0 = tl_mono_ns();
	ck_assert_int_eq(semop(id, &down, 1), 0);
	ck_assert_int_ge(tl_mono_ns() - t0, 100 * MS);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 10);
	semctl(id, 0, IPC_RMID);
}
END_TEST

START_TEST(semtimedop_times_out_with_EAGAIN)
{
	int id = new_sem();
	struct tl_ticker t = { 0 };
	struct sembuf down = { 0, -1, 0 };
	struct timespec rel = { 0, 100 * MS };

	weft_go(tl_tick_first, &t);
	int64_t t0 = tl_mono_ns();
	errno = 0;
	ck_assert_int_eq(semtimedop(id, &down, 1, &rel), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_ge(tl_mono_ns() - t0, 90 * MS);
	t.stop = 1;
	ck_assert_int_gt(t.ticks, 5);
	semctl(id, 0, IPC_RMID);
}
END_TEST

START_TEST(alone_and_outside_a_coroutine_the_calls_are_libcs)
{
	int id = new_sem();
	struct sembuf down = { 0, -1, 0 };
	struct timespec rel = { 0, 30 * MS };

	errno = 0;
	ck_assert_int_eq(semtimedop(id, &down, 1, &rel), -1);
	ck_assert_int_eq(errno, EAGAIN);
	weft_self();
	errno = 0;
	ck_assert_int_eq(semtimedop(id, &down, 1, &rel), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(tl_thread_count(), 1);
	semctl(id, 0, IPC_RMID);
}
END_TEST

/* ---- the same answers as libc -------------------------------------------- */

struct rec {
	int n;
	struct tl_rec r[40];
};

static void ipc_script(void *p, int arg, bool weft)
{
	struct rec *rc = p;
	static struct tl_ticker t;
	int q = new_queue(), s = new_sem();
	struct msg m = { 3, "abc" }, got = { 0 };
	struct sembuf up = { 0, 2, 0 }, down = { 0, -1, 0 },
		      down_nowait = { 0, -5, IPC_NOWAIT },
		      two[2] = { { 0, -1, 0 }, { 0, -5, IPC_NOWAIT } };
	struct timespec rel = { 0, 20 * MS }, bad = { 0, 2000000000 };

	(void)arg;
	if (weft)
		weft_go(tl_tick_first, &t);
	TL_NOTE(rc, msgsnd(q, &m, 4, 0), NULL);
	TL_NOTE(rc, msgrcv(q, &got, 2, 0, 0), NULL); /* E2BIG */
	TL_NOTE(rc, msgrcv(q, &got, 2, 0, MSG_NOERROR), &got.text);
	TL_NOTE(rc, msgrcv(q, &got, 8, 0, IPC_NOWAIT), NULL); /* ENOMSG */
	TL_NOTE(rc, msgrcv(-1, &got, 8, 0, 0), NULL);
	TL_NOTE(rc, msgsnd(q, &(struct msg){ 0, "x" }, 1, 0), NULL);
	TL_NOTE(rc, msgsnd(-1, &m, 4, 0), NULL);
	TL_NOTE(rc, msgsnd(q, &m, (size_t)-1, 0), NULL);
	TL_NOTE(rc, semop(s, &up, 1), NULL);
	TL_NOTE(rc, semop(s, &down, 1), NULL);
	TL_NOTE(rc, semop(s, &down_nowait, 1), NULL);
	TL_NOTE(rc, semop(s, two, 2), NULL); /* the second fails at once */
	TL_NOTE(rc, semctl(s, 0, GETVAL), NULL);
	TL_NOTE(rc, semop(-1, &down, 1), NULL);
	TL_NOTE(rc, semop(s, &down, 0), NULL);
	TL_NOTE(rc, semtimedop(s, &down, 1, &bad), NULL);
	TL_NOTE(rc, semop(s, (struct sembuf *)8, 1), NULL); /* EFAULT */
	TL_NOTE(rc, semop(s, &down_nowait, 1), NULL); /* the program's */
	TL_NOTE(rc, semop(s, &down, 1), NULL);
	TL_NOTE(rc, semtimedop(s, &down, 1, &rel), NULL);
	msgctl(q, IPC_RMID, NULL);
	semctl(s, 0, IPC_RMID);
	TL_NOTE(rc, msgrcv(q, &got, 8, 0, 0), NULL); /* removed */
	TL_NOTE(rc, semop(s, &down, 1), NULL);
	t.stop = 1;
}

START_TEST(ipc_calls_give_what_libc_gives)
{
	static struct rec plain, woven;

	tl_run_script(ipc_script, 0, false, &plain, sizeof plain);
	tl_run_script(ipc_script, 0, true, &woven, sizeof woven);
	tl_compare_recs("sysvipc", plain.r, plain.n, woven.r, woven.n);
}
END_TEST

/* ---- signals and cancellation, native threads against green ------------- */

struct waiter {
	int id;
	bool sem;
	_Atomic bool started, done;
	long r;
	int err;
};

static void *waits(void *p)
{
	struct waiter *w = p;
	struct msg m;
	struct sembuf down = { 0, -1, 0 };

	atomic_store(&w->started, true);
	w->r = w->sem ? semop(w->id, &down, 1)
		      : msgrcv(w->id, &m, sizeof m.text, 0, 0);
	w->err = errno;
	atomic_store(&w->done, true);
	return NULL;
}

START_TEST(a_signal_ends_the_wait_even_with_SA_RESTART)
{
	tl_threads_mode(_i);
	for (int restart = 0; restart < 2; restart++) {
		tl_catch(SIGUSR1, (tl_sighandler){ tl_on_signal },
			 restart ? SA_RESTART : 0);
		for (int sem = 0; sem < 2; sem++) {
			struct waiter w = { .id = sem ? new_sem() : new_queue(),
					    .sem = sem };
			pthread_t t = tl_pthread(waits, &w, NULL);
			tl_kill_until(t, SIGUSR1, &w.started, &w.done, 0);
			tl_pthread_join(t);
			ck_assert_int_eq(w.r, -1);
			ck_assert_int_eq(w.err, EINTR);
			if (sem)
				semctl(w.id, 0, IPC_RMID);
			else
				msgctl(w.id, IPC_RMID, NULL);
		}
	}
}
END_TEST

START_TEST(a_cancel_ends_a_thread_waiting_in_msgrcv)
{
	struct waiter w = { 0 };

	if (!tl_cancel_mode(_i))
		return;
	w.id = new_queue();
	pthread_t t = tl_pthread(waits, &w, NULL);
	while (!atomic_load(&w.started))
		usleep(1000);
	usleep(20000);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_ptr_eq(tl_pthread_join(t), PTHREAD_CANCELED);
	ck_assert(!atomic_load(&w.done));
	msgctl(w.id, IPC_RMID, NULL);
}
END_TEST

Suite *suite_hook_sysvipc(void)
{
	Suite *s = suite_create("hook_sysvipc");
	TCase *tc = tcase_create("sysvipc");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, msgrcv_parks_until_a_message_comes);
	tcase_add_test(tc, msgsnd_parks_while_the_queue_is_full);
	tcase_add_test(tc, semop_parks_until_another_posts);
	tcase_add_test(tc, semtimedop_times_out_with_EAGAIN);
	tcase_add_test(tc, alone_and_outside_a_coroutine_the_calls_are_libcs);
	tcase_add_test(tc, ipc_calls_give_what_libc_gives);
	tcase_add_loop_test(tc, a_signal_ends_the_wait_even_with_SA_RESTART,
			    0, 2);
	tcase_add_loop_test(tc, a_cancel_ends_a_thread_waiting_in_msgrcv, 0,
			    2);
	suite_add_tcase(s, tc);
	return s;
}
