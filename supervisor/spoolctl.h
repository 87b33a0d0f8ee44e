/*
 * spoolctl.h: what the files of spoolctl share, and only they: the
 * context of a run, a job as ls sees it, and what each file offers the
 * others. It comes after spoold.h, which declares what spoolctl shares
 * with spoold. The files call one way: spoolctl.c (main) calls the verbs;
 * the verbs call ctl_list.c's list of jobs and ctl_spool.c; ctl_spool.c
 * calls no verb.
 */
#ifndef SPOOLCTL_H
#define SPOOLCTL_H

#include <jansson.h>

/* How every usage of spoolctl begins. */
#define CTL_USAGE "usage: spoolctl [-c config | -d spool] "

struct ctl {
	const char *usage; /* the verb's, after CTL_USAGE */
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

extern struct ctl C;

/* ctl_spool.c */
void usage(void) __attribute__((noreturn));
void die(int code, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
long duration_arg(const char *opt, const char *s);
size_t stage_arg(const char *name);
void ctl_stages(void);
void ctl_open(int create);
void ctl_writable(size_t stage, int dir);
int ctl_find(const char *id, size_t *stage, int *dir);
void ctl_find_all(int argc, char **argv, size_t *stage, int *dir);
void ctl_status(const char *id, size_t stage, struct status *st);
int spoold_running(void);

/* ctl_list.c: the jobs in the scheduler's order, and how one is shown. */
extern struct entry *ents;
extern size_t nents;
#define NSTATES 5 /* enum jstate */
void ls_collect(long stage, int state);
long long *ls_count(void);
char *ctl_asof(char *buf, size_t len, time_t t);
void name_shown(char *buf, const char *id, size_t len);
void ctl_fmt_age(time_t secs, char *buf, size_t len);
char *ctl_progress_of(const struct entry *e, char *buf, size_t len);
json_t *ctl_index_read(const char *file);
const char *ctl_waiting(json_t *sched, const char *stage);
const char *ctl_forecast_words(json_t *o, const char *key,
    const char *unknown, char *buf, size_t len);
long long ctl_jint(json_t *o, const char *k);
int ctl_ls(int argc, char **argv);
int ctl_show(int argc, char **argv);
int ctl_log(int argc, char **argv);
int ctl_stats(int argc, char **argv);

/* ctl_submit.c */
int ctl_submit(int argc, char **argv);

/* ctl_move.c */
int ctl_retry(int argc, char **argv);
int ctl_cancel(int argc, char **argv);
int ctl_purge(int argc, char **argv);

/* ctl_watch.c */
int ctl_watch(int argc, char **argv);
int ctl_events(int argc, char **argv);

/* ctl_info.c */
int ctl_info(int argc, char **argv);

#endif
