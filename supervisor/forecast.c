/*
 * forecast.c: data/index/schedule.json, what the scheduler sees each tick:
 * the budget of CPUs and memory and what runs took of it, MemAvailable,
 * what each stage's next run waits for, its runs at once and recent run
 * time, and the forecast: when each stage's queue should drain and when
 * the pipeline should be empty. A view for spoolctl and status.html,
 * made every tick and written when it changed; nothing in it survives a
 * restart.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"

#define SCHEDULE_FILE "schedule.json"

/*
 * Seconds until a stage's queue drains: its queued and running jobs times
 * its recent run time, over the runs it has at once; -1 when its run time
 * is not known yet.
 */
long long
forecast_drain(const struct mstage *st)
{
	if (st->mean_ms <= 0)
		return st->queued + st->running == 0 ? 0 : -1;
	return ((long long)(st->queued + st->running) * st->mean_ms /
	    (st->parallel > 0 ? st->parallel : 1) + 999) / 1000;
}

/* Whether the jobs of stage from pass through stage to on their way. */
static int
forecast_upstream(const struct mstage *st, size_t n, size_t from, size_t to)
{
	size_t hops, i;

	for (hops = 0; hops <= n; hops++) {
		if (from == to)
			return 1;
		if (st[from].next == NULL)
			return 0;
		for (i = 0; i < n && strcmp(st[i].name, st[from].next) != 0;
		    i++)
			;
		if (i == n)
			return 0;
		from = i;
	}
	return 0;
}

/*
 * The pipeline's forecast: seconds until its busiest stage has run every
 * job still to pass through it (those queued or running in it or before
 * it), or -1 when no stage with work has a known run time.
 */
long long
forecast_eta(const struct mstage *st, size_t n)
{
	long long eta = -1, t;
	struct mstage s;
	size_t i, j;

	for (i = 0; i < n; i++) {
		s = st[i];
		s.queued = s.running = 0;
		for (j = 0; j < n; j++)
			if (forecast_upstream(st, n, j, i)) {
				s.queued += st[j].queued;
				s.running += st[j].running;
			}
		if ((t = forecast_drain(&s)) > eta)
			eta = t;
	}
	return eta;
}

static json_t *
forecast_stage(const struct mstage *st)
{
	json_t *s;

	s = json_pack("{s:I, s:I}", "parallel", (json_int_t)st->parallel,
	    "mean_ms", (json_int_t)st->mean_ms);
	if (forecast_drain(st) >= 0)
		json_object_set_new(s, "drain_s",
		    json_integer(forecast_drain(st)));
	if (st->waiting != NULL && st->waiting[0] != '\0')
		json_object_set_new(s, "waiting", json_string(st->waiting));
	return s;
}

/*
 * schedule.json's text, ending in a newline, to be freed; avail is
 * MemAvailable, -1 when not known.
 */
char *
forecast_encode(const struct budget *b, long long avail,
    const struct mstage *st, size_t n)
{
	json_t *o, *stages;
	char *text;
	size_t i;

	stages = json_object();
	for (i = 0; i < n; i++)
		json_object_set_new(stages, st[i].name, forecast_stage(&st[i]));
	o = json_pack("{s:i, s:I, s:I, s:I, s:I}", "version", 1,
	    "cpus", (json_int_t)b->cpus,
	    "cpus_used", (json_int_t)b->cpus_used,
	    "memory", (json_int_t)b->memory,
	    "memory_used", (json_int_t)b->memory_used);
	if (avail >= 0)
		json_object_set_new(o, "memavailable", json_integer(avail));
	if (forecast_eta(st, n) >= 0)
		json_object_set_new(o, "eta_s", json_integer(forecast_eta(st,
		    n)));
	json_object_set_new(o, "stages", stages);
	text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return text;
}

/* Writes json as schedule.json unless it says what the last one said. */
int
forecast_write(struct spool *sp, const char *json)
{
	static char *last;

	if (last != NULL && strcmp(last, json) == 0)
		return 0;
	free(last);
	if ((last = strdup(json)) == NULL)
		return -1;
	return metrics_write_file(sp, SCHEDULE_FILE, json);
}
