/*
 * place.h: where a job goes after a run, a cancel or a recovery (place.c),
 * for the loop's files and the verbs of spoolctl that move jobs. It comes
 * after spoold.h.
 */
#ifndef PLACE_H
#define PLACE_H

#include <stdint.h>

/* place.c: where a job goes, and what that changes. */
enum outcome {
	OUT_NEXT,	/* a run that succeeded, to the next stage */
	OUT_DONE,	/* ... to done/, at the last stage */
	OUT_RETRY,	/* a run that failed, for another attempt */
	OUT_ERROR,	/* a run that failed for good */
	OUT_REQUEUE,	/* a run stopped by shutdown */
	OUT_LOST,	/* a run its runner lost */
	OUT_LOST_MAX,	/* ... lost_max times in a row */
	OUT_DUPLICATE,	/* a job whose content another one had first */
	OUT_CANCEL,	/* a job cancelled, running or queued */
	OUT_RESUBMIT,	/* an error/ job put back by spoolctl retry */
	OUT_CUT,	/* recovery: a run cut short by a crash */
	OUT_CUT_CANCEL,	/* ... one cancelled meanwhile */
	OUT_MOVED_DONE,	/* recovery: the record said where, the move */
	OUT_MOVED_ERROR, /* was not made */
	OUT_MOVED_QUEUE,
	OUT_MOVED_NEXT,
	OUT_MOVED_CANCEL, /* ... queue/, and a cancel waits */
	OUT_FOUND,	/* recovery: a job of no known run */
	OUT_FOUND_CANCEL, /* ... cancelled meanwhile */
	NOUT
};

enum { PA_KEEP, PA_UNDO, PA_RESET };	/* what becomes of the attempt */
enum { PL_KEEP, PL_ADD, PL_RESET };	/* of the runs lost in a row */
#define PC_DONE  1	/* the counters a placement adds to */
#define PC_ERROR 2
#define PC_RETRY 4
#define PC_DUP   8

struct place {
	int dir;	/* DIR_QUEUE, DIR_DONE or DIR_ERROR */
	int next;	/* of the next stage (or the record's), not the run's */
	int state;	/* JS_DEFERRED is JS_QUEUED with no delay; -1: kept */
	int attempt, lost, count;
	int clear;	/* exit, signal, reason and finished cleared */
	const char *hook; /* the hook's event, or NULL */
	int point;	/* the crash point between the record and the move */
};

const struct place *place_row(enum outcome);
enum outcome place_outcome(const struct stconf *, int wstatus, enum stop,
    int attempt, int has_next, char *why, size_t);
enum outcome place_lost(const struct stconf *, int lost, const char *said,
    char *why, size_t);
enum outcome place_recovered(const struct status *, int known,
    const char *stage, int next, int cancelled);
void place_count(const struct place *, struct counters *);
void place_record(struct status *, enum outcome, const char *stage,
    const char *why, long delay, time_t now);
long place_backoff(long base, long max, int attempt, uint32_t rnd);
int place_rank(enum jstate);

#endif
