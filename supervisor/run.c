/*
 * run.c: a run's life once started: its heartbeat, its timeout, a stop
 * and the kill after kill_grace, and its end as its runner tells it: the
 * outcome, the log's footer, the throttle of a stage whose children die
 * at once, and the job moved where the outcome sends it.
 */

#include <errno.h>
#include <fcntl.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "spoold.h"
#include "loop.h"

#define QUICK_MS 1000	/* a child that dies sooner died at once */
#define QUICK_MAX 3	/* deaths at once in a row before a hold-off */
#define HOLDOFF_MAX 60

struct run *
run_by_id(const char *id)
{
	struct stage *st;
	struct run *r;

	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (strcmp(r->id, id) == 0)
				return r;
	return NULL;
}

/* A run of job id in stage st, its record s, no process yet. */
struct run *
run_new(struct stage *st, const char *id, const struct status *s)
{
	struct run *r;

	if ((r = calloc(1, sizeof(*r))) == NULL || (r->id = strdup(id)) == NULL)
		fatal("calloc");
	r->stage = st;
	r->stname = st->name;
	r->runner = st->sc->runner;
	r->st = *s;
	r->out.fd = r->wfd = -1;
	return r;
}

void
run_free(struct run *r)
{
	admit_give(&L.budget, r->cpus, r->memory);
	if (r->pid > 0)
		pids_del(r->pid);
	if (r->runner->release != NULL)
		r->runner->release(r);
	if (r->wfd != -1)
		close(r->wfd);
	free(r->id);
	free(r);
}

static void
run_key_release(const char *key)
{
	struct stage *st;

	if (key[0] == '\0')
		return;
	TAILQ_FOREACH(st, &L.stages, entry)
		queue_release(&st->q, key);
}

/*
 * A run whose job file is no longer in running/ at its end: 1 when it was
 * moved by hand elsewhere in the spool, where it stays; -1 when the run
 * removed it or put something else in its place, and it goes to error/
 * (what the run left, or an empty file standing for it, so that the job
 * still ends in one place); 0 when it is there.
 */
static int
run_lost_job(struct run *r, char *why, size_t len)
{
	struct stage *st = r->stage, *at;
	struct stat sb;
	int fd, dir;

	if (fstatat(st->sd.fd[DIR_RUNNING], r->id, &sb,
	    AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISREG(sb.st_mode))
			return 0;
		snprintf(why, len, "the run replaced the job with %s",
		    stage_kind(sb.st_mode));
		return -1;
	}
	if (errno != ENOENT) {
		log_warn("stat %s/running/%s", st->name, r->id);
		return 0;
	}
	if (stage_where(r->id, st, &at, &dir)) {
		log_warnx("%s: %s: moved by hand to %s/%s during its run; it "
		    "stays there", st->name, r->id, at->name,
		    spool_dir_name(dir));
		status_renew(&r->st, at->name);
		r->st.state = dir == DIR_QUEUE ? JS_QUEUED : dir == DIR_DONE ?
		    JS_DONE : dir == DIR_ERROR ? JS_ERROR : JS_RUNNING;
		if (dir != DIR_RUNNING)
			spool_status_write(L.sp, r->id, &r->st);
		return 1;
	}
	if (spool_gone(st->sd.fd[DIR_RUNNING])) {
		stage_folders();
		snprintf(why, len, "running/ was removed during the run; an "
		    "empty file stands for the job");
	} else
		snprintf(why, len, "the run removed the job file; an empty one "
		    "stands for it");
	fd = openat(st->sd.fd[DIR_RUNNING], r->id, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd == -1 || close(fd) == -1)
		log_warn("create %s/running/%s", st->name, r->id);
	return -1;
}

/*
 * A job whose move failed (errno says why) goes to error/ of the stage it
 * ran in, saying so: the row it is then placed by, or NULL when that move
 * failed too and it stays in running/ for recovery.
 */
static const struct place *
run_unmoved(struct run *r, struct stage *to, const struct place *p,
    const struct counters *ran, struct counters *c)
{
	struct stage *st = r->stage;
	char why[sizeof(r->st.reason)];

	log_warn("move %s/running/%s to %s/%s", st->name, r->id, to->name,
	    spool_dir_name(p->dir));
	snprintf(why, sizeof(why), "could not move to %s/%s: %s", to->name,
	    spool_dir_name(p->dir), strerror(errno));
	p = place_row(OUT_ERROR);
	place_record(&r->st, OUT_ERROR, st->name, why, 0, time(NULL));
	if (stage_place(st, st->sd.fd[DIR_RUNNING], st->sd.fd[p->dir], r->id,
	    &r->st, p, ran, c) == -1) {
		log_warn("move %s/running/%s to error/", st->name, r->id);
		return NULL;
	}
	return p;
}

/*
 * Moves the job of a run that ended to where its outcome sends it; its
 * event counts what the run counts, ran, with what the place counts.
 */
static void
run_place(struct run *r, enum outcome out, const char *why,
    const struct counters *ran)
{
	struct stage *st = r->stage, *to = st;
	const struct place *p;
	struct counters c;
	struct timespec due;
	int from = st->sd.fd[DIR_RUNNING], moved;
	long delay = 0;
	char gone[sizeof(r->st.reason)];

	switch (run_lost_job(r, gone, sizeof(gone))) {
	case 1:
		events_add_counted(L.sp, r->id, status_state_name(r->st.state),
		    &r->st, st->name, ran);
		stage_add(st->name, ran);
		return;
	case -1:
		log_warnx("%s: %s: %s", st->name, r->id, gone);
		why = gone;
		out = OUT_ERROR;
	}
	if (out == OUT_LOST_MAX)
		log_warnx("%s: %s: %s", st->name, r->id, why);
	if (out == OUT_NEXT && (to = stage_find(st->sc->next)) == NULL) {
		log_warnx("%s: next stage %s is gone; job to done/", st->name,
		    st->sc->next);
		to = st;
		out = OUT_DONE;
	}
	p = place_row(out);
	if (p->state == JS_DEFERRED) {
		delay = place_backoff(st->sc->backoff, st->sc->backoff_max,
		    r->st.attempt, arc4random());
		due = real_now();
		due.tv_sec += delay;
		fileio_touch(from, r->id, due);
	}
	place_record(&r->st, out, to->name, why, delay, time(NULL));
	moved = stage_place(st, from, to->sd.fd[p->dir], r->id, &r->st, p, ran,
	    &c);
	if (moved == -1 && errno == ENOENT && spool_gone(to->sd.fd[p->dir])) {
		/* Its folder was removed by hand: made again, then the move. */
		stage_folders();
		from = st->sd.fd[DIR_RUNNING];
		moved = stage_place(st, from, to->sd.fd[p->dir], r->id, &r->st,
		    p, ran, &c);
	}
	if (moved == -1 && (p = run_unmoved(r, to, p, ran, &c)) == NULL)
		return;
	if (moved == -1)
		to = st;
	stage_placed(st, to, p, r->id, &r->st, &c);
	if (p->dir == DIR_QUEUE)	/* before inotify says so */
		stage_seen(to, r->id, 0);
	log_debug("%s: %s to %s/%s%s%s", st->name, r->id, to->name,
	    spool_dir_name(p->dir), r->st.reason[0] ? ": " : "",
	    r->st.reason);
}

/* Reads the heartbeat file: a change of its mtime is a beat. */
static void
run_heartbeat(struct run *r, struct timespec now)
{
	struct stat sb;

	int fd;

	if ((fd = spool_job_open(L.sp, r->id)) == -1)
		return;
	if (fstatat(fd, "heartbeat", &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (sb.st_mtim.tv_sec != r->hbmtime.tv_sec ||
	    sb.st_mtim.tv_nsec != r->hbmtime.tv_nsec)) {
		r->hbmtime = sb.st_mtim; /* the run's own: removed at its start */
		r->beat = now;
		spool_progress_at(fd, r->st.progress, sizeof(r->st.progress));
	}
	close(fd);
}

/* A stage whose children die at once waits longer each time. */
static void
run_throttle(struct stage *st, long long ms, int failed)
{
	int shift;

	if (!failed || ms >= QUICK_MS) {
		st->quick = 0;
		return;
	}
	if (++st->quick < QUICK_MAX)
		return;
	shift = st->quick - QUICK_MAX;
	st->holdoff = ms_after(mono_now(), 1000LL *
	    (shift >= 6 ? HOLDOFF_MAX : (1 << shift)));
	log_warnx("stage %s: %d children in a row died at once; no claim "
	    "for %ds", st->name, st->quick,
	    shift >= 6 ? HOLDOFF_MAX : (1 << shift));
}

void
run_end(struct run *r, int ws)
{
	struct stage *st = r->stage;
	long long ms = ms_between(r->t0, mono_now());
	char why[256], how[sizeof(r->lost)], run[32];
	struct counters ran = {.runs = 1, .run_ms_total = ms};
	enum outcome out;

	CRASHPOINT(CP_FINISH);
	child_describe(ws, how, sizeof(how));
	r->runner->end(r, st->sc, ws, how, sizeof(how));
	L.orphans = 1;		/* what the run left behind */
	output_close(&r->out);
	run_heartbeat(r, mono_now());
	ran.timeouts = r->stop == STOP_TIMEOUT || r->stop == STOP_HEARTBEAT;
	metrics_account(&ran, &r->use);
	metrics_recent_add(&st->recent, ms);
	st->mean_ms = st->mean_ms > 0 ? (7 * st->mean_ms + ms) / 8 : ms + 1;
	out = place_outcome(st->sc, ws, r->stop, r->st.attempt,
	    st->sc->next != NULL, why, sizeof(why));
	if (r->lost[0] != '\0') {
		out = place_lost(st->sc, r->st.lost, r->lost, why, sizeof(why));
		strlcpy(how, r->lost, sizeof(how));
	}
	snprintf(run, sizeof(run), "attempt %d", r->st.attempt);
	output_footer(r->logfd, st->name, run, how, ms, &r->use);
	close(r->logfd);
	r->st.finished = r->st.updated = time(NULL);
	r->st.use = r->use;
	r->st.exit = WIFEXITED(ws) && r->lost[0] == '\0' ? WEXITSTATUS(ws) :
	    -1;
	r->st.signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
	/*
	 * A child that crashed or could not run, not one that answered with
	 * an exit code: a job that fails is the job's backoff to slow down.
	 */
	run_throttle(st, ms, r->stop == STOP_NONE && (WIFSIGNALED(ws) ||
	    WEXITSTATUS(ws) == 127 || r->lost[0] != '\0'));
	TAILQ_REMOVE(&st->runs, r, entry);
	st->nrun--;
	if (r->child)
		L.nrun--;
	run_place(r, out, why, &ran);
	if (r->stop == STOP_CANCEL && unlinkat(L.sp->cancelfd, r->id, 0) == -1 &&
	    errno != ENOENT)
		log_warn("unlink index/cancel/%s", r->id);
	run_key_release(r->st.key);
	run_free(r);
}

/* Writes the records the runners changed, and ends the runs they ended. */
void
run_sweep(void)
{
	struct stage *st;
	struct run *r, *next;

	TAILQ_FOREACH(st, &L.stages, entry)
		for (r = TAILQ_FIRST(&st->runs); r != NULL; r = next) {
			next = TAILQ_NEXT(r, entry);
			if (r->dirty) {
				r->dirty = 0;
				if (spool_status_write(L.sp, r->id,
				    &r->st) == -1)
					stage_full("status");
			}
			if (r->ended)
				run_end(r, r->ws);
		}
}

/*
 * The process of a run ended: the run ended, and its cost is that
 * process's; or it goes on elsewhere.
 */
void
run_reaped(void *arg, int ws)
{
	struct run *r = arg;

	if (r->runner->reaped(r, ws)) {
		status_usage(&r->use, &L.ru, ms_between(r->t0, mono_now()));
		run_end(r, ws);
		return;
	}
	r->pid = 0;
	r->child = 0;
	L.nrun--;
	if (r->dirty) {
		r->dirty = 0;
		if (spool_status_write(L.sp, r->id, &r->st) == -1)
			stage_full("status");
	}
}

void
run_stop(struct run *r, enum stop why)
{
	struct stage *st = r->stage;

	if (r->stop != STOP_NONE)
		return;
	r->stop = why;
	r->killat = ms_after(mono_now(), L.conf->kill_grace * 1000LL);
	r->runner->stop(r);
	if (why == STOP_TIMEOUT || why == STOP_HEARTBEAT)
		log_warnx("%s: %s: %s; stopping it", st->name, r->id,
		    why == STOP_TIMEOUT ? "timeout" : "no heartbeat");
}

/* The end of a run that did not stop at SIGTERM. */
static void
run_kill(struct run *r)
{
	r->killed = 1;
	r->runner->kill(r);
}

/* Timeouts, heartbeats and kills of every run. */
void
run_stale(void)
{
	struct timespec now = mono_now();
	struct stage *st;
	struct run *r;

	const struct runner *rn = NULL;

	hook_stale(now, L.conf->kill_grace);
	while ((rn = runner_next(rn)) != NULL)
		if (rn->stale != NULL)
			rn->stale(now);
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry) {
			if (r->stop != STOP_NONE) {
				if (!r->killed && ms_between(r->killat, now) >= 0)
					run_kill(r);
				continue;
			}
			if (r->pending)
				continue; /* not running yet */
			run_heartbeat(r, now);
			if (st->sc->timeout > 0 && ms_between(r->t0, now) >=
			    st->sc->timeout * 1000LL)
				run_stop(r, STOP_TIMEOUT);
			else if (st->sc->heartbeat > 0 && ms_between(r->beat,
			    now) >= st->sc->heartbeat * 1000LL)
				run_stop(r, STOP_HEARTBEAT);
		}
}
