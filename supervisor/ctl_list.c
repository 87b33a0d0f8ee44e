/*
 * ctl_list.c: the verbs that read the spool and change nothing: ls, show,
 * log and stats. It keeps the list of jobs as ls sees them, in the
 * scheduler's order (stage, then running, ready by priority, deferred,
 * done, error, each oldest first), which retry --all, purge and watch
 * walk too, and the ways a job is shown: its name with unprintable bytes
 * escaped, its age, its progress. stats and watch count the jobs of one
 * reading of the folders, and stats reads the counters spoold leaves in
 * index/metrics.json; each says when what it shows was read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"
#include "place.h"
#include "runner.h"
#include "spoolctl.h"

void
ctl_fmt_age(time_t secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(buf, len, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, len, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(buf, len, "%lldh", (long long)secs / 3600);
	else
		snprintf(buf, len, "%lldd", (long long)secs / 86400);
}

struct entry *ents;
size_t nents;
static size_t capents;
static size_t ls_stage;
static int ls_dir;
static int ls_all; /* read every job's record, not the running ones' only */

static int
ls_one(void *arg, const char *id, int type)
{
	struct entry *e;
	struct stat sb;

	(void)arg;
	(void)type;
	if (fstatat(C.sd[ls_stage].fd[ls_dir], id, &sb,
	    AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (nents == capents) {
		capents = capents ? capents * 2 : 256;
		if ((ents = reallocarray(ents, capents, sizeof(*ents))) == NULL)
			fatal("reallocarray");
	}
	e = &ents[nents++];
	memset(e, 0, sizeof(*e));
	e->stage = ls_stage;
	e->dir = ls_dir;
	if ((e->id = strdup(id)) == NULL)
		fatal("strdup");
	e->mtime = sb.st_mtim;
	switch (ls_dir) {
	case DIR_QUEUE:
		e->state = ts_after(sb.st_mtim, real_now()) ? JS_DEFERRED :
		    JS_QUEUED;
		break;
	case DIR_RUNNING: e->state = JS_RUNNING; break;
	case DIR_DONE: e->state = JS_DONE; break;
	default: e->state = JS_ERROR; break;
	}
	e->has_status = (ls_all || ls_dir == DIR_RUNNING) &&
	    spool_status_read(&C.sp, id, &e->st) != -1;
	if (!e->has_status) {
		status_init(&e->st, C.stages[ls_stage]);
		e->st.priority = name_priority(id);
	}
	return 0;
}

/*
 * The jobs in ents in each state, per stage: n[stage * NSTATES + state],
 * and the totals after the stages; to be freed.
 */
long long *
ls_count(void)
{
	long long *n;
	size_t i;

	if ((n = calloc((C.nstages + 1) * NSTATES, sizeof(*n))) == NULL)
		fatal("calloc");
	for (i = 0; i < nents; i++) {
		n[ents[i].stage * NSTATES + ents[i].state]++;
		n[C.nstages * NSTATES + ents[i].state]++;
	}
	return n;
}

/* "as of 14:02:03", the local time t. */
char *
ctl_asof(char *buf, size_t len, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "as of %H:%M:%S", &tm);
	return buf;
}

/* The scheduler's order: stage, then running, ready, deferred, ... */
static int
entry_cmp(const void *va, const void *vb)
{
	const struct entry *a = va, *b = vb;
	int pa = name_priority(a->id), pb = name_priority(b->id);

	if (a->stage != b->stage)
		return a->stage < b->stage ? -1 : 1;
	if (a->state != b->state)
		return place_rank(a->state) - place_rank(b->state);
	if (a->state == JS_QUEUED && pa != pb)
		return pb - pa;
	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
	return strcmp(a->id, b->id);
}

/*
 * The jobs of stage (all for -1) in state (all for -1), in the scheduler's
 * order, with the records of every job (LS_ALL) or of the running ones
 * only (LS_RUNNING: what counts and lists need, a readdir per folder
 * however many jobs are done).
 */
void
ls_collect(long stage, int state, int records)
{
	size_t i;
	int d;

	ls_all = records == LS_ALL;
	for (i = 0; i < C.nstages; i++) {
		if (stage >= 0 && (size_t)stage != i)
			continue;
		for (d = 0; d < NDIRS; d++) {
			ls_stage = i;
			ls_dir = d;
			fileio_scan(C.sd[i].fd[d], ls_one, NULL);
		}
	}
	if (state >= 0) {
		size_t j = 0;
		for (i = 0; i < nents; i++)
			if ((int)ents[i].state == state)
				ents[j++] = ents[i];
			else
				free(ents[i].id);
		nents = j;
	}
	if (nents > 0)
		qsort(ents, nents, sizeof(*ents), entry_cmp);
}

char *
ctl_progress_of(const struct entry *e, char *buf, size_t len)
{
	strlcpy(buf, e->st.progress, len);
	if (e->state == JS_RUNNING)
		spool_progress(&C.sp, e->id, buf, len);
	return buf;
}

/*
 * What ls says of a job beside its state: its progress, or for a job
 * ready in its queue what its stage's next run waits for.
 */
static const char *
entry_note(const struct entry *e, json_t *sched, char *buf, size_t len)
{
	const char *w;

	ctl_progress_of(e, buf, len);
	if (buf[0] == '\0' && e->state == JS_QUEUED &&
	    (w = ctl_waiting(sched, C.stages[e->stage])) != NULL)
		strlcpy(buf, w, len);
	return buf;
}

static json_t *
entry_json(const struct entry *e, time_t now, json_t *sched)
{
	char name[4 * NAME_MAX + 1], prog[PROGRESS_MAX];

	name_shown(name, e->id, sizeof(name));
	ctl_progress_of(e, prog, sizeof(prog));
	return json_pack("{s:s, s:s, s:s, s:i, s:I, s:i, s:s?, s:s?, s:s?}",
	    "id", name, "stage", C.stages[e->stage],
	    "state", status_state_name(e->state), "attempt", e->st.attempt,
	    "age_s", (json_int_t)(now - (e->st.submitted ? e->st.submitted :
	    e->mtime.tv_sec)), "priority", name_priority(e->id),
	    "key", e->st.key[0] ? e->st.key : NULL,
	    "progress", prog[0] ? prog : NULL,
	    "waiting", e->state == JS_QUEUED ? ctl_waiting(sched,
	    C.stages[e->stage]) : NULL);
}

int
ctl_ls(const struct ctl_args *args)
{
	char name[4 * NAME_MAX + 1], age[32], prog[PROGRESS_MAX];
	time_t now = time(NULL);
	json_t *a, *sched;
	size_t i;

	ctl_open(0);
	ls_collect(args->stage != NULL ? (long)stage_arg(args->stage) : -1,
	    args->state, LS_ALL);
	sched = ctl_index_read("schedule.json");
	if (args->json) {
		a = json_array();
		for (i = 0; i < nents; i++)
			json_array_append_new(a, entry_json(&ents[i], now,
			    sched));
		json_decref(sched);
		json_dumpf(a, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(a);
		return EX_OK;
	}
	printf("%-40s %-10s %-8s %7s %5s %-12s %s\n", "ID", "STAGE", "STATE",
	    "ATTEMPT", "AGE", "KEY", "PROGRESS");
	for (i = 0; i < nents; i++) {
		const struct entry *e = &ents[i];
		name_shown(name, e->id, sizeof(name));
		ctl_fmt_age(now - (e->st.submitted ? e->st.submitted :
		    e->mtime.tv_sec), age, sizeof(age));
		printf("%-40s %-10s %-8s %7d %5s %-12s %s\n", name,
		    C.stages[e->stage], status_state_name(e->state),
		    e->st.attempt, age, e->st.key[0] ? e->st.key : "-",
		    entry_note(e, sched, prog, sizeof(prog)));
	}
	json_decref(sched);
	return EX_OK;
}

/* For a job in a queue/: what its stage's next run waits for. */
static void
show_waiting(size_t s, int d)
{
	json_t *sched;
	const char *w;

	if (d != DIR_QUEUE || (sched = ctl_index_read("schedule.json")) == NULL)
		return;
	if ((w = ctl_waiting(sched, C.stages[s])) != NULL)
		printf("waiting:   %s\n", w);
	json_decref(sched);
}

/* The one job a verb names after its options: opens the spool, finds it. */
static void
one_job(const struct ctl_args *a, size_t *s, int *d)
{
	ctl_open(0);
	ctl_find_all(1, a->argv, s, d);
}

/* The last n lines of a job's log, or NULL. */
static char *
log_tail(const char *id, int n)
{
	char name[NAME_MAX + 1], *text, *p;
	struct stat sb;
	off_t from;
	int fd;

	fileio_path(name, sizeof(name), "%s.log", id);
	if ((fd = openat(C.sp.logfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return NULL;
	}
	from = sb.st_size > 65536 ? sb.st_size - 65536 : 0;
	close(fd);
	fileio_path(name, sizeof(name), "%s.log", id);
	if ((fd = openat(C.sp.logfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	lseek(fd, from, SEEK_SET);
	if ((text = calloc(1, 65537)) == NULL)
		fatal("calloc");
	if (read(fd, text, 65536) < 0)
		text[0] = '\0';
	close(fd);
	p = text + strlen(text);
	if (p > text && p[-1] == '\n')
		p--;
	while (p > text && n > 0)
		if (*--p == '\n')
			n--;
	if (*p == '\n')
		p++;
	memmove(text, p, strlen(p) + 1);
	return text;
}

int
ctl_show(const struct ctl_args *a)
{
	const char *id = a->argv[0];
	char when[32], cost[128], wall[32], *tail, *rec;
	struct status st;
	size_t s;
	int d;
	json_t *o;

	one_job(a, &s, &d);
	ctl_status(id, s, &st);
	if (d == DIR_RUNNING)
		spool_progress(&C.sp, id, st.progress,
		    sizeof(st.progress));
	tail = log_tail(id, 10);
	if (a->json) {
		rec = status_encode(&st);
		o = json_pack("{s:s, s:s, s:s, s:o, s:s?}", "id", id,
		    "stage", C.stages[s], "folder", spool_dir_name(d),
		    "status", json_loads(rec, 0, NULL), "log", tail);
		json_dumpf(o, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(o);
		free(rec);
		free(tail);
		return EX_OK;
	}
	printf("id:        %s\nplace:     %s/%s\nattempt:   %d\n", id,
	    C.stages[s], spool_dir_name(d), st.attempt);
	if (st.exit >= 0)
		printf("exit:      %d\n", st.exit);
	if (st.signal > 0)
		printf("signal:    %d (%s)\n", st.signal, strsignal(st.signal));
	if (st.reason[0])
		printf("reason:    %s\n", st.reason);
	show_waiting(s, d);
	if (st.submitted) {
		fileio_isotime(when, sizeof(when), st.submitted);
		printf("submitted: %s\n", when);
	}
	if (st.started) {
		fileio_isotime(when, sizeof(when), st.started);
		printf("started:   %s\n", when);
	}
	if (st.finished) {
		fileio_isotime(when, sizeof(when), st.finished);
		printf("finished:  %s\n", when);
	}
	if (st.use.known) {
		status_usage_text(cost, sizeof(cost), &st.use);
		printf("rusage:    wall %s, %s\n", fileio_seconds(wall,
		    sizeof(wall), st.use.wall_ms), cost);
	}
	printf("priority:  %d\n", st.priority);
	if (st.key[0])
		printf("key:       %s\n", st.key);
	if (st.progress[0])
		printf("progress:  %s\n", st.progress);
	if (st.remote > 0)
		printf("remote:    %s job %lld\n", C.conf != NULL ?
		    C.conf->stages[s]->runner->name : "runner", st.remote);
	if (st.sha256[0])
		printf("sha256:    %s%s\n", st.sha256, st.forced ?
		    " (run as a duplicate: retry --force)" : "");
	if (tail != NULL && tail[0] != '\0')
		printf("log:\n%s%s", tail, tail[strlen(tail) - 1] == '\n' ?
		    "" : "\n");
	free(tail);
	return EX_OK;
}

int
ctl_log(const struct ctl_args *a)
{
	char name[NAME_MAX + 1];
	size_t s;
	int d, fd;
	ssize_t n;
	char buf[8192];

	one_job(a, &s, &d);
	fileio_path(name, sizeof(name), "%s.log", a->argv[0]);
	if ((fd = openat(C.sp.logfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && !a->follow)
			return EX_OK;
		if (errno != ENOENT)
			die(EX_NOINPUT, "log/%s: %s", name, strerror(errno));
	}
	for (;;) {
		if (fd == -1)
			fd = openat(C.sp.logfd, name, O_RDONLY | O_CLOEXEC);
		while (fd != -1 && (n = read(fd, buf, sizeof(buf))) > 0)
			if (fwrite(buf, 1, n, stdout) != (size_t)n)
				return EX_IOERR;
		fflush(stdout);
		if (!a->follow || ctl_find(a->argv[0], &s, &d) == -1 ||
		    d != DIR_RUNNING)
			break;
		poll(NULL, 0, 200);
	}
	while (fd != -1 && (n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	return EX_OK;
}

/* index/<file> (metrics.json, schedule.json) as JSON, or NULL. */
json_t *
ctl_index_read(const char *file)
{
	char *text;
	json_t *o;

	if ((text = fileio_read(C.sp.indexfd, file, 1 << 20)) == NULL)
		return NULL;
	o = json_loads(text, 0, NULL);
	free(text);
	return o;
}

long long
ctl_jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/*
 * What the next run of a stage waits for, by the schedule.json of sched:
 * "waiting for 2 CPUs", "waiting for memory"; or NULL.
 */
const char *
ctl_waiting(json_t *sched, const char *stage)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(sched, "stages"), stage), "waiting"));
}

/*
 * A forecast of schedule.json in words: "12s", "5m"; or unknown when o has
 * no such key.
 */
const char *
ctl_forecast_words(json_t *o, const char *key, const char *unknown,
    char *buf, size_t len)
{
	if (!json_is_integer(json_object_get(o, key)))
		return unknown;
	ctl_fmt_age(ctl_jint(o, key), buf, len);
	return buf;
}

/* stats' last lines: the CPUs taken and the forecast of schedule.json. */
static void
stats_forecast(void)
{
	const char *name, *w;
	char t[32];
	json_t *o, *v;

	if ((o = ctl_index_read("schedule.json")) == NULL)
		return;
	printf("\nforecast: pipeline empty in about %s; %lld of %lld CPUs "
	    "taken\n", ctl_forecast_words(o, "eta_s", "unknown", t,
	    sizeof(t)),
	    ctl_jint(o, "cpus_used"), ctl_jint(o, "cpus"));
	json_object_foreach(json_object_get(o, "stages"), name, v) {
		printf("  %s: queue drains in %s, %lld at once", name,
		    ctl_forecast_words(v, "drain_s", "unknown", t,
		    sizeof(t)),
		    ctl_jint(v, "parallel"));
		if ((w = json_string_value(json_object_get(v, "waiting"))) !=
		    NULL)
			printf("; next run %s", w);
		putchar('\n');
	}
	json_decref(o);
}

/* What the stages' runs took: their wall times, CPU and memory. */
static void
stats_cost(json_t *o)
{
	const char *name;
	char p50[32], p95[32], cpu[32];
	json_t *v;

	printf("\nruns: wall time (p50, p95 of the last 100), CPU time in "
	    "all, largest peak memory\n");
	json_object_foreach(json_object_get(o, "stages"), name, v)
		printf("  %s: p50 %s, p95 %s, cpu %s, maxrss %lld KiB\n", name,
		    fileio_seconds(p50, sizeof(p50), ctl_jint(v, "run_ms_p50")),
		    fileio_seconds(p95, sizeof(p95), ctl_jint(v, "run_ms_p95")),
		    fileio_seconds(cpu, sizeof(cpu), ctl_jint(v,
		    "cpu_ms_total")), ctl_jint(v, "maxrss_kb_max"));
}

/* The time of a metrics.json, its updatedAt; 0 when it has none. */
static time_t
stats_updated(json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "updatedAt"));
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

/*
 * The jobs of each stage, counted in one reading of the folders as ls
 * lists them, beside the counters of metrics.json, each with its time
 * (with json, metrics.json as it is); then the forecast of schedule.json.
 * Of the spool open as C.sp.
 */
int
ctl_stats_show(int json)
{
	json_t *o, *v;
	long long *n, *c;
	char jobs[32], counters[32];
	time_t now;
	size_t i;

	if ((o = ctl_index_read("metrics.json")) == NULL)
		die(EX_NOINPUT, "%s/index/metrics.json: none yet (has spoold "
		    "run on this spool?)", C.spooldir);
	if (json) {
		json_dumpf(o, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(o);
		return EX_OK;
	}
	now = time(NULL);
	ls_collect(-1, -1, LS_RUNNING);
	n = ls_count();
	printf("jobs %s (the folders), counters %s (index/metrics.json)\n",
	    ctl_asof(jobs, sizeof(jobs), now),
	    ctl_asof(counters, sizeof(counters), stats_updated(o)));
	printf("%-12s %5s %7s %8s %7s %8s %8s %8s %8s %8s %8s\n", "STAGE",
	    "SLOTS", "QUEUED", "DEFERRED", "RUNNING", "DONE", "ERROR",
	    "RETRIES", "TIMEOUTS", "RUNS", "AVG_MS");
	for (i = 0; i <= C.nstages; i++) {
		c = n + i * NSTATES;
		v = i < C.nstages ? json_object_get(json_object_get(o,
		    "stages"), C.stages[i]) : o;
		if (i < C.nstages)
			printf("%-12s %5lld", C.stages[i], ctl_jint(v, "slots"));
		else
			printf("%-12s %5s", "total", "");
		printf(" %7lld %8lld %7lld %8lld %8lld %8lld %8lld",
		    c[JS_QUEUED], c[JS_DEFERRED], c[JS_RUNNING], c[JS_DONE],
		    c[JS_ERROR], ctl_jint(v, "retries"), ctl_jint(v, "timeouts"));
		if (i < C.nstages)
			printf(" %8lld %8lld", ctl_jint(v, "runs"),
			    ctl_jint(v, "runs") > 0 ? ctl_jint(v, "run_ms_total") /
			    ctl_jint(v, "runs") : 0);
		putchar('\n');
	}
	free(n);
	stats_cost(o);
	json_decref(o);
	stats_forecast();
	return EX_OK;
}

int
ctl_stats(const struct ctl_args *a)
{
	ctl_open(0);
	return ctl_stats_show(a->json);
}
