/*
 * test_status.c: the job's status record: every field survives an encode
 * and a decode, the JSON has exactly the keys of struct status, times are
 * "YYYY-mm-ddTHH:MM:SSZ", and what is not a record is refused.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <sys/resource.h>

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* The fields of struct status in spoold.h, by name. */
static const char *keys[] = {"stage", "state", "attempt", "exit", "signal",
	"reason", "submitted", "started", "finished", "updated", "progress",
	"priority", "key", "pgid", "pstart", "sha256", "forced", "remote",
	"logged", "lost", "rusage"};
#define NKEYS (sizeof(keys) / sizeof(*keys))

static void
fill(struct status *st)
{
	status_init(st, "ocr");
	st->state = JS_RUNNING;
	st->attempt = 2;
	st->exit = 75;
	st->signal = 15;
	strcpy(st->reason,
	    "exit 75: \"quoted\", back\\slash, tab\t, caf\xc3\xa9");
	st->submitted = 1795426744;  /* 2026-11-23T09:39:04Z */
	st->started = 1795426800;    /* 2026-11-23T09:40:00Z */
	st->finished = 951782400;    /* 2000-02-29T00:00:00Z */
	st->updated = 4102444799;    /* 2099-12-31T23:59:59Z */
	strcpy(st->progress, "page 3/40 \xe6\x97\xa5\xe6\x9c\xac");
	st->priority = 9;
	strcpy(st->key, "user-42");
	st->pgid = 2147483000;
	st->pstart = 9007199254740993ULL; /* above 2^53: no double on the way */
	strcpy(st->sha256, "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a1"
	    "1ef721d1542d8");
	st->forced = 1;
	st->remote = 9007199254740993LL; /* Slurm's numbers may be large */
	st->unlogged = 1;
	st->lost = 2;
	st->use = (struct usage){3768, 2004, 1582, 213184, 1};
}

static void
round_trip(const struct status *st)
{
	struct status got;
	char *text;

	text = status_encode(st);
	assert_non_null(text);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(status_decode(text, &got), 0);
	assert_status_equal(&got, st);
	free(text);
}

static void
test_round_trip_full(void **state)
{
	struct status st;

	(void)state;
	fill(&st);
	round_trip(&st);
}

static void
test_round_trip_each_state(void **state)
{
	struct status st;
	int s;

	(void)state;
	for (s = JS_QUEUED; s <= JS_ERROR; s++) {
		fill(&st);
		st.state = s;
		round_trip(&st);
		assert_int_equal(status_state_parse(status_state_name(s)), s);
	}
	assert_string_equal(status_state_name(JS_QUEUED), "queued");
	assert_string_equal(status_state_name(JS_DEFERRED), "deferred");
	assert_string_equal(status_state_name(JS_RUNNING), "running");
	assert_string_equal(status_state_name(JS_DONE), "done");
	assert_string_equal(status_state_name(JS_ERROR), "error");
	assert_int_equal(status_state_parse("Queued"), -1);
	assert_int_equal(status_state_parse(""), -1);
}

/* A fresh record: no exit, no signal, no times, no strings. */
static void
test_round_trip_empty(void **state)
{
	static const char *nulls[] = {"exit", "signal", "reason", "submitted",
		"started", "finished", "updated", "progress", "key", "remote"};
	struct status st, got;
	json_t *o;
	char *text;
	size_t i;

	(void)state;
	status_init(&st, "prep");
	assert_int_equal(st.exit, -1);
	round_trip(&st);
	text = status_encode(&st);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "stage")),
	    "prep");
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "queued");
	for (i = 0; i < sizeof(nulls) / sizeof(*nulls); i++)
		if (!json_is_null(json_object_get(o, nulls[i])))
			fail_msg("%s is not null", nulls[i]);
	json_decref(o);
	assert_int_equal(status_decode(text, &got), 0);
	assert_int_equal(got.exit, -1);
	assert_int_equal(got.signal, 0);
	assert_int_equal(got.submitted, 0);
	free(text);

	/* Exit 0 is a code, not none. */
	st.exit = 0;
	round_trip(&st);
}

static void
test_exact_keys(void **state)
{
	struct status st;
	const char *k;
	json_t *o, *v;
	char *text;
	size_t i;

	(void)state;
	fill(&st);
	text = status_encode(&st);
	assert_non_null(text);
	o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_true(json_is_object(o));
	assert_int_equal(json_object_size(o), NKEYS);
	for (i = 0; i < NKEYS; i++)
		if (json_object_get(o, keys[i]) == NULL)
			fail_msg("key %s missing", keys[i]);
	json_object_foreach(o, k, v) {
		for (i = 0; i < NKEYS && strcmp(k, keys[i]) != 0; i++)
			;
		if (i == NKEYS)
			fail_msg("unknown key %s", k);
	}
	/* The types. */
	assert_true(json_is_string(json_object_get(o, "stage")));
	assert_true(json_is_string(json_object_get(o, "state")));
	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "running");
	assert_true(json_is_integer(json_object_get(o, "attempt")));
	assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 2);
	assert_true(json_is_integer(json_object_get(o, "exit")));
	assert_true(json_is_integer(json_object_get(o, "signal")));
	assert_true(json_is_string(json_object_get(o, "reason")));
	assert_true(json_is_string(json_object_get(o, "progress")));
	assert_true(json_is_integer(json_object_get(o, "priority")));
	assert_true(json_is_string(json_object_get(o, "key")));
	assert_true(json_is_integer(json_object_get(o, "pgid")));
	assert_true(json_is_integer(json_object_get(o, "pstart")));
	assert_true((unsigned long long)json_integer_value(json_object_get(o,
	    "pstart")) == st.pstart);
	json_decref(o);
	free(text);
}

/* What wait4 said, as a record keeps it, as a log line says it. */
static void
test_usage(void **state)
{
	struct rusage ru;
	struct status st, got;
	char buf[128], *text;
	json_t *o, *u;

	(void)state;
	memset(&ru, 0, sizeof(ru));
	ru.ru_utime.tv_sec = 2;
	ru.ru_utime.tv_usec = 4999;	/* 2.004999 s: 2004 ms, cut */
	ru.ru_stime.tv_usec = 10000;
	ru.ru_maxrss = 204800;
	status_init(&st, "a");
	status_usage(&st.use, &ru, 3001);
	assert_int_equal(st.use.known, 1);
	assert_true(st.use.wall_ms == 3001 && st.use.user_ms == 2004 &&
	    st.use.sys_ms == 10 && st.use.maxrss_kb == 204800);
	status_usage_text(buf, sizeof(buf), &st.use);
	assert_string_equal(buf, "user 2.004s, sys 0.010s, maxrss 204800 KiB");

	text = status_encode(&st);
	o = json_loads(text, 0, NULL);
	u = json_object_get(o, "rusage");
	assert_int_equal(json_object_size(u), 4);
	assert_int_equal(json_integer_value(json_object_get(u, "wall_ms")),
	    3001);
	assert_int_equal(json_integer_value(json_object_get(u, "user_ms")),
	    2004);
	assert_int_equal(json_integer_value(json_object_get(u, "sys_ms")), 10);
	assert_int_equal(json_integer_value(json_object_get(u, "maxrss_kb")),
	    204800);
	json_decref(o);
	free(text);

	/* Not measured: null, and read back as not known. */
	st.use.known = 0;
	text = status_encode(&st);
	o = json_loads(text, 0, NULL);
	assert_true(json_is_null(json_object_get(o, "rusage")));
	json_decref(o);
	assert_int_equal(status_decode(text, &got), 0);
	assert_int_equal(got.use.known, 0);
	free(text);

	/* A number below 0 is no measure. */
	assert_int_equal(status_decode("{\"stage\":\"a\",\"state\":\"done\","
	    "\"rusage\":{\"wall_ms\":5,\"user_ms\":-1,\"sys_ms\":0,"
	    "\"maxrss_kb\":9}}", &got), 0);
	assert_int_equal(got.use.known, 0);
}

static void
test_times(void **state)
{
	struct status st;
	json_t *o;
	char *text, buf[32];

	(void)state;
	fill(&st);
	text = status_encode(&st);
	o = json_loads(text, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "submitted")),
	    "2026-11-23T09:39:04Z");
	assert_string_equal(json_string_value(json_object_get(o, "started")),
	    "2026-11-23T09:40:00Z");
	assert_string_equal(json_string_value(json_object_get(o, "finished")),
	    "2000-02-29T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(o, "updated")),
	    "2099-12-31T23:59:59Z");
	json_decref(o);
	free(text);

	fileio_isotime(buf, sizeof(buf), 1);
	assert_string_equal(buf, "1970-01-01T00:00:01Z");

	/* Read back as UTC whatever the local zone. */
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	round_trip(&st);
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	round_trip(&st);
	unsetenv("TZ");
	tzset();
}

static void
test_text_is_ascii_json(void **state)
{
	struct status st;
	char *text;
	const unsigned char *p;

	(void)state;
	fill(&st);
	text = status_encode(&st);
	assert_non_null(text);
	for (p = (const unsigned char *)text; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	assert_non_null(strcasestr(text, "\\u00e9"));
	free(text);
}

static void
decode_fails(const char *text)
{
	struct status st;

	if (status_decode(text, &st) != -1)
		fail_msg("accepted: %s", text);
}

static void
test_decode_rejects(void **state)
{
	(void)state;
	decode_fails("");
	decode_fails("not json");
	decode_fails("{\"stage\": \"a\", \"state\": \"queued\"");
	decode_fails("[\"stage\", \"state\"]");
	decode_fails("\"queued\"");
	decode_fails("42");
	decode_fails("null");
	decode_fails("{}");
	/* Missing or mistyped stage. */
	decode_fails("{\"state\": \"queued\"}");
	decode_fails("{\"stage\": 1, \"state\": \"queued\"}");
	decode_fails("{\"stage\": null, \"state\": \"queued\"}");
	decode_fails("{\"stage\": [\"a\"], \"state\": \"queued\"}");
	/* Missing, mistyped or unknown state. */
	decode_fails("{\"stage\": \"a\"}");
	decode_fails("{\"stage\": \"a\", \"state\": 0}");
	decode_fails("{\"stage\": \"a\", \"state\": null}");
	decode_fails("{\"stage\": \"a\", \"state\": {}}");
	decode_fails("{\"stage\": \"a\", \"state\": \"waiting\"}");
	decode_fails("{\"stage\": \"a\", \"state\": \"QUEUED\"}");
	decode_fails("{\"stage\": \"a\", \"state\": \"\"}");
}

/* Beside stage and state, every field may be missing: it reads as none. */
static void
test_decode_minimal(void **state)
{
	struct status st;

	(void)state;
	memset(&st, 0x5a, sizeof(st));
	assert_int_equal(status_decode("{\"stage\": \"publish\", "
	    "\"state\": \"error\"}", &st), 0);
	assert_string_equal(st.stage, "publish");
	assert_int_equal(st.state, JS_ERROR);
	assert_int_equal(st.attempt, 0);
	assert_int_equal(st.exit, -1);
	assert_int_equal(st.signal, 0);
	assert_string_equal(st.reason, "");
	assert_int_equal(st.submitted, 0);
	assert_int_equal(st.started, 0);
	assert_int_equal(st.finished, 0);
	assert_int_equal(st.updated, 0);
	assert_string_equal(st.progress, "");
	assert_int_equal(st.priority, 0);
	assert_string_equal(st.key, "");
	assert_int_equal(st.pgid, 0);
	assert_true(st.pstart == 0);
}

/* Values out of their range are not carried into the record. */
static void
test_decode_clamps(void **state)
{
	struct status st;

	(void)state;
	assert_int_equal(status_decode("{\"stage\": \"a\", "
	    "\"state\": \"queued\", \"attempt\": -4, \"priority\": 12, "
	    "\"pgid\": -7, "
	    "\"submitted\": \"yesterday\"}", &st), 0);
	assert_int_equal(st.attempt, 0);
	assert_int_equal(st.priority, 0);
	assert_int_equal(st.pgid, 0);
	assert_int_equal(st.submitted, 0);
	assert_int_equal(status_decode("{\"stage\": \"a\", "
	    "\"state\": \"queued\", \"priority\": -1, \"pgid\": 1}", &st), 0);
	assert_int_equal(st.priority, 0);
	assert_int_equal(st.pgid, 1);
}

/* Strings longer than their field are cut, never overrun (ASan watches). */
static void
test_decode_long_strings(void **state)
{
	struct status st;
	char *text, *big;
	size_t n = 5000;

	(void)state;
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	assert_true(asprintf(&text, "{\"stage\": \"%s\", \"state\": \"done\", "
	    "\"reason\": \"%s\", \"progress\": \"%s\", \"key\": \"%s\"}", big,
	    big, big, big) != -1);
	assert_int_equal(status_decode(text, &st), 0);
	assert_int_equal(strlen(st.stage), sizeof(st.stage) - 1);
	assert_int_equal(strlen(st.reason), sizeof(st.reason) - 1);
	assert_int_equal(strlen(st.progress), sizeof(st.progress) - 1);
	assert_int_equal(strlen(st.key), sizeof(st.key) - 1);
	free(text);
	free(big);
}

/* A job entering a stage keeps what is the job's, not what was the run's. */
static void
test_renew(void **state)
{
	struct status st, old;

	(void)state;
	fill(&st);
	old = st;
	status_renew(&st, "publish");
	assert_string_equal(st.stage, "publish");
	assert_int_equal(st.state, JS_QUEUED);
	assert_int_equal(st.attempt, 0);
	assert_int_equal(st.exit, -1);
	assert_int_equal(st.signal, 0);
	assert_string_equal(st.reason, "");
	assert_string_equal(st.progress, "");
	assert_int_equal(st.started, 0);
	assert_int_equal(st.pgid, 0);
	assert_int_equal(st.remote, 0); /* a run's, not the job's */
	assert_string_equal(st.key, old.key);
	assert_string_equal(st.sha256, old.sha256);
	assert_int_equal(st.forced, 1);
	assert_int_equal(st.priority, old.priority);
	assert_int_equal(st.submitted, old.submitted);
}

/*
 * A record spoold did not write is a request: the key, priority and
 * submission time, whether its event is written; nothing of runs, of a
 * hash, of a retry --force.
 */
static void
test_request(void **state)
{
	struct status st, want;

	(void)state;
	fill(&st);
	status_request(&st, "prep");
	status_init(&want, "prep");
	want.state = JS_QUEUED;
	strcpy(want.key, "user-42");
	want.priority = 9;
	want.submitted = 1795426744;
	want.unlogged = 1;
	assert_memory_equal(&st, &want, sizeof(st));
	fill(&st);
	st.state = JS_DEFERRED;
	st.unlogged = 0;
	status_request(&st, "ocr");
	assert_int_equal(st.state, JS_DEFERRED);
	assert_int_equal(st.unlogged, 0);
	assert_int_equal(st.forced, 0);
	assert_int_equal(st.attempt, 0);
	assert_string_equal(st.sha256, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_full),
		cmocka_unit_test(test_round_trip_each_state),
		cmocka_unit_test(test_round_trip_empty),
		cmocka_unit_test(test_exact_keys),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_text_is_ascii_json),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_minimal),
		cmocka_unit_test(test_decode_clamps),
		cmocka_unit_test(test_decode_long_strings),
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_request),
	};

	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
