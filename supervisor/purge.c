/*
 * purge.c: what goes when a job goes. A finished job is removed with all
 * it leaves (its work folder, its log, its entry in the index of contents
 * seen); what a submission cut short left is forgotten; and what writers
 * that are gone left in tmp/ or index/ is removed. What a job leaves goes
 * before its file, so that a purge cut short leaves the job, for the next
 * purge to remove; each removal is an event.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"

/* The leftovers of one folder, and whose jobs they may be. */
struct leftovers {
	struct spool *sp;
	int dfd;
	int (*job)(const char *id);
};

/*
 * Removes what job id leaves besides its file: its hash's entry, work
 * folder and log. Its record, read first, in st (a blank one when none).
 */
static void
purge_remains(struct spool *sp, const char *id, struct status *st)
{
	char log[NAME_MAX + 1];

	if (spool_status_read(sp, id, st) == -1)
		status_init(st, "");
	dedupe_forget(sp, st->sha256, id);
	if (fileio_rmtree(sp->workfd, id) == -1)
		log_warn("purge work/%s", id);
	fileio_path(log, sizeof(log), "%s.log", id);
	if (unlinkat(sp->logfd, log, 0) == -1 && errno != ENOENT)
		log_warn("purge log/%s", log);
	sp->dirty = 1;
}

/* Removes what job id left without its file, why in its last event. */
void
purge_forget(struct spool *sp, const char *id, const char *why)
{
	struct status st;

	purge_remains(sp, id, &st);
	strlcpy(st.reason, why, sizeof(st.reason));
	events_add(sp, id, "purged", &st);
}

/*
 * Removes a finished job: what it leaves first, then its file, so that a
 * purge cut short leaves the job, for the next purge to remove.
 */
int
purge_job(struct spool *sp, int at, const char *id)
{
	struct status st;

	purge_remains(sp, id, &st);
	if (fileio_rmtree(at, id) == -1) {
		log_warn("purge %s", id);
		return -1;
	}
	events_add(sp, id, "purged", &st);
	return 0;
}

/*
 * Removes name, a file of folder l->dfd, when the writer that left it is
 * gone. A submission cut short goes with the work folder it had made,
 * unless l->job(id) says its job exists after all.
 */
static int
purge_leftover(void *arg, const char *name, int type)
{
	struct leftovers *l = arg;
	const char *id;
	pid_t pid;

	(void)type;
	if ((pid = name_leftover(name, &id)) == 0 || kill(pid, 0) == 0 ||
	    errno != ESRCH || unlinkat(l->dfd, name, 0) == -1)
		return 0;
	log_info("%s: removed, its writer (pid %ld) is gone", name, (long)pid);
	if (id != NULL && l->job != NULL && !l->job(id) &&
	    faccessat(l->sp->workfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		purge_forget(l->sp, id, "not submitted: its spoolctl died");
	return 0;
}

/*
 * Removes from folder dfd (tmp/ or index/) what writers that are gone
 * left there, as purge_leftover says.
 */
void
purge_tmp(struct spool *sp, int dfd, int (*job)(const char *id))
{
	struct leftovers l = {sp, dfd, job};

	fileio_scan_hidden(dfd, purge_leftover, &l);
}
