/*
 * spoold.h: the types and functions the modules of spoold and spoolctl
 * share, a section a module, one prefix per module. What only a few
 * modules use has a header of its own, named for its concern, included
 * after this one: runner.h (a run and its runners), place.h (where a job
 * goes), queue.h (the waiting jobs in memory).
 */
#ifndef SPOOLD_H
#define SPOOLD_H

#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define SPOOLD_VERSION "0.1.0"
#define SPOOLD_CONF SYSCONFDIR "/spoold.conf"

#define ID_MAX 251 /* a job id leaves room for ".log" in NAME_MAX */
#define PROGRESS_MAX 256

struct counters;
struct runner;

/* The folders of a stage, each a state of the jobs in it. */
enum { DIR_QUEUE, DIR_RUNNING, DIR_DONE, DIR_ERROR, NDIRS };

/* A NULL-terminated vector of strings, and the strings, freed. */
static inline void
strv_free(char **v)
{
	char **p;

	for (p = v; v != NULL && *p != NULL; p++)
		free(*p);
	free(v);
}

/* The monotonic clock, and milliseconds on it. */
static inline struct timespec
mono_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

static inline long long
ms_between(struct timespec a, struct timespec b)
{
	return (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static inline struct timespec
ms_after(struct timespec t, long long ms)
{
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

/* The system time, to the nanosecond: that of files' times. */
static inline struct timespec
real_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return t;
}

/* Whether time a is after time b. */
static inline int
ts_after(struct timespec a, struct timespec b)
{
	return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

/* pids.c: every process spoold reaps, with its owner. */
enum { PID_RUN, PID_HOOK, PID_HELPER, PID_SYNC };

void pids_add(pid_t, int kind, void (*reaped)(void *, int ws), void *arg);
void pids_del(pid_t);
int pids_kind(pid_t);
int pids_reaped(pid_t, int ws);
size_t pids_count(int kind);

/* conf.c: the config file, as plain structs. */
struct stconf {
	char *name;
	char **command; /* NULL-terminated argv */
	char **env;     /* NULL-terminated NAME=value */
	char *next;
	char *user;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	long slots, timeout, heartbeat, attempts, backoff, backoff_max, retain;
	long rlimit_nproc, rlimit_as, rlimit_cpu; /* 0: no limit */
	long log_max; /* bytes of the job's log, 0: no limit */
	char **on_done, **on_retry, **on_error; /* hooks, or NULL */
	long hook_timeout;
	char **version; /* version_command, or NULL */
	int dedupe;
	const struct runner *runner; /* how its runs run */
	long lost_max;    /* runs lost in a row before error/ */
	char **runner_args; /* the runner's own options, or NULL */
	long cpus;        /* what one run uses of spoold's budget */
	long memory;      /* bytes, 0: not said */
	int *fail_codes;
	size_t nfail;
	int line;
};

struct conf {
	char *path;  /* the config file */
	char *spool; /* absolute */
	char *group; /* the submitters' group, or NULL */
	gid_t gid;   /* its id, or (gid_t)-1 */
	long tick, max_children, kill_grace, shutdown_grace;
	long events_max; /* bytes of events.jsonl before it is rotated */
	long cpus;       /* the CPU budget, 0: the CPUs spoold may run on */
	long memory;     /* the memory budget in bytes, 0: none */
	struct stconf **stages;
	size_t nstages;
};

#define CONF_ANY_USER ((uid_t)-1)
#define CHILD_PATH "/usr/local/bin:/usr/bin:/bin" /* without env's PATH */
struct conf *conf_load(const char *path, uid_t euid);
void conf_free(struct conf *);
void stconf_free(struct stconf *);
const struct stconf *conf_stage(const struct conf *, const char *name);
void conf_print(FILE *, const struct conf *);
int conf_is_fail_code(const struct stconf *, int code);

/* log.c: to stderr, one line a message. */
void log_init(int debug, const char *name);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Appends a copy of s to v, a vector as strv_free frees. */
static inline char **
strv_add(char **v, const char *s)
{
	size_t n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	if ((v = reallocarray(v, n + 2, sizeof(*v))) == NULL ||
	    (v[n] = strdup(s)) == NULL)
		fatal("strv_add");
	v[n + 1] = NULL;
	return v;
}

/*
 * Crash points: in a build with SPOOLD_CRASHPOINTS, spoold aborts at point
 * n when the environment says SPOOLD_CRASH=n (or n:k, at its k-th pass).
 */
enum {
	CP_CLAIM = 1,	/* the job is in running/, no run started */
	CP_START,	/* the child runs, its status record is not written */
	CP_FINISH,	/* the child is reaped, nothing moved */
	CP_DONE,	/* the record says done, the job is in running/ */
	CP_RETRY,	/* the record says queued for a retry, ditto */
	CP_CHAIN,	/* the record says queued at the next stage, ditto */
	CP_ERROR,	/* the record says error, ditto */
	CP_QUARANTINE,	/* the record says error, the entry is in queue/ */
	CP_CANCEL,	/* a cancelled child is signalled, nothing moved */
	CP_STATUS,	/* a status record's new version is not in place */
	CP_METRICS,	/* metrics.json's new version is not in place */
	CP_RECOVER,	/* start-up: one job of running/ recovered, not all */
	CP_REQUEUE,	/* the record says queued after a stop, ditto */
	CP_SUBMIT,	/* a remote runner took the run, its job is not recorded */
	CP_EVENT,	/* the event of a change is written, its record not */
	CP_MAX
};
#ifdef SPOOLD_CRASHPOINTS
void crash_point(int);
#define CRASHPOINT(n) crash_point(n)
#else
#define CRASHPOINT(n) ((void)0)
#endif

/* fileio.c: file I/O through folder descriptors, knowing no layout. */
struct stat;
char *fileio_path(char *buf, size_t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fileio_isotime(char *buf, size_t, time_t);
const char *fileio_seconds(char *buf, size_t, long long ms);
int fileio_touch(int dirfd, const char *name, struct timespec when);
int fileio_swap(int dirfd, const char *name, const char *data, size_t len,
    int point);
int fileio_write(int tmpfd, int dirfd, const char *name, const char *data,
    size_t len);
char *fileio_read_fd(int fd, size_t max, size_t *lenp);
char *fileio_read_st(int dirfd, const char *name, size_t max, struct stat *);
char *fileio_read(int dirfd, const char *name, size_t max);
char *fileio_line(char *);
int fileio_scan(int dirfd, int (*)(void *, const char *, int), void *);
int fileio_scan_hidden(int dirfd, int (*)(void *, const char *, int), void *);
int fileio_rmtree(int dirfd, const char *name);

/* name.c: the grammar of job names. */
int name_check(const char *id, const char **why);
void name_text(char *buf, const char *text, size_t len);
void name_shown(char *buf, const char *id, size_t len);
int name_priority(const char *id);
int name_time(const char *id, struct timespec *);
pid_t name_leftover(const char *name, const char **id);

/* status.c: the job's status record, work/<id>/status.json. */
struct rusage;

/* What a run cost: its wall time, and the CPU time and peak memory of its
   process and of every descendant that process waited for. */
struct usage {
	long long wall_ms, user_ms, sys_ms, maxrss_kb;
	int known;	/* 0: not measured (no run ended, or none could be) */
};

enum jstate { JS_QUEUED, JS_DEFERRED, JS_RUNNING, JS_DONE, JS_ERROR };

struct status {
	char stage[ID_MAX + 1];
	enum jstate state;
	int attempt;  /* runs started and counted */
	int exit;     /* last exit code, -1 when none */
	int signal;   /* last fatal signal, 0 when none */
	char reason[ID_MAX + 64]; /* room for "duplicate of ID" */
	time_t submitted, started, finished, updated;
	char progress[PROGRESS_MAX];
	int priority;
	char key[128];
	pid_t pgid;                /* process group of the run, 0 when none */
	unsigned long long pstart; /* its leader's start time, against reuse */
	char sha256[65];           /* of the job's content, once hashed */
	int forced;                /* run even as a duplicate (retry --force) */
	long long remote;          /* the run's job on its runner, 0 when none */
	int unlogged;              /* its submission is not in events.jsonl */
	int lost;                  /* runs lost in a row, in this stage */
	struct usage use;          /* of its last run that ended */
};

void status_init(struct status *, const char *stage);
void status_renew(struct status *, const char *stage);
void status_request(struct status *, const char *stage);
char *status_encode(const struct status *);
int status_decode(const char *json, struct status *);
const char *status_state_name(enum jstate);
int status_state_parse(const char *);
void status_usage(struct usage *, const struct rusage *, long long wall_ms);
void status_usage_text(char *buf, size_t len, const struct usage *);
struct json_t *status_usage_json(const struct usage *);

/* spool.c: the layout, and every change of a job's state on disk. */
#define SPOOL_CREATE 1 /* make the layout where it is missing */
#define SPOOL_MODES 2  /* give every folder of the layout its mode */
#define SPOOL_LOCK 4   /* take the spool's lock, or fail with EWOULDBLOCK */

struct spool {
	int dfd;   /* the spool folder */
	dev_t dev; /* its device and inode, as opened */
	ino_t ino;
	uid_t owner; /* index/'s owner: whose records are the spool's */
	int make;  /* SPOOL_CREATE and SPOOL_MODES, as opened */
	int lockfd; /* the spool's lock (spoold), or -1 */
	int pathfd; /* the lock on its path (spoold), or -1 */
	pid_t holder; /* who has it, when SPOOL_LOCK failed */
	struct pidfh *pfh; /* index/spoold.pid (spoold), or NULL */
	int pidwarned;
	int tmpfd, workfd, logfd, indexfd;
	int cancelfd; /* index/cancel/: a file per job to cancel */
	int evfd;     /* index/events.jsonl, or -1 until it is opened */
	int fsync;   /* make every change durable */
	int dirty;   /* something changed since the last syncer_sync */
	int syncreq, syncack; /* pipes to and from the sync helper */
	pid_t syncpid;
	int syncing; /* a sync asked of the helper is not done yet */
	int swap;    /* rewrite files in place by RENAME_EXCHANGE (spoold) */
	gid_t gid;   /* the submitters' group, or (gid_t)-1 */
};

struct sdirs {
	int fd[NDIRS];
};

int spool_open(struct spool *, const char *path, int flags, gid_t);
void spool_close(struct spool *);
int spool_gone(int fd);
int spool_replaced(const struct spool *, const char *path);
int spool_repair(struct spool *);
int spool_stage_open(struct spool *, const char *stage, struct sdirs *,
    int create);
void spool_stage_close(struct sdirs *);
const char *spool_dir_name(int dir);
int spool_rename(struct spool *, int fromfd, const char *from, int tofd,
    const char *to);
int spool_move(struct spool *, int fromfd, int tofd, const char *id);
int spool_transition(struct spool *, int fromfd, int tofd, const char *id,
    const struct status *, int point);
int spool_place(struct spool *, int fromfd, int tofd, const char *id,
    const struct status *, int point, const char *stage,
    const struct counters *);
int spool_resubmit(struct spool *, int fromfd, int tofd, const char *id,
    const struct status *, const struct status *old);
int spool_submit(struct spool *, int queuefd, const char *tmpname,
    const char *id, const struct status *, struct timespec when);
int spool_write(struct spool *, int dirfd, const char *name, const char *data,
    size_t len, int durable);
int spool_job_open(struct spool *, const char *id);
int spool_job_make(struct spool *, const char *id, uid_t, gid_t);
int spool_progress_at(int jfd, char *buf, size_t len);
int spool_progress(struct spool *, const char *id, char *buf, size_t len);
int spool_status_read(struct spool *, const char *id, struct status *);
int spool_status_write(struct spool *, const char *id, const struct status *);
int spool_quarantine(struct spool *, const char *stage, struct sdirs *,
    int fromdir, const char *id, const char *why);
/* lock.c: which spoold holds the spool. */
int lock_path(struct spool *, const char *path);
int lock_take(struct spool *);
pid_t lock_holder(int dfd);
int lock_pidfile(struct spool *);
void lock_release(struct spool *);

/* syncer.c: the helper that makes the spool durable beside the loop. */
int syncer_start(struct spool *);
void syncer_stop(struct spool *);
void syncer_sync(struct spool *);
void syncer_done(struct spool *);
void syncer_wait(struct spool *);

/* purge.c: a job removed with all it leaves, and what writers left. */
int purge_job(struct spool *, int dirfd, const char *id);
void purge_forget(struct spool *, const char *id, const char *why);
void purge_tmp(struct spool *, int dirfd, int (*job)(const char *id));

/* launch.c: a signal ignored by spoold and by none of its children. */
void launch_ignore(int sig);

/* child.c: spawn, stop and read the children. */
enum stop { STOP_NONE, STOP_TIMEOUT, STOP_HEARTBEAT, STOP_CANCEL,
	STOP_SHUTDOWN };


struct spawn {
	const struct stconf *sc;
	const char *spooldir, *id, *job, *workdir, *heartbeat;
	int attempt;
	int logfd;      /* its stdout and stderr */
	char *const *command; /* a hook's, or NULL for the stage's */
	const char *event, *reason; /* a hook's SPOOL_EVENT and SPOOL_REASON */
	int outfd;      /* its stdout instead, when > 0 (sbatch's answer) */
	int workfd;     /* its folder, open, when > 0 (else workdir) */
	int cgfd;       /* the cgroup.procs it joins, when > 0 */
	long cpus;      /* its share of the CPUs, SPOOL_CPUS, when > 0 */
};

char **child_argv(char *const *command, const char *job, const char *id,
    const char *stage, const char *workdir);
pid_t child_spawn(const struct spawn *);
pid_t child_helper(char *const *argv, int out);
int child_signal(pid_t pgid, int sig);
unsigned long long child_starttime(pid_t pid);
int child_group_alive(pid_t pgid, unsigned long long pstart);
int child_signal_job(const char *path, int sig, const char *const *marks);
int child_orphans(int (*ours)(pid_t, const char *job));
void child_describe(int wstatus, char *buf, size_t);
int child_measure(const char *file, char *const *argv);

/* output.c: a run's output on its way to its log. */
struct output {
	int fd;         /* the pipe's read end, -1 when the child has the log */
	int logfd;
	long long size; /* of the log */
	long max;       /* log_max */
	int cut;        /* this run's output reached log_max */
};

int output_open(struct output *, int logfd, long max, int *wfd);
int output_read(struct output *, int chunks);
void output_close(struct output *);
void output_file(int fd, int logfd, long max);
int output_log_open(struct spool *, const char *id);
int output_header(int fd, const char *stage, const char *run, time_t);
void output_footer(int fd, const char *stage, const char *run,
    const char *what, long long ms, const struct usage *);

/* admit.c: admission by CPUs and memory. */
struct budget {
	long cpus, cpus_used;
	long long memory, memory_used; /* bytes; memory 0: no budget */
};

enum { ADMIT_YES, ADMIT_CPUS, ADMIT_MEMORY };

long admit_cpus(void);
long long admit_memavailable(void);
void admit_init(struct budget *, long cpus, long long memory);
long admit_share(const struct budget *, const struct stconf *);
long admit_parallel(const struct budget *, const struct stconf *);
int admit_fits(const struct budget *, const struct stconf *, long long avail,
    char *why, size_t);
void admit_take(struct budget *, long cpus, long long memory);
void admit_give(struct budget *, long cpus, long long memory);

/* metrics.c: counters and data/index/metrics.json. */
struct counters {
	uint64_t done, error, retries, timeouts, duplicates, runs,
	    run_ms_total;
	uint64_t cpu_ms_total, maxrss_kb_max; /* of the runs measured */
};

/* The wall times of a stage's last runs, for their percentiles. */
#define RECENT_RUNS 100
struct recent {
	long long ms[RECENT_RUNS];
	size_t n, next;
};

struct mstage {
	const char *name;
	long slots;
	size_t queued, running, deferred;
	const char *waiting; /* what its next run waits for, or "" */
	const char *next;    /* the stage its jobs go to, or NULL */
	long parallel;       /* its runs at once, by slots and CPUs */
	long long mean_ms;   /* its recent run time, 0: not known yet */
	const struct counters *c;
	const struct recent *recent;
};


struct mstage metrics_sum(const struct mstage *, size_t n);
struct evmark;
void metrics_add(struct counters *, const struct counters *);
void metrics_recent_add(struct recent *, long long ms);
long long metrics_percentile(const struct recent *, int pct);
void metrics_account(struct counters *, const struct usage *);
char *metrics_prom(time_t now, pid_t pid, time_t started, int up,
    const struct counters *total, const struct mstage *, size_t n);
int metrics_write_prom(struct spool *, const char *text);
char *metrics_encode(time_t now, pid_t pid, time_t started,
    const struct counters *total, const struct mstage *, size_t n,
    const struct evmark *);
int metrics_load(struct spool *, struct counters *total, struct evmark *,
    int (*each)(void *, const char *, const struct counters *), void *);
int metrics_write(struct spool *, const char *json);
int metrics_write_file(struct spool *, const char *file, const char *json);

/* forecast.c: data/index/schedule.json, the budget, waits and forecast. */
long long forecast_drain(const struct mstage *);
long long forecast_eta(const struct mstage *, size_t n);
char *forecast_encode(const struct budget *, long long avail,
    const struct mstage *, size_t n);
int forecast_write(struct spool *, const char *json);

/* page.c: data/index/status.html, the spool seen from a browser. */
struct prun {
	const char *stage, *id, *progress;
	const char *where;  /* "pid 1234", or as its runner says */
	int attempt;
	long long ms;       /* running for */
};

void page_sample(time_t now, const struct counters *total);
void page_error(time_t when, const char *stage, const char *id,
    const char *reason);
char *page_encode(time_t now, pid_t pid, time_t started, long tick,
    const struct counters *total, const struct mstage *, size_t n,
    const struct prun *, size_t nrun);
int page_write(struct spool *, const char *html);

/* events.c: data/index/events.jsonl, a line per change of state. */
struct evmark {		/* a place in the events: a file and an offset */
	ino_t ino;	/* 0: none */
	off_t off;
};

struct event {
	char id[ID_MAX + 1];
	char event[16];
	time_t when;
	struct status st;	/* its stage, attempt, exit, signal, reason */
	char counted[ID_MAX + 1]; /* the stage of its counts, "" when none */
	struct counters c;	/* what it adds to the counters */
};

char *events_encode(const struct timespec *, const char *id,
    const char *event, const struct status *);
char *events_encode_counted(const struct timespec *, const char *id,
    const char *event, const struct status *, const char *stage,
    const struct counters *);
int events_ready(struct spool *);
void events_add(struct spool *, const char *id, const char *event,
    const struct status *);
void events_add_counted(struct spool *, const char *id, const char *event,
    const struct status *, const char *stage, const struct counters *);
void events_undo(struct spool *, const char *id, const struct status *,
    const char *stage, const struct counters *);
void events_tick(struct spool *, long max);
void events_mark(struct spool *, struct evmark *);
void events_replay(struct spool *, const struct evmark *,
    void (*)(void *, const struct event *), void *);

/* dedupe.c: the contents seen, under data/index/sha256/. */
#define SHA256_HEX 65 /* 64 digits and a NUL */
int dedupe_hash(int dirfd, const char *id, char hex[SHA256_HEX]);
int dedupe_valid(const char *hex);
int dedupe_claim(struct spool *, const char *hex, const char *id,
    char *first, size_t len);
void dedupe_forget(struct spool *, const char *hex, const char *id);

/* hook.c: on_done, on_retry and on_error, run beside the loop. */
void hook_add(const struct stconf *, const char *event, const char *id,
    const char *job, const struct status *);
void hook_start(struct spool *, const char *spooldir,
    const struct stconf *(*find)(const char *));
void hook_stale(struct timespec now, long grace);
int hook_next(struct timespec *);
int hook_ours(const char *job);
size_t hook_count(void);
void hook_stop_all(long grace);

/* notify.c: sd_notify(3) messages to the service manager, if any. */
void notify_init(void);
void notify_send(const char *);
void notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));
void notify_reloading(void);
void notify_close(void);

/* cgroup.c: each local run in a control group of its own. */
int cgroup_init(dev_t dev, ino_t ino);
/* The same, reading the files cgroup and mountinfo of proc, not /proc/self. */
int cgroup_init_at(const char *proc, dev_t dev, ino_t ino);
int cgroup_enter(char *name, size_t len);
void cgroup_leave(const char *name, const char *id);
void cgroup_tick(void);
void cgroup_close(void);

/* loop.c: the one poll loop. */
int loop_run(struct conf *, struct spool *);

#endif
