/*
 * place.c: where a job goes, and what that changes. From how a run ended
 * (its exit code or signal, a timeout, a missed heartbeat, a cancel, a
 * loss, a duplicate) and its stage's settings to an outcome; from an
 * outcome to one row of a table: the folder, the state, the attempt and
 * the losses in a row, the counters, the hook and the crash point. A run's
 * end, recovery at start, a cancel and spoolctl's retry all place a job
 * through it. Nothing here touches the disk or the clock.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "spoold.h"
#include "place.h"

#define Q DIR_QUEUE
#define D DIR_DONE
#define E DIR_ERROR
#define KEEP (-1)

static const struct place places[NOUT] = {
	/*		dir next state	    attempt   lost      counters
	 *		clear hook	point */
	[OUT_NEXT] =	{Q, 1, JS_QUEUED,   PA_RESET, PL_RESET, 0,
			 0, NULL,	CP_CHAIN},
	[OUT_DONE] =	{D, 0, JS_DONE,	    PA_KEEP,  PL_RESET, PC_DONE,
			 0, "done",	CP_DONE},
	[OUT_RETRY] =	{Q, 0, JS_DEFERRED, PA_KEEP,  PL_RESET, PC_RETRY,
			 0, "retry",	CP_RETRY},
	[OUT_ERROR] =	{E, 0, JS_ERROR,    PA_KEEP,  PL_RESET, PC_ERROR,
			 0, "error",	CP_ERROR},
	[OUT_REQUEUE] =	{Q, 0, JS_QUEUED,   PA_UNDO,  PL_KEEP,  0,
			 0, NULL,	CP_REQUEUE},
	[OUT_LOST] =	{Q, 0, JS_DEFERRED, PA_UNDO,  PL_ADD,   PC_RETRY,
			 0, "retry",	CP_RETRY},
	[OUT_LOST_MAX] = {E, 0, JS_ERROR,   PA_KEEP,  PL_ADD,   PC_ERROR,
			 0, "error",	CP_ERROR},
	[OUT_DUPLICATE] = {E, 0, JS_ERROR,  PA_KEEP,  PL_KEEP,  PC_ERROR|PC_DUP,
			 0, "error",	CP_ERROR},
	[OUT_CANCEL] =	{E, 0, JS_ERROR,    PA_KEEP,  PL_KEEP,  PC_ERROR,
			 0, "error",	CP_ERROR},
	[OUT_RESUBMIT] = {Q, 0, JS_QUEUED,  PA_RESET, PL_RESET, 0,
			 1, NULL,	0},
	[OUT_CUT] =	{Q, 0, JS_QUEUED,   PA_UNDO,  PL_KEEP,  0,
			 0, NULL,	CP_RECOVER},
	[OUT_CUT_CANCEL] = {E, 0, JS_ERROR, PA_UNDO,  PL_KEEP,  PC_ERROR,
			 0, NULL,	CP_RECOVER},
	[OUT_MOVED_DONE] = {D, 0, KEEP,	    PA_KEEP,  PL_KEEP,  0,
			 0, NULL,	CP_RECOVER},
	[OUT_MOVED_ERROR] = {E, 0, KEEP,    PA_KEEP,  PL_KEEP,  0,
			 0, NULL,	CP_RECOVER},
	[OUT_MOVED_QUEUE] = {Q, 0, KEEP,    PA_KEEP,  PL_KEEP,  0,
			 0, NULL,	CP_RECOVER},
	[OUT_MOVED_NEXT] = {Q, 1, KEEP,	    PA_KEEP,  PL_KEEP,  0,
			 0, NULL,	CP_RECOVER},
	[OUT_MOVED_CANCEL] = {E, 0, JS_ERROR, PA_KEEP, PL_KEEP, PC_ERROR,
			 0, NULL,	CP_RECOVER},
	[OUT_FOUND] =	{Q, 0, JS_QUEUED,   PA_KEEP,  PL_KEEP,  0,
			 0, NULL,	CP_RECOVER},
	[OUT_FOUND_CANCEL] = {E, 0, JS_ERROR, PA_KEEP, PL_KEEP, PC_ERROR,
			 0, NULL,	CP_RECOVER},
};

const struct place *
place_row(enum outcome out)
{
	return &places[out];
}

/*
 * How a run ended, from its wait status ws or the reason it was stopped,
 * with attempt its number and lost the runs of the job lost in a row
 * before it; why says it in words. A run its runner lost is placed by
 * place_lost instead.
 */
enum outcome
place_outcome(const struct stconf *sc, int ws, enum stop stop, int attempt,
    int has_next, char *why, size_t len)
{
	char how[128];

	child_describe(ws, how, sizeof(how));
	switch (stop) {
	case STOP_SHUTDOWN:
		snprintf(why, len, "stopped by shutdown");
		return OUT_REQUEUE;
	case STOP_CANCEL:
		snprintf(why, len, "cancelled");
		return OUT_CANCEL;
	case STOP_TIMEOUT:
		snprintf(why, len, "timeout after %lds", sc->timeout);
		break;
	case STOP_HEARTBEAT:
		snprintf(why, len, "no heartbeat for %lds", sc->heartbeat);
		break;
	case STOP_NONE:
		if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
			why[0] = '\0';
			return has_next ? OUT_NEXT : OUT_DONE;
		}
		snprintf(why, len, "%s", how);
		if (WIFEXITED(ws) && conf_is_fail_code(sc, WEXITSTATUS(ws)))
			return OUT_ERROR;
		break;
	}
	if (attempt >= sc->attempts) {
		size_t n = strlen(why);
		snprintf(why + n, len - n, " (attempt %d of %ld)", attempt,
		    sc->attempts);
		return OUT_ERROR;
	}
	return OUT_RETRY;
}

/*
 * A run its runner lost (said says how), after lost such losses in a row:
 * a retry that spends no attempt, or an error at the stage's lost_max.
 */
enum outcome
place_lost(const struct stconf *sc, int lost, const char *said, char *why,
    size_t len)
{
	if (lost + 1 >= sc->lost_max) {
		snprintf(why, len, "lost %d times in a row; last: %s", lost + 1,
		    said);
		return OUT_LOST_MAX;
	}
	strlcpy(why, said, len);
	return OUT_LOST;
}

/*
 * Where recovery at start sends a job a previous spoold left in running/
 * of stage: known says whether s is its record, next whether the record's
 * stage is another one that exists, cancelled whether a cancel for it
 * waits in index/cancel/. A job found (OUT_FOUND, OUT_FOUND_CANCEL) has a
 * record of no run of this stage, which starts again here.
 */
enum outcome
place_recovered(const struct status *s, int known, const char *stage,
    int next, int cancelled)
{
	if (known && strcmp(s->stage, stage) == 0) {
		if (s->state == JS_RUNNING)
			return cancelled ? OUT_CUT_CANCEL : OUT_CUT;
		if (s->state == JS_DONE)
			return OUT_MOVED_DONE;
		if (s->state == JS_ERROR)
			return OUT_MOVED_ERROR;
		return cancelled ? OUT_MOVED_CANCEL : OUT_MOVED_QUEUE;
	}
	if (known && s->state == JS_QUEUED && next)
		return cancelled ? OUT_FOUND_CANCEL : OUT_MOVED_NEXT;
	return cancelled ? OUT_FOUND_CANCEL : OUT_FOUND;
}

/* Adds to c what a placement by p counts. */
void
place_count(const struct place *p, struct counters *c)
{
	if (p->count & PC_DONE)
		c->done++;
	if (p->count & PC_ERROR)
		c->error++;
	if (p->count & PC_RETRY)
		c->retries++;
	if (p->count & PC_DUP)
		c->duplicates++;
}

/*
 * The record of a job placed by out, at time now: to stage (NULL: where it
 * is), why in its reason, waiting delay seconds (a retry's backoff).
 */
void
place_record(struct status *s, enum outcome out, const char *stage,
    const char *why, long delay, time_t now)
{
	const struct place *p = &places[out];

	if (stage != NULL)
		strlcpy(s->stage, stage, sizeof(s->stage));
	if (p->state != KEEP)
		s->state = p->state == JS_DEFERRED && delay <= 0 ? JS_QUEUED :
		    p->state;
	if (p->attempt == PA_RESET)
		s->attempt = 0;
	else if (p->attempt == PA_UNDO && s->attempt > 0)
		s->attempt--;
	if (p->lost == PL_RESET)
		s->lost = 0;
	else if (p->lost == PL_ADD)
		s->lost++;
	if (why != NULL)
		strlcpy(s->reason, why, sizeof(s->reason));
	if (p->clear) {
		s->exit = -1;
		s->signal = 0;
		s->reason[0] = '\0';
		s->finished = 0;
		memset(&s->use, 0, sizeof(s->use));
	} else if (p->point != CP_RECOVER)
		s->finished = now;
	s->pgid = 0;
	s->pstart = 0;
	s->updated = now;
}

/*
 * Seconds to wait before the next run after attempt runs: base, doubled
 * each retry, capped at max, less a random part of up to a quarter so that
 * jobs that failed together do not come back together.
 */
long
place_backoff(long base, long max, int attempt, uint32_t rnd)
{
	long d = base;
	int i;

	for (i = 1; i < attempt && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	if (d > max)
		d = max;
	if (d <= 0)
		return 0;
	return d - (long)((uint64_t)rnd % ((uint64_t)d / 4 + 1));
}

/* The order of the states in a listing: a job's life, running first. */
int
place_rank(enum jstate s)
{
	static const int rank[] = {[JS_RUNNING] = 0, [JS_QUEUED] = 1,
		[JS_DEFERRED] = 2, [JS_DONE] = 3, [JS_ERROR] = 4};

	return rank[s];
}
