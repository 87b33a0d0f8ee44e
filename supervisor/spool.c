/*
 * spool.c: the spool's layout and every change of a job's state on disk.
 * A job's state is the folder its file sits in; it changes by one rename
 * that never replaces another file, its status record written beside the
 * rename in the order that recovery after a crash relies on. The job's
 * own files (its work folder, status record and log) are made here, never
 * through a link; every other file spoold writes is written whole
 * (fileio.c) and made durable by the next sync (syncer.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"

static const char *dirnames[NDIRS] = {"queue", "running", "done", "error"};

const char *
spool_dir_name(int dir)
{
	return dirnames[dir];
}

/*
 * The mode of a folder of the spool: 0750, its owner's and its group's;
 * with the submitters' group, setgid to it, and where members put things
 * (shared), writable by it and sticky, so that a member may rename or
 * remove only what is its own.
 */
static mode_t
spool_mode(const struct spool *sp, int shared)
{
	if (sp->gid == (gid_t)-1)
		return 0750;
	return shared ? 03770 : 02750;
}

/*
 * Gives the folder open at fd its mode and the spool's group, when spoold
 * makes or enforces the layout (SPOOL_MODES) and they differ.
 */
static int
spool_fix(const struct spool *sp, int fd, const char *name, mode_t mode)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1)
		return -1;
	if (sp->gid != (gid_t)-1 && sb.st_gid != sp->gid &&
	    fchown(fd, (uid_t)-1, sp->gid) == -1) {
		log_warn("chown %s", name);
		return -1;
	}
	if ((sb.st_mode & 07777) != mode && fchmod(fd, mode) == -1) {
		log_warn("chmod %s", name);
		return -1;
	}
	return 0;
}

/*
 * Opens a folder of the spool at dfd, never through a link, making it
 * first with SPOOL_CREATE and giving it its mode with SPOOL_MODES.
 */
static int
spool_subdir(const struct spool *sp, int dfd, const char *name, int shared,
    int flags)
{
	int fd, made = 0;

	if ((flags & SPOOL_CREATE) && !(made = mkdirat(dfd, name, 0700) == 0) &&
	    errno != EEXIST) {
		log_warn("mkdir %s", name);
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == EACCES)
		/* Enough to name files in it, for a reader who may not list it. */
		fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd == -1) {
		log_warn("open %s", name);
		return -1;
	}
	if ((made || (flags & SPOOL_MODES)) &&
	    spool_fix(sp, fd, name, spool_mode(sp, shared)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens the folders of the spool's root, making them as flags say. */
static int
spool_open_subdirs(struct spool *sp, int flags)
{
	struct stat sb;

	if ((sp->tmpfd = spool_subdir(sp, sp->dfd, "tmp", 1, flags)) == -1 ||
	    (sp->workfd = spool_subdir(sp, sp->dfd, "work", 1, flags)) == -1 ||
	    (sp->logfd = spool_subdir(sp, sp->dfd, "log", 0, flags)) == -1 ||
	    (sp->indexfd = spool_subdir(sp, sp->dfd, "index", 0,
	    flags)) == -1 ||
	    (sp->cancelfd = spool_subdir(sp, sp->indexfd, "cancel", 1,
	    flags)) == -1)
		return -1;
	/* The spool is the user's who keeps its index: spoold's. */
	if (fstat(sp->indexfd, &sb) == -1) {
		log_warn("stat index");
		return -1;
	}
	sp->owner = sb.st_uid;
	return 0;
}

static int
spool_open_dirs(struct spool *sp, const char *path, int flags)
{
	struct stat sb;
	int made = 0;

	if ((flags & SPOOL_LOCK) && lock_path(sp, path) == -1)
		return -1;
	if ((flags & SPOOL_CREATE) && !(made = mkdir(path, 0700) == 0) &&
	    errno != EEXIST) {
		log_warn("mkdir %s", path);
		return -1;
	}
	if ((sp->dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("open %s", path);
		return -1;
	}
	if (fstat(sp->dfd, &sb) == -1) {
		log_warn("stat %s", path);
		return -1;
	}
	sp->dev = sb.st_dev;
	sp->ino = sb.st_ino;
	if ((flags & SPOOL_LOCK) && lock_take(sp) == -1)
		return -1;
	if ((made || (flags & SPOOL_MODES)) &&
	    spool_fix(sp, sp->dfd, path, spool_mode(sp, 0)) == -1)
		return -1;
	return spool_open_subdirs(sp, flags);
}

#define SPOOL_NDIRS 6

/* The spool's own folders, open: its root first. */
static void
spool_dirs(struct spool *sp, int *fds[SPOOL_NDIRS])
{
	fds[0] = &sp->dfd;
	fds[1] = &sp->tmpfd;
	fds[2] = &sp->workfd;
	fds[3] = &sp->logfd;
	fds[4] = &sp->indexfd;
	fds[5] = &sp->cancelfd;
}

/* Closes the spool's folders, from the one numbered from on. */
static void
spool_close_dirs(struct spool *sp, size_t from)
{
	int *fds[SPOOL_NDIRS];
	size_t i;

	spool_dirs(sp, fds);
	for (i = from; i < SPOOL_NDIRS; i++)
		if (*fds[i] != -1) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

/*
 * Opens the spool at path: with SPOOL_CREATE in flags, making its layout
 * where it is missing; with SPOOL_MODES, giving every folder its mode.
 * gid is the submitters' group, or (gid_t)-1.
 */
int
spool_open(struct spool *sp, const char *path, int flags, gid_t gid)
{
	memset(sp, 0, sizeof(*sp));
	sp->gid = gid;
	sp->make = flags;
	sp->dfd = sp->tmpfd = sp->workfd = sp->logfd = sp->indexfd =
	    sp->cancelfd = sp->evfd = sp->lockfd = sp->pathfd = -1;
	sp->syncreq = sp->syncack = -1;
	sp->fsync = getenv("SPOOLD_NOSYNC") == NULL;
	if (spool_open_dirs(sp, path, flags) == -1) {
		int saved = errno;
		spool_close(sp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Whether a folder open at fd was removed (by hand). */
int
spool_gone(int fd)
{
	struct stat sb;

	return fd != -1 && fstat(fd, &sb) == 0 && sb.st_nlink == 0;
}

/*
 * Whether path no longer names the spool spoold holds: removed, or
 * another folder put in its place.
 */
int
spool_replaced(const struct spool *sp, const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == -1)
		return errno == ENOENT || errno == ENOTDIR;
	return sb.st_dev != sp->dev || sb.st_ino != sp->ino;
}

/*
 * Makes again, inside the spool's folder, its own folders that were
 * removed: 1 when it did, 0 when none was, -1 when it could not. The
 * spool's folder itself is never made again (spool_replaced).
 */
int
spool_repair(struct spool *sp)
{
	int *fds[SPOOL_NDIRS];
	size_t i;

	spool_dirs(sp, fds);
	for (i = 1; i < SPOOL_NDIRS && !spool_gone(*fds[i]); i++)
		;
	if (i == SPOOL_NDIRS)
		return 0;
	log_warnx("a folder of the spool was removed; making it again");
	spool_close_dirs(sp, 1);
	return spool_open_subdirs(sp, sp->make | SPOOL_CREATE) == -1 ? -1 : 1;
}

void
spool_close(struct spool *sp)
{
	syncer_stop(sp);
	spool_close_dirs(sp, 0);
	if (sp->evfd != -1)
		close(sp->evfd);
	sp->evfd = -1;
	lock_release(sp);
}

int
spool_stage_open(struct spool *sp, const char *stage, struct sdirs *sd,
    int create)
{
	int i, sfd;

	int flags = create ? sp->make | SPOOL_CREATE : 0;

	for (i = 0; i < NDIRS; i++)
		sd->fd[i] = -1;
	if ((sfd = spool_subdir(sp, sp->dfd, stage, 0, flags)) == -1)
		return -1;
	for (i = 0; i < NDIRS; i++)
		if ((sd->fd[i] = spool_subdir(sp, sfd, dirnames[i],
		    i == DIR_QUEUE, flags)) == -1) {
			close(sfd);
			spool_stage_close(sd);
			return -1;
		}
	close(sfd);
	return 0;
}

void
spool_stage_close(struct sdirs *sd)
{
	int i;

	for (i = 0; i < NDIRS; i++)
		if (sd->fd[i] != -1) {
			close(sd->fd[i]);
			sd->fd[i] = -1;
		}
}

/* Renames an entry, never replacing one of the same name in its new place. */
int
spool_rename(struct spool *sp, int fromfd, const char *from, int tofd,
    const char *to)
{
	struct stat st;

	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0) {
		sp->dirty = 1;
		return 0;
	}
	if (errno != EINVAL)
		return -1;
	/* A filesystem without RENAME_NOREPLACE. */
	if (linkat(fromfd, from, tofd, to, 0) == 0) {
		if (unlinkat(fromfd, from, 0) == -1)
			return -1;
	} else if (errno == EPERM &&
	    fstatat(tofd, to, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT) {
		if (renameat(fromfd, from, tofd, to) == -1)
			return -1;
	} else
		return -1;
	sp->dirty = 1;
	return 0;
}

/* Moves job id from one folder to another. */
int
spool_move(struct spool *sp, int fromfd, int tofd, const char *id)
{
	return spool_rename(sp, fromfd, id, tofd, id);
}

/*
 * A change of state. In spoold (point not 0), its event comes first, then
 * the status record says where the job goes, then the job moves there:
 * after a crash between the two, the job is still where it was (running/,
 * which recovery reads and completes the move from, or queue/, where it is
 * looked at again), and the events say whether its event was written. In
 * spoolctl (point 0), which races with the daemon, the move comes first
 * and the record and the event follow only a move that happened.
 */
int
spool_transition(struct spool *sp, int fromfd, int tofd, const char *id,
    const struct status *st, int point)
{
	return spool_place(sp, fromfd, tofd, id, st, point, NULL, NULL);
}

/*
 * ... whose event adds c to the counters of stage (spoold only). A move
 * that fails after its event has an "unmoved" event that takes c back.
 */
int
spool_place(struct spool *sp, int fromfd, int tofd, const char *id,
    const struct status *st, int point, const char *stage,
    const struct counters *c)
{
	int saved;

	if (point == 0) {
		if (spool_move(sp, fromfd, tofd, id) == -1)
			return -1;
		spool_status_write(sp, id, st);
		events_add(sp, id, status_state_name(st->state), st);
		return 0;
	}
	events_add_counted(sp, id, status_state_name(st->state), st, stage, c);
	CRASHPOINT(CP_EVENT);
	spool_status_write(sp, id, st);
	CRASHPOINT(point);
	if (spool_move(sp, fromfd, tofd, id) == 0)
		return 0;
	saved = errno;
	if (c != NULL)
		events_undo(sp, id, st, stage, c);
	errno = saved;
	return -1;
}

/*
 * A job put back in a queue/ by hand (spoolctl retry) from a folder spoold
 * never claims from: its record and its event first, for spoold may claim
 * it the moment it moves; the old record old is put back when the move
 * fails.
 */
int
spool_resubmit(struct spool *sp, int fromfd, int tofd, const char *id,
    const struct status *st, const struct status *old)
{
	int saved;

	spool_status_write(sp, id, st);
	events_add(sp, id, status_state_name(st->state), st);
	if (spool_move(sp, fromfd, tofd, id) == 0)
		return 0;
	saved = errno;
	spool_status_write(sp, id, old);
	events_add(sp, id, status_state_name(old->state), old);
	errno = saved;
	return -1;
}

/*
 * Submits the file tmp/<tmpname> as job id in a queue/: its status record
 * and its event first (so a key is known before the job can be claimed,
 * and its events come in order), its mtime set to when it may start, then
 * the rename that makes it a job, made durable. A submitter who may not
 * write events.jsonl (a member) says so in the record, and spoold writes
 * the event when it claims the job.
 */
int
spool_submit(struct spool *sp, int queuefd, const char *tmpname,
    const char *id, const struct status *st, struct timespec when)
{
	struct status rec = *st;
	int fd, logged = events_ready(sp);

	rec.unlogged = !logged;
	if ((fd = spool_job_make(sp, id, (uid_t)-1, (gid_t)-1)) == -1)
		return -1;
	close(fd);
	if (spool_status_write(sp, id, &rec) == -1)
		return -1;
	if (logged)
		events_add(sp, id, status_state_name(rec.state), &rec);
	if (fileio_touch(sp->tmpfd, tmpname, when) == -1 ||
	    spool_rename(sp, sp->tmpfd, tmpname, queuefd, id) == -1) {
		int saved = errno;
		snprintf(rec.reason, sizeof(rec.reason), "not submitted: %s",
		    strerror(saved));
		if (logged)
			events_add(sp, id, "purged", &rec);
		fileio_rmtree(sp->workfd, id);
		errno = saved;
		return -1;
	}
	syncer_wait(sp);
	return 0;
}

/*
 * Writes data to name (a name, not a path) in folder dirfd: a reader sees
 * the old file or the new one, never a part. spoold swaps it with a file
 * beside it; spoolctl writes it in tmp/ and renames it into place. With
 * durable set it is part of what the next syncer_sync makes durable.
 */
int
spool_write(struct spool *sp, int dirfd, const char *name, const char *data,
    size_t len, int durable)
{
	int point = 0;

	if (strcmp(name, "metrics.json") == 0)
		point = CP_METRICS;
	else if (strcmp(name, "status.json") == 0)
		point = CP_STATUS;
	if ((sp->swap ? fileio_swap(dirfd, name, data, len, point) :
	    fileio_write(sp->tmpfd, dirfd, name, data, len)) == -1)
		return -1;
	if (durable)
		sp->dirty = 1;
	return 0;
}

/*
 * Opens work/<id>/ without following a link: its descriptor, or -1 with
 * errno ENOENT when there is none, ENOTDIR when something else has the
 * name.
 */
int
spool_job_open(struct spool *sp, const char *id)
{
	int fd;

	fd = openat(sp->workfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 && errno == ELOOP)
		errno = ENOTDIR;
	return fd;
}

/*
 * Gives work/<id>/ its owner and mode: spoold's (or the submitter's, in
 * spoolctl), in the spool's group and writable by it, where the stages'
 * users are; without that group, as spoold is root, the stage's user's
 * (uid and gid) alone. Only what differs is changed, and only what this
 * process may change.
 */
static int
spool_job_own(struct spool *sp, int fd, const char *id, uid_t uid, gid_t gid)
{
	struct stat sb;
	mode_t mode = sp->gid != (gid_t)-1 ? 02770 : 0750;

	if (sp->gid != (gid_t)-1) {
		uid = geteuid();
		gid = sp->gid;
	} else if (uid == (uid_t)-1 || geteuid() != 0) {
		uid = geteuid();
		gid = (gid_t)-1;
	}
	if (fstat(fd, &sb) == -1) {
		log_warn("stat work/%s", id);
		return -1;
	}
	if (geteuid() != 0 && sb.st_uid != geteuid())
		return 0; /* another's: as it is */
	if ((sb.st_uid != uid || (gid != (gid_t)-1 && sb.st_gid != gid)) &&
	    fchown(fd, uid, gid) == -1) {
		log_warn("chown work/%s", id);
		return -1;
	}
	if ((sb.st_mode & 07777) != mode && fchmod(fd, mode) == -1) {
		log_warn("chmod work/%s", id);
		return -1;
	}
	return 0;
}

/*
 * Makes room for work/<id>/ after spool_job_open failed: the folder made,
 * or what else had the name removed. 0, or -1 when it cannot be.
 */
static int
spool_job_room(struct spool *sp, const char *id)
{
	if (errno == ENOENT) {
		if (mkdirat(sp->workfd, id, 0700) == -1 && errno != EEXIST) {
			log_warn("mkdir work/%s", id);
			return -1;
		}
		return 0;
	}
	if (errno != ENOTDIR) {
		log_warn("open work/%s", id);
		return -1;
	}
	log_warnx("work/%s: not a folder; removed", id);
	if (unlinkat(sp->workfd, id, 0) == -1 && errno != ENOENT) {
		log_warn("unlink work/%s", id);
		return -1;
	}
	return 0;
}

/*
 * Makes work/<id>/ a folder fit for a run, owned as spool_job_own says,
 * and opens it. Whatever else had the name (a link, a file) is removed and
 * a folder a member made is taken over: nothing is followed.
 */
int
spool_job_make(struct spool *sp, const char *id, uid_t uid, gid_t gid)
{
	int fd = -1, i;

	for (i = 0; i < 3; i++) {
		if ((fd = spool_job_open(sp, id)) != -1)
			break;
		if (spool_job_room(sp, id) == -1)
			return -1;
	}
	if (fd == -1) {
		log_warnx("work/%s: replaced again as it was made", id);
		errno = EAGAIN;
		return -1;
	}
	if (spool_job_own(sp, fd, id, uid, gid) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The progress message of the job whose work folder is open at jfd: the
 * last line written to its heartbeat file, into buf. 0, or -1 when there
 * is none to read (buf untouched).
 */
int
spool_progress_at(int jfd, char *buf, size_t len)
{
	char *text, *end, *line;

	if ((text = fileio_read(jfd, "heartbeat", 4096)) == NULL)
		return -1;
	for (end = text + strlen(text); end > text && (end[-1] == '\n' ||
	    end[-1] == '\r'); end--)
		;
	*end = '\0';
	line = strrchr(text, '\n');
	name_text(buf, line != NULL ? line + 1 : text, len);
	free(text);
	return 0;
}

int
spool_progress(struct spool *sp, const char *id, char *buf, size_t len)
{
	int fd, r;

	if ((fd = spool_job_open(sp, id)) == -1)
		return -1;
	r = spool_progress_at(fd, buf, len);
	close(fd);
	return r;
}

/*
 * Reads the status record of job id: 0 when the spool's owner wrote it;
 * 1 when another did (a member's submission, or a record a child
 * replaced), which is a request at most (status_request); -1 when there
 * is none to read.
 */
int
spool_status_read(struct spool *sp, const char *id, struct status *st)
{
	struct stat sb;
	char *text;
	int fd, r;

	if ((fd = spool_job_open(sp, id)) == -1)
		return -1;
	text = fileio_read_st(fd, "status.json", 64 * 1024, &sb);
	close(fd);
	if (text == NULL)
		return -1;
	r = status_decode(text, st);
	free(text);
	if (r == -1)
		return -1;
	return sb.st_uid == sp->owner && sb.st_nlink == 1 ? 0 : 1;
}

int
spool_status_write(struct spool *sp, const char *id, const struct status *st)
{
	char *text;
	int fd, r = -1;

	if ((text = status_encode(st)) == NULL) {
		log_warnx("status of a job: cannot encode");
		return -1;
	}
	text = fileio_line(text);
	if ((fd = spool_job_open(sp, id)) == -1 && (errno == ENOENT ||
	    errno == ENOTDIR))
		fd = spool_job_make(sp, id, (uid_t)-1, (gid_t)-1);
	if (fd != -1) {
		r = spool_write(sp, fd, "status.json", text, strlen(text), 1);
		if (r == -1)
			log_warn("write work/%s/status.json", id);
		close(fd);
	}
	free(text);
	return r;
}

/*
 * Moves an entry that cannot be a job (a link, a folder, a FIFO, a bad
 * name) from one of the stage's folders to its error/, never opening it,
 * and records why.
 */
int
spool_quarantine(struct spool *sp, const char *stage, struct sdirs *sd,
    int fromdir, const char *id, const char *why)
{
	struct status st;
	char shown[4 * ID_MAX + 1];

	name_shown(shown, id, sizeof(shown));
	status_init(&st, stage);
	st.state = JS_ERROR;
	st.updated = st.finished = time(NULL);
	strlcpy(st.reason, why, sizeof(st.reason));
	if ((strlen(id) > ID_MAX ? spool_move(sp, sd->fd[fromdir],
	    sd->fd[DIR_ERROR], id) : spool_transition(sp, sd->fd[fromdir],
	    sd->fd[DIR_ERROR], id, &st, CP_QUARANTINE)) == -1) {
		if (errno != ENOENT)
			log_warn("quarantine %s/%s/%s", stage, dirnames[fromdir],
			    shown);
		return -1;
	}
	log_warnx("%s/%s/%s: %s: moved to error/", stage, dirnames[fromdir],
	    shown, why);
	return 0;
}

