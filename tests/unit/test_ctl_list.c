/*
 * test_ctl_list.c: the verbs that read the spool (ctl_list.c), on a
 * spool of every state planted in a new folder of /tmp: ls as a table
 * and as JSON, in the scheduler's order, with the states, attempts, ages,
 * keys, progress and waits spoolctl(1) describes, filtered by stage and
 * state; show and log of a job, and of one that is not there (66); stats,
 * its counts read from the folders beside the counters and forecast of
 * index/, and without a metrics.json (66).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/stat.h>

#include <fcntl.h>
#include <jansson.h>
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

#include <bsd/string.h>

#include "unit_ctl.h"
#include "unit_json.h"

#define SCHEDULE "{\"eta_s\": 300, \"cpus_used\": 1, \"cpus\": 4, " \
    "\"stages\": {\"prep\": {\"drain_s\": 125, \"parallel\": 2, " \
    "\"waiting\": \"waiting for 2 CPUs\"}, \"ocr\": {\"parallel\": 1}}}"

#define LS_HEADER "ID                                       STAGE      " \
    "STATE    ATTEMPT   AGE KEY          PROGRESS\n"

static void
test_ls_json(void **state)
{
	struct cfx *f = *state;
	json_t *a, *o;
	size_t i;

	populate(f);
	index_file(f, "schedule.json", SCHEDULE);
	assert_int_equal(ctl_run(f, "ls", "--json"), EX_OK);
	assert_string_equal(f->err, "");
	assert_non_null(a = json_loads(f->out, 0, NULL));
	assert_int_equal(json_array_size(a), NLISTED);
	json_array_foreach(a, i, o) {
		assert_string_equal(json_string_value(json_object_get(o, "id")),
		    listed[i][0]);
		assert_string_equal(json_string_value(json_object_get(o,
		    "stage")), listed[i][1]);
		assert_string_equal(json_string_value(json_object_get(o,
		    "state")), listed[i][2]);
		assert_int_equal(num(o, "priority"), listed[i][0][0] - '0');
		/* What the next run of prep waits for, on its queued jobs. */
		if (strcmp(listed[i][2], "queued") == 0 &&
		    strcmp(listed[i][1], "prep") == 0)
			assert_string_equal(json_string_value(json_object_get(o,
			    "waiting")), "waiting for 2 CPUs");
		else
			assert_true(json_is_null(json_object_get(o, "waiting")));
	}
	o = json_array_get(a, 0);
	assert_int_equal(num(o, "attempt"), 1);
	assert_string_equal(json_string_value(json_object_get(o, "key")), "k1");
	assert_string_equal(json_string_value(json_object_get(o, "progress")),
	    "page 3/10");
	o = json_array_get(a, 6);
	assert_int_equal(num(o, "attempt"), 3);
	assert_true(num(o, "age_s") >= 7200);
	assert_true(json_is_null(json_object_get(o, "key")));
	assert_true(json_is_null(json_object_get(o, "progress")));
	json_decref(a);
}

/* A line of the table of ls: its columns up to KEY, and the rest. */
struct row {
	char id[NAME_MAX + 1], stage[32], state[16], age[16], key[128];
	int attempt;
	const char *rest;
};

static const char *
row(const char *line, struct row *r)
{
	int n = 0;

	assert_int_equal(sscanf(line, "%255s %31s %15s %d %15s %127s %n",
	    r->id, r->stage, r->state, &r->attempt, r->age, r->key, &n), 6);
	r->rest = line + n;
	return strchr(line, '\n') + 1;
}

static void
test_ls_table(void **state)
{
	struct cfx *f = *state;
	struct row r;
	const char *p;
	size_t i;

	populate(f);
	index_file(f, "schedule.json", SCHEDULE);
	assert_int_equal(ctl_run(f, "ls"), EX_OK);
	assert_int_equal(strncmp(f->out, LS_HEADER, strlen(LS_HEADER)), 0);
	p = f->out + strlen(LS_HEADER);
	for (i = 0; i < NLISTED; i++) {
		p = row(p, &r);
		assert_string_equal(r.id, listed[i][0]);
		assert_string_equal(r.stage, listed[i][1]);
		assert_string_equal(r.state, listed[i][2]);
		if (i == 0) {
			assert_int_equal(r.attempt, 1);
			assert_string_equal(r.key, "k1");
			assert_int_equal(strncmp(r.rest, "page 3/10\n", 10), 0);
		} else if (i == 1)
			assert_int_equal(strncmp(r.rest, "waiting for 2 CPUs\n",
			    19), 0);
		else if (i == 6) {
			assert_int_equal(r.attempt, 3);
			assert_string_equal(r.age, "2h");
			assert_string_equal(r.key, "-");
		}
	}
	assert_string_equal(p, "");
}

/* The ids of ls's table, one a line. */
static char *
ls_ids(struct cfx *f, char *buf, size_t len)
{
	const char *p = f->out;
	struct row r;

	buf[0] = '\0';
	assert_int_equal(strncmp(p, LS_HEADER, strlen(LS_HEADER)), 0);
	for (p += strlen(LS_HEADER); *p != '\0';) {
		p = row(p, &r);
		strlcat(buf, r.id, len);
		strlcat(buf, "\n", len);
	}
	return buf;
}

static void
test_ls_filters(void **state)
{
	struct cfx *f = *state;
	char ids[1024];

	populate(f);
	assert_int_equal(ctl_run(f, "ls", "--state", "error"), EX_OK);
	assert_string_equal(ls_ids(f, ids, sizeof(ids)), FAILED "\n");
	assert_int_equal(ctl_run(f, "ls", "--stage", "ocr"), EX_OK);
	assert_string_equal(ls_ids(f, ids, sizeof(ids)), OCRJOB "\n");
	assert_int_equal(ctl_run(f, "ls", "--stage", "prep", "--state",
	    "queued"), EX_OK);
	assert_string_equal(ls_ids(f, ids, sizeof(ids)),
	    URGENT "\n" OLD "\n" NEW "\n");
	assert_int_equal(ctl_run(f, "ls", "--state", "deferred"), EX_OK);
	assert_string_equal(ls_ids(f, ids, sizeof(ids)), LATER "\n");
	assert_int_equal(ctl_run(f, "ls", "--stage", "nope"), EX_USAGE);
}

/* A name put in a queue/ by hand with a byte that cannot be printed. */
static void
test_ls_unprintable(void **state)
{
	struct cfx *f = *state;
	char ids[1024];

	plant(f, OCR, DIR_DONE, "bad\001name", 1, NULL);
	assert_int_equal(ctl_run(f, "ls"), EX_OK);
	assert_string_equal(ls_ids(f, ids, sizeof(ids)), "bad\\001name\n");
}

static void
test_show(void **state)
{
	struct cfx *f = *state;
	char line[256];

	populate(f);
	index_file(f, "schedule.json", SCHEDULE);
	assert_int_equal(ctl_run(f, "show", FAILED), EX_OK);
	assert_string_equal(line_of(f->out, "id:", line, sizeof(line)),
	    "id:        " FAILED);
	assert_string_equal(line_of(f->out, "place:", line, sizeof(line)),
	    "place:     prep/error");
	assert_string_equal(line_of(f->out, "attempt:", line, sizeof(line)),
	    "attempt:   3");
	assert_string_equal(line_of(f->out, "exit:", line, sizeof(line)),
	    "exit:      2");
	assert_string_equal(line_of(f->out, "reason:", line, sizeof(line)),
	    "reason:    exit 2");
	assert_string_equal(line_of(f->out, "priority:", line, sizeof(line)),
	    "priority:  0");
	line_of(f->out, "submitted: ", line, sizeof(line));
	assert_null(strstr(f->out, "waiting:"));
	assert_null(strstr(f->out, "signal:"));
	/* The last 10 lines of its log. */
	assert_non_null(strstr(f->out, "\nlog:\nline 3\n"));
	assert_null(strstr(f->out, "line 2\n"));
	assert_non_null(strstr(f->out, "\nline 12\n"));
	/* The log ends the output, with no blank line after it. */
	assert_true(strlen(f->out) > 9);
	assert_string_equal(f->out + strlen(f->out) - 9, "\nline 12\n");
	/* A job in a queue/ of a stage that waits for CPUs. */
	assert_int_equal(ctl_run(f, "show", OLD), EX_OK);
	assert_string_equal(line_of(f->out, "place:", line, sizeof(line)),
	    "place:     prep/queue");
	assert_string_equal(line_of(f->out, "waiting:", line, sizeof(line)),
	    "waiting:   waiting for 2 CPUs");
	/* A running job's progress is that of its heartbeat. */
	assert_int_equal(ctl_run(f, "show", RUNNING), EX_OK);
	assert_string_equal(line_of(f->out, "progress:", line, sizeof(line)),
	    "progress:  page 3/10");
	assert_string_equal(line_of(f->out, "key:", line, sizeof(line)),
	    "key:       k1");
}

static void
test_show_json(void **state)
{
	struct cfx *f = *state;
	json_t *o, *st;
	const char *log;

	populate(f);
	assert_int_equal(ctl_run(f, "show", "--json", FAILED), EX_OK);
	assert_non_null(o = json_loads(f->out, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(o, "id")),
	    FAILED);
	assert_string_equal(json_string_value(json_object_get(o, "stage")),
	    "prep");
	assert_string_equal(json_string_value(json_object_get(o, "folder")),
	    "error");
	st = json_object_get(o, "status");
	assert_int_equal(num(st, "attempt"), 3);
	assert_int_equal(num(st, "exit"), 2);
	assert_non_null(log = json_string_value(json_object_get(o, "log")));
	assert_string_equal(log, "line 3\nline 4\nline 5\nline 6\nline 7\n"
	    "line 8\nline 9\nline 10\nline 11\nline 12\n");
	json_decref(o);
	/* No log: null. */
	assert_int_equal(ctl_run(f, "show", "--json", OCRJOB), EX_OK);
	assert_non_null(o = json_loads(f->out, 0, NULL));
	assert_true(json_is_null(json_object_get(o, "log")));
	assert_string_equal(json_string_value(json_object_get(o, "folder")),
	    "queue");
	json_decref(o);
}

/* show, log of a job that is not there: 66, naming it; nothing printed. */
static void
test_show_unknown(void **state)
{
	struct cfx *f = *state;

	populate(f);
	assert_int_equal(ctl_run(f, "show", "0.nope.cbz"), EX_NOINPUT);
	assert_string_equal(f->err, "spoolctl: unknown job id \"0.nope.cbz\"\n");
	assert_string_equal(f->out, "");
	assert_int_equal(ctl_run(f, "log", "0.nope.cbz"), EX_NOINPUT);
	assert_string_equal(f->err, "spoolctl: unknown job id \"0.nope.cbz\"\n");
}

static void
test_log(void **state)
{
	struct cfx *f = *state;
	char want[256];
	int i;

	populate(f);
	assert_int_equal(ctl_run(f, "log", FAILED), EX_OK);
	want[0] = '\0';
	for (i = 1; i <= 12; i++)
		str(want + strlen(want), sizeof(want) - strlen(want),
		    "line %d\n", i);
	assert_string_equal(f->out, want);
	/* A job that never ran has no log: nothing, and 0. */
	assert_int_equal(ctl_run(f, "log", OCRJOB), EX_OK);
	assert_string_equal(f->out, "");
	assert_string_equal(f->err, "");
}

#define METRICS "{\"updatedAt\": \"2026-01-02T03:04:05Z\", " \
    "\"retries\": 6, \"timeouts\": 7, \"stages\": {" \
    "\"prep\": {\"slots\": 2, \"retries\": 4, \"timeouts\": 5, " \
    "\"runs\": 10, \"run_ms_total\": 2500, \"run_ms_p50\": 1234, " \
    "\"run_ms_p95\": 2000, \"cpu_ms_total\": 500, \"maxrss_kb_max\": 1024}," \
    "\"ocr\": {\"slots\": 1, \"retries\": 2, \"timeouts\": 2, \"runs\": 0}}}"

/* A row of stats' table: the numbers after its name. */
static int
stats_row(const char *out, const char *name, long long *v)
{
	char line[256], got[32];
	int n;

	str(got, sizeof(got), "%s ", name);
	line_of(out, got, line, sizeof(line));
	n = sscanf(line, "%31s %lld %lld %lld %lld %lld %lld %lld %lld %lld "
	    "%lld", got, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
	    &v[7], &v[8], &v[9]);
	assert_string_equal(got, name);
	return n - 1;
}

static void
test_stats(void **state)
{
	struct cfx *f = *state;
	long long v[10];
	long long prep[] = {2, 3, 1, 1, 1, 1, 4, 5, 10, 250};
	long long ocr[] = {1, 1, 0, 0, 0, 0, 2, 2, 0, 0};
	long long total[] = {4, 1, 1, 1, 1, 6, 7};
	char line[256];
	int i;

	populate(f);
	index_file(f, "metrics.json", METRICS);
	index_file(f, "schedule.json", SCHEDULE);
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	assert_int_equal(ctl_run(f, "stats"), EX_OK);
	assert_string_equal(f->err, "");
	line_of(f->out, "jobs as of ", line, sizeof(line));
	assert_non_null(strstr(line, " (the folders), counters as of 03:04:05 "
	    "(index/metrics.json)"));
	assert_string_equal(line_of(f->out, "STAGE", line, sizeof(line)),
	    "STAGE        SLOTS  QUEUED DEFERRED RUNNING     DONE    ERROR  "
	    "RETRIES TIMEOUTS     RUNS   AVG_MS");
	assert_int_equal(stats_row(f->out, "prep", v), 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(v[i], prep[i]);
	assert_int_equal(stats_row(f->out, "ocr", v), 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(v[i], ocr[i]);
	assert_int_equal(stats_row(f->out, "total", v), 7);
	for (i = 0; i < 7; i++)
		assert_int_equal(v[i], total[i]);
	assert_string_equal(line_of(f->out, "  prep: p50", line, sizeof(line)),
	    "  prep: p50 1.234s, p95 2.000s, cpu 0.500s, maxrss 1024 KiB");
	assert_string_equal(line_of(f->out, "forecast:", line, sizeof(line)),
	    "forecast: pipeline empty in about 5m; 1 of 4 CPUs taken");
	assert_string_equal(line_of(f->out, "  prep: queue", line,
	    sizeof(line)), "  prep: queue drains in 2m, 2 at once; next run "
	    "waiting for 2 CPUs");
	assert_string_equal(line_of(f->out, "  ocr: queue", line,
	    sizeof(line)), "  ocr: queue drains in unknown, 1 at once");
	unsetenv("TZ");
}

static void
test_stats_json(void **state)
{
	struct cfx *f = *state;
	json_t *got, *want;

	index_file(f, "metrics.json", METRICS);
	assert_int_equal(ctl_run(f, "stats", "--json"), EX_OK);
	assert_non_null(got = json_loads(f->out, 0, NULL));
	assert_non_null(want = json_loads(METRICS, 0, NULL));
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
}

/* No metrics.json: 66, naming the file. */
static void
test_stats_none(void **state)
{
	struct cfx *f = *state;

	populate(f);
	assert_int_equal(ctl_run(f, "stats"), EX_NOINPUT);
	assert_err(f, "spoolctl: %s/index/metrics.json: none yet "
	    "(has spoold run on this spool?)\n", f->path);
	assert_string_equal(f->out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_ls_json),
		CTL_TEST(test_ls_table),
		CTL_TEST(test_ls_filters),
		CTL_TEST(test_ls_unprintable),
		CTL_TEST(test_show),
		CTL_TEST(test_show_json),
		CTL_TEST(test_show_unknown),
		CTL_TEST(test_log),
		CTL_TEST(test_stats),
		CTL_TEST(test_stats_json),
		CTL_TEST(test_stats_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
