/*
 * loop.c: the one poll loop of spoold. Signals arrive on a signalfd, new
 * jobs on inotify, and everything else is a deadline: the tick, a child's
 * timeout or kill, a deferred job's time, a throttled stage's hold-off, the
 * end of the shutdown grace. Each pass claims what the slots allow, then
 * asks the sync helper to make its renames durable, without waiting.
 */
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <bsd/unistd.h>

#include "spoold.h"

#define QUICK_MS 1000	/* a child that dies sooner died at once */
#define QUICK_MAX 3	/* deaths at once in a row before a hold-off */
#define HOLDOFF_MAX 60
#define SCAN_STAT_MAX 50000 /* longer queues are read without a stat a job */
#define RETAIN_EVERY 3600 /* seconds between looks at done/ for retain */
#define CLEAN_EVERY 3600 /* seconds between looks at tmp/ for leftovers */
#define FREE_MIN (1024 * 1024) /* bytes free in the spool to resume claims */

struct run {
	TAILQ_ENTRY(run) entry;
	struct stage *stage;
	char *id;
	struct status st;
	pid_t pid;
	int logfd;
	struct output out;	/* the pipe of its output, under log_max */
	struct timespec t0;	/* monotonic start */
	struct timespec beat;	/* monotonic time of the last heartbeat */
	struct timespec hbmtime; /* mtime of the heartbeat file last seen */
	struct timespec killat;	/* when SIGKILL is due, once stopping */
	enum stop stop;
	int killed;
	int child;		/* has a process of spoold, counted in L.nrun */
	int slurm;		/* a job of the Slurm cluster */
	int sfd;		/* sbatch's answer, while sbatch runs */
	int asked;		/* in the squeue under way */
	int started;		/* Slurm runs it: its timeout counts */
	int showing;		/* scontrol asked what became of it */
	char seen[96];		/* its state and reason, as squeue last said */
	char lost[256];		/* why Slurm lost it, when it did */
	int wfd;		/* its work folder while it starts, or -1 */
	char cg[32];		/* its control group, or "" */
	long cpus, memory;	/* what it took of the budget */
};

struct stage {
	TAILQ_ENTRY(stage) entry;
	char *name;
	struct stconf *sc;
	int retired;
	int fresh;		/* new: its running/ to recover, its queue/ to read */
	struct sdirs sd;
	int wd;
	struct queue q;
	TAILQ_HEAD(, run) runs;
	long nrun;
	struct counters c;
	int quick;
	struct timespec holdoff;
	int depth;		/* stages before it in the pipeline */
	long long mean_ms;	/* its recent run time, 0 before its first */
	int passed;		/* claims that went to others while it could */
	int wait;		/* what its next run waits for: ADMIT_* */
	char waiting[32];	/* ... in words, or "" */
};

static struct {
	struct conf *conf;
	struct spool *sp;
	TAILQ_HEAD(, stage) stages;
	struct stage *last;	/* the stage claimed from last, for fairness */
	int sigfd, infd, cancelwd;
	int epfd;		/* the output pipes of runs under log_max */
	char **recovered;	/* the jobs recovery found in running/ */
	int orphans;		/* look for processes runs left behind */
	int full;		/* the spool's filesystem is full: no claims */
	struct counters total;
	struct timespec started; /* monotonic */
	long nrun;
	int stopping;		/* 1: waiting for children, 2: stopping them */
	struct timespec stopat;
	struct timespec nexttick, nextretain;
	time_t retain_before;
	int rescan;
	int gone;		/* the spool's folder was removed or replaced */
	struct timespec nextclean;
	struct budget budget;	/* the CPUs and memory runs may take */
} L;

/*
 * The system time to the second, read precisely: time(3) reads a clock
 * that lags by up to a tick, behind the time in a name spoolctl just gave.
 */
static time_t
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static struct stage *
stage_find(const char *name)
{
	struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry)
		if (strcmp(st->name, name) == 0)
			return st;
	return NULL;
}

static const char *
stage_kind(mode_t mode)
{
	if (S_ISLNK(mode))
		return "a symbolic link, not a regular file";
	if (S_ISDIR(mode))
		return "a folder, not a regular file";
	if (S_ISFIFO(mode))
		return "a FIFO, not a regular file";
	if (S_ISSOCK(mode))
		return "a socket, not a regular file";
	return "a device, not a regular file";
}

/*
 * An entry seen in a stage's queue/: a job to add, a thing to quarantine,
 * or a file still being written. Nothing is opened or followed.
 */
static void
stage_seen(struct stage *st, const char *id, int wait_close)
{
	struct timespec t;
	time_t now;
	struct stat sb;
	const char *why;

	if (id[0] == '.')
		return;
	if (spool_name_check(id, &why) == -1) {
		spool_quarantine(L.sp, st->name, &st->sd, DIR_QUEUE, id, why);
		return;
	}
	if (fstatat(st->sd.fd[DIR_QUEUE], id, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT)
			log_warn("stat %s/queue/%s", st->name, id);
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		spool_quarantine(L.sp, st->name, &st->sd, DIR_QUEUE, id,
		    stage_kind(sb.st_mode));
		return;
	}
	if (wait_close && sb.st_nlink == 1)
		return;
	/* The mtime defers; the name's time, if any, orders. */
	now = wall_now();
	if (sb.st_mtim.tv_sec > now || !spool_name_time(id, &t) ||
	    t.tv_sec > now)
		t = sb.st_mtim;
	queue_add(&st->q, id, &t, now);
}

static size_t scan_count;

static int
stage_count_one(void *arg, const char *id, int type)
{
	(void)arg;
	(void)id;
	(void)type;
	scan_count++;
	return 0;
}

static int
stage_scan_one(void *arg, const char *id, int type)
{
	struct stage *st = arg;
	struct timespec t;
	const char *why;

	if (scan_count <= SCAN_STAT_MAX || type != DT_REG) {
		stage_seen(st, id, 0);
		return 0;
	}
	/* A long queue is ordered by its names: no stat of each job. */
	if (spool_name_check(id, &why) == -1)
		spool_quarantine(L.sp, st->name, &st->sd, DIR_QUEUE, id, why);
	else {
		/* Not deferred by a name's time: the mtime is read at claim. */
		if (spool_name_time(id, &t) && t.tv_sec > wall_now())
			t.tv_sec = wall_now();
		queue_add(&st->q, id, &t, wall_now());
	}
	return 0;
}

/* Reads a stage's queue/ whole: at start-up, and after lost events. */
static void
stage_scan(struct stage *st)
{
	queue_clear(&st->q);
	scan_count = 0;
	if (spool_scan(st->sd.fd[DIR_QUEUE], stage_count_one, NULL) == -1 ||
	    spool_scan(st->sd.fd[DIR_QUEUE], stage_scan_one, st) == -1)
		log_warn("read %s/queue", st->name);
}

/*
 * Where a job found in a stage's running/ at start-up goes, by its status
 * record: a run that ended had its record say where before the job moved
 * (spool_transition), so that move is completed; a run cut short goes
 * back to queue/ without spending an attempt. A record of another run
 * keeps only its key.
 */
static struct stage *
recover_place(struct stage *st, struct status *s, int known, int *todir)
{
	struct stage *to = st;

	*todir = DIR_QUEUE;
	if (known && strcmp(s->stage, st->name) == 0) {
		if (s->state == JS_RUNNING) {
			if (s->pgid > 0)
				child_group_stop(s->pgid, s->pstart,
				    L.conf->kill_grace);
			if (s->attempt > 0)
				s->attempt--;
			s->state = JS_QUEUED;
		} else if (s->state == JS_DONE)
			*todir = DIR_DONE;
		else if (s->state == JS_ERROR)
			*todir = DIR_ERROR;
		return to;
	}
	if (known && s->state == JS_QUEUED && (to = stage_find(s->stage)) != NULL)
		return to; /* on its way to the next stage */
	if (known)
		status_renew(s, st->name);
	else
		status_init(s, st->name);
	return st;
}

static struct run *
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
static struct run *
run_new(struct stage *st, const char *id, const struct status *s)
{
	struct run *r;

	if ((r = calloc(1, sizeof(*r))) == NULL || (r->id = strdup(id)) == NULL)
		fatal("calloc");
	r->stage = st;
	r->st = *s;
	r->slurm = st->sc->slurm;
	r->out.fd = r->sfd = r->wfd = -1;
	return r;
}

/*
 * Takes over a Slurm run a previous spoold left: its job may still be on
 * the cluster, known by its number or, if sbatch's answer was never read,
 * by its name. The first squeue tells. Only an sbatch left running is
 * stopped. Its timeout counts from the run's start.
 */
static void
run_adopt(struct stage *st, const char *id, const struct status *s,
    const char *path)
{
	struct run *r;

	if (s->pgid > 0)
		child_group_stop(s->pgid, s->pstart, L.conf->kill_grace);
	child_stop_job(path, L.conf->kill_grace);
	L.recovered = strv_add(L.recovered, path);
	r = run_new(st, id, s);
	r->st.pgid = 0;
	r->st.pstart = 0;
	r->slurm = r->started = 1;
	if ((r->logfd = spool_log_open(L.sp, id)) == -1)
		log_warn("open log/%s.log", id);
	r->t0 = r->beat = mono_now();
	if (s->started > 0 && s->started < time(NULL))
		r->t0.tv_sec -= time(NULL) - s->started;
	TAILQ_INSERT_TAIL(&st->runs, r, entry);
	st->nrun++;
	if (s->slurm > 0)
		log_info("%s/running/%s: Slurm job %lld taken over after a "
		    "restart", st->name, id, s->slurm);
	else
		log_info("%s/running/%s: its Slurm job is looked for by name "
		    "after a restart", st->name, id);
}

/*
 * Recovers a job a previous spoold left in running/, after stopping any
 * process of its run that still runs.
 */
static int
stage_recover_one(void *arg, const char *id, int type)
{
	struct stage *st = arg, *to;
	struct status s;
	struct stat sb;
	const char *why = NULL;
	char path[PATH_MAX];
	int todir, known;

	(void)type;
	if (spool_name_check(id, &why) == -1 ||
	    fstatat(st->sd.fd[DIR_RUNNING], id, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(sb.st_mode)) {
		spool_quarantine(L.sp, st->name, &st->sd, DIR_RUNNING, id,
		    why != NULL ? why : "not a regular file");
		return 0;
	}
	known = spool_status_read(L.sp, id, &s) == 0;
	spool_path(path, sizeof(path), "%s/%s/running/%s", L.conf->spool,
	    st->name, id);
	if (known && s.state == JS_RUNNING && strcmp(s.stage, st->name) == 0 &&
	    (s.slurm > 0 || st->sc->slurm)) {
		run_adopt(st, id, &s, path);
		return 0;
	}
	to = recover_place(st, &s, known, &todir);
	/* A run whose record was not written yet, or that left its group. */
	child_stop_job(path, L.conf->kill_grace);
	L.recovered = strv_add(L.recovered, path);
	s.pgid = 0;
	s.pstart = 0;
	s.updated = time(NULL);
	if (todir == DIR_QUEUE &&
	    faccessat(L.sp->cancelfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		to = st;
		todir = DIR_ERROR;
		s.state = JS_ERROR;
		strlcpy(s.reason, "cancelled", sizeof(s.reason));
		unlinkat(L.sp->cancelfd, id, 0);
	}
	if (spool_transition(L.sp, st->sd.fd[DIR_RUNNING], to->sd.fd[todir], id,
	    &s, CP_RECOVER) == -1) {
		log_warn("recover %s/running/%s", st->name, id);
		return 0;
	}
	log_info("%s/running/%s: to %s/%s after a restart", st->name, id,
	    to->name, spool_dir_name(todir));
	return 0;
}

/*
 * Looks again, a little later, for processes of the recovered jobs: one
 * that a killed spoold was starting may have had its new environment only
 * after the first look.
 */
static void
recover_recheck(void)
{
	char **p;

	if (L.recovered == NULL)
		return;
	poll(NULL, 0, 100);
	for (p = L.recovered; *p != NULL; p++)
		child_stop_job(*p, L.conf->kill_grace);
	strv_free(L.recovered);
	L.recovered = NULL;
}

static struct stage *
stage_new(struct stconf *sc)
{
	struct stage *st;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->name = strdup(sc->name)) == NULL)
		fatal("calloc");
	st->sc = sc;
	TAILQ_INIT(&st->runs);
	queue_init(&st->q);
	if (spool_stage_open(L.sp, st->name, &st->sd, 1) == -1) {
		free(st->name);
		free(st);
		return NULL;
	}
	st->wd = -1;
	TAILQ_INSERT_TAIL(&L.stages, st, entry);
	return st;
}

static int
stage_watch(struct stage *st)
{
	char path[PATH_MAX];

	spool_path(path, sizeof(path), "%s/%s/queue", L.conf->spool, st->name);
	st->wd = inotify_add_watch(L.infd, path, IN_MOVED_TO | IN_CLOSE_WRITE |
	    IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (st->wd == -1) {
		log_warn("inotify %s", path);
		return -1;
	}
	return 0;
}

/* Each stage's place in the pipeline: the stages before it, at most. */
static void
stages_depth(void)
{
	struct stage *st, *to;
	int changed = 1;

	TAILQ_FOREACH(st, &L.stages, entry)
		st->depth = 0;
	while (changed) {	/* the chains have no circle (conf_chain) */
		changed = 0;
		TAILQ_FOREACH(st, &L.stages, entry)
			if (!st->retired && st->sc->next != NULL &&
			    (to = stage_find(st->sc->next)) != NULL &&
			    to->depth < st->depth + 1) {
				to->depth = st->depth + 1;
				changed = 1;
			}
	}
}

/* Makes the stages those of conf, keeping what runs; frees conf's stages. */
static int
stages_apply(struct conf *conf, int startup)
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
	stages_depth();
	TAILQ_FOREACH(st, &L.stages, entry)
		if (!st->retired && st->sc->slurm) {
			slurm_script(L.sp);
			break;
		}
	/* Once every stage is there, for jobs on their way to the next. */
	TAILQ_FOREACH(st, &L.stages, entry)
		if (st->fresh)
			spool_scan(st->sd.fd[DIR_RUNNING], stage_recover_one, st);
	recover_recheck();
	TAILQ_FOREACH(st, &L.stages, entry)
		if (st->fresh) {
			st->fresh = 0;
			stage_scan(st);
			log_info("stage %s: %zu jobs waiting", st->name,
			    st->q.count);
		}
	return 0;
}

static int
key_busy(const char *key)
{
	struct stage *st;
	struct run *r;

	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (strcmp(r->st.key, key) == 0)
				return 1;
	return 0;
}

static void
key_release(const char *key)
{
	struct stage *st;

	if (key[0] == '\0')
		return;
	TAILQ_FOREACH(st, &L.stages, entry)
		queue_release(&st->q, key);
}

static void
run_free(struct run *r)
{
	admit_give(&L.budget, r->cpus, r->memory);
	if (r->wfd != -1)
		close(r->wfd);
	free(r->id);
	free(r);
}

static void run_end(struct run *, int);
static void run_lose(struct run *, const char *);
static void loop_folders(void);
static void loop_shutdown(int);

/* A write the spool's filesystem refused for want of space. */
static void
loop_full(const char *what)
{
	if (errno != ENOSPC && errno != EDQUOT)
		return;
	if (!L.full)
		log_warnx("%s: %s: no claims until space returns", what,
		    strerror(errno));
	L.full = 1;
}

/* Whether the spool has room again, once a tick while it is full. */
static void
loop_room(void)
{
	struct statvfs vfs;

	if (!L.full || fstatvfs(L.sp->dfd, &vfs) == -1 ||
	    (unsigned long long)vfs.f_bavail * vfs.f_frsize < FREE_MIN)
		return;
	L.full = 0;
	log_info("space in the spool again: claims resume");
}

/* The output of a run: its log, or a pipe to it under log_max. */
static int
run_output(struct run *r, int *wfd)
{
	struct epoll_event ev = {.events = EPOLLIN};

	if (child_output_open(&r->out, r->logfd, r->stage->sc->log_max,
	    wfd) == -1)
		return -1;
	if (r->out.fd == -1)
		return 0;
	ev.data.ptr = r;
	if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, r->out.fd, &ev) == -1) {
		log_warn("epoll_ctl");
		close(*wfd);
		child_output_close(&r->out);
		return -1;
	}
	return 0;
}

static void
count(uint64_t *of_stage, uint64_t *of_total)
{
	(*of_stage)++;
	(*of_total)++;
}

/* The hook of event, if the stage has one, for a job now in folder dir. */
static void
stage_hook(struct stage *st, const char *event, int dir, const char *id,
    const struct status *s)
{
	char job[PATH_MAX];

	spool_path(job, sizeof(job), "%s/%s/%s/%s", L.conf->spool, st->name,
	    spool_dir_name(dir), id);
	hook_add(st->sc, event, id, job, s);
}

/*
 * In a stage with dedupe, the content of a job just claimed is hashed: a
 * job whose content another job had first goes to error/, and 1 says so.
 * A job that cannot be hashed or recorded runs: twice rather than never.
 */
static int
stage_dedupe(struct stage *st, const char *id, struct status *s)
{
	char first[ID_MAX + 1];
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
	s->state = JS_ERROR;
	s->finished = s->updated = time(NULL);
	snprintf(s->reason, sizeof(s->reason), "duplicate of %s", first);
	if (spool_transition(L.sp, st->sd.fd[DIR_RUNNING],
	    st->sd.fd[DIR_ERROR], id, s, CP_ERROR) == -1) {
		log_warn("move %s/running/%s to error/", st->name, id);
		s->state = JS_QUEUED;
		s->reason[0] = '\0';
		return 0;
	}
	count(&st->c.duplicates, &L.total.duplicates);
	count(&st->c.error, &L.total.error);
	page_error(s->finished, st->name, id, s->reason);
	log_info("%s: %s: duplicate of %s; to error/", st->name, id, first);
	stage_hook(st, "error", DIR_ERROR, id, s);
	return 1;
}

/*
 * The work folder and the log of a run about to start, and its output:
 * its log, or a pipe to it under log_max, in *wfd. -1 when the spool
 * cannot give them (a full disk, say).
 */
static int
run_files(struct run *r, int *wfd)
{
	const struct stconf *sc = r->stage->sc;
	char run[32];

	if ((r->wfd = spool_job_make(L.sp, r->id, sc->user ? sc->uid :
	    (uid_t)-1, sc->gid)) == -1 ||
	    (r->logfd = spool_log_open(L.sp, r->id)) == -1) {
		loop_full("start");
		return -1;
	}
	snprintf(run, sizeof(run), "attempt %d", r->st.attempt);
	*wfd = r->logfd;
	if (spool_log_header(r->logfd, r->stage->name, run,
	    r->st.started) == -1 || (!r->slurm && run_output(r, wfd) == -1)) {
		loop_full("log");
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
	int wfd, cgfd = -1;

	r = run_new(st, id, s);
	r->st.attempt++;
	r->st.state = JS_RUNNING;
	r->st.started = r->st.updated = time(NULL);
	r->st.finished = 0;
	r->st.progress[0] = '\0';
	if (run_files(r, &wfd) == -1) {
		run_free(r);
		return -1;
	}
	spool_path(job, sizeof(job), "%s/%s/running/%s", L.conf->spool,
	    st->name, id);
	spool_path(work, sizeof(work), "%s/work/%s", L.conf->spool, id);
	spool_path(hb, sizeof(hb), "%s/heartbeat", work);
	if (!r->slurm) {
		cgfd = cgroup_enter(r->cg, sizeof(r->cg));
		r->cpus = admit_share(&L.budget, st->sc);
		r->memory = st->sc->memory;
		admit_take(&L.budget, r->cpus, r->memory);
	}
	sw = (struct spawn){.sc = st->sc, .spooldir = L.conf->spool, .id = id,
	    .job = job, .workdir = work, .heartbeat = hb,
	    .attempt = r->st.attempt, .logfd = wfd, .workfd = r->wfd,
	    .cgfd = cgfd, .cpus = r->cpus};
	r->t0 = r->beat = mono_now();
	TAILQ_INSERT_TAIL(&st->runs, r, entry);
	st->nrun++;
	L.nrun++;
	r->child = 1;
	r->pid = r->slurm ? slurm_submit(&sw, &r->sfd) : child_spawn(&sw);
	if (cgfd != -1)
		close(cgfd);
	if (wfd != r->logfd)
		close(wfd);
	close(r->wfd);
	r->wfd = -1;
	if (r->pid == -1 && r->slurm) {
		r->pid = 0;
		run_lose(r, "slurm: sbatch could not be run");
		return 0;
	}
	if (r->pid == -1) {
		if (errno == EAGAIN || errno == ENOMEM || errno == EMFILE ||
		    errno == ENFILE) {
			/* The system is short of processes: not the job's fault. */
			log_warn("%s: spawn for %s", st->name, id);
			TAILQ_REMOVE(&st->runs, r, entry);
			st->nrun--;
			L.nrun--;
			child_output_close(&r->out);
			close(r->logfd);
			cgroup_leave(r->cg, r->id);
			run_free(r);
			return -1;
		}
		/* A program that cannot run fails like one that exits 127. */
		r->pid = 0;
		run_end(r, W_EXITCODE(127, 0));
		return 0;
	}
	r->st.pgid = r->pid;
	r->st.pstart = child_starttime(r->pid);
	CRASHPOINT(CP_START);
	if (spool_status_write(L.sp, id, &r->st) == -1)
		loop_full("status");
	events_add(L.sp, id, "running", &r->st);
	log_debug("%s: %s attempt %d started, pid %ld", st->name, id,
	    r->st.attempt, (long)r->pid);
	return 0;
}

/*
 * A claim that failed for a reason not the job's (a folder made unreadable,
 * say): the job waits a tick, and so does its stage.
 */
static void
stage_claim_failed(struct stage *st, struct qent *e, const char *what)
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
static void
stage_record(struct stage *st, const char *id, struct status *s)
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
stage_claim(struct stage *st)
{
	struct qent *e = queue_peek(&st->q);
	struct status s;
	struct stat sb;
	time_t now = time(NULL);
	char id[ID_MAX + 1];

	strlcpy(id, e->id, sizeof(id));
	if (fstatat(st->sd.fd[DIR_QUEUE], id, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			queue_remove(&st->q, e);
		else
			stage_claim_failed(st, e, "stat");
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		queue_remove(&st->q, e);
		stage_seen(st, id, 0);
		return;
	}
	if (sb.st_mtim.tv_sec > now) {
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
	stage_record(st, id, &s);
	if (s.submitted == 0)
		s.submitted = sb.st_mtim.tv_sec;
	s.priority = e->prio;
	if (s.key[0] != '\0' && key_busy(s.key)) {
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
			stage_claim_failed(st, e, "claim");
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
	if (st->sc->dedupe && !s.forced && stage_dedupe(st, id, &s) == 1)
		return;
	if (run_start(st, id, &s) == -1) {
		spool_touch(st->sd.fd[DIR_RUNNING], id, now + L.conf->tick);
		if (spool_move(L.sp, st->sd.fd[DIR_RUNNING],
		    st->sd.fd[DIR_QUEUE], id) == -1)
			log_warn("requeue %s/running/%s", st->name, id);
		st->holdoff = ms_after(mono_now(), L.conf->tick * 1000LL);
	}
}

static long
loop_max_children(void)
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
 * and room in the budget for a local run (avail: MemAvailable). What it
 * waits for otherwise is in st->waiting.
 */
static int
stage_can_claim(struct stage *st, struct timespec now, long long avail)
{
	st->wait = ADMIT_YES;
	st->waiting[0] = '\0';
	if (L.full || st->retired || st->nrun >= st->sc->slots ||
	    queue_peek(&st->q) == NULL || ms_between(st->holdoff, now) < 0)
		return 0;
	if (!st->sc->slurm)
		st->wait = admit_fits(&L.budget, st->sc, avail, st->waiting,
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
stage_before(const struct stage *a, const struct stage *b, int nstages)
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
loop_reserved(const struct stage *best, int nstages)
{
	const struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry)
		if (st != best && st->passed >= nstages &&
		    st->wait == ADMIT_CPUS && best->passed < nstages)
			return 1;
	return 0;
}

/* MemAvailable when a stage that may claim says how much memory it needs. */
static long long
loop_memavailable(void)
{
	struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry)
		if (st->sc->memory > 0 && queue_peek(&st->q) != NULL)
			return admit_memavailable();
	return -1;
}

/*
 * Claims while slots are free and the budget has room, in pipeline order
 * (stage_before); ties go round the stages.
 */
static void
loop_claim(void)
{
	struct stage *st, *best;
	struct timespec now = mono_now();
	long max = loop_max_children();
	long long avail = loop_memavailable();
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
				if (stage_can_claim(st, now, avail) &&
				    (best == NULL || stage_before(st, best, n)))
					best = st;
		}
		if (best == NULL || loop_reserved(best, n))
			return;
		TAILQ_FOREACH(st, &L.stages, entry)
			if (st != best && queue_peek(&st->q) != NULL &&
			    st->nrun < st->sc->slots)
				st->passed++;
		best->passed = 0;
		L.last = best;
		stage_claim(best);
	}
}

/*
 * Where job id is in the spool, but for the running/ of stage not: 1 with
 * its stage and folder, or 0.
 */
static int
loop_where(const char *id, const struct stage *not, struct stage **at,
    int *dir)
{
	struct stage *st;
	struct stat sb;
	int d;

	TAILQ_FOREACH(st, &L.stages, entry)
		for (d = 0; d < NDIRS; d++)
			if ((st != not || d != DIR_RUNNING) &&
			    fstatat(st->sd.fd[d], id, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0) {
				*at = st;
				*dir = d;
				return 1;
			}
	return 0;
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
	if (loop_where(r->id, st, &at, &dir)) {
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
		loop_folders();
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

static int
place_point(enum outcome out)
{
	static const int points[] = {
		[OUT_NEXT] = CP_CHAIN, [OUT_DONE] = CP_DONE,
		[OUT_RETRY] = CP_RETRY, [OUT_ERROR] = CP_ERROR,
		[OUT_REQUEUE] = CP_REQUEUE, [OUT_LOST] = CP_RETRY,
	};

	return points[out];
}

/* Moves the job of a run that ended to where its outcome sends it. */
static void
run_place(struct run *r, enum outcome out, const char *why)
{
	struct stage *st = r->stage, *to = st;
	int todir = DIR_DONE, from = st->sd.fd[DIR_RUNNING], moved;
	long delay = 0;
	char lost[sizeof(r->st.reason)];

	switch (run_lost_job(r, lost, sizeof(lost))) {
	case 1:
		return;
	case -1:
		log_warnx("%s: %s: %s", st->name, r->id, lost);
		why = lost;
		out = OUT_ERROR;
	}
	if (out == OUT_LOST && ++r->st.lost >= st->sc->lost_max) {
		snprintf(lost, sizeof(lost), "lost %d times in a row; last: %s",
		    r->st.lost, why);
		log_warnx("%s: %s: %s", st->name, r->id, lost);
		why = lost;
		out = OUT_ERROR;
	} else if (out != OUT_LOST && out != OUT_REQUEUE)
		r->st.lost = 0;
	strlcpy(r->st.reason, why, sizeof(r->st.reason));
	if (out == OUT_NEXT && (to = stage_find(st->sc->next)) == NULL) {
		log_warnx("%s: next stage %s is gone; job to done/", st->name,
		    st->sc->next);
		to = st;
		out = OUT_DONE;
	}
	if (out == OUT_NEXT) {
		todir = DIR_QUEUE;
		strlcpy(r->st.stage, to->name, sizeof(r->st.stage));
		r->st.attempt = 0;
	} else if (out == OUT_RETRY || out == OUT_LOST) {
		delay = spool_backoff(st->sc->backoff, st->sc->backoff_max,
		    r->st.attempt, arc4random());
		spool_touch(from, r->id, time(NULL) + delay);
		todir = DIR_QUEUE;
		if (out == OUT_LOST)
			r->st.attempt--; /* not the job's doing */
	} else if (out == OUT_REQUEUE) {
		r->st.attempt--;
		todir = DIR_QUEUE;
	} else if (out == OUT_ERROR)
		todir = DIR_ERROR;
	r->st.state = todir == DIR_DONE ? JS_DONE : todir == DIR_ERROR ?
	    JS_ERROR : delay > 0 ? JS_DEFERRED : JS_QUEUED;
	r->st.pgid = 0;
	r->st.pstart = 0;
	moved = spool_transition(L.sp, from, to->sd.fd[todir], r->id, &r->st,
	    place_point(out));
	if (moved == -1 && errno == ENOENT && spool_gone(to->sd.fd[todir])) {
		/* Its folder was removed by hand: made again, then the move. */
		loop_folders();
		from = st->sd.fd[DIR_RUNNING];
		moved = spool_move(L.sp, from, to->sd.fd[todir], r->id);
	}
	if (moved == -1) {
		log_warn("move %s/running/%s to %s/%s", st->name, r->id,
		    to->name, spool_dir_name(todir));
		snprintf(r->st.reason, sizeof(r->st.reason), "could not move "
		    "to %s/%s: %s", to->name, spool_dir_name(todir),
		    strerror(errno));
		strlcpy(r->st.stage, st->name, sizeof(r->st.stage));
		r->st.state = JS_ERROR;
		out = OUT_ERROR;
		if (spool_transition(L.sp, from, st->sd.fd[DIR_ERROR], r->id,
		    &r->st, CP_ERROR) == -1) {
			log_warn("move %s/running/%s to error/", st->name,
			    r->id);
			return;
		}
		to = st;
		todir = DIR_ERROR;
		why = r->st.reason;
	}
	if (out == OUT_DONE)
		count(&st->c.done, &L.total.done);
	else if (out == OUT_ERROR) {
		count(&st->c.error, &L.total.error);
		page_error(r->st.finished, to->name, r->id, r->st.reason);
	}
	else if (out == OUT_RETRY || out == OUT_LOST)
		count(&st->c.retries, &L.total.retries);
	if (out != OUT_NEXT && out != OUT_REQUEUE)
		stage_hook(to, out == OUT_DONE ? "done" : out == OUT_ERROR ?
		    "error" : "retry", todir, r->id, &r->st);
	if (todir == DIR_QUEUE)	/* before inotify says so */
		stage_seen(to, r->id, 0);
	log_debug("%s: %s to %s/%s%s%s", st->name, r->id, to->name,
	    spool_dir_name(todir), why[0] ? ": " : "", why);
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
stage_throttle(struct stage *st, long long ms, int failed)
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

static void
run_end(struct run *r, int ws)
{
	struct stage *st = r->stage;
	long long ms = ms_between(r->t0, mono_now());
	char why[256], how[sizeof(r->lost)], run[32];
	enum outcome out;

	CRASHPOINT(CP_FINISH);
	child_signal(r->pid, SIGKILL); /* what the child left in its group */
	cgroup_leave(r->cg, r->id);	/* and in its control group */
	L.orphans = 1;		/* and what left both */
	child_output_close(&r->out);
	run_heartbeat(r, mono_now());
	st->c.runs++;
	st->c.run_ms_total += ms;
	st->mean_ms = st->mean_ms > 0 ? (7 * st->mean_ms + ms) / 8 : ms + 1;
	L.total.runs++;
	out = child_outcome(st->sc, ws, r->stop, r->st.attempt,
	    st->sc->next != NULL, why, sizeof(why));
	child_describe(ws, how, sizeof(how));
	if (r->slurm)
		slurm_log(L.sp, r->id, r->st.slurm, r->logfd, st->sc->log_max);
	if (r->lost[0] != '\0') {
		out = OUT_LOST;
		strlcpy(why, r->lost, sizeof(why));
		strlcpy(how, r->lost, sizeof(how));
	} else if (r->st.slurm > 0) {
		size_t n = strlen(how);
		snprintf(how + n, sizeof(how) - n, " (Slurm job %lld)",
		    r->st.slurm);
	}
	snprintf(run, sizeof(run), "attempt %d", r->st.attempt);
	spool_log_footer(r->logfd, st->name, run, how, ms);
	close(r->logfd);
	r->st.finished = r->st.updated = time(NULL);
	r->st.exit = WIFEXITED(ws) && out != OUT_LOST ? WEXITSTATUS(ws) : -1;
	r->st.signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
	/*
	 * A child that crashed or could not run, not one that answered with
	 * an exit code: a job that fails is the job's backoff to slow down.
	 */
	stage_throttle(st, ms, r->stop == STOP_NONE && (WIFSIGNALED(ws) ||
	    WEXITSTATUS(ws) == 127 || out == OUT_LOST));
	TAILQ_REMOVE(&st->runs, r, entry);
	st->nrun--;
	if (r->child)
		L.nrun--;
	run_place(r, out, why);
	if (r->stop == STOP_CANCEL && unlinkat(L.sp->cancelfd, r->id, 0) == -1 &&
	    errno != ENOENT)
		log_warn("unlink index/cancel/%s", r->id);
	key_release(r->st.key);
	run_free(r);
}

/* A Slurm run that ended without its command's exit status. */
static void
run_lose(struct run *r, const char *why)
{
	log_warnx("%s: %s: %s", r->stage->name, r->id, why);
	strlcpy(r->lost, why, sizeof(r->lost));
	run_end(r, 0);
}

/*
 * sbatch of a Slurm run ended: the job's number. An sbatch that failed
 * may still have submitted the job (an answer lost on the way): the next
 * squeue looks for it by name, and the run is lost only if it is not there.
 */
static void
run_submitted(struct run *r, int ws)
{
	long long job = slurm_jobid(r->sfd);
	char how[64];

	r->sfd = -1;
	r->pid = 0;
	r->child = 0;
	L.nrun--;
	r->st.pgid = 0;
	r->st.pstart = 0;
	if (job == 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		child_describe(ws, how, sizeof(how));
		log_warnx("%s: %s: sbatch failed (%s); the job is looked for by "
		    "name", r->stage->name, r->id, how);
		return;
	}
	CRASHPOINT(CP_SUBMIT);
	r->st.slurm = job;
	if (spool_status_write(L.sp, r->id, &r->st) == -1)
		loop_full("status");
	log_debug("%s: %s attempt %d is Slurm job %lld", r->stage->name,
	    r->id, r->st.attempt, job);
	if (r->stop != STOP_NONE)
		slurm_cancel(job, 0);
}

/*
 * A Slurm run lost: its job ended without the exit status of its command
 * (a node failed, the job could not start or write). said is what
 * scontrol said of the job, or NULL.
 */
static void
run_slurm_lost(struct run *r, const char *said)
{
	char why[sizeof(r->lost)];

	if (r->st.slurm > 0)
		snprintf(why, sizeof(why), "slurm: job %lld ended without an "
		    "exit status (last seen %s; %s)", r->st.slurm,
		    r->seen[0] != '\0' ? r->seen : "by no squeue",
		    said != NULL ? said : "scontrol not asked");
	else
		snprintf(why, sizeof(why), "slurm: no job on the cluster "
		    "(sbatch failed)");
	run_lose(r, why);
}

/*
 * A Slurm run whose job squeue no longer lists: it ended with the exit
 * status the batch script left, or was stopped, or was lost to Slurm.
 */
static void
run_slurm_end(struct run *r)
{
	int code;

	if (slurm_exit(L.sp, r->id, r->st.slurm, &code))
		run_end(r, W_EXITCODE(code, 0));
	else if (r->stop != STOP_NONE)
		run_end(r, W_EXITCODE(0, SIGKILL));
	else if (r->showing)
		; /* lost: scontrol is asked what became of it */
	else if (r->st.slurm > 0 && slurm_show(r->st.slurm) == 0)
		r->showing = 1;
	else
		run_slurm_lost(r, NULL);
}

/* scontrol answered for job: what became of the run it was. */
static void
slurm_shown(long long job, const char *said)
{
	struct stage *st;
	struct run *r;
	int code;

	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (r->slurm && r->showing && r->st.slurm == job) {
				if (slurm_exit(L.sp, r->id, job, &code))
					run_end(r, W_EXITCODE(code, 0));
				else
					run_slurm_lost(r, said);
				return;
			}
}

/*
 * A Slurm run squeue still lists, as job number job in state: found by its
 * name if its number was not known, and timed from when it runs.
 */
static void
run_listed(struct run *r, long long job, const char *state, const char *why)
{
	snprintf(r->seen, sizeof(r->seen), "%s (%s)", state, why);
	if (r->st.slurm == 0) {
		r->st.slurm = job;
		log_info("%s: %s: found on the cluster as Slurm job %lld",
		    r->stage->name, r->id, job);
		if (spool_status_write(L.sp, r->id, &r->st) == -1)
			loop_full("status");
		if (r->stop != STOP_NONE)
			slurm_cancel(job, 0);
	}
	if (!r->started && strcmp(state, "RUNNING") == 0) {
		r->started = 1;
		r->t0 = r->beat = mono_now();
	}
}

/* squeue answered: the runs it was asked about and did not list ended. */
static void
slurm_answered(void)
{
	struct stage *st;
	struct run *r, *next;
	const char *state, *why;
	long long job;

	TAILQ_FOREACH(st, &L.stages, entry)
		for (r = TAILQ_FIRST(&st->runs); r != NULL; r = next) {
			next = TAILQ_NEXT(r, entry);
			if (!r->asked)
				continue;
			r->asked = 0;
			job = r->st.slurm;
			if ((state = slurm_state(&job, r->id, &why)) == NULL)
				run_slurm_end(r);
			else
				run_listed(r, job, state, why);
		}
}

/* One squeue a tick for the Slurm runs submitted. */
static void
loop_slurm(void)
{
	struct stage *st;
	struct run *r;
	char **ids = NULL;
	size_t n = 0;

	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (r->slurm && r->pid == 0)
				n++;
	if (n == 0)
		return;
	if ((ids = calloc(n, sizeof(*ids))) == NULL)
		fatal("calloc");
	n = 0;
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (r->slurm && r->pid == 0)
				ids[n++] = r->id;
	if (slurm_query(ids, n) == 0)
		TAILQ_FOREACH(st, &L.stages, entry)
			TAILQ_FOREACH(r, &st->runs, entry)
				if (r->slurm && r->pid == 0)
					r->asked = 1;
	free(ids);
}

static struct run *
run_find(pid_t pid)
{
	struct stage *st;
	struct run *r;

	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (r->pid == pid)
				return r;
	return NULL;
}

static void
loop_reap(void)
{
	struct run *r;
	char said[128];
	long long job;
	pid_t pid;
	int ws, k;

	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
		if ((r = run_find(pid)) != NULL && r->slurm)
			run_submitted(r, ws);
		else if (r != NULL)
			run_end(r, ws);
		else if (hook_reaped(pid, ws))
			continue;
		else if ((k = slurm_reaped(pid, ws, &job, said,
		    sizeof(said))) == 2)
			slurm_answered();
		else if (k == 3)
			slurm_shown(job, said);
		else if (k == 0)
			L.orphans = 1; /* its children are ours now */
	if (pid == -1 && errno != ECHILD)
		log_warn("waitpid");
}

/*
 * Whether a child of spoold is its own: the sync helper, a run's or a
 * hook's leader (job NULL), or a process of a run or a hook still going
 * (its SPOOL_JOB).
 */
static int
run_ours(pid_t pid, const char *job)
{
	char path[PATH_MAX];
	struct stage *st;
	struct run *r;

	if (hook_ours(pid, job))
		return 1;
	if (job == NULL)
		return pid == L.sp->syncpid || run_find(pid) != NULL ||
		    slurm_ours(pid);
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry) {
			spool_path(path, sizeof(path), "%s/%s/running/%s",
			    L.conf->spool, st->name, r->id);
			if (strcmp(path, job) == 0)
				return 1;
		}
	return 0;
}

/* Copies the output of the runs under log_max to their logs. */
static void
loop_output(void)
{
	struct epoll_event ev[32];
	struct run *r;
	int i, n;

	n = epoll_wait(L.epfd, ev, 32, 0);
	for (i = 0; i < n; i++) {
		r = ev[i].data.ptr;
		if (child_output_read(&r->out, 4) == 0)
			child_output_close(&r->out);
	}
}

static void
run_stop(struct run *r, enum stop why)
{
	struct stage *st = r->stage;

	if (r->stop != STOP_NONE)
		return;
	r->stop = why;
	r->killat = ms_after(mono_now(), L.conf->kill_grace * 1000LL);
	if (!r->slurm)
		child_signal(r->pid, SIGTERM);
	else if (r->pid == 0 && r->st.slurm > 0)
		slurm_cancel(r->st.slurm, 1);
	if (why == STOP_TIMEOUT || why == STOP_HEARTBEAT) {
		count(&st->c.timeouts, &L.total.timeouts);
		log_warnx("%s: %s: %s; stopping it", st->name, r->id,
		    why == STOP_TIMEOUT ? "timeout" : "no heartbeat");
	}
}

/* The end of a run that did not stop at SIGTERM. */
static void
run_kill(struct run *r)
{
	r->killed = 1;
	if (!r->slurm)
		child_signal(r->pid, SIGKILL);
	else if (r->pid == 0 && r->st.slurm > 0)
		slurm_cancel(r->st.slurm, 0);
}

/* Timeouts, heartbeats and kills of every run. */
static void
loop_stale(void)
{
	struct timespec now = mono_now();
	struct stage *st;
	struct run *r;

	hook_stale(now, L.conf->kill_grace);
	slurm_stale(now);
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry) {
			if (r->stop != STOP_NONE) {
				if (!r->killed && ms_between(r->killat, now) >= 0)
					run_kill(r);
				continue;
			}
			if (r->slurm && !r->started)
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

static int
metrics_stage(void *arg, const char *name, const struct counters *c)
{
	struct stage *st;

	(void)arg;
	if ((st = stage_find(name)) != NULL)
		st->c = *c;
	return 0;
}

/* Where a run runs, in words, for the page. */
static void
run_where(const struct run *r, char *buf, size_t len)
{
	if (!r->slurm)
		snprintf(buf, len, "pid %ld", (long)r->pid);
	else if (r->st.slurm == 0)
		snprintf(buf, len, "slurm, %s", r->pid > 0 ? "submitting" :
		    "looked for");
	else
		snprintf(buf, len, "slurm %lld%s", r->st.slurm, r->started ?
		    "" : ", pending");
}

/* index/status.html: the counts of metrics.json, and the running jobs. */
static void
loop_page(time_t now, time_t started, const struct mstage *ms, size_t n)
{
	struct timespec mono = mono_now();
	struct prun *pr;
	struct stage *st;
	struct run *r;
	char (*where)[48], *html;
	size_t i = 0;

	page_sample(now, &L.total);
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			i++;
	if ((pr = calloc(i + 1, sizeof(*pr))) == NULL ||
	    (where = calloc(i + 1, sizeof(*where))) == NULL)
		fatal("calloc");
	i = 0;
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry) {
			run_where(r, where[i], sizeof(where[i]));
			pr[i] = (struct prun){st->name, r->id, r->st.progress,
			    where[i], r->st.attempt, r->slurm && !r->started ?
			    0 : ms_between(r->t0, mono)};
			i++;
		}
	html = page_encode(now, getpid(), started, L.conf->tick, &L.total, ms,
	    n, pr, i);
	if (html == NULL)
		log_warnx("status.html: cannot encode");
	else if (page_write(L.sp, html) == -1 && !L.full) {
		log_warn("write index/status.html");
		loop_full("status.html");
	}
	free(html);
	free(where);
	free(pr);
}

static void
loop_metrics(void)
{
	struct mstage *ms;
	struct stage *st;
	size_t n = 0;
	time_t now, started;
	char *json;

	TAILQ_FOREACH(st, &L.stages, entry)
		n++;
	if ((ms = calloc(n + 1, sizeof(*ms))) == NULL)
		fatal("calloc");
	n = 0;
	TAILQ_FOREACH(st, &L.stages, entry) {
		ms[n].name = st->name;
		ms[n].slots = st->retired ? 0 : st->sc->slots;
		ms[n].queued = queue_ready(&st->q);
		ms[n].deferred = queue_deferred(&st->q);
		ms[n].running = st->nrun;
		ms[n].waiting = st->waiting;
		ms[n].next = st->retired ? NULL : st->sc->next;
		ms[n].parallel = st->retired ? 0 : st->sc->slurm ?
		    st->sc->slots : admit_parallel(&L.budget, st->sc);
		ms[n].mean_ms = st->mean_ms;
		ms[n].c = &st->c;
		n++;
	}
	/* The uptime by the monotonic clock, whatever the system time does. */
	now = time(NULL);
	started = now - (mono_now().tv_sec - L.started.tv_sec);
	json = metrics_encode(now, getpid(), started, &L.total, ms, n);
	if (json == NULL)
		log_warnx("metrics: cannot encode");
	else if (metrics_write(L.sp, json) == -1 && !L.full) {
		log_warn("write index/metrics.json");
		loop_full("metrics");
	}
	free(json);
	json = forecast_encode(&L.budget, admit_memavailable(), ms, n);
	if (json != NULL && forecast_write(L.sp, json) == -1 && !L.full)
		log_warn("write index/schedule.json");
	free(json);
	loop_page(now, started, ms, n);
	free(ms);
}

/* The counts, in the process title and to the service manager. */
static void
loop_title(void)
{
	struct stage *st;
	size_t queued = 0, deferred = 0;
	long running = 0;

	TAILQ_FOREACH(st, &L.stages, entry) {
		queued += queue_ready(&st->q);
		deferred += queue_deferred(&st->q);
		running += st->nrun;
	}
	setproctitle("%s%ld running, %zu queued",
	    L.stopping ? "stopping, " : "", running, queued);
	notify_status("%s%ld running, %zu queued, %zu deferred, %llu done, "
	    "%llu error", L.stopping ? "stopping, " : "", running, queued,
	    deferred, (unsigned long long)L.total.done,
	    (unsigned long long)L.total.error);
}

static int
retain_one(void *arg, const char *id, int type)
{
	struct stage *st = arg;
	struct stat sb;

	(void)type;
	if (fstatat(st->sd.fd[DIR_DONE], id, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sb.st_ctime < L.retain_before &&
	    spool_purge(L.sp, st->sd.fd[DIR_DONE], id) == 0)
		log_debug("%s/done/%s: purged after %ld days", st->name, id,
		    st->sc->retain);
	return 0;
}

/* Purges what has been in a done/ longer than its stage's retain. */
static void
loop_retain(void)
{
	struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry) {
		if (st->retired || st->sc->retain == 0)
			continue;
		L.retain_before = time(NULL) - st->sc->retain * 86400;
		if (spool_scan(st->sd.fd[DIR_DONE], retain_one, st) == -1)
			log_warn("read %s/done", st->name);
	}
}

static int
loop_watch_cancel(void)
{
	char path[PATH_MAX];

	spool_path(path, sizeof(path), "%s/index/cancel", L.conf->spool);
	if ((L.cancelwd = inotify_add_watch(L.infd, path, IN_MOVED_TO |
	    IN_CLOSE_WRITE | IN_ONLYDIR | IN_DONT_FOLLOW)) == -1) {
		log_warn("inotify %s", path);
		return -1;
	}
	return 0;
}

/* Makes again the folders an operator removed, and reads them anew. */
static void
loop_folders(void)
{
	struct stage *st;
	int i;

	if (L.gone)
		return;
	if (spool_repair(L.sp) == 1) {
		inotify_rm_watch(L.infd, L.cancelwd);
		loop_watch_cancel();
	}
	TAILQ_FOREACH(st, &L.stages, entry) {
		for (i = 0; i < NDIRS && !spool_gone(st->sd.fd[i]); i++)
			;
		if (i == NDIRS)
			continue;
		log_warnx("stage %s: its folders were removed; making them again",
		    st->name);
		spool_stage_close(&st->sd);
		if (spool_stage_open(L.sp, st->name, &st->sd, 1) == -1) {
			st->retired = 1;
			continue;
		}
		if (st->wd != -1)
			inotify_rm_watch(L.infd, st->wd);
		stage_watch(st);
		stage_scan(st);
	}
}

/*
 * Whether the spool is still the one spoold holds: a spool folder removed
 * or replaced (by another, which another spoold may hold) stops it.
 */
static void
loop_spool(void)
{
	if (L.gone)
		return;
	if (!spool_replaced(L.sp, L.conf->spool)) {
		spool_pidfile(L.sp);
		return;
	}
	L.gone = 1;
	log_warnx("%s: the spool's folder was removed or replaced; no more "
	    "claims: stopping", L.conf->spool);
	loop_shutdown(0);
}

/* Whether job id is in a folder of a stage. */
static int
loop_job(const char *id)
{
	struct stage *st;
	int dir;

	return loop_where(id, NULL, &st, &dir);
}

/* What submitters and writers that died left in tmp/ and index/. */
static void
loop_clean(void)
{
	spool_tmp_clean(L.sp, L.sp->tmpfd, loop_job);
	spool_tmp_clean(L.sp, L.sp->indexfd, NULL);
}

static void
loop_tick(void)
{
	struct timespec now = mono_now();

	loop_spool();
	loop_folders();
	loop_room();
	loop_stale();
	cgroup_tick();
	if (ms_between(L.nextretain, now) >= 0) {
		loop_retain();
		L.nextretain = ms_after(now, RETAIN_EVERY * 1000LL);
	}
	if (ms_between(L.nextclean, now) >= 0) {
		loop_clean();
		L.nextclean = ms_after(now, CLEAN_EVERY * 1000LL);
	}
	events_tick(L.sp, L.conf->events_max);
	loop_slurm();
	loop_metrics();
	loop_title();
}

static void
loop_reload(void)
{
	struct conf *c;

	log_info("SIGHUP: reloading %s", L.conf->path);
	notify_reloading();
	if ((c = conf_load(L.conf->path, geteuid())) == NULL)
		log_warnx("reload failed; the config in force stays");
	else if (strcmp(c->spool, L.conf->spool) != 0) {
		log_warnx("reload: the spool cannot change while running "
		    "(restart spoold); the config in force stays");
		conf_free(c);
	} else {
		stages_apply(c, 0);
		conf_free(L.conf);
		L.conf = c;
		log_info("reloaded");
	}
	notify_send("READY=1");
}

static void
loop_shutdown(int hard)
{
	struct stage *st;
	struct run *r;

	if (L.stopping == 0) {
		notify_send("STOPPING=1");
		L.stopping = 1;
		L.stopat = ms_after(mono_now(), L.conf->shutdown_grace * 1000LL);
		log_info("stopping: waiting up to %lds for %ld children",
		    L.conf->shutdown_grace, L.nrun);
	}
	if (!hard)
		return;
	L.stopping = 2;
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			if (!r->slurm)
				run_stop(r, STOP_SHUTDOWN);
	hook_stop_all(L.conf->kill_grace);
}

static void
loop_signals(void)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(L.sigfd, &si, sizeof(si))) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			loop_reload();
			break;
		case SIGTERM:
		case SIGINT:
			loop_shutdown(L.stopping != 0);
			break;
		case SIGCHLD:
			break;
		}
	}
	loop_reap();
}

/*
 * A request to cancel a job that waits in a queue/ (spoolctl cancel run by
 * a member, who may not move it to error/ itself): it goes there.
 */
static void
stage_cancel(const char *id)
{
	struct stage *st;
	struct qent *e;
	struct status s;
	int dir;

	if (!loop_where(id, NULL, &st, &dir) || dir != DIR_QUEUE)
		return;
	stage_record(st, id, &s);
	s.state = JS_ERROR;
	strlcpy(s.reason, "cancelled", sizeof(s.reason));
	s.finished = s.updated = time(NULL);
	if (spool_transition(L.sp, st->sd.fd[DIR_QUEUE], st->sd.fd[DIR_ERROR],
	    id, &s, CP_ERROR) == -1) {
		if (errno != ENOENT)
			log_warn("cancel %s/queue/%s", st->name, id);
		return;
	}
	if ((e = queue_find(&st->q, id)) != NULL)
		queue_remove(&st->q, e);
	count(&st->c.error, &L.total.error);
	page_error(s.finished, st->name, id, s.reason);
	stage_hook(st, "error", DIR_ERROR, id, &s);
	log_info("%s: %s: cancelled in its queue", st->name, id);
}

/* A request in index/cancel/: stop the run, or cancel the queued job. */
static void
loop_cancel(const char *id)
{
	struct run *r;

	if (id[0] == '.')
		return;
	if ((r = run_by_id(id)) != NULL) {
		log_info("%s: %s: cancelled", r->stage->name, id);
		run_stop(r, STOP_CANCEL);
		CRASHPOINT(CP_CANCEL);
		return;
	}
	stage_cancel(id);
	if (unlinkat(L.sp->cancelfd, id, 0) == -1 && errno != ENOENT)
		log_warn("unlink index/cancel/%s", id);
}

static int
cancel_one(void *arg, const char *id, int type)
{
	(void)arg;
	(void)type;
	loop_cancel(id);
	return 0;
}

static struct stage *
stage_by_wd(int wd)
{
	struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry)
		if (st->wd == wd)
			return st;
	return NULL;
}

static void
loop_inotify(void)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	const struct inotify_event *ev;
	struct stage *st;
	ssize_t n;
	char *p;

	while ((n = read(L.infd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				L.rescan = 1;
			if (ev->len > 0 && ev->wd == L.cancelwd)
				loop_cancel(ev->name);
			if ((st = stage_by_wd(ev->wd)) == NULL)
				continue;
			if (ev->mask & IN_IGNORED)
				st->wd = -1; /* its queue/ is gone */
			else if (ev->len > 0)
				stage_seen(st, ev->name,
				    (ev->mask & IN_CREATE) && !(ev->mask &
				    IN_ISDIR));
		}
	if (n == -1 && errno != EAGAIN)
		log_warn("inotify");
}

static void
loop_rescan(void)
{
	struct stage *st;

	L.rescan = 0;
	log_warnx("inotify queue overflowed: reading every queue again");
	spool_scan(L.sp->cancelfd, cancel_one, NULL);
	TAILQ_FOREACH(st, &L.stages, entry) {
		if (st->wd == -1)
			stage_watch(st);
		stage_scan(st);
	}
}

static void
deadline(long long *ms, struct timespec now, struct timespec at)
{
	long long d = ms_between(now, at);

	if (d < 0)
		d = 0;
	if (*ms < 0 || d < *ms)
		*ms = d;
}

/* Milliseconds until the next deadline; -1 for none. */
static int
loop_timeout(void)
{
	struct timespec now = mono_now(), at;
	long long ms = -1;
	struct stage *st;
	struct run *r;
	time_t due, wall = time(NULL);

	deadline(&ms, now, L.nexttick);
	if (hook_next(&at))
		deadline(&ms, now, at);
	if (L.stopping == 1)
		deadline(&ms, now, L.stopat);
	TAILQ_FOREACH(st, &L.stages, entry) {
		if (!L.stopping && queue_next_due(&st->q, &due))
			deadline(&ms, now, ms_after(now, (due - wall) * 1000LL));
		if (!L.stopping && queue_peek(&st->q) != NULL &&
		    st->nrun < st->sc->slots && ms_between(now, st->holdoff) > 0)
			deadline(&ms, now, st->holdoff);
		TAILQ_FOREACH(r, &st->runs, entry) {
			if (r->stop != STOP_NONE && !r->killed)
				deadline(&ms, now, r->killat);
			else if (r->stop == STOP_NONE && st->sc->timeout > 0 &&
			    (!r->slurm || r->started))
				deadline(&ms, now, ms_after(r->t0,
				    st->sc->timeout * 1000LL));
		}
	}
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int
loop_setup(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (L.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((L.infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("inotify_init1");
		return -1;
	}
	if ((L.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("epoll_create1");
		return -1;
	}
	return loop_watch_cancel();
}

/* The config in force of a stage, for its hooks; NULL once it is gone. */
static const struct stconf *
stage_conf(const char *name)
{
	struct stage *st = stage_find(name);

	return st != NULL && !st->retired ? st->sc : NULL;
}

/*
 * One pass: deferred jobs due, claims, hooks, and one sync asked for all
 * of it.
 */
static void
loop_pass(void)
{
	struct stage *st;
	time_t now = time(NULL);

	if (L.rescan)
		loop_rescan();
	if (L.orphans) {
		L.orphans = 0;
		child_orphans(run_ours);
	}
	if (!L.stopping) {
		TAILQ_FOREACH(st, &L.stages, entry)
			queue_due(&st->q, now);
		loop_claim();
	}
	hook_start(L.sp, L.conf->spool, stage_conf);
	spool_sync(L.sp);
}

static void
loop_free(void)
{
	struct stage *st;
	struct run *r;
	size_t n = 0;

	while ((st = TAILQ_FIRST(&L.stages)) != NULL) {
		TAILQ_REMOVE(&L.stages, st, entry);
		while ((r = TAILQ_FIRST(&st->runs)) != NULL) {
			TAILQ_REMOVE(&st->runs, r, entry);
			close(r->logfd);
			run_free(r);
			n++;
		}
		queue_clear(&st->q);
		spool_stage_close(&st->sd);
		stconf_free(st->sc);
		free(st->name);
		free(st);
	}
	if (n > 0)
		log_info("%zu jobs left running on Slurm, taken over at the "
		    "next start", n);
	conf_free(L.conf);
	close(L.sigfd);
	close(L.infd);
	close(L.epfd);
}

/*
 * Runs spoold until it is told to stop, or its spool is taken away; takes
 * conf and frees it. 0, 1 when the spool's folder was removed or
 * replaced, -1 when it could not start.
 */
int
loop_run(struct conf *conf, struct spool *sp)
{
	struct pollfd pfd[4];
	struct timespec now;
	int timeout, n;

	L.conf = conf;
	L.sp = sp;
	L.started = mono_now();
	TAILQ_INIT(&L.stages);
	if (loop_setup() == -1 || stages_apply(conf, 1) == -1)
		return -1;
	metrics_load(sp, &L.total, metrics_stage, NULL);
	spool_scan(sp->cancelfd, cancel_one, NULL);
	spool_sync(sp);
	log_info("started, pid %ld, spool %s", (long)getpid(), conf->spool);
	notify_send("READY=1");
	pfd[0] = (struct pollfd){.fd = L.sigfd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = L.infd, .events = POLLIN};
	pfd[2] = (struct pollfd){.fd = -1, .events = POLLIN};
	pfd[3] = (struct pollfd){.fd = L.epfd, .events = POLLIN};
	L.nexttick = L.nextretain = L.nextclean = mono_now();
	for (;;) {
		loop_pass();
		now = mono_now();
		if (ms_between(L.nexttick, now) >= 0) {
			loop_tick();
			L.nexttick = ms_after(now, L.conf->tick * 1000LL);
		}
		if (L.stopping == 1 && ms_between(L.stopat, now) >= 0)
			loop_shutdown(1);
		if (L.stopping && L.nrun == 0 && hook_count() == 0 &&
		    slurm_busy() == 0)
			break;
		timeout = loop_timeout();
		pfd[2].fd = sp->syncack;
		if ((n = poll(pfd, 4, timeout)) == -1 && errno != EINTR)
			fatal("poll");
		if (pfd[2].revents & (POLLIN | POLLHUP))
			spool_sync_done(sp);
		if (pfd[3].revents & POLLIN)
			loop_output();
		if (pfd[0].revents & POLLIN)
			loop_signals();
		if (pfd[1].revents & POLLIN)
			loop_inotify();
		if (n == 0)
			loop_stale();
	}
	loop_metrics();
	spool_sync_wait(sp);
	loop_free();
	log_info("stopped");
	return L.gone ? 1 : 0;
}
