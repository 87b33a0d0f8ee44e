/*
 * ctl_spool.c: what every verb of spoolctl stands on. It finds the spool
 * (from the config, else the folder given with -d) and the stages (from
 * the config, else from the spool's folders), opens the spool as
 * spoold lays it out, finds a job by its id and reads its status, says
 * whether this user may write where a verb would. A stage that is not
 * there, a spool that cannot be opened or a folder this user cannot write
 * ends spoolctl here (die), with its message and an exit status of
 * sysexits.h.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "spoold.h"
#include "spoolctl.h"

struct ctl C;

void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spoolctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/*
 * The spool of a command line: the folder given with -d, or the spool of
 * the config (-c, else the installed one), which kill_grace and tick
 * come from too. -1 when the config cannot be loaded, said on stderr.
 */
int
ctl_load(const struct ctl_args *a)
{
	C.grace = 5 + 1 + 5;
	if (a->spool != NULL) {
		if ((C.spooldir = realpath(a->spool, NULL)) == NULL)
			die(EX_NOINPUT, "spool %s: %s", a->spool, strerror(errno));
		return 0;
	}
	if ((C.conf = conf_load(a->config != NULL ? a->config : SPOOLD_CONF,
	    CONF_ANY_USER)) == NULL)
		return -1;
	C.spooldir = C.conf->spool;
	C.grace = C.conf->kill_grace + C.conf->tick + 5;
	return 0;
}

size_t
stage_arg(const char *name)
{
	size_t i;

	for (i = 0; i < C.nstages; i++)
		if (strcmp(C.stages[i], name) == 0)
			return i;
	die(EX_USAGE, "no stage named \"%s\" in %s", name, C.spooldir);
}

static int
stage_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The stages of a spool without a config: its folders with a queue/. */
static void
ctl_stages_from_spool(void)
{
	struct dirent *de;
	struct stat sb;
	char path[PATH_MAX];
	DIR *d;

	if ((d = opendir(C.spooldir)) == NULL)
		die(EX_NOINPUT, "%s: %s", C.spooldir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fileio_path(path, sizeof(path), "%s/%s/queue", C.spooldir,
		    de->d_name);
		if (stat(path, &sb) == -1 || !S_ISDIR(sb.st_mode))
			continue;
		C.stages = reallocarray(C.stages, C.nstages + 1, sizeof(char *));
		if (C.stages == NULL ||
		    (C.stages[C.nstages++] = strdup(de->d_name)) == NULL)
			fatal("strdup");
	}
	closedir(d);
	qsort(C.stages, C.nstages, sizeof(char *), stage_cmp);
}

/* The stages, from the config or else from the spool's folders. */
void
ctl_stages(void)
{
	size_t i;

	if (C.stages != NULL)
		return;
	if (C.conf != NULL) {
		if ((C.stages = calloc(C.conf->nstages + 1, sizeof(char *))) ==
		    NULL)
			fatal("calloc");
		for (i = 0; i < C.conf->nstages; i++)
			C.stages[i] = C.conf->stages[i]->name;
		C.nstages = C.conf->nstages;
	} else
		ctl_stages_from_spool();
}

/* Opens the spool; with create, makes its layout as spoold would. */
void
ctl_open(int create)
{
	size_t i;

	ctl_stages();
	if (!create && access(C.spooldir, F_OK) == -1)
		die(EX_NOINPUT, "spool %s: %s", C.spooldir, strerror(errno));
	if (spool_open(&C.sp, C.spooldir, create, C.conf != NULL ? C.conf->gid :
	    (gid_t)-1) == -1)
		exit(errno == EACCES ? EX_NOPERM : EX_NOINPUT);
	if ((C.sd = calloc(C.nstages + 1, sizeof(*C.sd))) == NULL)
		fatal("calloc");
	for (i = 0; i < C.nstages; i++)
		if (spool_stage_open(&C.sp, C.stages[i], &C.sd[i], create) == -1)
			exit(errno == EACCES ? EX_NOPERM : EX_NOINPUT);
}

/* Exits with EX_NOPERM naming the first folder this user cannot write. */
void
ctl_writable(size_t stage, int dir)
{
	char path[PATH_MAX];
	const char *sub[] = {"tmp", "work", "index/cancel"};
	size_t i;

	for (i = 0; i < sizeof(sub) / sizeof(*sub); i++) {
		fileio_path(path, sizeof(path), "%s/%s", C.spooldir, sub[i]);
		if (access(path, W_OK) == -1)
			die(EX_NOPERM, "cannot write %s: %s", path,
			    strerror(errno));
	}
	if (dir < 0)
		return;
	fileio_path(path, sizeof(path), "%s/%s/%s", C.spooldir, C.stages[stage],
	    spool_dir_name(dir));
	if (access(path, W_OK) == -1)
		die(EX_NOPERM, "cannot write %s: %s", path, strerror(errno));
}

/* Finds a job: 0 with its stage and folder, or -1. */
int
ctl_find(const char *id, size_t *stage, int *dir)
{
	struct stat sb;
	const char *why;
	size_t i;
	int d;

	if (strchr(id, '/') != NULL || id[0] == '.' ||
	    name_check(id, &why) == -1)
		return -1;
	for (i = 0; i < C.nstages; i++)
		for (d = 0; d < NDIRS; d++)
			if (fstatat(C.sd[i].fd[d], id, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0) {
				*stage = i;
				*dir = d;
				return 0;
			}
	return -1;
}

void
ctl_find_all(int argc, char **argv, size_t *stage, int *dir)
{
	int i;

	for (i = 0; i < argc; i++)
		if (ctl_find(argv[i], &stage[i], &dir[i]) == -1)
			die(EX_NOINPUT, "unknown job id \"%s\"", argv[i]);
}

void
ctl_status(const char *id, size_t stage, struct status *st)
{
	if (spool_status_read(&C.sp, id, st) == -1) {
		status_init(st, C.stages[stage]);
		st->priority = name_priority(id);
	} else if (strcmp(st->stage, C.stages[stage]) != 0)
		status_renew(st, C.stages[stage]);
}

/* Whether a spoold holds the spool, by the lock on the spool's folder. */
int
spoold_running(void)
{
	return lock_holder(C.sp.dfd) > 0;
}
