/*
 * child.c: starts a stage's child by the contract of spoold.8 (argv with
 * placeholders, SPOOL_* environment, stdin /dev/null, stdout and stderr to
 * the job's log, no other descriptor, its own process group, default
 * signals, the stage's user), stops its group, and reads how it ended;
 * starts spoold's helpers, and measures a command for spoold -m.
 *
 * It says what a process runs, with what and as whom; launch.c makes the
 * process the way posix_spawn makes one, and it may join a control group
 * before it execs. Every child carries SPOOL_JOB in its environment, by
 * which a restarted spoold finds in /proc what a run left behind where
 * there is no control group (child_signal_job, child_orphans).
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "spoold.h"
#include "launch.h"

extern char **environ;

static char *
child_expand(const char *arg, const char *job, const char *id,
    const char *stage, const char *workdir)
{
	const char *p, *v;
	char *out, *o;
	size_t len = 1;

	for (p = arg; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			len++;
			continue;
		}
		p++;
		v = *p == 'f' ? job : *p == 'i' ? id : *p == 's' ? stage :
		    *p == 'w' ? workdir : NULL;
		len += v != NULL ? strlen(v) : 2;
	}
	if ((out = malloc(len)) == NULL)
		fatal("malloc");
	for (p = arg, o = out; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0') {
			*o++ = *p;
			continue;
		}
		p++;
		v = *p == 'f' ? job : *p == 'i' ? id : *p == 's' ? stage :
		    *p == 'w' ? workdir : NULL;
		if (v != NULL)
			o = stpcpy(o, v);
		else if (*p == '%')
			*o++ = '%';
		else {
			*o++ = '%';
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* The command with %f %i %s %w and %% expanded; free with strv_free. */
char **
child_argv(char *const *command, const char *job, const char *id,
    const char *stage, const char *workdir)
{
	size_t i, n;
	char **argv;

	for (n = 0; command[n] != NULL; n++)
		;
	if ((argv = calloc(n + 1, sizeof(*argv))) == NULL)
		fatal("calloc");
	for (i = 0; i < n; i++)
		argv[i] = child_expand(command[i], job, id, stage, workdir);
	return argv;
}


static char *
child_var(const char *name, const char *value)
{
	char *s;

	if (asprintf(&s, "%s=%s", name, value) == -1)
		fatal("asprintf");
	return s;
}

/*
 * The stage's env, a PATH unless it sets one, and the SPOOL_* variables:
 * a hook's have SPOOL_EVENT and SPOOL_REASON too.
 */
static char **
child_env(const struct spawn *s)
{
	char **env, attempt[16], cpus[24];
	size_t i = 0, n = 0, k;
	int has_path = 0;

	for (k = 0; s->sc->env != NULL && s->sc->env[k] != NULL; k++) {
		if (strncmp(s->sc->env[k], "PATH=", 5) == 0)
			has_path = 1;
		n++;
	}
	if ((env = calloc(n + 12, sizeof(*env))) == NULL)
		fatal("calloc");
	for (k = 0; k < n; k++)
		if ((env[i++] = strdup(s->sc->env[k])) == NULL)
			fatal("strdup");
	if (!has_path)
		env[i++] = child_var("PATH", CHILD_PATH);
	snprintf(attempt, sizeof(attempt), "%d", s->attempt);
	snprintf(cpus, sizeof(cpus), "%ld", s->cpus);
	env[i++] = child_var("SPOOL_JOB", s->job);
	env[i++] = child_var("SPOOL_JOB_ID", s->id);
	env[i++] = child_var("SPOOL_STAGE", s->sc->name);
	env[i++] = child_var("SPOOL_ATTEMPT", attempt);
	env[i++] = child_var("SPOOL_WORKDIR", s->workdir);
	env[i++] = child_var("SPOOL_HEARTBEAT", s->heartbeat);
	env[i++] = child_var("SPOOL_DIR", s->spooldir);
	if (s->cpus > 0)
		env[i++] = child_var("SPOOL_CPUS", cpus);
	if (s->event != NULL) {
		env[i++] = child_var("SPOOL_EVENT", s->event);
		env[i++] = child_var("SPOOL_REASON", s->reason);
	}
	return env;
}

/*
 * The program to exec: name itself when it has a '/' and exists, else
 * found in PATH.
 */
static char *
child_which(const char *name, char **env)
{
	const char *path = CHILD_PATH, *p, *end;
	char buf[PATH_MAX], *found;
	size_t i;

	if (strchr(name, '/') != NULL) {
		if (access(name, F_OK) == -1)
			return NULL; /* whether it may run is the child's to find */
		if ((found = strdup(name)) == NULL)
			fatal("strdup");
		return found;
	}
	for (i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], "PATH=", 5) == 0)
			path = env[i] + 5;
	for (p = path; ; p = end + 1) {
		end = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(end - p), p,
		    end > p ? "/" : "", name);
		if (access(buf, X_OK) == 0) {
			if ((found = strdup(buf)) == NULL)
				fatal("strdup");
			return found;
		}
		if (*end == '\0')
			break;
	}
	errno = ENOENT;
	return NULL;
}

/*
 * Starts the child of a run, leading its own process group whose id is
 * the returned pid. -1 with errno when there is no child: a program that
 * cannot be run (ENOENT, EACCES, ENOEXEC...) has its reason in the log.
 */
pid_t
child_spawn(const struct spawn *s)
{
	struct launch l;
	char **argv, **env, *path;
	pid_t pid = -1;

	argv = child_argv(s->command != NULL ? s->command : s->sc->command,
	    s->job, s->id, s->sc->name, s->workdir);
	env = child_env(s);
	if ((path = child_which(argv[0], env)) == NULL) {
		if (strchr(argv[0], '/') != NULL)
			dprintf(s->logfd, "spoold: exec %s: %s\n", argv[0],
			    strerror(errno));
		else
			dprintf(s->logfd, "spoold: %s: not found in PATH\n",
			    argv[0]);
	} else {
		l = (struct launch){.path = path, .argv = argv, .env = env,
		    .fd = {-1, s->outfd > 0 ? s->outfd : s->logfd, s->logfd},
		    .dirfd = s->workfd > 0 ? s->workfd : -1,
		    .dir = s->workfd > 0 ? NULL : s->workdir,
		    .cgfd = s->cgfd > 0 ? s->cgfd : -1, .sc = s->sc,
		    .become = s->sc->user != NULL && geteuid() == 0};
		pid = launch_start(&l, s->logfd);
	}
	free(path);
	strv_free(argv);
	strv_free(env);
	return pid;
}

/*
 * Starts a helper of spoold (squeue, scancel), argv[0] found in spoold's
 * PATH, with spoold's environment and stderr, stdout to out (/dev/null
 * when -1), in a process group of its own; the caller reaps it.
 */
pid_t
child_helper(char *const *argv, int out)
{
	struct launch l;
	char *path;
	pid_t pid;

	if ((path = child_which(argv[0], environ)) == NULL) {
		log_warnx("%s: not found in PATH", argv[0]);
		return -1;
	}
	l = (struct launch){.path = path, .argv = argv, .env = environ,
	    .fd = {-1, out, STDERR_FILENO}, .dirfd = -1, .cgfd = -1};
	if ((pid = launch_start(&l, STDERR_FILENO)) == -1)
		log_warn("spawn %s", path);
	free(path);
	return pid;
}

int
child_signal(pid_t pgid, int sig)
{
	if (pgid <= 1)
		return -1;
	if (kill(-pgid, sig) == -1 && errno != ESRCH) {
		log_warn("kill -%d -%ld", sig, (long)pgid);
		return -1;
	}
	return 0;
}

/* Reads /proc/<pid>/<file> into buf, NUL-terminated: its length, or 0. */
static ssize_t
child_proc_read(const char *pid, const char *file, char *buf, size_t len)
{
	char path[300];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/%s", pid, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return n;
}

/* The process group of a live process (not a zombie), or -1. */
static pid_t
child_live_group(const char *pid)
{
	char buf[1024], *p, state;
	long grp;

	if (child_proc_read(pid, "stat", buf, sizeof(buf)) == 0)
		return -1;
	/* After the command's ')': state, ppid, pgrp. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %*d %ld", &state, &grp) != 2 ||
	    state == 'Z' || state == 'X')
		return -1;
	return (pid_t)grp;
}

/* The start time of a process in clock ticks since boot, or 0. */
unsigned long long
child_starttime(pid_t pid)
{
	char name[32], buf[1024], *p;
	unsigned long long t = 0;
	int i;

	snprintf(name, sizeof(name), "%ld", (long)pid);
	if (child_proc_read(name, "stat", buf, sizeof(buf)) == 0)
		return 0;
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* Field 22 is the start time; the field after ')' is the 3rd. */
	for (i = 2; i < 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

/*
 * Whether a process group has a member that is not a zombie: members that
 * died but wait for init to reap them need no stopping.
 */
static int
child_group_has_live(pid_t pgid)
{
	struct dirent *de;
	DIR *d;
	int live = 0;

	if ((d = opendir("/proc")) == NULL)
		return 1;
	while (!live && (de = readdir(d)) != NULL)
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			live = child_live_group(de->d_name) == pgid;
	closedir(d);
	return live;
}

/*
 * Whether the process group of a run still has a member. A pid is not
 * given again while a group of that id has members, so a live process with
 * the leader's pid but another start time means the group is gone.
 */
int
child_group_alive(pid_t pgid, unsigned long long pstart)
{
	unsigned long long t;

	if (pgid <= 1 || (kill(-pgid, 0) == -1 && errno == ESRCH) ||
	    !child_group_has_live(pgid))
		return 0;
	t = child_starttime(pgid);
	return t == 0 || t == pstart;
}

/*
 * The value of variable name in the environment of process pid, copied
 * to buf, or NULL.
 */
static const char *
child_env_value(const char *pid, const char *name, char *buf, size_t len)
{
	char env[65536], *p;
	size_t nlen = strlen(name);
	ssize_t n;

	if ((n = child_proc_read(pid, "environ", env, sizeof(env))) == 0)
		return NULL;
	for (p = env; p < env + n; p += strlen(p) + 1)
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			strlcpy(buf, p + nlen + 1, len);
			return buf;
		}
	return NULL;
}

/* Whether the environment of process pid has one of marks. */
static int
child_marked(const char *pid, const char *const *marks)
{
	char val[64];

	for (; *marks != NULL; marks++)
		if (child_env_value(pid, *marks, val, sizeof(val)) != NULL)
			return 1;
	return 0;
}

/*
 * Signals every process whose environment says it works for the job at
 * path (SPOOL_JOB), and its process group, but those whose environment has
 * one of marks (a runner's, which stops them itself); the number signalled.
 */
int
child_signal_job(const char *path, int sig, const char *const *marks)
{
	char job[PATH_MAX];
	struct dirent *de;
	DIR *d;
	pid_t pid;
	int n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (pid == getpid() || child_env_value(de->d_name, "SPOOL_JOB",
		    job, sizeof(job)) == NULL || strcmp(job, path) != 0 ||
		    child_marked(de->d_name, marks))
			continue;
		if (sig != 0) {
			kill(pid, sig);
			if (getpgid(pid) > 1 && getpgid(pid) != getpgrp())
				kill(-getpgid(pid), sig);
		}
		n++;
	}
	closedir(d);
	return n;
}

/*
 * spoold -m: runs argv (searched in PATH), waits for it and writes what it
 * cost to file, as "user_ms sys_ms maxrss_kb wall_ms"; its exit status,
 * or 128 and the signal that killed it, as a shell says. The signals
 * that stop a run reach argv as well: this process outlives them to
 * write the cost. The Slurm batch script runs its command so, on the node.
 */
int
child_measure(const char *file, char *const *argv)
{
	static const int stops[3] = {SIGTERM, SIGINT, SIGHUP};
	struct timespec t0 = mono_now();
	struct sigaction ign, was[3];
	struct rusage ru;
	struct usage u;
	sigset_t none;
	pid_t pid;
	FILE *f;
	int ws, i;

	/* Ignored here from before the fork; the command gets them as given. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	for (i = 0; i < 3; i++)
		sigaction(stops[i], &ign, &was[i]);
	if ((pid = fork()) == -1) {
		log_warn("fork");
		return 126;
	}
	if (pid == 0) {
		for (i = 0; i < 3; i++)
			sigaction(stops[i], &was[i], NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[0], argv);
		log_warn("exec %s", argv[0]);
		_exit(errno == ENOENT ? 127 : 126);
	}
	while (wait4(pid, &ws, 0, &ru) == -1)
		if (errno != EINTR) {
			log_warn("wait4");
			return 126;
		}
	status_usage(&u, &ru, ms_between(t0, mono_now()));
	if ((f = fopen(file, "we")) == NULL ||
	    fprintf(f, "%lld %lld %lld %lld\n", u.user_ms, u.sys_ms,
	    u.maxrss_kb, u.wall_ms) < 0 || fclose(f) == EOF)
		log_warn("%s", file);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

void
child_describe(int ws, char *buf, size_t len)
{
	if (WIFEXITED(ws))
		snprintf(buf, len, "exit %d", WEXITSTATUS(ws));
	else if (WIFSIGNALED(ws))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(ws),
		    strsignal(WTERMSIG(ws)));
	else
		snprintf(buf, len, "status %#x", ws);
}

/*
 * Kills the processes runs left that are now spoold's own children (a
 * subreaper's), with their process groups: all but those ours() claims,
 * asked first with job NULL (a run's leader, the sync helper), then with
 * the job of their environment (a process of a run still going).
 * The number killed.
 */
int
child_orphans(int (*ours)(pid_t, const char *job))
{
	char self[32], name[96], buf[8192], var[PATH_MAX], *p, *end;
	const char *job;
	pid_t pid, pgid;
	int killed = 0;

	snprintf(self, sizeof(self), "%ld", (long)getpid());
	snprintf(name, sizeof(name), "task/%s/children", self);
	if (child_proc_read(self, name, buf, sizeof(buf)) == 0)
		return 0;
	for (p = buf; (pid = (pid_t)strtol(p, &end, 10)) > 0; p = end) {
		if (ours(pid, NULL))
			continue;
		snprintf(name, sizeof(name), "%ld", (long)pid);
		if ((pgid = child_live_group(name)) == -1)
			continue; /* dead, to be reaped */
		job = child_env_value(name, "SPOOL_JOB", var, sizeof(var));
		if (job != NULL && ours(pid, job))
			continue;
		kill(pid, SIGKILL);
		if (pgid > 1 && pgid != getpgrp())
			kill(-pgid, SIGKILL);
		log_info("killed pid %ld, left behind by the run of %s",
		    (long)pid, job != NULL ? job : "a job");
		killed++;
	}
	return killed;
}
