/*
 * slurm.c: the Slurm runner. A run of a stage with runner "slurm" is a
 * job of the cluster: sbatch submits it, one squeue a tick tells which
 * jobs are still there, scancel stops one, scontrol tells what became of
 * a job that vanished, and the batch script leaves the command's exit
 * status in work/<id>/slurm.exit. The job writes only in the work folder,
 * as its user: its output goes to work/<id>/slurm.<job>.out, which spoold
 * appends to the job's log when the run ends. None of these programs is
 * waited on: the loop reaps them like its other children.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoold.h"
#include "slurm.h"

#define SLURM_SCRIPT "slurm.sh"
#define SLURM_EXIT "slurm.exit"
#define HELPER_MAX 64	/* squeue and scancel processes at once */
#define HELPER_SECS 60	/* before one is killed as hung */
#define NAMES_MAX 100000 /* bytes of squeue's --name, in one argument */

/*
 * The batch script, after a line that names spoold. The status is written
 * only once the command has run: a job that ends without it was lost to
 * Slurm (a node that failed, a program missing on the node, a job that
 * could not start). With it goes what the command cost, measured by
 * spoold -m where spoold is on the node at the same path.
 */
static const char script_head[] =
    "#!/bin/sh\n"
    "# Written by spoold: the batch script of its Slurm runs. $1 is the\n"
    "# file for the exit status, the rest the stage's command, run under\n"
    "# spoold -m to measure what it costs, where spoold is on the node.\n";
static const char script[] =
    "status=$1\n"
    "shift\n"
    "if ! command -v \"$1\" >/dev/null 2>&1; then\n"
    "\techo \"spoold: $1: not found on $(hostname)\" >&2\n"
    "\texit 127\n"
    "fi\n"
    "if [ -x \"$spoold\" ]; then\n"
    "\t\"$spoold\" -m \"$status.cost\" \"$@\" </dev/null\n"
    "else\n"
    "\t\"$@\" </dev/null\n"
    "fi\n"
    "code=$?\n"
    "cost=$(cat \"$status.cost\" 2>/dev/null)\n"
    "rm -f \"$status.cost\"\n"
    "echo \"$code $SLURM_JOB_ID $cost\" >\"$status.tmp\" && "
    "mv -f \"$status.tmp\" \"$status\"\n"
    "exit \"$code\"\n";

enum helper { H_QUERY, H_CANCEL, H_SHOW };

static struct {
	pid_t pid;
	enum helper what;
	int fd;		/* its output, for a query or a show */
	long long job;	/* the job shown */
	struct timespec t0;
} H[HELPER_MAX];
static size_t nhelper;

/* squeue's last answer: a job it listed, and the table of them. */
struct sjob {
	long long job;
	const char *state, *why, *name; /* in the text */
};

static struct {
	char *text;
	struct sjob *v;
	size_t n;
} A;

/*
 * Writes index/slurm.sh, which sbatch copies at each submission, naming
 * this spoold's program, single-quoted for the shell.
 */
int
slurm_script(struct spool *sp)
{
	char exe[PATH_MAX], *text, *p;
	ssize_t n;
	size_t len;
	FILE *f;
	int r;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1)
		n = 0;	/* no spoold on the node: runs are not measured */
	exe[n] = '\0';
	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	fputs(script_head, f);
	fputs("spoold='", f);
	for (p = exe; *p != '\0'; p++)
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	fputs("'\n", f);
	fputs(script, f);
	if (fclose(f) == EOF)
		fatal("open_memstream");
	r = spool_write(sp, sp->indexfd, SLURM_SCRIPT, text, len, 1);
	free(text);
	if (r == -1) {
		log_warn("write index/%s", SLURM_SCRIPT);
		return -1;
	}
	return 0;
}

/*
 * Appends prefix and value to v as one word, each '%' of value doubled:
 * child_spawn expands the placeholders of the words, not of the paths.
 */
static char **
slurm_add(char **v, const char *prefix, const char *value)
{
	char *w, *o;
	const char *p;
	size_t n = strlen(prefix) + 1;

	for (p = value; *p != '\0'; p++)
		n += *p == '%' ? 2 : 1;
	if ((w = malloc(n)) == NULL)
		fatal("malloc");
	o = stpcpy(w, prefix);
	for (p = value; *p != '\0'; p++)
		if ((*o++ = *p) == '%')
			*o++ = '%';
	*o = '\0';
	v = strv_add(v, w);
	free(w);
	return v;
}

/*
 * The argv of sbatch for a run: its options, the stage's slurm_args, the
 * batch script, the exit status file, and the stage's command, whose
 * placeholders child_spawn expands with those of slurm_args.
 */
static char **
slurm_argv(const struct spawn *s)
{
	static const char *const opts[] = {"sbatch", "--parsable",
	    "--no-requeue", "--open-mode=append", "--input=/dev/null", NULL};
	char path[PATH_MAX], **argv = NULL;
	const char *const *o;
	char *const *a;

	for (o = opts; *o != NULL; o++)
		argv = strv_add(argv, *o);
	/* slurm.<job>.out: %j is the job's number, which Slurm puts in. */
	fileio_path(path, sizeof(path), "%s/slurm.%%j.out", s->workdir);
	argv = slurm_add(argv, "--output=", path);
	argv = slurm_add(argv, "--job-name=", s->id);
	argv = slurm_add(argv, "--chdir=", s->workdir);
	for (a = s->sc->runner_args; a != NULL && *a != NULL; a++)
		argv = strv_add(argv, *a);
	fileio_path(path, sizeof(path), "%s/index/%s", s->spooldir,
	    SLURM_SCRIPT);
	argv = slurm_add(argv, "", path);
	fileio_path(path, sizeof(path), "%s/%s", s->workdir, SLURM_EXIT);
	argv = slurm_add(argv, "", path);
	for (a = s->sc->command; *a != NULL; a++)
		argv = strv_add(argv, *a);
	return argv;
}

/*
 * Submits the run sw describes: sbatch, started as the stage's child would
 * be (its user, its environment, which sbatch gives the job). Its answer,
 * the job's number, goes to *fd for slurm_jobid. sbatch's pid, or -1.
 */
pid_t
slurm_submit(const struct spawn *sw, int *fd)
{
	struct spawn s = *sw;
	char **argv;
	pid_t pid;

	if (unlinkat(sw->workfd, SLURM_EXIT, 0) == -1 && errno != ENOENT)
		log_warn("unlink work/%s/%s", sw->id, SLURM_EXIT);
	if ((*fd = memfd_create("sbatch", MFD_CLOEXEC)) == -1) {
		log_warn("memfd_create");
		return -1;
	}
	argv = slurm_argv(sw);
	s.command = argv;
	s.outfd = *fd;
	if ((pid = child_spawn(&s)) == -1) {
		close(*fd);
		*fd = -1;
	}
	strv_free(argv);
	return pid;
}

/* The output of a helper, NUL-terminated, and fd closed; or NULL. */
static char *
slurm_output(int fd)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return NULL;
	}
	do {
		if (cap - len < 4096 && (buf = realloc(buf,
		    cap = cap * 2 + 8192)) == NULL)
			fatal("realloc");
		n = read(fd, buf + len, cap - len - 1);
		len += n > 0 ? (size_t)n : 0;
	} while (n > 0 || (n == -1 && errno == EINTR));
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* The job number sbatch answered ("123" or "123;cluster"), or 0. */
long long
slurm_jobid(int fd)
{
	char *out = slurm_output(fd), *end;
	long long job = 0;

	if (out != NULL) {
		job = strtoll(out, &end, 10);
		if (end == out || (*end != '\0' && *end != ';' &&
		    *end != '\n') || job <= 0)
			job = 0;
	}
	free(out);
	return job;
}

/*
 * Starts squeue, scancel or scontrol, its output to fd (or /dev/null), at
 * once: its pid, or -1.
 */
static pid_t
slurm_helper(enum helper what, char **argv, int fd)
{
	pid_t pid;

	if (nhelper == HELPER_MAX) {
		log_warnx("slurm: %zu helpers running; %s not run", nhelper,
		    argv[0]);
		return -1;
	}
	if ((pid = child_helper(argv, fd)) == -1)
		return -1;
	H[nhelper].pid = pid;
	H[nhelper].what = what;
	H[nhelper].fd = fd;
	H[nhelper].t0 = mono_now();
	nhelper++;
	return pid;
}

/* The place of helper pid in H, or nhelper. */
static size_t
slurm_find(pid_t pid)
{
	size_t i;

	for (i = 0; i < nhelper && H[i].pid != pid; i++)
		;
	return i;
}

static int
slurm_querying(void)
{
	size_t i;

	for (i = 0; i < nhelper; i++)
		if (H[i].what == H_QUERY)
			return 1;
	return 0;
}

/*
 * "--name=a,b,...": the jobs named by ids; NULL when a name has a comma or
 * the list is too long for one argument, and then every job is listed.
 */
static char *
slurm_names(char *const *ids, size_t n)
{
	size_t i, len = sizeof("--name=");
	char *list, *o;

	for (i = 0; i < n; i++) {
		if (strchr(ids[i], ',') != NULL)
			return NULL;
		len += strlen(ids[i]) + 1;
	}
	if (len > NAMES_MAX)
		return NULL;
	if ((o = list = malloc(len)) == NULL)
		fatal("malloc");
	o = stpcpy(o, "--name=");
	for (i = 0; i < n; i++)
		o = stpcpy(stpcpy(o, ids[i]), i + 1 < n ? "," : "");
	return list;
}

/*
 * Asks squeue which of the jobs named by ids are still on the cluster,
 * unless a query is under way: its pid; -1 then, and when it cannot start.
 */
pid_t
slurm_query(char *const *ids, size_t n)
{
	char *argv[] = {"squeue", "--noheader", "--format=%i|%T|%r|%j", NULL,
	    NULL};
	pid_t r;
	int fd;

	if (slurm_querying())
		return -1;
	if ((fd = memfd_create("squeue", MFD_CLOEXEC)) == -1) {
		log_warn("memfd_create");
		return -1;
	}
	argv[3] = slurm_names(ids, n);
	if ((r = slurm_helper(H_QUERY, argv, fd)) == -1)
		close(fd);
	free(argv[3]);
	return r;
}

/* Asks scontrol what became of a job squeue no longer lists: its pid. */
pid_t
slurm_show(long long job)
{
	char id[32];
	char *argv[] = {"scontrol", "--oneliner", "show", "job", id, NULL};
	pid_t pid;
	int fd;

	snprintf(id, sizeof(id), "%lld", job);
	if ((fd = memfd_create("scontrol", MFD_CLOEXEC)) == -1) {
		log_warn("memfd_create");
		return -1;
	}
	if ((pid = slurm_helper(H_SHOW, argv, fd)) == -1) {
		close(fd);
		return -1;
	}
	H[nhelper - 1].job = job;
	return pid;
}

/* Appends the words key=... of scontrol's answer to said. */
static void
slurm_said_key(const char *out, const char *key, char *said, size_t len)
{
	const char *p = out;
	size_t n = strlen(key), used;

	while ((p = strstr(p, key)) != NULL && p != out && p[-1] != ' ')
		p += n;
	if (p == NULL)
		return;
	used = strlen(said);
	snprintf(said + used, len - used, "%s%.*s", used > 0 ? " " : "",
	    (int)strcspn(p, " \n"), p);
}

/* What scontrol said of a job: its state, its reason and its exit code. */
static void
slurm_said(char *out, int ws, char *said, size_t len)
{
	said[0] = '\0';
	if (out != NULL && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
		slurm_said_key(out, "JobState=", said, len);
		slurm_said_key(out, "Reason=", said, len);
		slurm_said_key(out, "ExitCode=", said, len);
	}
	if (said[0] == '\0')
		snprintf(said, len, WIFEXITED(ws) ? "scontrol no longer knows "
		    "the job" : "scontrol did not answer");
}

/*
 * Stops a job: SIGTERM to the batch script and all it started when term,
 * else scancel's own end of a job (SIGKILL after Slurm's KillWait): its pid.
 */
pid_t
slurm_cancel(long long job, int term)
{
	char id[32];
	char *argv[] = {"scancel", "--full", "--signal=TERM", id, NULL};
	char *kill[] = {"scancel", id, NULL};

	snprintf(id, sizeof(id), "%lld", job);
	return slurm_helper(H_CANCEL, term ? argv : kill, -1);
}

static int
slurm_job_cmp(const void *a, const void *b)
{
	const struct sjob *x = a, *y = b;

	return x->job < y->job ? -1 : x->job > y->job;
}

/*
 * Keeps squeue's answer, its lines "job|state|reason|name", as a table
 * sorted by job number, in place of the last one.
 */
void
slurm_answer(char *out)
{
	char *p = out, *line, *state, *why, *name, *end;
	long long job;
	size_t n = 0;

	free(A.text);
	free(A.v);
	A.text = out;
	A.n = 0;
	for (line = out; (line = strchr(line, '\n')) != NULL; line++)
		n++;
	if ((A.v = calloc(n + 1, sizeof(*A.v))) == NULL)
		fatal("calloc");
	while ((line = strsep(&p, "\n")) != NULL) {
		if ((state = strchr(line, '|')) == NULL ||
		    (why = strchr(state + 1, '|')) == NULL ||
		    (name = strchr(why + 1, '|')) == NULL)
			continue;
		*state++ = '\0';
		*why++ = '\0';
		*name++ = '\0';
		job = strtoll(line, &end, 10);
		if (*end == '\0' && job > 0 && A.n <= n)
			A.v[A.n++] = (struct sjob){job, state, why, name};
	}
	qsort(A.v, A.n, sizeof(*A.v), slurm_job_cmp);
}

/*
 * The state squeue last gave the job numbered *job or, for *job 0, the
 * first job named name, whose number then goes to *job; NULL when it did
 * not list it. Its reason (squeue's %r) goes to *why.
 */
const char *
slurm_state(long long *job, const char *name, const char **why)
{
	struct sjob key = {*job, NULL, NULL, NULL}, *j = NULL;
	size_t i;

	if (*job > 0)
		j = bsearch(&key, A.v, A.n, sizeof(*A.v), slurm_job_cmp);
	for (i = 0; *job == 0 && i < A.n && j == NULL; i++)
		if (strcmp(A.v[i].name, name) == 0) {
			j = &A.v[i];
			*job = j->job;
		}
	if (j == NULL)
		return NULL;
	*why = j->why;
	return j->state;
}

/*
 * A child reaped: 0 when it is none of ours; 2 when it was the query and
 * squeue answered (slurm_state tells what it said); 3 when it was a show,
 * with the job in *job and what scontrol said in said; else 1.
 */
int
slurm_reaped(pid_t pid, int ws, long long *job, char *said, size_t len)
{
	size_t i = slurm_find(pid);
	char *out;
	int r = 1;

	if (i == nhelper)
		return 0;
	if (H[i].what == H_SHOW) {
		out = slurm_output(H[i].fd);
		slurm_said(out, ws, said, len);
		free(out);
		*job = H[i].job;
		r = 3;
	} else if (H[i].what == H_QUERY) {
		out = slurm_output(H[i].fd);
		if (out != NULL && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
			slurm_answer(out);
			out = NULL;
			r = 2;
		} else
			log_warnx("slurm: squeue failed; the jobs' states are "
			    "asked again at the next tick");
		free(out);
	} else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		log_warnx("slurm: scancel failed");
	H[i] = H[--nhelper];
	return r;
}

size_t
slurm_busy(void)
{
	return nhelper;
}

/* Kills a helper that hangs, as squeue may when slurmctld does not answer. */
void
slurm_stale(struct timespec now)
{
	size_t i;

	for (i = 0; i < nhelper; i++)
		if (ms_between(H[i].t0, now) >= HELPER_SECS * 1000LL) {
			log_warnx("slurm: %s hangs; killed",
			    H[i].what == H_QUERY ? "squeue" :
			    H[i].what == H_SHOW ? "scontrol" : "scancel");
			kill(H[i].pid, SIGKILL);
			H[i].t0 = now;
		}
}

/*
 * The exit status the batch script left for a run of job id: 1 with
 * *code when it is there and from that Slurm job (any, for job 0), and
 * what the run cost in *u when it was measured.
 */
int
slurm_exit(struct spool *sp, const char *id, long long job, int *code,
    struct usage *u)
{
	char *text;
	long long from = 0;
	struct usage m = {0, 0, 0, 0, 0};
	int n = 0, fd;

	if ((fd = spool_job_open(sp, id)) == -1)
		return 0;
	text = fileio_read(fd, SLURM_EXIT, 256);
	close(fd);
	if (text == NULL)
		return 0;
	n = sscanf(text, "%d %lld %lld %lld %lld %lld", code, &from,
	    &m.user_ms, &m.sys_ms, &m.maxrss_kb, &m.wall_ms);
	free(text);
	if (n < 1 || *code < 0 || *code > 255 || (job != 0 && n >= 2 &&
	    from != job))
		return 0;
	m.known = n == 6 && m.user_ms >= 0 && m.sys_ms >= 0 &&
	    m.maxrss_kb >= 0 && m.wall_ms >= 0;
	*u = m;
	return 1;
}

/*
 * Appends the output of a run, work/<id>/slurm.<job>.out, to its log, up
 * to max bytes of log (0: all), and removes it. What the job left there is
 * opened as spoold opens any file of a child's: never through a link,
 * never waiting on a FIFO, a regular file or nothing.
 */
void
slurm_log(struct spool *sp, const char *id, long long job, int logfd,
    long max)
{
	char name[64];
	struct stat sb;
	int dfd, fd;

	if (job <= 0 || (dfd = spool_job_open(sp, id)) == -1)
		return;
	snprintf(name, sizeof(name), "slurm.%lld.out", job);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd != -1 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		output_file(fd, logfd, max);
	if (fd != -1)
		close(fd);
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		log_warn("unlink work/%s/%s", id, name);
	close(dfd);
}
