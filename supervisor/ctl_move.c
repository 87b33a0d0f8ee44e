/*
 * ctl_move.c: the verbs that move jobs between the folders of a stage.
 * retry puts error/ jobs back in queue/ with their attempts reset; cancel
 * moves a queued job to error/ itself when this user may, and otherwise,
 * or when the job runs, asks spoold through index/cancel/ and waits for
 * it; purge removes done/ and error/ jobs older than a duration. Every id
 * is found and checked before the first job moves.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
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
#include "spoolctl.h"

/*
 * An error/ job back to its queue/, attempts reset; with force, run even
 * as a duplicate.
 */
static int
retry_one(const char *id, size_t s, int force)
{
	struct status st, old;

	ctl_status(id, s, &st);
	old = st;
	if (force)
		st.forced = 1;
	place_record(&st, OUT_RESUBMIT, NULL, NULL, 0, time(NULL));
	if (spool_resubmit(&C.sp, C.sd[s].fd[DIR_ERROR],
	    C.sd[s].fd[DIR_QUEUE], id, &st, &old) == -1) {
		fprintf(stderr, "spoolctl: retry %s: %s\n", id, strerror(errno));
		return -1;
	}
	printf("%s\n", id);
	return 0;
}

int
ctl_retry(const struct ctl_args *a)
{
	int argc = a->argc;
	char **argv = a->argv;
	size_t *s, i, si;
	int *d, r = EX_OK;

	ctl_open(0);
	if (a->all) {
		si = stage_arg(a->stage);
		ctl_writable(si, DIR_ERROR);
		ctl_writable(si, DIR_QUEUE);
		ls_collect((long)si, JS_ERROR, LS_ALL);
		for (i = 0; i < nents; i++)
			if (retry_one(ents[i].id, si, a->force) == -1)
				r = EX_IOERR;
		syncer_sync(&C.sp);
		return r;
	}
	if ((s = C.at_stage = calloc(argc, sizeof(*s))) == NULL ||
	    (d = C.at_dir = calloc(argc, sizeof(*d))) == NULL)
		fatal("calloc");
	ctl_find_all(argc, argv, s, d);
	for (i = 0; i < (size_t)argc; i++)
		if (d[i] != DIR_ERROR)
			die(EX_DATAERR, "%s is in %s/%s, not in error/", argv[i],
			    C.stages[s[i]], spool_dir_name(d[i]));
	for (i = 0; i < (size_t)argc; i++) {
		ctl_writable(s[i], DIR_ERROR);
		ctl_writable(s[i], DIR_QUEUE);
	}
	for (i = 0; i < (size_t)argc; i++)
		if (retry_one(argv[i], s[i], a->force) == -1)
			r = EX_IOERR;
	syncer_sync(&C.sp);
	return r;
}

static int
cancel_queued(const char *id, size_t s)
{
	struct status st;

	ctl_status(id, s, &st);
	place_record(&st, OUT_CANCEL, NULL, "cancelled", 0, time(NULL));
	return spool_transition(&C.sp, C.sd[s].fd[DIR_QUEUE],
	    C.sd[s].fd[place_row(OUT_CANCEL)->dir], id, &st, 0);
}

/*
 * Asks spoold to cancel a job, running or, for a user who may not move it
 * to error/ itself, queued; and waits until it has.
 */
static int
cancel_request(const char *id)
{
	struct timespec t0, t;
	size_t s;
	int d;

	if (spool_write(&C.sp, C.sp.cancelfd, id, "", 0, 1) == -1 &&
	    faccessat(C.sp.cancelfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == -1) {
		fprintf(stderr, "spoolctl: cancel %s: %s\n", id, strerror(errno));
		return EX_IOERR;
	}
	if (!spoold_running()) {
		printf("%s: spoold is not running; cancelled when it starts\n",
		    id);
		return EX_OK;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (ctl_find(id, &s, &d) == -1 || (d != DIR_RUNNING &&
		    d != DIR_QUEUE))
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > C.grace) {
			fprintf(stderr, "spoolctl: %s: still %s after %lds\n",
			    id, d == DIR_RUNNING ? "running" : "queued",
			    C.grace);
			return EX_TEMPFAIL;
		}
		poll(NULL, 0, 50);
	}
	if (ctl_find(id, &s, &d) == 0 && d == DIR_ERROR)
		printf("%s: cancelled\n", id);
	else
		printf("%s: ended before it could be cancelled\n", id);
	return EX_OK;
}

/* Whether this user may move a job from a folder of stage s to another. */
static int
ctl_may_move(size_t s, int from, int to)
{
	char path[PATH_MAX];
	int i, dir[2] = {from, to};

	for (i = 0; i < 2; i++) {
		fileio_path(path, sizeof(path), "%s/%s/%s", C.spooldir,
		    C.stages[s], spool_dir_name(dir[i]));
		if (access(path, W_OK) == -1)
			return 0;
	}
	return 1;
}

int
ctl_cancel(const struct ctl_args *a)
{
	int argc = a->argc;
	char **argv = a->argv;
	size_t *s;
	int *d, i, r = EX_OK, ri;

	ctl_open(0);
	if ((s = C.at_stage = calloc(argc, sizeof(*s))) == NULL ||
	    (d = C.at_dir = calloc(argc, sizeof(*d))) == NULL)
		fatal("calloc");
	ctl_find_all(argc, argv, s, d);
	for (i = 0; i < argc; i++) {
		if (d[i] != DIR_QUEUE && d[i] != DIR_RUNNING)
			die(EX_DATAERR, "%s has ended: it is in %s/%s", argv[i],
			    C.stages[s[i]], spool_dir_name(d[i]));
		ctl_writable(s[i], -1);
	}
	/* Queued jobs first, before a slot freed by a cancel takes them. */
	for (i = 0; i < argc; i++)
		if (d[i] == DIR_QUEUE && ctl_may_move(s[i], DIR_QUEUE,
		    DIR_ERROR) && cancel_queued(argv[i], s[i]) == 0) {
			printf("%s: cancelled\n", argv[i]);
			d[i] = DIR_ERROR;
		}
	/* Running jobs, queued ones claimed meanwhile, and a member's. */
	for (i = 0; i < argc; i++)
		if (d[i] != DIR_ERROR && (ri = cancel_request(argv[i])) != EX_OK)
			r = ri;
	syncer_sync(&C.sp);
	return r;
}

int
ctl_purge(const struct ctl_args *a)
{
	int n = 0;
	time_t now = time(NULL);
	struct stat sb;
	size_t i;

	ctl_open(0);
	ls_collect(a->stage != NULL ? (long)stage_arg(a->stage) : -1,
	    a->state, LS_ALL);
	for (i = 0; i < nents; i++) {
		const struct entry *e = &ents[i];
		int fd = C.sd[e->stage].fd[e->dir];
		if (e->state != JS_DONE && e->state != JS_ERROR)
			continue;
		ctl_writable(e->stage, e->dir);
		if (fstatat(fd, e->id, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    now - sb.st_ctime < a->older)
			continue;
		if (purge_job(&C.sp, fd, e->id) == 0)
			n++;
	}
	syncer_sync(&C.sp);
	printf("%d purged\n", n);
	return EX_OK;
}
