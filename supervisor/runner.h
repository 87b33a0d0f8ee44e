/*
 * runner.h: a run, and the runners that run it (runner.c, runner_local.c,
 * runner_slurm.c), for them, the loop's files and those that read what a
 * stage's runner is (the config reader, spoolctl show). It comes after
 * spoold.h.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <sys/queue.h>

/*
 * runner.c: how the runs of a stage run, here or elsewhere; a stage names
 * its runner, looked up in one table. The loop owns a run's record and
 * its place; the runner owns how it starts, stops and ends, and says so
 * by setting ended (with ws) or dirty, never by calling the loop.
 */
struct stage;
struct run {
	TAILQ_ENTRY(run) entry;
	struct stage *stage;	/* the loop's */
	const char *stname;	/* its stage's name */
	const struct runner *runner;
	void *rdata;		/* the runner's own */
	char *id;
	struct status st;
	pid_t pid;		/* spoold's child for it, or 0 */
	int logfd;
	struct output out;	/* the pipe of its output, under log_max */
	struct timespec t0;	/* monotonic start */
	struct timespec beat;	/* monotonic time of the last heartbeat */
	struct timespec hbmtime; /* mtime of the heartbeat file last seen */
	struct timespec killat;	/* when SIGKILL is due, once stopping */
	enum stop stop;
	int killed;
	int child;		/* has a process of spoold, counted in nrun */
	int pending;		/* not running yet: its timeout does not count */
	int ended;		/* the runner says it ended, with status ws */
	int ws;
	int dirty;		/* the runner changed its record: to write */
	char lost[256];		/* why it ended without an exit status */
	int wfd;		/* its work folder while it starts, or -1 */
	long cpus, memory;	/* what it took of the budget */
	struct usage use;	/* what it cost, once it ended */
};

#define RUNNER_MAX 8	/* runners in the table */

struct runner {
	const char *name;
	const char *place;	/* where its runs run, in words */
	const char *args_key;	/* its stage key of arguments, or NULL */
	const char *mark;	/* in the environment of the processes it
				   stops itself, or NULL */
	int remote;	/* runs elsewhere: its program need not be here, and
			   its user has only its own groups there */
	int output;	/* spoold carries its runs' output to their logs */
	int survives;	/* its runs outlive spoold, adopted at a restart */
	void (*init)(struct spool *);
	int (*prepare)(void);	/* a stage uses it (again) */
	/* Starts r as sw says: 0, with r->pid or r->ended; -1 and errno
	   when the system is short of processes. */
	int (*start)(struct run *, const struct spawn *);
	void (*stop)(struct run *);	/* SIGTERM, or as near */
	void (*kill)(struct run *);
	/* r->pid was reaped: 1 when the run ended, else it goes on. */
	int (*reaped)(struct run *, int ws);
	void (*tick)(void);	/* asks the state of its runs */
	void (*stale)(struct timespec now); /* stops helpers that hang */
	/* Whether it takes over the run of a record left running. */
	int (*claims)(const struct status *);
	void (*adopt)(struct run *, const struct status *);
	/* The end of r: its output, what it adds to how. */
	void (*end)(struct run *, const struct stconf *, int ws, char *how,
	    size_t);
	void (*release)(struct run *);
	void (*where)(const struct run *, char *, size_t);
	size_t (*busy)(void);	/* helpers still running */
};

const struct runner *runner_find(const char *name);
const struct runner *runner_next(const struct runner *);
int runner_add(const struct runner *);
const char *const *runner_marks(void);
void runner_names(char *buf, size_t len);
const struct runner *runner_adopter(const struct status *,
    const struct runner *of_stage);

#endif
