/*
 * report.c: what spoold tells each tick: index/metrics.json and
 * index/metrics.prom, index/status.html, the process title and the
 * service manager's status; and what has been in a done/ longer than its
 * stage's retain, purged.
 */

#include <fcntl.h>

#include <bsd/unistd.h>

#include "spoold.h"
#include "loop.h"

int
report_counters(void *arg, const char *name, const struct counters *c)
{
	struct stage *st;

	(void)arg;
	if ((st = stage_find(name)) != NULL)
		st->c = *c;
	return 0;
}

/*
 * Writes index/<name>, the text encoded (or NULL when it could not be),
 * and frees the text. A write refused for want of space stops the claims.
 */
static void
report_write(const char *name, char *text,
    int (*write)(struct spool *, const char *))
{
	if (text == NULL)
		log_warnx("%s: cannot encode", name);
	else if (write(L.sp, text) == -1 && !L.full) {
		log_warn("write index/%s", name);
		stage_full(name);
	}
	free(text);
}

/* index/status.html: the counts of metrics.json, and the running jobs. */
static void
report_page(time_t now, time_t started, const struct mstage *ms, size_t n)
{
	struct timespec mono = mono_now();
	struct prun *pr;
	struct stage *st;
	struct run *r;
	char (*where)[48], *html;
	size_t i = 0;

	page_sample(now, &L.total);
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry)
			i++;
	if ((pr = calloc(i + 1, sizeof(*pr))) == NULL ||
	    (where = calloc(i + 1, sizeof(*where))) == NULL)
		fatal("calloc");
	i = 0;
	TAILQ_FOREACH(st, &L.stages, entry)
		TAILQ_FOREACH(r, &st->runs, entry) {
			r->runner->where(r, where[i], sizeof(where[i]));
			pr[i] = (struct prun){st->name, r->id, r->st.progress,
			    where[i], r->st.attempt, r->pending ? 0 :
			    ms_between(r->t0, mono)};
			i++;
		}
	html = page_encode(now, getpid(), started, L.conf->tick, &L.total, ms,
	    n, pr, i);
	report_write("status.html", html, page_write);
	free(where);
	free(pr);
}

void
report_metrics(void)
{
	struct mstage *ms;
	struct stage *st;
	struct evmark mark;
	size_t n = 0;
	time_t now, started;
	char *json;

	TAILQ_FOREACH(st, &L.stages, entry)
		n++;
	if ((ms = calloc(n + 1, sizeof(*ms))) == NULL)
		fatal("calloc");
	n = 0;
	TAILQ_FOREACH(st, &L.stages, entry) {
		ms[n].name = st->name;
		ms[n].slots = st->retired ? 0 : st->sc->slots;
		ms[n].queued = queue_ready(&st->q);
		ms[n].deferred = queue_deferred(&st->q);
		ms[n].running = st->nrun;
		ms[n].waiting = st->waiting;
		ms[n].next = st->retired ? NULL : st->sc->next;
		ms[n].parallel = st->retired ? 0 : st->sc->runner->remote ?
		    st->sc->slots : admit_parallel(&L.budget, st->sc);
		ms[n].mean_ms = st->mean_ms;
		ms[n].c = &st->c;
		ms[n].recent = &st->recent;
		n++;
	}
	/* The uptime by the monotonic clock, whatever the system time does. */
	now = time(NULL);
	started = now - (mono_now().tv_sec - L.started.tv_sec);
	events_mark(L.sp, &mark);	/* the counters include every event */
	json = metrics_encode(now, getpid(), started, &L.total, ms, n, &mark);
	report_write("metrics.json", json, metrics_write);
	json = metrics_prom(now, getpid(), started, !L.down, &L.total, ms, n);
	report_write("metrics.prom", json, metrics_write_prom);
	json = forecast_encode(&L.budget, admit_memavailable(), ms, n);
	report_write("schedule.json", json, forecast_write);
	report_page(now, started, ms, n);
	free(ms);
}

/* The counts, in the process title and to the service manager. */
void
report_title(void)
{
	struct stage *st;
	size_t queued = 0, deferred = 0;
	long running = 0;

	TAILQ_FOREACH(st, &L.stages, entry) {
		queued += queue_ready(&st->q);
		deferred += queue_deferred(&st->q);
		running += st->nrun;
	}
	setproctitle("%s%ld running, %zu queued",
	    L.stopping ? "stopping, " : "", running, queued);
	notify_status("%s%ld running, %zu queued, %zu deferred, %llu done, "
	    "%llu error", L.stopping ? "stopping, " : "", running, queued,
	    deferred, (unsigned long long)L.total.done,
	    (unsigned long long)L.total.error);
}

static int
report_retain_one(void *arg, const char *id, int type)
{
	struct stage *st = arg;
	struct stat sb;

	(void)type;
	if (fstatat(st->sd.fd[DIR_DONE], id, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sb.st_ctime < L.retain_before &&
	    purge_job(L.sp, st->sd.fd[DIR_DONE], id) == 0)
		log_debug("%s/done/%s: purged after %ld days", st->name, id,
		    st->sc->retain);
	return 0;
}

/* Purges what has been in a done/ longer than its stage's retain. */
void
report_retain(void)
{
	struct stage *st;

	TAILQ_FOREACH(st, &L.stages, entry) {
		if (st->retired || st->sc->retain == 0)
			continue;
		L.retain_before = time(NULL) - st->sc->retain * 86400;
		if (fileio_scan(st->sd.fd[DIR_DONE], report_retain_one, st) == -1)
			log_warn("read %s/done", st->name);
	}
}
