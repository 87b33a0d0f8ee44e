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

#include "unit_json.h"
#include "unit_spool.h"
#include "unit_stages.h"


static const char *top_keys[] = {"version", "updatedAt", "pid", "uptime_s",
	"queued", "running", "deferred", "done", "error", "retries", "timeouts",
	"duplicates", "stages"};
static const char *stage_keys[] = {"slots", "queued", "running", "deferred",
	"done", "error", "retries", "timeouts", "runs", "run_ms_total",
	"cpu_ms_total", "maxrss_kb_max", "run_ms_p50", "run_ms_p95"};
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
	assert_int_equal(num(s, "cpu_ms_total"), 98765);
	assert_int_equal(num(s, "maxrss_kb_max"), 204800);
	/* No recent runs: no percentiles yet. */
	assert_int_equal(num(s, "run_ms_p50"), 0);
	assert_int_equal(num(s, "run_ms_p95"), 0);
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

/* Percentiles by the nearest rank over the last RECENT_RUNS runs. */
static void
test_percentile(void **state)
{
	struct recent r;
	int i;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(metrics_percentile(&r, 50), 0);
	assert_int_equal(metrics_percentile(NULL, 95), 0);
	metrics_recent_add(&r, 7);
	assert_int_equal(metrics_percentile(&r, 50), 7);
	assert_int_equal(metrics_percentile(&r, 95), 7);
	for (i = 2; i <= 20; i++)	/* 7, then 2..20, in no order */
		metrics_recent_add(&r, (i * 7) % 19 + 2);
	/* 20 times: 2..20 and 7; the 10th is 10, the 19th is 19. */
	assert_int_equal(metrics_percentile(&r, 50), 10);
	assert_int_equal(metrics_percentile(&r, 95), 19);
	assert_int_equal(metrics_percentile(&r, 100), 20);
	/* 1..100 then 1000 twice: the oldest two (1 and 2) are gone. */
	memset(&r, 0, sizeof(r));
	for (i = 1; i <= 100; i++)
		metrics_recent_add(&r, i);
	assert_int_equal(metrics_percentile(&r, 50), 50);
	assert_int_equal(metrics_percentile(&r, 95), 95);
	metrics_recent_add(&r, 1000);
	metrics_recent_add(&r, 1000);
	assert_int_equal(r.n, RECENT_RUNS);
	assert_int_equal(metrics_percentile(&r, 50), 52);
	assert_int_equal(metrics_percentile(&r, 95), 97);
	assert_int_equal(metrics_percentile(&r, 99), 1000);
}

/* A run's cost adds its CPU time, and keeps the largest peak memory. */
static void
test_account(void **state)
{
	struct counters c;
	struct usage u = {1000, 300, 20, 5000, 1};

	(void)state;
	memset(&c, 0, sizeof(c));
	metrics_account(&c, &u);
	u.maxrss_kb = 4000;
	metrics_account(&c, &u);
	assert_true(c.cpu_ms_total == 640 && c.maxrss_kb_max == 5000);
	u.known = 0;		/* not measured: nothing */
	u.maxrss_kb = 9000;
	metrics_account(&c, &u);
	assert_true(c.cpu_ms_total == 640 && c.maxrss_kb_max == 5000);
}

/* Whether text has this line. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

/*
 * metrics.prom: every number of metrics.json, in seconds and bytes; each
 * family's samples together after its HELP and TYPE; labels escaped.
 */
static void
test_prom(void **state)
{
	struct mstage ms[2];
	struct recent r;
	char *text, *line, *save, *copy, family[64] = "", *name;
	size_t samples = 0, types = 0;
	int i;

	(void)state;
	stages(ms);
	memset(&r, 0, sizeof(r));
	for (i = 1; i <= 100; i++)
		metrics_recent_add(&r, i * 10);
	ms[0].recent = &r;
	ms[1].name = "o\"c\\r\n";
	text = metrics_prom(1795426744 + 3600, 1234, 1795426744, 1, &total, ms,
	    2);
	assert_non_null(text);
	assert_true(has_line(text, "# TYPE spoold_up gauge"));
	assert_true(has_line(text, "spoold_up 1"));
	assert_true(has_line(text, "spoold_pid 1234"));
	assert_true(has_line(text, "spoold_uptime_seconds 3600"));
	assert_true(has_line(text, "spoold_spool_jobs{state=\"queued\"} 12"));
	assert_true(has_line(text, "spoold_spool_done_total 100"));
	assert_true(has_line(text, "spoold_duplicates_total 3"));
	assert_true(has_line(text, "spoold_jobs{stage=\"prep\",state="
	    "\"running\"} 2"));
	assert_true(has_line(text, "spoold_slots{stage=\"prep\"} 2"));
	assert_true(has_line(text, "spoold_runs_total{stage=\"prep\"} 960"));
	assert_true(has_line(text, "# TYPE spoold_run_seconds summary"));
	assert_true(has_line(text, "spoold_run_seconds{stage=\"prep\","
	    "quantile=\"0.5\"} 0.500"));
	assert_true(has_line(text, "spoold_run_seconds{stage=\"prep\","
	    "quantile=\"0.95\"} 0.950"));
	assert_true(has_line(text, "spoold_run_seconds_sum{stage=\"prep\"} "
	    "123.456"));
	assert_true(has_line(text, "spoold_run_seconds_count{stage=\"prep\"} "
	    "960"));
	assert_true(has_line(text, "spoold_cpu_seconds_total{stage=\"prep\"} "
	    "98.765"));
	assert_true(has_line(text, "spoold_maxrss_bytes{stage=\"prep\"} "
	    "209715200"));
	assert_true(has_line(text, "spoold_run_seconds_sum{stage="
	    "\"o\\\"c\\\\r\\n\"} 4000000.000"));
	assert_true(has_line(text, "spoold_maxrss_bytes{stage="
	    "\"o\\\"c\\\\r\\n\"} 1073741824"));
	free(text);

	/* The last one, as spoold stops; the families, each in one piece. */
	text = metrics_prom(1795426744, 1234, 1795426744, 0, &total, ms, 2);
	assert_true(has_line(text, "spoold_up 0"));
	copy = strdup(text);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			types++;
			snprintf(family, sizeof(family), "%.*s",
			    (int)strcspn(line + 7, " "), line + 7);
			continue;
		}
		samples++;
		name = strndup(line, strcspn(line, "{ "));
		if (strcmp(name, family) != 0 && (strncmp(name, family,
		    strlen(family)) != 0 || (strcmp(name + strlen(family),
		    "_sum") != 0 && strcmp(name + strlen(family),
		    "_count") != 0)))
			fail_msg("%s outside its family (%s)", line, family);
		free(name);
	}
	/* 11 numbers and spoold_up; 14 numbers a stage and _count. */
	assert_int_equal(samples, 12 + 2 * 15);
	assert_int_equal(types, 20);
	free(copy);
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
	assert_true(a->cpu_ms_total == b->cpu_ms_total);
	assert_true(a->maxrss_kb_max == b->maxrss_kb_max);
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
	struct counters c1 = {1, 2, 3, 4, 5, 0, 0, 0, 0}, c2 = {10, 20, 30, 40,
	    50, 0, 0, 0, 0}, back;
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
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_prom),
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
