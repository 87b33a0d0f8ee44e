/*
 * test_forecast.c: when each stage's queue should drain and when the
 * pipeline should be empty, and schedule.json as spoold writes it.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "unit_json.h"

/*
 * The forecast: a -> b and c apart. a has 12 jobs, 2 at once, 1 s each; b
 * 2 jobs, 1 at once, 3 s each; c 100 jobs, 10 at once, 0.1 s each.
 */
static void
test_forecast(void **state)
{
	struct mstage ms[3];
	static const struct counters zero;
	struct budget b = {.cpus = 2, .cpus_used = 1, .memory = 0};
	json_t *o, *st;
	char *text;

	(void)state;
	memset(ms, 0, sizeof(ms));
	ms[0] = (struct mstage){.name = "a", .queued = 10, .running = 2,
	    .next = "b", .parallel = 2, .mean_ms = 1000, .c = &zero,
	    .waiting = "waiting for 2 CPUs"};
	ms[1] = (struct mstage){.name = "b", .queued = 1, .running = 1,
	    .parallel = 1, .mean_ms = 3000, .c = &zero};
	ms[2] = (struct mstage){.name = "c", .queued = 100, .parallel = 10,
	    .mean_ms = 100, .c = &zero};
	assert_int_equal(forecast_drain(&ms[0]), 6);
	assert_int_equal(forecast_drain(&ms[1]), 6);
	assert_int_equal(forecast_drain(&ms[2]), 1);
	/* b runs its 2 and the 12 still in a: 14 x 3 s. */
	assert_int_equal(forecast_eta(ms, 3), 42);
	/* Rounded up to the second. */
	ms[2].mean_ms = 101;
	assert_int_equal(forecast_drain(&ms[2]), 2);
	/* A run time not known yet: no forecast for the stage. */
	ms[1].mean_ms = 0;
	assert_int_equal(forecast_drain(&ms[1]), -1);
	assert_int_equal(forecast_eta(ms, 3), 6);
	ms[1].queued = ms[1].running = 0;
	assert_int_equal(forecast_drain(&ms[1]), 0);
	ms[1].mean_ms = 3000;
	text = forecast_encode(&b, 123456789, ms, 3);
	assert_non_null(text);
	o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_int_equal(num(o, "eta_s"), 36);
	assert_int_equal(num(o, "cpus"), 2);
	assert_int_equal(num(o, "cpus_used"), 1);
	assert_int_equal(num(o, "memavailable"), 123456789);
	assert_int_equal(num(json_object_get(json_object_get(o, "stages"),
	    "a"), "parallel"), 2);
	st = json_object_get(o, "stages");
	assert_int_equal(num(json_object_get(st, "a"), "drain_s"), 6);
	assert_int_equal(num(json_object_get(st, "b"), "drain_s"), 0);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(st, "a"), "waiting")), "waiting for 2 CPUs");
	assert_null(json_object_get(json_object_get(st, "b"), "waiting"));
	json_decref(o);
	free(text);
	/* Nothing known: no forecast. */
	ms[0].mean_ms = ms[1].mean_ms = ms[2].mean_ms = 0;
	assert_int_equal(forecast_eta(ms, 3), -1);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forecast),
	};

	return cmocka_run_group_tests_name("forecast", tests, NULL, NULL);
}
