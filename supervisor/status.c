/*
 * status.c: the job's status record, one JSON object in
 * work/<id>/status.json. It is derived data: the folder a job file sits in
 * is the truth, and a record that cannot be read is taken as none.
 */
#include <sys/resource.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "spoold.h"

static const char *states[] = {"queued", "deferred", "running", "done",
	"error"};

const char *
status_state_name(enum jstate s)
{
	return states[s];
}

int
status_state_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(*states); i++)
		if (strcmp(name, states[i]) == 0)
			return (int)i;
	return -1;
}

void
status_init(struct status *st, const char *stage)
{
	memset(st, 0, sizeof(*st));
	strlcpy(st->stage, stage, sizeof(st->stage));
	st->exit = -1;
}

/*
 * A new record for a job entering a stage: what belongs to the job, not
 * to a run, carries (its key, priority, submission time and content's
 * hash, and a retry --force).
 */
void
status_renew(struct status *st, const char *stage)
{
	struct status old = *st;

	status_init(st, stage);
	memcpy(st->key, old.key, sizeof(st->key));
	memcpy(st->sha256, old.sha256, sizeof(st->sha256));
	st->forced = old.forced;
	st->priority = old.priority;
	st->submitted = old.submitted;
}

/*
 * What spoold takes of a record it did not write (a member's submission,
 * or a record a child replaced): the job's key, priority and submission
 * time, and whether its submission is in events.jsonl yet; nothing of
 * its runs, of its content's hash or of a retry --force.
 */
void
status_request(struct status *st, const char *stage)
{
	struct status old = *st;

	status_init(st, stage);
	st->state = old.state == JS_DEFERRED ? JS_DEFERRED : JS_QUEUED;
	memcpy(st->key, old.key, sizeof(st->key));
	st->priority = old.priority;
	st->submitted = old.submitted;
	st->unlogged = old.unlogged;
}

static json_t *
status_time(time_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	fileio_isotime(buf, sizeof(buf), t);
	return json_string(buf);
}

static json_t *
status_str(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/*
 * What a run cost, from what wait4(2) said of its process: ru_maxrss is
 * the largest resident set of that process or of a descendant it waited
 * for, in KiB on Linux.
 */
void
status_usage(struct usage *u, const struct rusage *ru, long long wall_ms)
{
	u->wall_ms = wall_ms;
	u->user_ms = ru->ru_utime.tv_sec * 1000LL + ru->ru_utime.tv_usec / 1000;
	u->sys_ms = ru->ru_stime.tv_sec * 1000LL + ru->ru_stime.tv_usec / 1000;
	u->maxrss_kb = ru->ru_maxrss;
	u->known = 1;
}

/* The usage in words for a log line: "user 1.990s, sys 0.010s, ...". */
void
status_usage_text(char *buf, size_t len, const struct usage *u)
{
	char user[32], sys[32];

	snprintf(buf, len, "user %s, sys %s, maxrss %lld KiB",
	    fileio_seconds(user, sizeof(user), u->user_ms),
	    fileio_seconds(sys, sizeof(sys), u->sys_ms), u->maxrss_kb);
}

/* The usage as a JSON object, or null when it is not known. */
json_t *
status_usage_json(const struct usage *u)
{
	if (!u->known)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I}", "wall_ms",
	    (json_int_t)u->wall_ms, "user_ms", (json_int_t)u->user_ms,
	    "sys_ms", (json_int_t)u->sys_ms, "maxrss_kb",
	    (json_int_t)u->maxrss_kb);
}

static void
status_usage_read(struct usage *u, json_t *o)
{
	json_int_t v[4];
	const char *keys[] = {"wall_ms", "user_ms", "sys_ms", "maxrss_kb"};
	size_t i;

	memset(u, 0, sizeof(*u));
	if (!json_is_object(o))
		return;
	for (i = 0; i < 4; i++)
		if ((v[i] = json_integer_value(json_object_get(o,
		    keys[i]))) < 0)
			return;
	u->wall_ms = v[0];
	u->user_ms = v[1];
	u->sys_ms = v[2];
	u->maxrss_kb = v[3];
	u->known = 1;
}

/* The record as a JSON text ending in a newline, to be freed. */
char *
status_encode(const struct status *st)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:o, s:o, s:i, s:o, s:I, s:I, s:o, s:b, s:o, s:b, s:i, s:o}",
	    "stage", st->stage, "state", states[st->state],
	    "attempt", st->attempt,
	    "exit", st->exit >= 0 ? json_integer(st->exit) : json_null(),
	    "signal", st->signal > 0 ? json_integer(st->signal) : json_null(),
	    "reason", status_str(st->reason),
	    "submitted", status_time(st->submitted),
	    "started", status_time(st->started),
	    "finished", status_time(st->finished),
	    "updated", status_time(st->updated),
	    "progress", status_str(st->progress),
	    "priority", st->priority, "key", status_str(st->key),
	    "pgid", (json_int_t)st->pgid, "pstart", (json_int_t)st->pstart,
	    "sha256", status_str(st->sha256), "forced", st->forced,
	    "remote", st->remote > 0 ? json_integer(st->remote) : json_null(),
	    "logged", !st->unlogged, "lost", st->lost,
	    "rusage", status_usage_json(&st->use));
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

static time_t
status_parse_time(json_t *v)
{
	struct tm tm;
	const char *s = json_string_value(v);

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

/*
 * Copies a JSON string into a field. A string too long for it is cut
 * before the UTF-8 sequence the cut would split, so that the field can be
 * encoded again.
 */
static void
status_copy(char *dst, size_t len, json_t *v)
{
	const char *s = json_string_value(v);
	size_t n, i;

	if (strlcpy(dst, s != NULL ? s : "", len) < len)
		return;
	n = strlen(dst);
	for (i = n; i > 0 && n - i < 3 &&
	    ((unsigned char)dst[i - 1] & 0xc0) == 0x80; i--)
		;
	if (i > 0 && ((unsigned char)dst[i - 1] & 0xc0) == 0xc0 &&
	    n - (i - 1) < ((unsigned char)dst[i - 1] >= 0xf0 ? 4u :
	    (unsigned char)dst[i - 1] >= 0xe0 ? 3u : 2u))
		dst[i - 1] = '\0';
}

/* Fills st from a JSON text; 0, or -1 when it is not a status record. */
int
status_decode(const char *text, struct status *st)
{
	json_t *o;
	json_int_t pgid;
	int state;

	if ((o = json_loads(text, 0, NULL)) == NULL)
		return -1;
	if (!json_is_object(o) || !json_is_string(json_object_get(o, "stage")) ||
	    !json_is_string(json_object_get(o, "state")) ||
	    (state = status_state_parse(json_string_value(
	    json_object_get(o, "state")))) == -1) {
		json_decref(o);
		return -1;
	}
	status_init(st, "");
	status_copy(st->stage, sizeof(st->stage), json_object_get(o, "stage"));
	st->state = state;
	st->attempt = (int)json_integer_value(json_object_get(o, "attempt"));
	if (json_is_integer(json_object_get(o, "exit")))
		st->exit = (int)json_integer_value(json_object_get(o, "exit"));
	st->signal = (int)json_integer_value(json_object_get(o, "signal"));
	status_copy(st->reason, sizeof(st->reason), json_object_get(o, "reason"));
	st->submitted = status_parse_time(json_object_get(o, "submitted"));
	st->started = status_parse_time(json_object_get(o, "started"));
	st->finished = status_parse_time(json_object_get(o, "finished"));
	st->updated = status_parse_time(json_object_get(o, "updated"));
	status_copy(st->progress, sizeof(st->progress),
	    json_object_get(o, "progress"));
	st->priority = (int)json_integer_value(json_object_get(o, "priority"));
	status_copy(st->key, sizeof(st->key), json_object_get(o, "key"));
	status_copy(st->sha256, sizeof(st->sha256), json_object_get(o, "sha256"));
	st->forced = json_is_true(json_object_get(o, "forced"));
	st->unlogged = json_is_false(json_object_get(o, "logged"));
	pgid = json_integer_value(json_object_get(o, "pgid"));
	st->pgid = pgid > 0 && pgid < INT32_MAX ? (pid_t)pgid : 0;
	st->pstart = (unsigned long long)json_integer_value(
	    json_object_get(o, "pstart"));
	st->remote = json_integer_value(json_object_get(o, "remote"));
	if (st->remote < 0)
		st->remote = 0;
	st->lost = (int)json_integer_value(json_object_get(o, "lost"));
	if (st->lost < 0)
		st->lost = 0;
	status_usage_read(&st->use, json_object_get(o, "rusage"));
	if (st->attempt < 0)
		st->attempt = 0;
	if (st->exit < 0)
		st->exit = -1;
	if (st->signal < 0)
		st->signal = 0;
	if (st->priority < 0 || st->priority > 9)
		st->priority = 0;
	json_decref(o);
	return 0;
}
