/*
 * test_ctl_move.c: the verbs that move jobs (ctl_move.c), on a spool in a
 * new folder of /tmp, with no spoold: retry of a job in error/, back in
 * its queue/ with its attempts reset and its time kept, of a stage's all,
 * with --force; cancel of a queued job, moved to error/ as cancelled; of
 * a running one, asked of spoold through index/cancel/ (spoold stopped,
 * spoold that acts, spoold that does not: 75); a job in the wrong folder
 * (65) or not there (66), nothing moved; purge of what has ended.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "unit_ctl.h"

#define E1 JOB(0, "e1.cbz")
#define E2 JOB(0, "e2.cbz")
#define Q1 JOB(0, "q1.cbz")

/* A job in error/ after attempts runs that failed, the last lost. */
static void
failed(struct cfx *f, int stage, const char *id, int attempts)
{
	struct status st;

	status_init(&st, stage == PREP ? "prep" : "ocr");
	st.state = JS_ERROR;
	st.attempt = attempts;
	st.exit = 1;
	st.signal = 9;
	st.lost = 2;
	st.submitted = 1000;
	st.finished = 2000;
	str(st.reason, sizeof(st.reason), "killed by signal 9");
	str(st.key, sizeof(st.key), "k");
	plant(f, stage, DIR_ERROR, id, 600, &st);
}

static void
test_retry(void **state)
{
	struct cfx *f = *state;
	struct stat before, after;
	struct status st;

	failed(f, PREP, E1, 3);
	assert_int_equal(fstatat(f->sd[PREP].fd[DIR_ERROR], E1, &before, 0), 0);
	assert_int_equal(ctl_run(f, "retry", E1), EX_OK);
	assert_string_equal(f->out, E1 "\n");
	assert_string_equal(f->err, "");
	assert_false(is_in(f, PREP, DIR_ERROR, E1));
	assert_true(is_in(f, PREP, DIR_QUEUE, E1));
	/* Its attempts reset; what belongs to the job kept. */
	record(f, E1, &st);
	assert_int_equal(st.state, JS_QUEUED);
	assert_string_equal(st.stage, "prep");
	assert_int_equal(st.attempt, 0);
	assert_int_equal(st.exit, -1);
	assert_int_equal(st.signal, 0);
	assert_int_equal(st.lost, 0);
	assert_string_equal(st.reason, "");
	assert_int_equal(st.forced, 0);
	assert_int_equal(st.submitted, 1000);
	assert_string_equal(st.key, "k");
	/* Its place in the queue: the time it had. */
	assert_int_equal(fstatat(f->sd[PREP].fd[DIR_QUEUE], E1, &after, 0), 0);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

/* --force: run even as a duplicate; the mark is in its record. */
static void
test_retry_force(void **state)
{
	struct cfx *f = *state;
	struct status st;

	failed(f, OCR, E1, 1);
	assert_int_equal(ctl_run(f, "retry", "--force", E1), EX_OK);
	assert_true(is_in(f, OCR, DIR_QUEUE, E1));
	record(f, E1, &st);
	assert_int_equal(st.forced, 1);
	assert_string_equal(st.stage, "ocr");
}

/* --stage S --all: the error/ of S, and no other. */
static void
test_retry_all(void **state)
{
	struct cfx *f = *state;

	failed(f, PREP, E1, 3);
	failed(f, PREP, E2, 3);
	failed(f, OCR, JOB(0, "o.cbz"), 3);
	plant(f, PREP, DIR_DONE, JOB(0, "d.cbz"), 1, NULL);
	assert_int_equal(ctl_run(f, "retry", "--stage", "prep", "--all"),
	    EX_OK);
	assert_true(is_in(f, PREP, DIR_QUEUE, E1));
	assert_true(is_in(f, PREP, DIR_QUEUE, E2));
	assert_int_equal(entries(f->sd[PREP].fd[DIR_ERROR]), 0);
	assert_true(is_in(f, OCR, DIR_ERROR, JOB(0, "o.cbz")));
	assert_true(is_in(f, PREP, DIR_DONE, JOB(0, "d.cbz")));
	assert_int_equal(strlen(f->out), 2 * (strlen(E1) + 1));
}

/*
 * A job not in error/ among those named: 65, saying where it is; an id
 * not there: 66. Neither moves any job.
 */
static void
test_retry_refused(void **state)
{
	struct cfx *f = *state;

	failed(f, PREP, E1, 3);
	plant(f, PREP, DIR_QUEUE, Q1, 1, NULL);
	assert_int_equal(ctl_run(f, "retry", E1, Q1), EX_DATAERR);
	assert_err(f, "spoolctl: %s is in prep/queue, not in "
	    "error/\n", Q1);
	assert_string_equal(f->out, "");
	assert_true(is_in(f, PREP, DIR_ERROR, E1));
	assert_int_equal(ctl_run(f, "retry", E1, JOB(0, "nope")), EX_NOINPUT);
	assert_err(f, "spoolctl: unknown job id \"%s\"\n",
	    JOB(0, "nope"));
	assert_true(is_in(f, PREP, DIR_ERROR, E1));
	assert_true(is_in(f, PREP, DIR_QUEUE, Q1));
}

static void
test_cancel_queued(void **state)
{
	struct cfx *f = *state;
	struct status st;

	plant(f, OCR, DIR_QUEUE, Q1, 1, NULL);
	assert_int_equal(ctl_run(f, "cancel", Q1), EX_OK);
	assert_string_equal(f->out, Q1 ": cancelled\n");
	assert_false(is_in(f, OCR, DIR_QUEUE, Q1));
	assert_true(is_in(f, OCR, DIR_ERROR, Q1));
	record(f, Q1, &st);
	assert_int_equal(st.state, JS_ERROR);
	assert_string_equal(st.reason, "cancelled");
	/* No request to spoold: it was done here. */
	assert_int_equal(entries(f->sp.cancelfd), 0);
}

/* A job that has ended: 65; one not there: 66; nothing cancelled. */
static void
test_cancel_refused(void **state)
{
	struct cfx *f = *state;

	plant(f, PREP, DIR_QUEUE, Q1, 1, NULL);
	plant(f, PREP, DIR_DONE, E1, 1, NULL);
	assert_int_equal(ctl_run(f, "cancel", Q1, E1), EX_DATAERR);
	assert_err(f, "spoolctl: %s has ended: it is in prep/done\n",
	    E1);
	assert_true(is_in(f, PREP, DIR_QUEUE, Q1));
	assert_int_equal(ctl_run(f, "cancel", Q1, "nope"), EX_NOINPUT);
	assert_string_equal(f->err, "spoolctl: unknown job id \"nope\"\n");
	assert_true(is_in(f, PREP, DIR_QUEUE, Q1));
	assert_int_equal(entries(f->sp.cancelfd), 0);
}

/* A running job, no spoold: the request stays for it; 0. */
static void
test_cancel_running_stopped(void **state)
{
	struct cfx *f = *state;

	plant(f, PREP, DIR_RUNNING, E1, 1, NULL);
	assert_int_equal(ctl_run(f, "cancel", E1), EX_OK);
	assert_string_equal(f->out, E1 ": spoold is not running; cancelled "
	    "when it starts\n");
	assert_int_equal(faccessat(f->sp.cancelfd, E1, F_OK, 0), 0);
	assert_true(is_in(f, PREP, DIR_RUNNING, E1));
}

/* Whether a child has ended, left to be waited for. */
static int
ended(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT),
	    0);
	return si.si_pid == pid;
}

/*
 * A running job while a spoold holds the spool: once the request is
 * there, this test does what spoold does (the job to error/); cancel
 * says it was cancelled.
 */
static void
test_cancel_running(void **state)
{
	struct cfx *f = *state;
	pid_t pid;
	int lock;

	plant(f, PREP, DIR_RUNNING, E1, 1, NULL);
	lock = hold_spool(f);
	pid = ctl_start(f, NULL, "cancel", E1, (char *)NULL);
	while (faccessat(f->sp.cancelfd, E1, F_OK, 0) == -1 &&
	    !ended(pid))
		poll(NULL, 0, 10);
	assert_int_equal(renameat(f->sd[PREP].fd[DIR_RUNNING], E1,
	    f->sd[PREP].fd[DIR_ERROR], E1), 0);
	assert_int_equal(ctl_wait(f, pid), EX_OK);
	assert_string_equal(f->out, E1 ": cancelled\n");
	close(lock);
}

/* cancel, waiting no time for spoold to act. */
static int
cancel_now(const struct ctl_args *a)
{
	C.grace = 0;
	return ctl_cancel(a);
}

/* A spoold that does not stop the job in time: 75; the request stays. */
static void
test_cancel_running_late(void **state)
{
	struct cfx *f = *state;
	int lock;

	plant(f, PREP, DIR_RUNNING, E1, 1, NULL);
	lock = hold_spool(f);
	assert_int_equal(ctl_call(f, cancel_now, "cancel", E1, (char *)NULL),
	    EX_TEMPFAIL);
	assert_string_equal(f->err, "spoolctl: " E1 ": still running after "
	    "0s\n");
	assert_int_equal(faccessat(f->sp.cancelfd, E1, F_OK, 0), 0);
	assert_true(is_in(f, PREP, DIR_RUNNING, E1));
	close(lock);
}

/* purge: what has ended, with its work folder; never what has not. */
static void
test_purge(void **state)
{
	struct cfx *f = *state;

	failed(f, PREP, E1, 3);
	plant(f, OCR, DIR_DONE, E2, 1, NULL);
	plant(f, PREP, DIR_QUEUE, Q1, 1, NULL);
	plant(f, PREP, DIR_RUNNING, JOB(0, "r.cbz"), 1, NULL);
	/* Just ended: younger than an hour. */
	assert_int_equal(ctl_run(f, "purge", "--older-than", "1h"), EX_OK);
	assert_string_equal(f->out, "0 purged\n");
	assert_true(is_in(f, PREP, DIR_ERROR, E1));
	assert_int_equal(ctl_run(f, "purge", "--state", "done",
	    "--older-than", "0"), EX_OK);
	assert_string_equal(f->out, "1 purged\n");
	assert_false(is_in(f, OCR, DIR_DONE, E2));
	assert_true(is_in(f, PREP, DIR_ERROR, E1));
	assert_int_equal(ctl_run(f, "purge", "--older-than", "0"), EX_OK);
	assert_string_equal(f->out, "1 purged\n");
	assert_false(is_in(f, PREP, DIR_ERROR, E1));
	assert_int_equal(faccessat(f->sp.workfd, E1, F_OK, 0), -1);
	assert_true(is_in(f, PREP, DIR_QUEUE, Q1));
	assert_true(is_in(f, PREP, DIR_RUNNING, JOB(0, "r.cbz")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_retry),
		CTL_TEST(test_retry_force),
		CTL_TEST(test_retry_all),
		CTL_TEST(test_retry_refused),
		CTL_TEST(test_cancel_queued),
		CTL_TEST(test_cancel_refused),
		CTL_TEST(test_cancel_running_stopped),
		CTL_TEST(test_cancel_running),
		CTL_TEST(test_cancel_running_late),
		CTL_TEST(test_purge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
