/*
 * claim.c: a run's start. The stage to claim from, under its slots,
 * max_children and the budget of CPUs and memory (admit.c), in pipeline
 * order with none starved; the job moved from queue/ to running/, its record,
 * its duplicate check, its work folder and log; then its runner starts it.
 * A job that cannot start for a reason not its own waits a tick.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "spoold.h"
#include "loop.h"

static int
claim_key_busy(const char *key)
{
	struct stage *st;
	struct run *r;

	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (strcmp(r->st.key, key) == 0)
				return 1;
	return 0;
}

/* The output of a run: its log, or a pipe to it under log_max. */
static int
claim_output(struct run *r, int *wfd)
{
	struct epoll_event ev = {.events = EPOLLIN};

	if (output_open(&r->out, r->logfd, r->stage->sc->log_max,
	    wfd) == -1)
		return -1;
	if (r->out.fd == -1)
		return 0;
	ev.data.ptr = r;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, r->out.fd, &ev) == -1) {
		log_warn("epoll_ctl");
		close(*wfd);
		output_close(&r->out);
		return -1;
	}
	return 0;
}

/*
 * In a stage with dedupe, the content of a job just claimed is hashed: a
 * job whose content another job had first goes to error/, and 1 says so.
 * A job that cannot be hashed or recorded runs: twice rather than never.
 */
static int
claim_dedupe(struct stage *st, const char *id, struct status *s)
{
	const struct place *p;
	struct counters c;
	char first[ID_MAX + 1], why[sizeof(s->reason)];
	int r;

	if (dedupe_hash(st->sd.fd[DIR_RUNNING], id, s->sha256) == -1) {
		log_warn("%s: hash running/%s", st->name, id);
		s->sha256[0] = '\0';
		return 0;
	}
	if ((r = dedupe_claim(L.sp, s->sha256, id, first, sizeof(first))) == -1)
		log_warn("%s: %s: index/sha256", st->name, id);
	if (r != 1)
		return 0;
	snprintf(why, sizeof(why), "duplicate of %s", first);
	place_record(s, OUT_DUPLICATE, NULL, why, 0, time(NULL));
	p = place_row(OUT_DUPLICATE);
	if (stage_place(st, st->sd.fd[DIR_RUNNING], st->sd.fd[p->dir], id, s,
	    p, NULL, &c) == -1) {
		log_warn("move %s/running/%s to error/", st->name, id);
		s->state = JS_QUEUED;
		s->reason[0] = '\0';
		return 0;
	}
	stage_placed(st, st, p, id, s, &c);
	log_info("%s: %s: duplicate of %s; to error/", st->name, id, first);
	return 1;
}

/*
 * The work folder and the log of a run about to start, and its output:
 * its log, or a pipe to it under log_max, in *wfd. -1 when the spool
 * cannot give them (a full disk, say).
 */
static int
claim_files(struct run *r, int *wfd)
{
	const struct stconf *sc = r->stage->sc;
	char run[32];

	if ((r->wfd = spool_job_make(L.sp, r->id, sc->user ? sc->uid :
	    (uid_t)-1, sc->gid)) == -1 ||
	    (r->logfd = output_log_open(L.sp, r->id)) == -1) {
		stage_full("start");
		return -1;
	}
	snprintf(run, sizeof(run), "attempt %d", r->st.attempt);
	*wfd = r->logfd;
	if (output_header(r->logfd, r->stage->name, run,
	    r->st.started) == -1 || (r->runner->output &&
	    claim_output(r, wfd) == -1)) {
		stage_full("log");
		close(r->logfd);
		return -1;
	}
	/* The heartbeat of another run is not this one's. */
	if (unlinkat(r->wfd, "heartbeat", 0) == -1 && errno != ENOENT)
		log_warn("unlink work/%s/heartbeat", r->id);
	return 0;
}

/* Starts the run of a job just moved to running/. */
static int
run_start(struct stage *st, const char *id, struct status *s)
{
	char job[PATH_MAX], work[PATH_MAX], hb[PATH_MAX];
	struct spawn sw;
	struct run *r;
	int wfd, rc;

	r = run_new(st, id, s);
	r->st.attempt++;
	r->st.state = JS_RUNNING;
	r->st.started = r->st.updated = time(NULL);
	r->st.finished = 0;
	r->st.progress[0] = '\0';
	if (claim_files(r, &wfd) == -1) {
		run_free(r);
		return -1;
	}
	fileio_path(job, sizeof(job), "%s/%s/running/%s", L.conf->spool,
	    st->name, id);
	fileio_path(work, sizeof(work), "%s/work/%s", L.conf->spool, id);
	fileio_path(hb, sizeof(hb), "%s/heartbeat", work);
	sw = (struct spawn){.sc = st->sc, .spooldir = L.conf->spool, .id = id,
	    .job = job, .workdir = work, .heartbeat = hb,
	    .attempt = r->st.attempt, .logfd = wfd, .workfd = r->wfd,
	    .cgfd = -1};
	if (!r->runner->remote) {
		sw.cpus = r->cpus = admit_share(&L.budget, st->sc);
		r->memory = st->sc->memory;
		admit_take(&L.budget, r->cpus, r->memory);
	}
	r->t0 = r->beat = mono_now();
	TAILQ_INSERT_TAIL(&st->runs, r, entry);
	st->nrun++;
	L.nrun++;
	r->child = 1;
	rc = r->runner->start(r, &sw);
	if (wfd != r->logfd)
		close(wfd);
	close(r->wfd);
	r->wfd = -1;
	if (rc == -1) {
		/* The system is short of processes: not the job's fault. */
		log_warn("%s: spawn for %s", st->name, id);
		TAILQ_REMOVE(&st->runs, r, entry);
		st->nrun--;
		L.nrun--;
		output_close(&r->out);
		close(r->logfd);
		run_free(r);
		return -1;
	}
	if (r->ended) {
		run_end(r, r->ws);
		return 0;
	}
	if (r->pid > 0) {
		pids_add(r->pid, PID_RUN, run_reaped, r);
		r->st.pgid = r->pid;
		r->st.pstart = child_starttime(r->pid);
	}
	CRASHPOINT(CP_START);
	/* The event first: one that follows it ends this run. */
	events_add(L.sp, id, "running", &r->st);
	if (spool_status_write(L.sp, id, &r->st) == -1)
		stage_full("status");
	log_debug("%s: %s attempt %d started, pid %ld", st->name, id,
	    r->st.attempt, (long)r->pid);
	return 0;
}

/*
 * A claim that failed for a reason not the job's (a folder made unreadable,
 * say): the job waits a tick, and so does its stage.
 */
static void
claim_failed(struct stage *st, struct qent *e, const char *what)
{
	struct timespec later = {time(NULL) + L.conf->tick, 0};

	log_warn("%s %s/queue/%s; stage %s waits %lds", what, st->name, e->id,
	    st->name, L.conf->tick);
	queue_defer(&st->q, e, &later);
	st->holdoff = ms_after(mono_now(), L.conf->tick * 1000LL);
}

/*
 * The record of a job about to be claimed in stage st: its own, renewed
 * when it is of another stage or run; the request of a record spoold did
 * not write (a member's submission); or a new one for a job put in
 * queue/ by hand. A submission not yet in events.jsonl is written there.
 */
void
claim_record(struct stage *st, const char *id, struct status *s)
{
	switch (spool_status_read(L.sp, id, s)) {
	case -1:
		status_init(s, st->name);
		s->unlogged = 1;
		break;
	case 1:
		status_request(s, st->name);
		break;
	default:
		if (strcmp(s->stage, st->name) != 0 || s->state == JS_DONE ||
		    s->state == JS_ERROR)
			status_renew(s, st->name);
	}
	if (s->unlogged) {
		s->unlogged = 0;
		events_add(L.sp, id, status_state_name(s->state), s);
	}
}

/* Tries to start the first ready job of a stage. */
static void
claim_stage(struct stage *st)
{
	struct qent *e = queue_peek(&st->q);
	struct status s;
	struct stat sb;
	struct timespec rnow = real_now();
	time_t now = rnow.tv_sec;
	char id[ID_MAX + 1];

	strlcpy(id, e->id, sizeof(id));
	if (fstatat(st->sd.fd[DIR_QUEUE], id, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			queue_remove(&st->q, e);
		else
			claim_failed(st, e, "stat");
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		queue_remove(&st->q, e);
		stage_seen(st, id, 0);
		return;
	}
	if (ts_after(sb.st_mtim, rnow)) {
		queue_defer(&st->q, e, &sb.st_mtim);
		return;
	}
	if (run_by_id(id) != NULL) {
		/* One id, one job: never two runs of it, in any stages. */
		struct timespec later = {now + L.conf->tick, 0};
		log_warnx("%s/queue/%s: that job runs in another stage (moved by "
		    "hand?); waiting", st->name, id);
		queue_defer(&st->q, e, &later);
		return;
	}
	claim_record(st, id, &s);
	if (s.submitted == 0)
		s.submitted = sb.st_mtim.tv_sec;
	s.priority = e->prio;
	if (s.key[0] != '\0' && claim_key_busy(s.key)) {
		if (e->key == NULL && (e->key = strdup(s.key)) == NULL)
			fatal("strdup");
		queue_hold(&st->q, e);
		return;
	}
	if (spool_move(L.sp, st->sd.fd[DIR_QUEUE], st->sd.fd[DIR_RUNNING],
	    id) == -1) {
		if (errno == EEXIST) {
			struct timespec later = {now + L.conf->tick, 0};
			log_warnx("%s/queue/%s: a job of that id is running; "
			    "waiting", st->name, id);
			queue_defer(&st->q, e, &later);
		} else if (errno == ENOENT)
			queue_remove(&st->q, e);
		else
			claim_failed(st, e, "claim");
		return;
	}
	queue_remove(&st->q, e);
	CRASHPOINT(CP_CLAIM);
	/* Checked again where only spoold writes: swapped in meanwhile? */
	if (fstatat(st->sd.fd[DIR_RUNNING], id, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISREG(sb.st_mode)) {
		spool_quarantine(L.sp, st->name, &st->sd, DIR_RUNNING, id,
		    stage_kind(sb.st_mode));
		return;
	}
	if (st->sc->dedupe && !s.forced && claim_dedupe(st, id, &s) == 1)
		return;
	if (run_start(st, id, &s) == -1) {
		fileio_touch(st->sd.fd[DIR_RUNNING], id,
		    (struct timespec){now + L.conf->tick, 0});
		if (spool_move(L.sp, st->sd.fd[DIR_RUNNING],
		    st->sd.fd[DIR_QUEUE], id) == -1)
			log_warn("requeue %s/running/%s", st->name, id);
		st->holdoff = ms_after(mono_now(), L.conf->tick * 1000LL);
	}
}

static long
claim_max(void)
{
	struct stage *st;
	long n = 0;

	if (L.conf->max_children > 0)
		return L.conf->max_children;
	TAILQ_FOREACH(st, &L.stages, entry)
		if (!st->retired)
			n += st->sc->slots;
	return n;
}

/*
 * Whether the stage may claim now: a free slot, a job ready, no hold-off,
 * and room in the budget for a local run. *avail is MemAvailable, read
 * once a pass when a stage with a memory need gets that far (-2: not yet).
 * What the stage waits for otherwise is in st->waiting.
 */
static int
claim_can(struct stage *st, struct timespec now, long long *avail)
{
	st->wait = ADMIT_YES;
	st->waiting[0] = '\0';
	if (L.full || st->retired || st->nrun >= st->sc->slots ||
	    queue_peek(&st->q) == NULL || ms_between(st->holdoff, now) < 0)
		return 0;
	if (st->sc->runner->remote)
		return 1;
	if (st->sc->memory > 0 && *avail == -2)
		*avail = admit_memavailable();
	st->wait = admit_fits(&L.budget, st->sc, *avail, st->waiting,
	    sizeof(st->waiting));
	return st->wait == ADMIT_YES;
}

/*
 * Whether stage a goes before b, both able to claim: the one further along
 * the pipeline, so that work in progress drains first; but one passed over
 * as many times in a row as there are stages goes first, so that none
 * starves. Then the one with fewer runs.
 */
static int
claim_before(const struct stage *a, const struct stage *b, int nstages)
{
	if ((a->passed >= nstages) != (b->passed >= nstages))
		return a->passed >= nstages;
	if (a->depth != b->depth)
		return a->depth > b->depth;
	return a->nrun < b->nrun;
}

/*
 * Whether the CPUs best would take are kept for a stage passed over too
 * often that waits for more CPUs than are free: it gets them as runs end.
 */
static int
claim_reserved(const struct stage *best, int nstages)
{
	const struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry)
		if (st != best && st->passed >= nstages &&
		    st->wait == ADMIT_CPUS && best->passed < nstages)
			return 1;
	return 0;
}

/*
 * Claims while slots are free and the budget has room, in pipeline order
 * (claim_before); ties go round the stages.
 */
void
claim_all(void)
{
	struct stage *st, *best;
	struct timespec now = mono_now();
	long max = claim_max();
	long long avail = -2;
	int n = 0;

	TAILQ_FOREACH(st, &L.stages, entry)
		n++;
	while (L.nrun < max) {
		best = NULL;
		st = L.last != NULL ? TAILQ_NEXT(L.last, entry) : NULL;
		for (size_t i = 0; i < 2; i++, st = NULL) {
			if (st == NULL)
				st = TAILQ_FIRST(&L.stages);
			for (; st != NULL; st = TAILQ_NEXT(st, entry))
				if (claim_can(st, now, &avail) &&
				    (best == NULL || claim_before(st, best, n)))
					best = st;
		}
		if (best == NULL || claim_reserved(best, n))
			return;
		TAILQ_FOREACH(st, &L.stages, entry)
			if (st != best && queue_peek(&st->q) != NULL &&
			    st->nrun < st->sc->slots)
				st->passed++;
		best->passed = 0;
		L.last = best;
		claim_stage(best);
	}
}
