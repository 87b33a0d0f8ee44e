/*
 * metrics.c: data/index/metrics.json, built from counters kept in memory
 * (never from listing folders) and replaced atomically every tick, with
 * the mark of the events.jsonl they include, and the same numbers in
 * Prometheus's text format in data/index/metrics.prom. The counters in
 * metrics.json are read back at start-up, and the events after the mark
 * added, so they survive restarts exactly.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"

#define METRICS_FILE "metrics.json"
#define PROM_FILE "metrics.prom"

static json_t *
metrics_counters(json_t *o, const struct counters *c, int per_stage)
{
	json_object_set_new(o, "done", json_integer((json_int_t)c->done));
	json_object_set_new(o, "error", json_integer((json_int_t)c->error));
	json_object_set_new(o, "retries", json_integer((json_int_t)c->retries));
	json_object_set_new(o, "timeouts",
	    json_integer((json_int_t)c->timeouts));
	if (per_stage) {
		json_object_set_new(o, "runs", json_integer((json_int_t)c->runs));
		json_object_set_new(o, "run_ms_total",
		    json_integer((json_int_t)c->run_ms_total));
		json_object_set_new(o, "cpu_ms_total",
		    json_integer((json_int_t)c->cpu_ms_total));
		json_object_set_new(o, "maxrss_kb_max",
		    json_integer((json_int_t)c->maxrss_kb_max));
	} else
		json_object_set_new(o, "duplicates",
		    json_integer((json_int_t)c->duplicates));
	return o;
}

/* Adds the counters of c to those of to. */
void
metrics_add(struct counters *to, const struct counters *c)
{
	to->done += c->done;
	to->error += c->error;
	to->retries += c->retries;
	to->timeouts += c->timeouts;
	to->duplicates += c->duplicates;
	to->runs += c->runs;
	to->run_ms_total += c->run_ms_total;
	to->cpu_ms_total += c->cpu_ms_total;
	if (c->maxrss_kb_max > to->maxrss_kb_max)	/* a peak, not a sum */
		to->maxrss_kb_max = c->maxrss_kb_max;
}

/* The stages' slots and what is queued, running and deferred, summed. */
struct mstage
metrics_sum(const struct mstage *st, size_t n)
{
	struct mstage sum = {.name = "total"};
	size_t i;

	for (i = 0; i < n; i++) {
		sum.slots += st[i].slots;
		sum.queued += st[i].queued;
		sum.running += st[i].running;
		sum.deferred += st[i].deferred;
	}
	return sum;
}

/* A run's cost, added to the counters of its stage. */
void
metrics_account(struct counters *c, const struct usage *u)
{
	if (!u->known)
		return;
	c->cpu_ms_total += (uint64_t)(u->user_ms + u->sys_ms);
	if ((uint64_t)u->maxrss_kb > c->maxrss_kb_max)
		c->maxrss_kb_max = (uint64_t)u->maxrss_kb;
}

/* A run's wall time among the last RECENT_RUNS of its stage. */
void
metrics_recent_add(struct recent *r, long long ms)
{
	r->ms[r->next] = ms;
	r->next = (r->next + 1) % RECENT_RUNS;
	if (r->n < RECENT_RUNS)
		r->n++;
}

static int
metrics_cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/*
 * The pct-th percentile of the recent run times by the nearest rank: the
 * smallest time that at least pct % of them do not exceed; 0 when none.
 */
long long
metrics_percentile(const struct recent *r, int pct)
{
	long long v[RECENT_RUNS];
	size_t rank;

	if (r == NULL || r->n == 0)
		return 0;
	memcpy(v, r->ms, r->n * sizeof(*v));
	qsort(v, r->n, sizeof(*v), metrics_cmp);
	rank = (r->n * (size_t)pct + 99) / 100;
	return v[rank > 0 ? rank - 1 : 0];
}

/* The metrics as a JSON object. */
static json_t *
metrics_object(time_t now, pid_t pid, time_t started,
    const struct counters *total, const struct mstage *st, size_t n,
    const struct evmark *m)
{
	struct mstage sum = metrics_sum(st, n);
	json_t *o, *stages, *s;
	char when[32];
	size_t i;

	stages = json_object();
	for (i = 0; i < n; i++) {
		s = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
		    "slots", (json_int_t)st[i].slots,
		    "queued", (json_int_t)st[i].queued,
		    "running", (json_int_t)st[i].running,
		    "deferred", (json_int_t)st[i].deferred,
		    "run_ms_p50", (json_int_t)metrics_percentile(st[i].recent,
		    50),
		    "run_ms_p95", (json_int_t)metrics_percentile(st[i].recent,
		    95));
		json_object_set_new(stages, st[i].name,
		    metrics_counters(s, st[i].c, 1));
	}
	fileio_isotime(when, sizeof(when), now);
	o = json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I}",
	    "version", 1, "updatedAt", when, "pid", (json_int_t)pid,
	    "uptime_s", (json_int_t)(now - started),
	    "queued", (json_int_t)sum.queued, "running", (json_int_t)sum.running,
	    "deferred", (json_int_t)sum.deferred);
	metrics_counters(o, total, 0);
	json_object_set_new(o, "stages", stages);
	if (m != NULL && m->ino != 0)
		json_object_set_new(o, "events", json_pack("{s:I, s:I}",
		    "inode", (json_int_t)m->ino, "offset", (json_int_t)m->off));
	return o;
}

/* The metrics as a JSON text ending in a newline, to be freed. */
char *
metrics_encode(time_t now, pid_t pid, time_t started,
    const struct counters *total, const struct mstage *st, size_t n,
    const struct evmark *m)
{
	json_t *o;
	char *text;

	o = metrics_object(now, pid, started, total, st, n, m);
	text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return text;
}

/*
 * metrics.prom: every number of metrics.json as a sample of Prometheus's
 * text exposition format, for node_exporter's textfile collector. A row
 * of the table is a sample, by stage or of the spool; a row with a type
 * starts a family (its HELP and TYPE lines), and the rows after it with
 * none belong to it. Times are in seconds and sizes in bytes.
 */
enum { P_ONE, P_MS, P_KIB };	/* the JSON number's unit */

static const struct prow {
	const char *name, *type, *help;
	int stage;		/* per stage, or of the spool */
	const char *key;	/* in metrics.json (or "up") */
	const char *label;	/* more labels, or NULL */
	int unit;
} prows[] = {
	{"spoold_up", "gauge", "1 while spoold runs; 0 once it stopped",
	    0, "up", NULL, P_ONE},
	{"spoold_metrics_version", "gauge", "the version of metrics.json's "
	    "format", 0, "version", NULL, P_ONE},
	{"spoold_pid", "gauge", "the pid of spoold", 0, "pid", NULL, P_ONE},
	{"spoold_uptime_seconds", "gauge", "seconds since spoold started",
	    0, "uptime_s", NULL, P_ONE},
	{"spoold_spool_jobs", "gauge", "jobs queued, running and deferred in "
	    "the whole spool", 0, "queued", "state=\"queued\"", P_ONE},
	{"spoold_spool_jobs", NULL, NULL, 0, "running", "state=\"running\"",
	    P_ONE},
	{"spoold_spool_jobs", NULL, NULL, 0, "deferred",
	    "state=\"deferred\"", P_ONE},
	{"spoold_spool_done_total", "counter", "jobs that finished the "
	    "pipeline, in every stage ever configured", 0, "done", NULL, P_ONE},
	{"spoold_spool_error_total", "counter", "jobs sent to error/, in "
	    "every stage ever configured", 0, "error", NULL, P_ONE},
	{"spoold_spool_retries_total", "counter", "failed runs followed by a "
	    "retry, in every stage ever configured", 0, "retries", NULL, P_ONE},
	{"spoold_spool_timeouts_total", "counter", "runs stopped for a "
	    "timeout or a missed heartbeat, in every stage ever configured",
	    0, "timeouts", NULL, P_ONE},
	{"spoold_duplicates_total", "counter", "jobs sent to error/ as "
	    "duplicates of an earlier one", 0, "duplicates", NULL, P_ONE},
	{"spoold_slots", "gauge", "the stage's slots", 1, "slots", NULL,
	    P_ONE},
	{"spoold_jobs", "gauge", "the stage's jobs queued, running and "
	    "deferred", 1, "queued", "state=\"queued\"", P_ONE},
	{"spoold_jobs", NULL, NULL, 1, "running", "state=\"running\"",
	    P_ONE},
	{"spoold_jobs", NULL, NULL, 1, "deferred", "state=\"deferred\"",
	    P_ONE},
	{"spoold_done_total", "counter", "jobs that finished the pipeline at "
	    "the stage", 1, "done", NULL, P_ONE},
	{"spoold_error_total", "counter", "jobs a run of the stage sent to "
	    "error/", 1, "error", NULL, P_ONE},
	{"spoold_retries_total", "counter", "failed runs of the stage "
	    "followed by a retry", 1, "retries", NULL, P_ONE},
	{"spoold_timeouts_total", "counter", "runs of the stage stopped for a "
	    "timeout or a missed heartbeat", 1, "timeouts", NULL, P_ONE},
	{"spoold_runs_total", "counter", "runs of the stage that ended", 1,
	    "runs", NULL, P_ONE},
	{"spoold_run_seconds", "summary", "wall time of the stage's runs; "
	    "quantiles of its last 100 since spoold started", 1, "run_ms_p50",
	    "quantile=\"0.5\"", P_MS},
	{"spoold_run_seconds", NULL, NULL, 1, "run_ms_p95",
	    "quantile=\"0.95\"", P_MS},
	{"spoold_run_seconds_sum", NULL, NULL, 1, "run_ms_total", NULL, P_MS},
	{"spoold_run_seconds_count", NULL, NULL, 1, "runs", NULL, P_ONE},
	{"spoold_cpu_seconds_total", "counter", "user and system CPU time of "
	    "the stage's runs", 1, "cpu_ms_total", NULL, P_MS},
	{"spoold_maxrss_bytes", "gauge", "the largest peak resident set of a "
	    "run of the stage", 1, "maxrss_kb_max", NULL, P_KIB},
};

/* A label's value as the format has it: \\, \" and \n escaped. */
static void
prom_label(FILE *f, const char *v)
{
	for (; *v != '\0'; v++)
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
}

/* One sample of row p: stage is the stage's name, or NULL. */
static void
prom_sample(FILE *f, const struct prow *p, const char *stage, json_t *o)
{
	json_int_t v = json_integer_value(json_object_get(o, p->key));

	fputs(p->name, f);
	if (stage != NULL || p->label != NULL) {
		fputc('{', f);
		if (stage != NULL) {
			fputs("stage=\"", f);
			prom_label(f, stage);
			fprintf(f, "\"%s", p->label != NULL ? "," : "");
		}
		fprintf(f, "%s}", p->label != NULL ? p->label : "");
	}
	if (p->unit == P_MS)
		fprintf(f, " %lld.%03lld\n", (long long)v / 1000,
		    (long long)v % 1000);
	else
		fprintf(f, " %lld\n", (long long)v * (p->unit == P_KIB ?
		    1024 : 1));
}

/*
 * The metrics in Prometheus's text format, to be freed; up is 0 in the
 * last one spoold writes as it stops.
 */
char *
metrics_prom(time_t now, pid_t pid, time_t started, int up,
    const struct counters *total, const struct mstage *st, size_t n)
{
	const struct prow *p;
	const char *name;
	json_t *o, *v;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	o = metrics_object(now, pid, started, total, st, n, NULL);
	json_object_set_new(o, "up", json_integer(up));
	for (p = prows; p < prows + sizeof(prows) / sizeof(*prows); p++) {
		if (p->type != NULL)
			fprintf(f, "# HELP %s %s.\n# TYPE %s %s\n", p->name,
			    p->help, p->name, p->type);
		if (!p->stage)
			prom_sample(f, p, NULL, o);
		else
			json_object_foreach(json_object_get(o, "stages"), name,
			    v)
				prom_sample(f, p, name, v);
	}
	json_decref(o);
	if (fclose(f) == EOF)
		fatal("open_memstream");
	return text;
}

static uint64_t
metrics_get(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

static void
metrics_read_counters(json_t *o, struct counters *c)
{
	c->done = metrics_get(o, "done");
	c->error = metrics_get(o, "error");
	c->retries = metrics_get(o, "retries");
	c->timeouts = metrics_get(o, "timeouts");
	c->duplicates = metrics_get(o, "duplicates");
	c->runs = metrics_get(o, "runs");
	c->run_ms_total = metrics_get(o, "run_ms_total");
	c->cpu_ms_total = metrics_get(o, "cpu_ms_total");
	c->maxrss_kb_max = metrics_get(o, "maxrss_kb_max");
}

/*
 * Reads the counters of the last metrics.json: the totals, each stage's
 * through fn, and the mark of the events they include. 0, or -1 when
 * there is none to read.
 */
int
metrics_load(struct spool *sp, struct counters *total, struct evmark *m,
    int (*fn)(void *, const char *, const struct counters *), void *arg)
{
	struct counters c;
	const char *name;
	json_t *o, *v;
	char *text;

	memset(total, 0, sizeof(*total));
	memset(m, 0, sizeof(*m));
	if ((text = fileio_read(sp->indexfd, METRICS_FILE,
	    1024 * 1024)) == NULL)
		return -1;
	o = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(o)) {
		log_warnx("index/%s: not JSON; counters start at 0",
		    METRICS_FILE);
		json_decref(o);
		return -1;
	}
	metrics_read_counters(o, total);
	v = json_object_get(o, "events");
	m->ino = (ino_t)metrics_get(v, "inode");
	m->off = (off_t)metrics_get(v, "offset");
	json_object_foreach(json_object_get(o, "stages"), name, v) {
		memset(&c, 0, sizeof(c));
		metrics_read_counters(v, &c);
		fn(arg, name, &c);
	}
	json_decref(o);
	return 0;
}

int
metrics_write(struct spool *sp, const char *json)
{
	return metrics_write_file(sp, METRICS_FILE, json);
}

int
metrics_write_prom(struct spool *sp, const char *text)
{
	return spool_write(sp, sp->indexfd, PROM_FILE, text, strlen(text), 0);
}

/* A JSON text as the line of index/<file>, replaced atomically. */
int
metrics_write_file(struct spool *sp, const char *file, const char *json)
{
	char *text;
	int r;

	text = fileio_line(strdup(json));
	r = spool_write(sp, sp->indexfd, file, text, strlen(text), 0);
	free(text);
	return r;
}
