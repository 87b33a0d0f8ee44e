/*
 * test_syncer.c: the sync helper: started, asked, answering, grouping the
 * changes that come while it works, let go, and replaced by syncs in the
 * caller when it is gone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/unistd.h>

#include "unit_log.h"
#include "unit_spool.h"

/* Waits, at most ten seconds, for the helper's answer. */
static void
wait_answer(struct spool *sp)
{
	struct pollfd pfd = {.fd = sp->syncack, .events = POLLIN};

	assert_int_equal(poll(&pfd, 1, 10000), 1);
}

/* Waits for the helper to exit; its exit status. */
static int
helper_exit(pid_t pid)
{
	int ws;

	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	return WEXITSTATUS(ws);
}

static void
test_ask_answer_stop(void **state)
{
	struct fx *f = *state;
	struct spool *sp = &f->sp;

	sp->fsync = 1;
	assert_int_equal(syncer_start(sp), 0);
	assert_true(sp->syncpid > 0);
	assert_true(sp->syncreq != -1 && sp->syncack != -1);
	/* Nothing changed: nothing asked. */
	syncer_sync(sp);
	assert_int_equal(sp->syncing, 0);
	sp->dirty = 1;
	syncer_sync(sp);
	assert_int_equal(sp->syncing, 1);
	assert_int_equal(sp->dirty, 0);
	wait_answer(sp);
	syncer_done(sp);
	assert_int_equal(sp->syncing, 0);
	assert_true(sp->syncreq != -1);
	syncer_stop(sp);
	assert_int_equal(sp->syncreq, -1);
	assert_int_equal(sp->syncack, -1);
	assert_int_equal(helper_exit(sp->syncpid), 0);
	syncer_stop(sp);
}

/* What changes while a sync runs waits for it, then goes in the next. */
static void
test_grouped(void **state)
{
	struct fx *f = *state;
	struct spool *sp = &f->sp;

	sp->fsync = 1;
	assert_int_equal(syncer_start(sp), 0);
	sp->dirty = 1;
	syncer_sync(sp);
	sp->dirty = 1;
	syncer_sync(sp);
	assert_int_equal(sp->dirty, 1);
	wait_answer(sp);
	syncer_done(sp);
	assert_int_equal(sp->syncing, 1);
	assert_int_equal(sp->dirty, 0);
	wait_answer(sp);
	syncer_done(sp);
	assert_int_equal(sp->syncing, 0);
	syncer_stop(sp);
	assert_int_equal(helper_exit(sp->syncpid), 0);
}

/* With the helper gone, the caller syncs, and says so once. */
static void
test_helper_gone(void **state)
{
	struct fx *f = *state;
	struct spool *sp = &f->sp;

	sp->fsync = 1;
	assert_int_equal(syncer_start(sp), 0);
	assert_int_equal(kill(sp->syncpid, SIGKILL), 0);
	assert_int_equal(waitpid(sp->syncpid, NULL, 0), sp->syncpid);
	/* Its answer is the end of the pipe. */
	logged_begin();
	syncer_done(sp);
	assert_non_null(strstr(logged_end(), "sync helper gone"));
	assert_int_equal(sp->syncreq, -1);
	sp->dirty = 1;
	syncer_sync(sp);
	assert_int_equal(sp->dirty, 0);
	assert_int_equal(sp->syncing, 0);
	/* A request that cannot be written. */
	assert_int_equal(syncer_start(sp), 0);
	assert_int_equal(kill(sp->syncpid, SIGKILL), 0);
	assert_int_equal(waitpid(sp->syncpid, NULL, 0), sp->syncpid);
	sp->dirty = 1;
	logged_begin();
	syncer_sync(sp);
	assert_non_null(strstr(logged_end(),
	    "sync helper; syncing in the loop from now on: Broken pipe"));
	assert_int_equal(sp->syncreq, -1);
	assert_int_equal(sp->syncing, 0);
	assert_int_equal(sp->dirty, 0);
}

/* SPOOLD_NOSYNC: no helper, no sync, and nothing left to do. */
static void
test_nosync(void **state)
{
	struct fx *f = *state;
	struct spool *sp = &f->sp;

	sp->fsync = 0;
	assert_int_equal(syncer_start(sp), 0);
	assert_int_equal(sp->syncpid, 0);
	assert_int_equal(sp->syncreq, -1);
	sp->dirty = 1;
	syncer_sync(sp);
	assert_int_equal(sp->dirty, 0);
	assert_int_equal(sp->syncing, 0);
	sp->dirty = 1;
	syncer_wait(sp);
	assert_int_equal(sp->dirty, 0);
}

/* The wait syncs in the caller, with or without a helper. */
static void
test_wait(void **state)
{
	struct fx *f = *state;
	struct spool *sp = &f->sp;

	sp->fsync = 1;
	sp->dirty = 1;
	syncer_wait(sp);
	assert_int_equal(sp->dirty, 0);
	assert_int_equal(syncer_start(sp), 0);
	sp->dirty = 1;
	syncer_wait(sp);
	assert_int_equal(sp->dirty, 0);
	assert_int_equal(sp->syncing, 0);
	/* Closing the spool lets the helper go. */
	spool_close(sp);
	assert_int_equal(helper_exit(sp->syncpid), 0);
}

int
main(int argc, char *argv[], char *envp[])
{
	const struct CMUnitTest tests[] = {
		SPOOL_TEST(test_ask_answer_stop),
		SPOOL_TEST(test_grouped),
		SPOOL_TEST(test_helper_gone),
		SPOOL_TEST(test_nosync),
		SPOOL_TEST(test_wait),
	};

	/* spoold's way: a write to a pipe no one reads is an error. */
	signal(SIGPIPE, SIG_IGN);
	setproctitle_init(argc, argv, envp);
	return cmocka_run_group_tests_name("syncer", tests, NULL, NULL);
}
