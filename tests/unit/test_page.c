/*
 * test_page.c: data/index/status.html shows the numbers of metrics.json, a
 * chart of the last hour from the minutes page_sample kept, the running
 * jobs and the ten last errors newest first; every text of a job is
 * escaped, and the page fetches nothing from elsewhere.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* as the Makefile passes */
#endif
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_spool.h"
#include "unit_stages.h"

#define T0 1795426740 /* 2026-11-23T09:39:00Z, the start of a minute */

static const struct counters zero;

/* The page with no stage and no running job. */
static char *
bare(time_t now)
{
	char *html;

	html = page_encode(now, 1234, now - 65, 1, &zero, NULL, 0, NULL, 0);
	assert_non_null(html);
	return html;
}

/* What a reader sees: the text of the page, tags and spaces made one space. */
static char *
visible(const char *html)
{
	char *text, *o;
	int tag = 0, space = 1;

	assert_non_null(text = malloc(strlen(html) + 1));
	for (o = text; *html != '\0'; html++) {
		if (*html == '<')
			tag = 1;
		if (tag || isspace((unsigned char)*html)) {
			if (!space)
				*o++ = ' ';
			space = 1;
		} else {
			*o++ = *html;
			space = 0;
		}
		if (*html == '>')
			tag = 0;
	}
	*o = '\0';
	return text;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("no \"%s\" in the page", needle);
}

static void
assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("\"%s\" in the page", needle);
}

static size_t
occurrences(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* First: nothing sampled, nothing failed, nothing running yet. */
static void
test_empty(void **state)
{
	char *html, *text;

	(void)state;
	html = bare(T0);
	text = visible(html);
	assert_contains(text, "no job is running");
	assert_contains(text, "no error since spoold started");
	assert_contains(text, "done in the last hour: 0 ");
	assert_contains(text,
	    "as of 09:39:00 UTC pid 1234 up 1m 05s");
	assert_contains(text, "total 0 0 0 0 0 0 0 0");
	assert_contains(text, "-60 min -30 min now");
	free(text);
	free(html);
}

/* The rows of the stages and of the totals, in the columns' order. */
static void
test_stages(void **state)
{
	struct mstage ms[2];
	char *html, *text;

	(void)state;
	stages(ms);
	html = page_encode(T0, 1234, T0 - 3600, 1, &total, ms, 2, NULL, 0);
	assert_non_null(html);
	text = visible(html);
	assert_contains(text, "stage slots queued running deferred done error "
	    "retries timeouts");
	assert_contains(text, " prep 2 10 2 1 0 1 9 2 ");
	assert_contains(text, " ocr 1 2 1 0 950 3 8 0 ");
	/* The sums of what is there now, and the counters given. */
	assert_contains(text, " total 3 12 3 1 100 4 17 2 ");
	assert_contains(text, "duplicates: 3");
	assert_contains(text, "up 1h 00m");
	assert_contains(html, "<title>spoold: 100 done, 4 error</title>");
	free(text);
	free(html);
}

/* The forecast: each stage's runs at once, run time, drain and wait. */
static void
test_forecast(void **state)
{
	struct mstage ms[2];
	char *html, *text;

	(void)state;
	stages(ms);
	html = page_encode(T0, 1234, T0 - 3600, 1, &total, ms, 2, NULL, 0);
	assert_non_null(html);
	text = visible(html);
	/* No run time known yet. */
	assert_contains(text, "pipeline empty in about - ");
	assert_contains(text, "stage at once run time drains in next run");
	assert_contains(text, " prep 0 0.0s - ");
	free(text);
	free(html);
	ms[0].next = "ocr";
	ms[0].parallel = 2;
	ms[0].mean_ms = 2000;
	ms[0].waiting = "waiting for 1 CPU";
	ms[1].parallel = 1;
	ms[1].mean_ms = 10000;
	html = page_encode(T0, 1234, T0 - 3600, 1, &total, ms, 2, NULL, 0);
	assert_non_null(html);
	text = visible(html);
	/* prep: 12 jobs, 2 at once, 2 s; ocr: 3 + 12 jobs, one at a time. */
	assert_contains(text, " prep 2 2.0s 12s waiting for 1 CPU ");
	assert_contains(text, " ocr 1 10.0s 30s ");
	assert_contains(text, "pipeline empty in about 2m 30s ");
	free(text);
	free(html);
}

static void
assert_hour(time_t now, const char *want)
{
	char *html, *text;

	html = bare(now);
	text = visible(html);
	assert_contains(text, want);
	free(text);
	free(html);
}

static void
done(time_t when, uint64_t d, uint64_t e)
{
	struct counters c = zero;

	c.done = d;
	c.error = e;
	page_sample(when, &c);
}

/*
 * A minute's bucket holds what was done in it; an hour later it is out
 * of the chart, and its slot in the ring serves a new minute.
 */
static void
test_sample(void **state)
{
	(void)state;
	done(T0 - 60, 100, 40); /* the first call: the counters as such */
	done(T0 + 1, 100, 40);
	done(T0 + 10, 103, 40);
	done(T0 + 59, 105, 41);	/* 5 done, 1 error in minute 0 */
	done(T0 + 60, 106, 41);
	done(T0 + 119, 108, 42); /* 3 done, 1 error in minute 1 */
	assert_hour(T0 + 119, "done in the last hour: 8 errors in the last "
	    "hour: 2 peak: 5 done/min");
	assert_hour(T0 + 59 * 60 + 59, "done in the last hour: 8 ");
	/* Minute 0 falls off, then minute 1. */
	assert_hour(T0 + 60 * 60, "done in the last hour: 3 errors in the "
	    "last hour: 1 peak: 3 done/min");
	assert_hour(T0 + 61 * 60, "done in the last hour: 0 errors in the "
	    "last hour: 0 peak: 0 done/min");
	/* Minute 60 takes the slot of minute 0, without its counts. */
	done(T0 + 60 * 60 + 5, 112, 42);
	assert_hour(T0 + 60 * 60 + 6, "done in the last hour: 7 ");
	/* Counters that go down count as nothing, and are the new base. */
	done(T0 + 60 * 60 + 7, 2, 0);
	done(T0 + 60 * 60 + 8, 3, 0);
	assert_hour(T0 + 60 * 60 + 9, "done in the last hour: 8 ");
	/* The chart: a bar a minute sampled, scaled to the fullest minute. */
	{
		char *html = bare(T0 + 60 * 60 + 9);

		assert_contains(html,
		    "<title>-59 min: 3 done, 1 errors</title>");
		assert_contains(html, "<title>0 min: 5 done, 0 errors</title>");
		assert_int_equal(occurrences(html, "<rect "), 3);
		free(html);
	}
	/* An hour with nothing done: no bar. */
	done(T0 + 3 * 3600, 3, 0);
	assert_hour(T0 + 3 * 3600, "done in the last hour: 0 ");
}

/* Ten errors at most, the newest first, with their time, stage, reason. */
static void
test_errors(void **state)
{
	char id[16], reason[32], *html, *text, *p, *q;
	int i;

	(void)state;
	for (i = 1; i <= 12; i++) {
		str(id, sizeof(id), "err-%02d", i);
		str(reason, sizeof(reason), "exit %d", 64 + i);
		page_error(T0 + i, i % 2 ? "prep" : "ocr", id, reason);
	}
	html = bare(T0 + 20);
	text = visible(html);
	assert_lacks(text, "err-01");
	assert_lacks(text, "err-02");
	assert_int_equal(occurrences(text, "err-"), 10);
	assert_contains(text, "time stage id reason 2026-11-23T09:39:12Z ocr "
	    "err-12 exit 76 2026-11-23T09:39:11Z prep err-11 exit 75 ");
	assert_contains(text, " 2026-11-23T09:39:03Z prep err-03 exit 67 ");
	for (i = 12, p = text; i > 3; i--) {
		str(id, sizeof(id), "err-%02d", i);
		assert_non_null(p = strstr(p, id));
		str(id, sizeof(id), "err-%02d", i - 1);
		assert_non_null(q = strstr(text, id));
		assert_true(q > p);
	}
	free(text);
	free(html);
}

/* A hostile id, progress and reason are text, never markup. */
static void
test_escape(void **state)
{
	static const char id[] = "<script>alert(\"id\")</script>&'";
	struct prun r = {"prep", id, "<img src=x onerror=alert(1)>", "pid 1",
	    1, 0};
	char *html;

	(void)state;
	page_error(T0, "prep<i>", id, "</td><script>alert('reason')</script>");
	html = page_encode(T0, 1, T0, 1, &zero, NULL, 0, &r, 1);
	assert_non_null(html);
	assert_lacks(html, "<script");
	assert_lacks(html, "<img");
	assert_lacks(html, "<i>");
	assert_lacks(html, "alert('");
	assert_int_equal(occurrences(html, "&lt;script&gt;alert(&quot;id&quot;)"
	    "&lt;/script&gt;&amp;&#39;"), 2);
	assert_contains(html, "&lt;img src=x onerror=alert(1)&gt;");
	assert_contains(html, "prep&lt;i&gt;");
	assert_contains(html, "&lt;/td&gt;&lt;script&gt;alert(&#39;reason&#39;)"
	    "&lt;/script&gt;");
	/* Control characters and bytes that are not UTF-8 are each a '?'. */
	r.id = "a\033[2Jb\xff" "c\xc3\xa9";
	free(html);
	html = page_encode(T0, 1, T0, 1, &zero, NULL, 0, &r, 1);
	assert_non_null(html);
	assert_contains(html, ">a?[2Jb?c\xc3\xa9<");
	free(html);
}

/* A running job: its stage, id, attempt, place, time and progress. */
static void
test_running(void **state)
{
	char id[ID_MAX + 1], *html, *text;
	struct prun r[3] = {
		{"ocr", "slowjob", "page 1/9999", "pid 4242", 1, 65000},
		{"prep", id, "", "slurm 5678", 3, 3723999},
		{"prep", "x", NULL, NULL, 2, 2 * 86400000LL + 3 * 3600000},
	};

	(void)state;
	memset(id, 'a', ID_MAX);
	id[ID_MAX] = '\0';
	html = page_encode(T0, 1, T0, 1, &zero, NULL, 0, r, 3);
	assert_non_null(html);
	text = visible(html);
	assert_contains(text, "Running (3) stage id attempt where running for "
	    "progress ocr slowjob 1 pid 4242 1m 05s page 1/9999 prep ");
	assert_contains(text, id);
	assert_contains(text, " 3 slurm 5678 1h 02m prep x 2 2d 03h ");
	/* Long ids wrap anywhere rather than widen the page. */
	assert_contains(html, "overflow-wrap:anywhere");
	free(text);
	free(html);
}

/* More running jobs than the page lists: the others are counted. */
static void
test_many_running(void **state)
{
	struct prun *r;
	char *html;
	size_t i, n = 1000;

	(void)state;
	assert_non_null(r = calloc(n, sizeof(*r)));
	for (i = 0; i < n; i++)
		r[i] = (struct prun){"s", "job", "", "pid 1", 1, 0};
	html = page_encode(T0, 1, T0, 1, &zero, NULL, 0, r, n);
	assert_non_null(html);
	assert_contains(html, "Running (1000)");
	assert_contains(html, "and 900 more");
	assert_int_equal(occurrences(html, "<td class=\"t\">job</td>"), 100);
	free(html);
	free(r);
}

/* One page in itself: nothing fetched, no script, balanced tables. */
static void
test_self_contained(void **state)
{
	static const char *never[] = {"http://", "https://", "<script", "src=",
		"<link", "url(", "@import", "<img", "<iframe", "//"};
	struct prun r = {"prep", "j", "p", "pid 1", 1, 0};
	struct mstage ms[2];
	char *html;
	size_t i;

	(void)state;
	stages(ms);
	page_error(T0, "prep", "e", "exit 65");
	html = page_encode(T0, 1, T0, 3, &total, ms, 2, &r, 1);
	assert_non_null(html);
	for (i = 0; i < sizeof(never) / sizeof(*never); i++)
		assert_lacks(html, never[i]);
	assert_true(strncmp(html, "<!DOCTYPE html>\n", 16) == 0);
	assert_true(strcmp(html + strlen(html) - 8, "</html>\n") == 0);
	assert_contains(html, "<meta charset=\"utf-8\">");
	assert_contains(html, "<meta http-equiv=\"refresh\" content=\"15\">");
	assert_int_equal(occurrences(html, "<table"),
	    occurrences(html, "</table>"));
	assert_int_equal(occurrences(html, "<tr"), occurrences(html, "</tr>"));
	assert_int_equal(occurrences(html, "<td"), occurrences(html, "</td>"));
	assert_int_equal(occurrences(html, "<svg"), 1);
	assert_int_equal(occurrences(html, "</svg>"), 1);
	free(html);
}

/* On disk: index/status.html, the page whole. */
static void
test_write(void **state)
{
	struct fx *f = *state;
	char *html, *file;
	int i;

	for (i = 0; i < 3; i++) {
		html = bare(T0 + i);
		assert_int_equal(page_write(&f->sp, html), 0);
		file = fileio_read(f->sp.indexfd, "status.html", 1 << 20);
		assert_non_null(file);
		assert_string_equal(file, html);
		free(file);
		free(html);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_stages),
		cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_running),
		cmocka_unit_test(test_many_running),
		cmocka_unit_test(test_self_contained),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
	};

	return cmocka_run_group_tests_name("page", tests, NULL, NULL);
}
