/*
 * intake.c: what arrives. inotify tells of new entries in the queue/ of a
 * stage and in index/cancel/; a cancel stops a run or sends a waiting job
 * to error/; lost events have every queue read again; what submitters
 * that died left in tmp/ is cleaned.
 */
#include <sys/inotify.h>

#include <errno.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "spoold.h"
#include "loop.h"

/* Whether job id is in a folder of a stage. */
static int
intake_job(const char *id)
{
	struct stage *st;
	int dir;

	return stage_where(id, NULL, &st, &dir);
}

/* What submitters and writers that died left in tmp/ and index/. */
void
intake_clean(void)
{
	purge_tmp(L.sp, L.sp->tmpfd, intake_job);
	purge_tmp(L.sp, L.sp->indexfd, NULL);
}

/*
 * A request to cancel a job that waits in a queue/ (spoolctl cancel run by
 * a member, who may not move it to error/ itself): it goes there.
 */
static void
intake_cancel_queued(const char *id)
{
	const struct place *p;
	struct counters c;
	struct stage *st;
	struct qent *e;
	struct status s;
	int dir;

	if (!stage_where(id, NULL, &st, &dir) || dir != DIR_QUEUE)
		return;
	claim_record(st, id, &s);
	place_record(&s, OUT_CANCEL, NULL, "cancelled", 0, time(NULL));
	p = place_row(OUT_CANCEL);
	if (stage_place(st, st->sd.fd[DIR_QUEUE], st->sd.fd[p->dir], id, &s,
	    p, NULL, &c) == -1) {
		if (errno != ENOENT)
			log_warn("cancel %s/queue/%s", st->name, id);
		return;
	}
	if ((e = queue_find(&st->q, id)) != NULL)
		queue_remove(&st->q, e);
	stage_placed(st, st, p, id, &s, &c);
	log_info("%s: %s: cancelled in its queue", st->name, id);
}

/* A request in index/cancel/: stop the run, or cancel the queued job. */
static void
intake_cancel(const char *id)
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
	if (recover_holds(id))
		return; /* recovery reads the request as it places the job */
	intake_cancel_queued(id);
	if (unlinkat(L.sp->cancelfd, id, 0) == -1 && errno != ENOENT)
		log_warn("unlink index/cancel/%s", id);
}

int
intake_cancel_one(void *arg, const char *id, int type)
{
	(void)arg;
	(void)type;
	intake_cancel(id);
	return 0;
}

static struct stage *
intake_by_wd(int wd)
{
	struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry)
		if (st->wd == wd)
			return st;
	return NULL;
}

void
intake_read(void)
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
				intake_cancel(ev->name);
			if ((st = intake_by_wd(ev->wd)) == NULL)
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

void
intake_rescan(void)
{
	struct stage *st;

	L.rescan = 0;
	log_warnx("inotify queue overflowed: reading every queue again");
	fileio_scan(L.sp->cancelfd, intake_cancel_one, NULL);
	TAILQ_FOREACH(st, &L.stages, entry) {
		if (st->wd == -1)
			stage_watch(st);
		stage_scan(st);
	}
}
