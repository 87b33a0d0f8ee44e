/*
 * events.c: data/index/events.jsonl, one JSON line per change of a job's
 * state, appended by spoold and by spoolctl run as the spool's owner. Each line is one write(2)
 * to a file open with O_APPEND, so lines of the two never mix. spoold
 * rotates the file past events_max bytes to events.jsonl.1, keeping one.
 * Like metrics.json it is derived: the place of the job file is the truth,
 * and a line that could not be written (a full disk) is lost with a
 * warning, never holding a job back.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"

#define EVENTS "events.jsonl"
#define EVENTS_OLD "events.jsonl.1"

static int events_failing; /* a write failed: warn again only once it works */

/* The time of an event, to the millisecond: 2026-11-23T14:00:00.123Z. */
static void
events_time(char *buf, size_t len, const struct timespec *ts)
{
	struct tm tm;
	char sec[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", sec, ts->tv_nsec / 1000000);
}

static json_t *
events_str(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

/* The counters an event of spoold adds to, by their names in metrics.json. */
static const struct {
	const char *name;
	size_t off;
} counts[] = {
	{"done", offsetof(struct counters, done)},
	{"error", offsetof(struct counters, error)},
	{"retries", offsetof(struct counters, retries)},
	{"timeouts", offsetof(struct counters, timeouts)},
	{"duplicates", offsetof(struct counters, duplicates)},
	{"runs", offsetof(struct counters, runs)},
	{"run_ms_total", offsetof(struct counters, run_ms_total)},
	{"cpu_ms_total", offsetof(struct counters, cpu_ms_total)},
	{"maxrss_kb_max", offsetof(struct counters, maxrss_kb_max)},
};
#define NCOUNTS (sizeof(counts) / sizeof(*counts))

static uint64_t *
events_counter(struct counters *c, size_t i)
{
	return (uint64_t *)((char *)c + counts[i].off);
}

/* {"stage": stage, "runs": 1, ...}: the counters c adds to, not 0. */
static json_t *
events_counts(const char *stage, const struct counters *c)
{
	json_t *o = json_pack("{s:s}", "stage", stage);
	uint64_t v;
	size_t i;

	for (i = 0; i < NCOUNTS && o != NULL; i++)
		if ((v = *events_counter((struct counters *)c, i)) != 0)
			json_object_set_new(o, counts[i].name,
			    json_integer((json_int_t)v));
	return o;
}

/* The line of an event, newline included, to be freed. */
char *
events_encode(const struct timespec *ts, const char *id, const char *event,
    const struct status *st)
{
	return events_encode_counted(ts, id, event, st, NULL, NULL);
}

/*
 * The line of an event of spoold that adds c to the counters of stage
 * (none when c is NULL).
 */
char *
events_encode_counted(const struct timespec *ts, const char *id,
    const char *event, const struct status *st, const char *stage,
    const struct counters *c)
{
	char when[48], *s, *line;
	json_t *o;

	events_time(when, sizeof(when), ts);
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o}",
	    "time", when, "event", event, "id", id, "stage", st->stage,
	    "attempt", st->attempt,
	    "exit", st->exit >= 0 ? json_integer(st->exit) : json_null(),
	    "signal", st->signal > 0 ? json_integer(st->signal) : json_null(),
	    "reason", events_str(st->reason));
	if (o != NULL && c != NULL)
		json_object_set_new(o, "counts", events_counts(stage, c));
	if (o == NULL)
		return NULL;
	if (st->use.known)
		json_object_set_new(o, "rusage", status_usage_json(&st->use));
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return NULL;
	if (asprintf(&line, "%s\n", s) == -1)
		fatal("asprintf");
	free(s);
	return line;
}

/*
 * Opens events.jsonl to append. It is spoold's and its owner's alone
 * (mode 0640): a member of the spool's group may read it, never write it.
 */
static int
events_open(struct spool *sp)
{
	struct stat sb;
	int fd;

	fd = openat(sp->indexfd, EVENTS, O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd != -1 && fstat(fd, &sb) == 0 && sb.st_uid == geteuid() &&
	    (sb.st_mode & 07777) != 0640 && fchmod(fd, 0640) == -1)
		log_warn("chmod index/%s", EVENTS);
	return fd;
}

/* Whether this process may append to events.jsonl. */
int
events_ready(struct spool *sp)
{
	if (sp->evfd == -1)
		sp->evfd = events_open(sp);
	return sp->evfd != -1;
}

/* Appends the event of job id, whose record is st, now. */
void
events_add(struct spool *sp, const char *id, const char *event,
    const struct status *st)
{
	events_add_counted(sp, id, event, st, NULL, NULL);
}

/* ... adding c to the counters of stage, when c is not NULL. */
void
events_add_counted(struct spool *sp, const char *id, const char *event,
    const struct status *st, const char *stage, const struct counters *c)
{
	struct timespec ts;
	char *line;
	ssize_t n;
	size_t len;

	if (sp->evfd == -1 && (sp->evfd = events_open(sp)) == -1) {
		if (!events_failing++)
			log_warn("open index/%s", EVENTS);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((line = events_encode_counted(&ts, id, event, st, stage,
	    c)) == NULL) {
		log_warnx("%s: cannot encode its event", id);
		return;
	}
	len = strlen(line);
	n = write(sp->evfd, line, len);
	free(line);
	if (n == (ssize_t)len) {
		events_failing = 0;
		return;
	}
	if (n >= 0)
		errno = ENOSPC;
	if (!events_failing++)
		log_warn("write index/%s", EVENTS);
	if (n > 0) /* a cut line ends, so that the next one starts whole */
		n = write(sp->evfd, "\n", 1);
}

/*
 * An "unmoved" event, when a move announced by an event that added c to
 * the counters of stage failed: it takes c back.
 */
void
events_undo(struct spool *sp, const char *id, const struct status *st,
    const char *stage, const struct counters *c)
{
	struct counters back = *c;
	size_t i;

	for (i = 0; i < NCOUNTS; i++)
		*events_counter(&back, i) = -*events_counter(&back, i);
	back.maxrss_kb_max = 0;	/* the run's peak stands */
	events_add_counted(sp, id, "unmoved", st, stage, &back);
}

/*
 * Each tick in spoold: a file past max bytes becomes events.jsonl.1, and a
 * file removed by hand is made again.
 */
void
events_tick(struct spool *sp, long max)
{
	struct stat sb;

	if (sp->evfd == -1 || fstat(sp->evfd, &sb) == -1)
		return;
	if (sb.st_nlink > 0 && (max == 0 || sb.st_size < max))
		return;
	if (sb.st_nlink > 0 && renameat(sp->indexfd, EVENTS, sp->indexfd,
	    EVENTS_OLD) == -1) {
		log_warn("rotate index/%s", EVENTS);
		return;
	}
	close(sp->evfd);
	sp->evfd = events_open(sp);
}

/* Where spoold's events end now: the file it appends to, and its size. */
void
events_mark(struct spool *sp, struct evmark *m)
{
	struct stat sb;

	memset(m, 0, sizeof(*m));
	if (events_ready(sp) && fstat(sp->evfd, &sb) == 0) {
		m->ino = sb.st_ino;
		m->off = sb.st_size;
	}
}

/* Fills ev from a line; 0, or -1 when it is no event. */
static int
events_decode(const char *line, struct event *ev)
{
	json_t *o, *v;
	struct tm tm;
	size_t i;

	memset(ev, 0, sizeof(*ev));
	if ((o = json_loads(line, 0, NULL)) == NULL)
		return -1;
	if (!json_is_string(json_object_get(o, "id")) ||
	    !json_is_string(json_object_get(o, "event"))) {
		json_decref(o);
		return -1;
	}
	status_init(&ev->st, "");
	strlcpy(ev->id, json_string_value(json_object_get(o, "id")),
	    sizeof(ev->id));
	strlcpy(ev->event, json_string_value(json_object_get(o, "event")),
	    sizeof(ev->event));
	strlcpy(ev->st.stage, json_string_value(json_object_get(o, "stage")) ?
	    json_string_value(json_object_get(o, "stage")) : "",
	    sizeof(ev->st.stage));
	ev->st.attempt = (int)json_integer_value(json_object_get(o, "attempt"));
	if (json_is_integer(json_object_get(o, "exit")))
		ev->st.exit = (int)json_integer_value(json_object_get(o, "exit"));
	ev->st.signal = (int)json_integer_value(json_object_get(o, "signal"));
	if (json_is_string(json_object_get(o, "reason")))
		strlcpy(ev->st.reason, json_string_value(json_object_get(o,
		    "reason")), sizeof(ev->st.reason));
	memset(&tm, 0, sizeof(tm));
	if (json_is_string(json_object_get(o, "time")) &&
	    strptime(json_string_value(json_object_get(o, "time")),
	    "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
		ev->when = timegm(&tm);
	v = json_object_get(o, "counts");
	if (json_is_string(json_object_get(v, "stage")))
		strlcpy(ev->counted, json_string_value(json_object_get(v,
		    "stage")), sizeof(ev->counted));
	for (i = 0; i < NCOUNTS && ev->counted[0] != '\0'; i++)
		*events_counter(&ev->c, i) = (uint64_t)json_integer_value(
		    json_object_get(v, counts[i].name));
	json_decref(o);
	return 0;
}

/* Each whole event of index/name from offset off, to fn. */
static void
events_read(struct spool *sp, const char *name, off_t off,
    void (*fn)(void *, const struct event *), void *arg)
{
	struct event ev;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int fd;

	if ((fd = openat(sp->indexfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("open index/%s", name);
		return;
	}
	if ((fp = fdopen(fd, "r")) == NULL)
		fatal("fdopen");
	if (fseeko(fp, off, SEEK_SET) == 0)
		while ((n = getline(&line, &cap, fp)) > 0)
			if (line[n - 1] == '\n' &&
			    events_decode(line, &ev) == 0)
				fn(arg, &ev);
	free(line);
	fclose(fp);
}

/*
 * The events appended since mark m, to fn, in order: from m in the file
 * it names (events.jsonl, or events.jsonl.1 once rotated, then all of
 * events.jsonl); all of events.jsonl when m names neither (it was made
 * since). Nothing when m is empty (metrics.json kept no mark).
 */
void
events_replay(struct spool *sp, const struct evmark *m,
    void (*fn)(void *, const struct event *), void *arg)
{
	struct stat sb;

	if (m->ino == 0)
		return;
	if (fstatat(sp->indexfd, EVENTS, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sb.st_ino == m->ino) {
		events_read(sp, EVENTS, m->off, fn, arg);
		return;
	}
	if (fstatat(sp->indexfd, EVENTS_OLD, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sb.st_ino == m->ino)
		events_read(sp, EVENTS_OLD, m->off, fn, arg);
	events_read(sp, EVENTS, 0, fn, arg);
}
