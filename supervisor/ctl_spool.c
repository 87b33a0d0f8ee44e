/*
 * ctl_spool.c: what every verb of spoolctl stands on. It finds the stages
 * (from the config, else from the spool's folders), opens the spool as
 * spoold lays it out, finds a job by its id and reads its status, says
 * whether this user may write where a verb would, and parses the
 * arguments verbs share. A bad argument, a spool that cannot be opened
 * or a folder this user cannot write ends spoolctl here (die, usage),
 * with its message and an exit status of sysexits.h.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "spoold.h"
#include "spoolctl.h"

#define DURATION_MAX 315360000L /* ten years */

struct ctl C;

/*
 * The verbs, with the options each takes: the letters of the long options
 * below, or -f alone for log and events; and how many operands (-1: any).
 */
static const struct verbargs {
	const char *name, *longs, *shorts;
	int min, max;
} verbargs[] = {
	{"submit", "spkDnl", "", 1, -1}, {"ls", "stj", "", 0, 0},
	{"show", "j", "", 1, 1}, {"log", "", "f", 1, 1},
	{"retry", "saF", "", 0, -1}, {"cancel", NULL, NULL, 1, -1},
	{"purge", "sto", "", 0, 0}, {"stats", "j", "", 0, 0},
	{"watch", "", "", 0, 0}, {"events", "", "f", 0, 1},
	{"info", "j", "", 0, 0},
};

static const struct option longopts[] = {
	{"stage", required_argument, NULL, 's'},
	{"priority", required_argument, NULL, 'p'},
	{"key", required_argument, NULL, 'k'},
	{"delay", required_argument, NULL, 'D'},
	{"name", required_argument, NULL, 'n'},
	{"link", no_argument, NULL, 'l'},
	{"state", required_argument, NULL, 't'},
	{"json", no_argument, NULL, 'j'},
	{"all", no_argument, NULL, 'a'},
	{"force", no_argument, NULL, 'F'},
	{"older-than", required_argument, NULL, 'o'},
};

void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: spoolctl [-c config | -d spool] verb ...\n"
	    "  submit [--stage S] [--priority 0-9] [--key K] [--delay DURATION]\n"
	    "         [--name NAME] [--link] FILE... | -\n"
	    "  ls [--stage S] [--state queued|deferred|running|done|error] [--json]\n"
	    "  show ID [--json]\n"
	    "  log ID [-f]\n"
	    "  retry [--force] ID... | retry [--force] --stage S --all\n"
	    "  cancel ID...\n"
	    "  purge [--stage S] [--state done|error] --older-than DURATION\n"
	    "  stats [--json]\n"
	    "  watch\n"
	    "  events [-f] [ID]\n"
	    "  info [--json]\n");
	exit(EX_USAGE);
}

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

/* DURATION: 90, 90s, 15m, 2h or 7d, in seconds; -1 when malformed. */
static long
ctl_duration(const char *s)
{
	char *end;
	long v, unit = 1;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0')
			return -1;
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -1;
		}
	}
	if (v > DURATION_MAX / unit)
		return -1;
	return v * unit;
}

/* Says why the command line is refused, in a->why; -1. */
static int __attribute__((format(printf, 2, 3)))
ctl_refuse(struct ctl_args *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&a->why, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	return -1;
}

/* The value of one option of a verb, into a; 0 or -1. */
static int
ctl_option(struct ctl_args *a, const struct verbargs *v, int ch,
    const char *arg)
{
	switch (ch) {
	case 's': a->stage = arg; break;
	case 'p':
		if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '9')
			return ctl_refuse(a, "--priority: \"%s\" is not a "
			    "digit from 0 to 9", arg);
		a->priority = arg[0] - '0';
		break;
	case 'k': a->key = arg; break;
	case 'D':
		if ((a->delay = ctl_duration(arg)) < 0)
			return ctl_refuse(a, "--delay: bad duration \"%s\" "
			    "(use 90, 90s, 15m, 2h or 7d, up to ten years)", arg);
		break;
	case 'o':
		if ((a->older = ctl_duration(arg)) < 0)
			return ctl_refuse(a, "--older-than: bad duration \"%s\" "
			    "(use 90, 90s, 15m, 2h or 7d, up to ten years)", arg);
		break;
	case 'n': a->name = arg; break;
	case 'l': a->link = 1; break;
	case 't':
		a->state = status_state_parse(arg);
		if (strcmp(v->name, "purge") == 0 && a->state != JS_DONE &&
		    a->state != JS_ERROR)
			return ctl_refuse(a, "--state: \"%s\" is not done or "
			    "error", arg);
		if (a->state == -1)
			return ctl_refuse(a, "--state: \"%s\" is not one of "
			    "queued, deferred, running, done, error", arg);
		break;
	case 'j': a->json = 1; break;
	case 'a': a->all = 1; break;
	case 'F': a->force = 1; break;
	case 'f': a->follow = 1; break;
	default: return -1;
	}
	return 0;
}

/* The options and operands of a verb, argv[0], as v takes them. */
static int
ctl_verb_args(struct ctl_args *a, const struct verbargs *v, int argc,
    char **argv)
{
	struct option opts[sizeof(longopts) / sizeof(*longopts) + 1];
	const char *why;
	size_t i, n = 0;
	int ch;

	for (i = 0; v->longs != NULL && i < sizeof(longopts) /
	    sizeof(*longopts); i++)
		if (strchr(v->longs, longopts[i].val) != NULL)
			opts[n++] = longopts[i];
	memset(&opts[n], 0, sizeof(opts[n]));
	optind = 0; /* a new scan, without the "+" of spoolctl's own */
	if (v->longs == NULL)
		optind = 1; /* cancel: every word is an id */
	else
		while ((ch = getopt_long(argc, argv, v->shorts, opts, NULL)) !=
		    -1)
			if (ctl_option(a, v, ch, optarg) == -1)
				return -1;
	a->argc = argc - optind;
	a->argv = argv + optind;
	if (a->argc < v->min || (v->max >= 0 && a->argc > v->max))
		return -1;
	if (strcmp(v->name, "retry") == 0 && (a->all != (a->stage != NULL) ||
	    (a->all && a->argc > 0) || (!a->all && a->argc == 0)))
		return -1;
	if (strcmp(v->name, "purge") == 0 && a->older < 0)
		return -1;
	if (strlen(a->key) >= sizeof(((struct status *)0)->key) ||
	    name_check(a->key, &why) == -1)
		return ctl_refuse(a, "--key: at most %zu bytes of UTF-8, with no "
		    "control or bidirectional character",
		    sizeof(((struct status *)0)->key) - 1);
	return 0;
}

/*
 * Parses spoolctl's command line into a, acting on nothing: 0, or -1 with
 * why it is refused in a->why (NULL when the usage says it), to be freed.
 */
int
ctl_parse(int argc, char **argv, struct ctl_args *a)
{
	size_t i;
	int ch;

	memset(a, 0, sizeof(*a));
	a->state = -1;
	a->older = -1;
	a->key = "";
	optind = 0;
	while ((ch = getopt(argc, argv, "+c:d:hV")) != -1) {
		switch (ch) {
		case 'c': a->config = optarg; break;
		case 'd': a->spool = optarg; break;
		case 'V': a->version = 1; return 0;
		default: return -1;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (a->config != NULL && a->spool != NULL))
		return -1;
	for (i = 0; i < sizeof(verbargs) / sizeof(*verbargs); i++)
		if (strcmp(argv[0], verbargs[i].name) == 0)
			break;
	if (i == sizeof(verbargs) / sizeof(*verbargs))
		return ctl_refuse(a, "unknown verb \"%s\"", argv[0]);
	a->verb = verbargs[i].name;
	return ctl_verb_args(a, &verbargs[i], argc, argv);
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
