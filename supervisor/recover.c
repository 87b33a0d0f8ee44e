/*
 * recover.c: the stage set made that of a config, at start-up and at each
 * reload. A stage that joins has its running/ recovered: a run a previous
 * spoold left is taken over by a runner whose runs outlive spoold, or
 * stopped, and its job put where its status record says. What a previous
 * spoold left running is stopped by deadlines the loop keeps, never by
 * waiting: SIGTERM to its group, SIGKILL kill_grace seconds later, then
 * the same to every process whose environment names the job; once they
 * are gone, and still gone a little later, its job is placed.
 */

#include <fcntl.h>
#include <limits.h>
#include <signal.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "spoold.h"
#include "loop.h"

#define LOOK_GROUP_MS 20	/* between looks at a group being stopped */
#define LOOK_JOB_MS 50		/* between rounds of signals to a job's processes */
#define RECHECK_MS 100		/* before the last look, once all seemed gone */
#define OUTLIVE_MS 5000		/* after SIGKILL, before giving up */

/* What a previous spoold left running for a job, being stopped. */
enum { LO_GROUP, LO_GROUP_KILLED, LO_JOB, LO_RECHECK };

struct leftover {
	TAILQ_ENTRY(leftover) entry;
	char *path;		/* the job's file, as SPOOL_JOB names it */
	pid_t pgid;		/* the group of its run, or 0 */
	unsigned long long pstart;
	int phase;		/* LO_* */
	int sig;		/* in LO_JOB: sent at each round, 0 at first */
	int rechecked;		/* the last look found more, now stopped */
	struct timespec t0;	/* the phase's start */
	struct timespec next;	/* the next look */
	struct stage *st;	/* NULL: no job to place */
	int known;		/* s is the job's record */
	char *id;
	struct status s;
};

/*
 * The last event of each job whose last event, among those after the mark
 * of metrics.json, is one that counts (the end of a run, say): read at
 * start-up, kept until what was left in running/ is placed.
 */
struct tail {
	struct tail *next;
	struct event ev;
};

static struct tail *tails;

static struct tail **
recover_tail(const char *id)
{
	struct tail **t;

	for (t = &tails; *t != NULL; t = &(*t)->next)
		if (strcmp((*t)->ev.id, id) == 0)
			break;
	return t;
}

/* An event read back: its counts added, the last of its job kept. */
static void
recover_event(void *arg, const struct event *ev)
{
	struct tail **t = recover_tail(ev->id), *n;

	(void)arg;
	if (ev->counted[0] != '\0')
		stage_add(ev->counted, &ev->c);
	if (ev->counted[0] != '\0' && strcmp(ev->event, "unmoved") != 0) {
		if (*t == NULL) {
			if ((*t = calloc(1, sizeof(**t))) == NULL)
				fatal("calloc");
		}
		(*t)->ev = *ev;
	} else if ((n = *t) != NULL) {
		*t = n->next;
		free(n);
	}
}

static void
recover_tails_free(void)
{
	struct tail *t;

	while ((t = tails) != NULL) {
		tails = t->next;
		free(t);
	}
}

/*
 * The counters at start-up: those of metrics.json, plus what the events
 * written after its mark count, so that a change is counted once however
 * spoold stopped.
 */
void
recover_counters(void)
{
	struct evmark mark;

	metrics_load(L.sp, &L.total, &mark, report_counters, NULL);
	events_replay(L.sp, &mark, recover_event, NULL);
	if (TAILQ_EMPTY(&L.leftovers))
		recover_tails_free();
}

/* Whether the event of the move a record says was written already. */
static int
recover_logged(const struct leftover *lo)
{
	struct tail *t = *recover_tail(lo->id);

	return t != NULL && lo->known &&
	    strcmp(t->ev.event, status_state_name(lo->s.state)) == 0 &&
	    strcmp(t->ev.st.stage, lo->s.stage) == 0;
}

/*
 * The record of a job whose last event, a change made in this stage (the
 * end of its run, a duplicate found), is newer than the record: a crash
 * came between the two. The record is made that of the event, as it was
 * to be written, and the job goes where the event says.
 */
static void
recover_ended(struct leftover *lo)
{
	struct tail *t = *recover_tail(lo->id);
	struct status *s = &lo->s;
	int state;

	if (t == NULL || !lo->known || recover_logged(lo) ||
	    strcmp(t->ev.counted, lo->st->name) != 0 ||
	    (state = status_state_parse(t->ev.event)) == -1)
		return;
	s->state = state;
	strlcpy(s->stage, t->ev.st.stage, sizeof(s->stage));
	s->attempt = t->ev.st.attempt;
	s->exit = t->ev.st.exit;
	s->signal = t->ev.st.signal;
	strlcpy(s->reason, t->ev.st.reason, sizeof(s->reason));
	s->finished = s->updated = t->ev.when;
	log_info("%s/running/%s: its %s event came before the crash",
	    lo->st->name, lo->id, t->ev.event);
}

static struct leftover *
recover_stop(const char *path, pid_t pgid, unsigned long long pstart,
    const char *id)
{
	struct leftover *lo;

	if ((lo = calloc(1, sizeof(*lo))) == NULL ||
	    (lo->path = strdup(path)) == NULL ||
	    (id != NULL && (lo->id = strdup(id)) == NULL))
		fatal("calloc");
	lo->pgid = pgid;
	lo->pstart = pstart;
	lo->t0 = lo->next = mono_now();
	if (pgid > 0 && child_group_alive(pgid, pstart)) {
		log_warnx("stopping process group %ld left by a previous "
		    "spoold", (long)pgid);
		child_signal(pgid, SIGTERM);
		lo->phase = LO_GROUP;
	} else
		lo->phase = LO_JOB;
	TAILQ_INSERT_TAIL(&L.leftovers, lo, entry);
	return lo;
}

static void
recover_free(struct leftover *lo)
{
	TAILQ_REMOVE(&L.leftovers, lo, entry);
	free(lo->path);
	free(lo->id);
	free(lo);
}

/*
 * Moves a recovered job where its record says (place_recovered): a run
 * that ended had its record say where before the job moved, so that move
 * is completed; a run cut short goes back to queue/ without spending an
 * attempt; a record of another run keeps only its key; a job cancelled
 * meanwhile goes to error/.
 */
static void
recover_move(struct leftover *lo)
{
	struct stage *st = lo->st, *to;
	struct status *s = &lo->s;
	const struct place *p;
	struct counters c;
	enum outcome out;
	int cancelled, logged;

	recover_ended(lo);
	to = lo->known ? stage_find(s->stage) : NULL;
	cancelled = faccessat(L.sp->cancelfd, lo->id, F_OK,
	    AT_SYMLINK_NOFOLLOW) == 0;
	out = place_recovered(s, lo->known, st->name, to != NULL && to != st,
	    cancelled);
	p = place_row(out);
	cancelled = out == OUT_CUT_CANCEL || out == OUT_MOVED_CANCEL ||
	    out == OUT_FOUND_CANCEL;
	if (out == OUT_FOUND || out == OUT_FOUND_CANCEL) {
		if (lo->known)
			status_renew(s, st->name);
		else
			status_init(s, st->name);
	}
	if (!p->next)
		to = st;
	place_record(s, out, NULL, cancelled ? "cancelled" : NULL, 0,
	    time(NULL));
	/* A move whose event was written before the crash: the move alone. */
	logged = out >= OUT_MOVED_DONE && out <= OUT_MOVED_NEXT &&
	    recover_logged(lo);
	if ((logged ? spool_status_write(L.sp, lo->id, s) == -1 ||
	    spool_move(L.sp, st->sd.fd[DIR_RUNNING], to->sd.fd[p->dir],
	    lo->id) : stage_place(st, st->sd.fd[DIR_RUNNING],
	    to->sd.fd[p->dir], lo->id, s, p, NULL, &c)) == -1) {
		log_warn("recover %s/running/%s", st->name, lo->id);
		return;
	}
	if (!logged)
		stage_add(st->name, &c);
	if (cancelled)
		unlinkat(L.sp->cancelfd, lo->id, 0);
	log_info("%s/running/%s: to %s/%s after a restart", st->name, lo->id,
	    to->name, spool_dir_name(p->dir));
}

/* The group of a leftover: gone, or past its deadline. */
static void
recover_look_group(struct leftover *lo, struct timespec now)
{
	long long ms = ms_between(lo->t0, now);

	lo->next = ms_after(now, LOOK_GROUP_MS);
	if (!child_group_alive(lo->pgid, lo->pstart))
		lo->phase = LO_JOB;
	else if (lo->phase == LO_GROUP && ms >= L.conf->kill_grace * 1000) {
		child_signal(lo->pgid, SIGKILL);
		lo->phase = LO_GROUP_KILLED;
		lo->t0 = now;
	} else if (lo->phase == LO_GROUP_KILLED && ms >= OUTLIVE_MS) {
		log_warnx("process group %ld outlives SIGKILL", (long)lo->pgid);
		lo->phase = LO_JOB;
	}
	if (lo->phase == LO_JOB)
		lo->t0 = now;
}

/*
 * The processes that name the job: signalled each round, SIGTERM up to
 * kill_grace seconds, then SIGKILL; 1 once none is left (or they outlive
 * SIGKILL), else 0.
 */
static int
recover_look_job(struct leftover *lo, struct timespec now)
{
	time_t secs = now.tv_sec - lo->t0.tv_sec;

	lo->next = ms_after(now, LOOK_JOB_MS);
	if (lo->sig == 0) {
		if (child_signal_job(lo->path, 0, runner_marks()) == 0)
			return 1;
		log_warnx("stopping what a previous spoold left running for %s",
		    lo->path);
		lo->sig = SIGTERM;
		lo->t0 = now;
		secs = 0;
	}
	if (secs >= L.conf->kill_grace)
		lo->sig = SIGKILL;
	if (child_signal_job(lo->path, lo->sig, runner_marks()) == 0)
		return 1;
	if (secs >= L.conf->kill_grace + OUTLIVE_MS / 1000) {
		log_warnx("%s: processes outlive SIGKILL", lo->path);
		return 1;
	}
	return 0;
}

/*
 * One look at a leftover: the next step of its stop. Once nothing is left
 * a last look comes a little later, for a process a killed spoold was
 * starting that had its new environment only after the first look; what
 * it finds is stopped the same way, once. Only then is the job placed: a
 * new run of it would have the same SPOOL_JOB.
 */
static void
recover_look(struct leftover *lo, struct timespec now)
{
	if (lo->phase == LO_GROUP || lo->phase == LO_GROUP_KILLED)
		recover_look_group(lo, now);
	if (lo->phase == LO_RECHECK) {
		if (lo->rechecked || child_signal_job(lo->path, 0, runner_marks()) == 0) {
			if (lo->st != NULL)
				recover_move(lo);
			recover_free(lo);
			return;
		}
		lo->phase = LO_JOB;
		lo->sig = 0;
		lo->rechecked = 1;
	}
	if (lo->phase != LO_JOB || !recover_look_job(lo, now))
		return;
	lo->sig = 0;
	lo->phase = LO_RECHECK;
	lo->next = ms_after(now, lo->rechecked ? 0 : RECHECK_MS);
}

/* Takes the next steps of the stops whose time has come. */
void
recover_tick(void)
{
	struct timespec now = mono_now();
	struct leftover *lo, *next;

	for (lo = TAILQ_FIRST(&L.leftovers); lo != NULL; lo = next) {
		next = TAILQ_NEXT(lo, entry);
		if (ms_between(lo->next, now) >= 0)
			recover_look(lo, now);
	}
	if (TAILQ_EMPTY(&L.leftovers))
		recover_tails_free();
}

/* Whether job id waits in a running/ for its recovery. */
int
recover_holds(const char *id)
{
	struct leftover *lo;

	TAILQ_FOREACH(lo, &L.leftovers, entry)
		if (lo->st != NULL && strcmp(lo->id, id) == 0)
			return 1;
	return 0;
}

/* Forgets the stops under way, as spoold exits. */
void
recover_clear(void)
{
	while (!TAILQ_EMPTY(&L.leftovers))
		recover_free(TAILQ_FIRST(&L.leftovers));
	recover_tails_free();
}

/* The time of the next step of a stop: 1 and *at, or 0 when none. */
int
recover_next(struct timespec *at)
{
	struct leftover *lo;
	int any = 0;

	TAILQ_FOREACH(lo, &L.leftovers, entry)
		if (!any || ms_between(lo->next, *at) > 0) {
			*at = lo->next;
			any = 1;
		}
	return any;
}

/*
 * Takes over a run a previous spoold left to a runner whose runs outlive
 * it: only a process of spoold's left running is stopped. Its timeout
 * counts from the run's start.
 */
static void
recover_adopt(struct stage *st, const char *id, const struct status *s,
    const char *path, const struct runner *rn)
{
	struct run *r;

	recover_stop(path, s->pgid, s->pstart, NULL);
	r = run_new(st, id, s);
	r->st.pgid = 0;
	r->st.pstart = 0;
	r->runner = rn;
	r->logfd = output_log_open(L.sp, id);	/* -1 said there */
	r->t0 = r->beat = mono_now();
	if (s->started > 0 && s->started < time(NULL))
		r->t0.tv_sec -= time(NULL) - s->started;
	TAILQ_INSERT_TAIL(&st->runs, r, entry);
	st->nrun++;
	rn->adopt(r, s);
}

/*
 * Recovers a job a previous spoold left in running/, after stopping any
 * process of its run that still runs.
 */
static int
recover_one(void *arg, const char *id, int type)
{
	struct stage *st = arg;
	struct status s;
	struct stat sb;
	const struct runner *rn;
	struct leftover *lo;
	unsigned long long pstart;
	pid_t pgid;
	const char *why = NULL;
	char path[PATH_MAX];
	int known;

	(void)type;
	if (name_check(id, &why) == -1 ||
	    fstatat(st->sd.fd[DIR_RUNNING], id, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(sb.st_mode)) {
		spool_quarantine(L.sp, st->name, &st->sd, DIR_RUNNING, id,
		    why != NULL ? why : "not a regular file");
		return 0;
	}
	known = spool_status_read(L.sp, id, &s) == 0;
	fileio_path(path, sizeof(path), "%s/%s/running/%s", L.conf->spool,
	    st->name, id);
	if (known && s.state == JS_RUNNING && strcmp(s.stage, st->name) == 0 &&
	    (rn = runner_adopter(&s, st->sc->runner)) != NULL) {
		recover_adopt(st, id, &s, path, rn);
		return 0;
	}
	/* The group of a run cut short, if its record names one. */
	pgid = known && s.state == JS_RUNNING && strcmp(s.stage,
	    st->name) == 0 ? s.pgid : 0;
	pstart = s.pstart;
	lo = recover_stop(path, pgid, pstart, id);
	lo->st = st;
	lo->known = known;
	lo->s = s;
	recover_look(lo, mono_now());
	return 0;
}

/* Tells each runner a stage uses that it is in use. */
static void
recover_prepare(void)
{
	const struct runner *rn = NULL;
	struct stage *st;

	while ((rn = runner_next(rn)) != NULL) {
		if (rn->prepare == NULL)
			continue;
		TAILQ_FOREACH(st, &L.stages, entry)
			if (!st->retired && st->sc->runner == rn) {
				rn->prepare();
				break;
			}
	}
}

/* Makes the stages those of conf, keeping what runs; frees conf's stages. */
int
recover_apply(struct conf *conf, int startup)
{
	struct stage *st;
	size_t i;

	TAILQ_FOREACH(st, &L.stages, entry)
		st->retired = 1;
	for (i = 0; i < conf->nstages; i++) {
		struct stconf *sc = conf->stages[i];
		if ((st = stage_find(sc->name)) != NULL) {
			stconf_free(st->sc);
			st->sc = sc;
		} else if ((st = stage_new(sc)) == NULL) {
			if (startup)
				return -1;
			log_warnx("stage %s: cannot open its folders; not "
			    "started", sc->name);
			stconf_free(sc);
			conf->stages[i] = NULL;
			continue;
		} else {
			st->fresh = 1;
			stage_watch(st);
		}
		st->retired = 0;
		conf->stages[i] = NULL;
	}
	conf->nstages = 0;
	admit_init(&L.budget, conf->cpus, conf->memory);
	stage_depths();
	recover_prepare();
	/* Once every stage is there, for jobs on their way to the next. */
	TAILQ_FOREACH(st, &L.stages, entry)
		if (st->fresh)
			fileio_scan(st->sd.fd[DIR_RUNNING], recover_one, st);
	TAILQ_FOREACH(st, &L.stages, entry)
		if (st->fresh) {
			st->fresh = 0;
			stage_scan(st);
			log_info("stage %s: %zu jobs waiting", st->name,
			    st->q.count);
		}
	return 0;
}
