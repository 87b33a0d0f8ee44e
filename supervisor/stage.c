/*
 * stage.c: the stage set of the loop, and what every part of the loop asks
 * of it: a stage by name, its folders (made again when an operator removed
 * them), the reading of its queue/, where in the spool a job is, the
 * counters, the hooks, and whether the spool has room. It holds the loop's
 * shared state.
 */
#include <sys/inotify.h>
#include <sys/statvfs.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>

#include <bsd/unistd.h>

#include "spoold.h"
#include "loop.h"

#define SCAN_STAT_MAX 50000 /* longer queues are read without a stat a job */
#define FREE_MIN (1024 * 1024) /* bytes free in the spool to resume claims */

struct loop L;
static size_t scan_count;

struct stage *
stage_find(const char *name)
{
	struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry)
		if (strcmp(st->name, name) == 0)
			return st;
	return NULL;
}

const char *
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
void
stage_seen(struct stage *st, const char *id, int wait_close)
{
	struct timespec t;
	struct timespec now;
	struct stat sb;
	const char *why;

	if (id[0] == '.')
		return;
	if (name_check(id, &why) == -1) {
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
	now = real_now();
	if (ts_after(sb.st_mtim, now) || !name_time(id, &t) ||
	    ts_after(t, now))
		t = sb.st_mtim;
	queue_add(&st->q, id, &t, now);
}

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
	if (name_check(id, &why) == -1)
		spool_quarantine(L.sp, st->name, &st->sd, DIR_QUEUE, id, why);
	else {
		/* Not deferred by a name's time: the mtime is read at claim. */
		struct timespec now = real_now();
		if (name_time(id, &t) && ts_after(t, now))
			t = now;
		queue_add(&st->q, id, &t, now);
	}
	return 0;
}

/* Reads a stage's queue/ whole: at start-up, and after lost events. */
void
stage_scan(struct stage *st)
{
	queue_clear(&st->q);
	scan_count = 0;
	if (fileio_scan(st->sd.fd[DIR_QUEUE], stage_count_one, NULL) == -1 ||
	    fileio_scan(st->sd.fd[DIR_QUEUE], stage_scan_one, st) == -1)
		log_warn("read %s/queue", st->name);
}

int
stage_watch(struct stage *st)
{
	char path[PATH_MAX];

	fileio_path(path, sizeof(path), "%s/%s/queue", L.conf->spool, st->name);
	st->wd = inotify_add_watch(L.infd, path, IN_MOVED_TO | IN_CLOSE_WRITE |
	    IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (st->wd == -1) {
		log_warn("inotify %s", path);
		return -1;
	}
	return 0;
}

int
stage_watch_cancel(void)
{
	char path[PATH_MAX];

	fileio_path(path, sizeof(path), "%s/index/cancel", L.conf->spool);
	if ((L.cancelwd = inotify_add_watch(L.infd, path, IN_MOVED_TO |
	    IN_CLOSE_WRITE | IN_ONLYDIR | IN_DONT_FOLLOW)) == -1) {
		log_warn("inotify %s", path);
		return -1;
	}
	return 0;
}

struct stage *
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

/*
 * Where job id is in the spool, but for the running/ of stage not: 1 with
 * its stage and folder, or 0.
 */
int
stage_where(const char *id, const struct stage *not, struct stage **at,
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

/* Makes again the folders an operator removed, and reads them anew. */
void
stage_folders(void)
{
	struct stage *st;
	int i;

	if (L.gone)
		return;
	if (spool_repair(L.sp) == 1) {
		inotify_rm_watch(L.infd, L.cancelwd);
		stage_watch_cancel();
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

/* A write the spool's filesystem refused for want of space. */
void
stage_full(const char *what)
{
	if (errno != ENOSPC && errno != EDQUOT)
		return;
	if (!L.full)
		log_warnx("%s: %s: no claims until space returns", what,
		    strerror(errno));
	L.full = 1;
}

/* Whether the spool has room again, once a tick while it is full. */
void
stage_room(void)
{
	struct statvfs vfs;

	if (!L.full || fstatvfs(L.sp->dfd, &vfs) == -1 ||
	    (unsigned long long)vfs.f_bavail * vfs.f_frsize < FREE_MIN)
		return;
	L.full = 0;
	log_info("space in the spool again: claims resume");
}

/*
 * Adds c to the counters of the stage named (when it is one of the set)
 * and to the totals: what an event of spoold counts, as it is written or
 * read back.
 */
void
stage_add(const char *name, const struct counters *c)
{
	struct stage *st;

	if ((st = stage_find(name)) != NULL)
		metrics_add(&st->c, c);
	metrics_add(&L.total, c);
}

/* The hook of event, if the stage has one, for a job now in folder dir. */
void
stage_hook(struct stage *st, const char *event, int dir, const char *id,
    const struct status *s)
{
	char job[PATH_MAX];

	fileio_path(job, sizeof(job), "%s/%s/%s/%s", L.conf->spool, st->name,
	    spool_dir_name(dir), id);
	hook_add(st->sc, event, id, job, s);
}

/*
 * A job placed by p in stage to, from stage st (where it ran): what its
 * event counted, c, added to the counters; the hook it runs.
 */
void
stage_placed(struct stage *st, struct stage *to, const struct place *p,
    const char *id, const struct status *s, const struct counters *c)
{
	stage_add(st->name, c);
	if (p->count & PC_ERROR)
		page_error(s->finished, to->name, id, s->reason);
	if (p->hook != NULL)
		stage_hook(to, p->hook, p->dir, id, s);
}

/*
 * Places a job from stage st: its event adds to the counters of st what
 * p counts and, when ran is not NULL, what the run counts.
 */
int
stage_place(struct stage *st, int fromfd, int tofd, const char *id,
    const struct status *s, const struct place *p,
    const struct counters *ran, struct counters *c)
{
	memset(c, 0, sizeof(*c));
	if (ran != NULL)
		metrics_add(c, ran);
	place_count(p, c);
	return spool_place(L.sp, fromfd, tofd, id, s, p->point, st->name,
	    ran != NULL || p->count != 0 ? c : NULL);
}

/* Each stage's place in the pipeline: the stages before it, at most. */
void
stage_depths(void)
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
