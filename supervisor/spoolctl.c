/*
 * spoolctl.c: the operator's command line. It reads and changes the spool
 * directly, through the same spool module as spoold, so every verb but
 * the cancel of a running job works while spoold is stopped. A verb either
 * does all it was asked or, on a bad argument, nothing.
 */
#include <sys/param.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"

struct ctl {
	struct conf *conf; /* NULL with -d */
	char *spooldir;
	struct spool sp;
	char **stages;
	size_t nstages;
	struct sdirs *sd;
	long grace; /* kill_grace + tick: how long a cancel may take */
	size_t *at_stage; /* where the ids of a verb are */
	int *at_dir;
};

/* A job as ls sees it. */
struct entry {
	size_t stage;
	int dir;
	enum jstate state;
	char *id;
	struct timespec mtime;
	struct status st;
	int has_status;
};

#define DURATION_MAX 315360000L /* ten years */

static struct ctl C;
static unsigned submit_seq;

static void __attribute__((noreturn))
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

static void __attribute__((noreturn, format(printf, 2, 3)))
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
parse_duration(const char *s)
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

static long
duration_arg(const char *opt, const char *s)
{
	long v = parse_duration(s);

	if (v < 0)
		die(EX_USAGE, "%s: bad duration \"%s\" (use 90, 90s, 15m, 2h "
		    "or 7d, up to ten years)", opt, s);
	return v;
}

static size_t
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
static void
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
static void
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
static void
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
static int
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

static void
ctl_find_all(int argc, char **argv, size_t *stage, int *dir)
{
	int i;

	for (i = 0; i < argc; i++)
		if (ctl_find(argv[i], &stage[i], &dir[i]) == -1)
			die(EX_NOINPUT, "unknown job id \"%s\"", argv[i]);
}

static void
ctl_status(const char *id, size_t stage, struct status *st)
{
	if (spool_status_read(&C.sp, id, st) == -1) {
		status_init(st, C.stages[stage]);
		st->priority = name_priority(id);
	} else if (strcmp(st->stage, C.stages[stage]) != 0)
		status_renew(st, C.stages[stage]);
}

/* The id of a new job: priority, time, a unique part, then the name. */
static void
submit_id(char *id, size_t len, int prio, const char *name)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(id, len, "%d.%s.%06ld-%ld-%u.%s", prio, stamp,
	    ts.tv_nsec / 1000, (long)getpid(), submit_seq++, name);
}

static int
copy_all(int from, int to)
{
	char buf[65536];
	ssize_t n, w, off;

	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		for (off = 0; off < n; off += w)
			if ((w = write(to, buf + off, n - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				return -1;
			}
	}
	return 0;
}

/* Copies bytes [off, end) of a regular file, at the same offsets. */
static int
copy_range(int from, int to, off_t off, off_t end)
{
	char buf[65536];
	off_t in = off, out = off;
	ssize_t n;

	while (in < end) {
		n = copy_file_range(from, &in, to, &out, end - in, 0);
		if (n > 0)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EXDEV && errno != EINVAL &&
		    errno != ENOSYS && errno != EOPNOTSUPP))
			return -1;
		/* A filesystem that cannot: by hand. */
		n = pread(from, buf, MIN((off_t)sizeof(buf), end - in), in);
		if (n <= 0 || pwrite(to, buf, n, out) != n)
			return -1;
		in += n;
		out += n;
	}
	return 0;
}

/*
 * Copies from to to. A regular file's holes stay holes: only its data is
 * copied, so a sparse file takes no more room in the spool than it did.
 */
static int
copy_fd(int from, int to)
{
	struct stat sb;
	off_t data, hole = 0;

	if (fstat(from, &sb) == -1 || !S_ISREG(sb.st_mode))
		return copy_all(from, to);
	while ((data = lseek(from, hole, SEEK_DATA)) != -1)
		if ((hole = lseek(from, data, SEEK_HOLE)) == -1 ||
		    copy_range(from, to, data, hole) == -1)
			return -1;
	if (errno != ENXIO) /* ENXIO: no data past hole */
		return copy_all(from, to);
	return ftruncate(to, sb.st_size);
}

/* Puts the content of file (or stdin for "-") at tmp/<tmp>. */
static int
submit_content(const char *file, const char *tmp, int link)
{
	int in, out, r;

	if (link && strcmp(file, "-") != 0 &&
	    linkat(AT_FDCWD, file, C.sp.tmpfd, tmp, 0) == 0)
		return 0;
	in = strcmp(file, "-") == 0 ? STDIN_FILENO :
	    open(file, O_RDONLY | O_CLOEXEC);
	if (in == -1)
		return -1;
	out = openat(C.sp.tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0640);
	if (out == -1) {
		if (in != STDIN_FILENO)
			close(in);
		return -1;
	}
	r = copy_fd(in, out);
	if (r == 0 && fsync(out) == -1)
		r = -1;
	if (close(out) == -1)
		r = -1;
	if (in != STDIN_FILENO)
		close(in);
	if (r == -1)
		unlinkat(C.sp.tmpfd, tmp, 0);
	return r;
}

static int
ctl_submit(int argc, char **argv)
{
	static struct option opts[] = {
		{"stage", required_argument, NULL, 's'},
		{"priority", required_argument, NULL, 'p'},
		{"key", required_argument, NULL, 'k'},
		{"delay", required_argument, NULL, 'D'},
		{"name", required_argument, NULL, 'n'},
		{"link", no_argument, NULL, 'l'},
		{NULL, 0, NULL, 0}
	};
	static char (*ids)[NAME_MAX + 1]; /* static: reachable on exit */
	const char *stage = NULL, *name = NULL, *key = "", *why;
	char *id, tmp[NAME_MAX + 2], *base;
	long delay = 0, prio = 0;
	struct status st;
	struct stat sb;
	size_t s = 0;
	int ch, i, link = 0;
	time_t now;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': stage = optarg; break;
		case 'p':
			if (strlen(optarg) != 1 || optarg[0] < '0' ||
			    optarg[0] > '9')
				die(EX_USAGE, "--priority: \"%s\" is not a "
				    "digit from 0 to 9", optarg);
			prio = optarg[0] - '0';
			break;
		case 'k': key = optarg; break;
		case 'D': delay = duration_arg("--delay", optarg); break;
		case 'n': name = optarg; break;
		case 'l': link = 1; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	if (strlen(key) >= sizeof(st.key) || name_check(key, &why) == -1)
		die(EX_USAGE, "--key: at most %zu bytes of UTF-8, with no control "
		    "or bidirectional character", sizeof(st.key) - 1);
	ctl_stages();
	if (C.nstages == 0)
		die(EX_USAGE, "%s has no stage", C.spooldir);
	if (stage != NULL)
		s = stage_arg(stage);
	if ((ids = calloc(argc, sizeof(*ids))) == NULL)
		fatal("calloc");
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") != 0 && stat(argv[i], &sb) == -1)
			die(EX_NOINPUT, "%s: %s", argv[i], strerror(errno));
		if (strcmp(argv[i], "-") != 0 && !S_ISREG(sb.st_mode))
			die(EX_NOINPUT, "%s: not a regular file", argv[i]);
		base = strrchr(argv[i], '/');
		submit_id(ids[i], sizeof(ids[i]), (int)prio, name != NULL ?
		    name : strcmp(argv[i], "-") == 0 ? "stdin" : base != NULL ?
		    base + 1 : argv[i]);
		if (name_check(ids[i], &why) == -1 ||
		    strchr(ids[i], '/') != NULL)
			die(EX_USAGE, "%s: cannot be a job name: %s", argv[i],
			    strchr(ids[i], '/') != NULL ? "it has a '/'" : why);
	}
	ctl_open(1);
	ctl_writable(s, DIR_QUEUE);
	for (i = 0; i < argc; i++) {
		id = ids[i];
		snprintf(tmp, sizeof(tmp), ".%s", id);
		if (submit_content(argv[i], tmp, link) == -1)
			die(errno == EACCES ? EX_NOPERM : EX_IOERR, "%s: %s",
			    argv[i], strerror(errno));
		now = time(NULL);
		status_init(&st, C.stages[s]);
		st.state = delay > 0 ? JS_DEFERRED : JS_QUEUED;
		st.submitted = st.updated = now;
		st.priority = (int)prio;
		strlcpy(st.key, key, sizeof(st.key));
		if (spool_submit(&C.sp, C.sd[s].fd[DIR_QUEUE], tmp, id, &st,
		    now + delay) == -1) {
			int saved = errno;
			unlinkat(C.sp.tmpfd, tmp, 0);
			die(saved == EACCES ? EX_NOPERM : EX_IOERR, "submit %s: "
			    "%s", argv[i], strerror(saved));
		}
		printf("%s\n", id);
	}
	free(ids);
	return EX_OK;
}

static void
fmt_age(time_t secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(buf, len, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, len, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(buf, len, "%lldh", (long long)secs / 3600);
	else
		snprintf(buf, len, "%lldd", (long long)secs / 86400);
}

static struct entry *ents;
static size_t nents, capents;
static size_t ls_stage;
static int ls_dir;

static int
ls_one(void *arg, const char *id, int type)
{
	struct entry *e;
	struct stat sb;

	(void)arg;
	(void)type;
	if (fstatat(C.sd[ls_stage].fd[ls_dir], id, &sb,
	    AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if (nents == capents) {
		capents = capents ? capents * 2 : 256;
		if ((ents = reallocarray(ents, capents, sizeof(*ents))) == NULL)
			fatal("reallocarray");
	}
	e = &ents[nents++];
	memset(e, 0, sizeof(*e));
	e->stage = ls_stage;
	e->dir = ls_dir;
	if ((e->id = strdup(id)) == NULL)
		fatal("strdup");
	e->mtime = sb.st_mtim;
	switch (ls_dir) {
	case DIR_QUEUE:
		e->state = sb.st_mtime > time(NULL) ? JS_DEFERRED : JS_QUEUED;
		break;
	case DIR_RUNNING: e->state = JS_RUNNING; break;
	case DIR_DONE: e->state = JS_DONE; break;
	default: e->state = JS_ERROR; break;
	}
	e->has_status = spool_status_read(&C.sp, id, &e->st) != -1;
	if (!e->has_status) {
		status_init(&e->st, C.stages[ls_stage]);
		e->st.priority = name_priority(id);
	}
	return 0;
}

static int
state_rank(enum jstate s)
{
	static const int rank[] = {[JS_RUNNING] = 0, [JS_QUEUED] = 1,
		[JS_DEFERRED] = 2, [JS_DONE] = 3, [JS_ERROR] = 4};
	return rank[s];
}

/* The scheduler's order: stage, then running, ready, deferred, ... */
static int
entry_cmp(const void *va, const void *vb)
{
	const struct entry *a = va, *b = vb;
	int pa = name_priority(a->id), pb = name_priority(b->id);

	if (a->stage != b->stage)
		return a->stage < b->stage ? -1 : 1;
	if (a->state != b->state)
		return state_rank(a->state) - state_rank(b->state);
	if (a->state == JS_QUEUED && pa != pb)
		return pb - pa;
	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
	return strcmp(a->id, b->id);
}

static void
ls_collect(long stage, int state)
{
	size_t i;
	int d;

	for (i = 0; i < C.nstages; i++) {
		if (stage >= 0 && (size_t)stage != i)
			continue;
		for (d = 0; d < NDIRS; d++) {
			ls_stage = i;
			ls_dir = d;
			fileio_scan(C.sd[i].fd[d], ls_one, NULL);
		}
	}
	if (state >= 0) {
		size_t j = 0;
		for (i = 0; i < nents; i++)
			if ((int)ents[i].state == state)
				ents[j++] = ents[i];
			else
				free(ents[i].id);
		nents = j;
	}
	qsort(ents, nents, sizeof(*ents), entry_cmp);
}

static char *
progress_of(const struct entry *e, char *buf, size_t len)
{
	strlcpy(buf, e->st.progress, len);
	if (e->state == JS_RUNNING)
		spool_progress(&C.sp, e->id, buf, len);
	return buf;
}

static json_t *
entry_json(const struct entry *e, time_t now)
{
	char name[4 * NAME_MAX + 1], prog[PROGRESS_MAX];

	name_shown(name, e->id, sizeof(name));
	progress_of(e, prog, sizeof(prog));
	return json_pack("{s:s, s:s, s:s, s:i, s:I, s:i, s:s?, s:s?}",
	    "id", name, "stage", C.stages[e->stage],
	    "state", status_state_name(e->state), "attempt", e->st.attempt,
	    "age_s", (json_int_t)(now - (e->st.submitted ? e->st.submitted :
	    e->mtime.tv_sec)), "priority", name_priority(e->id),
	    "key", e->st.key[0] ? e->st.key : NULL,
	    "progress", prog[0] ? prog : NULL);
}

static int
ctl_ls(int argc, char **argv)
{
	static struct option opts[] = {
		{"stage", required_argument, NULL, 's'},
		{"state", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0}
	};
	const char *stage = NULL;
	char name[4 * NAME_MAX + 1], age[32], prog[PROGRESS_MAX];
	int ch, json = 0, state = -1;
	time_t now = time(NULL);
	json_t *a;
	size_t i;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': stage = optarg; break;
		case 't':
			if ((state = status_state_parse(optarg)) == -1)
				die(EX_USAGE, "--state: \"%s\" is not one of "
				    "queued, deferred, running, done, error",
				    optarg);
			break;
		case 'j': json = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	ctl_open(0);
	ls_collect(stage != NULL ? (long)stage_arg(stage) : -1, state);
	if (json) {
		a = json_array();
		for (i = 0; i < nents; i++)
			json_array_append_new(a, entry_json(&ents[i], now));
		json_dumpf(a, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(a);
		return EX_OK;
	}
	printf("%-40s %-10s %-8s %7s %5s %-12s %s\n", "ID", "STAGE", "STATE",
	    "ATTEMPT", "AGE", "KEY", "PROGRESS");
	for (i = 0; i < nents; i++) {
		const struct entry *e = &ents[i];
		name_shown(name, e->id, sizeof(name));
		fmt_age(now - (e->st.submitted ? e->st.submitted :
		    e->mtime.tv_sec), age, sizeof(age));
		printf("%-40s %-10s %-8s %7d %5s %-12s %s\n", name,
		    C.stages[e->stage], status_state_name(e->state),
		    e->st.attempt, age, e->st.key[0] ? e->st.key : "-",
		    progress_of(e, prog, sizeof(prog)));
	}
	return EX_OK;
}

/* The last n lines of a job's log, or NULL. */
static char *
log_tail(const char *id, int n)
{
	char name[NAME_MAX + 1], *text, *p;
	struct stat sb;
	off_t from;
	int fd;

	fileio_path(name, sizeof(name), "%s.log", id);
	if ((fd = openat(C.sp.logfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return NULL;
	}
	from = sb.st_size > 65536 ? sb.st_size - 65536 : 0;
	close(fd);
	fileio_path(name, sizeof(name), "%s.log", id);
	if ((fd = openat(C.sp.logfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	lseek(fd, from, SEEK_SET);
	if ((text = calloc(1, 65537)) == NULL)
		fatal("calloc");
	if (read(fd, text, 65536) < 0)
		text[0] = '\0';
	close(fd);
	p = text + strlen(text);
	if (p > text && p[-1] == '\n')
		p--;
	while (p > text && n > 0)
		if (*--p == '\n')
			n--;
	if (*p == '\n')
		p++;
	memmove(text, p, strlen(p) + 1);
	return text;
}

static int
ctl_show(int argc, char **argv)
{
	static struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0}
	};
	char when[32], *tail, *rec;
	struct status st;
	size_t s;
	int ch, d, json = 0;
	json_t *o;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (ch == 'j')
			json = 1;
		else
			usage();
	if (argc - optind != 1)
		usage();
	ctl_open(0);
	ctl_find_all(1, argv + optind, &s, &d);
	ctl_status(argv[optind], s, &st);
	if (d == DIR_RUNNING)
		spool_progress(&C.sp, argv[optind], st.progress,
		    sizeof(st.progress));
	tail = log_tail(argv[optind], 10);
	if (json) {
		rec = status_encode(&st);
		o = json_pack("{s:s, s:s, s:s, s:o, s:s?}", "id", argv[optind],
		    "stage", C.stages[s], "folder", spool_dir_name(d),
		    "status", json_loads(rec, 0, NULL), "log", tail);
		json_dumpf(o, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(o);
		free(rec);
		free(tail);
		return EX_OK;
	}
	printf("id:        %s\nplace:     %s/%s\nattempt:   %d\n", argv[optind],
	    C.stages[s], spool_dir_name(d), st.attempt);
	if (st.exit >= 0)
		printf("exit:      %d\n", st.exit);
	if (st.signal > 0)
		printf("signal:    %d (%s)\n", st.signal, strsignal(st.signal));
	if (st.reason[0])
		printf("reason:    %s\n", st.reason);
	if (st.submitted) {
		fileio_isotime(when, sizeof(when), st.submitted);
		printf("submitted: %s\n", when);
	}
	if (st.started) {
		fileio_isotime(when, sizeof(when), st.started);
		printf("started:   %s\n", when);
	}
	if (st.finished) {
		fileio_isotime(when, sizeof(when), st.finished);
		printf("finished:  %s\n", when);
	}
	printf("priority:  %d\n", st.priority);
	if (st.key[0])
		printf("key:       %s\n", st.key);
	if (st.progress[0])
		printf("progress:  %s\n", st.progress);
	if (st.slurm > 0)
		printf("slurm:     job %lld\n", st.slurm);
	if (st.sha256[0])
		printf("sha256:    %s%s\n", st.sha256, st.forced ?
		    " (run as a duplicate: retry --force)" : "");
	if (tail != NULL && tail[0] != '\0')
		printf("log:\n%s\n", tail);
	free(tail);
	return EX_OK;
}

static int
ctl_log(int argc, char **argv)
{
	char name[NAME_MAX + 1];
	size_t s;
	int ch, d, fd, follow = 0;
	ssize_t n;
	char buf[8192];

	while ((ch = getopt(argc, argv, "f")) != -1)
		if (ch == 'f')
			follow = 1;
		else
			usage();
	if (argc - optind != 1)
		usage();
	ctl_open(0);
	ctl_find_all(1, argv + optind, &s, &d);
	fileio_path(name, sizeof(name), "%s.log", argv[optind]);
	if ((fd = openat(C.sp.logfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && !follow)
			return EX_OK;
		if (errno != ENOENT)
			die(EX_NOINPUT, "log/%s: %s", name, strerror(errno));
	}
	for (;;) {
		if (fd == -1)
			fd = openat(C.sp.logfd, name, O_RDONLY | O_CLOEXEC);
		while (fd != -1 && (n = read(fd, buf, sizeof(buf))) > 0)
			if (fwrite(buf, 1, n, stdout) != (size_t)n)
				return EX_IOERR;
		fflush(stdout);
		if (!follow || ctl_find(argv[optind], &s, &d) == -1 ||
		    d != DIR_RUNNING)
			break;
		poll(NULL, 0, 200);
	}
	while (fd != -1 && (n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	return EX_OK;
}

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
	st.state = JS_QUEUED;
	st.attempt = 0;
	st.exit = -1;
	st.signal = 0;
	st.reason[0] = '\0';
	st.finished = 0;
	st.updated = time(NULL);
	if (spool_resubmit(&C.sp, C.sd[s].fd[DIR_ERROR],
	    C.sd[s].fd[DIR_QUEUE], id, &st, &old) == -1) {
		fprintf(stderr, "spoolctl: retry %s: %s\n", id, strerror(errno));
		return -1;
	}
	printf("%s\n", id);
	return 0;
}

static int
ctl_retry(int argc, char **argv)
{
	static struct option opts[] = {
		{"stage", required_argument, NULL, 's'},
		{"all", no_argument, NULL, 'a'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0}
	};
	const char *stage = NULL;
	size_t *s, i, si;
	int ch, *d, all = 0, force = 0, r = EX_OK;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': stage = optarg; break;
		case 'a': all = 1; break;
		case 'f': force = 1; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (all != (stage != NULL) || (all && argc > 0) || (!all && argc == 0))
		usage();
	ctl_open(0);
	if (all) {
		si = stage_arg(stage);
		ctl_writable(si, DIR_ERROR);
		ctl_writable(si, DIR_QUEUE);
		ls_collect((long)si, JS_ERROR);
		for (i = 0; i < nents; i++)
			if (retry_one(ents[i].id, si, force) == -1)
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
		if (retry_one(argv[i], s[i], force) == -1)
			r = EX_IOERR;
	syncer_sync(&C.sp);
	return r;
}

/* Whether a spoold holds the spool, by the lock on the spool's folder. */
static int
spoold_running(void)
{
	return lock_holder(C.sp.dfd) > 0;
}

static int
cancel_queued(const char *id, size_t s)
{
	struct status st;

	ctl_status(id, s, &st);
	st.state = JS_ERROR;
	strlcpy(st.reason, "cancelled", sizeof(st.reason));
	st.finished = st.updated = time(NULL);
	return spool_transition(&C.sp, C.sd[s].fd[DIR_QUEUE],
	    C.sd[s].fd[DIR_ERROR], id, &st, 0);
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

static int
ctl_cancel(int argc, char **argv)
{
	size_t *s;
	int *d, i, r = EX_OK, ri;

	if (argc < 2)
		usage();
	argc--;
	argv++;
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

static int
ctl_purge(int argc, char **argv)
{
	static struct option opts[] = {
		{"stage", required_argument, NULL, 's'},
		{"state", required_argument, NULL, 't'},
		{"older-than", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0}
	};
	const char *stage = NULL;
	long older = -1;
	int ch, state = -1, n = 0;
	time_t now = time(NULL);
	struct stat sb;
	size_t i;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': stage = optarg; break;
		case 't':
			state = status_state_parse(optarg);
			if (state != JS_DONE && state != JS_ERROR)
				die(EX_USAGE, "--state: \"%s\" is not done or "
				    "error", optarg);
			break;
		case 'o': older = duration_arg("--older-than", optarg); break;
		default: usage();
		}
	}
	if (optind != argc || older < 0)
		usage();
	ctl_open(0);
	ls_collect(stage != NULL ? (long)stage_arg(stage) : -1, state);
	for (i = 0; i < nents; i++) {
		const struct entry *e = &ents[i];
		int fd = C.sd[e->stage].fd[e->dir];
		if (e->state != JS_DONE && e->state != JS_ERROR)
			continue;
		ctl_writable(e->stage, e->dir);
		if (fstatat(fd, e->id, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    now - sb.st_ctime < older)
			continue;
		if (purge_job(&C.sp, fd, e->id) == 0)
			n++;
	}
	syncer_sync(&C.sp);
	printf("%d purged\n", n);
	return EX_OK;
}

static json_t *
metrics_read(void)
{
	char *text;
	json_t *o;

	if ((text = fileio_read(C.sp.indexfd, "metrics.json", 1 << 20)) == NULL)
		return NULL;
	o = json_loads(text, 0, NULL);
	free(text);
	return o;
}

static long long
jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static int
ctl_stats(int argc, char **argv)
{
	const char *name;
	json_t *o, *v;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json))
		usage();
	ctl_open(0);
	if ((o = metrics_read()) == NULL)
		die(EX_NOINPUT, "%s/index/metrics.json: none yet (has spoold "
		    "run on this spool?)", C.spooldir);
	if (json) {
		json_dumpf(o, stdout, JSON_INDENT(1));
		putchar('\n');
		json_decref(o);
		return EX_OK;
	}
	printf("%-12s %5s %7s %8s %7s %8s %8s %8s %8s %8s %8s\n", "STAGE",
	    "SLOTS", "QUEUED", "DEFERRED", "RUNNING", "DONE", "ERROR",
	    "RETRIES", "TIMEOUTS", "RUNS", "AVG_MS");
	json_object_foreach(json_object_get(o, "stages"), name, v)
		printf("%-12s %5lld %7lld %8lld %7lld %8lld %8lld %8lld %8lld "
		    "%8lld %8lld\n", name, jint(v, "slots"), jint(v, "queued"),
		    jint(v, "deferred"), jint(v, "running"), jint(v, "done"),
		    jint(v, "error"), jint(v, "retries"), jint(v, "timeouts"),
		    jint(v, "runs"), jint(v, "runs") ? jint(v, "run_ms_total") /
		    jint(v, "runs") : 0);
	printf("%-12s %5s %7lld %8lld %7lld %8lld %8lld %8lld %8lld\n", "total",
	    "", jint(o, "queued"), jint(o, "deferred"), jint(o, "running"),
	    jint(o, "done"), jint(o, "error"), jint(o, "retries"),
	    jint(o, "timeouts"));
	json_decref(o);
	return EX_OK;
}

static volatile sig_atomic_t watch_quit, watch_resize;

static void
watch_signal(int sig)
{
	if (sig == SIGWINCH)
		watch_resize = 1;
	else
		watch_quit = 1;
}

static void
watch_bar(long long n[5], long long total, int width)
{
	static const char mark[5] = {'#', 'x', '>', '.', ':'};
	int i, k, used = 0;

	putchar('[');
	for (i = 0; i < 5 && total > 0; i++)
		for (k = 0; k < (int)(n[i] * width / total) && used < width;
		    k++, used++)
			putchar(mark[i]);
	for (; used < width; used++)
		putchar(' ');
	putchar(']');
}

/* The ID column: 40 wide, wider as the terminal leaves room, up to 120. */
static int
watch_id_width(void)
{
	struct winsize ws;
	int w = 40;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 83 + 40)
		w = ws.ws_col - 83 > 120 ? 120 : ws.ws_col - 83;
	return w;
}

static void
watch_draw(void)
{
	char name[4 * NAME_MAX + 1], age[32], prog[PROGRESS_MAX];
	time_t now = time(NULL);
	json_t *o, *stages, *v;
	long long n[5], total;
	size_t i;
	int idw;

	o = metrics_read();
	stages = json_object_get(o, "stages");
	printf("\033[H\033[2J");
	printf("spoold %s   %s   q: quit\r\n\r\n", C.spooldir,
	    o != NULL ? json_string_value(json_object_get(o, "updatedAt")) :
	    "(no metrics)");
	printf("%-12s %7s %8s %7s %8s %8s  %s\r\n", "STAGE", "QUEUED",
	    "DEFERRED", "RUNNING", "DONE", "ERROR",
	    "[# done  x error  > running  . queued  : deferred]");
	for (i = 0; i < C.nstages; i++) {
		v = json_object_get(stages, C.stages[i]);
		n[0] = jint(v, "done");
		n[1] = jint(v, "error");
		n[2] = jint(v, "running");
		n[3] = jint(v, "queued");
		n[4] = jint(v, "deferred");
		total = n[0] + n[1] + n[2] + n[3] + n[4];
		printf("%-12s %7lld %8lld %7lld %8lld %8lld  ", C.stages[i],
		    n[3], n[4], n[2], n[0], n[1]);
		watch_bar(n, total, 40);
		printf("\r\n");
	}
	json_decref(o);
	idw = watch_id_width();
	printf("\r\nRUNNING\r\n%-10s %-*s %8s  %s\r\n", "STAGE", idw, "ID",
	    "ELAPSED", "PROGRESS");
	for (i = 0; i < nents; i++)
		free(ents[i].id);
	nents = 0;
	ls_collect(-1, JS_RUNNING);
	for (i = 0; i < nents; i++) {
		name_shown(name, ents[i].id, sizeof(name));
		fmt_age(ents[i].st.started ? now - ents[i].st.started : 0, age,
		    sizeof(age));
		printf("%-10s %-*.*s %8s  %.60s\r\n", C.stages[ents[i].stage],
		    idw, idw, name, age, progress_of(&ents[i], prog, sizeof(prog)));
	}
	fflush(stdout);
}

static int
ctl_watch(int argc, char **argv)
{
	struct termios saved, raw;
	struct sigaction sa;
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	char c;

	(void)argv;
	if (argc != 1)
		usage();
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		die(EX_USAGE, "watch needs a terminal");
	ctl_open(0);
	if (tcgetattr(STDIN_FILENO, &saved) == -1)
		die(EX_OSERR, "tcgetattr: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	raw = saved;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
	printf("\033[?1049h\033[?25l");
	while (!watch_quit) {
		watch_draw();
		if (poll(&pfd, 1, 1000) > 0 && read(STDIN_FILENO, &c, 1) == 1 &&
		    (c == 'q' || c == 'Q' || c == 3))
			break;
	}
	printf("\033[?25h\033[?1049l");
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	return EX_OK;
}

/* Prints an event line, when it is of job id (or id is NULL). */
static void
tail_print(const char *line, const char *id)
{
	json_t *o;
	int match;

	if (id != NULL) {
		o = json_loads(line, 0, NULL);
		match = o != NULL && json_is_string(json_object_get(o, "id")) &&
		    strcmp(json_string_value(json_object_get(o, "id")), id) == 0;
		json_decref(o);
		if (!match)
			return;
	}
	fputs(line, stdout);
}

/*
 * Prints the whole lines of fp from where it is; a line still being
 * written is left for the next call.
 */
static void
tail_read(FILE *fp, const char *id)
{
	static char *line;
	static size_t cap;
	ssize_t n;

	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] != '\n') {
			fseeko(fp, -(off_t)n, SEEK_CUR);
			break;
		}
		tail_print(line, id);
	}
	clearerr(fp);
	fflush(stdout);
}

/* Whether events.jsonl is no longer the file open as fp (rotated). */
static int
tail_rotated(FILE *fp)
{
	struct stat a, b;

	if (fstatat(C.sp.indexfd, "events.jsonl", &a, 0) == -1)
		return errno == ENOENT;
	return fstat(fileno(fp), &b) == 0 && (a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev);
}

/* index/name open to read, or NULL when there is none yet. */
static FILE *
tail_open(const char *name)
{
	FILE *fp;
	int fd;

	if ((fd = openat(C.sp.indexfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			die(EX_NOINPUT, "index/%s: %s", name, strerror(errno));
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL)
		fatal("fdopen");
	return fp;
}

/*
 * The events the spool keeps (events.jsonl.1, then events.jsonl), of one
 * job or all; with -f, then the new ones as they come, across rotations.
 */
static int
ctl_events(int argc, char **argv)
{
	const char *id;
	FILE *fp;
	int ch, follow = 0;

	while ((ch = getopt(argc, argv, "f")) != -1)
		if (ch == 'f')
			follow = 1;
		else
			usage();
	if (argc - optind > 1)
		usage();
	id = argc - optind == 1 ? argv[optind] : NULL;
	ctl_open(0);
	if ((fp = tail_open("events.jsonl.1")) != NULL) {
		tail_read(fp, id);
		fclose(fp);
	}
	fp = tail_open("events.jsonl");
	for (;;) {
		if (fp != NULL)
			tail_read(fp, id);
		if (!follow)
			break;
		if (fp != NULL && tail_rotated(fp)) {
			tail_read(fp, id); /* what came before the rotation */
			fclose(fp);
			fp = NULL;
		}
		if (fp == NULL && (fp = tail_open("events.jsonl")) != NULL)
			continue;
		if (ferror(stdout))
			return EX_IOERR;
		poll(NULL, 0, 200);
	}
	if (fp != NULL)
		fclose(fp);
	return ferror(stdout) ? EX_IOERR : EX_OK;
}

#define INFO_MAX 4096	/* bytes of a version_command's output kept */
#define INFO_WAIT 10	/* seconds it may take */

/* In the child of info_run: the stage's env, then the command. */
static void __attribute__((noreturn))
info_exec(const struct stconf *sc, int out)
{
	char **e;
	int null;

	if ((null = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(out, STDERR_FILENO) == -1)
		_exit(127);
	for (e = sc->env; e != NULL && *e != NULL; e++)
		putenv(*e);
	execvp(sc->version[0], sc->version);
	dprintf(STDERR_FILENO, "%s: %s\n", sc->version[0], strerror(errno));
	_exit(127);
}

/*
 * Runs a stage's version_command as this user, its output (stdout and
 * stderr) into buf; 0 when it exits 0 within INFO_WAIT seconds, else -1
 * with what happened in why.
 */
static int
info_run(const struct stconf *sc, char *buf, size_t len, char *why,
    size_t wlen)
{
	struct pollfd pfd;
	size_t got = 0;
	ssize_t n;
	pid_t pid;
	int p[2], ws, left = INFO_WAIT * 1000;
	char drop[512];

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		die(EX_OSERR, "version_command: %s", strerror(errno));
	if (pid == 0)
		info_exec(sc, p[1]);
	close(p[1]);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	while (left > 0 && poll(&pfd, 1, 100) >= 0) {
		left -= 100;
		if (!(pfd.revents & (POLLIN | POLLHUP)))
			continue;
		if (got + 1 < len)
			n = read(p[0], buf + got, len - got - 1);
		else
			n = read(p[0], drop, sizeof(drop));
		if (n <= 0)
			break;
		if (got + 1 < len)
			got += n;
	}
	buf[got] = '\0';
	close(p[0]);
	if (left <= 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
		;
	if (left <= 0)
		snprintf(why, wlen, "no answer in %ds", INFO_WAIT);
	else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return 0;
	else if (WIFEXITED(ws))
		snprintf(why, wlen, "exit %d", WEXITSTATUS(ws));
	else
		snprintf(why, wlen, "killed by signal %d", WTERMSIG(ws));
	return -1;
}

/* The daemon's pid, 0 when none holds the spool. */
static long
info_pid(void)
{
	char *text;
	long pid;

	if (C.sp.indexfd <= 0 || !spoold_running() ||
	    (text = fileio_read(C.sp.indexfd, "spoold.pid", 32)) == NULL)
		return 0;
	pid = strtol(text, NULL, 10);
	free(text);
	return pid;
}

/* A stage's versions: its version_command's output lines, or why not. */
static json_t *
info_stage(const struct stconf *sc, int *failed)
{
	char buf[INFO_MAX], why[64], *line, *next;
	json_t *o, *lines, *cmd;
	char **a;

	cmd = json_array();
	for (a = sc->command; *a != NULL; a++)
		json_array_append_new(cmd, json_string(*a));
	o = json_pack("{s:o}", "command", cmd);
	if (sc->version == NULL) {
		json_object_set_new(o, "versions", json_null());
		return o;
	}
	lines = json_array();
	if (info_run(sc, buf, sizeof(buf), why, sizeof(why)) == -1) {
		json_object_set_new(o, "failed", json_string(why));
		*failed = 1;
	}
	for (line = buf; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		name_text(line, line, strlen(line) + 1);
		if (line[0] != '\0')
			json_array_append_new(lines, json_string(line));
	}
	json_object_set_new(o, "versions", lines);
	return o;
}

static void
info_print(json_t *o)
{
	const char *name;
	json_t *st, *v;
	size_t i;

	printf("spoolctl %s\nconfig:  %s\nspool:   %s\n", SPOOLD_VERSION,
	    json_is_string(json_object_get(o, "config")) ?
	    json_string_value(json_object_get(o, "config")) : "(none: -d)",
	    json_string_value(json_object_get(o, "spool")));
	if (json_integer_value(json_object_get(o, "pid")) > 0)
		printf("spoold:  running, pid %lld\n",
		    (long long)json_integer_value(json_object_get(o, "pid")));
	else
		printf("spoold:  not running\n");
	json_object_foreach(json_object_get(o, "stages"), name, st) {
		printf("stage %s:", name);
		json_array_foreach(json_object_get(st, "command"), i, v)
			printf(" %s", json_string_value(v));
		putchar('\n');
		if (json_is_null(json_object_get(st, "versions")))
			printf("  (no version_command)\n");
		json_array_foreach(json_object_get(st, "versions"), i, v)
			printf("  %s\n", json_string_value(v));
		if (json_is_string(json_object_get(st, "failed")))
			printf("  (version_command failed: %s)\n",
			    json_string_value(json_object_get(st, "failed")));
	}
}

/*
 * What runs here: the versions of spoolctl and spoold's config, whether
 * spoold runs, and each stage's tools as its version_command says.
 */
static int
ctl_info(int argc, char **argv)
{
	static struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0}
	};
	json_t *o, *stages;
	int ch, json = 0, failed = 0;
	size_t i;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (ch == 'j')
			json = 1;
		else
			usage();
	if (argc != optind)
		usage();
	if (access(C.spooldir, F_OK) == 0)
		ctl_open(0);
	stages = json_object();
	for (i = 0; C.conf != NULL && i < C.conf->nstages; i++)
		json_object_set_new(stages, C.conf->stages[i]->name,
		    info_stage(C.conf->stages[i], &failed));
	o = json_pack("{s:s, s:s?, s:s, s:I, s:o}", "version", SPOOLD_VERSION,
	    "config", C.conf != NULL ? C.conf->path : NULL, "spool",
	    C.spooldir, "pid", (json_int_t)info_pid(), "stages", stages);
	if (json) {
		json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else
		info_print(o);
	json_decref(o);
	return failed ? EX_UNAVAILABLE : EX_OK;
}

static const struct verb {
	const char *name;
	int (*fn)(int, char **);
} verbs[] = {
	{"submit", ctl_submit}, {"ls", ctl_ls}, {"show", ctl_show},
	{"log", ctl_log}, {"retry", ctl_retry}, {"cancel", ctl_cancel},
	{"purge", ctl_purge}, {"stats", ctl_stats}, {"watch", ctl_watch},
	{"events", ctl_events}, {"info", ctl_info},
};

int
main(int argc, char *argv[])
{
	const char *config = NULL, *spool = NULL;
	size_t i;
	int ch;

	log_init(0, "spoolctl");
	while ((ch = getopt(argc, argv, "+c:d:hV")) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'd': spool = optarg; break;
		case 'V':
			printf("spoolctl %s\n", SPOOLD_VERSION);
			return EX_OK;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || (config != NULL && spool != NULL))
		usage();
	for (i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
		if (strcmp(argv[0], verbs[i].name) == 0)
			break;
	if (i == sizeof(verbs) / sizeof(*verbs))
		die(EX_USAGE, "unknown verb \"%s\"", argv[0]);
	C.grace = 5 + 1 + 5;
	if (spool != NULL) {
		if ((C.spooldir = realpath(spool, NULL)) == NULL)
			die(EX_NOINPUT, "spool %s: %s", spool, strerror(errno));
	} else {
		if ((C.conf = conf_load(config != NULL ? config : SPOOLD_CONF,
		    CONF_ANY_USER)) == NULL)
			return EX_CONFIG;
		C.spooldir = C.conf->spool;
		C.grace = C.conf->kill_grace + C.conf->tick + 5;
	}
	optind = 0; /* a new scan, without the "+" of the one above */
	return verbs[i].fn(argc, argv);
}
