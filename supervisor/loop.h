/*
 * loop.h: what the files of spoold's loop share: the stages, the loop's
 * state, and a section a file; it brings what they all use of the run, its
 * place and the queue. Only the loop's files include it. Each file
 * calls only those below it: loop.c; intake.c; recover.c and report.c;
 * claim.c; run.c; stage.c at the bottom.
 */
#ifndef LOOP_H
#define LOOP_H

#include <sys/queue.h>
#include <sys/resource.h>

#include <poll.h>

#include "place.h"
#include "queue.h"
#include "runner.h"

struct leftover;

struct stage {
	TAILQ_ENTRY(stage) entry;
	char *name;
	struct stconf *sc;
	int retired;
	int fresh;		/* new: its running/ to recover, its queue/ to read */
	struct sdirs sd;
	int wd;
	struct queue q;
	TAILQ_HEAD(, run) runs;
	long nrun;
	struct counters c;
	int quick;
	struct timespec holdoff;
	int depth;		/* stages before it in the pipeline */
	long long mean_ms;	/* its recent run time, 0 before its first */
	struct recent recent;	/* the wall times of its last runs */
	int passed;		/* claims that went to others while it could */
	int wait;		/* what its next run waits for: ADMIT_* */
	char waiting[32];	/* ... in words, or "" */
};

struct loop {
	struct conf *conf;
	struct spool *sp;
	TAILQ_HEAD(, stage) stages;
	struct stage *last;	/* the stage claimed from last, for fairness */
	int sigfd, infd, cancelwd;
	int epfd;		/* the output pipes of runs under log_max */
	struct pollfd pfd[4];
	TAILQ_HEAD(, leftover) leftovers; /* what recovery is stopping */
	int orphans;		/* look for processes runs left behind */
	int full;		/* the spool's filesystem is full: no claims */
	struct counters total;
	struct timespec started; /* monotonic */
	long nrun;
	int stopping;		/* 1: waiting for children, 2: stopping them */
	struct timespec stopat;
	struct timespec nexttick, nextretain;
	time_t retain_before;
	int rescan;
	int gone;		/* the spool's folder was removed or replaced */
	struct timespec nextclean;
	struct budget budget;	/* the CPUs and memory runs may take */
	struct rusage ru;	/* of the process loop_reap reaps now */
	int down;		/* stopped: the last report */
};

extern struct loop L;

/* stage.c: the stage set, and what each part asks of it. */
struct stage *stage_find(const char *name);
const char *stage_kind(mode_t mode);
void stage_seen(struct stage *st, const char *id, int wait_close);
void stage_scan(struct stage *st);
int stage_watch(struct stage *st);
int stage_watch_cancel(void);
struct stage *stage_new(struct stconf *sc);
int stage_where(const char *id, const struct stage *not, struct stage **at,
    int *dir);
void stage_folders(void);
void stage_full(const char *what);
void stage_room(void);
void stage_add(const char *name, const struct counters *c);
void stage_hook(struct stage *st, const char *event, int dir, const char *id,
    const struct status *s);
void stage_depths(void);
void stage_placed(struct stage *st, struct stage *to, const struct place *p,
    const char *id, const struct status *s, const struct counters *c);
int stage_place(struct stage *st, int fromfd, int tofd, const char *id,
    const struct status *s, const struct place *p,
    const struct counters *ran, struct counters *c);

/* run.c: a run's life, from its start to its job's place. */
struct run *run_by_id(const char *id);
struct run *run_new(struct stage *st, const char *id, const struct status *s);
void run_free(struct run *r);
void run_end(struct run *r, int ws);
void run_sweep(void);
void run_reaped(void *arg, int ws);
void run_stop(struct run *r, enum stop why);
void run_stale(void);

/* claim.c: claims and starts. */
void claim_record(struct stage *st, const char *id, struct status *s);
void claim_all(void);

/* intake.c: inotify, cancels, rescans. */
void intake_clean(void);
int intake_cancel_one(void *arg, const char *id, int type);
void intake_read(void);
void intake_rescan(void);

/* recover.c: the stage set from a config, and recovery. */
int recover_apply(struct conf *conf, int startup);
void recover_tick(void);
void recover_clear(void);
int recover_holds(const char *id);
int recover_next(struct timespec *at);
void recover_counters(void);

/* report.c: metrics, page, title, retention. */
int report_counters(void *arg, const char *name, const struct counters *c);
void report_metrics(void);
void report_title(void);
void report_retain(void);

/* loop.c: the loop in steps, for the tests. */
int loop_start(struct conf *, struct spool *);
int loop_once(int maxms);
int loop_end(void);

#endif
