/*
 * launch.c: makes a new process as glibc's posix_spawn does: clone(2)
 * with CLONE_VM and CLONE_VFORK, so that no page of spoold is copied and
 * spoold waits only until the new process has called execve. In between,
 * on a stack of its own, the new process makes system calls only: it
 * resets the signals spoold ignores, leads a process group, joins its control group,
 * takes its descriptors and its folder, becomes the stage's user by raw
 * system calls (glibc's would signal spoold's threads), sets the stage's
 * limits and execs. A step that fails writes its number and errno to a
 * pipe, and the reason goes to a log. What to launch is child.c's to say.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "spoold.h"
#include "launch.h"

/* What runs in the new process: no sanitizer may act on its stack. */
#define CHILD_SIDE __attribute__((no_sanitize("address", "undefined")))

static int CHILD_SIDE
launch_rlimit(int resource, long v, long hard)
{
	struct rlimit rl = {(rlim_t)v, (rlim_t)hard};

	return v > 0 ? setrlimit(resource, &rl) : 0;
}

enum { STEP_FD = 1, STEP_CGROUP, STEP_CHDIR, STEP_BECOME, STEP_LIMITS,
	STEP_EXEC };

static void CHILD_SIDE
launch_failed(const struct launch *l, int step)
{
	int e[2] = {step, errno};

	if (write(l->errfd, e, sizeof(e)) != (ssize_t)sizeof(e))
		_exit(126);
	_exit(127);
}

/* In the new process: descriptor n becomes fd, or /dev/null when -1. */
static int CHILD_SIDE
launch_fd(int fd, int n)
{
	if (fd == -1 && (fd = open("/dev/null", n == 0 ? O_RDONLY : O_WRONLY)) ==
	    -1)
		return -1;
	return fd == n ? 0 : dup2(fd, n) == -1 ? -1 : 0;
}

static int CHILD_SIDE
launch_become(const struct stconf *sc)
{
	return syscall(SYS_setgroups, sc->ngroups, sc->groups) == -1 ||
	    syscall(SYS_setresgid, sc->gid, sc->gid, sc->gid) == -1 ||
	    syscall(SYS_setresuid, sc->uid, sc->uid, sc->uid) == -1 ? -1 : 0;
}

/*
 * The stage's limits. A CPU limit sends SIGXCPU at rlimit_cpu seconds and
 * SIGKILL a second later, for a child that ignores SIGXCPU.
 */
static int CHILD_SIDE
launch_limits(const struct stconf *sc)
{
	return launch_rlimit(RLIMIT_NPROC, sc->rlimit_nproc, sc->rlimit_nproc) |
	    launch_rlimit(RLIMIT_AS, sc->rlimit_as, sc->rlimit_as) |
	    launch_rlimit(RLIMIT_CPU, sc->rlimit_cpu, sc->rlimit_cpu + 1);
}

/*
 * The signals spoold ignores, which alone outlive an execve (a caught one
 * is reset by it), read at its first launch and again after each
 * launch_ignore. A new process resets these alone, and not every signal,
 * so that spoold waits less in its clone.
 */
static struct {
	int read;
	int n;
	int sig[NSIG];
} IGN;

static void
launch_ignored(void)
{
	struct sigaction sa;
	int sig;

	if (IGN.read)
		return;
	IGN.read = 1;
	IGN.n = 0;
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			IGN.sig[IGN.n++] = sig;
}

void
launch_ignore(int sig)
{
	signal(sig, SIG_IGN);
	IGN.read = 0;		/* read again at the next launch */
}

static int CHILD_SIDE
launch_child(void *arg)
{
	const struct launch *l = arg;
	struct sigaction sa;
	sigset_t none;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < IGN.n; i++)
		sigaction(IGN.sig[i], &sa, NULL);
	setpgid(0, 0);
	if (l->cgfd != -1 && write(l->cgfd, "0", 1) != 1)
		launch_failed(l, STEP_CGROUP);
	if (launch_fd(l->fd[0], 0) == -1 || launch_fd(l->fd[1], 1) == -1 ||
	    launch_fd(l->fd[2], 2) == -1 ||
	    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		launch_failed(l, STEP_FD);
	if (l->dirfd != -1 && fchdir(l->dirfd) == -1)
		launch_failed(l, STEP_CHDIR);
	if (l->become && launch_become(l->sc) == -1)
		launch_failed(l, STEP_BECOME);
	if (l->dir != NULL && chdir(l->dir) == -1)
		launch_failed(l, STEP_CHDIR);
	/* Last: limits that spoold's own memory may already exceed. */
	if (l->sc != NULL && launch_limits(l->sc) == -1)
		launch_failed(l, STEP_LIMITS);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(l->path, (char **)l->argv, (char **)l->env);
	launch_failed(l, STEP_EXEC);
	return 127;
}

/* The stack the new process runs on until it execs. */
static void *
launch_stack(size_t *len)
{
	static void *stack;

	*len = 256 * 1024;
	if (stack == NULL && (stack = mmap(NULL, *len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) == MAP_FAILED)
		stack = NULL;
	return stack;
}

/* The words of a failed step for the log: "exec /bin/x", say. */
static void
launch_step_log(int logfd, const struct launch *l, int step, int err)
{
	const char *what = step == STEP_CGROUP ? "join its control group" :
	    step == STEP_FD ? "set up descriptors" : step == STEP_CHDIR ?
	    "chdir" : step == STEP_LIMITS ? "setrlimit" : "exec";

	if (step == STEP_BECOME)
		dprintf(logfd, "spoold: cannot become %s: %s\n", l->sc->user,
		    strerror(err));
	else if (step == STEP_CHDIR && l->dir != NULL)
		dprintf(logfd, "spoold: chdir %s: %s\n", l->dir, strerror(err));
	else if (step == STEP_EXEC)
		dprintf(logfd, "spoold: exec %s: %s\n", l->path, strerror(err));
	else
		dprintf(logfd, "spoold: %s: %s\n", what, strerror(err));
}

/*
 * Makes the process l describes. Its pid; or -1 with errno when there is
 * none: no process could be made, or its program could not be run (it is
 * reaped here). A process that failed before its exec (its user, its
 * folder, its limits) exits 127, for its parent to reap; the reason of a
 * failure goes to logfd.
 */
pid_t
launch_start(struct launch *l, int logfd)
{
	sigset_t all, old;
	void *stack;
	size_t len;
	pid_t pid;
	int p[2], e[2] = {0, 0}, ws;
	ssize_t n;

	if ((stack = launch_stack(&len)) == NULL || pipe2(p, O_CLOEXEC) == -1)
		return -1;
	l->errfd = p[1];
	launch_ignored();
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = clone(launch_child, (char *)stack + len, CLONE_VM | CLONE_VFORK |
	    SIGCHLD, l);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid == -1) {
		int saved = errno;
		close(p[0]);
		errno = saved;
		return -1;
	}
	while ((n = read(p[0], e, sizeof(e))) == -1 && errno == EINTR)
		;
	close(p[0]);
	if (n != (ssize_t)sizeof(e))
		return pid;
	launch_step_log(logfd, l, e[0], e[1]);
	if (e[0] != STEP_EXEC)
		return pid;
	while (waitpid(pid, &ws, 0) == -1 && errno == EINTR)
		;
	errno = e[1];
	return -1;
}
