/*
 * test_place.c: where a job goes. The exit contract of spoold.8 (an exit
 * code, a signal, a timeout, a missed heartbeat, a cancel, a shutdown), the
 * losses in a row, recovery's reading of a record, each row of the table
 * applied to a record, the order of the states, and the retry backoff.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/wait.h>

#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "unit_stconf.h"
#include "place.h"

/* --- the exit contract --- */

static enum outcome
outcome(const struct stconf *sc, int ws, enum stop stop, int attempt,
    int has_next, char *why)
{
	memset(why, 'X', 256);
	return place_outcome(sc, ws, stop, attempt, has_next, why, 256);
}

static void
test_outcome_success(void **state)
{
	const struct stconf *sc = stage();
	char why[256];
	int a;

	(void)state;
	for (a = 1; a <= 4; a++) {
		assert_int_equal(outcome(sc, EXITED(0), STOP_NONE, a, 1, why),
		    OUT_NEXT);
		assert_string_equal(why, "");
		assert_int_equal(outcome(sc, EXITED(0), STOP_NONE, a, 0, why),
		    OUT_DONE);
		assert_string_equal(why, "");
	}
}

static void
test_outcome_tempfail(void **state)
{
	const struct stconf *sc = stage();
	char why[256];

	(void)state;
	assert_int_equal(outcome(sc, EXITED(75), STOP_NONE, 1, 1, why),
	    OUT_RETRY);
	assert_string_equal(why, "exit 75");
	assert_int_equal(outcome(sc, EXITED(75), STOP_NONE, 2, 0, why),
	    OUT_RETRY);
	assert_string_equal(why, "exit 75");
	assert_int_equal(outcome(sc, EXITED(75), STOP_NONE, 3, 1, why),
	    OUT_ERROR);
	assert_string_equal(why, "exit 75 (attempt 3 of 3)");
	/* A run past the last (attempts lowered by a reload) ends it too. */
	assert_int_equal(outcome(sc, EXITED(75), STOP_NONE, 7, 1, why),
	    OUT_ERROR);
	assert_string_equal(why, "exit 75 (attempt 7 of 3)");
}

/* Any code not in fail_codes is retried like 75. */
static void
test_outcome_other_codes(void **state)
{
	const struct stconf *sc = stage();
	static const int retried[] = {1, 2, 63, 67, 76, 79, 126, 127, 255};
	char why[256], want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(retried) / sizeof(*retried); i++) {
		str(want, sizeof(want), "exit %d", retried[i]);
		assert_int_equal(outcome(sc, EXITED(retried[i]), STOP_NONE, 1,
		    1, why), OUT_RETRY);
		assert_string_equal(why, want);
		str(want, sizeof(want), "exit %d (attempt 3 of 3)",
		    retried[i]);
		assert_int_equal(outcome(sc, EXITED(retried[i]), STOP_NONE, 3,
		    1, why), OUT_ERROR);
		assert_string_equal(why, want);
	}
}

static void
test_outcome_fail_codes(void **state)
{
	const struct stconf *sc = stage();
	char why[256], want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
		str(want, sizeof(want), "exit %d", codes[i]);
		/* At once: on the first attempt, with attempts to spare. */
		assert_int_equal(outcome(sc, EXITED(codes[i]), STOP_NONE, 1, 1,
		    why), OUT_ERROR);
		assert_string_equal(why, want);
		assert_int_equal(outcome(sc, EXITED(codes[i]), STOP_NONE, 3, 0,
		    why), OUT_ERROR);
		assert_string_equal(why, want);
	}
}

static void
test_outcome_own_fail_codes(void **state)
{
	struct stconf *sc = stage();
	int mine[] = {1, 9};
	char why[256];

	(void)state;
	sc->fail_codes = mine;
	sc->nfail = 2;
	assert_int_equal(outcome(sc, EXITED(1), STOP_NONE, 1, 1, why),
	    OUT_ERROR);
	assert_string_equal(why, "exit 1");
	assert_int_equal(outcome(sc, EXITED(64), STOP_NONE, 1, 1, why),
	    OUT_RETRY);
	/* Death by signal 9 is not exit code 9. */
	assert_int_equal(outcome(sc, KILLED(SIGKILL), STOP_NONE, 1, 1, why),
	    OUT_RETRY);
	sc->nfail = 0;
	assert_int_equal(outcome(sc, EXITED(64), STOP_NONE, 1, 1, why),
	    OUT_RETRY);
}

static void
test_outcome_signal(void **state)
{
	const struct stconf *sc = stage();
	char why[256], want[128];

	(void)state;
	str(want, sizeof(want), "killed by signal %d (%s)", SIGSEGV,
	    strsignal(SIGSEGV));
	assert_int_equal(outcome(sc, KILLED(SIGSEGV), STOP_NONE, 1, 1, why),
	    OUT_RETRY);
	assert_string_equal(why, want);
	assert_int_equal(outcome(sc, KILLED(SIGSEGV) | WCOREFLAG, STOP_NONE, 2,
	    1, why), OUT_RETRY);
	assert_string_equal(why, want);
	str(want, sizeof(want), "killed by signal %d (%s) (attempt 3 of 3)",
	    SIGKILL, strsignal(SIGKILL));
	assert_int_equal(outcome(sc, KILLED(SIGKILL), STOP_NONE, 3, 1, why),
	    OUT_ERROR);
	assert_string_equal(why, want);
}

static void
test_outcome_timeout(void **state)
{
	const struct stconf *sc = stage();
	char why[256];

	(void)state;
	assert_int_equal(outcome(sc, KILLED(SIGTERM), STOP_TIMEOUT, 1, 1, why),
	    OUT_RETRY);
	assert_string_equal(why, "timeout after 600s");
	assert_int_equal(outcome(sc, KILLED(SIGKILL), STOP_TIMEOUT, 2, 0, why),
	    OUT_RETRY);
	assert_string_equal(why, "timeout after 600s");
	/* A child that caught SIGTERM and left with a fail code: a timeout. */
	assert_int_equal(outcome(sc, EXITED(78), STOP_TIMEOUT, 1, 1, why),
	    OUT_RETRY);
	assert_string_equal(why, "timeout after 600s");
	assert_int_equal(outcome(sc, KILLED(SIGTERM), STOP_TIMEOUT, 3, 1, why),
	    OUT_ERROR);
	assert_string_equal(why, "timeout after 600s (attempt 3 of 3)");
}

static void
test_outcome_heartbeat(void **state)
{
	const struct stconf *sc = stage();
	char why[256];

	(void)state;
	assert_int_equal(outcome(sc, KILLED(SIGTERM), STOP_HEARTBEAT, 1, 1,
	    why), OUT_RETRY);
	assert_string_equal(why, "no heartbeat for 60s");
	assert_int_equal(outcome(sc, EXITED(75), STOP_HEARTBEAT, 2, 1, why),
	    OUT_RETRY);
	assert_string_equal(why, "no heartbeat for 60s");
	assert_int_equal(outcome(sc, KILLED(SIGKILL), STOP_HEARTBEAT, 3, 0,
	    why), OUT_ERROR);
	assert_string_equal(why, "no heartbeat for 60s (attempt 3 of 3)");
}

static void
test_outcome_cancel(void **state)
{
	const struct stconf *sc = stage();
	char why[256];
	int a;

	(void)state;
	for (a = 1; a <= 3; a++) {
		assert_int_equal(outcome(sc, KILLED(SIGTERM), STOP_CANCEL, a, 1,
		    why), OUT_CANCEL);
		assert_string_equal(why, "cancelled");
		assert_int_equal(outcome(sc, EXITED(75), STOP_CANCEL, a, 0,
		    why), OUT_CANCEL);
		assert_string_equal(why, "cancelled");
	}
}

static void
test_outcome_shutdown(void **state)
{
	const struct stconf *sc = stage();
	char why[256];
	int a;

	(void)state;
	/* Back to the queue without spending an attempt, even the last one. */
	for (a = 1; a <= 3; a++) {
		assert_int_equal(outcome(sc, KILLED(SIGTERM), STOP_SHUTDOWN, a,
		    1, why), OUT_REQUEUE);
		assert_string_equal(why, "stopped by shutdown");
		assert_int_equal(outcome(sc, KILLED(SIGKILL), STOP_SHUTDOWN, a,
		    0, why), OUT_REQUEUE);
		assert_int_equal(outcome(sc, EXITED(64), STOP_SHUTDOWN, a, 0,
		    why), OUT_REQUEUE);
		assert_string_equal(why, "stopped by shutdown");
	}
}

static void
test_outcome_one_attempt(void **state)
{
	struct stconf *sc = stage();
	char why[256];

	(void)state;
	sc->attempts = 1;
	assert_int_equal(outcome(sc, EXITED(75), STOP_NONE, 1, 1, why),
	    OUT_ERROR);
	assert_string_equal(why, "exit 75 (attempt 1 of 1)");
	assert_int_equal(outcome(sc, EXITED(0), STOP_NONE, 1, 1, why),
	    OUT_NEXT);
}

/* A short buffer is cut, never overrun (ASan watches). */
static void
test_outcome_short_buffer(void **state)
{
	const struct stconf *sc = stage();
	char *why;

	(void)state;
	why = malloc(12);
	assert_non_null(why);
	assert_int_equal(place_outcome(sc, KILLED(SIGKILL), STOP_TIMEOUT, 3, 1,
	    why, 12), OUT_ERROR);
	assert_string_equal(why, "timeout aft");
	assert_int_equal(place_outcome(sc, EXITED(75), STOP_NONE, 3, 1, why, 8),
	    OUT_ERROR);
	assert_string_equal(why, "exit 75");
	assert_int_equal(place_outcome(sc, EXITED(75), STOP_NONE, 3, 1, why,
	    12), OUT_ERROR);
	assert_string_equal(why, "exit 75 (at");
	free(why);
}

/* The wait status of a real child that exits with code or dies of sig. */
static int
real_status(int code, int sig)
{
	pid_t pid;
	int ws;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (sig != 0) {
			signal(sig, SIG_DFL);
			kill(getpid(), sig);
		}
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	return ws;
}

static void
test_real_children(void **state)
{
	const struct stconf *sc = stage();
	char buf[256], want[256];
	int ws;

	(void)state;
	ws = real_status(0, 0);
	child_describe(ws, buf, sizeof(buf));
	assert_string_equal(buf, "exit 0");
	assert_int_equal(outcome(sc, ws, STOP_NONE, 1, 0, buf), OUT_DONE);

	ws = real_status(75, 0);
	child_describe(ws, buf, sizeof(buf));
	assert_string_equal(buf, "exit 75");
	assert_int_equal(outcome(sc, ws, STOP_NONE, 1, 0, buf), OUT_RETRY);

	ws = real_status(65, 0);
	assert_int_equal(outcome(sc, ws, STOP_NONE, 1, 0, buf), OUT_ERROR);
	assert_string_equal(buf, "exit 65");

	ws = real_status(0, SIGTERM);
	child_describe(ws, buf, sizeof(buf));
	str(want, sizeof(want), "killed by signal %d (%s)", SIGTERM,
	    strsignal(SIGTERM));
	assert_string_equal(buf, want);
	assert_int_equal(outcome(sc, ws, STOP_NONE, 1, 0, buf), OUT_RETRY);
	assert_string_equal(buf, want);

	ws = real_status(0, SIGKILL);
	assert_true(WIFSIGNALED(ws));
	assert_int_equal(outcome(sc, ws, STOP_NONE, 3, 0, buf), OUT_ERROR);
	str(want, sizeof(want), "killed by signal %d (%s) (attempt 3 of 3)",
	    SIGKILL, strsignal(SIGKILL));
	assert_string_equal(buf, want);
}

/* --- runs lost --- */

static void
test_lost(void **state)
{
	struct stconf *sc = stage();
	char why[256];

	(void)state;
	sc->lost_max = 3;
	assert_int_equal(place_lost(sc, 0, "no status", why, sizeof(why)),
	    OUT_LOST);
	assert_string_equal(why, "no status");
	assert_int_equal(place_lost(sc, 1, "no status", why, sizeof(why)),
	    OUT_LOST);
	assert_int_equal(place_lost(sc, 2, "no status", why, sizeof(why)),
	    OUT_LOST_MAX);
	assert_string_equal(why, "lost 3 times in a row; last: no status");
	/* lost_max lowered by a reload below what a job has. */
	assert_int_equal(place_lost(sc, 7, "x", why, sizeof(why)),
	    OUT_LOST_MAX);
	assert_string_equal(why, "lost 8 times in a row; last: x");
	sc->lost_max = 1;
	assert_int_equal(place_lost(sc, 0, "x", why, sizeof(why)),
	    OUT_LOST_MAX);
	assert_string_equal(why, "lost 1 times in a row; last: x");
}

/* --- recovery --- */

static struct status *
record(const char *stage, enum jstate state)
{
	static struct status s;

	status_init(&s, stage);
	s.state = state;
	return &s;
}

static void
test_recovered(void **state)
{
	(void)state;
	/* A record of this stage: its run, or where it had to go. */
	assert_int_equal(place_recovered(record("a", JS_RUNNING), 1, "a", 0,
	    0), OUT_CUT);
	assert_int_equal(place_recovered(record("a", JS_RUNNING), 1, "a", 0,
	    1), OUT_CUT_CANCEL);
	assert_int_equal(place_recovered(record("a", JS_DONE), 1, "a", 0, 0),
	    OUT_MOVED_DONE);
	assert_int_equal(place_recovered(record("a", JS_DONE), 1, "a", 0, 1),
	    OUT_MOVED_DONE);
	assert_int_equal(place_recovered(record("a", JS_ERROR), 1, "a", 0, 1),
	    OUT_MOVED_ERROR);
	assert_int_equal(place_recovered(record("a", JS_QUEUED), 1, "a", 0, 0),
	    OUT_MOVED_QUEUE);
	assert_int_equal(place_recovered(record("a", JS_DEFERRED), 1, "a", 0,
	    0), OUT_MOVED_QUEUE);
	assert_int_equal(place_recovered(record("a", JS_DEFERRED), 1, "a", 0,
	    1), OUT_MOVED_CANCEL);
	/* Queued at the next stage, which exists or not. */
	assert_int_equal(place_recovered(record("b", JS_QUEUED), 1, "a", 1, 0),
	    OUT_MOVED_NEXT);
	assert_int_equal(place_recovered(record("b", JS_QUEUED), 1, "a", 1, 1),
	    OUT_FOUND_CANCEL);
	assert_int_equal(place_recovered(record("b", JS_QUEUED), 1, "a", 0, 0),
	    OUT_FOUND);
	/* A record of another stage's run, or none. */
	assert_int_equal(place_recovered(record("b", JS_RUNNING), 1, "a", 1,
	    0), OUT_FOUND);
	assert_int_equal(place_recovered(record("b", JS_DONE), 1, "a", 1, 0),
	    OUT_FOUND);
	assert_int_equal(place_recovered(record("a", JS_RUNNING), 0, "a", 0,
	    0), OUT_FOUND);
	assert_int_equal(place_recovered(record("a", JS_RUNNING), 0, "a", 0,
	    1), OUT_FOUND_CANCEL);
}

/* --- the table, row by row --- */

/*
 * What each outcome makes of a record of stage "a", attempt 2, one loss,
 * exit 3, finished at 5, a pgid, placed at time 100 with why "w" and no
 * delay: written out here by hand, against the table.
 */
static const struct want {
	enum outcome out;
	int dir, next;
	int state, attempt, lost;
	time_t finished;
	const char *reason;
	int count;
	const char *hook;
} wants[] = {
	{OUT_NEXT,	  DIR_QUEUE, 1, JS_QUEUED,  0, 0, 100, "w", 0, NULL},
	{OUT_DONE,	  DIR_DONE,  0, JS_DONE,    2, 0, 100, "w", PC_DONE,
	    "done"},
	{OUT_RETRY,	  DIR_QUEUE, 0, JS_QUEUED,  2, 0, 100, "w", PC_RETRY,
	    "retry"},
	{OUT_ERROR,	  DIR_ERROR, 0, JS_ERROR,   2, 0, 100, "w", PC_ERROR,
	    "error"},
	{OUT_REQUEUE,	  DIR_QUEUE, 0, JS_QUEUED,  1, 1, 100, "w", 0, NULL},
	{OUT_LOST,	  DIR_QUEUE, 0, JS_QUEUED,  1, 2, 100, "w", PC_RETRY,
	    "retry"},
	{OUT_LOST_MAX,	  DIR_ERROR, 0, JS_ERROR,   2, 2, 100, "w", PC_ERROR,
	    "error"},
	{OUT_DUPLICATE,	  DIR_ERROR, 0, JS_ERROR,   2, 1, 100, "w",
	    PC_ERROR | PC_DUP, "error"},
	{OUT_CANCEL,	  DIR_ERROR, 0, JS_ERROR,   2, 1, 100, "w", PC_ERROR,
	    "error"},
	{OUT_RESUBMIT,	  DIR_QUEUE, 0, JS_QUEUED,  0, 0, 0,   "",  0, NULL},
	{OUT_CUT,	  DIR_QUEUE, 0, JS_QUEUED,  1, 1, 5,   "w", 0, NULL},
	{OUT_CUT_CANCEL,  DIR_ERROR, 0, JS_ERROR,   1, 1, 5,   "w", PC_ERROR,
	    NULL},
	{OUT_MOVED_DONE,  DIR_DONE,  0, JS_RUNNING, 2, 1, 5,   "w", 0, NULL},
	{OUT_MOVED_ERROR, DIR_ERROR, 0, JS_RUNNING, 2, 1, 5,   "w", 0, NULL},
	{OUT_MOVED_QUEUE, DIR_QUEUE, 0, JS_RUNNING, 2, 1, 5,   "w", 0, NULL},
	{OUT_MOVED_NEXT,  DIR_QUEUE, 1, JS_RUNNING, 2, 1, 5,   "w", 0, NULL},
	{OUT_MOVED_CANCEL, DIR_ERROR, 0, JS_ERROR,  2, 1, 5,   "w", PC_ERROR,
	    NULL},
	{OUT_FOUND,	  DIR_QUEUE, 0, JS_QUEUED,  2, 1, 5,   "w", 0, NULL},
	{OUT_FOUND_CANCEL, DIR_ERROR, 0, JS_ERROR,  2, 1, 5,   "w", PC_ERROR,
	    NULL},
};

static void
test_rows(void **state)
{
	const struct place *p;
	struct status s;
	size_t i;

	(void)state;
	assert_int_equal(sizeof(wants) / sizeof(*wants), NOUT);
	for (i = 0; i < NOUT; i++) {
		const struct want *w = &wants[i];
		assert_int_equal(w->out, (int)i);
		p = place_row(w->out);
		print_message("row %zu\n", i);
		assert_int_equal(p->dir, w->dir);
		assert_int_equal(p->next, w->next);
		assert_int_equal(p->count, w->count);
		if (w->hook == NULL)
			assert_null(p->hook);
		else
			assert_string_equal(p->hook, w->hook);
		/*
		 * Recovery runs no hook, and counts only the cancels it
		 * carries out: the rest was counted by the events.
		 */
		if (p->point == CP_RECOVER)
			assert_true(p->hook == NULL && (p->count == 0 ||
			    (p->count == PC_ERROR && p->dir == DIR_ERROR &&
			    p->state == JS_ERROR)));
		status_init(&s, "a");
		s.state = JS_RUNNING;
		s.attempt = 2;
		s.lost = 1;
		s.exit = 3;
		s.finished = 5;
		s.pgid = 1234;
		s.pstart = 99;
		place_record(&s, w->out, w->next ? "b" : NULL, "w", 0, 100);
		assert_int_equal(s.state, w->state);
		assert_int_equal(s.attempt, w->attempt);
		assert_int_equal(s.lost, w->lost);
		assert_int_equal(s.finished, w->finished);
		assert_string_equal(s.reason, w->reason);
		assert_string_equal(s.stage, w->next ? "b" : "a");
		assert_int_equal(s.exit, w->out == OUT_RESUBMIT ? -1 : 3);
		assert_int_equal(s.pgid, 0);
		assert_int_equal(s.pstart, 0);
		assert_int_equal(s.updated, 100);
	}
}

/* A retry or a loss with a backoff waits deferred; without, queued. */
static void
test_delay(void **state)
{
	struct status s;

	(void)state;
	status_init(&s, "a");
	s.attempt = 1;
	place_record(&s, OUT_RETRY, NULL, "exit 75", 30, 100);
	assert_int_equal(s.state, JS_DEFERRED);
	place_record(&s, OUT_LOST, NULL, "lost", 30, 100);
	assert_int_equal(s.state, JS_DEFERRED);
	assert_int_equal(s.attempt, 0);
	/* An attempt is never undone below 0. */
	place_record(&s, OUT_REQUEUE, NULL, "stopped", 0, 100);
	assert_int_equal(s.attempt, 0);
	assert_int_equal(s.state, JS_QUEUED);
	/* Other rows ignore a delay. */
	place_record(&s, OUT_ERROR, NULL, "x", 30, 100);
	assert_int_equal(s.state, JS_ERROR);
}

static void
test_rank(void **state)
{
	(void)state;
	assert_true(place_rank(JS_RUNNING) < place_rank(JS_QUEUED));
	assert_true(place_rank(JS_QUEUED) < place_rank(JS_DEFERRED));
	assert_true(place_rank(JS_DEFERRED) < place_rank(JS_DONE));
	assert_true(place_rank(JS_DONE) < place_rank(JS_ERROR));
}

/* --- backoff --- */

static void
test_backoff_first(void **state)
{
	uint32_t rnd;
	long d;

	(void)state;
	assert_int_equal(place_backoff(10, 3600, 1, 0), 10);
	assert_int_equal(place_backoff(100, 3600, 1, 0), 100);
	/* Less a random part of at most a quarter, each part occurring. */
	for (rnd = 0; rnd < 1000; rnd++) {
		d = place_backoff(100, 3600, 1, rnd);
		assert_true(d >= 75 && d <= 100);
	}
	assert_int_equal(place_backoff(100, 3600, 1, 25), 75);
	assert_int_equal(place_backoff(100, 3600, 1, 26), 100);
	d = place_backoff(100, 3600, 1, UINT32_MAX);
	assert_true(d >= 75 && d <= 100);
	/* Too short to take anything off. */
	assert_int_equal(place_backoff(1, 3600, 1, 12345), 1);
	assert_int_equal(place_backoff(3, 3600, 1, 12345), 3);
}

static void
test_backoff_doubles(void **state)
{
	int a;
	long want = 10;

	(void)state;
	for (a = 1; a <= 8; a++, want *= 2)
		assert_int_equal(place_backoff(10, 1000000, a, 0), want);
	for (a = 1; a <= 8; a++) {
		long d = place_backoff(10, 1000000, a, 0xdeadbeef);
		long full = 10L << (a - 1);
		assert_true(d <= full && d >= full - full / 4);
	}
}

static void
test_backoff_capped(void **state)
{
	uint32_t rnd;
	long d;

	(void)state;
	assert_int_equal(place_backoff(10, 100, 4, 0), 80);
	assert_int_equal(place_backoff(10, 100, 5, 0), 100);
	assert_int_equal(place_backoff(10, 100, 6, 0), 100);
	assert_int_equal(place_backoff(10, 100, 50, 0), 100);
	assert_int_equal(place_backoff(10, 3600, 9, 0), 2560);
	assert_int_equal(place_backoff(10, 3600, 10, 0), 3600);
	/* A base above the cap is capped too. */
	assert_int_equal(place_backoff(5000, 3600, 1, 0), 3600);
	for (rnd = 0; rnd < 2000; rnd += 7) {
		d = place_backoff(10, 100, 30, rnd);
		assert_true(d >= 75 && d <= 100);
	}
}

static void
test_backoff_never_negative(void **state)
{
	(void)state;
	assert_int_equal(place_backoff(0, 3600, 1, 0), 0);
	assert_int_equal(place_backoff(0, 3600, 5, 99), 0);
	assert_int_equal(place_backoff(10, 0, 3, 99), 0);
	assert_int_equal(place_backoff(-10, 3600, 1, 7), 0);
	assert_int_equal(place_backoff(10, -1, 1, 7), 0);
	assert_int_equal(place_backoff(10, 3600, 0, 0), 10);
	assert_int_equal(place_backoff(10, 3600, -3, 0), 10);
}

/*
 * place_backoff in a child process, so that a crash (a division by zero,
 * or UBSan stopping the process) fails this test instead of the run.
 */
static long
backoff_in_child(long base, long max, int attempt, uint32_t rnd)
{
	int p[2], ws;
	pid_t pid;
	long d = -1;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		/* Not cmocka's handlers: they would carry on the tests here. */
		signal(SIGFPE, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		close(p[0]);
		d = place_backoff(base, max, attempt, rnd);
		_exit(write(p[1], &d, sizeof(d)) == sizeof(d) ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &d, sizeof(d)) != sizeof(d))
		d = -1;
	close(p[0]);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		fail_msg("place_backoff(%ld, %ld, %d, %lu) did not return: "
		    "%s %d",
		    base, max, attempt, (unsigned long)rnd,
		    WIFSIGNALED(ws) ? "signal" : "exit",
		    WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
	return d;
}

static void
test_backoff_huge(void **state)
{
	static const uint32_t rnds[] = {0, 1, 12345, 0x7fffffff, UINT32_MAX};
	size_t i;
	long d;

	(void)state;
	for (i = 0; i < sizeof(rnds) / sizeof(*rnds); i++) {
		d = place_backoff(10, 3600, INT_MAX, rnds[i]);
		assert_true(d >= 2700 && d <= 3600);
		d = backoff_in_child(10, 1000000000L, 1000000, rnds[i]);
		assert_true(d >= 750000000L && d <= 1000000000L);
	}
	/*
	 * No overflow, no division by zero, with caps as large as a long:
	 * backoff_max is any number in the config.
	 */
	for (i = 0; i < sizeof(rnds) / sizeof(*rnds); i++) {
		d = backoff_in_child(LONG_MAX / 2 + 1, LONG_MAX, 3, rnds[i]);
		assert_true(d <= LONG_MAX && d >= LONG_MAX - LONG_MAX / 4);
		d = backoff_in_child(10, LONG_MAX, INT_MAX, rnds[i]);
		assert_true(d >= LONG_MAX - LONG_MAX / 4);
		d = backoff_in_child(LONG_MAX, LONG_MAX, 1, rnds[i]);
		assert_true(d >= LONG_MAX - LONG_MAX / 4);
		/* 2^34 - 4 s: a quarter and one is 2^32. */
		d = backoff_in_child(17179869180L, 17179869180L, 1, rnds[i]);
		assert_true(d <= 17179869180L &&
		    d >= 17179869180L - 17179869180L / 4);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_success),
		cmocka_unit_test(test_outcome_tempfail),
		cmocka_unit_test(test_outcome_other_codes),
		cmocka_unit_test(test_outcome_fail_codes),
		cmocka_unit_test(test_outcome_own_fail_codes),
		cmocka_unit_test(test_outcome_signal),
		cmocka_unit_test(test_outcome_timeout),
		cmocka_unit_test(test_outcome_heartbeat),
		cmocka_unit_test(test_outcome_cancel),
		cmocka_unit_test(test_outcome_shutdown),
		cmocka_unit_test(test_outcome_one_attempt),
		cmocka_unit_test(test_outcome_short_buffer),
		cmocka_unit_test(test_real_children),
		cmocka_unit_test(test_lost),
		cmocka_unit_test(test_recovered),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_backoff_first),
		cmocka_unit_test(test_backoff_doubles),
		cmocka_unit_test(test_backoff_capped),
		cmocka_unit_test(test_backoff_never_negative),
		cmocka_unit_test(test_backoff_huge),
	};

	return cmocka_run_group_tests_name("place", tests, NULL, NULL);
}
