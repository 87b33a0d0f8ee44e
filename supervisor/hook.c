/*
 * hook.c: the commands a stage runs when a job reaches a state (on_done,
 * on_retry, on_error). A hook is started like a stage's child (child.c:
 * argv with placeholders, the SPOOL_* environment and SPOOL_EVENT and
 * SPOOL_REASON, its output to the job's log, its own process group, the
 * stage's user and limits), never waited for: the loop reaps it with the
 * others, and stops it at hook_timeout. At most HOOK_MAX run at once;
 * more wait their turn in order. Its exit status is logged, and changes
 * nothing of the job.
 */
#include <sys/queue.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spoold.h"

#define HOOK_MAX 32

struct hook {
	TAILQ_ENTRY(hook) entry;
	char *stage, *event, *id, *job, *reason;
	int attempt;
	pid_t pid;		/* 0 while it waits its turn */
	struct timespec t0;	/* monotonic start */
	struct timespec stopat;	/* SIGTERM at its timeout, then SIGKILL */
	int timed;		/* stopat holds: it has a timeout, or stops */
	int signalled;		/* 0, SIGTERM or SIGKILL: sent last */
	int logfd;
};

static TAILQ_HEAD(, hook) hooks = TAILQ_HEAD_INITIALIZER(hooks);
static size_t nrunning;

static void hook_reaped(void *, int);

static char *
hook_strdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

static void
hook_free(struct hook *h)
{
	TAILQ_REMOVE(&hooks, h, entry);
	free(h->stage);
	free(h->event);
	free(h->id);
	free(h->job);
	free(h->reason);
	free(h);
}

/* The command of event ("done", "retry", "error") in sc, or NULL. */
static char **
hook_command(const struct stconf *sc, const char *event)
{
	if (strcmp(event, "done") == 0)
		return sc->on_done;
	if (strcmp(event, "retry") == 0)
		return sc->on_retry;
	if (strcmp(event, "error") == 0)
		return sc->on_error;
	return NULL;
}

/*
 * Job id, whose file is now at job, reached event at stage sc: its hook,
 * if the stage has one, waits its turn.
 */
void
hook_add(const struct stconf *sc, const char *event, const char *id,
    const char *job, const struct status *st)
{
	struct hook *h;

	if (hook_command(sc, event) == NULL)
		return;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		fatal("calloc");
	h->stage = hook_strdup(sc->name);
	h->event = hook_strdup(event);
	h->id = hook_strdup(id);
	h->job = hook_strdup(job);
	h->reason = hook_strdup(st->reason);
	h->attempt = st->attempt;
	h->logfd = -1;
	TAILQ_INSERT_TAIL(&hooks, h, entry);
}

/* Starts hook h with the stage's config in force now. */
static int
hook_spawn(struct hook *h, struct spool *sp, const struct stconf *sc,
    const char *spooldir)
{
	char work[PATH_MAX], hb[PATH_MAX], run[64];
	struct spawn sw;

	snprintf(run, sizeof(run), "hook on_%s", h->event);
	fileio_path(work, sizeof(work), "%s/work/%s", spooldir, h->id);
	fileio_path(hb, sizeof(hb), "%s/heartbeat", work);
	if ((h->logfd = output_log_open(sp, h->id)) == -1)
		return -1;
	output_header(h->logfd, h->stage, run, time(NULL));
	sw = (struct spawn){.sc = sc, .spooldir = spooldir, .id = h->id,
	    .job = h->job, .workdir = work, .heartbeat = hb,
	    .attempt = h->attempt, .logfd = h->logfd,
	    .command = hook_command(sc, h->event), .event = h->event,
	    .reason = h->reason, .workfd = spool_job_open(sp, h->id)};
	h->t0 = mono_now();
	h->pid = child_spawn(&sw);
	if (sw.workfd != -1)
		close(sw.workfd);
	if (h->pid == -1) {
		log_warn("%s: %s: %s", h->stage, h->id, run);
		output_footer(h->logfd, h->stage, run, "could not start", 0,
		    NULL);
		close(h->logfd);
		return -1;
	}
	pids_add(h->pid, PID_HOOK, hook_reaped, h);
	h->stopat = ms_after(h->t0, sc->hook_timeout * 1000LL);
	h->timed = sc->hook_timeout > 0;
	nrunning++;
	return 0;
}

/*
 * Starts the hooks that wait, while fewer than HOOK_MAX run. find gives a
 * stage's config in force; a hook of a stage removed since is dropped.
 */
void
hook_start(struct spool *sp, const char *spooldir,
    const struct stconf *(*find)(const char *))
{
	const struct stconf *sc;
	struct hook *h, *next;

	for (h = TAILQ_FIRST(&hooks); h != NULL && nrunning < HOOK_MAX;
	    h = next) {
		next = TAILQ_NEXT(h, entry);
		if (h->pid != 0)
			continue;
		if ((sc = find(h->stage)) == NULL ||
		    hook_command(sc, h->event) == NULL ||
		    hook_spawn(h, sp, sc, spooldir) == -1)
			hook_free(h);
	}
}

/* Hook h was reaped: its end is logged. */
static void
hook_reaped(void *arg, int ws)
{
	struct hook *h = arg;
	char how[128], run[64];
	long long ms;

	ms = ms_between(h->t0, mono_now());
	child_signal(h->pid, SIGKILL); /* what it left in its group */
	child_describe(ws, how, sizeof(how));
	snprintf(run, sizeof(run), "hook on_%s", h->event);
	output_footer(h->logfd, h->stage, run, how, ms, NULL);
	close(h->logfd);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		log_warnx("%s: %s: %s %s", h->stage, h->id, run, how);
	nrunning--;
	hook_free(h);
}

/* Stops the hooks past their timeout: SIGTERM, then SIGKILL after grace. */
void
hook_stale(struct timespec now, long grace)
{
	struct hook *h;

	TAILQ_FOREACH(h, &hooks, entry) {
		if (h->pid == 0 || !h->timed || h->signalled == SIGKILL ||
		    ms_between(h->stopat, now) < 0)
			continue;
		h->signalled = h->signalled == 0 ? SIGTERM : SIGKILL;
		if (h->signalled == SIGTERM)
			log_warnx("%s: %s: hook on_%s: timeout; stopping it",
			    h->stage, h->id, h->event);
		child_signal(h->pid, h->signalled);
		h->stopat = ms_after(now, grace * 1000LL);
	}
}

/* The next time hook_stale has work: 1 and *at, or 0 when none. */
int
hook_next(struct timespec *at)
{
	struct hook *h;
	int any = 0;

	TAILQ_FOREACH(h, &hooks, entry)
		if (h->pid != 0 && h->timed && h->signalled != SIGKILL &&
		    (!any || ms_between(h->stopat, *at) > 0)) {
			*at = h->stopat;
			any = 1;
		}
	return any;
}

/* Whether a process works for a hook that still runs, by its SPOOL_JOB. */
int
hook_ours(const char *job)
{
	struct hook *h;

	TAILQ_FOREACH(h, &hooks, entry)
		if (h->pid != 0 && strcmp(h->job, job) == 0)
			return 1;
	return 0;
}

/* Hooks running or waiting. */
size_t
hook_count(void)
{
	size_t n = 0;
	struct hook *h;

	TAILQ_FOREACH(h, &hooks, entry)
		n++;
	return n;
}

/*
 * spoold stops: the hooks that wait are dropped, and those that run are
 * stopped as at their timeout, now.
 */
void
hook_stop_all(long grace)
{
	struct timespec now = mono_now();
	struct hook *h, *next;

	for (h = TAILQ_FIRST(&hooks); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (h->pid == 0) {
			log_warnx("%s: %s: hook on_%s not run: stopping",
			    h->stage, h->id, h->event);
			hook_free(h);
		} else if (h->signalled == 0) {
			h->stopat = now;
			h->timed = 1;
		}
	}
	hook_stale(now, grace);
}
