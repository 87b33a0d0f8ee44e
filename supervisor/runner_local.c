/*
 * runner_local.c: the local runner. A run is a child of spoold, in its own
 * process group and, where spoold may make one, its own control group:
 * started by child_spawn, stopped by signals to its group, ended when its
 * leader is reaped. Its output comes through spoold, under log_max.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "spoold.h"
#include "runner.h"

struct lrun {
	char cg[32];	/* its control group, or "" */
};

static int
local_start(struct run *r, const struct spawn *sw)
{
	struct spawn s = *sw;
	struct lrun *lr;

	if ((lr = calloc(1, sizeof(*lr))) == NULL)
		fatal("calloc");
	r->rdata = lr;
	s.cgfd = cgroup_enter(lr->cg, sizeof(lr->cg));
	r->pid = child_spawn(&s);
	if (s.cgfd != -1)
		close(s.cgfd);
	if (r->pid != -1)
		return 0;
	if (errno == EAGAIN || errno == ENOMEM || errno == EMFILE ||
	    errno == ENFILE)
		return -1; /* the system is short of processes */
	/* A program that cannot run fails like one that exits 127. */
	r->pid = 0;
	r->ended = 1;
	r->ws = W_EXITCODE(127, 0);
	return 0;
}

static void
local_stop(struct run *r)
{
	child_signal(r->pid, SIGTERM);
}

static void
local_kill(struct run *r)
{
	child_signal(r->pid, SIGKILL);
}

static int
local_reaped(struct run *r, int ws)
{
	(void)r;
	(void)ws;
	return 1;
}

/* What the child left in its group, and in its control group. */
static void
local_end(struct run *r, const struct stconf *sc, int ws, char *how,
    size_t len)
{
	struct lrun *lr = r->rdata;

	(void)sc;
	(void)ws;
	(void)how;
	(void)len;
	child_signal(r->pid, SIGKILL);
	if (lr != NULL) {
		cgroup_leave(lr->cg, r->id);
		lr->cg[0] = '\0';
	}
}

static void
local_release(struct run *r)
{
	struct lrun *lr = r->rdata;

	if (lr != NULL && lr->cg[0] != '\0')
		cgroup_leave(lr->cg, r->id);
	free(lr);
	r->rdata = NULL;
}

static void
local_where(const struct run *r, char *buf, size_t len)
{
	snprintf(buf, len, "pid %ld", (long)r->pid);
}

extern const struct runner runner_local;

const struct runner runner_local = {
	.name = "local",
	.place = "this host",
	.output = 1,
	.start = local_start,
	.stop = local_stop,
	.kill = local_kill,
	.reaped = local_reaped,
	.end = local_end,
	.release = local_release,
	.where = local_where,
};
