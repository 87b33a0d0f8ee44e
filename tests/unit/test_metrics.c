/*
 * test_metrics.c: data/index/metrics.json has exactly the keys of SPEC.md,
 * integers everywhere but updatedAt, sums of the stages at the top, and its
 * counters read back by metrics_load after metrics_write.
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
#include <unistd.h>

#include "unit_spool.h"
#include "unit_stages.h"


static const char *top_keys[] = {"version", "updatedAt", "pid", "uptime_s",
	"queued", "running", "deferred", "done", "error", "retries", "timeouts",
	"duplicates", "stages"};
static const char *stage_keys[] = {"slots", "queued", "running", "deferred",
	"done", "error", "retries", "timeouts", "runs", "run_ms_total"};
#define N(a) (sizeof(a) / sizeof(*(a)))

/* o has exactly these keys, each an integer but those named in other. */
static void
assert_keys(json_t *o, const char **keys, size_t n, const char *where)
{
	const char *k;
	json_t *v;
	size_t i;

	assert_true(json_is_object(o));
	for (i = 0; i < n; i++)
		if (json_object_get(o, keys[i]) == NULL)
			fail_msg("%s: no key %s", where, keys[i]);
	json_object_foreach(o, k, v) {
		for (i = 0; i < n && strcmp(k, keys[i]) != 0; i++)
			;
		if (i == n)
			fail_msg("%s: unknown key %s", where, k);
		if (strcmp(k, "updatedAt") == 0)
			assert_true(json_is_string(v));
		else if (strcmp(k, "stages") == 0)
			assert_true(json_is_object(v));
		else if (!json_is_integer(v))
			fail_msg("%s: %s is not an integer", where, k);
	}
	assert_int_equal(json_object_size(o), n);
}

static json_int_t
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}


static void
test_encode_keys_and_sums(void **state)
{
	struct mstage ms[2];
	json_t *o, *st, *s;
	char *text;

	(void)state;
	stages(ms);
	text = metrics_encode(1795426744 + 3600, 1234, 1795426744, &total, ms,
	    2, NULL);
	assert_non_null(text);
	o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_keys(o, top_keys, N(top_keys), "top");
	assert_int_equal(num(o, "version"), 1);
	assert_string_equal(json_string_value(json_object_get(o, "updatedAt")),
	    "2026-11-23T10:39:04Z");
	assert_int_equal(num(o, "pid"), 1234);
	assert_int_equal(num(o, "uptime_s"), 3600);
	/* What is there now: the sums of the stages. */
	assert_int_equal(num(o, "queued"), 12);
	assert_int_equal(num(o, "running"), 3);
	assert_int_equal(num(o, "deferred"), 1);
	/* The counters: the totals given. */
	assert_int_equal(num(o, "done"), 100);
	assert_int_equal(num(o, "error"), 4);
	assert_int_equal(num(o, "retries"), 17);
	assert_int_equal(num(o, "timeouts"), 2);
	assert_int_equal(num(o, "duplicates"), 3);

	st = json_object_get(o, "stages");
	assert_int_equal(json_object_size(st), 2);
	s = json_object_get(st, "prep");
	assert_keys(s, stage_keys, N(stage_keys), "prep");
	assert_int_equal(num(s, "slots"), 2);
	assert_int_equal(num(s, "queued"), 10);
	assert_int_equal(num(s, "running"), 2);
	assert_int_equal(num(s, "deferred"), 1);
	assert_int_equal(num(s, "done"), 0);
	assert_int_equal(num(s, "error"), 1);
	assert_int_equal(num(s, "retries"), 9);
	assert_int_equal(num(s, "timeouts"), 2);
	assert_int_equal(num(s, "runs"), 960);
	assert_int_equal(num(s, "run_ms_total"), 123456);
	s = json_object_get(st, "ocr");
	assert_keys(s, stage_keys, N(stage_keys), "ocr");
	assert_int_equal(num(s, "slots"), 1);
	assert_int_equal(num(s, "queued"), 2);
	assert_int_equal(num(s, "done"), 950);
	assert_int_equal(num(s, "runs"), 955);
	assert_true(num(s, "run_ms_total") == 4000000000LL);
	json_decref(o);
	free(text);
}

static void
test_encode_no_stage(void **state)
{
	struct counters zero;
	json_t *o;
	char *text;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	text = metrics_encode(86400, 1, 86400, &zero, NULL, 0, NULL);
	assert_non_null(text);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_keys(o, top_keys, N(top_keys), "top");
	assert_string_equal(json_string_value(json_object_get(o, "updatedAt")),
	    "1970-01-02T00:00:00Z");
	assert_int_equal(num(o, "uptime_s"), 0);
	assert_int_equal(num(o, "queued"), 0);
	assert_int_equal(num(o, "running"), 0);
	assert_int_equal(num(o, "deferred"), 0);
	assert_int_equal(json_object_size(json_object_get(o, "stages")), 0);
	json_decref(o);
	free(text);
}

/* --- on disk --- */

struct seen {
	char name[8][32];
	struct counters c[8];
	size_t n;
};

static int
each(void *arg, const char *name, const struct counters *c)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	str(s->name[s->n], sizeof(s->name[s->n]), "%s", name);
	s->c[s->n++] = *c;
	return 0;
}

static const struct counters *
seen_get(const struct seen *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return &s->c[i];
	fail_msg("stage %s not read back", name);
	return NULL;
}

static void
assert_counters_equal(const struct counters *a, const struct counters *b)
{
	assert_true(a->done == b->done);
	assert_true(a->error == b->error);
	assert_true(a->retries == b->retries);
	assert_true(a->timeouts == b->timeouts);
	assert_true(a->duplicates == b->duplicates);
	assert_true(a->runs == b->runs);
	assert_true(a->run_ms_total == b->run_ms_total);
}

static void
test_write_load(void **state)
{
	struct fx *f = *state;
	struct counters back, tot_no_runs = total;
	struct evmark mark = {1234, 56789}, mback;
	struct mstage ms[2];
	struct seen seen;
	char *text, *file;

	stages(ms);
	text = metrics_encode(1795426744, getpid(), 1795426000, &total, ms, 2,
	    &mark);
	assert_non_null(text);
	assert_int_equal(metrics_write(&f->sp, text), 0);

	/* The file: the JSON and a newline, written whole. */
	file = fileio_read(f->sp.indexfd, "metrics.json", 1 << 20);
	assert_non_null(file);
	assert_int_equal(strlen(file), strlen(text) + 1);
	assert_memory_equal(file, text, strlen(text));
	assert_true(file[strlen(text)] == '\n');
	free(file);
	free(text);

	memset(&seen, 0, sizeof(seen));
	memset(&back, 0xff, sizeof(back));
	assert_int_equal(metrics_load(&f->sp, &back, &mback, each, &seen), 0);
	/* The mark of the events the counters include, read back. */
	assert_int_equal(mback.ino, 1234);
	assert_int_equal(mback.off, 56789);
	/* runs and run_ms_total are per stage only. */
	tot_no_runs.runs = tot_no_runs.run_ms_total = 0;
	assert_counters_equal(&back, &tot_no_runs);
	assert_int_equal(seen.n, 2);
	assert_counters_equal(seen_get(&seen, "prep"), &prep_c);
	assert_counters_equal(seen_get(&seen, "ocr"), &ocr_c);
}

/* Each write replaces the last; the last one is what is read. */
static void
test_rewrite(void **state)
{
	struct fx *f = *state;
	struct counters c1 = {1, 2, 3, 4, 5, 0, 0}, c2 = {10, 20, 30, 40, 50, 0,
	    0}, back;
	struct evmark mback;
	struct seen seen;
	char *text;
	int i;

	for (i = 0; i < 20; i++) {
		text = metrics_encode(1000 + i, 7, 1000, i % 2 ? &c2 : &c1,
		    NULL, 0, NULL);
		assert_int_equal(metrics_write(&f->sp, text), 0);
		free(text);
	}
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(metrics_load(&f->sp, &back, &mback, each, &seen), 0);
	assert_counters_equal(&back, &c2);
	assert_int_equal(seen.n, 0);
}

static void
test_load_none(void **state)
{
	struct fx *f = *state;
	struct counters back;
	struct evmark mback;
	struct seen seen;

	memset(&seen, 0, sizeof(seen));
	memset(&back, 0xff, sizeof(back));
	assert_int_equal(metrics_load(&f->sp, &back, &mback, each, &seen), -1);
	assert_true(back.done == 0 && back.error == 0 && back.retries == 0 &&
	    back.timeouts == 0 && back.duplicates == 0 && back.runs == 0 &&
	    back.run_ms_total == 0);
	assert_int_equal(seen.n, 0);
}

static void
test_load_garbage(void **state)
{
	static const char bad[] = "{\"done\": 5,";
	static const char odd[] = "{\"done\": \"5\", \"error\": -3, "
	    "\"retries\": 2}";
	struct fx *f = *state;
	struct counters back;
	struct evmark mback;
	struct seen seen;
	int saved, null;

	assert_int_equal(spool_write(&f->sp, f->sp.indexfd, "metrics.json",
	    bad, strlen(bad), 0), 0);
	memset(&seen, 0, sizeof(seen));
	memset(&back, 0xff, sizeof(back));
	/* It says so on stderr: keep that out of the test's output. */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	null = open("/dev/null", O_WRONLY);
	dup2(null, STDERR_FILENO);
	assert_int_equal(metrics_load(&f->sp, &back, &mback, each, &seen), -1);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(null);
	assert_true(back.done == 0);
	assert_int_equal(seen.n, 0);

	/* Counters of the wrong type or negative count as 0. */
	assert_int_equal(spool_write(&f->sp, f->sp.indexfd, "metrics.json",
	    odd, strlen(odd), 0), 0);
	assert_int_equal(metrics_load(&f->sp, &back, &mback, each, &seen), 0);
	assert_true(back.done == 0);
	assert_true(back.error == 0);
	assert_true(back.retries == 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_keys_and_sums),
		cmocka_unit_test(test_encode_no_stage),
		cmocka_unit_test_setup_teardown(test_write_load, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_none, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_load_garbage, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
