/*
 * test_ctl_watch.c: the verbs that follow the spool (ctl_watch.c), on a
 * spool of every state planted in a new folder of /tmp: one screen of
 * watch (ctl_watch_draw), its counts per stage and their bar, the
 * forecast and the running jobs, from one reading of the folders; watch
 * refused without a terminal (64); events, of the file before the last
 * rotation then the current one, of one job or all, a line still being
 * written left out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <fcntl.h>
#include <limits.h>
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

#define SCHEDULE "{\"eta_s\": 300, \"cpus_used\": 1, \"cpus\": 4, " \
    "\"stages\": {\"prep\": {\"drain_s\": 125}}}"

/* One screen of watch, of the spool as spoolctl opens it. */
static int
draw(const struct ctl_args *a)
{
	(void)a;
	ctl_open(0);
	ctl_watch_draw();
	return EX_OK;
}

static void
test_watch_screen(void **state)
{
	struct cfx *f = *state;
	char want[PATH_MAX + 64], line[512];
	const char *running;

	populate(f);
	index_file(f, "schedule.json", SCHEDULE);
	assert_int_equal(ctl_call(f, draw, "watch", (char *)NULL), EX_OK);
	assert_string_equal(f->err, "");
	/* The screen cleared, then when it was read. */
	str(want, sizeof(want), "\033[H\033[2Jspoold %s   as of ", f->path);
	assert_int_equal(strncmp(f->out, want, strlen(want)), 0);
	assert_non_null(strstr(f->out, "   q: quit\r\n"));
	assert_string_equal(line_of(f->out, "pipeline", line, sizeof(line)),
	    "pipeline empty in about 5m   1 of 4 CPUs taken\r");
	assert_string_equal(line_of(f->out, "STAGE", line, sizeof(line)),
	    "STAGE         QUEUED DEFERRED RUNNING     DONE    ERROR  DRAINS  "
	    "[# done  x error  > running  . queued  : deferred]\r");
	/* 7 jobs in prep: 3 queued, one in each other state; 40 marks. */
	assert_string_equal(line_of(f->out, "prep ", line, sizeof(line)),
	    "prep               3        1       1        1        1      2m  "
	    "[#####xxxxx>>>>>.................:::::   ]\r");
	assert_string_equal(line_of(f->out, "ocr ", line, sizeof(line)),
	    "ocr                1        0       0        0        0       -  "
	    "[........................................]\r");
	/* The running jobs: the one of prep, with its heartbeat. */
	assert_non_null(running = strstr(f->out, "\r\nRUNNING\r\n"));
	running += strlen("\r\nRUNNING\r\n");
	assert_string_equal(line_of(running, "STAGE", line, sizeof(line)),
	    "STAGE      ID                                        ELAPSED  "
	    "PROGRESS\r");
	str(want, sizeof(want), "prep       %-40s ", RUNNING);
	line_of(running, want, line, sizeof(line));
	assert_int_equal(strcmp(line + strlen(line) - 12, "  page 3/10\r"), 0);
	assert_null(strstr(running, OLD));
	assert_null(strstr(running, FAILED));
}

/* An empty spool: counts of 0 and an empty bar; no forecast yet. */
static void
test_watch_empty(void **state)
{
	struct cfx *f = *state;
	char line[512];

	assert_int_equal(ctl_call(f, draw, "watch", (char *)NULL), EX_OK);
	assert_string_equal(line_of(f->out, "pipeline", line, sizeof(line)),
	    "pipeline empty in about -   0 of 0 CPUs taken\r");
	assert_string_equal(line_of(f->out, "prep ", line, sizeof(line)),
	    "prep               0        0       0        0        0       -  "
	    "[                                        ]\r");
}

static void
test_watch_no_terminal(void **state)
{
	struct cfx *f = *state;

	assert_int_equal(ctl_run(f, "watch"), EX_USAGE);
	assert_string_equal(f->err, "spoolctl: watch needs a terminal\n");
	assert_string_equal(f->out, "");
}

#define EV(id, n) "{\"id\":\"" id "\",\"event\":\"e" #n "\"}\n"

static void
test_events(void **state)
{
	struct cfx *f = *state;

	assert_int_equal(ctl_run(f, "events"), EX_OK);
	assert_string_equal(f->out, "");
	index_file(f, "events.jsonl.1", EV("a", 1) EV("b", 2));
	index_file(f, "events.jsonl", EV("a", 3) "not json\n" EV("b", 4)
	    "{\"id\":\"a\",\"ev");
	assert_int_equal(ctl_run(f, "events"), EX_OK);
	assert_string_equal(f->out, EV("a", 1) EV("b", 2) EV("a", 3)
	    "not json\n" EV("b", 4));
	assert_int_equal(ctl_run(f, "events", "a"), EX_OK);
	assert_string_equal(f->out, EV("a", 1) EV("a", 3));
	assert_int_equal(ctl_run(f, "events", "c"), EX_OK);
	assert_string_equal(f->out, "");
	assert_string_equal(f->err, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_watch_screen),
		CTL_TEST(test_watch_empty),
		CTL_TEST(test_watch_no_terminal),
		CTL_TEST(test_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
