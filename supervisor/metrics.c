/*
 * metrics.c: data/index/metrics.json, built from counters kept in memory
 * (never from listing folders) and replaced atomically every tick, with
 * the mark of the events.jsonl they include. The counters in it are read
 * back at start-up, and the events after the mark added, so they survive
 * restarts exactly.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"

#define METRICS_FILE "metrics.json"

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

/* The metrics as a JSON text ending in a newline, to be freed. */
char *
metrics_encode(time_t now, pid_t pid, time_t started,
    const struct counters *total, const struct mstage *st, size_t n,
    const struct evmark *m)
{
	struct mstage sum = metrics_sum(st, n);
	json_t *o, *stages, *s;
	char when[32], *text;
	size_t i;

	stages = json_object();
	for (i = 0; i < n; i++) {
		s = json_pack("{s:I, s:I, s:I, s:I}",
		    "slots", (json_int_t)st[i].slots,
		    "queued", (json_int_t)st[i].queued,
		    "running", (json_int_t)st[i].running,
		    "deferred", (json_int_t)st[i].deferred);
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
	text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
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
