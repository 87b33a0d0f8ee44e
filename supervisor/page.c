/*
 * page.c: data/index/status.html, the spool seen from a browser: the
 * counts of metrics.json, the jobs done and failed in each minute of the
 * last hour, the running jobs and the last errors. The page needs nothing
 * else (no script, no style, font or image from elsewhere), so any static
 * web server can serve index/; it is replaced atomically every tick. The
 * minutes and the errors are kept in memory only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoold.h"

#define PAGE_FILE "status.html"
#define PAGE_MINUTES 60	/* the chart: a bar a minute, the last hour */
#define PAGE_ERRORS 10	/* the last errors listed */
#define PAGE_RUNS 100	/* the running jobs listed; the rest counted */
#define PAGE_TEXT 1024	/* a text of a job, once cleaned */

/* The chart's geometry, in pixels. */
#define CHART_LEFT 40
#define CHART_BAR 11	/* the pitch of the bars */
#define CHART_HEIGHT 100
#define CHART_TOP 10
#define CHART_WIDTH (CHART_LEFT + PAGE_MINUTES * CHART_BAR + 10)

struct minute {
	long long m;	/* time / 60 */
	int used;
	uint64_t done, error;
};

struct perr {
	time_t when;
	char stage[ID_MAX + 1];
	char id[ID_MAX + 1];
	char reason[ID_MAX + 64];
};

static struct {
	struct minute min[PAGE_MINUTES];
	struct counters last;
	int sampled;
	struct perr err[PAGE_ERRORS];
	size_t nerr, errnext;
} P;

static uint64_t
page_since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static struct minute *
page_minute(long long m)
{
	return &P.min[((m % PAGE_MINUTES) + PAGE_MINUTES) % PAGE_MINUTES];
}

/*
 * Once a tick: what was done and what failed since the last call, in the
 * bucket of this minute. The first call only takes the counters as they
 * are; counters that went down count as nothing.
 */
void
page_sample(time_t now, const struct counters *total)
{
	struct minute *b;
	long long m = (long long)now / 60;

	if (P.sampled) {
		b = page_minute(m);
		if (!b->used || b->m != m) {
			memset(b, 0, sizeof(*b));
			b->m = m;
			b->used = 1;
		}
		b->done += page_since(total->done, P.last.done);
		b->error += page_since(total->error, P.last.error);
	}
	P.last = *total;
	P.sampled = 1;
}

/* A job that went to error/, for the list of the last ones. */
void
page_error(time_t when, const char *stage, const char *id, const char *reason)
{
	struct perr *e = &P.err[P.errnext];

	P.errnext = (P.errnext + 1) % PAGE_ERRORS;
	if (P.nerr < PAGE_ERRORS)
		P.nerr++;
	e->when = when;
	name_text(e->stage, stage != NULL ? stage : "", sizeof(e->stage));
	name_text(e->id, id != NULL ? id : "", sizeof(e->id));
	name_text(e->reason, reason != NULL ? reason : "", sizeof(e->reason));
}

/* The text of a job, as valid UTF-8 without control characters, escaped. */
static void
page_put(FILE *f, const char *s)
{
	char buf[PAGE_TEXT];
	const char *p;

	name_text(buf, s != NULL ? s : "", sizeof(buf));
	for (p = buf; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			putc(*p, f);
		}
	}
}

/* "45s", "1m 05s", "2h 03m", "3d 04h". */
static void
page_duration(char *buf, size_t len, long long s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm %02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh %02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%lldd %02lldh", s / 86400, s / 3600 % 24);
}

static const char page_style[] =
    "body{font:17px/1.35 \"DejaVu Sans\",Verdana,Arial,sans-serif;"
    "color:#000;background:#fff;margin:12px 24px}\n"
    "h1{font-size:24px;margin:0 0 2px}\n"
    "h2{font-size:19px;margin:14px 0 4px}\n"
    "p{margin:2px 0}\n"
    ".line span{margin-right:1.5em}\n"
    "table{border-collapse:collapse}\n"
    "th,td{padding:2px 14px 2px 0;text-align:left;vertical-align:top;"
    "border-bottom:1px solid #888;white-space:nowrap}\n"
    "th{border-bottom:2px solid #000}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tr.total td{border-top:2px solid #000}\n"
    "tr.total td:first-child{font-weight:bold}\n"
    "td.t{white-space:normal;overflow-wrap:anywhere;min-width:8em}\n"
    ".sw{display:inline-block;width:14px;height:14px;margin:0 4px 0 12px;"
    "vertical-align:-2px}\n"
    ".done{background:#1f4fbf}.error{background:#c00000}\n"
    ".none{color:#333;font-style:italic}\n";

static void
page_head(FILE *f, time_t now, pid_t pid, time_t started, long tick,
    const struct counters *total)
{
	char when[32], up[32];
	long refresh = tick <= 0 ? 5 : tick < 720 ? tick * 5 : 3600;

	fileio_isotime(when, sizeof(when), now);	/* ...THH:MM:SSZ */
	page_duration(up, sizeof(up), (long long)(now - started));
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"refresh\" content=\"%ld\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width\">\n"
	    "<title>spoold: %" PRIu64 " done, %" PRIu64 " error</title>\n"
	    "<style>\n%s</style>\n</head>\n<body>\n"
	    "<h1>spoold</h1>\n"
	    "<p class=\"line\"><span>as of <time id=\"updated\" "
	    "datetime=\"%s\">%.8s UTC</time></span> <span>pid %ld</span> "
	    "<span>up %s</span></p>\n",
	    refresh, total->done, total->error, page_style, when, when + 11,
	    (long)pid, up);
}

static void
page_row(FILE *f, const char *cls, const struct mstage *m)
{
	const struct counters *c = m->c;

	fprintf(f, "<tr%s%s%s><td>", cls != NULL ? " class=\"" : "",
	    cls != NULL ? cls : "", cls != NULL ? "\"" : "");
	page_put(f, m->name);
	fprintf(f, "</td><td class=\"n\">%ld</td><td class=\"n\">%zu</td>"
	    "<td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
	    "<td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64 "</td>"
	    "<td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
	    "</td></tr>\n", m->slots, m->queued, m->running, m->deferred,
	    c->done, c->error, c->retries, c->timeouts);
}

/* The counts of metrics.json: a row a stage, then the totals. */
static void
page_stages(FILE *f, const struct counters *total, const struct mstage *st,
    size_t n)
{
	struct mstage sum = metrics_sum(st, n);
	size_t i;

	fputs("<h2>Stages</h2>\n<table id=\"stages\">\n<tr><th>stage</th>"
	    "<th class=\"n\">slots</th><th class=\"n\">queued</th>"
	    "<th class=\"n\">running</th><th class=\"n\">deferred</th>"
	    "<th class=\"n\">done</th><th class=\"n\">error</th>"
	    "<th class=\"n\">retries</th><th class=\"n\">timeouts</th></tr>\n",
	    f);
	sum.c = total;
	for (i = 0; i < n; i++)
		page_row(f, NULL, &st[i]);
	page_row(f, "total", &sum);
	fprintf(f, "</table>\n<p>duplicates: %" PRIu64 " (counted in error)"
	    "</p>\n", total->duplicates);
}

/* A forecast of schedule.json in words: "3m 20s", or "-" when unknown. */
static void
page_when(char *buf, size_t len, long long s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else
		page_duration(buf, len, s);
}

/*
 * What schedule.json says: each stage's runs at once, recent run time,
 * when its queue should drain and what its next run waits for; when the
 * pipeline should be empty.
 */
static void
page_forecast(FILE *f, const struct mstage *st, size_t n)
{
	char drain[32], eta[32];
	size_t i;

	page_when(eta, sizeof(eta), forecast_eta(st, n));
	fprintf(f, "<h2>Forecast</h2>\n<p>pipeline empty in about <span "
	    "id=\"eta\">%s</span></p>\n<table id=\"forecast\">\n<tr>"
	    "<th>stage</th><th class=\"n\">at once</th>"
	    "<th class=\"n\">run time</th><th class=\"n\">drains in</th>"
	    "<th>next run</th></tr>\n", eta);
	for (i = 0; i < n; i++) {
		page_when(drain, sizeof(drain), forecast_drain(&st[i]));
		fputs("<tr><td>", f);
		page_put(f, st[i].name);
		fprintf(f, "</td><td class=\"n\">%ld</td><td class=\"n\">"
		    "%.1fs</td><td class=\"n\">%s</td><td>", st[i].parallel,
		    st[i].mean_ms / 1000.0, drain);
		page_put(f, st[i].waiting != NULL ? st[i].waiting : "");
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* The bucket of the minute i of the chart (0: an hour ago), or NULL. */
static const struct minute *
page_bucket(time_t now, int i)
{
	long long m = (long long)now / 60 - (PAGE_MINUTES - 1) + i;
	const struct minute *b = page_minute(m);

	return b->used && b->m == m ? b : NULL;
}

/* A bar of v on top of what is below it (in pixels); its top. */
static long long
page_bar(FILE *f, int i, long long below, uint64_t v, uint64_t scale,
    const char *color)
{
	long long h = (long long)(v * CHART_HEIGHT / scale);

	if (v == 0)
		return below;
	if (h < 1)
		h = 1;
	fprintf(f, "<rect x=\"%d\" y=\"%lld\" width=\"%d\" height=\"%lld\" "
	    "fill=\"%s\"/>", CHART_LEFT + i * CHART_BAR,
	    CHART_TOP + CHART_HEIGHT - below - h, CHART_BAR - 2, h, color);
	return below + h;
}

static void
page_minute_bars(FILE *f, int i, const struct minute *b, uint64_t scale)
{
	long long top;

	fprintf(f, "<g><title>%d min: %" PRIu64 " done, %" PRIu64
	    " errors</title>", i - (PAGE_MINUTES - 1), b->done, b->error);
	top = page_bar(f, i, 0, b->done, scale, "#1f4fbf");
	page_bar(f, i, top, b->error, scale, "#c00000");
	fputs("</g>\n", f);
}

static void
page_axis(FILE *f, uint64_t scale)
{
	int y = CHART_TOP + CHART_HEIGHT;

	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	    "stroke=\"#000\"/>\n", CHART_LEFT - 4, y,
	    CHART_LEFT + PAGE_MINUTES * CHART_BAR, y);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	    "stroke=\"#000\"/>\n", CHART_LEFT - 4, CHART_TOP, CHART_LEFT - 4,
	    y);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%" PRIu64
	    "</text>\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n",
	    CHART_LEFT - 8, CHART_TOP + 12, scale, CHART_LEFT - 8, y);
	fprintf(f, "<text x=\"%d\" y=\"%d\">-60 min</text>\n"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">-30 min</text>\n"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">now</text>\n",
	    CHART_LEFT, y + 20, CHART_LEFT + PAGE_MINUTES / 2 * CHART_BAR,
	    y + 20, CHART_LEFT + PAGE_MINUTES * CHART_BAR, y + 20);
}

/* Jobs done and errors per minute, the last hour, as stacked bars. */
static void
page_chart(FILE *f, time_t now)
{
	const struct minute *b;
	uint64_t done = 0, error = 0, peak = 0, scale = 1;
	int i;

	for (i = 0; i < PAGE_MINUTES; i++) {
		if ((b = page_bucket(now, i)) == NULL)
			continue;
		done += b->done;
		error += b->error;
		if (b->done > peak)
			peak = b->done;
		if (b->done + b->error > scale)
			scale = b->done + b->error;
	}
	fprintf(f, "<h2>Throughput</h2>\n<p class=\"line\" id=\"hour\">"
	    "<span>done in the last hour: %" PRIu64 "</span> "
	    "<span>errors in the last hour: %" PRIu64 "</span> "
	    "<span>peak: %" PRIu64 " done/min</span></p>\n", done, error, peak);
	fprintf(f, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "font-size=\"15\" role=\"img\" aria-label=\"jobs done and errors "
	    "per minute, the last 60 minutes\">\n", CHART_WIDTH,
	    CHART_TOP + CHART_HEIGHT + 26, CHART_WIDTH,
	    CHART_TOP + CHART_HEIGHT + 26);
	for (i = 0; i < PAGE_MINUTES; i++) {
		if ((b = page_bucket(now, i)) != NULL &&
		    b->done + b->error > 0)
			page_minute_bars(f, i, b, scale);
	}
	page_axis(f, scale);
	fputs("</svg>\n<p><span class=\"sw done\"></span>done per minute"
	    "<span class=\"sw error\"></span>errors per minute</p>\n", f);
}

static void
page_run(FILE *f, const struct prun *r)
{
	char dur[32];

	page_duration(dur, sizeof(dur), r->ms / 1000);
	fputs("<tr><td>", f);
	page_put(f, r->stage);
	fputs("</td><td class=\"t\">", f);
	page_put(f, r->id);
	fprintf(f, "</td><td class=\"n\">%d</td><td>", r->attempt);
	page_put(f, r->where);
	fprintf(f, "</td><td class=\"n\">%s</td><td class=\"t\">", dur);
	page_put(f, r->progress);
	fputs("</td></tr>\n", f);
}

static void
page_runs(FILE *f, const struct prun *run, size_t nrun)
{
	size_t i;

	fprintf(f, "<h2>Running (%zu)</h2>\n", nrun);
	if (nrun == 0) {
		fputs("<p class=\"none\">no job is running</p>\n", f);
		return;
	}
	fputs("<table id=\"running\">\n<tr><th>stage</th>"
	    "<th>id</th><th class=\"n\">attempt</th><th>where</th>"
	    "<th class=\"n\">running for</th><th>progress</th></tr>\n", f);
	for (i = 0; i < nrun && i < PAGE_RUNS; i++)
		page_run(f, &run[i]);
	fputs("</table>\n", f);
	if (nrun > PAGE_RUNS)
		fprintf(f, "<p>and %zu more</p>\n", nrun - PAGE_RUNS);
}

/* The last errors, newest first. */
static void
page_errors(FILE *f)
{
	const struct perr *e;
	char when[32];
	size_t i;

	fputs("<h2>Last errors</h2>\n", f);
	if (P.nerr == 0) {
		fputs("<p class=\"none\">no error since spoold started</p>\n",
		    f);
		return;
	}
	fputs("<table id=\"errors\">\n<tr><th>time</th>"
	    "<th>stage</th><th>id</th><th>reason</th></tr>\n", f);
	for (i = 0; i < P.nerr; i++) {
		e = &P.err[(P.errnext + PAGE_ERRORS - 1 - i) % PAGE_ERRORS];
		fileio_isotime(when, sizeof(when), e->when);
		fprintf(f, "<tr><td>%s</td><td>", when);
		page_put(f, e->stage);
		fputs("</td><td class=\"t\">", f);
		page_put(f, e->id);
		fputs("</td><td class=\"t\">", f);
		page_put(f, e->reason);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* The page, to be freed; NULL when memory ran out. */
char *
page_encode(time_t now, pid_t pid, time_t started, long tick,
    const struct counters *total, const struct mstage *st, size_t n,
    const struct prun *run, size_t nrun)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int bad;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	page_head(f, now, pid, started, tick, total);
	page_stages(f, total, st, n);
	page_forecast(f, st, n);
	page_chart(f, now);
	page_runs(f, run, nrun);
	page_errors(f);
	fputs("</body>\n</html>\n", f);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(text);
		return NULL;
	}
	return text;
}

int
page_write(struct spool *sp, const char *html)
{
	return spool_write(sp, sp->indexfd, PAGE_FILE, html, strlen(html), 0);
}
