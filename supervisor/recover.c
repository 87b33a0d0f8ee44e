/*
 * recover.c: the stage set made that of a config, at start-up and at each
 * reload. A stage that joins has its running/ recovered: a run a previous
 * spoold left is taken over by a runner whose runs outlive spoold, or
 * stopped, and its job put where its status record says.
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
#include "loop.h"

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

	if (s->pgid > 0)
		child_group_stop(s->pgid, s->pstart, L.conf->kill_grace);
	child_stop_job(path, L.conf->kill_grace);
	L.recovered = strv_add(L.recovered, path);
	r = run_new(st, id, s);
	r->st.pgid = 0;
	r->st.pstart = 0;
	r->runner = rn;
	if ((r->logfd = spool_log_open(L.sp, id)) == -1)
		log_warn("open log/%s.log", id);
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
	struct stage *st = arg, *to;
	struct status s;
	struct stat sb;
	const struct runner *rn;
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
	    (rn = runner_adopter(&s, st->sc->runner)) != NULL) {
		recover_adopt(st, id, &s, path, rn);
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
	recover_prepare();
	/* Once every stage is there, for jobs on their way to the next. */
	TAILQ_FOREACH(st, &L.stages, entry)
		if (st->fresh)
			spool_scan(st->sd.fd[DIR_RUNNING], recover_one, st);
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
