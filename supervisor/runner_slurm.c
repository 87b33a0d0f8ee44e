/*
 * runner_slurm.c: the Slurm runner, on the Slurm commands of slurm.c. A
 * run is a Slurm job: sbatch, a child of spoold, submits it; one squeue a
 * tick follows the jobs; scancel stops one; scontrol tells what became of
 * a job squeue no longer lists. A run's timeout counts from when Slurm
 * runs it. Its jobs outlive spoold, and the next spoold takes them over,
 * by number or, if sbatch's answer was never read, by name.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "spoold.h"
#include "runner.h"
#include "slurm.h"

/* What the runner keeps of a run. */
struct srun {
	TAILQ_ENTRY(srun) entry;
	struct run *r;
	int sfd;		/* sbatch's answer, while sbatch runs */
	int asked;		/* in the squeue under way */
	int showing;		/* scontrol asked what became of it */
	char seen[96];		/* its state and reason, as squeue last said */
};

static TAILQ_HEAD(, srun) sruns = TAILQ_HEAD_INITIALIZER(sruns);
static struct spool *spool;

static int srun_helper_add(pid_t);

static void
srun_init(struct spool *sp)
{
	spool = sp;
}

static int
srun_prepare(void)
{
	return slurm_script(spool);
}

static struct srun *
srun_new(struct run *r)
{
	struct srun *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("calloc");
	s->r = r;
	s->sfd = -1;
	r->rdata = s;
	TAILQ_INSERT_TAIL(&sruns, s, entry);
	return s;
}

/* A run that ended without its command's exit status. */
static void
srun_lose(struct run *r, const char *why)
{
	log_warnx("%s: %s: %s", r->stname, r->id, why);
	strlcpy(r->lost, why, sizeof(r->lost));
	r->ended = 1;
	r->ws = 0;
}

static int
srun_start(struct run *r, const struct spawn *sw)
{
	struct srun *s = srun_new(r);

	r->pending = 1;
	if ((r->pid = slurm_submit(sw, &s->sfd)) == -1) {
		r->pid = 0;
		srun_lose(r, "slurm: sbatch could not be run");
	}
	return 0;
}

static void
srun_stop(struct run *r)
{
	if (r->pid == 0 && r->st.remote > 0)
		srun_helper_add(slurm_cancel(r->st.remote, 1));
}

static void
srun_kill(struct run *r)
{
	if (r->pid == 0 && r->st.remote > 0)
		srun_helper_add(slurm_cancel(r->st.remote, 0));
}

/*
 * sbatch ended: the job's number. An sbatch that failed may still have
 * submitted the job (an answer lost on the way): the next squeue looks
 * for it by name, and the run is lost only if it is not there.
 */
static int
srun_reaped(struct run *r, int ws)
{
	struct srun *s = r->rdata;
	long long job = slurm_jobid(s->sfd);
	char how[64];

	s->sfd = -1;
	r->st.pgid = 0;
	r->st.pstart = 0;
	if (job == 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		child_describe(ws, how, sizeof(how));
		log_warnx("%s: %s: sbatch failed (%s); the job is looked for by "
		    "name", r->stname, r->id, how);
		return 0;
	}
	CRASHPOINT(CP_SUBMIT);
	r->st.remote = job;
	r->dirty = 1;
	log_debug("%s: %s attempt %d is Slurm job %lld", r->stname, r->id,
	    r->st.attempt, job);
	if (r->stop != STOP_NONE)
		srun_helper_add(slurm_cancel(job, 0));
	return 0;
}

/*
 * A run lost: its job ended without the exit status of its command (a
 * node failed, the job could not start or write). said is what scontrol
 * said of the job, or NULL.
 */
static void
srun_lost(struct srun *s, const char *said)
{
	struct run *r = s->r;
	char why[sizeof(r->lost)];

	if (r->st.remote > 0)
		snprintf(why, sizeof(why), "slurm: job %lld ended without an "
		    "exit status (last seen %s; %s)", r->st.remote,
		    s->seen[0] != '\0' ? s->seen : "by no squeue",
		    said != NULL ? said : "scontrol not asked");
	else
		snprintf(why, sizeof(why), "slurm: no job on the cluster "
		    "(sbatch failed)");
	srun_lose(r, why);
}

static void
srun_exit(struct run *r, int code)
{
	r->ended = 1;
	r->ws = W_EXITCODE(code, 0);
}

/*
 * A run whose job squeue no longer lists: it ended with the exit status
 * the batch script left, or was stopped, or was lost to Slurm.
 */
static void
srun_gone(struct srun *s)
{
	struct run *r = s->r;
	int code;

	if (slurm_exit(spool, r->id, r->st.remote, &code, &r->use))
		srun_exit(r, code);
	else if (r->stop != STOP_NONE) {
		r->ended = 1;
		r->ws = W_EXITCODE(0, SIGKILL);
	} else if (s->showing)
		; /* lost: scontrol is asked what became of it */
	else if (r->st.remote > 0 &&
	    srun_helper_add(slurm_show(r->st.remote)) == 0)
		s->showing = 1;
	else
		srun_lost(s, NULL);
}

/* scontrol answered for job: what became of the run it was. */
static void
srun_shown(long long job, const char *said)
{
	struct srun *s;
	int code;

	TAILQ_FOREACH(s, &sruns, entry)
		if (s->showing && !s->r->ended && s->r->st.remote == job) {
			if (slurm_exit(spool, s->r->id, job, &code,
			    &s->r->use))
				srun_exit(s->r, code);
			else
				srun_lost(s, said);
			return;
		}
}

/*
 * A run squeue still lists, as job number job in state: found by its
 * name if its number was not known, and timed from when it runs.
 */
static void
srun_listed(struct srun *s, long long job, const char *state,
    const char *why)
{
	struct run *r = s->r;

	snprintf(s->seen, sizeof(s->seen), "%s (%s)", state, why);
	if (r->st.remote == 0) {
		r->st.remote = job;
		log_info("%s: %s: found on the cluster as Slurm job %lld",
		    r->stname, r->id, job);
		r->dirty = 1;
		if (r->stop != STOP_NONE)
			srun_helper_add(slurm_cancel(job, 0));
	}
	if (r->pending && strcmp(state, "RUNNING") == 0) {
		r->pending = 0;
		r->t0 = r->beat = mono_now();
	}
}

/* squeue answered: the runs it was asked about and did not list ended. */
static void
srun_answered(void)
{
	struct srun *s;
	const char *state, *why;
	long long job;

	TAILQ_FOREACH(s, &sruns, entry) {
		if (!s->asked)
			continue;
		s->asked = 0;
		job = s->r->st.remote;
		if ((state = slurm_state(&job, s->r->id, &why)) == NULL)
			srun_gone(s);
		else
			srun_listed(s, job, state, why);
	}
}

/* A helper of the runner's was reaped: what it said of the runs. */
static void
srun_helper(void *arg, int ws)
{
	char said[128];
	long long job;
	int k;

	if ((k = slurm_reaped((pid_t)(intptr_t)arg, ws, &job, said,
	    sizeof(said))) == 2)
		srun_answered();
	else if (k == 3)
		srun_shown(job, said);
}

/* Waits for the helper pid, if it started: 0, or -1. */
static int
srun_helper_add(pid_t pid)
{
	if (pid == -1)
		return -1;
	pids_add(pid, PID_HELPER, srun_helper, (void *)(intptr_t)pid);
	return 0;
}

/* One squeue a tick for the runs submitted. */
static void
srun_tick(void)
{
	struct srun *s;
	char **ids = NULL;
	size_t n = 0;

	TAILQ_FOREACH(s, &sruns, entry)
		if (s->r->pid == 0 && !s->r->ended)
			n++;
	if (n == 0)
		return;
	if ((ids = calloc(n, sizeof(*ids))) == NULL)
		fatal("calloc");
	n = 0;
	TAILQ_FOREACH(s, &sruns, entry)
		if (s->r->pid == 0 && !s->r->ended)
			ids[n++] = s->r->id;
	if (srun_helper_add(slurm_query(ids, n)) == 0)
		TAILQ_FOREACH(s, &sruns, entry)
			if (s->r->pid == 0 && !s->r->ended)
				s->asked = 1;
	free(ids);
}

/* A record of a run of this runner's, left running. */
static int
srun_claims(const struct status *st)
{
	return st->remote > 0;
}

static void
srun_adopt(struct run *r, const struct status *st)
{
	srun_new(r);
	if (st->remote > 0)
		log_info("%s/running/%s: Slurm job %lld taken over after a "
		    "restart", r->stname, r->id, st->remote);
	else
		log_info("%s/running/%s: its Slurm job is looked for by name "
		    "after a restart", r->stname, r->id);
}

static void
srun_end(struct run *r, const struct stconf *sc, int ws, char *how,
    size_t len)
{
	size_t n = strlen(how);

	(void)ws;
	slurm_log(spool, r->id, r->st.remote, r->logfd, sc->log_max);
	if (r->lost[0] == '\0' && r->st.remote > 0)
		snprintf(how + n, len - n, " (Slurm job %lld)", r->st.remote);
}

static void
srun_release(struct run *r)
{
	struct srun *s = r->rdata;

	if (s == NULL)
		return;
	TAILQ_REMOVE(&sruns, s, entry);
	free(s);
	r->rdata = NULL;
}

static void
srun_where(const struct run *r, char *buf, size_t len)
{
	if (r->st.remote == 0)
		snprintf(buf, len, "slurm, %s", r->pid > 0 ? "submitting" :
		    "looked for");
	else
		snprintf(buf, len, "slurm %lld%s", r->st.remote, r->pending ?
		    ", pending" : "");
}

extern const struct runner runner_slurm;

const struct runner runner_slurm = {
	.name = "slurm",
	.place = "Slurm",
	.args_key = "slurm_args",
	.mark = "SLURM_JOB_ID",
	.remote = 1,
	.survives = 1,
	.init = srun_init,
	.prepare = srun_prepare,
	.start = srun_start,
	.stop = srun_stop,
	.kill = srun_kill,
	.reaped = srun_reaped,
	.tick = srun_tick,
	.stale = slurm_stale,
	.claims = srun_claims,
	.adopt = srun_adopt,
	.end = srun_end,
	.release = srun_release,
	.where = srun_where,
	.busy = slurm_busy,
};
