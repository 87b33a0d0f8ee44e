/*
 * spoolctl.h: what the files of spoolctl share, and only they: the
 * context of a run, a job as ls sees it, and what each file offers the
 * others. It comes after spoold.h, which declares what spoolctl shares
 * with spoold. The files call one way: spoolctl.c (main) has ctl_verbs.c
 * parse the command line and ctl_spool.c find the spool, and runs the
 * verb it names; the verbs call ctl_list.c's list of jobs and
 * ctl_spool.c; ctl_spool.c calls no verb.
 */
#ifndef SPOOLCTL_H
#define SPOOLCTL_H

#include <jansson.h>

/* How every usage of spoolctl begins. */
#define CTL_USAGE "usage: spoolctl [-c config | -d spool] "

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

struct ctl_args;

/* A verb of spoolctl, as the table of ctl_verbs.c gives it. */
struct ctl_verb {
	const char *name;
	int (*fn)(const struct ctl_args *); /* NULL for help */
	const char *longs, *shorts; /* its options (longs NULL: none) */
	int min, max;		    /* how many operands (max -1: any) */
	const char *what, *usage;   /* in one line; after CTL_USAGE */
};

/* A command line, parsed: nothing acted on yet. */
struct ctl_args {
	const char *config, *spool; /* -c, -d */
	int version;		    /* -V, --version */
	int help;		    /* -h, help [VERB], VERB -h */
	const struct ctl_verb *verb; /* NULL: none, or all for help */
	const char *stage, *key, *name; /* --stage, --key, --name */
	int priority, state;	    /* --priority, --state (-1: none) */
	int json, follow, all, force, link;
	long delay, older;	    /* --delay, --older-than (-1: none) */
	int argc;		    /* the operands after the options */
	char **argv;
	char *why;		    /* why it was refused, or NULL */
	int usage;		    /* refused: the usage follows */
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

/* ctl_verbs.c */
int ctl_parse(int argc, char **argv, struct ctl_args *);
void ctl_help(FILE *fp, const struct ctl_verb *verb);

/* ctl_spool.c */
int ctl_load(const struct ctl_args *);
void die(int code, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
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
/* Whose records ls_collect reads: every job's, or the running ones'. */
#define LS_ALL 1
#define LS_RUNNING 0
void ls_collect(long stage, int state, int records);
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
int ctl_ls(const struct ctl_args *);
int ctl_show(const struct ctl_args *);
int ctl_log(const struct ctl_args *);
int ctl_stats(const struct ctl_args *);
int ctl_stats_show(int json);

/* ctl_submit.c */
int ctl_submit(const struct ctl_args *);

/* ctl_move.c */
int ctl_retry(const struct ctl_args *);
int ctl_cancel(const struct ctl_args *);
int ctl_purge(const struct ctl_args *);

/* ctl_watch.c */
int ctl_watch(const struct ctl_args *);
void ctl_watch_draw(void);
int ctl_events(const struct ctl_args *);
void ctl_events_read(FILE *fp, const char *id);

/* ctl_info.c */
int ctl_info(const struct ctl_args *);

#endif
