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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* The line of an event, newline included, to be freed. */
char *
events_encode(const struct timespec *ts, const char *id, const char *event,
    const struct status *st)
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
	if ((line = events_encode(&ts, id, event, st)) == NULL) {
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
