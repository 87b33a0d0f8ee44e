/*
 * launch.h: a process to make (launch.c), for child.c alone. It comes
 * after spoold.h.
 */
#ifndef LAUNCH_H
#define LAUNCH_H

/* The program a new process runs, and what it takes before its exec. */
struct launch {
	const char *path;
	char *const *argv, *const *env;
	int fd[3];		/* its 0, 1 and 2; -1 for /dev/null */
	int dirfd;		/* its folder, or -1 */
	const char *dir;	/* or this path, as its user; NULL: spoold's */
	int cgfd;		/* the cgroup.procs to join, or -1 */
	const struct stconf *sc; /* its limits, or NULL */
	int become;		/* take the stage's user */
	int errfd;		/* the pipe of a failed step */
};

pid_t launch_start(struct launch *, int logfd);

#endif
