/*
 * test_hook.c: the hooks of a stage, on a spool in a new folder of /tmp:
 * one waits its turn only for an event the stage has a command for; a
 * hook of a stage gone is dropped; at a stop the hooks that wait are
 * dropped; one that runs is reaped through the pid table, its end written
 * to the job's log.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_spool.h"
#include "runner.h"

static struct stconf *stage;

static const struct stconf *
find(const char *name)
{
	return stage != NULL && strcmp(stage->name, name) == 0 ? stage : NULL;
}

static struct stconf *
stage_with(const char *event, const char *prog)
{
	struct stconf *sc;
	char **cmd = strv_add(NULL, prog);

	if ((sc = calloc(1, sizeof(*sc))) == NULL ||
	    (sc->name = strdup("a")) == NULL)
		fail();
	sc->command = strv_add(NULL, "true");
	sc->uid = geteuid();
	sc->gid = getegid();
	sc->runner = runner_find("local");
	if (strcmp(event, "done") == 0)
		sc->on_done = cmd;
	else
		sc->on_error = cmd;
	return sc;
}

static void
add(const struct stconf *sc, const char *event, const char *id)
{
	struct status s;

	status_init(&s, sc->name);
	hook_add(sc, event, id, "/nonexistent/job", &s);
}

static void
test_only_events_with_a_command(void **state)
{
	(void)state;
	stage = stage_with("done", "true");
	add(stage, "error", "j");
	add(stage, "retry", "j");
	assert_int_equal(hook_count(), 0);
	add(stage, "done", "j");
	assert_int_equal(hook_count(), 1);
	hook_stop_all(1);
	assert_int_equal(hook_count(), 0);
	stconf_free(stage);
	stage = NULL;
}

static void
test_stage_gone(void **state)
{
	struct fx *f = *state;
	struct timespec at;

	stage = stage_with("error", "true");
	add(stage, "error", "j");
	stconf_free(stage);
	stage = NULL;
	hook_start(&f->sp, f->path, find);
	assert_int_equal(hook_count(), 0);
	assert_int_equal(hook_next(&at), 0);
}

static void
test_runs_and_is_reaped(void **state)
{
	struct fx *f = *state;
	char *log;
	pid_t pid;
	int ws;

	stage = stage_with("done", "true");
	add(stage, "done", "j");
	assert_true((ws = spool_job_make(&f->sp, "j", (uid_t)-1,
	    (gid_t)-1)) != -1);
	close(ws);
	hook_start(&f->sp, f->path, find);
	assert_int_equal(hook_count(), 1);
	assert_int_equal(pids_count(PID_HOOK), 1);
	assert_true((pid = waitpid(-1, &ws, 0)) > 0);
	assert_int_equal(pids_reaped(pid, ws), PID_HOOK);
	assert_int_equal(hook_count(), 0);
	assert_non_null(log = fileio_read(f->sp.logfd, "j.log", 65536));
	assert_non_null(strstr(log, "hook on_done"));
	assert_non_null(strstr(log, "exit 0"));
	free(log);
	stconf_free(stage);
	stage = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_events_with_a_command),
		cmocka_unit_test_setup_teardown(test_stage_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_runs_and_is_reaped, setup,
		    teardown),
	};

	log_init(0, "test_hook");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
